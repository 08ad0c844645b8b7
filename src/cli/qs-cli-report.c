/* qs-cli-report.c: `quantscope-cli report MODEL [scheme options | --scheme-file F] --format json|csv|md [--out FILE]`.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <glib/gi18n.h>

#include "cli/qs-cli.h"
#include "model/qs-input-file.h"
#include "model/qs-json.h"
#include "model/qs-output-file.h"
#include "model/qs-overview.h"
#include "model/qs-tensor-stream.h"

typedef enum {
  REPORT_JSON,
  REPORT_CSV,
  REPORT_MARKDOWN,
} ReportFormat;

static gboolean
parse_format (const char   *text,
              ReportFormat *format)
{
  if (text == NULL || strcmp (text, "json") == 0)
    *format = REPORT_JSON;
  else if (strcmp (text, "csv") == 0)
    *format = REPORT_CSV;
  else if (strcmp (text, "md") == 0 || strcmp (text, "markdown") == 0)
    *format = REPORT_MARKDOWN;
  else
    return FALSE;
  return TRUE;
}

static char *
format_overview (const QsOverview *overview,
                 ReportFormat      format)
{
  switch (format)
    {
    case REPORT_CSV:
      return qs_overview_to_csv (overview);
    case REPORT_MARKDOWN:
      return qs_overview_to_markdown (overview);
    case REPORT_JSON:
    default:
      {
        g_autoptr(JsonNode) node = qs_overview_to_json (overview);
        g_autofree char *json = qs_json_to_string (node, TRUE);

        return g_strconcat (json, "\n", NULL);
      }
    }
}

int
qs_cli_report (int    argc,
               char **argv)
{
  g_autofree char *scheme_file = NULL;
  g_autofree char *format_text = NULL;
  g_autofree char *out = NULL;
  g_autofree char *budget_text = NULL;
  g_autofree char *text = NULL;
  QsCliSchemeOptions scheme_options = { 0 };
  const GOptionEntry entries[] = {
    { "scheme-file", 's', 0, G_OPTION_ARG_FILENAME, &scheme_file, N_("Schemes per tensor from a scheme file (docs/scheme-file.md)"), "FILE" },
    { "format", 0, 0, G_OPTION_ARG_STRING, &format_text, N_("json (default), csv or md"), "FORMAT" },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out, N_("Write to FILE instead of standard output"), "FILE" },
    { "memory-budget", 'm', 0, G_OPTION_ARG_STRING, &budget_text, N_("Stream tensors larger than half of SIZE (default: a quarter of RAM, at most 4G)"), "SIZE" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new (_("MODEL — every tensor's error and size, worst first"));
  g_autoptr(GError) error = NULL;
  g_autoptr(QsWeightFile) file = NULL;
  g_autoptr(QsSchemeSet) schemes = NULL;
  g_autoptr(QsOverview) overview = NULL;
  ReportFormat format;
  guint64 budget = 0;
  int status, threads;

  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  g_option_context_add_group (context, qs_cli_scheme_option_group (&scheme_options));
  if (!qs_cli_parse (context, &argc, &argv, &status))
    {
      qs_cli_scheme_options_clear (&scheme_options);
      return status;
    }
  threads = scheme_options.threads;
  schemes = qs_cli_load_schemes (scheme_file, &scheme_options, NULL, &error);
  qs_cli_scheme_options_clear (&scheme_options);
  if (schemes == NULL)
    return qs_cli_fail (error);

  if (!parse_format (format_text, &format))
    return qs_cli_fail_message (_("unknown report format “%s” (use json, csv or md)"), format_text);
  if (budget_text != NULL && !qs_memory_budget_parse (budget_text, &budget, &error))
    return qs_cli_fail (error);
  if (argc != 2)
    return qs_cli_fail_message (_("report takes exactly one MODEL"));
  if (out != NULL
      && !qs_output_check_not_input (out, (const char *[]) { argv[1], scheme_file }, 2, &error))
    return qs_cli_fail (error);

  file = qs_cli_open_weights (argv[1], QS_WEIGHT_FILE_FOLLOW_EXTERNAL_LINKS, &error);
  if (file == NULL)
    return qs_cli_fail (error);
  overview = qs_overview_compute (file, schemes, threads, budget, NULL, &error);
  if (overview == NULL)
    return qs_cli_fail (error);

  text = format_overview (overview, format);
  if (out == NULL)
    {
      fputs (text, stdout);
      fflush (stdout);
      return 0;
    }
  /* Whole or not at all, through symbolic links, as the plots and scheme
   * files are written. */
  if (!qs_output_set_contents (out, text, strlen (text), &error))
    return qs_cli_fail (error);
  return 0;
}
