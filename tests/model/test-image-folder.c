/* test-image-folder.c: image folders as data sets, against make_image_folder.py's numpy reference; agreement without labels.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "model/qs-agreement.h"
#include "model/qs-error.h"
#include "model/qs-image-folder.h"
#include "model/qs-keras-model.h"
#include "model/qs-weight-file.h"
#include "qs-test-hdf5.h"

static char *
images_path (const char *name)
{
  return g_test_build_filename (G_TEST_DIST, "data", "images", name, NULL);
}

/* Upscaling [[0, 100], [200, 255]] 2x by hand: output (y, x) reads the
 * source at (y + 0.5) / 2 - 0.5, clamped, two rows then one column lerp. */
static void
test_resize_by_hand (void)
{
  const guint8 src[4] = { 0, 100, 200, 255 };
  float out[16];

  qs_image_resize_crop (src, 2, 2, 1, 2, 4, 4, out);
  g_assert_cmpfloat (out[0], ==, 0.0f);                   /* (-0.25, -0.25): the corner */
  g_assert_cmpfloat (out[1 * 4 + 1], ==, 72.1875f);       /* rows 25 and 213.75, a quarter */
  g_assert_cmpfloat (out[0 * 4 + 3], ==, 100.0f);         /* past the right edge: clamped */
  g_assert_cmpfloat (out[3 * 4 + 0], ==, 200.0f);
  g_assert_cmpfloat (out[2 * 4 + 2], ==, 199.6875f);       /* rows 75 and 241.25, three quarters */
  /* A 2x4 strip to 2x2: the shorter side already fits, so no resize, and
   * the centre crop keeps columns 1 and 2. */
  {
    const guint8 strip[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    float crop[4];

    qs_image_resize_crop (strip, 2, 4, 1, 4, 2, 2, crop);
    g_assert_cmpfloat (crop[0], ==, 2.0f);
    g_assert_cmpfloat (crop[1], ==, 3.0f);
    g_assert_cmpfloat (crop[2], ==, 6.0f);
    g_assert_cmpfloat (crop[3], ==, 7.0f);
  }
  /* A 1 x 65535 strip (column c holds (c + 128) / 256) for a 40000 x 2
   * input: resized 40000x, 2.6 billion columns wide, past int; the centre
   * crop reads columns 32766 to 32768 (all 128), not the quarters a
   * wrapped width would squeeze in (columns 16383 and 49150: 64, 192). */
  {
    g_autofree guint8 *wide = g_new (guint8, 65535);
    g_autofree float *tall = g_new (float, 40000 * 2);

    for (int c = 0; c < 65535; c++)
      wide[c] = (guint8) ((c + 128) >> 8);
    qs_image_resize_crop (wide, 1, 65535, 1, 65535, 40000, 2, tall);
    for (int i = 0; i < 40000 * 2; i += 997)
      g_assert_cmpfloat (tall[i], ==, 128.0f);
  }
}

/* Every folder and target of images-expected.json, value by value. */
static void
test_against_numpy (void)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "data", "images-expected.json", NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonObject *all;
  g_autoptr(GList) keys = NULL;

  json_parser_load_from_file (parser, path, &error);
  g_assert_no_error (error);
  all = json_node_get_object (json_parser_get_root (parser));
  keys = json_object_get_members (all);
  g_assert_cmpuint (g_list_length (keys), ==, 10);

  for (GList *l = keys; l != NULL; l = l->next)
    {
      JsonObject *want = json_object_get_object_member (all, l->data);
      JsonArray *values = json_object_get_array_member (want, "values");
      JsonNode *labels = json_object_get_member (want, "labels");
      g_auto(GStrv) parts = g_strsplit (l->data, " ", -1);
      g_autofree char *folder = images_path (parts[0]);
      int h, w, c;
      QsPreprocess preprocess;
      g_autoptr(QsDataset) set = NULL;
      const QsEngineDataset *view;

      g_test_message ("%s", (const char *) l->data);
      g_assert_cmpint (sscanf (parts[1], "%dx%dx%d", &h, &w, &c), ==, 3);
      g_assert_true (qs_preprocess_parse (parts[2], &preprocess));
      set = qs_dataset_load_image_folder (folder, h, w, c, preprocess, 0, &error);
      g_assert_no_error (error);
      view = qs_dataset_get_view (set);
      g_assert_cmpuint (view->count, ==, json_object_get_int_member (want, "images"));
      g_assert_cmpint (view->height, ==, h);
      g_assert_cmpint (view->width, ==, w);
      g_assert_cmpint (view->channels, ==, c);
      g_assert_cmpuint (json_array_get_length (values), ==, view->count * h * w * c);
      for (guint i = 0; i < json_array_get_length (values); i++)
        {
          double expected = json_array_get_double_element (values, i);

          /* numpy sums the four weighted pixels in another order: a float32 ulp or two. */
          g_assert_cmpfloat_with_epsilon (view->images[i], expected, 1e-5 * MAX (1.0, fabs (expected)));
        }
      if (JSON_NODE_HOLDS_NULL (labels))
        g_assert_false (qs_dataset_has_labels (set));
      else
        for (guint i = 0; i < view->count; i++)
          g_assert_cmpint (view->labels[i], ==, json_array_get_int_element (json_node_get_array (labels), i));
    }
}

