/* test-window-jobs.c: the window's computations flow through its job service, and its charts follow.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "app/qs-chart-view-private.h"
#include "app/qs-histogram-view-private.h"
#include "app/qs-tensor-item.h"
#include "app/qs-tensor-job.h"
#include "app/qs-window-private.h"
#include "qs-window-test-utils.h"

static char *
sample_path (void)
{
  return g_build_filename (SOURCE_DATADIR, "sample-weights.h5", NULL);
}

static int
shown_bits (QsWindow *window)
{
  return qs_histogram_view_get_report (window->histogram_view)->scheme.bits;
}

static gboolean
shows_7_bits (QsWindow *window)
{
  return qs_window_test_has_report (window) && shown_bits (window) == 7;
}

/* Going back to a scheme seen before redraws from the cache, before the
 * main loop runs again: within the frame of the change. */
static void
test_cached_scheme_same_iteration (void)
{
  g_autofree char *path = sample_path ();
  QsWindow *window = qs_window_test_open (path);
  g_autoptr(QsTensorReport) first = qs_tensor_report_ref (qs_histogram_view_get_report (window->histogram_view));

  g_assert_cmpint (first->scheme.bits, ==, 8);
  gtk_widget_activate_action (GTK_WIDGET (window), "win.bits-down", NULL);
  qs_window_test_wait_for (shows_7_bits, window);

  gtk_widget_activate_action (GTK_WIDGET (window), "win.bits-up", NULL);
  /* No iteration in between: the cached report is already on show. */
  g_assert_true (qs_histogram_view_get_report (window->histogram_view) == first);
  g_assert_false (qs_job_service_is_pending (window->jobs, QS_TENSOR_JOB_VIEW));
  g_assert_false (qs_results_panel_get_busy (window->results_panel));
  qs_window_test_close (window);
}

static gboolean
all_idle (QsWindow *window)
{
  return !qs_job_service_is_busy (window->jobs, QS_JOB_PRIORITY_VISIBLE)
         && !qs_job_service_is_busy (window->jobs, QS_JOB_PRIORITY_BACKGROUND);
}

/* Two changes in a row: every badge ends on the newest scheme, never on
 * the one in between, however the jobs interleave. */
static void
test_badges_follow_newest_scheme (void)
{
  g_autofree char *path = sample_path ();
  QsWindow *window = qs_window_test_open (path);
  GListModel *tensors = qs_document_get_tensors (window->document);
  guint checked = 0;

  qs_window_test_wait_for (all_idle, window);
  /* Every tensor's scheme, not just the selected one's. */
  qs_scheme_panel_set_only_this_tensor (window->scheme_panel, FALSE);
  gtk_widget_activate_action (GTK_WIDGET (window), "win.bits-down", NULL);
  /* Let the first change's badges start before the second change. */
  for (int i = 0; i < 400 && !qs_job_service_is_busy (window->jobs, QS_JOB_PRIORITY_BACKGROUND); i++)
    g_main_context_iteration (NULL, FALSE);
  g_usleep (350 * 1000);
  for (int i = 0; i < 20; i++)
    g_main_context_iteration (NULL, FALSE);
  gtk_widget_activate_action (GTK_WIDGET (window), "win.bits-down", NULL);
  qs_window_test_wait_for (all_idle, window);
  /* Stale results would arrive after the service went idle, if at all. */
  for (int i = 0; i < 100; i++)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }

  for (guint i = 0; i < g_list_model_get_n_items (tensors); i++)
    {
      g_autoptr(QsTensorItem) item = g_list_model_get_item (tensors, i);

      /* Kept-float tensors (the skip list) show "float32", no badge. */
      if (!qs_tensor_item_get_info (item)->quantizable || qs_tensor_item_get_kept_float (item))
        continue;
      g_assert_true (g_str_has_prefix (qs_tensor_item_get_badge (item), "6 bit"));
      checked++;
    }
  g_assert_cmpuint (checked, >, 4);
  /* The file's schemes are remembered: leave the next test the defaults. */
  gtk_widget_activate_action (GTK_WIDGET (window), "win.reset-schemes", NULL);
  qs_window_test_close (window);
}

