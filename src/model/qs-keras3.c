/* qs-keras3.c: Keras 3 files: the .keras archive and naming the variables of a .weights.h5 tree.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "model/qs-keras3.h"

#include <string.h>
#include <unistd.h>

#include <json-glib/json-glib.h>

#include "model/qs-error.h"
#include "model/qs-input-file.h"
#include "model/qs-json.h"
#include "model/qs-zip-archive.h"

/* Nested models deeper than this are not what Keras writes. */
#define MAX_NESTING 16

static void
keras3_layer_free (gpointer data)
{
  QsKeras3Layer *layer = data;

  g_free (layer->layer);
  g_free (layer->display);
  g_free (layer->class_name);
  g_clear_pointer (&layer->weights, g_ptr_array_unref);
  g_free (layer);
}

/* Python's re.sub, left to right without overlap, of "(.)([A-Z][a-z]+)"
 * (with @digits, "[a-z0-9]+") by "\1_\2". */
static void
split_capital_words (GString    *out,
                     const char *name,
                     gboolean    digits)
{
  gsize n = strlen (name), p = 0;

  while (p < n)
    {
      gsize run = 0;

      if (p + 1 < n && g_ascii_isupper (name[p + 1]))
        while (p + 2 + run < n
               && (g_ascii_islower (name[p + 2 + run]) || (digits && g_ascii_isdigit (name[p + 2 + run]))))
          run++;
      if (run > 0)
        {
          g_string_append_c (out, name[p]);
          g_string_append_c (out, '_');
          g_string_append_len (out, name + p + 1, (gssize) run + 1);
          p += run + 2;
        }
      else
        g_string_append_c (out, name[p++]);
    }
}

char *
_qs_keras3_snake_case (const char *class_name,
                       gboolean    keras2)
{
  g_autoptr(GString) word = g_string_new (NULL);
  g_autoptr(GString) first = g_string_new (NULL);
  GString *out = g_string_new (NULL);
  gsize p = 0;

  /* Keras 3 first drops non-word characters (re "\W+"). */
  for (const char *c = class_name; *c != '\0'; c++)
    if (keras2 || g_ascii_isalnum (*c) || *c == '_' || (guchar) *c >= 0x80)
      g_string_append_c (word, *c);
  split_capital_words (first, word->str, keras2);
  /* Then "([a-z])([A-Z])" -> "\1_\2", and lower case. */
  while (p < first->len)
    {
      if (p + 1 < first->len && g_ascii_islower (first->str[p]) && g_ascii_isupper (first->str[p + 1]))
        {
          g_string_append_c (out, first->str[p]);
          g_string_append_c (out, '_');
          g_string_append_c (out, first->str[p + 1]);
          p += 2;
        }
      else
        g_string_append_c (out, first->str[p++]);
    }
  for (gsize i = 0; i < out->len; i++)
    out->str[i] = g_ascii_tolower (out->str[i]);
  if (keras2 && out->str[0] == '_')
    g_string_prepend (out, "private");
  return g_string_free (out, FALSE);
}

static gboolean
config_flag (JsonObject *config,
             const char *name,
             gboolean    fallback)
{
  gboolean value = fallback;

  qs_json_member_bool (config, name, &value, NULL);
  return value;
}

static void
add_names (GPtrArray  *names,
           const char *first,
           ...)
{
  va_list args;

  va_start (args, first);
  for (const char *name = first; name != NULL; name = va_arg (args, const char *))
    g_ptr_array_add (names, g_strdup (name));
  va_end (args);
}

/* The variables a layer of @class_name creates, in creation order
 * (Keras 3's build() of each class: trainable first, then the rest);
 * NULL for a class we do not know, whose variables keep their numbers. */
static GPtrArray *
variable_names (const char *class_name,
                JsonObject *config)
{
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  gboolean bias = config_flag (config, "use_bias", TRUE);

  if (g_str_has_prefix (class_name, "DepthwiseConv"))
    add_names (names, "depthwise_kernel", NULL);
  else if (g_str_has_prefix (class_name, "SeparableConv"))
    add_names (names, "depthwise_kernel", "pointwise_kernel", NULL);
  else if (g_str_equal (class_name, "Dense") || g_str_has_prefix (class_name, "Conv"))
    add_names (names, "kernel", NULL);
  else if (g_str_equal (class_name, "BatchNormalization"))
    {
      if (config_flag (config, "scale", TRUE))
        add_names (names, "gamma", NULL);
      if (config_flag (config, "center", TRUE))
        add_names (names, "beta", NULL);
      add_names (names, "moving_mean", "moving_variance", NULL);
      return names;
    }
  else if (g_str_equal (class_name, "LayerNormalization") || g_str_equal (class_name, "GroupNormalization"))
    {
      if (config_flag (config, "scale", TRUE))
        add_names (names, "gamma", NULL);
      if (config_flag (config, "center", TRUE))
        add_names (names, "beta", NULL);
      return names;
    }
  else if (g_str_equal (class_name, "Normalization"))
    {
      add_names (names, "mean", "variance", "count", NULL);
      return names;
    }
  else if (g_str_equal (class_name, "LayerScale"))
    {
      /* ConvNeXt's (keras.src.applications.convnext): one unnamed weight, the scale. */
      add_names (names, "gamma", NULL);
      return names;
    }
  else if (g_str_equal (class_name, "Embedding"))
    {
      add_names (names, "embeddings", NULL);
      return names;
    }
  else if (g_str_equal (class_name, "PReLU"))
    {
      add_names (names, "alpha", NULL);
      return names;
    }
  else
    {
      g_ptr_array_unref (names);
      return NULL;
    }
  if (bias)
    add_names (names, "bias", NULL);
  return names;
}

