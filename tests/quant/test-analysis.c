/* test-analysis.c: the fused pass: metrics, histograms, threads, and SIMD (AVX2, AVX-512) == scalar.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib.h>
#include <math.h>
#include <string.h>

#include "quant/qs-analysis.h"
#include "quant/qs-fused-private.h"

typedef struct {
  QsQuantParams params;
  QsAnalysis    analysis;
  QsRangeStats  stats;     /* of all the data, as qs_pass_new() takes them */
} Result;

static void
analyze (const QsScheme        *scheme,
         const QsChannelLayout *layout,
         const float           *v,
         int                    threads,
         Result                *r)
{
  g_autofree QsRangeStats *per_channel = g_new (QsRangeStats, layout->channels);

  g_assert_cmpint (qs_analyze (scheme, layout, v, threads, &r->params, &r->analysis), ==, QS_OK);
  g_assert_cmpint (qs_range_stats_compute (layout, v, threads, per_channel, &r->stats), ==, QS_OK);
}

static void
result_clear (Result *r)
{
  qs_quant_params_clear (&r->params);
  qs_analysis_clear (&r->analysis);
}

static void
test_hand_derived_int8 (void)
{
  /* Data range [-1, 1.0078125] -> scale = (2.0078125 / 255) in float32,
   * Z = -128 - round(-1 / scale). Worked out with the grid of test-params:
   * use a range whose scale is exactly 2^-7 instead: [-1, 0.9921875] plus
   * the value 0.3 (38.4 -> code 38, recon 0.296875). */
  const float v[] = { -1.0f, 0.0f, 0.3f, 0.9921875f };
  const float recon[] = { -1.0f, 0.0f, 38.0f / 128.0f, 0.9921875f };
  QsChannelLayout layout = qs_channel_layout_per_tensor (4);
  double err2 = 0, x2 = 0, r2 = 0, xr = 0, max_err = 0;
  QsScheme scheme;
  Result r;

  for (int i = 0; i < 4; i++)
    {
      double e = (double) recon[i] - v[i];
      err2 += e * e;
      x2 += (double) v[i] * v[i];
      r2 += (double) recon[i] * recon[i];
      xr += (double) v[i] * recon[i];
      max_err = fmax (max_err, fabs (e));
    }

  qs_scheme_init_per_tensor (&scheme);
  analyze (&scheme, &layout, v, 1, &r);
  g_assert_cmpuint (r.analysis.count, ==, 4);
  g_assert_cmpuint (r.analysis.finite_count, ==, 4);
  g_assert_cmpfloat_with_epsilon (r.analysis.mse, err2 / 4, 1e-15);
  g_assert_cmpfloat_with_epsilon (r.analysis.rmse, sqrt (err2 / 4), 1e-12);
  g_assert_cmpfloat_with_epsilon (r.analysis.max_abs_error, max_err, 1e-9);
  g_assert_cmpfloat_with_epsilon (r.analysis.sqnr_db, 10 * log10 (x2 / err2), 1e-9);
  g_assert_cmpfloat_with_epsilon (r.analysis.cosine, xr / sqrt (x2 * r2), 1e-12);
  g_assert_cmpfloat (r.params.scale[0], ==, 0.0078125f);
  g_assert_cmpuint (r.analysis.clipped_count, ==, 0);
  g_assert_cmpuint (r.analysis.levels_used, ==, 4);
  g_assert_true (r.analysis.zero_exact);
  g_assert_cmpfloat (r.analysis.zero_error, ==, 0.0);
  g_assert_cmpfloat (r.analysis.data_min, ==, -1.0);
  g_assert_cmpfloat (r.analysis.data_max, ==, 0.9921875);
  /* 4 bytes of int8 codes + a float32 scale + an int32 zero point. */
  g_assert_cmpuint (r.analysis.size_fp32_bytes, ==, 16);
  g_assert_cmpuint (r.analysis.size_quant_bytes, ==, 4 + 8);
  g_assert_cmpfloat (r.analysis.compression_ratio, ==, 16.0 / 12.0);
  result_clear (&r);
}

static void
test_exact_representation (void)
{
  /* 0..255 on unsigned 8 bits: scale 1, every value on the grid. */
  float v[256];
  QsChannelLayout layout = qs_channel_layout_per_tensor (256);
  QsScheme scheme;
  Result r;

  for (int i = 0; i < 256; i++)
    v[i] = (float) i;
  qs_scheme_init_per_tensor (&scheme);
  scheme.is_unsigned = true;
  analyze (&scheme, &layout, v, 1, &r);
  g_assert_cmpfloat (r.params.scale[0], ==, 1.0f);
  g_assert_cmpfloat (r.analysis.mse, ==, 0.0);
  g_assert_true (isinf (r.analysis.sqnr_db) && r.analysis.sqnr_db > 0);
  g_assert_cmpfloat (r.analysis.cosine, ==, 1.0);
  g_assert_cmpuint (r.analysis.levels_used, ==, 256);
  g_assert_cmpuint (r.analysis.clipped_count, ==, 0);
  result_clear (&r);
}

static void
test_all_zero_and_constant (void)
{
  const float zeros[] = { 0.0f, 0.0f, 0.0f };
  const float constant[] = { 0.25f, 0.25f };
  QsChannelLayout l3 = qs_channel_layout_per_tensor (3), l2 = qs_channel_layout_per_tensor (2);
  QsScheme scheme;
  Result r;

  qs_scheme_init_per_tensor (&scheme);
  analyze (&scheme, &l3, zeros, 1, &r);
  g_assert_cmpfloat (r.params.scale[0], ==, QS_SCALE_EPS);
  g_assert_cmpfloat (r.analysis.mse, ==, 0.0);
  /* 0 / 0: SQNR and cosine are undefined. */
  g_assert_true (isnan (r.analysis.sqnr_db));
  g_assert_true (isnan (r.analysis.cosine));
  g_assert_cmpuint (r.analysis.levels_used, ==, 1);
  /* numpy.histogram widens an empty range to [x - 0.5, x + 0.5]. */
  g_assert_cmpfloat (r.analysis.histogram.lo, ==, -0.5);
  g_assert_cmpfloat (r.analysis.histogram.hi, ==, 0.5);
  g_assert_cmpuint (r.analysis.histogram.counts[128], ==, 3);
  result_clear (&r);

  /* [0, 0.25] -> scale 0.25 / 255; 0.25 lands on code 127 exactly. */
  analyze (&scheme, &l2, constant, 1, &r);
  g_assert_cmpfloat (r.params.zero_point[0], ==, -128.0f);
  g_assert_cmpuint (r.analysis.levels_used, ==, 1);
  g_assert_cmpuint (r.analysis.clipped_count, ==, 0);
  result_clear (&r);
}

