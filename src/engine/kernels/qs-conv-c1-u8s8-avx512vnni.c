/* qs-conv-c1-u8s8-avx512vnni.c: direct convolution of a one-channel uint8 image with VNNI.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A first layer on grey images has K = kernel_h * kernel_w (9 for 3x3):
 * as a GEMM its rows are padded to 16 bytes and copied out by im2col,
 * which costs more than the arithmetic. Here a window row of up to four
 * taps is one 32-bit group of vpdpbusd: its weights are padded with zeros
 * to four, and its codes are four consecutive bytes of a line buffer that
 * holds the image row with the padding code on both sides (the fourth
 * byte meets a zero weight). Each output pixel is then kernel_h broadcast
 * loads and kernel_h vpdpbusd per 16 output channels, with the weights in
 * registers. vpdpbusd is exact (no intermediate saturation), and padded
 * taps read the same padding code im2col writes, so the sums are those of
 * qs_im2col_u8 followed by qs_gemm_u8s8_scalar.
 *
 * Packed layout: [ceil (n / 16)][kernel_h][16][4] int8.
 */
#include "qs-kernels.h"

#include <immintrin.h>
#include <string.h>

#define NB 16

bool
qs_conv_c1_u8s8_supported_avx512vnni (const QsConvShape *s)
{
  return s->in_c == 1 && s->kernel_w >= 1 && s->kernel_w <= 4
    && s->kernel_h >= 1 && s->kernel_h <= QS_CONV_C1_MAX_KERNEL_H
    && (size_t) (s->out_w - 1) * s->stride_w + 4 <= QS_CONV_C1_MAX_LINE;
}

size_t
qs_conv_c1_u8s8_packed_size_avx512vnni (size_t n,
                                        int    kernel_h)
{
  return (n + NB - 1) / NB * (size_t) kernel_h * NB * 4;
}

void
qs_conv_c1_u8s8_pack_avx512vnni (size_t        n,
                                 int           kernel_h,
                                 int           kernel_w,
                                 const int8_t *w,
                                 void         *packed)
{
  int8_t *p = packed;
  size_t blocks = (n + NB - 1) / NB, k = (size_t) kernel_h * kernel_w;

  for (size_t b = 0; b < blocks; b++)
    for (int ky = 0; ky < kernel_h; ky++)
      for (size_t j = 0; j < NB; j++)
        for (int kx = 0; kx < 4; kx++)
          {
            size_t c = b * NB + j;

            *p++ = (c < n && kx < kernel_w) ? w[c * k + (size_t) ky * kernel_w + kx] : 0;
          }
}

void
qs_conv_c1_u8s8_avx512vnni (const QsConvShape *s,
                            const uint8_t     *image,
                            uint8_t            pad,
                            const void        *packed,
                            size_t             n,
                            int                oy,
                            int32_t           *acc)
{
  uint8_t lines[QS_CONV_C1_MAX_KERNEL_H][QS_CONV_C1_MAX_LINE];
  size_t len = (size_t) (s->out_w - 1) * s->stride_w + 4;
  size_t blocks = (n + NB - 1) / NB;
  int kh = s->kernel_h;

  /* Line x holds input column x - pad_left, or the padding code. */
  for (int ky = 0; ky < kh; ky++)
    {
      int iy = oy * s->stride_h - s->pad_top + ky;
      uint8_t *line = lines[ky];

      memset (line, pad, len);
      if (iy >= 0 && iy < s->in_h)
        {
          int x_first = s->pad_left > 0 ? s->pad_left : 0;
          int ix_first = x_first - s->pad_left;
          int count = s->in_w - ix_first;

          if ((size_t) x_first + (size_t) (count > 0 ? count : 0) > len)
            count = (int) len - x_first;
          if (count > 0)
            memcpy (line + x_first, image + (size_t) iy * s->in_w + ix_first, (size_t) count);
        }
    }

  for (size_t b = 0; b < blocks; b++)
    {
      const int8_t *wb = (const int8_t *) packed + b * (size_t) kh * NB * 4;
      size_t valid = n - b * NB < NB ? n - b * NB : NB;
      __mmask16 mask = (__mmask16) ((1u << valid) - 1);
      __m512i wv[QS_CONV_C1_MAX_KERNEL_H];
      int32_t *o = acc + b * NB;

      for (int ky = 0; ky < kh; ky++)
        wv[ky] = _mm512_loadu_si512 ((const void *) (wb + (size_t) ky * NB * 4));

      if (kh == 3)
        for (int ox = 0; ox < s->out_w; ox++, o += n)
          {
            size_t x = (size_t) ox * s->stride_w;
            int32_t q0, q1, q2;
            __m512i a;

            memcpy (&q0, lines[0] + x, 4);
            memcpy (&q1, lines[1] + x, 4);
            memcpy (&q2, lines[2] + x, 4);
            a = _mm512_dpbusd_epi32 (_mm512_setzero_si512 (), _mm512_set1_epi32 (q0), wv[0]);
            a = _mm512_dpbusd_epi32 (a, _mm512_set1_epi32 (q1), wv[1]);
            a = _mm512_dpbusd_epi32 (a, _mm512_set1_epi32 (q2), wv[2]);
            _mm512_mask_storeu_epi32 (o, mask, a);
          }
      else
        for (int ox = 0; ox < s->out_w; ox++, o += n)
          {
            size_t x = (size_t) ox * s->stride_w;
            __m512i a = _mm512_setzero_si512 ();

            for (int ky = 0; ky < kh; ky++)
              {
                int32_t q;

                memcpy (&q, lines[ky] + x, 4);
                a = _mm512_dpbusd_epi32 (a, _mm512_set1_epi32 (q), wv[ky]);
              }
            _mm512_mask_storeu_epi32 (o, mask, a);
          }
    }
}
