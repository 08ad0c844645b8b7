/* test-float-format.c: float16, bfloat16 and FP8 conversions against exhaustive, golden and hand-derived cases.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "quant/qs-float-format.h"

typedef uint32_t (*EncodeFunc) (float value);
typedef float    (*DecodeFunc) (uint32_t code);

/* The library takes narrow integer types; these adapters let one table-driven
 * test cover all four formats. */
static uint32_t
enc_fp16 (float v)
{
  return qs_float_to_fp16 (v);
}

static uint32_t
enc_bf16 (float v)
{
  return qs_float_to_bf16 (v);
}

static uint32_t
enc_e4m3 (float v)
{
  return qs_float_to_fp8_e4m3 (v);
}

static uint32_t
enc_e5m2 (float v)
{
  return qs_float_to_fp8_e5m2 (v);
}

static float
dec_fp16 (uint32_t c)
{
  return qs_fp16_to_float ((uint16_t) c);
}

static float
dec_bf16 (uint32_t c)
{
  return qs_bf16_to_float ((uint16_t) c);
}

static float
dec_e4m3 (uint32_t c)
{
  return qs_fp8_e4m3_to_float ((uint8_t) c);
}

static float
dec_e5m2 (uint32_t c)
{
  return qs_fp8_e5m2_to_float ((uint8_t) c);
}

typedef struct
{
  const char *name;
  unsigned    exp_bits;
  unsigned    man_bits;
  int         bias;
  gboolean    ieee_specials;  /* all-ones exponent is Inf/NaN (E4M3: only S.1111.111 is NaN) */
  uint32_t    max_code;       /* largest finite magnitude */
  uint32_t    nan_code;       /* the NaN the encoder produces, sign excluded */
  float       max_value;
  EncodeFunc  encode;
  DecodeFunc  decode;
} Format;

static const Format formats[] = {
  { "fp16", 5, 10, 15,  TRUE,  0x7bff, 0x7e00, QS_FP16_MAX,     enc_fp16, dec_fp16 },
  { "bf16", 8, 7,  127, TRUE,  0x7f7f, 0x7fc0, QS_BF16_MAX,     enc_bf16, dec_bf16 },
  { "e4m3", 4, 3,  7,   FALSE, 0x7e,   0x7f,   QS_FP8_E4M3_MAX, enc_e4m3, dec_e4m3 },
  { "e5m2", 5, 2,  15,  TRUE,  0x7b,   0x7e,   QS_FP8_E5M2_MAX, enc_e5m2, dec_e5m2 },
};

static uint32_t
f32_bits (float value)
{
  uint32_t bits;

  memcpy (&bits, &value, sizeof bits);
  return bits;
}

static float
f32_from_bits (uint32_t bits)
{
  float value;

  memcpy (&value, &bits, sizeof value);
  return value;
}

/* Textbook decoding in double with ldexp: slow, obviously right, and shares
 * no code with the bit tricks under test. */
static double
naive_decode (const Format *fmt,
              uint32_t      code,
              gboolean     *is_nan,
              gboolean     *is_inf)
{
  uint32_t sign = code >> (fmt->exp_bits + fmt->man_bits);
  uint32_t exponent = (code >> fmt->man_bits) & ((1u << fmt->exp_bits) - 1);
  uint32_t mantissa = code & ((1u << fmt->man_bits) - 1);
  uint32_t exp_ones = (1u << fmt->exp_bits) - 1;
  double magnitude;

  *is_nan = FALSE;
  *is_inf = FALSE;
  if (fmt->ieee_specials && exponent == exp_ones)
    {
      *is_nan = mantissa != 0;
      *is_inf = mantissa == 0;
      magnitude = INFINITY;
    }
  else if (!fmt->ieee_specials && exponent == exp_ones && mantissa == (1u << fmt->man_bits) - 1)
    {
      *is_nan = TRUE;
      magnitude = NAN;
    }
  else if (exponent == 0)
    magnitude = ldexp ((double) mantissa, 1 - fmt->bias - (int) fmt->man_bits);
  else
    magnitude = ldexp ((double) (mantissa | (1u << fmt->man_bits)),
                       (int) exponent - fmt->bias - (int) fmt->man_bits);

  return sign ? -magnitude : magnitude;
}

