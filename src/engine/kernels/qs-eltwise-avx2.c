/* qs-eltwise-avx2.c: the merges and rescaling of qs-eltwise-scalar.c, 8 codes at a time.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Bit for bit the scalar rules: codes are widened to int32 lanes and go
 * through MultiplyByQuantizedMultiplier with the multiplier and shifts of
 * the whole tensor in registers. SaturatingRoundingDoublingHighMul is
 * floor ((x * M + 2^30) / 2^31) on even and odd lanes (vpmuldq), which
 * equals gemmlowp's truncating form for M >= 0 (see
 * qs-requantize-avx2.c); RoundingDivideByPOT adds one where the
 * remainder passes half (ties away from zero). Fewer than 8 trailing codes
 * go to the scalar kernels, so no load reads past the caller's buffers.
 */
#include "qs-graph-kernels.h"

#include <immintrin.h>
#include <string.h>

#define LANES 8

/* One tensor-wide MultiplyByQuantizedMultiplier, its constants in registers. */
typedef struct {
  __m256i multiplier;
  __m128i left_shift, right_shift;
  __m256i limit_hi, limit_lo;  /* beyond these, the left shift saturates */
  __m256i half;                /* (2^right_shift - 1) / 2 */
  __m256i remainder_mask;
  bool    shifts_left;
} Rescaler;

static Rescaler
rescaler_init (int32_t multiplier,
               int32_t left_shift,
               int32_t right_shift)
{
  Rescaler r;
  int32_t mask = (int32_t) (((int64_t) 1 << right_shift) - 1);

  r.multiplier = _mm256_set1_epi32 (multiplier);
  r.left_shift = _mm_cvtsi32_si128 (left_shift);
  r.right_shift = _mm_cvtsi32_si128 (right_shift);
  r.limit_hi = _mm256_set1_epi32 (INT32_MAX >> left_shift);
  r.limit_lo = _mm256_set1_epi32 (INT32_MIN >> left_shift);
  r.half = _mm256_set1_epi32 (mask >> 1);
  r.remainder_mask = _mm256_set1_epi32 (mask);
  r.shifts_left = left_shift > 0;
  return r;
}

static inline __m256i
rescale (const Rescaler *r,
         __m256i         x)
{
  const __m256i round = _mm256_set1_epi64x ((int64_t) 1 << 30);
  __m256i even, odd, threshold, up;

  if (r->shifts_left)
    {
      __m256i over = _mm256_cmpgt_epi32 (x, r->limit_hi);
      __m256i under = _mm256_cmpgt_epi32 (r->limit_lo, x);

      x = _mm256_sll_epi32 (x, r->left_shift);
      x = _mm256_blendv_epi8 (x, _mm256_set1_epi32 (INT32_MAX), over);
      x = _mm256_blendv_epi8 (x, _mm256_set1_epi32 (INT32_MIN), under);
    }
  even = _mm256_mul_epi32 (x, r->multiplier);
  odd = _mm256_mul_epi32 (_mm256_srli_epi64 (x, 32), r->multiplier);
  even = _mm256_srli_epi64 (_mm256_add_epi64 (even, round), 31);
  odd = _mm256_srli_epi64 (_mm256_add_epi64 (odd, round), 31);
  x = _mm256_blend_epi32 (even, _mm256_slli_epi64 (odd, 32), 0xAA);

  /* The threshold is half, plus one for a negative x (cmpgt gives -1). */
  threshold = _mm256_sub_epi32 (r->half, _mm256_cmpgt_epi32 (_mm256_setzero_si256 (), x));
  up = _mm256_cmpgt_epi32 (_mm256_and_si256 (x, r->remainder_mask), threshold);
  return _mm256_sub_epi32 (_mm256_sra_epi32 (x, r->right_shift), up);
}

static inline __m256i
load8 (const uint8_t *p)
{
  return _mm256_cvtepu8_epi32 (_mm_loadl_epi64 ((const __m128i *) p));
}

/* Stores 8 int32 lanes already clamped to 0..255. */
static inline void
store8 (uint8_t *p,
        __m256i  y)
{
  __m128i words = _mm_packus_epi32 (_mm256_castsi256_si128 (y), _mm256_extracti128_si256 (y, 1));

  _mm_storel_epi64 ((__m128i *) p, _mm_packus_epi16 (words, words));
}

