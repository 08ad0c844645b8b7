/* qs-block-inspector.h: per-block scales, scale rounding, the worst blocks and the block-size sweep.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "app/qs-document.h"
#include "app/qs-job-service.h"
#include "model/qs-tensor-report.h"

G_BEGIN_DECLS

#define QS_TYPE_BLOCK_INSPECTOR (qs_block_inspector_get_type ())
G_DECLARE_FINAL_TYPE (QsBlockInspector, qs_block_inspector, QS, BLOCK_INSPECTOR, GtkBox)

/* The group sizes the sweep tries, as `quantscope-cli plot --kind sweep` does. */
#define QS_BLOCK_INSPECTOR_SWEEP_SIZES 5

GtkWidget *qs_block_inspector_new        (void);

/* Shows @report (nullable; a report that is not blockwise shows why there
 * is nothing to inspect) and starts the block-size sweep of its tensor in
 * @document off the main thread, superseding a sweep still running.
 * @folder (nullable) is where export dialogs start. */
void       qs_block_inspector_set_report (QsBlockInspector *self,
                                          QsTensorReport   *report,
                                          QsDocument       *document,
                                          GFile            *folder);

/* The service that runs the sweep (the window's); without one there is
 * no sweep. */
void       qs_block_inspector_set_job_service (QsBlockInspector *self,
                                               QsJobService     *jobs);

/* The list of the worst blocks, largest MSE first (for tests). */
GtkListBox *qs_block_inspector_get_worst_list (QsBlockInspector *self);
/* The sweep's points once computed, else NULL; @n_points gets their count. */
const QsBlockSweepPoint *qs_block_inspector_get_sweep (QsBlockInspector *self,
                                                       gsize            *n_points);

/* Writes the scale histogram (@sweep FALSE) or the sweep chart to @path
 * (.png, .svg or .pdf) in the paper style. */
gboolean   qs_block_inspector_export     (QsBlockInspector *self,
                                          gboolean          sweep,
                                          const char       *path,
                                          int               width,
                                          int               height,
                                          GError          **error);

G_END_DECLS
