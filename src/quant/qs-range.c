/* qs-range.c: the range pass and the range (calibration) methods.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "qs-range.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "qs-parallel.h"
#include "qs-fused-private.h"

/* Elements per task of the range pass: large enough to amortise the
 * per-task bookkeeping, small enough to balance two cores. */
#define RANGE_BLOCK ((size_t) 1 << 20)
/* Selection narrows the search until the candidate bin holds at most this
 * many values, then sorts a copy of just those. */
#define SELECT_BINS 4096
#define SELECT_GATHER_MAX ((size_t) 1 << 16)
/* MSE search: clip ranges alpha * [min, max], alpha = i / MSE_STEPS. */
#define MSE_STEPS 512
#define MSE_FIRST_STEP 16

static inline bool
is_finite (float x)
{
  return x - x == 0.0f;
}

void
qs_range_stats_init (QsRangeStats *stats)
{
  stats->min = INFINITY;
  stats->max = -INFINITY;
  stats->finite = 0;
  stats->nonfinite = 0;
  stats->zeros = 0;
}

void
qs_histogram_range (const QsScheme *scheme,
                    double          data_min,
                    double          data_max,
                    double         *lo,
                    double         *hi)
{
  if (scheme->has_hist_range)
    {
      *lo = scheme->hist_lo;
      *hi = scheme->hist_hi;
      return;
    }
  *lo = data_min;
  *hi = data_max;
  if (!(*lo < *hi))
    {
      *lo -= 0.5;
      *hi += 0.5;
    }
}

void
qs_range_stats_merge (QsRangeStats       *into,
                      const QsRangeStats *from)
{
  into->min = fminf (into->min, from->min);
  into->max = fmaxf (into->max, from->max);
  into->finite += from->finite;
  into->nonfinite += from->nonfinite;
  into->zeros += from->zeros;
}

static void
stats_contiguous (QsMinMaxKernel  kernel,
                  const float    *v,
                  size_t          n,
                  QsRangeStats   *stats)
{
  uint64_t nonfinite = 0;

  kernel (v, n, &stats->min, &stats->max, &nonfinite, &stats->zeros);
  stats->nonfinite += nonfinite;
  stats->finite += n - nonfinite;
}

static void
stats_span (QsMinMaxKernel         kernel,
            const QsChannelLayout *layout,
            const float           *data,
            size_t                 start,
            size_t                 end,
            QsRangeStats          *per_channel)
{
  size_t channels = layout->channels, inner = layout->inner;
  size_t i = start;

  if (channels == 1)
    {
      stats_contiguous (kernel, data + start, end - start, &per_channel[0]);
      return;
    }

  while (i < end)
    {
      if (inner == 1)
        {
          size_t c0 = i % channels;
          size_t n = channels - c0 < end - i ? channels - c0 : end - i;
          for (size_t j = 0; j < n; j++)
            {
              QsRangeStats *st = &per_channel[c0 + j];
              float x = data[i + j];
              if (!is_finite (x))
                {
                  st->nonfinite++;
                  continue;
                }
              st->finite++;
              st->zeros += x == 0.0f;
              st->min = x < st->min ? x : st->min;
              st->max = x > st->max ? x : st->max;
            }
          i += n;
        }
      else
        {
          size_t row = i / inner;
          size_t stop = (row + 1) * inner < end ? (row + 1) * inner : end;
          stats_contiguous (kernel, data + i, stop - i, &per_channel[row % channels]);
          i = stop;
        }
    }
}

typedef struct {
  QsMinMaxKernel         kernel;
  const QsChannelLayout *layout;
  const float           *data;
  QsRangeStats          *worker_stats; /* [workers][channels] */
} RangeJob;

static void
range_task (void   *user_data,
            size_t  task,
            int     worker)
{
  RangeJob *job = user_data;
  size_t start = task * RANGE_BLOCK;
  size_t end = start + RANGE_BLOCK < job->layout->count ? start + RANGE_BLOCK : job->layout->count;

  stats_span (job->kernel, job->layout, job->data, start, end,
              job->worker_stats + (size_t) worker * job->layout->channels);
}

