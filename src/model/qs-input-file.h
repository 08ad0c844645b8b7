/* qs-input-file.h: opening files named on the command line or in a dialog without hanging on a FIFO or reading a device forever.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Opens @path for reading when it is a regular file: opened with
 * O_NONBLOCK (a FIFO without a writer would block open(2) forever) and
 * checked with fstat(2) before anything is read, so a FIFO, a device
 * (/dev/zero), a folder or a socket is refused with a QS_ERROR_INVALID
 * error "WHAT “PATH” is a FIFO, not a regular file" (QS_ERROR_NOT_FOUND
 * when it does not exist). Returns the descriptor (blocking again,
 * close-on-exec), or -1. @what names the role: "The scheme file", ... */
int       qs_input_file_open     (const char  *path,
                                  const char  *what,
                                  GError     **error);

/* The same check for a file another library opens by name (HDF5): TRUE
 * when @path is a regular file. */
gboolean  qs_input_file_check    (const char  *path,
                                  const char  *what,
                                  GError     **error);

/* The whole of @path, which must be a regular file of at most @max_bytes
 * (else QS_ERROR_TOO_LARGE), NUL-terminated; @length (nullable) gets its
 * length without the NUL. Returns NULL with @error on failure. */
char     *qs_input_file_read_all (const char  *path,
                                  const char  *what,
                                  gsize        max_bytes,
                                  gsize       *length,
                                  GError     **error);

/* Whether @a and @b name one file: the same path, or links (hard or
 * symbolic) to the same inode. FALSE when either does not exist and the
 * paths differ. */
gboolean  qs_file_is_same        (const char  *a,
                                  const char  *b);

/* FALSE, with a QS_ERROR_INVALID error naming @output, when writing
 * @output would replace something that is not a regular file (a device,
 * a FIFO, a folder: outputs are renamed over, not written into), where
 * a symbolic link @output stands for the file its chain of links leads
 * to (qs_output_resolve_links(): a loop is refused), or a file the
 * command reads: one of the @n_inputs @inputs (NULL entries skipped)
 * or, for an input "NAME.weights.h5", the config.json files beside it
 * Keras 3 weights are read with. */
gboolean  qs_output_check_not_input (const char         *output,
                                     const char * const *inputs,
                                     gsize               n_inputs,
                                     GError            **error);

/* "a FIFO", "a folder", "a character device", ...: what a file of
 * st_mode @mode is, for messages. */
const char *qs_file_kind_name    (unsigned int mode);

G_END_DECLS
