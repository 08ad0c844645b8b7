/* qs-plot-frame.c: the frame every chart draws in: styles, title, legend, axes, ticks and text.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "plot/qs-plot-private.h"

#include <glib/gi18n.h>
#include <math.h>

#define TICK_LENGTH 4.0

static QsPlotColor
hex (guint32 rgb)
{
  QsPlotColor c = { ((rgb >> 16) & 0xff) / 255.0, ((rgb >> 8) & 0xff) / 255.0, (rgb & 0xff) / 255.0, 1.0 };

  return c;
}

void
qs_plot_style_init (QsPlotStyle *style,
                    QsPlotTheme  theme)
{
  /* Okabe and Ito's palette: its colours stay apart for readers with any
   * of the common colour-vision deficiencies, and in greyscale print. */
  static const guint32 series[QS_PLOT_N_SERIES_COLORS] = {
    0x0072b2, 0xd55e00, 0x009e73, 0xcc79a7, 0xe69f00, 0x56b4e9,
  };
  gboolean dark = theme == QS_PLOT_THEME_DARK;

  g_return_if_fail (style != NULL);

  /* The dark colours are libadwaita 1.2's, so an export from the dark app
   * looks like the app. */
  style->background = dark ? hex (0x242424) : hex (0xffffff);
  style->foreground = dark ? hex (0xffffff) : hex (0x1a1a1a);
  style->muted = dark ? hex (0xc0c0c0) : hex (0x4d4d4d);
  style->grid = dark ? hex (0x3a3a3a) : hex (0xe3e3e3);
  style->bars = dark ? hex (0x4a6a8f) : hex (0xa6c8e6);
  style->accent = dark ? hex (0x78aeed) : hex (0x0072b2);
  style->reconstructed = dark ? hex (0xffa348) : hex (0xd55e00);
  style->warning = dark ? hex (0xf8e45c) : hex (0xb07800);
  for (int i = 0; i < QS_PLOT_N_SERIES_COLORS; i++)
    style->series[i] = hex (series[i]);
  if (dark)
    style->series[0] = style->accent;
  style->font_family = "Sans";
  style->font_size = 12.0;
}

void
_qs_plot_set_color (cairo_t           *cr,
                    const QsPlotColor *color,
                    double             alpha)
{
  cairo_set_source_rgba (cr, color->red, color->green, color->blue, color->alpha * alpha);
}

PangoLayout *
_qs_plot_layout (QsPlotFrame *frame,
                 const char  *text,
                 double       scale,
                 gboolean     bold)
{
  PangoLayout *layout = pango_cairo_create_layout (frame->cr);
  PangoFontDescription *font = pango_font_description_from_string (frame->style->font_family);
  PangoAttrList *attrs = pango_attr_list_new ();

  pango_font_description_set_absolute_size (font, frame->style->font_size * scale * PANGO_SCALE);
  if (bold)
    pango_font_description_set_weight (font, PANGO_WEIGHT_BOLD);
  pango_layout_set_font_description (layout, font);
  pango_attr_list_insert (attrs, pango_attr_font_features_new ("tnum=1"));
  pango_layout_set_attributes (layout, attrs);
  pango_layout_set_text (layout, text, -1);
  pango_attr_list_unref (attrs);
  pango_font_description_free (font);
  return layout;
}

void
qs_plot_show_layout (cairo_t     *cr,
                      PangoLayout *layout,
                      double       x,
                      double       y,
                      double       ax,
                      double       ay)
{
  PangoRectangle logical;

  pango_layout_get_pixel_extents (layout, NULL, &logical);
  /* Whole pixels keep small text crisp with the hinting GTK uses. */
  cairo_move_to (cr, round (x - ax * logical.width - logical.x), round (y - ay * logical.height - logical.y));
  pango_cairo_show_layout (cr, layout);
}

void
_qs_plot_show_layout_halo (cairo_t           *cr,
                           PangoLayout       *layout,
                           double             x,
                           double             y,
                           double             ax,
                           double             ay,
                           const QsPlotColor *color,
                           const QsPlotColor *halo)
{
  PangoRectangle logical;

  pango_layout_get_pixel_extents (layout, NULL, &logical);
  cairo_move_to (cr, round (x - ax * logical.width - logical.x), round (y - ay * logical.height - logical.y));
  pango_cairo_layout_path (cr, layout);
  _qs_plot_set_color (cr, halo, 1.0);
  cairo_set_line_width (cr, 3.0);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  cairo_stroke (cr);
  _qs_plot_set_color (cr, color, 1.0);
  qs_plot_show_layout (cr, layout, x, y, ax, ay);
}

