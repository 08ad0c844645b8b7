/* qs-engine-calibrate.c: every value's range on the float32 path, once, and the layers' output SQNR.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Calibration is one float32 pass over the calibration slice that takes
 * each value's min/max as it is written (qs_engine_forward_fp32_ranges:
 * GEMM tiles and depthwise bands read back while still in cache, the
 * vector range kernel), into accumulators of that task, merged at the
 * end; min and max do not depend on order, so neither do the ranges on
 * the number of threads. A value that is a view of another (Flatten,
 * Reshape, a fused ReLU) has its root's range without a walk of its own. Percentile ranges need a second pass:
 * its histograms span the exact [min, max] the first one found, which one
 * pass cannot know. The ranges depend on the model and the images alone,
 * so a QsCalibration serves any number of weight schemes
 * (qs-engine-quantize.c). The output SQNR, float32 and integers side by
 * side on the same slice, is not part of calibration: it runs only for a
 * caller that asks for it (qs_engine_quantize_calibrated).
 */
#include "qs-engine-private.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "quant/qs-checked.h"

/* Percentile calibration histogram. */
#define QS_CALIB_BINS 4096
/* Values whose bins are computed before they are counted. */
#define QS_HISTOGRAM_CHUNK 256

/* ---- calibration ---------------------------------------------------------------- */

typedef struct {
  const QsEngineModel      *model;
  const QsQuantizedModel   *qm;          /* the SQNR pass */
  const QsEngineDataset    *data;
  size_t                    n_points;    /* input + one per layer */
  size_t                    batch;       /* images per forward call */
  size_t                    forward_size;
  float                    *mins;        /* [task][point] */
  float                    *maxs;
  const float              *hist_lo;     /* [point], the percentile pass */
  const float              *hist_hi;
  uint32_t                 *hists;       /* [task][point][QS_CALIB_BINS] */
  double                   *signal;      /* [task][layer] */
  double                   *noise;
} QsCalibJob;

typedef struct {
  QsCalibJob *job;
  size_t      task;
  size_t      batch;
} QsHookCtx;

static void
histogram_add (const float *v,
               size_t       n,
               float        lo,
               float        hi,
               uint32_t    *hist)
{
  double width = ((double) hi - lo) / QS_CALIB_BINS;
  int32_t bins[QS_HISTOGRAM_CHUNK];

  if (!(width > 0.0))
    {
      hist[0] += (uint32_t) n;
      return;
    }
  /* The bins of a chunk first, in a loop without branches that compiles
   * to vector divisions (each as exact as the scalar one), then the counts. */
  for (size_t i = 0; i < n; i += QS_HISTOGRAM_CHUNK)
    {
      size_t m = n - i < QS_HISTOGRAM_CHUNK ? n - i : QS_HISTOGRAM_CHUNK;

      for (size_t j = 0; j < m; j++)
        {
          double at = ((double) v[i + j] - lo) / width;

          /* Clamped before the conversion: an activation that overflowed
           * to infinity (or NaN, which no comparison keeps) must not reach
           * a float-to-int cast. Truncating below QS_CALIB_BINS - 1 gives
           * what truncating at or past it and capping would. */
          at = at > 0.0 ? at : 0.0;
          at = at < QS_CALIB_BINS - 1 ? at : QS_CALIB_BINS - 1;
          bins[j] = (int32_t) at;
        }
      for (size_t j = 0; j < m; j++)
        hist[bins[j]]++;
    }
}

static void
point_observe (QsCalibJob  *job,
               size_t       task,
               size_t       point,
               const float *v,
               size_t       n)
{
  size_t at = task * job->n_points + point;

  /* A view's values are its root's, observed already. */
  if (job->model->plan_f32.root[point] != (int) point)
    return;
  if (job->hists != NULL)
    histogram_add (v, n, job->hist_lo[point], job->hist_hi[point],
                   job->hists + at * QS_CALIB_BINS);
  else
    qs_graph_kernels_get (job->model->kernels->isa)->range (v, n, &job->mins[at], &job->maxs[at]);
}

