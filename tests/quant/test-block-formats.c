/* test-block-formats.c: group-wise and block formats bit for bit against tests/data/block-golden.json.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The golden file is written by tests/reference/make_block_golden.py from the
 * OCP MX, NVFP4 and NF4 definitions and PyTorch's integer formulas (see
 * there). Codes, scales, scale bytes, zero points and reconstructions must
 * match bit for bit; the fused pass's metrics closely; the element
 * converters against the script's exhaustive tables.
 */

#include <math.h>
#include <string.h>

#include <glib.h>
#include <json-glib/json-glib.h>

#include "quant/qs-analysis.h"
#include "quant/qs-block.h"
#include "quant/qs-float-format.h"

#define MAX_REPORTED 8

static JsonParser *golden_parser;

static float
bits_float (guint32 bits)
{
  float value;

  memcpy (&value, &bits, sizeof value);
  return value;
}

static guint32
float_bits (float value)
{
  guint32 bits;

  memcpy (&bits, &value, sizeof bits);
  return bits;
}

static JsonObject *
golden (void)
{
  return json_node_get_object (json_parser_get_root (golden_parser));
}

typedef struct {
  const char *name;
  int64_t     shape[QS_MAX_RANK];
  int         rank;
  int         axis;
  float      *values;
  gsize       count;
} Tensor;

static void
tensor_load (JsonObject *object,
             Tensor     *t)
{
  JsonArray *shape = json_object_get_array_member (object, "shape");
  JsonArray *values = json_object_get_array_member (object, "values");

  t->name = json_object_get_string_member (object, "name");
  t->rank = (int) json_array_get_length (shape);
  for (int d = 0; d < t->rank; d++)
    t->shape[d] = json_array_get_int_element (shape, (guint) d);
  t->axis = (int) json_object_get_int_member (object, "axis");
  t->count = json_array_get_length (values);
  t->values = g_new (float, t->count);
  for (gsize i = 0; i < t->count; i++)
    t->values[i] = bits_float ((guint32) json_array_get_int_element (values, (guint) i));
}

static JsonObject *
find_tensor (const char *name)
{
  JsonArray *tensors = json_object_get_array_member (golden (), "tensors");

  for (guint i = 0; i < json_array_get_length (tensors); i++)
    {
      JsonObject *t = json_array_get_object_element (tensors, i);
      if (g_str_equal (json_object_get_string_member (t, "name"), name))
        return t;
    }
  g_assert_not_reached ();
}

static QsChannelLayout
tensor_layout (const Tensor *t)
{
  QsChannelLayout layout;

  if (t->rank <= 1)
    return qs_channel_layout_per_tensor (t->count);
  g_assert_cmpint (qs_channel_layout_for_axis (t->shape, t->rank, t->axis, &layout), ==, QS_OK);
  return layout;
}

static void
case_scheme (JsonObject *c,
             QsScheme   *scheme)
{
  qs_scheme_init_per_tensor (scheme);
  g_assert_true (qs_format_parse (json_object_get_string_member (c, "format"), &scheme->format));
  g_assert_true (qs_mapping_parse (json_object_get_string_member (c, "mapping"), &scheme->mapping));
  scheme->bits = (int) json_object_get_int_member (c, "bits");
  scheme->group_size = (int) json_object_get_int_member (c, "group_size");
  if (scheme->format == QS_FORMAT_INT)
    scheme->granularity = QS_GRANULARITY_GROUP;
  g_assert_cmpint (qs_scheme_validate (scheme, NULL), ==, QS_OK);
}

/* The documented decode rule (qs-block.h, docs/block-formats.md). */
static float
decode (QsFormat format,
        int32_t  code,
        float    scale,
        int32_t  zero_point)
{
  switch (format)
    {
    case QS_FORMAT_INT:
      return (float) (code - zero_point) * scale;
    case QS_FORMAT_MXFP8_E4M3:
      return qs_fp8_e4m3_to_float ((uint8_t) code) * scale;
    case QS_FORMAT_MXFP8_E5M2:
      return qs_fp8_e5m2_to_float ((uint8_t) code) * scale;
    case QS_FORMAT_MXFP6_E2M3:
      return qs_fp6_e2m3_to_float ((uint8_t) code) * scale;
    case QS_FORMAT_MXFP6_E3M2:
      return qs_fp6_e3m2_to_float ((uint8_t) code) * scale;
    case QS_FORMAT_MXFP4:
    case QS_FORMAT_NVFP4:
      return qs_fp4_e2m1_to_float ((uint8_t) code) * scale;
    case QS_FORMAT_MXINT8:
      return (float) code / 64.0f * scale;
    case QS_FORMAT_NF4:
      return qs_nf4_level (code) * scale;
    default:
      g_assert_not_reached ();
    }
}

