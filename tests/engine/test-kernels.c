/* test-kernels.c: every optimized kernel against the scalar reference, bit for bit.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Fixed-seed random shapes and codes, partial tiles (odd channel counts,
 * rows not a multiple of the micro-kernel), extreme codes (255 activations
 * with -128 / 127 weights, where vpmaddubsw would saturate; up to 65,536
 * taps), and the rounding rules of the requantization against values
 * worked by hand.
 */
#include <math.h>
#include <string.h>

#include <glib.h>

#include "engine/kernels/qs-kernels.h"
#include "quant/qs-block.h"
#include "quant/qs-float-format.h"
#include "quant/qs-params.h"

typedef enum {
  FILL_RANDOM,
  FILL_MAX,      /* activations 255, weights 127 */
  FILL_MIN,      /* activations 255, weights -128 */
  FILL_MIXED,    /* activations 0 or 255, weights -128 or 127 */
} Fill;

static GRand *rng;

static const QsKernels *
optimized (QsIsa isa)
{
  if (!qs_kernels_isa_supported (isa))
    return NULL;
  return qs_kernels_get (isa);
}

static uint8_t
act_code (Fill fill)
{
  switch (fill)
    {
    case FILL_MAX:
    case FILL_MIN:
      return 255;
    case FILL_MIXED:
      return g_rand_boolean (rng) ? 255 : 0;
    case FILL_RANDOM:
    default:
      return (uint8_t) g_rand_int_range (rng, 0, 256);
    }
}

/* A weight code in [lo, hi] as @fill asks for. */
static int32_t
weight_code_in (Fill    fill,
                int32_t lo,
                int32_t hi)
{
  switch (fill)
    {
    case FILL_MAX:
      return hi;
    case FILL_MIN:
      return lo;
    case FILL_MIXED:
      return g_rand_boolean (rng) ? hi : lo;
    case FILL_RANDOM:
    default:
      return g_rand_int_range (rng, lo, hi + 1);
    }
}

static int8_t
weight_code (Fill fill)
{
  return (int8_t) weight_code_in (fill, -128, 127);
}

/* ---- rounding rules ------------------------------------------------------------- */

static int32_t
srdhm_reference (int32_t a,
                 int32_t b)
{
  /* Round half up (toward +infinity) of a * b / 2^31, computed exactly:
   * floor ((p + 2^30) / 2^31), an arithmetic shift of the 128-bit sum. */
  __int128 p = (__int128) a * b;
  __int128 q = (p + ((__int128) 1 << 30)) >> 31;

  if (q > INT32_MAX)
    return INT32_MAX;
  return (int32_t) q;
}

static void
test_rounding_rules (void)
{
  /* RoundingDivideByPOT: ties away from zero. */
  g_assert_cmpint (qs_rounding_divide_by_pot (5, 1), ==, 3);
  g_assert_cmpint (qs_rounding_divide_by_pot (-5, 1), ==, -3);
  g_assert_cmpint (qs_rounding_divide_by_pot (3, 1), ==, 2);
  g_assert_cmpint (qs_rounding_divide_by_pot (-3, 1), ==, -2);
  g_assert_cmpint (qs_rounding_divide_by_pot (6, 2), ==, 2);    /* 1.5 -> 2 */
  g_assert_cmpint (qs_rounding_divide_by_pot (-6, 2), ==, -2);
  g_assert_cmpint (qs_rounding_divide_by_pot (5, 2), ==, 1);    /* 1.25 -> 1 */
  g_assert_cmpint (qs_rounding_divide_by_pot (7, 0), ==, 7);
  g_assert_cmpint (qs_rounding_divide_by_pot (INT32_MIN, 31), ==, -1);
  g_assert_cmpint (qs_rounding_divide_by_pot (INT32_MAX, 31), ==, 1);

  /* SaturatingRoundingDoublingHighMul. */
  g_assert_cmpint (qs_srdhm (INT32_MIN, INT32_MIN), ==, INT32_MAX);
  g_assert_cmpint (qs_srdhm (1 << 30, 1 << 30), ==, 1 << 29);
  g_assert_cmpint (qs_srdhm (1, 1 << 30), ==, 1);               /* 0.5 -> 1 */
  g_assert_cmpint (qs_srdhm (-1, 1 << 30), ==, 0);              /* -0.5 -> 0: ties toward +inf */
  g_assert_cmpint (qs_srdhm (-3, 1 << 30), ==, -1);             /* -1.5 -> -1 */
  g_assert_cmpint (qs_srdhm (3, 1 << 29), ==, 1);               /* 0.75 -> 1 */
  for (int i = 0; i < 100000; i++)
    {
      int32_t a = (int32_t) g_rand_int (rng);
      int32_t b = (int32_t) g_rand_int_range (rng, 0, G_MAXINT32);

      if (i % 7 == 0)
        a = i % 2 ? INT32_MIN : INT32_MAX;
      g_assert_cmpint (qs_srdhm (a, b), ==, srdhm_reference (a, b));
    }

  /* QuantizeMultiplier. */
  {
    int32_t m, r, l;

    qs_quantize_multiplier (0.5, &m, &r, &l);
    g_assert_cmpint (m, ==, 1 << 30);
    g_assert_cmpint (r, ==, 0);
    g_assert_cmpint (l, ==, 0);
    qs_quantize_multiplier (0.25, &m, &r, &l);
    g_assert_cmpint (m, ==, 1 << 30);
    g_assert_cmpint (r, ==, 1);
    qs_quantize_multiplier (1.5, &m, &r, &l);
    g_assert_cmpint (m, ==, 3 << 29);
    g_assert_cmpint (l, ==, 1);
    g_assert_cmpint (r, ==, 0);
    /* Rounds up to 2^31: renormalised to 2^30 with one more exponent. */
    qs_quantize_multiplier (0.99999999999, &m, &r, &l);
    g_assert_cmpint (m, ==, 1 << 30);
    g_assert_cmpint (l, ==, 1);
    qs_quantize_multiplier (1e-12, &m, &r, &l);
    g_assert_cmpint (m, ==, 0);
    qs_quantize_multiplier (0.0, &m, &r, &l);
    g_assert_cmpint (m, ==, 0);
  }
}

/* The full requantization of one value against a worked example: acc 1000,
 * bias 24, scale 0.0123 -> 1024 * 0.0123 = 12.5952 -> 13, + zp 3 = 16. */
static void
test_requantize_example (void)
{
  int32_t bias = 24, m, r, l, zero = 0;
  QsRequantParams p = { 0 };

  qs_quantize_multiplier (0.0123, &m, &r, &l);
  p.bias = &bias;
  p.multiplier = &m;
  p.right_shift = &r;
  p.output_zp = 3;
  p.act_min = 0;
  p.act_max = 255;
  g_assert_cmpuint (qs_requantize_one (1000, 0, 0, &p), ==, 16);
  g_assert_cmpuint (qs_requantize_one (-1000, 0, 0, &p), ==, 0);      /* clamped */
  p.act_min = 3;                                                     /* ReLU floor at the zero point */
  g_assert_cmpuint (qs_requantize_one (-1000, 0, 0, &p), ==, 3);
  /* Weight zero point: 1000 - 2 * 50 = 900 (+ 24) -> 11.3652 -> 11 + 3. */
  {
    int32_t wzp = 2;

    p.weight_zp = &wzp;
    g_assert_cmpuint (qs_requantize_one (1000, 50, 0, &p), ==, 14);
    p.weight_zp = &zero;
  }
}

/* ---- requantization kernels -------------------------------------------------------- */

/* Random parameters for @n channels into the caller's arrays: scales from
 * @min_scale to 0.9, some zero multipliers, weight zero points on odd
 * @trial, clamps narrowed on some. */
static void
random_requant_params (size_t           n,
                       int              trial,
                       double           min_scale,
                       int32_t         *bias,
                       int32_t         *wzp,
                       int32_t         *mult,
                       int32_t         *rshift,
                       int32_t         *lshift,
                       QsRequantParams *p)
{
  for (size_t c = 0; c < n; c++)
    {
      double real = exp (g_rand_double_range (rng, log (min_scale), log (0.9)));

      bias[c] = g_rand_int_range (rng, -100000, 100000);
      wzp[c] = g_rand_int_range (rng, -128, 128);
      qs_quantize_multiplier (real, &mult[c], &rshift[c], &lshift[c]);
      if (c % 11 == 5)
        mult[c] = 0;
    }
  memset (p, 0, sizeof *p);
  p->bias = bias;
  p->weight_zp = trial % 2 ? wzp : NULL;
  p->multiplier = mult;
  p->right_shift = rshift;
  p->output_zp = g_rand_int_range (rng, 0, 256);
  p->act_min = trial % 4 == 1 ? p->output_zp : 0;
  p->act_max = trial % 5 == 2 ? MIN (255, p->output_zp + 40) : 255;
}

static void
test_requantize_kernels (void)
{
  const QsKernels *ref = qs_kernels_get (QS_ISA_SCALAR);

  for (QsIsa isa = QS_ISA_AVX2; isa <= QS_ISA_AVX512VNNI; isa++)
    {
      const QsKernels *k = optimized (isa);

      if (k == NULL)
        continue;
      for (int trial = 0; trial < 300; trial++)
        {
          size_t rows = (size_t) g_rand_int_range (rng, 1, 9);
          size_t n = (size_t) g_rand_int_range (rng, 1, 70);
          g_autofree int32_t *acc = g_new (int32_t, rows * n);
          g_autofree int32_t *rowsum = g_new (int32_t, rows);
          g_autofree int32_t *bias = g_new (int32_t, n);
          g_autofree int32_t *wzp = g_new (int32_t, n);
          g_autofree int32_t *mult = g_new (int32_t, n);
          g_autofree int32_t *rshift = g_new (int32_t, n);
          g_autofree int32_t *lshift = g_new (int32_t, n);
          g_autofree uint8_t *out_ref = g_new0 (uint8_t, rows * n);
          g_autofree uint8_t *out_opt = g_new0 (uint8_t, rows * n);
          QsRequantParams p = { 0 };
          gboolean big = trial % 3 == 0;

          for (size_t i = 0; i < rows * n; i++)
            acc[i] = big ? (int32_t) g_rand_int (rng) : g_rand_int_range (rng, -200000, 200000);
          for (size_t r = 0; r < rows; r++)
            rowsum[r] = g_rand_int_range (rng, 0, 255 * 300);
          random_requant_params (n, trial, 1e-7, bias, wzp, mult, rshift, lshift, &p);

          ref->requant (rows, n, acc, n, rowsum, &p, out_ref, n);
          k->requant (rows, n, acc, n, rowsum, &p, out_opt, n);
          g_assert_cmpmem (out_ref, rows * n, out_opt, rows * n);
        }
    }
}

/* The corners of the rules: right shifts 0, 1, 30 and 31, multipliers at
 * both ends of [2^30, 2^31) and 0, sums at the ends of int32 and at the
 * rounding boundaries (-2^30: where the high multiply's nudge changes
 * sign), and output zero points up to 255 (a shift of 0 can leave y within
 * 255 of INT32_MAX, where adding the zero point must not wrap). */
