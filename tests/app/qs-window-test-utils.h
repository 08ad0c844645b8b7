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

G_END_DECLS