/* (1) Every code decodes exactly, and every finite code encodes back to
 * itself, -0 included. Infinity codes saturate to the largest finite code;
 * NaN codes come back as the canonical NaN with their sign. */
static void
test_round_trip (gconstpointer data)
{
  const Format *fmt = data;
  uint32_t n_codes = 1u << (1 + fmt->exp_bits + fmt->man_bits);
  uint32_t sign_bit = n_codes >> 1;

  for (uint32_t code = 0; code < n_codes; code++)
    {
      gboolean is_nan, is_inf;
      double expected = naive_decode (fmt, code, &is_nan, &is_inf);
      float value = fmt->decode (code);
      uint32_t back = fmt->encode (value);

      if (is_nan)
        {
          g_assert_true (isnan (value));
          g_assert_cmpuint (back, ==, (code & sign_bit) | fmt->nan_code);
          continue;
        }

      g_assert_cmpfloat ((double) value, ==, expected);
      g_assert_cmpint (signbit (value) != 0, ==, (code & sign_bit) != 0);
      if (is_inf)
        g_assert_cmpuint (back, ==, (code & sign_bit) | fmt->max_code);
      else
        g_assert_cmpuint (back, ==, code);
    }

  g_assert_cmpfloat (fmt->decode (fmt->max_code), ==, fmt->max_value);
}

/* Every finite code, sorted by magnitude; codes and magnitudes rise together,
 * so the index is the code. */
static double *
positive_values (const Format *fmt)
{
  double *values = g_new (double, fmt->max_code + 1);

  for (uint32_t code = 0; code <= fmt->max_code; code++)
    {
      gboolean is_nan, is_inf;

      values[code] = naive_decode (fmt, code, &is_nan, &is_inf);
    }
  return values;
}

/* Brute-force RNE with saturation: nearest of the two neighbours, ties to the
 * even code. The differences are exact in double whenever they are close
 * enough to compare equal. */
static uint32_t
naive_encode (const Format *fmt,
              const double *values,
              float         x)
{
  uint32_t sign = signbit (x) ? 1u << (fmt->exp_bits + fmt->man_bits) : 0;
  double mag = fabs ((double) x);
  uint32_t lo = 0, hi = fmt->max_code;

  if (isnan (x))
    return sign | fmt->nan_code;
  if (mag >= values[fmt->max_code])
    return sign | fmt->max_code;

  while (hi - lo > 1)
    {
      uint32_t mid = lo + (hi - lo) / 2;

      if (values[mid] <= mag)
        lo = mid;
      else
        hi = mid;
    }

  if (mag - values[lo] < values[hi] - mag)
    return sign | lo;
  if (mag - values[lo] > values[hi] - mag)
    return sign | hi;
  return sign | ((lo & 1) ? hi : lo);
}

/* Random float32 patterns concentrated on the format's range, including
 * float32 subnormals and values far past max. */
static void
test_random_vs_naive (gconstpointer data)
{
  const Format *fmt = data;
  g_autofree double *values = positive_values (fmt);
  GRand *rand = g_rand_new_with_seed (0x5eed);
  int min_exp = 127 - fmt->bias - (int) fmt->man_bits - 3;
  int max_exp = MIN (254, 127 + fmt->bias + 3);

  for (int i = 0; i < 400000; i++)
    {
      uint32_t exponent = (uint32_t) g_rand_int_range (rand, MAX (0, min_exp), max_exp + 1);
      uint32_t bits = (g_rand_int (rand) & 0x807fffffu) | (exponent << 23);
      float x = f32_from_bits (bits);

      g_assert_cmphex (fmt->encode (x), ==, naive_encode (fmt, values, x));
    }

  g_rand_free (rand);
}

