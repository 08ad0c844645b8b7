/* qs-plot-private.h: the frame every chart draws in: title, legend, axes, ticks and text.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <pango/pangocairo.h>

#include "plot/qs-plot.h"

G_BEGIN_DECLS

#define QS_PLOT_MAX_TICKS 16

typedef enum {
  QS_PLOT_KEY_BOX,       /* a filled square: bars */
  QS_PLOT_KEY_LINE,      /* a solid line: a step outline */
  QS_PLOT_KEY_POINTS,    /* a line with a point: a series */
  QS_PLOT_KEY_DASHED,    /* a dashed line: clip range */
  QS_PLOT_KEY_TICKS,     /* three thin lines: the levels */
  QS_PLOT_KEY_MARKER,    /* a triangle: where 0.0 lands */
} QsPlotKeyKind;

typedef struct {
  const char   *label;
  QsPlotKeyKind kind;
  QsPlotColor   color;
} QsPlotKey;

/* How an axis is labelled. */
typedef enum {
  QS_PLOT_TICKS_VALUES,    /* round values, "0.25", "−1e-05" */
  QS_PLOT_TICKS_INTEGERS,  /* whole numbers only: channels, bits */
  QS_PLOT_TICKS_COUNTS,    /* whole numbers, "12k": histogram counts */
  QS_PLOT_TICKS_CATEGORIES,/* one label per bar, from the frame's names */
} QsPlotTicks;

typedef struct {
  const char *const *names;  /* QS_PLOT_TICKS_CATEGORIES: one per bar */
  gsize              n_names;
  gsize              skip;   /* the bytes every name shares, not written */
} QsPlotCategories;

typedef struct {
  cairo_t           *cr;
  const QsPlotStyle *style;
  double             width;
  double             height;
  QsPlotArea         area;
  QsPlotTicks        x_ticks;
  QsPlotTicks        y_ticks;
  QsPlotCategories   categories;
  gboolean           slanted;    /* category names written at 45 degrees */
  double             legend_top;
} QsPlotFrame;

/* Lays the frame out for a data range and paints everything but the data:
 * background, title, legend, axis names, grid lines, ticks and their
 * labels. A range that is empty or not finite is widened to something
 * drawable. The chart then draws its data inside frame->area, clipped by
 * _qs_plot_frame_clip(). */
void  _qs_plot_frame_begin (QsPlotFrame        *frame,
                            cairo_t            *cr,
                            double              width,
                            double              height,
                            const QsPlotStyle  *style,
                            const QsPlotLabels *labels,
                            const QsPlotKey    *keys,
                            gsize               n_keys,
                            double              x_lo,
                            double              x_hi,
                            double              y_lo,
                            double              y_hi);

/* Clips to the data area (cairo_save); _qs_plot_frame_unclip() restores. */
void  _qs_plot_frame_clip   (QsPlotFrame *frame);
void  _qs_plot_frame_unclip (QsPlotFrame *frame);

/* Draws the axis lines over the data. */
void  _qs_plot_frame_end    (QsPlotFrame *frame);

void  _qs_plot_set_color    (cairo_t           *cr,
                             const QsPlotColor *color,
                             double             alpha);

/* A layout in the style's font: @scale times its size, bold or not, with
 * tabular figures (transfer full). */
PangoLayout *_qs_plot_layout (QsPlotFrame *frame,
                              const char  *text,
                              double       scale,
                              gboolean     bold);


/* The same with a @halo-coloured outline around the glyphs, so a label
 * stays readable over the lines it crosses. */
void  _qs_plot_show_layout_halo (cairo_t           *cr,
                                 PangoLayout       *layout,
                                 double             x,
                                 double             y,
                                 double             ax,
                                 double             ay,
                                 const QsPlotColor *color,
                                 const QsPlotColor *halo);

/* Every how many categories a name is written when names slant at 45
 * degrees, @slot apart along the axis, @line high, so that none overlap. */
guint _qs_plot_slanted_stride (double line,
                               double slot);

G_END_DECLS