static void
layout_size (PangoLayout *layout,
             double      *width,
             double      *height)
{
  PangoRectangle logical;

  pango_layout_get_pixel_extents (layout, NULL, &logical);
  if (width != NULL)
    *width = logical.width;
  if (height != NULL)
    *height = logical.height;
}

/* ---- values and ticks --------------------------------------------------- */

int
qs_plot_nice_ticks (double    lo,
                    double    hi,
                    int       target,
                    gboolean  integers,
                    double   *ticks,
                    int       max_ticks,
                    double   *step)
{
  double raw, magnitude, fraction, s, first;
  int n = 0;

  if (!(hi > lo) || !isfinite (lo) || !isfinite (hi) || max_ticks <= 0)
    {
      *step = 1;
      return 0;
    }

  raw = (hi - lo) / MAX (target, 1);
  magnitude = pow (10, floor (log10 (raw)));
  fraction = raw / magnitude;
  if (fraction < 1.5)
    s = 1;
  else if (fraction < 3)
    s = 2;
  else if (fraction < 7)
    s = 5;
  else
    s = 10;
  s *= magnitude;
  if (integers && s < 1)
    s = 1;

  first = ceil (lo / s - 1e-9);
  for (double k = first; n < max_ticks; k++)
    {
      double v = k * s;

      if (v > hi + s * 1e-9)
        break;
      /* k * s can come out as 2.9999999999999996 or -0: keep labels clean. */
      if (fabs (v) < s * 1e-9)
        v = 0;
      ticks[n++] = v;
    }

  *step = s;
  return n;
}

/* Typography: a real minus sign, as GNOME's HIG asks for numbers. */
static char *
replace_minus (char *text)
{
  if (text[0] == '-')
    {
      char *with_minus = g_strconcat ("−", text + 1, NULL);

      g_free (text);
      return with_minus;
    }
  return text;
}

char *
qs_plot_format_value (double value)
{
  if (value == 0)
    return g_strdup ("0");
  return replace_minus (g_strdup_printf ("%.4g", value));
}

char *
qs_plot_format_count (double count)
{
  /* Translators: suffixes of compact counts on a chart axis: thousands,
   * millions, billions. */
  static const char *suffixes[] = { N_("k"), N_("M"), N_("G") };
  double scaled = count;
  int i = -1;

  if (fabs (count) < 10000)
    return g_strdup_printf ("%g", count);

  while (fabs (scaled) >= 1000 && i < 2)
    {
      scaled /= 1000;
      i++;
    }
  return g_strdup_printf ("%g%s", round (scaled * 10) / 10, _(suffixes[i]));
}

double
qs_plot_area_x (const QsPlotArea *area,
                double            value)
{
  return area->x + (value - area->x_lo) / (area->x_hi - area->x_lo) * area->width;
}

double
qs_plot_area_y (const QsPlotArea *area,
                double            value)
{
  double v = value, lo = area->y_lo, hi = area->y_hi;

  if (area->y_log)
    {
      v = log10 (1.0 + MAX (value, 0.0));
      lo = log10 (1.0 + lo);
      hi = log10 (1.0 + hi);
    }
  return area->y + area->height - (v - lo) / (hi - lo) * area->height;
}

/* Tick values on one axis: round values, or powers of ten on a log axis
 * (0, 1, 10, 100, ... on log10 (1 + count)). */
static int
axis_ticks (const QsPlotFrame *f,
            gboolean           vertical,
            double            *ticks)
{
  const QsPlotArea *a = &f->area;
  QsPlotTicks kind = vertical ? f->y_ticks : f->x_ticks;
  double lo = vertical ? a->y_lo : a->x_lo, hi = vertical ? a->y_hi : a->x_hi;
  double length = vertical ? a->height : a->width;
  double step;
  int n = 0;

  if (kind == QS_PLOT_TICKS_CATEGORIES)
    return 0;
  if (vertical && a->y_log)
    {
      double decade = 1;

      ticks[n++] = 0;
      while (decade <= hi && n < QS_PLOT_MAX_TICKS)
        {
          ticks[n++] = decade;
          decade *= 10;
        }
      return n;
    }
  /* About one tick per 90 pixels across, one per 45 up. */
  return qs_plot_nice_ticks (lo, hi, MAX (2, (int) (length / (vertical ? 45 : 90))),
                             kind != QS_PLOT_TICKS_VALUES, ticks, QS_PLOT_MAX_TICKS, &step);
}