QsStatus
qs_range_stats_compute (const QsChannelLayout *layout,
                        const float           *data,
                        int                    n_threads,
                        QsRangeStats          *per_channel,
                        QsRangeStats          *total)
{
  size_t channels = layout->channels;
  size_t n_tasks = (layout->count + RANGE_BLOCK - 1) / RANGE_BLOCK;
  int workers = qs_parallel_worker_count (n_threads, n_tasks);
  RangeJob job = { qs_minmax_kernel (), layout, data, NULL };

  job.worker_stats = malloc ((size_t) workers * channels * sizeof (QsRangeStats));
  if (job.worker_stats == NULL)
    return QS_STATUS_NO_MEMORY;
  for (size_t i = 0; i < (size_t) workers * channels; i++)
    qs_range_stats_init (&job.worker_stats[i]);

  qs_parallel_for (workers, n_tasks, range_task, &job);

  for (size_t c = 0; c < channels; c++)
    {
      qs_range_stats_init (&per_channel[c]);
      for (int w = 0; w < workers; w++)
        qs_range_stats_merge (&per_channel[c], &job.worker_stats[(size_t) w * channels + c]);
    }
  if (total != NULL)
    {
      qs_range_stats_init (total);
      for (size_t c = 0; c < channels; c++)
        qs_range_stats_merge (total, &per_channel[c]);
    }

  free (job.worker_stats);
  return QS_OK;
}

static bool
same_layout (const QsChannelLayout *a,
             const QsChannelLayout *b)
{
  return a->count == b->count && a->outer == b->outer && a->channels == b->channels && a->inner == b->inner;
}

void
qs_range_memo_clear (QsRangeMemo *memo)
{
  free (memo->per_channel);
  free (memo->hist);
  memset (memo, 0, sizeof *memo);
}

const uint64_t *
qs_range_memo_histogram (const QsRangeMemo *memo,
                         int                bins,
                         double             lo,
                         double             hi)
{
  if (memo == NULL || memo->hist == NULL || memo->hist_bins != bins || memo->hist_lo != lo || memo->hist_hi != hi)
    return NULL;
  return memo->hist;
}

void
qs_range_memo_keep_histogram (QsRangeMemo    *memo,
                              int             bins,
                              double          lo,
                              double          hi,
                              uint64_t        below,
                              const uint64_t *counts,
                              uint64_t        above)
{
  uint64_t *kept;

  if (memo == NULL || bins < 1)
    return;
  kept = realloc (memo->hist, ((size_t) bins + 2) * sizeof (uint64_t));
  if (kept == NULL)
    {
      free (memo->hist);
      memo->hist = NULL;
      return;
    }
  kept[0] = below;
  memcpy (kept + 1, counts, (size_t) bins * sizeof (uint64_t));
  kept[bins + 1] = above;
  memo->hist = kept;
  memo->hist_bins = bins;
  memo->hist_lo = lo;
  memo->hist_hi = hi;
}

bool
qs_range_memo_block_squares (const QsRangeMemo     *memo,
                             const QsChannelLayout *layout,
                             size_t                 block_size,
                             double                *x2)
{
  for (int i = 0; memo != NULL && i < QS_RANGE_MEMO_SQUARES; i++)
    {
      const QsRangeMemoSquares *kept = &memo->squares[i];
      if (kept->block_size == block_size && block_size > 0 && same_layout (&kept->layout, layout))
        {
          *x2 = kept->x2;
          return true;
        }
    }
  return false;
}

void
qs_range_memo_keep_block_squares (QsRangeMemo           *memo,
                                  const QsChannelLayout *layout,
                                  size_t                 block_size,
                                  double                 x2)
{
  double known;

  if (memo == NULL || qs_range_memo_block_squares (memo, layout, block_size, &known))
    return;
  memo->squares[memo->squares_next] = (QsRangeMemoSquares) { *layout, block_size, x2 };
  memo->squares_next = (memo->squares_next + 1) % QS_RANGE_MEMO_SQUARES;
}

