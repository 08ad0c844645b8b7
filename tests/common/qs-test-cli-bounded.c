/* qs-test-cli-bounded.c: running quantscope-cli from a test, bounded in time and memory.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "qs-test-cli-bounded.h"

#include <string.h>
#include <sys/resource.h>

#include <gio/gio.h>

static void
limit_child (gpointer data)
{
#if defined(__SANITIZE_ADDRESS__)
  (void) data;
#else
  guint64 bytes = *(const guint64 *) data;
  struct rlimit as = { bytes, bytes };

  if (bytes > 0)
    setrlimit (RLIMIT_AS, &as);
#endif
}

typedef struct {
  GSubprocess  *process;
  GMainLoop    *loop;
  QsTestBoundedRun *run;
  GError       *error;
} Wait;

static gboolean
timeout_cb (gpointer data)
{
  Wait *wait = data;

  /* Killing the child closes its pipes: the communicate call then ends. */
  wait->run->timed_out = TRUE;
  g_subprocess_force_exit (wait->process);
  return G_SOURCE_REMOVE;
}

static void
communicate_cb (GObject      *source,
                GAsyncResult *res,
                gpointer      data)
{
  Wait *wait = data;

  g_subprocess_communicate_finish (wait->process, res, &wait->run->out, &wait->run->err, &wait->error);
  g_main_loop_quit (wait->loop);
}

void
qs_test_run_cli (const char *const *args,
                 guint               timeout_s,
                 guint64             address_space,
                 QsTestBoundedRun       *run)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GMainContext) context = g_main_context_new ();
  Wait wait = { 0 };
  GSource *timeout;

  memset (run, 0, sizeof *run);
  g_assert_nonnull (g_getenv ("QS_CLI"));
  g_ptr_array_add (argv, (gpointer) g_getenv ("QS_CLI"));
  for (gsize i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_set_child_setup (launcher, limit_child, &address_space, NULL);
  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C.UTF-8", TRUE);
  g_main_context_push_thread_default (context);
  wait.process = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata, &error);
  g_assert_no_error (error);
  wait.run = run;
  wait.loop = g_main_loop_new (context, FALSE);
  timeout = g_timeout_source_new_seconds (timeout_s);
  g_source_set_callback (timeout, timeout_cb, &wait, NULL);
  g_source_attach (timeout, context);
  g_subprocess_communicate_async (wait.process, NULL, NULL, communicate_cb, &wait);
  g_main_loop_run (wait.loop);
  g_source_destroy (timeout);
  g_source_unref (timeout);
  g_main_loop_unref (wait.loop);
  g_subprocess_wait (wait.process, NULL, NULL);
  g_main_context_pop_thread_default (context);
  g_assert_no_error (wait.error);

  run->signaled = g_subprocess_get_if_signaled (wait.process);
  run->exit_status = g_subprocess_get_if_exited (wait.process) ? g_subprocess_get_exit_status (wait.process) : -1;
  g_object_unref (wait.process);
}

void
qs_test_bounded_run_clear (QsTestBoundedRun *run)
{
  g_clear_pointer (&run->out, g_bytes_unref);
  g_clear_pointer (&run->err, g_bytes_unref);
}

void
qs_test_assert_cli_refused (const QsTestBoundedRun *run,
                            const char         *expect)
{
  gsize err_size = 0;
  const char *err = g_bytes_get_data (run->err, &err_size);
  g_autofree char *text = g_strndup (err != NULL ? err : "", err_size);
  const char *newline = strchr (text, '\n');

  g_test_message ("stderr: %s", text);
  g_assert_false (run->timed_out);
  g_assert_false (run->signaled);
  g_assert_cmpint (run->exit_status, ==, 2);
  g_assert_cmpuint (g_bytes_get_size (run->out), ==, 0);
  g_assert_true (g_str_has_prefix (text, "quantscope-cli: "));
  g_assert_nonnull (newline);
  g_assert_cmpint (newline[1], ==, '\0');
  g_assert_cmpuint (strlen (text), ==, err_size);
  if (expect != NULL)
    g_assert_nonnull (strstr (text, expect));
}
