/* qs-zip-archive.h: a small, bounded reader of zip archives (the Keras 3 .keras file).
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Reads the central directory once and extracts named entries, stored or
 * deflated, into memory. Everything a hostile archive could use to make a
 * reader allocate, loop or write outside its folder is refused with one
 * QS_ERROR_INVALID (or QS_ERROR_TOO_LARGE) message naming the archive:
 * truncation, more than QS_ZIP_MAX_ENTRIES entries, names longer than
 * QS_ZIP_MAX_NAME_BYTES or with "..", absolute or backslash parts,
 * encryption, zip64 (archives past 4 GiB), other compression methods,
 * entries that inflate past QS_ZIP_MAX_RATIO times their stored size (a
 * zip bomb) or past the caller's limit, and CRC mismatches.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define QS_ZIP_MAX_ENTRIES    4096
#define QS_ZIP_MAX_NAME_BYTES 1024
/* Deflate reaches 1032:1 on zeros; weights barely compress and JSON
 * 5-20:1, so anything past this is a bomb, not a model. */
#define QS_ZIP_MAX_RATIO      100
/* Small entries may inflate more: a config of a few kilobytes of zeros
 * costs nothing. */
#define QS_ZIP_RATIO_ALLOWANCE (G_GUINT64_CONSTANT (1) << 20)

typedef struct _QsZipArchive QsZipArchive;

/* Whether @path starts with a zip local-file or end-of-directory signature. */
gboolean      qs_zip_archive_sniff (const char *path);

/* Opens @path and reads its central directory. */
QsZipArchive *qs_zip_archive_open  (const char  *path,
                                    GError     **error);
void          qs_zip_archive_free  (QsZipArchive *archive);

/* Whether the archive has an entry named @name. */
gboolean      qs_zip_archive_has   (QsZipArchive *archive,
                                    const char   *name);
/* The names of the entries, in directory order (transfer container). */
GPtrArray    *qs_zip_archive_list  (QsZipArchive *archive);

/* The uncompressed bytes of entry @name (transfer full), at most
 * @max_bytes of them. Errors: QS_ERROR_NOT_FOUND (no such entry),
 * QS_ERROR_TOO_LARGE (past @max_bytes or the ratio bound), QS_ERROR_READ,
 * QS_ERROR_INVALID (damaged data, wrong CRC). */
GBytes       *qs_zip_archive_read  (QsZipArchive *archive,
                                    const char   *name,
                                    guint64       max_bytes,
                                    GError      **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QsZipArchive, qs_zip_archive_free)

G_END_DECLS
