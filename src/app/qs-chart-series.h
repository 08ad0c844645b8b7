/* qs-chart-series.h: values over equal-width bins, with their positions normalised against two axes.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A data object (Sysprof's normalised series): a histogram's counts, or a
 * value per channel. The 0..1 positions of bin edges and values are
 * computed once per change of the axes, not per frame.
 */
#pragma once

#include "app/qs-chart-axis.h"

G_BEGIN_DECLS

#define QS_TYPE_CHART_SERIES (qs_chart_series_get_type ())
G_DECLARE_FINAL_TYPE (QsChartSeries, qs_chart_series, QS, CHART_SERIES, GObject)

/* A series over @x (its bins) whose values are measured on @y. */
QsChartSeries *qs_chart_series_new          (QsChartAxis   *x,
                                             QsChartAxis   *y);

/* @n values (copied), bin i covering [lo + i w, lo + (i + 1) w) with
 * w = (hi - lo) / n. */
void           qs_chart_series_set_bins     (QsChartSeries *self,
                                             double         lo,
                                             double         hi,
                                             guint          n,
                                             const double  *values);
void           qs_chart_series_clear        (QsChartSeries *self);
guint          qs_chart_series_get_n_bins   (QsChartSeries *self);
double         qs_chart_series_get_value    (QsChartSeries *self,
                                             guint          bin);
double         qs_chart_series_get_max      (QsChartSeries *self);
double         qs_chart_series_bin_edge     (QsChartSeries *self,
                                             guint          edge);
/* The bin holding @x_value, or -1 outside the series. */
int            qs_chart_series_bin_at       (QsChartSeries *self,
                                             double         x_value);

/* Normalised positions for the current axes (transfer none, valid until
 * an axis or the data changes): n + 1 edges on x, n values on y. */
const double  *qs_chart_series_get_x_edges  (QsChartSeries *self);
const double  *qs_chart_series_get_y_values (QsChartSeries *self);

G_END_DECLS
