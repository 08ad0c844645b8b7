/* qs-fused-avx2.c: AVX2 twins of the fused-pass kernels (eight elements a step).
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every step mirrors a line of qs-fused-scalar.c: the same float operations
 * in the same order (contraction off; the one FMA, in the double sums, is
 * exact), the same clamp semantics for NaN, and the eight
 * vector lanes are the reference's eight lane sums. Tails shorter than
 * eight go through the reference itself.
 */
#include "qs-fused-private.h"

#if defined(__x86_64__)

#include <immintrin.h>

#define AVX2 __attribute__((target ("avx2,fma")))

/* How far ahead to fetch: the data streams from memory (often straight
 * from the page cache), and the work per element is too short for the
 * hardware prefetcher alone to keep up. */
#define PREFETCH_BYTES 2048

/* qs_clampf for a value that may be NaN: NaN and everything below lo
 * become lo (maxps returns its second operand when either is NaN). Where
 * v == lo it returns lo, not v: use it only where the sign of a zero
 * cannot matter. */
static inline AVX2 __m256
clamp_nan_ps (__m256 v, __m256 lo, __m256 hi)
{
  return _mm256_min_ps (hi, _mm256_max_ps (v, lo));
}

/* qs_clampf for a value that is never NaN, exactly: v >= lo ? v : lo, and
 * v > hi ? hi : v, signed zeros included (maxps/minps return the second
 * operand on equality). */
static inline AVX2 __m256
clamp_ps (__m256 v, __m256 lo, __m256 hi)
{
  return _mm256_min_ps (hi, _mm256_max_ps (lo, v));
}

static inline AVX2 __m256
round_even_ps (__m256 v)
{
  const __m256 magic = _mm256_set1_ps (12582912.0f);
  return _mm256_sub_ps (_mm256_add_ps (v, magic), magic);
}

static inline AVX2 __m256
round_away_ps (__m256 v)
{
  const __m256 sign = _mm256_set1_ps (-0.0f);
  __m256 a = _mm256_andnot_ps (sign, v);
  __m256 r = round_even_ps (a);
  __m256 tie_down = _mm256_cmp_ps (_mm256_sub_ps (r, a), _mm256_set1_ps (-0.5f), _CMP_EQ_OQ);
  r = _mm256_add_ps (r, _mm256_and_ps (tie_down, _mm256_set1_ps (1.0f)));
  return _mm256_or_ps (r, _mm256_and_ps (v, sign));
}

static inline AVX2 __m256i
hist_slot_ps (const QsFusedArgs *a, __m256 x)
{
  __m256 t = _mm256_add_ps (_mm256_mul_ps (_mm256_sub_ps (x, _mm256_set1_ps (a->hist_lo)),
                                           _mm256_set1_ps (a->hist_inv_width)),
                            _mm256_set1_ps (1.0f));
  __m256i slot;
  __m256 above;

  /* Truncation below makes the sign of a zero irrelevant here. */
  t = clamp_nan_ps (t, _mm256_setzero_ps (), _mm256_set1_ps ((float) a->bins));
  slot = _mm256_cvttps_epi32 (t);
  above = _mm256_cmp_ps (x, _mm256_set1_ps (a->hist_hi), _CMP_GT_OQ);
  return _mm256_blendv_epi8 (slot, _mm256_set1_epi32 (a->bins + 1), _mm256_castps_si256 (above));
}

/* Lanes 0-3 and 4-7 of a sum, held in registers for the whole chunk: the
 * slot stores could alias QsLaneSums, so accumulating in memory would
 * reload it every step. */
typedef struct {
  __m256d lo;
  __m256d hi;
} LaneSum;

static inline AVX2 LaneSum
lane_sum_load (const double *lanes)
{
  LaneSum sum = { _mm256_loadu_pd (lanes), _mm256_loadu_pd (lanes + 4) };
  return sum;
}

static inline AVX2 void
lane_sum_store (double *lanes, LaneSum sum)
{
  _mm256_storeu_pd (lanes, sum.lo);
  _mm256_storeu_pd (lanes + 4, sum.hi);
}

/* sum[l] += (double) a[l] * (double) b[l], as the reference does it: with
 * a fused multiply-add, which is no contraction here, since the product of
 * two floats is exact in double. */
static inline AVX2 LaneSum
accumulate_pd (LaneSum sum, __m256 a, __m256 b)
{
  __m256d a_lo = _mm256_cvtps_pd (_mm256_castps256_ps128 (a));
  __m256d a_hi = _mm256_cvtps_pd (_mm256_extractf128_ps (a, 1));
  __m256d b_lo = _mm256_cvtps_pd (_mm256_castps256_ps128 (b));
  __m256d b_hi = _mm256_cvtps_pd (_mm256_extractf128_ps (b, 1));
  sum.lo = _mm256_fmadd_pd (a_lo, b_lo, sum.lo);
  sum.hi = _mm256_fmadd_pd (a_hi, b_hi, sum.hi);
  return sum;
}

