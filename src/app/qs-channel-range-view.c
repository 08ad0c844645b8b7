/* qs-channel-range-view.c: per output channel, the data range and the chosen clip range.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The small companion of QsHistogramView for per-channel schemes, on the
 * same base class (QsChartView): values prepared when the report arrives,
 * the static part (range bars, clip envelope, axes) cached as a render
 * node, selection and hover drawn on top every frame, one hit-test
 * function for click, hover and tooltip.
 */
#include "config.h"

#include "app/qs-channel-range-view.h"
#include "app/qs-channel-range-view-private.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "app/qs-chart-view.h"
#include "app/qs-histogram-view.h"
#include "model/qs-error.h"

#define MAX_TICKS 40

typedef struct {
  int             width;
  int             height;
  graphene_rect_t plot;
  double          value_lo;
  double          value_hi;
  double          y_ticks[MAX_TICKS];
  int             n_y_ticks;
  double          x_ticks[MAX_TICKS];
  int             n_x_ticks;
} RangeLayout;

struct _QsChannelRangeView
{
  QsChartView     parent_instance;

  /* Owned references */
  QsTensorReport *report;

  int             channel;

  /* Normalised once per report: per channel data min/max and the clip
   * range widened to contain 0, as the quantizer uses it. */
  gsize           channels;
  double         *data_lo;
  double         *data_hi;
  double         *clip_lo;
  double         *clip_hi;
  double          value_lo;
  double          value_hi;

  int             hover;

  RangeLayout     layout;          /* for the size the base class laid out */
};

G_DEFINE_FINAL_TYPE (QsChannelRangeView, qs_channel_range_view, QS_TYPE_CHART_VIEW)

#define PALETTE(self) qs_chart_view_get_palette (QS_CHART_VIEW (self))

enum {
  PROP_0,
  PROP_REPORT,
  PROP_CHANNEL,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static gboolean
has_channels (QsChannelRangeView *self)
{
  return self->report != NULL && self->channels > 1;
}

static void
prepare_report (QsChannelRangeView *self)
{
  const QsQuantParams *params;
  const QsAnalysis *a;

  g_clear_pointer (&self->data_lo, g_free);
  g_clear_pointer (&self->data_hi, g_free);
  g_clear_pointer (&self->clip_lo, g_free);
  g_clear_pointer (&self->clip_hi, g_free);
  self->channels = 0;
  if (self->report == NULL)
    return;

  params = &self->report->params;
  a = &self->report->analysis;
  self->channels = MIN (params->channels, a->channels);
  if (self->channels == 0 || a->channel_min == NULL)
    {
      self->channels = 0;
      return;
    }

  self->data_lo = g_new (double, self->channels);
  self->data_hi = g_new (double, self->channels);
  self->clip_lo = g_new (double, self->channels);
  self->clip_hi = g_new (double, self->channels);
  self->value_lo = 0;
  self->value_hi = 0;
  for (gsize c = 0; c < self->channels; c++)
    {
      self->data_lo[c] = a->channel_min[c];
      self->data_hi[c] = a->channel_max[c];
      self->clip_lo[c] = MIN ((double) params->range_lo[c], 0.0);
      self->clip_hi[c] = MAX ((double) params->range_hi[c], 0.0);
      self->value_lo = MIN (self->value_lo, MIN (self->data_lo[c], self->clip_lo[c]));
      self->value_hi = MAX (self->value_hi, MAX (self->data_hi[c], self->clip_hi[c]));
    }
  if (!(self->value_hi > self->value_lo))
    self->value_hi = self->value_lo + 1;
}

static gsize
selected_channel (QsChannelRangeView *self)
{
  /* -1 draws channel 0, like the histogram view does. */
  return self->channel < 0 ? 0 : MIN ((gsize) self->channel, self->channels - 1);
}

static void
update_accessible (QsChannelRangeView *self)
{
  g_autofree char *label = NULL;

  if (!has_channels (self))
    label = g_strdup (_("Per-channel ranges: none for this scheme"));
  else
    {
      gsize c = selected_channel (self);

      /* Translators: the accessible label of the per-channel range chart. */
      label = g_strdup_printf (_("Data and clip ranges of %zu channels; channel %zu: data %.3g to %.3g, clip %.3g to %.3g"),
                               self->channels, c,
                               self->data_lo[c], self->data_hi[c], self->clip_lo[c], self->clip_hi[c]);
    }
  gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, label,
                                  -1);
}

