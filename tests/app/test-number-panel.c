/* test-number-panel.c: the number inspector, opened through the window's action, under Xvfb.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The expected bit patterns are worked by hand in the comments; the panel
 * is read through what it shows (its getters return the label texts).
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "app/qs-histogram-view-private.h"
#include "app/qs-number-panel.h"
#include "app/qs-window-private.h"
#include "qs-window-test-utils.h"

static char *
sample_path (void)
{
  return g_build_filename (SOURCE_DATADIR, "sample-weights.h5", NULL);
}

/* Mapped and given its size: coordinates mean something only then. */
static void
wait_until_mapped (GtkWidget *widget)
{
  gint64 deadline = g_get_monotonic_time () + QS_WINDOW_TEST_TIMEOUT_USEC;

  while (!gtk_widget_get_mapped (widget) || gtk_widget_get_width (widget) == 0)
    {
      g_main_context_iteration (NULL, FALSE);
      if (g_get_monotonic_time () > deadline)
        g_error ("timed out waiting for the number inspector");
      g_usleep (1000);
    }
}

/* The seed notes' exercise: 8.625 = 1000.101b = 1.000101b x 2^3; single
 * precision stores 3 + 127 = 130 = 10000010b and the fraction 000101:
 * 0 10000010 00010100000000000000000 = 0x410a0000. */
static void
test_action_opens_inspector (void)
{
  g_autofree char *path = sample_path ();
  QsWindow *window = qs_window_test_open (path);
  QsTensorReport *report = qs_histogram_view_get_report (window->histogram_view);
  QsNumberPanel *panel;
  g_autofree char *expected_code = NULL;
  float scale = report->params.scale[0];
  int zero_point = (int) report->params.zero_point[0];
  int qmin = report->params.qmin, qmax = report->params.qmax;
  float code;

  g_assert_null (window->number_window);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.number-inspector", NULL));
  g_assert_nonnull (window->number_window);
  panel = window->number_panel;
  g_assert_true (QS_IS_NUMBER_PANEL (panel));
  wait_until_mapped (GTK_WIDGET (panel));
  g_assert_true (gtk_window_get_transient_for (window->number_window) == GTK_WINDOW (window));

  qs_number_panel_set_value (panel, 8.625);
  g_assert_cmpstr (qs_number_panel_get_shown_bits (panel, QS_NUMBER_FLOAT32), ==, "0x410a0000");
  /* Half precision: 3 + 15 = 18 = 10010b: 0 10010 0001010000 = 0x4850. */
  g_assert_cmpstr (qs_number_panel_get_shown_bits (panel, QS_NUMBER_FLOAT16), ==, "0x4850");
  /* E4M3 keeps 3 fraction bits: 1.001b x 2^3 = 9, exponent 3 + 7 = 1010b: 0 1010 001 = 0x51. */
  g_assert_cmpstr (qs_number_panel_get_shown_bits (panel, QS_NUMBER_FP8_E4M3), ==, "0x51");

  /* The integer code under the tensor's own quantizer, by PyTorch's
   * formula: clamp(Z + nearbyint(x * (1 / scale))). */
  g_assert_cmpint (report->scheme.format, ==, QS_FORMAT_INT);
  code = (float) zero_point + nearbyintf (8.625f * (1.0f / scale));
  code = fminf (fmaxf (code, (float) qmin), (float) qmax);
  expected_code = g_strdup_printf ("0x%0*x", (report->scheme.bits + 3) / 4,
                                   (unsigned) (int) code & ((1u << report->scheme.bits) - 1));
  g_assert_cmpstr (qs_number_panel_get_shown_code (panel), ==, expected_code);

  /* Closing hides it; the action brings the same one back. */
  gtk_window_close (window->number_window);
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (window->number_window)));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.number-inspector", NULL));
  g_assert_true (window->number_panel == panel);
  qs_window_test_close (window);
}

/* A click on a histogram bar opens the inspector on that bin's centre. */
static void
test_bin_click_fills_value (void)
{
  g_autofree char *path = sample_path ();
  QsWindow *window = qs_window_test_open (path);
  QsTensorReport *report = qs_histogram_view_get_report (window->histogram_view);
  const QsHistogram *h = &report->analysis.histogram;
  double width = (h->hi - h->lo) / h->bins;
  /* A point a third of the way into bin 100. */
  double inside = h->lo + (100 + 1.0 / 3.0) * width;
  double x, clicked, centre;
  int bin;

  wait_until_mapped (GTK_WIDGET (window->histogram_view));
  x = _qs_histogram_view_value_to_x (window->histogram_view, inside);
  clicked = _qs_histogram_view_x_to_value (window->histogram_view, x);
  bin = (int) floor ((clicked - h->lo) / width);
  centre = h->lo + (bin + 0.5) * width;
  g_assert_null (window->number_window);
  g_assert_true (_qs_histogram_view_click (window->histogram_view, x));
  g_assert_nonnull (window->number_panel);
  g_assert_cmpfloat_with_epsilon (qs_number_panel_get_value (window->number_panel), centre, width * 1e-9);
  qs_window_test_close (window);
}

static void
test_panel_alone (void)
{
  QsNumberPanel *panel = QS_NUMBER_PANEL (g_object_ref_sink (qs_number_panel_new ()));

  /* The template starts on the exercise. */
  g_assert_cmpfloat (qs_number_panel_get_value (panel), ==, 8.625);
  g_assert_cmpstr (qs_number_panel_get_shown_bits (panel, QS_NUMBER_FLOAT32), ==, "0x410a0000");
  g_assert_null (qs_number_panel_get_shown_code (panel));

  /* -0.1 in bfloat16: 0.1 = 1.100110011...b x 2^-4, exponent 123 = 01111011b,
   * fraction rounded to 7 bits 1001101 (the next bits 1001... round up):
   * 1 01111011 1001101 = 0xbdcd. */
  qs_number_panel_set_value (panel, -0.1);
  g_assert_cmpstr (qs_number_panel_get_shown_bits (panel, QS_NUMBER_BFLOAT16), ==, "0xbdcd");
  /* E2M1 has no NaN pattern: the panel shows none. */
  qs_number_panel_set_value (panel, NAN);
  g_assert_cmpstr (qs_number_panel_get_shown_bits (panel, QS_NUMBER_FP4_E2M1), ==, "—");

  /* With a scheme: int8, scale 0.5, Z = 0: 1.25 / 0.5 = 2.5 -> 2 (half to even). */
  {
    QsScheme scheme;

    qs_scheme_init_per_tensor (&scheme);
    qs_number_panel_set_quantizer (panel, &scheme, 0.5f, 0.0f, "/w");
    qs_number_panel_set_value (panel, 1.25);
    g_assert_cmpstr (qs_number_panel_get_shown_code (panel), ==, "0x02");
    qs_number_panel_set_value (panel, -3.0);
    g_assert_cmpstr (qs_number_panel_get_shown_code (panel), ==, "0xfa");
  }
  qs_number_panel_set_q (panel, 4, 60);
  qs_number_panel_set_q (panel, 60, 4);

  g_assert_finalize_object (panel);
}

int
main (int argc, char **argv)
{
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  g_test_add_func ("/number-panel/alone", test_panel_alone);
  g_test_add_func ("/number-panel/action-opens-inspector", test_action_opens_inspector);
  g_test_add_func ("/number-panel/bin-click-fills-value", test_bin_click_fills_value);
  return g_test_run ();
}
