/* test-range.c: the range pass and the range methods.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib.h>
#include <math.h>
#include <string.h>

#include "quant/qs-analysis.h"

static int
compare_floats (gconstpointer a,
                gconstpointer b)
{
  float x = *(const float *) a, y = *(const float *) b;
  return (x > y) - (x < y);
}

/* numpy's linear percentile on a sorted copy: the slow, obvious way. */
static double
reference_percentile (const float *values,
                      gsize        n,
                      double       q)
{
  g_autofree float *sorted = g_memdup2 (values, n * sizeof (float));
  double quantile = q / 100.0;
  double vi = (double) n * quantile + (1.0 + quantile * (1.0 - 1.0 - 1.0)) - 1.0;
  double prev = floor (vi), gamma = vi - prev, a, b;
  gsize lo_i, hi_i;

  qsort (sorted, n, sizeof (float), (int (*) (const void *, const void *)) compare_floats);
  lo_i = prev < 0 ? 0 : (gsize) prev;
  if (lo_i > n - 1)
    lo_i = n - 1;
  hi_i = lo_i + 1 < n ? lo_i + 1 : n - 1;
  a = sorted[lo_i];
  b = sorted[hi_i];
  return gamma >= 0.5 ? b - (b - a) * (1.0 - gamma) : a + (b - a) * gamma;
}

static void
test_percentile_numpy_values (void)
{
  /* Expected values printed by numpy 1.24: np.percentile(a, q). */
  const float a[] = { 3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2, 3, 8, 4 };
  float b[1001];

  g_assert_cmpfloat (qs_percentile (a, 20, 0), ==, 1.0);
  g_assert_cmpfloat (qs_percentile (a, 20, 50), ==, 4.5);
  g_assert_cmpfloat (qs_percentile (a, 20, 90), ==, 9.0);
  g_assert_cmpfloat (qs_percentile (a, 20, 100), ==, 9.0);
  g_assert_cmpfloat (qs_percentile (a, 20, 37.5), ==, 3.125);

  /* b = np.arange(1001, dtype=float32) * float32(0.001) - float32(0.3) */
  for (int i = 0; i < 1001; i++)
    b[i] = (float) i * 0.001f - 0.3f;
  g_assert_cmpfloat (qs_percentile (b, 1001, 0.1), ==, -0.2990000247955322);
  g_assert_cmpfloat (qs_percentile (b, 1001, 99.9), ==, 0.6990000605583192);
  g_assert_cmpfloat (qs_percentile (b, 1001, 99.99), ==, 0.6998999953269958);
  g_assert_cmpfloat (qs_percentile (b, 1001, 0.01), ==, -0.29990001320838927);
}

static void
test_percentile_matches_sort (void)
{
  /* Sizes that exercise the direct gather and the refinement (more than
   * 65,536 values in one bin: heavy duplicates and a narrow core). */
  const gsize sizes[] = { 1, 2, 7, 1000, 300000 };
  const double qs[] = { 0.0, 0.01, 1.0, 25.0, 50.0, 99.0, 99.9, 99.99, 100.0 };
  GRand *rand = g_rand_new_with_seed (42);

  for (gsize s = 0; s < G_N_ELEMENTS (sizes); s++)
    {
      gsize n = sizes[s];
      g_autofree float *v = g_new (float, n);
      for (gsize i = 0; i < n; i++)
        {
          double u = g_rand_double (rand);
          /* Mostly a tight cluster, some far outliers, many exact repeats. */
          v[i] = u < 0.5 ? (float) g_rand_double_range (rand, -1e-3, 1e-3)
                 : u < 0.9 ? (float) (int) g_rand_int_range (rand, -3, 4)
                 : (float) g_rand_double_range (rand, -50.0, 50.0);
        }
      for (gsize q = 0; q < G_N_ELEMENTS (qs); q++)
        g_assert_cmpfloat (qs_percentile (v, n, qs[q]), ==, reference_percentile (v, n, qs[q]));
    }
  g_rand_free (rand);
}

/* Blocks of 1, 2, 3, ... values of an array, copied into the buffer. */
typedef struct {
  const float *values;
  gsize        count;
} Staircase;