static void
test_classes (void)
{
  g_autofree char *labeled = images_path ("labeled");
  g_autofree char *unlabeled = images_path ("unlabeled");
  g_auto(GStrv) classes = qs_image_folder_list_classes (labeled);
  g_auto(GStrv) none = qs_image_folder_list_classes (unlabeled);

  g_assert_cmpuint (g_strv_length (classes), ==, 2);
  g_assert_cmpstr (classes[0], ==, "cat");
  g_assert_cmpstr (classes[1], ==, "dog");
  g_assert_null (none);
}

/* A flat colour survives JPEG at quality 100 within rounding. */
static void
test_jpeg (void)
{
  g_autofree char *folder = images_path ("jpeg");
  g_autoptr(GError) error = NULL;
  g_autoptr(QsDataset) rgb = NULL;
  g_autoptr(QsDataset) gray = NULL;
  const float colour[3] = { 200, 100, 50 };
  /* PIL's "L" of (200, 100, 50), by hand: (19595*200 + 38470*100 + 7471*50 + 32768) >> 16. */
  const float luma = (float) ((19595 * 200 + 38470 * 100 + 7471 * 50 + 32768) >> 16);

  if (!g_file_test (folder, G_FILE_TEST_IS_DIR))
    {
      g_test_skip ("no JPEG (make_image_folder.py ran without torchvision)");
      return;
    }
  rgb = qs_dataset_load_image_folder (folder, 8, 8, 3, QS_PREPROCESS_NONE, 0, &error);
  g_assert_no_error (error);
  gray = qs_dataset_load_image_folder (folder, 8, 8, 1, QS_PREPROCESS_NONE, 0, &error);
  g_assert_no_error (error);
  for (int i = 0; i < 64; i++)
    {
      for (int c = 0; c < 3; c++)
        g_assert_cmpfloat_with_epsilon (qs_dataset_get_view (rgb)->images[i * 3 + c], colour[c], 2.0);
      g_assert_cmpfloat_with_epsilon (qs_dataset_get_view (gray)->images[i], luma, 2.0);
    }
}

static void
test_refusals (void)
{
  g_autofree char *broken = images_path ("broken");
  g_autofree char *labeled = images_path ("labeled");
  g_autofree char *missing = images_path ("nowhere");
  g_autoptr(GError) error = NULL;
  QsDataset *set;

  set = qs_dataset_load_image_folder (broken, 4, 4, 3, QS_PREPROCESS_UNIT, 0, &error);
  g_assert_null (set);
  g_assert_error (error, QS_ERROR, QS_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "1 of 2 images cannot be read: only/bad.png ("));
  g_assert_null (strchr (error->message, '\n'));
  g_clear_error (&error);

  /* Four 4x4x3 images are 768 bytes as float32. */
  set = qs_dataset_load_image_folder (labeled, 4, 4, 3, QS_PREPROCESS_UNIT, 767, &error);
  g_assert_null (set);
  g_assert_error (error, QS_ERROR, QS_ERROR_TOO_LARGE);
  g_clear_error (&error);
  set = qs_dataset_load_image_folder (labeled, 4, 4, 3, QS_PREPROCESS_UNIT, 768, &error);
  g_assert_no_error (error);
  qs_dataset_unref (set);

  set = qs_dataset_load_image_folder (labeled, 4, 4, 2, QS_PREPROCESS_UNIT, 0, &error);
  g_assert_null (set);
  g_assert_error (error, QS_ERROR, QS_ERROR_INVALID);
  g_clear_error (&error);

  set = qs_dataset_load_image_folder (missing, 4, 4, 3, QS_PREPROCESS_UNIT, 0, &error);
  g_assert_null (set);
  g_assert_error (error, QS_ERROR, QS_ERROR_NOT_FOUND);
}