static void
test_requantize_extremes (void)
{
  static const int32_t accs[] = { INT32_MIN, INT32_MIN + 1, -(1 << 30) - 1, -(1 << 30), -(1 << 30) + 1,
                                  -3, -2, -1, 0, 1, 2, 3, (1 << 30) - 1, 1 << 30, INT32_MAX - 1, INT32_MAX };
  static const int32_t mults[] = { 0, 1 << 30, (1 << 30) + 1, 1518500250, INT32_MAX - 1, INT32_MAX };
  static const int32_t shifts[] = { 0, 1, 2, 7, 30, 31 };
  const QsKernels *ref = qs_kernels_get (QS_ISA_SCALAR);
  enum { N = G_N_ELEMENTS (mults) * G_N_ELEMENTS (shifts), ROWS = G_N_ELEMENTS (accs) };
  int32_t bias[N], mult[N], rshift[N], acc[ROWS * N];
  uint8_t out_ref[ROWS * N], out_opt[ROWS * N];
  static const int32_t zps[] = { 0, 1, 128, 254, 255 };

  for (size_t c = 0; c < N; c++)
    {
      mult[c] = mults[c % G_N_ELEMENTS (mults)];
      rshift[c] = shifts[c / G_N_ELEMENTS (mults)];
      bias[c] = 0;
    }
  for (size_t r = 0; r < ROWS; r++)
    for (size_t c = 0; c < N; c++)
      acc[r * N + c] = accs[r];
  for (QsIsa isa = QS_ISA_AVX2; isa <= QS_ISA_AVX512VNNI; isa++)
    {
      const QsKernels *k = optimized (isa);

      if (k == NULL)
        continue;
      for (gsize z = 0; z < G_N_ELEMENTS (zps); z++)
        for (int clamp = 0; clamp < 2; clamp++)
          {
            QsRequantParams p = {
              .bias = bias, .multiplier = mult, .right_shift = rshift,
              .output_zp = zps[z],
              .act_min = clamp ? zps[z] : 0,
              .act_max = clamp ? MIN (255, zps[z] + 6) : 255,
            };

            ref->requant (ROWS, N, acc, N, NULL, &p, out_ref, N);
            k->requant (ROWS, N, acc, N, NULL, &p, out_opt, N);
            g_assert_cmpmem (out_opt, sizeof out_opt, out_ref, sizeof out_ref);
          }
    }
  /* Worked by hand: y = SRDHM (INT32_MAX, INT32_MAX) = 2^31 - 2 with no
   * shift; plus the zero point 255 it is far above act_max. */
  {
    int32_t b = 0, m = INT32_MAX, s = 0;
    QsRequantParams p = { .bias = &b, .multiplier = &m, .right_shift = &s,
                          .output_zp = 255, .act_min = 0, .act_max = 255 };

    g_assert_cmpint (qs_srdhm (INT32_MAX, INT32_MAX), ==, INT32_MAX - 1);
    g_assert_cmpuint (qs_requantize_one (INT32_MAX, 0, 0, &p), ==, 255);
  }
}

/* floor (a / b) for b > 0. */
static __int128
floor_div (__int128 a,
           __int128 b)
{
  __int128 q = a / b;

  return q * b > a ? q - 1 : q;
}

/* The smallest sum x at which the reference's code steps from j to j + 1
 * with multiplier @m and right shift @s: SRDHM rounds x * m / 2^31 half up
 * to q, RoundingDivideByPOT q / 2^s half away from zero, so the step is at
 * x * m >= (2j + 1) 2^(30+s) - 2^30 for j >= 0 and + 2^30 below zero
 * (for s = 0 at (2j + 1) 2^30). Derived by hand from the rules. */
static __int128
code_step (int64_t j,
           int32_t m,
           int     s)
{
  __int128 t = (__int128) (2 * j + 1) * ((__int128) 1 << (30 + s));

  if (s > 0)
    t += j >= 0 ? -((__int128) 1 << 30) : ((__int128) 1 << 30);
  return -floor_div (-t, m);
}

/* The sums around where codes step, through each ISA's requantizer and
 * GEMM with codes out. The GEMM's row r sums r * 1 (one tap of weight 1,
 * the others zero) and channel c's bias puts its step at row 128, so the
 * 256 rows cover the step and 127 sums either side: the sums the vector
 * kernels' float path cannot vouch for, and must hand to the exact one,
 * lie there. Shifts 0 to 31, multipliers at both ends of [2^30, 2^31).
 * A third of the trials floor the codes at the zero point (a ReLU) and a
 * sixth above it, where the AVX-512 float path leaves out its sign term
 * (negative sums must still reach act_min); the rest floor at 0 below
 * the zero point, where it must not. */
/* Each optimized ISA's requantizer on @sums, and its GEMM that stores
 * codes on @a (@k taps, rows padded) times @w where it has one, give the
 * codes @ref; how many ISAs this CPU ran. */
static guint
assert_isas_requantize_as (size_t                 rows,
                           size_t                 n,
                           size_t                 k,
                           const int32_t         *sums,
                           const uint8_t         *a,
                           const int8_t          *w,
                           const QsRequantParams *p,
                           const uint8_t         *ref)
{
  size_t kp = qs_gemm_padded_k (k);
  g_autofree uint8_t *out = g_malloc (rows * n);
  guint checked = 0;

  for (QsIsa isa = QS_ISA_AVX2; isa <= QS_ISA_AMX_INT8; isa++)
    {
      const QsKernels *kr = optimized (isa);

      if (kr == NULL)
        continue;
      memset (out, 0xA5, rows * n);
      kr->requant (rows, n, sums, n, NULL, p, out, n);
      g_assert_cmpmem (out, rows * n, ref, rows * n);
      if (kr->gemm_requant != NULL)
        {
          g_autofree void *packed = g_malloc (kr->gemm_packed_size (n, kp) + QS_KERNEL_SLACK);

          kr->gemm_pack (n, k, kp, w, packed);
          memset (out, 0xA5, rows * n);
          kr->gemm_requant (rows, n, kp, a, kp, packed, NULL, p, out, n);
          g_assert_cmpmem (out, rows * n, ref, rows * n);
        }
      checked++;
    }
  return checked;
}

static void
test_requantize_steps (void)
{
  enum { ROWS = 256, N = 40, K = 4 };
  size_t kp = qs_gemm_padded_k (K);
  g_autofree uint8_t *a = g_new0 (uint8_t, ROWS * kp + QS_KERNEL_SLACK);
  g_autofree int8_t *w = g_new0 (int8_t, N * K);
  g_autofree int32_t *sums = g_new (int32_t, ROWS * N);
  int32_t bias[N], mult[N], rshift[N];
  uint8_t out_ref[ROWS * N];
  guint checked = 0;

  for (size_t r = 0; r < ROWS; r++)
    a[r * kp] = (uint8_t) r;
  for (size_t c = 0; c < N; c++)
    w[c * K] = 1;
  for (size_t r = 0; r < ROWS; r++)
    for (size_t c = 0; c < N; c++)
      sums[r * N + c] = (int32_t) r;
  for (int trial = 0; trial < 200; trial++)
    {
      int32_t zp = g_rand_int_range (rng, 0, 256);
      gboolean relu = trial % 3 == 1, above = trial % 6 == 2;
      QsRequantParams p = {
        .bias = bias, .multiplier = mult, .right_shift = rshift, .output_zp = zp,
        .act_min = relu ? zp : (above ? MIN (255, zp + g_rand_int_range (rng, 1, 20)) : 0),
        .act_max = relu ? MIN (255, zp + 100) : 255,
      };

      for (size_t c = 0; c < N; c++)
        {
          int s = (trial + (int) c) % 32;
          /* Steps of the codes near the clamp matter; far ones need a sum
           * that int32 holds (y * 2^s * M / 2^31 < 2^31). */
          int64_t reach = s <= 21 ? 300 : (s <= 29 ? 2 : 0);
          int64_t j = g_rand_int_range (rng, (gint32) -reach - 1, (gint32) reach + 1);
          __int128 x0;

          mult[c] = c % 4 == 0 ? 1 << 30 : (c % 4 == 1 ? INT32_MAX : g_rand_int_range (rng, 1 << 30, INT32_MAX));
          rshift[c] = s;
          x0 = code_step (j, mult[c], s) - ROWS / 2;
          if (x0 < INT32_MIN || x0 > (__int128) INT32_MAX - ROWS)
            x0 = -(ROWS / 2);
          bias[c] = (int32_t) x0;
        }
      qs_requantize_u8_scalar (ROWS, N, sums, N, NULL, &p, out_ref, N);
      /* The reference steps where code_step says (a check of the test). */
      for (size_t c = 0; c < N; c++)
        if (bias[c] != -(ROWS / 2) && out_ref[(ROWS / 2) * N + c] == out_ref[(ROWS / 2 - 1) * N + c])
          g_assert_true (out_ref[(ROWS / 2) * N + c] == p.act_min || out_ref[(ROWS / 2) * N + c] == p.act_max);
      checked += assert_isas_requantize_as (ROWS, N, K, sums, a, w, &p, out_ref);
    }
  g_test_message ("%u step sets checked", checked);
}

/* Sums where the AVX-512 float path's z lands one unit (2^-14) below an
 * integer while the exact code is that integer, found by
 * tests/reference/find_requant_near_misses.py (zero point 0: the path
 * without the sign term; above 0: with it). Each is the middle of five
 * rows x - 2 .. x + 2; the codes must match the scalar rules, which needs
 * the near-step test to guard below an integer, not only above it. */
static void
test_requantize_near_misses (void)
{
  static const struct { int32_t shift, multiplier, zp, x; } cases[] = {
    { 14, 2047216946, 0, 3686491 },  { 14, 1575242933, 0, 1016280 },
    { 14, 1177244822, 0, 5842917 },  { 14, 1666008336, 0, 1129864 },
    { 14, 1358449592, 97, 3716705 }, { 14, 1670261789, 16, 4244634 },
    { 14, 1310223274, 160, 792184 }, { 14, 1371868723, 64, 3372585 },
  };
  enum { ROWS = 5, N = 20, K = 4 };
  size_t kp = qs_gemm_padded_k (K);
  uint8_t a[ROWS * 4 + QS_KERNEL_SLACK] = { 0 };
  int8_t w[N * K] = { 0 };
  int32_t sums[ROWS * N], bias[N], mult[N], rshift[N];
  uint8_t out_ref[ROWS * N];

  for (size_t r = 0; r < ROWS; r++)
    a[r * kp] = (uint8_t) r;
  for (size_t c = 0; c < N; c++)
    w[c * K] = 1;
  for (size_t r = 0; r < ROWS; r++)
    for (size_t c = 0; c < N; c++)
      sums[r * N + c] = (int32_t) r;
  for (size_t t = 0; t < G_N_ELEMENTS (cases); t++)
    {
      QsRequantParams p = {
        .bias = bias, .multiplier = mult, .right_shift = rshift,
        .output_zp = cases[t].zp, .act_min = 0, .act_max = 255,
      };

      for (size_t c = 0; c < N; c++)
        {
          bias[c] = cases[t].x - ROWS / 2;
          mult[c] = cases[t].multiplier;
          rshift[c] = cases[t].shift;
        }
      qs_requantize_u8_scalar (ROWS, N, sums, N, NULL, &p, out_ref, N);
      /* The middle row is where the codes step (a check of the case). */
      g_assert_cmpuint (out_ref[(ROWS / 2) * N], ==, out_ref[(ROWS / 2 - 1) * N] + 1);
      assert_isas_requantize_as (ROWS, N, K, sums, a, w, &p, out_ref);
    }
}

/* ---- int8 GEMM ------------------------------------------------------------------------ */

/* The GEMM that stores codes against the scalar requantizer on the
 * reference sums @cref, with and without weight zero points; each row's
 * code slots are framed by sentinels it must not touch. */
static void
check_gemm_requant (const QsKernels *k,
                    size_t           m,
                    size_t           n,
                    size_t           kk,
                    const uint8_t   *a,
                    size_t           lda,
                    const void      *packed,
                    const int32_t   *cref)
{
  size_t kp = qs_gemm_padded_k (kk), ldout = n + 3;
  g_autofree int32_t *rowsum = g_new (int32_t, m);
  g_autofree int32_t *bias = g_new (int32_t, n);
  g_autofree int32_t *wzp = g_new (int32_t, n);
  g_autofree int32_t *mult = g_new (int32_t, n);
  g_autofree int32_t *rshift = g_new (int32_t, n);
  g_autofree int32_t *lshift = g_new (int32_t, n);
  g_autofree uint8_t *out_ref = g_new (uint8_t, m * ldout);
  g_autofree uint8_t *out_opt = g_new (uint8_t, m * ldout);

  qs_row_sums_u8 (m, kk, a, lda, rowsum);
  for (int trial = 0; trial < 2; trial++)
    {
      QsRequantParams p;

      /* Sums of up to 1000 products reach 1.6e7: scales from 1e-6 keep
       * most codes inside [0, 255]. */
      random_requant_params (n, trial, 1e-6, bias, wzp, mult, rshift, lshift, &p);
      memset (out_ref, 0xA5, m * ldout);
      memset (out_opt, 0xA5, m * ldout);
      qs_requantize_u8_scalar (m, n, cref, n, rowsum, &p, out_ref, ldout);
      k->gemm_requant (m, n, kp, a, lda, packed, rowsum, &p, out_opt, ldout);
      g_assert_cmpmem (out_opt, m * ldout, out_ref, m * ldout);
    }
}

