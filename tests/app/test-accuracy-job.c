/* test-accuracy-job.c: the app's accuracy on a chosen image folder, kept or streamed, is `eval --data FOLDER`'s.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The folder holds Fashion-MNIST test images written back as PNGs (the
 * first six of each class), so the models' figures are real ones, not
 * those of noise; the CLI, run as a user runs it, computes the reference.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <adwaita.h>
#include <json-glib/json-glib.h>

#include "app/qs-accuracy-job.h"
#include "app/qs-score-work.h"
#include "app/qs-window-private.h"
#include "model/qs-dataset.h"
#include "model/qs-weight-file.h"
#include "qs-test-hdf5.h"
#include "qs-window-test-utils.h"

#define PER_CLASS 6
#define N_CLASSES 10

static char *folder_root;

static int
qs_test_compare_strings (gconstpointer a,
                         gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/* Writes the first PER_CLASS test images of each class as 8-bit PNGs:
 * class folders "0".."9" under @labeled, the same files flat in
 * @unlabeled. Gray as R = G = B, which the folder reads back as the same
 * gray level ((19595 + 38470 + 7471) * p + 32768) >> 16 = p). */
static void
write_folders (const char *labeled,
               const char *unlabeled)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QsDataset) test = qs_dataset_load_bundled_test (&error);
  const QsEngineDataset *view;
  guint taken[N_CLASSES] = { 0 };

  g_assert_no_error (error);
  view = qs_dataset_get_view (test);
  g_assert_cmpint (view->height * view->width * view->channels, ==, 28 * 28);
  g_assert_cmpint (g_mkdir_with_parents (unlabeled, 0755), ==, 0);
  for (gsize i = 0; i < view->count; i++)
    {
      int32_t label = view->labels[i];
      g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 28, 28);
      g_autofree char *class_dir = g_strdup_printf ("%s/%d", labeled, label);
      g_autofree char *name = g_strdup_printf ("%05zu.png", i);
      g_autofree char *path = g_build_filename (class_dir, name, NULL);
      g_autofree char *flat = g_build_filename (unlabeled, name, NULL);
      guint8 *pixels = gdk_pixbuf_get_pixels (pixbuf);
      int stride = gdk_pixbuf_get_rowstride (pixbuf);

      if (taken[label] == PER_CLASS)
        continue;
      taken[label]++;
      for (int y = 0; y < 28; y++)
        for (int x = 0; x < 28; x++)
          {
            /* The bundled set holds pixel / 255: back to the pixel. */
            guint8 p = (guint8) lrint (view->images[i * 784 + y * 28 + x] * 255.0);

            memset (pixels + y * stride + x * 3, p, 3);
          }
      g_assert_cmpint (g_mkdir_with_parents (class_dir, 0755), ==, 0);
      g_assert_true (gdk_pixbuf_save (pixbuf, path, "png", &error, NULL));
      g_assert_no_error (error);
      g_assert_true (gdk_pixbuf_save (pixbuf, flat, "png", &error, NULL));
    }
  for (int c = 0; c < N_CLASSES; c++)
    g_assert_cmpuint (taken[c], ==, PER_CLASS);
}

static JsonObject *
cli_eval (const char *model,
          const char *data)
{
  const char *argv[] = { g_getenv ("QS_SCAN_HELPER"), "eval", model, "--data", data, "--json", NULL };
  g_autofree char *out = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  int status;

  g_assert_nonnull (argv[0]);
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out, NULL,
                               &status, &error));
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_assert_true (json_parser_load_from_data (parser, out, -1, &error));
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

typedef struct {
  QsAccuracyResult *final;
  gboolean          saw_evaluating;
  gsize             scored;   /* the images the run scores; 0: the folders' */
} Outcome;

static void
outcome_cb (const QsJobOutcome *outcome,
            gpointer            user_data)
{
  Outcome *o = user_data;
  const QsAccuracyResult *result = outcome->result;

  g_assert_no_error ((GError *) outcome->error);
  if (result->stage == QS_ACCURACY_STAGE_LOADING)
    g_assert_cmpuint (result->stage_done, <=, result->stage_total);
  if (result->stage == QS_ACCURACY_STAGE_EVALUATING)
    {
      /* Progress counts the whole set's images, not a window's. */
      g_assert_cmpuint (result->stage_total, ==, o->scored != 0 ? o->scored
                                                               : PER_CLASS * N_CLASSES - N_CLASSES * PER_CLASS / 10);
      o->saw_evaluating = TRUE;
    }
  if (!outcome->partial)
    o->final = g_boxed_copy (QS_TYPE_ACCURACY_RESULT, result);
}

