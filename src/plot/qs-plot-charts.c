/* qs-plot-charts.c: the charts: weight histogram, channel ranges, series and bars.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "plot/qs-plot-private.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

/* Level lines closer than this many pixels would be a grey wash. */
#define MIN_LEVEL_SPACING 5.0

static void
fill_area (QsPlotArea       *out,
           const QsPlotFrame *frame)
{
  if (out != NULL)
    *out = frame->area;
}

char *
qs_plot_default_title (const QsTensorReport *report)
{
  g_autofree char *scheme = NULL;

  g_return_val_if_fail (report != NULL, NULL);

  scheme = qs_tensor_report_describe_scheme (report);
  return g_strdup_printf ("%s · %s", report->info->path, scheme);
}

/* ---- histogram -------------------------------------------------------------- */

typedef struct {
  const QsTensorReport *report;
  const QsHistogram    *h;
  int                   channel;     /* whose grid; -1: every channel's envelope */
  float                 clip_lo;
  float                 clip_hi;
  double                zero;        /* where 0.0 lands */
  gboolean              levels;      /* level lines far enough apart to draw */
  gboolean              recon_cut;   /* a reconstructed count rises above the axis */
  char                 *zero_key;
} Histogram;

static double
bin_edge (const QsHistogram *h,
          int                i)
{
  return h->lo + (h->hi - h->lo) * i / h->bins;
}

static void
histogram_prepare (Histogram            *hg,
                   const QsTensorReport *report,
                   int                   channel)
{
  const QsQuantParams *p = &report->params;

  hg->report = report;
  hg->h = &report->analysis.histogram;
  if (p->channels == 1)
    channel = 0;
  hg->channel = channel < 0 ? -1 : (int) MIN ((gsize) channel, p->channels - 1);
  if (hg->channel >= 0)
    {
      qs_tensor_report_grid_range (report, hg->channel, &hg->clip_lo, &hg->clip_hi);
      hg->zero = qs_zero_reconstruction (p, hg->channel);
    }
  else
    {
      hg->clip_lo = INFINITY;
      hg->clip_hi = -INFINITY;
      for (gsize c = 0; c < p->channels; c++)
        {
          float lo, hi;

          qs_tensor_report_grid_range (report, c, &lo, &hi);
          hg->clip_lo = MIN (hg->clip_lo, lo);
          hg->clip_hi = MAX (hg->clip_hi, hi);
        }
      hg->zero = report->analysis.zero_exact ? 0.0 : report->analysis.zero_error;
    }

  if (hg->zero == 0)
    hg->zero_key = g_strdup (_("0.0 stays exact"));
  else
    {
      g_autofree char *value = qs_plot_format_value (hg->zero);

      /* Translators: where the value 0.0 lands after quantization. */
      hg->zero_key = hg->channel >= 0 ? g_strdup_printf (_("0.0 becomes %s"), value)
                                      : g_strdup_printf (_("0.0 off by up to %s"), value);
    }
}

/* The count axis follows the weights alone: their reconstructions pile up
 * on the levels (the series is drawn as counts per bin, as the app's
 * tooltip reports them), and those spikes would flatten the weights'
 * shape; a spike above the axis is cut there and marked. */
static void
histogram_y_range (Histogram *hg,
                   gboolean   log_scale,
                   double    *hi)
{
  double top = 0;

  for (int i = 0; i < hg->h->bins; i++)
    top = MAX (top, (double) hg->h->counts[i]);
  /* Headroom above the tallest bar, for the 0.0 marker: 5 % of the axis. */
  *hi = log_scale ? pow (1.0 + top, 1.05) - 1.0 : top * 1.05;
  *hi = MAX (1.0, *hi);
  for (int i = 0; i < hg->h->bins; i++)
    hg->recon_cut |= hg->h->quantized_counts[i] > *hi;
}

