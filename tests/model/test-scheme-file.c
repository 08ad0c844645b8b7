/* test-scheme-file.c: scheme files: parsing, line-precise errors, resolution, atomic saving.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "model/qs-error.h"
#include "model/qs-scheme-file.h"

static char *tmp_dir;

static QsTensorInfo
tensor (const char   *path,
        QsTensorRole  role)
{
  QsTensorInfo info = { 0, };

  info.path = (char *) path;
  info.layer = (char *) "layer";
  info.dtype = (char *) "float32";
  info.role = role;
  info.rank = 2;
  info.shape[0] = 3;
  info.shape[1] = 4;
  info.count = 12;
  info.quantizable = TRUE;
  info.channel_axis = 1;
  return info;
}

static const char *example =
  "{\n"
  "  \"version\": 1,\n"
  "  \"default\": {\"bits\": 8, \"mapping\": \"symmetric\", \"narrow\": true,\n"
  "              \"granularity\": \"channel\", \"axis\": null, \"range\": \"percentile:99.9\"},\n"
  "  \"overrides\": [\n"
  "    {\"tensors\": \"/conv1/*\", \"bits\": 4, \"range\": \"mse\"},\n"
  "    {\"tensors\": [\"dense*/kernel:0\", \"role:depthwise_kernel\"], \"granularity\": \"tensor\",\n"
  "     \"signed\": false, \"mapping\": \"asymmetric\", \"narrow\": false},\n"
  "    {\"tensors\": \"/conv1/conv1/kernel:0\", \"rounding\": \"away\", \"zero_nudge\": false,\n"
  "     \"format\": \"int\", \"axis\": -1, \"bins\": 64}\n"
  "  ],\n"
  "  \"skip\": [\"role:bias\", \"/embedding/*\"]\n"
  "}\n";

static void
test_defaults (void)
{
  g_autoptr(QsSchemeFile) file = qs_scheme_file_new (NULL);
  const char * const *skip = qs_scheme_file_get_skip (file);
  QsTensorInfo bias = tensor ("/d/bias", QS_TENSOR_ROLE_BIAS);
  QsTensorInfo bn = tensor ("/bn/gamma", QS_TENSOR_ROLE_BATCHNORM);
  QsTensorInfo kernel = tensor ("/d/kernel", QS_TENSOR_ROLE_KERNEL);
  QsScheme scheme, reference;

  qs_scheme_init_default (&reference);
  g_assert_cmpmem (qs_scheme_file_get_default (file), sizeof (QsScheme), &reference, sizeof reference);
  g_assert_cmpuint (g_strv_length ((char **) skip), ==, 2);
  g_assert_cmpstr (skip[0], ==, "role:bias");
  g_assert_cmpstr (skip[1], ==, "role:batchnorm");

  g_assert_false (qs_scheme_file_resolve (file, &bias, &scheme));
  g_assert_false (qs_scheme_file_resolve (file, &bn, &scheme));
  g_assert_true (qs_scheme_file_resolve (file, &kernel, &scheme));
  g_assert_cmpint (scheme.bits, ==, 8);

  /* Not floating point, or empty: never quantized. */
  kernel.quantizable = FALSE;
  g_assert_false (qs_scheme_file_resolve (file, &kernel, &scheme));
}

