/* qs-scheme-panel.h: the scheme controls: format, bits, mapping, granularity, range method and what a change applies to.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "app/qs-scheme-object.h"

G_BEGIN_DECLS

#define QS_TYPE_SCHEME_PANEL (qs_scheme_panel_get_type ())
G_DECLARE_FINAL_TYPE (QsSchemePanel, qs_scheme_panel, QS, SCHEME_PANEL, AdwBin)

/* Signals: "scheme-changed" (no arguments) when the user edits the scheme
 * through the controls, never when qs_scheme_panel_set_scheme() loads one.
 * Properties: "only-this-tensor" (the "Only this tensor" switch) and
 * "applies-to" (the line under it saying what a change affects). */
GtkWidget      *qs_scheme_panel_new                (void);

/* The scheme the controls show and edit. */
void            qs_scheme_panel_get_scheme         (QsSchemePanel  *self,
                                                    QsScheme       *scheme);
/* Shows @scheme without emitting "scheme-changed". */
void            qs_scheme_panel_set_scheme         (QsSchemePanel  *self,
                                                    const QsScheme *scheme);
/* The object the controls are bound to (transfer none): setting one of
 * its properties is an edit, as if made in the controls. */
QsSchemeObject *qs_scheme_panel_get_scheme_object  (QsSchemePanel  *self);

gboolean        qs_scheme_panel_get_only_this_tensor (QsSchemePanel *self);
void            qs_scheme_panel_set_only_this_tensor (QsSchemePanel *self,
                                                      gboolean       only_this_tensor);
void            qs_scheme_panel_set_applies_to     (QsSchemePanel  *self,
                                                    const char     *text);
const char     *qs_scheme_panel_get_applies_to     (QsSchemePanel  *self);

/* An edit of the bits by @delta, clamped to the range the controls allow. */
void            qs_scheme_panel_step_bits          (QsSchemePanel  *self,
                                                    int             delta);
/* Moves the keyboard focus to the first control. */
void            qs_scheme_panel_focus_first        (QsSchemePanel  *self);

/* The row that edits @setting, a QsSchemeObject property name such as
 * "bits" or "group-size"; NULL for an unknown name (transfer none). Its
 * sensitivity and tooltip say whether the setting applies, and why not. */
AdwPreferencesRow *qs_scheme_panel_get_row         (QsSchemePanel  *self,
                                                    const char     *setting);

G_END_DECLS
