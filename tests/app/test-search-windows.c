/* test-search-windows.c: the sensitivity window ranks and opens layers; the mixed-precision window applies the search's choice.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "app/qs-chart.h"
#include "app/qs-mixed-window.h"
#include "app/qs-score-work.h"
#include "app/qs-sensitivity-window.h"
#include "model/qs-mixed-precision.h"
#include "model/qs-dataset.h"
#include "model/qs-keras-model.h"
#include "model/qs-scheme-file.h"
#include "model/qs-sensitivity.h"
#include "qs-window-test-utils.h"

#define IMAGES 300

static void
wait_finished (QsSensitivityWindow *sensitivity)
{
  gint64 deadline = g_get_monotonic_time () + QS_WINDOW_TEST_TIMEOUT_USEC;

  while (!qs_sensitivity_window_is_finished (sensitivity))
    {
      g_main_context_iteration (NULL, TRUE);
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
    }
}

/* The same measurement through the core, as `sensitivity` runs it. */
static QsSensitivity *
measure_directly (QsWindow *window)
{
  QsDocument *document = qs_window_get_document (window);
  QsSchemeSet *schemes = qs_document_get_schemes (document);
  g_autoptr(GError) error = NULL;
  g_autoptr(QsDataset) test = qs_dataset_load_bundled_test (&error);
  g_autoptr(QsDataset) calibration = qs_dataset_load_bundled_calibration (&error);
  g_autoptr(QsScoreSession) session = NULL;
  QsEngineModel *model = qs_keras_model_load (qs_document_get_file (document), &error);
  QsScoreInput input = { 0 };
  QsSensitivity *result;

  g_assert_no_error (error);
  input.file = qs_document_get_file (document);
  input.model = model;
  input.calibration = qs_dataset_get_view (calibration);
  input.calibration_count = 1000;
  input.data = qs_dataset_get_view (test);
  input.count = IMAGES;
  qs_activation_scheme_init_default (&input.activations);
  session = qs_score_session_new (&input, schemes, &error);
  g_assert_no_error (error);
  result = qs_sensitivity_compute (session, schemes, 0, 0, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_clear_pointer (&session, qs_score_session_free);
  qs_engine_model_free (model);
  return result;
}

static void
test_ranks_layers_and_opens_clicked (void)
{
  g_autofree char *path = g_build_filename (SOURCE_DATADIR, "models", "fashion-cnn.h5", NULL);
  QsWindow *window = qs_window_test_open (path);
  QsSensitivityWindow *sensitivity = qs_sensitivity_window_new (window, IMAGES);
  g_autoptr(QsSensitivity) expected = measure_directly (window);
  double worst = -1;
  guint n;

  gtk_window_present (GTK_WINDOW (sensitivity));
  wait_finished (sensitivity);
  n = qs_sensitivity_window_get_n_bars (sensitivity);
  g_assert_cmpuint (n, ==, expected->layers->len);
  g_assert_cmpuint (n, ==, 6);

  /* Every layer has one bar, and the first bar loses the most. */
  for (guint i = 0; i < expected->layers->len; i++)
    {
      const QsLayerSensitivity *l = &g_array_index (expected->layers, QsLayerSensitivity, i);
      gboolean shown = FALSE;

      worst = MAX (worst, expected->fp32_top1 - l->alone_top1);
      for (guint b = 0; b < n; b++)
        shown |= g_str_equal (qs_sensitivity_window_get_bar_tensor (sensitivity, b), l->tensor);
      g_assert_true (shown);
    }
  for (guint i = 0; i < expected->layers->len; i++)
    {
      const QsLayerSensitivity *l = &g_array_index (expected->layers, QsLayerSensitivity, i);

      if (g_str_equal (l->tensor, qs_sensitivity_window_get_bar_tensor (sensitivity, 0)))
        g_assert_cmpfloat (expected->fp32_top1 - l->alone_top1, ==, worst);
    }

  /* A window reopened on the same set is answered from the job
   * service's cache, before it returns, with the same ranking. */
  g_assert_false (qs_sensitivity_window_is_cached (sensitivity));
  {
    QsSensitivityWindow *again = qs_sensitivity_window_new (window, IMAGES);

    g_assert_true (qs_sensitivity_window_is_finished (again));
    g_assert_true (qs_sensitivity_window_is_cached (again));
    g_assert_cmpuint (qs_sensitivity_window_get_n_bars (again), ==, n);
    for (guint b = 0; b < n; b++)
      g_assert_cmpstr (qs_sensitivity_window_get_bar_tensor (again, b), ==,
                       qs_sensitivity_window_get_bar_tensor (sensitivity, b));
    gtk_window_destroy (GTK_WINDOW (again));
  }

  /* Clicking a bar shows its layer's tensor in the main window. */
  for (guint b = 0; b < n; b++)
    {
      qs_sensitivity_window_activate_bar (sensitivity, b);
      g_assert_cmpstr (qs_window_get_selected_path (window), ==,
                       qs_sensitivity_window_get_bar_tensor (sensitivity, b));
    }
  gtk_window_destroy (GTK_WINDOW (sensitivity));
  qs_window_test_close (window);
}

static void
test_closing_cancels (void)
{
  g_autofree char *path = g_build_filename (SOURCE_DATADIR, "models", "fashion-cnn.h5", NULL);
  QsWindow *window = qs_window_test_open (path);
  /* The whole test set: far longer than the test waits, unless cancelled. */
  QsSensitivityWindow *sensitivity = g_object_ref (qs_sensitivity_window_new (window, 0));
  gint64 start = g_get_monotonic_time ();

  gtk_window_present (GTK_WINDOW (sensitivity));
  gtk_window_close (GTK_WINDOW (sensitivity));
  wait_finished (sensitivity);
  g_assert_cmpuint (qs_sensitivity_window_get_n_bars (sensitivity), ==, 0);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 20 * G_USEC_PER_SEC);
  g_object_unref (sensitivity);
  qs_window_test_close (window);
}

