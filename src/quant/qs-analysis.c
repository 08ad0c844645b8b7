/* qs-analysis.c: the fused pass: quantize, dequantize, metrics and histograms in one sweep.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * After the range pass, every number the user sees comes from one sweep
 * over the data: per element a code, its reconstruction, the error sums,
 * the clip test and the histogram counts. Nothing tensor-sized is
 * allocated: the kernels take a run of elements (one channel's, within a
 * BLOCK) in CHUNKs with lane sums of their own, vectorized, and count
 * codes and bins in per-worker tallies as they go.
 *
 * Results do not depend on the number of threads: integer counts are
 * merged per worker (addition of integers is exact), floating-point sums
 * are kept per BLOCK of absolute element positions and per lane, each
 * accumulated in a fixed order, and added up in block order at the end.
 */
#include "qs-analysis.h"

#include <float.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qs-block.h"
#include "qs-parallel.h"
#include "qs-block-private.h"
#include "qs-fused-private.h"

#define BLOCK ((size_t) 1 << 16)


/* Padded to a cache line: neighbouring blocks belong to different workers. */
typedef struct {
  double err2;
  double x2;
  double recon2;
  double cross;
  double padding[4];
} BlockSums;

/* Per-worker integer tallies; slots as in QsFusedArgs. */
typedef struct {
  uint64_t *codes;     /* [code_slots + 1], the last slot for skipped values */
  uint64_t *orig;      /* [bins + 3] */
  uint64_t *recon;     /* [bins + 3] */
  uint32_t *joint;     /* see QsFusedCounts, where the pass counts pairs */
  uint64_t  joint_pending;  /* elements in joint since it was last folded */
  uint64_t  clipped;
  uint64_t  nonfinite;
  double    max_error;
  char      padding[128 - 4 * sizeof (void *) - 4 * 8];  /* no false sharing between workers */
} WorkerAcc;

struct _QsPass {
  QsFormat         format;
  QsChannelLayout  layout;
  const QsQuantParams *params;
  QsFusedArgs      args;
  QsFusedSpanKernel span_kernel;    /* or NULL: chunk_kernel a chunk at a time */
  QsFusedIntKernel chunk_kernel;
  float           *coeff_storage;  /* the seven coefficient arrays args points into */
  size_t           code_slots;
  size_t           joint_entries;  /* where pairs are counted (see QsFusedCounts), else 0 */
  uint64_t         zeros;          /* counted by the range pass */
  uint64_t        *data_hist;      /* [bins + 2], or NULL (see qs_pass_set_data_histogram) */
  bool             direct_recon;   /* bin reconstructions per element (per-channel) */
  size_t           fed;
  size_t           n_blocks;
  BlockSums       *blocks;
  int              n_workers;
  WorkerAcc       *workers;
  /* The slice being fed, for the tasks. */
  const float     *feed_data;
  size_t           feed_start;
  size_t           feed_end;
  /* Polled once per BLOCK: a raised flag skips the blocks not yet begun,
   * and the pass then finishes as cancelled. */
  const atomic_int *cancel;
  atomic_bool      cancelled;
};

uint64_t
qs_quantized_size_bytes (const QsScheme *scheme,
                         uint64_t        count,
                         size_t          channels)
{
  if (qs_scheme_is_blockwise (scheme) && channels > 0)
    {
      /* @channels runs of count / channels elements along the reduction axis. */
      uint64_t run = count / channels, size = qs_scheme_block_size (scheme);
      return (qs_block_size_bits (scheme, count, channels * ((run + size - 1) / size)) + 7) / 8;
    }
  switch (scheme->format)
    {
    case QS_FORMAT_FP16:
    case QS_FORMAT_BF16:
      return count * 2;
    case QS_FORMAT_FP8_E4M3:
    case QS_FORMAT_FP8_E5M2:
      return count + (uint64_t) channels * sizeof (float);
    case QS_FORMAT_INT:
    default:
      /* A symmetric mapping's zero point is the same constant everywhere
       * (the format's, not the tensor's), so only an asymmetric one is
       * stored: as an int32 per channel, as export and PyTorch keep it. */
      return (count * (uint64_t) scheme->bits + 7) / 8
             + (uint64_t) channels * (sizeof (float)
                                      + (scheme->mapping == QS_MAPPING_ASYMMETRIC ? sizeof (int32_t) : 0));
    }
}

