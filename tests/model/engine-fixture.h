/* engine-fixture.h: the engine's quantized model of a loaded Keras model, as the model tests build it.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stddef.h>

#include "engine/qs-engine.h"

/* @model quantized under the default weight scheme in every weighted
 * layer and @act, calibrated on every image of @calib; NULL when the
 * engine refuses, with its reason in @message. */
QsQuantizedModel *engine_fixture_quantize_default (QsEngineModel            *model,
                                                   const QsEngineDataset    *calib,
                                                   const QsActivationScheme *act,
                                                   char                     *message,
                                                   size_t                    message_size);
