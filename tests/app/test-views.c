/* test-views.c: the compare and overview windows show exactly the CLI's numbers, sort, and open tensors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gstdio.h>

#include "app/qs-compare-view.h"
#include "app/qs-mixed-window.h"
#include "app/qs-overview-view.h"
#include "app/qs-sensitivity-window.h"
#include "app/qs-window-private.h"
#include "model/qs-format-text.h"
#include "model/qs-scheme-file.h"
#include "qs-window-test-utils.h"

#define DEPTHWISE "/model_weights/depthwise_conv2d/depthwise_conv2d/depthwise_kernel:0"

static char *
model_path (void)
{
  return g_build_filename (SOURCE_DATADIR, "models", "fashion-cnn.h5", NULL);
}

/* Runs the CLI with @args after the program and parses its JSON output. */
static JsonNode *
run_cli_json (const char * const *args)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  int status;

  g_ptr_array_add (argv, (gpointer) g_getenv ("QS_SCAN_HELPER"));
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out, NULL,
                &status, &error);
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  json_parser_load_from_data (parser, out, -1, &error);
  g_assert_no_error (error);
  return json_node_copy (json_parser_get_root (parser));
}

static void
assert_json_equal (JsonNode   *expected,
                   JsonNode   *actual,
                   const char *what)
{
  if (!json_node_equal (expected, actual))
    {
      g_autofree char *e = json_to_string (expected, TRUE);
      g_autofree char *a = json_to_string (actual, TRUE);

      g_error ("%s differs from the CLI's:\nCLI: %s\napp: %s", what, e, a);
    }
}

static QsCompareView *compare_view;

static gboolean
compare_complete (QsWindow *window)
{
  return qs_compare_view_is_complete (compare_view);
}

/* One tensor's A and B metrics are `compare --json`'s (which equal
 * `stats`'s), for an int8 set against a 4-bit per-channel set whose
 * depthwise kernels are fp8; the model's A and B accuracy and size too. */
