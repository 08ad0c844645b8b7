/* test-job-service.c: the job service's rules, with fake work functions and the real service.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <gio/gio.h>

#include "app/qs-job-service.h"

/* ---- a result type and fake work ------------------------------------------- */

typedef struct {
  int value;
} FakeResult;

static FakeResult *
fake_result_copy (FakeResult *result)
{
  return g_memdup2 (result, sizeof *result);
}

GType fake_result_get_type (void);
G_DEFINE_BOXED_TYPE (FakeResult, fake_result, fake_result_copy, g_free)

typedef enum {
  WORK_QUICK,             /* returns at once */
  WORK_UNTIL_CANCELLED,   /* runs until its cancellable fires, then fails */
  WORK_UNTIL_RELEASED,    /* ignores cancellation; returns once released */
  WORK_PREEMPTIBLE,       /* runs until cancelled (fails) or released (returns) */
} WorkKind;

typedef struct {
  int          value;
  WorkKind     kind;
  gboolean     post_partial;  /* posts value + 1000 as an estimate before returning */
  gint         runs;          /* atomic: how often a worker started it */
  gint         saw_cancel;    /* atomic */
  gint         released;      /* atomic */
  gint         freed;         /* atomic: the service let go of its data */
} Fake;

/* Each test keeps its fakes in static storage: a worker may let go of a
 * job's data (fake_freed writes to it) after the outcome was delivered
 * and the test returned, which on the stack would write into the next
 * test's frame. */

/* The order in which works started, across threads. */
static GMutex start_lock;
static GArray *start_order;

typedef struct {
  GArray  *values;   /* int: outcomes delivered, in order */
  GArray  *partials; /* int */
  guint    cached;
  gboolean on_main_thread;
} Delivered;

static gpointer
fake_work (QsJobContext *context,
           gpointer      work_data,
           GCancellable *cancellable,
           GError      **error)
{
  Fake *fake = work_data;
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  FakeResult result = { fake->value };

  g_mutex_lock (&start_lock);
  g_array_append_val (start_order, fake->value);
  g_mutex_unlock (&start_lock);
  g_atomic_int_inc (&fake->runs);

  while (fake->kind != WORK_QUICK && g_get_monotonic_time () < deadline)
    {
      if (fake->kind != WORK_UNTIL_RELEASED && g_cancellable_is_cancelled (cancellable))
        {
          g_atomic_int_set (&fake->saw_cancel, 1);
          return g_cancellable_set_error_if_cancelled (cancellable, error), NULL;
        }
      if (fake->kind != WORK_UNTIL_CANCELLED && g_atomic_int_get (&fake->released))
        break;
      g_usleep (1000);
    }
  if (fake->post_partial)
    {
      FakeResult estimate = { fake->value + 1000 };
      qs_job_context_post_partial (context, fake_result_copy (&estimate));
    }
  qs_job_context_set_cost (context, 100);
  return fake_result_copy (&result);
}

static void
fake_freed (gpointer data)
{
  g_atomic_int_set (&((Fake *) data)->freed, 1);
}

static void
delivered_cb (const QsJobOutcome *outcome,
              gpointer            user_data)
{
  Delivered *d = user_data;
  int value;

  if (!g_main_context_is_owner (g_main_context_default ()))
    d->on_main_thread = FALSE;
  if (outcome->result == NULL)
    return;
  value = ((FakeResult *) outcome->result)->value;
  g_assert_cmpint (value % 1000, ==, (int) outcome->key);
  g_array_append_val (outcome->partial ? d->partials : d->values, value);
  if (outcome->cached)
    d->cached++;
}

/* A second record in one test: the start order goes on. */
static void
delivered_init_more (Delivered *d)
{
  d->values = g_array_new (FALSE, FALSE, sizeof (int));
  d->partials = g_array_new (FALSE, FALSE, sizeof (int));
  d->cached = 0;
  d->on_main_thread = TRUE;
}

static void
delivered_init (Delivered *d)
{
  delivered_init_more (d);
  g_mutex_lock (&start_lock);
  g_array_set_size (start_order, 0);
  g_mutex_unlock (&start_lock);
}

