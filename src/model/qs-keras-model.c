/* qs-keras-model.c: an engine layer chain built from a Keras 2 model file.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * model_config is walked once: each layer's settings are checked against
 * what the engine runs, its weights are looked up among the file's tensors
 * by layer name and weight name ("kernel", "bias", "depthwise_kernel",
 * "gamma", "beta", "moving_mean", "moving_variance", with or without
 * Keras 2's ":0"), read, shape-checked and handed to the engine, which
 * copies them. The first problem found stops the walk and names the layer.
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

typedef struct {
  QsWeightFile  *file;
  QsEngineModel *model;
  GHashTable    *by_layer;     /* layer name -> GPtrArray of QsTensorInfo (borrowed) */
  gboolean       softmax_seen; /* only layers that do not change the argmax may follow */
  const char    *softmax_layer;
} QsKerasBuild;

/* ---- JSON helpers ----------------------------------------------------------------- */

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

static const QsTensorInfo *
find_weight (QsKerasBuild *b,
             const char   *layer,
             const char   *short_name)
{
  GPtrArray *tensors = g_hash_table_lookup (b->by_layer, layer);

  for (guint i = 0; tensors != NULL && i < tensors->len; i++)
    {
      const QsTensorInfo *info = g_ptr_array_index (tensors, i);
      g_autofree char *name = weight_short_name (info->path);

      if (g_str_equal (name, short_name))
        return info;
    }
  return NULL;
}

/* Reads weight @short_name of @layer, checking its shape against @shape
 * (@rank dims). NULL without an error when absent and !@required. */
static float *
read_weight (QsKerasBuild  *b,
             const char    *layer,
             const char    *short_name,
             int            rank,
             const int64_t *shape,
             gboolean       required,
             GError       **error)
{
  const QsTensorInfo *info = find_weight (b, layer, short_name);
  g_autoptr(GError) local = NULL;
  gboolean match;
  float *values;

  if (info == NULL)
    {
      if (required)
        fail (error, QS_KERAS_MODEL_ERROR_WEIGHTS, "layer “%s” has no “%s” weight in the file",
              layer, short_name);
      return NULL;
    }
  match = info->rank == rank;
  for (int i = 0; match && i < rank; i++)
    match = info->shape[i] == shape[i];
  if (!match)
    {
      g_autoptr(GString) want = g_string_new (NULL);
      g_autoptr(GString) have = g_string_new (NULL);

      for (int i = 0; i < rank; i++)
        g_string_append_printf (want, "%s%" G_GINT64_FORMAT, i ? "x" : "", shape[i]);
      for (int i = 0; i < info->rank; i++)
        g_string_append_printf (have, "%s%" G_GINT64_FORMAT, i ? "x" : "", info->shape[i]);
      fail (error, QS_KERAS_MODEL_ERROR_WEIGHTS, "weight “%s” of layer “%s” is %s, the architecture needs %s",
            short_name, layer, have->str, want->str);
      return NULL;
    }
  values = qs_weight_file_read_tensor (b->file, info, &local);
  if (values == NULL)
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&local), "layer “%s”: ", layer);
      return NULL;
    }
  return values;
}

/* ---- layers -------------------------------------------------------------------------- */

static void
current_shape (QsKerasBuild *b,
               int          *h,
               int          *w,
               int          *c)
{
  size_t n = qs_engine_model_get_n_layers (b->model);
  QsLayerInfo info;

  if (n == 0)
    {
      qs_engine_model_get_input_shape (b->model, h, w, c);
      return;
    }
  qs_engine_model_get_layer (b->model, n - 1, &info);
  *h = info.out_h;
  *w = info.out_w;
  *c = info.out_c;
}

