/* qs-sensitivity.c: calibrate once, score many scheme sets; per-layer sensitivity and rank agreement.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "model/qs-sensitivity.h"

#include <math.h>
#include <string.h>

#include <gio/gio.h>

#include "model/qs-error.h"

struct _QsScoreSession {
  QsScoreInput        input;
  QsActivationScheme  activations;   /* with the base set's nudging */
  QsCalibration      *calibration;
  gint32             *fp32;          /* count predictions of the scored images */
  gsize               fp32_ready;    /* those of images [0, fp32_ready) are made */
  QsScoreTimes        times;
  guint               evaluations;
};

static double
now_seconds (void)
{
  return g_get_monotonic_time () / 1e6;
}

static void
run_options (const QsScoreSession *session,
             QsEngineRunOptions   *options)
{
  qs_engine_run_options_init (options);
  options->n_threads = session->input.n_threads;
  options->cancel = session->input.cancel;
}

/* One GError for a failed engine call; a raised cancel flag is a cancellation. */
static gboolean
engine_failed (QsEngineStatus status,
               const char    *what,
               const char    *message,
               GError       **error)
{
  if (status == QS_ENGINE_OK)
    return FALSE;
  if (status == QS_ENGINE_CANCELLED)
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "cancelled");
  else
    g_set_error (error, QS_ERROR, QS_ERROR_FAILED, "%s: %s", what,
                 message != NULL && message[0] != '\0' ? message : qs_engine_status_to_string (status));
  return TRUE;
}

static void
set_activations (const QsScoreSession *session,
                 const QsSchemeSet    *set,
                 QsActivationScheme   *activations)
{
  qs_scheme_set_activations (set, activations);
  activations->range_method = session->input.activations.range_method;
  activations->percentile = session->input.activations.percentile;
  activations->float_logits = session->input.activations.float_logits;
}

QsScoreSession *
qs_score_session_new (const QsScoreInput *input,
                      const QsSchemeSet  *base,
                      GError            **error)
{
  g_autoptr(QsScoreSession) session = g_new0 (QsScoreSession, 1);
  QsEngineRunOptions options;
  char message[512] = "";
  QsEngineStatus status;
  double t0;

  g_return_val_if_fail (input != NULL && input->model != NULL && input->data != NULL, NULL);
  g_return_val_if_fail (input->calibration != NULL && base != NULL, NULL);
  g_return_val_if_fail (input->first <= input->data->count
                        && input->count <= input->data->count - input->first, NULL);

  if (input->data->labels == NULL)
    {
      g_set_error_literal (error, QS_ERROR, QS_ERROR_INVALID, "the scored images have no labels");
      return NULL;
    }
  session->input = *input;
  set_activations (session, base, &session->activations);
  run_options (session, &options);

  t0 = now_seconds ();
  status = qs_engine_calibrate (input->model, &session->activations, input->calibration,
                                input->calibration_count, &options, &session->calibration,
                                message, sizeof message);
  session->times.calibrate = now_seconds () - t0;
  if (engine_failed (status, "cannot calibrate the model", message, error))
    return NULL;

  session->fp32 = g_new (gint32, MAX (input->count, 1));
  return g_steal_pointer (&session);
}

void
qs_score_session_free (QsScoreSession *session)
{
  if (session == NULL)
    return;
  g_clear_pointer (&session->calibration, qs_calibration_free);
  g_free (session->fp32);
  g_free (session);
}

const QsScoreInput *
qs_score_session_get_input (const QsScoreSession *session)
{
  return &session->input;
}

gboolean
qs_score_session_predict_fp32 (QsScoreSession *session,
                               gsize           end,
                               GError        **error)
{
  const QsScoreInput *in = &session->input;
  QsEngineRunOptions options;
  QsEngineStatus status;
  double t0;

  g_return_val_if_fail (end <= in->count, FALSE);

  if (end <= session->fp32_ready)
    return TRUE;
  run_options (session, &options);
  t0 = now_seconds ();
  status = qs_engine_predict (in->model, NULL, in->data, in->first + session->fp32_ready,
                              end - session->fp32_ready, &options, session->fp32 + session->fp32_ready);
  session->times.fp32 += now_seconds () - t0;
  if (engine_failed (status, "float32 predictions failed", NULL, error))
    return FALSE;
  session->fp32_ready = end;
  return TRUE;
}