static void
test_load_and_resolve (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QsSchemeFile) file = qs_scheme_file_load_from_data (example, -1, "example.json", &error);
  QsTensorInfo conv = tensor ("/conv1/conv1/kernel:0", QS_TENSOR_ROLE_KERNEL);
  QsTensorInfo conv_other = tensor ("/conv1/conv1/other", QS_TENSOR_ROLE_OTHER);
  QsTensorInfo dense = tensor ("/dense_3/dense_3/kernel:0", QS_TENSOR_ROLE_KERNEL);
  QsTensorInfo dw = tensor ("/dw/dw/depthwise_kernel:0", QS_TENSOR_ROLE_DEPTHWISE_KERNEL);
  QsTensorInfo bias = tensor ("/conv1/conv1/bias:0", QS_TENSOR_ROLE_BIAS);
  QsTensorInfo bn = tensor ("/bn/bn/gamma:0", QS_TENSOR_ROLE_BATCHNORM);
  QsTensorInfo embedding = tensor ("/embedding/table", QS_TENSOR_ROLE_OTHER);
  QsScheme scheme;
  QsSchemeKeys keys;

  g_assert_no_error (error);
  g_assert_nonnull (file);
  g_assert_cmpuint (qs_scheme_file_get_n_overrides (file), ==, 3);
  qs_scheme_file_get_override (file, 1, &scheme, &keys);
  g_assert_cmpint (keys, ==, QS_SCHEME_KEY_GRANULARITY | QS_SCHEME_KEY_SIGNED
                   | QS_SCHEME_KEY_MAPPING | QS_SCHEME_KEY_NARROW);

  /* The default. */
  g_assert_true (qs_scheme_file_resolve (file, &conv_other, &scheme));
  g_assert_cmpint (scheme.bits, ==, 4);
  g_assert_cmpint (scheme.range_method, ==, QS_RANGE_MSE);
  g_assert_cmpint (scheme.mapping, ==, QS_MAPPING_SYMMETRIC);
  g_assert_cmpint (scheme.granularity, ==, QS_GRANULARITY_CHANNEL);
  g_assert_cmpint (scheme.axis, ==, QS_AXIS_DEFAULT);

  /* Two overrides; the later one wins where both speak. */
  g_assert_true (qs_scheme_file_resolve (file, &conv, &scheme));
  g_assert_cmpint (scheme.bits, ==, 4);
  g_assert_cmpint (scheme.range_method, ==, QS_RANGE_MSE);
  g_assert_cmpint (scheme.rounding, ==, QS_ROUNDING_HALF_AWAY);
  g_assert_false (scheme.nudge_zero);
  g_assert_cmpint (scheme.axis, ==, -1);
  g_assert_cmpint (scheme.bins, ==, 64);
  g_assert_true (scheme.narrow);

  g_assert_true (qs_scheme_file_resolve (file, &dense, &scheme));
  g_assert_cmpint (scheme.bits, ==, 8);
  g_assert_cmpint (scheme.granularity, ==, QS_GRANULARITY_TENSOR);
  g_assert_true (scheme.is_unsigned);
  g_assert_false (scheme.narrow);
  g_assert_cmpint (scheme.range_method, ==, QS_RANGE_PERCENTILE);
  g_assert_cmpfloat (scheme.percentile, ==, 99.9);

  /* A role pattern. */
  g_assert_true (qs_scheme_file_resolve (file, &dw, &scheme));
  g_assert_true (scheme.is_unsigned);

  /* The skip list replaces the default one: batch-norm is quantized here. */
  g_assert_false (qs_scheme_file_resolve (file, &bias, &scheme));
  g_assert_false (qs_scheme_file_resolve (file, &embedding, &scheme));
  g_assert_true (qs_scheme_file_resolve (file, &bn, &scheme));
}

static void
test_patterns (void)
{
  QsTensorInfo info = tensor ("/model_weights/conv2d/conv2d/kernel:0", QS_TENSOR_ROLE_KERNEL);

  g_assert_true (qs_scheme_pattern_matches ("*", &info));
  g_assert_true (qs_scheme_pattern_matches ("*kernel*", &info));
  g_assert_true (qs_scheme_pattern_matches ("model_weights/conv2d/*", &info));
  g_assert_true (qs_scheme_pattern_matches ("/model_weights/conv2d/conv2d/kernel:0", &info));
  g_assert_true (qs_scheme_pattern_matches ("/model_weights/conv2?/*", &info));
  g_assert_true (qs_scheme_pattern_matches ("role:kernel", &info));
  g_assert_false (qs_scheme_pattern_matches ("role:bias", &info));
  g_assert_false (qs_scheme_pattern_matches ("conv2d/*", &info));
  g_assert_false (qs_scheme_pattern_matches ("/model_weights/dense/*", &info));
}

static void
assert_round_trip (QsSchemeFile *file)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *first = qs_scheme_file_to_data (file, NULL);
  g_autoptr(QsSchemeFile) again = qs_scheme_file_load_from_data (first, -1, "first", &error);
  g_autofree char *second = NULL;

  g_assert_no_error (error);
  second = qs_scheme_file_to_data (again, NULL);
  g_assert_cmpstr (first, ==, second);
  g_assert_cmpmem (qs_scheme_file_get_default (file), sizeof (QsScheme),
                   qs_scheme_file_get_default (again), sizeof (QsScheme));
}

