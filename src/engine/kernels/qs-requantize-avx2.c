/* qs-requantize-avx2.c: int32 accumulators to uint8 codes, 8 channels at a time.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The same rules as qs-requantize-scalar.c, bit for bit. Multipliers are
 * positive, so SaturatingRoundingDoublingHighMul is computed on |x|:
 * (|x| * M + 2^30 - [x < 0]) >> 31 with the sign put back, which equals
 * gemmlowp's truncating division of (x * M + nudge) by 2^31 (the products
 * are 32x32->64 with vpmuludq on even and odd lanes). The rarely used left
 * shifts and fractional zero-point corrections go to the reference.
 */
#include "qs-kernels.h"

#include <immintrin.h>

static inline __m256i
srdhm (__m256i x,
       __m256i m)
{
  const __m256i round = _mm256_set1_epi64x ((int64_t) 1 << 30);
  const __m256i low_one = _mm256_set1_epi64x (1);
  __m256i neg = _mm256_cmpgt_epi32 (_mm256_setzero_si256 (), x);
  __m256i ax = _mm256_abs_epi32 (x);  /* INT32_MIN stays 0x80000000: 2^31 unsigned */
  __m256i pe = _mm256_mul_epu32 (ax, m);
  __m256i po = _mm256_mul_epu32 (_mm256_srli_epi64 (ax, 32), _mm256_srli_epi64 (m, 32));
  __m256i ne = _mm256_and_si256 (neg, low_one);
  __m256i no = _mm256_and_si256 (_mm256_srli_epi64 (neg, 32), low_one);
  __m256i r;

  pe = _mm256_srli_epi64 (_mm256_sub_epi64 (_mm256_add_epi64 (pe, round), ne), 31);
  po = _mm256_srli_epi64 (_mm256_sub_epi64 (_mm256_add_epi64 (po, round), no), 31);
  r = _mm256_blend_epi32 (pe, _mm256_slli_epi64 (po, 32), 0xAA);
  return _mm256_sub_epi32 (_mm256_xor_si256 (r, neg), neg);
}

static inline __m256i
rounding_divide_by_pot (__m256i x,
                        __m256i exponent)
{
  const __m256i one = _mm256_set1_epi32 (1);
  __m256i mask = _mm256_sub_epi32 (_mm256_sllv_epi32 (one, exponent), one);
  __m256i remainder = _mm256_and_si256 (x, mask);
  __m256i neg = _mm256_cmpgt_epi32 (_mm256_setzero_si256 (), x);
  __m256i threshold = _mm256_add_epi32 (_mm256_srai_epi32 (mask, 1), _mm256_and_si256 (neg, one));
  __m256i up = _mm256_and_si256 (_mm256_cmpgt_epi32 (remainder, threshold), one);

  return _mm256_add_epi32 (_mm256_srav_epi32 (x, exponent), up);
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
  __m256i zp, lo, hi;

  if (p->left_shift != NULL || p->frac_q16 != NULL)
    {
      qs_requantize_u8_scalar (rows, n, acc, ldacc, rowsum, p, out, ldout);
      return;
    }
  zp = _mm256_set1_epi32 (p->output_zp);
  lo = _mm256_set1_epi32 (p->act_min);
  hi = _mm256_set1_epi32 (p->act_max);

  for (size_t r = 0; r < rows; r++)
    {
      const int32_t *a = acc + r * ldacc;
      uint8_t *o = out + r * ldout;
      int32_t rs = rowsum != NULL ? rowsum[r] : 0;
      __m256i vrs = _mm256_set1_epi32 (rs);
      size_t c = 0;

      for (; c + 8 <= n; c += 8)
        {
          __m256i x = _mm256_add_epi32 (_mm256_loadu_si256 ((const __m256i *) (a + c)),
                                        _mm256_loadu_si256 ((const __m256i *) (p->bias + c)));
          __m256i y;
          __m128i w16;

          if (p->weight_zp != NULL)
            x = _mm256_sub_epi32 (x, _mm256_mullo_epi32 (_mm256_loadu_si256 ((const __m256i *) (p->weight_zp + c)), vrs));
          y = srdhm (x, _mm256_loadu_si256 ((const __m256i *) (p->multiplier + c)));
          y = rounding_divide_by_pot (y, _mm256_loadu_si256 ((const __m256i *) (p->right_shift + c)));
          /* y + zp cannot overflow: |y| < 2^31 / 2 after a doubling high
           * multiply by M < 2^31, and |zp| <= 255. */
          y = _mm256_add_epi32 (y, zp);
          y = _mm256_min_epi32 (_mm256_max_epi32 (y, lo), hi);
          w16 = _mm_packs_epi32 (_mm256_castsi256_si128 (y), _mm256_extracti128_si256 (y, 1));
          _mm_storel_epi64 ((__m128i *) (o + c), _mm_packus_epi16 (w16, w16));
        }
      for (; c < n; c++)
        o[c] = qs_requantize_one (a[c], rs, c, p);
    }
}
