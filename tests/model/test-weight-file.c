/* test-weight-file.c: QsWeightFile against HDF5 fixtures written at test time.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <hdf5.h>
#include <unistd.h>

#include <gio/gio.h>

#include "model/qs-error.h"
#include "model/qs-tensor-report.h"
#include "model/qs-weight-file.h"
#include "qs-test-hdf5.h"

static char *tmp_dir;

/* ---- fixture helpers ---------------------------------------------------- */

static char *
fixture_path (const char *name)
{
  return g_build_filename (tmp_dir, name, NULL);
}

static hid_t
fixture_create (const char *name)
{
  g_autofree char *path = fixture_path (name);
  hid_t file = H5Fcreate (path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);

  g_assert_cmpint (file, >=, 0);
  return file;
}

static void
fixture_close (hid_t file)
{
  g_assert_cmpint (H5Fclose (file), >=, 0);
}

/* Keras writes the weight_names of a layer without weights as an empty
 * float64 array. */
static void
write_empty_attr (hid_t       file,
                  const char *obj_path,
                  const char *name)
{
  hsize_t dims[1] = { 0 };
  hid_t space = H5Screate_simple (1, dims, NULL);
  hid_t attr = H5Acreate_by_name (file, obj_path, name, H5T_IEEE_F64LE, space,
                                  H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);

  g_assert_cmpint (attr, >=, 0);
  H5Aclose (attr);
  H5Sclose (space);
}

/* The IEEE half type, built the way h5py builds it. */
static hid_t
float16_type (H5T_order_t order)
{
  hid_t type = H5Tcopy (H5T_IEEE_F32LE);

  H5Tset_fields (type, 15, 10, 5, 0, 10);
  H5Tset_size (type, 2);
  H5Tset_ebias (type, 15);
  H5Tset_order (type, order);
  return type;
}

static hid_t
bfloat16_type (void)
{
  hid_t type = H5Tcopy (H5T_IEEE_F32LE);

  H5Tset_fields (type, 15, 7, 8, 0, 7);
  H5Tset_size (type, 2);
  H5Tset_ebias (type, 127);
  return type;
}

static QsWeightFile *
open_fixture (const char *name)
{
  g_autofree char *path = fixture_path (name);
  g_autoptr(GError) error = NULL;
  QsWeightFile *file = qs_weight_file_open (path, &error);

  g_assert_no_error (error);
  g_assert_nonnull (file);
  return file;
}

static const QsTensorInfo *
tensor_at (QsWeightFile *file,
           guint         i)
{
  GPtrArray *tensors = qs_weight_file_get_tensors (file);

  g_assert_cmpuint (i, <, tensors->len);
  return g_ptr_array_index (tensors, i);
}

static void
assert_tensor (const QsTensorInfo *info,
               const char         *path,
               const char         *layer,
               QsTensorRole        role,
               int                 channel_axis)
{
  g_assert_nonnull (info);
  g_assert_cmpstr (info->path, ==, path);
  g_assert_cmpstr (info->layer, ==, layer);
  g_assert_cmpstr (qs_tensor_role_to_string (info->role), ==, qs_tensor_role_to_string (role));
  g_assert_cmpint (info->channel_axis, ==, channel_axis);
}

static void
assert_shape (const QsTensorInfo *info,
              int                 rank,
              const int64_t      *shape,
              uint64_t            count)
{
  g_assert_cmpint (info->rank, ==, rank);
  for (int i = 0; i < rank; i++)
    g_assert_cmpint (info->shape[i], ==, shape[i]);
  g_assert_cmpuint (info->count, ==, count);
}

static float *
read_ok (QsWeightFile *file,
         const char   *path)
{
  g_autoptr(GError) error = NULL;
  const QsTensorInfo *info = qs_weight_file_lookup (file, path);
  float *values;

  g_assert_nonnull (info);
  values = qs_weight_file_read_tensor (file, info, &error);
  g_assert_no_error (error);
  g_assert_nonnull (values);
  return values;
}

static void
ramp (float *values,
      int    n,
      float  start,
      float  step)
{
  for (int i = 0; i < n; i++)
    values[i] = start + step * i;
}

/* ---- Keras 2 full model ------------------------------------------------- */

static const char model_config[] =
  "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"sequential\", \"layers\": ["
  "{\"class_name\": \"Conv2D\", \"config\": {\"name\": \"conv2d\", \"filters\": 4}},"
  "{\"class_name\": \"Flatten\", \"config\": {\"name\": \"flatten\"}},"
  "{\"class_name\": \"Dense\", \"config\": {\"name\": \"dense_1\", \"units\": 3}},"
  "{\"class_name\": \"Dense\", \"config\": {\"name\": \"dense\", \"units\": 2}},"
  "{\"class_name\": \"Conv2DTranspose\", \"config\": {\"name\": \"up\", \"filters\": 8}}]}}";

static void
make_keras_model (const char *name,
                  gboolean    variable)
{
  hid_t file = fixture_create (name);
  const char *config[] = { model_config };
  const char *version[] = { "2.11.0" };
  const char *backend[] = { "tensorflow" };
  /* Not name order: dense_1 before dense, and the model order wins. */
  const char *layers[] = { "conv2d", "flatten", "dense_1", "dense", "up" };
  const char *conv_weights[] = { "conv2d/kernel:0", "conv2d/bias:0" };
  const char *dense1_weights[] = { "dense_1/kernel:0", "dense_1/bias:0" };
  const char *dense_weights[] = { "dense/kernel:0", "dense/bias:0" };
  const char *up_weights[] = { "up/kernel:0" };
  hsize_t conv_dims[4] = { 3, 3, 1, 4 }, bias4[1] = { 4 };
  hsize_t dense1_dims[2] = { 36, 3 }, bias3[1] = { 3 };
  hsize_t dense_dims[2] = { 3, 2 }, bias2[1] = { 2 };
  hsize_t up_dims[4] = { 3, 3, 8, 2 };
  float values[3 * 3 * 8 * 36];
  int64_t iter = 7;

  qs_test_write_string_attr (file, "/", "model_config", config, -1, variable);
  qs_test_write_string_attr (file, "/", "keras_version", version, -1, variable);
  qs_test_write_string_attr (file, "/", "backend", backend, -1, variable);
  qs_test_make_group (file, "/model_weights");
  qs_test_write_string_attr (file, "/model_weights", "layer_names", layers, G_N_ELEMENTS (layers), variable);

  qs_test_make_group (file, "/model_weights/conv2d");
  qs_test_write_string_attr (file, "/model_weights/conv2d", "weight_names", conv_weights, 2, variable);
  ramp (values, 36, -1.0f, 0.0625f);
  qs_test_write_floats (file, "/model_weights/conv2d/conv2d/kernel:0", 4, conv_dims, values);
  ramp (values, 4, 0.5f, 0.25f);
  qs_test_write_floats (file, "/model_weights/conv2d/conv2d/bias:0", 1, bias4, values);

  qs_test_make_group (file, "/model_weights/flatten");
  write_empty_attr (file, "/model_weights/flatten", "weight_names");

  qs_test_make_group (file, "/model_weights/dense_1");
  qs_test_write_string_attr (file, "/model_weights/dense_1", "weight_names", dense1_weights, 2, variable);
  ramp (values, 108, 0.0f, 0.01f);
  qs_test_write_floats (file, "/model_weights/dense_1/dense_1/kernel:0", 2, dense1_dims, values);
  qs_test_write_floats (file, "/model_weights/dense_1/dense_1/bias:0", 1, bias3, values);

  qs_test_make_group (file, "/model_weights/dense");
  qs_test_write_string_attr (file, "/model_weights/dense", "weight_names", dense_weights, 2, variable);
  qs_test_write_floats (file, "/model_weights/dense/dense/kernel:0", 2, dense_dims, values);
  qs_test_write_floats (file, "/model_weights/dense/dense/bias:0", 1, bias2, values);

  qs_test_make_group (file, "/model_weights/up");
  qs_test_write_string_attr (file, "/model_weights/up", "weight_names", up_weights, 1, variable);
  qs_test_write_floats (file, "/model_weights/up/up/kernel:0", 4, up_dims, values);

  qs_test_write_dataset (file, "/optimizer_weights/Adam/iter:0", H5T_STD_I64LE, H5T_NATIVE_INT64,
                         0, NULL, &iter);
  fixture_close (file);
}

static QsWeightFile *open_image_of (const char  *path,
                                    gsize        length,
                                    GError     **error);