static gboolean
parse_activation (const char   *layer,
                  const char   *class_name,
                  JsonObject   *config,
                  const char   *key,
                  QsActivation *activation,
                  float        *max,
                  gboolean     *softmax,
                  GError      **error)
{
  JsonNode *node = member (config, key);
  const char *name;

  *activation = QS_ACTIVATION_NONE;
  *max = INFINITY;
  *softmax = FALSE;
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  name = string_member (config, key);
  if (name == NULL)
    {
      /* Keras 3 may serialise an activation as an object. */
      JsonObject *object = object_member (config, key);
      JsonObject *inner = object_member (object, "config");

      name = string_member (object, "class_name");
      if (name == NULL)
        name = string_member (inner, "name");
      if (name == NULL)
        return fail (error, QS_KERAS_MODEL_ERROR_BAD_CONFIG,
                     "%s layer “%s”: activation is neither a name nor a Keras object", class_name, layer);
    }
  if (g_str_equal (name, "linear"))
    return TRUE;
  if (g_str_equal (name, "relu"))
    {
      *activation = QS_ACTIVATION_RELU;
      return TRUE;
    }
  if (g_str_equal (name, "relu6"))
    {
      *activation = QS_ACTIVATION_RELU;
      *max = 6.0f;
      return TRUE;
    }
  if (g_str_equal (name, "softmax"))
    {
      *softmax = TRUE;
      return TRUE;
    }
  return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
               "%s layer “%s” uses activation “%s”; the engine runs linear, relu, relu6 and softmax (last layer only)",
               class_name, layer, name);
}

static gboolean
check_channels_last (JsonObject *config,
                     const char *layer,
                     const char *class_name,
                     GError    **error)
{
  const char *format = string_member (config, "data_format");

  if (format != NULL && !g_str_equal (format, "channels_last"))
    return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
                 "%s layer “%s” is %s; the engine runs channels_last", class_name, layer, format);
  return TRUE;
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

/* Remembers that @name ends in a softmax: the engine drops it (it keeps
 * the argmax), so only layers that keep the argmax may follow. */
static void
note_softmax (QsKerasBuild *b,
              const char   *name)
{
  b->softmax_seen = TRUE;
  b->softmax_layer = name;
}

/* The end of adding a weighted layer: the engine's refusal as an error, or
 * the softmax fused into its activation noted. */
static gboolean
weighted_layer_added (QsKerasBuild   *b,
                      QsEngineStatus  status,
                      const char     *name,
                      const char     *class_name,
                      gboolean        softmax,
                      GError        **error)
{
  if (status != QS_ENGINE_OK)
    return engine_fail (error, status, name, class_name);
  if (softmax)
    note_softmax (b, name);
  return TRUE;
}

/* Conv2D and DepthwiseConv2D. */
static gboolean
add_conv (QsKerasBuild *b,
          const char   *name,
          const char   *class_name,
          JsonObject   *config,
          gboolean      depthwise,
          GError      **error)
{
  QsConvParams p = { 0 };
  int h, w, c, dh = 1, dw = 1, groups = 1;
  g_autofree float *kernel = NULL;
  g_autofree float *bias = NULL;
  gboolean softmax, use_bias = bool_member (config, "use_bias", TRUE);
  int64_t kshape[4], bshape[1];
  QsEngineStatus status;

  if (!check_channels_last (config, name, class_name, error)
      || !parse_padding (config, name, class_name, &p.padding, error)
      || !parse_activation (name, class_name, config, "activation", &p.activation, &p.activation_max,
                            &softmax, error))
    return FALSE;
  if (pair_member (config, "kernel_size", &p.kernel_h, &p.kernel_w) != SETTING_VALID)
    return bad_size (error, class_name, name, "kernel_size");
  p.stride_h = p.stride_w = 1;
  if (pair_member (config, "strides", &p.stride_h, &p.stride_w) == SETTING_INVALID)
    return bad_size (error, class_name, name, "strides");
  if (pair_member (config, "dilation_rate", &dh, &dw) == SETTING_INVALID)
    return bad_size (error, class_name, name, "dilation_rate");
  if (dh != 1 || dw != 1)
    return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
                 "%s layer “%s” is dilated (%dx%d); the engine runs dilation 1", class_name, name, dh, dw);
  if (!depthwise && int_member (config, "groups", 1, &groups) == SETTING_INVALID)
    return bad_size (error, class_name, name, "groups");
  if (groups != 1)
    return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
                 "%s layer “%s” is grouped; the engine runs groups = 1", class_name, name);

  current_shape (b, &h, &w, &c);
  kshape[0] = p.kernel_h;
  kshape[1] = p.kernel_w;
  kshape[2] = c;
  if (int_member (config, depthwise ? "depth_multiplier" : "filters", depthwise ? 1 : 0, &p.filters)
      == SETTING_INVALID || p.filters <= 0)
    return bad_size (error, class_name, name, depthwise ? "depth_multiplier" : "filters");
  kshape[3] = p.filters;
  bshape[0] = depthwise ? (int64_t) c * p.filters : p.filters;

  kernel = read_weight (b, name, depthwise ? "depthwise_kernel" : "kernel", 4, kshape, TRUE, error);
  if (kernel == NULL)
    return FALSE;
  if (use_bias && (bias = read_weight (b, name, "bias", 1, bshape, TRUE, error)) == NULL)
    return FALSE;

  status = depthwise ? qs_engine_model_add_depthwise (b->model, name, &p, kernel, bias)
                     : qs_engine_model_add_conv2d (b->model, name, &p, kernel, bias);
  return weighted_layer_added (b, status, name, class_name, softmax, error);
}

