/* qs-lut-avx2.c: 256-entry table lookups, 32 codes at a time with vpshufb.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * vpshufb looks up 16-entry tables, so the table is cut into 16 rows of
 * 16: each row is looked up with the low nibble of every code and kept
 * where the high nibble names that row. 16 shuffles per 32 codes still
 * beat 32 scalar loads, and AVX2's gathers (dwords only) would need the
 * codes widened fourfold.
 */
#include "qs-graph-kernels.h"

#include <immintrin.h>

void
qs_lut_u8_avx2 (const uint8_t  table[256],
                const uint8_t *in,
                uint8_t       *out,
                size_t         n)
{
  const __m256i low_nibble = _mm256_set1_epi8 (0x0F);
  __m256i rows[16];
  size_t i = 0;

  for (int r = 0; r < 16; r++)
    rows[r] = _mm256_broadcastsi128_si256 (_mm_loadu_si128 ((const __m128i *) (table + 16 * r)));

  for (; i + 32 <= n; i += 32)
    {
      __m256i codes = _mm256_loadu_si256 ((const __m256i *) (in + i));
      __m256i column = _mm256_and_si256 (codes, low_nibble);
      __m256i row = _mm256_and_si256 (_mm256_srli_epi16 (codes, 4), low_nibble);
      __m256i result = _mm256_setzero_si256 ();

      for (int r = 0; r < 16; r++)
        {
          __m256i hit = _mm256_cmpeq_epi8 (row, _mm256_set1_epi8 ((char) r));

          result = _mm256_or_si256 (result,
                                    _mm256_and_si256 (hit, _mm256_shuffle_epi8 (rows[r], column)));
        }
      _mm256_storeu_si256 ((__m256i *) (out + i), result);
    }
  qs_lut_u8_scalar (table, in + i, out + i, n - i);
}
