/* test-block-engine.c: block-format weights in the engine against an independent integer inference, code for code.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * tests/data/block-engine/ holds a small Keras 2 CNN (Conv2D, Conv2D,
 * DepthwiseConv2D with multiplier 2, Flatten, Dense) and reference.json,
 * written by tests/reference/make_block_engine_golden.py: the weights
 * quantized per format from the OCP MX, NVFP4, NF4 and PyTorch observer
 * definitions in numpy, uint8 activation quantizers from the float
 * model's ranges, and each layer's output codes.
 *
 * The engine is given the reference's activation ranges (the quantizers are
 * then the same floats: checked), so what is compared is the weights'
 * quantization and the layers' arithmetic:
 *  - MXINT8, MXFP4, NVFP4, MXFP6 E2M3 and 4-bit integer groups run on the
 *    group-wise integer kernels with int8 weights, MXFP6 E3M2 with int16
 *    ones (its elements times 16): every layer's codes (from the
 *    reference's input codes) and the whole model's logit codes and
 *    predictions on 256 images equal the reference bit for bit, under each
 *    ISA's kernels (/block-engine/ISA/FORMAT, skipped where the CPU lacks
 *    it). The reference sums each block's integer products exactly and
 *    rescales in float32 in block order, as the kernels do: nothing is left
 *    to rounding order. The same again with each layer's streamed
 *    packing refused at its last channel group (.../packed-whole): the
 *    fallback that packs the layer whole, which no scheme's codes reach.
 *  - MXFP8 E4M3 / E5M2 and NF4 run in float32 on the weights'
 *    reconstruction between a dequantize and a quantize: per layer, every
 *    code is within one of the reference's (which sums in float64: a value
 *    on a rounding boundary may land on either side) and at least 99 % are
 *    equal.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib.h>
#include <json-glib/json-glib.h>

#include "engine/qs-engine-private.h"
#include "model/qs-dataset.h"
#include "model/qs-keras-model.h"

#define MIN_EQUAL_PER_MILLE 990

static struct {
  JsonParser    *parser;
  JsonObject    *reference;
  QsEngineModel *model;
  QsDataset     *test;
  QsDataset     *calib;
} fx;

static float
float_of_bits (gint64 bits)
{
  guint32 u = (guint32) bits;
  float f;

  memcpy (&f, &u, sizeof f);
  return f;
}

static guint8 *
codes_of (JsonObject *object,
          const char *member,
          gsize      *length)
{
  return g_base64_decode (json_object_get_string_member (object, member), length);
}

/* The engine's layer index of the layer called @name. */
static size_t
layer_index (const char *name)
{
  for (size_t i = 0; i < qs_engine_model_get_n_layers (fx.model); i++)
    {
      QsLayerInfo info;

      g_assert_true (qs_engine_model_get_layer (fx.model, i, &info));
      if (g_str_equal (info.name, name))
        return i;
    }
  g_assert_not_reached ();
}

static void
scheme_of (JsonObject *format,
           QsScheme   *scheme)
{
  qs_scheme_init_per_tensor (scheme);
  g_assert_true (qs_format_parse (json_object_get_string_member (format, "format"), &scheme->format));
  g_assert_true (qs_mapping_parse (json_object_get_string_member (format, "mapping"), &scheme->mapping));
  scheme->bits = (int) json_object_get_int_member (format, "bits");
  scheme->granularity = QS_GRANULARITY_GROUP;
  /* Block formats at their own block size (0: the default), which the reference states. */
  scheme->group_size = scheme->format == QS_FORMAT_INT ? (int) json_object_get_int_member (format, "group_size") : 0;
  g_assert_cmpuint (qs_scheme_block_size (scheme), ==, json_object_get_int_member (format, "group_size"));
}

