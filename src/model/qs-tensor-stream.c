/* qs-tensor-stream.c: tensors larger than memory, analysed in hyperslab blocks under a memory budget.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The passes mirror qs_analyze() step for step (range stats, range method,
 * params, histogram range, fused pass), so a streamed report equals the
 * in-memory one: min/max are exact whatever the blocks, the MSE and KL
 * searches read the same histogram, and the fused pass sums by absolute
 * element position (qs-analysis.c), so block sizes do not change a bit.
 *
 * A reader thread fetches the next block while the workers process the
 * current one: the reads are serialised by the HDF5 lock anyway, and the
 * overlap keeps the passes I/O-bound.
 */
#include "model/qs-tensor-stream.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

#include "model/qs-error.h"
#include "model/qs-mapped-window.h"
#include "model/qs-tensor-report-private.h"
#include "quant/qs-range.h"

/* Blocks between these sizes: small enough for the budget, large enough
 * that per-block costs (a hyperslab read, a thread hand-off) vanish. */
#define MIN_BLOCK_ELEMENTS ((gsize) 1 << 10)
#define MAX_BLOCK_ELEMENTS ((gsize) 1 << 22)
/* 4 Ti elements: larger "tensors" are damaged headers or sparse datasets
 * that would keep a pass busy for hours. */
#define MAX_STREAM_ELEMENTS (G_GUINT64_CONSTANT (1) << 40)
#define PERCENTILE_BINS_TENSOR (1 << 16)
#define PERCENTILE_BINS_CHANNEL (1 << 12)

#define MIB (G_GUINT64_CONSTANT (1) << 20)
#define GIB (G_GUINT64_CONSTANT (1) << 30)

guint64
qs_memory_budget_default (void)
{
  long pages = sysconf (_SC_PHYS_PAGES);
  long page_size = sysconf (_SC_PAGESIZE);
  guint64 ram = pages > 0 && page_size > 0 ? (guint64) pages * (guint64) page_size : 4 * GIB;

  return CLAMP (ram / 4, 64 * MIB, 4 * GIB);
}

gboolean
qs_memory_budget_parse (const char  *text,
                        guint64     *bytes,
                        GError     **error)
{
  g_autofree char *unit = NULL;
  char *end = NULL;
  double value, multiplier = 1.0;

  g_return_val_if_fail (text != NULL, FALSE);

  value = g_ascii_strtod (text, &end);
  if (end == text || !isfinite (value) || value <= 0.0)
    goto bad;

  unit = g_ascii_strdown (end, -1);
  g_strstrip (unit);
  if (unit[0] == '\0' || g_str_equal (unit, "b"))
    multiplier = 1.0;
  else if (g_str_equal (unit, "k") || g_str_equal (unit, "kb") || g_str_equal (unit, "kib"))
    multiplier = 1024.0;
  else if (g_str_equal (unit, "m") || g_str_equal (unit, "mb") || g_str_equal (unit, "mib"))
    multiplier = 1024.0 * 1024.0;
  else if (g_str_equal (unit, "g") || g_str_equal (unit, "gb") || g_str_equal (unit, "gib"))
    multiplier = 1024.0 * 1024.0 * 1024.0;
  else if (g_str_equal (unit, "t") || g_str_equal (unit, "tb") || g_str_equal (unit, "tib"))
    multiplier = 1024.0 * 1024.0 * 1024.0 * 1024.0;
  else
    goto bad;

  value *= multiplier;
  if (value < (double) QS_MEMORY_BUDGET_MIN)
    {
      g_set_error (error, QS_ERROR, QS_ERROR_INVALID,
                   "memory budget “%s” is below the minimum of 1 MiB", text);
      return FALSE;
    }
  if (value >= 18446744073709551615.0)
    goto bad;
  *bytes = (guint64) value;
  return TRUE;

bad:
  g_set_error (error, QS_ERROR, QS_ERROR_INVALID,
               "bad memory budget “%s” (use a size such as 64M, 512M or 2G)", text);
  return FALSE;
}

