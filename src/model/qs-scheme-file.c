/* qs-scheme-file.c: a default scheme, per-tensor overrides and a skip list, as a JSON file.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "model/qs-scheme-file.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include <glib/gstdio.h>

#include "model/qs-error.h"
#include "model/qs-input-file.h"
#include "model/qs-output-file.h"
#include "model/qs-json.h"
#include "model/qs-scheme-set-private.h"

struct _QsSchemeFile
{
  GObject      parent_instance;

  QsSchemeSet *set;   /* replaced, never edited, by the setters */
};

G_DEFINE_FINAL_TYPE (QsSchemeFile, qs_scheme_file, G_TYPE_OBJECT)

static void
qs_scheme_file_finalize (GObject *object)
{
  QsSchemeFile *self = QS_SCHEME_FILE (object);

  g_clear_pointer (&self->set, qs_scheme_set_unref);

  G_OBJECT_CLASS (qs_scheme_file_parent_class)->finalize (object);
}

static void
qs_scheme_file_class_init (QsSchemeFileClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = qs_scheme_file_finalize;
}

static void
qs_scheme_file_init (QsSchemeFile *self)
{
}

/**
 * qs_scheme_file_new:
 * @default_scheme: (nullable): the scheme of every tensor no override names
 *
 * Returns: (transfer full): a scheme file without overrides that skips
 * biases and batch-norm parameters.
 */
QsSchemeFile *
qs_scheme_file_new (const QsScheme *default_scheme)
{
  g_autoptr(QsSchemeSet) set = qs_scheme_set_new (default_scheme);

  return qs_scheme_file_new_for_set (set);
}

QsSchemeFile *
qs_scheme_file_new_for_set (QsSchemeSet *set)
{
  QsSchemeFile *self;

  g_return_val_if_fail (set != NULL, NULL);

  self = g_object_new (QS_TYPE_SCHEME_FILE, NULL);
  self->set = qs_scheme_set_ref (set);
  return self;
}

QsSchemeSet *
qs_scheme_file_get_set (QsSchemeFile *self)
{
  g_return_val_if_fail (QS_IS_SCHEME_FILE (self), NULL);

  return self->set;
}

static void
replace_set (QsSchemeFile *self,
             QsSchemeSet  *set)
{
  qs_scheme_set_unref (self->set);
  self->set = set;
}

gboolean
qs_scheme_file_resolve (QsSchemeFile       *self,
                        const QsTensorInfo *info,
                        QsScheme           *scheme)
{
  g_return_val_if_fail (QS_IS_SCHEME_FILE (self), FALSE);

  return qs_scheme_set_resolve_tensor (self->set, info, scheme);
}

/* ---- accessors ---------------------------------------------------------- */

const QsScheme *
qs_scheme_file_get_default (QsSchemeFile *self)
{
  g_return_val_if_fail (QS_IS_SCHEME_FILE (self), NULL);

  return qs_scheme_set_get_default (self->set);
}

void
qs_scheme_file_set_default (QsSchemeFile   *self,
                            const QsScheme *scheme)
{
  g_return_if_fail (QS_IS_SCHEME_FILE (self));

  replace_set (self, qs_scheme_set_with_default (self->set, scheme));
}

guint
qs_scheme_file_get_n_overrides (QsSchemeFile *self)
{
  g_return_val_if_fail (QS_IS_SCHEME_FILE (self), 0);

  return qs_scheme_set_get_n_overrides (self->set);
}

const char * const *
qs_scheme_file_get_override (QsSchemeFile *self,
                             guint         index,
                             QsScheme     *scheme,
                             QsSchemeKeys *keys)
{
  g_return_val_if_fail (QS_IS_SCHEME_FILE (self), NULL);

  return qs_scheme_set_get_override (self->set, index, scheme, keys);
}

void
qs_scheme_file_add_override (QsSchemeFile   *self,
                             const char     *pattern,
                             const QsScheme *scheme,
                             QsSchemeKeys    keys)
{
  const char *patterns[] = { pattern, NULL };

  g_return_if_fail (QS_IS_SCHEME_FILE (self));
  g_return_if_fail (pattern != NULL);

  replace_set (self, qs_scheme_set_with_override (self->set, patterns, scheme, keys));
}

