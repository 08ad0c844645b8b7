/* qs-score-work.c: what the app's search windows set up in their worker: the model, the bundled images and a score session.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "app/qs-score-work.h"

#include <string.h>

#include <glib/gi18n.h>

#include "model/qs-error.h"
#include "model/qs-image-folder.h"
#include "model/qs-keras-model.h"
#include "model/qs-scheme-file.h"
#include "model/qs-tensor-stream.h"

/* Images decoded between two looks at the cancel flag: a few tens of
 * milliseconds of JPEG decoding. */
#define READ_PIECE_IMAGES 16

void
qs_score_work_split_chosen (const QsEngineDataset *data,
                            QsEngineDataset       *scored,
                            QsEngineDataset       *calibration)
{
  size_t want = qs_dataset_calibration_tail (data->count);
  size_t pixels = (size_t) data->height * (size_t) data->width * (size_t) data->channels;

  g_return_if_fail (data != NULL && scored != NULL && calibration != NULL);

  *scored = *data;
  *calibration = *data;
  if (want == 0)
    return;
  scored->count = data->count - want;
  calibration->count = want;
  calibration->images = data->images + scored->count * pixels;
  calibration->labels = data->labels != NULL ? data->labels + scored->count : NULL;
}

/* As qs_chosen_data_read, reporting @progress as @done_before + images
 * read of @total. */
static gboolean
read_images (QsDataset            *set,
             gsize                 first,
             gsize                 count,
             float                *buffer,
             const atomic_int     *cancel,
             QsEngineProgressFunc  progress,
             gpointer              progress_data,
             gsize                 done_before,
             gsize                 total,
             GError              **error)
{
  const QsEngineDataset *view = qs_dataset_get_view (set);
  gsize values = (gsize) view->height * view->width * view->channels;

  for (gsize done = 0; done < count; done += READ_PIECE_IMAGES)
    {
      gsize n = MIN (READ_PIECE_IMAGES, count - done);

      if (cancel != NULL && atomic_load (cancel))
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "cancelled");
          return FALSE;
        }
      if (!qs_dataset_read_range (set, first + done, n, buffer + done * values, error))
        return FALSE;
      if (progress != NULL)
        progress (done_before + done + n, total, progress_data);
    }
  return TRUE;
}

gboolean
qs_chosen_data_read (QsDataset        *scored,
                     gsize             first,
                     gsize             count,
                     float            *buffer,
                     const atomic_int *cancel,
                     GError          **error)
{
  g_return_val_if_fail (scored != NULL && buffer != NULL, FALSE);

  return read_images (scored, first, count, buffer, cancel, NULL, NULL, 0, 0, error);
}

/* A set of images [@first, @first + @count) of @set, decoded (transfer full). */
static QsDataset *
decode_copy (QsDataset            *set,
             gsize                 first,
             gsize                 count,
             const atomic_int     *cancel,
             QsEngineProgressFunc  progress,
             gpointer              progress_data,
             gsize                 done_before,
             gsize                 total,
             GError              **error)
{
  const QsEngineDataset *view = qs_dataset_get_view (set);
  const int32_t *labels = qs_dataset_get_labels (set);
  gsize values = (gsize) view->height * view->width * view->channels;
  g_autofree float *images = NULL;

  if (count == 0 || count > G_MAXSIZE / sizeof (float) / values
      || (images = g_try_new (float, count * values)) == NULL)
    {
      g_set_error (error, QS_ERROR, QS_ERROR_TOO_LARGE, "%s: out of memory for %" G_GSIZE_FORMAT " images",
                   qs_dataset_get_source (set), count);
      return NULL;
    }
  if (!read_images (set, first, count, images, cancel, progress, progress_data, done_before, total, error))
    return NULL;
  return qs_dataset_new_take (g_steal_pointer (&images),
                              labels != NULL ? g_memdup2 (labels + first, count * sizeof (int32_t)) : NULL,
                              count, view->height, view->width, view->channels, qs_dataset_get_source (set));
}

