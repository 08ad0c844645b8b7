/* qs-dataset.c: labeled image sets for accuracy: idx (gzip) and HDF5 x/y files.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Everything is converted once to float32 model inputs, in double
 * arithmetic then rounded: for the default idx scaling (1/255) that equals
 * float32 (pixel) / 255.0f exactly (no pixel / 255 lies close enough to a
 * float32 rounding boundary for the double error to matter), which is what
 * the PyTorch reference feeds its model.
 */
#include "config.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include <gio/gio.h>
#include <hdf5.h>

#include "model/qs-dataset.h"
#include "model/qs-error.h"
#include "model/qs-hdf5-private.h"
#include "quant/qs-checked.h"
#include "model/qs-input-file.h"

/* Refuse files that would need more than this many float32 inputs. */
#define QS_DATASET_MAX_VALUES ((guint64) 1 << 30)

struct _QsDataset {
  gatomicrefcount  ref_count;
  QsEngineDataset  view;
  float           *images;
  int32_t         *labels;
  char            *source;
  QsDatasetDecodeFunc decode;
  guint8          *decoded;     /* one flag per image of a set with a decoder */
  gpointer         decode_data;
  GDestroyNotify   decode_destroy;
  QsDatasetLayout  layout;
  gboolean         layout_ambiguous;
};

/* The model input an HDF5 "x" is read for; NULL reads it as stored. */
typedef struct {
  int      height, width, channels;
  gboolean channels_first;
} DatasetInput;

/* The widest pixel or label type: a double or a 64-bit integer. */
#define QS_DATASET_MAX_ELEMENT_BYTES 8

static QsDataset *
dataset_new (gsize       count,
             int         height,
             int         width,
             int         channels,
             const char *source,
             GError    **error)
{
  QsDataset *d;
  size_t image, values = 0;

  if (count == 0 || height <= 0 || width <= 0 || channels <= 0
      || !qs_checked_mul3_size ((size_t) height, (size_t) width, (size_t) channels, &image)
      || !qs_checked_mul_size (count, image, &values) || values > QS_DATASET_MAX_VALUES)
    {
      g_set_error (error, QS_ERROR, QS_ERROR_TOO_LARGE,
                   "%s: %" G_GSIZE_FORMAT " images of %dx%dx%d are empty or too large", source,
                   count, height, width, channels);
      return NULL;
    }
  d = g_new0 (QsDataset, 1);
  g_atomic_ref_count_init (&d->ref_count);
  d->images = g_try_new (float, values);
  if (d->images == NULL)
    {
      g_free (d);
      g_set_error (error, QS_ERROR, QS_ERROR_TOO_LARGE, "%s: out of memory", source);
      return NULL;
    }
  d->source = g_strdup (source);
  d->view.count = count;
  d->view.height = height;
  d->view.width = width;
  d->view.channels = channels;
  d->view.images = d->images;
  return d;
}

QsDataset *
qs_dataset_new_take (float       *images,
                     int32_t     *labels,
                     gsize        count,
                     int          height,
                     int          width,
                     int          channels,
                     const char  *source)
{
  QsDataset *d;

  g_return_val_if_fail (count > 0, NULL);

  d = g_new0 (QsDataset, 1);
  g_atomic_ref_count_init (&d->ref_count);
  d->images = images;
  d->labels = labels;
  d->source = g_strdup (source);
  d->view.count = count;
  d->view.height = height;
  d->view.width = width;
  d->view.channels = channels;
  d->view.images = images;
  d->view.labels = labels;
  return d;
}

QsDataset *
qs_dataset_ref (QsDataset *dataset)
{
  g_return_val_if_fail (dataset != NULL, NULL);
  g_atomic_ref_count_inc (&dataset->ref_count);
  return dataset;
}

void
qs_dataset_unref (QsDataset *dataset)
{
  if (dataset == NULL || !g_atomic_ref_count_dec (&dataset->ref_count))
    return;
  if (dataset->decode_destroy != NULL)
    dataset->decode_destroy (dataset->decode_data);
  g_free (dataset->decoded);
  g_free (dataset->images);
  g_free (dataset->labels);
  g_free (dataset->source);
  g_free (dataset);
}

void
qs_dataset_set_decoder (QsDataset           *dataset,
                        QsDatasetDecodeFunc  decode,
                        gpointer             user_data,
                        GDestroyNotify       destroy)
{
  g_return_if_fail (dataset != NULL && decode != NULL && dataset->decode == NULL);

  dataset->decode = decode;
  dataset->decode_data = user_data;
  dataset->decode_destroy = destroy;
  dataset->decoded = g_new0 (guint8, dataset->view.count);
}

static gsize
image_values (QsDataset *dataset)
{
  return (gsize) dataset->view.height * dataset->view.width * dataset->view.channels;
}

