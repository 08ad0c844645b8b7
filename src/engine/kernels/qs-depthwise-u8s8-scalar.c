/* qs-depthwise-u8s8-scalar.c: depthwise convolution on uint8 codes, the reference.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "qs-kernels.h"

#include <string.h>

size_t
qs_depthwise_u8s8_packed_size_scalar (size_t taps,
                                      size_t channels)
{
  return taps * channels * sizeof (int16_t);
}

void
qs_depthwise_u8s8_pack_scalar (size_t         taps,
                               size_t         channels,
                               const int16_t *w,
                               void          *packed)
{
  memcpy (packed, w, taps * channels * sizeof (int16_t));
}

/* A padded tap holds the input zero point, so (code - zero point) is 0 and
 * the tap is skipped; the per-channel constant that an inexact zero point
 * leaves behind is part of the bias. */
void
qs_depthwise_u8s8_scalar (const QsDepthwiseShape *s,
                          const uint8_t          *input,
                          const void             *packed,
                          int                     oy,
                          int32_t                *acc)
{
  const int16_t *w = packed;
  int C = s->channels;

  for (int ox = 0; ox < s->out_w; ox++)
    {
      int32_t *o = acc + (size_t) ox * C;

      for (int c = 0; c < C; c++)
        o[c] = 0;
      for (int ky = 0; ky < s->kernel_h; ky++)
        for (int kx = 0; kx < s->kernel_w; kx++)
          {
            const uint8_t *px = qs_depthwise_tap (s, input, oy, ox, ky, kx);
            const int16_t *wt = w + (size_t) (ky * s->kernel_w + kx) * C;

            if (px == NULL)
              continue;
            for (int c = 0; c < C; c++)
              o[c] += ((int32_t) px[c] - s->input_zp) * (int32_t) wt[c];
          }
    }
}

/* The sums of qs_depthwise_u8s8_scalar, each requantized as the
 * requantization pass does a row without row sums. */
void
qs_depthwise_requant_u8s8_scalar (const QsDepthwiseShape *s,
                                  const uint8_t          *input,
                                  const void             *packed,
                                  const QsRequantParams  *params,
                                  int                     oy0,
                                  int                     oy1,
                                  uint8_t                *out)
{
  const int16_t *w = packed;
  size_t C = (size_t) s->channels;

  for (int oy = oy0; oy < oy1; oy++)
    for (int ox = 0; ox < s->out_w; ox++)
      {
        uint8_t *o = out + ((size_t) oy * s->out_w + ox) * C;

        for (size_t c = 0; c < C; c++)
          {
            int32_t sum = 0;

            for (int ky = 0; ky < s->kernel_h; ky++)
              for (int kx = 0; kx < s->kernel_w; kx++)
                {
                  const uint8_t *px = qs_depthwise_tap (s, input, oy, ox, ky, kx);

                  if (px != NULL)
                    sum += ((int32_t) px[c] - s->input_zp) * (int32_t) w[(size_t) (ky * s->kernel_w + kx) * C + c];
                }
            o[c] = qs_requantize_one (sum, 0, c, params);
          }
      }
}
