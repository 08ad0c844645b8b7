/* qs-gemm-groupwise-avx512vnni.c: uint8 activations times group-wise integer weights on AVX-512 VNNI, bit for bit the scalar reference.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Weights are packed per block of 16 output channels and per group: the
 * group's code sums, scales (and zero points, see below) for the 16
 * channels, then its taps in quads, [quads][16][4] int8, so one vpdpbusd
 * adds four broadcast activations times 16 channels' quads into int32
 * exactly (no saturation: 4 * 255 * 128 is far from 2^31). A group whose
 * length is not a multiple of 4 ends with a quad padded with zero weights,
 * and its activations are read through a byte mask that stops at the
 * group's end, so no row is read past its k.
 *
 * vpdpbusd multiplies int8 weights, so the packing stores (code - zero
 * point) when every one of the layer's fits in int8 (block formats, whose
 * zero points are 0; integer groups of up to 7 bits; symmetric 8-bit
 * ones). Otherwise (asymmetric 8-bit groups: code - zero point spans
 * [-255, 255]) it stores the codes themselves and each group's zero
 * points, and the kernel takes the zero points out with the activations'
 * sum per group and row, counted by one more vpdpbusd against ones:
 *
 *   total = sum a w - zw sum a - z_a sum (w - zw) = sum (a - z_a) (w - zw)
 *
 * is the scalar kernel's integer either way; the float32 steps after it
 * are the scalar kernel's operations in its order, one lane per channel.
 * int16 weights (codes16) go to the vpdpwssd kernel of
 * qs-gemm-groupwise-u8s16-avx512vnni.c, with its own packing (1-byte
 * indices into the 64 wide_values where the weights have them).
 *
 * A group's code sums are stored as int16 where every one of the layer
 * fits (narrow_sums: groups of up to 255 taps of |code - zero point| <=
 * 128, 128 taps of raw codes, whose differences reach 255), which is
 * a quarter of the packing's bytes beyond the codes for blocks of 32
 * (VGG16's MXFP4 and MXINT8: 8.6 MB); the kernel widens them back.
 * Where the weights say that every (code - zero point) is one of 16
 * values (nibble_values: 4-bit symmetric integers, E2M1 elements), the
 * quads are stored as 4-bit indices into them, two quads to 64 bytes
 * (the first in the low halves), and one vpshufb of the 16 values (in
 * the header) turns each back into the int8 quad vpdpbusd takes.
 * This file is built with -ffp-contract=off so no multiply and add fuse
 * into one rounding.
 */
#include "qs-kernels.h"
#include "qs-vnni-inplace.h"

#include <immintrin.h>
#include <string.h>

#define NB 16   /* channels per packed block */
#define MR 8    /* rows per step */

/* The packing's first bytes (a cache line, so the blocks stay aligned
 * as the buffer is): whether it holds raw codes and zero points, or int16
 * weights in the u8s16 kernel's packing (indices into their wide values
 * where wide_indices); whether its sums are int16 and its weights 4-bit
 * indices into the 16 values that follow. The GEMM reads the form from
 * here, not from @w: the engine frees the unpacked codes once packed. */
typedef struct {
  uint32_t raw_codes;
  uint32_t int16_weights;
  uint32_t narrow_sums;
  uint32_t nibbles;
  int8_t   nibble_values[16];
  uint32_t wide_indices;
} PackHeader;

#define HEADER_BYTES 64

/* The form of a packing of @w: raw codes where some (code - zero point)
 * leaves int8; code sums as int16 where every group's fits (a sum of
 * group_size (code - zero point), each at most 128 in magnitude where
 * the packing stores them as int8, -128 the farthest, and 255 where it
 * stores raw codes); 4-bit indices where @w has its 16 values. */
static PackHeader
pack_form (const QsGroupwiseWeights *w)
{
  PackHeader form = { 0 };

  form.raw_codes = w->wide_offsets;
  form.narrow_sums = w->group_size <= (size_t) INT16_MAX / (form.raw_codes ? 255 : 128);
  form.nibbles = !form.raw_codes && w->nibble_values != NULL;
  if (form.nibbles)
    memcpy (form.nibble_values, w->nibble_values, sizeof form.nibble_values);
  return form;
}