/* A 1024 x 1024 PNG needs 1 MiB x (10 + 3) to decode for an RGB model:
 * refused under a budget of 12 MiB, though its four 4x4x3 float32 inputs
 * would fit, and read under 14 MiB. A tiny file may declare that many
 * pixels, so the budget must hold while decoding, not only after. */
static void
test_decode_budget (void)
{
  g_autofree char *folder = g_dir_make_tmp ("qs-decode-budget-XXXXXX", NULL);
  g_autofree char *png = g_build_filename (folder, "big.png", NULL);
  g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 1024, 1024);
  g_autoptr(GError) error = NULL;
  QsDataset *set;

  g_assert_nonnull (folder);
  gdk_pixbuf_fill (pixbuf, 0x80604000);
  g_assert_true (gdk_pixbuf_save (pixbuf, png, "png", &error, NULL));
  g_assert_no_error (error);

  set = qs_dataset_load_image_folder (folder, 4, 4, 3, QS_PREPROCESS_NONE, 12 << 20, &error);
  g_assert_null (set);
  g_assert_error (error, QS_ERROR, QS_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "big.png (1024 x 1024 pixels need 13 MiB to decode, more than the "
                                            "memory budget of 12 MiB"));
  g_clear_error (&error);

  set = qs_dataset_load_image_folder (folder, 4, 4, 3, QS_PREPROCESS_NONE, 14 << 20, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (qs_dataset_get_view (set)->images[0], ==, 128.0f);
  g_assert_cmpfloat (qs_dataset_get_view (set)->images[2], ==, 64.0f);
  qs_dataset_unref (set);
  qs_test_remove_tree (folder);
}

/* A FIFO, a link to /dev/zero, a link loop and a dangling link among the
 * images each end the load with one line naming them; none may block
 * (a FIFO opened for reading waits for a writer forever). */
static void
test_special_files (void)
{
  g_autofree char *folder = g_dir_make_tmp ("qs-special-XXXXXX", NULL);
  g_autofree char *good = g_build_filename (folder, "good.png", NULL);
  g_autofree char *fifo = g_build_filename (folder, "a-fifo.png", NULL);
  g_autofree char *zero = g_build_filename (folder, "b-zero.jpg", NULL);
  g_autofree char *loop = g_build_filename (folder, "c-loop.png", NULL);
  g_autofree char *dangling = g_build_filename (folder, "d-dangling.jpeg", NULL);
  g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 4, 4);
  g_autoptr(GError) error = NULL;
  QsDataset *set;

  gdk_pixbuf_fill (pixbuf, 0);
  g_assert_true (gdk_pixbuf_save (pixbuf, good, "png", &error, NULL));
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  g_assert_cmpint (symlink ("/dev/zero", zero), ==, 0);
  g_assert_cmpint (symlink ("c-loop.png", loop), ==, 0);
  g_assert_cmpint (symlink ("nowhere.png", dangling), ==, 0);

  set = qs_dataset_load_image_folder (folder, 4, 4, 1, QS_PREPROCESS_UNIT, 0, &error);
  g_assert_null (set);
  g_assert_error (error, QS_ERROR, QS_ERROR_INVALID);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "4 of 5 images cannot be read: a-fifo.png ("));
  g_assert_nonnull (strstr (error->message, "is a FIFO, not a regular file"));
  g_assert_nonnull (strstr (error->message, "is a character device, not a regular file"));
  g_assert_nonnull (strstr (error->message, "c-loop.png ("));
  g_assert_null (strchr (error->message, '\n'));
  qs_test_remove_tree (folder);
}

