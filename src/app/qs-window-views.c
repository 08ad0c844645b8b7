/* qs-window-views.c: QsWindow's compare and overview windows: opening them and keeping them on the window's tensor.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "app/qs-window-private.h"

#include <glib/gi18n.h>

#include "app/qs-compare-view.h"
#include "app/qs-overview-view.h"

#define COMPARE_KEY "qs-compare-view"
#define OVERVIEW_KEY "qs-overview-view"

/* Set on the compare view while its A is a set pinned from the document. */
#define PINNED_KEY "qs-pinned-from-document"

/* The window's open view under @key, or NULL. */
static GtkWindow *
find_view (QsWindow   *self,
           const char *key)
{
  return g_object_get_data (G_OBJECT (self), key);
}

static void
view_destroyed_cb (GtkWindow *view,
                   QsWindow  *self)
{
  const char *key = g_object_get_data (G_OBJECT (view), "qs-key");

  if (g_object_get_data (G_OBJECT (self), key) == view)
    g_object_set_data (G_OBJECT (self), key, NULL);
}

static void
remember_view (QsWindow   *self,
               GtkWindow  *view,
               const char *key)
{
  g_object_set_data (G_OBJECT (view), "qs-key", (gpointer) key);
  g_object_set_data (G_OBJECT (self), key, view);
  gtk_window_set_destroy_with_parent (view, TRUE);
  qs_window_add_close_shortcuts (view);
  g_signal_connect_object (view, "destroy", G_CALLBACK (view_destroyed_cb), self, 0);
}

void
_qs_window_sync_compare (QsWindow *self)
{
  QsCompareView *view = (QsCompareView *) find_view (self, COMPARE_KEY);

  if (view != NULL)
    qs_compare_view_set_tensor (view, qs_window_get_selected_path (self));
}

/* Another file is open: the overview shows it; compare compares on it,
 * unless its A is the old file's pinned set, which means nothing for
 * another model: then it closes. */
void
_qs_window_follow_document (QsWindow *self)
{
  QsOverviewView *overview = (QsOverviewView *) find_view (self, OVERVIEW_KEY);
  QsCompareView *compare = (QsCompareView *) find_view (self, COMPARE_KEY);

  if (overview != NULL)
    qs_overview_view_set_document (overview, self->document);
  if (compare == NULL || qs_compare_view_get_document (compare) == self->document)
    return;
  if (g_object_get_data (G_OBJECT (compare), PINNED_KEY) != NULL)
    {
      gtk_window_destroy (GTK_WINDOW (compare));
      return;
    }
  qs_compare_view_set_document (compare, self->document);
  _qs_window_sync_compare (self);
}

QsCompareView *
_qs_window_present_compare (QsWindow *self)
{
  QsCompareView *view;

  if (self->document == NULL)
    {
      qs_window_show_toast (self, _("Open a weight file first"));
      return NULL;
    }
  view = (QsCompareView *) find_view (self, COMPARE_KEY);
  if (view == NULL)
    {
      view = qs_compare_view_new (GTK_WINDOW (self), self->jobs, self->accuracy, self->document);
      remember_view (self, GTK_WINDOW (view), COMPARE_KEY);
      qs_compare_view_set_side (view, QS_COMPARE_SIDE_B, NULL, _("current scheme"));
      qs_compare_view_set_tensor (view, qs_window_get_selected_path (self));
    }
  gtk_window_present (GTK_WINDOW (view));
  return view;
}

/* Pins the set on show as A; B keeps following the edits. */
static void
pin_a_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  QsWindow *self = QS_WINDOW (widget);
  QsCompareView *view = _qs_window_present_compare (self);

  if (view == NULL)
    return;
  qs_compare_view_set_side (view, QS_COMPARE_SIDE_A, qs_document_get_schemes (self->document),
                            _("pinned scheme"));
  g_object_set_data (G_OBJECT (view), PINNED_KEY, self->document);
  qs_compare_view_set_side (view, QS_COMPARE_SIDE_B, NULL, _("current scheme"));
  qs_window_show_toast (self, _("Pinned as A: keep editing to compare B"));
}

