/* test-scheme-panel.c: the scheme panel on its own: loading a scheme, edits and the signal they emit, rows that do not apply.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "app/qs-scheme-panel.h"

static void
count_cb (gpointer  emitter,
          guint    *count)
{
  (*count)++;
}

static void
notify_count_cb (GObject    *object,
                 GParamSpec *pspec,
                 guint      *count)
{
  (*count)++;
}

static QsSchemePanel *
new_panel (guint *edits)
{
  QsSchemePanel *panel = QS_SCHEME_PANEL (qs_scheme_panel_new ());

  g_object_ref_sink (panel);
  g_signal_connect (panel, "scheme-changed", G_CALLBACK (count_cb), edits);
  return panel;
}

static void
test_load_is_no_edit (void)
{
  guint edits = 0;
  QsSchemePanel *panel = new_panel (&edits);
  QsScheme scheme, shown;

  qs_scheme_init_per_tensor (&scheme);
  scheme.bits = 5;
  qs_scheme_panel_set_scheme (panel, &scheme);
  g_assert_cmpuint (edits, ==, 0);
  qs_scheme_panel_get_scheme (panel, &shown);
  g_assert_cmpint (shown.bits, ==, 5);
  g_assert_cmpint (shown.mapping, ==, QS_MAPPING_ASYMMETRIC);
  g_assert_cmpint (shown.granularity, ==, QS_GRANULARITY_TENSOR);
  /* The controls show it. */
  g_assert_cmpuint (adw_combo_row_get_selected (ADW_COMBO_ROW (qs_scheme_panel_get_row (panel, "mapping"))), ==,
                    QS_MAPPING_ASYMMETRIC);
  g_assert_cmpuint (adw_combo_row_get_selected (ADW_COMBO_ROW (qs_scheme_panel_get_row (panel, "granularity"))), ==,
                    QS_GRANULARITY_TENSOR);
  g_assert_finalize_object (panel);
}

static void
test_edits (void)
{
  guint edits = 0, notifies = 0;
  QsSchemePanel *panel = new_panel (&edits);
  QsScheme shown;

  /* A choice in a control is one edit. */
  adw_combo_row_set_selected (ADW_COMBO_ROW (qs_scheme_panel_get_row (panel, "range-method")), QS_RANGE_PERCENTILE);
  g_assert_cmpuint (edits, ==, 1);
  qs_scheme_panel_get_scheme (panel, &shown);
  g_assert_cmpint (shown.range_method, ==, QS_RANGE_PERCENTILE);
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (qs_scheme_panel_get_row (panel, "percentile"))));
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (qs_scheme_panel_get_row (panel, "manual-lo"))));

  /* Bits step from 8 and stop at the top of the range. */
  qs_scheme_panel_step_bits (panel, -1);
  qs_scheme_panel_get_scheme (panel, &shown);
  g_assert_cmpint (shown.bits, ==, 7);
  g_assert_cmpuint (edits, ==, 2);
  for (int i = 0; i < 12; i++)
    qs_scheme_panel_step_bits (panel, +1);
  qs_scheme_panel_get_scheme (panel, &shown);
  g_assert_cmpint (shown.bits, ==, 16);
  g_assert_cmpuint (edits, ==, 2 + 9);

  /* "Only this tensor" is a property; the line below it is the caller's. */
  g_signal_connect (panel, "notify::only-this-tensor", G_CALLBACK (notify_count_cb), &notifies);
  g_assert_true (qs_scheme_panel_get_only_this_tensor (panel));
  qs_scheme_panel_set_only_this_tensor (panel, FALSE);
  g_assert_false (qs_scheme_panel_get_only_this_tensor (panel));
  g_assert_cmpuint (notifies, ==, 1);
  qs_scheme_panel_set_applies_to (panel, "Changes apply to all tensors without their own scheme: 3 tensors");
  g_assert_cmpstr (qs_scheme_panel_get_applies_to (panel), ==,
                   "Changes apply to all tensors without their own scheme: 3 tensors");
  g_assert_null (qs_scheme_panel_get_row (panel, "no-such-setting"));
  g_assert_finalize_object (panel);
}

static void
test_rows_say_why (void)
{
  guint edits = 0;
  QsSchemePanel *panel = new_panel (&edits);
  GtkWidget *bits = GTK_WIDGET (qs_scheme_panel_get_row (panel, "bits"));
  GtkWidget *group_size = GTK_WIDGET (qs_scheme_panel_get_row (panel, "group-size"));
  g_autofree char *own_tooltip = g_strdup (gtk_widget_get_tooltip_text (bits));
  QsScheme scheme;

  qs_scheme_init_default (&scheme);
  scheme.format = QS_FORMAT_MXFP4;
  qs_scheme_panel_set_scheme (panel, &scheme);
  g_assert_false (gtk_widget_get_sensitive (bits));
  g_assert_cmpstr (gtk_widget_get_tooltip_text (bits), ==,
                   "Block formats fix their element type: this setting does not apply.");
  g_assert_true (gtk_widget_get_visible (group_size));
  g_assert_false (gtk_widget_get_sensitive (GTK_WIDGET (qs_scheme_panel_get_row (panel, "range-method"))));

  scheme.format = QS_FORMAT_FP16;
  qs_scheme_panel_set_scheme (panel, &scheme);
  g_assert_cmpstr (gtk_widget_get_tooltip_text (bits), ==,
                   "Float formats are cast directly: this setting applies to integers only.");
  g_assert_false (gtk_widget_get_visible (group_size));

  scheme.format = QS_FORMAT_INT;
  qs_scheme_panel_set_scheme (panel, &scheme);
  g_assert_true (gtk_widget_get_sensitive (bits));
  g_assert_cmpstr (gtk_widget_get_tooltip_text (bits), ==, own_tooltip);
  g_assert_cmpuint (edits, ==, 0);
  g_assert_finalize_object (panel);
}

int
main (int argc, char **argv)
{
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  g_test_add_func ("/scheme-panel/load-is-no-edit", test_load_is_no_edit);
  g_test_add_func ("/scheme-panel/edits", test_edits);
  g_test_add_func ("/scheme-panel/rows-say-why", test_rows_say_why);
  return g_test_run ();
}
