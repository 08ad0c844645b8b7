/* test-groupwise.c: the group-wise integer GEMM against a naive loop of the same math, bit for bit.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The naive loop sums (a - za) (w - zw) per group directly in int64 (the
 * kernel splits the zero points out of an int32 dot product), then rescales
 * and accumulates in float32 in the same order, so any lost term, wrapped
 * sum or misplaced group shows as a changed bit. Fixed-seed random codes,
 * k not a multiple of the group size, short last groups, fractional input
 * zero points and the extreme codes at the largest group the engine allows.
 */
#include <math.h>
#include <string.h>

#include <glib.h>

#include "engine/kernels/qs-kernels.h"

static GRand *rng;

typedef struct {
  size_t   m, n, k, group_size, groups;
  uint8_t *a;             /* [m][lda] */
  size_t   lda;
  int8_t  *codes;         /* [n][k] */
  int32_t *zero_points;   /* [n][groups] */
  int32_t *code_sums;
  float   *scales;
  float   *bias;
} Case;

static void
case_free (Case *c)
{
  g_free (c->a);
  g_free (c->codes);
  g_free (c->zero_points);
  g_free (c->code_sums);
  g_free (c->scales);
  g_free (c->bias);
}

/* Random codes of a @bits-bit range, signed or shifted from unsigned as
 * the engine stores them; @extreme: 255 activations against the end codes. */
static void
case_init (Case   *c,
           size_t  m,
           size_t  n,
           size_t  k,
           size_t  group_size,
           int     bits,
           bool    extreme)
{
  int32_t lo = -(1 << (bits - 1)), hi = (1 << (bits - 1)) - 1;

  c->m = m;
  c->n = n;
  c->k = k;
  c->group_size = group_size;
  c->groups = (k + group_size - 1) / group_size;
  c->lda = k + 3;     /* rows padded, as im2col pads them */
  c->a = g_new (uint8_t, m * c->lda);
  c->codes = g_new (int8_t, n * k);
  c->zero_points = g_new (int32_t, n * c->groups);
  c->code_sums = g_new (int32_t, n * c->groups);
  c->scales = g_new (float, n * c->groups);
  c->bias = g_new (float, n);
  for (size_t i = 0; i < m * c->lda; i++)
    c->a[i] = extreme ? 255 : (uint8_t) g_rand_int_range (rng, 0, 256);
  for (size_t i = 0; i < n * k; i++)
    c->codes[i] = (int8_t) (extreme ? (i % 2 ? hi : lo) : g_rand_int_range (rng, lo, hi + 1));
  for (size_t i = 0; i < n * c->groups; i++)
    {
      c->zero_points[i] = extreme ? (i % 2 ? lo : hi) : g_rand_int_range (rng, lo, hi + 1);
      c->scales[i] = (float) g_rand_double_range (rng, 1e-4, 0.05);
    }
  for (size_t j = 0; j < n; j++)
    c->bias[j] = (float) g_rand_double_range (rng, -1.0, 1.0);
}

static QsGroupwiseWeights
case_weights (const Case *c)
{
  QsGroupwiseWeights w = {
    .n = c->n, .k = c->k, .group_size = c->group_size, .groups_per_channel = c->groups,
    .codes = c->codes, .zero_points = c->zero_points, .code_sums = c->code_sums,
    .scales = c->scales,
  };

  return w;
}

static void
naive_groupwise (const Case             *c,
                 const QsGroupwiseInput *in,
                 float                  *out)
{
  for (size_t i = 0; i < c->m; i++)
    for (size_t j = 0; j < c->n; j++)
      {
        float y = c->bias[j];

        for (size_t g = 0; g < c->groups; g++)
          {
            size_t b = j * c->groups + g;
            int64_t total = 0, code_sum = 0;

            for (size_t t = g * c->group_size; t < MIN ((g + 1) * c->group_size, c->k); t++)
              {
                int64_t w = (int64_t) c->codes[j * c->k + t] - c->zero_points[b];

                total += ((int64_t) c->a[i * c->lda + t] - in->zero_code) * w;
                code_sum += w;
              }
            g_assert_cmpint (code_sum, ==, c->code_sums[b]);
            y += (in->scale * c->scales[b]) * ((float) total - in->zero_frac * (float) code_sum);
          }
        out[i * c->n + j] = y;
      }
}