int
qs_default_thread_count (void)
{
  long n = sysconf (_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int) n : 1;
}

static inline bool
is_finite (float x)
{
  return x - x == 0.0f;
}

/* The float formats: no vector path, the encoders are bit manipulation.
 * A chunk kernel like qs_fused_int_scalar. */
static void
float_chunk (const QsFusedArgs   *a,
             const float         *x,
             size_t               n,
             size_t               c0,
             size_t               stride,
             QsLaneSums          *s,
             const QsFusedCounts *counts)
{
  float fmax = qs_float_format_max (a->format);

  for (size_t j = 0; j < n; j++)
    {
      size_t c = c0 + j * stride;
      int l = (int) (j % QS_FUSED_LANES);
      float v = x[j];
      float scaled, recon, err;
      int32_t code;

      if (!is_finite (v))
        {
          s->nonfinite++;
          counts->codes[a->skip_code_slot]++;
          counts->orig[a->bins + 2]++;
          counts->recon[a->bins + 2]++;
          continue;
        }
      scaled = v * a->inv[c];
      code = qs_float_format_encode (a->format, scaled);
      recon = qs_float_format_decode (a->format, code) * a->scale[c];
      err = recon - v;
      s->err2[l] += (double) err * (double) err;
      s->x2[l] += (double) v * (double) v;
      s->recon2[l] += (double) recon * (double) recon;
      s->cross[l] += (double) v * (double) recon;
      s->max_error[l] = fmaxf (s->max_error[l], fabsf (err));
      s->clipped += fabsf (scaled) > fmax;
      counts->codes[code]++;
      counts->orig[qs_fused_hist_slot (a, v)]++;
      counts->recon[qs_fused_hist_slot (a, recon)]++;
    }
}

/* Elements at absolute positions [start, end), cut where the channel
 * changes; the kernels cut them again at absolute CHUNK boundaries, so the
 * summation order is a function of positions only. */
static void
process_span (const QsPass *pass,
              const float  *data,
              size_t        start,
              size_t        end,
              BlockSums    *block,
              WorkerAcc    *acc)
{
  const QsChannelLayout *l = &pass->layout;
  QsFusedCounts counts = { acc->codes, acc->orig, acc->recon, acc->joint };
  QsFusedSpanSums sums = { block->err2, block->x2, block->recon2, block->cross, 0.0f, 0, 0 };
  size_t i = start;

  while (i < end)
    {
      size_t head = QS_FUSED_CHUNK - i % QS_FUSED_CHUNK;
      size_t stop = end, c0 = 0, stride = 0;

      if (l->channels > 1)
        {
          if (l->inner == 1)
            {
              size_t row_end = (i / l->channels + 1) * l->channels;
              c0 = i % l->channels;
              stride = 1;
              stop = row_end < stop ? row_end : stop;
            }
          else
            {
              size_t segment_end = (i / l->inner + 1) * l->inner;
              c0 = (i / l->inner) % l->channels;
              stop = segment_end < stop ? segment_end : stop;
            }
        }
      if (pass->format == QS_FORMAT_INT && pass->span_kernel != NULL)
        pass->span_kernel (&pass->args, data + (i - pass->feed_start), stop - i, c0, stride, head,
                           &sums, &counts);
      else
        qs_fused_span_of_chunks (pass->chunk_kernel, &pass->args, data + (i - pass->feed_start),
                                 stop - i, c0, stride, head, &sums, &counts);
      i = stop;
    }

  block->err2 = sums.err2;
  block->x2 = sums.x2;
  block->recon2 = sums.recon2;
  block->cross = sums.cross;
  acc->max_error = sums.max_error > acc->max_error ? sums.max_error : acc->max_error;
  acc->clipped += sums.clipped;
  acc->nonfinite += sums.nonfinite;
}