/* The app's figure on @data with @keep_bytes / @window_bytes of images. */
static QsAccuracyResult *
app_accuracy (const char *model,
              const char *data,
              guint64     keep_bytes,
              guint64     window_bytes,
              Outcome    *o)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QsWeightFile) file = qs_weight_file_open (model, &error);
  g_autoptr(QsDocument) document = NULL;
  g_autoptr(QsJobService) jobs = qs_job_service_new (0, 0);
  g_autoptr(QsAccuracyJob) job = qs_accuracy_job_new ();

  g_assert_no_error (error);
  document = qs_document_new (file);
  qs_accuracy_job_set_data (job, data);
  _qs_accuracy_job_set_memory (job, keep_bytes, window_bytes);
  qs_accuracy_job_request (job, jobs, document, outcome_cb, o);
  while (o->final == NULL)
    g_main_context_iteration (NULL, TRUE);
  return o->final;
}

static void
assert_eval_equal (const QsAccuracyResult *app,
                   JsonObject             *cli,
                   gboolean                labeled)
{
  gsize n = (gsize) json_object_get_int_member (cli, "images");
  QsEngineEvalResult counts = {
    .images = n,
    .fp32_correct = (gsize) json_object_get_int_member (cli, "fp32_correct"),
    .quant_correct = (gsize) json_object_get_int_member (cli, "quant_correct"),
    .agree = (gsize) lround (json_object_get_double_member (cli, "agreement") * n),
  };

  g_assert_null (app->unavailable);
  g_assert_cmpuint (app->images, ==, n);
  g_assert_cmpuint (app->total, ==, n);
  /* The same counts through the same percentage function. */
  g_assert_cmpfloat (app->agreement, ==, qs_engine_eval_result_agreement (&counts));
  if (labeled)
    {
      g_assert_cmpfloat (app->fp32_top1, ==, qs_engine_eval_result_fp32_top1 (&counts));
      g_assert_cmpfloat (app->quant_top1, ==, qs_engine_eval_result_quant_top1 (&counts));
    }
  else
    {
      /* Scored against float32: its "accuracy" is the agreement. */
      g_assert_true (isnan (app->fp32_top1));
      g_assert_cmpfloat (app->quant_top1, ==, app->agreement);
    }
}

/* 60 images: the last 6 calibrate, 54 are scored; kept whole, or streamed
 * through windows of 7 images (a window that does not divide the set). */
static void
test_folder_matches_cli (gconstpointer data)
{
  gboolean streamed = GPOINTER_TO_INT (data);
  g_autofree char *model = g_build_filename (SOURCE_DATADIR, "models", "fashion-cnn.h5", NULL);
  g_autofree char *labeled = g_build_filename (folder_root, "labeled", NULL);
  g_autofree char *unlabeled = g_build_filename (folder_root, "unlabeled", NULL);
  guint64 image_bytes = 28 * 28 * sizeof (float);
  guint64 keep = streamed ? 0 : QS_CHOSEN_DATA_KEEP_BYTES;
  guint64 window = streamed ? 7 * image_bytes : QS_CHOSEN_DATA_WINDOW_BYTES;
  g_autoptr(JsonObject) cli_labeled = cli_eval (model, labeled);
  g_autoptr(JsonObject) cli_unlabeled = cli_eval (model, unlabeled);
  Outcome with_labels = { 0 }, without = { 0 };

  g_assert_cmpint (json_object_get_int_member (cli_labeled, "images"), ==, 54);
  g_assert_cmpint (json_object_get_int_member (cli_labeled, "calibration_images"), ==, 6);
  /* A real model on real images: most are right, so the equality below means something. */
  g_assert_cmpint (json_object_get_int_member (cli_labeled, "fp32_correct"), >=, 40);

  assert_eval_equal (app_accuracy (model, labeled, keep, window, &with_labels), cli_labeled, TRUE);
  assert_eval_equal (app_accuracy (model, unlabeled, keep, window, &without), cli_unlabeled, FALSE);
  g_assert_true (with_labels.saw_evaluating);
  g_boxed_free (QS_TYPE_ACCURACY_RESULT, with_labels.final);
  g_boxed_free (QS_TYPE_ACCURACY_RESULT, without.final);
}

