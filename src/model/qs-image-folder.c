/* qs-image-folder.c: a folder of PNG/JPEG images (one subfolder per class, or none) as a data set for a model.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "model/qs-image-folder.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <json-glib/json-glib.h>

#include "model/qs-error.h"
#include "model/qs-input-file.h"
#include "model/qs-json.h"
#include "model/qs-tensor-stream.h"
#include "quant/qs-checked.h"

/* Past these a folder is not a data set but a mistake (a home folder). */
#define MAX_IMAGES  (1u << 20)
#define MAX_CLASSES 100000
/* Unreadable images named in the one-line error; the rest counted. */
#define MAX_NAMED_FAILURES 3
/* What decoding one pixel may hold at once, besides the images: the
 * pixbuf (RGBA at most), libjpeg's coefficients of a progressive JPEG
 * (three 16-bit components) and our own copy (a byte per channel). */
#define DECODE_BYTES_PER_PIXEL (4 + 6)

/* libjpeg links each marker it keeps onto the end of a list it walks
 * from the start (jdmarker.c), and decodes a progressive image once per
 * scan: a 600 KB JPEG of 100,000 comment markers took 40 s to size and
 * as long again to decode. A camera's or PIL's JPEG holds a few dozen
 * markers and at most a few dozen scans. */
#define JPEG_MAX_MARKERS 1024
#define JPEG_MAX_SCANS   256

/* ImageNet statistics of the Keras Applications (imagenet_utils.py). */
static const double torch_mean[3] = { 0.485, 0.456, 0.406 };
static const double torch_std[3] = { 0.229, 0.224, 0.225 };
static const double caffe_mean_bgr[3] = { 103.939, 116.779, 123.68 };

static const char * const preprocess_names[] = {
  [QS_PREPROCESS_AUTO] = "auto",
  [QS_PREPROCESS_UNIT] = "unit",
  [QS_PREPROCESS_TF] = "tf",
  [QS_PREPROCESS_TORCH] = "torch",
  [QS_PREPROCESS_CAFFE] = "caffe",
  [QS_PREPROCESS_NONE] = "none",
};

gboolean
qs_preprocess_parse (const char   *text,
                     QsPreprocess *preprocess)
{
  g_return_val_if_fail (text != NULL && preprocess != NULL, FALSE);

  for (gsize i = 0; i < G_N_ELEMENTS (preprocess_names); i++)
    if (g_ascii_strcasecmp (text, preprocess_names[i]) == 0)
      {
        *preprocess = (QsPreprocess) i;
        return TRUE;
      }
  return FALSE;
}

const char *
qs_preprocess_to_string (QsPreprocess preprocess)
{
  if ((gsize) preprocess >= G_N_ELEMENTS (preprocess_names))
    return "unknown";
  return preprocess_names[preprocess];
}

static gboolean
has_preprocessing_layer (JsonNode *node,
                         int       depth)
{
  if (node == NULL || depth > QS_JSON_MAX_DEPTH)
    return FALSE;
  if (JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObject *object = json_node_get_object (node);
      const char *class_name = NULL;
      g_autoptr(GList) members = json_object_get_members (object);

      if (qs_json_node_get_string (json_object_get_member (object, "class_name"), &class_name)
          && (g_str_equal (class_name, "Rescaling") || g_str_equal (class_name, "Normalization")))
        return TRUE;
      for (GList *l = members; l != NULL; l = l->next)
        if (has_preprocessing_layer (json_object_get_member (object, l->data), depth + 1))
          return TRUE;
    }
  else if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *array = json_node_get_array (node);

      for (guint i = 0; i < json_array_get_length (array); i++)
        if (has_preprocessing_layer (json_array_get_element (array, i), depth + 1))
          return TRUE;
    }
  return FALSE;
}

QsPreprocess
qs_preprocess_resolve (QsPreprocess  preprocess,
                       const char   *model_config)
{
  g_autoptr(JsonParser) parser = NULL;

  if (preprocess != QS_PREPROCESS_AUTO)
    return preprocess;
  if (model_config == NULL)
    return QS_PREPROCESS_UNIT;
  parser = json_parser_new_immutable ();
  if (qs_json_parser_load_python (parser, model_config, -1, QS_JSON_MAX_CONFIG_BYTES, "model_config", NULL)
      && has_preprocessing_layer (json_parser_get_root (parser), 0))
    return QS_PREPROCESS_NONE;
  return QS_PREPROCESS_UNIT;
}

