/* qs-test-cli.c: running the built quantscope-cli from a test, as a user runs it.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "qs-test-cli.h"

void
qs_test_cli_run_free (QsTestCliRun *run)
{
  g_free (run->out);
  g_free (run->err);
  g_free (run);
}

QsTestCliRun *
qs_test_cli_run_args (const char *cli,
                      GPtrArray  *args)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) shown = g_string_new ("quantscope-cli");
  QsTestCliRun *run = g_new0 (QsTestCliRun, 1);
  int wait_status = 0;

  g_ptr_array_add (argv, (gpointer) cli);
  for (guint i = 0; i < args->len; i++)
    {
      g_ptr_array_add (argv, g_ptr_array_index (args, i));
      g_string_append_printf (shown, " %s", (const char *) g_ptr_array_index (args, i));
    }
  g_ptr_array_add (argv, NULL);
  g_test_message ("running: %s", shown->str);

  g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                &run->out, &run->err, &wait_status, &error);
  g_assert_no_error (error);

  if (g_spawn_check_wait_status (wait_status, &error))
    run->status = 0;
  else
    {
      /* Dying on a signal (a crash, an abort on a GLib warning) is never an
       * acceptable way to report anything. */
      if (error->domain != G_SPAWN_EXIT_ERROR)
        g_test_message ("%s: %s; stderr: %s", shown->str, error->message, run->err);
      g_assert_cmpuint (error->domain, ==, G_SPAWN_EXIT_ERROR);
      run->status = error->code;
    }
  return run;
}

QsTestCliRun *
qs_test_cli_run_valist (const char *cli,
                        const char *first,
                        va_list     ap)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new ();

  for (const char *arg = first; arg != NULL; arg = va_arg (ap, const char *))
    g_ptr_array_add (args, (gpointer) arg);
  return qs_test_cli_run_args (cli, args);
}

QsTestCliRun *
qs_test_cli_run (const char *cli,
                 const char *first,
                 ...)
{
  QsTestCliRun *run;
  va_list ap;

  va_start (ap, first);
  run = qs_test_cli_run_valist (cli, first, ap);
  va_end (ap);
  return run;
}
