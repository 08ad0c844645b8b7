/* qs-series-chart.c: a chart of a few labelled series over shared bins, with a legend (compare and overview).
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "app/qs-series-chart.h"

#include <math.h>

#include "app/qs-chart.h"

#define MAX_TICKS 16
#define PALETTE(self) qs_chart_view_get_palette (QS_CHART_VIEW (self))

typedef struct {
  QsChartSeries *series;
  char          *label;
  QsSeriesStyle  style;
  QsSeriesColor  color;
} Entry;

typedef struct {
  graphene_rect_t plot;
  double          y_ticks[MAX_TICKS];
  int             n_y_ticks;
  double          x_ticks[MAX_TICKS];
  int             n_x_ticks;
} Layout;

struct _QsSeriesChart
{
  QsChartView  parent_instance;

  GArray      *entries;     /* of Entry */
  char       **bin_names;
  char        *y_unit;
  char        *title;
  Layout       layout;
  int          hover_bin;
  double       y_limit;     /* the highest the y axis goes; NaN: the data's maximum */
};

G_DEFINE_FINAL_TYPE (QsSeriesChart, qs_series_chart, QS_TYPE_CHART_VIEW)

static void
entry_clear (Entry *entry)
{
  g_clear_object (&entry->series);
  g_clear_pointer (&entry->label, g_free);
}

static const GdkRGBA *
entry_color (QsSeriesChart *self,
             const Entry   *entry)
{
  const QsChartPalette *palette = PALETTE (self);

  switch (entry->color)
    {
    case QS_SERIES_COLOR_ACCENT:
      return &palette->accent;
    case QS_SERIES_COLOR_WARNING:
      return &palette->warning;
    case QS_SERIES_COLOR_FOREGROUND:
    default:
      return &palette->fg;
    }
}

/* The first series sets the bins every series is drawn over. */
static QsChartSeries *
first_series (QsSeriesChart *self)
{
  return self->entries->len > 0 ? g_array_index (self->entries, Entry, 0).series : NULL;
}

static gboolean
series_chart_has_data (QsChartView *chart)
{
  QsSeriesChart *self = QS_SERIES_CHART (chart);

  return first_series (self) != NULL && qs_chart_series_get_n_bins (first_series (self)) > 0;
}

/* The y range over every finite value, with 0 in it. */
static void
value_range (QsSeriesChart *self,
             double        *lo,
             double        *hi)
{
  *lo = 0;
  *hi = 0;
  for (guint s = 0; s < self->entries->len; s++)
    {
      QsChartSeries *series = g_array_index (self->entries, Entry, s).series;

      for (guint i = 0; i < qs_chart_series_get_n_bins (series); i++)
        {
          double v = qs_chart_series_get_value (series, i);

          if (isfinite (v))
            {
              *lo = MIN (*lo, v);
              *hi = MAX (*hi, v);
            }
        }
    }
  if (isfinite (self->y_limit) && *hi > self->y_limit)
    *hi = self->y_limit;
  if (*hi <= *lo)
    *hi = *lo + 1;
}

/* Where each legend entry goes (@xs, @ys: nullable, one per entry), left to
 * right from @left, a new row when the next would pass @right; returns the
 * rows. A narrow chart (a compare of four schemes) wraps instead of
 * cutting its legend off at the edge. */
static int
legend_place (QsSeriesChart *self,
              double         left,
              double         right,
              int            text_h,
              double        *xs,
              double        *ys)
{
  double x = left;
  int row = 0;

  for (guint s = 0; s < self->entries->len; s++)
    {
      const Entry *entry = &g_array_index (self->entries, Entry, s);
      g_autoptr(PangoLayout) layout = qs_chart_create_layout (GTK_WIDGET (self), entry->label, TRUE);
      int w;

      pango_layout_get_pixel_size (layout, &w, NULL);
      if (x > left && x + 14 + w > right)
        {
          row++;
          x = left;
        }
      if (xs != NULL)
        xs[s] = x;
      if (ys != NULL)
        ys[s] = 2 + row * (text_h + 4);
      x += 14 + w + 18;
    }
  return row + 1;
}