void
_qs_window_compare_files (QsWindow   *self,
                          const char *path_a,
                          const char *path_b)
{
  const char *paths[] = { path_a, path_b };
  QsSchemeSet *sets[2] = { NULL, NULL };
  QsCompareView *view;

  for (int s = 0; s < 2; s++)
    {
      g_autoptr(GError) error = NULL;

      sets[s] = qs_scheme_set_load (paths[s], &error);
      if (sets[s] == NULL)
        {
          g_autofree char *message = g_strdup_printf (_("Could not load the scheme file: %s"), error->message);

          qs_window_show_toast (self, message);
          g_clear_pointer (&sets[0], qs_scheme_set_unref);
          return;
        }
    }
  view = _qs_window_present_compare (self);
  if (view != NULL)
    g_object_set_data (G_OBJECT (view), PINNED_KEY, NULL);
  for (int s = 0; s < 2 && view != NULL; s++)
    {
      g_autofree char *name = g_path_get_basename (paths[s]);

      qs_compare_view_set_side (view, (QsCompareSide) s, sets[s], name);
    }
  for (int s = 0; s < 2; s++)
    qs_scheme_set_unref (sets[s]);
}

static void
compare_files_response_cb (GtkNativeDialog *dialog,
                           int              response,
                           QsWindow        *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GListModel) files = gtk_file_chooser_get_files (GTK_FILE_CHOOSER (dialog));

      if (g_list_model_get_n_items (files) == 2)
        {
          g_autoptr(GFile) a = g_list_model_get_item (files, 0);
          g_autoptr(GFile) b = g_list_model_get_item (files, 1);
          g_autofree char *path_a = g_file_get_path (a);
          g_autofree char *path_b = g_file_get_path (b);

          _qs_window_compare_files (self, path_a, path_b);
        }
      else
        qs_window_show_toast (self, _("Choose exactly two scheme files"));
    }
  gtk_native_dialog_destroy (dialog);
  g_object_unref (dialog);
  g_object_unref (self);
}

static void
compare_files_action (GtkWidget  *widget,
                      const char *action_name,
                      GVariant   *parameter)
{
  QsWindow *self = QS_WINDOW (widget);
  GtkFileChooserNative *dialog;
  g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();
  g_autoptr(GFile) folder = NULL;

  if (self->document == NULL)
    {
      qs_window_show_toast (self, _("Open a weight file first"));
      return;
    }
  dialog = gtk_file_chooser_native_new (_("Choose Two Scheme Files"), GTK_WINDOW (self),
                                        GTK_FILE_CHOOSER_ACTION_OPEN, _("_Compare"), _("_Cancel"));
  gtk_file_filter_set_name (filter, _("Scheme files (JSON)"));
  gtk_file_filter_add_pattern (filter, "*.json");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (dialog), filter);
  gtk_file_chooser_set_select_multiple (GTK_FILE_CHOOSER (dialog), TRUE);
  folder = _qs_window_start_folder (self);
  gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (dialog), folder, NULL);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (dialog), TRUE);
  g_signal_connect (dialog, "response", G_CALLBACK (compare_files_response_cb), g_object_ref (self));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

static void
tensor_activated_cb (QsOverviewView *view,
                     const char     *path,
                     QsWindow       *self)
{
  qs_window_select_path (self, path);
  gtk_window_present (GTK_WINDOW (self));
}

QsOverviewView *
_qs_window_present_overview (QsWindow *self)
{
  QsOverviewView *view;

  if (self->document == NULL)
    {
      qs_window_show_toast (self, _("Open a weight file first"));
      return NULL;
    }
  view = (QsOverviewView *) find_view (self, OVERVIEW_KEY);
  if (view == NULL)
    {
      view = qs_overview_view_new (GTK_WINDOW (self), self->jobs, self->accuracy, self->document);
      remember_view (self, GTK_WINDOW (view), OVERVIEW_KEY);
      g_signal_connect_object (view, "tensor-activated", G_CALLBACK (tensor_activated_cb), self, 0);
    }
  gtk_window_present (GTK_WINDOW (view));
  return view;
}

static void
overview_action (GtkWidget  *widget,
                 const char *action_name,
                 GVariant   *parameter)
{
  _qs_window_present_overview (QS_WINDOW (widget));
}

void
_qs_window_class_install_view_actions (GtkWidgetClass *widget_class)
{
  gtk_widget_class_install_action (widget_class, "win.pin-a", NULL, pin_a_action);
  gtk_widget_class_install_action (widget_class, "win.compare-files", NULL, compare_files_action);
  gtk_widget_class_install_action (widget_class, "win.overview", NULL, overview_action);
}