static void
test_compare_files_match_cli (void)
{
  g_autofree char *path = model_path ();
  g_autofree char *dir = g_dir_make_tmp ("quantscope-test-XXXXXX", NULL);
  g_autofree char *a_path = g_build_filename (dir, "a.json", NULL);
  g_autofree char *b_path = g_build_filename (dir, "b.json", NULL);
  const char *args[] = { "compare", path, "--scheme-a", a_path, "--scheme-b", b_path, "--json", NULL };
  g_autoptr(JsonNode) root = NULL;
  JsonObject *cli;
  JsonArray *tensors;
  JsonObject *tensor = NULL;
  QsWindow *window;

  g_assert_true (g_file_set_contents (a_path, "{\"version\": 1, \"default\": {\"bits\": 8}}", -1, NULL));
  g_assert_true (g_file_set_contents (b_path, "{\"version\": 1, \"default\": {\"bits\": 4, \"granularity\": \"channel\"},"
                                      " \"overrides\": [{\"tensors\": \"role:depthwise_kernel\", \"format\": \"fp8-e4m3\"}]}",
                                      -1, NULL));
  root = run_cli_json (args);
  cli = json_node_get_object (root);
  tensors = json_object_get_array_member (cli, "tensors");
  for (guint i = 0; i < json_array_get_length (tensors); i++)
    if (g_str_equal (json_object_get_string_member (json_array_get_object_element (tensors, i), "tensor"), DEPTHWISE))
      tensor = json_array_get_object_element (tensors, i);
  g_assert_nonnull (tensor);

  window = qs_window_test_open (path);
  g_assert_true (qs_window_select_path (window, DEPTHWISE));
  _qs_window_compare_files (window, a_path, b_path);
  compare_view = g_object_get_data (G_OBJECT (window), "qs-compare-view");
  g_assert_nonnull (compare_view);
  qs_window_test_wait_for (compare_complete, window);

  for (int s = 0; s < 2; s++)
    {
      const char *name = s == 0 ? "a" : "b";
      QsTensorReport *report = qs_compare_view_get_report (compare_view, (QsCompareSide) s);
      g_autoptr(JsonNode) json = qs_tensor_report_to_json (report);
      JsonObject *side = json_object_get_object_member (cli, name);
      const QsAccuracyResult *accuracy = qs_compare_view_get_accuracy (compare_view, (QsCompareSide) s);
      g_autofree char *size = qs_format_size ((guint64) json_object_get_int_member (side, "size_bytes"));
      g_autofree char *accuracy_text = g_strdup_printf ("%.2f %%", 100.0 * json_object_get_double_member (side, "quant_top1"));
      g_autofree char *sqnr = NULL;

      assert_json_equal (json_object_get_member (tensor, name), json, name);
      sqnr = qs_format_sqnr (report->analysis.sqnr_db);
      g_assert_cmpstr (qs_compare_view_get_cell (compare_view, QS_COMPARE_ROW_SQNR, (QsCompareColumn) s), ==, sqnr);
      /* The same evaluation, to the image. */
      g_assert_cmpuint (accuracy->images, ==, json_object_get_int_member (cli, "images"));
      g_assert_cmpfloat_with_epsilon (accuracy->quant_top1, 100.0 * json_object_get_double_member (side, "quant_top1"), 1e-9);
      g_assert_cmpfloat_with_epsilon (accuracy->fp32_top1, 100.0 * json_object_get_double_member (side, "fp32_top1"), 1e-9);
      g_assert_cmpstr (qs_compare_view_get_cell (compare_view, QS_COMPARE_ROW_ACCURACY, (QsCompareColumn) s), ==,
                       accuracy_text);
      g_assert_cmpstr (qs_compare_view_get_cell (compare_view, QS_COMPARE_ROW_MODEL_SIZE, (QsCompareColumn) s), ==, size);
    }
  /* fp8 against int8 on the depthwise kernel: the reconstructions differ. */
  g_assert_cmpint (qs_compare_view_get_report (compare_view, QS_COMPARE_SIDE_B)->scheme.format, ==, QS_FORMAT_FP8_E4M3);
  /* The better one is the one with the higher SQNR and the smaller model. */
  g_assert_cmpstr (qs_compare_view_get_cell (compare_view, QS_COMPARE_ROW_SQNR, QS_COMPARE_COLUMN_BETTER), ==,
                   qs_compare_view_get_report (compare_view, QS_COMPARE_SIDE_A)->analysis.sqnr_db
                   > qs_compare_view_get_report (compare_view, QS_COMPARE_SIDE_B)->analysis.sqnr_db ? "A" : "B");
  g_assert_cmpstr (qs_compare_view_get_cell (compare_view, QS_COMPARE_ROW_MODEL_SIZE, QS_COMPARE_COLUMN_BETTER), ==, "B");
  /* Weights, reconstructed A and B in the chart. */
  g_assert_cmpuint (qs_series_chart_get_n_series (qs_compare_view_get_chart (compare_view)), ==, 3);
  /* The y axis follows the weights: a reconstruction's spikes higher than
   * 1.25 times their highest bin are cut at the top, and its legend says so. */
  {
    QsSeriesChart *chart = qs_compare_view_get_chart (compare_view);
    double limit = 1.25 * qs_chart_series_get_max (qs_series_chart_get_series (chart, 0));
    double lo, hi;

    for (guint i = 1; i < 3; i++)
      g_assert_cmpint (g_str_has_suffix (qs_series_chart_get_label (chart, i), "(▲ cut at top)"), ==,
                       qs_chart_series_get_max (qs_series_chart_get_series (chart, i)) > limit);
    gtk_widget_queue_allocate (GTK_WIDGET (chart));
    while (g_main_context_iteration (NULL, FALSE))
      ;
    qs_chart_axis_get_range (qs_chart_view_get_y_axis (QS_CHART_VIEW (chart)), &lo, &hi);
    /* The top tick above the limit is at most twice it; here (bins of 4
     * weights, spikes of 6) the axis stops below the spikes. */
    g_assert_cmpfloat (hi, <=, 2 * limit);
    if (g_getenv ("QS_SCREENSHOT_DIR") != NULL)
      {
        /* Narrow, the three-entry legend wraps: to look at. */
        g_autofree char *narrow = g_build_filename (g_getenv ("QS_SCREENSHOT_DIR"), "compare-narrow.png", NULL);
        g_autoptr(GdkTexture) texture = qs_chart_view_render (QS_CHART_VIEW (chart), 300, 220);

        g_assert_true (gdk_texture_save_to_png (texture, narrow));
      }
    g_assert_cmpfloat (hi, <, MAX (qs_chart_series_get_max (qs_series_chart_get_series (chart, 1)),
                                   qs_chart_series_get_max (qs_series_chart_get_series (chart, 2))));
  }

  g_unlink (a_path);
  g_unlink (b_path);
  g_rmdir (dir);
  qs_window_test_close (window);
}