static gboolean
add_dense (QsKerasBuild *b,
           const char   *name,
           const char   *class_name,
           JsonObject   *config,
           GError      **error)
{
  int units = 0;
  int h, w, c;
  QsActivation activation;
  float max;
  gboolean softmax, use_bias = bool_member (config, "use_bias", TRUE);
  g_autofree float *kernel = NULL;
  g_autofree float *bias = NULL;
  int64_t kshape[2], bshape[1];
  QsEngineStatus status;

  if (!parse_activation (name, class_name, config, "activation", &activation, &max, &softmax, error))
    return FALSE;
  if (int_member (config, "units", 0, &units) != SETTING_VALID)
    return bad_size (error, class_name, name, "units");
  current_shape (b, &h, &w, &c);
  kshape[0] = c;
  kshape[1] = units;
  bshape[0] = units;
  kernel = read_weight (b, name, "kernel", 2, kshape, TRUE, error);
  if (kernel == NULL)
    return FALSE;
  if (use_bias && (bias = read_weight (b, name, "bias", 1, bshape, TRUE, error)) == NULL)
    return FALSE;
  status = qs_engine_model_add_dense (b->model, name, units, activation, max, kernel, bias);
  return weighted_layer_added (b, status, name, class_name, softmax, error);
}

static gboolean
add_batch_norm (QsKerasBuild *b,
                const char   *name,
                JsonObject   *config,
                GError      **error)
{
  JsonNode *axis_node = member (config, "axis");
  int h, w, c;
  int64_t axis = -1;
  int64_t shape[1];
  gboolean center = bool_member (config, "center", TRUE);
  gboolean scale = bool_member (config, "scale", TRUE);
  double epsilon = number_member (config, "epsilon", 1e-3);
  g_autofree float *gamma = NULL;
  g_autofree float *beta = NULL;
  g_autofree float *mean = NULL;
  g_autofree float *variance = NULL;
  QsEngineStatus status;

  if (axis_node != NULL && JSON_NODE_HOLDS_ARRAY (axis_node)
      && json_array_get_length (json_node_get_array (axis_node)) == 1)
    axis_node = json_array_get_element (json_node_get_array (axis_node), 0);
  if (axis_node != NULL && JSON_NODE_HOLDS_VALUE (axis_node) && json_node_get_value_type (axis_node) == G_TYPE_INT64)
    axis = json_node_get_int (axis_node);
  else if (axis_node != NULL)
    return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
                 "BatchNormalization layer “%s” normalises several axes; the engine folds channel-axis BN only", name);
  if (axis != -1 && axis != 3)
    return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
                 "BatchNormalization layer “%s” normalises axis %" G_GINT64_FORMAT "; the engine folds channel-axis BN only",
                 name, axis);

  if (!(epsilon >= 0.0 && epsilon <= 1.0)
      || (member (config, "epsilon") != NULL && !node_is_number (member (config, "epsilon"))))
    return fail (error, QS_KERAS_MODEL_ERROR_BAD_CONFIG,
                 "BatchNormalization layer “%s” has an invalid epsilon (it must be a number from 0 to 1)", name);

  current_shape (b, &h, &w, &c);
  shape[0] = c;
  if (scale && (gamma = read_weight (b, name, "gamma", 1, shape, TRUE, error)) == NULL)
    return FALSE;
  if (center && (beta = read_weight (b, name, "beta", 1, shape, TRUE, error)) == NULL)
    return FALSE;
  if ((mean = read_weight (b, name, "moving_mean", 1, shape, TRUE, error)) == NULL
      || (variance = read_weight (b, name, "moving_variance", 1, shape, TRUE, error)) == NULL)
    return FALSE;

  status = qs_engine_model_fold_batch_norm (b->model, gamma, beta, mean, variance, (float) epsilon);
  if (status == QS_ENGINE_UNSUPPORTED)
    return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
                 "BatchNormalization layer “%s” does not follow a convolution or dense layer without activation, "
                 "so it cannot be folded", name);
  if (status == QS_ENGINE_INVALID_ARGUMENT)
    return fail (error, QS_KERAS_MODEL_ERROR_WEIGHTS,
                 "BatchNormalization layer “%s” has a statistic that is not finite, a negative variance, "
                 "or folds into weights that are not finite", name);
  if (status != QS_ENGINE_OK)
    return engine_fail (error, status, name, "BatchNormalization");
  return TRUE;
}

