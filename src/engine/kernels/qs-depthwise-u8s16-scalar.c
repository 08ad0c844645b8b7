/* qs-depthwise-u8s16-scalar.c: depthwise convolution with 9..16-bit weights, int64 sums.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "qs-kernels.h"

void
qs_depthwise_u8s16_scalar (const QsDepthwiseShape *s,
                           const uint8_t          *input,
                           const int32_t          *w,
                           int                     oy,
                           int64_t                *acc)
{
  int C = s->channels;

  for (int ox = 0; ox < s->out_w; ox++)
    {
      int64_t *o = acc + (size_t) ox * C;

      for (int c = 0; c < C; c++)
        o[c] = 0;
      for (int ky = 0; ky < s->kernel_h; ky++)
        for (int kx = 0; kx < s->kernel_w; kx++)
          {
            const uint8_t *px = qs_depthwise_tap (s, input, oy, ox, ky, kx);
            const int32_t *wt = w + (size_t) (ky * s->kernel_w + kx) * C;

            if (px == NULL)
              continue;
            for (int c = 0; c < C; c++)
              o[c] += (int64_t) ((int32_t) px[c] - s->input_zp) * wt[c];
          }
    }
}
