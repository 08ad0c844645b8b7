/* qs-document.h: an open weight file with the schemes the user chose for it.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "app/qs-tensor-item.h"
#include "model/qs-scheme-file.h"
#include "model/qs-weight-file.h"
#include "quant/qs-scheme.h"

G_BEGIN_DECLS

#define QS_TYPE_DOCUMENT (qs_document_get_type ())
G_DECLARE_FINAL_TYPE (QsDocument, qs_document, QS, DOCUMENT, GObject)

/* Signals: "schemes-changed": the default scheme or an override changed. */
QsDocument   *qs_document_new                (QsWeightFile *file);
QsWeightFile *qs_document_get_file           (QsDocument *self);
/* QsTensorItem for every tensor, in the file's order (transfer none). */
GListModel   *qs_document_get_tensors        (QsDocument *self);
QsTensorItem *qs_document_find_item          (QsDocument *self,
                                              const char *path);

void          qs_document_get_default_scheme (QsDocument     *self,
                                              QsScheme       *scheme);
void          qs_document_set_default_scheme (QsDocument     *self,
                                              const QsScheme *scheme);
/* The scheme that applies to @path: its override, else the default. */
void          qs_document_get_scheme_for     (QsDocument     *self,
                                              const char     *path,
                                              QsScheme       *scheme);
gboolean      qs_document_has_override       (QsDocument     *self,
                                              const char     *path);
/* NULL removes the override. */
void          qs_document_set_override       (QsDocument     *self,
                                              const char     *path,
                                              const QsScheme *scheme);
void          qs_document_clear_overrides    (QsDocument     *self);

/* The values of a quantizable tensor as float32 (transfer full). Thread-safe
 * and cached: the GUI reads them in worker threads, once per tensor. */
GBytes       *qs_document_load_values        (QsDocument          *self,
                                              const QsTensorInfo  *info,
                                              GError             **error);

/* Model-wide sizes under the current schemes: every quantizable tensor at
 * float32, and as the schemes store it (tensors left in float count as
 * float32). Needs no values. */
void          qs_document_model_size         (QsDocument *self,
                                              guint64    *fp32_bytes,
                                              guint64    *quant_bytes);

/* The document's schemes as a scheme file: the default, plus one override
 * per tensor that has its own (transfer full). What export and "Save
 * Scheme" write. */
QsSchemeFile *qs_document_to_scheme_file     (QsDocument *self);

G_END_DECLS
