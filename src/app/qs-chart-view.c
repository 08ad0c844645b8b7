/* qs-chart-view.c: the base class of the app's charts: axes, cached drawing, hover, tooltip, zoom and export.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "app/qs-chart-view.h"
#include "app/qs-chart-view-private.h"

#include <glib/gi18n.h>
#include <math.h>

#include "model/qs-error.h"
#include "plot/qs-plot.h"

/* One notch of Ctrl+scroll, and one press of + or -. */
#define SCROLL_ZOOM_STEP 1.25
#define KEY_ZOOM_STEP 1.5

typedef struct
{
  QsChartAxis     *x_axis;
  QsChartAxis     *y_axis;
  GskRenderNode   *static_node;
  QsChartPalette   palette;

  /* The layout the static node and the overlay are drawn for. */
  graphene_rect_t  plot;
  int              layout_width;
  int              layout_height;
  gboolean         layout_valid;
  gboolean         in_layout;       /* axis changes made by the layout itself */

  gboolean         zoomable;
  double           pointer_x;
  double           pinch_scale;     /* the pinch's scale at the last update */
  double           pan_offset;      /* the pan drag's offset at the last update */
} QsChartViewPrivate;

G_DEFINE_ABSTRACT_TYPE_WITH_PRIVATE (QsChartView, qs_chart_view, GTK_TYPE_WIDGET)

#define PRIV(self) ((QsChartViewPrivate *) qs_chart_view_get_instance_private (self))

/* ---- layout and drawing ---------------------------------------------------- */

static void
lay_out (QsChartView *self,
         int          width,
         int          height)
{
  QsChartViewPrivate *priv = PRIV (self);

  priv->in_layout = TRUE;
  graphene_rect_init (&priv->plot, 0, 0, width, height);
  QS_CHART_VIEW_GET_CLASS (self)->layout (self, width, height, &priv->plot);
  priv->in_layout = FALSE;
  priv->layout_width = width;
  priv->layout_height = height;
  priv->layout_valid = TRUE;
  g_clear_pointer (&priv->static_node, gsk_render_node_unref);
}

static void
ensure_layout (QsChartView *self)
{
  QsChartViewPrivate *priv = PRIV (self);
  int width = gtk_widget_get_width (GTK_WIDGET (self));
  int height = gtk_widget_get_height (GTK_WIDGET (self));

  if (!priv->layout_valid || priv->layout_width != width || priv->layout_height != height)
    lay_out (self, width, height);
}

static gboolean
has_data (QsChartView *self)
{
  return QS_CHART_VIEW_GET_CLASS (self)->has_data (self);
}

static void
draw_placeholder (QsChartView *self,
                  QsPainter   *painter,
                  int          width,
                  int          height)
{
  g_autofree char *text = QS_CHART_VIEW_GET_CLASS (self)->placeholder_text (self);
  g_autoptr(PangoLayout) layout = qs_chart_create_layout (GTK_WIDGET (self), text, FALSE);
  cairo_t *cr;

  pango_layout_set_width (layout, MAX (1, width - 24) * PANGO_SCALE);
  pango_layout_set_alignment (layout, PANGO_ALIGN_CENTER);
  pango_layout_set_wrap (layout, PANGO_WRAP_WORD);
  cr = qs_painter_begin_cairo (painter);
  qs_chart_set_source (cr, &PRIV (self)->palette.fg, 0.55);
  qs_plot_show_layout (cr, layout, width / 2.0, height / 2.0, 0.5, 0.5);
  qs_painter_end_cairo (painter, cr);
}

