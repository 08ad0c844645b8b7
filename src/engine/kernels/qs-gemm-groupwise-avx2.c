/* qs-gemm-groupwise-avx2.c: uint8 activations times group-wise integer weights on AVX2, bit for bit the scalar reference.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Weights are packed per block of 8 output channels and per group
 * (qs_groupwise_pack_pairs): the group's code sums and scales for the 8
 * channels, then its taps in k-pairs of (code - zero point) as int16,
 * [pairs][8][2], so vpmaddwd adds a broadcast pair of activations times 8
 * channels' pairs into int32 exactly (|a * w| <= 255 * 255 for int8
 * codes, 255 * 448 for MXFP6 E3M2's int16 ones; an activation is never
 * -32768, so the one case vpmaddwd saturates cannot occur). A group of odd
 * length ends with a pair whose second weight is 0. Activations are read 16 at a time (never past
 * a row's k), widened once and each pair broadcast by shuffles.
 *
 *   total = sum a (w - zw) - z_a * sum (w - zw) = sum (a - z_a) (w - zw)
 *
 * is the scalar kernel's integer; the float32 steps after it are the
 * scalar kernel's operations in its order, one lane per channel. This file
 * is built without -mfma (and with -ffp-contract=off) so no multiply and
 * add fuse into one rounding.
 */
#include "qs-kernels.h"

#include <immintrin.h>
#include <string.h>

#define NB 8   /* channels per packed block */
#define MR 4   /* rows per step */

size_t
qs_gemm_groupwise_packed_size_avx2 (const QsGroupwiseWeights *w)
{
  return (w->n + NB - 1) / NB * qs_groupwise_pairs_block_bytes (w, NB);
}

void
qs_gemm_groupwise_pack_avx2 (const QsGroupwiseWeights *w,
                             size_t                    c0,
                             void                     *packed)
{
  qs_groupwise_pack_pairs (w, c0, NB, packed);
}

float
qs_gemm_groupwise_packed_weight_avx2 (const QsGroupwiseWeights *w,
                                      const void               *packed,
                                      size_t                    c,
                                      size_t                    t)
{
  return qs_groupwise_pairs_weight (w, NB, packed, c, t);
}

/* Pair @q (0..7) of 16 activations widened to int16, broadcast to every
 * lane as the int32 vpmaddwd reads: the 128-bit half that holds it in
 * both halves, then the pair picked within each half. */
#define PAIR(lo, hi, q) _mm256_shuffle_epi32 ((q) < 4 ? (lo) : (hi), ((q) & 3) * 0x55)

/* Activations t..t + 15 of a row of @k, zeros past its end: a row is
 * only readable up to k. */
static inline __m128i
load16 (const uint8_t *row,
        size_t         t,
        size_t         k)
{
  uint8_t tail[16] = { 0 };

  if (t + 16 <= k)
    return _mm_loadu_si128 ((const __m128i *) (row + t));
  memcpy (tail, row + t, k - t);
  return _mm_loadu_si128 ((const __m128i *) tail);
}

static inline void
store_lanes (float  *c,
             __m256  v,
             size_t  valid)
{
  float tmp[NB];

  if (valid >= NB)
    {
      _mm256_storeu_ps (c, v);
      return;
    }
  _mm256_storeu_ps (tmp, v);
  memcpy (c, tmp, valid * sizeof (float));
}

/* Rows [0, ROWS) of @a times channel block @j0: ROWS is a constant at
 * every call, so the accumulators stay in registers. */
