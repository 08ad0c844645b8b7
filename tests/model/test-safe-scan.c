/* test-safe-scan.c: the child-process metadata scan turns crashes, hangs and failures into one-line errors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <hdf5.h>

#include "model/qs-error.h"
#include "model/qs-safe-scan.h"
#include "qs-test-hdf5.h"

static char *tmp_dir;

static char *
make_weights (void)
{
  char *path = g_build_filename (tmp_dir, "weights.h5", NULL);
  hid_t h5 = H5Fcreate (path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  hid_t lcpl = H5Pcreate (H5P_LINK_CREATE);
  hsize_t dims[2] = { 4, 3 };
  hid_t space = H5Screate_simple (2, dims, NULL);
  hid_t dset;

  H5Pset_create_intermediate_group (lcpl, 1);
  dset = H5Dcreate2 (h5, "/dense/dense/kernel:0", H5T_IEEE_F32LE, space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
  H5Dclose (dset);
  dset = H5Dcreate2 (h5, "/dense/dense/bias:0", H5T_STD_I32LE, space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
  H5Dclose (dset);
  H5Lcreate_soft ("/nowhere", h5, "/dangling", H5P_DEFAULT, H5P_DEFAULT);
  H5Sclose (space);
  H5Pclose (lcpl);
  g_assert_cmpint (H5Fclose (h5), >=, 0);
  return path;
}

static void
assert_one_line_error (GError     *error,
                       int         code,
                       const char *fragment)
{
  g_assert_error (error, QS_ERROR, code);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, fragment));
  g_assert_null (strchr (error->message, '\n'));
}

static void
test_real_file (void)
{
  g_autofree char *path = make_weights ();
  g_autoptr(GError) error = NULL;
  g_autoptr(QsScanResult) result = NULL;
  const QsTensorInfo *kernel;

  result = qs_weight_file_scan (path, 0, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (result);
  g_assert_cmpstr (result->layout, ==, "generic");
  g_assert_cmpuint (result->tensors->len, ==, 2);
  kernel = g_ptr_array_index (result->tensors, 1);
  g_assert_cmpstr (kernel->path, ==, "/dense/dense/kernel:0");
  g_assert_cmpint (kernel->rank, ==, 2);
  g_assert_cmpint (kernel->shape[0], ==, 4);
  g_assert_cmpint (kernel->shape[1], ==, 3);
  g_assert_cmpuint (kernel->count, ==, 12);
  g_assert_true (kernel->quantizable);
  g_assert_cmpstr (kernel->dtype, ==, "float32");
  g_assert_cmpint (kernel->role, ==, QS_TENSOR_ROLE_KERNEL);
  g_assert_cmpint (kernel->channel_axis, ==, 1);
  g_assert_false (((QsTensorInfo *) g_ptr_array_index (result->tensors, 0))->quantizable);
  g_assert_cmpuint (result->warnings->len, ==, 1);
  g_assert_nonnull (strstr (g_ptr_array_index (result->warnings, 0), "/dangling"));
}

/* A Keras 3 archive scans in the child like any weight file, its tensors
 * named after their layers with the stored path beside the name. */
static void
test_keras3_archive (void)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "data", "keras3", "tiny.keras", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(QsScanResult) result = qs_weight_file_scan (path, 0, NULL, &error);
  const QsTensorInfo *first;

  g_assert_no_error (error);
  g_assert_cmpstr (result->layout, ==, "keras3-model");
  g_assert_true (result->has_model_config);
  g_assert_cmpuint (result->tensors->len, ==, 14);
  first = g_ptr_array_index (result->tensors, 0);
  g_assert_cmpstr (first->path, ==, "/stem/kernel");
  g_assert_cmpstr (first->stored_path, ==, "/layers/conv2d/vars/0");
  g_assert_cmpstr (first->layer, ==, "stem");
}

/* The app's scan of an archive whose weights have a global heap libhdf5
 * loops on (tests/data/keras3/libhdf5-loop.keras) ended after its time
 * limit; the heap is now walked in the image first: the damaged
 * attribute is named, and no time limit was met. */
static void
test_keras3_damaged_heap (void)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "data", "keras3", "libhdf5-loop.keras", NULL);
  g_autoptr(GError) error = NULL;

  g_assert_null (qs_weight_file_scan (path, 0, NULL, &error));
  assert_one_line_error (error, QS_ERROR_NOT_HDF5, "the “model_config” attribute is damaged");
  g_assert_null (strstr (error->message, "took longer"));
}

static void
test_not_hdf5 (void)
{
  g_autofree char *path = g_build_filename (tmp_dir, "-notes.h5", NULL);
  g_autoptr(GError) error = NULL;

  g_assert_true (g_file_set_contents (path, "not an HDF5 file", -1, NULL));
  g_assert_null (qs_weight_file_scan (path, 0, NULL, &error));
  assert_one_line_error (error, QS_ERROR_NOT_HDF5, "-notes.h5");
  g_remove (path);
}

