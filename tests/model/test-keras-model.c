/* test-keras-model.c: engine models from Keras files written at test time, and the demo model.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <math.h>
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <hdf5.h>

#include "model/qs-error.h"
#include "model/qs-keras-model.h"
#include "model/qs-weight-file.h"
#include "keras-fixture.h"
#include "qs-test-hdf5.h"

static char *tmp_dir;
static GRand *rng;

/* ---- fixture helpers ------------------------------------------------------------------ */

typedef struct {
  const char *name;
  const char *weights[5];  /* short names, NULL-terminated */
  int         ranks[4];
  hsize_t     dims[4][4];
} LayerWeights;

/* Writes a Keras 2 model.save() file (keras-fixture.h) with each layer's
 * weights at model_weights/<layer>/<layer>/<name>:0 (or without ":0", as
 * Keras 3's legacy format, when @suffix is FALSE); returns their values in
 * @values (layer/name -> float array). */
static char *
write_keras (const char         *file_name,
             const char         *config,
             const LayerWeights *layers,
             gsize               n_layers,
             gboolean            suffix,
             GHashTable         *values)
{
  g_autoptr(GArray) weights = g_array_new (FALSE, TRUE, sizeof (KerasFixtureWeight));
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);

  for (gsize l = 0; l < n_layers; l++)
    for (int n = 0; layers[l].weights[n] != NULL; n++)
      {
        KerasFixtureWeight weight = { NULL, NULL, layers[l].ranks[n], { 0 } };
        char *name = g_strdup_printf ("%s/%s", layers[l].name, layers[l].weights[n]);

        g_ptr_array_add (names, name);
        weight.name = name;
        memcpy (weight.dims, layers[l].dims[n], sizeof weight.dims);
        g_array_append_val (weights, weight);
      }
  return keras_fixture_write (tmp_dir, file_name, config, (const KerasFixtureWeight *) weights->data,
                              weights->len, suffix, rng, values);
}

static QsEngineModel *
load_model (const char  *path,
            GError     **error)
{
  g_autoptr(QsWeightFile) file = qs_weight_file_open (path, NULL);

  g_assert_nonnull (file);
  return qs_keras_model_load (file, error);
}

/* ---- a Sequential model with every folding case ----------------------------------------- */

static const char sequential_config[] =
  "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"sequential\", \"layers\": ["
  "{\"class_name\": \"InputLayer\", \"config\": {\"batch_input_shape\": [null, 6, 6, 2], \"name\": \"input_1\"}},"
  "{\"class_name\": \"Conv2D\", \"config\": {\"name\": \"conv\", \"filters\": 3, \"kernel_size\": [3, 3],"
  "  \"strides\": [1, 1], \"padding\": \"same\", \"data_format\": \"channels_last\", \"dilation_rate\": [1, 1],"
  "  \"groups\": 1, \"activation\": \"linear\", \"use_bias\": true}},"
  "{\"class_name\": \"BatchNormalization\", \"config\": {\"name\": \"bn\", \"axis\": [3], \"epsilon\": 0.001,"
  "  \"center\": true, \"scale\": true}},"
  "{\"class_name\": \"ReLU\", \"config\": {\"name\": \"relu\", \"max_value\": null, \"negative_slope\": 0.0, \"threshold\": 0.0}},"
  "{\"class_name\": \"DepthwiseConv2D\", \"config\": {\"name\": \"dw\", \"kernel_size\": [3, 3], \"strides\": [2, 2],"
  "  \"padding\": \"same\", \"depth_multiplier\": 2, \"activation\": \"relu6\", \"use_bias\": false}},"
  "{\"class_name\": \"MaxPooling2D\", \"config\": {\"name\": \"pool\", \"pool_size\": [2, 2], \"padding\": \"valid\","
  "  \"strides\": null, \"data_format\": \"channels_last\"}},"
  "{\"class_name\": \"Flatten\", \"config\": {\"name\": \"flatten\", \"data_format\": \"channels_last\"}},"
  "{\"class_name\": \"Dropout\", \"config\": {\"name\": \"dropout\", \"rate\": 0.5}},"
  "{\"class_name\": \"Dense\", \"config\": {\"name\": \"out\", \"units\": 4, \"activation\": \"softmax\", \"use_bias\": true}}"
  "]}}";