static inline __attribute__ ((always_inline)) void
row_block (size_t                    ROWS,
           const uint8_t            *a,
           size_t                    lda,
           const QsGroupwiseWeights *w,
           const uint8_t            *p,
           const QsGroupwiseInput   *in,
           const float              *bias,
           size_t                    j0,
           float                    *c,
           size_t                    ldc)
{
  size_t valid = w->n - j0 < NB ? w->n - j0 : NB;
  const __m256 scale_in = _mm256_set1_ps (in->scale), zero_frac = _mm256_set1_ps (in->zero_frac);
  const __m256i zero_code = _mm256_set1_epi32 (in->zero_code);
  float b[NB] = { 0 };
  __m256 y[MR];

  memcpy (b, bias + j0, valid * sizeof (float));
  for (size_t r = 0; r < ROWS; r++)
    y[r] = _mm256_loadu_ps (b);
  for (size_t g = 0; g < w->groups_per_channel; g++)
    {
      size_t t0 = g * w->group_size, n_pairs = (qs_groupwise_group_length (w, g) + 1) / 2;
      __m256i sums = _mm256_loadu_si256 ((const __m256i *) p);
      __m256 scales = _mm256_loadu_ps ((const float *) (p + NB * sizeof (int32_t)));
      const int16_t *pairs = (const int16_t *) (p + NB * (sizeof (int32_t) + sizeof (float)));
      __m256i acc[MR];
      __m256 rescale, code_part;

      for (size_t r = 0; r < ROWS; r++)
        acc[r] = _mm256_setzero_si256 ();
      /* Eight pairs (16 activations) of each row at a time; past the
       * group's end they meet zero weights. */
      for (size_t q0 = 0; q0 < n_pairs; q0 += 8)
        {
          __m256i lo[MR], hi[MR];
          size_t nq = n_pairs - q0 < 8 ? n_pairs - q0 : 8;

          for (size_t r = 0; r < ROWS; r++)
            {
              __m256i v = _mm256_cvtepu8_epi16 (load16 (a + r * lda, t0 + 2 * q0, w->k));

              lo[r] = _mm256_permute2x128_si256 (v, v, 0x00);
              hi[r] = _mm256_permute2x128_si256 (v, v, 0x11);
            }
#define STEP(q)                                                                                   \
          if ((q) < nq)                                                                           \
            {                                                                                     \
              __m256i wv = _mm256_loadu_si256 ((const __m256i *) (pairs + (q0 + (q)) * NB * 2));  \
              for (size_t r = 0; r < ROWS; r++)                                                   \
                acc[r] = _mm256_add_epi32 (acc[r], _mm256_madd_epi16 (PAIR (lo[r], hi[r], q), wv)); \
            }
          STEP (0) STEP (1) STEP (2) STEP (3) STEP (4) STEP (5) STEP (6) STEP (7)
#undef STEP
        }
      /* (s_in * s_w) * ((float) total - zero_frac * (float) code_sum) */
      rescale = _mm256_mul_ps (scale_in, scales);
      code_part = _mm256_mul_ps (zero_frac, _mm256_cvtepi32_ps (sums));
      for (size_t r = 0; r < ROWS; r++)
        {
          __m256i total = _mm256_sub_epi32 (acc[r], _mm256_mullo_epi32 (zero_code, sums));
          __m256 part = _mm256_mul_ps (rescale, _mm256_sub_ps (_mm256_cvtepi32_ps (total), code_part));

          y[r] = _mm256_add_ps (y[r], part);
        }
      p += qs_groupwise_pairs_group_bytes (w, g, NB);
    }
  for (size_t r = 0; r < ROWS; r++)
    store_lanes (c + r * ldc + j0, y[r], valid);
}

void
qs_gemm_groupwise_u8_avx2 (size_t                    m,
                           const uint8_t            *a,
                           size_t                    lda,
                           const QsGroupwiseWeights *w,
                           const void               *packed,
                           const QsGroupwiseInput   *in,
                           const float              *bias,
                           float                    *c,
                           size_t                    ldc)
{
  size_t bytes = qs_groupwise_pairs_block_bytes (w, NB);

  for (size_t j0 = 0; j0 < w->n; j0 += NB)
    {
      const uint8_t *p = (const uint8_t *) packed + j0 / NB * bytes;
      size_t i = 0;

      for (; i + MR <= m; i += MR)
        row_block (MR, a + i * lda, lda, w, p, in, bias, j0, c + i * ldc, ldc);
      for (; i < m; i++)
        row_block (1, a + i * lda, lda, w, p, in, bias, j0, c + i * ldc, ldc);
    }
}