/* ---- pixels ------------------------------------------------------------- */

/* One axis of tf.image.resize's bilinear with half-pixel centres: the two
 * source indices and the weight of the second. */
static void
source_position (gint64  out,
                 double  scale,
                 int     size,
                 int    *lower,
                 int    *upper,
                 double *frac)
{
  double in = (out + 0.5) * scale - 0.5;
  double f = floor (in);

  *lower = (int) CLAMP (f, 0.0, (double) (size - 1));
  *upper = (int) CLAMP (ceil (in), 0.0, (double) (size - 1));
  *frac = in - f;
}

void
qs_image_resize_crop (const guint8 *src,
                      int           src_h,
                      int           src_w,
                      int           src_c,
                      gsize         stride,
                      int           height,
                      int           width,
                      float        *out)
{
  double s = MAX ((double) height / src_h, (double) width / src_w);
  /* 64 bits: a 65535 x 1 image resized for a tall input passes 2^31. */
  gint64 rh = MAX (height, llround (src_h * s));
  gint64 rw = MAX (width, llround (src_w * s));
  gint64 top = (rh - height) / 2, left = (rw - width) / 2;

  for (int y = 0; y < height; y++)
    {
      int y0, y1;
      double fy;

      source_position (y + top, (double) src_h / rh, src_h, &y0, &y1, &fy);
      for (int x = 0; x < width; x++)
        {
          int x0, x1;
          double fx;

          source_position (x + left, (double) src_w / rw, src_w, &x0, &x1, &fx);
          for (int c = 0; c < src_c; c++)
            {
              double a = src[y0 * stride + (gsize) x0 * src_c + c];
              double b = src[y0 * stride + (gsize) x1 * src_c + c];
              double d = src[y1 * stride + (gsize) x0 * src_c + c];
              double e = src[y1 * stride + (gsize) x1 * src_c + c];
              double top_row = a + (b - a) * fx;
              double bottom_row = d + (e - d) * fx;

              out[((gsize) y * width + x) * src_c + c] = (float) (top_row + (bottom_row - top_row) * fy);
            }
        }
    }
}

/* The pixbuf's pixels as @channels (1: PIL's "L" conversion, 3: RGB) bytes
 * per pixel, rows packed (transfer full). */
static guint8 *
pixbuf_to_bytes (GdkPixbuf *pixbuf,
                 int        channels)
{
  int w = gdk_pixbuf_get_width (pixbuf), h = gdk_pixbuf_get_height (pixbuf);
  int n = gdk_pixbuf_get_n_channels (pixbuf);
  gsize stride = (gsize) gdk_pixbuf_get_rowstride (pixbuf);
  const guint8 *pixels = gdk_pixbuf_read_pixels (pixbuf);
  guint8 *out = g_malloc ((gsize) w * h * channels);

  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        const guint8 *p = pixels + y * stride + (gsize) x * n;
        guint8 *o = out + ((gsize) y * w + x) * channels;

        if (channels == 1)
          o[0] = (guint8) ((19595u * p[0] + 38470u * p[1] + 7471u * p[2] + 0x8000u) >> 16);
        else
          memcpy (o, p, 3);
      }
  return out;
}

/* One value of channel @c (of @channels) under @preprocess; gray images
 * take the mean of the three channels' statistics. */
static double
preprocess_value (double        x,
                  int           c,
                  int           channels,
                  QsPreprocess  preprocess)
{
  double mean = channels == 3 ? torch_mean[c] : (torch_mean[0] + torch_mean[1] + torch_mean[2]) / 3;
  double std = channels == 3 ? torch_std[c] : (torch_std[0] + torch_std[1] + torch_std[2]) / 3;

  switch (preprocess)
    {
    case QS_PREPROCESS_UNIT:
      return x / 255.0;
    case QS_PREPROCESS_TF:
      return x / 127.5 - 1.0;
    case QS_PREPROCESS_TORCH:
      return (x / 255.0 - mean) / std;
    case QS_PREPROCESS_CAFFE:
      return x - (caffe_mean_bgr[0] + caffe_mean_bgr[1] + caffe_mean_bgr[2]) / 3;
    case QS_PREPROCESS_NONE:
    case QS_PREPROCESS_AUTO:
    default:
      return x;
    }
}

