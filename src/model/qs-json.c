/* qs-json.c: JSON parsing within bounds, typed reading, and building that never emits a bare NaN or Infinity.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "model/qs-json.h"

#include <math.h>
#include <string.h>

#include "model/qs-error.h"

/* Depth and value count of @data as json-glib's scanner will read it:
 * brackets inside "double-quoted" strings (with backslash escapes),
 * 'single-quoted' strings (no escapes) and C comments do not count, since
 * json-glib accepts all three. The count is of the separators and
 * openings, a slight overestimate of the values. Stops at the first limit
 * passed; never fails on malformed text (the parser reports that), with
 * one exception: json-glib 1.6 reads "{...}{...}" or "[...][...]" as
 * its first value and drops the rest without a word, so a second object
 * or array after the first is refused here. */
static gboolean
scan_bounds (const char  *data,
             gsize        length,
             gsize        max_values,
             const char  *what,
             GError     **error)
{
  guint depth = 0;
  gsize values = 0;
  gboolean closed_root = FALSE;

  for (gsize i = 0; i < length; i++)
    {
      char c = data[i];

      if (c == '"')
        {
          for (i++; i < length && data[i] != '"'; i++)
            if (data[i] == '\\')
              i++;
        }
      else if (c == '\'')
        {
          for (i++; i < length && data[i] != '\''; i++)
            ;
        }
      else if (c == '/' && i + 1 < length && data[i + 1] == '*')
        {
          for (i += 2; i + 1 < length && !(data[i] == '*' && data[i + 1] == '/'); i++)
            ;
          i++;
        }
      else if (c == '[' || c == '{')
        {
          if (depth == 0 && closed_root)
            {
              g_set_error (error, QS_ERROR, QS_ERROR_INVALID,
                           "%s holds a second object or array after its first one", what);
              return FALSE;
            }
          if (++depth > QS_JSON_MAX_DEPTH)
            {
              g_set_error (error, QS_ERROR, QS_ERROR_TOO_LARGE,
                           "%s nests arrays and objects more than %u levels deep", what, QS_JSON_MAX_DEPTH);
              return FALSE;
            }
          values++;
        }
      else if (c == ']' || c == '}')
        {
          if (depth > 0 && --depth == 0)
            closed_root = TRUE;
        }
      else if (c == ',' || c == ':')
        values++;

      if (values > max_values)
        {
          g_set_error (error, QS_ERROR, QS_ERROR_TOO_LARGE,
                       "%s holds more than %" G_GSIZE_FORMAT " values", what, max_values);
          return FALSE;
        }
    }
  return TRUE;
}

gboolean
qs_json_parser_load (JsonParser  *parser,
                     const char  *data,
                     gssize       length,
                     gsize        max_bytes,
                     const char  *what,
                     GError     **error)
{
  gsize size;

  g_return_val_if_fail (JSON_IS_PARSER (parser), FALSE);
  g_return_val_if_fail (data != NULL, FALSE);

  size = length < 0 ? strnlen (data, max_bytes + 1) : (gsize) length;
  if (size > max_bytes)
    {
      g_set_error (error, QS_ERROR, QS_ERROR_TOO_LARGE,
                   "%s is larger than %" G_GSIZE_FORMAT " MiB", what, max_bytes >> 20);
      return FALSE;
    }
  if (!scan_bounds (data, size, max_bytes / QS_JSON_BYTES_PER_VALUE, what, error))
    return FALSE;
  return json_parser_load_from_data (parser, data, (gssize) size, error);
}

/* Python's json.dumps writes float('nan') and the infinities as bare
 * tokens (allow_nan is its default), and Keras saves them: nobuco pads
 * with tf.pad (..., constant_values=-inf) before a max pooling. Outside
 * strings they become what json-glib reads; NULL when there are none. */
static GString *
replace_python_tokens (const char *data,
                       gsize       length)
{
  static const struct { const char *token, *json; } tokens[] = {
    { "-Infinity", "-1e999" }, { "Infinity", "1e999" }, { "NaN", "null" },
  };
  GString *out = NULL;
  gsize copied = 0;

  for (gsize i = 0; i < length; i++)
    {
      if (data[i] == '"')
        {
          for (i++; i < length && data[i] != '"'; i++)
            if (data[i] == '\\')
              i++;
          continue;
        }
      for (guint t = 0; t < G_N_ELEMENTS (tokens); t++)
        {
          gsize n = strlen (tokens[t].token);

          if (n <= length - i && memcmp (data + i, tokens[t].token, n) == 0)
            {
              if (out == NULL)
                out = g_string_sized_new (length + 16);
              g_string_append_len (out, data + copied, (gssize) (i - copied));
              g_string_append (out, tokens[t].json);
              copied = i + n;
              i += n - 1;
              break;
            }
        }
    }
  if (out != NULL)
    g_string_append_len (out, data + copied, (gssize) (length - copied));
  return out;
}

gboolean
qs_json_parser_load_python (JsonParser  *parser,
                            const char  *data,
                            gssize       length,
                            gsize        max_bytes,
                            const char  *what,
                            GError     **error)
{
  gsize size;
  GString *replaced;
  gboolean ok;

  g_return_val_if_fail (JSON_IS_PARSER (parser), FALSE);
  g_return_val_if_fail (data != NULL, FALSE);

  size = length < 0 ? strnlen (data, max_bytes + 1) : (gsize) length;
  if (size > max_bytes || (replaced = replace_python_tokens (data, size)) == NULL)
    return qs_json_parser_load (parser, data, (gssize) size, max_bytes, what, error);
  ok = qs_json_parser_load (parser, replaced->str, (gssize) replaced->len, max_bytes + max_bytes / 3 + 1, what, error);
  g_string_free (replaced, TRUE);
  return ok;
}