static const LayerWeights sequential_weights[] = {
  { "conv", { "kernel", "bias", NULL }, { 4, 1 }, { { 3, 3, 2, 3 }, { 3 } } },
  { "bn", { "gamma", "beta", "moving_mean", "moving_variance" }, { 1, 1, 1, 1 }, { { 3 }, { 3 }, { 3 }, { 3 } } },
  { "relu", { NULL }, { 0 }, { { 0 } } },
  { "dw", { "depthwise_kernel", NULL }, { 4 }, { { 3, 3, 3, 2 } } },
  { "pool", { NULL }, { 0 }, { { 0 } } },
  { "flatten", { NULL }, { 0 }, { { 0 } } },
  { "dropout", { NULL }, { 0 }, { { 0 } } },
  { "out", { "kernel", "bias", NULL }, { 2, 1 }, { { 24, 4 }, { 4 } } },
};

/* The same network in double, Keras's way: BN after the convolution. */
static void
reference_forward (GHashTable  *w,
                   const float *image,
                   double      *logits)
{
  const float *k = g_hash_table_lookup (w, "conv/kernel"), *b = g_hash_table_lookup (w, "conv/bias");
  const float *g = g_hash_table_lookup (w, "bn/gamma"), *be = g_hash_table_lookup (w, "bn/beta");
  const float *mu = g_hash_table_lookup (w, "bn/moving_mean"), *var = g_hash_table_lookup (w, "bn/moving_variance");
  const float *dk = g_hash_table_lookup (w, "dw/depthwise_kernel");
  const float *dk2 = g_hash_table_lookup (w, "out/kernel"), *db = g_hash_table_lookup (w, "out/bias");
  double a[6][6][3], d[3][3][6], p[2][2][6];

  for (int y = 0; y < 6; y++)
    for (int x = 0; x < 6; x++)
      for (int o = 0; o < 3; o++)
        {
          double s = b[o];

          for (int ky = 0; ky < 3; ky++)
            for (int kx = 0; kx < 3; kx++)
              {
                int iy = y - 1 + ky, ix = x - 1 + kx;
                if (iy < 0 || iy >= 6 || ix < 0 || ix >= 6)
                  continue;
                for (int c = 0; c < 2; c++)
                  s += image[(iy * 6 + ix) * 2 + c] * (double) k[((ky * 3 + kx) * 2 + c) * 3 + o];
              }
          s = (s - mu[o]) / sqrt (var[o] + 0.001) * g[o] + be[o];
          a[y][x][o] = s > 0 ? s : 0;
        }
  /* 6x6 stride 2 'same' with a 3x3 window: pad_total 1, all at the bottom/right. */
  for (int y = 0; y < 3; y++)
    for (int x = 0; x < 3; x++)
      for (int o = 0; o < 6; o++)
        {
          double s = 0;
          int c = o / 2, m = o % 2;

          for (int ky = 0; ky < 3; ky++)
            for (int kx = 0; kx < 3; kx++)
              {
                int iy = 2 * y + ky, ix = 2 * x + kx;
                if (iy >= 6 || ix >= 6)
                  continue;
                s += a[iy][ix][c] * dk[((ky * 3 + kx) * 3 + c) * 2 + m];
              }
          d[y][x][o] = MIN (MAX (s, 0.0), 6.0);
        }
  for (int y = 0; y < 1; y++)
    for (int x = 0; x < 1; x++)
      for (int o = 0; o < 6; o++)
        p[y][x][o] = MAX (MAX (d[0][0][o], d[0][1][o]), MAX (d[1][0][o], d[1][1][o]));
  (void) p;
  for (int u = 0; u < 4; u++)
    {
      double s = db[u];

      for (int o = 0; o < 6; o++)
        s += p[0][0][o] * dk2[o * 4 + u];
      logits[u] = s;
    }
}

