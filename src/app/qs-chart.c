/* qs-chart.c: what the chart widgets share: palette, painter and text layouts.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "app/qs-chart.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

/* libadwaita 1.2's named colours, used when the stylesheet does not define
 * them (a plain GTK theme, or a test without adw_init()). */
static const char *light_accent = "#1c71d8";
static const char *dark_accent = "#78aeed";
static const char *light_warning = "#9c6e03";
static const char *dark_warning = "#f8e45c";
static const char *light_fg = "rgba(0,0,0,0.8)";
static const char *light_bg = "#fafafa";
static const char *dark_bg = "#242424";

static void
lookup_color (GtkStyleContext *context,
              const char      *name,
              const char      *fallback,
              GdkRGBA         *color)
{
  /* GTK 4.8 still resolves @define-color names for us; newer GTK drops
   * this, but we are pinned to 4.8 and fall back to Adwaita's values. */
  if (!gtk_style_context_lookup_color (context, name, color))
    gdk_rgba_parse (color, fallback);
}

void
qs_chart_palette_init (QsChartPalette *palette,
                       GtkWidget      *widget)
{
  GtkStyleContext *context = gtk_widget_get_style_context (widget);
  double luminance;

  /* A widget outside any window has no cascade and reports CSS's initial
   * colour, so it (a chart rendered for export or a test) asks the
   * stylesheet's named colour instead. */
  if (gtk_widget_get_root (widget) != NULL)
    gtk_style_context_get_color (context, &palette->fg);
  else
    lookup_color (context, "window_fg_color", light_fg, &palette->fg);

  /* The text colour tells light from dark for any theme, including high
   * contrast, without asking the style manager (which needs adw_init()). */
  luminance = 0.2126 * palette->fg.red + 0.7152 * palette->fg.green + 0.0722 * palette->fg.blue;
  palette->dark = luminance > 0.5;

  lookup_color (context, "accent_color", palette->dark ? dark_accent : light_accent, &palette->accent);
  lookup_color (context, "warning_color", palette->dark ? dark_warning : light_warning, &palette->warning);
  lookup_color (context, "window_bg_color", palette->dark ? dark_bg : light_bg, &palette->bg);
}

gboolean
qs_chart_palette_update (QsChartPalette *palette,
                         GtkWidget      *widget)
{
  QsChartPalette now;
  gboolean same;

  qs_chart_palette_init (&now, widget);
  same = gdk_rgba_equal (&now.fg, &palette->fg) &&
         gdk_rgba_equal (&now.bg, &palette->bg) &&
         gdk_rgba_equal (&now.accent, &palette->accent) &&
         gdk_rgba_equal (&now.warning, &palette->warning) &&
         now.dark == palette->dark;
  *palette = now;
  return !same;
}

void
qs_painter_init_snapshot (QsPainter   *painter,
                          GtkSnapshot *snapshot,
                          double       width,
                          double       height)
{
  painter->snapshot = snapshot;
  painter->cr = NULL;
  graphene_rect_init (&painter->bounds, 0, 0, width, height);
}

void
qs_painter_init_cairo (QsPainter *painter,
                       cairo_t   *cr,
                       double     width,
                       double     height)
{
  painter->snapshot = NULL;
  painter->cr = cr;
  graphene_rect_init (&painter->bounds, 0, 0, width, height);
}

void
qs_painter_fill_rect (QsPainter     *painter,
                      const GdkRGBA *color,
                      double         alpha,
                      double         x,
                      double         y,
                      double         width,
                      double         height)
{
  if (width <= 0 || height <= 0)
    return;

  if (painter->snapshot != NULL)
    {
      GdkRGBA c = *color;

      c.alpha *= alpha;
      gtk_snapshot_append_color (painter->snapshot, &c,
                                 &GRAPHENE_RECT_INIT (x, y, width, height));
    }
  else
    {
      qs_chart_set_source (painter->cr, color, alpha);
      cairo_rectangle (painter->cr, x, y, width, height);
      cairo_fill (painter->cr);
    }
}

void
qs_painter_push_clip (QsPainter             *painter,
                      const graphene_rect_t *rect)
{
  if (painter->snapshot != NULL)
    gtk_snapshot_push_clip (painter->snapshot, rect);
  else
    {
      cairo_save (painter->cr);
      cairo_rectangle (painter->cr, rect->origin.x, rect->origin.y, rect->size.width, rect->size.height);
      cairo_clip (painter->cr);
    }
}

void
qs_painter_pop_clip (QsPainter *painter)
{
  if (painter->snapshot != NULL)
    gtk_snapshot_pop (painter->snapshot);
  else
    cairo_restore (painter->cr);
}

