/* qs-keras-model.c: an engine graph built from a Keras model file's model_config.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Three passes. Flattening walks model_config (Sequential, Functional and
 * Model, in Keras 2's and Keras 3's forms, models nested in models) into
 * one list of nodes, a node per layer call, each naming the nodes it reads
 * by scope-qualified key ("outer/inner"; a shared layer's second call
 * "name#2", a nested model's second call "outer#2/inner"); an InputLayer
 * of a nested model and the nested model itself become aliases of the
 * tensors they pass on. The calls of one layer share its identity (the
 * key without call numbers): its weights are read once, and after the
 * build its later calls run the first's (one weighted layer, one scheme).
 * Ordering resolves the aliases, keeps the nodes the model output depends
 * on and sorts them by their dependencies (Kahn's algorithm, ties in the
 * order the config lists them), so layers listed out of order and cycles
 * are found before anything is built. Building hands each node to the
 * engine's graph API: its weights are looked up among the file's tensors
 * by layer and weight name ("kernel", "bias", "depthwise_kernel",
 * "pointwise_kernel", "gamma", "beta", "moving_mean", "moving_variance",
 * "mean", "variance", with or without Keras 2's ":0"; a nested layer's
 * under its outermost model's group), read, shape-checked and copied by
 * the engine. The first problem found stops the build and names the layer.
 */
#include "config.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "model/qs-error.h"
#include "model/qs-json.h"
#include "model/qs-keras-model.h"
#include "quant/qs-checked.h"

G_DEFINE_QUARK (qs-keras-model-error-quark, qs_keras_model_error)

/* The deepest constant tensor operand read: deeper lists are refused. */
#define MAX_CONSTANT_RANK 8

/* One call of a Keras layer: a node of the graph being built. */
typedef struct _KerasNode KerasNode;
struct _KerasNode {
  char        *key;           /* scope-qualified name, unique in the flattened graph; a later
                               * call of a shared layer "name#2", of a shared model "model#2/name" */
  char        *identity;      /* the key without call numbers: the calls of one Keras layer
                               * (a shared layer) have one identity and run one set of weights */
  char        *name;          /* the Keras layer's own name: engine layers carry it */
  const char  *class_name;
  JsonObject  *layer;         /* borrowed from the parser, like config */
  JsonObject  *config;
  char        *weight_group;  /* the top-level layer whose group holds the weights */
  gboolean     nested;        /* inside a nested model: weights under <group>/<name>/ */
  GPtrArray   *input_keys;    /* char *: what the call reads, unresolved */
  GPtrArray   *inputs;        /* KerasNode *: resolved, in call order */
  GPtrArray   *consumers;     /* KerasNode *: reachable readers (one entry per read) */
  gboolean     has_constant;  /* a scalar operand: x + 3.0, x / 127.5 */
  gboolean     constant_first;
  double       constant;
  GArray      *constant_values; /* double: a constant tensor operand (one per channel), else NULL */
  int          constant_rank; /* the constant's axes: 0 for a number, else its nested lists' depth */
  int          constant_shape[MAX_CONSTANT_RANK];
  JsonObject  *call_kwargs;   /* a Keras 2 call's keyword arguments (TFOpLambda's axis, ...), borrowed */
  guint        order;         /* position in the config, the tie-break of the sort */
  guint        pending;       /* inputs not yet sorted */
  gboolean     reachable;
  gboolean     built;
  gboolean     drop_softmax;  /* a softmax (or softmax activation) that only feeds the argmax */
  int          value;         /* the engine value holding the node's output */
  int          rank;          /* the Keras tensor's rank, batch axis included */
  int          axes[3];       /* rank 4: the engine axis (0 height, 1 width, 2 channels) of each Keras
                               * axis after the batch: {0, 1, 2} channels_last, {2, 0, 1} channels_first */
  gboolean     flat_permuted; /* rank 2: a flattened map whose Keras order walks its engine
                               * flat_dims (h, w, c) in the order of axes, not the engine's */
  int          flat_dims[3];
  size_t       layers_begin;  /* the engine layers its build added: [begin, end) */
  size_t       layers_end;
};

typedef struct {
  QsWeightFile  *file;
  QsEngineModel *model;
  GHashTable    *by_layer;     /* layer name -> GPtrArray of QsTensorInfo (borrowed) */
  GPtrArray     *nodes;        /* KerasNode *, owned, in config order */
  GHashTable    *by_key;       /* key -> KerasNode * */
  GHashTable    *aliases;      /* key -> key (owned strings) */
  GPtrArray     *input_nodes;  /* the top-level InputLayer nodes */
  KerasNode     *output;       /* the node the model scores */
  JsonArray     *build_shape;  /* a Sequential's build_input_shape, when given */
  gboolean       keras3;       /* Keras 3 forms seen (its hard_sigmoid differs) */
  gboolean       channels_first; /* the input is (C, H, W): converters' PyTorch layout */
  gboolean       keras1;       /* Keras 1 configs seen (nb_filter, border_mode, dim_ordering, Merge) */
  GHashTable    *calls;        /* identity -> GPtrArray of its KerasNode * (owned arrays) */
  GHashTable    *read_cache;   /* QsTensorInfo * -> GBytes: a shared layer's weights, read once */
} QsKerasBuild;

static JsonNode *
member (JsonObject *object,
        const char *name)
{
  return object != NULL && json_object_has_member (object, name)
    ? json_object_get_member (object, name) : NULL;
}

static const char *
string_member (JsonObject *object,
               const char *name)
{
  const char *value = NULL;

  (void) qs_json_node_get_string (member (object, name), &value);
  return value;
}

static JsonObject *
object_member (JsonObject *object,
               const char *name)
{
  JsonObject *value = NULL;

  (void) qs_json_node_get_object (member (object, name), &value);
  return value;
}

static JsonArray *
array_member (JsonObject *object,
              const char *name)
{
  JsonArray *value = NULL;

  (void) qs_json_node_get_array (member (object, name), &value);
  return value;
}

static gboolean
node_is_number (JsonNode *node)
{
  GType type;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return FALSE;
  type = json_node_get_value_type (node);
  return type == G_TYPE_INT64 || type == G_TYPE_DOUBLE;
}

static gboolean
bool_member (JsonObject *object,
             const char *name,
             gboolean    fallback)
{
  gboolean value = fallback;

  (void) qs_json_node_get_bool (member (object, name), &value);
  return value;
}

/* A number member; @fallback when absent or null. */
static double
number_member (JsonObject *object,
               const char *name,
               double      fallback)
{
  JsonNode *node = member (object, name);

  return node_is_number (node) ? json_node_get_double (node) : fallback;
}

/* A JSON integer (not a float, not a string) that is positive and fits an
 * int: 2^32 + 3 must not run as 3, nor "3" or 2.5 as anything. */
static gboolean
node_positive_int (JsonNode *node,
                   int      *out)
{
  int value;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64
      || !qs_checked_i64_to_int (json_node_get_int (node), &value) || value <= 0)
    return FALSE;
  *out = value;
  return TRUE;
}

typedef enum {
  SETTING_ABSENT,   /* not there, or null: the caller's default applies */
  SETTING_VALID,
  SETTING_INVALID,  /* there, but not what the engine can take: an error */
} SettingState;

/* Keras writes sizes as [a, b] (or a single int in hand-written configs). */
static SettingState
pair_member (JsonObject *object,
             const char *name,
             int        *a,
             int        *b)
{
  JsonNode *node = member (object, name);

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return SETTING_ABSENT;
  if (JSON_NODE_HOLDS_VALUE (node))
    {
      if (!node_positive_int (node, a))
        return SETTING_INVALID;
      *b = *a;
      return SETTING_VALID;
    }
  if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *array = json_node_get_array (node);

      if (json_array_get_length (array) == 2
          && node_positive_int (json_array_get_element (array, 0), a)
          && node_positive_int (json_array_get_element (array, 1), b))
        return SETTING_VALID;
    }
  return SETTING_INVALID;
}

/* A positive integer setting; @fallback when absent or null. */
static SettingState
int_member (JsonObject *object,
            const char *name,
            int         fallback,
            int        *out)
{
  JsonNode *node = member (object, name);

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    {
      *out = fallback;
      return SETTING_ABSENT;
    }
  return node_positive_int (node, out) ? SETTING_VALID : SETTING_INVALID;
}

/* ---- errors ------------------------------------------------------------------------- */

static gboolean
fail (GError            **error,
      QsKerasModelError   code,
      const char         *format,
      ...) G_GNUC_PRINTF (3, 4);

static gboolean
fail (GError            **error,
      QsKerasModelError   code,
      const char         *format,
      ...)
{
  va_list args;

  va_start (args, format);
  g_propagate_error (error, g_error_new_valist (QS_KERAS_MODEL_ERROR, code, format, args));
  va_end (args);
  return FALSE;
}

static gboolean
engine_fail (GError         **error,
             QsEngineStatus   status,
             const char      *name,
             const char      *class_name)
{
  if (status == QS_ENGINE_SHAPE_MISMATCH)
    return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
                 "%s layer “%s” does not fit its input (window larger than the image?)",
                 class_name, name);
  if (status == QS_ENGINE_INVALID_ARGUMENT)
    return fail (error, QS_KERAS_MODEL_ERROR_WEIGHTS,
                 "%s layer “%s” has invalid parameters or non-finite weights", class_name, name);
  if (status == QS_ENGINE_TOO_LARGE)
    return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
                 "%s layer “%s” is too large for the engine (a size overflows, or a feature map exceeds "
                 "%zu values or a kernel %zu)", class_name, name, QS_ENGINE_MAX_MAP_ELEMENTS,
                 QS_ENGINE_MAX_WEIGHTS);
  return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED, "%s layer “%s”: %s",
               class_name, name, qs_engine_status_to_string (status));
}

static gboolean
bad_size (GError    **error,
          const char *class_name,
          const char *name,
          const char *setting)
{
  return fail (error, QS_KERAS_MODEL_ERROR_BAD_CONFIG,
               "%s layer “%s” has an invalid %s (it must be a positive integer below 2^31, or two of them)",
               class_name, name, setting);
}

/* A zero or positive JSON integer that fits an int (paddings and crops). */
static gboolean
node_nonnegative_int (JsonNode *node,
                      int      *out)
{
  int value;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64
      || !qs_checked_i64_to_int (json_node_get_int (node), &value) || value < 0)
    return FALSE;
  *out = value;
  return TRUE;
}

static const char *
layer_name_of (JsonObject *layer)
{
  const char *name = string_member (object_member (layer, "config"), "name");

  /* TF 2.0-2.3's TensorFlowOpLayer is "tf_op_layer_AddV2" to its readers, "AddV2" in its config. */
  if (g_strcmp0 (string_member (layer, "class_name"), "TensorFlowOpLayer") == 0 && string_member (layer, "name") != NULL)
    return string_member (layer, "name");

  return name != NULL ? name : string_member (layer, "name");
}

/* "2x3x4" for messages. */
static char *
shape_text (int h,
            int w,
            int c)
{
  return g_strdup_printf ("%dx%dx%d", h, w, c);
}

/* A layer's data_format, or Keras 1's dim_ordering ("th" is Theano's
 * channels_first): 1 channels_first, 0 channels_last, -1 not said. */
static int
layer_format (JsonObject *config)
{
  const char *format = string_member (config, "data_format");
  const char *ordering = string_member (config, "dim_ordering");

  if (format != NULL)
    return g_str_equal (format, "channels_first") ? 1 : g_str_equal (format, "channels_last") ? 0 : 2;
  if (ordering != NULL)
    return g_str_equal (ordering, "th") ? 1 : g_str_equal (ordering, "tf") ? 0 : 2;
  return -1;
}

static gboolean
parse_padding (JsonObject *config,
               const char *layer,
               const char *class_name,
               QsPadding  *padding,
               GError    **error)
{
  const char *text = string_member (config, "padding");

  if (text == NULL || g_str_equal (text, "valid"))
    *padding = QS_PADDING_VALID;
  else if (g_str_equal (text, "same"))
    *padding = QS_PADDING_SAME;
  else
    return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
                 "%s layer “%s” has padding “%s”; the engine runs valid and same", class_name, layer, text);
  return TRUE;
}

/* ---- nodes ---------------------------------------------------------------------------- */

static void
keras_node_free (KerasNode *node)
{
  g_free (node->key);
  g_free (node->identity);
  g_free (node->name);
  g_free (node->weight_group);
  g_ptr_array_unref (node->input_keys);
  g_ptr_array_unref (node->inputs);
  g_ptr_array_unref (node->consumers);
  g_clear_pointer (&node->constant_values, g_array_unref);
  g_free (node);
}

static char *
scope_key (const char *prefix,
           const char *name)
{
  return prefix[0] != '\0' ? g_strconcat (prefix, "/", name, NULL) : g_strdup (name);
}

/* Layer calls and aliases a model_config may expand to: nested models
 * called several times multiply their layers, and a few kilobytes of
 * JSON nesting models called 8 times in 8 levels would be 16 million. */
#define MAX_GRAPH_ENTRIES (1u << 18)

static gboolean
check_graph_size (QsKerasBuild  *b,
                  const char    *key,
                  GError       **error)
{
  if (g_hash_table_contains (b->by_key, key) || g_hash_table_contains (b->aliases, key))
    return fail (error, QS_KERAS_MODEL_ERROR_BAD_CONFIG, "model_config has two layers named “%s”", key);
  if (b->nodes->len + g_hash_table_size (b->aliases) >= MAX_GRAPH_ENTRIES)
    return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
                 "model_config expands to more than %u layer calls (nested models called many times)",
                 MAX_GRAPH_ENTRIES);
  return TRUE;
}

static KerasNode *
node_new (QsKerasBuild  *b,
          const char    *key,
          const char    *identity,
          const char    *name,
          const char    *class_name,
          JsonObject    *layer,
          const char    *weight_group,
          gboolean       nested,
          GError       **error)
{
  KerasNode *node;
  GPtrArray *calls;

  if (!check_graph_size (b, key, error))
    return NULL;
  node = g_new0 (KerasNode, 1);
  node->key = g_strdup (key);
  node->identity = g_strdup (identity);
  node->name = g_strdup (name);
  node->class_name = class_name;
  node->layer = layer;
  node->config = object_member (layer, "config");
  node->weight_group = g_strdup (weight_group);
  node->nested = nested;
  node->input_keys = g_ptr_array_new_with_free_func (g_free);
  node->inputs = g_ptr_array_new ();
  node->consumers = g_ptr_array_new ();
  node->order = b->nodes->len;
  node->value = -1;
  node->axes[0] = 0, node->axes[1] = 1, node->axes[2] = 2;
  g_ptr_array_add (b->nodes, node);
  g_hash_table_insert (b->by_key, node->key, node);
  calls = g_hash_table_lookup (b->calls, node->identity);
  if (calls == NULL)
    {
      calls = g_ptr_array_new ();
      g_hash_table_insert (b->calls, node->identity, calls);
    }
  g_ptr_array_add (calls, node);
  return node;
}

static gboolean
add_alias (QsKerasBuild  *b,
           const char    *key,
           const char    *target,
           GError       **error)
{
  if (!check_graph_size (b, key, error))
    return FALSE;
  g_hash_table_insert (b->aliases, g_strdup (key), g_strdup (target));
  return TRUE;
}

/* ---- weights ------------------------------------------------------------------------ */

/* "…/conv2d/kernel:0" -> "kernel". */
static char *
weight_short_name (const char *path)
{
  const char *base = strrchr (path, '/');
  char *name = g_strdup (base != NULL ? base + 1 : path);
  char *colon = strrchr (name, ':');

  if (colon != NULL)
    *colon = '\0';
  return name;
}

/* Whether the folder holding @path is named @folder ("…/conv/kernel:0"). */
static gboolean
path_in_folder (const char *path,
                const char *folder)
{
  const char *end = strrchr (path, '/');
  const char *start;

  if (end == NULL)
    return FALSE;
  for (start = end; start > path && start[-1] != '/'; start--)
    ;
  return (size_t) (end - start) == strlen (folder) && strncmp (start, folder, (size_t) (end - start)) == 0;
}

static const QsTensorInfo *
find_in_group (QsKerasBuild *b,
               const char   *group,
               const char   *folder,
               const char   *short_name)
{
  GPtrArray *tensors = g_hash_table_lookup (b->by_layer, group);

  for (guint i = 0; tensors != NULL && i < tensors->len; i++)
    {
      const QsTensorInfo *info = g_ptr_array_index (tensors, i);
      g_autofree char *name = weight_short_name (info->path);

      if (g_str_equal (name, short_name) && (folder == NULL || path_in_folder (info->path, folder)))
        return info;
    }
  return NULL;
}

/* A layer's weight: a top-level layer's in its own group; a nested
 * layer's in its outermost model's group, in a folder of its name (Keras
 * 2's h5), else in a group of its own name (layouts that name nested
 * layers directly). */
static const QsTensorInfo *
find_weight (QsKerasBuild    *b,
             const KerasNode *node,
             const char      *short_name)
{
  static const struct { const char *keras2, *keras1; } keras1_names[] = {
    { "kernel", "W" }, { "bias", "b" }, { "moving_mean", "running_mean" }, { "moving_variance", "running_std" },
    { "gamma", "gamma" }, { "beta", "beta" }, { "alpha", "alphas" },
  };
  const QsTensorInfo *info = NULL;

  if (node->nested)
    info = find_in_group (b, node->weight_group, node->name, short_name);
  if (info == NULL)
    info = find_in_group (b, node->name, NULL, short_name);
  /* Keras 1 prefixes the layer's name ("dense_1_W"); its BatchNormalization's
   * running_std holds the variance (Keras 2's loader renames it so). */
  for (guint i = 0; info == NULL && b->keras1 && i < G_N_ELEMENTS (keras1_names); i++)
    if (g_str_equal (short_name, keras1_names[i].keras2))
      {
        g_autofree char *name = g_strdup_printf ("%s_%s", node->name, keras1_names[i].keras1);

        if (node->nested)
          info = find_in_group (b, node->weight_group, NULL, name);
        if (info == NULL)
          info = find_in_group (b, node->name, NULL, name);
      }
  return info;
}

static char *
dims_text (int            rank,
           const int64_t *shape)
{
  GString *text;

  /* A scalar or a dataset with no dataspace has no dimension to list. */
  if (rank <= 0)
    return g_strdup ("of rank 0 (no dimensions)");
  text = g_string_new (NULL);
  for (int i = 0; i < rank; i++)
    g_string_append_printf (text, "%s%" G_GINT64_FORMAT, i ? "x" : "", shape[i]);
  return g_string_free (text, FALSE);
}

/* Whether @node is one of several calls of its Keras layer. */
static gboolean
is_shared (const QsKerasBuild *b,
           const KerasNode    *node)
{
  GPtrArray *calls = g_hash_table_lookup (b->calls, node->identity);

  return calls != NULL && calls->len > 1;
}

/* A tensor's values (transfer full); a shared layer's are read from the
 * file once and copied for each call. */
static float *
read_info (QsKerasBuild        *b,
           const KerasNode     *node,
           const QsTensorInfo  *info,
           GError             **error)
{
  g_autoptr(GError) local = NULL;
  GBytes *cached = is_shared (b, node) ? g_hash_table_lookup (b->read_cache, info) : NULL;
  float *values;

  if (cached != NULL)
    return g_memdup2 (g_bytes_get_data (cached, NULL), g_bytes_get_size (cached));
  values = qs_weight_file_read_tensor (b->file, info, &local);
  if (values == NULL)
    g_propagate_prefixed_error (error, g_steal_pointer (&local), "layer “%s”: ", node->name);
  else if (is_shared (b, node))
    g_hash_table_insert (b->read_cache, (gpointer) info,
                         g_bytes_new (values, (gsize) info->count * sizeof (float)));
  return values;
}

/* The tensor of weight @short_name of @node, its shape checked against
 * @shape (@rank dims). NULL without an error when absent and !@required;
 * *@path, when not NULL, receives the tensor's path (transfer none). */
static const QsTensorInfo *
weight_info (QsKerasBuild     *b,
             const KerasNode  *node,
             const char       *short_name,
             int               rank,
             const int64_t    *shape,
             gboolean          required,
             const char      **path,
             GError          **error)
{
  const QsTensorInfo *info = find_weight (b, node, short_name);
  gboolean match;

  if (info == NULL)
    {
      if (required)
        fail (error, QS_KERAS_MODEL_ERROR_WEIGHTS, "layer “%s” has no “%s” weight in the file",
              node->name, short_name);
      return NULL;
    }
  match = info->rank == rank;
  for (int i = 0; match && i < rank; i++)
    match = info->shape[i] == shape[i];
  if (!match)
    {
      g_autofree char *want = dims_text (rank, shape);
      g_autofree char *have = dims_text (info->rank, info->shape);

      fail (error, QS_KERAS_MODEL_ERROR_WEIGHTS, "weight “%s” of layer “%s” is %s, the architecture needs %s",
            short_name, node->name, have, want);
      return NULL;
    }
  if (path != NULL)
    *path = info->path;
  return info;
}

/* Reads weight @short_name of @node, as weight_info() finds it. */
static float *
read_weight (QsKerasBuild     *b,
             const KerasNode  *node,
             const char       *short_name,
             int               rank,
             const int64_t    *shape,
             gboolean          required,
             const char      **path,
             GError          **error)
{
  const QsTensorInfo *info = weight_info (b, node, short_name, rank, shape, required, path, error);

  return info != NULL ? read_info (b, node, info, error) : NULL;
}

/* A per-channel statistic of @channels values, stored in any shape of
 * that many elements ((C,), (1, 1, 1, C)) or as one value for all;
 * returned as @channels floats. NULL without an error when absent. */
static float *
read_channel_weight (QsKerasBuild     *b,
                     const KerasNode  *node,
                     const char       *short_name,
                     int               channels,
                     GError          **error)
{
  const QsTensorInfo *info = find_weight (b, node, short_name);
  g_autofree float *values = NULL;
  float *out;

  if (info == NULL)
    return NULL;
  if (info->count != (uint64_t) channels && info->count != 1)
    {
      g_autofree char *have = dims_text (info->rank, info->shape);

      fail (error, QS_KERAS_MODEL_ERROR_WEIGHTS, "weight “%s” of layer “%s” is %s, the architecture needs %d values",
            short_name, node->name, have, channels);
      return NULL;
    }
  if ((values = read_info (b, node, info, error)) == NULL)
    return NULL;
  out = g_new (float, channels);
  for (int i = 0; i < channels; i++)
    out[i] = values[info->count == 1 ? 0 : i];
  return out;
}

/* ---- flattening model_config ---------------------------------------------------------- */

static gboolean
is_model_class (const char *class_name,
                JsonObject *layer)
{
  JsonObject *config = object_member (layer, "config");
  JsonNode *layers = member (config, "layers");

  return (g_str_equal (class_name, "Functional") || g_str_equal (class_name, "Model")
          || g_str_equal (class_name, "Sequential"))
    && layers != NULL && JSON_NODE_HOLDS_ARRAY (layers);
}

/* How a functional model's node references name a layer's calls. */
typedef struct {
  guint    calls;             /* the calls its inbound_nodes list (at least 1) */
  guint    first;             /* the node index of the first: 1 for a nested model whose
                               * own creation is node 0, else 0 */
  gboolean model;             /* a nested model */
} LayerCalls;

typedef struct {
  GPtrArray *refs;            /* char *: the keys (relative to the model) of the calls read, in order */
  GHashTable *layer_calls;    /* name -> LayerCalls * of the model the call is in, borrowed;
                               * NULL in a Sequential */
  gboolean   has_constant;
  gboolean   constant_first;
  double     constant;
  GArray    *constant_values; /* double: a constant tensor's values, else NULL */
  int        constant_rank;
  int        constant_shape[MAX_CONSTANT_RANK];
  JsonObject *kwargs;         /* Keras 2's keyword arguments of the call, borrowed */
} KerasCall;

