/* qs-requantize-avx2.c: int32 accumulators to uint8 codes, 8 channels at a time.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The same rules as qs-requantize-scalar.c, bit for bit. For a multiplier
 * M in [0, 2^31), gemmlowp's SaturatingRoundingDoublingHighMul (x, M) is
 * floor ((x * M + 2^30) / 2^31) (round half up; saturation needs
 * x = M = INT32_MIN, impossible here): one signed 32x32->64 multiply
 * (vpmuldq, even and odd lanes), an add, and a 64-bit shift whose low 32
 * bits are the same logical or arithmetic. RoundingDivideByPOT follows
 * with per-channel variable shifts. The rarely used left shifts and
 * fractional zero-point corrections go to the reference. Channels are the
 * outer loop so each block's parameters stay in registers over the rows.
 */
#include "qs-kernels.h"

#include <immintrin.h>

static inline __m256i
srdhm (__m256i x,
       __m256i m)
{
  const __m256i round = _mm256_set1_epi64x ((int64_t) 1 << 30);
  __m256i pe = _mm256_mul_epi32 (x, m);
  __m256i po = _mm256_mul_epi32 (_mm256_srli_epi64 (x, 32), _mm256_srli_epi64 (m, 32));

  pe = _mm256_srli_epi64 (_mm256_add_epi64 (pe, round), 31);
  po = _mm256_srli_epi64 (_mm256_add_epi64 (po, round), 31);
  return _mm256_blend_epi32 (pe, _mm256_slli_epi64 (po, 32), 0xAA);
}

static inline __m256i
lane_mask (size_t valid)
{
  static const int32_t lanes[16] = { -1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0 };

  return _mm256_loadu_si256 ((const __m256i *) (lanes + 8 - valid));
}

void
qs_requantize_u8_avx2 (size_t                 rows,
                       size_t                 n,
                       const int32_t         *acc,
                       size_t                 ldacc,
                       const int32_t         *rowsum,
                       const QsRequantParams *p,
                       uint8_t               *out,
                       size_t                 ldout)
{
  const __m256i one = _mm256_set1_epi32 (1), zero = _mm256_setzero_si256 ();
  __m256i zp, lo, hi;

  if (p->left_shift != NULL || p->frac_q16 != NULL)
    {
      qs_requantize_u8_scalar (rows, n, acc, ldacc, rowsum, p, out, ldout);
      return;
    }
  zp = _mm256_set1_epi32 (p->output_zp);
  lo = _mm256_set1_epi32 (p->act_min - p->output_zp);
  hi = _mm256_set1_epi32 (p->act_max - p->output_zp);

  for (size_t c = 0; c + 8 <= n; c += 8)
    {
      __m256i bias = _mm256_loadu_si256 ((const __m256i *) (p->bias + c));
      __m256i mult = _mm256_loadu_si256 ((const __m256i *) (p->multiplier + c));
      __m256i shift = _mm256_loadu_si256 ((const __m256i *) (p->right_shift + c));
      __m256i wzp = p->weight_zp != NULL ? _mm256_loadu_si256 ((const __m256i *) (p->weight_zp + c)) : zero;
      __m256i mask = _mm256_sub_epi32 (_mm256_sllv_epi32 (one, shift), one);
      __m256i half = _mm256_srai_epi32 (mask, 1);

      for (size_t r = 0; r < rows; r++)
        {
          __m256i x = _mm256_add_epi32 (_mm256_loadu_si256 ((const __m256i *) (acc + r * ldacc + c)), bias);
          __m256i y, neg, threshold, up;
          __m128i w16;

          if (p->weight_zp != NULL)
            x = _mm256_sub_epi32 (x, _mm256_mullo_epi32 (wzp, _mm256_set1_epi32 (rowsum[r])));
          y = srdhm (x, mult);
          /* RoundingDivideByPOT: ties away from zero. */
          neg = _mm256_cmpgt_epi32 (zero, y);
          threshold = _mm256_sub_epi32 (half, neg);
          up = _mm256_cmpgt_epi32 (_mm256_and_si256 (y, mask), threshold);
          y = _mm256_sub_epi32 (_mm256_srav_epi32 (y, shift), up);
          /* With no shift y comes within 255 of INT32_MAX (M near 2^31):
           * clamped before the zero point is added, so that cannot wrap. */
          y = _mm256_add_epi32 (_mm256_min_epi32 (_mm256_max_epi32 (y, lo), hi), zp);
          w16 = _mm_packs_epi32 (_mm256_castsi256_si128 (y), _mm256_extracti128_si256 (y, 1));
          _mm_storel_epi64 ((__m128i *) (out + r * ldout + c), _mm_packus_epi16 (w16, w16));
        }
    }
  if (n % 8 != 0)
    {
      size_t c0 = n - n % 8;

      (void) lane_mask;
      for (size_t r = 0; r < rows; r++)
        for (size_t c = c0; c < n; c++)
          out[r * ldout + c] = qs_requantize_one (acc[r * ldacc + c], rowsum != NULL ? rowsum[r] : 0, c, p);
    }
}
