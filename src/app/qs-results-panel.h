/* qs-results-panel.h: the results of the tensor on view (SQNR, errors, clipping, zero, size) and of the model (size, accuracy).
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "app/qs-accuracy-job.h"
#include "model/qs-tensor-report.h"

G_BEGIN_DECLS

#define QS_TYPE_RESULTS_PANEL (qs_results_panel_get_type ())
G_DECLARE_FINAL_TYPE (QsResultsPanel, qs_results_panel, QS, RESULTS_PANEL, AdwBin)

/* The rows, top to bottom. */
typedef enum {
  QS_RESULT_ACCURACY,
  QS_RESULT_SQNR,
  QS_RESULT_MODEL_SIZE,
  QS_RESULT_TENSOR_SIZE,
  QS_RESULT_BITS_PER_WEIGHT,
  QS_RESULT_ZERO,
  QS_RESULT_CLIPPED,
  QS_RESULT_LEVELS,
  QS_RESULT_MSE,
  QS_RESULT_COSINE,
  QS_RESULT_SCALE,
  QS_RESULT_CLIP_RANGE,
  QS_RESULT_N_ROWS
} QsResultRow;

GtkWidget    *qs_results_panel_new                  (void);

/* The tensor rows show @report; per-channel figures are those of
 * @channel. The model rows stay. */
void          qs_results_panel_set_report           (QsResultsPanel       *self,
                                                     const QsTensorReport *report,
                                                     int                   channel);
/* The tensor rows show "—", and the SQNR row @message when not NULL. */
void          qs_results_panel_clear                (QsResultsPanel       *self,
                                                     const char           *message);
/* The spinner beside the title: a result is on its way. */
void          qs_results_panel_set_busy             (QsResultsPanel       *self,
                                                     gboolean              busy);
gboolean      qs_results_panel_get_busy             (QsResultsPanel       *self);
void          qs_results_panel_set_model_size       (QsResultsPanel       *self,
                                                     guint64               fp32_bytes,
                                                     guint64               quant_bytes);

/* The accuracy row: a result (an estimate stays dimmed until final). */
void          qs_results_panel_set_accuracy         (QsResultsPanel         *self,
                                                     const QsAccuracyResult *result);
/* The figure on show belongs to an earlier model or scheme: dimmed, and
 * "Evaluating…" below it, until set_accuracy(). */
void          qs_results_panel_set_accuracy_pending (QsResultsPanel       *self);
/* An evaluation before its figure: what it does and how far
 * (qs_accuracy_result_is_progress (@progress)); set_accuracy() passes
 * progress here too. */
void          qs_results_panel_set_accuracy_progress (QsResultsPanel         *self,
                                                      const QsAccuracyResult *progress);
/* The accuracy row's progress: -1 when no evaluation runs, else the
 * fraction done (0 while the stage has no count). */
double        qs_results_panel_get_accuracy_progress (QsResultsPanel         *self);
/* No accuracy, and @reason why. */
void          qs_results_panel_set_accuracy_unavailable (QsResultsPanel   *self,
                                                         const char       *reason);
gboolean      qs_results_panel_get_accuracy_dimmed  (QsResultsPanel       *self);

/* What @row shows: its value (transfer none), its row (title, subtitle
 * and tooltip; transfer none), and whether the value is marked as a
 * warning (a range that clips most of a tensor, a zero that moves). */
const char   *qs_results_panel_get_value            (QsResultsPanel       *self,
                                                     QsResultRow           row);
AdwActionRow *qs_results_panel_get_row              (QsResultsPanel       *self,
                                                     QsResultRow           row);
gboolean      qs_results_panel_get_warning          (QsResultsPanel       *self,
                                                     QsResultRow           row);

G_END_DECLS
