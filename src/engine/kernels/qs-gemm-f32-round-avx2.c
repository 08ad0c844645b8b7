/* qs-gemm-f32-round-avx2.c: a float format's rounding of GEMM weights, built for AVX2.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * qs-gemm-f32-round-inline.h, vectorized by the compiler for this ISA
 * (its library's flags: src/engine/meson.build); qs-gemm-f32-round.c
 * walks the packing's panels with it.
 */
#include "qs-gemm-f32-round-inline.h"

void
qs_float_round_run_avx2 (const QsFloatRounding *rounding,
                         const float           *src,
                         size_t                 c,
                         size_t                 count,
                         float                 *dst)
{
  qs_round_run_inline (rounding, src, c, count, dst);
}
