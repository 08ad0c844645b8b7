/* test-fuzz-targets.c: the findings of the model_config, scheme-file and image-set fuzz targets, and nesting bombs, run through the targets themselves.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Built once per target (tests/fuzz/meson.build), linked with that
 * target's tools/fuzz/qs-fuzz-TARGET.c: every file of
 * tests/fuzz/inputs-TARGET/ but the .txt notes goes through
 * LLVMFuzzerTestOneInput in this process, which must return (the targets
 * make warnings and criticals fatal). Inputs named open-* are findings in
 * code another change set fixes (tests/fuzz/README.md): listed, skipped.
 * Inputs named libhdf5-* crash or exhaust libhdf5 itself: they go
 * through the CLI (`eval --data`, $QS_CLI), which must end with one line
 * on stderr and status 2, whatever libhdf5 does.
 * The JSON targets also get inputs nested 10^5 levels deep, which
 * overflowed the stack inside json-glib before the depth bound.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>

#include <glib.h>

#if defined(__SANITIZE_ADDRESS__)
# define UNDER_ASAN 1
#elif defined(__has_feature)
# if __has_feature(address_sanitizer)
#  define UNDER_ASAN 1
# endif
#endif

int LLVMFuzzerInitialize   (int            *argc,
                            char         ***argv);
int LLVMFuzzerTestOneInput (const uint8_t  *data,
                            size_t          size);

static void
test_input (gconstpointer data)
{
  const char *path = data;
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *contents = NULL;
  gsize length = 0;
  g_autoptr(GError) error = NULL;

  if (g_str_has_prefix (base, "libhdf5-"))
    {
#ifdef UNDER_ASAN
      g_test_skip ("under AddressSanitizer the CLI leaves crashes to it");
#else
      const char *argv[] = { g_getenv ("QS_CLI"), "eval", g_getenv ("QS_FUZZ_MODEL"), "--data", path,
                             "--limit", "1", NULL };
      g_autofree char *out = NULL;
      g_autofree char *err = NULL;
      int status = 0;

      g_assert_nonnull (argv[0]);
      g_assert_nonnull (argv[2]);
      g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                                   &out, &err, &status, &error));
      g_test_message ("stderr: %s", err);
      g_assert_true (WIFEXITED (status));
      g_assert_cmpint (WEXITSTATUS (status), ==, 2);
      g_assert_cmpstr (out, ==, "");
      g_assert_true (g_str_has_prefix (err, "quantscope-cli: "));
      g_assert_cmpstr (strchr (err, '\n'), ==, "\n");
#endif
      return;
    }
  g_assert_true (g_file_get_contents (path, &contents, &length, &error));
  g_assert_no_error (error);
  g_assert_cmpint (LLVMFuzzerTestOneInput ((const uint8_t *) contents, length), ==, 0);
}

/* 10^5 of @open, then as many of @close: arrays or objects. */
static void
test_nesting_bomb (gconstpointer data)
{
  const char *pair = data;
  GString *text = g_string_new (NULL);

  for (int i = 0; i < 100000; i++)
    g_string_append (text, pair[0] == '{' ? "{\"a\":" : "[");
  for (int i = 0; i < 100000; i++)
    g_string_append_c (text, pair[1]);
  g_assert_cmpint (LLVMFuzzerTestOneInput ((const uint8_t *) text->str, text->len), ==, 0);
  g_string_free (text, TRUE);
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(char * const *) a, *(char * const *) b);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  const char *inputs = g_getenv ("QS_FUZZ_INPUTS");
  const char *target = g_getenv ("QS_FUZZ_TARGET");
  GDir *dir;
  const char *name;

  g_test_init (&argc, &argv, NULL);
  LLVMFuzzerInitialize (&argc, &argv);
  g_assert_nonnull (inputs);
  g_assert_nonnull (target);

  dir = g_dir_open (inputs, 0, &error);
  g_assert_no_error (error);
  while ((name = g_dir_read_name (dir)) != NULL)
    if (!g_str_has_suffix (name, ".txt"))
      g_ptr_array_add (paths, g_build_filename (inputs, name, NULL));
  g_dir_close (dir);
  g_ptr_array_sort (paths, compare_names);
  /* A count of zero means the inputs were not found, not that all passed. */
  g_assert_cmpuint (paths->len, >, 0);

  for (guint i = 0; i < paths->len; i++)
    {
      const char *path = g_ptr_array_index (paths, i);
      g_autofree char *base = g_path_get_basename (path);
      g_autofree char *test_name = g_strdup_printf ("/fuzz/%s/%s", target, base);

      g_test_add_data_func (test_name, path, test_input);
    }
  if (!g_str_equal (target, "dataset"))
    {
      g_autofree char *arrays = g_strdup_printf ("/fuzz/%s/nesting-bomb-arrays", target);
      g_autofree char *objects = g_strdup_printf ("/fuzz/%s/nesting-bomb-objects", target);

      g_test_add_data_func (arrays, "[]", test_nesting_bomb);
      g_test_add_data_func (objects, "{}", test_nesting_bomb);
    }
  return g_test_run ();
}
