/* qs-test-cli.h: running the built quantscope-cli from a test, as a user runs it.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stdarg.h>

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  int   status;  /* the exit status */
  char *out;
  char *err;
} QsTestCliRun;

void qs_test_cli_run_free (QsTestCliRun *run);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QsTestCliRun, qs_test_cli_run_free)

/* Runs @cli with @args (the arguments after the program name, borrowed
 * strings) and collects its output; asserts it exited rather than died on
 * a signal (transfer full). */
QsTestCliRun *qs_test_cli_run_args   (const char *cli,
                                      GPtrArray  *args);
/* The same with a NULL-terminated list. */
QsTestCliRun *qs_test_cli_run_valist (const char *cli,
                                      const char *first,
                                      va_list     ap);
QsTestCliRun *qs_test_cli_run        (const char *cli,
                                      const char *first,
                                      ...) G_GNUC_NULL_TERMINATED;

G_END_DECLS