/* Bytes of one group's 16 channels' sums (int16 where narrow), scales
 * and (raw codes) zero points. */
static inline size_t
group_head_bytes (bool raw_codes,
                  bool narrow)
{
  return NB * ((narrow ? sizeof (int16_t) : sizeof (int32_t)) + sizeof (float)
               + (raw_codes ? sizeof (int32_t) : 0));
}

/* Bytes of the weights of a group of @len taps: quads of 16 channels'
 * int8, or with @nibbles two quads to 64 bytes, the first in the low
 * halves of the bytes, the second in the high. */
static inline size_t
group_weight_bytes (size_t len,
                    bool   nibbles)
{
  size_t quads = (len + 3) / 4;

  return (nibbles ? (quads + 1) / 2 : quads) * NB * 4;
}

/* Bytes of group @g's head and weights. */
static inline size_t
group_bytes (const QsGroupwiseWeights *w,
             size_t                    g,
             const PackHeader         *form)
{
  return group_head_bytes (form->raw_codes, form->narrow_sums)
         + group_weight_bytes (qs_groupwise_group_length (w, g), form->nibbles);
}

/* Bytes of one channel block's groups (all but the last group_size taps long). */
static size_t
block_bytes (const QsGroupwiseWeights *w,
             const PackHeader         *form)
{
  size_t last = w->groups_per_channel - 1;

  return last * group_bytes (w, 0, form) + group_bytes (w, last, form);
}

size_t
qs_gemm_groupwise_packed_size_avx512vnni (const QsGroupwiseWeights *w)
{
  PackHeader form = pack_form (w);

  if (w->codes16 != NULL)
    return HEADER_BYTES + qs_gemm_groupwise_u8s16_packed_size_avx512vnni (w);
  return HEADER_BYTES + (w->n + NB - 1) / NB * block_bytes (w, &form);
}

/* The index of @v among the 16 nibble values (the first, where two are
 * equal, as MXFP4's 0 and -0). */
static uint8_t
nibble_index (const PackHeader *form,
              int32_t           v)
{
  uint8_t i = 0;

  while (i < 15 && form->nibble_values[i] != v)
    i++;
  return i;
}

void
qs_gemm_groupwise_pack_avx512vnni (const QsGroupwiseWeights *w,
                                   size_t                    c0,
                                   void                     *packed)
{
  PackHeader header = { 0 };
  uint8_t *p = (uint8_t *) packed + HEADER_BYTES;
  size_t groups = w->groups_per_channel;

  /* Every range writes the same header, the layer's. */
  memset (packed, 0, HEADER_BYTES);
  if (w->codes16 != NULL)
    {
      header.int16_weights = 1;
      header.wide_indices = w->wide_values != NULL;
      memcpy (packed, &header, sizeof header);
      qs_gemm_groupwise_u8s16_pack_avx512vnni (w, c0, p);
      return;
    }
  header = pack_form (w);
  memcpy (packed, &header, sizeof header);
  p += c0 / NB * block_bytes (w, &header);
  for (size_t j0 = 0; j0 < w->n; j0 += NB)
    for (size_t g = 0; g < groups; g++)
      {
        size_t sum_bytes = header.narrow_sums ? sizeof (int16_t) : sizeof (int32_t);
        float *scales = (float *) (p + NB * sum_bytes);
        int32_t *zero_points = (int32_t *) (p + NB * (sum_bytes + sizeof (float)));
        uint8_t *weights = p + group_head_bytes (header.raw_codes, header.narrow_sums);
        size_t t0 = g * w->group_size, len = qs_groupwise_group_length (w, g), n_quads = (len + 3) / 4;

        memset (weights, 0, group_weight_bytes (len, header.nibbles));
        for (size_t l = 0; l < NB; l++)
          {
            size_t j = j0 + l, b = j * groups + g;
            bool real = j < w->n;
            int32_t zero_point = real && !header.raw_codes ? w->zero_points[b] : 0;
            int32_t sum = real ? w->code_sums[b] : 0;

            if (header.narrow_sums)
              ((int16_t *) p)[l] = (int16_t) sum;
            else
              ((int32_t *) p)[l] = sum;
            scales[l] = real ? w->scales[b] : 0.0f;
            if (header.raw_codes)
              zero_points[l] = real ? w->zero_points[b] : 0;
            for (size_t t = 0; t < n_quads * 4; t++)
              {
                int32_t v = real && t < len ? w->codes[j * w->k + t0 + t] - zero_point : 0;
                size_t q = t / 4, at = l * 4 + t % 4;

                if (header.nibbles)
                  weights[q / 2 * NB * 4 + at] |= (uint8_t) (nibble_index (&header, v) << (q % 2 * 4));
                else
                  weights[q * NB * 4 + at] = (uint8_t) (int8_t) v;
              }
          }
        /* The high halves past an odd number of quads stand for 0 too. */
        if (header.nibbles && n_quads % 2 != 0)
          for (size_t i = 0; i < NB * 4; i++)
            weights[n_quads / 2 * NB * 4 + i] |= (uint8_t) (nibble_index (&header, 0) << 4);
        p += group_bytes (w, g, &header);
      }
}

