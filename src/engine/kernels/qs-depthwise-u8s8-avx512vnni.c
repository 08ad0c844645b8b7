/* qs-depthwise-u8s8-avx512vnni.c: depthwise convolution on uint8 codes, 16 channels per vpdpwssd.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The reference sums (x - zp) * w over the window, padded taps reading a
 * row of zero-point codes. Here the input zero point comes out of the sum:
 * sum (x * w) - zp * sum (w), where both sums run over all taps, padded
 * ones included (they read zp, so their terms cancel exactly as in the
 * reference). All sums are exact in int32 (|x * w| <= 255 * 32767 and at
 * most MAX_TAPS taps), so the bits are the reference's.
 *
 * Each tap's 16 codes are zero-extended to int32 lanes (vpmovzxbd), so the
 * upper int16 of every lane is 0 and vpdpwssd adds exactly x * w to the
 * accumulator, with weights stored as sign-extended int32. Channels are
 * the vector dimension; for one block of 16 channels the window's weights
 * stay in registers while the kernel walks the row's interior pixels. The
 * 3x3 window, the common case, is compiled with its size fixed so the
 * loops over taps unroll.
 *
 * Packed layout: the plain int16 copy (for windows above MAX_TAPS, which
 * take the reference), then per block of 16 channels [taps + 1][16] int32:
 * the weights, then their sum over the taps; channels past the end are 0.
 */
#include "qs-kernels.h"

#include <immintrin.h>
#include <string.h>

#define CB 16         /* channels per block */
#define MAX_TAPS 25   /* larger windows take the reference */

static size_t
plain_bytes (size_t taps,
             size_t channels)
{
  /* Keep the blocked part 64-byte aligned relative to the buffer. */
  return (taps * channels * sizeof (int16_t) + 63) & ~(size_t) 63;
}

size_t
qs_depthwise_u8s8_packed_size_avx512vnni (size_t taps,
                                          size_t channels)
{
  size_t blocks = (channels + CB - 1) / CB;

  return plain_bytes (taps, channels) + blocks * (taps + 1) * CB * sizeof (int32_t);
}

void
qs_depthwise_u8s8_pack_avx512vnni (size_t         taps,
                                   size_t         channels,
                                   const int16_t *w,
                                   void          *packed)
{
  int32_t *p = (int32_t *) ((uint8_t *) packed + plain_bytes (taps, channels));
  size_t blocks = (channels + CB - 1) / CB;

  memcpy (packed, w, taps * channels * sizeof (int16_t));
  for (size_t b = 0; b < blocks; b++)
    {
      int32_t *sum = p + taps * CB;

      for (size_t j = 0; j < CB; j++)
        sum[j] = 0;
      for (size_t t = 0; t < taps; t++)
        for (size_t j = 0; j < CB; j++)
          {
            size_t c = b * CB + j;
            int32_t v = c < channels ? w[t * channels + c] : 0;

            p[t * CB + j] = v;
            sum[j] += v;
          }
      p += (taps + 1) * CB;
    }
}

/* Windows that cross the left or right border: one pixel at a time through
 * a table of tap pointers (padded taps point at the zero row). */
static inline void
border_pixel (const QsDepthwiseShape *s,
              const uint8_t          *input,
              const int32_t          *blocked,
              int                     oy,
              int                     ox,
              int32_t                *o,
              size_t                  taps)
{
  size_t C = (size_t) s->channels;
  size_t blocks = (C + CB - 1) / CB;
  const uint8_t *tab[MAX_TAPS];
  int x0 = ox * s->stride_w - s->pad_left;
  size_t t = 0;

  for (int ky = 0; ky < s->kernel_h; ky++)
    {
      int iy = oy * s->stride_h - s->pad_top + ky;
      bool y_inside = iy >= 0 && iy < s->in_h;

      for (int kx = 0; kx < s->kernel_w; kx++, t++)
        {
          int ix = x0 + kx;

          tab[t] = (y_inside && ix >= 0 && ix < s->in_w)
            ? input + ((size_t) iy * s->in_w + ix) * C
            : s->zero_row;
        }
    }

  for (size_t b = 0; b < blocks; b++)
    {
      const int32_t *wb = blocked + b * (taps + 1) * CB;
      size_t valid = C - b * CB < CB ? C - b * CB : CB;
      __m512i a = _mm512_mullo_epi32 (_mm512_loadu_si512 ((const void *) (wb + taps * CB)),
                                      _mm512_set1_epi32 (-s->input_zp));

      for (t = 0; t < taps; t++)
        {
          /* Reads 16 bytes even for a partial block: the activation buffers
           * and the zero row carry QS_KERNEL_SLACK readable bytes, and the
           * extra lanes meet zero weights and are never stored. */
          __m512i x = _mm512_cvtepu8_epi32 (_mm_loadu_si128 ((const __m128i *) (tab[t] + b * CB)));

          a = _mm512_dpwssd_epi32 (a, x, _mm512_loadu_si512 ((const void *) (wb + t * CB)));
        }
      _mm512_mask_storeu_epi32 (o + b * CB, (__mmask16) ((1u << valid) - 1), a);
    }
}

