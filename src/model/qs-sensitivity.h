/* qs-sensitivity.h: which layer hurts: each layer quantized alone and kept in float, scored by the engine.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A score session calibrates the model once and predicts the float32
 * classes once; every scheme set after that costs one weight
 * quantization and one integer pass over the scored images. The
 * sensitivity analysis and the mixed-precision search
 * (qs-mixed-precision.h) build scheme sets and score them through it, so
 * each number they print is what `eval --scheme-file` prints for the
 * same set: the same resolver, calibration and images.
 */
#pragma once

#include <stdatomic.h>

#include <glib.h>

#include "engine/qs-engine.h"
#include "model/qs-scheme-set.h"
#include "model/qs-weight-file.h"

G_BEGIN_DECLS

/* What a session scores on; everything borrowed, to outlive the session. */
typedef struct {
  QsWeightFile          *file;
  const QsEngineModel   *model;
  const QsEngineDataset *calibration;       /* the calibration images, from its first */
  gsize                  calibration_count;
  const QsEngineDataset *data;              /* labeled */
  gsize                  first;             /* scored images [first, first + count) */
  gsize                  count;
  /* Range method, percentile and float logits; zero nudging comes from
   * the scheme set, as qs_scheme_set_activations says. */
  QsActivationScheme     activations;
  int                    n_threads;         /* 0: all cores */
  const atomic_int      *cancel;            /* raised: the running call fails with G_IO_ERROR_CANCELLED */
} QsScoreInput;

/* Where a session's time went, in seconds. */
typedef struct {
  double calibrate;
  double fp32;
  double quantize;
  double evaluate;
} QsScoreTimes;

typedef struct _QsScoreSession QsScoreSession;

/* Calibrates @input's model under @base's activations (transfer full).
 * The float32 classes of the scored images are predicted as scoring
 * reaches them, so an estimate on the first images does not wait for
 * all. Every set scored later must share @base's activations (its
 * default scheme's nudging).
 * Errors: QS_ERROR_FAILED naming the engine's complaint, G_IO_ERROR_CANCELLED. */
QsScoreSession *qs_score_session_new     (const QsScoreInput *input,
                                          const QsSchemeSet  *base,
                                          GError            **error);
void            qs_score_session_free    (QsScoreSession     *session);

const QsScoreInput *qs_score_session_get_input (const QsScoreSession *session);
/* Predicts the float32 classes of scored images [0, @end) not predicted
 * yet. Errors as qs_score_session_new's. */
gboolean        qs_score_session_predict_fp32 (QsScoreSession *session,
                                               gsize           end,
                                               GError        **error);
/* Float32 correct predictions among scored images [offset, offset + n),
 * predicted already (qs_score_session_predict_fp32, or a scoring call). */
gsize           qs_score_session_fp32_correct (const QsScoreSession *session,
                                               gsize                 offset,
                                               gsize                 n);
/* Quantizes the model as @set resolves its layers and scores images
 * [offset, offset + n) of the scored range (fp32 from the session's
 * predictions). @quantized (nullable) receives the quantized model, whose
 * output SQNR is computed only when @with_output_sqnr. */
gboolean        qs_score_session_evaluate (QsScoreSession     *session,
                                           const QsSchemeSet  *set,
                                           gsize               offset,
                                           gsize               n,
                                           gboolean            with_output_sqnr,
                                           QsQuantizedModel  **quantized,
                                           QsEngineEvalResult *result,
                                           GError            **error);
/* The model quantized as @set resolves its layers (transfer full), or
 * NULL; QS_ERROR_INVALID when @set quantizes activations unlike the
 * session's calibration. */
QsQuantizedModel *qs_score_session_quantize (QsScoreSession    *session,
                                             const QsSchemeSet *set,
                                             gboolean           with_output_sqnr,
                                             GError           **error);
/* Scores @trunk and each branch off it (qs_engine_predict_branches) on
 * images [offset, offset + n) of the scored range, adding each run's
 * counts to @results (1 + @n_branches: the trunk's, then each branch's).
 * Every model must come from qs_score_session_quantize of this session.
 * @progress (nullable) receives the images done within this call. */
gboolean        qs_score_session_evaluate_branches (QsScoreSession         *session,
                                                    const QsQuantizedModel *trunk,
                                                    const QsEngineBranch   *branches,
                                                    gsize                   n_branches,
                                                    gsize                   offset,
                                                    gsize                   n,
                                                    QsEngineProgressFunc    progress,
                                                    gpointer                progress_data,
                                                    QsEngineEvalResult     *results,
                                                    GError                **error);
/* Scheme sets quantized and scored so far (each part of a progressive run
 * counts; a branch counts as a set). */
guint           qs_score_session_get_evaluations (const QsScoreSession *session);
const QsScoreTimes *qs_score_session_get_times   (const QsScoreSession *session);

/* ---- rank agreement ---------------------------------------------------- */