static gboolean
is_model_class (const char *class_name)
{
  return g_str_equal (class_name, "Sequential") || g_str_equal (class_name, "Functional")
         || g_str_equal (class_name, "Model");
}

static gboolean
is_operation (JsonObject *entry)
{
  const char *module = NULL;

  return qs_json_member_string (entry, "module", &module, NULL) && module != NULL
         && g_str_has_prefix (module, "keras.src.ops.");
}

typedef struct {
  GHashTable *layers;
  guint       order;
} Walk;

static void
add_layer (Walk          *walk,
           QsKeras3Layer *layer,
           const char    *group,
           const char    *legacy_group)
{
  g_hash_table_insert (walk->layers, g_strdup (group), layer);
  /* The same layer under tf.keras 2.13's group name, as its own copy so
   * that every value of the table is freed once. */
  {
    QsKeras3Layer *copy = g_new0 (QsKeras3Layer, 1);

    copy->layer = g_strdup (layer->layer);
    copy->display = g_strdup (layer->display);
    copy->class_name = g_strdup (layer->class_name);
    copy->weights = layer->weights != NULL ? g_ptr_array_ref (layer->weights) : NULL;
    copy->order = layer->order;
    g_hash_table_insert (walk->layers, g_strdup (legacy_group), copy);
  }
}

/* The layers of one model's config: Sequential leaves its InputLayer out
 * of its `layers` (the list the weights follow), Functional keeps it. */
static void
walk_model (Walk        *walk,
            const char  *class_name,
            JsonObject  *config,
            const char  *group,
            const char  *legacy_group,
            const char  *display,
            int          depth)
{
  g_autoptr(GHashTable) used = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GHashTable) used_legacy = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  JsonArray *layers = NULL;

  if (depth > MAX_NESTING || !qs_json_member_array (config, "layers", &layers, NULL) || layers == NULL)
    return;

  for (guint i = 0; i < json_array_get_length (layers); i++)
    {
      JsonObject *entry = NULL, *layer_config = NULL;
      const char *layer_class = NULL, *name = NULL;
      g_autofree char *snake = NULL, *snake2 = NULL, *path = NULL, *legacy = NULL, *shown = NULL;
      gpointer count;

      if (!qs_json_node_get_object (json_array_get_element (layers, i), &entry)
          || !qs_json_member_string (entry, "class_name", &layer_class, NULL) || layer_class == NULL
          || !qs_json_member_object (entry, "config", &layer_config, NULL) || layer_config == NULL
          || !qs_json_member_string (layer_config, "name", &name, NULL) || name == NULL)
        continue;
      if (g_str_equal (class_name, "Sequential") && g_str_equal (layer_class, "InputLayer"))
        continue;
      /* Operations on tensors (x + 3.0: "module": "keras.src.ops.numpy")
       * are in the config but not in Model.layers, the list saved. */
      if (is_operation (entry))
        continue;

      snake = _qs_keras3_snake_case (layer_class, FALSE);
      snake2 = _qs_keras3_snake_case (layer_class, TRUE);
      count = g_hash_table_lookup (used, snake);
      path = count == NULL ? g_strdup_printf ("%s/layers/%s", group, snake)
                           : g_strdup_printf ("%s/layers/%s_%u", group, snake, GPOINTER_TO_UINT (count));
      g_hash_table_insert (used, g_strdup (snake), GUINT_TO_POINTER (GPOINTER_TO_UINT (count) + 1));
      count = g_hash_table_lookup (used_legacy, snake2);
      legacy = count == NULL
               ? g_strdup_printf ("%s/_layer_checkpoint_dependencies/%s", legacy_group, snake2)
               : g_strdup_printf ("%s/_layer_checkpoint_dependencies/%s_%u", legacy_group, snake2,
                                  GPOINTER_TO_UINT (count));
      g_hash_table_insert (used_legacy, g_strdup (snake2), GUINT_TO_POINTER (GPOINTER_TO_UINT (count) + 1));
      shown = g_strdup_printf ("%s/%s", display, name);

      if (is_model_class (layer_class))
        walk_model (walk, layer_class, layer_config, path, legacy, shown, depth + 1);
      else
        {
          QsKeras3Layer *layer = g_new0 (QsKeras3Layer, 1);

          layer->layer = g_strdup (name);
          layer->display = g_steal_pointer (&shown);
          layer->class_name = g_strdup (layer_class);
          layer->weights = variable_names (layer_class, layer_config);
          layer->order = walk->order++;
          add_layer (walk, layer, path, legacy);
        }
    }
}

