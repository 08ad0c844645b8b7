/* qs-scheme-panel.c: the scheme controls, bound to one QsSchemeObject, with each row saying whether it applies.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "app/qs-scheme-panel.h"

#include <math.h>

#include <glib/gi18n.h>

struct _QsSchemePanel
{
  AdwBin parent_instance;

  /* Template widgets */
  AdwComboRow    *format_row;
  AdwActionRow   *bits_row;
  GtkAdjustment  *bits_adjustment;
  AdwComboRow    *mapping_row;
  AdwActionRow   *unsigned_row;
  GtkSwitch      *unsigned_switch;
  AdwActionRow   *narrow_row;
  GtkSwitch      *narrow_switch;
  AdwComboRow    *granularity_row;
  AdwActionRow   *group_size_row;
  GtkAdjustment  *group_size_adjustment;
  AdwComboRow    *range_row;
  AdwActionRow   *percentile_row;
  GtkAdjustment  *percentile_adjustment;
  AdwActionRow   *manual_row;
  GtkAdjustment  *manual_lo_adjustment;
  GtkAdjustment  *manual_hi_adjustment;
  AdwComboRow    *rounding_row;
  AdwActionRow   *nudge_row;
  GtkSwitch      *nudge_switch;
  AdwActionRow   *override_row;
  GtkSwitch      *override_switch;

  /* Owned */
  QsSchemeObject *scheme;

  gboolean        loading;              /* set_scheme(): not the user's edit */
};

G_DEFINE_FINAL_TYPE (QsSchemePanel, qs_scheme_panel, ADW_TYPE_BIN)

enum {
  PROP_0,
  PROP_ONLY_THIS_TENSOR,
  PROP_APPLIES_TO,
  N_PROPS
};

enum {
  SCHEME_CHANGED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

/* Makes @row insensitive with @why as its tooltip, or sensitive with the
 * tooltip the template gave it. */
static void
set_row_applies (GtkWidget  *row,
                 gboolean    applies,
                 const char *why)
{
  const char *own = g_object_get_data (G_OBJECT (row), "qs-own-tooltip");

  gtk_widget_set_sensitive (row, applies);
  gtk_widget_set_tooltip_text (row, applies ? own : why);
}

static void
update_sensitivity (QsSchemePanel *self)
{
  QsScheme s;
  gboolean is_int, is_block, blockwise;
  const char *why_format;

  qs_scheme_object_get_scheme (self->scheme, &s);
  is_int = s.format == QS_FORMAT_INT;
  is_block = qs_format_is_block (s.format);
  blockwise = qs_scheme_is_blockwise (&s);
  why_format = is_block ? _("Block formats fix their element type: this setting does not apply.")
                        : _("Float formats are cast directly: this setting applies to integers only.");

  set_row_applies (GTK_WIDGET (self->bits_row), is_int, why_format);
  set_row_applies (GTK_WIDGET (self->mapping_row), is_int, why_format);
  set_row_applies (GTK_WIDGET (self->unsigned_row), is_int, why_format);
  set_row_applies (GTK_WIDGET (self->narrow_row), is_int, why_format);
  set_row_applies (GTK_WIDGET (self->rounding_row), is_int, why_format);
  set_row_applies (GTK_WIDGET (self->nudge_row), is_int && !blockwise,
                   is_int ? _("Integer groups store an integer zero point per group: 0.0 is always exact.")
                          : why_format);
  set_row_applies (GTK_WIDGET (self->granularity_row), !is_block,
                   _("Block formats have a scale per block of the group size below."));
  /* The greyed choice ("Per channel") is not what a block format does:
   * the row says what it does instead. */
  adw_action_row_set_subtitle (ADW_ACTION_ROW (self->granularity_row),
                               is_block ? _("A scale per block of the group size below") : "");
  set_row_applies (GTK_WIDGET (self->range_row), !blockwise,
                   _("Each group or block takes its own minimum and maximum."));
  gtk_widget_set_visible (GTK_WIDGET (self->group_size_row), blockwise);
  gtk_widget_set_visible (GTK_WIDGET (self->percentile_row), s.range_method == QS_RANGE_PERCENTILE);
  gtk_widget_set_visible (GTK_WIDGET (self->manual_row), s.range_method == QS_RANGE_MANUAL);
}

static void
scheme_object_changed_cb (QsSchemePanel  *self,
                          QsSchemeObject *scheme)
{
  update_sensitivity (self);
  if (!self->loading)
    g_signal_emit (self, signals[SCHEME_CHANGED], 0);
}

static void
override_switch_cb (QsSchemePanel *self,
                    GParamSpec    *pspec,
                    GtkSwitch     *sw)
{
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ONLY_THIS_TENSOR]);
}

