/* qs-main-context.c: hand work from a worker thread to a main context.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "model/qs-main-context.h"

/**
 * qs_main_context_post:
 * @context: (nullable): where @func runs; %NULL for the global default
 * @priority: the priority of the idle source
 * @func: called once, in the thread that iterates @context
 * @data: (transfer full): for @func, released with @destroy
 * @destroy: (nullable): frees @data after @func ran, or when @context goes away
 *
 * Queues @func on @context and returns. Unlike g_main_context_invoke(),
 * never calls @func in the calling thread: that one runs it at once when
 * the caller can acquire the context, which a worker thread can whenever
 * the main loop is not running at that instant (before it starts, or
 * between two iterations), so a callback meant for the main thread would
 * run in the worker.
 */
void
qs_main_context_post (GMainContext   *context,
                      int             priority,
                      GSourceFunc     func,
                      gpointer        data,
                      GDestroyNotify  destroy)
{
  g_autoptr(GSource) source = g_idle_source_new ();

  g_return_if_fail (func != NULL);

  g_source_set_priority (source, priority);
  g_source_set_callback (source, func, data, destroy);
  g_source_set_static_name (source, "[quantscope] main-context post");
  g_source_attach (source, context);
}
