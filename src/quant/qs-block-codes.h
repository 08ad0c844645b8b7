/* qs-block-codes.h: block-format elements as int8 or int16 integers times a per-block scale, for integer kernels.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "qs-block.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The unit of a block format whose every unscaled element value is an
 * int16 integer divided by this power of two: MXINT8 64 (int8 elements
 * / 64), MXFP4 and NVFP4 2 (E2M1 values times 2 are 0, 1, 2, 3, 4, 6, 8,
 * 12), MXFP6 E2M3 8 (up to 60), MXFP6 E3M2 16 (its subnormal step is
 * 1/16, its largest value 28: up to 448, so int16); 0 for the formats
 * without one (FP8's integers would need 19 (E4M3) or 33 (E5M2) bits, NF4's levels are not rational, integer groups
 * carry their own zero points). */
int qs_block_integer_unit (QsFormat format);

/* The largest magnitude of those integers (127, 12, 60, 448), 0 for the
 * formats without a unit: at most 127 means int8 kernels serve. */
int qs_block_integer_bound (QsFormat format);

/* Maps qs_block_quantize's @codes (tensor order) and @scales (block_count)
 * of a format with an integer unit u to integers @int_codes (tensor
 * order) and per-block scales @int_scales = scales / u, such that
 * (float) int_code * int_scale equals qs_block_dequantize's
 * element * scale bit for bit (a negative zero element becomes +0.0).
 * False, with the outputs unspecified, when the format has no unit or
 * a scale / u is not exact (a subnormal scale that loses its low bits). */
bool qs_block_integer_codes (const QsScheme        *scheme,
                             const QsChannelLayout *layout,
                             const int32_t         *codes,
                             const float           *scales,
                             int16_t               *int_codes,
                             float                 *int_scales);

#ifdef __cplusplus
}
#endif
