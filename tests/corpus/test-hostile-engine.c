/* test-hostile-engine.c: files that try to overflow, poison, exhaust or hijack the engine and the CLI.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every file is generated here, one hostile property at a time, next to a
 * sound baseline that must work, so a refusal is known to come from the
 * property under test. The CLI runs as a child with a time limit and, for
 * the memory bombs, a 1 GiB address-space limit: a regression to the old
 * gigabyte allocations or ten-minute searches fails instead of taking the
 * machine. Classes follow issue 11: shapes that overflow, values the
 * engine must refuse, memory and CPU from tiny files, terminal safety.
 */
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "engine/qs-engine.h"
#include "model/qs-dataset.h"
#include "model/qs-error.h"
#include "qs-test-cli-bounded.h"
#include "qs-test-hdf5.h"

#define TIMEOUT_S 60
#define ADDRESS_SPACE (G_GUINT64_CONSTANT (1) << 30)

static char *tmp_dir;

/* ---- fixtures ------------------------------------------------------------------------ */

typedef enum {
  WEIGHT_VALUES,     /* written: @fill everywhere, or @values */
  WEIGHT_UNWRITTEN,  /* chunked, declared, never written */
  WEIGHT_BOMB,       /* chunked deflate of zeros, every chunk the same stream */
} WeightKind;

typedef struct {
  const char  *layer;
  const char  *name;      /* "kernel", "bias", "gamma", ... */
  int          rank;
  hsize_t      dims[4];
  WeightKind   kind;
  float        fill;
  const float *values;    /* overrides @fill when not NULL */
  hsize_t      chunk[4];  /* unwritten and bomb tensors */
} Weight;

static char *
tmp_path (const char *name)
{
  return g_build_filename (tmp_dir, name, NULL);
}

/* A Keras 2 model.save() file: @config as model_config, each weight at
 * /model_weights/<layer>/<layer>/<name>:0 with layer_names and
 * weight_names as Keras writes them. */
static char *
write_model (const char   *file_name,
             const char   *config,
             const Weight *weights,
             gsize         n_weights)
{
  char *path = tmp_path (file_name);
  hid_t file = H5Fcreate (path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  g_autoptr(GPtrArray) layers = g_ptr_array_new ();

  g_assert_cmpint (file, >=, 0);
  qs_test_write_string_attr (file, "/", "model_config", &config, -1, TRUE);
  qs_test_make_group (file, "/model_weights");
  for (gsize i = 0; i < n_weights; i++)
    if (!g_ptr_array_find_with_equal_func (layers, weights[i].layer, g_str_equal, NULL))
      g_ptr_array_add (layers, (gpointer) weights[i].layer);
  qs_test_write_string_attr (file, "/model_weights", "layer_names", (const char *const *) layers->pdata,
                             (int) layers->len, TRUE);

  for (guint l = 0; l < layers->len; l++)
    {
      const char *layer = g_ptr_array_index (layers, l);
      g_autofree char *group = g_strdup_printf ("/model_weights/%s", layer);
      g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);

      qs_test_make_group (file, group);
      for (gsize i = 0; i < n_weights; i++)
        {
          const Weight *w = &weights[i];
          g_autofree char *dataset = NULL;
          char *name;

          if (!g_str_equal (w->layer, layer))
            continue;
          name = g_strdup_printf ("%s/%s:0", layer, w->name);
          dataset = g_strdup_printf ("%s/%s", group, name);
          g_ptr_array_add (names, name);
          if (w->kind == WEIGHT_UNWRITTEN)
            qs_test_write_unwritten (file, dataset, H5T_IEEE_F32LE, w->rank, w->dims, w->chunk);
          else if (w->kind == WEIGHT_BOMB)
            qs_test_write_deflate_bomb (file, dataset, w->rank, w->dims, w->chunk);
          else
            {
              hsize_t count = 1;
              g_autofree float *fill = NULL;

              for (int d = 0; d < w->rank; d++)
                count *= w->dims[d];
              fill = g_new (float, count);
              for (hsize_t k = 0; k < count; k++)
                fill[k] = w->fill;
              qs_test_write_floats (file, dataset, w->rank, w->dims, w->values != NULL ? w->values : fill);
            }
        }
      qs_test_write_string_attr (file, group, "weight_names", (const char *const *) names->pdata,
                                 (int) names->len, TRUE);
    }
  g_assert_cmpint (H5Fclose (file), >=, 0);
  return path;
}

/* The small model every class varies: 4x4x1 images, a 3x3 convolution
 * (CONV settings), an optional batch norm (BN, a layer followed by a
 * comma, or ""), a 2x2 max pool (POOL settings), Flatten, and a
 * three-class Dense layer (DENSE_IN inputs). */
static char *
small_config (const char *input,
              const char *conv_name,
              const char *conv,
              const char *bn,
              const char *pool,
              const char *dense)
{
  return g_strdup_printf (
    "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"m\", \"layers\": ["
    "{\"class_name\": \"InputLayer\", \"config\": {\"name\": \"input\", \"batch_input_shape\": [null, %s]}},"
    "{\"class_name\": \"Conv2D\", \"config\": {\"name\": \"%s\", \"filters\": 2, %s, \"padding\": \"same\","
    " \"activation\": \"relu\", \"use_bias\": true}},"
    "%s"
    "{\"class_name\": \"MaxPooling2D\", \"config\": {\"name\": \"pool\", %s}},"
    "{\"class_name\": \"Flatten\", \"config\": {\"name\": \"flat\"}},"
    "{\"class_name\": \"Dense\", \"config\": {\"name\": \"dense\", %s, \"activation\": \"softmax\"}}]}}",
    input, conv_name, conv, bn, pool, dense);
}

#define SOUND_CONV  "\"kernel_size\": [3, 3], \"strides\": [1, 1]"
#define SOUND_POOL  "\"pool_size\": [2, 2], \"padding\": \"valid\""
#define SOUND_DENSE "\"units\": 3"

/* The small model's weights, for @conv_layer and a Dense layer of
 * @dense_in inputs; batch-norm statistics when @bn is not NULL
 * (gamma, beta, moving_mean, moving_variance fills). */
static char *
write_small_model (const char  *file_name,
                   const char  *config,
                   const char  *conv_layer,
                   hsize_t      dense_in,
                   const float *bn)
{
  const Weight weights[] = {
    { conv_layer, "kernel", 4, { 3, 3, 1, 2 }, WEIGHT_VALUES, 0.25f, NULL, { 0 } },
    { conv_layer, "bias", 1, { 2 }, WEIGHT_VALUES, 0.1f, NULL, { 0 } },
    { "bn", "gamma", 1, { 2 }, WEIGHT_VALUES, bn ? bn[0] : 0, NULL, { 0 } },
    { "bn", "beta", 1, { 2 }, WEIGHT_VALUES, bn ? bn[1] : 0, NULL, { 0 } },
    { "bn", "moving_mean", 1, { 2 }, WEIGHT_VALUES, bn ? bn[2] : 0, NULL, { 0 } },
    { "bn", "moving_variance", 1, { 2 }, WEIGHT_VALUES, bn ? bn[3] : 0, NULL, { 0 } },
    { "dense", "kernel", 2, { dense_in, 3 }, WEIGHT_VALUES, 0.5f, NULL, { 0 } },
    { "dense", "bias", 1, { 3 }, WEIGHT_VALUES, 0.0f, NULL, { 0 } },
  };
  Weight chosen[G_N_ELEMENTS (weights)];
  gsize n = 0;

  for (gsize i = 0; i < G_N_ELEMENTS (weights); i++)
    if (bn != NULL || !g_str_equal (weights[i].layer, "bn"))
      chosen[n++] = weights[i];
  return write_model (file_name, config, chosen, n);
}

typedef struct {
  hsize_t      dims[4];    /* images x h x w (x c) */
  int          rank;
  const float *pixels;     /* NULL: a ramp */
  const int   *labels;     /* NULL: i % 3 */
  double       scale;      /* a "scale" attribute of x when not 0 */
  gboolean     unwritten;  /* x and y declared, never written */
  hsize_t      chunk[4];
} DataSpec;

/* An HDF5 image set: x float32 pixels and y int32 labels. */
static char *
write_data (const char     *file_name,
            const DataSpec *spec)
{
  char *path = tmp_path (file_name);
  hid_t file = H5Fcreate (path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  hsize_t values = 1, n = spec->dims[0];

  g_assert_cmpint (file, >=, 0);
  for (int d = 0; d < spec->rank; d++)
    values *= spec->dims[d];
  if (spec->unwritten)
    {
      hsize_t label_chunk[1] = { spec->chunk[0] };

      qs_test_write_unwritten (file, "/x", H5T_STD_U8LE, spec->rank, spec->dims, spec->chunk);
      qs_test_write_unwritten (file, "/y", H5T_STD_I32LE, 1, &n, label_chunk);
    }
  else
    {
      g_autofree float *ramp = g_new (float, values);
      g_autofree int *labels = g_new (int, n);

      for (hsize_t i = 0; i < values; i++)
        ramp[i] = (float) (i % 7) / 7.0f;
      for (hsize_t i = 0; i < n; i++)
        labels[i] = (int) (i % 3);
      qs_test_write_floats (file, "/x", spec->rank, spec->dims, spec->pixels != NULL ? spec->pixels : ramp);
      qs_test_write_dataset (file, "/y", H5T_STD_I32LE, H5T_NATIVE_INT, 1, &n,
                             spec->labels != NULL ? spec->labels : labels);
    }
  if (spec->scale != 0.0)
    {
      hid_t x = H5Dopen2 (file, "/x", H5P_DEFAULT);
      hid_t space = H5Screate (H5S_SCALAR);
      hid_t attr = H5Acreate2 (x, "scale", H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT);

      g_assert_cmpint (H5Awrite (attr, H5T_NATIVE_DOUBLE, &spec->scale), >=, 0);
      H5Aclose (attr);
      H5Sclose (space);
      H5Dclose (x);
    }
  g_assert_cmpint (H5Fclose (file), >=, 0);
  return path;
}

static char *
write_sound_data (const char *file_name)
{
  const DataSpec spec = { { 30, 4, 4, 1 }, 4, NULL, NULL, 0.0, FALSE, { 0 } };

  return write_data (file_name, &spec);
}

/* Runs the CLI and asserts the bad-input contract with @expect in the line. */
static void
assert_refused (const char *const *args,
                guint64            address_space,
                const char        *expect)
{
  QsTestBoundedRun run;

  qs_test_run_cli (args, TIMEOUT_S, address_space, &run);
  qs_test_assert_cli_refused (&run, expect);
  qs_test_bounded_run_clear (&run);
}

/* Runs the CLI, asserts it succeeded, returns stdout (transfer full). */
static char *
assert_works (const char *const *args,
              guint64            address_space)
{
  QsTestBoundedRun run;
  gsize size = 0;
  const char *out;
  char *text;

  qs_test_run_cli (args, TIMEOUT_S, address_space, &run);
  g_test_message ("stderr: %.*s", (int) g_bytes_get_size (run.err), (const char *) g_bytes_get_data (run.err, NULL));
  g_assert_false (run.timed_out);
  g_assert_false (run.signaled);
  g_assert_cmpint (run.exit_status, ==, 0);
  out = g_bytes_get_data (run.out, &size);
  text = g_strndup (out != NULL ? out : "", size);
  qs_test_bounded_run_clear (&run);
  return text;
}

/* A model built from @conv and @pool settings with sound weights: eval
 * on sound data is refused with @expect. */
static void
assert_model_refused (const char *input,
                      const char *conv,
                      const char *pool,
                      const char *dense,
                      const char *expect)
{
  g_autofree char *config = small_config (input, "conv", conv, "", pool, dense);
  g_autofree char *model = write_small_model ("refused.h5", config, "conv", 8, NULL);
  g_autofree char *data = write_sound_data ("refused-data.h5");
  const char *args[] = { "eval", model, "--data", data, "--calib", "10", NULL };

  assert_refused (args, 0, expect);
}

static void
test_baseline_works (void)
{
  g_autofree char *config = small_config ("4, 4, 1", "conv", SOUND_CONV, "", SOUND_POOL, SOUND_DENSE);
  g_autofree char *model = write_small_model ("sound.h5", config, "conv", 8, NULL);
  g_autofree char *data = write_sound_data ("sound-data.h5");
  const char *args[] = { "eval", model, "--data", data, "--calib", "10", "--json", NULL };
  g_autofree char *out = assert_works (args, ADDRESS_SPACE);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  json_parser_load_from_data (parser, out, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (json_parser_get_root (parser)), "images"),
                   ==, 20);
}

/* A functional model whose 1x1 Conv2D "shared" is called twice: first on
 * "conv", then on @second (a [layer, node, tensor] reference); Flatten reads
 * @flattened. */