static gboolean
compare_shows_b_7_bits (QsWindow *window)
{
  QsTensorReport *b = qs_compare_view_get_report (compare_view, QS_COMPARE_SIDE_B);

  return b != NULL && b->scheme.bits == 7 && qs_compare_view_get_report (compare_view, QS_COMPARE_SIDE_A) != NULL;
}

static gboolean
compare_follows_selection (QsWindow *window)
{
  for (int s = 0; s < 2; s++)
    {
      QsTensorReport *report = qs_compare_view_get_report (compare_view, (QsCompareSide) s);

      if (report == NULL || g_strcmp0 (report->info->path, qs_window_get_selected_path (window)) != 0)
        return FALSE;
    }
  return TRUE;
}

/* Pin as A keeps the set on show; edits go to B only. */
static void
test_pin_a_then_edit_b (void)
{
  g_autofree char *path = model_path ();
  QsWindow *window = qs_window_test_open (path);
  g_autoptr(QsSchemeSet) pinned = qs_scheme_set_ref (qs_document_get_schemes (window->document));

  g_assert_true (qs_window_select_path (window, DEPTHWISE));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.pin-a", NULL));
  compare_view = g_object_get_data (G_OBJECT (window), "qs-compare-view");
  g_assert_nonnull (compare_view);
  qs_scheme_panel_set_only_this_tensor (window->scheme_panel, FALSE);
  gtk_widget_activate_action (GTK_WIDGET (window), "win.bits-down", NULL);
  qs_window_test_wait_for (compare_shows_b_7_bits, window);
  g_assert_true (qs_scheme_set_equal (qs_compare_view_get_schemes (compare_view, QS_COMPARE_SIDE_A), pinned));
  g_assert_cmpint (qs_compare_view_get_report (compare_view, QS_COMPARE_SIDE_A)->scheme.bits, ==, 8);
  g_assert_true (qs_compare_view_get_schemes (compare_view, QS_COMPARE_SIDE_B) == qs_document_get_schemes (window->document));
  /* Another tensor in the window is the compared tensor. */
  g_assert_true (qs_window_select_path (window, "/model_weights/conv2d_1/conv2d_1/kernel:0"));
  qs_window_test_wait_for (compare_follows_selection, window);
  gtk_window_destroy (GTK_WINDOW (compare_view));
  qs_window_test_close (window);
}

static QsOverviewView *overview_view;

static gboolean
overview_ready (QsWindow *window)
{
  return qs_overview_view_get_overview (overview_view) != NULL;
}

static double
row_sqnr (JsonArray *rows,
          guint      i)
{
  JsonNode *node = json_object_get_member (json_array_get_object_element (rows, i), "sqnr_db");

  return JSON_NODE_HOLDS_NULL (node) ? NAN : json_node_get_double (node);
}

static gboolean
overview_has_layers (QsWindow *window)
{
  return qs_series_chart_get_n_series (qs_overview_view_get_chart (overview_view)) == 2;
}

/* A JSON number, or null for what is not finite, against @value. */
static void
assert_same_number (JsonNode *expected,
                    double    value)
{
  if (JSON_NODE_HOLDS_NULL (expected))
    g_assert_false (isfinite (value));
  else
    g_assert_cmpfloat (json_node_get_double (expected), ==, value);
}

static double
sqnr_of (JsonArray  *rows,
         const char *tensor)
{
  for (guint j = 0; j < json_array_get_length (rows); j++)
    if (g_str_equal (json_object_get_string_member (json_array_get_object_element (rows, j), "tensor"), tensor))
      return row_sqnr (rows, j);
  g_assert_not_reached ();
}

/* The overview's rows are `report --format json`'s for the same set, in
 * its order (worst first); sorting by a column sorts; activating a row
 * opens its tensor in the window. */
