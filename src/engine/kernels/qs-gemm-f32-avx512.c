/* qs-gemm-f32-avx512.c: float32 GEMM with bias and clamp on AVX-512F.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Weights packed once, at prepare time, as blocks of 32 output channels,
 * [n/32][k][32], the last block only 16 wide when 16 channels cover what
 * is left (zero beyond n). The micro-kernel computes 12 rows x 32
 * channels in 24 zmm accumulators: per k, two weight loads and twelve
 * broadcasts feed 24 FMAs, a third of the loads per FMA of the AVX2
 * kernel's 6 x 16 tile. On Zen 4, whose 512-bit FMA is two 256-bit
 * halves (the same peak as AVX2), that alone makes it about 2.7 times as
 * fast, near the peak (bench/bench-gemm-f32); where two whole blocks
 * remain, 6 rows x 64 channels in 24 accumulators do better still. k is
 * walked in chunks of KC so a chunk of the weight block stays in L2
 * while every row tile of the call uses it; between chunks the sums wait in C, which a float store
 * and load carry exactly. Each sum starts from the bias and adds k in
 * order with one FMA per product; the clamp (the fused ReLU or ReLU6) is
 * applied in the last chunk's store: bit for bit the in-order fmaf
 * reference.
 */
#include "qs-kernels.h"

#include <immintrin.h>

#define NB 32   /* channels per packed block */
#define MR 12   /* rows per micro-tile */
#define MR2 6   /* rows per micro-tile of two blocks */
#define KC 512  /* k per chunk: a 32-wide chunk of weights is 64 KB */

static size_t
packed_width (size_t n)
{
  return (n + 15) / 16 * 16;
}

size_t
qs_gemm_f32_packed_size_avx512 (size_t n,
                                size_t k)
{
  return packed_width (n) * k;
}

void
qs_gemm_f32_pack_avx512 (size_t       n,
                         size_t       k,
                         const float *w,
                         float       *packed)
{
  size_t width = packed_width (n);

  for (size_t c0 = 0; c0 < width; c0 += NB)
    {
      size_t bw = width - c0 < NB ? width - c0 : NB;

      for (size_t q = 0; q < k; q++)
        for (size_t j = 0; j < bw; j++)
          *packed++ = c0 + j < n ? w[q * n + c0 + j] : 0.0f;
    }
}

static inline __mmask16
lane_mask (size_t valid)
{
  return valid >= 16 ? (__mmask16) 0xFFFF : (__mmask16) ((1u << valid) - 1);
}

/* Rows [0, @rows) of a micro-tile, channels of one block (@nv vectors of
 * 16, @m0 / @m1 the valid lanes), k in [0, @kc) of a chunk. The sums
 * start from @bias when @bias is not NULL, else from C (an earlier chunk);
 * @last clamps them. Inlined with constant @nv so the sums stay in
 * registers. */
static inline void
tile (size_t        rows,
      size_t        kc,
      const float  *a,
      size_t        lda,
      const float  *w,
      size_t        width,
      int           nv,
      __mmask16     m0,
      __mmask16     m1,
      const float  *bias,
      bool          last,
      __m512        vlo,
      __m512        vhi,
      float        *c,
      size_t        ldc)
{
  const float *ar[MR];
  __m512 acc0[MR], acc1[MR];

  for (size_t r = 0; r < MR; r++)
    {
      size_t row = r < rows ? r : rows - 1;

      ar[r] = a + row * lda;
      if (bias != NULL)
        {
          acc0[r] = _mm512_maskz_loadu_ps (m0, bias);
          acc1[r] = nv == 2 ? _mm512_maskz_loadu_ps (m1, bias + 16) : acc0[r];
        }
      else
        {
          acc0[r] = _mm512_maskz_loadu_ps (m0, c + row * ldc);
          acc1[r] = nv == 2 ? _mm512_maskz_loadu_ps (m1, c + row * ldc + 16) : acc0[r];
        }
    }
  for (size_t q = 0; q < kc; q++)
    {
      __m512 w0 = _mm512_loadu_ps (w + q * width);
      __m512 w1 = nv == 2 ? _mm512_loadu_ps (w + q * width + 16) : w0;

      for (size_t r = 0; r < MR; r++)
        {
          __m512 x = _mm512_set1_ps (ar[r][q]);

          acc0[r] = _mm512_fmadd_ps (x, w0, acc0[r]);
          if (nv == 2)
            acc1[r] = _mm512_fmadd_ps (x, w1, acc1[r]);
        }
    }
  for (size_t r = 0; r < rows; r++)
    {
      float *o = c + r * ldc;
      __m512 v0 = acc0[r], v1 = acc1[r];

      /* max/min return their second operand when either is NaN: with the
       * sum second, NaN passes through as it does in the scalar clamp. */
      if (last)
        {
          v0 = _mm512_min_ps (vhi, _mm512_max_ps (vlo, v0));
          v1 = _mm512_min_ps (vhi, _mm512_max_ps (vlo, v1));
        }
      _mm512_mask_storeu_ps (o, m0, v0);
      if (nv == 2)
        _mm512_mask_storeu_ps (o + 16, m1, v1);
    }
}