static void
invalidate_static (QsChannelRangeView *self)
{
  qs_chart_view_invalidate (QS_CHART_VIEW (self));
}

/* Layout ------------------------------------------------------------------ */

static void
compute_layout (QsChannelRangeView *self,
                int                 width,
                int                 height,
                RangeLayout        *l)
{
  GtkWidget *widget = GTK_WIDGET (self);
  g_autoptr(PangoLayout) probe = qs_chart_create_layout (widget, "0", TRUE);
  double span, step, plot_h, left;
  int text_h, label_w = 0;

  memset (l, 0, sizeof *l);
  l->width = width;
  l->height = height;
  if (!has_channels (self))
    return;

  pango_layout_get_pixel_size (probe, NULL, &text_h);
  span = self->value_hi - self->value_lo;
  l->value_lo = self->value_lo - span * 0.04;
  l->value_hi = self->value_hi + span * 0.04;

  plot_h = MAX (1.0, height - 8 - (text_h + 10));
  l->n_y_ticks = qs_plot_nice_ticks (l->value_lo, l->value_hi,
                                      MAX (2, (int) (plot_h / (text_h * 2.5))), FALSE,
                                      l->y_ticks, MAX_TICKS, &step);
  for (int i = 0; i < l->n_y_ticks; i++)
    {
      g_autofree char *text = qs_plot_format_value (l->y_ticks[i]);
      g_autoptr(PangoLayout) layout = qs_chart_create_layout (widget, text, TRUE);
      int w;

      pango_layout_get_pixel_size (layout, &w, NULL);
      label_w = MAX (label_w, w);
    }
  left = label_w + 14;
  graphene_rect_init (&l->plot, left, 8, MAX (1.0, width - left - 16), plot_h);

  l->n_x_ticks = qs_plot_nice_ticks (0, (double) self->channels - 1,
                                      MAX (2, (int) (l->plot.size.width / 70)), TRUE,
                                      l->x_ticks, MAX_TICKS, &step);
}

/* The layout at the widget's size (the base class lays out on demand). */
static const RangeLayout *
ensure_layout (QsChannelRangeView *self)
{
  qs_chart_view_get_plot (QS_CHART_VIEW (self));
  return &self->layout;
}

static double
channel_to_x (QsChannelRangeView *self,
              const RangeLayout  *l,
              double              channel)
{
  return l->plot.origin.x + channel / self->channels * l->plot.size.width;
}

static double
value_to_y (const RangeLayout *l,
            double             value)
{
  return l->plot.origin.y + (l->value_hi - value) / (l->value_hi - l->value_lo) * l->plot.size.height;
}

/* The one hit test: which channel column x falls in, or -1. */
static int
hit_test (QsChannelRangeView *self,
          const RangeLayout  *l,
          double              x,
          double              y)
{
  double fraction;

  if (!has_channels (self) || l->plot.size.width <= 0)
    return -1;
  if (y < 0 || y > l->height)
    return -1;
  fraction = (x - l->plot.origin.x) / l->plot.size.width;
  if (fraction < 0 || fraction >= 1)
    return -1;
  return (int) MIN ((gsize) (fraction * self->channels), self->channels - 1);
}

