/* qs-channel-range-view.h: per output channel, the data range and the chosen clip range.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

#include "app/qs-chart-view.h"
#include "model/qs-tensor-report.h"

G_BEGIN_DECLS

#define QS_TYPE_CHANNEL_RANGE_VIEW (qs_channel_range_view_get_type ())
G_DECLARE_FINAL_TYPE (QsChannelRangeView, qs_channel_range_view, QS, CHANNEL_RANGE_VIEW, QsChartView)

GtkWidget      *qs_channel_range_view_new        (void);

/* Shows @report (the view takes a reference); NULL, or a per-tensor
 * report, shows a placeholder. */
void            qs_channel_range_view_set_report (QsChannelRangeView *self,
                                                  QsTensorReport     *report);
/* (transfer none) (nullable) */
QsTensorReport *qs_channel_range_view_get_report (QsChannelRangeView *self);

/* The selected channel, -1 for none; clicks and the arrow keys change it. */
void            qs_channel_range_view_set_channel (QsChannelRangeView *self,
                                                   int                 channel);
int             qs_channel_range_view_get_channel (QsChannelRangeView *self);

/* The chart on the window background, rendered with Cairo (transfer full). */
GdkTexture     *qs_channel_range_view_render     (QsChannelRangeView *self,
                                                  int                 width,
                                                  int                 height);

/* Writes the chart to @path (PNG, SVG or PDF by its extension) in the
 * paper style, with the tensor and scheme as title. */
gboolean        qs_channel_range_view_export     (QsChannelRangeView *self,
                                                  const char         *path,
                                                  int                 width,
                                                  int                 height,
                                                  GError            **error);

G_END_DECLS
