/* qs-histogram-view-private.h: hooks that let tests drive QsHistogramView's real code paths.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "app/qs-histogram-view.h"

G_BEGIN_DECLS

/* Maps between widget x coordinates and values, for the widget's current size. */
double      _qs_histogram_view_x_to_value   (QsHistogramView *self,
                                             double           x);
double      _qs_histogram_view_value_to_x   (QsHistogramView *self,
                                             double           value);

/* Runs what the drag gesture runs for a press at @from_x (on the handle
 * named by @upper), a move to @to_x and a release there. Returns FALSE
 * when no handle (or the other one) is at @from_x. */
gboolean    _qs_histogram_view_drag         (QsHistogramView *self,
                                             gboolean         upper,
                                             double           from_x,
                                             double           to_x);

/* Runs what a click at @x (halfway up the plot) runs: FALSE when no bin
 * is there. */
gboolean    _qs_histogram_view_click        (QsHistogramView *self,
                                             double           x);

/* Where the plot area and its value range fall in a picture of
 * @width x @height, as qs_histogram_view_render() draws it. */
void        _qs_histogram_view_get_plot     (QsHistogramView *self,
                                             int              width,
                                             int              height,
                                             graphene_rect_t *plot,
                                             double          *view_lo,
                                             double          *view_hi);

/* The text of the hover tooltip at (x, y), or NULL (transfer full). */
char       *_qs_histogram_view_tooltip_at   (QsHistogramView *self,
                                             double           x,
                                             double           y);

/* The clipped count the plot states for a dragged range [lo, hi]. */
double      _qs_histogram_view_estimate_clipped (QsHistogramView *self,
                                                 double           lo,
                                                 double           hi);
/* Where the handles sit now. */
void        _qs_histogram_view_get_handles  (QsHistogramView *self,
                                             double          *lo,
                                             double          *hi);

/* Runs what a key press on the focused view runs. */
gboolean    _qs_histogram_view_key          (QsHistogramView *self,
                                             guint            keyval,
                                             GdkModifierType  state);

/* The value the drawn series has at @bin: the weights' or the
 * reconstructions' count; and whether the count axis cuts any
 * reconstructed spike. */
double      _qs_histogram_view_series_value (QsHistogramView *self,
                                             gboolean         reconstructed,
                                             int              bin);
gboolean    _qs_histogram_view_reconstructed_cut (QsHistogramView *self);

/* The accessible label last set (transfer none). */
const char *_qs_histogram_view_get_summary  (QsHistogramView *self);

G_END_DECLS