QsStatus
qs_range_stats_remembered (const QsChannelLayout *layout,
                           const float           *data,
                           int                    n_threads,
                           QsRangeMemo           *memo,
                           QsRangeStats          *per_channel,
                           QsRangeStats          *total)
{
  QsRangeStats *kept;
  QsStatus status;

  if (memo != NULL && memo->per_channel != NULL && same_layout (&memo->layout, layout))
    {
      memcpy (per_channel, memo->per_channel, layout->channels * sizeof (QsRangeStats));
      *total = memo->total;
      return QS_OK;
    }
  status = qs_range_stats_compute (layout, data, n_threads, per_channel, total);
  if (status != QS_OK || memo == NULL)
    return status;
  /* Without memory to keep them, the next analysis reads them again.
   * The histogram, of the same data, stays. */
  free (memo->per_channel);
  memo->per_channel = NULL;
  memset (&memo->layout, 0, sizeof memo->layout);
  kept = malloc (layout->channels * sizeof (QsRangeStats));
  if (kept != NULL)
    {
      memcpy (kept, per_channel, layout->channels * sizeof (QsRangeStats));
      memo->layout = *layout;
      memo->per_channel = kept;
      memo->total = *total;
    }
  return QS_OK;
}

/* ---- exact selection ---------------------------------------------------- */

static int
compare_floats (const void *a,
                const void *b)
{
  float x = *(const float *) a, y = *(const float *) b;
  return (x > y) - (x < y);
}

static inline int
select_bin (float  x,
            float  lo,
            double inv_width)
{
  int b = (int) (((double) x - (double) lo) * inv_width);
  return b < SELECT_BINS ? b : SELECT_BINS - 1;
}

typedef struct {
  const float *values;
  size_t       count;
} ArrayValues;

/* The values of one contiguous array, as a single block. */
static const float *
array_block (void   *data,
             size_t  index,
             float  *buffer,
             size_t *count)
{
  const ArrayValues *array = data;

  (void) index;
  (void) buffer;
  *count = array->count;
  return array->values;
}

/* The @k-th smallest finite value (0-based) of the values @blocks gives,
 * exactly, without copying more than SELECT_GATHER_MAX of them: a
 * histogram over the current bounds finds the bin that holds rank k, the
 * bounds shrink to that bin's exact extremes, and once the bin is small
 * its values are sorted. Every step uses one monotone bin function, so
 * "values below the bin" is exact; counts do not depend on how the values
 * are split into blocks, and the gathered values are sorted, so neither
 * does the result. */
static float
select_kth (const QsValueBlocks *blocks,
            uint64_t             k,
            float                lo,
            float                hi)
{
  uint64_t below = 0;  /* finite values < lo */
  uint64_t *hist = calloc (SELECT_BINS, sizeof (uint64_t));
  float result = lo;

  if (hist == NULL)
    return NAN;

  for (int iteration = 0; lo < hi; iteration++)
    {
      double inv_width = SELECT_BINS / ((double) hi - (double) lo);
      uint64_t cumulative = below;
      int bin = 0;

      memset (hist, 0, SELECT_BINS * sizeof (uint64_t));
      for (size_t j = 0; j < blocks->n_blocks; j++)
        {
          size_t n;
          const float *v = blocks->read (blocks->data, j, blocks->buffer, &n);

          for (size_t i = 0; i < n; i++)
            if (v[i] >= lo && v[i] <= hi)
              hist[select_bin (v[i], lo, inv_width)]++;
        }

      for (bin = 0; bin < SELECT_BINS - 1 && cumulative + hist[bin] <= k; bin++)
        cumulative += hist[bin];
      below = cumulative;

      if (hist[bin] <= SELECT_GATHER_MAX || iteration >= 16)
        {
          float *gathered = malloc ((hist[bin] ? hist[bin] : 1) * sizeof (float));
          size_t m = 0;
          if (gathered == NULL)
            {
              result = NAN;
              break;
            }
          for (size_t j = 0; j < blocks->n_blocks && m < hist[bin]; j++)
            {
              size_t n;
              const float *v = blocks->read (blocks->data, j, blocks->buffer, &n);

              for (size_t i = 0; i < n && m < hist[bin]; i++)
                if (v[i] >= lo && v[i] <= hi && select_bin (v[i], lo, inv_width) == bin)
                  gathered[m++] = v[i];
            }
          qsort (gathered, m, sizeof (float), compare_floats);
          result = m > 0 ? gathered[k - below < m ? k - below : m - 1] : lo;
          free (gathered);
          free (hist);
          return result;
        }
      else
        {
          float bin_lo = INFINITY, bin_hi = -INFINITY;
          for (size_t j = 0; j < blocks->n_blocks; j++)
            {
              size_t n;
              const float *v = blocks->read (blocks->data, j, blocks->buffer, &n);

              for (size_t i = 0; i < n; i++)
                if (v[i] >= lo && v[i] <= hi && select_bin (v[i], lo, inv_width) == bin)
                  {
                    bin_lo = fminf (bin_lo, v[i]);
                    bin_hi = fmaxf (bin_hi, v[i]);
                  }
            }
          lo = bin_lo;
          hi = bin_hi;
          result = lo;
        }
    }

  free (hist);
  return result;
}