/* An integer key for every float, in the order of the values (-0 and +0
 * share one), and back. */
static inline int64_t
float_key (float x)
{
  uint32_t bits;

  memcpy (&bits, &x, sizeof bits);
  return bits & 0x80000000u ? -(int64_t) (bits & 0x7fffffffu) : (int64_t) bits;
}

static inline float
key_float (int64_t key)
{
  uint32_t bits = key < 0 ? 0x80000000u | (uint32_t) -key : (uint32_t) key;
  float x;

  memcpy (&x, &bits, sizeof x);
  return x;
}

/* The code slot and histogram slot of a finite value, as the kernels
 * count them per tensor. */
static inline void
chain_pair (const QsFusedArgs *a,
            float              x,
            int32_t           *code,
            int32_t           *bin)
{
  bool clipped;

  *code = (int32_t) (qs_fused_level (a, 0, x, &clipped) + a->post[0]) - a->qmin;
  *bin = qs_fused_hist_slot (a, x);
}

/* The per-tensor table's last entry, non-finite values, into their
 * slots (both per-tensor folds end with it). */
static void
fold_skipped (const QsPass *pass,
              WorkerAcc    *acc)
{
  const QsFusedArgs *a = &pass->args;
  size_t skipped = (size_t) a->skip_code_slot + (size_t) a->bins + 2;

  acc->codes[a->skip_code_slot] += acc->joint[skipped];
  acc->orig[a->bins + 2] += acc->joint[skipped];
  acc->joint[skipped] = 0;
  acc->joint_pending = 0;
}

/* Moves per-tensor pair counts, indexed by code + bin, into the code and
 * bin tallies. Both slots grow with the value (the scale is positive), so
 * the pairs that occur form a chain along the real line on which code +
 * bin only grows, and a sum names one pair: the pair of the smallest
 * value whose sum reaches it, found by bisecting the ordered floats. Each
 * search starts where the last one ended. */
static void
fold_chain (const QsPass *pass,
            WorkerAcc    *acc)
{
  const QsFusedArgs *a = &pass->args;
  size_t skipped = (size_t) a->skip_code_slot + (size_t) a->bins + 2;
  int64_t from = float_key (-FLT_MAX);

  for (size_t s = 0; s < skipped; s++)
    if (acc->joint[s] > 0)
      {
        int64_t lo = from, hi = float_key (FLT_MAX);
        int32_t code, bin;

        while (lo < hi)
          {
            int64_t mid = lo + (hi - lo) / 2;
            chain_pair (a, key_float (mid), &code, &bin);
            if ((size_t) (code + bin) >= s)
              hi = mid;
            else
              lo = mid + 1;
          }
        chain_pair (a, key_float (lo), &code, &bin);
        acc->codes[code] += acc->joint[s];
        acc->orig[bin] += acc->joint[s];
        acc->joint[s] = 0;
        from = lo;
      }
  fold_skipped (pass, acc);
}

/* Moves per-tensor counts of codes alone (QsFusedArgs.codes_alone)
 * into the code tallies. */
static void
fold_codes (const QsPass *pass,
            WorkerAcc    *acc)
{
  for (size_t s = 0; s < pass->code_slots; s++)
    {
      acc->codes[s] += acc->joint[s];
      acc->joint[s] = 0;
    }
  fold_skipped (pass, acc);
}

/* Moves the pair counts into the code and bin tallies. */
static void
fold_joint (const QsPass *pass,
            WorkerAcc    *acc)
{
  size_t stride = (size_t) pass->args.joint_stride;

  if (pass->args.codes_alone)
    {
      fold_codes (pass, acc);
      return;
    }
  if (stride == 1)
    {
      fold_chain (pass, acc);
      return;
    }

  for (size_t i = 0; i < pass->joint_entries; i++)
    if (acc->joint[i] > 0)
      {
        acc->codes[i / stride] += acc->joint[i];
        acc->orig[i % stride] += acc->joint[i];
        acc->joint[i] = 0;
      }
  acc->joint_pending = 0;
}

