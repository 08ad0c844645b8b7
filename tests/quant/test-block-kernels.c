/* test-block-kernels.c: the block pass's SIMD kernels bit for bit against its scalar reference.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every blockwise format on random tensors whose runs are no multiple of
 * the block, with zeros, subnormals, huge values, NaN and infinities, in
 * the three layouts (contiguous runs, gathered blocks, channels last):
 * the analysis under QS_FORCE_SCALAR=1 (the reference), QS_FORCE_AVX2=1
 * and the CPU's own choice must agree in every field, bit for bit, and
 * in the count of every code. Then the exact shortcuts the block pass
 * takes for its scales, each against the libm computation it replaces.
 */

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "quant/qs-analysis.h"
#include "quant/qs-block.h"
#include "quant/qs-block-private.h"
#include "quant/qs-float-format.h"

#define CODE_SLOTS 65537

typedef struct {
  QsAnalysis analysis;
  uint64_t  *codes;
} Result;

static guint64 rng_state;

static guint64
next_random (void)
{
  /* xorshift64*: reproducible from the seed the test prints. */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * UINT64_C (2685821657736338717);
}

static double
uniform (void)
{
  return (double) (next_random () >> 11) * (1.0 / 9007199254740992.0);
}

static float
normal (double sigma)
{
  double u1 = uniform () + 1e-300, u2 = uniform ();
  return (float) (sqrt (-2.0 * log (u1)) * cos (2.0 * G_PI * u2) * sigma);
}

typedef enum {
  DATA_WEIGHTS,     /* N(0, 0.05), with exact zeros */
  DATA_WILD,        /* every magnitude: subnormals to near FLT_MAX, NaN, inf, -0 */
  DATA_TIES,        /* on the formats' midpoints and grid points */
  DATA_NF4_TIES,    /* on NF4's midpoints, in blocks whose absmax is 1 */
  DATA_GRID_EDGES,  /* on and next to the FP4 and FP6 midpoints, subnormal ones too, at their MX scale */
  DATA_ZERO_SPANS,  /* spans of 256 zeros of either sign (whole blocks of them) between weights */
} DataKind;

/* The midpoints and largest value of the FP4 and FP6 grids. */
static const struct {
  const float *midpoints;
  int          n;
  float        max;
} grids[] = {
  { qs_fp4_e2m1_midpoints, 7, 6.0f },
  { qs_fp6_e2m3_midpoints, 31, 7.5f },
  { qs_fp6_e3m2_midpoints, 31, 28.0f },
};

static void
fill (float *x, gsize n, DataKind kind)
{
  for (gsize i = 0; i < n; i++)
    {
      guint64 r = next_random ();
      switch (kind)
        {
        case DATA_WEIGHTS:
          x[i] = r % 37 == 0 ? 0.0f : normal (0.05);
          break;
        case DATA_WILD:
          switch (r % 23)
            {
            case 0:
              x[i] = NAN;
              break;
            case 1:
              x[i] = (r >> 8) % 2 ? INFINITY : -INFINITY;
              break;
            case 2:
              x[i] = -0.0f;
              break;
            case 3:
              x[i] = ldexpf ((float) ((r >> 8) % 1000) - 500.0f, -150 + (int) ((r >> 20) % 30));
              break;
            case 4:
              x[i] = ((r >> 8) % 2 ? 1.0f : -1.0f) * ldexpf (1.0f + (float) ((r >> 9) % 1024) / 1024.0f, 100 + (int) ((r >> 20) % 28));
              break;
            default:
              x[i] = ldexpf (normal (1.0), (int) ((r >> 8) % 60) - 40);
              break;
            }
          break;
        case DATA_NF4_TIES:
          {
            int level = (int) ((r >> 8) % 15);
            float mid = (float) (((double) qs_nf4_level (level) + (double) qs_nf4_level (level + 1)) / 2.0);
            if (i % 16 == 0)
              mid = (r >> 12) % 2 ? 1.0f : -1.0f;
            else if ((r >> 16) % 3 != 0)
              mid = nextafterf (mid, (r >> 20) % 2 ? INFINITY : -INFINITY);
            x[i] = mid;
          }
          break;
        case DATA_GRID_EDGES:
          {
            /* Blocks of 32 whose first element is the grid's largest
             * value, so their MX scale is 2^p: the others scale back to
             * the midpoints exactly, or a few ulps off. */
            gsize block = i / 32, g = block % G_N_ELEMENTS (grids);
            int p = (int) (block / G_N_ELEMENTS (grids) % 9) - 4;
            float v = i % 32 == 0 ? grids[g].max : grids[g].midpoints[(r >> 8) % (guint64) grids[g].n];
            for (int ulps = (int) ((r >> 16) % 5) - 2; ulps != 0; ulps += ulps > 0 ? -1 : 1)
              v = nextafterf (v, ulps > 0 ? INFINITY : 0.0f);
            x[i] = ldexpf ((r >> 24) % 2 ? -v : v, p);
          }
          break;
        case DATA_ZERO_SPANS:
          if (i / 256 % 3 == 1)
            x[i] = (r >> 8) % 2 ? -0.0f : 0.0f;
          else
            x[i] = normal (0.05);
          break;
        case DATA_TIES:
        default:
          {
            /* Multiples of 1/16 and 1/64 in [-8, 8], and numbers near
             * them, scaled by one power of two per block: ties and near
             * ties for every element grid. */
            float v = (float) ((int) ((r >> 8) % 1025) - 512) / 64.0f;
            if ((r >> 24) % 4 == 0)
              v = nextafterf (v, (r >> 26) % 2 ? INFINITY : -INFINITY);
            x[i] = ldexpf (v, (int) (i / 16 % 7) - 3);
          }
          break;
        }
    }
}

