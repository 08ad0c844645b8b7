/* qs-mixed-precision.c: a greedy size-for-accuracy descent, priced by sensitivity and confirmed by evaluation.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "model/qs-mixed-precision.h"

#include <math.h>
#include <string.h>

#include "model/qs-error.h"
#include "model/qs-tensor-report-private.h"
#include "quant/qs-analysis.h"

/* Pricing only orders the steps (every step is confirmed on all images),
 * so it scores each layer's candidates on this many images at most. */
#define QS_MIXED_PRICING_IMAGES 1000

struct _QsMixedSearch {
  QsScoreSession *session;          /* borrowed */
  QsSchemeSet    *base;
  GArray         *candidates;       /* of QsPrecision */
  GArray         *layers;           /* weighted-layer indices */
  GPtrArray      *tensors;          /* QsTensorInfo *, borrowed from the file */
  GPtrArray      *names;            /* engine layer names */
  QsScheme       *schemes;          /* [layer * n_candidates + c] */
  guint64        *sizes;            /* the same shape: each tensor's stored size */
  double         *loss;             /* the same shape: top-1 lost with that layer alone quantized so */
  gboolean        priced;
  guint64         fixed_bytes;      /* every tensor the search does not change */
  gsize           fp32_correct;
  GHashTable     *points_by_key;    /* choice text -> QsMixedPoint * */
  GPtrArray      *points;           /* owns the points */
  guint           evaluations;
  guint           pricing_evaluations;
};

static guint64
kept_bytes (const QsTensorInfo *info)
{
  return info->count > G_MAXUINT64 / 4 ? G_MAXUINT64 : info->count * 4;
}

/* The stored size of @info under @scheme, as its tensor report counts it. */
static gboolean
tensor_size (const QsTensorInfo *info,
             const QsScheme     *scheme,
             guint64            *size,
             GError            **error)
{
  QsChannelLayout layout;
  int axis;

  if (!_qs_tensor_report_layout (info, scheme, &axis, &layout, error))
    return FALSE;
  *size = qs_quantized_size_bytes (scheme, layout.count,
                                   scheme->granularity == QS_GRANULARITY_CHANNEL
                                   || qs_scheme_is_blockwise (scheme) ? layout.channels : 1);
  return TRUE;
}

static guint64
add_saturated (guint64 a,
               guint64 b)
{
  return a > G_MAXUINT64 - b ? G_MAXUINT64 : a + b;
}

GArray *
qs_precision_list_parse (const char  *text,
                         GError     **error)
{
  g_auto(GStrv) items = g_strsplit (text != NULL ? text : "", ",", -1);
  g_autoptr(GArray) list = g_array_new (FALSE, FALSE, sizeof (QsPrecision));

  for (gsize i = 0; items[i] != NULL; i++)
    {
      const char *item = g_strstrip (items[i]);
      QsPrecision p = { QS_FORMAT_INT, 0 };
      guint64 bits;

      if (g_ascii_string_to_unsigned (item, 10, 2, 16, &bits, NULL))
        p.bits = (int) bits;
      else if (!qs_format_parse (item, &p.format) || p.format == QS_FORMAT_INT || qs_format_is_block (p.format))
        {
          g_set_error (error, QS_ERROR, QS_ERROR_INVALID,
                       "bad precision “%s” (use widths 2..16, fp16, bf16, fp8-e4m3 or fp8-e5m2)", item);
          return NULL;
        }
      for (guint j = 0; j < list->len; j++)
        {
          const QsPrecision *q = &g_array_index (list, QsPrecision, j);
          if (q->format == p.format && q->bits == p.bits)
            {
              g_set_error (error, QS_ERROR, QS_ERROR_INVALID, "precision “%s” is listed twice", item);
              return NULL;
            }
        }
      g_array_append_val (list, p);
    }
  if (list->len == 0)
    {
      g_set_error_literal (error, QS_ERROR, QS_ERROR_INVALID, "no precisions given");
      return NULL;
    }
  return g_steal_pointer (&list);
}

char *
qs_precision_to_string (const QsPrecision *precision)
{
  return precision->format == QS_FORMAT_INT ? g_strdup_printf ("%d", precision->bits)
                                            : g_strdup (qs_format_to_string (precision->format));
}

