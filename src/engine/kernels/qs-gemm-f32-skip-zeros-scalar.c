/* qs-gemm-f32-skip-zeros-scalar.c: float32 GEMM that skips A's zeros, the reference.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * qs_gemm_f32_scalar without the products of A's zeros: x * w is a zero
 * for x = 0.0 or -0.0 and finite w, and s + 0.0 and s - 0.0 are s unless
 * s is -0.0, which a sum cannot reach from a bias that is not -0.0 (an
 * exact cancellation rounds to +0.0). So on the kernels and biases
 * qs_gemm_f32_skips_zeros_exactly accepts it gives qs_gemm_f32_scalar's
 * bits; NaN is not a zero and stays in the sum.
 */
#include "qs-kernels.h"

#include <math.h>

bool
qs_gemm_f32_skips_zeros_exactly (size_t       n,
                                 const float *bias)
{
  for (size_t j = 0; j < n; j++)
    if (bias[j] == 0.0f && signbit (bias[j]))
      return false;
  return true;
}

void
qs_gemm_f32_skip_zeros_scalar (size_t       m,
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

          if (x == 0.0f)
            continue;
          for (size_t j = 0; j < n; j++)
            out[j] += x * wr[j];
        }
      for (size_t j = 0; j < n; j++)
        out[j] = out[j] < lo ? lo : (out[j] > hi ? hi : out[j]);
    }
}