static void
set_kernel (const char *force)
{
  g_unsetenv ("QS_FORCE_SCALAR");
  g_unsetenv ("QS_FORCE_AVX2");
  if (force != NULL)
    g_setenv (force, "1", TRUE);
}

static void
run (const QsScheme        *scheme,
     const QsChannelLayout *layout,
     const float           *x,
     int                    threads,
     const char            *force,
     Result                *r)
{
  QsQuantParams params;

  set_kernel (force);
  r->codes = g_new0 (uint64_t, CODE_SLOTS);
  g_assert_cmpint (qs_block_analyze_codes (scheme, layout, x, threads, NULL, &params, &r->analysis, r->codes), ==, QS_OK);
  qs_quant_params_clear (&params);
  set_kernel (NULL);
}

/* run() a second time with what the first kept of the data (a
 * QsRangeMemo): the pass of a change of scheme, whose SIMD kernel counts
 * code slots alone and takes the data's histogram and sum of squares
 * from the memo. */
static void
run_changed (const QsScheme        *scheme,
             const QsChannelLayout *layout,
             const float           *x,
             int                    threads,
             Result                *r)
{
  QsRangeMemo memo = { 0 };
  QsQuantParams params;

  r->codes = g_new0 (uint64_t, CODE_SLOTS);
  for (int round = 0; round < 2; round++)
    {
      if (round > 0)
        qs_analysis_clear (&r->analysis);
      g_assert_cmpint (qs_block_analyze_codes (scheme, layout, x, threads, &memo, &params, &r->analysis, r->codes),
                       ==, QS_OK);
      qs_quant_params_clear (&params);
    }
  qs_range_memo_clear (&memo);
}

/* Equal bits, or both NaN (whose payload no output shows). */
static void
assert_same_double (const char *what, const char *label, double a, double b)
{
  if (isnan (a) && isnan (b))
    return;
  if (memcmp (&a, &b, sizeof a) != 0)
    g_error ("%s: %s differs: %a against %a", label, what, a, b);
}

