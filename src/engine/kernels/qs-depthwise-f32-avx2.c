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

/* Output pixel (@oy, @ox), channels [c0, c0 + 8 * nv), taps [ky0, ky1) x
 * [kx0, kx1) (those inside the image); @mask selects the channels of a
 * last partial vector (nv 1). Inlined with constant @nv and @masked, so
 * the sums live in registers and full vectors load without masks. */
static inline void
pixel_channels (const QsConvShape *s,
                const float       *in,
                const float       *w,
                const float       *bias,
                __m256             vlo,
                __m256             vhi,
                int                oy,
                int                ox,
                int                ky0,
                int                ky1,
                int                kx0,
                int                kx1,
                int                c0,
                int                nv,
                bool               masked,
                __m256i            mask,
                float             *o)
{
  size_t C = (size_t) s->in_c;
  __m256 acc[VB];

  for (int v = 0; v < nv; v++)
    acc[v] = masked ? _mm256_maskload_ps (bias + c0, mask) : _mm256_loadu_ps (bias + c0 + 8 * v);
  for (int ky = ky0; ky < ky1; ky++)
    {
      int iy = oy * s->stride_h - s->pad_top + ky;

      for (int kx = kx0; kx < kx1; kx++)
        {
          int ix = ox * s->stride_w - s->pad_left + kx;
          const float *px = in + ((size_t) iy * s->in_w + ix) * C + c0;
          const float *wt = w + (size_t) (ky * s->kernel_w + kx) * C + c0;

          for (int v = 0; v < nv; v++)
            {
              __m256 x = masked ? _mm256_maskload_ps (px, mask) : _mm256_loadu_ps (px + 8 * v);
              __m256 y = masked ? _mm256_maskload_ps (wt, mask) : _mm256_loadu_ps (wt + 8 * v);

              acc[v] = _mm256_add_ps (acc[v], product (x, y));
            }
        }
    }
  for (int v = 0; v < nv; v++)
    {
      /* The reference's x < lo ? lo : (x > hi ? hi : x): maxps and
       * minps return their second operand on ties and NaN. */
      __m256 x = _mm256_min_ps (vhi, _mm256_max_ps (vlo, acc[v]));

      if (masked)
        _mm256_maskstore_ps (o + c0, mask, x);
      else
        _mm256_storeu_ps (o + c0 + 8 * v, x);
    }
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
  __m256i all = _mm256_set1_epi32 (-1);

  for (int oy = 0; oy < s->out_h; oy++)
    {
      int ky0 = s->pad_top - oy * s->stride_h, ky1 = s->in_h + s->pad_top - oy * s->stride_h;

      ky0 = ky0 < 0 ? 0 : ky0;
      ky1 = ky1 > s->kernel_h ? s->kernel_h : ky1;
      for (int ox = 0; ox < s->out_w; ox++)
        {
          int kx0 = s->pad_left - ox * s->stride_w, kx1 = s->in_w + s->pad_left - ox * s->stride_w;
          float *o = out + ((size_t) oy * s->out_w + ox) * C;
          int c0 = 0;

          kx0 = kx0 < 0 ? 0 : kx0;
          kx1 = kx1 > s->kernel_w ? s->kernel_w : kx1;
          for (; c0 + 8 * VB <= C; c0 += 8 * VB)
            pixel_channels (s, in, w, bias, vlo, vhi, oy, ox, ky0, ky1, kx0, kx1, c0, VB, false, all, o);
          for (; c0 + 8 <= C; c0 += 8)
            pixel_channels (s, in, w, bias, vlo, vhi, oy, ox, ky0, ky1, kx0, kx1, c0, 1, false, all, o);
          if (c0 < C)
            pixel_channels (s, in, w, bias, vlo, vhi, oy, ox, ky0, ky1, kx0, kx1, c0, 1, true,
                            lane_mask (C - c0), o);
        }
    }
}