static void
test_overview_matches_report (void)
{
  g_autofree char *path = model_path ();
  g_autofree char *dir = g_dir_make_tmp ("quantscope-test-XXXXXX", NULL);
  g_autofree char *scheme_path = g_build_filename (dir, "scheme.json", NULL);
  const char *args[] = { "report", path, "--scheme-file", scheme_path, "--format", "json", NULL };
  g_autoptr(JsonNode) expected = NULL;
  g_autoptr(JsonNode) actual = NULL;
  g_autoptr(GError) error = NULL;
  JsonArray *rows;
  GtkColumnView *table;
  GListModel *columns;
  GtkColumnViewColumn *sqnr_column = NULL;
  GtkColumnViewColumn *name_column = NULL;
  QsWindow *window = qs_window_test_open (path);
  guint n;

  g_assert_true (qs_scheme_set_save (qs_document_get_schemes (window->document), scheme_path, &error));
  g_assert_no_error (error);
  expected = run_cli_json (args);

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.overview", NULL));
  overview_view = g_object_get_data (G_OBJECT (window), "qs-overview-view");
  g_assert_nonnull (overview_view);
  qs_window_test_wait_for (overview_ready, window);
  actual = qs_overview_to_json (qs_overview_view_get_overview (overview_view));
  rows = json_object_get_array_member (json_node_get_object (expected), "tensors");
  assert_json_equal (json_object_get_member (json_node_get_object (expected), "tensors"),
                     json_object_get_member (json_node_get_object (actual), "tensors"), "the overview's rows");
  assert_json_equal (json_object_get_member (json_node_get_object (expected), "total"),
                     json_object_get_member (json_node_get_object (actual), "total"), "the overview's total");

  /* Worst first by default: the table lists the report's order. */
  table = qs_overview_view_get_table (overview_view);
  n = g_list_model_get_n_items (G_LIST_MODEL (gtk_column_view_get_model (table)));
  g_assert_cmpuint (n, ==, json_array_get_length (rows));
  for (guint i = 0; i < n; i++)
    g_assert_cmpstr (qs_overview_view_get_row_path (overview_view, i), ==,
                     json_object_get_string_member (json_array_get_object_element (rows, i), "tensor"));

  /* Sorting by SQNR ascending gives the report's order again (kept
   * tensors have no SQNR and go last); descending puts the best first. */
  columns = gtk_column_view_get_columns (table);
  for (guint c = 0; c < g_list_model_get_n_items (columns); c++)
    {
      g_autoptr(GtkColumnViewColumn) column = g_list_model_get_item (columns, c);

      if (g_str_equal (gtk_column_view_column_get_title (column), "SQNR"))
        sqnr_column = column;
      else if (g_str_equal (gtk_column_view_column_get_title (column), "Tensor"))
        name_column = column;
    }
  g_assert_nonnull (sqnr_column);
  g_assert_nonnull (name_column);
  gtk_column_view_sort_by_column (table, sqnr_column, GTK_SORT_ASCENDING);
  for (guint i = 0; i < n; i++)
    g_assert_cmpstr (qs_overview_view_get_row_path (overview_view, i), ==,
                     json_object_get_string_member (json_array_get_object_element (rows, i), "tensor"));
  gtk_column_view_sort_by_column (table, sqnr_column, GTK_SORT_DESCENDING);
  {
    double previous = INFINITY;
    guint quantized = 0;

    for (guint i = 0; i < n; i++)
      {
        double sqnr = sqnr_of (rows, qs_overview_view_get_row_path (overview_view, i));

        if (isnan (sqnr))
          continue;
        g_assert_cmpfloat (sqnr, <=, previous);
        previous = sqnr;
        quantized++;
      }
    g_assert_cmpuint (quantized, >, 1);
    g_assert_cmpfloat (previous, ==, row_sqnr (rows, 0));
  }
  gtk_column_view_sort_by_column (table, name_column, GTK_SORT_ASCENDING);
  for (guint i = 1; i < n; i++)
    g_assert_cmpint (qs_natural_compare (qs_overview_view_get_row_path (overview_view, i - 1),
                                         qs_overview_view_get_row_path (overview_view, i)), <, 0);

  /* Activating a row (as a double click or Enter does) opens its tensor. */
  g_signal_emit_by_name (table, "activate", 1);
  g_assert_cmpstr (qs_window_get_selected_path (window), ==, qs_overview_view_get_row_path (overview_view, 1));

  /* The chart's per-layer weight and output SQNR are `eval --json`'s. */
  qs_window_test_wait_for (overview_has_layers, window);
  {
    const char *eval_args[] = { "eval", path, "--scheme-file", scheme_path, "--json", NULL };
    g_autoptr(JsonNode) eval = run_cli_json (eval_args);
    JsonArray *layers = json_object_get_array_member (json_node_get_object (eval), "layers");
    QsSeriesChart *chart = qs_overview_view_get_chart (overview_view);

    g_assert_cmpuint (qs_chart_series_get_n_bins (qs_series_chart_get_series (chart, 1)), ==,
                      json_array_get_length (layers));
    for (guint i = 0; i < json_array_get_length (layers); i++)
      {
        JsonObject *layer = json_array_get_object_element (layers, i);

        assert_same_number (json_object_get_member (layer, "weight_sqnr_db"),
                            qs_chart_series_get_value (qs_series_chart_get_series (chart, 0), i));
        assert_same_number (json_object_get_member (layer, "output_sqnr_db"),
                            qs_chart_series_get_value (qs_series_chart_get_series (chart, 1), i));
      }
  }

  g_unlink (scheme_path);
  g_rmdir (dir);
  gtk_window_destroy (GTK_WINDOW (overview_view));
  qs_window_test_close (window);
}

