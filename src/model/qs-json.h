/* qs-json.h: JSON parsing within bounds, typed reading, and building that never emits a bare NaN or Infinity.
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

/* Bounds on JSON read from files, checked on the raw bytes before
 * json-glib sees them: json-glib 1.6 parses (and frees) nesting
 * recursively, without a limit, so a file of 10^5 "[" overflows the stack;
 * and each value costs about 100 bytes of nodes. Real Keras configs nest
 * about 10 levels deep (a layer's inbound_nodes in Keras 3), 4 more per
 * nested model; a scheme file 4. Values are bounded to one per
 * QS_JSON_BYTES_PER_VALUE bytes of the size limit (1 Mi for a model_config:
 * Keras configs hold about 100 values per layer). */
#define QS_JSON_MAX_DEPTH          64
#define QS_JSON_BYTES_PER_VALUE    16
#define QS_JSON_MAX_CONFIG_BYTES   ((gsize) 16 << 20)    /* a Keras model_config */
#define QS_JSON_MAX_SCHEME_BYTES   ((gsize) 4 << 20)     /* a scheme file */
#define QS_JSON_MAX_SCAN_BYTES     ((gsize) 256 << 20)   /* the scan helper's listing */

/* Refuses @data (of @length bytes, or NUL-terminated when -1) when it is
 * longer than @max_bytes, nests arrays and objects deeper than
 * QS_JSON_MAX_DEPTH or holds more than @max_bytes / QS_JSON_BYTES_PER_VALUE
 * values, with a
 * QS_ERROR_TOO_LARGE error naming @what; then loads it into @parser.
 * Every JSON read from a file goes through here. */
gboolean    qs_json_parser_load (JsonParser   *parser,
                                 const char   *data,
                                 gssize        length,
                                 gsize         max_bytes,
                                 const char   *what,
                                 GError      **error);

/* The same for JSON that Python's json module wrote (Keras' model_config
 * and config.json): its bare NaN, Infinity and -Infinity, which JSON and
 * json-glib lack, load as null, 1e999 and -1e999 (json-glib reads those as
 * infinities). */
gboolean    qs_json_parser_load_python (JsonParser   *parser,
                                        const char   *data,
                                        gssize        length,
                                        gsize         max_bytes,
                                        const char   *what,
                                        GError      **error);

/* "a string", "an object", ...: what @node holds, for messages. */
const char *qs_json_node_type_name (JsonNode *node);

/* Typed reads that never log a Json-CRITICAL (json-glib's getters do on
 * a node of another type): TRUE and *value set when @node holds that
 * type, FALSE and *value untouched otherwise. A number is an integer or a
 * floating-point value; an integer only an integer. */
gboolean qs_json_node_get_string (JsonNode    *node,
                                  const char **value);
gboolean qs_json_node_get_int    (JsonNode    *node,
                                  gint64      *value);
gboolean qs_json_node_get_number (JsonNode    *node,
                                  double      *value);
gboolean qs_json_node_get_bool   (JsonNode    *node,
                                  gboolean    *value);
gboolean qs_json_node_get_object (JsonNode    *node,
                                  JsonObject **value);
gboolean qs_json_node_get_array  (JsonNode    *node,
                                  JsonArray  **value);

/* The element @index of @array, NULL when past the end (no critical). */
JsonNode *qs_json_array_element (JsonArray *array,
                                 guint      index);

/* Members of @object by type: TRUE with *value untouched when the member
 * is absent (the caller keeps its default) or null; TRUE and *value set
 * when it holds that type; FALSE with a QS_ERROR_INVALID error
 * "“NAME” is TYPE, expected EXPECTED" otherwise. @object may be NULL. */
gboolean qs_json_member_string (JsonObject   *object,
                                const char   *name,
                                const char  **value,
                                GError      **error);
gboolean qs_json_member_int    (JsonObject   *object,
                                const char   *name,
                                gint64       *value,
                                GError      **error);
gboolean qs_json_member_number (JsonObject   *object,
                                const char   *name,
                                double       *value,
                                GError      **error);
gboolean qs_json_member_bool   (JsonObject   *object,
                                const char   *name,
                                gboolean     *value,
                                GError      **error);
gboolean qs_json_member_object (JsonObject   *object,
                                const char   *name,
                                JsonObject  **value,
                                GError      **error);
gboolean qs_json_member_array  (JsonObject   *object,
                                const char   *name,
                                JsonArray   **value,
                                GError      **error);

G_END_DECLS