static void
draw_clip_and_levels (const Histogram   *hg,
                      const QsPlotFrame *f)
{
  cairo_t *cr = f->cr;
  const QsPlotArea *a = &f->area;
  const QsQuantParams *p = &hg->report->params;
  double x_lo = qs_plot_area_x (a, hg->clip_lo), x_hi = qs_plot_area_x (a, hg->clip_hi);

  /* Outside the grid, values clip: shaded. */
  _qs_plot_set_color (cr, &f->style->grid, 0.6);
  cairo_rectangle (cr, a->x, a->y, x_lo - a->x, a->height);
  cairo_rectangle (cr, x_hi, a->y, a->x + a->width - x_hi, a->height);
  cairo_fill (cr);

  if (hg->levels)
    {
      for (int q = p->qmin; q <= p->qmax; q++)
        {
          double x = round (qs_plot_area_x (a, qs_dequantize_code (p, hg->channel, q))) + 0.5;

          cairo_move_to (cr, x, a->y);
          cairo_line_to (cr, x, a->y + a->height);
        }
      cairo_set_line_width (cr, 1.0);
      _qs_plot_set_color (cr, &f->style->accent, 0.3);
      cairo_stroke (cr);
    }
}

static void
draw_histogram_bars (const Histogram   *hg,
                     const QsPlotFrame *f)
{
  const QsHistogram *h = hg->h;
  const QsPlotArea *a = &f->area;
  double base = a->y + a->height, run_h = 0, run_x;

  /* Edges on whole pixels, so neighbouring bars meet without seams; bins
   * narrower than a pixel merge into one column showing their tallest. */
  _qs_plot_set_color (f->cr, &f->style->bars, 1.0);
  run_x = round (qs_plot_area_x (a, bin_edge (h, 0)));
  for (int i = 0; i < h->bins; i++)
    {
      double x1 = round (qs_plot_area_x (a, bin_edge (h, i + 1)));
      double top = h->counts[i] > 0 ? qs_plot_area_y (a, (double) h->counts[i]) : base;

      run_h = MAX (run_h, base - top);
      if (x1 > run_x)
        {
          /* A bin holding one weight still shows: at least one pixel. */
          if (run_h > 0)
            cairo_rectangle (f->cr, run_x, round (base - MAX (run_h, 1.0)), x1 - run_x,
                             base - round (base - MAX (run_h, 1.0)));
          run_x = x1;
          run_h = 0;
        }
    }
  cairo_fill (f->cr);
}

static void
draw_reconstructed (const Histogram   *hg,
                    const QsPlotFrame *f)
{
  const QsHistogram *h = hg->h;
  const QsPlotArea *a = &f->area;
  cairo_t *cr = f->cr;
  double base = a->y + a->height;

  /* A step outline: it shows where the quantized values pile up without
   * hiding the bars under it. */
  cairo_move_to (cr, qs_plot_area_x (a, bin_edge (h, 0)), base);
  for (int i = 0; i < h->bins; i++)
    {
      double count = (double) h->quantized_counts[i];
      double y = count > 0 ? qs_plot_area_y (a, MIN (count, a->y_hi)) : base;

      cairo_line_to (cr, qs_plot_area_x (a, bin_edge (h, i)), y);
      cairo_line_to (cr, qs_plot_area_x (a, bin_edge (h, i + 1)), y);
    }
  cairo_line_to (cr, qs_plot_area_x (a, bin_edge (h, h->bins)), base);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_MITER);
  cairo_set_line_width (cr, 1.5);
  _qs_plot_set_color (cr, &f->style->reconstructed, 1.0);
  cairo_stroke (cr);
}

/* A mark above each spike the axis cuts (drawn outside the plot's clip). */
static void
draw_reconstructed_cuts (const Histogram   *hg,
                         const QsPlotFrame *f)
{
  const QsHistogram *h = hg->h;
  const QsPlotArea *a = &f->area;
  cairo_t *cr = f->cr;

  if (!hg->recon_cut)
    return;
  for (int i = 0; i < h->bins; i++)
    if ((double) h->quantized_counts[i] > a->y_hi)
      {
        double x = (qs_plot_area_x (a, bin_edge (h, i)) + qs_plot_area_x (a, bin_edge (h, i + 1))) / 2;

        if (x < a->x || x > a->x + a->width)
          continue;
        cairo_move_to (cr, x, a->y - 6);
        cairo_line_to (cr, x - 4, a->y);
        cairo_line_to (cr, x + 4, a->y);
        cairo_close_path (cr);
      }
  _qs_plot_set_color (cr, &f->style->reconstructed, 1.0);
  cairo_fill (cr);
}

