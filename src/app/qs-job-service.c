/* qs-job-service.c: the window's one scheduler for background computation.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "app/qs-job-service.h"

#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#define DEFAULT_CACHE_BYTES ((gsize) 64 << 20)
/* What a result costs the cache when its worker did not say. */
#define DEFAULT_RESULT_COST 1024

typedef enum {
  JOB_QUEUED,   /* waiting for its settle time or a free worker */
  JOB_RUNNING,
  JOB_FINISHED,
  JOB_FOLLOWING, /* an equal request of another target is in flight: its outcome is this one's */
} JobState;

/* A request, from submission to its last outcome. Main-thread fields but
 * for @work_data, @result and @cost, which the worker owns while it runs. */
struct _QsJobContext
{
  gatomicrefcount  ref_count;
  QsJobService    *service;        /* NULL once the service let go of it */
  GMainContext    *main_context;
  char            *target;
  guint64          key;
  QsJobPriority    priority;
  GType            result_type;
  QsJobWorkFunc    work;
  gboolean         cacheable;
  gpointer         work_data;
  GDestroyNotify   work_data_free;
  QsJobCallback    callback;
  gpointer         user_data;
  GCancellable    *cancellable;
  gint64           requested_usec;
  gint64           start_after_usec;
  JobState         state;
  gboolean         preempted;      /* cancelled to make room: queued again, not answered */
  gpointer         result;
  GError          *error;
  gsize            cost;
  /* Requests with an equal key share one run: the leader runs, each
   * follower (owned by the service's current table) gets its outcomes. */
  QsJobContext    *leader;         /* owned; a follower's */
  GPtrArray       *followers;      /* borrowed; NULL or empty but for a leader */
};

typedef QsJobContext Job;

typedef struct {
  guint64  key;
  GType    type;
  gpointer result;
  gsize    cost;
  GList    link;                   /* in the LRU queue; data is the entry */
} CacheEntry;

struct _QsJobService
{
  GObject       parent_instance;

  GMainContext *main_context;
  guint         n_workers;
  gsize         cache_budget;

  GHashTable   *current;           /* target -> Job (owned): the newest request, until answered */
  GQueue        queue;             /* Job (borrowed from current), by priority then age */
  GPtrArray    *running;           /* Job (owned), cancelled ones too: they hold a thread */
  GSource      *idle_source;
  GSource      *timer_source;

  GHashTable   *cache;             /* &entry->key -> CacheEntry (owned) */
  GQueue        lru;               /* most recently used first */
  gsize         cache_size;
  gboolean      disposed;
};

G_DEFINE_FINAL_TYPE (QsJobService, qs_job_service, G_TYPE_OBJECT)

static void schedule (QsJobService *self);

/* ---- jobs ------------------------------------------------------------------ */

static Job *
job_ref (Job *job)
{
  g_atomic_ref_count_inc (&job->ref_count);
  return job;
}

static void
job_unref (Job *job)
{
  if (!g_atomic_ref_count_dec (&job->ref_count))
    return;
  if (job->work_data_free != NULL && job->work_data != NULL)
    job->work_data_free (job->work_data);
  if (job->result != NULL)
    g_boxed_free (job->result_type, job->result);
  g_clear_error (&job->error);
  g_clear_object (&job->cancellable);
  g_clear_pointer (&job->followers, g_ptr_array_unref);
  g_main_context_unref (job->main_context);
  g_free (job->target);
  g_free (job);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Job, job_unref)

static gboolean
job_is_current (Job *job)
{
  return job->service != NULL
         && g_hash_table_lookup (job->service->current, job->target) == job
         && !g_cancellable_is_cancelled (job->cancellable);
}

static void
deliver (Job          *job,
         gpointer      result,
         const GError *error,
         gboolean      partial,
         gboolean      cached)
{
  QsJobOutcome outcome = {
    .target = job->target,
    .key = job->key,
    .result = result,
    .error = error,
    .partial = partial,
    .cached = cached,
    .requested_usec = job->requested_usec,
  };

  job->callback (&outcome, job->user_data);
}

