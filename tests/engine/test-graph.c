/* test-graph.c: the graph engine against PyTorch's float32 results, its integer path, calibration and buffer plan.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * - float32 outputs of hand-built graphs (residual with projection,
 *   concatenated branches, squeeze-and-excitation, padding and cropping,
 *   affine, dilated and grouped convolutions, upsampling, global max
 *   pooling, reshape, activation layers) against
 *   tests/data/graph-golden.json, made by tests/reference/make_graph_golden.py
 *   with PyTorch's own operators;
 * - the integer path of the same graphs within a bound of float32, under
 *   several weight schemes;
 * - a chain built with and without explicit inputs gives the same bits;
 * - calibrating once and quantizing twice equals preparing twice, bit for bit;
 * - branches off a shared run equal their scheme sets run whole, bit for bit;
 * - a shared layer's later calls run its first call's quantized weights
 *   (one call's bytes for three calls) and give the unshared model's bits;
 * - the buffer plan: a deep chain's scratch does not grow with depth, a
 *   residual block keeps its skip value alive, and on random graphs no two
 *   values alive at once share memory;
 * - bad graphs get the right status;
 * - one image on two threads splits its GEMM layers and gives the
 *   one-thread bits.
 */
#include <math.h>
#include <stdatomic.h>
#include <string.h>

#include <glib.h>
#include <json-glib/json-glib.h>

#include "engine/qs-engine-private.h"
#include "qs-test-reference.h"

/* ---- building the golden graphs ------------------------------------------------ */

static JsonArray *
golden_graphs (JsonParser **parser)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "data", "graph-golden.json", NULL);
  GError *error = NULL;

  *parser = json_parser_new ();
  json_parser_load_from_file (*parser, path, &error);
  g_assert_no_error (error);
  return json_object_get_array_member (json_node_get_object (json_parser_get_root (*parser)), "graphs");
}

/* The elements of a JSON array of numbers (transfer full). */
static float *
float_array (JsonObject *object,
             const char *name,
             size_t     *n)
{
  JsonArray *array = json_object_get_array_member (object, name);
  size_t len = json_array_get_length (array);
  float *v = g_new (float, len > 0 ? len : 1);

  for (size_t i = 0; i < len; i++)
    v[i] = (float) json_array_get_double_element (array, (guint) i);
  if (n != NULL)
    *n = len;
  return v;
}

static int
int_at (JsonObject *object,
        const char *name,
        guint       index)
{
  return (int) json_array_get_int_element (json_object_get_array_member (object, name), index);
}

static int
int_or (JsonObject *object,
        const char *name,
        int         fallback)
{
  return json_object_has_member (object, name) ? (int) json_object_get_int_member (object, name)
                                               : fallback;
}

static QsActivation
activation_kind (const char *name)
{
  static const struct { const char *name; QsActivation kind; } kinds[] = {
    { "leaky_relu", QS_ACTIVATION_LEAKY_RELU }, { "relu_threshold", QS_ACTIVATION_RELU },
    { "elu", QS_ACTIVATION_ELU },
    { "sigmoid", QS_ACTIVATION_SIGMOID }, { "hard_sigmoid", QS_ACTIVATION_HARD_SIGMOID },
    { "swish", QS_ACTIVATION_SWISH }, { "hard_swish", QS_ACTIVATION_HARD_SWISH },
    { "tanh", QS_ACTIVATION_TANH }, { "gelu", QS_ACTIVATION_GELU },
    { "softmax", QS_ACTIVATION_SOFTMAX },
  };

  for (size_t i = 0; i < G_N_ELEMENTS (kinds); i++)
    if (strcmp (kinds[i].name, name) == 0)
      return kinds[i].kind;
  g_assert_not_reached ();
}

static QsEngineStatus
add_conv (QsEngineModel *model,
          JsonObject    *layer,
          bool           depthwise)
{
  QsConvParams p = {
    .kernel_h = int_at (layer, "kernel_shape", 0),
    .kernel_w = int_at (layer, "kernel_shape", 1),
    .stride_h = int_or (layer, "stride", 1),
    .stride_w = int_or (layer, "stride", 1),
    .dilation_h = int_or (layer, "dilation", 1),
    .dilation_w = int_or (layer, "dilation", 1),
    .groups = int_or (layer, "groups", 1),
    .filters = depthwise ? int_at (layer, "kernel_shape", 3) : int_at (layer, "kernel_shape", 3),
    .activation = json_object_has_member (layer, "relu") ? QS_ACTIVATION_RELU : QS_ACTIVATION_NONE,
    .activation_max = json_object_has_member (layer, "relu_max")
                        ? (float) json_object_get_double_member (layer, "relu_max") : INFINITY,
  };
  g_autofree float *kernel = float_array (layer, "kernel", NULL);
  g_autofree float *bias = json_object_has_member (layer, "bias") ? float_array (layer, "bias", NULL) : NULL;

  p.padding = g_strcmp0 (json_object_get_string_member_with_default (layer, "padding", "valid"), "same") == 0
                ? QS_PADDING_SAME : QS_PADDING_VALID;
  return depthwise ? qs_engine_model_add_depthwise (model, NULL, &p, kernel, bias)
                   : qs_engine_model_add_conv2d (model, NULL, &p, kernel, bias);
}

static QsEngineStatus
add_golden_layer (QsEngineModel *model,
                  JsonObject    *layer)
{
  const char *op = json_object_get_string_member (layer, "op");
  static const struct { const char *op; QsLayerKind kind; } merges[] = {
    { "add", QS_LAYER_ADD }, { "subtract", QS_LAYER_SUBTRACT }, { "multiply", QS_LAYER_MULTIPLY },
    { "average", QS_LAYER_AVERAGE }, { "maximum", QS_LAYER_MAXIMUM },
    { "concatenate", QS_LAYER_CONCATENATE },
  };

  for (size_t i = 0; i < G_N_ELEMENTS (merges); i++)
    if (strcmp (op, merges[i].op) == 0)
      return qs_engine_model_add_merge (model, op, merges[i].kind);
  if (strcmp (op, "conv2d") == 0 || strcmp (op, "depthwise") == 0)
    return add_conv (model, layer, strcmp (op, "depthwise") == 0);
  if (strcmp (op, "dense") == 0)
    {
      g_autofree float *kernel = float_array (layer, "kernel", NULL);
      g_autofree float *bias = float_array (layer, "bias", NULL);

      return qs_engine_model_add_dense (model, op, int_at (layer, "kernel_shape", 1),
                                        QS_ACTIVATION_NONE, INFINITY, kernel, bias);
    }
  if (strcmp (op, "pad") == 0 || strcmp (op, "crop") == 0)
    return qs_engine_model_add_pad (model, op, strcmp (op, "crop") == 0, int_at (layer, "pads", 0),
                                    int_at (layer, "pads", 1), int_at (layer, "pads", 2),
                                    int_at (layer, "pads", 3));
  if (strcmp (op, "affine") == 0)
    {
      g_autofree float *scale = float_array (layer, "scale", NULL);
      g_autofree float *shift = float_array (layer, "shift", NULL);

      return qs_engine_model_add_affine (model, op, scale, shift);
    }
  if (strcmp (op, "gap") == 0)
    return qs_engine_model_add_global_average_pool (model, op);
  if (strcmp (op, "gmp") == 0)
    return qs_engine_model_add_global_max_pool (model, op);
  if (strcmp (op, "maxpool") == 0)
    {
      int pool = int_or (layer, "pool", 2), stride = int_or (layer, "stride", pool);
      QsConvParams p = {
        .kernel_h = pool, .kernel_w = pool, .stride_h = stride, .stride_w = stride,
        .padding = g_strcmp0 (json_object_get_string_member_with_default (layer, "padding", "valid"),
                              "same") == 0 ? QS_PADDING_SAME : QS_PADDING_VALID,
      };

      return qs_engine_model_add_pool (model, op, QS_LAYER_MAX_POOL, &p);
    }
  if (strcmp (op, "reshape") == 0)
    return qs_engine_model_add_reshape (model, op, int_at (layer, "shape", 0), int_at (layer, "shape", 1),
                                        int_at (layer, "shape", 2));
  if (strcmp (op, "upsample") == 0)
    return qs_engine_model_add_upsample (model, op, int_at (layer, "factors", 0),
                                         int_at (layer, "factors", 1),
                                         json_object_get_boolean_member (layer, "bilinear"));
  if (strcmp (op, "activation") == 0)
    {
      const char *kind = json_object_get_string_member (layer, "kind");
      QsActivationSpec spec;

      if (strcmp (kind, "relu6") == 0)
        return qs_engine_model_add_activation (model, op, QS_ACTIVATION_RELU, 6.0f);
      qs_activation_spec_init (&spec, activation_kind (kind));
      if (json_object_has_member (layer, "negative_slope"))
        spec.negative_slope = (float) json_object_get_double_member (layer, "negative_slope");
      if (json_object_has_member (layer, "threshold"))
        spec.threshold = (float) json_object_get_double_member (layer, "threshold");
      return qs_engine_model_add_activation_spec (model, op, &spec);
    }
  g_assert_not_reached ();
}

/* The engine model of a golden graph; every layer's inputs are set
 * explicitly, through the map from the graph's values to the engine's
 * (a fused ReLU makes no value of its own). */
static QsEngineModel *
build_golden (JsonObject *graph)
{
  JsonArray *layers = json_object_get_array_member (graph, "layers");
  guint n = json_array_get_length (layers);
  g_autofree int *map = g_new0 (int, n + 1);
  QsEngineModel *model = qs_engine_model_new (int_at (graph, "input", 0), int_at (graph, "input", 1),
                                              int_at (graph, "input", 2));

  g_assert_nonnull (model);
  for (guint i = 0; i < n; i++)
    {
      JsonObject *layer = json_array_get_object_element (layers, i);
      JsonArray *inputs = json_object_get_array_member (layer, "inputs");
      int values[QS_ENGINE_MAX_INPUTS];
      size_t n_inputs = json_array_get_length (inputs);

      for (size_t j = 0; j < n_inputs; j++)
        values[j] = map[json_array_get_int_element (inputs, (guint) j)];
      g_assert_cmpint (qs_engine_model_set_next_inputs (model, values, n_inputs), ==, QS_ENGINE_OK);
      g_assert_cmpint (add_golden_layer (model, layer), ==, QS_ENGINE_OK);
      map[i + 1] = qs_engine_model_get_last_value (model);
    }
  return model;
}

/* @batch images through @model (and @quantized when not NULL), transfer full. */
static float *
run_model (const QsEngineModel    *model,
           const QsQuantizedModel *quantized,
           const float            *images,
           size_t                  batch)
{
  size_t size = qs_engine_get_buffer_size (model, quantized, batch);
  g_autofree void *scratch = g_malloc (size);
  float *out = g_new (float, batch * qs_engine_model_get_n_outputs (model));

  g_assert_cmpint (qs_engine_forward (model, quantized, images, batch, scratch, size, out), ==, QS_ENGINE_OK);
  return out;
}

static void
test_float_golden (void)
{
  g_autoptr (JsonParser) parser = NULL;
  JsonArray *graphs = golden_graphs (&parser);

  for (guint g = 0; g < json_array_get_length (graphs); g++)
    {
      JsonObject *graph = json_array_get_object_element (graphs, g);
      QsEngineModel *model = build_golden (graph);
      size_t n_images, n_expected;
      g_autofree float *images = float_array (graph, "images", &n_images);
      g_autofree float *expected = float_array (graph, "output_values", &n_expected);
      size_t batch = n_images / (size_t) (int_at (graph, "input", 0) * int_at (graph, "input", 1)
                                          * int_at (graph, "input", 2));
      g_autofree float *got = run_model (model, NULL, images, batch);
      float amax = 0.0f;

      g_test_message ("graph %s", json_object_get_string_member (graph, "name"));
      g_assert_cmpuint (qs_engine_model_get_n_outputs (model) * batch, ==, n_expected);
      for (size_t i = 0; i < n_expected; i++)
        amax = fmaxf (amax, fabsf (expected[i]));
      /* Float32 in another summation order: a few units in the last place
       * of the largest value. */
      for (size_t i = 0; i < n_expected; i++)
        g_assert_cmpfloat_with_epsilon (got[i], expected[i], 2e-6f * fmaxf (amax, 1.0f));
      qs_engine_model_free (model);
    }
}

/* ---- the integer path -------------------------------------------------------------- */

