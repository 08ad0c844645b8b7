/* qs-accuracy-job.c: live accuracy of the open model under its schemes, by integer inference.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The float32 model and its predictions do not depend on the scheme: they
 * are computed once per document and kept. A scheme change only
 * re-quantizes (calibrating activations on the bundled calibration slice)
 * and re-scores the integer path: first on 1,000 test images, reported at
 * once as an estimate, then on the rest. A newer request raises the
 * engine's cancel flag, so the running evaluation stops within a batch.
 */
#include "config.h"

#include "app/qs-accuracy-job.h"

#include <inttypes.h>
#include <stdatomic.h>

#include <glib/gi18n.h>

#include "app/qs-live-analysis.h"
#include "engine/qs-engine.h"
#include "model/qs-dataset.h"
#include "model/qs-keras-model.h"
#include "model/qs-main-context.h"
#include "model/qs-tensor-stream.h"

#define ESTIMATE_IMAGES 1000
#define CALIBRATION_IMAGES 1000

/* What a document's model needs, built once in a worker and then only read. */
typedef struct {
  QsEngineModel *model;
  char          *unavailable;   /* why there is no model, or NULL */
  QsDataset     *test;
  QsDataset     *calibration;
  int32_t       *fp32_predictions;
  int            n_threads;     /* as many workers as the memory budget holds */
} ModelCache;

typedef struct {
  QsAccuracyJob *job;           /* strong: the worker reports back to it */
  QsDocument    *document;      /* only its file is used in the worker */
  QsSchemeSet   *schemes;       /* the set at request: the worker never reads the live document */
  guint64        generation;
} Request;

struct _QsAccuracyJob
{
  GObject     parent_instance;

  GMutex      lock;             /* guards cache, cache_document */
  QsDocument *cache_document;   /* the document the cache was built for */
  ModelCache *cache;

  atomic_int  cancel;
  guint64     generation;       /* of the newest request (main thread) */
  gboolean    running;
  QsDocument *pending;          /* the newest request waiting for the running one */
};

G_DEFINE_FINAL_TYPE (QsAccuracyJob, qs_accuracy_job, G_TYPE_OBJECT)