static void
test_sequential (gconstpointer data)
{
  gboolean suffix = GPOINTER_TO_INT (data);
  g_autoptr(GHashTable) values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;
  QsEngineModel *model;
  QsLayerInfo info;
  float image[72], out[4];
  double expect[4];
  size_t size;
  g_autofree void *scratch = NULL;
  static const char *const names[] = { "conv", "relu", "dw", "pool", "flatten", "out" };

  /* The dense kernel in the fixture is 24 x 4 because the architecture
   * would give 6 after pooling: the mismatch case first. */
  path = write_keras (suffix ? "seq-bad.h5" : "seq-bad-k3.h5", sequential_config, sequential_weights,
                      G_N_ELEMENTS (sequential_weights), suffix, NULL);
  model = load_model (path, &error);
  g_assert_null (model);
  g_assert_error (error, QS_KERAS_MODEL_ERROR, QS_KERAS_MODEL_ERROR_WEIGHTS);
  g_assert_nonnull (strstr (error->message, "“out”"));
  g_assert_nonnull (strstr (error->message, "24x4"));
  g_clear_error (&error);
  g_free (path);

  {
    LayerWeights fixed[G_N_ELEMENTS (sequential_weights)];

    memcpy (fixed, sequential_weights, sizeof fixed);
    fixed[7].dims[0][0] = 6;
    path = write_keras (suffix ? "seq.h5" : "seq-k3.h5", sequential_config, fixed, G_N_ELEMENTS (fixed),
                        suffix, values);
  }
  model = load_model (path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (model);

  /* BN folded, ReLU fused (a view), Dropout gone, softmax dropped. */
  g_assert_cmpuint (qs_engine_model_get_n_layers (model), ==, G_N_ELEMENTS (names));
  g_assert_cmpuint (qs_engine_model_get_n_weighted (model), ==, 3);
  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_assert_true (qs_engine_model_get_layer (model, i, &info));
      g_assert_cmpstr (info.name, ==, names[i]);
    }
  g_assert_true (qs_engine_model_get_layer (model, 1, &info));
  g_assert_true (info.fused);
  g_assert_true (qs_engine_model_get_layer (model, 2, &info));
  g_assert_cmpint (info.kind, ==, QS_LAYER_DEPTHWISE_CONV2D);
  g_assert_cmpint (info.out_h, ==, 3);
  g_assert_cmpint (info.out_c, ==, 6);
  g_assert_cmpuint (qs_engine_model_get_n_outputs (model), ==, 4);

  for (int i = 0; i < 72; i++)
    image[i] = (float) g_rand_double_range (rng, -1.0, 1.0);
  size = qs_engine_get_buffer_size (model, NULL, 1);
  scratch = g_malloc (size);
  g_assert_cmpint (qs_engine_forward (model, NULL, image, 1, scratch, size, out), ==, QS_ENGINE_OK);
  reference_forward (values, image, expect);
  for (int u = 0; u < 4; u++)
    g_assert_cmpfloat_with_epsilon (out[u], expect[u], 1e-4);
  qs_engine_model_free (model);
}

/* ---- what cannot run, and why ---------------------------------------------------------------- */

static void
expect_error (const char        *config,
              const LayerWeights *weights,
              gsize              n_weights,
              QsKerasModelError  code,
              const char        *const *words)
{
  static int serial;
  g_autofree char *name = g_strdup_printf ("err-%d.h5", serial++);
  g_autofree char *path = write_keras (name, config, weights, n_weights, TRUE, NULL);
  g_autoptr(GError) error = NULL;
  QsEngineModel *model = load_model (path, &error);

  g_assert_null (model);
  g_assert_error (error, QS_KERAS_MODEL_ERROR, (gint) code);
  for (int i = 0; words[i] != NULL; i++)
    if (strstr (error->message, words[i]) == NULL)
      g_error ("“%s” not in “%s”", words[i], error->message);
}

/* A Functional model whose layer “mine” of @class_name (config fields @fields) reads [in, in]. */
static const char *
scaled_residual_config (const char *class_name,
                        const char *fields)
{
  static char text[1024];

  g_snprintf (text, sizeof text,
              "{\"class_name\": \"Functional\", \"config\": {\"name\": \"f\", \"layers\": ["
              "{\"class_name\": \"InputLayer\", \"config\": {\"batch_input_shape\": [null, 4, 4, 2], \"name\": \"in\"},"
              " \"name\": \"in\", \"inbound_nodes\": []},"
              "{\"class_name\": \"%s\", \"config\": {\"name\": \"mine\", %s}, \"name\": \"mine\","
              " \"inbound_nodes\": [[[\"in\", 0, 0, {}], [\"in\", 0, 0, {}]]]}],"
              " \"input_layers\": [[\"in\", 0, 0]], \"output_layers\": [[\"mine\", 0, 0]]}}", class_name, fields);
  return text;
}