static void
test_keras_model (gconstpointer data)
{
  gboolean variable = GPOINTER_TO_INT (data);
  const char *name = variable ? "keras-model-vlen.h5" : "keras-model-fixed.h5";
  g_autofree char *path = fixture_path (name);
  const int64_t conv_shape[4] = { 3, 3, 1, 4 };
  QsWeightFile *file;
  const QsTensorInfo *info;
  g_autofree float *kernel = NULL;

  make_keras_model (name, variable);
  file = open_fixture (name);

  g_assert_cmpstr (qs_weight_file_get_filename (file), ==, path);
  g_assert_cmpint (qs_weight_file_get_layout (file), ==, QS_FILE_LAYOUT_KERAS_MODEL);
  g_assert_cmpstr (qs_weight_file_get_model_config (file), ==, model_config);
  g_assert_cmpuint (qs_weight_file_get_tensors (file)->len, ==, 8);

  info = tensor_at (file, 0);
  assert_tensor (info, "/model_weights/conv2d/conv2d/kernel:0", "conv2d", QS_TENSOR_ROLE_KERNEL, 3);
  assert_shape (info, 4, conv_shape, 36);
  g_assert_cmpstr (info->dtype, ==, "float32");
  g_assert_false (info->big_endian);
  g_assert_true (info->quantizable);

  assert_tensor (tensor_at (file, 1), "/model_weights/conv2d/conv2d/bias:0", "conv2d", QS_TENSOR_ROLE_BIAS, -1);
  assert_tensor (tensor_at (file, 2), "/model_weights/dense_1/dense_1/kernel:0", "dense_1", QS_TENSOR_ROLE_KERNEL, 1);
  assert_tensor (tensor_at (file, 3), "/model_weights/dense_1/dense_1/bias:0", "dense_1", QS_TENSOR_ROLE_BIAS, -1);
  assert_tensor (tensor_at (file, 4), "/model_weights/dense/dense/kernel:0", "dense", QS_TENSOR_ROLE_KERNEL, 1);
  assert_tensor (tensor_at (file, 5), "/model_weights/dense/dense/bias:0", "dense", QS_TENSOR_ROLE_BIAS, -1);
  /* A renamed Conv2DTranspose: only model_config tells its class. */
  assert_tensor (tensor_at (file, 6), "/model_weights/up/up/kernel:0", "up", QS_TENSOR_ROLE_KERNEL, 2);

  info = tensor_at (file, 7);
  assert_tensor (info, "/optimizer_weights/Adam/iter:0", "Adam", QS_TENSOR_ROLE_OTHER, -1);
  g_assert_cmpstr (info->dtype, ==, "int64");
  g_assert_cmpint (info->rank, ==, 0);
  g_assert_false (info->quantizable);

  kernel = read_ok (file, "model_weights/conv2d/conv2d/kernel:0");
  for (int i = 0; i < 36; i++)
    g_assert_cmpfloat (kernel[i], ==, -1.0f + 0.0625f * i);

  g_assert_finalize_object (file);

  /* As an image in memory, whose heap objects (the variable-length
   * strings) are checked from the image: sound ones pass. */
  {
    g_autoptr(GError) error = NULL;

    file = open_image_of (path, G_MAXSIZE, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (qs_weight_file_get_model_config (file), ==, model_config);
    g_assert_cmpuint (qs_weight_file_get_tensors (file)->len, ==, 8);
    assert_tensor (tensor_at (file, 6), "/model_weights/up/up/kernel:0", "up", QS_TENSOR_ROLE_KERNEL, 2);
    g_assert_finalize_object (file);
  }
}

/* ---- Keras save_weights ------------------------------------------------- */

static void
test_keras_weights (void)
{
  hid_t h5 = fixture_create ("keras-weights.h5");
  const char *names0[] = { "batch_normalization", "depthwise_conv2d" };
  const char *names1[] = { "conv2d_transpose", "dense" };
  const char *bn_weights[] = { "batch_normalization/gamma:0", "batch_normalization/beta:0",
                               "batch_normalization/moving_mean:0",
                               "batch_normalization/moving_variance:0" };
  const char *dw_weights[] = { "depthwise_conv2d/depthwise_kernel:0", "depthwise_conv2d/bias:0" };
  const char *tr_weights[] = { "conv2d_transpose/kernel:0" };
  /* Keras 3 legacy names carry no ":0". */
  const char *dense_weights[] = { "dense/kernel", "dense/bias" };
  hsize_t vec[1] = { 4 }, dw_dims[4] = { 3, 3, 4, 1 }, tr_dims[4] = { 3, 3, 2, 4 };
  hsize_t dense_dims[2] = { 4, 2 }, bias2[1] = { 2 };
  float values[72];
  QsWeightFile *file;
  const QsTensorInfo *info;

  ramp (values, 72, -3.0f, 0.125f);
  /* layer_names split as Keras does past 64 KiB. */
  qs_test_write_string_attr (h5, "/", "layer_names0", names0, 2, FALSE);
  qs_test_write_string_attr (h5, "/", "layer_names1", names1, 2, FALSE);
  qs_test_make_group (h5, "/batch_normalization");
  qs_test_write_string_attr (h5, "/batch_normalization", "weight_names", bn_weights, 4, TRUE);
  for (int i = 0; i < 4; i++)
    {
      g_autofree char *path = g_strconcat ("/batch_normalization/", bn_weights[i], NULL);

      qs_test_write_floats (h5, path, 1, vec, values);
    }
  qs_test_make_group (h5, "/depthwise_conv2d");
  qs_test_write_string_attr (h5, "/depthwise_conv2d", "weight_names", dw_weights, 2, FALSE);
  qs_test_write_floats (h5, "/depthwise_conv2d/depthwise_conv2d/depthwise_kernel:0", 4, dw_dims, values);
  qs_test_write_floats (h5, "/depthwise_conv2d/depthwise_conv2d/bias:0", 1, vec, values);
  qs_test_make_group (h5, "/conv2d_transpose");
  qs_test_write_string_attr (h5, "/conv2d_transpose", "weight_names", tr_weights, 1, FALSE);
  qs_test_write_floats (h5, "/conv2d_transpose/conv2d_transpose/kernel:0", 4, tr_dims, values);
  qs_test_make_group (h5, "/dense");
  qs_test_write_string_attr (h5, "/dense", "weight_names", dense_weights, 2, FALSE);
  qs_test_write_floats (h5, "/dense/dense/kernel", 2, dense_dims, values);
  qs_test_write_floats (h5, "/dense/dense/bias", 1, bias2, values);
  fixture_close (h5);

  file = open_fixture ("keras-weights.h5");
  g_assert_cmpint (qs_weight_file_get_layout (file), ==, QS_FILE_LAYOUT_KERAS_WEIGHTS);
  g_assert_null (qs_weight_file_get_model_config (file));
  g_assert_cmpuint (qs_weight_file_get_tensors (file)->len, ==, 9);

  assert_tensor (tensor_at (file, 0), "/batch_normalization/batch_normalization/gamma:0",
                 "batch_normalization", QS_TENSOR_ROLE_BATCHNORM, -1);
  assert_tensor (tensor_at (file, 1), "/batch_normalization/batch_normalization/beta:0",
                 "batch_normalization", QS_TENSOR_ROLE_BATCHNORM, -1);
  assert_tensor (tensor_at (file, 2), "/batch_normalization/batch_normalization/moving_mean:0",
                 "batch_normalization", QS_TENSOR_ROLE_BATCHNORM, -1);
  assert_tensor (tensor_at (file, 3), "/batch_normalization/batch_normalization/moving_variance:0",
                 "batch_normalization", QS_TENSOR_ROLE_BATCHNORM, -1);
  info = tensor_at (file, 4);
  assert_tensor (info, "/depthwise_conv2d/depthwise_conv2d/depthwise_kernel:0",
                 "depthwise_conv2d", QS_TENSOR_ROLE_DEPTHWISE_KERNEL, 2);
  g_assert_cmpstr (qs_tensor_role_to_string (info->role), ==, "depthwise_kernel");
  assert_tensor (tensor_at (file, 5), "/depthwise_conv2d/depthwise_conv2d/bias:0",
                 "depthwise_conv2d", QS_TENSOR_ROLE_BIAS, -1);
  assert_tensor (tensor_at (file, 6), "/conv2d_transpose/conv2d_transpose/kernel:0",
                 "conv2d_transpose", QS_TENSOR_ROLE_KERNEL, 2);
  assert_tensor (tensor_at (file, 7), "/dense/dense/kernel", "dense", QS_TENSOR_ROLE_KERNEL, 1);
  assert_tensor (tensor_at (file, 8), "/dense/dense/bias", "dense", QS_TENSOR_ROLE_BIAS, -1);

  g_assert_finalize_object (file);
}

/* ---- Keras 3 .weights.h5 ------------------------------------------------ */

static void
test_keras3_weights (void)
{
  hid_t h5 = fixture_create ("keras3.weights.h5");
  hsize_t conv_dims[4] = { 3, 3, 1, 2 }, vec[1] = { 2 }, dense_dims[2] = { 2, 3 }, bias3[1] = { 3 };
  float values[18];
  int64_t iterations = 3;
  QsWeightFile *file;
  g_autofree float *kernel = NULL;

  ramp (values, 18, 1.0f, -0.5f);
  qs_test_write_floats (h5, "/layers/conv2d/vars/0", 4, conv_dims, values);
  qs_test_write_floats (h5, "/layers/conv2d/vars/1", 1, vec, values);
  qs_test_write_floats (h5, "/layers/conv2d_10/vars/0", 1, vec, values);
  qs_test_write_floats (h5, "/layers/conv2d_2/vars/0", 1, vec, values);
  for (int i = 0; i < 4; i++)
    {
      g_autofree char *path = g_strdup_printf ("/layers/batch_normalization/vars/%d", i);

      qs_test_write_floats (h5, path, 1, vec, values);
    }
  qs_test_write_floats (h5, "/layers/dense/vars/0", 2, dense_dims, values);
  qs_test_write_floats (h5, "/layers/dense/vars/1", 1, bias3, values);
  qs_test_make_group (h5, "/vars");
  qs_test_write_dataset (h5, "/optimizer/vars/0", H5T_STD_I64LE, H5T_NATIVE_INT64, 0, NULL, &iterations);
  fixture_close (h5);

  file = open_fixture ("keras3.weights.h5");
  g_assert_cmpint (qs_weight_file_get_layout (file), ==, QS_FILE_LAYOUT_KERAS3_WEIGHTS);
  g_assert_cmpuint (qs_weight_file_get_tensors (file)->len, ==, 11);

  for (guint i = 0; i < 4; i++)
    {
      g_autofree char *path = g_strdup_printf ("/layers/batch_normalization/vars/%u", i);

      assert_tensor (tensor_at (file, i), path, "batch_normalization", QS_TENSOR_ROLE_BATCHNORM, -1);
    }
  assert_tensor (tensor_at (file, 4), "/layers/conv2d/vars/0", "conv2d", QS_TENSOR_ROLE_KERNEL, 3);
  assert_tensor (tensor_at (file, 5), "/layers/conv2d/vars/1", "conv2d", QS_TENSOR_ROLE_BIAS, -1);
  /* Numbers sort by value: conv2d_2 before conv2d_10. */
  assert_tensor (tensor_at (file, 6), "/layers/conv2d_2/vars/0", "conv2d_2", QS_TENSOR_ROLE_KERNEL, -1);
  assert_tensor (tensor_at (file, 7), "/layers/conv2d_10/vars/0", "conv2d_10", QS_TENSOR_ROLE_KERNEL, -1);
  assert_tensor (tensor_at (file, 8), "/layers/dense/vars/0", "dense", QS_TENSOR_ROLE_KERNEL, 1);
  assert_tensor (tensor_at (file, 9), "/layers/dense/vars/1", "dense", QS_TENSOR_ROLE_BIAS, -1);
  assert_tensor (tensor_at (file, 10), "/optimizer/vars/0", "vars", QS_TENSOR_ROLE_OTHER, -1);
  g_assert_false (tensor_at (file, 10)->quantizable);

  kernel = read_ok (file, "/layers/conv2d/vars/0");
  for (int i = 0; i < 18; i++)
    g_assert_cmpfloat (kernel[i], ==, 1.0f - 0.5f * i);

  g_assert_finalize_object (file);
}

/* ---- generic trees ------------------------------------------------------ */

static void
test_generic (void)
{
  hid_t h5 = fixture_create ("generic.h5");
  hsize_t d23[2] = { 2, 3 }, d57[2] = { 5, 7 }, conv[4] = { 4, 2, 3, 3 }, d4[1] = { 4 }, d1[1] = { 1 };
  const int64_t conv_shape[4] = { 4, 2, 3, 3 };
  double table[35];
  float values[72];
  QsWeightFile *file;
  const QsTensorInfo *info;
  g_autofree float *read = NULL;

  for (int i = 0; i < 35; i++)
    table[i] = i * 0.5;
  ramp (values, 72, 0.0f, 1.0f);
  qs_test_write_floats (h5, "/a/b/c/data", 2, d23, values);
  qs_test_write_dataset (h5, "/a/b/table", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 2, d57, table);
  qs_test_write_floats (h5, "/a.x", 1, d1, values);
  qs_test_write_floats (h5, "/enc/conv1.weight", 4, conv, values);
  qs_test_write_floats (h5, "/enc/conv1.bias", 1, d4, values);
  qs_test_write_floats (h5, "/z", 1, d4, values);
  fixture_close (h5);

  file = open_fixture ("generic.h5");
  g_assert_cmpint (qs_weight_file_get_layout (file), ==, QS_FILE_LAYOUT_GENERIC);
  g_assert_null (qs_weight_file_get_model_config (file));
  g_assert_cmpuint (qs_weight_file_get_tensors (file)->len, ==, 6);

  /* Tree order: a group's children come before "/a.x". */
  assert_tensor (tensor_at (file, 0), "/a/b/c/data", "c", QS_TENSOR_ROLE_OTHER, 1);
  assert_tensor (tensor_at (file, 1), "/a/b/table", "b", QS_TENSOR_ROLE_OTHER, 1);
  /* A state_dict key at the root: the layer is the key up to its last dot. */
  assert_tensor (tensor_at (file, 2), "/a.x", "a", QS_TENSOR_ROLE_OTHER, -1);
  assert_tensor (tensor_at (file, 3), "/enc/conv1.bias", "enc", QS_TENSOR_ROLE_BIAS, -1);
  info = tensor_at (file, 4);
  /* PyTorch naming: (out, in, kh, kw), output channel first. */
  assert_tensor (info, "/enc/conv1.weight", "enc", QS_TENSOR_ROLE_KERNEL, 0);
  assert_shape (info, 4, conv_shape, 72);
  assert_tensor (tensor_at (file, 5), "/z", "/", QS_TENSOR_ROLE_OTHER, -1);
  g_assert_cmpstr (tensor_at (file, 1)->dtype, ==, "float64");

  g_assert_true (qs_weight_file_lookup (file, "a/b/table") == qs_weight_file_lookup (file, "/a/b/table"));
  g_assert_nonnull (qs_weight_file_lookup (file, "z"));
  g_assert_null (qs_weight_file_lookup (file, "/nope"));
  g_assert_null (qs_weight_file_lookup (file, "/a/b"));
  g_assert_null (qs_weight_file_lookup (file, ""));

  read = read_ok (file, "/a/b/table");
  for (int i = 0; i < 35; i++)
    g_assert_cmpfloat (read[i], ==, i * 0.5f);

  g_assert_finalize_object (file);
}

/* ---- data types --------------------------------------------------------- */

static const guint16 half_bits[] = {
  0x3E00, 0xC000, 0x7BFF, 0x0400, 0x0001, 0x8000, 0x7C00, 0xFC00, 0x3555, 0x7E00,
};

static const float half_values[] = {
  1.5f, -2.0f, 65504.0f, 0x1p-14f, 0x1p-24f, -0.0f, INFINITY, -INFINITY, 0.333251953125f, NAN,
};

static void
make_dtypes (void)
{
  hid_t h5 = fixture_create ("dtypes.h5");
  const float f32[] = { 1.5f, -2.25f, 3.0e-5f, 1.0e30f };
  const double f64[] = { 0.5, -1.25, 1024.0, 0x1p-15, 0.1 };
  const gint8 i8[] = { -128, -1, 0, 127 };
  const guint16 u16[] = { 0, 65535 };
  const guint16 bf16[] = { 0x3FC0, 0xC040 };  /* 1.5, -3.0 */
  guint16 half_be[G_N_ELEMENTS (half_bits)];
  const char *text = "not a tensor";
  const char fixed_text[2][8] = { "abc", "defgh" };
  const float scalar = 42.5f;
  hsize_t d4[1] = { 4 }, d5[1] = { 5 }, d22[2] = { 2, 2 }, d2[1] = { 2 }, d0[2] = { 0, 4 };
  hsize_t dhalf[1] = { G_N_ELEMENTS (half_bits) };
  hsize_t deep[20];
  float deep_values[6] = { 1, 2, 3, 4, 5, 6 };
  hid_t type, space, dset;

  qs_test_write_dataset (h5, "/be32", H5T_IEEE_F32BE, H5T_NATIVE_FLOAT, 1, d4, f32);
  qs_test_write_dataset (h5, "/le32", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, d4, f32);
  qs_test_write_dataset (h5, "/f64", H5T_IEEE_F64BE, H5T_NATIVE_DOUBLE, 1, d5, f64);

  type = float16_type (H5T_ORDER_LE);
  /* Written as raw bits (memory type == file type): no conversion. */
  qs_test_write_dataset (h5, "/f16", type, type, 1, dhalf, half_bits);
  H5Tclose (type);
  type = float16_type (H5T_ORDER_BE);
  for (guint i = 0; i < G_N_ELEMENTS (half_bits); i++)
    half_be[i] = GUINT16_TO_BE (half_bits[i]);
  qs_test_write_dataset (h5, "/f16be", type, type, 1, dhalf, half_be);
  H5Tclose (type);
  type = bfloat16_type ();
  qs_test_write_dataset (h5, "/bf16", type, type, 1, d2, bf16);
  H5Tclose (type);

  qs_test_write_dataset (h5, "/i8", H5T_STD_I8LE, H5T_NATIVE_INT8, 2, d22, i8);
  qs_test_write_dataset (h5, "/u16", H5T_STD_U16BE, H5T_NATIVE_UINT16, 1, d2, u16);

  type = H5Tcopy (H5T_C_S1);
  H5Tset_size (type, H5T_VARIABLE);
  qs_test_write_dataset (h5, "/text/vlen", type, type, 0, NULL, &text);
  H5Tclose (type);
  type = H5Tcopy (H5T_C_S1);
  H5Tset_size (type, 8);
  qs_test_write_dataset (h5, "/text/fixed", type, type, 1, d2, fixed_text);
  H5Tclose (type);

  type = H5Tcreate (H5T_COMPOUND, 8);
  H5Tinsert (type, "a", 0, H5T_NATIVE_FLOAT);
  H5Tinsert (type, "b", 4, H5T_NATIVE_FLOAT);
  qs_test_write_dataset (h5, "/other/compound", type, type, 1, d2, NULL);
  H5Tclose (type);
  type = H5Tenum_create (H5T_NATIVE_INT);
  {
    int zero = 0;

    H5Tenum_insert (type, "ZERO", &zero);
  }
  qs_test_write_dataset (h5, "/other/enum", type, type, 1, d2, NULL);
  H5Tclose (type);
  type = H5Tvlen_create (H5T_NATIVE_FLOAT);
  qs_test_write_dataset (h5, "/other/vlen", type, type, 1, d2, NULL);
  H5Tclose (type);
  qs_test_write_dataset (h5, "/other/reference", H5T_STD_REF_OBJ, H5T_STD_REF_OBJ, 1, d2, NULL);
  type = H5Tcreate (H5T_OPAQUE, 4);
  H5Tset_tag (type, "blob");
  qs_test_write_dataset (h5, "/other/opaque", type, type, 1, d2, NULL);
  H5Tclose (type);
  qs_test_write_dataset (h5, "/other/bitfield", H5T_STD_B8LE, H5T_NATIVE_B8, 1, d2, NULL);
  {
    hsize_t inner[1] = { 3 };

    type = H5Tarray_create2 (H5T_NATIVE_FLOAT, 1, inner);
    qs_test_write_dataset (h5, "/other/array", type, type, 1, d2, NULL);
    H5Tclose (type);
  }

  qs_test_write_dataset (h5, "/shape/empty", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, d0, NULL);
  qs_test_write_dataset (h5, "/shape/scalar", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 0, NULL, &scalar);
  space = H5Screate (H5S_NULL);
  dset = H5Dcreate2 (h5, "/shape/null", H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  g_assert_cmpint (dset, >=, 0);
  H5Dclose (dset);
  H5Sclose (space);

  /* 20 dimensions: 2, 1 x 18, 3; more than QS_MAX_RANK. */
  for (int i = 0; i < 20; i++)
    deep[i] = 1;
  deep[0] = 2;
  deep[19] = 3;
  qs_test_write_dataset (h5, "/shape/deep", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 20, deep, deep_values);

  fixture_close (h5);
}

static void
assert_not_readable (QsWeightFile *file,
                     const char   *path,
                     int           code)
{
  g_autoptr(GError) error = NULL;
  const QsTensorInfo *info = qs_weight_file_lookup (file, path);
  float *values;

  g_assert_nonnull (info);
  values = qs_weight_file_read_tensor (file, info, &error);
  g_assert_error (error, QS_ERROR, code);
  g_assert_null (values);
  g_assert_nonnull (strstr (error->message, path));
}

static void
test_dtypes (void)
{
  static const struct {
    const char *path;
    const char *dtype;
    gboolean    big_endian;
    gboolean    quantizable;
  } expected[] = {
    { "/be32", "float32", TRUE, TRUE },
    { "/bf16", "bfloat16", FALSE, TRUE },
    { "/f16", "float16", FALSE, TRUE },
    { "/f16be", "float16", TRUE, TRUE },
    { "/f64", "float64", TRUE, TRUE },
    { "/i8", "int8", FALSE, FALSE },
    { "/le32", "float32", FALSE, TRUE },
    { "/other/array", "array", FALSE, FALSE },
    { "/other/bitfield", "bitfield", FALSE, FALSE },
    { "/other/compound", "compound", FALSE, FALSE },
    { "/other/enum", "enum", FALSE, FALSE },
    { "/other/opaque", "opaque", FALSE, FALSE },
    { "/other/reference", "reference", FALSE, FALSE },
    { "/other/vlen", "vlen", FALSE, FALSE },
    { "/shape/deep", "float32", FALSE, TRUE },
    { "/shape/empty", "float32", FALSE, FALSE },
    { "/shape/null", "float32", FALSE, FALSE },
    { "/shape/scalar", "float32", FALSE, TRUE },
    { "/text/fixed", "string", FALSE, FALSE },
    { "/text/vlen", "string", FALSE, FALSE },
    { "/u16", "uint16", TRUE, FALSE },
  };
  const float f32[] = { 1.5f, -2.25f, 3.0e-5f, 1.0e30f };
  const int64_t empty_shape[2] = { 0, 4 };
  const QsTensorInfo *info;
  QsWeightFile *file;

  make_dtypes ();
  file = open_fixture ("dtypes.h5");
  g_assert_cmpint (qs_weight_file_get_layout (file), ==, QS_FILE_LAYOUT_GENERIC);
  g_assert_cmpuint (qs_weight_file_get_tensors (file)->len, ==, G_N_ELEMENTS (expected));

  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      info = tensor_at (file, i);
      g_test_message ("%s", expected[i].path);
      g_assert_cmpstr (info->path, ==, expected[i].path);
      g_assert_cmpstr (info->dtype, ==, expected[i].dtype);
      g_assert_cmpint (info->big_endian, ==, expected[i].big_endian);
      g_assert_cmpint (info->quantizable, ==, expected[i].quantizable);
    }

  for (guint k = 0; k < 2; k++)
    {
      g_autofree float *values = read_ok (file, k == 0 ? "/be32" : "/le32");

      for (int i = 0; i < 4; i++)
        g_assert_cmpfloat (values[i], ==, f32[i]);
    }

  {
    g_autofree float *values = read_ok (file, "/f64");

    g_assert_cmpfloat (values[0], ==, 0.5f);
    g_assert_cmpfloat (values[1], ==, -1.25f);
    g_assert_cmpfloat (values[2], ==, 1024.0f);
    g_assert_cmpfloat (values[3], ==, 0x1p-15f);
    g_assert_cmpfloat (values[4], ==, 0.1f);  /* rounded to nearest */
  }

  /* HDF5's soft float conversion handles the half type, subnormals,
   * signed zero, infinities and NaN included. */
  for (guint k = 0; k < 2; k++)
    {
      g_autofree float *values = read_ok (file, k == 0 ? "/f16" : "/f16be");

      for (guint i = 0; i < G_N_ELEMENTS (half_values); i++)
        {
          if (isnan (half_values[i]))
            g_assert_true (isnan (values[i]));
          else
            g_assert_cmpfloat (values[i], ==, half_values[i]);
          g_assert_cmpint (signbit (values[i]) != 0, ==, signbit (half_values[i]) != 0);
        }
    }

  {
    g_autofree float *values = read_ok (file, "/bf16");

    g_assert_cmpfloat (values[0], ==, 1.5f);
    g_assert_cmpfloat (values[1], ==, -3.0f);
  }

  info = qs_weight_file_lookup (file, "/shape/scalar");
  g_assert_cmpint (info->rank, ==, 0);
  g_assert_cmpuint (info->count, ==, 1);
  g_assert_cmpint (info->channel_axis, ==, -1);
  {
    g_autofree float *values = read_ok (file, "/shape/scalar");

    g_assert_cmpfloat (values[0], ==, 42.5f);
  }

  info = qs_weight_file_lookup (file, "/shape/empty");
  assert_shape (info, 2, empty_shape, 0);
  assert_not_readable (file, "/shape/empty", QS_ERROR_EMPTY);
  info = qs_weight_file_lookup (file, "/shape/null");
  g_assert_cmpint (info->rank, ==, 0);
  g_assert_cmpuint (info->count, ==, 0);
  assert_not_readable (file, "/shape/null", QS_ERROR_EMPTY);

  /* Leading dimensions merge; count and the last axis survive. */
  info = qs_weight_file_lookup (file, "/shape/deep");
  g_assert_cmpint (info->rank, ==, QS_MAX_RANK);
  g_assert_cmpint (info->shape[0], ==, 2);
  g_assert_cmpint (info->shape[QS_MAX_RANK - 1], ==, 3);
  g_assert_cmpuint (info->count, ==, 6);
  {
    g_autofree float *values = read_ok (file, "/shape/deep");

    g_assert_cmpfloat (values[5], ==, 6.0f);
  }

  assert_not_readable (file, "/i8", QS_ERROR_NOT_QUANTIZABLE);
  assert_not_readable (file, "/u16", QS_ERROR_NOT_QUANTIZABLE);
  assert_not_readable (file, "/text/vlen", QS_ERROR_NOT_QUANTIZABLE);
  assert_not_readable (file, "/other/compound", QS_ERROR_NOT_QUANTIZABLE);

  g_assert_finalize_object (file);
}

/* ---- sizes and damage --------------------------------------------------- */

static void
test_too_large (void)
{
  hid_t h5 = fixture_create ("huge.h5");
  hid_t dcpl = H5Pcreate (H5P_DATASET_CREATE);
  hsize_t dims[1] = { G_GUINT64_CONSTANT (1) << 61 }, chunk[1] = { 1024 };
  hid_t space = H5Screate_simple (1, dims, NULL);
  hid_t dset;
  QsWeightFile *file;

  /* Chunks are allocated on write: the file stays tiny. */
  H5Pset_chunk (dcpl, 1, chunk);
  dset = H5Dcreate2 (h5, "/huge", H5T_IEEE_F32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  g_assert_cmpint (dset, >=, 0);
  H5Dclose (dset);
  H5Sclose (space);
  H5Pclose (dcpl);
  fixture_close (h5);

  file = open_fixture ("huge.h5");
  g_assert_cmpuint (qs_weight_file_lookup (file, "/huge")->count, ==, G_GUINT64_CONSTANT (1) << 61);
  g_assert_true (qs_weight_file_lookup (file, "/huge")->quantizable);
  assert_not_readable (file, "/huge", QS_ERROR_TOO_LARGE);
  g_assert_finalize_object (file);
}

static void
test_damaged_chunk (void)
{
  g_autofree char *path = fixture_path ("damaged.h5");
  g_autoptr(GError) error = NULL;
  QsWeightFile *file;

  qs_test_write_damaged_chunk_file (path);
  file = open_fixture ("damaged.h5");
  g_assert_nonnull (qs_weight_file_lookup (file, "/packed"));
  assert_not_readable (file, "/packed", QS_ERROR_READ);

  /* Reading every chunked tensor finds it; a limit that ends the reading
   * with /fine (16 KiB) does not get that far. */
  g_assert_false (qs_weight_file_check_data (file, 0, &error));
  g_assert_error (error, QS_ERROR, QS_ERROR_READ);
  g_assert_nonnull (strstr (error->message, "/packed"));
  g_clear_error (&error);
  g_assert_true (qs_weight_file_check_data (file, 4096 * sizeof (float), &error));
  g_assert_no_error (error);
  g_assert_finalize_object (file);
}

/* ---- chunks decoded one by one ----------------------------------------- */

/* Every block read of @path in @file equals @expected (its @n values). */
static void
assert_blocks (QsWeightFile *file,
               const char   *path,
               const float  *expected,
               guint64       n)
{
  const QsTensorInfo *info = qs_weight_file_lookup (file, path);
  const guint64 ranges[][2] = { { 0, n }, { 0, 1 }, { n - 1, 1 }, { 5, 1 }, { n / 3, n / 2 }, { 7, n - 7 } };
  g_autofree float *values = read_ok (file, path);
  g_autofree float *block = g_new (float, n);

  g_assert_cmpuint (info->count, ==, n);
  for (guint64 i = 0; i < n; i++)
    g_assert_cmpfloat (values[i], ==, expected[i]);
  for (gsize r = 0; r < G_N_ELEMENTS (ranges); r++)
    {
      g_autoptr(GError) error = NULL;

      memset (block, 0xff, n * sizeof (float));
      g_assert_true (qs_weight_file_read_block (file, info, ranges[r][0], ranges[r][1], block, &error));
      g_assert_no_error (error);
      for (guint64 i = 0; i < ranges[r][1]; i++)
        g_assert_cmpfloat (block[i], ==, expected[ranges[r][0] + i]);
    }
}

/* A read of @path, and of its element @at alone, fails with
 * QS_ERROR_READ naming the damage in one line. */
static void
assert_damaged (QsWeightFile *file,
                const char   *path,
                guint64       at,
                const char   *damage)
{
  g_autoptr(GError) error = NULL;
  const QsTensorInfo *info = qs_weight_file_lookup (file, path);
  float one;

  assert_not_readable (file, path, QS_ERROR_READ);
  g_assert_false (qs_weight_file_read_block (file, info, at, 1, &one, &error));
  g_assert_error (error, QS_ERROR, QS_ERROR_READ);
  g_assert_nonnull (strstr (error->message, path));
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, damage));
  g_assert_null (strchr (error->message, '\n'));
}

