/* qs-window-actions.c: QsWindow's actions, files and settings.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "app/qs-window-private.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <glib/gi18n.h>

#include "app/qs-chart.h"
#include "app/qs-mixed-window.h"
#include "app/qs-sensitivity-window.h"
#include "app/qs-tensor-item.h"
#include "model/qs-error.h"
#include "model/qs-export.h"
#include "model/qs-format-text.h"
#include "model/qs-safe-scan.h"
#include "model/qs-scheme-file.h"
#include "model/qs-tensor-report.h"
#include "plot/qs-plot.h"

#define SETTINGS_SCHEMA_ID "io.github.quantscope.Quantscope"

/* ---- opening files ------------------------------------------------------ */

static void
open_in_thread (GTask        *task,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *cancellable)
{
  GFile *file = task_data;
  g_autofree char *path = g_file_get_path (file);
  g_autoptr(GError) error = NULL;
  QsWeightFile *weights;

  if (path == NULL)
    {
      g_task_return_new_error (task, QS_ERROR, QS_ERROR_NOT_FOUND,
                               _("Only local files can be opened"));
      return;
    }
  weights = qs_weight_file_open_full (path, QS_WEIGHT_FILE_FOLLOW_EXTERNAL_LINKS, &error);
  if (weights == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_pointer (task, weights, g_object_unref);
}

/* What went wrong, in words a user can act on; the reader's own message
 * (libhdf5's, perhaps) goes to the details. */
char *
_qs_window_open_error_title (const GError *error)
{
  if (g_error_matches (error, QS_ERROR, QS_ERROR_NOT_FOUND)
      || g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT)
      || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    return g_strdup (_("The file is not there any more"));
  if (g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_ACCES)
      || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED))
    return g_strdup (_("You may not read this file"));
  if (g_error_matches (error, QS_ERROR, QS_ERROR_NOT_HDF5))
    return g_strdup (_("This is not an HDF5 weight file, or it is damaged"));
  if (g_error_matches (error, QS_ERROR, QS_ERROR_TOO_LARGE))
    return g_strdup (_("The file is too large to open"));
  return g_strdup (_("The file is damaged: part of it cannot be read"));
}

static void
show_details_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  QsWindow *self = QS_WINDOW (widget);
  const char *text = g_variant_get_string (parameter, NULL);
  const char *newline = strchr (text, '\n');
  g_autofree char *heading = newline ? g_strndup (text, newline - text) : g_strdup (text);
  GtkWidget *dialog = adw_message_dialog_new (GTK_WINDOW (self), heading, newline ? newline + 1 : NULL);

  adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (dialog), "close", _("_Close"));
  adw_message_dialog_set_body_use_markup (ADW_MESSAGE_DIALOG (dialog), FALSE);
  gtk_window_present (GTK_WINDOW (dialog));
}

/* A short toast that fits, with the whole story one click away; the file
 * leaves the recent list, which only offers files that open. */
void
_qs_window_open_failed (QsWindow     *self,
                        GFile        *file,
                        const GError *error)
{
  g_autofree char *title = _qs_window_open_error_title (error);
  g_autofree char *name = g_file_get_parse_name (file);
  g_autofree char *uri = g_file_get_uri (file);
  g_autofree char *details = g_strdup_printf ("%s\n%s\n\n%s", title, name, error->message);
  AdwToast *toast = adw_toast_new (title);

  adw_toast_set_button_label (toast, _("Details"));
  adw_toast_set_action_name (toast, "win.show-details");
  adw_toast_set_action_target_value (toast, g_variant_new_string (details));
  adw_toast_set_timeout (toast, 10);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
  g_free (self->last_error_details);
  self->last_error_details = g_steal_pointer (&details);

  if (gtk_window_get_application (GTK_WINDOW (self)) != NULL
      && gtk_recent_manager_has_item (gtk_recent_manager_get_default (), uri))
    gtk_recent_manager_remove_item (gtk_recent_manager_get_default (), uri, NULL);
}

static void
open_done_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  QsWindow *self = QS_WINDOW (source);
  GFile *file = g_task_get_task_data (G_TASK (result));
  g_autoptr(QsWeightFile) weights = NULL;
  g_autoptr(QsDocument) document = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *uri = NULL;

  weights = g_task_propagate_pointer (G_TASK (result), &error);
  if (weights == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        _qs_window_open_failed (self, file, error);
      return;
    }

  document = qs_document_new (weights);
  _qs_window_set_document (self, document);

  /* Only the application's own windows: tests and benchmarks must not
   * write to the user's list of recent files. */
  uri = g_file_get_uri (file);
  if (gtk_window_get_application (GTK_WINDOW (self)) != NULL)
    gtk_recent_manager_add_item (gtk_recent_manager_get_default (), uri);
  if (self->settings != NULL)
    {
      g_autofree char *path = g_file_get_path (file);
      g_settings_set_string (self->settings, "last-file", path ? path : "");
    }
}

static void
open_in_process (QsWindow *self,
                 GFile    *file)
{
  g_autoptr(GTask) task = g_task_new (self, self->open_cancellable, open_done_cb, NULL);

  g_task_set_source_tag (task, qs_window_open_file);
  g_task_set_task_data (task, g_object_ref (file), g_object_unref);
  g_task_set_return_on_cancel (task, TRUE);
  g_task_run_in_thread (task, open_in_thread);
}

typedef struct {
  QsWindow *window;
  GFile    *file;
} ScanData;

static void
scan_done_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  ScanData *data = user_data;
  g_autoptr(QsWindow) self = data->window;
  g_autoptr(GFile) file = data->file;
  g_autoptr(QsScanResult) scan = NULL;
  g_autoptr(GError) error = NULL;

  g_free (data);
  scan = qs_weight_file_scan_finish (result, &error);
  if (scan == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        _qs_window_open_failed (self, file, error);
      return;
    }
  /* The metadata read without harm in a child process: safe to open here. */
  open_in_process (self, file);
}

void
qs_window_open_file (QsWindow *self,
                     GFile    *file)
{
  g_autofree char *path = NULL;
  g_autofree char *helper = NULL;
  ScanData *data;

  g_return_if_fail (QS_IS_WINDOW (self));
  g_return_if_fail (G_IS_FILE (file));

  /* A newer open makes an older one moot. */
  g_cancellable_cancel (self->open_cancellable);
  g_clear_object (&self->open_cancellable);
  self->open_cancellable = g_cancellable_new ();

  path = g_file_get_path (file);
  helper = qs_scan_helper_path ();
  if (path == NULL || helper == NULL)
    {
      /* No local path: the thread reports it. No helper (a broken install):
       * still open, only without the crash guard. */
      open_in_process (self, file);
      return;
    }

  /* HDF5 itself can crash on a damaged file: its metadata is read first
   * in a child process, so a crash there costs a message, not this
   * window's work. */
  data = g_new0 (ScanData, 1);
  data->window = g_object_ref (self);
  data->file = g_object_ref (file);
  qs_weight_file_scan_async (path, 0, self->open_cancellable, scan_done_cb, data);
}