static void
test_nonfinite_excluded (void)
{
  const float clean[] = { -0.7f, 0.1f, 0.33f, 0.9f };
  const float dirty[] = { NAN, -0.7f, INFINITY, 0.1f, 0.33f, -INFINITY, 0.9f, NAN };
  QsChannelLayout lc = qs_channel_layout_per_tensor (4), ld = qs_channel_layout_per_tensor (8);
  QsScheme scheme;
  Result a, b;

  qs_scheme_init_per_tensor (&scheme);
  analyze (&scheme, &lc, clean, 1, &a);
  analyze (&scheme, &ld, dirty, 1, &b);
  g_assert_cmpuint (b.analysis.nonfinite_count, ==, 4);
  g_assert_cmpuint (b.analysis.finite_count, ==, 4);
  g_assert_cmpuint (b.analysis.count, ==, 8);
  g_assert_cmpfloat (a.params.scale[0], ==, b.params.scale[0]);
  g_assert_cmpfloat (a.analysis.mse, ==, b.analysis.mse);
  g_assert_cmpfloat (a.analysis.sqnr_db, ==, b.analysis.sqnr_db);
  g_assert_cmpfloat (a.analysis.cosine, ==, b.analysis.cosine);
  g_assert_cmpuint (a.analysis.levels_used, ==, b.analysis.levels_used);
  g_assert_cmpmem (a.analysis.histogram.counts, 256 * 8, b.analysis.histogram.counts, 256 * 8);
  result_clear (&a);
  result_clear (&b);
}

/* Exact zeros (pruned weights, padding) are counted in the fused pass:
 * 0.0 and -0.0 are, the smallest subnormal and NaN are not; the same in
 * every number format, and whatever the thread count. */
static void
test_exact_zeros (void)
{
  float x[40];
  QsChannelLayout layout = qs_channel_layout_per_tensor (G_N_ELEMENTS (x));
  const QsFormat formats[] = { QS_FORMAT_INT, QS_FORMAT_FP8_E4M3, QS_FORMAT_BF16 };
  QsScheme scheme;
  Result r;

  for (guint i = 0; i < G_N_ELEMENTS (x); i++)
    x[i] = (float) i / 8.0f - 2.0f;          /* x[16] == 0.0 */
  x[3] = -0.0f;
  x[9] = NAN;
  x[10] = 0.0f;
  x[11] = 1.4e-45f;                          /* subnormal, not zero */
  x[39] = 0.0f;

  for (guint f = 0; f < G_N_ELEMENTS (formats); f++)
    for (int threads = 1; threads <= 2; threads++)
      {
        qs_scheme_init_per_tensor (&scheme);
        scheme.format = formats[f];
        analyze (&scheme, &layout, x, threads, &r);
        g_assert_cmpuint (r.analysis.exact_zero_count, ==, 4);
        g_assert_cmpuint (r.analysis.nonfinite_count, ==, 1);
        result_clear (&r);
      }
}

static void
test_no_finite_values (void)
{
  const float v[] = { NAN, INFINITY };
  QsChannelLayout layout = qs_channel_layout_per_tensor (2), empty = qs_channel_layout_per_tensor (0);
  QsScheme scheme;
  QsQuantParams p;
  QsAnalysis a;

  qs_scheme_init_per_tensor (&scheme);
  g_assert_cmpint (qs_analyze (&scheme, &layout, v, 1, &p, &a), ==, QS_STATUS_NO_FINITE_VALUES);
  g_assert_cmpint (qs_analyze (&scheme, &empty, v, 1, &p, &a), ==, QS_STATUS_EMPTY);
  scheme.bits = 20;
  g_assert_cmpint (qs_analyze (&scheme, &layout, v, 1, &p, &a), ==, QS_STATUS_INVALID_ARGUMENT);
}

static void
test_zero_exactness (void)
{
  /* amax = 255/128: scale 1/64 and, without nudging, Zf = -0.5 (test-params). */
  const float v[] = { -1.9921875f, -0.2f, 0.0f, 0.0f, 0.3f, 1.0f };
  QsChannelLayout layout = qs_channel_layout_per_tensor (6);
  QsScheme scheme;
  Result r;

  qs_scheme_init_per_tensor (&scheme);
  scheme.mapping = QS_MAPPING_SYMMETRIC;
  scheme.nudge_zero = false;
  analyze (&scheme, &layout, v, 1, &r);
  /* Zf = -0.5: zero comes back as half a step. */
  g_assert_false (r.analysis.zero_exact);
  g_assert_cmpfloat (r.analysis.zero_error, ==, 0.0078125);
  result_clear (&r);

  scheme.nudge_zero = true;
  analyze (&scheme, &layout, v, 1, &r);
  g_assert_true (r.analysis.zero_exact);
  g_assert_cmpfloat (r.analysis.zero_error, ==, 0.0);
  result_clear (&r);
}

static void
test_histograms (void)
{
  /* Histogram over [0, 4] with 4 bins: [0,1) [1,2) [2,3) [3,4], the top
   * edge in the last bin as in numpy; values outside are counted apart. */
  const float v[] = { -1.0f, 0.0f, 0.5f, 1.0f, 2.5f, 3.99f, 4.0f, 5.0f };
  QsChannelLayout layout = qs_channel_layout_per_tensor (8);
  QsScheme scheme;
  Result r;
  uint64_t sum = 0;

  qs_scheme_init_per_tensor (&scheme);
  scheme.bins = 4;
  scheme.has_hist_range = true;
  scheme.hist_lo = 0.0;
  scheme.hist_hi = 4.0;
  analyze (&scheme, &layout, v, 1, &r);
  g_assert_cmpint (r.analysis.histogram.bins, ==, 4);
  g_assert_cmpuint (r.analysis.histogram.counts[0], ==, 2);
  g_assert_cmpuint (r.analysis.histogram.counts[1], ==, 1);
  g_assert_cmpuint (r.analysis.histogram.counts[2], ==, 1);
  g_assert_cmpuint (r.analysis.histogram.counts[3], ==, 2);
  g_assert_cmpuint (r.analysis.histogram.underflow, ==, 1);
  g_assert_cmpuint (r.analysis.histogram.overflow, ==, 1);
  for (int b = 0; b < 4; b++)
    sum += r.analysis.histogram.quantized_counts[b];
  g_assert_cmpuint (sum + r.analysis.histogram.quantized_underflow
                    + r.analysis.histogram.quantized_overflow, ==, 8);
  result_clear (&r);
}

