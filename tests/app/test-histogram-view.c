/* test-histogram-view.c: the histogram and channel-range charts render, drag, export and describe themselves.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Runs under Xvfb (suite "gui"). With QS_SCREENSHOT_DIR set it also saves
 * the pictures a reviewer looks at: light and dark, 4-bit symmetric with
 * outliers, 4-bit without zero-point nudging, and a per-channel report.
 */
#include <adwaita.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>

#include "app/qs-channel-range-view-private.h"
#include "app/qs-chart.h"
#include "app/qs-chart-view-private.h"
#include "app/qs-histogram-view-private.h"
#include "model/qs-error.h"

#define ROWS 64
#define COLS 72
#define COUNT (ROWS * COLS)

typedef struct {
  double lo;
  double hi;
  int    changed;
  int    committed;
} RangeLog;

/* Normal(0, sigma) by Box-Muller from a seeded GRand, so every run draws the
 * same picture; a few large outliers like the ones real kernels have. */
static float *
make_values (double   mean,
             double   sigma,
             gboolean outliers)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (1234);
  float *v = g_new (float, COUNT);

  for (int i = 0; i < COUNT; i++)
    {
      double u1 = g_rand_double_range (rand, 1e-12, 1.0);
      double u2 = g_rand_double (rand);
      /* Per column a slightly different spread, so channels differ. */
      double column_scale = 0.6 + 0.8 * (i % COLS) / (double) COLS;

      v[i] = (float) (mean + sigma * column_scale * sqrt (-2 * log (u1)) * cos (2 * G_PI * u2));
    }
  if (outliers)
    {
      v[17] = 6.1f;
      v[900] = -5.4f;
      v[2500] = 4.8f;
    }
  return v;
}

static QsTensorReport *
make_report (const QsScheme *scheme,
             double          mean,
             double          sigma,
             gboolean        outliers)
{
  g_autofree float *values = make_values (mean, sigma, outliers);
  g_autoptr(GError) error = NULL;
  QsTensorReport *report;
  QsTensorInfo info = { 0 };

  info.path = (char *) "/model_weights/dense/dense/kernel:0";
  info.layer = (char *) "dense";
  info.role = QS_TENSOR_ROLE_KERNEL;
  info.rank = 2;
  info.shape[0] = ROWS;
  info.shape[1] = COLS;
  info.count = COUNT;
  info.dtype = (char *) "float32";
  info.quantizable = TRUE;
  info.channel_axis = 1;

  report = qs_tensor_report_compute_values (&info, values, scheme, 1, &error);
  g_assert_no_error (error);
  g_assert_nonnull (report);
  return report;
}

static QsTensorReport *
make_int8_report (void)
{
  QsScheme scheme;

  qs_scheme_init_per_tensor (&scheme);
  return make_report (&scheme, 0, 1, FALSE);
}

static QsTensorReport *
make_4bit_symmetric_report (void)
{
  QsScheme scheme;

  qs_scheme_init_per_tensor (&scheme);
  scheme.bits = 4;
  scheme.mapping = QS_MAPPING_SYMMETRIC;
  return make_report (&scheme, 0, 1, TRUE);
}

static QsTensorReport *
make_no_nudge_report (gboolean nudge)
{
  QsScheme scheme;

  qs_scheme_init_per_tensor (&scheme);
  scheme.bits = 4;
  scheme.mapping = QS_MAPPING_ASYMMETRIC;
  scheme.nudge_zero = nudge;
  return make_report (&scheme, 0.35, 0.25, FALSE);
}

static QsTensorReport *
make_per_channel_report (void)
{
  QsScheme scheme;

  qs_scheme_init_per_tensor (&scheme);
  scheme.granularity = QS_GRANULARITY_CHANNEL;
  scheme.axis = QS_AXIS_DEFAULT;
  scheme.range_method = QS_RANGE_PERCENTILE;
  scheme.percentile = 99.5;
  return make_report (&scheme, 0, 1, TRUE);
}

static void
count_cb (int *counter)
{
  (*counter)++;
}

/* Pixels ------------------------------------------------------------------- */

typedef struct {
  int     width;
  int     height;
  gsize   stride;
  guchar *data;   /* B G R A, premultiplied (GDK_MEMORY_DEFAULT on little endian) */
} Pixels;

static void
pixels_download (GdkTexture *texture,
                 Pixels     *p)
{
  p->width = gdk_texture_get_width (texture);
  p->height = gdk_texture_get_height (texture);
  p->stride = (gsize) p->width * 4;
  p->data = g_malloc (p->stride * p->height);
  gdk_texture_download (texture, p->data, p->stride);
}

static const guchar *
pixel_at (const Pixels *p,
          int           x,
          int           y)
{
  g_assert_cmpint (x, >=, 0);
  g_assert_cmpint (x, <, p->width);
  g_assert_cmpint (y, >=, 0);
  g_assert_cmpint (y, <, p->height);
  return p->data + (gsize) y * p->stride + (gsize) x * 4;
}

static gboolean
pixel_differs (const Pixels *p,
               int           x,
               int           y,
               const guchar *reference)
{
  const guchar *px = pixel_at (p, x, y);

  for (int i = 0; i < 4; i++)
    if (ABS ((int) px[i] - (int) reference[i]) > 8)
      return TRUE;
  return FALSE;
}

static int
count_differing (const Pixels *p,
                 const guchar *reference)
{
  int n = 0;

  for (int y = 0; y < p->height; y++)
    for (int x = 0; x < p->width; x++)
      n += pixel_differs (p, x, y, reference);
  return n;
}

static int
count_near_color (const Pixels  *p,
                  const GdkRGBA *color)
{
  int n = 0;

  for (int y = 0; y < p->height; y++)
    for (int x = 0; x < p->width; x++)
      {
        const guchar *px = pixel_at (p, x, y);

        if (ABS (px[2] - (int) round (color->red * 255)) <= 12 &&
            ABS (px[1] - (int) round (color->green * 255)) <= 12 &&
            ABS (px[0] - (int) round (color->blue * 255)) <= 12)
          n++;
      }
  return n;
}