double
qs_percentile_blocks (const QsValueBlocks *blocks,
                      const QsRangeStats  *stats,
                      double               q)
{
  double quantile, virtual_index, previous, gamma, a, b, diff;
  uint64_t n, below_index, above_index;

  if (stats->finite == 0)
    return NAN;

  /* numpy 1.24 _quantile with method "linear" (alpha = beta = 1), operation
   * for operation, so the result matches it to the last bit. */
  n = stats->finite;
  quantile = q / 100.0;
  virtual_index = (double) n * quantile + (1.0 + quantile * (1.0 - 1.0 - 1.0)) - 1.0;
  previous = floor (virtual_index);
  gamma = virtual_index - previous;
  if (previous < 0.0)
    previous = 0.0;
  below_index = (uint64_t) previous;
  if (below_index > n - 1)
    below_index = n - 1;
  above_index = below_index + 1 < n ? below_index + 1 : n - 1;

  a = select_kth (blocks, below_index, stats->min, stats->max);
  b = above_index == below_index ? a : select_kth (blocks, above_index, stats->min, stats->max);
  diff = b - a;
  if (gamma >= 0.5)
    return b - diff * (1.0 - gamma);
  return a + diff * gamma;
}

double
qs_percentile (const float *values,
               size_t       count,
               double       q)
{
  QsChannelLayout layout = qs_channel_layout_per_tensor (count);
  ArrayValues array = { values, count };
  QsValueBlocks blocks = { array_block, &array, 1, NULL };
  QsRangeStats stats;

  if (count == 0 || qs_range_stats_compute (&layout, values, 1, &stats, NULL) != QS_OK)
    return NAN;
  return qs_percentile_blocks (&blocks, &stats, q);
}

/* ---- histogram-based searches ------------------------------------------ */

static void
histogram_of (const float *v,
              size_t       n,
              double       lo,
              double       hi,
              bool         magnitude,
              double      *hist,
              int          bins)
{
  double inv_width = bins / (hi - lo);

  memset (hist, 0, (size_t) bins * sizeof (double));
  for (size_t i = 0; i < n; i++)
    {
      double x = v[i];
      int b;
      if (!is_finite (v[i]))
        continue;
      if (magnitude)
        x = fabs (x);
      b = (int) ((x - lo) * inv_width);
      hist[b < 0 ? 0 : b >= bins ? bins - 1 : b] += 1.0;
    }
}

static float
choose_mse_alpha (const QsScheme *scheme,
                  const double   *hist,
                  double          lo,
                  double          hi,
                  float           range_lo,
                  float           range_hi)
{
  double width = (hi - lo) / QS_CALIBRATION_BINS;
  double best_error = INFINITY;
  float best_alpha = 1.0f;

  for (int step = MSE_STEPS; step >= MSE_FIRST_STEP; step--)
    {
      float alpha = (float) step / MSE_STEPS;
      QsChannelCoeffs c;
      double error = 0.0;

      qs_channel_coeffs_for_range (scheme, alpha * range_lo, alpha * range_hi, &c);
      for (int b = 0; b < QS_CALIBRATION_BINS; b++)
        {
          float centre, r, back;
          if (hist[b] == 0.0)
            continue;
          centre = (float) (lo + (b + 0.5) * width);
          r = qs_round (qs_clampf (centre * c.inv + c.add, c.lo, c.hi), scheme->rounding);
          back = (r - c.sub) * c.scale;
          error += hist[b] * ((double) back - centre) * ((double) back - centre);
        }
      /* Ties keep the wider range: fewer clipped values for the same error. */
      if (error < best_error)
        {
          best_error = error;
          best_alpha = alpha;
        }
    }

  return best_alpha;
}

