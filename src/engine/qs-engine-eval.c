/* qs-engine-eval.c: the parallel batch runner, prediction and top-1 evaluation.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Work is split into tasks of QS_ENGINE_TASK_IMAGES images handed out by
 * qs_parallel_for; each worker owns one scratch block for the whole call.
 * Results are written by image index, so they do not depend on the number
 * of threads or on scheduling. The cancel flag is read before every task,
 * so a raised flag stops the call after at most one task per worker (a
 * few milliseconds), and progress is reported on the calling thread
 * (worker 0) after each of its tasks. With fewer tasks than threads (a
 * single image, up to QS_ENGINE_TASK_IMAGES on two threads) the idle
 * threads are lent to the tasks, whose float32 GEMM and depthwise layers
 * split their rows between them (qs_engine_task_threads).
 */
#include "qs-engine-private.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "quant/qs-checked.h"
#include "quant/qs-parallel.h"

double
qs_engine_now (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec + (double) ts.tv_nsec * 1e-9;
}

void
qs_engine_run_options_init (QsEngineRunOptions *options)
{
  memset (options, 0, sizeof *options);
}

typedef struct {
  QsBatchFunc               func;
  int                       task_threads;
  void                     *data;
  size_t                    n_images;
  size_t                    task_images;
  uint8_t                  *scratch;
  size_t                    scratch_size;
  const QsEngineRunOptions *options;
  size_t                    progress_base;
  size_t                    progress_total;
  atomic_size_t             done;
  atomic_int                status;
} QsRunJob;

static _Thread_local int current_task_threads = 1;

int
qs_engine_task_threads (void)
{
  return current_task_threads;
}

static void
run_task (void  *data,
          size_t task,
          int    worker)
{
  QsRunJob *job = data;
  const QsEngineRunOptions *o = job->options;
  size_t first = task * job->task_images;
  size_t count = job->n_images - first < job->task_images ? job->n_images - first : job->task_images;
  QsEngineStatus status;
  size_t done;

  if (atomic_load_explicit (&job->status, memory_order_relaxed) != QS_ENGINE_OK)
    return;
  if (o->cancel != NULL && atomic_load_explicit (o->cancel, memory_order_relaxed) != 0)
    {
      int expected = QS_ENGINE_OK;
      atomic_compare_exchange_strong (&job->status, &expected, QS_ENGINE_CANCELLED);
      return;
    }

  current_task_threads = job->task_threads;
  status = job->func (job->data, task, first, count, job->scratch + (size_t) worker * job->scratch_size);
  current_task_threads = 1;
  if (status != QS_ENGINE_OK)
    {
      int expected = QS_ENGINE_OK;
      atomic_compare_exchange_strong (&job->status, &expected, (int) status);
      return;
    }
  done = atomic_fetch_add (&job->done, count) + count;
  if (worker == 0 && o->progress != NULL)
    o->progress (job->progress_base + done, job->progress_total, o->progress_data);
}

QsEngineStatus
qs_engine_run_batches (size_t                    n_images,
                       size_t                    scratch_size,
                       const QsEngineRunOptions *options,
                       size_t                    progress_base,
                       size_t                    progress_total,
                       QsBatchFunc               func,
                       void                     *data)
{
  return qs_engine_run_tasks (n_images, QS_ENGINE_TASK_IMAGES, scratch_size, options, progress_base,
                              progress_total, func, data);
}

