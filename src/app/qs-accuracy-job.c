/* qs-accuracy-job.c: live accuracy of the open model under its schemes, by integer inference.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The float32 model and its predictions do not depend on the scheme: they
 * are computed once per document and kept. A scheme change only
 * re-quantizes (calibrating activations on the bundled calibration slice)
 * and re-scores the integer path: first on 1,000 test images, reported at
 * once as an estimate, then on the rest. The job service schedules it; a
 * newer request cancels the job, which raises the engine's cancel flag,
 * so the running evaluation stops within a batch.
 */
#include "config.h"

#include "app/qs-accuracy-job.h"

#include <inttypes.h>
#include <math.h>
#include <stdatomic.h>
#include <string.h>

#include <glib/gi18n.h>

#include "app/qs-score-work.h"
#include "app/qs-tensor-item.h"
#include "app/qs-tensor-job.h"
#include "engine/qs-engine.h"
#include "model/qs-dataset.h"
#include "model/qs-image-folder.h"
#include "model/qs-keras-model.h"
#include "model/qs-main-context.h"
#include "model/qs-scheme-file.h"
#include "model/qs-scheme-set.h"
#include "model/qs-tensor-stream.h"

#define ESTIMATE_IMAGES 1000
/* Progress is posted at most this often: the engine reports every batch. */
#define PROGRESS_INTERVAL_USEC (G_USEC_PER_SEC / 10)

/* What a document's model needs, built once in a worker and then only
 * read. Reference-counted: a worker still evaluating the previous
 * document's model keeps it while another builds the next one's. */
typedef struct Calibrated {
  gatomicrefcount     ref_count;
  QsCalibration      *calibration;
  QsActivationScheme  activations;
} Calibrated;

static Calibrated *
calibrated_ref (Calibrated *calibrated)
{
  g_atomic_ref_count_inc (&calibrated->ref_count);
  return calibrated;
}

static void
calibrated_unref (Calibrated *calibrated)
{
  if (calibrated == NULL || !g_atomic_ref_count_dec (&calibrated->ref_count))
    return;
  qs_calibration_free (calibrated->calibration);
  g_free (calibrated);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Calibrated, calibrated_unref)

typedef struct {
  gatomicrefcount ref_count;
  QsEngineModel *model;
  char          *unavailable;   /* why there is no model, or NULL */
  char          *data_path;     /* the chosen data, or NULL for the bundled sets */
  QsDataset     *test;
  QsDataset     *calibration;
  int32_t       *fp32_predictions;
  /* A set without labels is scored against the float32 predictions: its
   * "accuracy" is the integer path's agreement with float32. */
  gboolean       unlabeled;
  QsEngineDataset test_view;         /* the images scored (no images when streamed) */
  QsEngineDataset calibration_view;  /* the images that calibrate */
  /* A chosen image folder too large to keep decoded: its scored images
   * are read again at each run, this many at a time. */
  gboolean        streamed;
  gsize           window_images;
  int            n_threads;     /* as many workers as the memory budget holds */
  /* Calibrate once, quantize many times: activation ranges depend on the
   * activation scheme alone, so a new weight scheme costs no calibration
   * pass. Guarded by calibration_lock; a worker that needs other
   * activations replaces it while others may still quantize on the old. */
  GMutex              calibration_lock;
  struct Calibrated  *calibrated;
} ModelCache;

typedef struct {
  QsAccuracyJob *job;           /* strong: its model cache is used in the worker */
  QsDocument    *document;      /* only its file is used in the worker */
  QsSchemeSet   *schemes;       /* the set at request: the worker never reads the live document */
  char          *data_path;     /* the job's data at request */
  guint64        keep_bytes;    /* what a chosen folder's images may take (qs-score-work.h) */
  guint64        window_bytes;
} Request;

struct _QsAccuracyJob
{
  GObject     parent_instance;

  GMutex      lock;             /* guards cache, cache_document */
  QsDocument *cache_document;   /* the document the cache was built for */
  ModelCache *cache;
  char       *data_path;        /* the data chosen for the open model (main thread) */
  guint64     keep_bytes;       /* QS_CHOSEN_DATA_KEEP_BYTES but in tests */
  guint64     window_bytes;     /* QS_CHOSEN_DATA_WINDOW_BYTES but in tests */
};