void
qs_precision_apply (const QsPrecision *precision,
                    const QsScheme    *base,
                    QsScheme          *scheme)
{
  *scheme = *base;
  scheme->format = precision->format;
  if (precision->format == QS_FORMAT_INT)
    scheme->bits = precision->bits;
}

static void
point_free (QsMixedPoint *point)
{
  g_free (point->choice);
  g_free (point);
}

void
qs_mixed_search_free (QsMixedSearch *search)
{
  if (search == NULL)
    return;
  g_clear_pointer (&search->base, qs_scheme_set_unref);
  g_clear_pointer (&search->candidates, g_array_unref);
  g_clear_pointer (&search->layers, g_array_unref);
  g_clear_pointer (&search->tensors, g_ptr_array_unref);
  g_clear_pointer (&search->names, g_ptr_array_unref);
  g_clear_pointer (&search->points_by_key, g_hash_table_unref);
  g_clear_pointer (&search->points, g_ptr_array_unref);
  g_free (search->schemes);
  g_free (search->sizes);
  g_free (search->loss);
  g_free (search);
}

/* Each layer's scheme and size under each candidate, and the size of the rest. */
static gboolean
prepare_layers (QsMixedSearch *search,
                GError       **error)
{
  guint n_cand = search->candidates->len, n = search->tensors->len;
  GPtrArray *all = qs_weight_file_get_tensors (qs_score_session_get_input (search->session)->file);
  g_autoptr(GHashTable) searched = g_hash_table_new (NULL, NULL);

  search->schemes = g_new0 (QsScheme, (gsize) MAX (n, 1) * n_cand);
  search->sizes = g_new0 (guint64, (gsize) MAX (n, 1) * n_cand);
  search->loss = g_new0 (double, (gsize) MAX (n, 1) * n_cand);
  for (guint i = 0; i < n; i++)
    {
      const QsTensorInfo *info = g_ptr_array_index (search->tensors, i);
      QsScheme base;

      g_hash_table_add (searched, (gpointer) info);
      qs_scheme_set_resolve_tensor (search->base, info, &base);
      for (guint c = 0; c < n_cand; c++)
        {
          QsScheme *scheme = &search->schemes[i * n_cand + c];
          const char *problem = NULL;

          qs_precision_apply (&g_array_index (search->candidates, QsPrecision, c), &base, scheme);
          if (qs_scheme_validate (scheme, &problem) != QS_OK)
            {
              g_autofree char *name = qs_precision_to_string (&g_array_index (search->candidates, QsPrecision, c));
              g_set_error (error, QS_ERROR, QS_ERROR_INVALID, "precision %s does not fit the scheme of %s: %s",
                           name, info->path, problem);
              return FALSE;
            }
          if (!tensor_size (info, scheme, &search->sizes[i * n_cand + c], error))
            return FALSE;
        }
    }
  for (guint t = 0; t < all->len; t++)
    {
      const QsTensorInfo *info = g_ptr_array_index (all, t);
      QsScheme scheme;
      guint64 size;

      if (g_hash_table_contains (searched, info))
        continue;
      if (!qs_scheme_set_resolve_tensor (search->base, info, &scheme))
        size = kept_bytes (info);
      else if (!tensor_size (info, &scheme, &size, error))
        return FALSE;
      search->fixed_bytes = add_saturated (search->fixed_bytes, size);
    }
  return TRUE;
}