static float *
random_weights (gsize  n,
                guint  seed,
                double sigma)
{
  float *v = g_new (float, n);
  GRand *rand = g_rand_new_with_seed (seed);

  for (gsize i = 0; i < n; i++)
    {
      double u1 = g_rand_double (rand) + 1e-300, u2 = g_rand_double (rand);
      v[i] = (float) (sqrt (-2.0 * log (u1)) * cos (2.0 * G_PI * u2) * sigma);
    }
  g_rand_free (rand);
  return v;
}

static void
assert_same_analysis (const QsAnalysis *a,
                      const QsAnalysis *b)
{
  const QsHistogram *ha = &a->histogram, *hb = &b->histogram;

  /* Bit for bit, not approximately. */
  g_assert_cmpmem (&a->mse, sizeof (double), &b->mse, sizeof (double));
  g_assert_cmpmem (&a->sqnr_db, sizeof (double), &b->sqnr_db, sizeof (double));
  g_assert_cmpmem (&a->cosine, sizeof (double), &b->cosine, sizeof (double));
  g_assert_cmpmem (&a->max_abs_error, sizeof (double), &b->max_abs_error, sizeof (double));
  g_assert_cmpuint (a->clipped_count, ==, b->clipped_count);
  g_assert_cmpuint (a->levels_used, ==, b->levels_used);
  g_assert_cmpuint (a->nonfinite_count, ==, b->nonfinite_count);
  g_assert_cmpmem (ha->counts, ha->bins * 8, hb->counts, hb->bins * 8);
  g_assert_cmpmem (ha->quantized_counts, ha->bins * 8, hb->quantized_counts, hb->bins * 8);
  g_assert_cmpuint (ha->underflow, ==, hb->underflow);
  g_assert_cmpuint (ha->overflow, ==, hb->overflow);
  g_assert_cmpuint (ha->quantized_underflow, ==, hb->quantized_underflow);
  g_assert_cmpuint (ha->quantized_overflow, ==, hb->quantized_overflow);
}

/* The sums of squares a memo keeps per group size (the block pass's lanes
 * and tasks decide how that sum rounds): a change of scheme that takes
 * one gives the results of a pass that sums it, for more group sizes than
 * the memo keeps and back again; a sum is found only for its own layout
 * and group size, and the oldest goes first. */
static void
test_block_squares_memo (void)
{
  const gsize n = 96 * 1000 + 17;
  g_autofree float *v = random_weights (n, 11, 0.05);
  const int64_t shape[] = { 1, 96017 };
  QsChannelLayout tensor = qs_channel_layout_per_tensor (n), other;
  const int sizes[] = { 32, 16, 48, 64, 96, 128, 80, 112, 144, 32, 16 };
  QsRangeMemo memo = { 0 };
  double x2;

  g_assert_cmpint (qs_channel_layout_for_axis (shape, 2, 1, &other), ==, QS_OK);
  v[777] = INFINITY;
  for (gsize i = 0; i < G_N_ELEMENTS (sizes); i++)
    for (int format = 0; format < 2; format++)
      {
        QsScheme scheme;
        Result plain, kept;

        qs_scheme_init_per_tensor (&scheme);
        scheme.format = format == 0 ? QS_FORMAT_MXFP4 : QS_FORMAT_INT;
        if (scheme.format == QS_FORMAT_INT)
          {
            scheme.granularity = QS_GRANULARITY_GROUP;
            scheme.bits = 4;
          }
        scheme.group_size = sizes[i];
        g_assert_cmpint (qs_scheme_validate (&scheme, NULL), ==, QS_OK);
        analyze (&scheme, &tensor, v, 1, &plain);
        g_assert_cmpint (qs_analyze_remembering (&scheme, &tensor, v, 1, NULL, &memo, &kept.params, &kept.analysis),
                         ==, QS_OK);
        assert_same_analysis (&plain.analysis, &kept.analysis);
        g_assert_true (qs_range_memo_block_squares (&memo, &tensor, (size_t) sizes[i], &x2));
        g_assert_cmpfloat (x2, >, 0.0);
        result_clear (&plain);
        qs_quant_params_clear (&kept.params);
        qs_analysis_clear (&kept.analysis);
      }
  /* Eight kept: 144 replaced 32, which then replaced 16, which replaced
   * 48; 64 is the oldest left. */
  g_assert_cmpint (QS_RANGE_MEMO_SQUARES, ==, 8);
  g_assert_true (qs_range_memo_block_squares (&memo, &tensor, 64, &x2));
  g_assert_false (qs_range_memo_block_squares (&memo, &tensor, 48, &x2));
  g_assert_false (qs_range_memo_block_squares (&memo, &other, 32, &x2));
  g_assert_false (qs_range_memo_block_squares (NULL, &tensor, 32, &x2));
  qs_range_memo_keep_block_squares (&memo, &other, 32, 1.5);
  g_assert_true (qs_range_memo_block_squares (&memo, &other, 32, &x2));
  g_assert_cmpfloat (x2, ==, 1.5);
  g_assert_false (qs_range_memo_block_squares (&memo, &tensor, 64, &x2));
  qs_range_memo_clear (&memo);
  g_assert_false (qs_range_memo_block_squares (&memo, &other, 32, &x2));
}

static void
test_threads_do_not_change_results (void)
{
  const gsize n = 3000017;
  g_autofree float *v = random_weights (n, 1, 0.05);
  const int64_t shape[] = { 3000017 / 17, 17 };
  QsChannelLayout tensor = qs_channel_layout_per_tensor (n), channels;
  QsScheme scheme;

  g_assert_cmpint (qs_channel_layout_for_axis (shape, 2, -1, &channels), ==, QS_OK);
  v[12345] = NAN;
  qs_scheme_init_per_tensor (&scheme);
  for (int granularity = 0; granularity < 2; granularity++)
    {
      Result one, two;
      scheme.granularity = granularity;
      analyze (&scheme, granularity ? &channels : &tensor, v, 1, &one);
      analyze (&scheme, granularity ? &channels : &tensor, v, 2, &two);
      assert_same_analysis (&one.analysis, &two.analysis);
      result_clear (&one);
      result_clear (&two);
    }
}

