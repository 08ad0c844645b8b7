/* qs-accuracy-job.h: live accuracy of the open model under its schemes, by integer inference.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib-object.h>

#include "app/qs-document.h"

G_BEGIN_DECLS

#define QS_TYPE_ACCURACY_JOB (qs_accuracy_job_get_type ())
G_DECLARE_FINAL_TYPE (QsAccuracyJob, qs_accuracy_job, QS, ACCURACY_JOB, GObject)

/* Signals, all on the main thread, only for the newest request:
 *   "updated" (double fp32_top1, double quant_top1, double agreement,
 *              guint images, guint total, const char *kernel): percentages
 *     on the first @images of @total test images; emitted on the first
 *     1,000 as an estimate, then on all of them; for data without labels
 *     fp32_top1 is NaN and quant_top1 the agreement with float32;
 *   "unavailable" (const char *reason): the file has no model the engine
 *     runs (weights only, an unsupported layer), or no test data. */
QsAccuracyJob *qs_accuracy_job_new     (void);
/* Evaluates @document's model under its current schemes, cancelling the
 * evaluation in flight (within a few milliseconds). */
void           qs_accuracy_job_request (QsAccuracyJob *self,
                                        QsDocument    *document);
void           qs_accuracy_job_cancel  (QsAccuracyJob *self);
/* The data the next requests score: an image folder (resized to the
 * model's input) or a data file; NULL or "" for the bundled test set. */
void           qs_accuracy_job_set_data (QsAccuracyJob *self,
                                         const char    *path);
gboolean       qs_accuracy_job_is_busy (QsAccuracyJob *self);

G_END_DECLS