static gboolean
add_pool (QsKerasBuild *b,
          const char   *name,
          const char   *class_name,
          JsonObject   *config,
          QsLayerKind   kind,
          GError      **error)
{
  QsConvParams p = { 0 };
  QsEngineStatus status;

  if (!check_channels_last (config, name, class_name, error)
      || !parse_padding (config, name, class_name, &p.padding, error))
    return FALSE;
  p.kernel_h = p.kernel_w = 2;
  if (pair_member (config, "pool_size", &p.kernel_h, &p.kernel_w) == SETTING_INVALID)
    return bad_size (error, class_name, name, "pool_size");
  /* Keras: strides default to the pool size. */
  p.stride_h = p.kernel_h;
  p.stride_w = p.kernel_w;
  if (pair_member (config, "strides", &p.stride_h, &p.stride_w) == SETTING_INVALID)
    return bad_size (error, class_name, name, "strides");
  status = qs_engine_model_add_pool (b->model, name, kind, &p);
  return status == QS_ENGINE_OK || engine_fail (error, status, name, class_name);
}

/* Activation and ReLU layers. */
static gboolean
add_activation_layer (QsKerasBuild *b,
                      const char   *name,
                      const char   *class_name,
                      JsonObject   *config,
                      GError      **error)
{
  QsActivation activation = QS_ACTIVATION_RELU;
  float max = INFINITY;
  gboolean softmax = FALSE;
  QsEngineStatus status;

  if (g_str_equal (class_name, "ReLU"))
    {
      double cap = number_member (config, "max_value", INFINITY);

      if (number_member (config, "negative_slope", 0.0) != 0.0 || number_member (config, "threshold", 0.0) != 0.0)
        return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
                     "ReLU layer “%s” has a negative slope or threshold; the engine runs max (x, 0) with an optional cap",
                     name);
      /* A cap past float32's range is no cap; NaN or negative ones the
       * engine refuses. */
      max = isnan (cap) || cap <= FLT_MAX ? (float) cap : INFINITY;
    }
  else if (g_str_equal (class_name, "Softmax"))
    softmax = TRUE;
  else if (!parse_activation (name, class_name, config, "activation", &activation, &max, &softmax, error))
    return FALSE;

  if (softmax)
    {
      note_softmax (b, name);
      return TRUE;
    }
  status = qs_engine_model_add_activation (b->model, name, activation, max);
  return status == QS_ENGINE_OK || engine_fail (error, status, name, class_name);
}