static void
keras_call_clear (KerasCall *call)
{
  g_clear_pointer (&call->refs, g_ptr_array_unref);
  g_clear_pointer (&call->constant_values, g_array_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (KerasCall, keras_call_clear)

/* The key, relative to its model, of call @index (from 0) of layer @name:
 * the first call keeps the layer's name, a later one is "name#2", ... */
static char *
call_key (const char *name,
          guint       index)
{
  return index == 0 ? g_strdup (name) : g_strdup_printf ("%s#%u", name, index + 1);
}

static gboolean
call_add_ref (KerasCall   *call,
              const char  *layer_name,
              const char  *history_name,
              JsonArray   *history,
              GError     **error)
{
  int64_t tensor = 0, node_index = 0;
  const LayerCalls *calls = call->layer_calls != NULL ? g_hash_table_lookup (call->layer_calls, history_name)
                                                      : NULL;

  /* [name, node_index, tensor_index]. */
  if (json_array_get_length (history) >= 3
      && !qs_json_node_get_int (json_array_get_element (history, 2), &tensor))
    tensor = -1;
  if (tensor != 0)
    return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
                 "layer “%s” reads output %" G_GINT64_FORMAT " of “%s”; the engine runs layers with one output",
                 layer_name, tensor, history_name);
  if (json_array_get_length (history) >= 2
      && !qs_json_node_get_int (json_array_get_element (history, 1), &node_index))
    return fail (error, QS_KERAS_MODEL_ERROR_BAD_CONFIG,
                 "layer “%s” reads “%s” with a node index that is not an integer", layer_name, history_name);
  if (calls == NULL)
    {
      /* A layer the model does not have: resolving names it. */
      g_ptr_array_add (call->refs, g_strdup (history_name));
      return TRUE;
    }
  /* node_index counts the layer's calls the model lists, from calls->first
   * (Keras's from_config); a nested model called once is also read as
   * node 0 or 1 whichever way its creation node was counted. */
  if (calls->model && calls->calls == 1 && (node_index == 0 || node_index == 1))
    node_index = calls->first;
  if (node_index < calls->first || node_index - calls->first >= calls->calls)
    return fail (error, QS_KERAS_MODEL_ERROR_BAD_CONFIG,
                 "layer “%s” reads node %" G_GINT64_FORMAT " of “%s”, which has nodes %u to %u (one per call)",
                 layer_name, node_index, history_name, calls->first, calls->first + calls->calls - 1);
  g_ptr_array_add (call->refs, call_key (history_name, (guint) (node_index - calls->first)));
  return TRUE;
}

static void
call_add_constant (KerasCall *call,
                   double     value)
{
  if (!call->has_constant)
    {
      call->has_constant = TRUE;
      call->constant = value;
      call->constant_first = call->refs->len == 0;
      call->constant_rank = 0;
    }
  else
    {
      /* two constants: refused later */
      call->has_constant = FALSE, call->constant = NAN;
      g_clear_pointer (&call->constant_values, g_array_unref);
    }
}

/* More values than any channel axis the engine builds. */
#define MAX_CONSTANT_VALUES (1u << 20)

/* The numbers of a nested list ([[[[0.1, 0.2, 0.3]]]]) in order, and its
 * shape (@shape starts all -1, @rank -1): the broadcast against the
 * tensor depends on it, not only on the count. FALSE for anything else,
 * a ragged list (no shape), or more than a feature map's channels could
 * use. */
static gboolean
collect_numbers (JsonNode *node,
                 int       depth,
                 GArray   *values,
                 int       shape[MAX_CONSTANT_RANK],
                 int      *rank)
{
  JsonArray *items;
  guint n;

  if (node_is_number (node))
    {
      double value = json_node_get_double (node);

      if (*rank >= 0 && *rank != depth)
        return FALSE;
      *rank = depth;
      g_array_append_val (values, value);
      return values->len <= MAX_CONSTANT_VALUES;
    }
  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node) || depth >= MAX_CONSTANT_RANK)
    return FALSE;
  items = json_node_get_array (node);
  n = json_array_get_length (items);
  if (n > MAX_CONSTANT_VALUES || (shape[depth] >= 0 && shape[depth] != (int) n))
    return FALSE;
  shape[depth] = (int) n;
  for (guint i = 0; i < n; i++)
    if (!collect_numbers (json_array_get_element (items, i), depth + 1, values, shape, rank))
      return FALSE;
  return TRUE;
}

/* A constant tensor operand, as tf.keras writes a tf.constant it was
 * given: its values as nested lists (EfficientNet's
 * tf.math.multiply (x, [[[[a, b, c]]]]), per channel). FALSE when @node
 * is not a list of numbers. */
static gboolean
call_add_constant_tensor (KerasCall *call,
                          JsonNode  *node)
{
  g_autoptr(GArray) values = g_array_new (FALSE, FALSE, sizeof (double));
  int shape[MAX_CONSTANT_RANK], rank = -1;

  for (int i = 0; i < MAX_CONSTANT_RANK; i++)
    shape[i] = -1;
  if (!collect_numbers (node, 0, values, shape, &rank) || values->len == 0)
    return FALSE;
  call_add_constant (call, g_array_index (values, double, 0));
  if (!call->has_constant)
    return TRUE;
  call->constant_rank = rank;
  memcpy (call->constant_shape, shape, sizeof call->constant_shape);
  if (values->len > 1)
    call->constant_values = g_steal_pointer (&values);
  return TRUE;
}

/* A Keras 3 call argument: a keras tensor ({"class_name":
 * "__keras_tensor__", "config": {"keras_history": [name, node, tensor]}}),
 * a list of them (a merge's one argument), a number, or a constant array
 * as serialization_lib writes a NumPy array or a backend tensor
 * ({"class_name": "__numpy__" or "__tensor__", "config": {"value": nested lists}}). */
static gboolean
parse_keras3_arg (KerasCall   *call,
                  const char  *layer_name,
                  JsonNode    *arg,
                  int          depth,
                  GError     **error)
{
  if (arg == NULL || depth > 4)
    return TRUE;
  if (JSON_NODE_HOLDS_OBJECT (arg))
    {
      JsonObject *object = json_node_get_object (arg);
      JsonArray *history = array_member (object_member (object, "config"), "keras_history");
      const char *name, *class_name = string_member (object, "class_name");

      if (history == NULL && (g_strcmp0 (class_name, "__numpy__") == 0 || g_strcmp0 (class_name, "__tensor__") == 0))
        {
          if (!call_add_constant_tensor (call, member (object_member (object, "config"), "value")))
            return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
                         "layer “%s” takes a constant that is not a list of numbers", layer_name);
          return TRUE;
        }
      if (history == NULL)
        return TRUE;
      if (!qs_json_node_get_string (qs_json_array_element (history, 0), &name) || name == NULL)
        return fail (error, QS_KERAS_MODEL_ERROR_BAD_CONFIG, "layer “%s” reads a tensor with no layer name", layer_name);
      return call_add_ref (call, layer_name, name, history, error);
    }
  if (JSON_NODE_HOLDS_ARRAY (arg))
    {
      JsonArray *items = json_node_get_array (arg);

      for (guint i = 0; i < json_array_get_length (items); i++)
        if (!parse_keras3_arg (call, layer_name, json_array_get_element (items, i), depth + 1, error))
          return FALSE;
      return TRUE;
    }
  if (node_is_number (arg))
    call_add_constant (call, json_node_get_double (arg));
  return TRUE;
}

/* A Keras 2 entry [name, node, tensor, {kwargs}], or ["_CONSTANT_VALUE",
 * -1, value, {kwargs}] for a constant first operand (TFOpLambda). A
 * TFOpLambda's second operand is kwargs "y": a number or another
 * [name, node, tensor]. */
static gboolean
parse_keras2_entry (KerasCall   *call,
                    const char  *layer_name,
                    JsonArray   *entry,
                    gboolean     with_kwargs,
                    GError     **error)
{
  const char *name = NULL;
  JsonObject *kwargs = NULL;
  JsonNode *y;

  if (!qs_json_node_get_string (qs_json_array_element (entry, 0), &name) || name == NULL)
    return fail (error, QS_KERAS_MODEL_ERROR_BAD_CONFIG, "layer “%s” has an inbound node without a layer name",
                 layer_name);
  if (g_str_equal (name, "_CONSTANT_VALUE"))
    {
      JsonNode *value = qs_json_array_element (entry, 2);

      if (!call_add_constant_tensor (call, value))
        return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
                     "layer “%s” takes a constant that is not a number; the engine takes scalar constants", layer_name);
    }
  else if (!call_add_ref (call, layer_name, name, entry, error))
    return FALSE;
  if (!with_kwargs)
    return TRUE;
  (void) qs_json_node_get_object (qs_json_array_element (entry, 3), &kwargs);
  call->kwargs = kwargs;
  y = member (kwargs, "y");
  if (y != NULL && node_is_number (y))
    call_add_constant (call, json_node_get_double (y));
  else if (y != NULL && JSON_NODE_HOLDS_ARRAY (y))
    {
      JsonArray *ref = json_node_get_array (y);
      const char *y_name;

      if (qs_json_node_get_string (qs_json_array_element (ref, 0), &y_name) && y_name != NULL)
        return call_add_ref (call, layer_name, y_name, ref, error);
      if (!call_add_constant_tensor (call, y))
        return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
                     "layer “%s” takes a second operand that is neither a number nor a tensor", layer_name);
    }
  else if (y != NULL && !JSON_NODE_HOLDS_NULL (y))
    return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
                 "layer “%s” takes a second operand that is neither a number nor a tensor", layer_name);
  return TRUE;
}

/* The tensors and constants of @layer's call @index, one entry of
 * inbound_nodes. Keras 2: [[[name, 0, 0, {}], ...]] (TFOpLambda:
 * [[name, 0, 0, {"y": 3.0}]]); Keras 3: [{"args": [...], "kwargs": {...}}].
 * No inbound node: no refs. */
static gboolean parse_call_inputs (QsKerasBuild  *b,
                                   JsonObject    *layer,
                                   const char    *layer_name,
                                   guint          index,
                                   KerasCall     *call,
                                   GError       **error);

/* @layer's call, and for TF 2.0-2.3's TensorFlowOpLayer the constant operands of its
 * config ({"constants": {"1": 3.0}}: the operation's input 1 is 3.0). */
static gboolean
parse_call (QsKerasBuild  *b,
            JsonObject    *layer,
            const char    *layer_name,
            guint          index,
            KerasCall     *call,
            GError       **error)
{
  JsonObject *constants = object_member (object_member (layer, "config"), "constants");
  g_autoptr(GList) keys = NULL;

  if (!parse_call_inputs (b, layer, layer_name, index, call, error))
    return FALSE;
  if (g_strcmp0 (string_member (layer, "class_name"), "TensorFlowOpLayer") != 0 || constants == NULL)
    return TRUE;
  keys = json_object_get_members (constants);
  for (GList *l = keys; l != NULL; l = l->next)
    {
      if (!call_add_constant_tensor (call, json_object_get_member (constants, l->data)))
        return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
                     "layer “%s” takes a constant that is not a number; the engine takes scalar constants", layer_name);
      call->constant_first = g_str_equal (l->data, "0");
    }
  return TRUE;
}

static gboolean
parse_call_inputs (QsKerasBuild  *b,
                   JsonObject    *layer,
                   const char    *layer_name,
                   guint          index,
                   KerasCall     *call,
                   GError       **error)
{
  JsonArray *nodes = array_member (layer, "inbound_nodes");
  JsonNode *first;

  if (nodes == NULL || index >= json_array_get_length (nodes))
    return TRUE;
  first = json_array_get_element (nodes, index);
  if (JSON_NODE_HOLDS_OBJECT (first))
    {
      JsonObject *object = json_node_get_object (first);
      JsonArray *args = array_member (object, "args");
      JsonObject *kwargs = object_member (object, "kwargs");

      b->keras3 = TRUE;
      if (args != NULL && !parse_keras3_arg (call, layer_name, member (object, "args"), 0, error))
        return FALSE;
      /* Tensors passed by keyword (keras.ops.add (x1=…, x2=…)); masks,
       * training flags and the like are not tensors. */
      if (kwargs != NULL)
        {
          g_autoptr(GList) names = json_object_get_members (kwargs);

          for (GList *l = names; l != NULL; l = l->next)
            {
              JsonNode *value = json_object_get_member (kwargs, l->data);

              if (JSON_NODE_HOLDS_OBJECT (value) && !parse_keras3_arg (call, layer_name, value, 0, error))
                return FALSE;
            }
        }
      return TRUE;
    }
  if (JSON_NODE_HOLDS_ARRAY (first))
    {
      JsonArray *entries = json_node_get_array (first);
      JsonNode *head = qs_json_array_element (entries, 0);

      if (head != NULL && JSON_NODE_HOLDS_VALUE (head))
        return parse_keras2_entry (call, layer_name, entries, TRUE, error);
      for (guint i = 0; i < json_array_get_length (entries); i++)
        {
          JsonNode *entry = json_array_get_element (entries, i);

          if (!JSON_NODE_HOLDS_ARRAY (entry))
            return fail (error, QS_KERAS_MODEL_ERROR_BAD_CONFIG, "layer “%s” has an inbound node that is not a list",
                         layer_name);
          /* kwargs repeat on every entry of a list argument: read them once. */
          if (!parse_keras2_entry (call, layer_name, json_node_get_array (entry), i == 0, error))
            return FALSE;
        }
      return TRUE;
    }
  return fail (error, QS_KERAS_MODEL_ERROR_BAD_CONFIG, "layer “%s” has an inbound node of an unknown form", layer_name);
}

static gboolean flatten_model (QsKerasBuild  *b,
                               JsonObject    *model_object,
                               const char    *prefix,
                               const char    *id_prefix,
                               const char    *bound_input,
                               const char    *weight_group,
                               char         **output_key,
                               GError       **error);

/* Adds call @index of @layer of the model at @prefix (@id_prefix without
 * call numbers): an InputLayer, a nested model, or a node reading @call's
 * tensors. *@key_out receives its key (transfer full). */
static gboolean
flatten_layer (QsKerasBuild  *b,
               JsonObject    *layer,
               const char    *prefix,
               const char    *id_prefix,
               guint          index,
               KerasCall     *call,
               const char    *bound_input,
               const char    *weight_group,
               char         **key_out,
               GError       **error)
{
  const char *class_name = string_member (layer, "class_name");
  const char *name = layer_name_of (layer);
  g_autofree char *key = NULL;
  g_autofree char *identity = NULL;
  g_autofree char *relative = NULL;
  KerasNode *node;

  if (class_name == NULL || object_member (layer, "config") == NULL)
    return fail (error, QS_KERAS_MODEL_ERROR_BAD_CONFIG, "a layer of model_config has no class_name or config");
  if (name == NULL)
    return fail (error, QS_KERAS_MODEL_ERROR_BAD_CONFIG, "a %s layer of model_config has no name", class_name);
  relative = call_key (name, index);
  key = scope_key (prefix, relative);
  identity = scope_key (id_prefix, name);

  if (g_str_equal (class_name, "InputLayer"))
    {
      if (bound_input != NULL)
        {
          if (!add_alias (b, key, bound_input, error))
            return FALSE;
        }
      else
        {
          if ((node = node_new (b, key, identity, name, class_name, layer, name, FALSE, error)) == NULL)
            return FALSE;
          g_ptr_array_add (b->input_nodes, node);
        }
    }
  else if (is_model_class (class_name, layer))
    {
      g_autofree char *inner_output = NULL;
      const char *input = bound_input;

      if (call->refs->len > 1)
        return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
                     "nested model “%s” takes %u inputs; the engine runs models with one image input",
                     key, call->refs->len);
      if (!flatten_model (b, layer, key, identity, input, weight_group != NULL ? weight_group : name,
                          &inner_output, error)
          || !add_alias (b, key, inner_output, error))
        return FALSE;
    }
  else
    {
      if ((node = node_new (b, key, identity, name, class_name, layer, weight_group != NULL ? weight_group : name,
                            weight_group != NULL, error)) == NULL)
        return FALSE;
      if (bound_input != NULL && call->refs->len == 0)
        g_ptr_array_add (node->input_keys, g_strdup (bound_input));
      for (guint i = 0; i < call->refs->len; i++)
        g_ptr_array_add (node->input_keys, scope_key (prefix, g_ptr_array_index (call->refs, i)));
      node->has_constant = call->has_constant;
      node->constant_first = call->constant_first;
      node->constant = call->constant;
      node->constant_values = g_steal_pointer (&call->constant_values);
      node->constant_rank = call->constant_rank;
      memcpy (node->constant_shape, call->constant_shape, sizeof node->constant_shape);
      node->call_kwargs = call->kwargs;
      if (call->refs->len == 0 && bound_input == NULL && !call->has_constant
          && member (layer, "inbound_nodes") != NULL)
        return fail (error, QS_KERAS_MODEL_ERROR_BAD_CONFIG, "layer “%s” (%s) has no inbound layer", key, class_name);
      if (!isfinite (call->constant) && call->has_constant)
        return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED, "layer “%s” has a constant that is not finite", key);
    }
  *key_out = g_steal_pointer (&key);
  return TRUE;
}

/* [[name, 0, 0], ...] or, for one tensor, [name, 0, 0] (Keras 3). */
static GPtrArray *
layer_refs (JsonObject *config,
            const char *member_name)
{
  JsonArray *refs = array_member (config, member_name);
  GPtrArray *names = g_ptr_array_new ();
  const char *name;

  if (refs == NULL)
    return names;
  if (qs_json_node_get_string (qs_json_array_element (refs, 0), &name) && name != NULL)
    {
      g_ptr_array_add (names, (gpointer) name);
      return names;
    }
  for (guint i = 0; i < json_array_get_length (refs); i++)
    {
      JsonArray *ref = NULL;

      if (qs_json_node_get_array (json_array_get_element (refs, i), &ref) && ref != NULL
          && qs_json_node_get_string (qs_json_array_element (ref, 0), &name) && name != NULL)
        g_ptr_array_add (names, (gpointer) name);
    }
  return names;
}

static char *
names_text (GPtrArray *names)
{
  GString *text = g_string_new (NULL);

  for (guint i = 0; i < names->len; i++)
    g_string_append_printf (text, "%s“%s”", i ? ", " : "", (const char *) g_ptr_array_index (names, i));
  return g_string_free (text, FALSE);
}

/* A Sequential's layers: each reads the one before; the first reads
 * @bound_input (a nested Sequential), else it is, or is preceded by, the
 * model's input. */
static gboolean
flatten_sequential (QsKerasBuild  *b,
                    JsonArray     *layers,
                    const char    *prefix,
                    const char    *id_prefix,
                    const char    *bound_input,
                    const char    *weight_group,
                    char         **output_key,
                    GError       **error)
{
  g_autofree char *previous = g_strdup (bound_input);

  for (guint i = 0; i < json_array_get_length (layers); i++)
    {
      JsonNode *element = json_array_get_element (layers, i);
      g_auto(KerasCall) call = { 0 };
      JsonObject *layer;
      char *key = NULL;

      if (!JSON_NODE_HOLDS_OBJECT (element))
        return fail (error, QS_KERAS_MODEL_ERROR_BAD_CONFIG, "layer %u of model_config is not an object", i);
      layer = json_node_get_object (element);
      call.refs = g_ptr_array_new_with_free_func (g_free);
      if (previous == NULL && !g_str_equal (string_member (layer, "class_name") != NULL
                                            ? string_member (layer, "class_name") : "", "InputLayer")
          && !is_model_class (string_member (layer, "class_name") != NULL ? string_member (layer, "class_name") : "",
                              layer))
        {
          /* The model's input is declared by its first layer
           * (batch_input_shape) or by build_input_shape. */
          g_autofree char *input_key = scope_key (prefix, "input");
          g_autofree char *input_identity = scope_key (id_prefix, "input");
          KerasNode *input = node_new (b, input_key, input_identity, "input", "InputLayer", layer, "input", FALSE,
                                       error);

          if (input == NULL)
            return FALSE;
          g_ptr_array_add (b->input_nodes, input);
          previous = g_strdup (input_key);
        }
      if (!flatten_layer (b, layer, prefix, id_prefix, 0, &call, previous, weight_group, &key, error))
        return FALSE;
      g_free (previous);
      previous = key;
    }
  if (previous == NULL)
    return fail (error, QS_KERAS_MODEL_ERROR_BAD_CONFIG, "the Sequential model “%s” has no layers", prefix);
  *output_key = g_steal_pointer (&previous);
  return TRUE;
}

/* The node index of @layer's first call in its model's config: a nested
 * model built on an Input was called once at its creation (node 0,
 * which configs leave out): every Functional, and Keras 2's Sequential
 * (a Functional there) built on an input shape, which its first layer
 * gives as batch_input_shape (an InputLayer's, or the layer's own in
 * Keras 2.0-2.3); Keras 3's Sequential is no Functional (its InputLayer
 * has batch_shape). Other layers count from 0. */
static guint
first_node_index (JsonObject *layer,
                  const char *class_name)
{
  JsonArray *inner;
  JsonObject *head = NULL;

  if (!is_model_class (class_name, layer))
    return 0;
  if (!g_str_equal (class_name, "Sequential"))
    return 1;
  inner = array_member (object_member (layer, "config"), "layers");
  if (inner == NULL || !qs_json_node_get_object (qs_json_array_element (inner, 0), &head) || head == NULL)
    return 0;
  return member (object_member (head, "config"), "batch_input_shape") != NULL;
}

/* Each layer's calls, by name, for the node references of its model. */
static GHashTable *
count_layer_calls (JsonArray *layers)
{
  GHashTable *table = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);

  for (guint i = 0; i < json_array_get_length (layers); i++)
    {
      JsonObject *layer = NULL;
      JsonArray *nodes;
      const char *name, *class_name;
      LayerCalls *calls;

      if (!qs_json_node_get_object (json_array_get_element (layers, i), &layer) || layer == NULL
          || (name = layer_name_of (layer)) == NULL)
        continue;
      class_name = string_member (layer, "class_name");
      nodes = array_member (layer, "inbound_nodes");
      calls = g_new0 (LayerCalls, 1);
      calls->calls = nodes != NULL && json_array_get_length (nodes) > 1 ? json_array_get_length (nodes) : 1;
      calls->first = first_node_index (layer, class_name != NULL ? class_name : "");
      calls->model = is_model_class (class_name != NULL ? class_name : "", layer);
      g_hash_table_insert (table, (gpointer) name, calls);
    }
  return table;
}

/* The one [name, node, tensor] of a model's output_layers: [[...]], or
 * Keras 3's [...] for one tensor. */
static JsonArray *
output_ref (JsonObject *config)
{
  JsonArray *refs = array_member (config, "output_layers");
  JsonArray *ref = NULL;
  const char *name;

  if (refs == NULL)
    return NULL;
  if (qs_json_node_get_string (qs_json_array_element (refs, 0), &name) && name != NULL)
    return refs;
  (void) qs_json_node_get_array (qs_json_array_element (refs, 0), &ref);
  return ref;
}

static gboolean
flatten_functional (QsKerasBuild  *b,
                    JsonObject    *config,
                    JsonArray     *layers,
                    const char    *prefix,
                    const char    *id_prefix,
                    const char    *bound_input,
                    const char    *weight_group,
                    char         **output_key,
                    GError       **error)
{
  g_autoptr(GPtrArray) inputs = layer_refs (config, "input_layers");
  g_autoptr(GPtrArray) outputs = layer_refs (config, "output_layers");
  g_autoptr(GHashTable) layer_calls = count_layer_calls (layers);
  g_autofree char *last = NULL;

  if (inputs->len > 1)
    {
      g_autofree char *names = names_text (inputs);

      return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
                   "the model%s%s has %u inputs (%s); the engine runs models with one image input",
                   prefix[0] ? " " : "", prefix, inputs->len, names);
    }
  if (outputs->len > 1)
    {
      g_autofree char *names = names_text (outputs);

      return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
                   "the model%s%s has %u outputs (%s); the engine scores models with one output",
                   prefix[0] ? " " : "", prefix, outputs->len, names);
    }
  for (guint i = 0; i < json_array_get_length (layers); i++)
    {
      JsonNode *element = json_array_get_element (layers, i);
      JsonObject *layer;
      const char *name, *class_name;
      const LayerCalls *calls;

      if (!JSON_NODE_HOLDS_OBJECT (element))
        return fail (error, QS_KERAS_MODEL_ERROR_BAD_CONFIG, "layer %u of model_config is not an object", i);
      layer = json_node_get_object (element);
      name = layer_name_of (layer);
      class_name = string_member (layer, "class_name") != NULL ? string_member (layer, "class_name") : "";
      calls = name != NULL ? g_hash_table_lookup (layer_calls, name) : NULL;
      /* A layer called more than once (a shared layer) is a node per call. */
      for (guint k = 0; k < (calls != NULL ? calls->calls : 1); k++)
        {
          g_auto(KerasCall) call = { 0 };
          g_autofree char *ref = NULL;
          char *key = NULL;
          const char *bound = NULL;

          call.refs = g_ptr_array_new_with_free_func (g_free);
          call.layer_calls = layer_calls;
          if (!parse_call (b, layer, name != NULL ? name : "?", k, &call, error))
            return FALSE;
          /* Only an InputLayer of a nested model binds to the outer tensor;
           * a nested model's call reads from this model's scope. */
          if (g_str_equal (class_name, "InputLayer"))
            bound = bound_input;
          else if (is_model_class (class_name, layer) && call.refs->len == 1)
            bound = ref = scope_key (prefix, g_ptr_array_index (call.refs, 0));
          if (!flatten_layer (b, layer, prefix, id_prefix, k, &call, bound, weight_group, &key, error))
            return FALSE;
          g_free (last);
          last = key;
        }
    }
  if (last == NULL)
    return fail (error, QS_KERAS_MODEL_ERROR_BAD_CONFIG, "the functional model%s%s has no layers",
                 prefix[0] ? " " : "", prefix);
  if (outputs->len == 1)
    {
      g_auto(KerasCall) output = { 0 };
      const char *name = g_ptr_array_index (outputs, 0);

      output.refs = g_ptr_array_new_with_free_func (g_free);
      output.layer_calls = layer_calls;
      if (!call_add_ref (&output, "output_layers", name, output_ref (config), error))
        return FALSE;
      *output_key = scope_key (prefix, g_ptr_array_index (output.refs, 0));
    }
  else
    *output_key = g_steal_pointer (&last);
  return TRUE;
}