static void
range_mse (const QsScheme     *scheme,
           const float        *v,
           size_t              n,
           const QsRangeStats *stats,
           double             *hist,
           float              *lo,
           float              *hi)
{
  float range_lo = stats->min, range_hi = stats->max;
  float alpha;

  if (scheme->mapping == QS_MAPPING_SYMMETRIC || scheme->format != QS_FORMAT_INT)
    {
      float amax = fmaxf (fabsf (range_lo), fabsf (range_hi));
      range_lo = -amax;
      range_hi = amax;
    }

  if (!(range_hi > range_lo))
    {
      *lo = stats->min;
      *hi = stats->max;
      return;
    }

  histogram_of (v, n, range_lo, range_hi, false, hist, QS_CALIBRATION_BINS);
  alpha = choose_mse_alpha (scheme, hist, range_lo, range_hi, range_lo, range_hi);
  *lo = alpha * range_lo;
  *hi = alpha * range_hi;
}

/* MXNet's _smooth_distribution: move eps of mass onto empty bins so the
 * divergence stays finite. False when every bin is empty. */
static bool
smooth_distribution (double *p,
                     int     n,
                     double  eps)
{
  int zeros = 0;
  double eps_nonzero;

  for (int i = 0; i < n; i++)
    zeros += p[i] == 0.0;
  if (zeros == n)
    return false;
  eps_nonzero = eps * zeros / (n - zeros);
  for (int i = 0; i < n; i++)
    p[i] += p[i] == 0.0 ? eps : -eps_nonzero;
  return true;
}

static double
kl_divergence (const double *p,
               const double *q,
               int           n)
{
  double sum_p = 0.0, sum_q = 0.0, kl = 0.0, last_p = NAN, last_q = NAN, term = 0.0;

  for (int i = 0; i < n; i++)
    {
      sum_p += p[i];
      sum_q += q[i];
    }
  for (int i = 0; i < n; i++)
    if (p[i] > 0.0)
      {
        if (q[i] <= 0.0)
          return INFINITY;
        /* Smoothing gives every bin that was empty in both the same p and
         * q, so runs of equal pairs are common: the term is reused (the
         * same operands give the same bits), sparing the log that
         * dominates the search. */
        if (p[i] != last_p || q[i] != last_q)
          {
            last_p = p[i];
            last_q = q[i];
            term = (p[i] / sum_p) * log ((p[i] / sum_p) / (q[i] / sum_q));
          }
        kl += term;
      }
  return kl;
}

/* The quantization levels KL calibration merges into: half the integer
 * codes (the |x| histogram covers one sign), or every bin for float
 * formats and wide integers. */
static int
kl_levels (const QsScheme *scheme)
{
  return scheme->format == QS_FORMAT_INT && scheme->bits - 1 < 12
         ? 1 << (scheme->bits - 1) : QS_CALIBRATION_BINS;
}

/* The |x| histogram KL calibration searches, sized to the data: the
 * search costs O(bins^2) whatever the count, and 2048 bins over a channel
 * of nine values (a 3x3 depthwise kernel) are empty bins whose smoothing
 * decides the result. QS_CALIBRATION_BINS (the TensorRT setting, results
 * unchanged) from QS_CALIBRATION_BINS / 2 values on, else the power of two
 * at or above twice the count, never below the levels: per-channel KL
 * then costs at most O(values x QS_CALIBRATION_BINS) over a tensor,
 * whatever its channel count (70,000 channels of 9 values took 10 minutes). */
static int
kl_bins (int      levels,
         uint64_t finite)
{
  int bins = levels;

  while (bins < QS_CALIBRATION_BINS && (uint64_t) bins < 2 * finite)
    bins *= 2;
  return bins;
}

