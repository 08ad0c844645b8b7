/* test-torch-golden.c: scales, zero points and codes bit for bit against PyTorch's golden file.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * tests/data/torch-golden.json is written by tests/reference/make_torch_golden.py
 * (PyTorch 1.13); see that script for what each case means. Every float32 in
 * the file is stored as its IEEE 754 bit pattern and compared as such.
 *
 *   observer   MinMaxObserver / PerChannelMinMaxObserver: our min/max range
 *              pass, qs_quant_params_set_from_ranges and qs_quantize must give
 *              the observer's scale(s) and zero point(s) and torch's codes.
 *   direct     torch.quantize_per_tensor with a chosen scale and zero point
 *              (rounding ties, x / scale vs x * (1 / scale)): qs_quantize_channel
 *              and qs_dequantize_code with the same parameters.
 *   nonfinite  hand-written, no torch: [-1, NaN, 0.5, +Inf, -Inf, 1] must have
 *              the scale and zero point PyTorch gives [-1, 0.5, 1]
 *              (edge/nonfinite-companion/...), +Inf -> qmax, -Inf -> qmin,
 *              NaN -> the zero point.
 */

#include <math.h>
#include <string.h>

#include <glib.h>
#include <json-glib/json-glib.h>

#include "quant/qs-params.h"
#include "quant/qs-range.h"
#include "quant/qs-scheme.h"
#include "quant/qs-types.h"

/* Mismatches printed per array before the count is asserted. */
#define MAX_REPORTED 8

static JsonParser *golden_parser;

static guint32
float_bits (float value)
{
  guint32 bits;

  memcpy (&bits, &value, sizeof bits);
  return bits;
}

static float
bits_float (guint32 bits)
{
  float value;

  memcpy (&value, &bits, sizeof value);
  return value;
}

/* Equal bit patterns, or both NaN (the sign of a NaN is not a result). */
static gboolean
same_float_bits (guint32 a,
                 guint32 b)
{
  return a == b || (isnan (bits_float (a)) && isnan (bits_float (b)));
}

static JsonArray *
member_array (JsonObject *object,
              const char *name)
{
  JsonArray *array = json_object_get_array_member (object, name);

  g_assert_nonnull (array);
  return array;
}

/* A freshly allocated float array from an array of bit patterns. */
static float *
read_floats (JsonObject *object,
             const char *name,
             guint      *length)
{
  JsonArray *array = member_array (object, name);
  guint n = json_array_get_length (array);
  float *values = g_new (float, MAX (n, 1));

  for (guint i = 0; i < n; i++)
    values[i] = bits_float ((guint32) json_array_get_int_element (array, i));
  *length = n;
  return values;
}

static gint64 *
read_ints (JsonObject *object,
           const char *name,
           guint      *length)
{
  JsonArray *array = member_array (object, name);
  guint n = json_array_get_length (array);
  gint64 *values = g_new (gint64, MAX (n, 1));

  for (guint i = 0; i < n; i++)
    values[i] = json_array_get_int_element (array, i);
  *length = n;
  return values;
}

/* Builds the Quantscope scheme a golden case describes and checks that its
 * code range is the case's [quant_min, quant_max]. */