/* Range statistics kept in a QsRangeMemo between schemes give the same
 * results, bit for bit, as the range pass run again, for the fused and the
 * block pass; a memo of another layout is computed afresh. So does the
 * data's histogram the memo keeps (the block pass then counts code slots
 * alone), kept by either pass and replaced when a scheme's histogram
 * domain differs. */
static void
test_range_memo (void)
{
  /* Large enough for joint counts of 8-bit integer groups' codes and
   * reconstruction bins (QS_JOINT_MIN_ELEMENTS_PER_ENTRY per entry). */
  const gsize n = 17 * 70589;
  g_autofree float *v = random_weights (n, 7, 0.05);
  const int64_t shape[] = { 70589, 17 };
  QsChannelLayout tensor = qs_channel_layout_per_tensor (n), channels;
  QsRangeMemo memo = { 0 };

  g_assert_cmpint (qs_channel_layout_for_axis (shape, 2, -1, &channels), ==, QS_OK);
  v[123] = NAN;
  v[4567] = 0.0f;
  const QsFormat more_formats[] = {
    QS_FORMAT_MXFP8_E5M2, QS_FORMAT_MXFP6_E2M3, QS_FORMAT_MXFP6_E3M2, QS_FORMAT_MXINT8,
  };

  for (int variant = 0; variant < 13 + (int) G_N_ELEMENTS (more_formats); variant++)
    {
      QsScheme scheme;
      bool per_channel = variant % 2 == 1;
      Result plain;

      qs_scheme_init_per_tensor (&scheme);
      scheme.granularity = per_channel ? QS_GRANULARITY_CHANNEL : QS_GRANULARITY_TENSOR;
      scheme.bits = variant == 3 ? 4 : 8;
      if (variant == 2)
        scheme.mapping = QS_MAPPING_ASYMMETRIC;
      if (variant == 4)
        {
          scheme.range_method = QS_RANGE_PERCENTILE;
          scheme.percentile = 99.9;
        }
      /* Block formats: their pass takes the range statistics too. */
      if (variant == 5)
        scheme.format = QS_FORMAT_MXFP4;
      if (variant == 6 || variant == 11)
        scheme.format = QS_FORMAT_NVFP4;
      /* Integer groups (no scale rows), MXFP8's 256 codes, NF4's slot
       * counts, and a domain of the scheme's own (another histogram). */
      if (variant == 7 || variant == 12)
        {
          scheme.granularity = QS_GRANULARITY_GROUP;
          scheme.group_size = 32;
          scheme.bits = variant == 7 ? 4 : 8;
        }
      if (variant == 8)
        scheme.format = QS_FORMAT_MXFP8_E4M3;
      if (variant == 9)
        scheme.format = QS_FORMAT_NF4;
      /* The rest of the block formats: each has its own kernel for a
       * change of scheme (qs-block-avx512.c, per_change_pass). */
      if (variant >= 13)
        scheme.format = more_formats[variant - 13];
      if (variant == 10)
        {
          scheme.format = QS_FORMAT_MXFP4;
          scheme.has_hist_range = true;
          scheme.hist_lo = -0.1;
          scheme.hist_hi = 0.15;
        }
      analyze (&scheme, per_channel ? &channels : &tensor, v, 1, &plain);
      /* Twice: the first computes (or, per tensor after variant 0, reuses)
       * what the second reuses. */
      for (int round = 0; round < 2; round++)
        {
          Result kept;
          g_assert_cmpint (qs_analyze_remembering (&scheme, per_channel ? &channels : &tensor, v, 1, NULL, &memo,
                                                   &kept.params, &kept.analysis), ==, QS_OK);
          assert_same_analysis (&plain.analysis, &kept.analysis);
          g_assert_cmpmem (plain.params.scale, plain.params.channels * sizeof (float),
                           kept.params.scale, kept.params.channels * sizeof (float));
          g_assert_cmpuint (kept.analysis.exact_zero_count, ==, plain.analysis.exact_zero_count);
          g_assert_cmpfloat (kept.analysis.data_max, ==, plain.analysis.data_max);
          g_assert_cmpuint (memo.layout.channels, ==, per_channel ? 17 : 1);
          g_assert_nonnull (memo.hist);
          g_assert_cmpfloat (memo.hist_hi, ==, variant == 10 ? 0.15 : plain.analysis.data_max);
          qs_quant_params_clear (&kept.params);
          qs_analysis_clear (&kept.analysis);
        }
      result_clear (&plain);
    }
  qs_range_memo_clear (&memo);
  g_assert_null (memo.per_channel);
}

/* A cancel flag left down changes nothing; raised before the call or
 * between two feeds of the fused pass, it ends the work as cancelled. */
static void
test_cancel_flag (void)
{
  const gsize n = 3 * 65536 + 17;
  g_autofree float *v = random_weights (n, 2, 0.05);
  QsChannelLayout layout = qs_channel_layout_per_tensor (n);
  atomic_int cancel = 0;
  QsScheme scheme;
  QsQuantParams params;
  QsAnalysis analysis;
  QsPass *pass;
  Result plain, polled;

  qs_scheme_init_per_tensor (&scheme);
  analyze (&scheme, &layout, v, 2, &plain);
  g_assert_cmpint (qs_analyze_cancellable (&scheme, &layout, v, 2, &cancel, &polled.params, &polled.analysis),
                   ==, QS_OK);
  assert_same_analysis (&plain.analysis, &polled.analysis);
  g_assert_cmpmem (plain.params.scale, sizeof (float), polled.params.scale, sizeof (float));
  result_clear (&polled);

  atomic_store (&cancel, 1);
  g_assert_cmpint (qs_analyze_cancellable (&scheme, &layout, v, 2, &cancel, &params, &analysis),
                   ==, QS_STATUS_CANCELLED);
  g_assert_null (analysis.histogram.counts);
  g_assert_cmpuint (params.channels, ==, 0);

  /* Mid-pass: the blocks fed after the flag rises are skipped. */
  atomic_store (&cancel, 0);
  pass = qs_pass_new (&scheme, &plain.params, &layout, &plain.stats, plain.analysis.histogram.lo,
                      plain.analysis.histogram.hi);
  g_assert_nonnull (pass);
  qs_pass_set_cancel (pass, &cancel);
  qs_pass_feed (pass, v, 65536, 1);
  atomic_store (&cancel, 1);
  qs_pass_feed (pass, v + 65536, n - 65536, 1);
  g_assert_cmpint (qs_pass_finish (pass, &analysis), ==, QS_STATUS_CANCELLED);
  qs_pass_free (pass);
  result_clear (&plain);
}