gboolean
qs_dataset_decode_range (QsDataset  *dataset,
                         gsize       first,
                         gsize       count,
                         GError    **error)
{
  gsize i = first, end;

  g_return_val_if_fail (dataset != NULL, FALSE);
  g_return_val_if_fail (first <= dataset->view.count && count <= dataset->view.count - first, FALSE);
  g_return_val_if_fail (dataset->images != NULL, FALSE);

  if (dataset->decode == NULL)
    return TRUE;
  /* Runs of images not decoded yet: a decoded one is never preprocessed twice. */
  end = first + count;
  while (i < end)
    {
      gsize run;

      for (; i < end && dataset->decoded[i]; i++)
        ;
      for (run = 0; i + run < end && !dataset->decoded[i + run]; run++)
        ;
      if (run == 0)
        break;
      if (!dataset->decode (dataset->decode_data, dataset->images + i * image_values (dataset), i, run, error))
        return FALSE;
      memset (dataset->decoded + i, TRUE, run);
      i += run;
    }
  return TRUE;
}

gboolean
qs_dataset_read_range (QsDataset  *dataset,
                       gsize       first,
                       gsize       count,
                       float      *out,
                       GError    **error)
{
  gsize values;

  g_return_val_if_fail (dataset != NULL && (out != NULL || count == 0), FALSE);
  g_return_val_if_fail (first <= dataset->view.count && count <= dataset->view.count - first, FALSE);

  values = image_values (dataset);
  if (count == 0)
    return TRUE;
  if (dataset->images != NULL
      && (dataset->decode == NULL || memchr (dataset->decoded + first, FALSE, count) == NULL))
    {
      memcpy (out, dataset->images + first * values, count * values * sizeof (float));
      return TRUE;
    }
  g_return_val_if_fail (dataset->decode != NULL, FALSE);
  return dataset->decode (dataset->decode_data, out, first, count, error);
}

gboolean
qs_dataset_is_streamed (QsDataset *dataset)
{
  g_return_val_if_fail (dataset != NULL, FALSE);
  return dataset->images == NULL;
}

const int32_t *
qs_dataset_get_labels (QsDataset *dataset)
{
  g_return_val_if_fail (dataset != NULL, NULL);
  return dataset->labels;
}

const QsEngineDataset *
qs_dataset_get_view (QsDataset *dataset)
{
  g_return_val_if_fail (dataset != NULL, NULL);
  return &dataset->view;
}

gsize
qs_dataset_calibration_tail (gsize total)
{
  return MIN (QS_DATASET_DEFAULT_CALIBRATION_IMAGES, total / 10);
}

gsize
qs_dataset_get_count (QsDataset *dataset)
{
  g_return_val_if_fail (dataset != NULL, 0);
  return dataset->view.count;
}

gboolean
qs_dataset_has_labels (QsDataset *dataset)
{
  g_return_val_if_fail (dataset != NULL, FALSE);
  return dataset->labels != NULL;
}

const char *
qs_dataset_get_source (QsDataset *dataset)
{
  g_return_val_if_fail (dataset != NULL, NULL);
  return dataset->source;
}

QsDatasetLayout
qs_dataset_get_layout (QsDataset *dataset)
{
  g_return_val_if_fail (dataset != NULL, QS_DATASET_LAYOUT_NHWC);
  return dataset->layout;
}

gboolean
qs_dataset_get_layout_ambiguous (QsDataset *dataset)
{
  g_return_val_if_fail (dataset != NULL, FALSE);
  return dataset->layout_ambiguous;
}

const char *
qs_dataset_layout_to_string (QsDatasetLayout layout)
{
  return layout == QS_DATASET_LAYOUT_NCHW ? "NCHW" : "NHWC";
}

/* Model inputs from stored values (@bytes, or the images in place when
 * NULL): (v - mean) * scale, with one mean and scale per channel, or one
 * for all when @per_channel is FALSE. The result must be a finite
 * float32, or accuracy would be computed on NaN. */
static gboolean
preprocess (QsDataset     *d,
            const guint8  *bytes,
            const double  *mean,
            const double  *scale,
            gboolean       per_channel,
            GError       **error)
{
  gsize n = d->view.count * (gsize) d->view.height * d->view.width * d->view.channels;
  gsize channels = (gsize) d->view.channels;

  for (gsize i = 0; i < n; i++)
    {
      gsize c = per_channel ? i % channels : 0;
      double v = bytes != NULL ? bytes[i] : d->images[i];
      double x = (v - mean[c]) * scale[c];

      if (!(fabs (x) <= FLT_MAX))
        {
          g_set_error (error, QS_ERROR, QS_ERROR_INVALID,
                       "%s: value %" G_GSIZE_FORMAT " of image %" G_GSIZE_FORMAT " is %s after preprocessing "
                       "(the pixels, “scale” and “mean” must be finite numbers)",
                       d->source, i % (n / d->view.count), i / (n / d->view.count),
                       isnan (x) ? "not a number" : "infinite");
          return FALSE;
        }
      d->images[i] = (float) x;
    }
  return TRUE;
}

