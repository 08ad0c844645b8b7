/* qs-tensor-job.c: one tensor analysed under one scheme, as a request to the job service.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "app/qs-tensor-job.h"

QsTensorWork *
qs_tensor_work_new (QsDocument         *document,
                    const QsTensorInfo *info,
                    const QsScheme     *scheme,
                    int                 n_threads)
{
  QsTensorWork *work = g_new0 (QsTensorWork, 1);

  work->document = g_object_ref (document);
  work->info = qs_tensor_info_copy (info);
  work->scheme = *scheme;
  work->n_threads = n_threads;
  return work;
}

void
qs_tensor_work_free (QsTensorWork *work)
{
  g_clear_object (&work->document);
  g_clear_pointer (&work->info, qs_tensor_info_free);
  g_free (work);
}

static guint64
add_double (guint64 seed,
            double  value)
{
  union { double d; guint64 u; } bits = { .d = value == 0.0 ? 0.0 : value };

  return qs_job_key_add_uint64 (seed, bits.u);
}

guint64
qs_job_key_add_scheme (guint64         seed,
                       const QsScheme *s)
{
  guint64 key = seed;

  key = qs_job_key_add_uint64 (key, (guint64) s->format);
  key = qs_job_key_add_uint64 (key, (guint64) s->bits);
  key = qs_job_key_add_uint64 (key, (guint64) s->mapping);
  key = qs_job_key_add_uint64 (key, (guint64) s->is_unsigned);
  key = qs_job_key_add_uint64 (key, (guint64) s->narrow);
  key = qs_job_key_add_uint64 (key, (guint64) s->granularity);
  key = qs_job_key_add_uint64 (key, (guint64) s->axis);
  key = qs_job_key_add_uint64 (key, (guint64) s->range_method);
  key = add_double (key, s->percentile);
  key = add_double (key, s->manual_lo);
  key = add_double (key, s->manual_hi);
  key = qs_job_key_add_uint64 (key, (guint64) s->rounding);
  key = qs_job_key_add_uint64 (key, (guint64) s->nudge_zero);
  key = qs_job_key_add_uint64 (key, (guint64) s->bins);
  key = qs_job_key_add_uint64 (key, (guint64) s->has_hist_range);
  key = add_double (key, s->hist_lo);
  key = add_double (key, s->hist_hi);
  key = qs_job_key_add_uint64 (key, (guint64) s->group_size);
  return key;
}

guint64
qs_tensor_job_key (QsDocument         *document,
                   const QsTensorInfo *info,
                   const QsScheme     *scheme)
{
  guint64 key = qs_job_key_add_string (0, "tensor-report");

  key = qs_job_key_add_uint64 (key, (guint64) (guintptr) document);
  key = qs_job_key_add_string (key, info->path);
  return qs_job_key_add_scheme (key, scheme);
}

/* What a report holds, for the cache's budget. */
static gsize
report_cost (const QsTensorReport *report)
{
  const QsAnalysis *a = &report->analysis;
  gsize cost = sizeof *report + 2 * (gsize) a->histogram.bins * sizeof (guint64);

  /* Scale, inverse scale, zero point and range per channel, and the data
   * range per channel. */
  cost += report->params.channels * 6 * sizeof (float) + a->channels * 2 * sizeof (float);
  if (a->blocks != NULL)
    cost += sizeof *a->blocks + (gsize) a->blocks->scale_bins * sizeof (guint64);
  return cost;
}

static gpointer
analyse (QsJobContext *context,
         gpointer      work_data,
         GCancellable *cancellable,
         GError      **error)
{
  QsTensorWork *work = work_data;
  g_autoptr(GBytes) values = NULL;
  QsTensorReport *report;
  QsRangeMemo *memo;

  values = qs_document_load_values (work->document, work->info, error);
  if (values == NULL)
    return NULL;
  /* A change of scheme on the same tensor skips the range pass. */
  memo = qs_document_take_range_memo (work->document, work->info);
  report = qs_tensor_report_compute_values_remembering (work->info, g_bytes_get_data (values, NULL),
                                                        &work->scheme, work->n_threads,
                                                        cancellable, memo, error);
  qs_document_give_range_memo (work->document, work->info, memo);
  if (report != NULL)
    qs_job_context_set_cost (context, report_cost (report));
  return report;
}

void
qs_tensor_job_request (QsJobService       *jobs,
                       const char         *target,
                       QsJobPriority       priority,
                       guint               settle_ms,
                       int                 n_threads,
                       QsDocument         *document,
                       const QsTensorInfo *info,
                       const QsScheme     *scheme,
                       QsJobCallback       callback,
                       gpointer            user_data)
{
  QsJobSpec spec = {
    .target = target,
    .key = qs_tensor_job_key (document, info, scheme),
    .priority = priority,
    .result_type = QS_TYPE_TENSOR_REPORT,
    .work = analyse,
    .settle_ms = settle_ms,
    .cacheable = TRUE,
  };

  g_return_if_fail (QS_IS_JOB_SERVICE (jobs));
  g_return_if_fail (QS_IS_DOCUMENT (document));
  g_return_if_fail (info != NULL && scheme != NULL);

  qs_job_service_request (jobs, &spec, qs_tensor_work_new (document, info, scheme, n_threads),
                          (GDestroyNotify) qs_tensor_work_free, callback, user_data);
}