static void
scheme_from_case (JsonObject *c,
                  QsScheme   *scheme)
{
  const char *mapping = json_object_get_string_member (c, "mapping");
  JsonNode *axis = json_object_get_member (c, "ch_axis");
  const char *message = NULL;
  int qmin = 0, qmax = 0;

  qs_scheme_init_per_tensor (scheme);
  scheme->format = QS_FORMAT_INT;
  scheme->bits = (int) json_object_get_int_member (c, "bits");
  scheme->is_unsigned = json_object_get_boolean_member (c, "is_unsigned");
  scheme->narrow = json_object_get_boolean_member (c, "narrow");
  scheme->mapping = g_str_equal (mapping, "symmetric") ? QS_MAPPING_SYMMETRIC
                                                       : QS_MAPPING_ASYMMETRIC;
  scheme->range_method = QS_RANGE_MINMAX;
  scheme->rounding = QS_ROUNDING_HALF_EVEN;
  scheme->nudge_zero = true;
  if (axis == NULL || json_node_is_null (axis))
    {
      scheme->granularity = QS_GRANULARITY_TENSOR;
    }
  else
    {
      scheme->granularity = QS_GRANULARITY_CHANNEL;
      scheme->axis = (int) json_node_get_int (axis);
    }

  if (qs_scheme_validate (scheme, &message) != QS_OK)
    g_test_message ("scheme rejected: %s", message != NULL ? message : "(no message)");
  g_assert_cmpint (qs_scheme_validate (scheme, NULL), ==, QS_OK);

  qs_scheme_code_range (scheme, &qmin, &qmax);
  g_assert_cmpint (qmin, ==, json_object_get_int_member (c, "quant_min"));
  g_assert_cmpint (qmax, ==, json_object_get_int_member (c, "quant_max"));
}

static void
check_scale (const char *name,
             size_t      channel,
             float       got,
             guint32     expected_bits)
{
  if (float_bits (got) != expected_bits)
    g_test_message ("%s: channel %zu: scale expected %.9g (0x%08x), got %.9g (0x%08x)",
                    name, channel, (double) bits_float (expected_bits),
                    expected_bits, (double) got, float_bits (got));
  g_assert_cmphex (float_bits (got), ==, expected_bits);
}

static void
check_zero_point (const char *name,
                  size_t      channel,
                  float       got,
                  gint64      expected)
{
  if (got != (float) expected)
    g_test_message ("%s: channel %zu: zero point expected %" G_GINT64_FORMAT
                    ", got %.9g (0x%08x)",
                    name, channel, expected, (double) got, float_bits (got));
  g_assert_cmpfloat (got, ==, (double) expected);
}

static void
check_codes (const char    *name,
             const float   *x,
             const gint64  *expected,
             const int32_t *got,
             size_t         count)
{
  size_t mismatches = 0, first = 0;

  for (size_t i = 0; i < count; i++)
    {
      if (got[i] == expected[i])
        continue;
      if (mismatches == 0)
        first = i;
      if (mismatches < MAX_REPORTED)
        g_test_message ("%s: code[%zu] of x = %.9g (0x%08x): expected %" G_GINT64_FORMAT
                        ", got %" G_GINT32_FORMAT,
                        name, i, (double) x[i], float_bits (x[i]), expected[i], got[i]);
      mismatches++;
    }
  if (mismatches > 0)
    {
      g_test_message ("%s: %zu of %zu codes differ", name, mismatches, count);
      g_assert_cmpint (got[first], ==, expected[first]);
    }
  g_assert_cmpuint (mismatches, ==, 0);
}

/* qs_dequantize_code of torch's own codes against torch's dequantized values. */
static void
check_dequant (const char            *name,
               const QsQuantParams   *params,
               const QsChannelLayout *layout,
               const gint64          *codes,
               const guint32         *expected_bits,
               size_t                 count)
{
  size_t mismatches = 0;
  guint32 first_expected = 0, first_got = 0;

  for (size_t i = 0; i < count; i++)
    {
      size_t channel = (i / layout->inner) % layout->channels;
      float got = qs_dequantize_code (params, channel, (int32_t) codes[i]);

      if (same_float_bits (float_bits (got), expected_bits[i]))
        continue;
      if (mismatches == 0)
        {
          first_expected = expected_bits[i];
          first_got = float_bits (got);
        }
      if (mismatches < MAX_REPORTED)
        g_test_message ("%s: dequant[%zu] of code %" G_GINT64_FORMAT
                        ": expected %.9g (0x%08x), got %.9g (0x%08x)",
                        name, i, codes[i], (double) bits_float (expected_bits[i]),
                        expected_bits[i], (double) got, float_bits (got));
      mismatches++;
    }
  if (mismatches > 0)
    {
      g_test_message ("%s: %zu of %zu dequantized values differ", name, mismatches, count);
      g_assert_cmphex (first_got, ==, first_expected);
    }
  g_assert_cmpuint (mismatches, ==, 0);
}

