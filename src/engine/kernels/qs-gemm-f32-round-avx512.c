/* qs-gemm-f32-round-avx512.c: columns of a packed float32 GEMM kernel rounded to a float format, AVX-512 build.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The inline rounding (qs-gemm-f32-round-inline.h), vectorized by the
 * compiler for this ISA, over qs_gemm_f32_pack_avx512's panels.
 */
#include "qs-gemm-f32-round-inline.h"

static void
round_run_avx512 (const QsFloatRounding *rounding,
                  const float           *src,
                  size_t                 c,
                  size_t                 count,
                  float                 *dst)
{
  qs_round_run_inline (rounding, src, c, count, dst);
}

void
qs_gemm_f32_round_columns_avx512 (size_t                 n,
                                  size_t                 k,
                                  const float           *packed,
                                  const QsFloatRounding *rounding,
                                  size_t                 c0,
                                  size_t                 nb,
                                  float                 *out)
{
  qs_gemm_f32_round_panels (n, k, packed, 32, 16, rounding, round_run_avx512, c0, nb, out);
}