static void
draw_clip_lines_and_zero (const Histogram   *hg,
                          const QsPlotFrame *f)
{
  cairo_t *cr = f->cr;
  const QsPlotArea *a = &f->area;
  const QsPlotColor *zero_color = hg->zero == 0 ? &f->style->foreground : &f->style->warning;
  double x0 = round (qs_plot_area_x (a, 0.0)) + 0.5, xz = qs_plot_area_x (a, hg->zero);

  cairo_set_line_width (cr, 1.5);
  cairo_set_dash (cr, (const double[]) { 4.0, 3.0 }, 2, 0);
  _qs_plot_set_color (cr, &f->style->accent, 1.0);
  for (int i = 0; i < 2; i++)
    {
      double x = round (qs_plot_area_x (a, i == 0 ? hg->clip_lo : hg->clip_hi)) + 0.5;

      cairo_move_to (cr, x, a->y);
      cairo_line_to (cr, x, a->y + a->height);
    }
  cairo_stroke (cr);
  cairo_set_dash (cr, NULL, 0, 0);

  /* 0.0 itself, faint, and a marker on top where it comes back. */
  cairo_set_line_width (cr, 1.0);
  _qs_plot_set_color (cr, &f->style->foreground, 0.5);
  cairo_move_to (cr, x0, a->y);
  cairo_line_to (cr, x0, a->y + a->height);
  cairo_stroke (cr);
  _qs_plot_set_color (cr, zero_color, 1.0);
  cairo_move_to (cr, xz, a->y + 10);
  cairo_line_to (cr, xz - 6, a->y);
  cairo_line_to (cr, xz + 6, a->y);
  cairo_close_path (cr);
  cairo_fill (cr);
}

void
qs_plot_histogram (cairo_t              *cr,
                   double                width,
                   double                height,
                   const QsPlotStyle    *style,
                   const QsPlotLabels   *labels,
                   const QsTensorReport *report,
                   int                   channel,
                   gboolean              log_scale,
                   QsPlotArea           *area)
{
  Histogram hg = { 0 };
  QsPlotFrame f = { 0 };
  QsPlotLabels with_names = { NULL, _("Weight value"), NULL };
  QsPlotKey keys[5];
  gsize n_keys = 0;
  double y_hi, x_lo, x_hi, pad;

  g_return_if_fail (cr != NULL && style != NULL && report != NULL);

  histogram_prepare (&hg, report, channel);
  histogram_y_range (&hg, log_scale, &y_hi);
  x_lo = MIN (hg.h->lo, MIN (hg.clip_lo, 0.0));
  x_hi = MAX (hg.h->hi, MAX (hg.clip_hi, 0.0));
  pad = (x_hi - x_lo) * 0.03;
  if (labels != NULL)
    with_names.title = labels->title;
  with_names.y_label = log_scale ? _("Count (log scale)") : _("Count");

  keys[n_keys++] = (QsPlotKey) { _("Weights"), QS_PLOT_KEY_BOX, style->bars };
  keys[n_keys++] = (QsPlotKey) { hg.recon_cut ? _("Reconstructed (▲ cut at top)") : _("Reconstructed"),
                                 QS_PLOT_KEY_LINE, style->reconstructed };
  keys[n_keys++] = (QsPlotKey) { hg.channel >= 0 ? _("Clip range") : _("Clip range (widest of all channels)"),
                                 QS_PLOT_KEY_DASHED, style->accent };
  keys[n_keys++] = (QsPlotKey) { NULL, QS_PLOT_KEY_TICKS, style->accent };
  keys[n_keys++] = (QsPlotKey) { hg.zero_key, QS_PLOT_KEY_MARKER,
                                 hg.zero == 0 ? style->foreground : style->warning };
  /* The levels key only when the levels are drawn, which the frame's width decides. */
  f.x_ticks = QS_PLOT_TICKS_VALUES;
  f.y_ticks = QS_PLOT_TICKS_COUNTS;
  f.area.y_log = log_scale;
  {
    double spacing = report->scheme.format == QS_FORMAT_INT && hg.channel >= 0
                     ? report->params.scale[hg.channel] / (x_hi - x_lo + 2 * pad) * width * 0.85 : 0;

    hg.levels = spacing >= MIN_LEVEL_SPACING;
    if (hg.levels)
      keys[3].label = _("Levels");
    else
      keys[3] = keys[--n_keys];
  }

  _qs_plot_frame_begin (&f, cr, width, height, style, &with_names, keys, n_keys,
                        x_lo - pad, x_hi + pad, 0, y_hi);
  _qs_plot_frame_clip (&f);
  draw_clip_and_levels (&hg, &f);
  draw_histogram_bars (&hg, &f);
  draw_reconstructed (&hg, &f);
  draw_clip_lines_and_zero (&hg, &f);
  _qs_plot_frame_unclip (&f);
  draw_reconstructed_cuts (&hg, &f);
  _qs_plot_frame_end (&f);
  fill_area (area, &f);
  g_free (hg.zero_key);
}