static void
histogram_hook (void       *data,
            size_t      layer,
            const void *output,
            size_t      batch)
{
  QsHookCtx *ctx = data;

  point_observe (ctx->job, ctx->task, layer + 1, output,
                 batch * qs_layer_out_size (&ctx->job->model->layers[layer]));
}

static QsEngineStatus
range_batch (void  *data,
             size_t task,
             size_t first,
             size_t count,
             void  *scratch)
{
  QsCalibJob *job = data;
  size_t image_size = (size_t) job->model->in_h * job->model->in_w * job->model->in_c;
  const float *images = job->data->images + first * image_size;
  QsEngineStatus status = QS_ENGINE_OK;

  point_observe (job, task, 0, images, count * image_size);
  for (size_t at = 0; at < count && status == QS_ENGINE_OK; at += job->batch)
    {
      QsHookCtx ctx = { job, task, count - at < job->batch ? count - at : job->batch };

      if (job->hists != NULL)
        status = qs_engine_forward_fp32 (job->model, images + at * image_size, ctx.batch, scratch,
                                         histogram_hook, &ctx, NULL);
      else
        status = qs_engine_forward_fp32_ranges (job->model, images + at * image_size, ctx.batch, scratch,
                                                job->mins + task * job->n_points,
                                                job->maxs + task * job->n_points);
    }
  return status;
}

/* A weighted layer's float32 and dequantized integer outputs, side by side. */
static void
compare_hook (void        *data,
              size_t       layer,
              const float *ref,
              const void  *output,
              size_t       batch)
{
  QsHookCtx *ctx = data;
  QsCalibJob *job = ctx->job;
  const QsQuantLayer *q = &job->qm->layers[layer];
  size_t n = batch * qs_layer_out_size (&job->model->layers[layer]);
  size_t at = ctx->task * job->model->n_layers + layer;
  /* Running sums over the task's images in order, whichever batches
   * they come in: the same sums as one batch of all of them. */
  double signal = job->signal[at], noise = job->noise[at];

  if (!qs_layer_has_kernel (&job->model->layers[layer]))
    return;
  for (size_t i = 0; i < n; i++)
    {
      double x = ref[i];
      double y = q->float_output ? ((const float *) output)[i]
                                 : ((double) ((const uint8_t *) output)[i] - q->out.zero_point) * q->out.scale;

      signal += x * x;
      noise += (x - y) * (x - y);
    }
  job->signal[at] = signal;
  job->noise[at] = noise;
}

static QsEngineStatus
sqnr_batch (void  *data,
            size_t task,
            size_t first,
            size_t count,
            void  *scratch)
{
  QsCalibJob *job = data;
  size_t image_size = (size_t) job->model->in_h * job->model->in_w * job->model->in_c;
  QsEngineStatus status = QS_ENGINE_OK;

  for (size_t at = first; at < first + count && status == QS_ENGINE_OK; at += job->batch)
    {
      QsHookCtx ctx = { job, task, first + count - at < job->batch ? first + count - at : job->batch };

      status = qs_engine_forward_compare (job->qm, job->data->images + at * image_size, ctx.batch, scratch,
                                          compare_hook, &ctx);
    }
  return status;
}

/* numpy-style percentile from a histogram: linear inside the bin. */
static float
histogram_percentile (const uint64_t *hist,
                      float           lo,
                      float           hi,
                      double          q)
{
  uint64_t total = 0, seen = 0;
  double target, width = ((double) hi - lo) / QS_CALIB_BINS;

  for (int b = 0; b < QS_CALIB_BINS; b++)
    total += hist[b];
  if (total == 0)
    return lo;
  target = q / 100.0 * (double) total;
  for (int b = 0; b < QS_CALIB_BINS; b++)
    {
      if ((double) (seen + hist[b]) >= target && hist[b] > 0)
        {
          double within = (target - (double) seen) / (double) hist[b];
          return (float) (lo + width * (b + within));
        }
      seen += hist[b];
    }
  return hi;
}

