/* qs-chart-axis.h: one axis of a chart: its data range, the window on view, and value <-> 0..1.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Axes are data objects, not widgets (Sysprof's shape): a chart asks an
 * axis where a value lands as a fraction of the plot, and series cache
 * their values normalised against it until its range changes. An axis
 * shows a window of its range, the whole range unless zoomed.
 */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define QS_TYPE_CHART_AXIS (qs_chart_axis_get_type ())
G_DECLARE_FINAL_TYPE (QsChartAxis, qs_chart_axis, QS, CHART_AXIS, GObject)

/* Signal "changed": the range, the window or the scale changed; anything
 * normalised against the axis is stale. */

QsChartAxis *qs_chart_axis_new          (void);

/* The data range [@lo, @hi] (@hi > @lo). A zoomed window is kept where it
 * still fits the new range, else the axis shows the whole range again. */
void         qs_chart_axis_set_range    (QsChartAxis *self,
                                         double       lo,
                                         double       hi);
void         qs_chart_axis_get_range    (QsChartAxis *self,
                                         double      *lo,
                                         double      *hi);
/* log1p scale (for counts from 0): 0 stays at 0, decades get equal room. */
void         qs_chart_axis_set_log      (QsChartAxis *self,
                                         gboolean     log_scale);
gboolean     qs_chart_axis_get_log      (QsChartAxis *self);

/* The window on view, within the range. */
void         qs_chart_axis_get_view     (QsChartAxis *self,
                                         double      *lo,
                                         double      *hi);
/* Where @value lands in the window: 0 at its low end, 1 at its high end
 * (outside for values outside it). */
double       qs_chart_axis_normalize    (QsChartAxis *self,
                                         double       value);
double       qs_chart_axis_denormalize  (QsChartAxis *self,
                                         double       fraction);
/* A number that changes whenever normalize() would answer differently. */
guint        qs_chart_axis_get_serial   (QsChartAxis *self);

/* Zooms the window by @factor (> 1 in, < 1 out) keeping the value at
 * @anchor (a fraction of the window) in place; never beyond the range nor
 * narrower than 1/10000 of it. Linear axes only. */
void         qs_chart_axis_zoom         (QsChartAxis *self,
                                         double       anchor,
                                         double       factor);
/* Moves the window by @fraction of its width, within the range. */
void         qs_chart_axis_pan          (QsChartAxis *self,
                                         double       fraction);
void         qs_chart_axis_reset_view   (QsChartAxis *self);
gboolean     qs_chart_axis_is_zoomed    (QsChartAxis *self);

G_END_DECLS
