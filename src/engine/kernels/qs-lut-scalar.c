/* qs-lut-scalar.c: activations as 256-entry tables of uint8 codes, and the reference lookup.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A table is the float definition sampled at the 256 input codes and
 * quantized to the output's parameters once per layer, so an activation
 * costs one byte lookup per element whatever its formula (TFLite builds
 * its int8 Logistic, Tanh, Elu and HardSwish tables the same way).
 */
#include "qs-graph-kernels.h"

#include <assert.h>
#include <math.h>

void
qs_lut_build (const QsActivationSpec *spec,
              float                   in_scale,
              int32_t                 in_zero,
              float                   out_scale,
              int32_t                 out_zero,
              uint8_t                 table[256])
{
  assert (spec != NULL && table != NULL);
  assert (in_scale > 0.0f && out_scale > 0.0f);

  for (int q = 0; q < 256; q++)
    {
      /* The input is dequantized in float32, as the engine's float path
       * sees it; the quotient is taken in double so its rounding is the
       * only one between the float value and the code. */
      float x = (float) (q - in_zero) * in_scale;
      double y = (double) qs_activation_spec_apply (spec, x) / (double) out_scale;
      double code;

      /* Only an input scale near FLT_MAX makes x infinite and, say,
       * swish's inf * 0 a NaN: the zero point is as good as any code. */
      if (isnan (y))
        y = 0.0;
      code = round (y) + (double) out_zero;
      table[q] = (uint8_t) (code < 0.0 ? 0.0 : code > 255.0 ? 255.0 : code);
    }
}

void
qs_lut_u8_scalar (const uint8_t  table[256],
                  const uint8_t *in,
                  uint8_t       *out,
                  size_t         n)
{
  for (size_t i = 0; i < n; i++)
    out[i] = table[in[i]];
}
