/* qs-gemm-f32-avx2.c: float32 GEMM with bias and clamp on AVX2 + FMA.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Weights packed as blocks of 16 output channels, [n/16][k][16], zero
 * beyond n; the micro-kernel computes 6 rows x 16 channels (12 ymm
 * accumulators), starting from the bias and adding k in order, so it sums
 * in the reference's order (only FMA's single rounding differs).
 */
#include "qs-kernels.h"

#include <immintrin.h>

#define NB 16
#define MR 6

size_t
qs_gemm_f32_packed_size_avx2 (size_t n,
                              size_t k)
{
  return (n + NB - 1) / NB * NB * k;
}

void
qs_gemm_f32_pack_avx2 (size_t       n,
                       size_t       k,
                       const float *w,
                       float       *packed)
{
  size_t blocks = (n + NB - 1) / NB;

  for (size_t b = 0; b < blocks; b++)
    for (size_t q = 0; q < k; q++)
      for (size_t j = 0; j < NB; j++)
        {
          size_t c = b * NB + j;

          *packed++ = c < n ? w[q * n + c] : 0.0f;
        }
}

static inline __m256i
lane_mask (size_t valid)
{
  static const int32_t lanes[16] = { -1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0 };

  return _mm256_loadu_si256 ((const __m256i *) (lanes + 8 - (valid > 8 ? 8 : valid)));
}

void
qs_gemm_f32_avx2 (size_t       m,
                  size_t       n,
                  size_t       k,
                  const float *a,
                  size_t       lda,
                  const float *packed,
                  const float *bias,
                  float        lo,
                  float        hi,
                  float       *c,
                  size_t       ldc)
{
  size_t blocks = (n + NB - 1) / NB;
  __m256 vlo = _mm256_set1_ps (lo), vhi = _mm256_set1_ps (hi);

  for (size_t b = 0; b < blocks; b++)
    {
      const float *w = packed + b * k * NB;
      size_t valid = n - b * NB < NB ? n - b * NB : NB;
      __m256i m0 = lane_mask (valid), m1 = lane_mask (valid > 8 ? valid - 8 : 0);
      __m256 b0 = _mm256_maskload_ps (bias + b * NB, m0);
      __m256 b1 = _mm256_maskload_ps (bias + b * NB + 8, m1);

      for (size_t i = 0; i < m; i += MR)
        {
          size_t rows = m - i < MR ? m - i : MR;
          const float *ar[MR];
          __m256 acc0[MR], acc1[MR];

          for (size_t r = 0; r < MR; r++)
            {
              ar[r] = a + (i + (r < rows ? r : rows - 1)) * lda;
              acc0[r] = b0;
              acc1[r] = b1;
            }
          for (size_t q = 0; q < k; q++)
            {
              __m256 w0 = _mm256_loadu_ps (w + q * NB);
              __m256 w1 = _mm256_loadu_ps (w + q * NB + 8);

              for (size_t r = 0; r < MR; r++)
                {
                  __m256 x = _mm256_broadcast_ss (ar[r] + q);

                  acc0[r] = _mm256_fmadd_ps (x, w0, acc0[r]);
                  acc1[r] = _mm256_fmadd_ps (x, w1, acc1[r]);
                }
            }
          for (size_t r = 0; r < rows; r++)
            {
              float *o = c + (i + r) * ldc + b * NB;
              /* The sum second: max/min pass NaN through as the scalar clamp does. */
              __m256 v0 = _mm256_min_ps (vhi, _mm256_max_ps (vlo, acc0[r]));
              __m256 v1 = _mm256_min_ps (vhi, _mm256_max_ps (vlo, acc1[r]));

              if (valid == NB)
                {
                  _mm256_storeu_ps (o, v0);
                  _mm256_storeu_ps (o + 8, v1);
                }
              else
                {
                  _mm256_maskstore_ps (o, m0, v0);
                  _mm256_maskstore_ps (o + 8, m1, v1);
                }
            }
        }
    }
}
