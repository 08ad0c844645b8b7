/* qs-depthwise-f32-avx512.c: depthwise convolution of one NHWC image in float32, 8 pixels x 16 channels at a time.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * qs_depthwise_f32_scalar's arithmetic, bit for bit: each output starts
 * from its bias and adds product after product in the same tap order,
 * each product rounded on its own (an empty asm keeps the compiler from
 * contracting a multiply and an add into one FMA, which rounds once).
 * The AVX2 kernel loads a weight vector for every input vector; here one
 * weight load serves a run of PX output pixels of a row whose taps are
 * all inside the image (the interior), nearly halving the loads: 1.3 to
 * 1.6 times as fast on MobileNetV2's layers (measured on a busy Zen 4).
 * What is left of the interior after runs of PX takes runs of PX / 2 and
 * PX / 4 (a 14x14 map's row has 12 interior pixels, a 7x7 map's 5).
 * Pixels at the borders, where taps fall outside, and the last odd one
 * go one at a time, four vectors of channels together.
 */
#include "qs-kernels.h"

#include <immintrin.h>

#define PX 8  /* output pixels per run */

static inline __m512
product (__m512 x,
         __m512 w)
{
  __m512 p = _mm512_mul_ps (x, w);

  __asm__ ("" : "+v" (p));
  return p;
}

/* Output pixels (@oy, @ox + p) for p in [0, @npx), channels [c0, c0 + 16
 * @nv) (the last vector's lanes where @mask is set when @masked), taps
 * [ky0, ky1) x [kx0, kx1) (inside the image for every one of the
 * pixels). Inlined (forced: GCC otherwise keeps it out of line and the
 * sums in memory) with constant @npx, @nv and @masked so the sums stay in
 * registers and full vectors load without masks. */
static inline __attribute__ ((always_inline)) void
pixels (const QsConvShape *s,
        const float       *in,
        const float       *w,
        const float       *bias,
        __m512             vlo,
        __m512             vhi,
        int                oy,
        int                ox,
        int                npx,
        int                ky0,
        int                ky1,
        int                kx0,
        int                kx1,
        int                c0,
        int                nv,
        bool               masked,
        __mmask16          mask,
        float             *out)
{
  size_t C = (size_t) s->in_c, step = (size_t) s->stride_w * C;
  __m512 acc[PX];

  for (int p = 0; p < npx; p++)
    for (int v = 0; v < nv; v++)
      acc[p * nv + v] = masked ? _mm512_maskz_loadu_ps (mask, bias + c0) : _mm512_loadu_ps (bias + c0 + 16 * v);
  for (int ky = ky0; ky < ky1; ky++)
    {
      int iy = oy * s->stride_h - s->pad_top + ky;

      for (int kx = kx0; kx < kx1; kx++)
        {
          int ix = ox * s->stride_w - s->pad_left + kx;
          const float *px = in + ((size_t) iy * s->in_w + ix) * C + c0;
          const float *wp = w + (size_t) (ky * s->kernel_w + kx) * C + c0;

          for (int v = 0; v < nv; v++)
            {
              __m512 wt = masked ? _mm512_maskz_loadu_ps (mask, wp) : _mm512_loadu_ps (wp + 16 * v);

              for (int p = 0; p < npx; p++)
                {
                  const float *x = px + p * step + 16 * v;
                  __m512 xv = masked ? _mm512_maskz_loadu_ps (mask, x) : _mm512_loadu_ps (x);

                  acc[p * nv + v] = _mm512_add_ps (acc[p * nv + v], product (xv, wt));
                }
            }
        }
    }
  for (int p = 0; p < npx; p++)
    for (int v = 0; v < nv; v++)
      {
        /* The reference's x < lo ? lo : (x > hi ? hi : x): maxps and
         * minps return their second operand on ties and NaN. */
        __m512 x = _mm512_min_ps (vhi, _mm512_max_ps (vlo, acc[p * nv + v]));
        float *o = out + ((size_t) oy * s->out_w + ox + p) * C + c0 + 16 * v;

        if (masked)
          _mm512_mask_storeu_ps (o, mask, x);
        else
          _mm512_storeu_ps (o, x);
      }
}