/* The generator's note on a case, printed only when the case failed. */
static void
report_note (JsonObject *c)
{
  if (g_test_failed () && json_object_has_member (c, "note"))
    g_test_message ("%s: note: %s", json_object_get_string_member (c, "name"),
                    json_object_get_string_member (c, "note"));
}

static guint32 *
read_bits (JsonObject *object,
           const char *name,
           guint      *length)
{
  JsonArray *array = member_array (object, name);
  guint n = json_array_get_length (array);
  guint32 *values = g_new (guint32, MAX (n, 1));

  for (guint i = 0; i < n; i++)
    values[i] = (guint32) json_array_get_int_element (array, i);
  *length = n;
  return values;
}

/* The layout of a golden case: per tensor, or split along ch_axis (the last
 * axis is passed as -1 to exercise negative axes). */
static void
layout_from_case (JsonObject      *c,
                  const QsScheme  *scheme,
                  size_t           count,
                  QsChannelLayout *layout)
{
  JsonArray *shape_array = member_array (c, "shape");
  int rank = (int) json_array_get_length (shape_array);
  int64_t shape[QS_MAX_RANK];
  int axis;

  if (scheme->granularity == QS_GRANULARITY_TENSOR)
    {
      *layout = qs_channel_layout_per_tensor (count);
      return;
    }
  g_assert_cmpint (rank, >=, 1);
  g_assert_cmpint (rank, <=, QS_MAX_RANK);
  for (int i = 0; i < rank; i++)
    shape[i] = json_array_get_int_element (shape_array, (guint) i);
  axis = scheme->axis == rank - 1 ? -1 : scheme->axis;
  g_assert_cmpint (qs_channel_layout_for_axis (shape, rank, axis, layout), ==, QS_OK);
  g_assert_cmpuint (layout->count, ==, count);
  g_assert_cmpuint (layout->channels, ==, (size_t) shape[scheme->axis]);
}

/* min/max per channel, then the params; returns the stats (caller frees). */
static QsRangeStats *
params_from_data (const QsScheme        *scheme,
                  const QsChannelLayout *layout,
                  const float           *x,
                  QsQuantParams         *params)
{
  QsRangeStats *stats = g_new0 (QsRangeStats, layout->channels);
  float *lo = g_new (float, layout->channels);
  float *hi = g_new (float, layout->channels);

  g_assert_cmpint (qs_range_stats_compute (layout, x, 0, stats, NULL), ==, QS_OK);
  for (size_t c = 0; c < layout->channels; c++)
    {
      lo[c] = stats[c].min;
      hi[c] = stats[c].max;
    }
  g_assert_cmpint (qs_quant_params_init (params, layout->channels), ==, QS_OK);
  qs_quant_params_set_from_ranges (params, scheme, lo, hi);
  g_free (lo);
  g_free (hi);
  return stats;
}

static void
test_observer (gconstpointer data)
{
  JsonObject *c = (JsonObject *) data;
  const char *name = json_object_get_string_member (c, "name");
  QsScheme scheme;
  QsChannelLayout layout;
  QsQuantParams params;
  QsRangeStats *stats;
  guint n = 0, n_scales = 0, n_zps = 0, n_codes = 0;
  float *x = read_floats (c, "x", &n);
  guint32 *scales = read_bits (c, "scale", &n_scales);
  gint64 *zps = read_ints (c, "zero_point", &n_zps);
  gint64 *expected = read_ints (c, "codes", &n_codes);
  int32_t *codes = g_new0 (int32_t, MAX (n, 1));

  g_assert_cmpuint (n_codes, ==, n);
  g_assert_cmpuint (n_zps, ==, n_scales);

  scheme_from_case (c, &scheme);
  layout_from_case (c, &scheme, n, &layout);
  g_assert_cmpuint (layout.channels, ==, n_scales);

  stats = params_from_data (&scheme, &layout, x, &params);
  g_assert_cmpuint (params.channels, ==, layout.channels);
  g_assert_cmpint (params.qmin, ==, json_object_get_int_member (c, "quant_min"));
  g_assert_cmpint (params.qmax, ==, json_object_get_int_member (c, "quant_max"));
  for (size_t ch = 0; ch < layout.channels; ch++)
    {
      check_scale (name, ch, params.scale[ch], scales[ch]);
      check_zero_point (name, ch, params.zero_point[ch], zps[ch]);
    }

  qs_quantize (&params, &layout, x, codes);
  check_codes (name, x, expected, codes, n);

  if (json_object_has_member (c, "dequant"))
    {
      guint n_deq = 0;
      guint32 *deq = read_bits (c, "dequant", &n_deq);

      g_assert_cmpuint (n_deq, ==, n);
      check_dequant (name, &params, &layout, expected, deq, n);
      g_free (deq);
    }

  report_note (c);
  qs_quant_params_clear (&params);
  g_free (stats);
  g_free (codes);
  g_free (expected);
  g_free (zps);
  g_free (scales);
  g_free (x);
}

