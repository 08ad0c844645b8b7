/* test-parity.c: the demo model against PyTorch's committed reference numbers.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * tests/data/engine-reference.json comes from tests/reference/engine_reference.py
 * (PyTorch float32, and a fake-quantization simulation per scheme, with
 * activations calibrated min/max on the first 1,000 training images). Here:
 *  - our float32 predictions differ from PyTorch's on at most 2 of the
 *    10,000 test images;
 *  - our activation quantizers equal PyTorch's observers' (scale, zero point);
 *  - weight SQNR per layer matches (same folded weights, same observers);
 *  - integer top-1 is within 0.3 percentage points of the fake-quant top-1.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib.h>
#include <json-glib/json-glib.h>

#include "engine/qs-engine.h"
#include "model/qs-dataset.h"
#include "model/qs-keras-model.h"

typedef struct {
  QsEngineModel *model;
  QsDataset     *test;
  QsDataset     *calib;
  JsonParser    *parser;
  JsonObject    *reference;
  int32_t       *fp32;
} Fixture;

static Fixture fx;

static char *
source_path (const char *first,
             ...)
{
  /* G_TEST_SRCDIR is tests/; the tree's root is its parent. */
  g_autofree char *root = g_test_build_filename (G_TEST_DIST, "..", NULL);
  GString *path = g_string_new (root);
  va_list args;

  va_start (args, first);
  for (const char *part = first; part != NULL; part = va_arg (args, const char *))
    {
      g_string_append_c (path, G_DIR_SEPARATOR);
      g_string_append (path, part);
    }
  va_end (args);
  return g_string_free (path, FALSE);
}