void
qs_scheme_file_set_tensor_scheme (QsSchemeFile   *self,
                                  const char     *path,
                                  const QsScheme *scheme)
{
  g_return_if_fail (QS_IS_SCHEME_FILE (self));
  g_return_if_fail (scheme != NULL);

  replace_set (self, qs_scheme_set_with_tensor_scheme (self->set, path, scheme));
}

void
qs_scheme_file_remove_override (QsSchemeFile *self,
                                guint         index)
{
  g_return_if_fail (QS_IS_SCHEME_FILE (self));

  replace_set (self, qs_scheme_set_without_override (self->set, index));
}

const char * const *
qs_scheme_file_get_skip (QsSchemeFile *self)
{
  g_return_val_if_fail (QS_IS_SCHEME_FILE (self), NULL);

  return qs_scheme_set_get_skip (self->set);
}

void
qs_scheme_file_set_skip (QsSchemeFile       *self,
                         const char * const *patterns)
{
  g_return_if_fail (QS_IS_SCHEME_FILE (self));

  replace_set (self, qs_scheme_set_with_skip (self->set, patterns));
}

/* ---- writing ------------------------------------------------------------ */

/* The shortest of %.15g and %.17g that reads back as the same double. */
static char *
format_double (double value)
{
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];

  g_ascii_formatd (buffer, sizeof buffer, "%.15g", value);
  if (g_ascii_strtod (buffer, NULL) != value)
    g_ascii_formatd (buffer, sizeof buffer, "%.17g", value);
  return g_strdup (buffer);
}

static char *
range_text (const QsScheme *scheme)
{
  switch (scheme->range_method)
    {
    case QS_RANGE_PERCENTILE:
      {
        g_autofree char *p = format_double (scheme->percentile);
        return g_strdup_printf ("percentile:%s", p);
      }
    case QS_RANGE_MANUAL:
      {
        g_autofree char *lo = format_double (scheme->manual_lo);
        g_autofree char *hi = format_double (scheme->manual_hi);
        return g_strdup_printf ("manual:%s,%s", lo, hi);
      }
    case QS_RANGE_MINMAX:
    case QS_RANGE_MSE:
    case QS_RANGE_KL:
    default:
      return g_strdup (qs_range_method_to_string (scheme->range_method));
    }
}

static void
add_scheme_members (JsonBuilder    *builder,
                    const QsScheme *scheme,
                    QsSchemeKeys    keys)
{
  if (keys & QS_SCHEME_KEY_FORMAT)
    {
      json_builder_set_member_name (builder, "format");
      json_builder_add_string_value (builder, qs_format_to_string (scheme->format));
    }
  if (keys & QS_SCHEME_KEY_BITS)
    {
      json_builder_set_member_name (builder, "bits");
      json_builder_add_int_value (builder, scheme->bits);
    }
  if (keys & QS_SCHEME_KEY_MAPPING)
    {
      json_builder_set_member_name (builder, "mapping");
      json_builder_add_string_value (builder, qs_mapping_to_string (scheme->mapping));
    }
  if (keys & QS_SCHEME_KEY_SIGNED)
    {
      json_builder_set_member_name (builder, "signed");
      json_builder_add_boolean_value (builder, !scheme->is_unsigned);
    }
  if (keys & QS_SCHEME_KEY_NARROW)
    {
      json_builder_set_member_name (builder, "narrow");
      json_builder_add_boolean_value (builder, scheme->narrow);
    }
  if (keys & QS_SCHEME_KEY_GRANULARITY)
    {
      json_builder_set_member_name (builder, "granularity");
      json_builder_add_string_value (builder, qs_granularity_to_string (scheme->granularity));
    }
  if (keys & QS_SCHEME_KEY_AXIS)
    {
      json_builder_set_member_name (builder, "axis");
      if (scheme->axis == QS_AXIS_DEFAULT)
        json_builder_add_null_value (builder);
      else
        json_builder_add_int_value (builder, scheme->axis);
    }
  if (keys & QS_SCHEME_KEY_RANGE)
    {
      g_autofree char *range = range_text (scheme);
      json_builder_set_member_name (builder, "range");
      json_builder_add_string_value (builder, range);
    }
  if (keys & QS_SCHEME_KEY_ROUNDING)
    {
      json_builder_set_member_name (builder, "rounding");
      json_builder_add_string_value (builder, qs_rounding_to_string (scheme->rounding));
    }
  if (keys & QS_SCHEME_KEY_ZERO_NUDGE)
    {
      json_builder_set_member_name (builder, "zero_nudge");
      json_builder_add_boolean_value (builder, scheme->nudge_zero);
    }
  if (keys & QS_SCHEME_KEY_BINS)
    {
      json_builder_set_member_name (builder, "bins");
      json_builder_add_int_value (builder, scheme->bins);
    }
  if (keys & QS_SCHEME_KEY_GROUP_SIZE)
    {
      json_builder_set_member_name (builder, "group_size");
      json_builder_add_int_value (builder, scheme->group_size);
    }
}