static char *
write_shared_model (const char *file_name,
                    const char *second,
                    const char *flattened)
{
  const Weight weights[] = {
    { "conv", "kernel", 4, { 3, 3, 1, 2 }, WEIGHT_VALUES, 0.25f, NULL, { 0 } },
    { "conv", "bias", 1, { 2 }, WEIGHT_VALUES, 0.1f, NULL, { 0 } },
    { "shared", "kernel", 4, { 1, 1, 2, 2 }, WEIGHT_VALUES, 0.5f, NULL, { 0 } },
    { "shared", "bias", 1, { 2 }, WEIGHT_VALUES, -0.1f, NULL, { 0 } },
    { "dense", "kernel", 2, { 32, 3 }, WEIGHT_VALUES, 0.5f, NULL, { 0 } },
    { "dense", "bias", 1, { 3 }, WEIGHT_VALUES, 0.0f, NULL, { 0 } },
  };
  g_autofree char *config = g_strdup_printf (
    "{\"class_name\": \"Functional\", \"config\": {\"name\": \"m\", \"layers\": ["
    "{\"class_name\": \"InputLayer\", \"name\": \"input\", \"inbound_nodes\": [],"
    " \"config\": {\"name\": \"input\", \"batch_input_shape\": [null, 4, 4, 1]}},"
    "{\"class_name\": \"Conv2D\", \"name\": \"conv\", \"inbound_nodes\": [[[\"input\", 0, 0, {}]]],"
    " \"config\": {\"name\": \"conv\", \"filters\": 2, " SOUND_CONV ", \"padding\": \"same\", \"activation\": \"relu\"}},"
    "{\"class_name\": \"Conv2D\", \"name\": \"shared\", \"inbound_nodes\": [[[\"conv\", 0, 0, {}]], [[%s, {}]]],"
    " \"config\": {\"name\": \"shared\", \"filters\": 2, \"kernel_size\": [1, 1], \"activation\": \"relu\"}},"
    "{\"class_name\": \"Flatten\", \"name\": \"flat\", \"inbound_nodes\": [[[%s, {}]]], \"config\": {\"name\": \"flat\"}},"
    "{\"class_name\": \"Dense\", \"name\": \"dense\", \"inbound_nodes\": [[[\"flat\", 0, 0, {}]]],"
    " \"config\": {\"name\": \"dense\", " SOUND_DENSE "}}],"
    " \"input_layers\": [[\"input\", 0, 0]], \"output_layers\": [[\"dense\", 0, 0]]}}", second, flattened);

  return write_model (file_name, config, weights, G_N_ELEMENTS (weights));
}

/* @command's JSON report on @model: its array @member. */
static JsonArray *
json_array_of (JsonParser *parser,
               const char *command,
               const char *model,
               const char *data,
               const char *member)
{
  const char *eval_args[] = { command, model, "--data", data, "--calib", "10", "--json", NULL };
  const char *layers_args[] = { command, model, "--json", NULL };
  g_autofree char *out = assert_works (data != NULL ? eval_args : layers_args, ADDRESS_SPACE);
  g_autoptr(GError) error = NULL;

  json_parser_load_from_data (parser, out, -1, &error);
  g_assert_no_error (error);
  return json_object_get_array_member (json_node_get_object (json_parser_get_root (parser)), member);
}

/* A layer called twice runs as two nodes under one scheme: eval lists it
 * once, and `layers` its two tensors once. */
static void
test_shared_layer_works (void)
{
  const char *names[] = { "conv", "shared", "dense" };
  g_autofree char *model = write_shared_model ("shared.h5", "\"shared\", 0, 0", "\"shared\", 1, 0");
  g_autofree char *data = write_sound_data ("shared-data.h5");
  g_autoptr(JsonParser) eval = json_parser_new ();
  g_autoptr(JsonParser) tensors = json_parser_new ();
  JsonArray *layers = json_array_of (eval, "eval", model, data, "layers");
  JsonArray *listed = json_array_of (tensors, "layers", model, NULL, "tensors");

  g_assert_cmpuint (json_array_get_length (layers), ==, G_N_ELEMENTS (names));
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (layers, i), "name"), ==, names[i]);
  g_assert_cmpuint (json_array_get_length (listed), ==, 6);
}

typedef struct {
  const char *name;
  const char *second;     /* what the shared layer's second call reads */
  const char *flattened;  /* what Flatten reads */
  const char *expect;
} BadSharedCall;

static const BadSharedCall bad_shared_calls[] = {
  { "node-past-calls", "\"shared\", 0, 0", "\"shared\", 2, 0", "node 2 of" },
  { "call-that-does-not-exist", "\"shared\", 0, 0", "\"conv\", 1, 0", "node 1 of" },
  { "node-2^32", "\"conv\", 4294967296, 0", "\"shared\", 1, 0", "node 4294967296 of" },
  { "reads-itself", "\"shared\", 1, 0", "\"shared\", 1, 0", "cycle" },
};

static void
test_bad_shared_call (gconstpointer data)
{
  const BadSharedCall *bad = data;
  g_autofree char *model = write_shared_model ("bad-shared.h5", bad->second, bad->flattened);
  g_autofree char *images = write_sound_data ("bad-shared-data.h5");
  const char *args[] = { "eval", model, "--data", images, "--calib", "10", NULL };

  assert_refused (args, 0, bad->expect);
}

/* ---- 1. shapes that overflow ---------------------------------------------------------- */

static void
test_data_dimension_truncated (gconstpointer option)
{
  g_autofree char *config = small_config ("4, 4, 1", "conv", SOUND_CONV, "", SOUND_POOL, SOUND_DENSE);
  g_autofree char *model = write_small_model ("dims.h5", config, "conv", 8, NULL);
  /* 2^32 + 1 channels, stored nowhere: as an int that is 1 channel. */
  const DataSpec spec = { { 1, 4, 4, (G_GUINT64_CONSTANT (1) << 32) + 1 }, 4, NULL, NULL, 0.0, TRUE,
                          { 1, 4, 4, 1 << 16 } };
  g_autofree char *data = write_data ("dims-data.h5", &spec);
  g_autofree char *sound = write_sound_data ("dims-sound.h5");
  const char *args_data[] = { "eval", model, "--data", data, NULL };
  const char *args_calib[] = { "eval", model, "--data", sound, "--calib-data", data, NULL };

  assert_refused (g_str_equal (option, "--data") ? args_data : args_calib, ADDRESS_SPACE, "too large");
}

static void
test_stride_near_2_31_runs (void)
{
  /* (in + stride - 1) / stride overflowed an int for 'same' padding; in
   * 64 bits the pool is one window: 1x1x2 into Dense. */
  g_autofree char *config = small_config ("4, 4, 1", "conv", SOUND_CONV, "",
                                          "\"pool_size\": [2, 2], \"strides\": [2147483647, 2147483646], "
                                          "\"padding\": \"same\"", SOUND_DENSE);
  g_autofree char *model = write_small_model ("stride.h5", config, "conv", 2, NULL);
  g_autofree char *data = write_sound_data ("stride-data.h5");
  const char *args[] = { "eval", model, "--data", data, "--calib", "10", "--json", NULL };
  g_autofree char *out = assert_works (args, ADDRESS_SPACE);

  g_assert_nonnull (strstr (out, "\"images\" : 20"));
}

static void
test_window_extent_refused (void)
{
  /* A 'same' window of 2^31 - 1 rows: its far edge does not fit an int. */
  assert_model_refused ("4, 4, 1", SOUND_CONV, "\"pool_size\": [2147483647, 1], \"strides\": [2, 1], "
                        "\"padding\": \"same\"", SOUND_DENSE, "“pool” is too large for the engine");
}

static void
test_input_map_refused (void)
{
  /* 2^24 x 2^24: each side is allowed, the map is not. */
  assert_model_refused ("16777216, 16777216, 1", SOUND_CONV, SOUND_POOL, SOUND_DENSE, "too large for the engine");
}

static void
test_engine_window_geometry (void)
{
  QsEngineModel *model = qs_engine_model_new (5, 5, 3);
  QsConvParams p = { .kernel_h = 2, .kernel_w = 2, .stride_h = G_MAXINT, .stride_w = G_MAXINT,
                     .padding = QS_PADDING_SAME };
  QsLayerInfo info;

  g_assert_cmpint (qs_engine_model_add_pool (model, "p", QS_LAYER_MAX_POOL, &p), ==, QS_ENGINE_OK);
  g_assert_true (qs_engine_model_get_layer (model, 0, &info));
  /* ceil (5 / (2^31 - 1)) = 1 window, 1 + 2 - 5 < 0: no padding. */
  g_assert_cmpint (info.out_h, ==, 1);
  g_assert_cmpint (info.out_w, ==, 1);
  qs_engine_model_free (model);

  /* Three windows of 2^31 - 1 rows, stride 2: the last one ends at
   * 2 * 2 + 2^31 - 1, past an int. */
  model = qs_engine_model_new (5, 5, 3);
  p.kernel_h = G_MAXINT;
  p.stride_h = 2;
  g_assert_cmpint (qs_engine_model_add_pool (model, "q", QS_LAYER_MAX_POOL, &p), ==, QS_ENGINE_TOO_LARGE);
  p.padding = QS_PADDING_VALID;
  g_assert_cmpint (qs_engine_model_add_pool (model, "r", QS_LAYER_MAX_POOL, &p), ==, QS_ENGINE_SHAPE_MISMATCH);
  g_assert_cmpuint (qs_engine_model_get_n_layers (model), ==, 0);
  qs_engine_model_free (model);

  /* 4096 x 4096 x 1 is 2^24 values, the limit; one more channel is not. */
  model = qs_engine_model_new (4096, 4096, 1);
  g_assert_nonnull (model);
  qs_engine_model_free (model);
  g_assert_null (qs_engine_model_new (4096, 4096, 2));
  g_assert_null (qs_engine_model_new (65536, 65536, 65536));
}

/* ---- 3. values the engine must refuse ------------------------------------------------- */

typedef struct {
  const char *name;
  const char *conv;
  const char *pool;
  const char *dense;
  const char *expect;
} BadSetting;

static const BadSetting bad_settings[] = {
  { "kernel-2^32+3", "\"kernel_size\": [4294967299, 3]", SOUND_POOL, SOUND_DENSE, "“conv” has an invalid kernel_size" },
  { "kernel-scalar-2^32+3", "\"kernel_size\": 4294967299", SOUND_POOL, SOUND_DENSE, "invalid kernel_size" },
  { "kernel-zero", "\"kernel_size\": [0, 3]", SOUND_POOL, SOUND_DENSE, "invalid kernel_size" },
  { "kernel-float", "\"kernel_size\": [3.0, 3.0]", SOUND_POOL, SOUND_DENSE, "invalid kernel_size" },
  { "kernel-three", "\"kernel_size\": [3, 3, 3]", SOUND_POOL, SOUND_DENSE, "invalid kernel_size" },
  { "stride-zero", "\"kernel_size\": [3, 3], \"strides\": [0, 1]", SOUND_POOL, SOUND_DENSE, "“conv” has an invalid strides" },
  { "stride-negative", "\"kernel_size\": [3, 3], \"strides\": -1", SOUND_POOL, SOUND_DENSE, "invalid strides" },
  { "stride-string", "\"kernel_size\": [3, 3], \"strides\": \"3\"", SOUND_POOL, SOUND_DENSE, "invalid strides" },
  { "stride-strings", "\"kernel_size\": [3, 3], \"strides\": [\"3\", \"3\"]", SOUND_POOL, SOUND_DENSE, "invalid strides" },
  { "stride-float", "\"kernel_size\": [3, 3], \"strides\": [1.5, 1]", SOUND_POOL, SOUND_DENSE, "invalid strides" },
  { "stride-one", "\"kernel_size\": [3, 3], \"strides\": [1]", SOUND_POOL, SOUND_DENSE, "invalid strides" },
  { "dilation-string", SOUND_CONV ", \"dilation_rate\": \"2\"", SOUND_POOL, SOUND_DENSE, "invalid dilation_rate" },
  { "filters-float", "\"kernel_size\": [3, 3], \"filters\": 1e10", SOUND_POOL, SOUND_DENSE, "invalid filters" },
  { "pool-zero", SOUND_CONV, "\"pool_size\": 0", SOUND_DENSE, "“pool” has an invalid pool_size" },
  { "pool-2^32+2", SOUND_CONV, "\"pool_size\": [4294967298, 2]", SOUND_DENSE, "invalid pool_size" },
  { "pool-stride-negative", SOUND_CONV, "\"pool_size\": 2, \"strides\": [-1, -1]", SOUND_DENSE, "“pool” has an invalid strides" },
  { "units-negative", SOUND_CONV, SOUND_POOL, "\"units\": -3", "“dense” has an invalid units" },
  { "units-string", SOUND_CONV, SOUND_POOL, "\"units\": \"3\"", "invalid units" },
};

static void
test_bad_setting (gconstpointer data)
{
  const BadSetting *bad = data;

  assert_model_refused ("4, 4, 1", bad->conv, bad->pool, bad->dense, bad->expect);
}

typedef struct {
  const char *name;
  float       stats[4];   /* gamma, beta, mean, variance */
  const char *epsilon;
  const char *expect;
} BadNorm;

static const BadNorm bad_norms[] = {
  { "mean-nan", { 1.0f, 0.0f, NAN, 1.0f }, "0.001", "“bn” has a statistic that is not finite" },
  { "beta-inf", { 1.0f, INFINITY, 0.0f, 1.0f }, "0.001", "not finite" },
  { "variance-negative", { 1.0f, 0.0f, 0.0f, -4.0f }, "0.001", "not finite" },
  /* Each statistic finite; gamma / sqrt (variance) = 1e30 / 1e-19 overflows float32. */
  { "gamma-folds-to-inf", { 1e30f, 0.0f, 0.0f, 1e-38f }, "0", "folds into weights that are not finite" },
  { "epsilon-negative", { 1.0f, 0.0f, 0.0f, 1.0f }, "-1", "invalid epsilon" },
  { "epsilon-string", { 1.0f, 0.0f, 0.0f, 1.0f }, "\"x\"", "invalid epsilon" },
};