gboolean
qs_chosen_data_load (QsChosenData          *data,
                     const char            *path,
                     const QsEngineModel   *model,
                     const char            *model_config,
                     guint64                keep_bytes,
                     QsChosenDataOverflow   overflow,
                     gsize                  limit,
                     const atomic_int      *cancel,
                     QsEngineProgressFunc   progress,
                     gpointer               progress_data,
                     GError               **error)
{
  g_autoptr(QsDataset) set = NULL;
  QsEngineDataset scored, calibration;
  gsize total, calibration_first, image_bytes, fits, kept;
  int h, w, c;

  g_return_val_if_fail (data != NULL && path != NULL && model != NULL, FALSE);

  qs_engine_model_get_input_shape (model, &h, &w, &c);
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    set = qs_dataset_open_image_folder_streamed (path, h, w, c,
                                                 qs_preprocess_resolve (QS_PREPROCESS_AUTO, model_config), 0, error);
  else
    set = qs_dataset_load_for_input (path, h, w, c, qs_engine_model_get_input_channels_first (model), error);
  if (set == NULL || !qs_dataset_check_model (set, model, TRUE, error))
    return FALSE;

  /* The split of a set loaded whole, as views into it. */
  qs_score_work_split_chosen (qs_dataset_get_view (set), &scored, &calibration);
  data->scored_count = limit > 0 ? MIN (limit, scored.count) : scored.count;
  if (!qs_dataset_is_streamed (set))
    {
      data->scored = qs_dataset_ref (set);
      data->calibration = g_steal_pointer (&set);
      data->calibration_view = calibration;
      return TRUE;
    }

  /* A folder: the calibration slice decoded, and the scored images too
   * when they fit in @keep_bytes. */
  total = qs_dataset_get_count (set);
  calibration_first = calibration.count < total ? total - calibration.count : 0;
  image_bytes = (gsize) h * w * c * sizeof (float);
  if (overflow == QS_CHOSEN_DATA_TRUNCATE)
    keep_bytes -= MIN (keep_bytes, (guint64) calibration.count * image_bytes);
  fits = (gsize) MIN (keep_bytes / image_bytes, G_MAXSIZE);
  kept = data->scored_count <= fits || overflow == QS_CHOSEN_DATA_TRUNCATE ? MIN (data->scored_count, MAX (fits, 1)) : 0;
  data->calibration = decode_copy (set, calibration_first, calibration.count, cancel, progress, progress_data,
                                   0, calibration.count + kept, error);
  if (data->calibration == NULL)
    return FALSE;
  data->calibration_view = *qs_dataset_get_view (data->calibration);
  if (kept == 0)
    {
      data->scored = g_steal_pointer (&set);
      return TRUE;
    }
  data->scored = decode_copy (set, 0, kept, cancel, progress, progress_data, calibration.count,
                              calibration.count + kept, error);
  data->scored_count = kept;
  return data->scored != NULL;
}

void
qs_chosen_data_clear (QsChosenData *data)
{
  g_clear_pointer (&data->scored, qs_dataset_unref);
  g_clear_pointer (&data->calibration, qs_dataset_unref);
  memset (data, 0, sizeof *data);
}

