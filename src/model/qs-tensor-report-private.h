/* qs-tensor-report-private.h: what the streaming path shares with qs-tensor-report.c.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "model/qs-tensor-report.h"

G_BEGIN_DECLS

/* An empty report holding one reference. */
QsTensorReport *_qs_tensor_report_new    (void);

/* The channel axis @scheme uses on @info (-1 per tensor) and the channel
 * layout of the tensor along it, as qs_tensor_report_compute_values()
 * resolves them. */
gboolean        _qs_tensor_report_layout (const QsTensorInfo  *info,
                                          const QsScheme      *scheme,
                                          int                 *axis,
                                          QsChannelLayout     *layout,
                                          GError             **error);

G_END_DECLS
