/* qs-output-file.c: a new file put in place whole or not at all, through symbolic links, never over something that is not the user's own regular file.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define _GNU_SOURCE
#include "model/qs-output-file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "model/qs-error.h"
#include "model/qs-input-file.h"

/* The six characters g_mkstemp() puts in place of "XXXXXX". */
#define TEMP_SUFFIX_LENGTH 6

struct _QsOutputFile {
  char    *output;
  char    *display;
  char    *dir;
  char    *path;      /* the named temporary, or NULL */
  int      fd;
  gboolean existed;   /* what qs_output_file_begin() found at @output */
  dev_t    dev;
  ino_t    ino;
};

static gboolean
fail_errno (GError     **error,
            int          saved,
            const char  *format,
            const char  *display)
{
  g_autofree char *what = g_strdup_printf (format, display);

  g_set_error (error, QS_ERROR, QS_ERROR_WRITE, "%s: %s", what, g_strerror (saved));
  return FALSE;
}

char *
qs_output_resolve_links (const char  *output,
                         GError     **error)
{
  g_autofree char *path = g_strdup (output);
  g_autofree char *folder = NULL;
  struct { dev_t dev; ino_t ino; } seen[QS_OUTPUT_MAX_LINKS];
  int links = 0;
  struct stat st;

  g_return_val_if_fail (output != NULL, NULL);

  /* Renaming over a link would replace the link: the writers replace the
   * file at the end of the chain instead. A path that cannot be looked at
   * (absent, or a folder on the way not searchable) ends the chain; the
   * writer then says why it cannot write there. */
  while (lstat (path, &st) == 0 && S_ISLNK (st.st_mode))
    {
      g_autoptr(GError) local = NULL;
      g_autofree char *target = NULL;
      g_autofree char *display = NULL;

      for (int i = 0; i < links; i++)
        if (seen[i].dev == st.st_dev && seen[i].ino == st.st_ino)
          {
            display = g_filename_display_name (output);
            g_set_error (error, QS_ERROR, QS_ERROR_INVALID,
                         "The output “%s” is a symbolic link that leads back to itself (a loop)", display);
            return NULL;
          }
      if (links == QS_OUTPUT_MAX_LINKS)
        {
          display = g_filename_display_name (output);
          g_set_error (error, QS_ERROR, QS_ERROR_INVALID,
                       "The output “%s” leads through more than %d symbolic links", display, QS_OUTPUT_MAX_LINKS);
          return NULL;
        }
      seen[links].dev = st.st_dev;
      seen[links].ino = st.st_ino;
      links++;

      target = g_file_read_link (path, &local);
      if (target == NULL)
        {
          display = g_filename_display_name (output);
          g_set_error (error, QS_ERROR, QS_ERROR_INVALID, "Cannot follow the output “%s”: %s", display,
                       local->message);
          return NULL;
        }
      if (!g_path_is_absolute (target))
        {
          /* Not canonicalized: ".." in a target is the kernel's to
           * resolve, from the folder the link really is in. */
          g_autofree char *dir = g_path_get_dirname (path);
          char *relative = g_build_filename (dir, target, NULL);

          g_free (target);
          target = relative;
        }
      g_free (path);
      path = g_steal_pointer (&target);
    }

  /* A dangling link is written at its target, which needs a folder. */
  folder = g_path_get_dirname (path);
  if (links > 0 && !g_file_test (folder, G_FILE_TEST_IS_DIR))
    {
      g_autofree char *display = g_filename_display_name (output);
      g_autofree char *display_target = g_filename_display_name (path);

      g_set_error (error, QS_ERROR, QS_ERROR_INVALID,
                   "The output “%s” is a symbolic link to “%s”, in a folder that does not exist",
                   display, display_target);
      return NULL;
    }
  return g_steal_pointer (&path);
}

gboolean
qs_output_set_contents (const char  *output,
                        const char  *data,
                        gsize        length,
                        GError     **error)
{
  g_autofree char *target = NULL;
  g_autoptr(GError) local = NULL;

  g_return_val_if_fail (output != NULL, FALSE);

  target = qs_output_resolve_links (output, error);
  if (target == NULL)
    return FALSE;
  /* CONSISTENT: the temporary is synced before the rename, so a crash
   * leaves the old file or the new one, never half of one; GLib removes
   * the temporary when the write fails. */
  if (!g_file_set_contents_full (target, data, (gssize) length,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_ONLY_EXISTING,
                                 0666, &local))
    {
      g_set_error_literal (error, QS_ERROR, QS_ERROR_WRITE, local->message);
      return FALSE;
    }
  return TRUE;
}