static char *
tick_text (QsPlotTicks kind,
           double      value)
{
  return kind == QS_PLOT_TICKS_COUNTS ? qs_plot_format_count (value) : qs_plot_format_value (value);
}

/* ---- layout --------------------------------------------------------------- */

#define KEY_WIDTH 22.0

static void
draw_key (cairo_t         *cr,
          const QsPlotKey *key,
          double           x,
          double           y)
{
  _qs_plot_set_color (cr, &key->color, 1.0);
  cairo_set_line_width (cr, 1.5);
  switch (key->kind)
    {
    case QS_PLOT_KEY_BOX:
      cairo_rectangle (cr, x + 5, y - 5, 12, 10);
      cairo_fill (cr);
      break;
    case QS_PLOT_KEY_POINTS:
      cairo_arc (cr, x + KEY_WIDTH / 2, y, 3.0, 0, 2 * G_PI);
      cairo_fill (cr);
      G_GNUC_FALLTHROUGH;
    case QS_PLOT_KEY_LINE:
      cairo_move_to (cr, x, y);
      cairo_line_to (cr, x + KEY_WIDTH, y);
      cairo_stroke (cr);
      break;
    case QS_PLOT_KEY_DASHED:
      cairo_set_dash (cr, (const double[]) { 4.0, 3.0 }, 2, 0);
      cairo_move_to (cr, x, y);
      cairo_line_to (cr, x + KEY_WIDTH, y);
      cairo_stroke (cr);
      cairo_set_dash (cr, NULL, 0, 0);
      break;
    case QS_PLOT_KEY_TICKS:
      cairo_set_line_width (cr, 1.0);
      for (int i = 0; i < 4; i++)
        {
          cairo_move_to (cr, x + 4.5 + i * 4, y - 6);
          cairo_line_to (cr, x + 4.5 + i * 4, y + 6);
        }
      cairo_stroke (cr);
      break;
    case QS_PLOT_KEY_MARKER:
    default:
      cairo_move_to (cr, x + KEY_WIDTH / 2, y + 5);
      cairo_line_to (cr, x + KEY_WIDTH / 2 - 5, y - 4);
      cairo_line_to (cr, x + KEY_WIDTH / 2 + 5, y - 4);
      cairo_close_path (cr);
      cairo_fill (cr);
      break;
    }
}

/* Lays out the legend's entries in rows, right-aligned under the title;
 * returns the height they take. With @draw they are drawn too. */
static double
legend (QsPlotFrame     *f,
        const QsPlotKey *keys,
        gsize            n_keys,
        double           top,
        double           left,
        double           right,
        gboolean         draw)
{
  double gap = round (f->style->font_size * 1.2), line = 0, row_width = 0, y = top;
  gsize row_start = 0;

  if (n_keys == 0)
    return 0;
  for (gsize i = 0; i <= n_keys; i++)
    {
      double w = 0, h = 0;

      if (i < n_keys)
        {
          g_autoptr(PangoLayout) layout = _qs_plot_layout (f, keys[i].label, 1.0, FALSE);

          layout_size (layout, &w, &h);
          w += KEY_WIDTH + 5;
          line = MAX (line, h);
        }
      /* A row is full, or the keys are done: place the row's entries. */
      if (i == n_keys || (i > row_start && row_width + gap + w > right - left))
        {
          double x = right - row_width;

          for (gsize k = row_start; draw && k < i; k++)
            {
              g_autoptr(PangoLayout) layout = _qs_plot_layout (f, keys[k].label, 1.0, FALSE);
              double kw;

              layout_size (layout, &kw, NULL);
              draw_key (f->cr, &keys[k], x, y + line / 2);
              _qs_plot_set_color (f->cr, &f->style->foreground, 1.0);
              qs_plot_show_layout (f->cr, layout, x + KEY_WIDTH + 5, y + line / 2, 0.0, 0.5);
              x += kw + KEY_WIDTH + 5 + gap;
            }
          y += line + 4;
          row_start = i;
          row_width = 0;
        }
      row_width += (row_width > 0 ? gap : 0) + w;
    }
  return y - top;
}

static double
widest_y_label (QsPlotFrame *f)
{
  double ticks[QS_PLOT_MAX_TICKS], widest = 0;
  int n;

  /* The ticks depend on the area's height, which is about known here. */
  n = axis_ticks (f, TRUE, ticks);
  for (int i = 0; i < n; i++)
    {
      g_autofree char *text = tick_text (f->y_ticks, ticks[i]);
      g_autoptr(PangoLayout) layout = _qs_plot_layout (f, text, 1.0, FALSE);
      double w;

      layout_size (layout, &w, NULL);
      widest = MAX (widest, w);
    }
  return widest;
}