QsMixedSearch *
qs_mixed_search_new (QsScoreSession     *session,
                     const QsSchemeSet  *base,
                     const QsPrecision  *candidates,
                     guint               n_candidates,
                     GError            **error)
{
  g_autoptr(QsMixedSearch) search = g_new0 (QsMixedSearch, 1);
  const QsScoreInput *input;

  g_return_val_if_fail (session != NULL && base != NULL, NULL);
  g_return_val_if_fail (candidates != NULL && n_candidates > 0, NULL);

  input = qs_score_session_get_input (session);
  search->session = session;
  search->base = qs_scheme_set_ref ((QsSchemeSet *) base);
  search->candidates = g_array_new (FALSE, FALSE, sizeof (QsPrecision));
  g_array_append_vals (search->candidates, candidates, n_candidates);
  search->layers = g_array_new (FALSE, FALSE, sizeof (guint));
  search->tensors = g_ptr_array_new ();
  search->names = g_ptr_array_new ();
  search->points_by_key = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  search->points = g_ptr_array_new_with_free_func ((GDestroyNotify) point_free);
  if (!qs_score_session_predict_fp32 (session, input->count, error))
    return NULL;
  search->fp32_correct = qs_score_session_fp32_correct (session, 0, input->count);

  qs_search_layers (session, base, search->layers, search->tensors);
  for (guint i = 0; i < search->layers->len; i++)
    {
      QsLayerInfo info;
      int index = qs_engine_model_weighted_layer_index (input->model, g_array_index (search->layers, guint, i));

      qs_engine_model_get_layer (input->model, (gsize) index, &info);
      g_ptr_array_add (search->names, (gpointer) info.name);
    }
  if (!prepare_layers (search, error))
    return NULL;
  return g_steal_pointer (&search);
}

guint
qs_mixed_search_get_n_layers (const QsMixedSearch *search)
{
  return search->tensors->len;
}

const char *
qs_mixed_search_get_layer_name (const QsMixedSearch *search,
                                guint                i)
{
  g_return_val_if_fail (i < search->names->len, NULL);
  return g_ptr_array_index (search->names, i);
}

const char *
qs_mixed_search_get_layer_tensor (const QsMixedSearch *search,
                                  guint                i)
{
  g_return_val_if_fail (i < search->tensors->len, NULL);
  return ((const QsTensorInfo *) g_ptr_array_index (search->tensors, i))->path;
}

guint
qs_mixed_search_get_n_candidates (const QsMixedSearch *search)
{
  return search->candidates->len;
}

const QsPrecision *
qs_mixed_search_get_candidate (const QsMixedSearch *search,
                               guint                c)
{
  g_return_val_if_fail (c < search->candidates->len, NULL);
  return &g_array_index (search->candidates, QsPrecision, c);
}

double
qs_mixed_search_get_fp32_top1 (const QsMixedSearch *search)
{
  gsize images = qs_score_session_get_input (search->session)->count;

  return images > 0 ? search->fp32_correct / (double) images : NAN;
}

QsSchemeSet *
qs_mixed_search_make_set (const QsMixedSearch *search,
                          const guint         *choice)
{
  QsSchemeSet *set = qs_scheme_set_ref (search->base);
  guint n_cand = search->candidates->len;

  for (guint i = 0; i < search->tensors->len; i++)
    {
      QsSchemeSet *next = qs_scheme_set_with_tensor_scheme (set, qs_mixed_search_get_layer_tensor (search, i),
                                                            &search->schemes[i * n_cand + choice[i]]);
      qs_scheme_set_unref (set);
      set = next;
    }
  return set;
}

guint64
qs_mixed_search_size_bytes (const QsMixedSearch *search,
                            const guint         *choice)
{
  guint64 size = search->fixed_bytes;

  for (guint i = 0; i < search->tensors->len; i++)
    size = add_saturated (size, search->sizes[i * search->candidates->len + choice[i]]);
  return size;
}

static char *
choice_key (const QsMixedSearch *search,
            const guint         *choice)
{
  GString *key = g_string_new (NULL);

  for (guint i = 0; i < search->tensors->len; i++)
    g_string_append_printf (key, "%u,", choice[i]);
  return g_string_free (key, FALSE);
}

static gboolean
within_budget (const QsMixedSearch *search,
               gsize                correct,
               double               budget_points)
{
  gsize images = qs_score_session_get_input (search->session)->count;

  /* In counts, so the test is exact: lost images <= budget% of the images. */
  return ((double) search->fp32_correct - (double) correct) * 100.0 <= budget_points * images + 1e-9;
}