static void
qs_chart_view_snapshot (GtkWidget   *widget,
                        GtkSnapshot *snapshot)
{
  QsChartView *self = QS_CHART_VIEW (widget);
  QsChartViewPrivate *priv = PRIV (self);
  QsChartViewClass *klass = QS_CHART_VIEW_GET_CLASS (self);
  int width = gtk_widget_get_width (widget), height = gtk_widget_get_height (widget);
  QsPainter painter;

  if (width <= 0 || height <= 0)
    return;
  qs_painter_init_snapshot (&painter, snapshot, width, height);
  if (!has_data (self))
    {
      draw_placeholder (self, &painter, width, height);
      return;
    }

  ensure_layout (self);
  if (priv->static_node == NULL)
    {
      GtkSnapshot *recording = gtk_snapshot_new ();
      QsPainter static_painter;

      qs_painter_init_snapshot (&static_painter, recording, width, height);
      klass->draw_static (self, &static_painter);
      priv->static_node = gtk_snapshot_free_to_node (recording);
    }
  if (priv->static_node != NULL)
    gtk_snapshot_append_node (snapshot, priv->static_node);
  if (klass->draw_overlay != NULL)
    klass->draw_overlay (self, &painter);
}

void
qs_chart_view_invalidate (QsChartView *self)
{
  QsChartViewPrivate *priv;

  g_return_if_fail (QS_IS_CHART_VIEW (self));

  priv = PRIV (self);
  g_clear_pointer (&priv->static_node, gsk_render_node_unref);
  priv->layout_valid = FALSE;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
axis_changed_cb (QsChartView *self,
                 QsChartAxis *axis)
{
  /* The layout sets the axes' ranges itself; anything else (a zoom)
   * moves ticks and bars. */
  if (!PRIV (self)->in_layout)
    qs_chart_view_invalidate (self);
}

const graphene_rect_t *
qs_chart_view_get_plot (QsChartView *self)
{
  g_return_val_if_fail (QS_IS_CHART_VIEW (self), NULL);

  ensure_layout (self);
  return &PRIV (self)->plot;
}

double
qs_chart_view_value_to_x (QsChartView *self,
                          double       value)
{
  QsChartViewPrivate *priv = PRIV (self);

  return priv->plot.origin.x + qs_chart_axis_normalize (priv->x_axis, value) * priv->plot.size.width;
}

double
qs_chart_view_x_to_value (QsChartView *self,
                          double       x)
{
  QsChartViewPrivate *priv = PRIV (self);

  return qs_chart_axis_denormalize (priv->x_axis, (x - priv->plot.origin.x) / priv->plot.size.width);
}

double
qs_chart_view_value_to_y (QsChartView *self,
                          double       value)
{
  QsChartViewPrivate *priv = PRIV (self);

  return priv->plot.origin.y + (1 - qs_chart_axis_normalize (priv->y_axis, value)) * priv->plot.size.height;
}

/* ---- pointer, tooltip, style ------------------------------------------------ */

static void
motion_cb (GtkEventControllerMotion *controller,
           double                    x,
           double                    y,
           QsChartView              *self)
{
  QsChartViewClass *klass = QS_CHART_VIEW_GET_CLASS (self);

  PRIV (self)->pointer_x = x;
  ensure_layout (self);
  if (klass->pointer_moved != NULL)
    klass->pointer_moved (self, x, y, TRUE);
}

static void
leave_cb (GtkEventControllerMotion *controller,
          QsChartView              *self)
{
  QsChartViewClass *klass = QS_CHART_VIEW_GET_CLASS (self);

  if (klass->pointer_moved != NULL)
    klass->pointer_moved (self, -1, -1, FALSE);
}

static gboolean
qs_chart_view_query_tooltip (GtkWidget  *widget,
                             int         x,
                             int         y,
                             gboolean    keyboard_mode,
                             GtkTooltip *tooltip)
{
  QsChartView *self = QS_CHART_VIEW (widget);
  QsChartViewClass *klass = QS_CHART_VIEW_GET_CLASS (self);
  g_autofree char *text = NULL;

  if (klass->tooltip_at == NULL || !has_data (self))
    return FALSE;
  ensure_layout (self);
  text = klass->tooltip_at (self, x, y, keyboard_mode);
  if (text == NULL)
    return FALSE;
  gtk_tooltip_set_text (tooltip, text);
  return TRUE;
}

static void
qs_chart_view_css_changed (GtkWidget         *widget,
                           GtkCssStyleChange *change)
{
  QsChartView *self = QS_CHART_VIEW (widget);

  GTK_WIDGET_CLASS (qs_chart_view_parent_class)->css_changed (widget, change);
  if (qs_chart_palette_update (&PRIV (self)->palette, widget))
    qs_chart_view_invalidate (self);
}

static void
qs_chart_view_system_setting_changed (GtkWidget       *widget,
                                      GtkSystemSetting setting)
{
  GTK_WIDGET_CLASS (qs_chart_view_parent_class)->system_setting_changed (widget, setting);
  qs_chart_view_invalidate (QS_CHART_VIEW (widget));
}

/* ---- zoom and pan ------------------------------------------------------------ */

void
qs_chart_view_zoom_at (QsChartView *self,
                       double       x,
                       double       factor)
{
  const graphene_rect_t *plot;

  g_return_if_fail (QS_IS_CHART_VIEW (self));
  g_return_if_fail (factor > 0);

  plot = qs_chart_view_get_plot (self);
  if (plot->size.width <= 0)
    return;
  qs_chart_axis_zoom (PRIV (self)->x_axis, (x - plot->origin.x) / plot->size.width, factor);
}

void
qs_chart_view_pan_by (QsChartView *self,
                      double       dx)
{
  const graphene_rect_t *plot;

  g_return_if_fail (QS_IS_CHART_VIEW (self));

  plot = qs_chart_view_get_plot (self);
  if (plot->size.width <= 0)
    return;
  /* Dragging right brings lower values into view. */
  qs_chart_axis_pan (PRIV (self)->x_axis, -dx / plot->size.width);
}

void
qs_chart_view_reset_zoom (QsChartView *self)
{
  g_return_if_fail (QS_IS_CHART_VIEW (self));
  qs_chart_axis_reset_view (PRIV (self)->x_axis);
}

gboolean
_qs_chart_view_scroll (QsChartView     *self,
                       double           x,
                       double           dy,
                       GdkModifierType  state)
{
  /* Plain scrolling belongs to the page around the chart. */
  if (!PRIV (self)->zoomable || (state & GDK_CONTROL_MASK) == 0 || dy == 0 || !has_data (self))
    return FALSE;
  qs_chart_view_zoom_at (self, x, pow (SCROLL_ZOOM_STEP, -dy));
  return TRUE;
}

static gboolean
scroll_cb (GtkEventControllerScroll *controller,
           double                    dx,
           double                    dy,
           QsChartView              *self)
{
  GdkModifierType state = gtk_event_controller_get_current_event_state (GTK_EVENT_CONTROLLER (controller));

  return _qs_chart_view_scroll (self, PRIV (self)->pointer_x, dy, state);
}

static void
pinch_begin_cb (GtkGesture       *gesture,
                GdkEventSequence *sequence,
                QsChartView      *self)
{
  if (!PRIV (self)->zoomable || !has_data (self))
    {
      gtk_gesture_set_state (gesture, GTK_EVENT_SEQUENCE_DENIED);
      return;
    }
  PRIV (self)->pinch_scale = 1.0;
}

static void
pinch_scale_changed_cb (GtkGestureZoom *gesture,
                        double          scale,
                        QsChartView    *self)
{
  QsChartViewPrivate *priv = PRIV (self);
  double x, y;

  if (scale <= 0 || priv->pinch_scale <= 0)
    return;
  if (!gtk_gesture_get_bounding_box_center (GTK_GESTURE (gesture), &x, &y))
    x = priv->pointer_x;
  qs_chart_view_zoom_at (self, x, scale / priv->pinch_scale);
  priv->pinch_scale = scale;
}

/* A middle-button drag, or a primary one with Shift, pans. */
static gboolean
pans (QsChartView     *self,
      guint            button,
      GdkModifierType  state)
{
  gboolean pan = button == GDK_BUTTON_MIDDLE || (button == GDK_BUTTON_PRIMARY && (state & GDK_SHIFT_MASK));

  return PRIV (self)->zoomable && pan && has_data (self);
}

gboolean
_qs_chart_view_drag (QsChartView     *self,
                     guint            button,
                     GdkModifierType  state,
                     double           x,
                     double           dx)
{
  if (!pans (self, button, state))
    return FALSE;
  /* In two steps, as motion events come. */
  qs_chart_view_pan_by (self, dx / 2);
  qs_chart_view_pan_by (self, dx - dx / 2);
  return TRUE;
}

static void
pan_begin_cb (GtkGestureDrag *gesture,
              double          x,
              double          y,
              QsChartView    *self)
{
  guint button = gtk_gesture_single_get_current_button (GTK_GESTURE_SINGLE (gesture));
  GdkModifierType state = gtk_event_controller_get_current_event_state (GTK_EVENT_CONTROLLER (gesture));

  if (!pans (self, button, state))
    {
      gtk_gesture_set_state (GTK_GESTURE (gesture), GTK_EVENT_SEQUENCE_DENIED);
      return;
    }
  gtk_gesture_set_state (GTK_GESTURE (gesture), GTK_EVENT_SEQUENCE_CLAIMED);
  PRIV (self)->pan_offset = 0;
  gtk_widget_set_cursor_from_name (GTK_WIDGET (self), "grabbing");
}

static void
pan_update_cb (GtkGestureDrag *gesture,
               double          offset_x,
               double          offset_y,
               QsChartView    *self)
{
  QsChartViewPrivate *priv = PRIV (self);

  qs_chart_view_pan_by (self, offset_x - priv->pan_offset);
  priv->pan_offset = offset_x;
}

static void
pan_end_cb (GtkGestureDrag *gesture,
            double          offset_x,
            double          offset_y,
            QsChartView    *self)
{
  gtk_widget_set_cursor (GTK_WIDGET (self), NULL);
}

void
_qs_chart_view_press (QsChartView *self,
                      int          n_press)
{
  if (n_press == 2 && PRIV (self)->zoomable)
    qs_chart_view_reset_zoom (self);
}

static void
double_click_cb (GtkGestureClick *gesture,
                 int              n_press,
                 double           x,
                 double           y,
                 QsChartView     *self)
{
  _qs_chart_view_press (self, n_press);
}

gboolean
_qs_chart_view_key (QsChartView     *self,
                    guint            keyval,
                    GdkModifierType  state)
{
  const graphene_rect_t *plot;
  double centre;

  if (!PRIV (self)->zoomable || !has_data (self) || (state & (GDK_CONTROL_MASK | GDK_ALT_MASK)))
    return FALSE;
  plot = qs_chart_view_get_plot (self);
  centre = plot->origin.x + plot->size.width / 2;
  switch (keyval)
    {
    case GDK_KEY_0:
    case GDK_KEY_KP_0:
      qs_chart_view_reset_zoom (self);
      return TRUE;
    case GDK_KEY_plus:
    case GDK_KEY_equal:
    case GDK_KEY_KP_Add:
      qs_chart_view_zoom_at (self, centre, KEY_ZOOM_STEP);
      return TRUE;
    case GDK_KEY_minus:
    case GDK_KEY_KP_Subtract:
      qs_chart_view_zoom_at (self, centre, 1 / KEY_ZOOM_STEP);
      return TRUE;
    default:
      return FALSE;
    }
}

static gboolean
zoom_key_cb (GtkEventControllerKey *controller,
             guint                  keyval,
             guint                  keycode,
             GdkModifierType        state,
             QsChartView           *self)
{
  return _qs_chart_view_key (self, keyval, state);
}

void
qs_chart_view_set_zoomable (QsChartView *self,
                            gboolean     zoomable)
{
  g_return_if_fail (QS_IS_CHART_VIEW (self));

  PRIV (self)->zoomable = !!zoomable;
  if (!zoomable)
    qs_chart_view_reset_zoom (self);
}

/* ---- render and export ------------------------------------------------------- */

GdkTexture *
qs_chart_view_render (QsChartView *self,
                      int          width,
                      int          height)
{
  QsChartViewClass *klass;
  g_autoptr(GskRenderNode) node = NULL;
  GtkSnapshot *snapshot;
  QsPainter painter;

  g_return_val_if_fail (QS_IS_CHART_VIEW (self), NULL);
  g_return_val_if_fail (width > 0 && height > 0, NULL);

  klass = QS_CHART_VIEW_GET_CLASS (self);
  snapshot = gtk_snapshot_new ();
  qs_painter_init_snapshot (&painter, snapshot, width, height);
  qs_painter_fill_rect (&painter, &PRIV (self)->palette.bg, 1.0, 0, 0, width, height);
  if (has_data (self))
    {
      lay_out (self, width, height);
      klass->draw_static (self, &painter);
      if (klass->draw_overlay != NULL)
        klass->draw_overlay (self, &painter);
      /* The screen's own size is laid out again at the next frame. */
      qs_chart_view_invalidate (self);
    }
  else
    draw_placeholder (self, &painter, width, height);
  node = gtk_snapshot_free_to_node (snapshot);
  return qs_chart_render_node (node, width, height);
}

typedef struct {
  QsChartView *self;
  const char  *title;
} Export;

static void
draw_export_cb (cairo_t  *cr,
                double    width,
                double    height,
                gpointer  user_data)
{
  Export *export = user_data;

  QS_CHART_VIEW_GET_CLASS (export->self)->draw_export (export->self, cr, width, height, export->title);
}

gboolean
qs_chart_view_export (QsChartView *self,
                      const char  *path,
                      int          width,
                      int          height,
                      GError     **error)
{
  g_autofree char *title = NULL;
  Export export;

  g_return_val_if_fail (QS_IS_CHART_VIEW (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (width > 0 && height > 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  title = has_data (self) ? QS_CHART_VIEW_GET_CLASS (self)->export_title (self) : NULL;
  if (title == NULL)
    {
      g_set_error_literal (error, QS_ERROR, QS_ERROR_INVALID, _("Nothing to plot"));
      return FALSE;
    }
  export.self = self;
  export.title = title;
  return qs_plot_save (path, width, height, title, draw_export_cb, &export, error);
}

/* ---- GObject ------------------------------------------------------------------- */

QsChartAxis *
qs_chart_view_get_x_axis (QsChartView *self)
{
  g_return_val_if_fail (QS_IS_CHART_VIEW (self), NULL);
  return PRIV (self)->x_axis;
}

QsChartAxis *
qs_chart_view_get_y_axis (QsChartView *self)
{
  g_return_val_if_fail (QS_IS_CHART_VIEW (self), NULL);
  return PRIV (self)->y_axis;
}

const QsChartPalette *
qs_chart_view_get_palette (QsChartView *self)
{
  g_return_val_if_fail (QS_IS_CHART_VIEW (self), NULL);
  return &PRIV (self)->palette;
}

static void
qs_chart_view_measure (GtkWidget      *widget,
                       GtkOrientation  orientation,
                       int             for_size,
                       int            *minimum,
                       int            *natural,
                       int            *minimum_baseline,
                       int            *natural_baseline)
{
  *minimum = orientation == GTK_ORIENTATION_HORIZONTAL ? 160 : 80;
  *natural = orientation == GTK_ORIENTATION_HORIZONTAL ? 480 : 240;
}

static void
qs_chart_view_dispose (GObject *object)
{
  QsChartViewPrivate *priv = PRIV (QS_CHART_VIEW (object));

  g_clear_pointer (&priv->static_node, gsk_render_node_unref);
  if (priv->x_axis != NULL)
    g_signal_handlers_disconnect_by_data (priv->x_axis, object);
  if (priv->y_axis != NULL)
    g_signal_handlers_disconnect_by_data (priv->y_axis, object);
  g_clear_object (&priv->x_axis);
  g_clear_object (&priv->y_axis);
  G_OBJECT_CLASS (qs_chart_view_parent_class)->dispose (object);
}

static char *
qs_chart_view_real_placeholder_text (QsChartView *self)
{
  return g_strdup (_("No tensor selected"));
}

static void
qs_chart_view_class_init (QsChartViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = qs_chart_view_dispose;
  widget_class->snapshot = qs_chart_view_snapshot;
  widget_class->measure = qs_chart_view_measure;
  widget_class->query_tooltip = qs_chart_view_query_tooltip;
  widget_class->css_changed = qs_chart_view_css_changed;
  widget_class->system_setting_changed = qs_chart_view_system_setting_changed;
  klass->placeholder_text = qs_chart_view_real_placeholder_text;

  /* A chart is a picture to assistive technology; subclasses keep its
   * label a sentence of what it shows. */
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
qs_chart_view_init (QsChartView *self)
{
  QsChartViewPrivate *priv = PRIV (self);
  GtkWidget *widget = GTK_WIDGET (self);
  GtkEventController *motion, *scroll, *key;
  GtkGesture *pinch, *pan, *click;

  priv->x_axis = qs_chart_axis_new ();
  priv->y_axis = qs_chart_axis_new ();
  g_signal_connect_swapped (priv->x_axis, "changed", G_CALLBACK (axis_changed_cb), self);
  g_signal_connect_swapped (priv->y_axis, "changed", G_CALLBACK (axis_changed_cb), self);

  motion = gtk_event_controller_motion_new ();
  g_signal_connect (motion, "enter", G_CALLBACK (motion_cb), self);
  g_signal_connect (motion, "motion", G_CALLBACK (motion_cb), self);
  g_signal_connect (motion, "leave", G_CALLBACK (leave_cb), self);
  gtk_widget_add_controller (widget, motion);

  scroll = gtk_event_controller_scroll_new (GTK_EVENT_CONTROLLER_SCROLL_VERTICAL);
  g_signal_connect (scroll, "scroll", G_CALLBACK (scroll_cb), self);
  gtk_widget_add_controller (widget, scroll);

  pinch = gtk_gesture_zoom_new ();
  g_signal_connect (pinch, "begin", G_CALLBACK (pinch_begin_cb), self);
  g_signal_connect (pinch, "scale-changed", G_CALLBACK (pinch_scale_changed_cb), self);
  gtk_widget_add_controller (widget, GTK_EVENT_CONTROLLER (pinch));

  pan = gtk_gesture_drag_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (pan), 0);
  g_signal_connect (pan, "drag-begin", G_CALLBACK (pan_begin_cb), self);
  g_signal_connect (pan, "drag-update", G_CALLBACK (pan_update_cb), self);
  g_signal_connect (pan, "drag-end", G_CALLBACK (pan_end_cb), self);
  gtk_widget_add_controller (widget, GTK_EVENT_CONTROLLER (pan));

  click = gtk_gesture_click_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (click), GDK_BUTTON_PRIMARY);
  g_signal_connect (click, "pressed", G_CALLBACK (double_click_cb), self);
  gtk_widget_add_controller (widget, GTK_EVENT_CONTROLLER (click));

  key = gtk_event_controller_key_new ();
  g_signal_connect (key, "key-pressed", G_CALLBACK (zoom_key_cb), self);
  gtk_widget_add_controller (widget, key);

  gtk_widget_set_has_tooltip (widget, TRUE);
  qs_chart_palette_init (&priv->palette, widget);
}