/* The element index of position @p of channel @c's run. */
static gsize
run_index (const QsChannelLayout *l,
           gsize                  c,
           gsize                  p)
{
  return ((p / l->inner) * l->channels + c) * l->inner + p % l->inner;
}

static int
count_int_mismatches (const char *what,
                      const char *label,
                      JsonArray  *expected,
                      const int64_t *actual,
                      gsize       n)
{
  int bad = 0;

  g_assert_cmpuint (json_array_get_length (expected), ==, n);
  for (gsize i = 0; i < n; i++)
    if (json_array_get_int_element (expected, (guint) i) != actual[i])
      {
        if (bad++ < MAX_REPORTED)
          g_test_message ("%s %s[%zu]: expected %" G_GINT64_FORMAT ", got %" G_GINT64_FORMAT,
                          label, what, i, json_array_get_int_element (expected, (guint) i), actual[i]);
      }
  return bad;
}

static void
check_case (JsonObject *c)
{
  g_autofree char *label = NULL;
  Tensor t;
  QsScheme scheme;
  QsChannelLayout layout;
  QsBlockGeometry geo;
  g_autofree int32_t *codes = NULL;
  g_autofree float *scales = NULL;
  g_autofree uint8_t *scale_codes = NULL;
  g_autofree int32_t *zero_points = NULL;
  g_autofree int64_t *wide = NULL;
  float tensor_scale;
  int bad = 0;
  QsQuantParams params;
  QsAnalysis a1, a4;
  double expected_mse;

  tensor_load (find_tensor (json_object_get_string_member (c, "tensor")), &t);
  case_scheme (c, &scheme);
  label = g_strdup_printf ("%s %s/%d-bit %s G=%d", t.name, qs_format_to_string (scheme.format),
                           scheme.bits, qs_mapping_to_string (scheme.mapping), scheme.group_size);
  layout = tensor_layout (&t);
  g_assert_cmpint (qs_block_geometry (&scheme, &layout, &geo), ==, QS_OK);
  g_assert_cmpuint (geo.block_count, ==, json_object_get_int_member (c, "block_count"));

  codes = g_new (int32_t, t.count);
  scales = g_new (float, geo.block_count);
  scale_codes = g_new (uint8_t, geo.block_count);
  zero_points = g_new (int32_t, geo.block_count);
  wide = g_new (int64_t, MAX (t.count, geo.block_count));
  g_assert_cmpint (qs_block_quantize (&scheme, &layout, t.values, codes, scales, scale_codes,
                                      zero_points, &tensor_scale), ==, QS_OK);

  for (gsize i = 0; i < t.count; i++)
    wide[i] = codes[i];
  bad += count_int_mismatches ("code", label, json_object_get_array_member (c, "codes"), wide, t.count);
  for (gsize b = 0; b < geo.block_count; b++)
    wide[b] = float_bits (scales[b]);
  bad += count_int_mismatches ("scale", label, json_object_get_array_member (c, "scales"), wide, geo.block_count);
  if (scheme.format == QS_FORMAT_NVFP4 || (qs_format_is_block (scheme.format) && scheme.format != QS_FORMAT_NF4))
    {
      for (gsize b = 0; b < geo.block_count; b++)
        wide[b] = scale_codes[b];
      bad += count_int_mismatches ("scale code", label, json_object_get_array_member (c, "scale_codes"),
                                   wide, geo.block_count);
    }
  if (scheme.format == QS_FORMAT_INT)
    {
      for (gsize b = 0; b < geo.block_count; b++)
        wide[b] = zero_points[b];
      bad += count_int_mismatches ("zero point", label, json_object_get_array_member (c, "zero_points"),
                                   wide, geo.block_count);
    }
  g_assert_cmpuint (float_bits (tensor_scale), ==, json_object_get_int_member (c, "tensor_scale"));

  /* Reconstruction from the exported codes and scales alone. */
  for (gsize ch = 0; ch < layout.channels; ch++)
    for (gsize p = 0; p < geo.run_length; p++)
      {
        gsize i = run_index (&layout, ch, p), b = ch * geo.blocks_per_run + p / geo.block_size;
        wide[i] = float_bits (decode (scheme.format, codes[i], scales[b], zero_points[b]));
      }
  bad += count_int_mismatches ("reconstruction", label, json_object_get_array_member (c, "recon"), wide, t.count);
  g_assert_cmpint (bad, ==, 0);

  /* The fused pass: the same numbers, whatever the thread count. */
  g_assert_cmpint (qs_analyze (&scheme, &layout, t.values, 1, &params, &a1), ==, QS_OK);
  qs_quant_params_clear (&params);
  g_assert_cmpint (qs_analyze (&scheme, &layout, t.values, 4, &params, &a4), ==, QS_OK);
  qs_quant_params_clear (&params);

  expected_mse = json_object_get_double_member (c, "mse");
  g_assert_cmpfloat_with_epsilon (a1.mse, expected_mse, fabs (expected_mse) * 1e-9 + 1e-300);
  if (json_object_get_null_member (c, "sqnr_db"))
    g_assert_true (isinf (a1.sqnr_db));
  else
    g_assert_cmpfloat_with_epsilon (a1.sqnr_db, json_object_get_double_member (c, "sqnr_db"), 1e-9);
  /* The pass takes the cosine from sums of squares (no sum of products):
   * against numpy's sum of products. */
  if (json_object_get_null_member (c, "cosine"))
    g_assert_true (isnan (a1.cosine));
  else
    g_assert_cmpfloat_with_epsilon (a1.cosine, json_object_get_double_member (c, "cosine"), 1e-12);
  g_assert_cmpuint (a1.clipped_count, ==, json_object_get_int_member (c, "clipped"));
  g_assert_cmpuint (a1.levels_used, ==, json_object_get_int_member (c, "levels_used"));
  g_assert_cmpfloat (a1.bits_per_weight, ==, json_object_get_double_member (c, "bits_per_weight"));
  g_assert_cmpuint (a1.size_quant_bytes, ==, ((guint64) llround (a1.bits_per_weight * (double) t.count) + 7) / 8);
  g_assert_nonnull (a1.blocks);
  g_assert_cmpuint (a1.blocks->block_count, ==, geo.block_count);
  g_assert_cmpuint (a1.finite_count, ==, t.count);
  g_assert_true (a1.zero_exact);

  g_assert_cmpuint (float_bits ((float) a1.mse), ==, float_bits ((float) a4.mse));
  g_assert_true (memcmp (&a1.mse, &a4.mse, sizeof (double)) == 0);
  g_assert_cmpmem (a1.histogram.counts, a1.histogram.bins * sizeof (guint64),
                   a4.histogram.counts, a4.histogram.bins * sizeof (guint64));
  g_assert_cmpmem (a1.histogram.quantized_counts, a1.histogram.bins * sizeof (guint64),
                   a4.histogram.quantized_counts, a4.histogram.bins * sizeof (guint64));
  g_assert_cmpint (a1.blocks->worst_count, ==, a4.blocks->worst_count);
  g_assert_cmpmem (a1.blocks->worst, sizeof a1.blocks->worst, a4.blocks->worst, sizeof a4.blocks->worst);

  /* The worst block is the block whose golden reconstruction errs most. */
  {
    double worst = -1.0;
    gsize worst_block = 0;
    JsonArray *recon = json_object_get_array_member (c, "recon");
    for (gsize b = 0; b < geo.block_count; b++)
      {
        gsize ch = b / geo.blocks_per_run, start = (b % geo.blocks_per_run) * geo.block_size;
        gsize end = MIN (start + geo.block_size, geo.run_length);
        double err2 = 0.0;
        for (gsize p = start; p < end; p++)
          {
            gsize i = run_index (&layout, ch, p);
            double e = (double) bits_float ((guint32) json_array_get_int_element (recon, (guint) i))
                       - (double) t.values[i];
            err2 += e * e;
          }
        if (err2 / (double) (end - start) > worst)
          {
            worst = err2 / (double) (end - start);
            worst_block = b;
          }
      }
    g_assert_cmpint (a1.blocks->worst_count, >, 0);
    g_assert_cmpuint (a1.blocks->worst[0].channel, ==, worst_block / geo.blocks_per_run);
    g_assert_cmpuint (a1.blocks->worst[0].offset, ==, (worst_block % geo.blocks_per_run) * geo.block_size);
    g_assert_cmpfloat_with_epsilon (a1.blocks->worst[0].mse, worst, worst * 1e-9 + 1e-300);
    for (int k = 1; k < a1.blocks->worst_count; k++)
      g_assert_cmpfloat (a1.blocks->worst[k - 1].mse, >=, a1.blocks->worst[k].mse);
  }

  qs_analysis_clear (&a1);
  qs_analysis_clear (&a4);
  g_free (t.values);
}