/* ---- channel ranges ------------------------------------------------------------ */

static void
channel_clip (const QsTensorReport *report,
              gsize                 channel,
              gsize                 channels,
              float                *lo,
              float                *hi)
{
  /* A per-tensor scheme has one clip range for every channel. */
  qs_tensor_report_grid_range (report, report->params.channels == channels ? channel : 0, lo, hi);
}

static void
draw_channel_ranges (const QsPlotFrame    *f,
                     const QsTensorReport *report,
                     const float          *channel_min,
                     const float          *channel_max,
                     gsize                 channels)
{
  cairo_t *cr = f->cr;
  const QsPlotArea *a = &f->area;
  double slot = a->width / channels;
  double line = CLAMP (slot * 0.5, 1.0, 6.0);

  _qs_plot_set_color (cr, &f->style->bars, 1.0);
  for (gsize c = 0; c < channels; c++)
    {
      double x = qs_plot_area_x (a, (double) c);
      float lo, hi;

      channel_clip (report, c, channels, &lo, &hi);
      cairo_rectangle (cr, x - MAX (slot * 0.45, 0.5), qs_plot_area_y (a, hi), MAX (slot * 0.9, 1.0),
                       qs_plot_area_y (a, lo) - qs_plot_area_y (a, hi));
    }
  cairo_fill (cr);

  cairo_set_line_width (cr, line);
  cairo_set_line_cap (cr, CAIRO_LINE_CAP_BUTT);
  _qs_plot_set_color (cr, &f->style->series[0], 1.0);
  for (gsize c = 0; c < channels; c++)
    {
      double x = qs_plot_area_x (a, (double) c);

      if (!(channel_max[c] >= channel_min[c]))
        continue;   /* a channel without finite values */
      cairo_move_to (cr, x, qs_plot_area_y (a, channel_max[c]));
      /* A constant channel still shows as a one-pixel mark. */
      cairo_line_to (cr, x, MAX (qs_plot_area_y (a, channel_min[c]), qs_plot_area_y (a, channel_max[c]) + 1));
    }
  cairo_stroke (cr);

  cairo_set_line_width (cr, 1.5);
  cairo_set_dash (cr, (const double[]) { 4.0, 3.0 }, 2, 0);
  _qs_plot_set_color (cr, &f->style->reconstructed, 1.0);
  for (int i = 0; i < 2; i++)
    {
      double y = round (qs_plot_area_y (a, i == 0 ? report->analysis.data_min : report->analysis.data_max)) + 0.5;

      cairo_move_to (cr, a->x, y);
      cairo_line_to (cr, a->x + a->width, y);
    }
  cairo_stroke (cr);
  cairo_set_dash (cr, NULL, 0, 0);
}

