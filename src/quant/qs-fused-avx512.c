/* qs-fused-avx512.c: the AVX-512 twin of the fused-pass kernel (sixteen elements a step).
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The same float operations as qs-fused-scalar.c in the same order
 * (contraction off; the FMA of the double sums is exact), as in the AVX2
 * twin. Elements j and j + 8 of a step
 * both belong to lane j of the reference's eight lane sums; they are added
 * to that lane one after the other, in the reference's order, so the
 * double sums agree bit for bit. Counts and maxima do not depend on order
 * and are kept sixteen wide, folded to eight lanes at the end. What is
 * left after the last full step goes to the AVX2 kernel.
 */
#include "qs-fused-private.h"

#if defined(__x86_64__)

#include <immintrin.h>

#define AVX512 __attribute__((target ("avx512f,avx2,fma")))

/* See qs-fused-avx2.c. */
#define PREFETCH_BYTES 2048

#define STEP 16

/* qs_clampf for a value that is never NaN, exactly (see clamp_ps in
 * qs-fused-avx2.c: max/min return the second operand on equality). */
static inline AVX512 __m512
clamp_ps (__m512 v, __m512 lo, __m512 hi)
{
  return _mm512_min_ps (hi, _mm512_max_ps (lo, v));
}

static inline AVX512 __m512
round_even_ps (__m512 v)
{
  const __m512 magic = _mm512_set1_ps (12582912.0f);
  return _mm512_sub_ps (_mm512_add_ps (v, magic), magic);
}

static inline AVX512 __m512
round_away_ps (__m512 v)
{
  const __m512i sign = _mm512_set1_epi32 ((int) 0x80000000u);
  __m512 a = _mm512_castsi512_ps (_mm512_andnot_si512 (sign, _mm512_castps_si512 (v)));
  __m512 r = round_even_ps (a);
  __mmask16 tie_down = _mm512_cmp_ps_mask (_mm512_sub_ps (r, a), _mm512_set1_ps (-0.5f), _CMP_EQ_OQ);
  r = _mm512_mask_add_ps (r, tie_down, r, _mm512_set1_ps (1.0f));
  return _mm512_castsi512_ps (_mm512_or_si512 (_mm512_castps_si512 (r),
                                               _mm512_and_si512 (_mm512_castps_si512 (v), sign)));
}

static inline AVX512 __m512i
hist_slot_ps (const QsFusedArgs *a, __m512 x)
{
  __m512 t = _mm512_add_ps (_mm512_mul_ps (_mm512_sub_ps (x, _mm512_set1_ps (a->hist_lo)),
                                           _mm512_set1_ps (a->hist_inv_width)),
                            _mm512_set1_ps (1.0f));
  __mmask16 at_top = _mm512_cmp_ps_mask (x, _mm512_set1_ps (a->hist_hi), _CMP_EQ_OQ);

  /* NaN and the sign of a zero both end as slot 0 after truncation. */
  t = _mm512_min_ps (_mm512_set1_ps ((float) a->bins + 1.0f), _mm512_max_ps (t, _mm512_setzero_ps ()));
  return _mm512_mask_mov_epi32 (_mm512_cvttps_epi32 (t), at_top, _mm512_set1_epi32 (a->bins));
}

/* sum[l] += a[l] * b[l] for elements l, then sum[l] += a[l + 8] * b[l + 8]:
 * the reference's order within lane l. A fused multiply-add is no
 * contraction here: the product of two floats is exact in double, so
 * rounding it first, as the reference does, changes nothing. */
static inline AVX512 __m512d
accumulate_pd (__m512d sum, __m512 a, __m512 b)
{
  __m512d a_lo = _mm512_cvtps_pd (_mm512_castps512_ps256 (a));
  __m512d b_lo = _mm512_cvtps_pd (_mm512_castps512_ps256 (b));
  __m512d a_hi = _mm512_cvtps_pd (_mm256_castpd_ps (_mm512_extractf64x4_pd (_mm512_castps_pd (a), 1)));
  __m512d b_hi = _mm512_cvtps_pd (_mm256_castpd_ps (_mm512_extractf64x4_pd (_mm512_castps_pd (b), 1)));

  sum = _mm512_fmadd_pd (a_lo, b_lo, sum);
  return _mm512_fmadd_pd (a_hi, b_hi, sum);
}

static inline AVX512 __m512
coeff (const float *array, size_t c0, size_t j, size_t stride)
{
  return stride ? _mm512_loadu_ps (array + c0 + j) : _mm512_set1_ps (array[c0]);
}

/* Adds the sixteen counters of @wide to the eight of @lanes: lane l takes
 * elements l and l + 8. */
static inline AVX512 void
fold_counts (uint32_t *lanes, __m512i wide)
{
  __m256i sum = _mm256_add_epi32 (_mm512_castsi512_si256 (wide), _mm512_extracti64x4_epi64 (wide, 1));

  _mm256_storeu_si256 ((__m256i *) lanes,
                       _mm256_add_epi32 (_mm256_loadu_si256 ((const __m256i *) lanes), sum));
}