float
qs_gemm_groupwise_packed_weight_avx512vnni (const QsGroupwiseWeights *w,
                                            const void               *packed,
                                            size_t                    c,
                                            size_t                    t)
{
  PackHeader header;
  const uint8_t *p = (const uint8_t *) packed + HEADER_BYTES;
  size_t g = t / w->group_size, l = c % NB, u = t - g * w->group_size, sum_bytes, q, at;
  const uint8_t *weights;
  int32_t zero_point = 0, code;
  float scale;

  memcpy (&header, packed, sizeof header);
  if (header.int16_weights)
    return qs_gemm_groupwise_u8s16_packed_weight_avx512vnni (w, header.wide_indices, p, c, t);
  /* Every group but the last is group_size taps long. */
  p += c / NB * block_bytes (w, &header) + g * group_bytes (w, 0, &header);
  sum_bytes = header.narrow_sums ? sizeof (int16_t) : sizeof (int32_t);
  memcpy (&scale, p + NB * sum_bytes + l * sizeof (float), sizeof scale);
  if (header.raw_codes)
    memcpy (&zero_point, p + NB * (sum_bytes + sizeof (float)) + l * sizeof (int32_t), sizeof zero_point);
  weights = p + group_head_bytes (header.raw_codes, header.narrow_sums);
  q = u / 4;
  at = l * 4 + u % 4;
  if (header.nibbles)
    code = header.nibble_values[(weights[q / 2 * NB * 4 + at] >> (q % 2 * 4)) & 15];
  else
    code = (int8_t) weights[q * NB * 4 + at];
  return (float) (code - zero_point) * scale;
}

static inline __m512i
broadcast_quad (const uint8_t *p)
{
  int32_t v;

  memcpy (&v, p, sizeof v);
  return _mm512_set1_epi32 (v);
}

/* The first @n (1..3) activations at @p, zeros after: a group's last quad,
 * never read past the group's end. */
static inline __m512i
broadcast_partial_quad (const uint8_t *p,
                        size_t         n)
{
  __m128i v = _mm_maskz_loadu_epi8 ((__mmask16) ((1u << n) - 1), p);

  return _mm512_broadcastd_epi32 (v);
}

/* Quad @q (of @full whole ones, then one of @rest taps) of rows [0,
 * ROWS) from tap @t0 times its weights @wv, into @acc (and the rows'
 * sums, for raw codes). */
