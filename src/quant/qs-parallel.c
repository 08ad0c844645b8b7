/* qs-parallel.c: a minimal parallel-for over independent tasks.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Threads are started per call: the passes that use this run for
 * milliseconds or more, and a persistent pool would need shutdown handling
 * in every client for a few tens of microseconds saved.
 */
#include "qs-parallel.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "qs-analysis.h"

#define QS_MAX_WORKERS 64

typedef struct {
  QsTaskFunc       func;
  void            *data;
  size_t           n_tasks;
  atomic_size_t    next;
} QsParallelJob;

typedef struct {
  QsParallelJob *job;
  int            worker;
} QsWorkerArgs;

static void
run_tasks (QsParallelJob *job,
           int            worker)
{
  for (;;)
    {
      size_t task = atomic_fetch_add_explicit (&job->next, 1, memory_order_relaxed);
      if (task >= job->n_tasks)
        break;
      job->func (job->data, task, worker);
    }
}

static void *
worker_main (void *arg)
{
  QsWorkerArgs *args = arg;
  run_tasks (args->job, args->worker);
  return NULL;
}

int
qs_parallel_worker_count (int    n_workers,
                          size_t n_tasks)
{
  if (n_workers <= 0)
    n_workers = qs_default_thread_count ();
  if (n_workers > QS_MAX_WORKERS)
    n_workers = QS_MAX_WORKERS;
  if ((size_t) n_workers > n_tasks)
    n_workers = n_tasks > 0 ? (int) n_tasks : 1;
  return n_workers;
}

int
qs_parallel_for (int         n_workers,
                 size_t      n_tasks,
                 QsTaskFunc  func,
                 void       *data)
{
  QsParallelJob job = { func, data, n_tasks, 0 };
  pthread_t threads[QS_MAX_WORKERS];
  QsWorkerArgs args[QS_MAX_WORKERS];
  int started = 0;

  n_workers = qs_parallel_worker_count (n_workers, n_tasks);
  for (int w = 1; w < n_workers; w++)
    {
      args[started].job = &job;
      args[started].worker = w;
      /* A thread that cannot start only costs speed: its tasks go to the others. */
      if (pthread_create (&threads[started], NULL, worker_main, &args[started]) != 0)
        break;
      started++;
    }

  run_tasks (&job, 0);

  for (int i = 0; i < started; i++)
    pthread_join (threads[i], NULL);

  return started + 1;
}