/* Flattens the model @model_object ({"class_name", "config"}) at @prefix. */
static gboolean
flatten_model (QsKerasBuild  *b,
               JsonObject    *model_object,
               const char    *prefix,
               const char    *id_prefix,
               const char    *bound_input,
               const char    *weight_group,
               char         **output_key,
               GError       **error)
{
  const char *class_name = string_member (model_object, "class_name");
  JsonNode *config_node = member (model_object, "config");
  JsonObject *config = object_member (model_object, "config");
  JsonArray *layers;

  if (class_name != NULL && g_str_equal (class_name, "Sequential"))
    {
      /* Keras 2.0-2.3 wrote the layer list as the config itself. */
      if (config_node != NULL && JSON_NODE_HOLDS_ARRAY (config_node))
        layers = json_node_get_array (config_node);
      else
        layers = array_member (config, "layers");
      if (layers == NULL)
        return fail (error, QS_KERAS_MODEL_ERROR_BAD_CONFIG, "the Sequential model_config has no layers");
      if (prefix[0] == '\0' && array_member (config, "build_input_shape") != NULL)
        b->build_shape = array_member (config, "build_input_shape");
      return flatten_sequential (b, layers, prefix, id_prefix, bound_input, weight_group, output_key, error);
    }
  if (class_name != NULL && (g_str_equal (class_name, "Functional") || g_str_equal (class_name, "Model")))
    {
      layers = array_member (config, "layers");
      if (layers == NULL)
        return fail (error, QS_KERAS_MODEL_ERROR_BAD_CONFIG, "the functional model_config has no layers");
      return flatten_functional (b, config, layers, prefix, id_prefix, bound_input, weight_group, output_key,
                                 error);
    }
  return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
               "model_config describes a %s; the engine runs Sequential and functional models",
               class_name != NULL ? class_name : "model without a class_name");
}

/* ---- ordering ---------------------------------------------------------------------------- */

/* The node @key stands for, following aliases (a nested model stands for
 * its output, a nested InputLayer for what the model is called on). */
static KerasNode *
resolve_key (QsKerasBuild *b,
             const char   *key)
{
  guint limit = g_hash_table_size (b->aliases) + 1;

  for (guint step = 0; key != NULL && step <= limit; step++)
    {
      KerasNode *node = g_hash_table_lookup (b->by_key, key);

      if (node != NULL)
        return node;
      key = g_hash_table_lookup (b->aliases, key);
    }
  return NULL;
}

static gboolean
resolve_inputs (QsKerasBuild  *b,
                GError       **error)
{
  for (guint i = 0; i < b->nodes->len; i++)
    {
      KerasNode *node = g_ptr_array_index (b->nodes, i);

      for (guint k = 0; k < node->input_keys->len; k++)
        {
          const char *key = g_ptr_array_index (node->input_keys, k);
          KerasNode *input = resolve_key (b, key);

          if (input == NULL)
            return fail (error, QS_KERAS_MODEL_ERROR_BAD_CONFIG,
                         "layer “%s” takes its input from “%s”, which the model does not have", node->key, key);
          g_ptr_array_add (node->inputs, input);
        }
    }
  return TRUE;
}

/* Marks what @output depends on, and counts each reachable node's readers. */
static void
mark_reachable (QsKerasBuild *b,
                KerasNode    *output)
{
  g_autoptr(GPtrArray) stack = g_ptr_array_new ();

  output->reachable = TRUE;
  g_ptr_array_add (stack, output);
  while (stack->len > 0)
    {
      KerasNode *node = g_ptr_array_steal_index (stack, stack->len - 1);

      for (guint k = 0; k < node->inputs->len; k++)
        {
          KerasNode *input = g_ptr_array_index (node->inputs, k);

          g_ptr_array_add (input->consumers, node);
          if (!input->reachable)
            {
              input->reachable = TRUE;
              g_ptr_array_add (stack, input);
            }
        }
    }
  (void) b;
}

static gint
compare_order (gconstpointer a,
               gconstpointer b)
{
  const KerasNode *x = *(KerasNode *const *) a, *y = *(KerasNode *const *) b;

  return x->order < y->order ? -1 : x->order > y->order;
}

/* The reachable nodes, each after its inputs, ties in config order
 * (Kahn's algorithm). A node left over is on a cycle. */
static GPtrArray *
sort_nodes (QsKerasBuild  *b,
            GError       **error)
{
  g_autoptr(GPtrArray) sorted = g_ptr_array_new ();
  g_autoptr(GPtrArray) ready = g_ptr_array_new ();
  guint reachable = 0;

  for (guint i = 0; i < b->nodes->len; i++)
    {
      KerasNode *node = g_ptr_array_index (b->nodes, i);

      if (!node->reachable)
        continue;
      reachable++;
      node->pending = node->inputs->len;
      if (node->pending == 0)
        g_ptr_array_add (ready, node);
    }
  while (ready->len > 0)
    {
      /* Ready sets stay small (a few branches): the smallest order wins. */
      guint best = 0;
      KerasNode *node;

      for (guint i = 1; i < ready->len; i++)
        if (compare_order (&ready->pdata[i], &ready->pdata[best]) < 0)
          best = i;
      node = g_ptr_array_steal_index (ready, best);
      g_ptr_array_add (sorted, node);
      for (guint k = 0; k < node->consumers->len; k++)
        {
          KerasNode *consumer = g_ptr_array_index (node->consumers, k);

          if (--consumer->pending == 0)
            g_ptr_array_add (ready, consumer);
        }
    }
  if (sorted->len != reachable)
    {
      for (guint i = 0; i < b->nodes->len; i++)
        {
          KerasNode *node = g_ptr_array_index (b->nodes, i);

          if (node->reachable && node->pending > 0)
            {
              fail (error, QS_KERAS_MODEL_ERROR_BAD_CONFIG,
                    "layer “%s” is on a cycle (its input depends on its own output)", node->key);
              return NULL;
            }
        }
    }
  return g_steal_pointer (&sorted);
}

/* ---- activations -------------------------------------------------------------------------- */

/* Parses an activation name into @spec; FALSE for a name the engine does not know. */
static gboolean
activation_from_name (const QsKerasBuild *b,
                      const char         *name,
                      QsActivationSpec   *spec)
{
  static const struct {
    const char  *name;
    QsActivation kind;
  } names[] = {
    { "linear", QS_ACTIVATION_NONE }, { "relu", QS_ACTIVATION_RELU }, { "relu6", QS_ACTIVATION_RELU },
    { "elu", QS_ACTIVATION_ELU }, { "sigmoid", QS_ACTIVATION_SIGMOID },
    { "hard_sigmoid", QS_ACTIVATION_HARD_SIGMOID }, { "swish", QS_ACTIVATION_SWISH },
    { "silu", QS_ACTIVATION_SWISH }, { "hard_swish", QS_ACTIVATION_HARD_SWISH },
    { "hard_silu", QS_ACTIVATION_HARD_SWISH }, { "tanh", QS_ACTIVATION_TANH },
    { "gelu", QS_ACTIVATION_GELU }, { "softmax", QS_ACTIVATION_SOFTMAX },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    if (g_str_equal (name, names[i].name))
      {
        qs_activation_spec_init (spec, names[i].kind);
        if (g_str_equal (name, "relu6"))
          spec->max_value = 6.0f;
        /* Keras 3's hard_sigmoid is relu6 (x + 3) / 6, Keras 2's clip (0.2 x + 0.5, 0, 1). */
        if (names[i].kind == QS_ACTIVATION_HARD_SIGMOID && b->keras3)
          {
            spec->slope = 1.0f / 6.0f;
            spec->offset = 0.5f;
          }
        return TRUE;
      }
  return FALSE;
}

/* A layer's "activation" setting: a name, or (Keras 3) an object naming one. */
static gboolean
parse_activation (const QsKerasBuild *b,
                  const KerasNode    *node,
                  const char         *key,
                  QsActivationSpec   *spec,
                  GError            **error)
{
  JsonNode *value = member (node->config, key);
  const char *name;

  qs_activation_spec_init (spec, QS_ACTIVATION_NONE);
  if (value == NULL || JSON_NODE_HOLDS_NULL (value))
    return TRUE;
  name = string_member (node->config, key);
  if (name == NULL)
    {
      JsonObject *object = object_member (node->config, key);

      name = string_member (object_member (object, "config"), "name");
      if (name == NULL)
        name = string_member (object, "class_name");
      if (name == NULL)
        return fail (error, QS_KERAS_MODEL_ERROR_BAD_CONFIG,
                     "%s layer “%s”: activation is neither a name nor a Keras object", node->class_name, node->name);
    }
  if (!activation_from_name (b, name, spec))
    return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
                 "%s layer “%s” uses activation “%s”; the engine runs linear, relu, relu6, elu, sigmoid, "
                 "hard_sigmoid, swish/silu, hard_swish/hard_silu, tanh, gelu and softmax",
                 node->class_name, node->name, name);
  return TRUE;
}

/* A ReLU the engine can fuse into the convolution or dense layer before it. */
static gboolean
spec_is_plain_relu (const QsActivationSpec *spec)
{
  return spec->kind == QS_ACTIVATION_RELU;
}

static gboolean
is_identity_class (const char *class_name)
{
  /* Inference-time identities, the random augmentation layers included;
   * StochasticDepth is ConvNeXt's (tf.keras applications) drop path. */
  static const char *const names[] = {
    "Dropout", "SpatialDropout1D", "SpatialDropout2D", "GaussianNoise", "GaussianDropout", "AlphaDropout",
    "StochasticDepth",
    "ActivityRegularization", "RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation",
    "RandomContrast", "RandomBrightness",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    if (g_str_equal (class_name, names[i]))
      return TRUE;
  return FALSE;
}

static gboolean
is_weighted_class (const char *class_name)
{
  return g_str_equal (class_name, "Conv2D") || g_str_equal (class_name, "Convolution2D")
    || g_str_equal (class_name, "DepthwiseConv2D") || g_str_equal (class_name, "SeparableConv2D")
    || g_str_equal (class_name, "SeparableConvolution2D") || g_str_equal (class_name, "Dense");
}

/* Whether @node is an Activation/Softmax layer computing a softmax. */
static gboolean lambda_code_mentions (const KerasNode *node,
                                      const char      *symbol);

/* onnx2keras's Softmax: a Lambda (tf.nn.softmax (x, axis=axis)) from
 * onnx2keras.activation_layers, its axis the one default argument. */
static gboolean
is_onnx2keras_softmax (const KerasNode *node)
{
  JsonArray *function = array_member (node->config, "function");
  JsonArray *defaults = NULL;
  int64_t axis;

  if (!g_str_equal (node->class_name, "Lambda")
      || g_strcmp0 (string_member (node->config, "module"), "onnx2keras.activation_layers") != 0
      || g_strcmp0 (string_member (node->config, "function_type"), "lambda") != 0 || function == NULL
      || !qs_json_node_get_array (qs_json_array_element (function, 1), &defaults) || defaults == NULL
      || json_array_get_length (defaults) != 1 || !qs_json_node_get_int (json_array_get_element (defaults, 0), &axis))
    return FALSE;
  return lambda_code_mentions (node, "softmax");
}

/* onnx2keras's Clip with a floor other than 0 (Hardtanh): a Lambda
 * (tf.clip_by_value (x, vmin, vmax)) from onnx2keras.operation_layers, its
 * bounds the two default arguments. TF computes max (min (x, vmax), vmin),
 * a clamp where vmin <= vmax: *@floor and *@cap. */
static gboolean
is_onnx2keras_clip (const KerasNode *node,
                    double          *floor,
                    double          *cap)
{
  JsonArray *function = array_member (node->config, "function");
  JsonArray *defaults = NULL;

  if (!g_str_equal (node->class_name, "Lambda")
      || g_strcmp0 (string_member (node->config, "module"), "onnx2keras.operation_layers") != 0
      || g_strcmp0 (string_member (node->config, "function_type"), "lambda") != 0 || function == NULL
      || !qs_json_node_get_array (qs_json_array_element (function, 1), &defaults) || defaults == NULL
      || json_array_get_length (defaults) != 2
      || !node_is_number (json_array_get_element (defaults, 0)) || !node_is_number (json_array_get_element (defaults, 1)))
    return FALSE;
  *floor = json_node_get_double (json_array_get_element (defaults, 0));
  *cap = json_node_get_double (json_array_get_element (defaults, 1));
  return *floor <= *cap && lambda_code_mentions (node, "clip_by_value");
}

static gboolean
is_softmax_layer (const KerasNode *node)
{
  if (g_str_equal (node->class_name, "Softmax") || is_onnx2keras_softmax (node))
    return TRUE;
  if (g_str_equal (node->class_name, "TFOpLambda"))
    return g_strcmp0 (string_member (node->config, "function"), "nn.softmax") == 0
      || g_strcmp0 (string_member (node->config, "function"), "math.softmax") == 0;
  return g_str_equal (node->class_name, "Activation")
    && g_strcmp0 (string_member (node->config, "activation"), "softmax") == 0;
}

/* Layers that keep the argmax of a vector: what may follow a softmax the engine drops. */
static gboolean
keeps_argmax (const KerasNode *node)
{
  return is_identity_class (node->class_name) || g_str_equal (node->class_name, "Flatten")
    || g_str_equal (node->class_name, "Reshape") || is_softmax_layer (node)
    || (g_str_equal (node->class_name, "Activation")
        && g_strcmp0 (string_member (node->config, "activation"), "linear") == 0);
}

/* A softmax that only feeds the scored output keeps its argmax, and the
 * engine scores the argmax: it is dropped (noted in the layer list by its
 * absence), as the chain loader always did. */
static void
mark_final_softmax (KerasNode *output)
{
  for (KerasNode *node = output; node != NULL;)
    {
      KerasNode *input;

      if (is_softmax_layer (node) || is_weighted_class (node->class_name))
        {
          node->drop_softmax = TRUE;
          if (is_weighted_class (node->class_name))
            return;
        }
      if (!keeps_argmax (node) || node->inputs->len != 1)
        return;
      input = g_ptr_array_index (node->inputs, 0);
      if (input->consumers->len != 1)
        return;
      node = input;
    }
}

/* ---- building ------------------------------------------------------------------------------ */

static void
input_shape (QsKerasBuild    *b,
             const KerasNode *node,
             guint            index,
             int             *h,
             int             *w,
             int             *c)
{
  const KerasNode *input = g_ptr_array_index (node->inputs, index);

  if (!qs_engine_model_get_value_shape (b->model, input->value, h, w, c))
    *h = *w = *c = 0;
}

static int
input_rank (const KerasNode *node)
{
  return ((const KerasNode *) g_ptr_array_index (node->inputs, 0))->rank;
}

/* Layers that are not merges read exactly one tensor. */
static gboolean
require_one_input (const KerasNode  *node,
                   GError          **error)
{
  if (node->inputs->len != 1 || node->has_constant)
    return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED, "%s layer “%s” takes %u inputs; it takes one",
                 node->class_name, node->name, node->inputs->len + (node->has_constant ? 1 : 0));
  return TRUE;
}

static gboolean
set_inputs (QsKerasBuild     *b,
            const KerasNode  *node,
            GError          **error)
{
  int values[QS_ENGINE_MAX_INPUTS];
  QsEngineStatus status;

  if (node->inputs->len > QS_ENGINE_MAX_INPUTS)
    return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED, "%s layer “%s” merges %u inputs; the engine merges up to %d",
                 node->class_name, node->name, node->inputs->len, QS_ENGINE_MAX_INPUTS);
  for (guint i = 0; i < node->inputs->len; i++)
    values[i] = ((const KerasNode *) g_ptr_array_index (node->inputs, i))->value;
  status = qs_engine_model_set_next_inputs (b->model, values, node->inputs->len);
  return status == QS_ENGINE_OK || engine_fail (error, status, node->name, node->class_name);
}

/* The end of adding @node's (last) engine layer. */
static gboolean
layer_added (QsKerasBuild    *b,
             KerasNode       *node,
             QsEngineStatus   status,
             GError         **error)
{
  if (status != QS_ENGINE_OK)
    return engine_fail (error, status, node->name, node->class_name);
  node->value = qs_engine_model_get_last_value (b->model);
  return TRUE;
}

static gboolean
tensor_named (QsKerasBuild     *b,
              const KerasNode  *node,
              const char       *path,
              GError          **error)
{
  QsEngineStatus status = qs_engine_model_set_weight_tensor (b->model, path);

  return status == QS_ENGINE_OK || engine_fail (error, status, node->name, node->class_name);
}

/* Adds @spec as @node's activation layer after its weighted layer (a
 * fused ReLU is already in the weighted layer; a dropped softmax adds nothing). */
static gboolean
add_own_activation (QsKerasBuild            *b,
                    KerasNode               *node,
                    const QsActivationSpec  *spec,
                    GError                 **error)
{
  g_autofree char *name = NULL;

  if (spec->kind == QS_ACTIVATION_NONE || spec_is_plain_relu (spec)
      || (spec->kind == QS_ACTIVATION_SOFTMAX && node->drop_softmax))
    return TRUE;
  name = g_strconcat (node->name, "/activation", NULL);
  return layer_added (b, node, qs_engine_model_add_activation_spec (b->model, name, spec), error);
}

/* ---- Keras 1 configs ------------------------------------------------------------------------ */

static void
copy_member (JsonObject *config,
             const char *to,
             const char *from)
{
  if (!json_object_has_member (config, to) && json_object_has_member (config, from))
    json_object_set_member (config, to, json_node_copy (json_object_get_member (config, from)));
}

/* Keras 1 (2015-2017) names the same settings otherwise: Convolution2D's
 * nb_filter, nb_row and nb_col, border_mode, subsample, bias and
 * dim_ordering ("th" for Theano's channels_first), Dense's output_dim, and
 * one Merge layer with a mode. They are given their Keras 2 names (the
 * Keras 1 ones stay) and a Merge its Keras 2 class, as Keras 2's own
 * loader does. */
static void
keras1_translate (QsKerasBuild *b,
                  KerasNode    *node)
{
  static const char *const keys[] = { "nb_filter", "output_dim", "border_mode", "dim_ordering", "subsample" };
  static const struct { const char *mode, *class_name; } merges[] = {
    { "sum", "Add" }, { "mul", "Multiply" }, { "concat", "Concatenate" }, { "ave", "Average" }, { "max", "Maximum" },
  };
  JsonObject *config = node->config;
  const char *ordering;
  gboolean old = g_str_equal (node->class_name, "Merge");

  for (guint i = 0; config != NULL && i < G_N_ELEMENTS (keys); i++)
    old = old || json_object_has_member (config, keys[i]);
  if (config == NULL || !old)
    return;
  b->keras1 = TRUE;
  copy_member (config, "filters", "nb_filter");
  copy_member (config, "padding", "border_mode");
  copy_member (config, "strides", "subsample");
  copy_member (config, "dilation_rate", "atrous_rate");
  copy_member (config, "use_bias", "bias");
  copy_member (config, "units", "output_dim");
  if (!json_object_has_member (config, "kernel_size") && node_is_number (member (config, "nb_row"))
      && node_is_number (member (config, "nb_col")))
    {
      JsonArray *size = json_array_new ();

      json_array_add_element (size, json_node_copy (member (config, "nb_row")));
      json_array_add_element (size, json_node_copy (member (config, "nb_col")));
      json_object_set_array_member (config, "kernel_size", size);
    }
  ordering = string_member (config, "dim_ordering");
  if (ordering != NULL && !json_object_has_member (config, "data_format"))
    json_object_set_string_member (config, "data_format", g_str_equal (ordering, "th") ? "channels_first"
                                                           : g_str_equal (ordering, "tf") ? "channels_last" : ordering);
  if (g_str_equal (node->class_name, "AtrousConvolution2D"))
    node->class_name = "Conv2D";
  if (g_str_equal (node->class_name, "Merge"))
    {
      const char *mode = string_member (config, "mode");

      for (guint i = 0; mode != NULL && i < G_N_ELEMENTS (merges); i++)
        if (g_str_equal (mode, merges[i].mode))
          node->class_name = merges[i].class_name;
      copy_member (config, "axis", "concat_axis");
    }
}

/* A Keras 1 "th" convolution kernel: (out, in, kh, kw) in the file, as
 * Keras's (kh, kw, in, out); Theano's kernels, stored for a true
 * convolution, turned 180 degrees into TensorFlow's correlation (Keras
 * 2's convert_kernel). NULL with @error set when absent or misshapen. */
static float *
read_keras1_th_kernel (QsKerasBuild     *b,
                       const KerasNode  *node,
                       const int64_t     kshape[4],
                       const char      **path,
                       GError          **error)
{
  int64_t stored[4] = { kshape[3], kshape[2], kshape[0], kshape[1] };
  g_autofree float *raw = read_weight (b, node, "kernel", 4, stored, TRUE, path, error);
  const char *backend = qs_weight_file_get_backend (b->file);
  gboolean flip = backend != NULL && g_str_equal (backend, "theano");
  float *kernel;

  if (raw == NULL)
    return NULL;
  kernel = g_new (float, (gsize) kshape[0] * kshape[1] * kshape[2] * kshape[3]);
  for (int64_t o = 0; o < kshape[3]; o++)
    for (int64_t i = 0; i < kshape[2]; i++)
      for (int64_t y = 0; y < kshape[0]; y++)
        for (int64_t x = 0; x < kshape[1]; x++)
          {
            int64_t sy = flip ? kshape[0] - 1 - y : y, sx = flip ? kshape[1] - 1 - x : x;

            kernel[((y * kshape[1] + x) * kshape[2] + i) * kshape[3] + o]
              = raw[((o * kshape[2] + i) * kshape[0] + sy) * kshape[1] + sx];
          }
  return kernel;
}

/* ---- axis orders: channels_first models on the engine's channels-last maps ------------- */

/* Converters from PyTorch, ONNX and Caffe write channels_first models: the
 * same layers with (C, H, W) maps. The engine keeps every map as H x W x C
 * and each Keras map remembers which engine axis each of its own axes is
 * (KerasNode.axes), so a channels_first Conv2D runs as it is, a
 * BatchNormalization(axis=1) or Concatenate(axis=1) finds the channels, a
 * Permute only relabels, and a flattened (C, H, W) map keeps its Keras order
 * for the Dense after it, whose kernel rows are reordered to the engine's. */
static const int channels_last_axes[3] = { 0, 1, 2 };
static const int channels_first_axes[3] = { 2, 0, 1 };

/* Whether Keras axis orders @a and @b of an engine map of @dims lay out its
 * values alike: the same order once the axes of size 1 are left out (a
 * 1x1xC map is both (1, 1, C) and (C, 1, 1)). */
static gboolean
axes_agree (const int  a[3],
            const int  b[3],
            const int  dims[3])
{
  int ia = 0, ib = 0;

  for (;;)
    {
      while (ia < 3 && dims[a[ia]] == 1)
        ia++;
      while (ib < 3 && dims[b[ib]] == 1)
        ib++;
      if (ia == 3 || ib == 3)
        return ia == 3 && ib == 3;
      if (a[ia++] != b[ib++])
        return FALSE;
    }
}

static void
value_dims (const QsKerasBuild *b,
            const KerasNode    *tensor,
            int                 dims[3])
{
  if (!qs_engine_model_get_value_shape (b->model, tensor->value, &dims[0], &dims[1], &dims[2]))
    dims[0] = dims[1] = dims[2] = 0;
}

/* "channels_first" or "channels_last" for messages. */
static const char *
format_name (gboolean channels_first)
{
  return channels_first ? "channels_first" : "channels_last";
}

/* The Keras axis (1 after the batch) holding @tensor's channels. */
static int
channel_axis (const KerasNode *tensor)
{
  if (tensor->rank == 4)
    for (int k = 0; k < 3; k++)
      if (tensor->axes[k] == 2)
        return k + 1;
  return tensor->rank - 1;
}

