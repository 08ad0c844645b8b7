/* qs-export.h: writing quantized or dequantized weights to a new HDF5 file, all or nothing.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The output format is documented in docs/export-format.md.
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "model/qs-scheme-file.h"
#include "model/qs-tensor-report.h"
#include "model/qs-weight-file.h"

G_BEGIN_DECLS

typedef enum {
  QS_EXPORT_LAYOUT_QUANTIZED,    /* integer codes with scale / zero_point attributes */
  QS_EXPORT_LAYOUT_DEQUANTIZED,  /* the input's tree and types, values dequant(quant(w)) */
} QsExportLayout;

typedef struct {
  QsExportLayout layout;
  gboolean       pack;           /* bit-pack codes of 2..7 bits (quantized layout) */
  gboolean       force;          /* replace an existing output file */
  const char    *tensors;        /* nullable: only tensors matching this glob are quantized */
  guint64        memory_budget;  /* bytes; 0: qs_memory_budget_default() */
  int            n_threads;      /* 0: all cores */
} QsExportOptions;

void qs_export_options_init (QsExportOptions *options);

typedef struct {
  const char *path;             /* the tensor being written, or NULL at the end */
  guint       tensors_done;
  guint       tensors_total;
  guint64     bytes_done;       /* float32 bytes of quantizable tensors processed */
  guint64     bytes_total;
} QsExportProgress;

typedef void (*QsExportProgressFunc) (const QsExportProgress *progress,
                                      gpointer                user_data);

typedef struct {
  char           *path;
  gboolean        quantized;
  char           *reason;       /* why a tensor was copied unchanged, or NULL */
  gboolean        streamed;     /* read in blocks under the memory budget */
  QsTensorReport *report;       /* nullable: what quantizing it did */
} QsExportTensor;

typedef struct {
  char          *input;
  char          *output;
  QsExportLayout layout;
  gboolean       packed;
  GPtrArray     *tensors;       /* QsExportTensor, in the order written */
  GPtrArray     *warnings;      /* utf8: what could not be carried over exactly */
  guint64        input_bytes;   /* file sizes */
  guint64        output_bytes;
} QsExportResult;

void      qs_export_result_free    (QsExportResult *result);
/* The summary `quantscope-cli export --json` prints (transfer full). */
JsonNode *qs_export_result_to_json (const QsExportResult *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QsExportResult, qs_export_result_free)

const char *qs_export_layout_to_string (QsExportLayout layout);
gboolean    qs_export_layout_parse     (const char     *text,
                                        QsExportLayout *layout);

/* Writes @input, quantized as @schemes says, to @output.
 *
 * Nothing is lost: the file is written as a temporary ".NAME.XXXXXX" in the
 * output's folder, synced, and renamed over @output only when complete;
 * on any failure or cancellation the temporary file is removed and @output
 * is left as it was. The input is only read. Refuses an @output that is
 * the input file (by device and inode, so links count) and, without
 * options->force, one that exists.
 *
 * @progress is called from the calling thread. Blocking: call it from a
 * worker thread (or use qs_export_async()). Errors: QS_ERROR_INVALID
 * (bad options, output is the input, output exists), QS_ERROR_WRITE,
 * the reading errors of a tensor, G_IO_ERROR_CANCELLED. */
QsExportResult *qs_export (QsWeightFile           *input,
                           const char             *output,
                           const QsSchemeSet      *schemes,
                           const QsExportOptions  *options,
                           QsExportProgressFunc    progress,
                           gpointer                progress_data,
                           GCancellable           *cancellable,
                           GError                **error);

/* qs_export() in a GTask thread. @progress (nullable) is called in the
 * thread-default main context of the caller, coalesced to the latest value.
 * @options is copied; @input and @schemes are referenced. */
void            qs_export_async  (QsWeightFile          *input,
                                  const char            *output,
                                  QsSchemeSet           *schemes,
                                  const QsExportOptions *options,
                                  QsExportProgressFunc   progress,
                                  gpointer               progress_data,
                                  GDestroyNotify         progress_destroy,
                                  GCancellable          *cancellable,
                                  GAsyncReadyCallback    callback,
                                  gpointer               user_data);
QsExportResult *qs_export_finish (GAsyncResult          *result,
                                  GError               **error);

G_END_DECLS