/* A JPEG with @markers comment markers after its SOI, in @folder. */
static void
write_jpeg_with_comments (const char *folder,
                          const char *name,
                          guint       markers)
{
  g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 4, 4);
  g_autofree char *path = g_build_filename (folder, name, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GByteArray) out = g_byte_array_new ();
  static const guint8 comment[] = { 0xff, 0xfe, 0x00, 0x04, 'q', 's' };
  g_autofree char *jpeg = NULL;
  gsize size = 0;

  gdk_pixbuf_fill (pixbuf, 0x80808000);
  g_assert_true (gdk_pixbuf_save (pixbuf, path, "jpeg", &error, "quality", "100", NULL));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (path, &jpeg, &size, NULL));
  g_assert_cmpuint (size, >, 2);
  g_byte_array_append (out, (const guint8 *) jpeg, 2);
  for (guint i = 0; i < markers; i++)
    g_byte_array_append (out, comment, sizeof comment);
  g_byte_array_append (out, (const guint8 *) jpeg + 2, (guint) size - 2);
  g_assert_true (g_file_set_contents (path, (const char *) out->data, out->len, NULL));
}

/* libjpeg walks its list of kept markers from the start for each new one:
 * 100,000 comments in 600 KB took 40 s to size and 40 more to decode. A
 * JPEG of 20,000 is refused before libjpeg sees it; one of 1,000 (more
 * than any camera writes) still decodes. */
static void
test_jpeg_markers (void)
{
  g_autofree char *many = g_dir_make_tmp ("qs-jpeg-many-XXXXXX", NULL);
  g_autofree char *some = g_dir_make_tmp ("qs-jpeg-some-XXXXXX", NULL);
  g_autoptr(GError) error = NULL;
  QsDataset *set;

  write_jpeg_with_comments (many, "1.jpg", 20000);
  write_jpeg_with_comments (some, "1.jpg", 1000);

  set = qs_dataset_load_image_folder (many, 4, 4, 1, QS_PREPROCESS_NONE, 0, &error);
  g_assert_null (set);
  g_assert_error (error, QS_ERROR, QS_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "1 of 1 images cannot be read: 1.jpg (a JPEG of more than 1024 markers"));
  g_clear_error (&error);

  set = qs_dataset_load_image_folder (some, 4, 4, 1, QS_PREPROCESS_NONE, 0, &error);
  g_assert_no_error (error);
  /* gray 128 through JPEG at quality 100 */
  g_assert_cmpfloat_with_epsilon (qs_dataset_get_view (set)->images[0], 128.0f, 1.0f);
  qs_dataset_unref (set);
  qs_test_remove_tree (many);
  qs_test_remove_tree (some);
}

/* An opened folder decodes only the images asked for: four 2x2 PNGs of
 * gray levels 10, 20, 30, 40 and a truncated fifth. Images not decoded
 * read as zeros; the broken one fails only the range that holds it. */