static void
test_unsupported (void)
{
  static const LayerWeights up[] = {
    { "up", { "kernel", NULL }, { 4 }, { { 3, 3, 4, 2 } } },
  };
  static const LayerWeights dense[] = {
    { "d", { "kernel", "bias", NULL }, { 2, 1 }, { { 5, 3 }, { 3 } } },
  };
  const char *transpose[] = { "“up”", "Conv2DTranspose", NULL };
  const char *selu[] = { "“d”", "selu", NULL };
  const char *format[] = { "“c”", "channels_middle", NULL };
  const char *bn[] = { "“bn”", "axis 1", NULL };
  const char *lambda[] = { "“scale”", "Lambda", NULL };

  expect_error ("{\"class_name\": \"Sequential\", \"config\": {\"layers\": ["
                "{\"class_name\": \"InputLayer\", \"config\": {\"batch_input_shape\": [null, 4, 4, 2], \"name\": \"in\"}},"
                "{\"class_name\": \"Conv2DTranspose\", \"config\": {\"name\": \"up\", \"filters\": 4, \"kernel_size\": [3, 3]}}]}}",
                up, 1, QS_KERAS_MODEL_ERROR_UNSUPPORTED_LAYER, transpose);
  expect_error ("{\"class_name\": \"Sequential\", \"config\": {\"layers\": ["
                "{\"class_name\": \"Dense\", \"config\": {\"name\": \"d\", \"units\": 3, \"activation\": \"selu\","
                " \"batch_input_shape\": [null, 5]}}]}}",
                dense, 1, QS_KERAS_MODEL_ERROR_UNSUPPORTED, selu);
  expect_error ("{\"class_name\": \"Sequential\", \"config\": {\"layers\": ["
                "{\"class_name\": \"Conv2D\", \"config\": {\"name\": \"c\", \"filters\": 2, \"kernel_size\": [3, 3],"
                " \"data_format\": \"channels_middle\", \"batch_input_shape\": [null, 8, 8, 1]}}]}}",
                NULL, 0, QS_KERAS_MODEL_ERROR_UNSUPPORTED, format);
  expect_error ("{\"class_name\": \"Sequential\", \"config\": {\"layers\": ["
                "{\"class_name\": \"InputLayer\", \"config\": {\"batch_input_shape\": [null, 4, 4, 1], \"name\": \"in\"}},"
                "{\"class_name\": \"BatchNormalization\", \"config\": {\"name\": \"bn\", \"axis\": 1}}]}}",
                (const LayerWeights[]) { { "bn", { "gamma", "beta", "moving_mean", "moving_variance" },
                                           { 1, 1, 1, 1 }, { { 4 }, { 4 }, { 4 }, { 4 } } } },
                1, QS_KERAS_MODEL_ERROR_UNSUPPORTED, bn);
  expect_error ("{\"class_name\": \"Sequential\", \"config\": {\"layers\": ["
                "{\"class_name\": \"InputLayer\", \"config\": {\"batch_input_shape\": [null, 4, 4, 1], \"name\": \"in\"}},"
                "{\"class_name\": \"Lambda\", \"config\": {\"name\": \"scale\"}}]}}",
                NULL, 0, QS_KERAS_MODEL_ERROR_UNSUPPORTED_LAYER, lambda);
  /* x + r * scale is recognised only as InceptionResNetV2's own Lambda (its module), with
   * its inputs' shape saved as the output shape; CustomScaleLayer needs a finite scale. */
  expect_error (scaled_residual_config ("Lambda", "\"module\": \"__main__\", \"function_type\": \"lambda\", "
                                        "\"output_shape\": [4, 4, 2], \"arguments\": {\"scale\": 0.5}"),
                NULL, 0, QS_KERAS_MODEL_ERROR_UNSUPPORTED_LAYER, (const char *[]) { "“mine”", "Lambda", NULL });
  expect_error (scaled_residual_config ("Lambda", "\"module\": \"keras.applications.inception_resnet_v2\", "
                                        "\"function_type\": \"lambda\", \"output_shape\": [4, 4, 3], "
                                        "\"arguments\": {\"scale\": 0.5}"),
                NULL, 0, QS_KERAS_MODEL_ERROR_UNSUPPORTED, (const char *[]) { "“mine”", "output shape", NULL });
  expect_error (scaled_residual_config ("CustomScaleLayer", "\"scale\": \"0.5\""),
                NULL, 0, QS_KERAS_MODEL_ERROR_UNSUPPORTED, (const char *[]) { "“mine”", "finite", NULL });
}

