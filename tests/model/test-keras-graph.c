/* test-keras-graph.c: engine graphs built from Keras model_configs (real ones and hand-written blocks).
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Each model's float32 output is compared with the same network computed
 * here in double, layer by layer as Keras defines it (no code shared with
 * the loader), on random weights written to a Keras h5 file.
 */
#include <math.h>
#include <string.h>

#include <glib.h>
#include <hdf5.h>
#include <json-glib/json-glib.h>

#include "keras-fixture.h"
#include "model/qs-keras-model.h"
#include "model/qs-weight-file.h"
#include "qs-test-hdf5.h"

static char *tmp_dir;
static GRand *rng;

/* ---- fixtures ------------------------------------------------------------------------ */

typedef struct {
  char       *config;     /* model_config JSON text */
  GArray     *weights;    /* KerasFixtureWeight */
  GPtrArray  *strings;    /* what the weights' names point into */
  GHashTable *values;     /* weight name -> float * */
  char       *path;       /* the h5 file written */
} Fixture;

static void
fixture_free (Fixture *f)
{
  g_free (f->config);
  g_array_unref (f->weights);
  g_ptr_array_unref (f->strings);
  g_hash_table_unref (f->values);
  g_free (f->path);
  g_free (f);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Fixture, fixture_free)

/* Records which top-level layer holds each layer of a nested model (Keras
 * 2's h5 stores a nested model's weights under the outer layer's group). */
static void
collect_groups (JsonObject *model,
                const char *group,
                GHashTable *groups)
{
  JsonObject *config = json_object_get_object_member (model, "config");
  JsonArray *layers = config != NULL && json_object_has_member (config, "layers")
    ? json_object_get_array_member (config, "layers") : NULL;

  for (guint i = 0; layers != NULL && i < json_array_get_length (layers); i++)
    {
      JsonObject *layer = json_array_get_object_element (layers, i);
      JsonObject *lconfig = json_object_get_object_member (layer, "config");
      const char *name = json_object_get_string_member (lconfig, "name");
      const char *outer = group != NULL ? group : name;

      if (group != NULL)
        g_hash_table_insert (groups, g_strdup (name), g_strdup (group));
      if (json_object_has_member (lconfig, "layers"))
        collect_groups (layer, outer, groups);
    }
}

/* Reads tests/data/keras-configs/@file_name and writes its model with
 * random weights of the manifest's shapes. */
static Fixture *
fixture_new (const char *file_name)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "data", "keras-configs", file_name, NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GHashTable) groups = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(GError) error = NULL;
  g_autofree char *h5_name = g_strconcat (file_name, ".h5", NULL);
  Fixture *f = g_new0 (Fixture, 1);
  JsonObject *root, *model;
  JsonArray *manifest;

  json_parser_load_from_file (parser, path, &error);
  g_assert_no_error (error);
  root = json_node_get_object (json_parser_get_root (parser));
  model = json_object_get_object_member (json_object_get_object_member (root, "modelTopology"), "model_config");
  {
    g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), model);

    f->config = json_to_string (node, FALSE);
  }
  collect_groups (model, NULL, groups);
  f->weights = g_array_new (FALSE, TRUE, sizeof (KerasFixtureWeight));
  f->strings = g_ptr_array_new_with_free_func (g_free);
  f->values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  manifest = json_object_get_array_member (root, "weightsManifest");
  for (guint g = 0; g < json_array_get_length (manifest); g++)
    {
      JsonArray *list = json_object_get_array_member (json_array_get_object_element (manifest, g), "weights");

      for (guint i = 0; i < json_array_get_length (list); i++)
        {
          JsonObject *entry = json_array_get_object_element (list, i);
          JsonArray *shape = json_object_get_array_member (entry, "shape");
          char *name = g_strdup (json_object_get_string_member (entry, "name"));
          g_autofree char *layer = g_strndup (name, strcspn (name, "/"));
          KerasFixtureWeight weight = { NULL, name, (int) json_array_get_length (shape), { 0 } };
          const char *group = g_hash_table_lookup (groups, layer);

          g_ptr_array_add (f->strings, name);
          if (group != NULL)
            g_ptr_array_add (f->strings, (gpointer) (weight.group = g_strdup (group)));
          for (int d = 0; d < weight.rank; d++)
            weight.dims[d] = (hsize_t) json_array_get_int_element (shape, (guint) d);
          g_array_append_val (f->weights, weight);
        }
    }
  f->path = keras_fixture_write (tmp_dir, h5_name, f->config, (const KerasFixtureWeight *) f->weights->data,
                                 f->weights->len, TRUE, rng, f->values);
  return f;
}

static const float *
weight (Fixture    *f,
        const char *name)
{
  const float *values = g_hash_table_lookup (f->values, name);

  if (values == NULL)
    g_error ("no weight %s", name);
  return values;
}

static QsEngineModel *
load_path (const char  *path,
           GError     **error)
{
  g_autoptr(QsWeightFile) file = qs_weight_file_open (path, NULL);

  g_assert_nonnull (file);
  return qs_keras_model_load (file, error);
}

static QsEngineModel *
load_fixture (Fixture *f)
{
  g_autoptr(GError) error = NULL;
  QsEngineModel *model = load_path (f->path, &error);

  g_assert_no_error (error);
  g_assert_nonnull (model);
  return model;
}

/* The engine's float32 output for one image. */
static float *
engine_forward (QsEngineModel *model,
                const float   *image)
{
  size_t size = qs_engine_get_buffer_size (model, NULL, 1);
  g_autofree void *scratch = g_malloc (size);
  float *out = g_new (float, qs_engine_model_get_n_outputs (model));

  g_assert_cmpint (qs_engine_forward (model, NULL, image, 1, scratch, size, out), ==, QS_ENGINE_OK);
  return out;
}

static float *
random_image (int h,
              int w,
              int c,
              double lo,
              double hi)
{
  float *image = g_new (float, (gsize) h * w * c);

  for (int i = 0; i < h * w * c; i++)
    image[i] = (float) g_rand_double_range (rng, lo, hi);
  return image;
}

static void
assert_close (const float  *got,
              const double *want,
              int           n)
{
  for (int i = 0; i < n; i++)
    if (fabs (got[i] - want[i]) > 1e-4 * MAX (1.0, fabs (want[i])))
      g_error ("output %d: engine %.7g, reference %.7g", i, got[i], want[i]);
}

/* Counts engine layers of @kind. */
static int
count_kind (const QsEngineModel *model,
            QsLayerKind          kind)
{
  int n = 0;
  QsLayerInfo info;

  for (size_t i = 0; i < qs_engine_model_get_n_layers (model); i++)
    {
      g_assert_true (qs_engine_model_get_layer (model, i, &info));
      n += info.kind == kind && !info.fused;
    }
  return n;
}

/* ReLUs fused into the weighted layer they read. */
static int
count_fused (const QsEngineModel *model)
{
  int n = 0;
  QsLayerInfo info;

  for (size_t i = 0; i < qs_engine_model_get_n_layers (model); i++)
    {
      g_assert_true (qs_engine_model_get_layer (model, i, &info));
      n += info.fused;
    }
  return n;
}

/* The engine layer named @name (asserts it exists). */
static void
layer_named (const QsEngineModel *model,
             const char          *name,
             QsLayerInfo         *info)
{
  for (size_t i = 0; i < qs_engine_model_get_n_layers (model); i++)
    {
      g_assert_true (qs_engine_model_get_layer (model, i, info));
      if (g_str_equal (info->name, name))
        return;
    }
  g_error ("no engine layer %s", name);
}

static gboolean
has_layer (const QsEngineModel *model,
           const char          *name)
{
  QsLayerInfo info;

  for (size_t i = 0; i < qs_engine_model_get_n_layers (model); i++)
    if (qs_engine_model_get_layer (model, i, &info) && g_str_equal (info.name, name))
      return TRUE;
  return FALSE;
}

/* ---- the reference, in double ------------------------------------------------------------ */

typedef struct {
  int     h, w, c;
  double *v;
} Map;

static Map
map_new (int h,
         int w,
         int c)
{
  Map m = { h, w, c, g_new0 (double, (gsize) h * w * c) };

  return m;
}

static Map
map_from_floats (const float *x,
                 int          h,
                 int          w,
                 int          c)
{
  Map m = map_new (h, w, c);

  for (int i = 0; i < h * w * c; i++)
    m.v[i] = x[i];
  return m;
}

#define AT(m, y, x, ch) ((m).v[(((gsize) (y) * (m).w + (x)) * (m).c) + (ch)])

/* TF's convolution, 'same' or 'valid', with dilation and groups; a
 * depthwise convolution when @multiplier > 0 (kernel kh x kw x C x M). */
static Map
ref_conv (Map          in,
          const float *kernel,
          const float *bias,
          int          k,
          int          filters,
          int          stride,
          gboolean     same,
          int          dilation,
          int          groups,
          int          multiplier)
{
  int extent = (k - 1) * dilation + 1;
  int oh = same ? (in.h + stride - 1) / stride : (in.h - extent) / stride + 1;
  int ow = same ? (in.w + stride - 1) / stride : (in.w - extent) / stride + 1;
  int pad_t = same ? MAX ((oh - 1) * stride + extent - in.h, 0) / 2 : 0;
  int pad_l = same ? MAX ((ow - 1) * stride + extent - in.w, 0) / 2 : 0;
  int out_c = multiplier > 0 ? in.c * multiplier : filters;
  int group_in = in.c / groups, group_out = out_c / groups;
  Map out = map_new (oh, ow, out_c);

  for (int y = 0; y < oh; y++)
    for (int x = 0; x < ow; x++)
      for (int o = 0; o < out_c; o++)
        {
          double s = bias != NULL ? bias[o] : 0.0;

          for (int ky = 0; ky < k; ky++)
            for (int kx = 0; kx < k; kx++)
              {
                int iy = y * stride - pad_t + ky * dilation, ix = x * stride - pad_l + kx * dilation;

                if (iy < 0 || iy >= in.h || ix < 0 || ix >= in.w)
                  continue;
                if (multiplier > 0)
                  s += AT (in, iy, ix, o / multiplier) * kernel[((ky * k + kx) * in.c + o / multiplier) * multiplier
                                                                + o % multiplier];
                else
                  for (int i = 0; i < group_in; i++)
                    s += AT (in, iy, ix, (o / group_out) * group_in + i)
                      * kernel[((ky * k + kx) * group_in + i) * out_c + o];
              }
          AT (out, y, x, o) = s;
        }
  return out;
}

static void
ref_bn (Map      *m,
        Fixture  *f,
        const char *layer)
{
  g_autofree char *g = g_strconcat (layer, "/gamma", NULL), *b = g_strconcat (layer, "/beta", NULL);
  g_autofree char *mu = g_strconcat (layer, "/moving_mean", NULL), *var = g_strconcat (layer, "/moving_variance", NULL);
  const float *gamma = weight (f, g), *beta = weight (f, b), *mean = weight (f, mu), *variance = weight (f, var);

  for (int i = 0; i < m->h * m->w * m->c; i++)
    {
      int c = i % m->c;

      m->v[i] = (m->v[i] - mean[c]) / sqrt (variance[c] + 0.001) * gamma[c] + beta[c];
    }
}

