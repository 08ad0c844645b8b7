/* qs-fuzz-config.c: the libFuzzer target of the Keras graph loader; every input is a model_config (Keras 2 or 3).
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Each input is loaded with qs_keras_model_load_config() against the
 * weights of the bundled demo model (data/models/fashion-cnn.h5, opened
 * once), the loader the CLI's eval and the app's accuracy job use: the
 * bounded JSON parse (qs-json.c), the typed member reads, the Sequential
 * and functional chain walks, the layer checks, batch-norm folding and
 * the engine's model building. tests/fuzz/test-fuzz-targets.c runs the
 * committed findings through this same function.
 */
#include <stddef.h>
#include <stdint.h>

#include <glib.h>

#include "config.h"
#include "engine/qs-engine.h"
#include "model/qs-keras-model.h"
#include "model/qs-weight-file.h"

int LLVMFuzzerInitialize    (int            *argc,
                             char         ***argv);
int LLVMFuzzerTestOneInput  (const uint8_t  *data,
                             size_t          size);

static QsWeightFile *weights;

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  g_autoptr(GError) error = NULL;

  /* The loader reports bad input as a GError: a warning or a critical
   * (json-glib's getters on a node of another type) is a finding. */
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  weights = qs_weight_file_open (SOURCE_DATADIR "/models/fashion-cnn.h5", &error);
  if (weights == NULL)
    g_error ("%s", error->message);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autofree char *text = g_strndup ((const char *) data, size);
  g_autoptr(GError) error = NULL;
  QsEngineModel *model;

  model = qs_keras_model_load_config (weights, text, &error);
  if (model != NULL)
    qs_engine_model_free (model);
  else
    /* Messages may quote layer names with control characters in them:
     * escaping them is the printer's job, not checked here. */
    g_assert (error != NULL && error->message[0] != '\0');
  return 0;
}
