/* qs-im2col.c: receptive fields of NHWC images as GEMM rows, on codes and on floats.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * In NHWC a window row (kernel_w taps of in_c channels) is contiguous in
 * the image, so an interior row is one copy; only windows that cross the
 * left or right border are copied tap by tap with padding between.
 */
#include "qs-kernels.h"

#include <string.h>

/* Copies @n bytes; the windows of small layers are a few bytes per tap,
 * where a call to memcpy costs more than the copy (up to 64 bytes: the
 * demo's 3x3 windows of 16 channels cross a border as 32). Below 4 bytes it
 * copies 4: rows are written left to right, so the extra bytes land where
 * the next write goes (or in the zero tail, or the buffer's slack), and
 * the source is an activation buffer with QS_KERNEL_SLACK readable bytes. */
static inline void
copy_small (uint8_t       *dst,
            const uint8_t *src,
            size_t         n)
{
  if (n > 64)
    memcpy (dst, src, n);
  else if (n >= 32)
    {
      memcpy (dst, src, 32);
      memcpy (dst + n - 32, src + n - 32, 32);
    }
  else if (n >= 16)
    {
      memcpy (dst, src, 16);
      memcpy (dst + n - 16, src + n - 16, 16);
    }
  else if (n >= 8)
    {
      memcpy (dst, src, 8);
      memcpy (dst + n - 8, src + n - 8, 8);
    }
  else if (n >= 4)
    {
      memcpy (dst, src, 4);
      memcpy (dst + n - 4, src + n - 4, 4);
    }
  else
    memcpy (dst, src, 4);
}

/* Sets @n bytes, rounding small fills up to 8 (see copy_small). */
static inline void
fill_small (uint8_t *dst,
            uint8_t  value,
            size_t   n)
{
  uint64_t v = 0x0101010101010101ull * value;

  if (n > 16)
    memset (dst, value, n);
  else
    {
      memcpy (dst, &v, 8);
      if (n > 8)
        memcpy (dst + 8, &v, 8);
    }
}

/* One window row across the left or right border: its taps inside the
 * image are adjacent there, so they are one copy between the fills of
 * the padding's taps (left to right, as copy_small and fill_small need). */
static inline void
border_row_u8 (const QsConvShape *s,
               const uint8_t     *image_row,
               int                x0,
               uint8_t            pad,
               uint8_t           *dst)
{
  size_t tap = (size_t) s->in_c;
  int first = x0 < 0 ? -x0 : 0;
  int end = x0 + s->kernel_w > s->in_w ? s->in_w - x0 : s->kernel_w;

  if (end <= first)
    {
      fill_small (dst, pad, (size_t) s->kernel_w * tap);
      return;
    }
  if (first > 0)
    fill_small (dst, pad, (size_t) first * tap);
  copy_small (dst + (size_t) first * tap, image_row + (size_t) (x0 + first) * tap,
              (size_t) (end - first) * tap);
  if (end < s->kernel_w)
    fill_small (dst + (size_t) end * tap, pad, (size_t) (s->kernel_w - end) * tap);
}

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
  size_t span = tap * s->kernel_w;   /* one window row: contiguous in NHWC */
  size_t k = span * s->kernel_h;
  /* The output position walks along rows instead of being divided out. */
  size_t b = first / pixels, p = first % pixels;
  int oy = (int) (p / s->out_w), ox = (int) (p % s->out_w);

  for (size_t r = 0; r < count; r++)
    {
      int x0 = ox * s->stride_w - s->pad_left;
      bool x_inside = x0 >= 0 && x0 + s->kernel_w <= s->in_w;
      const uint8_t *image = batch + b * image_size;
      uint8_t *dst = rows + r * kp;

      for (int ky = 0; ky < s->kernel_h; ky++, dst += span)
        {
          int iy = oy * s->stride_h - s->pad_top + ky;

          if (iy < 0 || iy >= s->in_h)
            fill_small (dst, pad, span);
          else if (x_inside)
            copy_small (dst, image + ((size_t) iy * s->in_w + x0) * tap, span);
          else
            border_row_u8 (s, image + (size_t) iy * s->in_w * tap, x0, pad, dst);
        }
      fill_small (rows + r * kp + k, 0, kp - k);

      if (++ox == s->out_w)
        {
          ox = 0;
          if (++oy == s->out_h)
            {
              oy = 0;
              b++;
            }
        }
    }
}