/* Layers that do not change values at inference. */
static gboolean
is_identity_class (const char *class_name)
{
  static const char *const names[] = {
    "Dropout", "SpatialDropout2D", "GaussianNoise", "GaussianDropout", "AlphaDropout", "ActivityRegularization",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    if (g_str_equal (class_name, names[i]))
      return TRUE;
  return FALSE;
}

static gboolean
add_layer (QsKerasBuild *b,
           JsonObject   *layer,
           GError      **error)
{
  const char *class_name = string_member (layer, "class_name");
  JsonObject *config = object_member (layer, "config");
  const char *name = string_member (config, "name");

  if (class_name == NULL || config == NULL)
    return fail (error, QS_KERAS_MODEL_ERROR_BAD_CONFIG, "a layer of model_config has no class_name or config");
  if (name == NULL)
    name = string_member (layer, "name");
  if (name == NULL)
    name = class_name;

  if (g_str_equal (class_name, "InputLayer") || is_identity_class (class_name))
    return TRUE;
  /* After the softmax only what keeps the argmax may come. */
  if (b->softmax_seen && !g_str_equal (class_name, "Flatten") && !g_str_equal (class_name, "Activation"))
    return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
                 "%s layer “%s” follows the softmax of “%s”; the engine scores the argmax of the last layer",
                 class_name, name, b->softmax_layer);

  if (g_str_equal (class_name, "Conv2D") || g_str_equal (class_name, "Convolution2D"))
    return add_conv (b, name, class_name, config, FALSE, error);
  if (g_str_equal (class_name, "DepthwiseConv2D"))
    return add_conv (b, name, class_name, config, TRUE, error);
  if (g_str_equal (class_name, "Dense"))
    return add_dense (b, name, class_name, config, error);
  if (g_str_equal (class_name, "BatchNormalization"))
    return add_batch_norm (b, name, config, error);
  if (g_str_equal (class_name, "MaxPooling2D") || g_str_equal (class_name, "MaxPool2D"))
    return add_pool (b, name, class_name, config, QS_LAYER_MAX_POOL, error);
  if (g_str_equal (class_name, "AveragePooling2D") || g_str_equal (class_name, "AvgPool2D"))
    return add_pool (b, name, class_name, config, QS_LAYER_AVERAGE_POOL, error);
  if (g_str_equal (class_name, "GlobalAveragePooling2D") || g_str_equal (class_name, "GlobalAvgPool2D"))
    {
      QsEngineStatus status;

      if (!check_channels_last (config, name, class_name, error))
        return FALSE;
      status = qs_engine_model_add_global_average_pool (b->model, name);
      return status == QS_ENGINE_OK || engine_fail (error, status, name, class_name);
    }
  if (g_str_equal (class_name, "Flatten"))
    {
      QsEngineStatus status;

      if (!check_channels_last (config, name, class_name, error))
        return FALSE;
      if (b->softmax_seen)
        return TRUE;
      status = qs_engine_model_add_flatten (b->model, name);
      return status == QS_ENGINE_OK || engine_fail (error, status, name, class_name);
    }
  if (g_str_equal (class_name, "Activation") || g_str_equal (class_name, "ReLU")
      || g_str_equal (class_name, "Softmax"))
    {
      if (b->softmax_seen)
        {
          const char *act = string_member (config, "activation");

          if (act != NULL && (g_str_equal (act, "linear") || g_str_equal (act, "softmax")))
            return TRUE;
          return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
                       "%s layer “%s” follows the softmax of “%s”", class_name, name, b->softmax_layer);
        }
      return add_activation_layer (b, name, class_name, config, error);
    }

  return fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED_LAYER,
               "layer “%s” is a %s, which the engine does not run (it runs Conv2D, DepthwiseConv2D, Dense, "
               "pooling, Flatten, Dropout, BatchNormalization and ReLU/softmax activations)",
               name, class_name);
}

/* ---- the model's shape and layer order ----------------------------------------------- */

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

static gboolean
input_shape_of (JsonObject *layer,
                int        *h,
                int        *w,
                int        *c)
{
  JsonObject *config = object_member (layer, "config");
  JsonArray *shape = array_member (config, "batch_input_shape");

  if (shape == NULL)
    shape = array_member (config, "batch_shape");   /* Keras 3 */
  return shape != NULL && shape_from_array (shape, h, w, c);
}

/* The single inbound layer name of a functional layer, NULL when it has
 * none, "" when it has several. Keras 2: [[["name", 0, 0, {}]]]; Keras 3:
 * [{"args": [{"config": {"keras_history": ["name", 0, 0]}}]}]. */