static void
wake_cb (gpointer user_data)
{
}

/* With QS_SCREENSHOT_DIR set, @widget as drawn, to look at (not compared). */
static void
save_screenshot (GtkWidget  *widget,
                 const char *name)
{
  const char *dir = g_getenv ("QS_SCREENSHOT_DIR");
  int width = gtk_widget_get_width (widget), height = gtk_widget_get_height (widget);
  g_autoptr(GdkPaintable) paintable = NULL;
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  g_autofree char *path = NULL;
  GtkSnapshot *snapshot;

  if (dir == NULL || width <= 0 || height <= 0)
    return;
  paintable = gtk_widget_paintable_new (widget);
  /* The paintable replays the widget's last frame: wait for one. */
  for (int i = 0; i < 100 && node == NULL; i++)
    {
      gtk_widget_queue_draw (widget);
      g_timeout_add_once (20, wake_cb, NULL);
      g_main_context_iteration (NULL, TRUE);
      snapshot = gtk_snapshot_new ();
      gdk_paintable_snapshot (paintable, snapshot, width, height);
      node = gtk_snapshot_free_to_node (snapshot);
    }
  g_assert_nonnull (node);
  texture = qs_chart_render_node (node, width, height);
  path = g_build_filename (dir, name, NULL);
  g_assert_true (gdk_texture_save_to_png (texture, path));
  g_test_message ("wrote %s", path);
}

