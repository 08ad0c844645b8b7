/* test-keras-apps.c: the Keras Applications architectures, as tf.keras 2.x saves them, built and run by the engine.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * tests/data/keras-apps/ is written by tests/reference/make_keras_applications.py,
 * which runs tf-keras' own application code (InceptionV3, ResNet50,
 * ResNet50V2, DenseNet121, Xception, EfficientNetB0, MobileNet,
 * MobileNetV3Small, NASNetMobile, ConvNeXtTiny, VGG16, InceptionResNetV2 in
 * its CustomScaleLayer and its tf.keras 2.11 Lambda forms, EfficientNetV2,
 * RegNet, ResNetRS, ResNet101, ResNet152V2, DenseNet169, MobileNetV3Large,
 * NASNetLarge, EfficientNetB3) against a stand-in
 * for tf.keras and saves the graphs in Keras 2's h5 layout.
 *  - /keras-apps/graph/<name>: each architecture's model_config, with
 *    random weights written here in the shapes the script read off the
 *    graph (architectures.json), builds: the file lists every weight, the
 *    engine has one weighted layer per convolution and dense layer of the
 *    config (two per separable one), the input and class count the
 *    config gives, LayerNormalization runs in float in the integer path,
 *    and float32 and int8 forward passes give finite outputs.
 *  - /keras-apps/fp32/<name>, /keras-apps/int8/<name>: reduced versions
 *    (the applications' own builders at a smaller width, depth and input;
 *    Xception's and InceptionResNetV2's own code with narrower layers and
 *    fewer blocks)
 *    with their weights and images, and the float32 logits of the
 *    script's PyTorch interpreter of the config (reference.json): the
 *    engine's predictions equal the reference's on every image (either of a
 *    near tie), its logits agree to 1e-4 of the largest; int8 runs, with
 *    finite outputs and every LayerNormalization in float; where
 *    reference.json has the script's PyTorch fake quantization of the
 *    engine's default integer path (int8_logits: per-channel symmetric
 *    weights after BatchNormalization folding, asymmetric per-tensor
 *    activations from the same calibration images, a SeparableConv2D's
 *    depthwise output quantized on its own), the engine's logit
 *    SQNR against float32 is at most 3 dB below the simulation's; top-1
 *    agreement with either is reported (random weights make deep networks
 *    fragile in int8 in a way trained ones are not, and 8 images are few).
 *  - /keras-apps/keras3/...: the same for Keras 3 (tests/data/keras3-apps/,
 *    make_keras3_applications.py: Keras 3's application code, .keras
 *    archives, full-size configs gzip'd; graph tests write a
 *    NAME.weights.h5 with NAME.config.json beside it), and
 *    /keras-apps/keras3/names/<name>: every tensor of the archive is named
 *    by its layer and read from the place the script's own walk of
 *    config.json gives.
 * QS_KERAS_APPS_DIR points the Keras 2 reduced models at another directory
 * written by the script (the full-size models: make_keras_applications.py --reference).
 */
#include <math.h>
#include <string.h>

#include <gio/gio.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "engine-fixture.h"
#include "engine/qs-engine.h"
#include "keras-fixture.h"
#include "model/qs-dataset.h"
#include "model/qs-keras-model.h"
#include "qs-test-reference.h"

#define LOGIT_TOLERANCE 1e-4
/* How far the engine's int8 logit SQNR may fall below the fake-quantization reference's. */
#define INT8_SQNR_MARGIN_DB 3.0

static struct {
  char *tmpdir;
  char *apps_dir;
  char *keras3_dir;
} fx;

/* @path's JSON; a name ending in .gz is gzip'd (Keras 3's configs, twice the size of Keras 2's). */
static JsonParser *
load_json (const char *path)
{
  g_autoptr(GError) error = NULL;
  JsonParser *parser = json_parser_new ();

  if (g_str_has_suffix (path, ".gz"))
    {
      g_autoptr(GFile) file = g_file_new_for_path (path);
      g_autoptr(GFileInputStream) compressed = g_file_read (file, NULL, &error);
      g_autoptr(GZlibDecompressor) gunzip = g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP);
      g_autoptr(GInputStream) stream = NULL;

      g_assert_no_error (error);
      stream = g_converter_input_stream_new (G_INPUT_STREAM (compressed), G_CONVERTER (gunzip));
      json_parser_load_from_stream (parser, stream, NULL, &error);
    }
  else
    json_parser_load_from_file (parser, path, &error);
  g_assert_no_error (error);
  return parser;
}

