/* qs-depthwise-f32-scalar.c: depthwise convolution of one NHWC image in float32.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "qs-kernels.h"

void
qs_depthwise_f32_scalar (const QsConvShape *s,
                         const float       *in,
                         const float       *w,
                         const float       *bias,
                         float              lo,
                         float              hi,
                         float             *out)
{
  int C = s->in_c;

  for (int oy = 0; oy < s->out_h; oy++)
    for (int ox = 0; ox < s->out_w; ox++)
      {
        float *o = out + ((size_t) oy * s->out_w + ox) * C;

        for (int c = 0; c < C; c++)
          o[c] = bias[c];
        for (int ky = 0; ky < s->kernel_h; ky++)
          {
            int iy = oy * s->stride_h - s->pad_top + ky;

            if (iy < 0 || iy >= s->in_h)
              continue;
            for (int kx = 0; kx < s->kernel_w; kx++)
              {
                int ix = ox * s->stride_w - s->pad_left + kx;
                const float *px, *wt;

                if (ix < 0 || ix >= s->in_w)
                  continue;
                px = in + ((size_t) iy * s->in_w + ix) * C;
                wt = w + (size_t) (ky * s->kernel_w + kx) * C;
                for (int c = 0; c < C; c++)
                  o[c] += px[c] * wt[c];
              }
          }
        for (int c = 0; c < C; c++)
          o[c] = o[c] < lo ? lo : (o[c] > hi ? hi : o[c]);
      }
}