/* The window rows of one output at (@x0, @iy0) that cross the image's
 * edge: above or below it they read @pad_row, across the left or right
 * border they are copied with their padding to @next. Returns where the
 * next copy goes. Kept out of line: inlined, its copies cost the loop
 * over interior windows its registers. */
static __attribute__ ((noinline)) uint8_t *
edge_window_u8 (const QsConvShape  *s,
                const uint8_t      *image,
                int                 x0,
                int                 iy0,
                uint8_t             pad,
                const uint8_t      *pad_row,
                uint8_t            *next,
                const uint8_t     **row)
{
  size_t tap = (size_t) s->in_c;
  size_t span = tap * s->kernel_w;
  bool x_inside = x0 >= 0 && x0 + s->kernel_w <= s->in_w;

  for (int ky = 0; ky < s->kernel_h; ky++)
    {
      int iy = iy0 + ky;

      if (iy < 0 || iy >= s->in_h)
        row[ky] = pad_row;
      else if (x_inside)
        row[ky] = image + ((size_t) iy * s->in_w + x0) * tap;
      else
        {
          border_row_u8 (s, image + (size_t) iy * s->in_w * tap, x0, pad, next);
          row[ky] = next;
          next += span;
        }
    }
  return next;
}

size_t
qs_im2col_indirect_u8 (const QsConvShape *s,
                       const uint8_t     *batch,
                       size_t             first,
                       size_t             count,
                       uint8_t            pad,
                       uint8_t           *patches,
                       const uint8_t    **rows)
{
  size_t pixels = (size_t) s->out_h * s->out_w;
  size_t image_size = (size_t) s->in_h * s->in_w * s->in_c;
  size_t tap = (size_t) s->in_c;
  size_t span = tap * s->kernel_w;
  size_t line = (size_t) s->in_w * tap;   /* one image row down */
  size_t kh = (size_t) s->kernel_h;
  size_t b = first / pixels, p = first % pixels;
  int oy = (int) (p / s->out_w), ox = (int) (p % s->out_w);
  /* Window rows above or below the image all read one row of padding. */
  const uint8_t *pad_row = patches;
  uint8_t *next = patches + span;
  /* The window's top row and its offset in the image, stepped along with
   * the output position rather than multiplied out per window. */
  int iy0 = oy * s->stride_h - s->pad_top, x0 = ox * s->stride_w - s->pad_left;
  bool y_inside = iy0 >= 0 && iy0 + s->kernel_h <= s->in_h;
  const uint8_t *image = batch + b * image_size;

  fill_small (patches, pad, span);
  for (size_t r = 0; r < count; r++)
    {
      const uint8_t **row = &rows[r * kh];

      if (y_inside && x0 >= 0 && x0 + s->kernel_w <= s->in_w)
        {
          const uint8_t *top = image + (size_t) iy0 * line + (size_t) x0 * tap;

          for (size_t ky = 0; ky < kh; ky++)
            row[ky] = top + ky * line;
        }
      else
        next = edge_window_u8 (s, image, x0, iy0, pad, pad_row, next, row);

      x0 += s->stride_w;
      if (++ox == s->out_w)
        {
          ox = 0;
          x0 = -s->pad_left;
          iy0 += s->stride_h;
          if (++oy == s->out_h)
            {
              oy = 0;
              iy0 = -s->pad_top;
              image += image_size;
            }
          y_inside = iy0 >= 0 && iy0 + s->kernel_h <= s->in_h;
        }
    }
  return (size_t) (next - patches);
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
  size_t span = tap * s->kernel_w;
  size_t k = span * s->kernel_h;

  for (size_t r = 0; r < count; r++)
    {
      size_t row = first + r;
      size_t b = row / pixels, p = row % pixels;
      int oy = (int) (p / s->out_w), ox = (int) (p % s->out_w);
      int x0 = ox * s->stride_w - s->pad_left;
      bool x_inside = x0 >= 0 && x0 + s->kernel_w <= s->in_w;
      const float *image = batch + b * image_size;
      float *dst = rows + r * k;

      for (int ky = 0; ky < s->kernel_h; ky++, dst += span)
        {
          int iy = oy * s->stride_h - s->pad_top + ky;

          if (iy < 0 || iy >= s->in_h)
            memset (dst, 0, span * sizeof (float));
          else if (x_inside)
            copy_small ((uint8_t *) dst, (const uint8_t *) (image + ((size_t) iy * s->in_w + x0) * tap),
                        span * sizeof (float));
          else
            for (int kx = 0; kx < s->kernel_w; kx++)
              {
                int ix = x0 + kx;

                if (ix < 0 || ix >= s->in_w)
                  memset (dst + kx * tap, 0, tap * sizeof (float));
                else
                  copy_small ((uint8_t *) (dst + kx * tap),
                              (const uint8_t *) (image + ((size_t) iy * s->in_w + ix) * tap),
                              tap * sizeof (float));
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

/* Dilated windows over a slice of channels, any element size: tap by tap
 * (each tap's @cg elements are contiguous, the window is not). Row r is
 * written at rows + r * row_bytes; bytes past k elements are zeroed. */
static void
im2col_general (const QsConvShape *s,
                int                dilation_h,
                int                dilation_w,
                int                c0,
                int                cg,
                const uint8_t     *batch,
                size_t             elem,
                size_t             first,
                size_t             count,
                const uint8_t     *pad,
                size_t             row_bytes,
                uint8_t           *rows)
{
  size_t pixels = (size_t) s->out_h * s->out_w;
  size_t image_size = (size_t) s->in_h * s->in_w * s->in_c * elem;
  size_t tap = (size_t) cg * elem;
  size_t k_bytes = tap * s->kernel_h * s->kernel_w;

  for (size_t r = 0; r < count; r++)
    {
      size_t row = first + r;
      size_t b = row / pixels, p = row % pixels;
      int oy = (int) (p / s->out_w), ox = (int) (p % s->out_w);
      const uint8_t *image = batch + b * image_size;
      uint8_t *dst = rows + r * row_bytes;

      for (int ky = 0; ky < s->kernel_h; ky++)
        {
          int iy = oy * s->stride_h - s->pad_top + ky * dilation_h;

          for (int kx = 0; kx < s->kernel_w; kx++, dst += tap)
            {
              int ix = ox * s->stride_w - s->pad_left + kx * dilation_w;

              if (iy < 0 || iy >= s->in_h || ix < 0 || ix >= s->in_w)
                for (size_t e = 0; e < tap; e += elem)
                  memcpy (dst + e, pad, elem);
              else
                memcpy (dst, image + (((size_t) iy * s->in_w + ix) * s->in_c + c0) * elem, tap);
            }
        }
      memset (rows + r * row_bytes + k_bytes, 0, row_bytes - k_bytes);
    }
}

void
qs_im2col_general_u8 (const QsConvShape *s,
                      int                dilation_h,
                      int                dilation_w,
                      int                c0,
                      int                cg,
                      const uint8_t     *batch,
                      size_t             first,
                      size_t             count,
                      uint8_t            pad,
                      size_t             kp,
                      uint8_t           *rows)
{
  im2col_general (s, dilation_h, dilation_w, c0, cg, batch, 1, first, count, &pad, kp, rows);
}

void
qs_im2col_general_f32 (const QsConvShape *s,
                       int                dilation_h,
                       int                dilation_w,
                       int                c0,
                       int                cg,
                       const float       *batch,
                       size_t             first,
                       size_t             count,
                       float             *rows)
{
  const float zero = 0.0f;
  size_t k = (size_t) s->kernel_h * s->kernel_w * cg;

  im2col_general (s, dilation_h, dilation_w, c0, cg, (const uint8_t *) batch, sizeof (float),
                  first, count, (const uint8_t *) &zero, k * sizeof (float), (uint8_t *) rows);
}
