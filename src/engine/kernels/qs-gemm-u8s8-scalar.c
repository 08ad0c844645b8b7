/* qs-gemm-u8s8-scalar.c: uint8 x int8 GEMM with int32 sums, the reference.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "qs-kernels.h"

#include <string.h>

size_t
qs_gemm_u8s8_packed_size_scalar (size_t n,
                                 size_t kp)
{
  return n * kp;
}

/* The reference keeps W as it is, [n][kp], padded with zero weights. */
void
qs_gemm_u8s8_pack_scalar (size_t        n,
                          size_t        k,
                          size_t        kp,
                          const int8_t *w,
                          void         *packed)
{
  int8_t *p = packed;

  for (size_t j = 0; j < n; j++)
    {
      memcpy (p + j * kp, w + j * k, k);
      memset (p + j * kp + k, 0, kp - k);
    }
}

void
qs_gemm_u8s8_scalar (size_t         m,
                     size_t         n,
                     size_t         kp,
                     const uint8_t *a,
                     size_t         lda,
                     const void    *packed,
                     int32_t       *c,
                     size_t         ldc)
{
  const int8_t *w = packed;

  for (size_t i = 0; i < m; i++)
    {
      const uint8_t *row = a + i * lda;

      for (size_t j = 0; j < n; j++)
        {
          const int8_t *col = w + j * kp;
          int32_t sum = 0;

          for (size_t k = 0; k < kp; k++)
            sum += (int32_t) row[k] * (int32_t) col[k];
          c[i * ldc + j] = sum;
        }
    }
}

void
qs_gemm_requant_indirect_u8s8_scalar (size_t                 m,
                                      size_t                 n,
                                      size_t                 kp,
                                      size_t                 segs,
                                      size_t                 seg_len,
                                      const uint8_t *const  *rows,
                                      const void            *packed,
                                      const QsRequantParams *params,
                                      uint8_t               *out,
                                      size_t                 ldout)
{
  const int8_t *w = packed;

  for (size_t i = 0; i < m; i++)
    for (size_t j = 0; j < n; j++)
      {
        int32_t sum = 0;

        for (size_t s = 0; s < segs; s++)
          {
            const uint8_t *seg = rows[i * segs + s];
            const int8_t *col = w + j * kp + s * seg_len;

            for (size_t k = 0; k < seg_len; k++)
              sum += (int32_t) seg[k] * (int32_t) col[k];
          }
        out[i * ldout + j] = qs_requantize_one (sum, 0, j, params);
      }
}