static void
test_golden_cases (void)
{
  JsonArray *cases = json_object_get_array_member (golden (), "cases");

  g_assert_cmpuint (json_array_get_length (cases), >=, 60);
  for (guint i = 0; i < json_array_get_length (cases); i++)
    check_case (json_array_get_object_element (cases, i));
}

/* NVFP4 quantized a few channels at a time (qs_block_quantize_part with
 * the whole tensor's largest finite magnitude) gives the golden codes,
 * scales and scale bytes of the whole tensor, channel for channel, on the
 * golden cases whose channels are innermost; a part of only NaN is
 * quantized (to 0.0's codes), where qs_block_quantize finds no finite
 * value; other formats and an amax that is no finite magnitude are
 * refused. */
static void
test_nvfp4_parts (void)
{
  JsonArray *cases = json_object_get_array_member (golden (), "cases");
  int checked = 0;

  for (guint i = 0; i < json_array_get_length (cases); i++)
    {
      JsonObject *c = json_array_get_object_element (cases, i);
      JsonArray *want_codes = json_object_get_array_member (c, "codes");
      JsonArray *want_scales = json_object_get_array_member (c, "scales");
      JsonArray *want_scale_codes = json_object_get_array_member (c, "scale_codes");
      Tensor t;
      QsScheme scheme;
      QsChannelLayout layout;
      QsBlockGeometry geo;
      float amax = 0.0f;

      if (!g_str_equal (json_object_get_string_member (c, "format"), "nvfp4"))
        continue;
      tensor_load (find_tensor (json_object_get_string_member (c, "tensor")), &t);
      case_scheme (c, &scheme);
      layout = tensor_layout (&t);
      if (layout.inner != 1 || layout.channels < 3)
        {
          g_free (t.values);
          continue;
        }
      g_assert_cmpint (qs_block_geometry (&scheme, &layout, &geo), ==, QS_OK);
      for (gsize j = 0; j < t.count; j++)
        if (isfinite (t.values[j]))
          amax = fmaxf (amax, fabsf (t.values[j]));
      /* Parts of 1, 2, 1, 2, ... channels. */
      for (gsize c0 = 0, nc; c0 < layout.channels; c0 += nc)
        {
          size_t run = geo.run_length;
          QsChannelLayout part;
          QsBlockGeometry part_geo;
          g_autofree float *values = NULL;
          g_autofree int32_t *codes = NULL;
          g_autofree float *scales = NULL;
          g_autofree uint8_t *scale_codes = NULL;

          nc = MIN (c0 % 3 == 0 ? 1 : 2, layout.channels - c0);
          part = (QsChannelLayout) { run * nc, run, nc, 1 };
          g_assert_cmpint (qs_block_geometry (&scheme, &part, &part_geo), ==, QS_OK);
          values = g_new (float, run * nc);
          codes = g_new (int32_t, run * nc);
          scales = g_new (float, part_geo.block_count);
          scale_codes = g_new (uint8_t, part_geo.block_count);
          for (gsize p = 0; p < run; p++)
            for (gsize j = 0; j < nc; j++)
              values[p * nc + j] = t.values[run_index (&layout, c0 + j, p)];
          g_assert_cmpint (qs_block_quantize_part (&scheme, &part, values, amax, codes, scales, scale_codes, NULL),
                           ==, QS_OK);
          for (gsize p = 0; p < run; p++)
            for (gsize j = 0; j < nc; j++)
              g_assert_cmpint (codes[p * nc + j], ==,
                               json_array_get_int_element (want_codes, (guint) run_index (&layout, c0 + j, p)));
          for (gsize b = 0; b < part_geo.block_count; b++)
            {
              guint whole = (guint) (c0 * geo.blocks_per_run + b);

              g_assert_cmphex (float_bits (scales[b]), ==, (guint32) json_array_get_int_element (want_scales, whole));
              g_assert_cmpint (scale_codes[b], ==, json_array_get_int_element (want_scale_codes, whole));
            }
          checked++;

          /* The same part of NaNs. */
          for (gsize j = 0; j < run * nc; j++)
            values[j] = NAN;
          g_assert_cmpint (qs_block_quantize (&scheme, &part, values, codes, scales, NULL, NULL, NULL),
                           ==, QS_STATUS_NO_FINITE_VALUES);
          g_assert_cmpint (qs_block_quantize_part (&scheme, &part, values, amax, codes, scales, NULL, NULL),
                           ==, QS_OK);
          for (gsize j = 0; j < run * nc; j++)
            g_assert_cmpfloat (qs_fp4_e2m1_to_float ((uint8_t) codes[j]), ==, 0.0f);
        }
      {
        float x[16] = { 1.0f }, scale;
        int32_t code[16];
        QsChannelLayout one = { 16, 16, 1, 1 };

        g_assert_cmpint (qs_block_quantize_part (&scheme, &one, x, NAN, code, &scale, NULL, NULL),
                         ==, QS_STATUS_INVALID_ARGUMENT);
        g_assert_cmpint (qs_block_quantize_part (&scheme, &one, x, INFINITY, code, &scale, NULL, NULL),
                         ==, QS_STATUS_INVALID_ARGUMENT);
        g_assert_cmpint (qs_block_quantize_part (&scheme, &one, x, -1.0f, code, &scale, NULL, NULL),
                         ==, QS_STATUS_INVALID_ARGUMENT);
        scheme.format = QS_FORMAT_MXFP4;
        g_assert_cmpint (qs_block_quantize_part (&scheme, &one, x, 1.0f, code, &scale, NULL, NULL),
                         ==, QS_STATUS_INVALID_ARGUMENT);
      }
      g_free (t.values);
    }
  g_assert_cmpint (checked, >=, 5);
}

