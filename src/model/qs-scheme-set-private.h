/* qs-scheme-set-private.h: building a scheme set in place before anyone else holds it (the scheme file parser).
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "model/qs-scheme-set.h"

G_BEGIN_DECLS

/* Only on a set just made and not yet shared: appending one by one keeps
 * a file of thousands of overrides linear, where with_override() copies. */
void _qs_scheme_set_append_override (QsSchemeSet        *self,
                                     const char * const *patterns,
                                     const QsScheme     *scheme,
                                     QsSchemeKeys        keys);
/* Before any override is appended. */
void _qs_scheme_set_set_default     (QsSchemeSet        *self,
                                     const QsScheme     *scheme);
void _qs_scheme_set_take_skip       (QsSchemeSet        *self,
                                     char              **patterns);
/* Copies the fields @keys names from @from into @into. */
void _qs_scheme_set_apply_keys      (QsScheme           *into,
                                     const QsScheme     *from,
                                     QsSchemeKeys        keys);

G_END_DECLS
