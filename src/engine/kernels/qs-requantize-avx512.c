/* qs-requantize-avx512.c: int32 accumulators to uint8 codes, 16 channels at a time.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The rules of qs-requantize-scalar.c, bit for bit, as in the AVX2 file
 * (SaturatingRoundingDoublingHighMul as floor ((x * M + 2^30) / 2^31) with
 * vpmuldq and a 64-bit shift; RoundingDivideByPOT with mask registers),
 * with masked loads for a last partial block of channels and vpmovusdb
 * narrowing the clamped codes straight into the output.
 */
#include "qs-kernels.h"

#include <immintrin.h>

static inline __m512i
srdhm (__m512i x,
       __m512i m)
{
  const __m512i round = _mm512_set1_epi64 ((int64_t) 1 << 30);
  __m512i pe = _mm512_mul_epi32 (x, m);
  __m512i po = _mm512_mul_epi32 (_mm512_srli_epi64 (x, 32), _mm512_srli_epi64 (m, 32));

  pe = _mm512_srli_epi64 (_mm512_add_epi64 (pe, round), 31);
  po = _mm512_srli_epi64 (_mm512_add_epi64 (po, round), 31);
  return _mm512_mask_blend_epi32 ((__mmask16) 0xAAAA, pe, _mm512_slli_epi64 (po, 32));
}

void
qs_requantize_u8_avx512 (size_t                 rows,
                         size_t                 n,
                         const int32_t         *acc,
                         size_t                 ldacc,
                         const int32_t         *rowsum,
                         const QsRequantParams *p,
                         uint8_t               *out,
                         size_t                 ldout)
{
  const __m512i one = _mm512_set1_epi32 (1), zero = _mm512_setzero_si512 ();
  __m512i zp, lo, hi;

  if (p->left_shift != NULL || p->frac_q16 != NULL)
    {
      qs_requantize_u8_scalar (rows, n, acc, ldacc, rowsum, p, out, ldout);
      return;
    }
  zp = _mm512_set1_epi32 (p->output_zp);
  lo = _mm512_set1_epi32 (p->act_min);
  hi = _mm512_set1_epi32 (p->act_max);

  for (size_t c = 0; c < n; c += 16)
    {
      __mmask16 k = n - c >= 16 ? (__mmask16) 0xFFFF : (__mmask16) ((1u << (n - c)) - 1);
      __m512i bias = _mm512_maskz_loadu_epi32 (k, p->bias + c);
      __m512i mult = _mm512_maskz_loadu_epi32 (k, p->multiplier + c);
      __m512i shift = _mm512_maskz_loadu_epi32 (k, p->right_shift + c);
      __m512i wzp = p->weight_zp != NULL ? _mm512_maskz_loadu_epi32 (k, p->weight_zp + c) : zero;
      __m512i mask = _mm512_sub_epi32 (_mm512_sllv_epi32 (one, shift), one);
      __m512i half = _mm512_srai_epi32 (mask, 1);

      for (size_t r = 0; r < rows; r++)
        {
          __m512i x = _mm512_add_epi32 (_mm512_maskz_loadu_epi32 (k, acc + r * ldacc + c), bias);
          __m512i y, threshold;
          __mmask16 neg, up;

          if (p->weight_zp != NULL)
            x = _mm512_sub_epi32 (x, _mm512_mullo_epi32 (wzp, _mm512_set1_epi32 (rowsum[r])));
          y = srdhm (x, mult);
          neg = _mm512_cmplt_epi32_mask (y, zero);
          threshold = _mm512_mask_add_epi32 (half, neg, half, one);
          up = _mm512_cmpgt_epi32_mask (_mm512_and_si512 (y, mask), threshold);
          y = _mm512_srav_epi32 (y, shift);
          y = _mm512_mask_add_epi32 (y, up, y, one);
          y = _mm512_add_epi32 (y, zp);
          y = _mm512_min_epi32 (_mm512_max_epi32 (y, lo), hi);
          _mm512_mask_cvtusepi32_storeu_epi8 (out + r * ldout + c, k, y);
        }
    }
}
