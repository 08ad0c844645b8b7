/* qs-plot-file.c: charts written as PNG, SVG or PDF, atomically.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "plot/qs-plot.h"

#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <glib/gi18n.h>
#include <string.h>

#include "model/qs-error.h"
#include "model/qs-output-file.h"

gboolean
qs_plot_format_from_path (const char   *path,
                          QsPlotFormat *format)
{
  static const struct { const char *suffix; QsPlotFormat format; } suffixes[] = {
    { ".png", QS_PLOT_FORMAT_PNG },
    { ".svg", QS_PLOT_FORMAT_SVG },
    { ".pdf", QS_PLOT_FORMAT_PDF },
  };
  g_autofree char *lower = NULL;

  g_return_val_if_fail (path != NULL, FALSE);

  lower = g_ascii_strdown (path, -1);
  for (gsize i = 0; i < G_N_ELEMENTS (suffixes); i++)
    if (g_str_has_suffix (lower, suffixes[i].suffix))
      {
        *format = suffixes[i].format;
        return TRUE;
      }
  return FALSE;
}

static cairo_status_t
append_cb (void                *closure,
           const unsigned char *data,
           unsigned int         length)
{
  g_byte_array_append (closure, data, length);
  return CAIRO_STATUS_SUCCESS;
}

/* Cairo draws SVG text as glyph outlines: a <title> keeps the chart's
 * title findable and readable to screen readers. */
static void
insert_svg_title (GByteArray *svg,
                  const char *title)
{
  g_autofree char *escaped = g_markup_escape_text (title, -1);
  g_autofree char *element = g_strdup_printf ("\n<title>%s</title>", escaped);
  g_autofree char *text = g_strndup ((const char *) svg->data, svg->len);
  const char *open = strstr (text, "<svg");
  const char *end = open != NULL ? strchr (open, '>') : NULL;

  if (end == NULL)
    return;
  g_byte_array_remove_range (svg, 0, svg->len);
  g_byte_array_append (svg, (const guint8 *) text, (guint) (end + 1 - text));
  g_byte_array_append (svg, (const guint8 *) element, (guint) strlen (element));
  g_byte_array_append (svg, (const guint8 *) end + 1, (guint) strlen (end + 1));
}

/* Renders into memory: the file is then written in one piece, and a
 * drawing that fails leaves nothing on disk. */
static GByteArray *
render (QsPlotFormat     format,
        int              width,
        int              height,
        const char      *title,
        QsPlotDrawFunc   draw,
        gpointer         user_data,
        cairo_status_t  *status)
{
  GByteArray *bytes = g_byte_array_new ();
  cairo_surface_t *surface;
  cairo_t *cr;

  switch (format)
    {
    case QS_PLOT_FORMAT_SVG:
      surface = cairo_svg_surface_create_for_stream (append_cb, bytes, width, height);
      /* Pixels, not points: the file is as big as the chart on screen. */
      cairo_svg_surface_set_document_unit (surface, CAIRO_SVG_UNIT_PX);
      break;
    case QS_PLOT_FORMAT_PDF:
      surface = cairo_pdf_surface_create_for_stream (append_cb, bytes, width, height);
      cairo_pdf_surface_set_metadata (surface, CAIRO_PDF_METADATA_CREATOR, "Quantscope");
      if (title != NULL)
        cairo_pdf_surface_set_metadata (surface, CAIRO_PDF_METADATA_TITLE, title);
      break;
    case QS_PLOT_FORMAT_PNG:
    default:
      surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, width, height);
      break;
    }

  cr = cairo_create (surface);
  draw (cr, width, height, user_data);
  *status = cairo_status (cr);
  cairo_destroy (cr);
  if (*status == CAIRO_STATUS_SUCCESS && format == QS_PLOT_FORMAT_PNG)
    *status = cairo_surface_write_to_png_stream (surface, append_cb, bytes);
  cairo_surface_finish (surface);
  if (*status == CAIRO_STATUS_SUCCESS)
    *status = cairo_surface_status (surface);
  cairo_surface_destroy (surface);

  if (*status == CAIRO_STATUS_SUCCESS && format == QS_PLOT_FORMAT_SVG && title != NULL)
    insert_svg_title (bytes, title);
  return bytes;
}

gboolean
qs_plot_check_size (int      width,
                    int      height,
                    GError **error)
{
  if (width < 1 || height < 1 || width > QS_PLOT_MAX_SIZE || height > QS_PLOT_MAX_SIZE
      || (gint64) width * height > QS_PLOT_MAX_PIXELS)
    {
      g_set_error (error, QS_ERROR, QS_ERROR_INVALID,
                   _("A plot must be 1 to %d pixels wide and high and have at most %d pixels, not %d × %d"),
                   QS_PLOT_MAX_SIZE, QS_PLOT_MAX_PIXELS, width, height);
      return FALSE;
    }
  return TRUE;
}

gboolean
qs_plot_save (const char      *path,
              int              width,
              int              height,
              const char      *title,
              QsPlotDrawFunc   draw,
              gpointer         user_data,
              GError         **error)
{
  g_autoptr(GByteArray) bytes = NULL;
  g_autoptr(GError) local = NULL;
  g_autofree char *display = NULL;
  cairo_status_t status;
  QsPlotFormat format;

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (draw != NULL, FALSE);

  display = g_filename_display_name (path);
  if (!qs_plot_format_from_path (path, &format))
    {
      g_set_error (error, QS_ERROR, QS_ERROR_INVALID,
                   _("Cannot write the plot “%s”: the name must end in .png, .svg or .pdf"), display);
      return FALSE;
    }
  if (!qs_plot_check_size (width, height, error))
    return FALSE;

  bytes = render (format, width, height, title, draw, user_data, &status);
  if (status != CAIRO_STATUS_SUCCESS)
    {
      g_set_error (error, QS_ERROR, QS_ERROR_WRITE, _("Could not draw the plot “%s”: %s"),
                   display, cairo_status_to_string (status));
      return FALSE;
    }

  /* The same atomic write as scheme files, through symbolic links. */
  if (!qs_output_set_contents (path, (const char *) bytes->data, bytes->len, &local))
    {
      if (g_error_matches (local, QS_ERROR, QS_ERROR_WRITE))
        g_set_error (error, QS_ERROR, QS_ERROR_WRITE, _("Could not write the plot “%s”: %s"),
                     display, local->message);
      else
        g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  return TRUE;
}
