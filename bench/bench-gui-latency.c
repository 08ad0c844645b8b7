/* bench-gui-latency.c: change-to-redraw latency of the real window, and main-loop stalls.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Usage (needs a display; under Xvfb: xvfb-run -a):
 *   bench-gui-latency [CHANGES]
 * Opens the demo model in a real QsWindow, selects its largest layer and
 * makes CHANGES (default 100) alternating changes of bit-width and clip
 * range, each waited for until the window has painted the result. Then
 * the same on a synthetic 25,000,000-weight layer (written to /var/tmp and
 * removed). Prints p50/p95/max latency from the change to the frame that
 * shows it, and the longest gap the main loop went without running a 1 ms
 * timer (its longest stall).
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <hdf5.h>
#include <glib/gstdio.h>

#include "app/qs-application.h"
#include "app/qs-tensor-item.h"
#include "app/qs-window-private.h"

typedef struct {
  gint64   last_tick;
  gint64   longest_gap;
  gboolean painted;
  gint64   paint_start;
  gint64   longest_paint;   /* layout + drawing of one frame on the main thread */
} Probe;

static void
before_paint_cb (GdkFrameClock *clock,
                 Probe         *probe)
{
  probe->paint_start = g_get_monotonic_time ();
}

static gboolean
tick_cb (gpointer user_data)
{
  Probe *probe = user_data;
  gint64 now = g_get_monotonic_time ();

  if (probe->last_tick != 0 && now - probe->last_tick > probe->longest_gap)
    probe->longest_gap = now - probe->last_tick;
  probe->last_tick = now;
  return G_SOURCE_CONTINUE;
}

static void
after_paint_cb (GdkFrameClock *clock,
                Probe         *probe)
{
  gint64 now = g_get_monotonic_time ();

  if (probe->paint_start != 0 && now - probe->paint_start > probe->longest_paint)
    probe->longest_paint = now - probe->paint_start;
  probe->painted = TRUE;
}

static void
iterate_until (gboolean (*done) (QsWindow *), QsWindow *window)
{
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  while (!done (window) && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
}

static gboolean
has_report (QsWindow *window)
{
  return qs_histogram_view_get_report (window->histogram_view) != NULL
         && !qs_job_service_is_busy (window->jobs, QS_JOB_PRIORITY_VISIBLE);
}

static int
compare_gint64 (gconstpointer a,
                gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;
  return (x > y) - (x < y);
}

static const char *
largest_tensor (QsWindow *window)
{
  GListModel *tensors = qs_document_get_tensors (window->document);
  const char *best = NULL;
  guint64 best_count = 0;

  for (guint i = 0; i < g_list_model_get_n_items (tensors); i++)
    {
      g_autoptr(QsTensorItem) item = g_list_model_get_item (tensors, i);
      const QsTensorInfo *info = qs_tensor_item_get_info (item);
      if (info->quantizable && info->count > best_count)
        {
          best_count = info->count;
          best = info->path;
        }
    }
  return best;
}

/* @pace_ms: 0 sends each change as soon as the previous one is painted
 * (the worst case: every change waits for a whole frame); otherwise the
 * main loop idles that long between changes, as between a user's clicks. */
static void
measure (const char *label,
         const char *path,
         int         changes,
         int         pace_ms)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  QsWindow *window = qs_window_new (NULL);
  g_autoptr(GArray) latencies = g_array_new (FALSE, FALSE, sizeof (gint64));
  Probe probe = { 0 };
  GdkFrameClock *clock;
  const char *layer;
  guint tick;
  gulong paint_handler;

  gtk_window_present (GTK_WINDOW (window));
  qs_window_open_file (window, file);
  while (window->document == NULL)
    g_main_context_iteration (NULL, TRUE);
  layer = largest_tensor (window);
  qs_window_select_path (window, layer);
  iterate_until (has_report, window);
  /* Let the badge sweep of the other layers finish: it competes for cores. */
  for (int i = 0; i < 200; i++)
    g_main_context_iteration (NULL, FALSE);

  clock = gtk_widget_get_frame_clock (GTK_WIDGET (window));
  paint_handler = g_signal_connect (clock, "after-paint", G_CALLBACK (after_paint_cb), &probe);
  g_signal_connect (clock, "layout", G_CALLBACK (before_paint_cb), &probe);
  tick = g_timeout_add_full (G_PRIORITY_HIGH, 1, tick_cb, &probe, NULL);

  for (int i = 0; i < changes; i++)
    {
      QsTensorReport *before = qs_histogram_view_get_report (window->histogram_view);
      QsScheme scheme;
      gint64 start, end;

      qs_scheme_object_get_scheme (qs_scheme_panel_get_scheme_object (window->scheme_panel), &scheme);
      if (i % 2 == 0)
        scheme.bits = scheme.bits == 8 ? 4 : 8;
      else
        {
          double amax = fmax (fabs (before->analysis.data_min), fabs (before->analysis.data_max));
          scheme.range_method = QS_RANGE_MANUAL;
          scheme.manual_lo = -amax * (0.5 + 0.004 * i);
          scheme.manual_hi = amax * (0.5 + 0.004 * i);
        }

      if (pace_ms > 0)
        {
          gint64 until = g_get_monotonic_time () + pace_ms * 1000;
          while (g_get_monotonic_time () < until)
            g_main_context_iteration (NULL, FALSE);
        }
      start = g_get_monotonic_time ();
      qs_scheme_object_set_scheme (qs_scheme_panel_get_scheme_object (window->scheme_panel), &scheme);
      while (qs_histogram_view_get_report (window->histogram_view) == before
             || qs_job_service_is_busy (window->jobs, QS_JOB_PRIORITY_VISIBLE))
        g_main_context_iteration (NULL, TRUE);
      probe.painted = FALSE;
      gtk_widget_queue_draw (GTK_WIDGET (window->histogram_view));
      while (!probe.painted)
        g_main_context_iteration (NULL, TRUE);
      end = g_get_monotonic_time ();
      g_array_append_val (latencies, (gint64) { end - start });
    }

  g_source_remove (tick);
  g_signal_handler_disconnect (clock, paint_handler);
  g_array_sort (latencies, compare_gint64);
  /* The window's own record: from the request to the result shown in the
   * widgets, before the frame clock paints it. */
  {
    GArray *results = window->latencies;
    guint n = results->len, skip = n > (guint) changes ? n - changes : 0;
    g_autoptr(GArray) last = g_array_new (FALSE, FALSE, sizeof (gint64));
    g_array_append_vals (last, &g_array_index (results, gint64, skip), n - skip);
    g_array_sort (last, compare_gint64);
    printf ("gui layer=%s pace_ms=%d request_to_result p50_ms=%.2f p95_ms=%.2f\n", label, pace_ms,
            g_array_index (last, gint64, last->len / 2) / 1000.0,
            g_array_index (last, gint64, (last->len * 95) / 100) / 1000.0);
  }
  printf ("gui layer=%s pace_ms=%d longest_frame_layout_and_paint_ms=%.2f\n", label, pace_ms, probe.longest_paint / 1000.0);
  printf ("gui layer=%s pace_ms=%d elements=%" G_GUINT64_FORMAT " changes=%d p50_ms=%.2f p95_ms=%.2f max_ms=%.2f longest_main_loop_stall_ms=%.2f\n",
          label, pace_ms, qs_histogram_view_get_report (window->histogram_view)->info->count, changes,
          g_array_index (latencies, gint64, changes / 2) / 1000.0,
          g_array_index (latencies, gint64, (changes * 95) / 100) / 1000.0,
          g_array_index (latencies, gint64, changes - 1) / 1000.0,
          probe.longest_gap / 1000.0);
  fflush (stdout);
  gtk_window_destroy (GTK_WINDOW (window));
}