static guint64
effective_budget (guint64 budget)
{
  return budget == 0 ? qs_memory_budget_default () : budget;
}

gboolean
qs_tensor_fits_budget (const QsTensorInfo *info,
                       guint64             budget)
{
  budget = effective_budget (budget);
  /* Half the budget for the values, the rest for per-channel copies
   * (range methods), codes and output buffers. */
  return info->count <= budget / 2 / sizeof (float);
}

/* A file descriptor that closes itself. */
typedef int QsFd;
G_DEFINE_AUTO_CLEANUP_FREE_FUNC (QsFd, close, -1)

/* ---- block plan --------------------------------------------------------- */

/* Blocks follow the channel layout so that the range pass can use the
 * numeric core's per-channel kernels on each block:
 * - per tensor: any size;
 * - channel axis last (inner == 1): whole rows of `channels` values;
 * - otherwise whole segments of `inner` values when one fits, else pieces
 *   of a single segment (one channel). */
typedef struct {
  QsChannelLayout layout;
  gsize           block;
} Plan;

static void
plan_init (Plan                  *plan,
           const QsChannelLayout *layout,
           guint64                budget)
{
  gsize block = CLAMP (budget / 32, MIN_BLOCK_ELEMENTS, MAX_BLOCK_ELEMENTS);

  plan->layout = *layout;
  if (layout->channels > 1 && layout->inner == 1)
    block = MAX (block / layout->channels, 1) * layout->channels;
  else if (layout->channels > 1 && layout->inner <= block)
    block = block / layout->inner * layout->inner;
  plan->block = MIN (block, MAX (layout->count, 1));
}

static guint64
plan_block_end (const Plan *plan,
                guint64     pos)
{
  const QsChannelLayout *l = &plan->layout;
  guint64 end = pos + plan->block;

  if (l->channels > 1 && l->inner > plan->block)
    end = MIN (end, (pos / l->inner + 1) * l->inner);
  return MIN (end, l->count);
}

/* ---- the reader thread -------------------------------------------------- */

/* Blocks in flight: the one the workers process and two ahead of them.
 * With one ahead, the workers (one per core) often finished a block while
 * the reader, short of a core of its own, was still preparing the next:
 * a third slot keeps them busy (10 % faster on two cores). */
#define READER_SLOTS 3

/* Blocks come either through HDF5 into buffers or, for a contiguous
 * float32 tensor in a file on disk, as mapped windows of the file: then no
 * pass copies a byte, and mapping a window (faulting it in) and unmapping
 * it are the reader thread's work, done while the workers process another
 * window. A window of a file cut short meanwhile fails the pass when it is
 * unmapped: at a later block, or at reader_stop(). */
typedef struct {
  QsWeightFile       *file;
  const QsTensorInfo *info;
  const Plan         *plan;
  int                 fd;          /* the file to map, or -1 */
  guint64             data_offset; /* where the tensor's values start in it */
  QsMappedWindow     *window[READER_SLOTS];

  GMutex    lock;
  GCond     cond;
  GThread  *thread;
  float    *buffer[READER_SLOTS];
  guint64   offset[READER_SLOTS];
  gsize     count[READER_SLOTS];
  gboolean  ready[READER_SLOTS];
  gboolean  stop;
  gboolean  done;        /* the reader has read the last block */
  GError   *error;       /* the reader's failure */
  int       consume;     /* the slot the consumer takes next */
} Reader;