static gboolean
textures_differ (GdkTexture *a,
                 GdkTexture *b)
{
  Pixels pa, pb;
  gboolean differ;

  pixels_download (a, &pa);
  pixels_download (b, &pb);
  g_assert_cmpint (pa.width, ==, pb.width);
  g_assert_cmpint (pa.height, ==, pb.height);
  differ = memcmp (pa.data, pb.data, pa.stride * pa.height) != 0;
  g_free (pa.data);
  g_free (pb.data);
  return differ;
}

/* Windows ------------------------------------------------------------------ */

static GtkWidget *
show_in_window (GtkWidget *child,
                int        width,
                int        height)
{
  GtkWidget *window = gtk_window_new ();

  gtk_window_set_default_size (GTK_WINDOW (window), width, height);
  gtk_window_set_child (GTK_WINDOW (window), child);
  gtk_window_present (GTK_WINDOW (window));

  /* Wait for the first allocation; Xvfb answers within a few frames. */
  for (int i = 0; i < 2000 && (gtk_widget_get_width (child) <= 0 || !gtk_widget_get_mapped (child)); i++)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
  g_assert_cmpint (gtk_widget_get_width (child), >, 0);
  g_assert_cmpint (gtk_widget_get_height (child), >, 0);
  return window;
}

static void
drain_main_context (void)
{
  for (int i = 0; i < 50; i++)
    {
      while (g_main_context_iteration (NULL, FALSE))
        ;
      g_usleep (2000);
    }
}

static void
destroy_window (GtkWidget *window,
                GtkWidget *child)
{
  g_object_ref (child);
  gtk_window_destroy (GTK_WINDOW (window));
  drain_main_context ();
  g_assert_finalize_object (child);
}

/* Tests -------------------------------------------------------------------- */

static void
test_placeholder (void)
{
  GtkWidget *view = g_object_ref_sink (qs_histogram_view_new ());
  g_autoptr(GdkTexture) texture = NULL;
  Pixels p;

  g_assert_null (qs_histogram_view_get_report (QS_HISTOGRAM_VIEW (view)));
  g_assert_false (qs_histogram_view_get_clip_range (QS_HISTOGRAM_VIEW (view), NULL, NULL));
  g_assert_true (qs_histogram_view_get_show_quantized (QS_HISTOGRAM_VIEW (view)));
  g_assert_false (qs_histogram_view_get_log_scale (QS_HISTOGRAM_VIEW (view)));
  g_assert_cmpint (qs_histogram_view_get_channel (QS_HISTOGRAM_VIEW (view)), ==, -1);

  /* The placeholder text is drawn. */
  texture = qs_histogram_view_render (QS_HISTOGRAM_VIEW (view), 320, 200);
  pixels_download (texture, &p);
  g_assert_cmpint (count_differing (&p, pixel_at (&p, 0, 0)), >, 50);
  g_free (p.data);

  g_assert_finalize_object (view);
}

static void
test_render_pixels (void)
{
  g_autoptr(QsTensorReport) report = make_int8_report ();
  GtkWidget *view = g_object_ref_sink (qs_histogram_view_new ());
  g_autoptr(GdkTexture) texture = NULL;
  graphene_rect_t plot;
  double view_lo, view_hi;
  const guchar *bg;
  int peak_x, tail_x, bottom, occupied = 0, tail_occupied = 0;
  Pixels p;

  qs_histogram_view_set_report (QS_HISTOGRAM_VIEW (view), report);
  g_assert_true (qs_histogram_view_get_report (QS_HISTOGRAM_VIEW (view)) == report);

  texture = qs_histogram_view_render (QS_HISTOGRAM_VIEW (view), 480, 260);
  g_assert_cmpint (gdk_texture_get_width (texture), ==, 480);
  g_assert_cmpint (gdk_texture_get_height (texture), ==, 260);
  pixels_download (texture, &p);
  bg = pixel_at (&p, 0, 0);
  g_assert_cmpint (count_differing (&p, bg), >, 480 * 260 / 20);

  /* The column over 0.0, the mode of N(0, 1), is mostly bar; the column at
   * -2.8, far in the tail, is mostly background above the baseline. */
  _qs_histogram_view_get_plot (QS_HISTOGRAM_VIEW (view), 480, 260, &plot, &view_lo, &view_hi);
  g_assert_cmpfloat (view_lo, <, report->analysis.data_min);
  g_assert_cmpfloat (view_hi, >, report->analysis.data_max);
  peak_x = (int) (plot.origin.x + (0.08 - view_lo) / (view_hi - view_lo) * plot.size.width);
  tail_x = (int) (plot.origin.x + (-2.8 - view_lo) / (view_hi - view_lo) * plot.size.width);
  bottom = (int) (plot.origin.y + plot.size.height) - 2;
  for (int y = bottom; y > bottom - (int) (plot.size.height * 0.5); y--)
    {
      occupied += pixel_differs (&p, peak_x, y, bg);
      tail_occupied += pixel_differs (&p, tail_x, y - (int) (plot.size.height * 0.3), bg);
    }
  g_assert_cmpint (occupied, >, (int) (plot.size.height * 0.45));
  g_assert_cmpint (tail_occupied, <, (int) (plot.size.height * 0.1));
  g_free (p.data);

  g_assert_finalize_object (view);
}

static GskRenderNode *
snapshot_widget (GtkWidget *widget)
{
  GtkSnapshot *snapshot = gtk_snapshot_new ();

  GTK_WIDGET_GET_CLASS (widget)->snapshot (widget, snapshot);
  return gtk_snapshot_free_to_node (snapshot);
}