static void
test_direct (gconstpointer data)
{
  JsonObject *c = (JsonObject *) data;
  const char *name = json_object_get_string_member (c, "name");
  float scale = bits_float ((guint32) json_object_get_int_member (c, "scale"));
  gint64 zero_point = json_object_get_int_member (c, "zero_point");
  QsChannelLayout layout;
  QsQuantParams params;
  guint n = 0, n_codes = 0, n_deq = 0;
  float *x = read_floats (c, "x", &n);
  gint64 *expected = read_ints (c, "codes", &n_codes);
  guint32 *deq = read_bits (c, "dequant", &n_deq);
  int32_t *codes = g_new0 (int32_t, MAX (n, 1));

  g_assert_cmpuint (n_codes, ==, n);
  g_assert_cmpuint (n_deq, ==, n);

  g_assert_cmpint (qs_quant_params_init (&params, 1), ==, QS_OK);
  params.format = QS_FORMAT_INT;
  params.rounding = QS_ROUNDING_HALF_EVEN;
  params.nudge_zero = true;
  params.qmin = (int) json_object_get_int_member (c, "quant_min");
  params.qmax = (int) json_object_get_int_member (c, "quant_max");
  params.scale[0] = scale;
  params.inv_scale[0] = 1.0f / scale;
  params.zero_point[0] = (float) zero_point;

  qs_quantize_channel (&params, 0, x, n, codes);
  check_codes (name, x, expected, codes, n);

  layout = qs_channel_layout_per_tensor (n);
  check_dequant (name, &params, &layout, expected, deq, n);

  if (json_object_has_member (c, "codes_if_divided"))
    {
      guint n_div = 0;
      gint64 *divided = read_ints (c, "codes_if_divided", &n_div);

      /* The case is only meaningful if a division would round differently. */
      g_assert_cmpuint (n_div, ==, n);
      g_assert_cmpint (divided[0], !=, expected[0]);
      g_free (divided);
    }

  report_note (c);
  qs_quant_params_clear (&params);
  g_free (codes);
  g_free (deq);
  g_free (expected);
  g_free (x);
}

/* [-1, NaN, 0.5, +Inf, -Inf, 1] against torch's [-1, 0.5, 1] (the
 * edge/nonfinite-companion case @data). */
