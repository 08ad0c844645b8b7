/* qs-float-format.h: conversions to the narrow float formats the app compares against.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every conversion rounds to nearest, ties to even. Overflow saturates to the
 * largest finite value of the format (PyTorch's casts do not; saturation is
 * what FP8 training recipes use and keeps the error finite). NaN stays NaN.
 */
#pragma once

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define QS_FP16_MAX     65504.0f
#define QS_BF16_MAX     3.38953139e38f
#define QS_FP8_E4M3_MAX 448.0f
#define QS_FP8_E5M2_MAX 57344.0f
/* The OCP Microscaling element formats: no infinities, no NaN (NaN encodes
 * as zero, the code 0.0 takes in the integer quantizer too). */
#define QS_FP6_E2M3_MAX 7.5f
#define QS_FP6_E3M2_MAX 28.0f
#define QS_FP4_E2M1_MAX 6.0f

uint16_t qs_float_to_fp16     (float value);
float    qs_fp16_to_float     (uint16_t bits);
uint16_t qs_float_to_bf16     (float value);
float    qs_bf16_to_float     (uint16_t bits);
uint8_t  qs_float_to_fp8_e4m3 (float value);
float    qs_fp8_e4m3_to_float (uint8_t bits);
uint8_t  qs_float_to_fp8_e5m2 (float value);
float    qs_fp8_e5m2_to_float (uint8_t bits);
/* Six-bit codes in the low bits, sign at 0x20; four-bit codes sign at 0x8. */
uint8_t  qs_float_to_fp6_e2m3 (float value);
float    qs_fp6_e2m3_to_float (uint8_t bits);
uint8_t  qs_float_to_fp6_e3m2 (float value);
float    qs_fp6_e3m2_to_float (uint8_t bits);
uint8_t  qs_float_to_fp4_e2m1 (float value);
float    qs_fp4_e2m1_to_float (uint8_t bits);

#ifdef __cplusplus
}
#endif