static void
preprocess_image (float        *values,
                  gsize         pixels,
                  int           channels,
                  QsPreprocess  preprocess)
{
  for (gsize i = 0; i < pixels; i++)
    {
      float *v = values + i * channels;

      if (preprocess == QS_PREPROCESS_CAFFE && channels == 3)
        {
          /* Caffe's models take BGR. */
          float r = v[0], b = v[2];

          v[0] = (float) (b - caffe_mean_bgr[0]);
          v[1] = (float) (v[1] - caffe_mean_bgr[1]);
          v[2] = (float) (r - caffe_mean_bgr[2]);
          continue;
        }
      for (int c = 0; c < channels; c++)
        v[c] = (float) preprocess_value (v[c], c, channels, preprocess);
    }
}

typedef struct {
  int    fd;
  gsize  length;
  gsize  pos;
  guint8 buffer[1 << 16];
} ByteReader;

/* The next byte of @reader's file, or -1 at its end or on an error (the
 * decoder then reports what is wrong with the file). */
static int
next_byte (ByteReader *reader)
{
  if (reader->pos == reader->length)
    {
      ssize_t n;

      do
        n = read (reader->fd, reader->buffer, sizeof reader->buffer);
      while (n < 0 && errno == EINTR);
      if (n <= 0)
        return -1;
      reader->length = (gsize) n;
      reader->pos = 0;
    }
  return reader->buffer[reader->pos++];
}

/* Whether @path starts as a PNG or a JPEG does, and, for a JPEG, holds
 * at most JPEG_MAX_MARKERS markers and JPEG_MAX_SCANS scans, counted in
 * one pass over the file before libjpeg sees it. gdk-pixbuf would
 * otherwise hand anything else to whichever of its loaders (SVG, TIFF,
 * XPM, ICO, ...) claims it just to learn its size. A damaged PNG or JPEG
 * passes: the decoder reports that. */