gsize
qs_score_session_fp32_correct (const QsScoreSession *session,
                               gsize                 offset,
                               gsize                 n)
{
  const gint32 *labels = session->input.data->labels + session->input.first;
  gsize correct = 0;

  g_return_val_if_fail (offset <= session->fp32_ready && n <= session->fp32_ready - offset, 0);
  for (gsize i = offset; i < offset + n; i++)
    correct += session->fp32[i] == labels[i];
  return correct;
}

QsQuantizedModel *
qs_score_session_quantize (QsScoreSession    *session,
                           const QsSchemeSet *set,
                           gboolean           with_output_sqnr,
                           GError           **error)
{
  const QsScoreInput *in = &session->input;
  gsize n_weighted = qs_engine_model_get_n_weighted (in->model);
  g_autofree QsScheme *schemes = g_new0 (QsScheme, MAX (n_weighted, 1));
  g_autofree const QsScheme **pointers = g_new0 (const QsScheme *, MAX (n_weighted, 1));
  QsQuantizedModel *model = NULL;
  QsActivationScheme activations;
  QsEngineRunOptions options;
  char message[512] = "";
  QsEngineStatus status;
  double t0;

  g_return_val_if_fail (session != NULL && set != NULL, NULL);

  /* The calibration holds the base set's activation ranges; a set with
   * other activations would need a calibration of its own. */
  set_activations (session, set, &activations);
  if (activations.nudge_zero != session->activations.nudge_zero)
    {
      g_set_error_literal (error, QS_ERROR, QS_ERROR_INVALID,
                           "the scheme set quantizes activations differently from the calibration");
      return NULL;
    }
  qs_scheme_set_resolve_layers (set, in->file, in->model, schemes, pointers);
  run_options (session, &options);
  t0 = now_seconds ();
  status = qs_engine_quantize_calibrated (session->calibration, pointers, n_weighted, with_output_sqnr,
                                          &options, &model, message, sizeof message);
  session->times.quantize += now_seconds () - t0;
  if (engine_failed (status, "cannot quantize the model", message, error))
    return NULL;
  return model;
}

gboolean
qs_score_session_evaluate (QsScoreSession     *session,
                           const QsSchemeSet  *set,
                           gsize               offset,
                           gsize               n,
                           gboolean            with_output_sqnr,
                           QsQuantizedModel  **quantized,
                           QsEngineEvalResult *result,
                           GError            **error)
{
  const QsScoreInput *in = &session->input;
  QsQuantizedModel *model = NULL;
  QsEngineRunOptions options;
  QsEngineStatus status;
  double t0;

  g_return_val_if_fail (offset <= in->count && n <= in->count - offset, FALSE);

  if (!qs_score_session_predict_fp32 (session, offset + n, error)
      || (model = qs_score_session_quantize (session, set, with_output_sqnr, error)) == NULL)
    return FALSE;

  run_options (session, &options);
  t0 = now_seconds ();
  status = qs_engine_evaluate (in->model, model, in->data, in->first + offset, n, &options,
                               session->fp32 + offset, NULL, result);
  session->times.evaluate += now_seconds () - t0;
  session->evaluations++;
  if (engine_failed (status, "evaluation failed", NULL, error))
    {
      qs_quantized_model_free (model);
      return FALSE;
    }
  if (quantized != NULL)
    *quantized = model;
  else
    qs_quantized_model_free (model);
  return TRUE;
}

