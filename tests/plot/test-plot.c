/* test-plot.c: the charts of src/plot, rendered to PNG, SVG and PDF and read back.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define _GNU_SOURCE
#include <math.h>
#include <string.h>
#include <sys/stat.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "model/qs-error.h"
#include "plot/qs-plot.h"
#include "plot/qs-plot-private.h"

#define TITLE "Quantscope test chart"

static char *tmp_dir;

/* ---- fixtures ---------------------------------------------------------------- */

static QsTensorReport *
report_of (const float    *values,
           int             rows,
           int             cols,
           const QsScheme *scheme)
{
  g_autoptr(GError) error = NULL;
  QsTensorReport *report;
  QsTensorInfo info = { 0 };

  info.path = (char *) "/model_weights/dense/dense/kernel:0";
  info.layer = (char *) "dense";
  info.role = QS_TENSOR_ROLE_KERNEL;
  info.rank = 2;
  info.shape[0] = rows;
  info.shape[1] = cols;
  info.count = (guint64) rows * cols;
  info.dtype = (char *) "float32";
  info.quantizable = TRUE;
  info.channel_axis = 1;

  report = qs_tensor_report_compute_values (&info, values, scheme, 1, &error);
  g_assert_no_error (error);
  g_assert_nonnull (report);
  return report;
}

/* int8 with the histogram over [0, 1] in 10 bins, whatever the data. */
static void
ten_bins_over_0_1 (QsScheme *scheme)
{
  qs_scheme_init_per_tensor (scheme);
  scheme->bins = 10;
  scheme->has_hist_range = TRUE;
  scheme->hist_lo = 0;
  scheme->hist_hi = 1;
}

/* 40 values in [0.2, 0.3) and 10 in [0.7, 0.8): with the histogram over
 * [0, 1] in 10 bins, bins 2 and 7 hold 40 and 10, every other bin none. */
static QsTensorReport *
two_bin_report (void)
{
  float values[50];
  QsScheme scheme;

  for (int i = 0; i < 40; i++)
    values[i] = 0.2f + 0.0024f * i;
  for (int i = 40; i < 50; i++)
    values[i] = 0.71f + 0.008f * (i - 40);
  ten_bins_over_0_1 (&scheme);
  return report_of (values, 10, 5, &scheme);
}

static QsTensorReport *
one_bin_report (void)
{
  float values[24];
  QsScheme scheme;

  for (int i = 0; i < 24; i++)
    values[i] = 0.31f + 0.003f * i;
  ten_bins_over_0_1 (&scheme);
  return report_of (values, 6, 4, &scheme);
}

static QsTensorReport *
per_channel_report (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);
  float values[64 * 8];
  QsScheme scheme;

  /* Column c spans about ±(c + 1) / 8. */
  for (int i = 0; i < 64 * 8; i++)
    values[i] = (float) (g_rand_double_range (rand, -1, 1) * ((i % 8) + 1) / 8.0);
  qs_scheme_init_per_tensor (&scheme);
  scheme.bits = 4;
  scheme.mapping = QS_MAPPING_SYMMETRIC;
  scheme.granularity = QS_GRANULARITY_CHANNEL;
  scheme.axis = QS_AXIS_DEFAULT;
  return report_of (values, 64, 8, &scheme);
}

/* ---- drawing into files, and reading pixels back ----------------------------------- */

typedef enum {
  CHART_HISTOGRAM,
  CHART_CHANNELS,
  CHART_SERIES,
  CHART_BARS,
} ChartKind;

typedef struct {
  ChartKind           kind;
  QsPlotStyle         style;
  QsPlotLabels        labels;
  QsTensorReport     *report;
  const QsPlotSeries *series;
  gsize               n_series;
  const QsPlotBar    *bars;
  gsize               n_bars;
  QsPlotArea          area;      /* where the last drawing put its data */
} Chart;

static void
draw_cb (cairo_t  *cr,
         double    width,
         double    height,
         gpointer  user_data)
{
  Chart *c = user_data;

  switch (c->kind)
    {
    case CHART_HISTOGRAM:
      qs_plot_histogram (cr, width, height, &c->style, &c->labels, c->report, -1, FALSE, &c->area);
      break;
    case CHART_CHANNELS:
      qs_plot_channels (cr, width, height, &c->style, &c->labels, c->report, NULL, NULL, 0, &c->area);
      break;
    case CHART_SERIES:
      qs_plot_series (cr, width, height, &c->style, &c->labels, c->series, c->n_series, &c->area);
      break;
    case CHART_BARS:
    default:
      qs_plot_bars (cr, width, height, &c->style, &c->labels, c->bars, c->n_bars, &c->area);
      break;
    }
}

static void
chart_init (Chart     *c,
            ChartKind  kind)
{
  memset (c, 0, sizeof *c);
  c->kind = kind;
  qs_plot_style_init (&c->style, QS_PLOT_THEME_PAPER);
  c->labels.title = TITLE;
}