void
qs_plot_channels (cairo_t              *cr,
                  double                width,
                  double                height,
                  const QsPlotStyle    *style,
                  const QsPlotLabels   *labels,
                  const QsTensorReport *report,
                  const float          *channel_min,
                  const float          *channel_max,
                  gsize                 channels,
                  QsPlotArea           *area)
{
  QsPlotFrame f = { 0 };
  QsPlotLabels with_names = { NULL, _("Output channel"), _("Value") };
  QsPlotKey keys[3];
  double lo, hi, pad;

  g_return_if_fail (cr != NULL && style != NULL && report != NULL);
  if (channel_min == NULL)
    {
      channel_min = report->analysis.channel_min;
      channel_max = report->analysis.channel_max;
      channels = report->analysis.channels;
    }
  g_return_if_fail (channels > 0 && channel_min != NULL && channel_max != NULL);

  lo = report->analysis.data_min;
  hi = report->analysis.data_max;
  for (gsize c = 0; c < channels; c++)
    {
      float clip_lo, clip_hi;

      channel_clip (report, c, channels, &clip_lo, &clip_hi);
      lo = MIN (lo, clip_lo);
      hi = MAX (hi, clip_hi);
    }
  pad = (hi - lo) * 0.05;
  if (labels != NULL)
    with_names.title = labels->title;
  keys[0] = (QsPlotKey) { _("Channel data range"), QS_PLOT_KEY_LINE, style->series[0] };
  keys[1] = (QsPlotKey) { _("Clip range"), QS_PLOT_KEY_BOX, style->bars };
  keys[2] = (QsPlotKey) { _("Tensor data range"), QS_PLOT_KEY_DASHED, style->reconstructed };

  f.x_ticks = QS_PLOT_TICKS_INTEGERS;
  f.y_ticks = QS_PLOT_TICKS_VALUES;
  _qs_plot_frame_begin (&f, cr, width, height, style, &with_names, keys, G_N_ELEMENTS (keys),
                        -0.5, channels - 0.5, lo - pad, hi + pad);
  _qs_plot_frame_clip (&f);
  draw_channel_ranges (&f, report, channel_min, channel_max, channels);
  _qs_plot_frame_unclip (&f);
  _qs_plot_frame_end (&f);
  fill_area (area, &f);
}

/* ---- series ---------------------------------------------------------------------- */

static void
series_range (const QsPlotSeries *series,
              gsize               n_series,
              double             *x_lo,
              double             *x_hi,
              double             *y_lo,
              double             *y_hi)
{
  *x_lo = *y_lo = INFINITY;
  *x_hi = *y_hi = -INFINITY;
  for (gsize s = 0; s < n_series; s++)
    for (gsize i = 0; i < series[s].n_points; i++)
      {
        const QsPlotPoint *p = &series[s].points[i];

        if (!isfinite (p->x) || !isfinite (p->y))
          continue;
        *x_lo = MIN (*x_lo, p->x);
        *x_hi = MAX (*x_hi, p->x);
        *y_lo = MIN (*y_lo, p->y);
        *y_hi = MAX (*y_hi, p->y);
      }
}

/* A point's dot; labels keep clear of every one. */
#define DOT_RADIUS 3.5
/* A label's gap from its point, across and up or down. */
#define LABEL_GAP_X 6.0
#define LABEL_GAP_Y 4.0

static gboolean
boxes_intersect (double ax, double ay, double aw, double ah,
                 double bx, double by, double bw, double bh)
{
  return ax < bx + bw && bx < ax + aw && ay < by + bh && by < ay + ah;
}

/* Whether label @self at (@left, @top) would meet an already placed label
 * (those before it) or any point's dot. */
static gboolean
label_place_free (const QsPlotLabelPlace *labels,
                  gsize                   n,
                  gsize                   self,
                  double                  left,
                  double                  top)
{
  double w = labels[self].width, h = labels[self].height;

  for (gsize k = 0; k < n; k++)
    {
      if (k < self && labels[k].width > 0 && labels[k].height > 0
          && boxes_intersect (left, top, w, h, labels[k].left, labels[k].top,
                                       labels[k].width, labels[k].height))
        return FALSE;
      if (boxes_intersect (left, top, w, h, labels[k].x - DOT_RADIUS, labels[k].y - DOT_RADIUS,
                           2 * DOT_RADIUS, 2 * DOT_RADIUS))
        return FALSE;
    }
  return TRUE;
}

static gboolean
box_inside_area (const QsPlotArea *a,
                 double            left,
                 double            top,
                 double            w,
                 double            h)
{
  return left >= a->x && top >= a->y && left + w <= a->x + a->width && top + h <= a->y + a->height;
}

static gboolean
try_label_place (const QsPlotArea *area,
                 QsPlotLabelPlace *labels,
                 gsize             n,
                 gsize             self,
                 double            left,
                 double            top)
{
  if (!box_inside_area (area, left, top, labels[self].width, labels[self].height)
      || !label_place_free (labels, n, self, left, top))
    return FALSE;
  labels[self].left = left;
  labels[self].top = top;
  return TRUE;
}