static void
test_round_trip (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QsSchemeFile) file = qs_scheme_file_load_from_data (example, -1, "example.json", &error);
  g_autoptr(QsSchemeFile) built = qs_scheme_file_new (NULL);
  const char * const skip[] = { "role:other", NULL };
  QsScheme scheme;

  g_assert_no_error (error);
  assert_round_trip (file);

  /* What the GUI does: a per-tensor scheme, set twice, stays one override. */
  qs_scheme_init_per_tensor (&scheme);
  scheme.bits = 3;
  scheme.range_method = QS_RANGE_MANUAL;
  scheme.manual_lo = -0.1;
  scheme.manual_hi = 0.30000000000000004;
  qs_scheme_file_set_tensor_scheme (built, "/a/kernel", &scheme);
  scheme.bits = 5;
  qs_scheme_file_set_tensor_scheme (built, "/a/kernel", &scheme);
  qs_scheme_file_set_tensor_scheme (built, "/b/kernel", &scheme);
  qs_scheme_file_set_skip (built, skip);
  g_assert_cmpuint (qs_scheme_file_get_n_overrides (built), ==, 2);
  qs_scheme_file_get_override (built, 0, &scheme, NULL);
  g_assert_cmpint (scheme.bits, ==, 5);
  g_assert_cmpfloat (scheme.manual_hi, ==, 0.30000000000000004);
  assert_round_trip (built);

  qs_scheme_file_remove_override (built, 0);
  g_assert_cmpuint (qs_scheme_file_get_n_overrides (built), ==, 1);
  g_assert_cmpstr (qs_scheme_file_get_override (built, 0, NULL, NULL)[0], ==, "/b/kernel");
}

static guint
count_entries (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  guint n = 0;

  while (d != NULL && g_dir_read_name (d) != NULL)
    n++;
  return n;
}