/* The names of @config's layers of @class_name, nested models included. */
static void
collect_class (JsonObject *model,
               const char *class_name,
               GHashTable *names)
{
  JsonArray *layers = json_object_get_array_member (json_object_get_object_member (model, "config"), "layers");

  for (guint i = 0; i < json_array_get_length (layers); i++)
    {
      JsonObject *layer = json_array_get_object_element (layers, i);
      const char *cls = json_object_get_string_member (layer, "class_name");

      if (g_str_equal (cls, "Sequential") || g_str_equal (cls, "Functional"))
        collect_class (layer, class_name, names);
      else if (g_str_equal (cls, class_name))
        g_hash_table_add (names, g_strdup (json_object_get_string_member (json_object_get_object_member (layer,
                                                                                                          "config"),
                                                                        "name")));
    }
}

/* Kernels scaled by fan-in, so that a hundred layers of random weights stay finite. */
static double
weight_scale (const KerasFixtureWeight *w)
{
  double fan_in = w->rank == 4 ? (double) (w->dims[0] * w->dims[1] * w->dims[2]) : w->rank == 2 ? (double) w->dims[0]
                                                                                                : 0.0;

  return fan_in > 0.0 ? sqrt (3.0 / fan_in) : 0.1;
}

static float *
random_images (GRand *rng,
               size_t count,
               int    h,
               int    w,
               int    c)
{
  size_t n = count * (size_t) h * (size_t) w * (size_t) c;
  float *images = g_new (float, n);

  for (size_t i = 0; i < n; i++)
    images[i] = (float) g_rand_double_range (rng, -1.0, 1.0);
  return images;
}

static gboolean
all_finite (const float *values,
            size_t       n)
{
  for (size_t i = 0; i < n; i++)
    if (!isfinite (values[i]))
      return FALSE;
  return TRUE;
}

/* A quantized model of @model under the default schemes, calibrated on @calib. */
static QsQuantizedModel *
quantize (QsEngineModel         *model,
          const QsEngineDataset *calib,
          const char            *name)
{
  QsActivationScheme act;
  char message[256] = "";
  QsQuantizedModel *quantized;

  qs_activation_scheme_init_default (&act);
  quantized = engine_fixture_quantize_default (model, calib, &act, message, sizeof message);
  if (quantized == NULL)
    g_test_message ("%s: %s", name, message);
  return quantized;
}

static float *
forward (QsEngineModel          *model,
         const QsQuantizedModel *quantized,
         const float            *images,
         size_t                  count)
{
  size_t size = qs_engine_get_buffer_size (model, quantized, count);
  g_autofree void *scratch = g_malloc (MAX (size, 1));
  float *out = g_new (float, count * qs_engine_model_get_n_outputs (model));

  g_assert_cmpint (qs_engine_forward (model, quantized, images, count, scratch, size, out), ==, QS_ENGINE_OK);
  return out;
}

