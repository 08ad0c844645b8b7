/* qs-chart-view.h: the base class of the app's charts: axes, cached drawing, hover, tooltip, zoom and export.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Sysprof's chart shape: axes and series are data objects
 * (qs-chart-axis.h, qs-chart-series.h); the chart is a widget whose static
 * part (bars, axes, labels) is recorded once into a render node and
 * replayed until the size, the data, an axis or the colours change, with
 * hover and selection drawn on top each frame; hover and tooltip come from
 * the subclass's one hit test. A zoomable chart zooms and pans its x axis:
 * Ctrl+scroll or a pinch to zoom, a middle-button or Shift drag to pan,
 * a double click or "0" to see everything again.
 */
#pragma once

#include <gtk/gtk.h>

#include "app/qs-chart.h"
#include "app/qs-chart-axis.h"

G_BEGIN_DECLS

#define QS_TYPE_CHART_VIEW (qs_chart_view_get_type ())
G_DECLARE_DERIVABLE_TYPE (QsChartView, qs_chart_view, QS, CHART_VIEW, GtkWidget)

struct _QsChartViewClass
{
  GtkWidgetClass parent_class;

  /* Whether there is anything to plot; without, the placeholder text. */
  gboolean (*has_data)         (QsChartView *self);
  char    *(*placeholder_text) (QsChartView *self);
  /* Lays the chart out for @width x @height: sets the axes' ranges and
   * the subclass's ticks and margins; returns the plot area in @plot. */
  void     (*layout)           (QsChartView     *self,
                                int              width,
                                int              height,
                                graphene_rect_t *plot);
  /* What changes only with the data, the size or an axis. */
  void     (*draw_static)      (QsChartView *self,
                                QsPainter   *painter);
  /* What is drawn each frame on top: hover, selection, handles. */
  void     (*draw_overlay)     (QsChartView *self,
                                QsPainter   *painter);
  /* The pointer is at (x, y), or left (@inside FALSE). */
  void     (*pointer_moved)    (QsChartView *self,
                                double       x,
                                double       y,
                                gboolean     inside);
  /* The tooltip at (x, y), or for the focused item when @keyboard; NULL
   * for none (transfer full). */
  char    *(*tooltip_at)       (QsChartView *self,
                                double       x,
                                double       y,
                                gboolean     keyboard);
  /* The file export in src/plot's paper style: its title (transfer full)
   * and the drawing; NULL title: nothing to export. */
  char    *(*export_title)     (QsChartView *self);
  void     (*draw_export)      (QsChartView *self,
                                cairo_t     *cr,
                                double       width,
                                double       height,
                                const char  *title);

  gpointer padding[8];
};

/* (transfer none) */
QsChartAxis          *qs_chart_view_get_x_axis     (QsChartView *self);
QsChartAxis          *qs_chart_view_get_y_axis     (QsChartView *self);
const QsChartPalette *qs_chart_view_get_palette    (QsChartView *self);

/* The data changed: lay out and record the static part again. */
void                  qs_chart_view_invalidate     (QsChartView *self);
/* The plot area at the widget's size, laying out if needed. */
const graphene_rect_t *qs_chart_view_get_plot      (QsChartView *self);

/* Pixel <-> value through the plot area and the axes' windows. */
double                qs_chart_view_value_to_x     (QsChartView *self,
                                                    double       value);
double                qs_chart_view_x_to_value     (QsChartView *self,
                                                    double       x);
double                qs_chart_view_value_to_y     (QsChartView *self,
                                                    double       value);

/* Zooming and panning of the x axis by the user (off by default). */
void                  qs_chart_view_set_zoomable   (QsChartView *self,
                                                    gboolean     zoomable);
/* What the gestures run: zoom by @factor around pixel @x, pan by @dx
 * pixels (content follows the pointer), back to the whole range. */
void                  qs_chart_view_zoom_at        (QsChartView *self,
                                                    double       x,
                                                    double       factor);
void                  qs_chart_view_pan_by         (QsChartView *self,
                                                    double       dx);
void                  qs_chart_view_reset_zoom     (QsChartView *self);

/* The chart as on screen, on the window background, rasterised with
 * Cairo (no display needed) (transfer full). */
GdkTexture           *qs_chart_view_render         (QsChartView *self,
                                                    int          width,
                                                    int          height);
/* Saves the chart as PNG, SVG or PDF (by @path's extension) through
 * src/plot, in the paper style with the subclass's title. */
gboolean              qs_chart_view_export         (QsChartView *self,
                                                    const char  *path,
                                                    int          width,
                                                    int          height,
                                                    GError     **error);

G_END_DECLS