/* The bin of a value as numpy.histogram puts it, in float32 like the pass:
 * 0 under, 1..bins, bins + 1 over. */
static int
expected_bin (const QsHistogram *h,
              float              x)
{
  float width_inv = (float) (h->bins / (h->hi - h->lo));
  float t;

  if (x < (float) h->lo)
    return 0;
  if (x > (float) h->hi)
    return h->bins + 1;
  /* Everything in [lo, hi] is in a bin, the top edge in the last. */
  t = (x - (float) h->lo) * width_inv + 1.0f;
  return t >= (float) h->bins ? h->bins : (int) t;
}

static void
test_large_tensor_counts (void)
{
  /* Large enough that codes and bins are counted as pairs in one table
   * (1,200,007 elements, more than sixteen per entry of int8's 257 x 259
   * table; per tensor the table is indexed by code + bin, see
   * QsFusedCounts); every count checked against the codes of qs_quantize
   * and bins worked out here, for schemes that take each path of the
   * kernels: symmetric (nudged) and asymmetric, 4 bits, rounding half
   * away, a clipping range, and histogram domains narrower than the data
   * (values outside it) and wider. */
  const gsize n = 1200007;
  g_autofree float *v = random_weights (n, 5, 0.05);
  g_autofree int32_t *codes = g_new (int32_t, n);
  QsChannelLayout layout = qs_channel_layout_per_tensor (n);

  v[7] = NAN;
  v[70000] = INFINITY;
  v[99] = 0.0f;
  v[100] = -0.0f;
  for (int variant = 0; variant < 7; variant++)
    {
      uint64_t code_counts[256] = { 0 }, orig[258] = { 0 }, recon[258] = { 0 }, levels = 0, zeros = 0;
      QsScheme scheme;
      Result r;

      qs_scheme_init_per_tensor (&scheme);
      switch (variant)
        {
        case 1:
          scheme.mapping = QS_MAPPING_ASYMMETRIC;
          break;
        case 2:
          scheme.bits = 4;
          break;
        case 3:
          scheme.rounding = QS_ROUNDING_HALF_AWAY;
          scheme.mapping = QS_MAPPING_ASYMMETRIC;
          break;
        case 4:
          scheme.range_method = QS_RANGE_PERCENTILE;
          scheme.percentile = 99.0;
          break;
        case 5:
          scheme.has_hist_range = true;
          scheme.hist_lo = -0.1;
          scheme.hist_hi = 0.07;
          break;
        case 6:
          scheme.has_hist_range = true;
          scheme.hist_lo = -1.0;
          scheme.hist_hi = 0.5;
          break;
        default:
          break;
        }
      analyze (&scheme, &layout, v, 2, &r);
      qs_quantize (&r.params, &layout, v, codes);
      for (gsize i = 0; i < n; i++)
        {
          if (!isfinite (v[i]))
            continue;
          zeros += v[i] == 0.0f;
          code_counts[codes[i] - r.params.qmin]++;
          orig[expected_bin (&r.analysis.histogram, v[i])]++;
          recon[expected_bin (&r.analysis.histogram, qs_dequantize_code (&r.params, 0, codes[i]))]++;
        }
      for (int c = 0; c < 256; c++)
        levels += code_counts[c] > 0;
      g_assert_cmpuint (r.analysis.nonfinite_count, ==, 2);
      g_assert_cmpuint (r.analysis.exact_zero_count, ==, zeros);
      g_assert_cmpuint (r.analysis.levels_used, ==, levels);
      g_assert_cmpuint (r.analysis.histogram.underflow, ==, orig[0]);
      g_assert_cmpuint (r.analysis.histogram.overflow, ==, orig[257]);
      g_assert_cmpmem (r.analysis.histogram.counts, 256 * sizeof (uint64_t), orig + 1, 256 * sizeof (uint64_t));
      g_assert_cmpuint (r.analysis.histogram.quantized_underflow, ==, recon[0]);
      g_assert_cmpuint (r.analysis.histogram.quantized_overflow, ==, recon[257]);
      g_assert_cmpmem (r.analysis.histogram.quantized_counts, 256 * sizeof (uint64_t),
                       recon + 1, 256 * sizeof (uint64_t));
      if (variant == 5)
        g_assert_cmpuint (orig[0] + orig[257], >, 0);
      result_clear (&r);
    }
}

static void
test_streaming_equals_whole (void)
{
  /* Feeding in CHUNK-aligned blocks gives the very same sums. */
  const gsize n = 1000000;
  g_autofree float *v = random_weights (n, 2, 0.1);
  QsChannelLayout layout = qs_channel_layout_per_tensor (n);
  QsScheme scheme;
  QsAnalysis streamed;
  QsPass *pass;
  Result whole;

  qs_scheme_init_per_tensor (&scheme);
  analyze (&scheme, &layout, v, 1, &whole);
  pass = qs_pass_new (&scheme, &whole.params, &layout, &whole.stats,
                      whole.analysis.histogram.lo, whole.analysis.histogram.hi);
  g_assert_nonnull (pass);
  for (gsize done = 0; done < n; done += 4096 * 7)
    qs_pass_feed (pass, v + done, MIN (4096 * 7, n - done), 2);
  g_assert_cmpint (qs_pass_finish (pass, &streamed), ==, QS_OK);
  assert_same_analysis (&whole.analysis, &streamed);
  qs_pass_free (pass);
  qs_analysis_clear (&streamed);
  result_clear (&whole);
}