static void
test_bad_batch_norm (gconstpointer data)
{
  const BadNorm *bad = data;
  g_autofree char *bn = g_strdup_printf ("{\"class_name\": \"BatchNormalization\", \"config\": {\"name\": \"bn\", "
                                         "\"axis\": 3, \"epsilon\": %s}},", bad->epsilon);
  g_autofree char *config = small_config ("4, 4, 1", "conv", "\"kernel_size\": [3, 3]", bn, SOUND_POOL, SOUND_DENSE);
  g_autoptr(GString) linear = g_string_new (config);
  g_autofree char *model = NULL;
  g_autofree char *data_path = write_sound_data ("bn-data.h5");
  const char *args[] = { "eval", NULL, "--data", data_path, "--calib", "10", NULL };

  /* Batch norm folds into a convolution without activation. */
  g_string_replace (linear, "\"relu\"", "\"linear\"", 1);
  model = write_small_model ("bn.h5", linear->str, "conv", 8, bad->stats);
  args[1] = model;
  assert_refused (args, 0, bad->expect);
}

static void
test_batch_norm_sound_works (void)
{
  const float stats[4] = { 2.0f, 0.5f, 0.1f, 4.0f };
  const char *bn = "{\"class_name\": \"BatchNormalization\", \"config\": {\"name\": \"bn\", \"epsilon\": 0.001}},";
  g_autofree char *config = small_config ("4, 4, 1", "conv", "\"kernel_size\": [3, 3]", bn, SOUND_POOL, SOUND_DENSE);
  g_autoptr(GString) linear = g_string_new (config);
  g_autofree char *model = NULL;
  g_autofree char *data = write_sound_data ("bn-sound-data.h5");
  g_autofree char *out = NULL;

  g_string_replace (linear, "\"relu\"", "\"linear\"", 1);
  model = write_small_model ("bn-sound.h5", linear->str, "conv", 8, stats);
  {
    const char *args[] = { "eval", model, "--data", data, "--calib", "10", NULL };

    out = assert_works (args, ADDRESS_SPACE);
  }
  g_assert_nonnull (strstr (out, "fp32 top-1"));
}

static void
test_engine_fold_refuses_non_finite (void)
{
  QsEngineModel *model = qs_engine_model_new (1, 1, 2);
  const float kernel[4] = { 1.0f, 2.0f, 3.0f, 4.0f };
  const float ones[2] = { 1.0f, 1.0f }, zeros[2] = { 0.0f, 0.0f };
  const float nan_mean[2] = { 0.0f, NAN }, huge_gamma[2] = { 1.0f, 3e38f }, tiny_var[2] = { 1.0f, 1e-30f };
  const float image[2] = { 1.0f, 1.0f };
  float out[2];
  size_t size;
  void *scratch;

  g_assert_cmpint (qs_engine_model_add_dense (model, "d", 2, QS_ACTIVATION_NONE, INFINITY, kernel, NULL), ==,
                   QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_fold_batch_norm (model, NULL, NULL, nan_mean, ones, 0.0f), ==,
                   QS_ENGINE_INVALID_ARGUMENT);
  g_assert_cmpint (qs_engine_model_fold_batch_norm (model, huge_gamma, NULL, zeros, tiny_var, 0.0f), ==,
                   QS_ENGINE_INVALID_ARGUMENT);
  g_assert_cmpint (qs_engine_model_fold_batch_norm (model, NULL, NULL, zeros, ones, NAN), ==,
                   QS_ENGINE_INVALID_ARGUMENT);
  /* Refused folds leave the layer as it was: [1 1] x [[1 2] [3 4]] = [4 6]. */
  size = qs_engine_get_buffer_size (model, NULL, 1);
  scratch = g_malloc (size);
  g_assert_cmpint (qs_engine_forward (model, NULL, image, 1, scratch, size, out), ==, QS_ENGINE_OK);
  g_assert_cmpfloat (out[0], ==, 4.0f);
  g_assert_cmpfloat (out[1], ==, 6.0f);
  g_free (scratch);
  qs_engine_model_free (model);
}

/* A Dense layer on a map (Keras applies it to the last axis) leaves an
 * output of 2x2x3 per image: no class scores, so nothing to rank. */
static void
test_output_not_classes (void)
{
  const char *config =
    "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"m\", \"layers\": ["
    "{\"class_name\": \"InputLayer\", \"config\": {\"name\": \"input\", \"batch_input_shape\": [null, 4, 4, 1]}},"
    "{\"class_name\": \"Conv2D\", \"config\": {\"name\": \"conv\", \"filters\": 2, " SOUND_CONV ", \"padding\": \"same\","
    " \"activation\": \"relu\", \"use_bias\": true}},"
    "{\"class_name\": \"MaxPooling2D\", \"config\": {\"name\": \"pool\", " SOUND_POOL "}},"
    "{\"class_name\": \"Dense\", \"config\": {\"name\": \"dense\", " SOUND_DENSE ", \"activation\": \"linear\"}}]}}";
  g_autofree char *model = write_small_model ("map-output.h5", config, "conv", 2, NULL);
  DataSpec spec = { { 30, 4, 4, 1 }, 4, NULL, NULL, 0.0, FALSE, { 0 } };
  g_autofree char *data = write_data ("map-output-data.h5", &spec);
  const char *args[] = { "eval", model, "--data", data, "--calib", "10", NULL };

  assert_refused (args, 0, "the model's output is 2×2×3 per image, not one score per class");
}

static void
test_labels_out_of_range (void)
{
  g_autofree char *config = small_config ("4, 4, 1", "conv", SOUND_CONV, "", SOUND_POOL, SOUND_DENSE);
  g_autofree char *model = write_small_model ("labels.h5", config, "conv", 8, NULL);
  int labels[30];
  DataSpec spec = { { 30, 4, 4, 1 }, 4, NULL, labels, 0.0, FALSE, { 0 } };
  g_autofree char *data = NULL;
  g_autoptr(QsDataset) dataset = NULL;
  g_autoptr(GError) error = NULL;
  const char *args[] = { "eval", model, "--data", NULL, "--calib", "10", NULL };

  for (int i = 0; i < 30; i++)
    labels[i] = i % 3;
  labels[7] = 3;   /* three classes: 0, 1, 2 */
  data = write_data ("labels-data.h5", &spec);
  args[3] = data;
  assert_refused (args, 0, "image 7 has label 3, outside the model's classes 0..2");

  dataset = qs_dataset_load (data, &error);
  g_assert_no_error (error);
  g_assert_true (qs_dataset_check_labels (dataset, 4, &error));
  g_assert_false (qs_dataset_check_labels (dataset, 3, &error));
  g_assert_error (error, QS_ERROR, QS_ERROR_INVALID);

  /* The engine refuses them too, rather than scoring a silent miss. */
  {
    QsEngineModel *engine = qs_engine_model_new (4, 4, 1);
    g_autofree float *kernel = g_new0 (float, 16 * 3);
    QsEngineEvalResult result;

    g_assert_cmpint (qs_engine_model_add_flatten (engine, "f"), ==, QS_ENGINE_OK);
    g_assert_cmpint (qs_engine_model_add_dense (engine, "d", 3, QS_ACTIVATION_NONE, INFINITY, kernel, NULL), ==,
                     QS_ENGINE_OK);
    g_assert_cmpint (qs_engine_evaluate (engine, NULL, qs_dataset_get_view (dataset), 0, 30, NULL, NULL, NULL,
                                         &result), ==, QS_ENGINE_INVALID_ARGUMENT);
    g_assert_cmpint (qs_engine_evaluate (engine, NULL, qs_dataset_get_view (dataset), 0, 7, NULL, NULL, NULL,
                                         &result), ==, QS_ENGINE_OK);
    qs_engine_model_free (engine);
  }
}

/* Labels stored wider than int32 are named as stored, not as the int32
 * libhdf5 would clamp them to (2147483647, or 0 for a negative unsigned). */
static void
test_labels_wide (gconstpointer what)
{
  g_autofree char *config = small_config ("4, 4, 1", "conv", SOUND_CONV, "", SOUND_POOL, SOUND_DENSE);
  g_autofree char *model = write_small_model ("wide-labels.h5", config, "conv", 8, NULL);
  g_autofree char *data = write_sound_data ("wide-labels-data.h5");
  const char *args[] = { "eval", model, "--data", data, "--calib", "10", NULL };
  const hsize_t n = 30;
  gint64 signed_labels[30];
  guint64 unsigned_labels[30];
  hid_t file;

  for (int i = 0; i < 30; i++)
    signed_labels[i] = unsigned_labels[i] = (guint64) (i % 3);
  signed_labels[4] = g_str_equal (what, "int64-min") ? G_MININT64 : (G_GINT64_CONSTANT (1) << 32) + 1;
  unsigned_labels[4] = G_MAXUINT64;
  file = H5Fopen (data, H5F_ACC_RDWR, H5P_DEFAULT);
  g_assert_cmpint (file, >=, 0);
  g_assert_cmpint (H5Ldelete (file, "/y", H5P_DEFAULT), >=, 0);
  if (g_str_equal (what, "uint64-max"))
    qs_test_write_dataset (file, "/y", H5T_STD_U64LE, H5T_NATIVE_UINT64, 1, &n, unsigned_labels);
  else
    qs_test_write_dataset (file, "/y", H5T_STD_I64BE, H5T_NATIVE_INT64, 1, &n, signed_labels);
  g_assert_cmpint (H5Fclose (file), >=, 0);

  assert_refused (args, 0, g_str_equal (what, "uint64-max") ? "image 4 has label 18446744073709551615, not a class"
                           : g_str_equal (what, "int64-min") ? "image 4 has label -9223372036854775808, not a class"
                           : "image 4 has label 4294967297, not a class index");
}

static void
test_non_finite_pixels (gconstpointer what)
{
  g_autofree char *config = small_config ("4, 4, 1", "conv", SOUND_CONV, "", SOUND_POOL, SOUND_DENSE);
  g_autofree char *model = write_small_model ("pixels.h5", config, "conv", 8, NULL);
  float pixels[30 * 16];
  DataSpec spec = { { 30, 4, 4, 1 }, 4, pixels, NULL, 0.0, FALSE, { 0 } };
  g_autofree char *data = NULL;
  const char *args[] = { "eval", model, "--data", NULL, "--calib", "10", NULL };

  for (int i = 0; i < 30 * 16; i++)
    pixels[i] = 0.5f;
  if (g_str_equal (what, "nan"))
    pixels[16 * 2 + 5] = NAN;
  else if (g_str_equal (what, "inf"))
    pixels[16 * 2 + 5] = -INFINITY;
  else
    spec.scale = INFINITY;
  data = write_data ("pixels-data.h5", &spec);
  args[3] = data;
  assert_refused (args, 0, g_str_equal (what, "scale") ? "value 0 of image 0 is infinite"
                           : g_str_equal (what, "nan") ? "value 5 of image 2 is not a number"
                           : "value 5 of image 2 is infinite");
}