static cairo_surface_t *
save_and_load_png (Chart      *c,
                   const char *name,
                   int         width,
                   int         height)
{
  g_autofree char *path = g_build_filename (tmp_dir, name, NULL);
  g_autoptr(GError) error = NULL;
  cairo_surface_t *png;

  g_assert_true (qs_plot_save (path, width, height, TITLE, draw_cb, c, &error));
  g_assert_no_error (error);
  png = cairo_image_surface_create_from_png (path);
  g_assert_cmpint (cairo_surface_status (png), ==, CAIRO_STATUS_SUCCESS);
  g_assert_cmpint (cairo_image_surface_get_width (png), ==, width);
  g_assert_cmpint (cairo_image_surface_get_height (png), ==, height);
  g_unlink (path);
  return png;
}

static gboolean
pixel_is (cairo_surface_t   *png,
          int                x,
          int                y,
          const QsPlotColor *color)
{
  const guint8 *row = cairo_image_surface_get_data (png) + (gsize) y * cairo_image_surface_get_stride (png);
  guint32 p = ((const guint32 *) row)[x];

  /* Opaque pixels: premultiplied ARGB equals straight ARGB. */
  return ((p >> 24) & 0xff) == 0xff
         && ((p >> 16) & 0xff) == (guint) lround (color->red * 255)
         && ((p >> 8) & 0xff) == (guint) lround (color->green * 255)
         && (p & 0xff) == (guint) lround (color->blue * 255);
}

/* Checks that the bars of the histogram stand where its counts say: in
 * every bin's column the bar colour reaches up to the bin's count, and
 * nowhere outside the non-empty bins' columns is it found. */
static void
check_histogram_bars (cairo_surface_t   *png,
                      const Chart       *c,
                      const QsHistogram *h)
{
  const QsPlotArea *a = &c->area;
  int top = (int) ceil (a->y) + 1, bottom = (int) floor (a->y + a->height) - 1;
  int occupied = 0;

  for (int b = 0; b < h->bins; b++)
    {
      double x0 = qs_plot_area_x (a, h->lo + (h->hi - h->lo) * b / h->bins);
      double x1 = qs_plot_area_x (a, h->lo + (h->hi - h->lo) * (b + 1) / h->bins);
      int centre = (int) ((x0 + x1) / 2);
      int highest = bottom + 1;

      for (int y = top; y <= bottom; y++)
        if (pixel_is (png, centre, y, &c->style.bars))
          {
            highest = y;
            break;
          }
      if (h->counts[b] == 0)
        {
          g_assert_cmpint (highest, ==, bottom + 1);
          continue;
        }
      occupied++;
      /* The bar's top within two pixels of the count's height (the
       * reconstructed outline may cover its top edge). */
      g_assert_cmpfloat (fabs (highest - qs_plot_area_y (a, (double) h->counts[b])), <=, 3.0);
    }
  g_assert_cmpint (occupied, >, 0);

  /* No bar colour anywhere else: a bar-coloured pixel lies in a non-empty
   * bin, or on the whole-pixel edge it shares with one. */
  for (int y = top; y <= bottom; y++)
    for (int x = (int) ceil (a->x) + 1; x < (int) (a->x + a->width) - 1; x++)
      if (pixel_is (png, x, y, &c->style.bars))
        {
          double value = a->x_lo + (x + 0.5 - a->x) / a->width * (a->x_hi - a->x_lo);
          int bin = (int) floor ((value - h->lo) / (h->hi - h->lo) * h->bins);
          double edge_lo = qs_plot_area_x (a, h->lo + (h->hi - h->lo) * bin / h->bins);
          double edge_hi = qs_plot_area_x (a, h->lo + (h->hi - h->lo) * (bin + 1) / h->bins);
          gboolean inside = bin >= 0 && bin < h->bins && h->counts[bin] > 0;
          gboolean left_edge = x <= edge_lo + 1 && bin - 1 >= 0 && bin - 1 < h->bins && h->counts[bin - 1] > 0;
          gboolean right_edge = x >= edge_hi - 1 && bin + 1 >= 0 && bin + 1 < h->bins && h->counts[bin + 1] > 0;

          g_assert_true (inside || left_edge || right_edge);
        }
}

static void
test_histogram_one_bin (void)
{
  g_autoptr(QsTensorReport) report = one_bin_report ();
  const QsHistogram *h = &report->analysis.histogram;
  cairo_surface_t *png;
  Chart c;
  int columns = 0, first = -1, last = -1, row;
  double x0, x1;

  /* The fixture itself: every value in bin 3. */
  for (int b = 0; b < h->bins; b++)
    g_assert_cmpuint (h->counts[b], ==, b == 3 ? 24 : 0);

  chart_init (&c, CHART_HISTOGRAM);
  c.report = report;
  png = save_and_load_png (&c, "one-bin.png", 640, 400);
  check_histogram_bars (png, &c, h);

  /* Exactly one bar column: along a row just above the axis, the bar
   * colour lies within bin 3 and fills it, but for the lines drawn over
   * it (the reconstructed outline's sides, the upper clip line). */
  row = (int) floor (c.area.y + c.area.height) - 3;
  for (int x = 0; x < 640; x++)
    if (pixel_is (png, x, row, &c.style.bars))
      {
        first = first < 0 ? x : first;
        last = x;
        columns++;
      }
  x0 = qs_plot_area_x (&c.area, 0.3);
  x1 = qs_plot_area_x (&c.area, 0.4);
  g_assert_cmpfloat (first, >=, x0 - 1);
  g_assert_cmpfloat (last, <=, x1 + 1);
  g_assert_cmpfloat (columns, >=, x1 - x0 - 8);
  cairo_surface_destroy (png);
}

