/* qs-gemm-f32-skip-zeros-avx512.c: float32 GEMM that skips A's zeros, on AVX-512F.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * On qs_gemm_f32_avx512's packing ([n/32][k][32] blocks, the last 16 wide
 * where that covers n). A float layer between 8-bit activations reads
 * many exact zeros (codes at the zero point, most after a ReLU6), and
 * fma (0, w, s) is s for every finite w as long as s is not -0.0 (sums
 * start from a bias that is not -0.0, and an in-order sum of such terms
 * never reaches -0.0: exact cancellation rounds to +0.0), so their
 * products can be left out without changing a bit
 * (qs_gemm_f32_skips_zeros_exactly says when). Zeros rarely line up
 * across the rows of a register tile (3 % of 12-row tiles' columns on
 * MobileNetV2), so each row walks its own list of nonzero k, two rows in
 * step over groups of up to 128 channels: per nonzero, one broadcast and
 * up to eight weight loads feed up to eight FMAs. Weights are read far
 * more often than by the dense kernel (a load per FMA, not one per
 * twelve), so k is walked in chunks of KC whose group slice stays in L1
 * while the rows of a block use it, and the kernel needs weights on a
 * cache line (a 64-byte load across two lines costs two); between chunks
 * the sums wait in C, as in the dense kernel. On half-zero inputs it
 * takes about 0.7-0.85 of the dense kernel's time from 96 channels up
 * (about 0.7 of its speed per product); below a third zeros it loses.
 */
#include "qs-kernels.h"

#include <immintrin.h>

#define NB 32   /* channels per packed block */
#define KC 48   /* k per chunk: a 128-channel slice of weights is 24 KB (L1) */
#define MB 48   /* rows whose nonzero lists are gathered at once */

/* The nonzero entries of one row's chunk: k offsets within the chunk and values. */
typedef struct {
  uint32_t q[KC + 16];
  float    x[KC + 16];
  size_t   n;
} NonZeros;

static inline __mmask16
lane_mask (size_t valid)
{
  return valid >= 16 ? (__mmask16) 0xFFFF : (__mmask16) ((1u << valid) - 1);
}

/* Compresses in registers and stores whole vectors (the lists have room):
 * a compress straight to memory is microcoded and slow on Zen 4. NaN
 * compares unequal to zero, so it stays in the sum. */