/* @count images like the golden ones (the affine graph's are pixels). */
static float *
calibration_images (JsonObject *graph,
                    size_t      count)
{
  size_t per = (size_t) (int_at (graph, "input", 0) * int_at (graph, "input", 1) * int_at (graph, "input", 2));
  float *images = g_new (float, count * per);
  GRand *rand = g_rand_new_with_seed (7);
  bool pixels = json_object_has_member (graph, "image_scale");

  for (size_t i = 0; i < count * per; i++)
    images[i] = pixels ? (float) g_rand_double_range (rand, 0.0, 255.0)
                       : (float) g_rand_double_range (rand, -2.0, 2.0);
  g_rand_free (rand);
  return images;
}

static void
schemes_of (const QsEngineModel *model,
            const QsScheme      *scheme,
            const QsScheme     **schemes)
{
  for (size_t i = 0; i < qs_engine_model_get_n_weighted (model); i++)
    schemes[i] = scheme;
}

/* The integer outputs' SQNR against float32 on @count calibration images. */
static double
integer_sqnr (const QsEngineModel      *model,
              const QsScheme           *scheme,
              const QsActivationScheme *act,
              const float              *images,
              size_t                    count)
{
  const QsScheme *schemes[64];
  QsEngineDataset data = { .count = count, .images = images };
  QsQuantizedModel *quantized = NULL;
  char message[256];
  double db;

  qs_engine_model_get_input_shape (model, &data.height, &data.width, &data.channels);
  schemes_of (model, scheme, schemes);
  g_assert_cmpint (qs_engine_prepare_quantized (model, schemes, qs_engine_model_get_n_weighted (model), act,
                                                &data, 0, NULL, &quantized, message, sizeof message),
                   ==, QS_ENGINE_OK);
  {
    g_autofree float *ref = run_model (model, NULL, images, count);
    g_autofree float *got = run_model (model, quantized, images, count);

    db = qs_test_sqnr_db (ref, got, count * qs_engine_model_get_n_outputs (model));
  }
  qs_quantized_model_free (quantized);
  return db;
}

static void
test_integer_bounds (void)
{
  g_autoptr (JsonParser) parser = NULL;
  JsonArray *graphs = golden_graphs (&parser);
  QsScheme per_tensor, per_channel, wide, fp8, grouped;
  QsActivationScheme act, fractional, logits;

  qs_scheme_init_per_tensor (&per_tensor);
  per_channel = per_tensor;
  per_channel.granularity = QS_GRANULARITY_CHANNEL;
  wide = per_tensor;
  wide.bits = 12;
  fp8 = per_tensor;
  fp8.format = QS_FORMAT_FP8_E4M3;
  grouped = per_tensor;
  grouped.granularity = QS_GRANULARITY_GROUP;
  grouped.group_size = 8;
  qs_activation_scheme_init_default (&act);
  fractional = act;
  fractional.nudge_zero = false;
  logits = act;
  logits.float_logits = true;

  for (guint g = 0; g < json_array_get_length (graphs); g++)
    {
      JsonObject *graph = json_array_get_object_element (graphs, g);
      QsEngineModel *model = build_golden (graph);
      g_autofree float *images = calibration_images (graph, 48);
      const QsScheme *schemes[] = { &per_tensor, &per_channel, &wide, &fp8, &grouped };

      for (size_t s = 0; s < G_N_ELEMENTS (schemes); s++)
        {
          double db = integer_sqnr (model, schemes[s], &act, images, 48);

          g_test_message ("graph %s scheme %zu: %.1f dB", json_object_get_string_member (graph, "name"), s, db);
          /* 8-bit activations and weights: about 6 dB per bit, less a few
           * dB per requantized layer of these small random graphs (they
           * measure 32 to 56 dB); FP8 weights have 3 mantissa bits (23 to 48). */
          g_assert_cmpfloat (db, >=, schemes[s] == &fp8 ? 20.0 : 30.0);
        }
      /* Fractional zero points: merges and tables in float, the rest on codes. */
      {
        double db = integer_sqnr (model, &per_tensor, &fractional, images, 48);

        g_test_message ("graph %s, fractional zero points: %.1f dB", json_object_get_string_member (graph, "name"), db);
        g_assert_cmpfloat (db, >=, 28.0);
      }
      /* Float logits of the scored layer (a grouped one for the grouped graph). */
      if (strcmp (json_object_get_string_member (graph, "name"), "dilated-grouped") == 0)
        {
          g_assert_cmpint (model->layers[3].groups, ==, 3);
          g_assert_cmpint (qs_engine_model_set_output (model, 4), ==, QS_ENGINE_OK);
        }
      for (size_t s = 0; s < 2; s++)
        g_assert_cmpfloat (integer_sqnr (model, schemes[s], &logits, images, 48), >=, 30.0);
      qs_engine_model_free (model);
    }
}

/* Layers with no integer kernel say so. */
static void
test_runs_in_float (void)
{
  g_autoptr (JsonParser) parser = NULL;
  JsonArray *graphs = golden_graphs (&parser);
  size_t in_float = 0;

  for (guint g = 0; g < json_array_get_length (graphs); g++)
    {
      JsonObject *graph = json_array_get_object_element (graphs, g);
      QsEngineModel *model = build_golden (graph);

      for (size_t i = 0; i < qs_engine_model_get_n_layers (model); i++)
        {
          QsLayerInfo info;
          bool expected;

          g_assert_true (qs_engine_model_get_layer (model, i, &info));
          g_assert_cmpint (info.value, ==, (int) i + 1);
          g_assert_cmpuint (info.n_inputs, >=, 1);
          for (size_t j = 0; j < info.n_inputs; j++)
            g_assert_cmpint (info.inputs[j], <=, (int) i);
          /* The image's preprocessing, softmax and bilinear upsampling. */
          expected = (info.kind == QS_LAYER_AFFINE && info.inputs[0] == QS_ENGINE_INPUT_VALUE)
            || (info.kind == QS_LAYER_UPSAMPLE && model->layers[i].bilinear)
            || (info.kind == QS_LAYER_ACTIVATION && model->layers[i].spec.kind == QS_ACTIVATION_SOFTMAX);
          g_assert_cmpint (info.runs_in_float, ==, expected);
          in_float += info.runs_in_float;
        }
      qs_engine_model_free (model);
    }
  g_assert_cmpuint (in_float, ==, 4);
}

/* ---- chains, calibration ------------------------------------------------------------ */

static float *
random_floats (size_t n,
               guint32 seed,
               double  scale)
{
  float *v = g_new (float, n);
  GRand *rand = g_rand_new_with_seed (seed);

  for (size_t i = 0; i < n; i++)
    v[i] = (float) g_rand_double_range (rand, -scale, scale);
  g_rand_free (rand);
  return v;
}

/* A small chain of every chain layer kind; with @explicit_inputs every
 * layer names the last value as its input. */
static QsEngineModel *
build_chain (bool explicit_inputs)
{
  QsEngineModel *model = qs_engine_model_new (10, 10, 2);
  QsConvParams conv = { .kernel_h = 3, .kernel_w = 3, .stride_h = 1, .stride_w = 1,
                        .padding = QS_PADDING_SAME, .filters = 8, .activation = QS_ACTIVATION_NONE,
                        .activation_max = INFINITY };
  QsConvParams pool = { .kernel_h = 2, .kernel_w = 2, .stride_h = 2, .stride_w = 2 };
  QsConvParams dw = { .kernel_h = 3, .kernel_w = 3, .stride_h = 1, .stride_w = 1,
                      .padding = QS_PADDING_VALID, .filters = 2, .activation = QS_ACTIVATION_RELU,
                      .activation_max = 6.0f };
  g_autofree float *k1 = random_floats (3 * 3 * 2 * 8, 1, 0.4);
  g_autofree float *k2 = random_floats (3 * 3 * 8 * 2, 2, 0.3);
  g_autofree float *k3 = random_floats (3 * 3 * 16 * 10, 3, 0.2);
  g_autofree float *bias = random_floats (16, 4, 0.1);
  int last;

#define NEXT()                                                                           \
  do {                                                                                   \
    last = qs_engine_model_get_last_value (model);                                       \
    if (explicit_inputs)                                                                 \
      g_assert_cmpint (qs_engine_model_set_next_inputs (model, &last, 1), ==, QS_ENGINE_OK); \
  } while (0)

  NEXT ();
  g_assert_cmpint (qs_engine_model_add_conv2d (model, "conv", &conv, k1, bias), ==, QS_ENGINE_OK);
  NEXT ();
  g_assert_cmpint (qs_engine_model_add_activation (model, "relu", QS_ACTIVATION_RELU, INFINITY), ==, QS_ENGINE_OK);
  NEXT ();
  g_assert_cmpint (qs_engine_model_add_pool (model, "pool", QS_LAYER_MAX_POOL, &pool), ==, QS_ENGINE_OK);
  NEXT ();
  g_assert_cmpint (qs_engine_model_add_depthwise (model, "dw", &dw, k2, bias), ==, QS_ENGINE_OK);
  NEXT ();
  g_assert_cmpint (qs_engine_model_add_flatten (model, "flatten"), ==, QS_ENGINE_OK);
  NEXT ();
  g_assert_cmpint (qs_engine_model_add_dense (model, "dense", 10, QS_ACTIVATION_NONE, INFINITY, k3, bias),
                   ==, QS_ENGINE_OK);
#undef NEXT
  return model;
}

static QsQuantizedModel *
prepare_with (const QsEngineModel      *model,
              const QsScheme           *scheme,
              const QsActivationScheme *act,
              const QsEngineDataset    *data)
{
  const QsScheme *schemes[64];
  QsQuantizedModel *quantized = NULL;

  schemes_of (model, scheme, schemes);
  g_assert_cmpint (qs_engine_prepare_quantized (model, schemes, qs_engine_model_get_n_weighted (model), act,
                                                data, 0, NULL, &quantized, NULL, 0), ==, QS_ENGINE_OK);
  return quantized;
}

static QsQuantizedModel *
prepare (const QsEngineModel   *model,
         const QsScheme        *scheme,
         const QsEngineDataset *data)
{
  return prepare_with (model, scheme, NULL, data);
}

static void
test_chain_explicit_inputs (void)
{
  QsEngineModel *implicit = build_chain (false), *explicit = build_chain (true);
  g_autofree float *images = random_floats (24 * 200, 5, 1.0);
  QsEngineDataset data = { .count = 24, .height = 10, .width = 10, .channels = 2, .images = images };
  QsScheme scheme;
  QsQuantizedModel *qi, *qe;
  size_t n = 24 * qs_engine_model_get_n_outputs (implicit);

  /* The ReLU was fused in both. */
  g_assert_cmpuint (qs_engine_model_get_n_layers (implicit), ==, 6);
  g_assert_cmpuint (qs_engine_model_get_n_layers (explicit), ==, 6);
  {
    QsLayerInfo info;

    g_assert_true (qs_engine_model_get_layer (implicit, 1, &info));
    g_assert_true (info.fused);
    g_assert_true (qs_engine_model_get_layer (explicit, 1, &info));
    g_assert_true (info.fused);
  }
  qs_scheme_init_per_tensor (&scheme);
  qi = prepare (implicit, &scheme, &data);
  qe = prepare (explicit, &scheme, &data);
  {
    g_autofree float *fi = run_model (implicit, NULL, images, 24);
    g_autofree float *fe = run_model (explicit, NULL, images, 24);
    g_autofree float *ii = run_model (implicit, qi, images, 24);
    g_autofree float *ie = run_model (explicit, qe, images, 24);

    g_assert_cmpmem (fi, n * sizeof (float), fe, n * sizeof (float));
    g_assert_cmpmem (ii, n * sizeof (float), ie, n * sizeof (float));
  }
  qs_quantized_model_free (qi);
  qs_quantized_model_free (qe);
  qs_engine_model_free (implicit);
  qs_engine_model_free (explicit);
}

static void
assert_same_stats (const QsQuantizedModel *a,
                   const QsQuantizedModel *b,
                   bool                    with_output_sqnr)
{
  for (size_t i = 0; i < qs_engine_model_get_n_weighted (qs_quantized_model_get_model (a)); i++)
    {
      QsQuantizedLayerStats sa, sb;

      g_assert_true (qs_quantized_model_get_layer_stats (a, i, &sa));
      g_assert_true (qs_quantized_model_get_layer_stats (b, i, &sb));
      g_assert_cmpmem (&sa.weight_sqnr_db, sizeof (double), &sb.weight_sqnr_db, sizeof (double));
      g_assert_cmpint (sa.weight_bits, ==, sb.weight_bits);
      g_assert_cmpmem (&sa.output_scale, sizeof (float), &sb.output_scale, sizeof (float));
      g_assert_cmpmem (&sa.output_zero_point, sizeof (float), &sb.output_zero_point, sizeof (float));
      if (with_output_sqnr)
        g_assert_cmpmem (&sa.output_sqnr_db, sizeof (double), &sb.output_sqnr_db, sizeof (double));
      else
        g_assert_true (isnan (sa.output_sqnr_db));
    }
}