QsEngineStatus
qs_engine_run_tasks (size_t                    n_images,
                     size_t                    task_images,
                     size_t                    scratch_size,
                     const QsEngineRunOptions *options,
                     size_t                    progress_base,
                     size_t                    progress_total,
                     QsBatchFunc               func,
                     void                     *data)
{
  QsEngineRunOptions defaults;
  size_t n_tasks;
  QsRunJob job;
  size_t total;
  int workers, threads;

  if (options == NULL)
    {
      qs_engine_run_options_init (&defaults);
      options = &defaults;
    }
  if (n_images == 0)
    return QS_ENGINE_OK;
  if (task_images == 0 || task_images > QS_ENGINE_TASK_IMAGES)
    return QS_ENGINE_INVALID_ARGUMENT;
  n_tasks = (n_images + task_images - 1) / task_images;
  if (options->cancel != NULL && atomic_load (options->cancel) != 0)
    return QS_ENGINE_CANCELLED;

  if (scratch_size > SIZE_MAX - 63)
    return QS_ENGINE_NO_MEMORY;
  scratch_size = (scratch_size + 63) & ~(size_t) 63;
  workers = qs_parallel_worker_count (options->n_threads, n_tasks);
  memset (&job, 0, sizeof job);
  job.func = func;
  /* Threads the tasks leave idle go to the tasks. */
  threads = qs_parallel_worker_count (options->n_threads, SIZE_MAX);
  job.task_threads = (size_t) threads > n_tasks ? threads / (int) n_tasks : 1;
  job.data = data;
  job.n_images = n_images;
  job.task_images = task_images;
  job.scratch_size = scratch_size;
  job.options = options;
  job.progress_base = progress_base;
  job.progress_total = progress_total;
  atomic_init (&job.done, 0);
  atomic_init (&job.status, QS_ENGINE_OK);
  if (!qs_checked_mul_size (scratch_size, (size_t) workers, &total))
    return QS_ENGINE_NO_MEMORY;
  job.scratch = aligned_alloc (64, total);
  if (job.scratch == NULL)
    return QS_ENGINE_NO_MEMORY;

  qs_parallel_for (workers, n_tasks, run_task, &job);
  free (job.scratch);

  if (atomic_load (&job.status) == QS_ENGINE_OK && options->progress != NULL)
    options->progress (progress_base + n_images, progress_total, options->progress_data);
  return (QsEngineStatus) atomic_load (&job.status);
}

size_t
qs_engine_fit_batch (const QsEngineModel    *model,
                     const QsQuantizedModel *quantized,
                     bool                    compare)
{
  size_t batch = QS_ENGINE_TASK_IMAGES;

  while (batch > 1
         && (compare ? qs_engine_compare_buffer_size (model, batch)
                     : qs_engine_get_buffer_size (model, quantized, batch) - qs_engine_rounding_bytes (quantized))
              > QS_ENGINE_BATCH_BYTES)
    batch /= 2;
  return batch;
}

/* ---- prediction ---------------------------------------------------------------- */

typedef struct {
  const QsEngineModel    *model;
  const QsQuantizedModel *quantized;
  const QsEngineDataset  *data;
  size_t                  first;
  size_t                  batch;         /* images per forward call */
  size_t                  forward_size;
  size_t                  n_outputs;
  int32_t                *predictions;
} QsPredictJob;

static int32_t
argmax (const float *v,
        size_t       n)
{
  size_t best = 0;
  float best_value = -INFINITY;

  /* The first of equal maxima wins (as numpy and torch.argmax on CPU); NaN never does. */
  for (size_t i = 0; i < n; i++)
    if (v[i] > best_value)
      {
        best_value = v[i];
        best = i;
      }
  return (int32_t) best;
}

/* Where image @index of @data starts. */
static const float *
dataset_image (const QsEngineDataset *data,
               size_t                 index)
{
  return data->images + index * ((size_t) data->height * data->width * data->channels);
}

static QsEngineStatus
predict_batch (void  *data,
               size_t task,
               size_t first,
               size_t count,
               void  *scratch)
{
  QsPredictJob *job = data;
  float *outputs = (float *) ((uint8_t *) scratch + job->forward_size);
  QsEngineStatus status = QS_ENGINE_OK;

  for (size_t at = first; at < first + count && status == QS_ENGINE_OK; at += job->batch)
    {
      size_t batch = first + count - at < job->batch ? first + count - at : job->batch;
      const float *images = dataset_image (job->data, job->first + at);

      if (job->quantized != NULL)
        status = qs_engine_forward_quant (job->quantized, images, batch, scratch, NULL, NULL, outputs);
      else
        status = qs_engine_forward_fp32 (job->model, images, batch, scratch, NULL, NULL, outputs);
      for (size_t i = 0; status == QS_ENGINE_OK && i < batch; i++)
        job->predictions[at + i] = argmax (outputs + i * job->n_outputs, job->n_outputs);
    }
  return status;
}