static gpointer
reader_thread (gpointer data)
{
  Reader *r = data;
  guint64 pos = 0;
  int slot = 0;

  while (pos < r->plan->layout.count)
    {
      guint64 end = plan_block_end (r->plan, pos);
      GError *error = NULL;
      gboolean ok;

      g_mutex_lock (&r->lock);
      while (r->ready[slot] && !r->stop)
        g_cond_wait (&r->cond, &r->lock);
      if (r->stop)
        {
          g_mutex_unlock (&r->lock);
          return NULL;
        }
      g_mutex_unlock (&r->lock);

      if (r->fd >= 0)
        {
          /* The slot's previous window, which the consumer has released. */
          ok = r->window[slot] == NULL
               || qs_mapped_window_unmap (g_steal_pointer (&r->window[slot]), &error);
          if (ok)
            {
              r->window[slot] = qs_mapped_window_map (r->fd, r->data_offset + pos * sizeof (float),
                                                      (end - pos) * sizeof (float), r->info->path,
                                                      &error);
              ok = r->window[slot] != NULL;
            }
        }
      else
        ok = qs_weight_file_read_block (r->file, r->info, pos, end - pos, r->buffer[slot], &error);

      g_mutex_lock (&r->lock);
      if (!ok)
        {
          r->error = error;
          r->done = TRUE;
          g_cond_broadcast (&r->cond);
          g_mutex_unlock (&r->lock);
          return NULL;
        }
      r->offset[slot] = pos;
      r->count[slot] = end - pos;
      r->ready[slot] = TRUE;
      g_cond_broadcast (&r->cond);
      g_mutex_unlock (&r->lock);

      pos = end;
      slot = (slot + 1) % READER_SLOTS;
    }

  g_mutex_lock (&r->lock);
  r->done = TRUE;
  g_cond_broadcast (&r->cond);
  g_mutex_unlock (&r->lock);
  return NULL;
}

/* @fd: a descriptor from qs_weight_file_dup_raw_fd() (borrowed), or -1. */
static gboolean
reader_start (Reader              *r,
              QsWeightFile        *file,
              const QsTensorInfo  *info,
              const Plan          *plan,
              int                  fd,
              guint64              data_offset,
              GError             **error)
{
  memset (r, 0, sizeof *r);
  r->file = file;
  r->info = info;
  r->plan = plan;
  r->fd = fd;
  r->data_offset = data_offset;
  g_mutex_init (&r->lock);
  g_cond_init (&r->cond);
  for (int i = 0; i < READER_SLOTS && fd < 0; i++)
    {
      r->buffer[i] = g_try_new (float, plan->block);
      if (r->buffer[i] == NULL)
        {
          g_set_error (error, QS_ERROR, QS_ERROR_TOO_LARGE,
                       "out of memory for a block of %s", info->path);
          return FALSE;
        }
    }
  r->thread = g_thread_try_new ("qs-reader", reader_thread, r, error);
  return r->thread != NULL;
}

/* The next block in order, or FALSE at the end (@error unset) or on a
 * read failure. The block stays valid until the next call. */
static gboolean
reader_next (Reader        *r,
             const float  **values,
             guint64       *offset,
             gsize         *count,
             GError       **error)
{
  int slot = r->consume;

  g_mutex_lock (&r->lock);
  while (!r->ready[slot] && !r->done)
    g_cond_wait (&r->cond, &r->lock);
  if (!r->ready[slot])
    {
      if (r->error != NULL)
        g_propagate_error (error, g_steal_pointer (&r->error));
      g_mutex_unlock (&r->lock);
      return FALSE;
    }
  g_mutex_unlock (&r->lock);

  *values = r->window[slot] != NULL ? qs_mapped_window_get_data (r->window[slot]) : r->buffer[slot];
  *offset = r->offset[slot];
  *count = r->count[slot];
  r->consume = (slot + 1) % READER_SLOTS;
  return TRUE;
}

/* Gives the block from reader_next back to the reader. */
static void
reader_release (Reader *r)
{
  int slot = (r->consume + READER_SLOTS - 1) % READER_SLOTS;

  g_mutex_lock (&r->lock);
  r->ready[slot] = FALSE;
  g_cond_broadcast (&r->cond);
  g_mutex_unlock (&r->lock);
}

/* Ends the reader. FALSE with @error (when not NULL and not yet set) if a
 * window still mapped came from a file cut short meanwhile. */