/* Spearman's rho (Pearson's correlation of the ranks, ties at their mean
 * rank) and Kendall's tau-b of @x against @y, over the pairs where both
 * are not NaN (infinities rank beyond every finite value). NaN with fewer
 * than two such pairs or when either side is constant. */
double qs_rank_spearman (const double *x,
                         const double *y,
                         gsize         n);
double qs_rank_kendall  (const double *x,
                         const double *y,
                         gsize         n);

/* ---- sensitivity -------------------------------------------------------- */

/* The weighted layers a search may change: those whose weight tensor is
 * in the file and that @base quantizes. Fills @layers with weighted-layer
 * indices and @tensors with their tensors (borrowed from the file). */
void qs_search_layers (const QsScoreSession *session,
                       const QsSchemeSet    *base,
                       GArray               *layers,
                       GPtrArray            *tensors);

typedef struct {
  char   *name;                 /* the engine layer */
  char   *tensor;               /* its weight tensor's path */
  gsize   weight_index;
  gsize   alone_correct;        /* this layer quantized, the others in float32 */
  gsize   kept_float_correct;   /* every layer quantized but this one */
  double  alone_top1;           /* fractions of the images */
  double  kept_float_top1;
  double  weight_sqnr_db;       /* with every layer quantized; +inf when exact */
  double  output_sqnr_db;       /* NaN when unmeasurable */
} QsLayerSensitivity;

/* One proxy's agreement with the measured ranking: Spearman and Kendall
 * of the proxy's sensitivity (minus its SQNR) against the accuracy lost
 * when the layer alone is quantized and the accuracy regained when it
 * alone is kept in float. 1: the proxy ranks layers as measured. */
typedef struct {
  double spearman_alone;
  double kendall_alone;
  double spearman_kept_float;
  double kendall_kept_float;
} QsProxyAgreement;

typedef struct {
  gsize               images;
  gsize               fp32_correct;
  gsize               all_quant_correct;
  gsize               float_weights_correct;  /* every searched layer's weights in float32,
                                               * activations quantized: the trunk of "alone" */
  double              fp32_top1;
  double              all_quant_top1;
  double              float_weights_top1;
  GArray             *layers;       /* of QsLayerSensitivity, in model order */
  QsProxyAgreement    weight_sqnr;
  QsProxyAgreement    output_sqnr;
  guint               evaluations;  /* scheme sets scored over all images: all quantized,
                                     * float weights, and each layer both ways */
  gboolean            estimate;     /* on the first images only */
  double              seconds;      /* since the computation started */
} QsSensitivity;

/* The sets that measure layer @tensor (a path): @base with every other
 * of @tensors (paths) kept in float32 (alone), or with it kept (kept float).
 * (transfer full) */
QsSchemeSet *qs_sensitivity_alone_set      (const QsSchemeSet  *base,
                                            GPtrArray          *tensors,
                                            guint               index);
QsSchemeSet *qs_sensitivity_kept_float_set (const QsSchemeSet  *base,
                                            const char         *tensor);

/* The cheapest proxy alone, before any image runs: each layer's weight
 * SQNR under @base (output SQNR NaN: it would run the calibration images
 * again), top-1 figures NaN, no evaluations, one weight quantization. A
 * first ranking while the measurement runs. (transfer full) */
QsSensitivity *qs_sensitivity_proxies (QsScoreSession    *session,
                                       const QsSchemeSet *base,
                                       GError           **error);

/* Called with the estimate on the first images, and as scoring goes with
 * (work done, work in all), in images times the sets they are scored
 * under. */
typedef void (*QsSensitivityEstimateFunc) (const QsSensitivity *estimate,
                                           gpointer             user_data);
typedef void (*QsSearchProgressFunc)      (guint                done,
                                           guint                total,
                                           gpointer             user_data);

/* Scores every layer of qs_search_layers both ways under @base. With
 * @estimate_images between 0 and the scored count, first on that many
 * images (@on_estimate receives the result), then on the rest, adding the
 * counts, so the final numbers equal one pass over all images. With
 * @estimate_images 0 and @estimate_seconds positive, the estimate takes
 * as many images as fit in that time: the first few images measure the
 * speed (none is scored twice), and a run that fits whole gives no
 * estimate. Each layer runs as a branch (qs_engine_predict_branches):
 * "kept float" off the all-quantized run, "alone" off the run with every
 * searched layer's weights in float32. (transfer full) */
QsSensitivity *qs_sensitivity_compute (QsScoreSession            *session,
                                       const QsSchemeSet         *base,
                                       gsize                      estimate_images,
                                       double                     estimate_seconds,
                                       QsSensitivityEstimateFunc  on_estimate,
                                       QsSearchProgressFunc       progress,
                                       gpointer                   user_data,
                                       GError                   **error);
void           qs_sensitivity_free    (QsSensitivity             *sensitivity);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QsScoreSession, qs_score_session_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QsSensitivity, qs_sensitivity_free)

G_END_DECLS