static void
check_gemm (const QsKernels *k,
            size_t           m,
            size_t           n,
            size_t           kk,
            size_t           lda_extra,
            Fill             fill)
{
  const QsKernels *ref = qs_kernels_get (QS_ISA_SCALAR);
  size_t kp = qs_gemm_padded_k (kk), lda = kp + lda_extra;
  g_autofree uint8_t *a = g_new0 (uint8_t, m * lda + QS_KERNEL_SLACK);
  g_autofree int8_t *w = g_new (int8_t, n * kk);
  g_autofree void *pref = g_malloc (ref->gemm_packed_size (n, kp) + QS_KERNEL_SLACK);
  g_autofree void *popt = g_malloc (k->gemm_packed_size (n, kp) + QS_KERNEL_SLACK);
  g_autofree int32_t *cref = g_new0 (int32_t, m * n);
  g_autofree int32_t *copt = g_new0 (int32_t, m * n);
  g_autofree int32_t *naive = g_new0 (int32_t, m * n);

  for (size_t i = 0; i < m; i++)
    for (size_t q = 0; q < lda; q++)
      /* Beyond K the bytes are garbage on purpose: zero weights must hide them. */
      a[i * lda + q] = q < kk ? act_code (fill) : (uint8_t) g_rand_int_range (rng, 0, 256);
  for (size_t i = 0; i < n * kk; i++)
    w[i] = weight_code (fill);

  ref->gemm_pack (n, kk, kp, w, pref);
  k->gemm_pack (n, kk, kp, w, popt);
  ref->gemm (m, n, kp, a, lda, pref, cref, n);
  k->gemm (m, n, kp, a, lda, popt, copt, n);
  for (size_t i = 0; i < m; i++)
    for (size_t j = 0; j < n; j++)
      {
        int64_t s = 0;

        for (size_t q = 0; q < kk; q++)
          s += (int64_t) a[i * lda + q] * w[j * kk + q];
        /* Exact, not only the same wrap as the kernels'. */
        g_assert_cmpint (s, >=, INT32_MIN);
        g_assert_cmpint (s, <=, INT32_MAX);
        naive[i * n + j] = (int32_t) s;
      }
  g_assert_cmpmem (cref, m * n * sizeof (int32_t), naive, m * n * sizeof (int32_t));
  g_assert_cmpmem (copt, m * n * sizeof (int32_t), cref, m * n * sizeof (int32_t));
  if (k->gemm_requant != NULL)
    check_gemm_requant (k, m, n, kk, a, lda, popt, cref);
}

static void
test_gemm (void)
{
  static const size_t ms[] = { 1, 3, 4, 7, 8, 9, 17, 96 };
  static const size_t ns[] = { 1, 3, 8, 10, 15, 16, 17, 31, 32, 33, 64, 100 };
  static const size_t ks[] = { 1, 3, 9, 16, 27, 32, 100, 288, 1000 };
  static const char *const names[] = { "scalar", "AVX2", "AVX-512 VNNI", "AMX-INT8" };
  guint checked = 0;

  for (QsIsa isa = QS_ISA_AVX2; isa <= QS_ISA_AMX_INT8; isa++)
    {
      const QsKernels *k = optimized (isa);

      if (k == NULL)
        {
          g_test_message ("%s not supported by this CPU (or not granted by the OS): skipped", names[isa]);
          continue;
        }
      for (gsize mi = 0; mi < G_N_ELEMENTS (ms); mi++)
        for (gsize ni = 0; ni < G_N_ELEMENTS (ns); ni++)
          for (gsize ki = 0; ki < G_N_ELEMENTS (ks); ki++)
            {
              Fill fill = (Fill) ((mi + ni + ki) % 4);

              check_gemm (k, ms[mi], ns[ni], ks[ki], (mi + ki) % 3 == 0 ? 5 : 0, fill);
              checked++;
            }
      /* The worst case of every fill at the largest depth. */
      for (int f = 0; f < 4; f++)
        check_gemm (k, 13, 37, 4096, 0, (Fill) f);
    }
  g_test_message ("%u GEMM shapes checked", checked);
}

/* ---- 9..16-bit weights ---------------------------------------------------------------------- */

static void
check_gemm16 (const QsKernels *k,
              size_t           m,
              size_t           n,
              size_t           kk,
              size_t           lda_extra,
              Fill             fill)
{
  const QsKernels *ref = qs_kernels_get (QS_ISA_SCALAR);
  size_t lda = kk + lda_extra;
  g_autofree uint8_t *a = g_new (uint8_t, m * lda);
  g_autofree int16_t *w = g_new (int16_t, n * kk);
  g_autofree int64_t *cref = g_new0 (int64_t, m * n);
  g_autofree int64_t *copt = g_new0 (int64_t, m * n);

  for (size_t i = 0; i < m * lda; i++)
    a[i] = act_code (fill);
  for (size_t i = 0; i < n * kk; i++)
    w[i] = (int16_t) weight_code_in (fill, -32768, 32767);
  ref->gemm16 (m, n, kk, a, lda, w, cref, n);
  k->gemm16 (m, n, kk, a, lda, w, copt, n);
  if (memcmp (cref, copt, m * n * sizeof (int64_t)) != 0)
    g_test_message ("%s gemm16 m=%zu n=%zu k=%zu fill=%d differs", k->name, m, n, kk, (int) fill);
  g_assert_cmpmem (cref, m * n * sizeof (int64_t), copt, m * n * sizeof (int64_t));
}

/* Beyond what int32 holds: 3136 terms of 255 x -32768 are -2.6e10, the
 * dense layer of the demo model at 16 bits. */
static void
test_gemm16 (void)
{
  static const size_t ms[] = { 1, 3, 8, 17 };
  static const size_t ns[] = { 1, 3, 4, 5, 8, 31, 64 };
  static const size_t ks[] = { 1, 15, 16, 17, 144, 1024, 1025, 3136 };

  for (QsIsa isa = QS_ISA_AVX2; isa <= QS_ISA_AVX512VNNI; isa++)
    {
      const QsKernels *k = optimized (isa);

      if (k == NULL)
        continue;
      for (gsize mi = 0; mi < G_N_ELEMENTS (ms); mi++)
        for (gsize ni = 0; ni < G_N_ELEMENTS (ns); ni++)
          for (gsize ki = 0; ki < G_N_ELEMENTS (ks); ki++)
            check_gemm16 (k, ms[mi], ns[ni], ks[ki], mi % 2 ? 7 : 0, (Fill) ((mi + ni + ki) % 4));
      for (int f = 0; f < 4; f++)
        check_gemm16 (k, 2, 6, 4096 + 9, 0, (Fill) f);
    }
}

/* Past 16,384 taps (a layer's 64-bit mode with int8 weights) every ISA's
 * int8 GEMM, the reference's too, still gives the exact sums (check_gemm
 * holds them to int64 ones), up to 65,536 taps of 255 x -128
 * (-2,139,095,040, just within int32). */
static void
test_gemm_long (void)
{
  static const size_t ks[] = { 16385, 25088, 65536 };

  for (QsIsa isa = QS_ISA_AVX2; isa <= QS_ISA_AMX_INT8; isa++)
    {
      const QsKernels *k = optimized (isa);

      if (k == NULL)
        continue;
      for (gsize ki = 0; ki < G_N_ELEMENTS (ks); ki++)
        for (int f = 0; f < 4; f++)
          /* AMX takes 16 rows or more (fewer go to VNNI). */
          check_gemm (k, isa == QS_ISA_AMX_INT8 ? 19 : 3, 17, ks[ki], 0, (Fill) f);
    }
}

/* AMX-INT8's tiles against the reference where they are cut: rows past
 * a multiple of 16 (the last tile's rows overlap the one before), k past
 * a multiple of 64 (the narrower tail tiles, reconfigured as the tail
 * changes from call to call: the shapes alternate), channels past a
 * multiple of 16 and 32 (one block or a pair, partly valid), k of 1 to 8
 * (one tail tile only), rows padded (lda > kp), and the codes out with
 * and without weight zero points. Skipped where the CPU lacks AMX or
 * Linux does not grant its tile state. */
static void
test_gemm_amx (void)
{
  static const size_t ms[] = { 15, 16, 17, 31, 32, 33, 50, 96, 130 };
  static const size_t ns[] = { 1, 5, 16, 17, 32, 33, 48, 64, 70 };
  static const size_t ks[] = { 1, 4, 8, 9, 56, 63, 64, 65, 72, 127, 128, 129, 200, 576, 1000 };
  const QsKernels *k = optimized (QS_ISA_AMX_INT8);
  guint checked = 0;

  if (k == NULL)
    {
      g_test_skip ("AMX-INT8 not supported by this CPU or not granted by the OS");
      return;
    }
  g_assert_cmpint (k->isa, ==, QS_ISA_AMX_INT8);
  for (gsize mi = 0; mi < G_N_ELEMENTS (ms); mi++)
    for (gsize ni = 0; ni < G_N_ELEMENTS (ns); ni++)
      for (gsize ki = 0; ki < G_N_ELEMENTS (ks); ki++)
        {
          Fill fill = (Fill) ((mi + 2 * ni + ki) % 4);

          check_gemm (k, ms[mi], ns[ni], ks[ki], (mi + ni + ki) % 3 == 1 ? 13 : 0, fill);
          checked++;
        }
  g_test_message ("%u AMX GEMM shapes checked", checked);
}

/* AMX-INT8 past 256 rows, where the kernel makes its passes over the
 * channels (16 row tiles each, with its own copy of the rows' k tail):
 * a last pass of one tile (257 rows, overlapping the pass before), of an
 * odd number (300: a 32-row block and a 16-row one), of one block pair
 * and more; k of one step (16, 56, 64: the 16-row blocks two in flight,
 * B tiles kept for a pass), with a tail (100, 200) and without (128);
 * channels of one partial block, an odd count and a partial pair. */
static void
test_gemm_amx_passes (void)
{
  static const size_t ms[] = { 257, 300, 528 };
  static const size_t ns[] = { 17, 33, 70 };
  static const size_t ks[] = { 16, 56, 64, 100, 128, 200 };
  const QsKernels *k = optimized (QS_ISA_AMX_INT8);
  guint checked = 0;

  if (k == NULL)
    {
      g_test_skip ("AMX-INT8 not supported by this CPU or not granted by the OS");
      return;
    }
  for (gsize mi = 0; mi < G_N_ELEMENTS (ms); mi++)
    for (gsize ni = 0; ni < G_N_ELEMENTS (ns); ni++)
      for (gsize ki = 0; ki < G_N_ELEMENTS (ks); ki++)
        {
          check_gemm (k, ms[mi], ns[ni], ks[ki], (mi + ki) % 2 == 1 ? 7 : 0, (Fill) ((mi + ni + ki) % 4));
          checked++;
        }
  g_test_message ("%u AMX GEMM shapes past 256 rows checked", checked);
}

/* ---- depthwise ---------------------------------------------------------------------------- */

static void
geometry (int  in,
          int  kernel,
          int  stride,
          bool same,
          int *out,
          int *pad)
{
  if (same)
    {
      int total;

      *out = (in + stride - 1) / stride;
      total = MAX ((*out - 1) * stride + kernel - in, 0);
      *pad = total / 2;
    }
  else
    {
      *out = (in - kernel) / stride + 1;
      *pad = 0;
    }
}

/* The codes of depthwise_requant: the reference's equal the reference
 * sums through the requantization pass, and @k's (on its packing @popt)
 * equal the reference's, whole image or in two bands of rows, with
 * nothing written past the image. Every other call takes left shifts
 * (the vector kernels hand those to the reference). */