static QsEngineStatus
calibrate (QsCalibJob               *job,
           const QsActivationScheme *act,
           const QsEngineRunOptions *options,
           size_t                    count,
           size_t                    progress_total,
           float                    *lo,
           float                    *hi)
{
  const QsEngineModel *model = job->model;
  size_t n_tasks = (count + QS_ENGINE_TASK_IMAGES - 1) / QS_ENGINE_TASK_IMAGES;
  size_t P = job->n_points, cells;
  QsEngineStatus status;

  if (!qs_checked_mul_size (n_tasks, P, &cells) || cells > SIZE_MAX / sizeof (float) / QS_CALIB_BINS)
    return QS_ENGINE_TOO_LARGE;
  job->mins = malloc (cells * sizeof (float));
  job->maxs = malloc (cells * sizeof (float));
  if (job->mins == NULL || job->maxs == NULL)
    return QS_ENGINE_NO_MEMORY;
  /* Empty ranges, also for the values past the scored one, which no pass reaches. */
  for (size_t c = 0; c < cells; c++)
    {
      job->mins[c] = INFINITY;
      job->maxs[c] = -INFINITY;
    }
  status = qs_engine_run_batches (count, job->forward_size, options, 0, progress_total, range_batch, job);
  if (status != QS_ENGINE_OK)
    return status;
  for (size_t p = 0; p < P; p++)
    {
      lo[p] = INFINITY;
      hi[p] = -INFINITY;
      for (size_t t = 0; t < n_tasks; t++)
        {
          lo[p] = fminf (lo[p], job->mins[t * P + p]);
          hi[p] = fmaxf (hi[p], job->maxs[t * P + p]);
        }
      /* A zero extreme is +0.0, whichever of -0.0 and 0.0 a scan met first. */
      lo[p] += 0.0f;
      hi[p] += 0.0f;
    }

  if (act->range_method == QS_RANGE_PERCENTILE)
    {
      uint64_t *total = calloc (QS_CALIB_BINS, sizeof (uint64_t));

      job->hist_lo = lo;
      job->hist_hi = hi;
      job->hists = calloc (cells * QS_CALIB_BINS, sizeof (uint32_t));
      if (job->hists == NULL || total == NULL)
        {
          free (total);
          return QS_ENGINE_NO_MEMORY;
        }
      {
        /* The histogram pass repeats the first one's images: progress
         * stays where it was rather than going back. */
        QsEngineRunOptions quiet = options != NULL ? *options : (QsEngineRunOptions) { 0 };

        quiet.progress = NULL;
        status = qs_engine_run_batches (count, job->forward_size, &quiet, 0, progress_total, range_batch, job);
      }
      for (size_t p = 0; status == QS_ENGINE_OK && p < P; p++)
        {
          float plo = lo[p], phi = hi[p];

          memset (total, 0, QS_CALIB_BINS * sizeof (uint64_t));
          for (size_t t = 0; t < n_tasks; t++)
            for (int b = 0; b < QS_CALIB_BINS; b++)
              total[b] += job->hists[(t * P + p) * QS_CALIB_BINS + b];
          lo[p] = histogram_percentile (total, plo, phi, 100.0 - act->percentile);
          hi[p] = histogram_percentile (total, plo, phi, act->percentile);
        }
      free (total);
      free (job->hists);
      job->hists = NULL;
    }
  /* A view's range is its root's (roots come first: they are read before),
   * a folded ZeroPadding2D's with its zeros. */
  for (size_t p = 0; p < P; p++)
    {
      int root = model->plan_f32.root[p];

      if (root != (int) p)
        {
          bool zeros = p > 0 && qs_layer_adds_zeros (&model->layers[p - 1]);

          lo[p] = zeros && 0.0f < lo[root] ? 0.0f : lo[root];
          hi[p] = zeros && 0.0f > hi[root] ? 0.0f : hi[root];
        }
    }
  return status;
}

