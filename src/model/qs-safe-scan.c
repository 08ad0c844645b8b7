/* qs-safe-scan.c: reading a weight file's metadata in a child process, so a crash there cannot take the GUI down.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "model/qs-safe-scan.h"

#include <signal.h>
#include <string.h>

#include <glib/gstdio.h>

#include "model/qs-error.h"
#include "model/qs-json.h"

/* Output beyond this is not a listing but a runaway child. */
#define MAX_OUTPUT_BYTES ((gsize) 512 << 20)

void
qs_scan_result_free (QsScanResult *result)
{
  if (result == NULL)
    return;
  g_free (result->filename);
  g_free (result->layout);
  g_clear_pointer (&result->tensors, g_ptr_array_unref);
  g_clear_pointer (&result->warnings, g_ptr_array_unref);
  g_free (result);
}

char *
qs_scan_helper_path (void)
{
  const char *env = g_getenv ("QS_SCAN_HELPER");
  g_autofree char *self = NULL;

  if (env != NULL && env[0] != '\0')
    return g_strdup (env);

  /* Installed side by side (bin/quantscope and bin/quantscope-cli); in the
   * build tree the GUI is in src/app and the CLI in src/cli. */
  self = g_file_read_link ("/proc/self/exe", NULL);
  if (self != NULL)
    {
      g_autofree char *dir = g_path_get_dirname (self);
      g_autofree char *beside = g_build_filename (dir, "quantscope-cli", NULL);
      g_autofree char *build_tree = g_build_filename (dir, "..", "cli", "quantscope-cli", NULL);

      if (g_file_test (beside, G_FILE_TEST_IS_EXECUTABLE))
        return g_steal_pointer (&beside);
      if (g_file_test (build_tree, G_FILE_TEST_IS_EXECUTABLE))
        return g_steal_pointer (&build_tree);
    }
  return g_find_program_in_path ("quantscope-cli");
}

/* ---- turning the child's output into a result --------------------------- */

static const char *
member_string (JsonObject *object,
               const char *name)
{
  const char *value = NULL;

  (void) qs_json_node_get_string (json_object_get_member (object, name), &value);
  return value;
}

static gboolean
member_bool (JsonObject *object,
             const char *name)
{
  gboolean value = FALSE;

  (void) qs_json_node_get_bool (json_object_get_member (object, name), &value);
  return value;
}

static gint64
member_int (JsonObject *object,
            const char *name,
            gint64      fallback)
{
  gint64 value = fallback;

  (void) qs_json_node_get_int (json_object_get_member (object, name), &value);
  return value;
}

static QsTensorRole
role_from_string (const char *text)
{
  for (QsTensorRole role = QS_TENSOR_ROLE_KERNEL; role <= QS_TENSOR_ROLE_OTHER; role++)
    if (g_strcmp0 (text, qs_tensor_role_to_string (role)) == 0)
      return role;
  return QS_TENSOR_ROLE_OTHER;
}

static QsTensorInfo *
tensor_from_json (JsonObject *object)
{
  QsTensorInfo *info;
  JsonNode *shape = json_object_get_member (object, "shape");
  const char *path = member_string (object, "path");

  if (path == NULL || shape == NULL || !JSON_NODE_HOLDS_ARRAY (shape))
    return NULL;

  info = g_new0 (QsTensorInfo, 1);
  info->path = g_strdup (path);
  info->stored_path = g_strdup (member_string (object, "stored_path"));
  info->layer = g_strdup (member_string (object, "layer") != NULL ? member_string (object, "layer") : "");
  info->dtype = g_strdup (member_string (object, "dtype") != NULL ? member_string (object, "dtype") : "unknown");
  info->role = role_from_string (member_string (object, "role"));
  info->big_endian = member_bool (object, "big_endian");
  info->quantizable = member_bool (object, "quantizable");
  info->count = (uint64_t) member_int (object, "count", 0);
  info->channel_axis = (int) member_int (object, "channel_axis", -1);
  info->rank = (int) MIN (json_array_get_length (json_node_get_array (shape)), QS_MAX_RANK);
  for (int d = 0; d < info->rank; d++)
    {
      gint64 size = 0;

      (void) qs_json_node_get_int (qs_json_array_element (json_node_get_array (shape), d), &size);
      info->shape[d] = size;
    }
  return info;
}