static gboolean
reader_stop (Reader  *r,
             GError **error)
{
  gboolean ok = TRUE;

  if (r->thread != NULL)
    {
      g_mutex_lock (&r->lock);
      r->stop = TRUE;
      g_cond_broadcast (&r->cond);
      g_mutex_unlock (&r->lock);
      g_thread_join (r->thread);
      r->thread = NULL;
    }
  for (int i = 0; i < READER_SLOTS; i++)
    if (r->window[i] != NULL
        && !qs_mapped_window_unmap (g_steal_pointer (&r->window[i]),
                                    ok && error != NULL && *error == NULL ? error : NULL))
      ok = FALSE;
  g_clear_error (&r->error);
  for (int i = 0; i < READER_SLOTS; i++)
    g_clear_pointer (&r->buffer[i], g_free);
  g_mutex_clear (&r->lock);
  g_cond_clear (&r->cond);
  return ok;
}

/* A descriptor to map @info's blocks from, or -1 to read them through
 * HDF5: when the tensor is not one contiguous run of floats, or when its
 * first block cannot be mapped (no room for another mapping, a file
 * system that does not map): reading costs a copy, not the result. */
static int
open_mappable (QsWeightFile       *file,
               const QsTensorInfo *info,
               const Plan         *plan,
               guint64            *data_offset)
{
  int fd = qs_weight_file_dup_raw_fd (file, info, data_offset);
  QsMappedWindow *probe;

  if (fd < 0)
    return -1;
  probe = qs_mapped_window_map (fd, *data_offset, plan_block_end (plan, 0) * sizeof (float),
                                info->path, NULL);
  if (probe == NULL || !qs_mapped_window_unmap (probe, NULL))
    {
      close (fd);
      return -1;
    }
  return fd;
}

/* ---- passes ------------------------------------------------------------- */

/* Adds the range stats of one block (aligned as plan_block_end makes
 * them) to @stats[channels]; @scratch has room for block / inner entries. */
static QsStatus
block_range_stats (const Plan   *plan,
                   guint64       offset,
                   const float  *values,
                   gsize         count,
                   int           n_threads,
                   QsRangeStats *scratch,
                   QsRangeStats *stats)
{
  const QsChannelLayout *l = &plan->layout;
  QsChannelLayout sub;
  QsStatus status;

  if (l->channels == 1 || l->inner > plan->block)
    {
      QsRangeStats one;
      sub = qs_channel_layout_per_tensor (count);
      status = qs_range_stats_compute (&sub, values, n_threads, &one, NULL);
      if (status == QS_OK)
        qs_range_stats_merge (&stats[l->channels == 1 ? 0 : (offset / l->inner) % l->channels], &one);
      return status;
    }

  if (l->inner == 1)
    {
      sub.count = count;
      sub.outer = count / l->channels;
      sub.channels = l->channels;
      sub.inner = 1;
      status = qs_range_stats_compute (&sub, values, n_threads, scratch, NULL);
      if (status == QS_OK)
        for (gsize c = 0; c < l->channels; c++)
          qs_range_stats_merge (&stats[c], &scratch[c]);
      return status;
    }

  /* Whole segments: each one channel, in the order the layout gives. */
  sub.count = count;
  sub.outer = 1;
  sub.channels = count / l->inner;
  sub.inner = l->inner;
  status = qs_range_stats_compute (&sub, values, n_threads, scratch, NULL);
  if (status == QS_OK)
    for (gsize s = 0; s < sub.channels; s++)
      qs_range_stats_merge (&stats[(offset / l->inner + s) % l->channels], &scratch[s]);
  return status;
}