static void
test_save (void)
{
  g_autofree char *dir = g_build_filename (tmp_dir, "save", NULL);
  g_autofree char *path = g_build_filename (dir, "scheme.json", NULL);
  g_autofree char *missing = g_build_filename (tmp_dir, "no-such-dir", "scheme.json", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(QsSchemeFile) file = qs_scheme_file_load_from_data (example, -1, "example.json", &error);
  g_autoptr(QsSchemeFile) loaded = NULL;
  g_autofree char *saved = NULL;
  g_autofree char *expected = NULL;

  g_assert_no_error (error);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);

  g_assert_true (qs_scheme_file_save (file, path, &error));
  g_assert_no_error (error);
  /* Saving over an existing file replaces it, and leaves nothing else. */
  g_assert_true (qs_scheme_file_save (file, path, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (count_entries (dir), ==, 1);

  loaded = qs_scheme_file_load (path, &error);
  g_assert_no_error (error);
  saved = qs_scheme_file_to_data (loaded, NULL);
  expected = qs_scheme_file_to_data (file, NULL);
  g_assert_cmpstr (saved, ==, expected);

  g_assert_false (qs_scheme_file_save (file, missing, &error));
  g_assert_error (error, QS_ERROR, QS_ERROR_WRITE);
  g_assert_null (strchr (error->message, '\n'));
}

/* Saving through a symbolic link (the app's Save Scheme and `mixed -o`
 * both call this) replaces the file the link leads to and keeps the
 * link; a dangling link is saved at its target; a loop is refused with
 * a QS_ERROR_INVALID error of one line. Nothing else is left in the
 * folder. */
static void
test_save_through_link (void)
{
  g_autofree char *dir = g_build_filename (tmp_dir, "save-link", NULL);
  g_autofree char *target = g_build_filename (dir, "target.json", NULL);
  g_autofree char *link = g_build_filename (dir, "link.json", NULL);
  g_autofree char *dangling = g_build_filename (dir, "dangling.json", NULL);
  g_autofree char *fresh = g_build_filename (dir, "fresh.json", NULL);
  g_autofree char *loop = g_build_filename (dir, "loop.json", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(QsSchemeFile) file = qs_scheme_file_load_from_data (example, -1, "example.json", &error);
  g_autofree char *expected = NULL;
  g_autofree char *saved = NULL;
  g_autofree char *read = NULL;

  g_assert_no_error (error);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_assert_true (g_file_set_contents (target, "old", -1, NULL));
  g_assert_cmpint (symlink ("target.json", link), ==, 0);
  g_assert_cmpint (symlink ("fresh.json", dangling), ==, 0);
  g_assert_cmpint (symlink ("loop.json", loop), ==, 0);
  expected = qs_scheme_file_to_data (file, NULL);

  g_assert_true (qs_scheme_file_save (file, link, &error));
  g_assert_no_error (error);
  read = g_file_read_link (link, NULL);
  g_assert_cmpstr (read, ==, "target.json");
  g_clear_pointer (&read, g_free);
  g_assert_true (g_file_get_contents (target, &saved, NULL, NULL));
  g_assert_cmpstr (saved, ==, expected);
  g_clear_pointer (&saved, g_free);

  g_assert_true (qs_scheme_file_save (file, dangling, &error));
  g_assert_no_error (error);
  read = g_file_read_link (dangling, NULL);
  g_assert_cmpstr (read, ==, "fresh.json");
  g_assert_true (g_file_get_contents (fresh, &saved, NULL, NULL));
  g_assert_cmpstr (saved, ==, expected);

  g_assert_false (qs_scheme_file_save (file, loop, &error));
  g_assert_error (error, QS_ERROR, QS_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "loop"));
  g_assert_null (strchr (error->message, '\n'));
  g_assert_true (g_file_test (loop, G_FILE_TEST_IS_SYMLINK));
  g_assert_cmpuint (count_entries (dir), ==, 5);
}

typedef struct {
  const char *text;
  const char *expected;   /* a substring of the message, with the line */
} BadCase;

/* Each text fails to load, with one line holding the expected words. */
static void
assert_bad_cases (const BadCase *cases,
                  gsize          n)
{
  for (gsize i = 0; i < n; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(QsSchemeFile) file = qs_scheme_file_load_from_data (cases[i].text, -1, "bad.json", &error);

      g_test_message ("case %" G_GSIZE_FORMAT ": %s", i, error != NULL ? error->message : "(none)");
      g_assert_null (file);
      g_assert_error (error, QS_ERROR, QS_ERROR_INVALID);
      g_assert_nonnull (strstr (error->message, cases[i].expected));
      g_assert_null (strchr (error->message, '\n'));
    }
}

static void
test_errors (void)
{
  static const BadCase cases[] = {
    { "{\n  \"version\": 1,\n  \"default\": {\n    \"bits\": 4,,\n  }\n}\n", "bad.json:4:" },
    { "{\n  \"version\": 1,\n  \"default\": {\n    \"bitz\": 4\n  }\n}\n", "bad.json:4: unknown key “bitz”" },
    { "{\n  \"version\": 1,\n  \"default\": {\"bits\": 40}\n}\n", "bad.json:3: “bits”" },
    { "{\n  \"version\": 2\n}\n", "bad.json:2: scheme file version 2" },
    { "{\n  \"default\": {}\n}\n", "bad.json:1: no “version”" },
    { "[1, 2]", "bad.json:1: a scheme file is a JSON object" },
    { "{\"version\": 1,\n \"overrides\": [\n  {\"bits\": 4}\n ]}\n", "bad.json:3: override 1 has no “tensors”" },
    { "{\"version\": 1,\n \"overrides\": [\n  {\"tensors\": \"*\",\n   \"range\": \"percentile:30\"}\n ]}\n",
      "bad.json:3: override 1: the percentile" },
    { "{\"version\": 1,\n \"overrides\": [{\"tensors\": \"*\",\n   \"mapping\": \"sym\"}]}\n",
      "bad.json:3: “mapping” in override 1" },
    { "{\"version\": 1,\n \"skip\": [\"a\",\n  3]}\n", "bad.json:3: “skip” must hold" },
    { "{\"version\": 1,\n \"skip\": [\"role:weights\"]}\n", "bad.json:2: unknown role" },
    { "{\"version\": 1,\n\n \"colour\": \"blue\"}\n", "bad.json:3: unknown key “colour”" },
    { "{\"version\": 1, \"default\": {\"narrow\": 1}}", "bad.json:1: “narrow” in “default” must be true or false" },
    { "{\"version\": 1, \"default\": {\"range\": \"manual:2,1\"}}", "bad.json:1: “default”: the manual range" },
    { "", "bad.json:" },
  };

  assert_bad_cases (cases, G_N_ELEMENTS (cases));
}

/* Block formats and group sizes: parsed, resolved key by key, written
 * back (group_size only where set) and refused out of range. */
static void
test_block_formats (void)
{
  static const char *text =
    "{\"version\": 1,\n"
    " \"default\": {\"format\": \"nvfp4\"},\n"
    " \"overrides\": [{\"tensors\": \"/a/*\", \"format\": \"int\", \"bits\": 4,\n"
    "                \"granularity\": \"group\", \"group_size\": 32},\n"
    "               {\"tensors\": \"/a/b\", \"format\": \"mxfp6-e3m2\"}]}\n";
  g_autoptr(GError) error = NULL;
  g_autoptr(QsSchemeFile) file = qs_scheme_file_load_from_data (text, -1, "blocks.json", &error);
  QsTensorInfo a = tensor ("/a/kernel", QS_TENSOR_ROLE_KERNEL);
  QsTensorInfo b = tensor ("/a/b", QS_TENSOR_ROLE_KERNEL);
  QsTensorInfo c = tensor ("/c", QS_TENSOR_ROLE_KERNEL);
  g_autofree char *data = NULL;
  QsScheme scheme;

  g_assert_no_error (error);
  g_assert_cmpint (qs_scheme_file_get_default (file)->format, ==, QS_FORMAT_NVFP4);
  g_assert_cmpint (qs_scheme_file_get_default (file)->group_size, ==, 0);
  g_assert_true (qs_scheme_file_resolve (file, &a, &scheme));
  g_assert_cmpint (scheme.format, ==, QS_FORMAT_INT);
  g_assert_cmpint (scheme.granularity, ==, QS_GRANULARITY_GROUP);
  g_assert_cmpint (scheme.group_size, ==, 32);
  g_assert_true (qs_scheme_file_resolve (file, &b, &scheme));
  g_assert_cmpint (scheme.format, ==, QS_FORMAT_MXFP6_E3M2);
  /* The earlier override's group size still applies: keys merge one by one. */
  g_assert_cmpint (scheme.group_size, ==, 32);
  g_assert_true (qs_scheme_file_resolve (file, &c, &scheme));
  g_assert_cmpint (scheme.format, ==, QS_FORMAT_NVFP4);

  data = qs_scheme_file_to_data (file, NULL);
  g_assert_nonnull (strstr (data, "\"nvfp4\""));
  g_assert_nonnull (strstr (data, "\"group_size\" : 32"));
  assert_round_trip (file);
}

static void
test_block_errors (void)
{
  static const BadCase cases[] = {
    { "{\"version\": 1,\n \"default\": {\"group_size\": 70000}}", "bad.json:2: “group_size” in “default”" },
    { "{\"version\": 1,\n \"default\": {\"group_size\": \"32\"}}", "bad.json:2: “group_size”" },
    { "{\"version\": 1,\n \"default\": {\"format\": \"mxfp3\"}}", "bad.json:2: “format” in “default”" },
    { "{\"version\": 1,\n \"default\": {\"granularity\": \"block\"}}", "bad.json:2: “granularity”" },
    { "{\"version\": 1,\n \"default\": {\"granularity\": \"group\", \"range\": \"kl\"}}",
      "bad.json:2: “default”: group-wise and block formats" },
  };

  assert_bad_cases (cases, G_N_ELEMENTS (cases));
}

static void
test_load_errors (void)
{
  g_autofree char *missing = g_build_filename (tmp_dir, "missing.json", NULL);
  g_autofree char *binary = g_build_filename (tmp_dir, "binary.json", NULL);
  g_autoptr(GError) error = NULL;

  g_assert_null (qs_scheme_file_load (missing, &error));
  g_assert_error (error, QS_ERROR, QS_ERROR_NOT_FOUND);
  g_clear_error (&error);

  g_assert_true (g_file_set_contents (binary, "\x89HDF\r\n\x1a\n\0\0", 10, NULL));
  g_assert_null (qs_scheme_file_load (binary, &error));
  g_assert_error (error, QS_ERROR, QS_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "binary.json:1:"));
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  tmp_dir = g_dir_make_tmp ("qs-scheme-file-XXXXXX", &error);
  g_assert_no_error (error);

  g_test_add_func ("/scheme-file/defaults", test_defaults);
  g_test_add_func ("/scheme-file/load-and-resolve", test_load_and_resolve);
  g_test_add_func ("/scheme-file/patterns", test_patterns);
  g_test_add_func ("/scheme-file/round-trip", test_round_trip);
  g_test_add_func ("/scheme-file/save", test_save);
  g_test_add_func ("/scheme-file/save-through-link", test_save_through_link);
  g_test_add_func ("/scheme-file/errors", test_errors);
  g_test_add_func ("/scheme-file/load-errors", test_load_errors);
  g_test_add_func ("/scheme-file/block-formats", test_block_formats);
  g_test_add_func ("/scheme-file/block-errors", test_block_errors);

  status = g_test_run ();

  {
    g_autofree char *save_dir = g_build_filename (tmp_dir, "save", NULL);
    g_autofree char *saved = g_build_filename (save_dir, "scheme.json", NULL);
    g_autofree char *binary = g_build_filename (tmp_dir, "binary.json", NULL);

    g_remove (saved);
    g_remove (save_dir);
    g_remove (binary);
    g_remove (tmp_dir);
  }
  g_free (tmp_dir);
  return status;
}
