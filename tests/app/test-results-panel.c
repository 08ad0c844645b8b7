/* test-results-panel.c: the results panel on its own: a report, the model size and the accuracy, read back as shown.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The tensors are four values small enough to quantize by hand: int8
 * symmetric narrow, min/max, so scale = amax / 127 and codes are
 * round-half-even (x / scale).
 */
#include "config.h"

#include <math.h>

#include "app/qs-results-panel.h"
#include "model/qs-format-text.h"

static QsTensorReport *
make_report (guint          rank,
             const float   *values,
             QsGranularity  granularity)
{
  g_autoptr(GError) error = NULL;
  QsTensorReport *report;
  QsTensorInfo info = { 0 };
  QsScheme scheme;

  qs_scheme_init_default (&scheme);
  scheme.granularity = granularity;
  info.path = (char *) "/model_weights/dense/dense/kernel:0";
  info.layer = (char *) "dense";
  info.role = QS_TENSOR_ROLE_KERNEL;
  info.rank = rank;
  info.shape[0] = rank == 1 ? 4 : 2;
  info.shape[1] = 2;
  info.count = 4;
  info.dtype = (char *) "float32";
  info.quantizable = TRUE;
  info.channel_axis = rank - 1;

  report = qs_tensor_report_compute_values (&info, values, &scheme, 1, &error);
  g_assert_no_error (error);
  g_assert_nonnull (report);
  return report;
}

static QsResultsPanel *
new_panel (void)
{
  QsResultsPanel *panel = QS_RESULTS_PANEL (qs_results_panel_new ());

  g_object_ref_sink (panel);
  return panel;
}

static void
assert_no_focusable_label (GtkWidget *widget)
{
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child; child = gtk_widget_get_next_sibling (child))
    {
      /* A selectable label that may take focus claims a Tab stop. */
      if (GTK_IS_LABEL (child) && gtk_label_get_selectable (GTK_LABEL (child)))
        g_assert_false (gtk_widget_get_can_focus (child));
      assert_no_focusable_label (child);
    }
}

static void
test_per_tensor_report (void)
{
  /* {-1, 0, 0.5, 1}: scale 1/127; codes -127, 0, 64 (63.5 to even), 127;
   * only 0.5 moves, to 64/127, so the error is 64/127 - 0.5. */
  const float values[] = { -1.0f, 0.0f, 0.5f, 1.0f };
  g_autoptr(QsTensorReport) report = make_report (1, values, QS_GRANULARITY_TENSOR);
  QsResultsPanel *panel = new_panel ();
  double error = 64.0 / 127.0 - 0.5;
  g_autofree char *sqnr = qs_format_sqnr (10.0 * log10 (2.25 / (error * error)));
  g_autofree char *mse = g_strdup_printf ("%.3g (max %.3g)", error * error / 4.0, error);

  qs_results_panel_set_report (panel, report, 0);
  g_assert_cmpstr (qs_results_panel_get_value (panel, QS_RESULT_SQNR), ==, sqnr);
  g_assert_cmpstr (qs_results_panel_get_value (panel, QS_RESULT_MSE), ==, mse);
  g_assert_cmpstr (qs_results_panel_get_value (panel, QS_RESULT_SCALE), ==, "0.007874 · zero point 0");
  g_assert_cmpstr (qs_results_panel_get_value (panel, QS_RESULT_CLIP_RANGE), ==, "−1 … 1");
  g_assert_cmpstr (qs_results_panel_get_value (panel, QS_RESULT_LEVELS), ==, "4 of 255");
  g_assert_cmpstr (qs_results_panel_get_value (panel, QS_RESULT_ZERO), ==, "exact: code 0 is 0.0");
  g_assert_cmpstr (adw_action_row_get_subtitle (qs_results_panel_get_row (panel, QS_RESULT_ZERO)), ==,
                   "1 weight (25.00 %) is exactly 0.0 and stays 0.0");
  g_assert_false (qs_results_panel_get_warning (panel, QS_RESULT_ZERO));
  g_assert_true (g_str_has_prefix (qs_results_panel_get_value (panel, QS_RESULT_CLIPPED), "0 ("));
  g_assert_false (qs_results_panel_get_warning (panel, QS_RESULT_CLIPPED));
  g_assert_cmpstr (adw_action_row_get_subtitle (qs_results_panel_get_row (panel, QS_RESULT_CLIPPED)), ==, "");

  /* Cleared: every tensor row is a dash, the message takes the SQNR row. */
  qs_results_panel_set_busy (panel, TRUE);
  qs_results_panel_clear (panel, "Only floating-point tensors can be quantized.");
  g_assert_false (qs_results_panel_get_busy (panel));
  g_assert_cmpstr (qs_results_panel_get_value (panel, QS_RESULT_SQNR), ==,
                   "Only floating-point tensors can be quantized.");
  g_assert_cmpstr (qs_results_panel_get_value (panel, QS_RESULT_SCALE), ==, "—");
  g_assert_cmpstr (qs_results_panel_get_value (panel, QS_RESULT_TENSOR_SIZE), ==, "—");

  /* One Tab stop per row: no value label takes focus. */
  assert_no_focusable_label (GTK_WIDGET (panel));
  g_assert_finalize_object (panel);
}