gboolean
qs_score_session_evaluate_branches (QsScoreSession         *session,
                                    const QsQuantizedModel *trunk,
                                    const QsEngineBranch   *branches,
                                    gsize                   n_branches,
                                    gsize                   offset,
                                    gsize                   n,
                                    QsEngineProgressFunc    progress,
                                    gpointer                progress_data,
                                    QsEngineEvalResult     *results,
                                    GError                **error)
{
  const QsScoreInput *in = &session->input;
  const gint32 *labels = in->data->labels + in->first + offset;
  const gint32 *fp32 = session->fp32 + offset;
  g_autofree gint32 *predictions = NULL;
  QsEngineRunOptions options;
  QsEngineStatus status;
  gsize runs;
  double t0;

  g_return_val_if_fail (offset <= in->count && n <= in->count - offset, FALSE);

  if (!g_size_checked_add (&runs, n_branches, 1) || !g_size_checked_mul (&runs, runs, MAX (n, 1))
      || (predictions = g_try_new (gint32, runs)) == NULL)
    {
      g_set_error_literal (error, QS_ERROR, QS_ERROR_FAILED, "out of memory for the predictions");
      return FALSE;
    }
  if (!qs_score_session_predict_fp32 (session, offset + n, error))
    return FALSE;
  run_options (session, &options);
  options.progress = progress;
  options.progress_data = progress_data;
  t0 = now_seconds ();
  status = qs_engine_predict_branches (trunk, branches, n_branches, in->data, in->first + offset, n,
                                       &options, predictions);
  session->times.evaluate += now_seconds () - t0;
  if (engine_failed (status, "evaluation failed", NULL, error))
    return FALSE;
  session->evaluations += 1 + n_branches;
  for (gsize r = 0; r <= n_branches; r++)
    {
      const gint32 *p = predictions + r * n;

      results[r].images += n;
      for (gsize i = 0; i < n; i++)
        {
          results[r].fp32_correct += fp32[i] == labels[i];
          results[r].quant_correct += p[i] == labels[i];
          results[r].agree += p[i] == fp32[i];
        }
    }
  return TRUE;
}

guint
qs_score_session_get_evaluations (const QsScoreSession *session)
{
  return session->evaluations;
}

const QsScoreTimes *
qs_score_session_get_times (const QsScoreSession *session)
{
  return &session->times;
}

/* ---- rank agreement ------------------------------------------------------ */

typedef struct {
  double x, y;
} Pair;

/* The pairs where both values are numbers. */
static GArray *
valid_pairs (const double *x,
             const double *y,
             gsize         n)
{
  GArray *pairs = g_array_new (FALSE, FALSE, sizeof (Pair));

  for (gsize i = 0; i < n; i++)
    if (!isnan (x[i]) && !isnan (y[i]))
      {
        Pair p = { x[i], y[i] };
        g_array_append_val (pairs, p);
      }
  return pairs;
}

static int
compare_by_value (gconstpointer a,
                  gconstpointer b,
                  gpointer      values)
{
  double va = ((const double *) values)[*(const guint *) a];
  double vb = ((const double *) values)[*(const guint *) b];

  return (va > vb) - (va < vb);
}

/* Ranks from 1, tied values sharing their mean rank. */
static void
mean_ranks (const double *values,
            gsize         n,
            double       *ranks)
{
  g_autofree guint *order = g_new (guint, MAX (n, 1));

  for (gsize i = 0; i < n; i++)
    order[i] = (guint) i;
  g_qsort_with_data (order, (gint) n, sizeof (guint), compare_by_value, (gpointer) values);
  for (gsize start = 0; start < n;)
    {
      gsize end = start + 1;

      while (end < n && values[order[end]] == values[order[start]])
        end++;
      for (gsize k = start; k < end; k++)
        ranks[order[k]] = (start + 1 + end) / 2.0;
      start = end;
    }
}

double
qs_rank_spearman (const double *x,
                  const double *y,
                  gsize         n)
{
  g_autoptr(GArray) pairs = valid_pairs (x, y, n);
  gsize m = pairs->len;
  g_autofree double *xs = g_new (double, MAX (m, 1)), *ys = g_new (double, MAX (m, 1));
  g_autofree double *rx = g_new (double, MAX (m, 1)), *ry = g_new (double, MAX (m, 1));
  double mean = (m + 1) / 2.0, sxy = 0, sxx = 0, syy = 0;

  if (m < 2)
    return NAN;
  for (gsize i = 0; i < m; i++)
    {
      xs[i] = g_array_index (pairs, Pair, i).x;
      ys[i] = g_array_index (pairs, Pair, i).y;
    }
  mean_ranks (xs, m, rx);
  mean_ranks (ys, m, ry);
  for (gsize i = 0; i < m; i++)
    {
      sxy += (rx[i] - mean) * (ry[i] - mean);
      sxx += (rx[i] - mean) * (rx[i] - mean);
      syy += (ry[i] - mean) * (ry[i] - mean);
    }
  return sxx > 0 && syy > 0 ? sxy / sqrt (sxx * syy) : NAN;
}