static void
test_per_channel_beats_per_tensor (void)
{
  /* Channels whose ranges differ 100x: per-tensor wastes the grid on the
   * big channel, per-channel gives each its own (the whitepaper's lesson). */
  enum { ROWS = 4096, CHANNELS = 8 };
  const int64_t shape[] = { ROWS, CHANNELS };
  g_autofree float *v = random_weights (ROWS * CHANNELS, 4, 1.0);
  QsChannelLayout layout;
  QsScheme scheme;
  Result tensor, channel;

  for (int i = 0; i < ROWS * CHANNELS; i++)
    v[i] *= (i % CHANNELS == 0) ? 1.0f : 0.01f;
  g_assert_cmpint (qs_channel_layout_for_axis (shape, 2, -1, &layout), ==, QS_OK);
  qs_scheme_init_per_tensor (&scheme);
  scheme.mapping = QS_MAPPING_SYMMETRIC;
  analyze (&scheme, &layout, v, 1, &tensor);
  scheme.granularity = QS_GRANULARITY_CHANNEL;
  analyze (&scheme, &layout, v, 1, &channel);
  g_assert_cmpuint (channel.params.channels, ==, CHANNELS);
  g_assert_cmpuint (tensor.params.channels, ==, 1);
  g_assert_cmpfloat (channel.analysis.mse, <, tensor.analysis.mse / 2);
  for (int c = 1; c < CHANNELS; c++)
    g_assert_cmpfloat (channel.params.scale[c], <, channel.params.scale[0] / 20);
  result_clear (&tensor);
  result_clear (&channel);
}

static void
test_per_channel_inner_axis (void)
{
  /* Channel axis 0 of a (4, 3, 5) tensor: contiguous runs of 15. The result
   * must equal analysing each channel's slice on its own. */
  const int64_t shape[] = { 4, 3, 5 };
  g_autofree float *v = random_weights (60, 6, 1.0);
  QsChannelLayout layout;
  QsScheme scheme;
  Result whole;

  for (int i = 0; i < 60; i++)
    v[i] *= (float) (1 + i / 15);
  g_assert_cmpint (qs_channel_layout_for_axis (shape, 3, 0, &layout), ==, QS_OK);
  qs_scheme_init_per_tensor (&scheme);
  scheme.granularity = QS_GRANULARITY_CHANNEL;
  analyze (&scheme, &layout, v, 1, &whole);
  for (int c = 0; c < 4; c++)
    {
      QsChannelLayout slice = qs_channel_layout_per_tensor (15);
      QsScheme per_tensor = scheme;
      Result part;
      per_tensor.granularity = QS_GRANULARITY_TENSOR;
      analyze (&per_tensor, &slice, v + 15 * c, 1, &part);
      g_assert_cmpfloat (whole.params.scale[c], ==, part.params.scale[0]);
      g_assert_cmpfloat (whole.params.zero_point[c], ==, part.params.zero_point[0]);
      result_clear (&part);
    }
  result_clear (&whole);
}

static void
test_float_formats (void)
{
  /* Values fp16 and bf16 represent exactly come back unchanged. */
  const float exact[] = { 0.5f, -0.25f, 1.5f, 3.0f, 0.0f, -2.0f };
  const float inexact[] = { 0.1f, -0.3f, 0.7f, 1.1f };
  QsChannelLayout l6 = qs_channel_layout_per_tensor (6), l4 = qs_channel_layout_per_tensor (4);
  const QsFormat formats[] = { QS_FORMAT_FP16, QS_FORMAT_BF16, QS_FORMAT_FP8_E4M3, QS_FORMAT_FP8_E5M2 };
  QsScheme scheme;
  Result r;

  qs_scheme_init_per_tensor (&scheme);
  for (gsize f = 0; f < G_N_ELEMENTS (formats); f++)
    {
      scheme.format = formats[f];
      analyze (&scheme, &l6, exact, 1, &r);
      if (formats[f] == QS_FORMAT_FP16 || formats[f] == QS_FORMAT_BF16)
        g_assert_cmpfloat (r.analysis.mse, ==, 0.0);
      g_assert_true (r.analysis.zero_exact);
      g_assert_cmpuint (r.analysis.levels_used, ==, 6);
      result_clear (&r);

      analyze (&scheme, &l4, inexact, 1, &r);
      g_assert_cmpfloat (r.analysis.mse, >, 0.0);
      /* Round to nearest: the error is at most half an ulp, |x| 2^-p with
       * 8 significant bits for bf16 and 11 for fp16 (max |x| here is 1.1). */
      if (formats[f] == QS_FORMAT_BF16)
        g_assert_cmpfloat (r.analysis.max_abs_error, <=, 1.1f * 0x1p-8f);
      if (formats[f] == QS_FORMAT_FP16)
        g_assert_cmpfloat (r.analysis.max_abs_error, <=, 1.1f * 0x1p-11f);
      result_clear (&r);
    }
  scheme.format = QS_FORMAT_FP16;
  analyze (&scheme, &l4, inexact, 1, &r);
  g_assert_cmpuint (r.analysis.size_quant_bytes, ==, 8);
  g_assert_cmpfloat (r.analysis.compression_ratio, ==, 2.0);
  result_clear (&r);
}

static void
test_sizes (void)
{
  QsScheme scheme;

  qs_scheme_init_per_tensor (&scheme);
  scheme.bits = 4;
  /* 1001 codes of 4 bits pack into 501 bytes, plus 8 bytes per channel. */
  g_assert_cmpuint (qs_quantized_size_bytes (&scheme, 1001, 1), ==, 501 + 8);
  g_assert_cmpuint (qs_quantized_size_bytes (&scheme, 1001, 7), ==, 501 + 56);
  scheme.bits = 3;
  g_assert_cmpuint (qs_quantized_size_bytes (&scheme, 8, 1), ==, 3 + 8);
  scheme.format = QS_FORMAT_FP8_E4M3;
  g_assert_cmpuint (qs_quantized_size_bytes (&scheme, 100, 2), ==, 100 + 8);
}

/* ---- SIMD kernels against the scalar reference ---------------------------- */

static void
fill_coefficients (GRand   *rand,
                   float   *k,
                   size_t   channels,
                   bool     nudge,
                   int      max_bits)
{
  for (size_t c = 0; c < channels; c++)
    {
      int bits = g_rand_int_range (rand, 2, max_bits + 1);
      int qmin = -(1 << (bits - 1)), qmax = (1 << (bits - 1)) - 1;
      float scale = (float) g_rand_double_range (rand, 1e-4, 0.5);
      float z = nudge ? (float) g_rand_int_range (rand, qmin, qmax + 1)
                      : (float) g_rand_double_range (rand, qmin, qmax);
      k[c] = 1.0f / scale;                                 /* inv */
      k[channels + c] = nudge ? 0.0f : z;                  /* add */
      k[2 * channels + c] = nudge ? qmin - z : qmin;       /* lo */
      k[3 * channels + c] = nudge ? qmax - z : qmax;       /* hi */
      k[4 * channels + c] = nudge ? z : 0.0f;              /* post */
      k[5 * channels + c] = nudge ? 0.0f : z;              /* sub */
      k[6 * channels + c] = scale;                         /* scale */
    }
}