/**
 * qs_dataset_check_model:
 * @model: the model whose outputs are scored
 * @labeled: whether the labels will be scored, so must name classes
 *
 * Accuracy and agreement take the top score of each image as its class:
 * a model whose output still has a height and width (a Dense layer on a
 * map, a convolution last) scores no classes, and ranking its map's
 * values would measure nothing.
 *
 * Returns: TRUE when @model gives one score per class (and, if @labeled,
 * every label names one of them), else FALSE with QS_ERROR_INVALID.
 */
gboolean
qs_dataset_check_model (QsDataset           *dataset,
                        const QsEngineModel *model,
                        gboolean             labeled,
                        GError             **error)
{
  int h, w, c;

  g_return_val_if_fail (dataset != NULL && model != NULL, FALSE);

  qs_engine_model_get_output_shape (model, &h, &w, &c);
  if (h != 1 || w != 1)
    {
      g_set_error (error, QS_ERROR, QS_ERROR_INVALID,
                   "the model's output is %d×%d×%d per image, not one score per class: accuracy "
                   "needs a classifier (its last layer flattened or pooled)", h, w, c);
      return FALSE;
    }
  return !labeled || qs_dataset_check_labels (dataset, (gsize) c, error);
}

/**
 * qs_dataset_check_labels:
 * @n_classes: the classes a model scores
 *
 * Returns: TRUE when every label is a class index in [0, @n_classes) (or
 * the set has no labels), else FALSE with QS_ERROR_INVALID naming the
 * first image whose label is not.
 */
gboolean
qs_dataset_check_labels (QsDataset  *dataset,
                         gsize       n_classes,
                         GError    **error)
{
  g_return_val_if_fail (dataset != NULL, FALSE);

  for (gsize i = 0; dataset->labels != NULL && i < dataset->view.count; i++)
    if (dataset->labels[i] < 0 || (gsize) dataset->labels[i] >= n_classes)
      {
        g_set_error (error, QS_ERROR, QS_ERROR_INVALID,
                     "%s: image %" G_GSIZE_FORMAT " has label %" G_GINT32_FORMAT ", outside the model's "
                     "classes 0..%" G_GSIZE_FORMAT, dataset->source, i, dataset->labels[i],
                     n_classes > 0 ? n_classes - 1 : 0);
        return FALSE;
      }
  return TRUE;
}

/* ---- idx ------------------------------------------------------------------------- */

/* The whole file, gunzipped when it starts with the gzip magic. */
static GBytes *
read_maybe_gzip (const char  *path,
                 GError     **error)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFileInputStream) raw = NULL;
  g_autoptr(GInputStream) stream = NULL;
  g_autoptr(GByteArray) data = g_byte_array_new ();
  g_autoptr(GError) local = NULL;
  g_autoptr(GFileInfo) info = NULL;
  guint8 magic[2] = { 0, 0 };
  guint64 limit = QS_DATASET_MAX_VALUES;
  gsize got = 0;

  /* A FIFO would block g_file_read() forever, /dev/zero never end. */
  if (!qs_input_file_check (path, "The image set", error))
    return NULL;
  raw = g_file_read (file, NULL, &local);
  if (raw == NULL)
    {
      g_set_error (error, QS_ERROR,
                   g_error_matches (local, G_IO_ERROR, G_IO_ERROR_NOT_FOUND) ? QS_ERROR_NOT_FOUND : QS_ERROR_READ,
                   "%s: %s", path, local->message);
      return NULL;
    }
  if (!g_input_stream_read_all (G_INPUT_STREAM (raw), magic, 2, &got, NULL, &local)
      || !g_seekable_seek (G_SEEKABLE (raw), 0, G_SEEK_SET, NULL, &local))
    {
      g_set_error (error, QS_ERROR, QS_ERROR_READ, "%s: %s", path, local->message);
      return NULL;
    }
  if (got == 2 && magic[0] == 0x1f && magic[1] == 0x8b)
    {
      g_autoptr(GZlibDecompressor) gunzip = g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP);

      stream = g_converter_input_stream_new (G_INPUT_STREAM (raw), G_CONVERTER (gunzip));
      /* A megabyte of gzip may inflate to a gigabyte: the same bound as
       * HDF5 data, in bytes of pixels (real idx files inflate 2-6x). */
      info = g_file_input_stream_query_info (raw, G_FILE_ATTRIBUTE_STANDARD_SIZE, NULL, NULL);
      if (info != NULL)
        limit = MIN (limit, (guint64) g_file_info_get_size (info) * QS_MAX_EXPANSION / sizeof (float)
                            + QS_UNSTORED_ALLOWANCE);
    }
  else
    stream = g_object_ref (G_INPUT_STREAM (raw));

  for (;;)
    {
      guint8 buffer[65536];
      gssize n = g_input_stream_read (stream, buffer, sizeof buffer, NULL, &local);

      if (n < 0)
        {
          g_set_error (error, QS_ERROR, QS_ERROR_READ, "%s: %s", path, local->message);
          return NULL;
        }
      if (n == 0)
        break;
      if (data->len + (guint64) n > limit)
        {
          g_set_error (error, QS_ERROR, QS_ERROR_TOO_LARGE,
                       "%s: too large (more than %" G_GUINT64_FORMAT " bytes, or inflating more than %d:1 "
                       "as float32 images)", path, limit, QS_MAX_EXPANSION);
          return NULL;
        }
      g_byte_array_append (data, buffer, (guint) n);
    }
  return g_byte_array_free_to_bytes (g_steal_pointer (&data));
}

