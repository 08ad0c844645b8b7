/* qs-tensor-job.h: one tensor analysed under one scheme, as a request to the job service.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "app/qs-document.h"
#include "app/qs-job-service.h"
#include "model/qs-tensor-report.h"

G_BEGIN_DECLS

/* The target of the tensor on view: one slot, so selecting another tensor
 * supersedes the analysis of the previous one. */
#define QS_TENSOR_JOB_VIEW "view"

/* What a worker needs to analyse one tensor: its document (only its file
 * is read), a copy of its description and the scheme, taken on the main
 * thread. */
typedef struct {
  QsDocument   *document;
  QsTensorInfo *info;
  QsScheme      scheme;
  int           n_threads;
} QsTensorWork;

QsTensorWork *qs_tensor_work_new  (QsDocument         *document,
                                   const QsTensorInfo *info,
                                   const QsScheme     *scheme,
                                   int                 n_threads);
void          qs_tensor_work_free (QsTensorWork       *work);

/* The cache key of @info's analysis in @document under @scheme: every
 * field the result depends on, so the sidebar's badges and the view share
 * results (the thread count does not change them). */
guint64 qs_tensor_job_key     (QsDocument         *document,
                               const QsTensorInfo *info,
                               const QsScheme     *scheme);

/* Requests the QsTensorReport of @info under @scheme on @target, computed
 * on up to @n_threads threads once the request is @settle_ms old. */
void    qs_tensor_job_request (QsJobService       *jobs,
                               const char         *target,
                               QsJobPriority       priority,
                               guint               settle_ms,
                               int                 n_threads,
                               QsDocument         *document,
                               const QsTensorInfo *info,
                               const QsScheme     *scheme,
                               QsJobCallback       callback,
                               gpointer            user_data);

/* A 64-bit hash of every field of @scheme (no memcmp of padding), to go
 * into a key continuing from @seed. */
guint64 qs_job_key_add_scheme (guint64         seed,
                               const QsScheme *scheme);

G_END_DECLS
