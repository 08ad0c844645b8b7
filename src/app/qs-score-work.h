/* qs-score-work.h: what the app's search windows set up in their worker: the model, the bundled images and a score session.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stdatomic.h>

#include "engine/qs-engine.h"
#include "model/qs-dataset.h"
#include "model/qs-sensitivity.h"

G_BEGIN_DECLS

typedef struct {
  QsEngineModel  *model;
  QsDataset      *test;
  QsDataset      *calibration;
  QsScoreSession *session;
} QsScoreWork;

/* Loads @file's model and the bundled test set (its first @limit images;
 * 0: all) and calibration slice, and calibrates under @schemes; for a
 * worker thread. FALSE with @error; clear @work either way. */
gboolean qs_score_work_open  (QsScoreWork       *work,
                              QsWeightFile      *file,
                              const QsSchemeSet *schemes,
                              guint              limit,
                              const atomic_int  *cancel,
                              GError           **error);
void     qs_score_work_clear (QsScoreWork       *work);

G_END_DECLS