/* The engine quantized under @format's scheme, on the reference's ranges. */
static QsQuantizedModel *
quantize (JsonObject *format)
{
  JsonArray *values = json_object_get_array_member (fx.reference, "values");
  size_t n_weighted = qs_engine_model_get_n_weighted (fx.model);
  g_autofree const QsScheme **ptrs = g_new (const QsScheme *, n_weighted);
  QsScheme scheme;
  QsActivationScheme act;
  QsEngineRunOptions options;
  QsCalibration *cal = NULL;
  QsQuantizedModel *qm = NULL;
  char message[256] = "";

  scheme_of (format, &scheme);
  for (size_t i = 0; i < n_weighted; i++)
    ptrs[i] = &scheme;
  qs_activation_scheme_init_default (&act);
  qs_engine_run_options_init (&options);
  g_assert_cmpint (qs_engine_calibrate (fx.model, &act, qs_dataset_get_view (fx.calib), 16, &options, &cal,
                                        message, sizeof message), ==, QS_ENGINE_OK);
  for (guint v = 0; v < json_array_get_length (values); v++)
    {
      JsonObject *value = json_array_get_object_element (values, v);
      const char *name = json_object_get_string_member (value, "name");
      size_t index = g_str_equal (name, "input") ? 0 : layer_index (name) + 1;

      cal->lo[index] = float_of_bits (json_object_get_int_member (value, "lo"));
      cal->hi[index] = float_of_bits (json_object_get_int_member (value, "hi"));
    }
  g_assert_cmpint (qs_engine_quantize_calibrated (cal, ptrs, n_weighted, false, &options, &qm, message,
                                                  sizeof message), ==, QS_ENGINE_OK);
  qs_calibration_free (cal);

  /* The same quantizers as the reference's, to the bit. */
  for (guint v = 0; v < json_array_get_length (values); v++)
    {
      JsonObject *value = json_array_get_object_element (values, v);
      const char *name = json_object_get_string_member (value, "name");
      const QsActQuant *q = &qm->values[g_str_equal (name, "input") ? 0 : layer_index (name) + 1];
      float scale = float_of_bits (json_object_get_int_member (value, "scale"));

      g_assert_cmpmem (&q->scale, sizeof (float), &scale, sizeof (float));
      g_assert_cmpint (q->zero_code, ==, json_object_get_int_member (value, "zero_point"));
      g_assert_cmpfloat (q->zero_point, ==, (float) q->zero_code);
    }
  return qm;
}

/* Each weighted layer alone, from the reference's input codes. */
static void
check_layers (JsonObject             *format,
              const QsQuantizedModel *qm)
{
  JsonArray *layers = json_object_get_array_member (format, "layers");
  gboolean integer = json_object_get_boolean_member (format, "integer");
  size_t batch = (size_t) json_object_get_int_member (fx.reference, "per_layer_images");

  for (guint j = 0; j < json_array_get_length (layers); j++)
    {
      JsonObject *layer = json_array_get_object_element (layers, j);
      size_t index = layer_index (json_object_get_string_member (layer, "name"));
      QsLayerInfo info;
      QsQuantizedLayerStats stats;
      gsize in_len, want_len, equal = 0;
      g_autofree guint8 *in = codes_of (layer, "input_codes", &in_len);
      g_autofree guint8 *want = codes_of (layer, "output_codes", &want_len);
      g_autofree guint8 *got = g_malloc (want_len);
      size_t scratch_size = qs_engine_get_buffer_size (fx.model, qm, batch);
      g_autofree void *scratch = g_malloc (scratch_size);
      int worst = 0;

      g_assert_true (qs_engine_model_get_layer (fx.model, index, &info));
      g_assert_cmpuint (in_len, ==, batch * info.in_h * info.in_w * info.in_c);
      g_assert_cmpuint (want_len, ==, batch * info.out_h * info.out_w * info.out_c);
      g_assert_true (qs_quantized_model_get_layer_stats (qm, (size_t) info.weight_index, &stats));
      g_assert_cmpstr (stats.kernel, ==, json_object_get_string_member (layer, "kernel"));
      g_assert_cmpint (stats.weight_bits, ==, json_object_get_int_member (layer, "weight_bits"));
      g_assert_cmpint (qs_engine_run_layer (fx.model, qm, index, in, batch, scratch, scratch_size, got),
                       ==, QS_ENGINE_OK);
      for (gsize i = 0; i < want_len; i++)
        {
          equal += got[i] == want[i];
          worst = MAX (worst, ABS ((int) got[i] - (int) want[i]));
        }
      g_test_message ("%s %s: %zu of %zu codes equal, largest difference %d",
                      json_object_get_string_member (format, "name"), info.name, equal, want_len, worst);
      if (integer)
        g_assert_cmpmem (got, want_len, want, want_len);
      else
        {
          g_assert_cmpint (worst, <=, 1);
          g_assert_cmpuint (equal * 1000, >=, MIN_EQUAL_PER_MILLE * want_len);
        }
    }
}

