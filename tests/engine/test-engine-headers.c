/* test-engine-headers.c: the engine's headers compile and link without GLib.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Built with the engine library only (no glib dependency in meson): if a
 * header of src/engine started to need GLib, this file would stop
 * compiling. Prints TAP by hand for the same reason.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "engine/kernels/qs-kernels.h"
#include "engine/qs-engine.h"

#ifdef G_BEGIN_DECLS
#error "an engine header pulled in GLib"
#endif

int
main (void)
{
  /* A 2x2x1 image through a 1x1 convolution doubling it. */
  const float kernel[1] = { 2.0f };
  const float image[4] = { 0.0f, 0.25f, 0.5f, 1.0f };
  QsConvParams p = { 1, 1, 1, 1, QS_PADDING_VALID, 1, QS_ACTIVATION_NONE, INFINITY };
  QsEngineModel *model = qs_engine_model_new (2, 2, 1);
  float out[4] = { 0 };
  size_t size;
  void *scratch;
  int ok;

  ok = model != NULL && qs_engine_model_add_conv2d (model, "c", &p, kernel, NULL) == QS_ENGINE_OK;
  size = ok ? qs_engine_get_buffer_size (model, NULL, 1) : 0;
  scratch = malloc (size ? size : 1);
  ok = ok && qs_engine_forward (model, NULL, image, 1, scratch, size, out) == QS_ENGINE_OK
    && out[3] == 2.0f && out[1] == 0.5f;
  printf ("1..1\n%s 1 /engine-headers/forward-without-glib (kernels %s)\n", ok ? "ok" : "not ok",
          qs_engine_kernel_name ());
  free (scratch);
  qs_engine_model_free (model);
  return ok ? 0 : 1;
}