/* Why @st (of an existing output) may not be replaced, or TRUE. */
static gboolean
check_replaceable (const struct stat  *st,
                   const char         *display,
                   gboolean            force,
                   GError            **error)
{
  if (S_ISDIR (st->st_mode))
    g_set_error (error, QS_ERROR, QS_ERROR_INVALID, "The output “%s” is a folder", display);
  else if (!force)
    g_set_error (error, QS_ERROR, QS_ERROR_INVALID,
                 "The output “%s” exists (use --force to replace it)", display);
  else if (!S_ISREG (st->st_mode))
    g_set_error (error, QS_ERROR, QS_ERROR_INVALID,
                 "The output “%s” is %s; --force replaces only regular files",
                 display, qs_file_kind_name (st->st_mode));
  else if (st->st_uid != geteuid ())
    g_set_error (error, QS_ERROR, QS_ERROR_INVALID,
                 "The output “%s” belongs to another user; --force replaces only your own files", display);
  else if ((st->st_mode & S_IWUSR) == 0)
    g_set_error (error, QS_ERROR, QS_ERROR_INVALID,
                 "The output “%s” is read-only; --force replaces only files you may write", display);
  else
    return TRUE;
  return FALSE;
}

/* When this process started (as near as a constructor can tell), in
 * microseconds since the epoch: a temporary modified before then is not
 * one this process is writing. */
static gint64 process_started;

__attribute__ ((constructor)) static void
note_process_start (void)
{
  process_started = g_get_real_time ();
}

static gboolean
is_temporary_name (const char *name,
                   const char *base)
{
  gsize n = strlen (base);

  if (name[0] != '.' || strncmp (name + 1, base, n) != 0 || name[1 + n] != '.'
      || strlen (name + 2 + n) != TEMP_SUFFIX_LENGTH)
    return FALSE;
  for (const char *c = name + 2 + n; *c != '\0'; c++)
    if (!g_ascii_isalnum (*c))
      return FALSE;
  return TRUE;
}

/* Removes the ".BASE.XXXXXX" temporaries a killed export left in @dir. */
static void
remove_stale_temporaries (const char *dir,
                          const char *base)
{
  g_autoptr(GDir) listing = g_dir_open (dir, 0, NULL);
  const char *name;

  if (listing == NULL)
    return;
  while ((name = g_dir_read_name (listing)) != NULL)
    {
      g_autofree char *path = NULL;
      struct stat st;

      if (!is_temporary_name (name, base))
        continue;
      path = g_build_filename (dir, name, NULL);
      if (lstat (path, &st) == 0 && S_ISREG (st.st_mode) && st.st_uid == geteuid ()
          && (gint64) st.st_mtim.tv_sec * G_USEC_PER_SEC + st.st_mtim.tv_nsec / 1000 < process_started)
        g_unlink (path);
    }
}

static gboolean
create_named (QsOutputFile  *self,
              GError       **error)
{
  g_autofree char *base = g_path_get_basename (self->output);
  g_autofree char *name = g_strdup_printf (".%s.XXXXXX", base);

  remove_stale_temporaries (self->dir, base);
  self->path = g_build_filename (self->dir, name, NULL);
  self->fd = g_mkstemp_full (self->path, O_RDWR | O_CLOEXEC, 0666);
  if (self->fd < 0)
    {
      g_autofree char *display = g_filename_display_name (self->dir);

      g_clear_pointer (&self->path, g_free);
      return fail_errno (error, errno, "Cannot create a file in “%s”", display);
    }
  return TRUE;
}

