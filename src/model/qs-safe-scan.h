/* qs-safe-scan.h: reading a weight file's metadata and values once in a child process, so a crash there cannot take the GUI down.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * libhdf5 can abort or crash on some malformed files. The GUI lists a file
 * with qs_weight_file_scan_async() first: it runs `quantscope-cli layers
 * --json --check-data FILE` (the listing, and one read of every value of
 * every dataset, where damage shows only when values are read) and turns a
 * crash, a timeout or a failure into a GError; only a file that scanned
 * cleanly is then opened in-process.
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "model/qs-weight-file.h"

G_BEGIN_DECLS

/* The timeout qs_weight_file_scan_async() uses for 0: this, plus time to
 * read the whole file at QS_SCAN_MIN_BYTES_PER_MS (50 MB/s, a slow disk),
 * since the child reads every value once (20 s more for 1 GB). */
#define QS_SCAN_DEFAULT_TIMEOUT_MS 10000
#define QS_SCAN_MIN_BYTES_PER_MS   50000

typedef struct {
  char      *filename;
  char      *layout;            /* "generic", "keras-model", "keras-weights", "keras3-weights", "keras3-model" */
  gboolean   has_model_config;
  GPtrArray *tensors;           /* QsTensorInfo, in the reader's order */
  GPtrArray *warnings;          /* utf8: links that lead nowhere */
} QsScanResult;

void qs_scan_result_free (QsScanResult *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QsScanResult, qs_scan_result_free)

/* The helper program: $QS_SCAN_HELPER when set, else quantscope-cli beside
 * the running program, else quantscope-cli on PATH (transfer full; NULL
 * when there is none). */
char *qs_scan_helper_path (void);

/* Scans @filename in a child process, killed after @timeout_ms (0: the
 * default) or when @cancellable fires. @callback runs in the caller's
 * thread-default main context. */
void          qs_weight_file_scan_async  (const char          *filename,
                                          guint                timeout_ms,
                                          GCancellable        *cancellable,
                                          GAsyncReadyCallback  callback,
                                          gpointer             user_data);
/* Errors, all one line naming the file: those the helper reports
 * (QS_ERROR_NOT_FOUND, QS_ERROR_NOT_HDF5, ...), QS_ERROR_FAILED for a crash
 * ("crashed (signal 6, Aborted)") or a timeout, or for output that is not
 * the expected JSON; G_IO_ERROR_CANCELLED. */
QsScanResult *qs_weight_file_scan_finish (GAsyncResult        *result,
                                          GError             **error);

/* The same, blocking (a main loop runs inside): for tests and tools. */
QsScanResult *qs_weight_file_scan        (const char          *filename,
                                          guint                timeout_ms,
                                          GCancellable        *cancellable,
                                          GError             **error);

G_END_DECLS
