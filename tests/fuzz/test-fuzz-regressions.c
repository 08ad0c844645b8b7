/* test-fuzz-regressions.c: the fuzzer's findings stay harmless: libhdf5's crashes stay in the scanning child, ours stay fixed.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every file in tests/fuzz/inputs/ goes through qs_weight_file_scan(): the
 * parent must get a listing or one clean line of error, whatever the file
 * does to libhdf5 in the child; those that make libhdf5 spin (timeout-*)
 * must be stopped, and those whose damage shows only when a contiguous
 * dataset's values are read (contig-read-*) must fail. The inputs of bugs that were in our own code (fixed-*)
 * also run in this process through the fuzz target itself
 * (tools/fuzz/qs-fuzz-reader.c, linked in), which must return.
 * See tests/fuzz/README.md for what each input did.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <glib.h>

#include "model/qs-error.h"
#include "model/qs-safe-scan.h"
#include "model/qs-weight-file.h"

/* tools/fuzz/qs-fuzz-reader.c */
int LLVMFuzzerInitialize   (int            *argc,
                            char         ***argv);
int LLVMFuzzerTestOneInput (const uint8_t  *data,
                            size_t          size);

/* A count that drops means the inputs were not found, not that all passed. */
#define MIN_INPUTS 12

/* Every input scans in well under a second, even under ASan, except
 * those that hang libhdf5 (timeout-*): this bounds the test's time. */
#define SCAN_TIMEOUT_MS 2000

static void
test_scan (gconstpointer data)
{
  const char *path = data;
  g_autofree char *base = g_path_get_basename (path);
  g_autoptr(QsScanResult) result = NULL;
  g_autoptr(GError) error = NULL;
  gint64 start = g_get_monotonic_time ();

  result = qs_weight_file_scan (path, SCAN_TIMEOUT_MS, NULL, &error);
  g_test_message ("%s: %s (%.2f s)", base,
                  result != NULL ? "listed" : error->message,
                  (g_get_monotonic_time () - start) / 1e6);
  /* Damage libhdf5 meets only in a contiguous dataset's values: the scan
   * reads those too, and must fail. */
  if (g_str_has_prefix (base, "contig-read-"))
    g_assert_null (result);
  /* A chunk index claiming more bytes than the file holds is refused
   * before libhdf5 allocates them (once 4.2 GB). */
  if (g_str_has_prefix (base, "fixed-read-block-chunk-"))
    {
      g_assert_null (result);
      g_assert_nonnull (strstr (error->message, "stored bytes in a file of"));
    }
  if (g_str_has_prefix (base, "timeout-"))
    {
      g_assert_null (result);
      g_assert_nonnull (strstr (error->message, "took longer"));
    }
  if (result != NULL)
    {
      g_assert_no_error (error);
      g_assert_nonnull (result->tensors);
      g_assert_nonnull (result->warnings);
      return;
    }
  g_assert_nonnull (error);
  g_assert_true (error->domain == QS_ERROR);
  g_assert_null (strchr (error->message, '\n'));
  g_assert_nonnull (strstr (error->message, base));
}

static void
test_in_process (gconstpointer data)
{
  const char *path = data;
  g_autofree char *contents = NULL;
  gsize length = 0;
  g_autoptr(GError) error = NULL;

  g_assert_true (g_file_get_contents (path, &contents, &length, &error));
  g_assert_no_error (error);
  g_assert_cmpint (LLVMFuzzerTestOneInput ((const uint8_t *) contents, length), ==, 0);
}

/* The readers of values refuse the damaged chunk index too, before
 * libhdf5 allocates the 4.2 GB it claims for one chunk. */
static void
test_chunk_index_refused (gconstpointer data)
{
  const char *path = data;
  g_autoptr(QsWeightFile) weights = NULL;
  g_autoptr(GError) error = NULL;
  const QsTensorInfo *tensor;
  float *values;

  weights = qs_weight_file_open (path, &error);
  g_assert_no_error (error);
  tensor = qs_weight_file_lookup (weights, "/w");
  g_assert_nonnull (tensor);
  values = qs_weight_file_read_tensor (weights, tensor, &error);
  g_assert_null (values);
  g_assert_error (error, QS_ERROR, QS_ERROR_READ);
  g_assert_nonnull (strstr (error->message, "claims 4160761330 stored bytes in a file of 15522"));
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
  const char *asan = g_getenv ("ASAN_OPTIONS");
  g_autofree char *child_asan = NULL;
  GDir *dir;
  const char *name;

  g_test_init (&argc, &argv, NULL);
  LLVMFuzzerInitialize (&argc, &argv);

  /* Set before any thread exists. The scanner is the CLI that
   * QS_SCAN_HELPER names; in a sanitizer build it is instrumented too,
   * and a report there should end it with a signal, as the crash it
   * stands for does in a release build (this process read its own
   * options at start-up). */
  g_assert_nonnull (inputs);
  g_assert_nonnull (g_getenv ("QS_SCAN_HELPER"));
  child_asan = g_strconcat (asan != NULL ? asan : "", asan != NULL ? ":" : "",
                            "abort_on_error=1", NULL);
  g_setenv ("ASAN_OPTIONS", child_asan, TRUE);

  dir = g_dir_open (inputs, 0, &error);
  g_assert_no_error (error);
  while ((name = g_dir_read_name (dir)) != NULL)
    if (g_str_has_suffix (name, ".h5"))
      g_ptr_array_add (paths, g_build_filename (inputs, name, NULL));
  g_dir_close (dir);
  g_ptr_array_sort (paths, compare_names);
  g_assert_cmpuint (paths->len, >=, MIN_INPUTS);

  for (guint i = 0; i < paths->len; i++)
    {
      const char *path = g_ptr_array_index (paths, i);
      g_autofree char *base = g_path_get_basename (path);
      g_autofree char *scan_name = g_strdup_printf ("/fuzz/scan/%s", base);

      g_test_add_data_func (scan_name, path, test_scan);
      if (g_str_has_prefix (base, "fixed-"))
        {
          g_autofree char *run_name = g_strdup_printf ("/fuzz/in-process/%s", base);

          g_test_add_data_func (run_name, path, test_in_process);
        }
      if (g_str_has_prefix (base, "fixed-read-block-chunk-"))
        {
          g_autofree char *read_name = g_strdup_printf ("/fuzz/read/%s", base);

          g_test_add_data_func (read_name, path, test_chunk_index_refused);
        }
    }

  return g_test_run ();
}
