/* test-window.c: the real window, driven through its actions under Xvfb.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <locale.h>
#include <math.h>
#include <string.h>

#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cairo.h>
#include <json-glib/json-glib.h>

#include "app/qs-application.h"
#include "app/qs-histogram-view-private.h"
#include "app/qs-tensor-item.h"
#include "app/qs-window-private.h"
#include "model/qs-error.h"
#include "model/qs-format-text.h"
#include "qs-window-test-utils.h"


static char *
sample_path (void)
{
  return g_build_filename (SOURCE_DATADIR, "sample-weights.h5", NULL);
}






static char *
label_text (QsWindow    *window,
            QsResultRow  row)
{
  return g_strdup (qs_window_test_result (window, row));
}

/* Waits for the result of a change made by the caller: the text of
 * result @row differs from @before. */
static void
wait_for_new_text (QsWindow    *window,
                   QsResultRow  row,
                   const char  *before)
{
  gint64 deadline = g_get_monotonic_time () + QS_WINDOW_TEST_TIMEOUT_USEC;

  while (g_strcmp0 (qs_window_test_result (window, row), before) == 0
         || qs_job_service_is_busy (window->jobs, QS_JOB_PRIORITY_VISIBLE))
    {
      g_main_context_iteration (NULL, FALSE);
      if (g_get_monotonic_time () > deadline)
        g_error ("timed out: “%s” did not change", before);
      g_usleep (1000);
    }
}

/* The sample open under the seed notes' per-tensor scheme, for the tests
 * written when it was the default (issue 9 made per-channel the default). */
static QsWindow *
open_per_tensor (const char *path)
{
  QsWindow *window = qs_window_test_open (path);
  g_autofree char *before = label_text (window, QS_RESULT_SCALE);

  gtk_widget_activate_action (GTK_WIDGET (window), "win.weight-preset", "s", "tensor");
  wait_for_new_text (window, QS_RESULT_SCALE, before);
  return window;
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
  g_assert_true (g_str_has_suffix (qs_window_test_result (window, QS_RESULT_SQNR), "dB"));
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
  g_autofree char *sqnr_8 = label_text (window, QS_RESULT_SQNR);
  g_autofree char *size_8 = label_text (window, QS_RESULT_TENSOR_SIZE);
  QsTensorReport *report;

  gtk_widget_activate_action (GTK_WIDGET (window), "win.bits-down", NULL);
  wait_for_new_text (window, QS_RESULT_SQNR, sqnr_8);
  report = qs_histogram_view_get_report (window->histogram_view);
  g_assert_cmpint (report->scheme.bits, ==, 7);
  g_assert_cmpstr (qs_window_test_result (window, QS_RESULT_TENSOR_SIZE), !=, size_8);

  /* Fewer bits, more noise: about 6 dB per bit. */
  {
    double before = g_ascii_strtod (sqnr_8, NULL);
    double after = g_ascii_strtod (qs_window_test_result (window, QS_RESULT_SQNR), NULL);
    g_assert_cmpfloat (after, <, before - 3.0);
  }
  qs_window_test_close (window);
}