typedef struct {
  const char *name;
  uint8_t   (*encode) (float);
  float     (*decode) (uint8_t);
} Converter;

static void
test_converters (void)
{
  const Converter converters[] = {
    { "e2m3", qs_float_to_fp6_e2m3, qs_fp6_e2m3_to_float },
    { "e3m2", qs_float_to_fp6_e3m2, qs_fp6_e3m2_to_float },
    { "e2m1", qs_float_to_fp4_e2m1, qs_fp4_e2m1_to_float },
  };
  JsonObject *all = json_object_get_object_member (golden (), "converters");

  for (gsize k = 0; k < G_N_ELEMENTS (converters); k++)
    {
      JsonObject *table = json_object_get_object_member (all, converters[k].name);
      JsonArray *dec = json_object_get_array_member (table, "decode");
      JsonArray *inputs = json_object_get_array_member (table, "inputs");
      JsonArray *codes = json_object_get_array_member (table, "codes");
      int bad = 0;

      for (guint c = 0; c < json_array_get_length (dec); c++)
        g_assert_cmphex (float_bits (converters[k].decode ((uint8_t) c)), ==,
                         (guint32) json_array_get_int_element (dec, c));
      g_assert_cmpuint (json_array_get_length (inputs), >, 50);
      for (guint i = 0; i < json_array_get_length (inputs); i++)
        {
          float x = bits_float ((guint32) json_array_get_int_element (inputs, i));
          gint64 expected = json_array_get_int_element (codes, i);
          if (converters[k].encode (x) != expected && bad++ < MAX_REPORTED)
            g_test_message ("%s encode %a: expected 0x%" G_GINT64_MODIFIER "x, got 0x%x",
                            converters[k].name, x, expected, converters[k].encode (x));
        }
      g_assert_cmpint (bad, ==, 0);
      /* NaN has no code in these formats: it takes the code of 0.0. */
      g_assert_cmpint (converters[k].encode (NAN) & 0x1f & ~0x8, ==, 0);
    }
}