static const float *
staircase_block (void   *data,
                 size_t  index,
                 float  *buffer,
                 size_t *count)
{
  const Staircase *s = data;
  gsize start = index * (index + 1) / 2;

  *count = MIN (index + 1, s->count - start);
  memcpy (buffer, s->values + start, *count * sizeof (float));
  return buffer;
}

/* Selection over values read a block at a time (uneven blocks, each a
 * copy, as a kernel read back from its packed form) gives the sorted
 * reference, whatever the split. */
static void
test_percentile_blocks (void)
{
  const gsize sizes[] = { 1, 5, 1000, 200000 };
  const double qs[] = { 0.0, 0.01, 1.0, 50.0, 99.9, 99.99, 100.0 };
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);

  for (gsize s = 0; s < G_N_ELEMENTS (sizes); s++)
    {
      gsize n = sizes[s], n_blocks = 0;
      g_autofree float *v = g_new (float, n);
      g_autofree float *buffer = NULL;
      Staircase stairs = { v, n };
      QsChannelLayout layout = qs_channel_layout_per_tensor (n);
      QsRangeStats stats;
      QsValueBlocks blocks;

      for (gsize i = 0; i < n; i++)
        v[i] = g_rand_double (rand) < 0.6 ? (float) g_rand_double_range (rand, -1e-3, 1e-3)
               : (float) g_rand_double_range (rand, -50.0, 50.0);
      while (n_blocks * (n_blocks + 1) / 2 < n)
        n_blocks++;
      buffer = g_new (float, n_blocks);
      blocks = (QsValueBlocks) { staircase_block, &stairs, n_blocks, buffer };
      g_assert_cmpint (qs_range_stats_compute (&layout, v, 1, &stats, NULL), ==, QS_OK);
      for (gsize q = 0; q < G_N_ELEMENTS (qs); q++)
        g_assert_cmpfloat (qs_percentile_blocks (&blocks, &stats, qs[q]), ==,
                           reference_percentile (v, n, qs[q]));
    }
}

static void
test_percentile_ignores_nonfinite (void)
{
  const float with[] = { NAN, 1.0f, INFINITY, 2.0f, -INFINITY, 3.0f };
  const float without[] = { 1.0f, 2.0f, 3.0f };

  g_assert_cmpfloat (qs_percentile (with, 6, 50.0), ==, qs_percentile (without, 3, 50.0));
  g_assert_cmpfloat (qs_percentile (with, 6, 90.0), ==, qs_percentile (without, 3, 90.0));
  g_assert_true (isnan (qs_percentile (with, 1, 50.0)));
}

static void
test_range_stats (void)
{
  const int64_t shape[] = { 3, 2 };
  const float x[] = { 1.0f, -5.0f, NAN, 7.0f, -2.0f, INFINITY };
  QsChannelLayout layout;
  QsRangeStats per[2], total;

  g_assert_cmpint (qs_channel_layout_for_axis (shape, 2, 1, &layout), ==, QS_OK);
  g_assert_cmpint (qs_range_stats_compute (&layout, x, 1, per, &total), ==, QS_OK);
  g_assert_cmpfloat (per[0].min, ==, -2.0f);
  g_assert_cmpfloat (per[0].max, ==, 1.0f);
  g_assert_cmpuint (per[0].nonfinite, ==, 1);
  g_assert_cmpfloat (per[1].min, ==, -5.0f);
  g_assert_cmpfloat (per[1].max, ==, 7.0f);
  g_assert_cmpuint (per[1].finite, ==, 2);
  g_assert_cmpfloat (total.min, ==, -5.0f);
  g_assert_cmpfloat (total.max, ==, 7.0f);
  g_assert_cmpuint (total.finite, ==, 4);
  g_assert_cmpuint (total.nonfinite, ==, 2);
}