static void
test_drag_handle_sets_manual_range (void)
{
  g_autofree char *path = sample_path ();
  QsWindow *window = qs_window_test_open (path);
  g_autofree char *clipped_before = label_text (window, QS_RESULT_CLIPPED);
  QsTensorReport *report = qs_histogram_view_get_report (window->histogram_view);
  double hi = fmax (report->params.range_hi[0], 0.0);
  QsScheme scheme;

  /* Drag the upper handle to half its value: the top half of the
   * positive weights is clipped now. */
  g_assert_true (_qs_histogram_view_drag (window->histogram_view, TRUE,
                                         _qs_histogram_view_value_to_x (window->histogram_view, hi),
                                         _qs_histogram_view_value_to_x (window->histogram_view, hi / 2)));
  wait_for_new_text (window, QS_RESULT_CLIPPED, clipped_before);

  qs_scheme_panel_get_scheme (window->scheme_panel, &scheme);
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

/* Saving a scheme (the window's or a search's) over the model the window
 * reads, or over a link to it, is refused before anything is written;
 * any other path is fine. */
static void
test_save_refuses_the_open_model (void)
{
  g_autofree char *path = sample_path ();
  QsWindow *window = qs_window_test_open (path);
  g_autofree char *dir = g_dir_make_tmp ("quantscope-test-XXXXXX", NULL);
  g_autofree char *link = g_build_filename (dir, "model-link.h5", NULL);
  g_autofree char *other = g_build_filename (dir, "scheme.json", NULL);
  g_autofree char *other_link = g_build_filename (dir, "scheme-link.json", NULL);
  g_autofree char *loop = g_build_filename (dir, "loop.json", NULL);
  g_autofree char *absolute = g_canonicalize_filename (path, NULL);
  g_autoptr(GError) error = NULL;

  g_assert_false (qs_window_check_output (window, path, &error));
  g_assert_error (error, QS_ERROR, QS_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_cmpint (symlink (absolute, link), ==, 0);
  g_assert_false (qs_window_check_output (window, link, &error));
  g_assert_error (error, QS_ERROR, QS_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_true (qs_window_check_output (window, other, &error));
  g_assert_no_error (error);
  /* A link is checked as the file it leads to: to another file, fine
   * (saving writes through it); a loop, refused. */
  g_assert_cmpint (symlink ("scheme.json", other_link), ==, 0);
  g_assert_true (qs_window_check_output (window, other_link, &error));
  g_assert_no_error (error);
  g_assert_cmpint (symlink ("loop.json", loop), ==, 0);
  g_assert_false (qs_window_check_output (window, loop, &error));
  g_assert_error (error, QS_ERROR, QS_ERROR_INVALID);
  g_clear_error (&error);
  g_unlink (loop);
  g_unlink (other_link);
  g_unlink (link);
  g_rmdir (dir);
  qs_window_test_close (window);
}

/* Export Plot checks its path as Save Scheme does: over the open model
 * it writes nothing and says why in a toast; elsewhere it writes. */
static void
test_plot_export_refuses_the_open_model (void)
{
  g_autofree char *path = sample_path ();
  g_autofree char *dir = g_dir_make_tmp ("quantscope-test-XXXXXX", NULL);
  g_autofree char *copy = g_build_filename (dir, "model.h5", NULL);
  g_autofree char *plot = g_build_filename (dir, "histogram.png", NULL);
  g_autofree char *before = NULL, *after = NULL;
  gsize before_length, after_length;
  QsWindow *window;
  GtkWidget *toast_before;

  /* A copy, so a failure cannot damage the test's own sample. */
  g_assert_true (g_file_get_contents (path, &before, &before_length, NULL));
  g_assert_true (g_file_set_contents (copy, before, (gssize) before_length, NULL));
  window = qs_window_test_open (copy);
  toast_before = gtk_widget_get_last_child (GTK_WIDGET (window->toast_overlay));

  g_assert_false (_qs_window_export_histogram (window, copy));
  g_assert_true (g_file_get_contents (copy, &after, &after_length, NULL));
  g_assert_cmpmem (after, after_length, before, before_length);
  g_assert_true (gtk_widget_get_last_child (GTK_WIDGET (window->toast_overlay)) != toast_before);

  g_assert_true (_qs_window_export_histogram (window, plot));
  g_assert_true (g_file_test (plot, G_FILE_TEST_IS_REGULAR));
  qs_window_test_close (window);
  g_unlink (plot);
  g_unlink (copy);
  g_rmdir (dir);
}

static void
test_per_channel_shows_channel_view (void)
{
  g_autofree char *path = sample_path ();
  QsWindow *window = open_per_tensor (path);
  g_autofree char *before = label_text (window, QS_RESULT_SCALE);
  QsTensorReport *report;

  adw_combo_row_set_selected (ADW_COMBO_ROW (qs_window_test_scheme_row (window, "granularity")), QS_GRANULARITY_CHANNEL);
  wait_for_new_text (window, QS_RESULT_SCALE, before);
  report = qs_histogram_view_get_report (window->histogram_view);
  g_assert_cmpuint (report->params.channels, >, 1);
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (window->channel_view)));
  g_assert_true (gtk_widget_get_visible (window->channel_box));
  qs_window_test_close (window);
}

/* The document's scheme set: every tensor under @expected, no override. */
static void
assert_every_tensor_uses (QsWindow       *window,
                          const QsScheme *expected)
{
  QsSchemeSet *schemes = qs_document_get_schemes (window->document);
  QsScheme shown;

  g_assert_true (qs_scheme_equal (qs_scheme_set_get_default (schemes), expected));
  g_assert_cmpuint (qs_scheme_set_get_n_overrides (schemes), ==, 0);
  qs_scheme_panel_get_scheme (window->scheme_panel, &shown);
  g_assert_true (qs_scheme_equal (&shown, expected));
  g_assert_cmpuint (adw_combo_row_get_selected (ADW_COMBO_ROW (qs_window_test_scheme_row (window, "granularity"))), ==, expected->granularity);
  g_assert_cmpuint (adw_combo_row_get_selected (ADW_COMBO_ROW (qs_window_test_scheme_row (window, "mapping"))), ==, expected->mapping);
  g_assert_cmpint (qs_window_test_shown_int (window, "narrow"), ==, expected->narrow);
}

/* Issue 9: the app opens with TFLite's per-channel symmetric weights, and
 * one click gives every tensor the seed notes' per-tensor scheme (one
 * scale), another brings the default back. */
static void
test_weight_presets (void)
{
  g_autofree char *path = sample_path ();
  QsWindow *window = qs_window_test_open (path);
  g_autofree char *per_channel_text = label_text (window, QS_RESULT_SCALE);
  g_autofree char *per_tensor_text = NULL;
  QsScheme per_channel, per_tensor;

  qs_scheme_init_default (&per_channel);
  qs_scheme_init_per_tensor (&per_tensor);
  assert_every_tensor_uses (window, &per_channel);
  g_assert_cmpuint (qs_histogram_view_get_report (window->histogram_view)->params.channels, >, 1);

  gtk_widget_activate_action (GTK_WIDGET (window), "win.weight-preset", "s", "tensor");
  wait_for_new_text (window, QS_RESULT_SCALE, per_channel_text);
  assert_every_tensor_uses (window, &per_tensor);
  g_assert_cmpuint (qs_histogram_view_get_report (window->histogram_view)->params.channels, ==, 1);

  per_tensor_text = label_text (window, QS_RESULT_SCALE);
  gtk_widget_activate_action (GTK_WIDGET (window), "win.weight-preset", "s", "channel");
  wait_for_new_text (window, QS_RESULT_SCALE, per_tensor_text);
  assert_every_tensor_uses (window, &per_channel);
  g_assert_cmpuint (qs_histogram_view_get_report (window->histogram_view)->params.channels, >, 1);
  qs_window_test_close (window);
}

/* The channel-range chart exports like the histogram: a PDF, a PNG of the
 * asked size; without per-channel ranges there is nothing to write, and
 * nothing is written. */
static void
test_channel_ranges_export (void)
{
  g_autofree char *path = sample_path ();
  QsWindow *window = open_per_tensor (path);
  g_autofree char *before = label_text (window, QS_RESULT_SCALE);
  g_autofree char *dir = g_dir_make_tmp ("qs-channel-export-XXXXXX", NULL);
  g_autofree char *pdf = g_build_filename (dir, "channels.pdf", NULL);
  g_autofree char *png = g_build_filename (dir, "channels.png", NULL);
  g_autofree char *refused = g_build_filename (dir, "refused.png", NULL);
  g_autofree char *contents = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  g_autoptr(GError) error = NULL;
  gsize length = 0;

  g_assert_false (qs_channel_range_view_export (window->channel_view, refused, 800, 400, &error));
  g_assert_error (error, QS_ERROR, QS_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (g_file_test (refused, G_FILE_TEST_EXISTS));

  adw_combo_row_set_selected (ADW_COMBO_ROW (qs_window_test_scheme_row (window, "granularity")), QS_GRANULARITY_CHANNEL);
  wait_for_new_text (window, QS_RESULT_SCALE, before);
  g_assert_true (qs_channel_range_view_export (window->channel_view, pdf, 800, 400, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (pdf, &contents, &length, NULL));
  g_assert_cmpuint (length, >, 5);
  g_assert_cmpmem (contents, 5, "%PDF-", 5);
  g_assert_true (qs_channel_range_view_export (window->channel_view, png, 800, 400, &error));
  g_assert_no_error (error);
  texture = gdk_texture_new_from_filename (png, &error);
  g_assert_no_error (error);
  g_assert_cmpint (gdk_texture_get_width (texture), ==, 800);
  g_assert_cmpint (gdk_texture_get_height (texture), ==, 400);
  qs_window_test_close (window);
  g_remove (pdf);
  g_remove (png);
  g_rmdir (dir);
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

/* Whether the accuracy row's subtitle starts with @prefix. */
static gboolean
accuracy_says (QsWindow   *window,
               const char *prefix)
{
  const char *subtitle = adw_action_row_get_subtitle (qs_results_panel_get_row (window->results_panel, QS_RESULT_ACCURACY));
  return subtitle != NULL && g_str_has_prefix (subtitle, prefix);
}

static gboolean
accuracy_final (QsWindow *window)
{
  return accuracy_says (window, "10000 test images");
}

/* What the accuracy row showed while the first evaluation ran. */
static gboolean saw_stage_progress;

static gboolean
accuracy_final_watching_progress (QsWindow *window)
{
  double fraction = qs_results_panel_get_accuracy_progress (window->results_panel);

  if (fraction >= 0 && (accuracy_says (window, "Running the float32 model on ")
                        || accuracy_says (window, "Calibrating on ") || accuracy_says (window, "Evaluating ")))
    saw_stage_progress = TRUE;
  return accuracy_final (window);
}

/* The first evaluation after opening a model (float32 predictions,
 * calibration, then integer inference) says what it does and how far,
 * and the bar goes once the figure is final. */
static void
test_accuracy_of_demo_model (void)
{
  g_autofree char *path = g_build_filename (SOURCE_DATADIR, "models", "fashion-cnn.h5", NULL);
  QsWindow *window = qs_window_test_open (path);
  const char *value;

  saw_stage_progress = FALSE;
  qs_window_test_wait_for (accuracy_final_watching_progress, window);
  g_assert_true (saw_stage_progress);
  g_assert_cmpfloat (qs_results_panel_get_accuracy_progress (window->results_panel), ==, -1);
  value = qs_window_test_result (window, QS_RESULT_ACCURACY);
  /* fp32 top-1 of the demo model, as PyTorch computes it independently
   * (tests/data/engine-reference.json: 9124 of 10,000). */
  g_assert_true (g_str_has_prefix (value, "91.24 % → "));
  /* 8-bit asymmetric per-tensor weights: within a point of float32. */
  g_assert_cmpfloat (fabs (g_ascii_strtod (strstr (value, "→ ") + strlen ("→ "), NULL) - 91.24), <, 1.0);
  qs_window_test_close (window);
}

static gboolean
accuracy_on_four_images (QsWindow *window)
{
  return accuracy_says (window, "4 test images");
}

static gboolean
agreement_on_two_images (QsWindow *window)
{
  return accuracy_says (window, "2 test images");
}

/* The data chosen for the model scores its accuracy: an image folder with
 * class folders gives top-1, one without gives agreement with float32.
 * (Tests run without the compiled schema, so the choice is handed to the
 * job as the "Choose Data" response does, not through "model-data".) */
static void
test_accuracy_on_chosen_data (void)
{
  g_autofree char *path = g_build_filename (SOURCE_DATADIR, "models", "fashion-cnn.h5", NULL);
  g_autofree char *labeled = g_test_build_filename (G_TEST_DIST, "..", "data", "images", "labeled", NULL);
  g_autofree char *unlabeled = g_test_build_filename (G_TEST_DIST, "..", "data", "images", "unlabeled", NULL);
  QsWindow *window = qs_window_test_open (path);

  qs_window_test_wait_for (accuracy_final, window);
  qs_accuracy_job_set_data (window->accuracy, labeled);
  _qs_window_schedule_accuracy (window);
  qs_window_test_wait_for (accuracy_on_four_images, window);
  g_assert_nonnull (strstr (qs_window_test_result (window, QS_RESULT_ACCURACY), " % → "));

  qs_accuracy_job_set_data (window->accuracy, unlabeled);
  _qs_window_schedule_accuracy (window);
  qs_window_test_wait_for (agreement_on_two_images, window);
  g_assert_true (g_str_has_suffix (qs_window_test_result (window, QS_RESULT_ACCURACY), " % agreement"));

  /* Back to the bundled test set. */
  qs_accuracy_job_set_data (window->accuracy, NULL);
  _qs_window_schedule_accuracy (window);
  qs_window_test_wait_for (accuracy_final, window);
  qs_window_test_close (window);
}

/* Runs the main loop for a while: debounced work (the search entry's
 * delay, the sweep) gets its turn. */
static void
spin_main_loop (guint msec)
{
  gint64 deadline = g_get_monotonic_time () + msec * 1000;

  while (g_get_monotonic_time () < deadline)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
}

static const char *
listed_path (QsWindow *window,
             guint     position)
{
  g_autoptr(QsTensorItem) item = g_list_model_get_item (G_LIST_MODEL (window->selection), position);

  return qs_tensor_item_get_info (item)->path;
}

static guint
listed_position (QsWindow   *window,
                 const char *path)
{
  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (window->selection)); i++)
    if (g_str_equal (listed_path (window, i), path))
      return i;
  g_error ("%s is not listed", path);
}

static void
test_filter_filters_tensors (void)
{
  g_autofree char *path = sample_path ();
  QsWindow *window = qs_window_test_open (path);
  GListModel *listed = G_LIST_MODEL (window->selection);
  gint64 deadline = g_get_monotonic_time () + QS_WINDOW_TEST_TIMEOUT_USEC;

  /* As typed: upper case, part of a name. Of the 16 tensors, the kernels
   * and biases of dense and dense_1 contain "dense". */
  gtk_editable_set_text (GTK_EDITABLE (window->search_entry), "DENSE");
  while (g_list_model_get_n_items (listed) == 16)
    {
      g_main_context_iteration (NULL, FALSE);
      if (g_get_monotonic_time () > deadline)
        g_error ("the filter did not filter");
      g_usleep (1000);
    }
  g_assert_cmpuint (g_list_model_get_n_items (listed), ==, 4);
  for (guint i = 0; i < 4; i++)
    g_assert_nonnull (strstr (listed_path (window, i), "/dense"));

  gtk_editable_set_text (GTK_EDITABLE (window->search_entry), "");
  while (g_list_model_get_n_items (listed) != 16)
    {
      g_main_context_iteration (NULL, FALSE);
      if (g_get_monotonic_time () > deadline)
        g_error ("clearing the filter did not bring the tensors back");
      g_usleep (1000);
    }
  qs_window_test_close (window);
}

static void
test_sidebar_natural_order (void)
{
  g_autofree char *path = sample_path ();
  QsWindow *window = qs_window_test_open (path);
  guint n = g_list_model_get_n_items (G_LIST_MODEL (window->selection));

  for (guint i = 0; i + 1 < n; i++)
    g_assert_cmpint (qs_natural_compare (listed_path (window, i), listed_path (window, i + 1)), <=, 0);
  /* By hand: batch_normalization sorts first; conv2d_1 before conv2d_2
   * (the file has depthwise_conv2d between them). */
  g_assert_true (g_str_has_prefix (listed_path (window, 0), "/model_weights/batch_normalization/"));
  g_assert_cmpuint (listed_position (window, "/model_weights/conv2d_1/conv2d_1/kernel:0"), <,
                    listed_position (window, "/model_weights/conv2d_2/conv2d_2/bias:0"));
  qs_window_test_close (window);
}

static gboolean
every_badge_has_sqnr (QsWindow *window)
{
  GListModel *listed = G_LIST_MODEL (window->selection);

  for (guint i = 0; i < g_list_model_get_n_items (listed); i++)
    {
      g_autoptr(QsTensorItem) item = g_list_model_get_item (listed, i);
      if (qs_tensor_item_get_info (item)->quantizable && isnan (qs_tensor_item_get_sqnr (item)))
        return FALSE;
    }
  return window->resort_idle_id == 0;
}

static void
test_sidebar_sorts_by_sqnr (void)
{
  g_autofree char *path = sample_path ();
  QsWindow *window = qs_window_test_open (path);
  GListModel *listed = G_LIST_MODEL (window->selection);
  const char *selected = qs_window_get_selected_path (window);
  g_autofree char *selected_before = g_strdup (selected);
  double previous = -INFINITY;

  gtk_widget_activate_action (GTK_WIDGET (window), "win.sort-by-sqnr", NULL);
  g_assert_true (window->sort_by_sqnr);
  qs_window_test_wait_for (every_badge_has_sqnr, window);
  for (guint i = 0; i < g_list_model_get_n_items (listed); i++)
    {
      g_autoptr(QsTensorItem) item = g_list_model_get_item (listed, i);
      g_assert_cmpfloat (qs_tensor_item_get_sqnr (item), >=, previous);
      previous = qs_tensor_item_get_sqnr (item);
    }
  /* Re-sorting keeps the tensor on view. */
  g_assert_cmpstr (qs_window_get_selected_path (window), ==, selected_before);
  qs_window_test_close (window);
}

static gboolean
strv_has (GPtrArray  *array,
          const char *text)
{
  for (guint i = 0; i < array->len; i++)
    if (g_str_equal (g_ptr_array_index (array, i), text))
      return TRUE;
  return FALSE;
}

static void
test_shortcuts_window_matches_accels (void)
{
  g_autoptr(QsApplication) app = qs_application_new ();
  g_autoptr(GtkBuilder) builder = NULL;
  g_autoptr(GPtrArray) listed = g_ptr_array_new_with_free_func (g_free);
  g_auto(GStrv) described = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = sample_path ();
  QsWindow *window;
  GSList *objects;
  GListModel *controllers;
  gboolean found = FALSE;

  g_assert_true (g_application_register (G_APPLICATION (app), NULL, &error));
  g_assert_no_error (error);

  builder = gtk_builder_new_from_resource ("/io/github/quantscope/Quantscope/gtk/help-overlay.ui");
  objects = gtk_builder_get_objects (builder);
  for (GSList *l = objects; l != NULL; l = l->next)
    if (GTK_IS_SHORTCUTS_SHORTCUT (l->data))
      {
        char *action = NULL;
        g_object_get (l->data, "action-name", &action, NULL);
        g_assert_nonnull (action);
        g_ptr_array_add (listed, action);
      }
  g_slist_free (objects);

  /* Every entry of the shortcuts window has a key... */
  for (guint i = 0; i < listed->len; i++)
    {
      g_auto(GStrv) accels = gtk_application_get_accels_for_action (GTK_APPLICATION (app),
                                                                    g_ptr_array_index (listed, i));
      if (accels == NULL || accels[0] == NULL)
        g_error ("%s is in the shortcuts window without a key", (char *) g_ptr_array_index (listed, i));
    }
  /* ...and every key is in the shortcuts window, Ctrl+S, Ctrl+L and Ctrl+I too. */
  described = gtk_application_list_action_descriptions (GTK_APPLICATION (app));
  for (guint i = 0; described[i] != NULL; i++)
    if (!strv_has (listed, described[i]))
      g_error ("%s has a key but is not in the shortcuts window", described[i]);
  g_assert_true (strv_has (listed, "win.save-scheme"));
  g_assert_true (strv_has (listed, "win.log-scale"));
  g_assert_true (strv_has (listed, "win.number-inspector"));

  /* Ctrl+Up with the focus in the tensor list: the window takes it in the
   * capture phase, before the list sees it. */
  window = qs_window_test_open (path);
  gtk_widget_grab_focus (GTK_WIDGET (window->tensor_list));
  controllers = gtk_widget_observe_controllers (GTK_WIDGET (window));
  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr(GtkEventController) controller = g_list_model_get_item (controllers, i);
      if (!GTK_IS_SHORTCUT_CONTROLLER (controller)
          || gtk_event_controller_get_propagation_phase (controller) != GTK_PHASE_CAPTURE)
        continue;
      for (guint j = 0; j < g_list_model_get_n_items (G_LIST_MODEL (controller)); j++)
        {
          g_autoptr(GtkShortcut) shortcut = g_list_model_get_item (G_LIST_MODEL (controller), j);
          g_autofree char *trigger = gtk_shortcut_trigger_to_string (gtk_shortcut_get_trigger (shortcut));
          GtkShortcutAction *action = gtk_shortcut_get_action (shortcut);
          if (g_str_equal (trigger, "<Control>Up") && GTK_IS_NAMED_ACTION (action)
              && g_str_equal (gtk_named_action_get_action_name (GTK_NAMED_ACTION (action)), "win.bits-up"))
            found = TRUE;
        }
    }
  g_object_unref (controllers);
  g_assert_true (found);
  qs_window_test_close (window);
}

static void
test_damaged_file_says_what_is_wrong (void)
{
  g_autofree char *path = sample_path ();
  QsWindow *window = qs_window_test_open (path);
  g_autofree char *dir = g_dir_make_tmp ("quantscope-test-XXXXXX", NULL);
  g_autofree char *bad = g_build_filename (dir, "broken_model.h5", NULL);
  g_autoptr(GFile) bad_file = g_file_new_for_path (bad);
  g_auto(GStrv) lines = NULL;
  gint64 deadline = g_get_monotonic_time () + QS_WINDOW_TEST_TIMEOUT_USEC;

  g_assert_true (g_file_set_contents (bad, "\x89HDF\r\n\x1a\n but then garbage", -1, NULL));
  qs_window_open_file (window, bad_file);
  while (window->last_error_details == NULL)
    {
      g_main_context_iteration (NULL, FALSE);
      if (g_get_monotonic_time () > deadline)
        g_error ("no message for the damaged file");
      g_usleep (1000);
    }
  /* Title, file, then the reader's own words. The title is short enough
   * for a toast and names no library internals. */
  lines = g_strsplit (window->last_error_details, "\n", 4);
  g_assert_cmpuint (g_strv_length (lines), ==, 4);
  g_assert_cmpuint (g_utf8_strlen (lines[0], -1), <=, 60);
  g_assert_null (strstr (lines[0], "H5"));
  g_assert_null (strstr (lines[0], "HDF5-DIAG"));
  g_assert_cmpstr (lines[1], ==, bad);
  g_assert_cmpuint (strlen (lines[3]), >, 0);
  g_unlink (bad);
  g_rmdir (dir);
  qs_window_test_close (window);
}

static void
test_recent_label_keeps_underscores (void)
{
  g_autofree char *escaped = _qs_window_escape_mnemonic ("inception_v3__x.h5");
  g_autoptr(GMenu) menu = g_menu_new ();
  GtkWidget *popover;
  GtkWidget *window = gtk_window_new ();

  g_assert_cmpstr (escaped, ==, "inception__v3____x.h5");
  /* What a menu shows for it: the name as it is. */
  g_menu_append (menu, escaped, "win.nothing");
  popover = gtk_popover_menu_new_from_model (G_MENU_MODEL (menu));
  gtk_window_set_child (GTK_WINDOW (window), popover);
  {
    gboolean found = FALSE;
    for (GtkWidget *w = popover; w != NULL && !found;)
      {
        if (GTK_IS_LABEL (w) && g_strcmp0 (gtk_label_get_text (GTK_LABEL (w)), "inception_v3__x.h5") == 0)
          found = TRUE;
        /* Depth-first walk of the popover's widgets. */
        if (gtk_widget_get_first_child (w) != NULL)
          w = gtk_widget_get_first_child (w);
        else
          {
            while (w != NULL && w != popover && gtk_widget_get_next_sibling (w) == NULL)
              w = gtk_widget_get_parent (w);
            w = (w == NULL || w == popover) ? NULL : gtk_widget_get_next_sibling (w);
          }
      }
    g_assert_true (found);
  }
  gtk_window_destroy (GTK_WINDOW (window));
}

static void
test_load_scheme_file (void)
{
  g_autofree char *path = sample_path ();
  QsWindow *window = qs_window_test_open (path);
  const char *json = "{ \"version\": 1, \"default\": { \"bits\": 6, \"mapping\": \"symmetric\" },"
                     "  \"overrides\": [ { \"tensors\": \"/model_weights/dense/dense/kernel:0\", \"bits\": 3 } ] }";
  g_autoptr(QsSchemeSet) schemes = NULL;
  g_autoptr(GError) error = NULL;
  QsScheme scheme;

  schemes = qs_scheme_set_load_from_data (json, -1, "test.json", &error);
  g_assert_no_error (error);
  _qs_window_apply_schemes (window, schemes);

  qs_document_get_default_scheme (window->document, &scheme);
  g_assert_cmpint (scheme.bits, ==, 6);
  g_assert_cmpint (scheme.mapping, ==, QS_MAPPING_SYMMETRIC);
  g_assert_true (qs_document_has_override (window->document, "/model_weights/dense/dense/kernel:0"));
  qs_document_get_scheme_for (window->document, "/model_weights/dense/dense/kernel:0", &scheme);
  g_assert_cmpint (scheme.bits, ==, 3);
  g_assert_cmpint (scheme.mapping, ==, QS_MAPPING_SYMMETRIC);
  g_assert_false (qs_document_has_override (window->document, "/model_weights/conv2d_1/conv2d_1/kernel:0"));
  /* The controls show what applies to the tensor on view. */
  qs_scheme_panel_get_scheme (window->scheme_panel, &scheme);
  g_assert_cmpint (scheme.bits, ==, 6);
  g_assert_cmpfloat (qs_window_test_shown_int (window, "bits"), ==, 6.0);
  qs_window_test_wait_for (qs_window_test_has_report, window);
  qs_window_test_close (window);
}

static void
assert_mode_follows_umask (const char *path,
                           mode_t      umask_value)
{
  GStatBuf st;

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0666 & ~umask_value);
}