static void
check_case (Case                   *c,
            const QsGroupwiseInput *in)
{
  QsGroupwiseWeights w = case_weights (c);
  g_autofree float *got = g_new (float, c->m * c->n);
  g_autofree float *want = g_new (float, c->m * c->n);

  qs_groupwise_code_sums (&w, c->code_sums);
  qs_gemm_groupwise_u8_scalar (c->m, c->a, c->lda, &w, in, c->bias, got, c->n);
  naive_groupwise (c, in, want);
  g_assert_cmpmem (got, c->m * c->n * sizeof (float), want, c->m * c->n * sizeof (float));
}

/* Several group sizes, k not a multiple of them (a short last group), one
 * group longer than k, 2..8-bit codes, integer and fractional input zero points. */
static void
test_random (void)
{
  static const size_t ks[] = { 1, 7, 27, 100, 250 };
  static const size_t sizes[] = { 1, 3, 8, 16, 32, 64, 300 };
  static const int bits[] = { 2, 4, 8 };

  for (gsize ki = 0; ki < G_N_ELEMENTS (ks); ki++)
    for (gsize gi = 0; gi < G_N_ELEMENTS (sizes); gi++)
      for (gsize bi = 0; bi < G_N_ELEMENTS (bits); bi++)
        {
          Case c;
          QsGroupwiseInput in = {
            .scale = (float) g_rand_double_range (rng, 0.001, 0.1),
            .zero_code = g_rand_int_range (rng, 0, 256),
            .zero_frac = g_rand_boolean (rng) ? 0.0f : (float) g_rand_double_range (rng, -0.5, 0.5),
          };

          case_init (&c, 5, 6, ks[ki], sizes[gi], bits[bi], false);
          check_case (&c, &in);
          case_free (&c);
        }
}

/* 255 activations against -128 / 127 codes and zero points at the other
 * end, in a group of 16384 taps (the engine's limit): the int32 sums are
 * at their largest and must not wrap. */
static void
test_extreme (void)
{
  static const int32_t zero_codes[] = { 0, 255 };

  for (gsize z = 0; z < G_N_ELEMENTS (zero_codes); z++)
    {
      Case c;
      QsGroupwiseInput in = { .scale = 0.02f, .zero_code = zero_codes[z], .zero_frac = 0.0f };

      case_init (&c, 2, 3, 16384 + 100, 16384, 8, true);
      check_case (&c, &in);
      case_free (&c);
    }
}

/* Worked by hand: k = 5 in groups of 2 (2, 2, 1), one output channel. */
static void
test_hand (void)
{
  uint8_t a[5] = { 3, 1, 4, 1, 5 };
  int8_t codes[5] = { 2, -1, 0, 3, -2 };
  int32_t zero_points[3] = { 1, 0, -1 }, code_sums[3];
  float scales[3] = { 0.5f, 0.25f, 2.0f }, bias = 1.0f, y;
  QsGroupwiseWeights w = {
    .n = 1, .k = 5, .group_size = 2, .groups_per_channel = 3,
    .codes = codes, .zero_points = zero_points, .code_sums = code_sums, .scales = scales,
  };
  QsGroupwiseInput in = { .scale = 1.0f, .zero_code = 1, .zero_frac = 0.0f };

  qs_groupwise_code_sums (&w, code_sums);
  g_assert_cmpint (code_sums[0], ==, (2 - 1) + (-1 - 1));
  g_assert_cmpint (code_sums[1], ==, 3);
  g_assert_cmpint (code_sums[2], ==, -1);
  qs_gemm_groupwise_u8_scalar (1, a, 5, &w, &in, &bias, &y, 1);
  /* group 0: (3-1)(2-1) + (1-1)(-1-1) = 2, times 0.5 = 1
   * group 1: (4-1)(0-0) + (1-1)(3-0) = 0
   * group 2: (5-1)(-2+1) = -4, times 2 = -8;  1 + 1 + 0 - 8 = -6 */
  g_assert_cmpfloat (y, ==, -6.0f);
}

int
main (int    argc,
      char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  rng = g_rand_new_with_seed (20261204);
  g_test_add_func ("/groupwise/hand", test_hand);
  g_test_add_func ("/groupwise/random", test_random);
  g_test_add_func ("/groupwise/extreme", test_extreme);
  status = g_test_run ();
  g_rand_free (rng);
  return status;
}
