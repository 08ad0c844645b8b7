/* qs-json.h: JSON building helpers that never emit a bare NaN or Infinity.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* A finite number as a JSON number, anything else as null: JSON has no
 * Infinity or NaN, and a parser must never meet one. */
void  qs_json_add_number        (JsonBuilder  *builder,
                                 double        value);
void  qs_json_add_number_member (JsonBuilder  *builder,
                                 const char   *name,
                                 double        value);
void  qs_json_add_uint_array    (JsonBuilder    *builder,
                                 const char     *name,
                                 const guint64  *values,
                                 gsize           count);

/* Pretty (indented) or compact text of @node (transfer full). */
char *qs_json_to_string         (JsonNode *node,
                                 gboolean  pretty);

G_END_DECLS
