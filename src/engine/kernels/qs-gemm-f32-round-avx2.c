/* qs-gemm-f32-round-avx2.c: columns of a packed float32 GEMM kernel rounded to a float format, AVX2 build.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The inline rounding (qs-gemm-f32-round-inline.h), vectorized by the
 * compiler for this ISA, over qs_gemm_f32_pack_avx2's panels.
 */
#include "qs-gemm-f32-round-inline.h"

static void
round_run_avx2 (const QsFloatRounding *rounding,
                const float           *src,
                size_t                 c,
                size_t                 count,
                float                 *dst)
{
  qs_round_run_inline (rounding, src, c, count, dst);
}

void
qs_gemm_f32_round_columns_avx2 (size_t                 n,
                                size_t                 k,
                                const float           *packed,
                                const QsFloatRounding *rounding,
                                size_t                 c0,
                                size_t                 nb,
                                float                 *out)
{
  qs_gemm_f32_round_panels (n, k, packed, 16, 16, rounding, round_run_avx2, c0, nb, out);
}