static gboolean
shows_6_bits (QsWindow *window)
{
  return qs_window_test_has_report (window) && shown_bits (window) == 6;
}

/* In the real window: Ctrl+scroll zooms the histogram, a new scheme's
 * report (through the job service) keeps the zoomed window, and the
 * tooltip under the pointer gives the new report's counts. */
static void
test_histogram_zoom_survives_scheme_change (void)
{
  g_autofree char *path = sample_path ();
  QsWindow *window = qs_window_test_open (path);
  QsChartView *chart = QS_CHART_VIEW (window->histogram_view);
  const graphene_rect_t *plot;
  double x, lo, hi, zoomed_lo, zoomed_hi;
  QsTensorReport *report;

  /* The first report and the badges settle before the plot is measured. */
  qs_window_test_wait_for (all_idle, window);
  plot = qs_chart_view_get_plot (chart);
  x = plot->origin.x + plot->size.width * 0.5;

  qs_chart_axis_get_view (qs_chart_view_get_x_axis (chart), &lo, &hi);
  g_assert_true (_qs_chart_view_scroll (chart, x, -3, GDK_CONTROL_MASK));
  qs_chart_axis_get_view (qs_chart_view_get_x_axis (chart), &zoomed_lo, &zoomed_hi);
  g_assert_cmpfloat_with_epsilon (zoomed_hi - zoomed_lo, (hi - lo) / (1.25 * 1.25 * 1.25), (hi - lo) * 1e-9);

  gtk_widget_activate_action (GTK_WIDGET (window), "win.bits-down", NULL);
  qs_window_test_wait_for (shows_7_bits, window);
  gtk_widget_activate_action (GTK_WIDGET (window), "win.bits-down", NULL);
  qs_window_test_wait_for (shows_6_bits, window);
  qs_chart_view_get_plot (chart);
  g_assert_true (qs_chart_axis_is_zoomed (qs_chart_view_get_x_axis (chart)));
  {
    double now_lo, now_hi;

    qs_chart_axis_get_view (qs_chart_view_get_x_axis (chart), &now_lo, &now_hi);
    g_assert_cmpfloat (now_lo, ==, zoomed_lo);
    g_assert_cmpfloat (now_hi, ==, zoomed_hi);
  }

  /* The bin under the pointer is the bin of the value there, in the
   * report now on show (a few pixels on, where a clip handle or 0.0's
   * mark takes the pointer instead). */
  report = qs_histogram_view_get_report (window->histogram_view);
  {
    const QsHistogram *h = &report->analysis.histogram;
    gboolean checked = FALSE;

    for (int step = 0; step < 40 && !checked; step++)
      {
        double at = x + 0.5 + 7 * step;
        double value = qs_chart_view_x_to_value (chart, at);
        int bin = (int) floor ((value - h->lo) / (h->hi - h->lo) * h->bins);
        g_autofree char *text = _qs_histogram_view_tooltip_at (window->histogram_view, at,
                                                               plot->origin.y + plot->size.height * 0.8);
        g_autofree char *expected = NULL;

        if (text == NULL || strstr (text, "Weights:") == NULL || bin < 0 || bin >= h->bins)
          {
            g_test_message ("no bin at %g: %s", at, text != NULL ? text : "(none)");
            continue;
          }
        expected = g_strdup_printf ("Reconstructed: %" G_GUINT64_FORMAT, h->quantized_counts[bin]);
        g_assert_nonnull (strstr (text, expected));
        checked = TRUE;
      }
    g_assert_true (checked);
  }
  qs_window_test_close (window);
}

int
main (int argc, char **argv)
{
  gtk_test_init (&argc, &argv, NULL);
  g_test_add_func ("/window-jobs/cached-scheme-same-iteration", test_cached_scheme_same_iteration);
  g_test_add_func ("/window-jobs/badges-follow-newest-scheme", test_badges_follow_newest_scheme);
  g_test_add_func ("/window-jobs/histogram-zoom-survives-scheme-change", test_histogram_zoom_survives_scheme_change);
  return g_test_run ();
}