static void
test_histogram_two_bins (void)
{
  g_autoptr(QsTensorReport) report = two_bin_report ();
  const QsHistogram *h = &report->analysis.histogram;
  cairo_surface_t *png;
  Chart c;

  g_assert_cmpuint (h->counts[2], ==, 40);
  g_assert_cmpuint (h->counts[7], ==, 10);
  chart_init (&c, CHART_HISTOGRAM);
  c.report = report;
  png = save_and_load_png (&c, "two-bins.png", 800, 450);
  check_histogram_bars (png, &c, h);
  cairo_surface_destroy (png);

  /* The dark style puts the bars in its own colour, in the same places. */
  qs_plot_style_init (&c.style, QS_PLOT_THEME_DARK);
  png = save_and_load_png (&c, "two-bins-dark.png", 800, 450);
  check_histogram_bars (png, &c, h);
  cairo_surface_destroy (png);
}

/* The reconstructed series as counts per bin: 100 values, 10 in each
 * tenth of [0, 1), under 2 bits land on 4 levels, 25 or so per level's
 * bin, while the weights' bins hold 10. The count axis follows the
 * weights (10 plus 5 % headroom, by hand: 10.5); each level's spike is
 * cut there and marked above the plot, and no mark sits over the empty
 * bins between levels. */
static void
test_histogram_reconstructed_counts (void)
{
  float values[100];
  g_autoptr(QsTensorReport) report = NULL;
  const QsHistogram *h;
  cairo_surface_t *png;
  QsScheme scheme;
  Chart c;
  int marked = 0, spikes = 0;

  for (int i = 0; i < 100; i++)
    values[i] = 0.005f + 0.01f * i;
  ten_bins_over_0_1 (&scheme);
  scheme.bits = 2;
  report = report_of (values, 10, 10, &scheme);
  h = &report->analysis.histogram;
  for (int b = 0; b < h->bins; b++)
    g_assert_cmpuint (h->counts[b], ==, 10);

  chart_init (&c, CHART_HISTOGRAM);
  c.report = report;
  png = save_and_load_png (&c, "reconstructed-counts.png", 800, 450);
  g_assert_cmpfloat_with_epsilon (c.area.y_hi, 10.5, 1e-12);
  for (int b = 0; b < h->bins; b++)
    {
      double x0 = qs_plot_area_x (&c.area, h->lo + (h->hi - h->lo) * b / h->bins);
      double x1 = qs_plot_area_x (&c.area, h->lo + (h->hi - h->lo) * (b + 1) / h->bins);
      int centre = (int) round ((x0 + x1) / 2);
      gboolean mark = pixel_is (png, centre, (int) floor (c.area.y) - 2, &c.style.reconstructed);

      spikes += h->quantized_counts[b] > 10.5;
      marked += mark;
      g_assert_true (mark == (h->quantized_counts[b] > 10.5));
    }
  g_assert_cmpint (spikes, >=, 3);
  g_assert_cmpint (marked, ==, spikes);
  cairo_surface_destroy (png);
}

static void
test_bars (void)
{
  const QsPlotBar bars[] = {
    { "conv2d/kernel:0", 10 }, { "dense/kernel:0", 20 }, { "exact", INFINITY }, { "undefined", NAN },
  };
  cairo_surface_t *png;
  Chart c;

  chart_init (&c, CHART_BARS);
  c.labels.y_label = "SQNR (dB)";
  c.bars = bars;
  c.n_bars = G_N_ELEMENTS (bars);
  png = save_and_load_png (&c, "bars.png", 600, 400);

  for (gsize i = 0; i < G_N_ELEMENTS (bars); i++)
    {
      int x = (int) qs_plot_area_x (&c.area, i + 0.5);
      int bottom = (int) floor (c.area.y + c.area.height) - 1, highest = -1;

      for (int y = (int) c.area.y; y <= bottom; y++)
        if (pixel_is (png, x, y, &c.style.bars))
          {
            highest = y;
            break;
          }
      if (isfinite (bars[i].value))
        g_assert_cmpfloat (fabs (highest - qs_plot_area_y (&c.area, bars[i].value)), <=, 1.5);
      else
        g_assert_cmpint (highest, ==, -1);   /* ∞ is drawn in grey, NaN not at all */
    }
  /* Bar 1 is twice bar 0 above the zero line. */
  g_assert_cmpfloat (fabs ((qs_plot_area_y (&c.area, 0) - qs_plot_area_y (&c.area, 20))
                           - 2 * (qs_plot_area_y (&c.area, 0) - qs_plot_area_y (&c.area, 10))), <, 1e-9);
  cairo_surface_destroy (png);
}