/* File dialogs start beside the open document, else in the home folder:
 * never in the process's working directory. */
GFile *
_qs_window_start_folder (QsWindow *self)
{
  g_autofree char *dir = NULL;

  if (self->document == NULL)
    return g_file_new_for_path (g_get_home_dir ());
  dir = g_path_get_dirname (qs_weight_file_get_filename (qs_document_get_file (self->document)));
  return g_file_new_for_path (dir);
}

static void
set_start_folder (QsWindow       *self,
                  GtkFileChooser *chooser)
{
  g_autoptr(GFile) folder = _qs_window_start_folder (self);

  gtk_file_chooser_set_current_folder (chooser, folder, NULL);
}

static GtkFileFilter *
json_file_filter (void)
{
  GtkFileFilter *filter = gtk_file_filter_new ();

  gtk_file_filter_set_name (filter, _("Scheme files (JSON)"));
  gtk_file_filter_add_pattern (filter, "*.json");
  gtk_file_filter_add_mime_type (filter, "application/json");
  return filter;
}

static GtkFileFilter *
weight_file_filter (void)
{
  GtkFileFilter *filter = gtk_file_filter_new ();

  gtk_file_filter_set_name (filter, _("HDF5 weight files"));
  gtk_file_filter_add_pattern (filter, "*.h5");
  gtk_file_filter_add_pattern (filter, "*.hdf5");
  gtk_file_filter_add_pattern (filter, "*.keras");
  gtk_file_filter_add_mime_type (filter, "application/x-hdf5");
  gtk_file_filter_add_mime_type (filter, "application/x-hdf");
  return filter;
}

static void
open_response_cb (GtkNativeDialog *dialog,
                  int              response,
                  QsWindow        *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      if (file != NULL)
        qs_window_open_file (self, file);
    }
  gtk_native_dialog_destroy (dialog);
  g_object_unref (dialog);
  g_object_unref (self);
}

static void
open_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  QsWindow *self = QS_WINDOW (widget);
  GtkFileChooserNative *dialog;
  g_autoptr(GtkFileFilter) weights = weight_file_filter ();
  g_autoptr(GtkFileFilter) all = gtk_file_filter_new ();

  /* GTK 4.8 has no GtkFileDialog; the native chooser uses the portal. */
  dialog = gtk_file_chooser_native_new (_("Open Weight File"), GTK_WINDOW (self),
                                        GTK_FILE_CHOOSER_ACTION_OPEN, _("_Open"), _("_Cancel"));
  gtk_file_filter_set_name (all, _("All files"));
  gtk_file_filter_add_pattern (all, "*");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (dialog), weights);
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (dialog), all);
  set_start_folder (self, GTK_FILE_CHOOSER (dialog));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (dialog), TRUE);
  g_signal_connect (dialog, "response", G_CALLBACK (open_response_cb), g_object_ref (self));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

/* ---- data for accuracy ---------------------------------------------------- */

/* The data chosen for the open model, remembered per model file in the
 * "model-data" setting (transfer full; NULL: the bundled test set). */
char *
_qs_window_remembered_data (QsWindow *self)
{
  g_autoptr(GVariant) table = NULL;
  const char *model;
  char *data = NULL;

  if (self->settings == NULL || self->document == NULL)
    return NULL;
  model = qs_weight_file_get_filename (qs_document_get_file (self->document));
  table = g_settings_get_value (self->settings, "model-data");
  if (!g_variant_lookup (table, model, "s", &data))
    return NULL;
  return data;
}

void
_qs_window_remember_data (QsWindow   *self,
                          const char *data)
{
  g_autoptr(GVariant) table = NULL;
  g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("a{ss}"));
  const char *model, *key, *value;
  GVariantIter iter;

  if (self->settings == NULL || self->document == NULL)
    return;
  /* The setting is a{ss}: a GVariantDict would make it a{sv}, which
   * GSettings refuses, and the choice would be forgotten at once. */
  model = qs_weight_file_get_filename (qs_document_get_file (self->document));
  table = g_settings_get_value (self->settings, "model-data");
  g_variant_iter_init (&iter, table);
  while (g_variant_iter_next (&iter, "{&s&s}", &key, &value))
    if (!g_str_equal (key, model))
      g_variant_builder_add (&builder, "{ss}", key, value);
  if (data != NULL)
    g_variant_builder_add (&builder, "{ss}", model, data);
  g_settings_set_value (self->settings, "model-data", g_variant_builder_end (&builder));
}

static void
choose_data_response_cb (GtkNativeDialog *dialog,
                         int              response,
                         QsWindow        *self)
{
  if (response == GTK_RESPONSE_ACCEPT && self->document != NULL)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = file != NULL ? g_file_get_path (file) : NULL;

      if (path != NULL)
        {
          _qs_window_remember_data (self, path);
          qs_accuracy_job_set_data (self->accuracy, path);
          _qs_window_schedule_accuracy (self);
        }
    }
  gtk_native_dialog_destroy (dialog);
  g_object_unref (dialog);
  g_object_unref (self);
}

/* "win.use-bundled-data": back to the bundled test set. A folder once
 * chosen is remembered for the model, so without this the only way back
 * was editing the settings. */
static void
use_bundled_data_action (GtkWidget  *widget,
                         const char *action_name,
                         GVariant   *parameter)
{
  QsWindow *self = QS_WINDOW (widget);

  if (self->document == NULL)
    return;
  _qs_window_remember_data (self, NULL);
  qs_accuracy_job_set_data (self->accuracy, NULL);
  _qs_window_schedule_accuracy (self);
}

/* "win.choose-data": a folder of images (one subfolder per class, or
 * none); "win.choose-data-file": an idx or HDF5 data set. */