static inline AVX2 __m256
coeff (const float *array, size_t c0, size_t j, size_t stride)
{
  return stride ? _mm256_loadu_ps (array + c0 + j) : _mm256_set1_ps (array[c0]);
}

/* Adds the eight lane counters of @v to one total. */
static inline AVX2 uint32_t
sum_epi32 (__m256i v)
{
  __m128i s = _mm_add_epi32 (_mm256_castsi256_si128 (v), _mm256_extracti128_si256 (v, 1));
  s = _mm_add_epi32 (s, _mm_shuffle_epi32 (s, _MM_SHUFFLE (1, 0, 3, 2)));
  s = _mm_add_epi32 (s, _mm_shuffle_epi32 (s, _MM_SHUFFLE (2, 3, 0, 1)));
  return (uint32_t) _mm_cvtsi128_si32 (s);
}

static inline AVX2 void
count_slots (int32_t   slots[3][QS_FUSED_LANES],
             uint64_t *code_counts,
             uint64_t *orig_counts,
             uint64_t *recon_counts,
             uint32_t *joint_counts,
             bool      joint,
             bool      direct)
{
  for (int l = 0; l < QS_FUSED_LANES; l++)
    {
      if (joint)
        joint_counts[slots[0][l]]++;
      else
        {
          code_counts[slots[0][l]]++;
          orig_counts[slots[1][l]]++;
        }
      if (direct)
        recon_counts[slots[2][l]]++;
    }
}

void AVX2
qs_fused_int_avx2 (const QsFusedArgs   *a,
                   const float         *x,
                   size_t               n,
                   size_t               c0,
                   size_t               stride,
                   QsLaneSums          *s,
                   const QsFusedCounts *counts)
{
  const __m256 zero = _mm256_setzero_ps ();
  const __m256 one = _mm256_set1_ps (1.0f);
  const __m256 sign = _mm256_set1_ps (-0.0f);
  const __m256i qmin = _mm256_set1_epi32 (a->qmin);
  const __m256i skip_code = _mm256_set1_epi32 (a->skip_code_slot);
  const __m256i skip_bin = _mm256_set1_epi32 (a->bins + 2);
  uint64_t *code_counts = counts->codes, *orig_counts = counts->orig, *recon_counts = counts->recon;
  uint32_t *joint_counts = counts->joint;
  const __m256i joint_stride = _mm256_set1_epi32 (a->joint_stride);
  bool joint = a->joint_stride > 0, codes_alone = a->codes_alone;
  __m256 max_error = _mm256_loadu_ps (s->max_error);
  __m256i clipped = _mm256_setzero_si256 ();
  __m256i nonfinite = _mm256_setzero_si256 ();
  LaneSum err2 = lane_sum_load (s->err2), x2 = lane_sum_load (s->x2);
  LaneSum recon2 = lane_sum_load (s->recon2), cross = lane_sum_load (s->cross);
  bool away = a->rounding == QS_ROUNDING_HALF_AWAY, direct = a->direct_recon;
  /* Slots of the previous step, counted during this one: a load right
   * after the vector store that wrote it would wait for the store. */
  int32_t slots[2][3][QS_FUSED_LANES] __attribute__ ((aligned (32)));
  int cur = 0;
  size_t j = 0;

  for (; j + QS_FUSED_LANES <= n; j += QS_FUSED_LANES)
    {
      __m256 raw = _mm256_loadu_ps (x + j);
      __m256 finite, v;

      _mm_prefetch ((const char *) (x + j) + PREFETCH_BYTES, _MM_HINT_T0);
      finite = _mm256_cmp_ps (_mm256_sub_ps (raw, raw), zero, _CMP_EQ_OQ);
      v = _mm256_and_ps (raw, finite);
      __m256 lo = coeff (a->lo, c0, j, stride);
      __m256 hi = coeff (a->hi, c0, j, stride);
      __m256 t = _mm256_add_ps (_mm256_mul_ps (v, coeff (a->inv, c0, j, stride)),
                                coeff (a->add, c0, j, stride));
      __m256 r, out, recon, err;
      __m256i codes, bins;

      /* v is finite (non-finite lanes were zeroed), so t is never NaN. */
      t = clamp_ps (t, _mm256_sub_ps (lo, one), _mm256_add_ps (hi, one));
      r = away ? round_away_ps (t) : round_even_ps (t);
      out = _mm256_or_ps (_mm256_cmp_ps (r, lo, _CMP_LT_OQ), _mm256_cmp_ps (r, hi, _CMP_GT_OQ));
      clipped = _mm256_sub_epi32 (clipped, _mm256_castps_si256 (_mm256_and_ps (out, finite)));
      nonfinite = _mm256_sub_epi32 (nonfinite, _mm256_castps_si256 (_mm256_andnot_ps (finite, _mm256_castsi256_ps (_mm256_set1_epi32 (-1)))));

      r = clamp_ps (r, lo, hi);
      recon = _mm256_and_ps (_mm256_mul_ps (_mm256_sub_ps (r, coeff (a->sub, c0, j, stride)),
                                            coeff (a->scale, c0, j, stride)),
                             finite);
      err = _mm256_sub_ps (recon, v);

      err2 = accumulate_pd (err2, err, err);
      x2 = accumulate_pd (x2, v, v);
      recon2 = accumulate_pd (recon2, recon, recon);
      cross = accumulate_pd (cross, v, recon);
      max_error = _mm256_max_ps (_mm256_andnot_ps (sign, err), max_error);

      codes = _mm256_sub_epi32 (_mm256_cvttps_epi32 (_mm256_add_ps (r, coeff (a->post, c0, j, stride))), qmin);
      codes = _mm256_blendv_epi8 (skip_code, codes, _mm256_castps_si256 (finite));
      bins = _mm256_blendv_epi8 (skip_bin, codes_alone ? _mm256_setzero_si256 () : hist_slot_ps (a, v),
                                 _mm256_castps_si256 (finite));
      if (joint)
        _mm256_store_si256 ((__m256i *) slots[cur][0], _mm256_add_epi32 (_mm256_mullo_epi32 (codes, joint_stride), bins));
      else
        {
          _mm256_store_si256 ((__m256i *) slots[cur][0], codes);
          _mm256_store_si256 ((__m256i *) slots[cur][1], bins);
        }
      if (direct)
        _mm256_store_si256 ((__m256i *) slots[cur][2],
                            _mm256_blendv_epi8 (skip_bin, hist_slot_ps (a, recon), _mm256_castps_si256 (finite)));
      cur ^= 1;
      if (j > 0)
        count_slots (slots[cur], code_counts, orig_counts, recon_counts, joint_counts, joint, direct);
    }
  if (j > 0)
    count_slots (slots[cur ^ 1], code_counts, orig_counts, recon_counts, joint_counts, joint, direct);

  lane_sum_store (s->err2, err2);
  lane_sum_store (s->x2, x2);
  lane_sum_store (s->recon2, recon2);
  lane_sum_store (s->cross, cross);
  _mm256_storeu_ps (s->max_error, max_error);
  s->clipped += sum_epi32 (clipped);
  s->nonfinite += sum_epi32 (nonfinite);

  if (j < n)
    qs_fused_int_scalar (a, x + j, n - j, c0 + j * stride, stride, s, counts);
}