static void
feed_task (void   *user_data,
           size_t  task,
           int     worker)
{
  QsPass *pass = user_data;
  WorkerAcc *acc = &pass->workers[worker];
  size_t block = pass->feed_start / BLOCK + task;
  size_t start = block * BLOCK, end = start + BLOCK;

  if (start < pass->feed_start)
    start = pass->feed_start;
  if (end > pass->feed_end)
    end = pass->feed_end;
  if (pass->cancel != NULL && atomic_load_explicit (pass->cancel, memory_order_relaxed))
    {
      atomic_store_explicit (&pass->cancelled, true, memory_order_relaxed);
      return;
    }
  if (acc->joint != NULL)
    {
      if (acc->joint_pending + (end - start) > UINT32_MAX)
        fold_joint (pass, acc);
      acc->joint_pending += end - start;
    }
  process_span (pass, pass->feed_data, start, end, &pass->blocks[block], acc);
}

static void
free_workers (QsPass *pass)
{
  for (int w = 0; w < pass->n_workers; w++)
    {
      free (pass->workers[w].codes);
      free (pass->workers[w].orig);
      free (pass->workers[w].recon);
      free (pass->workers[w].joint);
    }
  free (pass->workers);
  pass->workers = NULL;
  pass->n_workers = 0;
}

static bool
ensure_workers (QsPass *pass,
                int     n_workers)
{
  WorkerAcc *grown;

  if (n_workers <= pass->n_workers)
    return true;
  grown = realloc (pass->workers, (size_t) n_workers * sizeof (WorkerAcc));
  if (grown == NULL)
    return false;
  pass->workers = grown;
  for (int w = pass->n_workers; w < n_workers; w++)
    {
      WorkerAcc *acc = &pass->workers[w];
      memset (acc, 0, sizeof *acc);
      acc->codes = calloc (pass->code_slots + 1, sizeof (uint64_t));
      acc->orig = calloc ((size_t) pass->args.bins + 3, sizeof (uint64_t));
      acc->recon = calloc ((size_t) pass->args.bins + 3, sizeof (uint64_t));
      if (pass->joint_entries > 0)
        acc->joint = calloc (pass->joint_entries, sizeof (uint32_t));
      pass->n_workers = w + 1;
      if (!acc->codes || !acc->orig || !acc->recon || (pass->joint_entries > 0 && !acc->joint))
        return false;
    }
  return true;
}

void
qs_pass_free (QsPass *pass)
{
  if (pass == NULL)
    return;
  free (pass->coeff_storage);
  free (pass->data_hist);
  free_workers (pass);
  free (pass->blocks);
  free (pass);
}

void
qs_pass_set_data_histogram (QsPass         *pass,
                            const uint64_t *counts)
{
  size_t size = ((size_t) pass->args.bins + 2) * sizeof (uint64_t);

  /* Pairs per channel stay pairs: a table of codes per channel would
   * cost what it saves. */
  if (pass->fed > 0 || pass->args.joint_stride != 1 || pass->data_hist != NULL)
    return;
  pass->data_hist = malloc (size);
  if (pass->data_hist == NULL)
    return;
  memcpy (pass->data_hist, counts, size);
  pass->args.codes_alone = true;
}

void
qs_pass_set_cancel (QsPass           *pass,
                    const atomic_int *cancel)
{
  pass->cancel = cancel;
}