static void
check_depthwise_requant (const QsKernels        *k,
                         const QsDepthwiseShape *s,
                         const uint8_t          *input,
                         const void             *pref,
                         const void             *popt)
{
  const QsKernels *ref = qs_kernels_get (QS_ISA_SCALAR);
  static int trial;
  size_t C = (size_t) s->channels, row = (size_t) s->out_w * C, size = (size_t) s->out_h * row;
  g_autofree int32_t *bias = g_new (int32_t, C);
  g_autofree int32_t *wzp = g_new (int32_t, C);
  g_autofree int32_t *mult = g_new (int32_t, C);
  g_autofree int32_t *rshift = g_new (int32_t, C);
  g_autofree int32_t *lshift = g_new (int32_t, C);
  g_autofree int32_t *sums = g_new (int32_t, row);
  g_autofree uint8_t *pass = g_new (uint8_t, size);
  g_autofree uint8_t *cref = g_new (uint8_t, size + QS_KERNEL_SLACK);
  g_autofree uint8_t *copt = g_new (uint8_t, size + QS_KERNEL_SLACK);
  QsRequantParams p;
  int split = s->out_h / 2;

  random_requant_params (C, trial, 1e-6, bias, wzp, mult, rshift, lshift, &p);
  if (trial++ % 2 == 1)
    {
      for (size_t c = 0; c < C; c++)
        lshift[c] = c % 3 == 1 ? 1 : 0;
      p.left_shift = lshift;
    }
  for (int oy = 0; oy < s->out_h; oy++)
    {
      ref->depthwise (s, input, pref, oy, sums);
      ref->requant (s->out_w, C, sums, C, NULL, &p, pass + (size_t) oy * row, C);
    }
  memset (cref, 0xA5, size + QS_KERNEL_SLACK);
  ref->depthwise_requant (s, input, pref, &p, 0, s->out_h, cref);
  g_assert_cmpmem (cref, size, pass, size);

  memset (copt, 0xA5, size + QS_KERNEL_SLACK);
  k->depthwise_requant (s, input, popt, &p, 0, s->out_h, copt);
  g_assert_cmpmem (copt, size + QS_KERNEL_SLACK, cref, size + QS_KERNEL_SLACK);
  memset (copt, 0xA5, size + QS_KERNEL_SLACK);
  k->depthwise_requant (s, input, popt, &p, split, s->out_h, copt);
  k->depthwise_requant (s, input, popt, &p, 0, split, copt);
  g_assert_cmpmem (copt, size + QS_KERNEL_SLACK, cref, size + QS_KERNEL_SLACK);
}

static void
check_depthwise (const QsKernels *k,
                 int              h,
                 int              w,
                 int              channels,
                 int              kh,
                 int              kw,
                 int              stride,
                 bool             same,
                 Fill             fill,
                 bool             int8_weights)
{
  const QsKernels *ref = qs_kernels_get (QS_ISA_SCALAR);
  QsDepthwiseShape s = { 0 };
  int wmin = int8_weights ? -128 : -255, wmax = int8_weights ? 127 : 255;
  size_t taps = (size_t) kh * kw;
  g_autofree uint8_t *input = g_new (uint8_t, (size_t) h * w * channels + QS_KERNEL_SLACK);
  g_autofree uint8_t *zero_row = g_new (uint8_t, channels + QS_KERNEL_SLACK);
  g_autofree int16_t *wt = g_new (int16_t, taps * channels);
  g_autofree void *pref = NULL;
  g_autofree void *popt = NULL;
  g_autofree int32_t *aref = NULL;
  g_autofree int32_t *aopt = NULL;

  s.in_h = h;
  s.in_w = w;
  s.channels = channels;
  s.kernel_h = kh;
  s.kernel_w = kw;
  s.stride_h = s.stride_w = stride;
  geometry (h, kh, stride, same, &s.out_h, &s.pad_top);
  geometry (w, kw, stride, same, &s.out_w, &s.pad_left);
  s.input_zp = fill == FILL_RANDOM ? g_rand_int_range (rng, 0, 256) : (g_rand_boolean (rng) ? 0 : 255);
  memset (zero_row, s.input_zp, channels + QS_KERNEL_SLACK);
  s.zero_row = zero_row;
  for (size_t i = 0; i < (size_t) h * w * channels; i++)
    input[i] = act_code (fill);
  for (size_t i = 0; i < taps * channels; i++)
    /* (code - zero point) spans [-255, 255] for asymmetric weights,
     * [-128, 127] for symmetric int8 ones (which some kernels take apart). */
    wt[i] = (int16_t) weight_code_in (fill, wmin, wmax);

  pref = g_malloc (ref->depthwise_packed_size (taps, channels) + QS_KERNEL_SLACK);
  popt = g_malloc (k->depthwise_packed_size (taps, channels) + QS_KERNEL_SLACK);
  ref->depthwise_pack (taps, channels, wt, pref);
  k->depthwise_pack (taps, channels, wt, popt);
  aref = g_new (int32_t, (size_t) s.out_w * channels);
  aopt = g_new (int32_t, (size_t) s.out_w * channels);
  for (int oy = 0; oy < s.out_h; oy++)
    {
      ref->depthwise (&s, input, pref, oy, aref);
      k->depthwise (&s, input, popt, oy, aopt);
      g_assert_cmpmem (aopt, (size_t) s.out_w * channels * sizeof (int32_t),
                       aref, (size_t) s.out_w * channels * sizeof (int32_t));
    }
  check_depthwise_requant (k, &s, input, pref, popt);
}

static void
check_depthwise_shapes (const QsKernels *k)
{
  static const int channels[] = { 1, 3, 7, 16, 17, 32, 33, 48, 64 };
  /* Odd tap counts leave a last tap without a partner; with 3 or 2
   * columns a pair of taps spans two window rows. */
  static const int kernels[][2] = { { 1, 1 }, { 3, 3 }, { 5, 5 }, { 2, 3 }, { 3, 1 }, { 7, 7 },
                                    { 3, 2 }, { 1, 5 } };

  for (gsize ci = 0; ci < G_N_ELEMENTS (channels); ci++)
    for (gsize ki = 0; ki < G_N_ELEMENTS (kernels); ki++)
      for (int stride = 1; stride <= 2; stride++)
        for (int same = 0; same <= 1; same++)
          for (int int8_weights = 0; int8_weights <= 1; int8_weights++)
            check_depthwise (k, 7 + (int) ci % 3, 6 + (int) ki % 4, channels[ci],
                             kernels[ki][0], kernels[ki][1], stride, same,
                             (Fill) ((ci + ki + (gsize) stride) % 4), int8_weights);
  /* The demo model's depthwise layer, every fill. */
  for (int f = 0; f < 4; f++)
    for (int int8_weights = 0; int8_weights <= 1; int8_weights++)
      check_depthwise (k, 14, 14, 32, 3, 3, 1, true, (Fill) f, int8_weights);
  /* Tiny images (windows wider than the image: no interior pixel), odd
   * heights (a last output row without a partner), and images whose rows
   * the codes kernels take in several bands. */
  for (int hw = 1; hw <= 5; hw++)
    for (int stride = 1; stride <= 2; stride++)
      {
        check_depthwise (k, hw, hw + 1, 19, 3, 3, stride, true, FILL_RANDOM, true);
        check_depthwise (k, hw + 1, hw, 40, 5, 5, stride, true, FILL_RANDOM, false);
        check_depthwise (k, hw + 2, hw + 3, 33, 3, 3, stride, false, FILL_MIXED, true);
      }
  for (int int8_weights = 0; int8_weights <= 1; int8_weights++)
    {
      check_depthwise (k, 41, 37, 96, 3, 3, 1, true, FILL_RANDOM, int8_weights);
      check_depthwise (k, 57, 56, 144, 3, 3, 1, true, FILL_RANDOM, int8_weights);
      check_depthwise (k, 42, 43, 144, 3, 3, 2, true, FILL_RANDOM, int8_weights);
      check_depthwise (k, 30, 29, 70, 3, 3, 2, false, FILL_RANDOM, int8_weights);
    }
}

static void
test_depthwise (void)
{
  for (QsIsa isa = QS_ISA_AVX2; isa <= QS_ISA_AVX512VNNI; isa++)
    {
      const QsKernels *k = optimized (isa);

      if (k == NULL)
        continue;
      check_depthwise_shapes (k);
      if (isa == QS_ISA_AVX512VNNI)
        {
          /* The interleave that CPUs without VBMI take, whatever this one has. */
          QsKernels no_vbmi = *k;

          no_vbmi.depthwise = qs_depthwise_u8s8_avx512vnni_no_vbmi;
          no_vbmi.depthwise_requant = qs_depthwise_requant_u8s8_avx512vnni_no_vbmi;
          check_depthwise_shapes (&no_vbmi);
        }
    }
}

/* ---- direct one-channel convolution: against im2col + the scalar GEMM ------------------- */

static void
check_conv_c1 (const QsKernels *k,
               int              h,
               int              w,
               size_t           n,
               int              kh,
               int              kw,
               int              stride,
               bool             same,
               Fill             fill)
{
  const QsKernels *ref = qs_kernels_get (QS_ISA_SCALAR);
  QsConvShape s = { 0 };
  size_t kk = (size_t) kh * kw, kp = qs_gemm_padded_k (kk);
  uint8_t pad = fill == FILL_RANDOM ? (uint8_t) g_rand_int_range (rng, 0, 256)
                                    : (g_rand_boolean (rng) ? 0 : 255);
  g_autofree uint8_t *image = g_new (uint8_t, (size_t) h * w + QS_KERNEL_SLACK);
  g_autofree int8_t *wt = g_new (int8_t, n * kk);
  g_autofree void *pref = g_malloc (ref->gemm_packed_size (n, kp) + QS_KERNEL_SLACK);
  g_autofree void *popt = NULL;
  g_autofree uint8_t *rows = NULL;
  g_autofree int32_t *cref = NULL;
  g_autofree int32_t *copt = NULL;

  s.in_h = h;
  s.in_w = w;
  s.in_c = 1;
  s.kernel_h = kh;
  s.kernel_w = kw;
  s.stride_h = s.stride_w = stride;
  geometry (h, kh, stride, same, &s.out_h, &s.pad_top);
  geometry (w, kw, stride, same, &s.out_w, &s.pad_left);
  g_assert_true (k->conv_c1_supported (&s));
  for (size_t i = 0; i < (size_t) h * w; i++)
    image[i] = act_code (fill);
  for (size_t i = 0; i < n * kk; i++)
    wt[i] = weight_code (fill);

  popt = g_malloc (k->conv_c1_packed_size (n, kh));
  ref->gemm_pack (n, kk, kp, wt, pref);
  k->conv_c1_pack (n, kh, kw, wt, popt);
  rows = g_new0 (uint8_t, (size_t) s.out_w * kp + QS_KERNEL_SLACK);
  cref = g_new (int32_t, (size_t) s.out_w * n);
  copt = g_new (int32_t, (size_t) s.out_w * n);
  for (int oy = 0; oy < s.out_h; oy++)
    {
      qs_im2col_u8 (&s, image, (size_t) oy * s.out_w, (size_t) s.out_w, pad, kp, rows);
      ref->gemm ((size_t) s.out_w, n, kp, rows, kp, pref, cref, n);
      k->conv_c1 (&s, image, pad, popt, n, oy, copt);
      g_assert_cmpmem (copt, (size_t) s.out_w * n * sizeof (int32_t),
                       cref, (size_t) s.out_w * n * sizeof (int32_t));
    }
}

static void
test_conv_c1 (void)
{
  static const size_t ns[] = { 1, 3, 16, 17, 32, 33 };
  static const int kernels[][2] = { { 3, 3 }, { 1, 1 }, { 5, 4 }, { 2, 3 }, { 3, 1 }, { 8, 2 } };
  guint checked = 0;

  for (QsIsa isa = QS_ISA_AVX2; isa <= QS_ISA_AVX512VNNI; isa++)
    {
      const QsKernels *k = optimized (isa);

      if (k == NULL || k->conv_c1 == NULL)
        continue;
      for (gsize ni = 0; ni < G_N_ELEMENTS (ns); ni++)
        for (gsize ki = 0; ki < G_N_ELEMENTS (kernels); ki++)
          for (int stride = 1; stride <= 2; stride++)
            for (int same = 0; same <= 1; same++)
              {
                check_conv_c1 (k, 8 + (int) ni % 3, 9 + (int) ki % 4, ns[ni],
                               kernels[ki][0], kernels[ki][1], stride, same,
                               (Fill) ((ni + ki + (gsize) stride + (gsize) same) % 4));
                checked++;
              }
      /* The demo model's first layer. */
      for (int f = 0; f < 4; f++)
        check_conv_c1 (k, 28, 28, 16, 3, 3, 1, true, (Fill) f);
    }
  g_test_message ("%u one-channel convolution shapes checked", checked);
}

/* ---- indirect GEMM: window rows in place, against im2col + the scalar GEMM ---------------- */

/* One tile of a convolution of a two-image batch: the scalar indirect
 * reference on qs_im2col_indirect_u8's pointers must give the codes of
 * qs_im2col_u8 + the scalar GEMM + the scalar requantizer, and the
 * optimized indirect kernel those of the reference, bit for bit. */
