/* qs-gemm-u8s8-avx2.c: uint8 x int8 GEMM on AVX2, exact: int16 operands and vpmaddwd.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * vpmaddubsw would multiply u8 by s8 directly but adds pairs into int16
 * with saturation (255 * 127 * 2 > 32767), so it is not exact. Instead both
 * operands are widened to int16 and vpmaddwd adds pairs of 16x16-bit
 * products into int32 exactly. Weights are packed as blocks of 8 output
 * channels, each k-pair of a channel adjacent: [n/8][kp/2][8][2] int16, so
 * one 32-byte load feeds 8 channels. A row's k-pair is broadcast to all
 * lanes. The micro-kernel computes 4 rows x 16 channels.
 */
#include "qs-kernels.h"

#include <immintrin.h>
#include <string.h>

#define NB 8   /* channels per packed block */
#define MR 4   /* rows per micro-kernel call */

size_t
qs_gemm_u8s8_packed_size_avx2 (size_t n,
                               size_t kp)
{
  return qs_gemm_blocked_size (n, kp, NB, sizeof (int16_t));
}

void
qs_gemm_u8s8_pack_avx2 (size_t        n,
                        size_t        k,
                        size_t        kp,
                        const int8_t *w,
                        void         *packed)
{
  /* k-pairs widened to int16: one vpmaddwd operand. */
  qs_gemm_pack_blocked (n, k, kp, w, NB, 2, true, packed);
}

static inline __m256i
store_mask (size_t valid)
{
  static const int32_t lanes[16] = { -1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0 };

  return _mm256_loadu_si256 ((const __m256i *) (lanes + 8 - valid));
}

static inline void
store_block (int32_t *c,
             __m256i  v,
             size_t   valid)
{
  if (valid >= NB)
    _mm256_storeu_si256 ((__m256i *) c, v);
  else
    _mm256_maskstore_epi32 (c, store_mask (valid), v);
}

/* Rows [0, rows) (rows <= MR) times blocks b0 and b0 + 1 (when two). */
static inline void
micro_kernel (size_t         rows,
              size_t         kp,
              const uint8_t *a,
              size_t         lda,
              const int16_t *w0,
              const int16_t *w1,
              size_t         valid0,
              size_t         valid1,
              int32_t       *c,
              size_t         ldc)
{
  const uint8_t *ar[MR];
  __m256i acc0[MR], acc1[MR];

  /* Rows past the end repeat the last one: computed, never stored. */
  for (size_t r = 0; r < MR; r++)
    {
      ar[r] = a + (r < rows ? r : rows - 1) * lda;
      acc0[r] = _mm256_setzero_si256 ();
      acc1[r] = _mm256_setzero_si256 ();
    }

  for (size_t k = 0; k < kp; k += 8)
    {
      __m256i wa[4], wb[4];

      for (int j = 0; j < 4; j++)
        {
          wa[j] = _mm256_loadu_si256 ((const __m256i *) (w0 + (k / 2 + j) * 2 * NB));
          wb[j] = w1 != NULL ? _mm256_loadu_si256 ((const __m256i *) (w1 + (k / 2 + j) * 2 * NB))
                             : _mm256_setzero_si256 ();
        }
      for (size_t r = 0; r < MR; r++)
        {
          __m128i a8 = _mm_loadl_epi64 ((const __m128i *) (ar[r] + k));
          __m256i a16 = _mm256_broadcastsi128_si256 (_mm_cvtepu8_epi16 (a8));
          __m256i p0 = _mm256_shuffle_epi32 (a16, 0x00);
          __m256i p1 = _mm256_shuffle_epi32 (a16, 0x55);
          __m256i p2 = _mm256_shuffle_epi32 (a16, 0xAA);
          __m256i p3 = _mm256_shuffle_epi32 (a16, 0xFF);

          acc0[r] = _mm256_add_epi32 (acc0[r], _mm256_madd_epi16 (p0, wa[0]));
          acc0[r] = _mm256_add_epi32 (acc0[r], _mm256_madd_epi16 (p1, wa[1]));
          acc0[r] = _mm256_add_epi32 (acc0[r], _mm256_madd_epi16 (p2, wa[2]));
          acc0[r] = _mm256_add_epi32 (acc0[r], _mm256_madd_epi16 (p3, wa[3]));
          if (w1 != NULL)
            {
              acc1[r] = _mm256_add_epi32 (acc1[r], _mm256_madd_epi16 (p0, wb[0]));
              acc1[r] = _mm256_add_epi32 (acc1[r], _mm256_madd_epi16 (p1, wb[1]));
              acc1[r] = _mm256_add_epi32 (acc1[r], _mm256_madd_epi16 (p2, wb[2]));
              acc1[r] = _mm256_add_epi32 (acc1[r], _mm256_madd_epi16 (p3, wb[3]));
            }
        }
    }

  for (size_t r = 0; r < rows; r++)
    {
      store_block (c + r * ldc, acc0[r], valid0);
      if (w1 != NULL)
        store_block (c + r * ldc + NB, acc1[r], valid1);
    }
}

void
qs_gemm_u8s8_avx2 (size_t         m,
                   size_t         n,
                   size_t         kp,
                   const uint8_t *a,
                   size_t         lda,
                   const void    *packed,
                   int32_t       *c,
                   size_t         ldc)
{
  const int16_t *w = packed;
  size_t blocks = (n + NB - 1) / NB;
  size_t block_stride = kp * NB;   /* int16 elements per packed block */

  if (m == 0)
    return;
  for (size_t b = 0; b < blocks; b += 2)
    {
      const int16_t *w0 = w + b * block_stride;
      const int16_t *w1 = b + 1 < blocks ? w + (b + 1) * block_stride : NULL;
      size_t valid0 = n - b * NB < NB ? n - b * NB : NB;
      size_t valid1 = w1 != NULL ? (n - (b + 1) * NB < NB ? n - (b + 1) * NB : NB) : 0;

      for (size_t i = 0; i < m; i += MR)
        micro_kernel (m - i < MR ? m - i : MR, kp, a + i * lda, lda, w0, w1, valid0, valid1,
                      c + i * ldc + b * NB, ldc);
    }
}
