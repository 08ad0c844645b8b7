/* qs-mapped-window.h: part of a file mapped read-only, safe against the file shrinking under it.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Streaming a tensor through read() copies every byte from the page cache
 * once per pass; a mapping lets the passes read the page cache itself. The
 * risk of a mapping is SIGBUS when another process truncates the file
 * while it is mapped: a guard (a process-wide SIGBUS handler, installed on
 * first use and chaining to any earlier one) replaces a faulting window
 * with zero pages and marks it, and qs_mapped_window_unmap() then reports
 * the read as failed. So a file cut short mid-pass is an error, not a
 * crash.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _QsMappedWindow QsMappedWindow;

/* Maps bytes [@offset, @offset + @length) of @fd read-only and faults them
 * in (MAP_POPULATE), so the first pass over them does not. @fd stays open
 * until the window is unmapped; @name is for messages. Fails with
 * QS_ERROR_READ when @fd is shorter than that range or the mapping fails. */
QsMappedWindow *qs_mapped_window_map   (int           fd,
                                        guint64       offset,
                                        gsize         length,
                                        const char   *name,
                                        GError      **error);

/* The first mapped byte (the one at @offset). */
gconstpointer   qs_mapped_window_get_data (QsMappedWindow *window);

/* Unmaps @window. FALSE with QS_ERROR_READ when the file shrank while it
 * was mapped (the data read from it was zeros, not the file's): a fault
 * caught by the guard, or a file now shorter than the window. */
gboolean        qs_mapped_window_unmap (QsMappedWindow  *window,
                                        GError         **error);

G_END_DECLS