static void
delivered_clear (Delivered *d)
{
  g_array_unref (d->values);
  g_array_unref (d->partials);
}

static void
request (QsJobService  *service,
         const char    *target,
         QsJobPriority  priority,
         Fake          *fake,
         Delivered     *d)
{
  QsJobSpec spec = {
    .target = target,
    .key = (guint64) fake->value,
    .priority = priority,
    .result_type = fake_result_get_type (),
    .work = fake_work,
    .cacheable = TRUE,
  };

  qs_job_service_request (service, &spec, fake, fake_freed, delivered_cb, d);
}

static void
iterate_until (gboolean (*done) (gpointer), gpointer data)
{
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;

  while (!done (data))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, FALSE);
      g_usleep (500);
    }
}

static gboolean
has_values (gpointer data)
{
  Delivered *d = data;
  return d->values->len > 0;
}

static gboolean
fake_started (gpointer data)
{
  return g_atomic_int_get (&((Fake *) data)->runs) > 0;
}

static gboolean
fake_freed_done (gpointer data)
{
  return g_atomic_int_get (&((Fake *) data)->freed);
}

static int
value_at (GArray *array,
          guint   i)
{
  return g_array_index (array, int, i);
}

/* ---- tests ----------------------------------------------------------------- */

/* Three requests for one target in one main-loop iteration: only the last
 * runs and only it is answered. */
static void
test_newest_wins (void)
{
  g_autoptr(QsJobService) service = qs_job_service_new (1, 0);
  static Fake a = { .value = 1 }, b = { .value = 2 }, c = { .value = 3 };
  Delivered d;

  delivered_init (&d);
  request (service, "t", QS_JOB_PRIORITY_VISIBLE, &a, &d);
  request (service, "t", QS_JOB_PRIORITY_VISIBLE, &b, &d);
  request (service, "t", QS_JOB_PRIORITY_VISIBLE, &c, &d);
  g_assert_true (qs_job_service_is_pending (service, "t"));
  iterate_until (has_values, &d);
  g_assert_false (qs_job_service_is_pending (service, "t"));
  g_assert_false (qs_job_service_is_busy (service, QS_JOB_PRIORITY_VISIBLE));

  g_assert_cmpuint (d.values->len, ==, 1);
  g_assert_cmpint (value_at (d.values, 0), ==, 3);
  g_assert_cmpint (g_atomic_int_get (&a.runs), ==, 0);
  g_assert_cmpint (g_atomic_int_get (&b.runs), ==, 0);
  g_assert_cmpint (g_atomic_int_get (&c.runs), ==, 1);
  /* The superseded requests' data were freed when they were dropped. */
  g_assert_true (g_atomic_int_get (&a.freed));
  g_assert_true (g_atomic_int_get (&b.freed));
  g_assert_true (d.on_main_thread);
  delivered_clear (&d);
}

/* A newer request cancels the running one through its GCancellable. */
static void
test_cancel_reaches_running_job (void)
{
  g_autoptr(QsJobService) service = qs_job_service_new (2, 0);
  static Fake slow = { .value = 1, .kind = WORK_UNTIL_CANCELLED }, quick = { .value = 2 };
  Delivered d;

  delivered_init (&d);
  request (service, "view", QS_JOB_PRIORITY_ACCURACY, &slow, &d);
  iterate_until (fake_started, &slow);
  request (service, "view", QS_JOB_PRIORITY_ACCURACY, &quick, &d);
  iterate_until (has_values, &d);
  iterate_until (fake_freed_done, &slow);

  g_assert_true (g_atomic_int_get (&slow.saw_cancel));
  g_assert_cmpuint (d.values->len, ==, 1);
  g_assert_cmpint (value_at (d.values, 0), ==, 2);

  /* qs_job_service_cancel() does the same without a successor. */
  slow.runs = slow.saw_cancel = slow.freed = 0;
  request (service, "view", QS_JOB_PRIORITY_ACCURACY, &slow, &d);
  iterate_until (fake_started, &slow);
  qs_job_service_cancel (service, "view");
  g_assert_false (qs_job_service_is_pending (service, "view"));
  iterate_until (fake_freed_done, &slow);
  g_assert_true (g_atomic_int_get (&slow.saw_cancel));
  g_assert_cmpuint (d.values->len, ==, 1);
  delivered_clear (&d);
}