/* Parses the idx header of uint8 data: dimension count and sizes. */
static gboolean
parse_idx (GBytes      *bytes,
           const char  *path,
           guint        min_dims,
           guint        max_dims,
           guint32     *dims,
           guint       *n_dims,
           const guint8 **payload,
           GError     **error)
{
  gsize size = 0;
  const guint8 *p = g_bytes_get_data (bytes, &size);
  guint64 count = 1;

  if (size < 4 || p[0] != 0 || p[1] != 0)
    goto bad;
  if (p[2] != 0x08)
    {
      g_set_error (error, QS_ERROR, QS_ERROR_INVALID, "%s: idx data of type 0x%02x; only unsigned bytes (0x08) are read",
                   path, p[2]);
      return FALSE;
    }
  *n_dims = p[3];
  if (*n_dims < min_dims || *n_dims > max_dims || size < 4 + 4 * (gsize) *n_dims)
    goto bad;
  for (guint i = 0; i < *n_dims; i++)
    {
      const guint8 *d = p + 4 + 4 * i;

      dims[i] = ((guint32) d[0] << 24) | ((guint32) d[1] << 16) | ((guint32) d[2] << 8) | d[3];
      count *= dims[i];
      if (dims[i] == 0 || count > QS_DATASET_MAX_VALUES)
        goto bad;
    }
  if (size - 4 - 4 * (gsize) *n_dims < count)
    {
      g_set_error (error, QS_ERROR, QS_ERROR_INVALID, "%s: the idx file is truncated", path);
      return FALSE;
    }
  *payload = p + 4 + 4 * *n_dims;
  return TRUE;

bad:
  g_set_error (error, QS_ERROR, QS_ERROR_INVALID, "%s: not an idx file of %u to %u dimensions",
               path, min_dims, max_dims);
  return FALSE;
}

QsDataset *
qs_dataset_load_idx (const char  *images_path,
                     const char  *labels_path,
                     double       scale,
                     double       mean,
                     GError     **error)
{
  g_autoptr(GBytes) images = NULL;
  g_autoptr(GBytes) labels = NULL;
  guint32 dims[4] = { 0 };
  guint n_dims = 0;
  int height, width, channels;
  const guint8 *pixels, *label_bytes;
  QsDataset *d;

  g_return_val_if_fail (images_path != NULL, NULL);

  images = read_maybe_gzip (images_path, error);
  if (images == NULL || !parse_idx (images, images_path, 3, 4, dims, &n_dims, &pixels, error))
    return NULL;
  /* parse_idx bounds each dimension by the value cap; checked all the same. */
  if (!qs_checked_u64_to_int (dims[1], &height) || !qs_checked_u64_to_int (dims[2], &width)
      || !qs_checked_u64_to_int (n_dims == 4 ? dims[3] : 1, &channels))
    {
      g_set_error (error, QS_ERROR, QS_ERROR_TOO_LARGE, "%s: images too large", images_path);
      return NULL;
    }
  d = dataset_new (dims[0], height, width, channels, images_path, error);
  if (d == NULL)
    return NULL;
  if (!preprocess (d, pixels, &mean, &scale, FALSE, error))
    {
      qs_dataset_unref (d);
      return NULL;
    }

  if (labels_path != NULL)
    {
      guint32 ldims[1] = { 0 };
      guint ln = 0;

      labels = read_maybe_gzip (labels_path, error);
      if (labels == NULL || !parse_idx (labels, labels_path, 1, 1, ldims, &ln, &label_bytes, error))
        {
          qs_dataset_unref (d);
          return NULL;
        }
      if (ldims[0] != dims[0])
        {
          g_set_error (error, QS_ERROR, QS_ERROR_INVALID, "%s has %u labels for %u images",
                       labels_path, ldims[0], dims[0]);
          qs_dataset_unref (d);
          return NULL;
        }
      d->labels = g_new (int32_t, dims[0]);
      for (guint32 i = 0; i < dims[0]; i++)
        d->labels[i] = label_bytes[i];
      d->view.labels = d->labels;
    }
  return d;
}