static void
test_mixed_applies_search_choice (void)
{
  g_autofree char *path = g_build_filename (SOURCE_DATADIR, "models", "fashion-cnn.h5", NULL);
  QsWindow *window = qs_window_test_open (path);
  QsDocument *document = qs_window_get_document (window);
  g_autoptr(QsSchemeSet) start = qs_scheme_set_ref (qs_document_get_schemes (document));
  QsMixedWindow *mixed = qs_mixed_window_new (window, IMAGES);
  const QsPrecision candidates[] = { { QS_FORMAT_INT, 4 }, { QS_FORMAT_INT, 8 } };
  g_autoptr(QsMixedSearch) search = NULL;
  g_autoptr(QsSchemeSet) expected = NULL;
  g_autoptr(GError) error = NULL;
  const QsMixedPoint *best;
  QsScoreWork score = { 0 };
  gint64 deadline = g_get_monotonic_time () + QS_WINDOW_TEST_TIMEOUT_USEC;

  gtk_window_present (GTK_WINDOW (mixed));
  g_assert_false (qs_mixed_window_start (mixed, 1, "4,x"));
  g_assert_true (qs_mixed_window_start (mixed, 1, "4,8"));
  while (!qs_mixed_window_is_finished (mixed))
    {
      g_main_context_iteration (NULL, TRUE);
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
    }
  g_assert_cmpuint (qs_mixed_window_get_n_points (mixed), >, 0);
  g_assert_cmpint (qs_mixed_window_get_chosen (mixed), >=, 0);
  save_screenshot (adw_window_get_content (ADW_WINDOW (mixed)), "mixed.png");

  /* The same search through the core, from the document's schemes. */
  g_assert_true (qs_score_work_open (&score, qs_document_get_file (document), start, NULL, IMAGES, NULL, &error));
  g_assert_no_error (error);
  search = qs_mixed_search_new (score.session, start, candidates, 2, &error);
  g_assert_no_error (error);
  best = qs_mixed_search_run (search, 1, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (best);
  g_assert_cmpuint (qs_mixed_window_get_n_points (mixed), ==, qs_mixed_search_get_points (search)->len);
  expected = qs_mixed_search_make_set (search, best->choice);

  /* The details name each layer's choice and mark those that differ
   * from the current set with its precision. */
  qs_mixed_window_select_point (mixed, (guint) qs_mixed_window_get_chosen (mixed));
  {
    g_autofree char *details = qs_mixed_window_describe_point (mixed, (guint) qs_mixed_window_get_chosen (mixed));
    guint differing = 0;

    for (guint i = 0; i < qs_mixed_search_get_n_layers (search); i++)
      {
        const char *name = qs_mixed_search_get_layer_name (search, i);
        const QsTensorInfo *info = qs_weight_file_lookup (qs_document_get_file (document),
                                                          qs_mixed_search_get_layer_tensor (search, i));
        int chosen = qs_mixed_search_get_candidate (search, best->choice[i])->bits;
        g_autofree char *line = NULL;
        QsScheme now;

        g_assert_true (qs_scheme_set_resolve_tensor (start, info, &now));
        g_assert_cmpint (now.format, ==, QS_FORMAT_INT);
        line = chosen != now.bits ? g_strdup_printf ("%s: %d (now %d)", name, chosen, now.bits)
                                  : g_strdup_printf ("%s: %d", name, chosen);
        g_assert_nonnull (strstr (details, line));
        differing += chosen != now.bits;
      }
    g_assert_cmpuint (differing, >, 0);
  }

  /* Save as Scheme File writes that set, and it reads back equal. */
  {
    g_autofree char *dir = g_dir_make_tmp ("qs-mixed-XXXXXX", &error);
    g_autofree char *saved = g_build_filename (dir, "mixed.json", NULL);
    g_autoptr(QsSchemeSet) loaded = NULL;

    g_assert_no_error (error);
    g_assert_true (qs_mixed_window_save (mixed, saved, &error));
    g_assert_no_error (error);
    loaded = qs_scheme_set_load (saved, &error);
    g_assert_no_error (error);
    g_assert_true (qs_scheme_set_equal (loaded, expected));
    g_remove (saved);
    g_rmdir (dir);
  }

  /* Apply makes it the document's set, one undoable step; the details now
   * differ from nothing. */
  qs_mixed_window_apply (mixed);
  g_assert_true (qs_scheme_set_equal (qs_document_get_schemes (document), expected));
  g_assert_false (qs_scheme_set_equal (qs_document_get_schemes (document), start));
  g_assert_true (qs_document_can_undo (document));
  {
    g_autofree char *details = qs_mixed_window_describe_point (mixed, (guint) qs_mixed_window_get_chosen (mixed));

    g_assert_null (strstr (details, "(now"));
  }

  /* The same search from the same set again is answered from the cache. */
  g_assert_false (qs_mixed_window_is_cached (mixed));
  qs_document_undo (document);
  g_assert_true (qs_scheme_set_equal (qs_document_get_schemes (document), start));
  g_assert_true (qs_mixed_window_start (mixed, 1, "4, 8"));
  g_assert_true (qs_mixed_window_is_finished (mixed));
  g_assert_true (qs_mixed_window_is_cached (mixed));
  g_assert_cmpuint (qs_mixed_window_get_n_points (mixed), ==, qs_mixed_search_get_points (search)->len);

  g_clear_pointer (&search, qs_mixed_search_free);
  qs_score_work_clear (&score);
  gtk_window_destroy (GTK_WINDOW (mixed));
  qs_window_test_close (window);
}

static gboolean
estimate_shown (QsSensitivityWindow *sensitivity)
{
  return qs_sensitivity_window_is_finished (sensitivity)
         || g_str_has_prefix (qs_sensitivity_window_get_status (sensitivity), "Estimate on the first ");
}

/* Stop ends the measurement and keeps what is shown: before any image,
 * the weight-SQNR ranking; after the estimate, the estimate, saying on
 * how many images. Nothing arrives afterwards. */
static void
test_stop_keeps_estimate (void)
{
  g_autofree char *path = g_build_filename (SOURCE_DATADIR, "models", "fashion-cnn.h5", NULL);
  QsWindow *window = qs_window_test_open (path);
  QsSensitivityWindow *sensitivity = qs_sensitivity_window_new (window, 0);
  g_autofree char *expected = NULL;
  gint64 until;
  guint images;

  gtk_window_present (GTK_WINDOW (sensitivity));
  g_assert_false (qs_sensitivity_window_is_finished (sensitivity));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (sensitivity), "sensitivity.stop", NULL));
  g_assert_true (qs_sensitivity_window_is_finished (sensitivity));
  g_assert_cmpstr (qs_sensitivity_window_get_status (sensitivity), ==,
                   "Stopped before any image ran. The bars rank the layers by weight SQNR.");
  until = g_get_monotonic_time () + G_USEC_PER_SEC;
  while (g_get_monotonic_time () < until)
    g_main_context_iteration (NULL, FALSE);
  g_assert_cmpstr (qs_sensitivity_window_get_status (sensitivity), ==,
                   "Stopped before any image ran. The bars rank the layers by weight SQNR.");
  gtk_window_destroy (GTK_WINDOW (sensitivity));

  /* Again, stopped once the estimate shows (a new window: the same set
   * would otherwise be answered from the cache, but nothing finished). */
  sensitivity = qs_sensitivity_window_new (window, 0);
  gtk_window_present (GTK_WINDOW (sensitivity));
  while (!estimate_shown (sensitivity))
    g_main_context_iteration (NULL, TRUE);
  if (qs_sensitivity_window_is_finished (sensitivity))
    g_test_message ("the whole set was measured before an estimate showed");
  else
    {
      g_assert_cmpint (sscanf (qs_sensitivity_window_get_status (sensitivity), "Estimate on the first %u images",
                               &images), ==, 1);
      g_assert_cmpuint (qs_sensitivity_window_get_n_bars (sensitivity), ==, 6);
      g_assert_true (gtk_widget_activate_action (GTK_WIDGET (sensitivity), "sensitivity.stop", NULL));
      expected = g_strdup_printf ("Stopped. The bars are the estimate on the first %u images; "
                                  "click a bar to show its layer.", images);
      g_assert_cmpstr (qs_sensitivity_window_get_status (sensitivity), ==, expected);
      g_assert_true (qs_sensitivity_window_is_finished (sensitivity));
      g_assert_cmpuint (qs_sensitivity_window_get_n_bars (sensitivity), ==, 6);
    }
  gtk_window_destroy (GTK_WINDOW (sensitivity));
  qs_window_test_close (window);
}