/* Adds one block to the per-channel calibration histograms. */
static void
block_histograms (const Plan              *plan,
                  guint64                  offset,
                  const float             *values,
                  gsize                    count,
                  const QsCalibrationSpec *specs,
                  const gboolean          *wanted,
                  double                  *hists,
                  int                      max_bins,
                  gsize                    first,
                  gsize                    last,
                  float                   *column)
{
  const QsChannelLayout *l = &plan->layout;

  if (l->channels == 1)
    {
      if (wanted[0])
        qs_range_histogram_accumulate (&specs[0], values, count, hists);
      return;
    }

  if (l->inner == 1)
    {
      gsize rows = count / l->channels;

      /* One column at a time: the histogram update wants contiguous values. */
      for (gsize c = first; c < last; c++)
        {
          if (!wanted[c])
            continue;
          for (gsize r = 0; r < rows; r++)
            column[r] = values[r * l->channels + c];
          qs_range_histogram_accumulate (&specs[c], column, rows,
                                         hists + (c - first) * (gsize) max_bins);
        }
      return;
    }

  for (gsize i = 0; i < count;)
    {
      guint64 pos = offset + i;
      gsize c = (pos / l->inner) % l->channels;
      gsize n = MIN (count - i, (pos / l->inner + 1) * l->inner - pos);

      if (wanted[c] && c >= first && c < last)
        qs_range_histogram_accumulate (&specs[c], values + i, n, hists + (c - first) * (gsize) max_bins);
      i += n;
    }
}

static gboolean
check_cancelled (GCancellable  *cancellable,
                 GError       **error)
{
  return g_cancellable_set_error_if_cancelled (cancellable, error);
}