static void
test_snapshot_cache (void)
{
  g_autoptr(QsTensorReport) report = make_int8_report ();
  GtkWidget *view = qs_histogram_view_new ();
  GtkWidget *window;
  g_autoptr(GskRenderNode) first = NULL;
  g_autoptr(GskRenderNode) second = NULL;
  g_autoptr(GskRenderNode) third = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  Pixels p;

  qs_histogram_view_set_report (QS_HISTOGRAM_VIEW (view), report);
  window = show_in_window (view, 500, 280);

  /* The widget's own snapshot draws the chart... */
  first = snapshot_widget (view);
  g_assert_nonnull (first);
  g_assert_cmpint (gsk_render_node_get_node_type (first), ==, GSK_CONTAINER_NODE);
  texture = qs_chart_render_node (first, gtk_widget_get_width (view), gtk_widget_get_height (view));
  pixels_download (texture, &p);
  g_assert_cmpint (count_differing (&p, pixel_at (&p, 0, 0)), >, p.width * p.height / 20);
  g_free (p.data);

  /* ...replays the recorded static part on the next frame... */
  second = snapshot_widget (view);
  g_assert_true (gsk_container_node_get_child (first, 0) == gsk_container_node_get_child (second, 0));

  /* For the record: what a frame costs with and without the cache. */
  {
    gint64 start = g_get_monotonic_time ();
    gint64 cached, rebuilt;

    for (int i = 0; i < 50; i++)
      gsk_render_node_unref (snapshot_widget (view));
    cached = g_get_monotonic_time () - start;
    start = g_get_monotonic_time ();
    for (int i = 0; i < 50; i++)
      {
        qs_histogram_view_set_log_scale (QS_HISTOGRAM_VIEW (view), i % 2);
        gsk_render_node_unref (snapshot_widget (view));
      }
    rebuilt = g_get_monotonic_time () - start;
    qs_histogram_view_set_log_scale (QS_HISTOGRAM_VIEW (view), FALSE);
    g_test_message ("snapshot: %.0f us cached, %.0f us rebuilding the static part",
                    cached / 50.0, rebuilt / 50.0);
  }

  /* ...and records it again when the count axis changes. */
  qs_histogram_view_set_log_scale (QS_HISTOGRAM_VIEW (view), TRUE);
  third = snapshot_widget (view);
  g_assert_true (gsk_container_node_get_child (second, 0) != gsk_container_node_get_child (third, 0));

  destroy_window (window, view);
}

static void
test_log_scale_and_series (void)
{
  g_autoptr(QsTensorReport) report = make_int8_report ();
  GtkWidget *view = g_object_ref_sink (qs_histogram_view_new ());
  g_autoptr(GdkTexture) linear = NULL;
  g_autoptr(GdkTexture) log_scale = NULL;
  g_autoptr(GdkTexture) no_series = NULL;
  int notified = 0;

  qs_histogram_view_set_report (QS_HISTOGRAM_VIEW (view), report);
  g_signal_connect_swapped (view, "notify::log-scale", G_CALLBACK (count_cb), &notified);

  linear = qs_histogram_view_render (QS_HISTOGRAM_VIEW (view), 400, 240);
  g_object_set (view, "log-scale", TRUE, NULL);
  g_assert_cmpint (notified, ==, 1);
  g_object_set (view, "log-scale", TRUE, NULL);
  g_assert_cmpint (notified, ==, 1);
  g_assert_true (qs_histogram_view_get_log_scale (QS_HISTOGRAM_VIEW (view)));
  log_scale = qs_histogram_view_render (QS_HISTOGRAM_VIEW (view), 400, 240);
  g_assert_true (textures_differ (linear, log_scale));

  qs_histogram_view_set_show_quantized (QS_HISTOGRAM_VIEW (view), FALSE);
  no_series = qs_histogram_view_render (QS_HISTOGRAM_VIEW (view), 400, 240);
  g_assert_true (textures_differ (log_scale, no_series));

  g_assert_finalize_object (view);
}

static void
range_changed_cb (QsHistogramView *view,
                  double           lo,
                  double           hi,
                  RangeLog        *log)
{
  log->lo = lo;
  log->hi = hi;
  log->changed++;
}

static void
range_committed_cb (QsHistogramView *view,
                    double           lo,
                    double           hi,
                    RangeLog        *log)
{
  log->lo = lo;
  log->hi = hi;
  log->committed++;
}