static gboolean
fixture_load (void)
{
  g_autofree char *model_path = source_path ("data", "models", "fashion-cnn.h5", NULL);
  g_autofree char *json_path = source_path ("tests", "data", "engine-reference.json", NULL);
  g_autofree char *test_images = source_path ("data", "fashion-mnist", "t10k-images-idx3-ubyte.gz", NULL);
  g_autofree char *test_labels = source_path ("data", "fashion-mnist", "t10k-labels-idx1-ubyte.gz", NULL);
  g_autofree char *cal_images = source_path ("data", "fashion-mnist", "calibration-images-idx3-ubyte.gz", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(QsWeightFile) file = NULL;

  file = qs_weight_file_open (model_path, &error);
  g_assert_no_error (error);
  fx.model = qs_keras_model_load (file, &error);
  g_assert_no_error (error);
  fx.test = qs_dataset_load_idx (test_images, test_labels, 1.0 / 255.0, 0.0, &error);
  g_assert_no_error (error);
  fx.calib = qs_dataset_load_idx (cal_images, NULL, 1.0 / 255.0, 0.0, &error);
  g_assert_no_error (error);
  fx.parser = json_parser_new ();
  json_parser_load_from_file (fx.parser, json_path, &error);
  g_assert_no_error (error);
  fx.reference = json_node_get_object (json_parser_get_root (fx.parser));
  return TRUE;
}

static void
test_fp32 (void)
{
  const QsEngineDataset *data = qs_dataset_get_view (fx.test);
  const char *expect = json_object_get_string_member (fx.reference, "fp32_predictions");
  QsEngineRunOptions options;
  size_t differ = 0, correct = 0;

  g_assert_cmpuint (strlen (expect), ==, data->count);
  fx.fp32 = g_new (int32_t, data->count);
  qs_engine_run_options_init (&options);
  g_assert_cmpint (qs_engine_predict (fx.model, NULL, data, 0, data->count, &options, fx.fp32), ==, QS_ENGINE_OK);
  for (size_t i = 0; i < data->count; i++)
    {
      differ += fx.fp32[i] != expect[i] - '0';
      correct += fx.fp32[i] == data->labels[i];
    }
  g_test_message ("fp32: %zu correct (PyTorch %" G_GINT64_FORMAT "), %zu predictions differ",
                  correct, json_object_get_int_member (fx.reference, "fp32_correct"), differ);
  g_assert_cmpuint (differ, <=, 2);
  g_assert_cmpint (labs ((long) correct - (long) json_object_get_int_member (fx.reference, "fp32_correct")), <=, 2);
}

static void
scheme_from_reference (JsonObject *weights,
                       QsScheme   *s)
{
  int bits = (int) json_object_get_int_member (weights, "bits");
  int qmin = (int) json_object_get_int_member (weights, "quant_min");

  qs_scheme_init_per_tensor (s);
  s->bits = bits;
  s->granularity = g_str_equal (json_object_get_string_member (weights, "granularity"), "channel")
    ? QS_GRANULARITY_CHANNEL : QS_GRANULARITY_TENSOR;
  s->mapping = g_str_equal (json_object_get_string_member (weights, "mapping"), "symmetric")
    ? QS_MAPPING_SYMMETRIC : QS_MAPPING_ASYMMETRIC;
  s->narrow = qmin == -((1 << (bits - 1)) - 1);
}

static void
test_schemes (void)
{
  const QsEngineDataset *data = qs_dataset_get_view (fx.test);
  const QsEngineDataset *cal = qs_dataset_get_view (fx.calib);
  JsonArray *schemes = json_object_get_array_member (fx.reference, "schemes");
  JsonArray *acts = json_object_get_array_member (fx.reference, "activations");
  size_t n_weighted = qs_engine_model_get_n_weighted (fx.model);
  size_t calib_count = (size_t) json_object_get_int_member (fx.reference, "calibration_count");

  g_assert_nonnull (fx.fp32);
  g_assert_cmpuint (json_array_get_length (acts), ==, n_weighted + 1);
  for (guint s = 0; s < json_array_get_length (schemes); s++)
    {
      JsonObject *ref = json_array_get_object_element (schemes, s);
      JsonArray *layers = json_object_get_array_member (ref, "layers");
      const char *ref_pred = json_object_get_string_member (ref, "predictions");
      QsScheme scheme;
      const QsScheme **ptrs = g_new (const QsScheme *, n_weighted);
      QsActivationScheme act;
      QsQuantizedModel *q = NULL;
      QsEngineRunOptions options;
      QsEngineEvalResult result;
      g_autofree int32_t *pred = g_new (int32_t, data->count);
      char message[256];
      double top1, ref_top1 = json_object_get_double_member (ref, "quant_top1");
      size_t same_as_ref = 0;

      scheme_from_reference (json_object_get_object_member (ref, "weights"), &scheme);
      for (size_t i = 0; i < n_weighted; i++)
        ptrs[i] = &scheme;
      qs_activation_scheme_init_default (&act);
      qs_engine_run_options_init (&options);
      g_assert_cmpint (qs_engine_prepare_quantized (fx.model, ptrs, n_weighted, &act, cal, calib_count, &options,
                                                    &q, message, sizeof message), ==, QS_ENGINE_OK);
      g_assert_cmpint (qs_engine_evaluate (fx.model, q, data, 0, data->count, &options, fx.fp32, pred, &result),
                       ==, QS_ENGINE_OK);
      top1 = (double) result.quant_correct / (double) result.images;
      for (size_t i = 0; i < data->count; i++)
        same_as_ref += pred[i] == ref_pred[i] - '0';
      g_test_message ("%s: int top-1 %.4f, PyTorch fake-quant %.4f (%+.2f points); "
                      "agreement with fp32 %.4f, with the reference's predictions %.4f",
                      json_object_get_string_member (ref, "name"), top1, ref_top1, 100.0 * (top1 - ref_top1),
                      (double) result.agree / result.images, (double) same_as_ref / data->count);

      for (size_t i = 0; i < n_weighted; i++)
        {
          JsonObject *lref = json_array_get_object_element (layers, i);
          JsonObject *aref = json_array_get_object_element (acts, i + 1);
          JsonNode *wnode = json_object_get_member (lref, "weight_sqnr_db");
          JsonNode *onode = json_object_get_member (lref, "output_sqnr_db");
          QsQuantizedLayerStats stats;
          QsLayerInfo info;

          g_assert_true (qs_quantized_model_get_layer_stats (q, i, &stats));
          g_assert_true (qs_engine_model_get_layer (fx.model, qs_engine_model_weighted_layer_index (fx.model, i), &info));
          g_assert_cmpstr (info.name, ==, json_object_get_string_member (lref, "name"));
          g_test_message ("  %-18s weight SQNR %.3f dB (ref %.3f), output SQNR %.2f dB (ref %.2f)",
                          info.name, stats.weight_sqnr_db, json_node_get_double (wnode),
                          stats.output_sqnr_db, JSON_NODE_HOLDS_NULL (onode) ? NAN : json_node_get_double (onode));
          /* Same folded weights, same observers: the same weight error. */
          g_assert_cmpfloat_with_epsilon (stats.weight_sqnr_db, json_node_get_double (wnode), 0.01);
          /* Same calibration: the same activation quantizers. */
          g_assert_cmpfloat_with_epsilon (stats.output_scale, json_object_get_double_member (aref, "scale"),
                                          1e-6 * json_object_get_double_member (aref, "scale"));
          g_assert_cmpfloat (stats.output_zero_point, ==, (double) json_object_get_int_member (aref, "zero_point"));
        }
      g_assert_cmpfloat (fabs (top1 - ref_top1), <=, 0.003);
      qs_quantized_model_free (q);
      g_free (ptrs);
    }
}

int
main (int    argc,
      char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  fixture_load ();
  g_test_add_func ("/parity/fp32", test_fp32);
  g_test_add_func ("/parity/int8-schemes", test_schemes);
  status = g_test_run ();
  g_free (fx.fp32);
  g_clear_object (&fx.parser);
  qs_dataset_unref (fx.test);
  qs_dataset_unref (fx.calib);
  qs_engine_model_free (fx.model);
  return status;
}
