/* qs-cli-export.c: `quantscope-cli export IN.h5 OUT.h5 [scheme options] [--scheme-file FILE] [--json]`.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include <glib/gi18n.h>
#include <glib-unix.h>

#include "cli/qs-cli.h"
#include "model/qs-error.h"
#include "model/qs-export.h"
#include "model/qs-input-file.h"
#include "model/qs-json.h"
#include "model/qs-tensor-stream.h"

typedef struct {
  GMainLoop      *loop;
  GCancellable   *cancellable;
  QsExportResult *result;
  GError         *error;
  int             signal;        /* the signal that interrupted us, or 0 */
  gboolean        show_progress;
} ExportRun;

static gboolean
interrupt_cb (gpointer user_data)
{
  ExportRun *run = user_data;

  /* The export notices between blocks, removes its temporary file and
   * returns; the loop ends when it has. */
  if (run->signal == 0)
    run->signal = SIGINT;
  g_cancellable_cancel (run->cancellable);
  return G_SOURCE_CONTINUE;
}

static gboolean
terminate_cb (gpointer user_data)
{
  ExportRun *run = user_data;

  if (run->signal == 0)
    run->signal = SIGTERM;
  g_cancellable_cancel (run->cancellable);
  return G_SOURCE_CONTINUE;
}

static void
progress_cb (const QsExportProgress *progress,
             gpointer                user_data)
{
  ExportRun *run = user_data;

  if (!run->show_progress)
    return;
  if (progress->path == NULL)
    fputs ("\r\033[K", stderr);
  else
    fprintf (stderr, "\r\033[K[%u/%u] %3.0f%% %s", progress->tensors_done, progress->tensors_total,
             progress->bytes_total > 0 ? 100.0 * progress->bytes_done / progress->bytes_total : 100.0,
             qs_cli_safe (progress->path));
  fflush (stderr);
}

static void
export_done_cb (GObject      *source,
                GAsyncResult *res,
                gpointer      user_data)
{
  ExportRun *run = user_data;

  run->result = qs_export_finish (res, &run->error);
  g_main_loop_quit (run->loop);
}

static void
print_summary (const QsExportResult *result)
{
  guint quantized = 0, copied;
  g_autofree char *quantized_text = NULL;
  g_autofree char *copied_text = NULL;

  for (guint i = 0; i < result->tensors->len; i++)
    quantized += ((QsExportTensor *) g_ptr_array_index (result->tensors, i))->quantized;
  copied = result->tensors->len - quantized;
  quantized_text = g_strdup_printf (ngettext ("%u tensor quantized", "%u tensors quantized", quantized), quantized);
  copied_text = g_strdup_printf (ngettext ("%u copied unchanged", "%u copied unchanged", copied), copied);

  /* TRANSLATORS: the second and third %s are "N tensors quantized" and "N copied unchanged". */
  printf (_("Wrote %s (%s%s): %s, %s; %.1f MiB → %.1f MiB\n"),
          qs_cli_safe (result->output), qs_export_layout_to_string (result->layout),
          result->packed ? _(", packed") : "", quantized_text, copied_text,
          result->input_bytes / 1048576.0, result->output_bytes / 1048576.0);
  for (guint i = 0; i < result->warnings->len; i++)
    printf (_("Warning: %s\n"), qs_cli_safe (g_ptr_array_index (result->warnings, i)));
}