static void
choose_data_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  QsWindow *self = QS_WINDOW (widget);
  gboolean folder = g_str_equal (action_name, "win.choose-data");
  GtkFileChooserNative *dialog;

  dialog = gtk_file_chooser_native_new (folder ? _("Choose an Image Folder for Accuracy")
                                               : _("Choose a Data File for Accuracy"),
                                        GTK_WINDOW (self),
                                        folder ? GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER : GTK_FILE_CHOOSER_ACTION_OPEN,
                                        _("_Choose"), _("_Cancel"));
  set_start_folder (self, GTK_FILE_CHOOSER (dialog));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (dialog), TRUE);
  g_signal_connect (dialog, "response", G_CALLBACK (choose_data_response_cb), g_object_ref (self));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

static gboolean
drop_cb (GtkDropTarget *target,
         const GValue  *value,
         double         x,
         double         y,
         QsWindow      *self)
{
  GSList *files;

  if (!G_VALUE_HOLDS (value, GDK_TYPE_FILE_LIST))
    return FALSE;
  files = gdk_file_list_get_files (g_value_get_boxed (value));
  if (files == NULL)
    return FALSE;
  qs_window_open_file (self, files->data);
  g_slist_free (files);
  return TRUE;
}

void
_qs_window_init_file_drop (QsWindow *self)
{
  GtkDropTarget *target = gtk_drop_target_new (GDK_TYPE_FILE_LIST, GDK_ACTION_COPY);

  g_signal_connect (target, "drop", G_CALLBACK (drop_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (target));
}

/* ---- recent files ---------------------------------------------------------- */

#define RECENT_MAX 8

static void
open_recent_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  g_autoptr(GFile) file = g_file_new_for_uri (g_variant_get_string (parameter, NULL));

  qs_window_open_file (QS_WINDOW (widget), file);
}

/* Menu labels take "_" as a mnemonic: a file name keeps its underscores
 * ("inception_v3.h5") only doubled. */
char *
_qs_window_escape_mnemonic (const char *text)
{
  g_auto(GStrv) parts = g_strsplit (text, "_", -1);

  return g_strjoinv ("__", parts);
}

static gboolean
is_weight_file (GtkRecentInfo *info)
{
  const char *uri = gtk_recent_info_get_uri (info);

  return gtk_recent_info_exists (info)
         && (g_str_has_suffix (uri, ".h5") || g_str_has_suffix (uri, ".hdf5")
             || g_str_has_suffix (uri, ".keras"));
}

static int
newest_first (gconstpointer a,
              gconstpointer b)
{
  GDateTime *ta = gtk_recent_info_get_modified ((GtkRecentInfo *) a);
  GDateTime *tb = gtk_recent_info_get_modified ((GtkRecentInfo *) b);

  return g_date_time_compare (tb, ta);
}

/* The "Open Recent" section of the main menu: the last weight files opened
 * in Quantscope, newest first. */
static void
recent_changed_cb (GtkRecentManager *manager,
                   GMenu            *section)
{
  GList *items = gtk_recent_manager_get_items (manager);
  GList *weights = NULL;
  guint shown = 0;

  for (GList *l = items; l != NULL; l = l->next)
    if (is_weight_file (l->data) && gtk_recent_info_has_application (l->data, g_get_application_name ()))
      weights = g_list_prepend (weights, gtk_recent_info_ref (l->data));
  weights = g_list_sort (weights, newest_first);
  g_list_free_full (items, (GDestroyNotify) gtk_recent_info_unref);

  g_menu_remove_all (section);
  for (GList *l = weights; l != NULL && shown < RECENT_MAX; l = l->next, shown++)
    {
      GtkRecentInfo *info = l->data;
      g_autofree char *label = _qs_window_escape_mnemonic (gtk_recent_info_get_display_name (info));
      g_autoptr(GMenuItem) item = g_menu_item_new (label, NULL);
      g_menu_item_set_action_and_target_value (item, "win.open-recent",
                                                g_variant_new_string (gtk_recent_info_get_uri (info)));
      g_menu_append_item (section, item);
    }
  g_list_free_full (weights, (GDestroyNotify) gtk_recent_info_unref);
}

void
_qs_window_init_recent (QsWindow *self)
{
  GtkRecentManager *manager = gtk_recent_manager_get_default ();

  g_signal_connect_object (manager, "changed", G_CALLBACK (recent_changed_cb), self->recent_section, 0);
  recent_changed_cb (manager, self->recent_section);
}

/* ---- export of the plot ------------------------------------------------- */

/* The chart a plot dialog writes: the histogram or the channel ranges. */
typedef gboolean (*ChartExportFunc) (QsWindow    *self,
                                     const char  *path,
                                     GError     **error);

static gboolean
export_histogram (QsWindow    *self,
                  const char  *path,
                  GError     **error)
{
  return qs_histogram_view_export (self->histogram_view, path, 1200, 600, error);
}

static gboolean
export_channel_ranges (QsWindow    *self,
                       const char  *path,
                       GError     **error)
{
  return qs_channel_range_view_export (self->channel_view, path, 1200, 600, error);
}

/* Writes the chart to @path, never over the open model or its data; a
 * toast says how it went. */
static gboolean
export_plot (QsWindow        *self,
             const char      *path,
             ChartExportFunc  export)
{
  g_autoptr(GError) error = NULL;

  if (!qs_window_check_output (self, path, &error) || !export (self, path, &error))
    {
      g_autofree char *message = g_strdup_printf (_("Could not export the plot: %s"), error->message);

      qs_window_show_toast (self, message);
      return FALSE;
    }
  qs_window_show_toast (self, _("Plot exported"));
  return TRUE;
}

gboolean
_qs_window_export_histogram (QsWindow   *self,
                             const char *path)
{
  return export_plot (self, path, export_histogram);
}

static void
export_plot_response_cb (GtkNativeDialog *dialog,
                         int              response,
                         QsWindow        *self)
{
  ChartExportFunc export = g_object_get_data (G_OBJECT (dialog), "qs-chart-export");

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autofree char *path = qs_chart_export_chooser_path (GTK_FILE_CHOOSER (dialog));

      if (path != NULL)
        export_plot (self, path, export);
    }
  gtk_native_dialog_destroy (dialog);
  g_object_unref (dialog);
  g_object_unref (self);
}

/* "conv2d_1-kernel-histogram.png" for /model_weights/conv2d_1/conv2d_1/kernel:0:
 * every plot exported as "histogram.png" replaced the one before. The
 * path's parts without the Keras prefix, repeats and ":0", in characters
 * safe in any file system. */