/* Going back to an earlier key is answered inside the request call, from
 * the cache, without running the work again. */
static void
test_cache_hit_same_iteration (void)
{
  g_autoptr(QsJobService) service = qs_job_service_new (1, 250);
  static Fake one = { .value = 1 }, two = { .value = 2 }, three = { .value = 3 };
  static Fake one_again = { .value = 1 }, one_still_cached = { .value = 1 };
  Delivered d;
  guint n_results;

  delivered_init (&d);
  request (service, "view", QS_JOB_PRIORITY_VISIBLE, &one, &d);
  iterate_until (has_values, &d);
  g_array_set_size (d.values, 0);
  request (service, "view", QS_JOB_PRIORITY_VISIBLE, &two, &d);
  iterate_until (has_values, &d);
  g_assert_cmpuint (qs_job_service_get_cache_size (service, &n_results), ==, 200);
  g_assert_cmpuint (n_results, ==, 2);

  g_array_set_size (d.values, 0);
  request (service, "view", QS_JOB_PRIORITY_VISIBLE, &one_again, &d);
  /* No main-loop iteration has run since the request. */
  g_assert_cmpuint (d.values->len, ==, 1);
  g_assert_cmpint (value_at (d.values, 0), ==, 1);
  g_assert_cmpuint (d.cached, ==, 1);
  g_assert_cmpint (g_atomic_int_get (&one_again.runs), ==, 0);
  g_assert_true (g_atomic_int_get (&one_again.freed));
  g_assert_false (qs_job_service_is_pending (service, "view"));

  /* A third result exceeds the 250-byte budget: the least recently used
   * one (2, since 1 was just used) goes. */
  g_array_set_size (d.values, 0);
  request (service, "view", QS_JOB_PRIORITY_VISIBLE, &three, &d);
  iterate_until (has_values, &d);
  g_assert_cmpuint (qs_job_service_get_cache_size (service, &n_results), ==, 200);
  g_array_set_size (d.values, 0);
  request (service, "view", QS_JOB_PRIORITY_VISIBLE, &one_still_cached, &d);
  g_assert_cmpuint (d.values->len, ==, 1);
  g_assert_cmpint (g_atomic_int_get (&one_still_cached.runs), ==, 0);
  g_array_set_size (d.values, 0);
  two.runs = 0;
  request (service, "view", QS_JOB_PRIORITY_VISIBLE, &two, &d);
  g_assert_cmpuint (d.values->len, ==, 0);
  iterate_until (has_values, &d);
  g_assert_cmpint (g_atomic_int_get (&two.runs), ==, 1);

  qs_job_service_clear_cache (service);
  g_assert_cmpuint (qs_job_service_get_cache_size (service, &n_results), ==, 0);
  g_assert_cmpuint (n_results, ==, 0);
  delivered_clear (&d);
}

static gboolean
has_three_values (gpointer data)
{
  return ((Delivered *) data)->values->len >= 3;
}

/* Requests made together start by priority, whatever their order. */
static void
test_priorities_order (void)
{
  g_autoptr(QsJobService) service = qs_job_service_new (1, 0);
  static Fake background = { .value = 10 }, accuracy = { .value = 20 }, visible = { .value = 30 };
  Delivered d;

  delivered_init (&d);
  request (service, "badge:x", QS_JOB_PRIORITY_BACKGROUND, &background, &d);
  request (service, "accuracy", QS_JOB_PRIORITY_ACCURACY, &accuracy, &d);
  request (service, "view", QS_JOB_PRIORITY_VISIBLE, &visible, &d);
  g_assert_true (qs_job_service_is_busy (service, QS_JOB_PRIORITY_BACKGROUND));
  iterate_until (has_three_values, &d);

  g_assert_cmpuint (start_order->len, ==, 3);
  g_assert_cmpint (value_at (start_order, 0), ==, 30);
  g_assert_cmpint (value_at (start_order, 1), ==, 20);
  g_assert_cmpint (value_at (start_order, 2), ==, 10);
  g_assert_cmpint (value_at (d.values, 0), ==, 30);
  delivered_clear (&d);
}

