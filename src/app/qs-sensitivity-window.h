/* qs-sensitivity-window.h: which layer hurts, measured in the background and ranked as bars.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "app/qs-window.h"

G_BEGIN_DECLS

#define QS_TYPE_SENSITIVITY_WINDOW (qs_sensitivity_window_get_type ())
G_DECLARE_FINAL_TYPE (QsSensitivityWindow, qs_sensitivity_window, QS, SENSITIVITY_WINDOW, AdwWindow)

/* Measures each layer of @window's model under its current scheme set on
 * the bundled test set (each layer quantized alone, and kept in float32),
 * through @window's job service: a ranking on the first 200 images, then
 * on all (the first @limit; 0: the whole set), again whenever the
 * document's scheme set changes. Closing the window cancels
 * the work; reopening it on the same set is answered from the cache. */
QsSensitivityWindow *qs_sensitivity_window_new          (QsWindow            *window,
                                                         guint                limit);
/* Whether the ranking shown came from the job service's cache. */
gboolean             qs_sensitivity_window_is_cached    (QsSensitivityWindow *self);
/* Whether the full ranking (or an error) is shown. */
gboolean             qs_sensitivity_window_is_finished  (QsSensitivityWindow *self);
/* What the line above the bars says (transfer none). */
const char          *qs_sensitivity_window_get_status   (QsSensitivityWindow *self);
/* The bars shown, most accuracy lost first. */
guint                qs_sensitivity_window_get_n_bars   (QsSensitivityWindow *self);
const char          *qs_sensitivity_window_get_bar_tensor (QsSensitivityWindow *self,
                                                           guint                index);
/* What clicking bar @index does: shows its layer's tensor in the main window. */
void                 qs_sensitivity_window_activate_bar (QsSensitivityWindow *self,
                                                         guint                index);

G_END_DECLS