static void
test_written_files_follow_umask (void)
{
  g_autofree char *path = sample_path ();
  QsWindow *window = qs_window_test_open (path);
  g_autofree char *dir = g_dir_make_tmp ("quantscope-test-XXXXXX", NULL);
  g_autofree char *plot = g_build_filename (dir, "plot.png", NULL);
  g_autofree char *scheme = g_build_filename (dir, "scheme.json", NULL);
  g_autofree char *weights = g_build_filename (dir, "weights.h5", NULL);
  QsSchemeSet *schemes = qs_document_get_schemes (window->document);
  g_autoptr(GError) error = NULL;
  gint64 deadline = g_get_monotonic_time () + QS_WINDOW_TEST_TIMEOUT_USEC;
  mode_t old_umask = umask (022);

  g_assert_true (qs_histogram_view_export (window->histogram_view, plot, 600, 300, &error));
  g_assert_no_error (error);
  g_assert_true (qs_scheme_set_save (schemes, scheme, &error));
  g_assert_no_error (error);
  _qs_window_export_to (window, weights, QS_EXPORT_LAYOUT_QUANTIZED);
  while (!g_file_test (weights, G_FILE_TEST_EXISTS))
    {
      g_main_context_iteration (NULL, FALSE);
      if (g_get_monotonic_time () > deadline)
        g_error ("timed out waiting for the export");
      g_usleep (1000);
    }
  spin_main_loop (100);
  assert_mode_follows_umask (plot, 022);
  assert_mode_follows_umask (scheme, 022);
  assert_mode_follows_umask (weights, 022);
  umask (old_umask);
  g_unlink (plot);
  g_unlink (scheme);
  g_unlink (weights);
  g_rmdir (dir);
  qs_window_test_close (window);
}

