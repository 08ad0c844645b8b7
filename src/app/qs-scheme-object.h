/* qs-scheme-object.h: a QsScheme as a GObject, so controls can bind to it.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib-object.h>

#include "quant/qs-scheme.h"

G_BEGIN_DECLS

#define QS_TYPE_SCHEME_OBJECT (qs_scheme_object_get_type ())
G_DECLARE_FINAL_TYPE (QsSchemeObject, qs_scheme_object, QS, SCHEME_OBJECT, GObject)

/* Properties mirror the QsScheme fields: "format", "bits", "mapping",
 * "unsigned", "narrow", "granularity", "range-method", "percentile",
 * "manual-lo", "manual-hi", "rounding", "nudge-zero". Enum-valued ones are
 * guint in the enums' order, which is also the order of the choices in the
 * window's combo rows. "changed" is emitted once per property change. */
QsSchemeObject *qs_scheme_object_new        (void);
void            qs_scheme_object_get_scheme (QsSchemeObject *self,
                                             QsScheme       *scheme);
/* Sets every property at once, emitting "changed" a single time. */
void            qs_scheme_object_set_scheme (QsSchemeObject *self,
                                             const QsScheme *scheme);

/* A one-line text form: "bits=8;mapping=asymmetric;..." (the block
 * inspector's cache key). */
char           *qs_scheme_to_text           (const QsScheme *scheme);

G_END_DECLS
