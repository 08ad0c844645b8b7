/* test-params.c: scales, zero points and codes derived by hand.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib.h>
#include <math.h>

#include "quant/qs-params.h"

static void
params_for (const QsScheme *s,
            float           lo,
            float           hi,
            QsQuantParams  *p)
{
  g_assert_cmpint (qs_quant_params_init (p, 1), ==, QS_OK);
  qs_quant_params_set_channel (p, s, 0, lo, hi);
}

static void
test_asymmetric_int8 (void)
{
  /* [-1, 127/128] on [-128, 127]: scale = (255/128) / 255 = 2^-7 exactly;
   * Z = -128 - round(-1 / 2^-7) = -128 + 128 = 0. */
  const float x[] = { -1.0f, 0.0f, 0.5f, 1.0f, -0.3f, 0.50390625f, 0.49609375f };
  int32_t codes[7];
  QsScheme s;
  QsQuantParams p;

  qs_scheme_init_per_tensor (&s);
  params_for (&s, -1.0f, 0.9921875f, &p);
  g_assert_cmpfloat (p.scale[0], ==, 0.0078125f);
  g_assert_cmpfloat (p.inv_scale[0], ==, 128.0f);
  g_assert_cmpfloat (p.zero_point[0], ==, 0.0f);
  g_assert_cmpint (p.qmin, ==, -128);
  g_assert_cmpint (p.qmax, ==, 127);

  qs_quantize_channel (&p, 0, x, 7, codes);
  /* 1.0 * 128 = 128, clamped to 127; -0.3 * 128 = -38.4 -> -38;
   * 64.5 and 63.5 are ties: half to even gives 64 both times. */
  g_assert_cmpint (codes[0], ==, -128);
  g_assert_cmpint (codes[1], ==, 0);
  g_assert_cmpint (codes[2], ==, 64);
  g_assert_cmpint (codes[3], ==, 127);
  g_assert_cmpint (codes[4], ==, -38);
  g_assert_cmpint (codes[5], ==, 64);
  g_assert_cmpint (codes[6], ==, 64);
  g_assert_cmpfloat (qs_dequantize_code (&p, 0, 64), ==, 0.5f);
  qs_quant_params_clear (&p);

  /* [-1, 1]: scale = 2/255 in float32, and -1 / scale = -127.49999 rounds to
   * -127, so PyTorch's zero point is -1, not 0 (see torch-golden.json). */
  params_for (&s, -1.0f, 1.0f, &p);
  g_assert_cmpfloat (p.scale[0], ==, 2.0f / 255.0f);
  g_assert_cmpfloat (p.zero_point[0], ==, -1.0f);
  qs_quant_params_clear (&p);
}

static void
test_range_widened_to_zero (void)
{
  /* All positive: min_neg = 0, so Z = qmin and 0.0 is the lowest code. */
  QsScheme s;
  QsQuantParams p;
  float zero = 0.0f;
  int32_t code;

  qs_scheme_init_per_tensor (&s);
  params_for (&s, 2.0f, 4.0f, &p);
  g_assert_cmpfloat (p.scale[0], ==, 4.0f / 255.0f);
  g_assert_cmpfloat (p.zero_point[0], ==, -128.0f);
  qs_quantize_channel (&p, 0, &zero, 1, &code);
  g_assert_cmpint (code, ==, -128);
  g_assert_cmpfloat (qs_dequantize_code (&p, 0, code), ==, 0.0f);
  /* The chosen range is recorded as given, before widening. */
  g_assert_cmpfloat (p.range_lo[0], ==, 2.0f);
  g_assert_cmpfloat (p.range_hi[0], ==, 4.0f);
  qs_quant_params_clear (&p);
}