void AVX2
qs_minmax_avx2 (const float *v,
                size_t       n,
                float       *min,
                float       *max,
                uint64_t    *nonfinite,
                uint64_t    *zeros)
{
  const __m256 inf = _mm256_set1_ps (__builtin_inff ());
  const __m256 zero = _mm256_setzero_ps ();
  __m256 mn = _mm256_set1_ps (*min), mx = _mm256_set1_ps (*max);
  __m256i bad = _mm256_setzero_si256 (), zero_count = _mm256_setzero_si256 ();
  float lanes_min[8], lanes_max[8];
  uint32_t lanes_bad[8], lanes_zero[8];
  size_t i = 0;
  /* Lane counters are 32-bit: flush them before they could wrap. */
  size_t flush = 0;

  for (; i + 8 <= n; i += 8)
    {
      __m256 x = _mm256_loadu_ps (v + i);
      __m256 finite = _mm256_cmp_ps (_mm256_sub_ps (x, x), zero, _CMP_EQ_OQ);

      _mm_prefetch ((const char *) (v + i) + PREFETCH_BYTES, _MM_HINT_T0);
      mn = _mm256_min_ps (_mm256_blendv_ps (inf, x, finite), mn);
      mx = _mm256_max_ps (_mm256_blendv_ps (_mm256_sub_ps (zero, inf), x, finite), mx);
      bad = _mm256_sub_epi32 (bad, _mm256_castps_si256 (_mm256_cmp_ps (_mm256_sub_ps (x, x), zero, _CMP_NEQ_UQ)));
      zero_count = _mm256_sub_epi32 (zero_count, _mm256_castps_si256 (_mm256_cmp_ps (x, zero, _CMP_EQ_OQ)));
      if (++flush == (1u << 30))
        {
          _mm256_storeu_si256 ((__m256i *) lanes_bad, bad);
          _mm256_storeu_si256 ((__m256i *) lanes_zero, zero_count);
          for (int l = 0; l < 8; l++)
            {
              *nonfinite += lanes_bad[l];
              *zeros += lanes_zero[l];
            }
          bad = _mm256_setzero_si256 ();
          zero_count = _mm256_setzero_si256 ();
          flush = 0;
        }
    }

  _mm256_storeu_ps (lanes_min, mn);
  _mm256_storeu_ps (lanes_max, mx);
  _mm256_storeu_si256 ((__m256i *) lanes_bad, bad);
  _mm256_storeu_si256 ((__m256i *) lanes_zero, zero_count);
  for (int l = 0; l < 8; l++)
    {
      *min = lanes_min[l] < *min ? lanes_min[l] : *min;
      *max = lanes_max[l] > *max ? lanes_max[l] : *max;
      *nonfinite += lanes_bad[l];
      *zeros += lanes_zero[l];
    }
  qs_minmax_scalar (v + i, n - i, min, max, nonfinite, zeros);
}

#endif
