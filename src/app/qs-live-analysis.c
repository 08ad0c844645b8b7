/* qs-live-analysis.c: the latest requested analysis, computed off the main thread.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "app/qs-live-analysis.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

typedef struct {
  QsDocument   *document;
  QsTensorInfo *info;
  QsScheme      scheme;
  guint64       generation;
  gint64        requested_usec;
} Request;

struct _QsLiveAnalysis
{
  GObject   parent_instance;

  Request  *pending;         /* newest request not yet started */
  gboolean  running;
  guint     idle_id;
  guint64   generation;      /* of the newest request */
  GCancellable *cancellable; /* cancelled at dispose: results after that are dropped */
};

G_DEFINE_FINAL_TYPE (QsLiveAnalysis, qs_live_analysis, G_TYPE_OBJECT)

enum {
  REPORT_READY,
  FAILED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void start_pending (QsLiveAnalysis *self);

static void
request_free (Request *request)
{
  g_clear_object (&request->document);
  g_clear_pointer (&request->info, qs_tensor_info_free);
  g_free (request);
}

void
qs_background_thread_init (void)
{
  static GPrivate lowered = G_PRIVATE_INIT (NULL);

  if (g_private_get (&lowered) != NULL)
    return;
  g_private_set (&lowered, GINT_TO_POINTER (1));
#ifdef SYS_gettid
  /* Linux applies nice values per thread. Failure only costs smoothness. */
  (void) setpriority (PRIO_PROCESS, (id_t) syscall (SYS_gettid), 5);
#endif
}

static void
analyse_in_thread (GTask        *task,
                   gpointer      source_object,
                   gpointer      task_data,
                   GCancellable *cancellable)
{
  Request *request = task_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) values = NULL;
  QsTensorReport *report;

  qs_background_thread_init ();
  values = qs_document_load_values (request->document, request->info, &error);
  if (values == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  /* All cores but one: the main loop keeps a core to draw on. */
  report = qs_tensor_report_compute_values (request->info, g_bytes_get_data (values, NULL),
                                            &request->scheme, MAX (1, (int) g_get_num_processors () - 1),
                                            &error);
  if (report == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_pointer (task, report, (GDestroyNotify) qs_tensor_report_unref);
}

static void
analysis_done_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  QsLiveAnalysis *self = QS_LIVE_ANALYSIS (source);
  Request *request = g_task_get_task_data (G_TASK (result));
  g_autoptr(QsTensorReport) report = NULL;
  g_autoptr(GError) error = NULL;
  gboolean current;

  self->running = FALSE;
  report = g_task_propagate_pointer (G_TASK (result), &error);
  current = request->generation == self->generation
            && !g_cancellable_is_cancelled (self->cancellable);

  if (current)
    {
      if (report != NULL)
        g_signal_emit (self, signals[REPORT_READY], 0, report, request->requested_usec);
      else
        g_signal_emit (self, signals[FAILED], 0, error->message);
    }

  if (self->pending != NULL)
    start_pending (self);
}

static void
start_pending (QsLiveAnalysis *self)
{
  g_autoptr(GTask) task = NULL;
  Request *request;

  if (self->running || self->pending == NULL)
    return;

  request = g_steal_pointer (&self->pending);
  self->running = TRUE;
  task = g_task_new (self, NULL, analysis_done_cb, NULL);
  g_task_set_source_tag (task, start_pending);
  g_task_set_task_data (task, request, (GDestroyNotify) request_free);
  g_task_run_in_thread (task, analyse_in_thread);
}

static gboolean
start_pending_idle (gpointer user_data)
{
  QsLiveAnalysis *self = user_data;

  self->idle_id = 0;
  start_pending (self);
  return G_SOURCE_REMOVE;
}

static void
qs_live_analysis_dispose (GObject *object)
{
  QsLiveAnalysis *self = QS_LIVE_ANALYSIS (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->idle_id, g_source_remove);
  g_clear_pointer (&self->pending, request_free);
  G_OBJECT_CLASS (qs_live_analysis_parent_class)->dispose (object);
}

static void
qs_live_analysis_finalize (GObject *object)
{
  QsLiveAnalysis *self = QS_LIVE_ANALYSIS (object);

  g_clear_object (&self->cancellable);
  G_OBJECT_CLASS (qs_live_analysis_parent_class)->finalize (object);
}

static void
qs_live_analysis_class_init (QsLiveAnalysisClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = qs_live_analysis_dispose;
  object_class->finalize = qs_live_analysis_finalize;

  signals[REPORT_READY] = g_signal_new ("report-ready", G_TYPE_FROM_CLASS (klass),
                                        G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                        G_TYPE_NONE, 2, QS_TYPE_TENSOR_REPORT, G_TYPE_INT64);
  signals[FAILED] = g_signal_new ("failed", G_TYPE_FROM_CLASS (klass),
                                  G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                  G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
qs_live_analysis_init (QsLiveAnalysis *self)
{
  self->cancellable = g_cancellable_new ();
}

QsLiveAnalysis *
qs_live_analysis_new (void)
{
  return g_object_new (QS_TYPE_LIVE_ANALYSIS, NULL);
}

void
qs_live_analysis_request (QsLiveAnalysis     *self,
                          QsDocument         *document,
                          const QsTensorInfo *info,
                          const QsScheme     *scheme)
{
  Request *request;

  g_return_if_fail (QS_IS_LIVE_ANALYSIS (self));
  g_return_if_fail (QS_IS_DOCUMENT (document));
  g_return_if_fail (info != NULL);

  request = g_new0 (Request, 1);
  request->document = g_object_ref (document);
  request->info = qs_tensor_info_copy (info);
  request->scheme = *scheme;
  request->generation = ++self->generation;
  request->requested_usec = g_get_monotonic_time ();

  g_clear_pointer (&self->pending, request_free);
  self->pending = request;

  /* A burst of changes (a drag, a spin held down) coalesces while a job
   * runs: only the newest pending request starts when it ends. When idle,
   * start at once, at a priority above redrawing, so the result can make
   * the next frame. */
  if (!self->running && self->idle_id == 0)
    self->idle_id = g_idle_add_full (G_PRIORITY_HIGH_IDLE, start_pending_idle, self, NULL);
}

gboolean
qs_live_analysis_is_busy (QsLiveAnalysis *self)
{
  g_return_val_if_fail (QS_IS_LIVE_ANALYSIS (self), FALSE);
  return self->running || self->pending != NULL;
}