JsonNode *
qs_scheme_to_json (const QsScheme *scheme)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  g_return_val_if_fail (scheme != NULL, NULL);

  json_builder_begin_object (builder);
  add_scheme_members (builder, scheme, QS_SCHEME_KEY_ALL & ~QS_SCHEME_KEY_BINS & ~QS_SCHEME_KEY_GROUP_SIZE);
  /* Bins only shape the displayed histograms: written when not the default. */
  if (scheme->bins != QS_DEFAULT_BINS)
    add_scheme_members (builder, scheme, QS_SCHEME_KEY_BINS);
  /* 0 is the format's own block size; files without block formats keep their form. */
  if (scheme->group_size != 0)
    add_scheme_members (builder, scheme, QS_SCHEME_KEY_GROUP_SIZE);
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

JsonNode *
qs_scheme_set_to_json (const QsSchemeSet *set)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  const char * const *skip;

  g_return_val_if_fail (set != NULL, NULL);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "version");
  json_builder_add_int_value (builder, QS_SCHEME_FILE_VERSION);
  json_builder_set_member_name (builder, "default");
  json_builder_add_value (builder, qs_scheme_to_json (qs_scheme_set_get_default (set)));

  json_builder_set_member_name (builder, "overrides");
  json_builder_begin_array (builder);
  for (guint i = 0; i < qs_scheme_set_get_n_overrides (set); i++)
    {
      QsScheme values;
      QsSchemeKeys keys;
      const char * const *patterns = qs_scheme_set_get_override (set, i, &values, &keys);

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "tensors");
      if (patterns[0] != NULL && patterns[1] == NULL)
        json_builder_add_string_value (builder, patterns[0]);
      else
        {
          json_builder_begin_array (builder);
          for (gsize p = 0; patterns[p] != NULL; p++)
            json_builder_add_string_value (builder, patterns[p]);
          json_builder_end_array (builder);
        }
      add_scheme_members (builder, &values, keys);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);

  json_builder_set_member_name (builder, "skip");
  json_builder_begin_array (builder);
  skip = qs_scheme_set_get_skip (set);
  for (gsize i = 0; skip[i] != NULL; i++)
    json_builder_add_string_value (builder, skip[i]);
  json_builder_end_array (builder);
  json_builder_end_object (builder);

  return json_builder_get_root (builder);
}

JsonNode *
qs_scheme_file_to_json (QsSchemeFile *self)
{
  g_return_val_if_fail (QS_IS_SCHEME_FILE (self), NULL);

  return qs_scheme_set_to_json (self->set);
}

char *
qs_scheme_set_to_data (const QsSchemeSet *set,
                       gsize             *length)
{
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autofree char *text = NULL;
  char *data;

  g_return_val_if_fail (set != NULL, NULL);

  root = qs_scheme_set_to_json (set);
  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, TRUE);
  json_generator_set_indent (generator, 2);
  text = json_generator_to_data (generator, NULL);
  data = g_strconcat (text, "\n", NULL);
  if (length != NULL)
    *length = strlen (data);
  return data;
}