static void
test_decode_on_demand (void)
{
  g_autofree char *folder = g_dir_make_tmp ("qs-on-demand-XXXXXX", NULL);
  g_autofree char *broken = g_build_filename (folder, "4.png", NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *png = NULL;
  gsize png_size = 0;
  QsDataset *set;
  const float *images;

  for (int i = 0; i < 4; i++)
    {
      g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 2, 2);
      g_autofree char *name = g_strdup_printf ("%d.png", i);
      g_autofree char *path = g_build_filename (folder, name, NULL);
      guint32 level = 10u * (guint32) (i + 1);

      gdk_pixbuf_fill (pixbuf, (level << 24) | (level << 16) | (level << 8));
      g_assert_true (gdk_pixbuf_save (pixbuf, path, "png", &error, NULL));
      g_assert_no_error (error);
      if (i == 0)
        g_assert_true (g_file_get_contents (path, &png, &png_size, NULL));
    }
  g_assert_true (g_file_set_contents (broken, png, (gssize) png_size / 2, NULL));

  set = qs_dataset_open_image_folder (folder, 2, 2, 1, QS_PREPROCESS_NONE, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (qs_dataset_get_count (set), ==, 5);
  images = qs_dataset_get_view (set)->images;
  g_assert_true (qs_dataset_decode_range (set, 1, 2, &error));
  g_assert_no_error (error);
  for (int p = 0; p < 4; p++)
    {
      g_assert_cmpfloat (images[0 * 4 + p], ==, 0.0f);
      g_assert_cmpfloat (images[1 * 4 + p], ==, 20.0f);
      g_assert_cmpfloat (images[2 * 4 + p], ==, 30.0f);
      g_assert_cmpfloat (images[3 * 4 + p], ==, 0.0f);
    }
  /* Decoding again leaves decoded images as they are (not preprocessed twice). */
  g_assert_true (qs_dataset_decode_range (set, 0, 4, &error));
  g_assert_cmpfloat (images[0], ==, 10.0f);
  g_assert_cmpfloat (images[1 * 4], ==, 20.0f);
  g_assert_cmpfloat (images[3 * 4], ==, 40.0f);
  g_assert_false (qs_dataset_decode_range (set, 3, 2, &error));
  g_assert_error (error, QS_ERROR, QS_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, ": 1 of 1 images cannot be read: 4.png ("));
  g_clear_error (&error);
  qs_dataset_unref (set);

  set = qs_dataset_load_image_folder (folder, 2, 2, 1, QS_PREPROCESS_NONE, 0, &error);
  g_assert_null (set);
  g_assert_nonnull (strstr (error->message, ": 1 of 5 images cannot be read: 4.png ("));
  g_clear_error (&error);

  /* Streamed: no image array; reading decodes into the caller's buffer
   * and keeps nothing, so reading again gives the same values (not
   * preprocessed twice), and a budget smaller than the folder is no
   * refusal (each image still fits). */
  /* 48 bytes: one image decodes in 2 x 2 x (10 + 1), the five as floats take 80. */
  g_assert_null (qs_dataset_open_image_folder (folder, 2, 2, 1, QS_PREPROCESS_UNIT, 48, &error));
  g_assert_error (error, QS_ERROR, QS_ERROR_TOO_LARGE);
  g_clear_error (&error);
  set = qs_dataset_open_image_folder_streamed (folder, 2, 2, 1, QS_PREPROCESS_UNIT, 48, &error);
  g_assert_no_error (error);
  g_assert_true (qs_dataset_is_streamed (set));
  g_assert_null (qs_dataset_get_view (set)->images);
  for (int round = 0; round < 2; round++)
    {
      float window[3 * 4] = { 0 };

      g_assert_true (qs_dataset_read_range (set, 1, 3, window, &error));
      g_assert_no_error (error);
      for (int p = 0; p < 4; p++)
        {
          g_assert_cmpfloat (window[0 * 4 + p], ==, (float) (20.0 / 255.0));
          g_assert_cmpfloat (window[2 * 4 + p], ==, (float) (40.0 / 255.0));
        }
    }
  {
    float window[2 * 4];

    g_assert_false (qs_dataset_read_range (set, 3, 2, window, &error));
    g_assert_error (error, QS_ERROR, QS_ERROR_INVALID);
    g_assert_nonnull (strstr (error->message, "4.png ("));
    g_clear_error (&error);
  }
  qs_dataset_unref (set);
  qs_test_remove_tree (folder);
}

static void
test_preprocess_names (void)
{
  const char *rescaling = "{\"class_name\": \"Sequential\", \"config\": {\"layers\": [{\"class_name\": "
                          "\"Rescaling\", \"config\": {\"name\": \"r\", \"scale\": 0.5}}]}}";
  const char *plain = "{\"class_name\": \"Sequential\", \"config\": {\"layers\": [{\"class_name\": "
                      "\"Dense\", \"config\": {\"name\": \"d\"}}]}}";
  QsPreprocess p;

  g_assert_cmpint (qs_preprocess_resolve (QS_PREPROCESS_AUTO, rescaling), ==, QS_PREPROCESS_NONE);
  g_assert_cmpint (qs_preprocess_resolve (QS_PREPROCESS_AUTO, plain), ==, QS_PREPROCESS_UNIT);
  g_assert_cmpint (qs_preprocess_resolve (QS_PREPROCESS_AUTO, NULL), ==, QS_PREPROCESS_UNIT);
  g_assert_cmpint (qs_preprocess_resolve (QS_PREPROCESS_CAFFE, rescaling), ==, QS_PREPROCESS_CAFFE);
  g_assert_true (qs_preprocess_parse ("Torch", &p));
  g_assert_cmpint (p, ==, QS_PREPROCESS_TORCH);
  g_assert_cmpstr (qs_preprocess_to_string (p), ==, "torch");
  g_assert_false (qs_preprocess_parse ("imagenet", &p));
}

/* The agreement counts against the engine's own evaluation (top-1), and
 * SQNR against a direct sum over qs_engine_forward's outputs. */