static const char *
inbound_name (JsonObject *layer)
{
  JsonArray *nodes = array_member (layer, "inbound_nodes");
  JsonNode *first;
  const char *name;

  if (nodes == NULL || json_array_get_length (nodes) == 0)
    return NULL;
  if (json_array_get_length (nodes) > 1)
    return "";
  first = json_array_get_element (nodes, 0);
  if (JSON_NODE_HOLDS_ARRAY (first))
    {
      JsonArray *tensors = json_node_get_array (first);
      JsonNode *t;

      if (json_array_get_length (tensors) != 1)
        return "";
      t = json_array_get_element (tensors, 0);
      if (!JSON_NODE_HOLDS_ARRAY (t)
          || !qs_json_node_get_string (qs_json_array_element (json_node_get_array (t), 0), &name))
        return "";
      return name;
    }
  if (JSON_NODE_HOLDS_OBJECT (first))
    {
      JsonArray *args = array_member (json_node_get_object (first), "args");
      JsonObject *tensor, *config;
      JsonArray *history;

      if (args == NULL || json_array_get_length (args) != 1
          || !JSON_NODE_HOLDS_OBJECT (json_array_get_element (args, 0)))
        return "";
      tensor = json_array_get_object_element (args, 0);
      config = object_member (tensor, "config");
      history = array_member (config, "keras_history");
      if (!qs_json_node_get_string (qs_json_array_element (history, 0), &name))
        return "";
      return name;
    }
  return "";
}

/* The layers of a functional model in chain order, or NULL with an error
 * when they do not form one chain. */
