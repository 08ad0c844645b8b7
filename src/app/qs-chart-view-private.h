/* qs-chart-view-private.h: hooks that let tests drive QsChartView's real input paths.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "app/qs-chart-view.h"

G_BEGIN_DECLS

/* What a scroll of @dy notches at pixel @x with modifiers @state runs;
 * TRUE when the chart took it (a zoom). */
gboolean _qs_chart_view_scroll       (QsChartView     *self,
                                      double           x,
                                      double           dy,
                                      GdkModifierType  state);
/* What a drag with @button and @state from @x by @dx runs; TRUE when it
 * panned. */
gboolean _qs_chart_view_drag         (QsChartView     *self,
                                      guint            button,
                                      GdkModifierType  state,
                                      double           x,
                                      double           dx);
/* What @n_press presses of the primary button run. */
void     _qs_chart_view_press        (QsChartView     *self,
                                      int              n_press);
/* What a key press on the focused chart runs. */
gboolean _qs_chart_view_key          (QsChartView     *self,
                                      guint            keyval,
                                      GdkModifierType  state);

G_END_DECLS