static void
test_agreement (void)
{
  g_autofree char *model_path = g_test_build_filename (G_TEST_DIST, "..", "data", "models", "fashion-cnn.h5", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(QsWeightFile) file = qs_weight_file_open (model_path, &error);
  g_autoptr(QsDataset) data = qs_dataset_load_bundled_test (&error);
  QsEngineModel *model;
  QsQuantizedModel *quantized = NULL;
  QsActivationScheme act;
  QsEngineRunOptions options;
  QsEngineDataset view;
  QsEngineEvalResult result;
  QsAgreement agreement;
  QsScheme scheme;
  const QsScheme **schemes;
  char message[256];
  size_t n_weighted, n_outputs, scratch_size;
  double signal = 0, noise = 0;
  g_autofree void *scratch = NULL;
  g_autofree float *f = NULL, *q = NULL;
  const gsize count = 300;

  g_assert_no_error (error);
  model = qs_keras_model_load (file, &error);
  g_assert_no_error (error);
  view = *qs_dataset_get_view (data);
  qs_scheme_init_per_tensor (&scheme);
  scheme.bits = 4;   /* coarse enough that the paths differ on some images */
  n_weighted = qs_engine_model_get_n_weighted (model);
  schemes = g_new (const QsScheme *, n_weighted);
  for (size_t i = 0; i < n_weighted; i++)
    schemes[i] = &scheme;
  qs_activation_scheme_init_default (&act);
  qs_engine_run_options_init (&options);
  options.n_threads = 2;
  g_assert_cmpint (qs_engine_prepare_quantized (model, schemes, n_weighted, &act, &view, 200, &options,
                                                &quantized, message, sizeof message), ==, QS_ENGINE_OK);
  g_assert_true (qs_agreement_measure (quantized, &view, 1000, count, 2, &agreement, &error));
  g_assert_no_error (error);
  g_assert_cmpint (qs_engine_evaluate (model, quantized, &view, 1000, count, &options, NULL, NULL, &result), ==,
                   QS_ENGINE_OK);
  g_assert_cmpuint (agreement.images, ==, count);
  g_assert_cmpuint (agreement.top1_agree, ==, result.agree);
  g_assert_cmpuint (agreement.top1_agree, <, count);
  g_assert_cmpuint (agreement.top5_agree, >=, agreement.top1_agree);
  g_assert_cmpuint (agreement.top5_agree, <=, count);

  n_outputs = qs_engine_model_get_n_outputs (model);
  scratch_size = MAX (qs_engine_get_buffer_size (model, NULL, 1), qs_engine_get_buffer_size (model, quantized, 1));
  scratch = g_malloc (scratch_size);
  f = g_new (float, n_outputs);
  q = g_new (float, n_outputs);
  for (gsize i = 1000; i < 1000 + count; i++)
    {
      const float *image = view.images + i * view.height * view.width * view.channels;

      g_assert_cmpint (qs_engine_forward (model, NULL, image, 1, scratch, scratch_size, f), ==, QS_ENGINE_OK);
      g_assert_cmpint (qs_engine_forward (model, quantized, image, 1, scratch, scratch_size, q), ==, QS_ENGINE_OK);
      for (size_t k = 0; k < n_outputs; k++)
        {
          signal += (double) f[k] * f[k];
          noise += ((double) f[k] - q[k]) * ((double) f[k] - q[k]);
        }
    }
  g_assert_cmpfloat_with_epsilon (qs_agreement_sqnr_db (&agreement), 10 * log10 (signal / noise), 1e-9);

  g_free (schemes);
  qs_quantized_model_free (quantized);
  qs_engine_model_free (model);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/image-folder/resize-by-hand", test_resize_by_hand);
  g_test_add_func ("/image-folder/against-numpy", test_against_numpy);
  g_test_add_func ("/image-folder/classes", test_classes);
  g_test_add_func ("/image-folder/jpeg", test_jpeg);
  g_test_add_func ("/image-folder/refusals", test_refusals);
  g_test_add_func ("/image-folder/decode-budget", test_decode_budget);
  g_test_add_func ("/image-folder/special-files", test_special_files);
  g_test_add_func ("/image-folder/jpeg-markers", test_jpeg_markers);
  g_test_add_func ("/image-folder/decode-on-demand", test_decode_on_demand);
  g_test_add_func ("/image-folder/preprocess-names", test_preprocess_names);
  g_test_add_func ("/image-folder/agreement", test_agreement);

  return g_test_run ();
}