void
qs_plot_place_labels (const QsPlotArea *area,
                      QsPlotLabelPlace *labels,
                      gsize             n)
{
  g_return_if_fail (area != NULL && (labels != NULL || n == 0));

  for (gsize i = 0; i < n; i++)
    {
      QsPlotLabelPlace *l = &labels[i];
      double right = l->x + LABEL_GAP_X, left = l->x - LABEL_GAP_X - l->width;
      double above = l->y - LABEL_GAP_Y - l->height, below = l->y + LABEL_GAP_Y;
      double columns[2] = { right, left };
      double step = l->height + 1, lowest = -INFINITY;
      int max_steps;

      if (!(l->width > 0 && l->height > 0))
        {
          l->left = l->x;
          l->top = l->y;
          continue;
        }
      if (try_label_place (area, labels, n, i, right, above)
          || try_label_place (area, labels, n, i, right, below)
          || try_label_place (area, labels, n, i, left, above)
          || try_label_place (area, labels, n, i, left, below))
        continue;
      /* Crowded: the nearest free line above or below the point, on
       * either side. The area's height bounds the search. */
      max_steps = step > 0 && area->height > 0 ? (int) MIN (area->height / step + 1, 4096) : 0;
      for (int k = 1; k <= max_steps; k++)
        for (int c = 0; c < 2; c++)
          if (try_label_place (area, labels, n, i, columns[c], above - k * step)
              || try_label_place (area, labels, n, i, columns[c], below + k * step))
            goto placed;
      /* No free place inside: under everything, where nothing can be met. */
      for (gsize k = 0; k < n; k++)
        {
          lowest = MAX (lowest, labels[k].y + DOT_RADIUS);
          if (k < i && labels[k].width > 0 && labels[k].height > 0)
            lowest = MAX (lowest, labels[k].top + labels[k].height);
        }
      l->left = right + l->width <= area->x + area->width ? right : left;
      l->top = lowest + 1;
    placed:
      ;
    }
}

typedef struct {
  PangoLayout       *layout;
  const QsPlotColor *color;
} SeriesLabel;

static void
draw_one_series (const QsPlotFrame  *f,
                 const QsPlotSeries *series,
                 const QsPlotColor  *color)
{
  cairo_t *cr = f->cr;
  const QsPlotArea *a = &f->area;
  gboolean pen_down = FALSE;

  _qs_plot_set_color (cr, color, 1.0);
  cairo_set_line_width (cr, 2.0);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  for (gsize i = 0; i < series->n_points; i++)
    {
      const QsPlotPoint *p = &series->points[i];

      if (!isfinite (p->x) || !isfinite (p->y))
        {
          pen_down = FALSE;
          continue;
        }
      if (pen_down)
        cairo_line_to (cr, qs_plot_area_x (a, p->x), qs_plot_area_y (a, p->y));
      else
        cairo_move_to (cr, qs_plot_area_x (a, p->x), qs_plot_area_y (a, p->y));
      pen_down = TRUE;
    }
  cairo_stroke (cr);

  for (gsize i = 0; i < series->n_points; i++)
    {
      const QsPlotPoint *p = &series->points[i];

      if (!isfinite (p->x) || !isfinite (p->y))
        continue;
      cairo_new_sub_path (cr);
      cairo_arc (cr, qs_plot_area_x (a, p->x), qs_plot_area_y (a, p->y), DOT_RADIUS, 0, 2 * G_PI);
      cairo_fill (cr);
    }
}

/* Every series' point labels, placed together so that labels of one
 * series keep off those of another and off every dot. */