/* Whether @widget is the button labelled @label (mnemonic underscores dropped). */
static gboolean
is_button_labelled (GtkWidget     *widget,
                    gconstpointer  label)
{
  g_autofree char *plain = NULL;
  char *out;

  if (!GTK_IS_BUTTON (widget) || gtk_button_get_label (GTK_BUTTON (widget)) == NULL)
    return FALSE;
  plain = g_strdup (gtk_button_get_label (GTK_BUTTON (widget)));
  out = plain;
  for (const char *in = plain; *in != '\0'; in++)
    if (*in != '_')
      *out++ = *in;
  *out = '\0';
  return g_str_equal (plain, label);
}

/* Search, pressed as the user does, searches the candidates typed and
 * leaves them in the entry (it emptied the entry, so a second Search
 * said the list was empty). */
static void
test_mixed_search_button_keeps_candidates (void)
{
  g_autofree char *path = g_build_filename (SOURCE_DATADIR, "models", "fashion-cnn.h5", NULL);
  QsWindow *window = qs_window_test_open (path);
  QsMixedWindow *mixed = qs_mixed_window_new (window, IMAGES);
  GtkWidget *entry = qs_test_find_descendant (GTK_WIDGET (mixed), GTK_TYPE_ENTRY);
  GtkWidget *search = qs_test_find_widget (GTK_WIDGET (mixed), is_button_labelled, "Search");
  gint64 deadline = g_get_monotonic_time () + QS_WINDOW_TEST_TIMEOUT_USEC;

  g_assert_nonnull (entry);
  g_assert_nonnull (search);
  gtk_window_present (GTK_WINDOW (mixed));
  gtk_editable_set_text (GTK_EDITABLE (entry), "4,8");
  g_signal_emit_by_name (search, "clicked");
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (entry)), ==, "4,8");
  g_assert_false (qs_mixed_window_is_finished (mixed));
  while (!qs_mixed_window_is_finished (mixed))
    {
      g_main_context_iteration (NULL, TRUE);
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
    }
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (entry)), ==, "4,8");
  g_assert_cmpuint (qs_mixed_window_get_n_points (mixed), >, 0);
  gtk_window_destroy (GTK_WINDOW (mixed));
  qs_window_test_close (window);
}