static void
test_nonfinite (gconstpointer data)
{
  JsonObject *c = (JsonObject *) data;
  const char *name = json_object_get_string_member (c, "name");
  const float x[6] = { -1.0f, NAN, 0.5f, INFINITY, -INFINITY, 1.0f };
  const size_t finite_index[3] = { 0, 2, 5 };
  int32_t codes[6] = { 0 };
  QsScheme scheme;
  QsChannelLayout layout = qs_channel_layout_per_tensor (G_N_ELEMENTS (x));
  QsQuantParams params;
  QsRangeStats *stats;
  guint n_finite = 0, n_scales = 0, n_zps = 0, n_codes = 0;
  float *finite = read_floats (c, "x", &n_finite);
  guint32 *scales = read_bits (c, "scale", &n_scales);
  gint64 *zps = read_ints (c, "zero_point", &n_zps);
  gint64 *expected = read_ints (c, "codes", &n_codes);

  g_assert_cmpuint (n_finite, ==, 3);
  g_assert_cmpuint (n_codes, ==, 3);
  g_assert_cmpuint (n_scales, ==, 1);
  g_assert_cmpuint (n_zps, ==, 1);
  for (guint i = 0; i < n_finite; i++)
    g_assert_cmphex (float_bits (finite[i]), ==, float_bits (x[finite_index[i]]));

  scheme_from_case (c, &scheme);
  stats = params_from_data (&scheme, &layout, x, &params);
  g_assert_cmpuint (stats[0].finite, ==, 3);
  g_assert_cmpuint (stats[0].nonfinite, ==, 3);
  g_assert_cmpfloat (stats[0].min, ==, -1.0);
  g_assert_cmpfloat (stats[0].max, ==, 1.0);

  check_scale (name, 0, params.scale[0], scales[0]);
  check_zero_point (name, 0, params.zero_point[0], zps[0]);

  qs_quantize (&params, &layout, x, codes);
  for (guint i = 0; i < n_finite; i++)
    g_assert_cmpint (codes[finite_index[i]], ==, expected[i]);
  g_assert_cmpint (codes[1], ==, zps[0]);        /* NaN */
  g_assert_cmpint (codes[3], ==, params.qmax);   /* +Inf */
  g_assert_cmpint (codes[4], ==, params.qmin);   /* -Inf */

  qs_quant_params_clear (&params);
  g_free (stats);
  g_free (expected);
  g_free (zps);
  g_free (scales);
  g_free (finite);
}

/* Per channel: NaN/Inf in a channel leave it with the range of its finite
 * values and do not leak into the other channels. */
static void
test_nonfinite_per_channel (void)
{
  const float x[2 * 5] = {
    -1.0f, NAN, 0.5f, INFINITY, 1.0f,
    NAN, 2.0f, -INFINITY, -0.25f, 3.0f,
  };
  const float finite0[3] = { -1.0f, 0.5f, 1.0f };
  const float finite1[3] = { 2.0f, -0.25f, 3.0f };
  const float *finite[2] = { finite0, finite1 };
  const int64_t shape[2] = { 2, 5 };
  int32_t codes[10] = { 0 };
  QsScheme scheme;
  QsChannelLayout layout;
  QsQuantParams params;
  QsRangeStats *stats;

  qs_scheme_init_per_tensor (&scheme);
  scheme.granularity = QS_GRANULARITY_CHANNEL;
  scheme.axis = 0;
  g_assert_cmpint (qs_channel_layout_for_axis (shape, 2, 0, &layout), ==, QS_OK);
  g_assert_cmpuint (layout.channels, ==, 2);
  stats = params_from_data (&scheme, &layout, x, &params);
  qs_quantize (&params, &layout, x, codes);

  for (size_t ch = 0; ch < 2; ch++)
    {
      QsScheme tensor_scheme = scheme;
      QsChannelLayout tensor_layout = qs_channel_layout_per_tensor (3);
      QsQuantParams reference;
      QsRangeStats *reference_stats;
      int32_t reference_codes[3] = { 0 };
      size_t k = 0;

      tensor_scheme.granularity = QS_GRANULARITY_TENSOR;
      reference_stats = params_from_data (&tensor_scheme, &tensor_layout,
                                          finite[ch], &reference);
      qs_quantize (&reference, &tensor_layout, finite[ch], reference_codes);

      g_assert_cmpuint (stats[ch].finite, ==, 3);
      g_assert_cmpuint (stats[ch].nonfinite, ==, 2);
      g_assert_cmphex (float_bits (params.scale[ch]), ==, float_bits (reference.scale[0]));
      g_assert_cmpfloat (params.zero_point[ch], ==, reference.zero_point[0]);
      for (size_t i = 0; i < 5; i++)
        {
          float v = x[ch * 5 + i];
          int32_t code = codes[ch * 5 + i];

          if (isnan (v))
            g_assert_cmpfloat ((float) code, ==, params.zero_point[ch]);
          else if (isinf (v) && v > 0)
            g_assert_cmpint (code, ==, params.qmax);
          else if (isinf (v))
            g_assert_cmpint (code, ==, params.qmin);
          else
            g_assert_cmpint (code, ==, reference_codes[k++]);
        }
      g_assert_cmpuint (k, ==, 3);

      qs_quant_params_clear (&reference);
      g_free (reference_stats);
    }

  qs_quant_params_clear (&params);
  g_free (stats);
}