/* Among equal priorities the older request starts first: the sidebar's
 * badges are requested top to bottom and should fill in that order. */
static void
test_equal_priorities_keep_order (void)
{
  g_autoptr(QsJobService) service = qs_job_service_new (1, 0);
  static Fake badges[4] = { { .value = 1 }, { .value = 2 }, { .value = 3 }, { .value = 4 } };
  static const char *const keys[] = { "badge:a", "badge:b", "badge:c", "badge:d" };
  Delivered d;

  delivered_init (&d);
  for (guint i = 0; i < G_N_ELEMENTS (badges); i++)
    request (service, keys[i], QS_JOB_PRIORITY_BACKGROUND, &badges[i], &d);
  while (d.values->len < G_N_ELEMENTS (badges))
    g_main_context_iteration (NULL, TRUE);

  g_assert_cmpuint (start_order->len, ==, G_N_ELEMENTS (badges));
  for (guint i = 0; i < G_N_ELEMENTS (badges); i++)
    g_assert_cmpint (value_at (start_order, i), ==, badges[i].value);
  delivered_clear (&d);
}

static gboolean
both_started (gpointer data)
{
  Fake *fakes = data;
  return fake_started (&fakes[0]) && fake_started (&fakes[1]);
}

static gboolean
both_saw_cancel (gpointer data)
{
  Fake *fakes = data;
  return g_atomic_int_get (&fakes[0].saw_cancel) && g_atomic_int_get (&fakes[1].saw_cancel);
}

static gboolean
only_one_running (gpointer data)
{
  return qs_job_service_get_n_running (data) == 1;
}

/* A visible job runs alone: the lower jobs in flight are cancelled, run
 * again afterwards, and still answered once. */
static void
test_visible_preempts (void)
{
  g_autoptr(QsJobService) service = qs_job_service_new (2, 0);
  static Fake lower[2] = { { .value = 1, .kind = WORK_PREEMPTIBLE }, { .value = 2, .kind = WORK_PREEMPTIBLE } };
  static Fake visible = { .value = 3, .kind = WORK_UNTIL_RELEASED };
  Delivered d, dv;

  delivered_init (&d);
  delivered_init_more (&dv);
  request (service, "badge:a", QS_JOB_PRIORITY_BACKGROUND, &lower[0], &d);
  request (service, "accuracy", QS_JOB_PRIORITY_ACCURACY, &lower[1], &d);
  iterate_until (both_started, lower);
  request (service, "view", QS_JOB_PRIORITY_VISIBLE, &visible, &dv);
  /* The visible job starts at once (the cancelled jobs still winding
   * down do not hold it back); it is held until both lower jobs have
   * returned and been queued again, so that it provably ran alone. */
  iterate_until (both_saw_cancel, lower);
  iterate_until (only_one_running, service);
  g_atomic_int_set (&visible.released, 1);
  iterate_until (has_values, &dv);
  g_assert_cmpuint (d.values->len, ==, 0);

  g_atomic_int_set (&lower[0].released, 1);
  g_atomic_int_set (&lower[1].released, 1);
  while (d.values->len < 2)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpint (g_atomic_int_get (&lower[0].runs), ==, 2);
  g_assert_cmpint (g_atomic_int_get (&lower[1].runs), ==, 2);
  /* Nothing restarted before the visible job. Which of the two restarts
   * is recorded first is not asserted: both start on the two free workers
   * in one go, and their threads race to the record (the order of starts
   * by priority is checked with one worker in /jobs/priorities-order). */
  g_assert_cmpint (value_at (start_order, 2), ==, 3);
  delivered_clear (&d);
  delivered_clear (&dv);
}

/* Searches hold a worker for minutes: two of them run one at a time, and
 * the other worker stays free, so an accuracy job and a badge requested
 * meanwhile run at once, one after the other, while the first search runs. */