/* Chunked tensors are decoded here, chunk by chunk (libhdf5 1.10 reads
 * past the end of a chunk that decodes short): more than 8,192 chunks,
 * edge chunks, shuffle + deflate + Fletcher-32 on big-endian float64, a
 * chunk whose deflate the filter mask skips, chunks never written (the
 * fill value), all read as they were written;
 * a chunk short or long in each way libhdf5 would mishandle is refused
 * wherever it is, while blocks that do not reach it still read. */
static void
test_many_chunks (void)
{
  const hsize_t many_dims[2] = { 97, 101 }, many_chunk[2] = { 1, 1 };
  const hsize_t mixed_dims[3] = { 11, 13, 7 }, mixed_chunk[3] = { 4, 5, 3 };
  const hsize_t n64 = 64, c16 = 16, n9000 = 9000, c1 = 1, at16 = 16, last = 8999;
  g_autofree float *many = g_new (float, 97 * 101);
  g_autofree double *mixed = g_new (double, 11 * 13 * 7);
  g_autofree float *mixed_f = g_new (float, 11 * 13 * 7);
  g_autofree float *ones = g_new (float, 9000);
  float masked[64], plain[64], sparse[64];
  g_autofree double *big = g_new (double, 700000);
  g_autofree float *big_f = g_new (float, 700000);
  g_autofree float *big_1d_f = g_new (float, 700000);
  const hsize_t at0 = 0;
  guint8 shuffled[64], bytes[65] = { 0 };
  g_autoptr(GBytes) two = qs_test_zlib (bytes, 2);
  g_autoptr(GBytes) longer = qs_test_zlib (bytes, 65);
  g_autoptr(GError) error = NULL;
  QsWeightFile *file;
  hid_t h5;

  for (int i = 0; i < 97 * 101; i++)
    many[i] = (float) i * 0.5f - 1000.0f;
  for (int i = 0; i < 11 * 13 * 7; i++)
    {
      mixed[i] = (double) i / 7.0 - 3.0;
      mixed_f[i] = (float) mixed[i];
    }
  for (int i = 0; i < 9000; i++)
    ones[i] = 1.0f;
  for (int i = 0; i < 64; i++)
    plain[i] = masked[i] = (float) i;
  /* The second chunk stored shuffled but not deflated, its deflate bit
   * set in the mask: the values 500 .. 515. */
  for (int e = 0; e < 16; e++)
    {
      float v = 500.0f + (float) e;
      guint8 raw[4];

      masked[16 + e] = v;
      memcpy (raw, &v, 4);
      for (int b = 0; b < 4; b++)
        shuffled[b * 16 + e] = raw[b];
    }

  h5 = fixture_create ("chunks.h5");
  qs_test_write_chunked (h5, "/many", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, many_dims, many_chunk, QS_TEST_DEFLATE,
                         many);
  qs_test_write_chunked (h5, "/mixed", H5T_IEEE_F64BE, H5T_NATIVE_DOUBLE, 3, mixed_dims, mixed_chunk,
                         QS_TEST_SHUFFLE | QS_TEST_DEFLATE | QS_TEST_FLETCHER32, mixed);
  qs_test_write_chunked (h5, "/masked", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, &n64, &c16,
                         QS_TEST_SHUFFLE | QS_TEST_DEFLATE, plain);
  qs_test_replace_chunk (h5, "/masked", &at16, 1u << 1, shuffled, sizeof shuffled);

  qs_test_write_chunked (h5, "/short-last", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, &n9000, &c1, QS_TEST_DEFLATE,
                         ones);
  qs_test_replace_chunk (h5, "/short-last", &last, 0, g_bytes_get_data (two, NULL), g_bytes_get_size (two));
  qs_test_write_chunked (h5, "/long", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, &n64, &c16, QS_TEST_DEFLATE, plain);
  qs_test_replace_chunk (h5, "/long", &at16, 0, g_bytes_get_data (longer, NULL), g_bytes_get_size (longer));
  qs_test_write_chunked (h5, "/masked-short", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, &n64, &c16, QS_TEST_DEFLATE,
                         plain);
  qs_test_replace_chunk (h5, "/masked-short", &at16, 1u << 0, bytes, 10);
  qs_test_write_chunked (h5, "/fletcher-tiny", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, &n64, &c16,
                         QS_TEST_FLETCHER32, plain);
  qs_test_replace_chunk (h5, "/fletcher-tiny", &at16, 0, bytes, 2);
  {
    /* Only the second chunk written: the others read as the fill value. */
    hid_t dcpl = H5Pcreate (H5P_DATASET_CREATE), space = H5Screate_simple (1, &n64, NULL);
    hid_t memory = H5Screate_simple (1, &c16, NULL), dset;
    float fill = 7.5f;

    g_assert_cmpint (H5Pset_chunk (dcpl, 1, &c16), >=, 0);
    g_assert_cmpint (H5Pset_deflate (dcpl, 4), >=, 0);
    g_assert_cmpint (H5Pset_fill_value (dcpl, H5T_NATIVE_FLOAT, &fill), >=, 0);
    dset = H5Dcreate2 (h5, "/sparse", H5T_IEEE_F32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    g_assert_cmpint (dset, >=, 0);
    g_assert_cmpint (H5Sselect_hyperslab (space, H5S_SELECT_SET, &at16, NULL, &c16, NULL), >=, 0);
    g_assert_cmpint (H5Dwrite (dset, H5T_NATIVE_FLOAT, memory, space, H5P_DEFAULT, plain + 16), >=, 0);
    H5Dclose (dset);
    H5Sclose (memory);
    H5Sclose (space);
    H5Pclose (dcpl);
    for (int i = 0; i < 64; i++)
      sparse[i] = i >= 16 && i < 32 ? (float) i : 7.5f;
  }
  /* Chunks of more elements than are converted at a time (2^18), one
   * row per chunk and many rows per chunk; the second chunk of /big-1d
   * never written. */
  {
    const hsize_t big_dims[2] = { 600, 1000 }, big_1d = 700000, chunk_1d = 350000, second = 350000;
    hid_t dcpl = H5Pcreate (H5P_DATASET_CREATE), space = H5Screate_simple (1, &big_1d, NULL), dset;
    double fill = -2.0;
    guint32 x = 1;

    /* Values that do not compress 64:1 (the reader's bound), each exact
     * in float32. */
    for (gsize i = 0; i < 700000; i++)
      {
        x = x * 1103515245u + 12345u;
        big[i] = (double) ((x >> 8) & 0xffffff) * 0.25;
        big_f[i] = (float) big[i];
      }
    qs_test_write_chunked (h5, "/big-2d", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 2, big_dims, big_dims,
                           QS_TEST_SHUFFLE | QS_TEST_DEFLATE, big);
    g_assert_cmpint (H5Pset_chunk (dcpl, 1, &chunk_1d), >=, 0);
    g_assert_cmpint (H5Pset_deflate (dcpl, 1), >=, 0);
    g_assert_cmpint (H5Pset_fill_value (dcpl, H5T_NATIVE_DOUBLE, &fill), >=, 0);
    dset = H5Dcreate2 (h5, "/big-1d", H5T_IEEE_F64BE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    g_assert_cmpint (dset, >=, 0);
    H5Sclose (space);
    space = H5Screate_simple (1, &big_1d, NULL);
    g_assert_cmpint (H5Sselect_hyperslab (space, H5S_SELECT_SET, &at0, NULL, &chunk_1d, NULL), >=, 0);
    {
      hid_t memory = H5Screate_simple (1, &chunk_1d, NULL);

      g_assert_cmpint (H5Dwrite (dset, H5T_NATIVE_DOUBLE, memory, space, H5P_DEFAULT, big), >=, 0);
      H5Sclose (memory);
    }
    H5Dclose (dset);
    H5Sclose (space);
    H5Pclose (dcpl);
    for (gsize i = 0; i < 700000; i++)
      big_1d_f[i] = i < second ? big_f[i] : -2.0f;
  }
  fixture_close (h5);

  file = open_fixture ("chunks.h5");
  assert_blocks (file, "/big-2d", big_f, 600000);
  assert_blocks (file, "/big-1d", big_1d_f, 700000);
  assert_blocks (file, "/sparse", sparse, 64);
  assert_blocks (file, "/many", many, 97 * 101);
  assert_blocks (file, "/mixed", mixed_f, 11 * 13 * 7);
  assert_blocks (file, "/masked", masked, 64);

  assert_damaged (file, "/short-last", 8999, "has a chunk that inflates to 2 of its 4 bytes (damaged)");
  assert_damaged (file, "/long", 16, "has a chunk that inflates to more than its 64 bytes (damaged)");
  assert_damaged (file, "/masked-short", 31, "has a chunk that decodes to 10 of its 64 bytes (damaged)");
  assert_damaged (file, "/fletcher-tiny", 20, "has a chunk of 2 bytes, too short for its Fletcher-32 checksum");
  {
    const QsTensorInfo *info = qs_weight_file_lookup (file, "/short-last");
    float head[100];

    /* Blocks short of the damaged chunk do not decode it. */
    g_assert_true (qs_weight_file_read_block (file, info, 8899, 100, head, &error));
    g_assert_no_error (error);
    for (int i = 0; i < 100; i++)
      g_assert_cmpfloat (head[i], ==, 1.0f);
  }
  g_assert_false (qs_weight_file_check_data (file, 0, &error));
  g_assert_error (error, QS_ERROR, QS_ERROR_READ);
  g_assert_nonnull (strstr (error->message, "(damaged)"));
  g_assert_finalize_object (file);
}

/* Writes @values (@n of them, 1-D or @rows x @n / @rows) at @path of a
 * file of the latest format, deflated in chunks of @chunk, growable along
 * @unlimited dimensions (which picks the chunk index: fixed array, single
 * chunk, extensible array, version 2 B-tree), with @opts as chunk
 * options; only the elements [@from, @to) written. */
static void
write_latest (hid_t        file,
              const char  *path,
              int          rank,
              const hsize_t *dims,
              const hsize_t *chunk,
              int          unlimited,
              unsigned int opts,
              const float *values,
              hsize_t      from,
              hsize_t      to)
{
  hsize_t maxdims[2], n = 1, count = to - from;
  hid_t dcpl = H5Pcreate (H5P_DATASET_CREATE), space, memory, dset;
  float fill = -1.0f;

  for (int d = 0; d < rank; d++)
    {
      maxdims[d] = d < unlimited ? H5S_UNLIMITED : dims[d];
      n *= dims[d];
    }
  space = H5Screate_simple (rank, dims, maxdims);
  g_assert_cmpint (H5Pset_chunk (dcpl, rank, chunk), >=, 0);
  g_assert_cmpint (H5Pset_shuffle (dcpl), >=, 0);
  g_assert_cmpint (H5Pset_deflate (dcpl, 6), >=, 0);
  g_assert_cmpint (H5Pset_chunk_opts (dcpl, opts), >=, 0);
  g_assert_cmpint (H5Pset_fill_value (dcpl, H5T_NATIVE_FLOAT, &fill), >=, 0);
  dset = H5Dcreate2 (file, path, H5T_IEEE_F32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  g_assert_cmpint (dset, >=, 0);
  /* Rows [from / width, to / width) of the flattened array. */
  {
    hsize_t width = n / dims[0], start[2] = { from / width, 0 }, block[2] = { count / width, width };

    if (rank == 1)
      block[0] = count;
    memory = H5Screate_simple (1, &count, NULL);
    g_assert_cmpint (H5Sselect_hyperslab (space, H5S_SELECT_SET, start, NULL, block, NULL), >=, 0);
    g_assert_cmpint (H5Dwrite (dset, H5T_NATIVE_FLOAT, memory, space, H5P_DEFAULT, values + from), >=, 0);
  }
  H5Sclose (memory);
  H5Dclose (dset);
  H5Sclose (space);
  H5Pclose (dcpl);
}

/* The chunk indexes of the latest file format (fixed array, single
 * chunk, extensible array, version 2 B-tree), partial edge chunks stored
 * unfiltered (H5D_CHUNK_DONT_FILTER_PARTIAL_CHUNKS) and chunks never
 * written read as libhdf5 wrote them. */
static void
test_latest_chunk_indexes (void)
{
  g_autofree char *path = fixture_path ("latest.h5");
  const hsize_t flat = 1000, flat_chunk = 64, grid[2] = { 30, 50 }, grid_chunk[2] = { 7, 16 };
  float values[1500], sparse[1500];
  hid_t fapl = H5Pcreate (H5P_FILE_ACCESS), h5;
  QsWeightFile *file;

  for (int i = 0; i < 1500; i++)
    {
      values[i] = (float) i * 0.125f - 60.0f;
      sparse[i] = i >= 500 && i < 1000 ? values[i] : -1.0f;
    }
  g_assert_cmpint (H5Pset_libver_bounds (fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST), >=, 0);
  h5 = H5Fcreate (path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  g_assert_cmpint (h5, >=, 0);
  write_latest (h5, "/fixed", 1, &flat, &flat_chunk, 0, 0, values, 0, 1000);
  write_latest (h5, "/fixed-partial", 2, grid, grid_chunk, 0, H5D_CHUNK_DONT_FILTER_PARTIAL_CHUNKS, values, 0,
                1500);
  write_latest (h5, "/single", 1, &flat, &flat, 0, 0, values, 0, 1000);
  write_latest (h5, "/extensible", 1, &flat, &flat_chunk, 1, 0, values, 0, 1000);
  write_latest (h5, "/extensible-sparse", 2, grid, grid_chunk, 1, H5D_CHUNK_DONT_FILTER_PARTIAL_CHUNKS, values,
                500, 1000);
  write_latest (h5, "/btree2", 2, grid, grid_chunk, 2, 0, values, 0, 1500);
  {
    const char *names[] = { "/fixed", "/single", "/extensible", "/btree2" };
    const H5D_chunk_index_t kinds[] = { H5D_CHUNK_IDX_FARRAY, H5D_CHUNK_IDX_SINGLE, H5D_CHUNK_IDX_EARRAY,
                                        H5D_CHUNK_IDX_BT2 };
    const hsize_t edge[2] = { 28, 48 };
    hid_t dset = H5Dopen2 (h5, "/fixed-partial", H5P_DEFAULT);
    hsize_t stored = 0;

    /* An edge chunk stored whole and unfiltered: 7 x 16 float32. */
    g_assert_cmpint (H5Dget_chunk_storage_size (dset, edge, &stored), >=, 0);
    g_assert_cmpuint (stored, ==, 7 * 16 * 4);
    H5Dclose (dset);
    for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
      {
        H5D_chunk_index_t kind;

        dset = H5Dopen2 (h5, names[i], H5P_DEFAULT);
        g_assert_cmpint (H5Dget_chunk_index_type (dset, &kind), >=, 0);
        g_assert_cmpint (kind, ==, kinds[i]);
        H5Dclose (dset);
      }
  }
  g_assert_cmpint (H5Fclose (h5), >=, 0);
  H5Pclose (fapl);

  file = open_fixture ("latest.h5");
  assert_blocks (file, "/fixed", values, 1000);
  assert_blocks (file, "/fixed-partial", values, 1500);
  assert_blocks (file, "/single", values, 1000);
  assert_blocks (file, "/extensible", values, 1000);
  assert_blocks (file, "/extensible-sparse", sparse, 1500);
  assert_blocks (file, "/btree2", values, 1500);
  g_assert_finalize_object (file);
}

/* An unfiltered chunk keeps its stored size in a version 1 B-tree key
 * (libhdf5 writes the chunk's size there); a damaged key saying 8 of 64
 * bytes made libhdf5 1.10 load 8 bytes into its chunk cache and copy 64
 * out of them (heap bytes as values 2 to 15). Without the chunk cache the
 * chunk is read from the file at its address: the 64 bytes written there. */
static void
test_unfiltered_short_chunk (void)
{
  g_autofree char *path = fixture_path ("unfiltered.h5");
  g_autofree char *contents = NULL;
  const hsize_t n64 = 64, c16 = 16;
  const guint8 eight[4] = { 8, 0, 0, 0 };
  float plain[64];
  gsize length = 0;
  char *tree = NULL;
  QsWeightFile *file;
  FILE *stream;
  hid_t h5;

  for (int i = 0; i < 64; i++)
    plain[i] = (float) i;
  h5 = fixture_create ("unfiltered.h5");
  qs_test_write_chunked (h5, "/unfiltered", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, &n64, &c16, 0, plain);
  fixture_close (h5);

  /* The first key of the only chunk B-tree (node type 1; the group's is
   * type 0), right after its 24-byte node header. */
  g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
  for (gsize i = 0; i + 28 <= length; i++)
    if (memcmp (contents + i, "TREE", 4) == 0 && contents[i + 4] == 1)
      {
        g_assert_null (tree);
        tree = contents + i;
      }
  g_assert_nonnull (tree);
  g_assert_cmpint (memcmp (tree + 24, "\x40\0\0\0", 4), ==, 0);
  stream = fopen (path, "r+b");
  g_assert_nonnull (stream);
  g_assert_cmpint (fseek (stream, (long) (tree + 24 - contents), SEEK_SET), ==, 0);
  g_assert_cmpuint (fwrite (eight, 1, 4, stream), ==, 4);
  g_assert_cmpint (fclose (stream), ==, 0);

  file = open_fixture ("unfiltered.h5");
  assert_blocks (file, "/unfiltered", plain, 64);
  g_assert_finalize_object (file);
}

/* ---- links -------------------------------------------------------------- */

static void
test_links (void)
{
  hid_t h5 = fixture_create ("links.h5");
  hsize_t d22[2] = { 2, 2 }, d1[1] = { 1 };
  const float values[4] = { 1, 2, 3, 4 };
  GPtrArray *tensors;
  QsWeightFile *file;
  guint listed = 0;

  qs_test_write_floats (h5, "/data/w", 2, d22, values);
  qs_test_write_floats (h5, "/data/sub/v", 1, d1, values);
  qs_test_make_group (h5, "/alias");
  qs_test_make_group (h5, "/cycle");
  g_assert_cmpint (H5Lcreate_hard (h5, "/data/w", h5, "/alias/w2", H5P_DEFAULT, H5P_DEFAULT), >=, 0);
  /* A group hard-linked into its own subtree. */
  g_assert_cmpint (H5Lcreate_hard (h5, "/data", h5, "/data/sub/back", H5P_DEFAULT, H5P_DEFAULT), >=, 0);
  g_assert_cmpint (H5Lcreate_soft ("/cycle/b", h5, "/cycle/a", H5P_DEFAULT, H5P_DEFAULT), >=, 0);
  g_assert_cmpint (H5Lcreate_soft ("/cycle/a", h5, "/cycle/b", H5P_DEFAULT, H5P_DEFAULT), >=, 0);
  g_assert_cmpint (H5Lcreate_soft ("/cycle/self", h5, "/cycle/self", H5P_DEFAULT, H5P_DEFAULT), >=, 0);
  g_assert_cmpint (H5Lcreate_soft ("/", h5, "/cycle/root", H5P_DEFAULT, H5P_DEFAULT), >=, 0);
  g_assert_cmpint (H5Lcreate_soft ("/data/w", h5, "/soft_w", H5P_DEFAULT, H5P_DEFAULT), >=, 0);
  g_assert_cmpint (H5Lcreate_soft ("/nowhere", h5, "/dangling", H5P_DEFAULT, H5P_DEFAULT), >=, 0);
  g_assert_cmpint (H5Lcreate_external ("missing.h5", "/x", h5, "/ext_missing", H5P_DEFAULT, H5P_DEFAULT), >=, 0);
  g_assert_cmpint (H5Lcreate_external ("generic.h5", "/z", h5, "/ext", H5P_DEFAULT, H5P_DEFAULT), >=, 0);
  g_assert_cmpint (H5Lcreate_soft ("/ext", h5, "/soft_ext", H5P_DEFAULT, H5P_DEFAULT), >=, 0);
  fixture_close (h5);

  file = open_fixture ("links.h5");
  tensors = qs_weight_file_get_tensors (file);
  g_assert_cmpuint (tensors->len, ==, 2);

  /* Either hard link may name it; it appears once. */
  listed += qs_weight_file_lookup (file, "/alias/w2") != NULL;
  listed += qs_weight_file_lookup (file, "/data/w") != NULL;
  g_assert_cmpuint (listed, ==, 1);
  g_assert_nonnull (qs_weight_file_lookup (file, "/data/sub/v"));
  g_assert_null (qs_weight_file_lookup (file, "/soft_w"));
  g_assert_null (qs_weight_file_lookup (file, "/ext"));
  g_assert_null (qs_weight_file_lookup (file, "/soft_ext"));

  g_assert_finalize_object (file);
}

/* ---- files that are not weight files ------------------------------------ */

static void
assert_open_fails (const char *path,
                   int         code)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *display = g_filename_display_name (path);
  QsWeightFile *file = qs_weight_file_open (path, &error);

  g_assert_null (file);
  g_assert_error (error, QS_ERROR, code);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, display));
}

static void
test_open_errors (void)
{
  g_autofree char *missing = fixture_path ("does-not-exist.h5");
  g_autofree char *text = fixture_path ("text.h5");
  g_autofree char *empty = fixture_path ("empty.h5");
  g_autofree char *signature = fixture_path ("signature-only.h5");
  g_autofree char *truncated = fixture_path ("truncated.h5");
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;
  hsize_t dims[1] = { 4096 };
  g_autofree float *values = g_new0 (float, 4096);
  gsize length;
  hid_t h5;

  assert_open_fails (missing, QS_ERROR_NOT_FOUND);

  g_file_set_contents (text, "layer_names = conv2d\n", -1, &error);
  g_assert_no_error (error);
  assert_open_fails (text, QS_ERROR_NOT_HDF5);

  g_file_set_contents (empty, "", 0, &error);
  g_assert_no_error (error);
  assert_open_fails (empty, QS_ERROR_NOT_HDF5);

  g_file_set_contents (signature, "\211HDF\r\n\032\n", 8, &error);
  g_assert_no_error (error);
  assert_open_fails (signature, QS_ERROR_NOT_HDF5);

  assert_open_fails (tmp_dir, QS_ERROR_NOT_HDF5);

  h5 = fixture_create ("truncated.h5");
  qs_test_write_floats (h5, "/big", 1, dims, values);
  fixture_close (h5);
  g_file_get_contents (truncated, &contents, &length, &error);
  g_assert_no_error (error);
  g_file_set_contents (truncated, contents, length / 2, &error);
  g_assert_no_error (error);
  assert_open_fails (truncated, QS_ERROR_NOT_HDF5);
}

/* ---- file images -------------------------------------------------------- */

static QsWeightFile *
open_image_of (const char  *path,
               gsize        length,
               GError     **error)
{
  g_autofree char *contents = NULL;
  g_autoptr(GBytes) image = NULL;
  gsize full;

  g_assert_true (g_file_get_contents (path, &contents, &full, NULL));
  image = g_bytes_new (contents, MIN (length, full));
  return qs_weight_file_open_image (image, path, QS_WEIGHT_FILE_DEFAULT, error);
}

/* An image in memory reads as the same file on disk does: same tree,
 * same order, same values; and fails the same ways. */
static void
test_open_image (void)
{
  g_autofree char *path = fixture_path ("image.h5");
  g_autofree char *text = fixture_path ("image-text.h5");
  g_autoptr(GError) error = NULL;
  hsize_t conv[4] = { 3, 3, 2, 4 }, d4[1] = { 4 };
  float values[72];
  QsWeightFile *on_disk, *in_memory;
  GPtrArray *a, *b;
  hid_t h5 = fixture_create ("image.h5");

  ramp (values, 72, -1.0f, 0.03125f);
  qs_test_write_floats (h5, "/enc/conv1/kernel", 4, conv, values);
  qs_test_write_floats (h5, "/enc/conv1/bias", 1, d4, values);
  fixture_close (h5);

  on_disk = open_fixture ("image.h5");
  in_memory = open_image_of (path, G_MAXSIZE, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (qs_weight_file_get_filename (in_memory), ==, path);
  a = qs_weight_file_get_tensors (on_disk);
  b = qs_weight_file_get_tensors (in_memory);
  g_assert_cmpuint (a->len, ==, 2);
  g_assert_cmpuint (b->len, ==, a->len);
  for (guint i = 0; i < a->len; i++)
    {
      const QsTensorInfo *x = g_ptr_array_index (a, i), *y = g_ptr_array_index (b, i);
      g_autofree float *vx = qs_weight_file_read_tensor (on_disk, x, NULL);
      g_autofree float *vy = qs_weight_file_read_tensor (in_memory, y, &error);

      g_assert_no_error (error);
      g_assert_cmpstr (x->path, ==, y->path);
      g_assert_cmpint (x->channel_axis, ==, y->channel_axis);
      g_assert_cmpuint (y->count, ==, x->count);
      g_assert_cmpmem (vy, y->count * sizeof (float), vx, x->count * sizeof (float));
    }
  g_assert_finalize_object (on_disk);
  g_assert_finalize_object (in_memory);

  g_assert_null (open_image_of (path, 0, &error));
  g_assert_error (error, QS_ERROR, QS_ERROR_NOT_HDF5);
  g_clear_error (&error);
  g_assert_null (open_image_of (path, 700, &error));
  g_assert_error (error, QS_ERROR, QS_ERROR_NOT_HDF5);
  g_assert_nonnull (strstr (error->message, "damaged or truncated"));
  g_clear_error (&error);
  g_file_set_contents (text, "layer_names = conv2d\n", -1, &error);
  g_assert_no_error (error);
  g_assert_null (open_image_of (text, G_MAXSIZE, &error));
  g_assert_error (error, QS_ERROR, QS_ERROR_NOT_HDF5);
  g_assert_nonnull (strstr (error->message, "not an HDF5 file"));
}

/* Global heap collections on which libhdf5 1.10 loops loading them:
 * free space of size 0 (tests/fuzz/README.md), and free space whose size
 * wraps libhdf5's pointer back to the object before it. Each is refused
 * before libhdf5 reads model_config, from a file and from an image in
 * memory alike (the weights of a .keras archive are one). */
static void
test_open_damaged_heap (void)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "fuzz", "inputs",
                                                 "libhdf5-h5hg-read-loop-536794d4.h5", NULL);
  g_autofree char *archive = g_test_build_filename (G_TEST_DIST, "data", "keras3", "libhdf5-loop.keras", NULL);
  g_autofree char *backward = fixture_path ("heap-backward.h5");
  g_autoptr(GBytes) backward_image = qs_test_write_heap_loop_file (backward);
  g_autoptr(GError) error = NULL;

  g_assert_null (qs_weight_file_open (backward, &error));
  g_assert_error (error, QS_ERROR, QS_ERROR_READ);
  g_assert_nonnull (strstr (error->message, "the “model_config” attribute is damaged"));
  g_clear_error (&error);
  g_assert_null (qs_weight_file_open_image (backward_image, backward, QS_WEIGHT_FILE_DEFAULT, &error));
  g_assert_error (error, QS_ERROR, QS_ERROR_READ);
  g_assert_nonnull (strstr (error->message, "the “model_config” attribute is damaged"));
  g_clear_error (&error);

  g_assert_null (qs_weight_file_open (path, &error));
  g_assert_error (error, QS_ERROR, QS_ERROR_READ);
  g_assert_nonnull (strstr (error->message, "the “model_config” attribute is damaged"));
  g_clear_error (&error);
  g_assert_null (open_image_of (path, G_MAXSIZE, &error));
  g_assert_error (error, QS_ERROR, QS_ERROR_READ);
  g_assert_nonnull (strstr (error->message, "the “model_config” attribute is damaged"));
  g_clear_error (&error);
  g_assert_null (qs_weight_file_open (archive, &error));
  g_assert_error (error, QS_ERROR, QS_ERROR_READ);
  g_assert_nonnull (strstr (error->message, "the “model_config” attribute is damaged"));
}