static char *
plot_file_name (const QsTensorReport *report,
                const char           *what)
{
  const char *path = report->info->path;
  g_auto(GStrv) parts = NULL;
  g_autoptr(GString) name = g_string_new (NULL);
  const char *previous = NULL;

  if (g_str_has_prefix (path, "/model_weights/"))
    path += strlen ("/model_weights/");
  parts = g_strsplit (path, "/", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    {
      char *colon = strrchr (parts[i], ':');

      if (colon != NULL)
        *colon = '\0';
      if (parts[i][0] == '\0' || g_strcmp0 (parts[i], previous) == 0)
        continue;
      g_string_append_printf (name, "%s%s", name->len > 0 ? "-" : "", parts[i]);
      previous = parts[i];
    }
  for (gsize i = 0; i < name->len; i++)
    if (!g_ascii_isalnum (name->str[i]) && strchr ("-_.", name->str[i]) == NULL)
      name->str[i] = '_';
  g_string_append_printf (name, "%s%s.png", name->len > 0 ? "-" : "", what);
  return g_string_free (g_steal_pointer (&name), FALSE);
}

static void
show_plot_dialog (QsWindow        *self,
                  const char      *suggested_name,
                  ChartExportFunc  export)
{
  g_autoptr(GFile) folder = _qs_window_start_folder (self);
  GtkFileChooserNative *dialog = qs_chart_export_chooser_new (GTK_WINDOW (self), folder, suggested_name);

  g_object_set_data (G_OBJECT (dialog), "qs-chart-export", export);
  g_signal_connect (dialog, "response", G_CALLBACK (export_plot_response_cb), g_object_ref (self));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

static void
export_plot_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  QsWindow *self = QS_WINDOW (widget);

  if (qs_histogram_view_get_report (self->histogram_view) == NULL)
    {
      qs_window_show_toast (self, _("Select a tensor to plot first"));
      return;
    }
  {
    g_autofree char *name = plot_file_name (qs_histogram_view_get_report (self->histogram_view), "histogram");

    show_plot_dialog (self, name, export_histogram);
  }
}

/* The channel-range strip, as a figure of its own: a page shows what the
 * strip under the histogram shows. */
static void
export_channel_plot_action (GtkWidget  *widget,
                            const char *action_name,
                            GVariant   *parameter)
{
  QsWindow *self = QS_WINDOW (widget);
  QsTensorReport *report = qs_channel_range_view_get_report (self->channel_view);

  if (report == NULL || report->analysis.channels < 2)
    {
      qs_window_show_toast (self, _("Choose per-channel granularity to plot channel ranges"));
      return;
    }
  {
    g_autofree char *name = plot_file_name (report, "channels");

    show_plot_dialog (self, name, export_channel_ranges);
  }
}

/* ---- export of the weights and the scheme ------------------------------- */

static void
export_progress_cb (const QsExportProgress *progress,
                    gpointer                user_data)
{
  QsWindow *self = user_data;
  g_autofree char *text = NULL, *done = NULL, *total = NULL;

  if (progress->path == NULL || progress->tensors_total == 0)
    return;
  done = qs_format_count (progress->tensors_done + 1);
  total = qs_format_count (progress->tensors_total);
  text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "Exporting %s of %s tensor…", "Exporting %s of %s tensors…",
                                       progress->tensors_total),
                          done, total);
  adw_window_title_set_subtitle (self->window_title, text);
}

static void
export_done_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(QsWindow) self = user_data;
  g_autoptr(QsExportResult) exported = NULL;
  g_autoptr(GError) error = NULL;
  const char *path = qs_window_get_selected_path (self);

  adw_window_title_set_subtitle (self->window_title, path ? path : "");
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.export", TRUE);
  exported = qs_export_finish (result, &error);
  if (exported == NULL)
    {
      g_autofree char *message = g_strdup_printf (_("Export failed, nothing was written: %s"), error->message);
      qs_window_show_toast (self, message);
      return;
    }

  {
    g_autofree char *size = qs_format_size (exported->output_bytes);
    g_autofree char *basename = g_path_get_basename (exported->output);
    g_autofree char *folder = g_path_get_dirname (exported->output);
    g_autofree char *message = g_strdup_printf (_("Exported %s (%s)"), basename, size);
    AdwToast *toast = adw_toast_new (message);

    adw_toast_set_button_label (toast, _("Open Folder"));
    adw_toast_set_action_name (toast, "win.open-folder");
    adw_toast_set_action_target_value (toast, g_variant_new_string (folder));
    adw_toast_set_timeout (toast, 8);
    adw_toast_overlay_add_toast (self->toast_overlay, toast);
  }
}

/* Starts the export of the open document to @path with its schemes;
 * QS_EXPORT_LAYOUT_QUANTIZED writes the integer codes. */
void
_qs_window_export_to (QsWindow       *self,
                      const char     *path,
                      QsExportLayout  layout)
{
  g_return_if_fail (self->document != NULL);
  _qs_window_export_set_to (self, path, layout, qs_document_get_schemes (self->document));
}

/* The same with @schemes instead of the document's (a mixed-precision point). */
void
_qs_window_export_set_to (QsWindow       *self,
                          const char     *path,
                          QsExportLayout  layout,
                          QsSchemeSet    *schemes)
{
  QsExportOptions options;

  g_return_if_fail (self->document != NULL);

  qs_export_options_init (&options);
  options.layout = layout;
  /* The chooser already asked before replacing an existing file. */
  options.force = TRUE;
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.export", FALSE);
  qs_export_async (qs_document_get_file (self->document), path, schemes, &options,
                   export_progress_cb, self, NULL, NULL, export_done_cb, g_object_ref (self));
}

static void
export_response_cb (GtkNativeDialog *dialog,
                    int              response,
                    QsWindow        *self)
{
  if (response == GTK_RESPONSE_ACCEPT && self->document != NULL)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = file ? g_file_get_path (file) : NULL;
      const char *layout = gtk_file_chooser_get_choice (GTK_FILE_CHOOSER (dialog), "layout");

      QsSchemeSet *schemes = g_object_get_data (G_OBJECT (dialog), "schemes");

      if (path != NULL)
        _qs_window_export_set_to (self, path, g_strcmp0 (layout, "dequantized") == 0
                                              ? QS_EXPORT_LAYOUT_DEQUANTIZED : QS_EXPORT_LAYOUT_QUANTIZED,
                                  schemes != NULL ? schemes : qs_document_get_schemes (self->document));
    }
  gtk_native_dialog_destroy (dialog);
  g_object_unref (dialog);
  g_object_unref (self);
}

static char *
suggested_name (QsWindow   *self,
                const char *suffix)
{
  g_autofree char *basename = g_path_get_basename (qs_weight_file_get_filename (qs_document_get_file (self->document)));
  char *dot = strrchr (basename, '.');

  if (dot != NULL)
    *dot = '\0';
  return g_strconcat (basename, suffix, NULL);
}

