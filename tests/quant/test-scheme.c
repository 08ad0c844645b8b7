/* test-scheme.c: scheme defaults, validation, code ranges and names.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <math.h>
#include <string.h>

#include <glib.h>

#include "quant/qs-scheme.h"

static void
test_defaults (void)
{
  QsScheme s, per_tensor;

  /* TFLite's int8 weights (numerics.md section 3): symmetric, [-127, 127],
   * one scale per output channel. */
  qs_scheme_init_default (&s);
  g_assert_cmpint (s.format, ==, QS_FORMAT_INT);
  g_assert_cmpint (s.bits, ==, 8);
  g_assert_cmpint (s.mapping, ==, QS_MAPPING_SYMMETRIC);
  g_assert_false (s.is_unsigned);
  g_assert_true (s.narrow);
  g_assert_cmpint (s.granularity, ==, QS_GRANULARITY_CHANNEL);
  g_assert_cmpint (s.axis, ==, QS_AXIS_DEFAULT);
  g_assert_cmpint (s.range_method, ==, QS_RANGE_MINMAX);
  g_assert_cmpint (s.rounding, ==, QS_ROUNDING_HALF_EVEN);
  g_assert_true (s.nudge_zero);
  g_assert_cmpint (s.bins, ==, 256);
  g_assert_cmpint (qs_scheme_validate (&s, NULL), ==, QS_OK);

  /* The seed notes' scheme differs in exactly mapping, range and granularity. */
  qs_scheme_init_per_tensor (&per_tensor);
  g_assert_cmpint (per_tensor.mapping, ==, QS_MAPPING_ASYMMETRIC);
  g_assert_false (per_tensor.narrow);
  g_assert_cmpint (per_tensor.granularity, ==, QS_GRANULARITY_TENSOR);
  g_assert_cmpint (qs_scheme_validate (&per_tensor, NULL), ==, QS_OK);
  per_tensor.mapping = QS_MAPPING_SYMMETRIC;
  per_tensor.narrow = true;
  per_tensor.granularity = QS_GRANULARITY_CHANNEL;
  g_assert_cmpmem (&per_tensor, sizeof per_tensor, &s, sizeof s);
}

static void
test_default_narrow (void)
{
  QsScheme s;

  qs_scheme_init_default (&s);
  g_assert_true (qs_scheme_default_narrow (&s));
  s.is_unsigned = true;
  g_assert_false (qs_scheme_default_narrow (&s));
  s.is_unsigned = false;
  s.mapping = QS_MAPPING_ASYMMETRIC;
  g_assert_false (qs_scheme_default_narrow (&s));
  s.mapping = QS_MAPPING_SYMMETRIC;
  s.format = QS_FORMAT_FP8_E4M3;
  g_assert_false (qs_scheme_default_narrow (&s));
}

typedef struct {
  int bits;
  bool is_unsigned;
  bool narrow;
  int qmin;
  int qmax;
} CodeRangeCase;

