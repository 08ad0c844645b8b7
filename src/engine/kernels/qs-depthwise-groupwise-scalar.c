/* qs-depthwise-groupwise-scalar.c: depthwise convolution on uint8 codes with group-wise weights, the reference.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A depthwise output sums kernel_h * kernel_w taps of one channel, so that
 * is the axis the groups (blocks) run along; a block of 32 covers a whole
 * 3 x 3 channel and the layer is per-channel in effect. Each group's int32
 * sum is rescaled by s_in * s_w[g][c] in float32 before the groups add up,
 * in the order of the group-wise GEMM, so one reference model serves both.
 */
#include "qs-kernels.h"

void
qs_depthwise_group_code_sums (size_t         channels,
                              size_t         taps,
                              size_t         group_size,
                              const int16_t *w,
                              int32_t       *code_sums)
{
  size_t groups = (taps + group_size - 1) / group_size;

  for (size_t g = 0; g < groups; g++)
    for (size_t c = 0; c < channels; c++)
      {
        size_t t1 = (g + 1) * group_size < taps ? (g + 1) * group_size : taps;
        int32_t sum = 0;

        for (size_t t = g * group_size; t < t1; t++)
          sum += w[t * channels + c];
        code_sums[g * channels + c] = sum;
      }
}

void
qs_depthwise_groupwise_u8_scalar (const QsDepthwiseShape        *s,
                                  const uint8_t                 *input,
                                  const QsDepthwiseGroupWeights *w,
                                  const QsGroupwiseInput        *in,
                                  const float                   *bias,
                                  int                            oy,
                                  int32_t                       *acc,
                                  float                         *out)
{
  size_t C = w->channels;

  for (int ox = 0; ox < s->out_w; ox++)
    {
      float *y = out + (size_t) ox * C;

      for (size_t c = 0; c < C; c++)
        y[c] = bias[c];
      for (size_t g = 0; g < w->groups; g++)
        {
          size_t t1 = (g + 1) * w->group_size < w->taps ? (g + 1) * w->group_size : w->taps;
          const float *scales = w->scales + g * C;
          const int32_t *code_sums = w->code_sums + g * C;

          for (size_t c = 0; c < C; c++)
            acc[c] = 0;
          for (size_t t = g * w->group_size; t < t1; t++)
            {
              int ky = (int) t / s->kernel_w, kx = (int) t % s->kernel_w;
              const uint8_t *px = qs_depthwise_tap (s, input, oy, ox, ky, kx);
              const int16_t *wt = w->w + t * C;

              /* A padded tap is the code zero_code: (a - zero_code) is 0. */
              if (px == NULL)
                continue;
              for (size_t c = 0; c < C; c++)
                acc[c] += ((int32_t) px[c] - in->zero_code) * (int32_t) wt[c];
            }
          for (size_t c = 0; c < C; c++)
            y[c] += (in->scale * scales[c]) * ((float) acc[c] - in->zero_frac * (float) code_sums[c]);
        }
    }
}
