/* qs-pool-scalar.c: max and average pooling of one NHWC image, on codes and on floats.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Pooling keeps the input's scale and zero point (as TFLite and PyTorch's
 * quantized pooling do), so max-pooling codes is exactly max-pooling the
 * values they stand for, and averaging codes is averaging values up to
 * one rounding. Padded taps are skipped, as Keras does for 'same'; the
 * zero-padded max pools take a ZeroPadding2D folded into the pool
 * (qs-engine-plan.c), whose taps outside the image hold 0.0.
 */
#include "qs-kernels.h"

#include <math.h>
#include <string.h>

/* The window of output (oy, ox), clipped to the image. */
static inline void
window (const QsConvShape *s,
        int                oy,
        int                ox,
        int               *y0,
        int               *y1,
        int               *x0,
        int               *x1)
{
  int ty = oy * s->stride_h - s->pad_top, tx = ox * s->stride_w - s->pad_left;

  *y0 = ty < 0 ? 0 : ty;
  *y1 = ty + s->kernel_h > s->in_h ? s->in_h : ty + s->kernel_h;
  *x0 = tx < 0 ? 0 : tx;
  *x1 = tx + s->kernel_w > s->in_w ? s->in_w : tx + s->kernel_w;
}

#define POOL_BLOCK 64

/* Max pooling whose taps outside the image hold @outside: 0, which no
 * code exceeds, skips them (Keras' padding), the code of 0.0 takes a
 * folded ZeroPadding2D's. */
static void
max_pool_u8 (const QsConvShape *s,
             uint8_t            outside,
             const uint8_t     *in,
             uint8_t *restrict  out)
{
  size_t C = (size_t) s->in_c;
  int window_taps = s->kernel_h * s->kernel_w;

  for (int oy = 0; oy < s->out_h; oy++)
    for (int ox = 0; ox < s->out_w; ox++)
      {
        uint8_t *restrict o = out + ((size_t) oy * s->out_w + ox) * C;
        int y0, y1, x0, x1;
        uint8_t start;
        size_t c0 = 0;

        window (s, oy, ox, &y0, &y1, &x0, &x1);
        /* A window inside the image starts from 0, one reaching out of it
         * from @outside (an empty one is @outside). */
        start = x1 > x0 && y1 > y0 && (y1 - y0) * (x1 - x0) == window_taps ? 0 : outside;
        /* Blocks of a fixed POOL_BLOCK channels, whose maxima the compiler
         * keeps in vector registers over the window; then the rest. */
        for (; c0 + POOL_BLOCK <= C; c0 += POOL_BLOCK)
          {
            uint8_t m[POOL_BLOCK];

            for (size_t c = 0; c < POOL_BLOCK; c++)
              m[c] = start;
            for (int y = y0; y < y1; y++)
              for (int x = x0; x < x1; x++)
                {
                  const uint8_t *px = in + ((size_t) y * s->in_w + x) * C + c0;

                  for (size_t c = 0; c < POOL_BLOCK; c++)
                    m[c] = px[c] > m[c] ? px[c] : m[c];
                }
            memcpy (o + c0, m, POOL_BLOCK);
          }
        if (c0 == C)
          continue;
        memset (o + c0, start, C - c0);
        for (int y = y0; y < y1; y++)
          for (int x = x0; x < x1; x++)
            {
              const uint8_t *restrict px = in + ((size_t) y * s->in_w + x) * C;

              for (size_t c = c0; c < C; c++)
                o[c] = px[c] > o[c] ? px[c] : o[c];
            }
      }
}

#define CHUNK 256  /* channels summed at a time in a stack buffer */