cairo_t *
qs_painter_begin_cairo (QsPainter *painter)
{
  cairo_t *cr;

  if (painter->snapshot != NULL)
    return gtk_snapshot_append_cairo (painter->snapshot, &painter->bounds);

  cr = cairo_reference (painter->cr);
  cairo_save (cr);
  return cr;
}

void
qs_painter_end_cairo (QsPainter *painter,
                      cairo_t   *cr)
{
  if (painter->snapshot == NULL)
    cairo_restore (cr);
  cairo_destroy (cr);
}

void
qs_chart_set_source (cairo_t       *cr,
                     const GdkRGBA *color,
                     double         alpha)
{
  cairo_set_source_rgba (cr, color->red, color->green, color->blue, color->alpha * alpha);
}

PangoLayout *
qs_chart_create_layout (GtkWidget  *widget,
                        const char *text,
                        gboolean    small)
{
  PangoLayout *layout = gtk_widget_create_pango_layout (widget, text);
  PangoAttrList *attrs = pango_attr_list_new ();

  pango_attr_list_insert (attrs, pango_attr_font_features_new ("tnum=1"));
  if (small)
    pango_attr_list_insert (attrs, pango_attr_scale_new (PANGO_SCALE_SMALL));
  pango_layout_set_attributes (layout, attrs);
  pango_attr_list_unref (attrs);
  return layout;
}


GdkTexture *
qs_chart_render_node (GskRenderNode *node,
                      int            width,
                      int            height)
{
  cairo_surface_t *surface;
  GdkTexture *texture;
  GBytes *bytes;
  cairo_t *cr;

  g_return_val_if_fail (width > 0 && height > 0, NULL);

  surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, width, height);
  if (node != NULL)
    {
      cr = cairo_create (surface);
      gsk_render_node_draw (node, cr);
      cairo_destroy (cr);
    }
  cairo_surface_flush (surface);

  /* CAIRO_FORMAT_ARGB32 is premultiplied native-endian ARGB, which is what
   * GDK_MEMORY_DEFAULT stands for. */
  bytes = g_bytes_new_with_free_func (cairo_image_surface_get_data (surface),
                                      (gsize) cairo_image_surface_get_stride (surface) * height,
                                      (GDestroyNotify) cairo_surface_destroy,
                                      surface);
  texture = gdk_memory_texture_new (width, height, GDK_MEMORY_DEFAULT, bytes,
                                    cairo_image_surface_get_stride (surface));
  g_bytes_unref (bytes);
  return texture;
}

static const struct {
  const char *name;
  const char *mime_type;
  const char *suffix;
} plot_filters[] = {
  { N_("PNG image"), "image/png", ".png" },
  { N_("SVG drawing"), "image/svg+xml", ".svg" },
  { N_("PDF document"), "application/pdf", ".pdf" },
};

GtkFileChooserNative *
qs_chart_export_chooser_new (GtkWindow  *parent,
                             GFile      *folder,
                             const char *name)
{
  GtkFileChooserNative *dialog;

  dialog = gtk_file_chooser_native_new (_("Export Plot"), parent, GTK_FILE_CHOOSER_ACTION_SAVE,
                                        _("_Export"), _("_Cancel"));
  for (gsize i = 0; i < G_N_ELEMENTS (plot_filters); i++)
    {
      g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();

      gtk_file_filter_set_name (filter, _(plot_filters[i].name));
      gtk_file_filter_add_mime_type (filter, plot_filters[i].mime_type);
      g_object_set_data (G_OBJECT (filter), "suffix", (gpointer) plot_filters[i].suffix);
      gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (dialog), filter);
    }
  if (folder != NULL)
    gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (dialog), folder, NULL);
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (dialog), name);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (dialog), TRUE);
  return dialog;
}

char *
qs_chart_export_chooser_path (GtkFileChooser *chooser)
{
  g_autoptr(GFile) file = gtk_file_chooser_get_file (chooser);
  char *path = file ? g_file_get_path (file) : NULL;
  QsPlotFormat format;

  if (path != NULL && !qs_plot_format_from_path (path, &format))
    {
      GtkFileFilter *filter = gtk_file_chooser_get_filter (chooser);
      const char *suffix = filter != NULL ? g_object_get_data (G_OBJECT (filter), "suffix") : NULL;
      char *with_suffix = g_strconcat (path, suffix != NULL ? suffix : ".png", NULL);

      g_free (path);
      path = with_suffix;
    }
  return path;
}