QsPass *
qs_pass_new (const QsScheme        *scheme,
             const QsQuantParams   *params,
             const QsChannelLayout *layout,
             const QsRangeStats    *data,
             double                 hist_lo,
             double                 hist_hi)
{
  size_t channels = layout->channels;
  QsFusedArgs *args;
  float *k;
  QsPass *pass;

  if (params->channels != channels || !(hist_lo < hist_hi) || qs_scheme_is_blockwise (scheme))
    return NULL;
  pass = calloc (1, sizeof *pass);
  if (pass == NULL)
    return NULL;

  pass->format = scheme->format;
  pass->layout = *layout;
  pass->params = params;
  pass->span_kernel = qs_fused_span_kernel ();
  pass->chunk_kernel = scheme->format == QS_FORMAT_INT ? qs_fused_int_kernel () : float_chunk;
  pass->code_slots = qs_code_slots (scheme->format, params->qmin, params->qmax);
  pass->direct_recon = channels > 1;
  pass->n_blocks = (layout->count + BLOCK - 1) / BLOCK;
  pass->blocks = calloc (pass->n_blocks ? pass->n_blocks : 1, sizeof (BlockSums));
  pass->coeff_storage = k = malloc (7 * channels * sizeof (float));
  if (pass->blocks == NULL || k == NULL)
    {
      qs_pass_free (pass);
      return NULL;
    }

  args = &pass->args;
  args->inv = k;
  args->add = k + channels;
  args->lo = k + 2 * channels;
  args->hi = k + 3 * channels;
  args->post = k + 4 * channels;
  args->sub = k + 5 * channels;
  args->scale = k + 6 * channels;
  for (size_t c = 0; c < channels; c++)
    {
      QsChannelCoeffs coeffs;
      qs_channel_coeffs_from_params (params, c, &coeffs);
      k[c] = coeffs.inv;
      k[channels + c] = coeffs.add;
      k[2 * channels + c] = coeffs.lo;
      k[3 * channels + c] = coeffs.hi;
      k[4 * channels + c] = coeffs.post;
      k[5 * channels + c] = coeffs.sub;
      k[6 * channels + c] = coeffs.scale;
    }
  args->qmin = scheme->format == QS_FORMAT_INT ? params->qmin : 0;
  args->skip_code_slot = (int32_t) pass->code_slots;
  args->bins = scheme->bins;
  args->hist_lo = (float) hist_lo;
  args->hist_hi = (float) hist_hi;
  args->hist_inv_width = (float) (scheme->bins / (hist_hi - hist_lo));
  args->rounding = scheme->rounding;
  args->format = scheme->format;
  args->direct_recon = pass->direct_recon;
  args->values_in_domain = (data->finite == 0 || (args->hist_lo <= data->min && data->max <= args->hist_hi))
                           && (data->nonfinite == 0 || (args->hist_lo <= 0.0f && 0.0f <= args->hist_hi));
  pass->zeros = data->zeros;
  if (scheme->format == QS_FORMAT_INT
      && pass->code_slots + 1 <= QS_JOINT_MAX_ENTRIES / ((size_t) scheme->bins + 3))
    {
      size_t entries = (pass->code_slots + 1) * ((size_t) scheme->bins + 3);
      if (layout->count / QS_JOINT_MIN_ELEMENTS_PER_ENTRY >= entries)
        {
          /* Per tensor, a chain (see fold_chain), where the scale gives
           * codes that grow with the value. */
          if (channels == 1 && k[0] > 0.0f && k[0] <= FLT_MAX)
            {
              pass->joint_entries = pass->code_slots + (size_t) scheme->bins + 3;
              args->joint_stride = 1;
            }
          else
            {
              pass->joint_entries = entries;
              args->joint_stride = scheme->bins + 3;
            }
        }
    }

  if (!ensure_workers (pass, 1))
    {
      qs_pass_free (pass);
      return NULL;
    }
  return pass;
}

void
qs_pass_feed (QsPass      *pass,
              const float *data,
              size_t       count,
              int          n_threads)
{
  size_t first_block, last_block, n_tasks;
  int workers;

  if (count == 0 || pass->fed >= pass->layout.count)
    return;
  if (count > pass->layout.count - pass->fed)
    count = pass->layout.count - pass->fed;

  first_block = pass->fed / BLOCK;
  last_block = (pass->fed + count - 1) / BLOCK;
  n_tasks = last_block - first_block + 1;
  workers = qs_parallel_worker_count (n_threads, n_tasks);
  if (!ensure_workers (pass, workers))
    workers = pass->n_workers > 0 ? pass->n_workers : 1;

  pass->feed_data = data;
  pass->feed_start = pass->fed;
  pass->feed_end = pass->fed + count;
  qs_parallel_for (workers, n_tasks, feed_task, pass);
  pass->fed += count;
}