static inline __mmask16
lane_mask (int valid)
{
  return (__mmask16) ((1u << valid) - 1);
}

/* The taps [k0, k1) of a kernel of @kernel taps inside an input of @size
 * for the output at @o. */
static inline void
valid_taps (int  o,
            int  stride,
            int  pad,
            int  kernel,
            int  size,
            int *k0,
            int *k1)
{
  int lo = pad - o * stride, hi = size + pad - o * stride;

  *k0 = lo < 0 ? 0 : lo;
  *k1 = hi > kernel ? kernel : hi;
}

/* What pixels does, for a run of @npx interior pixels of a 3-wide kernel at
 * horizontal stride @stride (1 or 2), channels [c0, c0 + 16) (where
 * @mask is set when @masked): each input vector of a kernel row is loaded
 * once and multiplied into every output of the run that reads it, 10
 * loads a row for 8 pixels at stride 1 instead of 24, the products from
 * registers. Each output still adds its taps in order: along a row its
 * kx = 0, 1, 2 come from input pixels j = p * stride + kx, in increasing
 * j. 1.05 to 1.14 times pixels' speed on MobileNetV2's layers (one thread, a
 * band in L2, on the Xeon this was measured on). */
static inline __attribute__ ((always_inline)) void
row_pixels (const QsConvShape *s,
            const float       *in,
            const float       *w,
            const float       *bias,
            __m512             vlo,
            __m512             vhi,
            int                oy,
            int                ox,
            int                npx,
            int                stride,
            int                ky0,
            int                ky1,
            int                c0,
            bool               masked,
            __mmask16          mask,
            float             *out)
{
  size_t C = (size_t) s->in_c;
  __m512 acc[PX];

#pragma GCC unroll 8
  for (int p = 0; p < npx; p++)
    acc[p] = masked ? _mm512_maskz_loadu_ps (mask, bias + c0) : _mm512_loadu_ps (bias + c0);
  for (int ky = ky0; ky < ky1; ky++)
    {
      int iy = oy * s->stride_h - s->pad_top + ky;
      const float *row = in + ((size_t) iy * s->in_w + (size_t) (ox * stride - s->pad_left)) * C + c0;
      const float *wr = w + (size_t) ky * 3 * C + c0;
      __m512 wk[3];

#pragma GCC unroll 3
      for (int kx = 0; kx < 3; kx++)
        wk[kx] = masked ? _mm512_maskz_loadu_ps (mask, wr + kx * C) : _mm512_loadu_ps (wr + kx * C);
#pragma GCC unroll 32
      for (int j = 0; j < (npx - 1) * stride + 3; j++)
        {
          __m512 x = masked ? _mm512_maskz_loadu_ps (mask, row + j * C) : _mm512_loadu_ps (row + j * C);

#pragma GCC unroll 3
          for (int kx = 0; kx < 3; kx++)
            {
              int p = (j - kx) / stride;

              if (j >= kx && (j - kx) % stride == 0 && p < npx)
                acc[p] = _mm512_add_ps (acc[p], product (x, wk[kx]));
            }
        }
    }
#pragma GCC unroll 8
  for (int p = 0; p < npx; p++)
    {
      __m512 x = _mm512_min_ps (vhi, _mm512_max_ps (vlo, acc[p]));
      float *o = out + ((size_t) oy * s->out_w + ox + p) * C + c0;

      if (masked)
        _mm512_mask_storeu_ps (o, mask, x);
      else
        _mm512_storeu_ps (o, x);
    }
}

/* A run of @npx interior pixels, every channel, a vector at a time
 * (constant @npx after inlining). */
