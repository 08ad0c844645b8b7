/* qs-mixed-window.h: mixed precision within an accuracy budget, its explored points as a size-versus-accuracy chart.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "app/qs-window.h"

G_BEGIN_DECLS

#define QS_TYPE_MIXED_WINDOW (qs_mixed_window_get_type ())
G_DECLARE_FINAL_TYPE (QsMixedWindow, qs_mixed_window, QS, MIXED_WINDOW, AdwWindow)

/* A window searching @window's model from its current scheme set, on the
 * bundled test set's first @limit images (0: all). */
QsMixedWindow *qs_mixed_window_new          (QsWindow      *window,
                                             guint          limit);
/* Requests a search from the main window's job service (what the Search
 * button does); FALSE with the reason shown when @bits does not parse.
 * Supersedes a search in flight; one run before is answered from the cache. */
gboolean       qs_mixed_window_start        (QsMixedWindow *self,
                                             double         budget_points,
                                             const char    *bits);
gboolean       qs_mixed_window_is_finished  (QsMixedWindow *self);
const char    *qs_mixed_window_get_status   (QsMixedWindow *self);
/* Whether the result shown came from the job service's cache. */
gboolean       qs_mixed_window_is_cached    (QsMixedWindow *self);
/* Points scored, in the order scored; the one the search chose, or -1. */
guint          qs_mixed_window_get_n_points (QsMixedWindow *self);
int            qs_mixed_window_get_chosen   (QsMixedWindow *self);
/* What clicking point @index does: shows its per-layer choices. */
void           qs_mixed_window_select_point (QsMixedWindow *self,
                                             guint          index);
/* Point @index's size, top-1 and per-layer choices, each marked with the
 * document's current precision where they differ (transfer full). */
char          *qs_mixed_window_describe_point (QsMixedWindow *self,
                                               guint          index);
/* Makes the selected point's scheme set the document's (the Apply button). */
void           qs_mixed_window_apply        (QsMixedWindow *self);
/* Writes the selected point's scheme set as a scheme file, atomically
 * (Save as Scheme File…). Errors: QS_ERROR_WRITE. */
gboolean       qs_mixed_window_save         (QsMixedWindow *self,
                                             const char    *path,
                                             GError       **error);

G_END_DECLS
