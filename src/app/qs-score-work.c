/* qs-score-work.c: what the app's search windows set up in their worker: the model, the bundled images and a score session.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "app/qs-score-work.h"

#include "model/qs-image-folder.h"
#include "model/qs-keras-model.h"
#include "model/qs-scheme-file.h"

/* As `eval` calibrates: on the bundled slice's first images, or on the
 * last tenth of a chosen set, up to this many. */

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
      int h, w, c;

      /* The data chosen for the model, split as its accuracy and `eval` split it. */
      qs_engine_model_get_input_shape (work->model, &h, &w, &c);
      work->test = qs_dataset_load_for_model (data_path, h, w, c,
                                              qs_preprocess_resolve (QS_PREPROCESS_AUTO,
                                                                     qs_weight_file_get_model_config (file)),
                                              0, error);
      if (work->test == NULL)
        return FALSE;
      work->calibration = qs_dataset_ref (work->test);
      qs_score_work_split_chosen (qs_dataset_get_view (work->test), &scored, &work->calibration_view);
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