/* Quantizing a calibration twice under two schemes gives, bit for bit,
 * what preparing under each scheme gives. */
static void
check_calibrate_once (QsEngineModel         *model,
                      const QsEngineDataset *data)
{
  QsScheme a, b;
  const QsScheme *sa[64], *sb[64];
  size_t nw = qs_engine_model_get_n_weighted (model);
  size_t n = data->count * qs_engine_model_get_n_outputs (model);
  QsCalibration *cal = NULL;
  QsQuantizedModel *qa, *qb, *qa_sqnr, *pa, *pb;

  qs_scheme_init_per_tensor (&a);
  b = a;
  b.bits = 4;
  b.granularity = QS_GRANULARITY_CHANNEL;
  b.mapping = QS_MAPPING_SYMMETRIC;
  schemes_of (model, &a, sa);
  schemes_of (model, &b, sb);

  g_assert_cmpint (qs_engine_calibrate (model, NULL, data, 0, NULL, &cal, NULL, 0), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_quantize_calibrated (cal, sa, nw, false, NULL, &qa, NULL, 0), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_quantize_calibrated (cal, sb, nw, false, NULL, &qb, NULL, 0), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_quantize_calibrated (cal, sa, nw, true, NULL, &qa_sqnr, NULL, 0), ==, QS_ENGINE_OK);
  pa = prepare (model, &a, data);
  pb = prepare (model, &b, data);
  {
    g_autofree float *oa = run_model (model, qa, data->images, data->count);
    g_autofree float *ob = run_model (model, qb, data->images, data->count);
    g_autofree float *opa = run_model (model, pa, data->images, data->count);
    g_autofree float *opb = run_model (model, pb, data->images, data->count);

    g_assert_cmpmem (oa, n * sizeof (float), opa, n * sizeof (float));
    g_assert_cmpmem (ob, n * sizeof (float), opb, n * sizeof (float));
    /* The schemes differ, and so do the results. */
    g_assert_true (memcmp (oa, ob, n * sizeof (float)) != 0);
  }
  assert_same_stats (qa, pa, false);
  assert_same_stats (qb, pb, false);
  assert_same_stats (qa_sqnr, pa, true);
  qs_quantized_model_free (qa);
  qs_quantized_model_free (qb);
  qs_quantized_model_free (qa_sqnr);
  qs_quantized_model_free (pa);
  qs_quantized_model_free (pb);
  qs_calibration_free (cal);
}

/* Runs @check on the chain and on every golden graph with weights, each
 * with images to calibrate on. */
static void
check_every_graph (void (*check) (QsEngineModel *, const QsEngineDataset *))
{
  g_autoptr (JsonParser) parser = NULL;
  JsonArray *graphs = golden_graphs (&parser);
  QsEngineModel *chain = build_chain (false);
  g_autofree float *images = random_floats (40 * 200, 6, 1.0);
  QsEngineDataset data = { .count = 40, .height = 10, .width = 10, .channels = 2, .images = images };

  check (chain, &data);
  qs_engine_model_free (chain);
  for (guint g = 0; g < json_array_get_length (graphs); g++)
    {
      JsonObject *graph = json_array_get_object_element (graphs, g);
      QsEngineModel *model = build_golden (graph);
      g_autofree float *gimages = calibration_images (graph, 20);
      QsEngineDataset gdata = { .count = 20, .images = gimages };

      qs_engine_model_get_input_shape (model, &gdata.height, &gdata.width, &gdata.channels);
      if (qs_engine_model_get_n_weighted (model) > 0)
        check (model, &gdata);
      qs_engine_model_free (model);
    }
}

static void
test_calibrate_once (void)
{
  check_every_graph (check_calibrate_once);
}

/* ---- branches off a shared run ---------------------------------------------------- */

/* @model quantized on @cal with @scheme on the weighted layers where
 * @quantize says so and float32 weights elsewhere. */
static QsQuantizedModel *
quantize_some (const QsCalibration *cal,
               const QsScheme      *scheme,
               const bool          *quantize,
               size_t               n_weighted)
{
  const QsScheme *schemes[64];
  QsQuantizedModel *quantized = NULL;

  for (size_t i = 0; i < n_weighted; i++)
    schemes[i] = quantize[i] ? scheme : NULL;
  g_assert_cmpint (qs_engine_quantize_calibrated (cal, schemes, n_weighted, false, NULL, &quantized, NULL, 0),
                   ==, QS_ENGINE_OK);
  return quantized;
}

/* Each weighted layer quantized alone (off a trunk of float32 weights)
 * and kept in float32 (off the all-quantized trunk), as branches, against
 * the same sets quantized and run whole: the same outputs bit for bit,
 * and the same classes through the parallel entry point. */
static void
check_branches (QsEngineModel         *model,
                const QsEngineDataset *data)
{
  size_t nw = qs_engine_model_get_n_weighted (model), n_out = qs_engine_model_get_n_outputs (model);
  size_t batch = data->count, block = batch * n_out;
  size_t size = qs_engine_get_buffer_size (model, NULL, batch);
  g_autofree void *scratch = g_malloc (size), *branch_scratch = g_malloc (size);
  g_autofree float *outputs = g_new (float, (nw + 1) * block);
  g_autofree int32_t *classes = g_new (int32_t, (nw + 1) * batch), *expected = g_new (int32_t, batch);
  g_autofree QsEngineBranch *branches = g_new0 (QsEngineBranch, nw);
  g_autofree QsQuantizedModel **sets = g_new0 (QsQuantizedModel *, nw);
  bool all[64], none[64] = { false };
  QsCalibration *cal = NULL;
  QsQuantizedModel *quant, *floats;
  QsScheme scheme;
  gboolean any_differs = FALSE;

  g_assert_cmpuint (nw, <=, 64);
  qs_scheme_init_per_tensor (&scheme);
  scheme.bits = 4;
  for (size_t i = 0; i < nw; i++)
    all[i] = true;
  g_assert_cmpint (qs_engine_calibrate (model, NULL, data, 0, NULL, &cal, NULL, 0), ==, QS_ENGINE_OK);
  quant = quantize_some (cal, &scheme, all, nw);
  floats = quantize_some (cal, &scheme, none, nw);

  for (int alone = 0; alone <= 1; alone++)
    {
      const QsQuantizedModel *trunk = alone ? floats : quant;

      for (size_t k = 0; k < nw; k++)
        {
          bool which[64];

          for (size_t i = 0; i < nw; i++)
            which[i] = alone ? i == k : i != k;
          sets[k] = quantize_some (cal, &scheme, which, nw);
          branches[k].layer = (size_t) qs_engine_model_weighted_layer_index (model, k);
          branches[k].at = alone ? quant : floats;
          branches[k].rest = trunk;
        }
      g_assert_cmpint (qs_engine_forward_branches (trunk, branches, nw, data->images, batch, scratch,
                                                   branch_scratch, NULL, outputs), ==, QS_ENGINE_OK);
      {
        g_autofree float *whole = run_model (model, trunk, data->images, batch);

        g_assert_cmpmem (outputs, block * sizeof (float), whole, block * sizeof (float));
      }
      g_assert_cmpint (qs_engine_predict_branches (trunk, branches, nw, data, 0, batch, NULL, classes),
                       ==, QS_ENGINE_OK);
      for (size_t k = 0; k < nw; k++)
        {
          g_autofree float *whole = run_model (model, sets[k], data->images, batch);

          g_assert_cmpmem (outputs + (k + 1) * block, block * sizeof (float), whole, block * sizeof (float));
          any_differs |= memcmp (outputs + (k + 1) * block, outputs, block * sizeof (float)) != 0;
          g_assert_cmpint (qs_engine_predict (model, sets[k], data, 0, batch, NULL, expected), ==, QS_ENGINE_OK);
          g_assert_cmpmem (classes + (k + 1) * batch, batch * sizeof (int32_t), expected, batch * sizeof (int32_t));
          qs_quantized_model_free (sets[k]);
        }
    }
  /* The branches are not the trunk over again. */
  g_assert_true (any_differs);

  /* A model calibrated on other images cannot join a branch. */
  {
    QsEngineDataset half = *data;
    QsCalibration *other = NULL;
    QsQuantizedModel *stranger;

    half.count = data->count / 2;
    g_assert_cmpint (qs_engine_calibrate (model, NULL, &half, 0, NULL, &other, NULL, 0), ==, QS_ENGINE_OK);
    stranger = quantize_some (other, &scheme, all, nw);
    branches[0].at = stranger;
    g_assert_cmpint (qs_engine_predict_branches (quant, branches, 1, data, 0, batch, NULL, classes),
                     ==, QS_ENGINE_INVALID_ARGUMENT);
    qs_quantized_model_free (stranger);
    qs_calibration_free (other);
  }
  qs_quantized_model_free (quant);
  qs_quantized_model_free (floats);
  qs_calibration_free (cal);
}

static void
test_branches (void)
{
  check_every_graph (check_branches);
}

/* ---- the buffer plan ----------------------------------------------------------------- */

static QsEngineModel *
conv_chain (size_t depth)
{
  QsEngineModel *model = qs_engine_model_new (16, 16, 8);
  QsConvParams conv = { .kernel_h = 3, .kernel_w = 3, .stride_h = 1, .stride_w = 1,
                        .padding = QS_PADDING_SAME, .filters = 8, .activation = QS_ACTIVATION_RELU,
                        .activation_max = INFINITY };
  g_autofree float *kernel = random_floats (3 * 3 * 8 * 8, 8, 0.2);

  for (size_t i = 0; i < depth; i++)
    g_assert_cmpint (qs_engine_model_add_conv2d (model, "conv", &conv, kernel, NULL), ==, QS_ENGINE_OK);
  return model;
}

static void
test_plan_chain_depth (void)
{
  QsEngineModel *shallow = conv_chain (2), *deep = conv_chain (40);

  /* Two slots, whatever the depth: each layer reads the one before. */
  g_assert_cmpuint (deep->plan_f32.n_slots, ==, 2);
  g_assert_cmpuint (deep->plan_u8.n_slots, ==, 2);
  for (size_t b = 1; b <= 16; b *= 4)
    g_assert_cmpuint (qs_engine_get_buffer_size (deep, NULL, b), ==, qs_engine_get_buffer_size (shallow, NULL, b));
  /* The output SQNR pass runs both paths layer by layer: no copy per layer. */
  g_assert_cmpuint (qs_engine_get_working_size (deep), ==, qs_engine_get_working_size (shallow));
  qs_engine_model_free (shallow);
  qs_engine_model_free (deep);
}

static void
test_plan_residual (void)
{
  QsEngineModel *model = conv_chain (1), *chain = conv_chain (4);
  QsConvParams conv = { .kernel_h = 3, .kernel_w = 3, .stride_h = 1, .stride_w = 1,
                        .padding = QS_PADDING_SAME, .filters = 8, .activation = QS_ACTIVATION_NONE,
                        .activation_max = INFINITY };
  g_autofree float *kernel = random_floats (3 * 3 * 8 * 8, 9, 0.2);
  int skip = qs_engine_model_get_last_value (model), add[2];
  const QsValuePlan *plan = &model->plan_f32;
  QsScratchLayout with_skip, without;

  /* skip -> conv -> conv -> add (conv, skip): the skip value lives across
   * both convolutions, so it needs a third slot the chain does not. */
  g_assert_cmpint (qs_engine_model_add_conv2d (model, "a", &conv, kernel, NULL), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_add_conv2d (model, "b", &conv, kernel, NULL), ==, QS_ENGINE_OK);
  add[0] = qs_engine_model_get_last_value (model);
  add[1] = skip;
  g_assert_cmpint (qs_engine_model_set_next_inputs (model, add, 2), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_add_merge (model, "add", QS_LAYER_ADD), ==, QS_ENGINE_OK);
  g_assert_cmpuint (plan->n_slots, ==, 3);
  for (int v = skip + 1; v <= add[0]; v++)
    g_assert_cmpint (plan->slot[v], !=, plan->slot[skip]);
  /* The sum reuses a dead value's slot. */
  g_assert_cmpuint (plan->slot[add[0] + 1], !=, plan->slot[add[0]]);
  g_assert_cmpuint (plan->slot[add[0] + 1], !=, plan->slot[skip]);
  /* One more map of floats and of codes than a chain as deep. */
  qs_engine_scratch_layout (model, 16, &with_skip);
  qs_engine_scratch_layout (chain, 16, &without);
  g_assert_cmpuint (with_skip.float_bytes, ==, without.float_bytes * 3 / 2);
  g_assert_cmpuint (with_skip.codes_bytes, ==, without.codes_bytes + without.code_bytes);
  qs_engine_model_free (model);
  qs_engine_model_free (chain);
}

