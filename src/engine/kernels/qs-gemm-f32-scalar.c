/* qs-gemm-f32-scalar.c: float32 GEMM with bias and clamp, the reference.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "qs-kernels.h"

#include <string.h>

size_t
qs_gemm_f32_packed_size_scalar (size_t n,
                                size_t k)
{
  return n * k;
}

/* W stays [k][n], the Keras kernel layout. */
void
qs_gemm_f32_pack_scalar (size_t       n,
                         size_t       k,
                         const float *w,
                         float       *packed)
{
  memcpy (packed, w, n * k * sizeof (float));
}

void
qs_gemm_f32_scalar (size_t       m,
                    size_t       n,
                    size_t       k,
                    const float *a,
                    size_t       lda,
                    const float *w,
                    const float *bias,
                    float        lo,
                    float        hi,
                    float       *c,
                    size_t       ldc)
{
  for (size_t i = 0; i < m; i++)
    {
      const float *row = a + i * lda;
      float *out = c + i * ldc;

      for (size_t j = 0; j < n; j++)
        out[j] = bias[j];
      for (size_t q = 0; q < k; q++)
        {
          float x = row[q];
          const float *wr = w + q * n;

          for (size_t j = 0; j < n; j++)
            out[j] += x * wr[j];
        }
      for (size_t j = 0; j < n; j++)
        out[j] = out[j] < lo ? lo : (out[j] > hi ? hi : out[j]);
    }
}