/* Lowers the calling worker's scheduling priority, once per thread: on two
 * cores the workers would otherwise take turns with the main loop for
 * whole time slices, and the window would stall while they run. Threads it
 * starts inherit the lower priority. */
static void
lower_thread_priority (void)
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

/* ---- the cache ------------------------------------------------------------- */

static void
cache_entry_free (CacheEntry *entry)
{
  g_boxed_free (entry->type, entry->result);
  g_free (entry);
}

static void
cache_remove (QsJobService *self,
              CacheEntry   *entry)
{
  g_queue_unlink (&self->lru, &entry->link);
  self->cache_size -= entry->cost;
  g_hash_table_remove (self->cache, &entry->key);
}

static gpointer
cache_lookup (QsJobService *self,
              guint64       key,
              GType         type)
{
  CacheEntry *entry = g_hash_table_lookup (self->cache, &key);

  if (entry == NULL || entry->type != type)
    return NULL;
  g_queue_unlink (&self->lru, &entry->link);
  g_queue_push_head_link (&self->lru, &entry->link);
  return entry->result;
}

static void
cache_insert (QsJobService *self,
              guint64       key,
              GType         type,
              gpointer      result,
              gsize         cost)
{
  CacheEntry *entry = g_hash_table_lookup (self->cache, &key);

  if (cost > self->cache_budget)
    return;
  if (entry != NULL)
    cache_remove (self, entry);

  entry = g_new0 (CacheEntry, 1);
  entry->key = key;
  entry->type = type;
  entry->result = g_boxed_copy (type, result);
  entry->cost = cost;
  entry->link.data = entry;
  g_hash_table_insert (self->cache, &entry->key, entry);
  g_queue_push_head_link (&self->lru, &entry->link);
  self->cache_size += cost;

  while (self->cache_size > self->cache_budget)
    cache_remove (self, g_queue_peek_tail (&self->lru));
}

/* ---- the queue ------------------------------------------------------------- */

static gint
compare_priority (gconstpointer a,
                  gconstpointer b,
                  gpointer      user_data)
{
  const Job *x = a, *y = b;

  /* g_queue_insert_sorted inserts before the first queued job (@a) for
   * which this is not negative; never returning 0 puts a new job (@b)
   * after its equals, so among equal priorities the older starts first. */
  return x->priority <= y->priority ? -1 : 1;
}

static void
enqueue (QsJobService *self,
         Job          *job)
{
  job->state = JOB_QUEUED;
  g_queue_insert_sorted (&self->queue, job, compare_priority, NULL);
}

/* Takes @job (the current one of its target) out of the service: queued,
 * it never runs; running, it is cancelled and its outcome dropped. */
static gboolean
has_followers (Job *job)
{
  return job->followers != NULL && job->followers->len > 0;
}

/* @follower follows @leader from now on. */
static void
follow (Job *follower,
        Job *leader)
{
  follower->state = JOB_FOLLOWING;
  follower->leader = job_ref (leader);
  if (leader->followers == NULL)
    leader->followers = g_ptr_array_new ();
  g_ptr_array_add (leader->followers, follower);
}

/* @leader will not run: its first follower runs in its place, with its own
 * work data, and the others follow that one. */
static void
promote_first_follower (QsJobService *self,
                        Job          *leader)
{
  Job *successor = g_ptr_array_steal_index (leader->followers, 0);

  g_clear_pointer (&successor->leader, job_unref);
  successor->start_after_usec = MIN (successor->start_after_usec, leader->start_after_usec);
  enqueue (self, successor);
  while (leader->followers->len > 0)
    {
      Job *follower = g_ptr_array_steal_index (leader->followers, 0);

      g_clear_pointer (&follower->leader, job_unref);
      follow (follower, successor);
    }
  schedule (self);
}

