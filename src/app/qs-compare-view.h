/* qs-compare-view.h: two scheme sets side by side: one tensor's histograms and metrics, and the model's size and accuracy.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Side A is a pinned set (the document's set when pinned, or a scheme
 * file); side B is another file's set, or follows the document, so the
 * user keeps editing B. Every number comes from the job service: the
 * tensor reports `stats` prints and the accuracy `eval --scheme-file`
 * prints, each cached by its set.
 */
#pragma once

#include <adwaita.h>

#include "app/qs-accuracy-job.h"
#include "app/qs-document.h"
#include "app/qs-job-service.h"
#include "app/qs-series-chart.h"
#include "model/qs-tensor-report.h"

G_BEGIN_DECLS

typedef enum {
  QS_COMPARE_SIDE_A,
  QS_COMPARE_SIDE_B,
} QsCompareSide;

/* The metric rows of the table, in order. */
typedef enum {
  QS_COMPARE_ROW_SQNR,
  QS_COMPARE_ROW_MSE,
  QS_COMPARE_ROW_MAX_ERROR,
  QS_COMPARE_ROW_CLIPPED,
  QS_COMPARE_ROW_ZERO_EXACT,
  QS_COMPARE_ROW_SIZE,
  QS_COMPARE_ROW_BITS_PER_WEIGHT,
  QS_COMPARE_ROW_SCALE,
  QS_COMPARE_ROW_MODEL_SIZE,
  QS_COMPARE_ROW_ACCURACY,
  QS_COMPARE_N_ROWS,
} QsCompareRow;

/* The table's columns after the metric's name. */
typedef enum {
  QS_COMPARE_COLUMN_A,
  QS_COMPARE_COLUMN_B,
  QS_COMPARE_COLUMN_DIFFERENCE,
  QS_COMPARE_COLUMN_BETTER,
  QS_COMPARE_N_COLUMNS,
} QsCompareColumn;

#define QS_TYPE_COMPARE_VIEW (qs_compare_view_get_type ())
G_DECLARE_FINAL_TYPE (QsCompareView, qs_compare_view, QS, COMPARE_VIEW, AdwWindow)

QsCompareView  *qs_compare_view_new          (GtkWindow     *parent,
                                              QsJobService  *jobs,
                                              QsAccuracyJob *accuracy,
                                              QsDocument    *document);
/* Side @side compares @schemes, named @name; @schemes NULL makes it
 * follow the document's set (B while the user edits). */
void            qs_compare_view_set_side     (QsCompareView *self,
                                              QsCompareSide  side,
                                              QsSchemeSet   *schemes,
                                              const char    *name);
/* The tensor compared (the window's selection). */
/* Compares on @document from now on: both sides' sets apply to it (a
 * side that follows the document follows the new one); no tensor is
 * selected until set_tensor(). */
void            qs_compare_view_set_document (QsCompareView *self,
                                              QsDocument    *document);
QsDocument     *qs_compare_view_get_document (QsCompareView *self);
void            qs_compare_view_set_tensor   (QsCompareView *self,
                                              const char    *path);
/* (transfer none) (nullable): NULL until computed, or when @side keeps the tensor float32. */
QsTensorReport *qs_compare_view_get_report   (QsCompareView *self,
                                              QsCompareSide  side);
const QsAccuracyResult *qs_compare_view_get_accuracy (QsCompareView *self,
                                                      QsCompareSide  side);
/* The set @side compares now (transfer none). */
QsSchemeSet    *qs_compare_view_get_schemes  (QsCompareView *self,
                                              QsCompareSide  side);
/* Both reports and both final accuracies are in. */
gboolean        qs_compare_view_is_complete  (QsCompareView *self);
/* The table's text at @row, @column (transfer none). */
const char     *qs_compare_view_get_cell     (QsCompareView  *self,
                                              QsCompareRow    row,
                                              QsCompareColumn column);
/* (transfer none) */
QsSeriesChart  *qs_compare_view_get_chart    (QsCompareView *self);

G_END_DECLS