static void
test_search_leaves_a_worker (void)
{
  g_autoptr(QsJobService) service = qs_job_service_new (2, 0);
  static Fake searches[2] = { { .value = 1, .kind = WORK_UNTIL_RELEASED }, { .value = 2, .kind = WORK_UNTIL_RELEASED } };
  static Fake accuracy = { .value = 3 }, badge = { .value = 4 };
  Delivered d, dq;

  delivered_init (&d);
  delivered_init_more (&dq);
  request (service, "search:a", QS_JOB_PRIORITY_SEARCH, &searches[0], &d);
  iterate_until (fake_started, &searches[0]);
  request (service, "search:b", QS_JOB_PRIORITY_SEARCH, &searches[1], &d);
  request (service, "accuracy", QS_JOB_PRIORITY_ACCURACY, &accuracy, &dq);
  request (service, "badge:x", QS_JOB_PRIORITY_BACKGROUND, &badge, &dq);
  while (dq.values->len < 2)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpint (g_atomic_int_get (&searches[1].runs), ==, 0);
  g_assert_true (qs_job_service_is_busy (service, QS_JOB_PRIORITY_SEARCH));

  /* The second search starts once the first is done. */
  g_atomic_int_set (&searches[0].released, 1);
  iterate_until (fake_started, &searches[1]);
  g_atomic_int_set (&searches[1].released, 1);
  while (d.values->len < 2)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpint (value_at (start_order, 0), ==, 1);
  g_assert_cmpint (value_at (start_order, 1), ==, 3);
  g_assert_cmpint (value_at (start_order, 2), ==, 4);
  g_assert_cmpint (value_at (start_order, 3), ==, 2);
  delivered_clear (&d);
  delivered_clear (&dq);
}

/* A job that ignores its cancellation and finishes after a newer request
 * was answered: neither its estimate nor its result reaches the caller. */
static void
test_stale_never_delivered (void)
{
  g_autoptr(QsJobService) service = qs_job_service_new (2, 0);
  static Fake stale = { .value = 1, .kind = WORK_UNTIL_RELEASED, .post_partial = TRUE };
  static Fake fresh = { .value = 2, .post_partial = TRUE };
  Delivered d;

  delivered_init (&d);
  request (service, "accuracy", QS_JOB_PRIORITY_ACCURACY, &stale, &d);
  iterate_until (fake_started, &stale);
  request (service, "accuracy", QS_JOB_PRIORITY_ACCURACY, &fresh, &d);
  iterate_until (has_values, &d);

  g_atomic_int_set (&stale.released, 1);
  iterate_until (fake_freed_done, &stale);
  for (int i = 0; i < 50; i++)
    g_main_context_iteration (NULL, FALSE);

  g_assert_cmpuint (d.values->len, ==, 1);
  g_assert_cmpint (value_at (d.values, 0), ==, 2);
  g_assert_cmpuint (d.partials->len, ==, 1);
  g_assert_cmpint (value_at (d.partials, 0), ==, 1002);
  /* Cancelled work is not trusted to be whole: not cached. */
  g_assert_cmpuint (qs_job_service_get_cache_size (service, NULL), ==, 100);
  delivered_clear (&d);
}

static gboolean
saw_cancel (gpointer data)
{
  return g_atomic_int_get (&((Fake *) data)->saw_cancel);
}

/* Two targets ask for equal keys before either is cached (the window's
 * accuracy and compare's B on the same set): one run answers both, its
 * estimate too. */
static void
test_equal_keys_share_run (void)
{
  g_autoptr(QsJobService) service = qs_job_service_new (2, 0);
  static Fake first = { .value = 7, .kind = WORK_UNTIL_RELEASED, .post_partial = TRUE };
  static Fake second = { .value = 7, .kind = WORK_UNTIL_RELEASED, .post_partial = TRUE };
  Delivered d_first, d_second;

  delivered_init (&d_first);
  delivered_init (&d_second);
  request (service, "accuracy", QS_JOB_PRIORITY_ACCURACY, &first, &d_first);
  request (service, "compare-accuracy:b", QS_JOB_PRIORITY_ACCURACY, &second, &d_second);
  iterate_until (fake_started, &first);
  g_atomic_int_set (&first.released, 1);
  iterate_until (has_values, &d_first);
  iterate_until (has_values, &d_second);

  g_assert_cmpint (g_atomic_int_get (&first.runs), ==, 1);
  g_assert_cmpint (g_atomic_int_get (&second.runs), ==, 0);
  g_assert_true (g_atomic_int_get (&second.freed));
  g_assert_cmpuint (d_second.values->len, ==, 1);
  g_assert_cmpint (value_at (d_second.values, 0), ==, 7);
  g_assert_cmpuint (d_second.partials->len, ==, 1);
  g_assert_cmpint (value_at (d_second.partials, 0), ==, 1007);
  g_assert_cmpuint (d_first.values->len, ==, 1);
  g_assert_false (qs_job_service_is_pending (service, "compare-accuracy:b"));
  delivered_clear (&d_first);
  delivered_clear (&d_second);
}