/* Takes @job (the current one of its target) out of the service: queued,
 * it never runs; running, it is cancelled and its outcome dropped. A
 * leader's run goes on for its followers: a queued one hands it over, a
 * running one keeps running without answering its own target. */
static void
drop (QsJobService *self,
      Job          *job)
{
  if (job->state == JOB_QUEUED)
    g_queue_remove (&self->queue, job);
  if (has_followers (job) && job->state == JOB_QUEUED)
    promote_first_follower (self, job);
  if (!(has_followers (job) && job->state == JOB_RUNNING))
    g_cancellable_cancel (job->cancellable);
  g_hash_table_remove (self->current, job->target);
}

/* An in-flight request @spec can share: same key and result type, not
 * cancelled (but for room, it runs again), itself no follower. */
static Job *
find_leader (QsJobService    *self,
             const QsJobSpec *spec)
{
  GHashTableIter iter;
  gpointer value;

  if (!spec->cacheable)
    return NULL;
  g_hash_table_iter_init (&iter, self->current);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Job *job = value;

      if (job->key == spec->key && job->result_type == spec->result_type && job->cacheable
          && (job->state == JOB_QUEUED || job->state == JOB_RUNNING)
          && (job->preempted || !g_cancellable_is_cancelled (job->cancellable)))
        return job;
    }
  return NULL;
}

/* Answers the followers still current with @job's outcome. */
static void
deliver_to_followers (QsJobService *self,
                      Job          *job,
                      gpointer      result,
                      const GError *error,
                      gboolean      partial)
{
  g_autoptr(GPtrArray) followers = NULL;

  if (!has_followers (job))
    return;
  followers = g_ptr_array_new_with_free_func ((GDestroyNotify) job_unref);
  for (guint i = 0; i < job->followers->len; i++)
    g_ptr_array_add (followers, job_ref (g_ptr_array_index (job->followers, i)));
  for (guint i = 0; i < followers->len; i++)
    {
      Job *follower = g_ptr_array_index (followers, i);

      if (g_hash_table_lookup (self->current, follower->target) != follower)
        continue;
      if (!partial)
        {
          follower->state = JOB_FINISHED;
          g_hash_table_remove (self->current, follower->target);
        }
      deliver (follower, result, error, partial, FALSE);
    }
}

static void
job_thread (GTask        *task,
            gpointer      source_object,
            gpointer      task_data,
            GCancellable *unused)
{
  Job *job = task_data;

  lower_thread_priority ();
  if (!g_cancellable_set_error_if_cancelled (job->cancellable, &job->error))
    job->result = job->work (job, job->work_data, job->cancellable, &job->error);
  g_assert (job->result != NULL || job->error != NULL);
  g_task_return_boolean (task, TRUE);
}

static void
job_done_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  Job *job = g_task_get_task_data (G_TASK (result));
  QsJobService *self = job->service;
  g_autoptr(Job) hold = job_ref (job);

  job->state = JOB_FINISHED;
  if (self == NULL)
    return;
  g_ptr_array_remove_fast (self->running, job);

  if (job->preempted && g_hash_table_lookup (self->current, job->target) != job && has_followers (job))
    {
      /* Preempted after its own target let go: a follower runs instead. */
      promote_first_follower (self, job);
      schedule (self);
      return;
    }
  if (job->preempted && g_hash_table_lookup (self->current, job->target) == job)
    {
      /* Cancelled only to make room: run it again later, from the start. */
      g_clear_object (&job->cancellable);
      job->cancellable = g_cancellable_new ();
      job->preempted = FALSE;
      g_clear_error (&job->error);
      if (job->result != NULL)
        g_boxed_free (job->result_type, g_steal_pointer (&job->result));
      enqueue (self, job);
      schedule (self);
      return;
    }

  /* A finished result is right for its key even when no longer wanted. */
  if (job->result != NULL && job->cacheable && !g_cancellable_is_cancelled (job->cancellable))
    cache_insert (self, job->key, job->result_type, job->result,
                  job->cost > 0 ? job->cost : DEFAULT_RESULT_COST);

  {
    /* The callbacks may drop the last reference to the service. */
    g_autoptr(QsJobService) keep = g_object_ref (self);

    if (!g_cancellable_is_cancelled (job->cancellable))
      deliver_to_followers (self, job, job->result, job->error, FALSE);
    if (job_is_current (job))
      {
        g_hash_table_remove (self->current, job->target);
        deliver (job, job->result, job->error, FALSE, FALSE);
      }
    schedule (self);
  }
}

