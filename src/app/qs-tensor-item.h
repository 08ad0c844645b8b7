/* qs-tensor-item.h: one tensor of the open document, as the sidebar lists it.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib-object.h>

#include "model/qs-weight-file.h"

G_BEGIN_DECLS

#define QS_TYPE_TENSOR_ITEM (qs_tensor_item_get_type ())
G_DECLARE_FINAL_TYPE (QsTensorItem, qs_tensor_item, QS, TENSOR_ITEM, GObject)

/* Properties: "info" (QsTensorInfo, construct-only), "title", "subtitle",
 * "badge" (bits and SQNR of the last analysis, or why it cannot be
 * quantized; "float32" when kept float), "sqnr" (of that analysis, NaN
 * before; +infinity, exact, when kept float), "overridden" (the tensor has its own
 * scheme), "kept-float" (the scheme set leaves it unquantized). */
QsTensorItem       *qs_tensor_item_new           (const QsTensorInfo *info);
const QsTensorInfo *qs_tensor_item_get_info      (QsTensorItem *self);
const char         *qs_tensor_item_get_title     (QsTensorItem *self);
const char         *qs_tensor_item_get_subtitle  (QsTensorItem *self);
const char         *qs_tensor_item_get_badge     (QsTensorItem *self);
void                qs_tensor_item_set_badge     (QsTensorItem *self,
                                                  const char   *badge);
/* The SQNR in dB of the last analysis; NaN until there is one; +infinity
 * for a tensor kept in float32. */
double              qs_tensor_item_get_sqnr      (QsTensorItem *self);
void                qs_tensor_item_set_sqnr      (QsTensorItem *self,
                                                  double        sqnr_db);
gboolean            qs_tensor_item_get_overridden (QsTensorItem *self);
void                qs_tensor_item_set_overridden (QsTensorItem *self,
                                                   gboolean      overridden);
gboolean            qs_tensor_item_get_kept_float (QsTensorItem *self);
void                qs_tensor_item_set_kept_float (QsTensorItem *self,
                                                   gboolean      kept_float);
/* Matches the sidebar's search text against path, layer and role. */
gboolean            qs_tensor_item_matches       (QsTensorItem *self,
                                                  const char   *needle);

G_END_DECLS