/* No two values alive at once share a slot of @plan (@with_input: the
 * image has one). Liveness is worked out here again from the layers. */
static void
assert_plan_disjoint (const QsEngineModel *model,
                      const QsValuePlan   *plan,
                      bool                 with_input)
{
  int n_values = (int) model->n_layers + 1;
  g_autofree int *root = g_new (int, n_values);
  g_autofree int *last = g_new (int, n_values);

  for (int v = 0; v < n_values; v++)
    {
      root[v] = v > 0 && (model->layers[v - 1].kind == QS_LAYER_RESHAPE
                          || model->layers[v - 1].kind == QS_LAYER_FLATTEN
                          || model->layers[v - 1].folded_pad)
                  ? root[model->layers[v - 1].inputs[0]] : v;
      last[v] = v - 1;
    }
  for (int i = 0; i < n_values - 1; i++)
    for (size_t j = 0; j < model->layers[i].n_inputs; j++)
      last[root[model->layers[i].inputs[j]]] = MAX (last[root[model->layers[i].inputs[j]]], i);
  last[root[qs_model_output_value (model)]] = n_values;
  for (int u = with_input ? 0 : 1; u < n_values; u++)
    for (int v = u + 1; v < n_values; v++)
      if (root[u] == u && root[v] == v && v - 1 <= last[u])
        g_assert_cmpint (plan->slot[u], !=, plan->slot[v]);
  for (int v = with_input ? 0 : 1; v < n_values; v++)
    {
      g_assert_cmpint (plan->root[v], ==, root[v]);
      if (root[v] == v)
        g_assert_cmpuint (plan->slot_elems[plan->slot[v]], >=, qs_value_size (model, v));
    }
}

/* Random graphs of 6 x 6 x 4 maps: convolutions, merges of any earlier
 * values, views, tables; the plans never give two live values one slot,
 * and the float32 and integer paths run on them. */
static void
test_plan_random (void)
{
  GRand *rand = g_rand_new_with_seed (12);
  g_autofree float *kernel = random_floats (3 * 3 * 4 * 4, 13, 0.3);
  g_autofree float *images = random_floats (16 * 144, 14, 1.0);
  QsEngineDataset data = { .count = 16, .height = 6, .width = 6, .channels = 4, .images = images };

  for (int round = 0; round < 40; round++)
    {
      QsEngineModel *model = qs_engine_model_new (6, 6, 4);
      QsConvParams conv = { .kernel_h = 3, .kernel_w = 3, .stride_h = 1, .stride_w = 1,
                            .padding = QS_PADDING_SAME, .filters = 4, .activation = QS_ACTIVATION_NONE,
                            .activation_max = INFINITY };
      int n = g_rand_int_range (rand, 3, 30);

      for (int i = 0; i < n; i++)
        {
          int last = qs_engine_model_get_last_value (model);
          int inputs[3] = { g_rand_int_range (rand, 0, last + 1), g_rand_int_range (rand, 0, last + 1),
                            g_rand_int_range (rand, 0, last + 1) };
          int op = g_rand_int_range (rand, 0, 5);
          QsActivationSpec spec;

          g_assert_cmpint (qs_engine_model_set_next_inputs (model, inputs, op == 1 ? 2 + (size_t) (i % 2) : 1),
                           ==, QS_ENGINE_OK);
          switch (op)
            {
            case 0:
              g_assert_cmpint (qs_engine_model_add_conv2d (model, "c", &conv, kernel, NULL), ==, QS_ENGINE_OK);
              break;
            case 1:
              g_assert_cmpint (qs_engine_model_add_merge (model, "m", i % 3 == 0 ? QS_LAYER_MAXIMUM : QS_LAYER_ADD),
                               ==, QS_ENGINE_OK);
              break;
            case 2:
              g_assert_cmpint (qs_engine_model_add_reshape (model, "r", 6, 6, 4), ==, QS_ENGINE_OK);
              break;
            case 3:
              qs_activation_spec_init (&spec, QS_ACTIVATION_TANH);
              g_assert_cmpint (qs_engine_model_add_activation_spec (model, "t", &spec), ==, QS_ENGINE_OK);
              break;
            default:
              g_assert_cmpint (qs_engine_model_add_pad (model, "p", false, 0, 0, 0, 0), ==, QS_ENGINE_OK);
              break;
            }
        }
      if (round % 3 == 0)
        g_assert_cmpint (qs_engine_model_set_output (model, g_rand_int_range (rand, 1, (int) model->n_layers + 1)),
                         ==, QS_ENGINE_OK);
      assert_plan_disjoint (model, &model->plan_f32, false);
      assert_plan_disjoint (model, &model->plan_u8, true);
      if (model->n_weighted > 0)
        {
          QsScheme scheme;
          QsQuantizedModel *quantized;

          qs_scheme_init_per_tensor (&scheme);
          quantized = prepare (model, &scheme, &data);
          {
            size_t count = 16 * qs_engine_model_get_n_outputs (model);
            g_autofree float *ref = run_model (model, NULL, images, 16);
            g_autofree float *got = run_model (model, quantized, images, 16);

            g_assert_cmpfloat (qs_test_sqnr_db (ref, got, count), >=, 20.0);
          }
          qs_quantized_model_free (quantized);
        }
      qs_engine_model_free (model);
    }
  g_rand_free (rand);
}

/* ---- ZeroPadding2D folded into convolutions ------------------------------------------- */

/* 15x15x6 -> pad 1 -> depthwise 3x3/2 valid + ReLU6 -> pad (0,1)(0,1) ->
 * conv 3x3/2 valid -> pad (1,0)(0,1) -> depthwise 3x3 SAME -> pad 1 read by
 * a depthwise 3x3 valid and a max pool 3x3 valid (two readers: stays) ->
 * add -> cropping (stays) -> global average pool -> dense 5. */
static QsEngineModel *
padded_graph (void)
{
  QsEngineModel *model = qs_engine_model_new (15, 15, 6);
  QsConvParams dw = { .kernel_h = 3, .kernel_w = 3, .stride_h = 2, .stride_w = 2,
                      .padding = QS_PADDING_VALID, .filters = 1, .activation = QS_ACTIVATION_RELU,
                      .activation_max = 6.0f };
  QsConvParams conv = dw, same = dw, pool = dw;
  g_autofree float *k1 = random_floats (3 * 3 * 6, 21, 0.6);
  g_autofree float *k2 = random_floats (3 * 3 * 6 * 8, 22, 0.4);
  g_autofree float *k3 = random_floats (3 * 3 * 8, 23, 0.6);
  g_autofree float *k4 = random_floats (3 * 3 * 8, 24, 0.6);
  g_autofree float *k5 = random_floats (8 * 5, 25, 0.5);
  g_autofree float *bias = random_floats (8, 26, 0.2);
  int padded, merge[2];

  conv.filters = 8;
  conv.activation = QS_ACTIVATION_NONE;
  conv.activation_max = INFINITY;
  same.stride_h = same.stride_w = 1;
  same.padding = QS_PADDING_SAME;
  pool = same;
  pool.padding = QS_PADDING_VALID;
  g_assert_cmpint (qs_engine_model_add_pad (model, "pad1", false, 1, 1, 1, 1), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_add_depthwise (model, "dw1", &dw, k1, bias), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_add_pad (model, "pad2", false, 0, 1, 0, 1), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_add_conv2d (model, "conv", &conv, k2, bias), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_add_pad (model, "pad3", false, 1, 0, 0, 1), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_add_depthwise (model, "dw2", &same, k3, bias), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_add_pad (model, "pad4", false, 1, 1, 1, 1), ==, QS_ENGINE_OK);
  padded = qs_engine_model_get_last_value (model);
  pool.padding = QS_PADDING_VALID;
  same.padding = QS_PADDING_VALID;
  g_assert_cmpint (qs_engine_model_add_depthwise (model, "dw3", &same, k4, bias), ==, QS_ENGINE_OK);
  merge[0] = qs_engine_model_get_last_value (model);
  g_assert_cmpint (qs_engine_model_set_next_inputs (model, &padded, 1), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_add_pool (model, "pool", QS_LAYER_MAX_POOL, &pool), ==, QS_ENGINE_OK);
  merge[1] = qs_engine_model_get_last_value (model);
  g_assert_cmpint (qs_engine_model_set_next_inputs (model, merge, 2), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_add_merge (model, "add", QS_LAYER_ADD), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_add_pad (model, "crop", true, 1, 0, 0, 1), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_add_global_average_pool (model, "gap"), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_add_dense (model, "dense", 5, QS_ACTIVATION_NONE, INFINITY, k5, bias),
                   ==, QS_ENGINE_OK);
  return model;
}

/* 15x15x6 -> conv 3x3 valid (no activation: values of both signs) -> pad 1
 * -> max pool 3x3/2 valid (7x7) -> pad (3,0)(0,1) -> max pool 2x2 valid,
 * whose two top rows of windows lie wholly in the padding -> global
 * average pool -> dense 5: both paddings fold into the pools, which take
 * their taps as 0.0. */
static QsEngineModel *
padded_pool_graph (void)
{
  QsEngineModel *model = qs_engine_model_new (15, 15, 6);
  QsConvParams conv = { .kernel_h = 3, .kernel_w = 3, .stride_h = 1, .stride_w = 1,
                        .padding = QS_PADDING_VALID, .filters = 8, .activation = QS_ACTIVATION_NONE,
                        .activation_max = INFINITY };
  QsConvParams pool = conv, small = conv;
  g_autofree float *k1 = random_floats (3 * 3 * 6 * 8, 31, 0.4);
  g_autofree float *k2 = random_floats (8 * 5, 32, 0.5);
  g_autofree float *bias = random_floats (8, 33, 0.2);

  pool.stride_h = pool.stride_w = 2;
  small.kernel_h = small.kernel_w = 2;
  g_assert_cmpint (qs_engine_model_add_conv2d (model, "conv", &conv, k1, bias), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_add_pad (model, "pad1", false, 1, 1, 1, 1), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_add_pool (model, "pool1", QS_LAYER_MAX_POOL, &pool), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_add_pad (model, "pad2", false, 3, 0, 0, 1), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_add_pool (model, "pool2", QS_LAYER_MAX_POOL, &small), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_add_global_average_pool (model, "gap"), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_add_dense (model, "dense", 5, QS_ACTIVATION_NONE, INFINITY, k2, bias),
                   ==, QS_ENGINE_OK);
  return model;
}

/* A graph from @build with its paddings folded and kept: float32 outputs
 * identical, integer outputs (int8 per channel and per tensor) bit for
 * bit, on every ISA; exactly the layers @folded (-1 ends it) fold. */
static void
check_pad_fold (QsEngineModel *(*build) (void),
                const int      *folded)
{
  size_t count = 16, image = 15 * 15 * 6;
  g_autofree float *images = random_floats (count * image, 27, 2.0);
  QsEngineDataset data = { count, 15, 15, 6, images, NULL };

  for (int isa = QS_ISA_SCALAR; isa <= QS_ISA_AVX512VNNI; isa++)
    {
      QsEngineModel *model;
      float *out[2][3];
      size_t n;

      if (!qs_kernels_isa_supported ((QsIsa) isa))
        continue;
      qs_kernels_force_isa (isa);
      model = build ();
      n = count * qs_engine_model_get_n_outputs (model);
      for (int fold = 0; fold < 2; fold++)
        {
          QsScheme scheme;
          size_t j = 0;

          model->keep_padding = !fold;
          g_assert_cmpint (qs_engine_model_plan (model), ==, QS_ENGINE_OK);
          for (size_t i = 0; i < model->n_layers; i++)
            {
              bool expected = folded[j] == (int) i;

              g_assert_cmpint (model->layers[i].folded_pad, ==, expected && fold);
              j += expected;
            }
          out[fold][0] = run_model (model, NULL, images, count);
          for (int s = 1; s <= 2; s++)
            {
              QsQuantizedModel *quantized;

              if (s == 1)
                qs_scheme_init_default (&scheme);
              else
                qs_scheme_init_per_tensor (&scheme);
              quantized = prepare (model, &scheme, &data);
              out[fold][s] = run_model (model, quantized, images, count);
              qs_quantized_model_free (quantized);
            }
        }
      for (int s = 0; s < 3; s++)
        {
          g_assert_cmpmem (out[0][s], n * sizeof (float), out[1][s], n * sizeof (float));
          g_free (out[0][s]);
          g_free (out[1][s]);
        }
      qs_engine_model_free (model);
    }
  qs_kernels_force_isa (-1);
}