static void
test_constant_1e17 (gconstpointer method)
{
  g_autofree char *path = tmp_path ("constant.h5");
  hid_t file = H5Fcreate (path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  const hsize_t dims[2] = { 16, 8 };
  float values[16 * 8];
  const char *args[] = { "stats", path, "--tensor", "/w", "--range", method, "--json", NULL };
  g_autofree char *out = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonObject *report;

  for (int i = 0; i < 16 * 8; i++)
    values[i] = 1e17f;
  qs_test_write_floats (file, "/w", 2, dims, values);
  g_assert_cmpint (H5Fclose (file), >=, 0);

  out = assert_works (args, ADDRESS_SPACE);
  json_parser_load_from_data (parser, out, -1, &error);
  g_assert_no_error (error);
  report = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpfloat (json_object_get_double_member (report, "data_min"), ==, (double) 1e17f);
  g_assert_cmpfloat (json_object_get_double_member (report, "data_max"), ==, (double) 1e17f);
}

/* ---- 4. memory and CPU from tiny files ----------------------------------------------- */

#define BIG_CONFIG \
  "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"m\", \"layers\": [" \
  "{\"class_name\": \"InputLayer\", \"config\": {\"name\": \"input\", \"batch_input_shape\": [null, 16384]}}," \
  "{\"class_name\": \"Dense\", \"config\": {\"name\": \"d\", \"units\": 16384, \"use_bias\": false}}]}}"
#define BIG_TENSOR "/model_weights/d/d/kernel:0"

/* 16384 x 16384 float32: 1 GiB declared, as never-written chunks or as one
 * deflate stream of zeros in every chunk (about a megabyte of file). */
static char *
write_big_model (WeightKind kind)
{
  const Weight weight = { "d", "kernel", 2, { 16384, 16384 }, kind, 0.0f, NULL, { 1024, 1024 } };
  g_autofree char *name = g_strdup_printf ("big-%d.h5", kind);
  char *path = write_model (name, BIG_CONFIG, &weight, 1);
  GStatBuf st;

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_test_message ("%s: %" G_GINT64_FORMAT " bytes", name, (gint64) st.st_size);
  g_assert_cmpint (st.st_size, <, 2 << 20);
  return path;
}

static void
test_bomb_tensor (gconstpointer data)
{
  WeightKind kind = GPOINTER_TO_INT (data);
  g_autofree char *model = write_big_model (kind);
  const char *expect = kind == WEIGHT_UNWRITTEN ? "stores only 0 bytes" : "compressed more than 64:1";
  const char *eval[] = { "eval", model, NULL };
  const char *stats[] = { "stats", model, "--tensor", BIG_TENSOR, NULL };
  const char *streamed[] = { "stats", model, "--tensor", BIG_TENSOR, "--memory-budget", "64M", NULL };
  const char *layers[] = { "layers", model, NULL };
  g_autofree char *listing = NULL;

  assert_refused (eval, ADDRESS_SPACE, expect);
  assert_refused (stats, ADDRESS_SPACE, expect);
  assert_refused (streamed, ADDRESS_SPACE, expect);
  /* Listing reads no values: still fine. */
  listing = assert_works (layers, ADDRESS_SPACE);
  g_assert_nonnull (strstr (listing, "268435456"));
}

static void
test_bomb_image_set (void)
{
  g_autofree char *config = small_config ("4, 4, 1", "conv", SOUND_CONV, "", SOUND_POOL, SOUND_DENSE);
  g_autofree char *model = write_small_model ("images.h5", config, "conv", 8, NULL);
  /* 1.3 million 28x28 images (just under the 2^30-value cap), stored nowhere. */
  const DataSpec spec = { { 1300000, 28, 28 }, 3, NULL, NULL, 0.0, TRUE, { 10000, 28, 28 } };
  g_autofree char *data = write_data ("images-data.h5", &spec);
  const char *args[] = { "eval", model, "--data", data, NULL };
  GStatBuf st;

  g_assert_cmpint (g_stat (data, &st), ==, 0);
  g_assert_cmpint (st.st_size, <, 16 << 10);
  assert_refused (args, ADDRESS_SPACE, "“x” declares 1019200000 values but the file stores only 0 bytes");
}

/* @dims of @file_type at @path whose first dimension may grow, in one
 * deflated chunk of @chunk (larger than @dims, or equal) whose stream
 * inflates to @inflated zero bytes, or the whole chunk when 0: 128 MiB
 * from an eighth of a megabyte. */
static void
write_deflated_chunk (hid_t          file,
                      const char    *path,
                      hid_t          file_type,
                      int            rank,
                      const hsize_t *dims,
                      const hsize_t *chunk,
                      guint64        inflated)
{
  g_autoptr(GZlibCompressor) zlib = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_ZLIB, 9);
  g_autoptr(GByteArray) packed = g_byte_array_new ();
  g_autofree guint8 *zeros = g_malloc0 (1 << 20);
  g_autoptr(GError) error = NULL;
  hsize_t maxdims[H5S_MAX_RANK], offset[H5S_MAX_RANK] = { 0 };
  guint64 left = H5Tget_size (file_type);
  hid_t lcpl = qs_test_lcpl_intermediate (), dcpl = H5Pcreate (H5P_DATASET_CREATE), space, dset;
  guint8 out[65536];

  for (int d = 0; d < rank; d++)
    {
      maxdims[d] = d == 0 ? H5S_UNLIMITED : dims[d];
      left *= chunk[d];
    }
  if (inflated != 0)
    left = inflated;
  for (;;)
    {
      gsize take = MIN (left, (guint64) 1 << 20), read = 0, written = 0;
      GConverterResult result = g_converter_convert (G_CONVERTER (zlib), zeros, take, out, sizeof out,
                                                     take == left ? G_CONVERTER_INPUT_AT_END : G_CONVERTER_NO_FLAGS,
                                                     &read, &written, &error);

      g_assert_no_error (error);
      g_byte_array_append (packed, out, (guint) written);
      left -= read;
      if (result == G_CONVERTER_FINISHED)
        break;
    }
  g_assert_cmpint (H5Pset_chunk (dcpl, rank, chunk), >=, 0);
  g_assert_cmpint (H5Pset_deflate (dcpl, 9), >=, 0);
  space = H5Screate_simple (rank, dims, maxdims);
  dset = H5Dcreate2 (file, path, file_type, space, lcpl, dcpl, H5P_DEFAULT);
  g_assert_cmpint (dset, >=, 0);
  g_assert_cmpint (H5Dwrite_chunk (dset, H5P_DEFAULT, 0, offset, packed->len, packed->data), >=, 0);
  H5Dclose (dset);
  H5Sclose (space);
  H5Pclose (dcpl);
  H5Pclose (lcpl);
}

/* Thirty 4x4 images (or a 3x3x1x2 kernel) in one deflated chunk declared
 * for 2^21 images (128 MiB): libhdf5 inflates a chunk whole to read any
 * of it, so reading 1920 bytes would cost the 128 MiB. */
static void
test_bomb_oversized_chunk (gconstpointer what)
{
  g_autofree char *config = small_config ("4, 4, 1", "conv", SOUND_CONV, "", SOUND_POOL, SOUND_DENSE);
  g_autofree char *model = write_small_model ("chunk-model.h5", config, "conv", 8, NULL);
  g_autofree char *data = write_sound_data ("chunk-data.h5");
  const char *args[] = { "eval", model, "--data", data, "--calib", "10", NULL };
  const char *stats[] = { "stats", model, "--tensor", "/model_weights/conv/conv/kernel:0", NULL };
  g_autofree char *target = g_str_equal (what, "weights") ? g_strdup (model) : g_strdup (data);
  hid_t file = H5Fopen (target, H5F_ACC_RDWR, H5P_DEFAULT);
  GStatBuf st;

  g_assert_cmpint (file, >=, 0);
  if (g_str_equal (what, "weights"))
    {
      const hsize_t dims[4] = { 3, 3, 1, 2 }, chunk[4] = { 1 << 22, 3, 1, 2 };

      g_assert_cmpint (H5Ldelete (file, "/model_weights/conv/conv/kernel:0", H5P_DEFAULT), >=, 0);
      write_deflated_chunk (file, "/model_weights/conv/conv/kernel:0", H5T_IEEE_F32LE, 4, dims, chunk, 0);
    }
  else
    {
      const hsize_t dims[4] = { 30, 4, 4, 1 }, chunk[4] = { 1 << 21, 4, 4, 1 };
      const hsize_t label_dims[1] = { 30 }, label_chunk[1] = { 1 << 25 };

      g_assert_cmpint (H5Ldelete (file, g_str_equal (what, "x") ? "/x" : "/y", H5P_DEFAULT), >=, 0);
      if (g_str_equal (what, "x"))
        write_deflated_chunk (file, "/x", H5T_IEEE_F32LE, 4, dims, chunk, 0);
      else
        write_deflated_chunk (file, "/y", H5T_STD_I32LE, 1, label_dims, label_chunk, 0);
    }
  g_assert_cmpint (H5Fclose (file), >=, 0);
  g_assert_cmpint (g_stat (target, &st), ==, 0);
  g_assert_cmpint (st.st_size, <, 1 << 20);

  assert_refused (args, 0, g_str_equal (what, "x") ? "“x” is stored in chunks of 128 MiB for 480 values"
                           : g_str_equal (what, "y") ? "“y” is stored in chunks of 128 MiB for 30 values"
                           : "is stored in chunks of 96 MiB for 18 values");
  if (g_str_equal (what, "weights"))
    assert_refused (stats, 0, "is stored in chunks of 96 MiB for 18 values (a chunk is inflated whole");
}

/* An image folder is decoded only where a run reads it: 2,000 images
 * (hard links to one 4x4 PNG) of which the last is a FIFO, scored on the
 * first 10 and calibrated on another folder, decode 10 images and never
 * open the FIFO; scoring all of them names it. */
static void
test_folder_decoded_on_demand (void)
{
  g_autofree char *config = small_config ("4, 4, 1", "conv", SOUND_CONV, "", SOUND_POOL, SOUND_DENSE);
  g_autofree char *model = write_small_model ("folder-model.h5", config, "conv", 8, NULL);
  g_autofree char *folder = tmp_path ("folder-2000");
  g_autofree char *calib = tmp_path ("folder-calib");
  g_autofree char *first = g_build_filename (folder, "0000.png", NULL);
  g_autofree char *fifo = g_build_filename (folder, "1999.png", NULL);
  g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 4, 4);
  g_autoptr(GError) error = NULL;
  const char *some[] = { "eval", model, "--data", folder, "-n", "10", "--calibration", calib, "-c", "1", NULL };
  const char *all[] = { "eval", model, "--data", folder, "--calibration", calib, "-c", "1", NULL };
  g_autofree char *out = NULL;

  g_assert_cmpint (g_mkdir (folder, 0700), ==, 0);
  g_assert_cmpint (g_mkdir (calib, 0700), ==, 0);
  gdk_pixbuf_fill (pixbuf, 0x80808000);
  g_assert_true (gdk_pixbuf_save (pixbuf, first, "png", &error, NULL));
  g_assert_no_error (error);
  for (int i = 1; i < 1999; i++)
    {
      g_autofree char *name = g_strdup_printf ("%04d.png", i);
      g_autofree char *path = g_build_filename (folder, name, NULL);

      g_assert_cmpint (link (first, path), ==, 0);
    }
  {
    g_autofree char *path = g_build_filename (calib, "0.png", NULL);

    g_assert_cmpint (link (first, path), ==, 0);
  }
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);

  out = assert_works (some, ADDRESS_SPACE);
  g_assert_nonnull (strstr (out, "images 0..9"));
  assert_refused (all, ADDRESS_SPACE, "1 of 2000 images cannot be read: 1999.png (");
  qs_test_remove_tree (folder);
  qs_test_remove_tree (calib);
}

/* A chunk whose deflate stream inflates to 100 of its 1920 bytes:
 * libhdf5 1.10 would copy the chunk's values from past the end of the
 * 100 (ASan: heap-buffer-overflow in H5VM_memcpyvv; release: heap bytes
 * read as pixels or weights). */
static void
test_short_chunk (gconstpointer what)
{
  g_autofree char *config = small_config ("4, 4, 1", "conv", SOUND_CONV, "", SOUND_POOL, SOUND_DENSE);
  g_autofree char *model = write_small_model ("short-model.h5", config, "conv", 8, NULL);
  g_autofree char *data = write_sound_data ("short-data.h5");
  const char *args[] = { "eval", model, "--data", data, "--calib", "10", NULL };
  gboolean weights = g_str_equal (what, "weights");
  hid_t file = H5Fopen (weights ? model : data, H5F_ACC_RDWR, H5P_DEFAULT);
  const hsize_t x_dims[4] = { 30, 4, 4, 1 }, kernel_dims[4] = { 3, 3, 1, 2 };
  const char *path = weights ? "/model_weights/conv/conv/kernel:0" : "/x";

  g_assert_cmpint (file, >=, 0);
  g_assert_cmpint (H5Ldelete (file, path, H5P_DEFAULT), >=, 0);
  write_deflated_chunk (file, path, H5T_IEEE_F32LE, 4, weights ? kernel_dims : x_dims,
                        weights ? kernel_dims : x_dims, weights ? 20 : 100);
  g_assert_cmpint (H5Fclose (file), >=, 0);
  assert_refused (args, 0, weights ? "has a chunk that inflates to 20 of its 72 bytes (damaged)"
                                   : "“x” has a chunk that inflates to 100 of its 1920 bytes (damaged)");
}

/* More than 8,192 deflated chunks (the most the old pre-check looked
 * at) with the last one inflating short: a Dense kernel of 8192 x 3 in
 * one-value chunks, and 9,000 images in one-image chunks. Refused in one
 * line; the same files with every chunk sound work. */
static void
test_short_chunk_many (gconstpointer what)
{
  gboolean weights = g_str_equal (what, "weights");
  g_autofree char *config = small_config (weights ? "128, 128, 1" : "4, 4, 1", "conv", SOUND_CONV, "", SOUND_POOL,
                                          SOUND_DENSE);
  g_autofree char *model = write_small_model ("many-model.h5", config, "conv", weights ? 8192 : 8, NULL);
  const DataSpec spec = { { 9000, 4, 4, 1 }, 4, NULL, NULL, 0.0, FALSE, { 0 } };
  g_autofree char *data = write_data ("many-data.h5", &spec);
  const char *stats[] = { "stats", model, "--tensor", "/model_weights/dense/dense/kernel:0", NULL };
  const char *eval[] = { "eval", model, "--data", data, "--calib", "10", "-n", "20", NULL };
  const char *path = weights ? "/model_weights/dense/dense/kernel:0" : "/x";
  const hsize_t kernel_dims[2] = { 8192, 3 }, kernel_chunk[2] = { 1, 1 }, kernel_last[2] = { 8191, 2 };
  const hsize_t x_dims[4] = { 9000, 4, 4, 1 }, x_chunk[4] = { 1, 4, 4, 1 }, x_last[4] = { 8999, 0, 0, 0 };
  guint64 n = weights ? 8192 * 3 : 9000 * 16;
  g_autofree float *values = g_new (float, n);
  const guint8 zeros[8] = { 0 };
  g_autoptr(GBytes) two = qs_test_zlib (zeros, 2);
  g_autofree char *out = NULL;
  hid_t file;

  for (guint64 i = 0; i < n; i++)
    values[i] = weights ? 0.5f : (float) (i % 7) / 7.0f;
  file = H5Fopen (weights ? model : data, H5F_ACC_RDWR, H5P_DEFAULT);
  g_assert_cmpint (file, >=, 0);
  g_assert_cmpint (H5Ldelete (file, path, H5P_DEFAULT), >=, 0);
  qs_test_write_chunked (file, path, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, weights ? 2 : 4,
                         weights ? kernel_dims : x_dims, weights ? kernel_chunk : x_chunk, QS_TEST_DEFLATE, values);
  g_assert_cmpint (H5Fclose (file), >=, 0);
  out = assert_works (weights ? stats : eval, 0);
  g_assert_nonnull (strstr (out, weights ? "24576" : "images 0..19"));

  file = H5Fopen (weights ? model : data, H5F_ACC_RDWR, H5P_DEFAULT);
  g_assert_cmpint (file, >=, 0);
  qs_test_replace_chunk (file, path, weights ? kernel_last : x_last, 0, g_bytes_get_data (two, NULL),
                         g_bytes_get_size (two));
  g_assert_cmpint (H5Fclose (file), >=, 0);
  if (weights)
    {
      assert_refused (stats, 0, "has a chunk that inflates to 2 of its 4 bytes (damaged)");
      assert_refused (eval, 0, "has a chunk that inflates to 2 of its 4 bytes (damaged)");
    }
  else
    assert_refused (eval, 0, "“x” has a chunk that inflates to 2 of its 64 bytes (damaged)");
}