static void
test_code_ranges (void)
{
  /* Signed b-bit: [-2^(b-1), 2^(b-1) - 1]; narrow drops the lowest code. */
  static const CodeRangeCase cases[] = {
    { 8, false, false, -128, 127 },
    { 8, false, true, -127, 127 },
    { 8, true, false, 0, 255 },
    { 8, true, true, 1, 255 },
    { 2, false, false, -2, 1 },
    { 2, true, false, 0, 3 },
    { 4, false, false, -8, 7 },
    { 4, false, true, -7, 7 },
    { 16, false, false, -32768, 32767 },
    { 16, true, false, 0, 65535 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      QsScheme s;
      int qmin, qmax;
      qs_scheme_init_per_tensor (&s);
      s.bits = cases[i].bits;
      s.is_unsigned = cases[i].is_unsigned;
      s.narrow = cases[i].narrow;
      qs_scheme_code_range (&s, &qmin, &qmax);
      g_assert_cmpint (qmin, ==, cases[i].qmin);
      g_assert_cmpint (qmax, ==, cases[i].qmax);
    }
}

static void
test_validation (void)
{
  QsScheme s;
  const char *message = NULL;

  qs_scheme_init_per_tensor (&s);
  s.bits = 1;
  g_assert_cmpint (qs_scheme_validate (&s, &message), ==, QS_STATUS_INVALID_ARGUMENT);
  g_assert_nonnull (message);
  s.bits = 17;
  g_assert_cmpint (qs_scheme_validate (&s, NULL), ==, QS_STATUS_INVALID_ARGUMENT);
  s.bits = 16;
  g_assert_cmpint (qs_scheme_validate (&s, NULL), ==, QS_OK);

  s.range_method = QS_RANGE_MANUAL;
  s.manual_lo = 1.0;
  s.manual_hi = 1.0;
  g_assert_cmpint (qs_scheme_validate (&s, &message), ==, QS_STATUS_BAD_RANGE);
  s.manual_hi = 2.0;
  g_assert_cmpint (qs_scheme_validate (&s, NULL), ==, QS_OK);

  s.range_method = QS_RANGE_PERCENTILE;
  s.percentile = 50.0;
  g_assert_cmpint (qs_scheme_validate (&s, NULL), ==, QS_STATUS_INVALID_ARGUMENT);
  s.percentile = 100.0;
  g_assert_cmpint (qs_scheme_validate (&s, NULL), ==, QS_OK);

  s.bins = 0;
  g_assert_cmpint (qs_scheme_validate (&s, NULL), ==, QS_STATUS_INVALID_ARGUMENT);
}

static void
test_range_parse (void)
{
  QsScheme s;

  qs_scheme_init_per_tensor (&s);
  g_assert_true (qs_range_method_parse ("percentile:99.9", &s));
  g_assert_cmpint (s.range_method, ==, QS_RANGE_PERCENTILE);
  g_assert_cmpfloat (s.percentile, ==, 99.9);

  g_assert_true (qs_range_method_parse ("manual:-0.5,0.25", &s));
  g_assert_cmpint (s.range_method, ==, QS_RANGE_MANUAL);
  g_assert_cmpfloat (s.manual_lo, ==, -0.5);
  g_assert_cmpfloat (s.manual_hi, ==, 0.25);

  g_assert_true (qs_range_method_parse ("kl", &s));
  g_assert_cmpint (s.range_method, ==, QS_RANGE_KL);
  g_assert_true (qs_range_method_parse ("mse", &s));
  g_assert_true (qs_range_method_parse ("minmax", &s));
  g_assert_cmpint (s.range_method, ==, QS_RANGE_MINMAX);

  /* Malformed text leaves the scheme as it was. */
  g_assert_false (qs_range_method_parse ("percentile", &s));
  g_assert_false (qs_range_method_parse ("percentile:abc", &s));
  g_assert_false (qs_range_method_parse ("percentile:99x", &s));
  g_assert_false (qs_range_method_parse ("manual:1", &s));
  g_assert_false (qs_range_method_parse ("manual:1,", &s));
  g_assert_false (qs_range_method_parse ("manual:1,2,3", &s));
  g_assert_false (qs_range_method_parse ("minmax:3", &s));
  g_assert_false (qs_range_method_parse ("entropy", &s));
  g_assert_false (qs_range_method_parse ("manual:nan,1", &s));
  g_assert_false (qs_range_method_parse ("", &s));
  g_assert_cmpint (s.range_method, ==, QS_RANGE_MINMAX);
}

static void
test_names_round_trip (void)
{
  for (int f = QS_FORMAT_INT; f <= QS_FORMAT_FP8_E5M2; f++)
    {
      QsFormat parsed;
      g_assert_true (qs_format_parse (qs_format_to_string (f), &parsed));
      g_assert_cmpint (parsed, ==, f);
    }
  for (int m = QS_MAPPING_ASYMMETRIC; m <= QS_MAPPING_SYMMETRIC; m++)
    {
      QsMapping parsed;
      g_assert_true (qs_mapping_parse (qs_mapping_to_string (m), &parsed));
      g_assert_cmpint (parsed, ==, m);
    }
  for (int g = QS_GRANULARITY_TENSOR; g <= QS_GRANULARITY_CHANNEL; g++)
    {
      QsGranularity parsed;
      g_assert_true (qs_granularity_parse (qs_granularity_to_string (g), &parsed));
      g_assert_cmpint (parsed, ==, g);
    }
  for (int r = QS_ROUNDING_HALF_EVEN; r <= QS_ROUNDING_HALF_AWAY; r++)
    {
      QsRounding parsed;
      g_assert_true (qs_rounding_parse (qs_rounding_to_string (r), &parsed));
      g_assert_cmpint (parsed, ==, r);
    }
  g_assert_cmpstr (qs_format_to_string (QS_FORMAT_FP8_E4M3), ==, "fp8-e4m3");
  g_assert_cmpstr (qs_range_method_to_string (QS_RANGE_KL), ==, "kl");
  {
    QsMapping m = QS_MAPPING_SYMMETRIC;
    g_assert_false (qs_mapping_parse ("affine", &m));
    g_assert_cmpint (m, ==, QS_MAPPING_SYMMETRIC);
  }
}

static void
test_channel_layout (void)
{
  const int64_t shape[] = { 3, 3, 16, 32 };
  const int64_t overflow[] = { INT64_MAX / 2, 8 };  /* 2^65: past size_t */
  QsChannelLayout l;

  g_assert_cmpint (qs_channel_layout_for_axis (shape, 4, -1, &l), ==, QS_OK);
  g_assert_cmpuint (l.count, ==, 3 * 3 * 16 * 32);
  g_assert_cmpuint (l.outer, ==, 3 * 3 * 16);
  g_assert_cmpuint (l.channels, ==, 32);
  g_assert_cmpuint (l.inner, ==, 1);

  g_assert_cmpint (qs_channel_layout_for_axis (shape, 4, 0, &l), ==, QS_OK);
  g_assert_cmpuint (l.outer, ==, 1);
  g_assert_cmpuint (l.channels, ==, 3);
  g_assert_cmpuint (l.inner, ==, 3 * 16 * 32);

  g_assert_cmpint (qs_channel_layout_for_axis (shape, 4, 2, &l), ==, QS_OK);
  g_assert_cmpuint (l.outer, ==, 9);
  g_assert_cmpuint (l.channels, ==, 16);
  g_assert_cmpuint (l.inner, ==, 32);

  g_assert_cmpint (qs_channel_layout_for_axis (shape, 4, 4, &l), ==, QS_STATUS_INVALID_ARGUMENT);
  g_assert_cmpint (qs_channel_layout_for_axis (shape, 4, -5, &l), ==, QS_STATUS_INVALID_ARGUMENT);
  g_assert_cmpint (qs_channel_layout_for_axis (overflow, 2, 0, &l), ==, QS_STATUS_INVALID_ARGUMENT);

  /* A scalar is one element, one channel. */
  g_assert_cmpint (qs_channel_layout_for_axis (NULL, 0, -1, &l), ==, QS_OK);
  g_assert_cmpuint (l.count, ==, 1);
  g_assert_cmpuint (l.channels, ==, 1);
}

/* Equality reads only what the scheme's kind uses, compares doubles as
 * values, and padding never counts. */
static void
test_equal_and_hash (void)
{
  QsScheme a, b;
  unsigned char garbage[sizeof (QsScheme)];

  /* Same values written over different padding bytes. */
  memset (garbage, 0xa5, sizeof garbage);
  memcpy (&b, garbage, sizeof b);
  qs_scheme_init_per_tensor (&a);
  b.format = a.format;
  b.bits = a.bits;
  b.mapping = a.mapping;
  b.is_unsigned = a.is_unsigned;
  b.narrow = a.narrow;
  b.granularity = a.granularity;
  b.axis = a.axis;
  b.range_method = a.range_method;
  b.percentile = a.percentile;
  b.manual_lo = a.manual_lo;
  b.manual_hi = a.manual_hi;
  b.rounding = a.rounding;
  b.nudge_zero = a.nudge_zero;
  b.bins = a.bins;
  b.has_hist_range = a.has_hist_range;
  b.hist_lo = 7.0;               /* unused without has_hist_range */
  b.hist_hi = NAN;
  b.group_size = a.group_size;
  g_assert_true (qs_scheme_equal (&a, &b));
  g_assert_cmpuint (qs_scheme_hash (&a), ==, qs_scheme_hash (&b));

  /* A different bit width is a different integer scheme. */
  b = a;
  b.bits = 4;
  g_assert_false (qs_scheme_equal (&a, &b));

  /* The percentile matters only to the percentile method. */
  b = a;
  b.percentile = 99.0;
  g_assert_true (qs_scheme_equal (&a, &b));
  a.range_method = b.range_method = QS_RANGE_PERCENTILE;
  g_assert_false (qs_scheme_equal (&a, &b));

  /* Manual ranges: -0.0 equals 0.0, NaN equals NaN, hashes agree. */
  a.range_method = b.range_method = QS_RANGE_MANUAL;
  a.manual_lo = -0.0;
  b.manual_lo = 0.0;
  a.manual_hi = b.manual_hi = NAN;
  g_assert_true (qs_scheme_equal (&a, &b));
  g_assert_cmpuint (qs_scheme_hash (&a), ==, qs_scheme_hash (&b));
  b.manual_hi = 1.0;
  g_assert_false (qs_scheme_equal (&a, &b));

  /* fp16 ignores the integer fields. */
  qs_scheme_init_per_tensor (&a);
  a.format = QS_FORMAT_FP16;
  b = a;
  b.bits = 3;
  b.mapping = QS_MAPPING_SYMMETRIC;
  b.nudge_zero = false;
  b.rounding = QS_ROUNDING_HALF_AWAY;
  g_assert_true (qs_scheme_equal (&a, &b));
  g_assert_cmpuint (qs_scheme_hash (&a), ==, qs_scheme_hash (&b));
  b.format = QS_FORMAT_BF16;
  g_assert_false (qs_scheme_equal (&a, &b));

  /* A block format's size: 0 means its own 32, so the two are one scheme. */
  qs_scheme_init_per_tensor (&a);
  a.format = QS_FORMAT_MXFP4;
  b = a;
  b.group_size = 32;
  g_assert_true (qs_scheme_equal (&a, &b));
  g_assert_cmpuint (qs_scheme_hash (&a), ==, qs_scheme_hash (&b));
  b.group_size = 64;
  g_assert_false (qs_scheme_equal (&a, &b));

  /* The axis counts per channel, not per tensor. */
  qs_scheme_init_per_tensor (&a);
  b = a;
  b.axis = 1;
  g_assert_true (qs_scheme_equal (&a, &b));
  a.granularity = b.granularity = QS_GRANULARITY_CHANNEL;
  g_assert_false (qs_scheme_equal (&a, &b));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/scheme/defaults", test_defaults);
  g_test_add_func ("/scheme/default-narrow", test_default_narrow);
  g_test_add_func ("/scheme/code-ranges", test_code_ranges);
  g_test_add_func ("/scheme/validation", test_validation);
  g_test_add_func ("/scheme/range-parse", test_range_parse);
  g_test_add_func ("/scheme/names-round-trip", test_names_round_trip);
  g_test_add_func ("/scheme/channel-layout", test_channel_layout);
  g_test_add_func ("/scheme/equal-and-hash", test_equal_and_hash);
  return g_test_run ();
}