static void
test_per_channel_report (void)
{
  /* A 2×2 kernel, channels along the last axis: channel 0 holds {-1, 0}
   * (scale 1/127), channel 1 {0.5, 0.25} (scale 0.5/127 = 0.003937); the
   * clip range shown is the min/max range widened to contain 0. */
  const float values[] = { -1.0f, 0.5f, 0.0f, 0.25f };
  g_autoptr(QsTensorReport) report = make_report (2, values, QS_GRANULARITY_CHANNEL);
  QsResultsPanel *panel = new_panel ();

  qs_results_panel_set_report (panel, report, 1);
  g_assert_cmpstr (qs_results_panel_get_value (panel, QS_RESULT_SCALE), ==,
                   "2 channels · channel 1: 0.003937 · zero point 0");
  g_assert_cmpstr (qs_results_panel_get_value (panel, QS_RESULT_CLIP_RANGE), ==, "channel 1: 0 … 0.5");
  qs_results_panel_set_report (panel, report, 0);
  g_assert_cmpstr (qs_results_panel_get_value (panel, QS_RESULT_SCALE), ==,
                   "2 channels · channel 0: 0.007874 · zero point 0");
  g_assert_finalize_object (panel);
}

static void
test_accuracy_and_model_size (void)
{
  QsResultsPanel *panel = new_panel ();
  QsAccuracyResult result = { 0 };
  AdwActionRow *row = qs_results_panel_get_row (panel, QS_RESULT_ACCURACY);

  g_assert_cmpstr (qs_results_panel_get_value (panel, QS_RESULT_ACCURACY), ==, "—");

  /* 1 MiB of float32 weights stored in 256 KiB: 4×. */
  qs_results_panel_set_model_size (panel, 1 << 20, 1 << 18);
  g_assert_true (g_str_has_suffix (qs_results_panel_get_value (panel, QS_RESULT_MODEL_SIZE), "(4.00×)"));

  /* An estimate on part of the images stays dimmed; the final figure is not. */
  result.fp32_top1 = 90.0;
  result.quant_top1 = 89.5;
  result.agreement = 98.0;
  result.images = 1000;
  result.total = 10000;
  result.kernel = (char *) "scalar";
  qs_results_panel_set_accuracy (panel, &result);
  g_assert_cmpstr (qs_results_panel_get_value (panel, QS_RESULT_ACCURACY), ==, "90.00 % → 89.50 % (−0.50)");
  g_assert_true (qs_results_panel_get_accuracy_dimmed (panel));
  result.images = 10000;
  qs_results_panel_set_accuracy (panel, &result);
  g_assert_false (qs_results_panel_get_accuracy_dimmed (panel));
  g_assert_cmpstr (adw_action_row_get_subtitle (row), ==, "10000 test images, agreement 98.00 %, scalar kernels");

  /* A new scheme: the old figure stays, dimmed, until its own arrives. */
  qs_results_panel_set_accuracy_pending (panel);
  g_assert_true (qs_results_panel_get_accuracy_dimmed (panel));
  g_assert_cmpstr (adw_action_row_get_subtitle (row), ==, "Evaluating…");
  g_assert_cmpstr (qs_results_panel_get_value (panel, QS_RESULT_ACCURACY), ==, "90.00 % → 89.50 % (−0.50)");

  qs_results_panel_set_accuracy_unavailable (panel, "This model has no graph");
  g_assert_cmpstr (qs_results_panel_get_value (panel, QS_RESULT_ACCURACY), ==, "not available");
  g_assert_false (qs_results_panel_get_accuracy_dimmed (panel));
  g_assert_cmpstr (adw_action_row_get_subtitle (row), ==, "This model has no graph");
  g_assert_finalize_object (panel);
}

