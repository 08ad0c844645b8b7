/* qs-keras-model.h: an engine layer chain built from a Keras 2 model file.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

#include "engine/qs-engine.h"
#include "model/qs-weight-file.h"

G_BEGIN_DECLS

#define QS_KERAS_MODEL_ERROR (qs_keras_model_error_quark ())

/* Why a weight file has no runnable model. The file still opens for
 * weight analysis; only accuracy is unavailable, for the reason given. */
typedef enum {
  QS_KERAS_MODEL_ERROR_NO_ARCHITECTURE,   /* no model_config (weights only) */
  QS_KERAS_MODEL_ERROR_UNSUPPORTED_LAYER, /* a layer class the engine does not run (named) */
  QS_KERAS_MODEL_ERROR_UNSUPPORTED,       /* a supported class with unsupported settings, a branching graph */
  QS_KERAS_MODEL_ERROR_BAD_CONFIG,        /* model_config that is not the JSON Keras writes */
  QS_KERAS_MODEL_ERROR_WEIGHTS,           /* a weight missing, unreadable or of the wrong shape */
} QsKerasModelError;

GQuark qs_keras_model_error_quark (void);

/* Builds the engine model of @file's Keras architecture (model_config,
 * parsed with json-glib): Sequential models and functional models that
 * form a single chain, of InputLayer, Conv2D, DepthwiseConv2D, Dense,
 * MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, Flatten,
 * Dropout (the identity at inference), BatchNormalization, Activation and
 * ReLU (linear, relu, relu6, softmax; softmax only last, where argmax
 * makes it a no-op), channels_last, dilation 1.
 *
 * BatchNormalization is folded into the convolution or dense layer before
 * it at load time (w' = w * gamma / sqrt (var + eps), b' = (b - mean) *
 * gamma / sqrt (var + eps) + beta, in double), as deployment toolchains
 * do, so quantization applies to the folded weights; a BatchNormalization
 * after anything else is unsupported. A ReLU right after such a layer
 * becomes its fused activation. Engine layers carry the Keras layer names.
 *
 * Returns (transfer full) the model, or NULL with @error in
 * QS_KERAS_MODEL_ERROR (or QS_ERROR for a failed read). */
QsEngineModel *qs_keras_model_load (QsWeightFile  *file,
                                    GError       **error);

/* The same with @model_config (JSON text) in place of the file's own: the
 * weights still come from @file. What the model_config fuzz target runs. */
QsEngineModel *qs_keras_model_load_config (QsWeightFile  *file,
                                           const char    *model_config,
                                           GError       **error);

G_END_DECLS
