/* test-groupwise.c: the group-wise integer GEMM and depthwise kernels against naive loops of the same math, bit for bit.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The naive loop sums (a - za) (w - zw) per group directly in int64 (the
 * kernel splits the zero points out of an int32 dot product), then rescales
 * and accumulates in float32 in the same order, so any lost term, wrapped
 * sum or misplaced group shows as a changed bit. Fixed-seed random codes,
 * k not a multiple of the group size, short last groups, channel counts
 * that leave partial vector blocks, fractional input zero points and the
 * extreme codes at the largest group the engine allows; the same for int16
 * codes (MXFP6 E3M2's elements times 16, up to 448), up to the largest
 * group whose int32 sums stay exact. Each ISA's kernels are held to the
 * same bits under their own test paths (/groupwise/ISA/...), skipped where
 * the CPU lacks the ISA.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "engine/kernels/qs-kernels.h"
#include "quant/qs-block-codes.h"

static GRand *rng;

/* Row counts that reach every row step of the kernels. */
static const size_t row_steps[] = { 1, 4, 5, 8, 13 };
/* The depths and group sizes of the random int8 cases: k not a multiple
 * of the group (a short last group), one group longer than k. */
static const size_t random_ks[] = { 1, 7, 27, 100, 250 };
static const size_t random_sizes[] = { 1, 3, 8, 16, 32, 64, 300 };
/* Input zero points at both ends of the codes. */
static const int32_t end_zero_codes[] = { 0, 255 };

static void
random_codes (uint8_t *v,
              size_t   n)
{
  for (size_t i = 0; i < n; i++)
    v[i] = (uint8_t) g_rand_int_range (rng, 0, 256);
}

static void
random_floats (float  *v,
               size_t  n,
               double  lo,
               double  hi)
{
  for (size_t i = 0; i < n; i++)
    v[i] = (float) g_rand_double_range (rng, lo, hi);
}

typedef struct {
  size_t   m, n, k, group_size, groups;
  uint8_t *a;             /* [m][lda] */
  size_t   lda;
  int8_t  *codes;         /* [n][k], or NULL when codes16 */
  int16_t *codes16;       /* [n][k] */
  int32_t *zero_points;   /* [n][groups] */
  int32_t *code_sums;
  float   *scales;
  float   *bias;
  const int8_t *nibble_values;   /* the packer may store indices into these */
  const int16_t *wide_values;    /* the same for int16 codes */
} Case;

static void
case_free (Case *c)
{
  g_free (c->a);
  g_free (c->codes);
  g_free (c->codes16);
  g_free (c->zero_points);
  g_free (c->code_sums);
  g_free (c->scales);
  g_free (c->bias);
}

/* Everything but the codes and zero points: random activations (255 if
 * @extreme), scales and biases. */
static void
case_alloc (Case   *c,
            size_t  m,
            size_t  n,
            size_t  k,
            size_t  group_size,
            bool    extreme)
{
  *c = (Case) { 0 };
  c->m = m;
  c->n = n;
  c->k = k;
  c->group_size = group_size;
  c->groups = (k + group_size - 1) / group_size;
  c->lda = k + 3;     /* rows padded, as im2col pads them */
  c->a = g_new (uint8_t, m * c->lda);
  c->zero_points = g_new0 (int32_t, n * c->groups);
  c->code_sums = g_new (int32_t, n * c->groups);
  c->scales = g_new (float, n * c->groups);
  c->bias = g_new (float, n);
  if (extreme)
    memset (c->a, 255, m * c->lda);
  else
    random_codes (c->a, m * c->lda);
  random_floats (c->scales, n * c->groups, 1e-4, 0.05);
  random_floats (c->bias, n, -1.0, 1.0);
}

static QsGroupwiseWeights
case_weights (const Case *c)
{
  QsGroupwiseWeights w = {
    .n = c->n, .k = c->k, .group_size = c->group_size, .groups_per_channel = c->groups,
    .codes = c->codes, .codes16 = c->codes16, .zero_points = c->zero_points,
    .code_sums = c->code_sums, .scales = c->scales, .nibble_values = c->nibble_values,
    .wide_values = c->wide_values,
  };

  w.wide_offsets = qs_groupwise_offsets_wide (&w);
  return w;
}

/* Random codes of a @bits-bit range, signed or shifted from unsigned as
 * the engine stores them; @extreme: 255 activations against the end codes
 * (and zero points at the other end); @zero_zp: zero points all 0, as a
 * block format's or a symmetric scheme's. */
static void
case_init (Case   *c,
           size_t  m,
           size_t  n,
           size_t  k,
           size_t  group_size,
           int     bits,
           bool    extreme,
           bool    zero_zp)
{
  int32_t lo = -(1 << (bits - 1)), hi = (1 << (bits - 1)) - 1;

  case_alloc (c, m, n, k, group_size, extreme);
  c->codes = g_new (int8_t, n * k);
  for (size_t i = 0; i < n * k; i++)
    c->codes[i] = (int8_t) (extreme ? (i % 2 ? hi : lo) : g_rand_int_range (rng, lo, hi + 1));
  for (size_t i = 0; !zero_zp && i < n * c->groups; i++)
    c->zero_points[i] = extreme ? (i % 2 ? lo : hi) : g_rand_int_range (rng, lo, hi + 1);
}

/* The 16 values of 4-bit signed integers in the order of their bit
 * patterns, and MXFP4's and NVFP4's E2M1 elements times 2 (sign bit on
 * top: 0 twice). */
static const int8_t int4_values[16] = { 0, 1, 2, 3, 4, 5, 6, 7, -8, -7, -6, -5, -4, -3, -2, -1 };
static const int8_t e2m1_values[16] = { 0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12 };

/* Codes drawn from the 16 @values (zero points 0), which the case hands
 * the packer (and which qs_groupwise_offsets_in_nibbles finds them in):
 * @extreme, 255 activations against the largest magnitude. */