static QsScanResult *
result_from_json (const char  *filename,
                  const char  *text,
                  gsize        length,
                  GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(QsScanResult) result = g_new0 (QsScanResult, 1);
  g_autofree char *display = g_filename_display_name (filename);
  JsonObject *root;
  JsonNode *tensors, *warnings;

  if (!qs_json_parser_load (parser, text, length, QS_JSON_MAX_SCAN_BYTES, "the listing", NULL)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    goto bad;
  root = json_node_get_object (json_parser_get_root (parser));
  tensors = json_object_get_member (root, "tensors");
  if (tensors == NULL || !JSON_NODE_HOLDS_ARRAY (tensors))
    goto bad;

  result->filename = g_strdup (filename);
  result->layout = g_strdup (member_string (root, "layout") != NULL ? member_string (root, "layout") : "generic");
  result->has_model_config = member_bool (root, "has_model_config");
  result->tensors = g_ptr_array_new_with_free_func ((GDestroyNotify) qs_tensor_info_free);
  result->warnings = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < json_array_get_length (json_node_get_array (tensors)); i++)
    {
      JsonNode *node = json_array_get_element (json_node_get_array (tensors), i);
      QsTensorInfo *info = JSON_NODE_HOLDS_OBJECT (node) ? tensor_from_json (json_node_get_object (node)) : NULL;

      if (info == NULL)
        goto bad;
      g_ptr_array_add (result->tensors, info);
    }

  warnings = json_object_get_member (root, "warnings");
  if (warnings != NULL && JSON_NODE_HOLDS_ARRAY (warnings))
    for (guint i = 0; i < json_array_get_length (json_node_get_array (warnings)); i++)
      {
        const char *line = json_array_get_string_element (json_node_get_array (warnings), i);
        if (line != NULL)
          g_ptr_array_add (result->warnings, g_strdup (line));
      }

  return g_steal_pointer (&result);

bad:
  g_set_error (error, QS_ERROR, QS_ERROR_FAILED,
               "Scanning “%s” gave an unreadable listing", display);
  return NULL;
}

/* ---- the child ---------------------------------------------------------- */

typedef struct {
  char         *filename;
  GSubprocess  *process;
  GSource      *timeout;
  guint         timeout_ms;
  gboolean      timed_out;
} ScanJob;

static void
scan_job_free (gpointer data)
{
  ScanJob *job = data;

  if (job->timeout != NULL)
    {
      g_source_destroy (job->timeout);
      g_source_unref (job->timeout);
    }
  g_clear_object (&job->process);
  g_free (job->filename);
  g_free (job);
}

static gboolean
timeout_cb (gpointer data)
{
  ScanJob *job = data;

  /* Killing the child closes its pipes, which ends the communicate call. */
  job->timed_out = TRUE;
  g_subprocess_force_exit (job->process);
  return G_SOURCE_REMOVE;
}

/* The child's one-line message without the program name. */
static char *
child_message (GBytes *err)
{
  gsize length = 0;
  const char *data = err != NULL ? g_bytes_get_data (err, &length) : NULL;
  g_autofree char *text = NULL;
  char *newline;
  const char *message;

  if (data == NULL || length == 0)
    return NULL;
  text = g_utf8_make_valid (data, MIN (length, 4096));
  newline = strchr (text, '\n');
  if (newline != NULL)
    *newline = '\0';
  message = g_str_has_prefix (text, "quantscope-cli: ") ? text + strlen ("quantscope-cli: ") : text;
  return message[0] != '\0' ? g_strdup (message) : NULL;
}