static QsTensorReport *
compute_streamed (QsWeightFile        *file,
                  const QsTensorInfo  *info,
                  const QsScheme      *scheme,
                  int                  n_threads,
                  guint64              budget,
                  QsTensorBlockFunc    block_func,
                  gpointer             user_data,
                  GCancellable        *cancellable,
                  GError             **error)
{
  g_autoptr(QsTensorReport) report = NULL;
  g_autofree QsRangeStats *stats = NULL;
  g_autofree QsRangeStats *scratch = NULL;
  g_autofree float *lo = NULL;
  g_autofree float *hi = NULL;
  QsChannelLayout layout;
  QsRangeStats total;
  double hist_lo, hist_hi;
  QsPass *pass = NULL;
  const char *problem = NULL;
  g_auto(QsFd) raw_fd = -1;
  guint64 data_offset = 0;
  guint64 chunk_bytes;
  gsize channels;
  QsStatus status;
  Reader reader;
  Plan plan;
  int axis;

  if (qs_scheme_validate (scheme, &problem) != QS_OK)
    {
      g_set_error (error, QS_ERROR, QS_ERROR_INVALID, "%s", problem);
      return NULL;
    }
  if (!_qs_tensor_report_layout (info, scheme, &axis, &layout, error))
    return NULL;
  if (info->count > MAX_STREAM_ELEMENTS)
    {
      g_set_error (error, QS_ERROR, QS_ERROR_TOO_LARGE,
                   "%s has %" G_GUINT64_FORMAT " elements, more than this program streams (2^40)",
                   info->path, (guint64) info->count);
      return NULL;
    }
  chunk_bytes = qs_weight_file_get_chunk_bytes (file, info);
  if (chunk_bytes > budget / 4)
    {
      g_set_error (error, QS_ERROR, QS_ERROR_TOO_LARGE,
                   "%s cannot be streamed under the memory budget: one HDF5 chunk takes "
                   "%" G_GUINT64_FORMAT " MiB (more than a quarter of the %" G_GUINT64_FORMAT " MiB budget)",
                   info->path, chunk_bytes == G_MAXUINT64 ? G_MAXUINT64 / MIB : chunk_bytes / MIB,
                   budget / MIB);
      return NULL;
    }

  report = _qs_tensor_report_new ();
  report->info = qs_tensor_info_copy (info);
  report->scheme = *scheme;
  report->scheme.axis = axis;
  report->kernel = scheme->format == QS_FORMAT_INT ? qs_analysis_kernel_name () : "scalar";

  plan_init (&plan, &layout, budget);
  raw_fd = open_mappable (file, info, &plan, &data_offset);
  channels = layout.channels;
  stats = g_try_new (QsRangeStats, channels);
  scratch = g_try_new (QsRangeStats, MAX (channels, plan.block / MAX (layout.inner, 1)));
  lo = g_try_new (float, channels);
  hi = g_try_new (float, channels);
  if (stats == NULL || scratch == NULL || lo == NULL || hi == NULL)
    {
      g_set_error (error, QS_ERROR, QS_ERROR_TOO_LARGE,
                   "%s has too many channels (%" G_GSIZE_FORMAT ") for the memory available",
                   info->path, channels);
      return NULL;
    }
  for (gsize c = 0; c < channels; c++)
    qs_range_stats_init (&stats[c]);

  /* Pass 1: ranges. */
  if (!reader_start (&reader, file, report->info, &plan, raw_fd, data_offset, error))
    {
      reader_stop (&reader, NULL);
      return NULL;
    }
  {
    const float *values;
    guint64 offset;
    gsize count;
    GError *read_error = NULL;

    while (reader_next (&reader, &values, &offset, &count, &read_error))
      {
        status = block_range_stats (&plan, offset, values, count, n_threads, scratch, stats);
        reader_release (&reader);
        if (status != QS_OK)
          {
            qs_set_error_from_status (&read_error, status, info->path);
            break;
          }
        if (check_cancelled (cancellable, &read_error))
          break;
      }
    reader_stop (&reader, &read_error);
    if (read_error != NULL)
      {
        g_propagate_error (error, read_error);
        return NULL;
      }
  }

  qs_range_stats_init (&total);
  for (gsize c = 0; c < channels; c++)
    qs_range_stats_merge (&total, &stats[c]);
  if (total.finite == 0)
    {
      g_set_error (error, QS_ERROR, QS_ERROR_EMPTY,
                   "%s has no finite values to quantize", info->path);
      return NULL;
    }

  /* Pass 2, for the methods that read the distribution: histograms. */
  {
    int bins = channels == 1 ? PERCENTILE_BINS_TENSOR : PERCENTILE_BINS_CHANNEL;
    g_autofree QsCalibrationSpec *specs = g_new0 (QsCalibrationSpec, channels);
    g_autofree gboolean *wanted = g_new0 (gboolean, channels);
    g_autofree double *hists = NULL;
    g_autofree float *column = NULL;
    gboolean any = FALSE;
    int max_bins = 0;

    for (gsize c = 0; c < channels; c++)
      {
        wanted[c] = qs_range_histogram_spec (scheme, &stats[c], bins, &specs[c]);
        any |= wanted[c];
        max_bins = MAX (max_bins, specs[c].bins);
      }

    /* Channels whose histograms fit in half the budget at a time: more
     * channels than that cost one more read of the tensor per group. */
    for (gsize first = 0; any && first < channels;)
      {
        gsize group = MAX ((budget / 2) / ((guint64) max_bins * sizeof (double)), 1);
        gsize last = MIN (channels, first + group);
        const float *values;
        guint64 offset;
        gsize count;
        GError *read_error = NULL;

        g_clear_pointer (&hists, g_free);
        hists = g_try_malloc0 ((last - first) * (gsize) max_bins * sizeof (double));
        if (column == NULL && layout.inner == 1 && channels > 1)
          column = g_try_new (float, plan.block / channels);
        if (hists == NULL || (layout.inner == 1 && channels > 1 && column == NULL))
          {
            g_set_error (error, QS_ERROR, QS_ERROR_TOO_LARGE,
                         "%s: out of memory for the histograms of the %s range",
                         info->path, qs_range_method_to_string (scheme->range_method));
            return NULL;
          }

        if (!reader_start (&reader, file, report->info, &plan, raw_fd, data_offset, error))
          {
            reader_stop (&reader, NULL);
            return NULL;
          }
        while (reader_next (&reader, &values, &offset, &count, &read_error))
          {
            block_histograms (&plan, offset, values, count, specs, wanted, hists, max_bins,
                              first, last, column);
            reader_release (&reader);
            if (check_cancelled (cancellable, &read_error))
              break;
          }
        reader_stop (&reader, &read_error);
        if (read_error != NULL)
          {
            g_propagate_error (error, read_error);
            return NULL;
          }

        for (gsize c = first; c < last; c++)
          qs_range_choose_from_histogram (scheme, &stats[c], &specs[c],
                                          wanted[c] ? hists + (c - first) * (gsize) max_bins : NULL,
                                          &lo[c], &hi[c]);
        first = last;
      }

    if (!any)
      for (gsize c = 0; c < channels; c++)
        qs_range_choose_from_histogram (scheme, &stats[c], &specs[c], NULL, &lo[c], &hi[c]);
  }

  status = qs_quant_params_init (&report->params, channels);
  if (status != QS_OK)
    {
      qs_set_error_from_status (error, status, info->path);
      return NULL;
    }
  qs_quant_params_set_from_ranges (&report->params, &report->scheme, lo, hi);

  if (scheme->has_hist_range)
    {
      hist_lo = scheme->hist_lo;
      hist_hi = scheme->hist_hi;
    }
  else
    {
      qs_histogram_domain (total.min, total.max, &hist_lo, &hist_hi);
    }

  pass = qs_pass_new (&report->scheme, &report->params, &layout, &total, hist_lo, hist_hi);
  if (pass == NULL)
    {
      g_set_error (error, QS_ERROR, QS_ERROR_TOO_LARGE, "%s: out of memory", info->path);
      return NULL;
    }

  /* Pass 3: the fused pass, and whatever the caller does with the block. */
  if (!reader_start (&reader, file, report->info, &plan, raw_fd, data_offset, error))
    {
      reader_stop (&reader, NULL);
      qs_pass_free (pass);
      return NULL;
    }
  {
    const float *values;
    guint64 offset;
    gsize count;
    GError *read_error = NULL;

    while (reader_next (&reader, &values, &offset, &count, &read_error))
      {
        gboolean ok = TRUE;

        qs_pass_feed (pass, values, count, n_threads);
        if (block_func != NULL)
          ok = block_func (report, offset, values, count, user_data, &read_error);
        reader_release (&reader);
        if (!ok || check_cancelled (cancellable, &read_error))
          break;
      }
    reader_stop (&reader, &read_error);
    if (read_error != NULL)
      {
        qs_pass_free (pass);
        g_propagate_error (error, read_error);
        return NULL;
      }
  }

  status = qs_pass_finish (pass, &report->analysis);
  qs_pass_free (pass);
  if (status != QS_OK)
    {
      qs_set_error_from_status (error, status, info->path);
      return NULL;
    }

  {
    QsAnalysis *a = &report->analysis;

    a->data_min = total.min;
    a->data_max = total.max;
    a->size_fp32_bytes = (uint64_t) layout.count * sizeof (float);
    a->size_quant_bytes = qs_quantized_size_bytes (&report->scheme, layout.count, channels);
    a->compression_ratio = (double) a->size_fp32_bytes / (double) a->size_quant_bytes;
    a->channels = channels;
    a->channel_min = g_try_malloc (channels * sizeof (float));
    a->channel_max = g_try_malloc (channels * sizeof (float));
    if (a->channel_min == NULL || a->channel_max == NULL)
      {
        g_set_error (error, QS_ERROR, QS_ERROR_TOO_LARGE, "%s: out of memory", info->path);
        return NULL;
      }
    for (gsize c = 0; c < channels; c++)
      {
        a->channel_min[c] = stats[c].min;
        a->channel_max[c] = stats[c].max;
      }
  }

  return g_steal_pointer (&report);
}

