/* qs-cli-main.c: quantscope-cli, every number the GUI shows, headless.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <errno.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include <glib/gi18n.h>

#include "cli/qs-cli.h"

static const QsCliCommand commands[] = {
  { "layers", N_("List every tensor of a weight file"), qs_cli_layers },
  { "stats", N_("Quantize one tensor and report error, levels, size and histograms"), qs_cli_stats },
  { "eval", N_("Float32 and integer accuracy of a Keras model on labeled images"), qs_cli_eval },
  { "export", N_("Write quantized or dequantized weights to a new HDF5 file"), qs_cli_export },
  { "number", N_("One value in every float format, fixed point and integer code, bit by bit"), qs_cli_number },
  { "plot", N_("Draw a tensor's histogram, channel ranges or bit sweep as PNG, SVG or PDF"), qs_cli_plot },
  { "report", N_("Every tensor's error and size under a scheme, worst first, as JSON, CSV or Markdown"), qs_cli_report },
  { "compare", N_("Two scheme files side by side: accuracy, size and every tensor's error"), qs_cli_compare },
  { "sensitivity", N_("Each layer quantized alone and kept in float32: which layer hurts, and whether SQNR says so"), qs_cli_sensitivity },
  { "mixed", N_("The smallest per-layer weight precisions within an accuracy budget"), qs_cli_mixed },
};

static void
print_usage (FILE *out)
{
  fprintf (out, "%s", _("Usage: quantscope-cli COMMAND [OPTIONS] FILE\n\nCommands:\n"));
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (out, "  %-12s %s\n", commands[i].name, _(commands[i].summary));
  fprintf (out, "%s", _("\nRun “quantscope-cli COMMAND --help” for a command's options.\n"));
}

int
main (int    argc,
      char **argv)
{
  setlocale (LC_ALL, "");
  /* Numbers on the command line and in JSON always use a '.' point. */
  setlocale (LC_NUMERIC, "C");
  /* QUANTSCOPE_LOCALEDIR: the catalogues of an uninstalled build tree. */
  bindtextdomain (GETTEXT_PACKAGE, g_getenv ("QUANTSCOPE_LOCALEDIR") ? g_getenv ("QUANTSCOPE_LOCALEDIR") : LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
  g_set_prgname ("quantscope-cli");
  qs_cli_crash_guard_install ();

  if (argc < 2)
    return qs_cli_fail_message (_("no command given (try --help)"));
  if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0 || strcmp (argv[1], "help") == 0)
    {
      print_usage (stdout);
      return 0;
    }
  if (strcmp (argv[1], "--version") == 0)
    {
      printf ("quantscope-cli %s\n", PACKAGE_VERSION);
      return 0;
    }

  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    if (strcmp (argv[1], commands[i].name) == 0)
      {
        int status = commands[i].run (argc - 1, argv + 1);

        /* Output that never arrived (a full disk, a closed pipe) is a
         * failure, not a success with nothing to show. */
        if (fflush (stdout) != 0 || ferror (stdout))
          {
            int saved = errno;

            return status != 0 ? status
                               : qs_cli_fail_message (_("cannot write to standard output: %s"), g_strerror (saved));
          }
        return status;
      }

  return qs_cli_fail_message (_("unknown command “%s” (try --help)"), argv[1]);
}