static void
compute_layout (QsSeriesChart *self,
                int            width,
                int            height,
                Layout        *l)
{
  GtkWidget *widget = GTK_WIDGET (self);
  QsChartView *chart = QS_CHART_VIEW (self);
  g_autoptr(PangoLayout) probe = qs_chart_create_layout (widget, "0", TRUE);
  QsChartSeries *bins = first_series (self);
  double lo, hi, step, x_lo, x_hi, left;
  int text_h, label_w = 0, legend_h;

  pango_layout_get_pixel_size (probe, NULL, &text_h);
  legend_h = text_h + 8;
  value_range (self, &lo, &hi);
  l->n_y_ticks = qs_plot_nice_ticks (lo, hi, MAX (2, (height - legend_h) / (text_h * 3)), FALSE,
                                      l->y_ticks, MAX_TICKS, &step);
  if (l->n_y_ticks > 0)
    {
      lo = MIN (lo, l->y_ticks[0]);
      hi = MAX (hi, l->y_ticks[l->n_y_ticks - 1]);
    }
  qs_chart_axis_set_range (qs_chart_view_get_y_axis (chart), lo, hi);
  for (int i = 0; i < l->n_y_ticks; i++)
    {
      g_autofree char *text = qs_plot_format_value (l->y_ticks[i]);
      g_autoptr(PangoLayout) layout = qs_chart_create_layout (widget, text, TRUE);
      int w;

      pango_layout_get_pixel_size (layout, &w, NULL);
      label_w = MAX (label_w, w);
    }
  left = label_w + 14;
  legend_h += (legend_place (self, left, width - 4, text_h, NULL, NULL) - 1) * (text_h + 4);
  graphene_rect_init (&l->plot, left, legend_h + 4, MAX (1.0, width - left - 12),
                      MAX (1.0, height - legend_h - 4 - (text_h + 10)));

  x_lo = qs_chart_series_bin_edge (bins, 0);
  x_hi = qs_chart_series_bin_edge (bins, qs_chart_series_get_n_bins (bins));
  qs_chart_axis_set_range (qs_chart_view_get_x_axis (chart), x_lo, x_hi > x_lo ? x_hi : x_lo + 1);
  if (self->bin_names != NULL)
    {
      /* Named bins: a tick at every few bins' centre, as many as fit. */
      guint n = qs_chart_series_get_n_bins (bins);
      guint every = MAX (1u, (guint) ceil (n / MAX (1.0, l->plot.size.width / 60)));

      l->n_x_ticks = 0;
      for (guint i = 0; i < n && l->n_x_ticks < MAX_TICKS; i += every)
        l->x_ticks[l->n_x_ticks++] = i;
    }
  else
    l->n_x_ticks = qs_plot_nice_ticks (x_lo, x_hi, MAX (2, (int) (l->plot.size.width / 80)), FALSE,
                                        l->x_ticks, MAX_TICKS, &step);
}

static void
series_chart_layout (QsChartView     *chart,
                     int              width,
                     int              height,
                     graphene_rect_t *plot)
{
  QsSeriesChart *self = QS_SERIES_CHART (chart);

  compute_layout (self, width, height, &self->layout);
  *plot = self->layout.plot;
}

static double
x_at (const Layout *l,
      double        fraction)
{
  return l->plot.origin.x + fraction * l->plot.size.width;
}

static double
y_at (const Layout *l,
      double        fraction)
{
  return l->plot.origin.y + (1 - fraction) * l->plot.size.height;
}

/* The name of bin @bin, or its value range (transfer full). */
static char *
bin_text (QsSeriesChart *self,
          guint          bin)
{
  QsChartSeries *bins = first_series (self);
  g_autofree char *lo = NULL, *hi = NULL;

  if (self->bin_names != NULL && bin < g_strv_length (self->bin_names))
    return g_strdup (self->bin_names[bin]);
  lo = qs_plot_format_value (qs_chart_series_bin_edge (bins, bin));
  hi = qs_plot_format_value (qs_chart_series_bin_edge (bins, bin + 1));
  return g_strdup_printf ("[%s, %s)", lo, hi);
}

