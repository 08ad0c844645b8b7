/* test-window.c: the real window, driven through its actions under Xvfb.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <locale.h>
#include <math.h>
#include <string.h>

#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "app/qs-application.h"
#include "app/qs-histogram-view-private.h"
#include "app/qs-tensor-item.h"
#include "app/qs-window-private.h"
#include "qs-window-test-utils.h"


static char *
sample_path (void)
{
  return g_build_filename (SOURCE_DATADIR, "sample-weights.h5", NULL);
}






static char *
label_text (GtkLabel *label)
{
  return g_strdup (gtk_label_get_text (label));
}

/* Waits for the result of a change made by the caller: the SQNR label
 * text differs from @before. */
static void
wait_for_new_text (QsWindow   *window,
                   GtkLabel   *label,
                   const char *before)
{
  gint64 deadline = g_get_monotonic_time () + QS_WINDOW_TEST_TIMEOUT_USEC;

  while (g_strcmp0 (gtk_label_get_text (label), before) == 0
         || qs_live_analysis_is_busy (window->live))
    {
      g_main_context_iteration (NULL, FALSE);
      if (g_get_monotonic_time () > deadline)
        g_error ("timed out: “%s” did not change", before);
      g_usleep (1000);
    }
}

static void
test_opens_sample_and_shows_results (void)
{
  g_autofree char *path = sample_path ();
  QsWindow *window = qs_window_test_open (path);
  QsTensorReport *report = qs_histogram_view_get_report (window->histogram_view);

  g_assert_nonnull (report);
  g_assert_cmpstr (gtk_stack_get_visible_child_name (window->main_stack), ==, "tensor");
  /* The first real kernel is selected, not a bias. */
  g_assert_cmpint (report->info->role, ==, QS_TENSOR_ROLE_KERNEL);
  g_assert_cmpstr (gtk_label_get_text (window->tensor_label), ==, report->info->path);
  g_assert_true (g_str_has_suffix (gtk_label_get_text (window->sqnr_value), "dB"));
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (window->selection)), ==, 16);
  qs_window_test_close (window);
}

static void
test_histogram_renders_pixels (void)
{
  g_autofree char *path = sample_path ();
  QsWindow *window = qs_window_test_open (path);
  g_autoptr(GdkTexture) texture = qs_histogram_view_render (window->histogram_view, 400, 200);
  gsize stride = 400 * 4;
  g_autofree guchar *pixels = g_malloc (stride * 200);
  guint32 first;
  guint differing = 0;

  gdk_texture_download (texture, pixels, stride);
  memcpy (&first, pixels, 4);
  for (gsize i = 0; i < 400 * 200; i++)
    {
      guint32 pixel;
      memcpy (&pixel, pixels + 4 * i, 4);
      differing += pixel != first;
    }
  /* Bars, axes and labels: a good share of the picture is not background. */
  g_assert_cmpuint (differing, >, 400 * 200 / 50);
  qs_window_test_close (window);
}

static void
test_bits_change_updates_metrics (void)
{
  g_autofree char *path = sample_path ();
  QsWindow *window = qs_window_test_open (path);
  g_autofree char *sqnr_8 = label_text (window->sqnr_value);
  g_autofree char *size_8 = label_text (window->size_value);
  QsTensorReport *report;

  gtk_widget_activate_action (GTK_WIDGET (window), "win.bits-down", NULL);
  wait_for_new_text (window, window->sqnr_value, sqnr_8);
  report = qs_histogram_view_get_report (window->histogram_view);
  g_assert_cmpint (report->scheme.bits, ==, 7);
  g_assert_cmpstr (gtk_label_get_text (window->size_value), !=, size_8);

  /* Fewer bits, more noise: about 6 dB per bit. */
  {
    double before = g_ascii_strtod (sqnr_8, NULL);
    double after = g_ascii_strtod (gtk_label_get_text (window->sqnr_value), NULL);
    g_assert_cmpfloat (after, <, before - 3.0);
  }
  qs_window_test_close (window);
}

