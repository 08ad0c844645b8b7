/* qs-gemm-groupwise-u8s16-avx512vnni.c: uint8 activations times group-wise int16 weights on AVX-512 VNNI, bit for bit the scalar reference.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * For weights too wide for vpdpbusd's int8 (MXFP6 E3M2's elements times
 * 16, up to 448): packed per block of 16 output channels and per group,
 * the group's code sums and scales for the 16 channels, then its taps in
 * k-pairs of (code - zero point), [pairs][16][2]: as int16
 * (qs_groupwise_pack_pairs), or, where the weights say every one is one
 * of 64 values (wide_values: E3M2's elements), as 1-byte indices into
 * them, half the bytes (VGG16's 138 M weights: 277 MB of int16), widened
 * back to int16 by one vpermt2w of the 64 values per pair step, for every
 * row at once; the indexed form keeps its code sums as int16 where every
 * group's fits (E3M2's blocks of 32: at most 32 * 448). A row's
 * activations are zero-extended to int16 (32 at a time, through a byte
 * mask that stops at the group's end, so no row is read past its k), and
 * one vpdpwssd adds a broadcast pair of them times 16 channels' pairs
 * into int32: both factors are int16 (an activation 0..255), the two
 * products add without saturation, and every sum is within the bound of
 * qs_groupwise_sums_fit (255 * 448 * 32 for E3M2). A group of odd length
 * ends with a pair whose second weight is 0.
 *
 *   total = sum a (w - zw) - z_a * sum (w - zw) = sum (a - z_a) (w - zw)
 *
 * is the scalar kernel's integer; the float32 steps after it are the
 * scalar kernel's operations in its order, one lane per channel. Built
 * with -ffp-contract=off so no multiply and add fuse into one rounding.
 */
#include "qs-kernels.h"
#include "qs-vnni-inplace.h"

#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#define NB 16      /* channels per packed block */
#define MR 8       /* rows per step */
#define CHUNK 16   /* pairs (32 activations) widened at a time */
#define VALUES 64  /* the indexed form's values */

/* The indexed form's first bytes (whole cache lines, so the blocks stay
 * aligned as the buffer is): the 64 values, and whether the code sums
 * are int16. The readers take both from here, the engine having dropped
 * the weights' own once packed. */
typedef struct {
  int16_t  values[VALUES];
  uint32_t narrow_sums;
} IndexHead;

#define INDEX_HEAD_BYTES 192
_Static_assert (sizeof (IndexHead) <= INDEX_HEAD_BYTES, "the head fits its cache lines");

/* Whether the indexed form of @w keeps its code sums as int16: a group's
 * sum is at most group_size times the largest of its wide values in
 * magnitude. */
static bool
narrow_sums (const QsGroupwiseWeights *w)
{
  size_t largest = 0;

  for (size_t i = 0; i < VALUES; i++)
    if ((size_t) abs (w->wide_values[i]) > largest)
      largest = (size_t) abs (w->wide_values[i]);
  return largest == 0 || w->group_size <= (size_t) INT16_MAX / largest;
}

/* Bytes of group @g of a channel block in the indexed form: the head
 * (sums, int16 where @narrow, and scales), then a byte per tap, pairs of
 * them per channel. */
static size_t
index_group_bytes (const QsGroupwiseWeights *w,
                   size_t                    g,
                   bool                      narrow)
{
  return NB * ((narrow ? sizeof (int16_t) : sizeof (int32_t)) + sizeof (float))
         + (qs_groupwise_group_length (w, g) + 1) / 2 * NB * 2;
}

static size_t
index_block_bytes (const QsGroupwiseWeights *w,
                   bool                      narrow)
{
  /* Every group but the last is group_size taps long. */
  size_t last = w->groups_per_channel - 1;

  return last * index_group_bytes (w, 0, narrow) + index_group_bytes (w, last, narrow);
}

size_t
qs_gemm_groupwise_u8s16_packed_size_avx512vnni (const QsGroupwiseWeights *w)
{
  if (w->wide_values == NULL)
    return (w->n + NB - 1) / NB * qs_groupwise_pairs_block_bytes (w, NB);
  return INDEX_HEAD_BYTES + (w->n + NB - 1) / NB * index_block_bytes (w, narrow_sums (w));
}