enum {
  UPDATED,
  UNAVAILABLE,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void start (QsAccuracyJob *self, QsDocument *document);

static void
model_cache_free (ModelCache *cache)
{
  if (cache == NULL)
    return;
  g_clear_pointer (&cache->model, qs_engine_model_free);
  g_clear_pointer (&cache->unavailable, g_free);
  g_clear_pointer (&cache->test, qs_dataset_unref);
  g_clear_pointer (&cache->calibration, qs_dataset_unref);
  g_clear_pointer (&cache->fp32_predictions, g_free);
  g_free (cache);
}

/* ---- reports from the worker --------------------------------------------- */

typedef struct {
  QsAccuracyJob *job;
  guint64        generation;
  char          *unavailable;
  double         fp32_top1;
  double         quant_top1;
  double         agreement;
  guint          images;
  guint          total;
  char          *kernel;
} Report;

static gboolean
deliver_report_cb (gpointer user_data)
{
  Report *report = user_data;
  QsAccuracyJob *self = report->job;

  if (report->generation == self->generation)
    {
      if (report->unavailable != NULL)
        g_signal_emit (self, signals[UNAVAILABLE], 0, report->unavailable);
      else
        g_signal_emit (self, signals[UPDATED], 0, report->fp32_top1, report->quant_top1,
                       report->agreement, report->images, report->total, report->kernel);
    }
  g_object_unref (report->job);
  g_free (report->unavailable);
  g_free (report->kernel);
  g_free (report);
  return G_SOURCE_REMOVE;
}

static void
post_report (Request *request,
             Report  *report)
{
  report->job = g_object_ref (request->job);
  report->generation = request->generation;
  qs_main_context_post (NULL, G_PRIORITY_DEFAULT, deliver_report_cb, report, NULL);
}

static void
post_unavailable (Request    *request,
                  const char *reason)
{
  Report *report = g_new0 (Report, 1);

  report->unavailable = g_strdup (reason);
  post_report (request, report);
}

/* ---- the worker ------------------------------------------------------------ */

static ModelCache *
build_cache (QsDocument *document)
{
  ModelCache *cache = g_new0 (ModelCache, 1);
  g_autoptr(GError) error = NULL;
  QsEngineRunOptions options;
  const QsEngineDataset *view;

  cache->model = qs_keras_model_load (qs_document_get_file (document), &error);
  if (cache->model == NULL)
    {
      cache->unavailable = g_strdup (error->message);
      return cache;
    }
  cache->test = qs_dataset_load_bundled_test (&error);
  if (cache->test == NULL)
    {
      cache->unavailable = g_strdup_printf (_("no test images: %s"), error->message);
      return cache;
    }
  cache->calibration = qs_dataset_load_bundled_calibration (&error);
  if (cache->calibration == NULL)
    {
      cache->unavailable = g_strdup_printf (_("no calibration images: %s"), error->message);
      return cache;
    }

  view = qs_dataset_get_view (cache->test);
  {
    int h, w, c;
    qs_engine_model_get_input_shape (cache->model, &h, &w, &c);
    if (h != view->height || w != view->width || c != view->channels)
      {
        cache->unavailable = g_strdup_printf (_("the model takes %d×%d×%d images, the bundled test set has %d×%d×%d"),
                                              h, w, c, view->height, view->width, view->channels);
        return cache;
      }
  }

  {
    /* A model of a few kilobytes may declare gigabytes of feature maps: a
     * worker's share must fit the memory budget, and only as many workers
     * run as it holds. */
    guint64 working = qs_engine_get_working_size (cache->model), budget = qs_memory_budget_default ();

    if (working > budget)
      {
        cache->unavailable = g_strdup_printf (_("the model needs %" PRIu64 " MiB of working memory, more "
                                                "than the memory budget of %" PRIu64 " MiB"),
                                              working == G_MAXSIZE ? G_MAXUINT64 >> 20 : (working + (1 << 20) - 1) >> 20,
                                              budget >> 20);
        return cache;
      }
    cache->n_threads = (int) MIN ((guint64) g_get_num_processors (), budget / working);
  }

  cache->fp32_predictions = g_new (int32_t, view->count);
  qs_engine_run_options_init (&options);
  options.n_threads = cache->n_threads;
  if (qs_engine_predict (cache->model, NULL, view, 0, view->count, &options,
                         cache->fp32_predictions) != QS_ENGINE_OK)
    cache->unavailable = g_strdup (_("the float32 model could not be run"));
  return cache;
}

static void
evaluate_in_thread (GTask        *task,
                    gpointer      source_object,
                    gpointer      task_data,
                    GCancellable *cancellable)
{
  Request *request = task_data;
  QsAccuracyJob *self = request->job;
  ModelCache *cache;
  QsQuantizedModel *quantized = NULL;
  QsEngineRunOptions options;
  QsActivationScheme activations;
  QsEngineEvalResult total = { 0 }, part = { 0 };
  const QsEngineDataset *test, *calibration;
  g_autofree QsScheme *schemes = NULL;
  g_autofree const QsScheme **pointers = NULL;
  char message[256] = "";
  size_t n_weighted, count, first_part;

  qs_background_thread_init ();
  g_mutex_lock (&self->lock);
  if (self->cache_document != request->document)
    {
      g_clear_pointer (&self->cache, model_cache_free);
      g_set_object (&self->cache_document, request->document);
      self->cache = build_cache (request->document);
    }
  cache = self->cache;
  g_mutex_unlock (&self->lock);

  if (cache->unavailable != NULL)
    {
      post_unavailable (request, cache->unavailable);
      g_task_return_boolean (task, TRUE);
      return;
    }

  n_weighted = qs_engine_model_get_n_weighted (cache->model);
  schemes = g_new0 (QsScheme, n_weighted);
  pointers = g_new0 (const QsScheme *, n_weighted);
  /* The resolver eval uses, so the app and the CLI cannot disagree. */
  qs_scheme_set_resolve_layers (request->schemes, qs_document_get_file (request->document),
                                cache->model, schemes, pointers);

  qs_engine_run_options_init (&options);
  options.n_threads = cache->n_threads;
  options.cancel = &self->cancel;
  qs_scheme_set_activations (request->schemes, &activations);

  test = qs_dataset_get_view (cache->test);
  calibration = qs_dataset_get_view (cache->calibration);
  if (qs_engine_prepare_quantized (cache->model, pointers, n_weighted, &activations, calibration,
                                   CALIBRATION_IMAGES, &options, &quantized,
                                   message, sizeof message) != QS_ENGINE_OK)
    {
      if (!atomic_load (&self->cancel))
        post_unavailable (request, message[0] ? message : _("the model could not be quantized"));
      g_task_return_boolean (task, TRUE);
      return;
    }

  count = test->count;
  first_part = MIN (ESTIMATE_IMAGES, count);
  for (int step = 0; step < 2; step++)
    {
      size_t first = step == 0 ? 0 : first_part;
      size_t n = step == 0 ? first_part : count - first_part;
      Report *report;

      if (n == 0)
        continue;
      if (qs_engine_evaluate (cache->model, quantized, test, first, n, &options,
                              cache->fp32_predictions + first, NULL, &part) != QS_ENGINE_OK)
        break;
      qs_engine_eval_result_add (&total, &part);

      report = g_new0 (Report, 1);
      report->fp32_top1 = qs_engine_eval_result_fp32_top1 (&total);
      report->quant_top1 = qs_engine_eval_result_quant_top1 (&total);
      report->agreement = qs_engine_eval_result_agreement (&total);
      report->images = (guint) total.images;
      report->total = (guint) count;
      report->kernel = g_strdup (qs_quantized_model_get_kernel_name (quantized));
      post_report (request, report);
    }

  qs_quantized_model_free (quantized);
  g_task_return_boolean (task, TRUE);
}

static void
request_free (Request *request)
{
  g_clear_object (&request->job);
  g_clear_object (&request->document);
  g_clear_pointer (&request->schemes, qs_scheme_set_unref);
  g_free (request);
}

static void
evaluate_done_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  QsAccuracyJob *self = QS_ACCURACY_JOB (source);
  g_autoptr(QsDocument) next = g_steal_pointer (&self->pending);

