/* qs-json.c: JSON building helpers that never emit a bare NaN or Infinity.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "model/qs-json.h"

#include <math.h>

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