static inline __attribute__ ((always_inline)) void
quad_step (size_t          ROWS,
           bool            RAW,
           const uint8_t  *a,
           size_t          lda,
           size_t          t0,
           size_t          q,
           size_t          full,
           size_t          rest,
           __m512i         wv,
           __m512i        *acc,
           __m512i        *row_sums)
{
  const __m512i ones = _mm512_set1_epi8 (1);

  for (size_t r = 0; r < ROWS; r++)
    {
      const uint8_t *at = a + r * lda + t0 + 4 * q;
      __m512i av = q < full ? broadcast_quad (at) : broadcast_partial_quad (at, rest);

      acc[r] = qs_dpbusd_inplace (acc[r], av, wv);
      if (RAW)
        row_sums[r] = qs_dpbusd_inplace (row_sums[r], av, ones);
    }
}

/* Rows [0, ROWS) of @a times channel block @j0; ROWS, RAW, NARROW and
 * NIBBLES are constants at every call, so the accumulators stay in
 * registers and the zero-point steps vanish where the packing needs
 * none. 4-bit weights become int8 by one vpshufb of @nibble_values per
 * quad, two quads to a load. */
static inline __attribute__ ((always_inline)) void
row_block (size_t                    ROWS,
           bool                      RAW,
           bool                      NARROW,
           bool                      NIBBLES,
           __m512i                   nibble_values,
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
  __mmask16 mask = (__mmask16) ((1u << valid) - 1);
  const __m512 scale_in = _mm512_set1_ps (in->scale), zero_frac = _mm512_set1_ps (in->zero_frac);
  const __m512i zero_code = _mm512_set1_epi32 (in->zero_code), low4 = _mm512_set1_epi8 (15);
  __m512 y[MR];

  y[0] = _mm512_maskz_loadu_ps (mask, bias + j0);
  for (size_t r = 1; r < ROWS; r++)
    y[r] = y[0];
  for (size_t g = 0; g < w->groups_per_channel; g++)
    {
      size_t t0 = g * w->group_size, len = qs_groupwise_group_length (w, g), full = len / 4, rest = len % 4;
      size_t sum_bytes = NARROW ? sizeof (int16_t) : sizeof (int32_t);
      __m512i sums = NARROW ? _mm512_cvtepi16_epi32 (_mm256_loadu_si256 ((const __m256i *) p))
                            : _mm512_loadu_si512 (p);
      __m512 scales = _mm512_loadu_ps (p + NB * sum_bytes);
      const uint8_t *weights = p + group_head_bytes (RAW, NARROW);
      size_t n_quads = full + (rest != 0);
      __m512i acc[MR], row_sums[MR], code_part_int, zero_points;
      __m512 rescale, code_part;

      for (size_t r = 0; r < ROWS; r++)
        {
          acc[r] = _mm512_setzero_si512 ();
          row_sums[r] = _mm512_setzero_si512 ();
        }
      if (NIBBLES)
        for (size_t q = 0; q < n_quads; q += 2)
          {
            __m512i two = _mm512_loadu_si512 (weights + q / 2 * NB * 4);

            quad_step (ROWS, RAW, a, lda, t0, q, full, rest,
                       _mm512_shuffle_epi8 (nibble_values, _mm512_and_si512 (two, low4)), acc, row_sums);
            if (q + 1 < n_quads)
              quad_step (ROWS, RAW, a, lda, t0, q + 1, full, rest,
                         _mm512_shuffle_epi8 (nibble_values, _mm512_and_si512 (_mm512_srli_epi16 (two, 4), low4)),
                         acc, row_sums);
          }
      else
        {
          for (size_t q = 0; q < full; q++)
            quad_step (ROWS, RAW, a, lda, t0, q, full, rest, _mm512_loadu_si512 (weights + q * NB * 4), acc,
                       row_sums);
          if (rest != 0)
            quad_step (ROWS, RAW, a, lda, t0, full, full, rest, _mm512_loadu_si512 (weights + full * NB * 4),
                       acc, row_sums);
        }
      /* (s_in * s_w) * ((float) total - zero_frac * (float) code_sum) */
      rescale = _mm512_mul_ps (scale_in, scales);
      code_part = _mm512_mul_ps (zero_frac, _mm512_cvtepi32_ps (sums));
      code_part_int = _mm512_mullo_epi32 (zero_code, sums);
      zero_points = RAW ? _mm512_loadu_si512 (p + NB * (sum_bytes + sizeof (float)))
                        : _mm512_setzero_si512 ();
      for (size_t r = 0; r < ROWS; r++)
        {
          __m512i total = _mm512_sub_epi32 (acc[r], code_part_int);
          __m512 part;

          if (RAW)
            total = _mm512_sub_epi32 (total, _mm512_mullo_epi32 (zero_points, row_sums[r]));
          part = _mm512_mul_ps (rescale, _mm512_sub_ps (_mm512_cvtepi32_ps (total), code_part));
          y[r] = _mm512_add_ps (y[r], part);
        }
      p += group_head_bytes (RAW, NARROW) + group_weight_bytes (len, NIBBLES);
    }
  for (size_t r = 0; r < ROWS; r++)
    _mm512_mask_storeu_ps (c + r * ldc + j0, mask, y[r]);
}