/* The sweep gives what a full analysis with each group size gives. */
static void
test_sweep_matches_analysis (void)
{
  Tensor t;
  QsScheme scheme;
  QsChannelLayout layout;
  const int sizes[] = { 8, 16, 32, 70 };
  QsBlockSweepPoint points[G_N_ELEMENTS (sizes)];

  tensor_load (find_tensor ("dense"), &t);
  layout = tensor_layout (&t);
  qs_scheme_init_per_tensor (&scheme);
  scheme.format = QS_FORMAT_MXFP4;
  g_assert_cmpint (qs_block_sweep (&scheme, &layout, t.values, 2, sizes, G_N_ELEMENTS (sizes), points), ==, QS_OK);
  for (gsize i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      QsQuantParams params;
      QsAnalysis a;
      scheme.group_size = sizes[i];
      g_assert_cmpint (qs_analyze (&scheme, &layout, t.values, 1, &params, &a), ==, QS_OK);
      g_assert_cmpint (points[i].group_size, ==, sizes[i]);
      g_assert_cmpfloat (points[i].bits_per_weight, ==, a.bits_per_weight);
      g_assert_cmpfloat_with_epsilon (points[i].mse, a.mse, a.mse * 1e-12);
      g_assert_cmpfloat_with_epsilon (points[i].sqnr_db, a.sqnr_db, 1e-9);
      qs_quant_params_clear (&params);
      qs_analysis_clear (&a);
    }
  /* 4-bit elements and an 8-bit scale per block: runs of 70 make 9 blocks
   * of up to 8, 45 blocks over 350 weights. */
  g_assert_cmpfloat (points[0].bits_per_weight, ==, 4.0 + 8.0 * 45.0 / 350.0);
  g_free (t.values);
}