static void
test_symmetric_drag_agrees_with_results (void)
{
  g_autofree char *path = sample_path ();
  QsWindow *window = open_per_tensor (path);
  g_autofree char *before = label_text (window, QS_RESULT_SCALE);
  QsTensorReport *report;
  double lo, hi, dragged_hi, estimate, handle_lo, handle_hi;
  guint64 clipped_before;

  adw_combo_row_set_selected (ADW_COMBO_ROW (qs_window_test_scheme_row (window, "mapping")), QS_MAPPING_SYMMETRIC);
  wait_for_new_text (window, QS_RESULT_SCALE, before);
  report = qs_histogram_view_get_report (window->histogram_view);
  clipped_before = report->analysis.clipped_count;
  /* Symmetric: the handles sit at ± the same value. */
  _qs_histogram_view_get_handles (window->histogram_view, &lo, &hi);
  g_assert_cmpfloat (lo, ==, -hi);

  /* Pull the upper handle to half its value: the lower one still sets the
   * symmetric range, so no more values clip than before. */
  dragged_hi = hi / 2;
  g_assert_true (_qs_histogram_view_drag (window->histogram_view, TRUE,
                                         _qs_histogram_view_value_to_x (window->histogram_view, hi),
                                         _qs_histogram_view_value_to_x (window->histogram_view, dragged_hi)));
  _qs_histogram_view_get_handles (window->histogram_view, &lo, &hi);
  g_assert_cmpfloat (hi, <, dragged_hi * 1.05);
  estimate = _qs_histogram_view_estimate_clipped (window->histogram_view, lo, hi);
  qs_window_test_wait_for (qs_window_test_has_report, window);
  while (qs_histogram_view_get_report (window->histogram_view)->scheme.range_method != QS_RANGE_MANUAL)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
  qs_window_test_wait_for (qs_window_test_has_report, window);
  report = qs_histogram_view_get_report (window->histogram_view);

  /* The plot's figure and Results' agree (the estimate spreads the bins
   * the bounds cut, so within a bin's share)... */
  g_assert_cmpfloat (fabs (estimate - (double) report->analysis.clipped_count), <=,
                     2.0 + report->analysis.finite_count / 100.0);
  g_assert_cmpuint (report->analysis.clipped_count, <=, clipped_before + 1);
  /* ...and the handles snap to the range that applies: symmetric, as wide
   * as the side that was not moved. */
  _qs_histogram_view_get_handles (window->histogram_view, &handle_lo, &handle_hi);
  g_assert_cmpfloat (handle_lo, ==, -handle_hi);
  g_assert_cmpfloat (handle_hi, ==, MAX (-MIN (report->params.range_lo[0], 0.0f), MAX (report->params.range_hi[0], 0.0f)));
  g_assert_cmpfloat (handle_hi, >, dragged_hi * 1.5);
  qs_window_test_close (window);
}

static void
test_accuracy_dimmed_while_updating (void)
{
  g_autofree char *path = g_build_filename (SOURCE_DATADIR, "models", "fashion-cnn.h5", NULL);
  QsWindow *window = qs_window_test_open (path);

  qs_window_test_wait_for (accuracy_final, window);
  g_assert_false (qs_results_panel_get_accuracy_dimmed (window->results_panel));
  /* A new scheme: the old figure stays, dimmed and marked, until the new one is final. */
  gtk_widget_activate_action (GTK_WIDGET (window), "win.bits-down", NULL);
  g_assert_true (qs_results_panel_get_accuracy_dimmed (window->results_panel));
  g_assert_cmpstr (adw_action_row_get_subtitle (qs_results_panel_get_row (window->results_panel, QS_RESULT_ACCURACY)), ==, "Evaluating…");
  qs_window_test_wait_for (accuracy_final, window);
  g_assert_false (qs_results_panel_get_accuracy_dimmed (window->results_panel));
  qs_window_test_close (window);
}

static void
test_keyboard_reaches_everything_once (void)
{
  g_autofree char *path = sample_path ();
  QsWindow *window = qs_window_test_open (path);
  gboolean histogram_reached = FALSE, results_reached = FALSE;
  GtkWidget *previous = NULL;
  QsScheme scheme;

  /* One key from anywhere to the first scheme control. */
  gtk_widget_grab_focus (GTK_WIDGET (window->tensor_list));
  gtk_widget_activate_action (GTK_WIDGET (window), "win.focus-scheme", NULL);
  g_assert_true (gtk_window_get_focus (GTK_WINDOW (window)) == GTK_WIDGET (qs_window_test_scheme_row (window, "format")));

  /* Tab from the scheme controls reaches the histogram; a result row is
   * never entered twice (its value label is no stop of its own), and the
   * boxed list of results is reached as a whole. */
  for (int i = 0; i < 200; i++)
    {
      GtkWidget *focus;

      /* What GtkWindow does with Tab (it wraps around by itself). */
      gtk_widget_child_focus (GTK_WIDGET (window), GTK_DIR_TAB_FORWARD);
      focus = gtk_window_get_focus (GTK_WINDOW (window));
      /* Tab must never stay put (a trap), and one round is enough. */
      g_assert_true (focus != previous);
      if (histogram_reached && results_reached)
        break;
      previous = focus;
      histogram_reached |= focus == GTK_WIDGET (window->histogram_view);
      results_reached |= gtk_widget_is_ancestor (focus, GTK_WIDGET (window->results_panel));
      g_assert_false (GTK_IS_LABEL (focus));
    }
  g_assert_true (histogram_reached);
  g_assert_true (results_reached);

  /* Arrow keys on the focused histogram move the upper handle: a manual range. */
  g_assert_true (_qs_histogram_view_key (window->histogram_view, GDK_KEY_Left, 0));
  qs_scheme_panel_get_scheme (window->scheme_panel, &scheme);
  g_assert_cmpint (scheme.range_method, ==, QS_RANGE_MANUAL);
  qs_window_test_wait_for (qs_window_test_has_report, window);
  qs_window_test_close (window);
}