/* TensorRT entropy calibration (Migacz 2017) on the |x| histogram of
 * @bins bins, as the MXNet reference implements it: for each cut i, P
 * folds the tail into bin i - 1, Q merges bins 0..i-1 into `levels` groups
 * spread back over their non-empty bins; the threshold is the upper edge
 * of the best cut. */
static double
kl_threshold (const double *hist,
              int           bins,
              int           levels,
              double        amax)
{
  double *p = malloc ((size_t) bins * sizeof (double));
  double *q = malloc ((size_t) bins * sizeof (double));
  double tail = 0.0, best = INFINITY;
  int best_cut = bins;

  if (p == NULL || q == NULL)
    {
      free (p);
      free (q);
      return amax;
    }

  if (levels > bins)
    levels = bins;

  for (int i = levels; i < bins; i++)
    tail += hist[i];

  for (int cut = levels; cut <= bins; cut++)
    {
      int merged = cut / levels;
      double divergence;

      if (cut > levels)
        tail -= hist[cut - 1];
      memcpy (p, hist, (size_t) cut * sizeof (double));
      p[cut - 1] += tail;

      for (int j = 0; j < levels; j++)
        {
          int start = j * merged;
          int stop = j == levels - 1 ? cut : start + merged;
          double sum = 0.0;
          int nonzero = 0;
          for (int k = start; k < stop; k++)
            {
              sum += hist[k];
              nonzero += p[k] != 0.0;
            }
          for (int k = start; k < stop; k++)
            q[k] = p[k] != 0.0 ? sum / nonzero : 0.0;
        }

      if (!smooth_distribution (p, cut, 1e-4) || !smooth_distribution (q, cut, 1e-4))
        continue;
      divergence = kl_divergence (p, q, cut);
      if (divergence < best)
        {
          best = divergence;
          best_cut = cut;
        }
    }

  free (p);
  free (q);
  return amax * best_cut / bins;
}

static void
range_kl (const QsScheme     *scheme,
          const float        *v,
          size_t              n,
          const QsRangeStats *stats,
          double             *hist,
          float              *lo,
          float              *hi)
{
  float amax = fmaxf (fabsf (stats->min), fabsf (stats->max));
  int levels = kl_levels (scheme), bins = kl_bins (levels, stats->finite);
  float threshold;

  *lo = stats->min;
  *hi = stats->max;
  if (!(amax > 0.0f))
    return;

  histogram_of (v, n, 0.0, amax, true, hist, bins);
  threshold = (float) kl_threshold (hist, bins, levels, amax);
  *lo = fmaxf (stats->min, -threshold);
  *hi = fminf (stats->max, threshold);
}

static void
range_percentile (const QsScheme     *scheme,
                  const float        *v,
                  size_t              n,
                  float              *lo,
                  float              *hi)
{
  *lo = (float) qs_percentile (v, n, 100.0 - scheme->percentile);
  *hi = (float) qs_percentile (v, n, scheme->percentile);
}

/* Methods that need a channel's values in one place get them here. */
static void
choose_contiguous (const QsScheme     *scheme,
                   const float        *v,
                   size_t              n,
                   const QsRangeStats *stats,
                   double             *hist,
                   float              *lo,
                   float              *hi)
{
  if (stats->finite == 0 && scheme->range_method != QS_RANGE_MANUAL)
    {
      /* A channel of only NaN/Inf: nothing to calibrate, keep a valid range. */
      *lo = 0.0f;
      *hi = 0.0f;
      return;
    }

  switch (scheme->range_method)
    {
    case QS_RANGE_PERCENTILE:
      range_percentile (scheme, v, n, lo, hi);
      break;
    case QS_RANGE_MSE:
      range_mse (scheme, v, n, stats, hist, lo, hi);
      break;
    case QS_RANGE_KL:
      range_kl (scheme, v, n, stats, hist, lo, hi);
      break;
    case QS_RANGE_MANUAL:
      *lo = (float) scheme->manual_lo;
      *hi = (float) scheme->manual_hi;
      break;
    case QS_RANGE_MINMAX:
    default:
      *lo = stats->min;
      *hi = stats->max;
      break;
    }
}