/* A channels_first model (onnx2keras's ResNet) on images stored N x C x H
 * x W with per-channel mean and scale: the app reads them as `eval` does,
 * and scores what `eval` scores on the same images stored N x H x W x C. */
static void
test_nchw_matches_cli (void)
{
  g_autofree char *model = g_test_build_filename (G_TEST_DIST, "..", "data", "converted", "onnx2keras-resnet.h5", NULL);
  g_autofree char *nchw = g_test_build_filename (G_TEST_DIST, "..", "data", "converted", "images-12-nchw.h5", NULL);
  g_autofree char *nhwc = g_test_build_filename (G_TEST_DIST, "..", "data", "converted",
                                                 "images-12-nhwc-normalized.h5", NULL);
  g_autoptr(JsonObject) cli = cli_eval (model, nhwc);
  Outcome o = { .scored = 15 };

  g_assert_cmpint (json_object_get_int_member (cli, "images"), ==, 15);
  assert_eval_equal (app_accuracy (model, nchw, QS_CHOSEN_DATA_KEEP_BYTES, QS_CHOSEN_DATA_WINDOW_BYTES, &o), cli,
                     TRUE);
  g_boxed_free (QS_TYPE_ACCURACY_RESULT, o.final);
}

/* A set that fits neither order of the channels_first model's input: the
 * accuracy is unavailable, and the reason names both orders. */
static void
test_nchw_wrong_shape (void)
{
  g_autofree char *model = g_test_build_filename (G_TEST_DIST, "..", "data", "converted", "onnx2keras-resnet.h5", NULL);
  g_autofree char *wrong = g_test_build_filename (G_TEST_DIST, "..", "data", "converted", "images-12-nchw-wrong.h5",
                                                  NULL);
  Outcome o = { 0 };
  QsAccuracyResult *result = app_accuracy (model, wrong, QS_CHOSEN_DATA_KEEP_BYTES, QS_CHOSEN_DATA_WINDOW_BYTES, &o);

  g_assert_nonnull (result->unavailable);
  g_assert_nonnull (strstr (result->unavailable, "12×12×3 images (3×12×12 stored channels first)"));
  g_assert_nonnull (strstr (result->unavailable, "5×12×12"));
  g_boxed_free (QS_TYPE_ACCURACY_RESULT, o.final);
}

/* An image that becomes unreadable after the folder was opened is named
 * when a streamed run reaches it; the app does not crash or hang. */
