/* test-graph-blocks.c: each kind of graph block, from the Keras file, against PyTorch's reference.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * tests/data/graph-blocks/ holds one small Keras 2 functional model per
 * block kind (residual with projection, inverted residual, inception,
 * squeeze-and-excitation, pre-activation BN, separable, dilated, grouped,
 * hard-swish as TFOpLambda layers, upsampling, Dense -> BN -> ReLU), trained
 * and written by tests/reference/make_graph_blocks.py, with reference.json:
 * PyTorch's float32 logits and predictions, and the top-1 of a PyTorch
 * fake-quantization of the integer path. For every block:
 *  - fp32: the engine's predictions on the first 1,000 test images equal
 *    PyTorch's (where the two best logits are within float32 noise of each
 *    other, the reference lists both and either is right), and the logits of
 *    the first 16 images agree to 1e-4 of the largest logit;
 *  - int8: under each weight scheme of the reference (the seed notes'
 *    per-tensor asymmetric, and TFLite's per-channel symmetric narrow, which
 *    is qs_scheme_init_default and runs as exactly that), with the default activation scheme
 *    calibrated on the bundled calibration slice, top-1 is within 0.5
 *    points (5 images) of the fake-quant reference, and the predictions
 *    are the fake-quant's on at least 98.5 % of the images: the simulation
 *    rounds where the engine does (per value, biases in int32), so only
 *    values on a rounding boundary differ, by one code (a systematic
 *    rounding error in one kernel shows here long before it moves top-1).
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib.h>
#include <json-glib/json-glib.h>

#include "engine/qs-engine.h"
#include "model/qs-dataset.h"
#include "model/qs-keras-model.h"
#include "qs-test-reference.h"

/* Integer top-1 may differ from the fake-quant simulation by this many of
 * the 1,000 images (0.5 points): rounding at requantization boundaries. */
#define QUANT_TOLERANCE_IMAGES 5
#define LOGIT_TOLERANCE        1e-4
#define MIN_SAME_PER_MILLE     985

static struct {
  JsonParser *parser;
  JsonObject *reference;
  QsDataset  *test;
  QsDataset  *calib;
} fx;

static QsEngineModel *
load_block (JsonObject *block)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "data", "graph-blocks",
                                                 json_object_get_string_member (block, "file"), NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(QsWeightFile) file = qs_weight_file_open (path, &error);
  QsEngineModel *model;
  int h, w, c;

  g_assert_no_error (error);
  model = qs_keras_model_load (file, &error);
  if (model == NULL)
    {
      /* One block the engine cannot build fails its own tests, not the program. */
      g_test_fail_printf ("%s: %s", json_object_get_string_member (block, "name"), error->message);
      return NULL;
    }
  qs_engine_model_get_input_shape (model, &h, &w, &c);
  g_assert_cmpint (h, ==, 28);
  g_assert_cmpint (w, ==, 28);
  g_assert_cmpint (c, ==, 1);
  g_assert_cmpuint (qs_engine_model_get_n_outputs (model), ==, 10);
  return model;
}

/* Whether @predicted is the reference's class for @image, or the other of
 * a near tie the reference lists. */
static gboolean
matches_reference (JsonObject *block,
                   guint       image,
                   int32_t     predicted)
{
  JsonArray *ties = json_object_get_array_member (block, "fp32_near_ties");

  if (predicted == json_object_get_string_member (block, "fp32_predictions")[image] - '0')
    return TRUE;
  for (guint i = 0; i < json_array_get_length (ties); i++)
    {
      JsonArray *tie = json_array_get_array_element (ties, i);

      if (json_array_get_int_element (tie, 0) == image
          && (json_array_get_int_element (tie, 1) == predicted || json_array_get_int_element (tie, 2) == predicted))
        return TRUE;
    }
  return FALSE;
}