static void
check_gemm_indirect (const QsKernels *k,
                     int              h,
                     int              w,
                     int              c,
                     size_t           n,
                     int              kh,
                     int              kw,
                     int              stride,
                     bool             same,
                     int              trial,
                     Fill             fill)
{
  const QsKernels *ref = qs_kernels_get (QS_ISA_SCALAR);
  QsConvShape s = { 0 };
  size_t span = (size_t) kw * c, kk = span * kh, kp = qs_gemm_padded_k (kk);
  size_t image = (size_t) h * w * c, pixels, first, count, ldout = n + 5;
  uint8_t pad = fill == FILL_RANDOM ? (uint8_t) g_rand_int_range (rng, 0, 256)
                                    : (g_rand_boolean (rng) ? 0 : 255);
  g_autofree uint8_t *batch = g_new (uint8_t, 2 * image + QS_KERNEL_SLACK);
  g_autofree int8_t *wt = g_new (int8_t, n * kk);
  g_autofree void *pref = g_malloc (ref->gemm_packed_size (n, kp) + QS_KERNEL_SLACK);
  g_autofree void *popt = g_malloc (k->gemm_packed_size (n, kp) + QS_KERNEL_SLACK);
  g_autofree int32_t *bias = g_new (int32_t, n);
  g_autofree int32_t *wzp = g_new (int32_t, n);
  g_autofree int32_t *mult = g_new (int32_t, n);
  g_autofree int32_t *rshift = g_new (int32_t, n);
  g_autofree int32_t *lshift = g_new (int32_t, n);
  g_autofree uint8_t *rows = NULL;
  g_autofree uint8_t *patches = NULL;
  g_autofree const uint8_t **ptrs = NULL;
  g_autofree int32_t *acc = NULL;
  g_autofree uint8_t *out_ref = NULL;
  g_autofree uint8_t *out_ind = NULL;
  g_autofree uint8_t *out_opt = NULL;
  QsRequantParams p;
  size_t used;

  s.in_h = h;
  s.in_w = w;
  s.in_c = c;
  s.kernel_h = kh;
  s.kernel_w = kw;
  s.stride_h = s.stride_w = stride;
  geometry (h, kh, stride, same, &s.out_h, &s.pad_top);
  geometry (w, kw, stride, same, &s.out_w, &s.pad_left);
  pixels = (size_t) s.out_h * s.out_w;
  /* A tile that may start inside the first image and end in the second. */
  first = (size_t) g_rand_int_range (rng, 0, (gint32) pixels);
  count = (size_t) g_rand_int_range (rng, 1, (gint32) (2 * pixels - first) + 1);
  for (size_t i = 0; i < 2 * image; i++)
    batch[i] = act_code (fill);
  for (size_t i = 0; i < n * kk; i++)
    wt[i] = weight_code (fill);
  /* Sums of up to kk products of 255 * 128: scales down to 1e-6 keep
   * codes inside [0, 255] as often as not; no weight zero points. */
  random_requant_params (n, 2 * trial, 1e-6, bias, wzp, mult, rshift, lshift, &p);

  ref->gemm_pack (n, kk, kp, wt, pref);
  k->gemm_pack (n, kk, kp, wt, popt);
  rows = g_new0 (uint8_t, count * kp + QS_KERNEL_SLACK);
  acc = g_new (int32_t, count * n);
  out_ref = g_new (uint8_t, count * ldout);
  out_ind = g_new (uint8_t, count * ldout);
  out_opt = g_new (uint8_t, count * ldout);
  memset (out_ref, 0xA5, count * ldout);
  memset (out_ind, 0xA5, count * ldout);
  memset (out_opt, 0xA5, count * ldout);
  qs_im2col_u8 (&s, batch, first, count, pad, kp, rows);
  ref->gemm (count, n, kp, rows, kp, pref, acc, n);
  qs_requantize_u8_scalar (count, n, acc, n, NULL, &p, out_ref, ldout);

  patches = g_new (uint8_t, (count * kh + 1) * span + QS_KERNEL_SLACK);
  ptrs = g_new (const uint8_t *, count * kh);
  used = qs_im2col_indirect_u8 (&s, batch, first, count, pad, patches, ptrs);
  g_assert_cmpuint (used, <=, (count * kh + 1) * span);
  /* Each window row read in place or copied holds im2col's codes. */
  for (size_t r = 0; r < count; r++)
    for (size_t ky = 0; ky < (size_t) kh; ky++)
      g_assert_cmpmem (ptrs[r * kh + ky], span, rows + r * kp + ky * span, span);
  qs_gemm_requant_indirect_u8s8_scalar (count, n, kp, (size_t) kh, span, ptrs, pref, &p, out_ind, ldout);
  g_assert_cmpmem (out_ind, count * ldout, out_ref, count * ldout);
  k->gemm_requant_indirect (count, n, kp, (size_t) kh, span, ptrs, popt, &p, out_opt, ldout);
  g_assert_cmpmem (out_opt, count * ldout, out_ref, count * ldout);
}

static void
test_gemm_indirect (void)
{
  static const size_t ns[] = { 1, 16, 17, 32, 33, 64, 70 };
  /* kernel_h, kernel_w, channels: window rows of 4 to 192 codes. */
  static const int kernels[][3] = { { 3, 3, 4 }, { 3, 3, 64 }, { 1, 1, 8 }, { 5, 2, 6 }, { 2, 4, 3 }, { 7, 1, 12 } };
  guint checked = 0;

  for (QsIsa isa = QS_ISA_AVX2; isa <= QS_ISA_AVX512VNNI; isa++)
    {
      const QsKernels *k = optimized (isa);

      if (k == NULL || k->gemm_requant_indirect == NULL)
        continue;
      for (gsize ni = 0; ni < G_N_ELEMENTS (ns); ni++)
        for (gsize ki = 0; ki < G_N_ELEMENTS (kernels); ki++)
          for (int stride = 1; stride <= 2; stride++)
            for (int same = 0; same <= 1; same++)
              {
                check_gemm_indirect (k, 7 + (int) ni % 3, 8 + (int) ki % 4, kernels[ki][2], ns[ni],
                                     kernels[ki][0], kernels[ki][1], stride, same, (int) checked,
                                     (Fill) ((ni + ki + (gsize) stride + (gsize) same) % 4));
                checked++;
              }
    }
  g_test_message ("%u indirect GEMM shapes checked", checked);
}

/* ---- float32 GEMM: same sums in the same order, FMA rounding aside ----------------------- */

/* One output of the float32 GEMM as the SIMD kernels must compute it:
 * from the bias, one fmaf per k in order, then the clamp (however the
 * kernel splits k into chunks or n into blocks). */
static float
gemm_f32_fma_reference (const float *a,
                        const float *w,
                        size_t       n,
                        size_t       kk,
                        size_t       j,
                        float        bias,
                        float        lo,
                        float        hi)
{
  float v = bias;

  for (size_t q = 0; q < kk; q++)
    v = fmaf (a[q], w[q * n + j], v);
  return v < lo ? lo : (v > hi ? hi : v);
}

static void
check_gemm_f32 (const QsKernels *k,
                size_t           m,
                size_t           n,
                size_t           kk,
                float            lo,
                float            hi,
                bool             with_nan)
{
  const QsKernels *ref = qs_kernels_get (QS_ISA_SCALAR);
  /* The output is written with a wider stride, so stray stores past n show. */
  size_t ldc = n + 5;
  g_autofree float *a = g_new (float, m * kk + 1);
  g_autofree float *w = g_new (float, kk * n + 1);
  g_autofree float *bias = g_new (float, n);
  g_autofree float *pref = g_new (float, ref->gemm_f32_packed_size (n, kk) + 1);
  g_autofree float *popt = g_new (float, k->gemm_f32_packed_size (n, kk) + 1);
  g_autofree float *cref = g_new (float, m * n);
  g_autofree float *copt = g_new (float, m * ldc);

  for (size_t i = 0; i < m * kk; i++)
    a[i] = (float) g_rand_double_range (rng, 0.0, 2.0);
  for (size_t i = 0; i < kk * n; i++)
    w[i] = (float) g_rand_double_range (rng, -1.0, 1.0);
  for (size_t i = 0; i < n; i++)
    bias[i] = (float) g_rand_double_range (rng, -1.0, 1.0);
  if (with_nan && m * kk > 0)
    a[(m / 2) * kk + kk / 2] = NAN;
  for (size_t i = 0; i < m * ldc; i++)
    copt[i] = 12345.0f;
  ref->gemm_f32_pack (n, kk, w, pref);
  k->gemm_f32_pack (n, kk, w, popt);
  ref->gemm_f32 (m, n, kk, a, kk, pref, bias, lo, hi, cref, n);
  k->gemm_f32 (m, n, kk, a, kk, popt, bias, lo, hi, copt, ldc);
  for (size_t i = 0; i < m; i++)
    {
      for (size_t j = 0; j < n; j++)
        {
          float v = gemm_f32_fma_reference (a + i * kk, w, n, kk, j, bias[j], lo, hi);

          /* The scalar kernel rounds each product: close, not equal. */
          if (!isnan (v))
            g_assert_cmpfloat_with_epsilon (cref[i * n + j], v, 1e-4 * (1.0 + sqrt ((double) kk)));
          g_assert_cmpmem (&copt[i * ldc + j], sizeof (float), &v, sizeof (float));
        }
      for (size_t j = n; j < ldc; j++)
        g_assert_cmpfloat (copt[i * ldc + j], ==, 12345.0f);
    }
}

/* ---- float32 GEMM without A's zeros: the dense kernel's bits ------------------------ */

static void
check_gemm_f32_skip_zeros (const QsKernels *k,
                           size_t           m,
                           size_t           n,
                           size_t           kk,
                           float            lo,
                           float            hi)
{
  size_t ldc = n + 3;
  g_autofree float *a = g_new (float, m * kk + 1);
  g_autofree float *w = g_new (float, kk * n + 1);
  g_autofree float *bias = g_new (float, n + 1);
  g_autofree float *packed = g_new (float, k->gemm_f32_packed_size (n, kk) + 1);
  g_autofree float *cdense = g_new (float, m * ldc + 1);
  g_autofree float *cskip = g_new (float, m * ldc + 1);

  /* Zeros of both signs in runs and alone (as after a ReLU6 on codes,
   * about half), a few NaNs and infinities, which are not zeros. */
  for (size_t i = 0; i < m * kk; i++)
    {
      double u = g_rand_double (rng);

      if (u < 0.45)
        a[i] = 0.0f;
      else if (u < 0.5)
        a[i] = -0.0f;
      else if (u < 0.501)
        a[i] = NAN;
      else if (u < 0.502)
        a[i] = g_rand_boolean (rng) ? INFINITY : -INFINITY;
      else
        a[i] = (float) g_rand_double_range (rng, -1.0, 6.0);
    }
  for (size_t i = 0; i < kk * n; i++)
    w[i] = g_rand_int_range (rng, 0, 20) == 0 ? 0.0f : (float) g_rand_double_range (rng, -1.0, 1.0);
  /* +0.0 biases too: a sum of zeros from +0.0 stays +0.0 either way. */
  for (size_t i = 0; i < n; i++)
    bias[i] = i % 7 == 3 ? 0.0f : (float) g_rand_double_range (rng, -1.0, 1.0);
  g_assert_true (qs_gemm_f32_skips_zeros_exactly (n, bias));
  for (size_t i = 0; i < m * ldc; i++)
    cdense[i] = cskip[i] = 12345.0f;
  k->gemm_f32_pack (n, kk, w, packed);
  k->gemm_f32 (m, n, kk, a, kk, packed, bias, lo, hi, cdense, ldc);
  k->gemm_f32_skip_zeros (m, n, kk, a, kk, packed, bias, lo, hi, cskip, ldc);
  /* Every output, the stray stores past n included, bit for bit. */
  g_assert_cmpmem (cskip, m * ldc * sizeof (float), cdense, m * ldc * sizeof (float));
}