static void
test_crash (void)
{
  const char *modes[] = { "abort", "segv" };
  const char *signals[] = { "signal 6", "signal 11" };

  for (gsize i = 0; i < G_N_ELEMENTS (modes); i++)
    {
      g_autoptr(GError) error = NULL;

      g_autofree char *name = g_strdup_printf ("/some/%s-model.h5", modes[i]);

      g_assert_null (qs_weight_file_scan (name, 0, NULL, &error));
      assert_one_line_error (error, QS_ERROR_FAILED, "crashed");
      g_assert_nonnull (strstr (error->message, signals[i]));
      g_assert_nonnull (strstr (error->message, name));
    }
}

static void
test_timeout (void)
{
  g_autoptr(GError) error = NULL;
  gint64 start = g_get_monotonic_time ();

  g_assert_null (qs_weight_file_scan ("/some/hang.h5", 300, NULL, &error));
  assert_one_line_error (error, QS_ERROR_FAILED, "took longer than 1 s");
  g_assert_cmpint (g_get_monotonic_time () - start, <, 10 * G_USEC_PER_SEC);
}

static gpointer
cancel_later_thread (gpointer data)
{
  g_usleep (100 * 1000);
  g_cancellable_cancel (data);
  return NULL;
}

static void
test_cancel (void)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  gint64 start = g_get_monotonic_time ();
  GThread *thread;

  /* The blocking variant iterates a context of its own: cancel from a thread. */
  thread = g_thread_new ("canceller", cancel_later_thread, cancellable);
  g_assert_null (qs_weight_file_scan ("/some/hang.h5", 30000, cancellable, &error));
  g_thread_join (thread);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 10 * G_USEC_PER_SEC);
}

/* Metadata that lists cleanly, and a chunk that fails to decode: the scan
 * reads chunked values too, so the file is refused before the app reads
 * them in its own process. */
static void
test_damaged_chunk (void)
{
  g_autofree char *path = g_build_filename (tmp_dir, "damaged.h5", NULL);
  g_autoptr(GError) error = NULL;

  qs_test_write_damaged_chunk_file (path);
  g_assert_null (qs_weight_file_scan (path, 0, NULL, &error));
  /* The child's one line, as a file that cannot be read. */
  assert_one_line_error (error, QS_ERROR_NOT_HDF5, "/packed");
  g_remove (path);
}

static void
test_garbage_and_failure (void)
{
  g_autoptr(GError) garbage = NULL;
  g_autoptr(GError) failure = NULL;

  g_assert_null (qs_weight_file_scan ("/some/garbage.h5", 0, NULL, &garbage));
  assert_one_line_error (garbage, QS_ERROR_FAILED, "unreadable listing");

  g_assert_null (qs_weight_file_scan ("/some/fail.h5", 0, NULL, &failure));
  assert_one_line_error (failure, QS_ERROR_NOT_HDF5, "damaged or truncated");
  g_assert_false (g_str_has_prefix (failure->message, "quantscope-cli:"));
}

static void
test_missing_helper (void)
{
  g_autoptr(GError) error = NULL;

  /* Last, as it changes the environment (before any thread would be better). */
  g_setenv ("QS_SCAN_HELPER", "/nonexistent/quantscope-cli", TRUE);
  g_assert_null (qs_weight_file_scan ("/some/model.h5", 0, NULL, &error));
  assert_one_line_error (error, QS_ERROR_FAILED, "Cannot start");
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  g_autofree char *weights = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  /* Every scan runs the fake helper, which hands ordinary names to the
   * real CLI; set before any thread exists. */
  g_assert_nonnull (g_getenv ("QS_FAKE_SCAN_HELPER"));
  g_setenv ("QS_SCAN_HELPER", g_getenv ("QS_FAKE_SCAN_HELPER"), TRUE);
  tmp_dir = g_dir_make_tmp ("qs-safe-scan-XXXXXX", &error);
  g_assert_no_error (error);

  g_test_add_func ("/safe-scan/real-file", test_real_file);
  g_test_add_func ("/safe-scan/keras3-archive", test_keras3_archive);
  g_test_add_func ("/safe-scan/keras3-damaged-heap", test_keras3_damaged_heap);
  g_test_add_func ("/safe-scan/not-hdf5", test_not_hdf5);
  g_test_add_func ("/safe-scan/crash", test_crash);
  g_test_add_func ("/safe-scan/timeout", test_timeout);
  g_test_add_func ("/safe-scan/cancel", test_cancel);
  g_test_add_func ("/safe-scan/damaged-chunk", test_damaged_chunk);
  g_test_add_func ("/safe-scan/garbage-and-failure", test_garbage_and_failure);
  g_test_add_func ("/safe-scan/missing-helper", test_missing_helper);

  status = g_test_run ();

  weights = g_build_filename (tmp_dir, "weights.h5", NULL);
  g_remove (weights);
  g_remove (tmp_dir);
  g_free (tmp_dir);
  return status;
}