static void
test_graph (gconstpointer data)
{
  JsonObject *arch = (JsonObject *) data;
  const char *name = json_object_get_string_member (arch, "name");
  JsonArray *weights = json_object_get_array_member (arch, "weights");
  JsonArray *input = json_object_get_array_member (arch, "input");
  guint n_weights = json_array_get_length (weights);
  gboolean keras3 = json_object_get_boolean_member_with_default (arch, "keras3", FALSE);
  g_autofree char *config_path = g_build_filename (json_object_get_string_member (arch, "dir"),
                                                   json_object_get_string_member (arch, "config"), NULL);
  g_autoptr(JsonParser) config_parser = load_json (config_path);
  g_autofree char *config = NULL;
  g_autofree KerasFixtureWeight *list = g_new0 (KerasFixtureWeight, n_weights);
  g_autoptr(GPtrArray) strings = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GHashTable) layer_norms = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GRand) rng = g_rand_new_with_seed (7);
  g_autoptr(GError) error = NULL;
  g_autoptr(QsWeightFile) file = NULL;
  g_autofree char *file_name = g_strconcat (name, ".h5", NULL);
  g_autofree char *path = NULL;
  g_autofree float *images = NULL;
  g_autofree float *fp32 = NULL;
  g_autofree float *int8 = NULL;
  g_autoptr(QsDataset) calib = NULL;
  QsQuantizedModel *quantized;
  QsEngineModel *model;
  int h, w, c;
  size_t classes = (size_t) json_object_get_int_member (arch, "classes");
  guint in_float = 0;

  config = json_to_string (json_parser_get_root (config_parser), FALSE);
  for (guint i = 0; i < n_weights; i++)
    {
      JsonArray *entry = json_array_get_array_element (weights, i);
      JsonArray *dims = json_array_get_array_element (entry, 2);

      /* Keras 2: [group, name, shape]; Keras 3: [stored path, variable, shape] */
      g_ptr_array_add (strings, g_strdup (json_array_get_string_element (entry, 0)));
      if (keras3)
        list[i].stored = g_ptr_array_index (strings, strings->len - 1);
      else
        list[i].group = g_ptr_array_index (strings, strings->len - 1);
      list[i].name = json_array_get_string_element (entry, 1);
      list[i].rank = (int) json_array_get_length (dims);
      g_assert_cmpint (list[i].rank, <=, 4);
      for (int d = 0; d < list[i].rank; d++)
        list[i].dims[d] = (hsize_t) json_array_get_int_element (dims, (guint) d);
      list[i].scale = weight_scale (&list[i]);
    }
  if (keras3)
    path = keras_fixture_write_keras3 (fx.tmpdir, name, config, list, n_weights, rng);
  else
    path = keras_fixture_write (fx.tmpdir, file_name, config, list, n_weights, TRUE, rng, NULL);
  file = qs_weight_file_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (qs_weight_file_get_tensors (file)->len, ==, n_weights);

  model = qs_keras_model_load (file, &error);
  if (model == NULL)
    {
      g_test_fail_printf ("%s: %s", name, error->message);
      return;
    }
  qs_engine_model_get_input_shape (model, &h, &w, &c);
  g_assert_cmpint (h, ==, json_array_get_int_element (input, 0));
  g_assert_cmpint (w, ==, json_array_get_int_element (input, 1));
  g_assert_cmpint (c, ==, json_array_get_int_element (input, 2));
  g_assert_cmpuint (qs_engine_model_get_n_outputs (model), ==, classes);
  g_assert_cmpuint (qs_engine_model_get_n_weighted (model), ==,
                    (guint) json_object_get_int_member (arch, "weighted_layers"));
  g_test_message ("%s: %" G_GINT64_FORMAT " Keras layers, %zu engine layers, %zu weighted, %u tensors", name,
                  json_object_get_int_member (arch, "keras_layers"), qs_engine_model_get_n_layers (model),
                  qs_engine_model_get_n_weighted (model), n_weights);

  /* One image each way: these are full-size models. */
  images = random_images (rng, 1, h, w, c);
  fp32 = forward (model, NULL, images, 1);
  g_assert_true (all_finite (fp32, classes));

  calib = qs_dataset_new_take (random_images (rng, 1, h, w, c), NULL, 1, h, w, c, "random");
  quantized = quantize (model, qs_dataset_get_view (calib), name);
  g_assert_nonnull (quantized);
  int8 = forward (model, quantized, images, 1);
  g_assert_true (all_finite (int8, classes));

  collect_class (json_node_get_object (json_parser_get_root (config_parser)), "LayerNormalization", layer_norms);
  for (size_t i = 0; i < qs_engine_model_get_n_layers (model); i++)
    {
      QsLayerInfo info;

      g_assert_true (qs_engine_model_get_layer (model, i, &info));
      if (g_hash_table_contains (layer_norms, info.name))
        {
          g_assert_true (qs_quantized_model_layer_runs_in_float (quantized, i));
          in_float++;
        }
    }
  g_assert_cmpuint (in_float, ==, g_hash_table_size (layer_norms));
  qs_quantized_model_free (quantized);
  qs_engine_model_free (model);
  g_unlink (path);
  if (keras3)
    {
      g_autofree char *config_name = g_strconcat (name, ".config.json", NULL);
      g_autofree char *written = g_build_filename (fx.tmpdir, config_name, NULL);

      g_unlink (written);
    }
}

/* The functions converters write as TFOpLambda layers, with a constant tensor operand
 * (EfficientNet's per-channel multiply), checked against the same computation by hand:
 * x (2x2x3) * [1, -2, 0.5] -> tf.nn.relu -> tf.math.reduce_mean over [1, 2] -> Dense (2)
 * -> tf.nn.softmax (dropped: the engine scores the argmax of the logits). */