static void
draw_series_labels (const QsPlotFrame  *f,
                    const QsPlotSeries *series,
                    gsize               n_series)
{
  const QsPlotArea *a = &f->area;
  g_autoptr(GArray) places = g_array_new (FALSE, TRUE, sizeof (QsPlotLabelPlace));
  g_autoptr(GArray) texts = g_array_new (FALSE, TRUE, sizeof (SeriesLabel));

  /* Unlabelled points go in too, with an empty label, so their dots are
   * kept clear; they are placed last, so they take no one's place. */
  for (int pass = 0; pass < 2; pass++)
    for (gsize s = 0; s < n_series; s++)
      for (gsize i = 0; i < series[s].n_points; i++)
        {
          const QsPlotPoint *p = &series[s].points[i];
          QsPlotLabelPlace place = { 0 };
          SeriesLabel text = { NULL, &f->style->series[s % QS_PLOT_N_SERIES_COLORS] };

          if (!isfinite (p->x) || !isfinite (p->y) || (p->label != NULL) != (pass == 0))
            continue;
          place.x = qs_plot_area_x (a, p->x);
          place.y = qs_plot_area_y (a, p->y);
          if (p->label != NULL)
            {
              int w, h;

              text.layout = _qs_plot_layout ((QsPlotFrame *) f, p->label, 0.9, FALSE);
              pango_layout_get_pixel_size (text.layout, &w, &h);
              place.width = w;
              place.height = h;
            }
          g_array_append_val (places, place);
          g_array_append_val (texts, text);
        }
  qs_plot_place_labels (a, (QsPlotLabelPlace *) places->data, places->len);
  for (guint i = 0; i < texts->len; i++)
    {
      SeriesLabel *text = &g_array_index (texts, SeriesLabel, i);
      const QsPlotLabelPlace *place = &g_array_index (places, QsPlotLabelPlace, i);

      if (text->layout == NULL)
        continue;
      _qs_plot_show_layout_halo (f->cr, text->layout, place->left, place->top, 0.0, 0.0,
                                 text->color, &f->style->background);
      g_object_unref (text->layout);
    }
}

void
qs_plot_series (cairo_t              *cr,
                double                width,
                double                height,
                const QsPlotStyle    *style,
                const QsPlotLabels   *labels,
                const QsPlotSeries   *series,
                gsize                 n_series,
                QsPlotArea           *area)
{
  QsPlotFrame f = { 0 };
  g_autofree QsPlotKey *keys = g_new0 (QsPlotKey, MAX (n_series, 1));
  gsize n_keys = 0;
  double x_lo, x_hi, y_lo, y_hi, x_pad, y_pad;

  g_return_if_fail (cr != NULL && style != NULL && (series != NULL || n_series == 0));

  series_range (series, n_series, &x_lo, &x_hi, &y_lo, &y_hi);
  x_pad = isfinite (x_hi - x_lo) ? (x_hi - x_lo) * 0.05 : 0;
  y_pad = isfinite (y_hi - y_lo) ? (y_hi - y_lo) * 0.08 : 0;
  for (gsize s = 0; s < n_series; s++)
    if (series[s].label != NULL)
      keys[n_keys++] = (QsPlotKey) { series[s].label, QS_PLOT_KEY_POINTS,
                                     style->series[s % QS_PLOT_N_SERIES_COLORS] };

  f.x_ticks = QS_PLOT_TICKS_VALUES;
  f.y_ticks = QS_PLOT_TICKS_VALUES;
  _qs_plot_frame_begin (&f, cr, width, height, style, labels, keys, n_keys,
                        x_lo - x_pad, x_hi + x_pad, y_lo - y_pad, y_hi + y_pad);
  _qs_plot_frame_clip (&f);
  for (gsize s = 0; s < n_series; s++)
    draw_one_series (&f, &series[s], &style->series[s % QS_PLOT_N_SERIES_COLORS]);
  draw_series_labels (&f, series, n_series);
  _qs_plot_frame_unclip (&f);
  _qs_plot_frame_end (&f);
  fill_area (area, &f);
}

/* ---- a chart labelled at its axes' ends ------------------------------------------ */

/* Space around everything, and between a label and its axis. */
#define END_PAD 4.0
#define END_GAP 6.0

