/* qs-gemm-f32-unpack.c: rows of a float32 GEMM kernel packed, and read back from its packed form.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A model keeps a Conv2D or Dense kernel only packed for its float32 GEMM
 * (one float copy of the weights, not two); loading packs it a block of
 * rows at a time (so a 411 MB Dense kernel is never whole in memory
 * beside its packed copy), and quantizing reads the Keras layout back
 * from it the same way. The packings are panels of output channels,
 * [n/panel][k][panel] over n rounded up to a multiple of @align (the last
 * panel narrower), so one routine each way serves them all.
 */
#include "qs-kernels.h"

#include <string.h>

void
qs_gemm_f32_unpack_panels (size_t       n,
                           size_t       k,
                           const float *packed,
                           size_t       panel,
                           size_t       align,
                           size_t       row0,
                           size_t       rows,
                           float       *w,
                           size_t       ldw)
{
  size_t width = (n + align - 1) / align * align;

  /* Every panel before c0 is a full one: c0 * k floats precede it. */
  for (size_t c0 = 0; c0 < n; c0 += panel)
    {
      size_t bw = width - c0 < panel ? width - c0 : panel;
      size_t valid = n - c0 < bw ? n - c0 : bw;
      const float *p = packed + c0 * k + row0 * bw;

      for (size_t r = 0; r < rows; r++)
        memcpy (w + r * ldw + c0, p + r * bw, valid * sizeof (float));
    }
}

void
qs_gemm_f32_pack_panels_rows (size_t       n,
                              size_t       k,
                              const float *w,
                              size_t       ldw,
                              size_t       panel,
                              size_t       align,
                              size_t       row0,
                              size_t       rows,
                              float       *packed)
{
  size_t width = (n + align - 1) / align * align;

  for (size_t c0 = 0; c0 < width; c0 += panel)
    {
      size_t bw = width - c0 < panel ? width - c0 : panel;
      size_t valid = c0 < n ? (n - c0 < bw ? n - c0 : bw) : 0;
      float *p = packed + c0 * k + row0 * bw;

      for (size_t r = 0; r < rows; r++)
        {
          memcpy (p + r * bw, w + r * ldw + c0, valid * sizeof (float));
          memset (p + r * bw + valid, 0, (bw - valid) * sizeof (float));
        }
    }
}

void
qs_gemm_f32_pack_rows_scalar (size_t       n,
                              size_t       k,
                              const float *w,
                              size_t       ldw,
                              size_t       row0,
                              size_t       rows,
                              float       *packed)
{
  qs_gemm_f32_pack_panels_rows (n, k, w, ldw, n > 0 ? n : 1, 1, row0, rows, packed);
}

void
qs_gemm_f32_pack_rows_avx2 (size_t       n,
                            size_t       k,
                            const float *w,
                            size_t       ldw,
                            size_t       row0,
                            size_t       rows,
                            float       *packed)
{
  qs_gemm_f32_pack_panels_rows (n, k, w, ldw, 16, 16, row0, rows, packed);
}

void
qs_gemm_f32_pack_rows_avx512 (size_t       n,
                              size_t       k,
                              const float *w,
                              size_t       ldw,
                              size_t       row0,
                              size_t       rows,
                              float       *packed)
{
  qs_gemm_f32_pack_panels_rows (n, k, w, ldw, 32, 16, row0, rows, packed);
}

/* The scalar kernel keeps W as [k][n]. */
void
qs_gemm_f32_unpack_scalar (size_t       n,
                           size_t       k,
                           const float *packed,
                           size_t       row0,
                           size_t       rows,
                           float       *w,
                           size_t       ldw)
{
  qs_gemm_f32_unpack_panels (n, k, packed, n > 0 ? n : 1, 1, row0, rows, w, ldw);
}

/* qs_gemm_f32_pack_avx2: blocks of 16 channels, zero beyond n. */
void
qs_gemm_f32_unpack_avx2 (size_t       n,
                         size_t       k,
                         const float *packed,
                         size_t       row0,
                         size_t       rows,
                         float       *w,
                         size_t       ldw)
{
  qs_gemm_f32_unpack_panels (n, k, packed, 16, 16, row0, rows, w, ldw);
}

/* qs_gemm_f32_pack_avx512: blocks of 32 channels over n rounded up to 16,
 * so the last block may be 16 wide. */
void
qs_gemm_f32_unpack_avx512 (size_t       n,
                           size_t       k,
                           const float *packed,
                           size_t       row0,
                           size_t       rows,
                           float       *w,
                           size_t       ldw)
{
  qs_gemm_f32_unpack_panels (n, k, packed, 32, 16, row0, rows, w, ldw);
}