/* Before its first figure an evaluation says what it does and how far;
 * an estimate keeps the bar at its share of the images; the final
 * figure takes both away. */
static void
test_accuracy_progress (void)
{
  QsResultsPanel *panel = new_panel ();
  AdwActionRow *row = qs_results_panel_get_row (panel, QS_RESULT_ACCURACY);
  QsAccuracyResult progress = { 0 }, result = { 0 };

  g_assert_cmpfloat (qs_results_panel_get_accuracy_progress (panel), ==, -1);
  qs_results_panel_set_accuracy_pending (panel);
  g_assert_cmpfloat (qs_results_panel_get_accuracy_progress (panel), ==, 0);

  progress.stage = QS_ACCURACY_STAGE_LOADING;
  g_assert_true (qs_accuracy_result_is_progress (&progress));
  qs_results_panel_set_accuracy (panel, &progress);
  g_assert_cmpstr (adw_action_row_get_subtitle (row), ==, "Loading the model and its test images…");
  g_assert_cmpfloat (qs_results_panel_get_accuracy_progress (panel), ==, 0);

  progress.stage = QS_ACCURACY_STAGE_CALIBRATING;
  progress.stage_done = 250;
  progress.stage_total = 1000;
  qs_results_panel_set_accuracy (panel, &progress);
  g_assert_cmpstr (adw_action_row_get_subtitle (row), ==, "Calibrating on 250 of 1000 images…");
  g_assert_cmpfloat (qs_results_panel_get_accuracy_progress (panel), ==, 0.25);

  progress.stage = QS_ACCURACY_STAGE_EVALUATING;
  progress.stage_done = 120;
  qs_results_panel_set_accuracy (panel, &progress);
  g_assert_cmpstr (adw_action_row_get_subtitle (row), ==, "Evaluating 120 of 1000 images…");
  g_assert_cmpfloat (qs_results_panel_get_accuracy_progress (panel), ==, 0.12);
  /* Progress is no figure: the value stays as it was. */
  g_assert_cmpstr (qs_results_panel_get_value (panel, QS_RESULT_ACCURACY), ==, "—");

  result.fp32_top1 = 90.0;
  result.quant_top1 = 90.0;
  result.agreement = 100.0;
  result.images = 1;
  result.total = 4;
  result.kernel = (char *) "scalar";
  g_assert_false (qs_accuracy_result_is_progress (&result));
  qs_results_panel_set_accuracy (panel, &result);
  g_assert_cmpstr (adw_action_row_get_subtitle (row), ==, "Estimate on 1 of 4 test images, agreement 100.0 %…");
  g_assert_cmpfloat (qs_results_panel_get_accuracy_progress (panel), ==, 0.25);
  result.images = 1;
  result.total = 1;
  qs_results_panel_set_accuracy (panel, &result);
  /* One image: the singular. */
  g_assert_cmpstr (adw_action_row_get_subtitle (row), ==, "1 test image, agreement 100.00 %, scalar kernels");
  g_assert_cmpfloat (qs_results_panel_get_accuracy_progress (panel), ==, -1);
  g_assert_finalize_object (panel);
}

int
main (int argc, char **argv)
{
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  g_test_add_func ("/results-panel/per-tensor", test_per_tensor_report);
  g_test_add_func ("/results-panel/per-channel", test_per_channel_report);
  g_test_add_func ("/results-panel/accuracy-and-model-size", test_accuracy_and_model_size);
  g_test_add_func ("/results-panel/accuracy-progress", test_accuracy_progress);
  return g_test_run ();
}
