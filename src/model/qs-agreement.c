/* qs-agreement.c: how far the integer model's outputs follow the float32 model's, for images without labels.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "model/qs-agreement.h"

#include <math.h>

#include "model/qs-error.h"

#define BATCH 16

typedef struct {
  const QsQuantizedModel *quantized;
  const QsEngineDataset  *data;
  gsize                   next;      /* the next batch's first image, under lock */
  gsize                   end;
  GMutex                  lock;
  QsAgreement             total;     /* under lock */
  QsEngineStatus          status;    /* the first failure, under lock */
} Job;

/* Where class @label ranks among @n values (0: the best); earlier classes
 * win ties, as argmax. */
static gsize
rank_of (const float *values,
         gsize        n,
         gsize        label)
{
  gsize rank = 0;

  for (gsize i = 0; i < n; i++)
    if (values[i] > values[label] || (values[i] == values[label] && i < label))
      rank++;
  return rank;
}

static gsize
argmax (const float *values,
        gsize        n)
{
  gsize best = 0;

  for (gsize i = 1; i < n; i++)
    if (values[i] > values[best])
      best = i;
  return best;
}

static gpointer
worker (gpointer data)
{
  Job *job = data;
  const QsEngineModel *model = qs_quantized_model_get_model (job->quantized);
  gsize n = qs_engine_model_get_n_outputs (model);
  gsize image = (gsize) job->data->height * job->data->width * job->data->channels;
  gsize fp32_size = qs_engine_get_buffer_size (model, NULL, BATCH);
  gsize quant_size = qs_engine_get_buffer_size (model, job->quantized, BATCH);
  gsize scratch_size = MAX (fp32_size, quant_size);
  g_autofree void *scratch = g_try_malloc (scratch_size);
  g_autofree float *fp32 = g_try_new (float, BATCH * n);
  g_autofree float *quant = g_try_new (float, BATCH * n);
  QsAgreement part = { 0 };
  QsEngineStatus status = scratch == NULL || fp32 == NULL || quant == NULL ? QS_ENGINE_NO_MEMORY : QS_ENGINE_OK;

  while (status == QS_ENGINE_OK)
    {
      gsize first, batch;
      const float *images;

      g_mutex_lock (&job->lock);
      first = job->next;
      job->next = MIN (job->end, job->next + BATCH);
      g_mutex_unlock (&job->lock);
      if (first >= job->end)
        break;
      batch = MIN ((gsize) BATCH, job->end - first);
      images = job->data->images + first * image;
      status = qs_engine_forward (model, NULL, images, batch, scratch, scratch_size, fp32);
      if (status == QS_ENGINE_OK)
        status = qs_engine_forward (model, job->quantized, images, batch, scratch, scratch_size, quant);
      for (gsize b = 0; status == QS_ENGINE_OK && b < batch; b++)
        {
          const float *f = fp32 + b * n, *q = quant + b * n;
          gsize label = argmax (f, n);

          part.images++;
          part.top1_agree += argmax (q, n) == label;
          part.top5_agree += rank_of (q, n, label) < 5;
          for (gsize i = 0; i < n; i++)
            {
              part.signal += (double) f[i] * f[i];
              part.noise += ((double) f[i] - q[i]) * ((double) f[i] - q[i]);
            }
        }
    }

  g_mutex_lock (&job->lock);
  job->total.images += part.images;
  job->total.top1_agree += part.top1_agree;
  job->total.top5_agree += part.top5_agree;
  job->total.signal += part.signal;
  job->total.noise += part.noise;
  if (status != QS_ENGINE_OK && job->status == QS_ENGINE_OK)
    job->status = status;
  g_mutex_unlock (&job->lock);
  return NULL;
}

gboolean
qs_agreement_measure (const QsQuantizedModel *quantized,
                      const QsEngineDataset  *data,
                      gsize                   first,
                      gsize                   count,
                      int                     n_threads,
                      QsAgreement            *agreement,
                      GError                **error)
{
  g_autoptr(GPtrArray) threads = g_ptr_array_new ();
  Job job = { 0 };

  g_return_val_if_fail (quantized != NULL && data != NULL && agreement != NULL, FALSE);
  g_return_val_if_fail (first <= data->count && count <= data->count - first, FALSE);

  job.quantized = quantized;
  job.data = data;
  job.next = first;
  job.end = first + count;
  g_mutex_init (&job.lock);
  for (int t = 1; t < MAX (n_threads, 1); t++)
    g_ptr_array_add (threads, g_thread_new ("qs-agreement", worker, &job));
  worker (&job);
  for (guint t = 0; t < threads->len; t++)
    g_thread_join (g_ptr_array_index (threads, t));
  g_mutex_clear (&job.lock);

  if (job.status != QS_ENGINE_OK)
    {
      g_set_error (error, QS_ERROR, QS_ERROR_FAILED, "the engine failed: %s",
                   qs_engine_status_to_string (job.status));
      return FALSE;
    }
  *agreement = job.total;
  return TRUE;
}

double
qs_agreement_sqnr_db (const QsAgreement *agreement)
{
  g_return_val_if_fail (agreement != NULL, NAN);

  if (agreement->images == 0 || agreement->signal <= 0.0)
    return NAN;
  if (agreement->noise == 0.0)
    return INFINITY;
  return 10.0 * log10 (agreement->signal / agreement->noise);
}