static void
draw_axes (QsSeriesChart *self,
           const Layout  *l,
           cairo_t       *cr)
{
  GtkWidget *widget = GTK_WIDGET (self);
  QsChartView *chart = QS_CHART_VIEW (self);
  const GdkRGBA *fg = &PALETTE (self)->fg;

  cairo_set_line_width (cr, 1.0);
  for (int i = 0; i < l->n_y_ticks; i++)
    {
      double y = floor (qs_chart_view_value_to_y (chart, l->y_ticks[i])) + 0.5;
      g_autofree char *text = qs_plot_format_value (l->y_ticks[i]);
      g_autoptr(PangoLayout) layout = qs_chart_create_layout (widget, text, TRUE);

      cairo_move_to (cr, l->plot.origin.x, y);
      cairo_line_to (cr, l->plot.origin.x + l->plot.size.width, y);
      qs_chart_set_source (cr, fg, 0.08);
      cairo_stroke (cr);
      qs_chart_set_source (cr, fg, 0.7);
      qs_plot_show_layout (cr, layout, l->plot.origin.x - 6, y, 1, 0.5);
    }
  for (int i = 0; i < l->n_x_ticks; i++)
    {
      double x;
      g_autofree char *text = NULL;
      g_autoptr(PangoLayout) layout = NULL;

      if (self->bin_names != NULL)
        {
          QsChartSeries *bins = first_series (self);
          guint bin = (guint) l->x_ticks[i];

          double room = qs_chart_view_value_to_x (chart, qs_chart_series_bin_edge (bins, bin + 1))
                        - qs_chart_view_value_to_x (chart, qs_chart_series_bin_edge (bins, bin));
          int text_w;

          x = qs_chart_view_value_to_x (chart, (qs_chart_series_bin_edge (bins, bin)
                                                + qs_chart_series_bin_edge (bins, bin + 1)) / 2);
          /* The name where it fits under its bar, else the bin's number. */
          text = bin < g_strv_length (self->bin_names) ? g_strdup (self->bin_names[bin]) : NULL;
          layout = qs_chart_create_layout (widget, text != NULL ? text : "", TRUE);
          pango_layout_get_pixel_size (layout, &text_w, NULL);
          if (text == NULL || text_w > room - 4)
            {
              g_free (text);
              text = g_strdup_printf ("%u", bin + 1);
              g_clear_object (&layout);
            }
        }
      else
        {
          x = qs_chart_view_value_to_x (chart, l->x_ticks[i]);
          text = qs_plot_format_value (l->x_ticks[i]);
        }
      if (layout == NULL)
        layout = qs_chart_create_layout (widget, text, TRUE);
      qs_chart_set_source (cr, fg, 0.7);
      qs_plot_show_layout (cr, layout, x, l->plot.origin.y + l->plot.size.height + 4, 0.5, 0);
    }
  qs_chart_set_source (cr, fg, 0.5);
  cairo_move_to (cr, l->plot.origin.x, floor (l->plot.origin.y + l->plot.size.height) + 0.5);
  cairo_rel_line_to (cr, l->plot.size.width, 0);
  cairo_stroke (cr);
}