/* (2) The golden file: numpy for fp16, torch for bf16, an exact-fraction
 * reference for FP8, all written by tests/reference/make_float_golden.py. */
static void
test_golden (void)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "data", "float-golden.txt", NULL);
  g_autofree char *contents = NULL;
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) lines = NULL;
  guint n_cases = 0;

  g_file_get_contents (path, &contents, NULL, &error);
  g_assert_no_error (error);

  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      unsigned f32, fp16, bf16, e4m3, e5m2;
      float x;

      if (lines[i][0] == '#' || lines[i][0] == '\0')
        continue;

      g_assert_cmpint (sscanf (lines[i], "%x %x %x %x %x", &f32, &fp16, &bf16, &e4m3, &e5m2), ==, 5);
      x = f32_from_bits (f32);

      if (qs_float_to_fp16 (x) != fp16 || qs_float_to_bf16 (x) != bf16
          || qs_float_to_fp8_e4m3 (x) != e4m3 || qs_float_to_fp8_e5m2 (x) != e5m2)
        g_test_message ("golden line %u: %s", i + 1, lines[i]);

      g_assert_cmphex (qs_float_to_fp16 (x), ==, fp16);
      g_assert_cmphex (qs_float_to_bf16 (x), ==, bf16);
      g_assert_cmphex (qs_float_to_fp8_e4m3 (x), ==, e4m3);
      g_assert_cmphex (qs_float_to_fp8_e5m2 (x), ==, e5m2);
      n_cases++;
    }

  /* Guards against a truncated or empty file passing silently. */
  g_assert_cmpuint (n_cases, >, 5000);
  g_test_message ("%u golden cases", n_cases);
}

/* (3) Hand-derived cases. */
static void
test_fp16_cases (void)
{
  /* 1.0: exponent 15 = bias, mantissa 0. */
  g_assert_cmphex (qs_float_to_fp16 (1.0f), ==, 0x3c00);
  g_assert_cmphex (qs_float_to_fp16 (-2.0f), ==, 0xc000);
  /* 65504 = (2 - 2^-10) * 2^15, the largest finite value. */
  g_assert_cmphex (qs_float_to_fp16 (65504.0f), ==, 0x7bff);
  /* 65519 is below the midpoint to 65536, so plain rounding keeps 65504. */
  g_assert_cmphex (qs_float_to_fp16 (65519.0f), ==, 0x7bff);
  /* 65520 is the midpoint between 65504 (odd mantissa) and 2^16: ties-to-even
   * picks 2^16, which is infinity; saturation brings it back to 65504. */
  g_assert_cmphex (qs_float_to_fp16 (65520.0f), ==, 0x7bff);
  g_assert_cmphex (qs_float_to_fp16 (-1e9f), ==, 0xfbff);
  /* 2^-14 is the smallest normal, 2^-24 the smallest subnormal. */
  g_assert_cmphex (qs_float_to_fp16 (0x1p-14f), ==, 0x0400);
  g_assert_cmphex (qs_float_to_fp16 (0x1p-24f), ==, 0x0001);
  /* 2^-25 is halfway between 0 and 2^-24: ties to even gives 0. Just above
   * the tie rounds up; 1.5 * 2^-24 ties between codes 1 and 2 and goes to 2. */
  g_assert_cmphex (qs_float_to_fp16 (0x1p-25f), ==, 0x0000);
  g_assert_cmphex (qs_float_to_fp16 (-0x1p-25f), ==, 0x8000);
  g_assert_cmphex (qs_float_to_fp16 (nextafterf (0x1p-25f, 1.0f)), ==, 0x0001);
  g_assert_cmphex (qs_float_to_fp16 (0x1.8p-24f), ==, 0x0002);
  /* The largest subnormal is 1023 * 2^-24; the midpoint to 2^-14 ties between
   * an odd and an even code, so the carry crosses into the normal range. */
  g_assert_cmphex (qs_float_to_fp16 (0x1.ff8p-15f), ==, 0x03ff);
  g_assert_cmphex (qs_float_to_fp16 (nextafterf (0x1.ffcp-15f, 0.0f)), ==, 0x03ff);
  g_assert_cmphex (qs_float_to_fp16 (0x1.ffcp-15f), ==, 0x0400);
  /* 1 + 2^-11 ties between 1 and 1 + 2^-10: even mantissa, stays 1.0;
   * 1 + 3 * 2^-11 ties between odd and even, goes up to the even 1 + 2^-9. */
  g_assert_cmphex (qs_float_to_fp16 (1.0f + 0x1p-11f), ==, 0x3c00);
  g_assert_cmphex (qs_float_to_fp16 (1.0f + 0x3p-11f), ==, 0x3c02);
  g_assert_cmpfloat (qs_fp16_to_float (0x0001), ==, 0x1p-24);
  g_assert_cmpfloat (qs_fp16_to_float (0x3555), ==, 0x1.554p-2);
}