static void
communicate_cb (GObject      *source,
                GAsyncResult *res,
                gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ScanJob *job = g_task_get_task_data (task);
  g_autofree char *display = g_filename_display_name (job->filename);
  g_autoptr(GBytes) out = NULL;
  g_autoptr(GBytes) err = NULL;
  g_autoptr(GError) error = NULL;
  QsScanResult *result;
  const char *data;
  gsize length;

  if (!g_subprocess_communicate_finish (job->process, res, &out, &err, &error))
    {
      g_subprocess_force_exit (job->process);
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_task_return_error (task, g_steal_pointer (&error));
      else
        g_task_return_new_error (task, QS_ERROR, QS_ERROR_FAILED,
                                 "Scanning “%s” failed: %s", display, error->message);
      return;
    }

  if (job->timed_out)
    {
      g_task_return_new_error (task, QS_ERROR, QS_ERROR_FAILED,
                               "Scanning “%s” took longer than %u s and was stopped; the file may be damaged",
                               display, (job->timeout_ms + 999) / 1000);
      return;
    }
  if (g_subprocess_get_if_signaled (job->process))
    {
      int signum = g_subprocess_get_term_sig (job->process);

      g_task_return_new_error (task, QS_ERROR, QS_ERROR_FAILED,
                               "Reading “%s” crashed the HDF5 reader (signal %d, %s); the file is damaged",
                               display, signum, g_strsignal (signum));
      return;
    }
  if (g_subprocess_get_exit_status (job->process) != 0)
    {
      g_autofree char *message = child_message (err);

      if (message != NULL)
        g_task_return_new_error (task, QS_ERROR, QS_ERROR_NOT_HDF5, "%s", message);
      else
        g_task_return_new_error (task, QS_ERROR, QS_ERROR_FAILED,
                                 "Scanning “%s” failed (exit status %d)",
                                 display, g_subprocess_get_exit_status (job->process));
      return;
    }

  data = out != NULL ? g_bytes_get_data (out, &length) : NULL;
  if (data == NULL || length == 0 || length > MAX_OUTPUT_BYTES)
    {
      g_task_return_new_error (task, QS_ERROR, QS_ERROR_FAILED,
                               "Scanning “%s” gave no listing", display);
      return;
    }
  result = result_from_json (job->filename, data, length, &error);
  if (result == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_pointer (task, result, (GDestroyNotify) qs_scan_result_free);
}

/* QS_SCAN_DEFAULT_TIMEOUT_MS plus the time to read every value of
 * @filename at QS_SCAN_MIN_BYTES_PER_MS (the child reads them all). */
static guint
default_timeout_ms (const char *filename)
{
  GStatBuf st;
  guint64 reading = g_stat (filename, &st) == 0 ? (guint64) st.st_size / QS_SCAN_MIN_BYTES_PER_MS : 0;

  return QS_SCAN_DEFAULT_TIMEOUT_MS + (guint) MIN (reading, G_GUINT64_CONSTANT (86400000));
}

void
qs_weight_file_scan_async (const char          *filename,
                           guint                timeout_ms,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *helper = NULL;
  g_autofree char *argument = NULL;
  ScanJob *job;

  g_return_if_fail (filename != NULL);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, qs_weight_file_scan_async);
  job = g_new0 (ScanJob, 1);
  job->filename = g_strdup (filename);
  job->timeout_ms = timeout_ms > 0 ? timeout_ms : default_timeout_ms (filename);
  g_task_set_task_data (task, job, scan_job_free);

  helper = qs_scan_helper_path ();
  if (helper == NULL)
    {
      g_task_return_new_error (task, QS_ERROR, QS_ERROR_FAILED,
                               "Cannot scan files: quantscope-cli is not installed");
      return;
    }

  /* A name starting with '-' would read as an option. */
  argument = filename[0] == '-' ? g_strconcat ("./", filename, NULL) : g_strdup (filename);
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE
                                        | G_SUBPROCESS_FLAGS_STDOUT_PIPE
                                        | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  /* Its JSON is parsed here: no translated messages in the way. */
  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C.UTF-8", TRUE);
  /* --check-data: every value is read too, in the child, since damage
   * can crash libhdf5 only when values are read (a chunk's filters, a
   * contiguous dataset's address); only then may the app read any. */
  job->process = g_subprocess_launcher_spawn (launcher, &error, helper, "layers", "--json",
                                              "--check-data", argument, NULL);
  if (job->process == NULL)
    {
      g_task_return_new_error (task, QS_ERROR, QS_ERROR_FAILED,
                               "Cannot start the file scanner: %s", error->message);
      return;
    }

  job->timeout = g_timeout_source_new (job->timeout_ms);
  g_source_set_callback (job->timeout, timeout_cb, job, NULL);
  g_source_attach (job->timeout, g_main_context_get_thread_default ());

  {
    /* Nothing to say to it: its standard input is closed at once. */
    g_autoptr(GBytes) nothing = g_bytes_new_static ("", 0);

    g_subprocess_communicate_async (job->process, nothing, cancellable, communicate_cb,
                                    g_steal_pointer (&task));
  }
}

QsScanResult *
qs_weight_file_scan_finish (GAsyncResult  *result,
                            GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
sync_done_cb (GObject      *source,
              GAsyncResult *res,
              gpointer      user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (res);
}

QsScanResult *
qs_weight_file_scan (const char    *filename,
                     guint          timeout_ms,
                     GCancellable  *cancellable,
                     GError       **error)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GAsyncResult) res = NULL;

  g_main_context_push_thread_default (context);
  qs_weight_file_scan_async (filename, timeout_ms, cancellable, sync_done_cb, &res);
  while (res == NULL)
    g_main_context_iteration (context, TRUE);
  g_main_context_pop_thread_default (context);

  return qs_weight_file_scan_finish (res, error);
}