/* Whether @axis (negative from the end) is @tensor's channel axis. */
static gboolean
is_channel_axis (int64_t          axis,
                 const KerasNode *tensor)
{
  if (axis < 0)
    axis += tensor->rank;
  return axis == channel_axis (tensor);
}

/* A windowed or spatial layer (convolution, pooling, padding, upsampling):
 * its data_format must be the order of its input map's axes, which its
 * output keeps. */
static gboolean
check_layout (const QsKerasBuild  *b,
              KerasNode           *node,
              GError             **error)
{
  const KerasNode *input = g_ptr_array_index (node->inputs, 0);
  int format = layer_format (node->config);
  const int *want;
  int dims[3];

  if (format == 2)
    return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
                 "%s layer “%s” has data_format “%s”; the engine runs channels_last and channels_first",
                 node->class_name, node->name, string_member (node->config, "data_format") != NULL
                                               ? string_member (node->config, "data_format")
                                               : string_member (node->config, "dim_ordering"));
  if (format < 0)
    format = b->channels_first;
  want = format ? channels_first_axes : channels_last_axes;
  if (input->rank != 4)
    return TRUE;
  value_dims (b, input, dims);
  if (!axes_agree (input->axes, want, dims))
    return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
                 "%s layer “%s” is %s, but the map it reads has its axes in another order (an earlier Permute or "
                 "transpose); the engine cannot run it", node->class_name, node->name, format_name (format));
  memcpy (node->axes, want, sizeof node->axes);
  return TRUE;
}

/* Most layers keep their first input's axis order: the default before a build. */
static void
inherit_layout (KerasNode       *node,
                const KerasNode *input)
{
  memcpy (node->axes, input->axes, sizeof node->axes);
  node->flat_permuted = input->flat_permuted;
  memcpy (node->flat_dims, input->flat_dims, sizeof node->flat_dims);
}

/* What a constant operand says of the map it meets: 1 when its one axis
 * longer than 1 is the third from the end ((C, 1, 1), (1, C, 1, 1): a
 * channels_first map's channels), 0 when it is the last of a constant of
 * rank 3 or more ((1, 1, C)), -1 otherwise (a number, a vector, which
 * could be a vector's own operand). */
static int
constant_format (const KerasNode *node)
{
  int k = node->constant_rank, varying = -1;

  if (!node->has_constant || k < 3)
    return -1;
  for (int i = 0; i < k; i++)
    if (node->constant_shape[i] > 1)
      {
        if (varying >= 0)
          return -1;
        varying = i;
      }
  return varying == k - 3 ? 1 : varying == k - 1 ? 0 : -1;
}

/* Whether the model's image input is channels_first. The first layer, in
 * the order the graph runs (@sorted), whose data_format (Keras 1:
 * dim_ordering) says one decides: it is the nearest to the input, and
 * check_layout holds every later layer to the axes of the map it reads,
 * so a mixed model (channels_first layers, a Permute, then channels_last
 * ones) loads and one whose orders contradict each other is refused by
 * the layer that does. Flatten is left out: its data_format says how it
 * flattens, not what it reads. A model without any (Dense, Activation,
 * TFOpLambda layers only) and an image input (@image: rank 4) is decided
 * by the first constant operand shaped for a map, as PyTorch's (x - mean)
 * / std with (C, 1, 1) constants converts; else it is channels_last,
 * Keras's default. */
static gboolean
model_is_channels_first (GPtrArray *sorted,
                         gboolean   image)
{
  int format = -1;

  for (guint i = 0; i < sorted->len && format < 0; i++)
    {
      const KerasNode *node = g_ptr_array_index (sorted, i);

      if (node->reachable && !g_str_equal (node->class_name, "Flatten"))
        format = layer_format (node->config);
    }
  for (guint i = 0; i < sorted->len && format < 0 && image; i++)
    {
      const KerasNode *node = g_ptr_array_index (sorted, i);

      if (node->reachable)
        format = constant_format (node);
    }
  return format == 1;
}

/* @node's output: a vector that is a map of engine @dims flattened in the
 * Keras order @axes. */
static void
set_flattened (KerasNode *node,
               const int  axes[3],
               const int  dims[3])
{
  node->rank = 2;
  node->flat_permuted = !axes_agree (axes, channels_last_axes, dims);
  memcpy (node->axes, axes, sizeof node->axes);
  memcpy (node->flat_dims, dims, sizeof node->flat_dims);
}

/* The Keras index of each engine element of @tensor, a flattened map
 * whose Keras order differs from the engine's. */
static gsize *
flat_keras_index (const KerasNode *tensor)
{
  const int *d = tensor->flat_dims, *axes = tensor->axes;
  gsize *index = g_new (gsize, (gsize) d[0] * d[1] * d[2]);
  int kd[3] = { d[axes[0]], d[axes[1]], d[axes[2]] };

  for (int y = 0; y < d[0]; y++)
    for (int x = 0; x < d[1]; x++)
      for (int ch = 0; ch < d[2]; ch++)
        {
          int at[3] = { y, x, ch };

          index[((gsize) y * d[1] + x) * d[2] + ch] = ((gsize) at[axes[0]] * kd[1] + at[axes[1]]) * kd[2] + at[axes[2]];
        }
  return index;
}

/* An "axis" setting of one integer, or a list of one. */
static gboolean
axis_member (JsonObject *config,
             int64_t     fallback,
             int64_t    *axis)
{
  JsonNode *node = member (config, "axis");

  *axis = fallback;
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (JSON_NODE_HOLDS_ARRAY (node) && json_array_get_length (json_node_get_array (node)) == 1)
    node = json_array_get_element (json_node_get_array (node), 0);
  return qs_json_node_get_int (node, axis);
}

typedef struct {
  float  *gamma, *beta, *mean, *variance;
  double  epsilon;
} BatchNormWeights;

static void
batch_norm_weights_clear (BatchNormWeights *bn)
{
  g_clear_pointer (&bn->gamma, g_free);
  g_clear_pointer (&bn->beta, g_free);
  g_clear_pointer (&bn->mean, g_free);
  g_clear_pointer (&bn->variance, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (BatchNormWeights, batch_norm_weights_clear)

/* Checks a BatchNormalization or LayerNormalization @node against a
 * tensor of @rank and @channels channels and reads its axis, epsilon,
 * gamma and beta. */
static gboolean
read_normalization (QsKerasBuild      *b,
                    const KerasNode   *node,
                    const KerasNode   *tensor,
                    int                channels,
                    BatchNormWeights  *bn,
                    GError           **error)
{
  int64_t axis, shape[1] = { channels };

  if (!axis_member (node->config, -1, &axis))
    return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
                 "%s layer “%s” normalises several axes; the engine normalises the channel axis only",
                 node->class_name, node->name);
  if (!is_channel_axis (axis, tensor))
    return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
                 "%s layer “%s” normalises axis %" G_GINT64_FORMAT " of a rank-%d tensor; "
                 "the engine normalises the channel axis only (%d here)", node->class_name, node->name, axis,
                 tensor->rank, channel_axis (tensor));
  bn->epsilon = number_member (node->config, "epsilon", 1e-3);
  if (!(bn->epsilon >= 0.0 && bn->epsilon <= 1.0)
      || (member (node->config, "epsilon") != NULL && !node_is_number (member (node->config, "epsilon"))))
    return fail (error, QS_KERAS_MODEL_ERROR_BAD_CONFIG,
                 "%s layer “%s” has an invalid epsilon (it must be a number from 0 to 1)", node->class_name,
                 node->name);
  if (bool_member (node->config, "scale", TRUE)
      && (bn->gamma = read_weight (b, node, "gamma", 1, shape, TRUE, NULL, error)) == NULL)
    return FALSE;
  if (bool_member (node->config, "center", TRUE)
      && (bn->beta = read_weight (b, node, "beta", 1, shape, TRUE, NULL, error)) == NULL)
    return FALSE;
  return TRUE;
}

/* Checks BatchNormalization @node against a tensor of @rank and
 * @channels channels and reads its statistics. */
static gboolean
read_batch_norm (QsKerasBuild      *b,
                 const KerasNode   *node,
                 const KerasNode   *tensor,
                 int                channels,
                 BatchNormWeights  *bn,
                 GError           **error)
{
  int64_t shape[1] = { channels };

  if (!read_normalization (b, node, tensor, channels, bn, error))
    return FALSE;
  if ((bn->mean = read_weight (b, node, "moving_mean", 1, shape, TRUE, NULL, error)) == NULL
      || (bn->variance = read_weight (b, node, "moving_variance", 1, shape, TRUE, NULL, error)) == NULL)
    return FALSE;
  return TRUE;
}

static gboolean
batch_norm_invalid (const KerasNode  *node,
                    GError          **error)
{
  return fail (error, QS_KERAS_MODEL_ERROR_WEIGHTS,
               "BatchNormalization layer “%s” has a statistic that is not finite, a negative variance, "
               "or folds into weights that are not finite", node->name);
}

/* The elementwise operations of two operands, a tensor and a constant or two tensors. */
typedef enum {
  OP_ADD,
  OP_SUBTRACT,
  OP_MULTIPLY,
  OP_DIVIDE,
  OP_MAXIMUM,
  OP_MINIMUM,
} ScalarOp;

static gboolean binary_op_of (const KerasNode *node,
                              ScalarOp        *op);

/* A ReLU the engine fuses, as one layer writes it: Activation relu/relu6,
 * ReLU with no slope and no threshold, and as converters write them
 * tf.nn.relu, tf.nn.relu6, tf.clip_by_value (x, 0, cap) and tf.maximum
 * (x, 0); its cap in *@max. */
static gboolean
relu_node (const QsKerasBuild *b,
           const KerasNode    *node,
           float              *max)
{
  QsActivationSpec spec;
  const char *name;
  ScalarOp op;

  if (g_str_equal (node->class_name, "TFOpLambda") && !node->has_constant && node->inputs->len == 1
      && (name = string_member (node->config, "function")) != NULL
      && (g_str_equal (name, "nn.relu") || g_str_equal (name, "nn.relu6")
          || g_str_equal (name, "clip_by_value") || g_str_equal (name, "compat.v1.clip_by_value")))
    {
      gboolean clip = g_str_has_suffix (name, "clip_by_value");
      double floor = clip ? number_member (node->call_kwargs, "clip_value_min", NAN) : 0.0;
      double cap = clip ? number_member (node->call_kwargs, "clip_value_max", NAN)
                   : g_str_equal (name, "nn.relu6") ? 6.0 : INFINITY;

      if (floor != 0.0 || !(cap >= 0.0))
        return FALSE;
      *max = cap <= FLT_MAX ? (float) cap : INFINITY;
      return TRUE;
    }
  if (node->has_constant && node->constant_values == NULL && node->inputs->len == 1 && binary_op_of (node, &op))
    {
      *max = INFINITY;
      return op == OP_MAXIMUM && node->constant == 0.0;
    }
  if (g_str_equal (node->class_name, "ReLU"))
    {
      double cap = number_member (node->config, "max_value", INFINITY);

      if (number_member (node->config, "negative_slope", 0.0) != 0.0
          || number_member (node->config, "threshold", 0.0) != 0.0 || !(cap >= 0.0))
        return FALSE;
      *max = cap <= FLT_MAX ? (float) cap : INFINITY;
      return TRUE;
    }
  if (!g_str_equal (node->class_name, "Activation") || (name = string_member (node->config, "activation")) == NULL
      || !activation_from_name (b, name, &spec) || !spec_is_plain_relu (&spec))
    return FALSE;
  *max = spec.max_value;
  return TRUE;
}

/* A ReLU (relu_node), or tf.minimum of one by caps (nobuco's torch.clamp
 * (x, 0, cap) is tf.maximum then tf.minimum); its cap in *@max. The caps
 * are walked, not recursed into: a chain of them is as long as the config. */
static gboolean
plain_relu_layer (const QsKerasBuild *b,
                  const KerasNode    *node,
                  float              *max)
{
  float cap = INFINITY;
  ScalarOp op;

  while (node->has_constant && node->constant_values == NULL && node->inputs->len == 1 && binary_op_of (node, &op)
         && op == OP_MINIMUM && node->constant >= 0.0)
    {
      cap = fminf (cap, node->constant <= FLT_MAX ? (float) node->constant : INFINITY);
      node = g_ptr_array_index (node->inputs, 0);
    }
  if (!relu_node (b, node, max))
    return FALSE;
  *max = fminf (*max, cap);
  return TRUE;
}

/* Whether call @node reads only into a BatchNormalization it can fold. */
static gboolean
feeds_batch_norm (const QsKerasBuild *b,
                  const KerasNode    *node)
{
  const KerasNode *next;

  if (node == b->output || node->consumers->len != 1)
    return FALSE;
  next = g_ptr_array_index (node->consumers, 0);
  return g_str_equal (next->class_name, "BatchNormalization") && next->inputs->len == 1 && !next->has_constant;
}

/* Whether the BatchNormalization after call @node folds into it: the
 * calls of a shared layer run one kernel, so each call the model runs
 * must be followed by the same batch normalization, or none is folded. */
static gboolean
batch_norm_folds (const QsKerasBuild *b,
                  const KerasNode    *node)
{
  const KerasNode *next;
  GPtrArray *calls = g_hash_table_lookup (b->calls, node->identity);

  if (!feeds_batch_norm (b, node))
    return FALSE;
  next = g_ptr_array_index (node->consumers, 0);
  for (guint i = 0; calls != NULL && i < calls->len; i++)
    {
      const KerasNode *call = g_ptr_array_index (calls, i);

      if (call->reachable
          && (!feeds_batch_norm (b, call)
              || !g_str_equal (((const KerasNode *) g_ptr_array_index (call->consumers, 0))->identity,
                               next->identity)))
        return FALSE;
    }
  return TRUE;
}

/* After a convolution or dense layer @node without an activation: folds
 * the BatchNormalization that is its only reader, then fuses the ReLU
 * that is the only reader of the result, as deployment toolchains do. */
static gboolean
absorb_followers (QsKerasBuild  *b,
                  KerasNode     *node,
                  GError       **error)
{
  KerasNode *tail = node, *next;
  float max;

  if (batch_norm_folds (b, tail))
    {
      g_auto(BatchNormWeights) bn = { 0 };
      int h, w, c;
      QsEngineStatus status;

      next = g_ptr_array_index (tail->consumers, 0);
      qs_engine_model_get_value_shape (b->model, node->value, &h, &w, &c);
      if (!read_batch_norm (b, next, node, c, &bn, error))
        return FALSE;
      status = qs_engine_model_fold_batch_norm (b->model, bn.gamma, bn.beta, bn.mean, bn.variance,
                                                (float) bn.epsilon);
      if (status == QS_ENGINE_INVALID_ARGUMENT)
        return batch_norm_invalid (next, error);
      if (status != QS_ENGINE_OK)
        return engine_fail (error, status, next->name, next->class_name);
      next->built = TRUE;
      next->value = node->value;
      next->rank = node->rank;
      inherit_layout (next, node);
      tail = next;
    }
  if (tail != b->output && tail->consumers->len == 1
      && plain_relu_layer (b, (next = g_ptr_array_index (tail->consumers, 0)), &max)
      && next->inputs->len == 1 && !next->has_constant)
    {
      QsEngineStatus status = qs_engine_model_add_activation (b->model, next->name, QS_ACTIVATION_RELU, max);

      if (status != QS_ENGINE_OK)
        return engine_fail (error, status, next->name, next->class_name);
      next->built = TRUE;
      next->value = qs_engine_model_get_last_value (b->model);
      next->rank = tail->rank;
      inherit_layout (next, tail);
    }
  return TRUE;
}

/* Kernel size, strides, dilation and padding of a windowed layer. */
static gboolean
parse_window (const QsKerasBuild  *b,
              KerasNode           *node,
              QsConvParams        *p,
              GError             **error)
{
  if (!check_layout (b, node, error)
      || !parse_padding (node->config, node->name, node->class_name, &p->padding, error))
    return FALSE;
  if (pair_member (node->config, "kernel_size", &p->kernel_h, &p->kernel_w) != SETTING_VALID)
    return bad_size (error, node->class_name, node->name, "kernel_size");
  p->stride_h = p->stride_w = 1;
  if (pair_member (node->config, "strides", &p->stride_h, &p->stride_w) == SETTING_INVALID)
    return bad_size (error, node->class_name, node->name, "strides");
  p->dilation_h = p->dilation_w = 1;
  if (pair_member (node->config, "dilation_rate", &p->dilation_h, &p->dilation_w) == SETTING_INVALID)
    return bad_size (error, node->class_name, node->name, "dilation_rate");
  return TRUE;
}

/* The activation of a weighted layer: a plain ReLU fused into it, a
 * dropped final softmax, or NONE with the rest added after it. */
static void
fuse_activation (const QsActivationSpec *spec,
                 QsActivation           *activation,
                 float                  *max)
{
  *activation = spec_is_plain_relu (spec) ? QS_ACTIVATION_RELU : QS_ACTIVATION_NONE;
  *max = spec_is_plain_relu (spec) ? spec->max_value : INFINITY;
}

/* A layer's bias of @units values, or NULL without an error for use_bias false. */
static gboolean
read_bias (QsKerasBuild     *b,
           const KerasNode  *node,
           int64_t           units,
           float           **bias,
           GError          **error)
{
  int64_t shape[1] = { units };

  *bias = NULL;
  return !bool_member (node->config, "use_bias", TRUE)
    || (*bias = read_weight (b, node, "bias", 1, shape, TRUE, NULL, error)) != NULL;
}

/* The end of adding a weighted layer: the engine's answer, the tensor it
 * was built from, then the BN and ReLU it absorbs, or its own activation
 * as a layer after it. */
static gboolean
weighted_layer_added (QsKerasBuild            *b,
                      KerasNode               *node,
                      QsEngineStatus           status,
                      const char              *kernel_path,
                      const QsActivationSpec  *spec,
                      GError                 **error)
{
  if (!layer_added (b, node, status, error) || !tensor_named (b, node, kernel_path, error))
    return FALSE;
  if (spec->kind == QS_ACTIVATION_NONE)
    return absorb_followers (b, node, error);
  return add_own_activation (b, node, spec, error);
}

/* Conv2D (dilation, groups) and DepthwiseConv2D (any depth multiplier). */
static gboolean
build_conv (QsKerasBuild  *b,
            KerasNode     *node,
            gboolean       depthwise,
            GError       **error)
{
  QsConvParams p = { 0 };
  QsActivationSpec spec;
  int h, w, c, groups = 1;
  g_autofree float *kernel = NULL;
  g_autofree float *bias = NULL;
  const char *kernel_path = NULL;
  int64_t kshape[4];

  if (!require_one_input (node, error) || !parse_window (b, node, &p, error)
      || !parse_activation (b, node, "activation", &spec, error))
    return FALSE;
  input_shape (b, node, 0, &h, &w, &c);
  if (!depthwise && int_member (node->config, "groups", 1, &groups) == SETTING_INVALID)
    return bad_size (error, node->class_name, node->name, "groups");
  if (int_member (node->config, depthwise ? "depth_multiplier" : "filters", depthwise ? 1 : 0, &p.filters)
      == SETTING_INVALID || p.filters <= 0)
    return bad_size (error, node->class_name, node->name, depthwise ? "depth_multiplier" : "filters");
  if (c % groups != 0 || p.filters % groups != 0)
    return fail (error, QS_KERAS_MODEL_ERROR_BAD_CONFIG,
                 "%s layer “%s” has %d groups, which divide neither its %d input channels nor its %d filters",
                 node->class_name, node->name, groups, c, p.filters);
  p.groups = groups;
  kshape[0] = p.kernel_h;
  kshape[1] = p.kernel_w;
  kshape[2] = c / groups;
  kshape[3] = p.filters;
  if (b->keras1 && !depthwise && layer_format (node->config) == 1)
    kernel = read_keras1_th_kernel (b, node, kshape, &kernel_path, error);
  else
    kernel = read_weight (b, node, depthwise ? "depthwise_kernel" : "kernel", 4, kshape, TRUE, &kernel_path, error);
  if (kernel == NULL)
    return FALSE;
  if (!read_bias (b, node, depthwise ? (int64_t) c * p.filters : p.filters, &bias, error))
    return FALSE;
  fuse_activation (&spec, &p.activation, &p.activation_max);
  node->rank = input_rank (node);
  return set_inputs (b, node, error)
    && weighted_layer_added (b, node, depthwise ? qs_engine_model_add_depthwise (b->model, node->name, &p, kernel, bias)
                                                : qs_engine_model_add_conv2d (b->model, node->name, &p, kernel, bias),
                             kernel_path, &spec, error);
}

/* SeparableConv2D: its depthwise and pointwise halves as two engine layers. */
static gboolean
build_separable (QsKerasBuild  *b,
                 KerasNode     *node,
                 GError       **error)
{
  QsConvParams dp = { 0 }, pp = { 0 };
  QsActivationSpec spec;
  int h, w, c, multiplier = 1, filters = 0;
  g_autofree float *depthwise = NULL;
  g_autofree float *pointwise = NULL;
  g_autofree float *bias = NULL;
  g_autofree char *depthwise_name = NULL;
  const char *depthwise_path = NULL, *pointwise_path = NULL;
  int64_t dshape[4], pshape[4];

  if (!require_one_input (node, error) || !parse_window (b, node, &dp, error)
      || !parse_activation (b, node, "activation", &spec, error))
    return FALSE;
  if (int_member (node->config, "depth_multiplier", 1, &multiplier) == SETTING_INVALID)
    return bad_size (error, node->class_name, node->name, "depth_multiplier");
  if (int_member (node->config, "filters", 0, &filters) != SETTING_VALID)
    return bad_size (error, node->class_name, node->name, "filters");
  input_shape (b, node, 0, &h, &w, &c);
  dshape[0] = dp.kernel_h, dshape[1] = dp.kernel_w, dshape[2] = c, dshape[3] = multiplier;
  pshape[0] = 1, pshape[1] = 1, pshape[2] = (int64_t) c * multiplier, pshape[3] = filters;
  if ((depthwise = read_weight (b, node, "depthwise_kernel", 4, dshape, TRUE, &depthwise_path, error)) == NULL
      || (pointwise = read_weight (b, node, "pointwise_kernel", 4, pshape, TRUE, &pointwise_path, error)) == NULL)
    return FALSE;
  if (!read_bias (b, node, filters, &bias, error))
    return FALSE;
  dp.filters = multiplier;
  dp.activation = QS_ACTIVATION_NONE;
  dp.activation_max = INFINITY;
  pp.kernel_h = pp.kernel_w = pp.stride_h = pp.stride_w = 1;
  pp.padding = QS_PADDING_VALID;
  pp.filters = filters;
  fuse_activation (&spec, &pp.activation, &pp.activation_max);
  depthwise_name = g_strconcat (node->name, "/depthwise", NULL);
  node->rank = input_rank (node);
  if (!set_inputs (b, node, error)
      || !layer_added (b, node, qs_engine_model_add_depthwise (b->model, depthwise_name, &dp, depthwise, NULL), error)
      || !tensor_named (b, node, depthwise_path, error))
    return FALSE;
  {
    g_autofree char *pointwise_name = g_strconcat (node->name, "/pointwise", NULL);
    int value = node->value;

    QsEngineStatus status = qs_engine_model_set_next_inputs (b->model, &value, 1);

    if (status == QS_ENGINE_OK)
      status = qs_engine_model_add_conv2d (b->model, pointwise_name, &pp, pointwise, bias);
    return weighted_layer_added (b, node, status, pointwise_path, &spec, error);
  }
}

/* A [k][units] kernel in the file, read a block of rows at a time. */
typedef struct {
  QsWeightFile       *file;
  const QsTensorInfo *info;
  const float        *values;   /* a shared layer's kernel, read once; NULL: read from the file */
  gsize               row_size;
  const gsize        *keras_row; /* the kernel row of each engine row, or NULL: the same */
  GError             *error;
} KernelRows;

static bool
read_kernel_rows (void   *data,
                  size_t  row0,
                  size_t  rows,
                  float  *out)
{
  KernelRows *kr = data;

  if (kr->keras_row != NULL)
    {
      for (size_t r = 0; r < rows; r++)
        {
          gsize from = kr->keras_row[row0 + r] * kr->row_size;

          if (kr->values != NULL)
            memcpy (out + r * kr->row_size, kr->values + from, kr->row_size * sizeof (float));
          else if (!qs_weight_file_read_block (kr->file, kr->info, (guint64) from, kr->row_size,
                                               out + r * kr->row_size, &kr->error))
            return false;
        }
      return true;
    }
  if (kr->values != NULL)
    {
      memcpy (out, kr->values + row0 * kr->row_size, rows * kr->row_size * sizeof (float));
      return true;
    }
  return qs_weight_file_read_block (kr->file, kr->info, (guint64) row0 * kr->row_size, rows * kr->row_size,
                                    out, &kr->error);
}