static void
test_bf16_cases (void)
{
  /* bfloat16 is the upper half of float32 once rounded. */
  g_assert_cmphex (qs_float_to_bf16 (1.0f), ==, 0x3f80);
  g_assert_cmphex (qs_float_to_bf16 (-3.0f), ==, 0xc040);
  /* 1 + 2^-8 ties between 1 and 1 + 2^-7: even, stays 1; 1 + 3 * 2^-8 goes up. */
  g_assert_cmphex (qs_float_to_bf16 (1.0f + 0x1p-8f), ==, 0x3f80);
  g_assert_cmphex (qs_float_to_bf16 (1.0f + 0x3p-8f), ==, 0x3f82);
  g_assert_cmphex (qs_float_to_bf16 (QS_BF16_MAX), ==, 0x7f7f);
  /* FLT_MAX rounds past the largest bfloat16 to 2^128: saturates. */
  g_assert_cmphex (qs_float_to_bf16 (3.4028235e38f), ==, 0x7f7f);
  /* Float32 subnormals are bfloat16 subnormals: 2^-133 is the smallest, and
   * 2^-134 is the tie to zero. */
  g_assert_cmphex (qs_float_to_bf16 (0x1p-133f), ==, 0x0001);
  g_assert_cmphex (qs_float_to_bf16 (0x1p-134f), ==, 0x0000);
  g_assert_cmphex (qs_float_to_bf16 (0x1.8p-133f), ==, 0x0002);
  g_assert_cmpfloat (qs_bf16_to_float (0x0001), ==, 0x1p-133);
}