static void
assert_same (const char *label, const Result *ref, const Result *got)
{
  const QsAnalysis *a = &ref->analysis, *b = &got->analysis;
  const QsBlockInfo *ia = a->blocks, *ib = b->blocks;

  assert_same_double ("mse", label, a->mse, b->mse);
  assert_same_double ("rmse", label, a->rmse, b->rmse);
  assert_same_double ("sqnr", label, a->sqnr_db, b->sqnr_db);
  assert_same_double ("cosine", label, a->cosine, b->cosine);
  assert_same_double ("max error", label, a->max_abs_error, b->max_abs_error);
  assert_same_double ("zero error", label, a->zero_error, b->zero_error);
  g_assert_cmpuint (a->clipped_count, ==, b->clipped_count);
  g_assert_cmpuint (a->nonfinite_count, ==, b->nonfinite_count);
  g_assert_cmpuint (a->exact_zero_count, ==, b->exact_zero_count);
  g_assert_cmpuint (a->levels_used, ==, b->levels_used);
  g_assert_cmpmem (ref->codes, CODE_SLOTS * sizeof (uint64_t), got->codes, CODE_SLOTS * sizeof (uint64_t));
  g_assert_cmpint (a->histogram.bins, ==, b->histogram.bins);
  g_assert_cmpmem (a->histogram.counts, a->histogram.bins * sizeof (uint64_t),
                   b->histogram.counts, b->histogram.bins * sizeof (uint64_t));
  g_assert_cmpmem (a->histogram.quantized_counts, a->histogram.bins * sizeof (uint64_t),
                   b->histogram.quantized_counts, b->histogram.bins * sizeof (uint64_t));
  g_assert_cmpuint (a->histogram.underflow, ==, b->histogram.underflow);
  g_assert_cmpuint (a->histogram.overflow, ==, b->histogram.overflow);
  g_assert_cmpuint (a->histogram.quantized_underflow, ==, b->histogram.quantized_underflow);
  g_assert_cmpuint (a->histogram.quantized_overflow, ==, b->histogram.quantized_overflow);

  assert_same_double ("block sqnr", label, ia->sqnr_db, ib->sqnr_db);
  assert_same_double ("exact-scale sqnr", label, ia->sqnr_exact_scale_db, ib->sqnr_exact_scale_db);
  assert_same_double ("tensor scale", label, ia->tensor_scale, ib->tensor_scale);
  g_assert_cmpuint (ia->zero_scale_blocks, ==, ib->zero_scale_blocks);
  g_assert_cmpint (ia->scale_bins, ==, ib->scale_bins);
  assert_same_double ("scale histogram start", label, ia->scale_log2_lo, ib->scale_log2_lo);
  g_assert_cmpmem (ia->scale_counts, ia->scale_bins * sizeof (uint64_t), ib->scale_counts, ib->scale_bins * sizeof (uint64_t));
  g_assert_cmpint (ia->worst_count, ==, ib->worst_count);
  for (int k = 0; k < ia->worst_count; k++)
    {
      g_assert_cmpuint (ia->worst[k].channel, ==, ib->worst[k].channel);
      g_assert_cmpuint (ia->worst[k].offset, ==, ib->worst[k].offset);
      g_assert_cmpuint (ia->worst[k].length, ==, ib->worst[k].length);
      assert_same_double ("worst mse", label, ia->worst[k].mse, ib->worst[k].mse);
      assert_same_double ("worst max error", label, ia->worst[k].max_abs_error, ib->worst[k].max_abs_error);
    }
}

static void
result_clear (Result *r)
{
  qs_analysis_clear (&r->analysis);
  g_free (r->codes);
}

typedef struct {
  const char *format;
  int         bits;        /* int groups */
  int         group_size;  /* 0: the format's own */
  QsMapping   mapping;
  QsRounding  rounding;
  bool        narrow;
  bool        is_unsigned;
} Case;

static const Case cases[] = {
  { "int", 4, 32, QS_MAPPING_ASYMMETRIC, QS_ROUNDING_HALF_EVEN },
  { "int", 4, 128, QS_MAPPING_SYMMETRIC, QS_ROUNDING_HALF_EVEN },
  { "int", 8, 128, QS_MAPPING_ASYMMETRIC, QS_ROUNDING_HALF_EVEN },
  { "int", 8, 64, QS_MAPPING_SYMMETRIC, QS_ROUNDING_HALF_AWAY },
  { "int", 4, 48, QS_MAPPING_ASYMMETRIC, QS_ROUNDING_HALF_AWAY },
  { "int", 3, 37, QS_MAPPING_SYMMETRIC, QS_ROUNDING_HALF_EVEN, true },
  { "int", 6, 33, QS_MAPPING_ASYMMETRIC, QS_ROUNDING_HALF_EVEN, false, true },
  /* The widest codes: the SIMD kernel's rounding without the clamp
   * before it holds up to |x / scale| = qmax - qmin. */
  { "int", 16, 32, QS_MAPPING_SYMMETRIC, QS_ROUNDING_HALF_AWAY },
  { "int", 16, 32, QS_MAPPING_ASYMMETRIC, QS_ROUNDING_HALF_EVEN, false, true },
  { "mxfp8-e4m3", 8, 0, QS_MAPPING_SYMMETRIC, QS_ROUNDING_HALF_EVEN },
  { "mxfp8-e5m2", 8, 0, QS_MAPPING_SYMMETRIC, QS_ROUNDING_HALF_EVEN },
  { "mxfp6-e2m3", 8, 0, QS_MAPPING_SYMMETRIC, QS_ROUNDING_HALF_EVEN },
  { "mxfp6-e3m2", 8, 0, QS_MAPPING_SYMMETRIC, QS_ROUNDING_HALF_EVEN },
  { "mxfp4", 8, 0, QS_MAPPING_SYMMETRIC, QS_ROUNDING_HALF_EVEN },
  { "mxint8", 8, 0, QS_MAPPING_SYMMETRIC, QS_ROUNDING_HALF_EVEN },
  { "nvfp4", 8, 0, QS_MAPPING_SYMMETRIC, QS_ROUNDING_HALF_EVEN },
  { "nf4", 8, 0, QS_MAPPING_SYMMETRIC, QS_ROUNDING_HALF_EVEN },
  { "mxfp4", 8, 20, QS_MAPPING_SYMMETRIC, QS_ROUNDING_HALF_EVEN },
  { "nvfp4", 8, 7, QS_MAPPING_SYMMETRIC, QS_ROUNDING_HALF_EVEN },
  { "nf4", 8, 100, QS_MAPPING_SYMMETRIC, QS_ROUNDING_HALF_EVEN },
  /* More than 15 steps a block: the SIMD kernel's slot counts (4 bits a
   * lane) are counted out within the block. */
  { "nf4", 8, 500, QS_MAPPING_SYMMETRIC, QS_ROUNDING_HALF_EVEN },
};