static void
test_range_stats_threads (void)
{
  const gsize n = 5000003;
  g_autofree float *v = g_new (float, n);
  QsChannelLayout layout = qs_channel_layout_per_tensor (n);
  QsRangeStats one, two;
  GRand *rand = g_rand_new_with_seed (7);

  for (gsize i = 0; i < n; i++)
    v[i] = (float) g_rand_double_range (rand, -1.0, 1.0);
  v[n - 1] = 3.5f;  /* in the scalar tail */
  v[4321] = -2.25f;
  v[99] = NAN;
  g_assert_cmpint (qs_range_stats_compute (&layout, v, 1, &one, NULL), ==, QS_OK);
  g_assert_cmpint (qs_range_stats_compute (&layout, v, 2, &two, NULL), ==, QS_OK);
  g_assert_cmpfloat (one.max, ==, 3.5f);
  g_assert_cmpfloat (one.min, ==, -2.25f);
  g_assert_cmpuint (one.nonfinite, ==, 1);
  g_assert_cmpmem (&one, sizeof one, &two, sizeof two);
  g_rand_free (rand);
}

static double
actual_mse (const QsScheme *scheme,
            const float    *v,
            gsize           n)
{
  QsChannelLayout layout = qs_channel_layout_per_tensor (n);
  QsQuantParams params;
  QsAnalysis analysis;
  double mse;

  g_assert_cmpint (qs_analyze (scheme, &layout, v, 0, &params, &analysis), ==, QS_OK);
  mse = analysis.mse;
  qs_quant_params_clear (&params);
  qs_analysis_clear (&analysis);
  return mse;
}

static void
test_mse_and_kl_beat_minmax_on_heavy_tails (void)
{
  /* Laplace(0, 1) samples at 4 bits: min/max spends most levels on a few
   * outliers; clipping them lowers the real error (Banner et al. 2019). */
  const gsize n = 200000;
  g_autofree float *v = g_new (float, n);
  GRand *rand = g_rand_new_with_seed (3);
  QsScheme s;
  double minmax, mse, kl;

  for (gsize i = 0; i < n; i++)
    {
      double u = g_rand_double_range (rand, -0.5, 0.5);
      v[i] = (float) (-copysign (1.0, u) * log (1.0 - 2.0 * fabs (u)));
    }

  qs_scheme_init_per_tensor (&s);
  s.bits = 4;
  s.mapping = QS_MAPPING_SYMMETRIC;
  minmax = actual_mse (&s, v, n);
  s.range_method = QS_RANGE_MSE;
  mse = actual_mse (&s, v, n);
  s.range_method = QS_RANGE_KL;
  kl = actual_mse (&s, v, n);

  g_assert_cmpfloat (mse, <, 0.5 * minmax);
  g_assert_cmpfloat (kl, <, minmax);
  g_rand_free (rand);
}

static void
test_mse_keeps_uniform_range (void)
{
  /* Uniform data at 8 bits: clipping only hurts, the search keeps alpha
   * close to 1. */
  const gsize n = 100000;
  g_autofree float *v = g_new (float, n);
  GRand *rand = g_rand_new_with_seed (5);
  QsChannelLayout layout = qs_channel_layout_per_tensor (n);
  QsRangeStats stats;
  QsScheme s;
  float lo, hi;

  for (gsize i = 0; i < n; i++)
    v[i] = (float) g_rand_double_range (rand, -1.0, 1.0);
  qs_scheme_init_per_tensor (&s);
  s.range_method = QS_RANGE_MSE;
  g_assert_cmpint (qs_range_stats_compute (&layout, v, 1, &stats, NULL), ==, QS_OK);
  g_assert_cmpint (qs_range_choose (&s, &layout, v, &stats, &lo, &hi), ==, QS_OK);
  g_assert_cmpfloat (hi, >, 0.98f * stats.max);
  g_assert_cmpfloat (lo, <, 0.98f * stats.min);
  g_rand_free (rand);
}

static void
test_kl_threshold_inside_range (void)
{
  const gsize n = 100000;
  g_autofree float *v = g_new (float, n);
  GRand *rand = g_rand_new_with_seed (11);
  QsChannelLayout layout = qs_channel_layout_per_tensor (n);
  QsRangeStats stats;
  QsScheme s;
  float lo, hi;

  for (gsize i = 0; i < n; i++)
    {
      /* Gaussian by Box-Muller, plus one far outlier. */
      double u1 = g_rand_double (rand) + 1e-12, u2 = g_rand_double (rand);
      v[i] = (float) (sqrt (-2.0 * log (u1)) * cos (2.0 * G_PI * u2));
    }
  v[0] = 40.0f;
  qs_scheme_init_per_tensor (&s);
  s.range_method = QS_RANGE_KL;
  s.mapping = QS_MAPPING_SYMMETRIC;
  g_assert_cmpint (qs_range_stats_compute (&layout, v, 1, &stats, NULL), ==, QS_OK);
  g_assert_cmpint (qs_range_choose (&s, &layout, v, &stats, &lo, &hi), ==, QS_OK);
  /* The outlier is cut off; the bulk (|x| < 4 sigma) is kept. */
  g_assert_cmpfloat (hi, <, 20.0f);
  g_assert_cmpfloat (hi, >, 2.0f);
  /* The threshold applies to both signs, within the data range. */
  g_assert_cmpfloat (lo, ==, fmaxf (stats.min, -hi));
  g_rand_free (rand);
}