static void
case_init_nibbles (Case         *c,
                   size_t        m,
                   size_t        n,
                   size_t        k,
                   size_t        group_size,
                   const int8_t *values,
                   bool          extreme)
{
  int8_t largest = 0;
  QsGroupwiseWeights w;

  for (int i = 0; i < 16; i++)
    largest = abs (values[i]) > abs (largest) ? values[i] : largest;
  case_alloc (c, m, n, k, group_size, extreme);
  c->codes = g_new (int8_t, n * k);
  for (size_t i = 0; i < n * k; i++)
    c->codes[i] = extreme ? largest : values[g_rand_int_range (rng, 0, 16)];
  c->nibble_values = values;
  w = case_weights (c);
  g_assert_true (qs_groupwise_offsets_in_nibbles (&w));
}

/* MXFP6 E3M2's 64 elements times 16 in the order of their codes (sign,
 * 3 exponent bits, 2 mantissa bits): the subnormals m / 16 are m, a
 * normal 2^(e - 3) (1 + m / 4) is (4 + m) 2^(e - 1); the sign bit's half
 * negated, -0 as 0. */
static const int16_t e3m2_values[64] = {
  0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 28,
  32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448,
  0, -1, -2, -3, -4, -5, -6, -7, -8, -10, -12, -14, -16, -20, -24, -28,
  -32, -40, -48, -56, -64, -80, -96, -112, -128, -160, -192, -224, -256, -320, -384, -448,
};

/* Scales at the ends of E8M0's 2^-127 .. 2^127 divided by E3M2's unit 16
 * (2^-131 is subnormal), and between: products with them underflow to
 * subnormals or zero and overflow to infinity, as the scalar kernel's do. */
static const float extreme_scales[] = { 0x1p-131f, 0x1p-127f, 0x1p-126f, 0x1p-60f, 1.0f, 0x1p60f, 0x1p123f };

/* Codes drawn from E3M2's 64 values (zero points 0), which the case hands
 * the packer (and which qs_groupwise_offsets_in_wide_values finds them
 * in): @pattern 0 random; 1 every code in turn along each channel,
 * each channel starting one code later, so every code meets every tap and
 * lane; 2 channel 0 all +448, channel 1 all -448 and the rest alternating,
 * against 255 activations (the sums at their largest). Scales from
 * extreme_scales where @extreme_scale. */
static void
case_init_wide_values (Case   *c,
                       size_t  m,
                       size_t  n,
                       size_t  k,
                       size_t  group_size,
                       int     pattern,
                       bool    extreme_scale)
{
  QsGroupwiseWeights w;

  case_alloc (c, m, n, k, group_size, pattern == 2);
  c->codes16 = g_new (int16_t, n * k);
  for (size_t j = 0; j < n; j++)
    for (size_t t = 0; t < k; t++)
      c->codes16[j * k + t] = pattern == 0 ? e3m2_values[g_rand_int_range (rng, 0, 64)]
                              : pattern == 1 ? e3m2_values[(t + j) % 64]
                              : (j == 0 || (j > 1 && t % 2) ? 448 : -448);
  for (size_t i = 0; extreme_scale && i < n * c->groups; i++)
    c->scales[i] = extreme_scales[(i + (size_t) g_rand_int_range (rng, 0, 2)) % G_N_ELEMENTS (extreme_scales)];
  c->wide_values = e3m2_values;
  w = case_weights (c);
  g_assert_true (qs_groupwise_offsets_in_wide_values (&w));
}

/* int16 codes in [-@max_code, @max_code] (E3M2's 448); @extreme: 255
 * activations, channel 0 all +max_code, channel 1 all -max_code, the rest
 * alternating, zero points 0, so the sums of channels 0 and 1 are as
 * large as the group allows; otherwise random codes, and small random
 * zero points unless @zero_zp. */
static void
case_init_wide (Case    *c,
                size_t   m,
                size_t   n,
                size_t   k,
                size_t   group_size,
                int16_t  max_code,
                bool     extreme,
                bool     zero_zp)
{
  case_alloc (c, m, n, k, group_size, extreme);
  c->codes16 = g_new (int16_t, n * k);
  for (size_t j = 0; j < n; j++)
    for (size_t t = 0; t < k; t++)
      c->codes16[j * k + t] = extreme ? (j == 0 || (j > 1 && t % 2) ? max_code : -max_code)
                                      : (int16_t) g_rand_int_range (rng, -max_code, max_code + 1);
  for (size_t i = 0; !zero_zp && !extreme && i < n * c->groups; i++)
    c->zero_points[i] = g_rand_int_range (rng, -64, 65);
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
                int64_t code = c->codes16 != NULL ? c->codes16[j * c->k + t] : c->codes[j * c->k + t];
                int64_t w = code - c->zero_points[b];

                total += ((int64_t) c->a[i * c->lda + t] - in->zero_code) * w;
                code_sum += w;
              }
            g_assert_cmpint (code_sum, ==, c->code_sums[b]);
            y += (in->scale * c->scales[b]) * ((float) total - in->zero_frac * (float) code_sum);
          }
        out[i * c->n + j] = y;
      }
}

/* The kernels a test path runs into @kr: NULL for the scalar reference,
 * an optimized ISA's table; false, the test marked skipped, when the CPU
 * lacks the ISA. */
static bool
isa_kernels (gconstpointer     data,
             const QsKernels **kr)
{
  QsIsa isa = (QsIsa) GPOINTER_TO_INT (data);

  *kr = NULL;
  if (isa == QS_ISA_SCALAR)
    return true;
  if (!qs_kernels_isa_supported (isa))
    {
      g_test_skip (isa == QS_ISA_AVX2 ? "the CPU lacks AVX2" : "the CPU lacks AVX-512 VNNI");
      return false;
    }
  *kr = qs_kernels_get (isa);
  g_assert_cmpint ((*kr)->isa, ==, isa);
  g_assert_nonnull ((*kr)->groupwise_gemm);
  g_assert_nonnull ((*kr)->depthwise_groupwise);
  return true;
}

/* The scalar kernel (@kr NULL), or @kr's from its own packing, against
 * the naive loop; then frees @c. */