gboolean
qs_score_work_open (QsScoreWork       *work,
                    QsWeightFile      *file,
                    const QsSchemeSet *schemes,
                    const char        *data_path,
                    guint              limit,
                    const atomic_int  *cancel,
                    GError           **error)
{
  QsScoreInput input = { 0 };
  QsEngineDataset scored;

  if ((work->model = qs_keras_model_load (file, error)) == NULL)
    return FALSE;
  if (data_path != NULL)
    {
      /* The searches score hundreds of schemes on the same images: they
       * stay decoded, as many as the memory budget holds beside the
       * calibration slice. */
      guint64 budget = qs_memory_budget_default ();
      QsChosenData *chosen = &work->chosen;

      if (!qs_chosen_data_load (chosen, data_path, work->model, qs_weight_file_get_model_config (file),
                                budget, QS_CHOSEN_DATA_TRUNCATE, limit, cancel, NULL, NULL, error))
        return FALSE;
      /* The searches rank schemes by accuracy, which needs labels; the
       * engine's refusal ("the scored images have no labels") would not
       * say what to do. */
      if (!qs_dataset_has_labels (chosen->scored))
        {
          g_autofree char *display = g_filename_display_name (data_path);

          g_set_error (error, QS_ERROR, QS_ERROR_INVALID,
                       _("%s has no labels: searches rank schemes by accuracy, so they need labeled images "
                         "(an image folder with one subfolder per class, or a data file with labels)"), display);
          return FALSE;
        }
      work->test = qs_dataset_ref (chosen->scored);
      work->calibration = qs_dataset_ref (chosen->calibration);
      work->calibration_view = chosen->calibration_view;
      scored = *qs_dataset_get_view (work->test);
      scored.count = chosen->scored_count;
    }
  else if ((work->test = qs_dataset_load_bundled_test (error)) == NULL
           || (work->calibration = qs_dataset_load_bundled_calibration (error)) == NULL)
    return FALSE;
  else
    {
      scored = *qs_dataset_get_view (work->test);
      work->calibration_view = *qs_dataset_get_view (work->calibration);
      work->calibration_view.count = MIN (QS_DATASET_DEFAULT_CALIBRATION_IMAGES, work->calibration_view.count);
    }
  input.file = file;
  input.model = work->model;
  input.calibration = &work->calibration_view;
  input.calibration_count = work->calibration_view.count;
  input.data = qs_dataset_get_view (work->test);
  input.count = limit > 0 ? MIN (limit, scored.count) : scored.count;
  qs_activation_scheme_init_default (&input.activations);
  input.cancel = cancel;
  work->session = qs_score_session_new (&input, schemes, error);
  return work->session != NULL;
}

void
qs_score_work_clear (QsScoreWork *work)
{
  g_clear_pointer (&work->session, qs_score_session_free);
  g_clear_pointer (&work->model, qs_engine_model_free);
  g_clear_pointer (&work->test, qs_dataset_unref);
  g_clear_pointer (&work->calibration, qs_dataset_unref);
  qs_chosen_data_clear (&work->chosen);
}

static QsScoreUpdate *
score_update_ref (QsScoreUpdate *update)
{
  g_atomic_ref_count_inc (&update->ref_count);
  return update;
}

static void
score_update_unref (QsScoreUpdate *update)
{
  if (!g_atomic_ref_count_dec (&update->ref_count))
    return;
  if (update->payload != NULL && update->payload_free != NULL)
    update->payload_free (update->payload);
  g_free (update);
}

G_DEFINE_BOXED_TYPE (QsScoreUpdate, qs_score_update, score_update_ref, score_update_unref)

QsScoreUpdate *
qs_score_update_new (double          fraction,
                     guint           images,
                     gpointer        payload,
                     GDestroyNotify  payload_free)
{
  QsScoreUpdate *update = g_new0 (QsScoreUpdate, 1);

  g_atomic_ref_count_init (&update->ref_count);
  update->fraction = fraction;
  update->images = images;
  update->payload = payload;
  update->payload_free = payload_free;
  return update;
}

guint64
qs_score_work_key (const char        *what,
                   QsWeightFile      *file,
                   const QsSchemeSet *schemes,
                   const char        *data_path,
                   guint              limit)
{
  g_autofree char *json = qs_scheme_set_to_data (schemes, NULL);
  guint64 key = qs_job_key_add_string (0, what);

  key = qs_job_key_add_string (key, data_path != NULL ? data_path : "");
  /* The file by address, as the accuracy job keys its document: the
   * window clears the cache when another file opens. */
  key = qs_job_key_add_uint64 (key, (guint64) (guintptr) file);
  key = qs_job_key_add_uint64 (key, limit);
  return qs_job_key_add_string (key, json);
}

void
qs_score_work_post_progress (guint    done,
                             guint    total,
                             gpointer context)
{
  qs_job_context_post_partial (context, qs_score_update_new (total > 0 ? done / (double) total : 0, 0, NULL, NULL));
}

void
qs_score_work_raise_flag_cb (GCancellable *cancellable,
                             gpointer      flag)
{
  atomic_store ((atomic_int *) flag, 1);
}