const QsMixedPoint *
qs_mixed_search_evaluate (QsMixedSearch *search,
                          const guint   *choice,
                          double         budget_points,
                          GError       **error)
{
  const QsScoreInput *input = qs_score_session_get_input (search->session);
  g_autofree char *key = choice_key (search, choice);
  g_autoptr(QsSchemeSet) set = NULL;
  QsMixedPoint *point = g_hash_table_lookup (search->points_by_key, key);
  QsEngineEvalResult result;

  if (point != NULL)
    {
      point->within_budget = within_budget (search, point->correct, budget_points);
      return point;
    }
  set = qs_mixed_search_make_set (search, choice);
  if (!qs_score_session_evaluate (search->session, set, 0, input->count, FALSE, NULL, &result, error))
    return NULL;
  search->evaluations++;
  point = g_new0 (QsMixedPoint, 1);
  point->choice = g_memdup2 (choice, sizeof (guint) * MAX (search->tensors->len, 1));
  point->size_bytes = qs_mixed_search_size_bytes (search, choice);
  point->correct = result.quant_correct;
  point->quant_top1 = input->count > 0 ? result.quant_correct / (double) input->count : NAN;
  point->within_budget = within_budget (search, point->correct, budget_points);
  g_hash_table_insert (search->points_by_key, g_steal_pointer (&key), point);
  g_ptr_array_add (search->points, point);
  return point;
}

/* The loss of each layer alone under each candidate, the others in float32:
 * per candidate, one run with every searched layer's weights in float32
 * and a branch off it per layer, that layer as the candidate quantized it
 * (qs_engine_predict_branches), so a layer costs its own layer and those
 * after it instead of a whole evaluation; each branch's predictions are
 * those of evaluating that layer's set whole. */
static gboolean
price_layers (QsMixedSearch        *search,
              QsSearchProgressFunc  progress,
              gpointer              user_data,
              guint                *done,
              guint                 total,
              GError              **error)
{
  const QsEngineModel *model = qs_score_session_get_input (search->session)->model;
  gsize images = qs_mixed_search_get_pricing_images (search);
  gsize fp32_correct = qs_score_session_fp32_correct (search->session, 0, images);
  guint n_cand = search->candidates->len, n = search->tensors->len;
  g_autoptr(GPtrArray) paths = g_ptr_array_new ();
  g_autoptr(QsSchemeSet) float_set = NULL;
  g_autofree guint *choice = g_new0 (guint, MAX (n, 1));
  g_autofree QsEngineBranch *branches = g_new0 (QsEngineBranch, MAX (n, 1));
  g_autofree QsEngineEvalResult *results = g_new (QsEngineEvalResult, n + 1);
  QsQuantizedModel *float_weights;
  gboolean ok = TRUE;

  for (guint i = 0; i < n; i++)
    g_ptr_array_add (paths, (gpointer) qs_mixed_search_get_layer_tensor (search, i));
  float_set = qs_sensitivity_alone_set (search->base, paths, G_MAXUINT);
  if (n > 0 && (float_weights = qs_score_session_quantize (search->session, float_set, FALSE, error)) == NULL)
    return FALSE;
  for (guint c = 0; c < n_cand && n > 0 && ok; c++)
    {
      g_autoptr(QsSchemeSet) set = NULL;
      QsQuantizedModel *candidate;

      for (guint i = 0; i < n; i++)
        choice[i] = c;
      set = qs_mixed_search_make_set (search, choice);
      if ((candidate = qs_score_session_quantize (search->session, set, FALSE, error)) == NULL)
        {
          ok = FALSE;
          break;
        }
      for (guint i = 0; i < n; i++)
        branches[i] = (QsEngineBranch) {
          (gsize) qs_engine_model_weighted_layer_index (model, g_array_index (search->layers, guint, i)),
          candidate, float_weights
        };
      memset (results, 0, (n + 1) * sizeof *results);
      ok = qs_score_session_evaluate_branches (search->session, float_weights, branches, n, 0, images,
                                               NULL, NULL, results, error);
      qs_quantized_model_free (candidate);
      for (guint i = 0; i < n && ok; i++)
        {
          search->pricing_evaluations++;
          search->loss[i * n_cand + c] = images > 0
            ? ((double) fp32_correct - (double) results[1 + i].quant_correct) / images : 0;
          if (progress != NULL)
            progress (++*done, total, user_data);
        }
    }
  if (n > 0)
    qs_quantized_model_free (float_weights);
  search->priced = ok;
  return ok;
}