static void
case_scheme (const Case *c, QsScheme *scheme)
{
  qs_scheme_init_per_tensor (scheme);
  g_assert_true (qs_format_parse (c->format, &scheme->format));
  scheme->bits = c->bits;
  scheme->group_size = c->group_size;
  scheme->rounding = c->rounding;
  if (scheme->format == QS_FORMAT_INT)
    {
      scheme->granularity = QS_GRANULARITY_GROUP;
      scheme->mapping = c->mapping;
      scheme->narrow = c->narrow;
      scheme->is_unsigned = c->is_unsigned;
    }
  g_assert_cmpint (qs_scheme_validate (scheme, NULL), ==, QS_OK);
}

/* Shapes (with the output-channel axis) whose runs are no multiple of any
 * block: one run, runs side by side (axis 0), gathered (axis 1 of 3) and
 * channels last (Dense). */
typedef struct {
  int64_t shape[3];
  int     rank;
  int     axis;
} Shape;

static const Shape shapes[] = {
  { { 5003, 0, 0 }, 1, 0 },
  { { 7, 613, 0 }, 2, 0 },
  { { 9, 5, 23 }, 3, 1 },
  { { 391, 6, 0 }, 2, 1 },
};

static void
test_kernels_match_reference (void)
{
  const char *kernel = qs_analysis_kernel_name ();

  rng_state = UINT64_C (0x9E3779B97F4A7C15);
  g_test_message ("fused kernel of this CPU: %s", kernel);
  for (gsize s = 0; s < G_N_ELEMENTS (shapes); s++)
    {
      QsChannelLayout layout;
      g_autofree float *x = NULL;

      if (shapes[s].rank == 1)
        layout = qs_channel_layout_per_tensor ((size_t) shapes[s].shape[0]);
      else
        g_assert_cmpint (qs_channel_layout_for_axis (shapes[s].shape, shapes[s].rank, shapes[s].axis, &layout), ==, QS_OK);
      x = g_new (float, layout.count);
      for (int kind = DATA_WEIGHTS; kind <= DATA_ZERO_SPANS; kind++)
        {
          fill (x, layout.count, (DataKind) kind);
          for (gsize c = 0; c < G_N_ELEMENTS (cases); c++)
            {
              QsScheme scheme;
              Result ref, avx2, best, two, changed;
              g_autofree char *label = g_strdup_printf ("%s/%d G=%d shape %zu data %d", cases[c].format,
                                                        cases[c].bits, cases[c].group_size, s, kind);

              case_scheme (&cases[c], &scheme);
              run (&scheme, &layout, x, 1, "QS_FORCE_SCALAR", &ref);
              run (&scheme, &layout, x, 1, "QS_FORCE_AVX2", &avx2);
              run (&scheme, &layout, x, 1, NULL, &best);
              run (&scheme, &layout, x, 2, NULL, &two);
              /* Gathered and channels-last blocks, scale rows run out. */
              run_changed (&scheme, &layout, x, 2, &changed);
              assert_same (label, &ref, &avx2);
              assert_same (label, &ref, &best);
              assert_same (label, &ref, &two);
              assert_same (label, &ref, &changed);
              result_clear (&ref);
              result_clear (&avx2);
              result_clear (&best);
              result_clear (&two);
              result_clear (&changed);
            }
        }
    }
}

