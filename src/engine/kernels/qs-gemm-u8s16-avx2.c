/* qs-gemm-u8s16-avx2.c: uint8 x int16 GEMM with int64 sums, for 9..16-bit weights, with AVX2.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Activations are widened to int16 (exact: 0..255) and vpmaddwd adds each
 * pair of int16 products into an int32 lane: at most 2 * 255 * 32768 =
 * 16,711,680 a lane a step, so 64 steps (1.07e9) fit in int32 before the
 * lanes are added into the int64 sums. Integer sums are exact in any
 * order, so the result is the scalar reference's, bit for bit. Four
 * output channels share each widened slice of the row; the weights stay
 * [n][k] as the reference reads them.
 */
#include "qs-kernels.h"

#include <immintrin.h>

#define STEP 16        /* k per vpmaddwd */
#define FLUSH_STEPS 64 /* steps an int32 lane holds without overflow */
#define CHANNELS 4

static inline __m256i
widen_add (__m256i sum64,
           __m256i sum32)
{
  sum64 = _mm256_add_epi64 (sum64, _mm256_cvtepi32_epi64 (_mm256_castsi256_si128 (sum32)));
  return _mm256_add_epi64 (sum64, _mm256_cvtepi32_epi64 (_mm256_extracti128_si256 (sum32, 1)));
}

static inline int64_t
horizontal_sum (__m256i sum64)
{
  int64_t lanes[4];

  _mm256_storeu_si256 ((__m256i *) lanes, sum64);
  return lanes[0] + lanes[1] + lanes[2] + lanes[3];
}

/* Sums of @row with @count channels of @w starting at @w0 (count <= 4). */
static inline void
dot_channels (const uint8_t *row,
              const int16_t *w0,
              size_t         k,
              size_t         count,
              int64_t       *out)
{
  __m256i sum32[CHANNELS], sum64[CHANNELS];
  size_t k_vec = k / STEP * STEP;
  int steps = 0;

  for (size_t t = 0; t < CHANNELS; t++)
    {
      sum32[t] = _mm256_setzero_si256 ();
      sum64[t] = _mm256_setzero_si256 ();
    }

  for (size_t q = 0; q < k_vec; q += STEP)
    {
      __m256i x = _mm256_cvtepu8_epi16 (_mm_loadu_si128 ((const __m128i *) (row + q)));

      for (size_t t = 0; t < count; t++)
        sum32[t] = _mm256_add_epi32 (sum32[t],
                                     _mm256_madd_epi16 (x, _mm256_loadu_si256 ((const __m256i *) (w0 + t * k + q))));
      if (++steps == FLUSH_STEPS)
        {
          for (size_t t = 0; t < count; t++)
            {
              sum64[t] = widen_add (sum64[t], sum32[t]);
              sum32[t] = _mm256_setzero_si256 ();
            }
          steps = 0;
        }
    }

  for (size_t t = 0; t < count; t++)
    {
      const int16_t *col = w0 + t * k;
      int64_t sum = horizontal_sum (widen_add (sum64[t], sum32[t]));

      for (size_t q = k_vec; q < k; q++)
        sum += (int32_t) row[q] * (int32_t) col[q];
      out[t] = sum;
    }
}

void
qs_gemm_u8s16_avx2 (size_t         m,
                    size_t         n,
                    size_t         k,
                    const uint8_t *a,
                    size_t         lda,
                    const int16_t *w,
                    int64_t       *c,
                    size_t         ldc)
{
  for (size_t i = 0; i < m; i++)
    for (size_t j = 0; j < n; j += CHANNELS)
      dot_channels (a + i * lda, w + j * k, k, n - j < CHANNELS ? n - j : CHANNELS, c + i * ldc + j);
}