static gboolean
image_start_within_bounds (const char  *path,
                           GError     **error)
{
  static const guint8 png_signature[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
  g_autofree ByteReader *reader = g_new (ByteReader, 1);
  guint markers = 0, scans = 0;
  gboolean ok = TRUE;

  reader->fd = qs_input_file_open (path, "The image", error);
  if (reader->fd < 0)
    return FALSE;
  reader->length = reader->pos = 0;
  if (next_byte (reader) >= 0 && reader->length >= sizeof png_signature
      && memcmp (reader->buffer, png_signature, sizeof png_signature) == 0)
    ;
  else if (reader->length < 3 || reader->buffer[0] != 0xff || reader->buffer[1] != 0xd8 || reader->buffer[2] != 0xff)
    {
      g_set_error (error, QS_ERROR, QS_ERROR_INVALID, "not a PNG or JPEG image");
      ok = FALSE;
    }
  else if (next_byte (reader) == 0xd8)
    for (;;)
      {
        int c = next_byte (reader), high, low;

        /* Entropy-coded data, or junk libjpeg skips between segments. */
        if (c != 0xff)
          {
            if (c < 0)
              break;
            continue;
          }
        do
          c = next_byte (reader);
        while (c == 0xff);
        /* A stuffed zero, a restart marker, TEM: no segment. */
        if (c == 0x00 || c == 0x01 || (c >= 0xd0 && c <= 0xd7))
          continue;
        if (c < 0 || c == 0xd9)
          break;
        if (++markers > JPEG_MAX_MARKERS || (c == 0xda && ++scans > JPEG_MAX_SCANS))
          {
            g_set_error (error, QS_ERROR, QS_ERROR_TOO_LARGE,
                         "a JPEG of more than %d markers or %d scans, where a real one holds a few dozen: "
                         "refused rather than decoded for minutes", JPEG_MAX_MARKERS, JPEG_MAX_SCANS);
            ok = FALSE;
            break;
          }
        if (c == 0xd8)
          continue;
        high = next_byte (reader);
        low = next_byte (reader);
        if (high < 0 || low < 0 || (high << 8 | low) < 2)
          break;
        for (int skip = (high << 8 | low) - 2; skip > 0; skip--)
          if (next_byte (reader) < 0)
            break;
      }
  close (reader->fd);
  return ok;
}

/* Decodes one PNG or JPEG into @out (height x width x channels, 0..255),
 * refusing one whose decoding would hold more than @decode_budget bytes
 * (the memory budget: a 100-byte PNG may declare 2^26 pixels). */
static gboolean
load_image (const char  *path,
            int          height,
            int          width,
            int          channels,
            guint64      decode_budget,
            float       *out,
            GError     **error)
{
  g_autoptr(GdkPixbuf) pixbuf = NULL;
  g_autofree guint8 *bytes = NULL;
  GdkPixbufFormat *format;
  g_autofree char *format_name = NULL;
  int w = 0, h = 0;

  if (!qs_input_file_check (path, "The image", error) || !image_start_within_bounds (path, error))
    return FALSE;
  format = gdk_pixbuf_get_file_info (path, &w, &h);
  format_name = format != NULL ? gdk_pixbuf_format_get_name (format) : NULL;
  if (g_strcmp0 (format_name, "png") != 0 && g_strcmp0 (format_name, "jpeg") != 0)
    {
      g_set_error (error, QS_ERROR, QS_ERROR_INVALID, "not a PNG or JPEG image");
      return FALSE;
    }
  if (w <= 0 || h <= 0 || (guint64) w * (guint64) h > QS_IMAGE_FOLDER_MAX_PIXELS)
    {
      g_set_error (error, QS_ERROR, QS_ERROR_TOO_LARGE, "%d x %d pixels (at most %" G_GUINT64_FORMAT " million)",
                   w, h, QS_IMAGE_FOLDER_MAX_PIXELS / 1000000);
      return FALSE;
    }
  if ((guint64) w * (guint64) h * (DECODE_BYTES_PER_PIXEL + channels) > decode_budget)
    {
      g_set_error (error, QS_ERROR, QS_ERROR_TOO_LARGE,
                   "%d x %d pixels need %" G_GUINT64_FORMAT " MiB to decode, more than the memory budget of %"
                   G_GUINT64_FORMAT " MiB (--memory-budget)", w, h,
                   ((guint64) w * (guint64) h * (DECODE_BYTES_PER_PIXEL + channels)) >> 20, decode_budget >> 20);
      return FALSE;
    }
  pixbuf = gdk_pixbuf_new_from_file (path, error);
  if (pixbuf == NULL)
    return FALSE;
  if (gdk_pixbuf_get_colorspace (pixbuf) != GDK_COLORSPACE_RGB || gdk_pixbuf_get_bits_per_sample (pixbuf) != 8
      || gdk_pixbuf_get_n_channels (pixbuf) < 3)
    {
      g_set_error (error, QS_ERROR, QS_ERROR_INVALID, "an image layout gdk-pixbuf does not describe as 8-bit RGB");
      return FALSE;
    }
  bytes = pixbuf_to_bytes (pixbuf, channels);
  qs_image_resize_crop (bytes, gdk_pixbuf_get_height (pixbuf), gdk_pixbuf_get_width (pixbuf), channels,
                        (gsize) gdk_pixbuf_get_width (pixbuf) * channels, height, width, out);
  return TRUE;
}

/* ---- the folder --------------------------------------------------------- */

static gboolean
is_image_name (const char *name)
{
  g_autofree char *lower = g_ascii_strdown (name, -1);

  return name[0] != '.'
         && (g_str_has_suffix (lower, ".png") || g_str_has_suffix (lower, ".jpg")
             || g_str_has_suffix (lower, ".jpeg"));
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/* The entries of @folder that are subfolders (@folders) or images, sorted
 * by name as Python's sorted() does (byte order of UTF-8). */
static GPtrArray *
list_entries (const char  *folder,
              gboolean     folders,
              guint        limit,
              GError     **error)
{
  g_autoptr(GDir) dir = g_dir_open (folder, 0, error);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  if (dir == NULL)
    return NULL;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (folder, name, NULL);

      if (folders ? (name[0] != '.' && g_file_test (path, G_FILE_TEST_IS_DIR))
                  : (is_image_name (name) && !g_file_test (path, G_FILE_TEST_IS_DIR)))
        g_ptr_array_add (names, g_strdup (name));
      if (names->len > limit)
        {
          g_autofree char *display = g_filename_display_name (folder);

          g_set_error (error, QS_ERROR, QS_ERROR_TOO_LARGE, "“%s” holds more than %u %s", display, limit,
                       folders ? "class folders" : "images");
          return NULL;
        }
    }
  g_ptr_array_sort (names, compare_names);
  return g_steal_pointer (&names);
}

char **
qs_image_folder_list_classes (const char *folder)
{
  g_autoptr(GPtrArray) classes = NULL;

  g_return_val_if_fail (folder != NULL, NULL);

  if (!g_file_test (folder, G_FILE_TEST_IS_DIR)
      || (classes = list_entries (folder, TRUE, MAX_CLASSES, NULL)) == NULL || classes->len == 0)
    return NULL;
  g_ptr_array_add (classes, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&classes), FALSE);
}