static void
test_fp32 (gconstpointer data)
{
  JsonObject *block = (JsonObject *) data;
  const char *name = json_object_get_string_member (block, "name");
  JsonArray *logits = json_object_get_array_member (block, "fp32_logits");
  const QsEngineDataset *test = qs_dataset_get_view (fx.test);
  size_t count = (size_t) json_object_get_int_member (fx.reference, "test_count");
  size_t n_logits = json_array_get_length (logits);
  QsEngineModel *model = load_block (block);
  g_autofree int32_t *pred = g_new (int32_t, count);
  g_autofree float *out = g_new (float, n_logits * 10);
  g_autofree void *scratch = NULL;
  size_t scratch_size;
  QsEngineRunOptions options;
  guint differ = 0;
  double worst;

  if (model == NULL)
    return;
  scratch_size = qs_engine_get_buffer_size (model, NULL, n_logits);
  g_assert_cmpuint (strlen (json_object_get_string_member (block, "fp32_predictions")), ==, count);
  qs_engine_run_options_init (&options);
  g_assert_cmpint (qs_engine_predict (model, NULL, test, 0, count, &options, pred), ==, QS_ENGINE_OK);
  for (guint i = 0; i < count; i++)
    if (!matches_reference (block, i, pred[i]))
      {
        if (differ++ < 5)
          g_test_message ("%s: image %u: engine class %d, PyTorch %c", name, i, pred[i],
                          json_object_get_string_member (block, "fp32_predictions")[i]);
      }

  scratch = g_malloc (MAX (scratch_size, 1));
  g_assert_cmpint (qs_engine_forward (model, NULL, test->images, n_logits, scratch, scratch_size, out),
                   ==, QS_ENGINE_OK);
  worst = qs_test_worst_logit_error (logits, out, (guint) n_logits, 10);
  g_test_message ("%s fp32: %u of %zu predictions differ from PyTorch; logits of %zu images within %.2g",
                  name, differ, count, n_logits, worst);
  g_assert_cmpuint (differ, ==, 0);
  g_assert_cmpfloat (worst, <=, LOGIT_TOLERANCE);
  qs_engine_model_free (model);
}

static void
scheme_from_json (JsonObject *weights,
                  QsScheme   *scheme)
{
  qs_scheme_init_per_tensor (scheme);
  scheme->bits = (int) json_object_get_int_member (weights, "bits");
  scheme->granularity = g_str_equal (json_object_get_string_member (weights, "granularity"), "channel")
    ? QS_GRANULARITY_CHANNEL : QS_GRANULARITY_TENSOR;
  scheme->mapping = g_str_equal (json_object_get_string_member (weights, "mapping"), "symmetric")
    ? QS_MAPPING_SYMMETRIC : QS_MAPPING_ASYMMETRIC;
  /* [-127, 127] for 8 bits: the narrow range. */
  scheme->narrow = json_object_get_int_member (weights, "quant_min") == 1 - (1 << (scheme->bits - 1));
}

