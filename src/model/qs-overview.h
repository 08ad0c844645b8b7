/* qs-overview.h: the model overview: every tensor of a weight file under a scheme file, worst first.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * `quantscope-cli report` writes it as JSON, CSV or Markdown. Each row's
 * numbers are the tensor report's, so they equal what `stats` prints for
 * that tensor and scheme.
 */
#pragma once

#include <gio/gio.h>

#include "model/qs-scheme-file.h"
#include "model/qs-tensor-report.h"

G_BEGIN_DECLS

typedef struct {
  const QsTensorInfo *info;     /* borrowed from the weight file */
  QsTensorReport     *report;   /* NULL when the tensor is kept as it is */
  const char         *reason;   /* why it is kept (static), or NULL */
} QsOverviewRow;

typedef struct {
  char      *model;
  GPtrArray *rows;              /* of QsOverviewRow, worst SQNR first, kept tensors last */
  guint      quantized;
  guint64    parameters;
  guint64    size_fp32_bytes;   /* kept tensors count at 4 bytes a value */
  guint64    size_quant_bytes;  /* ... on both sides */
} QsOverview;

/* Analyses every tensor of @file with the scheme @schemes resolves for it
 * (kept tensors: the skip list, and tensors that are not floating point or
 * are empty), on up to @n_threads threads, streaming tensors larger than
 * half of @memory_budget (0: the default). A tensor without finite values
 * is listed as kept. Errors: those of qs_tensor_report_compute_budget()
 * for the first tensor that fails otherwise. */
QsOverview *qs_overview_compute     (QsWeightFile   *file,
                                     const QsSchemeSet *schemes,
                                     int             n_threads,
                                     guint64         memory_budget,
                                     GCancellable   *cancellable,
                                     GError        **error);
void        qs_overview_free        (QsOverview     *overview);

/* {"model", "tensors": [...], "total": {...}}; infinities and NaN as null
 * (transfer full). */
JsonNode   *qs_overview_to_json     (const QsOverview *overview);
/* RFC 4180: a header row, CRLF line ends, fields with commas, quotes or
 * line breaks quoted (transfer full). */
char       *qs_overview_to_csv      (const QsOverview *overview);
/* A GitHub-flavoured Markdown table, Markdown's special characters in
 * names escaped (transfer full). */
char       *qs_overview_to_markdown (const QsOverview *overview);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QsOverview, qs_overview_free)

G_END_DECLS