static void
check_and_free (Case                   *c,
                const QsGroupwiseInput *in,
                const QsKernels        *kr)
{
  QsGroupwiseWeights w = case_weights (c);
  g_autofree float *got = g_new (float, c->m * c->n);
  g_autofree float *want = g_new (float, c->m * c->n);

  qs_groupwise_code_sums (&w, c->code_sums);
  naive_groupwise (c, in, want);
  memset (got, 0xff, c->m * c->n * sizeof (float));
  if (kr == NULL)
    qs_gemm_groupwise_u8_scalar (c->m, c->a, c->lda, &w, in, c->bias, got, c->n);
  else
    {
      g_autofree void *packed = g_malloc (kr->groupwise_packed_size (&w));

      kr->groupwise_pack (&w, 0, packed);
      kr->groupwise_gemm (c->m, c->a, c->lda, &w, packed, in, c->bias, got, c->n);
    }
  g_assert_cmpmem (got, c->m * c->n * sizeof (float), want, c->m * c->n * sizeof (float));
  case_free (c);
}

/* The input quantizer of the extreme cases. */
static QsGroupwiseInput
fixed_input (int32_t zero_code,
             float   zero_frac)
{
  QsGroupwiseInput in = { .scale = 0.02f, .zero_code = zero_code, .zero_frac = zero_frac };

  return in;
}

/* A random input quantizer, its zero point integer or fractional. */
static QsGroupwiseInput
random_input (void)
{
  QsGroupwiseInput in = {
    .scale = (float) g_rand_double_range (rng, 0.001, 0.1),
    .zero_code = g_rand_int_range (rng, 0, 256),
    .zero_frac = g_rand_boolean (rng) ? 0.0f : (float) g_rand_double_range (rng, -0.5, 0.5),
  };

  return in;
}

/* Several group sizes, k not a multiple of them (a short last group), one
 * group longer than k, 2..8-bit codes with random or zero zero points
 * (8-bit codes minus random zero points leave int8), 6, 19 and 37 output
 * channels (partial and whole blocks of 8 and 16), 5 and 13 rows, integer
 * and fractional input zero points. */
static void
test_random (gconstpointer data)
{
  static const int bits[] = { 2, 4, 7, 8 };
  static const size_t channels[] = { 6, 19, 37 };
  const QsKernels *kr;

  if (!isa_kernels (data, &kr))
    return;

  for (gsize ki = 0; ki < G_N_ELEMENTS (random_ks); ki++)
    for (gsize gi = 0; gi < G_N_ELEMENTS (random_sizes); gi++)
      for (gsize bi = 0; bi < G_N_ELEMENTS (bits); bi++)
        {
          Case c;
          QsGroupwiseInput in = random_input ();

          case_init (&c, (ki + gi) % 2 ? 13 : 5, channels[(gi + bi) % G_N_ELEMENTS (channels)],
                     random_ks[ki], random_sizes[gi], bits[bi], false, (ki + gi + bi) % 3 == 0);
          check_and_free (&c, &in, kr);
        }
}

/* 255 activations against -128 / 127 codes and zero points at the other
 * end (or 0), in a group of 16384 taps (the engine's limit): the int32
 * sums are at their largest and must not wrap. */
static void
test_extreme (gconstpointer data)
{
  const QsKernels *kr;

  if (!isa_kernels (data, &kr))
    return;
  for (gsize z = 0; z < G_N_ELEMENTS (end_zero_codes); z++)
    for (int zero_zp = 0; zero_zp < 2; zero_zp++)
      {
        Case c;
        QsGroupwiseInput in = fixed_input (end_zero_codes[z], 0.0f);

        case_init (&c, 2, 3, 16384 + 100, 16384, 8, true, zero_zp);
        check_and_free (&c, &in, kr);
      }
}

/* Every (code - zero point) of a group at one end, so its code sum is as
 * large as its length allows, in groups on both sides of the longest
 * whose sums a packing may keep in int16: 255 taps of -128 (-32,640)
 * and 256 (-32,768, which int16 holds, but past the packing's bound);
 * 128 and 129 taps of -128 - 127 = -255 (raw codes: the difference
 * leaves int8) or +127; 255 activations against input zero points 0
 * and 255, and two groups and a short last one of each size. */
static void
test_extreme_sums (gconstpointer data)
{
  static const struct { size_t group_size; int8_t code; int32_t zero_point; } forms[] = {
    { 255, -128, 0 }, { 256, -128, 0 }, { 255, 127, 0 }, { 256, 127, 0 },
    { 128, -128, 127 }, { 129, -128, 127 }, { 128, 127, -128 }, { 129, 127, -128 },
  };
  const QsKernels *kr;

  if (!isa_kernels (data, &kr))
    return;
  for (gsize f = 0; f < G_N_ELEMENTS (forms); f++)
    for (gsize z = 0; z < G_N_ELEMENTS (end_zero_codes); z++)
      {
        Case c;
        QsGroupwiseInput in = fixed_input (end_zero_codes[z], 0.25f);
        size_t k = 2 * forms[f].group_size + 5;

        case_alloc (&c, 9, 19, k, forms[f].group_size, true);
        c.codes = g_new (int8_t, c.n * k);
        memset (c.codes, (uint8_t) forms[f].code, c.n * k);
        for (size_t b = 0; b < c.n * c.groups; b++)
          c.zero_points[b] = forms[f].zero_point;
        check_and_free (&c, &in, kr);
      }
}

/* 4-bit weights (two's complement integers, E2M1 elements), which the
 * AVX-512 packing stores as indices, two to a byte: group sizes from 1
 * (an odd number of quads: the last byte's high half is padding) to past
 * k, short last groups, every row step (1, 4, 5, 8, 13 rows), partial
 * and whole channel blocks, and 255 activations against the largest
 * value; the other kernels ignore the values and must agree all the same. */
