/* qs-job-service.h: the window's one scheduler for background computation.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every computation the window shows (the tensor on view, the model's
 * accuracy, the sidebar's badges) is a request to this service:
 *
 * - a request names a target (a slot: "view", "accuracy", "badge:<path>")
 *   and a key (a 64-bit hash of everything its result depends on); for a
 *   target the newest request wins: an older one still queued never runs,
 *   one running is cancelled through its GCancellable, and its results are
 *   never delivered;
 * - results are cached by key (least recently used first out, within a
 *   byte budget): a request whose key is cached is answered before
 *   qs_job_service_request() returns, with no thread hop;
 * - a small pool of workers runs the queue by priority (a search never
 *   takes the last free worker); a visible-tensor
 *   job runs alone (lower jobs in flight are cancelled and queued again,
 *   and none starts while it waits or runs), since it wants every core
 *   but the main loop's; lower jobs may wait a settle time first, so a
 *   burst of changes (a drag) runs only its last request;
 * - callbacks run on the main context only, so they may touch widgets.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef enum {
  QS_JOB_PRIORITY_VISIBLE,    /* what the user is looking at */
  QS_JOB_PRIORITY_ACCURACY,   /* the model under the current schemes */
  QS_JOB_PRIORITY_BACKGROUND, /* everything else (badges of other tensors) */
  /* Searches that hold a worker for minutes (sensitivity, mixed
   * precision): one at a time, and only while another worker stays free
   * for the jobs above (on a single worker, when it is idle). */
  QS_JOB_PRIORITY_SEARCH,
} QsJobPriority;

typedef struct _QsJobContext QsJobContext;

/* Runs in a worker thread. Returns the result (a boxed value of the
 * request's result type, transfer full) or NULL with @error set. Should
 * poll @cancellable, or pass it down, and may stop early once it fires. */
typedef gpointer (*QsJobWorkFunc) (QsJobContext *context,
                                   gpointer      work_data,
                                   GCancellable *cancellable,
                                   GError      **error);

typedef struct {
  const char   *target;
  guint64       key;
  gpointer      result;         /* (transfer none) (nullable): NULL when @error is set */
  const GError *error;
  gboolean      partial;        /* an early estimate: the final result follows */
  gboolean      cached;         /* answered from the cache, without running */
  gint64        requested_usec; /* g_get_monotonic_time () at the request */
} QsJobOutcome;

/* Runs on the main context, for the newest request of its target only. */
typedef void (*QsJobCallback) (const QsJobOutcome *outcome,
                               gpointer            user_data);

typedef struct {
  const char    *target;
  guint64        key;
  QsJobPriority  priority;
  GType          result_type;   /* a boxed type: the cache copies and frees through it */
  QsJobWorkFunc  work;
  /* Wait this long after the request before starting, so a burst of
   * changes (a drag) settles first; a newer request restarts the wait. */
  guint          settle_ms;
  gboolean       cacheable;
} QsJobSpec;

#define QS_TYPE_JOB_SERVICE (qs_job_service_get_type ())
G_DECLARE_FINAL_TYPE (QsJobService, qs_job_service, QS, JOB_SERVICE, GObject)

/* @n_workers: threads in the pool (0: two, or one on a single core);
 * @cache_bytes: the result cache's budget (0: 64 MiB). */
QsJobService *qs_job_service_new     (guint                n_workers,
                                      gsize                cache_bytes);

/* Requests @spec's result, superseding @spec->target's previous request.
 * @work_data is passed to @spec->work in a worker and freed with
 * @work_data_free (on either thread); @callback gets the outcomes with
 * @user_data, which must stay valid until the target is answered,
 * superseded or cancelled, or the service is disposed (which cancels
 * everything and delivers nothing more). A cached result is delivered
 * before this returns. */
void          qs_job_service_request (QsJobService        *self,
                                      const QsJobSpec     *spec,
                                      gpointer             work_data,
                                      GDestroyNotify       work_data_free,
                                      QsJobCallback        callback,
                                      gpointer             user_data);

/* Drops @target's request: queued, it never runs; running, it is
 * cancelled; either way nothing more is delivered for it. */
void          qs_job_service_cancel  (QsJobService        *self,
                                      const char          *target);
/* Drops every request whose target starts with @prefix ("" for all). */
void          qs_job_service_cancel_prefix (QsJobService  *self,
                                            const char    *prefix);
/* Forgets every cached result (the data they came from changed). */
void          qs_job_service_clear_cache (QsJobService    *self);

/* TRUE while a request of @priority is queued, waiting or running. */
gboolean      qs_job_service_is_busy (QsJobService        *self,
                                      QsJobPriority        priority);
/* TRUE while @target has a request not yet answered. */
gboolean      qs_job_service_is_pending (QsJobService     *self,
                                         const char       *target);

/* Worker threads in use, counting cancelled jobs still winding down: a
 * preempted job is queued again only once its thread has returned. */
guint         qs_job_service_get_n_running (QsJobService  *self);

/* The cache's current size in bytes and number of results. */
gsize         qs_job_service_get_cache_size (QsJobService *self,
                                             guint        *n_results);

/* In the worker: the bytes the result will hold, for the cache's budget
 * (without it, the size of the boxed struct alone counts). */
void          qs_job_context_set_cost     (QsJobContext   *context,
                                           gsize           bytes);
/* In the worker: an early estimate, delivered (if still newest) as a
 * partial outcome before the final one (@result: transfer full). */
void          qs_job_context_post_partial (QsJobContext   *context,
                                           gpointer        result);

/* A 64-bit FNV-1a hash of @text continuing from @seed (0 to start): keys
 * built from the canonical text of whatever a result depends on. */
guint64       qs_job_key_add_string  (guint64              seed,
                                      const char          *text);
guint64       qs_job_key_add_uint64  (guint64              seed,
                                      guint64              value);

G_END_DECLS