typedef struct {
  const QsScheme        *scheme;
  const QsChannelLayout *layout;
  const float           *data;
  const QsRangeStats    *stats;
  float                 *lo;
  float                 *hi;
  float                **scratch;  /* [workers]: one channel's values */
  double               **hist;     /* [workers]: QS_CALIBRATION_BINS */
} ChannelJob;

static void
channel_task (void   *user_data,
              size_t  c,
              int     worker)
{
  ChannelJob *job = user_data;
  const QsChannelLayout *l = job->layout;
  float *scratch = job->scratch[worker];
  size_t m = 0;

  for (size_t o = 0; o < l->outer; o++)
    {
      const float *row = job->data + (o * l->channels + c) * l->inner;
      memcpy (scratch + m, row, l->inner * sizeof (float));
      m += l->inner;
    }
  choose_contiguous (job->scheme, scratch, m, &job->stats[c], job->hist[worker],
                     &job->lo[c], &job->hi[c]);
}

QsStatus
qs_range_choose (const QsScheme        *scheme,
                 const QsChannelLayout *layout,
                 const float           *data,
                 const QsRangeStats    *per_channel,
                 float                 *lo,
                 float                 *hi)
{
  size_t channels = layout->channels;
  bool needs_values = scheme->range_method == QS_RANGE_PERCENTILE
                      || scheme->range_method == QS_RANGE_MSE
                      || scheme->range_method == QS_RANGE_KL;
  ChannelJob job = { scheme, layout, data, per_channel, lo, hi, NULL, NULL };
  int workers;
  QsStatus status = QS_OK;

  if (!needs_values || channels == 1)
    {
      double *hist = needs_values ? malloc (QS_CALIBRATION_BINS * sizeof (double)) : NULL;
      if (needs_values && hist == NULL)
        return QS_STATUS_NO_MEMORY;
      for (size_t c = 0; c < channels; c++)
        choose_contiguous (scheme, data, layout->count, &per_channel[c], hist, &lo[c], &hi[c]);
      free (hist);
      return QS_OK;
    }

  workers = qs_parallel_worker_count (0, channels);
  job.scratch = calloc ((size_t) workers, sizeof (float *));
  job.hist = calloc ((size_t) workers, sizeof (double *));
  if (job.scratch == NULL || job.hist == NULL)
    status = QS_STATUS_NO_MEMORY;
  for (int w = 0; w < workers && status == QS_OK; w++)
    {
      job.scratch[w] = malloc ((layout->outer * layout->inner) * sizeof (float));
      job.hist[w] = malloc (QS_CALIBRATION_BINS * sizeof (double));
      if (job.scratch[w] == NULL || job.hist[w] == NULL)
        status = QS_STATUS_NO_MEMORY;
    }

  if (status == QS_OK)
    qs_parallel_for (workers, channels, channel_task, &job);

  for (int w = 0; w < workers && job.scratch && job.hist; w++)
    {
      free (job.scratch[w]);
      free (job.hist[w]);
    }
  free (job.scratch);
  free (job.hist);
  return status;
}

/* ---- streaming calibration ---------------------------------------------- */

/* The domain of the histogram each method builds in choose_contiguous,
 * computed the same way, so the streamed histogram is bin for bin the
 * in-memory one. */
bool
qs_range_histogram_spec (const QsScheme     *scheme,
                         const QsRangeStats *stats,
                         int                 percentile_bins,
                         QsCalibrationSpec  *spec)
{
  memset (spec, 0, sizeof *spec);
  if (stats->finite == 0)
    return false;

  switch (scheme->range_method)
    {
    case QS_RANGE_MSE:
      {
        float range_lo = stats->min, range_hi = stats->max;
        if (scheme->mapping == QS_MAPPING_SYMMETRIC || scheme->format != QS_FORMAT_INT)
          {
            float amax = fmaxf (fabsf (range_lo), fabsf (range_hi));
            range_lo = -amax;
            range_hi = amax;
          }
        if (!(range_hi > range_lo))
          return false;
        spec->lo = range_lo;
        spec->hi = range_hi;
        spec->bins = QS_CALIBRATION_BINS;
        spec->magnitude = false;
        return true;
      }
    case QS_RANGE_KL:
      {
        float amax = fmaxf (fabsf (stats->min), fabsf (stats->max));
        if (!(amax > 0.0f))
          return false;
        spec->lo = 0.0;
        spec->hi = amax;
        spec->bins = kl_bins (kl_levels (scheme), stats->finite);
        spec->magnitude = true;
        return true;
      }
    case QS_RANGE_PERCENTILE:
      if (!(stats->max > stats->min) || percentile_bins < 1)
        return false;
      spec->lo = stats->min;
      spec->hi = stats->max;
      spec->bins = percentile_bins;
      spec->magnitude = false;
      return true;
    case QS_RANGE_MINMAX:
    case QS_RANGE_MANUAL:
    default:
      return false;
    }
}