static void
test_series (void)
{
  const QsPlotPoint first[] = { { 1, 1, "a" }, { 2, 4, NULL }, { NAN, 5, NULL }, { 3, 9, "c" } };
  const QsPlotPoint second[] = { { 1, 9, NULL }, { 3, 1, NULL } };
  const QsPlotSeries series[] = { { "squares", first, 4 }, { "falling", second, 2 } };
  cairo_surface_t *png;
  Chart c;

  chart_init (&c, CHART_SERIES);
  c.series = series;
  c.n_series = 2;
  png = save_and_load_png (&c, "series.png", 500, 400);

  /* The data range, padded, is what the axes span. */
  g_assert_cmpfloat (c.area.x_lo, <, 1);
  g_assert_cmpfloat (c.area.x_hi, >, 3);
  g_assert_cmpfloat (c.area.y_lo, <, 1);
  g_assert_cmpfloat (c.area.y_hi, >, 9);
  /* Each point's marker is centred on its value, in its series' colour. */
  for (gsize s = 0; s < 2; s++)
    for (gsize i = 0; i < series[s].n_points; i++)
      {
        const QsPlotPoint *p = &series[s].points[i];

        if (!isfinite (p->x))
          continue;
        g_assert_true (pixel_is (png, (int) qs_plot_area_x (&c.area, p->x),
                                 (int) qs_plot_area_y (&c.area, p->y), &c.style.series[s]));
      }
  cairo_surface_destroy (png);
}

static gboolean
boxes_meet (double ax, double ay, double aw, double ah,
            double bx, double by, double bw, double bh)
{
  return ax < bx + bw && bx < ax + aw && ay < by + bh && by < ay + ah;
}

/* No label meets another label or any dot (a 3.5-pixel disc, whose
 * bounding square is the bound checked). */
static void
assert_labels_apart (const QsPlotLabelPlace *labels,
                     gsize                   n)
{
  for (gsize i = 0; i < n; i++)
    {
      const QsPlotLabelPlace *a = &labels[i];

      if (a->width <= 0)
        continue;
      for (gsize k = 0; k < n; k++)
        {
          const QsPlotLabelPlace *b = &labels[k];

          if (k != i && b->width > 0)
            g_assert_false (boxes_meet (a->left, a->top, a->width, a->height,
                                        b->left, b->top, b->width, b->height));
          g_assert_false (boxes_meet (a->left, a->top, a->width, a->height,
                                      b->x - 3.5, b->y - 3.5, 7, 7));
        }
    }
}

static void
test_place_labels (void)
{
  const QsPlotArea area = { 100, 50, 400, 300, 0, 1, 0, 1, FALSE };
  QsPlotLabelPlace alone[] = { { 200, 200, 40, 12, 0, 0 } };
  /* At the top right corner: above and right leave the area. */
  QsPlotLabelPlace corner[] = { { 495, 55, 40, 12, 0, 0 } };
  QsPlotLabelPlace crowd[24];
  QsPlotLabelPlace tiny_area[6];
  const QsPlotArea small = { 0, 0, 60, 30, 0, 1, 0, 1, FALSE };

  /* Alone: 6 right of the point, its bottom 4 above it. */
  qs_plot_place_labels (&area, alone, 1);
  g_assert_cmpfloat (alone[0].left, ==, 206);
  g_assert_cmpfloat (alone[0].top, ==, 200 - 4 - 12);

  /* Left of and below the point: 495 - 6 - 40 and 55 + 4. */
  qs_plot_place_labels (&area, corner, 1);
  g_assert_cmpfloat (corner[0].left, ==, 449);
  g_assert_cmpfloat (corner[0].top, ==, 59);

  /* Coinciding points, points a pixel apart, a diagonal line of them, and
   * unlabelled dots among them, as a sweep over short rows draws them. */
  for (gsize i = 0; i < G_N_ELEMENTS (crowd); i++)
    {
      double x = i < 8 ? 300 : i < 16 ? 300 + (i - 8) : 150 + 10 * (i - 16);
      double y = i < 8 ? 200 : i < 16 ? 200 + (i - 8) : 300 - 8 * (i - 16);

      crowd[i] = (QsPlotLabelPlace) { x, y, i % 5 == 4 ? 0 : 30 + 7 * (i % 3), i % 5 == 4 ? 0 : 12, 0, 0 };
    }
  qs_plot_place_labels (&area, crowd, G_N_ELEMENTS (crowd));
  assert_labels_apart (crowd, G_N_ELEMENTS (crowd));
  /* There is room for every one inside the area. */
  for (gsize i = 0; i < G_N_ELEMENTS (crowd); i++)
    if (crowd[i].width > 0)
      {
        g_assert_cmpfloat (crowd[i].left, >=, area.x);
        g_assert_cmpfloat (crowd[i].top, >=, area.y);
        g_assert_cmpfloat (crowd[i].left + crowd[i].width, <=, area.x + area.width);
        g_assert_cmpfloat (crowd[i].top + crowd[i].height, <=, area.y + area.height);
      }

  /* No room inside: labels still keep apart, stacked outside. */
  for (gsize i = 0; i < G_N_ELEMENTS (tiny_area); i++)
    tiny_area[i] = (QsPlotLabelPlace) { 20, 15, 25, 10, 0, 0 };
  qs_plot_place_labels (&small, tiny_area, G_N_ELEMENTS (tiny_area));
  assert_labels_apart (tiny_area, G_N_ELEMENTS (tiny_area));
}

