/* qs-lut-avx2.c: 256-entry table lookups, 32 codes at a time with vpshufb.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * vpshufb looks up 16-entry tables and gives 0 where the index's top bit
 * is set. Each half of the table is 8 rows of 16; row t is stored XORed
 * with row t - 1, and looked up with index (code & 127) - 16 t, which
 * keeps the low nibble while the row exists (t <= code's row) and turns
 * negative, giving 0, after it: XORing rows 0..r of differences leaves row
 * r. Two such chains share the indices; the code's top bit picks the half.
 * 16 shuffles per 32 codes (the minimum with 16-entry shuffles) and half
 * the other work of masking each row with a comparison; AVX2's gathers
 * (dwords only) would need the codes widened fourfold.
 */
#include "qs-graph-kernels.h"

#include <immintrin.h>

void
qs_lut_u8_avx2 (const uint8_t  table[256],
                const uint8_t *in,
                uint8_t       *out,
                size_t         n)
{
  const __m256i low_seven = _mm256_set1_epi8 (0x7F), row_step = _mm256_set1_epi8 (16);
  __m256i low_rows[8], high_rows[8];
  size_t i = 0;

  for (int t = 0; t < 8; t++)
    {
      __m128i low = _mm_loadu_si128 ((const __m128i *) (table + 16 * t));
      __m128i high = _mm_loadu_si128 ((const __m128i *) (table + 128 + 16 * t));

      if (t > 0)
        {
          low = _mm_xor_si128 (low, _mm_loadu_si128 ((const __m128i *) (table + 16 * (t - 1))));
          high = _mm_xor_si128 (high,
                                _mm_loadu_si128 ((const __m128i *) (table + 128 + 16 * (t - 1))));
        }
      low_rows[t] = _mm256_broadcastsi128_si256 (low);
      high_rows[t] = _mm256_broadcastsi128_si256 (high);
    }

  for (; i + 32 <= n; i += 32)
    {
      __m256i codes = _mm256_loadu_si256 ((const __m256i *) (in + i));
      __m256i index = _mm256_and_si256 (codes, low_seven);
      __m256i low = _mm256_setzero_si256 (), high = _mm256_setzero_si256 ();

      for (int t = 0; t < 8; t++)
        {
          low = _mm256_xor_si256 (low, _mm256_shuffle_epi8 (low_rows[t], index));
          high = _mm256_xor_si256 (high, _mm256_shuffle_epi8 (high_rows[t], index));
          index = _mm256_sub_epi8 (index, row_step);
        }
      _mm256_storeu_si256 ((__m256i *) (out + i), _mm256_blendv_epi8 (low, high, codes));
    }
  qs_lut_u8_scalar (table, in + i, out + i, n - i);
}