/* Tensors large enough for the SIMD kernel's (code, bin) pair table
 * (sixteen elements per table entry), every format, 1 and 2 threads,
 * and the change of scheme's pass after a first. */
static void
test_pair_table_matches_reference (void)
{
  const gsize count = 1100003;
  QsChannelLayout layout = qs_channel_layout_per_tensor (count);
  g_autofree float *x = g_new (float, count);

  rng_state = UINT64_C (0x2545F4914F6CDD1D);
  for (int kind = DATA_WEIGHTS; kind <= DATA_WILD; kind++)
    {
      fill (x, count, (DataKind) kind);
      for (gsize c = 0; c < G_N_ELEMENTS (cases); c++)
        {
          QsScheme scheme;
          Result ref, best, two, changed, changed_two;
          g_autofree char *label = g_strdup_printf ("%s/%d G=%d large, data %d", cases[c].format,
                                                    cases[c].bits, cases[c].group_size, kind);

          case_scheme (&cases[c], &scheme);
          run (&scheme, &layout, x, 1, "QS_FORCE_SCALAR", &ref);
          run (&scheme, &layout, x, 1, NULL, &best);
          run (&scheme, &layout, x, 2, NULL, &two);
          run_changed (&scheme, &layout, x, 1, &changed);
          run_changed (&scheme, &layout, x, 2, &changed_two);
          assert_same (label, &ref, &best);
          assert_same (label, &ref, &two);
          assert_same (label, &ref, &changed);
          assert_same (label, &ref, &changed_two);
          result_clear (&ref);
          result_clear (&best);
          result_clear (&two);
          result_clear (&changed);
          result_clear (&changed_two);
        }
    }
}

/* NVFP4's batches of sixteen full blocks, whose ranges the SIMD kernel
 * takes all at once: a non-finite value in each block of a batch in
 * turn (the batch then goes block by block), and blocks of zeros, of
 * subnormals and of one large value beside ordinary ones. */
static void
test_nvfp4_batches (void)
{
  const gsize count = 16 * 16 * 4 + 7;
  QsChannelLayout layout = qs_channel_layout_per_tensor (count);
  g_autofree float *x = g_new (float, count);
  QsScheme scheme;

  rng_state = UINT64_C (0x853C49E6748FEA9B);
  qs_scheme_init_per_tensor (&scheme);
  g_assert_true (qs_format_parse ("nvfp4", &scheme.format));
  g_assert_cmpint (qs_scheme_validate (&scheme, NULL), ==, QS_OK);
  for (int block = -1; block < 16; block++)
    {
      Result ref, best, two;
      g_autofree char *label = g_strdup_printf ("nvfp4 batches, non-finite in block %d", block);

      fill (x, count, DATA_WEIGHTS);
      if (block >= 0)
        x[256 + 16 * block + (5 * block) % 16] = block % 3 == 0 ? NAN : block % 3 == 1 ? INFINITY : -INFINITY;
      /* The third batch: a block of zeros, one of subnormals, one
       * whose largest element is far above the others'. */
      for (gsize i = 0; i < 16; i++)
        {
          x[512 + 16 * 2 + i] = i % 2 ? -0.0f : 0.0f;
          x[512 + 16 * 5 + i] = ldexpf ((float) i - 7.5f, -140);
        }
      x[512 + 16 * 9 + 3] = 40.0f;
      run (&scheme, &layout, x, 1, "QS_FORCE_SCALAR", &ref);
      run (&scheme, &layout, x, 1, NULL, &best);
      run (&scheme, &layout, x, 2, NULL, &two);
      assert_same (label, &ref, &best);
      assert_same (label, &ref, &two);
      result_clear (&ref);
      result_clear (&best);
      result_clear (&two);
    }
}

/* Blocks of equal error: the worst-first list is the first blocks, ties
 * going by block number, however a kernel skips the blocks that cannot
 * enter it (the SIMD kernels compare error sums against a floor below
 * the list's last mse and divide only near it, where ties are). */