static inline __attribute__ ((always_inline)) void
gemm (const PackHeader         *form,
      bool                      RAW,
      bool                      NARROW,
      bool                      NIBBLES,
      size_t                    m,
      const uint8_t            *a,
      size_t                    lda,
      const QsGroupwiseWeights *w,
      const uint8_t            *blocks,
      const QsGroupwiseInput   *in,
      const float              *bias,
      float                    *c,
      size_t                    ldc)
{
  size_t bytes = block_bytes (w, form);
  __m512i nibble_values = _mm512_broadcast_i32x4 (_mm_loadu_si128 ((const __m128i *) form->nibble_values));

  for (size_t j0 = 0; j0 < w->n; j0 += NB)
    {
      const uint8_t *p = blocks + j0 / NB * bytes;
      size_t i = 0;

      for (; i + MR <= m; i += MR)
        row_block (MR, RAW, NARROW, NIBBLES, nibble_values, a + i * lda, lda, w, p, in, bias, j0, c + i * ldc, ldc);
      if (i + 4 <= m)
        {
          row_block (4, RAW, NARROW, NIBBLES, nibble_values, a + i * lda, lda, w, p, in, bias, j0, c + i * ldc, ldc);
          i += 4;
        }
      for (; i < m; i++)
        row_block (1, RAW, NARROW, NIBBLES, nibble_values, a + i * lda, lda, w, p, in, bias, j0, c + i * ldc, ldc);
    }
}

void
qs_gemm_groupwise_u8_avx512vnni (size_t                    m,
                                 const uint8_t            *a,
                                 size_t                    lda,
                                 const QsGroupwiseWeights *w,
                                 const void               *packed,
                                 const QsGroupwiseInput   *in,
                                 const float              *bias,
                                 float                    *c,
                                 size_t                    ldc)
{
  PackHeader header;
  const uint8_t *blocks = (const uint8_t *) packed + HEADER_BYTES;

  memcpy (&header, packed, sizeof header);
  if (header.int16_weights)
    {
      qs_gemm_groupwise_u8s16_avx512vnni (m, a, lda, w, header.wide_indices, blocks, in, bias, c, ldc);
      return;
    }
  /* Nibbles go with int8 (code - zero point) only. */
  if (header.raw_codes && header.narrow_sums)
    gemm (&header, true, true, false, m, a, lda, w, blocks, in, bias, c, ldc);
  else if (header.raw_codes)
    gemm (&header, true, false, false, m, a, lda, w, blocks, in, bias, c, ldc);
  else if (header.narrow_sums && header.nibbles)
    gemm (&header, false, true, true, m, a, lda, w, blocks, in, bias, c, ldc);
  else if (header.narrow_sums)
    gemm (&header, false, true, false, m, a, lda, w, blocks, in, bias, c, ldc);
  else if (header.nibbles)
    gemm (&header, false, false, true, m, a, lda, w, blocks, in, bias, c, ldc);
  else
    gemm (&header, false, false, false, m, a, lda, w, blocks, in, bias, c, ldc);
}