/* A swatch and the label of each series, left to right above the plot. */
static void
draw_legend (QsSeriesChart *self,
             const Layout  *l,
             cairo_t       *cr)
{
  g_autofree double *xs = g_new0 (double, MAX (self->entries->len, 1));
  g_autofree double *ys = g_new0 (double, MAX (self->entries->len, 1));
  g_autoptr(PangoLayout) probe = qs_chart_create_layout (GTK_WIDGET (self), "0", TRUE);
  int text_h;

  pango_layout_get_pixel_size (probe, NULL, &text_h);
  /* The same places compute_layout() made room for. */
  legend_place (self, l->plot.origin.x, l->plot.origin.x + l->plot.size.width + 12 - 4, text_h, xs, ys);
  for (guint s = 0; s < self->entries->len; s++)
    {
      const Entry *entry = &g_array_index (self->entries, Entry, s);
      g_autoptr(PangoLayout) layout = qs_chart_create_layout (GTK_WIDGET (self), entry->label, TRUE);
      int w, h;

      pango_layout_get_pixel_size (layout, &w, &h);
      qs_chart_set_source (cr, entry_color (self, entry), entry->style == QS_SERIES_STYLE_BARS ? 0.6 : 1.0);
      cairo_rectangle (cr, xs[s], ys[s] + h / 2.0 - 5, 10, 10);
      cairo_fill (cr);
      qs_chart_set_source (cr, &PALETTE (self)->fg, 0.85);
      qs_plot_show_layout (cr, layout, xs[s] + 14, ys[s], 0, 0);
    }
}

static void
draw_series (QsSeriesChart *self,
             const Layout  *l,
             QsPainter     *painter)
{
  guint n_bars = 0, bar = 0;
  double zero = y_at (l, qs_chart_axis_normalize (qs_chart_view_get_y_axis (QS_CHART_VIEW (self)), 0));
  cairo_t *cr;

  for (guint s = 0; s < self->entries->len; s++)
    n_bars += g_array_index (self->entries, Entry, s).style == QS_SERIES_STYLE_BARS;

  qs_painter_push_clip (painter, &l->plot);
  for (guint s = 0; s < self->entries->len; s++)
    {
      const Entry *entry = &g_array_index (self->entries, Entry, s);
      const double *edges = qs_chart_series_get_x_edges (entry->series);
      const double *values = qs_chart_series_get_y_values (entry->series);
      guint n = qs_chart_series_get_n_bins (entry->series);

      if (entry->style == QS_SERIES_STYLE_BARS)
        {
          /* Bar series share each bin side by side. */
          for (guint i = 0; i < n; i++)
            {
              double x0 = x_at (l, edges[i]), x1 = x_at (l, edges[i + 1]);
              double w = (x1 - x0) / n_bars, y;

              if (!isfinite (values[i]))
                continue;
              y = y_at (l, values[i]);
              qs_painter_fill_rect (painter, entry_color (self, entry), 0.6,
                                    x0 + bar * w + (n_bars > 1 ? w * 0.1 : 0), MIN (y, zero),
                                    MAX (1.0, w * (n_bars > 1 ? 0.8 : 1.0)), fabs (zero - y));
            }
          bar++;
          continue;
        }
      cr = qs_painter_begin_cairo (painter);
      cairo_move_to (cr, x_at (l, edges[0]), zero);
      for (guint i = 0; i < n; i++)
        {
          double y = isfinite (values[i]) ? y_at (l, values[i]) : zero;

          cairo_line_to (cr, x_at (l, edges[i]), y);
          cairo_line_to (cr, x_at (l, edges[i + 1]), y);
        }
      cairo_line_to (cr, x_at (l, edges[n]), zero);
      cairo_set_line_width (cr, 1.5);
      qs_chart_set_source (cr, entry_color (self, entry), 1.0);
      cairo_stroke (cr);
      qs_painter_end_cairo (painter, cr);
    }
  qs_painter_pop_clip (painter);
}

static void
draw_with_layout (QsSeriesChart *self,
                  const Layout  *l,
                  QsPainter     *painter)
{
  cairo_t *cr = qs_painter_begin_cairo (painter);

  draw_axes (self, l, cr);
  draw_legend (self, l, cr);
  qs_painter_end_cairo (painter, cr);
  draw_series (self, l, painter);
}

static void
series_chart_draw_static (QsChartView *chart,
                          QsPainter   *painter)
{
  QsSeriesChart *self = QS_SERIES_CHART (chart);

  draw_with_layout (self, &self->layout, painter);
}