static gsize
shared_folders (const char *const *names,
                gsize              n)
{
  gsize common = 0;

  /* Only up to a '/': "conv2d_1" and "conv2d_2" keep their "conv2d_". */
  for (gsize at = 0; names[0][at] != '\0'; at++)
    {
      for (gsize i = 1; i < n; i++)
        if (names[i][at] != names[0][at])
          return common;
      if (names[0][at] == '/')
        common = at + 1;
    }
  return common;
}

gsize
qs_plot_common_prefix (const char *const *names,
                       gsize              n)
{
  gsize common;

  g_return_val_if_fail (names != NULL || n == 0, 0);

  if (n < 2)
    return 0;
  for (gsize i = 0; i < n; i++)
    if (names[i] == NULL)
      return 0;
  common = shared_folders (names, n);
  /* A name that is nothing but the shared folders would vanish. */
  for (gsize i = 0; i < n; i++)
    if (names[i][common] == '\0')
      return 0;
  return common;
}

guint
_qs_plot_slanted_stride (double line,
                         double slot)
{
  /* Names at 45 degrees, a slot apart along the axis, lie slot / sqrt 2
   * apart across their lines: a line's height (and a little) needs a
   * stride of line * sqrt 2 along the axis. */
  double stride = ceil (line * G_SQRT2 * 1.1 / MAX (slot, 1e-6));

  return (guint) CLAMP (stride, 1, G_MAXUINT);
}

/* The space category names need under the axis, and whether they slant. */
static double
category_band (QsPlotFrame *f,
               double       line)
{
  double widest = 0, slot;

  f->categories.skip = qs_plot_common_prefix (f->categories.names, f->categories.n_names);
  for (gsize i = 0; i < f->categories.n_names; i++)
    {
      g_autoptr(PangoLayout) layout = _qs_plot_layout (f, f->categories.names[i] + f->categories.skip,
                                                       1.0, FALSE);
      double w;

      layout_size (layout, &w, NULL);
      widest = MAX (widest, w);
    }
  slot = f->area.width / MAX (f->categories.n_names, 1);
  f->slanted = widest + 6 > slot;
  if (!f->slanted)
    return line + TICK_LENGTH + 4;
  /* Slanted names are cut to a third of the chart's height. */
  return MIN (widest, f->height / 3) * G_SQRT2 / 2 + line + TICK_LENGTH + 4;
}

static void
compute_area (QsPlotFrame        *f,
              const QsPlotLabels *labels,
              const QsPlotKey    *keys,
              gsize               n_keys)
{
  double pad = round (f->style->font_size);
  double line, title_h = 0, top, bottom, left, right;
  g_autoptr(PangoLayout) probe = _qs_plot_layout (f, "0", 1.0, FALSE);

  layout_size (probe, NULL, &line);
  top = pad * 0.75;
  if (labels != NULL && labels->title != NULL && labels->title[0] != '\0')
    {
      g_autoptr(PangoLayout) title = _qs_plot_layout (f, labels->title, 1.25, TRUE);

      layout_size (title, NULL, &title_h);
      top += title_h + pad * 0.4;
    }
  left = pad;
  right = f->width - pad;
  f->legend_top = top;
  top += legend (f, keys, n_keys, top, left, right, FALSE);
  top += line / 2 + 2;   /* the top tick label's upper half */

  bottom = f->height - pad * 0.75;
  if (labels != NULL && labels->x_label != NULL)
    bottom -= line * 1.1 + 4;
  if (labels != NULL && labels->y_label != NULL)
    left += line * 1.1 + 4;

  f->area.y = top;
  f->area.height = MAX (1.0, bottom - top - line - TICK_LENGTH - 4);
  left += widest_y_label (f) + TICK_LENGTH + 4;
  /* Half of the last x tick label may stick out on the right. */
  right -= f->x_ticks == QS_PLOT_TICKS_CATEGORIES ? 0 : line;
  f->area.x = left;
  f->area.width = MAX (1.0, right - left);
  if (f->x_ticks == QS_PLOT_TICKS_CATEGORIES)
    f->area.height = MAX (1.0, bottom - top - category_band (f, line));
}

/* ---- painting ------------------------------------------------------------ */