char *
qs_scheme_file_to_data (QsSchemeFile *self,
                        gsize        *length)
{
  g_return_val_if_fail (QS_IS_SCHEME_FILE (self), NULL);

  return qs_scheme_set_to_data (self->set, length);
}

gboolean
qs_scheme_set_save (const QsSchemeSet  *set,
                    const char         *filename,
                    GError            **error)
{
  g_autofree char *data = NULL;
  g_autoptr(GError) local = NULL;
  gsize length;

  g_return_val_if_fail (set != NULL, FALSE);
  g_return_val_if_fail (filename != NULL, FALSE);

  data = qs_scheme_set_to_data (set, &length);
  /* A temporary file beside the target (through symbolic links), synced,
   * renamed over it: a crash leaves the old file or the new one, never
   * half of one. */
  if (!qs_output_set_contents (filename, data, length, &local))
    {
      g_autofree char *display = g_filename_display_name (filename);

      if (g_error_matches (local, QS_ERROR, QS_ERROR_WRITE))
        g_set_error (error, QS_ERROR, QS_ERROR_WRITE, "Cannot save the scheme file “%s”: %s",
                     display, local->message);
      else
        g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  return TRUE;
}

gboolean
qs_scheme_file_save (QsSchemeFile  *self,
                     const char    *filename,
                     GError       **error)
{
  g_return_val_if_fail (QS_IS_SCHEME_FILE (self), FALSE);

  return qs_scheme_set_save (self->set, filename, error);
}

/* ---- reading ------------------------------------------------------------ */

/* json-glib keeps no positions in its nodes: the parser's signals report
 * where each member and element ended, which for a scalar is its line. */
typedef struct {
  GHashTable *lines;     /* "%p/member" or "%p#index" -> line */
  GArray     *starts;    /* lines of the objects being parsed */
  const char *name;      /* for messages */
} Positions;

static void
object_start_cb (JsonParser *parser,
                 gpointer    user_data)
{
  Positions *pos = user_data;
  guint line = json_parser_get_current_line (parser);

  g_array_append_val (pos->starts, line);
}

static void
object_end_cb (JsonParser *parser,
               JsonObject *object,
               gpointer    user_data)
{
  Positions *pos = user_data;
  guint line = 0;

  if (pos->starts->len > 0)
    {
      line = g_array_index (pos->starts, guint, pos->starts->len - 1);
      g_array_set_size (pos->starts, pos->starts->len - 1);
    }
  g_hash_table_insert (pos->lines, g_strdup_printf ("%p{", (void *) object), GUINT_TO_POINTER (line));
}

static void
object_member_cb (JsonParser *parser,
                  JsonObject *object,
                  const char *member,
                  gpointer    user_data)
{
  Positions *pos = user_data;

  g_hash_table_insert (pos->lines, g_strdup_printf ("%p/%s", (void *) object, member),
                       GUINT_TO_POINTER (json_parser_get_current_line (parser)));
}

static void
array_element_cb (JsonParser *parser,
                  JsonArray  *array,
                  int         index,
                  gpointer    user_data)
{
  Positions *pos = user_data;

  g_hash_table_insert (pos->lines, g_strdup_printf ("%p#%d", (void *) array, index),
                       GUINT_TO_POINTER (json_parser_get_current_line (parser)));
}

static guint
member_line (Positions  *pos,
             JsonObject *object,
             const char *member)
{
  g_autofree char *key = member != NULL ? g_strdup_printf ("%p/%s", (void *) object, member)
                                        : g_strdup_printf ("%p{", (void *) object);

  return GPOINTER_TO_UINT (g_hash_table_lookup (pos->lines, key));
}

static guint
element_line (Positions *pos,
              JsonArray *array,
              guint      index)
{
  g_autofree char *key = g_strdup_printf ("%p#%u", (void *) array, index);

  return GPOINTER_TO_UINT (g_hash_table_lookup (pos->lines, key));
}

static gboolean
fail_at (GError    **error,
         Positions  *pos,
         guint       line,
         const char *format,
         ...) G_GNUC_PRINTF (4, 5);

static gboolean
fail_at (GError    **error,
         Positions  *pos,
         guint       line,
         const char *format,
         ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, QS_ERROR, QS_ERROR_INVALID, "%s:%u: %s", pos->name, line, message);
  return FALSE;
}

