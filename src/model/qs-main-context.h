/* qs-main-context.h: hand work from a worker thread to a main context.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

void qs_main_context_post (GMainContext   *context,
                           int             priority,
                           GSourceFunc     func,
                           gpointer        data,
                           GDestroyNotify  destroy);

G_END_DECLS
