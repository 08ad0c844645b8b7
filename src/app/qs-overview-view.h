/* qs-overview-view.h: the model at a glance: every tensor in a sortable table, worst first, and per-layer SQNR bars.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The table is qs-overview's, the one `quantscope-cli report` prints,
 * computed in the job service (cancellable, never on the main loop) for
 * the document's scheme set and computed again when it changes.
 * The chart shows per-layer weight SQNR and, where the engine runs the
 * model, per-layer output SQNR from the accuracy job's quantized model.
 * Activating a row emits "tensor-activated" with the tensor's path.
 */
#pragma once

#include <adwaita.h>

#include "app/qs-accuracy-job.h"
#include "app/qs-document.h"
#include "app/qs-job-service.h"
#include "app/qs-series-chart.h"
#include "model/qs-overview.h"

G_BEGIN_DECLS

/* The job service target of the overview. */
#define QS_OVERVIEW_VIEW_TARGET "overview"
/* ... and of its per-layer figures from the engine. */
#define QS_OVERVIEW_VIEW_LAYERS_TARGET "overview-layers"

#define QS_TYPE_OVERVIEW_VIEW (qs_overview_view_get_type ())
G_DECLARE_FINAL_TYPE (QsOverviewView, qs_overview_view, QS, OVERVIEW_VIEW, AdwWindow)

QsOverviewView   *qs_overview_view_new          (GtkWindow      *parent,
                                                 QsJobService   *jobs,
                                                 QsAccuracyJob  *accuracy,
                                                 QsDocument     *document);
/* The overview on show (transfer none), NULL until computed. */
/* Shows @document's tensors from now on. */
void              qs_overview_view_set_document (QsOverviewView *self,
                                                 QsDocument     *document);
QsDocument       *qs_overview_view_get_document (QsOverviewView *self);
const QsOverview *qs_overview_view_get_overview (QsOverviewView *self);
/* The table (transfer none): its model lists the rows as sorted. */
GtkColumnView    *qs_overview_view_get_table    (QsOverviewView *self);
/* The tensor path of the table's row @position as sorted (transfer none). */
const char       *qs_overview_view_get_row_path (QsOverviewView *self,
                                                 guint           position);
/* (transfer none) */
QsSeriesChart    *qs_overview_view_get_chart    (QsOverviewView *self);
/* What activating row @position runs. */
void              qs_overview_view_activate_row (QsOverviewView *self,
                                                 guint           position);

G_END_DECLS