static const char *awaited_file;

static gboolean
document_is_awaited_file (QsWindow *window)
{
  g_autofree char *name = NULL;

  if (window->document == NULL)
    return FALSE;
  name = g_path_get_basename (qs_weight_file_get_filename (qs_document_get_file (window->document)));
  return g_str_equal (name, awaited_file);
}

static void
open_in_window (QsWindow   *window,
                const char *path)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);

  awaited_file = strrchr (path, G_DIR_SEPARATOR) + 1;
  qs_window_open_file (window, file);
  qs_window_test_wait_for (document_is_awaited_file, window);
}

/* Every row of the overview is a tensor of the window's document. */
static gboolean
overview_shows_document (QsWindow *window)
{
  const QsOverview *overview = qs_overview_view_get_overview (overview_view);
  GListModel *rows = G_LIST_MODEL (gtk_column_view_get_model (qs_overview_view_get_table (overview_view)));
  guint n = g_list_model_get_n_items (rows);

  if (overview == NULL || n == 0)
    return FALSE;
  for (guint i = 0; i < n; i++)
    if (qs_document_find_item (window->document, qs_overview_view_get_row_path (overview_view, i)) == NULL)
      return FALSE;
  return n == g_list_model_get_n_items (qs_document_get_tensors (window->document));
}

/* Another file opened in the window: the overview and a compare of two
 * scheme files follow it; a compare whose A was pinned from the old file
 * closes, since that set belongs to another model. */
