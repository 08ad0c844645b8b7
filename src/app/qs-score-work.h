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

/* The memory the app gives the images of a chosen image folder (a
 * folder is decoded as it is used, never whole at opening: 1,000 images
 * of 224×224×3 are 600 MB as float32). The calibration slice (the
 * folder's last tenth, at most 1,000 images) is decoded once and kept:
 * every calibration and output SQNR runs it again. The scored images are
 * kept too when they fit in QS_CHOSEN_DATA_KEEP_BYTES; past that the
 * accuracy job decodes them again at each run, QS_CHOSEN_DATA_WINDOW_BYTES
 * at a time, and the search windows (which score hundreds of schemes on
 * the same images) score the first images that fit in the memory budget
 * beside the calibration slice. A data file (HDF5, idx) is read whole,
 * as `eval` reads it. */
#define QS_CHOSEN_DATA_KEEP_BYTES   (G_GUINT64_CONSTANT (256) << 20)
#define QS_CHOSEN_DATA_WINDOW_BYTES (G_GUINT64_CONSTANT (64) << 20)

/* The data chosen for a model, split as qs_score_work_split_chosen()
 * says: images [0, @scored_count) of @scored are scored, and the images
 * of @calibration_view calibrate (a view into @calibration). @scored is
 * streamed (qs_dataset_is_streamed(): read it with
 * qs_dataset_read_range()) when its images were too many to keep. */
typedef struct {
  QsDataset      *scored;
  gsize           scored_count;
  QsDataset      *calibration;
  QsEngineDataset calibration_view;
} QsChosenData;

/* How to keep the scored images of a folder that do not fit in the
 * memory given them. */
typedef enum {
  QS_CHOSEN_DATA_STREAM,    /* keep none; the caller reads windows */
  QS_CHOSEN_DATA_TRUNCATE,  /* keep the first images that fit, score those */
} QsChosenDataOverflow;

/* Opens @path (an image folder or a data file) for @model (whose config
 * is @model_config), split as `eval --data` splits it; scores at most
 * @limit images (0: all). A folder's scored images are decoded and kept
 * when they fit in @keep_bytes (with QS_CHOSEN_DATA_TRUNCATE, the
 * calibration slice's share of it included), else as @overflow says. Decoding reports @progress (images, nullable)
 * and stops with G_IO_ERROR_CANCELLED when @cancel rises. FALSE with
 * @error; clear @data either way. For a worker thread. */
gboolean qs_chosen_data_load  (QsChosenData          *data,
                               const char            *path,
                               const QsEngineModel   *model,
                               const char            *model_config,
                               guint64                keep_bytes,
                               QsChosenDataOverflow   overflow,
                               gsize                  limit,
                               const atomic_int      *cancel,
                               QsEngineProgressFunc   progress,
                               gpointer               progress_data,
                               GError               **error);
void     qs_chosen_data_clear (QsChosenData          *data);

/* Images [@first, @first + @count) of @scored, read into @buffer (room
 * for @count images) in pieces, checking @cancel between them; FALSE
 * with @error (G_IO_ERROR_CANCELLED when cancelled). */
gboolean qs_chosen_data_read  (QsDataset             *scored,
                               gsize                  first,
                               gsize                  count,
                               float                 *buffer,
                               const atomic_int      *cancel,
                               GError               **error);

typedef struct {
  QsEngineModel  *model;
  QsDataset      *test;
  QsDataset      *calibration;
  QsEngineDataset calibration_view;  /* the session borrows it */
  QsChosenData    chosen;            /* the data chosen for the model, when there is */
  QsScoreSession *session;
} QsScoreWork;

/* Loads @file's model and its data: @data_path (the data chosen for the
 * model: an image folder or a data file, split as qs_score_work_split_chosen says) or,
 * when NULL, the bundled test set and calibration slice; scores the first
 * @limit images (0: all; of a large folder, those that fit in the memory
 * budget) and calibrates under @schemes; for a worker
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