/* What a folder set needs to decode its images when they are asked for. */
typedef struct {
  char         *folder;
  GPtrArray    *files;      /* full paths, in the set's order */
  int           height, width, channels;
  QsPreprocess  preprocess;
  guint64       budget;
} FolderDecoder;

static void
folder_decoder_free (gpointer data)
{
  FolderDecoder *decoder = data;

  g_free (decoder->folder);
  g_ptr_array_unref (decoder->files);
  g_free (decoder);
}

static gboolean
folder_decode (gpointer   data,
               float     *images_out,
               gsize      first,
               gsize      count,
               GError   **error)
{
  FolderDecoder *decoder = data;
  g_autoptr(GString) failures = g_string_new (NULL);
  gsize image_values = (gsize) decoder->height * decoder->width * decoder->channels;
  guint failed = 0, tried = 0;

  for (gsize i = first; i < first + count; i++)
    {
      g_autoptr(GError) local = NULL;
      const char *path = g_ptr_array_index (decoder->files, i);
      float *out = images_out + (i - first) * image_values;

      tried++;
      if (load_image (path, decoder->height, decoder->width, decoder->channels, decoder->budget, out, &local))
        {
          preprocess_image (out, (gsize) decoder->height * decoder->width, decoder->channels, decoder->preprocess);
          continue;
        }
      if (++failed <= MAX_NAMED_FAILURES)
        {
          gsize skip = strlen (decoder->folder);
          g_autofree char *name = g_filename_display_name (path + skip + (path[skip] == G_DIR_SEPARATOR));
          g_autofree char *reason = g_strdelimit (g_strdup (local->message), "\r\n", ' ');

          g_string_append_printf (failures, "%s%s (%s)", failed > 1 ? "; " : "", name, reason);
        }
    }
  if (failed == 0)
    return TRUE;
  {
    g_autofree char *display = g_filename_display_name (decoder->folder);

    g_set_error (error, QS_ERROR, QS_ERROR_INVALID, "%s: %u of %u images cannot be read: %s%s", display, failed,
                 tried, failures->str, failed > MAX_NAMED_FAILURES ? "; …" : "");
  }
  return FALSE;
}