G_DEFINE_FINAL_TYPE (QsAccuracyJob, qs_accuracy_job, G_TYPE_OBJECT)

static QsAccuracyResult *
accuracy_result_copy (const QsAccuracyResult *result)
{
  QsAccuracyResult *copy = g_memdup2 (result, sizeof *result);

  copy->kernel = g_strdup (result->kernel);
  copy->unavailable = g_strdup (result->unavailable);
  copy->layer_names = g_strdupv (result->layer_names);
  copy->layer_weight_sqnr = g_memdup2 (result->layer_weight_sqnr, result->n_layers * sizeof (double));
  copy->layer_output_sqnr = g_memdup2 (result->layer_output_sqnr, result->n_layers * sizeof (double));
  return copy;
}

static void
accuracy_result_free (QsAccuracyResult *result)
{
  g_free (result->kernel);
  g_free (result->unavailable);
  g_strfreev (result->layer_names);
  g_free (result->layer_weight_sqnr);
  g_free (result->layer_output_sqnr);
  g_free (result);
}

G_DEFINE_BOXED_TYPE (QsAccuracyResult, qs_accuracy_result, accuracy_result_copy, accuracy_result_free)

gboolean
qs_accuracy_result_is_progress (const QsAccuracyResult *result)
{
  g_return_val_if_fail (result != NULL, FALSE);
  return result->stage != QS_ACCURACY_STAGE_SCORED;
}

/* Posts a job's progress as partial outcomes, no more often than
 * PROGRESS_INTERVAL_USEC except when a stage starts; the engine calls it
 * on the job's thread. */
typedef struct {
  QsJobContext    *context;
  QsAccuracyStage  stage;
  size_t           offset;      /* images done before the engine call reporting */
  size_t           end;         /* the stage's images, when more than the call's (a window) */
  gint64           posted_usec;
} Progress;

static void
progress_post (Progress        *progress,
               QsAccuracyStage  stage,
               size_t           done,
               size_t           total)
{
  QsAccuracyResult *result;
  gint64 now = g_get_monotonic_time ();

  if (stage == progress->stage && now - progress->posted_usec < PROGRESS_INTERVAL_USEC)
    return;
  progress->stage = stage;
  progress->posted_usec = now;
  result = g_new0 (QsAccuracyResult, 1);
  result->stage = stage;
  result->stage_done = (guint) MIN (done, G_MAXUINT);
  result->stage_total = (guint) MIN (total, G_MAXUINT);
  qs_job_context_post_partial (progress->context, result);
}

static void
engine_progress_cb (size_t  done,
                    size_t  total,
                    void   *user_data)
{
  Progress *progress = user_data;

  progress_post (progress, progress->stage, progress->offset + done, MAX (progress->end, progress->offset + total));
}

/* Decoding a chosen folder's images, on first use. */
static void
loading_progress_cb (size_t  done,
                     size_t  total,
                     void   *user_data)
{
  progress_post (user_data, QS_ACCURACY_STAGE_LOADING, done, total);
}

/* Sets @options to report @stage through @progress: an engine call over
 * @n images after @offset done. */
static void
progress_begin (Progress           *progress,
                QsAccuracyStage     stage,
                size_t              offset,
                size_t              n,
                QsEngineRunOptions *options)
{
  progress_post (progress, stage, offset, MAX (progress->end, offset + n));
  progress->offset = offset;
  options->progress = engine_progress_cb;
  options->progress_data = progress;
}

static ModelCache *
model_cache_ref (ModelCache *cache)
{
  g_atomic_ref_count_inc (&cache->ref_count);
  return cache;
}

static void
model_cache_unref (ModelCache *cache)
{
  if (cache == NULL || !g_atomic_ref_count_dec (&cache->ref_count))
    return;
  /* First: a calibration points into the model and the calibration images. */
  g_clear_pointer (&cache->calibrated, calibrated_unref);
  g_clear_pointer (&cache->model, qs_engine_model_free);
  g_clear_pointer (&cache->unavailable, g_free);
  g_clear_pointer (&cache->data_path, g_free);
  g_clear_pointer (&cache->test, qs_dataset_unref);
  g_clear_pointer (&cache->calibration, qs_dataset_unref);
  g_clear_pointer (&cache->fp32_predictions, g_free);
  g_mutex_clear (&cache->calibration_lock);
  g_free (cache);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ModelCache, model_cache_unref)