static const char tf_functions_config[] =
  "{\"class_name\": \"Functional\", \"config\": {\"name\": \"f\", \"layers\": ["
  "{\"class_name\": \"InputLayer\", \"config\": {\"batch_input_shape\": [null, 2, 2, 3], \"name\": \"in\"},"
  " \"name\": \"in\", \"inbound_nodes\": []},"
  "{\"class_name\": \"TFOpLambda\", \"config\": {\"name\": \"tf.math.multiply\", \"function\": \"math.multiply\"},"
  " \"name\": \"tf.math.multiply\", \"inbound_nodes\": [[[\"in\", 0, 0, {\"y\": [[[[1.0, -2.0, 0.5]]]], \"name\": null}]]]},"
  "{\"class_name\": \"TFOpLambda\", \"config\": {\"name\": \"tf.nn.relu\", \"function\": \"nn.relu\"},"
  " \"name\": \"tf.nn.relu\", \"inbound_nodes\": [[[\"tf.math.multiply\", 0, 0, {\"name\": null}]]]},"
  "{\"class_name\": \"TFOpLambda\", \"config\": {\"name\": \"tf.math.reduce_mean\", \"function\": \"math.reduce_mean\"},"
  " \"name\": \"tf.math.reduce_mean\", \"inbound_nodes\": [[[\"tf.nn.relu\", 0, 0, {\"axis\": [1, 2], \"keepdims\": false}]]]},"
  "{\"class_name\": \"Dense\", \"config\": {\"name\": \"dense\", \"units\": 2, \"activation\": \"linear\", \"use_bias\": true},"
  " \"name\": \"dense\", \"inbound_nodes\": [[[\"tf.math.reduce_mean\", 0, 0, {}]]]},"
  "{\"class_name\": \"TFOpLambda\", \"config\": {\"name\": \"tf.nn.softmax\", \"function\": \"nn.softmax\"},"
  " \"name\": \"tf.nn.softmax\", \"inbound_nodes\": [[[\"dense\", 0, 0, {\"name\": null}]]]}],"
  " \"input_layers\": [[\"in\", 0, 0]], \"output_layers\": [[\"tf.nn.softmax\", 0, 0]]}}";