/* "…/t10k-images-idx3-ubyte.gz" -> "…/t10k-labels-idx1-ubyte.gz" when it exists. */
static char *
labels_path_for (const char *images_path)
{
  g_autofree char *dir = g_path_get_dirname (images_path);
  g_autofree char *base = g_path_get_basename (images_path);
  const char *at = strstr (base, "images-idx3");
  g_autofree char *labels = NULL;
  char *path;

  if (at == NULL)
    return NULL;
  labels = g_strdup_printf ("%.*slabels-idx1%s", (int) (at - base), base, at + strlen ("images-idx3"));
  path = g_build_filename (dir, labels, NULL);
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    {
      g_free (path);
      return NULL;
    }
  return path;
}

/* ---- HDF5 -------------------------------------------------------------------------- */

/* A scalar or per-channel attribute "name" of @obj as doubles; FALSE when absent. */
static gboolean
read_preprocess_attr (hid_t        obj,
                      const char  *name,
                      int          channels,
                      double      *values,
                      const char  *path,
                      GError     **error)
{
  hid_t attr, space;
  hssize_t n;
  double tmp[4096];
  gboolean ok;

  if (H5Aexists (obj, name) <= 0)
    return FALSE;
  attr = H5Aopen (obj, name, H5P_DEFAULT);
  if (attr < 0)
    return FALSE;
  space = H5Aget_space (attr);
  n = H5Sget_simple_extent_npoints (space);
  ok = n == 1 || (n == channels && n <= 4096);
  if (ok)
    ok = H5Aread (attr, H5T_NATIVE_DOUBLE, tmp) >= 0;
  H5Sclose (space);
  H5Aclose (attr);
  if (!ok)
    {
      g_set_error (error, QS_ERROR, QS_ERROR_INVALID,
                   "%s: attribute “%s” must be one number or one per channel", path, name);
      return FALSE;
    }
  for (int c = 0; c < channels; c++)
    values[c] = tmp[n == 1 ? 0 : c];
  return TRUE;
}

/* Reads all @count values of @dset as @mem_type: the chunked pipelines
 * h5py writes through _qs_hdf5_read_chunks(), which refuses a chunk
 * shorter than its size (libhdf5 1.10 would read past its end). Lock
 * held. */
static gboolean
read_values (hid_t        dset,
             hid_t        mem_type,
             guint64      count,
             void        *out,
             const char  *what,
             GError     **error)
{
  g_autofree char *detail = NULL;

  if (_qs_hdf5_reads_chunks (dset))
    return _qs_hdf5_read_chunks (dset, mem_type, 0, count, out, NULL, what, error);
  if (H5Dread (dset, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) >= 0)
    return TRUE;
  detail = _qs_hdf5_error_detail ();
  g_set_error (error, QS_ERROR, QS_ERROR_READ, "cannot read %s%s%s%s", what,
               detail != NULL ? " (" : "", detail != NULL ? detail : "", detail != NULL ? ")" : "");
  return FALSE;
}

/* Each of @count images of @channels x @plane values in place as @plane x
 * @channels, through one image's copy: the set itself is the only
 * buffer of its size. */
static gboolean
transpose_chw_to_hwc (float       *images,
                      gsize        count,
                      gsize        plane,
                      gsize        channels,
                      const char  *path,
                      GError     **error)
{
  gsize image = plane * channels;
  g_autofree float *copy = g_try_new (float, image);

  if (copy == NULL)
    {
      g_set_error (error, QS_ERROR, QS_ERROR_TOO_LARGE, "%s: out of memory", path);
      return FALSE;
    }
  for (gsize n = 0; n < count; n++)
    {
      float *out = images + n * image;

      memcpy (copy, out, image * sizeof (float));
      for (gsize c = 0; c < channels; c++)
        for (gsize p = 0; p < plane; p++)
          out[p * channels + c] = copy[c * plane + p];
    }
  return TRUE;
}

/* Whether a 4-dimensional "x" of @xdims is read as N x C x H x W for
 * @input, and whether N x H x W x C fitted as well. */
