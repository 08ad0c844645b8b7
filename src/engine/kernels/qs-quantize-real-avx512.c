/* qs-quantize-real-avx512.c: real outputs to uint8 codes and codes back to real numbers on AVX-512, bit for bit the references.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The steps of qs-quantize-real-avx2.c on 16 lanes, with mask registers
 * for the selects and a masked load and narrowing store (vpmovusdb) for
 * the tail, so every length runs in vector code. Its IEEE division is
 * what bounds it: a multiply by the reciprocal would round differently,
 * and one checked against the rounding boundaries, dividing only near
 * them, takes more instructions than the division (1.5 times the time
 * on Zen 4).
 * The dequantization widens 16 codes to int32 lanes, converts them
 * exactly and takes the reference's subtraction, then multiplication;
 * whole vectors store without a mask (a masked store makes it about 1.25
 * times as slow on Zen 4).
 * Built without contraction, like the references.
 */
#include "qs-kernels.h"

#include <immintrin.h>
#include <math.h>

static inline __mmask16
tail_mask (size_t left)
{
  return left >= 16 ? (__mmask16) 0xFFFF : (__mmask16) ((1u << left) - 1);
}

/* Inlined with a constant @clamp, so that outputs a kernel has clamped
 * already (infinite bounds, where the clamp changes nothing) skip it. */
static inline __attribute__ ((always_inline)) void
quantize_real (const QsRealQuant *p,
               const float       *r,
               size_t             count,
               uint8_t           *out,
               bool               clamp)
{
  const __m512 lo = _mm512_set1_ps (p->lo), hi = _mm512_set1_ps (p->hi);
  const __m512 scale = _mm512_set1_ps (p->scale), zero_point = _mm512_set1_ps (p->zero_point);
  const __m512 code_min = _mm512_set1_ps ((float) p->code_min), code_max = _mm512_set1_ps ((float) p->code_max);

  for (size_t i = 0; i < count; i += 16)
    {
      __mmask16 lanes = tail_mask (count - i);
      __m512 x = _mm512_maskz_loadu_ps (lanes, r + i), v = x;

      /* The reference's order: below lo first, then above hi; a NaN passes both. */
      if (clamp)
        {
          v = _mm512_mask_mov_ps (v, _mm512_cmp_ps_mask (x, hi, _CMP_GT_OQ), hi);
          v = _mm512_mask_mov_ps (v, _mm512_cmp_ps_mask (x, lo, _CMP_LT_OQ), lo);
        }
      v = _mm512_roundscale_ps (_mm512_add_ps (_mm512_div_ps (v, scale), zero_point),
                                _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      /* !(v >= code_min) takes code_min, a NaN too. */
      v = _mm512_mask_mov_ps (code_min, _mm512_cmp_ps_mask (v, code_min, _CMP_GE_OQ), v);
      v = _mm512_mask_mov_ps (v, _mm512_cmp_ps_mask (v, code_max, _CMP_GT_OQ), code_max);
      _mm512_mask_cvtusepi32_storeu_epi8 (out + i, lanes, _mm512_cvttps_epu32 (v));
    }
}

void
qs_quantize_real_u8_avx512 (const QsRealQuant *p,
                            const float       *r,
                            size_t             count,
                            uint8_t           *out)
{
  if (p->lo == -INFINITY && p->hi == INFINITY)
    quantize_real (p, r, count, out, false);
  else
    quantize_real (p, r, count, out, true);
}

void
qs_dequantize_u8_avx512 (float          scale,
                         float          zero_point,
                         const uint8_t *codes,
                         size_t         count,
                         float         *x)
{
  const __m512 s = _mm512_set1_ps (scale), z = _mm512_set1_ps (zero_point);

  for (size_t i = 0; i < count; i += 16)
    {
      __mmask16 lanes = tail_mask (count - i);
      __m512 c = _mm512_cvtepi32_ps (_mm512_cvtepu8_epi32 (_mm_maskz_loadu_epi8 (lanes, codes + i)));
      __m512 real = _mm512_mul_ps (_mm512_sub_ps (c, z), s);

      if (lanes == 0xFFFF)
        _mm512_storeu_ps (x + i, real);
      else
        _mm512_mask_storeu_ps (x + i, lanes, real);
    }
}
