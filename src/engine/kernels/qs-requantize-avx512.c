/* qs-requantize-avx512.c: int32 accumulators to uint8 codes, 16 channels at a time.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The rules of qs-requantize-scalar.c, bit for bit (both roundings in one
 * 64-bit shift: qs-requantize-avx512.h), with masked loads for a last
 * partial block of channels and vpmovdb narrowing the clamped codes
 * straight into the output.
 */
#include "qs-requantize-avx512.h"

void
qs_requantize_u8_avx512 (size_t                 rows,
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
  for (size_t c = 0; c < n; c += 16)
    {
      __mmask16 k = n - c >= 16 ? (__mmask16) 0xFFFF : (__mmask16) ((1u << (n - c)) - 1);
      QsRequantLanes lanes = qs_requant_lanes_avx512 (p, c, k);

      for (size_t r = 0; r < rows; r++)
        {
          __m512i y = qs_requant_vector_avx512 (&lanes, p, _mm512_maskz_loadu_epi32 (k, acc + r * ldacc + c),
                                                p->weight_zp != NULL ? rowsum[r] : 0);

          _mm512_mask_cvtepi32_storeu_epi8 (out + r * ldout + c, k, y);
        }
    }
}