static gboolean
reads_as_nchw (const DatasetInput *input,
               const hsize_t      *xdims,
               gboolean           *ambiguous)
{
  gboolean nhwc, nchw;

  *ambiguous = FALSE;
  if (input == NULL || !input->channels_first)
    return FALSE;
  nhwc = xdims[1] == (hsize_t) input->height && xdims[2] == (hsize_t) input->width
         && xdims[3] == (hsize_t) input->channels;
  nchw = xdims[1] == (hsize_t) input->channels && xdims[2] == (hsize_t) input->height
         && xdims[3] == (hsize_t) input->width;
  /* Both fit only when the dimensions repeat (3 x 3 x 3): the model's
   * own order then, as its users store what they feed it. */
  *ambiguous = nhwc && nchw;
  return nchw;
}

static QsDataset *
load_hdf5 (const char          *path,
           const DatasetInput  *input,
           GError             **error)
{
  hid_t file = -1, x = -1, y = -1, xspace = -1, yspace = -1, xtype = -1;
  hsize_t xdims[4] = { 0 }, ydims[2] = { 0 };
  int xrank, yrank, height, width, channels;
  size_t values;
  double *scale = NULL, *mean = NULL;
  guint64 *labels = NULL;
  QsDataset *d = NULL;
  gboolean integer_pixels, unsigned_labels = FALSE, nchw = FALSE, ambiguous = FALSE;
  GError *local = NULL;

  if (!qs_input_file_check (path, "The image set", error))
    return NULL;
  _qs_hdf5_lock ();
  file = H5Fopen (path, H5F_ACC_RDONLY, _qs_hdf5_file_access_plist ());
  if (file < 0)
    {
      g_set_error (&local, QS_ERROR, QS_ERROR_NOT_HDF5, "%s: not a readable HDF5 file", path);
      goto out;
    }
  if (H5Lexists (file, "x", H5P_DEFAULT) <= 0 || H5Lexists (file, "y", H5P_DEFAULT) <= 0
      || (x = H5Dopen2 (file, "x", H5P_DEFAULT)) < 0 || (y = H5Dopen2 (file, "y", H5P_DEFAULT)) < 0)
    {
      g_set_error (&local, QS_ERROR, QS_ERROR_INVALID,
                   "%s: a labeled set needs datasets “x” (images) and “y” (labels)", path);
      goto out;
    }
  /* Before H5Dget_space(), which opens a virtual dataset's sources. */
  if (_qs_hdf5_is_virtual (x) || _qs_hdf5_is_virtual (y))
    {
      g_set_error (&local, QS_ERROR, QS_ERROR_INVALID,
                   "%s: “%s” is a virtual dataset (its values live in other datasets or files): refused "
                   "rather than read", path, _qs_hdf5_is_virtual (x) ? "x" : "y");
      goto out;
    }
  xspace = H5Dget_space (x);
  yspace = H5Dget_space (y);
  xrank = H5Sget_simple_extent_ndims (xspace);
  yrank = H5Sget_simple_extent_ndims (yspace);
  if (xrank < 3 || xrank > 4 || yrank < 1 || yrank > 2)
    {
      g_set_error (&local, QS_ERROR, QS_ERROR_INVALID,
                   "%s: “x” must be N x H x W (x C) and “y” N labels", path);
      goto out;
    }
  H5Sget_simple_extent_dims (xspace, xdims, NULL);
  H5Sget_simple_extent_dims (yspace, ydims, NULL);
  if (yrank == 2 && ydims[1] != 1)
    {
      g_set_error (&local, QS_ERROR, QS_ERROR_INVALID,
                   "%s: “y” is %llu x %llu; labels are one class index per image (N or N x 1, not one-hot)",
                   path, (unsigned long long) ydims[0], (unsigned long long) ydims[1]);
      goto out;
    }
  if (ydims[0] != xdims[0])
    {
      g_set_error (&local, QS_ERROR, QS_ERROR_INVALID, "%s: “y” has %llu labels for %llu images",
                   path, (unsigned long long) ydims[0], (unsigned long long) xdims[0]);
      goto out;
    }
  xtype = H5Dget_type (x);
  if (H5Tget_class (xtype) != H5T_INTEGER && H5Tget_class (xtype) != H5T_FLOAT)
    {
      g_set_error (&local, QS_ERROR, QS_ERROR_INVALID, "%s: “x” must hold integers or floats", path);
      goto out;
    }
  {
    hid_t ytype = H5Dget_type (y);
    H5T_class_t yclass = H5Tget_class (ytype);
    size_t xwidth = H5Tget_size (xtype), ywidth = H5Tget_size (ytype);

    unsigned_labels = yclass == H5T_INTEGER && H5Tget_sign (ytype) == H5T_SGN_NONE;
    H5Tclose (ytype);
    if (yclass != H5T_INTEGER)
      {
        g_set_error (&local, QS_ERROR, QS_ERROR_INVALID, "%s: “y” must hold integer class indices", path);
        goto out;
      }
    /* libhdf5 allocates conversion buffers of the element width, so a
     * type 2^32 bytes wide would cost gigabytes before any value is read;
     * no pixel or label needs more than 8 bytes. */
    if (xwidth == 0 || xwidth > QS_DATASET_MAX_ELEMENT_BYTES || ywidth == 0
        || ywidth > QS_DATASET_MAX_ELEMENT_BYTES)
      {
        g_set_error (&local, QS_ERROR, QS_ERROR_INVALID,
                     "%s: “x” and “y” elements are %zu and %zu bytes wide (at most %d)", path, xwidth,
                     ywidth, QS_DATASET_MAX_ELEMENT_BYTES);
        goto out;
      }
  }
  integer_pixels = H5Tget_class (xtype) == H5T_INTEGER;
  if (xrank == 4)
    nchw = reads_as_nchw (input, xdims, &ambiguous);
  /* A dimension of 2^32 + 1 must not become 1 and size a buffer the whole
   * dataset is then read into. (An NCHW "x" equals the model's input
   * sizes, so its conversions cannot fail.) */
  if (nchw)
    height = input->height, width = input->width, channels = input->channels;
  if ((!nchw && (!qs_checked_u64_to_int (xdims[1], &height) || !qs_checked_u64_to_int (xdims[2], &width)
                  || !qs_checked_u64_to_int (xrank == 4 ? xdims[3] : 1, &channels)))
      || xdims[0] > G_MAXSIZE)
    {
      g_set_error (&local, QS_ERROR, QS_ERROR_TOO_LARGE,
                   "%s: “x” of %llu x %llu x %llu images is too large", path, (unsigned long long) xdims[0],
                   (unsigned long long) xdims[1], (unsigned long long) xdims[2]);
      goto out;
    }
  /* Before anything is allocated or decoded: a few kilobytes must not
   * expand into gigabytes of fill values or inflated zeros. */
  if (!qs_checked_mul3_size (xdims[0], (size_t) height, (size_t) width, &values)
      || !qs_checked_mul_size (values, (size_t) channels, &values))
    {
      g_set_error (&local, QS_ERROR, QS_ERROR_TOO_LARGE, "%s: “x” has more values than 64 bits count", path);
      goto out;
    }
  if (!_qs_hdf5_check_stored_size (x, values, "“x”", &local)
      || !_qs_hdf5_check_stored_size (y, xdims[0], "“y”", &local))
    {
      g_prefix_error (&local, "%s: ", path);
      goto out;
    }
  d = dataset_new (xdims[0], height, width, channels, path, &local);
  if (d == NULL)
    goto out;
  d->layout = nchw ? QS_DATASET_LAYOUT_NCHW : QS_DATASET_LAYOUT_NHWC;
  d->layout_ambiguous = ambiguous;
  d->labels = g_try_new (int32_t, xdims[0]);
  /* Read as 64 bits, so that a label past int32 is named as it is, not
   * as the int32 HDF5 would clamp it to. */
  labels = g_try_new (guint64, xdims[0]);
  if (d->labels == NULL || labels == NULL
      || !read_values (x, H5T_NATIVE_FLOAT, values, d->images, "“x”", &local)
      || !read_values (y, unsigned_labels ? H5T_NATIVE_UINT64 : H5T_NATIVE_INT64, xdims[0], labels, "“y”",
                       &local))
    {
      if (local != NULL)
        g_prefix_error (&local, "%s: ", path);
      else
        g_set_error (&local, QS_ERROR, QS_ERROR_READ, "%s: cannot read “x” and “y” (out of memory)", path);
      goto out;
    }
  for (hsize_t i = 0; i < xdims[0]; i++)
    {
      if (unsigned_labels ? labels[i] > G_MAXINT32 : (gint64) labels[i] < 0 || (gint64) labels[i] > G_MAXINT32)
        {
          g_set_error (&local, QS_ERROR, QS_ERROR_INVALID, "%s: image %llu has label %s%" G_GUINT64_FORMAT
                       ", not a class index", path, (unsigned long long) i,
                       !unsigned_labels && (gint64) labels[i] < 0 ? "-" : "",
                       !unsigned_labels && (gint64) labels[i] < 0 ? -labels[i] : labels[i]);
          goto out;
        }
      d->labels[i] = (int32_t) labels[i];
    }
  d->view.labels = d->labels;
  if (nchw && !transpose_chw_to_hwc (d->images, xdims[0], (gsize) height * width, channels, path, &local))
    goto out;

  /* Preprocessing (per channel, the images channels last by now):
   * attributes of x, else of the file; the default maps 8-bit pixels to
   * [0, 1] and leaves float pixels as they are. */
  scale = g_new (double, channels);
  mean = g_new0 (double, channels);
  for (int c = 0; c < channels; c++)
    scale[c] = integer_pixels ? 1.0 / 255.0 : 1.0;
  if (!read_preprocess_attr (x, "scale", channels, scale, path, &local) && local == NULL)
    read_preprocess_attr (file, "scale", channels, scale, path, &local);
  if (local == NULL && !read_preprocess_attr (x, "mean", channels, mean, path, &local) && local == NULL)
    read_preprocess_attr (file, "mean", channels, mean, path, &local);
  if (local != NULL || !preprocess (d, NULL, mean, scale, TRUE, &local))
    goto out;

out:
  if (xtype >= 0)
    H5Tclose (xtype);
  if (xspace >= 0)
    H5Sclose (xspace);
  if (yspace >= 0)
    H5Sclose (yspace);
  if (x >= 0)
    H5Dclose (x);
  if (y >= 0)
    H5Dclose (y);
  if (file >= 0)
    H5Fclose (file);
  _qs_hdf5_unlock ();
  g_free (scale);
  g_free (mean);
  g_free (labels);
  if (local != NULL)
    {
      g_clear_pointer (&d, qs_dataset_unref);
      g_propagate_error (error, local);
    }
  return d;
}