size_t
qs_engine_get_working_size (const QsEngineModel *model)
{
  /* The SQNR pass is the largest: both paths' values side by side. */
  size_t size = model != NULL ? qs_engine_compare_buffer_size (model, qs_engine_fit_batch (model, NULL, true))
                              : SIZE_MAX;

  return size > SIZE_MAX - 63 ? SIZE_MAX : (size + 63) & ~(size_t) 63;
}


void
qs_calibration_free (QsCalibration *calibrated)
{
  if (calibrated == NULL)
    return;
  free (calibrated->lo);
  free (calibrated->hi);
  free (calibrated);
}

/* The checks of a calibration request; *@count becomes the slice's size. */
static QsEngineStatus
check_calibration (const QsEngineModel      *model,
                   const QsActivationScheme *activations,
                   const QsEngineDataset    *calibration,
                   size_t                   *count,
                   char                     *message,
                   size_t                    message_size)
{
  if (model == NULL || calibration == NULL || calibration->images == NULL || model->n_layers == 0)
    return QS_ENGINE_INVALID_ARGUMENT;
  if (calibration->height != model->in_h || calibration->width != model->in_w
      || calibration->channels != model->in_c)
    {
      qs_engine_set_message (message, message_size, "calibration images are %dx%dx%d, the model takes %dx%dx%d",
                             calibration->height, calibration->width, calibration->channels,
                             model->in_h, model->in_w, model->in_c);
      return QS_ENGINE_SHAPE_MISMATCH;
    }
  if (*count == 0 || *count > calibration->count)
    *count = calibration->count;
  if (*count == 0)
    {
      qs_engine_set_message (message, message_size, "the calibration set holds no images");
      return QS_ENGINE_INVALID_ARGUMENT;
    }
  if (activations->range_method != QS_RANGE_MINMAX && activations->range_method != QS_RANGE_PERCENTILE)
    {
      qs_engine_set_message (message, message_size, "activations are calibrated with minmax or percentile");
      return QS_ENGINE_UNSUPPORTED;
    }
  if (activations->range_method == QS_RANGE_PERCENTILE
      && !(activations->percentile > 50.0 && activations->percentile <= 100.0))
    {
      qs_engine_set_message (message, message_size,
                             "the activation percentile %g is outside (50, 100]", activations->percentile);
      return QS_ENGINE_INVALID_ARGUMENT;
    }
  return QS_ENGINE_OK;
}

/* Every value's range on the float32 path; progress over @progress_total. */
QsEngineStatus
qs_engine_calibrate_values (const QsEngineModel        *model,
                            const QsActivationScheme   *activations,
                            const QsEngineDataset      *calibration,
                            size_t                      calibration_count,
                            const QsEngineRunOptions   *options,
                            size_t                      progress_total,
                            QsCalibration             **calibrated,
                            char                       *message,
                            size_t                      message_size)
{
  QsActivationScheme default_act;
  QsCalibration *cal;
  QsCalibJob job;
  QsEngineStatus status;

  if (calibrated != NULL)
    *calibrated = NULL;
  qs_engine_set_message (message, message_size, "%s", "");
  if (calibrated == NULL)
    return QS_ENGINE_INVALID_ARGUMENT;
  if (activations == NULL)
    {
      qs_activation_scheme_init_default (&default_act);
      activations = &default_act;
    }
  status = check_calibration (model, activations, calibration, &calibration_count, message, message_size);
  if (status != QS_ENGINE_OK)
    return status;

  memset (&job, 0, sizeof job);
  cal = calloc (1, sizeof *cal);
  if (cal == NULL)
    return QS_ENGINE_NO_MEMORY;
  cal->model = model;
  cal->activations = *activations;
  cal->data = *calibration;
  cal->count = calibration_count;
  job.n_points = model->n_layers + 1;
  cal->lo = calloc (job.n_points, sizeof (float));
  cal->hi = calloc (job.n_points, sizeof (float));
  job.model = model;
  job.data = calibration;
  job.batch = qs_engine_fit_batch (model, NULL, false);
  job.forward_size = qs_engine_batch_scratch_size (model, NULL, job.batch);
  if (cal->lo == NULL || cal->hi == NULL)
    status = QS_ENGINE_NO_MEMORY;
  else if (job.forward_size == SIZE_MAX)
    status = QS_ENGINE_TOO_LARGE;
  else
    status = calibrate (&job, activations, options, calibration_count, progress_total, cal->lo, cal->hi);
  free (job.mins);
  free (job.maxs);
  free (job.hists);
  if (status != QS_ENGINE_OK)
    {
      qs_engine_explain_failure (status, message, message_size);
      qs_calibration_free (cal);
      return status;
    }
  *calibrated = cal;
  return QS_ENGINE_OK;
}

