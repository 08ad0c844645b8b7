/* qs-parallel.h: a minimal parallel-for over independent tasks.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stddef.h>

/* Calls @func (@data, task, worker) once for every task in [0, n_tasks),
 * spread over up to @n_workers threads (the caller's thread is worker 0).
 * Tasks are handed out in order from a shared counter, so a worker's tasks
 * are increasing but which worker runs which task is not fixed: anything
 * whose result must not depend on scheduling is indexed by task, not worker.
 * Returns the number of workers used (at least 1). */
typedef void (*QsTaskFunc) (void *data, size_t task, int worker);

/* How many workers qs_parallel_for will use for these arguments: the size
 * of any per-worker scratch the caller allocates. */
int qs_parallel_worker_count (int    n_workers,
                              size_t n_tasks);

int qs_parallel_for (int         n_workers,
                     size_t      n_tasks,
                     QsTaskFunc  func,
                     void       *data);