void
qs_plot_end_labels_layout (double             width,
                           double             height,
                           double             mark_radius,
                           QsPlotEndLabel     labels[QS_PLOT_N_ENDS],
                           cairo_rectangle_t *axes,
                           cairo_rectangle_t *data)
{
  QsPlotEndLabel *x_lo = &labels[QS_PLOT_END_X_LO], *x_hi = &labels[QS_PLOT_END_X_HI];
  QsPlotEndLabel *y_lo = &labels[QS_PLOT_END_Y_LO], *y_hi = &labels[QS_PLOT_END_Y_HI];
  double y_label_w = MAX (y_lo->width, y_hi->width);
  double x_label_h = MAX (x_lo->height, x_hi->height);
  double bottom, right;

  g_return_if_fail (labels != NULL && axes != NULL && data != NULL);

  mark_radius = MAX (mark_radius, 0);
  /* The top label is centred on the highest mark: room for its upper half. */
  axes->x = END_PAD + y_label_w + END_GAP;
  axes->y = END_PAD + MAX (0, y_hi->height / 2 - mark_radius);
  right = MAX (axes->x + 2 * mark_radius + 1, width - END_PAD);
  bottom = MAX (axes->y + 2 * mark_radius + 1, height - END_PAD - x_label_h - END_GAP / 2);
  axes->width = right - axes->x;
  axes->height = bottom - axes->y;
  data->x = axes->x + mark_radius;
  data->y = axes->y + mark_radius;
  data->width = axes->width - 2 * mark_radius;
  data->height = axes->height - 2 * mark_radius;

  y_hi->left = axes->x - END_GAP - y_hi->width;
  y_hi->top = data->y - y_hi->height / 2;
  y_lo->left = axes->x - END_GAP - y_lo->width;
  y_lo->top = data->y + data->height - y_lo->height / 2;
  x_lo->left = data->x;
  x_lo->top = bottom + END_GAP / 2;
  x_hi->left = data->x + data->width - x_hi->width;
  x_hi->top = bottom + END_GAP / 2;
  /* Too small for both ends: the low ones, where the axes meet, stay. */
  x_lo->shown = y_lo->shown = TRUE;
  x_hi->shown = x_hi->left >= x_lo->left + x_lo->width + END_GAP;
  y_hi->shown = y_hi->top + y_hi->height + 1 <= y_lo->top;
}

/* ---- bars -------------------------------------------------------------------------- */

void
qs_plot_bars (cairo_t              *cr,
              double                width,
              double                height,
              const QsPlotStyle    *style,
              const QsPlotLabels   *labels,
              const QsPlotBar      *bars,
              gsize                 n_bars,
              QsPlotArea           *area)
{
  QsPlotFrame f = { 0 };
  g_autofree const char **names = g_new0 (const char *, MAX (n_bars, 1));
  double lo = 0, hi = 0;
  gboolean any_finite = FALSE;

  g_return_if_fail (cr != NULL && style != NULL && (bars != NULL || n_bars == 0));

  for (gsize i = 0; i < n_bars; i++)
    {
      names[i] = bars[i].label != NULL ? bars[i].label : "";
      if (isfinite (bars[i].value))
        {
          lo = MIN (lo, bars[i].value);
          hi = MAX (hi, bars[i].value);
          any_finite = TRUE;
        }
    }
  if (!any_finite)
    hi = 1;
  hi += (hi - lo) * 0.08;   /* room for the "∞" marks */

  f.x_ticks = QS_PLOT_TICKS_CATEGORIES;
  f.y_ticks = QS_PLOT_TICKS_VALUES;
  f.categories.names = names;
  f.categories.n_names = n_bars;
  _qs_plot_frame_begin (&f, cr, width, height, style, labels, NULL, 0, 0, MAX (n_bars, 1), lo, hi);
  _qs_plot_frame_clip (&f);
  for (gsize i = 0; i < n_bars; i++)
    {
      double v = bars[i].value, x0, x1, y0, y1;

      if (isnan (v))
        continue;
      x0 = qs_plot_area_x (&f.area, i + 0.15);
      x1 = qs_plot_area_x (&f.area, i + 0.85);
      y0 = qs_plot_area_y (&f.area, 0);
      y1 = qs_plot_area_y (&f.area, isfinite (v) ? v : (v > 0 ? hi : lo));
      _qs_plot_set_color (cr, isfinite (v) ? &style->bars : &style->grid, 1.0);
      cairo_rectangle (cr, x0, MIN (y0, y1), MAX (x1 - x0, 1.0), fabs (y1 - y0));
      cairo_fill (cr);
      if (!isfinite (v))
        {
          g_autoptr(PangoLayout) layout = _qs_plot_layout (&f, "∞", 1.0, TRUE);

          _qs_plot_set_color (cr, &style->foreground, 1.0);
          qs_plot_show_layout (cr, layout, (x0 + x1) / 2, y1 + 2, 0.5, 0.0);
        }
    }
  _qs_plot_frame_unclip (&f);
  _qs_plot_frame_end (&f);
  fill_area (area, &f);
}