static void
test_application_icon_resolves (void)
{
  GtkIconTheme *theme = gtk_icon_theme_get_for_display (gdk_display_get_default ());
  g_autoptr(GtkIconPaintable) icon = NULL;
  g_autoptr(GFile) file = NULL;

  /* What About shows, from the build tree as from an install. */
  qs_application_ensure_icon ();
  g_assert_true (gtk_icon_theme_has_icon (theme, "io.github.quantscope.Quantscope"));
  icon = gtk_icon_theme_lookup_icon (theme, "io.github.quantscope.Quantscope", NULL, 128, 1,
                                     GTK_TEXT_DIR_NONE, 0);
  file = gtk_icon_paintable_get_file (icon);
  g_assert_nonnull (file);
  /* A fallback image comes from a resource and has no path. */
  g_assert_nonnull (g_file_peek_path (file));
  g_assert_true (g_str_has_suffix (g_file_peek_path (file), "io.github.quantscope.Quantscope.svg"));
}

static void
test_file_dialogs_start_beside_document (void)
{
  g_autofree char *path = sample_path ();
  g_autofree char *dir = g_path_get_dirname (path);
  QsWindow *window = qs_window_new (NULL);
  g_autoptr(GFile) home = _qs_window_start_folder (window);
  g_autoptr(GFile) beside = NULL;

  /* No document: home, not the working directory (the build tree here). */
  g_assert_cmpstr (g_file_peek_path (home), ==, g_get_home_dir ());
  gtk_window_destroy (GTK_WINDOW (window));
  window = qs_window_test_open (path);
  beside = _qs_window_start_folder (window);
  g_assert_cmpstr (g_file_peek_path (beside), ==, dir);
  qs_window_test_close (window);
}

static void
test_kl_below_4_bits_says_why (void)
{
  g_autofree char *path = sample_path ();
  QsWindow *window = qs_window_test_open (path);
  g_autofree char *before = label_text (window, QS_RESULT_SQNR);

  adw_combo_row_set_selected (ADW_COMBO_ROW (qs_window_test_scheme_row (window, "range-method")), QS_RANGE_KL);
  qs_window_test_edit_int (window, "bits", 3);
  wait_for_new_text (window, QS_RESULT_SQNR, before);
  spin_main_loop (200);
  qs_window_test_wait_for (qs_window_test_is_idle, window);
  /* No collapsed figure: the reason, in words. */
  g_assert_true (g_str_has_prefix (qs_window_test_result (window, QS_RESULT_SQNR), "KL divergence needs at least 4 bits"));
  g_assert_null (qs_histogram_view_get_report (window->histogram_view));

  /* At 4 bits KL is allowed and gives a figure again. */
  g_free (before);
  before = label_text (window, QS_RESULT_SQNR);
  qs_window_test_edit_int (window, "bits", 4);
  qs_window_test_wait_for (qs_window_test_has_report, window);
  g_assert_cmpint (qs_histogram_view_get_report (window->histogram_view)->scheme.range_method, ==, QS_RANGE_KL);
  qs_window_test_close (window);
}

/* ---- block formats -------------------------------------------------------- */

#define DENSE_KERNEL "/model_weights/dense/dense/kernel:0"

/* What `quantscope-cli stats` prints for @tensor of the sample: the CLI the
 * metadata scan runs (QS_SCAN_HELPER), run as a user runs it. */
static JsonNode *
cli_stats (const char *tensor,
           const char *format,
           const char *sweep_sizes)
{
  g_autofree char *model = sample_path ();
  const char *argv[] = {
    g_getenv ("QS_SCAN_HELPER"), "stats", model, "--tensor", tensor, "--format", format, "--json",
    sweep_sizes != NULL ? "--sweep-group-sizes" : NULL, sweep_sizes, NULL,
  };
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  int status;

  g_assert_nonnull (argv[0]);
  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out, NULL, &status, &error);
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  json_parser_load_from_data (parser, out, -1, &error);
  g_assert_no_error (error);
  return json_parser_steal_root (parser);
}

/* The window on the dense kernel, with the format chosen in its combo row. */
static QsWindow *
open_with_format (QsFormat format)
{
  g_autofree char *path = sample_path ();
  QsWindow *window = qs_window_test_open (path);
  g_autofree char *before = NULL;

  gtk_single_selection_set_selected (window->selection, listed_position (window, DENSE_KERNEL));
  qs_window_test_wait_for (qs_window_test_is_idle, window);
  before = label_text (window, QS_RESULT_SQNR);
  /* For the whole model, not just the selected tensor. */
  qs_scheme_panel_set_only_this_tensor (window->scheme_panel, FALSE);
  adw_combo_row_set_selected (ADW_COMBO_ROW (qs_window_test_scheme_row (window, "format")), format);
  if (format != QS_FORMAT_INT)
    wait_for_new_text (window, QS_RESULT_SQNR, before);
  return window;
}

static void
test_mxfp4_results_match_cli (void)
{
  QsWindow *window = open_with_format (QS_FORMAT_MXFP4);
  g_autoptr(JsonNode) root = cli_stats (DENSE_KERNEL, "mxfp4", NULL);
  JsonObject *stats = json_node_get_object (root);
  QsTensorReport *report = qs_histogram_view_get_report (window->histogram_view);
  g_autofree char *bits = g_strdup_printf ("%.3f", json_object_get_double_member (stats, "bits_per_weight"));
  g_autofree char *sqnr = qs_format_sqnr (json_object_get_double_member (stats, "sqnr_db"));
  g_autofree char *badge = g_strdup_printf ("mxfp4 · %s", sqnr);
  g_autoptr(QsTensorItem) item = g_list_model_get_item (G_LIST_MODEL (window->selection),
                                                        listed_position (window, DENSE_KERNEL));

  g_assert_cmpint (report->scheme.format, ==, QS_FORMAT_MXFP4);
  g_assert_cmpstr (qs_window_test_result (window, QS_RESULT_BITS_PER_WEIGHT), ==, bits);
  g_assert_cmpstr (qs_window_test_result (window, QS_RESULT_SQNR), ==, sqnr);
  g_assert_cmpstr (qs_tensor_item_get_badge (item), ==, badge);

  /* MX blocks are 32 long; bits and the range method do not apply, and
   * the row says why. */
  g_assert_cmpfloat (qs_window_test_shown_int (window, "group-size"), ==, 32.0);
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (qs_window_test_scheme_row (window, "group-size"))));
  g_assert_false (gtk_widget_get_sensitive (GTK_WIDGET (qs_window_test_scheme_row (window, "bits"))));
  g_assert_false (gtk_widget_get_sensitive (GTK_WIDGET (qs_window_test_scheme_row (window, "range-method"))));
  g_assert_cmpstr (gtk_widget_get_tooltip_text (GTK_WIDGET (qs_window_test_scheme_row (window, "bits"))), ==,
                   "Block formats fix their element type: this setting does not apply.");

  /* Every block has its own range: no single clip handle to drag. */
  g_assert_false (_qs_histogram_view_drag (window->histogram_view, TRUE,
                                           _qs_histogram_view_value_to_x (window->histogram_view,
                                                                          report->params.range_hi[0]),
                                           _qs_histogram_view_value_to_x (window->histogram_view, 0.0)));

  /* The model size counts every tensor's blocks as stats does, and the
   * biases and batch-norm parameters the default skip list keeps at 4
   * bytes a value, as export writes them. */
  {
    GListModel *tensors = qs_document_get_tensors (window->document);
    guint64 expected = 0, fp32_bytes, quant_bytes;

    for (guint i = 0; i < g_list_model_get_n_items (tensors); i++)
      {
        g_autoptr(QsTensorItem) tensor = g_list_model_get_item (tensors, i);
        const QsTensorInfo *info = qs_tensor_item_get_info (tensor);
        g_autoptr(JsonNode) tensor_root = NULL;

        if (info->role == QS_TENSOR_ROLE_BIAS || info->role == QS_TENSOR_ROLE_BATCHNORM)
          {
            expected += 4 * info->count;
            continue;
          }
        tensor_root = cli_stats (info->path, "mxfp4", NULL);
        expected += (guint64) json_object_get_int_member (json_node_get_object (tensor_root), "size_quant_bytes");
      }
    qs_document_model_size (window->document, &fp32_bytes, &quant_bytes);
    g_assert_cmpuint (quant_bytes, ==, expected);
  }

  /* Back to integers: the rows apply again, with their own tooltips. */
  adw_combo_row_set_selected (ADW_COMBO_ROW (qs_window_test_scheme_row (window, "format")), QS_FORMAT_INT);
  g_assert_true (gtk_widget_get_sensitive (GTK_WIDGET (qs_window_test_scheme_row (window, "bits"))));
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (qs_window_test_scheme_row (window, "group-size"))));
  g_assert_cmpstr (gtk_widget_get_tooltip_text (GTK_WIDGET (qs_window_test_scheme_row (window, "bits"))), !=,
                   "Block formats fix their element type: this setting does not apply.");
  qs_window_test_close (window);
}