static void
test_streamed_unreadable_image (void)
{
  g_autofree char *model = g_build_filename (SOURCE_DATADIR, "models", "fashion-cnn.h5", NULL);
  g_autofree char *broken = g_build_filename (folder_root, "broken", NULL);
  g_autofree char *unused = g_build_filename (folder_root, "unused", NULL);
  g_autofree char *victim = NULL;
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GDir) dir = NULL;
  const char *name;
  g_autoptr(GError) error = NULL;
  g_autoptr(QsWeightFile) file = qs_weight_file_open (model, &error);
  g_autoptr(QsDocument) document = NULL;
  g_autoptr(QsJobService) jobs = qs_job_service_new (0, 0);
  g_autoptr(QsAccuracyJob) job = qs_accuracy_job_new ();
  g_autoptr(QsSchemeSet) other = NULL;
  QsScheme scheme;
  Outcome o = { 0 };

  g_assert_no_error (error);
  write_folders (unused, broken);
  /* The 11th image in the folder's (name) order: scored, in the second window. */
  dir = g_dir_open (broken, 0, &error);
  g_assert_no_error (error);
  while ((name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, (GCompareFunc) qs_test_compare_strings);
  victim = g_build_filename (broken, g_ptr_array_index (names, 10), NULL);
  document = qs_document_new (file);
  qs_accuracy_job_set_data (job, broken);
  _qs_accuracy_job_set_memory (job, 0, 7 * 28 * 28 * sizeof (float));
  qs_accuracy_job_request (job, jobs, document, outcome_cb, &o);
  while (o.final == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_null (o.final->unavailable);
  g_boxed_free (QS_TYPE_ACCURACY_RESULT, o.final);
  o.final = NULL;

  /* Truncated: the next run decodes it again and cannot. */
  g_assert_true (g_file_set_contents (victim, "\x89PNG\r\n", 6, NULL));
  qs_scheme_init_default (&scheme);
  scheme.bits = 6;
  other = qs_scheme_set_new (&scheme);
  qs_accuracy_job_request_schemes (job, jobs, document, other, QS_ACCURACY_JOB_TARGET, outcome_cb, &o);
  while (o.final == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_nonnull (o.final->unavailable);
  g_assert_nonnull (strstr (o.final->unavailable, (const char *) g_ptr_array_index (names, 10)));
  g_boxed_free (QS_TYPE_ACCURACY_RESULT, o.final);
}

/* The window remembers the data chosen for each model in the
 * "model-data" setting (a{ss}), with the compiled schema as a user has
 * it: the other window tests run without one, and missed that a
 * GVariantDict (a{sv}) was refused there, the choice forgotten at once. */
static void
test_window_remembers_data (void)
{
  g_autofree char *model = g_build_filename (SOURCE_DATADIR, "models", "fashion-cnn.h5", NULL);
  g_autofree char *labeled = g_build_filename (folder_root, "labeled", NULL);
  g_autofree char *unlabeled = g_build_filename (folder_root, "unlabeled", NULL);
  QsWindow *window = qs_window_test_open (model);
  g_autofree char *first = NULL, *second = NULL;
  g_autoptr(GVariant) table = NULL;

  g_assert_nonnull (window->settings);
  _qs_window_remember_data (window, labeled);
  first = _qs_window_remembered_data (window);
  g_assert_cmpstr (first, ==, labeled);
  _qs_window_remember_data (window, unlabeled);
  second = _qs_window_remembered_data (window);
  g_assert_cmpstr (second, ==, unlabeled);
  /* One entry per model: the second choice replaced the first. */
  table = g_settings_get_value (window->settings, "model-data");
  g_assert_cmpuint (g_variant_n_children (table), ==, 1);
  g_clear_pointer (&table, g_variant_unref);

  /* "Use Bundled Test Set" forgets the choice. */
  gtk_widget_activate_action (GTK_WIDGET (window), "win.use-bundled-data", NULL);
  g_assert_null (_qs_window_remembered_data (window));
  table = g_settings_get_value (window->settings, "model-data");
  g_assert_cmpuint (g_variant_n_children (table), ==, 0);
  qs_window_test_close (window);
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *labeled = NULL;
  g_autofree char *unlabeled = NULL;
  int status;

  /* The schema the build compiled (build/data), before anything reads settings. */
  g_setenv ("GSETTINGS_SCHEMA_DIR", BUILD_DATADIR, TRUE);
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();
  folder_root = g_dir_make_tmp ("qs-accuracy-job-XXXXXX", NULL);
  labeled = g_build_filename (folder_root, "labeled", NULL);
  unlabeled = g_build_filename (folder_root, "unlabeled", NULL);
  write_folders (labeled, unlabeled);
  g_test_add_data_func ("/accuracy-job/folder-matches-cli/kept", GINT_TO_POINTER (FALSE), test_folder_matches_cli);
  g_test_add_data_func ("/accuracy-job/folder-matches-cli/streamed", GINT_TO_POINTER (TRUE),
                        test_folder_matches_cli);
  g_test_add_func ("/accuracy-job/streamed-unreadable-image", test_streamed_unreadable_image);
  g_test_add_func ("/accuracy-job/nchw-matches-cli", test_nchw_matches_cli);
  g_test_add_func ("/accuracy-job/nchw-wrong-shape", test_nchw_wrong_shape);
  g_test_add_func ("/accuracy-job/window-remembers-data", test_window_remembers_data);
  status = g_test_run ();
  qs_test_remove_tree (folder_root);
  g_free (folder_root);
  return status;
}
