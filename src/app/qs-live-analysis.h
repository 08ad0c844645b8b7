/* qs-live-analysis.h: the latest requested analysis, computed off the main thread.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every control change requests an analysis; requests that arrive while one
 * runs replace each other, so only the newest is computed next, and a
 * result that is no longer the newest request is dropped, never shown.
 */
#pragma once

#include <gio/gio.h>

#include "app/qs-document.h"
#include "model/qs-tensor-report.h"

G_BEGIN_DECLS

#define QS_TYPE_LIVE_ANALYSIS (qs_live_analysis_get_type ())
G_DECLARE_FINAL_TYPE (QsLiveAnalysis, qs_live_analysis, QS, LIVE_ANALYSIS, GObject)

/* Signals:
 *   "report-ready" (QsTensorReport *report, gint64 requested_usec): the
 *     newest request's result; requested_usec is g_get_monotonic_time ()
 *     at the request, for latency measurements.
 *   "failed" (const char *message): the newest request could not be
 *     analysed (non-float tensor, bad scheme, unreadable data). */
QsLiveAnalysis *qs_live_analysis_new     (void);
void            qs_live_analysis_request (QsLiveAnalysis     *self,
                                          QsDocument         *document,
                                          const QsTensorInfo *info,
                                          const QsScheme     *scheme);
gboolean        qs_live_analysis_is_busy (QsLiveAnalysis *self);

/* Lowers the calling worker thread's scheduling priority (once per
 * thread): on two cores the analysis threads would otherwise take turns
 * with the main loop for whole time slices, and the window would stall
 * while they run. Threads it starts inherit the lower priority. */
void            qs_background_thread_init (void);

G_END_DECLS
