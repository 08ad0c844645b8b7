/* qs-channel-range-view-private.h: hooks that let tests drive QsChannelRangeView's real code paths.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "app/qs-channel-range-view.h"

G_BEGIN_DECLS

/* For tests: the channel under x (widget coordinates, current size), or -1;
 * and the tooltip text there (transfer full, nullable). */
int             _qs_channel_range_view_channel_at (QsChannelRangeView *self,
                                                   double              x);
char           *_qs_channel_range_view_tooltip_at (QsChannelRangeView *self,
                                                   double              x,
                                                   double              y);
/* Runs what a primary click at (x, y) runs. */
void            _qs_channel_range_view_click      (QsChannelRangeView *self,
                                                   double              x,
                                                   double              y);

G_END_DECLS
