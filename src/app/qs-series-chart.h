/* qs-series-chart.h: a chart of a few labelled series over shared bins, with a legend (compare and overview).
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A QsChartView: each series is a QsChartSeries over the chart's x and y
 * axes, drawn as filled bars or as a step line, named in a legend; the
 * y axis spans every series (and 0). Bins may carry names (layers), which
 * the x axis and the tooltip show instead of values.
 */
#pragma once

#include "app/qs-chart-series.h"
#include "app/qs-chart-view.h"

G_BEGIN_DECLS

#define QS_TYPE_SERIES_CHART (qs_series_chart_get_type ())
G_DECLARE_FINAL_TYPE (QsSeriesChart, qs_series_chart, QS, SERIES_CHART, QsChartView)

typedef enum {
  QS_SERIES_STYLE_BARS,   /* filled, side by side with other bar series */
  QS_SERIES_STYLE_STEPS,  /* an outline over the bins */
} QsSeriesStyle;

/* Series colours, in the chart's palette. */
typedef enum {
  QS_SERIES_COLOR_FOREGROUND,
  QS_SERIES_COLOR_ACCENT,
  QS_SERIES_COLOR_WARNING,
} QsSeriesColor;

GtkWidget     *qs_series_chart_new          (void);

/* Appends a series of @n values over bins spanning [@lo, @hi]; returns
 * it (transfer none). Non-finite values are not drawn. */
QsChartSeries *qs_series_chart_add_series   (QsSeriesChart *self,
                                             const char    *label,
                                             QsSeriesStyle  style,
                                             QsSeriesColor  color,
                                             double         lo,
                                             double         hi,
                                             guint          n,
                                             const double  *values);
/* The y axis ends at @limit at the most (NaN: at the highest value), so
 * one series' spikes do not flatten the others; what is higher is cut at
 * the top of the plot. */
void           qs_series_chart_set_y_limit  (QsSeriesChart *self,
                                             double         limit);
void           qs_series_chart_clear        (QsSeriesChart *self);
guint          qs_series_chart_get_n_series (QsSeriesChart *self);
/* (transfer none) */
QsChartSeries *qs_series_chart_get_series   (QsSeriesChart *self,
                                             guint          index);
const char    *qs_series_chart_get_label    (QsSeriesChart *self,
                                             guint          index);
/* Names for the bins (NULL-terminated, copied; NULL for value bins). */
void           qs_series_chart_set_bin_names (QsSeriesChart      *self,
                                              const char * const *names);
/* The unit of the y values in tooltips ("dB"), and the export title. */
void           qs_series_chart_set_y_unit   (QsSeriesChart *self,
                                             const char    *unit);
void           qs_series_chart_set_title    (QsSeriesChart *self,
                                             const char    *title);
/* The bin under pixel @x, or -1. */
int            qs_series_chart_bin_at       (QsSeriesChart *self,
                                             double         x);

G_END_DECLS