static void
test_symmetric (void)
{
  QsScheme s;
  QsQuantParams p;

  /* PyTorch: scale = amax / ((qmax - qmin) / 2) = 2 / 127.5, Z = 0 (signed). */
  qs_scheme_init_per_tensor (&s);
  s.mapping = QS_MAPPING_SYMMETRIC;
  params_for (&s, -0.5f, 2.0f, &p);
  g_assert_cmpfloat (p.scale[0], ==, 2.0f / 127.5f);
  g_assert_cmpfloat (p.zero_point[0], ==, 0.0f);
  qs_quant_params_clear (&p);

  /* Narrow (TFLite weights): amax / 127. */
  s.narrow = true;
  params_for (&s, -0.5f, 2.0f, &p);
  g_assert_cmpfloat (p.scale[0], ==, 2.0f / 127.0f);
  g_assert_cmpint (p.qmin, ==, -127);
  qs_quant_params_clear (&p);

  /* Unsigned symmetric: Z in the middle, 128 for 8 bits (quint8). */
  s.narrow = false;
  s.is_unsigned = true;
  params_for (&s, -1.0f, 1.0f, &p);
  g_assert_cmpfloat (p.zero_point[0], ==, 128.0f);
  qs_quant_params_clear (&p);

  /* 4-bit signed symmetric: [-8, 7], scale = amax / 7.5. */
  s.is_unsigned = false;
  s.bits = 4;
  params_for (&s, -3.0f, 1.5f, &p);
  g_assert_cmpfloat (p.scale[0], ==, 3.0f / 7.5f);
  g_assert_cmpint (p.qmin, ==, -8);
  g_assert_cmpint (p.qmax, ==, 7);
  qs_quant_params_clear (&p);
}

static void
test_no_zero_nudge (void)
{
  /* Symmetric amax = 255/128 onto the even number of codes [-128, 127]
   * without nudging: scale = amax / 127.5 = 1/64, Zf = -128 + 127.5 = -0.5,
   * so 0.0 lands between two codes. quant(0) = round(0 - 0.5) = -0 -> code
   * 0, and it comes back as (0 + 0.5) * scale = 1/128. */
  const float zero = 0.0f;
  int32_t code;
  QsScheme s;
  QsQuantParams p;

  qs_scheme_init_per_tensor (&s);
  s.mapping = QS_MAPPING_SYMMETRIC;
  s.nudge_zero = false;
  params_for (&s, -1.9921875f, 1.9921875f, &p);
  g_assert_cmpfloat (p.scale[0], ==, 0.015625f);
  g_assert_cmpfloat (p.zero_point[0], ==, -0.5f);
  qs_quantize_channel (&p, 0, &zero, 1, &code);
  g_assert_cmpint (code, ==, 0);
  g_assert_cmpfloat (qs_dequantize_code (&p, 0, code), ==, 0.0078125f);
  qs_quant_params_clear (&p);

  /* Asymmetric [-0.3, 1]: scale = 1.3 / 255, Zf = -128 + 0.3 / scale, not an integer. */
  s.mapping = QS_MAPPING_ASYMMETRIC;
  params_for (&s, -0.3f, 1.0f, &p);
  g_assert_cmpfloat (p.zero_point[0], ==, -128.0f - (-0.3f / (1.3f / 255.0f)));
  g_assert_cmpfloat (p.zero_point[0], !=, roundf (p.zero_point[0]));
  qs_quantize_channel (&p, 0, &zero, 1, &code);
  g_assert_cmpfloat (qs_dequantize_code (&p, 0, code), !=, 0.0f);
  qs_quant_params_clear (&p);

  /* The nudged zero point of the same range is an integer and exact. */
  s.nudge_zero = true;
  params_for (&s, -0.3f, 1.0f, &p);
  g_assert_cmpfloat (p.zero_point[0], ==, roundf (p.zero_point[0]));
  qs_quantize_channel (&p, 0, &zero, 1, &code);
  g_assert_cmpfloat (qs_dequantize_code (&p, 0, code), ==, 0.0f);
  qs_quant_params_clear (&p);
}

static void
test_rounding_ties (void)
{
  /* scale 1, Z 0: codes are the rounded values themselves. */
  const float x[] = { 0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 2.4999998f, 126.5f };
  const int32_t even[] = { 0, 2, 2, 0, -2, -2, 2, 126 };
  const int32_t away[] = { 1, 2, 3, -1, -2, -3, 2, 127 };
  int32_t codes[8];
  QsScheme s;
  QsQuantParams p;

  qs_scheme_init_per_tensor (&s);
  params_for (&s, -128.0f, 127.0f, &p);
  g_assert_cmpfloat (p.scale[0], ==, 1.0f);
  g_assert_cmpfloat (p.zero_point[0], ==, 0.0f);

  qs_quantize_channel (&p, 0, x, 8, codes);
  for (int i = 0; i < 8; i++)
    g_assert_cmpint (codes[i], ==, even[i]);

  p.rounding = QS_ROUNDING_HALF_AWAY;
  qs_quantize_channel (&p, 0, x, 8, codes);
  for (int i = 0; i < 8; i++)
    g_assert_cmpint (codes[i], ==, away[i]);
  qs_quant_params_clear (&p);
}