/* Dense: on the last axis (a flattened vector, or each position of a map).
 * The kernel goes to the engine a block of rows at a time: a Dense
 * kernel can be most of a model (411 MB of VGG16's 553 MB), and read
 * whole it would be held twice while the engine packs it. */
static gboolean
build_dense (QsKerasBuild  *b,
             KerasNode     *node,
             GError       **error)
{
  int units = 0, h, w, c;
  QsActivationSpec spec;
  QsActivation activation;
  float max;
  g_autofree float *bias = NULL;
  g_autofree float *values = NULL;
  const char *kernel_path = NULL;
  int64_t kshape[2];
  KernelRows kernel = { 0 };
  g_autofree gsize *keras_row = NULL;
  const KerasNode *input;
  int dims[3];
  QsEngineStatus status;

  if (!require_one_input (node, error) || !parse_activation (b, node, "activation", &spec, error))
    return FALSE;
  if (int_member (node->config, "units", 0, &units) != SETTING_VALID)
    return bad_size (error, node->class_name, node->name, "units");
  input_shape (b, node, 0, &h, &w, &c);
  input = g_ptr_array_index (node->inputs, 0);
  value_dims (b, input, dims);
  if (input->rank == 4 && !axes_agree (input->axes, channels_last_axes, dims))
    return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
                 "Dense layer “%s” reads a map whose last axis is not its channels (a channels_first map); the engine "
                 "runs Dense on channels", node->name);
  /* A flattened (C, H, W) map: row k of the kernel reads Keras's element k. */
  if (input->rank == 2 && input->flat_permuted)
    {
      if ((gint64) input->flat_dims[0] * input->flat_dims[1] * input->flat_dims[2] != c)
        return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
                     "Dense layer “%s” reads a flattened channels_first map of another size", node->name);
      kernel.keras_row = keras_row = flat_keras_index (input);
    }
  node->flat_permuted = FALSE;
  kshape[0] = c;
  kshape[1] = units;
  if ((kernel.info = weight_info (b, node, "kernel", 2, kshape, TRUE, &kernel_path, error)) == NULL)
    return FALSE;
  if (is_shared (b, node) && (kernel.values = values = read_info (b, node, kernel.info, error)) == NULL)
    return FALSE;
  if (!read_bias (b, node, units, &bias, error))
    return FALSE;
  fuse_activation (&spec, &activation, &max);
  node->rank = input_rank (node);
  if (!set_inputs (b, node, error))
    return FALSE;
  kernel.file = b->file;
  kernel.row_size = (gsize) units;
  status = qs_engine_model_add_dense_rows (b->model, node->name, units, activation, max, read_kernel_rows,
                                           &kernel, bias);
  if (kernel.error != NULL)
    {
      g_propagate_prefixed_error (error, kernel.error, "layer “%s”: ", node->name);
      return FALSE;
    }
  return weighted_layer_added (b, node, status, kernel_path, &spec, error);
}

/* y = x * scale + shift per channel, computed in double. */
static gboolean
add_affine (QsKerasBuild  *b,
            KerasNode     *node,
            const double  *scale,
            const double  *shift,
            int            channels,
            GError       **error)
{
  g_autofree float *s = g_new (float, channels);
  g_autofree float *t = g_new (float, channels);

  for (int i = 0; i < channels; i++)
    if (!(fabs (scale[i]) <= FLT_MAX && fabs (shift[i]) <= FLT_MAX))
      return fail (error, QS_KERAS_MODEL_ERROR_WEIGHTS,
                   "%s layer “%s” computes a scale or shift that is not a finite float", node->class_name, node->name);
    else
      s[i] = (float) scale[i], t[i] = (float) shift[i];
  node->rank = input_rank (node);
  return set_inputs (b, node, error)
    && layer_added (b, node, qs_engine_model_add_affine (b->model, node->name, s, t), error);
}

/* BatchNormalization that cannot be folded: scale = gamma / sqrt (var + eps), shift = beta - mean * scale. */
static gboolean
build_batch_norm (QsKerasBuild  *b,
                  KerasNode     *node,
                  GError       **error)
{
  g_auto(BatchNormWeights) bn = { 0 };
  g_autofree double *scale = NULL;
  g_autofree double *shift = NULL;
  int h, w, c;

  if (!require_one_input (node, error))
    return FALSE;
  input_shape (b, node, 0, &h, &w, &c);
  if (!read_batch_norm (b, node, g_ptr_array_index (node->inputs, 0), c, &bn, error))
    return FALSE;
  scale = g_new (double, c);
  shift = g_new (double, c);
  for (int i = 0; i < c; i++)
    {
      double denominator = (double) bn.variance[i] + bn.epsilon;

      if (!(denominator > 0.0) || !isfinite (bn.mean[i]))
        return batch_norm_invalid (node, error);
      scale[i] = (bn.gamma != NULL ? bn.gamma[i] : 1.0) / sqrt (denominator);
      shift[i] = (bn.beta != NULL ? bn.beta[i] : 0.0) - bn.mean[i] * scale[i];
    }
  return add_affine (b, node, scale, shift, c, error);
}

/* LayerNormalization over the channels (ConvNeXt); no integer kernel, so
 * the integer path runs it in float. */
static gboolean
build_layer_norm (QsKerasBuild  *b,
                  KerasNode     *node,
                  GError       **error)
{
  g_auto(BatchNormWeights) ln = { 0 };
  int h, w, c;
  QsEngineStatus status;

  if (!require_one_input (node, error))
    return FALSE;
  if (bool_member (node->config, "rms_scaling", FALSE))
    return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
                 "LayerNormalization layer “%s” uses rms_scaling; the engine runs the mean-and-variance form",
                 node->name);
  input_shape (b, node, 0, &h, &w, &c);
  node->rank = input_rank (node);
  if (!read_normalization (b, node, g_ptr_array_index (node->inputs, 0), c, &ln, error) || !set_inputs (b, node, error))
    return FALSE;
  status = qs_engine_model_add_layer_norm (b->model, node->name, ln.gamma, ln.beta, (float) ln.epsilon);
  if (status == QS_ENGINE_INVALID_ARGUMENT)
    return fail (error, QS_KERAS_MODEL_ERROR_WEIGHTS,
                 "LayerNormalization layer “%s” has a gamma or beta that is not finite", node->name);
  return layer_added (b, node, status, error);
}

/* ConvNeXt's LayerScale (tf.keras applications): x * gamma per channel, an affine layer. */
static gboolean
build_layer_scale (QsKerasBuild  *b,
                   KerasNode     *node,
                   GError       **error)
{
  int h, w, c;
  int64_t shape[1];
  g_autofree float *gamma = NULL;
  g_autofree double *scale = NULL;
  g_autofree double *shift = NULL;

  if (!require_one_input (node, error))
    return FALSE;
  input_shape (b, node, 0, &h, &w, &c);
  shape[0] = c;
  if ((gamma = read_weight (b, node, "gamma", 1, shape, TRUE, NULL, error)) == NULL)
    return FALSE;
  scale = g_new (double, c);
  shift = g_new0 (double, c);
  for (int i = 0; i < c; i++)
    scale[i] = gamma[i];
  return add_affine (b, node, scale, shift, c, error);
}

/* Caffe's Scale layer as MMdnn's Keras emitter and Keras 1 ports of
 * Caffe's ResNets define it (a custom "Scale": gamma * x + beta on its
 * axis, center and scale as BatchNormalization's): an affine layer. */
static gboolean
build_caffe_scale (QsKerasBuild  *b,
                   KerasNode     *node,
                   GError       **error)
{
  int h, w, c;
  int64_t axis, shape[1];
  g_autofree float *gamma = NULL;
  g_autofree float *beta = NULL;
  g_autofree double *scale = NULL;
  g_autofree double *shift = NULL;

  if (!require_one_input (node, error))
    return FALSE;
  if (!axis_member (node->config, -1, &axis) || !is_channel_axis (axis, g_ptr_array_index (node->inputs, 0)))
    return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
                 "Scale layer “%s” scales another axis than the channels; the engine scales channels", node->name);
  input_shape (b, node, 0, &h, &w, &c);
  shape[0] = c;
  if (bool_member (node->config, "scale", TRUE)
      && (gamma = read_weight (b, node, "gamma", 1, shape, TRUE, NULL, error)) == NULL)
    return FALSE;
  if (bool_member (node->config, "center", TRUE)
      && (beta = read_weight (b, node, "beta", 1, shape, TRUE, NULL, error)) == NULL)
    return FALSE;
  scale = g_new (double, c);
  shift = g_new (double, c);
  for (int i = 0; i < c; i++)
    {
      scale[i] = gamma != NULL ? gamma[i] : 1.0;
      shift[i] = beta != NULL ? beta[i] : 0.0;
    }
  return add_affine (b, node, scale, shift, c, error);
}

/* PReLU (models converted from PyTorch or ONNX): its "alpha" weight is
 * the input's shape with the shared axes at 1 ((1, 1, C) with
 * shared_axes [1, 2], as nn.PReLU (C) converts; (1, 1, 1) for one slope).
 * The engine takes a slope per channel: a weight of any shape that
 * broadcasts to the input runs when it is the same at every position. */
static gboolean
build_prelu (QsKerasBuild  *b,
             KerasNode     *node,
             GError       **error)
{
  const QsTensorInfo *info;
  g_autofree float *alpha = NULL;
  g_autofree float *slopes = NULL;
  int h, w, c, dims[3];
  int n_dims;
  const int *axes;

  if (!require_one_input (node, error))
    return FALSE;
  axes = ((const KerasNode *) g_ptr_array_index (node->inputs, 0))->axes;

  input_shape (b, node, 0, &h, &w, &c);
  node->rank = input_rank (node);
  {
    int engine[3] = { h, w, c };

    /* In Keras's order: (C, H, W) for a channels_first map, whose alpha is (C, 1, 1). */
    for (int k = 0; k < 3; k++)
      dims[k] = node->rank == 4 ? engine[axes[k]] : engine[k];
  }
  /* A map (N, H, W, C) or a vector (N, C): the axes the weight broadcasts over. */
  n_dims = node->rank == 4 ? 3 : 1;
  if ((info = find_weight (b, node, "alpha")) == NULL)
    return fail (error, QS_KERAS_MODEL_ERROR_WEIGHTS, "layer “%s” has no “alpha” weight in the file", node->name);
  if (info->count != 1 && ((node->rank != 4 && node->rank != 2) || info->rank > n_dims))
    return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
                 "PReLU layer “%s” reads a rank-%d tensor; the engine runs PReLU on maps and vectors",
                 node->name, node->rank);
  for (int i = 0; info->count != 1 && i < info->rank; i++)
    {
      int64_t want = dims[3 - info->rank + i];

      if (info->shape[i] != 1 && info->shape[i] != want)
        {
          g_autofree char *have = dims_text (info->rank, info->shape);
          g_autofree char *input = shape_text (h, w, c);

          return fail (error, QS_KERAS_MODEL_ERROR_WEIGHTS,
                       "weight “alpha” of layer “%s” is %s, which does not broadcast to its %s input",
                       node->name, have, input);
        }
    }
  if ((alpha = read_info (b, node, info, error)) == NULL)
    return FALSE;
  slopes = g_new (float, c);
  /* Every position's slope, through the broadcast, against position 0's. */
  for (int y = 0; y < (n_dims == 3 ? h : 1); y++)
    for (int x = 0; x < (n_dims == 3 ? w : 1); x++)
      for (int ch = 0; ch < c; ch++)
        {
          int engine_at[3] = { y, x, ch };
          int at[3];
          guint64 index = 0;
          float slope;

          for (int k = 0; k < 3; k++)
            at[k] = node->rank == 4 ? engine_at[axes[k]] : engine_at[k];

          for (int i = 0; info->count != 1 && i < info->rank; i++)
            index = index * (guint64) info->shape[i] + (info->shape[i] == 1 ? 0 : (guint64) at[3 - info->rank + i]);
          slope = alpha[index];
          if (y == 0 && x == 0)
            slopes[ch] = slope;
          else if (slope != slopes[ch] && !(isnan (slope) && isnan (slopes[ch])))
            return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
                         "PReLU layer “%s” has a slope per position (its shared_axes leave out height or width); "
                         "the engine runs one slope per channel", node->name);
        }
  return set_inputs (b, node, error)
    && layer_added (b, node, qs_engine_model_add_prelu (b->model, node->name, slopes), error);
}

/* A number or a list of one per channel (Rescaling's scale and offset,
 * Normalization's mean and variance in its config). */
static gboolean
per_channel_member (JsonObject *config,
                    const char *name,
                    double      fallback,
                    int         channels,
                    double     *out)
{
  JsonNode *node = member (config, name);

  for (int i = 0; i < channels; i++)
    out[i] = fallback;
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (node_is_number (node))
    {
      for (int i = 0; i < channels; i++)
        out[i] = json_node_get_double (node);
      return TRUE;
    }
  if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *array = json_node_get_array (node);
      guint n = json_array_get_length (array);

      if (n != 1 && n != (guint) channels)
        return FALSE;
      for (int i = 0; i < channels; i++)
        {
          JsonNode *element = json_array_get_element (array, n == 1 ? 0 : (guint) i);

          if (!node_is_number (element))
            return FALSE;
          out[i] = json_node_get_double (element);
        }
      return TRUE;
    }
  return FALSE;
}

static gboolean
build_rescaling (QsKerasBuild  *b,
                 KerasNode     *node,
                 GError       **error)
{
  int h, w, c;
  g_autofree double *scale = NULL;
  g_autofree double *offset = NULL;

  if (!require_one_input (node, error))
    return FALSE;
  input_shape (b, node, 0, &h, &w, &c);
  scale = g_new (double, c);
  offset = g_new (double, c);
  if (!per_channel_member (node->config, "scale", 1.0, c, scale)
      || !per_channel_member (node->config, "offset", 0.0, c, offset))
    return fail (error, QS_KERAS_MODEL_ERROR_BAD_CONFIG,
                 "Rescaling layer “%s” has a scale or offset that is neither a number nor one per channel", node->name);
  return add_affine (b, node, scale, offset, c, error);
}

/* Normalization: (x - mean) / max (sqrt (variance), 1e-7), or with invert
 * mean + x * sqrt (variance); statistics from its weights, else its config. */
static gboolean
build_normalization (QsKerasBuild  *b,
                     KerasNode     *node,
                     GError       **error)
{
  int h, w, c;
  int64_t axis;
  g_autofree float *mean_w = NULL;
  g_autofree float *variance_w = NULL;
  g_autofree double *mean = NULL;
  g_autofree double *variance = NULL;
  g_autofree double *scale = NULL;
  g_autofree double *shift = NULL;
  gboolean invert = bool_member (node->config, "invert", FALSE);
  g_autoptr(GError) local = NULL;

  if (!require_one_input (node, error))
    return FALSE;
  input_shape (b, node, 0, &h, &w, &c);
  if (!axis_member (node->config, -1, &axis) || !is_channel_axis (axis, g_ptr_array_index (node->inputs, 0)))
    return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
                 "Normalization layer “%s” normalises other than the channel axis; the engine runs channel-axis "
                 "normalization only", node->name);
  mean = g_new (double, c);
  variance = g_new (double, c);
  scale = g_new (double, c);
  shift = g_new (double, c);
  mean_w = read_channel_weight (b, node, "mean", c, &local);
  if (local == NULL)
    variance_w = read_channel_weight (b, node, "variance", c, &local);
  if (local != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  if ((mean_w == NULL || variance_w == NULL)
      && (!per_channel_member (node->config, "mean", NAN, c, mean)
          || !per_channel_member (node->config, "variance", NAN, c, variance)))
    return fail (error, QS_KERAS_MODEL_ERROR_BAD_CONFIG,
                 "Normalization layer “%s” has a mean or variance that is neither a number nor one per channel",
                 node->name);
  for (int i = 0; i < c; i++)
    {
      double m = mean_w != NULL && variance_w != NULL ? mean_w[i] : mean[i];
      double v = mean_w != NULL && variance_w != NULL ? variance_w[i] : variance[i];
      double deviation = sqrt (v);

      if (!isfinite (m) || !(v >= 0.0) || !isfinite (v))
        return fail (error, QS_KERAS_MODEL_ERROR_WEIGHTS,
                     "Normalization layer “%s” has no mean and variance (in its weights or config), or one that is "
                     "not finite or negative", node->name);
      if (invert)
        scale[i] = MAX (deviation, 1e-7), shift[i] = m;
      else
        {
          scale[i] = 1.0 / MAX (deviation, 1e-7);
          shift[i] = -m * scale[i];
        }
    }
  return add_affine (b, node, scale, shift, c, error);
}

/* "(a, b, c)" for messages: a Keras shape after the batch, or a constant's. */
static char *
tuple_text (const int *dims,
            int        n)
{
  GString *text = g_string_new ("(");

  for (int i = 0; i < n; i++)
    g_string_append_printf (text, i > 0 ? ", %d" : "%d", dims[i]);
  if (n == 1)
    g_string_append_c (text, ',');
  g_string_append_c (text, ')');
  return g_string_free (text, FALSE);
}

/* Whether @node's constant operand is one value (FALSE) or one per
 * channel (TRUE) of the tensor it meets, broadcast as NumPy and
 * TensorFlow do: the shapes aligned at their last axes, each constant axis
 * 1 or the tensor's. The tensor's shape is its Keras shape in its own axis
 * order (KerasNode.axes), so (C, 1, 1) is per channel on a channels_first
 * map and (C,) or (1, 1, C) on a channels_last one, while (C,) on a
 * channels_first map would run along its width. The engine's affine layer
 * scales channels, so a constant that varies along another axis, or
 * would add axes or broadcast the tensor up, is refused. */
static gboolean
constant_is_per_channel (QsKerasBuild    *b,
                         const KerasNode *node,
                         gboolean        *per_channel,
                         GError         **error)
{
  const KerasNode *input = g_ptr_array_index (node->inputs, 0);
  int dims[3], shape[4] = { 0 }, rank = input->rank, k = node->constant_rank, channel = channel_axis (input);
  const char *why = NULL;

  *per_channel = FALSE;
  value_dims (b, input, dims);
  /* shape[0] is the batch; a vector keeps the engine's 1 x 1 x N as its N
   * elements, a rank 3 tensor (steps, features) as H * W steps. */
  if (rank == 4)
    for (int i = 0; i < 3; i++)
      shape[i + 1] = dims[input->axes[i]];
  else if (rank == 3)
    shape[1] = dims[0] * dims[1], shape[2] = dims[2];
  else if (rank == 2)
    shape[1] = dims[0] * dims[1] * dims[2];
  if (rank < 2 || rank > 4)
    why = k > 0 ? "its input's rank is not 2, 3 or 4" : NULL;
  else if (k > rank)
    why = "the constant has more axes than the tensor (the result would gain axes)";
  for (int i = 0; i < k && why == NULL; i++)
    {
      int axis = rank - k + i, size = node->constant_shape[i];

      if (size == 1)
        continue;
      if (axis == 0 || size != shape[axis])
        why = "the shapes do not broadcast to the tensor's";
      else if (axis != channel)
        why = "the constant varies along an axis other than the channels; the engine takes one value or one "
              "per channel";
      else
        *per_channel = TRUE;
    }
  if (why != NULL)
    {
      g_autofree char *tensor = tuple_text (shape + 1, CLAMP (rank - 1, 0, 3));
      g_autofree char *constant = tuple_text (node->constant_shape, MIN (k, MAX_CONSTANT_RANK));
      const char *kind = rank != 4 ? (rank == 2 ? "vector" : "tensor")
                         : channel == 1 ? "channels_first" : channel == 3 ? "channels_last" : "permuted";

      return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
                   "%s layer “%s” combines its %s %s input with a constant of shape %s: %s", node->class_name,
                   node->name, kind, tensor, constant, why);
    }
  return TRUE;
}

/* x op constant (or constant op x) as an affine layer; the constant is
 * one number or one per channel (constant_is_per_channel). */
static gboolean
build_scalar_op (QsKerasBuild  *b,
                 KerasNode     *node,
                 ScalarOp       op,
                 GError       **error)
{
  const KerasNode *input;
  int h, w, c;
  g_autofree double *scales = NULL;
  g_autofree double *shifts = NULL;
  g_autofree gsize *keras_index = NULL;
  gboolean per_channel;

  if (node->inputs->len != 1)
    return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
                 "%s layer “%s” combines a constant with %u tensors; the engine takes one", node->class_name,
                 node->name, node->inputs->len);
  input = g_ptr_array_index (node->inputs, 0);
  if (!constant_is_per_channel (b, node, &per_channel, error))
    return FALSE;
  input_shape (b, node, 0, &h, &w, &c);
  if (per_channel && (h != 1 || w != 1) && input->rank != 4)
    return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
                 "%s layer “%s” combines a %dx%dx%d map read as a vector with a constant per element; the engine "
                 "takes one value or one per channel", node->class_name, node->name, h, w, c);
  if (per_channel && (node->constant_values == NULL || node->constant_values->len != (guint) c))
    return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
                 "%s layer “%s” combines its %d-channel input with a constant of %u values; the engine takes one "
                 "value or one per channel", node->class_name, node->name, c,
                 node->constant_values != NULL ? node->constant_values->len : 1);
  /* A flattened channels_first map keeps PyTorch's element order while
   * the engine holds it as H x W x C: each engine element takes its
   * Keras element's value. */
  if (per_channel && input->rank == 2 && input->flat_permuted)
    {
      if ((gsize) input->flat_dims[0] * input->flat_dims[1] * input->flat_dims[2] != (gsize) c)
        return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
                     "%s layer “%s” reads a flattened map of another size than its own", node->class_name,
                     node->name);
      keras_index = flat_keras_index (input);
    }
  scales = g_new (double, c);
  shifts = g_new (double, c);
  for (int i = 0; i < c; i++)
    {
      gsize at = keras_index != NULL ? keras_index[i] : (gsize) i;
      double k = per_channel ? g_array_index (node->constant_values, double, at) : node->constant;
      double scale = 1.0, shift = 0.0;

      switch (op)
        {
        case OP_ADD:
          shift = k;
          break;
        case OP_SUBTRACT:
          scale = node->constant_first ? -1.0 : 1.0;
          shift = node->constant_first ? k : -k;
          break;
        case OP_MULTIPLY:
          scale = k;
          break;
        case OP_DIVIDE:
        default:
          if (node->constant_first || k == 0.0)
            return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
                         "%s layer “%s” divides %s; the engine divides a tensor by a nonzero constant",
                         node->class_name, node->name, node->constant_first ? "a constant by a tensor" : "by zero");
          scale = 1.0 / k;
          break;
        }
      if (!isfinite (k))
        return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED, "layer “%s” has a constant that is not finite",
                     node->name);
      scales[i] = scale, shifts[i] = shift;
    }
  return add_affine (b, node, scales, shifts, c, error);
}

/* Whether the merge's inputs fit: one shape (Concatenate: one height and
 * width), Multiply also a 1x1xC gate over HxWxC (squeeze-and-excitation). */
static gboolean
check_merge_shapes (QsKerasBuild     *b,
                    const KerasNode  *node,
                    QsLayerKind       kind,
                    GError          **error)
{
  int h0, w0, c0;

  input_shape (b, node, 0, &h0, &w0, &c0);
  for (guint i = 1; i < node->inputs->len; i++)
    {
      int h, w, c;
      gboolean fits;

      input_shape (b, node, i, &h, &w, &c);
      if (kind == QS_LAYER_CONCATENATE)
        fits = h == h0 && w == w0;
      else
        fits = (h == h0 && w == w0 && c == c0)
          || (kind == QS_LAYER_MULTIPLY && c == c0 && ((h == 1 && w == 1) || (h0 == 1 && w0 == 1)));
      if (!fits)
        {
          g_autofree char *first = shape_text (h0, w0, c0);
          g_autofree char *other = shape_text (h, w, c);
          const KerasNode *a = g_ptr_array_index (node->inputs, 0), *o = g_ptr_array_index (node->inputs, i);

          return fail (error, QS_KERAS_MODEL_ERROR_BAD_CONFIG,
                       "%s layer “%s” cannot merge its inputs: %s from “%s” and %s from “%s”%s",
                       node->class_name, node->name, first, a->name, other, o->name,
                       kind == QS_LAYER_CONCATENATE ? " (concatenated inputs need the same height and width)" : "");
        }
    }
  return TRUE;
}

