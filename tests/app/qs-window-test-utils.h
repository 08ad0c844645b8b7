/* qs-window-test-utils.h: driving a real QsWindow from a test's main loop.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "app/qs-window-private.h"

G_BEGIN_DECLS

#define QS_WINDOW_TEST_TIMEOUT_USEC (60 * G_USEC_PER_SEC)

/* Runs the main loop until @done returns TRUE; aborts the test after
 * QS_WINDOW_TEST_TIMEOUT_USEC. */
void      qs_window_test_wait_for      (gboolean (*done) (QsWindow *),
                                        QsWindow  *window);
gboolean  qs_window_test_has_report    (QsWindow *window);
gboolean  qs_window_test_is_idle       (QsWindow *window);
/* A presented window with @path open and its first analysis shown. */
QsWindow *qs_window_test_open          (const char *path);
/* Waits for queued work, then destroys @window. */
void      qs_window_test_close         (QsWindow *window);

/* The window's panels, through their own API. */
const char        *qs_window_test_result     (QsWindow    *window,
                                              QsResultRow  row);
AdwPreferencesRow *qs_window_test_scheme_row (QsWindow    *window,
                                              const char  *setting);
int                qs_window_test_shown_int  (QsWindow    *window,
                                              const char  *setting);
/* An edit of @setting in the scheme panel, as the user makes it. */
void               qs_window_test_edit_int   (QsWindow    *window,
                                              const char  *setting,
                                              int          value);

/* The first of @widget and its descendants that @match accepts, or NULL. */
GtkWidget         *qs_test_find_widget       (GtkWidget   *widget,
                                              gboolean   (*match) (GtkWidget     *widget,
                                                                   gconstpointer  data),
                                              gconstpointer data);
/* The first of @widget and its descendants that is a @type, or NULL. */
GtkWidget         *qs_test_find_descendant   (GtkWidget   *widget,
                                              GType        type);

G_END_DECLS