static void
draw_title_and_names (QsPlotFrame        *f,
                      const QsPlotLabels *labels)
{
  cairo_t *cr = f->cr;
  double pad = round (f->style->font_size);

  if (labels == NULL)
    return;
  _qs_plot_set_color (cr, &f->style->foreground, 1.0);
  if (labels->title != NULL && labels->title[0] != '\0')
    {
      g_autoptr(PangoLayout) title = _qs_plot_layout (f, labels->title, 1.25, TRUE);

      /* A long tensor path loses its middle, not its ends. */
      pango_layout_set_width (title, (int) ((f->width - 2 * pad) * PANGO_SCALE));
      pango_layout_set_ellipsize (title, PANGO_ELLIPSIZE_MIDDLE);
      qs_plot_show_layout (cr, title, f->width / 2, pad * 0.75, 0.5, 0.0);
    }
  if (labels->x_label != NULL)
    {
      g_autoptr(PangoLayout) name = _qs_plot_layout (f, labels->x_label, 1.0, FALSE);

      qs_plot_show_layout (cr, name, f->area.x + f->area.width / 2, f->height - pad * 0.75, 0.5, 1.0);
    }
  if (labels->y_label != NULL)
    {
      g_autoptr(PangoLayout) name = _qs_plot_layout (f, labels->y_label, 1.0, FALSE);

      cairo_save (cr);
      cairo_translate (cr, pad, f->area.y + f->area.height / 2);
      cairo_rotate (cr, -G_PI / 2);
      qs_plot_show_layout (cr, name, 0, 0, 0.5, 0.0);
      cairo_restore (cr);
    }
}

static void
draw_category_names (QsPlotFrame *f,
                     double       base)
{
  cairo_t *cr = f->cr;
  double slot = f->area.width / MAX (f->categories.n_names, 1);
  double line, stride = 1;
  g_autoptr(PangoLayout) probe = _qs_plot_layout (f, "0", 1.0, FALSE);

  layout_size (probe, NULL, &line);
  if (f->slanted)
    stride = _qs_plot_slanted_stride (line, slot);
  _qs_plot_set_color (cr, &f->style->muted, 1.0);
  for (gsize i = 0; i < f->categories.n_names; i += (gsize) stride)
    {
      g_autoptr(PangoLayout) layout = _qs_plot_layout (f, f->categories.names[i] + f->categories.skip,
                                                       1.0, FALSE);
      double x = f->area.x + (i + 0.5) * slot;

      if (!f->slanted)
        {
          qs_plot_show_layout (cr, layout, x, base + TICK_LENGTH + 3, 0.5, 0.0);
          continue;
        }
      /* Names are paths less the folders all share: the start names the
       * layer and the end the tensor ("dense/…/kernel:0"), so a cut
       * goes in the middle. A name is cut to a third of the chart's
       * height, and short enough to stay inside its left edge. */
      pango_layout_set_width (layout, (int) (MIN (f->height / 3, (x - 4) * G_SQRT2) * PANGO_SCALE));
      pango_layout_set_ellipsize (layout, PANGO_ELLIPSIZE_MIDDLE);
      cairo_save (cr);
      cairo_translate (cr, x + line * 0.35, base + TICK_LENGTH + 3);
      cairo_rotate (cr, -G_PI / 4);
      qs_plot_show_layout (cr, layout, 0, 0, 1.0, 0.5);
      cairo_restore (cr);
    }
}