static float
tricky_value (GRand *rand,
              float  scale)
{
  switch (g_rand_int_range (rand, 0, 10))
    {
    case 0:
      return (g_rand_int_range (rand, -300, 300) + 0.5f) * scale;  /* ties */
    case 1:
      return NAN;
    case 2:
      return g_rand_boolean (rand) ? INFINITY : -INFINITY;
    case 3:
      return (float) g_rand_double_range (rand, -1e30, 1e30);
    case 4:
      return 0.0f;
    case 5:
      return -0.0f;
    default:
      return (float) g_rand_double_range (rand, -200.0, 200.0) * scale;
    }
}

/* Entries of a joint table (see QsFusedCounts). */
static size_t
joint_entries (const QsFusedArgs *args)
{
  return args->joint_stride == 1 ? (size_t) args->skip_code_slot + args->bins + 3
                                 : (size_t) (args->skip_code_slot + 1) * args->joint_stride;
}

/* Fresh tallies for one kernel run, or NULL entries for those it must not touch. */
static QsFusedCounts
counts_new (const QsFusedArgs *args)
{
  bool joint = args->joint_stride > 0;
  QsFusedCounts counts = {
    joint ? NULL : g_new0 (uint64_t, args->skip_code_slot + 1),
    joint ? NULL : g_new0 (uint64_t, args->bins + 3),
    args->direct_recon ? g_new0 (uint64_t, args->bins + 3) : NULL,
    joint ? g_new0 (uint32_t, joint_entries (args)) : NULL,
  };
  return counts;
}

static void
counts_free (QsFusedCounts *counts)
{
  g_free (counts->codes);
  g_free (counts->orig);
  g_free (counts->recon);
  g_free (counts->joint);
}

#define MAX_RUN (3 * QS_FUSED_CHUNK + 40)

static void
test_kernel_matches_reference (void)
{
#if defined(__x86_64__)
  struct {
    QsFusedIntKernel  chunk;      /* run a chunk at a time, or */
    QsFusedSpanKernel span;
    gboolean          supported;
  } kernels[] = {
    { qs_fused_int_avx2, NULL, FALSE },
    { NULL, qs_fused_span_avx512, FALSE },
  };
  GRand *rand;

  __builtin_cpu_init ();
  if (!__builtin_cpu_supports ("avx2") || !__builtin_cpu_supports ("fma"))
    {
      g_test_skip ("this CPU has no AVX2 and FMA: only the scalar reference runs here");
      return;
    }
  kernels[0].supported = TRUE;
  kernels[1].supported = __builtin_cpu_supports ("avx512f") && __builtin_cpu_supports ("avx512dq");
  rand = g_rand_new_with_seed (1234);
  if (!kernels[1].supported)
    g_test_message ("this CPU has no AVX-512: only the AVX2 kernel is checked");
  for (int round = 0; round < 4000; round++)
    {
      size_t stride = g_rand_int_range (rand, 0, 2);
      /* A run of up to three chunks and a bit, its first chunk short. */
      size_t n = g_rand_int_range (rand, 1, MAX_RUN + 1);
      size_t head = g_rand_int_range (rand, 1, QS_FUSED_CHUNK + 1);
      size_t channels = stride ? n : 1;
      /* Rounds with one channel cover the per-tensor kernels; nudged
       * coefficients there are the ones without add and sub. A joint
       * table is kept small: codes of at most 8 bits. */
      bool nudge = g_rand_boolean (rand);
      bool joint = g_rand_int_range (rand, 0, 3) == 0;
      float *k = g_new (float, 7 * channels);
      float x[MAX_RUN];
      QsFusedArgs args;
      QsFusedSpanSums start, ref, simd;
      QsFusedCounts ref_counts, simd_counts;

      fill_coefficients (rand, k, channels, nudge, joint ? 8 : 16);
      for (size_t j = 0; j < n; j++)
        x[j] = tricky_value (rand, k[6 * channels + (stride ? j : 0)]);

      memset (&args, 0, sizeof args);
      args.inv = k;
      args.add = k + channels;
      args.lo = k + 2 * channels;
      args.hi = k + 3 * channels;
      args.post = k + 4 * channels;
      args.sub = k + 5 * channels;
      args.scale = k + 6 * channels;
      args.qmin = joint ? -128 : -32768;
      args.skip_code_slot = joint ? 256 : 65536;
      args.bins = g_rand_int_range (rand, 1, 300);
      args.hist_lo = (float) g_rand_double_range (rand, -50.0, 0.0);
      args.hist_hi = args.hist_lo + (float) g_rand_double_range (rand, 0.01, 60.0);
      args.hist_inv_width = args.bins / (args.hist_hi - args.hist_lo);
      args.rounding = g_rand_boolean (rand) ? QS_ROUNDING_HALF_AWAY : QS_ROUNDING_HALF_EVEN;
      /* Channels last always bins reconstructions; a run of one channel may. */
      args.direct_recon = stride || g_rand_boolean (rand);
      /* Per tensor, pairs are indexed by code + bin as the pass does it. */
      args.joint_stride = !joint ? 0 : !stride && !args.direct_recon && g_rand_boolean (rand) ? 1 : args.bins + 3;
      if (g_rand_int_range (rand, 0, 3) == 0)
        {
          /* Every value in the histogram's domain, as the pass declares
           * it when the domain comes from the data: non-finite values
           * only where 0.0 is in it too. */
          bool zero_inside = args.hist_lo <= 0.0f && 0.0f <= args.hist_hi;
          for (size_t j = 0; j < n; j++)
            if ((x[j] - x[j] != 0.0f && !zero_inside) || x[j] < args.hist_lo || x[j] > args.hist_hi)
              x[j] = args.hist_lo + (args.hist_hi - args.hist_lo) * (float) g_rand_double (rand);
          args.values_in_domain = true;
        }
      if (g_rand_int_range (rand, 0, 8) == 0)
        x[0] = args.hist_hi;  /* the top edge */
      if (g_rand_int_range (rand, 0, 8) == 0)
        x[n - 1] = args.hist_lo;

      /* Sums already under way, as in the second run of a block. */
      memset (&start, 0, sizeof start);
      if (g_rand_boolean (rand))
        {
          start.err2 = g_rand_double (rand);
          start.x2 = g_rand_double (rand);
          start.recon2 = g_rand_double (rand);
          start.cross = g_rand_double (rand);
          start.max_error = (float) g_rand_double (rand);
          start.clipped = g_rand_int_range (rand, 0, 100);
          start.nonfinite = g_rand_int_range (rand, 0, 100);
        }
      ref = start;
      ref_counts = counts_new (&args);
      qs_fused_span_of_chunks (qs_fused_int_scalar, &args, x, n, 0, stride, head, &ref, &ref_counts);
      for (guint kernel = 0; kernel < G_N_ELEMENTS (kernels); kernel++)
        {
          if (!kernels[kernel].supported)
            continue;
          simd = start;
          simd_counts = counts_new (&args);
          if (kernels[kernel].span != NULL)
            kernels[kernel].span (&args, x, n, 0, stride, head, &simd, &simd_counts);
          else
            qs_fused_span_of_chunks (kernels[kernel].chunk, &args, x, n, 0, stride, head, &simd, &simd_counts);
          g_assert_cmpmem (&ref, sizeof ref, &simd, sizeof simd);
          if (joint)
            g_assert_cmpmem (ref_counts.joint, joint_entries (&args) * sizeof (uint32_t),
                             simd_counts.joint, joint_entries (&args) * sizeof (uint32_t));
          else
            {
              g_assert_cmpmem (ref_counts.codes, (args.skip_code_slot + 1) * sizeof (uint64_t),
                               simd_counts.codes, (args.skip_code_slot + 1) * sizeof (uint64_t));
              g_assert_cmpmem (ref_counts.orig, (args.bins + 3) * sizeof (uint64_t),
                               simd_counts.orig, (args.bins + 3) * sizeof (uint64_t));
            }
          if (args.direct_recon)
            g_assert_cmpmem (ref_counts.recon, (args.bins + 3) * sizeof (uint64_t),
                             simd_counts.recon, (args.bins + 3) * sizeof (uint64_t));
          counts_free (&simd_counts);
        }
      counts_free (&ref_counts);
      g_free (k);
    }
  g_rand_free (rand);
#else
  g_test_skip ("no SIMD kernel on this architecture");
#endif
}

