/* qs-cli-eval.h: what `eval` and `compare` share: a model with its scored and calibration images, run under scheme sets.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

#include "engine/qs-engine.h"
#include "model/qs-agreement.h"
#include "model/qs-dataset.h"
#include "model/qs-scheme-set.h"
#include "model/qs-weight-file.h"

G_BEGIN_DECLS

/* The data options of `eval` (and `compare`). */
typedef struct {
  char     *data_path;
  char     *calib_path;
  char     *act_range;
  char     *budget_text;
  char     *preprocess_text;
  int       limit;
  int       calib;
  gboolean  float_logits;
} QsCliEvalOptions;

GOptionGroup *qs_cli_eval_option_group   (QsCliEvalOptions *options);
void          qs_cli_eval_options_clear  (QsCliEvalOptions *options);

/* A model opened for evaluation: the float32 model, the scored slice and
 * the calibration slice, the worker threads the memory budget holds. */
typedef struct {
  QsWeightFile      *file;
  QsEngineModel     *model;
  QsDataset         *data;
  QsDataset         *calib;
  const char        *calib_source;
  gsize              calib_first;
  gsize              calib_count;
  gsize              first;
  gsize              count;
  gboolean           overlap;       /* calibration images are also scored */
  QsActivationScheme act_options;   /* range method and float logits; nudging comes from the set */
  int                threads;
  guint64            budget;        /* --memory-budget, or the default */
  gboolean           labeled;       /* else agreement with float32 stands in for accuracy */
  const char        *preprocess;    /* how an image folder became inputs, or NULL */
} QsCliEval;

/* One scheme set's evaluation. */
typedef struct {
  QsScheme          *schemes;       /* one per weighted layer */
  const QsScheme   **scheme_ptrs;   /* NULL entries: kept float32 by the set */
  QsQuantizedModel  *quantized;
  QsEngineEvalResult result;
  double             calib_seconds;     /* the float32 pass that measures activation ranges */
  double             quantize_seconds;  /* the weights, and each layer's output SQNR */
  gboolean           labeled;       /* as the eval's data */
  QsAgreement        agreement;     /* unlabeled data: against float32 */
} QsCliEvalRun;

/* Opens @model_path for evaluation with @options on up to @threads
 * threads (0: all cores). 0, or the bad-input exit status after printing
 * the one-line error. */
int  qs_cli_eval_open      (QsCliEval              *eval,
                            const char             *model_path,
                            const QsCliEvalOptions *options,
                            int                     threads);
void qs_cli_eval_clear     (QsCliEval              *eval);

/* Quantizes the model as @schemes resolves its layers, calibrates and
 * scores it. 0, or the exit status after printing the error. */
int  qs_cli_eval_run       (QsCliEval              *eval,
                            const char             *model_path,
                            const QsSchemeSet      *schemes,
                            QsCliEvalRun           *run);
void qs_cli_eval_run_clear (QsCliEvalRun           *run);

/* Top-1 as a fraction in [0, 1], as the JSON writes it (NaN without
 * images or labels). */
double qs_cli_eval_fp32_top1  (const QsCliEvalRun *run);
double qs_cli_eval_quant_top1 (const QsCliEvalRun *run);

G_END_DECLS
