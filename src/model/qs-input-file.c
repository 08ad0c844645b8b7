/* qs-input-file.c: opening files named on the command line or in a dialog without hanging on a FIFO or reading a device forever.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "model/qs-input-file.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "model/qs-error.h"
#include "model/qs-keras3.h"
#include "model/qs-output-file.h"

const char *
qs_file_kind_name (unsigned int mode)
{
  if (S_ISLNK (mode))
    return "a symbolic link";
  if (S_ISREG (mode))
    return "a regular file";
  if (S_ISDIR (mode))
    return "a folder";
  if (S_ISFIFO (mode))
    return "a FIFO";
  if (S_ISCHR (mode))
    return "a character device";
  if (S_ISBLK (mode))
    return "a block device";
  if (S_ISSOCK (mode))
    return "a socket";
  return "not a file";
}

gboolean
qs_file_is_same (const char *a,
                 const char *b)
{
  g_autoptr(GFile) fa = g_file_new_for_path (a);
  g_autoptr(GFile) fb = g_file_new_for_path (b);
  GStatBuf sa, sb;

  if (g_file_equal (fa, fb))
    return TRUE;
  return g_stat (a, &sa) == 0 && g_stat (b, &sb) == 0
         && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

gboolean
qs_output_check_not_input (const char         *output,
                           const char * const *inputs,
                           gsize               n_inputs,
                           GError            **error)
{
  g_autofree char *target = NULL;
  GStatBuf st;

  /* Outputs are written beside the file a link chain leads to and renamed
   * over it: a device, a FIFO or a folder there would be replaced (as
   * root, /dev/null itself). */
  target = qs_output_resolve_links (output, error);
  if (target == NULL)
    return FALSE;
  if (g_lstat (target, &st) == 0 && !S_ISREG (st.st_mode))
    {
      g_autofree char *display = g_filename_display_name (output);

      g_set_error (error, QS_ERROR, QS_ERROR_INVALID,
                   "The output “%s” is %s; only a regular file is replaced", display, qs_file_kind_name (st.st_mode));
      return FALSE;
    }
  for (gsize i = 0; i < n_inputs; i++)
    {
      char *configs[2];
      gboolean same;

      if (inputs[i] == NULL)
        continue;
      same = qs_file_is_same (inputs[i], target);
      if (!same && _qs_keras3_config_candidates (inputs[i], configs))
        {
          for (int c = 0; c < 2; c++)
            same = same || (g_file_test (configs[c], G_FILE_TEST_EXISTS) && qs_file_is_same (configs[c], target));
          g_free (configs[0]);
          g_free (configs[1]);
        }
      if (same)
        {
          g_autofree char *display = g_filename_display_name (output);

          g_set_error (error, QS_ERROR, QS_ERROR_INVALID, "Refusing to write onto the input file “%s”", display);
          return FALSE;
        }
    }
  return TRUE;
}

int
qs_input_file_open (const char  *path,
                    const char  *what,
                    GError     **error)
{
  g_autofree char *display = NULL;
  struct stat st;
  int fd, saved;

  g_return_val_if_fail (path != NULL, -1);

  fd = g_open (path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0);
  if (fd >= 0 && fstat (fd, &st) == 0 && S_ISREG (st.st_mode)
      && fcntl (fd, F_SETFL, fcntl (fd, F_GETFL) & ~O_NONBLOCK) == 0)
    return fd;

  saved = errno;
  display = g_filename_display_name (path);
  if (fd < 0)
    g_set_error (error, QS_ERROR, saved == ENOENT ? QS_ERROR_NOT_FOUND : QS_ERROR_READ,
                 "%s “%s”: %s", what, display, saved == ENOENT ? "no such file" : g_strerror (saved));
  else if (!S_ISREG (st.st_mode))
    g_set_error (error, QS_ERROR, QS_ERROR_INVALID,
                 "%s “%s” is %s, not a regular file", what, display, qs_file_kind_name (st.st_mode));
  else
    g_set_error (error, QS_ERROR, QS_ERROR_READ, "%s “%s”: %s", what, display, g_strerror (saved));
  if (fd >= 0)
    close (fd);
  return -1;
}

gboolean
qs_input_file_check (const char  *path,
                     const char  *what,
                     GError     **error)
{
  int fd = qs_input_file_open (path, what, error);

  if (fd < 0)
    return FALSE;
  close (fd);
  return TRUE;
}

char *
qs_input_file_read_all (const char  *path,
                        const char  *what,
                        gsize        max_bytes,
                        gsize       *length,
                        GError     **error)
{
  g_autofree char *contents = NULL;
  g_autofree char *display = NULL;
  struct stat st;
  gsize size, done = 0;
  int fd;

  fd = qs_input_file_open (path, what, error);
  if (fd < 0)
    return NULL;
  display = g_filename_display_name (path);
  if (fstat (fd, &st) != 0 || st.st_size < 0 || (guint64) st.st_size > max_bytes)
    {
      g_set_error (error, QS_ERROR, QS_ERROR_TOO_LARGE,
                   "%s “%s” is larger than %" G_GSIZE_FORMAT " MiB", what, display, max_bytes >> 20);
      close (fd);
      return NULL;
    }
  /* The size fstat gave, but read up to one byte past it: a file that
   * grows meanwhile (or lies, as /proc files do) is still bounded. */
  size = (gsize) st.st_size;
  contents = g_malloc (size + 2);
  for (;;)
    {
      ssize_t n = read (fd, contents + done, size + 1 - done);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved = errno;

          g_set_error (error, QS_ERROR, QS_ERROR_READ, "%s “%s”: %s", what, display, g_strerror (saved));
          close (fd);
          return NULL;
        }
      if (n == 0)
        break;
      done += (gsize) n;
      if (done > size)
        {
          g_set_error (error, QS_ERROR, QS_ERROR_READ, "%s “%s” changed while it was read", what, display);
          close (fd);
          return NULL;
        }
    }
  close (fd);
  contents[done] = '\0';
  if (length != NULL)
    *length = done;
  return g_steal_pointer (&contents);
}