static void
export_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  qs_window_export_schemes (QS_WINDOW (widget), NULL);
}

void
qs_window_export_schemes (QsWindow    *self,
                          QsSchemeSet *schemes)
{
  const char *layouts[] = { "quantized", "dequantized", NULL };
  const char *labels[] = { N_("Integer codes with scales"), N_("Dequantized float32 (drop-in for Keras)"), NULL };
  const char *translated[3] = { _(labels[0]), _(labels[1]), NULL };
  GtkFileChooserNative *dialog;
  g_autoptr(GtkFileFilter) filter = NULL;
  g_autofree char *name = NULL;

  g_return_if_fail (QS_IS_WINDOW (self));

  if (self->document == NULL)
    {
      qs_window_show_toast (self, _("Open a weight file first"));
      return;
    }
  dialog = gtk_file_chooser_native_new (_("Export Quantized Weights"), GTK_WINDOW (self),
                                        GTK_FILE_CHOOSER_ACTION_SAVE, _("_Export"), _("_Cancel"));
  if (schemes != NULL)
    g_object_set_data_full (G_OBJECT (dialog), "schemes", qs_scheme_set_ref (schemes),
                            (GDestroyNotify) qs_scheme_set_unref);
  name = suggested_name (self, "-int.h5");
  filter = weight_file_filter ();
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (dialog), filter);
  set_start_folder (self, GTK_FILE_CHOOSER (dialog));
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (dialog), name);
  gtk_file_chooser_add_choice (GTK_FILE_CHOOSER (dialog), "layout", _("Layout"), layouts, translated);
  gtk_file_chooser_set_choice (GTK_FILE_CHOOSER (dialog), "layout", "quantized");
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (dialog), TRUE);
  g_signal_connect (dialog, "response", G_CALLBACK (export_response_cb), g_object_ref (self));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

static void
save_scheme_response_cb (GtkNativeDialog *dialog,
                         int              response,
                         QsWindow        *self)
{
  if (response == GTK_RESPONSE_ACCEPT && self->document != NULL)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = file ? g_file_get_path (file) : NULL;
      g_autoptr(GError) error = NULL;

      if (path != NULL
          && (!qs_window_check_output (self, path, &error)
              || !qs_scheme_set_save (qs_document_get_schemes (self->document), path, &error)))
        {
          g_autofree char *message = g_strdup_printf (_("Could not save the scheme: %s"), error->message);
          qs_window_show_toast (self, message);
        }
      else if (path != NULL)
        qs_window_show_toast (self, _("Scheme saved"));
    }
  gtk_native_dialog_destroy (dialog);
  g_object_unref (dialog);
  g_object_unref (self);
}

static void
save_scheme_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  QsWindow *self = QS_WINDOW (widget);
  GtkFileChooserNative *dialog;
  g_autoptr(GtkFileFilter) filter = json_file_filter ();
  g_autofree char *name = NULL;

  if (self->document == NULL)
    return;
  dialog = gtk_file_chooser_native_new (_("Save Scheme"), GTK_WINDOW (self),
                                        GTK_FILE_CHOOSER_ACTION_SAVE, _("_Save"), _("_Cancel"));
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (dialog), filter);
  set_start_folder (self, GTK_FILE_CHOOSER (dialog));
  name = suggested_name (self, "-scheme.json");
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (dialog), name);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (dialog), TRUE);
  g_signal_connect (dialog, "response", G_CALLBACK (save_scheme_response_cb), g_object_ref (self));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

static void
load_scheme_response_cb (GtkNativeDialog *dialog,
                         int              response,
                         QsWindow        *self)
{
  if (response == GTK_RESPONSE_ACCEPT && self->document != NULL)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = file ? g_file_get_path (file) : NULL;
      g_autoptr(QsSchemeSet) schemes = NULL;
      g_autoptr(GError) error = NULL;

      if (path != NULL)
        schemes = qs_scheme_set_load (path, &error);
      if (schemes != NULL)
        {
          _qs_window_apply_schemes (self, schemes);
          qs_window_show_toast (self, _("Scheme loaded"));
        }
      else if (error != NULL)
        {
          g_autofree char *message = g_strdup_printf (_("Could not load the scheme: %s"), error->message);
          qs_window_show_toast (self, message);
        }
    }
  gtk_native_dialog_destroy (dialog);
  g_object_unref (dialog);
  g_object_unref (self);
}

static void
load_scheme_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  QsWindow *self = QS_WINDOW (widget);
  GtkFileChooserNative *dialog;
  g_autoptr(GtkFileFilter) filter = json_file_filter ();

  if (self->document == NULL)
    {
      qs_window_show_toast (self, _("Open a weight file first"));
      return;
    }
  dialog = gtk_file_chooser_native_new (_("Load Scheme"), GTK_WINDOW (self),
                                        GTK_FILE_CHOOSER_ACTION_OPEN, _("_Load"), _("_Cancel"));
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (dialog), filter);
  set_start_folder (self, GTK_FILE_CHOOSER (dialog));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (dialog), TRUE);
  g_signal_connect (dialog, "response", G_CALLBACK (load_scheme_response_cb), g_object_ref (self));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

static void
open_folder_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  g_autoptr(GFile) folder = g_file_new_for_path (g_variant_get_string (parameter, NULL));
  g_autofree char *uri = g_file_get_uri (folder);

  gtk_show_uri (GTK_WINDOW (widget), uri, GDK_CURRENT_TIME);
}

/* ---- navigation and scheme shortcuts ------------------------------------ */

static void
step_tensor (QsWindow *self,
             int       direction)
{
  guint n, position;

  if (self->selection == NULL)
    return;
  n = g_list_model_get_n_items (G_LIST_MODEL (self->selection));
  position = gtk_single_selection_get_selected (self->selection);
  if (n == 0 || position == GTK_INVALID_LIST_POSITION)
    return;
  if (direction > 0 && position + 1 < n)
    gtk_single_selection_set_selected (self->selection, position + 1);
  else if (direction < 0 && position > 0)
    gtk_single_selection_set_selected (self->selection, position - 1);
}

static void
next_tensor_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  step_tensor (QS_WINDOW (widget), +1);
}

static void
previous_tensor_action (GtkWidget  *widget,
                        const char *action_name,
                        GVariant   *parameter)
{
  step_tensor (QS_WINDOW (widget), -1);
}

static void
bits_up_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  QsWindow *self = QS_WINDOW (widget);
  qs_scheme_panel_step_bits (self->scheme_panel, +1);
}

