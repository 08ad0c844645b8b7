/* qs-eltwise-avx512.c: the merges and rescaling of qs-eltwise-scalar.c, 16 codes at a time.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The rules of qs-eltwise-avx2.c in AVX-512 (F, BW, VL): codes widened to
 * int32 lanes, MultiplyByQuantizedMultiplier with vpmuldq and mask
 * registers, and masked loads and narrowing stores (vpmovusdb) for the
 * last partial block, so every length runs in vector code and nothing
 * past the buffers is touched.
 */
#include "qs-eltwise-avx512.h"

#define LANES 16

static inline __mmask16
valid_lanes (size_t left)
{
  return left >= LANES ? (__mmask16) 0xFFFF : (__mmask16) ((1u << left) - 1);
}

static inline __m512i
load16 (__mmask16      valid,
        const uint8_t *p)
{
  return _mm512_cvtepu8_epi32 (_mm_maskz_loadu_epi8 (valid, p));
}

static inline void
finish_store (const Rescaler *r,
              __m512i         x,
              __m512i         offset,
              __m512i         lo,
              __m512i         hi,
              __mmask16       valid,
              uint8_t        *out)
{
  __m512i y = _mm512_add_epi32 (rescale (r, x), offset);

  y = _mm512_min_epi32 (_mm512_max_epi32 (y, lo), hi);
  _mm512_mask_cvtusepi32_storeu_epi8 (out, valid, y);
}

void
qs_add_u8_avx512 (const QsAddParams    *p,
                  const uint8_t *const *inputs,
                  uint8_t              *out,
                  size_t                n)
{
  Rescaler input_rescalers[QS_ENGINE_MAX_INPUTS];
  __m512i input_offsets[QS_ENGINE_MAX_INPUTS];
  Rescaler output = rescaler_init (p->output_multiplier, p->output_left_shift,
                                   p->output_right_shift);
  const __m128i left_shift = _mm_cvtsi32_si128 (p->left_shift);
  const __m512i offset = _mm512_set1_epi32 (p->output_offset);
  const __m512i lo = _mm512_set1_epi32 (p->act_min), hi = _mm512_set1_epi32 (p->act_max);

  for (size_t j = 0; j < p->n_inputs; j++)
    {
      input_rescalers[j] = rescaler_init (p->input_multiplier[j], 0, p->input_shift[j]);
      input_offsets[j] = _mm512_set1_epi32 (p->input_offset[j]);
    }
  for (size_t i = 0; i < n; i += LANES)
    {
      __mmask16 valid = valid_lanes (n - i);
      __m512i sum = _mm512_setzero_si512 ();

      for (size_t j = 0; j < p->n_inputs; j++)
        {
          __m512i x = _mm512_sll_epi32 (_mm512_add_epi32 (load16 (valid, inputs[j] + i),
                                                          input_offsets[j]), left_shift);
          __m512i scaled = rescale (&input_rescalers[j], x);

          sum = p->input_sign[j] < 0 ? _mm512_sub_epi32 (sum, scaled)
                                     : _mm512_add_epi32 (sum, scaled);
        }
      finish_store (&output, sum, offset, lo, hi, valid, out + i);
    }
}

void
qs_mul_u8_avx512 (const QsMulParams *p,
                  const uint8_t     *a,
                  const uint8_t     *b,
                  size_t             b_len,
                  uint8_t           *out,
                  size_t             n)
{
  Rescaler r = rescaler_init (p->output_multiplier, p->output_left_shift, p->output_right_shift);
  const __m512i a_offset = _mm512_set1_epi32 (p->a_offset);
  const __m512i b_offset = _mm512_set1_epi32 (p->b_offset);
  const __m512i offset = _mm512_set1_epi32 (p->output_offset);
  const __m512i lo = _mm512_set1_epi32 (p->act_min), hi = _mm512_set1_epi32 (p->act_max);
  /* One factor for the whole tensor: a single row of n. */
  size_t row = b_len == 1 ? n : b_len;
  const __m512i b_fixed = _mm512_add_epi32 (_mm512_set1_epi32 (b_len > 0 ? b[0] : 0), b_offset);

  for (size_t i = 0; i < n; i += row)
    for (size_t j = 0; j < row; j += LANES)
      {
        __mmask16 valid = valid_lanes (row - j);
        __m512i va = _mm512_add_epi32 (load16 (valid, a + i + j), a_offset);
        __m512i vb = b_len == 1 ? b_fixed : _mm512_add_epi32 (load16 (valid, b + j), b_offset);

        finish_store (&r, _mm512_mullo_epi32 (va, vb), offset, lo, hi, valid, out + i + j);
      }
}