static void
finish_histograms (QsPass      *pass,
                   QsAnalysis  *analysis,
                   uint64_t    *codes,
                   uint64_t    *orig,
                   uint64_t    *recon)
{
  QsHistogram *h = &analysis->histogram;
  int bins = pass->args.bins;

  /* Per tensor, each code has one reconstruction: bin the codes once
   * instead of every element. */
  if (!pass->direct_recon && pass->format == QS_FORMAT_INT)
    for (size_t slot = 0; slot < pass->code_slots; slot++)
      if (codes[slot] > 0)
        {
          float value = qs_dequantize_code (pass->params, 0, (int32_t) slot + pass->args.qmin);
          recon[qs_fused_hist_slot (&pass->args, value)] += codes[slot];
        }

  h->bins = bins;
  h->lo = pass->args.hist_lo;
  h->hi = pass->args.hist_hi;
  h->counts = calloc ((size_t) bins, sizeof (uint64_t));
  h->quantized_counts = calloc ((size_t) bins, sizeof (uint64_t));
  if (h->counts && h->quantized_counts)
    {
      memcpy (h->counts, orig + 1, (size_t) bins * sizeof (uint64_t));
      memcpy (h->quantized_counts, recon + 1, (size_t) bins * sizeof (uint64_t));
    }
  h->underflow = orig[0];
  h->overflow = orig[bins + 1];
  h->quantized_underflow = recon[0];
  h->quantized_overflow = recon[bins + 1];
}

void
qs_histogram_domain (double  min,
                     double  max,
                     double *lo,
                     double *hi)
{
  *lo = min;
  *hi = max;
  if (*lo < *hi)
    return;
  *lo = min - 0.5;
  *hi = max + 0.5;
  if (*lo < *hi)
    return;
  /* 2^-20 of the value is many units in the last place of a double yet
   * far below float32's resolution, so the data stays in the middle bin. */
  *lo = min - fabs (min) * 0x1p-20;
  *hi = max + fabs (max) * 0x1p-20;
}