static void
test_worst_ties (void)
{
  const gsize blocks = 4096, size = 32;
  QsChannelLayout layout = qs_channel_layout_per_tensor (blocks * size);
  g_autofree float *x = g_new (float, blocks * size);
  QsScheme scheme;
  Result ref, best, two;

  /* One block repeated, its last block a little worse: every copy has
   * the same error sum, bit for bit. */
  for (gsize i = 0; i < size; i++)
    x[i] = 0.01f * (float) ((i * 7) % 13) - 0.05f;
  for (gsize b = 1; b < blocks; b++)
    memcpy (x + b * size, x, size * sizeof (float));
  x[blocks * size - 1] = 0.039065f;  /* 2.50016 steps of 2^-6: the largest error of its interval */
  qs_scheme_init_per_tensor (&scheme);
  g_assert_true (qs_format_parse ("mxfp4", &scheme.format));
  g_assert_cmpint (qs_scheme_validate (&scheme, NULL), ==, QS_OK);
  run (&scheme, &layout, x, 1, "QS_FORCE_SCALAR", &ref);
  run (&scheme, &layout, x, 1, NULL, &best);
  run (&scheme, &layout, x, 2, NULL, &two);
  assert_same ("worst ties", &ref, &best);
  assert_same ("worst ties, 2 threads", &ref, &two);
  g_assert_cmpint (ref.analysis.blocks->worst_count, ==, QS_BLOCK_WORST);
  g_assert_cmpuint (ref.analysis.blocks->worst[0].offset, ==, (blocks - 1) * size);
  for (int k = 1; k < QS_BLOCK_WORST; k++)
    g_assert_cmpuint (ref.analysis.blocks->worst[k].offset, ==, (gsize) (k - 1) * size);
  result_clear (&ref);
  result_clear (&best);
  result_clear (&two);
}

/* The MX scale: 2^(floor (log2 amax) - emax) clamped to E8M0, as frexpf
 * and ldexpf give it, for amax of every exponent (subnormal ones too). */
static void
test_mx_scale_matches_libm (void)
{
  const struct { const char *name; int emax; } formats[] = {
    { "mxfp8-e4m3", 8 }, { "mxfp8-e5m2", 15 }, { "mxfp6-e2m3", 2 },
    { "mxfp6-e3m2", 4 }, { "mxfp4", 2 }, { "mxint8", 0 },
  };

  for (gsize f = 0; f < G_N_ELEMENTS (formats); f++)
    {
      QsScheme scheme;
      qs_scheme_init_per_tensor (&scheme);
      g_assert_true (qs_format_parse (formats[f].name, &scheme.format));
      for (guint32 bits = 1; bits < 0x7f800000u; bits += 0x00012345u)
        for (int near = 0; near < 3; near++)
          {
            guint32 b = near == 0 ? bits : near == 1 ? (bits & 0xff800000u) : (bits | 0x007fffffu);
            float amax;
            int e;
            QsBlockScale s;

            memcpy (&amax, &b, sizeof amax);
            if (amax == 0.0f)
              continue;
            frexpf (amax, &e);
            e = CLAMP (e - 1 - formats[f].emax, -127, 127);
            qs_block_scale (&scheme, 1.0f, amax, -amax, amax, &s);
            g_assert_cmpfloat (s.scale, ==, ldexpf (1.0f, e));
            g_assert_cmpfloat (s.inv, ==, ldexpf (1.0f, -e));
            g_assert_cmpuint (s.scale_code, ==, (guint) (e + 127));
          }
    }
}

#if defined(__x86_64__)
/* The element encoder's code, decoded: what the scalar reference's
 * second encode reconstructs (before the scale) for @v. */
static float
encoded_value (QsFormat format,
               float    v)
{
  switch (format)
    {
    case QS_FORMAT_MXFP8_E4M3:
      return qs_fp8_e4m3_to_float (qs_fp8_e4m3_encode (v));
    case QS_FORMAT_MXFP8_E5M2:
      return qs_fp8_e5m2_to_float (qs_fp8_e5m2_encode (v));
    case QS_FORMAT_MXFP6_E2M3:
      return qs_fp6_e2m3_to_float (qs_fp6_e2m3_encode (v));
    case QS_FORMAT_MXFP6_E3M2:
      return qs_fp6_e3m2_to_float (qs_fp6_e3m2_encode (v));
    default:
      return qs_fp4_e2m1_to_float (qs_fp4_e2m1_encode (v));
    }
}
#endif

/* The AVX-512 kernel rounds the inspector's second encode by adding and
 * taking away a magic number per binade, without the code: its values
 * against the encoder's codes decoded, equal as floats (the sign of a
 * zero aside, which no square error sees), at every float exponent
 * (element subnormals, the saturation, float subnormals and overflow
 * of the magic), each combination of the format's mantissa bits and one
 * more, and low bits on, next to and between the ties. (Run once over
 * every finite float too, when it was written: no difference.) */