static GPtrArray *
functional_chain (JsonArray  *layers,
                  GError    **error)
{
  g_autoptr(GPtrArray) chain = g_ptr_array_new ();
  g_autoptr(GHashTable) consumer = g_hash_table_new (g_str_hash, g_str_equal);
  JsonObject *start = NULL;
  guint n = json_array_get_length (layers);

  for (guint i = 0; i < n; i++)
    {
      JsonObject *layer = json_array_get_object_element (layers, i);
      JsonObject *config = object_member (layer, "config");
      const char *name = string_member (layer, "name");
      const char *from;

      if (name == NULL)
        name = string_member (config, "name");
      if (layer == NULL || name == NULL)
        {
          fail (error, QS_KERAS_MODEL_ERROR_BAD_CONFIG, "a functional layer has no name");
          return NULL;
        }
      from = inbound_name (layer);
      if (from == NULL)
        {
          if (start != NULL)
            {
              fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
                    "the model has several inputs; the engine runs a single chain of layers");
              return NULL;
            }
          start = layer;
          continue;
        }
      if (from[0] == '\0')
        {
          fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
                "layer “%s” (%s) takes several inputs; the engine runs a single chain of layers",
                name, string_member (layer, "class_name") != NULL ? string_member (layer, "class_name") : "?");
          return NULL;
        }
      if (!g_hash_table_insert (consumer, (gpointer) from, layer))
        {
          fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
                "layer “%s” feeds several layers; the engine runs a single chain of layers", from);
          return NULL;
        }
    }
  if (start == NULL)
    {
      fail (error, QS_KERAS_MODEL_ERROR_BAD_CONFIG, "the functional model has no input layer");
      return NULL;
    }
  for (JsonObject *layer = start; layer != NULL && chain->len <= n;)
    {
      const char *name = string_member (layer, "name");

      if (name == NULL)
        name = string_member (object_member (layer, "config"), "name");
      g_ptr_array_add (chain, layer);
      layer = g_hash_table_lookup (consumer, name);
    }
  if (chain->len != n)
    {
      fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED,
            "the model's layers do not form a single chain from its input");
      return NULL;
    }
  return g_steal_pointer (&chain);
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
  g_autoptr(GHashTable) by_layer = NULL;
  g_autoptr(GPtrArray) chain = NULL;
  JsonNode *root;
  JsonObject *model_object, *config;
  JsonArray *layers = NULL;
  const char *class_name;
  GPtrArray *tensors;
  QsKerasBuild b = { 0 };
  int h = 0, w = 0, c = 0;
  gboolean have_shape = FALSE;

  g_return_val_if_fail (QS_IS_WEIGHT_FILE (file), NULL);

  if (text == NULL)
    {
      fail (error, QS_KERAS_MODEL_ERROR_NO_ARCHITECTURE,
            "the file holds weights only (no Keras model_config), so there is no model to run");
      return NULL;
    }
  if (!qs_json_parser_load (parser, text, -1, QS_JSON_MAX_CONFIG_BYTES, "model_config", &local))
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
  model_object = json_node_get_object (root);
  class_name = NULL;
  if (!qs_json_member_string (model_object, "class_name", &class_name, &local))
    {
      fail (error, QS_KERAS_MODEL_ERROR_BAD_CONFIG, "model_config: %s", local->message);
      return NULL;
    }
  if (class_name == NULL)
    {
      fail (error, QS_KERAS_MODEL_ERROR_BAD_CONFIG, "model_config has no class_name");
      return NULL;
    }

  if (g_str_equal (class_name, "Sequential"))
    {
      JsonNode *config_node = member (model_object, "config");

      /* Keras 2.0-2.3 wrote the layer list as the config itself. */
      if (config_node != NULL && JSON_NODE_HOLDS_ARRAY (config_node))
        layers = json_node_get_array (config_node);
      else
        layers = array_member (object_member (model_object, "config"), "layers");
      if (layers == NULL)
        {
          fail (error, QS_KERAS_MODEL_ERROR_BAD_CONFIG, "the Sequential model_config has no layers");
          return NULL;
        }
      chain = g_ptr_array_new ();
      for (guint i = 0; i < json_array_get_length (layers); i++)
        {
          JsonNode *node = json_array_get_element (layers, i);

          if (!JSON_NODE_HOLDS_OBJECT (node))
            {
              fail (error, QS_KERAS_MODEL_ERROR_BAD_CONFIG, "layer %u of model_config is not an object", i);
              return NULL;
            }
          g_ptr_array_add (chain, json_node_get_object (node));
        }
      config = object_member (model_object, "config");
      {
        JsonArray *shape = array_member (config, "build_input_shape");

        if (shape != NULL)
          have_shape = shape_from_array (shape, &h, &w, &c);
      }
    }
  else if (g_str_equal (class_name, "Functional") || g_str_equal (class_name, "Model"))
    {
      config = object_member (model_object, "config");
      layers = array_member (config, "layers");
      if (layers == NULL)
        {
          fail (error, QS_KERAS_MODEL_ERROR_BAD_CONFIG, "the functional model_config has no layers");
          return NULL;
        }
      for (guint i = 0; i < json_array_get_length (layers); i++)
        if (!JSON_NODE_HOLDS_OBJECT (json_array_get_element (layers, i)))
          {
            fail (error, QS_KERAS_MODEL_ERROR_BAD_CONFIG, "layer %u of model_config is not an object", i);
            return NULL;
          }
      chain = functional_chain (layers, error);
      if (chain == NULL)
        return NULL;
    }
  else
    {
      fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED, "model_config describes a %s; the engine runs Sequential "
            "and single-chain functional models", class_name);
      return NULL;
    }

  /* The input shape: an InputLayer's, else the first layer's batch_input_shape. */
  for (guint i = 0; i < chain->len; i++)
    if (input_shape_of (g_ptr_array_index (chain, i), &h, &w, &c))
      {
        have_shape = TRUE;
        break;
      }
  if (!have_shape)
    {
      fail (error, QS_KERAS_MODEL_ERROR_BAD_CONFIG, "model_config does not give the input shape");
      return NULL;
    }

  by_layer = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) g_ptr_array_unref);
  tensors = qs_weight_file_get_tensors (file);
  for (guint i = 0; i < tensors->len; i++)
    {
      QsTensorInfo *info = g_ptr_array_index (tensors, i);
      GPtrArray *list = g_hash_table_lookup (by_layer, info->layer);

      if (list == NULL)
        {
          list = g_ptr_array_new ();
          g_hash_table_insert (by_layer, info->layer, list);
        }
      g_ptr_array_add (list, info);
    }

  b.file = file;
  b.by_layer = by_layer;
  b.model = qs_engine_model_new (h, w, c);
  if (b.model == NULL)
    {
      g_set_error (error, QS_ERROR, QS_ERROR_TOO_LARGE,
                   "the model's input of %dx%dx%d is too large for the engine (more than %zu values)",
                   h, w, c, QS_ENGINE_MAX_MAP_ELEMENTS);
      return NULL;
    }
  for (guint i = 0; i < chain->len; i++)
    if (!add_layer (&b, g_ptr_array_index (chain, i), error))
      {
        qs_engine_model_free (b.model);
        return NULL;
      }
  if (qs_engine_model_get_n_layers (b.model) == 0)
    {
      qs_engine_model_free (b.model);
      fail (error, QS_KERAS_MODEL_ERROR_UNSUPPORTED, "the model has no layers to run");
      return NULL;
    }
  return b.model;
}