QsDataset *
qs_dataset_load_hdf5 (const char  *path,
                      GError     **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  return load_hdf5 (path, NULL, error);
}

/* ---- any file ------------------------------------------------------------------------ */

static gboolean
is_hdf5 (const char *path)
{
  static const guint8 signature[8] = { 0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n' };
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFileInputStream) stream = g_file_read (file, NULL, NULL);
  guint8 head[8];
  gsize got = 0;

  /* HDF5 puts its signature at 0 (or after a user block of 512 bytes or a
   * power of two; those are rare for data sets and HDF5 itself finds them). */
  if (stream == NULL || !g_input_stream_read_all (G_INPUT_STREAM (stream), head, 8, &got, NULL, NULL))
    return FALSE;
  if (got == 8 && memcmp (head, signature, 8) == 0)
    return TRUE;
  {
    htri_t result;

    _qs_hdf5_lock ();
    result = H5Fis_hdf5 (path);
    _qs_hdf5_unlock ();
    return result > 0;
  }
}

QsDataset *
qs_dataset_load (const char  *path,
                 GError     **error)
{
  g_autofree char *labels = NULL;

  g_return_val_if_fail (path != NULL, NULL);

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, QS_ERROR, QS_ERROR_NOT_FOUND, "%s: no such file", path);
      return NULL;
    }
  if (!qs_input_file_check (path, "The image set", error))
    return NULL;
  if (is_hdf5 (path))
    return qs_dataset_load_hdf5 (path, error);
  labels = labels_path_for (path);
  return qs_dataset_load_idx (path, labels, 1.0 / 255.0, 0.0, error);
}