static void
test_drag_handle_sets_manual_range (void)
{
  g_autofree char *path = sample_path ();
  QsWindow *window = qs_window_test_open (path);
  g_autofree char *clipped_before = label_text (window->clipped_value);
  QsTensorReport *report = qs_histogram_view_get_report (window->histogram_view);
  double hi = fmax (report->params.range_hi[0], 0.0);
  QsScheme scheme;

  /* Drag the upper handle to half its value: the top half of the
   * positive weights is clipped now. */
  g_assert_true (_qs_histogram_view_drag (window->histogram_view, TRUE,
                                         _qs_histogram_view_value_to_x (window->histogram_view, hi),
                                         _qs_histogram_view_value_to_x (window->histogram_view, hi / 2)));
  wait_for_new_text (window, window->clipped_value, clipped_before);

  qs_scheme_object_get_scheme (window->scheme, &scheme);
  g_assert_cmpint (scheme.range_method, ==, QS_RANGE_MANUAL);
  g_assert_cmpfloat_with_epsilon (scheme.manual_hi, hi / 2, hi * 0.05);
  report = qs_histogram_view_get_report (window->histogram_view);
  g_assert_cmpuint (report->analysis.clipped_count, >, 0);
  qs_window_test_close (window);
}

static void
test_damaged_file_keeps_document (void)
{
  g_autofree char *path = sample_path ();
  QsWindow *window = qs_window_test_open (path);
  QsDocument *before = window->document;
  g_autofree char *dir = g_dir_make_tmp ("quantscope-test-XXXXXX", NULL);
  g_autofree char *bad = g_build_filename (dir, "broken.h5", NULL);
  g_autoptr(GFile) bad_file = g_file_new_for_path (bad);
  gint64 deadline;

  g_assert_true (g_file_set_contents (bad, "\x89HDF\r\n\x1a\n but then garbage", -1, NULL));
  qs_window_open_file (window, bad_file);
  deadline = g_get_monotonic_time () + 2 * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE);

  /* A toast said so; the open document is still there and still works. */
  g_assert_true (window->document == before);
  gtk_widget_activate_action (GTK_WIDGET (window), "win.next-tensor", NULL);
  qs_window_test_wait_for (qs_window_test_has_report, window);
  g_unlink (bad);
  g_rmdir (dir);
  qs_window_test_close (window);
}

static void
test_per_channel_shows_channel_view (void)
{
  g_autofree char *path = sample_path ();
  QsWindow *window = qs_window_test_open (path);
  g_autofree char *before = label_text (window->scale_value);
  QsTensorReport *report;

  adw_combo_row_set_selected (window->granularity_row, QS_GRANULARITY_CHANNEL);
  wait_for_new_text (window, window->scale_value, before);
  report = qs_histogram_view_get_report (window->histogram_view);
  g_assert_cmpuint (report->params.channels, >, 1);
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (window->channel_view)));
  g_assert_true (gtk_widget_get_visible (window->channel_box));
  qs_window_test_close (window);
}

static void
test_export_writes_readable_file (void)
{
  g_autofree char *path = sample_path ();
  QsWindow *window = qs_window_test_open (path);
  g_autofree char *dir = g_dir_make_tmp ("quantscope-test-XXXXXX", NULL);
  g_autofree char *out = g_build_filename (dir, "exported.h5", NULL);
  g_autoptr(QsWeightFile) exported = NULL;
  g_autoptr(GError) error = NULL;
  const QsTensorInfo *kernel;
  gint64 deadline = g_get_monotonic_time () + QS_WINDOW_TEST_TIMEOUT_USEC;

  _qs_window_export_to (window, out, QS_EXPORT_LAYOUT_QUANTIZED);
  /* The output appears only by the final rename, when it is complete. */
  while (!g_file_test (out, G_FILE_TEST_EXISTS))
    {
      g_main_context_iteration (NULL, FALSE);
      if (g_get_monotonic_time () > deadline)
        g_error ("timed out waiting for the export");
      g_usleep (1000);
    }
  for (int i = 0; i < 50; i++)
    g_main_context_iteration (NULL, FALSE);

  exported = qs_weight_file_open (out, &error);
  g_assert_no_error (error);
  kernel = qs_weight_file_lookup (exported, "/model_weights/conv2d_1/conv2d_1/kernel:0");
  g_assert_nonnull (kernel);
  /* Codes, not floats: the default scheme is 8-bit signed. */
  g_assert_cmpstr (kernel->dtype, ==, "int8");
  g_unlink (out);
  g_rmdir (dir);
  qs_window_test_close (window);
}