static void
series_chart_draw_overlay (QsChartView *chart,
                           QsPainter   *painter)
{
  QsSeriesChart *self = QS_SERIES_CHART (chart);
  QsChartSeries *bins = first_series (self);
  const double *edges;

  if (self->hover_bin < 0 || bins == NULL)
    return;
  edges = qs_chart_series_get_x_edges (bins);
  qs_painter_fill_rect (painter, &PALETTE (self)->fg, 0.08, x_at (&self->layout, edges[self->hover_bin]),
                        self->layout.plot.origin.y,
                        x_at (&self->layout, edges[self->hover_bin + 1]) - x_at (&self->layout, edges[self->hover_bin]),
                        self->layout.plot.size.height);
}

int
qs_series_chart_bin_at (QsSeriesChart *self,
                        double         x)
{
  QsChartSeries *bins;

  g_return_val_if_fail (QS_IS_SERIES_CHART (self), -1);

  bins = first_series (self);
  if (bins == NULL)
    return -1;
  qs_chart_view_get_plot (QS_CHART_VIEW (self));
  return qs_chart_series_bin_at (bins, qs_chart_view_x_to_value (QS_CHART_VIEW (self), x));
}

static void
series_chart_pointer_moved (QsChartView *chart,
                            double       x,
                            double       y,
                            gboolean     inside)
{
  QsSeriesChart *self = QS_SERIES_CHART (chart);
  int bin = inside ? qs_series_chart_bin_at (self, x) : -1;

  if (bin != self->hover_bin)
    {
      self->hover_bin = bin;
      gtk_widget_queue_draw (GTK_WIDGET (self));
    }
}

static char *
series_chart_tooltip_at (QsChartView *chart,
                         double       x,
                         double       y,
                         gboolean     keyboard)
{
  QsSeriesChart *self = QS_SERIES_CHART (chart);
  int bin = keyboard ? self->hover_bin : qs_series_chart_bin_at (self, x);
  g_autoptr(GString) text = NULL;
  g_autofree char *name = NULL;

  if (bin < 0)
    return NULL;
  name = bin_text (self, (guint) bin);
  text = g_string_new (name);
  for (guint s = 0; s < self->entries->len; s++)
    {
      const Entry *entry = &g_array_index (self->entries, Entry, s);
      double v = (guint) bin < qs_chart_series_get_n_bins (entry->series)
                 ? qs_chart_series_get_value (entry->series, (guint) bin) : NAN;
      g_autofree char *value = isfinite (v) ? qs_plot_format_value (v) : g_strdup ("—");

      g_string_append_printf (text, "\n%s: %s%s%s", entry->label, value,
                              self->y_unit != NULL && isfinite (v) ? " " : "",
                              self->y_unit != NULL && isfinite (v) ? self->y_unit : "");
    }
  return g_string_free (g_steal_pointer (&text), FALSE);
}

static char *
series_chart_export_title (QsChartView *chart)
{
  QsSeriesChart *self = QS_SERIES_CHART (chart);

  return g_strdup (self->title != NULL ? self->title : "");
}

static void
series_chart_draw_export (QsChartView *chart,
                          cairo_t     *cr,
                          double       width,
                          double       height,
                          const char  *title)
{
  QsSeriesChart *self = QS_SERIES_CHART (chart);
  Layout layout;
  QsPainter painter;

  /* Laid out for the file's size; the axes go back to the screen's after. */
  compute_layout (self, (int) width, (int) height, &layout);
  qs_painter_init_cairo (&painter, cr, width, height);
  draw_with_layout (self, &layout, &painter);
  qs_chart_view_invalidate (chart);
}

static void
qs_series_chart_finalize (GObject *object)
{
  QsSeriesChart *self = QS_SERIES_CHART (object);

  g_array_unref (self->entries);
  g_strfreev (self->bin_names);
  g_free (self->y_unit);
  g_free (self->title);
  G_OBJECT_CLASS (qs_series_chart_parent_class)->finalize (object);
}