static void
test_tf_functions (void)
{
  static const KerasFixtureWeight weights[] = {
    { NULL, "dense/kernel", 2, { 3, 2 }, 0.0 },
    { NULL, "dense/bias", 1, { 2 }, 0.0 },
  };
  static const double k[3] = { 1.0, -2.0, 0.5 };
  g_autoptr(GHashTable) values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(GRand) rng = g_rand_new_with_seed (11);
  g_autoptr(GError) error = NULL;
  g_autofree char *path = keras_fixture_write (fx.tmpdir, "tf-functions.h5", tf_functions_config, weights,
                                               G_N_ELEMENTS (weights), TRUE, rng, values);
  g_autoptr(QsWeightFile) file = qs_weight_file_open (path, &error);
  g_autofree float *images = random_images (rng, 3, 2, 2, 3);
  g_autofree float *out = NULL;
  const float *kernel, *bias;
  QsEngineModel *model;

  g_assert_no_error (error);
  model = qs_keras_model_load (file, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (qs_engine_model_get_n_outputs (model), ==, 2);
  kernel = g_hash_table_lookup (values, "dense/kernel");
  bias = g_hash_table_lookup (values, "dense/bias");
  out = forward (model, NULL, images, 3);
  for (int n = 0; n < 3; n++)
    for (int j = 0; j < 2; j++)
      {
        double logit = bias[j];

        for (int c = 0; c < 3; c++)
          {
            double mean = 0.0;

            for (int p = 0; p < 4; p++)
              mean += MAX (images[(n * 4 + p) * 3 + c] * k[c], 0.0) / 4.0;
            logit += mean * kernel[c * 2 + j];
          }
        g_assert_cmpfloat_with_epsilon (out[n * 2 + j], logit, 1e-5);
      }
  qs_engine_model_free (model);
  g_unlink (path);
}

/* The constant of tf_functions_config in other shapes against its 2x2x3
 * channels_last input: a number, (3,) and (1, 3) run per channel or as one
 * value; a ragged list, a constant with more axes than the tensor, one
 * running along the width ((2, 1)) and one that does not broadcast ((2,))
 * are refused in one line. */
static void
test_tf_constant_shapes (void)
{
  static const struct {
    const char *y, *message;
  } cases[] = {
    { "2.0", NULL },
    { "[1.0, -2.0, 0.5]", NULL },
    { "[[1.0, -2.0, 0.5]]", NULL },
    { "[[1.0, -2.0], [0.5]]", "takes a second operand that is neither a number nor a tensor" },
    { "[[[[[1.0, -2.0, 0.5]]]]]", "constant of shape (1, 1, 1, 1, 3): the constant has more axes than the tensor" },
    { "[[1.0], [2.0]]", "channels_last (2, 2, 3) input with a constant of shape (2, 1): the constant varies along an "
      "axis other than the channels" },
    { "[1.0, 2.0]", "constant of shape (2,): the shapes do not broadcast" },
  };
  static const KerasFixtureWeight weights[] = {
    { NULL, "dense/kernel", 2, { 3, 2 }, 0.0 },
    { NULL, "dense/bias", 1, { 2 }, 0.0 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GString) config = g_string_new (tf_functions_config);
      g_autoptr(GRand) rng = g_rand_new_with_seed (12);
      g_autoptr(GError) error = NULL;
      g_autofree char *path = NULL;
      g_autoptr(QsWeightFile) file = NULL;
      QsEngineModel *model;

      g_assert_cmpuint (g_string_replace (config, "[[[[1.0, -2.0, 0.5]]]]", cases[i].y, 1), ==, 1);
      path = keras_fixture_write (fx.tmpdir, "tf-constant.h5", config->str, weights, G_N_ELEMENTS (weights), TRUE,
                                  rng, NULL);
      file = qs_weight_file_open (path, &error);
      g_assert_no_error (error);
      model = qs_keras_model_load (file, &error);
      if (cases[i].message == NULL)
        {
          g_assert_no_error (error);
          qs_engine_model_free (model);
        }
      else
        {
          g_assert_null (model);
          g_assert_error (error, QS_KERAS_MODEL_ERROR, QS_KERAS_MODEL_ERROR_UNSUPPORTED);
          g_test_message ("%s", error->message);
          g_assert_nonnull (strstr (error->message, cases[i].message));
          g_assert_null (strchr (error->message, '\n'));
        }
      g_unlink (path);
    }
}

/* MobileNetV3's hard swish as TF 2.3 saved it, with TensorFlowOpLayer operations:
 * x * ReLU6 (x + 3) * (1 / 6), the operations named "tf_op_layer_AddV2" by their
 * readers and "AddV2" in their configs, the constants in "constants". */
static const char tf_op_layer_config[] =
  "{\"class_name\": \"Functional\", \"config\": {\"name\": \"m\", \"layers\": ["
  "{\"class_name\": \"InputLayer\", \"config\": {\"batch_input_shape\": [null, 1, 1, 8], \"name\": \"in\"},"
  " \"name\": \"in\", \"inbound_nodes\": []},"
  "{\"class_name\": \"TensorFlowOpLayer\", \"config\": {\"name\": \"AddV2\", \"trainable\": true, \"dtype\": \"float32\","
  " \"node_def\": {\"name\": \"AddV2\", \"op\": \"AddV2\", \"input\": [\"in\", \"AddV2/y\"],"
  " \"attr\": {\"T\": {\"type\": \"DT_FLOAT\"}}}, \"constants\": {\"1\": 3.0}},"
  " \"name\": \"tf_op_layer_AddV2\", \"inbound_nodes\": [[[\"in\", 0, 0, {}]]]},"
  "{\"class_name\": \"ReLU\", \"config\": {\"name\": \"re_lu\", \"max_value\": 6.0, \"negative_slope\": 0.0,"
  " \"threshold\": 0.0}, \"name\": \"re_lu\", \"inbound_nodes\": [[[\"tf_op_layer_AddV2\", 0, 0, {}]]]},"
  "{\"class_name\": \"TensorFlowOpLayer\", \"config\": {\"name\": \"Mul\", \"trainable\": true, \"dtype\": \"float32\","
  " \"node_def\": {\"name\": \"Mul\", \"op\": \"Mul\", \"input\": [\"re_lu/Relu6\", \"Mul/y\"],"
  " \"attr\": {\"T\": {\"type\": \"DT_FLOAT\"}}}, \"constants\": {\"1\": 0.16666666666666666}},"
  " \"name\": \"tf_op_layer_Mul\", \"inbound_nodes\": [[[\"re_lu\", 0, 0, {}]]]},"
  "{\"class_name\": \"Multiply\", \"config\": {\"name\": \"multiply\"}, \"name\": \"multiply\","
  " \"inbound_nodes\": [[[\"in\", 0, 0, {}], [\"tf_op_layer_Mul\", 0, 0, {}]]]}],"
  " \"input_layers\": [[\"in\", 0, 0]], \"output_layers\": [[\"multiply\", 0, 0]]}}";

static void
test_tf_op_layer (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GRand) rng = g_rand_new_with_seed (5);
  g_autofree char *path = keras_fixture_write (fx.tmpdir, "tf-op-layer.h5", tf_op_layer_config, NULL, 0, TRUE,
                                               rng, NULL);
  g_autoptr(QsWeightFile) file = qs_weight_file_open (path, &error);
  float images[8] = { -5.0f, -3.0f, -1.5f, 0.0f, 0.5f, 2.0f, 3.0f, 7.0f };
  g_autofree float *out = NULL;
  QsEngineModel *model;

  g_assert_no_error (error);
  model = qs_keras_model_load (file, &error);
  g_assert_no_error (error);
  /* One layer: the three operations and the product are one hard swish. */
  g_assert_cmpuint (qs_engine_model_get_n_layers (model), ==, 1);
  out = forward (model, NULL, images, 1);
  for (int i = 0; i < 8; i++)
    g_assert_cmpfloat_with_epsilon (out[i], images[i] * CLAMP (images[i] + 3.0, 0.0, 6.0) / 6.0, 1e-6);
  qs_engine_model_free (model);
  g_unlink (path);
}

