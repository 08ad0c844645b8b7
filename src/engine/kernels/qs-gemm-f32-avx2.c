/* qs-gemm-f32-avx2.c: float32 GEMM with bias and clamp on AVX2 + FMA.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Weights packed as blocks of 16 output channels, [n/16][k][16], zero
 * beyond n; the micro-kernel computes 6 rows x 16 channels (12 ymm
 * accumulators), starting from the bias and adding k in order, so it sums
 * in the reference's order (only FMA's single rounding differs); long k
 * goes in ranges whose partial sums wait in the output.
 */
#include "qs-kernels.h"

#include <immintrin.h>

#define NB 16
#define MR 6
#define KC 256  /* k per pass over the rows */

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

/* Rows [i, i + rows) (at most MR) of one block of 16 channels over k in
 * [k0, k1): the sums start from the bias at k0 = 0, else from what the
 * previous k range stored in @c (float32 in, float32 out: the same
 * roundings as one pass), and are clamped only when k1 = k. */
static inline void
micro_kernel (size_t       rows,
              size_t       k0,
              size_t       k1,
              bool         first,
              bool         last,
              const float *a,
              size_t       lda,
              const float *w,
              __m256       b0,
              __m256       b1,
              __m256i      m0,
              __m256i      m1,
              bool         full,
              __m256       vlo,
              __m256       vhi,
              float       *c,
              size_t       ldc)
{
  const float *ar[MR];
  __m256 acc0[MR], acc1[MR];

  for (size_t r = 0; r < MR; r++)
    {
      /* Rows past the end repeat the last one: computed, never stored. */
      size_t row = r < rows ? r : rows - 1;

      ar[r] = a + row * lda;
      if (first)
        {
          acc0[r] = b0;
          acc1[r] = b1;
        }
      else if (full)
        {
          acc0[r] = _mm256_loadu_ps (c + row * ldc);
          acc1[r] = _mm256_loadu_ps (c + row * ldc + 8);
        }
      else
        {
          acc0[r] = _mm256_maskload_ps (c + row * ldc, m0);
          acc1[r] = _mm256_maskload_ps (c + row * ldc + 8, m1);
        }
    }
  for (size_t q = k0; q < k1; q++)
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
      float *o = c + r * ldc;
      __m256 v0 = acc0[r], v1 = acc1[r];

      if (last)
        {
          v0 = _mm256_min_ps (_mm256_max_ps (v0, vlo), vhi);
          v1 = _mm256_min_ps (_mm256_max_ps (v1, vlo), vhi);
        }
      if (full)
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

  /* k in ranges of KC, so that the rows' KC columns stay in L2 while every
   * block of channels passes over them (a 96-row tile of a 3x3x512
   * convolution is 1.7 MB whole). */
  for (size_t k0 = 0; k0 < k; k0 += KC)
    {
      size_t k1 = k - k0 < KC ? k : k0 + KC;
      bool first = k0 == 0, last = k1 == k;

      for (size_t b = 0; b < blocks; b++)
        {
          const float *w = packed + b * k * NB;
          size_t valid = n - b * NB < NB ? n - b * NB : NB;
          __m256i m0 = lane_mask (valid), m1 = lane_mask (valid > 8 ? valid - 8 : 0);
          __m256 b0 = _mm256_maskload_ps (bias + b * NB, m0);
          __m256 b1 = _mm256_maskload_ps (bias + b * NB + 8, m1);
          float *cb = c + b * NB;

          for (size_t i = 0; i < m; i += MR)
            {
              size_t rows = m - i < MR ? m - i : MR;

              if (valid == NB)
                micro_kernel (rows, k0, k1, first, last, a + i * lda, lda, w, b0, b1, m0, m1, true,
                              vlo, vhi, cb + i * ldc, ldc);
              else
                micro_kernel (rows, k0, k1, first, last, a + i * lda, lda, w, b0, b1, m0, m1, false,
                              vlo, vhi, cb + i * ldc, ldc);
            }
        }
    }
}