static void
test_reader_crash_keeps_document (void)
{
  g_autofree char *path = sample_path ();
  QsWindow *window = qs_window_test_open (path);
  QsDocument *before = window->document;
  g_autofree char *dir = g_dir_make_tmp ("quantscope-test-XXXXXX", NULL);
  g_autofree char *crasher = g_build_filename (dir, "crashing-reader", NULL);
  g_autofree char *saved = g_strdup (g_getenv ("QS_SCAN_HELPER"));
  g_autoptr(GFile) file = g_file_new_for_path (path);
  gint64 deadline;

  /* As if libhdf5 died on a hostile file: the metadata scan's process
   * crashes, and the window must only say so. */
  g_assert_true (g_file_set_contents (crasher, "#!/bin/sh\nkill -SEGV $$\n", -1, NULL));
  g_assert_cmpint (g_chmod (crasher, 0755), ==, 0);
  g_setenv ("QS_SCAN_HELPER", crasher, TRUE);
  qs_window_open_file (window, file);
  deadline = g_get_monotonic_time () + 3 * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE);

  g_assert_true (window->document == before);
  if (saved != NULL)
    g_setenv ("QS_SCAN_HELPER", saved, TRUE);
  else
    g_unsetenv ("QS_SCAN_HELPER");
  g_unlink (crasher);
  g_rmdir (dir);
  gtk_widget_activate_action (GTK_WIDGET (window), "win.bits-down", NULL);
  qs_window_test_wait_for (qs_window_test_has_report, window);
  qs_window_test_close (window);
}

/* The sample file under a name that makes the preloaded H5Dread
 * (tests/common/qs-crash-on-read.c) crash on its contiguous datasets, as
 * a libhdf5 meeting damage only in values would (transfer full). */