void
qs_rescale_u8_avx512 (const QsRescaleParams *p,
                      const uint8_t         *in,
                      size_t                 rows,
                      size_t                 cols,
                      size_t                 in_stride,
                      uint8_t               *out,
                      size_t                 out_stride)
{
  Rescaler r = rescaler_init (p->multiplier, p->left_shift, p->right_shift);
  const __m512i input_offset = _mm512_set1_epi32 (p->input_offset);
  const __m512i offset = _mm512_set1_epi32 (p->output_offset);
  const __m512i lo = _mm512_setzero_si512 (), hi = _mm512_set1_epi32 (255);

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
    for (size_t c = 0; c < cols; c += LANES)
      {
        __mmask16 valid = valid_lanes (cols - c);
        __m512i x = _mm512_add_epi32 (load16 (valid, in + row * in_stride + c), input_offset);

        finish_store (&r, x, offset, lo, hi, valid, out + row * out_stride + c);
      }
}

/* The rule of qs_range_f32_avx2, 16 lanes; the last partial block's
 * missing lanes keep their accumulators (a masked min/max). */
void
qs_range_f32_avx512 (const float *v,
                     size_t       n,
                     float       *lo,
                     float       *hi)
{
  __m512 a[4], b[4];
  float la[LANES], lb[LANES];
  size_t i = 0;

  for (int j = 0; j < 4; j++)
    {
      a[j] = _mm512_set1_ps (*lo);
      b[j] = _mm512_set1_ps (*hi);
    }
  for (; i + 4 * LANES <= n; i += 4 * LANES)
    for (int j = 0; j < 4; j++)
      {
        __m512 x = _mm512_loadu_ps (v + i + j * LANES);

        a[j] = _mm512_min_ps (x, a[j]);
        b[j] = _mm512_max_ps (x, b[j]);
      }
  for (; i < n; i += LANES)
    {
      __mmask16 m = n - i >= LANES ? (__mmask16) 0xffff : (__mmask16) ((1u << (n - i)) - 1);
      __m512 x = _mm512_maskz_loadu_ps (m, v + i);

      a[0] = _mm512_mask_min_ps (a[0], m, x, a[0]);
      b[0] = _mm512_mask_max_ps (b[0], m, x, b[0]);
    }
  for (int j = 1; j < 4; j++)
    {
      a[0] = _mm512_min_ps (a[j], a[0]);
      b[0] = _mm512_max_ps (b[j], b[0]);
    }
  _mm512_storeu_ps (la, a[0]);
  _mm512_storeu_ps (lb, b[0]);
  for (int j = 0; j < LANES; j++)
    {
      *lo = la[j] < *lo ? la[j] : *lo;
      *hi = lb[j] > *hi ? lb[j] : *hi;
    }
}

/* The rule of qs_clamp_u8_avx2, 64 codes at a time; the last partial
 * block is a masked load and store. */
void
qs_clamp_u8_avx512 (uint8_t        lo,
                    uint8_t        hi,
                    const uint8_t *in,
                    uint8_t       *out,
                    size_t         n)
{
  __m512i vlo = _mm512_set1_epi8 ((char) lo), vhi = _mm512_set1_epi8 ((char) hi);

  for (size_t i = 0; i < n; i += 64)
    {
      __mmask64 m = n - i >= 64 ? ~(__mmask64) 0 : (((__mmask64) 1 << (n - i)) - 1);
      __m512i x = _mm512_maskz_loadu_epi8 (m, in + i);

      _mm512_mask_storeu_epi8 (out + i, m, _mm512_min_epu8 (_mm512_max_epu8 (x, vlo), vhi));
    }
}