static void
qs_series_chart_class_init (QsSeriesChartClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  QsChartViewClass *chart_class = QS_CHART_VIEW_CLASS (klass);

  object_class->finalize = qs_series_chart_finalize;
  chart_class->has_data = series_chart_has_data;
  chart_class->layout = series_chart_layout;
  chart_class->draw_static = series_chart_draw_static;
  chart_class->draw_overlay = series_chart_draw_overlay;
  chart_class->pointer_moved = series_chart_pointer_moved;
  chart_class->tooltip_at = series_chart_tooltip_at;
  chart_class->export_title = series_chart_export_title;
  chart_class->draw_export = series_chart_draw_export;
}

static void
qs_series_chart_init (QsSeriesChart *self)
{
  self->entries = g_array_new (FALSE, TRUE, sizeof (Entry));
  g_array_set_clear_func (self->entries, (GDestroyNotify) entry_clear);
  self->hover_bin = -1;
  self->y_limit = NAN;
  gtk_widget_set_size_request (GTK_WIDGET (self), 200, 160);
}

GtkWidget *
qs_series_chart_new (void)
{
  return g_object_new (QS_TYPE_SERIES_CHART, NULL);
}

QsChartSeries *
qs_series_chart_add_series (QsSeriesChart *self,
                            const char    *label,
                            QsSeriesStyle  style,
                            QsSeriesColor  color,
                            double         lo,
                            double         hi,
                            guint          n,
                            const double  *values)
{
  QsChartView *chart = QS_CHART_VIEW (self);
  Entry entry = { 0 };

  g_return_val_if_fail (QS_IS_SERIES_CHART (self), NULL);

  entry.series = qs_chart_series_new (qs_chart_view_get_x_axis (chart), qs_chart_view_get_y_axis (chart));
  entry.label = g_strdup (label);
  entry.style = style;
  entry.color = color;
  qs_chart_series_set_bins (entry.series, lo, hi, n, values);
  g_array_append_val (self->entries, entry);
  qs_chart_view_invalidate (chart);
  return entry.series;
}

void
qs_series_chart_set_y_limit (QsSeriesChart *self,
                             double         limit)
{
  g_return_if_fail (QS_IS_SERIES_CHART (self));

  self->y_limit = limit;
  qs_chart_view_invalidate (QS_CHART_VIEW (self));
}

void
qs_series_chart_clear (QsSeriesChart *self)
{
  g_return_if_fail (QS_IS_SERIES_CHART (self));

  g_array_set_size (self->entries, 0);
  self->hover_bin = -1;
  qs_chart_view_invalidate (QS_CHART_VIEW (self));
}

guint
qs_series_chart_get_n_series (QsSeriesChart *self)
{
  g_return_val_if_fail (QS_IS_SERIES_CHART (self), 0);

  return self->entries->len;
}

QsChartSeries *
qs_series_chart_get_series (QsSeriesChart *self,
                            guint          index)
{
  g_return_val_if_fail (QS_IS_SERIES_CHART (self), NULL);
  g_return_val_if_fail (index < self->entries->len, NULL);

  return g_array_index (self->entries, Entry, index).series;
}

const char *
qs_series_chart_get_label (QsSeriesChart *self,
                           guint          index)
{
  g_return_val_if_fail (QS_IS_SERIES_CHART (self), NULL);
  g_return_val_if_fail (index < self->entries->len, NULL);

  return g_array_index (self->entries, Entry, index).label;
}

void
qs_series_chart_set_bin_names (QsSeriesChart      *self,
                               const char * const *names)
{
  g_return_if_fail (QS_IS_SERIES_CHART (self));

  g_strfreev (self->bin_names);
  self->bin_names = g_strdupv ((char **) names);
  qs_chart_view_invalidate (QS_CHART_VIEW (self));
}

void
qs_series_chart_set_y_unit (QsSeriesChart *self,
                            const char    *unit)
{
  g_return_if_fail (QS_IS_SERIES_CHART (self));

  g_free (self->y_unit);
  self->y_unit = g_strdup (unit);
}

void
qs_series_chart_set_title (QsSeriesChart *self,
                           const char    *title)
{
  g_return_if_fail (QS_IS_SERIES_CHART (self));

  g_free (self->title);
  self->title = g_strdup (title);
}