static QsEngineStatus
check_data (const QsEngineModel   *model,
            const QsEngineDataset *data,
            size_t                 first,
            size_t                 count)
{
  if (data == NULL || data->images == NULL)
    return QS_ENGINE_INVALID_ARGUMENT;
  if (data->height != model->in_h || data->width != model->in_w || data->channels != model->in_c)
    return QS_ENGINE_SHAPE_MISMATCH;
  if (first > data->count || count > data->count - first)
    return QS_ENGINE_INVALID_ARGUMENT;
  return QS_ENGINE_OK;
}

static QsEngineStatus
predict_range (const QsEngineModel      *model,
               const QsQuantizedModel   *quantized,
               const QsEngineDataset    *data,
               size_t                    first,
               size_t                    count,
               const QsEngineRunOptions *options,
               size_t                    progress_base,
               size_t                    progress_total,
               int32_t                  *predictions)
{
  QsPredictJob job = {
    .model = model,
    .quantized = quantized,
    .data = data,
    .first = first,
    .batch = qs_engine_fit_batch (model, quantized, false),
    .n_outputs = qs_engine_model_get_n_outputs (model),
    .predictions = predictions,
  };
  size_t outputs, scratch;

  job.forward_size = qs_engine_batch_scratch_size (model, quantized, job.batch);
  if (!qs_checked_mul3_size (job.batch, job.n_outputs, sizeof (float), &outputs)
      || !qs_checked_add_size (job.forward_size, outputs, &scratch))
    return QS_ENGINE_NO_MEMORY;
  return qs_engine_run_batches (count, scratch, options, progress_base, progress_total,
                                predict_batch, &job);
}

QsEngineStatus
qs_engine_predict (const QsEngineModel      *model,
                   const QsQuantizedModel   *quantized,
                   const QsEngineDataset    *data,
                   size_t                    first,
                   size_t                    count,
                   const QsEngineRunOptions *options,
                   int32_t                  *predictions)
{
  QsEngineStatus status;

  if (model == NULL || model->n_layers == 0 || predictions == NULL
      || (quantized != NULL && quantized->model != model))
    return QS_ENGINE_INVALID_ARGUMENT;
  if ((status = check_data (model, data, first, count)) != QS_ENGINE_OK)
    return status;
  return predict_range (model, quantized, data, first, count, options, 0, count, predictions);
}

/* ---- branches ------------------------------------------------------------------ */

/* The scratch one worker of qs_engine_predict_branches may hold, images
 * per task permitting (one image may need more). */
#define QS_BRANCH_WORKER_BYTES ((size_t) 256 << 20)

typedef struct {
  const QsQuantizedModel *trunk;
  const QsEngineBranch   *branches;
  size_t                  n_branches;
  const QsEngineDataset  *data;
  size_t                  first;
  size_t                  count;
  size_t                  forward_size;
  size_t                  n_outputs;
  const atomic_int       *cancel;
  int32_t                *predictions;
} QsBranchJob;

static QsEngineStatus
predict_branches_batch (void  *data,
                        size_t task,
                        size_t first,
                        size_t count,
                        void  *scratch)
{
  QsBranchJob *job = data;
  const float *images = dataset_image (job->data, job->first + first);
  uint8_t *branch_scratch = (uint8_t *) scratch + job->forward_size;
  float *outputs = (float *) (branch_scratch + job->forward_size);
  QsEngineStatus status;

  status = qs_engine_forward_branches (job->trunk, job->branches, job->n_branches, images, count,
                                       scratch, branch_scratch, job->cancel, outputs);
  if (status != QS_ENGINE_OK)
    return status;
  for (size_t b = 0; b <= job->n_branches; b++)
    for (size_t i = 0; i < count; i++)
      job->predictions[b * job->count + first + i]
        = argmax (outputs + (b * count + i) * job->n_outputs, job->n_outputs);
  return QS_ENGINE_OK;
}

/* Whether @b quantizes @a's model with @a's activations and kernels, so
 * that a layer of one runs between the values of the other. */
