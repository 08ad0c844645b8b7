/* qs-scheme-file.h: a default scheme, per-tensor overrides and a skip list, as a JSON file.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The format is documented in docs/scheme-file.md. The GUI saves what the
 * user chose with qs_scheme_file_save(); `quantscope-cli export
 * --scheme-file` reads it back.
 */
#pragma once

#include <json-glib/json-glib.h>

#include "model/qs-scheme-set.h"
#include "model/qs-weight-file.h"
#include "quant/qs-scheme.h"

G_BEGIN_DECLS

#define QS_SCHEME_FILE_VERSION 1

/* A scheme set's one JSON form. Errors of loading (QS_ERROR_NOT_FOUND,
 * QS_ERROR_READ, QS_ERROR_INVALID) are one line, "NAME:LINE: what is
 * wrong"; @display_name stands for the text in messages. */
QsSchemeSet  *qs_scheme_set_load            (const char         *filename,
                                             GError            **error);
QsSchemeSet  *qs_scheme_set_load_from_data  (const char         *data,
                                             gssize              length,
                                             const char         *display_name,
                                             GError            **error);
JsonNode     *qs_scheme_set_to_json         (const QsSchemeSet  *set);
/* Pretty-printed JSON with a final newline (transfer full). */
char         *qs_scheme_set_to_data         (const QsSchemeSet  *set,
                                             gsize              *length);
/* Atomically (a synced temporary file renamed over @filename). Errors: QS_ERROR_WRITE. */
gboolean      qs_scheme_set_save            (const QsSchemeSet  *set,
                                             const char         *filename,
                                             GError            **error);

/* QsSchemeFile: an editable holder of a scheme set, whose setters replace
 * the set it holds with a new one. */

#define QS_TYPE_SCHEME_FILE (qs_scheme_file_get_type ())
G_DECLARE_FINAL_TYPE (QsSchemeFile, qs_scheme_file, QS, SCHEME_FILE, GObject)

/* A scheme file with @default_scheme (NULL: qs_scheme_init_default), no
 * overrides and the default skip list ("role:bias", "role:batchnorm"). */
QsSchemeFile *qs_scheme_file_new            (const QsScheme *default_scheme);
/* A scheme file holding @set (a new reference). */
QsSchemeFile *qs_scheme_file_new_for_set    (QsSchemeSet    *set);
/* The set as it is now (transfer none: the next setter replaces it). */
QsSchemeSet  *qs_scheme_file_get_set        (QsSchemeFile   *self);

/* Parses a scheme file. Errors (QS_ERROR_NOT_FOUND, QS_ERROR_READ,
 * QS_ERROR_INVALID) are one line, "NAME:LINE: what is wrong". */
QsSchemeFile *qs_scheme_file_load           (const char  *filename,
                                             GError     **error);
/* The same on text; @display_name stands for the file in messages. */
QsSchemeFile *qs_scheme_file_load_from_data (const char  *data,
                                             gssize       length,
                                             const char  *display_name,
                                             GError     **error);

/* Writes the file atomically: a temporary file in the same folder, synced,
 * then renamed over @filename. Errors: QS_ERROR_WRITE. */
gboolean      qs_scheme_file_save           (QsSchemeFile  *self,
                                             const char    *filename,
                                             GError       **error);
/* The JSON text qs_scheme_file_save() writes (transfer full). */
char         *qs_scheme_file_to_data        (QsSchemeFile  *self,
                                             gsize         *length);
JsonNode     *qs_scheme_file_to_json        (QsSchemeFile  *self);

const QsScheme *qs_scheme_file_get_default  (QsSchemeFile   *self);
void            qs_scheme_file_set_default  (QsSchemeFile   *self,
                                             const QsScheme *scheme);

/* Overrides apply in order, later ones winning, each setting only @keys. A
 * pattern is a glob over the tensor's HDF5 path ('*' and '?' also match
 * '/'; a pattern without a leading '/' gets one) or "role:ROLE". */
guint         qs_scheme_file_get_n_overrides (QsSchemeFile   *self);
/* Fills @scheme (nullable) with the override applied to the default and
 * @keys (nullable) with what it sets. Returns: (transfer none): its
 * patterns, NULL-terminated. */
const char * const *qs_scheme_file_get_override (QsSchemeFile   *self,
                                                 guint           index,
                                                 QsScheme       *scheme,
                                                 QsSchemeKeys   *keys);
void          qs_scheme_file_add_override    (QsSchemeFile   *self,
                                              const char     *pattern,
                                              const QsScheme *scheme,
                                              QsSchemeKeys    keys);
/* What the GUI does when the user sets one tensor's scheme: replaces the
 * override whose only pattern is exactly @path, or appends one, with every
 * key. */
void          qs_scheme_file_set_tensor_scheme (QsSchemeFile   *self,
                                                const char     *path,
                                                const QsScheme *scheme);
void          qs_scheme_file_remove_override (QsSchemeFile   *self,
                                              guint           index);

/* Tensors left unquantized: globs or "role:ROLE" (transfer none). */
const char * const *qs_scheme_file_get_skip  (QsSchemeFile       *self);
void          qs_scheme_file_set_skip        (QsSchemeFile       *self,
                                              const char * const *patterns);

/* The scheme for @info: TRUE with @scheme filled, or FALSE when the tensor
 * is to be left unquantized (the skip list, or not a floating-point tensor
 * with elements). */
gboolean      qs_scheme_file_resolve         (QsSchemeFile       *self,
                                              const QsTensorInfo *info,
                                              QsScheme           *scheme);

/* One scheme as the JSON object the file uses for "default" (all keys). */
JsonNode     *qs_scheme_to_json              (const QsScheme     *scheme);

G_END_DECLS