/* Reads the scheme keys of @object into @scheme, recording them in @keys;
 * @allow_tensors accepts (and ignores) "tensors" for overrides. */
static gboolean
parse_scheme_object (Positions     *pos,
                     JsonObject    *object,
                     const char    *where,
                     gboolean       allow_tensors,
                     QsScheme      *scheme,
                     QsSchemeKeys  *keys,
                     GError       **error)
{
  g_autoptr(GList) members = json_object_get_members (object);

  *keys = 0;
  for (GList *l = members; l != NULL; l = l->next)
    {
      const char *name = l->data;
      JsonNode *node = json_object_get_member (object, name);
      guint line = member_line (pos, object, name);
      const char *text = NULL;
      gboolean flag;
      gint64 number;

      if (g_str_equal (name, "tensors") && allow_tensors)
        continue;
      else if (g_str_equal (name, "format"))
        {
          if (!qs_json_node_get_string (node, &text) || !qs_format_parse (text, &scheme->format))
            return fail_at (error, pos, line, "“format” in %s must be \"int\", \"fp16\", \"bf16\", "
                            "\"fp8-e4m3\", \"fp8-e5m2\", \"mxfp8-e4m3\", \"mxfp8-e5m2\", \"mxfp6-e2m3\", "
                            "\"mxfp6-e3m2\", \"mxfp4\", \"mxint8\", \"nvfp4\" or \"nf4\"", where);
          *keys |= QS_SCHEME_KEY_FORMAT;
        }
      else if (g_str_equal (name, "bits"))
        {
          if (!qs_json_node_get_int (node, &number) || number < QS_MIN_BITS || number > QS_MAX_BITS)
            return fail_at (error, pos, line, "“bits” in %s must be an integer from 2 to 16", where);
          scheme->bits = (int) number;
          *keys |= QS_SCHEME_KEY_BITS;
        }
      else if (g_str_equal (name, "mapping"))
        {
          if (!qs_json_node_get_string (node, &text) || !qs_mapping_parse (text, &scheme->mapping))
            return fail_at (error, pos, line, "“mapping” in %s must be \"asymmetric\" or \"symmetric\"", where);
          *keys |= QS_SCHEME_KEY_MAPPING;
        }
      else if (g_str_equal (name, "signed"))
        {
          if (!qs_json_node_get_bool (node, &flag))
            return fail_at (error, pos, line, "“signed” in %s must be true or false, not %s",
                            where, qs_json_node_type_name (node));
          scheme->is_unsigned = !flag;
          *keys |= QS_SCHEME_KEY_SIGNED;
        }
      else if (g_str_equal (name, "narrow"))
        {
          if (!qs_json_node_get_bool (node, &flag))
            return fail_at (error, pos, line, "“narrow” in %s must be true or false, not %s",
                            where, qs_json_node_type_name (node));
          scheme->narrow = flag;
          *keys |= QS_SCHEME_KEY_NARROW;
        }
      else if (g_str_equal (name, "granularity"))
        {
          if (!qs_json_node_get_string (node, &text) || !qs_granularity_parse (text, &scheme->granularity))
            return fail_at (error, pos, line, "“granularity” in %s must be \"tensor\", \"channel\" or \"group\"", where);
          *keys |= QS_SCHEME_KEY_GRANULARITY;
        }
      else if (g_str_equal (name, "axis"))
        {
          if (JSON_NODE_HOLDS_NULL (node))
            scheme->axis = QS_AXIS_DEFAULT;
          else if (qs_json_node_get_int (node, &number) && number >= -QS_MAX_RANK && number < QS_MAX_RANK)
            scheme->axis = (int) number;
          else
            return fail_at (error, pos, line, "“axis” in %s must be null (the tensor's channel axis) "
                            "or an integer from -16 to 15", where);
          *keys |= QS_SCHEME_KEY_AXIS;
        }
      else if (g_str_equal (name, "range"))
        {
          if (!qs_json_node_get_string (node, &text) || !qs_range_method_parse (text, scheme))
            return fail_at (error, pos, line, "“range” in %s must be \"minmax\", \"percentile:P\", "
                            "\"mse\", \"kl\" or \"manual:LO,HI\"", where);
          *keys |= QS_SCHEME_KEY_RANGE;
        }
      else if (g_str_equal (name, "rounding"))
        {
          if (!qs_json_node_get_string (node, &text) || !qs_rounding_parse (text, &scheme->rounding))
            return fail_at (error, pos, line, "“rounding” in %s must be \"even\" or \"away\"", where);
          *keys |= QS_SCHEME_KEY_ROUNDING;
        }
      else if (g_str_equal (name, "zero_nudge"))
        {
          if (!qs_json_node_get_bool (node, &flag))
            return fail_at (error, pos, line, "“zero_nudge” in %s must be true or false, not %s",
                            where, qs_json_node_type_name (node));
          scheme->nudge_zero = flag;
          *keys |= QS_SCHEME_KEY_ZERO_NUDGE;
        }
      else if (g_str_equal (name, "bins"))
        {
          if (!qs_json_node_get_int (node, &number) || number < 1 || number > QS_MAX_BINS)
            return fail_at (error, pos, line, "“bins” in %s must be an integer from 1 to 65536", where);
          scheme->bins = (int) number;
          *keys |= QS_SCHEME_KEY_BINS;
        }
      else if (g_str_equal (name, "group_size"))
        {
          if (!qs_json_node_get_int (node, &number) || number < 0 || number > QS_MAX_GROUP_SIZE)
            return fail_at (error, pos, line, "“group_size” in %s must be an integer from 1 to 65536 "
                            "(or 0, the format's own block size)", where);
          scheme->group_size = (int) number;
          *keys |= QS_SCHEME_KEY_GROUP_SIZE;
        }
      else
        return fail_at (error, pos, line, "unknown key “%s” in %s", name, where);
    }
  return TRUE;
}