GHashTable *
_qs_keras3_layers_from_config (const char *config)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  GHashTable *layers;
  JsonObject *root = NULL, *model_config = NULL;
  const char *class_name = NULL;
  Walk walk = { 0 };

  if (config == NULL
      || !qs_json_parser_load_python (parser, config, -1, QS_JSON_MAX_CONFIG_BYTES, "config.json", NULL)
      || !qs_json_node_get_object (json_parser_get_root (parser), &root)
      || !qs_json_member_string (root, "class_name", &class_name, NULL) || class_name == NULL
      || !qs_json_member_object (root, "config", &model_config, NULL) || model_config == NULL)
    return NULL;

  layers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, keras3_layer_free);
  walk.layers = layers;
  walk_model (&walk, class_name, model_config, "", "", "", 0);
  return layers;
}

/* The largest model.weights.h5 read into memory: half the physical memory
 * (HDF5 copies the image once more while opening it). */
static guint64
weights_limit (void)
{
  long pages = sysconf (_SC_PHYS_PAGES);
  long page_size = sysconf (_SC_PAGESIZE);

  if (pages <= 0 || page_size <= 0)
    return G_GUINT64_CONSTANT (2) << 30;
  return (guint64) pages * (guint64) page_size / 2;
}

gboolean
_qs_keras3_read_archive (const char  *path,
                         char       **config,
                         GBytes     **weights,
                         GError     **error)
{
  g_autoptr(QsZipArchive) archive = qs_zip_archive_open (path, error);
  g_autoptr(GBytes) config_bytes = NULL;
  g_autofree char *display = g_filename_display_name (path);
  gsize length;
  const char *data;

  if (archive == NULL)
    return FALSE;
  if (!qs_zip_archive_has (archive, "config.json"))
    {
      g_set_error (error, QS_ERROR, QS_ERROR_INVALID,
                   "“%s” is a zip archive without config.json, not a Keras model", display);
      return FALSE;
    }
  if (!qs_zip_archive_has (archive, "model.weights.h5"))
    {
      g_set_error (error, QS_ERROR, QS_ERROR_INVALID,
                   qs_zip_archive_has (archive, "model.weights.npz")
                   ? "“%s” stores its weights as model.weights.npz; only the default HDF5 weights are read"
                   : "“%s” has no model.weights.h5: it holds no weights",
                   display);
      return FALSE;
    }
  config_bytes = qs_zip_archive_read (archive, "config.json", QS_JSON_MAX_CONFIG_BYTES, error);
  if (config_bytes == NULL)
    return FALSE;
  data = g_bytes_get_data (config_bytes, &length);
  if (memchr (data, '\0', length) != NULL || !g_utf8_validate (data, (gssize) length, NULL))
    {
      g_set_error (error, QS_ERROR, QS_ERROR_INVALID, "“%s”: config.json is not UTF-8 text", display);
      return FALSE;
    }
  *weights = qs_zip_archive_read (archive, "model.weights.h5", weights_limit (), error);
  if (*weights == NULL)
    return FALSE;
  *config = g_strndup (data, length);
  return TRUE;
}

gboolean
_qs_keras3_config_candidates (const char *weights_path,
                              char       *candidates[2])
{
  g_autofree char *dir = g_path_get_dirname (weights_path);
  g_autofree char *base = g_path_get_basename (weights_path);

  candidates[0] = candidates[1] = NULL;
  if (!g_str_has_suffix (base, ".weights.h5"))
    return FALSE;
  base[strlen (base) - strlen (".weights.h5")] = '\0';
  candidates[0] = g_strdup_printf ("%s%s%s.config.json", dir, G_DIR_SEPARATOR_S, base);
  candidates[1] = g_build_filename (dir, "config.json", NULL);
  return TRUE;
}

char *
_qs_keras3_find_config (const char *weights_path)
{
  char *candidates[2];
  char *text = NULL;

  if (!_qs_keras3_config_candidates (weights_path, candidates))
    return NULL;
  for (int i = 0; i < 2 && text == NULL; i++)
    if (g_file_test (candidates[i], G_FILE_TEST_EXISTS))
      {
        g_autoptr(GHashTable) layers = NULL;

        text = qs_input_file_read_all (candidates[i], "The config", QS_JSON_MAX_CONFIG_BYTES, NULL, NULL);
        /* Another tool's config.json beside the weights is not the model's. */
        if (text != NULL && (layers = _qs_keras3_layers_from_config (text)) == NULL)
          g_clear_pointer (&text, g_free);
      }
  g_free (candidates[0]);
  g_free (candidates[1]);
  return text;
}
