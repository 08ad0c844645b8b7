/* test-keras3.c: Keras 3 .keras archives and .weights.h5 files, checked against the files make_keras3_files.py wrote.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <string.h>

#include <glib/gstdio.h>

#include <glib.h>
#include <json-glib/json-glib.h>

#include "model/qs-error.h"
#include "model/qs-keras3.h"
#include "model/qs-weight-file.h"
#include "model/qs-zip-archive.h"

static char *
data_path (const char *name)
{
  return g_test_build_filename (G_TEST_DIST, "data", "keras3", name, NULL);
}

/* Python's re-based to_snake_case of Keras 3 and of tf.keras, run on
 * these names (tests/reference/make_keras3_files.py's snake_case). */
static void
test_snake_case (void)
{
  static const struct { const char *name, *keras3, *keras2; } cases[] = {
    { "Conv2D", "conv2d", "conv2d" },
    { "BatchNormalization", "batch_normalization", "batch_normalization" },
    { "ReLU", "re_lu", "re_lu" },
    { "DepthwiseConv2D", "depthwise_conv2d", "depthwise_conv2d" },
    { "GlobalAveragePooling2D", "global_average_pooling2d", "global_average_pooling2d" },
    { "Conv2DTranspose", "conv2d_transpose", "conv2d_transpose" },
    { "InputLayer", "input_layer", "input_layer" },
    { "ABcDe", "a_bc_de", "a_bc_de" },
    { "HTTPServer2Go", "http_server2_go", "http_server2go" },
    { "Conv2D1x1", "conv2d1x1", "conv2_d1x1" },
    { "_Private", "__private", "private__private" },
    { "My-Layer", "my_layer", "my-_layer" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *keras3 = _qs_keras3_snake_case (cases[i].name, FALSE);
      g_autofree char *keras2 = _qs_keras3_snake_case (cases[i].name, TRUE);

      g_assert_cmpstr (keras3, ==, cases[i].keras3);
      g_assert_cmpstr (keras2, ==, cases[i].keras2);
    }
}

static JsonArray *
load_expected (JsonParser *parser)
{
  g_autofree char *path = data_path ("tiny-expected.json");
  g_autoptr(GError) error = NULL;

  json_parser_load_from_file (parser, path, &error);
  g_assert_no_error (error);
  return json_node_get_array (json_parser_get_root (parser));
}

/* Every tensor under the name, layer and role the script gave it, in the
 * model's order, with its values, and found by its stored path too. */
static void
check_tiny (const char   *name,
            QsFileLayout  layout)
{
  g_autofree char *path = data_path (name);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(QsWeightFile) file = qs_weight_file_open (path, &error);
  JsonArray *expected = load_expected (parser);
  GPtrArray *tensors;

  g_assert_no_error (error);
  g_assert_cmpint (qs_weight_file_get_layout (file), ==, layout);
  g_assert_nonnull (qs_weight_file_get_model_config (file));
  tensors = qs_weight_file_get_tensors (file);
  g_assert_cmpuint (tensors->len, ==, json_array_get_length (expected));

  for (guint i = 0; i < json_array_get_length (expected); i++)
    {
      JsonObject *want = json_array_get_object_element (expected, i);
      JsonArray *shape = json_object_get_array_member (want, "shape");
      JsonArray *values = json_object_get_array_member (want, "values");
      const QsTensorInfo *info = g_ptr_array_index (tensors, i);
      g_autofree float *read = NULL;
      g_autofree char *stored = g_strdup (json_object_get_string_member (want, "stored_path"));

      g_assert_cmpstr (info->path, ==, json_object_get_string_member (want, "path"));
      if (g_str_has_suffix (name, "tf213.keras"))
        {
          /* tf.keras 2.13: the same tree under another group name. */
          g_auto(GStrv) parts = g_strsplit (stored, "/layers/", -1);
          g_autofree char *joined = g_strjoinv ("/_layer_checkpoint_dependencies/", parts);

          g_free (stored);
          stored = g_steal_pointer (&joined);
        }
      g_assert_cmpstr (info->stored_path, ==, stored);
      g_assert_cmpstr (info->layer, ==, json_object_get_string_member (want, "layer"));
      g_assert_cmpstr (qs_tensor_role_to_string (info->role), ==, json_object_get_string_member (want, "role"));
      g_assert_true (qs_weight_file_lookup (file, info->path) == info);
      g_assert_true (qs_weight_file_lookup (file, stored) == info);
      g_assert_cmpint (info->rank, ==, json_array_get_length (shape));
      for (int d = 0; d < info->rank; d++)
        g_assert_cmpint (info->shape[d], ==, json_array_get_int_element (shape, d));

      read = qs_weight_file_read_tensor (file, info, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (info->count, ==, json_array_get_length (values));
      for (guint v = 0; v < json_array_get_length (values); v++)
        g_assert_cmpfloat (read[v], ==, (float) json_array_get_double_element (values, v));
    }
}

static void
test_tiny_archive (void)
{
  check_tiny ("tiny.keras", QS_FILE_LAYOUT_KERAS3_MODEL);
}

static void
test_tiny_deflated (void)
{
  check_tiny ("tiny-deflated.keras", QS_FILE_LAYOUT_KERAS3_MODEL);
}

static void
test_tiny_tf213 (void)
{
  check_tiny ("tiny-tf213.keras", QS_FILE_LAYOUT_KERAS3_MODEL);
}

static void
test_tiny_weights_with_config (void)
{
  check_tiny ("tiny.weights.h5", QS_FILE_LAYOUT_KERAS3_WEIGHTS);
}

/* Without its model's config beside it, a .weights.h5 keeps its stored names. */
static void
test_weights_without_config (void)
{
  g_autofree char *source = data_path ("tiny.weights.h5");
  g_autofree char *dir = g_dir_make_tmp ("qs-keras3-XXXXXX", NULL);
  g_autofree char *copy = g_build_filename (dir, "alone.weights.h5", NULL);
  g_autofree char *other_config = g_build_filename (dir, "config.json", NULL);
  g_autofree char *config_source = data_path ("tiny.config.json");
  g_autofree char *config = NULL;
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(QsWeightFile) file = NULL;
  gsize length;

  g_assert_true (g_file_get_contents (source, &contents, &length, &error));
  g_assert_true (g_file_set_contents (copy, contents, (gssize) length, &error));
  /* Another tool's config.json beside it is not taken for the model's. */
  g_assert_true (g_file_set_contents (other_config, "{\"model_type\": \"bert\"}", -1, &error));
  file = qs_weight_file_open (copy, &error);
  g_assert_no_error (error);
  g_assert_cmpint (qs_weight_file_get_layout (file), ==, QS_FILE_LAYOUT_KERAS3_WEIGHTS);
  g_assert_null (qs_weight_file_get_model_config (file));
  g_assert_nonnull (qs_weight_file_lookup (file, "/layers/conv2d/vars/0"));
  g_assert_null (qs_weight_file_lookup (file, "/stem/kernel"));
  g_clear_object (&file);

  /* The model's own, under the generic name, is. */
  g_assert_true (g_file_get_contents (config_source, &config, &length, &error));
  g_assert_true (g_file_set_contents (other_config, config, (gssize) length, &error));
  file = qs_weight_file_open (copy, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (qs_weight_file_get_model_config (file), ==, config);
  g_assert_nonnull (qs_weight_file_lookup (file, "/stem/kernel"));

  g_unlink (other_config);
  g_unlink (copy);
  g_rmdir (dir);
}

/* The archive's entries as zipfile wrote them; stored and deflated read alike. */
static void
test_zip_entries (void)
{
  g_autofree char *stored_path = data_path ("tiny.keras");
  g_autofree char *deflated_path = data_path ("tiny-deflated.keras");
  g_autofree char *config_path = data_path ("tiny.config.json");
  g_autofree char *weights_path = data_path ("tiny.weights.h5");
  g_autofree char *config = NULL, *weights = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(QsZipArchive) stored = qs_zip_archive_open (stored_path, &error);
  g_autoptr(QsZipArchive) deflated = qs_zip_archive_open (deflated_path, &error);
  g_autoptr(GPtrArray) names = NULL;
  gsize config_length, weights_length;
  const char *order[] = { "metadata.json", "config.json", "model.weights.h5" };

  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (config_path, &config, &config_length, NULL));
  g_assert_true (g_file_get_contents (weights_path, &weights, &weights_length, NULL));
  names = qs_zip_archive_list (stored);
  g_assert_cmpuint (names->len, ==, G_N_ELEMENTS (order));
  for (guint i = 0; i < names->len; i++)
    g_assert_cmpstr (g_ptr_array_index (names, i), ==, order[i]);

  for (int which = 0; which < 2; which++)
    {
      QsZipArchive *archive = which == 0 ? stored : deflated;
      g_autoptr(GBytes) c = qs_zip_archive_read (archive, "config.json", 1 << 20, &error);
      g_autoptr(GBytes) w = qs_zip_archive_read (archive, "model.weights.h5", 1 << 20, &error);
      g_autoptr(GBytes) missing = NULL;

      g_assert_no_error (error);
      g_assert_cmpmem (g_bytes_get_data (c, NULL), g_bytes_get_size (c), config, config_length);
      g_assert_cmpmem (g_bytes_get_data (w, NULL), g_bytes_get_size (w), weights, weights_length);
      /* The caller's limit holds too. */
      missing = qs_zip_archive_read (archive, "model.weights.h5", 1000, &error);
      g_assert_error (error, QS_ERROR, QS_ERROR_TOO_LARGE);
      g_clear_error (&error);
      g_assert_null (qs_zip_archive_read (archive, "nothing", 1 << 20, &error));
      g_assert_error (error, QS_ERROR, QS_ERROR_NOT_FOUND);
      g_clear_error (&error);
    }
}

/* Each hostile archive is refused with its own one-line reason. */
static void
test_hostile (void)
{
  static const struct { const char *file, *reason; } cases[] = {
    { "truncated.keras", "no end-of-directory record" },
    { "bomb.keras", "zip bomb" },
    { "lying-size.keras", "inflates past its declared size" },
    { "bad-crc.keras", "CRC does not match" },
    { "dotdot.keras", "contains “..”" },
    { "encrypted.keras", "encrypted" },
    { "zip64.keras", "zip64" },
    { "huge-count.keras", "60000 entries" },
    { "long-name.keras", "longer than 1024 bytes" },
    { "npz.keras", "model.weights.npz" },
    { "no-config.keras", "without config.json" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = data_path (cases[i].file);
      g_autoptr(GError) error = NULL;
      g_autoptr(QsWeightFile) file = qs_weight_file_open (path, &error);

      g_test_message ("%s: %s", cases[i].file, error != NULL ? error->message : "(opened)");
      g_assert_null (file);
      g_assert_nonnull (error);
      g_assert_true (error->domain == QS_ERROR);
      g_assert_nonnull (strstr (error->message, cases[i].reason));
      g_assert_null (strchr (error->message, '\n'));
    }
}

/* Every prefix of a good archive is refused or read, never a crash. */
static void
test_every_truncation (void)
{
  g_autofree char *source = data_path ("tiny-deflated.keras");
  g_autofree char *dir = g_dir_make_tmp ("qs-keras3-XXXXXX", NULL);
  g_autofree char *cut = g_build_filename (dir, "cut.keras", NULL);
  g_autofree char *contents = NULL;
  gsize length;

  g_assert_true (g_file_get_contents (source, &contents, &length, NULL));
  for (gsize n = 0; n < length; n += 97)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(QsWeightFile) file = NULL;

      g_assert_true (g_file_set_contents (cut, contents, (gssize) n, NULL));
      file = qs_weight_file_open (cut, &error);
      g_assert_null (file);
      g_assert_nonnull (error);
    }
  g_unlink (cut);
  g_rmdir (dir);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/keras3/snake-case", test_snake_case);
  g_test_add_func ("/keras3/tiny-archive", test_tiny_archive);
  g_test_add_func ("/keras3/tiny-deflated", test_tiny_deflated);
  g_test_add_func ("/keras3/tiny-tf213", test_tiny_tf213);
  g_test_add_func ("/keras3/tiny-weights-with-config", test_tiny_weights_with_config);
  g_test_add_func ("/keras3/weights-without-config", test_weights_without_config);
  g_test_add_func ("/keras3/zip-entries", test_zip_entries);
  g_test_add_func ("/keras3/hostile", test_hostile);
  g_test_add_func ("/keras3/every-truncation", test_every_truncation);

  return g_test_run ();
}