/* The leader's own target moves on: the shared run goes on for the one
 * that still wants it, and stops once nobody does. */
static void
test_shared_run_outlives_leader (void)
{
  g_autoptr(QsJobService) service = qs_job_service_new (2, 0);
  static Fake shared = { .value = 7, .kind = WORK_PREEMPTIBLE };
  static Fake follower = { .value = 7, .kind = WORK_QUICK };
  static Fake other = { .value = 8, .kind = WORK_QUICK };
  static Fake again = { .value = 7, .kind = WORK_UNTIL_CANCELLED };
  static Fake again_follower = { .value = 7, .kind = WORK_QUICK };
  static Fake newer = { .value = 9, .kind = WORK_QUICK };
  Delivered d_leader, d_follower;

  delivered_init (&d_leader);
  delivered_init (&d_follower);
  request (service, "accuracy", QS_JOB_PRIORITY_ACCURACY, &shared, &d_leader);
  iterate_until (fake_started, &shared);
  request (service, "compare-accuracy:b", QS_JOB_PRIORITY_ACCURACY, &follower, &d_follower);
  request (service, "accuracy", QS_JOB_PRIORITY_ACCURACY, &other, &d_leader);
  iterate_until (has_values, &d_leader);
  g_assert_cmpint (value_at (d_leader.values, 0), ==, 8);
  g_assert_false (g_atomic_int_get (&shared.saw_cancel));
  g_atomic_int_set (&shared.released, 1);
  iterate_until (has_values, &d_follower);
  g_assert_cmpint (value_at (d_follower.values, 0), ==, 7);
  g_assert_cmpint (g_atomic_int_get (&follower.runs), ==, 0);
  /* The shared result is only 7's: the leader's target never sees it. */
  g_assert_cmpuint (d_leader.values->len, ==, 1);

  /* Again, and then the follower lets go too: the run is cancelled. */
  qs_job_service_clear_cache (service);
  request (service, "accuracy", QS_JOB_PRIORITY_ACCURACY, &again, &d_leader);
  iterate_until (fake_started, &again);
  request (service, "compare-accuracy:b", QS_JOB_PRIORITY_ACCURACY, &again_follower, &d_follower);
  request (service, "accuracy", QS_JOB_PRIORITY_ACCURACY, &newer, &d_leader);
  g_usleep (20000);
  g_assert_false (g_atomic_int_get (&again.saw_cancel));
  qs_job_service_cancel (service, "compare-accuracy:b");
  iterate_until (saw_cancel, &again);
  delivered_clear (&d_leader);
  delivered_clear (&d_follower);
}

/* A queued leader dropped before it runs hands the run to its follower,
 * which runs with its own work data. */