static void
test_sweep_labels (void)
{
  /* A 1x1 conv over 16 input channels: every group of 16 or more is the
   * whole row, so 16 to 128 coincide; 8 is apart, and so is 256 whose
   * SQNR differs in the last place a dB figure shows but is not equal. */
  const QsBlockSweepPoint points[] = {
    { 8, 5.0, 24.0, 0 },
    { 16, 4.5, 21.25, 0 },
    { 32, 4.5, 21.25, 0 },
    { 64, 4.5 * (1 + 1e-12), 21.25, 0 },
    { 128, 4.5, 21.25, 0 },
    { 256, 4.5, 21.26, 0 },
    { 512, INFINITY, INFINITY, 0 },
    { 1024, INFINITY, INFINITY, 0 },
  };
  char *names[G_N_ELEMENTS (points)];

  qs_plot_block_sweep_labels (points, G_N_ELEMENTS (points), names);
  g_assert_cmpstr (names[0], ==, "G=8");
  g_assert_cmpstr (names[1], ==, "G=16, 32, 64, 128");
  g_assert_null (names[2]);
  g_assert_null (names[3]);
  g_assert_null (names[4]);
  g_assert_cmpstr (names[5], ==, "G=256");
  g_assert_cmpstr (names[6], ==, "G=512, 1024");
  g_assert_null (names[7]);
  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    g_free (names[i]);
}

static void
test_end_labels (void)
{
  const struct { double width, height; } sizes[] = { { 700, 260 }, { 200, 120 }, { 90, 50 }, { 30, 20 } };

  for (gsize c = 0; c < G_N_ELEMENTS (sizes); c++)
    {
      /* "202.5 KiB", "402.6 KiB", "91.67 %", "93.67 %" at the app's small size. */
      QsPlotEndLabel ends[QS_PLOT_N_ENDS] = {
        { 52, 15, 0, 0, FALSE }, { 54, 15, 0, 0, FALSE }, { 44, 15, 0, 0, FALSE }, { 46, 15, 0, 0, FALSE },
      };
      cairo_rectangle_t axes, data;
      const double radius = 10;

      qs_plot_end_labels_layout (sizes[c].width, sizes[c].height, radius, ends, &axes, &data);
      /* The marks at the data's extremes stay inside the axes' box. */
      g_assert_cmpfloat_with_epsilon (data.x - radius, axes.x, 1e-9);
      g_assert_cmpfloat_with_epsilon (data.y - radius, axes.y, 1e-9);
      g_assert_cmpfloat_with_epsilon (data.x + data.width + radius, axes.x + axes.width, 1e-9);
      g_assert_cmpfloat_with_epsilon (data.y + data.height + radius, axes.y + axes.height, 1e-9);
      g_assert_cmpfloat (data.width, >, 0);
      g_assert_cmpfloat (data.height, >, 0);
      /* The low ends, where the axes meet, are always named. */
      g_assert_true (ends[QS_PLOT_END_X_LO].shown);
      g_assert_true (ends[QS_PLOT_END_Y_LO].shown);
      for (int i = 0; i < QS_PLOT_N_ENDS; i++)
        {
          const QsPlotEndLabel *a = &ends[i];

          if (!a->shown)
            continue;
          /* No label on the axes or the plot: the walkthrough's bug. */
          g_assert_false (boxes_meet (a->left, a->top, a->width, a->height,
                                      axes.x, axes.y, axes.width, axes.height));
          for (int k = i + 1; k < QS_PLOT_N_ENDS; k++)
            if (ends[k].shown)
              g_assert_false (boxes_meet (a->left, a->top, a->width, a->height,
                                          ends[k].left, ends[k].top, ends[k].width, ends[k].height));
        }
      if (c == 0)
        {
          /* Hand-derived: 4 of padding, the wider y label (46), a gap of 6;
           * the top label's half-height (7.5) is within the ring's 10. */
          g_assert_cmpfloat (axes.x, ==, 4 + 46 + 6);
          g_assert_cmpfloat (axes.y, ==, 4);
          g_assert_cmpfloat (axes.y + axes.height, ==, 260 - 4 - 15 - 3);
          g_assert_cmpfloat (axes.x + axes.width, ==, 700 - 4);
          g_assert_true (ends[QS_PLOT_END_X_HI].shown);
          g_assert_true (ends[QS_PLOT_END_Y_HI].shown);
          /* The y labels end 6 left of the axis, centred on their ends. */
          g_assert_cmpfloat (ends[QS_PLOT_END_Y_HI].left + 46, ==, axes.x - 6);
          g_assert_cmpfloat (ends[QS_PLOT_END_Y_HI].top + 7.5, ==, data.y);
          g_assert_cmpfloat (ends[QS_PLOT_END_Y_LO].top + 7.5, ==, data.y + data.height);
          g_assert_cmpfloat (ends[QS_PLOT_END_X_HI].left + 54, ==, data.x + data.width);
        }
      if (c == 3)
        {
          /* Too small for both ends of either axis. */
          g_assert_false (ends[QS_PLOT_END_X_HI].shown);
          g_assert_false (ends[QS_PLOT_END_Y_HI].shown);
        }
    }
}