static void
test_int_groups_take_group_size (void)
{
  QsWindow *window = open_with_format (QS_FORMAT_INT);
  g_autofree char *before = NULL;
  QsTensorReport *report;

  /* A percentile range does not fit groups: choosing them resets it. */
  adw_combo_row_set_selected (ADW_COMBO_ROW (qs_window_test_scheme_row (window, "range-method")), QS_RANGE_PERCENTILE);
  qs_window_test_wait_for (qs_window_test_is_idle, window);
  before = label_text (window, QS_RESULT_BITS_PER_WEIGHT);
  adw_combo_row_set_selected (ADW_COMBO_ROW (qs_window_test_scheme_row (window, "granularity")), QS_GRANULARITY_GROUP);
  qs_window_test_edit_int (window, "group-size", 64);
  wait_for_new_text (window, QS_RESULT_BITS_PER_WEIGHT, before);
  qs_window_test_wait_for (qs_window_test_is_idle, window);

  report = qs_histogram_view_get_report (window->histogram_view);
  g_assert_cmpint (report->scheme.granularity, ==, QS_GRANULARITY_GROUP);
  g_assert_cmpint (report->scheme.range_method, ==, QS_RANGE_MINMAX);
  g_assert_cmpuint (qs_scheme_block_size (&report->scheme), ==, 64);
  g_assert_nonnull (report->analysis.blocks);
  /* 8-bit codes plus a float32 scale and a zero point per 64 weights. */
  g_assert_cmpfloat (report->analysis.bits_per_weight, >, 8.0);
  qs_window_test_close (window);
}

static gboolean
block_sweep_done (QsWindow *window)
{
  gsize n;

  return qs_block_inspector_get_sweep (window->block_inspector, &n) != NULL;
}

static void
test_block_inspector_matches_cli (void)
{
  QsWindow *window = open_with_format (QS_FORMAT_MXFP4);
  g_autoptr(JsonNode) root = cli_stats (DENSE_KERNEL, "mxfp4", "16,32,64,128,256");
  JsonObject *stats = json_node_get_object (root);
  JsonObject *worst = json_array_get_object_element (
    json_object_get_array_member (json_object_get_object_member (stats, "blocks"), "worst"), 0);
  JsonArray *sweep = json_object_get_array_member (stats, "sweep");
  g_autofree char *title = g_strdup_printf ("Channel %" G_GINT64_FORMAT " · offset %" G_GINT64_FORMAT
                                            " · %" G_GINT64_FORMAT " weights",
                                            json_object_get_int_member (worst, "channel"),
                                            json_object_get_int_member (worst, "offset"),
                                            json_object_get_int_member (worst, "length"));
  g_autofree char *subtitle = g_strdup_printf ("MSE %.4g · max error %.4g",
                                               json_object_get_double_member (worst, "mse"),
                                               json_object_get_double_member (worst, "max_abs_error"));
  g_autofree char *dir = g_dir_make_tmp ("quantscope-test-XXXXXX", NULL);
  g_autofree char *png = g_build_filename (dir, "sweep.png", NULL);
  g_autofree char *svg = g_build_filename (dir, "scales.svg", NULL);
  g_autoptr(GError) error = NULL;
  const QsBlockSweepPoint *points;
  QsBlockInspector *inspector;
  GtkWidget *first;
  cairo_surface_t *image;
  gsize n;

  gtk_widget_activate_action (GTK_WIDGET (window), "win.block-inspector", NULL);
  inspector = window->block_inspector;
  g_assert_nonnull (inspector);
  first = gtk_widget_get_first_child (GTK_WIDGET (qs_block_inspector_get_worst_list (inspector)));
  g_assert_true (ADW_IS_ACTION_ROW (first));
  g_assert_cmpstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (first)), ==, title);
  g_assert_cmpstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (first)), ==, subtitle);

  /* The sweep, computed in the background, is the CLI's. */
  qs_window_test_wait_for (block_sweep_done, window);
  points = qs_block_inspector_get_sweep (inspector, &n);
  g_assert_cmpuint (n, ==, json_array_get_length (sweep));
  for (guint i = 0; i < n; i++)
    {
      JsonObject *p = json_array_get_object_element (sweep, i);

      g_assert_cmpint (points[i].group_size, ==, json_object_get_int_member (p, "group_size"));
      g_assert_cmpfloat (points[i].bits_per_weight, ==, json_object_get_double_member (p, "bits_per_weight"));
      g_assert_cmpfloat_with_epsilon (points[i].sqnr_db, json_object_get_double_member (p, "sqnr_db"), 1e-9);
    }

  g_assert_true (qs_block_inspector_export (inspector, TRUE, png, 800, 500, &error));
  g_assert_no_error (error);
  image = cairo_image_surface_create_from_png (png);
  g_assert_cmpint (cairo_surface_status (image), ==, CAIRO_STATUS_SUCCESS);
  g_assert_cmpint (cairo_image_surface_get_width (image), ==, 800);
  cairo_surface_destroy (image);
  g_assert_true (qs_block_inspector_export (inspector, FALSE, svg, 800, 500, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_test (svg, G_FILE_TEST_IS_REGULAR));
  g_unlink (png);
  g_unlink (svg);
  g_rmdir (dir);

  /* A scheme with one scale has no blocks: the inspector says so. */
  adw_combo_row_set_selected (ADW_COMBO_ROW (qs_window_test_scheme_row (window, "format")), QS_FORMAT_INT);
  qs_window_test_wait_for (qs_window_test_is_idle, window);
  g_assert_null (qs_block_inspector_get_sweep (inspector, &n));
  qs_window_test_close (window);
}

/* ---- scheme sets: overrides, undo, the skip list, per file ---------------- */

#define CONV1_KERNEL "/model_weights/conv2d_1/conv2d_1/kernel:0"
#define CONV1_BIAS "/model_weights/conv2d_1/conv2d_1/bias:0"

/* Dragging a handle and changing bits with a tensor selected give that
 * tensor an override and leave every other tensor's scheme alone; the
 * whole drag is one undo step; Ctrl+Z and Ctrl+Shift+Z walk the history
 * and the controls follow. */
static void
test_drag_makes_override_and_undoes (void)
{
  g_autofree char *path = sample_path ();
  QsWindow *window = qs_window_test_open (path);
  g_autofree char *clipped_before = label_text (window, QS_RESULT_CLIPPED);
  g_autofree char *size_before = NULL;
  QsTensorReport *report = qs_histogram_view_get_report (window->histogram_view);
  double hi = fmax (report->params.range_hi[0], 0.0);
  QsScheme scheme;

  g_assert_cmpstr (qs_window_get_selected_path (window), ==, CONV1_KERNEL);
  g_assert_true (qs_scheme_panel_get_only_this_tensor (window->scheme_panel));
  g_assert_false (qs_document_can_undo (window->document));

  /* Several motion steps of one drag. */
  g_assert_true (_qs_histogram_view_drag (window->histogram_view, TRUE,
                                         _qs_histogram_view_value_to_x (window->histogram_view, hi),
                                         _qs_histogram_view_value_to_x (window->histogram_view, hi / 2)));
  wait_for_new_text (window, QS_RESULT_CLIPPED, clipped_before);

  g_assert_true (qs_document_has_override (window->document, CONV1_KERNEL));
  g_assert_true (qs_document_get_scheme_for (window->document, CONV1_KERNEL, &scheme));
  g_assert_cmpint (scheme.range_method, ==, QS_RANGE_MANUAL);
  g_assert_cmpfloat_with_epsilon (scheme.manual_hi, hi / 2, hi * 0.05);
  /* The default and the other tensors keep min/max. */
  qs_document_get_default_scheme (window->document, &scheme);
  g_assert_cmpint (scheme.range_method, ==, QS_RANGE_MINMAX);
  g_assert_true (qs_document_get_scheme_for (window->document, DENSE_KERNEL, &scheme));
  g_assert_cmpint (scheme.range_method, ==, QS_RANGE_MINMAX);
  g_assert_false (qs_document_has_override (window->document, DENSE_KERNEL));
  /* The panel says whom a change affects. */
  g_assert_nonnull (strstr (qs_scheme_panel_get_applies_to (window->scheme_panel), "this tensor only"));

  /* Bits on top of the drag: a second step (clipping dominates the
   * error, so the size is what visibly changes). */
  size_before = label_text (window, QS_RESULT_TENSOR_SIZE);
  gtk_widget_activate_action (GTK_WIDGET (window), "win.bits-down", NULL);
  wait_for_new_text (window, QS_RESULT_TENSOR_SIZE, size_before);
  qs_document_get_scheme_for (window->document, CONV1_KERNEL, &scheme);
  g_assert_cmpint (scheme.bits, ==, 7);
  g_assert_cmpint (scheme.range_method, ==, QS_RANGE_MANUAL);

  /* Ctrl+Z: the bits, then the whole drag, each at once. */
  gtk_widget_activate_action (GTK_WIDGET (window), "win.undo", NULL);
  qs_document_get_scheme_for (window->document, CONV1_KERNEL, &scheme);
  g_assert_cmpint (scheme.bits, ==, 8);
  g_assert_cmpint (scheme.range_method, ==, QS_RANGE_MANUAL);
  g_assert_cmpfloat (qs_window_test_shown_int (window, "bits"), ==, 8.0);
  gtk_widget_activate_action (GTK_WIDGET (window), "win.undo", NULL);
  g_assert_false (qs_document_has_override (window->document, CONV1_KERNEL));
  g_assert_false (qs_document_can_undo (window->document));
  qs_scheme_panel_get_scheme (window->scheme_panel, &scheme);
  g_assert_cmpint (scheme.range_method, ==, QS_RANGE_MINMAX);
  g_assert_cmpuint (adw_combo_row_get_selected (ADW_COMBO_ROW (qs_window_test_scheme_row (window, "range-method"))), ==, QS_RANGE_MINMAX);
  qs_window_test_wait_for (qs_window_test_is_idle, window);
  report = qs_histogram_view_get_report (window->histogram_view);
  g_assert_cmpint (report->scheme.range_method, ==, QS_RANGE_MINMAX);
  g_assert_cmpuint (report->analysis.clipped_count, ==, 0);

  /* Ctrl+Shift+Z brings both back. */
  gtk_widget_activate_action (GTK_WIDGET (window), "win.redo", NULL);
  gtk_widget_activate_action (GTK_WIDGET (window), "win.redo", NULL);
  g_assert_false (qs_document_can_redo (window->document));
  qs_document_get_scheme_for (window->document, CONV1_KERNEL, &scheme);
  g_assert_cmpint (scheme.bits, ==, 7);
  g_assert_cmpint (scheme.range_method, ==, QS_RANGE_MANUAL);
  g_assert_cmpfloat (qs_window_test_shown_int (window, "bits"), ==, 7.0);

  /* "All tensors": the default changes, the tensor's own scheme stays. */
  qs_scheme_panel_set_only_this_tensor (window->scheme_panel, FALSE);
  g_assert_nonnull (strstr (qs_scheme_panel_get_applies_to (window->scheme_panel), "all tensors"));
  g_assert_cmpfloat (qs_window_test_shown_int (window, "bits"), ==, 8.0);
  gtk_widget_activate_action (GTK_WIDGET (window), "win.bits-down", NULL);
  qs_document_get_default_scheme (window->document, &scheme);
  g_assert_cmpint (scheme.bits, ==, 7);
  qs_document_get_scheme_for (window->document, DENSE_KERNEL, &scheme);
  g_assert_cmpint (scheme.bits, ==, 7);
  qs_document_get_scheme_for (window->document, CONV1_KERNEL, &scheme);
  g_assert_cmpint (scheme.range_method, ==, QS_RANGE_MANUAL);

  /* Reset is one more step, and undoable. */
  gtk_widget_activate_action (GTK_WIDGET (window), "win.reset-schemes", NULL);
  g_assert_false (qs_document_has_override (window->document, CONV1_KERNEL));
  qs_document_get_default_scheme (window->document, &scheme);
  g_assert_cmpint (scheme.bits, ==, 8);
  gtk_widget_activate_action (GTK_WIDGET (window), "win.undo", NULL);
  g_assert_true (qs_document_has_override (window->document, CONV1_KERNEL));
  qs_window_test_wait_for (qs_window_test_is_idle, window);
  qs_window_test_close (window);
}