static void
test_drag_handle (void)
{
  g_autoptr(QsTensorReport) report = make_int8_report ();
  GtkWidget *view = qs_histogram_view_new ();
  GtkWidget *window;
  RangeLog log = { 0 };
  double lo, hi, new_lo, new_hi, from_x, to_x, expected;
  g_autofree char *summary_before = NULL;

  qs_histogram_view_set_report (QS_HISTOGRAM_VIEW (view), report);
  window = show_in_window (view, 640, 320);
  g_signal_connect (view, "range-changed", G_CALLBACK (range_changed_cb), &log);
  g_signal_connect (view, "range-committed", G_CALLBACK (range_committed_cb), &log);

  g_assert_true (qs_histogram_view_get_clip_range (QS_HISTOGRAM_VIEW (view), &lo, &hi));
  g_assert_cmpfloat_with_epsilon (lo, MIN (report->params.range_lo[0], 0.0f), 1e-9);
  g_assert_cmpfloat_with_epsilon (hi, MAX (report->params.range_hi[0], 0.0f), 1e-9);
  summary_before = g_strdup (_qs_histogram_view_get_summary (QS_HISTOGRAM_VIEW (view)));

  /* Nothing to grab in the middle of the plot. */
  from_x = _qs_histogram_view_value_to_x (QS_HISTOGRAM_VIEW (view), (lo + hi) / 2);
  g_assert_false (_qs_histogram_view_drag (QS_HISTOGRAM_VIEW (view), TRUE, from_x, from_x + 10));
  g_assert_cmpint (log.changed, ==, 0);

  /* Pull the upper handle 60 px to the left: the range follows the pointer
   * through the inverse of the value-to-x mapping. */
  from_x = _qs_histogram_view_value_to_x (QS_HISTOGRAM_VIEW (view), hi) + 2;
  to_x = from_x - 2 - 60;
  expected = _qs_histogram_view_x_to_value (QS_HISTOGRAM_VIEW (view), to_x);
  g_assert_true (_qs_histogram_view_drag (QS_HISTOGRAM_VIEW (view), TRUE, from_x, to_x));
  g_assert_cmpint (log.changed, >=, 1);
  g_assert_cmpint (log.committed, ==, 1);
  g_assert_cmpfloat_with_epsilon (log.hi, expected, 1e-9);
  g_assert_cmpfloat_with_epsilon (log.lo, lo, 1e-9);
  g_assert_cmpfloat (log.hi, <, hi);
  g_assert_true (qs_histogram_view_get_clip_range (QS_HISTOGRAM_VIEW (view), &new_lo, &new_hi));
  g_assert_cmpfloat_with_epsilon (new_hi, expected, 1e-9);

  /* The summary now counts the values the narrower range clips. */
  g_assert_cmpstr (summary_before, !=, _qs_histogram_view_get_summary (QS_HISTOGRAM_VIEW (view)));

  /* The lower handle stops at 0.0: the quantizer widens ranges to contain it. */
  from_x = _qs_histogram_view_value_to_x (QS_HISTOGRAM_VIEW (view), lo) - 2;
  to_x = _qs_histogram_view_value_to_x (QS_HISTOGRAM_VIEW (view), new_hi * 0.5);
  g_assert_true (_qs_histogram_view_drag (QS_HISTOGRAM_VIEW (view), FALSE, from_x, to_x));
  g_assert_cmpint (log.committed, ==, 2);
  g_assert_cmpfloat (log.lo, ==, 0.0);
  g_assert_cmpfloat_with_epsilon (log.hi, expected, 1e-9);

  /* A new report replaces the dragged range with its own. */
  {
    g_autoptr(QsTensorReport) again = make_int8_report ();

    qs_histogram_view_set_report (QS_HISTOGRAM_VIEW (view), again);
    g_assert_true (qs_histogram_view_get_clip_range (QS_HISTOGRAM_VIEW (view), &new_lo, &new_hi));
    g_assert_cmpfloat_with_epsilon (new_lo, lo, 1e-9);
    g_assert_cmpfloat_with_epsilon (new_hi, hi, 1e-9);
  }

  destroy_window (window, view);
}

static void
test_tooltip (void)
{
  g_autoptr(QsTensorReport) report = make_int8_report ();
  GtkWidget *view = qs_histogram_view_new ();
  GtkWidget *window;
  g_autofree char *bin_text = NULL;
  g_autofree char *handle_text = NULL;
  g_autofree char *outside = NULL;
  double lo, hi, y;

  qs_histogram_view_set_report (QS_HISTOGRAM_VIEW (view), report);
  window = show_in_window (view, 600, 300);
  qs_histogram_view_get_clip_range (QS_HISTOGRAM_VIEW (view), &lo, &hi);
  y = gtk_widget_get_height (view) / 2.0;

  bin_text = _qs_histogram_view_tooltip_at (QS_HISTOGRAM_VIEW (view),
                                            _qs_histogram_view_value_to_x (QS_HISTOGRAM_VIEW (view), 0.1), y);
  g_assert_nonnull (bin_text);
  g_assert_nonnull (strstr (bin_text, "Weights:"));
  g_assert_nonnull (strstr (bin_text, "Reconstructed:"));

  handle_text = _qs_histogram_view_tooltip_at (QS_HISTOGRAM_VIEW (view),
                                               _qs_histogram_view_value_to_x (QS_HISTOGRAM_VIEW (view), hi), y);
  g_assert_nonnull (handle_text);
  g_assert_nonnull (strstr (handle_text, "Upper clip"));

  /* The left margin (count labels) has no tooltip. */
  outside = _qs_histogram_view_tooltip_at (QS_HISTOGRAM_VIEW (view), 2, y);
  g_assert_null (outside);

  destroy_window (window, view);
}


static double
view_value_at (GtkWidget *view,
               double     x)
{
  return qs_chart_view_x_to_value (QS_CHART_VIEW (view), x);
}

/* Ctrl+scroll and the keys zoom around the pointer or the centre, a
 * middle or Shift drag pans within the data, a double click or "0" shows
 * everything; the window survives a new report over the same data. */