static void
start (QsJobService *self,
       Job          *job)
{
  g_autoptr(GTask) task = NULL;

  g_queue_remove (&self->queue, job);
  job->state = JOB_RUNNING;
  g_ptr_array_add (self->running, job_ref (job));
  task = g_task_new (NULL, NULL, job_done_cb, NULL);
  g_task_set_source_tag (task, start);
  g_task_set_task_data (task, job_ref (job), (GDestroyNotify) job_unref);
  g_task_run_in_thread (task, job_thread);
}

static gboolean
running_priority (QsJobService  *self,
                  QsJobPriority  priority)
{
  for (guint i = 0; i < self->running->len; i++)
    {
      Job *job = g_ptr_array_index (self->running, i);
      if (job->priority == priority && !g_cancellable_is_cancelled (job->cancellable))
        return TRUE;
    }
  return FALSE;
}

/* Running jobs not cancelled. */
static guint
count_live (QsJobService *self)
{
  guint n = 0;

  for (guint i = 0; i < self->running->len; i++)
    n += !g_cancellable_is_cancelled (((Job *) g_ptr_array_index (self->running, i))->cancellable);
  return n;
}

/* Cancels the lower jobs in flight so a visible one gets the cores; they
 * are queued again when they return. */
static void
preempt_lower (QsJobService *self)
{
  for (guint i = 0; i < self->running->len; i++)
    {
      Job *job = g_ptr_array_index (self->running, i);

      if (job->priority != QS_JOB_PRIORITY_VISIBLE && !g_cancellable_is_cancelled (job->cancellable))
        {
          job->preempted = TRUE;
          g_cancellable_cancel (job->cancellable);
        }
    }
}

static gboolean timer_cb (gpointer user_data);

static void
run_queue (QsJobService *self)
{
  gint64 now = g_get_monotonic_time (), wake = G_MAXINT64;
  GList *l = self->queue.head;

  while (l != NULL)
    {
      Job *job = l->data;

      l = l->next;
      if (job->start_after_usec > now)
        {
          wake = MIN (wake, job->start_after_usec);
          continue;
        }
      if (job->priority == QS_JOB_PRIORITY_VISIBLE)
        {
          /* It runs alone, and nothing below starts while it waits. Jobs
           * already cancelled may still be winding down (the accuracy's
           * model build cannot stop): it does not wait for them. */
          preempt_lower (self);
          if (count_live (self) == 0)
            start (self, job);
          break;
        }
      if (running_priority (self, QS_JOB_PRIORITY_VISIBLE) || self->running->len >= self->n_workers)
        break;
      if (job->priority == QS_JOB_PRIORITY_SEARCH
          && (running_priority (self, QS_JOB_PRIORITY_SEARCH)
              || self->running->len + (self->n_workers > 1 ? 1 : 0) >= self->n_workers))
        continue;
      start (self, job);
    }

  if (self->timer_source != NULL)
    {
      g_source_destroy (self->timer_source);
      g_clear_pointer (&self->timer_source, g_source_unref);
    }
  if (wake != G_MAXINT64)
    {
      self->timer_source = g_timeout_source_new ((guint) MAX (1, (wake - now + 999) / 1000));
      g_source_set_callback (self->timer_source, timer_cb, self, NULL);
      g_source_attach (self->timer_source, self->main_context);
    }
}

