/* qs-lut-avx512.c: 256-entry table lookups, 64 codes at a time with AVX-512 VBMI.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * vpermi2b looks up 128 bytes held in two registers with the low seven
 * bits of each code: one lookup in each half of the table, and the code's
 * top bit picks between them. Masked loads and stores take the last
 * partial block, so nothing past the buffers is touched. Built with
 * -mavx512vbmi in a library of its own: VBMI is not implied by the VNNI
 * the other AVX-512 kernels need (Cascade Lake has VNNI without it), so
 * qs-dispatch.c checks for it separately.
 */
#include "qs-graph-kernels.h"

#include <immintrin.h>

void
qs_lut_u8_avx512vbmi (const uint8_t  table[256],
                      const uint8_t *in,
                      uint8_t       *out,
                      size_t         n)
{
  const __m512i t0 = _mm512_loadu_si512 (table);
  const __m512i t1 = _mm512_loadu_si512 (table + 64);
  const __m512i t2 = _mm512_loadu_si512 (table + 128);
  const __m512i t3 = _mm512_loadu_si512 (table + 192);

  for (size_t i = 0; i < n; i += 64)
    {
      __mmask64 valid = n - i >= 64 ? ~(__mmask64) 0 : ((__mmask64) 1 << (n - i)) - 1;
      __m512i codes = _mm512_maskz_loadu_epi8 (valid, in + i);
      __m512i low = _mm512_permutex2var_epi8 (t0, codes, t1);
      __m512i high = _mm512_permutex2var_epi8 (t2, codes, t3);
      __m512i result = _mm512_mask_blend_epi8 (_mm512_movepi8_mask (codes), low, high);

      _mm512_mask_storeu_epi8 (out + i, valid, result);
    }
}
