/* qs-window.h: the main window: tensors, histogram, scheme controls and results.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "app/qs-document.h"
#include "app/qs-job-service.h"

G_BEGIN_DECLS

#define QS_TYPE_WINDOW (qs_window_get_type ())
G_DECLARE_FINAL_TYPE (QsWindow, qs_window, QS, WINDOW, AdwApplicationWindow)

QsWindow   *qs_window_new          (GtkApplication *application);
/* Opens @file off the main thread; on failure a toast names the problem
 * and the current document stays open. */
void        qs_window_open_file    (QsWindow *self,
                                    GFile    *file);
QsDocument *qs_window_get_document (QsWindow *self);
/* The window's one job service (transfer none): tool windows request their work from it. */
QsJobService *qs_window_get_jobs   (QsWindow *self);
/* The data chosen for the open model (Choose Data), or NULL for the
 * bundled test set (transfer full): what accuracy and the searches score. */
char       *qs_window_dup_data_path (QsWindow *self);
/* The tensor shown (transfer none), or NULL. */
const char *qs_window_get_selected_path (QsWindow *self);
gboolean    qs_window_select_path  (QsWindow   *self,
                                    const char *path);
/* Asks where to export the open file's weights under @schemes (NULL: the
 * document's), as Export… does. */
void        qs_window_export_schemes (QsWindow    *self,
                                      QsSchemeSet *schemes);
/* FALSE, with the reason, when writing @path would replace the open
 * model (or the config.json its Keras 3 weights are read with) or the
 * data chosen for it. */
gboolean    qs_window_check_output (QsWindow    *self,
                                    const char  *path,
                                    GError     **error);
void        qs_window_show_toast   (QsWindow   *self,
                                    const char *message);

/* The window's keyboard shortcuts: the application registers them as
 * accelerators (so the shortcuts window shows them), and each window
 * handles them before focus movement does (Ctrl+Up in the tensor list). */
typedef struct {
  const char *action;
  const char *accel;
} QsWindowAccel;

const QsWindowAccel *qs_window_get_accels (guint *n_accels);

/* Escape and Ctrl+W close @window, as in a dialog: for the windows that
 * open beside the main one (inspectors, compare, overview, searches). */
void qs_window_add_close_shortcuts (GtkWindow *window);

G_END_DECLS