void
qs_scheme_panel_get_scheme (QsSchemePanel *self,
                            QsScheme      *scheme)
{
  g_return_if_fail (QS_IS_SCHEME_PANEL (self));
  g_return_if_fail (scheme != NULL);

  qs_scheme_object_get_scheme (self->scheme, scheme);
}

void
qs_scheme_panel_set_scheme (QsSchemePanel  *self,
                            const QsScheme *scheme)
{
  g_return_if_fail (QS_IS_SCHEME_PANEL (self));
  g_return_if_fail (scheme != NULL);

  self->loading = TRUE;
  qs_scheme_object_set_scheme (self->scheme, scheme);
  self->loading = FALSE;
  update_sensitivity (self);
}

QsSchemeObject *
qs_scheme_panel_get_scheme_object (QsSchemePanel *self)
{
  g_return_val_if_fail (QS_IS_SCHEME_PANEL (self), NULL);
  return self->scheme;
}

gboolean
qs_scheme_panel_get_only_this_tensor (QsSchemePanel *self)
{
  g_return_val_if_fail (QS_IS_SCHEME_PANEL (self), FALSE);
  return gtk_switch_get_active (self->override_switch);
}

void
qs_scheme_panel_set_only_this_tensor (QsSchemePanel *self,
                                      gboolean       only_this_tensor)
{
  g_return_if_fail (QS_IS_SCHEME_PANEL (self));
  gtk_switch_set_active (self->override_switch, only_this_tensor);
}

void
qs_scheme_panel_set_applies_to (QsSchemePanel *self,
                                const char    *text)
{
  g_return_if_fail (QS_IS_SCHEME_PANEL (self));

  if (g_strcmp0 (text, adw_action_row_get_subtitle (self->override_row)) == 0)
    return;
  adw_action_row_set_subtitle (self->override_row, text);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_APPLIES_TO]);
}

const char *
qs_scheme_panel_get_applies_to (QsSchemePanel *self)
{
  g_return_val_if_fail (QS_IS_SCHEME_PANEL (self), NULL);
  return adw_action_row_get_subtitle (self->override_row);
}

void
qs_scheme_panel_step_bits (QsSchemePanel *self,
                           int            delta)
{
  g_return_if_fail (QS_IS_SCHEME_PANEL (self));

  /* The adjustment clamps, as the spin button would. */
  gtk_adjustment_set_value (self->bits_adjustment, gtk_adjustment_get_value (self->bits_adjustment) + delta);
}

void
qs_scheme_panel_focus_first (QsSchemePanel *self)
{
  g_return_if_fail (QS_IS_SCHEME_PANEL (self));
  gtk_widget_grab_focus (GTK_WIDGET (self->format_row));
}

