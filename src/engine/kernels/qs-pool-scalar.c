/* qs-pool-scalar.c: max and average pooling of one NHWC image, on codes and on floats.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Pooling keeps the input's scale and zero point (as TFLite and PyTorch's
 * quantized pooling do), so max-pooling codes is exactly max-pooling the
 * values they stand for, and averaging codes is averaging values up to
 * one rounding. Padded taps are skipped, as Keras does for 'same'.
 */
#include "qs-kernels.h"

#include <math.h>

void
qs_pool_u8 (QsPoolKind         kind,
            const QsConvShape *s,
            const uint8_t     *in,
            uint8_t           *out)
{
  int C = s->in_c;

  for (int oy = 0; oy < s->out_h; oy++)
    for (int ox = 0; ox < s->out_w; ox++)
      {
        uint8_t *o = out + ((size_t) oy * s->out_w + ox) * C;

        for (int c = 0; c < C; c++)
          {
            uint32_t sum = 0, taps = 0;
            uint8_t best = 0;

            for (int ky = 0; ky < s->kernel_h; ky++)
              {
                int iy = oy * s->stride_h - s->pad_top + ky;

                if (iy < 0 || iy >= s->in_h)
                  continue;
                for (int kx = 0; kx < s->kernel_w; kx++)
                  {
                    int ix = ox * s->stride_w - s->pad_left + kx;
                    uint8_t v;

                    if (ix < 0 || ix >= s->in_w)
                      continue;
                    v = in[((size_t) iy * s->in_w + ix) * C + c];
                    best = v > best ? v : best;
                    sum += v;
                    taps++;
                  }
              }
            if (kind == QS_POOL_MAX)
              o[c] = best;
            else
              /* Codes are non-negative: half away from zero is half up. */
              o[c] = (uint8_t) (taps > 0 ? (sum + taps / 2) / taps : 0);
          }
      }
}

void
qs_pool_f32 (QsPoolKind         kind,
             const QsConvShape *s,
             const float       *in,
             float             *out)
{
  int C = s->in_c;

  for (int oy = 0; oy < s->out_h; oy++)
    for (int ox = 0; ox < s->out_w; ox++)
      {
        float *o = out + ((size_t) oy * s->out_w + ox) * C;

        for (int c = 0; c < C; c++)
          {
            float sum = 0.0f, best = -INFINITY;
            int taps = 0;

            for (int ky = 0; ky < s->kernel_h; ky++)
              {
                int iy = oy * s->stride_h - s->pad_top + ky;

                if (iy < 0 || iy >= s->in_h)
                  continue;
                for (int kx = 0; kx < s->kernel_w; kx++)
                  {
                    int ix = ox * s->stride_w - s->pad_left + kx;
                    float v;

                    if (ix < 0 || ix >= s->in_w)
                      continue;
                    v = in[((size_t) iy * s->in_w + ix) * C + c];
                    best = v > best ? v : best;
                    sum += v;
                    taps++;
                  }
              }
            if (kind == QS_POOL_MAX)
              o[c] = taps > 0 ? best : 0.0f;
            else
              o[c] = taps > 0 ? sum / (float) taps : 0.0f;
          }
      }
}