/* A validated scheme, or the reason it is not one at @line. */
static gboolean
validate_at (Positions      *pos,
             guint           line,
             const QsScheme *scheme,
             const char     *where,
             GError        **error)
{
  const char *problem = NULL;

  if (qs_scheme_validate (scheme, &problem) != QS_OK)
    return fail_at (error, pos, line, "%s: %s", where, problem);
  return TRUE;
}

static char **
parse_patterns (Positions   *pos,
                JsonNode    *node,
                guint        line,
                const char  *where,
                gboolean     allow_empty,
                GError     **error)
{
  g_autoptr(GPtrArray) patterns = g_ptr_array_new_with_free_func (g_free);
  const char *text;

  if (qs_json_node_get_string (node, &text))
    {
      if (text[0] == '\0')
        {
          fail_at (error, pos, line, "an empty pattern in %s", where);
          return NULL;
        }
      g_ptr_array_add (patterns, g_strdup (text));
    }
  else if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *array = json_node_get_array (node);

      for (guint i = 0; i < json_array_get_length (array); i++)
        {
          JsonNode *element = json_array_get_element (array, i);

          if (!qs_json_node_get_string (element, &text) || text[0] == '\0')
            {
              fail_at (error, pos, element_line (pos, array, i),
                       "%s must hold non-empty strings (globs or \"role:ROLE\"), not %s",
                       where, qs_json_node_type_name (element));
              return NULL;
            }
          g_ptr_array_add (patterns, g_strdup (text));
        }
      if (patterns->len == 0 && !allow_empty)
        {
          fail_at (error, pos, line, "%s is empty", where);
          return NULL;
        }
    }
  else
    {
      fail_at (error, pos, line, "%s must be a string or an array of strings, not %s",
               where, qs_json_node_type_name (node));
      return NULL;
    }

  for (guint i = 0; i < patterns->len; i++)
    {
      const char *pattern = g_ptr_array_index (patterns, i);
      QsTensorRole role;
      gboolean known = FALSE;

      if (!g_str_has_prefix (pattern, "role:"))
        continue;
      for (role = QS_TENSOR_ROLE_KERNEL; role <= QS_TENSOR_ROLE_OTHER; role++)
        known |= g_str_equal (pattern + 5, qs_tensor_role_to_string (role));
      if (!known)
        {
          fail_at (error, pos, line, "unknown role in “%s” (use kernel, depthwise_kernel, bias, "
                   "batchnorm or other)", pattern);
          return NULL;
        }
    }

  g_ptr_array_add (patterns, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&patterns), FALSE);
}