static void
test_views_follow_document (void)
{
  g_autofree char *model = model_path ();
  g_autofree char *sample = g_build_filename (SOURCE_DATADIR, "sample-weights.h5", NULL);
  g_autofree char *dir = g_dir_make_tmp ("quantscope-test-XXXXXX", NULL);
  g_autofree char *a_path = g_build_filename (dir, "a.json", NULL);
  g_autofree char *b_path = g_build_filename (dir, "b.json", NULL);
  QsWindow *window = qs_window_test_open (model);

  g_assert_true (g_file_set_contents (a_path, "{\"version\": 1, \"default\": {\"bits\": 8}}", -1, NULL));
  g_assert_true (g_file_set_contents (b_path, "{\"version\": 1, \"default\": {\"bits\": 4}}", -1, NULL));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.overview", NULL));
  overview_view = g_object_get_data (G_OBJECT (window), "qs-overview-view");
  qs_window_test_wait_for (overview_shows_document, window);
  _qs_window_compare_files (window, a_path, b_path);
  compare_view = g_object_get_data (G_OBJECT (window), "qs-compare-view");
  qs_window_test_wait_for (compare_follows_selection, window);

  open_in_window (window, sample);
  g_assert_true (g_object_get_data (G_OBJECT (window), "qs-overview-view") == overview_view);
  g_assert_true (qs_overview_view_get_document (overview_view) == window->document);
  qs_window_test_wait_for (overview_shows_document, window);
  g_assert_true (g_object_get_data (G_OBJECT (window), "qs-compare-view") == compare_view);
  g_assert_true (qs_compare_view_get_document (compare_view) == window->document);
  qs_window_test_wait_for (compare_follows_selection, window);
  g_assert_cmpint (qs_compare_view_get_report (compare_view, QS_COMPARE_SIDE_B)->scheme.bits, ==, 4);

  /* A pinned from this file: back to the model, compare closes. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.pin-a", NULL));
  open_in_window (window, model);
  g_assert_null (g_object_get_data (G_OBJECT (window), "qs-compare-view"));
  g_assert_true (qs_overview_view_get_document (overview_view) == window->document);
  qs_window_test_wait_for (overview_shows_document, window);

  g_unlink (a_path);
  g_unlink (b_path);
  g_rmdir (dir);
  gtk_window_destroy (GTK_WINDOW (overview_view));
  qs_window_test_close (window);
}

/* The shortcut @window has for @accel, or NULL. */
static GtkShortcut *
find_shortcut (GtkWidget  *widget,
               const char *accel)
{
  g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (widget);
  g_autoptr(GtkShortcutTrigger) wanted = gtk_shortcut_trigger_parse_string (accel);

  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr(GObject) controller = g_list_model_get_item (controllers, i);

      if (!GTK_IS_SHORTCUT_CONTROLLER (controller))
        continue;
      for (guint j = 0; j < g_list_model_get_n_items (G_LIST_MODEL (controller)); j++)
        {
          g_autoptr(GtkShortcut) shortcut = g_list_model_get_item (G_LIST_MODEL (controller), j);

          if (gtk_shortcut_trigger_equal (gtk_shortcut_get_trigger (shortcut), wanted))
            return shortcut;  /* the controller keeps it */
        }
    }
  return NULL;
}

/* Escape and Ctrl+W close a presented window beside the main one: a
 * tool window is hidden (it keeps its state), the others go away. */
static void
assert_keys_close (GtkWindow *presented)
{
  const char *accels[] = { "Escape", "<Control>w" };

  for (guint i = 0; i < G_N_ELEMENTS (accels); i++)
    {
      GtkWindow *window = presented;
      GtkShortcut *shortcut;

      gtk_window_present (window);
      g_assert_true (gtk_widget_get_visible (GTK_WIDGET (window)));
      shortcut = find_shortcut (GTK_WIDGET (window), accels[i]);
      g_assert_nonnull (shortcut);
      g_object_add_weak_pointer (G_OBJECT (window), (gpointer *) &window);
      g_assert_true (gtk_shortcut_action_activate (gtk_shortcut_get_action (shortcut), GTK_SHORTCUT_ACTION_EXCLUSIVE,
                                                   GTK_WIDGET (window), NULL));
      if (window == NULL)
        return;  /* destroyed on close: nothing more to press */
      g_assert_false (gtk_widget_get_visible (GTK_WIDGET (window)));
      g_object_remove_weak_pointer (G_OBJECT (window), (gpointer *) &window);
    }
}

static void
test_escape_closes_side_windows (void)
{
  g_autofree char *model = model_path ();
  QsWindow *window = qs_window_test_open (model);

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.number-inspector", NULL));
  assert_keys_close (window->number_window);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.block-inspector", NULL));
  assert_keys_close (window->block_window);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.overview", NULL));
  assert_keys_close (g_object_get_data (G_OBJECT (window), "qs-overview-view"));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.pin-a", NULL));
  assert_keys_close (g_object_get_data (G_OBJECT (window), "qs-compare-view"));
  assert_keys_close (GTK_WINDOW (qs_mixed_window_new (window, 100)));
  assert_keys_close (GTK_WINDOW (qs_sensitivity_window_new (window, 100)));
  qs_window_test_close (window);
}

int
main (int argc, char **argv)
{
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  g_test_add_func ("/views/compare-files-match-cli", test_compare_files_match_cli);
  g_test_add_func ("/views/pin-a-then-edit-b", test_pin_a_then_edit_b);
  g_test_add_func ("/views/overview-matches-report", test_overview_matches_report);
  g_test_add_func ("/views/follow-document", test_views_follow_document);
  g_test_add_func ("/views/escape-closes-side-windows", test_escape_closes_side_windows);
  return g_test_run ();
}