static char *
crash_on_read_copy (void)
{
  g_autofree char *sample = sample_path ();
  g_autoptr(GFile) from = g_file_new_for_path (sample);
  char *path = g_build_filename (g_get_tmp_dir (), "quantscope-test-window-crash-on-read.h5", NULL);
  g_autoptr(GFile) to = g_file_new_for_path (path);
  g_autoptr(GError) error = NULL;

  g_file_copy (from, to, G_FILE_COPY_OVERWRITE, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  return path;
}

/* The stand-in is live in this test's process: reading that file's values
 * here crashes (checked in a subprocess). Without it the next test could
 * not fail. */
static void
test_crash_stand_in_is_active (void)
{
  g_autofree char *path = crash_on_read_copy ();

  if (g_test_subprocess ())
    {
      g_autoptr(QsWeightFile) file = qs_weight_file_open (path, NULL);
      GPtrArray *tensors = qs_weight_file_get_tensors (file);

      for (guint i = 0; i < tensors->len; i++)
        g_free (qs_weight_file_read_tensor (file, g_ptr_array_index (tensors, i), NULL));
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_unlink (path);
}

/* libhdf5 crashing while it reads a contiguous dataset's values: the scan
 * child reads every value first and crashes there; the window keeps
 * its document and says so in a toast, and never reads a value of that
 * file itself (which, for @crashing, would crash this process). */
static void
open_keeps_document (const char *crashing)
{
  g_autofree char *path = sample_path ();
  g_autoptr(GFile) file = g_file_new_for_path (crashing);
  QsWindow *window = qs_window_test_open (path);
  QsDocument *before = window->document;
  GtkWidget *toast_before = gtk_widget_get_last_child (GTK_WIDGET (window->toast_overlay));
  gint64 deadline;

  qs_window_open_file (window, file);
  deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < deadline
         && gtk_widget_get_last_child (GTK_WIDGET (window->toast_overlay)) == toast_before)
    g_main_context_iteration (NULL, FALSE);

  /* A toast widget was added to the overlay; the document is the same. */
  g_assert_true (gtk_widget_get_last_child (GTK_WIDGET (window->toast_overlay)) != toast_before);
  g_assert_true (window->document == before);
  gtk_widget_activate_action (GTK_WIDGET (window), "win.bits-down", NULL);
  qs_window_test_wait_for (qs_window_test_has_report, window);
  qs_window_test_close (window);
}

static void
test_value_crash_keeps_document (void)
{
  g_autofree char *crashing = crash_on_read_copy ();
  /* The same, for real: a file found by fuzzing on which libhdf5 1.10.8
   * itself segfaults in H5Dread of a contiguous dataset. */
  g_autofree char *fuzzed = g_test_build_filename (G_TEST_DIST, "..", "fuzz", "inputs",
                                                   "contig-read-e3a05392.h5", NULL);

  open_keeps_document (crashing);
  g_unlink (crashing);
  open_keeps_document (fuzzed);
}

static gboolean
accuracy_final (QsWindow *window)
{
  const char *subtitle = adw_action_row_get_subtitle (window->accuracy_row);
  return subtitle != NULL && g_str_has_prefix (subtitle, "10000 test images");
}

static void
test_accuracy_of_demo_model (void)
{
  g_autofree char *path = g_build_filename (SOURCE_DATADIR, "models", "fashion-cnn.h5", NULL);
  QsWindow *window = qs_window_test_open (path);
  const char *value;

  qs_window_test_wait_for (accuracy_final, window);
  value = gtk_label_get_text (window->accuracy_value);
  /* fp32 top-1 of the demo model, as PyTorch computes it independently
   * (tests/data/engine-reference.json: 9124 of 10,000). */
  g_assert_true (g_str_has_prefix (value, "91.24 % → "));
  /* 8-bit asymmetric per-tensor weights: within a point of float32. */
  g_assert_cmpfloat (fabs (g_ascii_strtod (strstr (value, "→ ") + strlen ("→ "), NULL) - 91.24), <, 1.0);
  qs_window_test_close (window);
}

int
main (int argc, char **argv)
{
  /* GSETTINGS_BACKEND=memory comes from the test environment; gtk_test_init
   * would also set it, and makes warnings fatal. */
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  g_test_add_func ("/window/opens-sample", test_opens_sample_and_shows_results);
  g_test_add_func ("/window/histogram-renders-pixels", test_histogram_renders_pixels);
  g_test_add_func ("/window/bits-change-updates-metrics", test_bits_change_updates_metrics);
  g_test_add_func ("/window/drag-handle-sets-manual-range", test_drag_handle_sets_manual_range);
  g_test_add_func ("/window/per-channel-shows-channel-view", test_per_channel_shows_channel_view);
  g_test_add_func ("/window/damaged-file-keeps-document", test_damaged_file_keeps_document);
  g_test_add_func ("/window/reader-crash-keeps-document", test_reader_crash_keeps_document);
  g_test_add_func ("/window/crash-stand-in-is-active", test_crash_stand_in_is_active);
  g_test_add_func ("/window/value-crash-keeps-document", test_value_crash_keeps_document);
  g_test_add_func ("/window/export-writes-readable-file", test_export_writes_readable_file);
  g_test_add_func ("/window/accuracy-of-demo-model", test_accuracy_of_demo_model);
  return g_test_run ();
}