static inline __m256i
finish (const Rescaler *r,
        __m256i         x,
        __m256i         offset,
        __m256i         lo,
        __m256i         hi)
{
  __m256i y = _mm256_add_epi32 (rescale (r, x), offset);

  return _mm256_min_epi32 (_mm256_max_epi32 (y, lo), hi);
}

void
qs_add_u8_avx2 (const QsAddParams    *p,
                const uint8_t *const *inputs,
                uint8_t              *out,
                size_t                n)
{
  Rescaler input_rescalers[QS_ENGINE_MAX_INPUTS];
  __m256i input_offsets[QS_ENGINE_MAX_INPUTS];
  Rescaler output = rescaler_init (p->output_multiplier, p->output_left_shift,
                                   p->output_right_shift);
  const __m128i left_shift = _mm_cvtsi32_si128 (p->left_shift);
  const __m256i offset = _mm256_set1_epi32 (p->output_offset);
  const __m256i lo = _mm256_set1_epi32 (p->act_min), hi = _mm256_set1_epi32 (p->act_max);
  const uint8_t *tail[QS_ENGINE_MAX_INPUTS];
  size_t i = 0;

  for (size_t j = 0; j < p->n_inputs; j++)
    {
      input_rescalers[j] = rescaler_init (p->input_multiplier[j], 0, p->input_shift[j]);
      input_offsets[j] = _mm256_set1_epi32 (p->input_offset[j]);
    }
  for (; i + LANES <= n; i += LANES)
    {
      __m256i sum = _mm256_setzero_si256 ();

      for (size_t j = 0; j < p->n_inputs; j++)
        {
          __m256i x = _mm256_sll_epi32 (_mm256_add_epi32 (load8 (inputs[j] + i), input_offsets[j]),
                                        left_shift);
          __m256i scaled = rescale (&input_rescalers[j], x);

          sum = p->input_sign[j] < 0 ? _mm256_sub_epi32 (sum, scaled)
                                     : _mm256_add_epi32 (sum, scaled);
        }
      store8 (out + i, finish (&output, sum, offset, lo, hi));
    }
  if (i < n)
    {
      for (size_t j = 0; j < p->n_inputs; j++)
        tail[j] = inputs[j] + i;
      qs_add_u8_scalar (p, tail, out + i, n - i);
    }
}

/* One row of @len products against @b, or against @b[0] broadcast when
 * @b_step is 0. */
static inline size_t
mul_row (const QsMulParams *p,
         const Rescaler    *r,
         const uint8_t     *a,
         const uint8_t     *b,
         size_t             b_step,
         uint8_t           *out,
         size_t             len)
{
  const __m256i a_offset = _mm256_set1_epi32 (p->a_offset);
  const __m256i b_offset = _mm256_set1_epi32 (p->b_offset);
  const __m256i offset = _mm256_set1_epi32 (p->output_offset);
  const __m256i lo = _mm256_set1_epi32 (p->act_min), hi = _mm256_set1_epi32 (p->act_max);
  const __m256i b_fixed = _mm256_add_epi32 (_mm256_set1_epi32 (b[0]), b_offset);
  size_t j = 0;

  for (; j + LANES <= len; j += LANES)
    {
      __m256i va = _mm256_add_epi32 (load8 (a + j), a_offset);
      __m256i vb = b_step ? _mm256_add_epi32 (load8 (b + j), b_offset) : b_fixed;

      store8 (out + j, finish (r, _mm256_mullo_epi32 (va, vb), offset, lo, hi));
    }
  return j;
}

void
qs_mul_u8_avx2 (const QsMulParams *p,
                const uint8_t     *a,
                const uint8_t     *b,
                size_t             b_len,
                uint8_t           *out,
                size_t             n)
{
  Rescaler r = rescaler_init (p->output_multiplier, p->output_left_shift, p->output_right_shift);
  size_t done;

  if (b_len == 1)
    {
      /* One factor for the whole tensor. */
      done = mul_row (p, &r, a, b, 0, out, n);
      qs_mul_u8_scalar (p, a + done, b, 1, out + done, n - done);
      return;
    }
  for (size_t i = 0; i < n; i += b_len)
    {
      done = mul_row (p, &r, a + i, b, 1, out + i, b_len);
      if (done < b_len)
        qs_mul_u8_scalar (p, a + i + done, b + done, b_len - done, out + i + done, b_len - done);
    }
}