QsOutputFile *
qs_output_file_begin (const char  *output,
                      gboolean     force,
                      gboolean     unnamed,
                      GError     **error)
{
  g_autoptr(QsOutputFile) self = g_new0 (QsOutputFile, 1);
  struct stat st;

  g_return_val_if_fail (output != NULL, NULL);

  self->fd = -1;
  self->output = qs_output_resolve_links (output, error);
  if (self->output == NULL)
    return NULL;
  self->display = g_filename_display_name (output);
  self->dir = g_path_get_dirname (self->output);
  if (lstat (self->output, &st) == 0)
    {
      if (!check_replaceable (&st, self->display, force, error))
        return NULL;
      self->existed = TRUE;
      self->dev = st.st_dev;
      self->ino = st.st_ino;
    }

  if (unnamed)
    {
      self->fd = open (self->dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0666);
      /* EOPNOTSUPP, EISDIR or EINVAL: no O_TMPFILE on this file system. */
      if (self->fd < 0 && errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
        {
          g_autofree char *display = g_filename_display_name (self->dir);

          fail_errno (error, errno, "Cannot create a file in “%s”", display);
          return NULL;
        }
    }
  if (self->fd < 0 && !create_named (self, error))
    return NULL;
  return g_steal_pointer (&self);
}

const char *
qs_output_file_get_path (QsOutputFile *self)
{
  return self->path;
}

gboolean
qs_output_file_write (QsOutputFile  *self,
                      const void    *data,
                      gsize          size,
                      GError       **error)
{
  const char *p = data;

  while (size > 0)
    {
      ssize_t n = write (self->fd, p, MIN (size, (gsize) G_MAXSSIZE));

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return fail_errno (error, errno, "Cannot write “%s”", self->display);
      p += n;
      size -= (gsize) n;
    }
  return TRUE;
}

/* The output is still what qs_output_file_begin() accepted. The window
 * between this and the rename is what remains of the race; the rename
 * itself only ever replaces a directory entry, never writes through it. */
static gboolean
check_unchanged (QsOutputFile  *self,
                 GError       **error)
{
  struct stat st;

  if (lstat (self->output, &st) != 0)
    {
      if (errno == ENOENT)
        return TRUE;
      return fail_errno (error, errno, "Cannot check “%s”", self->display);
    }
  if (!self->existed)
    {
      g_set_error (error, QS_ERROR, QS_ERROR_WRITE,
                   "The output “%s” appeared while it was written; left as it is", self->display);
      return FALSE;
    }
  if (st.st_dev != self->dev || st.st_ino != self->ino || !S_ISREG (st.st_mode))
    {
      g_set_error (error, QS_ERROR, QS_ERROR_WRITE,
                   "The output “%s” was replaced while it was written; left as it is", self->display);
      return FALSE;
    }
  return TRUE;
}

/* Gives the unnamed temporary a named one's name, for the rename. */
static gboolean
link_unnamed (QsOutputFile  *self,
              GError       **error)
{
  g_autofree char *proc = g_strdup_printf ("/proc/self/fd/%d", self->fd);
  g_autofree char *base = g_path_get_basename (self->output);

  for (int attempt = 0; attempt < 100; attempt++)
    {
      g_autofree char *suffix = g_strdup_printf ("%06x", g_random_int_range (0, 0x1000000));
      g_autofree char *name = g_strdup_printf (".%s.%s", base, suffix);
      char *path = g_build_filename (self->dir, name, NULL);

      if (linkat (AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW) == 0)
        {
          self->path = path;
          return TRUE;
        }
      g_free (path);
      if (errno != EEXIST)
        break;
    }
  return fail_errno (error, errno, "Cannot create “%s”", self->display);
}

gboolean
qs_output_file_commit (QsOutputFile  *self,
                       GError       **error)
{
  g_autoptr(QsOutputFile) owned = self;
  int dir_fd;

  if (fsync (self->fd) != 0)
    return fail_errno (error, errno, "Cannot write “%s”", self->display);
  if (!check_unchanged (self, error))
    return FALSE;

  if (self->path == NULL && !self->existed)
    {
      /* Nothing to replace: the link itself fails if something appeared. */
      g_autofree char *proc = g_strdup_printf ("/proc/self/fd/%d", self->fd);

      if (linkat (AT_FDCWD, proc, AT_FDCWD, self->output, AT_SYMLINK_FOLLOW) != 0)
        return fail_errno (error, errno, "Cannot create “%s”", self->display);
    }
  else
    {
      if (self->path == NULL && !link_unnamed (self, error))
        return FALSE;
      if (!self->existed ? link (self->path, self->output) != 0 : g_rename (self->path, self->output) != 0)
        return fail_errno (error, errno, "Cannot put the finished file in place as “%s”", self->display);
      if (!self->existed)
        g_unlink (self->path);
      g_clear_pointer (&self->path, g_free);
    }

  /* Best effort: the file is in place; this only hastens its durability. */
  dir_fd = g_open (self->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (dir_fd >= 0)
    {
      fsync (dir_fd);
      close (dir_fd);
    }
  return TRUE;
}

void
qs_output_file_abort (QsOutputFile *self)
{
  if (self == NULL)
    return;
  if (self->fd >= 0)
    close (self->fd);
  if (self->path != NULL)
    g_unlink (self->path);
  g_free (self->path);
  g_free (self->dir);
  g_free (self->display);
  g_free (self->output);
  g_free (self);
}