/* Only the paddings read by one convolution fold (not the one a pool
 * shares with a convolution, nor the cropping). */
static void
test_pad_fold (void)
{
  static const int folded[] = { 0, 2, 4, -1 };

  check_pad_fold (padded_graph, folded);
}

static void
test_pad_fold_pool (void)
{
  static const int folded[] = { 1, 3, -1 };

  check_pad_fold (padded_pool_graph, folded);
}

/* ---- bad graphs ------------------------------------------------------------------------ */

static void
test_bad_graphs (void)
{
  QsEngineModel *model = qs_engine_model_new (6, 6, 4);
  QsConvParams conv = { .kernel_h = 3, .kernel_w = 3, .stride_h = 2, .stride_w = 2,
                        .padding = QS_PADDING_SAME, .filters = 6, .groups = 4,
                        .activation = QS_ACTIVATION_NONE, .activation_max = INFINITY };
  g_autofree float *kernel = random_floats (3 * 3 * 4 * 6, 10, 0.2);
  int missing = 5, two[2] = { 0, 1 }, three[3] = { 0, 1, 0 };

  /* An input value that does not exist yet, or none at all. */
  g_assert_cmpint (qs_engine_model_set_next_inputs (model, &missing, 1), ==, QS_ENGINE_INVALID_ARGUMENT);
  missing = -1;
  g_assert_cmpint (qs_engine_model_set_next_inputs (model, &missing, 1), ==, QS_ENGINE_INVALID_ARGUMENT);
  g_assert_cmpint (qs_engine_model_set_next_inputs (model, two, 0), ==, QS_ENGINE_INVALID_ARGUMENT);
  /* Groups must divide the channels. */
  g_assert_cmpint (qs_engine_model_add_conv2d (model, "g", &conv, kernel, NULL), ==, QS_ENGINE_INVALID_ARGUMENT);
  conv.groups = 3;
  g_assert_cmpint (qs_engine_model_add_conv2d (model, "g", &conv, kernel, NULL), ==, QS_ENGINE_SHAPE_MISMATCH);
  conv.groups = 2;
  g_assert_cmpint (qs_engine_model_add_conv2d (model, "c", &conv, kernel, NULL), ==, QS_ENGINE_OK);
  g_assert_cmpuint (qs_engine_model_get_n_layers (model), ==, 1);

  /* Merges of a 6x6x4 image and a 3x3x6 map. */
  g_assert_cmpint (qs_engine_model_set_next_inputs (model, two, 2), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_add_merge (model, "add", QS_LAYER_ADD), ==, QS_ENGINE_SHAPE_MISMATCH);
  g_assert_cmpint (qs_engine_model_set_next_inputs (model, two, 2), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_add_merge (model, "cat", QS_LAYER_CONCATENATE), ==, QS_ENGINE_SHAPE_MISMATCH);
  g_assert_cmpint (qs_engine_model_set_next_inputs (model, two, 2), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_add_merge (model, "mul", QS_LAYER_MULTIPLY), ==, QS_ENGINE_SHAPE_MISMATCH);
  /* Subtract takes two; a merge at least two; other layers one. */
  g_assert_cmpint (qs_engine_model_set_next_inputs (model, three, 3), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_add_merge (model, "sub", QS_LAYER_SUBTRACT), ==, QS_ENGINE_INVALID_ARGUMENT);
  g_assert_cmpint (qs_engine_model_set_next_inputs (model, two, 1), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_add_merge (model, "one", QS_LAYER_ADD), ==, QS_ENGINE_INVALID_ARGUMENT);
  g_assert_cmpint (qs_engine_model_set_next_inputs (model, two, 2), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_add_flatten (model, "flat"), ==, QS_ENGINE_INVALID_ARGUMENT);
  g_assert_cmpint (qs_engine_model_add_merge (model, "flat", QS_LAYER_PAD), ==, QS_ENGINE_INVALID_ARGUMENT);
  /* A linear activation of another value than the last is a view of it. */
  g_assert_cmpint (qs_engine_model_set_next_inputs (model, two, 1), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_add_activation (model, "linear", QS_ACTIVATION_NONE, INFINITY), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_get_last_value (model), ==, 2);
  g_assert_cmpint (model->layers[1].inputs[0], ==, 0);
  g_assert_cmpint (model->plan_f32.root[2], ==, 0);
  g_assert_cmpint (qs_engine_model_set_output (model, 1), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_set_next_inputs (model, &two[1], 1), ==, QS_ENGINE_OK);
  /* A reshape to another size, a crop past the map. */
  g_assert_cmpint (qs_engine_model_add_reshape (model, "r", 2, 2, 14), ==, QS_ENGINE_SHAPE_MISMATCH);
  g_assert_cmpint (qs_engine_model_set_next_inputs (model, &two[1], 1), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_add_pad (model, "crop", true, 2, 1, 0, 0), ==, QS_ENGINE_SHAPE_MISMATCH);
  g_assert_cmpint (qs_engine_model_add_pad (model, "pad", false, -1, 0, 0, 0), ==, QS_ENGINE_INVALID_ARGUMENT);
  g_assert_cmpint (qs_engine_model_add_upsample (model, "up", 0, 2, false), ==, QS_ENGINE_INVALID_ARGUMENT);
  g_assert_cmpint (qs_engine_model_set_output (model, 7), ==, QS_ENGINE_INVALID_ARGUMENT);
  g_assert_false (qs_engine_model_get_value_shape (model, 3, NULL, NULL, NULL));
  /* Nothing of the failures stayed, and the model still runs. */
  g_assert_cmpuint (qs_engine_model_get_n_layers (model), ==, 2);
  g_assert_cmpint (qs_engine_model_set_next_inputs (model, &two[1], 1), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_add_reshape (model, "r", 1, 9, 6), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_set_output (model, 3), ==, QS_ENGINE_OK);
  {
    g_autofree float *images = random_floats (2 * 144, 11, 1.0);
    g_autofree float *out = run_model (model, NULL, images, 2);
    int h, w, c;

    g_assert_true (qs_engine_model_get_value_shape (model, 3, &h, &w, &c));
    g_assert_cmpint (h * 100 + w * 10 + c, ==, 196);
    g_assert_cmpuint (qs_engine_model_get_n_outputs (model), ==, 54);
    /* Scoring the image itself: its values come back. */
    g_assert_cmpint (qs_engine_model_set_output (model, 0), ==, QS_ENGINE_OK);
    g_assert_cmpuint (qs_engine_model_get_n_outputs (model), ==, 144);
    {
      g_autofree float *same = run_model (model, NULL, images, 2);

      g_assert_cmpmem (same, 2 * 144 * sizeof (float), images, 2 * 144 * sizeof (float));
    }
  }
  qs_engine_model_free (model);
}

/* A ReLU is fused into the convolution before it only while nothing else
 * reads the convolution's value: a later Add of the pre-activation value,
 * or scoring it, undoes the fusion. y = 2x - 0.5 per pixel, so half the
 * pre-activation values are negative. */
static QsEngineModel *
conv_then_relu (QsConvParams *conv,
                int          *conv_value,
                int          *relu_value)
{
  static const float kernel[1] = { 2.0f }, bias[1] = { -0.5f };
  QsEngineModel *model = qs_engine_model_new (4, 4, 1);
  QsLayerInfo info;

  g_assert_cmpint (qs_engine_model_add_conv2d (model, "conv", conv, kernel, bias), ==, QS_ENGINE_OK);
  *conv_value = qs_engine_model_get_last_value (model);
  g_assert_cmpint (qs_engine_model_add_activation (model, "relu", QS_ACTIVATION_RELU, INFINITY), ==, QS_ENGINE_OK);
  *relu_value = qs_engine_model_get_last_value (model);
  g_assert_cmpint (*relu_value, ==, *conv_value + 1);
  g_assert_true (qs_engine_model_get_layer (model, 1, &info));
  g_assert_true (info.fused);
  return model;
}

static void
test_relu_unfused_by_reader (void)
{
  QsConvParams conv = { .kernel_h = 1, .kernel_w = 1, .stride_h = 1, .stride_w = 1,
                        .padding = QS_PADDING_VALID, .filters = 1, .activation = QS_ACTIVATION_NONE,
                        .activation_max = INFINITY };
  g_autofree float *images = random_floats (8 * 16, 11, 1.0);
  QsEngineDataset data = { .count = 8, .height = 4, .width = 4, .channels = 1, .images = images };
  QsScheme scheme;
  QsLayerInfo info;
  int conv_value, relu_value;
  QsEngineModel *model = conv_then_relu (&conv, &conv_value, &relu_value);
  QsQuantizedModel *quantized;

  {
    int both[2] = { conv_value, relu_value };

    g_assert_cmpint (qs_engine_model_set_next_inputs (model, both, 2), ==, QS_ENGINE_OK);
    g_assert_cmpint (qs_engine_model_add_merge (model, "add", QS_LAYER_ADD), ==, QS_ENGINE_OK);
  }
  g_assert_true (qs_engine_model_get_layer (model, 1, &info));
  g_assert_false (info.fused);
  qs_scheme_init_default (&scheme);
  quantized = prepare (model, &scheme, &data);
  {
    g_autofree float *f = run_model (model, NULL, images, 8);
    g_autofree float *q = run_model (model, quantized, images, 8);

    for (size_t i = 0; i < 8 * 16; i++)
      {
        double y = 2.0 * images[i] - 0.5, expect = y + MAX (y, 0.0);

        g_assert_cmpfloat_with_epsilon (f[i], expect, 1e-6);
        g_assert_cmpfloat_with_epsilon (q[i], expect, 0.1);
      }
  }
  qs_quantized_model_free (quantized);
  qs_engine_model_free (model);

  /* Scoring the convolution's value: its negative values stay. */
  model = conv_then_relu (&conv, &conv_value, &relu_value);
  g_assert_cmpint (qs_engine_model_set_output (model, conv_value), ==, QS_ENGINE_OK);
  g_assert_true (qs_engine_model_get_layer (model, 1, &info));
  g_assert_false (info.fused);
  {
    g_autofree float *f = run_model (model, NULL, images, 8);

    for (size_t i = 0; i < 8 * 16; i++)
      g_assert_cmpfloat_with_epsilon (f[i], 2.0 * images[i] - 0.5, 1e-6);
  }
  qs_engine_model_free (model);
}

/* With nudged zero points the integer path runs in float exactly the
 * layers that have no integer kernel, and says so per layer. */
static void
test_runs_in_float_quantized (void)
{
  g_autoptr (JsonParser) parser = NULL;
  JsonArray *graphs = golden_graphs (&parser);
  size_t in_float = 0;

  for (guint g = 0; g < json_array_get_length (graphs); g++)
    {
      QsEngineModel *model = build_golden (json_array_get_object_element (graphs, g));
      int h, w, c;
      g_autofree float *images = NULL;
      QsEngineDataset data = { .count = 4 };
      QsScheme scheme;
      QsQuantizedModel *quantized;

      qs_engine_model_get_input_shape (model, &h, &w, &c);
      images = random_floats (4 * (size_t) h * w * c, 21 + g, 1.0);
      data.height = h, data.width = w, data.channels = c, data.images = images;
      qs_scheme_init_default (&scheme);
      quantized = prepare (model, &scheme, &data);
      for (size_t i = 0; i < qs_engine_model_get_n_layers (model); i++)
        {
          QsLayerInfo info;

          g_assert_true (qs_engine_model_get_layer (model, i, &info));
          g_assert_cmpint (qs_quantized_model_layer_runs_in_float (quantized, i), ==, info.runs_in_float);
          in_float += info.runs_in_float;
        }
      g_assert_false (qs_quantized_model_layer_runs_in_float (quantized, qs_engine_model_get_n_layers (model)));
      qs_quantized_model_free (quantized);
      qs_engine_model_free (model);
    }
  g_assert_cmpuint (in_float, ==, 4);
}

