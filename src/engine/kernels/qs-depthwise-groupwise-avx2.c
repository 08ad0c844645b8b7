/* qs-depthwise-groupwise-avx2.c: depthwise convolution with group-wise weights on AVX2, bit for bit the scalar reference.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every channel's groups cover the same taps, so 8 channels run side by
 * side: per group, the int32 sums of (a - z_a) * w (codes zero-extended,
 * weights sign-extended, vpmulld: exact), then the scalar kernel's float32
 * operations in its order, one lane per channel; a channel tail of fewer
 * than 8 takes the same steps one channel at a time. Built without -mfma
 * (and with -ffp-contract=off): no multiply and add fuse.
 */
#include "qs-kernels.h"

#include <immintrin.h>

#define NB 8

void
qs_depthwise_groupwise_u8_avx2 (const QsDepthwiseShape        *s,
                                const uint8_t                 *input,
                                const QsDepthwiseGroupWeights *w,
                                const QsGroupwiseInput        *in,
                                const float                   *bias,
                                int                            oy,
                                int32_t                       *acc,
                                float                         *out)
{
  size_t C = w->channels, vec_end = C / NB * NB;
  const __m256 scale_in = _mm256_set1_ps (in->scale), zero_frac = _mm256_set1_ps (in->zero_frac);
  const __m256i zero_code = _mm256_set1_epi32 (in->zero_code);

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
              const uint8_t *px = qs_depthwise_tap (s, input, oy, ox, (int) t / s->kernel_w,
                                                    (int) t % s->kernel_w);
              const int16_t *wt = w->w + t * C;

              /* A padded tap is the code zero_code: (a - zero_code) is 0. */
              if (px == NULL)
                continue;
              for (size_t c = 0; c < vec_end; c += NB)
                {
                  __m256i a = _mm256_sub_epi32 (_mm256_cvtepu8_epi32 (_mm_loadl_epi64 ((const __m128i *) (px + c))),
                                                zero_code);
                  __m256i wv = _mm256_cvtepi16_epi32 (_mm_loadu_si128 ((const __m128i *) (wt + c)));
                  __m256i sum = _mm256_loadu_si256 ((const __m256i *) (acc + c));

                  _mm256_storeu_si256 ((__m256i *) (acc + c), _mm256_add_epi32 (sum, _mm256_mullo_epi32 (a, wv)));
                }
              for (size_t c = vec_end; c < C; c++)
                acc[c] += ((int32_t) px[c] - in->zero_code) * (int32_t) wt[c];
            }
          /* (s_in * s_w) * ((float) total - zero_frac * (float) code_sum), as the scalar kernel. */
          for (size_t c = 0; c < vec_end; c += NB)
            {
              __m256 total = _mm256_cvtepi32_ps (_mm256_loadu_si256 ((const __m256i *) (acc + c)));
              __m256 sums = _mm256_cvtepi32_ps (_mm256_loadu_si256 ((const __m256i *) (code_sums + c)));
              __m256 part = _mm256_mul_ps (_mm256_mul_ps (scale_in, _mm256_loadu_ps (scales + c)),
                                           _mm256_sub_ps (total, _mm256_mul_ps (zero_frac, sums)));

              _mm256_storeu_ps (y + c, _mm256_add_ps (_mm256_loadu_ps (y + c), part));
            }
          for (size_t c = vec_end; c < C; c++)
            y[c] += (in->scale * scales[c]) * ((float) acc[c] - in->zero_frac * (float) code_sums[c]);
        }
    }
}