int
qs_cli_export (int    argc,
               char **argv)
{
  g_autofree char *scheme_file = NULL;
  g_autofree char *tensors = NULL;
  g_autofree char *layout = NULL;
  g_autofree char *budget_text = NULL;
  gboolean pack = FALSE, force = FALSE, json = FALSE;
  QsCliSchemeOptions scheme_options = { 0 };
  const GOptionEntry entries[] = {
    { "scheme-file", 's', 0, G_OPTION_ARG_FILENAME, &scheme_file, N_("Schemes per tensor from a scheme file (docs/scheme-file.md)"), "FILE" },
    { "tensors", 't', 0, G_OPTION_ARG_STRING, &tensors, N_("Quantize only tensors whose path matches GLOB; copy the rest"), "GLOB" },
    { "layout", 'l', 0, G_OPTION_ARG_STRING, &layout, N_("quantized (integer codes, default) or dequantized (float, loadable by Keras)"), "LAYOUT" },
    { "pack", 0, 0, G_OPTION_ARG_NONE, &pack, N_("Bit-pack codes of 2 to 7 bits"), NULL },
    { "force", 0, 0, G_OPTION_ARG_NONE, &force, N_("Replace OUT if it exists"), NULL },
    { "memory-budget", 'm', 0, G_OPTION_ARG_STRING, &budget_text, N_("Stream tensors larger than half of SIZE (default: a quarter of RAM, at most 4G)"), "SIZE" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print a JSON summary"), NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new (_("IN.h5 OUT.h5 — write quantized weights"));
  g_autoptr(GError) error = NULL;
  g_autoptr(QsWeightFile) file = NULL;
  g_autoptr(QsSchemeSet) schemes = NULL;
  g_autoptr(GCancellable) cancellable = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  QsExportOptions options;
  ExportRun run = { 0, };
  guint sigint_id, sigterm_id;
  int status;

  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  g_option_context_add_group (context, qs_cli_scheme_option_group (&scheme_options));
  if (!qs_cli_parse (context, &argc, &argv, &status))
    {
      qs_cli_scheme_options_clear (&scheme_options);
      return status;
    }
  schemes = qs_cli_load_schemes (scheme_file, &scheme_options, NULL, &error);
  qs_cli_scheme_options_clear (&scheme_options);
  if (schemes == NULL)
    return qs_cli_fail (error);

  if (argc != 3)
    return qs_cli_fail_message (_("export takes IN.h5 and OUT.h5"));
  /* The model itself is checked by qs_export_file(), for the app too. */
  if (!qs_output_check_not_input (argv[2], (const char *[]) { scheme_file }, 1, &error))
    return qs_cli_fail (error);

  qs_export_options_init (&options);
  options.pack = pack;
  options.force = force;
  options.tensors = tensors;
  options.n_threads = scheme_options.threads;
  if (layout != NULL && !qs_export_layout_parse (layout, &options.layout))
    return qs_cli_fail_message (_("unknown layout “%s” (use quantized or dequantized)"), layout);
  if (budget_text != NULL && !qs_memory_budget_parse (budget_text, &options.memory_budget, &error))
    return qs_cli_fail (error);
  if (pack && options.layout != QS_EXPORT_LAYOUT_QUANTIZED)
    return qs_cli_fail_message (_("--pack applies to the quantized layout only"));

  file = qs_cli_open_weights (argv[1], QS_WEIGHT_FILE_FOLLOW_EXTERNAL_LINKS, &error);
  if (file == NULL)
    return qs_cli_fail (error);

  /* The export runs in a worker thread; this one waits for it and for
   * SIGINT/SIGTERM, which cancel it cleanly (no temporary file left). */
  cancellable = g_cancellable_new ();
  loop = g_main_loop_new (NULL, FALSE);
  run.loop = loop;
  run.cancellable = cancellable;
  run.show_progress = !json && isatty (STDERR_FILENO);
  sigint_id = g_unix_signal_add (SIGINT, interrupt_cb, &run);
  sigterm_id = g_unix_signal_add (SIGTERM, terminate_cb, &run);

  qs_export_async (file, argv[2], schemes, &options, progress_cb, &run, NULL,
                   cancellable, export_done_cb, &run);
  g_main_loop_run (loop);

  g_source_remove (sigint_id);
  g_source_remove (sigterm_id);

  if (run.result == NULL)
    {
      g_autoptr(GError) failure = run.error;

      if (run.signal != 0 && g_error_matches (failure, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_autofree char *display = g_filename_display_name (argv[2]);

          fprintf (stderr, _("quantscope-cli: interrupted; “%s” was not written\n"), qs_cli_safe (display));
          return 128 + run.signal;
        }
      return qs_cli_fail (failure);
    }

  if (json)
    {
      g_autoptr(JsonNode) node = qs_export_result_to_json (run.result);
      g_autofree char *text = qs_json_to_string (node, TRUE);
      qs_cli_print_json (text);
    }
  else
    print_summary (run.result);
  qs_export_result_free (run.result);
  return 0;
}