static void
test_gemm_f32_skip_zeros (void)
{
  /* m, n, k: single elements, row pairs and their odd tails, row blocks
   * of 48, one to four 32-channel blocks with a 16-wide tail (every
   * channel group shape), k chunks of 48 and past them, k = 0. */
  static const size_t shapes[][3] = { { 1, 1, 1 }, { 2, 16, 5 }, { 3, 17, 47 }, { 5, 32, 48 }, { 7, 48, 49 },
                                      { 48, 64, 96 }, { 49, 96, 100 }, { 50, 100, 144 }, { 97, 128, 33 },
                                      { 13, 144, 200 }, { 9, 160, 577 }, { 4, 200, 96 }, { 6, 320, 960 },
                                      { 0, 8, 4 }, { 6, 64, 0 }, { 11, 1000, 130 } };
  static const float bounds[][2] = { { 0.0f, INFINITY }, { -INFINITY, INFINITY }, { 0.0f, 6.0f } };
  guint checked = 0;

  for (QsIsa isa = QS_ISA_SCALAR; isa <= QS_ISA_AVX512VNNI; isa++)
    {
      const QsKernels *k = isa == QS_ISA_SCALAR ? qs_kernels_get (QS_ISA_SCALAR) : optimized (isa);

      if (k == NULL || k->gemm_f32_skip_zeros == NULL)
        continue;
      for (gsize s = 0; s < G_N_ELEMENTS (shapes); s++)
        {
          const float *b = bounds[s % G_N_ELEMENTS (bounds)];

          check_gemm_f32_skip_zeros (k, shapes[s][0], shapes[s][1], shapes[s][2], b[0], b[1]);
          checked++;
        }
    }
  g_assert_cmpuint (checked, >=, G_N_ELEMENTS (shapes));
  g_test_message ("%u zero-skipping float32 GEMM shapes checked", checked);
}

/* Why a bias of -0.0 is refused: -0.0 + 0.0 * 1.0 is +0.0, but with the
 * product left out the sum stays -0.0. */
static void
test_gemm_f32_skip_zeros_negative_zero_bias (void)
{
  const QsKernels *k = qs_kernels_get (QS_ISA_SCALAR);
  float bias[2] = { 1.0f, -0.0f }, a = 0.0f, w[2] = { 1.0f, 1.0f };
  float dense[2], skip[2];

  g_assert_false (qs_gemm_f32_skips_zeros_exactly (2, bias));
  g_assert_true (qs_gemm_f32_skips_zeros_exactly (1, bias));
  k->gemm_f32 (1, 2, 1, &a, 1, w, bias, -INFINITY, INFINITY, dense, 2);
  k->gemm_f32_skip_zeros (1, 2, 1, &a, 1, w, bias, -INFINITY, INFINITY, skip, 2);
  g_assert_false (signbit (dense[1]));
  g_assert_true (signbit (skip[1]));
  g_assert_cmpfloat (dense[0], ==, 1.0f);
  g_assert_cmpfloat (skip[0], ==, 1.0f);
}

static void
test_gemm_f32 (void)
{
  /* m, n, k: single elements, tails of every tile (12, 7 or 6 rows, 16,
   * 32 or 64 channels), k past a chunk of 256 and long k (a 3x3x512 window). */
  static const size_t shapes[][3] = { { 1, 1, 1 }, { 7, 17, 9 }, { 13, 33, 144 }, { 96, 64, 32 }, { 5, 10, 3136 },
                                      { 11, 40, 257 }, { 20, 16, 600 }, { 1, 1000, 512 }, { 25, 1, 7 },
                                      { 12, 32, 1 }, { 37, 48, 256 }, { 24, 31, 513 }, { 3, 64, 4608 },
                                      { 96, 24, 27 }, { 49, 95, 1 }, { 0, 8, 4 }, { 6, 16, 0 },
                                      /* 7-row tiles of two 32-channel blocks, then what is left. */
                                      { 15, 96, 600 }, { 8, 80, 40 }, { 14, 128, 5 }, { 3, 64, 0 } };
  static const float bounds[][2] = { { 0.0f, INFINITY }, { -INFINITY, INFINITY }, { 0.0f, 6.0f } };
  guint checked = 0;

  for (QsIsa isa = QS_ISA_AVX2; isa <= QS_ISA_AVX512VNNI; isa++)
    {
      const QsKernels *k = optimized (isa);

      if (k == NULL)
        continue;
      for (gsize s = 0; s < G_N_ELEMENTS (shapes); s++)
        {
          const float *b = bounds[s % G_N_ELEMENTS (bounds)];

          check_gemm_f32 (k, shapes[s][0], shapes[s][1], shapes[s][2], b[0], b[1], s % 4 == 1);
          checked++;
        }
    }
  if (checked == 0)
    g_test_skip ("AVX2 not supported by this CPU");
  g_test_message ("%u float32 GEMM shapes checked", checked);
}

/* ---- float-format weights rounded as a layer runs ------------------------------------- */

/* The kernels of @isa (the scalar reference, or the optimized ones), or
 * NULL, saying so, where this CPU lacks it. */
static const QsKernels *
isa_kernels_or_skip (QsIsa isa)
{
  const QsKernels *kr = isa == QS_ISA_SCALAR ? qs_kernels_get (isa) : optimized (isa);

  if (kr == NULL)
    g_test_message ("%s not supported by this CPU: skipped", isa == QS_ISA_AVX2 ? "AVX2" : "AVX-512 VNNI");
  return kr;
}

/* The weights a float-format layer used to keep as a second packed
 * copy: each quantized (qs_quantize_channel) and dequantized
 * (qs_dequantize_code) with its channel's parameters, [k][n]. */
static void
round_like_quantizer (const QsQuantParams *params,
                      bool                 per_channel,
                      const float         *w,
                      size_t               n,
                      size_t               k,
                      float               *out)
{
  for (size_t i = 0; i < k * n; i++)
    {
      size_t c = per_channel ? i % n : 0;
      int32_t code;

      qs_quantize_channel (params, c, &w[i], 1, &code);
      out[i] = qs_dequantize_code (params, c, code);
    }
}

/* The rounded columns of @w's packing on @kr by @rounding, whole and a
 * block of 32 or 64 channels at a time, are the packing of @rounded
 * (the quantizer's reconstruction, [k][n]), bit for bit, and the GEMM
 * block by block gives the outputs of the GEMM on that packing. */
static void
check_rounded_packing (const QsKernels       *kr,
                       const QsFloatRounding *rounding,
                       size_t                 n,
                       size_t                 k,
                       const float           *w,
                       const float           *rounded)
{
  size_t m = 13, size = kr->gemm_f32_packed_size (n, k);
  g_autofree float *slice = g_new (float, k * n);
  g_autofree float *packed = g_new (float, size);
  g_autofree float *expect = g_new (float, size);
  g_autofree float *got = g_new (float, size);
  g_autofree float *a = g_new (float, m * k);
  g_autofree float *bias = g_new (float, n);
  g_autofree float *cref = g_new (float, m * n);
  g_autofree float *cblk = g_new (float, m * n);

  kr->gemm_f32_pack (n, k, w, packed);
  kr->gemm_f32_pack (n, k, rounded, expect);
  kr->gemm_f32_round_columns (n, k, packed, rounding, 0, n, got);
  g_assert_cmpmem (got, size * sizeof (float), expect, size * sizeof (float));

  for (size_t i = 0; i < m * k; i++)
    a[i] = (float) g_rand_double_range (rng, -2.0, 2.0);
  for (size_t c = 0; c < n; c++)
    bias[c] = (float) g_rand_double_range (rng, -1.0, 1.0);
  kr->gemm_f32 (m, n, k, a, k, expect, bias, -INFINITY, INFINITY, cref, n);
  for (size_t c0 = 0, nb = n % 2 == 0 ? 64 : 32; c0 < n; c0 += nb)
    {
      size_t cols = n - c0 < nb ? n - c0 : nb, block = kr->gemm_f32_packed_size (cols, k);

      for (size_t q = 0; q < k; q++)
        memcpy (slice + q * cols, rounded + q * n + c0, cols * sizeof (float));
      kr->gemm_f32_pack (cols, k, slice, expect);
      kr->gemm_f32_round_columns (n, k, packed, rounding, c0, cols, got);
      g_assert_cmpmem (got, block * sizeof (float), expect, block * sizeof (float));
      kr->gemm_f32 (m, cols, k, a, k, got, bias + c0, -INFINITY, INFINITY, cblk + c0, n);
    }
  g_assert_cmpmem (cblk, m * n * sizeof (float), cref, m * n * sizeof (float));
}

/* One format, granularity and shape on @kr (check_rounded_packing). The
 * weights are @given, or random. */
static void
check_round_columns (const QsKernels *kr,
                     QsFormat         format,
                     bool             per_channel,
                     size_t           n,
                     size_t           k,
                     const float     *given)
{
  size_t channels = per_channel ? n : 1;
  QsScheme scheme;
  QsQuantParams params;
  g_autofree float *w = g_new (float, k * n);
  g_autofree float *rounded = g_new (float, k * n);
  g_autofree float *lo = g_new (float, channels);
  g_autofree float *hi = g_new (float, channels);
  g_autofree float *scale = g_new (float, n);
  g_autofree float *inv = g_new (float, n);
  QsFloatRounding rounding = { format, scale, inv, 0, 0, NULL };

  /* Magnitudes from 1e-9 to 1e5: fp16's subnormals and saturation, FP8's
   * subnormals after scaling, and channels of very different ranges; a
   * few exact zeros and halfway cases of bf16 (ties to even). */
  for (size_t i = 0; i < k * n; i++)
    {
      double x = g_rand_double_range (rng, -1.0, 1.0) * exp (g_rand_double_range (rng, -20.0, 11.5));

      w[i] = i % 17 == 3 ? (i % 2 == 0 ? 0.0f : -0.0f) : (float) x;
      if (i % 23 == 5)
        w[i] = 1.0f + 0x1p-8f * (float) (2 * g_rand_int_range (rng, 0, 64) + 1) / 2.0f;
    }
  /* NaN stays NaN, with its sign, through every format. */
  if (k * n > 40)
    {
      w[7] = NAN;
      w[40] = -NAN;
    }
  if (given != NULL)
    memcpy (w, given, k * n * sizeof (float));
  for (size_t c = 0; c < channels; c++)
    {
      lo[c] = INFINITY;
      hi[c] = -INFINITY;
    }
  for (size_t i = 0; i < k * n; i++)
    {
      size_t c = per_channel ? i % n : 0;

      lo[c] = isnan (w[i]) ? lo[c] : fminf (lo[c], w[i]);
      hi[c] = isnan (w[i]) ? hi[c] : fmaxf (hi[c], w[i]);
    }
  qs_scheme_init_default (&scheme);
  scheme.format = format;
  scheme.granularity = per_channel ? QS_GRANULARITY_CHANNEL : QS_GRANULARITY_TENSOR;
  g_assert_cmpint (qs_quant_params_init (&params, channels), ==, QS_OK);
  qs_quant_params_set_from_ranges (&params, &scheme, lo, hi);
  for (size_t c = 0; c < n; c++)
    {
      scale[c] = params.scale[per_channel ? c : 0];
      inv[c] = params.inv_scale[per_channel ? c : 0];
    }
  round_like_quantizer (&params, per_channel, w, n, k, rounded);
  qs_quant_params_clear (&params);
  check_rounded_packing (kr, &rounding, n, k, w, rounded);
}