/* InceptionResNetV2's x + r * scale on [in, in] of a 1x1x3 input: x * (1 + scale), by hand,
 * in each form tf.keras and Keras 3 save it; a scale of 1 adds no affine layer. */
static void
test_scaled_residual (void)
{
  static const struct {
    const char *class_name;
    const char *fields;
    double      scale;
    size_t      layers;
  } forms[] = {
    { "CustomScaleLayer", "\"scale\": 0.17", 0.17, 2 },
    { "Custom>CustomScaleLayer", "\"scale\": 0.1", 0.1, 2 },
    { "Lambda", "\"function\": [\"4wIAAA==\", null, null], \"function_type\": \"lambda\", "
      "\"module\": \"keras.applications.inception_resnet_v2\", \"output_shape\": [4, 4, 2], "
      "\"output_shape_type\": \"raw\", \"arguments\": {\"scale\": 0.2}", 0.2, 2 },
    { "CustomScaleLayer", "\"scale\": 1.0", 1.0, 1 },
  };
  const float image[32] = { 1.0f, -2.0f, 4.0f, 0.5f, -0.25f, 3.0f, 7.0f, -8.0f };
  float out[32];

  for (gsize f = 0; f < G_N_ELEMENTS (forms); f++)
    {
      g_autofree char *name = g_strdup_printf ("scaled-%zu.h5", f);
      g_autofree char *path = write_keras (name, scaled_residual_config (forms[f].class_name, forms[f].fields),
                                           NULL, 0, TRUE, NULL);
      g_autoptr(GError) error = NULL;
      QsEngineModel *model = load_model (path, &error);
      g_autofree void *scratch = NULL;
      size_t size;

      g_assert_no_error (error);
      g_assert_cmpuint (qs_engine_model_get_n_layers (model), ==, forms[f].layers);
      g_assert_cmpuint (qs_engine_model_get_n_outputs (model), ==, 32);
      size = qs_engine_get_buffer_size (model, NULL, 1);
      scratch = g_malloc (size);
      g_assert_cmpint (qs_engine_forward (model, NULL, image, 1, scratch, size, out), ==, QS_ENGINE_OK);
      for (int i = 0; i < 32; i++)
        g_assert_cmpfloat_with_epsilon (out[i], image[i] * (1.0 + forms[f].scale), 1e-6);
      qs_engine_model_free (model);
    }
}

/* Weights only: the file opens, there is no model. */
static void
test_weights_only (void)
{
  static const LayerWeights dense[] = {
    { "d", { "kernel", "bias", NULL }, { 2, 1 }, { { 5, 3 }, { 3 } } },
  };
  g_autofree char *path = write_keras ("weights-only.h5", NULL, dense, 1, TRUE, NULL);
  g_autoptr(QsWeightFile) file = qs_weight_file_open (path, NULL);
  g_autoptr(GError) error = NULL;

  g_assert_nonnull (file);
  g_assert_cmpuint (qs_weight_file_get_tensors (file)->len, ==, 2);
  g_assert_null (qs_keras_model_load (file, &error));
  g_assert_error (error, QS_KERAS_MODEL_ERROR, QS_KERAS_MODEL_ERROR_NO_ARCHITECTURE);
}