static char *
tooltip_for_channel (QsChannelRangeView *self,
                     int                 c)
{
  g_autofree char *min = NULL, *max = NULL, *lo = NULL, *hi = NULL;

  if (c < 0 || !has_channels (self))
    return NULL;
  min = qs_plot_format_value (self->data_lo[c]);
  max = qs_plot_format_value (self->data_hi[c]);
  lo = qs_plot_format_value (self->clip_lo[c]);
  hi = qs_plot_format_value (self->clip_hi[c]);
  /* Translators: a channel's data range and the clip range chosen for it. */
  return g_strdup_printf (_("Channel %d: min %s, max %s\nClip range %s to %s"), c, min, max, lo, hi);
}

/* Drawing ------------------------------------------------------------------ */

static void
draw_static (QsChannelRangeView *self,
             const RangeLayout  *l,
             QsPainter          *painter)
{
  GtkWidget *widget = GTK_WIDGET (self);
  const graphene_rect_t *p = &l->plot;
  double base = p->origin.y + p->size.height;
  double run_x = round (channel_to_x (self, l, 0));
  double d_lo = G_MAXDOUBLE, d_hi = -G_MAXDOUBLE, c_lo = G_MAXDOUBLE, c_hi = -G_MAXDOUBLE;
  double last_right = -G_MAXDOUBLE;
  cairo_t *cr;

  /* Grid first, under the bars. */
  cr = qs_painter_begin_cairo (painter);
  for (int i = 0; i < l->n_y_ticks; i++)
    {
      double y = floor (value_to_y (l, l->y_ticks[i])) + 0.5;

      cairo_move_to (cr, p->origin.x, y);
      cairo_line_to (cr, p->origin.x + p->size.width, y);
    }
  cairo_set_line_width (cr, 1.0);
  qs_chart_set_source (cr, &PALETTE (self)->fg, 0.08);
  cairo_stroke (cr);
  qs_painter_end_cairo (painter, cr);

  /* One column per channel; channels narrower than a pixel merge into one
   * column spanning their union, so nothing disappears on narrow widgets. */
  for (gsize c = 0; c < self->channels; c++)
    {
      double x1 = round (channel_to_x (self, l, c + 1.0));

      d_lo = MIN (d_lo, self->data_lo[c]);
      d_hi = MAX (d_hi, self->data_hi[c]);
      c_lo = MIN (c_lo, self->clip_lo[c]);
      c_hi = MAX (c_hi, self->clip_hi[c]);
      if (x1 > run_x)
        {
          double w = x1 - run_x;
          double inset = w >= 5 ? floor (w * 0.3) : 0;
          double bar_x = run_x + inset, bar_w = MAX (1.0, w - 2 * inset);
          double y_clip_hi = round (value_to_y (l, c_hi));
          double y_clip_lo = round (value_to_y (l, c_lo));
          double y_data_hi = round (value_to_y (l, d_hi));
          double y_data_lo = round (value_to_y (l, d_lo));
          double inner_top = MAX (y_data_hi, y_clip_hi);
          double inner_bottom = MIN (y_data_lo, y_clip_lo);

          /* The clip range: a faint band with caps in the accent colour. */
          qs_painter_fill_rect (painter, &PALETTE (self)->accent, 0.22,
                                run_x, y_clip_hi, w, y_clip_lo - y_clip_hi);
          qs_painter_fill_rect (painter, &PALETTE (self)->accent, 1.0, run_x, y_clip_hi - 1, w, 2);
          qs_painter_fill_rect (painter, &PALETTE (self)->accent, 1.0, run_x, y_clip_lo - 1, w, 2);

          /* The data range, in the warning colour where it sticks out of
           * the clip range: those values get clipped. */
          qs_painter_fill_rect (painter, &PALETTE (self)->fg, 0.6,
                                bar_x, inner_top, bar_w, MAX (1.0, inner_bottom - inner_top));
          if (y_data_hi < y_clip_hi)
            qs_painter_fill_rect (painter, &PALETTE (self)->warning, 0.9,
                                  bar_x, y_data_hi, bar_w, y_clip_hi - y_data_hi);
          if (y_data_lo > y_clip_lo)
            qs_painter_fill_rect (painter, &PALETTE (self)->warning, 0.9,
                                  bar_x, y_clip_lo, bar_w, y_data_lo - y_clip_lo);

          run_x = x1;
          d_lo = c_lo = G_MAXDOUBLE;
          d_hi = c_hi = -G_MAXDOUBLE;
        }
    }

  cr = qs_painter_begin_cairo (painter);

  /* The zero line, and the axes. */
  cairo_move_to (cr, p->origin.x, floor (value_to_y (l, 0.0)) + 0.5);
  cairo_line_to (cr, p->origin.x + p->size.width, floor (value_to_y (l, 0.0)) + 0.5);
  cairo_set_line_width (cr, 1.0);
  qs_chart_set_source (cr, &PALETTE (self)->fg, 0.35);
  cairo_stroke (cr);

  qs_chart_set_source (cr, &PALETTE (self)->fg, 0.7);
  for (int i = 0; i < l->n_y_ticks; i++)
    {
      g_autofree char *text = qs_plot_format_value (l->y_ticks[i]);
      g_autoptr(PangoLayout) layout = qs_chart_create_layout (widget, text, TRUE);

      qs_plot_show_layout (cr, layout, p->origin.x - 8, value_to_y (l, l->y_ticks[i]), 1.0, 0.5);
    }
  for (int i = 0; i < l->n_x_ticks; i++)
    {
      g_autofree char *text = g_strdup_printf ("%.0f", l->x_ticks[i]);
      g_autoptr(PangoLayout) layout = qs_chart_create_layout (widget, text, TRUE);
      double x = channel_to_x (self, l, l->x_ticks[i] + 0.5);
      int w;

      pango_layout_get_pixel_size (layout, &w, NULL);
      x = CLAMP (x, w / 2.0 + 1, l->width - w / 2.0 - 1);
      if (x - w / 2.0 < last_right + 6)
        continue;
      last_right = x + w / 2.0;
      qs_plot_show_layout (cr, layout, x, base + 5, 0.5, 0.0);
    }
  qs_painter_end_cairo (painter, cr);
}