static gboolean
idle_cb (gpointer user_data)
{
  QsJobService *self = user_data;

  g_clear_pointer (&self->idle_source, g_source_unref);
  run_queue (self);
  return G_SOURCE_REMOVE;
}

static gboolean
timer_cb (gpointer user_data)
{
  QsJobService *self = user_data;

  g_clear_pointer (&self->timer_source, g_source_unref);
  run_queue (self);
  return G_SOURCE_REMOVE;
}

/* Starts what can start once the main loop is back: a burst of requests
 * in one iteration (a changed scheme re-requesting every badge) is ordered
 * by priority before any of them runs. Above redrawing, so a result can
 * make the next frame. */
static void
schedule (QsJobService *self)
{
  if (self->idle_source != NULL || self->disposed)
    return;
  self->idle_source = g_idle_source_new ();
  g_source_set_priority (self->idle_source, G_PRIORITY_HIGH_IDLE);
  g_source_set_callback (self->idle_source, idle_cb, self, NULL);
  g_source_attach (self->idle_source, self->main_context);
}

/* ---- partial results ------------------------------------------------------- */

typedef struct {
  Job     *job;
  gpointer result;
} Partial;

static gboolean
deliver_partial_cb (gpointer user_data)
{
  Partial *partial = user_data;

  if (partial->job->service != NULL && !g_cancellable_is_cancelled (partial->job->cancellable))
    deliver_to_followers (partial->job->service, partial->job, partial->result, NULL, TRUE);
  if (job_is_current (partial->job))
    deliver (partial->job, partial->result, NULL, TRUE, FALSE);
  g_boxed_free (partial->job->result_type, partial->result);
  job_unref (partial->job);
  g_free (partial);
  return G_SOURCE_REMOVE;
}

void
qs_job_context_post_partial (QsJobContext *context,
                             gpointer      result)
{
  Partial *partial;

  g_return_if_fail (context != NULL);
  g_return_if_fail (result != NULL);

  partial = g_new0 (Partial, 1);
  partial->job = job_ref (context);
  partial->result = result;
  g_main_context_invoke_full (context->main_context, G_PRIORITY_DEFAULT, deliver_partial_cb, partial, NULL);
}

void
qs_job_context_set_cost (QsJobContext *context,
                         gsize         bytes)
{
  g_return_if_fail (context != NULL);
  context->cost = bytes;
}

/* ---- keys ------------------------------------------------------------------ */

#define FNV_OFFSET G_GUINT64_CONSTANT (14695981039346656037)
#define FNV_PRIME G_GUINT64_CONSTANT (1099511628211)

static guint64
add_bytes (guint64       hash,
           const guint8 *bytes,
           gsize         n)
{
  for (gsize i = 0; i < n; i++)
    {
      hash ^= bytes[i];
      hash *= FNV_PRIME;
    }
  return hash;
}

guint64
qs_job_key_add_string (guint64     seed,
                       const char *text)
{
  guint64 hash = seed != 0 ? seed : FNV_OFFSET;

  if (text == NULL)
    text = "";
  /* The terminating NUL too, so "ab" + "c" and "a" + "bc" differ. */
  return add_bytes (hash, (const guint8 *) text, strlen (text) + 1);
}

guint64
qs_job_key_add_uint64 (guint64 seed,
                       guint64 value)
{
  guint64 hash = seed != 0 ? seed : FNV_OFFSET;
  guint8 bytes[8];

  for (int i = 0; i < 8; i++)
    bytes[i] = (guint8) (value >> (8 * i));
  return add_bytes (hash, bytes, sizeof bytes);
}

/* ---- GObject --------------------------------------------------------------- */

