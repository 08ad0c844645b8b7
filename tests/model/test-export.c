/* test-export.c: exports read back with the HDF5 C API; streaming equals in-memory; nothing lost on failure.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <math.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <hdf5.h>

#include "model/qs-error.h"
#include "model/qs-export.h"
#include "model/qs-scheme-file.h"
#include "model/qs-tensor-stream.h"
#include "quant/qs-float-format.h"
#include "qs-test-hdf5.h"

/* Small enough that every tensor of the large fixture is streamed in
 * blocks of 2,048 values. */
#define SMALL_BUDGET (64 << 10)
#define VECTOR_COUNT 60001

static char *tmp_dir;

/* ---- fixtures ----------------------------------------------------------- */

static char *
fixture_path (const char *name)
{
  return g_build_filename (tmp_dir, name, NULL);
}

/* A float dataset of @file_type from float values; chunked and compressed
 * when @chunk is given. */
static void
write_dataset (hid_t          file,
               const char    *path,
               hid_t          file_type,
               int            rank,
               const hsize_t *dims,
               const hsize_t *chunk,
               const float   *values)
{
  hid_t lcpl = qs_test_lcpl_intermediate ();
  hid_t space = rank == 0 ? H5Screate (H5S_SCALAR) : H5Screate_simple (rank, dims, NULL);
  hid_t dcpl = H5Pcreate (H5P_DATASET_CREATE);
  hid_t dset;

  if (chunk != NULL)
    {
      H5Pset_chunk (dcpl, rank, chunk);
      H5Pset_shuffle (dcpl);
      H5Pset_deflate (dcpl, 4);
    }
  dset = H5Dcreate2 (file, path, file_type, space, lcpl, dcpl, H5P_DEFAULT);
  g_assert_cmpint (dset, >=, 0);
  if (values != NULL)
    g_assert_cmpint (H5Dwrite (dset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values), >=, 0);
  H5Dclose (dset);
  H5Pclose (dcpl);
  H5Sclose (space);
  H5Pclose (lcpl);
}