static void
bits_down_action (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  QsWindow *self = QS_WINDOW (widget);
  qs_scheme_panel_step_bits (self->scheme_panel, -1);
}

static void
find_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  QsWindow *self = QS_WINDOW (widget);

  adw_flap_set_reveal_flap (self->flap, TRUE);
  gtk_widget_grab_focus (GTK_WIDGET (self->search_entry));
}

/* From the sidebar to the first scheme control in one key, not 25 Tabs. */
static void
focus_scheme_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  QsWindow *self = QS_WINDOW (widget);

  qs_scheme_panel_focus_first (self->scheme_panel);
}

/* @scheme for every tensor: one set, one undo step; the skip list stays. */
static void
apply_scheme_to_all (QsWindow       *self,
                     const QsScheme *scheme)
{
  g_autoptr(QsSchemeSet) without = NULL;
  g_autoptr(QsSchemeSet) schemes = NULL;

  without = qs_scheme_set_without_overrides (qs_document_get_schemes (self->document));
  schemes = qs_scheme_set_with_default (without, scheme);
  qs_document_set_schemes (self->document, schemes);
}

static void
apply_to_all_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  QsWindow *self = QS_WINDOW (widget);
  QsScheme scheme;

  if (self->document == NULL)
    return;
  qs_scheme_panel_get_scheme (self->scheme_panel, &scheme);
  apply_scheme_to_all (self, &scheme);
  qs_window_show_toast (self, _("Every tensor now uses this scheme"));
}

/* "channel": the default (TFLite's weights); "tensor": the seed notes'
 * scheme, so the lesson of collapsing per-tensor ranges is one click away. */
static void
weight_preset_action (GtkWidget  *widget,
                      const char *action_name,
                      GVariant   *parameter)
{
  QsWindow *self = QS_WINDOW (widget);
  gboolean per_tensor = g_str_equal (g_variant_get_string (parameter, NULL), "tensor");
  QsScheme current, scheme;

  if (self->document == NULL)
    return;
  if (per_tensor)
    qs_scheme_init_per_tensor (&scheme);
  else
    qs_scheme_init_default (&scheme);
  /* What the clip range controls start from, as the user left them. */
  qs_scheme_panel_get_scheme (self->scheme_panel, &current);
  scheme.manual_lo = current.manual_lo;
  scheme.manual_hi = current.manual_hi;
  apply_scheme_to_all (self, &scheme);
  qs_window_show_toast (self, per_tensor ? _("Every tensor now has one scale and one zero point")
                                         : _("Every tensor now has a scale per output channel"));
}

static void
undo_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  QsWindow *self = QS_WINDOW (widget);

  if (self->document != NULL)
    qs_document_undo (self->document);
}

static void
redo_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  QsWindow *self = QS_WINDOW (widget);

  if (self->document != NULL)
    qs_document_redo (self->document);
}

/* Back to the defaults for this file: an undo step like any other. */
static void
reset_schemes_action (GtkWidget  *widget,
                      const char *action_name,
                      GVariant   *parameter)
{
  QsWindow *self = QS_WINDOW (widget);
  g_autoptr(QsSchemeSet) schemes = qs_document_new_default_schemes ();

  if (self->document == NULL)
    return;
  qs_document_set_schemes (self->document, schemes);
  qs_window_show_toast (self, _("Schemes reset to the defaults (Ctrl+Z undoes it)"));
}

void
_qs_window_update_history_actions (QsWindow *self)
{
  gboolean has = self->document != NULL;

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.undo", has && qs_document_can_undo (self->document));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.redo", has && qs_document_can_redo (self->document));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.reset-schemes", has);
}

/* ---- number inspector --------------------------------------------------- */

static void
number_window_destroy_cb (GtkWidget *window,
                          QsWindow  *self)
{
  self->number_window = NULL;
  self->number_panel = NULL;
}

void
_qs_window_sync_number_panel (QsWindow *self)
{
  QsTensorReport *report = qs_histogram_view_get_report (self->histogram_view);
  g_autofree char *label = NULL;
  size_t channel;

  if (self->number_panel == NULL)
    return;
  if (report == NULL)
    {
      qs_number_panel_set_quantizer (self->number_panel, NULL, 0.0f, 0.0f, NULL);
      return;
    }
  channel = (size_t) CLAMP (self->shown_channel, 0, (int) report->params.channels - 1);
  label = report->params.channels > 1
          ? g_strdup_printf (_("%s, channel %u"), report->info->path, (guint) channel)
          : g_strdup (report->info->path);
  qs_number_panel_set_quantizer (self->number_panel, &report->scheme, report->params.scale[channel],
                                 report->params.zero_point[channel], label);
}

/* A tool window beside the main one (the inspectors): no larger by
 * default than a 1366×768 laptop screen shows whole, transient for it,
 * closed with it, hidden rather than destroyed when the user closes it so
 * it keeps its state; @destroy_cb forgets it when the main window goes. */
static GtkWindow *
new_tool_window (QsWindow   *self,
                 const char *title,
                 int         width,
                 int         height,
                 GtkWidget  *content,
                 GCallback   destroy_cb)
{
  GtkWidget *window = adw_window_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);

  gtk_window_set_title (GTK_WINDOW (window), title);
  gtk_window_set_transient_for (GTK_WINDOW (window), GTK_WINDOW (self));
  gtk_window_set_destroy_with_parent (GTK_WINDOW (window), TRUE);
  gtk_window_set_hide_on_close (GTK_WINDOW (window), TRUE);
  gtk_window_set_default_size (GTK_WINDOW (window), width, height);
  qs_window_add_close_shortcuts (GTK_WINDOW (window));
  gtk_widget_set_vexpand (content, TRUE);
  gtk_box_append (GTK_BOX (box), adw_header_bar_new ());
  gtk_box_append (GTK_BOX (box), content);
  adw_window_set_content (ADW_WINDOW (window), box);
  g_signal_connect_object (window, "destroy", destroy_cb, self, 0);
  return GTK_WINDOW (window);
}

QsNumberPanel *
_qs_window_present_number_inspector (QsWindow *self)
{
  if (self->number_window == NULL)
    {
      self->number_panel = QS_NUMBER_PANEL (qs_number_panel_new ());
      self->number_window = new_tool_window (self, _("Number Inspector"), 1180, 720,
                                             GTK_WIDGET (self->number_panel),
                                             G_CALLBACK (number_window_destroy_cb));
      _qs_window_sync_number_panel (self);
    }
  gtk_window_present (self->number_window);
  return self->number_panel;
}