AdwPreferencesRow *
qs_scheme_panel_get_row (QsSchemePanel *self,
                         const char    *setting)
{
  const struct { const char *setting; gpointer row; } rows[] = {
    { "format", self->format_row },           { "bits", self->bits_row },
    { "mapping", self->mapping_row },         { "unsigned", self->unsigned_row },
    { "narrow", self->narrow_row },           { "granularity", self->granularity_row },
    { "group-size", self->group_size_row },   { "range-method", self->range_row },
    { "percentile", self->percentile_row },   { "manual-lo", self->manual_row },
    { "manual-hi", self->manual_row },        { "rounding", self->rounding_row },
    { "nudge-zero", self->nudge_row },
  };

  g_return_val_if_fail (QS_IS_SCHEME_PANEL (self), NULL);
  g_return_val_if_fail (setting != NULL, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    if (g_str_equal (rows[i].setting, setting))
      return ADW_PREFERENCES_ROW (rows[i].row);
  return NULL;
}

static void
bind_controls (QsSchemePanel *self)
{
  GBindingFlags flags = G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE;
  GtkWidget *rows[] = {
    GTK_WIDGET (self->bits_row), GTK_WIDGET (self->mapping_row), GTK_WIDGET (self->unsigned_row),
    GTK_WIDGET (self->narrow_row), GTK_WIDGET (self->rounding_row), GTK_WIDGET (self->nudge_row),
    GTK_WIDGET (self->granularity_row), GTK_WIDGET (self->range_row),
  };

  /* update_sensitivity() swaps in why a row does not apply. */
  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    g_object_set_data_full (G_OBJECT (rows[i]), "qs-own-tooltip",
                            g_strdup (gtk_widget_get_tooltip_text (rows[i])), g_free);

  g_object_bind_property (self->scheme, "format", self->format_row, "selected", flags);
  g_object_bind_property (self->scheme, "bits", self->bits_adjustment, "value", flags);
  g_object_bind_property (self->scheme, "mapping", self->mapping_row, "selected", flags);
  g_object_bind_property (self->scheme, "unsigned", self->unsigned_switch, "active", flags);
  g_object_bind_property (self->scheme, "narrow", self->narrow_switch, "active", flags);
  g_object_bind_property (self->scheme, "granularity", self->granularity_row, "selected", flags);
  g_object_bind_property (self->scheme, "range-method", self->range_row, "selected", flags);
  g_object_bind_property (self->scheme, "percentile", self->percentile_adjustment, "value", flags);
  g_object_bind_property (self->scheme, "manual-lo", self->manual_lo_adjustment, "value", flags);
  g_object_bind_property (self->scheme, "manual-hi", self->manual_hi_adjustment, "value", flags);
  g_object_bind_property (self->scheme, "rounding", self->rounding_row, "selected", flags);
  g_object_bind_property (self->scheme, "nudge-zero", self->nudge_switch, "active", flags);
  g_object_bind_property (self->scheme, "group-size", self->group_size_adjustment, "value", flags);
}

static void
qs_scheme_panel_dispose (GObject *object)
{
  QsSchemePanel *self = QS_SCHEME_PANEL (object);

  gtk_widget_dispose_template (GTK_WIDGET (self), QS_TYPE_SCHEME_PANEL);
  g_clear_object (&self->scheme);
  G_OBJECT_CLASS (qs_scheme_panel_parent_class)->dispose (object);
}

static void
qs_scheme_panel_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  QsSchemePanel *self = QS_SCHEME_PANEL (object);

  switch (prop_id)
    {
    case PROP_ONLY_THIS_TENSOR:
      g_value_set_boolean (value, qs_scheme_panel_get_only_this_tensor (self));
      break;
    case PROP_APPLIES_TO:
      g_value_set_string (value, qs_scheme_panel_get_applies_to (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
qs_scheme_panel_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  QsSchemePanel *self = QS_SCHEME_PANEL (object);

  switch (prop_id)
    {
    case PROP_ONLY_THIS_TENSOR:
      qs_scheme_panel_set_only_this_tensor (self, g_value_get_boolean (value));
      break;
    case PROP_APPLIES_TO:
      qs_scheme_panel_set_applies_to (self, g_value_get_string (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
qs_scheme_panel_class_init (QsSchemePanelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = qs_scheme_panel_dispose;
  object_class->get_property = qs_scheme_panel_get_property;
  object_class->set_property = qs_scheme_panel_set_property;

  properties[PROP_ONLY_THIS_TENSOR] =
    g_param_spec_boolean ("only-this-tensor", NULL, NULL, TRUE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_APPLIES_TO] =
    g_param_spec_string ("applies-to", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[SCHEME_CHANGED] = g_signal_new ("scheme-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/quantscope/Quantscope/qs-scheme-panel.ui");
  gtk_widget_class_bind_template_child (widget_class, QsSchemePanel, format_row);
  gtk_widget_class_bind_template_child (widget_class, QsSchemePanel, bits_row);
  gtk_widget_class_bind_template_child (widget_class, QsSchemePanel, bits_adjustment);
  gtk_widget_class_bind_template_child (widget_class, QsSchemePanel, mapping_row);
  gtk_widget_class_bind_template_child (widget_class, QsSchemePanel, unsigned_row);
  gtk_widget_class_bind_template_child (widget_class, QsSchemePanel, unsigned_switch);
  gtk_widget_class_bind_template_child (widget_class, QsSchemePanel, narrow_row);
  gtk_widget_class_bind_template_child (widget_class, QsSchemePanel, narrow_switch);
  gtk_widget_class_bind_template_child (widget_class, QsSchemePanel, granularity_row);
  gtk_widget_class_bind_template_child (widget_class, QsSchemePanel, group_size_row);
  gtk_widget_class_bind_template_child (widget_class, QsSchemePanel, group_size_adjustment);
  gtk_widget_class_bind_template_child (widget_class, QsSchemePanel, range_row);
  gtk_widget_class_bind_template_child (widget_class, QsSchemePanel, percentile_row);
  gtk_widget_class_bind_template_child (widget_class, QsSchemePanel, percentile_adjustment);
  gtk_widget_class_bind_template_child (widget_class, QsSchemePanel, manual_row);
  gtk_widget_class_bind_template_child (widget_class, QsSchemePanel, manual_lo_adjustment);
  gtk_widget_class_bind_template_child (widget_class, QsSchemePanel, manual_hi_adjustment);
  gtk_widget_class_bind_template_child (widget_class, QsSchemePanel, rounding_row);
  gtk_widget_class_bind_template_child (widget_class, QsSchemePanel, nudge_row);
  gtk_widget_class_bind_template_child (widget_class, QsSchemePanel, nudge_switch);
  gtk_widget_class_bind_template_child (widget_class, QsSchemePanel, override_row);
  gtk_widget_class_bind_template_child (widget_class, QsSchemePanel, override_switch);
}

/* A wheel turned over the bits slider or a spin button while the user
 * scrolls the panel would change the scheme, one undo step and one new
 * analysis per notch (and with "Only this tensor", give the tensor its
 * own scheme). Until the control has the keyboard focus, the wheel
 * scrolls the panel, by GTK's own step: page size to the 2/3. */
static gboolean
control_scroll_cb (GtkEventControllerScroll *controller,
                   double                    dx,
                   double                    dy,
                   QsSchemePanel            *self)
{
  GtkWidget *control = gtk_event_controller_get_widget (GTK_EVENT_CONTROLLER (controller));
  GtkWidget *scroller;
  GtkAdjustment *adjustment;

  if (gtk_widget_get_state_flags (control) & GTK_STATE_FLAG_FOCUS_WITHIN)
    return FALSE;
  scroller = gtk_widget_get_ancestor (GTK_WIDGET (self), GTK_TYPE_SCROLLED_WINDOW);
  if (scroller != NULL)
    {
      adjustment = gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (scroller));
      gtk_adjustment_set_value (adjustment, gtk_adjustment_get_value (adjustment)
                                            + dy * pow (gtk_adjustment_get_page_size (adjustment), 2.0 / 3.0));
    }
  return TRUE;
}

static void
pass_scrolling_to_panel (QsSchemePanel *self,
                         GtkWidget     *widget)
{
  if (GTK_IS_POPOVER (widget))
    return;  /* a combo row's list scrolls itself */
  if (GTK_IS_RANGE (widget) || GTK_IS_SPIN_BUTTON (widget))
    {
      GtkEventController *controller = gtk_event_controller_scroll_new (GTK_EVENT_CONTROLLER_SCROLL_VERTICAL);

      gtk_event_controller_set_propagation_phase (controller, GTK_PHASE_CAPTURE);
      g_signal_connect_object (controller, "scroll", G_CALLBACK (control_scroll_cb), self, 0);
      gtk_widget_add_controller (widget, controller);
      return;
    }
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL; child = gtk_widget_get_next_sibling (child))
    pass_scrolling_to_panel (self, child);
}

static void
qs_scheme_panel_init (QsSchemePanel *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  pass_scrolling_to_panel (self, GTK_WIDGET (self));

  self->scheme = qs_scheme_object_new ();
  bind_controls (self);
  update_sensitivity (self);
  g_signal_connect_object (self->scheme, "changed", G_CALLBACK (scheme_object_changed_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->override_switch, "notify::active", G_CALLBACK (override_switch_cb), self,
                           G_CONNECT_SWAPPED);
}

GtkWidget *
qs_scheme_panel_new (void)
{
  return g_object_new (QS_TYPE_SCHEME_PANEL, NULL);
}
