/* qs-score-work.h: what the app's search windows set up in their worker: the model, the bundled images and a score session.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stdatomic.h>

#include <gio/gio.h>

#include "app/qs-job-service.h"
#include "engine/qs-engine.h"
#include "model/qs-dataset.h"
#include "model/qs-sensitivity.h"

G_BEGIN_DECLS

typedef struct {
  QsEngineModel  *model;
  QsDataset      *test;
  QsDataset      *calibration;
  QsEngineDataset calibration_view;  /* the session borrows it */
  QsScoreSession *session;
} QsScoreWork;

/* Loads @file's model and its data: @data_path (the data chosen for the
 * model: an image folder or a data file, split as qs_score_work_split_chosen says) or,
 * when NULL, the bundled test set and calibration slice; scores the first
 * @limit images (0: all) and calibrates under @schemes; for a worker
 * thread. FALSE with @error; clear @work either way. */
gboolean qs_score_work_open  (QsScoreWork       *work,
                              QsWeightFile      *file,
                              const QsSchemeSet *schemes,
                              const char        *data_path,
                              guint              limit,
                              const atomic_int  *cancel,
                              GError           **error);
void     qs_score_work_clear (QsScoreWork       *work);

/* Splits the data chosen for a model as `eval --data` splits a set given
 * without a calibration file, so the app and the CLI score the same
 * images: the last tenth (at most 1,000 images) calibrates and the others
 * are scored, none of them calibrating; a set of fewer than ten images
 * both calibrates and is scored. @scored and @calibration are views
 * into @data. */
void     qs_score_work_split_chosen (const QsEngineDataset *data,
                                     QsEngineDataset       *scored,
                                     QsEngineDataset       *calibration);

/* What a search window's job delivers through the job service: partial
 * outcomes carry the progress so far (and an estimate, when @payload is
 * set), the final one the result. Immutable once posted; copies share it. */
typedef struct {
  gatomicrefcount ref_count;
  double          fraction;       /* of the work done */
  guint           images;         /* the images @payload was measured on */
  gpointer        payload;        /* (nullable): the window's own result */
  GDestroyNotify  payload_free;
} QsScoreUpdate;

#define QS_TYPE_SCORE_UPDATE (qs_score_update_get_type ())
GType          qs_score_update_get_type (void) G_GNUC_CONST;
/* (transfer full): takes @payload. */
QsScoreUpdate *qs_score_update_new      (double          fraction,
                                         guint           images,
                                         gpointer        payload,
                                         GDestroyNotify  payload_free);

/* The job key of a search named @what over @file's model under @schemes
 * on @limit images of @data_path (NULL: the bundled set): the set's JSON
 * form, never its 32-bit hash, so a cached result never answers for
 * another set. */
guint64  qs_score_work_key   (const char        *what,
                              QsWeightFile      *file,
                              const QsSchemeSet *schemes,
                              const char        *data_path,
                              guint              limit);

/* A QsSearchProgressFunc posting the progress as a partial outcome of
 * the job whose QsJobContext is @context. */
void     qs_score_work_post_progress (guint    done,
                                      guint    total,
                                      gpointer context);

/* Raises the engine's cancel flag when the job's cancellable fires:
 * connect with the flag as data. */
void     qs_score_work_raise_flag_cb (GCancellable *cancellable,
                                      gpointer      flag);

G_END_DECLS