static QsAccuracyResult *
unavailable_result (const char *reason)
{
  QsAccuracyResult *result = g_new0 (QsAccuracyResult, 1);

  result->unavailable = g_strdup (reason);
  return result;
}

/* ---- the worker ------------------------------------------------------------ */

/* The user's data for the model: an image folder resized to its input,
 * or a data file; its last images calibrate, as `eval` splits it. A
 * folder is decoded as qs-score-work.h's memory budget says. Returns
 * NULL, or why there is no data (transfer full). */
static char *
load_chosen_data (ModelCache *cache,
                  Request    *request,
                  Progress   *progress)
{
  QsDocument *document = request->document;
  const char *config = qs_weight_file_get_model_config (qs_document_get_file (document));
  g_autoptr(GError) error = NULL;
  QsChosenData chosen = { 0 };

  if (!qs_chosen_data_load (&chosen, cache->data_path, cache->model, config, request->keep_bytes,
                            QS_CHOSEN_DATA_STREAM, 0, NULL, loading_progress_cb, progress, &error))
    {
      qs_chosen_data_clear (&chosen);
      return g_strdup_printf (_("the chosen data: %s"), error->message);
    }
  cache->test = g_steal_pointer (&chosen.scored);
  cache->calibration = g_steal_pointer (&chosen.calibration);
  cache->calibration_view = chosen.calibration_view;
  cache->test_view = *qs_dataset_get_view (cache->test);
  cache->test_view.count = chosen.scored_count;
  cache->streamed = qs_dataset_is_streamed (cache->test);
  return NULL;
}

/* The bundled test set and calibration slice; NULL, or why not (transfer full). */
static char *
load_bundled_data (ModelCache *cache)
{
  g_autoptr(GError) error = NULL;

  cache->test = qs_dataset_load_bundled_test (&error);
  if (cache->test == NULL)
    return g_strdup_printf (_("no test images: %s"), error->message);
  cache->calibration = qs_dataset_load_bundled_calibration (&error);
  if (cache->calibration == NULL)
    return g_strdup_printf (_("no calibration images: %s"), error->message);
  return NULL;
}

/* Runs images [@first, @first + @n) of @cache's scored set through the
 * float32 model (@quantized NULL: into the float32 predictions) or
 * scores them on @quantized (into @total), a window at a time when the
 * set is streamed; progress counts the images of the whole range. FALSE
 * with @error when cancelled or an image cannot be read. */
static gboolean
run_windows (ModelCache              *cache,
             const QsQuantizedModel  *quantized,
             size_t                   first,
             size_t                   n,
             QsAccuracyStage          stage,
             QsEngineRunOptions      *options,
             Progress                *progress,
             QsEngineEvalResult      *total,
             GError                 **error)
{
  const QsEngineDataset *whole = &cache->test_view;
  gsize values = (gsize) whole->height * whole->width * whole->channels;
  g_autofree float *window = NULL;

  if (cache->streamed && n > 0
      && (window = g_try_new (float, MIN (n, cache->window_images) * values)) == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "out of memory for the images' window");
      return FALSE;
    }
  progress->end = first + n;
  for (size_t done = 0; done < n;)
    {
      size_t m = MIN (n - done, cache->window_images), at = first + done;
      QsEngineDataset view = *whole;
      QsEngineStatus status;

      if (cache->streamed)
        {
          /* The window holds images [at, at + m): the engine sees them as 0..m. */
          if (!qs_chosen_data_read (cache->test, at, m, window, options->cancel, error))
            break;
          view.images = window;
          view.labels = whole->labels != NULL ? whole->labels + at : NULL;
          view.count = m;
        }
      progress_begin (progress, stage, at, m, options);
      if (quantized == NULL)
        status = qs_engine_predict (cache->model, NULL, &view, cache->streamed ? 0 : at, m, options,
                                    cache->fp32_predictions + at);
      else
        {
          QsEngineEvalResult part = { 0 };

          status = qs_engine_evaluate (cache->model, quantized, &view, cache->streamed ? 0 : at, m, options,
                                       cache->fp32_predictions + at, NULL, &part);
          qs_engine_eval_result_add (total, &part);
        }
      if (status != QS_ENGINE_OK)
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "cancelled");
          break;
        }
      done += m;
      if (done == n)
        {
          progress->end = 0;
          return TRUE;
        }
    }
  progress->end = 0;
  return n == 0;
}