static gboolean
parse_root (QsSchemeSet   *set,
            Positions     *pos,
            JsonNode      *root,
            GError       **error)
{
  JsonObject *object;
  g_autoptr(GList) members = NULL;
  gboolean has_version = FALSE;

  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return fail_at (error, pos, 1, "a scheme file is a JSON object");
  object = json_node_get_object (root);
  members = json_object_get_members (object);

  /* The default first, whatever the member order: overrides build on it. */
  if (json_object_has_member (object, "default"))
    {
      JsonNode *node = json_object_get_member (object, "default");
      guint line = member_line (pos, object, "default");
      QsSchemeKeys keys;
      QsScheme scheme;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        return fail_at (error, pos, line, "“default” must be an object, not %s", qs_json_node_type_name (node));
      qs_scheme_init_default (&scheme);
      if (!parse_scheme_object (pos, json_node_get_object (node), "“default”", FALSE,
                                &scheme, &keys, error))
        return FALSE;
      /* As the CLI: "mapping": "asymmetric" alone is the seed's full range. */
      if (!(keys & QS_SCHEME_KEY_NARROW))
        scheme.narrow = qs_scheme_default_narrow (&scheme);
      if (!validate_at (pos, member_line (pos, json_node_get_object (node), NULL),
                        &scheme, "“default”", error))
        return FALSE;
      _qs_scheme_set_set_default (set, &scheme);
    }

  for (GList *l = members; l != NULL; l = l->next)
    {
      const char *name = l->data;
      JsonNode *node = json_object_get_member (object, name);
      guint line = member_line (pos, object, name);

      if (g_str_equal (name, "version"))
        {
          gint64 version;

          if (!qs_json_node_get_int (node, &version))
            return fail_at (error, pos, line, "“version” must be an integer");
          if (version != QS_SCHEME_FILE_VERSION)
            return fail_at (error, pos, line, "scheme file version %" G_GINT64_FORMAT
                            " is not supported (this program reads version 1)", version);
          has_version = TRUE;
        }
      else if (g_str_equal (name, "default"))
        {
          continue;
        }
      else if (g_str_equal (name, "overrides"))
        {
          JsonArray *array;

          if (!JSON_NODE_HOLDS_ARRAY (node))
            return fail_at (error, pos, line, "“overrides” must be an array, not %s", qs_json_node_type_name (node));
          array = json_node_get_array (node);
          for (guint i = 0; i < json_array_get_length (array); i++)
            {
              JsonNode *element = json_array_get_element (array, i);
              g_autofree char *where = g_strdup_printf ("override %u", i + 1);
              g_auto(GStrv) patterns = NULL;
              JsonObject *item;
              QsScheme values, merged;
              QsSchemeKeys keys;

              if (!JSON_NODE_HOLDS_OBJECT (element))
                return fail_at (error, pos, element_line (pos, array, i),
                                "%s must be an object, not %s", where, qs_json_node_type_name (element));
              item = json_node_get_object (element);
              if (!json_object_has_member (item, "tensors"))
                return fail_at (error, pos, member_line (pos, item, NULL),
                                "%s has no “tensors” (a glob, a path or \"role:ROLE\")", where);
              values = *qs_scheme_set_get_default (set);
              if (!parse_scheme_object (pos, item, where, TRUE, &values, &keys, error))
                return FALSE;
              patterns = parse_patterns (pos, json_object_get_member (item, "tensors"),
                                         member_line (pos, item, "tensors"),
                                         "“tensors”", FALSE, error);
              if (patterns == NULL)
                return FALSE;
              merged = *qs_scheme_set_get_default (set);
              _qs_scheme_set_apply_keys (&merged, &values, keys);
              if (!validate_at (pos, member_line (pos, item, NULL), &merged, where, error))
                return FALSE;
              _qs_scheme_set_append_override (set, (const char * const *) patterns, &values, keys);
            }
        }
      else if (g_str_equal (name, "skip"))
        {
          char **skip;

          if (!JSON_NODE_HOLDS_ARRAY (node))
            return fail_at (error, pos, line, "“skip” must be an array of strings, not %s",
                            qs_json_node_type_name (node));
          skip = parse_patterns (pos, node, line, "“skip”", TRUE, error);
          if (skip == NULL)
            return FALSE;
          _qs_scheme_set_take_skip (set, skip);
        }
      else
        return fail_at (error, pos, line, "unknown key “%s” (expected version, default, overrides, skip)", name);
    }

  if (!has_version)
    return fail_at (error, pos, 1, "no “version” (this program reads version 1)");
  return TRUE;
}