double
qs_rank_kendall (const double *x,
                 const double *y,
                 gsize         n)
{
  g_autoptr(GArray) pairs = valid_pairs (x, y, n);
  double concordant = 0, discordant = 0, tied_x = 0, tied_y = 0;

  /* Quadratic, over layers: a few hundred at most. */
  for (guint i = 0; i < pairs->len; i++)
    for (guint j = i + 1; j < pairs->len; j++)
      {
        const Pair *a = &g_array_index (pairs, Pair, i), *b = &g_array_index (pairs, Pair, j);
        int sx = (a->x > b->x) - (a->x < b->x), sy = (a->y > b->y) - (a->y < b->y);

        if (sx == 0 && sy == 0)
          continue;
        if (sx == 0)
          tied_x++;
        else if (sy == 0)
          tied_y++;
        else if (sx == sy)
          concordant++;
        else
          discordant++;
      }
  if (pairs->len < 2)
    return NAN;
  {
    double nx = concordant + discordant + tied_y, ny = concordant + discordant + tied_x;

    return nx > 0 && ny > 0 ? (concordant - discordant) / sqrt (nx * ny) : NAN;
  }
}

/* ---- sensitivity ---------------------------------------------------------- */

void
qs_search_layers (const QsScoreSession *session,
                  const QsSchemeSet    *base,
                  GArray               *layers,
                  GPtrArray            *tensors)
{
  const QsEngineModel *model = session->input.model;
  gsize n = qs_engine_model_get_n_weighted (model);
  g_autofree QsScheme *schemes = g_new0 (QsScheme, MAX (n, 1));
  g_autofree const QsScheme **pointers = g_new0 (const QsScheme *, MAX (n, 1));

  qs_scheme_set_resolve_layers (base, session->input.file, model, schemes, pointers);
  for (gsize i = 0; i < n; i++)
    {
      QsLayerInfo info;
      const QsTensorInfo *tensor;
      guint index = (guint) i;

      qs_engine_model_get_layer (model, (gsize) qs_engine_model_weighted_layer_index (model, i), &info);
      tensor = qs_scheme_set_layer_tensor (session->input.file, &info);
      if (tensor == NULL || pointers[i] == NULL)
        continue;
      g_array_append_val (layers, index);
      g_ptr_array_add (tensors, (gpointer) tensor);
    }
}

/* @base's skip list plus @extra (NULL-terminated). */
static QsSchemeSet *
with_more_skipped (const QsSchemeSet  *base,
                   const char * const *extra)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) skip = NULL;
  const char * const *old = qs_scheme_set_get_skip (base);

  for (gsize i = 0; old != NULL && old[i] != NULL; i++)
    g_strv_builder_add (builder, old[i]);
  g_strv_builder_addv (builder, (const char **) extra);
  skip = g_strv_builder_end (builder);
  return qs_scheme_set_with_skip (base, (const char * const *) skip);
}

QsSchemeSet *
qs_sensitivity_alone_set (const QsSchemeSet *base,
                          GPtrArray         *tensors,
                          guint              index)
{
  g_autoptr(GPtrArray) others = g_ptr_array_new ();

  for (guint i = 0; i < tensors->len; i++)
    if (i != index)
      g_ptr_array_add (others, g_ptr_array_index (tensors, i));
  g_ptr_array_add (others, NULL);
  return with_more_skipped (base, (const char * const *) others->pdata);
}

QsSchemeSet *
qs_sensitivity_kept_float_set (const QsSchemeSet *base,
                               const char        *tensor)
{
  const char *extra[] = { tensor, NULL };

  return with_more_skipped (base, extra);
}