static void
draw_column_highlight (QsChannelRangeView *self,
                       const RangeLayout  *l,
                       QsPainter          *painter,
                       int                 c,
                       const GdkRGBA      *color,
                       double              alpha)
{
  double a = round (channel_to_x (self, l, c));
  double b = round (channel_to_x (self, l, c + 1.0));

  qs_painter_fill_rect (painter, color, alpha,
                        a, l->plot.origin.y, MAX (2.0, b - a), l->plot.size.height);
}

static void
draw_overlay (QsChannelRangeView *self,
              const RangeLayout  *l,
              QsPainter          *painter)
{
  if (self->hover >= 0 && (gsize) self->hover < self->channels)
    draw_column_highlight (self, l, painter, self->hover, &PALETTE (self)->fg, 0.08);
  draw_column_highlight (self, l, painter, (int) selected_channel (self), &PALETTE (self)->accent, 0.28);
}

/* QsChartView's drawing: for the layout it made last (the screen's, or a
 * rendered picture's). */
static void
qs_channel_range_view_draw_static (QsChartView *chart,
                                   QsPainter   *painter)
{
  QsChannelRangeView *self = QS_CHANNEL_RANGE_VIEW (chart);

  draw_static (self, &self->layout, painter);
}

static void
qs_channel_range_view_draw_overlay (QsChartView *chart,
                                    QsPainter   *painter)
{
  QsChannelRangeView *self = QS_CHANNEL_RANGE_VIEW (chart);

  draw_overlay (self, &self->layout, painter);
}

static gboolean
qs_channel_range_view_has_data (QsChartView *chart)
{
  return has_channels (QS_CHANNEL_RANGE_VIEW (chart));
}

static char *
qs_channel_range_view_placeholder_text (QsChartView *chart)
{
  return g_strdup (QS_CHANNEL_RANGE_VIEW (chart)->report == NULL
                   ? _("No tensor selected")
                   : _("One range for the whole tensor: choose per-channel to compare channels"));
}