/* Biases and batch-norm parameters: the skip list keeps them float32, the
 * sidebar says "float32" instead of bits (and exact, so worst-first lists
 * them last), and the model size counts them
 * at 4 bytes a value; a set without a skip list quantizes them. */
static void
test_skip_list_shown_and_counted (void)
{
  g_autofree char *path = sample_path ();
  QsWindow *window = qs_window_test_open (path);
  GListModel *tensors = qs_document_get_tensors (window->document);
  QsTensorItem *bias = qs_document_find_item (window->document, CONV1_BIAS);
  QsTensorItem *kernel = qs_document_find_item (window->document, CONV1_KERNEL);
  g_autoptr(QsSchemeSet) no_skip = NULL;
  guint64 expected = 0, fp32_bytes, quant_bytes;

  qs_window_test_wait_for (qs_window_test_is_idle, window);
  g_assert_true (qs_tensor_item_get_kept_float (bias));
  g_assert_cmpstr (qs_tensor_item_get_badge (bias), ==, "float32");
  g_assert_true (isinf (qs_tensor_item_get_sqnr (bias)) && qs_tensor_item_get_sqnr (bias) > 0);
  g_assert_false (qs_tensor_item_get_kept_float (kernel));

  /* The size, tensor by tensor: kernels as `stats` stores them, the rest
   * at 4 bytes a value. */
  for (guint i = 0; i < g_list_model_get_n_items (tensors); i++)
    {
      g_autoptr(QsTensorItem) item = g_list_model_get_item (tensors, i);
      const QsTensorInfo *info = qs_tensor_item_get_info (item);

      if (info->role == QS_TENSOR_ROLE_KERNEL || info->role == QS_TENSOR_ROLE_DEPTHWISE_KERNEL)
        {
          g_autoptr(JsonNode) stats = cli_stats (info->path, "int", NULL);
          expected += (guint64) json_object_get_int_member (json_node_get_object (stats), "size_quant_bytes");
        }
      else
        {
          g_assert_cmpstr (qs_tensor_item_get_badge (item), ==, "float32");
          expected += 4 * info->count;
        }
    }
  qs_document_model_size (window->document, &fp32_bytes, &quant_bytes);
  g_assert_cmpuint (quant_bytes, ==, expected);

  /* Selecting a kept tensor says so where the scheme is set. */
  g_assert_true (qs_window_select_path (window, CONV1_BIAS));
  g_assert_nonnull (strstr (qs_scheme_panel_get_applies_to (window->scheme_panel), "float32"));

  /* Without a skip list the bias is quantized: bits again, a smaller size. */
  no_skip = qs_scheme_set_with_skip (qs_document_get_schemes (window->document), NULL);
  _qs_window_apply_schemes (window, no_skip);
  g_assert_false (qs_tensor_item_get_kept_float (bias));
  g_assert_cmpstr (qs_tensor_item_get_badge (bias), !=, "float32");
  qs_document_model_size (window->document, &fp32_bytes, &quant_bytes);
  g_assert_cmpuint (quant_bytes, <, expected);
  gtk_widget_activate_action (GTK_WIDGET (window), "win.undo", NULL);
  g_assert_cmpstr (qs_tensor_item_get_badge (bias), ==, "float32");
  qs_window_test_wait_for (qs_window_test_is_idle, window);
  qs_window_test_close (window);
}

static gboolean
document_changed (QsWindow *window)
{
  return g_object_get_data (G_OBJECT (window), "test-old-document") != window->document;
}

/* Schemes belong to a file: the next file opens with the defaults and a
 * history of its own. */
static void
test_schemes_not_carried_across_files (void)
{
  g_autofree char *path = sample_path ();
  g_autofree char *other = g_build_filename (SOURCE_DATADIR, "models", "fashion-cnn.h5", NULL);
  g_autoptr(GFile) other_file = g_file_new_for_path (other);
  QsWindow *window = qs_window_test_open (path);
  QsScheme scheme;

  qs_scheme_panel_set_only_this_tensor (window->scheme_panel, FALSE);
  gtk_widget_activate_action (GTK_WIDGET (window), "win.bits-down", NULL);
  qs_document_get_default_scheme (window->document, &scheme);
  g_assert_cmpint (scheme.bits, ==, 7);

  g_object_set_data (G_OBJECT (window), "test-old-document", window->document);
  qs_window_open_file (window, other_file);
  qs_window_test_wait_for (document_changed, window);
  qs_document_get_default_scheme (window->document, &scheme);
  g_assert_cmpint (scheme.bits, ==, 8);
  g_assert_false (qs_document_can_undo (window->document));
  g_assert_cmpfloat (qs_window_test_shown_int (window, "bits"), ==, 8.0);
  qs_window_test_wait_for (qs_window_test_is_idle, window);
  qs_window_test_close (window);
}

/* The accuracy the app shows for a scheme file is `eval --scheme-file`'s:
 * the same resolver maps the set onto the engine's layers, and 0.0's
 * exactness in activations follows the set's default in both (here the
 * first layer's override says otherwise). */
static void
test_accuracy_equals_cli_for_scheme_file (void)
{
  g_autofree char *path = g_build_filename (SOURCE_DATADIR, "models", "fashion-cnn.h5", NULL);
  g_autofree char *dir = g_dir_make_tmp ("quantscope-test-XXXXXX", NULL);
  g_autofree char *scheme_path = g_build_filename (dir, "scheme.json", NULL);
  const char *json = "{\"version\": 1, \"default\": {\"bits\": 7},"
                     " \"overrides\": [{\"tensors\": \"/model_weights/conv2d/conv2d/kernel:0\", \"zero_nudge\": false},"
                     " {\"tensors\": \"role:depthwise_kernel\", \"format\": \"fp8-e4m3\"}]}";
  const char *argv[] = { g_getenv ("QS_SCAN_HELPER"), "eval", path, "--scheme-file", scheme_path, "--json", NULL };
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(QsSchemeSet) schemes = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *expected = NULL;
  QsWindow *window;
  JsonObject *eval;
  int status;

  g_assert_true (g_file_set_contents (scheme_path, json, -1, NULL));
  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out, NULL, &status, &error);
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  json_parser_load_from_data (parser, out, -1, &error);
  g_assert_no_error (error);
  eval = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpint (json_object_get_int_member (eval, "images"), ==, 10000);
  /* The label adds the difference: "91.24 % → 91.23 % (-0.01)". */
  expected = g_strdup_printf ("%.2f %% → %.2f %% (", json_object_get_int_member (eval, "fp32_correct") / 100.0,
                              json_object_get_int_member (eval, "quant_correct") / 100.0);

  window = qs_window_test_open (path);
  schemes = qs_scheme_set_load (scheme_path, &error);
  g_assert_no_error (error);
  _qs_window_apply_schemes (window, schemes);
  qs_window_test_wait_for (accuracy_final, window);
  if (!g_str_has_prefix (qs_window_test_result (window, QS_RESULT_ACCURACY), expected))
    g_error ("the app shows “%s”, eval “%s”", qs_window_test_result (window, QS_RESULT_ACCURACY), expected);
  g_unlink (scheme_path);
  g_rmdir (dir);
  qs_window_test_close (window);
}

