/* qs-quantize-real-scalar.c: real layer outputs through the activation clamp to uint8 codes, and codes back to real numbers: the references.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "qs-kernels.h"

#include <math.h>

void
qs_quantize_real_u8_scalar (const QsRealQuant *p,
                            const float       *r,
                            size_t             count,
                            uint8_t           *out)
{
  /* Copies: a store through uint8_t * may alias any field, which would
   * make the compiler load them again for every output. */
  const QsRealQuant q = *p;

  for (size_t i = 0; i < count; i++)
    {
      float x = r[i] < q.lo ? q.lo : (r[i] > q.hi ? q.hi : r[i]);
      /* Round half to even (the default rounding mode), as PyTorch's quantizer. */
      float v = rintf (x / q.scale + q.zero_point);

      if (!(v >= (float) q.code_min))
        v = (float) q.code_min;
      if (v > (float) q.code_max)
        v = (float) q.code_max;
      out[i] = (uint8_t) v;
    }
}

void
qs_dequantize_u8_scalar (float          scale,
                         float          zero_point,
                         const uint8_t *codes,
                         size_t         count,
                         float         *x)
{
  for (size_t i = 0; i < count; i++)
    x[i] = ((float) codes[i] - zero_point) * scale;
}