static void
test_gemm_f32_round (void)
{
  static const QsFormat formats[] = { QS_FORMAT_FP16, QS_FORMAT_BF16, QS_FORMAT_FP8_E4M3, QS_FORMAT_FP8_E5M2 };
  /* n, k: several panels of every packing with a narrow last one (100:
   * AVX-512's 16-wide tail), whole panels, one channel, and a k past the
   * AVX-512 kernel's chunk of 512. */
  static const size_t shapes[][2] = { { 100, 37 }, { 64, 5 }, { 200, 600 }, { 1, 9 }, { 48, 1 } };
  guint checked = 0;

  for (QsIsa isa = QS_ISA_SCALAR; isa <= QS_ISA_AVX512VNNI; isa++)
    {
      const QsKernels *kr = isa_kernels_or_skip (isa);

      if (kr == NULL)
        continue;
      for (gsize f = 0; f < G_N_ELEMENTS (formats); f++)
        for (int per_channel = 0; per_channel < 2; per_channel++)
          for (gsize s = 0; s < G_N_ELEMENTS (shapes); s++)
            {
              check_round_columns (kr, formats[f], per_channel, shapes[s][0], shapes[s][1], NULL);
              checked++;
            }
      /* Every value of each format (NaN and infinity codes included), as
       * a tensor whose range is the format's own: each is its own code. */
      for (gsize f = 0; f < G_N_ELEMENTS (formats); f++)
        {
          size_t codes = formats[f] == QS_FORMAT_FP16 || formats[f] == QS_FORMAT_BF16 ? 65536 : 256;
          g_autofree float *values = g_new (float, codes);

          for (size_t i = 0; i < codes; i++)
            values[i] = formats[f] == QS_FORMAT_FP16   ? qs_fp16_to_float ((uint16_t) i)
                        : formats[f] == QS_FORMAT_BF16 ? qs_bf16_to_float ((uint16_t) i)
                        : formats[f] == QS_FORMAT_FP8_E4M3 ? qs_fp8_e4m3_to_float ((uint8_t) i)
                                                           : qs_fp8_e5m2_to_float ((uint8_t) i);
          /* FP8 scales to the range's maximum: E5M2's infinities would make it infinite. */
          for (size_t i = 0; i < codes && formats[f] == QS_FORMAT_FP8_E5M2; i++)
            values[i] = isinf (values[i]) ? copysignf (QS_FP8_E5M2_MAX, values[i]) : values[i];
          check_round_columns (kr, formats[f], false, codes / 64, 64, values);
          checked++;
        }
    }
  g_test_message ("%u rounded kernels checked", checked);
}

/* A blockwise scheme of the float path (MXFP8, NF4, wide integer
 * groups) on an (n, k) kernel: the packed kernel rounded block by block
 * with the scales (and zero points) qs_block_quantize gives
 * (QsFloatRounding's factors per block of rows) is the packing of
 * qs_block_dequantize's reconstruction, bit for bit. Each block of a
 * channel gets its own magnitude, 2^20 to 2^60 from its neighbours' (FP8's
 * subnormals and saturation under a neighbour's scale), with exact
 * zeros, a whole block of them (NF4's zero scale), float32 subnormals
 * and, in channel 0's first block, values of 1e37; NF4 also meets each of its thresholds and the
 * floats either side, in a block whose absmax is 1. The same rounding
 * with blocks one row longer must differ, so a wrong block boundary
 * fails. */
static void
check_round_blocks (const QsKernels *kr,
                    const QsScheme  *scheme,
                    size_t           n,
                    size_t           k)
{
  QsFormat format = scheme->format;
  QsChannelLayout layout = { k * n, k, n, 1 };
  QsFormat element = format == QS_FORMAT_MXFP8_E4M3 ? QS_FORMAT_FP8_E4M3
                     : format == QS_FORMAT_MXFP8_E5M2 ? QS_FORMAT_FP8_E5M2 : format;
  size_t bs = qs_scheme_block_size (scheme), bpr = (k + bs - 1) / bs, size = kr->gemm_f32_packed_size (n, k);
  bool integer = format == QS_FORMAT_INT;
  int qmin, qmax;
  QsNf4Table nf4;
  g_autofree float *w = g_new (float, k * n);
  g_autofree float *rounded = g_new (float, k * n);
  g_autofree int32_t *codes = g_new (int32_t, k * n);
  g_autofree float *scales = g_new (float, n * bpr);
  g_autofree int32_t *zero_points = g_new (int32_t, n * bpr);
  g_autofree float *scale = g_new (float, n * bpr);
  g_autofree float *inv = g_new (float, n * bpr);
  g_autofree float *zero = g_new (float, n * bpr);
  g_autofree float *magnitude = g_new (float, n * bpr);
  g_autofree float *packed = g_new (float, size);
  g_autofree float *good = g_new (float, size);
  g_autofree float *wrong = g_new (float, size);

  qs_scheme_code_range (scheme, &qmin, &qmax);
  for (size_t b = 0; b < n * bpr; b++)
    magnitude[b] = ldexpf (1.0f, g_rand_int_range (rng, 10, 31) * (b % 2 == 0 ? 1 : -1));
  for (size_t q = 0; q < k; q++)
    for (size_t c = 0; c < n; c++)
      {
        size_t i = q * n + c, b = c * bpr + q / bs;
        float x = (float) g_rand_double_range (rng, -1.0, 1.0) * magnitude[b];

        if (i % 13 == 4)
          x = i % 2 == 0 ? 0.0f : -0.0f;
        else if (i % 29 == 7)
          x = (float) g_rand_double_range (rng, -1.0, 1.0) * 0x1p-140f;
        else if (c == 0 && q < bs && q % 7 == 3)
          x = (float) g_rand_double_range (rng, -1.0e37, 1.0e37);
        w[i] = c == 1 && q / bs == bpr - 1 ? 0.0f : x;
      }
  qs_nf4_table_init (&nf4);
  if (format == QS_FORMAT_NF4 && n > 2 && k > 1)
    for (size_t q = 0; q < k; q++)
      {
        int t = (int) (q % 45) / 3, side = (int) (q % 3) - 1;
        float v = nf4.thresholds[t];

        /* Channel 2: absmax 1 in every block (its first row), thresholds elsewhere. */
        w[q * n + 2] = q % bs == 0 ? 1.0f : side == 0 ? v : nextafterf (v, side * 2.0f);
      }
  g_assert_cmpint (qs_block_quantize (scheme, &layout, w, codes, scales, NULL, zero_points, NULL), ==, QS_OK);
  g_assert_cmpint (qs_block_dequantize (scheme, &layout, codes, scales, integer ? zero_points : NULL, rounded),
                   ==, QS_OK);
  qs_float_rounding_block_factors (scales, integer ? zero_points : NULL, 0, n, n, bpr, scale, inv, zero);
  {
    QsFloatRounding rounding = { element, scale, inv, bs, n, &nf4, integer ? zero : NULL, (float) qmin,
                                 (float) qmax, scheme->rounding };
    QsFloatRounding shifted = rounding;

    shifted.block_rows = bs + 1;
    check_rounded_packing (kr, &rounding, n, k, w, rounded);
    kr->gemm_f32_pack (n, k, w, packed);
    kr->gemm_f32_round_columns (n, k, packed, &rounding, 0, n, good);
    kr->gemm_f32_round_columns (n, k, packed, &shifted, 0, n, wrong);
    if (k > bs)
      g_assert_true (memcmp (good, wrong, size * sizeof (float)) != 0);
    /* The reference walk of the engine's weight SQNR, row by row. */
    for (size_t q = 0; q < k; q++)
      {
        float row[300];

        g_assert_cmpuint (n, <=, G_N_ELEMENTS (row));
        qs_float_round_row (&rounding, q, w + q * n, n, row);
        g_assert_cmpmem (row, n * sizeof (float), rounded + q * n, n * sizeof (float));
      }
  }
}

static void
test_gemm_f32_round_blocks (void)
{
  /* The block formats on the float path, and 12- and 16-bit integer
   * groups, symmetric and not, halves to even and away. */
  static const QsFormat formats[] = { QS_FORMAT_MXFP8_E4M3, QS_FORMAT_MXFP8_E5M2, QS_FORMAT_NF4,
                                      QS_FORMAT_INT, QS_FORMAT_INT, QS_FORMAT_INT };
  /* n, k: reductions not a multiple of the block (37, 100, 600, 130),
   * whole blocks, a single short block, one channel; 300 x 600 is larger
   * than a block of rounded channels (64 at a time) many times over. */
  static const size_t shapes[][2] = { { 100, 37 }, { 70, 100 }, { 300, 600 }, { 33, 128 }, { 1, 130 }, { 48, 1 } };
  static const int block_sizes[] = { 0, 16 };
  guint checked = 0;

  for (QsIsa isa = QS_ISA_SCALAR; isa <= QS_ISA_AVX512VNNI; isa++)
    {
      const QsKernels *kr = isa_kernels_or_skip (isa);

      if (kr == NULL)
        continue;
      for (gsize f = 0; f < G_N_ELEMENTS (formats); f++)
        for (gsize b = 0; b < G_N_ELEMENTS (block_sizes); b++)
          for (gsize s = 0; s < G_N_ELEMENTS (shapes); s++)
            {
              QsScheme scheme;

              qs_scheme_init_default (&scheme);
              scheme.format = formats[f];
              scheme.group_size = block_sizes[b] > 0 ? block_sizes[b] : scheme.format == QS_FORMAT_INT ? 32 : 0;
              if (scheme.format == QS_FORMAT_INT)
                {
                  scheme.granularity = QS_GRANULARITY_GROUP;
                  scheme.bits = f == 5 ? 16 : 12;
                  scheme.mapping = f == 4 ? QS_MAPPING_ASYMMETRIC : QS_MAPPING_SYMMETRIC;
                  scheme.rounding = f == 5 ? QS_ROUNDING_HALF_AWAY : QS_ROUNDING_HALF_EVEN;
                }
              check_round_blocks (kr, &scheme, shapes[s][0], shapes[s][1]);
              checked++;
            }
    }
  g_test_message ("%u block-rounded kernels checked", checked);
}

/* ---- float32 depthwise: the same products and sums in the same order ------------------ */

static void
test_depthwise_f32 (void)
{
  const QsKernels *ref = qs_kernels_get (QS_ISA_SCALAR);
  static const int channels[] = { 1, 3, 8, 13, 32, 40, 96 };
  guint checked = 0;

  for (QsIsa isa = QS_ISA_AVX2; isa <= QS_ISA_AVX512VNNI; isa++)
    {
      const QsKernels *k = optimized (isa);

      if (k == NULL)
        continue;
      for (int trial = 0; trial < 200; trial++)
        {
          QsConvShape sh = {
            /* Every fourth row wide enough for runs of interior pixels. */
            .in_h = g_rand_int_range (rng, 1, 12), .in_w = g_rand_int_range (rng, 1, trial % 4 == 0 ? 40 : 12),
            .in_c = channels[trial % G_N_ELEMENTS (channels)],
            .kernel_h = g_rand_int_range (rng, 1, 6), .kernel_w = g_rand_int_range (rng, 1, 6),
            .stride_h = g_rand_int_range (rng, 1, 3), .stride_w = g_rand_int_range (rng, 1, 3),
          };
          size_t C = (size_t) sh.in_c, in_n, out_n, w_n;
          float lo = trial % 3 == 0 ? -INFINITY : 0.0f, hi = trial % 3 == 1 ? 6.0f : INFINITY;

          /* Every fourth a 3-wide kernel on a wide row: the AVX-512 kernel's
           * runs that load each input vector of a kernel row once. */
          if (trial % 4 == 1)
            {
              sh.kernel_w = 3;
              sh.in_w = g_rand_int_range (rng, 3, 40);
            }
          w_n = (size_t) sh.kernel_h * sh.kernel_w * C;
          sh.pad_top = g_rand_int_range (rng, 0, sh.kernel_h);
          sh.pad_left = g_rand_int_range (rng, 0, sh.kernel_w);
          sh.out_h = (sh.in_h + 2 * sh.pad_top - sh.kernel_h) / sh.stride_h + 1;
          sh.out_w = (sh.in_w + 2 * sh.pad_left - sh.kernel_w) / sh.stride_w + 1;
          if (sh.out_h < 1 || sh.out_w < 1)
            continue;
          in_n = (size_t) sh.in_h * sh.in_w * C;
          out_n = (size_t) sh.out_h * sh.out_w * C;
          {
            g_autofree float *in = g_new (float, in_n);
            g_autofree float *w = g_new (float, w_n);
            g_autofree float *bias = g_new (float, C);
            g_autofree float *oref = g_new (float, out_n + 8);
            g_autofree float *oopt = g_new (float, out_n + 8);

            /* Wide magnitudes so that products round and the order of sums shows. */
            for (size_t i = 0; i < in_n; i++)
              in[i] = (float) (g_rand_double_range (rng, -1.0, 1.0) * exp (g_rand_double_range (rng, -6.0, 6.0)));
            for (size_t i = 0; i < w_n; i++)
              w[i] = (float) g_rand_double_range (rng, -2.0, 2.0);
            for (size_t i = 0; i < C; i++)
              bias[i] = (float) g_rand_double_range (rng, -1.0, 1.0);
            if (trial % 7 == 3)
              in[0] = NAN;
            memset (oref, 0x5A, (out_n + 8) * sizeof (float));
            memset (oopt, 0x5A, (out_n + 8) * sizeof (float));
            ref->depthwise_f32 (&sh, in, w, bias, lo, hi, oref);
            k->depthwise_f32 (&sh, in, w, bias, lo, hi, oopt);
            g_assert_cmpmem (oopt, (out_n + 8) * sizeof (float), oref, (out_n + 8) * sizeof (float));
            /* Two bands of output rows, the second with its padding moved
             * up past the first's rows (negative when the window starts
             * inside the image), as the engine splits one image between
             * threads: the same bits. */
            if (sh.out_h >= 2)
              {
                QsConvShape top = sh, bottom = sh;
                int split = sh.out_h / 2;

                memset (oopt, 0x5A, (out_n + 8) * sizeof (float));
                top.out_h = split;
                bottom.out_h = sh.out_h - split;
                bottom.pad_top = sh.pad_top - split * sh.stride_h;
                k->depthwise_f32 (&top, in, w, bias, lo, hi, oopt);
                k->depthwise_f32 (&bottom, in, w, bias, lo, hi, oopt + (size_t) split * sh.out_w * C);
                g_assert_cmpmem (oopt, (out_n + 8) * sizeof (float), oref, (out_n + 8) * sizeof (float));
              }
            checked++;
          }
        }
    }
  g_test_message ("%u depthwise shapes checked", checked);
}