static void
write_string_attr (hid_t       file,
                   const char *obj,
                   const char *name,
                   const char *value,
                   gboolean    variable)
{
  hid_t type = H5Tcopy (H5T_C_S1);
  hid_t space = H5Screate (H5S_SCALAR);
  hid_t attr;

  if (variable)
    H5Tset_size (type, H5T_VARIABLE);
  else
    H5Tset_size (type, strlen (value));
  attr = H5Acreate_by_name (file, obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  g_assert_cmpint (attr, >=, 0);
  g_assert_cmpint (H5Awrite (attr, type, variable ? (const void *) &value : (const void *) value), >=, 0);
  H5Aclose (attr);
  H5Sclose (space);
  H5Tclose (type);
}

static void
write_string_list_attr (hid_t              file,
                        const char        *obj,
                        const char        *name,
                        const char *const *values,
                        hsize_t            n)
{
  hid_t type = H5Tcopy (H5T_C_S1);
  hid_t space = H5Screate_simple (1, &n, NULL);
  hid_t attr;

  H5Tset_size (type, H5T_VARIABLE);
  attr = H5Acreate_by_name (file, obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  g_assert_cmpint (H5Awrite (attr, type, values), >=, 0);
  H5Aclose (attr);
  H5Sclose (space);
  H5Tclose (type);
}

static void
ramp (float  *values,
      gsize   n,
      guint32 seed)
{
  GRand *rand = g_rand_new_with_seed (seed);

  /* Normal-ish weights: a sum of uniforms, with a few outliers. */
  for (gsize i = 0; i < n; i++)
    {
      double v = 0.0;
      for (int k = 0; k < 4; k++)
        v += g_rand_double_range (rand, -0.05, 0.05);
      values[i] = (float) (i % 997 == 0 ? v * 8.0 : v) + (float) ((i % 7) * 0.001);
    }
  g_rand_free (rand);
}

static hid_t
float16_type (void)
{
  hid_t type = H5Tcopy (H5T_IEEE_F32LE);

  H5Tset_fields (type, 15, 10, 5, 0, 10);
  H5Tset_size (type, 2);
  H5Tset_ebias (type, 15);
  return type;
}

/* A Keras-like model with every kind of thing the export must carry over. */
static void
make_keras_fixture (const char *name)
{
  g_autofree char *path = fixture_path (name);
  g_autofree char *ext_path = fixture_path ("external.h5");
  hid_t h5, ext, f16, space, attr;
  hsize_t k_dims[4] = { 3, 3, 4, 8 }, k_chunk[4] = { 3, 3, 4, 4 }, b_dims[1] = { 8 };
  hsize_t d_dims[2] = { 32, 10 }, h_dims[2] = { 6, 5 }, e_dims[2] = { 0, 4 }, i_dims[1] = { 5 };
  float kernel[288], bias[8], dense[320], half[30], w[12];
  const int ints[5] = { 1, 2, 3, 4, 5 };
  const double scalar = 0.25;
  const char *layer_names[] = { "conv", "dense" };
  const char *conv_weights[] = { "conv/kernel:0", "conv/bias:0" };
  const char *dense_weights[] = { "dense/kernel:0" };
  const gint64 shape_attr[3] = { 1, 2, 3 };

  ramp (kernel, 288, 1);
  ramp (bias, 8, 2);
  ramp (dense, 320, 3);
  ramp (half, 30, 4);
  ramp (w, 12, 5);

  ext = H5Fcreate (ext_path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  hsize_t w_dims[2] = { 3, 4 };
  write_dataset (ext, "/w", H5T_IEEE_F32LE, 2, w_dims, NULL, w);
  H5Fclose (ext);

  h5 = H5Fcreate (path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  g_assert_cmpint (h5, >=, 0);
  write_string_attr (h5, "/", "keras_version", "2.11.0", TRUE);
  write_string_attr (h5, "/", "backend", "tensorflow", FALSE);
  write_string_attr (h5, "/", "model_config", "{\"class_name\": \"Sequential\", \"config\": {\"layers\": []}}", TRUE);
  space = H5Screate_simple (1, (hsize_t[]) { 3 }, NULL);
  attr = H5Acreate2 (h5, "int_list", H5T_STD_I64BE, space, H5P_DEFAULT, H5P_DEFAULT);
  H5Awrite (attr, H5T_NATIVE_INT64, shape_attr);
  H5Aclose (attr);
  H5Sclose (space);
  space = H5Screate (H5S_NULL);
  attr = H5Acreate2 (h5, "nothing", H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT);
  H5Aclose (attr);
  H5Sclose (space);

  write_dataset (h5, "/model_weights/conv/conv/kernel:0", H5T_IEEE_F32LE, 4, k_dims, k_chunk, kernel);
  write_dataset (h5, "/model_weights/conv/conv/bias:0", H5T_IEEE_F32LE, 1, b_dims, NULL, bias);
  write_dataset (h5, "/model_weights/dense/dense/kernel:0", H5T_IEEE_F64BE, 2, d_dims, NULL, dense);
  write_string_list_attr (h5, "/model_weights", "layer_names", layer_names, 2);
  write_string_list_attr (h5, "/model_weights/conv", "weight_names", conv_weights, 2);
  write_string_list_attr (h5, "/model_weights/dense", "weight_names", dense_weights, 1);
  write_string_attr (h5, "/model_weights/conv/conv/kernel:0", "note", "kept", TRUE);

  f16 = float16_type ();
  write_dataset (h5, "/other/half", f16, 2, h_dims, NULL, half);
  H5Tclose (f16);
  write_dataset (h5, "/other/scalar", H5T_IEEE_F64LE, 0, NULL, NULL, NULL);
  {
    hid_t dset = H5Dopen2 (h5, "/other/scalar", H5P_DEFAULT);
    H5Dwrite (dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, &scalar);
    H5Dclose (dset);
  }
  write_dataset (h5, "/other/empty", H5T_IEEE_F32LE, 2, e_dims, NULL, NULL);
  {
    hid_t lcpl = qs_test_lcpl_intermediate ();
    hid_t ispace = H5Screate_simple (1, i_dims, NULL);
    hid_t dset = H5Dcreate2 (h5, "/other/ints", H5T_STD_I32LE, ispace, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite (dset, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, ints);
    H5Dclose (dset);
    H5Sclose (ispace);
    H5Pclose (lcpl);
  }
  {
    /* Deeper than the kernel: the reader names an object by its shortest path. */
    hid_t lcpl = qs_test_lcpl_intermediate ();
    g_assert_cmpint (H5Lcreate_hard (h5, "/model_weights/conv/conv/kernel:0", h5,
                                     "/model_weights/conv/conv/zz/alias", lcpl, H5P_DEFAULT), >=, 0);
    H5Pclose (lcpl);
  }
  g_assert_cmpint (H5Lcreate_soft ("/other/ints", h5, "/soft", H5P_DEFAULT, H5P_DEFAULT), >=, 0);
  g_assert_cmpint (H5Lcreate_external ("external.h5", "/w", h5, "/ext", H5P_DEFAULT, H5P_DEFAULT), >=, 0);
  g_assert_cmpint (H5Lcreate_external ("missing.h5", "/x", h5, "/ext_missing", H5P_DEFAULT, H5P_DEFAULT), >=, 0);
  g_assert_cmpint (H5Fclose (h5), >=, 0);
}

static QsWeightFile *
open_fixture (const char *name)
{
  g_autofree char *path = fixture_path (name);
  g_autoptr(GError) error = NULL;
  QsWeightFile *file = qs_weight_file_open_full (path, QS_WEIGHT_FILE_FOLLOW_EXTERNAL_LINKS, &error);

  g_assert_no_error (error);
  g_assert_nonnull (file);
  return file;
}

static QsExportResult *
export_with (QsWeightFile          *file,
             const char            *output_name,
             QsSchemeFile          *schemes,
             const QsExportOptions *options,
             GError               **error)
{
  g_autofree char *output = fixture_path (output_name);

  return qs_export (file, output, qs_scheme_file_get_set (schemes), options, NULL, NULL, NULL, error);
}

static const QsExportTensor *
result_tensor (const QsExportResult *result,
               const char           *path)
{
  for (guint i = 0; i < result->tensors->len; i++)
    {
      const QsExportTensor *t = g_ptr_array_index (result->tensors, i);
      if (g_str_equal (t->path, path))
        return t;
    }
  g_assert_not_reached ();
  return NULL;
}

/* ---- reading back ------------------------------------------------------- */

static hid_t
open_output (const char *name)
{
  g_autofree char *path = fixture_path (name);
  hid_t h5 = H5Fopen (path, H5F_ACC_RDONLY, H5P_DEFAULT);

  g_assert_cmpint (h5, >=, 0);
  return h5;
}

static gsize
attribute_floats (hid_t       dset,
                  const char *name,
                  float      *out,
                  gsize       max)
{
  hid_t attr = H5Aopen (dset, name, H5P_DEFAULT);
  hid_t space = H5Aget_space (attr);
  hssize_t n = H5Sget_simple_extent_npoints (space);

  g_assert_cmpint (attr, >=, 0);
  g_assert_cmpint (n, <=, (hssize_t) max);
  g_assert_cmpint (H5Aread (attr, H5T_NATIVE_FLOAT, out), >=, 0);
  H5Sclose (space);
  H5Aclose (attr);
  return (gsize) n;
}

static gint64
attribute_int (hid_t       dset,
               const char *name)
{
  hid_t attr = H5Aopen (dset, name, H5P_DEFAULT);
  gint64 value = G_MININT64;

  g_assert_cmpint (attr, >=, 0);
  g_assert_cmpint (H5Aread (attr, H5T_NATIVE_INT64, &value), >=, 0);
  H5Aclose (attr);
  return value;
}

static double
attribute_double (hid_t       dset,
                  const char *name)
{
  hid_t attr = H5Aopen (dset, name, H5P_DEFAULT);
  double value = NAN;

  g_assert_cmpint (H5Aread (attr, H5T_NATIVE_DOUBLE, &value), >=, 0);
  H5Aclose (attr);
  return value;
}

static char *
attribute_string (hid_t       obj,
                  const char *name)
{
  hid_t attr = H5Aopen (obj, name, H5P_DEFAULT);
  hid_t type = H5Tcopy (H5T_C_S1);
  char *value = NULL, *copy;

  hid_t stored = H5Aget_type (attr);

  g_assert_cmpint (attr, >=, 0);
  H5Tset_size (type, H5T_VARIABLE);
  H5Tset_cset (type, H5Tget_cset (stored));
  H5Tclose (stored);
  g_assert_cmpint (H5Aread (attr, type, &value), >=, 0);
  copy = g_strdup (value);
  H5free_memory (value);
  H5Tclose (type);
  H5Aclose (attr);
  return copy;
}

static float *
read_floats (hid_t       h5,
             const char *path,
             gsize       n)
{
  hid_t dset = H5Dopen2 (h5, path, H5P_DEFAULT);
  float *values = g_new (float, MAX (n, 1));

  g_assert_cmpint (dset, >=, 0);
  g_assert_cmpint (H5Dread (dset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values), >=, 0);
  H5Dclose (dset);
  return values;
}

static gint32 *
read_codes (hid_t       h5,
            const char *path,
            gsize       n)
{
  hid_t dset = H5Dopen2 (h5, path, H5P_DEFAULT);
  gint32 *codes = g_new (gint32, MAX (n, 1));

  g_assert_cmpint (dset, >=, 0);
  g_assert_cmpint (H5Dread (dset, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, codes), >=, 0);
  H5Dclose (dset);
  return codes;
}

/* The reconstruction the export promises: (q - zero_point) * scale, in
 * float32, along the stored axis. */
static void
assert_reconstruction (hid_t                 h5,
                       const char           *path,
                       const QsTensorReport *report)
{
  const QsTensorInfo *info = report->info;
  hid_t dset = H5Dopen2 (h5, path, H5P_DEFAULT);
  g_autofree gint32 *codes = read_codes (h5, path, info->count);
  g_autofree float *scale = g_new (float, report->params.channels);
  g_autofree float *zero = g_new (float, report->params.channels);
  gint64 axis = attribute_int (dset, "axis");
  gsize channels = attribute_floats (dset, "scale", scale, report->params.channels);
  QsChannelLayout layout = qs_channel_layout_per_tensor (info->count);
  double err2 = 0.0;

  g_assert_cmpuint (attribute_floats (dset, "zero_point", zero, report->params.channels), ==, channels);
  g_assert_cmpuint (channels, ==, report->params.channels);
  if (axis >= 0)
    g_assert_cmpint (qs_channel_layout_for_axis (info->shape, info->rank, (int) axis, &layout), ==, QS_OK);

  for (gsize c = 0; c < channels; c++)
    {
      g_assert_cmpfloat (scale[c], ==, report->params.scale[c]);
      g_assert_cmpfloat (zero[c], ==, report->params.zero_point[c]);
    }
  for (gsize i = 0; i < info->count; i++)
    {
      gsize c = channels > 1 ? (i / layout.inner) % layout.channels : 0;
      float recon = ((float) codes[i] - zero[c]) * scale[c];

      g_assert_cmpfloat (recon, ==, qs_dequantize_code (&report->params, c, codes[i]));
      g_assert_cmpint (codes[i], >=, report->params.qmin);
      g_assert_cmpint (codes[i], <=, report->params.qmax);
      (void) err2;
    }
  g_assert_cmpfloat (attribute_double (dset, "quantscope_mse"), ==, report->analysis.mse);
  H5Dclose (dset);
}

static gboolean
same_object (hid_t       h5,
             const char *a,
             const char *b)
{
  H5O_info_t ia, ib;

  g_assert_cmpint (H5Oget_info_by_name2 (h5, a, &ia, H5O_INFO_BASIC, H5P_DEFAULT), >=, 0);
  g_assert_cmpint (H5Oget_info_by_name2 (h5, b, &ib, H5O_INFO_BASIC, H5P_DEFAULT), >=, 0);
  return ia.addr == ib.addr;
}

static H5L_type_t
link_type (hid_t       h5,
           const char *path)
{
  H5L_info_t info;

  g_assert_cmpint (H5Lget_info (h5, path, &info, H5P_DEFAULT), >=, 0);
  return info.type;
}

static void
assert_no_temporary (void)
{
  g_autoptr(GDir) dir = g_dir_open (tmp_dir, 0, NULL);
  const char *name;

  while ((name = g_dir_read_name (dir)) != NULL)
    g_assert_false (name[0] == '.');
}

/* ---- tests -------------------------------------------------------------- */

static void
test_quantized (void)
{
  g_autoptr(QsWeightFile) file = NULL;
  g_autoptr(QsSchemeFile) schemes = qs_scheme_file_new (NULL);
  g_autoptr(QsExportResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *version = NULL;
  g_autofree char *scheme_text = NULL;
  g_autofree char *config = NULL;
  g_autoptr(QsSchemeFile) recorded = NULL;
  QsExportOptions options;
  const char *quantized[] = { "/model_weights/conv/conv/kernel:0", "/model_weights/dense/dense/kernel:0",
                              "/other/half", "/other/scalar", "/ext" };
  hid_t h5, dset, type, dcpl;

  make_keras_fixture ("keras.h5");
  file = open_fixture ("keras.h5");
  qs_export_options_init (&options);
  result = export_with (file, "quantized.h5", schemes, &options, &error);
  g_assert_no_error (error);
  g_assert_nonnull (result);

  g_assert_cmpstr (result_tensor (result, "/model_weights/conv/conv/bias:0")->reason, ==, "skipped by the scheme");
  g_assert_cmpstr (result_tensor (result, "/other/ints")->reason, ==, "not floating point");
  g_assert_cmpstr (result_tensor (result, "/other/empty")->reason, ==, "empty");

  h5 = open_output ("quantized.h5");
  for (gsize i = 0; i < G_N_ELEMENTS (quantized); i++)
    {
      const QsExportTensor *t = result_tensor (result, quantized[i]);

      g_test_message ("%s", quantized[i]);
      g_assert_true (t->quantized);
      g_assert_false (t->streamed);
      dset = H5Dopen2 (h5, quantized[i], H5P_DEFAULT);
      type = H5Dget_type (dset);
      g_assert_cmpint (H5Tequal (type, H5T_STD_I8LE), >, 0);
      H5Tclose (type);
      g_assert_cmpint (attribute_int (dset, "bits"), ==, 8);
      g_assert_cmpint (attribute_int (dset, "signed"), ==, 1);
      H5Dclose (dset);
      assert_reconstruction (h5, quantized[i], t->report);
    }

  /* The kernel keeps its compression, chunks and its own attribute. */
  dset = H5Dopen2 (h5, "/model_weights/conv/conv/kernel:0", H5P_DEFAULT);
  dcpl = H5Dget_create_plist (dset);
  g_assert_cmpint (H5Pget_layout (dcpl), ==, H5D_CHUNKED);
  g_assert_cmpint (H5Pget_nfilters (dcpl), ==, 2);
  H5Pclose (dcpl);
  g_autofree char *note = attribute_string (dset, "note");
  g_autofree char *source_dtype = attribute_string (dset, "source_dtype");
  g_autofree char *mapping = attribute_string (dset, "mapping");
  g_assert_cmpstr (note, ==, "kept");
  g_assert_cmpstr (source_dtype, ==, "float32");
  /* The default scheme: TFLite's symmetric weights. */
  g_assert_cmpstr (mapping, ==, "symmetric");
  H5Dclose (dset);

  /* Root and group attributes, links. */
  version = attribute_string (h5, "keras_version");
  g_assert_cmpstr (version, ==, "2.11.0");
  config = attribute_string (h5, "model_config");
  g_assert_nonnull (strstr (config, "Sequential"));
  g_assert_cmpint (H5Aexists (h5, "backend"), >, 0);
  g_assert_cmpint (H5Aexists (h5, "int_list"), >, 0);
  g_assert_cmpint (H5Aexists (h5, "nothing"), >, 0);
  g_assert_cmpint (H5Aexists_by_name (h5, "/model_weights", "layer_names", H5P_DEFAULT), >, 0);
  g_assert_cmpint (H5Aexists_by_name (h5, "/model_weights/conv", "weight_names", H5P_DEFAULT), >, 0);
  g_assert_true (same_object (h5, "/model_weights/conv/conv/zz/alias", "/model_weights/conv/conv/kernel:0"));
  g_assert_cmpint (link_type (h5, "/soft"), ==, H5L_TYPE_SOFT);
  g_assert_cmpint (link_type (h5, "/ext"), ==, H5L_TYPE_HARD);
  g_assert_cmpint (link_type (h5, "/ext_missing"), ==, H5L_TYPE_EXTERNAL);

  /* The whole scheme is recorded and reads back as a scheme file. */
  scheme_text = attribute_string (h5, "quantscope_scheme");
  recorded = qs_scheme_file_load_from_data (scheme_text, -1, "quantscope_scheme", &error);
  g_assert_no_error (error);
  g_assert_cmpint (qs_scheme_file_get_default (recorded)->bits, ==, 8);
  g_assert_cmpint (H5Aexists (h5, "quantscope_version"), >, 0);
  H5Fclose (h5);

  /* An existing output needs force. */
  g_clear_pointer (&result, qs_export_result_free);
  result = export_with (file, "quantized.h5", schemes, &options, &error);
  g_assert_null (result);
  g_assert_error (error, QS_ERROR, QS_ERROR_INVALID);
  g_clear_error (&error);
  options.force = TRUE;
  result = export_with (file, "quantized.h5", schemes, &options, &error);
  g_assert_no_error (error);
  assert_no_temporary ();
}

static void
test_dequantized (void)
{
  g_autoptr(QsWeightFile) file = NULL;
  g_autoptr(QsSchemeFile) schemes = qs_scheme_file_new (NULL);
  g_autoptr(QsExportResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *input_path = fixture_path ("keras.h5");
  QsExportOptions options;
  GPtrArray *tensors;
  hid_t in, out;

  make_keras_fixture ("keras.h5");
  file = open_fixture ("keras.h5");
  qs_export_options_init (&options);
  options.layout = QS_EXPORT_LAYOUT_DEQUANTIZED;
  result = export_with (file, "dequantized.h5", schemes, &options, &error);
  g_assert_no_error (error);

  in = H5Fopen (input_path, H5F_ACC_RDONLY, H5P_DEFAULT);
  out = open_output ("dequantized.h5");
  tensors = qs_weight_file_get_tensors (file);
  for (guint i = 0; i < tensors->len; i++)
    {
      const QsTensorInfo *info = g_ptr_array_index (tensors, i);
      const QsExportTensor *t = result_tensor (result, info->path);
      hid_t din = H5Dopen2 (in, info->path, H5P_DEFAULT);
      hid_t dout = H5Dopen2 (out, info->path, H5P_DEFAULT);
      hid_t tin = H5Dget_type (din), tout = H5Dget_type (dout);
      H5O_info_t oin, oout;

      g_test_message ("%s", info->path);
      /* Same type, same attributes. */
      g_assert_cmpint (H5Tequal (tin, tout), >, 0);
      H5Oget_info2 (din, &oin, H5O_INFO_NUM_ATTRS);
      H5Oget_info2 (dout, &oout, H5O_INFO_NUM_ATTRS);
      g_assert_cmpuint (oin.num_attrs, ==, oout.num_attrs);

      if (t->quantized)
        {
          g_autofree float *values = read_floats (in, info->path, info->count);
          g_autofree float *stored = read_floats (out, info->path, info->count);
          g_autofree gint32 *codes = g_new (gint32, info->count);
          QsChannelLayout layout = qs_channel_layout_per_tensor (info->count);

          if (t->report->params.channels > 1)
            qs_channel_layout_for_axis (info->shape, info->rank, t->report->scheme.axis, &layout);
          qs_quantize (&t->report->params, &layout, values, codes);
          for (gsize k = 0; k < info->count; k++)
            {
              gsize c = layout.channels > 1 ? (k / layout.inner) % layout.channels : 0;
              float recon = qs_dequantize_code (&t->report->params, c, codes[k]);

              /* Stored in the input's type: float16 rounds once more. */
              if (g_str_equal (info->dtype, "float16"))
                recon = qs_fp16_to_float (qs_float_to_fp16 (recon));
              g_assert_cmpfloat (stored[k], ==, recon);
            }
        }
      H5Tclose (tin);
      H5Tclose (tout);
      H5Dclose (din);
      H5Dclose (dout);
    }
  H5Fclose (in);
  H5Fclose (out);
}

static void
test_mixed (void)
{
  static const char *text =
    "{\"version\": 1,\n"
    " \"default\": {\"bits\": 8, \"mapping\": \"asymmetric\", \"granularity\": \"channel\"},\n"
    " \"overrides\": [{\"tensors\": \"*/conv/kernel:0\", \"bits\": 4, \"mapping\": \"symmetric\"},\n"
    "               {\"tensors\": \"/other/*\", \"bits\": 12, \"signed\": false, \"granularity\": \"tensor\"}],\n"
    " \"skip\": [\"role:batchnorm\"]}\n";
  g_autoptr(GError) error = NULL;
  g_autoptr(QsSchemeFile) schemes = qs_scheme_file_load_from_data (text, -1, "mixed.json", &error);
  g_autoptr(QsWeightFile) file = NULL;
  g_autoptr(QsExportResult) result = NULL;
  QsExportOptions options;
  hid_t h5, dset, type;

  g_assert_no_error (error);
  make_keras_fixture ("keras.h5");
  file = open_fixture ("keras.h5");
  qs_export_options_init (&options);
  result = export_with (file, "mixed.h5", schemes, &options, &error);
  g_assert_no_error (error);

  h5 = open_output ("mixed.h5");
  dset = H5Dopen2 (h5, "/model_weights/conv/conv/kernel:0", H5P_DEFAULT);
  g_assert_cmpint (attribute_int (dset, "bits"), ==, 4);
  g_assert_cmpint (attribute_int (dset, "axis"), ==, 3);
  g_assert_cmpint (attribute_int (dset, "qmin"), ==, -8);
  H5Dclose (dset);
  assert_reconstruction (h5, "/model_weights/conv/conv/kernel:0",
                         result_tensor (result, "/model_weights/conv/conv/kernel:0")->report);
  g_assert_cmpuint (result_tensor (result, "/model_weights/conv/conv/kernel:0")->report->params.channels, ==, 8);

  /* The bias is quantized here (the skip list names batch-norm only). */
  g_assert_true (result_tensor (result, "/model_weights/conv/conv/bias:0")->quantized);

  dset = H5Dopen2 (h5, "/other/half", H5P_DEFAULT);
  type = H5Dget_type (dset);
  g_assert_cmpint (H5Tequal (type, H5T_STD_U16LE), >, 0);
  g_assert_cmpint (attribute_int (dset, "bits"), ==, 12);
  g_assert_cmpint (attribute_int (dset, "axis"), ==, -1);
  H5Tclose (type);
  H5Dclose (dset);
  assert_reconstruction (h5, "/other/half", result_tensor (result, "/other/half")->report);
  H5Fclose (h5);

  /* --tensors narrows what is quantized. */
  g_clear_pointer (&result, qs_export_result_free);
  options.tensors = "*dense*";
  options.force = TRUE;
  result = export_with (file, "mixed.h5", schemes, &options, &error);
  g_assert_no_error (error);
  g_assert_true (result_tensor (result, "/model_weights/dense/dense/kernel:0")->quantized);
  g_assert_cmpstr (result_tensor (result, "/model_weights/conv/conv/kernel:0")->reason, ==,
                   "not selected by --tensors");
}

/* A generic file of larger tensors, for streaming. */
static void
make_large_fixture (const char *name)
{
  g_autofree char *path = fixture_path (name);
  hsize_t dims[2] = { 300, 200 }, chunk[2] = { 16, 50 }, vdims[1] = { VECTOR_COUNT };
  g_autofree float *values = g_new (float, VECTOR_COUNT);
  hid_t fapl = H5Pcreate (H5P_FILE_ACCESS);
  hid_t h5;

  /* Large datasets start at a multiple of 64 bytes, so the contiguous
   * float32 ones are streamed through mapped windows of the file; the
   * chunked big-endian one goes through HDF5. */
  H5Pset_alignment (fapl, 4096, 64);
  h5 = H5Fcreate (path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  H5Pclose (fapl);
  ramp (values, VECTOR_COUNT, 7);
  write_dataset (h5, "/dense/kernel", H5T_IEEE_F32LE, 2, dims, NULL, values);
  ramp (values, VECTOR_COUNT, 8);
  write_dataset (h5, "/conv.weight", H5T_IEEE_F32BE, 2, dims, chunk, values);
  ramp (values, VECTOR_COUNT, 9);
  values[12345] = NAN;
  values[54321] = INFINITY;
  write_dataset (h5, "/vector", H5T_IEEE_F32LE, 1, vdims, NULL, values);
  g_assert_cmpint (H5Fclose (h5), >=, 0);
}

static void
assert_same_dataset (const char *a_name,
                     const char *b_name,
                     const char *path,
                     gsize       n)
{
  hid_t a = open_output (a_name), b = open_output (b_name);
  g_autofree gint32 *ca = read_codes (a, path, n);
  g_autofree gint32 *cb = read_codes (b, path, n);
  hid_t da = H5Dopen2 (a, path, H5P_DEFAULT), db = H5Dopen2 (b, path, H5P_DEFAULT);
  g_autofree float *sa = g_new (float, n);
  g_autofree float *sb = g_new (float, n);
  gsize na = attribute_floats (da, "scale", sa, n), nb = attribute_floats (db, "scale", sb, n);

  g_assert_cmpmem (sa, na * sizeof (float), sb, nb * sizeof (float));
  g_assert_cmpmem (ca, n * sizeof (gint32), cb, n * sizeof (gint32));
  g_assert_cmpfloat (attribute_double (da, "quantscope_mse"), ==, attribute_double (db, "quantscope_mse"));
  H5Dclose (da);
  H5Dclose (db);
  H5Fclose (a);
  H5Fclose (b);
}

typedef struct {
  const char *range;
  const char *granularity;
  const char *axis;       /* JSON: null or an integer */
} StreamCase;

static void
test_streaming (void)
{
  static const StreamCase cases[] = {
    { "minmax", "tensor", "null" },
    { "minmax", "channel", "null" },   /* dense/kernel: last axis; conv.weight: axis 0 */
    { "minmax", "channel", "-1" },
    { "mse", "tensor", "null" },
    { "kl", "tensor", "null" },
    { "mse", "channel", "0" },
  };
  g_autoptr(QsWeightFile) file = NULL;

  make_large_fixture ("large.h5");
  file = open_fixture ("large.h5");
  for (guint i = 0; i < 3; i++)
    {
      const char *paths[] = { "/dense/kernel", "/vector", "/conv.weight" };
      guint64 offset;
      int fd = qs_weight_file_dup_raw_fd (file, qs_weight_file_lookup (file, paths[i]), &offset);

      /* Both ways of streaming are covered. */
      g_assert_cmpint (fd >= 0, ==, i < 2);
      if (fd >= 0)
        close (fd);
    }

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      /* Per channel, the vector would be 60,001 channels of one value. */
      g_autofree char *text = g_strdup_printf ("{\"version\": 1, \"default\": {\"range\": \"%s\", "
                                               "\"granularity\": \"%s\", \"axis\": %s}, \"skip\": [%s]}",
                                               cases[i].range, cases[i].granularity, cases[i].axis,
                                               g_str_equal (cases[i].granularity, "channel") ? "\"/vector\"" : "");
      g_autoptr(GError) error = NULL;
      g_autoptr(QsSchemeFile) schemes = qs_scheme_file_load_from_data (text, -1, "case", &error);
      g_autoptr(QsExportResult) memory = NULL;
      g_autoptr(QsExportResult) streamed = NULL;
      QsExportOptions options;

      g_test_message ("%s", text);
      g_assert_no_error (error);
      qs_export_options_init (&options);
      options.force = TRUE;
      memory = export_with (file, "memory.h5", schemes, &options, &error);
      g_assert_no_error (error);
      options.memory_budget = SMALL_BUDGET;
      options.n_threads = 2;
      streamed = export_with (file, "streamed.h5", schemes, &options, &error);
      g_assert_no_error (error);

      for (guint t = 0; t < streamed->tensors->len; t++)
        {
          const QsExportTensor *s = g_ptr_array_index (streamed->tensors, t);
          const QsExportTensor *m = result_tensor (memory, s->path);

          if (!s->quantized)
            continue;
          g_assert_true (s->streamed);
          g_assert_false (m->streamed);
          g_assert_cmpfloat (s->report->analysis.mse, ==, m->report->analysis.mse);
          g_assert_cmpfloat (s->report->analysis.sqnr_db, ==, m->report->analysis.sqnr_db);
          g_assert_cmpuint (s->report->analysis.levels_used, ==, m->report->analysis.levels_used);
          g_assert_cmpuint (s->report->analysis.exact_zero_count, ==, m->report->analysis.exact_zero_count);
          g_assert_cmpmem (s->report->analysis.histogram.counts, s->report->analysis.histogram.bins * 8,
                           m->report->analysis.histogram.counts, m->report->analysis.histogram.bins * 8);
          assert_same_dataset ("memory.h5", "streamed.h5", s->path, s->report->info->count);
        }
    }
}

static void
test_streaming_percentile (void)
{
  g_autoptr(QsWeightFile) file = NULL;
  QsScheme scheme;

  make_large_fixture ("large.h5");
  file = open_fixture ("large.h5");
  qs_scheme_init_per_tensor (&scheme);
  scheme.range_method = QS_RANGE_PERCENTILE;
  scheme.percentile = 99.9;

  for (int per_channel = 0; per_channel < 2; per_channel++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(QsTensorReport) exact = NULL;
      g_autoptr(QsTensorReport) approx = NULL;
      double width;

      scheme.granularity = per_channel ? QS_GRANULARITY_CHANNEL : QS_GRANULARITY_TENSOR;
      exact = qs_tensor_report_compute_budget (file, "/dense/kernel", &scheme, 0, 0, NULL, &error);
      g_assert_no_error (error);
      approx = qs_tensor_report_compute_budget (file, "/dense/kernel", &scheme, 0, SMALL_BUDGET, NULL, &error);
      g_assert_no_error (error);

      for (gsize c = 0; c < exact->params.channels; c++)
        {
          /* Within one histogram bin of the exact percentile. */
          width = (exact->analysis.channel_max[c] - exact->analysis.channel_min[c])
                  / (per_channel ? 4096.0 : 65536.0);
          g_assert_cmpfloat_with_epsilon (approx->params.range_hi[c], exact->params.range_hi[c], width * 1.01);
          g_assert_cmpfloat_with_epsilon (approx->params.range_lo[c], exact->params.range_lo[c], width * 1.01);
        }
    }
}

static void
unpack (const guint8 *bytes,
        gsize         count,
        int           bits,
        int           qmin,
        gint32       *codes)
{
  for (gsize i = 0; i < count; i++)
    {
      guint32 u = 0;
      for (int b = 0; b < bits; b++)
        {
          guint64 k = (guint64) i * bits + b;
          u |= (guint32) ((bytes[k / 8] >> (k % 8)) & 1) << b;
        }
      codes[i] = (gint32) u + qmin;
    }
}

static void
test_pack (void)
{
  g_autoptr(QsWeightFile) file = NULL;
  const char *path = "/vector";
  gsize n = VECTOR_COUNT;

  make_large_fixture ("large.h5");
  file = open_fixture ("large.h5");

  for (int bits = 2; bits <= 8; bits++)
    for (int streamed = 0; streamed < 2; streamed++)
      {
        g_autoptr(GError) error = NULL;
        QsScheme scheme;
        g_autoptr(QsSchemeFile) schemes = NULL;
        g_autoptr(QsExportResult) plain = NULL;
        g_autoptr(QsExportResult) packed = NULL;
        QsExportOptions options;
        hid_t a, b, dset, space;
        g_autofree gint32 *codes = NULL;
        g_autofree gint32 *unpacked = g_new (gint32, n);
        g_autofree guint8 *bytes = NULL;
        hssize_t nbytes;

        qs_scheme_init_per_tensor (&scheme);
        scheme.bits = bits;
        scheme.mapping = QS_MAPPING_SYMMETRIC;
        schemes = qs_scheme_file_new (&scheme);
        qs_export_options_init (&options);
        options.force = TRUE;
        options.memory_budget = streamed ? SMALL_BUDGET : 0;
        plain = export_with (file, "plain.h5", schemes, &options, &error);
        g_assert_no_error (error);
        options.pack = TRUE;
        packed = export_with (file, "packed.h5", schemes, &options, &error);
        g_assert_no_error (error);

        a = open_output ("plain.h5");
        b = open_output ("packed.h5");
        codes = read_codes (a, path, n);
        dset = H5Dopen2 (b, path, H5P_DEFAULT);
        g_assert_cmpint (attribute_int (dset, "packed"), ==, bits < 8);
        if (bits < 8)
          {
            g_autofree char *order = attribute_string (dset, "packed_bit_order");

            g_assert_cmpstr (order, ==, "lsb-first");
            g_assert_cmpint (attribute_int (dset, "packed_count"), ==, (gint64) n);
            space = H5Dget_space (dset);
            nbytes = H5Sget_simple_extent_npoints (space);
            g_assert_cmpint (nbytes, ==, (hssize_t) ((n * bits + 7) / 8));
            bytes = g_new (guint8, nbytes);
            g_assert_cmpint (H5Dread (dset, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, bytes), >=, 0);
            unpack (bytes, n, bits, (int) attribute_int (dset, "qmin"), unpacked);
            g_assert_cmpmem (unpacked, n * 4, codes, n * 4);
            H5Sclose (space);
          }
        H5Dclose (dset);
        H5Fclose (a);
        H5Fclose (b);
      }
}

static void
assert_file_contents (const char *path,
                      const char *expected)
{
  g_autofree char *contents = NULL;

  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, expected);
}

static void
test_onto_input (void)
{
  g_autoptr(QsWeightFile) file = NULL;
  g_autoptr(QsSchemeFile) schemes = qs_scheme_file_new (NULL);
  g_autofree char *input = fixture_path ("keras.h5");
  g_autofree char *symlink_path = fixture_path ("symlink.h5");
  g_autofree char *hardlink_path = fixture_path ("hardlink.h5");
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  gsize before_length, after_length;
  const char *outputs[] = { input, symlink_path, hardlink_path };
  QsExportOptions options;

  make_keras_fixture ("keras.h5");
  g_remove (symlink_path);
  g_remove (hardlink_path);
  g_assert_cmpint (symlink ("keras.h5", symlink_path), ==, 0);
  g_assert_cmpint (link (input, hardlink_path), ==, 0);
  g_assert_true (g_file_get_contents (input, &before, &before_length, NULL));
  file = open_fixture ("keras.h5");
  qs_export_options_init (&options);
  options.force = TRUE;

  for (gsize i = 0; i < G_N_ELEMENTS (outputs); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(QsExportResult) result = qs_export (file, outputs[i], qs_scheme_file_get_set (schemes), &options,
                                                    NULL, NULL, NULL, &error);

      g_assert_null (result);
      g_assert_error (error, QS_ERROR, QS_ERROR_INVALID);
      g_assert_nonnull (strstr (error->message, "input"));
    }
  g_assert_true (g_file_get_contents (input, &after, &after_length, NULL));
  g_assert_cmpmem (before, before_length, after, after_length);
  g_remove (symlink_path);
  g_remove (hardlink_path);
  assert_no_temporary ();
}

/* A file whose third tensor has a damaged chunk: the export fails midway. */
static void
make_damaged_fixture (const char *name)
{
  g_autofree char *path = fixture_path (name);
  hid_t h5 = H5Fcreate (path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  hsize_t dims[1] = { 4096 }, chunk[1] = { 4096 }, offset[1] = { 0 };
  g_autofree float *values = g_new (float, 4096);
  haddr_t addr;
  hsize_t size;
  hid_t dset;
  FILE *stream;
  char garbage[64];

  ramp (values, 4096, 11);
  write_dataset (h5, "/a_good", H5T_IEEE_F32LE, 1, dims, NULL, values);
  write_dataset (h5, "/b_good", H5T_IEEE_F32LE, 1, dims, NULL, values);
  write_dataset (h5, "/c_bad", H5T_IEEE_F32LE, 1, dims, chunk, values);
  write_dataset (h5, "/d_good", H5T_IEEE_F32LE, 1, dims, NULL, values);
  dset = H5Dopen2 (h5, "/c_bad", H5P_DEFAULT);
  g_assert_cmpint (H5Dget_chunk_info_by_coord (dset, offset, NULL, &addr, &size), >=, 0);
  H5Dclose (dset);
  H5Fclose (h5);

  memset (garbage, 0xA5, sizeof garbage);
  stream = fopen (path, "r+b");
  g_assert_nonnull (stream);
  g_assert_cmpint (fseek (stream, (long) addr, SEEK_SET), ==, 0);
  g_assert_cmpuint (fwrite (garbage, 1, sizeof garbage, stream), ==, sizeof garbage);
  g_assert_cmpint (fclose (stream), ==, 0);
}

static void
test_failure_midway (void)
{
  g_autoptr(QsWeightFile) file = NULL;
  g_autoptr(QsSchemeFile) schemes = qs_scheme_file_new (NULL);
  g_autoptr(QsExportResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *dest = fixture_path ("precious.h5");
  QsExportOptions options;

  make_damaged_fixture ("damaged.h5");
  file = open_fixture ("damaged.h5");
  g_assert_true (g_file_set_contents (dest, "precious", -1, NULL));

  qs_export_options_init (&options);
  options.force = TRUE;
  for (int streamed = 0; streamed < 2; streamed++)
    {
      options.memory_budget = streamed ? SMALL_BUDGET : 0;
      result = qs_export (file, dest, qs_scheme_file_get_set (schemes), &options, NULL, NULL, NULL, &error);
      g_assert_null (result);
      g_assert_error (error, QS_ERROR, QS_ERROR_READ);
      g_assert_nonnull (strstr (error->message, "c_bad"));
      g_clear_error (&error);
      assert_file_contents (dest, "precious");
      assert_no_temporary ();
    }
  g_remove (dest);
}

/* An output that is a symbolic link is exported through: the file the
 * link leads to is replaced from its own folder and the link stays, for
 * an export built in memory and one streamed to a named temporary alike;
 * a failure midway leaves the old contents, a loop is refused, and
 * neither leaves a temporary. */
static void
test_through_link (void)
{
  g_autoptr(QsWeightFile) file = NULL;
  g_autoptr(QsWeightFile) damaged = NULL;
  g_autoptr(QsSchemeFile) schemes = qs_scheme_file_new (NULL);
  g_autofree char *target = fixture_path ("link-target.h5");
  g_autofree char *link_path = fixture_path ("via-link.h5");
  g_autofree char *loop_path = fixture_path ("loop.h5");
  QsExportOptions options;

  make_keras_fixture ("keras.h5");
  make_damaged_fixture ("damaged.h5");
  file = open_fixture ("keras.h5");
  damaged = open_fixture ("damaged.h5");
  g_remove (link_path);
  g_remove (loop_path);
  g_assert_cmpint (symlink ("link-target.h5", link_path), ==, 0);
  g_assert_cmpint (symlink ("loop.h5", loop_path), ==, 0);

  qs_export_options_init (&options);
  options.force = TRUE;
  for (int streamed = 0; streamed < 2; streamed++)
    {
      g_autoptr(QsExportResult) result = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *read = NULL;

      options.memory_budget = streamed ? SMALL_BUDGET : 0;
      g_assert_true (g_file_set_contents (target, "precious", -1, NULL));
      result = qs_export (damaged, link_path, qs_scheme_file_get_set (schemes), &options, NULL, NULL, NULL,
                          &error);
      g_assert_null (result);
      g_assert_error (error, QS_ERROR, QS_ERROR_READ);
      g_clear_error (&error);
      assert_file_contents (target, "precious");
      assert_no_temporary ();

      result = qs_export (file, link_path, qs_scheme_file_get_set (schemes), &options, NULL, NULL, NULL, &error);
      g_assert_no_error (error);
      g_assert_nonnull (result);
      read = g_file_read_link (link_path, NULL);
      g_assert_cmpstr (read, ==, "link-target.h5");
      g_assert_cmpint (H5Fis_hdf5 (target), >, 0);
      assert_no_temporary ();
      g_clear_pointer (&result, qs_export_result_free);

      result = qs_export (file, loop_path, qs_scheme_file_get_set (schemes), &options, NULL, NULL, NULL, &error);
      g_assert_null (result);
      g_assert_error (error, QS_ERROR, QS_ERROR_INVALID);
      g_assert_nonnull (strstr (error->message, "loop"));
      assert_no_temporary ();
    }
  g_remove (link_path);
  g_remove (loop_path);
  g_remove (target);
}

static void
disk_full_child (void)
{
  g_autoptr(QsWeightFile) file = open_fixture ("large.h5");
  g_autoptr(QsSchemeFile) schemes = qs_scheme_file_new (NULL);
  g_autoptr(QsExportResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *dest = fixture_path ("full.h5");
  struct rlimit limit = { 256 * 1024, 256 * 1024 };
  QsExportOptions options;

  /* A file system that fills up after 256 KiB: writes then fail with
   * EFBIG instead of killing us with SIGXFSZ. */
  signal (SIGXFSZ, SIG_IGN);
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &limit), ==, 0);

  qs_export_options_init (&options);
  options.force = TRUE;
  options.layout = QS_EXPORT_LAYOUT_DEQUANTIZED;
  result = qs_export (file, dest, qs_scheme_file_get_set (schemes), &options, NULL, NULL, NULL, &error);
  g_assert_null (result);
  g_assert_error (error, QS_ERROR, QS_ERROR_WRITE);
  g_test_message ("%s", error->message);
}

static void
test_disk_full (void)
{
  g_autofree char *dest = fixture_path ("full.h5");
  g_autofree char *tmp_env = NULL;

  if (g_test_subprocess ())
    {
      disk_full_child ();
      return;
    }

  make_large_fixture ("large.h5");
  g_assert_true (g_file_set_contents (dest, "precious", -1, NULL));
  tmp_env = g_strdup (tmp_dir);
  g_test_trap_subprocess (NULL, 60 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
  assert_file_contents (dest, "precious");
  assert_no_temporary ();
  g_remove (dest);
}

static void
cancel_after_first_cb (const QsExportProgress *progress,
                       gpointer                user_data)
{
  if (progress->tensors_done >= 1)
    g_cancellable_cancel (user_data);
}

static void
test_cancel (void)
{
  g_autoptr(QsWeightFile) file = NULL;
  g_autoptr(QsSchemeFile) schemes = qs_scheme_file_new (NULL);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(QsExportResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *dest = fixture_path ("cancelled.h5");

  make_large_fixture ("large.h5");
  file = open_fixture ("large.h5");
  result = qs_export (file, dest, qs_scheme_file_get_set (schemes), NULL, cancel_after_first_cb, cancellable,
                      cancellable, &error);
  g_assert_null (result);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_false (g_file_test (dest, G_FILE_TEST_EXISTS));
  assert_no_temporary ();
}

typedef struct {
  GMainLoop      *loop;
  QsExportResult *result;
  GError         *error;
  GThread        *main_thread;
  guint           progress_calls;
} AsyncState;

static void
async_progress_cb (const QsExportProgress *progress,
                   gpointer                user_data)
{
  AsyncState *state = user_data;

  g_assert_true (g_thread_self () == state->main_thread);
  state->progress_calls++;
}

static void
async_done_cb (GObject      *source,
               GAsyncResult *res,
               gpointer      user_data)
{
  AsyncState *state = user_data;

  state->result = qs_export_finish (res, &state->error);
  g_main_loop_quit (state->loop);
}

static void
test_async (void)
{
  g_autoptr(QsWeightFile) file = NULL;
  g_autoptr(QsSchemeFile) schemes = qs_scheme_file_new (NULL);
  g_autofree char *dest = fixture_path ("async.h5");
  AsyncState state = { 0, };
  QsExportOptions options;

  /* Its own input: the worker thread may drop its reference (and so close
   * the file) only after the callback ran. */
  make_keras_fixture ("async-input.h5");
  file = open_fixture ("async-input.h5");
  qs_export_options_init (&options);
  options.force = TRUE;
  state.loop = g_main_loop_new (NULL, FALSE);
  state.main_thread = g_thread_self ();
  qs_export_async (file, dest, qs_scheme_file_get_set (schemes), &options, async_progress_cb, &state, NULL,
                   NULL, async_done_cb, &state);
  g_main_loop_run (state.loop);
  g_assert_no_error (state.error);
  g_assert_nonnull (state.result);
  g_assert_cmpuint (state.result->tensors->len, ==, qs_weight_file_get_tensors (file)->len);
  /* Let the last coalesced progress callbacks run. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_cmpuint (state.progress_calls, >, 0);
  qs_export_result_free (state.result);
  g_main_loop_unref (state.loop);
}

/* ---- main --------------------------------------------------------------- */

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  int status;

  /* As the library does on its first HDF5 call: no exit handler, which
   * would crash on the file whose close failed in the disk-full test. */
  H5dont_atexit ();
  g_test_init (&argc, &argv, NULL);

  /* A subprocess (the disk-full test) works in its parent's folder. */
  if (g_test_subprocess ())
    tmp_dir = g_strdup (g_getenv ("QS_EXPORT_TEST_DIR"));
  else
    {
      tmp_dir = g_dir_make_tmp ("qs-export-XXXXXX", &error);
      g_assert_no_error (error);
      g_setenv ("QS_EXPORT_TEST_DIR", tmp_dir, TRUE);
    }

  g_test_add_func ("/export/quantized", test_quantized);
  g_test_add_func ("/export/dequantized", test_dequantized);
  g_test_add_func ("/export/mixed-precision", test_mixed);
  g_test_add_func ("/export/streaming", test_streaming);
  g_test_add_func ("/export/streaming-percentile", test_streaming_percentile);
  g_test_add_func ("/export/pack", test_pack);
  g_test_add_func ("/export/nothing-lost/onto-input", test_onto_input);
  g_test_add_func ("/export/nothing-lost/failure-midway", test_failure_midway);
  g_test_add_func ("/export/nothing-lost/through-link", test_through_link);
  g_test_add_func ("/export/nothing-lost/disk-full", test_disk_full);
  g_test_add_func ("/export/nothing-lost/cancel", test_cancel);
  g_test_add_func ("/export/async", test_async);

  status = g_test_run ();

  if (!g_test_subprocess ())
    qs_test_remove_tree (tmp_dir);
  g_free (tmp_dir);
  return status;
}