static void
test_zoom_and_pan (void)
{
  g_autoptr(QsTensorReport) report = make_int8_report ();
  g_autoptr(QsTensorReport) same_data = make_int8_report ();
  GtkWidget *view = qs_histogram_view_new ();
  QsChartView *chart = QS_CHART_VIEW (view);
  GtkWidget *window;
  graphene_rect_t plot;
  double left, right, width0, anchor, at_anchor, width1, before;

  qs_histogram_view_set_report (QS_HISTOGRAM_VIEW (view), report);
  window = show_in_window (view, 600, 300);
  /* (graphene keeps the plot in floats: agreement to 1e-6 of the axis.) */
  plot = *qs_chart_view_get_plot (chart);
  left = plot.origin.x;
  right = plot.origin.x + plot.size.width;
  width0 = view_value_at (view, right) - view_value_at (view, left);
  g_assert_cmpfloat (width0, >, 0);
  anchor = plot.origin.x + 0.4 * plot.size.width;
  at_anchor = view_value_at (view, anchor);

  /* Plain scrolling is the page's, not a zoom. */
  g_assert_false (_qs_chart_view_scroll (chart, anchor, -1, 0));
  g_assert_false (qs_chart_axis_is_zoomed (qs_chart_view_get_x_axis (chart)));

  /* Two notches up with Ctrl: 1.25² times closer, the value under the
   * pointer stays under it. */
  g_assert_true (_qs_chart_view_scroll (chart, anchor, -2, GDK_CONTROL_MASK));
  width1 = view_value_at (view, right) - view_value_at (view, left);
  g_assert_cmpfloat_with_epsilon (width1, width0 / (1.25 * 1.25), width0 * 1e-6);
  g_assert_cmpfloat_with_epsilon (view_value_at (view, anchor), at_anchor, width0 * 1e-6);

  /* A new report over the same data (the next analysis) keeps the window. */
  qs_histogram_view_set_report (QS_HISTOGRAM_VIEW (view), same_data);
  g_assert_cmpfloat_with_epsilon (view_value_at (view, anchor), at_anchor, width0 * 1e-6);

  /* A middle drag 60 px right brings lower values in: the axis moves by
   * 60 px worth of values. */
  before = view_value_at (view, left);
  g_assert_true (_qs_chart_view_drag (chart, GDK_BUTTON_MIDDLE, 0, anchor, 60));
  g_assert_cmpfloat_with_epsilon (view_value_at (view, left), before - 60 / plot.size.width * width1,
                                  width0 * 1e-6);
  /* The primary button drags handles, unless Shift is held. */
  before = view_value_at (view, left);
  g_assert_false (_qs_chart_view_drag (chart, GDK_BUTTON_PRIMARY, 0, anchor, 30));
  g_assert_cmpfloat (view_value_at (view, left), ==, before);
  g_assert_true (_qs_chart_view_drag (chart, GDK_BUTTON_PRIMARY, GDK_SHIFT_MASK, anchor, -30));
  g_assert_cmpfloat_with_epsilon (view_value_at (view, left), before + 30 / plot.size.width * width1,
                                  width0 * 1e-6);
  /* Panning stops at the end of the data's range. */
  qs_chart_view_reset_zoom (chart);
  before = view_value_at (view, left);
  g_assert_true (_qs_chart_view_scroll (chart, anchor, -3, GDK_CONTROL_MASK));
  g_assert_true (_qs_chart_view_drag (chart, GDK_BUTTON_MIDDLE, 0, anchor, 100000));
  g_assert_cmpfloat_with_epsilon (view_value_at (view, left), before, width0 * 1e-6);

  /* A double click shows everything again. */
  _qs_chart_view_press (chart, 2);
  g_assert_false (qs_chart_axis_is_zoomed (qs_chart_view_get_x_axis (chart)));
  g_assert_cmpfloat_with_epsilon (view_value_at (view, right) - view_value_at (view, left), width0, width0 * 1e-6);

  /* "+" zooms around the centre, "0" resets, zooming out stops at all. */
  g_assert_true (_qs_chart_view_key (chart, GDK_KEY_plus, 0));
  g_assert_cmpfloat_with_epsilon (view_value_at (view, right) - view_value_at (view, left), width0 / 1.5,
                                  width0 * 1e-6);
  g_assert_true (_qs_chart_view_key (chart, GDK_KEY_0, 0));
  g_assert_false (qs_chart_axis_is_zoomed (qs_chart_view_get_x_axis (chart)));
  g_assert_true (_qs_chart_view_scroll (chart, anchor, 5, GDK_CONTROL_MASK));
  g_assert_false (qs_chart_axis_is_zoomed (qs_chart_view_get_x_axis (chart)));

  /* Zoomed in, the static drawing is recorded again, not the old one
   * replayed (as it is while nothing changes). */
  {
    g_autoptr(GskRenderNode) first = snapshot_widget (view);
    g_autoptr(GskRenderNode) again = snapshot_widget (view);
    g_autoptr(GskRenderNode) zoomed = NULL;

    g_assert_true (gsk_container_node_get_child (first, 0) == gsk_container_node_get_child (again, 0));
    g_assert_true (_qs_chart_view_scroll (chart, anchor, -4, GDK_CONTROL_MASK));
    zoomed = snapshot_widget (view);
    g_assert_true (gsk_container_node_get_child (first, 0) != gsk_container_node_get_child (zoomed, 0));
  }
  destroy_window (window, view);
}

/* The reconstructed series is drawn as what its tooltip reports: counts
 * per bin; the count axis follows the weights, so 4-bit spikes are cut at
 * its top and marked, not squashing the weights. */
static void
test_reconstructed_counts (void)
{
  g_autoptr(QsTensorReport) report = make_4bit_symmetric_report ();
  const QsHistogram *h = &report->analysis.histogram;
  GtkWidget *view = qs_histogram_view_new ();
  QsHistogramView *hist = QS_HISTOGRAM_VIEW (view);
  QsChartView *chart = QS_CHART_VIEW (view);
  GtkWidget *window;
  guint64 max_weights = 0, max_recon = 0;
  double top;
  int spike = -1, checked = 0;

  qs_histogram_view_set_report (hist, report);
  window = show_in_window (view, 600, 300);

  for (int i = 0; i < h->bins; i++)
    {
      g_assert_cmpfloat (_qs_histogram_view_series_value (hist, FALSE, i), ==, (double) h->counts[i]);
      g_assert_cmpfloat (_qs_histogram_view_series_value (hist, TRUE, i), ==, (double) h->quantized_counts[i]);
      max_weights = MAX (max_weights, h->counts[i]);
      if (h->quantized_counts[i] > max_recon)
        {
          max_recon = h->quantized_counts[i];
          spike = i;
        }
    }
  qs_chart_view_get_plot (chart);
  qs_chart_axis_get_range (qs_chart_view_get_y_axis (chart), NULL, &top);
  g_assert_cmpfloat (top, >=, (double) max_weights);
  g_assert_cmpfloat (top, <, (double) max_recon);
  g_assert_true (_qs_histogram_view_reconstructed_cut (hist));

  /* Zoomed in on the tallest spike, bins are wide enough to point at: the
   * tooltip of each nearby bin gives the count the series draws there. */
  {
    double centre = (h->lo + (spike + 0.5) * (h->hi - h->lo) / h->bins);
    double y = gtk_widget_get_height (view) * 0.6;

    qs_chart_view_zoom_at (chart, qs_chart_view_value_to_x (chart, centre), 16);
    for (int i = MAX (spike - 3, 0); i <= MIN (spike + 3, h->bins - 1); i++)
      {
        double value = h->lo + (i + 0.5) * (h->hi - h->lo) / h->bins;
        g_autofree char *text = _qs_histogram_view_tooltip_at (hist, qs_chart_view_value_to_x (chart, value), y);
        g_autofree char *expected = g_strdup_printf ("Reconstructed: %" G_GUINT64_FORMAT, h->quantized_counts[i]);

        if (text == NULL || strstr (text, "Weights:") == NULL)
          continue;  /* a handle or 0.0's mark there */
        g_assert_nonnull (strstr (text, expected));
        checked++;
      }
  }
  g_assert_cmpint (checked, >=, 5);
  destroy_window (window, view);
}