/* One output row. Pixels whose window lies inside the image horizontally
 * walk the window rows with pointer arithmetic: a window row above or
 * below the image is the zero row with a step of 0 bytes per pixel. For
 * each block of channels the weights stay in registers across the row. */
static inline void
depthwise_row (const QsDepthwiseShape *s,
               const uint8_t          *input,
               const int32_t          *blocked,
               int                     oy,
               int32_t                *acc,
               int                     kh,
               int                     kw)
{
  size_t C = (size_t) s->channels;
  size_t blocks = (C + CB - 1) / CB;
  size_t taps = (size_t) kh * kw;
  const uint8_t *rowp[MAX_TAPS];
  size_t step[MAX_TAPS];
  int lo, hi;

  /* Interior pixels: ox * stride_w - pad_left >= 0 and + kernel_w <= in_w. */
  lo = (s->pad_left + s->stride_w - 1) / s->stride_w;
  hi = s->in_w - kw + s->pad_left >= 0 ? (s->in_w - kw + s->pad_left) / s->stride_w + 1 : 0;
  hi = hi < s->out_w ? hi : s->out_w;
  lo = lo < hi ? lo : hi;

  for (int ky = 0; ky < kh; ky++)
    {
      int iy = oy * s->stride_h - s->pad_top + ky;

      if (iy >= 0 && iy < s->in_h)
        {
          rowp[ky] = input + (size_t) iy * s->in_w * C;
          step[ky] = C;
        }
      else
        {
          rowp[ky] = s->zero_row;
          step[ky] = 0;
        }
    }

  for (int ox = 0; ox < lo; ox++)
    border_pixel (s, input, blocked, oy, ox, acc + (size_t) ox * C, taps);
  for (int ox = hi > lo ? hi : lo; ox < s->out_w; ox++)
    border_pixel (s, input, blocked, oy, ox, acc + (size_t) ox * C, taps);
  if (hi <= lo)
    return;

  for (size_t b = 0; b < blocks; b++)
    {
      const int32_t *wb = blocked + b * (taps + 1) * CB;
      size_t valid = C - b * CB < CB ? C - b * CB : CB;
      __mmask16 mask = (__mmask16) ((1u << valid) - 1);
      __m512i wv[MAX_TAPS];
      __m512i base = _mm512_mullo_epi32 (_mm512_loadu_si512 ((const void *) (wb + taps * CB)),
                                         _mm512_set1_epi32 (-s->input_zp));
      const uint8_t *p[MAX_TAPS];
      size_t adv[MAX_TAPS];
      int32_t *o = acc + (size_t) lo * C + b * CB;

      for (size_t t = 0; t < taps; t++)
        wv[t] = _mm512_loadu_si512 ((const void *) (wb + t * CB));
      for (int ky = 0; ky < kh; ky++)
        {
          p[ky] = rowp[ky] + (size_t) (lo * s->stride_w - s->pad_left) * step[ky] + b * CB;
          adv[ky] = (size_t) s->stride_w * step[ky];
        }

      for (int ox = lo; ox < hi; ox++, o += C)
        {
          __m512i a = base;

          for (int ky = 0; ky < kh; ky++)
            {
              for (int kx = 0; kx < kw; kx++)
                {
                  /* 16 bytes even for a partial block: see border_pixel. */
                  __m512i x = _mm512_cvtepu8_epi32 (_mm_loadu_si128 ((const __m128i *) (p[ky] + kx * step[ky])));

                  a = _mm512_dpwssd_epi32 (a, x, wv[ky * kw + kx]);
                }
              p[ky] += adv[ky];
            }
          _mm512_mask_storeu_epi32 (o, mask, a);
        }
    }
}

void
qs_depthwise_u8s8_avx512vnni (const QsDepthwiseShape *s,
                              const uint8_t          *input,
                              const void             *packed,
                              int                     oy,
                              int32_t                *acc)
{
  size_t taps = (size_t) s->kernel_h * s->kernel_w;
  const int32_t *blocked = (const int32_t *) ((const uint8_t *) packed
                                              + plain_bytes (taps, (size_t) s->channels));

  if (taps > MAX_TAPS)
    qs_depthwise_u8s8_scalar (s, input, packed, oy, acc);
  else if (s->kernel_h == 3 && s->kernel_w == 3)
    depthwise_row (s, input, blocked, oy, acc, 3, 3);
  else
    depthwise_row (s, input, blocked, oy, acc, s->kernel_h, s->kernel_w);
}