static void
test_random_nibbles (gconstpointer data)
{
  static const size_t channels[] = { 6, 19, 37 };
  const int8_t *tables[] = { int4_values, e2m1_values };
  const QsKernels *kr;

  if (!isa_kernels (data, &kr))
    return;
  for (gsize ti = 0; ti < G_N_ELEMENTS (tables); ti++)
    for (gsize ki = 0; ki < G_N_ELEMENTS (random_ks); ki++)
      for (gsize gi = 0; gi < G_N_ELEMENTS (random_sizes); gi++)
        for (int extreme = 0; extreme < 2; extreme++)
          {
            Case c;
            QsGroupwiseInput in = random_input ();

            case_init_nibbles (&c, row_steps[(ki + gi) % G_N_ELEMENTS (row_steps)],
                               channels[(gi + ti) % G_N_ELEMENTS (channels)], random_ks[ki], random_sizes[gi],
                               tables[ti], extreme);
            check_and_free (&c, &in, kr);
          }
}

/* A code that is none of the 16 values, or is one of them only before
 * its zero point is taken off, is found. */
static void
test_nibbles_outside (void)
{
  int8_t codes[6] = { 1, 12, -12, 0, 6, 5 };
  int32_t zero_points[2] = { 0, 0 };
  QsGroupwiseWeights w = {
    .n = 2, .k = 3, .group_size = 3, .groups_per_channel = 1,
    .codes = codes, .zero_points = zero_points, .nibble_values = e2m1_values,
  };

  g_assert_false (qs_groupwise_offsets_in_nibbles (&w));   /* 5 */
  codes[5] = 4;
  g_assert_true (qs_groupwise_offsets_in_nibbles (&w));
  zero_points[1] = -1;                                      /* 0 + 1, 6 + 1 = 7 */
  g_assert_false (qs_groupwise_offsets_in_nibbles (&w));
  w.nibble_values = int4_values;
  zero_points[1] = 0;
  g_assert_false (qs_groupwise_offsets_in_nibbles (&w));   /* 12 */
}

/* int16 codes: E3M2's blocks of 32 (k a multiple of 32, one more, and
 * short of one: a last block of 1 or 31 taps), other group sizes down to
 * 1 and up to past the vector kernels' 32 activations at a time, one group
 * longer than k; 1, 6, 19 and 37 output channels; 1, 4, 5, 8, 13 rows
 * (every row step of the kernels); zero and small random zero points;
 * integer and fractional input zero points. */
static void
test_random_wide (gconstpointer data)
{
  static const size_t ks[] = { 1, 31, 32, 33, 64, 95, 97, 250 };
  static const size_t sizes[] = { 32, 1, 3, 16, 33, 64, 300 };
  static const size_t channels[] = { 1, 6, 19, 37 };
  const QsKernels *kr;

  if (!isa_kernels (data, &kr))
    return;
  for (gsize ki = 0; ki < G_N_ELEMENTS (ks); ki++)
    for (gsize gi = 0; gi < G_N_ELEMENTS (sizes); gi++)
      {
        Case c;
        QsGroupwiseInput in = random_input ();

        case_init_wide (&c, row_steps[(ki + gi) % G_N_ELEMENTS (row_steps)],
                        channels[(ki + 2 * gi) % G_N_ELEMENTS (channels)], ks[ki], sizes[gi], 448,
                        false, gi == 0 || (ki + gi) % 2 == 0);
        check_and_free (&c, &in, kr);
      }
}

/* E3M2's elements, which the AVX-512 packing stores as 1-byte indices
 * into their 64 values (code sums as int16 up to groups of 73 taps, 73 *
 * 448 = 32,704; int32 from 74): every code in every tap and lane, random
 * codes, and +-448 against 255 activations in groups of 32, 73 and 74
 * (the sums at the int16 bound and just past it) and longer; k a
 * multiple of the group, one more and short of one; every row step (1,
 * 4, 5, 8, 13 rows); partial and whole channel blocks; scales at E8M0's
 * ends over 16 (results underflowing and overflowing) and ordinary ones;
 * input zero points 0 and 255 and random fractional ones. The other
 * kernels ignore the values and must agree all the same. */
static void
test_wide_values (gconstpointer data)
{
  static const size_t ks[] = { 1, 31, 32, 33, 64, 95, 146, 250 };
  static const size_t sizes[] = { 32, 1, 3, 73, 74, 300 };
  static const size_t channels[] = { 1, 6, 19, 37 };
  const QsKernels *kr;

  if (!isa_kernels (data, &kr))
    return;
  for (gsize ki = 0; ki < G_N_ELEMENTS (ks); ki++)
    for (gsize gi = 0; gi < G_N_ELEMENTS (sizes); gi++)
      for (int pattern = 0; pattern < 3; pattern++)
        for (int extreme_scale = 0; extreme_scale < 2; extreme_scale++)
          {
            Case c;
            QsGroupwiseInput in = random_input ();

            if (pattern == 2)
              in = fixed_input (end_zero_codes[(ki + gi) % 2], 0.0f);
            case_init_wide_values (&c, row_steps[(ki + gi + pattern) % G_N_ELEMENTS (row_steps)],
                                   channels[(ki + 2 * gi + pattern) % G_N_ELEMENTS (channels)], ks[ki],
                                   sizes[gi], pattern, extreme_scale);
            check_and_free (&c, &in, kr);
          }
}

/* @format's element @code as the block kernels' integer
 * (qs_block_integer_codes on one value of a block of scale @scale), and
 * that scale over the format's unit in @int_scale. */
static int16_t
block_integer (QsFormat  format,
               int32_t   code,
               float     scale,
               float    *int_scale)
{
  QsScheme scheme;
  QsChannelLayout layout = { 1, 1, 1, 1 };
  int16_t integer;

  qs_scheme_init_per_tensor (&scheme);
  scheme.format = format;
  g_assert_true (qs_block_integer_codes (&scheme, &layout, &code, &scale, &integer, int_scale));
  return integer;
}

/* The 64 values are E3M2's elements times 16 (qs_block_integer_codes of
 * each code), and a code that is none of them, or is one only before its
 * zero point is taken off, is found. */