QsSchemeSet *
qs_scheme_set_load_from_data (const char  *data,
                              gssize       length,
                              const char  *display_name,
                              GError     **error)
{
  g_autoptr(QsSchemeSet) set = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) local = NULL;
  Positions pos;
  gboolean ok;

  g_return_val_if_fail (data != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  pos.lines = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  pos.starts = g_array_new (FALSE, FALSE, sizeof (guint));
  pos.name = display_name != NULL ? display_name : "<scheme>";
  g_signal_connect (parser, "object-start", G_CALLBACK (object_start_cb), &pos);
  g_signal_connect (parser, "object-end", G_CALLBACK (object_end_cb), &pos);
  g_signal_connect (parser, "object-member", G_CALLBACK (object_member_cb), &pos);
  g_signal_connect (parser, "array-element", G_CALLBACK (array_element_cb), &pos);

  if (!qs_json_parser_load (parser, data, length, QS_JSON_MAX_SCHEME_BYTES, pos.name, &local))
    {
      if (local->domain == QS_ERROR)
        {
          g_propagate_error (error, g_steal_pointer (&local));
          ok = FALSE;
          goto out;
        }
      /* json-glib says "<data>:LINE:COLUMN: Parse error: ..."; name the file. */
      const char *message = local->message;

      if (g_str_has_prefix (message, "<data>:"))
        message += strlen ("<data>:");
      g_set_error (error, QS_ERROR, QS_ERROR_INVALID, "%s:%s", pos.name, message);
      g_strdelimit ((*error)->message, "\n\r", ' ');
      ok = FALSE;
    }
  else
    {
      set = qs_scheme_set_new (NULL);
      ok = parse_root (set, &pos, json_parser_get_root (parser), error);
    }

out:
  g_hash_table_unref (pos.lines);
  g_array_unref (pos.starts);
  if (!ok)
    return NULL;
  return g_steal_pointer (&set);
}

QsSchemeFile *
qs_scheme_file_load_from_data (const char  *data,
                               gssize       length,
                               const char  *display_name,
                               GError     **error)
{
  g_autoptr(QsSchemeSet) set = qs_scheme_set_load_from_data (data, length, display_name, error);

  return set != NULL ? qs_scheme_file_new_for_set (set) : NULL;
}

QsSchemeSet *
qs_scheme_set_load (const char  *filename,
                    GError     **error)
{
  g_autofree char *display = NULL;
  g_autofree char *contents = NULL;
  gsize length;

  g_return_val_if_fail (filename != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  display = g_filename_display_name (filename);
  contents = qs_input_file_read_all (filename, "The scheme file", QS_JSON_MAX_SCHEME_BYTES, &length, error);
  if (contents == NULL)
    return NULL;
  if (memchr (contents, '\0', length) != NULL || !g_utf8_validate (contents, length, NULL))
    {
      g_set_error (error, QS_ERROR, QS_ERROR_INVALID,
                   "%s:1: not a scheme file (not UTF-8 text)", display);
      return NULL;
    }
  return qs_scheme_set_load_from_data (contents, length, display, error);
}

QsSchemeFile *
qs_scheme_file_load (const char  *filename,
                     GError     **error)
{
  g_autoptr(QsSchemeSet) set = qs_scheme_set_load (filename, error);

  return set != NULL ? qs_scheme_file_new_for_set (set) : NULL;
}
