/* qs-output-file.h: a new file put in place whole or not at all, never over something that is not the user's own regular file.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _QsOutputFile QsOutputFile;

/* Checks @output and prepares its temporary in the same folder.
 *
 * An existing @output is refused without @force, and even with it unless
 * it is a regular file (not a symbolic link, device, FIFO, socket or
 * folder) that the user owns and may write; the error says which.
 *
 * With @unnamed, the temporary is an unnamed file (O_TMPFILE) that only
 * becomes visible when committed: killing the process at any moment
 * leaves nothing behind. The caller then writes the whole content with
 * qs_output_file_write(). Where the file system has no O_TMPFILE, and
 * without @unnamed (a writer such as libhdf5 that needs a path), it is a
 * named ".NAME.XXXXXX" (qs_output_file_get_path()); such temporaries left
 * by a killed process are removed here: only names of exactly that
 * pattern for @output, regular files owned by the user and last modified
 * before this process started. */
QsOutputFile *qs_output_file_begin    (const char    *output,
                                       gboolean       force,
                                       gboolean       unnamed,
                                       GError       **error);

/* The named temporary's path, or NULL for an unnamed one. */
const char   *qs_output_file_get_path (QsOutputFile  *self);

/* Appends @size bytes of @data to the temporary. */
gboolean      qs_output_file_write    (QsOutputFile  *self,
                                       const void    *data,
                                       gsize          size,
                                       GError       **error);

/* Syncs the temporary, checks that the output is still what
 * qs_output_file_begin() accepted (absent, or the same regular file),
 * and puts the temporary in its place (atomically: a rename, or a link
 * that fails rather than replace what appeared meanwhile). Frees @self
 * whatever happens. */
gboolean      qs_output_file_commit   (QsOutputFile  *self,
                                       GError       **error);

/* Removes the temporary and frees @self. NULL is ignored. */
void          qs_output_file_abort    (QsOutputFile  *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QsOutputFile, qs_output_file_abort)

G_END_DECLS