static void
test_wide_values_outside (void)
{
  int16_t codes[6] = { 448, -1, 0, 9, 320, -448 };
  int32_t zero_points[2] = { 0, 0 };
  QsGroupwiseWeights w = {
    .n = 2, .k = 3, .group_size = 3, .groups_per_channel = 1,
    .codes16 = codes, .zero_points = zero_points, .wide_values = e3m2_values,
  };

  for (int32_t code = 0; code < 64; code++)
    {
      float int_scale;

      g_assert_cmpint (block_integer (QS_FORMAT_MXFP6_E3M2, code, 1.0f, &int_scale), ==, e3m2_values[code]);
    }
  g_assert_false (qs_groupwise_offsets_in_wide_values (&w));   /* 9 */
  codes[3] = 10;
  g_assert_true (qs_groupwise_offsets_in_wide_values (&w));
  zero_points[1] = -64;                                         /* 10 + 64 = 74 */
  g_assert_false (qs_groupwise_offsets_in_wide_values (&w));
  zero_points[1] = 0;
  codes[0] = 449;
  g_assert_false (qs_groupwise_offsets_in_wide_values (&w));
}

/* 255 activations against +-448 codes in E3M2's blocks of 32 and in the
 * largest group whose sums stay in int32 (255 * 448 * 18797 = 2,147,369,280),
 * with the input zero point 0 (the dot products at their largest) and 255
 * (the zero-point term as large); one taps short of a whole group too. */
