/* test-dataset.c: labeled image sets: idx (gzip and plain), HDF5 x/y, the bundled Fashion-MNIST files.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <string.h>

#include <gio/gio.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <hdf5.h>

#include "model/qs-dataset.h"
#include "model/qs-error.h"
#include "qs-test-hdf5.h"

static char *tmp_dir;

static char *
tmp_path (const char *name)
{
  return g_build_filename (tmp_dir, name, NULL);
}

/* An idx file of uint8 data, gzip-compressed when @gzip. */
static char *
write_idx (const char   *name,
           const guint32 *dims,
           guint          n_dims,
           const guint8  *data,
           gsize          size,
           gboolean       gzip)
{
  char *path = tmp_path (name);
  g_autoptr(GByteArray) bytes = g_byte_array_new ();
  guint8 header[4] = { 0, 0, 0x08, (guint8) n_dims };
  g_autoptr(GError) error = NULL;

  g_byte_array_append (bytes, header, 4);
  for (guint i = 0; i < n_dims; i++)
    {
      guint8 d[4] = { dims[i] >> 24, (dims[i] >> 16) & 0xff, (dims[i] >> 8) & 0xff, dims[i] & 0xff };
      g_byte_array_append (bytes, d, 4);
    }
  g_byte_array_append (bytes, data, (guint) size);

  if (gzip)
    {
      g_autoptr(GFile) file = g_file_new_for_path (path);
      g_autoptr(GFileOutputStream) raw = g_file_replace (file, NULL, FALSE, G_FILE_CREATE_NONE, NULL, &error);
      g_autoptr(GZlibCompressor) zip = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP, 9);
      g_autoptr(GOutputStream) out = NULL;

      g_assert_no_error (error);
      out = g_converter_output_stream_new (G_OUTPUT_STREAM (raw), G_CONVERTER (zip));
      g_assert_true (g_output_stream_write_all (out, bytes->data, bytes->len, NULL, NULL, &error));
      g_assert_true (g_output_stream_close (out, NULL, &error));
      g_assert_no_error (error);
    }
  else
    {
      g_file_set_contents (path, (const char *) bytes->data, bytes->len, &error);
      g_assert_no_error (error);
    }
  return path;
}

static void
test_idx (void)
{
  guint32 dims[3] = { 5, 3, 2 }, ldims[1] = { 5 };
  guint8 pixels[30], labels[5] = { 3, 1, 4, 1, 5 };
  g_autofree char *images_path = NULL;
  g_autofree char *labels_path = NULL;
  g_autoptr(QsDataset) d = NULL;
  g_autoptr(GError) error = NULL;
  const QsEngineDataset *v;

  for (int i = 0; i < 30; i++)
    pixels[i] = (guint8) (i * 8 + 7);
  images_path = write_idx ("set-images-idx3-ubyte.gz", dims, 3, pixels, 30, TRUE);
  /* Labels plain, found by name beside the images. */
  labels_path = write_idx ("set-labels-idx1-ubyte.gz", ldims, 1, labels, 5, FALSE);

  d = qs_dataset_load (images_path, &error);
  g_assert_no_error (error);
  v = qs_dataset_get_view (d);
  g_assert_cmpuint (v->count, ==, 5);
  g_assert_cmpint (v->height, ==, 3);
  g_assert_cmpint (v->width, ==, 2);
  g_assert_cmpint (v->channels, ==, 1);
  g_assert_true (qs_dataset_has_labels (d));
  for (int i = 0; i < 30; i++)
    /* Exactly what float32 (pixel) / 255.0f gives. */
    g_assert_cmpfloat (v->images[i], ==, (float) pixels[i] / 255.0f);
  for (int i = 0; i < 5; i++)
    g_assert_cmpint (v->labels[i], ==, labels[i]);

  /* Without a labels file: unlabeled (calibration) images. */
  g_unlink (labels_path);
  g_clear_pointer (&d, qs_dataset_unref);
  d = qs_dataset_load (images_path, &error);
  g_assert_no_error (error);
  g_assert_false (qs_dataset_has_labels (d));
  g_assert_null (qs_dataset_get_view (d)->labels);
}