QsDataset *
qs_dataset_load_for_input (const char  *path,
                           int          height,
                           int          width,
                           int          channels,
                           gboolean     channels_first,
                           GError     **error)
{
  DatasetInput input = { height, width, channels, channels_first };

  g_return_val_if_fail (path != NULL, NULL);

  if (!channels_first || !g_file_test (path, G_FILE_TEST_EXISTS)
      || !qs_input_file_check (path, "The image set", NULL) || !is_hdf5 (path))
    return qs_dataset_load (path, error);
  return load_hdf5 (path, &input, error);
}

char *
qs_dataset_find_bundled (const char *name)
{
  const char *const dirs[] = { PKGDATADIR, SOURCE_DATADIR };

  for (gsize i = 0; i < G_N_ELEMENTS (dirs); i++)
    {
      char *path = g_build_filename (dirs[i], "fashion-mnist", name, NULL);

      if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
        return path;
      g_free (path);
    }
  return NULL;
}

static QsDataset *
load_bundled (const char  *images,
              const char  *labels,
              GError     **error)
{
  g_autofree char *images_path = qs_dataset_find_bundled (images);
  g_autofree char *labels_path = qs_dataset_find_bundled (labels);

  if (images_path == NULL || labels_path == NULL)
    {
      g_set_error (error, QS_ERROR, QS_ERROR_NOT_FOUND,
                   "the bundled data set fashion-mnist/%s is neither in %s nor in %s",
                   images, PKGDATADIR, SOURCE_DATADIR);
      return NULL;
    }
  return qs_dataset_load_idx (images_path, labels_path, 1.0 / 255.0, 0.0, error);
}

QsDataset *
qs_dataset_load_bundled_test (GError **error)
{
  return load_bundled ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", error);
}

QsDataset *
qs_dataset_load_bundled_calibration (GError **error)
{
  return load_bundled ("calibration-images-idx3-ubyte.gz", "calibration-labels-idx1-ubyte.gz", error);
}