/* Hand-derived: MXFP4 on one block [6, 3, -1.25, 0.2]: amax 6, floor(log2 6) = 2,
 * emax 2, so X = 1 (E8M0 127); -1.25 is a tie between 1.0 and 1.5 and goes to
 * the even mantissa, 1.0; 0.2 rounds to 0. */
static void
test_mxfp4_by_hand (void)
{
  const float x[4] = { 6.0f, 3.0f, -1.25f, 0.2f };
  QsScheme scheme;
  QsChannelLayout layout = qs_channel_layout_per_tensor (4);
  int32_t codes[4];
  float scale, tensor_scale;
  uint8_t scale_code;

  qs_scheme_init_per_tensor (&scheme);
  scheme.format = QS_FORMAT_MXFP4;
  g_assert_cmpint (qs_block_quantize (&scheme, &layout, x, codes, &scale, &scale_code, NULL, &tensor_scale), ==, QS_OK);
  g_assert_cmpfloat (scale, ==, 1.0f);
  g_assert_cmpuint (scale_code, ==, 127);
  g_assert_cmpint (codes[0], ==, 0x7);
  g_assert_cmpint (codes[1], ==, 0x5);
  g_assert_cmpint (codes[2], ==, 0x8 | 0x2);
  g_assert_cmpint (codes[3], ==, 0x0);
  g_assert_cmpfloat (tensor_scale, ==, 1.0f);
}

/* qs_block_encode_value is the block pass on a block whose largest
 * magnitude is the value: a one-value tensor gives the same code, scale
 * and bytes; NVFP4 with a given tensor scale matches a tensor whose other
 * block sets that scale (amax 42 gives 42 / (448 x 6) = 2^-6 exactly). */