static void
test_extreme_wide (gconstpointer data)
{
  size_t largest = INT32_MAX / (255 * 448);
  const size_t sizes[] = { 32, largest };
  const QsKernels *kr;

  if (!isa_kernels (data, &kr))
    return;
  g_assert_true (qs_groupwise_sums_fit (largest, 448));
  g_assert_false (qs_groupwise_sums_fit (largest + 1, 448));
  for (gsize z = 0; z < G_N_ELEMENTS (end_zero_codes); z++)
    for (gsize si = 0; si < G_N_ELEMENTS (sizes); si++)
      for (size_t short_by = 0; short_by < 2; short_by++)
        {
          Case c;
          QsGroupwiseInput in = fixed_input (end_zero_codes[z], 0.0f);

          case_init_wide (&c, 9, 3, 2 * sizes[si] - short_by, sizes[si], 448, true, true);
          check_and_free (&c, &in, kr);
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

/* Worked by hand with E3M2 integers: k = 3 in one group, codes 448 (28.0
 * times 16), -1 (the subnormal -0.0625) and 320 (20.0). */
static void
test_hand_wide (void)
{
  uint8_t a[3] = { 200, 7, 1 };
  int16_t codes[3] = { 448, -1, 320 };
  int32_t zero_points[1] = { 0 }, code_sums[1];
  float scales[1] = { 0.25f }, bias = 0.5f, y;
  QsGroupwiseWeights w = {
    .n = 1, .k = 3, .group_size = 32, .groups_per_channel = 1,
    .codes16 = codes, .zero_points = zero_points, .code_sums = code_sums, .scales = scales,
  };
  QsGroupwiseInput in = { .scale = 0.5f, .zero_code = 3, .zero_frac = 0.0f };

  qs_groupwise_code_sums (&w, code_sums);
  g_assert_cmpint (code_sums[0], ==, 767);
  qs_gemm_groupwise_u8_scalar (1, a, 3, &w, &in, &bias, &y, 1);
  /* (200-3) 448 + (7-3)(-1) + (1-3) 320 = 88256 - 4 - 640 = 87612;
   * 0.5 + (0.5 * 0.25) * 87612 = 10952 */
  g_assert_cmpfloat (y, ==, 10952.0f);
}

/* ---- depthwise ------------------------------------------------------------ */

/* The naive depthwise loop: every tap of the window, padding read as the
 * code zero_code, (a - zero_code) * w summed in int64 per group, the same
 * float32 rescale and order as the kernel. */
static void
naive_depthwise (const QsDepthwiseShape        *s,
                 const uint8_t                 *input,
                 const QsDepthwiseGroupWeights *w,
                 const QsGroupwiseInput        *in,
                 const float                   *bias,
                 int                            oy,
                 float                         *out)
{
  size_t C = w->channels;

  for (int ox = 0; ox < s->out_w; ox++)
    for (size_t c = 0; c < C; c++)
      {
        float y = bias[c];

        for (size_t g = 0; g < w->groups; g++)
          {
            int64_t total = 0, code_sum = 0;

            for (size_t t = g * w->group_size; t < MIN ((g + 1) * w->group_size, w->taps); t++)
              {
                int iy = oy * s->stride_h - s->pad_top + (int) t / s->kernel_w;
                int ix = ox * s->stride_w - s->pad_left + (int) t % s->kernel_w;
                int64_t a = iy < 0 || iy >= s->in_h || ix < 0 || ix >= s->in_w
                            ? in->zero_code : input[((size_t) iy * s->in_w + ix) * C + c];

                total += (a - in->zero_code) * w->w[t * C + c];
                code_sum += w->w[t * C + c];
              }
            g_assert_cmpint (code_sum, ==, w->code_sums[g * C + c]);
            y += (in->scale * w->scales[g * C + c]) * ((float) total - in->zero_frac * (float) code_sum);
          }
        out[(size_t) ox * C + c] = y;
      }
}

/* Random shapes (strides, padding on every side, 1x1 to 5x5 kernels and
 * a 9x9 one, larger than the vector kernels' tap tables), group sizes
 * that split the taps with a short last group, one group per channel, and
 * one tap per group (some groups wholly in the padding); weights (code -
 * zero point) in [-@max_weight, @max_weight]: 8-bit unsigned ranges' 255
 * or E3M2's 448; 13, 37 and 83 channels (partial blocks of 8 and 16, and
 * 64 channels side by side); integer and fractional zero points. */
static void
depthwise_random (gconstpointer data,
                  int           max_weight)
{
  static const int kernels[][2] = { { 1, 1 }, { 3, 3 }, { 5, 5 }, { 3, 1 }, { 2, 3 }, { 9, 9 } };
  static const size_t sizes[] = { 1, 2, 4, 9, 32 };
  static const int channels[] = { 13, 37, 83 };
  const QsKernels *kr;

  if (!isa_kernels (data, &kr))
    return;
  for (gsize ki = 0; ki < G_N_ELEMENTS (kernels); ki++)
    for (gsize gi = 0; gi < G_N_ELEMENTS (sizes); gi++)
      {
        int kh = kernels[ki][0], kw = kernels[ki][1], stride = 1 + (int) (gi % 2);
        int in_h = 7, in_w = 6, C = channels[(ki + gi) % G_N_ELEMENTS (channels)], pad = kh / 2;
        size_t taps = (size_t) (kh * kw), groups = (taps + sizes[gi] - 1) / sizes[gi];
        QsDepthwiseShape shape = {
          .in_h = in_h, .in_w = in_w, .channels = C, .kernel_h = kh, .kernel_w = kw,
          .stride_h = stride, .stride_w = stride, .pad_top = pad, .pad_left = kw / 2,
          .out_h = (in_h + 2 * pad - kh) / stride + 1, .out_w = (in_w + 2 * (kw / 2) - kw) / stride + 1,
        };
        QsGroupwiseInput in = {
          .scale = (float) g_rand_double_range (rng, 0.001, 0.1),
          .zero_code = g_rand_int_range (rng, 0, 256),
          .zero_frac = gi % 2 ? 0.0f : (float) g_rand_double_range (rng, -0.5, 0.5),
        };
        g_autofree uint8_t *input = g_new (uint8_t, (size_t) in_h * in_w * C);
        g_autofree int16_t *wt = g_new (int16_t, taps * C);
        g_autofree int32_t *code_sums = g_new (int32_t, groups * C);
        g_autofree float *scales = g_new (float, groups * C);
        g_autofree float *bias = g_new (float, C);
        g_autofree int32_t *acc = g_new (int32_t, C);
        g_autofree float *got = g_new (float, (size_t) shape.out_w * C);
        g_autofree float *want = g_new (float, (size_t) shape.out_w * C);
        QsDepthwiseGroupWeights w = {
          .channels = (size_t) C, .taps = taps, .group_size = sizes[gi], .groups = groups,
          .w = wt, .code_sums = code_sums, .scales = scales,
        };

        random_codes (input, (size_t) in_h * in_w * C);
        for (size_t i = 0; i < taps * C; i++)
          wt[i] = (int16_t) g_rand_int_range (rng, -max_weight, max_weight + 1);
        random_floats (scales, groups * C, 1e-4, 0.05);
        random_floats (bias, (size_t) C, -1.0, 1.0);
        qs_depthwise_group_code_sums ((size_t) C, taps, sizes[gi], wt, code_sums);
        for (int oy = 0; oy < shape.out_h; oy++)
          {
            naive_depthwise (&shape, input, &w, &in, bias, oy, want);
            memset (got, 0xff, (size_t) shape.out_w * C * sizeof (float));
            (kr == NULL ? qs_depthwise_groupwise_u8_scalar : kr->depthwise_groupwise)
              (&shape, input, &w, &in, bias, oy, acc, got);
            g_assert_cmpmem (got, (size_t) shape.out_w * C * sizeof (float),
                             want, (size_t) shape.out_w * C * sizeof (float));
          }
      }
}

static void
test_depthwise_random (gconstpointer data)
{
  depthwise_random (data, 255);
}

/* The same with E3M2's int16 integers, up to 448. */
static void
test_depthwise_random_wide (gconstpointer data)
{
  depthwise_random (data, 448);
}

/* Worked by hand: one channel, a 2x2 kernel in groups of 3 taps (3, 1)
 * over a 2x2 input padded on the left, so tap 0 and tap 2 of output 0
 * fall in the padding. */
static void
test_depthwise_hand (void)
{
  uint8_t input[4] = { 5, 7, 2, 9 };   /* rows (5, 7), (2, 9) */
  int16_t wt[4] = { 3, -1, 2, 4 };     /* taps (0,0) (0,1) (1,0) (1,1) */
  int32_t code_sums[2], acc[1];
  float scales[2] = { 0.5f, 0.25f }, bias = 1.0f, out[2];
  QsDepthwiseShape shape = {
    .in_h = 2, .in_w = 2, .channels = 1, .kernel_h = 2, .kernel_w = 2,
    .stride_h = 1, .stride_w = 1, .pad_top = 0, .pad_left = 1, .out_h = 1, .out_w = 2,
  };
  QsDepthwiseGroupWeights w = {
    .channels = 1, .taps = 4, .group_size = 3, .groups = 2,
    .w = wt, .code_sums = code_sums, .scales = scales,
  };
  QsGroupwiseInput in = { .scale = 1.0f, .zero_code = 1, .zero_frac = 0.0f };

  qs_depthwise_group_code_sums (1, 4, 3, wt, code_sums);
  g_assert_cmpint (code_sums[0], ==, 3 - 1 + 2);
  g_assert_cmpint (code_sums[1], ==, 4);
  qs_depthwise_groupwise_u8_scalar (&shape, input, &w, &in, &bias, 0, acc, out);
  /* output 0 reads (pad, 5 / pad, 2): group 0 = (5-1)(-1) = -4, times 0.5
   * = -2; group 1 = (2-1)(4) = 4, times 0.25 = 1; 1 - 2 + 1 = 0.
   * output 1 reads (5, 7 / 2, 9): group 0 = (5-1)3 + (7-1)(-1) + (2-1)2
   * = 8, times 0.5 = 4; group 1 = (9-1)4 = 32, times 0.25 = 8; 13. */
  g_assert_cmpfloat (out[0], ==, 0.0f);
  g_assert_cmpfloat (out[1], ==, 13.0f);
}

/* ---- block elements as integers ----------------------------------------- */

/* The integers by hand: E2M1 0x7 is 6.0 (12 halves), 0xD is -3.0; E2M3
 * 0x1F is 7.5 (60 eighths), 0x01 the subnormal 0.125 (1); E3M2 0x1F is
 * 28.0 (448 sixteenths), 0x21 the subnormal -0.0625 (-1), 0x04 the
 * smallest normal 0.25 (4), 0x0E is 1.5 (24); MXINT8 codes are their own
 * integers. The formats without a unit have none; the bounds are each
 * format's largest integer. */
static void
test_block_integer_hand (void)
{
  static const struct { QsFormat format; int32_t code; int16_t integer; } cases[] = {
    { QS_FORMAT_MXFP4, 0x7, 12 }, { QS_FORMAT_MXFP4, 0xD, -6 }, { QS_FORMAT_NVFP4, 0x1, 1 },
    { QS_FORMAT_MXFP6_E2M3, 0x1F, 60 }, { QS_FORMAT_MXFP6_E2M3, 0x01, 1 },
    { QS_FORMAT_MXFP6_E2M3, 0x3F, -60 }, { QS_FORMAT_MXINT8, -127, -127 }, { QS_FORMAT_MXINT8, 5, 5 },
    { QS_FORMAT_MXFP6_E3M2, 0x1F, 448 }, { QS_FORMAT_MXFP6_E3M2, 0x21, -1 },
    { QS_FORMAT_MXFP6_E3M2, 0x04, 4 }, { QS_FORMAT_MXFP6_E3M2, 0x0E, 24 },
    { QS_FORMAT_MXFP6_E3M2, 0x3F, -448 },
  };
  static const struct { QsFormat format; int bound; } bounds[] = {
    { QS_FORMAT_MXINT8, 127 }, { QS_FORMAT_MXFP4, 12 }, { QS_FORMAT_NVFP4, 12 },
    { QS_FORMAT_MXFP6_E2M3, 60 }, { QS_FORMAT_MXFP6_E3M2, 448 },
  };
  static const QsFormat none[] = { QS_FORMAT_MXFP8_E4M3, QS_FORMAT_MXFP8_E5M2, QS_FORMAT_NF4, QS_FORMAT_INT };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      float int_scale;

      g_assert_cmpint (block_integer (cases[i].format, cases[i].code, 0.75f, &int_scale), ==, cases[i].integer);
      g_assert_cmpfloat (int_scale, ==, 0.75f / qs_block_integer_unit (cases[i].format));
    }
  for (gsize i = 0; i < G_N_ELEMENTS (bounds); i++)
    g_assert_cmpint (qs_block_integer_bound (bounds[i].format), ==, bounds[i].bound);
  for (gsize i = 0; i < G_N_ELEMENTS (none); i++)
    {
      g_assert_cmpint (qs_block_integer_unit (none[i]), ==, 0);
      g_assert_cmpint (qs_block_integer_bound (none[i]), ==, 0);
    }
}

/* On random tensors (a run not a multiple of the block), every integer
 * times its block's scale / unit is the core's reconstruction bit for
 * bit; a subnormal scale whose division loses bits is refused. */
static void
test_block_integer_exact (void)
{
  static const QsFormat formats[] = { QS_FORMAT_MXINT8, QS_FORMAT_MXFP4, QS_FORMAT_NVFP4,
                                      QS_FORMAT_MXFP6_E2M3, QS_FORMAT_MXFP6_E3M2 };
  enum { K = 75, N = 6 };
  QsChannelLayout layout = { K * N, K, N, 1 };

  for (gsize f = 0; f < G_N_ELEMENTS (formats); f++)
    {
      QsScheme scheme;
      QsBlockGeometry geo;
      float data[K * N], recon[K * N];
      int32_t codes[K * N];
      int16_t ints[K * N];
      g_autofree float *scales = NULL;
      g_autofree float *int_scales = NULL;

      qs_scheme_init_per_tensor (&scheme);
      scheme.format = formats[f];
      g_assert_cmpint (qs_block_geometry (&scheme, &layout, &geo), ==, QS_OK);
      scales = g_new (float, geo.block_count);
      int_scales = g_new (float, geo.block_count);
      for (size_t i = 0; i < K * N; i++)
        data[i] = (float) (g_rand_double_range (rng, -1.0, 1.0) * pow (10.0, g_rand_int_range (rng, -3, 2)));
      g_assert_cmpint (qs_block_quantize (&scheme, &layout, data, codes, scales, NULL, NULL, NULL), ==, QS_OK);
      g_assert_cmpint (qs_block_dequantize (&scheme, &layout, codes, scales, NULL, recon), ==, QS_OK);
      g_assert_true (qs_block_integer_codes (&scheme, &layout, codes, scales, ints, int_scales));
      for (size_t i = 0; i < K * N; i++)
        {
          size_t b = (i % N) * geo.blocks_per_run + (i / N) / geo.block_size;
          float v = (float) ints[i] * int_scales[b];

          /* Equal as numbers; a -0.0 element becomes +0.0. */
          g_assert_cmpfloat (v, ==, recon[i]);
          if (v != 0.0f)
            g_assert_cmpmem (&v, sizeof v, &recon[i], sizeof v);
        }
      scales[0] = 1.4e-45f;   /* the smallest subnormal: halving it is inexact */
      g_assert_false (qs_block_integer_codes (&scheme, &layout, codes, scales, ints, int_scales));
    }
}

/* Channels [c0, c0 + nc) of @c's weights, as a layer packed a range of
 * channels at a time hands them to the packer. */
static QsGroupwiseWeights
case_channels (const Case *c,
               size_t      c0,
               size_t      nc)
{
  QsGroupwiseWeights w = case_weights (c);

  w.n = nc;
  w.codes = c->codes != NULL ? c->codes + c0 * c->k : NULL;
  w.codes16 = c->codes16 != NULL ? c->codes16 + c0 * c->k : NULL;
  w.zero_points += c0 * c->groups;
  w.code_sums += c0 * c->groups;
  w.scales += c0 * c->groups;
  return w;
}

/* A layer packed a range of channel blocks at a time (one block, then
 * two, then three, ...; the last range short) into a buffer of another
 * fill byte is the packing of the whole, byte for byte: int8 codes whose
 * offsets fit int8 and ones that do not (8-bit codes, random zero points:
 * the AVX-512 raw-code form), int16 codes, 4-bit E2M1 elements (the
 * AVX-512 nibbles, two to a byte), E3M2's elements with their 64 values
 * (the AVX-512 1-byte indices); and every channel's and tap's
 * reconstruction read back from it is (code - zero point) * scale. */
static void
test_pack_ranges (gconstpointer data)
{
  static const size_t ks[] = { 27, 100 };
  static const size_t sizes[] = { 3, 32, 300 };
  static const size_t channels[] = { 5, 37, 80 };
  const QsKernels *kr;

  if (!isa_kernels (data, &kr))
    return;
  g_assert_cmpuint (kr->groupwise_pack_channels, >, 0);
  for (int form = 0; form < 5; form++)
    for (gsize ki = 0; ki < G_N_ELEMENTS (ks); ki++)
      for (gsize gi = 0; gi < G_N_ELEMENTS (sizes); gi++)
        {
          size_t n = channels[(ki + gi + form) % G_N_ELEMENTS (channels)], nb = kr->groupwise_pack_channels;
          Case c;
          QsGroupwiseWeights w;
          size_t bytes;
          g_autofree uint8_t *whole = NULL, *ranged = NULL;

          if (form == 2)
            case_init_wide (&c, 1, n, ks[ki], sizes[gi], 448, false, false);
          else if (form == 3)
            case_init_nibbles (&c, 1, n, ks[ki], sizes[gi], e2m1_values, false);
          else if (form == 4)
            case_init_wide_values (&c, 1, n, ks[ki], sizes[gi], 0, false);
          else
            case_init (&c, 1, n, ks[ki], sizes[gi], form == 0 ? 4 : 8, false, false);
          w = case_weights (&c);
          g_assert_true (form != 1 || w.wide_offsets);
          g_assert_false (form == 0 && w.wide_offsets);
          qs_groupwise_code_sums (&w, c.code_sums);
          bytes = kr->groupwise_packed_size (&w);
          whole = g_malloc (bytes);
          ranged = g_malloc (bytes);
          memset (whole, 0x5a, bytes);
          memset (ranged, 0xa5, bytes);
          kr->groupwise_pack (&w, 0, whole);
          /* AVX-512 keeps E3M2's elements as bytes, not int16: well under
           * the size without the values, where the groups' and the
           * packing's heads are not most of it. */
          if (form == 4 && kr->isa == QS_ISA_AVX512VNNI && ks[ki] >= 100 && sizes[gi] >= 32)
            {
              QsGroupwiseWeights int16_pairs = w;

              int16_pairs.wide_values = NULL;
              g_assert_cmpuint (bytes, <, kr->groupwise_packed_size (&int16_pairs) * 3 / 5);
            }
          for (size_t c0 = 0, blocks = 1; c0 < n; c0 += blocks * nb, blocks++)
            {
              size_t nc = MIN (blocks * nb, n - c0);
              QsGroupwiseWeights part = case_channels (&c, c0, nc);

              kr->groupwise_pack (&part, c0, ranged);
            }
          g_assert_cmpmem (ranged, bytes, whole, bytes);
          for (size_t j = 0; j < n; j++)
            for (size_t t = 0; t < c.k; t++)
              {
                size_t b = j * c.groups + t / c.group_size;
                float want = (float) (qs_groupwise_code (&w, j, t) - c.zero_points[b]) * c.scales[b];

                g_assert_cmpfloat (kr->groupwise_packed_weight (&w, ranged, j, t), ==, want);
              }
          case_free (&c);
        }
}

int
main (int    argc,
      char **argv)
{
  static const struct { QsIsa isa; const char *name; } isas[] = {
    { QS_ISA_SCALAR, "scalar" }, { QS_ISA_AVX2, "avx2" }, { QS_ISA_AVX512VNNI, "avx512vnni" },
  };
  /* Each ISA's kernels under /groupwise/ISA/NAME; the packing by ranges
   * only where there is a packing (not the scalar kernel's). */
  static const struct { const char *name; GTestDataFunc test; } per_isa[] = {
    { "random", test_random }, { "extreme", test_extreme }, { "extreme-sums", test_extreme_sums },
    { "depthwise-random", test_depthwise_random }, { "random-int16", test_random_wide },
    { "random-nibbles", test_random_nibbles }, { "extreme-int16", test_extreme_wide },
    { "depthwise-random-int16", test_depthwise_random_wide }, { "e3m2-values", test_wide_values },
    { "pack-ranges", test_pack_ranges },
  };
  int status;

  g_test_init (&argc, &argv, NULL);
  rng = g_rand_new_with_seed (20261204);
  g_test_add_func ("/groupwise/hand", test_hand);
  g_test_add_func ("/groupwise/hand-int16", test_hand_wide);
  g_test_add_func ("/groupwise/depthwise-hand", test_depthwise_hand);
  g_test_add_func ("/groupwise/nibbles-outside", test_nibbles_outside);
  g_test_add_func ("/groupwise/wide-values-outside", test_wide_values_outside);
  for (gsize i = 0; i < G_N_ELEMENTS (isas); i++)
    for (gsize t = 0; t < G_N_ELEMENTS (per_isa); t++)
      {
        g_autofree char *path = g_strdup_printf ("/groupwise/%s/%s", isas[i].name, per_isa[t].name);

        if (per_isa[t].test != test_pack_ranges || isas[i].isa != QS_ISA_SCALAR)
          g_test_add_data_func (path, GINT_TO_POINTER (isas[i].isa), per_isa[t].test);
      }
  g_test_add_func ("/groupwise/block-integer-hand", test_block_integer_hand);
  g_test_add_func ("/groupwise/block-integer-exact", test_block_integer_exact);
  status = g_test_run ();
  g_rand_free (rng);
  return status;
}