  self->running = FALSE;
  if (next != NULL)
    start (self, next);
}

static void
start (QsAccuracyJob *self,
       QsDocument    *document)
{
  g_autoptr(GTask) task = NULL;
  Request *request = g_new0 (Request, 1);

  atomic_store (&self->cancel, 0);
  request->job = g_object_ref (self);
  request->document = g_object_ref (document);
  request->schemes = qs_scheme_set_ref (qs_document_get_schemes (document));
  request->generation = self->generation;
  self->running = TRUE;

  task = g_task_new (self, NULL, evaluate_done_cb, NULL);
  g_task_set_source_tag (task, start);
  g_task_set_task_data (task, request, (GDestroyNotify) request_free);
  g_task_set_priority (task, G_PRIORITY_LOW);
  g_task_run_in_thread (task, evaluate_in_thread);
}

void
qs_accuracy_job_request (QsAccuracyJob *self,
                         QsDocument    *document)
{
  g_return_if_fail (QS_IS_ACCURACY_JOB (self));
  g_return_if_fail (QS_IS_DOCUMENT (document));

  self->generation++;
  if (self->running)
    {
      /* One evaluation at a time: stop the current one, run this next. */
      atomic_store (&self->cancel, 1);
      g_set_object (&self->pending, document);
      return;
    }
  start (self, document);
}

void
qs_accuracy_job_cancel (QsAccuracyJob *self)
{
  g_return_if_fail (QS_IS_ACCURACY_JOB (self));

  self->generation++;
  atomic_store (&self->cancel, 1);
  g_clear_object (&self->pending);
}

gboolean
qs_accuracy_job_is_busy (QsAccuracyJob *self)
{
  g_return_val_if_fail (QS_IS_ACCURACY_JOB (self), FALSE);
  return self->running;
}

static void
qs_accuracy_job_dispose (GObject *object)
{
  QsAccuracyJob *self = QS_ACCURACY_JOB (object);

  atomic_store (&self->cancel, 1);
  g_clear_object (&self->pending);
  G_OBJECT_CLASS (qs_accuracy_job_parent_class)->dispose (object);
}

static void
qs_accuracy_job_finalize (GObject *object)
{
  QsAccuracyJob *self = QS_ACCURACY_JOB (object);

  g_clear_object (&self->cache_document);
  g_clear_pointer (&self->cache, model_cache_free);
  g_mutex_clear (&self->lock);
  G_OBJECT_CLASS (qs_accuracy_job_parent_class)->finalize (object);
}

static void
qs_accuracy_job_class_init (QsAccuracyJobClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = qs_accuracy_job_dispose;
  object_class->finalize = qs_accuracy_job_finalize;

  signals[UPDATED] = g_signal_new ("updated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                   0, NULL, NULL, NULL, G_TYPE_NONE, 6,
                                   G_TYPE_DOUBLE, G_TYPE_DOUBLE, G_TYPE_DOUBLE,
                                   G_TYPE_UINT, G_TYPE_UINT, G_TYPE_STRING);
  signals[UNAVAILABLE] = g_signal_new ("unavailable", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                       0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
qs_accuracy_job_init (QsAccuracyJob *self)
{
  g_mutex_init (&self->lock);
  atomic_init (&self->cancel, 0);
}

QsAccuracyJob *
qs_accuracy_job_new (void)
{
  return g_object_new (QS_TYPE_ACCURACY_JOB, NULL);
}
