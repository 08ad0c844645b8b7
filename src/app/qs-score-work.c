/* qs-score-work.c: what the app's search windows set up in their worker: the model, the bundled images and a score session.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "app/qs-score-work.h"

#include "model/qs-keras-model.h"

/* As `eval` calibrates on the bundled set. */
#define CALIBRATION_IMAGES 1000

gboolean
qs_score_work_open (QsScoreWork       *work,
                    QsWeightFile      *file,
                    const QsSchemeSet *schemes,
                    guint              limit,
                    const atomic_int  *cancel,
                    GError           **error)
{
  QsScoreInput input = { 0 };
  gsize count;

  if ((work->model = qs_keras_model_load (file, error)) == NULL
      || (work->test = qs_dataset_load_bundled_test (error)) == NULL
      || (work->calibration = qs_dataset_load_bundled_calibration (error)) == NULL)
    return FALSE;
  count = qs_dataset_get_count (work->test);
  input.file = file;
  input.model = work->model;
  input.calibration = qs_dataset_get_view (work->calibration);
  input.calibration_count = MIN (CALIBRATION_IMAGES, qs_dataset_get_count (work->calibration));
  input.data = qs_dataset_get_view (work->test);
  input.count = limit > 0 ? MIN (limit, count) : count;
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
