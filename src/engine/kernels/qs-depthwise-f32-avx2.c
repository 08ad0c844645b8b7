/* qs-depthwise-f32-avx2.c: depthwise convolution of one NHWC image in float32, 32 channels at a time.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * qs_depthwise_f32_scalar's arithmetic, bit for bit: each output starts
 * from its bias and adds product after product in the same tap order,
 * each product rounded on its own (an empty asm keeps the compiler from
 * contracting a multiply and an add into one FMA, which rounds once). The
 * sums stay in registers across the taps instead of going back to memory.
 */
#include "qs-kernels.h"

#include <immintrin.h>

#define VB 4  /* vectors of 8 channels per pass */

static inline __m256i
lane_mask (int valid)
{
  static const int32_t lanes[16] = { -1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0 };

  return _mm256_loadu_si256 ((const __m256i *) (lanes + 8 - (valid > 8 ? 8 : valid)));
}

static inline __m256
product (__m256 x,
         __m256 w)
{
  __m256 p = _mm256_mul_ps (x, w);

  __asm__ ("" : "+x" (p));
  return p;
}

void
qs_depthwise_f32_avx2 (const QsConvShape *s,
                       const float       *in,
                       const float       *w,
                       const float       *bias,
                       float              lo,
                       float              hi,
                       float             *out)
{
  int C = s->in_c;
  __m256 vlo = _mm256_set1_ps (lo), vhi = _mm256_set1_ps (hi);

  for (int oy = 0; oy < s->out_h; oy++)
    {
      int ky0 = s->pad_top - oy * s->stride_h, ky1 = s->in_h + s->pad_top - oy * s->stride_h;

      ky0 = ky0 < 0 ? 0 : ky0;
      ky1 = ky1 > s->kernel_h ? s->kernel_h : ky1;
      for (int ox = 0; ox < s->out_w; ox++)
        {
          int kx0 = s->pad_left - ox * s->stride_w, kx1 = s->in_w + s->pad_left - ox * s->stride_w;
          float *o = out + ((size_t) oy * s->out_w + ox) * C;

          kx0 = kx0 < 0 ? 0 : kx0;
          kx1 = kx1 > s->kernel_w ? s->kernel_w : kx1;
          for (int c0 = 0; c0 < C; c0 += 8 * VB)
            {
              __m256i mask[VB];
              __m256 acc[VB];
              int nv = 0;

              for (int v = 0; v < VB && c0 + 8 * v < C; v++, nv++)
                {
                  mask[v] = lane_mask (C - c0 - 8 * v);
                  acc[v] = _mm256_maskload_ps (bias + c0 + 8 * v, mask[v]);
                }
              for (int ky = ky0; ky < ky1; ky++)
                {
                  int iy = oy * s->stride_h - s->pad_top + ky;

                  for (int kx = kx0; kx < kx1; kx++)
                    {
                      int ix = ox * s->stride_w - s->pad_left + kx;
                      const float *px = in + ((size_t) iy * s->in_w + ix) * C + c0;
                      const float *wt = w + (size_t) (ky * s->kernel_w + kx) * C + c0;

                      for (int v = 0; v < nv; v++)
                        acc[v] = _mm256_add_ps (acc[v],
                                                product (_mm256_maskload_ps (px + 8 * v, mask[v]),
                                                         _mm256_maskload_ps (wt + 8 * v, mask[v])));
                    }
                }
              for (int v = 0; v < nv; v++)
                {
                  /* The reference's x < lo ? lo : (x > hi ? hi : x): maxps and
                   * minps return their second operand on ties and NaN. */
                  __m256 x = _mm256_min_ps (vhi, _mm256_max_ps (vlo, acc[v]));

                  _mm256_maskstore_ps (o + c0 + 8 * v, mask[v], x);
                }
            }
        }
    }
}