static void
test_common_prefix (void)
{
  const char *keras[] = { "/model_weights/dense/dense/kernel:0", "/model_weights/conv2d_1/conv2d_1/kernel:0" };
  const char *siblings[] = { "/m/conv2d_1/kernel:0", "/m/conv2d_2/kernel:0" };
  const char *folder_only[] = { "/m/a/", "/m/a/b" };
  const char *flat[] = { "conv1.weight", "conv2.weight" };
  const char *one[] = { "/model_weights/dense/dense/kernel:0" };

  /* Whole folders only: "conv2d_" stays on both. */
  g_assert_cmpuint (qs_plot_common_prefix (keras, 2), ==, strlen ("/model_weights/"));
  g_assert_cmpuint (qs_plot_common_prefix (siblings, 2), ==, strlen ("/m/"));
  /* "/m/a/" would be left with nothing: keep everything. */
  g_assert_cmpuint (qs_plot_common_prefix (folder_only, 2), ==, 0);
  g_assert_cmpuint (qs_plot_common_prefix (flat, 2), ==, 0);
  g_assert_cmpuint (qs_plot_common_prefix (one, 1), ==, 0);
}

static void
test_slanted_stride (void)
{
  /* 52 bars over 920 pixels, 15-pixel lines: a name every 2 bars, since
   * 17.7 / sqrt 2 = 12.5 pixels across is less than a line, and 25 is
   * more. */
  g_assert_cmpuint (_qs_plot_slanted_stride (15, 920.0 / 52), ==, 2);
  /* Room enough: every bar named, 30 / sqrt 2 = 21 >= 16.5. */
  g_assert_cmpuint (_qs_plot_slanted_stride (15, 30), ==, 1);
  /* Whatever the stride, names written are at least a line apart. */
  for (double slot = 0.5; slot < 60; slot += 0.75)
    g_assert_cmpfloat (_qs_plot_slanted_stride (15, slot) * slot / G_SQRT2, >=, 15);
}

static void
test_channels (void)
{
  g_autoptr(QsTensorReport) report = per_channel_report ();
  const QsAnalysis *a = &report->analysis;
  cairo_surface_t *png;
  Chart c;

  g_assert_cmpuint (a->channels, ==, 8);
  chart_init (&c, CHART_CHANNELS);
  c.report = report;
  png = save_and_load_png (&c, "channels.png", 800, 400);

  g_assert_cmpfloat (c.area.x_lo, ==, -0.5);
  g_assert_cmpfloat (c.area.x_hi, ==, 7.5);
  /* Each channel's range line covers its min and max, and not beyond. */
  for (gsize ch = 0; ch < a->channels; ch++)
    {
      int x = (int) qs_plot_area_x (&c.area, (double) ch);
      double y_max = qs_plot_area_y (&c.area, a->channel_max[ch]);
      double y_min = qs_plot_area_y (&c.area, a->channel_min[ch]);

      g_assert_true (pixel_is (png, x, (int) (y_max + 2), &c.style.series[0]));
      g_assert_true (pixel_is (png, x, (int) (y_min - 2), &c.style.series[0]));
      g_assert_false (pixel_is (png, x, (int) (y_max - 3), &c.style.series[0]));
      g_assert_false (pixel_is (png, x, (int) (y_min + 3), &c.style.series[0]));
    }
  cairo_surface_destroy (png);
}

/* ---- file formats ----------------------------------------------------------------- */

static void
check_svg (const char *path)
{
  g_autoptr(GMarkupParseContext) parser = NULL;
  static const GMarkupParser no_handlers = { 0 };
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  gsize length;

  g_assert_true (g_file_get_contents (path, &text, &length, &error));
  g_assert_no_error (error);
  /* Well-formed XML: GMarkup rejects anything that is not. */
  parser = g_markup_parse_context_new (&no_handlers, 0, NULL, NULL);
  g_assert_true (g_markup_parse_context_parse (parser, text, (gssize) length, &error));
  g_assert_no_error (error);
  g_assert_true (g_markup_parse_context_end_parse (parser, &error));
  g_assert_no_error (error);
  g_assert_nonnull (strstr (text, "<svg"));
  g_assert_nonnull (strstr (text, "<title>" TITLE "</title>"));
}

