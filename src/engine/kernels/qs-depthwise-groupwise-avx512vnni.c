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
 * channel's groups still add up in group order. Four blocks (64
 * channels) go side by side, four vpdpwssd chains in flight; a channel
 * tail of fewer than 16 runs masked (masked loads never fault, so nothing
 * past the last channel is read). Built with -ffp-contract=off: no
 * multiply and add fuse.
 */
#include "qs-kernels.h"
#include "qs-vnni-inplace.h"

#include <immintrin.h>

#define NB 16
#define MAX_TAPS 64   /* larger windows take the reference */
#define BLOCKS_MAX 4  /* channel blocks side by side */

/* Channels [c, c + 16 * BLOCKS) of one output pixel, @mask the real ones
 * of a single block: BLOCKS and FULL (whole blocks: unmasked loads) are
 * constants at each call. Several blocks side by side keep several
 * vpdpwssd chains in flight. */
static inline __attribute__ ((always_inline)) void
channel_blocks (size_t                         BLOCKS,
                bool                           FULL,
                const QsDepthwiseGroupWeights *w,
                const QsGroupwiseInput        *in,
                const float                   *bias,
                const uint8_t *const          *pixels,
                const int16_t *const          *weights,
                const size_t                  *group_end,
                size_t                         c,
                __mmask16                      mask,
                float                         *y)
{
  const __m512 scale_in = _mm512_set1_ps (in->scale), zero_frac = _mm512_set1_ps (in->zero_frac);
  const __m512i zero_code = _mm512_set1_epi32 (in->zero_code);
  size_t C = w->channels;
  __m512 yv[BLOCKS_MAX];

  for (size_t k = 0; k < BLOCKS; k++)
    yv[k] = FULL ? _mm512_loadu_ps (bias + c + k * NB) : _mm512_maskz_loadu_ps (mask, bias + c);
  for (size_t g = 0, i = 0; g < w->groups; g++)
    {
      __m512i sum[BLOCKS_MAX];

      for (size_t k = 0; k < BLOCKS; k++)
        sum[k] = _mm512_setzero_si512 ();
      for (; i < group_end[g]; i++)
        for (size_t k = 0; k < BLOCKS; k++)
          {
            const uint8_t *px = pixels[i] + c + k * NB;
            const int16_t *wt = weights[i] + c + k * NB;
            __m128i a8 = FULL ? _mm_loadu_si128 ((const __m128i *) px) : _mm_maskz_loadu_epi8 (mask, px);
            __m256i w16 = FULL ? _mm256_loadu_si256 ((const __m256i *) wt) : _mm256_maskz_loadu_epi16 (mask, wt);

            sum[k] = qs_dpwssd_inplace (sum[k], _mm512_sub_epi32 (_mm512_cvtepu8_epi32 (a8), zero_code),
                                          _mm512_cvtepu16_epi32 (w16));
          }
      /* (s_in * s_w) * ((float) total - zero_frac * (float) code_sum), as the scalar kernel. */
      for (size_t k = 0; k < BLOCKS; k++)
        {
          const float *scales = w->scales + g * C + c + k * NB;
          const int32_t *code_sums = w->code_sums + g * C + c + k * NB;
          __m512 s_w = FULL ? _mm512_loadu_ps (scales) : _mm512_maskz_loadu_ps (mask, scales);
          __m512i sums = FULL ? _mm512_loadu_si512 (code_sums) : _mm512_maskz_loadu_epi32 (mask, code_sums);
          __m512 part = _mm512_mul_ps (_mm512_mul_ps (scale_in, s_w),
                                       _mm512_sub_ps (_mm512_cvtepi32_ps (sum[k]),
                                                      _mm512_mul_ps (zero_frac, _mm512_cvtepi32_ps (sums))));

          yv[k] = _mm512_add_ps (yv[k], part);
        }
    }
  for (size_t k = 0; k < BLOCKS; k++)
    if (FULL)
      _mm512_storeu_ps (y + c + k * NB, yv[k]);
    else
      _mm512_mask_storeu_ps (y + c, mask, yv[k]);
}

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
  size_t C = w->channels, vec_end = C / NB * NB;
  __mmask16 tail = (__mmask16) ((1u << (C - vec_end)) - 1);

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
      size_t group_end[MAX_TAPS], n = 0, t = 0, g = 0, in_group = 0;

      /* The taps inside the image, in tap order; group g's are
       * [group_end[g - 1], group_end[g]). */
      for (int ky = 0; ky < s->kernel_h; ky++)
        {
          int iy = oy * s->stride_h - s->pad_top + ky;

          for (int kx = 0; kx < s->kernel_w; kx++, t++)
            {
              int ix = ox * s->stride_w - s->pad_left + kx;

              if (iy >= 0 && iy < s->in_h && ix >= 0 && ix < s->in_w)
                {
                  pixels[n] = input + ((size_t) iy * s->in_w + ix) * C;
                  weights[n] = w->w + t * C;
                  n++;
                }
              if (++in_group == w->group_size || t + 1 == w->taps)
                {
                  group_end[g++] = n;
                  in_group = 0;
                }
            }
        }
      size_t c = 0;

      for (; c + BLOCKS_MAX * NB <= vec_end; c += BLOCKS_MAX * NB)
        channel_blocks (BLOCKS_MAX, true, w, in, bias, pixels, weights, group_end, c, 0xffff, y);
      for (; c < vec_end; c += NB)
        channel_blocks (1, true, w, in, bias, pixels, weights, group_end, c, 0xffff, y);
      if (vec_end < C)
        channel_blocks (1, false, w, in, bias, pixels, weights, group_end, vec_end, tail, y);
    }
}