static bool
same_activations (const QsQuantizedModel *a,
                  const QsQuantizedModel *b)
{
  size_t n_layers = a->model->n_layers;

  if (b->model != a->model || b->kernels != a->kernels || b->graph_kernels != a->graph_kernels
      || memcmp (&a->input, &b->input, sizeof a->input) != 0
      || memcmp (a->values, b->values, (n_layers + 1) * sizeof *a->values) != 0)
    return false;
  for (size_t i = 0; i < n_layers; i++)
    if (a->layers[i].float_output != b->layers[i].float_output)
      return false;
  return true;
}

QsEngineStatus
qs_engine_predict_branches (const QsQuantizedModel   *trunk,
                            const QsEngineBranch     *branches,
                            size_t                    n_branches,
                            const QsEngineDataset    *data,
                            size_t                    first,
                            size_t                    count,
                            const QsEngineRunOptions *options,
                            int32_t                  *predictions)
{
  QsBranchJob job;
  size_t outputs, scratch, n_run, task_images, rounding;
  int threads;
  QsEngineStatus status;

  if (trunk == NULL || predictions == NULL || (n_branches > 0 && branches == NULL)
      || trunk->model->n_layers == 0)
    return QS_ENGINE_INVALID_ARGUMENT;
  n_run = (size_t) qs_model_output_value (trunk->model);
  for (size_t b = 0; b < n_branches; b++)
    if (branches[b].at == NULL || branches[b].rest == NULL
        || branches[b].layer < trunk->model->n_float_prefix || branches[b].layer >= n_run
        || !same_activations (trunk, branches[b].at) || !same_activations (trunk, branches[b].rest))
      return QS_ENGINE_INVALID_ARGUMENT;
  if ((status = check_data (trunk->model, data, first, count)) != QS_ENGINE_OK)
    return status;

  memset (&job, 0, sizeof job);
  job.trunk = trunk;
  job.branches = branches;
  job.n_branches = n_branches;
  job.data = data;
  job.first = first;
  job.count = count;
  job.n_outputs = qs_engine_model_get_n_outputs (trunk->model);
  job.cancel = options != NULL ? options->cancel : NULL;
  job.predictions = predictions;
  /* A branch task runs its images through every branch: seconds on a large
   * model, so few images are split finer (about four tasks a thread) to
   * keep every thread busy to the end. */
  threads = qs_parallel_worker_count (options != NULL ? options->n_threads : 0, count);
  task_images = (count + 4 * (size_t) threads - 1) / (4 * (size_t) threads);
  task_images = task_images < 1 ? 1 : (task_images > QS_ENGINE_TASK_IMAGES ? QS_ENGINE_TASK_IMAGES : task_images);
  /* Each worker holds two forward blocks (the trunk's, the branch's) of
   * a task's images: fewer images when they would pass the budget (a
   * 224 x 224 model's block is tens of megabytes an image). */
  /* Both blocks have room for whichever of the models rounds the most
   * float-format weights at once. */
  rounding = qs_engine_rounding_bytes (trunk);
  for (size_t b = 0; b < n_branches; b++)
    {
      size_t at = qs_engine_rounding_bytes (branches[b].at), rest = qs_engine_rounding_bytes (branches[b].rest);

      rounding = at > rounding ? at : rounding;
      rounding = rest > rounding ? rest : rounding;
    }
  for (;;)
    {
      job.forward_size = qs_engine_get_buffer_size (trunk->model, NULL, task_images);
      if (job.forward_size != SIZE_MAX)
        job.forward_size = job.forward_size > SIZE_MAX - rounding ? SIZE_MAX : job.forward_size + rounding;
      job.forward_size = job.forward_size > SIZE_MAX - 63 ? SIZE_MAX : (job.forward_size + 63) & ~(size_t) 63;
      if (task_images == 1 || (job.forward_size != SIZE_MAX && job.forward_size <= QS_BRANCH_WORKER_BYTES / 2))
        break;
      task_images /= 2;
    }
  /* ... and every run's outputs. */
  if (job.forward_size == SIZE_MAX
      || !qs_checked_mul3_size (task_images, job.n_outputs, sizeof (float), &outputs)
      || !qs_checked_mul_size (outputs, n_branches + 1, &outputs)
      || !qs_checked_add_size (job.forward_size, job.forward_size, &scratch)
      || !qs_checked_add_size (scratch, outputs, &scratch))
    return QS_ENGINE_NO_MEMORY;
  return qs_engine_run_tasks (count, task_images, scratch, options, 0, count, predict_branches_batch, &job);
}