/* Whether @predicted is the reference's class for @image, or the other of a near tie it lists. */
static gboolean
matches_reference (JsonObject *entry,
                   guint       image,
                   int32_t     predicted)
{
  JsonArray *ties = json_object_get_array_member (entry, "fp32_near_ties");

  if (predicted == json_array_get_int_element (json_object_get_array_member (entry, "fp32_predictions"), image))
    return TRUE;
  for (guint i = 0; i < json_array_get_length (ties); i++)
    {
      JsonArray *tie = json_array_get_array_element (ties, i);

      if (json_array_get_int_element (tie, 0) == image
          && (json_array_get_int_element (tie, 1) == predicted || json_array_get_int_element (tie, 2) == predicted))
        return TRUE;
    }
  return FALSE;
}

static int32_t
argmax (const float *row,
        size_t       n)
{
  size_t best = 0;

  for (size_t k = 1; k < n; k++)
    if (row[k] > row[best])
      best = k;
  return (int32_t) best;
}

/* 10 log10 of the reference's float32 logits' energy over that of their difference from @int8
 * (the engine's) or, when it is NULL, from the JSON rows @fake. */
static double
logit_sqnr (JsonArray   *fp32,
            JsonArray   *fake,
            const float *int8,
            size_t       rows,
            size_t       classes)
{
  double signal = 0.0, noise = 0.0;

  for (guint i = 0; i < rows; i++)
    {
      JsonArray *row = json_array_get_array_element (fp32, i);

      for (guint k = 0; k < classes; k++)
        {
          double want = json_array_get_double_element (row, k);
          double got = int8 != NULL ? int8[i * classes + k]
                                    : json_array_get_double_element (json_array_get_array_element (fake, i), k);

          signal += want * want;
          noise += (got - want) * (got - want);
        }
    }
  return 10.0 * log10 (signal / MAX (noise, 1e-300));
}

typedef struct {
  QsEngineModel *model;
  QsDataset     *images;
  GHashTable    *layer_norms;   /* names of the config's LayerNormalization layers */
} Loaded;