static void
qs_channel_range_view_layout (QsChartView     *chart,
                              int              width,
                              int              height,
                              graphene_rect_t *plot)
{
  QsChannelRangeView *self = QS_CHANNEL_RANGE_VIEW (chart);
  RangeLayout *l = &self->layout;

  compute_layout (self, width, height, l);
  qs_chart_axis_set_range (qs_chart_view_get_x_axis (chart), 0, MAX (1.0, (double) self->channels));
  if (l->value_hi > l->value_lo)
    qs_chart_axis_set_range (qs_chart_view_get_y_axis (chart), l->value_lo, l->value_hi);
  *plot = l->plot;
}

/* Interaction -------------------------------------------------------------- */

static void
set_hover (QsChannelRangeView *self,
           int                 hover)
{
  if (hover == self->hover)
    return;
  self->hover = hover;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
qs_channel_range_view_pointer_moved (QsChartView *chart,
                                     double       x,
                                     double       y,
                                     gboolean     inside)
{
  QsChannelRangeView *self = QS_CHANNEL_RANGE_VIEW (chart);

  set_hover (self, inside ? hit_test (self, &self->layout, x, y) : -1);
}

static void
click (QsChannelRangeView *self,
       double              x,
       double              y)
{
  int c = hit_test (self, ensure_layout (self), x, y);

  if (c >= 0)
    qs_channel_range_view_set_channel (self, c);
}

static void
pressed_cb (GtkGestureClick    *gesture,
            int                 n_press,
            double              x,
            double              y,
            QsChannelRangeView *self)
{
  if (gtk_widget_get_focusable (GTK_WIDGET (self)))
    gtk_widget_grab_focus (GTK_WIDGET (self));
  click (self, x, y);
}

static gboolean
key_pressed_cb (GtkEventControllerKey *controller,
                guint                  keyval,
                guint                  keycode,
                GdkModifierType        state,
                QsChannelRangeView    *self)
{
  int c = (int) selected_channel (self);
  int last;

  if (!has_channels (self))
    return FALSE;
  last = (int) self->channels - 1;

  /* The keyboard reaches every channel too, one at a time or to the ends. */
  switch (keyval)
    {
    case GDK_KEY_Left:
    case GDK_KEY_KP_Left:
      c = MAX (c - 1, 0);
      break;
    case GDK_KEY_Right:
    case GDK_KEY_KP_Right:
      c = MIN (c + 1, last);
      break;
    case GDK_KEY_Home:
    case GDK_KEY_KP_Home:
      c = 0;
      break;
    case GDK_KEY_End:
    case GDK_KEY_KP_End:
      c = last;
      break;
    default:
      return FALSE;
    }
  qs_channel_range_view_set_channel (self, c);
  return TRUE;
}

static char *
qs_channel_range_view_tooltip_at (QsChartView *chart,
                                  double       x,
                                  double       y,
                                  gboolean     keyboard)
{
  QsChannelRangeView *self = QS_CHANNEL_RANGE_VIEW (chart);

  return tooltip_for_channel (self, keyboard ? (int) selected_channel (self) : hit_test (self, &self->layout, x, y));
}

/* A file is for a page, not the screen: the paper style, with the tensor
 * and scheme as its title. */
static char *
qs_channel_range_view_export_title (QsChartView *chart)
{
  const QsTensorReport *report = QS_CHANNEL_RANGE_VIEW (chart)->report;
  /* The scheme in the user's language, as the window shows it: the
   * legend and axes of the file are translated too. */
  g_autofree char *scheme = qs_histogram_view_describe_scheme (report);

  return g_strdup_printf ("%s · %s", report->info->path, scheme);
}

static void
qs_channel_range_view_draw_export (QsChartView *chart,
                                   cairo_t     *cr,
                                   double       width,
                                   double       height,
                                   const char  *title)
{
  const QsPlotLabels labels = { title, NULL, NULL };
  QsPlotStyle style;

  qs_plot_style_init (&style, QS_PLOT_THEME_PAPER);
  qs_plot_channels (cr, width, height, &style, &labels, QS_CHANNEL_RANGE_VIEW (chart)->report,
                    NULL, NULL, 0, NULL);
}

/* GObject ------------------------------------------------------------------- */

static void
qs_channel_range_view_measure (GtkWidget      *widget,
                               GtkOrientation  orientation,
                               int             for_size,
                               int            *minimum,
                               int            *natural,
                               int            *minimum_baseline,
                               int            *natural_baseline)
{
  if (orientation == GTK_ORIENTATION_HORIZONTAL)
    {
      *minimum = 160;
      *natural = 480;
    }
  else
    {
      *minimum = 80;
      *natural = 120;
    }
}

static void
qs_channel_range_view_dispose (GObject *object)
{
  QsChannelRangeView *self = QS_CHANNEL_RANGE_VIEW (object);

  g_clear_pointer (&self->report, qs_tensor_report_unref);

  G_OBJECT_CLASS (qs_channel_range_view_parent_class)->dispose (object);
}

static void
qs_channel_range_view_finalize (GObject *object)
{
  QsChannelRangeView *self = QS_CHANNEL_RANGE_VIEW (object);

  g_free (self->data_lo);
  g_free (self->data_hi);
  g_free (self->clip_lo);
  g_free (self->clip_hi);

  G_OBJECT_CLASS (qs_channel_range_view_parent_class)->finalize (object);
}

static void
qs_channel_range_view_get_property (GObject    *object,
                                    guint       prop_id,
                                    GValue     *value,
                                    GParamSpec *pspec)
{
  QsChannelRangeView *self = QS_CHANNEL_RANGE_VIEW (object);

  switch (prop_id)
    {
    case PROP_REPORT:
      g_value_set_boxed (value, self->report);
      break;

    case PROP_CHANNEL:
      g_value_set_int (value, self->channel);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
qs_channel_range_view_set_property (GObject      *object,
                                    guint         prop_id,
                                    const GValue *value,
                                    GParamSpec   *pspec)
{
  QsChannelRangeView *self = QS_CHANNEL_RANGE_VIEW (object);

  switch (prop_id)
    {
    case PROP_REPORT:
      qs_channel_range_view_set_report (self, g_value_get_boxed (value));
      break;

    case PROP_CHANNEL:
      qs_channel_range_view_set_channel (self, g_value_get_int (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
qs_channel_range_view_class_init (QsChannelRangeViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  QsChartViewClass *chart_class = QS_CHART_VIEW_CLASS (klass);

  object_class->dispose = qs_channel_range_view_dispose;
  object_class->finalize = qs_channel_range_view_finalize;
  object_class->get_property = qs_channel_range_view_get_property;
  object_class->set_property = qs_channel_range_view_set_property;

  widget_class->measure = qs_channel_range_view_measure;

  chart_class->has_data = qs_channel_range_view_has_data;
  chart_class->placeholder_text = qs_channel_range_view_placeholder_text;
  chart_class->layout = qs_channel_range_view_layout;
  chart_class->draw_static = qs_channel_range_view_draw_static;
  chart_class->draw_overlay = qs_channel_range_view_draw_overlay;
  chart_class->pointer_moved = qs_channel_range_view_pointer_moved;
  chart_class->tooltip_at = qs_channel_range_view_tooltip_at;
  chart_class->export_title = qs_channel_range_view_export_title;
  chart_class->draw_export = qs_channel_range_view_draw_export;

  properties[PROP_REPORT] =
    g_param_spec_boxed ("report", NULL, NULL,
                        QS_TYPE_TENSOR_REPORT,
                        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  properties[PROP_CHANNEL] =
    g_param_spec_int ("channel", NULL, NULL,
                      -1, G_MAXINT, -1,
                      G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_css_name (widget_class, "channelrangeview");
}

static void
qs_channel_range_view_init (QsChannelRangeView *self)
{
  GtkEventController *key;
  GtkGesture *click_gesture;

  self->channel = -1;
  self->hover = -1;

  click_gesture = gtk_gesture_click_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (click_gesture), GDK_BUTTON_PRIMARY);
  g_signal_connect (click_gesture, "pressed", G_CALLBACK (pressed_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (click_gesture));

  key = gtk_event_controller_key_new ();
  g_signal_connect (key, "key-pressed", G_CALLBACK (key_pressed_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), key);

  gtk_widget_set_focusable (GTK_WIDGET (self), TRUE);
  update_accessible (self);
}

/* Public API ---------------------------------------------------------------- */

/**
 * qs_channel_range_view_new:
 *
 * Returns: (transfer floating): a channel range view showing no tensor
 */
GtkWidget *
qs_channel_range_view_new (void)
{
  return g_object_new (QS_TYPE_CHANNEL_RANGE_VIEW, NULL);
}

void
qs_channel_range_view_set_report (QsChannelRangeView *self,
                                  QsTensorReport     *report)
{
  g_return_if_fail (QS_IS_CHANNEL_RANGE_VIEW (self));

  if (report == self->report)
    return;
  if (report != NULL)
    qs_tensor_report_ref (report);
  g_clear_pointer (&self->report, qs_tensor_report_unref);
  self->report = report;
  self->hover = -1;

  prepare_report (self);
  invalidate_static (self);
  update_accessible (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_REPORT]);
}

QsTensorReport *
qs_channel_range_view_get_report (QsChannelRangeView *self)
{
  g_return_val_if_fail (QS_IS_CHANNEL_RANGE_VIEW (self), NULL);

  return self->report;
}

void
qs_channel_range_view_set_channel (QsChannelRangeView *self,
                                   int                 channel)
{
  g_return_if_fail (QS_IS_CHANNEL_RANGE_VIEW (self));
  g_return_if_fail (channel >= -1);

  if (channel == self->channel)
    return;
  self->channel = channel;
  /* The selection is an overlay: no cache to rebuild. */
  gtk_widget_queue_draw (GTK_WIDGET (self));
  update_accessible (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CHANNEL]);
}

int
qs_channel_range_view_get_channel (QsChannelRangeView *self)
{
  g_return_val_if_fail (QS_IS_CHANNEL_RANGE_VIEW (self), -1);

  return self->channel;
}

GdkTexture *
qs_channel_range_view_render (QsChannelRangeView *self,
                              int                 width,
                              int                 height)
{
  g_return_val_if_fail (QS_IS_CHANNEL_RANGE_VIEW (self), NULL);
  return qs_chart_view_render (QS_CHART_VIEW (self), width, height);
}

/* Test hooks ------------------------------------------------------------- */

int
_qs_channel_range_view_channel_at (QsChannelRangeView *self,
                                   double              x)
{
  const RangeLayout *l = ensure_layout (self);

  return hit_test (self, l, x, l->plot.origin.y + l->plot.size.height / 2);
}

char *
_qs_channel_range_view_tooltip_at (QsChannelRangeView *self,
                                   double              x,
                                   double              y)
{
  return tooltip_for_channel (self, hit_test (self, ensure_layout (self), x, y));
}

void
_qs_channel_range_view_click (QsChannelRangeView *self,
                              double              x,
                              double              y)
{
  click (self, x, y);
}

gboolean
qs_channel_range_view_export (QsChannelRangeView  *self,
                              const char          *path,
                              int                  width,
                              int                  height,
                              GError             **error)
{
  g_return_val_if_fail (QS_IS_CHANNEL_RANGE_VIEW (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!has_channels (self))
    {
      g_set_error (error, QS_ERROR, QS_ERROR_INVALID, _("No per-channel ranges to plot: choose per-channel granularity"));
      return FALSE;
    }
  return qs_chart_view_export (QS_CHART_VIEW (self), path, width, height, error);
}