static void
test_e4m3_cases (void)
{
  /* 1.0: exponent 7 = bias. */
  g_assert_cmphex (qs_float_to_fp8_e4m3 (1.0f), ==, 0x38);
  /* 448 = 1.75 * 2^8 is S.1111.110, the largest finite: OCP E4M3 keeps the
   * all-ones exponent for normals and only S.1111.111 is NaN. */
  g_assert_cmphex (qs_float_to_fp8_e4m3 (448.0f), ==, 0x7e);
  g_assert_cmpfloat (qs_fp8_e4m3_to_float (0x7e), ==, 448.0);
  g_assert_cmpfloat (qs_fp8_e4m3_to_float (0x78), ==, 256.0);
  /* 464 is the midpoint between 448 and the 480 that the NaN code would have
   * been; 448's mantissa 110 is even, so the tie stays at 448 anyway. Just
   * above it, rounding would reach 480, which does not exist: saturate. */
  g_assert_cmphex (qs_float_to_fp8_e4m3 (464.0f), ==, 0x7e);
  g_assert_cmphex (qs_float_to_fp8_e4m3 (nextafterf (464.0f, 1000.0f)), ==, 0x7e);
  g_assert_cmphex (qs_float_to_fp8_e4m3 (1e6f), ==, 0x7e);
  g_assert_cmphex (qs_float_to_fp8_e4m3 (-500.0f), ==, 0xfe);
  /* 2^-6 is the smallest normal; below it the step is 2^-9, so
   * 2^-10 = 0.0009765625 is the tie between 0 and the smallest subnormal and
   * goes to 0, while 3 * 2^-10 ties between codes 1 and 2 and goes to 2. */
  g_assert_cmphex (qs_float_to_fp8_e4m3 (0x1p-6f), ==, 0x08);
  g_assert_cmphex (qs_float_to_fp8_e4m3 (0x1p-9f), ==, 0x01);
  g_assert_cmphex (qs_float_to_fp8_e4m3 (0.0009765625f), ==, 0x00);
  g_assert_cmphex (qs_float_to_fp8_e4m3 (-0.0009765625f), ==, 0x80);
  g_assert_cmphex (qs_float_to_fp8_e4m3 (nextafterf (0x1p-10f, 1.0f)), ==, 0x01);
  g_assert_cmphex (qs_float_to_fp8_e4m3 (0x3p-10f), ==, 0x02);
  /* 7 * 2^-9 is the largest subnormal; 7.5 * 2^-9 ties with 2^-6 (even). */
  g_assert_cmphex (qs_float_to_fp8_e4m3 (0x7p-9f), ==, 0x07);
  g_assert_cmphex (qs_float_to_fp8_e4m3 (0xfp-10f), ==, 0x08);
  /* 1.0625 ties between 1.0 (even) and 1.125; 1.1875 ties between 1.125 and
   * 1.25 (even). */
  g_assert_cmphex (qs_float_to_fp8_e4m3 (1.0625f), ==, 0x38);
  g_assert_cmphex (qs_float_to_fp8_e4m3 (1.1875f), ==, 0x3a);
}

static void
test_e5m2_cases (void)
{
  g_assert_cmphex (qs_float_to_fp8_e5m2 (1.0f), ==, 0x3c);
  /* 57344 = 1.75 * 2^15 is the largest finite; 0x7c is infinity. */
  g_assert_cmphex (qs_float_to_fp8_e5m2 (57344.0f), ==, 0x7b);
  /* 59392 ties between 57344 (odd mantissa 11) and 2^16 (infinity): saturate. */
  g_assert_cmphex (qs_float_to_fp8_e5m2 (59392.0f), ==, 0x7b);
  g_assert_cmphex (qs_float_to_fp8_e5m2 (-1e30f), ==, 0xfb);
  /* Smallest subnormal 2^-16; 2^-17 is the tie to zero. */
  g_assert_cmphex (qs_float_to_fp8_e5m2 (0x1p-16f), ==, 0x01);
  g_assert_cmphex (qs_float_to_fp8_e5m2 (0x1p-17f), ==, 0x00);
  g_assert_cmphex (qs_float_to_fp8_e5m2 (0x1.000002p-17f), ==, 0x01);
  g_assert_cmphex (qs_float_to_fp8_e5m2 (0x1p-14f), ==, 0x04);
  g_assert_cmpfloat (qs_fp8_e5m2_to_float (0x7b), ==, 57344.0);
  g_assert_cmpfloat (qs_fp8_e5m2_to_float (0x03), ==, 0x3p-16);
  g_assert_cmpfloat (qs_fp8_e5m2_to_float (0x7c), ==, INFINITY);
  g_assert_cmpfloat (qs_fp8_e5m2_to_float (0xfc), ==, -INFINITY);
}

/* Non-finite inputs: NaN keeps its sign, infinities saturate (documented in
 * qs-float-format.c), float32 subnormals underflow to signed zero. */
