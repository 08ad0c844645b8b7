/* qs-mixed-precision.h: per-layer weight precisions that minimise size within an accuracy budget.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The search prices each candidate of each layer by the accuracy lost
 * when that layer alone takes it (the others in float32; on the first
 * 1,000 images at most, as pricing only orders the steps), then walks down
 * from every layer at its largest candidate, taking the step that saves
 * the most bytes per point of predicted loss; every step is confirmed by
 * a full evaluation and undone when it breaks the budget. Every assignment
 * scored is kept, for the size-versus-accuracy chart and its Pareto front.
 */
#pragma once

#include <glib.h>

#include "model/qs-sensitivity.h"

G_BEGIN_DECLS

/* One candidate weight precision: an integer width on the base scheme
 * (format int, @bits) or a float format (fp16, bf16, fp8-e4m3, fp8-e5m2). */
typedef struct {
  QsFormat format;
  int      bits;      /* for QS_FORMAT_INT */
} QsPrecision;

/* "2,4,6,8,fp16": a comma-separated list of widths 2..16 and float format
 * names, without repeats (transfer full, an array of QsPrecision).
 * Errors: QS_ERROR_INVALID naming the bad entry. */
GArray *qs_precision_list_parse (const char        *text,
                                 GError           **error);
/* "4" or "fp16" (transfer full). */
char   *qs_precision_to_string  (const QsPrecision *precision);
/* @base with @precision's format and bits. */
void    qs_precision_apply      (const QsPrecision *precision,
                                 const QsScheme    *base,
                                 QsScheme          *scheme);

typedef struct {
  guint   *choice;         /* per searched layer, an index into the candidates */
  guint64  size_bytes;     /* the whole weight file as stored (kept tensors at 4 bytes a value) */
  gsize    correct;
  double   quant_top1;
  gboolean within_budget;
} QsMixedPoint;

typedef struct _QsMixedSearch QsMixedSearch;

/* A search over the layers of qs_search_layers under @base (transfer full).
 * Errors: QS_ERROR_INVALID when a candidate does not fit a layer's scheme. */
QsMixedSearch *qs_mixed_search_new   (QsScoreSession     *session,
                                      const QsSchemeSet  *base,
                                      const QsPrecision  *candidates,
                                      guint               n_candidates,
                                      GError            **error);
void           qs_mixed_search_free  (QsMixedSearch      *search);

guint               qs_mixed_search_get_n_layers      (const QsMixedSearch *search);
/* The engine layer name and the weight tensor path of searched layer @i. */
const char         *qs_mixed_search_get_layer_name    (const QsMixedSearch *search,
                                                       guint                i);
const char         *qs_mixed_search_get_layer_tensor  (const QsMixedSearch *search,
                                                       guint                i);
guint               qs_mixed_search_get_n_candidates  (const QsMixedSearch *search);
const QsPrecision  *qs_mixed_search_get_candidate     (const QsMixedSearch *search,
                                                       guint                c);
/* Float32 top-1 as a fraction. */
double              qs_mixed_search_get_fp32_top1     (const QsMixedSearch *search);

/* The scheme set of an assignment: @base with an override per searched
 * layer's tensor (transfer full). */
QsSchemeSet        *qs_mixed_search_make_set          (const QsMixedSearch *search,
                                                       const guint         *choice);
guint64             qs_mixed_search_size_bytes        (const QsMixedSearch *search,
                                                       const guint         *choice);
/* Scores an assignment over all images, or returns the point scored
 * before (transfer none; the search keeps every point). */
const QsMixedPoint *qs_mixed_search_evaluate          (QsMixedSearch       *search,
                                                       const guint         *choice,
                                                       double               budget_points,
                                                       GError             **error);

/* Runs the search for the smallest assignment at most @budget_points
 * percentage points below float32 top-1 (transfer none: the best point,
 * or NULL with no error when even the largest candidates break the budget). */
const QsMixedPoint *qs_mixed_search_run               (QsMixedSearch       *search,
                                                       double               budget_points,
                                                       QsSearchProgressFunc progress,
                                                       gpointer             user_data,
                                                       GError             **error);

/* Every point scored, in the order scored (transfer none, of QsMixedPoint *). */
GPtrArray          *qs_mixed_search_get_points        (const QsMixedSearch *search);
/* The points no other beats on both size and accuracy, smallest first
 * (transfer container). */
GPtrArray          *qs_mixed_search_pareto            (const QsMixedSearch *search);
/* Assignments scored on all images. */
guint               qs_mixed_search_get_evaluations   (const QsMixedSearch *search);
/* Layers alone under each candidate, scored on the first
 * qs_mixed_search_get_pricing_images images to order the steps. */
guint               qs_mixed_search_get_pricing_evaluations (const QsMixedSearch *search);
gsize               qs_mixed_search_get_pricing_images      (const QsMixedSearch *search);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QsMixedSearch, qs_mixed_search_free)

G_END_DECLS