void
qs_sensitivity_free (QsSensitivity *sensitivity)
{
  if (sensitivity == NULL)
    return;
  for (guint i = 0; i < sensitivity->layers->len; i++)
    {
      QsLayerSensitivity *layer = &g_array_index (sensitivity->layers, QsLayerSensitivity, i);
      g_free (layer->name);
      g_free (layer->tensor);
    }
  g_array_unref (sensitivity->layers);
  g_free (sensitivity);
}

/* The counts of every run, summed over the parts scored so far: the
 * all-quantized run and each layer kept in float32 off it, the run with
 * every searched layer's weights in float32 and each layer quantized
 * alone off it. */
typedef struct {
  QsEngineEvalResult *quant;          /* [1 + n]: all quantized, then kept float */
  QsEngineEvalResult *float_weights;  /* [1 + n]: float weights, then alone */
} Tally;

static void
agreement (const QsSensitivity *s,
           const double        *proxy_sqnr,
           QsProxyAgreement    *out)
{
  guint n = s->layers->len;
  g_autofree double *proxy = g_new (double, MAX (n, 1));
  g_autofree double *lost = g_new (double, MAX (n, 1));
  g_autofree double *regained = g_new (double, MAX (n, 1));

  for (guint i = 0; i < n; i++)
    {
      const QsLayerSensitivity *l = &g_array_index (s->layers, QsLayerSensitivity, i);

      /* A lower SQNR predicts a more sensitive layer. */
      proxy[i] = -proxy_sqnr[i];
      lost[i] = s->fp32_top1 - l->alone_top1;
      regained[i] = l->kept_float_top1 - s->all_quant_top1;
    }
  out->spearman_alone = qs_rank_spearman (proxy, lost, n);
  out->kendall_alone = qs_rank_kendall (proxy, lost, n);
  out->spearman_kept_float = qs_rank_spearman (proxy, regained, n);
  out->kendall_kept_float = qs_rank_kendall (proxy, regained, n);
}

static double
top1 (gsize correct,
      gsize images)
{
  return images > 0 ? correct / (double) images : NAN;
}

static QsSensitivity *
sensitivity_from_tally (const QsScoreSession   *session,
                        const GArray           *layers,
                        GPtrArray              *tensors,
                        const QsQuantizedModel *all_quant,
                        const Tally            *tally,
                        gsize                   images)
{
  QsSensitivity *s = g_new0 (QsSensitivity, 1);
  const QsEngineModel *model = session->input.model;
  g_autofree double *weight = g_new (double, MAX (layers->len, 1));
  g_autofree double *output = g_new (double, MAX (layers->len, 1));

  s->images = images;
  s->fp32_correct = qs_score_session_fp32_correct (session, 0, images);
  s->all_quant_correct = tally->quant[0].quant_correct;
  s->float_weights_correct = tally->float_weights[0].quant_correct;
  s->fp32_top1 = top1 (s->fp32_correct, images);
  s->all_quant_top1 = top1 (s->all_quant_correct, images);
  s->float_weights_top1 = top1 (s->float_weights_correct, images);
  s->layers = g_array_sized_new (FALSE, TRUE, sizeof (QsLayerSensitivity), layers->len);
  for (guint i = 0; i < layers->len; i++)
    {
      guint w = g_array_index (layers, guint, i);
      const QsTensorInfo *tensor = g_ptr_array_index (tensors, i);
      QsLayerSensitivity l = { 0 };
      QsQuantizedLayerStats stats;
      QsLayerInfo info;

      qs_engine_model_get_layer (model, (gsize) qs_engine_model_weighted_layer_index (model, w), &info);
      qs_quantized_model_get_layer_stats (all_quant, w, &stats);
      l.name = g_strdup (info.name);
      l.tensor = g_strdup (tensor->path);
      l.weight_index = w;
      l.alone_correct = tally->float_weights[1 + i].quant_correct;
      l.kept_float_correct = tally->quant[1 + i].quant_correct;
      l.alone_top1 = top1 (l.alone_correct, images);
      l.kept_float_top1 = top1 (l.kept_float_correct, images);
      l.weight_sqnr_db = weight[i] = stats.weight_sqnr_db;
      l.output_sqnr_db = output[i] = stats.output_sqnr_db;
      g_array_append_val (s->layers, l);
    }
  agreement (s, weight, &s->weight_sqnr);
  agreement (s, output, &s->output_sqnr);
  s->evaluations = 2 + 2 * layers->len;
  return s;
}