/* Stop ends a running search: the bar and the button go, the status
 * says so, and nothing arrives afterwards. */
static void
test_mixed_stop (void)
{
  g_autofree char *path = g_build_filename (SOURCE_DATADIR, "models", "fashion-cnn.h5", NULL);
  QsWindow *window = qs_window_test_open (path);
  QsMixedWindow *mixed = qs_mixed_window_new (window, 0);
  const char *stopped = "Stopped. Search again to choose precisions.";
  gint64 until;

  gtk_window_present (GTK_WINDOW (mixed));
  g_assert_true (qs_mixed_window_start (mixed, 1, "2,4,6,8"));
  g_assert_false (qs_mixed_window_is_finished (mixed));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (mixed), "mixed.stop", NULL));
  g_assert_true (qs_mixed_window_is_finished (mixed));
  g_assert_cmpstr (qs_mixed_window_get_status (mixed), ==, stopped);
  until = g_get_monotonic_time () + G_USEC_PER_SEC;
  while (g_get_monotonic_time () < until)
    g_main_context_iteration (NULL, FALSE);
  g_assert_cmpstr (qs_mixed_window_get_status (mixed), ==, stopped);
  g_assert_cmpuint (qs_mixed_window_get_n_points (mixed), ==, 0);
  gtk_window_destroy (GTK_WINDOW (mixed));
  qs_window_test_close (window);
}

int
main (int argc, char **argv)
{
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  g_test_add_func ("/sensitivity-window/ranks-layers-and-opens-clicked", test_ranks_layers_and_opens_clicked);
  g_test_add_func ("/sensitivity-window/closing-cancels", test_closing_cancels);
  g_test_add_func ("/sensitivity-window/stop-keeps-estimate", test_stop_keeps_estimate);
  g_test_add_func ("/mixed-window/applies-search-choice", test_mixed_applies_search_choice);
  g_test_add_func ("/mixed-window/search-button-keeps-candidates", test_mixed_search_button_keeps_candidates);
  g_test_add_func ("/mixed-window/stop", test_mixed_stop);
  return g_test_run ();
}