/* LayerNormalization over the channels, against moments worked out by
 * hand: pixel [1, 2, 3, 6] has mean 3 and variance 14/4, pixel [0, 0, 0, 4]
 * mean 1 and variance 12/4. The integer path runs it in float. */
static void
test_layer_norm (void)
{
  static const float gamma[4] = { 1.0f, 2.0f, 0.5f, 1.0f }, beta[4] = { 0.0f, 0.0f, 1.0f, -1.0f };
  static const float images[8] = { 1, 2, 3, 6, 0, 0, 0, 4 };
  const double mean[2] = { 3.0, 1.0 }, variance[2] = { 3.5, 3.0 }, epsilon = 1e-3;
  QsEngineModel *model = qs_engine_model_new (1, 2, 4);
  QsEngineDataset data = { .count = 1, .height = 1, .width = 2, .channels = 4, .images = images };
  QsScheme scheme;
  QsQuantizedModel *quantized;
  QsLayerInfo info;

  g_assert_cmpint (qs_engine_model_add_layer_norm (model, "ln", gamma, beta, -1.0f), ==, QS_ENGINE_INVALID_ARGUMENT);
  g_assert_cmpuint (qs_engine_model_get_n_layers (model), ==, 0);
  g_assert_cmpint (qs_engine_model_add_layer_norm (model, "ln", gamma, beta, (float) epsilon), ==, QS_ENGINE_OK);
  g_assert_true (qs_engine_model_get_layer (model, 0, &info));
  g_assert_cmpint (info.kind, ==, QS_LAYER_LAYER_NORM);
  g_assert_true (info.runs_in_float);
  qs_scheme_init_default (&scheme);
  quantized = prepare (model, &scheme, &data);
  g_assert_true (qs_quantized_model_layer_runs_in_float (quantized, 0));
  {
    g_autofree float *f = run_model (model, NULL, images, 1);
    g_autofree float *q = run_model (model, quantized, images, 1);

    for (int p = 0; p < 2; p++)
      for (int c = 0; c < 4; c++)
        {
          double expect = (images[p * 4 + c] - mean[p]) / sqrt (variance[p] + epsilon) * gamma[c] + beta[c];

          g_assert_cmpfloat_with_epsilon (f[p * 4 + c], expect, 1e-6);
          /* Input and output codes: within a step or two of the range (about 5 / 255). */
          g_assert_cmpfloat_with_epsilon (q[p * 4 + c], expect, 0.06);
        }
  }
  qs_quantized_model_free (quantized);
  qs_engine_model_free (model);
}

/* Minimum of the image and 0.25 - image, on both paths. */
static void
test_minimum (void)
{
  static const float minus[3] = { -1.0f, -1.0f, -1.0f }, quarter[3] = { 0.25f, 0.25f, 0.25f };
  g_autofree float *images = random_floats (6 * 12, 31, 1.0);
  QsEngineDataset data = { .count = 6, .height = 2, .width = 2, .channels = 3, .images = images };
  QsEngineModel *model = qs_engine_model_new (2, 2, 3);
  int both[2] = { QS_ENGINE_INPUT_VALUE, 1 };
  QsScheme scheme;
  QsQuantizedModel *quantized;

  g_assert_cmpint (qs_engine_model_add_affine (model, "flip", minus, quarter), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_set_next_inputs (model, both, 2), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_add_merge (model, "min", QS_LAYER_MINIMUM), ==, QS_ENGINE_OK);
  g_assert_cmpstr (qs_layer_kind_to_string (QS_LAYER_MINIMUM), ==, "Minimum");
  qs_scheme_init_default (&scheme);
  quantized = prepare (model, &scheme, &data);
  g_assert_false (qs_quantized_model_layer_runs_in_float (quantized, 1));
  {
    g_autofree float *f = run_model (model, NULL, images, 6);
    g_autofree float *q = run_model (model, quantized, images, 6);

    for (size_t i = 0; i < 6 * 12; i++)
      {
        double expect = MIN (images[i], 0.25 - images[i]);

        g_assert_cmpfloat_with_epsilon (f[i], expect, 1e-6);
        /* Input, affine and output steps of about 2 / 255 each. */
        g_assert_cmpfloat_with_epsilon (q[i], expect, 0.03);
      }
  }
  qs_quantized_model_free (quantized);
  qs_engine_model_free (model);
}

/* ---- shared weights ------------------------------------------------------------------------ */

/* Conv A (weights w), conv B (weights v) on A, conv C on B with A's
 * weights again: a layer called twice, as a shared Keras layer is. */
static QsEngineModel *
build_called_twice (const float *w,
                    const float *v,
                    const float *bias)
{
  QsEngineModel *model = qs_engine_model_new (4, 4, 2);
  QsConvParams conv = { .kernel_h = 3, .kernel_w = 3, .stride_h = 1, .stride_w = 1, .padding = QS_PADDING_SAME,
                        .filters = 2, .activation = QS_ACTIVATION_NONE, .activation_max = INFINITY };

  g_assert_cmpint (qs_engine_model_add_conv2d (model, "a", &conv, w, bias), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_add_conv2d (model, "b", &conv, v, bias), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_add_conv2d (model, "a", &conv, w, bias), ==, QS_ENGINE_OK);
  return model;
}

/* A branch that quantizes a shared layer, or keeps it in float32,
 * changes every call of it, as its scheme set run whole does (sensitivity
 * and the mixed-precision search score shared layers through branches). */
static void
test_shared_weights_branches (void)
{
  g_autofree float *w = random_floats (3 * 3 * 2 * 2, 45, 0.5);
  g_autofree float *v = random_floats (3 * 3 * 2 * 2, 46, 0.5);
  g_autofree float *bias = random_floats (2, 47, 0.1);
  g_autofree float *images = random_floats (12 * 32, 48, 1.0);
  QsEngineDataset data = { .count = 12, .height = 4, .width = 4, .channels = 2, .images = images };
  QsEngineModel *model = build_called_twice (w, v, bias);

  g_assert_cmpint (qs_engine_model_share_weights (model, 2, 0), ==, QS_ENGINE_OK);
  g_assert_cmpuint (qs_engine_model_get_n_weighted (model), ==, 2);
  check_branches (model, &data);
  qs_engine_model_free (model);
}

/* qs_engine_model_share_weights: only the same weights, bit for bit, of
 * an earlier weighted layer; the later layer then runs the earlier one's
 * copy under its weight index (one scheme), the weighted layers after it
 * move down, and both paths give what the unshared model gives. */
static void
test_shared_weights (void)
{
  g_autofree float *w = random_floats (3 * 3 * 2 * 2, 41, 0.5);
  g_autofree float *v = random_floats (3 * 3 * 2 * 2, 42, 0.5);
  g_autofree float *bias = random_floats (2, 43, 0.1);
  g_autofree float *images = random_floats (8 * 32, 44, 1.0);
  QsEngineDataset data = { .count = 8, .height = 4, .width = 4, .channels = 2, .images = images };
  QsEngineModel *shared = build_called_twice (w, v, bias), *apart = build_called_twice (w, v, bias);
  const QsScheme *schemes[3];
  QsQuantizedModel *qs = NULL, *qa;
  QsScheme scheme;
  QsLayerInfo info;

  g_assert_cmpint (qs_engine_model_share_weights (shared, 1, 0), ==, QS_ENGINE_INVALID_ARGUMENT);
  g_assert_cmpint (qs_engine_model_share_weights (shared, 2, 1), ==, QS_ENGINE_INVALID_ARGUMENT);
  g_assert_cmpint (qs_engine_model_share_weights (shared, 0, 2), ==, QS_ENGINE_INVALID_ARGUMENT);
  g_assert_cmpint (qs_engine_model_share_weights (shared, 2, 2), ==, QS_ENGINE_INVALID_ARGUMENT);
  g_assert_cmpint (qs_engine_model_share_weights (shared, 3, 0), ==, QS_ENGINE_INVALID_ARGUMENT);
  g_assert_cmpuint (qs_engine_model_get_n_weighted (shared), ==, 3);
  g_assert_cmpint (qs_engine_model_share_weights (shared, 2, 0), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_share_weights (shared, 2, 0), ==, QS_ENGINE_INVALID_ARGUMENT);
  g_assert_cmpuint (qs_engine_model_get_n_weighted (shared), ==, 2);
  for (size_t i = 0; i < 3; i++)
    {
      g_assert_true (qs_engine_model_get_layer (shared, i, &info));
      g_assert_cmpint (info.weight_index, ==, i == 1 ? 1 : 0);
    }
  g_assert_cmpint (qs_engine_model_weighted_layer_index (shared, 0), ==, 0);
  g_assert_cmpint (qs_engine_model_weighted_layer_index (shared, 1), ==, 1);
  g_assert_true (shared->layers[2].packed_f32 == shared->layers[0].packed_f32);
  g_assert_true (shared->layers[2].bias == shared->layers[0].bias);

  qs_scheme_init_default (&scheme);
  schemes[0] = schemes[1] = schemes[2] = &scheme;
  /* Two schemes for the shared model, three for the other. */
  g_assert_cmpint (qs_engine_prepare_quantized (shared, schemes, 3, NULL, &data, 0, NULL, &qs, NULL, 0), ==,
                   QS_ENGINE_INVALID_ARGUMENT);
  g_assert_cmpint (qs_engine_prepare_quantized (shared, schemes, 2, NULL, &data, 0, NULL, &qs, NULL, 0), ==,
                   QS_ENGINE_OK);
  qa = prepare (apart, &scheme, &data);
  {
    g_autofree float *fs = run_model (shared, NULL, images, 8);
    g_autofree float *fa = run_model (apart, NULL, images, 8);
    g_autofree float *is = run_model (shared, qs, images, 8);
    g_autofree float *ia = run_model (apart, qa, images, 8);

    g_assert_cmpmem (fs, 8 * 32 * sizeof (float), fa, 8 * 32 * sizeof (float));
    g_assert_cmpmem (is, 8 * 32 * sizeof (float), ia, 8 * 32 * sizeof (float));
  }
  qs_quantized_model_free (qs);
  qs_quantized_model_free (qa);
  qs_engine_model_free (shared);
  qs_engine_model_free (apart);
}

/* On 6 x 6 images of @channels channels, a Conv2D "c" (ReLU) and a
 * DepthwiseConv2D "d" one after the other @calls times, global average
 * pooling, then a Dense "e" @calls times in a chain, each later call
 * shared with the first when @share. */
static QsEngineModel *
build_called_often (size_t       calls,
                    bool         share,
                    int          channels,
                    const float *conv_w,
                    const float *dw_w,
                    const float *dense_w,
                    const float *bias)
{
  QsEngineModel *model = qs_engine_model_new (6, 6, channels);
  QsConvParams conv = { .kernel_h = 3, .kernel_w = 3, .stride_h = 1, .stride_w = 1, .padding = QS_PADDING_SAME,
                        .filters = channels, .activation = QS_ACTIVATION_RELU, .activation_max = INFINITY };
  QsConvParams dw = conv;

  dw.filters = 1;
  dw.activation = QS_ACTIVATION_NONE;
  for (size_t c = 0; c < calls; c++)
    {
      g_assert_cmpint (qs_engine_model_add_conv2d (model, "c", &conv, conv_w, bias), ==, QS_ENGINE_OK);
      g_assert_cmpint (qs_engine_model_add_depthwise (model, "d", &dw, dw_w, bias), ==, QS_ENGINE_OK);
    }
  g_assert_cmpint (qs_engine_model_add_global_average_pool (model, "gap"), ==, QS_ENGINE_OK);
  for (size_t c = 0; c < calls; c++)
    g_assert_cmpint (qs_engine_model_add_dense (model, "e", channels, QS_ACTIVATION_NONE, INFINITY, dense_w, bias), ==,
                     QS_ENGINE_OK);
  for (size_t c = 1; share && c < calls; c++)
    {
      g_assert_cmpint (qs_engine_model_share_weights (model, 2 * c, 0), ==, QS_ENGINE_OK);
      g_assert_cmpint (qs_engine_model_share_weights (model, 2 * c + 1, 1), ==, QS_ENGINE_OK);
      g_assert_cmpint (qs_engine_model_share_weights (model, 2 * calls + 1 + c, 2 * calls + 1), ==, QS_ENGINE_OK);
    }
  return model;
}