static void
test_encode_value_matches_pass (void)
{
  static const QsFormat formats[] = {
    QS_FORMAT_MXFP8_E4M3, QS_FORMAT_MXFP8_E5M2, QS_FORMAT_MXFP6_E2M3,
    QS_FORMAT_MXFP6_E3M2, QS_FORMAT_MXFP4, QS_FORMAT_NVFP4,
  };
  static const float values[] = {
    8.625f, -8.625f, 0.0f, -0.0f, 1.0f, -1.25f, 0.2f, 3.0e-39f, 1.0e-30f, -6.0e30f, 41.9f, 0.0123f,
  };
  QsChannelLayout one = qs_channel_layout_per_tensor (1);
  QsChannelLayout two_blocks = qs_channel_layout_per_tensor (32);

  for (gsize f = 0; f < G_N_ELEMENTS (formats); f++)
    for (gsize v = 0; v < G_N_ELEMENTS (values); v++)
      {
        QsScheme scheme;
        QsBlockValueCode b;
        int32_t code, codes[32];
        float scale, scales[2], tensor_scale, back;
        uint8_t scale_code, scale_codes[2];
        float x[32] = { 0 };

        qs_scheme_init_per_tensor (&scheme);
        scheme.format = formats[f];
        g_assert_cmpint (qs_block_encode_value (&scheme, values[v], NAN, &b), ==, QS_OK);
        g_assert_cmpint (qs_block_quantize (&scheme, &one, &values[v], &code, &scale, &scale_code, NULL,
                                            &tensor_scale), ==, QS_OK);
        g_assert_cmpint (b.code, ==, code);
        g_assert_cmpfloat (b.scale, ==, scale);
        g_assert_cmpuint (b.scale_code, ==, scale_code);
        g_assert_cmpfloat (b.tensor_scale, ==, tensor_scale);
        g_assert_cmpint (qs_block_dequantize (&scheme, &one, &code, &scale, NULL, &back), ==, QS_OK);
        g_assert_cmpfloat (b.reconstruction, ==, back);

        if (formats[f] != QS_FORMAT_NVFP4 || fabsf (values[v]) > 42.0f)
          continue;
        x[0] = values[v];
        x[16] = 42.0f;
        g_assert_cmpint (qs_block_encode_value (&scheme, values[v], 0.015625f, &b), ==, QS_OK);
        g_assert_cmpint (qs_block_quantize (&scheme, &two_blocks, x, codes, scales, scale_codes, NULL,
                                            &tensor_scale), ==, QS_OK);
        g_assert_cmpfloat (tensor_scale, ==, 0.015625f);
        g_assert_cmpint (b.code, ==, codes[0]);
        g_assert_cmpfloat (b.scale, ==, scales[0]);
        g_assert_cmpuint (b.scale_code, ==, scale_codes[0]);
      }

  {
    QsScheme scheme;
    QsBlockValueCode b;

    qs_scheme_init_per_tensor (&scheme);
    g_assert_cmpint (qs_block_encode_value (&scheme, 1.0f, NAN, &b), ==, QS_STATUS_INVALID_ARGUMENT);
    scheme.format = QS_FORMAT_NF4;
    g_assert_cmpint (qs_block_encode_value (&scheme, 1.0f, NAN, &b), ==, QS_STATUS_INVALID_ARGUMENT);
    scheme.format = QS_FORMAT_MXFP4;
    g_assert_cmpint (qs_block_encode_value (&scheme, NAN, NAN, &b), ==, QS_STATUS_NO_FINITE_VALUES);
    g_assert_cmpint (qs_block_encode_value (&scheme, INFINITY, NAN, &b), ==, QS_STATUS_NO_FINITE_VALUES);
  }
}