QsEngineStatus
qs_engine_evaluate (const QsEngineModel      *model,
                    const QsQuantizedModel   *quantized,
                    const QsEngineDataset    *data,
                    size_t                    first,
                    size_t                    count,
                    const QsEngineRunOptions *options,
                    const int32_t            *fp32_predictions,
                    int32_t                  *quant_predictions,
                    QsEngineEvalResult       *result)
{
  int32_t *fp32 = NULL, *quant = NULL;
  size_t total_work, base = 0;
  QsEngineStatus status;
  double t0;

  if (result == NULL)
    return QS_ENGINE_INVALID_ARGUMENT;
  memset (result, 0, sizeof *result);
  if (model == NULL || model->n_layers == 0 || (quantized != NULL && quantized->model != model))
    return QS_ENGINE_INVALID_ARGUMENT;
  if ((status = check_data (model, data, first, count)) != QS_ENGINE_OK)
    return status;
  if (data->labels == NULL)
    return QS_ENGINE_INVALID_ARGUMENT;
  /* A label no class can match would score as a silent miss. */
  for (size_t i = first; i < first + count; i++)
    if (data->labels[i] < 0 || (size_t) data->labels[i] >= qs_engine_model_get_n_outputs (model))
      return QS_ENGINE_INVALID_ARGUMENT;

  total_work = (fp32_predictions == NULL ? count : 0) + (quantized != NULL ? count : 0);
  if (fp32_predictions == NULL)
    {
      fp32 = malloc ((count ? count : 1) * sizeof *fp32);
      if (fp32 == NULL)
        return QS_ENGINE_NO_MEMORY;
      t0 = qs_engine_now ();
      status = predict_range (model, NULL, data, first, count, options, 0, total_work, fp32);
      result->fp32_seconds = qs_engine_now () - t0;
      if (status != QS_ENGINE_OK)
        goto out;
      fp32_predictions = fp32;
      base = count;
    }
  if (quantized != NULL)
    {
      quant = quant_predictions != NULL ? quant_predictions : malloc ((count ? count : 1) * sizeof *quant);
      if (quant == NULL)
        {
          status = QS_ENGINE_NO_MEMORY;
          goto out;
        }
      t0 = qs_engine_now ();
      status = predict_range (model, quantized, data, first, count, options, base, total_work, quant);
      result->quant_seconds = qs_engine_now () - t0;
      if (status != QS_ENGINE_OK)
        goto out;
    }

  result->images = count;
  for (size_t i = 0; i < count; i++)
    {
      int32_t label = data->labels[first + i];

      result->fp32_correct += fp32_predictions[i] == label;
      if (quant != NULL)
        {
          result->quant_correct += quant[i] == label;
          result->agree += quant[i] == fp32_predictions[i];
        }
    }

out:
  free (fp32);
  if (quant != quant_predictions)
    free (quant);
  if (status != QS_ENGINE_OK)
    {
      double f = result->fp32_seconds, q = result->quant_seconds;

      memset (result, 0, sizeof *result);
      result->fp32_seconds = f;
      result->quant_seconds = q;
    }
  return status;
}

void
qs_engine_eval_result_add (QsEngineEvalResult       *total,
                           const QsEngineEvalResult *part)
{
  total->images += part->images;
  total->fp32_correct += part->fp32_correct;
  total->quant_correct += part->quant_correct;
  total->agree += part->agree;
  total->fp32_seconds += part->fp32_seconds;
  total->quant_seconds += part->quant_seconds;
}

static double
percent (size_t part,
         size_t whole)
{
  return whole > 0 ? 100.0 * (double) part / (double) whole : 0.0;
}

double
qs_engine_eval_result_fp32_top1 (const QsEngineEvalResult *r)
{
  return percent (r->fp32_correct, r->images);
}

double
qs_engine_eval_result_quant_top1 (const QsEngineEvalResult *r)
{
  return percent (r->quant_correct, r->images);
}

double
qs_engine_eval_result_agreement (const QsEngineEvalResult *r)
{
  return percent (r->agree, r->images);
}