static void
check_pdf (const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  gsize length;

  g_assert_true (g_file_get_contents (path, &text, &length, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (length, >, 100);
  g_assert_cmpmem (text, 5, "%PDF-", 5);
  /* Binary streams hold NULs: search the bytes, not a string. */
  g_assert_nonnull (memmem (text, length, "/Title (" TITLE ")", strlen ("/Title (" TITLE ")")));
  g_assert_nonnull (memmem (text + length - 32, 32, "%%EOF", 5));
}

static void
test_formats (void)
{
  g_autoptr(QsTensorReport) report = per_channel_report ();
  const QsPlotPoint points[] = { { 2.5, 7, "int2" }, { 4.5, 20, "int4" }, { 8.5, 44, "int8" } };
  const QsPlotSeries series = { "per-channel", points, 3 };
  const QsPlotBar bars[] = { { "a", 30 }, { "b", 12 } };
  const char *kinds[] = { "histogram", "channels", "series", "bars" };

  for (int k = CHART_HISTOGRAM; k <= CHART_BARS; k++)
    {
      Chart c;

      chart_init (&c, (ChartKind) k);
      c.report = report;
      c.series = &series;
      c.n_series = 1;
      c.bars = bars;
      c.n_bars = 2;
      for (int f = 0; f < 3; f++)
        {
          static const char *suffixes[] = { "png", "svg", "PDF" };
          g_autofree char *name = g_strdup_printf ("%s.%s", kinds[k], suffixes[f]);
          g_autofree char *path = g_build_filename (tmp_dir, name, NULL);
          g_autoptr(GError) error = NULL;

          g_assert_true (qs_plot_save (path, 720, 420, TITLE, draw_cb, &c, &error));
          g_assert_no_error (error);
          if (f == 0)
            {
              cairo_surface_t *png = cairo_image_surface_create_from_png (path);

              g_assert_cmpint (cairo_surface_status (png), ==, CAIRO_STATUS_SUCCESS);
              g_assert_cmpint (cairo_image_surface_get_width (png), ==, 720);
              g_assert_cmpint (cairo_image_surface_get_height (png), ==, 420);
              cairo_surface_destroy (png);
            }
          else if (f == 1)
            check_svg (path);
          else
            check_pdf (path);
          g_unlink (path);
        }
    }
}

static GStrv
list_dir (const char *dir)
{
  g_autoptr(GDir) listing = g_dir_open (dir, 0, NULL);
  g_autoptr(GStrvBuilder) names = g_strv_builder_new ();

  g_assert_nonnull (listing);
  for (const char *name; (name = g_dir_read_name (listing)) != NULL;)
    g_strv_builder_add (names, name);
  return g_strv_builder_end (names);
}

static void
test_save_errors (void)
{
  g_autoptr(QsTensorReport) report = one_bin_report ();
  g_autofree char *dir = g_build_filename (tmp_dir, "errors", NULL);
  g_autofree char *bmp = g_build_filename (dir, "chart.bmp", NULL);
  g_autofree char *png = g_build_filename (dir, "chart.png", NULL);
  g_autofree char *missing = g_build_filename (dir, "no-such-folder", "chart.png", NULL);
  g_auto(GStrv) left = NULL;
  GError *error = NULL;
  Chart c;

  g_assert_cmpint (g_mkdir (dir, 0755), ==, 0);
  chart_init (&c, CHART_HISTOGRAM);
  c.report = report;

  g_assert_false (qs_plot_save (bmp, 100, 100, NULL, draw_cb, &c, &error));
  g_assert_error (error, QS_ERROR, QS_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (qs_plot_save (png, 0, 100, NULL, draw_cb, &c, &error));
  g_assert_error (error, QS_ERROR, QS_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (qs_plot_save (png, 100, QS_PLOT_MAX_SIZE + 1, NULL, draw_cb, &c, &error));
  g_assert_error (error, QS_ERROR, QS_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (qs_plot_save (png, QS_PLOT_MAX_SIZE, QS_PLOT_MAX_SIZE, NULL, draw_cb, &c, &error));
  g_assert_error (error, QS_ERROR, QS_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (qs_plot_save (missing, 100, 100, NULL, draw_cb, &c, &error));
  g_assert_error (error, QS_ERROR, QS_ERROR_WRITE);
  g_clear_error (&error);

  /* Nothing at all was left in the folder. */
  left = list_dir (dir);
  g_assert_cmpuint (g_strv_length (left), ==, 0);
  g_rmdir (dir);
}

static void
test_save_mode_and_replace (void)
{
  g_autoptr(QsTensorReport) report = one_bin_report ();
  g_autofree char *dir = g_build_filename (tmp_dir, "modes", NULL);
  g_autofree char *path = g_build_filename (dir, "chart.svg", NULL);
  g_autofree char *text = NULL;
  g_auto(GStrv) left = NULL;
  g_autoptr(GError) error = NULL;
  const mode_t masks[] = { 022, 027, 077 };
  GStatBuf st;
  mode_t saved;
  Chart c;

  g_assert_cmpint (g_mkdir (dir, 0755), ==, 0);
  chart_init (&c, CHART_HISTOGRAM);
  c.report = report;

  /* 0666 less the umask, as any file the user saves; replacing an old
   * file leaves exactly the new one. */
  g_assert_true (g_file_set_contents (path, "old", -1, NULL));
  for (gsize i = 0; i < G_N_ELEMENTS (masks); i++)
    {
      saved = umask (masks[i]);
      g_assert_true (qs_plot_save (path, 300, 200, TITLE, draw_cb, &c, &error));
      umask (saved);
      g_assert_no_error (error);
      g_assert_cmpint (g_stat (path, &st), ==, 0);
      g_assert_cmpint (st.st_mode & 0777, ==, 0666 & ~masks[i]);
    }
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_assert_nonnull (strstr (text, "<svg"));
  left = list_dir (dir);
  g_assert_cmpuint (g_strv_length (left), ==, 1);
  g_unlink (path);
  g_rmdir (dir);
}

/* ---- helpers ----------------------------------------------------------------------- */

static void
test_nice_ticks (void)
{
  double ticks[16], step;
  int n;

  /* By hand: [0, 1] in about 5 steps is 0, 0.2, ..., 1. */
  n = qs_plot_nice_ticks (0, 1, 5, FALSE, ticks, 16, &step);
  g_assert_cmpint (n, ==, 6);
  g_assert_cmpfloat_with_epsilon (step, 0.2, 1e-12);
  for (int i = 0; i < n; i++)
    g_assert_cmpfloat_with_epsilon (ticks[i], 0.2 * i, 1e-12);

  /* [-0.37, 0.41] in about 4: raw 0.195 -> step 0.2, from -0.2 to 0.4. */
  n = qs_plot_nice_ticks (-0.37, 0.41, 4, FALSE, ticks, 16, &step);
  g_assert_cmpint (n, ==, 4);
  g_assert_cmpfloat_with_epsilon (ticks[0], -0.2, 1e-12);
  g_assert_cmpfloat (ticks[1], ==, 0.0);
  g_assert_cmpfloat_with_epsilon (ticks[3], 0.4, 1e-12);

  /* Whole numbers only: channels 0..3 never get a 0.5 step. */
  n = qs_plot_nice_ticks (0, 3, 10, TRUE, ticks, 16, &step);
  g_assert_cmpfloat (step, ==, 1.0);
  g_assert_cmpint (n, ==, 4);

  g_assert_cmpint (qs_plot_nice_ticks (1, 1, 5, FALSE, ticks, 16, &step), ==, 0);
  g_assert_cmpint (qs_plot_nice_ticks (0, INFINITY, 5, FALSE, ticks, 16, &step), ==, 0);
}

static void
test_default_title (void)
{
  g_autoptr(QsTensorReport) channel = per_channel_report ();
  g_autoptr(QsTensorReport) tensor = one_bin_report ();
  g_autofree char *a = qs_plot_default_title (channel);
  g_autofree char *b = qs_plot_default_title (tensor);

  g_assert_cmpstr (a, ==, "/model_weights/dense/dense/kernel:0 · int4 symmetric per-channel");
  g_assert_cmpstr (b, ==, "/model_weights/dense/dense/kernel:0 · int8 asymmetric per-tensor");
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GError) error = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  tmp_dir = g_dir_make_tmp ("test-plot-XXXXXX", &error);
  g_assert_no_error (error);

  g_test_add_func ("/plot/histogram/one-bin", test_histogram_one_bin);
  g_test_add_func ("/plot/histogram/two-bins", test_histogram_two_bins);
  g_test_add_func ("/plot/histogram/reconstructed-counts", test_histogram_reconstructed_counts);
  g_test_add_func ("/plot/bars", test_bars);
  g_test_add_func ("/plot/series", test_series);
  g_test_add_func ("/plot/channels", test_channels);
  g_test_add_func ("/plot/place-labels", test_place_labels);
  g_test_add_func ("/plot/sweep-labels", test_sweep_labels);
  g_test_add_func ("/plot/end-labels", test_end_labels);
  g_test_add_func ("/plot/common-prefix", test_common_prefix);
  g_test_add_func ("/plot/slanted-stride", test_slanted_stride);
  g_test_add_func ("/plot/formats", test_formats);
  g_test_add_func ("/plot/save/errors", test_save_errors);
  g_test_add_func ("/plot/save/mode-and-replace", test_save_mode_and_replace);
  g_test_add_func ("/plot/nice-ticks", test_nice_ticks);
  g_test_add_func ("/plot/default-title", test_default_title);
  status = g_test_run ();
  g_rmdir (tmp_dir);
  g_free (tmp_dir);
  return status;
}