static void
ref_relu (Map   *m,
          double cap)
{
  for (int i = 0; i < m->h * m->w * m->c; i++)
    m->v[i] = MIN (MAX (m->v[i], 0.0), cap);
}

static Map
ref_dense (Map          in,
           const float *kernel,
           const float *bias,
           int          units)
{
  int n = in.h * in.w * in.c;
  Map out = map_new (1, 1, units);

  for (int u = 0; u < units; u++)
    {
      double s = bias[u];

      for (int i = 0; i < n; i++)
        s += in.v[i] * kernel[i * units + u];
      out.v[u] = s;
    }
  return out;
}

static Map
ref_gap (Map in)
{
  Map out = map_new (1, 1, in.c);

  for (int i = 0; i < in.h * in.w * in.c; i++)
    out.v[i % in.c] += in.v[i] / (in.h * in.w);
  return out;
}

static void
map_clear (Map *m)
{
  g_clear_pointer (&m->v, g_free);
}

/* ---- hand-written blocks --------------------------------------------------------------------- */

static void
test_residual_keras3 (void)
{
  g_autoptr(Fixture) f = fixture_new ("residual-block-keras3.json");
  QsEngineModel *model = load_fixture (f);
  g_autofree float *image = random_image (8, 8, 4, -1, 1);
  g_autofree float *out = NULL;
  Map x, a, b2, pooled, logits;
  QsLayerInfo info;

  /* Both BNs folded, relu_a fused, the final softmax dropped. */
  g_assert_cmpuint (qs_engine_model_get_n_weighted (model), ==, 3);
  g_assert_cmpint (count_kind (model, QS_LAYER_AFFINE), ==, 0);
  g_assert_cmpint (count_kind (model, QS_LAYER_ADD), ==, 1);
  g_assert_false (has_layer (model, "bn_a"));
  g_assert_false (has_layer (model, "probabilities"));
  layer_named (model, "add", &info);
  g_assert_cmpuint (info.n_inputs, ==, 2);
  g_assert_cmpint (info.inputs[1], ==, QS_ENGINE_INPUT_VALUE);
  layer_named (model, "conv_b", &info);
  g_assert_cmpstr (info.weight_tensor, ==, "/model_weights/conv_b/conv_b/kernel:0");
  g_assert_cmpuint (qs_engine_model_get_n_outputs (model), ==, 3);

  out = engine_forward (model, image);
  x = map_from_floats (image, 8, 8, 4);
  a = ref_conv (x, weight (f, "conv_a/kernel"), NULL, 3, 4, 1, TRUE, 1, 1, 0);
  ref_bn (&a, f, "bn_a");
  ref_relu (&a, INFINITY);
  b2 = ref_conv (a, weight (f, "conv_b/kernel"), NULL, 3, 4, 1, TRUE, 1, 1, 0);
  ref_bn (&b2, f, "bn_b");
  for (int i = 0; i < 8 * 8 * 4; i++)
    b2.v[i] += x.v[i];
  ref_relu (&b2, INFINITY);
  pooled = ref_gap (b2);
  logits = ref_dense (pooled, weight (f, "logits/kernel"), weight (f, "logits/bias"), 3);
  assert_close (out, logits.v, 3);
  map_clear (&x), map_clear (&a), map_clear (&b2), map_clear (&pooled), map_clear (&logits);
  qs_engine_model_free (model);
}