QsStatus
qs_pass_finish (QsPass     *pass,
                QsAnalysis *analysis)
{
  const QsQuantParams *params = pass->params;
  size_t slots = pass->code_slots;
  uint64_t *codes = calloc (slots + 1, sizeof (uint64_t));
  uint64_t *orig = calloc ((size_t) pass->args.bins + 3, sizeof (uint64_t));
  uint64_t *recon = calloc ((size_t) pass->args.bins + 3, sizeof (uint64_t));
  BlockSums total = { 0 };
  double max_error = 0.0;
  uint64_t clipped = 0, nonfinite = 0, finite;
  QsStatus status = QS_OK;

  if (atomic_load (&pass->cancelled))
    {
      status = QS_STATUS_CANCELLED;
      goto out;
    }
  if (!codes || !orig || !recon)
    {
      status = QS_STATUS_NO_MEMORY;
      goto out;
    }

  for (int w = 0; w < pass->n_workers; w++)
    {
      WorkerAcc *acc = &pass->workers[w];
      if (acc->joint != NULL)
        fold_joint (pass, acc);
      for (size_t s = 0; s < slots; s++)
        codes[s] += acc->codes[s];
      for (int b = 0; b < pass->args.bins + 3; b++)
        {
          orig[b] += acc->orig[b];
          recon[b] += acc->recon[b];
        }
      clipped += acc->clipped;
      nonfinite += acc->nonfinite;
      max_error = fmax (max_error, acc->max_error);
    }
  if (pass->data_hist != NULL)
    memcpy (orig, pass->data_hist, ((size_t) pass->args.bins + 2) * sizeof (uint64_t));
  for (size_t b = 0; b < pass->n_blocks; b++)
    {
      total.err2 += pass->blocks[b].err2;
      total.x2 += pass->blocks[b].x2;
      total.recon2 += pass->blocks[b].recon2;
      total.cross += pass->blocks[b].cross;
    }

  memset (analysis, 0, sizeof *analysis);
  finite = pass->fed - nonfinite;
  analysis->count = pass->fed;
  analysis->finite_count = finite;
  analysis->nonfinite_count = nonfinite;
  analysis->exact_zero_count = pass->zeros;
  analysis->mse = finite > 0 ? total.err2 / (double) finite : NAN;
  analysis->rmse = sqrt (analysis->mse);
  analysis->max_abs_error = max_error;
  if (total.err2 > 0.0)
    analysis->sqnr_db = 10.0 * log10 (total.x2 / total.err2);
  else
    analysis->sqnr_db = total.x2 > 0.0 ? INFINITY : NAN;
  analysis->cosine = total.x2 > 0.0 && total.recon2 > 0.0
                     ? total.cross / sqrt (total.x2 * total.recon2) : NAN;
  analysis->clipped_count = clipped;
  for (size_t s = 0; s < slots; s++)
    analysis->levels_used += codes[s] > 0;

  analysis->zero_exact = true;
  analysis->zero_error = 0.0;
  for (size_t c = 0; c < params->channels; c++)
    {
      float zero = 0.0f;
      int32_t code;
      float back;
      qs_quantize_channel (params, c, &zero, 1, &code);
      back = qs_dequantize_code (params, c, code);
      if (back != 0.0f)
        analysis->zero_exact = false;
      analysis->zero_error = fmax (analysis->zero_error, fabsf (back));
    }

  finish_histograms (pass, analysis, codes, orig, recon);
  if (analysis->histogram.counts == NULL || analysis->histogram.quantized_counts == NULL)
    status = QS_STATUS_NO_MEMORY;

out:
  free (codes);
  free (orig);
  free (recon);
  return status;
}

void
qs_analysis_clear (QsAnalysis *analysis)
{
  free (analysis->histogram.counts);
  free (analysis->histogram.quantized_counts);
  free (analysis->channel_min);
  free (analysis->channel_max);
  qs_block_info_free (analysis->blocks);
  memset (analysis, 0, sizeof *analysis);
}

QsStatus
qs_analyze (const QsScheme        *scheme,
            const QsChannelLayout *layout,
            const float           *data,
            int                    n_threads,
            QsQuantParams         *params,
            QsAnalysis            *analysis)
{
  return qs_analyze_cancellable (scheme, layout, data, n_threads, NULL, params, analysis);
}

static bool
is_cancelled (const atomic_int *cancel)
{
  return cancel != NULL && atomic_load (cancel) != 0;
}

QsStatus
qs_analyze_cancellable (const QsScheme        *scheme,
                        const QsChannelLayout *layout,
                        const float           *data,
                        int                    n_threads,
                        const atomic_int      *cancel,
                        QsQuantParams         *params,
                        QsAnalysis            *analysis)
{
  return qs_analyze_remembering (scheme, layout, data, n_threads, cancel, NULL, params, analysis);
}