/* A functional model that is a chain, layers listed out of order. */
static void
test_functional_chain (void)
{
  static const char config[] =
    "{\"class_name\": \"Functional\", \"config\": {\"name\": \"model\", \"layers\": ["
    "{\"class_name\": \"Dense\", \"name\": \"second\", \"config\": {\"name\": \"second\", \"units\": 2,"
    " \"activation\": \"linear\"}, \"inbound_nodes\": [[[\"first\", 0, 0, {}]]]},"
    "{\"class_name\": \"InputLayer\", \"name\": \"input\", \"config\": {\"batch_input_shape\": [null, 3],"
    " \"name\": \"input\"}, \"inbound_nodes\": []},"
    "{\"class_name\": \"Dense\", \"name\": \"first\", \"config\": {\"name\": \"first\", \"units\": 4,"
    " \"activation\": \"relu\", \"use_bias\": false}, \"inbound_nodes\": [[[\"input\", 0, 0, {}]]]}],"
    " \"input_layers\": [[\"input\", 0, 0]], \"output_layers\": [[\"second\", 0, 0]]}}";
  static const LayerWeights weights[] = {
    { "first", { "kernel", NULL }, { 2 }, { { 3, 4 } } },
    { "second", { "kernel", "bias", NULL }, { 2, 1 }, { { 4, 2 }, { 2 } } },
  };
  g_autoptr(GHashTable) values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autofree char *path = write_keras ("functional.h5", config, weights, 2, TRUE, values);
  g_autoptr(GError) error = NULL;
  QsEngineModel *model = load_model (path, &error);
  const float *k1, *k2, *b2;
  float x[3] = { 0.5f, -1.0f, 2.0f }, out[2];
  g_autofree void *scratch = NULL;
  QsLayerInfo info;
  size_t size;

  g_assert_no_error (error);
  g_assert_cmpuint (qs_engine_model_get_n_layers (model), ==, 2);
  g_assert_true (qs_engine_model_get_layer (model, 0, &info));
  g_assert_cmpstr (info.name, ==, "first");
  size = qs_engine_get_buffer_size (model, NULL, 1);
  scratch = g_malloc (size);
  g_assert_cmpint (qs_engine_forward (model, NULL, x, 1, scratch, size, out), ==, QS_ENGINE_OK);
  k1 = g_hash_table_lookup (values, "first/kernel");
  k2 = g_hash_table_lookup (values, "second/kernel");
  b2 = g_hash_table_lookup (values, "second/bias");
  for (int u = 0; u < 2; u++)
    {
      double s = b2[u];

      for (int h = 0; h < 4; h++)
        {
          double a = 0;

          for (int i = 0; i < 3; i++)
            a += x[i] * (double) k1[i * 4 + h];
          s += MAX (a, 0.0) * k2[h * 2 + u];
        }
      g_assert_cmpfloat_with_epsilon (out[u], s, 1e-5);
    }
  qs_engine_model_free (model);
}

/* The demo model this repository ships. */
static void
test_demo_model (void)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "..", "data", "models", "fashion-cnn.h5", NULL);
  g_autoptr(GError) error = NULL;
  QsEngineModel *model;
  int h, w, c;
  QsLayerInfo info;
  int convs = 0, depthwise = 0, dense = 0;

  model = load_model (path, &error);
  g_assert_no_error (error);
  qs_engine_model_get_input_shape (model, &h, &w, &c);
  g_assert_cmpint (h, ==, 28);
  g_assert_cmpint (w, ==, 28);
  g_assert_cmpint (c, ==, 1);
  g_assert_cmpuint (qs_engine_model_get_n_outputs (model), ==, 10);
  for (size_t i = 0; i < qs_engine_model_get_n_layers (model); i++)
    {
      g_assert_true (qs_engine_model_get_layer (model, i, &info));
      convs += info.kind == QS_LAYER_CONV2D;
      depthwise += info.kind == QS_LAYER_DEPTHWISE_CONV2D;
      dense += info.kind == QS_LAYER_DENSE;
    }
  g_assert_cmpint (convs + depthwise, >=, 3);
  g_assert_cmpint (depthwise, >=, 1);
  g_assert_cmpint (dense, ==, 2);
  qs_engine_model_free (model);
}

int
main (int    argc,
      char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  H5Eset_auto2 (H5E_DEFAULT, NULL, NULL);
  rng = g_rand_new_with_seed (77);
  tmp_dir = g_dir_make_tmp ("qs-keras-model-XXXXXX", NULL);
  g_assert_nonnull (tmp_dir);

  g_test_add_data_func ("/keras-model/sequential/keras2-names", GINT_TO_POINTER (TRUE), test_sequential);
  g_test_add_data_func ("/keras-model/sequential/keras3-names", GINT_TO_POINTER (FALSE), test_sequential);
  g_test_add_func ("/keras-model/unsupported", test_unsupported);
  g_test_add_func ("/keras-model/weights-only", test_weights_only);
  g_test_add_func ("/keras-model/scaled-residual", test_scaled_residual);
  g_test_add_func ("/keras-model/functional-chain", test_functional_chain);
  g_test_add_func ("/keras-model/demo-model", test_demo_model);
  status = g_test_run ();

  qs_test_remove_tree (tmp_dir);
  g_free (tmp_dir);
  g_rand_free (rng);
  return status;
}