/* The step from @choice that saves the most bytes per unit of predicted
 * loss among those not @blocked: layer *@layer to candidate *@to.
 * @raise_too also considers raising one other layer to pay for it. */
typedef struct {
  guint  layer, to;
  guint  raise, raise_to;   /* raise == G_MAXUINT: none */
  double score;
} Step;

static double
step_score (const QsMixedSearch *search,
            const guint         *choice,
            const Step          *step)
{
  guint n_cand = search->candidates->len;
  gsize images = qs_score_session_get_input (search->session)->count;
  double saved = (double) search->sizes[step->layer * n_cand + choice[step->layer]]
                 - (double) search->sizes[step->layer * n_cand + step->to];
  double lost = search->loss[step->layer * n_cand + step->to] - search->loss[step->layer * n_cand + choice[step->layer]];

  if (step->raise != G_MAXUINT)
    {
      saved -= (double) search->sizes[step->raise * n_cand + step->raise_to]
               - (double) search->sizes[step->raise * n_cand + choice[step->raise]];
      lost += search->loss[step->raise * n_cand + step->raise_to]
              - search->loss[step->raise * n_cand + choice[step->raise]];
    }
  if (saved <= 0)
    return -1;
  /* One image's worth keeps free-looking steps finite and ordered by size. */
  return saved / (MAX (lost, 0.0) + 1.0 / MAX (images, 1));
}

static void
apply_step (const guint *choice,
            guint        n,
            const Step  *step,
            guint       *out)
{
  memcpy (out, choice, sizeof (guint) * n);
  out[step->layer] = step->to;
  if (step->raise != G_MAXUINT)
    out[step->raise] = step->raise_to;
}

/* Keeps @step in *@best when it scores higher and leads somewhere new. */
static void
consider_step (QsMixedSearch *search,
               const guint   *choice,
               Step          *step,
               guint         *trial,
               Step          *best,
               gboolean      *found)
{
  g_autofree char *key = NULL;

  step->score = step_score (search, choice, step);
  if (step->score <= 0 || (*found && step->score <= best->score))
    return;
  apply_step (choice, search->tensors->len, step, trial);
  key = choice_key (search, trial);
  if (g_hash_table_contains (search->points_by_key, key))
    return;
  *best = *step;
  *found = TRUE;
}

/* The best step down from @choice, skipping @blocked steps; with
 * @with_raise, steps down paid for by raising another layer (blocks
 * ignored: the raise changes what they predicted). */
static gboolean
best_step (QsMixedSearch  *search,
           const guint    *choice,
           const gboolean *blocked,
           gboolean        with_raise,
           Step           *best)
{
  guint n = search->tensors->len, n_cand = search->candidates->len;
  g_autofree guint *trial = g_new (guint, MAX (n, 1));
  gboolean found = FALSE;

  for (guint i = 0; i < n; i++)
    for (guint c = 0; c < n_cand; c++)
      {
        if (search->sizes[i * n_cand + c] >= search->sizes[i * n_cand + choice[i]])
          continue;
        if (!with_raise)
          {
            Step step = { i, c, G_MAXUINT, 0, 0 };

            if (!blocked[i * n_cand + c])
              consider_step (search, choice, &step, trial, best, &found);
            continue;
          }
        for (guint j = 0; j < n; j++)
          for (guint d = 0; d < n_cand; d++)
            {
              Step step = { i, c, j, d, 0 };

              if (j != i && search->sizes[j * n_cand + d] > search->sizes[j * n_cand + choice[j]])
                consider_step (search, choice, &step, trial, best, &found);
            }
      }
  return found;
}

/* A failed step down also rules out the smaller candidates of that layer,
 * until a step elsewhere changes the picture. */
static void
block_below (const QsMixedSearch *search,
             const Step          *step,
             gboolean            *blocked)
{
  guint n_cand = search->candidates->len;

  for (guint c = 0; c < n_cand; c++)
    if (search->sizes[step->layer * n_cand + c] <= search->sizes[step->layer * n_cand + step->to])
      blocked[step->layer * n_cand + c] = TRUE;
}