typedef struct {
  guint observer;
  guint direct;
  guint div_vs_mul;
  guint nonfinite;
} CaseCounts;

static CaseCounts case_counts;

/* The file is what the generator wrote and has the cases the brief asks for. */
static void
test_file (void)
{
  JsonObject *root = json_node_get_object (json_parser_get_root (golden_parser));
  JsonObject *nonfinite = json_object_get_object_member (root, "nonfinite");

  g_assert_cmpstr (json_object_get_string_member (root, "format"), ==, "quantscope-torch-golden");
  g_assert_cmpint (json_object_get_int_member (root, "version"), ==, 1);
  g_assert_nonnull (nonfinite);
  g_assert_cmpint (json_object_get_boolean_member (nonfinite, "in_torch"), ==, FALSE);
  g_assert_cmpuint (case_counts.observer, >=, 100);
  g_assert_cmpuint (case_counts.direct, >=, 20);
  g_assert_cmpuint (case_counts.div_vs_mul, >=, 20);
  g_assert_cmpuint (case_counts.nonfinite, >=, 4);
}

static void
register_cases (void)
{
  JsonObject *root;
  JsonArray *cases;
  guint n;

  g_assert_cmpint (json_node_get_node_type (json_parser_get_root (golden_parser)), ==,
                   JSON_NODE_OBJECT);
  root = json_node_get_object (json_parser_get_root (golden_parser));
  cases = member_array (root, "cases");
  n = json_array_get_length (cases);

  for (guint i = 0; i < n; i++)
    {
      JsonObject *c = json_array_get_object_element (cases, i);
      const char *kind = json_object_get_string_member (c, "kind");
      const char *name = json_object_get_string_member (c, "name");
      /* Names already start with their group (cfg/, edge/, ..., direct/). */
      char *path = g_strdup_printf ("/torch-golden/%s", name);

      if (g_str_equal (kind, "observer"))
        {
          g_test_add_data_func (path, c, test_observer);
          case_counts.observer++;
          if (g_str_has_prefix (name, "edge/nonfinite-companion/"))
            {
              char *hand = g_strdup_printf ("/torch-golden/nonfinite/%s",
                                            name + strlen ("edge/nonfinite-companion/"));

              g_test_add_data_func (hand, c, test_nonfinite);
              case_counts.nonfinite++;
              g_free (hand);
            }
        }
      else if (g_str_equal (kind, "direct"))
        {
          g_test_add_data_func (path, c, test_direct);
          case_counts.direct++;
          if (json_object_has_member (c, "codes_if_divided"))
            case_counts.div_vs_mul++;
        }
      else
        {
          g_test_message ("unknown case kind %s in %s", kind, name);
          g_assert_cmpstr (kind, ==, "observer");
        }
      g_free (path);
    }
}

int
main (int   argc,
      char *argv[])
{
  GError *error = NULL;
  char *path;
  int status;

  g_test_init (&argc, &argv, NULL);

  path = g_test_build_filename (G_TEST_DIST, "data", "torch-golden.json", NULL);
  golden_parser = json_parser_new ();
  json_parser_load_from_file (golden_parser, path, &error);
  g_assert_no_error (error);
  g_free (path);
  register_cases ();

  /* Report every mismatching case, not only the first one. */
  g_test_set_nonfatal_assertions ();

  g_test_add_func ("/torch-golden/file", test_file);
  g_test_add_func ("/torch-golden/nonfinite/per-channel", test_nonfinite_per_channel);

  status = g_test_run ();
  g_object_unref (golden_parser);
  return status;
}
