/* qs-gemm-u8s16-scalar.c: uint8 x int16 GEMM with int64 sums, for 9..16-bit weights.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * 255 * 32767 products overflow int32 after 257 terms, so these sums are
 * 64-bit; the weights stay [n][k] (no packing; qs-gemm-u8s16-avx2.c is the
 * vector twin).
 */
#include "qs-kernels.h"

void
qs_gemm_u8s16_scalar (size_t         m,
                      size_t         n,
                      size_t         k,
                      const uint8_t *a,
                      size_t         lda,
                      const int16_t *w,
                      int64_t       *c,
                      size_t         ldc)
{
  for (size_t i = 0; i < m; i++)
    {
      const uint8_t *row = a + i * lda;

      for (size_t j = 0; j < n; j++)
        {
          const int16_t *col = w + j * k;
          int64_t sum = 0;

          for (size_t q = 0; q < k; q++)
            sum += (int32_t) row[q] * (int32_t) col[q];
          c[i * ldc + j] = sum;
        }
    }
}