/* Merged maps have their axes in one order, and merged vectors one element order. */
static gboolean
check_merge_layouts (const QsKerasBuild  *b,
                     KerasNode           *node,
                     GError             **error)
{
  const KerasNode *first = g_ptr_array_index (node->inputs, 0);
  int dims[3];

  value_dims (b, first, dims);
  for (guint i = 1; i < node->inputs->len; i++)
    {
      const KerasNode *other = g_ptr_array_index (node->inputs, i);
      gboolean same = first->rank != 4 || other->rank != 4 || axes_agree (first->axes, other->axes, dims);

      if (first->flat_permuted || other->flat_permuted)
        same = first->flat_permuted == other->flat_permuted && !g_str_equal (node->class_name, "Concatenate")
          && memcmp (first->axes, other->axes, sizeof first->axes) == 0
          && memcmp (first->flat_dims, other->flat_dims, sizeof first->flat_dims) == 0;
      if (!same)
        return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
                     "%s layer “%s” merges tensors whose axes are in different orders (channels_first and "
                     "channels_last); the engine cannot transpose them", node->class_name, node->name);
    }
  return TRUE;
}

static gboolean
build_merge (QsKerasBuild  *b,
             KerasNode     *node,
             QsLayerKind    kind,
             GError       **error)
{
  if (node->inputs->len < 2 || (kind == QS_LAYER_SUBTRACT && node->inputs->len != 2))
    return fail (error, QS_KERAS_MODEL_ERROR_BAD_CONFIG, "%s layer “%s” has %u inputs; it merges %s",
                 node->class_name, node->name, node->inputs->len, kind == QS_LAYER_SUBTRACT ? "two" : "two or more");
  if (kind == QS_LAYER_CONCATENATE)
    {
      /* tf.concat (a TFOpLambda "concat", nobuco's torch.cat) says its axis in the call. */
      JsonObject *settings = g_str_equal (node->class_name, "TFOpLambda") ? node->call_kwargs : node->config;
      int64_t axis = 0;

      if (!axis_member (settings, -1, &axis) || !is_channel_axis (axis, g_ptr_array_index (node->inputs, 0)))
        return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
                     "%s layer “%s” joins along axis %" G_GINT64_FORMAT "; the engine concatenates channels "
                     "(axis %d here)", node->class_name, node->name, axis,
                     channel_axis (g_ptr_array_index (node->inputs, 0)));
    }
  if (!check_merge_shapes (b, node, kind, error) || !check_merge_layouts (b, node, error))
    return FALSE;
  node->rank = input_rank (node);
  for (guint i = 1; i < node->inputs->len; i++)
    node->rank = MAX (node->rank, ((const KerasNode *) g_ptr_array_index (node->inputs, i))->rank);
  return set_inputs (b, node, error)
    && layer_added (b, node, qs_engine_model_add_merge (b->model, node->name, kind), error);
}

/* InceptionResNetV2's scaled residual, x + r * scale: Keras 3's and tf-keras
 * 2.13+'s CustomScaleLayer (serialized as "Custom>CustomScaleLayer" by the
 * legacy serializer), and tf.keras 2.0-2.11's Lambda.  A Lambda holds
 * Python bytecode, which Quantscope never runs: the one it takes is the
 * application's own, known by the module it was defined in, its only
 * argument "scale" and an output shape that is its inputs' shape.
 * Whether @node is one; its scale in @scale. */
static gboolean
scaled_residual_scale (const KerasNode *node,
                       double          *scale)
{
  JsonObject *arguments;
  const char *module;

  if (g_str_equal (node->class_name, "CustomScaleLayer") || g_str_equal (node->class_name, "Custom>CustomScaleLayer"))
    {
      *scale = number_member (node->config, "scale", NAN);   /* none: refused as not finite */
      return TRUE;
    }
  if (!g_str_equal (node->class_name, "Lambda"))
    return FALSE;
  arguments = object_member (node->config, "arguments");
  module = string_member (node->config, "module");
  *scale = number_member (arguments, "scale", NAN);
  return arguments != NULL && json_object_get_size (arguments) == 1 && node_is_number (member (arguments, "scale"))
    && module != NULL && g_str_has_suffix (module, "applications.inception_resnet_v2")
    && g_strcmp0 (string_member (node->config, "function_type"), "lambda") == 0;
}

/* Whether a Lambda's saved output shape, [H, W, C] without the batch axis, is @h x @w x @c (or not saved). */
static gboolean
lambda_shape_is (const KerasNode *node,
                 int              h,
                 int              w,
                 int              c)
{
  JsonArray *shape = array_member (node->config, "output_shape");
  int dims[3];

  if (!g_str_equal (node->class_name, "Lambda") || shape == NULL)
    return TRUE;
  if (json_array_get_length (shape) != 3)
    return FALSE;
  for (guint i = 0; i < 3; i++)
    if (!node_positive_int (json_array_get_element (shape, i), &dims[i]))
      return FALSE;
  return dims[0] == h && dims[1] == w && dims[2] == c;
}

/* x + r * scale as an affine layer "<name>/scale" on r (none for a scale of 1), then an Add. */
static gboolean
build_scaled_residual (QsKerasBuild  *b,
                       KerasNode     *node,
                       double         scale,
                       GError       **error)
{
  int h, w, c, values[2];
  QsEngineStatus status;

  if (node->inputs->len != 2 || node->has_constant)
    return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED, "%s layer “%s” takes %u inputs; it adds two",
                 node->class_name, node->name, node->inputs->len + (node->has_constant ? 1 : 0));
  if (!isfinite (scale) || fabs (scale) > FLT_MAX)
    return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED, "%s layer “%s” has a scale that is not a finite float",
                 node->class_name, node->name);
  if (!check_merge_shapes (b, node, QS_LAYER_ADD, error))
    return FALSE;
  input_shape (b, node, 0, &h, &w, &c);
  if (!lambda_shape_is (node, h, w, c))
    return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
                 "Lambda layer “%s” saves an output shape other than its inputs'; Quantscope does not run the "
                 "Python code of a Lambda", node->name);
  node->rank = input_rank (node);
  values[0] = ((const KerasNode *) g_ptr_array_index (node->inputs, 0))->value;
  values[1] = ((const KerasNode *) g_ptr_array_index (node->inputs, 1))->value;
  if (scale != 1.0)
    {
      g_autofree char *name = g_strconcat (node->name, "/scale", NULL);
      g_autofree float *scales = g_new (float, c);
      g_autofree float *shifts = g_new0 (float, c);

      for (int i = 0; i < c; i++)
        scales[i] = (float) scale;
      status = qs_engine_model_set_next_inputs (b->model, &values[1], 1);
      if (status == QS_ENGINE_OK)
        status = qs_engine_model_add_affine (b->model, name, scales, shifts);
      if (status != QS_ENGINE_OK)
        return engine_fail (error, status, node->name, node->class_name);
      values[1] = qs_engine_model_get_last_value (b->model);
    }
  status = qs_engine_model_set_next_inputs (b->model, values, 2);
  if (status == QS_ENGINE_OK)
    status = qs_engine_model_add_merge (b->model, node->name, QS_LAYER_ADD);
  return layer_added (b, node, status, error);
}

static gboolean build_bound (QsKerasBuild  *b,
                             KerasNode     *node,
                             ScalarOp       op,
                             GError       **error);

/* Add, Subtract, Multiply, Maximum, Minimum as Keras layers (merges), as
 * Keras 3 operations (a tensor and a number, or two tensors) and as
 * TFOpLambda functions. */
static gboolean
build_binary (QsKerasBuild  *b,
              KerasNode     *node,
              ScalarOp       op,
              GError       **error)
{
  /* Tensor over tensor has no integer kernel: the engine runs it in float. */
  static const QsLayerKind kinds[] = {
    QS_LAYER_ADD, QS_LAYER_SUBTRACT, QS_LAYER_MULTIPLY, QS_LAYER_DIVIDE, QS_LAYER_MAXIMUM, QS_LAYER_MINIMUM,
  };

  if (node->has_constant && (op == OP_MAXIMUM || op == OP_MINIMUM))
    return build_bound (b, node, op, error);
  if (node->has_constant)
    return build_scalar_op (b, node, op, error);
  return build_merge (b, node, kinds[op], error);
}

/* The arithmetic @node computes: an Add/Subtract/Multiply/Maximum/Minimum
 * layer or Keras 3 operation (TrueDivide, Divide too), or a TFOpLambda's
 * or TensorFlowOpLayer's function. */
static gboolean
binary_op_of (const KerasNode *node,
              ScalarOp        *op)
{
  static const struct {
    const char *name;
    ScalarOp    op;
  } classes[] = {
    { "Add", OP_ADD }, { "Subtract", OP_SUBTRACT }, { "Multiply", OP_MULTIPLY },
    { "TrueDivide", OP_DIVIDE }, { "Divide", OP_DIVIDE }, { "Maximum", OP_MAXIMUM }, { "Minimum", OP_MINIMUM },
  }, functions[] = {
    { "__operators__.add", OP_ADD }, { "math.add", OP_ADD }, { "__operators__.sub", OP_SUBTRACT },
    { "math.subtract", OP_SUBTRACT }, { "math.multiply", OP_MULTIPLY }, { "__operators__.mul", OP_MULTIPLY },
    { "math.truediv", OP_DIVIDE }, { "math.divide", OP_DIVIDE }, { "__operators__.truediv", OP_DIVIDE },
    { "math.maximum", OP_MAXIMUM }, { "math.minimum", OP_MINIMUM },
    /* TF 2.0-2.3's TensorFlowOpLayer names the graph operation */
    { "AddV2", OP_ADD }, { "Add", OP_ADD }, { "Sub", OP_SUBTRACT }, { "Mul", OP_MULTIPLY },
    { "RealDiv", OP_DIVIDE }, { "TrueDiv", OP_DIVIDE }, { "Maximum", OP_MAXIMUM }, { "Minimum", OP_MINIMUM },
  };
  const char *function;

  for (gsize i = 0; i < G_N_ELEMENTS (classes); i++)
    if (g_str_equal (node->class_name, classes[i].name))
      {
        *op = classes[i].op;
        return TRUE;
      }
  if (g_str_equal (node->class_name, "TensorFlowOpLayer"))
    function = string_member (object_member (node->config, "node_def"), "op");
  else if (g_str_equal (node->class_name, "TFOpLambda"))
    function = string_member (node->config, "function");
  else
    function = NULL;
  if (function == NULL)
    return FALSE;
  for (gsize i = 0; i < G_N_ELEMENTS (functions); i++)
    if (g_str_equal (function, functions[i].name))
      {
        *op = functions[i].op;
        return TRUE;
      }
  return FALSE;
}

/* The only reader of @node, when it has one and is not the output. */
static KerasNode *
only_reader (const QsKerasBuild *b,
             const KerasNode    *node)
{
  return node != b->output && node->consumers->len == 1 ? g_ptr_array_index (node->consumers, 0) : NULL;
}

/* Whether @node computes x * (1 / 6) or x / 6 of one tensor. */
static gboolean
is_sixth (const KerasNode *node)
{
  ScalarOp op;

  return node != NULL && node->has_constant && node->constant_values == NULL && !node->constant_first
    && node->inputs->len == 1
    && binary_op_of (node, &op)
    && ((op == OP_MULTIPLY && fabs (node->constant - 1.0 / 6.0) < 1e-6)
        || (op == OP_DIVIDE && node->constant == 6.0));
}

/* x + 3 -> ReLU(6) -> x * (1 / 6), the hard sigmoid tf.keras's MobileNetV3
 * writes with scalar operations, runs as one table activation, and with a
 * Multiply of x by it as one hard swish: one layer in place of three or
 * four, so int8 does not requantize between them. TRUE when @add starts
 * such a pattern and it was built. */
static gboolean
build_hard_pattern (QsKerasBuild  *b,
                    KerasNode     *add,
                    gboolean      *built,
                    GError       **error)
{
  KerasNode *relu, *sixth, *product, *last, *x;
  QsActivationSpec spec;
  ScalarOp op;
  float max;

  *built = FALSE;
  if (!add->has_constant || add->constant_values != NULL || add->constant_first || add->constant != 3.0
      || add->inputs->len != 1
      || !binary_op_of (add, &op) || op != OP_ADD
      || (relu = only_reader (b, add)) == NULL || !plain_relu_layer (b, relu, &max) || max != 6.0f
      || relu->inputs->len != 1 || !is_sixth (sixth = only_reader (b, relu)))
    return TRUE;
  x = g_ptr_array_index (add->inputs, 0);
  product = only_reader (b, sixth);
  last = sixth;
  qs_activation_spec_init (&spec, QS_ACTIVATION_HARD_SIGMOID);
  spec.slope = 1.0f / 6.0f;
  spec.offset = 0.5f;
  if (product != NULL && !product->has_constant && product->inputs->len == 2 && binary_op_of (product, &op)
      && op == OP_MULTIPLY
      && ((g_ptr_array_index (product->inputs, 0) == x && g_ptr_array_index (product->inputs, 1) == sixth)
          || (g_ptr_array_index (product->inputs, 0) == sixth && g_ptr_array_index (product->inputs, 1) == x)))
    {
      qs_activation_spec_init (&spec, QS_ACTIVATION_HARD_SWISH);
      last = product;
    }
  last->rank = x->rank;
  {
    int value = x->value;
    QsEngineStatus status = qs_engine_model_set_next_inputs (b->model, &value, 1);

    if (status != QS_ENGINE_OK)
      return engine_fail (error, status, last->name, last->class_name);
  }
  if (!layer_added (b, last, qs_engine_model_add_activation_spec (b->model, last->name, &spec), error))
    return FALSE;
  for (KerasNode *node = add; node != last; node = g_ptr_array_index (node->consumers, 0))
    {
      node->built = TRUE;
      node->value = last->value;
      node->rank = x->rank;
    }
  last->built = TRUE;
  *built = TRUE;
  return TRUE;
}

/* The constant of tf.maximum / tf.minimum @node (@op): one number, or a
 * constant broadcast as for add and multiply (constant_is_per_channel)
 * holding one value for every channel. The engine bounds every channel
 * by one value: a bound that differs by channel is refused. */
static gboolean
bound_constant (QsKerasBuild     *b,
                const KerasNode  *node,
                ScalarOp          op,
                double           *k,
                GError          **error)
{
  gboolean per_channel;

  if (node->inputs->len != 1)
    return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
                 "%s layer “%s” combines a constant with %u tensors; the engine takes one", node->class_name,
                 node->name, node->inputs->len);
  if (!constant_is_per_channel (b, node, &per_channel, error))
    return FALSE;
  *k = node->constant;
  for (guint i = 1; per_channel && node->constant_values != NULL && i < node->constant_values->len; i++)
    if (g_array_index (node->constant_values, double, i) != *k)
      return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
                   "%s layer “%s” takes the %s of its input and a constant that differs by channel; the engine "
                   "bounds every channel by one value", node->class_name, node->name,
                   op == OP_MAXIMUM ? "maximum" : "minimum");
  if (!(fabs (*k) <= FLT_MAX))
    return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED, "layer “%s” has a constant that is not finite",
                 node->name);
  return TRUE;
}

/* tf.maximum / tf.minimum of a tensor and a constant: max (x, 0) is a
 * ReLU (fused into the convolution before it, a clamp of codes in the
 * integer path), any other bound a clamp activation. A floor then a cap,
 * min (max (x, a), b), and a cap then a floor no higher, max (min (x, b),
 * a) with a <= b (tf.clip_by_value's order), are one layer, named after
 * the second: min (max (x, 0), 6) is a ReLU6, and int8 does not
 * requantize between the two. */
static gboolean
build_bound (QsKerasBuild  *b,
             KerasNode     *node,
             ScalarOp       op,
             GError       **error)
{
  KerasNode *x = g_ptr_array_index (node->inputs, 0), *next, *last = node;
  double k, lo = -INFINITY, hi = INFINITY;
  QsActivationSpec spec;
  ScalarOp next_op;
  int value;
  QsEngineStatus status;

  if (!bound_constant (b, node, op, &k, error))
    return FALSE;
  if (op == OP_MAXIMUM)
    lo = k;
  else
    hi = k;
  node->rank = x->rank;
  next = only_reader (b, node);
  if (next != NULL && !next->built && next->has_constant && next->inputs->len == 1 && binary_op_of (next, &next_op)
      && (next_op == OP_MAXIMUM || next_op == OP_MINIMUM) && next_op != op)
    {
      /* @next's constant is checked against @node's output: @x's shape and axes. */
      node->value = x->value;
      inherit_layout (next, node);
      next->rank = node->rank;
      if (!bound_constant (b, next, next_op, &k, error))
        return FALSE;
      if (next_op == OP_MINIMUM)
        hi = k, last = next;
      else if (k <= hi)
        lo = k, last = next;
    }
  if (lo == 0.0 && hi >= 0.0)
    qs_activation_spec_init (&spec, QS_ACTIVATION_RELU);
  else
    {
      qs_activation_spec_init (&spec, QS_ACTIVATION_CLAMP);
      spec.min_value = (float) lo;
    }
  /* The engine, like TensorFlow, compares in float32. */
  spec.max_value = (float) hi;
  value = x->value;
  status = qs_engine_model_set_next_inputs (b->model, &value, 1);
  if (status != QS_ENGINE_OK)
    return engine_fail (error, status, last->name, last->class_name);
  if (!layer_added (b, last, qs_engine_model_add_activation_spec (b->model, last->name, &spec), error))
    return FALSE;
  last->rank = x->rank;
  node->value = last->value;
  last->built = TRUE;
  return TRUE;
}

/* A TFOpLambda applying an activation function (tf.nn.relu, tf.math.sigmoid, ...), as
 * converters from other frameworks write them; FALSE for another function. */
static gboolean
tf_function_activation (const QsKerasBuild *b,
                        const KerasNode    *node,
                        QsActivationSpec   *spec)
{
  static const struct {
    const char *function;
    const char *activation;
  } functions[] = {
    { "nn.relu", "relu" }, { "nn.relu6", "relu6" }, { "math.sigmoid", "sigmoid" }, { "nn.sigmoid", "sigmoid" },
    { "math.tanh", "tanh" }, { "nn.tanh", "tanh" }, { "nn.silu", "swish" }, { "nn.swish", "swish" },
    { "nn.elu", "elu" }, { "nn.softmax", "softmax" }, { "math.softmax", "softmax" }, { "nn.gelu", "gelu" },
  };
  const char *function = string_member (node->config, "function");

  for (gsize i = 0; function != NULL && i < G_N_ELEMENTS (functions); i++)
    if (g_str_equal (function, functions[i].function))
      return activation_from_name (b, functions[i].activation, spec);
  /* tf.clip_by_value (x, 0, cap): nobuco's nn.ReLU6 and hard sigmoid
   * (PyTorch's Hardtanh (0, 6), clip (x / 6 + 1 / 2, 0, 1)), a capped
   * ReLU; with another floor (Hardtanh's default -1, 1) a clamp. TF
   * computes max (min (x, cap), floor), the clamp's value where floor <= cap. */
  if (function != NULL && (g_str_equal (function, "clip_by_value") || g_str_equal (function, "compat.v1.clip_by_value")))
    {
      double floor = number_member (node->call_kwargs, "clip_value_min", NAN);
      double cap = number_member (node->call_kwargs, "clip_value_max", NAN);

      if (!(floor <= cap) || !(floor <= FLT_MAX) || !(cap >= -FLT_MAX))
        return FALSE;
      qs_activation_spec_init (spec, floor == 0.0 ? QS_ACTIVATION_RELU : QS_ACTIVATION_CLAMP);
      spec->max_value = cap <= FLT_MAX ? (float) cap : INFINITY;
      if (floor != 0.0)
        spec->min_value = floor >= -FLT_MAX ? (float) floor : -INFINITY;
      return TRUE;
    }
  return FALSE;
}

/* The keyword arguments of a TFOpLambda the engine cannot honour: tf.nn.gelu's tanh
 * approximation, tf.nn.silu's beta, a softmax over another axis. NULL when it runs as the
 * function's default. */
static const char *
unsupported_function_kwargs (const KerasNode        *node,
                             const QsActivationSpec *spec)
{
  int64_t axis = -1;

  if (spec->kind == QS_ACTIVATION_GELU && bool_member (node->call_kwargs, "approximate", FALSE))
    return "the tanh approximation of gelu";
  /* nobuco writes tf.nn.silu (x, beta=1.0); another beta is x * sigmoid (beta x). */
  if (spec->kind == QS_ACTIVATION_SWISH && number_member (node->call_kwargs, "beta", 1.0) != 1.0)
    return "swish with a beta other than 1";
  if (spec->kind == QS_ACTIVATION_SOFTMAX && member (node->call_kwargs, "axis") != NULL
      && (!qs_json_node_get_int (member (node->call_kwargs, "axis"), &axis) || !is_channel_axis (axis, node)))
    return "a softmax over another axis than the channels";
  return NULL;
}

/* tf.math.reduce_mean / reduce_max over the height and width of a map:
 * global pooling. The axes are the map's own: [1, 2] (or [-3, -2]) of a
 * channels_last map, [2, 3] (or [-2, -1]) of a channels_first one. */
static gboolean
is_spatial_reduction (const KerasNode *node,
                      gboolean        *max)
{
  const char *function = string_member (node->config, "function");
  const KerasNode *input = g_ptr_array_index (node->inputs, 0);
  JsonArray *axis = array_member (node->call_kwargs, "axis");
  int64_t a[2];
  int engine[2];

  if (function == NULL || axis == NULL || json_array_get_length (axis) != 2 || input->rank != 4)
    return FALSE;
  for (int i = 0; i < 2; i++)
    {
      if (!qs_json_node_get_int (json_array_get_element (axis, (guint) i), &a[i]))
        return FALSE;
      if (a[i] < 0)
        a[i] += 4;
      if (a[i] < 1 || a[i] > 3)
        return FALSE;
      engine[i] = input->axes[a[i] - 1];
    }
  *max = g_str_equal (function, "math.reduce_max");
  return (*max || g_str_equal (function, "math.reduce_mean")) && engine[0] != engine[1] && engine[0] != 2
    && engine[1] != 2;
}

/* ---- Permute, transposes and converters' shape Lambdas ------------------------------------- */

/* A new Keras order of the same values: @perm[k] is the input axis (1 after
 * the batch) of output axis k + 1. A map is relabelled (no engine layer);
 * other tensors take only the identity. */
static gboolean
permute_axes (KerasNode      *node,
              const int64_t  *perm,
              guint           n,
              GError        **error)
{
  const KerasNode *input = g_ptr_array_index (node->inputs, 0);
  gboolean seen[3] = { FALSE, FALSE, FALSE };
  gboolean identity = TRUE;

  if (n != (guint) input->rank - 1 || n > 3)
    return fail (error, QS_KERAS_MODEL_ERROR_BAD_CONFIG, "%s layer “%s” permutes %u axes of a rank-%d tensor",
                 node->class_name, node->name, n, input->rank);
  for (guint k = 0; k < n; k++)
    {
      if (perm[k] < 1 || perm[k] > (int64_t) n || seen[perm[k] - 1])
        return fail (error, QS_KERAS_MODEL_ERROR_BAD_CONFIG, "%s layer “%s” has an invalid permutation",
                     node->class_name, node->name);
      seen[perm[k] - 1] = TRUE;
      identity = identity && perm[k] == (int64_t) k + 1;
    }
  if (input->rank == 4)
    for (guint k = 0; k < 3; k++)
      node->axes[k] = input->axes[perm[k] - 1];
  else if (!identity)
    return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
                 "%s layer “%s” permutes the axes of a rank-%d tensor; the engine permutes maps (rank 4) only",
                 node->class_name, node->name, input->rank);
  node->rank = input->rank;
  node->value = input->value;
  return TRUE;
}

/* Permute(dims): Keras's own, from 1. */
static gboolean
build_permute (QsKerasBuild  *b,
               KerasNode     *node,
               GError       **error)
{
  JsonArray *dims = array_member (node->config, "dims");
  int64_t perm[3];
  guint n = dims != NULL ? json_array_get_length (dims) : 0;

  (void) b;
  if (!require_one_input (node, error))
    return FALSE;
  if (n < 1 || n > 3)
    return fail (error, QS_KERAS_MODEL_ERROR_BAD_CONFIG, "Permute layer “%s” has no valid dims", node->name);
  for (guint k = 0; k < n; k++)
    if (!qs_json_node_get_int (json_array_get_element (dims, k), &perm[k]))
      return fail (error, QS_KERAS_MODEL_ERROR_BAD_CONFIG, "Permute layer “%s” has no valid dims", node->name);
  return permute_axes (node, perm, n, error);
}