void
qs_gemm_groupwise_u8s16_pack_avx512vnni (const QsGroupwiseWeights *w,
                                         size_t                    c0,
                                         void                     *packed)
{
  /* Each value's index (the first, where two are equal, as E3M2's 0 and
   * -0), at the value's int16 bits; only the values' entries are read. */
  uint8_t index_of[65536];
  IndexHead head = { 0 };
  uint8_t *p;
  size_t groups = w->groups_per_channel;

  if (w->wide_values == NULL)
    {
      qs_groupwise_pack_pairs (w, c0, NB, packed);
      return;
    }
  /* Every range writes the same head, the layer's. */
  memcpy (head.values, w->wide_values, sizeof head.values);
  head.narrow_sums = narrow_sums (w);
  memset (packed, 0, INDEX_HEAD_BYTES);
  memcpy (packed, &head, sizeof head);
  p = (uint8_t *) packed + INDEX_HEAD_BYTES + c0 / NB * index_block_bytes (w, head.narrow_sums);
  memset (index_of, 0, sizeof index_of);
  for (size_t i = VALUES; i-- > 0;)
    index_of[(uint16_t) w->wide_values[i]] = (uint8_t) i;
  for (size_t j0 = 0; j0 < w->n; j0 += NB)
    for (size_t g = 0; g < groups; g++)
      {
        size_t sum_bytes = head.narrow_sums ? sizeof (int16_t) : sizeof (int32_t);
        float *scales = (float *) (p + NB * sum_bytes);
        uint8_t *indices = p + NB * (sum_bytes + sizeof (float));
        size_t t0 = g * w->group_size, len = qs_groupwise_group_length (w, g);

        for (size_t l = 0; l < NB; l++)
          {
            size_t j = j0 + l, b = j * groups + g;
            bool real = j < w->n;
            int32_t sum = real ? w->code_sums[b] : 0;

            if (head.narrow_sums)
              ((int16_t *) p)[l] = (int16_t) sum;
            else
              ((int32_t *) p)[l] = sum;
            scales[l] = real ? w->scales[b] : 0.0f;
            for (size_t t = 0; t < (len + 1) / 2 * 2; t++)
              {
                int32_t v = real && t < len ? qs_groupwise_code (w, j, t0 + t) - w->zero_points[b] : 0;

                indices[(t / 2 * NB + l) * 2 + t % 2] = index_of[(uint16_t) v];
              }
          }
        p += index_group_bytes (w, g, head.narrow_sums);
      }
}

float
qs_gemm_groupwise_u8s16_packed_weight_avx512vnni (const QsGroupwiseWeights *w,
                                                  bool                      indexed,
                                                  const void               *packed,
                                                  size_t                    c,
                                                  size_t                    t)
{
  const IndexHead *head = packed;
  size_t g = t / w->group_size, l = c % NB, u = t - g * w->group_size, sum_bytes;
  const uint8_t *p;
  float scale;

  if (!indexed)
    return qs_groupwise_pairs_weight (w, NB, packed, c, t);
  sum_bytes = head->narrow_sums ? sizeof (int16_t) : sizeof (int32_t);
  /* Every group but the last is group_size taps long. */
  p = (const uint8_t *) packed + INDEX_HEAD_BYTES + c / NB * index_block_bytes (w, head->narrow_sums)
      + g * index_group_bytes (w, 0, head->narrow_sums);
  memcpy (&scale, p + NB * sum_bytes + l * sizeof (float), sizeof scale);
  return (float) head->values[p[NB * (sum_bytes + sizeof (float)) + (u / 2 * NB + l) * 2 + u % 2]] * scale;
}

/* Rows [0, ROWS) of @a times channel block @j0: ROWS, INDEXED (1-byte
 * indices into the 64 values in @low and @high, vpermt2w's two tables)
 * and NARROW (int16 sums) are constants at every call, so the
 * accumulators stay in registers. */
