/* qs-depthwise-groupwise-avx512vnni.c: depthwise convolution with group-wise weights on AVX-512 VNNI, bit for bit the scalar reference.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every channel's groups cover the same taps, so 16 channels run side by
 * side. For each output pixel the window's taps inside the image are
 * listed once (a padded tap adds (zero_code - zero_code) w = 0 in the
 * reference, so it is left out); then for each block of 16 channels and
 * each group the sum of (a - z_a) w stays in one register: a - z_a in
 * [-255, 255] as int32 lanes and w zero-extended from its int16 bits, so
 * the upper int16 of every weight lane is 0 and vpdpwssd adds exactly
 * (a - z_a) * w. The float32 steps after each group's sum are the scalar
 * kernel's operations in its order, one lane per channel, and each
 * channel's groups still add up in group order. A channel tail of fewer
 * than 16 runs masked (masked loads never fault, so nothing past the last
 * channel is read). Built with -ffp-contract=off: no multiply and add fuse.
 */
#include "qs-kernels.h"

#include <immintrin.h>

#define NB 16
#define MAX_TAPS 64   /* larger windows take the reference */

void
qs_depthwise_groupwise_u8_avx512vnni (const QsDepthwiseShape        *s,
                                      const uint8_t                 *input,
                                      const QsDepthwiseGroupWeights *w,
                                      const QsGroupwiseInput        *in,
                                      const float                   *bias,
                                      int                            oy,
                                      int32_t                       *acc,
                                      float                         *out)
{
  size_t C = w->channels;
  const __m512 scale_in = _mm512_set1_ps (in->scale), zero_frac = _mm512_set1_ps (in->zero_frac);
  const __m512i zero_code = _mm512_set1_epi32 (in->zero_code);

  if (w->taps > MAX_TAPS)
    {
      qs_depthwise_groupwise_u8_scalar (s, input, w, in, bias, oy, acc, out);
      return;
    }
  for (int ox = 0; ox < s->out_w; ox++)
    {
      float *y = out + (size_t) ox * C;
      const uint8_t *pixels[MAX_TAPS];
      const int16_t *weights[MAX_TAPS];
      size_t group_end[MAX_TAPS], n = 0;

      /* The taps inside the image, in tap order; group g's are
       * [group_end[g - 1], group_end[g]). */
      for (size_t g = 0; g < w->groups; g++)
        {
          size_t t1 = (g + 1) * w->group_size < w->taps ? (g + 1) * w->group_size : w->taps;

          for (size_t t = g * w->group_size; t < t1; t++)
            {
              const uint8_t *px = qs_depthwise_tap (s, input, oy, ox, (int) t / s->kernel_w,
                                                    (int) t % s->kernel_w);

              if (px == NULL)
                continue;
              pixels[n] = px;
              weights[n] = w->w + t * C;
              n++;
            }
          group_end[g] = n;
        }

      for (size_t c = 0; c < C; c += NB)
        {
          __mmask16 mask = (__mmask16) (C - c < NB ? (1u << (C - c)) - 1 : 0xffffu);
          __m512 yv = _mm512_maskz_loadu_ps (mask, bias + c);

          for (size_t g = 0, i = 0; g < w->groups; g++)
            {
              __m512i sum = _mm512_setzero_si512 ();
              __m512 scales = _mm512_maskz_loadu_ps (mask, w->scales + g * C + c);
              __m512i code_sums = _mm512_maskz_loadu_epi32 (mask, w->code_sums + g * C + c);
              __m512 part;

              for (; i < group_end[g]; i++)
                {
                  __m512i a = _mm512_sub_epi32 (_mm512_cvtepu8_epi32 (_mm_maskz_loadu_epi8 (mask, pixels[i] + c)),
                                                zero_code);
                  __m512i wv = _mm512_cvtepu16_epi32 (_mm256_maskz_loadu_epi16 (mask, weights[i] + c));

                  sum = _mm512_dpwssd_epi32 (sum, a, wv);
                }
              /* (s_in * s_w) * ((float) total - zero_frac * (float) code_sum), as the scalar kernel. */
              part = _mm512_mul_ps (_mm512_mul_ps (scale_in, scales),
                                    _mm512_sub_ps (_mm512_cvtepi32_ps (sum),
                                                   _mm512_mul_ps (zero_frac, _mm512_cvtepi32_ps (code_sums))));
              yv = _mm512_add_ps (yv, part);
            }
          _mm512_mask_storeu_ps (y + c, mask, yv);
        }
    }
}