static inline __attribute__ ((always_inline)) void
interior_run (const QsConvShape *s,
              const float       *in,
              const float       *w,
              const float       *bias,
              __m512             vlo,
              __m512             vhi,
              int                oy,
              int                ox,
              int                npx,
              int                ky0,
              int                ky1,
              int                kx0,
              int                kx1,
              float             *out)
{
  int C = s->in_c;

  if (s->kernel_w == 3 && (s->stride_w == 1 || s->stride_w == 2))
    {
      for (int c0 = 0; c0 < C; c0 += 16)
        {
          bool whole = C - c0 >= 16;
          __mmask16 mask = whole ? 0 : lane_mask (C - c0);

          if (s->stride_w == 1 && whole)
            row_pixels (s, in, w, bias, vlo, vhi, oy, ox, npx, 1, ky0, ky1, c0, false, 0, out);
          else if (s->stride_w == 1)
            row_pixels (s, in, w, bias, vlo, vhi, oy, ox, npx, 1, ky0, ky1, c0, true, mask, out);
          else if (whole)
            row_pixels (s, in, w, bias, vlo, vhi, oy, ox, npx, 2, ky0, ky1, c0, false, 0, out);
          else
            row_pixels (s, in, w, bias, vlo, vhi, oy, ox, npx, 2, ky0, ky1, c0, true, mask, out);
        }
      return;
    }
  for (int c0 = 0; c0 < C; c0 += 16)
    {
      if (C - c0 >= 16)
        pixels (s, in, w, bias, vlo, vhi, oy, ox, npx, ky0, ky1, kx0, kx1, c0, 1, false, 0, out);
      else
        pixels (s, in, w, bias, vlo, vhi, oy, ox, npx, ky0, ky1, kx0, kx1, c0, 1, true, lane_mask (C - c0), out);
    }
}

void
qs_depthwise_f32_avx512 (const QsConvShape *s,
                         const float       *in,
                         const float       *w,
                         const float       *bias,
                         float              lo,
                         float              hi,
                         float             *out)
{
  int C = s->in_c;
  __m512 vlo = _mm512_set1_ps (lo), vhi = _mm512_set1_ps (hi);
  /* The output columns whose taps are all inside the image: ox * stride -
   * pad >= 0 and ox * stride - pad + kernel <= in_w. */
  int x_first = (s->pad_left + s->stride_w - 1) / s->stride_w;
  int x_end = s->in_w + s->pad_left - s->kernel_w < 0 ? 0
              : (s->in_w + s->pad_left - s->kernel_w) / s->stride_w + 1;

  x_end = x_end > s->out_w ? s->out_w : x_end;
  for (int oy = 0; oy < s->out_h; oy++)
    {
      int ky0, ky1, ox = 0;

      valid_taps (oy, s->stride_h, s->pad_top, s->kernel_h, s->in_h, &ky0, &ky1);
      while (ox < s->out_w)
        {
          int inside = ox >= x_first ? x_end - ox : 0;
          int run = inside >= PX ? PX : (inside >= PX / 2 ? PX / 2 : (inside >= PX / 4 ? PX / 4 : 1));
          int kx0, kx1;

          valid_taps (ox, s->stride_w, s->pad_left, s->kernel_w, s->in_w, &kx0, &kx1);
          if (run == PX)
            interior_run (s, in, w, bias, vlo, vhi, oy, ox, PX, ky0, ky1, kx0, kx1, out);
          else if (run == PX / 2)
            interior_run (s, in, w, bias, vlo, vhi, oy, ox, PX / 2, ky0, ky1, kx0, kx1, out);
          else if (run == PX / 4)
            interior_run (s, in, w, bias, vlo, vhi, oy, ox, PX / 4, ky0, ky1, kx0, kx1, out);
          else
            {
              /* One pixel: four vectors of channels at a time, so that
               * four chains of sums overlap. */
              int c0 = 0;

              for (; c0 + 64 <= C; c0 += 64)
                pixels (s, in, w, bias, vlo, vhi, oy, ox, 1, ky0, ky1, kx0, kx1, c0, 4, false, 0, out);
              for (; c0 + 16 <= C; c0 += 16)
                pixels (s, in, w, bias, vlo, vhi, oy, ox, 1, ky0, ky1, kx0, kx1, c0, 1, false, 0, out);
              if (c0 < C)
                pixels (s, in, w, bias, vlo, vhi, oy, ox, 1, ky0, ky1, kx0, kx1, c0, 1, true,
                        lane_mask (C - c0), out);
            }
          ox += run;
        }
    }
}