/* The quantized model quantizes and packs a shared layer's weights once:
 * a layer called three times holds the bytes of one call, where the same
 * layers unshared hold three times those, and gives the unshared model's
 * outputs bit for bit, each call on its own input and output quantizers
 * (so on its own biases and multipliers), under integer, int16,
 * fractional zero point, group-wise, block and float-format schemes, and
 * with the last (shared) Dense layer's sums as float logits; on one
 * channel, the Conv2D calls run the ISA's direct one-channel convolution
 * where it has one. */
static void
test_shared_weights_once (void)
{
  enum { CALLS = 3, N = 8 };
  static const struct { QsFormat format; int bits; QsMapping mapping; QsGranularity granularity; bool nudge;
                        int group_size; bool float_logits; } cases[] = {
    { QS_FORMAT_INT, 8, QS_MAPPING_SYMMETRIC, QS_GRANULARITY_CHANNEL, true, 0, false },
    { QS_FORMAT_INT, 8, QS_MAPPING_SYMMETRIC, QS_GRANULARITY_CHANNEL, true, 0, true },
    { QS_FORMAT_INT, 8, QS_MAPPING_ASYMMETRIC, QS_GRANULARITY_TENSOR, false, 0, false },
    { QS_FORMAT_INT, 12, QS_MAPPING_SYMMETRIC, QS_GRANULARITY_CHANNEL, true, 0, false },
    { QS_FORMAT_INT, 4, QS_MAPPING_ASYMMETRIC, QS_GRANULARITY_GROUP, true, 8, false },
    { QS_FORMAT_NVFP4, 4, QS_MAPPING_SYMMETRIC, QS_GRANULARITY_GROUP, true, 0, true },
    { QS_FORMAT_MXFP6_E3M2, 6, QS_MAPPING_SYMMETRIC, QS_GRANULARITY_GROUP, true, 0, false },
    { QS_FORMAT_MXFP8_E4M3, 8, QS_MAPPING_SYMMETRIC, QS_GRANULARITY_GROUP, true, 0, false },
    { QS_FORMAT_FP16, 16, QS_MAPPING_SYMMETRIC, QS_GRANULARITY_CHANNEL, true, 0, false },
  };
  g_autofree float *conv_w = random_floats (3 * 3 * 4 * 4, 51, 0.4);
  g_autofree float *dw_w = random_floats (3 * 3 * 4, 52, 0.6);
  g_autofree float *dense_w = random_floats (4 * 4, 53, 0.8);
  g_autofree float *bias = random_floats (4, 54, 0.1);
  g_autofree float *images = random_floats (N * 6 * 6 * 4, 55, 1.0);

  for (int channels = 4; channels >= 1; channels -= 3)
    for (size_t ci = 0; ci < G_N_ELEMENTS (cases); ci++)
      {
        QsEngineDataset data = { .count = N, .height = 6, .width = 6, .channels = channels, .images = images };
        QsEngineModel *shared = build_called_often (CALLS, true, channels, conv_w, dw_w, dense_w, bias);
        QsEngineModel *apart = build_called_often (CALLS, false, channels, conv_w, dw_w, dense_w, bias);
        QsEngineModel *once = build_called_often (1, false, channels, conv_w, dw_w, dense_w, bias);
        size_t n_outputs = qs_engine_model_get_n_outputs (shared);
        QsScheme scheme;
        QsActivationScheme act;
        QsQuantizedModel *qs, *qa, *q1;
        size_t bytes;

        qs_scheme_init_default (&scheme);
        scheme.format = cases[ci].format;
        scheme.bits = cases[ci].bits;
        scheme.mapping = cases[ci].mapping;
        scheme.narrow = cases[ci].mapping == QS_MAPPING_SYMMETRIC && cases[ci].format == QS_FORMAT_INT;
        scheme.granularity = cases[ci].granularity;
        scheme.nudge_zero = cases[ci].nudge;
        scheme.group_size = cases[ci].group_size;
        qs_activation_scheme_init_default (&act);
        act.nudge_zero = cases[ci].nudge;
        act.float_logits = cases[ci].float_logits;
        qs = prepare_with (shared, &scheme, &act, &data);
        qa = prepare_with (apart, &scheme, &act, &data);
        q1 = prepare_with (once, &scheme, &act, &data);

        g_assert_cmpuint (qs_engine_model_get_n_weighted (shared), ==, 3);
        g_assert_cmpuint (qs_engine_model_get_n_weighted (apart), ==, 3 * CALLS);
        bytes = qs_quantized_model_weight_bytes (q1);
        g_test_message ("%d channels, case %zu: %s, %zu bytes of weights a call%s", channels, ci,
                        qs->layers[0].stats.kernel, bytes, qs->layers[0].packed_c1 != NULL ? " (direct convolution)" : "");
        g_assert_cmpuint (bytes, >, 0);
        g_assert_cmpuint (qs_quantized_model_weight_bytes (qs), ==, bytes);
        g_assert_cmpuint (qs_quantized_model_weight_bytes (qa), ==, CALLS * bytes);
        {
          g_autofree float *is = run_model (shared, qs, images, N);
          g_autofree float *ia = run_model (apart, qa, images, N);

          g_assert_cmpmem (is, N * n_outputs * sizeof (float), ia, N * n_outputs * sizeof (float));
        }
        for (size_t i = 0; i < shared->n_layers; i++)
          {
            const QsQuantLayer *s = &qs->layers[i], *a = &qa->layers[i];

            g_assert_cmpint (s->borrowed_weights, ==, shared->layers[i].shared_weights);
            g_assert_false (a->borrowed_weights);
            g_assert_cmpint (s->mode, ==, a->mode);
            /* Each call its own quantizers, as the unshared model's. */
            g_assert_cmpfloat (s->in.scale, ==, a->in.scale);
            g_assert_cmpfloat (s->out.scale, ==, a->out.scale);
            g_assert_cmpint (s->out.zero_code, ==, a->out.zero_code);
            g_assert_cmpint (s->float_output, ==, a->float_output);
            if (!shared->layers[i].shared_weights)
              continue;
            {
              const QsQuantLayer *first = &qs->layers[qs_engine_model_weighted_layer_index (shared,
                                                                                     (size_t) shared->layers[i].weight_index)];

              g_assert_true (s->packed == first->packed && s->packed_c1 == first->packed_c1);
              g_assert_true (s->group_scales == first->group_scales);
              g_assert_true (s->round_scale == first->round_scale);
              g_assert_true (s->fake_packed == first->fake_packed && s->fake_weights == first->fake_weights);
              g_assert_true (s->dw32 == first->dw32 && s->w16 == first->w16);
              g_assert_cmpfloat (s->stats.weight_sqnr_db, ==, a->stats.weight_sqnr_db);
              g_assert_true (s->bias32 == NULL || s->bias32 != first->bias32);
              g_assert_true (s->multiplier == NULL || s->multiplier != first->multiplier);
              /* The calls do see different values. */
              g_assert_cmpfloat (s->in.scale, !=, first->in.scale);
            }
          }
        qs_quantized_model_free (qs);
        qs_quantized_model_free (qa);
        qs_quantized_model_free (q1);
        qs_engine_model_free (shared);
        qs_engine_model_free (apart);
        qs_engine_model_free (once);
      }
}

/* On a one-channel 4 x @width image, a 3 x 3 Conv2D called three times:
 * on the image, on it widened twice (nearest upsampling) or halved (max
 * pooling), then on that halved or widened again; each later call shared
 * with the first when @share. */
static QsEngineModel *
build_calls_of_two_widths (int          width,
                           bool         share,
                           const float *kernel,
                           const float *bias)
{
  QsEngineModel *model = qs_engine_model_new (4, width, 1);
  QsConvParams conv = { .kernel_h = 3, .kernel_w = 3, .stride_h = 1, .stride_w = 1, .padding = QS_PADDING_SAME,
                        .filters = 1, .activation = QS_ACTIVATION_NONE, .activation_max = INFINITY };
  QsConvParams halve = { .kernel_h = 1, .kernel_w = 2, .stride_h = 1, .stride_w = 2 };

  for (int call = 0; call < 3; call++)
    {
      g_assert_cmpint (qs_engine_model_add_conv2d (model, "c", &conv, kernel, bias), ==, QS_ENGINE_OK);
      if (call == 2)
        break;
      if ((call == 0) == (width <= 50))
        g_assert_cmpint (qs_engine_model_add_upsample (model, "widen", 1, 2, false), ==, QS_ENGINE_OK);
      else
        g_assert_cmpint (qs_engine_model_add_pool (model, "halve", QS_LAYER_MAX_POOL, &halve), ==, QS_ENGINE_OK);
    }
  for (size_t i = 2; share && i <= 4; i += 2)
    g_assert_cmpint (qs_engine_model_share_weights (model, i, 0), ==, QS_ENGINE_OK);
  return model;
}

/* The ISA's direct one-channel convolution is a choice of each call's
 * shape (its output rows at most QS_ENGINE_TILE_ROWS wide): a later call
 * of a shared Conv2D runs it on the first call's packing where its own
 * shape takes it, the GEMM otherwise (also when the first call's shape
 * did not take it, so none was packed), and gives the unshared model's
 * outputs bit for bit either way. */
static void
test_shared_weights_shapes (void)
{
  g_autofree float *kernel = random_floats (9, 61, 0.5);
  g_autofree float *bias = random_floats (1, 62, 0.1);
  g_autofree float *images = random_floats (6 * 4 * 100, 63, 1.0);
  const QsKernels *kr = qs_kernels_get (qs_kernels_detect_isa ());

  for (int width = 50; width <= 100; width += 50)
    {
      QsEngineDataset data = { .count = 6, .height = 4, .width = width, .channels = 1, .images = images };
      QsEngineModel *shared = build_calls_of_two_widths (width, true, kernel, bias);
      QsEngineModel *apart = build_calls_of_two_widths (width, false, kernel, bias);
      size_t n_outputs = qs_engine_model_get_n_outputs (shared);
      QsScheme scheme;
      QsQuantizedModel *qs, *qa;

      qs_scheme_init_default (&scheme);
      qs = prepare (shared, &scheme, &data);
      qa = prepare (apart, &scheme, &data);
      for (size_t i = 0; i <= 4; i += 2)
        {
          /* 50 wide: the calls are 50, 100 and 50 wide; 100 wide: 100, 50 and 100. */
          bool narrow = shared->layers[i].out_w <= QS_ENGINE_TILE_ROWS;

          g_assert_cmpint (shared->layers[i].out_w, ==, (width == 50) == (i != 2) ? 50 : 100);
          g_assert_true ((qa->layers[i].packed_c1 != NULL) == (kr->conv_c1 != NULL && narrow));
          g_assert_true ((qs->layers[i].packed_c1 != NULL) == (kr->conv_c1 != NULL && narrow && width == 50));
          g_assert_true (qs->layers[i].packed == qs->layers[0].packed);
        }
      {
        g_autofree float *is = run_model (shared, qs, images, 6);
        g_autofree float *ia = run_model (apart, qa, images, 6);

        g_assert_cmpmem (is, 6 * n_outputs * sizeof (float), ia, 6 * n_outputs * sizeof (float));
      }
      qs_quantized_model_free (qs);
      qs_quantized_model_free (qa);
      qs_engine_model_free (shared);
      qs_engine_model_free (apart);
    }
}

/* ---- threads inside one image --------------------------------------------------------- */

typedef struct {
  const QsEngineModel *model;
  const float         *images;
  size_t               image_size;
  size_t               n_outputs;
  float               *outputs;
  atomic_int           most_threads;
} ThreadsJob;

static QsEngineStatus
forward_task (void  *data,
              size_t task,
              size_t first,
              size_t count,
              void  *scratch)
{
  ThreadsJob *job = data;
  int threads = qs_engine_task_threads ();

  if (threads > atomic_load (&job->most_threads))
    atomic_store (&job->most_threads, threads);
  return qs_engine_forward_fp32 (job->model, job->images + first * job->image_size, count, scratch,
                                 NULL, NULL, job->outputs + first * job->n_outputs);
}

/* The float32 outputs of @count images on @n_threads threads; @threads_seen
 * gets the most threads a task was given. */