/* tf.transpose (a TFOpLambda "compat.v1.transpose", as nobuco and hand
 * code write it), whose perm keeps the batch first. FALSE without an error
 * when @node is another function. */
static gboolean
tf_transpose (KerasNode  *node,
              gboolean   *built,
              GError    **error)
{
  const char *function = string_member (node->config, "function");
  JsonArray *perm_array = array_member (node->call_kwargs, "perm");
  int64_t perm[4];
  guint n = perm_array != NULL ? json_array_get_length (perm_array) : 0;

  *built = FALSE;
  if (function == NULL || (!g_str_equal (function, "compat.v1.transpose") && !g_str_equal (function, "transpose")
                           && !g_str_equal (function, "compat.v1.transpose_v2")))
    return TRUE;
  *built = TRUE;
  if (n < 2 || n > 4)
    return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
                 "layer “%s” transposes without a perm of 2 to 4 axes, which the engine does not run", node->name);
  for (guint k = 0; k < n; k++)
    if (!qs_json_node_get_int (json_array_get_element (perm_array, k), &perm[k]))
      return fail (error, QS_KERAS_MODEL_ERROR_BAD_CONFIG, "layer “%s” has an invalid perm", node->name);
  if (perm[0] != 0)
    return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
                 "layer “%s” moves the batch axis, which the engine does not run", node->name);
  return permute_axes (node, perm + 1, n - 1, error);
}

/* Whether every reader of @node is a MaxPooling2D. */
static gboolean
only_max_pooled (const KerasNode *node)
{
  for (guint i = 0; i < node->consumers->len; i++)
    {
      const KerasNode *reader = g_ptr_array_index (node->consumers, i);

      if (!g_str_equal (reader->class_name, "MaxPooling2D") && !g_str_equal (reader->class_name, "MaxPool2D"))
        return FALSE;
    }
  return node->consumers->len > 0;
}

/* tf.pad (TFOpLambda "compat.v1.pad", as nobuco writes PyTorch's padded
 * max pooling) of height and width: a padding layer. The engine pads
 * with zeros; nobuco pads with -inf before a max pooling, which is the
 * same when the map padded is a ReLU's (no value below 0, and every
 * window holds one of them). FALSE without an error for another function. */
static gboolean
tf_pad (QsKerasBuild  *b,
        KerasNode     *node,
        gboolean      *built,
        GError       **error)
{
  const char *function = string_member (node->config, "function");
  const char *mode = string_member (node->call_kwargs, "mode");
  JsonArray *paddings = array_member (node->call_kwargs, "paddings");
  const KerasNode *input = g_ptr_array_index (node->inputs, 0);
  double fill = number_member (node->call_kwargs, "constant_values", 0.0);
  int64_t amount[4][2];
  int engine[3][2] = { { 0, 0 }, { 0, 0 }, { 0, 0 } };
  float max;

  *built = FALSE;
  if (function == NULL || (!g_str_equal (function, "compat.v1.pad") && !g_str_equal (function, "pad")))
    return TRUE;
  *built = TRUE;
  if (input->rank != 4 || paddings == NULL || json_array_get_length (paddings) != 4)
    return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
                 "layer “%s” pads a tensor other than a map, which the engine does not run", node->name);
  for (guint k = 0; k < 4; k++)
    {
      JsonArray *pair = NULL;

      if (!qs_json_node_get_array (json_array_get_element (paddings, k), &pair) || pair == NULL
          || json_array_get_length (pair) != 2
          || !qs_json_node_get_int (json_array_get_element (pair, 0), &amount[k][0])
          || !qs_json_node_get_int (json_array_get_element (pair, 1), &amount[k][1])
          || amount[k][0] < 0 || amount[k][1] < 0 || amount[k][0] > INT_MAX || amount[k][1] > INT_MAX)
        return fail (error, QS_KERAS_MODEL_ERROR_BAD_CONFIG, "layer “%s” has invalid paddings", node->name);
      if (k > 0)
        engine[input->axes[k - 1]][0] = (int) amount[k][0], engine[input->axes[k - 1]][1] = (int) amount[k][1];
    }
  if (amount[0][0] != 0 || amount[0][1] != 0 || engine[2][0] != 0 || engine[2][1] != 0
      || (mode != NULL && g_ascii_strcasecmp (mode, "CONSTANT") != 0))
    return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
                 "layer “%s” pads other than height and width with a constant, which the engine does not run",
                 node->name);
  if (fill != 0.0 && !(isinf (fill) && fill < 0.0 && plain_relu_layer (b, input, &max) && only_max_pooled (node)))
    return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
                 "layer “%s” pads with %g; the engine pads with zeros (and takes -inf before a max pooling of a "
                 "ReLU's output)", node->name, fill);
  return set_inputs (b, node, error)
    && layer_added (b, node, qs_engine_model_add_pad (b->model, node->name, FALSE, engine[0][0], engine[0][1],
                                                      engine[1][0], engine[1][1]), error);
}

/* Whether the Python bytecode of Lambda @node (Keras 2's func_dump: base64
 * of marshal, the first element of "function") names @symbol. */
static gboolean
lambda_code_mentions (const KerasNode *node,
                      const char      *symbol)
{
  JsonArray *function = array_member (node->config, "function");
  const char *text;
  g_autofree guchar *code = NULL;
  gsize length = 0;

  if (function == NULL || json_array_get_length (function) < 1
      || !qs_json_node_get_string (json_array_get_element (function, 0), &text) || text == NULL)
    return FALSE;
  code = g_base64_decode (text, &length);
  for (gsize i = 0; code != NULL && i + strlen (symbol) <= length; i++)
    if (memcmp (code + i, symbol, strlen (symbol)) == 0)
      return TRUE;
  return FALSE;
}

/* classification_models' (qubvel) SE blocks: Lambda (expand_dims,
 * arguments={"channels_axis": 3 or 1}) after GlobalAveragePooling2D,
 * x[:, None, None, :] or x[:, :, None, None]: (C) to a 1x1xC map. */
static gboolean
classification_models_lambda (KerasNode  *node,
                              const char *module,
                              gboolean   *built)
{
  JsonObject *arguments = object_member (node->config, "arguments");
  const KerasNode *input = g_ptr_array_index (node->inputs, 0);
  int64_t axis = 0;

  if (!g_str_equal (module, "classification_models.models._common_blocks") || arguments == NULL
      || json_object_get_size (arguments) != 1
      || !qs_json_node_get_int (member (arguments, "channels_axis"), &axis) || (axis != 1 && axis != 3)
      || !lambda_code_mentions (node, "expand_dims") || input->rank != 2)
    return FALSE;
  *built = TRUE;
  node->rank = 4;
  node->value = input->value;
  memcpy (node->axes, axis == 1 ? channels_first_axes : channels_last_axes, sizeof node->axes);
  return TRUE;
}

/* Converters' and model zoos' Lambdas that only reshape, and
 * onnx2keras's softmax and clip. onnx2keras's: after GlobalAveragePool,
 * "<name>_EXPAND1" and "_EXPAND2" (keras.backend.expand_dims, twice: (C)
 * to (C, 1, 1)); before a flatten in its channels_last mode, "<name>_CHW"
 * (tf.transpose (x, [0, 3, 1, 2])). Quantscope never runs Python: it knows these by the module that
 * defined them, their name or arguments, and the function their code
 * calls. FALSE without an error for any other Lambda. */
static gboolean
shape_lambda (QsKerasBuild  *b,
              KerasNode     *node,
              gboolean      *built,
              GError       **error)
{
  const char *module = string_member (node->config, "module");
  const KerasNode *input;
  double floor, cap;

  *built = FALSE;
  if (!g_str_equal (node->class_name, "Lambda") || module == NULL
      || g_strcmp0 (string_member (node->config, "function_type"), "lambda") != 0 || node->inputs->len != 1
      || node->has_constant)
    return TRUE;
  if (is_onnx2keras_softmax (node))
    {
      JsonArray *defaults = NULL;
      int64_t axis = -1;
      QsActivationSpec spec;

      (void) qs_json_node_get_array (qs_json_array_element (array_member (node->config, "function"), 1), &defaults);
      (void) qs_json_node_get_int (json_array_get_element (defaults, 0), &axis);
      *built = TRUE;
      input = g_ptr_array_index (node->inputs, 0);
      node->rank = input->rank;
      if (!is_channel_axis (axis, input))
        return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
                     "layer “%s” is a softmax over axis %" G_GINT64_FORMAT ", not the channels; the engine runs "
                     "softmax over channels", node->name, axis);
      if (node->drop_softmax)
        {
          node->value = input->value;
          return TRUE;
        }
      qs_activation_spec_init (&spec, QS_ACTIVATION_SOFTMAX);
      return set_inputs (b, node, error)
        && layer_added (b, node, qs_engine_model_add_activation_spec (b->model, node->name, &spec), error);
    }
  if (is_onnx2keras_clip (node, &floor, &cap))
    {
      QsActivationSpec spec;

      *built = TRUE;
      if (!(floor <= FLT_MAX) || !(cap >= -FLT_MAX))
        return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED, "layer “%s” clips to a range beyond float32's",
                     node->name);
      qs_activation_spec_init (&spec, floor == 0.0 ? QS_ACTIVATION_RELU : QS_ACTIVATION_CLAMP);
      spec.max_value = cap <= FLT_MAX ? (float) cap : INFINITY;
      if (floor != 0.0)
        spec.min_value = floor >= -FLT_MAX ? (float) floor : -INFINITY;
      node->rank = input_rank (node);
      return set_inputs (b, node, error)
        && layer_added (b, node, qs_engine_model_add_activation_spec (b->model, node->name, &spec), error);
    }
  if (classification_models_lambda (node, module, built) || !g_str_has_prefix (module, "onnx2keras."))
    return TRUE;
  input = g_ptr_array_index (node->inputs, 0);
  if ((g_str_has_suffix (node->name, "_EXPAND1") || g_str_has_suffix (node->name, "_EXPAND2"))
      && lambda_code_mentions (node, "expand_dims") && (input->rank == 2 || input->rank == 3))
    {
      /* (C) to (C, 1) to (C, 1, 1): the engine's 1x1xC value throughout. */
      *built = TRUE;
      node->rank = input->rank + 1;
      node->value = input->value;
      if (node->rank == 4)
        memcpy (node->axes, channels_first_axes, sizeof node->axes);
      return TRUE;
    }
  if (g_str_has_suffix (node->name, "_CHW") && lambda_code_mentions (node, "transpose") && input->rank == 4)
    {
      static const int64_t to_chw[3] = { 3, 1, 2 };

      *built = TRUE;
      return permute_axes (node, to_chw, 3, error);
    }
  return TRUE;
}

static gboolean tf_reshape (QsKerasBuild  *b,
                            KerasNode     *node,
                            gboolean      *built,
                            GError       **error);

static gboolean tf_pool (QsKerasBuild  *b,
                         KerasNode     *node,
                         gboolean      *built,
                         GError       **error);

static gboolean build_global_pool (QsKerasBuild  *b,
                                   KerasNode     *node,
                                   gboolean       max,
                                   GError       **error);

/* tf.math.negative (-x, as tf.keras writes a Keras tensor's unary minus,
 * nobuco's torch.neg): an affine layer scaling every channel by -1. */
static gboolean
build_negative (QsKerasBuild  *b,
                KerasNode     *node,
                GError       **error)
{
  int h, w, c;
  g_autofree double *scales = NULL;
  g_autofree double *shifts = NULL;

  input_shape (b, node, 0, &h, &w, &c);
  scales = g_new (double, c);
  shifts = g_new0 (double, c);
  for (int i = 0; i < c; i++)
    scales[i] = -1.0;
  return add_affine (b, node, scales, shifts, c, error);
}

/* The arithmetic layers: merges, or an affine layer for a constant operand. */
static gboolean
build_arithmetic (QsKerasBuild  *b,
                  KerasNode     *node,
                  GError       **error)
{
  ScalarOp op;
  gboolean built, max;
  QsActivationSpec spec;

  if (g_str_equal (node->class_name, "TFOpLambda") && !node->has_constant && node->inputs->len == 1)
    {
      const char *refused;

      node->rank = input_rank (node);
      if (!tf_transpose (node, &built, error) || (!built && !tf_pad (b, node, &built, error))
          || (!built && !tf_reshape (b, node, &built, error)) || (!built && !tf_pool (b, node, &built, error)))
        return FALSE;
      if (built)
        return TRUE;
      if (tf_function_activation (b, node, &spec))
        {
          if ((refused = unsupported_function_kwargs (node, &spec)) != NULL)
            return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED, "layer “%s” computes %s, which the engine does not run",
                         node->name, refused);
          if (spec.kind == QS_ACTIVATION_SOFTMAX && node->drop_softmax)
            {
              node->value = ((const KerasNode *) g_ptr_array_index (node->inputs, 0))->value;
              return TRUE;
            }
          return set_inputs (b, node, error)
            && layer_added (b, node, qs_engine_model_add_activation_spec (b->model, node->name, &spec), error);
        }
      if (is_spatial_reduction (node, &max))
        {
          if (!build_global_pool (b, node, max, error))
            return FALSE;
          node->rank = bool_member (node->call_kwargs, "keepdims", FALSE) ? input_rank (node) : 2;
          return TRUE;
        }
      if (g_strcmp0 (string_member (node->config, "function"), "math.negative") == 0)
        return build_negative (b, node, error);
    }
  /* tf.concat ([a, b, ...], axis): nobuco's torch.cat (Inception, GoogLeNet, DenseNet). */
  if (g_str_equal (node->class_name, "TFOpLambda") && !node->has_constant && node->inputs->len >= 2
      && g_strcmp0 (string_member (node->config, "function"), "concat") == 0)
    return build_merge (b, node, QS_LAYER_CONCATENATE, error);
  if (!binary_op_of (node, &op))
    {
      const char *function = string_member (node->config, "function");

      return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED_LAYER,
                   "layer “%s” is a %s computing tf.%s, which the engine does not run (it runs add, subtract, "
                   "multiply, truediv, maximum and minimum by a constant and of tensors, negative, clip_by_value, "
                   "concat of channels, activation functions, and reduce_mean and reduce_max over height and "
                   "width)",
                   node->name, node->class_name, function != NULL ? function : "?");
    }
  if (!build_hard_pattern (b, node, &built, error))
    return FALSE;
  return built || build_binary (b, node, op, error);
}

/* ZeroPadding2D's padding or Cropping2D's cropping: n, [h, w] or [[top, bottom], [left, right]]. */
static gboolean
build_pad (QsKerasBuild  *b,
           KerasNode     *node,
           gboolean       crop,
           GError       **error)
{
  const char *setting = crop ? "cropping" : "padding";
  JsonNode *value = member (node->config, setting);
  int amounts[4] = { 1, 1, 1, 1 };  /* Keras's default: one of each */
  gboolean valid = TRUE;

  if (!require_one_input (node, error) || !check_layout (b, node, error))
    return FALSE;
  if (crop)
    amounts[0] = amounts[1] = amounts[2] = amounts[3] = 0;
  if (value != NULL && JSON_NODE_HOLDS_VALUE (value))
    {
      valid = node_nonnegative_int (value, &amounts[0]);
      amounts[1] = amounts[2] = amounts[3] = amounts[0];
    }
  else if (value != NULL && JSON_NODE_HOLDS_ARRAY (value))
    {
      JsonArray *pair = json_node_get_array (value);

      valid = json_array_get_length (pair) == 2;
      for (guint axis = 0; valid && axis < 2; axis++)
        {
          JsonNode *part = json_array_get_element (pair, axis);

          if (JSON_NODE_HOLDS_ARRAY (part) && json_array_get_length (json_node_get_array (part)) == 2)
            valid = node_nonnegative_int (json_array_get_element (json_node_get_array (part), 0), &amounts[2 * axis])
              && node_nonnegative_int (json_array_get_element (json_node_get_array (part), 1), &amounts[2 * axis + 1]);
          else
            {
              valid = node_nonnegative_int (part, &amounts[2 * axis]);
              amounts[2 * axis + 1] = amounts[2 * axis];
            }
        }
    }
  else if (value != NULL && !JSON_NODE_HOLDS_NULL (value))
    valid = FALSE;
  if (!valid)
    return fail (error, QS_KERAS_MODEL_ERROR_BAD_CONFIG,
                 "%s layer “%s” has an invalid %s (integers from 0 below 2^31: n, [rows, columns] or "
                 "[[top, bottom], [left, right]])", node->class_name, node->name, setting);
  node->rank = input_rank (node);
  return set_inputs (b, node, error)
    && layer_added (b, node, qs_engine_model_add_pad (b->model, node->name, crop, amounts[0], amounts[1],
                                                      amounts[2], amounts[3]), error);
}

static gboolean
build_pool (QsKerasBuild  *b,
            KerasNode     *node,
            QsLayerKind    kind,
            GError       **error)
{
  QsConvParams p = { 0 };

  if (!require_one_input (node, error) || !check_layout (b, node, error)
      || !parse_padding (node->config, node->name, node->class_name, &p.padding, error))
    return FALSE;
  p.kernel_h = p.kernel_w = 2;
  if (pair_member (node->config, "pool_size", &p.kernel_h, &p.kernel_w) == SETTING_INVALID)
    return bad_size (error, node->class_name, node->name, "pool_size");
  /* Keras: strides default to the pool size. */
  p.stride_h = p.kernel_h;
  p.stride_w = p.kernel_w;
  if (pair_member (node->config, "strides", &p.stride_h, &p.stride_w) == SETTING_INVALID)
    return bad_size (error, node->class_name, node->name, "strides");
  node->rank = input_rank (node);
  return set_inputs (b, node, error)
    && layer_added (b, node, qs_engine_model_add_pool (b->model, node->name, kind, &p), error);
}

/* tf.nn's ksize or strides: n, [n], [h, w] or NHWC's [1, h, w, 1]. */
static gboolean
nn_window_pair (JsonNode *node,
                int      *h,
                int      *w)
{
  JsonArray *list;
  guint n;
  int one;

  if (node != NULL && JSON_NODE_HOLDS_VALUE (node))
    {
      if (!node_positive_int (node, h))
        return FALSE;
      *w = *h;
      return TRUE;
    }
  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return FALSE;
  list = json_node_get_array (node);
  n = json_array_get_length (list);
  if (n == 1 || n == 2)
    {
      if (!node_positive_int (json_array_get_element (list, 0), h))
        return FALSE;
      *w = *h;
      return n == 1 || node_positive_int (json_array_get_element (list, 1), w);
    }
  return n == 4 && node_positive_int (json_array_get_element (list, 0), &one) && one == 1
    && node_positive_int (json_array_get_element (list, 3), &one) && one == 1
    && node_positive_int (json_array_get_element (list, 1), h) && node_positive_int (json_array_get_element (list, 2), w);
}

/* tf.nn.max_pool2d / avg_pool2d (TFOpLambda "nn.max_pool2d", ...) of a
 * channels_last map, as hand-written tf.keras code calls them: a pooling
 * layer. TensorFlow's average over "SAME" padding counts only the valid
 * pixels, as the engine's does. FALSE without an error for another function. */
static gboolean
tf_pool (QsKerasBuild  *b,
         KerasNode     *node,
         gboolean      *built,
         GError       **error)
{
  const char *function = string_member (node->config, "function");
  const char *padding = string_member (node->call_kwargs, "padding");
  const char *format = string_member (node->call_kwargs, "data_format");
  const KerasNode *input = g_ptr_array_index (node->inputs, 0);
  QsConvParams p = { 0 };
  gboolean max;

  *built = FALSE;
  if (function == NULL)
    return TRUE;
  max = g_str_equal (function, "nn.max_pool2d") || g_str_equal (function, "nn.max_pool");
  if (!max && !g_str_equal (function, "nn.avg_pool2d") && !g_str_equal (function, "nn.avg_pool"))
    return TRUE;
  *built = TRUE;
  if (input->rank != 4 || memcmp (input->axes, channels_last_axes, sizeof input->axes) != 0
      || (format != NULL && !g_str_equal (format, "NHWC")))
    return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
                 "layer “%s” pools a tensor other than a channels_last (NHWC) map, which the engine does not run",
                 node->name);
  if (!nn_window_pair (member (node->call_kwargs, "ksize"), &p.kernel_h, &p.kernel_w))
    return bad_size (error, node->class_name, node->name, "ksize");
  if (!nn_window_pair (member (node->call_kwargs, "strides"), &p.stride_h, &p.stride_w))
    return bad_size (error, node->class_name, node->name, "strides");
  if (padding != NULL && g_str_equal (padding, "VALID"))
    p.padding = QS_PADDING_VALID;
  else if (padding != NULL && g_str_equal (padding, "SAME"))
    p.padding = QS_PADDING_SAME;
  else
    return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
                 "layer “%s” pools with a padding other than \"VALID\" or \"SAME\", which the engine does not run",
                 node->name);
  node->rank = 4;
  return set_inputs (b, node, error)
    && layer_added (b, node, qs_engine_model_add_pool (b->model, node->name,
                                                       max ? QS_LAYER_MAX_POOL : QS_LAYER_AVERAGE_POOL, &p), error);
}

static gboolean
build_global_pool (QsKerasBuild  *b,
                   KerasNode     *node,
                   gboolean       max,
                   GError       **error)
{
  if (!require_one_input (node, error) || !check_layout (b, node, error))
    return FALSE;
  /* keepdims only changes the Keras rank: the engine's value is 1x1xC either way. */
  node->rank = bool_member (node->config, "keepdims", FALSE) ? input_rank (node) : 2;
  return set_inputs (b, node, error)
    && layer_added (b, node, max ? qs_engine_model_add_global_max_pool (b->model, node->name)
                                 : qs_engine_model_add_global_average_pool (b->model, node->name), error);
}

/* Flatten: Keras's own moves a channels_first map's channels last first,
 * so only a Flatten told channels_last of a (C, H, W) map (or of a
 * Permute's output) flattens in another order than the engine's. */
static gboolean
build_flatten (QsKerasBuild  *b,
               KerasNode     *node,
               GError       **error)
{
  const KerasNode *input;
  int format = layer_format (node->config);

  if (!require_one_input (node, error))
    return FALSE;
  input = g_ptr_array_index (node->inputs, 0);
  if (format == 2)
    return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
                 "Flatten layer “%s” has data_format “%s”; the engine runs channels_last and channels_first",
                 node->name, string_member (node->config, "data_format"));
  if (input->rank == 4)
    {
      int dims[3];

      value_dims (b, input, dims);
      /* Keras 1's Flatten has no data_format: it flattens in the tensor's own order. */
      if (format == 1 || (format < 0 && b->channels_first && !b->keras1))
        {
          int axes[3] = { input->axes[1], input->axes[2], input->axes[0] };

          set_flattened (node, axes, dims);
        }
      else
        set_flattened (node, input->axes, dims);
    }
  else if (input->rank != 2)
    node->flat_permuted = FALSE;
  node->rank = 2;
  return set_inputs (b, node, error)
    && layer_added (b, node, qs_engine_model_add_flatten (b->model, node->name), error);
}

/* The axis orders of Reshape @node to @n target dimensions, @dims the
 * engine shape build_reshape made of them (channels last). A map or a
 * vector in the engine's own order reshapes as it is; otherwise the engine
 * would need a transpose, and the Reshape is refused unless its values
 * keep their places: flattening a (C, H, W) map (a vector in Keras's
 * order, for the Dense after it), and the reverse, or a vector to
 * (C, 1, 1). */
static gboolean
reshape_layout (const QsKerasBuild  *b,
                KerasNode           *node,
                guint                n,
                int                  dims[3],
                GError             **error)
{
  const KerasNode *input = g_ptr_array_index (node->inputs, 0);
  int in_dims[3];

  value_dims (b, input, in_dims);
  if (n == 1 && input->rank == 4)
    {
      set_flattened (node, input->axes, in_dims);
      return TRUE;
    }
  if (n == 1 && input->rank == 2)
    return TRUE;   /* inherited */
  node->flat_permuted = FALSE;
  if (n == 3 && input->rank == 2 && input->flat_permuted)
    {
      const int *fd = input->flat_dims, *axes = input->axes;

      /* Back to the map it was flattened from: the engine's values are in place. */
      if (fd[axes[0]] == dims[0] && fd[axes[1]] == dims[1] && fd[axes[2]] == dims[2])
        {
          memcpy (dims, fd, 3 * sizeof (int));
          return TRUE;
        }
    }
  else if (n == 3 && b->channels_first)
    {
      /* (C, H, W): channels first, unless already a map of these Keras dims. */
      int target[3] = { dims[1], dims[2], dims[0] };

      if (input->rank == 4 && axes_agree (input->axes, channels_first_axes, in_dims)
          && in_dims[0] == target[0] && in_dims[1] == target[1] && in_dims[2] == target[2])
        {
          memcpy (dims, target, sizeof target);
          memcpy (node->axes, channels_first_axes, sizeof node->axes);
          return TRUE;
        }
      /* A vector (or a map in the engine's order) to (C, H, W) where at most
       * one of C and H x W is above 1: the values keep their places. */
      if (input->rank != 4 ? !input->flat_permuted : axes_agree (input->axes, channels_last_axes, in_dims))
        {
          if (axes_agree (channels_first_axes, channels_last_axes, target))
            {
              memcpy (dims, target, sizeof target);
              memcpy (node->axes, channels_first_axes, sizeof node->axes);
              return TRUE;
            }
        }
    }
  else if ((input->rank != 4 || axes_agree (input->axes, channels_last_axes, in_dims))
           && (input->rank != 2 || !input->flat_permuted))
    {
      memcpy (node->axes, channels_last_axes, sizeof node->axes);
      return TRUE;
    }
  return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
               "%s layer “%s” moves values between the channels_first and channels_last orders, which takes a "
               "transpose the engine does not run", node->class_name, node->name);
}