static void
test_special_inputs (void)
{
  float neg_nan = -NAN;

  g_assert_cmphex (qs_float_to_fp16 (NAN), ==, 0x7e00);
  g_assert_cmphex (qs_float_to_fp16 (neg_nan), ==, 0xfe00);
  g_assert_cmphex (qs_float_to_bf16 (NAN), ==, 0x7fc0);
  g_assert_cmphex (qs_float_to_bf16 (neg_nan), ==, 0xffc0);
  g_assert_cmphex (qs_float_to_fp8_e4m3 (NAN), ==, 0x7f);
  g_assert_cmphex (qs_float_to_fp8_e4m3 (neg_nan), ==, 0xff);
  g_assert_cmphex (qs_float_to_fp8_e5m2 (NAN), ==, 0x7e);
  g_assert_cmphex (qs_float_to_fp8_e5m2 (neg_nan), ==, 0xfe);
  /* A NaN whose payload sits only in the low float32 bits must not be
   * truncated into an infinity or a finite value. */
  g_assert_cmphex (qs_float_to_fp16 (f32_from_bits (0x7f800001)), ==, 0x7e00);
  g_assert_cmphex (qs_float_to_bf16 (f32_from_bits (0xff800001)), ==, 0xffc0);
  g_assert_cmphex (qs_float_to_fp8_e4m3 (f32_from_bits (0x7f800001)), ==, 0x7f);

  g_assert_cmphex (qs_float_to_fp16 (INFINITY), ==, 0x7bff);
  g_assert_cmphex (qs_float_to_fp16 (-INFINITY), ==, 0xfbff);
  g_assert_cmphex (qs_float_to_bf16 (INFINITY), ==, 0x7f7f);
  g_assert_cmphex (qs_float_to_bf16 (-INFINITY), ==, 0xff7f);
  g_assert_cmphex (qs_float_to_fp8_e4m3 (INFINITY), ==, 0x7e);
  g_assert_cmphex (qs_float_to_fp8_e4m3 (-INFINITY), ==, 0xfe);
  g_assert_cmphex (qs_float_to_fp8_e5m2 (INFINITY), ==, 0x7b);
  g_assert_cmphex (qs_float_to_fp8_e5m2 (-INFINITY), ==, 0xfb);

  g_assert_cmphex (qs_float_to_fp16 (f32_from_bits (0x007fffff)), ==, 0x0000);
  g_assert_cmphex (qs_float_to_fp16 (f32_from_bits (0x80000001)), ==, 0x8000);
  g_assert_cmphex (qs_float_to_fp8_e4m3 (f32_from_bits (0x807fffff)), ==, 0x80);
  g_assert_cmphex (qs_float_to_fp8_e5m2 (f32_from_bits (0x00400000)), ==, 0x00);
  g_assert_cmphex (qs_float_to_bf16 (f32_from_bits (0x807fffff)), ==, 0x8080);
  g_assert_cmphex (f32_bits (qs_fp8_e4m3_to_float (0x80)), ==, 0x80000000);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (formats); i++)
    {
      g_autofree char *round_trip = g_strdup_printf ("/float-format/%s/round-trip", formats[i].name);
      g_autofree char *random = g_strdup_printf ("/float-format/%s/random-vs-naive", formats[i].name);

      g_test_add_data_func (round_trip, &formats[i], test_round_trip);
      g_test_add_data_func (random, &formats[i], test_random_vs_naive);
    }

  g_test_add_func ("/float-format/golden", test_golden);
  g_test_add_func ("/float-format/fp16/cases", test_fp16_cases);
  g_test_add_func ("/float-format/bf16/cases", test_bf16_cases);
  g_test_add_func ("/float-format/e4m3/cases", test_e4m3_cases);
  g_test_add_func ("/float-format/e5m2/cases", test_e5m2_cases);
  g_test_add_func ("/float-format/special-inputs", test_special_inputs);

  return g_test_run ();
}
