/* qs-output-file.h: a new file put in place whole or not at all, through symbolic links, never over something that is not the user's own regular file.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _QsOutputFile QsOutputFile;

/* The most symbolic links an output's chain may hold, as the kernel's
 * own limit for a path (MAXSYMLINKS). */
#define QS_OUTPUT_MAX_LINKS 40

/* The file writing @output writes: @output itself, or, when it is a
 * symbolic link, the end of its chain of links (each relative target
 * taken from its link's folder), which need not exist yet if its folder
 * does. Writers replace that file and leave the links in place, pointing
 * to the new contents. A chain that loops, holds more than
 * %QS_OUTPUT_MAX_LINKS links or ends in a folder that does not exist is a
 * QS_ERROR_INVALID error naming @output. Returns a new path, or NULL. */
char         *qs_output_resolve_links (const char    *output,
                                       GError       **error);

/* Writes @length bytes of @data as the file @output's links lead to
 * (qs_output_resolve_links()), whole or not at all: a temporary file
 * beside it, synced, renamed over it (mode 0666 less the umask). A
 * QS_ERROR_INVALID error names @output; a QS_ERROR_WRITE one carries
 * GLib's message, which names the file or temporary it failed on. */
gboolean      qs_output_set_contents  (const char    *output,
                                       const char    *data,
                                       gsize          length,
                                       GError       **error);

/* Checks @output and prepares its temporary in the same folder; an
 * @output that is a symbolic link stands for the file its links lead to
 * (qs_output_resolve_links()): that file is replaced, in its own folder,
 * and the links stay.
 *
 * An existing @output is refused without @force, and even with it unless
 * it is a regular file (not a device, FIFO, socket or folder) that the
 * user owns and may write; the error says which.
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