/* 5000 x 5000 float32 weights from N(0, 0.05), as one dataset. */
static char *
write_synthetic_file (void)
{
  char *path = g_strdup ("/var/tmp/quantscope-bench-25m.h5");
  const hsize_t dims[2] = { 5000, 5000 };
  float *values = g_new (float, 25000000);
  GRand *rand = g_rand_new_with_seed (25);
  hid_t file, space, set;

  for (gsize i = 0; i + 1 < 25000000; i += 2)
    {
      double u1 = g_rand_double (rand) + 1e-300, u2 = g_rand_double (rand);
      double r = sqrt (-2.0 * log (u1)) * 0.05;
      values[i] = (float) (r * cos (2 * G_PI * u2));
      values[i + 1] = (float) (r * sin (2 * G_PI * u2));
    }
  file = H5Fcreate (path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  space = H5Screate_simple (2, dims, NULL);
  set = H5Dcreate2 (file, "kernel", H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Dwrite (set, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values);
  H5Dclose (set);
  H5Sclose (space);
  H5Fclose (file);
  g_rand_free (rand);
  g_free (values);
  return path;
}

int
main (int argc, char **argv)
{
  int changes = argc > 1 ? atoi (argv[1]) : 100;
  g_autoptr(GFile) demo = NULL;
  g_autofree char *demo_path = NULL;
  g_autofree char *synthetic = NULL;

  g_set_application_name ("Quantscope");
  gtk_init ();
  adw_init ();

  demo = qs_application_get_demo_file ();
  if (demo == NULL)
    {
      fprintf (stderr, "bench-gui-latency: no demo model found\n");
      return 1;
    }
  demo_path = g_file_get_path (demo);
  measure ("demo-largest", demo_path, changes, 0);
  measure ("demo-largest", demo_path, changes, 100);

  synthetic = write_synthetic_file ();
  measure ("synthetic-25M", synthetic, changes, 0);
  measure ("synthetic-25M", synthetic, changes, 100);
  g_unlink (synthetic);
  return 0;
}