static void
test_float_round_matches_encoders (void)
{
#if defined(__x86_64__)
  static const QsFormat formats[] = { QS_FORMAT_MXFP8_E4M3, QS_FORMAT_MXFP8_E5M2, QS_FORMAT_MXFP6_E2M3,
                                      QS_FORMAT_MXFP6_E3M2, QS_FORMAT_MXFP4, QS_FORMAT_NVFP4 };
  static const guint32 low[] = { 0, 1, 2, 3 };
  g_autoptr (GArray) v = g_array_new (FALSE, FALSE, sizeof (float));

  if (strcmp (qs_analysis_kernel_name (), "avx512") != 0 || !__builtin_cpu_supports ("avx512bw")
      || !__builtin_cpu_supports ("avx512vl"))
    {
      g_test_skip ("no AVX-512 kernel on this CPU");
      return;
    }
  rng_state = UINT64_C (0x853C49E6748FEA9B);
  /* Every finite biased exponent, the top five mantissa bits (an E4M3
   * or E2M3 mantissa, the tie bit and one below), and the low eighteen
   * bits at and next to 0 (the ties and the values just above them),
   * all ones (just below them) and random; both signs. */
  for (guint32 exp = 0; exp < 255; exp++)
    for (guint32 top = 0; top < 32; top++)
      for (int k = 0; k < 12; k++)
        {
          guint32 bits18 = k < 4 ? low[k] : k < 8 ? 0x3ffff - low[k - 4] : (guint32) (next_random () >> 46);
          guint32 bits = (exp << 23) | (top << 18) | (bits18 & 0x3ffff);
          float f;
          for (int sign = 0; sign < 2; sign++)
            {
              guint32 b = bits | ((guint32) sign << 31);
              memcpy (&f, &b, sizeof f);
              g_array_append_val (v, f);
            }
        }
  for (gsize i = 0; i < G_N_ELEMENTS (formats); i++)
    for (int bounded = 0; bounded < 2; bounded++)
      {
        /* Bounded: the values up to the limit times 1 + 2^-22, the
         * first few past it included. */
        float bound = qs_block_element_max (formats[i]) * (1.0f + 0x1p-22f);
        g_autoptr (GArray) in = g_array_new (FALSE, FALSE, sizeof (float));
        for (guint j = 0; j < v->len; j++)
          if (!bounded || fabsf (g_array_index (v, float, j)) <= bound)
            g_array_append_val (in, g_array_index (v, float, j));
        for (float f = qs_block_element_max (formats[i]); bounded && f <= bound; f = nextafterf (f, INFINITY))
          g_array_append_val (in, f);
        g_autofree float *out = g_new (float, in->len);
        qs_block_float_round_avx512 (formats[i], bounded, (const float *) in->data, out, in->len);
        for (guint j = 0; j < in->len; j++)
          {
            float x = g_array_index (in, float, j), want = encoded_value (formats[i], x);
            if (!(out[j] == want))
              g_error ("format %d%s: %a rounds to %a, the encoder's value is %a", formats[i],
                       bounded ? " (bounded)" : "", x, out[j], want);
          }
      }
#else
  g_test_skip ("no AVX-512 kernel on this architecture");
#endif
}

/* The inspector's scale bin against floor ((log2 (scale) + 160) * 4) and,
 * for MX's powers of two, lrint (log2 (scale)) + 160: at every exponent,
 * the floats next to each quarter edge and to the powers of two. */