/* Rows [0, @rows) of a micro-tile of MR2 rows over two whole blocks (64
 * channels, @wa / @wb each block's chunk), k in [0, @kc): 24 sums in
 * registers, so per k four weight loads and six broadcasts feed 24
 * FMAs, fewer loads and broadcasts per FMA than tile's 12 x 32. Seven
 * rows (28 sums, 1.06 to 1.08 times tile's speed on Zen 4) need 33 of the
 * 32 vector registers with the weights and the broadcast: GCC keeps one
 * sum on the stack, a store and a load every k; six rows are 1.02 to 1.10
 * times as fast as seven on the Xeon (Sapphire Rapids class) this was
 * measured on. The same sums in the same order. Starts from @bias or C
 * and clamps when @last, as tile does. */
static inline void
tile_pair (size_t       rows,
           size_t       kc,
           const float *a,
           size_t       lda,
           const float *wa,
           const float *wb,
           const float *bias,
           bool         last,
           __m512       vlo,
           __m512       vhi,
           float       *c,
           size_t       ldc)
{
  const float *ar[MR2];
  __m512 acc[MR2][4];

  for (size_t r = 0; r < MR2; r++)
    {
      size_t row = r < rows ? r : rows - 1;
      const float *init = bias != NULL ? bias : c + row * ldc;

      ar[r] = a + row * lda;
      for (int v = 0; v < 4; v++)
        acc[r][v] = _mm512_loadu_ps (init + 16 * v);
    }
  for (size_t q = 0; q < kc; q++)
    {
      __m512 w0 = _mm512_loadu_ps (wa + q * NB), w1 = _mm512_loadu_ps (wa + q * NB + 16);
      __m512 w2 = _mm512_loadu_ps (wb + q * NB), w3 = _mm512_loadu_ps (wb + q * NB + 16);

      for (size_t r = 0; r < MR2; r++)
        {
          __m512 x = _mm512_set1_ps (ar[r][q]);

          acc[r][0] = _mm512_fmadd_ps (x, w0, acc[r][0]);
          acc[r][1] = _mm512_fmadd_ps (x, w1, acc[r][1]);
          acc[r][2] = _mm512_fmadd_ps (x, w2, acc[r][2]);
          acc[r][3] = _mm512_fmadd_ps (x, w3, acc[r][3]);
        }
    }
  for (size_t r = 0; r < rows; r++)
    for (int v = 0; v < 4; v++)
      {
        __m512 x = acc[r][v];

        if (last)
          x = _mm512_min_ps (vhi, _mm512_max_ps (vlo, x));
        _mm512_storeu_ps (c + r * ldc + 16 * v, x);
      }
}

void
qs_gemm_f32_avx512 (size_t       m,
                    size_t       n,
                    size_t       k,
                    const float *a,
                    size_t       lda,
                    const float *packed,
                    const float *bias,
                    float        lo,
                    float        hi,
                    float       *c,
                    size_t       ldc)
{
  size_t width = packed_width (n);
  __m512 vlo = _mm512_set1_ps (lo), vhi = _mm512_set1_ps (hi);
  size_t q0 = 0;

  if (m == 0 || n == 0)
    return;
  /* At least one chunk, so that k = 0 still stores the clamped bias. */
  do
    {
      size_t kc = k - q0 < KC ? k - q0 : KC;
      bool first = q0 == 0, last = q0 + kc == k;

      size_t c0 = 0;

      /* Two whole blocks at a time while n has them, then one. */
      for (; c0 + 2 * NB <= n; c0 += 2 * NB)
        {
          const float *wa = packed + c0 * k + q0 * NB, *wb = packed + (c0 + NB) * k + q0 * NB;
          const float *b = first ? bias + c0 : NULL;

          for (size_t i = 0; i < m; i += MR2)
            tile_pair (m - i < MR2 ? m - i : MR2, kc, a + i * lda + q0, lda, wa, wb, b, last, vlo, vhi,
                       c + i * ldc + c0, ldc);
        }
      for (; c0 < width; c0 += NB)
        {
          size_t bw = width - c0 < NB ? width - c0 : NB;
          size_t valid = n - c0 < NB ? n - c0 : NB;
          const float *w = packed + c0 * k + q0 * bw;
          __mmask16 m0 = lane_mask (valid), m1 = lane_mask (valid > 16 ? valid - 16 : 0);
          const float *b = first ? bias + c0 : NULL;

          for (size_t i = 0; i < m; i += MR)
            {
              size_t rows = m - i < MR ? m - i : MR;
              const float *ai = a + i * lda + q0;
              float *ci = c + i * ldc + c0;

              if (bw == NB)
                tile (rows, kc, ai, lda, w, NB, 2, m0, m1, b, last, vlo, vhi, ci, ldc);
              else
                tile (rows, kc, ai, lda, w, 16, 1, m0, 0, b, last, vlo, vhi, ci, ldc);
            }
        }
      q0 += kc;
    }
  while (q0 < k);
}