static void
test_nonfinite_codes (void)
{
  const float x[] = { NAN, INFINITY, -INFINITY, 1e30f, -1e30f };
  int32_t codes[5];
  QsScheme s;
  QsQuantParams p;

  qs_scheme_init_per_tensor (&s);
  params_for (&s, -0.2f, 1.0f, &p);
  qs_quantize_channel (&p, 0, x, 5, codes);
  g_assert_cmpint (codes[0], ==, (int32_t) p.zero_point[0]);
  g_assert_cmpint (codes[1], ==, 127);
  g_assert_cmpint (codes[2], ==, -128);
  g_assert_cmpint (codes[3], ==, 127);
  g_assert_cmpint (codes[4], ==, -128);
  qs_quant_params_clear (&p);
}

static void
test_scale_eps_clamp (void)
{
  /* A range below 255 * 2^-23 (about 3e-5) gives a scale under 2^-23;
   * PyTorch clamps it, and values under half a step (6e-8) all round to
   * the zero point. */
  const float x[] = { 1e-8f, -2e-8f, 3e-8f };
  int32_t codes[3];
  QsScheme s;
  QsQuantParams p;

  qs_scheme_init_per_tensor (&s);
  params_for (&s, -2e-8f, 3e-8f, &p);
  g_assert_cmpfloat (p.scale[0], ==, QS_SCALE_EPS);
  g_assert_cmpuint (p.clamped_channels, ==, 1);
  qs_quantize_channel (&p, 0, x, 3, codes);
  for (int i = 0; i < 3; i++)
    g_assert_cmpint (codes[i], ==, (int32_t) p.zero_point[0]);
  qs_quant_params_clear (&p);
}

static void
test_per_channel_quantize (void)
{
  /* Shape (2, 3), axis 1: channel c holds x[0][c] and x[1][c]. */
  const int64_t shape[] = { 2, 3 };
  const float x[] = { 1.0f, 10.0f, 100.0f, -1.0f, -10.0f, -100.0f };
  const float lo[] = { -1.0f, -10.0f, -100.0f };
  const float hi[] = { 1.0f, 10.0f, 100.0f };
  int32_t codes[6];
  QsChannelLayout layout;
  QsScheme s;
  QsQuantParams p;

  qs_scheme_init_per_tensor (&s);
  s.mapping = QS_MAPPING_SYMMETRIC;
  s.narrow = true;
  g_assert_cmpint (qs_channel_layout_for_axis (shape, 2, 1, &layout), ==, QS_OK);
  g_assert_cmpint (qs_quant_params_init (&p, 3), ==, QS_OK);
  qs_quant_params_set_from_ranges (&p, &s, lo, hi);
  qs_quantize (&p, &layout, x, codes);
  /* Each channel's own amax lands on +-127. */
  for (int i = 0; i < 3; i++)
    {
      g_assert_cmpint (codes[i], ==, 127);
      g_assert_cmpint (codes[3 + i], ==, -127);
    }
  g_assert_cmpfloat (p.scale[1], ==, 10.0f / 127.0f);
  qs_quant_params_clear (&p);
}

static void
test_float_format_params (void)
{
  QsScheme s;
  QsQuantParams p;

  qs_scheme_init_per_tensor (&s);
  s.format = QS_FORMAT_FP8_E4M3;
  params_for (&s, -0.5f, 0.25f, &p);
  g_assert_cmpfloat (p.scale[0], ==, 0.5f / 448.0f);
  g_assert_cmpfloat (p.zero_point[0], ==, 0.0f);
  qs_quant_params_clear (&p);

  s.format = QS_FORMAT_BF16;
  params_for (&s, -0.5f, 0.25f, &p);
  g_assert_cmpfloat (p.scale[0], ==, 1.0f);
  qs_quant_params_clear (&p);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/params/asymmetric-int8", test_asymmetric_int8);
  g_test_add_func ("/params/range-widened-to-zero", test_range_widened_to_zero);
  g_test_add_func ("/params/symmetric", test_symmetric);
  g_test_add_func ("/params/no-zero-nudge", test_no_zero_nudge);
  g_test_add_func ("/params/rounding-ties", test_rounding_ties);
  g_test_add_func ("/params/nonfinite-codes", test_nonfinite_codes);
  g_test_add_func ("/params/scale-eps-clamp", test_scale_eps_clamp);
  g_test_add_func ("/params/per-channel-quantize", test_per_channel_quantize);
  g_test_add_func ("/params/float-format-params", test_float_format_params);
  return g_test_run ();
}