static void
test_scheme_names (void)
{
  QsScheme scheme;
  QsFormat format;
  QsGranularity granularity;
  const char *message = NULL;

  g_assert_true (qs_format_parse ("nvfp4", &format));
  g_assert_cmpstr (qs_format_to_string (format), ==, "nvfp4");
  g_assert_true (qs_granularity_parse ("group", &granularity));
  g_assert_cmpint (granularity, ==, QS_GRANULARITY_GROUP);
  g_assert_false (qs_format_parse ("mxfp3", &format));

  qs_scheme_init_per_tensor (&scheme);
  scheme.granularity = QS_GRANULARITY_GROUP;
  g_assert_cmpuint (qs_scheme_block_size (&scheme), ==, 128);
  scheme.group_size = 65537;
  g_assert_cmpint (qs_scheme_validate (&scheme, &message), ==, QS_STATUS_INVALID_ARGUMENT);
  g_assert_nonnull (message);
  scheme.group_size = 0;
  scheme.range_method = QS_RANGE_MSE;
  g_assert_cmpint (qs_scheme_validate (&scheme, NULL), ==, QS_STATUS_INVALID_ARGUMENT);
  scheme.range_method = QS_RANGE_MINMAX;
  g_assert_cmpint (qs_scheme_validate (&scheme, NULL), ==, QS_OK);
  scheme.nudge_zero = false;
  g_assert_cmpint (qs_scheme_validate (&scheme, NULL), ==, QS_STATUS_INVALID_ARGUMENT);
  qs_scheme_init_per_tensor (&scheme);
  scheme.format = QS_FORMAT_FP16;
  scheme.granularity = QS_GRANULARITY_GROUP;
  g_assert_cmpint (qs_scheme_validate (&scheme, NULL), ==, QS_STATUS_INVALID_ARGUMENT);
  scheme.format = QS_FORMAT_NF4;
  g_assert_cmpuint (qs_scheme_block_size (&scheme), ==, 64);
  scheme.format = QS_FORMAT_NVFP4;
  g_assert_cmpuint (qs_scheme_block_size (&scheme), ==, 16);
  scheme.group_size = 48;
  g_assert_cmpuint (qs_scheme_block_size (&scheme), ==, 48);
}

/* Non-finite values stay out of the block's range and are counted. */
static void
test_nonfinite (void)
{
  float x[6] = { 1.0f, NAN, -2.0f, INFINITY, 0.5f, 0.0f };
  QsScheme scheme;
  QsChannelLayout layout = qs_channel_layout_per_tensor (6);
  QsQuantParams params;
  QsAnalysis a;

  qs_scheme_init_per_tensor (&scheme);
  scheme.format = QS_FORMAT_MXFP8_E4M3;
  g_assert_cmpint (qs_analyze (&scheme, &layout, x, 1, &params, &a), ==, QS_OK);
  g_assert_cmpuint (a.nonfinite_count, ==, 2);
  g_assert_cmpuint (a.finite_count, ==, 4);
  /* -2, 1, 0.5 and 0 are exact in E4M3 under X = 2^(1 - 8). */
  g_assert_cmpfloat (a.mse, ==, 0.0);
  g_assert_true (isinf (a.sqnr_db));
  qs_quant_params_clear (&params);
  qs_analysis_clear (&a);

  /* No streaming pass for blockwise schemes. */
  g_assert_cmpint (qs_quant_params_init (&params, 1), ==, QS_OK);
  {
    QsRangeStats stats;
    qs_range_stats_init (&stats);
    g_assert_null (qs_pass_new (&scheme, &params, &layout, &stats, -1.0, 1.0));
  }
  qs_quant_params_clear (&params);
}

int
main (int    argc,
      char **argv)
{
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  path = g_test_build_filename (G_TEST_DIST, "data", "block-golden.json", NULL);
  golden_parser = json_parser_new ();
  if (!json_parser_load_from_file (golden_parser, path, &error))
    g_error ("%s: %s", path, error->message);

  g_test_add_func ("/block/golden", test_golden_cases);
  g_test_add_func ("/block/converters", test_converters);
  g_test_add_func ("/block/sweep", test_sweep_matches_analysis);
  g_test_add_func ("/block/mxfp4-by-hand", test_mxfp4_by_hand);
  g_test_add_func ("/block/encode-value-matches-pass", test_encode_value_matches_pass);
  g_test_add_func ("/block/scheme-names", test_scheme_names);
  g_test_add_func ("/block/nonfinite", test_nonfinite);
  g_test_add_func ("/block/nvfp4-parts", test_nvfp4_parts);
  status = g_test_run ();
  g_object_unref (golden_parser);
  return status;
}