static void
test_scale_slot_matches_log2 (void)
{
  const size_t slots = 296 * 4;
  const double edges[] = { 1.0, 1.1892071150027210667, 1.4142135623730950488, 1.6817928305074290861, 2.0 };
  QsBlockScale b = { 0 };
  /* Normal scales, for the AVX-512 kernel's integer steps. */
  g_autoptr (GArray) normal = g_array_new (FALSE, FALSE, sizeof (float));
  g_autoptr (GArray) expected_slots = g_array_new (FALSE, FALSE, sizeof (guint32));

  for (int e = -149; e <= 127; e++)
    for (gsize k = 0; k < G_N_ELEMENTS (edges); k++)
      {
        float centre = (float) ldexp (edges[k], e), v = centre;

        if (!(centre > 0.0f) || isinf (centre))
          continue;
        for (int step = 0; step < 4; step++)
          v = nextafterf (v, 0.0f);
        for (int step = 0; step < 9; step++, v = nextafterf (v, INFINITY))
          {
            long expected = (long) floor ((log2 ((double) v) + 160.0) * 4.0);
            if (!(v > 0.0f) || isinf (v))
              continue;
            b.scale = v;
            g_assert_cmpuint (qs_block_scale_slot (QS_FORMAT_NVFP4, &b, slots), ==, (size_t) CLAMP (expected, 0, (long) slots - 1));
            if (v >= FLT_MIN)
              {
                guint32 slot = (guint32) CLAMP (expected, 0, (long) slots - 1);
                g_array_append_val (normal, v);
                g_array_append_val (expected_slots, slot);
              }
          }
      }
#if defined(__x86_64__)
  if (strcmp (qs_analysis_kernel_name (), "avx512") == 0 && __builtin_cpu_supports ("avx512bw")
      && __builtin_cpu_supports ("avx512vl"))
    {
      /* +inf, an integer group's scale when its range overflows. */
      float inf = INFINITY;
      guint32 last = (guint32) slots - 1;
      g_array_append_val (normal, inf);
      g_array_append_val (expected_slots, last);
      b.scale = inf;
      g_assert_cmpuint (qs_block_scale_slot (QS_FORMAT_INT, &b, slots), ==, last);
      /* Every edge of the largest histogram, and of one whose last slot
       * clamps the scales above it. */
      g_autofree guint32 *out = g_new (guint32, normal->len);
      for (size_t top = slots; top >= slots / 2; top -= slots / 2)
        {
          qs_block_int_scale_slots_avx512 ((const float *) normal->data, normal->len, top, out);
          for (guint i = 0; i < normal->len; i++)
            g_assert_cmpuint (out[i], ==, MIN (g_array_index (expected_slots, guint32, i), (guint32) top - 1));
        }
    }
#endif
  for (int e = -127; e <= 127; e++)
    {
      b.scale = ldexpf (1.0f, e);
      b.scale_log2 = e;
      g_assert_cmpuint (qs_block_scale_slot (QS_FORMAT_MXFP4, &b, slots), ==, (size_t) (lrint (log2 ((double) b.scale)) + 160));
    }
}

/* The AVX-512 kernel's FP8 decoding, for every finite code of either
 * format, bit for bit against qs-float-format.c's tables (zeros of both
 * signs, the subnormals, the largest values). */
static void
test_fp8_decode_matches_tables (void)
{
#if defined(__x86_64__)
  guint32 codes[256];
  float out[256];

  if (strcmp (qs_analysis_kernel_name (), "avx512") != 0 || !__builtin_cpu_supports ("avx512bw")
      || !__builtin_cpu_supports ("avx512vl"))
    {
      g_test_skip ("no AVX-512 kernel on this CPU");
      return;
    }
  for (guint c = 0; c < 256; c++)
    codes[c] = c;
  for (int e5 = 0; e5 < 2; e5++)
    {
      qs_block_fp8_decode_avx512 (e5 ? QS_FORMAT_MXFP8_E5M2 : QS_FORMAT_MXFP8_E4M3, codes, out, 256);
      for (guint c = 0; c < 256; c++)
        {
          float expected = e5 ? qs_fp8_e5m2_to_float ((uint8_t) c) : qs_fp8_e4m3_to_float ((uint8_t) c);
          guint32 a, b;
          if (!isfinite (expected))
            continue;
          memcpy (&a, &out[c], sizeof a);
          memcpy (&b, &expected, sizeof b);
          g_assert_cmphex (a, ==, b);
        }
    }
#else
  g_test_skip ("no AVX-512 kernel on this CPU");
#endif
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/block-kernels/match-reference", test_kernels_match_reference);
  g_test_add_func ("/block-kernels/pair-table", test_pair_table_matches_reference);
  g_test_add_func ("/block-kernels/nvfp4-batches", test_nvfp4_batches);
  g_test_add_func ("/block-kernels/worst-ties", test_worst_ties);
  g_test_add_func ("/block-kernels/mx-scale", test_mx_scale_matches_libm);
  g_test_add_func ("/block-kernels/scale-slot", test_scale_slot_matches_log2);
  g_test_add_func ("/block-kernels/float-round", test_float_round_matches_encoders);
  g_test_add_func ("/block-kernels/fp8-decode", test_fp8_decode_matches_tables);
  return g_test_run ();
}