static float *
forward_on_threads (const QsEngineModel *model,
                    const float         *images,
                    size_t               count,
                    int                  n_threads,
                    int                 *threads_seen)
{
  ThreadsJob job = { model, images, 64 * 64 * 16, qs_engine_model_get_n_outputs (model), NULL, 0 };
  QsEngineRunOptions options;

  qs_engine_run_options_init (&options);
  options.n_threads = n_threads;
  job.outputs = g_new (float, count * job.n_outputs);
  g_assert_cmpint (qs_engine_run_batches (count, qs_engine_batch_scratch_size (model, NULL, QS_ENGINE_TASK_IMAGES),
                                          &options, 0, count,
                                          forward_task, &job), ==, QS_ENGINE_OK);
  *threads_seen = atomic_load (&job.most_threads);
  return job.outputs;
}

/* One image on two threads: its large GEMM layers (an im2col convolution,
 * a pointwise one read directly) split their row tiles between the
 * threads, each with its own im2col rows, and a strided depthwise layer
 * its output rows (in bands whose padding moves up), and give the
 * one-thread bits; a batch with a task per thread keeps one thread per
 * task. */
static void
test_one_image_threads (void)
{
  QsEngineModel *model = qs_engine_model_new (64, 64, 16);
  QsConvParams conv = { .kernel_h = 3, .kernel_w = 3, .stride_h = 1, .stride_w = 1,
                        .padding = QS_PADDING_SAME, .filters = 64, .activation = QS_ACTIVATION_RELU,
                        .activation_max = INFINITY };
  QsConvParams pointwise = { .kernel_h = 1, .kernel_w = 1, .stride_h = 1, .stride_w = 1,
                             .padding = QS_PADDING_VALID, .filters = 64, .activation = QS_ACTIVATION_RELU,
                             .activation_max = 6.0f };
  QsConvParams depthwise = { .kernel_h = 3, .kernel_w = 3, .stride_h = 2, .stride_w = 2,
                             .padding = QS_PADDING_SAME, .filters = 1, .activation = QS_ACTIVATION_NONE,
                             .activation_max = INFINITY };
  g_autofree float *k1 = random_floats (3 * 3 * 16 * 64, 11, 0.2);
  g_autofree float *k2 = random_floats (64 * 64, 12, 0.2);
  g_autofree float *k3 = random_floats (64 * 10, 13, 0.3);
  g_autofree float *k4 = random_floats (3 * 3 * 64, 16, 0.3);
  g_autofree float *bias = random_floats (64, 14, 0.1);
  size_t count = QS_ENGINE_TASK_IMAGES + 1;
  g_autofree float *images = random_floats (count * 64 * 64 * 16, 15, 1.0);
  int seen;

  g_assert_cmpint (qs_engine_model_add_conv2d (model, "conv", &conv, k1, bias), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_add_conv2d (model, "pointwise", &pointwise, k2, bias), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_add_depthwise (model, "depthwise", &depthwise, k4, bias), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_add_global_average_pool (model, "pool"), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_add_dense (model, "dense", 10, QS_ACTIVATION_NONE, INFINITY, k3, bias),
                   ==, QS_ENGINE_OK);
  /* Both GEMM layers are large enough to split, and take long enough
   * (milliseconds) that the second thread starts before the first has
   * run every tile. */
  g_assert_cmpuint (64 * 64 * 144 * 64, >=, QS_ENGINE_SPLIT_MACS);
  g_assert_cmpuint (64 * 64 * 64 * 64, >=, QS_ENGINE_SPLIT_MACS);
  g_assert_cmpuint (32 * 32 * 64 * 9, >=, QS_ENGINE_SPLIT_DEPTHWISE_MACS);

  for (size_t i = 0; i < 3; i++)
    {
      g_autofree float *one = forward_on_threads (model, images + i * 64 * 64 * 16, 1, 1, &seen);
      g_autofree float *two = NULL;

      g_assert_cmpint (seen, ==, 1);
      two = forward_on_threads (model, images + i * 64 * 64 * 16, 1, 2, &seen);
      g_assert_cmpint (seen, ==, 2);
      g_assert_cmpmem (two, 10 * sizeof (float), one, 10 * sizeof (float));
    }
  {
    g_autofree float *one = forward_on_threads (model, images, count, 1, &seen);
    g_autofree float *two = forward_on_threads (model, images, count, 2, &seen);

    g_assert_cmpint (seen, ==, 1);
    g_assert_cmpmem (two, count * 10 * sizeof (float), one, count * 10 * sizeof (float));
  }
  qs_engine_model_free (model);
}

/* ---- float-weight layers between codes ----------------------------------------- */

/* Each float-weight layer of a model whose maps span several of the
 * integer path's tiles and bands (a strided padded convolution, a
 * pointwise one, depthwise ones at strides 1 and 2, float logits or
 * codes out), run on random codes, against the float32 path's whole
 * layer on those codes dequantized, clamped and quantized by the scalar
 * reference: the same bits, with integer and with fractional zero points
 * (whose padding is not the code of 0.0). */
static void
test_float_weights_between_codes (void)
{
  QsEngineModel *model = qs_engine_model_new (128, 96, 8);
  QsConvParams conv = { .kernel_h = 3, .kernel_w = 3, .stride_h = 2, .stride_w = 2,
                        .padding = QS_PADDING_SAME, .filters = 40, .activation = QS_ACTIVATION_RELU,
                        .activation_max = 6.0f };
  QsConvParams pointwise = { .kernel_h = 1, .kernel_w = 1, .stride_h = 1, .stride_w = 1,
                             .padding = QS_PADDING_VALID, .filters = 96, .activation = QS_ACTIVATION_NONE,
                             .activation_max = INFINITY };
  QsConvParams depthwise = { .kernel_h = 3, .kernel_w = 3, .stride_h = 1, .stride_w = 1,
                             .padding = QS_PADDING_SAME, .filters = 1, .activation = QS_ACTIVATION_RELU,
                             .activation_max = INFINITY };
  g_autofree float *k1 = random_floats (3 * 3 * 8 * 40, 31, 0.3);
  g_autofree float *k2 = random_floats (40 * 96, 32, 0.3);
  g_autofree float *k3 = random_floats (3 * 3 * 96, 33, 0.5);
  g_autofree float *k4 = random_floats (3 * 3 * 96, 34, 0.5);
  g_autofree float *k5 = random_floats (96 * 10, 35, 0.3);
  g_autofree float *bias = random_floats (96, 36, 0.2);
  g_autofree float *images = random_floats (4 * 128 * 96 * 8, 37, 1.0);
  QsEngineDataset data = { .count = 4, .height = 128, .width = 96, .channels = 8, .images = images };
  size_t batch = 3, checked = 0;

  g_assert_cmpint (qs_engine_model_add_conv2d (model, "conv", &conv, k1, bias), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_add_conv2d (model, "pointwise", &pointwise, k2, bias), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_add_depthwise (model, "dw1", &depthwise, k3, bias), ==, QS_ENGINE_OK);
  depthwise.stride_h = depthwise.stride_w = 2;
  g_assert_cmpint (qs_engine_model_add_depthwise (model, "dw2", &depthwise, k4, bias), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_add_global_average_pool (model, "pool"), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_add_dense (model, "dense", 10, QS_ACTIVATION_NONE, INFINITY, k5, bias),
                   ==, QS_ENGINE_OK);

  for (int variant = 0; variant < 2; variant++)
    {
      const QsScheme *none[8] = { NULL };
      QsActivationScheme activations;
      QsCalibration *cal = NULL;
      QsQuantizedModel *qm = NULL;
      size_t size;
      g_autofree void *scratch = NULL;

      qs_activation_scheme_init_default (&activations);
      activations.nudge_zero = variant == 0;
      activations.float_logits = variant == 1;
      g_assert_cmpint (qs_engine_calibrate (model, &activations, &data, 0, NULL, &cal, NULL, 0), ==, QS_ENGINE_OK);
      g_assert_cmpint (qs_engine_quantize_calibrated (cal, none, qs_engine_model_get_n_weighted (model), false,
                                                      NULL, &qm, NULL, 0), ==, QS_ENGINE_OK);
      size = qs_engine_get_buffer_size (model, qm, batch);
      scratch = g_malloc (size);
      for (size_t w = 0; w < qs_engine_model_get_n_weighted (model); w++)
        {
          size_t i = (size_t) qs_engine_model_weighted_layer_index (model, w);
          const QsEngineLayer *l = &model->layers[i];
          const QsQuantLayer *q = &qm->layers[i];
          const QsActQuant *in_q = &qm->values[l->inputs[0]];
          size_t in_n = batch * qs_layer_in_size (l), out_n = batch * qs_layer_out_size (l);
          g_autofree uint8_t *codes = g_new (uint8_t, in_n);
          g_autofree float *real = g_new (float, in_n), *sums = g_new (float, out_n);
          g_autofree uint8_t *got = g_new (uint8_t, out_n), *want = g_new (uint8_t, out_n);
          GRand *rand = g_rand_new_with_seed (40 + (guint32) (variant * 8 + w));
          QsQuantizedLayerStats stats;

          qs_quantized_model_get_layer_stats (qm, w, &stats);
          g_assert_cmpstr (stats.kernel, ==, "float-weights");
          for (size_t j = 0; j < in_n; j++)
            {
              codes[j] = (uint8_t) g_rand_int_range (rand, 0, 256);
              real[j] = ((float) codes[j] - in_q->zero_point) * in_q->scale;
            }
          g_rand_free (rand);
          g_assert_cmpint (qs_engine_run_layer (model, NULL, i, real, batch, scratch, size, sums), ==, QS_ENGINE_OK);
          if (q->float_output)
            {
              g_autofree float *logits = g_new (float, out_n);

              g_assert_cmpint (qs_engine_run_layer (model, qm, i, codes, batch, scratch, size, logits),
                               ==, QS_ENGINE_OK);
              for (size_t j = 0; j < out_n; j++)
                sums[j] = sums[j] < l->lo ? l->lo : (sums[j] > l->hi ? l->hi : sums[j]);
              g_assert_cmpmem (logits, out_n * sizeof (float), sums, out_n * sizeof (float));
            }
          else
            {
              QsRealQuant p = { .lo = l->lo, .hi = l->hi, .scale = q->out.scale, .zero_point = q->out.zero_point,
                                .code_min = q->rq.act_min, .code_max = q->rq.act_max };

              g_assert_cmpint (qs_engine_run_layer (model, qm, i, codes, batch, scratch, size, got),
                               ==, QS_ENGINE_OK);
              qs_quantize_real_u8_scalar (&p, sums, out_n, want);
              g_assert_cmpmem (got, out_n, want, out_n);
            }
          checked++;
        }
      /* The fractional case does pad with something else than 0.0. */
      if (variant == 1)
        g_assert_cmpfloat (qm->values[model->layers[0].inputs[0]].zero_point, !=,
                           (float) qm->values[model->layers[0].inputs[0]].zero_code);
      qs_quantized_model_free (qm);
      qs_calibration_free (cal);
    }
  g_assert_cmpuint (checked, ==, 10);
  qs_engine_model_free (model);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/graph/float-golden", test_float_golden);
  g_test_add_func ("/graph/integer-bounds", test_integer_bounds);
  g_test_add_func ("/graph/runs-in-float", test_runs_in_float);
  g_test_add_func ("/graph/chain-explicit-inputs", test_chain_explicit_inputs);
  g_test_add_func ("/graph/relu-unfused-by-reader", test_relu_unfused_by_reader);
  g_test_add_func ("/graph/runs-in-float-quantized", test_runs_in_float_quantized);
  g_test_add_func ("/graph/layer-norm", test_layer_norm);
  g_test_add_func ("/graph/minimum", test_minimum);
  g_test_add_func ("/graph/shared-weights", test_shared_weights);
  g_test_add_func ("/graph/shared-weights-once", test_shared_weights_once);
  g_test_add_func ("/graph/shared-weights-shapes", test_shared_weights_shapes);
  g_test_add_func ("/graph/shared-weights-branches", test_shared_weights_branches);
  g_test_add_func ("/graph/one-image-threads", test_one_image_threads);
  g_test_add_func ("/graph/calibrate-once", test_calibrate_once);
  g_test_add_func ("/graph/branches", test_branches);
  g_test_add_func ("/graph/float-weights-between-codes", test_float_weights_between_codes);
  g_test_add_func ("/graph/plan-chain-depth", test_plan_chain_depth);
  g_test_add_func ("/graph/plan-residual", test_plan_residual);
  g_test_add_func ("/graph/plan-random", test_plan_random);
  g_test_add_func ("/graph/bad-graphs", test_bad_graphs);
  g_test_add_func ("/graph/pad-fold", test_pad_fold);
  g_test_add_func ("/graph/pad-fold-pool", test_pad_fold_pool);
  return g_test_run ();
}