static void
test_export (void)
{
  g_autoptr(QsTensorReport) report = make_4bit_symmetric_report ();
  GtkWidget *view = g_object_ref_sink (qs_histogram_view_new ());
  g_autoptr(GError) error = NULL;
  g_autoptr(GdkTexture) png = NULL;
  g_autofree char *dir = g_dir_make_tmp ("qs-histogram-XXXXXX", &error);
  g_autofree char *png_path = NULL;
  g_autofree char *svg_path = NULL;
  g_autofree char *bad_path = NULL;
  g_autofree char *svg_text = NULL;
  g_autofree char *pdf_path = NULL;
  g_autofree char *pdf_text = NULL;
  g_autoptr(GDir) listing = NULL;
  GStatBuf st;
  mode_t saved_mask;
  int entries = 0;

  g_assert_no_error (error);
  qs_histogram_view_set_report (QS_HISTOGRAM_VIEW (view), report);
  png_path = g_build_filename (dir, "hist.png", NULL);
  svg_path = g_build_filename (dir, "hist.svg", NULL);
  bad_path = g_build_filename (dir, "hist.bmp", NULL);

  g_assert_true (qs_histogram_view_export (QS_HISTOGRAM_VIEW (view), png_path, 500, 300, &error));
  g_assert_no_error (error);
  g_assert_true (qs_histogram_view_export (QS_HISTOGRAM_VIEW (view), svg_path, 500, 300, &error));
  g_assert_no_error (error);

  png = gdk_texture_new_from_filename (png_path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (gdk_texture_get_width (png), ==, 500);
  g_assert_cmpint (gdk_texture_get_height (png), ==, 300);

  g_assert_true (g_file_get_contents (svg_path, &svg_text, NULL, &error));
  g_assert_no_error (error);
  g_assert_nonnull (strstr (svg_text, "<svg"));
  /* The export is the paper-style chart, titled with tensor and scheme,
   * the scheme in the words (and language) of the window's heading. */
  g_assert_nonnull (strstr (svg_text, "<title>/model_weights/dense/dense/kernel:0 · 4-bit symmetric per-tensor</title>"));

  /* PDF too; and every export is 0666 less the umask, like other saved
   * files (it used to be 0600). */
  pdf_path = g_build_filename (dir, "hist.pdf", NULL);
  saved_mask = umask (022);
  g_assert_true (qs_histogram_view_export (QS_HISTOGRAM_VIEW (view), pdf_path, 500, 300, &error));
  umask (saved_mask);
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (pdf_path, &pdf_text, NULL, &error));
  g_assert_cmpmem (pdf_text, 5, "%PDF-", 5);
  g_assert_cmpint (g_stat (pdf_path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0644);

  g_assert_false (qs_histogram_view_export (QS_HISTOGRAM_VIEW (view), bad_path, 500, 300, &error));
  g_assert_error (error, QS_ERROR, QS_ERROR_INVALID);
  g_clear_error (&error);

  /* No temporary files left behind. */
  listing = g_dir_open (dir, 0, &error);
  g_assert_no_error (error);
  for (const char *name; (name = g_dir_read_name (listing)) != NULL; entries++)
    g_assert_true (g_str_equal (name, "hist.png") || g_str_equal (name, "hist.svg")
                   || g_str_equal (name, "hist.pdf"));
  g_assert_cmpint (entries, ==, 3);

  g_unlink (png_path);
  g_unlink (svg_path);
  g_unlink (pdf_path);
  g_rmdir (dir);
  g_assert_finalize_object (view);
}

static void
test_accessible (void)
{
  g_autoptr(QsTensorReport) report = make_int8_report ();
  GtkWidget *view = g_object_ref_sink (qs_histogram_view_new ());
  const char *summary;
  char *problem;

  g_assert_true (gtk_test_accessible_has_role (GTK_ACCESSIBLE (view), GTK_ACCESSIBLE_ROLE_IMG));

  qs_histogram_view_set_report (QS_HISTOGRAM_VIEW (view), report);
  summary = _qs_histogram_view_get_summary (QS_HISTOGRAM_VIEW (view));
  g_assert_nonnull (summary);
  g_assert_cmpuint (strlen (summary), >, 0);
  g_assert_nonnull (strstr (summary, "4608"));
  g_assert_nonnull (strstr (summary, "clip range"));

  problem = gtk_test_accessible_check_property (GTK_ACCESSIBLE (view), GTK_ACCESSIBLE_PROPERTY_LABEL, summary);
  g_assert_null (problem);

  qs_histogram_view_set_report (QS_HISTOGRAM_VIEW (view), NULL);
  summary = _qs_histogram_view_get_summary (QS_HISTOGRAM_VIEW (view));
  g_assert_null (strstr (summary, "4608"));

  g_assert_finalize_object (view);
}

static void
test_zero_not_exact (void)
{
  g_autoptr(QsTensorReport) nudged = make_no_nudge_report (TRUE);
  g_autoptr(QsTensorReport) drifting = make_no_nudge_report (FALSE);
  GtkWidget *view = qs_histogram_view_new ();
  GtkWidget *window = show_in_window (view, 480, 260);
  g_autoptr(GdkTexture) a = NULL;
  g_autoptr(GdkTexture) b = NULL;
  GdkRGBA warning;
  Pixels pa, pb;

  g_assert_true (nudged->analysis.zero_exact);
  g_assert_false (drifting->analysis.zero_exact);

  /* The same colour the widget reads, from the same style context. */
  if (!gtk_style_context_lookup_color (gtk_widget_get_style_context (view), "warning_color", &warning))
    gdk_rgba_parse (&warning, "#9c6e03");

  qs_histogram_view_set_report (QS_HISTOGRAM_VIEW (view), nudged);
  a = qs_histogram_view_render (QS_HISTOGRAM_VIEW (view), 480, 260);
  qs_histogram_view_set_report (QS_HISTOGRAM_VIEW (view), drifting);
  b = qs_histogram_view_render (QS_HISTOGRAM_VIEW (view), 480, 260);
  pixels_download (a, &pa);
  pixels_download (b, &pb);
  g_assert_cmpint (count_near_color (&pb, &warning), >, count_near_color (&pa, &warning) + 100);
  g_free (pa.data);
  g_free (pb.data);

  destroy_window (window, view);
}

static void
test_per_channel (void)
{
  g_autoptr(QsTensorReport) report = make_per_channel_report ();
  GtkWidget *view = g_object_ref_sink (qs_histogram_view_new ());
  g_autoptr(GdkTexture) channel0 = NULL;
  g_autoptr(GdkTexture) channel60 = NULL;
  double lo, hi;

  g_assert_cmpuint (report->params.channels, ==, COLS);
  qs_histogram_view_set_report (QS_HISTOGRAM_VIEW (view), report);

  /* -1 shows channel 0's grid. */
  qs_histogram_view_get_clip_range (QS_HISTOGRAM_VIEW (view), &lo, &hi);
  g_assert_cmpfloat_with_epsilon (lo, MIN (report->params.range_lo[0], 0.0f), 1e-9);
  g_assert_cmpfloat_with_epsilon (hi, MAX (report->params.range_hi[0], 0.0f), 1e-9);
  channel0 = qs_histogram_view_render (QS_HISTOGRAM_VIEW (view), 400, 240);

  g_object_set (view, "channel", 60, NULL);
  qs_histogram_view_get_clip_range (QS_HISTOGRAM_VIEW (view), &lo, &hi);
  g_assert_cmpfloat_with_epsilon (lo, MIN (report->params.range_lo[60], 0.0f), 1e-9);
  g_assert_cmpfloat_with_epsilon (hi, MAX (report->params.range_hi[60], 0.0f), 1e-9);
  channel60 = qs_histogram_view_render (QS_HISTOGRAM_VIEW (view), 400, 240);
  g_assert_true (textures_differ (channel0, channel60));

  /* Out of range channels clamp to the last one rather than crash. */
  qs_histogram_view_set_channel (QS_HISTOGRAM_VIEW (view), 5000);
  qs_histogram_view_get_clip_range (QS_HISTOGRAM_VIEW (view), &lo, &hi);
  g_assert_cmpfloat_with_epsilon (hi, MAX (report->params.range_hi[COLS - 1], 0.0f), 1e-9);

  g_assert_finalize_object (view);
}

static void
test_channel_range_view (void)
{
  g_autoptr(QsTensorReport) report = make_per_channel_report ();
  g_autoptr(QsTensorReport) per_tensor = make_int8_report ();
  GtkWidget *view = qs_channel_range_view_new ();
  GtkWidget *window;
  g_autoptr(GdkTexture) texture = NULL;
  g_autofree char *tooltip = NULL;
  int notified = 0, target = -1;
  double width;
  Pixels p;

  qs_channel_range_view_set_report (QS_CHANNEL_RANGE_VIEW (view), report);
  window = show_in_window (view, 600, 140);
  g_signal_connect_swapped (view, "notify::channel", G_CALLBACK (count_cb), &notified);

  texture = qs_channel_range_view_render (QS_CHANNEL_RANGE_VIEW (view), 600, 140);
  pixels_download (texture, &p);
  g_assert_cmpint (count_differing (&p, pixel_at (&p, 0, 0)), >, 600 * 140 / 10);
  g_free (p.data);

  /* Find channel 40's column and click it. */
  width = gtk_widget_get_width (view);
  for (double x = 0; x < width && target != 40; x += 0.5)
    if (_qs_channel_range_view_channel_at (QS_CHANNEL_RANGE_VIEW (view), x) == 40)
      {
        target = 40;
        _qs_channel_range_view_click (QS_CHANNEL_RANGE_VIEW (view), x + 1, 60);
        tooltip = _qs_channel_range_view_tooltip_at (QS_CHANNEL_RANGE_VIEW (view), x + 1, 60);
      }
  g_assert_cmpint (target, ==, 40);
  g_assert_cmpint (qs_channel_range_view_get_channel (QS_CHANNEL_RANGE_VIEW (view)), ==, 40);
  g_assert_cmpint (notified, ==, 1);
  g_assert_nonnull (tooltip);
  g_assert_true (g_str_has_prefix (tooltip, "Channel 40:"));
  g_assert_nonnull (strstr (tooltip, "Clip range"));

  /* A per-tensor report has no channels to pick. */
  qs_channel_range_view_set_report (QS_CHANNEL_RANGE_VIEW (view), per_tensor);
  g_assert_cmpint (_qs_channel_range_view_channel_at (QS_CHANNEL_RANGE_VIEW (view), width / 2), ==, -1);

  destroy_window (window, view);
}

static void
test_set_report_cost (void)
{
  g_autoptr(QsTensorReport) a = make_int8_report ();
  g_autoptr(QsTensorReport) b = make_4bit_symmetric_report ();
  GtkWidget *view = g_object_ref_sink (qs_histogram_view_new ());
  const int rounds = 400;
  gint64 start, elapsed;

  start = g_get_monotonic_time ();
  for (int i = 0; i < rounds; i++)
    qs_histogram_view_set_report (QS_HISTOGRAM_VIEW (view), i % 2 ? a : b);
  elapsed = g_get_monotonic_time () - start;

  /* A figure, not an assertion: timing depends on the machine's load. */
  g_test_message ("set_report: %.1f us per call", (double) elapsed / rounds);

  g_assert_finalize_object (view);
}

/* Screenshots for review, only on request. */
static void
save_screenshots (const char *dir)
{
  struct {
    const char     *name;
    QsTensorReport *report;
    gboolean        log_scale;
  } shots[] = {
    { "4bit-symmetric", make_4bit_symmetric_report (), FALSE },
    { "4bit-symmetric-log", make_4bit_symmetric_report (), TRUE },
    { "no-zero-nudge", make_no_nudge_report (FALSE), FALSE },
    { "int8", make_int8_report (), FALSE },
    { "per-channel", make_per_channel_report (), FALSE },
  };
  AdwStyleManager *manager = adw_style_manager_get_default ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *hist = qs_histogram_view_new ();
  GtkWidget *ranges = qs_channel_range_view_new ();
  GtkWidget *window;

  gtk_box_append (GTK_BOX (box), hist);
  gtk_box_append (GTK_BOX (box), ranges);
  window = show_in_window (box, 640, 420);

  for (int dark = 0; dark < 2; dark++)
    {
      adw_style_manager_set_color_scheme (manager, dark ? ADW_COLOR_SCHEME_FORCE_DARK : ADW_COLOR_SCHEME_FORCE_LIGHT);
      drain_main_context ();
      for (guint i = 0; i < G_N_ELEMENTS (shots); i++)
        {
          g_autofree char *path = g_strdup_printf ("%s/hist-%s-%s.png", dir, shots[i].name, dark ? "dark" : "light");
          g_autoptr(GError) error = NULL;

          qs_histogram_view_set_report (QS_HISTOGRAM_VIEW (hist), shots[i].report);
          qs_histogram_view_set_log_scale (QS_HISTOGRAM_VIEW (hist), shots[i].log_scale);
          g_assert_true (qs_histogram_view_export (QS_HISTOGRAM_VIEW (hist), path, 640, 300, &error));
          g_assert_no_error (error);
          g_test_message ("wrote %s", path);
          {
            /* The screen's drawing too, beside the file's. */
            g_autofree char *screen = g_strdup_printf ("%s/hist-%s-screen-%s.png", dir, shots[i].name,
                                                       dark ? "dark" : "light");
            g_autoptr(GdkTexture) texture = qs_histogram_view_render (QS_HISTOGRAM_VIEW (hist), 640, 300);

            g_assert_true (gdk_texture_save_to_png (texture, screen));
          }
          if (i == 3)
            {
              g_autofree char *small = g_strdup_printf ("%s/hist-small-%s.png", dir, dark ? "dark" : "light");

              g_assert_true (qs_histogram_view_export (QS_HISTOGRAM_VIEW (hist), small, 300, 170, &error));
              g_assert_no_error (error);
            }
          if (i == 2)
            {
              g_autofree char *svg = g_strdup_printf ("%s/hist-%s-%s.svg", dir, shots[i].name, dark ? "dark" : "light");

              g_assert_true (qs_histogram_view_export (QS_HISTOGRAM_VIEW (hist), svg, 640, 300, &error));
              g_assert_no_error (error);
            }

          if (shots[i].report->params.channels > 1)
            {
              g_autoptr(GdkTexture) texture = NULL;
              g_autofree char *range_path = g_strdup_printf ("%s/hist-channel-ranges-%s.png", dir, dark ? "dark" : "light");

              qs_channel_range_view_set_report (QS_CHANNEL_RANGE_VIEW (ranges), shots[i].report);
              qs_channel_range_view_set_channel (QS_CHANNEL_RANGE_VIEW (ranges), 12);
              texture = qs_channel_range_view_render (QS_CHANNEL_RANGE_VIEW (ranges), 640, 130);
              g_assert_true (gdk_texture_save_to_png (texture, range_path));
            }
        }
    }

  adw_style_manager_set_color_scheme (manager, ADW_COLOR_SCHEME_DEFAULT);
  gtk_window_destroy (GTK_WINDOW (window));
  for (guint i = 0; i < G_N_ELEMENTS (shots); i++)
    qs_tensor_report_unref (shots[i].report);
}

static void
test_screenshots (void)
{
  const char *dir = g_getenv ("QS_SCREENSHOT_DIR");

  if (dir == NULL)
    {
      g_test_skip ("set QS_SCREENSHOT_DIR to save screenshots");
      return;
    }
  save_screenshots (dir);
}

int
main (int   argc,
      char *argv[])
{
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  g_test_add_func ("/histogram-view/placeholder", test_placeholder);
  g_test_add_func ("/histogram-view/render-pixels", test_render_pixels);
  g_test_add_func ("/histogram-view/snapshot-cache", test_snapshot_cache);
  g_test_add_func ("/histogram-view/log-scale-and-series", test_log_scale_and_series);
  g_test_add_func ("/histogram-view/drag-handle", test_drag_handle);
  g_test_add_func ("/histogram-view/tooltip", test_tooltip);
  g_test_add_func ("/histogram-view/export", test_export);
  g_test_add_func ("/histogram-view/accessible", test_accessible);
  g_test_add_func ("/histogram-view/zero-not-exact", test_zero_not_exact);
  g_test_add_func ("/histogram-view/per-channel", test_per_channel);
  g_test_add_func ("/histogram-view/set-report-cost", test_set_report_cost);
  g_test_add_func ("/channel-range-view/select-and-render", test_channel_range_view);
  g_test_add_func ("/histogram-view/zoom-and-pan", test_zoom_and_pan);
  g_test_add_func ("/histogram-view/reconstructed-counts", test_reconstructed_counts);
  g_test_add_func ("/histogram-view/screenshots", test_screenshots);

  return g_test_run ();
}