static void
test_bomb_idx (void)
{
  g_autofree char *config = small_config ("4, 4, 1", "conv", SOUND_CONV, "", SOUND_POOL, SOUND_DENSE);
  g_autofree char *model = write_small_model ("idx.h5", config, "conv", 8, NULL);
  g_autofree char *data = tmp_path ("bomb-images-idx3-ubyte.gz");
  g_autoptr(GFile) file = g_file_new_for_path (data);
  g_autoptr(GError) error = NULL;
  g_autoptr(GFileOutputStream) raw = g_file_replace (file, NULL, FALSE, G_FILE_CREATE_NONE, NULL, &error);
  g_autoptr(GZlibCompressor) gzip = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP, 1);
  g_autoptr(GOutputStream) out = NULL;
  /* 16 million 4x4 images: 256 MiB of zero pixels, 1 GiB as float32. */
  const guint8 header[16] = { 0, 0, 8, 3, 0, 0xf4, 0x24, 0, 0, 0, 0, 4, 0, 0, 0, 4 };
  g_autofree guint8 *zeros = g_malloc0 (1 << 20);
  const char *args[] = { "eval", model, "--data", data, NULL };

  g_assert_no_error (error);
  out = g_converter_output_stream_new (G_OUTPUT_STREAM (raw), G_CONVERTER (gzip));
  g_assert_true (g_output_stream_write_all (out, header, sizeof header, NULL, NULL, &error));
  for (int i = 0; i < 256; i++)
    g_assert_true (g_output_stream_write_all (out, zeros, 1 << 20, NULL, NULL, &error));
  g_assert_true (g_output_stream_close (out, NULL, &error));
  g_assert_no_error (error);
  assert_refused (args, ADDRESS_SPACE, "inflating more than 64:1");
}

static void
test_feature_map_bomb (void)
{
  /* Four 1x1 depthwise layers of four weights each on 2048 x 2048 x 4
   * images: a few kilobytes of file, gigabytes of feature maps per batch
   * of 16 images (and each kept for the SQNR pass). A thread runs such
   * maps one image at a time, which still takes more than 64 MiB. */
  const char *config =
    "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"m\", \"layers\": ["
    "{\"class_name\": \"InputLayer\", \"config\": {\"name\": \"input\", \"batch_input_shape\": [null, 2048, 2048, 4]}},"
    "{\"class_name\": \"DepthwiseConv2D\", \"config\": {\"name\": \"dw1\", \"kernel_size\": 1, \"use_bias\": false}},"
    "{\"class_name\": \"DepthwiseConv2D\", \"config\": {\"name\": \"dw2\", \"kernel_size\": 1, \"use_bias\": false}},"
    "{\"class_name\": \"DepthwiseConv2D\", \"config\": {\"name\": \"dw3\", \"kernel_size\": 1, \"use_bias\": false}},"
    "{\"class_name\": \"GlobalAveragePooling2D\", \"config\": {\"name\": \"gap\"}},"
    "{\"class_name\": \"Dense\", \"config\": {\"name\": \"d\", \"units\": 3, \"use_bias\": false}}]}}";
  const Weight weights[] = {
    { "dw1", "depthwise_kernel", 4, { 1, 1, 4, 1 }, WEIGHT_VALUES, 1.0f, NULL, { 0 } },
    { "dw2", "depthwise_kernel", 4, { 1, 1, 4, 1 }, WEIGHT_VALUES, 1.0f, NULL, { 0 } },
    { "dw3", "depthwise_kernel", 4, { 1, 1, 4, 1 }, WEIGHT_VALUES, 1.0f, NULL, { 0 } },
    { "d", "kernel", 2, { 4, 3 }, WEIGHT_VALUES, 1.0f, NULL, { 0 } },
  };
  g_autofree char *model = write_model ("maps.h5", config, weights, G_N_ELEMENTS (weights));
  const char *args[] = { "eval", model, "--memory-budget", "64M", NULL };

  assert_refused (args, ADDRESS_SPACE, "working memory per thread, more than the memory budget of 64 MiB");
}