/* Real outputs to codes: by hand (ties to even, the clamps, NaN), then
 * every vector kernel against the reference bit for bit on random values
 * with ties, values past both ends, NaN and infinities, and counts that
 * leave a tail. */
static void
test_quantize_real (void)
{
  QsRealQuant relu = { .lo = 0.0f, .hi = INFINITY, .scale = 0.5f, .zero_point = 3.0f,
                       .code_min = 3, .code_max = 255 };
  float hand[8] = { 0.25f, 0.75f, -4.0f, NAN, 1000.0f, 1.25f, INFINITY, -INFINITY };
  uint8_t got[8];

  qs_quantize_real_u8_scalar (&relu, hand, 8, got);
  /* 0.25 / 0.5 + 3 = 3.5 -> 4 (even); 0.75 -> 4.5 -> 4; -4 clamps to 0 -> 3;
   * NaN -> code_min 3; 1000 -> 2003 -> 255; 1.25 -> 5.5 -> 6; +inf -> 255;
   * -inf clamps to 0 -> 3. */
  g_assert_cmpint (got[0], ==, 4);
  g_assert_cmpint (got[1], ==, 4);
  g_assert_cmpint (got[2], ==, 3);
  g_assert_cmpint (got[3], ==, 3);
  g_assert_cmpint (got[4], ==, 255);
  g_assert_cmpint (got[5], ==, 6);
  g_assert_cmpint (got[6], ==, 255);
  g_assert_cmpint (got[7], ==, 3);

  for (int isa = QS_ISA_AVX2; isa <= QS_ISA_AVX512VNNI; isa++)
    {
      const QsKernels *kr = qs_kernels_get ((QsIsa) isa);

      if (kr->isa != (QsIsa) isa)
        continue;
      for (int round = 0; round < 50; round++)
        {
          size_t count = (size_t) g_rand_int_range (rng, 1, 300);
          QsRealQuant p = {
            .lo = g_rand_boolean (rng) ? 0.0f : -INFINITY,
            .hi = g_rand_boolean (rng) ? 6.0f : INFINITY,
            .scale = (float) g_rand_double_range (rng, 0.001, 0.2),
            .zero_point = (float) g_rand_int_range (rng, 0, 256),
          };
          g_autofree float *r = g_new (float, count);
          g_autofree uint8_t *want = g_new (uint8_t, count);
          g_autofree uint8_t *have = g_new (uint8_t, count);

          if (round % 3 == 0)
            p.zero_point += 0.25f;    /* nudging off: a fractional zero point */
          p.code_min = g_rand_boolean (rng) ? 0 : (int32_t) p.zero_point;
          p.code_max = 255;
          for (size_t i = 0; i < count; i++)
            {
              int kind = g_rand_int_range (rng, 0, 10);

              /* Exact ties: (k + 0.5 - zero point) steps. */
              r[i] = kind == 0 ? ((float) g_rand_int_range (rng, -300, 300) + 0.5f - p.zero_point) * p.scale
                   : kind == 1 ? NAN : kind == 2 ? (g_rand_boolean (rng) ? INFINITY : -INFINITY)
                   : (float) g_rand_double_range (rng, -300.0, 300.0) * p.scale;
            }
          qs_quantize_real_u8_scalar (&p, r, count, want);
          kr->quantize_real (&p, r, count, have);
          g_assert_cmpmem (have, count, want, count);
        }
    }
}

/* The AVX-512 kernel multiplies by the reciprocal of the scale and
 * divides only where the sum lands near a rounding boundary: every vector
 * kernel against the reference on the inputs nearest each boundary (a
 * few float steps either side of (k + 0.5 - zero point) * scale, where
 * the reciprocal and the division can round apart), over scales from
 * 1e-30 to 1e6, a subnormal scale (whose reciprocal is infinite), powers
 * of two, fractional zero points and 4- and 7-bit code ranges, with
 * sums up to 2^22 among them (the fast path gives way from 2^19, and
 * its saturating packs meet sums past 2^15) and huge inputs. */
static void
test_quantize_real_boundaries (void)
{
  const float fixed[] = { 1e-30f, 1e-40f, 0.25f, 1.0f, 3.0f, 1e6f, 0.1f, 0.0235294f };
  guint checked = 0;

  for (int isa = QS_ISA_AVX2; isa <= QS_ISA_AVX512VNNI; isa++)
    {
      const QsKernels *kr = qs_kernels_get ((QsIsa) isa);

      if (kr->isa != (QsIsa) isa)
        continue;
      for (int round = 0; round < 120; round++)
        {
          QsRealQuant p = {
            .lo = round % 4 == 0 ? 0.0f : -INFINITY,
            .hi = round % 8 == 0 ? 6.0f : INFINITY,
            .scale = round < (int) G_N_ELEMENTS (fixed) ? fixed[round]
                     : (float) pow (10.0, g_rand_double_range (rng, -8.0, 4.0)),
            .zero_point = (float) g_rand_int_range (rng, 0, 256),
            .code_min = 0,
            .code_max = round % 5 == 1 ? 15 : (round % 5 == 2 ? 127 : 255),
          };
          size_t count = 0, cap = 300 * 10 + 64;
          g_autofree float *r = g_new (float, cap);
          g_autofree uint8_t *want = g_new (uint8_t, cap);
          g_autofree uint8_t *have = g_new (uint8_t, cap);

          if (round % 3 == 1)
            p.zero_point += round % 2 ? 0.25f : 0.37f;
          if (round % 7 == 3)
            p.code_min = (int32_t) floorf (p.zero_point) / 2;
          for (int k = -20; k < 280; k++)
            {
              float x = (float) (((double) k + 0.5 - (double) p.zero_point) * (double) p.scale);

              for (int step = -4; step <= 4; step++)
                {
                  float v = x;

                  for (int i = 0; i < abs (step); i++)
                    v = nextafterf (v, step < 0 ? -INFINITY : INFINITY);
                  r[count++] = v;
                }
              r[count++] = k % 2 ? NAN : (float) g_rand_double_range (rng, -1.0, 1.0) * 0x1p22f * p.scale;
            }
          for (int i = 0; i < 64; i++)
            r[count++] = i % 3 == 0 ? (float) g_rand_double_range (rng, 0x1p21, 0x1p23)
                       : i % 3 == 1 ? (float) g_rand_double_range (rng, -3e38, 3e38)
                       : (float) g_rand_double_range (rng, -1e-38, 1e-38);
          g_assert_cmpuint (count, ==, cap);
          /* Every tail length past the last 64. */
          for (size_t n = cap - 80; n <= cap; n += 1 + (size_t) round % 7)
            {
              qs_quantize_real_u8_scalar (&p, r, n, want);
              memset (have, 0xA5, cap);
              kr->quantize_real (&p, r, n, have);
              g_assert_cmpmem (have, n, want, n);
              /* Nothing written past the end. */
              for (size_t i = n; i < cap; i++)
                g_assert_cmpint (have[i], ==, 0xA5);
              checked++;
            }
        }
    }
  g_test_message ("%u boundary sets checked", checked);
}

/* Codes back to real numbers: by hand (exact steps), then every vector
 * kernel against the reference bit for bit, with fractional zero points
 * (whose subtraction rounds) and every tail length. */
static void
test_dequantize (void)
{
  const uint8_t hand[5] = { 0, 3, 4, 130, 255 };
  float got[5];

  qs_dequantize_u8_scalar (0.5f, 3.0f, hand, 5, got);
  g_assert_cmpfloat (got[0], ==, -1.5f);
  g_assert_cmpfloat (got[1], ==, 0.0f);
  g_assert_cmpfloat (got[2], ==, 0.5f);
  g_assert_cmpfloat (got[3], ==, 63.5f);
  g_assert_cmpfloat (got[4], ==, 126.0f);

  for (int isa = QS_ISA_AVX2; isa <= QS_ISA_AVX512VNNI; isa++)
    {
      const QsKernels *kr = qs_kernels_get ((QsIsa) isa);

      if (kr->isa != (QsIsa) isa)
        continue;
      for (int round = 0; round < 60; round++)
        {
          size_t count = round < 40 ? (size_t) round : (size_t) g_rand_int_range (rng, 1, 500);
          float scale = (float) g_rand_double_range (rng, 1e-4, 0.5);
          float zero_point = (float) g_rand_int_range (rng, 0, 256) + (round % 2 ? 0.37f : 0.0f);
          g_autofree uint8_t *codes = g_new (uint8_t, count + 1);
          g_autofree float *want = g_new (float, count + 1);
          g_autofree float *have = g_new (float, count + 1);

          for (size_t i = 0; i < count; i++)
            codes[i] = (uint8_t) g_rand_int_range (rng, 0, 256);
          /* A guard past the end: the kernel must not write it. */
          have[count] = want[count] = -7.0f;
          qs_dequantize_u8_scalar (scale, zero_point, codes, count, want);
          kr->dequantize (scale, zero_point, codes, count, have);
          g_assert_cmpmem (have, (count + 1) * sizeof (float), want, (count + 1) * sizeof (float));
        }
    }
}

int
main (int    argc,
      char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  rng = g_rand_new_with_seed (20240611);
  g_test_add_func ("/kernels/rounding-rules", test_rounding_rules);
  g_test_add_func ("/kernels/requantize-example", test_requantize_example);
  g_test_add_func ("/kernels/requantize-vector", test_requantize_kernels);
  g_test_add_func ("/kernels/requantize-extremes", test_requantize_extremes);
  g_test_add_func ("/kernels/requantize-steps", test_requantize_steps);
  g_test_add_func ("/kernels/requantize-near-misses", test_requantize_near_misses);
  g_test_add_func ("/kernels/gemm-u8s8", test_gemm);
  g_test_add_func ("/kernels/gemm-u8s16", test_gemm16);
  g_test_add_func ("/kernels/gemm-u8s8-long", test_gemm_long);
  g_test_add_func ("/kernels/gemm-u8s8-amx", test_gemm_amx);
  g_test_add_func ("/kernels/gemm-u8s8-amx-passes", test_gemm_amx_passes);
  g_test_add_func ("/kernels/depthwise-u8s8", test_depthwise);
  g_test_add_func ("/kernels/conv-c1-u8s8", test_conv_c1);
  g_test_add_func ("/kernels/gemm-indirect-u8s8", test_gemm_indirect);
  g_test_add_func ("/kernels/gemm-f32", test_gemm_f32);
  g_test_add_func ("/kernels/gemm-f32-round", test_gemm_f32_round);
  g_test_add_func ("/kernels/gemm-f32-round-blocks", test_gemm_f32_round_blocks);
  g_test_add_func ("/kernels/gemm-f32-skip-zeros", test_gemm_f32_skip_zeros);
  g_test_add_func ("/kernels/gemm-f32-skip-zeros-negative-zero-bias", test_gemm_f32_skip_zeros_negative_zero_bias);
  g_test_add_func ("/kernels/depthwise-f32", test_depthwise_f32);
  g_test_add_func ("/kernels/quantize-real", test_quantize_real);
  g_test_add_func ("/kernels/quantize-real-boundaries", test_quantize_real_boundaries);
  g_test_add_func ("/kernels/dequantize", test_dequantize);
  status = g_test_run ();
  g_rand_free (rng);
  return status;
}
