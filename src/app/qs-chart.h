/* qs-chart.h: what the chart widgets share: palette, painter and text layouts.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Internal to src/app: the drawing helpers under QsChartView (the charts'
 * base class, qs-chart-view.h) and its subclasses, so every chart looks
 * alike; ticks, number labels and exported files come from src/plot, as
 * the CLI's charts do.
 */
#pragma once

#include <gtk/gtk.h>

#include "plot/qs-plot.h"

G_BEGIN_DECLS

/* Colours a chart needs, read once per style change rather than per frame. */
typedef struct {
  GdkRGBA  fg;       /* text and axes: the widget's CSS colour */
  GdkRGBA  bg;       /* the window background, painted only into exports */
  GdkRGBA  accent;   /* clip handles, reconstructed series, levels */
  GdkRGBA  warning;  /* 0.0 that does not survive quantization, clipped data */
  gboolean dark;
} QsChartPalette;

void     qs_chart_palette_init  (QsChartPalette       *palette,
                                 GtkWidget            *widget);
/* Re-reads @widget's colours into @palette; TRUE when they changed. Hover
 * and focus restyle a widget too: only a new colour (light and dark
 * switching, high contrast) needs a chart's cached drawing rebuilt. */
gboolean qs_chart_palette_update (QsChartPalette *palette,
                                  GtkWidget      *widget);

/* Draws either into a GtkSnapshot (rectangles become colour nodes, the rest
 * Cairo nodes) or straight onto a Cairo context for PNG/SVG export, so one
 * drawing function serves the screen and the files. */
typedef struct {
  GtkSnapshot     *snapshot;  /* NULL when drawing on cr */
  cairo_t         *cr;
  graphene_rect_t  bounds;
} QsPainter;

void     qs_painter_init_snapshot (QsPainter       *painter,
                                   GtkSnapshot     *snapshot,
                                   double           width,
                                   double           height);
void     qs_painter_init_cairo    (QsPainter       *painter,
                                   cairo_t         *cr,
                                   double           width,
                                   double           height);
void     qs_painter_fill_rect     (QsPainter       *painter,
                                   const GdkRGBA   *color,
                                   double           alpha,
                                   double           x,
                                   double           y,
                                   double           width,
                                   double           height);
/* Confines what is drawn until the matching pop to @rect (a zoomed plot
 * must not spill over its axes). */
void     qs_painter_push_clip     (QsPainter             *painter,
                                   const graphene_rect_t *rect);
void     qs_painter_pop_clip      (QsPainter             *painter);
/* A Cairo context for lines and text; release with qs_painter_end_cairo(). */
cairo_t *qs_painter_begin_cairo   (QsPainter       *painter);
void     qs_painter_end_cairo     (QsPainter       *painter,
                                   cairo_t         *cr);

void     qs_chart_set_source      (cairo_t         *cr,
                                   const GdkRGBA   *color,
                                   double           alpha);

/* A layout in the widget's font, optionally smaller, with tabular figures
 * so tick labels line up (transfer full). */
PangoLayout *qs_chart_create_layout (GtkWidget     *widget,
                                     const char    *text,
                                     gboolean       small);

/* Rasterises @node into a new texture of @width x @height pixels, with
 * Cairo, so it works without a display connection or GL. */
GdkTexture *qs_chart_render_node  (GskRenderNode   *node,
                                   int              width,
                                   int              height);

/* A save dialog for a chart: PNG, SVG and PDF filters, @folder (nullable)
 * to start in, @name suggested (transfer full). */
GtkFileChooserNative *qs_chart_export_chooser_new  (GtkWindow      *parent,
                                                    GFile          *folder,
                                                    const char     *name);
/* The chosen path; a name without a known extension takes the chosen
 * filter's (transfer full; NULL when nothing was chosen). */
char                 *qs_chart_export_chooser_path (GtkFileChooser *chooser);

G_END_DECLS
