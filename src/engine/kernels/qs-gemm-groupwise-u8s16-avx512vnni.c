/* qs-gemm-groupwise-u8s16-avx512vnni.c: uint8 activations times group-wise int16 weights on AVX-512 VNNI, bit for bit the scalar reference.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * For weights too wide for vpdpbusd's int8 (MXFP6 E3M2's elements times
 * 16, up to 448): packed per block of 16 output channels and per group
 * (qs_groupwise_pack_pairs), the group's code sums and scales for the 16
 * channels, then its taps in k-pairs of (code - zero point) as int16,
 * [pairs][16][2]. A row's activations are zero-extended to int16 (32 at a
 * time, through a byte mask that stops at the group's end, so no row is
 * read past its k), and one vpdpwssd adds a broadcast pair of them times
 * 16 channels' pairs into int32: both factors are int16 (an activation
 * 0..255), the two products add without saturation, and every sum is
 * within the bound of qs_groupwise_sums_fit (255 * 448 * 32 for E3M2). A
 * group of odd length ends with a pair whose second weight is 0.
 *
 *   total = sum a (w - zw) - z_a * sum (w - zw) = sum (a - z_a) (w - zw)
 *
 * is the scalar kernel's integer; the float32 steps after it are the
 * scalar kernel's operations in its order, one lane per channel. Built
 * with -ffp-contract=off so no multiply and add fuse into one rounding.
 */
#include "qs-kernels.h"
#include "qs-vnni-inplace.h"

#include <immintrin.h>

#define NB 16      /* channels per packed block */
#define MR 8       /* rows per step */
#define CHUNK 16   /* pairs (32 activations) widened at a time */

size_t
qs_gemm_groupwise_u8s16_packed_size_avx512vnni (const QsGroupwiseWeights *w)
{
  return (w->n + NB - 1) / NB * qs_groupwise_pairs_block_bytes (w, NB);
}

void
qs_gemm_groupwise_u8s16_pack_avx512vnni (const QsGroupwiseWeights *w,
                                         size_t                    c0,
                                         void                     *packed)
{
  qs_groupwise_pack_pairs (w, c0, NB, packed);
}

float
qs_gemm_groupwise_u8s16_packed_weight_avx512vnni (const QsGroupwiseWeights *w,
                                                  const void               *packed,
                                                  size_t                    c,
                                                  size_t                    t)
{
  return qs_groupwise_pairs_weight (w, NB, packed, c, t);
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
  __mmask16 mask = (__mmask16) ((1u << valid) - 1);
  const __m512 scale_in = _mm512_set1_ps (in->scale), zero_frac = _mm512_set1_ps (in->zero_frac);
  const __m512i zero_code = _mm512_set1_epi32 (in->zero_code);
  /* Each row's widened activations: pair q is the int32 (a[2q + 1] << 16) | a[2q]. */
  _Alignas (64) int32_t act_pairs[MR][CHUNK];
  __m512 y[MR];

  y[0] = _mm512_maskz_loadu_ps (mask, bias + j0);
  for (size_t r = 1; r < ROWS; r++)
    y[r] = y[0];
  for (size_t g = 0; g < w->groups_per_channel; g++)
    {
      size_t t0 = g * w->group_size, len = qs_groupwise_group_length (w, g), n_pairs = (len + 1) / 2;
      __m512i sums = _mm512_loadu_si512 (p);
      __m512 scales = _mm512_loadu_ps (p + NB * sizeof (int32_t));
      const int16_t *pairs = (const int16_t *) (p + NB * (sizeof (int32_t) + sizeof (float)));
      __m512i acc[MR], code_part_int;
      __m512 rescale, code_part;

      for (size_t r = 0; r < ROWS; r++)
        acc[r] = _mm512_setzero_si512 ();
      for (size_t q0 = 0; q0 < n_pairs; q0 += CHUNK)
        {
          size_t taps = len - 2 * q0 < 2 * CHUNK ? len - 2 * q0 : 2 * CHUNK;
          size_t nq = (taps + 1) / 2;
          __mmask32 bytes = taps == 32 ? ~(__mmask32) 0 : (__mmask32) ((1u << taps) - 1);

          for (size_t r = 0; r < ROWS; r++)
            {
              __m256i a8 = _mm256_maskz_loadu_epi8 (bytes, a + r * lda + t0 + 2 * q0);

              _mm512_store_si512 (act_pairs[r], _mm512_cvtepu8_epi16 (a8));
            }
          for (size_t q = 0; q < nq; q++)
            {
              __m512i wv = _mm512_loadu_si512 (pairs + (q0 + q) * NB * 2);

              for (size_t r = 0; r < ROWS; r++)
                acc[r] = qs_dpwssd_inplace (acc[r], _mm512_set1_epi32 (act_pairs[r][q]), wv);
            }
        }
      /* (s_in * s_w) * ((float) total - zero_frac * (float) code_sum) */
      rescale = _mm512_mul_ps (scale_in, scales);
      code_part = _mm512_mul_ps (zero_frac, _mm512_cvtepi32_ps (sums));
      code_part_int = _mm512_mullo_epi32 (zero_code, sums);
      for (size_t r = 0; r < ROWS; r++)
        {
          __m512i total = _mm512_sub_epi32 (acc[r], code_part_int);
          __m512 part = _mm512_mul_ps (rescale, _mm512_sub_ps (_mm512_cvtepi32_ps (total), code_part));

          y[r] = _mm512_add_ps (y[r], part);
        }
      p += qs_groupwise_pairs_group_bytes (w, g, NB);
    }
  for (size_t r = 0; r < ROWS; r++)
    _mm512_mask_storeu_ps (c + r * ldc + j0, mask, y[r]);
}

void
qs_gemm_groupwise_u8s16_avx512vnni (size_t                    m,
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
      if (i + 4 <= m)
        {
          row_block (4, a + i * lda, lda, w, p, in, bias, j0, c + i * ldc, ldc);
          i += 4;
        }
      for (; i < m; i++)
        row_block (1, a + i * lda, lda, w, p, in, bias, j0, c + i * ldc, ldc);
    }
}