/* The same block with its layers listed last to first builds the same model. */
static void
test_out_of_order (void)
{
  g_autoptr(Fixture) f = fixture_new ("residual-block-keras3.json");
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(QsWeightFile) file = qs_weight_file_open (f->path, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *reversed = NULL;
  g_autofree float *image = random_image (8, 8, 4, -1, 1);
  g_autofree float *a = NULL, *b = NULL;
  QsEngineModel *in_order, *out_of_order;
  JsonArray *layers, *flipped;

  g_assert_true (json_parser_load_from_data (parser, f->config, -1, NULL));
  layers = json_object_get_array_member (json_object_get_object_member (
             json_node_get_object (json_parser_get_root (parser)), "config"), "layers");
  flipped = json_array_new ();
  for (guint i = json_array_get_length (layers); i > 0; i--)
    json_array_add_element (flipped, json_node_copy (json_array_get_element (layers, i - 1)));
  json_object_set_array_member (json_object_get_object_member (json_node_get_object (json_parser_get_root (parser)),
                                                               "config"), "layers", flipped);
  reversed = json_to_string (json_parser_get_root (parser), FALSE);

  in_order = qs_keras_model_load (file, &error);
  g_assert_no_error (error);
  out_of_order = qs_keras_model_load_config (file, reversed, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (qs_engine_model_get_n_layers (out_of_order), ==, qs_engine_model_get_n_layers (in_order));
  a = engine_forward (in_order, image);
  b = engine_forward (out_of_order, image);
  for (int i = 0; i < 3; i++)
    g_assert_cmpfloat (a[i], ==, b[i]);
  qs_engine_model_free (in_order);
  qs_engine_model_free (out_of_order);
}

static void
test_se_keras3 (void)
{
  g_autoptr(Fixture) f = fixture_new ("se-block-keras3.json");
  QsEngineModel *model = load_fixture (f);
  g_autofree float *image = random_image (6, 6, 8, -2, 2);
  g_autofree float *out = NULL;
  Map x, stem, squeeze, reduce, expand, pooled, logits;
  QsLayerInfo info;

  layer_named (model, "se_excite", &info);
  g_assert_cmpint (info.kind, ==, QS_LAYER_MULTIPLY);
  g_assert_cmpint (info.out_h, ==, 6);
  layer_named (model, "se_gate", &info);
  g_assert_cmpint (info.kind, ==, QS_LAYER_ACTIVATION);
  layer_named (model, "se_squeeze", &info);
  g_assert_cmpint (info.out_h, ==, 1);
  g_assert_cmpint (info.out_c, ==, 8);
  g_assert_cmpuint (qs_engine_model_get_n_outputs (model), ==, 4);

  out = engine_forward (model, image);
  x = map_from_floats (image, 6, 6, 8);
  stem = ref_conv (x, weight (f, "stem/kernel"), weight (f, "stem/bias"), 1, 8, 1, TRUE, 1, 1, 0);
  ref_relu (&stem, INFINITY);
  squeeze = ref_gap (stem);
  reduce = ref_conv (squeeze, weight (f, "se_reduce/kernel"), weight (f, "se_reduce/bias"), 1, 2, 1, TRUE, 1, 1, 0);
  ref_relu (&reduce, INFINITY);
  expand = ref_conv (reduce, weight (f, "se_expand/kernel"), weight (f, "se_expand/bias"), 1, 8, 1, TRUE, 1, 1, 0);
  /* Keras 3's hard_sigmoid: relu6 (x + 3) / 6. */
  for (int c = 0; c < 8; c++)
    expand.v[c] = MIN (MAX (expand.v[c] + 3.0, 0.0), 6.0) / 6.0;
  for (int i = 0; i < 6 * 6 * 8; i++)
    stem.v[i] *= expand.v[i % 8];
  pooled = ref_gap (stem);
  logits = ref_dense (pooled, weight (f, "head/kernel"), weight (f, "head/bias"), 4);
  assert_close (out, logits.v, 4);
  map_clear (&x), map_clear (&stem), map_clear (&squeeze), map_clear (&reduce), map_clear (&expand);
  map_clear (&pooled), map_clear (&logits);
  qs_engine_model_free (model);
}

static void
test_hard_swish_keras2 (void)
{
  g_autoptr(Fixture) f = fixture_new ("hard-swish-keras2.json");
  QsEngineModel *model = load_fixture (f);
  g_autofree float *image = random_image (5, 5, 3, -2, 2);
  g_autofree float *out = NULL;
  Map x, conv, hs, branch, cat, bn, fc, logits;
  QsLayerInfo info;

  /* x + 3, ReLU(6), x * (1/6) and the Multiply are one hard swish;
   * post_bn follows a Concatenate: an affine layer; fc_bn folds into fc
   * and fc_relu fuses; the other TFOpLambdas are affine layers. */
  layer_named (model, "hard_swish", &info);
  g_assert_cmpint (info.kind, ==, QS_LAYER_ACTIVATION);
  g_assert_cmpint (info.inputs[0], ==, 1);
  g_assert_false (has_layer (model, "tf.__operators__.add"));
  g_assert_false (has_layer (model, "tf.math.multiply"));
  layer_named (model, "post_bn", &info);
  g_assert_cmpint (info.kind, ==, QS_LAYER_AFFINE);
  g_assert_false (has_layer (model, "fc_bn"));
  layer_named (model, "fc_relu", &info);
  g_assert_true (info.fused);
  layer_named (model, "tf.math.subtract", &info);
  g_assert_cmpint (info.kind, ==, QS_LAYER_AFFINE);
  layer_named (model, "concat", &info);
  g_assert_cmpint (info.kind, ==, QS_LAYER_CONCATENATE);
  g_assert_cmpint (info.out_c, ==, 8);
  layer_named (model, "difference", &info);
  g_assert_cmpint (info.kind, ==, QS_LAYER_SUBTRACT);
  g_assert_cmpint (count_kind (model, QS_LAYER_AFFINE), ==, 3);
  g_assert_cmpuint (qs_engine_model_get_n_outputs (model), ==, 3);

  out = engine_forward (model, image);
  x = map_from_floats (image, 5, 5, 3);
  conv = ref_conv (x, weight (f, "conv/kernel"), weight (f, "conv/bias"), 3, 6, 1, FALSE, 1, 1, 0);
  hs = map_new (3, 3, 6);
  for (int i = 0; i < 3 * 3 * 6; i++)
    hs.v[i] = conv.v[i] * (MIN (MAX (conv.v[i] + 3.0, 0.0), 6.0) * 0.16666666666666666);
  branch = ref_conv (hs, weight (f, "branch/kernel"), weight (f, "branch/bias"), 1, 2, 1, TRUE, 1, 1, 0);
  ref_relu (&branch, INFINITY);
  cat = map_new (3, 3, 8);
  for (int p = 0; p < 9; p++)
    for (int c = 0; c < 8; c++)
      cat.v[p * 8 + c] = c < 6 ? hs.v[p * 6 + c] : branch.v[p * 2 + c - 6];
  bn = map_new (3, 3, 8);
  memcpy (bn.v, cat.v, sizeof (double) * 72);
  ref_bn (&bn, f, "post_bn");
  for (int i = 0; i < 72; i++)
    bn.v[i] = (1.0 - (bn.v[i] - cat.v[i])) / 4.0;
  fc = ref_dense (bn, weight (f, "fc/kernel"), weight (f, "fc/bias"), 5);
  ref_bn (&fc, f, "fc_bn");
  ref_relu (&fc, INFINITY);
  logits = ref_dense (fc, weight (f, "out/kernel"), weight (f, "out/bias"), 3);
  assert_close (out, logits.v, 3);
  map_clear (&x), map_clear (&conv), map_clear (&hs), map_clear (&branch), map_clear (&cat), map_clear (&bn);
  map_clear (&fc), map_clear (&logits);
  qs_engine_model_free (model);
}

static void
test_nested_keras3 (void)
{
  g_autoptr(Fixture) f = fixture_new ("nested-keras3.json");
  QsEngineModel *model = load_fixture (f);
  g_autofree float *image = random_image (8, 8, 3, 0, 255);
  g_autofree float *out = NULL;
  Map x, conv, pooled, logits;
  QsLayerInfo info;

  /* The augmentation is gone; the operations are affine layers; the
   * nested backbone's layers carry their own names and weights. */
  g_assert_false (has_layer (model, "random_flip"));
  layer_named (model, "true_divide", &info);
  g_assert_cmpint (info.kind, ==, QS_LAYER_AFFINE);
  layer_named (model, "Conv1", &info);
  g_assert_cmpstr (info.weight_tensor, ==, "/model_weights/backbone/Conv1/kernel:0");
  g_assert_cmpint (info.out_h, ==, 4);
  g_assert_cmpuint (qs_engine_model_get_n_weighted (model), ==, 2);

  out = engine_forward (model, image);
  x = map_from_floats (image, 8, 8, 3);
  for (int i = 0; i < 8 * 8 * 3; i++)
    x.v[i] = x.v[i] / 127.5 - 1.0;
  conv = ref_conv (x, weight (f, "Conv1/kernel"), NULL, 3, 4, 2, TRUE, 1, 1, 0);
  ref_bn (&conv, f, "bn_Conv1");
  ref_relu (&conv, 6.0);
  pooled = ref_gap (conv);
  logits = ref_dense (pooled, weight (f, "predictions/kernel"), weight (f, "predictions/bias"), 2);
  assert_close (out, logits.v, 2);
  map_clear (&x), map_clear (&conv), map_clear (&pooled), map_clear (&logits);
  qs_engine_model_free (model);
}

static void
test_nested_keras2 (void)
{
  g_autoptr(Fixture) f = fixture_new ("nested-keras2.json");
  QsEngineModel *model = load_fixture (f);
  g_autofree float *image = random_image (6, 6, 2, -1, 1);
  g_autofree float *out = NULL;
  Map x, dw, pooled, hidden, logits;
  QsLayerInfo info;

  layer_named (model, "dw", &info);
  g_assert_cmpint (info.kind, ==, QS_LAYER_DEPTHWISE_CONV2D);
  g_assert_cmpint (info.out_c, ==, 4);
  g_assert_cmpstr (info.weight_tensor, ==, "/model_weights/features/dw/depthwise_kernel:0");
  layer_named (model, "dense_2", &info);
  g_assert_cmpstr (info.weight_tensor, ==, "/model_weights/head/dense_2/kernel:0");

  out = engine_forward (model, image);
  x = map_from_floats (image, 6, 6, 2);
  dw = ref_conv (x, weight (f, "dw/depthwise_kernel"), NULL, 3, 0, 1, TRUE, 1, 1, 2);
  ref_bn (&dw, f, "dw_bn");
  ref_relu (&dw, 6.0);
  pooled = ref_gap (dw);
  hidden = ref_dense (pooled, weight (f, "dense_1/kernel"), weight (f, "dense_1/bias"), 3);
  ref_relu (&hidden, INFINITY);
  logits = ref_dense (hidden, weight (f, "dense_2/kernel"), weight (f, "dense_2/bias"), 2);
  assert_close (out, logits.v, 2);
  map_clear (&x), map_clear (&dw), map_clear (&pooled), map_clear (&hidden), map_clear (&logits);
  qs_engine_model_free (model);
}

/* ---- configs as Keras wrote them ---------------------------------------------------------------- */

static void
test_mobilenetv2_keras2 (void)
{
  g_autoptr(Fixture) f = fixture_new ("mobilenetv2-currency-keras2.json");
  QsEngineModel *model = load_fixture (f);
  QsLayerInfo info;
  int h, w, c;

  qs_engine_model_get_input_shape (model, &h, &w, &c);
  g_assert_cmpint (h, ==, 224);
  g_assert_cmpint (c, ==, 3);
  /* 35 Conv2D, 17 DepthwiseConv2D, 2 Dense; every BN folded, every ReLU6
   * fused, the Dropout gone, the final softmax dropped. */
  g_assert_cmpuint (qs_engine_model_get_n_weighted (model), ==, 54);
  g_assert_cmpint (count_kind (model, QS_LAYER_ADD), ==, 10);
  g_assert_cmpint (count_kind (model, QS_LAYER_PAD), ==, 4);
  g_assert_cmpint (count_kind (model, QS_LAYER_AFFINE), ==, 0);
  g_assert_cmpint (count_kind (model, QS_LAYER_ACTIVATION), ==, 0);
  g_assert_cmpint (count_fused (model), ==, 35);
  g_assert_cmpuint (qs_engine_model_get_n_layers (model), ==, 54 + 35 + 10 + 4 + 1);
  layer_named (model, "block_16_project", &info);
  g_assert_cmpint (info.out_h, ==, 7);
  g_assert_cmpint (info.out_c, ==, 320);
  layer_named (model, "block_2_add", &info);
  g_assert_cmpint (info.out_h, ==, 56);
  g_assert_cmpint (info.out_c, ==, 24);
  for (size_t i = 0; i < qs_engine_model_get_n_weighted (model); i++)
    {
      g_autofree char *expect = NULL;

      g_assert_true (qs_engine_model_get_layer (model, (size_t) qs_engine_model_weighted_layer_index (model, i),
                                                &info));
      expect = g_strdup_printf ("/model_weights/%s/%s/%s:0", info.name, info.name,
                                info.kind == QS_LAYER_DEPTHWISE_CONV2D ? "depthwise_kernel" : "kernel");
      g_assert_cmpstr (info.weight_tensor, ==, expect);
    }
  layer_named (model, "dense_1", &info);
  g_assert_cmpuint (qs_engine_model_get_n_outputs (model), ==, (guint) info.out_c);
  qs_engine_model_free (model);
}

static void
test_cnn_keras3 (void)
{
  g_autoptr(Fixture) f = fixture_new ("cnn-animals-keras3.json");
  QsEngineModel *model = load_fixture (f);
  QsLayerInfo info;

  g_assert_cmpuint (qs_engine_model_get_n_weighted (model), ==, 5);
  g_assert_cmpint (count_kind (model, QS_LAYER_MAX_POOL), ==, 3);
  layer_named (model, "flatten", &info);
  g_assert_cmpint (info.out_c, ==, 12800);
  /* The sigmoid of the one-unit output is a layer of its own. */
  layer_named (model, "dense_1/activation", &info);
  g_assert_cmpint (info.kind, ==, QS_LAYER_ACTIVATION);
  g_assert_cmpuint (qs_engine_model_get_n_outputs (model), ==, 1);
  qs_engine_model_free (model);
}

/* ---- every class ------------------------------------------------------------------------------- */

/* A Keras 2 Sequential of @layers (JSON objects, comma-separated) on an
 * input of @shape ("null, 6, 6, 4"). */
static char *
sequential (const char *shape,
            const char *layers)
{
  return g_strdup_printf ("{\"class_name\": \"Sequential\", \"config\": {\"name\": \"s\", \"layers\": ["
                          "{\"class_name\": \"InputLayer\", \"config\": {\"batch_input_shape\": [%s], "
                          "\"name\": \"in\"}}, %s]}}", shape, layers);
}

static QsEngineModel *
load_text (const char               *config,
           const KerasFixtureWeight *weights,
           gsize                     n,
           GHashTable               *values,
           GError                  **error)
{
  static int serial;
  g_autofree char *name = g_strdup_printf ("classes-%d.h5", serial++);
  g_autofree char *path = keras_fixture_write (tmp_dir, name, config, weights, n, TRUE, rng, values);

  return load_path (path, error);
}

static void
test_separable_dilated_grouped (void)
{
  static const KerasFixtureWeight weights[] = {
    { NULL, "sep/depthwise_kernel", 4, { 3, 3, 4, 2 } }, { NULL, "sep/pointwise_kernel", 4, { 1, 1, 8, 6 } },
    { NULL, "sep/bias", 1, { 6 } },
    { NULL, "dil/kernel", 4, { 3, 3, 6, 4 } }, { NULL, "dil/bias", 1, { 4 } },
    { NULL, "grp/kernel", 4, { 1, 1, 2, 6 } },
  };
  g_autofree char *config = sequential ("null, 9, 9, 4",
    "{\"class_name\": \"SeparableConv2D\", \"config\": {\"name\": \"sep\", \"filters\": 6, \"kernel_size\": [3, 3],"
    " \"strides\": [1, 1], \"padding\": \"same\", \"depth_multiplier\": 2, \"activation\": \"relu\", \"use_bias\": true}},"
    "{\"class_name\": \"Conv2D\", \"config\": {\"name\": \"dil\", \"filters\": 4, \"kernel_size\": [3, 3],"
    " \"padding\": \"valid\", \"dilation_rate\": [2, 2], \"activation\": \"linear\", \"use_bias\": true}},"
    "{\"class_name\": \"Conv2D\", \"config\": {\"name\": \"grp\", \"filters\": 6, \"kernel_size\": [1, 1],"
    " \"groups\": 2, \"activation\": \"linear\", \"use_bias\": false}},"
    "{\"class_name\": \"Flatten\", \"config\": {\"name\": \"flat\"}}");
  g_autoptr(GHashTable) values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(GError) error = NULL;
  QsEngineModel *model = load_text (config, weights, G_N_ELEMENTS (weights), values, &error);
  g_autofree float *image = random_image (9, 9, 4, -1, 1);
  g_autofree float *out = NULL;
  Map x, dw, pw, dil, grp;
  QsLayerInfo info;

  g_assert_no_error (error);
  g_assert_cmpuint (qs_engine_model_get_n_weighted (model), ==, 4);
  layer_named (model, "sep/depthwise", &info);
  g_assert_cmpint (info.kind, ==, QS_LAYER_DEPTHWISE_CONV2D);
  g_assert_cmpstr (info.weight_tensor, ==, "/model_weights/sep/sep/depthwise_kernel:0");
  layer_named (model, "sep/pointwise", &info);
  g_assert_cmpint (info.kind, ==, QS_LAYER_CONV2D);
  g_assert_cmpstr (info.weight_tensor, ==, "/model_weights/sep/sep/pointwise_kernel:0");
  layer_named (model, "dil", &info);
  g_assert_cmpint (info.out_h, ==, 5);

  out = engine_forward (model, image);
  x = map_from_floats (image, 9, 9, 4);
  dw = ref_conv (x, g_hash_table_lookup (values, "sep/depthwise_kernel"), NULL, 3, 0, 1, TRUE, 1, 1, 2);
  pw = ref_conv (dw, g_hash_table_lookup (values, "sep/pointwise_kernel"), g_hash_table_lookup (values, "sep/bias"),
                 1, 6, 1, TRUE, 1, 1, 0);
  ref_relu (&pw, INFINITY);
  dil = ref_conv (pw, g_hash_table_lookup (values, "dil/kernel"), g_hash_table_lookup (values, "dil/bias"),
                  3, 4, 1, FALSE, 2, 1, 0);
  grp = ref_conv (dil, g_hash_table_lookup (values, "grp/kernel"), NULL, 1, 6, 1, TRUE, 1, 2, 0);
  assert_close (out, grp.v, 5 * 5 * 6);
  map_clear (&x), map_clear (&dw), map_clear (&pw), map_clear (&dil), map_clear (&grp);
  qs_engine_model_free (model);
}

/* Dilated DepthwiseConv2D and SeparableConv2D: grouped convolutions with
 * one group per input channel in the engine, against the direct sums. */
static void
test_dilated_depthwise (void)
{
  static const KerasFixtureWeight weights[] = {
    { NULL, "dw/depthwise_kernel", 4, { 3, 3, 3, 2 } }, { NULL, "dw/bias", 1, { 6 } },
    { NULL, "sep/depthwise_kernel", 4, { 3, 3, 6, 1 } }, { NULL, "sep/pointwise_kernel", 4, { 1, 1, 6, 4 } },
    { NULL, "sep/bias", 1, { 4 } },
  };
  g_autofree char *config = sequential ("null, 9, 9, 3",
    "{\"class_name\": \"DepthwiseConv2D\", \"config\": {\"name\": \"dw\", \"kernel_size\": [3, 3], \"strides\": [1, 1],"
    " \"padding\": \"same\", \"depth_multiplier\": 2, \"dilation_rate\": [2, 2], \"activation\": \"linear\", \"use_bias\": true}},"
    "{\"class_name\": \"SeparableConv2D\", \"config\": {\"name\": \"sep\", \"filters\": 4, \"kernel_size\": [3, 3],"
    " \"strides\": [1, 1], \"padding\": \"valid\", \"depth_multiplier\": 1, \"dilation_rate\": [2, 2],"
    " \"activation\": \"linear\", \"use_bias\": true}}");
  g_autoptr(GHashTable) values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(GError) error = NULL;
  QsEngineModel *model = load_text (config, weights, G_N_ELEMENTS (weights), values, &error);
  g_autofree float *image = random_image (9, 9, 3, -1, 1);
  g_autofree float *out = NULL;
  Map x, dw, sd, sp;
  QsLayerInfo info;

  g_assert_no_error (error);
  g_assert_cmpuint (qs_engine_model_get_n_weighted (model), ==, 3);
  layer_named (model, "dw", &info);
  g_assert_cmpint (info.kind, ==, QS_LAYER_CONV2D);
  g_assert_cmpint (info.out_c, ==, 6);
  out = engine_forward (model, image);
  x = map_from_floats (image, 9, 9, 3);
  dw = ref_conv (x, g_hash_table_lookup (values, "dw/depthwise_kernel"), g_hash_table_lookup (values, "dw/bias"),
                 3, 0, 1, TRUE, 2, 1, 2);
  sd = ref_conv (dw, g_hash_table_lookup (values, "sep/depthwise_kernel"), NULL, 3, 0, 1, FALSE, 2, 1, 1);
  sp = ref_conv (sd, g_hash_table_lookup (values, "sep/pointwise_kernel"), g_hash_table_lookup (values, "sep/bias"),
                 1, 4, 1, TRUE, 1, 1, 0);
  g_assert_cmpint (sp.h, ==, 5);
  assert_close (out, sp.v, 5 * 5 * 4);
  map_clear (&x), map_clear (&dw), map_clear (&sd), map_clear (&sp);
  qs_engine_model_free (model);
}

/* Shape layers: padding, cropping, pooling, upsampling, reshaping. */
static void
test_shape_layers (void)
{
  g_autofree char *config = sequential ("null, 6, 6, 2",
    "{\"class_name\": \"ZeroPadding2D\", \"config\": {\"name\": \"pad\", \"padding\": [[1, 2], [0, 1]]}},"
    "{\"class_name\": \"Cropping2D\", \"config\": {\"name\": \"crop\", \"cropping\": [1, 0]}},"
    "{\"class_name\": \"UpSampling2D\", \"config\": {\"name\": \"up\", \"size\": [2, 3], \"interpolation\": \"bilinear\"}},"
    "{\"class_name\": \"AveragePooling2D\", \"config\": {\"name\": \"avg\", \"pool_size\": [2, 3], \"strides\": [2, 3]}},"
    "{\"class_name\": \"MaxPooling2D\", \"config\": {\"name\": \"max\", \"pool_size\": [2, 2], \"padding\": \"same\"}},"
    "{\"class_name\": \"Reshape\", \"config\": {\"name\": \"to_rows\", \"target_shape\": [-1, 2]}},"
    "{\"class_name\": \"Reshape\", \"config\": {\"name\": \"back\", \"target_shape\": [4, 4, 2]}},"
    "{\"class_name\": \"UpSampling2D\", \"config\": {\"name\": \"near\", \"size\": 2}},"
    "{\"class_name\": \"GlobalMaxPooling2D\", \"config\": {\"name\": \"gmp\", \"keepdims\": true}},"
    "{\"class_name\": \"Reshape\", \"config\": {\"name\": \"vector\", \"target_shape\": [2]}}");
  g_autoptr(GError) error = NULL;
  QsEngineModel *model = load_text (config, NULL, 0, NULL, &error);
  static const struct {
    const char *name;
    QsLayerKind kind;
    int         h, w, c;
  } expect[] = {
    { "pad", QS_LAYER_PAD, 9, 7, 2 }, { "crop", QS_LAYER_CROP, 7, 7, 2 }, { "up", QS_LAYER_UPSAMPLE, 14, 21, 2 },
    { "avg", QS_LAYER_AVERAGE_POOL, 7, 7, 2 }, { "max", QS_LAYER_MAX_POOL, 4, 4, 2 },
    { "to_rows", QS_LAYER_RESHAPE, 1, 16, 2 }, { "back", QS_LAYER_RESHAPE, 4, 4, 2 },
    { "near", QS_LAYER_UPSAMPLE, 8, 8, 2 }, { "gmp", QS_LAYER_GLOBAL_MAX_POOL, 1, 1, 2 },
  };

  g_assert_no_error (error);
  for (gsize i = 0; i < G_N_ELEMENTS (expect); i++)
    {
      QsLayerInfo info;

      layer_named (model, expect[i].name, &info);
      g_assert_cmpint (info.kind, ==, expect[i].kind);
      g_assert_cmpint (info.out_h, ==, expect[i].h);
      g_assert_cmpint (info.out_w, ==, expect[i].w);
      g_assert_cmpint (info.out_c, ==, expect[i].c);
    }
  /* 1x1x2 to (2,): the same NHWC values, no layer. */
  g_assert_false (has_layer (model, "vector"));
  g_assert_cmpuint (qs_engine_model_get_n_outputs (model), ==, 2);
  qs_engine_model_free (model);
}

/* Activation layers, each checked at two points against Keras's definition
 * (values worked out by hand), through a Dense layer that reads them. */
static void
test_activations (void)
{
  static const struct {
    const char *layer;
    double      x[2], y[2];
  } cases[] = {
#define ACT(name) "{\"class_name\": \"Activation\", \"config\": {\"name\": \"a\", \"activation\": \"" name "\"}}"
    { ACT ("elu"), { -1.0, 2.0 }, { -0.6321205588, 2.0 } },
    { ACT ("sigmoid"), { 0.5, -1.0 }, { 0.6224593312, 0.2689414214 } },
    { ACT ("hard_sigmoid"), { 1.0, -3.0 }, { 0.7, 0.0 } },             /* Keras 2: clip (0.2 x + 0.5, 0, 1) */
    { ACT ("swish"), { 1.0, -1.0 }, { 0.7310585786, -0.2689414214 } },
    { ACT ("silu"), { 1.0, -1.0 }, { 0.7310585786, -0.2689414214 } },
    { ACT ("hard_swish"), { 1.0, -1.0 }, { 0.6666666667, -0.3333333333 } },
    { ACT ("hard_silu"), { 4.0, -4.0 }, { 4.0, 0.0 } },
    { ACT ("tanh"), { 0.5, -2.0 }, { 0.4621171573, -0.9640275801 } },
    { ACT ("gelu"), { 1.0, -1.0 }, { 0.8413447461, -0.1586552539 } },
    { ACT ("relu6"), { 7.0, -1.0 }, { 6.0, 0.0 } },
    { ACT ("linear"), { 7.0, -1.0 }, { 7.0, -1.0 } },
#undef ACT
    { "{\"class_name\": \"LeakyReLU\", \"config\": {\"name\": \"a\", \"alpha\": 0.1}}", { -2.0, 3.0 }, { -0.2, 3.0 } },
    { "{\"class_name\": \"LeakyReLU\", \"config\": {\"name\": \"a\", \"negative_slope\": 0.2}}", { -2.0, 1.0 }, { -0.4, 1.0 } },
    { "{\"class_name\": \"ELU\", \"config\": {\"name\": \"a\", \"alpha\": 0.5}}", { -1.0, 1.0 }, { -0.3160602794, 1.0 } },
    /* Keras's ReLU: slope * (x - threshold) below the threshold, capped at max_value. */
    { "{\"class_name\": \"ReLU\", \"config\": {\"name\": \"a\", \"max_value\": 4.0, \"negative_slope\": 0.1, \"threshold\": 1.0}}",
      { -1.0, 5.0 }, { -0.2, 4.0 } },
    { "{\"class_name\": \"ReLU\", \"config\": {\"name\": \"a\", \"max_value\": 4.0, \"negative_slope\": 0.0, \"threshold\": 0.0}}",
      { -1.0, 5.0 }, { 0.0, 4.0 } },
    { "{\"class_name\": \"Softmax\", \"config\": {\"name\": \"a\", \"axis\": -1}}", { 1.0, 2.0 }, { 0.2689414214, 0.7310585786 } },
  };
  static const KerasFixtureWeight weights[] = {
    { NULL, "e/kernel", 2, { 2, 2 } }, { NULL, "e/bias", 1, { 2 } },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *layers = g_strdup_printf (
        "%s, {\"class_name\": \"Dense\", \"config\": {\"name\": \"e\", \"units\": 2}}", cases[i].layer);
      g_autofree char *config = sequential ("null, 2", layers);
      g_autoptr(GHashTable) values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
      g_autoptr(GError) error = NULL;
      QsEngineModel *model = load_text (config, weights, G_N_ELEMENTS (weights), values, &error);
      float x[2] = { (float) cases[i].x[0], (float) cases[i].x[1] };
      g_autofree float *out = NULL;
      const float *kernel, *bias;
      double expect[2];

      g_assert_no_error (error);
      g_assert_cmpuint (qs_engine_model_get_n_layers (model), ==, strstr (cases[i].layer, "linear") ? 1 : 2);
      if (!strstr (cases[i].layer, "linear"))
        {
          QsLayerInfo info;

          layer_named (model, "a", &info);
          g_assert_cmpint (info.kind, ==, QS_LAYER_ACTIVATION);
        }
      kernel = g_hash_table_lookup (values, "e/kernel");
      bias = g_hash_table_lookup (values, "e/bias");
      for (int u = 0; u < 2; u++)
        expect[u] = bias[u] + cases[i].y[0] * kernel[u] + cases[i].y[1] * kernel[2 + u];
      out = engine_forward (model, x);
      if (fabs (out[0] - expect[0]) > 1e-4 || fabs (out[1] - expect[1]) > 1e-4)
        g_error ("%s: engine %g %g, Keras %g %g", cases[i].layer, out[0], out[1], expect[0], expect[1]);
      qs_engine_model_free (model);
    }

  /* Keras's ReLU refuses a negative max_value, negative_slope or
   * threshold when made; such a file was not written by Keras, and a
   * max_value of -1 ran as a constant -1. */
  for (int bad = 0; bad < 3; bad++)
    {
      static const char *const relus[] = {
        "{\"class_name\": \"ReLU\", \"config\": {\"name\": \"a\", \"max_value\": -1.0}}",
        "{\"class_name\": \"ReLU\", \"config\": {\"name\": \"a\", \"negative_slope\": -0.5}}",
        "{\"class_name\": \"ReLU\", \"config\": {\"name\": \"a\", \"threshold\": -2.0}}",
      };
      g_autofree char *layers = g_strdup_printf (
        "%s, {\"class_name\": \"Dense\", \"config\": {\"name\": \"e\", \"units\": 2}}", relus[bad]);
      g_autofree char *config = sequential ("null, 2", layers);
      g_autoptr(GError) error = NULL;

      g_assert_null (load_text (config, weights, G_N_ELEMENTS (weights), NULL, &error));
      g_assert_error (error, QS_KERAS_MODEL_ERROR, QS_KERAS_MODEL_ERROR_BAD_CONFIG);
      g_assert_nonnull (strstr (error->message, "ReLU layer “a” has a negative max_value, negative_slope or threshold"));
    }
}

/* Rescaling and Normalization as affine layers, checked end to end. */
static void
test_preprocessing (void)
{
  static const KerasFixtureWeight weights[] = {
    { NULL, "norm/mean", 1, { 3 } }, { NULL, "norm/variance", 1, { 3 } }, { NULL, "norm/count", 0, { 0 } },
  };
  g_autofree char *config = sequential ("null, 2, 2, 3",
    "{\"class_name\": \"Rescaling\", \"config\": {\"name\": \"rescale\", \"scale\": 0.00392156862745098, \"offset\": 0.0}},"
    "{\"class_name\": \"Normalization\", \"config\": {\"name\": \"norm\", \"axis\": -1, \"mean\": null, \"variance\": null}},"
    "{\"class_name\": \"Rescaling\", \"config\": {\"name\": \"per_channel\", \"scale\": [2.0, 0.5, 1.0], \"offset\": [0.0, 1.0, -1.0]}},"
    "{\"class_name\": \"Normalization\", \"config\": {\"name\": \"fixed\", \"axis\": -1, \"mean\": [1.0, 2.0, 3.0], \"variance\": [4.0, 1.0, 0.25]}}");
  g_autoptr(GHashTable) values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(GError) error = NULL;
  QsEngineModel *model = load_text (config, weights, 2, values, &error);
  g_autofree float *image = random_image (2, 2, 3, 0, 255);
  g_autofree float *out = NULL;
  const float *mean, *variance;
  static const double scale[3] = { 2.0, 0.5, 1.0 }, offset[3] = { 0.0, 1.0, -1.0 };
  static const double fixed_mean[3] = { 1.0, 2.0, 3.0 }, fixed_sd[3] = { 2.0, 1.0, 0.5 };
  double expect[12];

  g_assert_no_error (error);
  g_assert_cmpint (count_kind (model, QS_LAYER_AFFINE), ==, 4);
  mean = g_hash_table_lookup (values, "norm/mean");
  variance = g_hash_table_lookup (values, "norm/variance");
  out = engine_forward (model, image);
  for (int i = 0; i < 12; i++)
    {
      int c = i % 3;
      double v = image[i] * 0.00392156862745098;

      v = (v - mean[c]) / MAX (sqrt (variance[c]), 1e-7);
      v = v * scale[c] + offset[c];
      expect[i] = (v - fixed_mean[c]) / fixed_sd[c];
    }
  assert_close (out, expect, 12);
  qs_engine_model_free (model);
}

/* Average and Maximum merges, and BatchNormalization over a Dense's axis 1. */
static void
test_merges (void)
{
  static const char config[] =
    "{\"class_name\": \"Model\", \"config\": {\"name\": \"m\", \"layers\": ["
    "{\"class_name\": \"InputLayer\", \"name\": \"in\", \"config\": {\"batch_input_shape\": [null, 4], \"name\": \"in\"}, \"inbound_nodes\": []},"
    "{\"class_name\": \"Dense\", \"name\": \"a\", \"config\": {\"name\": \"a\", \"units\": 3, \"activation\": \"relu\"}, \"inbound_nodes\": [[[\"in\", 0, 0, {}]]]},"
    "{\"class_name\": \"Dense\", \"name\": \"b\", \"config\": {\"name\": \"b\", \"units\": 3}, \"inbound_nodes\": [[[\"in\", 0, 0, {}]]]},"
    "{\"class_name\": \"BatchNormalization\", \"name\": \"bn\", \"config\": {\"name\": \"bn\", \"axis\": 1, \"epsilon\": 0.001}, \"inbound_nodes\": [[[\"a\", 0, 0, {}]]]},"
    "{\"class_name\": \"Average\", \"name\": \"avg\", \"config\": {\"name\": \"avg\"}, \"inbound_nodes\": [[[\"bn\", 0, 0, {}], [\"b\", 0, 0, {}]]]},"
    "{\"class_name\": \"Maximum\", \"name\": \"max\", \"config\": {\"name\": \"max\"}, \"inbound_nodes\": [[[\"avg\", 0, 0, {}], [\"b\", 0, 0, {}], [\"a\", 0, 0, {}]]]}],"
    " \"input_layers\": [[\"in\", 0, 0]], \"output_layers\": [[\"max\", 0, 0]]}}";
  static const KerasFixtureWeight weights[] = {
    { NULL, "a/kernel", 2, { 4, 3 } }, { NULL, "a/bias", 1, { 3 } }, { NULL, "b/kernel", 2, { 4, 3 } },
    { NULL, "b/bias", 1, { 3 } }, { NULL, "bn/gamma", 1, { 3 } }, { NULL, "bn/beta", 1, { 3 } },
    { NULL, "bn/moving_mean", 1, { 3 } }, { NULL, "bn/moving_variance", 1, { 3 } },
  };
  g_autoptr(GHashTable) values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(GError) error = NULL;
  QsEngineModel *model = load_text (config, weights, G_N_ELEMENTS (weights), values, &error);
  g_autofree float *image = random_image (1, 1, 4, -1, 1);
  g_autofree float *out = NULL;
  Fixture f = { .values = values };
  Map x, a, b, bn;
  double expect[3];

  g_assert_no_error (error);
  /* "a" feeds bn and max: its BN cannot fold, and is an affine layer on axis 1. */
  g_assert_cmpint (count_kind (model, QS_LAYER_AFFINE), ==, 1);
  g_assert_cmpint (count_kind (model, QS_LAYER_AVERAGE), ==, 1);
  g_assert_cmpint (count_kind (model, QS_LAYER_MAXIMUM), ==, 1);
  out = engine_forward (model, image);
  x = map_from_floats (image, 1, 1, 4);
  a = ref_dense (x, weight (&f, "a/kernel"), weight (&f, "a/bias"), 3);
  ref_relu (&a, INFINITY);
  b = ref_dense (x, weight (&f, "b/kernel"), weight (&f, "b/bias"), 3);
  bn = map_new (1, 1, 3);
  memcpy (bn.v, a.v, sizeof (double) * 3);
  ref_bn (&bn, &f, "bn");
  for (int c = 0; c < 3; c++)
    expect[c] = MAX (MAX ((bn.v[c] + b.v[c]) / 2.0, b.v[c]), a.v[c]);
  assert_close (out, expect, 3);
  map_clear (&x), map_clear (&a), map_clear (&b), map_clear (&bn);
  qs_engine_model_free (model);
}

/* A convolution read both by a ReLU and by another layer: the ReLU must
 * not be fused into it (the Add reads the unactivated output). */
static void
test_shared_output_not_fused (void)
{
  static const char config[] =
    "{\"class_name\": \"Functional\", \"config\": {\"name\": \"f\", \"layers\": ["
    "{\"class_name\": \"InputLayer\", \"name\": \"in\", \"config\": {\"batch_input_shape\": [null, 3, 3, 2], \"name\": \"in\"}, \"inbound_nodes\": []},"
    "{\"class_name\": \"Conv2D\", \"name\": \"c\", \"config\": {\"name\": \"c\", \"filters\": 2, \"kernel_size\": [1, 1]}, \"inbound_nodes\": [[[\"in\", 0, 0, {}]]]},"
    "{\"class_name\": \"ReLU\", \"name\": \"r\", \"config\": {\"name\": \"r\"}, \"inbound_nodes\": [[[\"c\", 0, 0, {}]]]},"
    "{\"class_name\": \"Add\", \"name\": \"sum\", \"config\": {\"name\": \"sum\"}, \"inbound_nodes\": [[[\"c\", 0, 0, {}], [\"r\", 0, 0, {}]]]}],"
    " \"input_layers\": [[\"in\", 0, 0]], \"output_layers\": [[\"sum\", 0, 0]]}}";
  static const KerasFixtureWeight weights[] = {
    { NULL, "c/kernel", 4, { 1, 1, 2, 2 } }, { NULL, "c/bias", 1, { 2 } },
  };
  g_autoptr(GHashTable) values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(GError) error = NULL;
  QsEngineModel *model = load_text (config, weights, G_N_ELEMENTS (weights), values, &error);
  g_autofree float *image = random_image (3, 3, 2, -2, 2);
  g_autofree float *out = NULL;
  Map x, c;
  double expect[18];

  g_assert_no_error (error);
  g_assert_cmpuint (qs_engine_model_get_n_layers (model), ==, 3);
  out = engine_forward (model, image);
  x = map_from_floats (image, 3, 3, 2);
  c = ref_conv (x, g_hash_table_lookup (values, "c/kernel"), g_hash_table_lookup (values, "c/bias"), 1, 2, 1, TRUE,
                1, 1, 0);
  for (int i = 0; i < 18; i++)
    expect[i] = c.v[i] + MAX (c.v[i], 0.0);
  assert_close (out, expect, 18);
  map_clear (&x), map_clear (&c);
  qs_engine_model_free (model);
}

/* LayerNormalization (ConvNeXt's, axis [3], epsilon 1e-6): a layer the
 * integer path runs in float, against the formula per pixel. */
static void
test_layer_norm (void)
{
  static const KerasFixtureWeight weights[] = {
    { NULL, "ln/gamma", 1, { 4 } }, { NULL, "ln/beta", 1, { 4 } },
  };
  g_autofree char *config = sequential ("null, 2, 2, 4",
    "{\"class_name\": \"LayerNormalization\", \"config\": {\"name\": \"ln\", \"axis\": [3], \"epsilon\": 1e-06,"
    " \"center\": true, \"scale\": true}}");
  g_autoptr(GHashTable) values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(GError) error = NULL;
  QsEngineModel *model = load_text (config, weights, G_N_ELEMENTS (weights), values, &error);
  g_autofree float *image = random_image (2, 2, 4, -3, 5);
  g_autofree float *out = NULL;
  const float *gamma, *beta;
  double expect[16];
  QsLayerInfo info;

  g_assert_no_error (error);
  layer_named (model, "ln", &info);
  g_assert_cmpint (info.kind, ==, QS_LAYER_LAYER_NORM);
  g_assert_true (info.runs_in_float);
  gamma = g_hash_table_lookup (values, "ln/gamma");
  beta = g_hash_table_lookup (values, "ln/beta");
  out = engine_forward (model, image);
  for (int p = 0; p < 4; p++)
    {
      double mean = 0.0, variance = 0.0;

      for (int c = 0; c < 4; c++)
        mean += image[p * 4 + c] / 4.0;
      for (int c = 0; c < 4; c++)
        variance += (image[p * 4 + c] - mean) * (image[p * 4 + c] - mean) / 4.0;
      for (int c = 0; c < 4; c++)
        expect[p * 4 + c] = (image[p * 4 + c] - mean) / sqrt (variance + 1e-6) * gamma[c] + beta[c];
    }
  assert_close (out, expect, 16);
  qs_engine_model_free (model);
}

/* A Minimum merge of two Dense layers. */
static void
test_minimum (void)
{
  static const char config[] =
    "{\"class_name\": \"Model\", \"config\": {\"name\": \"m\", \"layers\": ["
    "{\"class_name\": \"InputLayer\", \"name\": \"in\", \"config\": {\"batch_input_shape\": [null, 4], \"name\": \"in\"}, \"inbound_nodes\": []},"
    "{\"class_name\": \"Dense\", \"name\": \"a\", \"config\": {\"name\": \"a\", \"units\": 3}, \"inbound_nodes\": [[[\"in\", 0, 0, {}]]]},"
    "{\"class_name\": \"Dense\", \"name\": \"b\", \"config\": {\"name\": \"b\", \"units\": 3}, \"inbound_nodes\": [[[\"in\", 0, 0, {}]]]},"
    "{\"class_name\": \"Minimum\", \"name\": \"min\", \"config\": {\"name\": \"min\"}, \"inbound_nodes\": [[[\"a\", 0, 0, {}], [\"b\", 0, 0, {}]]]}],"
    " \"input_layers\": [[\"in\", 0, 0]], \"output_layers\": [[\"min\", 0, 0]]}}";
  static const KerasFixtureWeight weights[] = {
    { NULL, "a/kernel", 2, { 4, 3 } }, { NULL, "a/bias", 1, { 3 } }, { NULL, "b/kernel", 2, { 4, 3 } },
    { NULL, "b/bias", 1, { 3 } },
  };
  g_autoptr(GHashTable) values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(GError) error = NULL;
  QsEngineModel *model = load_text (config, weights, G_N_ELEMENTS (weights), values, &error);
  g_autofree float *image = random_image (1, 1, 4, -1, 1);
  g_autofree float *out = NULL;
  Fixture f = { .values = values };
  Map x, a, b;
  double expect[3];

  g_assert_no_error (error);
  g_assert_cmpint (count_kind (model, QS_LAYER_MINIMUM), ==, 1);
  out = engine_forward (model, image);
  x = map_from_floats (image, 1, 1, 4);
  a = ref_dense (x, weight (&f, "a/kernel"), weight (&f, "a/bias"), 3);
  b = ref_dense (x, weight (&f, "b/kernel"), weight (&f, "b/bias"), 3);
  for (int c = 0; c < 3; c++)
    expect[c] = MIN (a.v[c], b.v[c]);
  assert_close (out, expect, 3);
  map_clear (&x), map_clear (&a), map_clear (&b);
  qs_engine_model_free (model);
}

/* tf.math.truediv of two tensors (a TFOpLambda): a Divide merge the
 * integer path runs in float. */
static void
test_divide (void)
{
  static const char config[] =
    "{\"class_name\": \"Functional\", \"config\": {\"name\": \"m\", \"layers\": ["
    "{\"class_name\": \"InputLayer\", \"name\": \"in\", \"config\": {\"batch_input_shape\": [null, 4], \"name\": \"in\"}, \"inbound_nodes\": []},"
    "{\"class_name\": \"Dense\", \"name\": \"a\", \"config\": {\"name\": \"a\", \"units\": 3}, \"inbound_nodes\": [[[\"in\", 0, 0, {}]]]},"
    "{\"class_name\": \"Dense\", \"name\": \"b\", \"config\": {\"name\": \"b\", \"units\": 3, \"activation\": \"sigmoid\"}, \"inbound_nodes\": [[[\"in\", 0, 0, {}]]]},"
    "{\"class_name\": \"TFOpLambda\", \"name\": \"ratio\", \"config\": {\"name\": \"ratio\", \"function\": \"math.truediv\"},"
    " \"inbound_nodes\": [[\"a\", 0, 0, {\"y\": [\"b\", 0, 0], \"name\": null}]]}],"
    " \"input_layers\": [[\"in\", 0, 0]], \"output_layers\": [[\"ratio\", 0, 0]]}}";
  static const KerasFixtureWeight weights[] = {
    { NULL, "a/kernel", 2, { 4, 3 } }, { NULL, "a/bias", 1, { 3 } }, { NULL, "b/kernel", 2, { 4, 3 } },
    { NULL, "b/bias", 1, { 3 } },
  };
  g_autoptr(GHashTable) values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(GError) error = NULL;
  QsEngineModel *model = load_text (config, weights, G_N_ELEMENTS (weights), values, &error);
  g_autofree float *image = random_image (1, 1, 4, -1, 1);
  g_autofree float *out = NULL;
  Fixture f = { .values = values };
  Map x, a, b;
  double expect[3];
  QsLayerInfo info;

  g_assert_no_error (error);
  layer_named (model, "ratio", &info);
  g_assert_cmpint (info.kind, ==, QS_LAYER_DIVIDE);
  g_assert_true (info.runs_in_float);
  out = engine_forward (model, image);
  x = map_from_floats (image, 1, 1, 4);
  a = ref_dense (x, weight (&f, "a/kernel"), weight (&f, "a/bias"), 3);
  b = ref_dense (x, weight (&f, "b/kernel"), weight (&f, "b/bias"), 3);
  /* The sigmoid keeps the divisor in (0, 1). */
  for (int c = 0; c < 3; c++)
    expect[c] = a.v[c] / (1.0 / (1.0 + exp (-b.v[c])));
  assert_close (out, expect, 3);
  map_clear (&x), map_clear (&a), map_clear (&b);
  qs_engine_model_free (model);
}

/* ---- bad graphs ---------------------------------------------------------------------------------- */

static void
expect_error (const char        *config,
              QsKerasModelError  code,
              const char        *const *words)
{
  g_autoptr(GError) error = NULL;
  QsEngineModel *model = load_text (config, NULL, 0, NULL, &error);

  g_assert_null (model);
  g_assert_error (error, QS_KERAS_MODEL_ERROR, (gint) code);
  g_assert_null (strchr (error->message, '\n'));
  for (int i = 0; words[i] != NULL; i++)
    if (strstr (error->message, words[i]) == NULL)
      g_error ("“%s” not in “%s”", words[i], error->message);
}

#define FUNCTIONAL(layers, outputs) \
  "{\"class_name\": \"Functional\", \"config\": {\"name\": \"f\", \"layers\": [" \
  "{\"class_name\": \"InputLayer\", \"name\": \"in\", \"config\": {\"batch_input_shape\": [null, 4, 4, 2], \"name\": \"in\"}, \"inbound_nodes\": []}," \
  layers "], \"input_layers\": [[\"in\", 0, 0]], \"output_layers\": [" outputs "]}}"
#define LAYER(cls, name, extra, inbound) \
  "{\"class_name\": \"" cls "\", \"name\": \"" name "\", \"config\": {\"name\": \"" name "\"" extra "}, \"inbound_nodes\": [" inbound "]}"

static void
test_errors (void)
{
  const char *cycle[] = { "“a”", "cycle", NULL };
  const char *missing[] = { "“a”", "“ghost”", "does not have", NULL };
  const char *mismatch[] = { "Add", "“sum”", "4x4x2", "3x3x2", "“in”", "“crop”", NULL };
  const char *concat[] = { "“cat”", "height and width", NULL };
  const char *unknown[] = { "“up”", "Conv2DTranspose", NULL };
  const char *past_calls[] = { "“relu”", "node 2", "nodes 0 to 1", NULL };
  const char *no_call[] = { "“b”", "node 1 of “a”", "nodes 0 to 0", NULL };
  const char *huge_node[] = { "“b”", "node 4294967296 of “a”", NULL };
  const char *negative_node[] = { "“b”", "node -1 of “a”", NULL };
  const char *text_node[] = { "“b”", "“a”", "not an integer", NULL };
  const char *shared_cycle[] = { "“relu”", "cycle", NULL };
  const char *outputs[] = { "2 outputs", "“a”", "“b”", NULL };
  const char *tf_op[] = { "“tf.math.reduce_sum”", "math.reduce_sum", NULL };
  const char *divide[] = { "“ratio”", "cannot merge", NULL };
  const char *subtract3[] = { "“diff”", "3 inputs", NULL };

  expect_error (FUNCTIONAL (LAYER ("ReLU", "a", "", "[[\"b\", 0, 0, {}]]") ","
                            LAYER ("ReLU", "b", "", "[[\"a\", 0, 0, {}]]") ","
                            LAYER ("Add", "c", "", "[[\"in\", 0, 0, {}], [\"b\", 0, 0, {}]]"),
                            "[\"c\", 0, 0]"), QS_KERAS_MODEL_ERROR_BAD_CONFIG, cycle);
  expect_error (FUNCTIONAL (LAYER ("ReLU", "a", "", "[[\"ghost\", 0, 0, {}]]"), "[\"a\", 0, 0]"),
                QS_KERAS_MODEL_ERROR_BAD_CONFIG, missing);
  expect_error (FUNCTIONAL (LAYER ("Cropping2D", "crop", ", \"cropping\": [[1, 0], [1, 0]]", "[[\"in\", 0, 0, {}]]") ","
                            LAYER ("Add", "sum", "", "[[\"in\", 0, 0, {}], [\"crop\", 0, 0, {}]]"),
                            "[\"sum\", 0, 0]"), QS_KERAS_MODEL_ERROR_BAD_CONFIG, mismatch);
  expect_error (FUNCTIONAL (LAYER ("Cropping2D", "crop", ", \"cropping\": 1", "[[\"in\", 0, 0, {}]]") ","
                            LAYER ("Concatenate", "cat", ", \"axis\": -1", "[[\"in\", 0, 0, {}], [\"crop\", 0, 0, {}]]"),
                            "[\"cat\", 0, 0]"), QS_KERAS_MODEL_ERROR_BAD_CONFIG, concat);
  expect_error (FUNCTIONAL (LAYER ("Conv2DTranspose", "up", ", \"filters\": 2, \"kernel_size\": [3, 3]",
                                   "[[\"in\", 0, 0, {}]]"), "[\"up\", 0, 0]"),
                QS_KERAS_MODEL_ERROR_UNSUPPORTED_LAYER, unknown);
  /* Shared layers: a node per call, every node index checked. */
  expect_error (FUNCTIONAL (LAYER ("ReLU", "relu", "", "[[\"in\", 0, 0, {}]], [[\"relu\", 0, 0, {}]]"),
                            "[\"relu\", 2, 0]"), QS_KERAS_MODEL_ERROR_BAD_CONFIG, past_calls);
  expect_error (FUNCTIONAL (LAYER ("ReLU", "a", "", "[[\"in\", 0, 0, {}]]") ","
                            LAYER ("ReLU", "b", "", "[[\"a\", 1, 0, {}]]"), "[\"b\", 0, 0]"),
                QS_KERAS_MODEL_ERROR_BAD_CONFIG, no_call);
  expect_error (FUNCTIONAL (LAYER ("ReLU", "a", "", "[[\"in\", 0, 0, {}]]") ","
                            LAYER ("ReLU", "b", "", "[[\"a\", 4294967296, 0, {}]]"), "[\"b\", 0, 0]"),
                QS_KERAS_MODEL_ERROR_BAD_CONFIG, huge_node);
  expect_error (FUNCTIONAL (LAYER ("ReLU", "a", "", "[[\"in\", 0, 0, {}]]") ","
                            LAYER ("ReLU", "b", "", "[[\"a\", -1, 0, {}]]"), "[\"b\", 0, 0]"),
                QS_KERAS_MODEL_ERROR_BAD_CONFIG, negative_node);
  expect_error (FUNCTIONAL (LAYER ("ReLU", "a", "", "[[\"in\", 0, 0, {}]]") ","
                            LAYER ("ReLU", "b", "", "[[\"a\", \"0\", 0, {}]]"), "[\"b\", 0, 0]"),
                QS_KERAS_MODEL_ERROR_BAD_CONFIG, text_node);
  /* Keras 3's keras_history: a Functional nested and called once at node 1 (its creation is node 0),
   * then read at node 2. */
  {
    const char *keras3_node[] = { "“gap”", "node 2 of “inner”", "nodes 1 to 1", NULL };
#define K3_TENSOR(name, node) \
    "{\"class_name\": \"__keras_tensor__\", \"config\": {\"keras_history\": [\"" name "\", " node ", 0]}}"

    expect_error ("{\"class_name\": \"Functional\", \"config\": {\"name\": \"f\", \"layers\": ["
                  "{\"module\": \"keras.layers\", \"class_name\": \"InputLayer\", \"name\": \"in\", \"inbound_nodes\": [],"
                  " \"config\": {\"batch_shape\": [null, 4, 4, 2], \"name\": \"in\"}},"
                  "{\"module\": \"keras\", \"class_name\": \"Functional\", \"name\": \"inner\","
                  " \"inbound_nodes\": [{\"args\": [" K3_TENSOR ("in", "0") "], \"kwargs\": {}}],"
                  " \"config\": {\"name\": \"inner\", \"layers\": ["
                  "{\"class_name\": \"InputLayer\", \"name\": \"x\", \"inbound_nodes\": [],"
                  " \"config\": {\"batch_shape\": [null, 4, 4, 2], \"name\": \"x\"}},"
                  "{\"class_name\": \"ReLU\", \"name\": \"r\", \"config\": {\"name\": \"r\"},"
                  " \"inbound_nodes\": [{\"args\": [" K3_TENSOR ("x", "0") "], \"kwargs\": {}}]}],"
                  " \"input_layers\": [[\"x\", 0, 0]], \"output_layers\": [[\"r\", 0, 0]]}},"
                  "{\"class_name\": \"GlobalAveragePooling2D\", \"name\": \"gap\", \"config\": {\"name\": \"gap\"},"
                  " \"inbound_nodes\": [{\"args\": [" K3_TENSOR ("inner", "2") "], \"kwargs\": {}}]}],"
                  " \"input_layers\": [[\"in\", 0, 0]], \"output_layers\": [[\"gap\", 0, 0]]}}",
                  QS_KERAS_MODEL_ERROR_BAD_CONFIG, keras3_node);
#undef K3_TENSOR
  }
  /* Each call reads the other's output. */
  expect_error (FUNCTIONAL (LAYER ("ReLU", "relu", "", "[[\"relu\", 1, 0, {}]], [[\"relu\", 0, 0, {}]]") ","
                            LAYER ("Add", "c", "", "[[\"in\", 0, 0, {}], [\"relu\", 1, 0, {}]]"),
                            "[\"c\", 0, 0]"), QS_KERAS_MODEL_ERROR_BAD_CONFIG, shared_cycle);
  expect_error (FUNCTIONAL (LAYER ("ReLU", "a", "", "[[\"in\", 0, 0, {}]]") "," LAYER ("ReLU", "b", "", "[[\"in\", 0, 0, {}]]"),
                            "[\"a\", 0, 0], [\"b\", 0, 0]"), QS_KERAS_MODEL_ERROR_UNSUPPORTED, outputs);
  expect_error (FUNCTIONAL (LAYER ("TFOpLambda", "tf.math.reduce_sum", ", \"function\": \"math.reduce_sum\"",
                                   "[\"in\", 0, 0, {\"axis\": -1}]"), "[\"tf.math.reduce_sum\", 0, 0]"),
                QS_KERAS_MODEL_ERROR_UNSUPPORTED_LAYER, tf_op);
  /* A map over a vector: the division's shapes do not match. */
  expect_error (FUNCTIONAL (LAYER ("GlobalAveragePooling2D", "a", "", "[[\"in\", 0, 0, {}]]") ","
                            LAYER ("TFOpLambda", "ratio", ", \"function\": \"math.truediv\"",
                                   "[\"in\", 0, 0, {\"y\": [\"a\", 0, 0], \"name\": null}]"), "[\"ratio\", 0, 0]"),
                QS_KERAS_MODEL_ERROR_BAD_CONFIG, divide);
  expect_error (FUNCTIONAL (LAYER ("ReLU", "a", "", "[[\"in\", 0, 0, {}]]") ","
                            LAYER ("Subtract", "diff", "", "[[\"in\", 0, 0, {}], [\"a\", 0, 0, {}], [\"in\", 0, 0, {}]]"),
                            "[\"diff\", 0, 0]"), QS_KERAS_MODEL_ERROR_BAD_CONFIG, subtract3);
  {
    const char *inputs[] = { "2 inputs", "“in”", "“in2”", NULL };

    expect_error ("{\"class_name\": \"Functional\", \"config\": {\"name\": \"f\", \"layers\": ["
                  "{\"class_name\": \"InputLayer\", \"name\": \"in\", \"config\": {\"batch_input_shape\": [null, 4], \"name\": \"in\"}, \"inbound_nodes\": []},"
                  "{\"class_name\": \"InputLayer\", \"name\": \"in2\", \"config\": {\"batch_input_shape\": [null, 4], \"name\": \"in2\"}, \"inbound_nodes\": []},"
                  LAYER ("Add", "sum", "", "[[\"in\", 0, 0, {}], [\"in2\", 0, 0, {}]]")
                  "], \"input_layers\": [[\"in\", 0, 0], [\"in2\", 0, 0]], \"output_layers\": [[\"sum\", 0, 0]]}}",
                  QS_KERAS_MODEL_ERROR_UNSUPPORTED, inputs);
  }
}

/* Constant operands of rank 3 (and more) against a channels_last (4, 3, 2)
 * map and a channels_first (2, 4, 3) one, broadcast as NumPy does: what
 * would run along the height or width, add axes or not broadcast is
 * refused in one line naming the layer, the map's order and shape and the
 * constant's shape, for add and multiply (an affine layer) as for maximum
 * and minimum (a bound); a bound that differs by channel is refused too.
 * The accepted shapes ((1, 1, C), (C, 1, 1), (1, 1, 1)) run against
 * PyTorch in /keras-converted/nobuco-bounds.h5 and
 * keras-channels-first-bounds.h5. */
static void
test_rank3_constants (void)
{
#define MAP_MODEL(shape, first, function, constant) \
  "{\"class_name\": \"Functional\", \"config\": {\"name\": \"f\", \"layers\": [" \
  "{\"class_name\": \"InputLayer\", \"name\": \"in\", \"config\": {\"batch_input_shape\": [null, " shape "]," \
  " \"name\": \"in\"}, \"inbound_nodes\": []}," \
  LAYER ("MaxPooling2D", "pool", ", \"pool_size\": [1, 1], \"data_format\": \"" first "\"", "[[\"in\", 0, 0, {}]]") "," \
  LAYER ("TFOpLambda", "op", ", \"function\": \"" function "\"", "[\"pool\", 0, 0, {\"y\": " constant ", \"name\": null}]") \
  "], \"input_layers\": [[\"in\", 0, 0]], \"output_layers\": [[\"op\", 0, 0]]}}"
#define LAST(function, constant) MAP_MODEL ("4, 3, 2", "channels_last", function, constant)
#define FIRST(function, constant) MAP_MODEL ("2, 4, 3", "channels_first", function, constant)
  static const struct {
    const char *config, *map, *constant, *why;
  } cases[] = {
    { LAST ("math.multiply", "[[[1.0]], [[2.0]]]"), "channels_last (4, 3, 2)", "(2, 1, 1)", "do not broadcast" },
    { LAST ("math.add", "[[[1.0, 2.0], [1.0, 2.0], [1.0, 2.0]], [[1.0, 2.0], [1.0, 2.0], [1.0, 2.0]],"
            " [[1.0, 2.0], [1.0, 2.0], [1.0, 2.0]], [[1.0, 2.0], [1.0, 2.0], [1.0, 2.0]]]"),
      "channels_last (4, 3, 2)", "(4, 3, 2)", "varies along an axis other than the channels" },
    { LAST ("math.maximum", "[[[0.0], [1.0], [2.0]]]"), "channels_last (4, 3, 2)", "(1, 3, 1)",
      "varies along an axis other than the channels" },
    { LAST ("math.minimum", "[[[[[1.0, 2.0]]]]]"), "channels_last (4, 3, 2)", "(1, 1, 1, 1, 2)",
      "more axes than the tensor" },
    { FIRST ("math.multiply", "[[[1.0, 2.0]]]"), "channels_first (2, 4, 3)", "(1, 1, 2)", "do not broadcast" },
    { FIRST ("math.subtract", "[[[1.0, 2.0, 3.0]]]"), "channels_first (2, 4, 3)", "(1, 1, 3)",
      "varies along an axis other than the channels" },
    { FIRST ("math.maximum", "[[[0.0], [0.0], [0.0], [1.0]]]"), "channels_first (2, 4, 3)", "(1, 4, 1)",
      "varies along an axis other than the channels" },
    { FIRST ("math.add", "[[[1.0, 1.0, 1.0], [1.0, 1.0, 1.0], [1.0, 1.0, 1.0], [1.0, 1.0, 1.0]],"
             " [[2.0, 2.0, 2.0], [2.0, 2.0, 2.0], [2.0, 2.0, 2.0], [2.0, 2.0, 2.0]]]"),
      "channels_first (2, 4, 3)", "(2, 4, 3)", "varies along an axis other than the channels" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *shape = g_strdup_printf ("with a constant of shape %s:", cases[i].constant);
      const char *words[] = { "TFOpLambda layer “op”", cases[i].map, shape, cases[i].why, NULL };

      expect_error (cases[i].config, QS_KERAS_MODEL_ERROR_UNSUPPORTED, words);
    }
  {
    const char *by_channel[] = { "“op”", "maximum", "differs by channel", NULL };
    const char *by_channel_first[] = { "“op”", "minimum", "differs by channel", NULL };

    expect_error (LAST ("math.maximum", "[[[0.0, 1.0]]]"), QS_KERAS_MODEL_ERROR_UNSUPPORTED, by_channel);
    expect_error (FIRST ("math.minimum", "[[[0.0]], [[1.0]]]"), QS_KERAS_MODEL_ERROR_UNSUPPORTED, by_channel_first);
  }
#undef LAST
#undef FIRST
#undef MAP_MODEL
}

/* What nobuco writes for torch.cat, x.mean and F.silu, and tf.nn's
 * pooling, where the engine cannot run it exactly: a concat along the
 * height of a channels_last map, a mean over the channels and height of a
 * channels_first map (its axes [1, 2]), a swish with another beta, pooling
 * with explicit paddings, of an NCHW map or across channels; each refused
 * in one line naming the layer. The runnable forms run against PyTorch in
 * /keras-converted/nobuco-inception.h5, keras-channels-first-concat.h5 and
 * tf-nn-pool.h5. */
static void
test_converter_functions_refused (void)
{
  const char *concat[] = { "TFOpLambda layer “tf.concat”", "joins along axis 1", "axis 3 here", NULL };
  const char *mean[] = { "“tf.math.reduce_mean”", "computing tf.math.reduce_mean", NULL };
  const char *beta[] = { "“tf.nn.silu”", "swish with a beta other than 1", NULL };

  expect_error (FUNCTIONAL (LAYER ("ReLU", "a", "", "[[\"in\", 0, 0, {}]]") ","
                            LAYER ("TFOpLambda", "tf.concat", ", \"function\": \"concat\"",
                                   "[[\"in\", 0, 0, {\"axis\": 1, \"name\": null}],"
                                   " [\"a\", 0, 0, {\"axis\": 1, \"name\": null}]]"),
                            "[\"tf.concat\", 0, 0]"), QS_KERAS_MODEL_ERROR_UNSUPPORTED, concat);
  expect_error (FUNCTIONAL (LAYER ("MaxPooling2D", "pool", ", \"pool_size\": [1, 1], \"data_format\": \"channels_first\"",
                                   "[[\"in\", 0, 0, {}]]") ","
                            LAYER ("TFOpLambda", "tf.math.reduce_mean", ", \"function\": \"math.reduce_mean\"",
                                   "[\"pool\", 0, 0, {\"axis\": [1, 2], \"keepdims\": false}]"),
                            "[\"tf.math.reduce_mean\", 0, 0]"), QS_KERAS_MODEL_ERROR_UNSUPPORTED_LAYER, mean);
  {
    const char *explicit_pads[] = { "“tf.nn.max_pool2d”", "padding other than \"VALID\" or \"SAME\"", NULL };
    const char *nchw[] = { "“tf.nn.avg_pool2d”", "other than a channels_last (NHWC) map", NULL };
    const char *ksize[] = { "“tf.nn.max_pool2d”", "invalid ksize", NULL };

    expect_error (FUNCTIONAL (LAYER ("TFOpLambda", "tf.nn.max_pool2d", ", \"function\": \"nn.max_pool2d\"",
                                     "[\"in\", 0, 0, {\"ksize\": 2, \"strides\": 2,"
                                     " \"padding\": [[0, 0], [1, 1], [1, 1], [0, 0]]}]"),
                              "[\"tf.nn.max_pool2d\", 0, 0]"), QS_KERAS_MODEL_ERROR_UNSUPPORTED, explicit_pads);
    expect_error (FUNCTIONAL (LAYER ("MaxPooling2D", "pool", ", \"pool_size\": [1, 1], \"data_format\": \"channels_first\"",
                                     "[[\"in\", 0, 0, {}]]") ","
                              LAYER ("TFOpLambda", "tf.nn.avg_pool2d", ", \"function\": \"nn.avg_pool2d\"",
                                     "[\"pool\", 0, 0, {\"ksize\": 2, \"strides\": 2, \"padding\": \"VALID\"}]"),
                              "[\"tf.nn.avg_pool2d\", 0, 0]"), QS_KERAS_MODEL_ERROR_UNSUPPORTED, nchw);
    /* NHWC's ksize pools one batch element and one channel: [2, 2, 2, 2] would pool across them. */
    expect_error (FUNCTIONAL (LAYER ("TFOpLambda", "tf.nn.max_pool2d", ", \"function\": \"nn.max_pool2d\"",
                                     "[\"in\", 0, 0, {\"ksize\": [2, 2, 2, 2], \"strides\": 2, \"padding\": \"VALID\"}]"),
                              "[\"tf.nn.max_pool2d\", 0, 0]"), QS_KERAS_MODEL_ERROR_BAD_CONFIG, ksize);
  }
  expect_error (FUNCTIONAL (LAYER ("TFOpLambda", "tf.nn.silu", ", \"function\": \"nn.silu\"",
                                   "[\"in\", 0, 0, {\"beta\": 2.0, \"name\": null}]"),
                            "[\"tf.nn.silu\", 0, 0]"), QS_KERAS_MODEL_ERROR_UNSUPPORTED, beta);
}

/* Nested models each calling the one inside 8 times: 8 levels would be
 * 16 million layer calls from a few kilobytes; refused in one line. */
static void
test_call_bomb (void)
{
  g_autoptr(GString) model = g_string_new ("{\"class_name\": \"Functional\", \"name\": \"m\", \"config\": {\"name\": \"m\", \"layers\": ["
                                           "{\"class_name\": \"InputLayer\", \"name\": \"in\", \"inbound_nodes\": [],"
                                           " \"config\": {\"name\": \"in\", \"batch_input_shape\": [null, 4]}},"
                                           LAYER ("ReLU", "r", "", "[[\"in\", 0, 0, {}]]")
                                           "], \"input_layers\": [[\"in\", 0, 0]], \"output_layers\": [[\"r\", 0, 0]]}}");
  const char *words[] = { "more than 262144 layer calls", NULL };

  for (int level = 0; level < 8; level++)
    {
      GString *outer = g_string_new ("{\"class_name\": \"Functional\", \"name\": \"m\", \"config\": {\"name\": \"m\", \"layers\": ["
                                     "{\"class_name\": \"InputLayer\", \"name\": \"in\", \"inbound_nodes\": [],"
                                     " \"config\": {\"name\": \"in\", \"batch_input_shape\": [null, 4]}},");

      /* The nested model's creation is its node 0: its 8 calls are nodes 1 to 8. */
      g_string_append_len (outer, model->str, (gssize) model->len - 1);
      g_string_append (outer, ", \"inbound_nodes\": [[[\"in\", 0, 0, {}]]");
      for (int call = 1; call < 8; call++)
        g_string_append_printf (outer, ", [[\"m\", %d, 0, {}]]", call);
      g_string_append (outer, "]}], \"input_layers\": [[\"in\", 0, 0]], \"output_layers\": [[\"m\", 8, 0]]}}");
      g_string_free (model, TRUE);
      model = outer;
    }
  expect_error (model->str, QS_KERAS_MODEL_ERROR_UNSUPPORTED, words);
}

/* A file whose model has a layer the engine does not run still opens for
 * weight analysis: its tensors are all listed, with their layers and roles. */
static void
test_unsupported_still_opens (void)
{
  static const KerasFixtureWeight weights[] = {
    { NULL, "conv/kernel", 4, { 3, 3, 2, 4 } }, { NULL, "conv/bias", 1, { 4 } },
    { NULL, "up/kernel", 4, { 3, 3, 2, 4 } }, { NULL, "up/bias", 1, { 2 } },
  };
  g_autofree char *config = sequential ("null, 4, 4, 2",
    "{\"class_name\": \"Conv2D\", \"config\": {\"name\": \"conv\", \"filters\": 4, \"kernel_size\": [3, 3], \"padding\": \"same\"}},"
    "{\"class_name\": \"Conv2DTranspose\", \"config\": {\"name\": \"up\", \"filters\": 2, \"kernel_size\": [3, 3]}}");
  g_autofree char *path = keras_fixture_write (tmp_dir, "transpose.h5", config, weights, G_N_ELEMENTS (weights),
                                               TRUE, rng, NULL);
  g_autoptr(QsWeightFile) file = qs_weight_file_open (path, NULL);
  g_autoptr(GError) error = NULL;
  GPtrArray *tensors;
  const QsTensorInfo *info;

  g_assert_nonnull (file);
  g_assert_cmpint (qs_weight_file_get_layout (file), ==, QS_FILE_LAYOUT_KERAS_MODEL);
  tensors = qs_weight_file_get_tensors (file);
  g_assert_cmpuint (tensors->len, ==, 4);
  info = qs_weight_file_lookup (file, "/model_weights/up/up/kernel:0");
  g_assert_nonnull (info);
  g_assert_cmpstr (info->layer, ==, "up");
  g_assert_cmpint (info->role, ==, QS_TENSOR_ROLE_KERNEL);
  g_assert_null (qs_keras_model_load (file, &error));
  g_assert_error (error, QS_KERAS_MODEL_ERROR, QS_KERAS_MODEL_ERROR_UNSUPPORTED_LAYER);
  /* The model failing leaves the file readable. */
  {
    g_autoptr(GError) read_error = NULL;
    g_autofree float *values = qs_weight_file_read_tensor (file, info, &read_error);

    g_assert_no_error (read_error);
    g_assert_nonnull (values);
  }
}

int
main (int    argc,
      char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  H5Eset_auto2 (H5E_DEFAULT, NULL, NULL);
  rng = g_rand_new_with_seed (2026);
  tmp_dir = g_dir_make_tmp ("qs-keras-graph-XXXXXX", NULL);
  g_assert_nonnull (tmp_dir);

  g_test_add_func ("/keras-graph/residual-keras3", test_residual_keras3);
  g_test_add_func ("/keras-graph/out-of-order", test_out_of_order);
  g_test_add_func ("/keras-graph/se-keras3", test_se_keras3);
  g_test_add_func ("/keras-graph/hard-swish-keras2", test_hard_swish_keras2);
  g_test_add_func ("/keras-graph/nested-keras3", test_nested_keras3);
  g_test_add_func ("/keras-graph/nested-keras2", test_nested_keras2);
  g_test_add_func ("/keras-graph/mobilenetv2-keras2", test_mobilenetv2_keras2);
  g_test_add_func ("/keras-graph/cnn-keras3", test_cnn_keras3);
  g_test_add_func ("/keras-graph/separable-dilated-grouped", test_separable_dilated_grouped);
  g_test_add_func ("/keras-graph/dilated-depthwise", test_dilated_depthwise);
  g_test_add_func ("/keras-graph/shape-layers", test_shape_layers);
  g_test_add_func ("/keras-graph/activations", test_activations);
  g_test_add_func ("/keras-graph/preprocessing", test_preprocessing);
  g_test_add_func ("/keras-graph/merges", test_merges);
  g_test_add_func ("/keras-graph/layer-norm", test_layer_norm);
  g_test_add_func ("/keras-graph/minimum", test_minimum);
  g_test_add_func ("/keras-graph/divide", test_divide);
  g_test_add_func ("/keras-graph/shared-output-not-fused", test_shared_output_not_fused);
  g_test_add_func ("/keras-graph/errors", test_errors);
  g_test_add_func ("/keras-graph/rank3-constants", test_rank3_constants);
  g_test_add_func ("/keras-graph/converter-functions-refused", test_converter_functions_refused);
  g_test_add_func ("/keras-graph/call-bomb", test_call_bomb);
  g_test_add_func ("/keras-graph/unsupported-still-opens", test_unsupported_still_opens);
  status = g_test_run ();

  qs_test_remove_tree (tmp_dir);
  g_free (tmp_dir);
  g_rand_free (rng);
  return status;
}
