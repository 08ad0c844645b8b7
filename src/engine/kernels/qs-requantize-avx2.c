/* qs-requantize-avx2.c: int32 accumulators to uint8 codes, 8 channels at a time.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The rules of qs-requantize-scalar.c, bit for bit (the vector steps are
 * in qs-requantize-avx2.h). The rarely used left shifts and fractional
 * zero-point corrections go to the reference. Channels are the outer loop
 * so each block's parameters stay in registers over the rows.
 */
#include "qs-requantize-avx2.h"

static inline __m256i
lane_mask (size_t valid)
{
  static const int32_t lanes[16] = { -1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0 };

  return _mm256_loadu_si256 ((const __m256i *) (lanes + 8 - valid));
}

void
qs_requantize_u8_avx2 (size_t                 rows,
                       size_t                 n,
                       const int32_t         *acc,
                       size_t                 ldacc,
                       const int32_t         *rowsum,
                       const QsRequantParams *p,
                       uint8_t               *out,
                       size_t                 ldout)
{
  if (p->left_shift != NULL || p->frac_q16 != NULL)
    {
      qs_requantize_u8_scalar (rows, n, acc, ldacc, rowsum, p, out, ldout);
      return;
    }
  for (size_t c = 0; c + 8 <= n; c += 8)
    {
      QsRequantLanes8 lanes = qs_requant_lanes_avx2 (p, c);

      for (size_t r = 0; r < rows; r++)
        {
          __m256i y = qs_requant_vector_avx2 (&lanes, p, _mm256_loadu_si256 ((const __m256i *) (acc + r * ldacc + c)),
                                              p->weight_zp != NULL ? rowsum[r] : 0);
          __m128i w16 = _mm_packs_epi32 (_mm256_castsi256_si128 (y), _mm256_extracti128_si256 (y, 1));

          _mm_storel_epi64 ((__m128i *) (out + r * ldout + c), _mm_packus_epi16 (w16, w16));
        }
    }
  if (n % 8 != 0)
    {
      size_t c0 = n - n % 8;

      (void) lane_mask;
      for (size_t r = 0; r < rows; r++)
        for (size_t c = c0; c < n; c++)
          out[r * ldout + c] = qs_requantize_one (acc[r * ldacc + c], rowsum != NULL ? rowsum[r] : 0, c, p);
    }
}