static void
number_inspector_action (GtkWidget  *widget,
                         const char *action_name,
                         GVariant   *parameter)
{
  _qs_window_present_number_inspector (QS_WINDOW (widget));
}

/* ---- block inspector ---------------------------------------------------- */

static void
block_window_destroy_cb (GtkWidget *window,
                         QsWindow  *self)
{
  self->block_window = NULL;
  self->block_inspector = NULL;
}

void
_qs_window_sync_block_inspector (QsWindow *self)
{
  g_autoptr(GFile) folder = NULL;

  if (self->block_inspector == NULL)
    return;
  folder = _qs_window_start_folder (self);
  qs_block_inspector_set_report (self->block_inspector, qs_histogram_view_get_report (self->histogram_view),
                                 self->document, folder);
}

QsBlockInspector *
_qs_window_present_block_inspector (QsWindow *self)
{
  if (self->block_window == NULL)
    {
      self->block_inspector = QS_BLOCK_INSPECTOR (qs_block_inspector_new ());
      qs_block_inspector_set_job_service (self->block_inspector, self->jobs);
      self->block_window = new_tool_window (self, _("Block Inspector"), 1200, 720,
                                            GTK_WIDGET (self->block_inspector),
                                            G_CALLBACK (block_window_destroy_cb));
      _qs_window_sync_block_inspector (self);
    }
  gtk_window_present (self->block_window);
  return self->block_inspector;
}

static void
block_inspector_action (GtkWidget  *widget,
                        const char *action_name,
                        GVariant   *parameter)
{
  _qs_window_present_block_inspector (QS_WINDOW (widget));
}

static void
sensitivity_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  gtk_window_present (GTK_WINDOW (qs_sensitivity_window_new (QS_WINDOW (widget), 0)));
}

static void
mixed_precision_action (GtkWidget  *widget,
                        const char *action_name,
                        GVariant   *parameter)
{
  gtk_window_present (GTK_WINDOW (qs_mixed_window_new (QS_WINDOW (widget), 0)));
}

static const QsWindowAccel window_accels[] = {
  { "win.open", "<Control>o" },
  { "win.load-scheme", "<Control><Shift>o" },
  { "win.export", "<Control>e" },
  { "win.export-plot", "<Control><Shift>e" },
  { "win.save-scheme", "<Control>s" },
  { "win.next-tensor", "<Control>Page_Down" },
  { "win.previous-tensor", "<Control>Page_Up" },
  { "win.bits-up", "<Control>Up" },
  { "win.bits-down", "<Control>Down" },
  { "win.find", "<Control>f" },
  { "win.focus-scheme", "<Alt>s" },
  { "win.log-scale", "<Control>l" },
  { "win.number-inspector", "<Control>i" },
  { "win.block-inspector", "<Control>b" },
  { "win.undo", "<Control>z" },
  { "win.redo", "<Control><Shift>z" },
  { "win.choose-data", "<Control>d" },
  { "win.pin-a", "<Control><Shift>p" },
  { "win.overview", "<Control>m" },
};

const QsWindowAccel *
qs_window_get_accels (guint *n_accels)
{
  *n_accels = G_N_ELEMENTS (window_accels);
  return window_accels;
}

/* In the bubble phase, so that a focused widget with its own use of
 * Escape (a popover, a search entry) gets it first. */
void
qs_window_add_close_shortcuts (GtkWindow *window)
{
  static const char *const accels[] = { "Escape", "<Control>w" };
  GtkEventController *controller = gtk_shortcut_controller_new ();

  g_return_if_fail (GTK_IS_WINDOW (window));
  gtk_event_controller_set_name (controller, "qs-close-shortcuts");
  for (guint i = 0; i < G_N_ELEMENTS (accels); i++)
    gtk_shortcut_controller_add_shortcut (GTK_SHORTCUT_CONTROLLER (controller),
                                          gtk_shortcut_new (gtk_shortcut_trigger_parse_string (accels[i]),
                                                            gtk_named_action_new ("window.close")));
  gtk_widget_add_controller (GTK_WIDGET (window), controller);
}

/* In the capture phase, so that a focused list or spin button does not
 * turn Ctrl+Up into focus movement first. Application windows also get
 * these from the application's accelerators (the same phase): whichever
 * runs first handles the key. */
void
_qs_window_init_shortcuts (QsWindow *self)
{
  GtkEventController *controller = gtk_shortcut_controller_new ();

  gtk_event_controller_set_name (controller, "qs-window-shortcuts");
  gtk_event_controller_set_propagation_phase (controller, GTK_PHASE_CAPTURE);
  gtk_shortcut_controller_set_scope (GTK_SHORTCUT_CONTROLLER (controller), GTK_SHORTCUT_SCOPE_MANAGED);
  for (guint i = 0; i < G_N_ELEMENTS (window_accels); i++)
    gtk_shortcut_controller_add_shortcut (GTK_SHORTCUT_CONTROLLER (controller),
                                          gtk_shortcut_new (gtk_shortcut_trigger_parse_string (window_accels[i].accel),
                                                            gtk_named_action_new (window_accels[i].action)));
  gtk_widget_add_controller (GTK_WIDGET (self), controller);
}