/* The whole model: the logits (dequantized codes) and the predictions. */
static void
check_model (JsonObject             *format,
             const QsQuantizedModel *qm)
{
  const QsEngineDataset *test = qs_dataset_get_view (fx.test);
  size_t count = (size_t) json_object_get_int_member (fx.reference, "images");
  const char *predictions = json_object_get_string_member (format, "predictions");
  const QsActQuant *out = &qm->values[qs_engine_model_get_last_value (fx.model)];
  gsize n_codes;
  g_autofree guint8 *codes = codes_of (format, "logit_codes", &n_codes);
  g_autofree float *got = g_new (float, count * 10);
  g_autofree float *want = g_new (float, count * 10);
  g_autofree int32_t *pred = g_new (int32_t, count);
  size_t scratch_size = qs_engine_get_buffer_size (fx.model, qm, count);
  g_autofree void *scratch = g_malloc (scratch_size);
  QsEngineRunOptions options;

  g_assert_cmpuint (n_codes, ==, count * 10);
  g_assert_cmpuint (strlen (predictions), ==, count);
  for (gsize i = 0; i < n_codes; i++)
    want[i] = ((float) codes[i] - out->zero_point) * out->scale;
  g_assert_cmpint (qs_engine_forward (fx.model, qm, test->images, count, scratch, scratch_size, got),
                   ==, QS_ENGINE_OK);
  g_assert_cmpmem (got, count * 10 * sizeof (float), want, count * 10 * sizeof (float));
  qs_engine_run_options_init (&options);
  g_assert_cmpint (qs_engine_predict (fx.model, qm, test, 0, count, &options, pred), ==, QS_ENGINE_OK);
  for (size_t i = 0; i < count; i++)
    g_assert_cmpint (pred[i], ==, predictions[i] - '0');
}

/* One format under one ISA's kernels (-1: the CPU's best); @whole: every
 * layer's streamed group-wise packing refused at its last channel group
 * (refuse_streamed_packing), so each is packed whole again. */
typedef struct {
  JsonObject *format;
  int         isa;
  bool        whole;
} FormatCase;