static void
qs_job_service_dispose (GObject *object)
{
  QsJobService *self = QS_JOB_SERVICE (object);

  if (!self->disposed)
    {
      GHashTableIter iter;
      gpointer value;

      self->disposed = TRUE;
      g_hash_table_iter_init (&iter, self->current);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        g_cancellable_cancel (((Job *) value)->cancellable);
      for (guint i = 0; i < self->running->len; i++)
        {
          Job *job = g_ptr_array_index (self->running, i);
          job->service = NULL;
          g_cancellable_cancel (job->cancellable);
        }
      g_ptr_array_set_size (self->running, 0);
      g_queue_clear (&self->queue);
      g_hash_table_remove_all (self->current);
      qs_job_service_clear_cache (self);
      if (self->idle_source != NULL)
        g_source_destroy (self->idle_source);
      g_clear_pointer (&self->idle_source, g_source_unref);
      if (self->timer_source != NULL)
        g_source_destroy (self->timer_source);
      g_clear_pointer (&self->timer_source, g_source_unref);
    }
  G_OBJECT_CLASS (qs_job_service_parent_class)->dispose (object);
}

static void
qs_job_service_finalize (GObject *object)
{
  QsJobService *self = QS_JOB_SERVICE (object);

  g_clear_pointer (&self->current, g_hash_table_unref);
  g_clear_pointer (&self->running, g_ptr_array_unref);
  g_clear_pointer (&self->cache, g_hash_table_unref);
  g_main_context_unref (self->main_context);
  G_OBJECT_CLASS (qs_job_service_parent_class)->finalize (object);
}

static void
qs_job_service_class_init (QsJobServiceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = qs_job_service_dispose;
  object_class->finalize = qs_job_service_finalize;
}

/* Current jobs leave the table through here: the service lets go of them. */
static void
release_job (gpointer data)
{
  Job *job = data;
  Job *leader = job->leader;

  if (leader != NULL)
    {
      /* A follower leaves: a leader that runs only for followers stops
       * with the last one. */
      g_ptr_array_remove_fast (leader->followers, job);
      if (leader->followers->len == 0 && leader->service != NULL
          && g_hash_table_lookup (leader->service->current, leader->target) != leader)
        g_cancellable_cancel (leader->cancellable);
      g_clear_pointer (&job->leader, job_unref);
    }
  if (job->state != JOB_RUNNING)
    job->service = NULL;
  job_unref (job);
}

static void
release_running (gpointer data)
{
  job_unref (data);
}

static void
qs_job_service_init (QsJobService *self)
{
  self->main_context = g_main_context_ref_thread_default ();
  self->current = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, release_job);
  self->running = g_ptr_array_new_with_free_func (release_running);
  self->cache = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, (GDestroyNotify) cache_entry_free);
  g_queue_init (&self->queue);
  g_queue_init (&self->lru);
}

QsJobService *
qs_job_service_new (guint n_workers,
                    gsize cache_bytes)
{
  QsJobService *self = g_object_new (QS_TYPE_JOB_SERVICE, NULL);

  self->n_workers = n_workers > 0 ? n_workers : MIN (2u, MAX (1u, g_get_num_processors ()));
  self->cache_budget = cache_bytes > 0 ? cache_bytes : DEFAULT_CACHE_BYTES;
  return self;
}

/* ---- requests -------------------------------------------------------------- */