static void
test_minmax_kernel_matches_reference (void)
{
#if defined(__x86_64__)
  GRand *rand = g_rand_new_with_seed (99);
  bool avx512;

  __builtin_cpu_init ();
  if (!__builtin_cpu_supports ("avx2") || !__builtin_cpu_supports ("fma"))
    {
      g_test_skip ("this CPU has no AVX2 and FMA: only the scalar reference runs here");
      g_rand_free (rand);
      return;
    }
  avx512 = __builtin_cpu_supports ("avx512f") && __builtin_cpu_supports ("avx512dq");
  for (int round = 0; round < 500; round++)
    {
      size_t n = g_rand_int_range (rand, 0, 100);
      float x[100];
      float min_a = INFINITY, max_a = -INFINITY;
      uint64_t bad_a = 0, zeros_a = 0, zeros_expected = 0;
      for (size_t i = 0; i < n; i++)
        {
          x[i] = tricky_value (rand, 0.01f);
          zeros_expected += x[i] == 0.0f;
        }
      qs_minmax_scalar (x, n, &min_a, &max_a, &bad_a, &zeros_a);
      g_assert_cmpuint (zeros_a, ==, zeros_expected);
      for (int kernel = 0; kernel < 2; kernel++)
        {
          float min_b = INFINITY, max_b = -INFINITY;
          uint64_t bad_b = 0, zeros_b = 0;
          if (kernel == 0)
            qs_minmax_avx2 (x, n, &min_b, &max_b, &bad_b, &zeros_b);
          else if (avx512)
            qs_minmax_avx512 (x, n, &min_b, &max_b, &bad_b, &zeros_b);
          else
            continue;
          g_assert_cmpfloat (min_a, ==, min_b);
          g_assert_cmpfloat (max_a, ==, max_b);
          g_assert_cmpuint (bad_a, ==, bad_b);
          g_assert_cmpuint (zeros_a, ==, zeros_b);
        }
    }
  g_rand_free (rand);
#else
  g_test_skip ("no SIMD kernel on this architecture");
#endif
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/analysis/hand-derived-int8", test_hand_derived_int8);
  g_test_add_func ("/analysis/exact-representation", test_exact_representation);
  g_test_add_func ("/analysis/all-zero-and-constant", test_all_zero_and_constant);
  g_test_add_func ("/analysis/nonfinite-excluded", test_nonfinite_excluded);
  g_test_add_func ("/analysis/no-finite-values", test_no_finite_values);
  g_test_add_func ("/analysis/exact-zeros", test_exact_zeros);
  g_test_add_func ("/analysis/zero-exactness", test_zero_exactness);
  g_test_add_func ("/analysis/histograms", test_histograms);
  g_test_add_func ("/analysis/threads-do-not-change-results", test_threads_do_not_change_results);
  g_test_add_func ("/analysis/streaming-equals-whole", test_streaming_equals_whole);
  g_test_add_func ("/analysis/cancel-flag", test_cancel_flag);
  g_test_add_func ("/analysis/range-memo", test_range_memo);
  g_test_add_func ("/analysis/block-squares-memo", test_block_squares_memo);
  g_test_add_func ("/analysis/large-tensor-counts", test_large_tensor_counts);
  g_test_add_func ("/analysis/per-channel-beats-per-tensor", test_per_channel_beats_per_tensor);
  g_test_add_func ("/analysis/per-channel-inner-axis", test_per_channel_inner_axis);
  g_test_add_func ("/analysis/float-formats", test_float_formats);
  g_test_add_func ("/analysis/sizes", test_sizes);
  g_test_add_func ("/analysis/kernel-matches-reference", test_kernel_matches_reference);
  g_test_add_func ("/analysis/minmax-kernel-matches-reference", test_minmax_kernel_matches_reference);
  return g_test_run ();
}
