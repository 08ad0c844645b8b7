/* engine-fixture.c: the engine's quantized model of a loaded Keras model, as the model tests build it.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib.h>

#include "engine-fixture.h"
#include "quant/qs-scheme.h"

QsQuantizedModel *
engine_fixture_quantize_default (QsEngineModel            *model,
                                 const QsEngineDataset    *calib,
                                 const QsActivationScheme *act,
                                 char                     *message,
                                 size_t                    message_size)
{
  size_t n_weighted = qs_engine_model_get_n_weighted (model);
  g_autofree const QsScheme **schemes = g_new (const QsScheme *, MAX (n_weighted, 1));
  QsScheme scheme;
  QsEngineRunOptions options;
  QsQuantizedModel *quantized = NULL;

  qs_scheme_init_default (&scheme);
  for (size_t i = 0; i < n_weighted; i++)
    schemes[i] = &scheme;
  qs_engine_run_options_init (&options);
  if (qs_engine_prepare_quantized (model, schemes, n_weighted, act, calib, calib->count, &options, &quantized,
                                   message, message_size) != QS_ENGINE_OK)
    return NULL;
  return quantized;
}
