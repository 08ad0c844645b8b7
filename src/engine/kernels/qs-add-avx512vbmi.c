/* qs-add-avx512vbmi.c: the quantized Add of qs-eltwise-scalar.c, 64 codes at a time, each input's term looked up.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * An input's term of the sum ((q - zero) << 20, rescaled to twice the
 * largest input scale) depends on its code alone, so its 256 values are
 * tabulated once per call by the scalar rules (qs_add_input_terms) and
 * looked up a byte of the int32 at a time: four 256-byte planes, each
 * read with two vpermi2b and a blend on the code's top bit, as
 * qs-lut-avx512.c reads its table. Unpacking the four byte vectors
 * rebuilds the terms as int32 lanes (in an order within each 128-bit
 * lane that the packs at the end undo), so only the sum goes through
 * MultiplyByQuantizedMultiplier per element: about half the work of
 * qs_add_u8_avx512, which rescales every input, and the same bits.
 */
#include "qs-eltwise-avx512.h"

#include <stdalign.h>

/* Byte @b of each code's term, for b = 0..3. */
typedef struct {
  alignas (64) uint8_t plane[4][256];
} TermPlanes;

static void
term_planes_init (const QsAddParams *p,
                  size_t             j,
                  TermPlanes        *t)
{
  int32_t terms[256];

  qs_add_input_terms (p, j, terms);
  for (int q = 0; q < 256; q++)
    for (int b = 0; b < 4; b++)
      t->plane[b][q] = (uint8_t) ((uint32_t) terms[q] >> (8 * b));
}

/* The plane's bytes for 64 codes; @top has the codes' top bits. */
static inline __m512i
lookup (const uint8_t plane[256],
        __m512i       codes,
        __mmask64     top)
{
  __m512i low = _mm512_permutex2var_epi8 (_mm512_load_si512 (plane), codes,
                                          _mm512_load_si512 (plane + 64));
  __m512i high = _mm512_permutex2var_epi8 (_mm512_load_si512 (plane + 128), codes,
                                           _mm512_load_si512 (plane + 192));

  return _mm512_mask_blend_epi8 (top, low, high);
}

void
qs_add_u8_avx512vbmi (const QsAddParams    *p,
                      const uint8_t *const *inputs,
                      uint8_t              *out,
                      size_t                n)
{
  TermPlanes terms[QS_ENGINE_MAX_INPUTS];
  Rescaler output = rescaler_init (p->output_multiplier, p->output_left_shift,
                                   p->output_right_shift);
  const __m512i offset = _mm512_set1_epi32 (p->output_offset);
  const __m512i lo = _mm512_set1_epi8 ((char) p->act_min), hi = _mm512_set1_epi8 ((char) p->act_max);

  for (size_t j = 0; j < p->n_inputs; j++)
    term_planes_init (p, j, &terms[j]);
  for (size_t i = 0; i < n; i += 64)
    {
      __mmask64 valid = n - i >= 64 ? ~(__mmask64) 0 : ((__mmask64) 1 << (n - i)) - 1;
      /* sum[v] holds elements 4v..4v+3 of each 128-bit lane's sixteen. */
      __m512i sum[4], y[4], codes;

      for (int v = 0; v < 4; v++)
        sum[v] = _mm512_setzero_si512 ();
      for (size_t j = 0; j < p->n_inputs; j++)
        {
          __m512i q = _mm512_maskz_loadu_epi8 (valid, inputs[j] + i);
          __mmask64 top = _mm512_movepi8_mask (q);
          __m512i b0 = lookup (terms[j].plane[0], q, top), b1 = lookup (terms[j].plane[1], q, top);
          __m512i b2 = lookup (terms[j].plane[2], q, top), b3 = lookup (terms[j].plane[3], q, top);
          __m512i low01 = _mm512_unpacklo_epi8 (b0, b1), high01 = _mm512_unpackhi_epi8 (b0, b1);
          __m512i low23 = _mm512_unpacklo_epi8 (b2, b3), high23 = _mm512_unpackhi_epi8 (b2, b3);

          sum[0] = _mm512_add_epi32 (sum[0], _mm512_unpacklo_epi16 (low01, low23));
          sum[1] = _mm512_add_epi32 (sum[1], _mm512_unpackhi_epi16 (low01, low23));
          sum[2] = _mm512_add_epi32 (sum[2], _mm512_unpacklo_epi16 (high01, high23));
          sum[3] = _mm512_add_epi32 (sum[3], _mm512_unpackhi_epi16 (high01, high23));
        }
      for (int v = 0; v < 4; v++)
        y[v] = _mm512_add_epi32 (rescale (&output, sum[v]), offset);
      /* Saturating to int16 and then to 0..255 clamps as the scalar does,
       * act_min..act_max lying within 0..255. */
      codes = _mm512_packus_epi16 (_mm512_packs_epi32 (y[0], y[1]), _mm512_packs_epi32 (y[2], y[3]));
      codes = _mm512_min_epu8 (_mm512_max_epu8 (codes, lo), hi);
      _mm512_mask_storeu_epi8 (out + i, valid, codes);
    }
}
