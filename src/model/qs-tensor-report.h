/* qs-tensor-report.h: one tensor of a weight file analysed under one scheme, and its JSON.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The GUI and the CLI show the same numbers because both get them from here.
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "model/qs-weight-file.h"
#include "quant/qs-analysis.h"
#include "quant/qs-block.h"

G_BEGIN_DECLS

typedef struct {
  QsTensorInfo  *info;
  QsScheme       scheme;      /* as applied: axis resolved, -1 when per-tensor */
  QsQuantParams  params;
  QsAnalysis     analysis;
  const char    *kernel;      /* the fused-pass kernel that ran ("avx512", "avx2", "scalar") */
  /*< private >*/
  gatomicrefcount ref_count;
} QsTensorReport;

#define QS_TYPE_TENSOR_REPORT (qs_tensor_report_get_type ())
GType qs_tensor_report_get_type (void) G_GNUC_CONST;

/* Reports are immutable once computed and shared between the worker that
 * made them and the widgets that show them. */
QsTensorReport *qs_tensor_report_ref   (QsTensorReport *report);
void            qs_tensor_report_unref (QsTensorReport *report);

/* Reads the tensor at @path and applies @scheme to it, on up to @n_threads
 * threads (0: all cores). A scheme asking for the default axis gets the
 * tensor's own channel axis. Errors: those of reading, QS_ERROR_NOT_FOUND
 * for an unknown path, QS_ERROR_INVALID for a scheme that does not fit the
 * tensor (bad axis), QS_ERROR_EMPTY for a tensor without finite values. */
QsTensorReport *qs_tensor_report_compute (QsWeightFile    *file,
                                          const char      *path,
                                          const QsScheme  *scheme,
                                          int              n_threads,
                                          GError         **error);

/* The same on values already in memory (@values has info->count floats). */
QsTensorReport *qs_tensor_report_compute_values (const QsTensorInfo  *info,
                                                 const float         *values,
                                                 const QsScheme      *scheme,
                                                 int                  n_threads,
                                                 GError             **error);

/* The same, giving up with G_IO_ERROR_CANCELLED soon after @cancellable
 * (nullable) fires (the fused pass polls it between blocks), and keeping
 * the tensor's range statistics and data histogram in @memo (nullable;
 * see QsRangeMemo) for the next report on the same values. */
QsTensorReport *qs_tensor_report_compute_values_remembering (const QsTensorInfo  *info,
                                                             const float         *values,
                                                             const QsScheme      *scheme,
                                                             int                  n_threads,
                                                             GCancellable        *cancellable,
                                                             QsRangeMemo         *memo,
                                                             GError             **error);

/* Drops a reference (same as qs_tensor_report_unref). */
void            qs_tensor_report_free    (QsTensorReport *report);

/* The values the lowest and the highest code of channel @channel stand
 * for: the ends of the quantization grid, outside which values clip. */
void            qs_tensor_report_grid_range (const QsTensorReport *report,
                                             gsize                 channel,
                                             float                *lo,
                                             float                *hi);

/* The scheme as applied, in a few words: "int8 asymmetric per-channel",
 * "int4 symmetric per-tensor", "fp8-e4m3 per-tensor" (transfer full). */
char           *qs_tensor_report_describe_scheme (const QsTensorReport *report);

/* Everything the report holds, as the CLI's `stats --json` prints it
 * (transfer full). Infinite and undefined numbers become null. */
JsonNode       *qs_tensor_report_to_json (const QsTensorReport *report);

/* The JSON description of one tensor, as `layers --json` prints it. */
JsonNode       *qs_tensor_info_to_json   (const QsTensorInfo *info);

/* The block-size sweep (qs_block_sweep()) of the tensor at @path under a
 * blockwise @scheme, one point per size (transfer full, g_free). */
QsBlockSweepPoint *qs_tensor_sweep_group_sizes (QsWeightFile    *file,
                                                const char      *path,
                                                const QsScheme  *scheme,
                                                const int       *sizes,
                                                gsize            n_sizes,
                                                int              n_threads,
                                                GError         **error);

/* Adds "sweep": [{"group_size", "bits_per_weight", "sqnr_db", "mse"}] to a
 * report's JSON object (non-finite numbers as null). */
void               qs_tensor_report_add_sweep_json (JsonNode                *report_json,
                                                    const QsBlockSweepPoint *points,
                                                    gsize                    n_points);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QsTensorReport, qs_tensor_report_free)

G_END_DECLS