static ModelCache *
build_cache (Request  *request,
             Progress *progress)
{
  QsDocument *document = request->document;
  const char *data_path = request->data_path;
  ModelCache *cache = g_new0 (ModelCache, 1);
  g_autoptr(GError) error = NULL;
  QsEngineRunOptions options;
  const QsEngineDataset *view;

  g_atomic_ref_count_init (&cache->ref_count);
  g_mutex_init (&cache->calibration_lock);
  cache->data_path = g_strdup (data_path);
  progress_post (progress, QS_ACCURACY_STAGE_LOADING, 0, 0);
  cache->model = qs_keras_model_load (qs_document_get_file (document), &error);
  if (cache->model == NULL)
    {
      cache->unavailable = g_strdup (error->message);
      return cache;
    }
  cache->unavailable = data_path != NULL ? load_chosen_data (cache, request, progress) : load_bundled_data (cache);
  if (cache->unavailable != NULL)
    return cache;

  view = qs_dataset_get_view (cache->test);
  {
    int h, w, c;
    qs_engine_model_get_input_shape (cache->model, &h, &w, &c);
    if (h != view->height || w != view->width || c != view->channels)
      {
        if (data_path == NULL)
          cache->unavailable = g_strdup_printf (_("the model takes %d×%d×%d images, the bundled test set has %d×%d×%d: "
                                                  "choose its images with Choose Image Folder (Ctrl+D) "
                                                  "or Choose Data File in the menu"),
                                                h, w, c, view->height, view->width, view->channels);
        else if (qs_engine_model_get_input_channels_first (cache->model))
          cache->unavailable = g_strdup_printf (_("the model takes %d×%d×%d images (%d×%d×%d stored channels first), "
                                                  "the chosen data has %d×%d×%d"),
                                                h, w, c, c, h, w, view->height, view->width, view->channels);
        else
          cache->unavailable = g_strdup_printf (_("the model takes %d×%d×%d images, the chosen data has %d×%d×%d"),
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

  if (data_path == NULL)
    {
      cache->test_view = *view;
      cache->calibration_view = *qs_dataset_get_view (cache->calibration);
      cache->calibration_view.count = MIN (QS_DATASET_DEFAULT_CALIBRATION_IMAGES, cache->calibration_view.count);
    }
  cache->window_images = cache->streamed
                         ? MAX (request->window_bytes / ((guint64) view->height * view->width * view->channels
                                                         * sizeof (float)), 1)
                         : MAX (cache->test_view.count, 1);
  cache->fp32_predictions = g_new (int32_t, MAX (cache->test_view.count, 1));
  qs_engine_run_options_init (&options);
  options.n_threads = cache->n_threads;
  if (!run_windows (cache, NULL, 0, cache->test_view.count, QS_ACCURACY_STAGE_REFERENCE, &options, progress,
                    NULL, &error))
    cache->unavailable = g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
                         ? g_strdup (_("the float32 model could not be run"))
                         : g_strdup_printf (_("the chosen data: %s"), error->message);
  cache->unlabeled = !qs_dataset_has_labels (cache->test);
  if (cache->unlabeled)
    cache->test_view.labels = cache->fp32_predictions;
  return cache;
}

static void
raise_flag_cb (GCancellable *cancellable,
               gpointer      flag)
{
  atomic_store ((atomic_int *) flag, 1);
}

/* The model cache of @request's document, built on first use (transfer full). */
static ModelCache *
ensure_cache (Request  *request,
              Progress *progress)
{
  QsAccuracyJob *self = request->job;
  ModelCache *cache;

  g_mutex_lock (&self->lock);
  if (self->cache_document != request->document || self->cache == NULL
      || g_strcmp0 (self->cache->data_path, request->data_path) != 0)
    {
      g_clear_pointer (&self->cache, model_cache_unref);
      g_set_object (&self->cache_document, request->document);
      self->cache = build_cache (request, progress);
    }
  cache = model_cache_ref (self->cache);
  g_mutex_unlock (&self->lock);
  return cache;
}

static gboolean
activation_schemes_equal (const QsActivationScheme *a,
                          const QsActivationScheme *b)
{
  return a->range_method == b->range_method
         && (a->range_method != QS_RANGE_PERCENTILE || a->percentile == b->percentile)
         && a->nudge_zero == b->nudge_zero
         && a->rounding == b->rounding
         && a->float_logits == b->float_logits;
}

/* Quantizes @cache's model under @schemes, calibrating only when the
 * activations differ from the last calibration's. The output SQNR is
 * computed, since the overview shows it. */
static QsEngineStatus
quantize_with_cache (ModelCache                *cache,
                     const QsScheme *const     *schemes,
                     size_t                     n_schemes,
                     const QsActivationScheme  *activations,
                     const QsEngineRunOptions  *options,
                     Progress                  *progress,
                     QsQuantizedModel         **quantized,
                     char                      *message,
                     size_t                     message_size)
{
  const QsEngineDataset *calibration = &cache->calibration_view;
  g_autoptr(Calibrated) calibrated = NULL;
  QsEngineStatus status = QS_ENGINE_OK;

  /* Held while calibrating: a second worker wanting the same ranges
   * waits for them rather than measuring them again. */
  g_mutex_lock (&cache->calibration_lock);
  if (cache->calibrated == NULL
      || !activation_schemes_equal (&cache->calibrated->activations, activations))
    {
      QsCalibration *calibration_result = NULL;
      QsEngineRunOptions calibrating = *options;

      progress_begin (progress, QS_ACCURACY_STAGE_CALIBRATING, 0, calibration->count, &calibrating);
      status = qs_engine_calibrate (cache->model, activations, calibration, calibration->count, &calibrating,
                                    &calibration_result, message, message_size);
      if (status == QS_ENGINE_OK)
        {
          Calibrated *fresh = g_new0 (Calibrated, 1);

          g_atomic_ref_count_init (&fresh->ref_count);
          fresh->calibration = calibration_result;
          fresh->activations = *activations;
          g_clear_pointer (&cache->calibrated, calibrated_unref);
          cache->calibrated = fresh;
        }
    }
  if (status == QS_ENGINE_OK)
    calibrated = calibrated_ref (cache->calibrated);
  g_mutex_unlock (&cache->calibration_lock);

  if (status == QS_ENGINE_OK)
    status = qs_engine_quantize_calibrated (calibrated->calibration, schemes, n_schemes, TRUE,
                                            options, quantized, message, message_size);
  return status;
}

/* The quantized model's per-layer SQNR, as `eval --json` lists it. */
static void
add_layer_stats (QsAccuracyResult       *result,
                 const QsEngineModel    *model,
                 const QsQuantizedModel *quantized)
{
  guint n = (guint) qs_engine_model_get_n_weighted (model);

  result->n_layers = n;
  result->layer_names = g_new0 (char *, n + 1);
  result->layer_weight_sqnr = g_new (double, n);
  result->layer_output_sqnr = g_new (double, n);
  for (guint i = 0; i < n; i++)
    {
      QsQuantizedLayerStats stats;
      QsLayerInfo info;

      qs_engine_model_get_layer (model, qs_engine_model_weighted_layer_index (model, i), &info);
      qs_quantized_model_get_layer_stats (quantized, i, &stats);
      result->layer_names[i] = g_strdup (info.name);
      result->layer_weight_sqnr[i] = stats.weight_sqnr_db;
      result->layer_output_sqnr[i] = stats.output_sqnr_db;
    }
}

static QsAccuracyResult *
evaluate (Request            *request,
          ModelCache         *cache,
          Progress           *progress,
          QsEngineRunOptions *options,
          GError            **error)
{
  QsQuantizedModel *quantized = NULL;
  QsActivationScheme activations;
  QsEngineEvalResult total = { 0 };
  const QsEngineDataset *test;
  g_autoptr(GError) local = NULL;
  g_autofree QsScheme *schemes = NULL;
  g_autofree const QsScheme **pointers = NULL;
  QsAccuracyResult *result = NULL;
  char message[256] = "";
  size_t n_weighted, count, first_part;

  n_weighted = qs_engine_model_get_n_weighted (cache->model);
  schemes = g_new0 (QsScheme, n_weighted);
  pointers = g_new0 (const QsScheme *, n_weighted);
  /* The resolver eval uses, so the app and the CLI cannot disagree. */
  qs_scheme_set_resolve_layers (request->schemes, qs_document_get_file (request->document),
                                cache->model, schemes, pointers);

  qs_scheme_set_activations (request->schemes, &activations);

  test = &cache->test_view;
  if (quantize_with_cache (cache, pointers, n_weighted, &activations, options, progress, &quantized,
                           message, sizeof message) != QS_ENGINE_OK)
    {
      if (atomic_load (options->cancel))
        g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "cancelled");
      else
        result = unavailable_result (message[0] ? message : _("the model could not be quantized"));
      return result;
    }

  /* The first 1,000 images as an estimate, then the rest. */
  count = test->count;
  first_part = MIN (ESTIMATE_IMAGES, count);
  for (int step = 0; step < 2; step++)
    {
      size_t first = step == 0 ? 0 : first_part;
      size_t n = step == 0 ? first_part : count - first_part;

      if (n == 0)
        continue;
      if (!run_windows (cache, quantized, first, n, QS_ACCURACY_STAGE_EVALUATING, options, progress, &total,
                        &local))
        {
          g_clear_pointer (&result, accuracy_result_free);
          /* An image of a folder that became unreadable since it was opened. */
          if (!g_error_matches (local, G_IO_ERROR, G_IO_ERROR_CANCELLED))
            result = unavailable_result (local->message);
          else
            g_propagate_error (error, g_steal_pointer (&local));
          break;
        }

      g_clear_pointer (&result, accuracy_result_free);
      result = g_new0 (QsAccuracyResult, 1);
      /* Data without labels: the quantized figure is the agreement with float32. */
      result->fp32_top1 = cache->unlabeled ? NAN : qs_engine_eval_result_fp32_top1 (&total);
      result->quant_top1 = qs_engine_eval_result_quant_top1 (&total);
      result->agreement = qs_engine_eval_result_agreement (&total);
      result->images = (guint) total.images;
      result->total = (guint) count;
      result->kernel = g_strdup (qs_quantized_model_get_kernel_name (quantized));
      add_layer_stats (result, cache->model, quantized);
      if (total.images < count)
        qs_job_context_post_partial (progress->context, accuracy_result_copy (result));
    }

  qs_quantized_model_free (quantized);
  if (result == NULL && (error == NULL || *error == NULL))
    result = unavailable_result (_("no test images"));
  return result;
}

static gpointer
evaluate_job (QsJobContext *context,
              gpointer      work_data,
              GCancellable *cancellable,
              GError      **error)
{
  Request *request = work_data;
  Progress progress = { .context = context, .stage = QS_ACCURACY_STAGE_SCORED };
  g_autoptr(ModelCache) cache = ensure_cache (request, &progress);
  QsEngineRunOptions options;
  atomic_int cancel = 0;
  QsAccuracyResult *result;
  gulong handler;

  if (cache->unavailable != NULL)
    return unavailable_result (cache->unavailable);

  /* The engine polls a plain flag between batches; the cancellable raises it. */
  handler = g_cancellable_connect (cancellable, G_CALLBACK (raise_flag_cb), &cancel, NULL);
  qs_engine_run_options_init (&options);
  options.n_threads = cache->n_threads;
  options.cancel = &cancel;
  result = evaluate (request, cache, &progress, &options, error);
  g_cancellable_disconnect (cancellable, handler);
  return result;
}

static void
request_free (Request *request)
{
  g_clear_object (&request->job);
  g_clear_object (&request->document);
  g_clear_pointer (&request->schemes, qs_scheme_set_unref);
  g_free (request->data_path);
  g_free (request);
}

/* Everything the evaluation depends on: the document, its data and the scheme set. */
static guint64
request_key (const Request *request)
{
  g_autofree char *schemes = qs_scheme_set_to_data (request->schemes, NULL);
  guint64 key = qs_job_key_add_string (0, "accuracy");

  /* The set's JSON form, not its 32-bit hash: a cached result must never
   * answer for another set. */
  key = qs_job_key_add_uint64 (key, (guint64) (guintptr) request->document);
  key = qs_job_key_add_string (key, request->data_path != NULL ? request->data_path : "");
  return qs_job_key_add_string (key, schemes);
}

void
qs_accuracy_job_request (QsAccuracyJob *self,
                         QsJobService  *jobs,
                         QsDocument    *document,
                         QsJobCallback  callback,
                         gpointer       user_data)
{
  g_return_if_fail (QS_IS_DOCUMENT (document));

  qs_accuracy_job_request_schemes (self, jobs, document, qs_document_get_schemes (document),
                                   QS_ACCURACY_JOB_TARGET, callback, user_data);
}

void
qs_accuracy_job_request_schemes (QsAccuracyJob *self,
                                 QsJobService  *jobs,
                                 QsDocument    *document,
                                 QsSchemeSet   *schemes,
                                 const char    *target,
                                 QsJobCallback  callback,
                                 gpointer       user_data)
{
  Request *request;
  QsJobSpec spec = {
    .target = target,
    .priority = QS_JOB_PRIORITY_ACCURACY,
    .result_type = QS_TYPE_ACCURACY_RESULT,
    .work = evaluate_job,
    /* Integer inference of the test set follows a change once the user
     * pauses: a drag would otherwise restart it at every step. */
    .settle_ms = 250,
    .cacheable = TRUE,
  };

  g_return_if_fail (QS_IS_ACCURACY_JOB (self));
  g_return_if_fail (QS_IS_JOB_SERVICE (jobs));
  g_return_if_fail (QS_IS_DOCUMENT (document));
  g_return_if_fail (schemes != NULL && target != NULL);

  request = g_new0 (Request, 1);
  request->job = g_object_ref (self);
  request->document = g_object_ref (document);
  request->schemes = qs_scheme_set_ref (schemes);
  request->data_path = g_strdup (self->data_path);
  request->keep_bytes = self->keep_bytes;
  request->window_bytes = self->window_bytes;
  /* The key leaves out the target: the main view's accuracy and a
   * comparison's side share results for the same set. */
  spec.key = request_key (request);
  qs_job_service_request (jobs, &spec, request, (GDestroyNotify) request_free, callback, user_data);
}

void
qs_accuracy_job_set_data (QsAccuracyJob *self,
                          const char    *path)
{
  g_return_if_fail (QS_IS_ACCURACY_JOB (self));

  g_free (self->data_path);
  self->data_path = g_strdup (path != NULL && path[0] != '\0' ? path : NULL);
}

void
_qs_accuracy_job_set_memory (QsAccuracyJob *self,
                             guint64        keep_bytes,
                             guint64        window_bytes)
{
  g_return_if_fail (QS_IS_ACCURACY_JOB (self));

  self->keep_bytes = keep_bytes;
  self->window_bytes = window_bytes;
  /* The next request decodes the data again under the new sizes. */
  g_mutex_lock (&self->lock);
  g_clear_pointer (&self->cache, model_cache_unref);
  g_mutex_unlock (&self->lock);
}

static void
qs_accuracy_job_finalize (GObject *object)
{
  QsAccuracyJob *self = QS_ACCURACY_JOB (object);

  g_clear_object (&self->cache_document);
  g_clear_pointer (&self->cache, model_cache_unref);
  g_free (self->data_path);
  g_mutex_clear (&self->lock);
  G_OBJECT_CLASS (qs_accuracy_job_parent_class)->finalize (object);
}

static void
qs_accuracy_job_class_init (QsAccuracyJobClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = qs_accuracy_job_finalize;
}

static void
qs_accuracy_job_init (QsAccuracyJob *self)
{
  g_mutex_init (&self->lock);
  self->keep_bytes = QS_CHOSEN_DATA_KEEP_BYTES;
  self->window_bytes = QS_CHOSEN_DATA_WINDOW_BYTES;
}

QsAccuracyJob *
qs_accuracy_job_new (void)
{
  return g_object_new (QS_TYPE_ACCURACY_JOB, NULL);
}
