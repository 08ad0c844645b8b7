/* test-mapped-window.c: mapped windows of a file, and the guard against the file shrinking.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "model/qs-error.h"
#include "model/qs-mapped-window.h"
#include "qs-test-hdf5.h"

#define FILE_BYTES (4 << 20)

static char *tmp_dir;

/* A file of FILE_BYTES whose byte i is (i * 7 + i / 4093) & 0xff: no two
 * pages alike, so an off-by-a-page offset shows. */
static int
make_file (const char *name,
           char      **path_out)
{
  g_autofree guint8 *bytes = g_malloc (FILE_BYTES);
  g_autofree char *path = g_build_filename (tmp_dir, name, NULL);
  g_autoptr(GError) error = NULL;
  int fd;

  for (gsize i = 0; i < FILE_BYTES; i++)
    bytes[i] = (guint8) ((i * 7 + i / 4093) & 0xff);
  g_file_set_contents (path, (const char *) bytes, FILE_BYTES, &error);
  g_assert_no_error (error);
  fd = open (path, O_RDWR | O_CLOEXEC);
  g_assert_cmpint (fd, >=, 0);
  if (path_out != NULL)
    *path_out = g_steal_pointer (&path);
  return fd;
}

static guint8
expected_byte (gsize i)
{
  return (guint8) ((i * 7 + i / 4093) & 0xff);
}

static void
test_contents (void)
{
  g_autoptr(GError) error = NULL;
  int fd = make_file ("contents", NULL);
  /* Unaligned start and length, and the very end of the file. */
  const guint64 offsets[] = { 0, 1, 4095, 4097, 123457, FILE_BYTES - 10 };
  const gsize lengths[] = { 1, 4096, 3, 100000, 1 << 20, 10 };

  for (guint i = 0; i < G_N_ELEMENTS (offsets); i++)
    {
      QsMappedWindow *window = qs_mapped_window_map (fd, offsets[i], lengths[i], "contents", &error);
      const guint8 *data;

      g_assert_no_error (error);
      data = qs_mapped_window_get_data (window);
      for (gsize j = 0; j < lengths[i]; j++)
        if (data[j] != expected_byte (offsets[i] + j))
          g_assert_cmpuint (data[j], ==, expected_byte (offsets[i] + j));
      g_assert_true (qs_mapped_window_unmap (window, &error));
      g_assert_no_error (error);
    }
  close (fd);
}

static void
test_past_the_end (void)
{
  g_autoptr(GError) error = NULL;
  int fd = make_file ("short", NULL);

  g_assert_null (qs_mapped_window_map (fd, FILE_BYTES - 10, 11, "/w", &error));
  g_assert_error (error, QS_ERROR, QS_ERROR_READ);
  g_assert_nonnull (strstr (error->message, "/w"));
  g_clear_error (&error);
  g_assert_null (qs_mapped_window_map (fd, G_MAXUINT64 - 2, 8, "/w", &error));
  g_assert_error (error, QS_ERROR, QS_ERROR_READ);
  close (fd);
}

/* Another process cuts the file short while a window of it is read: the
 * reads see zeros instead of a SIGBUS, and unmapping reports it. */
static void
test_truncated_while_mapped (void)
{
  g_autoptr(GError) error = NULL;
  int fd = make_file ("truncated", NULL);
  QsMappedWindow *window, *untouched;
  const volatile guint8 *data;
  guint64 sum = 0;

  window = qs_mapped_window_map (fd, 8192, 2 << 20, "/w", &error);
  g_assert_no_error (error);
  untouched = qs_mapped_window_map (fd, 0, 4096, "/other", &error);
  g_assert_no_error (error);
  g_assert_cmpint (ftruncate (fd, 1 << 20), ==, 0);

  data = qs_mapped_window_get_data (window);
  for (gsize j = 0; j < (2 << 20); j += 512)
    sum += data[j];
  /* Only the pages read before the first fault could hold data: here the
   * whole window reads as zeros once the fault replaced it. */
  g_assert_cmpuint (sum, <, (guint64) 256 * ((1 << 20) / 512));
  g_assert_cmpuint (data[(2 << 20) - 1], ==, 0);

  g_assert_false (qs_mapped_window_unmap (window, &error));
  g_assert_error (error, QS_ERROR, QS_ERROR_READ);
  g_assert_nonnull (strstr (error->message, "cut short"));
  g_clear_error (&error);

  /* Its neighbour, still inside the file, is not affected. */
  g_assert_cmpuint (((const guint8 *) qs_mapped_window_get_data (untouched))[4095], ==, expected_byte (4095));
  g_assert_true (qs_mapped_window_unmap (untouched, &error));
  g_assert_no_error (error);
  close (fd);
}

/* Cut short inside the window's last page: the kernel shows zeros there
 * and raises no SIGBUS; unmapping still reports it. */
static void
test_truncated_within_last_page (void)
{
  g_autoptr(GError) error = NULL;
  int fd = make_file ("partial", NULL);
  QsMappedWindow *window;
  const volatile guint8 *data;

  window = qs_mapped_window_map (fd, FILE_BYTES - 1000, 1000, "/w", &error);
  g_assert_no_error (error);
  g_assert_cmpint (ftruncate (fd, FILE_BYTES - 400), ==, 0);
  data = qs_mapped_window_get_data (window);
  g_assert_cmpuint (data[999], ==, 0);
  g_assert_false (qs_mapped_window_unmap (window, &error));
  g_assert_error (error, QS_ERROR, QS_ERROR_READ);
  close (fd);
}

/* A SIGBUS another process sends (kill) is not a fault in a window, even
 * while one is mapped: it ends the process, as without the guard. */
static void
test_sent_sigbus (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *path = NULL;
      int fd = make_file ("sent", &path);
      QsMappedWindow *window = qs_mapped_window_map (fd, 0, FILE_BYTES, "/w", &error);

      g_assert_no_error (error);
      g_remove (path);
      g_rmdir (tmp_dir);
      raise (SIGBUS);
      qs_mapped_window_unmap (window, NULL);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
}

/* A SIGBUS that is not ours still ends the process, as without the guard. */
static void
test_foreign_sigbus (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *path = NULL;
      int fd = make_file ("foreign", &path);
      QsMappedWindow *window = qs_mapped_window_map (fd, 0, 4096, "/w", &error);
      volatile guint8 *foreign;

      /* This process dies: leave nothing behind. */
      g_remove (path);
      g_rmdir (tmp_dir);
      g_assert_no_error (error);
      foreign = mmap (NULL, FILE_BYTES, PROT_READ, MAP_SHARED, fd, 0);
      g_assert_true (foreign != MAP_FAILED);
      g_assert_cmpint (ftruncate (fd, 4096), ==, 0);
      (void) foreign[FILE_BYTES - 1];
      qs_mapped_window_unmap (window, NULL);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  tmp_dir = g_dir_make_tmp ("qs-mapped-window-XXXXXX", &error);
  g_assert_no_error (error);

  g_test_add_func ("/mapped-window/contents", test_contents);
  g_test_add_func ("/mapped-window/past-the-end", test_past_the_end);
  g_test_add_func ("/mapped-window/truncated-while-mapped", test_truncated_while_mapped);
  g_test_add_func ("/mapped-window/truncated-within-last-page", test_truncated_within_last_page);
  g_test_add_func ("/mapped-window/foreign-sigbus", test_foreign_sigbus);
  g_test_add_func ("/mapped-window/sent-sigbus", test_sent_sigbus);
  status = g_test_run ();

  qs_test_remove_tree (tmp_dir);
  return status;
}