static void
draw_grid_and_ticks (QsPlotFrame *f)
{
  cairo_t *cr = f->cr;
  const QsPlotArea *a = &f->area;
  double xt[QS_PLOT_MAX_TICKS], yt[QS_PLOT_MAX_TICKS], base = floor (a->y + a->height) + 0.5;
  double last_right = -G_MAXDOUBLE, last_top = G_MAXDOUBLE;
  int nx = axis_ticks (f, FALSE, xt), ny = axis_ticks (f, TRUE, yt);

  cairo_set_line_width (cr, 1.0);
  _qs_plot_set_color (cr, &f->style->grid, 1.0);
  for (int i = 0; i < ny; i++)
    {
      double y = floor (qs_plot_area_y (a, yt[i])) + 0.5;

      cairo_move_to (cr, a->x, y);
      cairo_line_to (cr, a->x + a->width, y);
    }
  cairo_stroke (cr);

  _qs_plot_set_color (cr, &f->style->foreground, 1.0);
  for (int i = 0; i < ny; i++)
    {
      double y = floor (qs_plot_area_y (a, yt[i])) + 0.5;

      cairo_move_to (cr, a->x - TICK_LENGTH, y);
      cairo_line_to (cr, a->x, y);
    }
  for (int i = 0; i < nx; i++)
    {
      double x = floor (qs_plot_area_x (a, xt[i])) + 0.5;

      cairo_move_to (cr, x, base);
      cairo_line_to (cr, x, base + TICK_LENGTH);
    }
  for (gsize i = 0; i < f->categories.n_names; i++)
    {
      double x = floor (a->x + (i + 0.5) * a->width / f->categories.n_names) + 0.5;

      cairo_move_to (cr, x, base);
      cairo_line_to (cr, x, base + TICK_LENGTH);
    }
  cairo_stroke (cr);

  _qs_plot_set_color (cr, &f->style->muted, 1.0);
  for (int i = 0; i < ny; i++)
    {
      g_autofree char *text = tick_text (f->y_ticks, yt[i]);
      g_autoptr(PangoLayout) layout = _qs_plot_layout (f, text, 1.0, FALSE);
      double y = qs_plot_area_y (a, yt[i]), h;

      /* On a log axis 0 and 1 sit close: a label that would touch the
       * one below is left out. */
      layout_size (layout, NULL, &h);
      if (y + h / 2 > last_top - 2)
        continue;
      last_top = y - h / 2;
      qs_plot_show_layout (cr, layout, a->x - TICK_LENGTH - 3, y, 1.0, 0.5);
    }
  for (int i = 0; i < nx; i++)
    {
      g_autofree char *text = tick_text (f->x_ticks, xt[i]);
      g_autoptr(PangoLayout) layout = _qs_plot_layout (f, text, 1.0, FALSE);
      double x = qs_plot_area_x (a, xt[i]), w;

      /* Labels never touch: one that would is left out. */
      layout_size (layout, &w, NULL);
      if (x - w / 2 < last_right + 8)
        continue;
      last_right = x + w / 2;
      qs_plot_show_layout (cr, layout, x, base + TICK_LENGTH + 3, 0.5, 0.0);
    }
  if (f->x_ticks == QS_PLOT_TICKS_CATEGORIES)
    draw_category_names (f, base);
}

/* A range the axes can show: finite, and not empty. */
static void
drawable_range (double *lo,
                double *hi)
{
  if (!isfinite (*lo) || !isfinite (*hi))
    {
      *lo = 0;
      *hi = 1;
    }
  if (!(*hi > *lo))
    {
      double half = *lo == 0 ? 0.5 : fabs (*lo) * 0.5;

      *lo -= half;
      *hi += half;
    }
}

void
_qs_plot_frame_begin (QsPlotFrame        *f,
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
                      double              y_hi)
{
  f->cr = cr;
  f->style = style;
  f->width = width;
  f->height = height;
  drawable_range (&x_lo, &x_hi);
  drawable_range (&y_lo, &y_hi);
  f->area.x_lo = x_lo;
  f->area.x_hi = x_hi;
  f->area.y_lo = y_lo;
  f->area.y_hi = y_hi;
  /* A first guess of the height, for the y tick labels' width. */
  f->area.height = height * 0.7;

  cairo_save (cr);
  _qs_plot_set_color (cr, &style->background, 1.0);
  cairo_paint (cr);
  compute_area (f, labels, keys, n_keys);
  draw_title_and_names (f, labels);
  legend (f, keys, n_keys, f->legend_top, round (style->font_size), width - round (style->font_size), TRUE);
  draw_grid_and_ticks (f);
}

void
_qs_plot_frame_clip (QsPlotFrame *f)
{
  cairo_save (f->cr);
  cairo_rectangle (f->cr, f->area.x, f->area.y, f->area.width, f->area.height);
  cairo_clip (f->cr);
}

void
_qs_plot_frame_unclip (QsPlotFrame *f)
{
  cairo_restore (f->cr);
}

void
_qs_plot_frame_end (QsPlotFrame *f)
{
  cairo_t *cr = f->cr;
  const QsPlotArea *a = &f->area;
  double left = floor (a->x) + 0.5, base = floor (a->y + a->height) + 0.5;

  cairo_move_to (cr, left, a->y);
  cairo_line_to (cr, left, base);
  cairo_line_to (cr, a->x + a->width, base);
  cairo_set_line_width (cr, 1.0);
  _qs_plot_set_color (cr, &f->style->foreground, 1.0);
  cairo_stroke (cr);
  cairo_restore (cr);
}
