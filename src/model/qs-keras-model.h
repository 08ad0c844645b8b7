/* qs-keras-model.h: an engine graph built from a Keras model file's model_config.
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
  QS_KERAS_MODEL_ERROR_UNSUPPORTED,       /* a supported class with unsupported settings, several inputs */
  QS_KERAS_MODEL_ERROR_BAD_CONFIG,        /* model_config that is not the JSON Keras writes */
  QS_KERAS_MODEL_ERROR_WEIGHTS,           /* a weight missing, unreadable or of the wrong shape */
} QsKerasModelError;

GQuark qs_keras_model_error_quark (void);

/* Builds the engine graph of @file's Keras architecture (model_config,
 * parsed with json-glib): Sequential, Functional and Model configs in
 * Keras 2's form (inbound_nodes [[["name", 0, 0, {kwargs}]]]) and Keras
 * 3's ({"args": [keras tensors], "kwargs": {}}), layers in any order
 * (sorted by their dependencies), nested models flattened (their weights
 * under model_weights/<outer layer>/<inner layer>/), one image input
 * (H, W, C) and one output. Classes: InputLayer, Conv2D (dilation,
 * groups), DepthwiseConv2D, SeparableConv2D (two engine layers
 * "<name>/depthwise" and "<name>/pointwise"), Dense, BatchNormalization,
 * Add, Subtract, Multiply, Average, Maximum, Concatenate (channels),
 * ZeroPadding2D, Cropping2D, Max/AveragePooling2D, Global{Average,Max}
 * Pooling2D, Flatten, Reshape, UpSampling2D, Activation, ReLU, LeakyReLU,
 * ELU, Softmax, Rescaling, Normalization, Dropout and the random
 * augmentation layers (identities at inference), and the scalar
 * operations Keras records for x + c, x - c, x * c, x / c (TFOpLambda in
 * tf.keras, Add/Subtract/Multiply/TrueDivide operations in Keras 3).
 * Every weighted engine layer names the tensor it was built from
 * (qs_engine_model_set_weight_tensor).
 *
 * BatchNormalization is folded into the convolution or dense layer
 * before it when that layer has no activation and feeds only the BN (w' =
 * w * gamma / sqrt (var + eps), b' = (b - mean) * gamma / sqrt (var + eps)
 * + beta, in double), as deployment toolchains do, so quantization applies
 * to the folded weights; anywhere else it is an affine layer (scale =
 * gamma / sqrt (var + eps), shift = beta - mean * scale). A ReLU (relu,
 * relu6, ReLU(max_value)) that is the only reader of such a layer becomes
 * its fused activation; other activations are layers of their own ("<layer
 * name>/activation" for a layer's activation setting). A softmax whose
 * only readers lead to the output through layers that keep the argmax is
 * dropped (the engine scores the argmax). Engine layers carry the Keras
 * layer names.
 *
 * Returns (transfer full) the model, or NULL with @error in
 * QS_KERAS_MODEL_ERROR (or QS_ERROR for a failed read): one line naming
 * the layer (a cycle, an input the model does not have, shapes a merge
 * cannot join, a class the engine does not run). The file itself still
 * opens for weight analysis whatever this returns. */
QsEngineModel *qs_keras_model_load (QsWeightFile  *file,
                                    GError       **error);

/* The same with @model_config (JSON text) in place of the file's own: the
 * weights still come from @file. What the model_config fuzz target runs. */
QsEngineModel *qs_keras_model_load_config (QsWeightFile  *file,
                                           const char    *model_config,
                                           GError       **error);

G_END_DECLS
