/* test-scheme-panel.c: the scheme panel on its own: loading a scheme, edits and the signal they emit, rows that do not apply.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "app/qs-scheme-panel.h"
#include "qs-window-test-utils.h"

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

/* Counts the labels under @widget that show a choice whole, failing on
 * one cut short; counts the visible check marks in @checks. */
static guint
count_whole_choices (GtkWidget  *widget,
                     GListModel *choices,
                     guint      *checks)
{
  guint whole = 0;

  if (GTK_IS_LABEL (widget) && gtk_widget_get_mapped (widget))
    {
      const char *text = gtk_label_get_text (GTK_LABEL (widget));
      gboolean listed = FALSE;

      for (guint i = 0; i < g_list_model_get_n_items (choices); i++)
        listed |= g_str_equal (text, gtk_string_list_get_string (GTK_STRING_LIST (choices), i));
      g_assert_true (listed);
      if (pango_layout_is_ellipsized (gtk_label_get_layout (GTK_LABEL (widget))))
        g_error ("the choice “%s” is cut short", text);
      whole++;
    }
  if (GTK_IS_IMAGE (widget) && gtk_widget_get_mapped (widget))
    (*checks)++;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL; child = gtk_widget_get_next_sibling (child))
    whole += count_whole_choices (child, choices, checks);
  return whole;
}

/* The popups of the combo rows show every choice whole, with a check mark
 * on the chosen one: libadwaita's own list items stop at 20 characters,
 * which left "MXFP8 E4M3 (OCP, …" and "MXFP8 E5M2 (OCP, …" looking alike. */
static void
test_choices_shown_whole (void)
{
  const char *settings[] = { "format", "mapping", "granularity", "range-method", "rounding" };
  guint edits = 0;
  QsSchemePanel *panel = new_panel (&edits);

  for (guint i = 0; i < G_N_ELEMENTS (settings); i++)
    {
      AdwComboRow *row = ADW_COMBO_ROW (qs_scheme_panel_get_row (panel, settings[i]));
      GListModel *choices = adw_combo_row_get_model (row);
      GtkListItemFactory *factory = adw_combo_row_get_list_factory (row);
      GtkSingleSelection *selection = gtk_single_selection_new (g_object_ref (choices));
      GtkWidget *list = gtk_list_view_new (GTK_SELECTION_MODEL (selection), factory != NULL ? g_object_ref (factory) : NULL);
      GtkWidget *window = gtk_window_new ();
      gint64 until = g_get_monotonic_time () + G_USEC_PER_SEC / 2;
      guint checks = 0;

      g_assert_nonnull (factory);
      gtk_single_selection_set_selected (selection, g_list_model_get_n_items (choices) - 1);
      gtk_window_set_child (GTK_WINDOW (window), list);
      gtk_window_set_default_size (GTK_WINDOW (window), 600, 600);
      gtk_window_present (GTK_WINDOW (window));
      while (g_get_monotonic_time () < until)
        g_main_context_iteration (NULL, FALSE);
      g_assert_cmpuint (count_whole_choices (list, choices, &checks), ==, g_list_model_get_n_items (choices));
      g_assert_cmpuint (checks, ==, 1);
      gtk_window_destroy (GTK_WINDOW (window));
    }
  g_object_unref (panel);
}

/* The capture-phase scroll controller the panel gave @widget, or NULL. */
static GtkEventController *
find_scroll_controller (GtkWidget *widget)
{
  g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (widget);

  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr(GtkEventController) controller = g_list_model_get_item (controllers, i);

      if (GTK_IS_EVENT_CONTROLLER_SCROLL (controller)
          && gtk_event_controller_get_propagation_phase (controller) == GTK_PHASE_CAPTURE)
        return controller;  /* the widget keeps it */
    }
  return NULL;
}

/* A wheel over the bits slider scrolls the panel and leaves the bits
 * alone until the slider has the focus; then it changes the bits. */
static void
test_wheel_scrolls_past_slider (void)
{
  guint edits = 0;
  QsSchemePanel *panel = new_panel (&edits);
  GtkWidget *window = gtk_window_new ();
  GtkWidget *scroller = gtk_scrolled_window_new ();
  GtkWidget *slider = qs_test_find_descendant (GTK_WIDGET (qs_scheme_panel_get_row (panel, "bits")), GTK_TYPE_SCALE);
  GtkAdjustment *vadjustment = gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (scroller));
  GtkEventController *controller;
  gint64 until = g_get_monotonic_time () + G_USEC_PER_SEC / 2;
  gboolean handled = FALSE;
  QsScheme shown;

  g_assert_nonnull (slider);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scroller), GTK_WIDGET (panel));
  gtk_window_set_child (GTK_WINDOW (window), scroller);
  gtk_window_set_default_size (GTK_WINDOW (window), 500, 300);
  gtk_window_present (GTK_WINDOW (window));
  while (g_get_monotonic_time () < until)
    g_main_context_iteration (NULL, FALSE);
  g_assert_cmpfloat (gtk_adjustment_get_upper (vadjustment), >, gtk_adjustment_get_page_size (vadjustment));
  g_assert_cmpfloat (gtk_adjustment_get_value (vadjustment), ==, 0);

  controller = find_scroll_controller (slider);
  g_assert_nonnull (controller);
  g_signal_emit_by_name (controller, "scroll", 0.0, 1.0, &handled);
  g_assert_true (handled);
  g_assert_cmpfloat (gtk_adjustment_get_value (vadjustment), >, 0);
  qs_scheme_panel_get_scheme (panel, &shown);
  g_assert_cmpint (shown.bits, ==, 8);
  g_assert_cmpuint (edits, ==, 0);

  /* Focused, the slider takes the wheel itself. */
  g_assert_true (gtk_widget_grab_focus (slider));
  handled = FALSE;
  g_signal_emit_by_name (controller, "scroll", 0.0, 1.0, &handled);
  g_assert_false (handled);

  gtk_window_destroy (GTK_WINDOW (window));
  g_object_unref (panel);
}

int
main (int argc, char **argv)
{
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  g_test_add_func ("/scheme-panel/load-is-no-edit", test_load_is_no_edit);
  g_test_add_func ("/scheme-panel/edits", test_edits);
  g_test_add_func ("/scheme-panel/rows-say-why", test_rows_say_why);
  g_test_add_func ("/scheme-panel/choices-shown-whole", test_choices_shown_whole);
  g_test_add_func ("/scheme-panel/wheel-scrolls-past-slider", test_wheel_scrolls_past_slider);
  return g_test_run ();
}