static QsDataset *
open_folder (const char    *folder,
             int            height,
             int            width,
             int            channels,
             QsPreprocess   preprocess,
             guint64        memory_budget,
             gboolean       streamed,
             GError       **error)
{
  g_autofree char *display = NULL;
  g_autoptr(GPtrArray) classes = NULL;
  g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GArray) labels = g_array_new (FALSE, FALSE, sizeof (int32_t));
  float *images = NULL;
  FolderDecoder *decoder;
  QsDataset *set;
  gsize image_values, total_values;
  guint64 budget = memory_budget != 0 ? memory_budget : qs_memory_budget_default ();

  g_return_val_if_fail (folder != NULL, NULL);
  g_return_val_if_fail (preprocess != QS_PREPROCESS_AUTO, NULL);

  display = g_filename_display_name (folder);
  if (!g_file_test (folder, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, QS_ERROR, QS_ERROR_NOT_FOUND, "%s: no such folder", display);
      return NULL;
    }
  if (channels != 1 && channels != 3)
    {
      g_set_error (error, QS_ERROR, QS_ERROR_INVALID,
                   "%s: the model takes %d channels; images give 1 (gray) or 3 (RGB)", display, channels);
      return NULL;
    }

  classes = list_entries (folder, TRUE, MAX_CLASSES, error);
  if (classes == NULL)
    return NULL;
  for (guint c = 0; c < MAX (classes->len, 1); c++)
    {
      g_autofree char *sub = classes->len > 0 ? g_build_filename (folder, g_ptr_array_index (classes, c), NULL)
                                              : g_strdup (folder);
      g_autoptr(GPtrArray) names = list_entries (sub, FALSE, MAX_IMAGES, error);

      if (names == NULL)
        return NULL;
      for (guint i = 0; i < names->len; i++)
        {
          int32_t label = (int32_t) c;

          g_ptr_array_add (files, g_build_filename (sub, g_ptr_array_index (names, i), NULL));
          g_array_append_val (labels, label);
        }
      if (files->len > MAX_IMAGES)
        {
          g_set_error (error, QS_ERROR, QS_ERROR_TOO_LARGE, "%s holds more than %u images", display, MAX_IMAGES);
          return NULL;
        }
    }
  if (files->len == 0)
    {
      g_set_error (error, QS_ERROR, QS_ERROR_INVALID,
                   "%s holds no .png, .jpg or .jpeg images (in it, or in one subfolder per class)", display);
      return NULL;
    }

  if (!qs_checked_mul3_size ((size_t) height, (size_t) width, (size_t) channels, &image_values)
      || !qs_checked_mul_size (image_values, files->len, &total_values)
      || (!streamed && total_values > budget / sizeof (float)))
    {
      g_set_error (error, QS_ERROR, QS_ERROR_TOO_LARGE,
                   "%s: %u images of %dx%dx%d need more than the memory budget of %" G_GUINT64_FORMAT
                   " MiB as float32 (--memory-budget)", display, files->len, height, width, channels, budget >> 20);
      return NULL;
    }
  /* Zeroed: images never decoded cost address space, not memory. */
  if (!streamed && (images = g_try_new0 (float, total_values)) == NULL)
    {
      g_set_error (error, QS_ERROR, QS_ERROR_TOO_LARGE, "%s: out of memory for %u images", display, files->len);
      return NULL;
    }
  decoder = g_new0 (FolderDecoder, 1);
  decoder->folder = g_strdup (folder);
  decoder->height = height;
  decoder->width = width;
  decoder->channels = channels;
  decoder->preprocess = preprocess;
  decoder->budget = budget;
  set = qs_dataset_new_take (images, classes->len > 0 ? g_array_steal (labels, NULL) : NULL,
                             files->len, height, width, channels, folder);
  decoder->files = g_steal_pointer (&files);
  qs_dataset_set_decoder (set, folder_decode, decoder, folder_decoder_free);
  return set;
}

QsDataset *
qs_dataset_open_image_folder (const char    *folder,
                              int            height,
                              int            width,
                              int            channels,
                              QsPreprocess   preprocess,
                              guint64        memory_budget,
                              GError       **error)
{
  return open_folder (folder, height, width, channels, preprocess, memory_budget, FALSE, error);
}

QsDataset *
qs_dataset_open_image_folder_streamed (const char    *folder,
                                       int            height,
                                       int            width,
                                       int            channels,
                                       QsPreprocess   preprocess,
                                       guint64        memory_budget,
                                       GError       **error)
{
  return open_folder (folder, height, width, channels, preprocess, memory_budget, TRUE, error);
}

QsDataset *
qs_dataset_load_image_folder (const char    *folder,
                              int            height,
                              int            width,
                              int            channels,
                              QsPreprocess   preprocess,
                              guint64        memory_budget,
                              GError       **error)
{
  QsDataset *set = qs_dataset_open_image_folder (folder, height, width, channels, preprocess, memory_budget, error);

  if (set != NULL && !qs_dataset_decode_range (set, 0, qs_dataset_get_count (set), error))
    g_clear_pointer (&set, qs_dataset_unref);
  return set;
}

QsDataset *
qs_dataset_load_for_model (const char    *path,
                           int            height,
                           int            width,
                           int            channels,
                           QsPreprocess   preprocess,
                           guint64        memory_budget,
                           GError       **error)
{
  g_return_val_if_fail (path != NULL, NULL);

  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    return qs_dataset_load_image_folder (path, height, width, channels, preprocess, memory_budget, error);
  return qs_dataset_load (path, error);
}