/* Runs `quantscope-cli eval` with @argv (the program first) and parses its JSON (transfer full). */
static JsonParser *
run_eval (const char **argv)
{
  JsonParser *parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  int status;

  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out, NULL, &status, &error);
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  json_parser_load_from_data (parser, out, -1, &error);
  g_assert_no_error (error);
  return parser;
}

static gboolean
accuracy_on_900_images (QsWindow *window)
{
  return accuracy_says (window, "900 test images");
}

/* Data chosen for the model is split as `eval --data` splits it: its last
 * tenth calibrates and the rest is scored, so the app's accuracy is the
 * CLI's (it scored all 1,000 images and calibrated on its first ones). */
static void
test_chosen_data_split_as_cli (void)
{
  g_autofree char *path = g_build_filename (SOURCE_DATADIR, "models", "fashion-cnn.h5", NULL);
  g_autofree char *data = g_build_filename (SOURCE_DATADIR, "fashion-mnist", "calibration-images-idx3-ubyte.gz", NULL);
  const char *argv[] = { g_getenv ("QS_SCAN_HELPER"), "eval", path, "--data", data, "--json", NULL };
  g_autoptr(JsonParser) parser = run_eval (argv);
  JsonObject *eval = json_node_get_object (json_parser_get_root (parser));
  g_autofree char *expected = NULL;
  QsWindow *window;

  g_assert_cmpint (json_object_get_int_member (eval, "images"), ==, 900);
  g_assert_cmpint (json_object_get_int_member (eval, "calibration_images"), ==, 100);
  g_assert_false (json_object_get_boolean_member (eval, "calibration_overlaps_scored"));
  expected = g_strdup_printf ("%.2f %% → %.2f %% (", json_object_get_int_member (eval, "fp32_correct") / 9.0,
                              json_object_get_int_member (eval, "quant_correct") / 9.0);

  window = qs_window_test_open (path);
  qs_accuracy_job_set_data (window->accuracy, data);
  _qs_window_schedule_accuracy (window);
  qs_window_test_wait_for (accuracy_on_900_images, window);
  if (!g_str_has_prefix (qs_window_test_result (window, QS_RESULT_ACCURACY), expected))
    g_error ("the app shows “%s”, eval “%s”", qs_window_test_result (window, QS_RESULT_ACCURACY), expected);
  qs_window_test_close (window);
}

static GtkAdjustment *sidebar_adjustment;
static double sidebar_before;

static gboolean
sidebar_scrolled_down (QsWindow *window)
{
  return gtk_adjustment_get_value (sidebar_adjustment) > sidebar_before;
}

static gboolean
sidebar_scrolled_up (QsWindow *window)
{
  return gtk_adjustment_get_value (sidebar_adjustment) < sidebar_before;
}

/* A tensor chosen from elsewhere (the overview, a search window) is
 * scrolled into the sidebar, in a window too short to list them all. */
static void
test_sidebar_follows_selection (void)
{
  g_autofree char *path = sample_path ();
  g_autoptr(GFile) file = g_file_new_for_path (path);
  QsWindow *window = qs_window_new (NULL);
  GListModel *listed;
  g_autofree char *first = NULL, *last = NULL;
  guint n;

  gtk_window_set_default_size (GTK_WINDOW (window), 1000, 300);
  gtk_window_present (GTK_WINDOW (window));
  qs_window_open_file (window, file);
  qs_window_test_wait_for (qs_window_test_has_report, window);
  listed = G_LIST_MODEL (window->selection);
  n = g_list_model_get_n_items (listed);
  {
    g_autoptr(QsTensorItem) a = g_list_model_get_item (listed, 0);
    g_autoptr(QsTensorItem) b = g_list_model_get_item (listed, n - 1);

    first = g_strdup (qs_tensor_item_get_info (a)->path);
    last = g_strdup (qs_tensor_item_get_info (b)->path);
  }
  sidebar_adjustment = gtk_scrollable_get_vadjustment (GTK_SCROLLABLE (window->tensor_list));

  sidebar_before = gtk_adjustment_get_value (sidebar_adjustment);
  g_assert_true (qs_window_select_path (window, last));
  qs_window_test_wait_for (sidebar_scrolled_down, window);
  g_assert_cmpfloat (gtk_adjustment_get_value (sidebar_adjustment) + gtk_adjustment_get_page_size (sidebar_adjustment),
                     >=, gtk_adjustment_get_upper (sidebar_adjustment) * (n - 1) / n);

  sidebar_before = gtk_adjustment_get_value (sidebar_adjustment);
  g_assert_true (qs_window_select_path (window, first));
  qs_window_test_wait_for (sidebar_scrolled_up, window);
  g_assert_cmpfloat (gtk_adjustment_get_value (sidebar_adjustment), <=,
                     gtk_adjustment_get_upper (sidebar_adjustment) / n);
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
  g_test_add_func ("/window/accuracy-on-chosen-data", test_accuracy_on_chosen_data);
  g_test_add_func ("/window/chosen-data-split-as-cli", test_chosen_data_split_as_cli);
  g_test_add_func ("/window/save-refuses-the-open-model", test_save_refuses_the_open_model);
  g_test_add_func ("/window/plot-export-refuses-the-open-model", test_plot_export_refuses_the_open_model);
  g_test_add_func ("/window/histogram-renders-pixels", test_histogram_renders_pixels);
  g_test_add_func ("/window/bits-change-updates-metrics", test_bits_change_updates_metrics);
  g_test_add_func ("/window/drag-handle-sets-manual-range", test_drag_handle_sets_manual_range);
  g_test_add_func ("/window/per-channel-shows-channel-view", test_per_channel_shows_channel_view);
  g_test_add_func ("/window/weight-presets", test_weight_presets);
  g_test_add_func ("/window/channel-ranges-export", test_channel_ranges_export);
  g_test_add_func ("/window/damaged-file-keeps-document", test_damaged_file_keeps_document);
  g_test_add_func ("/window/reader-crash-keeps-document", test_reader_crash_keeps_document);
  g_test_add_func ("/window/crash-stand-in-is-active", test_crash_stand_in_is_active);
  g_test_add_func ("/window/value-crash-keeps-document", test_value_crash_keeps_document);
  g_test_add_func ("/window/export-writes-readable-file", test_export_writes_readable_file);
  g_test_add_func ("/window/accuracy-of-demo-model", test_accuracy_of_demo_model);
  g_test_add_func ("/window/filter-filters-tensors", test_filter_filters_tensors);
  g_test_add_func ("/window/sidebar-natural-order", test_sidebar_natural_order);
  g_test_add_func ("/window/sidebar-sorts-by-sqnr", test_sidebar_sorts_by_sqnr);
  g_test_add_func ("/window/shortcuts-window-matches-accels", test_shortcuts_window_matches_accels);
  g_test_add_func ("/window/damaged-file-says-what-is-wrong", test_damaged_file_says_what_is_wrong);
  g_test_add_func ("/window/recent-label-keeps-underscores", test_recent_label_keeps_underscores);
  g_test_add_func ("/window/load-scheme-file", test_load_scheme_file);
  g_test_add_func ("/window/written-files-follow-umask", test_written_files_follow_umask);
  g_test_add_func ("/window/symmetric-drag-agrees-with-results", test_symmetric_drag_agrees_with_results);
  g_test_add_func ("/window/accuracy-dimmed-while-updating", test_accuracy_dimmed_while_updating);
  g_test_add_func ("/window/keyboard-reaches-everything-once", test_keyboard_reaches_everything_once);
  g_test_add_func ("/window/application-icon-resolves", test_application_icon_resolves);
  g_test_add_func ("/window/file-dialogs-start-beside-document", test_file_dialogs_start_beside_document);
  g_test_add_func ("/window/kl-below-4-bits-says-why", test_kl_below_4_bits_says_why);
  g_test_add_func ("/window/mxfp4-results-match-cli", test_mxfp4_results_match_cli);
  g_test_add_func ("/window/int-groups-take-group-size", test_int_groups_take_group_size);
  g_test_add_func ("/window/block-inspector-matches-cli", test_block_inspector_matches_cli);
  g_test_add_func ("/window/drag-makes-override-and-undoes", test_drag_makes_override_and_undoes);
  g_test_add_func ("/window/skip-list-shown-and-counted", test_skip_list_shown_and_counted);
  g_test_add_func ("/window/schemes-not-carried-across-files", test_schemes_not_carried_across_files);
  g_test_add_func ("/window/accuracy-equals-cli-for-scheme-file", test_accuracy_equals_cli_for_scheme_file);
  g_test_add_func ("/window/sidebar-follows-selection", test_sidebar_follows_selection);
  return g_test_run ();
}