QsEngineStatus
qs_engine_calibrate (const QsEngineModel        *model,
                     const QsActivationScheme   *activations,
                     const QsEngineDataset      *calibration,
                     size_t                      calibration_count,
                     const QsEngineRunOptions   *options,
                     QsCalibration             **calibrated,
                     char                       *message,
                     size_t                      message_size)
{
  size_t total = calibration != NULL && calibration_count > 0 && calibration_count <= calibration->count
                 ? calibration_count : (calibration != NULL ? calibration->count : 0);

  return qs_engine_calibrate_values (model, activations, calibration, calibration_count, options, total,
                                     calibrated, message, message_size);
}

/* Output SQNR of every weighted layer on the calibration slice. */
QsEngineStatus
qs_engine_measure_output_sqnr (const QsCalibration      *cal,
                               QsQuantizedModel         *qm,
                               const QsEngineRunOptions *options,
                               size_t                    progress_base,
                               size_t                    progress_total)
{
  const QsEngineModel *model = cal->model;
  size_t n_tasks = (cal->count + QS_ENGINE_TASK_IMAGES - 1) / QS_ENGINE_TASK_IMAGES;
  size_t scratch_size = qs_engine_get_working_size (model);
  size_t rounding = qs_engine_rounding_bytes (qm);
  double *signal = NULL, *noise = NULL;
  QsCalibJob job;
  QsEngineStatus status;

  memset (&job, 0, sizeof job);
  job.model = model;
  job.data = &cal->data;
  job.qm = qm;
  job.batch = qs_engine_fit_batch (model, NULL, true);
  job.signal = calloc (n_tasks * model->n_layers, sizeof (double));
  job.noise = calloc (n_tasks * model->n_layers, sizeof (double));
  if (job.signal == NULL || job.noise == NULL)
    {
      status = QS_ENGINE_NO_MEMORY;
      goto out;
    }
  if (scratch_size == SIZE_MAX || scratch_size > SIZE_MAX - rounding)
    status = QS_ENGINE_TOO_LARGE;
  else
    status = qs_engine_run_batches (cal->count, scratch_size + rounding, options, progress_base,
                                    progress_total, sqnr_batch, &job);
  if (status != QS_ENGINE_OK)
    goto out;
  /* A shared layer's calls pool their outputs: one figure per scheme. */
  signal = calloc (model->n_weighted + 1, sizeof (double));
  noise = calloc (model->n_weighted + 1, sizeof (double));
  if (signal == NULL || noise == NULL)
    {
      status = QS_ENGINE_NO_MEMORY;
      goto out;
    }
  for (size_t i = 0; i < model->n_layers; i++)
    {
      int w = model->layers[i].weight_index;

      if (!qs_layer_has_kernel (&model->layers[i]))
        continue;
      for (size_t t = 0; t < n_tasks; t++)
        {
          signal[w] += job.signal[t * model->n_layers + i];
          noise[w] += job.noise[t * model->n_layers + i];
        }
    }
  for (size_t i = 0; i < model->n_layers; i++)
    {
      int w = model->layers[i].weight_index;

      if (qs_layer_has_kernel (&model->layers[i]))
        qm->layers[i].stats.output_sqnr_db = noise[w] > 0.0 ? 10.0 * log10 (signal[w] / noise[w])
                                                            : (signal[w] > 0.0 ? INFINITY : NAN);
    }

out:
  free (signal);
  free (noise);
  free (job.signal);
  free (job.noise);
  return status;
}