const char *
qs_json_node_type_name (JsonNode *node)
{
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return "null";
  if (JSON_NODE_HOLDS_OBJECT (node))
    return "an object";
  if (JSON_NODE_HOLDS_ARRAY (node))
    return "an array";
  switch (json_node_get_value_type (node))
    {
    case G_TYPE_BOOLEAN:
      return "true or false";
    case G_TYPE_STRING:
      return "a string";
    case G_TYPE_INT64:
      return "an integer";
    default:
      return "a number";
    }
}

static gboolean
holds_value_of (JsonNode *node,
                GType     type)
{
  return node != NULL && JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == type;
}

gboolean
qs_json_node_get_string (JsonNode    *node,
                         const char **value)
{
  if (!holds_value_of (node, G_TYPE_STRING))
    return FALSE;
  *value = json_node_get_string (node);
  return TRUE;
}

gboolean
qs_json_node_get_int (JsonNode *node,
                      gint64   *value)
{
  if (!holds_value_of (node, G_TYPE_INT64))
    return FALSE;
  *value = json_node_get_int (node);
  return TRUE;
}

gboolean
qs_json_node_get_number (JsonNode *node,
                         double   *value)
{
  if (!holds_value_of (node, G_TYPE_INT64) && !holds_value_of (node, G_TYPE_DOUBLE))
    return FALSE;
  *value = json_node_get_double (node);
  return TRUE;
}

gboolean
qs_json_node_get_bool (JsonNode *node,
                       gboolean *value)
{
  if (!holds_value_of (node, G_TYPE_BOOLEAN))
    return FALSE;
  *value = json_node_get_boolean (node);
  return TRUE;
}

gboolean
qs_json_node_get_object (JsonNode    *node,
                         JsonObject **value)
{
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return FALSE;
  *value = json_node_get_object (node);
  return TRUE;
}

gboolean
qs_json_node_get_array (JsonNode   *node,
                        JsonArray **value)
{
  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return FALSE;
  *value = json_node_get_array (node);
  return TRUE;
}

JsonNode *
qs_json_array_element (JsonArray *array,
                       guint      index)
{
  if (array == NULL || index >= json_array_get_length (array))
    return NULL;
  return json_array_get_element (array, index);
}

/* The member @name of @object, NULL when absent or null. */
static JsonNode *
present_member (JsonObject *object,
                const char *name)
{
  JsonNode *node;

  if (object == NULL || !json_object_has_member (object, name))
    return NULL;
  node = json_object_get_member (object, name);
  return JSON_NODE_HOLDS_NULL (node) ? NULL : node;
}

static gboolean
wrong_type (JsonNode    *node,
            const char  *name,
            const char  *expected,
            GError     **error)
{
  g_set_error (error, QS_ERROR, QS_ERROR_INVALID, "“%s” is %s, expected %s",
               name, qs_json_node_type_name (node), expected);
  return FALSE;
}

/* One member reader per type, all of the same shape. */
#define DEFINE_MEMBER_READER(suffix, ctype, expected)                          \
  gboolean                                                                    \
  qs_json_member_##suffix (JsonObject  *object,                               \
                           const char  *name,                                 \
                           ctype       *value,                                \
                           GError     **error)                                \
  {                                                                           \
    JsonNode *node = present_member (object, name);                          \
                                                                              \
    if (node == NULL || qs_json_node_get_##suffix (node, value))              \
      return TRUE;                                                            \
    return wrong_type (node, name, expected, error);                          \
  }

DEFINE_MEMBER_READER (string, const char *, "a string")
DEFINE_MEMBER_READER (int, gint64, "an integer")
DEFINE_MEMBER_READER (number, double, "a number")
DEFINE_MEMBER_READER (bool, gboolean, "true or false")
DEFINE_MEMBER_READER (object, JsonObject *, "an object")
DEFINE_MEMBER_READER (array, JsonArray *, "an array")

void
qs_json_add_number (JsonBuilder *builder,
                    double       value)
{
  if (!isfinite (value))
    json_builder_add_null_value (builder);
  else if (value == trunc (value) && fabs (value) < 9007199254740992.0)
    /* Integral values print as integers ("-128", not "-128.0"). */
    json_builder_add_int_value (builder, (gint64) value);
  else
    json_builder_add_double_value (builder, value);
}

void
qs_json_add_number_member (JsonBuilder *builder,
                           const char  *name,
                           double       value)
{
  json_builder_set_member_name (builder, name);
  qs_json_add_number (builder, value);
}

void
qs_json_add_uint_array (JsonBuilder   *builder,
                        const char    *name,
                        const guint64 *values,
                        gsize          count)
{
  json_builder_set_member_name (builder, name);
  json_builder_begin_array (builder);
  for (gsize i = 0; i < count; i++)
    json_builder_add_int_value (builder, (gint64) values[i]);
  json_builder_end_array (builder);
}

char *
qs_json_to_string (JsonNode *node,
                   gboolean  pretty)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();

  json_generator_set_root (generator, node);
  json_generator_set_pretty (generator, pretty);
  json_generator_set_indent (generator, 2);
  return json_generator_to_data (generator, NULL);
}
