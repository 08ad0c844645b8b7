/* test-number-panel.c: the number inspector, opened through the window's action, under Xvfb.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The expected bit patterns are worked by hand in the comments; the panel
 * is read through what it shows (its getters return the label texts).
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include <json-glib/json-glib.h>

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

/* `quantscope-cli number VALUE --block FORMAT --json`'s "block" member. */
static JsonObject *
cli_block (const char *value,
           const char *format,
           const char *tensor_scale)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  const char *argv[] = { g_getenv ("QS_SCAN_HELPER"), "number", value, "--json", "--block", format,
                         tensor_scale != NULL ? "--tensor-scale" : NULL, tensor_scale, NULL };
  int status;

  g_assert_nonnull (argv[0]);
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out, NULL,
                               &status, &error));
  g_assert_no_error (error);
  g_assert_cmpint (status, ==, 0);
  g_assert_true (json_parser_load_from_data (parser, out, -1, &error));
  return json_object_ref (json_object_get_object_member (json_node_get_object (json_parser_get_root (parser)),
                                                         "block"));
}

/* Whether @text contains @needle, saying what it holds when not. */
static void
assert_contains (const char *text,
                 const char *needle)
{
  if (strstr (text, needle) == NULL)
    g_error ("“%s” not in “%s”", needle, text);
}

/* Under MXFP4 the FP4 row encodes the value at its block's scale. 8.625
 * as a block's largest magnitude: floor (log2 8.625) = 3, less E2M1's
 * emax 2, is the E8M0 exponent 1 (byte 127 + 1 = 0x80): scale 2; 8.625 /
 * 2 = 4.3125 rounds to E2M1's 4 = 1.0b x 2^2 (biased exponent 3), bits
 * 0 11 0 = 0x6, which
 * stands for 8 (error -0.625). Under NVFP4 with tensor scale 1/64: 8.625
 * / 6 / (1/64) = 92 = 1.0111b x 2^6 rounds (a tie, to even) to E4M3's
 * 1.100b x 2^6 = 96, byte 0 1101 100 = 0x6c: scale 96 / 64 = 1.5; 8.625 /
 * 1.5 = 5.75 rounds to 6 = 1.1b x 2^2, bits 0 11 1 = 0x7, standing for 9. */
static void
test_block_scale_matches_cli (void)
{
  QsNumberPanel *panel = QS_NUMBER_PANEL (g_object_ref_sink (qs_number_panel_new ()));
  g_autoptr(JsonObject) mx = cli_block ("8.625", "mxfp4", NULL);
  g_autoptr(JsonObject) nv = cli_block ("8.625", "nvfp4", "0.015625");
  QsScheme scheme;

  /* Without a block scheme the row is the bare element encoding: 8.625
   * saturates at E2M1's 6 = 0x7. */
  qs_number_panel_set_value (panel, 8.625);
  g_assert_cmpstr (qs_number_panel_get_shown_bits (panel, QS_NUMBER_FP4_E2M1), ==, "0x7");

  qs_scheme_init_default (&scheme);
  scheme.format = QS_FORMAT_MXFP4;
  qs_number_panel_set_quantizer (panel, &scheme, 1.0f, 0.0f, "/w");
  g_assert_cmpstr (qs_number_panel_get_shown_bits (panel, QS_NUMBER_FP4_E2M1), ==, "0x6");
  assert_contains (qs_number_panel_get_shown_details (panel, QS_NUMBER_FP4_E2M1), "scale 2 (E8M0 0x80)");
  assert_contains (qs_number_panel_get_shown_details (panel, QS_NUMBER_FP4_E2M1), "Stands for 8 ");
  g_assert_cmpstr (json_object_get_string_member (mx, "code"), ==, "0x6");
  g_assert_cmpstr (json_object_get_string_member (mx, "scale_code"), ==, "0x80");
  g_assert_cmpfloat (json_object_get_double_member (mx, "scale"), ==, 2.0);
  g_assert_cmpfloat (json_object_get_double_member (mx, "dequantized"), ==, 8.0);
  g_assert_cmpfloat (json_object_get_double_member (mx, "error"), ==, -0.625);
  /* Other rows keep the plain encoding. */
  g_assert_cmpstr (qs_number_panel_get_shown_bits (panel, QS_NUMBER_FP8_E4M3), ==, "0x51");

  scheme.format = QS_FORMAT_NVFP4;
  qs_number_panel_set_quantizer (panel, &scheme, 0.015625f, 0.0f, "/w");
  g_assert_cmpstr (qs_number_panel_get_shown_bits (panel, QS_NUMBER_FP4_E2M1), ==, "0x7");
  assert_contains (qs_number_panel_get_shown_details (panel, QS_NUMBER_FP4_E2M1), "scale 1.5 (E4M3 0x6c");
  assert_contains (qs_number_panel_get_shown_details (panel, QS_NUMBER_FP4_E2M1), "Stands for 9 ");
  g_assert_cmpstr (json_object_get_string_member (nv, "code"), ==, "0x7");
  g_assert_cmpstr (json_object_get_string_member (nv, "scale_code"), ==, "0x6c");
  g_assert_cmpfloat (json_object_get_double_member (nv, "scale"), ==, 1.5);
  g_assert_cmpfloat (json_object_get_double_member (nv, "dequantized"), ==, 9.0);

  /* Back to an integer scheme: the bare encoding again. */
  scheme.format = QS_FORMAT_INT;
  qs_number_panel_set_quantizer (panel, &scheme, 0.5f, 0.0f, "/w");
  g_assert_cmpstr (qs_number_panel_get_shown_bits (panel, QS_NUMBER_FP4_E2M1), ==, "0x7");
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
  g_test_add_func ("/number-panel/block-scale-matches-cli", test_block_scale_matches_cli);
  return g_test_run ();
}
