/* qs-document.h: an open weight file with the schemes the user chose for it.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "app/qs-tensor-item.h"
#include "model/qs-scheme-set.h"
#include "model/qs-weight-file.h"
#include "quant/qs-analysis.h"
#include "quant/qs-scheme.h"

G_BEGIN_DECLS

#define QS_TYPE_DOCUMENT (qs_document_get_type ())
G_DECLARE_FINAL_TYPE (QsDocument, qs_document, QS, DOCUMENT, GObject)

/* Signals: "schemes-changed": the scheme set changed (an edit, undo or redo). */
QsDocument   *qs_document_new                (QsWeightFile *file);
QsWeightFile *qs_document_get_file           (QsDocument *self);
/* QsTensorItem for every tensor, in the file's order (transfer none). */
GListModel   *qs_document_get_tensors        (QsDocument *self);
QsTensorItem *qs_document_find_item          (QsDocument *self,
                                              const char *path);

/* The document's scheme set (transfer none; replaced, never changed, by
 * the setters below). Each change is one undo step. */
QsSchemeSet  *qs_document_get_schemes        (QsDocument     *self);
void          qs_document_set_schemes        (QsDocument     *self,
                                              QsSchemeSet    *schemes);
/* What a new document starts from: int8 min/max, biases and batch-norm
 * parameters kept in float32 (transfer full). */
QsSchemeSet  *qs_document_new_default_schemes (void);
/* Between these, changes make one undo step (a drag of a clip handle). */
void          qs_document_begin_coalescing   (QsDocument     *self);
void          qs_document_end_coalescing     (QsDocument     *self);
/* FALSE when there is nothing to undo or redo. */
gboolean      qs_document_undo               (QsDocument     *self);
gboolean      qs_document_redo               (QsDocument     *self);
/* Forgets every undo and redo step (a newly opened file's saved set). */
void          qs_document_clear_history      (QsDocument     *self);
gboolean      qs_document_can_undo           (QsDocument     *self);
gboolean      qs_document_can_redo           (QsDocument     *self);

/* Conveniences over the set, each a new set and an undo step. */
void          qs_document_get_default_scheme (QsDocument     *self,
                                              QsScheme       *scheme);
void          qs_document_set_default_scheme (QsDocument     *self,
                                              const QsScheme *scheme);
/* The scheme that applies to @path, as the resolver says: FALSE when the
 * set keeps the tensor in float32 (@scheme is still what the overrides say). */
gboolean      qs_document_get_scheme_for     (QsDocument     *self,
                                              const char     *path,
                                              QsScheme       *scheme);
/* Whether an override names exactly @path. */
gboolean      qs_document_has_override       (QsDocument     *self,
                                              const char     *path);
/* An override of every key for @path; NULL removes it. */
void          qs_document_set_override       (QsDocument     *self,
                                              const char     *path,
                                              const QsScheme *scheme);
void          qs_document_clear_overrides    (QsDocument     *self);

/* The values of a quantizable tensor as float32 (transfer full). Thread-safe
 * and cached: the GUI reads them in worker threads, once per tensor. */
GBytes       *qs_document_load_values        (QsDocument          *self,
                                              const QsTensorInfo  *info,
                                              GError             **error);

/* The range statistics of a tensor's values kept between analyses (see
 * QsRangeMemo): a worker takes them (an empty memo when none are kept or
 * another worker holds them), analyzes, and gives them back. */
QsRangeMemo  *qs_document_take_range_memo    (QsDocument          *self,
                                              const QsTensorInfo  *info);
void          qs_document_give_range_memo    (QsDocument          *self,
                                              const QsTensorInfo  *info,
                                              QsRangeMemo         *memo);

/* Model-wide sizes under the current schemes: every quantizable tensor at
 * float32, and as the schemes store it (tensors the skip list keeps count
 * as float32, as export writes them). Needs no values. */
void          qs_document_model_size         (QsDocument *self,
                                              guint64    *fp32_bytes,
                                              guint64    *quant_bytes);
/* The same under @schemes (a comparison's side) instead of the document's. */
void          qs_document_model_size_for     (QsDocument        *self,
                                              const QsSchemeSet *schemes,
                                              guint64           *fp32_bytes,
                                              guint64           *quant_bytes);

G_END_DECLS
