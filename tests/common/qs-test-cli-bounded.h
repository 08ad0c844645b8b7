/* qs-test-cli-bounded.h: running quantscope-cli from a test, bounded in time and memory.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  gboolean  timed_out;
  gboolean  signaled;     /* ended by a signal (a crash) */
  int       exit_status;  /* when it exited */
  GBytes   *out;          /* stdout and stderr, as bytes: names may not be UTF-8 */
  GBytes   *err;
} QsTestBoundedRun;

/* Runs $QS_CLI with @args (NULL-terminated) in LC_ALL=C.UTF-8, killing it
 * after @timeout_s seconds and, when @address_space is not 0, under that
 * RLIMIT_AS (not in AddressSanitizer builds, whose shadow memory needs
 * terabytes of address space): a regression to a runaway allocation fails
 * instead of taking the machine's memory. */
void qs_test_run_cli       (const char *const *args,
                            guint               timeout_s,
                            guint64             address_space,
                            QsTestBoundedRun       *run);
void qs_test_bounded_run_clear (QsTestBoundedRun       *run);

/* Asserts the bad-input contract: exit status 2, nothing on stdout, one
 * line on stderr ("quantscope-cli: ...\n") containing @expect (when not
 * NULL). */
void qs_test_assert_cli_refused (const QsTestBoundedRun *run,
                                 const char         *expect);

G_END_DECLS