static inline __attribute__ ((always_inline)) void
row_block (size_t                    ROWS,
           bool                      INDEXED,
           bool                      NARROW,
           __m512i                   low,
           __m512i                   high,
           const uint8_t            *a,
           size_t                    lda,
           const QsGroupwiseWeights *w,
           const uint8_t            *p,
           const QsGroupwiseInput   *in,
           const float              *bias,
           size_t                    j0,
           float                    *c,
           size_t                    ldc)
{
  size_t valid = w->n - j0 < NB ? w->n - j0 : NB;
  size_t sum_bytes = NARROW ? sizeof (int16_t) : sizeof (int32_t);
  __mmask16 mask = (__mmask16) ((1u << valid) - 1);
  const __m512 scale_in = _mm512_set1_ps (in->scale), zero_frac = _mm512_set1_ps (in->zero_frac);
  const __m512i zero_code = _mm512_set1_epi32 (in->zero_code);
  /* Each row's widened activations: pair q is the int32 (a[2q + 1] << 16) | a[2q]. */
  _Alignas (64) int32_t act_pairs[MR][CHUNK];
  __m512 y[MR];

  y[0] = _mm512_maskz_loadu_ps (mask, bias + j0);
  for (size_t r = 1; r < ROWS; r++)
    y[r] = y[0];
  for (size_t g = 0; g < w->groups_per_channel; g++)
    {
      size_t t0 = g * w->group_size, len = qs_groupwise_group_length (w, g), n_pairs = (len + 1) / 2;
      __m512i sums = NARROW ? _mm512_cvtepi16_epi32 (_mm256_loadu_si256 ((const __m256i *) p))
                            : _mm512_loadu_si512 (p);
      __m512 scales = _mm512_loadu_ps (p + NB * sum_bytes);
      const uint8_t *weights = p + NB * (sum_bytes + sizeof (float));
      __m512i acc[MR], code_part_int;
      __m512 rescale, code_part;

      for (size_t r = 0; r < ROWS; r++)
        acc[r] = _mm512_setzero_si512 ();
      for (size_t q0 = 0; q0 < n_pairs; q0 += CHUNK)
        {
          size_t taps = len - 2 * q0 < 2 * CHUNK ? len - 2 * q0 : 2 * CHUNK;
          size_t nq = (taps + 1) / 2;
          __mmask32 bytes = taps == 32 ? ~(__mmask32) 0 : (__mmask32) ((1u << taps) - 1);

          for (size_t r = 0; r < ROWS; r++)
            {
              __m256i a8 = _mm256_maskz_loadu_epi8 (bytes, a + r * lda + t0 + 2 * q0);

              _mm512_store_si512 (act_pairs[r], _mm512_cvtepu8_epi16 (a8));
            }
          for (size_t q = 0; q < nq; q++)
            {
              __m512i wv;

              if (INDEXED)
                wv = _mm512_permutex2var_epi16 (
                  low, _mm512_cvtepu8_epi16 (_mm256_loadu_si256 ((const __m256i *) (weights + (q0 + q) * NB * 2))),
                  high);
              else
                wv = _mm512_loadu_si512 (weights + (q0 + q) * NB * 2 * sizeof (int16_t));
              for (size_t r = 0; r < ROWS; r++)
                acc[r] = qs_dpwssd_inplace (acc[r], _mm512_set1_epi32 (act_pairs[r][q]), wv);
            }
        }
      /* (s_in * s_w) * ((float) total - zero_frac * (float) code_sum) */
      rescale = _mm512_mul_ps (scale_in, scales);
      code_part = _mm512_mul_ps (zero_frac, _mm512_cvtepi32_ps (sums));
      code_part_int = _mm512_mullo_epi32 (zero_code, sums);
      for (size_t r = 0; r < ROWS; r++)
        {
          __m512i total = _mm512_sub_epi32 (acc[r], code_part_int);
          __m512 part = _mm512_mul_ps (rescale, _mm512_sub_ps (_mm512_cvtepi32_ps (total), code_part));

          y[r] = _mm512_add_ps (y[r], part);
        }
      p += INDEXED ? index_group_bytes (w, g, NARROW) : qs_groupwise_pairs_group_bytes (w, g, NB);
    }
  for (size_t r = 0; r < ROWS; r++)
    _mm512_mask_storeu_ps (c + r * ldc + j0, mask, y[r]);
}

static inline __attribute__ ((always_inline)) void
gemm (bool                      INDEXED,
      bool                      NARROW,
      const int16_t            *values,
      size_t                    m,
      const uint8_t            *a,
      size_t                    lda,
      const QsGroupwiseWeights *w,
      const uint8_t            *packed,
      const QsGroupwiseInput   *in,
      const float              *bias,
      float                    *c,
      size_t                    ldc)
{
  size_t bytes = INDEXED ? index_block_bytes (w, NARROW) : qs_groupwise_pairs_block_bytes (w, NB);
  __m512i low = INDEXED ? _mm512_loadu_si512 (values) : _mm512_setzero_si512 ();
  __m512i high = INDEXED ? _mm512_loadu_si512 (values + VALUES / 2) : _mm512_setzero_si512 ();

  for (size_t j0 = 0; j0 < w->n; j0 += NB)
    {
      const uint8_t *p = packed + j0 / NB * bytes;
      size_t i = 0;

      for (; i + MR <= m; i += MR)
        row_block (MR, INDEXED, NARROW, low, high, a + i * lda, lda, w, p, in, bias, j0, c + i * ldc, ldc);
      if (i + 4 <= m)
        {
          row_block (4, INDEXED, NARROW, low, high, a + i * lda, lda, w, p, in, bias, j0, c + i * ldc, ldc);
          i += 4;
        }
      for (; i < m; i++)
        row_block (1, INDEXED, NARROW, low, high, a + i * lda, lda, w, p, in, bias, j0, c + i * ldc, ldc);
    }
}

void
qs_gemm_groupwise_u8s16_avx512vnni (size_t                    m,
                                    const uint8_t            *a,
                                    size_t                    lda,
                                    const QsGroupwiseWeights *w,
                                    bool                      indexed,
                                    const void               *packed,
                                    const QsGroupwiseInput   *in,
                                    const float              *bias,
                                    float                    *c,
                                    size_t                    ldc)
{
  const IndexHead *head = packed;
  const uint8_t *blocks = (const uint8_t *) packed + INDEX_HEAD_BYTES;

  if (!indexed)
    gemm (false, false, NULL, m, a, lda, w, packed, in, bias, c, ldc);
  else if (head->narrow_sums)
    gemm (true, true, head->values, m, a, lda, w, blocks, in, bias, c, ldc);
  else
    gemm (true, false, head->values, m, a, lda, w, blocks, in, bias, c, ldc);
}