void
qs_rescale_u8_avx2 (const QsRescaleParams *p,
                    const uint8_t         *in,
                    size_t                 rows,
                    size_t                 cols,
                    size_t                 in_stride,
                    uint8_t               *out,
                    size_t                 out_stride)
{
  Rescaler r = rescaler_init (p->multiplier, p->left_shift, p->right_shift);
  const __m256i input_offset = _mm256_set1_epi32 (p->input_offset);
  const __m256i offset = _mm256_set1_epi32 (p->output_offset);
  const __m256i lo = _mm256_setzero_si256 (), hi = _mm256_set1_epi32 (255);

  if (p->identity)
    {
      qs_rescale_u8_scalar (p, in, rows, cols, in_stride, out, out_stride);
      return;
    }
  if (in_stride == cols && out_stride == cols)
    {
      /* Rows with no gaps are one long row: no partial block per row. */
      cols *= rows;
      rows = 1;
    }
  for (size_t row = 0; row < rows; row++)
    {
      const uint8_t *src = in + row * in_stride;
      uint8_t *dst = out + row * out_stride;
      size_t c = 0;

      for (; c + LANES <= cols; c += LANES)
        store8 (dst + c, finish (&r, _mm256_add_epi32 (load8 (src + c), input_offset), offset,
                                 lo, hi));
      if (c < cols)
        qs_rescale_u8_scalar (p, src + c, 1, cols - c, in_stride, dst + c, out_stride);
    }
}

/* vminps (x, a) is x < a ? x : a lane by lane, the scalar rule; four
 * accumulators so the loads, not the min/max latency, set the pace. */
void
qs_range_f32_avx2 (const float *v,
                   size_t       n,
                   float       *lo,
                   float       *hi)
{
  __m256 a[4], b[4];
  float la[LANES], lb[LANES];
  size_t i = 0;

  for (int j = 0; j < 4; j++)
    {
      a[j] = _mm256_set1_ps (*lo);
      b[j] = _mm256_set1_ps (*hi);
    }
  for (; i + 4 * LANES <= n; i += 4 * LANES)
    for (int j = 0; j < 4; j++)
      {
        __m256 x = _mm256_loadu_ps (v + i + j * LANES);

        a[j] = _mm256_min_ps (x, a[j]);
        b[j] = _mm256_max_ps (x, b[j]);
      }
  for (; i + LANES <= n; i += LANES)
    {
      __m256 x = _mm256_loadu_ps (v + i);

      a[0] = _mm256_min_ps (x, a[0]);
      b[0] = _mm256_max_ps (x, b[0]);
    }
  for (int j = 1; j < 4; j++)
    {
      a[0] = _mm256_min_ps (a[j], a[0]);
      b[0] = _mm256_max_ps (b[j], b[0]);
    }
  _mm256_storeu_ps (la, a[0]);
  _mm256_storeu_ps (lb, b[0]);
  for (int j = 0; j < LANES; j++)
    {
      *lo = la[j] < *lo ? la[j] : *lo;
      *hi = lb[j] > *hi ? lb[j] : *hi;
    }
  /* The last partial block, in the scalar scan. */
  qs_range_f32_scalar (v + i, n - i, lo, hi);
}

/* vpmaxub then vpminub: the scalar rule for lo <= hi, 32 codes at a
 * time; the tail goes to the scalar kernel. */
void
qs_clamp_u8_avx2 (uint8_t        lo,
                  uint8_t        hi,
                  const uint8_t *in,
                  uint8_t       *out,
                  size_t         n)
{
  __m256i vlo = _mm256_set1_epi8 ((char) lo), vhi = _mm256_set1_epi8 ((char) hi);
  size_t i = 0;

  for (; i + 32 <= n; i += 32)
    {
      __m256i x = _mm256_loadu_si256 ((const __m256i *) (in + i));

      _mm256_storeu_si256 ((__m256i *) (out + i), _mm256_min_epu8 (_mm256_max_epu8 (x, vlo), vhi));
    }
  qs_clamp_u8_scalar (lo, hi, in + i, out + i, n - i);
}