static void
test_int8 (gconstpointer data)
{
  JsonObject *block = (JsonObject *) data;
  const char *name = json_object_get_string_member (block, "name");
  JsonArray *schemes = json_object_get_array_member (block, "schemes");
  const QsEngineDataset *test = qs_dataset_get_view (fx.test);
  const QsEngineDataset *calib = qs_dataset_get_view (fx.calib);
  size_t count = (size_t) json_object_get_int_member (fx.reference, "test_count");
  size_t calib_count = (size_t) json_object_get_int_member (fx.reference, "calibration_count");
  QsEngineModel *model = load_block (block);
  size_t n_weighted = model != NULL ? qs_engine_model_get_n_weighted (model) : 0;
  g_autofree const QsScheme **ptrs = g_new (const QsScheme *, MAX (n_weighted, 1));
  g_autofree int32_t *pred = g_new (int32_t, count);
  gboolean all_within = TRUE;
  guint n_default = 0;
  QsScheme default_scheme;

  qs_scheme_init_default (&default_scheme);
  if (model == NULL)
    return;
  g_assert_cmpuint (calib->count, >=, calib_count);
  for (guint s = 0; s < json_array_get_length (schemes); s++)
    {
      JsonObject *ref = json_array_get_object_element (schemes, s);
      const char *ref_pred = json_object_get_string_member (ref, "predictions");
      gint64 ref_correct = json_object_get_int_member (ref, "quant_correct");
      QsScheme scheme;
      QsActivationScheme act;
      QsEngineRunOptions options;
      QsQuantizedModel *quantized = NULL;
      char message[256] = "";
      gint64 correct = 0;
      size_t same = 0;

      scheme_from_json (json_object_get_object_member (ref, "weights"), &scheme);
      /* The default case runs the default itself, so the reference checks
       * what `eval` and the app do without scheme options. */
      if (g_str_equal (json_object_get_string_member (ref, "name"), "w8-channel-symmetric-narrow"))
        {
          g_assert_true (qs_scheme_equal (&scheme, &default_scheme));
          scheme = default_scheme;
          n_default++;
        }
      for (size_t i = 0; i < n_weighted; i++)
        ptrs[i] = &scheme;
      qs_activation_scheme_init_default (&act);
      qs_engine_run_options_init (&options);
      if (qs_engine_prepare_quantized (model, ptrs, n_weighted, &act, calib, calib_count, &options,
                                       &quantized, message, sizeof message) != QS_ENGINE_OK)
        g_test_message ("%s: %s", name, message);
      g_assert_nonnull (quantized);
      g_assert_cmpint (qs_engine_predict (model, quantized, test, 0, count, &options, pred), ==, QS_ENGINE_OK);
      for (size_t i = 0; i < count; i++)
        {
          correct += pred[i] == test->labels[i];
          same += pred[i] == ref_pred[i] - '0';
        }
      g_test_message ("%s %s: int top-1 %.3f, PyTorch fake-quant %.3f (%+" G_GINT64_FORMAT " images), "
                      "same prediction as the fake-quant on %zu of %zu images", name,
                      json_object_get_string_member (ref, "name"), (double) correct / count,
                      json_object_get_double_member (ref, "quant_top1"), correct - ref_correct, same, count);
      all_within &= ABS (correct - ref_correct) <= QUANT_TOLERANCE_IMAGES
                    && same * 1000 >= MIN_SAME_PER_MILLE * count;
      qs_quantized_model_free (quantized);
    }
  g_assert_true (all_within);
  g_assert_cmpuint (n_default, ==, 1);
  qs_engine_model_free (model);
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *json_path = NULL;
  JsonArray *blocks;
  int status;

  g_test_init (&argc, &argv, NULL);
  json_path = g_test_build_filename (G_TEST_DIST, "data", "graph-blocks", "reference.json", NULL);
  fx.parser = json_parser_new ();
  json_parser_load_from_file (fx.parser, json_path, &error);
  g_assert_no_error (error);
  fx.reference = json_node_get_object (json_parser_get_root (fx.parser));
  /* The CLI's default data: the bundled test set, calibrated on the bundled training slice. */
  fx.test = qs_dataset_load_bundled_test (&error);
  g_assert_no_error (error);
  fx.calib = qs_dataset_load_bundled_calibration (&error);
  g_assert_no_error (error);
  g_assert_cmpuint (qs_dataset_get_count (fx.test), >=,
                    (gsize) json_object_get_int_member (fx.reference, "test_count"));

  blocks = json_object_get_array_member (fx.reference, "blocks");
  g_assert_cmpuint (json_array_get_length (blocks), >=, 11);
  for (guint i = 0; i < json_array_get_length (blocks); i++)
    {
      JsonObject *block = json_array_get_object_element (blocks, i);
      g_autofree char *fp32 = g_strdup_printf ("/graph-blocks/fp32/%s", json_object_get_string_member (block, "name"));
      g_autofree char *int8 = g_strdup_printf ("/graph-blocks/int8/%s", json_object_get_string_member (block, "name"));

      g_test_add_data_func (fp32, block, test_fp32);
      g_test_add_data_func (int8, block, test_int8);
    }
  /* Every block reports, whatever the one before it did. */
  g_test_set_nonfatal_assertions ();
  status = g_test_run ();
  qs_dataset_unref (fx.test);
  qs_dataset_unref (fx.calib);
  g_clear_object (&fx.parser);
  return status;
}
