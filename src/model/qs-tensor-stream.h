/* qs-tensor-stream.h: tensors larger than memory, analysed in hyperslab blocks under a memory budget.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A tensor whose float32 values take more than half the memory budget is
 * streamed: a range pass, a histogram pass when the range method needs one
 * (percentile, MSE, KL), then the fused quantize / metrics / histogram pass,
 * each reading the tensor block by block. Min/max, MSE and KL ranges give
 * results identical to the in-memory path; percentile ranges come from a
 * histogram (see qs_range_histogram_spec() for the accuracy).
 */
#pragma once

#include <gio/gio.h>

#include "model/qs-tensor-report.h"

G_BEGIN_DECLS

/* The smallest budget the command line accepts. */
#define QS_MEMORY_BUDGET_MIN (G_GUINT64_CONSTANT (1) << 20)

/* A quarter of the physical memory, at most 4 GiB and at least 64 MiB. */
guint64  qs_memory_budget_default (void);

/* "64M", "2G", "1.5GiB", "512k", "1048576" (bytes); units are binary.
 * Errors: QS_ERROR_INVALID naming the text. */
gboolean qs_memory_budget_parse   (const char  *text,
                                   guint64     *bytes,
                                   GError     **error);

/* Whether @info is analysed in memory (TRUE) or streamed under @budget. */
gboolean qs_tensor_fits_budget    (const QsTensorInfo *info,
                                   guint64             budget);

/* Called for every block of the final pass, in order, with the report's
 * params already set (its analysis is filled only after the last block).
 * @offset is the row-major index of values[0]. Returning FALSE with @error
 * stops the computation, which then fails with that error. */
typedef gboolean (*QsTensorBlockFunc) (const QsTensorReport  *report,
                                       guint64                offset,
                                       const float           *values,
                                       gsize                  count,
                                       gpointer               user_data,
                                       GError               **error);

/* qs_tensor_report_compute() under a memory budget (0: the default):
 * tensors that do not fit are streamed. Honours @cancellable between
 * blocks (G_IO_ERROR_CANCELLED). */
QsTensorReport *qs_tensor_report_compute_budget (QsWeightFile    *file,
                                                 const char      *path,
                                                 const QsScheme  *scheme,
                                                 int              n_threads,
                                                 guint64          memory_budget,
                                                 GCancellable    *cancellable,
                                                 GError         **error);

/* The same, calling @block_func (nullable) on every block of the final
 * pass; @streamed (nullable) tells which path ran. Errors: those of
 * qs_tensor_report_compute(), QS_ERROR_TOO_LARGE for a tensor that cannot be
 * streamed under the budget (a chunk larger than a quarter of it, too many
 * per-channel histograms, more than 2^40 elements). */
QsTensorReport *qs_tensor_report_compute_blocks (QsWeightFile        *file,
                                                 const QsTensorInfo  *info,
                                                 const QsScheme      *scheme,
                                                 int                  n_threads,
                                                 guint64              memory_budget,
                                                 QsTensorBlockFunc    block_func,
                                                 gpointer             user_data,
                                                 gboolean            *streamed,
                                                 GCancellable        *cancellable,
                                                 GError             **error);

G_END_DECLS