/* Reshape to (C,), (W, C) or (H, W, C) of the same size, -1 for one unknown. */
static gboolean
build_reshape_to (QsKerasBuild  *b,
                  KerasNode     *node,
                  JsonArray     *shape,
                  guint          first,
                  GError       **error)
{
  int h, w, c, dims[3] = { 1, 1, 1 }, unknown = -1;
  guint n = shape != NULL && json_array_get_length (shape) > first ? json_array_get_length (shape) - first : 0;
  int64_t size, known = 1;

  input_shape (b, node, 0, &h, &w, &c);
  size = (int64_t) h * w * c;
  if (n < 1 || n > 3)
    return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
                 "%s layer “%s” has a target shape of %u dimensions; the engine reshapes to 1 to 3", node->class_name,
                 node->name, n);
  for (guint i = 0; i < n; i++)
    {
      JsonNode *element = json_array_get_element (shape, first + i);
      int64_t value;
      int *dim = &dims[3 - n + i];

      if (qs_json_node_get_int (element, &value) && value == -1 && unknown < 0)
        {
          unknown = (int) (3 - n + i);
          continue;
        }
      if (!node_positive_int (element, dim))
        return bad_size (error, node->class_name, node->name, "target_shape");
      known *= *dim;
      if (known > size)
        break;
    }
  if (unknown >= 0 && known > 0 && size % known == 0 && size / known <= INT_MAX)
    dims[unknown] = (int) (size / known), known = size;
  if (known != size)
    return fail (error, QS_KERAS_MODEL_ERROR_BAD_CONFIG,
                 "%s layer “%s” reshapes %" G_GINT64_FORMAT " values to a shape of another size", node->class_name,
                 node->name, size);
  if (!reshape_layout (b, node, n, dims, error))
    return FALSE;
  node->rank = (int) n + 1;
  if (dims[0] == h && dims[1] == w && dims[2] == c)
    {
      node->value = ((const KerasNode *) g_ptr_array_index (node->inputs, 0))->value;
      return TRUE;
    }
  return set_inputs (b, node, error)
    && layer_added (b, node, qs_engine_model_add_reshape (b->model, node->name, dims[0], dims[1], dims[2]), error);
}

static gboolean
build_reshape (QsKerasBuild  *b,
               KerasNode     *node,
               GError       **error)
{
  return require_one_input (node, error)
    && build_reshape_to (b, node, array_member (node->config, "target_shape"), 0, error);
}

/* tf.reshape (a TFOpLambda "reshape"), as nobuco writes torch.flatten and
 * view: its shape starts with the batch, a number (-1, or the 1 it was
 * traced with) or a tensor (tf.shape (x)[0], left unbuilt), then the
 * numbers of a Reshape's target_shape. FALSE without an error for another
 * function. */
static gboolean
tf_reshape (QsKerasBuild  *b,
            KerasNode     *node,
            gboolean      *built,
            GError       **error)
{
  const char *function = string_member (node->config, "function");
  JsonArray *shape = array_member (node->call_kwargs, "shape");
  JsonNode *batch;
  int64_t value;

  *built = FALSE;
  if (function == NULL || (!g_str_equal (function, "reshape") && !g_str_equal (function, "compat.v1.reshape")))
    return TRUE;
  *built = TRUE;
  batch = shape != NULL && json_array_get_length (shape) >= 2 ? json_array_get_element (shape, 0) : NULL;
  if (batch == NULL || !(qs_json_node_get_int (batch, &value) || JSON_NODE_HOLDS_ARRAY (batch)))
    return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
                 "layer “%s” reshapes to a shape the engine cannot read (a list of the batch and numbers)", node->name);
  return build_reshape_to (b, node, shape, 1, error);
}

static gboolean
build_upsample (QsKerasBuild  *b,
                KerasNode     *node,
                GError       **error)
{
  int fh = 2, fw = 2;
  const char *interpolation = string_member (node->config, "interpolation");
  gboolean bilinear = FALSE;

  if (!require_one_input (node, error) || !check_layout (b, node, error))
    return FALSE;
  if (pair_member (node->config, "size", &fh, &fw) == SETTING_INVALID)
    return bad_size (error, node->class_name, node->name, "size");
  if (interpolation != NULL && g_str_equal (interpolation, "bilinear"))
    bilinear = TRUE;
  else if (interpolation != NULL && !g_str_equal (interpolation, "nearest"))
    return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
                 "UpSampling2D layer “%s” interpolates “%s”; the engine runs nearest and bilinear",
                 node->name, interpolation);
  node->rank = input_rank (node);
  return set_inputs (b, node, error)
    && layer_added (b, node, qs_engine_model_add_upsample (b->model, node->name, fh, fw, bilinear), error);
}

/* Activation, ReLU, LeakyReLU, ELU and Softmax layers. */
static gboolean
build_activation (QsKerasBuild  *b,
                  KerasNode     *node,
                  GError       **error)
{
  QsActivationSpec spec;
  float max;

  if (!require_one_input (node, error))
    return FALSE;
  node->rank = input_rank (node);
  if (g_str_equal (node->class_name, "Activation"))
    {
      if (!parse_activation (b, node, "activation", &spec, error))
        return FALSE;
    }
  else if (g_str_equal (node->class_name, "ReLU"))
    {
      double cap = number_member (node->config, "max_value", INFINITY);
      double slope = number_member (node->config, "negative_slope", 0.0);
      double threshold = number_member (node->config, "threshold", 0.0);

      /* Keras refuses each of these when the layer is made: a file holding
       * one was not written by Keras (a max_value of -1 made every output
       * -1). */
      if (!(cap >= 0.0) || !(slope >= 0.0) || !(threshold >= 0.0))
        return fail (error, QS_KERAS_MODEL_ERROR_BAD_CONFIG,
                     "ReLU layer “%s” has a negative max_value, negative_slope or threshold", node->name);
      qs_activation_spec_init (&spec, QS_ACTIVATION_LEAKY_RELU);
      spec.max_value = cap <= FLT_MAX ? (float) cap : INFINITY;
      spec.negative_slope = (float) slope;
      spec.threshold = (float) threshold;
      if (plain_relu_layer (b, node, &max))
        {
          qs_activation_spec_init (&spec, QS_ACTIVATION_RELU);
          spec.max_value = max;
        }
    }
  else if (g_str_equal (node->class_name, "LeakyReLU"))
    {
      qs_activation_spec_init (&spec, QS_ACTIVATION_LEAKY_RELU);
      /* Keras 2 calls the slope alpha, Keras 3 negative_slope. */
      spec.negative_slope = (float) number_member (node->config, "negative_slope",
                                                   number_member (node->config, "alpha", spec.negative_slope));
    }
  else if (g_str_equal (node->class_name, "ELU"))
    {
      qs_activation_spec_init (&spec, QS_ACTIVATION_ELU);
      spec.alpha = (float) number_member (node->config, "alpha", 1.0);
    }
  else
    {
      int64_t axis;

      if (!axis_member (node->config, -1, &axis) || !is_channel_axis (axis, node))
        return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
                     "Softmax layer “%s” is over another axis than the channels", node->name);
      qs_activation_spec_init (&spec, QS_ACTIVATION_SOFTMAX);
    }
  if (spec.kind == QS_ACTIVATION_NONE || (spec.kind == QS_ACTIVATION_SOFTMAX && node->drop_softmax))
    {
      node->value = ((const KerasNode *) g_ptr_array_index (node->inputs, 0))->value;
      return TRUE;
    }
  if (!set_inputs (b, node, error))
    return FALSE;
  if (spec_is_plain_relu (&spec))
    return layer_added (b, node, qs_engine_model_add_activation (b->model, node->name, QS_ACTIVATION_RELU,
                                                                 spec.max_value), error);
  return layer_added (b, node, qs_engine_model_add_activation_spec (b->model, node->name, &spec), error);
}

static gboolean
build_node (QsKerasBuild  *b,
            KerasNode     *node,
            GError       **error)
{
  const char *c = node->class_name;
  double scale;
  gboolean built;

  if (is_identity_class (c))
    {
      if (!require_one_input (node, error))
        return FALSE;
      node->value = ((const KerasNode *) g_ptr_array_index (node->inputs, 0))->value;
      node->rank = input_rank (node);
      return TRUE;
    }
  if (node->inputs->len == 0)
    return fail (error, QS_KERAS_MODEL_ERROR_BAD_CONFIG, "%s layer “%s” reads no tensor", c, node->name);
  if (g_str_equal (c, "Conv2D") || g_str_equal (c, "Convolution2D"))
    return build_conv (b, node, FALSE, error);
  if (g_str_equal (c, "DepthwiseConv2D"))
    return build_conv (b, node, TRUE, error);
  if (g_str_equal (c, "SeparableConv2D") || g_str_equal (c, "SeparableConvolution2D"))
    return build_separable (b, node, error);
  if (g_str_equal (c, "Dense"))
    return build_dense (b, node, error);
  if (g_str_equal (c, "LayerNormalization"))
    return build_layer_norm (b, node, error);
  if (g_str_equal (c, "BatchNormalization"))
    return build_batch_norm (b, node, error);
  /* Maximum and Minimum: merge layers, or Keras 3's keras.ops.maximum (x, 0) with a number. */
  if (g_str_equal (c, "Add") || g_str_equal (c, "Subtract") || g_str_equal (c, "Multiply")
      || g_str_equal (c, "TrueDivide") || g_str_equal (c, "Divide") || g_str_equal (c, "TFOpLambda")
      || g_str_equal (c, "TensorFlowOpLayer") || g_str_equal (c, "Maximum") || g_str_equal (c, "Minimum")
      || g_str_equal (c, "SlicingOpLambda"))
    return build_arithmetic (b, node, error);
  if (g_str_equal (c, "Average"))
    return build_merge (b, node, QS_LAYER_AVERAGE, error);
  if (g_str_equal (c, "Concatenate"))
    return build_merge (b, node, QS_LAYER_CONCATENATE, error);
  if (g_str_equal (c, "ZeroPadding2D"))
    return build_pad (b, node, FALSE, error);
  if (g_str_equal (c, "Cropping2D"))
    return build_pad (b, node, TRUE, error);
  if (g_str_equal (c, "MaxPooling2D") || g_str_equal (c, "MaxPool2D"))
    return build_pool (b, node, QS_LAYER_MAX_POOL, error);
  if (g_str_equal (c, "AveragePooling2D") || g_str_equal (c, "AvgPool2D"))
    return build_pool (b, node, QS_LAYER_AVERAGE_POOL, error);
  if (g_str_equal (c, "GlobalAveragePooling2D") || g_str_equal (c, "GlobalAvgPool2D"))
    return build_global_pool (b, node, FALSE, error);
  if (g_str_equal (c, "GlobalMaxPooling2D") || g_str_equal (c, "GlobalMaxPool2D"))
    return build_global_pool (b, node, TRUE, error);
  if (g_str_equal (c, "Flatten"))
    return build_flatten (b, node, error);
  if (g_str_equal (c, "Reshape"))
    return build_reshape (b, node, error);
  if (g_str_equal (c, "UpSampling2D"))
    return build_upsample (b, node, error);
  if (g_str_equal (c, "Activation") || g_str_equal (c, "ReLU") || g_str_equal (c, "LeakyReLU")
      || g_str_equal (c, "ELU") || g_str_equal (c, "Softmax"))
    return build_activation (b, node, error);
  if (g_str_equal (c, "Rescaling"))
    return build_rescaling (b, node, error);
  if (g_str_equal (c, "LayerScale"))
    return build_layer_scale (b, node, error);
  if (g_str_equal (c, "Scale"))
    return build_caffe_scale (b, node, error);
  if (g_str_equal (c, "PReLU"))
    return build_prelu (b, node, error);
  if (g_str_equal (c, "Normalization"))
    return build_normalization (b, node, error);
  if (scaled_residual_scale (node, &scale))
    return build_scaled_residual (b, node, scale, error);
  if (g_str_equal (c, "Permute"))
    return build_permute (b, node, error);
  if (!shape_lambda (b, node, &built, error))
    return FALSE;
  if (built)
    return TRUE;
  if (g_str_equal (c, "Lambda"))
    return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED_LAYER,
                 "layer “%s” is a Lambda, whose Python code Quantscope does not run (it knows only InceptionResNetV2's "
                 "scaled residual, onnx2keras's expand_dims, transpose, softmax and clip, and classification_models' expand_dims)",
                 node->key);
  return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED_LAYER,
               "layer “%s” is a %s, which the engine does not run (it runs convolutions, dense, batch normalization, "
               "merges, padding, pooling, reshaping, upsampling, activations, rescaling and normalization)",
               node->key, c);
}

/* The weighted engine layers @node's build added, in order. */
static GArray *
weighted_layers (const QsKerasBuild *b,
                 const KerasNode    *node)
{
  GArray *layers = g_array_new (FALSE, FALSE, sizeof (size_t));

  for (size_t i = node->layers_begin; i < node->layers_end; i++)
    {
      QsLayerInfo info;

      if (qs_engine_model_get_layer (b->model, i, &info) && info.weight_index >= 0)
        g_array_append_val (layers, i);
    }
  return layers;
}

/* A shared layer's later calls run the weights of its first built call:
 * one copy, one weight index, one scheme. */
static gboolean
share_weights (QsKerasBuild  *b,
               GPtrArray     *sorted,
               GError       **error)
{
  g_autoptr(GHashTable) owners = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; i < sorted->len; i++)
    {
      KerasNode *node = g_ptr_array_index (sorted, i);
      KerasNode *owner;
      g_autoptr(GArray) mine = NULL;
      g_autoptr(GArray) theirs = NULL;

      if (!is_shared (b, node) || node->layers_end == node->layers_begin)
        continue;
      if ((owner = g_hash_table_lookup (owners, node->identity)) == NULL)
        {
          g_hash_table_insert (owners, node->identity, node);
          continue;
        }
      mine = weighted_layers (b, node);
      theirs = weighted_layers (b, owner);
      if (mine->len != theirs->len)
        return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
                     "%s layer “%s” is called more than once, and its calls build differently", node->class_name,
                     node->key);
      for (guint k = 0; k < mine->len; k++)
        {
          QsEngineStatus status = qs_engine_model_share_weights (b->model, g_array_index (mine, size_t, k),
                                                                 g_array_index (theirs, size_t, k));

          if (status == QS_ENGINE_INVALID_ARGUMENT)
            return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
                         "%s layer “%s” is called more than once with weights folded differently in its calls "
                         "(a batch normalization after some calls only)", node->class_name, node->key);
          if (status != QS_ENGINE_OK)
            return engine_fail (error, status, node->name, node->class_name);
        }
    }
  return TRUE;
}

/* ---- the model's input and the build ------------------------------------------------------- */

/* [null, H, W, C], [null, H, W] or [null, N]: the image shape the model takes. */
static gboolean
shape_from_array (JsonArray *shape,
                  int       *h,
                  int       *w,
                  int       *c)
{
  guint n = json_array_get_length (shape);
  int dims[3] = { 1, 1, 1 };

  if (n < 2 || n > 4)
    return FALSE;
  for (guint i = 1; i < n; i++)
    {
      if (!node_positive_int (json_array_get_element (shape, i), &dims[i - 1]) || dims[i - 1] > (1 << 24))
        return FALSE;
    }
  if (n == 4)
    *h = dims[0], *w = dims[1], *c = dims[2];
  else if (n == 3)
    *h = dims[0], *w = dims[1], *c = 1;
  else
    *h = 1, *w = 1, *c = dims[0];
  return TRUE;
}

static JsonArray *
input_shape_array (QsKerasBuild    *b,
                   const KerasNode *input)
{
  JsonArray *shape = array_member (input->config, "batch_input_shape");

  if (shape == NULL)
    shape = array_member (input->config, "batch_shape");   /* Keras 3 */
  if (shape != NULL && b->keras3 == FALSE && array_member (input->config, "batch_shape") != NULL)
    b->keras3 = TRUE;
  return shape != NULL ? shape : b->build_shape;
}

static void
free_build (QsKerasBuild *b)
{
  g_clear_pointer (&b->by_layer, g_hash_table_unref);
  g_clear_pointer (&b->by_key, g_hash_table_unref);
  g_clear_pointer (&b->aliases, g_hash_table_unref);
  g_clear_pointer (&b->input_nodes, g_ptr_array_unref);
  g_clear_pointer (&b->calls, g_hash_table_unref);
  g_clear_pointer (&b->read_cache, g_hash_table_unref);
  g_clear_pointer (&b->nodes, g_ptr_array_unref);
  g_clear_pointer (&b->model, qs_engine_model_free);
}

/* Flattens, resolves and sorts model_config; the sorted nodes, or NULL. */
static GPtrArray *
plan_graph (QsKerasBuild  *b,
            JsonObject    *model_object,
            GError       **error)
{
  g_autofree char *output_key = NULL;

  if (!flatten_model (b, model_object, "", "", NULL, NULL, &output_key, error))
    return NULL;
  if (b->input_nodes->len == 0)
    {
      fail (error, QS_KERAS_MODEL_ERROR_BAD_CONFIG, "the model has no input layer");
      return NULL;
    }
  if (b->input_nodes->len > 1)
    {
      g_autoptr(GPtrArray) names = g_ptr_array_new ();
      g_autofree char *text = NULL;

      for (guint i = 0; i < b->input_nodes->len; i++)
        g_ptr_array_add (names, ((KerasNode *) g_ptr_array_index (b->input_nodes, i))->key);
      text = names_text (names);
      fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
            "the model has %u inputs (%s); the engine runs models with one image input", names->len, text);
      return NULL;
    }
  if (!resolve_inputs (b, error))
    return NULL;
  if ((b->output = resolve_key (b, output_key)) == NULL)
    {
      fail (error, QS_KERAS_MODEL_ERROR_BAD_CONFIG, "the model's output “%s” is not one of its layers", output_key);
      return NULL;
    }
  mark_reachable (b, b->output);
  return sort_nodes (b, error);
}

QsEngineModel *
qs_keras_model_load (QsWeightFile  *file,
                     GError       **error)
{
  g_return_val_if_fail (QS_IS_WEIGHT_FILE (file), NULL);

  return qs_keras_model_load_config (file, qs_weight_file_get_model_config (file), error);
}

QsEngineModel *
qs_keras_model_load_config (QsWeightFile  *file,
                            const char    *text,
                            GError       **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) local = NULL;
  g_autoptr(GPtrArray) sorted = NULL;
  JsonNode *root;
  const char *class_name = NULL;
  GPtrArray *tensors;
  QsKerasBuild b = { 0 };
  KerasNode *input;
  JsonArray *shape;
  QsEngineModel *model;
  int h = 0, w = 0, c = 0;

  g_return_val_if_fail (QS_IS_WEIGHT_FILE (file), NULL);

  if (text == NULL)
    {
      fail (error, QS_KERAS_MODEL_ERROR_NO_ARCHITECTURE,
            "the file holds weights only (no Keras model_config), so there is no model to run");
      return NULL;
    }
  if (!qs_json_parser_load_python (parser, text, -1, QS_JSON_MAX_CONFIG_BYTES, "model_config", &local))
    {
      if (local->domain == QS_ERROR)
        fail (error, QS_KERAS_MODEL_ERROR_BAD_CONFIG, "%s", local->message);
      else
        fail (error, QS_KERAS_MODEL_ERROR_BAD_CONFIG, "model_config is not valid JSON: %s", local->message);
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      fail (error, QS_KERAS_MODEL_ERROR_BAD_CONFIG, "model_config is not a JSON object");
      return NULL;
    }
  if (!qs_json_member_string (json_node_get_object (root), "class_name", &class_name, &local))
    {
      fail (error, QS_KERAS_MODEL_ERROR_BAD_CONFIG, "model_config: %s", local->message);
      return NULL;
    }
  if (class_name == NULL)
    {
      fail (error, QS_KERAS_MODEL_ERROR_BAD_CONFIG, "model_config has no class_name");
      return NULL;
    }

  b.file = file;
  b.nodes = g_ptr_array_new_with_free_func ((GDestroyNotify) keras_node_free);
  b.by_key = g_hash_table_new (g_str_hash, g_str_equal);
  b.aliases = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  b.input_nodes = g_ptr_array_new ();
  b.calls = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) g_ptr_array_unref);
  b.read_cache = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) g_bytes_unref);
  if ((sorted = plan_graph (&b, json_node_get_object (root), error)) == NULL)
    {
      free_build (&b);
      return NULL;
    }

  input = g_ptr_array_index (b.input_nodes, 0);
  shape = input_shape_array (&b, input);
  if (shape == NULL || !shape_from_array (shape, &h, &w, &c))
    {
      free_build (&b);
      fail (error, QS_KERAS_MODEL_ERROR_BAD_CONFIG, "model_config does not give the input shape");
      return NULL;
    }
  for (guint i = 0; i < b.nodes->len; i++)
    keras1_translate (&b, g_ptr_array_index (b.nodes, i));
  b.channels_first = model_is_channels_first (sorted, json_array_get_length (shape) == 4);
  if (b.channels_first && json_array_get_length (shape) == 4)
    {
      int channels = h;

      /* [null, C, H, W]: the engine's input, like its every map, is H x W x C. */
      h = w, w = c, c = channels;
      memcpy (input->axes, channels_first_axes, sizeof input->axes);
    }
  b.by_layer = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) g_ptr_array_unref);
  tensors = qs_weight_file_get_tensors (file);
  for (guint i = 0; i < tensors->len; i++)
    {
      QsTensorInfo *info = g_ptr_array_index (tensors, i);
      GPtrArray *list = g_hash_table_lookup (b.by_layer, info->layer);

      if (list == NULL)
        {
          list = g_ptr_array_new ();
          g_hash_table_insert (b.by_layer, info->layer, list);
        }
      g_ptr_array_add (list, info);
    }
  b.model = qs_engine_model_new (h, w, c);
  if (b.model == NULL)
    {
      free_build (&b);
      g_set_error (error, QS_ERROR, QS_ERROR_TOO_LARGE,
                   "the model's input of %dx%dx%d is too large for the engine (more than %zu values)",
                   h, w, c, QS_ENGINE_MAX_MAP_ELEMENTS);
      return NULL;
    }
  qs_engine_model_set_input_channels_first (b.model, b.channels_first && json_array_get_length (shape) == 4);
  input->value = QS_ENGINE_INPUT_VALUE;
  input->rank = (int) json_array_get_length (shape);
  input->built = TRUE;
  mark_final_softmax (b.output);

  for (guint i = 0; i < sorted->len; i++)
    {
      KerasNode *node = g_ptr_array_index (sorted, i);

      node->layers_begin = qs_engine_model_get_n_layers (b.model);
      if (!node->built && node->inputs->len > 0)
        inherit_layout (node, g_ptr_array_index (node->inputs, 0));
      if (!node->built && !build_node (&b, node, error))
        {
          free_build (&b);
          return NULL;
        }
      node->layers_end = qs_engine_model_get_n_layers (b.model);
      node->built = TRUE;
    }
  if (!share_weights (&b, sorted, error))
    {
      free_build (&b);
      return NULL;
    }
  if (b.output->value == QS_ENGINE_INPUT_VALUE || qs_engine_model_get_n_layers (b.model) == 0)
    {
      free_build (&b);
      fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED, "the model has no layers to run");
      return NULL;
    }
  if (b.output->value != qs_engine_model_get_last_value (b.model))
    {
      QsEngineStatus status = qs_engine_model_set_output (b.model, b.output->value);

      if (status != QS_ENGINE_OK)
        {
          engine_fail (error, status, b.output->name, b.output->class_name);
          free_build (&b);
          return NULL;
        }
    }
  model = g_steal_pointer (&b.model);
  free_build (&b);
  return model;
}