/* ---- raw access for mapping ------------------------------------------------ */

/* Reads @count floats at @offset of @fd, as the mapping would see them. */
static void
assert_raw_values (int          fd,
                   guint64      offset,
                   const float *expected,
                   gsize        count)
{
  g_autofree float *raw = g_new (float, count);

  g_assert_cmpint (pread (fd, raw, count * sizeof (float), (off_t) offset), ==, (gssize) (count * sizeof (float)));
  g_assert_cmpmem (raw, count * sizeof (float), expected, count * sizeof (float));
}

/* Only a contiguous, written, native float32 dataset of a file on disk is
 * handed out for mapping, and at the offset its values really start: with
 * a user block before the superblock too. */
static void
test_raw_fd (void)
{
  hsize_t d64[1] = { 64 }, chunk[1] = { 16 };
  g_autofree char *blocked_path = fixture_path ("userblock.h5");
  g_autofree char *plain_path = fixture_path ("raw.h5");
  float values[64];
  double doubles[64];
  hid_t h5, fcpl, dcpl, space, dset;
  QsWeightFile *file;
  guint64 offset = 0;
  int fd;

  ramp (values, 64, -2.0f, 0.0625f);
  for (int i = 0; i < 64; i++)
    doubles[i] = values[i];

  h5 = fixture_create ("raw.h5");
  qs_test_write_floats (h5, "/contiguous", 1, d64, values);
  qs_test_write_dataset (h5, "/double", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1, d64, doubles);
  qs_test_write_dataset (h5, "/big-endian", H5T_IEEE_F32BE, H5T_NATIVE_FLOAT, 1, d64, values);
  qs_test_write_dataset (h5, "/unwritten", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, d64, NULL);
  dcpl = H5Pcreate (H5P_DATASET_CREATE);
  H5Pset_chunk (dcpl, 1, chunk);
  space = H5Screate_simple (1, d64, NULL);
  dset = H5Dcreate2 (h5, "/chunked", H5T_IEEE_F32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  H5Dwrite (dset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values);
  H5Dclose (dset);
  H5Sclose (space);
  H5Pclose (dcpl);
  fixture_close (h5);

  file = open_fixture ("raw.h5");
  fd = qs_weight_file_dup_raw_fd (file, qs_weight_file_lookup (file, "/contiguous"), &offset);
  g_assert_cmpint (fd, >=, 0);
  assert_raw_values (fd, offset, values, 64);
  close (fd);
  for (guint i = 0; i < 4; i++)
    {
      const char *unmappable[] = { "/double", "/big-endian", "/unwritten", "/chunked" };

      g_test_message ("%s", unmappable[i]);
      g_assert_cmpint (qs_weight_file_dup_raw_fd (file, qs_weight_file_lookup (file, unmappable[i]), &offset), ==, -1);
    }
  g_assert_finalize_object (file);

  /* A file image has no file to map. */
  {
    g_autofree char *contents = NULL;
    g_autoptr(GBytes) image = NULL;
    gsize length;

    g_assert_true (g_file_get_contents (plain_path, &contents, &length, NULL));
    image = g_bytes_new_take (g_steal_pointer (&contents), length);
    file = qs_weight_file_open_image (image, plain_path, QS_WEIGHT_FILE_DEFAULT, NULL);
    g_assert_nonnull (file);
    g_assert_cmpint (qs_weight_file_dup_raw_fd (file, qs_weight_file_lookup (file, "/contiguous"), &offset), ==, -1);
    g_assert_finalize_object (file);
  }

  fcpl = H5Pcreate (H5P_FILE_CREATE);
  H5Pset_userblock (fcpl, 4096);
  h5 = H5Fcreate (blocked_path, H5F_ACC_TRUNC, fcpl, H5P_DEFAULT);
  g_assert_cmpint (h5, >=, 0);
  H5Pclose (fcpl);
  qs_test_write_floats (h5, "/w", 1, d64, values);
  fixture_close (h5);
  file = open_fixture ("userblock.h5");
  fd = qs_weight_file_dup_raw_fd (file, qs_weight_file_lookup (file, "/w"), &offset);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpuint (offset, >=, 4096);
  assert_raw_values (fd, offset, values, 64);
  close (fd);
  g_assert_finalize_object (file);
}

/* ---- threads ------------------------------------------------------------ */

static gpointer
read_all_thread (gpointer data)
{
  QsWeightFile *file = data;
  GPtrArray *tensors = qs_weight_file_get_tensors (file);

  for (int round = 0; round < 25; round++)
    for (guint i = 0; i < tensors->len; i++)
      {
        const QsTensorInfo *info = g_ptr_array_index (tensors, i);
        g_autoptr(GError) error = NULL;
        g_autofree float *values = NULL;

        if (!info->quantizable)
          continue;
        values = qs_weight_file_read_tensor (file, info, &error);
        g_assert_no_error (error);
        g_assert_nonnull (values);
      }
  return NULL;
}

static void
test_threads (void)
{
  GThread *threads[4];
  QsWeightFile *file;
  g_autofree float *first = NULL;

  make_keras_model ("threads.h5", TRUE);
  file = open_fixture ("threads.h5");
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    threads[i] = g_thread_new ("reader", read_all_thread, file);
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    g_thread_join (threads[i]);

  first = read_ok (file, "/model_weights/conv2d/conv2d/kernel:0");
  g_assert_cmpfloat (first[0], ==, -1.0f);
  g_assert_finalize_object (file);
}

/* ---- small pieces ------------------------------------------------------- */

static void
test_tensor_info_boxed (void)
{
  QsTensorInfo *copy;
  QsWeightFile *file;
  const QsTensorInfo *info;

  make_keras_model ("boxed.h5", FALSE);
  file = open_fixture ("boxed.h5");
  info = tensor_at (file, 0);
  copy = g_boxed_copy (QS_TYPE_TENSOR_INFO, info);
  g_assert_true (copy->path != info->path);
  g_assert_cmpstr (copy->path, ==, info->path);
  g_assert_cmpstr (copy->layer, ==, info->layer);
  g_assert_cmpstr (copy->dtype, ==, info->dtype);
  g_assert_cmpint (copy->rank, ==, info->rank);
  g_assert_cmpint (copy->shape[3], ==, info->shape[3]);
  g_assert_cmpuint (copy->count, ==, info->count);
  g_assert_cmpint (copy->channel_axis, ==, info->channel_axis);

  /* A copy reads like the original: only the path matters. */
  {
    g_autoptr(GError) error = NULL;
    g_autofree float *values = qs_weight_file_read_tensor (file, copy, &error);

    g_assert_no_error (error);
    g_assert_cmpfloat (values[1], ==, -1.0f + 0.0625f);
  }

  /* A path this file does not have. */
  {
    g_autoptr(GError) error = NULL;
    float *values;

    g_free (copy->path);
    copy->path = g_strdup ("/not/here");
    values = qs_weight_file_read_tensor (file, copy, &error);
    g_assert_error (error, QS_ERROR, QS_ERROR_NOT_FOUND);
    g_assert_null (values);
  }

  g_boxed_free (QS_TYPE_TENSOR_INFO, copy);
  qs_tensor_info_free (NULL);
  g_assert_finalize_object (file);

  g_assert_cmpstr (qs_tensor_role_to_string (QS_TENSOR_ROLE_KERNEL), ==, "kernel");
  g_assert_cmpstr (qs_tensor_role_to_string (QS_TENSOR_ROLE_DEPTHWISE_KERNEL), ==, "depthwise_kernel");
  g_assert_cmpstr (qs_tensor_role_to_string (QS_TENSOR_ROLE_BIAS), ==, "bias");
  g_assert_cmpstr (qs_tensor_role_to_string (QS_TENSOR_ROLE_BATCHNORM), ==, "batchnorm");
  g_assert_cmpstr (qs_tensor_role_to_string (QS_TENSOR_ROLE_OTHER), ==, "other");
}

/* Per-channel on a 1-D tensor (a bias) keeps one scale unless an axis is
 * asked for: a scale and zero point per element would take 8 bytes per
 * 4-byte weight. Sizes by hand: 10 codes of 8 bits plus one float32 scale
 * and one int32 zero point = 18 bytes; per element, 10 + 10 * 8 = 90. */
static void
test_per_channel_vector (void)
{
  const float values[10] = { -0.5f, -0.25f, 0, 0.125f, 0.25f, 0.375f, 0.5f, 0.75f, 1, 1.5f };
  QsTensorInfo info = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(QsTensorReport) vector = NULL;
  g_autoptr(QsTensorReport) per_element = NULL;
  QsScheme scheme;

  info.path = (char *) "/dense/bias";
  info.rank = 1;
  info.shape[0] = 10;
  info.count = 10;
  info.dtype = (char *) "float32";
  info.quantizable = TRUE;
  info.channel_axis = 0;
  qs_scheme_init_per_tensor (&scheme);
  scheme.granularity = QS_GRANULARITY_CHANNEL;
  scheme.axis = QS_AXIS_DEFAULT;

  vector = qs_tensor_report_compute_values (&info, values, &scheme, 1, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (vector->params.channels, ==, 1);
  g_assert_cmpint (vector->scheme.axis, ==, -1);
  g_assert_cmpuint (vector->analysis.size_quant_bytes, ==, 18);
  g_assert_cmpfloat (vector->analysis.compression_ratio, >, 1.0);

  scheme.axis = 0;
  per_element = qs_tensor_report_compute_values (&info, values, &scheme, 1, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (per_element->params.channels, ==, 10);
  g_assert_cmpuint (per_element->analysis.size_quant_bytes, ==, 90);
}

static void
test_error_from_status (void)
{
  static const struct {
    QsStatus status;
    int      code;   /* GError codes are int; an enum here trips -Wsign-compare */
  } cases[] = {
    { QS_STATUS_INVALID_ARGUMENT, QS_ERROR_INVALID },
    { QS_STATUS_EMPTY, QS_ERROR_EMPTY },
    { QS_STATUS_NO_FINITE_VALUES, QS_ERROR_EMPTY },
    { QS_STATUS_NO_MEMORY, QS_ERROR_TOO_LARGE },
    { QS_STATUS_BAD_RANGE, QS_ERROR_INVALID },
    { (QsStatus) 1000, QS_ERROR_FAILED },
  };
  g_autoptr(GError) none = NULL;

  qs_set_error_from_status (&none, QS_OK, "conv2d/kernel");
  g_assert_no_error (none);
  qs_set_error_from_status (NULL, QS_STATUS_EMPTY, "ignored");

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GError) bare = NULL;

      qs_set_error_from_status (&error, cases[i].status, "conv2d/kernel");
      g_assert_error (error, QS_ERROR, cases[i].code);
      g_assert_true (g_str_has_prefix (error->message, "conv2d/kernel: "));
      qs_set_error_from_status (&bare, cases[i].status, NULL);
      g_assert_error (bare, QS_ERROR, cases[i].code);
      g_assert_cmpstr (bare->message, ==, error->message + strlen ("conv2d/kernel: "));
    }

  /* A raised cancel flag reads as any cancelled GIO operation. */
  {
    g_autoptr(GError) cancelled = NULL;

    qs_set_error_from_status (&cancelled, QS_STATUS_CANCELLED, "conv2d/kernel");
    g_assert_error (cancelled, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  }
}

/* ---- main --------------------------------------------------------------- */

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);

  tmp_dir = g_dir_make_tmp ("qs-weight-file-XXXXXX", &error);
  g_assert_no_error (error);

  g_test_add_data_func ("/weight-file/keras-model/fixed-strings", GINT_TO_POINTER (FALSE), test_keras_model);
  g_test_add_data_func ("/weight-file/keras-model/variable-strings", GINT_TO_POINTER (TRUE), test_keras_model);
  g_test_add_func ("/weight-file/keras-weights", test_keras_weights);
  g_test_add_func ("/weight-file/keras3-weights", test_keras3_weights);
  g_test_add_func ("/weight-file/generic", test_generic);
  g_test_add_func ("/weight-file/dtypes", test_dtypes);
  g_test_add_func ("/weight-file/too-large", test_too_large);
  g_test_add_func ("/weight-file/damaged-chunk", test_damaged_chunk);
  g_test_add_func ("/weight-file/many-chunks", test_many_chunks);
  g_test_add_func ("/weight-file/unfiltered-short-chunk", test_unfiltered_short_chunk);
  g_test_add_func ("/weight-file/latest-chunk-indexes", test_latest_chunk_indexes);
  g_test_add_func ("/weight-file/links", test_links);
  g_test_add_func ("/weight-file/open-errors", test_open_errors);
  g_test_add_func ("/weight-file/open-image", test_open_image);
  g_test_add_func ("/weight-file/open-damaged-heap", test_open_damaged_heap);
  g_test_add_func ("/weight-file/raw-fd", test_raw_fd);
  g_test_add_func ("/weight-file/threads", test_threads);
  g_test_add_func ("/weight-file/tensor-info", test_tensor_info_boxed);
  g_test_add_func ("/weight-file/error-from-status", test_error_from_status);
  g_test_add_func ("/weight-file/per-channel-vector", test_per_channel_vector);

  status = g_test_run ();

  qs_test_remove_tree (tmp_dir);
  g_free (tmp_dir);
  return status;
}