void
qs_job_service_request (QsJobService    *self,
                        const QsJobSpec *spec,
                        gpointer         work_data,
                        GDestroyNotify   work_data_free,
                        QsJobCallback    callback,
                        gpointer         user_data)
{
  Job *job, *old;
  gpointer cached;

  g_return_if_fail (QS_IS_JOB_SERVICE (self));
  g_return_if_fail (spec != NULL && spec->target != NULL && spec->work != NULL);
  g_return_if_fail (G_TYPE_IS_BOXED (spec->result_type));
  g_return_if_fail (callback != NULL);
  g_return_if_fail (!self->disposed);

  old = g_hash_table_lookup (self->current, spec->target);
  if (old != NULL)
    drop (self, old);

  job = g_new0 (Job, 1);
  g_atomic_ref_count_init (&job->ref_count);
  job->service = self;
  job->main_context = g_main_context_ref (self->main_context);
  job->target = g_strdup (spec->target);
  job->key = spec->key;
  job->priority = spec->priority;
  job->result_type = spec->result_type;
  job->work = spec->work;
  job->cacheable = spec->cacheable;
  job->work_data = work_data;
  job->work_data_free = work_data_free;
  job->callback = callback;
  job->user_data = user_data;
  job->cancellable = g_cancellable_new ();
  job->requested_usec = g_get_monotonic_time ();
  job->start_after_usec = job->requested_usec + (gint64) spec->settle_ms * 1000;

  cached = spec->cacheable ? cache_lookup (self, spec->key, spec->result_type) : NULL;
  if (cached != NULL)
    {
      /* Answered at once, on this iteration: no worker, no thread hop. */
      g_autoptr(Job) hold = job;
      gpointer result = g_boxed_copy (spec->result_type, cached);

      job->state = JOB_FINISHED;
      job->service = NULL;
      deliver (job, result, NULL, FALSE, TRUE);
      g_boxed_free (spec->result_type, result);
      return;
    }

  {
    Job *leader = find_leader (self, spec);

    g_hash_table_insert (self->current, job->target, job);
    if (leader == NULL)
      {
        enqueue (self, job);
        schedule (self);
        return;
      }
    follow (job, leader);
    /* The shared run starts as soon and as high as the most urgent request. */
    if (leader->state == JOB_QUEUED
        && (job->priority < leader->priority || job->start_after_usec < leader->start_after_usec))
      {
        g_queue_remove (&self->queue, leader);
        leader->priority = MIN (leader->priority, job->priority);
        leader->start_after_usec = MIN (leader->start_after_usec, job->start_after_usec);
        enqueue (self, leader);
        schedule (self);
      }
  }
}

void
qs_job_service_cancel (QsJobService *self,
                       const char   *target)
{
  Job *job;

  g_return_if_fail (QS_IS_JOB_SERVICE (self));
  g_return_if_fail (target != NULL);

  job = g_hash_table_lookup (self->current, target);
  if (job != NULL)
    drop (self, job);
}

void
qs_job_service_cancel_prefix (QsJobService *self,
                              const char   *prefix)
{
  g_autoptr(GPtrArray) doomed = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer value;

  g_return_if_fail (QS_IS_JOB_SERVICE (self));
  g_return_if_fail (prefix != NULL);

  g_hash_table_iter_init (&iter, self->current);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (g_str_has_prefix (((Job *) value)->target, prefix))
      g_ptr_array_add (doomed, value);
  for (guint i = 0; i < doomed->len; i++)
    drop (self, g_ptr_array_index (doomed, i));
}

void
qs_job_service_clear_cache (QsJobService *self)
{
  g_return_if_fail (QS_IS_JOB_SERVICE (self));

  while (self->lru.head != NULL)
    cache_remove (self, self->lru.head->data);
}

gboolean
qs_job_service_is_busy (QsJobService  *self,
                        QsJobPriority  priority)
{
  GHashTableIter iter;
  gpointer value;

  g_return_val_if_fail (QS_IS_JOB_SERVICE (self), FALSE);

  g_hash_table_iter_init (&iter, self->current);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (((Job *) value)->priority == priority)
      return TRUE;
  return FALSE;
}

guint
qs_job_service_get_n_running (QsJobService *self)
{
  g_return_val_if_fail (QS_IS_JOB_SERVICE (self), 0);

  return self->running->len;
}

gboolean
qs_job_service_is_pending (QsJobService *self,
                           const char   *target)
{
  g_return_val_if_fail (QS_IS_JOB_SERVICE (self), FALSE);
  g_return_val_if_fail (target != NULL, FALSE);

  return g_hash_table_contains (self->current, target);
}

gsize
qs_job_service_get_cache_size (QsJobService *self,
                               guint        *n_results)
{
  g_return_val_if_fail (QS_IS_JOB_SERVICE (self), 0);

  if (n_results != NULL)
    *n_results = self->lru.length;
  return self->cache_size;
}
