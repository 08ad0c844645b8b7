/* qs-quantize-real-avx2.c: real layer outputs through the activation clamp to uint8 codes on AVX2, bit for bit the reference.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The reference's steps on 8 lanes: the clamp as two selects in its
 * order (a NaN passes both, as there), an IEEE division and addition,
 * vroundps to nearest even (rintf in the default rounding mode), the code
 * range as selects (a NaN takes code_min, as !(v >= min) does there).
 */
#include "qs-kernels.h"

#include <immintrin.h>

void
qs_quantize_real_u8_avx2 (const QsRealQuant *p,
                          const float       *r,
                          size_t             count,
                          uint8_t           *out)
{
  const __m256 lo = _mm256_set1_ps (p->lo), hi = _mm256_set1_ps (p->hi);
  const __m256 scale = _mm256_set1_ps (p->scale), zero_point = _mm256_set1_ps (p->zero_point);
  const __m256 code_min = _mm256_set1_ps ((float) p->code_min), code_max = _mm256_set1_ps ((float) p->code_max);
  size_t i = 0;

  for (; i + 8 <= count; i += 8)
    {
      __m256 x = _mm256_loadu_ps (r + i), v;
      __m256i codes;
      __m128i words;

      x = _mm256_blendv_ps (x, hi, _mm256_cmp_ps (x, hi, _CMP_GT_OQ));
      x = _mm256_blendv_ps (x, lo, _mm256_cmp_ps (_mm256_loadu_ps (r + i), lo, _CMP_LT_OQ));
      v = _mm256_round_ps (_mm256_add_ps (_mm256_div_ps (x, scale), zero_point),
                           _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      v = _mm256_blendv_ps (code_min, v, _mm256_cmp_ps (v, code_min, _CMP_GE_OQ));
      v = _mm256_blendv_ps (v, code_max, _mm256_cmp_ps (v, code_max, _CMP_GT_OQ));
      codes = _mm256_cvttps_epi32 (v);
      words = _mm_packus_epi32 (_mm256_castsi256_si128 (codes), _mm256_extracti128_si256 (codes, 1));
      _mm_storel_epi64 ((__m128i *) (out + i), _mm_packus_epi16 (words, words));
    }
  qs_quantize_real_u8_scalar (p, r + i, count - i, out + i);
}