void AVX512
qs_fused_int_avx512 (const QsFusedArgs *a,
                     const float       *x,
                     size_t             n,
                     size_t             c0,
                     size_t             stride,
                     QsLaneSums        *s,
                     int32_t           *code_slots,
                     int32_t           *orig_slots,
                     int32_t           *recon_slots)
{
  const __m512 zero = _mm512_setzero_ps ();
  const __m512 one = _mm512_set1_ps (1.0f);
  const __m512i sign = _mm512_set1_epi32 ((int) 0x80000000u);
  const __m512i qmin = _mm512_set1_epi32 (a->qmin);
  const __m512i skip_code = _mm512_set1_epi32 (a->skip_code_slot);
  const __m512i skip_bin = _mm512_set1_epi32 (a->bins + 2);
  const __m512i ones = _mm512_set1_epi32 (1);
  __m512 max_error = zero;
  __m512i clipped = _mm512_setzero_si512 ();
  __m512i nonfinite = _mm512_setzero_si512 ();
  __m512i zeros = _mm512_setzero_si512 ();
  __m512d err2 = _mm512_loadu_pd (s->err2), x2 = _mm512_loadu_pd (s->x2);
  __m512d recon2 = _mm512_loadu_pd (s->recon2), cross = _mm512_loadu_pd (s->cross);
  bool away = a->rounding == QS_ROUNDING_HALF_AWAY;
  size_t j = 0;

  for (; j + STEP <= n; j += STEP)
    {
      __m512 raw = _mm512_loadu_ps (x + j);
      __mmask16 finite, clip;
      __m512 v, lo, hi, t, r, recon, err;
      __m512i codes;

      _mm_prefetch ((const char *) (x + j) + PREFETCH_BYTES, _MM_HINT_T0);
      finite = _mm512_cmp_ps_mask (_mm512_sub_ps (raw, raw), zero, _CMP_EQ_OQ);
      v = _mm512_maskz_mov_ps (finite, raw);
      lo = coeff (a->lo, c0, j, stride);
      hi = coeff (a->hi, c0, j, stride);
      t = _mm512_add_ps (_mm512_mul_ps (v, coeff (a->inv, c0, j, stride)), coeff (a->add, c0, j, stride));

      /* v is finite (non-finite lanes were zeroed), so t is never NaN. */
      t = clamp_ps (t, _mm512_sub_ps (lo, one), _mm512_add_ps (hi, one));
      r = away ? round_away_ps (t) : round_even_ps (t);
      clip = (_mm512_cmp_ps_mask (r, lo, _CMP_LT_OQ) | _mm512_cmp_ps_mask (r, hi, _CMP_GT_OQ)) & finite;
      clipped = _mm512_mask_add_epi32 (clipped, clip, clipped, ones);
      nonfinite = _mm512_mask_add_epi32 (nonfinite, (__mmask16) ~finite, nonfinite, ones);
      zeros = _mm512_mask_add_epi32 (zeros, _mm512_cmp_ps_mask (raw, zero, _CMP_EQ_OQ), zeros, ones);

      r = clamp_ps (r, lo, hi);
      recon = _mm512_maskz_mov_ps (finite, _mm512_mul_ps (_mm512_sub_ps (r, coeff (a->sub, c0, j, stride)),
                                                          coeff (a->scale, c0, j, stride)));
      err = _mm512_sub_ps (recon, v);

      err2 = accumulate_pd (err2, err, err);
      x2 = accumulate_pd (x2, v, v);
      recon2 = accumulate_pd (recon2, recon, recon);
      cross = accumulate_pd (cross, v, recon);
      max_error = _mm512_max_ps (_mm512_castsi512_ps (_mm512_andnot_si512 (sign, _mm512_castps_si512 (err))),
                                 max_error);

      codes = _mm512_sub_epi32 (_mm512_cvttps_epi32 (_mm512_add_ps (r, coeff (a->post, c0, j, stride))), qmin);
      _mm512_storeu_si512 (code_slots + j, _mm512_mask_mov_epi32 (skip_code, finite, codes));
      _mm512_storeu_si512 (orig_slots + j, _mm512_mask_mov_epi32 (skip_bin, finite, hist_slot_ps (a, v)));
      if (a->direct_recon)
        _mm512_storeu_si512 (recon_slots + j, _mm512_mask_mov_epi32 (skip_bin, finite, hist_slot_ps (a, recon)));
    }

  _mm512_storeu_pd (s->err2, err2);
  _mm512_storeu_pd (s->x2, x2);
  _mm512_storeu_pd (s->recon2, recon2);
  _mm512_storeu_pd (s->cross, cross);
  {
    __m256 wide = _mm256_max_ps (_mm512_castps512_ps256 (max_error),
                                 _mm256_castpd_ps (_mm512_extractf64x4_pd (_mm512_castps_pd (max_error), 1)));
    _mm256_storeu_ps (s->max_error, _mm256_max_ps (wide, _mm256_loadu_ps (s->max_error)));
  }
  fold_counts (s->clipped, clipped);
  fold_counts (s->nonfinite, nonfinite);
  fold_counts (s->zeros, zeros);

  if (j < n)
    qs_fused_int_avx2 (a, x + j, n - j, c0 + j * stride, stride, s,
                       code_slots + j, orig_slots + j, recon_slots + j);
}

#endif
