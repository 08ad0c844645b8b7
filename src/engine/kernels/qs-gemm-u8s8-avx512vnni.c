/* qs-gemm-u8s8-avx512vnni.c: uint8 x int8 GEMM with AVX-512 VNNI (vpdpbusd).
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * vpdpbusd multiplies four unsigned bytes by four signed bytes and adds
 * the four products to an int32 lane with no intermediate saturation, so
 * it is exact for any uint8 activations and int8 weights. Weights are
 * packed as blocks of 16 output channels with four consecutive k of a
 * channel adjacent: [n/16][kp/4][16][4] int8, one 64-byte load per block
 * and k-quad; each row's k-quad is broadcast as one 32-bit value. The
 * micro-kernel computes 8 rows x 32 channels (16 accumulators);
 * qs_gemm_requant_u8s8_avx512vnni requantizes each such block while it is
 * in L1, so no int32 tile is written out and read back by a second pass.
 */
#include "qs-requantize-avx512.h"
#include <string.h>

#define NB 16  /* channels per packed block */
#define MR 8   /* rows per micro-kernel call */

size_t
qs_gemm_u8s8_packed_size_avx512vnni (size_t n,
                                     size_t kp)
{
  return qs_gemm_blocked_size (n, kp, NB, sizeof (int8_t));
}

void
qs_gemm_u8s8_pack_avx512vnni (size_t        n,
                              size_t        k,
                              size_t        kp,
                              const int8_t *w,
                              void         *packed)
{
  /* k-quads of int8: one vpdpbusd operand. */
  qs_gemm_pack_blocked (n, k, kp, w, NB, 4, false, packed);
}

static inline __mmask16
lane_mask (size_t valid)
{
  return valid >= NB ? (__mmask16) 0xFFFF : (__mmask16) ((1u << valid) - 1);
}

static inline __m512i
broadcast_quad (const uint8_t *p)
{
  int32_t v;

  memcpy (&v, p, sizeof v);
  return _mm512_set1_epi32 (v);
}

/* Not inlined: within a caller GCC allocates its 16 accumulators worse
 * (copies and spills in the k loop, 30% slower on ResNet18's layers). */
static __attribute__ ((noinline)) void
micro_kernel (size_t         rows,
              size_t         kp,
              const uint8_t *a,
              size_t         lda,
              const int8_t  *w0,
              const int8_t  *w1,
              size_t         valid0,
              size_t         valid1,
              int32_t       *c,
              size_t         ldc)
{
  const uint8_t *ar[MR];
  __m512i acc0[MR], acc1[MR];

  /* Rows past the end repeat the last one: computed, never stored. */
  for (size_t r = 0; r < MR; r++)
    {
      ar[r] = a + (r < rows ? r : rows - 1) * lda;
      acc0[r] = _mm512_setzero_si512 ();
      acc1[r] = _mm512_setzero_si512 ();
    }

  if (w1 != NULL)
    for (size_t k = 0; k < kp; k += 4)
      {
        __m512i wa = _mm512_loadu_si512 ((const void *) (w0 + k * NB));
        __m512i wb = _mm512_loadu_si512 ((const void *) (w1 + k * NB));

        for (size_t r = 0; r < MR; r++)
          {
            __m512i x = broadcast_quad (ar[r] + k);

            acc0[r] = _mm512_dpbusd_epi32 (acc0[r], x, wa);
            acc1[r] = _mm512_dpbusd_epi32 (acc1[r], x, wb);
          }
      }
  else
    for (size_t k = 0; k < kp; k += 4)
      {
        __m512i wa = _mm512_loadu_si512 ((const void *) (w0 + k * NB));

        for (size_t r = 0; r < MR; r++)
          acc0[r] = _mm512_dpbusd_epi32 (acc0[r], broadcast_quad (ar[r] + k), wa);
      }

  for (size_t r = 0; r < rows; r++)
    {
      _mm512_mask_storeu_epi32 (c + r * ldc, lane_mask (valid0), acc0[r]);
      if (w1 != NULL)
        _mm512_mask_storeu_epi32 (c + r * ldc + NB, lane_mask (valid1), acc1[r]);
    }
}

void
qs_gemm_u8s8_avx512vnni (size_t         m,
                         size_t         n,
                         size_t         kp,
                         const uint8_t *a,
                         size_t         lda,
                         const void    *packed,
                         int32_t       *c,
                         size_t         ldc)
{
  const int8_t *w = packed;
  size_t blocks = (n + NB - 1) / NB;
  size_t block_stride = kp * NB;

  if (m == 0)
    return;
  for (size_t b = 0; b < blocks; b += 2)
    {
      const int8_t *w0 = w + b * block_stride;
      const int8_t *w1 = b + 1 < blocks ? w + (b + 1) * block_stride : NULL;
      size_t valid0 = n - b * NB < NB ? n - b * NB : NB;
      size_t valid1 = w1 != NULL ? (n - (b + 1) * NB < NB ? n - (b + 1) * NB : NB) : 0;

      for (size_t i = 0; i < m; i += MR)
        micro_kernel (m - i < MR ? m - i : MR, kp, a + i * lda, lda, w0, w1, valid0, valid1,
                      c + i * ldc + b * NB, ldc);
    }
}

void
qs_gemm_requant_u8s8_avx512vnni (size_t                 m,
                                 size_t                 n,
                                 size_t                 kp,
                                 const uint8_t         *a,
                                 size_t                 lda,
                                 const void            *packed,
                                 const int32_t         *rowsum,
                                 const QsRequantParams *p,
                                 uint8_t               *out,
                                 size_t                 ldout)
{
  const int8_t *w = packed;
  size_t blocks = (n + NB - 1) / NB;
  size_t block_stride = kp * NB;

  for (size_t b = 0; b < blocks; b += 2)
    {
      const int8_t *w0 = w + b * block_stride;
      const int8_t *w1 = b + 1 < blocks ? w + (b + 1) * block_stride : NULL;
      size_t valid0 = n - b * NB < NB ? n - b * NB : NB;
      size_t valid1 = w1 != NULL ? (n - (b + 1) * NB < NB ? n - (b + 1) * NB : NB) : 0;
      QsRequantLanes lanes0 = qs_requant_lanes_avx512 (p, b * NB, lane_mask (valid0)), lanes1 = lanes0;
      int32_t tile[MR * 2 * NB];

      if (w1 != NULL)
        lanes1 = qs_requant_lanes_avx512 (p, (b + 1) * NB, lane_mask (valid1));
      for (size_t i = 0; i < m; i += MR)
        {
          size_t rows = m - i < MR ? m - i : MR;

          /* The sums of MR rows x 32 channels go through L1, not a whole tile. */
          micro_kernel (rows, kp, a + i * lda, lda, w0, w1, valid0, valid1, tile, 2 * NB);
          for (size_t r = 0; r < rows; r++)
            {
              int32_t rs = p->weight_zp != NULL ? rowsum[i + r] : 0;
              uint8_t *o = out + (i + r) * ldout + b * NB;

              _mm512_mask_cvtusepi32_storeu_epi8 (
                o, lane_mask (valid0),
                qs_requant_vector_avx512 (&lanes0, p, _mm512_maskz_loadu_epi32 (lane_mask (valid0), tile + r * 2 * NB), rs));
              if (w1 != NULL)
                _mm512_mask_cvtusepi32_storeu_epi8 (
                  o + NB, lane_mask (valid1),
                  qs_requant_vector_avx512 (&lanes1, p, _mm512_maskz_loadu_epi32 (lane_mask (valid1), tile + r * 2 * NB + NB), rs));
            }
        }
    }
}