void
qs_pool_u8 (QsPoolKind         kind,
            const QsConvShape *s,
            const uint8_t     *in,
            uint8_t           *out)
{
  size_t C = (size_t) s->in_c;

  if (kind == QS_POOL_MAX)
    {
      max_pool_u8 (s, 0, in, out);
      return;
    }
  for (int oy = 0; oy < s->out_h; oy++)
    for (int ox = 0; ox < s->out_w; ox++)
      {
        uint8_t *o = out + ((size_t) oy * s->out_w + ox) * C;
        int y0, y1, x0, x1;
        uint32_t taps;

        window (s, oy, ox, &y0, &y1, &x0, &x1);
        taps = (uint32_t) ((y1 - y0) * (x1 - x0));
        if (taps == 0)
          {
            memset (o, 0, C);
            continue;
          }
        for (size_t c0 = 0; c0 < C; c0 += CHUNK)
          {
            size_t n = C - c0 < CHUNK ? C - c0 : CHUNK;
            uint32_t sum[CHUNK];

            for (size_t c = 0; c < n; c++)
              sum[c] = 0;
            for (int y = y0; y < y1; y++)
              for (int x = x0; x < x1; x++)
                {
                  const uint8_t *px = in + ((size_t) y * s->in_w + x) * C + c0;

                  for (size_t c = 0; c < n; c++)
                    sum[c] += px[c];
                }
            /* Codes are non-negative: half away from zero is half up. */
            for (size_t c = 0; c < n; c++)
              o[c0 + c] = (uint8_t) ((sum[c] + taps / 2) / taps);
          }
      }
}

void
qs_pool_f32 (QsPoolKind         kind,
             const QsConvShape *s,
             const float       *in,
             float             *out)
{
  size_t C = (size_t) s->in_c;

  for (int oy = 0; oy < s->out_h; oy++)
    for (int ox = 0; ox < s->out_w; ox++)
      {
        float *o = out + ((size_t) oy * s->out_w + ox) * C;
        int y0, y1, x0, x1, taps;

        window (s, oy, ox, &y0, &y1, &x0, &x1);
        taps = (y1 - y0) * (x1 - x0);
        if (taps <= 0)
          {
            for (size_t c = 0; c < C; c++)
              o[c] = 0.0f;
            continue;
          }
        memcpy (o, in + ((size_t) y0 * s->in_w + x0) * C, C * sizeof (float));
        for (int y = y0; y < y1; y++)
          for (int x = x0; x < x1; x++)
            {
              const float *px = in + ((size_t) y * s->in_w + x) * C;

              if (y == y0 && x == x0)
                continue;
              if (kind == QS_POOL_MAX)
                for (size_t c = 0; c < C; c++)
                  o[c] = px[c] > o[c] ? px[c] : o[c];
              else
                for (size_t c = 0; c < C; c++)
                  o[c] += px[c];
            }
        if (kind == QS_POOL_AVERAGE)
          for (size_t c = 0; c < C; c++)
            o[c] /= (float) taps;
      }
}

void
qs_max_pool_zero_padded_u8 (const QsConvShape *s,
                            uint8_t            zero,
                            const uint8_t     *in,
                            uint8_t           *out)
{
  max_pool_u8 (s, zero, in, out);
}

void
qs_max_pool_zero_padded_f32 (const QsConvShape *s,
                             const float       *in,
                             float             *out)
{
  size_t C = (size_t) s->in_c;

  for (int oy = 0; oy < s->out_h; oy++)
    for (int ox = 0; ox < s->out_w; ox++)
      {
        float *o = out + ((size_t) oy * s->out_w + ox) * C;
        int ty = oy * s->stride_h - s->pad_top, tx = ox * s->stride_w - s->pad_left;

        /* Every tap in the order qs_pool_f32 takes them from the padded
         * copy, 0.0 outside the image, so NaN and -0.0 come out as they
         * did before the fold. */
        for (int ky = 0; ky < s->kernel_h; ky++)
          for (int kx = 0; kx < s->kernel_w; kx++)
            {
              int y = ty + ky, x = tx + kx;
              bool inside = y >= 0 && y < s->in_h && x >= 0 && x < s->in_w;
              const float *px = inside ? in + ((size_t) y * s->in_w + x) * C : NULL;

              if (ky == 0 && kx == 0)
                for (size_t c = 0; c < C; c++)
                  o[c] = inside ? px[c] : 0.0f;
              else if (inside)
                for (size_t c = 0; c < C; c++)
                  o[c] = px[c] > o[c] ? px[c] : o[c];
              else
                for (size_t c = 0; c < C; c++)
                  o[c] = 0.0f > o[c] ? 0.0f : o[c];
            }
      }
}