QsStatus
qs_analyze_remembering (const QsScheme        *scheme,
                        const QsChannelLayout *layout,
                        const float           *data,
                        int                    n_threads,
                        const atomic_int      *cancel,
                        QsRangeMemo           *memo,
                        QsQuantParams         *params,
                        QsAnalysis            *analysis)
{
  QsChannelLayout effective;
  QsRangeStats *stats = NULL, total;
  float *lo = NULL, *hi = NULL;
  double hist_lo, hist_hi;
  QsPass *pass = NULL;
  QsStatus status;

  memset (params, 0, sizeof *params);
  memset (analysis, 0, sizeof *analysis);

  status = qs_scheme_validate (scheme, NULL);
  if (status != QS_OK)
    return status;
  if (layout->count == 0)
    return QS_STATUS_EMPTY;
  if (is_cancelled (cancel))
    return QS_STATUS_CANCELLED;
  if (qs_scheme_is_blockwise (scheme))
    return qs_block_analyze_codes (scheme, layout, data, n_threads, memo, params, analysis, NULL);

  effective = scheme->granularity == QS_GRANULARITY_CHANNEL
              ? *layout : qs_channel_layout_per_tensor (layout->count);

  stats = malloc (effective.channels * sizeof (QsRangeStats));
  lo = malloc (effective.channels * sizeof (float));
  hi = malloc (effective.channels * sizeof (float));
  if (!stats || !lo || !hi)
    {
      status = QS_STATUS_NO_MEMORY;
      goto out;
    }

  status = qs_range_stats_remembered (&effective, data, n_threads, memo, stats, &total);
  if (status == QS_OK && is_cancelled (cancel))
    status = QS_STATUS_CANCELLED;
  if (status != QS_OK)
    goto out;
  if (total.finite == 0)
    {
      status = QS_STATUS_NO_FINITE_VALUES;
      goto out;
    }

  status = qs_range_choose (scheme, &effective, data, stats, lo, hi);
  if (status == QS_OK && is_cancelled (cancel))
    status = QS_STATUS_CANCELLED;
  if (status != QS_OK)
    goto out;

  status = qs_quant_params_init (params, effective.channels);
  if (status != QS_OK)
    goto out;
  qs_quant_params_set_from_ranges (params, scheme, lo, hi);

  if (scheme->has_hist_range)
    {
      hist_lo = scheme->hist_lo;
      hist_hi = scheme->hist_hi;
    }
  else
    {
      qs_histogram_domain (total.min, total.max, &hist_lo, &hist_hi);
    }

  pass = qs_pass_new (scheme, params, &effective, &total, hist_lo, hist_hi);
  if (pass == NULL)
    {
      status = QS_STATUS_NO_MEMORY;
      goto out;
    }
  qs_pass_set_cancel (pass, cancel);
  {
    const uint64_t *known = qs_range_memo_histogram (memo, scheme->bins, hist_lo, hist_hi);
    if (known != NULL)
      qs_pass_set_data_histogram (pass, known);
  }
  qs_pass_feed (pass, data, effective.count, n_threads);
  status = qs_pass_finish (pass, analysis);
  /* The data's histogram, for the changes of scheme to come. */
  if (status == QS_OK && analysis->histogram.counts != NULL
      && qs_range_memo_histogram (memo, scheme->bins, hist_lo, hist_hi) == NULL)
    qs_range_memo_keep_histogram (memo, scheme->bins, hist_lo, hist_hi, analysis->histogram.underflow,
                                  analysis->histogram.counts, analysis->histogram.overflow);
  analysis->data_min = total.min;
  analysis->data_max = total.max;
  analysis->size_fp32_bytes = (uint64_t) effective.count * sizeof (float);
  analysis->size_quant_bytes = qs_quantized_size_bytes (scheme, effective.count, effective.channels);
  analysis->compression_ratio = (double) analysis->size_fp32_bytes / (double) analysis->size_quant_bytes;
  analysis->bits_per_weight = 8.0 * (double) analysis->size_quant_bytes / (double) effective.count;
  if (status == QS_OK)
    {
      analysis->channels = effective.channels;
      analysis->channel_min = malloc (effective.channels * sizeof (float));
      analysis->channel_max = malloc (effective.channels * sizeof (float));
      if (analysis->channel_min == NULL || analysis->channel_max == NULL)
        status = QS_STATUS_NO_MEMORY;
      else
        for (size_t c = 0; c < effective.channels; c++)
          {
            analysis->channel_min[c] = stats[c].min;
            analysis->channel_max[c] = stats[c].max;
          }
    }

out:
  qs_pass_free (pass);
  free (stats);
  free (lo);
  free (hi);
  if (status != QS_OK)
    {
      qs_quant_params_clear (params);
      qs_analysis_clear (analysis);
    }
  return status;
}