static void
test_format (gconstpointer data)
{
  const FormatCase *fc = data;
  QsQuantizedModel *qm;

  if (fc->isa >= 0 && !qs_kernels_isa_supported ((QsIsa) fc->isa))
    {
      g_test_skip ("the CPU lacks this ISA");
      return;
    }
  qs_kernels_force_isa (fc->isa);
  fx.model->refuse_streamed_packing = fc->whole;
  qm = quantize (fc->format);
  fx.model->refuse_streamed_packing = false;
  if (fc->isa >= 0)
    g_assert_cmpint (qm->kernels->isa, ==, fc->isa);
  /* A layer packed whole knows whether its offsets leave int8 (E3M2's
   * do); one packed as streamed never asks. */
  if (fc->isa == QS_ISA_AVX512VNNI && g_str_equal (json_object_get_string_member (fc->format, "format"),
                                                    "mxfp6-e3m2"))
    for (size_t i = 0; i < qs_engine_model_get_n_layers (fx.model); i++)
      if (qm->layers[i].mode == QS_QMODE_GROUPWISE && qm->layers[i].packed != NULL)
        g_assert_cmpint (qm->layers[i].groupwise.wide_offsets, ==, fc->whole);
  check_layers (fc->format, qm);
  if (json_object_get_boolean_member (fc->format, "integer"))
    check_model (fc->format, qm);
  qs_quantized_model_free (qm);
  qs_kernels_force_isa (-1);
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *json_path = NULL;
  g_autofree char *model_path = NULL;
  g_autoptr(QsWeightFile) file = NULL;
  static const struct { QsIsa isa; const char *name; } isas[] = {
    { QS_ISA_SCALAR, "scalar" }, { QS_ISA_AVX2, "avx2" }, { QS_ISA_AVX512VNNI, "avx512vnni" },
  };
  JsonArray *formats;
  g_autoptr(GPtrArray) cases = g_ptr_array_new_with_free_func (g_free);
  int status;

  g_test_init (&argc, &argv, NULL);
  json_path = g_test_build_filename (G_TEST_DIST, "data", "block-engine", "reference.json", NULL);
  fx.parser = json_parser_new ();
  json_parser_load_from_file (fx.parser, json_path, &error);
  g_assert_no_error (error);
  fx.reference = json_node_get_object (json_parser_get_root (fx.parser));
  model_path = g_test_build_filename (G_TEST_DIST, "data", "block-engine",
                                      json_object_get_string_member (fx.reference, "model"), NULL);
  file = qs_weight_file_open (model_path, &error);
  g_assert_no_error (error);
  fx.model = qs_keras_model_load (file, &error);
  g_assert_no_error (error);
  fx.test = qs_dataset_load_bundled_test (&error);
  g_assert_no_error (error);
  fx.calib = qs_dataset_load_bundled_calibration (&error);
  g_assert_no_error (error);

  formats = json_object_get_array_member (fx.reference, "formats");
  g_assert_cmpuint (json_array_get_length (formats), ==, 9);
  /* The integer formats under every ISA, the float-weight ones (whose
   * float32 kernels are not held to one ISA's bits) under the CPU's best. */
  for (guint i = 0; i < json_array_get_length (formats); i++)
    {
      JsonObject *format = json_array_get_object_element (formats, i);
      const char *name = json_object_get_string_member (format, "name");
      gboolean integer = json_object_get_boolean_member (format, "integer");

      for (gsize j = 0; j < (integer ? G_N_ELEMENTS (isas) : 1); j++)
        {
          FormatCase *fc = g_new (FormatCase, 1);
          g_autofree char *path = integer ? g_strdup_printf ("/block-engine/%s/%s", isas[j].name, name)
                                          : g_strdup_printf ("/block-engine/%s", name);

          *fc = (FormatCase) { format, integer ? (int) isas[j].isa : -1, false };
          g_ptr_array_add (cases, fc);
          g_test_add_data_func (path, fc, test_format);
          /* The ISAs whose packing is streamed, once more packed whole. */
          if (integer && isas[j].isa != QS_ISA_SCALAR)
            {
              FormatCase *whole = g_new (FormatCase, 1);
              g_autofree char *whole_path = g_strdup_printf ("%s/packed-whole", path);

              *whole = (FormatCase) { format, (int) isas[j].isa, true };
              g_ptr_array_add (cases, whole);
              g_test_add_data_func (whole_path, whole, test_format);
            }
        }
    }
  status = g_test_run ();
  qs_engine_model_free (fx.model);
  qs_dataset_unref (fx.test);
  qs_dataset_unref (fx.calib);
  g_clear_object (&fx.parser);
  return status;
}