static gboolean
load_reference_model (JsonObject *entry,
                      Loaded     *out)
{
  const char *dir = json_object_get_string_member (entry, "dir");
  g_autofree char *path = g_build_filename (dir, json_object_get_string_member (entry, "file"), NULL);
  g_autofree char *images = g_build_filename (dir, json_object_get_string_member (entry, "images"), NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(QsWeightFile) file = qs_weight_file_open (path, &error);

  g_assert_no_error (error);
  out->model = qs_keras_model_load (file, &error);
  if (out->model == NULL)
    {
      g_test_fail_printf ("%s: %s", json_object_get_string_member (entry, "name"), error->message);
      return FALSE;
    }
  out->images = qs_dataset_load_hdf5 (images, &error);
  g_assert_no_error (error);
  {
    g_autoptr(JsonParser) parser = json_parser_new ();

    json_parser_load_from_data (parser, qs_weight_file_get_model_config (file), -1, &error);
    g_assert_no_error (error);
    out->layer_norms = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
    collect_class (json_node_get_object (json_parser_get_root (parser)), "LayerNormalization", out->layer_norms);
  }
  return TRUE;
}

static void
test_fp32 (gconstpointer data)
{
  JsonObject *entry = (JsonObject *) data;
  const char *name = json_object_get_string_member (entry, "name");
  JsonArray *logits = json_object_get_array_member (entry, "fp32_logits");
  guint count = json_array_get_length (logits);
  Loaded m;
  const QsEngineDataset *view;
  g_autofree float *out = NULL;
  size_t classes;
  guint differ = 0;
  double worst;

  if (!load_reference_model (entry, &m))
    return;
  view = qs_dataset_get_view (m.images);
  classes = qs_engine_model_get_n_outputs (m.model);
  g_assert_cmpuint (view->count, ==, count);
  out = forward (m.model, NULL, view->images, count);
  worst = qs_test_worst_logit_error (logits, out, count, (guint) classes);
  for (guint i = 0; i < count; i++)
    if (!matches_reference (entry, i, argmax (out + i * classes, classes)))
      differ++;
  g_test_message ("%s fp32: %u of %u predictions differ from the reference; logits within %.2g of the largest",
                  name, differ, count, worst);
  g_assert_cmpuint (differ, ==, 0);
  g_assert_cmpfloat (worst, <=, LOGIT_TOLERANCE);
  g_hash_table_unref (m.layer_norms);
  qs_dataset_unref (m.images);
  qs_engine_model_free (m.model);
}

static void
test_int8 (gconstpointer data)
{
  JsonObject *entry = (JsonObject *) data;
  const char *name = json_object_get_string_member (entry, "name");
  Loaded m;
  const QsEngineDataset *view;
  g_autofree float *fp32 = NULL;
  g_autofree float *int8 = NULL;
  QsQuantizedModel *quantized;
  size_t classes;
  guint same = 0;
  g_autoptr(GString) names = g_string_new (NULL);

  if (!load_reference_model (entry, &m))
    return;
  view = qs_dataset_get_view (m.images);
  classes = qs_engine_model_get_n_outputs (m.model);
  /* Calibrated on the images it scores: this checks that the integer path runs the graph, not accuracy. */
  quantized = quantize (m.model, view, name);
  g_assert_nonnull (quantized);
  fp32 = forward (m.model, NULL, view->images, view->count);
  int8 = forward (m.model, quantized, view->images, view->count);
  g_assert_true (all_finite (int8, view->count * classes));
  for (size_t i = 0; i < view->count; i++)
    same += argmax (fp32 + i * classes, classes) == argmax (int8 + i * classes, classes);
  for (size_t i = 0; i < qs_engine_model_get_n_layers (m.model); i++)
    if (qs_quantized_model_layer_runs_in_float (quantized, i))
      {
        QsLayerInfo info;

        qs_engine_model_get_layer (m.model, i, &info);
        g_string_append_printf (names, " %s", info.name);
      }
  g_test_message ("%s int8: same top-1 as float32 on %u of %zu images; in float:%s", name, same, view->count,
                  names->len ? names->str : " none");
  if (json_object_has_member (entry, "int8_logits"))
    {
      JsonArray *fake = json_object_get_array_member (entry, "int8_logits");
      double worst = qs_test_worst_logit_error (fake, int8, (guint) view->count, (guint) classes);
      double worst_fp32 = qs_test_worst_logit_error (json_object_get_array_member (entry, "fp32_logits"), int8,
                                                     (guint) view->count, (guint) classes);

      guint agree = 0;

      for (guint i = 0; i < view->count; i++)
        {
          JsonArray *row = json_array_get_array_element (fake, i);
          int32_t best = 0;

          for (guint k = 1; k < classes; k++)
            if (json_array_get_double_element (row, k) > json_array_get_double_element (row, (guint) best))
              best = (int32_t) k;
          agree += best == argmax (int8 + i * classes, classes);
        }
      double sqnr = logit_sqnr (json_object_get_array_member (entry, "fp32_logits"), NULL, int8, view->count, classes);
      double sqnr_fake = logit_sqnr (json_object_get_array_member (entry, "fp32_logits"), fake, NULL, view->count,
                                     classes);

      g_test_message ("%s int8: logits within %.3g of the fake-quantization reference's largest (%.3g of float32's), "
                      "same top-1 on %u of %zu images; logit SQNR %.2f dB, the reference's %.2f dB",
                      name, worst, worst_fp32, agree, view->count, sqnr, sqnr_fake);
      /* Rounding in another order flips codes now and then, and a flipped code travels through
       * a deep random network: the two runs differ image by image as much as each differs from
       * float32, but an integer path that adds error of its own falls below the simulation. */
      g_assert_cmpfloat (sqnr, >=, sqnr_fake - INT8_SQNR_MARGIN_DB);
    }
  for (size_t i = 0; i < qs_engine_model_get_n_layers (m.model); i++)
    {
      QsLayerInfo info;

      qs_engine_model_get_layer (m.model, i, &info);
      if (g_hash_table_contains (m.layer_norms, info.name))
        g_assert_true (qs_quantized_model_layer_runs_in_float (quantized, i));
    }
  g_hash_table_unref (m.layer_norms);
  qs_quantized_model_free (quantized);
  qs_dataset_unref (m.images);
  qs_engine_model_free (m.model);
}

/* A Keras 3 archive's tensors are named by the model's layers ("/<nested model>/<layer>/<variable>"),
 * each read from the place in model.weights.h5 the script's own walk of config.json gives. */
static void
test_keras3_names (gconstpointer data)
{
  JsonObject *entry = (JsonObject *) data;
  JsonArray *expected = json_object_get_array_member (entry, "tensors");
  g_autofree char *path = g_build_filename (json_object_get_string_member (entry, "dir"),
                                            json_object_get_string_member (entry, "file"), NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(QsWeightFile) file = qs_weight_file_open (path, &error);
  g_autoptr(GHashTable) by_path = g_hash_table_new (g_str_hash, g_str_equal);
  GPtrArray *tensors;

  g_assert_no_error (error);
  tensors = qs_weight_file_get_tensors (file);
  for (guint i = 0; i < tensors->len; i++)
    {
      const QsTensorInfo *info = g_ptr_array_index (tensors, i);

      g_hash_table_insert (by_path, info->path, (gpointer) info);
    }
  g_assert_cmpuint (tensors->len, ==, json_array_get_length (expected));
  for (guint i = 0; i < json_array_get_length (expected); i++)
    {
      JsonArray *want = json_array_get_array_element (expected, i);
      const QsTensorInfo *info = g_hash_table_lookup (by_path, json_array_get_string_element (want, 0));

      if (info == NULL)
        {
          g_test_fail_printf ("no tensor %s", json_array_get_string_element (want, 0));
          continue;
        }
      g_assert_cmpstr (info->layer, ==, json_array_get_string_element (want, 1));
      g_assert_cmpstr (info->stored_path, ==, json_array_get_string_element (want, 2));
    }
}

/* Each architecture of @dir's architectures.json, as /keras-apps/<prefix>graph/<name>. */
static JsonParser *
add_graph_tests (const char *dir,
                 const char *prefix,
                 gboolean    keras3,
                 guint       at_least)
{
  g_autofree char *index_path = g_build_filename (dir, "architectures.json", NULL);
  JsonParser *index = load_json (index_path);
  JsonArray *architectures = json_object_get_array_member (json_node_get_object (json_parser_get_root (index)),
                                                           "architectures");

  g_assert_cmpuint (json_array_get_length (architectures), >=, at_least);
  for (guint i = 0; i < json_array_get_length (architectures); i++)
    {
      JsonObject *arch = json_array_get_object_element (architectures, i);
      g_autofree char *test = g_strdup_printf ("/keras-apps/%sgraph/%s", prefix,
                                               json_object_get_string_member (arch, "name"));

      json_object_set_string_member (arch, "dir", dir);
      json_object_set_boolean_member (arch, "keras3", keras3);
      g_test_add_data_func (test, arch, test_graph);
    }
  return index;
}

/* The reduced models of @dir's reference.json, as /keras-apps/<prefix>fp32/<name> and int8. */
static JsonParser *
add_reference_tests (const char *dir,
                     const char *prefix,
                     gboolean    keras3)
{
  g_autofree char *reference_path = g_build_filename (dir, "reference.json", NULL);
  JsonParser *reference = load_json (reference_path);
  JsonArray *models = json_object_get_array_member (json_node_get_object (json_parser_get_root (reference)), "models");

  g_assert_cmpuint (json_array_get_length (models), >=, 2);
  for (guint i = 0; i < json_array_get_length (models); i++)
    {
      JsonObject *entry = json_array_get_object_element (models, i);
      const char *name = json_object_get_string_member (entry, "name");
      g_autofree char *fp32 = g_strdup_printf ("/keras-apps/%sfp32/%s", prefix, name);
      g_autofree char *int8 = g_strdup_printf ("/keras-apps/%sint8/%s", prefix, name);

      json_object_set_string_member (entry, "dir", dir);
      g_test_add_data_func (fp32, entry, test_fp32);
      g_test_add_data_func (int8, entry, test_int8);
      if (keras3)
        {
          g_autofree char *names = g_strdup_printf ("/keras-apps/%snames/%s", prefix, name);

          g_test_add_data_func (names, entry, test_keras3_names);
        }
    }
  return reference;
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *keras2_dir = NULL;
  g_autoptr(JsonParser) index = NULL;
  g_autoptr(JsonParser) keras3_index = NULL;
  g_autoptr(JsonParser) reference = NULL;
  g_autoptr(JsonParser) keras3_reference = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  fx.tmpdir = g_dir_make_tmp ("qs-keras-apps-XXXXXX", &error);
  g_assert_no_error (error);
  fx.apps_dir = g_getenv ("QS_KERAS_APPS_DIR") != NULL ? g_strdup (g_getenv ("QS_KERAS_APPS_DIR"))
                                                       : g_test_build_filename (G_TEST_DIST, "data", "keras-apps", NULL);
  keras2_dir = g_test_build_filename (G_TEST_DIST, "data", "keras-apps", NULL);
  fx.keras3_dir = g_test_build_filename (G_TEST_DIST, "data", "keras3-apps", NULL);
  index = add_graph_tests (keras2_dir, "", FALSE, 10);
  keras3_index = add_graph_tests (fx.keras3_dir, "keras3/", TRUE, 9);
  g_test_add_func ("/keras-apps/tf-functions", test_tf_functions);
  g_test_add_func ("/keras-apps/tf-constant-shapes", test_tf_constant_shapes);
  g_test_add_func ("/keras-apps/tf-op-layer", test_tf_op_layer);
  reference = add_reference_tests (fx.apps_dir, "", FALSE);
  keras3_reference = add_reference_tests (fx.keras3_dir, "keras3/", TRUE);
  /* Every architecture reports, whatever the one before it did. */
  g_test_set_nonfatal_assertions ();
  status = g_test_run ();
  g_rmdir (fx.tmpdir);
  g_free (fx.tmpdir);
  g_free (fx.apps_dir);
  g_free (fx.keras3_dir);
  return status;
}