static void
gather_nonzeros (const float *a,
                 size_t       kc,
                 NonZeros    *nz)
{
  const __m512i iota = _mm512_setr_epi32 (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  size_t n = 0;

  for (size_t q = 0; q < kc; q += 16)
    {
      __mmask16 valid = lane_mask (kc - q);
      __m512 v = _mm512_maskz_loadu_ps (valid, a + q);
      __mmask16 keep = _mm512_mask_cmp_ps_mask (valid, v, _mm512_setzero_ps (), _CMP_NEQ_UQ);
      __m512i at = _mm512_add_epi32 (iota, _mm512_set1_epi32 ((int) q));

      _mm512_storeu_si512 (nz->q + n, _mm512_maskz_compress_epi32 (keep, at));
      _mm512_storeu_ps (nz->x + n, _mm512_maskz_compress_ps (keep, v));
      n += (size_t) __builtin_popcount (keep);
    }
  nz->n = n;
}

/* The sums of a channel group for one row: @nb blocks of 32 channels,
 * the last only 16 wide where @half (constants after inlining, so the
 * sums stay in registers). */
#define GB 4  /* blocks per channel group */

typedef struct {
  __m512 v[2 * GB];
} RowSums;

static inline int
group_vectors (int  nb,
               bool half)
{
  return 2 * nb - (half ? 1 : 0);
}

static inline void
sums_load (RowSums         *s,
           int              nv,
           const float     *from,
           const __mmask16 *mask)
{
  for (int i = 0; i < nv; i++)
    s->v[i] = _mm512_maskz_loadu_ps (mask[i], from + 16 * i);
}

static inline void
sums_store (const RowSums   *s,
            int              nv,
            bool             last,
            __m512           vlo,
            __m512           vhi,
            float           *to,
            const __mmask16 *mask)
{
  for (int i = 0; i < nv; i++)
    {
      __m512 v = s->v[i];

      /* The sum second, as in the dense kernel: NaN passes through. */
      if (last)
        v = _mm512_min_ps (vhi, _mm512_max_ps (vlo, v));
      _mm512_mask_storeu_ps (to + 16 * i, mask[i], v);
    }
}

/* Adds x times weight row @q of each block (@w[b] the chunk's first row). */
static inline void
sums_add (RowSums            *s,
          int                 nb,
          bool                half,
          float               x,
          size_t              q,
          const float *const *w)
{
  __m512 b = _mm512_set1_ps (x);

  for (int i = 0; i < nb; i++)
    {
      bool narrow = half && i == nb - 1;
      const float *row = w[i] + q * (narrow ? 16 : NB);

      s->v[2 * i] = _mm512_fmadd_ps (b, _mm512_loadu_ps (row), s->v[2 * i]);
      if (!narrow)
        s->v[2 * i + 1] = _mm512_fmadd_ps (b, _mm512_loadu_ps (row + 16), s->v[2 * i + 1]);
    }
}

/* Rows @r0 and @r1 (@r1 NULL: one row) of a channel group over one
 * chunk, each from @init0 / @init1 (the bias, or C after a chunk). */
static inline void
group_rows (int                 nb,
            bool                half,
            const NonZeros     *r0,
            const NonZeros     *r1,
            const float *const *w,
            const float        *init0,
            const float        *init1,
            bool                last,
            __m512              vlo,
            __m512              vhi,
            float              *c0,
            float              *c1,
            const __mmask16    *mask)
{
  int nv = group_vectors (nb, half);
  RowSums s0, s1;
  size_t j = 0, both = r1 == NULL ? 0 : (r0->n < r1->n ? r0->n : r1->n);

  sums_load (&s0, nv, init0, mask);
  if (r1 != NULL)
    sums_load (&s1, nv, init1, mask);
  for (; j < both; j++)
    {
      sums_add (&s0, nb, half, r0->x[j], r0->q[j], w);
      sums_add (&s1, nb, half, r1->x[j], r1->q[j], w);
    }
  for (size_t i = j; i < r0->n; i++)
    sums_add (&s0, nb, half, r0->x[i], r0->q[i], w);
  sums_store (&s0, nv, last, vlo, vhi, c0, mask);
  if (r1 == NULL)
    return;
  for (size_t i = j; i < r1->n; i++)
    sums_add (&s1, nb, half, r1->x[i], r1->q[i], w);
  sums_store (&s1, nv, last, vlo, vhi, c1, mask);
}

/* Every row pair of a gathered row block, one channel group and chunk. */
static inline void
group_block (int                 nb,
             bool                half,
             const NonZeros     *nz,
             size_t              rows,
             const float *const *w,
             const float        *bias,
             bool                last,
             __m512              vlo,
             __m512              vhi,
             float              *c,
             size_t              ldc,
             const __mmask16    *mask)
{
  for (size_t r = 0; r < rows; r += 2)
    {
      float *o0 = c + r * ldc, *o1 = r + 1 < rows ? o0 + ldc : NULL;

      group_rows (nb, half, &nz[r], o1 != NULL ? &nz[r + 1] : NULL, w,
                  bias != NULL ? bias : o0, bias != NULL ? bias : o1, last, vlo, vhi, o0, o1, mask);
    }
}

void
qs_gemm_f32_skip_zeros_avx512 (size_t       m,
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
  size_t width = (n + 15) / 16 * 16;
  __m512 vlo = _mm512_set1_ps (lo), vhi = _mm512_set1_ps (hi);
  NonZeros nz[MB];

  for (size_t i0 = 0; i0 < m; i0 += MB)
    {
      size_t rows = m - i0 < MB ? m - i0 : MB;
      size_t q0 = 0;

      /* At least one chunk, so that k = 0 still stores the clamped bias. */
      do
        {
          size_t kc = k - q0 < KC ? k - q0 : KC;
          bool first = q0 == 0, last = q0 + kc == k;

          for (size_t r = 0; r < rows; r++)
            gather_nonzeros (a + (i0 + r) * lda + q0, kc, &nz[r]);
          for (size_t g = 0; g < width; g += GB * NB)
            {
              size_t gw = width - g < GB * NB ? width - g : GB * NB;
              int nb = (int) ((gw + NB - 1) / NB);
              bool half = gw % NB != 0;
              const float *w[GB];
              const float *b = first ? bias + g : NULL;
              float *cg = c + i0 * ldc + g;
              __mmask16 mask[2 * GB];

              for (int i = 0; i < nb; i++)
                w[i] = packed + (g + NB * (size_t) i) * k + q0 * (half && i == nb - 1 ? 16 : NB);
              for (int v = 0; v < 2 * GB; v++)
                mask[v] = g + 16 * (size_t) v < n ? lane_mask (n - g - 16 * (size_t) v) : 0;
              switch (nb * 2 + (half ? 1 : 0))
                {
                case 3: group_block (1, true, nz, rows, w, b, last, vlo, vhi, cg, ldc, mask); break;
                case 2: group_block (1, false, nz, rows, w, b, last, vlo, vhi, cg, ldc, mask); break;
                case 5: group_block (2, true, nz, rows, w, b, last, vlo, vhi, cg, ldc, mask); break;
                case 4: group_block (2, false, nz, rows, w, b, last, vlo, vhi, cg, ldc, mask); break;
                case 7: group_block (3, true, nz, rows, w, b, last, vlo, vhi, cg, ldc, mask); break;
                case 6: group_block (3, false, nz, rows, w, b, last, vlo, vhi, cg, ldc, mask); break;
                case 9: group_block (4, true, nz, rows, w, b, last, vlo, vhi, cg, ldc, mask); break;
                default: group_block (4, false, nz, rows, w, b, last, vlo, vhi, cg, ldc, mask); break;
                }
            }
          q0 += kc;
        }
      while (q0 < k);
    }
}