static void
test_queued_leader_hands_over (void)
{
  g_autoptr(QsJobService) service = qs_job_service_new (1, 0);
  static Fake blocker = { .value = 1, .kind = WORK_UNTIL_RELEASED };
  static Fake leader = { .value = 7, .kind = WORK_QUICK };
  static Fake follower = { .value = 7, .kind = WORK_QUICK };
  static Fake newer = { .value = 9, .kind = WORK_QUICK };
  Delivered d_blocker, d_leader, d_follower;

  delivered_init (&d_blocker);
  delivered_init (&d_leader);
  delivered_init (&d_follower);
  request (service, "blocker", QS_JOB_PRIORITY_ACCURACY, &blocker, &d_blocker);
  iterate_until (fake_started, &blocker);
  request (service, "accuracy", QS_JOB_PRIORITY_ACCURACY, &leader, &d_leader);
  request (service, "compare-accuracy:b", QS_JOB_PRIORITY_ACCURACY, &follower, &d_follower);
  request (service, "accuracy", QS_JOB_PRIORITY_ACCURACY, &newer, &d_leader);
  g_atomic_int_set (&blocker.released, 1);
  iterate_until (has_values, &d_follower);
  iterate_until (has_values, &d_leader);
  g_assert_cmpint (g_atomic_int_get (&leader.runs), ==, 0);
  g_assert_cmpint (g_atomic_int_get (&follower.runs), ==, 1);
  g_assert_cmpint (value_at (d_follower.values, 0), ==, 7);
  g_assert_cmpint (value_at (d_leader.values, 0), ==, 9);
  g_assert_cmpuint (d_leader.values->len, ==, 1);
  delivered_clear (&d_blocker);
  delivered_clear (&d_leader);
  delivered_clear (&d_follower);
}

/* Disposing of the service cancels what runs and answers nothing more. */
static void
test_dispose_cancels (void)
{
  QsJobService *service = qs_job_service_new (1, 0);
  static Fake slow = { .value = 1, .kind = WORK_UNTIL_CANCELLED };
  Delivered d;

  delivered_init (&d);
  request (service, "view", QS_JOB_PRIORITY_VISIBLE, &slow, &d);
  iterate_until (fake_started, &slow);
  g_assert_finalize_object (service);
  iterate_until (fake_freed_done, &slow);
  for (int i = 0; i < 20; i++)
    g_main_context_iteration (NULL, FALSE);
  g_assert_true (g_atomic_int_get (&slow.saw_cancel));
  g_assert_cmpuint (d.values->len, ==, 0);
  delivered_clear (&d);
}

static void
test_keys (void)
{
  guint64 ab_c = qs_job_key_add_string (qs_job_key_add_string (0, "ab"), "c");
  guint64 a_bc = qs_job_key_add_string (qs_job_key_add_string (0, "a"), "bc");

  g_assert_cmpuint (ab_c, !=, a_bc);
  /* FNV-1a 64 of "a" plus its NUL, worked by hand from the published
   * offset basis and prime. */
  {
    guint64 h = G_GUINT64_CONSTANT (14695981039346656037);
    h = (h ^ 'a') * G_GUINT64_CONSTANT (1099511628211);
    h = (h ^ 0) * G_GUINT64_CONSTANT (1099511628211);
    g_assert_cmpuint (qs_job_key_add_string (0, "a"), ==, h);
  }
  g_assert_cmpuint (qs_job_key_add_uint64 (0, 1), !=, qs_job_key_add_uint64 (0, 2));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  start_order = g_array_new (FALSE, FALSE, sizeof (int));
  g_test_add_func ("/jobs/newest-wins", test_newest_wins);
  g_test_add_func ("/jobs/cancel-reaches-running-job", test_cancel_reaches_running_job);
  g_test_add_func ("/jobs/cache-hit-same-iteration", test_cache_hit_same_iteration);
  g_test_add_func ("/jobs/priorities-order", test_priorities_order);
  g_test_add_func ("/jobs/equal-priorities-keep-order", test_equal_priorities_keep_order);
  g_test_add_func ("/jobs/visible-preempts", test_visible_preempts);
  g_test_add_func ("/jobs/search-leaves-a-worker", test_search_leaves_a_worker);
  g_test_add_func ("/jobs/stale-never-delivered", test_stale_never_delivered);
  g_test_add_func ("/jobs/equal-keys-share-run", test_equal_keys_share_run);
  g_test_add_func ("/jobs/shared-run-outlives-leader", test_shared_run_outlives_leader);
  g_test_add_func ("/jobs/queued-leader-hands-over", test_queued_leader_hands_over);
  g_test_add_func ("/jobs/dispose-cancels", test_dispose_cancels);
  g_test_add_func ("/jobs/keys", test_keys);
  return g_test_run ();
}