/* Progress in images scored times the sets they were scored under. */
typedef struct {
  QsSearchProgressFunc progress;
  gpointer             user_data;
  guint                done;       /* before the engine call running now */
  guint                sets;       /* scored by that call */
  guint                total;
} Progress;

static void
engine_progress_cb (size_t done,
                    size_t total,
                    void  *data)
{
  Progress *p = data;

  if (p->progress != NULL)
    p->progress (p->done + (guint) done * p->sets, p->total, p->user_data);
}

/* What a sensitivity run measures: two quantized models and a branch off
 * each per layer (qs_engine_predict_branches), so each layer costs its
 * own layer and those after it, not the whole model. */
typedef struct {
  QsScoreSession   *session;
  QsQuantizedModel *all_quant;       /* @base as it is */
  QsQuantizedModel *float_weights;   /* every searched layer in float32 */
  QsEngineBranch   *kept;            /* off all_quant: the layer from float_weights */
  QsEngineBranch   *alone;           /* off float_weights: the layer from all_quant */
  guint             n;
  Tally             tally;
  Progress          progress;
} Measure;

static void
measure_clear (Measure *m)
{
  qs_quantized_model_free (m->all_quant);
  qs_quantized_model_free (m->float_weights);
  g_free (m->kept);
  g_free (m->alone);
  g_free (m->tally.quant);
  g_free (m->tally.float_weights);
}

static gboolean
measure_init (Measure           *m,
              QsScoreSession    *session,
              const QsSchemeSet *base,
              const GArray      *layers,
              GPtrArray         *tensors,
              GError           **error)
{
  const QsEngineModel *model = session->input.model;
  g_autoptr(GPtrArray) paths = g_ptr_array_new ();
  g_autoptr(QsSchemeSet) float_set = NULL;

  m->session = session;
  m->n = layers->len;
  for (guint i = 0; i < tensors->len; i++)
    g_ptr_array_add (paths, ((const QsTensorInfo *) g_ptr_array_index (tensors, i))->path);
  g_ptr_array_add (paths, NULL);
  float_set = with_more_skipped (base, (const char * const *) paths->pdata);
  /* The output SQNR is a proxy the report shows: measured once. */
  if ((m->all_quant = qs_score_session_quantize (session, base, TRUE, error)) == NULL
      || (m->float_weights = qs_score_session_quantize (session, float_set, FALSE, error)) == NULL)
    return FALSE;
  m->kept = g_new0 (QsEngineBranch, MAX (m->n, 1));
  m->alone = g_new0 (QsEngineBranch, MAX (m->n, 1));
  m->tally.quant = g_new0 (QsEngineEvalResult, m->n + 1);
  m->tally.float_weights = g_new0 (QsEngineEvalResult, m->n + 1);
  for (guint i = 0; i < m->n; i++)
    {
      gsize layer = (gsize) qs_engine_model_weighted_layer_index (model, g_array_index (layers, guint, i));

      m->kept[i] = (QsEngineBranch) { layer, m->float_weights, m->all_quant };
      m->alone[i] = (QsEngineBranch) { layer, m->all_quant, m->float_weights };
    }
  return TRUE;
}

/* Scores both directions on scored images [offset, offset + n), adding to the tally. */
static gboolean
measure_part (Measure *m,
              gsize    offset,
              gsize    n,
              GError **error)
{
  const struct {
    const QsQuantizedModel *trunk;
    const QsEngineBranch   *branches;
    QsEngineEvalResult     *results;
  } runs[] = {
    { m->all_quant, m->kept, m->tally.quant },
    { m->float_weights, m->alone, m->tally.float_weights },
  };

  for (gsize r = 0; r < G_N_ELEMENTS (runs) && n > 0; r++)
    {
      if (!qs_score_session_evaluate_branches (m->session, runs[r].trunk, runs[r].branches, m->n, offset, n,
                                               engine_progress_cb, &m->progress, runs[r].results, error))
        return FALSE;
      m->progress.done += (guint) n * m->progress.sets;
    }
  return TRUE;
}