void
qs_range_histogram_accumulate (const QsCalibrationSpec *spec,
                               const float             *values,
                               size_t                   count,
                               double                  *hist)
{
  double inv_width = spec->bins / (spec->hi - spec->lo);
  int bins = spec->bins;

  /* histogram_of, without the reset. */
  for (size_t i = 0; i < count; i++)
    {
      double x = values[i];
      int b;
      if (!is_finite (values[i]))
        continue;
      if (spec->magnitude)
        x = fabs (x);
      b = (int) ((x - spec->lo) * inv_width);
      hist[b < 0 ? 0 : b >= bins ? bins - 1 : b] += 1.0;
    }
}

/* The value of rank @k (0-based) among the @n values of @hist, assuming
 * each bin's values spread evenly over it. */
static double
histogram_rank_value (const QsCalibrationSpec *spec,
                      const double            *hist,
                      double                   k)
{
  double width = (spec->hi - spec->lo) / spec->bins;
  double cumulative = 0.0;

  for (int b = 0; b < spec->bins; b++)
    {
      if (hist[b] > 0.0 && k < cumulative + hist[b])
        return spec->lo + (b + (k - cumulative + 0.5) / hist[b]) * width;
      cumulative += hist[b];
    }
  return spec->hi;
}

static double
histogram_percentile (const QsCalibrationSpec *spec,
                      const QsRangeStats      *stats,
                      const double            *hist,
                      double                   q)
{
  /* numpy's "linear" method: rank (n - 1) * q / 100 between two values. */
  double n = (double) stats->finite;
  double rank = (n - 1.0) * q / 100.0;
  double below = floor (rank), gamma = rank - below;
  double a = histogram_rank_value (spec, hist, below);
  double b = below + 1.0 < n ? histogram_rank_value (spec, hist, below + 1.0) : a;
  double value = a + (b - a) * gamma;

  return fmin (fmax (value, stats->min), stats->max);
}

void
qs_range_choose_from_histogram (const QsScheme          *scheme,
                                const QsRangeStats      *stats,
                                const QsCalibrationSpec *spec,
                                const double            *hist,
                                float                   *lo,
                                float                   *hi)
{
  if (stats->finite == 0 && scheme->range_method != QS_RANGE_MANUAL)
    {
      *lo = 0.0f;
      *hi = 0.0f;
      return;
    }

  *lo = stats->min;
  *hi = stats->max;
  switch (scheme->range_method)
    {
    case QS_RANGE_MANUAL:
      *lo = (float) scheme->manual_lo;
      *hi = (float) scheme->manual_hi;
      return;
    case QS_RANGE_MSE:
      if (hist != NULL)
        {
          float alpha = choose_mse_alpha (scheme, hist, spec->lo, spec->hi,
                                          (float) spec->lo, (float) spec->hi);
          *lo = alpha * (float) spec->lo;
          *hi = alpha * (float) spec->hi;
        }
      return;
    case QS_RANGE_KL:
      if (hist != NULL)
        {
          float threshold = (float) kl_threshold (hist, spec->bins, kl_levels (scheme), (float) spec->hi);
          *lo = fmaxf (stats->min, -threshold);
          *hi = fminf (stats->max, threshold);
        }
      return;
    case QS_RANGE_PERCENTILE:
      if (hist != NULL)
        {
          *lo = (float) histogram_percentile (spec, stats, hist, 100.0 - scheme->percentile);
          *hi = (float) histogram_percentile (spec, stats, hist, scheme->percentile);
        }
      return;
    case QS_RANGE_MINMAX:
    default:
      return;
    }
}
