/* qs-im2col.c: receptive fields of NHWC images as GEMM rows, on codes and on floats.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Plain memcpy per tap: each tap copies in_c contiguous channels, which the
 * C library already does with the widest vectors the CPU has.
 */
#include "qs-kernels.h"

#include <string.h>

void
qs_im2col_u8 (const QsConvShape *s,
              const uint8_t     *batch,
              size_t             first,
              size_t             count,
              uint8_t            pad,
              size_t             kp,
              uint8_t           *rows)
{
  size_t pixels = (size_t) s->out_h * s->out_w;
  size_t image_size = (size_t) s->in_h * s->in_w * s->in_c;
  size_t tap = (size_t) s->in_c;
  size_t k = tap * s->kernel_h * s->kernel_w;

  for (size_t r = 0; r < count; r++)
    {
      size_t row = first + r;
      size_t b = row / pixels, p = row % pixels;
      int oy = (int) (p / s->out_w), ox = (int) (p % s->out_w);
      const uint8_t *image = batch + b * image_size;
      uint8_t *dst = rows + r * kp;

      for (int ky = 0; ky < s->kernel_h; ky++)
        {
          int iy = oy * s->stride_h - s->pad_top + ky;

          for (int kx = 0; kx < s->kernel_w; kx++, dst += tap)
            {
              int ix = ox * s->stride_w - s->pad_left + kx;

              if (iy < 0 || iy >= s->in_h || ix < 0 || ix >= s->in_w)
                memset (dst, pad, tap);
              else
                memcpy (dst, image + ((size_t) iy * s->in_w + ix) * tap, tap);
            }
        }
      memset (rows + r * kp + k, 0, kp - k);
    }
}

void
qs_im2col_f32 (const QsConvShape *s,
               const float       *batch,
               size_t             first,
               size_t             count,
               float             *rows)
{
  size_t pixels = (size_t) s->out_h * s->out_w;
  size_t image_size = (size_t) s->in_h * s->in_w * s->in_c;
  size_t tap = (size_t) s->in_c;
  size_t k = tap * s->kernel_h * s->kernel_w;

  for (size_t r = 0; r < count; r++)
    {
      size_t row = first + r;
      size_t b = row / pixels, p = row % pixels;
      int oy = (int) (p / s->out_w), ox = (int) (p % s->out_w);
      const float *image = batch + b * image_size;
      float *dst = rows + r * k;

      for (int ky = 0; ky < s->kernel_h; ky++)
        {
          int iy = oy * s->stride_h - s->pad_top + ky;

          for (int kx = 0; kx < s->kernel_w; kx++, dst += tap)
            {
              int ix = ox * s->stride_w - s->pad_left + kx;

              if (iy < 0 || iy >= s->in_h || ix < 0 || ix >= s->in_w)
                memset (dst, 0, tap * sizeof (float));
              else
                memcpy (dst, image + ((size_t) iy * s->in_w + ix) * tap, tap * sizeof (float));
            }
        }
    }
}

void
qs_row_sums_u8 (size_t         rows,
                size_t         k,
                const uint8_t *a,
                size_t         lda,
                int32_t       *sums)
{
  for (size_t r = 0; r < rows; r++)
    {
      const uint8_t *row = a + r * lda;
      int32_t s = 0;

      for (size_t q = 0; q < k; q++)
        s += row[q];
      sums[r] = s;
    }
}
