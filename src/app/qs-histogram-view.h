/* qs-histogram-view.h: the histogram of one tensor, its clip range, levels and zero.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

#include "app/qs-chart-view.h"
#include "model/qs-tensor-report.h"

G_BEGIN_DECLS

#define QS_TYPE_HISTOGRAM_VIEW (qs_histogram_view_get_type ())
G_DECLARE_FINAL_TYPE (QsHistogramView, qs_histogram_view, QS, HISTOGRAM_VIEW, QsChartView)

/* A QsChartView: Ctrl+scroll or a pinch zooms the value axis, a middle or
 * Shift drag pans it, a double click or "0" shows everything again. */

GtkWidget      *qs_histogram_view_new                (void);

/* Shows @report (the view takes a reference); NULL shows a placeholder. */
void            qs_histogram_view_set_report         (QsHistogramView *self,
                                                      QsTensorReport  *report);
/* (transfer none) (nullable) */
QsTensorReport *qs_histogram_view_get_report         (QsHistogramView *self);

void            qs_histogram_view_set_log_scale      (QsHistogramView *self,
                                                      gboolean         log_scale);
gboolean        qs_histogram_view_get_log_scale      (QsHistogramView *self);
void            qs_histogram_view_set_show_quantized (QsHistogramView *self,
                                                      gboolean         show_quantized);
gboolean        qs_histogram_view_get_show_quantized (QsHistogramView *self);
/* The channel whose grid and clip range are drawn; -1 means the tensor
 * (channel 0 of a per-channel report). */
void            qs_histogram_view_set_channel        (QsHistogramView *self,
                                                      int              channel);
int             qs_histogram_view_get_channel        (QsHistogramView *self);

/* The clip range the handles show: the report's (widened to contain 0,
 * as the quantizer does) or the one being dragged. FALSE without a report. */
gboolean        qs_histogram_view_get_clip_range     (QsHistogramView *self,
                                                      double          *lo,
                                                      double          *hi);

/* The chart as the screen shows it, with the window background, rendered
 * with Cairo (no display needed) (transfer full). */
GdkTexture     *qs_histogram_view_render             (QsHistogramView *self,
                                                      int              width,
                                                      int              height);
/* Saves the chart as PNG, SVG or PDF (chosen by @path's extension) through
 * src/plot, in the paper style with the tensor and scheme as its title,
 * the shown channel and the log scale as on screen; written to a temporary
 * file and renamed into place. */
gboolean        qs_histogram_view_export             (QsHistogramView *self,
                                                      const char      *path,
                                                      int              width,
                                                      int              height,
                                                      GError         **error);

/* @report's scheme in the user's language, as the histogram's caption says
 * it: "4-bit symmetric per-channel", "mxfp4, groups of 32" (transfer full). */
char *qs_histogram_view_describe_scheme (const QsTensorReport *report);

G_END_DECLS