static void
test_per_channel_methods_match_slices (void)
{
  /* Per-channel percentile along the last axis equals the per-tensor
   * percentile of each channel's own values. */
  enum { ROWS = 500, CHANNELS = 3 };
  const int64_t shape[] = { ROWS, CHANNELS };
  float v[ROWS * CHANNELS], slice[ROWS];
  float lo[CHANNELS], hi[CHANNELS];
  QsChannelLayout layout;
  QsRangeStats stats[CHANNELS];
  GRand *rand = g_rand_new_with_seed (9);
  QsScheme s;

  for (int i = 0; i < ROWS * CHANNELS; i++)
    v[i] = (float) g_rand_double_range (rand, -1.0, 1.0) * (float) (1 + i % CHANNELS * 10);
  qs_scheme_init_per_tensor (&s);
  s.granularity = QS_GRANULARITY_CHANNEL;
  g_assert_true (qs_range_method_parse ("percentile:99", &s));
  g_assert_cmpint (qs_channel_layout_for_axis (shape, 2, -1, &layout), ==, QS_OK);
  g_assert_cmpint (qs_range_stats_compute (&layout, v, 2, stats, NULL), ==, QS_OK);
  g_assert_cmpint (qs_range_choose (&s, &layout, v, stats, lo, hi), ==, QS_OK);

  for (int c = 0; c < CHANNELS; c++)
    {
      for (int r = 0; r < ROWS; r++)
        slice[r] = v[r * CHANNELS + c];
      g_assert_cmpfloat (lo[c], ==, (float) qs_percentile (slice, ROWS, 1.0));
      g_assert_cmpfloat (hi[c], ==, (float) qs_percentile (slice, ROWS, 99.0));
    }
  g_rand_free (rand);
}

static void
test_manual (void)
{
  const float v[] = { -3.0f, 5.0f };
  QsChannelLayout layout = qs_channel_layout_per_tensor (2);
  QsRangeStats stats;
  QsScheme s;
  float lo, hi;

  qs_scheme_init_per_tensor (&s);
  g_assert_true (qs_range_method_parse ("manual:-1,2", &s));
  g_assert_cmpint (qs_range_stats_compute (&layout, v, 1, &stats, NULL), ==, QS_OK);
  g_assert_cmpint (qs_range_choose (&s, &layout, v, &stats, &lo, &hi), ==, QS_OK);
  g_assert_cmpfloat (lo, ==, -1.0f);
  g_assert_cmpfloat (hi, ==, 2.0f);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/range/percentile-numpy-values", test_percentile_numpy_values);
  g_test_add_func ("/range/percentile-matches-sort", test_percentile_matches_sort);
  g_test_add_func ("/range/percentile-ignores-nonfinite", test_percentile_ignores_nonfinite);
  g_test_add_func ("/range/percentile-blocks", test_percentile_blocks);
  g_test_add_func ("/range/stats", test_range_stats);
  g_test_add_func ("/range/stats-threads", test_range_stats_threads);
  g_test_add_func ("/range/mse-kl-beat-minmax", test_mse_and_kl_beat_minmax_on_heavy_tails);
  g_test_add_func ("/range/mse-keeps-uniform-range", test_mse_keeps_uniform_range);
  g_test_add_func ("/range/kl-threshold-inside-range", test_kl_threshold_inside_range);
  g_test_add_func ("/range/per-channel-matches-slices", test_per_channel_methods_match_slices);
  g_test_add_func ("/range/manual", test_manual);
  return g_test_run ();
}