void
_qs_window_class_install_actions (GtkWidgetClass *widget_class)
{
  gtk_widget_class_install_action (widget_class, "win.open", NULL, open_action);
  gtk_widget_class_install_action (widget_class, "win.export-plot", NULL, export_plot_action);
  gtk_widget_class_install_action (widget_class, "win.export-channel-plot", NULL, export_channel_plot_action);
  gtk_widget_class_install_action (widget_class, "win.export", NULL, export_action);
  gtk_widget_class_install_action (widget_class, "win.save-scheme", NULL, save_scheme_action);
  gtk_widget_class_install_action (widget_class, "win.open-folder", "s", open_folder_action);
  gtk_widget_class_install_action (widget_class, "win.open-recent", "s", open_recent_action);
  gtk_widget_class_install_action (widget_class, "win.show-details", "s", show_details_action);
  gtk_widget_class_install_action (widget_class, "win.next-tensor", NULL, next_tensor_action);
  gtk_widget_class_install_action (widget_class, "win.previous-tensor", NULL, previous_tensor_action);
  gtk_widget_class_install_action (widget_class, "win.bits-up", NULL, bits_up_action);
  gtk_widget_class_install_action (widget_class, "win.bits-down", NULL, bits_down_action);
  gtk_widget_class_install_action (widget_class, "win.find", NULL, find_action);
  gtk_widget_class_install_action (widget_class, "win.focus-scheme", NULL, focus_scheme_action);
  gtk_widget_class_install_action (widget_class, "win.load-scheme", NULL, load_scheme_action);
  gtk_widget_class_install_action (widget_class, "win.apply-to-all", NULL, apply_to_all_action);
  gtk_widget_class_install_action (widget_class, "win.weight-preset", "s", weight_preset_action);
  gtk_widget_class_install_action (widget_class, "win.undo", NULL, undo_action);
  gtk_widget_class_install_action (widget_class, "win.redo", NULL, redo_action);
  gtk_widget_class_install_action (widget_class, "win.reset-schemes", NULL, reset_schemes_action);
  gtk_widget_class_install_action (widget_class, "win.number-inspector", NULL, number_inspector_action);
  gtk_widget_class_install_action (widget_class, "win.block-inspector", NULL, block_inspector_action);
  gtk_widget_class_install_action (widget_class, "win.choose-data", NULL, choose_data_action);
  gtk_widget_class_install_action (widget_class, "win.choose-data-file", NULL, choose_data_action);
  gtk_widget_class_install_action (widget_class, "win.use-bundled-data", NULL, use_bundled_data_action);
  gtk_widget_class_install_action (widget_class, "win.sensitivity", NULL, sensitivity_action);
  gtk_widget_class_install_action (widget_class, "win.mixed-precision", NULL, mixed_precision_action);
  _qs_window_class_install_view_actions (widget_class);
  gtk_widget_class_install_property_action (widget_class, "win.log-scale", "log-scale");
  gtk_widget_class_install_property_action (widget_class, "win.show-quantized", "show-quantized");
  gtk_widget_class_install_property_action (widget_class, "win.sort-by-sqnr", "sort-by-sqnr");

}

/* ---- settings ----------------------------------------------------------- */

/* How many files' scheme sets the settings remember, most recent first. */
#define REMEMBERED_FILES 30

static const char *
document_key (QsDocument *document)
{
  return qs_weight_file_get_filename (qs_document_get_file (document));
}

void
_qs_window_save_schemes (QsWindow *self)
{
  g_autoptr(GVariant) old = NULL;
  g_autofree char *json = NULL;
  GVariantBuilder builder;
  GVariantIter iter;
  const char *file, *text;
  guint kept = 1;

  if (self->settings == NULL || self->document == NULL)
    return;
  json = qs_scheme_set_to_data (qs_document_get_schemes (self->document), NULL);
  old = g_settings_get_value (self->settings, "file-schemes");
  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(ss)"));
  g_variant_builder_add (&builder, "(ss)", document_key (self->document), json);
  g_variant_iter_init (&iter, old);
  while (kept < REMEMBERED_FILES && g_variant_iter_next (&iter, "(&s&s)", &file, &text))
    if (!g_str_equal (file, document_key (self->document)))
      {
        g_variant_builder_add (&builder, "(ss)", file, text);
        kept++;
      }
  g_settings_set_value (self->settings, "file-schemes", g_variant_builder_end (&builder));
}

QsSchemeSet *
_qs_window_saved_schemes (QsWindow   *self,
                          QsDocument *document)
{
  g_autoptr(GVariant) saved = NULL;
  GVariantIter iter;
  const char *file, *text;

  if (self->settings == NULL)
    return qs_document_new_default_schemes ();
  saved = g_settings_get_value (self->settings, "file-schemes");
  g_variant_iter_init (&iter, saved);
  while (g_variant_iter_next (&iter, "(&s&s)", &file, &text))
    if (g_str_equal (file, document_key (document)))
      {
        /* A set this program wrote; if it no longer reads, start afresh. */
        QsSchemeSet *schemes = qs_scheme_set_load_from_data (text, -1, "settings", NULL);
        return schemes != NULL ? schemes : qs_document_new_default_schemes ();
      }
  return qs_document_new_default_schemes ();
}

static void
window_state_cb (QsWindow   *self,
                 GParamSpec *pspec,
                 gpointer    user_data)
{
  int width, height;

  if (self->settings == NULL)
    return;
  gtk_window_get_default_size (GTK_WINDOW (self), &width, &height);
  g_settings_set_boolean (self->settings, "window-maximized", gtk_window_is_maximized (GTK_WINDOW (self)));
  if (!gtk_window_is_maximized (GTK_WINDOW (self)) && width > 0 && height > 0)
    {
      g_settings_set_int (self->settings, "window-width", width);
      g_settings_set_int (self->settings, "window-height", height);
    }
}

void
_qs_window_init_settings (QsWindow *self)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr(GSettingsSchema) schema = NULL;

  /* Running from the build tree without the schema installed must still
   * work: the app then simply remembers nothing. */
  if (source != NULL)
    schema = g_settings_schema_source_lookup (source, SETTINGS_SCHEMA_ID, TRUE);
  if (schema == NULL)
    return;

  self->settings = g_settings_new (SETTINGS_SCHEMA_ID);
  gtk_window_set_default_size (GTK_WINDOW (self),
                               g_settings_get_int (self->settings, "window-width"),
                               g_settings_get_int (self->settings, "window-height"));
  if (g_settings_get_boolean (self->settings, "window-maximized"))
    gtk_window_maximize (GTK_WINDOW (self));
  g_object_set (self->histogram_view,
                "log-scale", g_settings_get_boolean (self->settings, "log-scale"),
                "show-quantized", g_settings_get_boolean (self->settings, "show-quantized"),
                NULL);

  g_signal_connect (self, "notify::default-width", G_CALLBACK (window_state_cb), NULL);
  g_signal_connect (self, "notify::default-height", G_CALLBACK (window_state_cb), NULL);
  g_signal_connect (self, "notify::maximized", G_CALLBACK (window_state_cb), NULL);
}

/* ---- model size --------------------------------------------------------- */

void
_qs_window_update_model_size (QsWindow *self)
{
  guint64 fp32_bytes, quant_bytes;

  if (self->document == NULL)
    return;
  qs_document_model_size (self->document, &fp32_bytes, &quant_bytes);
  qs_results_panel_set_model_size (self->results_panel, fp32_bytes, quant_bytes);
}

void
_qs_window_cancel_background (QsWindow *self)
{
  g_cancellable_cancel (self->open_cancellable);
  g_clear_object (&self->open_cancellable);
  _qs_window_cancel_jobs (self);
}

/* ---- latency ------------------------------------------------------------ */

void
_qs_window_record_latency (QsWindow *self,
                           gint64    requested_usec)
{
  gint64 latency = g_get_monotonic_time () - requested_usec;

  g_array_append_val (self->latencies, latency);
}