QsTensorReport *
qs_tensor_report_compute_blocks (QsWeightFile        *file,
                                 const QsTensorInfo  *info,
                                 const QsScheme      *scheme,
                                 int                  n_threads,
                                 guint64              memory_budget,
                                 QsTensorBlockFunc    block_func,
                                 gpointer             user_data,
                                 gboolean            *streamed,
                                 GCancellable        *cancellable,
                                 GError             **error)
{
  g_autoptr(QsTensorReport) report = NULL;
  g_autofree float *values = NULL;
  const QsTensorInfo *tensor;
  guint64 budget = effective_budget (memory_budget);
  Plan plan;

  g_return_val_if_fail (QS_IS_WEIGHT_FILE (file), NULL);
  g_return_val_if_fail (info != NULL && info->path != NULL, NULL);
  g_return_val_if_fail (scheme != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (streamed != NULL)
    *streamed = FALSE;

  tensor = qs_weight_file_lookup (file, info->path);
  if (tensor == NULL)
    {
      g_set_error (error, QS_ERROR, QS_ERROR_NOT_FOUND, "no tensor “%s” in %s",
                   info->path, qs_weight_file_get_filename (file));
      return NULL;
    }
  if (tensor->count == G_MAXUINT64)
    {
      g_set_error (error, QS_ERROR, QS_ERROR_TOO_LARGE,
                   "%s has dimensions whose product does not fit in 64 bits", tensor->path);
      return NULL;
    }
  if (!tensor->quantizable)
    {
      /* The reader's checks say why: not floating point, or empty. */
      if (qs_weight_file_read_block (file, tensor, 0, 0, NULL, error))
        g_set_error (error, QS_ERROR, QS_ERROR_NOT_QUANTIZABLE,
                     "%s cannot be quantized", tensor->path);
      return NULL;
    }
  if (check_cancelled (cancellable, error))
    return NULL;

  if (!qs_tensor_fits_budget (tensor, budget))
    {
      if (qs_scheme_is_blockwise (scheme))
        {
          g_set_error (error, QS_ERROR, QS_ERROR_TOO_LARGE,
                       "%s is too large for the memory budget, and group-wise and block "
                       "formats are not streamed: raise --memory-budget", tensor->path);
          return NULL;
        }
      if (streamed != NULL)
        *streamed = TRUE;
      return compute_streamed (file, tensor, scheme, n_threads, budget,
                               block_func, user_data, cancellable, error);
    }

  values = qs_weight_file_read_tensor (file, tensor, error);
  if (values == NULL)
    return NULL;
  report = qs_tensor_report_compute_values (tensor, values, scheme, n_threads, error);
  if (report == NULL)
    return NULL;

  if (block_func != NULL)
    {
      QsChannelLayout layout;
      int axis;

      /* The caller's buffers stay block-sized whatever the tensor size. */
      if (!_qs_tensor_report_layout (tensor, &report->scheme, &axis, &layout, error))
        return NULL;
      plan_init (&plan, &layout, budget);
      for (guint64 pos = 0; pos < tensor->count;)
        {
          guint64 end = plan_block_end (&plan, pos);

          if (!block_func (report, pos, values + pos, end - pos, user_data, error))
            return NULL;
          if (check_cancelled (cancellable, error))
            return NULL;
          pos = end;
        }
    }

  return g_steal_pointer (&report);
}

QsTensorReport *
qs_tensor_report_compute_budget (QsWeightFile    *file,
                                 const char      *path,
                                 const QsScheme  *scheme,
                                 int              n_threads,
                                 guint64          memory_budget,
                                 GCancellable    *cancellable,
                                 GError         **error)
{
  const QsTensorInfo *info;

  g_return_val_if_fail (QS_IS_WEIGHT_FILE (file), NULL);
  g_return_val_if_fail (path != NULL, NULL);

  info = qs_weight_file_lookup (file, path);
  if (info == NULL)
    {
      g_set_error (error, QS_ERROR, QS_ERROR_NOT_FOUND, "no tensor “%s” in %s",
                   path, qs_weight_file_get_filename (file));
      return NULL;
    }
  return qs_tensor_report_compute_blocks (file, info, scheme, n_threads, memory_budget,
                                          NULL, NULL, NULL, cancellable, error);
}