static void
test_per_channel_kl_cost (void)
{
  /* 70,000 channels of 9 values took ten minutes (22 ms each, whatever
   * their size); sized to the data they take well under a second. */
  g_autofree char *path = tmp_path ("channels.h5");
  hid_t file = H5Fcreate (path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  const hsize_t dims[2] = { 9, 70000 };
  g_autofree float *values = g_new (float, 9 * 70000);
  GRand *rand = g_rand_new_with_seed (7);
  const char *args[] = { "stats", path, "--tensor", "/w", "--granularity", "channel", "--range", "kl",
                         "--threads", "1", NULL };
  g_autofree char *out = NULL;

  for (int i = 0; i < 9 * 70000; i++)
    values[i] = (float) g_rand_double_range (rand, -1.0, 1.0);
  g_rand_free (rand);
  qs_test_write_floats (file, "/w", 2, dims, values);
  g_assert_cmpint (H5Fclose (file), >=, 0);
  out = assert_works (args, ADDRESS_SPACE);
  g_assert_nonnull (strstr (out, "per-channel, kl"));
}

/* ---- 6. terminal safety ----------------------------------------------------------------- */

/* ESC ] 0 ; title BEL (retitles the terminal), a C1 CSI, DEL, a newline,
 * and a byte that is not UTF-8 (only in the group the command line cannot
 * name: GOption refuses arguments that are not UTF-8). */
#define EVIL_GROUP "evil\033]0;pwned\007\302\233\377"
#define EVIL_VALID_GROUP "valid\033]0;pwned\007\302\233"
#define EVIL_NAME "k\033[2J\177\n"

/* Whether @text could act on a terminal: a control character other than
 * newline, DEL, a C1 control, or invalid UTF-8. */
static void
assert_terminal_safe (const char *text,
                      gsize       size)
{
  const char *end;

  g_assert_true (g_utf8_validate (text, (gssize) size, &end));
  for (const char *p = text; p < text + size; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      g_assert_true (c == '\n' || (c >= 0x20 && c != 0x7f && !(c >= 0x80 && c <= 0x9f)));
    }
}

static char *
write_evil_names (void)
{
  char *path = tmp_path ("names.h5");
  hid_t file = H5Fcreate (path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  const hsize_t dims[2] = { 3, 3 };
  const float values[9] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };

  g_assert_cmpint (file, >=, 0);
  qs_test_write_floats (file, "/" EVIL_GROUP "/" EVIL_NAME, 2, dims, values);
  qs_test_write_floats (file, "/" EVIL_VALID_GROUP "/" EVIL_NAME, 2, dims, values);
  g_assert_cmpint (H5Fclose (file), >=, 0);
  return path;
}

static void
test_names_escaped_in_text (void)
{
  g_autofree char *path = write_evil_names ();
  const char *layers[] = { "layers", path, NULL };
  const char *stats[] = { "stats", path, "--tensor", "/" EVIL_VALID_GROUP "/" EVIL_NAME, NULL };
  const char *missing[] = { "stats", path, "--tensor", "/" EVIL_VALID_GROUP "/none", NULL };
  g_autofree char *table = assert_works (layers, 0);
  g_autofree char *summary = assert_works (stats, 0);
  QsTestBoundedRun run;

  assert_terminal_safe (table, strlen (table));
  g_assert_nonnull (strstr (table, "/evil\\x1b]0;pwned\\x07\\u009b\\xff/k\\x1b[2J\\x7f\\x0a "));
  /* The header and one tensor: the name's newline made no line. */
  {
    g_auto(GStrv) lines = g_strsplit (table, "\n", -1);

    g_assert_cmpuint (g_strv_length (lines), ==, 4);
  }
  assert_terminal_safe (summary, strlen (summary));
  g_assert_nonnull (strstr (summary, "Tensor      /valid\\x1b]0;pwned\\x07\\u009b/k\\x1b[2J\\x7f\\x0a"));

  qs_test_run_cli (missing, TIMEOUT_S, 0, &run);
  qs_test_assert_cli_refused (&run, "/valid\\x1b]0;pwned\\x07\\u009b/none");
  assert_terminal_safe (g_bytes_get_data (run.err, NULL), g_bytes_get_size (run.err));
  qs_test_bounded_run_clear (&run);
}

static void
test_names_valid_in_json (void)
{
  g_autofree char *path = write_evil_names ();
  const char *layers[] = { "layers", path, "--json", NULL };
  g_autofree char *out = assert_works (layers, 0);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonArray *tensors;

  g_assert_true (g_utf8_validate (out, -1, NULL));
  json_parser_load_from_data (parser, out, -1, &error);
  g_assert_no_error (error);
  tensors = json_object_get_array_member (json_node_get_object (json_parser_get_root (parser)), "tensors");
  /* Valid control characters come back as they were; the byte that is
   * not UTF-8 reads as the text \xff. */
  g_assert_cmpuint (json_array_get_length (tensors), ==, 2);
  for (guint i = 0; i < 2; i++)
    {
      const char *tensor = json_object_get_string_member (json_array_get_object_element (tensors, i), "path");

      g_assert_true (g_str_equal (tensor, "/evil\033]0;pwned\007\302\233\\xff/" EVIL_NAME)
                     || g_str_equal (tensor, "/" EVIL_VALID_GROUP "/" EVIL_NAME));
    }
}

static void
test_layer_name_escaped (void)
{
  g_autofree char *config = small_config ("4, 4, 1", "c\\u001b[31m\\u0007", SOUND_CONV, "", SOUND_POOL, SOUND_DENSE);
  g_autofree char *bad_config = small_config ("4, 4, 1", "c\\u001b[31m\\u0007", "\"kernel_size\": 0", "",
                                              SOUND_POOL, SOUND_DENSE);
  g_autofree char *model = write_small_model ("layer-name.h5", config, "c\033[31m\007", 8, NULL);
  g_autofree char *bad = write_small_model ("layer-name-bad.h5", bad_config, "c\033[31m\007", 8, NULL);
  g_autofree char *data = write_sound_data ("layer-name-data.h5");
  const char *eval[] = { "eval", model, "--data", data, "--calib", "10", NULL };
  const char *refused[] = { "eval", bad, "--data", data, "--calib", "10", NULL };
  g_autofree char *out = assert_works (eval, 0);
  QsTestBoundedRun run;

  assert_terminal_safe (out, strlen (out));
  g_assert_nonnull (strstr (out, "c\\x1b[31m\\x07"));
  qs_test_run_cli (refused, TIMEOUT_S, 0, &run);
  qs_test_assert_cli_refused (&run, "“c\\x1b[31m\\x07” has an invalid kernel_size");
  qs_test_bounded_run_clear (&run);
}

/* Pixels or labels of a type wider than any pixel or label (16 bytes
 * here; a fuzzer's file had 2^32 + 3) are refused before libhdf5 reads
 * them into conversion buffers of that width (tests/fuzz/inputs-dataset/
 * fixed-type-width-*); 8-byte ones still load. */
static void
test_dataset_type_width (void)
{
  static const struct {
    const char *name;
    size_t      x_width;
    size_t      y_width;
    gboolean    loads;
  } cases[] = {
    { "width-x16.h5", 16, 4, FALSE },
    { "width-y16.h5", 1, 16, FALSE },
    { "width-x8-y8.h5", 8, 8, TRUE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = tmp_path (cases[i].name);
      const hsize_t xdims[3] = { 3, 4, 4 }, ydims[1] = { 3 };
      guint8 pixels[3 * 4 * 4] = { 0 };
      int32_t labels[3] = { 0, 1, 2 };
      hid_t file = H5Fcreate (path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
      hid_t xtype = H5Tcopy (H5T_STD_U8LE), ytype = H5Tcopy (H5T_STD_I32LE);
      g_autoptr(QsDataset) dataset = NULL;
      g_autoptr(GError) error = NULL;

      g_assert_cmpint (file, >=, 0);
      g_assert_cmpint (H5Tset_size (xtype, cases[i].x_width), >=, 0);
      g_assert_cmpint (H5Tset_size (ytype, cases[i].y_width), >=, 0);
      for (int k = 0; k < 3 * 4 * 4; k++)
        pixels[k] = (guint8) (k * 5);
      qs_test_write_dataset (file, "/x", xtype, H5T_NATIVE_UINT8, 3, xdims, pixels);
      qs_test_write_dataset (file, "/y", ytype, H5T_NATIVE_INT32, 1, ydims, labels);
      H5Tclose (xtype);
      H5Tclose (ytype);
      g_assert_cmpint (H5Fclose (file), >=, 0);

      dataset = qs_dataset_load (path, &error);
      g_test_message ("%s: %s", cases[i].name, error != NULL ? error->message : "loaded");
      if (cases[i].loads)
        {
          g_assert_no_error (error);
          g_assert_nonnull (dataset);
          /* 8-bit ramp values survive the 8-byte type: 47 * 5 / 255. */
          g_assert_cmpfloat_with_epsilon (qs_dataset_get_view (dataset)->images[47], 235.0f / 255.0f, 1e-6);
        }
      else
        {
          g_assert_null (dataset);
          g_assert_error (error, QS_ERROR, QS_ERROR_INVALID);
          g_assert_nonnull (strstr (error->message, "bytes wide (at most 8)"));
        }
    }
}

/* A model_config that stores more text than the JSON bound (16 MiB) is
 * refused from its stored size, before libhdf5 reads it whole: the CLI
 * ends with one line and status 2, within a 1 GiB address space. */
static void
test_config_attribute_too_large (void)
{
  const gsize size = (gsize) 17 << 20;
  g_autofree char *path = tmp_path ("config-17mib.h5");
  g_autofree char *config = g_malloc (size + 1);
  const char *strings[1] = { config };
  const char *args[] = { "layers", path, NULL };
  hid_t fapl = H5Pcreate (H5P_FILE_ACCESS), file;

  /* Attributes past 64 KiB need the dense storage of the 1.8 format. */
  g_assert_cmpint (H5Pset_libver_bounds (fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST), >=, 0);
  file = H5Fcreate (path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  H5Pclose (fapl);
  memset (config, ' ', size);
  config[0] = '{';
  config[size - 1] = '}';
  config[size] = '\0';
  g_assert_cmpint (file, >=, 0);
  qs_test_write_string_attr (file, "/", "model_config", strings, -1, FALSE);
  qs_test_write_floats (file, "/w", 1, (const hsize_t[]) { 4 }, (const float[]) { 1, 2, 3, 4 });
  g_assert_cmpint (H5Fclose (file), >=, 0);
  assert_refused (args, ADDRESS_SPACE, "the “model_config” attribute stores 1 × 17825792 bytes of text, "
                  "more than 16 MiB");
}

/* A dataset in HDF5 external storage names other files for libhdf5 to
 * read its values from: any path, a FIFO, a device. Refused by name, and
 * the named file is never opened (a FIFO there would hang the reader). */
static void
test_external_storage (void)
{
  g_autofree char *path = tmp_path ("external.h5");
  g_autofree char *fifo = tmp_path ("external-values");
  const char *stats[] = { "stats", path, "--tensor", "/w", NULL };
  const char *check[] = { "layers", path, "--check-data", NULL };
  hsize_t dims[1] = { 16 };
  hid_t file, space, dcpl, dset;

  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  file = H5Fcreate (path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  space = H5Screate_simple (1, dims, NULL);
  dcpl = H5Pcreate (H5P_DATASET_CREATE);
  g_assert_cmpint (H5Pset_external (dcpl, fifo, 0, dims[0] * sizeof (float)), >=, 0);
  dset = H5Dcreate2 (file, "/w", H5T_IEEE_F32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  g_assert_cmpint (dset, >=, 0);
  H5Dclose (dset);
  H5Pclose (dcpl);
  H5Sclose (space);
  g_assert_cmpint (H5Fclose (file), >=, 0);

  assert_refused (stats, 0, "HDF5 external storage");
  assert_refused (check, 0, "HDF5 external storage");
}

/* Writes @n variable-length strings as attribute @name of @obj in the
 * file at @path, the first of @big bytes, then points every element at
 * the first one's heap object (each element in the file is its length,
 * then a heap ID): @n * @big bytes of text from a file of @big. */
static void
write_shared_vlen_attribute (const char *path,
                             const char *obj,
                             const char *name,
                             int         n,
                             gsize       big)
{
  g_autofree char *first = g_malloc (big + 1);
  g_autoptr(GPtrArray) strings = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *bytes = NULL;
  guint8 head[8];
  gsize size = 0, at;
  hid_t file = H5Fopen (path, H5F_ACC_RDWR, H5P_DEFAULT);

  g_assert_cmpint (file, >=, 0);
  memset (first, 'a', big);
  first[big] = '\0';
  g_ptr_array_add (strings, g_steal_pointer (&first));
  for (int i = 1; i < n; i++)
    g_ptr_array_add (strings, g_strdup ("xx"));
  if (H5Aexists_by_name (file, obj, name, H5P_DEFAULT) > 0)
    g_assert_cmpint (H5Adelete_by_name (file, obj, name, H5P_DEFAULT), >=, 0);
  qs_test_write_string_attr (file, obj, name, (const char *const *) strings->pdata, n, TRUE);
  g_assert_cmpint (H5Fclose (file), >=, 0);

  /* the first element: length @big, a heap ID, then the second's length 2 */
  g_assert_true (g_file_get_contents (path, &bytes, &size, NULL));
  for (int b = 0; b < 4; b++)
    {
      head[b] = (guint8) (big >> (8 * b));
      head[4 + b] = (guint8) (2 >> (8 * b));
    }
  for (at = 0; at + 16 * (gsize) n <= size; at++)
    if (memcmp (bytes + at, head, 4) == 0 && memcmp (bytes + at + 16, head + 4, 4) == 0)
      break;
  g_assert_cmpuint (at + 16 * (gsize) n, <=, size);
  for (int i = 1; i < n; i++)
    memcpy (bytes + at + 16 * (gsize) i, bytes + at, 16);
  g_assert_true (g_file_set_contents (path, bytes, (gssize) size, NULL));
}

/* Variable-length strings that all name one heap object: a 4 MB file's
 * 3,000 layer_names made `layers` allocate 12 GB. libhdf5's conversion is
 * bounded by the lengths the file states: a model_config of them is
 * refused by name, layer_names are read as missing (the listing goes
 * on, within the address-space limit). */
static void
test_shared_vlen_strings (void)
{
  g_autofree char *config = small_config ("4, 4, 1", "conv", SOUND_CONV, "", SOUND_POOL, SOUND_DENSE);
  g_autofree char *by_config = write_small_model ("shared-config.h5", config, "conv", 8, NULL);
  g_autofree char *by_names = write_small_model ("shared-names.h5", config, "conv", 8, NULL);
  g_autofree char *listing = NULL;
  const char *open_config[] = { "layers", by_config, NULL };
  const char *layers[] = { "layers", by_names, NULL };

  write_shared_vlen_attribute (by_config, "/", "model_config", 3000, 4 << 20);
  write_shared_vlen_attribute (by_names, "/model_weights", "layer_names", 3000, 4 << 20);
  assert_refused (open_config, ADDRESS_SPACE, "the “model_config” attribute states more than 16 MiB of text");
  listing = assert_works (layers, ADDRESS_SPACE);
  g_assert_nonnull (strstr (listing, "/model_weights/dense/dense/kernel:0"));
}

/* The variable-length types of test_shared_vlen_data. */
typedef enum
{
  VLEN_SEQUENCE,          /* sequences of float64 */
  VLEN_NESTED,            /* one sequence of sequences of float64 */
  VLEN_COMPOUND,          /* { int32 id; sequence of float64 } */
  VLEN_COMPOUND_STRING,   /* { int32 id; string } */
  VLEN_STATED,            /* one sequence of float64 stating 2^31 - 1 elements */
} VlenKind;

typedef struct
{
  int32_t id;
  hvl_t   v;
} VlenMember;

typedef struct
{
  int32_t id;
  char   *s;
} VlenStringMember;

/* Whether @bytes (of a file of @size) at @at is a variable-length
 * element in its file form stating @length: the length, then a heap ID
 * (an address inside the file and a small index). */
static gboolean
is_vlen_element (const char *bytes,
                 gsize       size,
                 gsize       at,
                 guint32     length)
{
  guint32 stated, index;
  guint64 address;

  if (at + 16 > size)
    return FALSE;
  memcpy (&stated, bytes + at, 4);
  memcpy (&address, bytes + at + 4, 8);
  memcpy (&index, bytes + at + 12, 4);
  return GUINT32_FROM_LE (stated) == length && GUINT64_FROM_LE (address) > 0 && GUINT64_FROM_LE (address) < size
         && GUINT32_FROM_LE (index) < 100000;
}

/* Points the file form of @n elements @stride bytes apart at the first
 * one (stating @first_length), found as the first element whose
 * successor states @next_length: @n times the first element's data from
 * a file that stores it once. */
static void
point_vlen_elements_at_first (const char *path,
                              guint32     first_length,
                              guint32     next_length,
                              gsize       stride,
                              int         n)
{
  g_autofree char *bytes = NULL;
  gsize size = 0, at;

  g_assert_true (g_file_get_contents (path, &bytes, &size, NULL));
  for (at = 0; at + stride * (gsize) n <= size; at++)
    if (is_vlen_element (bytes, size, at, first_length) && is_vlen_element (bytes, size, at + stride, next_length))
      break;
  g_assert_cmpuint (at + stride * (gsize) n, <=, size);
  for (int i = 1; i < n; i++)
    memcpy (bytes + at + stride * (gsize) i, bytes + at, 16);
  g_assert_true (g_file_set_contents (path, bytes, (gssize) size, NULL));
}

/* Writes @name at @obj of the file at @path (an attribute, or a dataset
 * when @dataset) of @kind: @n elements, the first of @big float64 values
 * or bytes of text, the others of 2 (1.0 and 2.0, or "xx"). */
static void
write_vlen_data (const char *path,
                        const char *obj,
                        const char *name,
                        VlenKind    kind,
                        gboolean    dataset,
                        int         n,
                        guint32     big)
{
  g_autofree double *values = g_new0 (double, big);
  g_autofree char *text = g_malloc (big + 1);
  g_autofree hvl_t *sequences = g_new0 (hvl_t, n);
  g_autofree VlenMember *members = g_new0 (VlenMember, n);
  g_autofree VlenStringMember *string_members = g_new0 (VlenStringMember, n);
  const double two[2] = { 1.0, 2.0 };
  hsize_t count = kind == VLEN_NESTED || kind == VLEN_STATED ? 1 : (hsize_t) n;
  hid_t file = H5Fopen (path, H5F_ACC_RDWR, H5P_DEFAULT);
  hid_t seq = H5Tvlen_create (H5T_NATIVE_DOUBLE), str = H5Tcopy (H5T_C_S1);
  hid_t mtype, ftype, space, where, target;
  hvl_t outer;
  const void *data;

  g_assert_cmpint (file, >=, 0);
  memset (text, 'a', big);
  text[big] = '\0';
  H5Tset_size (str, H5T_VARIABLE);
  for (int i = 0; i < n; i++)
    {
      sequences[i].len = i == 0 ? big : 2;
      sequences[i].p = i == 0 ? (void *) values : (void *) two;
      members[i].id = 0x7f7f7f7f;
      members[i].v = sequences[i];
      string_members[i].id = 0x7f7f7f7f;
      string_members[i].s = i == 0 ? text : "xx";
    }

  switch (kind)
    {
    case VLEN_SEQUENCE:
    case VLEN_STATED:
      mtype = H5Tcopy (seq);
      data = sequences;
      if (kind == VLEN_STATED)
        sequences[0].len = 12345;
      break;
    case VLEN_NESTED:
      mtype = H5Tvlen_create (seq);
      outer.len = (size_t) n;
      outer.p = sequences;
      data = &outer;
      break;
    case VLEN_COMPOUND:
      mtype = H5Tcreate (H5T_COMPOUND, sizeof (VlenMember));
      H5Tinsert (mtype, "id", HOFFSET (VlenMember, id), H5T_NATIVE_INT32);
      H5Tinsert (mtype, "v", HOFFSET (VlenMember, v), seq);
      data = members;
      break;
    case VLEN_COMPOUND_STRING:
    default:
      mtype = H5Tcreate (H5T_COMPOUND, sizeof (VlenStringMember));
      H5Tinsert (mtype, "id", HOFFSET (VlenStringMember, id), H5T_NATIVE_INT32);
      H5Tinsert (mtype, "s", HOFFSET (VlenStringMember, s), str);
      data = string_members;
      break;
    }
  /* packed: in the file a compound element is 4 + 16 bytes */
  ftype = H5Tcopy (mtype);
  if (H5Tget_class (ftype) == H5T_COMPOUND)
    H5Tpack (ftype);
  space = H5Screate_simple (1, &count, NULL);
  where = H5Oopen (file, obj, H5P_DEFAULT);
  g_assert_cmpint (where, >=, 0);
  if (dataset)
    {
      target = H5Dcreate2 (where, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
      g_assert_cmpint (target, >=, 0);
      g_assert_cmpint (H5Dwrite (target, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), >=, 0);
      H5Dclose (target);
    }
  else
    {
      target = H5Acreate2 (where, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT);
      g_assert_cmpint (target, >=, 0);
      g_assert_cmpint (H5Awrite (target, mtype, data), >=, 0);
      H5Aclose (target);
    }
  H5Oclose (where);
  H5Sclose (space);
  H5Tclose (ftype);
  H5Tclose (mtype);
  H5Tclose (str);
  H5Tclose (seq);
  g_assert_cmpint (H5Fclose (file), >=, 0);

}

/* Makes the one element of length @from in the file at @path (its
 * length, then a heap ID: an address inside the file and a small index)
 * state @to, its data unchanged. */
static void
state_vlen_length (const char *path,
                   guint32     from,
                   guint32     to)
{
  g_autofree char *bytes = NULL;
  gsize size = 0, at;

  g_assert_true (g_file_get_contents (path, &bytes, &size, NULL));
  for (at = 0; at + 16 <= size; at++)
    if (is_vlen_element (bytes, size, at, from))
      break;
  g_assert_cmpuint (at + 16, <=, size);
  to = GUINT32_TO_LE (to);
  memcpy (bytes + at, &to, 4);
  g_assert_true (g_file_set_contents (path, bytes, (gssize) size, NULL));
}

typedef struct
{
  VlenKind    kind;
  gboolean    dataset;
  const char *obj;        /* where the attribute or dataset is */
  const char *expect;
} VlenCase;

/* Adds /model_weights/counts, int32 values export copies as they are. */
static void
add_copied_dataset (const char *path)
{
  const int32_t counts[3] = { 1, 2, 3 };
  hsize_t n = 3;
  hid_t file = H5Fopen (path, H5F_ACC_RDWR, H5P_DEFAULT);
  hid_t space = H5Screate_simple (1, &n, NULL);
  hid_t dset = H5Dcreate2 (file, "/model_weights/counts", H5T_STD_I32LE, space, H5P_DEFAULT, H5P_DEFAULT,
                           H5P_DEFAULT);

  g_assert_cmpint (dset, >=, 0);
  g_assert_cmpint (H5Dwrite (dset, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, counts), >=, 0);
  H5Dclose (dset);
  H5Sclose (space);
  g_assert_cmpint (H5Fclose (file), >=, 0);
}

/* Variable-length sequences (and strings inside compounds) stating far
 * more than the file stores: 3,000 elements naming one 4 MiB heap object
 * (12 GiB; as compound members or inner sequences, converted one at a
 * time), or one element stating 2^31 - 1 float64 values (16 GiB, which
 * libhdf5 also zeroes). export copies attributes and datasets of any
 * type: it refuses them in one line, within the address-space limit,
 * and leaves no output; before, it allocated until the limit, or crashed
 * in libhdf5's H5Ocopy() (whose cleanup after a failed conversion closes
 * a type twice). Nothing else reads them: layers lists the model. */
static void
test_shared_vlen_data (gconstpointer data)
{
  const VlenCase *c = data;
  g_autofree char *config = small_config ("4, 4, 1", "conv", SOUND_CONV, "", SOUND_POOL, SOUND_DENSE);
  g_autofree char *model = write_small_model ("vlen-data.h5", config, "conv", 8, NULL);
  g_autofree char *out = tmp_path ("vlen-data-out.h5");
  g_autofree char *listing = NULL;
  const char *export[] = { "export", model, out, NULL };
  const char *layers[] = { "layers", model, NULL };
  const guint32 big = 1 << 19;

  add_copied_dataset (model);
  write_vlen_data (model, c->obj, "extra", c->kind, c->dataset, c->kind == VLEN_STATED ? 1 : 3000,
                   c->kind == VLEN_STATED ? 12345 : big);
  if (c->kind == VLEN_STATED)
    state_vlen_length (model, 12345, G_MAXINT32);
  else
    point_vlen_elements_at_first (model, big, 2, c->kind == VLEN_COMPOUND || c->kind == VLEN_COMPOUND_STRING ? 20 : 16,
                                  3000);

  assert_refused (export, ADDRESS_SPACE, c->expect);
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
  listing = assert_works (layers, ADDRESS_SPACE);
  g_assert_nonnull (strstr (listing, "/model_weights/dense/dense/kernel:0"));
}

static const VlenCase vlen_cases[] = {
  { VLEN_SEQUENCE, FALSE, "/model_weights", "attribute “extra” of /model_weights states more than 256 MiB" },
  { VLEN_NESTED, FALSE, "/model_weights", "attribute “extra” of /model_weights states more than 256 MiB" },
  { VLEN_COMPOUND, FALSE, "/model_weights", "attribute “extra” of /model_weights states more than 256 MiB" },
  { VLEN_COMPOUND_STRING, FALSE, "/model_weights", "attribute “extra” of /model_weights states more than 256 MiB" },
  { VLEN_STATED, FALSE, "/model_weights", "attribute “extra” of /model_weights states more than 256 MiB" },
  { VLEN_SEQUENCE, FALSE, "/model_weights/counts",
    "attribute “extra” of /model_weights/counts states more than 256 MiB" },
  { VLEN_SEQUENCE, TRUE, "/model_weights", "/model_weights/extra states more than 256 MiB" },
  { VLEN_NESTED, TRUE, "/model_weights", "/model_weights/extra states more than 256 MiB" },
  { VLEN_COMPOUND, TRUE, "/model_weights", "/model_weights/extra states more than 256 MiB" },
  { VLEN_COMPOUND_STRING, TRUE, "/model_weights", "/model_weights/extra states more than 256 MiB" },
  { VLEN_STATED, TRUE, "/model_weights", "/model_weights/extra states more than 256 MiB" },
};

/* Variable-length data stating less than its heap object holds: libhdf5
 * 1.10 copies the whole object into a buffer sized by the stated length,
 * so a model_config stating 100 of its 100,000 bytes overflowed the heap
 * in `layers` (caught as a crash at best). Each object's size is looked
 * up in the file first: refused in one line, nothing read past a buffer
 * (valgrind and ASan builds show it). */
static void
test_vlen_understated (void)
{
  g_autofree char *config = small_config ("4, 4, 1", "conv", SOUND_CONV, "", SOUND_POOL, SOUND_DENSE);
  g_autofree char *by_config = write_small_model ("understated-config.h5", config, "conv", 8, NULL);
  g_autofree char *by_attribute = write_small_model ("understated-attribute.h5", config, "conv", 8, NULL);
  g_autofree char *by_dataset = write_small_model ("understated-dataset.h5", config, "conv", 8, NULL);
  g_autofree char *padding = g_strnfill (100000, 'x');
  g_autofree char *padded = g_strdup_printf ("%.*s, \"pad\": \"%s\"}", (int) strlen (config) - 1, config, padding);
  g_autofree char *out = tmp_path ("understated-out.h5");
  const char *layers[] = { "layers", by_config, NULL };
  const char *export_attribute[] = { "export", by_attribute, out, NULL };
  const char *export_dataset[] = { "export", by_dataset, out, NULL };
  const char *value = padded;
  hid_t file = H5Fopen (by_config, H5F_ACC_RDWR, H5P_DEFAULT);

  g_assert_cmpint (file, >=, 0);
  g_assert_cmpint (H5Adelete (file, "model_config"), >=, 0);
  qs_test_write_string_attr (file, "/", "model_config", &value, -1, TRUE);
  g_assert_cmpint (H5Fclose (file), >=, 0);
  state_vlen_length (by_config, (guint32) strlen (padded), 100);
  write_vlen_data (by_attribute, "/model_weights", "extra", VLEN_STATED, FALSE, 1, 12345);
  state_vlen_length (by_attribute, 12345, 1);
  write_vlen_data (by_dataset, "/model_weights", "extra", VLEN_STATED, TRUE, 1, 12345);
  state_vlen_length (by_dataset, 12345, 1);

  assert_refused (layers, ADDRESS_SPACE,
                  "the “model_config” attribute is damaged: its text is missing, damaged or longer than it states");
  assert_refused (export_attribute, ADDRESS_SPACE,
                  "attribute “extra” of /model_weights is damaged: its variable-length data is missing, damaged or "
                  "longer than it states");
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
  assert_refused (export_dataset, ADDRESS_SPACE,
                  "/model_weights/extra is damaged: its variable-length data is missing, damaged or longer than it states");
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
}

/* A copied dataset whose contiguous layout states 2^64 - 2^56 + 12 bytes
 * (the top byte of its size set, as mutate.py did to a vlen string
 * dataset): libhdf5's H5Ocopy() reads the storage the layout states and
 * crashed in its cleanup when that failed. Refused before copying. */
static void
test_copied_storage_size (gconstpointer data)
{
  gboolean vlen = GPOINTER_TO_INT (data);
  g_autofree char *config = small_config ("4, 4, 1", "conv", SOUND_CONV, "", SOUND_POOL, SOUND_DENSE);
  g_autofree char *model = write_small_model ("storage-size.h5", config, "conv", 8, NULL);
  g_autofree char *out = tmp_path ("storage-size-out.h5");
  g_autofree char *bytes = NULL;
  const char *export[] = { "export", model, out, NULL };
  const char *path = vlen ? "/model_weights/extra" : "/model_weights/counts";
  guint8 layout[18] = { 3, 1 };
  haddr_t offset;
  hsize_t stored;
  gsize size = 0;
  char *at;
  hid_t file, dset;

  if (vlen)
    write_vlen_data (model, "/model_weights", "extra", VLEN_SEQUENCE, TRUE, 3, 5);
  else
    add_copied_dataset (model);
  file = H5Fopen (model, H5F_ACC_RDONLY, H5P_DEFAULT);
  dset = H5Dopen2 (file, path, H5P_DEFAULT);
  g_assert_cmpint (dset, >=, 0);
  offset = H5Dget_offset (dset);
  stored = H5Dget_storage_size (dset);
  H5Dclose (dset);
  g_assert_cmpint (H5Fclose (file), >=, 0);

  /* the layout message: version 3, contiguous, the address, the size */
  for (int b = 0; b < 8; b++)
    {
      layout[2 + b] = (guint8) (offset >> (8 * b));
      layout[10 + b] = (guint8) (stored >> (8 * b));
    }
  g_assert_true (g_file_get_contents (model, &bytes, &size, NULL));
  for (at = bytes; at + sizeof layout <= bytes + size && memcmp (at, layout, sizeof layout) != 0; at++)
    ;
  g_assert_true (at + sizeof layout <= bytes + size);
  at[17] = (char) 0xff;
  g_assert_true (g_file_set_contents (model, bytes, (gssize) size, NULL));

  assert_refused (export, ADDRESS_SPACE, "stored bytes in a file of");
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
}

/* Small variable-length data of each kind is still copied as it was:
 * the bound counts only what comes from the file. */
static void
test_vlen_data_copied (void)
{
  g_autofree char *config = small_config ("4, 4, 1", "conv", SOUND_CONV, "", SOUND_POOL, SOUND_DENSE);
  g_autofree char *model = write_small_model ("vlen-small.h5", config, "conv", 8, NULL);
  g_autofree char *out = tmp_path ("vlen-small-out.h5");
  g_autofree char *listing = NULL;
  const char *export[] = { "export", model, out, NULL };
  const char *names[] = { "sequence", "nested", "compound", "compound-string" };
  hid_t file;

  add_copied_dataset (model);
  for (VlenKind kind = VLEN_SEQUENCE; kind <= VLEN_COMPOUND_STRING; kind++)
    {
      write_vlen_data (model, "/model_weights", names[kind], kind, TRUE, 3, 5);
      write_vlen_data (model, "/model_weights/counts", names[kind], kind, FALSE, 3, 5);
    }
  listing = assert_works (export, ADDRESS_SPACE);

  file = H5Fopen (out, H5F_ACC_RDONLY, H5P_DEFAULT);
  g_assert_cmpint (file, >=, 0);
  for (VlenKind kind = VLEN_SEQUENCE; kind <= VLEN_COMPOUND_STRING; kind++)
    for (int as_attribute = 0; as_attribute < 2; as_attribute++)
      {
        g_autofree char *path = g_strconcat ("/model_weights/", names[kind], NULL);
        hid_t obj = as_attribute ? H5Aopen_by_name (file, "/model_weights/counts", names[kind], H5P_DEFAULT, H5P_DEFAULT)
                                 : H5Dopen2 (file, path, H5P_DEFAULT);
        hid_t ftype = as_attribute ? H5Aget_type (obj) : H5Dget_type (obj);
        hid_t space = as_attribute ? H5Aget_space (obj) : H5Dget_space (obj);
        hid_t mtype = H5Tget_native_type (ftype, H5T_DIR_ASCEND);
        guint8 buffer[3 * sizeof (VlenMember)];
        const hvl_t *first;

        g_assert_cmpint (obj, >=, 0);
        g_assert_cmpint (as_attribute ? H5Aread (obj, mtype, buffer)
                                      : H5Dread (obj, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer), >=, 0);
        switch (kind)
          {
          case VLEN_SEQUENCE:
            g_assert_cmpuint (((hvl_t *) buffer)[0].len, ==, 5);
            g_assert_cmpuint (((hvl_t *) buffer)[2].len, ==, 2);
            g_assert_cmpfloat (((double *) ((hvl_t *) buffer)[2].p)[1], ==, 2.0);
            break;
          case VLEN_NESTED:
            g_assert_cmpuint (((hvl_t *) buffer)[0].len, ==, 3);
            first = ((hvl_t *) buffer)[0].p;
            g_assert_cmpuint (first[0].len, ==, 5);
            g_assert_cmpuint (first[1].len, ==, 2);
            g_assert_cmpfloat (((double *) first[1].p)[0], ==, 1.0);
            break;
          case VLEN_COMPOUND:
            g_assert_cmpint (((VlenMember *) buffer)[1].id, ==, 0x7f7f7f7f);
            g_assert_cmpuint (((VlenMember *) buffer)[1].v.len, ==, 2);
            g_assert_cmpfloat (((double *) ((VlenMember *) buffer)[1].v.p)[1], ==, 2.0);
            break;
          case VLEN_COMPOUND_STRING:
          default:
            g_assert_cmpstr (((VlenStringMember *) buffer)[0].s, ==, "aaaaa");
            g_assert_cmpstr (((VlenStringMember *) buffer)[2].s, ==, "xx");
            break;
          }
        H5Dvlen_reclaim (mtype, space, H5P_DEFAULT, buffer);
        H5Tclose (mtype);
        H5Sclose (space);
        H5Tclose (ftype);
        if (as_attribute)
          H5Aclose (obj);
        else
          H5Dclose (obj);
      }
  g_assert_cmpint (H5Fclose (file), >=, 0);
}

/* A Dense kernel stored as a scalar (rank 0): the refusal names its rank
 * rather than an empty shape ("is , the architecture needs 8x3"). */
static void
test_scalar_kernel (void)
{
  g_autofree char *config = small_config ("4, 4, 1", "conv", SOUND_CONV, "", SOUND_POOL, SOUND_DENSE);
  g_autofree char *model = write_small_model ("scalar-kernel.h5", config, "conv", 8, NULL);
  g_autofree char *data = write_sound_data ("scalar-kernel-data.h5");
  const char *args[] = { "eval", model, "--data", data, "--calib", "10", NULL };
  const float one = 1.0f;
  hid_t file = H5Fopen (model, H5F_ACC_RDWR, H5P_DEFAULT);
  hid_t space, dset;

  g_assert_cmpint (file, >=, 0);
  g_assert_cmpint (H5Ldelete (file, "/model_weights/dense/dense/kernel:0", H5P_DEFAULT), >=, 0);
  space = H5Screate (H5S_SCALAR);
  dset = H5Dcreate2 (file, "/model_weights/dense/dense/kernel:0", H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT,
                     H5P_DEFAULT);
  g_assert_cmpint (H5Dwrite (dset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, &one), >=, 0);
  H5Dclose (dset);
  H5Sclose (space);
  g_assert_cmpint (H5Fclose (file), >=, 0);

  assert_refused (args, 0, "weight “kernel” of layer “dense” is of rank 0 (no dimensions), the architecture needs 8x3");
}

/* Replaces @dataset of the file at @path with a virtual dataset of
 * @rank x @dims float32 mapping the whole of /values in @source, with
 * an unlimited first dimension when @unlimited (then H5Dget_space()
 * itself opens the source to size it). */
static void
make_virtual (const char    *path,
              const char    *dataset,
              int            rank,
              const hsize_t *dims,
              gboolean       unlimited,
              const char    *source)
{
  hsize_t max[4];
  hid_t file = H5Fopen (path, H5F_ACC_RDWR, H5P_DEFAULT);
  hid_t space, src_space, dcpl, dset;

  g_assert_cmpint (file, >=, 0);
  for (int d = 0; d < rank; d++)
    max[d] = unlimited && d == 0 ? H5S_UNLIMITED : dims[d];
  if (H5Lexists (file, dataset, H5P_DEFAULT) > 0)
    g_assert_cmpint (H5Ldelete (file, dataset, H5P_DEFAULT), >=, 0);
  space = H5Screate_simple (rank, dims, max);
  src_space = H5Screate_simple (rank, dims, max);
  dcpl = H5Pcreate (H5P_DATASET_CREATE);
  if (unlimited)
    {
      hsize_t start[4] = { 0 }, count[4], block[4];

      for (int d = 0; d < rank; d++)
        {
          count[d] = 1;
          block[d] = dims[d];
        }
      count[0] = H5S_UNLIMITED;
      block[0] = 1;
      g_assert_cmpint (H5Sselect_hyperslab (space, H5S_SELECT_SET, start, block, count, block), >=, 0);
      g_assert_cmpint (H5Sselect_hyperslab (src_space, H5S_SELECT_SET, start, block, count, block), >=, 0);
    }
  g_assert_cmpint (H5Pset_virtual (dcpl, space, source, "/values", src_space), >=, 0);
  dset = H5Dcreate2 (file, dataset, H5T_IEEE_F32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  g_assert_cmpint (dset, >=, 0);
  H5Dclose (dset);
  H5Pclose (dcpl);
  H5Sclose (src_space);
  H5Sclose (space);
  g_assert_cmpint (H5Fclose (file), >=, 0);
}

/* A virtual dataset reads its values from other files (a FIFO blocks the
 * read forever, a missing file reads as fill values, one naming itself
 * recursed until libhdf5 crashed): the reader leaves it out without
 * asking for its shape, the image-set reader and export refuse it, and
 * nothing opens the FIFO. */
static void
test_virtual_dataset (gconstpointer data)
{
  gboolean unlimited = GPOINTER_TO_INT (data);
  g_autofree char *fifo = tmp_path (unlimited ? "virtual-source-u" : "virtual-source");
  g_autofree char *config = small_config ("4, 4, 1", "conv", SOUND_CONV, "", SOUND_POOL, SOUND_DENSE);
  g_autofree char *model = write_small_model ("virtual.h5", config, "conv", 8, NULL);
  g_autofree char *sound_model = write_small_model ("virtual-sound.h5", config, "conv", 8, NULL);
  g_autofree char *sound_data = write_sound_data ("virtual-sound-data.h5");
  g_autofree char *x_virtual = write_sound_data ("virtual-x.h5");
  g_autofree char *y_virtual = write_sound_data ("virtual-y.h5");
  g_autofree char *out = tmp_path ("virtual-out.h5");
  g_autofree char *listing = NULL;
  const char *layers[] = { "layers", model, "--check-data", NULL };
  const char *stats[] = { "stats", model, "--tensor", "/model_weights/conv/conv/kernel:0", NULL };
  const char *eval[] = { "eval", model, "--data", sound_data, "--calib", "10", NULL };
  const char *export[] = { "export", model, out, NULL };
  const char *eval_x[] = { "eval", sound_model, "--data", x_virtual, "--calib", "10", NULL };
  const char *eval_y[] = { "eval", sound_model, "--data", y_virtual, "--calib", "10", NULL };

  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  make_virtual (model, "/model_weights/conv/conv/kernel:0", 4, (const hsize_t[]) { 3, 3, 1, 2 }, unlimited, fifo);
  make_virtual (x_virtual, "/x", 4, (const hsize_t[]) { 30, 4, 4, 1 }, unlimited, fifo);
  make_virtual (y_virtual, "/y", 1, (const hsize_t[]) { 30 }, unlimited, fifo);

  listing = assert_works (layers, 0);
  g_assert_nonnull (strstr (listing, "/model_weights/dense/dense/kernel:0"));
  /* named once: in the warning, not as a tensor */
  g_assert_nonnull (strstr (listing, "/model_weights/conv/conv/kernel:0 is a virtual dataset"));
  g_assert_null (strstr (strstr (listing, "/model_weights/conv/conv/kernel:0") + 1, "/model_weights/conv/conv/kernel:0"));
  assert_refused (stats, 0, "no tensor");
  assert_refused (eval, 0, "has no “kernel” weight");
  assert_refused (export, 0, "is a virtual dataset");
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
  assert_refused (eval_x, 0, "“x” is a virtual dataset");
  assert_refused (eval_y, 0, "“y” is a virtual dataset");
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  tmp_dir = g_dir_make_tmp ("qs-hostile-engine-XXXXXX", &error);
  g_assert_no_error (error);

  g_test_add_func ("/hostile/baseline", test_baseline_works);
  g_test_add_func ("/hostile/shared-layer/works", test_shared_layer_works);
  for (gsize i = 0; i < G_N_ELEMENTS (bad_shared_calls); i++)
    {
      g_autofree char *path = g_strdup_printf ("/hostile/shared-layer/%s", bad_shared_calls[i].name);

      g_test_add_data_func (path, &bad_shared_calls[i], test_bad_shared_call);
    }

  g_test_add_data_func ("/hostile/shapes/data-dim-2^32+1", "--data", test_data_dimension_truncated);
  g_test_add_data_func ("/hostile/shapes/calib-dim-2^32+1", "--calib-data", test_data_dimension_truncated);
  g_test_add_func ("/hostile/shapes/stride-near-2^31", test_stride_near_2_31_runs);
  g_test_add_func ("/hostile/shapes/window-extent", test_window_extent_refused);
  g_test_add_func ("/hostile/shapes/input-map", test_input_map_refused);
  g_test_add_func ("/hostile/shapes/scalar-kernel", test_scalar_kernel);
  g_test_add_func ("/hostile/shapes/engine-geometry", test_engine_window_geometry);

  for (gsize i = 0; i < G_N_ELEMENTS (bad_settings); i++)
    {
      g_autofree char *name = g_strdup_printf ("/hostile/values/%s", bad_settings[i].name);
      g_test_add_data_func (name, &bad_settings[i], test_bad_setting);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (bad_norms); i++)
    {
      g_autofree char *name = g_strdup_printf ("/hostile/values/batch-norm-%s", bad_norms[i].name);
      g_test_add_data_func (name, &bad_norms[i], test_bad_batch_norm);
    }
  g_test_add_func ("/hostile/values/batch-norm-sound", test_batch_norm_sound_works);
  g_test_add_func ("/hostile/values/engine-fold", test_engine_fold_refuses_non_finite);
  g_test_add_func ("/hostile/values/labels", test_labels_out_of_range);
  g_test_add_func ("/hostile/values/output-not-classes", test_output_not_classes);
  g_test_add_data_func ("/hostile/values/labels-2^32+1", "2^32+1", test_labels_wide);
  g_test_add_data_func ("/hostile/values/labels-int64-min", "int64-min", test_labels_wide);
  g_test_add_data_func ("/hostile/values/labels-uint64-max", "uint64-max", test_labels_wide);
  g_test_add_data_func ("/hostile/values/pixel-nan", "nan", test_non_finite_pixels);
  g_test_add_data_func ("/hostile/values/pixel-inf", "inf", test_non_finite_pixels);
  g_test_add_data_func ("/hostile/values/scale-inf", "scale", test_non_finite_pixels);
  g_test_add_data_func ("/hostile/values/constant-1e17-minmax", "minmax", test_constant_1e17);
  g_test_add_data_func ("/hostile/values/constant-1e17-mse", "mse", test_constant_1e17);
  g_test_add_data_func ("/hostile/values/constant-1e17-kl", "kl", test_constant_1e17);
  g_test_add_data_func ("/hostile/values/constant-1e17-percentile", "percentile:99", test_constant_1e17);

  g_test_add_data_func ("/hostile/memory/unwritten-tensor", GINT_TO_POINTER (WEIGHT_UNWRITTEN), test_bomb_tensor);
  g_test_add_data_func ("/hostile/memory/deflate-bomb", GINT_TO_POINTER (WEIGHT_BOMB), test_bomb_tensor);
  g_test_add_func ("/hostile/memory/image-set", test_bomb_image_set);
  g_test_add_func ("/hostile/cpu/folder-decoded-on-demand", test_folder_decoded_on_demand);
  g_test_add_data_func ("/hostile/memory/short-chunk-x", "x", test_short_chunk);
  g_test_add_data_func ("/hostile/memory/short-chunk-weights", "weights", test_short_chunk);
  g_test_add_data_func ("/hostile/memory/short-chunk-many-x", "x", test_short_chunk_many);
  g_test_add_data_func ("/hostile/memory/short-chunk-many-weights", "weights", test_short_chunk_many);
  g_test_add_data_func ("/hostile/memory/oversized-chunk-x", "x", test_bomb_oversized_chunk);
  g_test_add_data_func ("/hostile/memory/oversized-chunk-y", "y", test_bomb_oversized_chunk);
  g_test_add_data_func ("/hostile/memory/oversized-chunk-weights", "weights", test_bomb_oversized_chunk);
  g_test_add_func ("/hostile/memory/idx-gzip", test_bomb_idx);
  g_test_add_func ("/hostile/memory/feature-maps", test_feature_map_bomb);
  g_test_add_func ("/hostile/memory/dataset-type-width", test_dataset_type_width);
  g_test_add_func ("/hostile/memory/config-attribute", test_config_attribute_too_large);
  g_test_add_func ("/hostile/memory/shared-vlen-strings", test_shared_vlen_strings);
  for (gsize i = 0; i < G_N_ELEMENTS (vlen_cases); i++)
    {
      static const char *const kinds[] = { "sequence", "nested", "compound", "compound-string", "stated-2g" };
      const VlenCase *c = &vlen_cases[i];
      g_autofree char *name = g_strdup_printf ("/hostile/memory/vlen-%s/%s-%s", c->dataset ? "dataset" : "attribute",
                                               kinds[c->kind], g_str_equal (c->obj, "/model_weights") ? "group" : "copied");

      g_test_add_data_func (name, c, test_shared_vlen_data);
    }
  g_test_add_func ("/hostile/memory/vlen-small-copied", test_vlen_data_copied);
  g_test_add_func ("/hostile/memory/vlen-understated", test_vlen_understated);
  g_test_add_data_func ("/hostile/memory/copied-storage-size/int", GINT_TO_POINTER (FALSE), test_copied_storage_size);
  g_test_add_data_func ("/hostile/memory/copied-storage-size/vlen", GINT_TO_POINTER (TRUE), test_copied_storage_size);
  g_test_add_func ("/hostile/paths/external-storage", test_external_storage);
  g_test_add_data_func ("/hostile/paths/virtual-dataset", GINT_TO_POINTER (FALSE), test_virtual_dataset);
  g_test_add_data_func ("/hostile/paths/virtual-dataset-unlimited", GINT_TO_POINTER (TRUE), test_virtual_dataset);
  g_test_add_func ("/hostile/cpu/per-channel-kl", test_per_channel_kl_cost);

  g_test_add_func ("/hostile/terminal/text", test_names_escaped_in_text);
  g_test_add_func ("/hostile/terminal/json", test_names_valid_in_json);
  g_test_add_func ("/hostile/terminal/layer-name", test_layer_name_escaped);

  status = g_test_run ();
  qs_test_remove_tree (tmp_dir);
  g_free (tmp_dir);
  return status;
}