QsSensitivity *
qs_sensitivity_proxies (QsScoreSession    *session,
                        const QsSchemeSet *base,
                        GError           **error)
{
  g_autoptr(GArray) layers = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr(GPtrArray) tensors = g_ptr_array_new ();
  QsQuantizedModel *model;
  QsSensitivity *result;
  Tally tally;

  g_return_val_if_fail (session != NULL && base != NULL, NULL);

  qs_search_layers (session, base, layers, tensors);
  /* The output SQNR would run the calibration images again: not yet. */
  if ((model = qs_score_session_quantize (session, base, FALSE, error)) == NULL)
    return NULL;
  tally.quant = g_new0 (QsEngineEvalResult, layers->len + 1);
  tally.float_weights = g_new0 (QsEngineEvalResult, layers->len + 1);
  /* No images scored: every top-1 reads NaN. */
  result = sensitivity_from_tally (session, layers, tensors, model, &tally, 0);
  result->evaluations = 0;
  result->estimate = TRUE;
  qs_quantized_model_free (model);
  g_free (tally.quant);
  g_free (tally.float_weights);
  return result;
}

/* Images per thread of the first part, which measures the speed of a
 * timed estimate: few, since on a large model one image through every
 * branch takes a second (the engine splits so few images per image). */
#define PROBE_IMAGES_PER_THREAD 2

/* How many images the estimate can take to arrive with @seconds left,
 * given that the @probe images took @probe_seconds: whole rounds of the
 * probe's size, so every thread stays busy to the end. */
static gsize
timed_estimate_images (gsize  probe,
                       double probe_seconds,
                       double seconds,
                       gsize  count)
{
  double more;

  if (probe_seconds <= 0 || seconds <= 0)
    return probe;
  more = floor (seconds / probe_seconds) * probe;
  return more >= (double) (count - probe) ? count : probe + (gsize) more;
}

QsSensitivity *
qs_sensitivity_compute (QsScoreSession            *session,
                        const QsSchemeSet         *base,
                        gsize                      estimate_images,
                        double                     estimate_seconds,
                        QsSensitivityEstimateFunc  on_estimate,
                        QsSearchProgressFunc       progress_func,
                        gpointer                   user_data,
                        GError                   **error)
{
  gsize count = session->input.count, done = 0;
  g_autoptr(GArray) layers = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr(GPtrArray) tensors = g_ptr_array_new ();
  QsSensitivity *result = NULL;
  Measure m = { 0 };
  double t0 = now_seconds ();

  g_return_val_if_fail (session != NULL && base != NULL, NULL);

  qs_search_layers (session, base, layers, tensors);
  if (!measure_init (&m, session, base, layers, tensors, error))
    goto out;
  m.progress = (Progress) { progress_func, user_data, 0, m.n + 1, (guint) count * 2 * (m.n + 1) };

  if (estimate_images == 0 && estimate_seconds > 0)
    {
      int threads = session->input.n_threads > 0 ? session->input.n_threads : (int) g_get_num_processors ();
      gsize probe = MIN (count, (gsize) threads * PROBE_IMAGES_PER_THREAD);

      double t_probe = now_seconds ();

      if (!measure_part (&m, 0, probe, error))
        goto out;
      done = probe;
      estimate_images = timed_estimate_images (probe, now_seconds () - t_probe,
                                               estimate_seconds - (now_seconds () - t0), count);
    }
  if (estimate_images > 0 && estimate_images >= done && estimate_images < count)
    {
      g_autoptr(QsSensitivity) estimate = NULL;

      if (!measure_part (&m, done, estimate_images - done, error))
        goto out;
      done = estimate_images;
      estimate = sensitivity_from_tally (session, layers, tensors, m.all_quant, &m.tally, done);
      estimate->estimate = TRUE;
      estimate->seconds = now_seconds () - t0;
      if (on_estimate != NULL)
        on_estimate (estimate, user_data);
    }
  if (!measure_part (&m, done, count - done, error))
    goto out;
  result = sensitivity_from_tally (session, layers, tensors, m.all_quant, &m.tally, count);
  result->seconds = now_seconds () - t0;

out:
  measure_clear (&m);
  return result;
}