static void
test_idx_errors (void)
{
  guint32 dims[3] = { 5, 3, 2 }, ldims[1] = { 4 };
  guint8 pixels[30] = { 0 }, label_codes[4] = { 0 };
  g_autofree char *truncated = write_idx ("short-images-idx3-ubyte.gz", dims, 3, pixels, 20, TRUE);
  g_autofree char *images = write_idx ("count-images-idx3-ubyte", dims, 3, pixels, 30, FALSE);
  g_autofree char *labels = write_idx ("count-labels-idx1-ubyte", ldims, 1, label_codes, 4, FALSE);
  g_autofree char *missing = tmp_path ("missing.gz");
  g_autofree char *text = tmp_path ("text.txt");
  g_autoptr(GError) error = NULL;

  g_assert_null (qs_dataset_load (truncated, &error));
  g_assert_error (error, QS_ERROR, QS_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_null (qs_dataset_load (images, &error));
  g_assert_error (error, QS_ERROR, QS_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "4 labels for 5 images"));
  g_clear_error (&error);
  g_assert_null (qs_dataset_load (missing, &error));
  g_assert_error (error, QS_ERROR, QS_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_file_set_contents (text, "hello\n", -1, NULL);
  g_assert_null (qs_dataset_load (text, &error));
  g_assert_error (error, QS_ERROR, QS_ERROR_INVALID);
}

static void
write_double_attr (hid_t         file,
                   const char   *obj,
                   const char   *name,
                   const double *values,
                   hsize_t       n)
{
  hid_t space = n == 1 ? H5Screate (H5S_SCALAR) : H5Screate_simple (1, &n, NULL);
  hid_t attr = H5Acreate_by_name (file, obj, name, H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);

  g_assert_cmpint (attr, >=, 0);
  g_assert_cmpint (H5Awrite (attr, H5T_NATIVE_DOUBLE, values), >=, 0);
  H5Aclose (attr);
  H5Sclose (space);
}

static void
test_hdf5 (void)
{
  g_autofree char *u8_path = tmp_path ("set-u8.h5");
  g_autofree char *f32_path = tmp_path ("set-f32.h5");
  g_autofree char *bad_path = tmp_path ("set-bad.h5");
  guint8 x8[4 * 2 * 2];
  float xf[3 * 2 * 1 * 2];
  gint64 y[4] = { 0, 9, 2, 7 };
  gint32 y3[3] = { 1, 0, 1 };
  hsize_t d8[3] = { 4, 2, 2 }, df[4] = { 3, 2, 1, 2 }, dy[1] = { 4 }, dy3[1] = { 3 };
  double scale = 0.5, mean[2] = { 1.0, -2.0 };
  g_autoptr(GError) error = NULL;
  hid_t file;

  for (int i = 0; i < 16; i++)
    x8[i] = (guint8) (i * 16);
  for (int i = 0; i < 12; i++)
    xf[i] = (float) i * 0.25f;

  /* uint8 N x H x W with a scalar scale: (x - 0) * 0.5. */
  file = H5Fcreate (u8_path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  qs_test_write_dataset (file, "x", H5T_STD_U8LE, H5T_NATIVE_UINT8, 3, d8, x8);
  qs_test_write_dataset (file, "y", H5T_STD_I64LE, H5T_NATIVE_INT64, 1, dy, y);
  write_double_attr (file, "x", "scale", &scale, 1);
  H5Fclose (file);
  /* float32 N x H x W x C with a per-channel mean on the file. */
  file = H5Fcreate (f32_path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  qs_test_write_dataset (file, "x", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 4, df, xf);
  qs_test_write_dataset (file, "y", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, dy3, y3);
  write_double_attr (file, "/", "mean", mean, 2);
  H5Fclose (file);
  /* No labels. */
  file = H5Fcreate (bad_path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  qs_test_write_dataset (file, "x", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 4, df, xf);
  H5Fclose (file);

  {
    g_autoptr(QsDataset) d = qs_dataset_load (u8_path, &error);
    const QsEngineDataset *v;

    g_assert_no_error (error);
    v = qs_dataset_get_view (d);
    g_assert_cmpuint (v->count, ==, 4);
    g_assert_cmpint (v->channels, ==, 1);
    for (int i = 0; i < 16; i++)
      g_assert_cmpfloat (v->images[i], ==, x8[i] * 0.5f);
    for (int i = 0; i < 4; i++)
      g_assert_cmpint (v->labels[i], ==, y[i]);
  }
  {
    g_autoptr(QsDataset) d = qs_dataset_load (f32_path, &error);
    const QsEngineDataset *v;

    g_assert_no_error (error);
    v = qs_dataset_get_view (d);
    g_assert_cmpint (v->height, ==, 2);
    g_assert_cmpint (v->width, ==, 1);
    g_assert_cmpint (v->channels, ==, 2);
    for (int i = 0; i < 12; i++)
      g_assert_cmpfloat (v->images[i], ==, xf[i] - (float) mean[i % 2]);
  }
  g_assert_null (qs_dataset_load (bad_path, &error));
  g_assert_error (error, QS_ERROR, QS_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "“y”"));
  g_clear_error (&error);

  /* One-hot labels, 3 x 2 for 3 images: the counts agree, so the refusal
   * must name the second dimension, not "3 labels for 3 images". */
  {
    const hsize_t dy_hot[2] = { 3, 2 };
    const gint32 hot[6] = { 0, 1, 1, 0, 0, 1 };

    file = H5Fcreate (bad_path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    qs_test_write_dataset (file, "x", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 4, df, xf);
    qs_test_write_dataset (file, "y", H5T_STD_I32LE, H5T_NATIVE_INT32, 2, dy_hot, hot);
    H5Fclose (file);
    g_assert_null (qs_dataset_load (bad_path, &error));
    g_assert_error (error, QS_ERROR, QS_ERROR_INVALID);
    g_assert_nonnull (strstr (error->message, "“y” is 3 x 2; labels are one class index per image"));
  }
}

/* Writes a set of 9,000 2x2 images, each in its own chunk (big-endian
 * float32, shuffle + deflate + Fletcher-32, as h5py writes them), labels
 * deflated in chunks of 16; with @short_x, the last image's chunk
 * replaced by a deflate stream of one byte, with @short_y the first
 * labels' chunk by one of 8 bytes. */
static char *
write_many_chunks (const char *name,
                   gboolean    short_x,
                   gboolean    short_y,
                   float      *x,
                   gint64     *y)
{
  char *path = tmp_path (name);
  const hsize_t xdims[3] = { 9000, 2, 2 }, xchunk[3] = { 1, 2, 2 }, ydims = 9000, ychunk = 16;
  const hsize_t last[3] = { 8999, 0, 0 }, first = 0;
  const guint8 zeros[8] = { 0 };
  hid_t file = H5Fcreate (path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);

  g_assert_cmpint (file, >=, 0);
  for (int i = 0; i < 9000 * 4; i++)
    x[i] = (float) (i % 1000) * 0.25f;
  for (int i = 0; i < 9000; i++)
    y[i] = i % 10;
  qs_test_write_chunked (file, "x", H5T_IEEE_F32BE, H5T_NATIVE_FLOAT, 3, xdims, xchunk,
                         QS_TEST_SHUFFLE | QS_TEST_DEFLATE | QS_TEST_FLETCHER32, x);
  qs_test_write_chunked (file, "y", H5T_STD_I64LE, H5T_NATIVE_INT64, 1, &ydims, &ychunk, QS_TEST_DEFLATE, y);
  if (short_x)
    {
      g_autoptr(GBytes) one = qs_test_zlib (zeros, 1);
      gsize size = g_bytes_get_size (one);
      g_autofree guint8 *stored = g_malloc (size + 4);
      const guint8 *bytes = g_bytes_get_data (one, NULL);
      guint32 sum1 = 0, sum2 = 0;

      /* Fletcher-32 over the stream, as libhdf5 computes it, so that only
       * the inflated size is wrong. */
      memcpy (stored, bytes, size);
      for (gsize i = 0; i + 1 < size; i += 2)
        {
          sum1 = (sum1 + ((guint32) bytes[i] << 8 | bytes[i + 1])) % 65535;
          sum2 = (sum2 + sum1) % 65535;
        }
      if (size % 2)
        {
          sum1 = (sum1 + ((guint32) bytes[size - 1] << 8)) % 65535;
          sum2 = (sum2 + sum1) % 65535;
        }
      stored[size] = (guint8) sum1;
      stored[size + 1] = (guint8) (sum1 >> 8);
      stored[size + 2] = (guint8) sum2;
      stored[size + 3] = (guint8) (sum2 >> 8);
      qs_test_replace_chunk (file, "x", last, 0, stored, size + 4);
    }
  if (short_y)
    {
      g_autoptr(GBytes) eight = qs_test_zlib (zeros, 8);

      qs_test_replace_chunk (file, "y", &first, 0, g_bytes_get_data (eight, NULL), g_bytes_get_size (eight));
    }
  g_assert_cmpint (H5Fclose (file), >=, 0);
  return path;
}

/* Images and labels in more than 8,192 deflated chunks read as written;
 * one chunk that inflates short, wherever it is, is refused in one line
 * (libhdf5 1.10 would read the image past the end of it). */
/* An "x" of @d0 x @d1 x @d2 x @d3 uint8 values 0, 1, 2, ... with labels 0. */
static char *
write_ramp (const char *name,
            hsize_t     d0,
            hsize_t     d1,
            hsize_t     d2,
            hsize_t     d3)
{
  char *path = tmp_path (name);
  hsize_t dx[4] = { d0, d1, d2, d3 }, dy[1] = { d0 };
  gsize n = d0 * d1 * d2 * d3;
  g_autofree guint8 *x = g_new (guint8, n);
  g_autofree gint32 *y = g_new0 (gint32, d0);
  hid_t file = H5Fcreate (path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);

  for (gsize i = 0; i < n; i++)
    x[i] = (guint8) i;
  qs_test_write_dataset (file, "x", H5T_STD_U8LE, H5T_NATIVE_UINT8, 4, dx, x);
  qs_test_write_dataset (file, "y", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, dy, y);
  H5Fclose (file);
  return path;
}

/* PyTorch's N x C x H x W for a channels_first model's (C, H, W) input:
 * transposed as read, then each channel's own mean and scale (hand-derived
 * from the stored ramp); an "x" that fits both orders takes the model's
 * (NCHW, said ambiguous); a channels_last model, or an "x" in NHWC or
 * fitting neither, reads as stored. */
static void
test_hdf5_nchw (void)
{
  g_autofree char *nchw_path = write_ramp ("set-nchw.h5", 2, 2, 3, 4);
  g_autofree char *cube_path = write_ramp ("set-cube.h5", 1, 2, 2, 2);
  g_autofree char *other_path = write_ramp ("set-other.h5", 2, 5, 3, 4);
  double mean[2] = { 1.0, -3.0 }, scale[2] = { 0.5, 2.0 };
  g_autoptr(GError) error = NULL;
  hid_t file;

  file = H5Fopen (nchw_path, H5F_ACC_RDWR, H5P_DEFAULT);
  write_double_attr (file, "x", "mean", mean, 2);
  write_double_attr (file, "x", "scale", scale, 2);
  H5Fclose (file);
  {
    g_autoptr(QsDataset) d = qs_dataset_load_for_input (nchw_path, 3, 4, 2, TRUE, &error);
    const QsEngineDataset *v;
    g_autofree float *copy = g_new (float, 2 * 3 * 4 * 2);

    g_assert_no_error (error);
    g_assert_cmpint (qs_dataset_get_layout (d), ==, QS_DATASET_LAYOUT_NCHW);
    g_assert_false (qs_dataset_get_layout_ambiguous (d));
    v = qs_dataset_get_view (d);
    g_assert_cmpuint (v->count, ==, 2);
    g_assert_cmpint (v->height, ==, 3);
    g_assert_cmpint (v->width, ==, 4);
    g_assert_cmpint (v->channels, ==, 2);
    for (int n = 0; n < 2; n++)
      for (int y = 0; y < 3; y++)
        for (int x = 0; x < 4; x++)
          for (int c = 0; c < 2; c++)
            {
              int stored = n * 24 + c * 12 + y * 4 + x;

              g_assert_cmpfloat (v->images[((n * 3 + y) * 4 + x) * 2 + c], ==,
                                 (float) ((stored - mean[c]) * scale[c]));
            }
    /* The app's ranged reads see the transposed images too. */
    g_assert_true (qs_dataset_read_range (d, 1, 1, copy, &error));
    g_assert_cmpfloat (copy[1], ==, (float) ((24 + 0 * 4 + 12 - mean[1]) * scale[1]));
  }
  {
    /* A channels_last model: the attributes' two values do not fit 4 channels. */
    g_autoptr(QsDataset) d = qs_dataset_load_for_input (nchw_path, 3, 4, 2, FALSE, &error);

    g_assert_null (d);
    g_assert_error (error, QS_ERROR, QS_ERROR_INVALID);
    g_clear_error (&error);
  }
  {
    g_autoptr(QsDataset) d = qs_dataset_load_for_input (cube_path, 2, 2, 2, TRUE, &error);
    const QsEngineDataset *v;

    g_assert_no_error (error);
    g_assert_cmpint (qs_dataset_get_layout (d), ==, QS_DATASET_LAYOUT_NCHW);
    g_assert_true (qs_dataset_get_layout_ambiguous (d));
    v = qs_dataset_get_view (d);
    /* Value (y, x, c) was stored at c * 4 + y * 2 + x; pixels scale by 1/255. */
    g_assert_cmpfloat (v->images[1], ==, (float) (4.0 / 255.0));
    g_assert_cmpfloat (v->images[2], ==, (float) (1.0 / 255.0));
  }
  {
    g_autoptr(QsDataset) d = qs_dataset_load_for_input (cube_path, 2, 2, 2, FALSE, &error);

    g_assert_no_error (error);
    g_assert_cmpint (qs_dataset_get_layout (d), ==, QS_DATASET_LAYOUT_NHWC);
    g_assert_false (qs_dataset_get_layout_ambiguous (d));
    g_assert_cmpfloat (qs_dataset_get_view (d)->images[1], ==, (float) (1.0 / 255.0));
  }
  {
    /* Fits neither 3 x 4 x 2 nor 2 x 3 x 4: as stored, for the caller to refuse. */
    g_autoptr(QsDataset) d = qs_dataset_load_for_input (other_path, 3, 4, 2, TRUE, &error);
    const QsEngineDataset *v;

    g_assert_no_error (error);
    g_assert_cmpint (qs_dataset_get_layout (d), ==, QS_DATASET_LAYOUT_NHWC);
    v = qs_dataset_get_view (d);
    g_assert_cmpint (v->height, ==, 5);
    g_assert_cmpint (v->width, ==, 3);
    g_assert_cmpint (v->channels, ==, 4);
  }
  {
    /* Stored N x H x W x C for a channels_first model: read as it is. */
    g_autofree char *nhwc_path = write_ramp ("set-nhwc.h5", 2, 3, 4, 2);
    g_autoptr(QsDataset) d = qs_dataset_load_for_input (nhwc_path, 3, 4, 2, TRUE, &error);

    g_assert_no_error (error);
    g_assert_cmpint (qs_dataset_get_layout (d), ==, QS_DATASET_LAYOUT_NHWC);
    g_assert_cmpfloat (qs_dataset_get_view (d)->images[1], ==, (float) (1.0 / 255.0));
  }
}

static void
test_hdf5_many_chunks (void)
{
  g_autofree float *x = g_new (float, 9000 * 4);
  g_autofree gint64 *y = g_new (gint64, 9000);
  g_autofree char *sound = write_many_chunks ("many.h5", FALSE, FALSE, x, y);
  g_autofree char *short_x = write_many_chunks ("many-short-x.h5", TRUE, FALSE, x, y);
  g_autofree char *short_y = write_many_chunks ("many-short-y.h5", FALSE, TRUE, x, y);
  g_autoptr(GError) error = NULL;

  {
    g_autoptr(QsDataset) d = qs_dataset_load (sound, &error);
    const QsEngineDataset *v;

    g_assert_no_error (error);
    v = qs_dataset_get_view (d);
    g_assert_cmpuint (v->count, ==, 9000);
    for (int i = 0; i < 9000 * 4; i++)
      g_assert_cmpfloat (v->images[i], ==, x[i]);
    for (int i = 0; i < 9000; i++)
      g_assert_cmpint (v->labels[i], ==, y[i]);
  }
  g_assert_null (qs_dataset_load (short_x, &error));
  g_assert_error (error, QS_ERROR, QS_ERROR_READ);
  g_test_message ("%s", error->message);
  g_assert_true (g_str_has_prefix (error->message, short_x));
  g_assert_nonnull (strstr (error->message, ": “x” has a chunk that inflates to 1 of its 16 bytes (damaged)"));
  g_assert_null (strchr (error->message, '\n'));
  g_clear_error (&error);
  g_assert_null (qs_dataset_load (short_y, &error));
  g_assert_error (error, QS_ERROR, QS_ERROR_READ);
  g_assert_nonnull (strstr (error->message, ": “y” has a chunk that inflates to 8 of its 128 bytes (damaged)"));
}

static void
test_bundled (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QsDataset) test = qs_dataset_load_bundled_test (&error);
  g_autoptr(QsDataset) calib = NULL;
  const QsEngineDataset *v;

  g_assert_no_error (error);
  v = qs_dataset_get_view (test);
  g_assert_cmpuint (v->count, ==, 10000);
  g_assert_cmpint (v->height, ==, 28);
  g_assert_cmpint (v->width, ==, 28);
  g_assert_cmpint (v->channels, ==, 1);
  g_assert_true (qs_dataset_has_labels (test));
  for (size_t i = 0; i < v->count; i++)
    g_assert_cmpint (v->labels[i], <, 10);
  calib = qs_dataset_load_bundled_calibration (&error);
  g_assert_no_error (error);
  g_assert_cmpuint (qs_dataset_get_count (calib), ==, 1000);
}

int
main (int    argc,
      char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  H5Eset_auto2 (H5E_DEFAULT, NULL, NULL);
  tmp_dir = g_dir_make_tmp ("qs-dataset-XXXXXX", NULL);
  g_assert_nonnull (tmp_dir);
  g_test_add_func ("/dataset/idx", test_idx);
  g_test_add_func ("/dataset/idx-errors", test_idx_errors);
  g_test_add_func ("/dataset/hdf5", test_hdf5);
  g_test_add_func ("/dataset/hdf5-many-chunks", test_hdf5_many_chunks);
  g_test_add_func ("/dataset/hdf5-nchw", test_hdf5_nchw);
  g_test_add_func ("/dataset/bundled", test_bundled);
  status = g_test_run ();
  qs_test_remove_tree (tmp_dir);
  g_free (tmp_dir);
  return status;
}
