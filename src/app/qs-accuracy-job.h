/* qs-accuracy-job.h: live accuracy of the open model under its schemes, by integer inference.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib-object.h>

#include "app/qs-document.h"
#include "app/qs-job-service.h"

G_BEGIN_DECLS

#define QS_TYPE_ACCURACY_JOB (qs_accuracy_job_get_type ())
G_DECLARE_FINAL_TYPE (QsAccuracyJob, qs_accuracy_job, QS, ACCURACY_JOB, GObject)

/* The target of accuracy requests in the job service. */
#define QS_ACCURACY_JOB_TARGET "accuracy"

/* What an evaluation is doing before its first figure. */
typedef enum {
  QS_ACCURACY_STAGE_SCORED,       /* a figure (or why there is none) */
  QS_ACCURACY_STAGE_LOADING,      /* reading the model and its images, on first use */
  QS_ACCURACY_STAGE_REFERENCE,    /* the float32 model's predictions, on first use */
  QS_ACCURACY_STAGE_CALIBRATING,  /* activation ranges, when the activation scheme is new */
  QS_ACCURACY_STAGE_EVALUATING,   /* integer inference of the first images */
} QsAccuracyStage;

/* An evaluation's outcome: percentages on the first @images of @total
 * test images (an estimate on the first 1,000 comes as a partial outcome,
 * then all of them), or why there is none: the file has no model the
 * engine runs (weights only, an unsupported layer), or no test data. */
typedef struct {
  double  fp32_top1;
  double  quant_top1;
  double  agreement;
  guint   images;
  guint   total;
  char   *kernel;
  char   *unavailable;   /* the reason, or NULL */
  /* The engine's weighted layers under the set, as `eval --json` lists
   * them: name, weight and output SQNR (dB; output SQNR over the
   * calibration images). */
  guint   n_layers;
  char  **layer_names;         /* n_layers + 1, NULL-terminated */
  double *layer_weight_sqnr;   /* n_layers */
  double *layer_output_sqnr;   /* n_layers */
  /* A partial outcome may carry only progress: @stage is then not
   * SCORED, and @stage_done of @stage_total images are done (0 of 0 when
   * the stage has no count); the fields above stay empty. */
  QsAccuracyStage stage;
  guint           stage_done;
  guint           stage_total;
} QsAccuracyResult;

/* Whether @result carries only progress, no figure. */
gboolean qs_accuracy_result_is_progress (const QsAccuracyResult *result);

#define QS_TYPE_ACCURACY_RESULT (qs_accuracy_result_get_type ())
GType qs_accuracy_result_get_type (void) G_GNUC_CONST;

/* Holds what a document's model needs (built once, in a worker, on the
 * first request for that document); schedules nothing itself. */
QsAccuracyJob *qs_accuracy_job_new     (void);
/* Requests the accuracy of @document's model under its current schemes
 * from @jobs; @callback gets QsAccuracyResult outcomes. */
void           qs_accuracy_job_request (QsAccuracyJob *self,
                                        QsJobService  *jobs,
                                        QsDocument    *document,
                                        QsJobCallback  callback,
                                        gpointer       user_data);
/* The same for @schemes instead of the document's own, on @target (each
 * side of a comparison has its own); results are cached by set, so the
 * same set's accuracy is shared with the main view. */
void           qs_accuracy_job_request_schemes (QsAccuracyJob *self,
                                                QsJobService  *jobs,
                                                QsDocument    *document,
                                                QsSchemeSet   *schemes,
                                                const char    *target,
                                                QsJobCallback  callback,
                                                gpointer       user_data);
/* The data the next requests score: an image folder (resized to the
 * model's input) or a data file; NULL or "" for the bundled test set. */
void           qs_accuracy_job_set_data (QsAccuracyJob *self,
                                         const char    *path);

/* For tests: what a chosen image folder's scored images may take kept
 * decoded, and the window they are streamed through past that
 * (QS_CHOSEN_DATA_KEEP_BYTES and QS_CHOSEN_DATA_WINDOW_BYTES otherwise). */
void           _qs_accuracy_job_set_memory (QsAccuracyJob *self,
                                            guint64        keep_bytes,
                                            guint64        window_bytes);

G_END_DECLS