const QsMixedPoint *
qs_mixed_search_run (QsMixedSearch        *search,
                     double                budget_points,
                     QsSearchProgressFunc  progress,
                     gpointer              user_data,
                     GError              **error)
{
  guint n = search->tensors->len, n_cand = search->candidates->len;
  g_autofree guint *choice = g_new0 (guint, MAX (n, 1));
  g_autofree guint *trial = g_new0 (guint, MAX (n, 1));
  g_autofree gboolean *blocked = g_new0 (gboolean, (gsize) MAX (n, 1) * n_cand);
  /* Pricing, then about two tries per step down (an estimate for progress). */
  guint done = 0, total = n * n_cand * 3;
  const QsMixedPoint *best, *point;
  guint misses = 0;

  if (!search->priced && !price_layers (search, progress, user_data, &done, total, error))
    return NULL;

  /* Start with every layer at its largest candidate. */
  for (guint i = 0; i < n; i++)
    for (guint c = 1; c < n_cand; c++)
      if (search->sizes[i * n_cand + c] > search->sizes[i * n_cand + choice[i]])
        choice[i] = c;
  best = qs_mixed_search_evaluate (search, choice, budget_points, error);
  if (best == NULL || !best->within_budget)
    return NULL;

  /* Single steps down while any is open; then a step down paid for by a
   * step up elsewhere (backtracking), allowed a few misses in a row, and
   * back to single steps from wherever that lands. */
  for (;;)
    {
      Step step;
      gboolean pair = FALSE;

      if (!best_step (search, choice, blocked, FALSE, &step))
        {
          if (misses >= n || !best_step (search, choice, blocked, TRUE, &step))
            break;
          pair = TRUE;
        }
      apply_step (choice, n, &step, trial);
      point = qs_mixed_search_evaluate (search, trial, budget_points, error);
      if (point == NULL)
        return NULL;
      done++;
      if (progress != NULL)
        progress (done, MAX (total, done + 1), user_data);
      if (point->within_budget && point->size_bytes < best->size_bytes)
        {
          memcpy (choice, trial, sizeof (guint) * n);
          best = point;
          misses = 0;
          if (pair)
            memset (blocked, 0, sizeof (gboolean) * n * n_cand);
        }
      else if (pair)
        misses++;
      else
        block_below (search, &step, blocked);
    }
  return best;
}

GPtrArray *
qs_mixed_search_get_points (const QsMixedSearch *search)
{
  return search->points;
}

static int
compare_size_then_accuracy (gconstpointer a,
                            gconstpointer b)
{
  const QsMixedPoint *pa = *(QsMixedPoint * const *) a, *pb = *(QsMixedPoint * const *) b;

  if (pa->size_bytes != pb->size_bytes)
    return pa->size_bytes < pb->size_bytes ? -1 : 1;
  return (pa->correct < pb->correct) - (pa->correct > pb->correct);
}

GPtrArray *
qs_mixed_search_pareto (const QsMixedSearch *search)
{
  g_autoptr(GPtrArray) sorted = g_ptr_array_copy (search->points, NULL, NULL);
  GPtrArray *front = g_ptr_array_new ();
  gboolean any = FALSE;
  gsize best_correct = 0;

  /* The copy would free the points with it. */
  g_ptr_array_set_free_func (sorted, NULL);
  g_ptr_array_sort (sorted, compare_size_then_accuracy);
  /* Smallest first: a point joins when it beats every smaller one. */
  for (guint i = 0; i < sorted->len; i++)
    {
      QsMixedPoint *p = g_ptr_array_index (sorted, i);

      if (!any || p->correct > best_correct)
        {
          g_ptr_array_add (front, p);
          best_correct = p->correct;
          any = TRUE;
        }
    }
  return front;
}

guint
qs_mixed_search_get_evaluations (const QsMixedSearch *search)
{
  return search->evaluations;
}

guint
qs_mixed_search_get_pricing_evaluations (const QsMixedSearch *search)
{
  return search->pricing_evaluations;
}

gsize
qs_mixed_search_get_pricing_images (const QsMixedSearch *search)
{
  return MIN (qs_score_session_get_input (search->session)->count, QS_MIXED_PRICING_IMAGES);
}
