/* qs-float-format.c: float32 to and from float16, bfloat16 and the two OCP FP8 formats.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * These run once per weight inside the fake-quantization loops (tens of
 * millions of calls), so they work on the float32 bit pattern with integer
 * arithmetic and mask selects instead of frexp/ldexp and branches. One generic
 * encoder is instantiated with compile-time constants per format, so after
 * inlining each format gets straight-line code.
 *
 * Encoding saturates: anything beyond the largest finite value, including
 * values that only round past it and including the infinities, becomes the
 * largest finite value with the input's sign. E4M3 has no infinity at all, and
 * for the other formats an infinity in a fake-quantized weight would poison
 * every error statistic downstream; the callers only pass finite weights
 * anyway. NaN stays NaN (the format's quiet NaN, with the input's sign).
 *
 * The subnormal path relies on float32 addition rounding to nearest even, the
 * C default; nothing in Quantscope changes the rounding mode. It only ever
 * adds to a normal float32, so flush-to-zero modes cannot disturb it.
 */
#include "qs-float-format.h"

#include <math.h>
#include <string.h>

#include "qs-float-format-private.h"


uint16_t
qs_float_to_fp16 (float value)
{
  uint32_t bits = f32_bits (value);
  uint32_t code = encode_magnitude (bits & F32_ABS_MASK, 10, 15, 1, 0x7bff, 0x7e00);

  return (uint16_t) (((bits >> 16) & 0x8000) | code);
}

/* The subnormal test is an ordinary branch here: it only fires below 2^-14,
 * and measured on weights a mask select was slower in the common case and no
 * faster when subnormals were mixed in. */
float
qs_fp16_to_float (uint16_t bits)
{
  uint32_t sign = (uint32_t) (bits & 0x8000) << 16;
  uint32_t n = bits & 0x7fffu;
  uint32_t result;

  if (n >= 0x7c00)
    /* Keep the mantissa so NaN payloads survive and infinity stays infinity. */
    result = (n << 13) | F32_INF_BITS;
  else if (n >= 0x0400)
    result = (n << 13) + ((uint32_t) (127 - 15) << 23);
  else
    /* n * 2^-24, exact: the magic's ulp is the subnormal step. */
    result = f32_bits (f32_from_bits (subnormal_magic_bits (10, 15) + n)
                       - f32_from_bits (subnormal_magic_bits (10, 15)));

  return f32_from_bits (result | sign);
}

/* bfloat16 shares float32's exponent, so float32 subnormals map onto bfloat16
 * subnormals by the same integer rounding and no separate path is needed. */
uint16_t
qs_float_to_bf16 (float value)
{
  uint32_t bits = f32_bits (value);
  uint32_t code = encode_magnitude (bits & F32_ABS_MASK, 7, 127, 0, 0x7f7f, 0x7fc0);

  return (uint16_t) (((bits >> 16) & 0x8000) | code);
}

float
qs_bf16_to_float (uint16_t bits)
{
  return f32_from_bits ((uint32_t) bits << 16);
}

uint8_t
qs_float_to_fp8_e4m3 (float value)
{
  return qs_fp8_e4m3_encode (value);
}

uint8_t
qs_float_to_fp8_e5m2 (float value)
{
  return qs_fp8_e5m2_encode (value);
}

uint8_t
qs_float_to_fp6_e2m3 (float value)
{
  return qs_fp6_e2m3_encode (value);
}

uint8_t
qs_float_to_fp6_e3m2 (float value)
{
  return qs_fp6_e3m2_encode (value);
}

uint8_t
qs_float_to_fp4_e2m1 (float value)
{
  return qs_fp4_e2m1_encode (value);
}

/* FP8 decoding is a 1 KiB table lookup: it shortened the per-element
 * dependency chain of encode-then-decode enough to run about 1.8 times faster
 * than the equivalent bit manipulation. The tables are computed by the
 * compiler from these constant expressions (integer significand times a power
 * of two, so exact), not typed in. */
#define FP8_MAGNITUDE(n, man_bits, min_exp)                                          \
  ((float) (((n) >> (man_bits)) ? ((1u << (man_bits)) | ((n) & ((1u << (man_bits)) - 1))) \
                                : ((n) & ((1u << (man_bits)) - 1)))                   \
   * (float) (1u << (((n) >> (man_bits)) ? ((n) >> (man_bits)) - 1 : 0)) * (min_exp))
#define FP8_SIGNED(n, magnitude) (((n) & 0x80) ? -(magnitude) : (magnitude))

/* OCP E4M3 spends only S.1111.111 on NaN; S.1111.xxx otherwise stays normal. */
#define E4M3(n) FP8_SIGNED ((n), ((n) & 0x7f) == 0x7f ? NAN : FP8_MAGNITUDE ((n) & 0x7f, 3, 0x1p-9f))
#define E5M2(n) FP8_SIGNED ((n), ((n) & 0x7f) > 0x7c ? NAN                              \
                                 : ((n) & 0x7f) == 0x7c ? INFINITY                      \
                                 : FP8_MAGNITUDE ((n) & 0x7f, 2, 0x1p-16f))

#define FP8_ROW4(f, n) f (n), f ((n) + 1), f ((n) + 2), f ((n) + 3)
#define FP8_ROW16(f, n) FP8_ROW4 (f, n), FP8_ROW4 (f, (n) + 4), FP8_ROW4 (f, (n) + 8), FP8_ROW4 (f, (n) + 12)
#define FP8_ROW64(f, n) FP8_ROW16 (f, n), FP8_ROW16 (f, (n) + 16), FP8_ROW16 (f, (n) + 32), FP8_ROW16 (f, (n) + 48)
#define FP8_TABLE(f) { FP8_ROW64 (f, 0), FP8_ROW64 (f, 64), FP8_ROW64 (f, 128), FP8_ROW64 (f, 192) }

static const float e4m3_values[256] = FP8_TABLE (E4M3);
static const float e5m2_values[256] = FP8_TABLE (E5M2);

float
qs_fp8_e4m3_to_float (uint8_t bits)
{
  return e4m3_values[bits];
}

float
qs_fp8_e5m2_to_float (uint8_t bits)
{
  return e5m2_values[bits];
}

/* The narrow MX element formats, tabulated the same way; every code is finite. */
#define SMALL_SIGNED(n, sign_bit, magnitude) (((n) & (sign_bit)) ? -(magnitude) : (magnitude))
#define E2M3(n) SMALL_SIGNED ((n), 0x20, FP8_MAGNITUDE ((n) & 0x1f, 3, 0x1p-3f))
#define E3M2(n) SMALL_SIGNED ((n), 0x20, FP8_MAGNITUDE ((n) & 0x1f, 2, 0x1p-4f))
#define E2M1(n) SMALL_SIGNED ((n), 0x8, FP8_MAGNITUDE ((n) & 0x7, 1, 0x1p-1f))

static const float e2m3_values[64] = { FP8_ROW64 (E2M3, 0) };
static const float e3m2_values[64] = { FP8_ROW64 (E3M2, 0) };
static const float e2m1_values[16] = { FP8_ROW16 (E2M1, 0) };

float
qs_fp6_e2m3_to_float (uint8_t bits)
{
  return e2m3_values[bits & 0x3f];
}

float
qs_fp6_e3m2_to_float (uint8_t bits)
{
  return e3m2_values[bits & 0x3f];
}

float
qs_fp4_e2m1_to_float (uint8_t bits)
{
  return e2m1_values[bits & 0xf];
}

/* Midpoints between neighbouring magnitudes, for the counting encoders of
 * qs-float-format-private.h; exact in float32, like the values. */
#define E2M3_MID(n) ((E2M3 (n) + E2M3 ((n) + 1)) / 2.0f)
#define E3M2_MID(n) ((E3M2 (n) + E3M2 ((n) + 1)) / 2.0f)
#define E2M1_MID(n) ((E2M1 (n) + E2M1 ((n) + 1)) / 2.0f)
#define MID_ROW8(f, n) f (n), f ((n) + 1), f ((n) + 2), f ((n) + 3), f ((n) + 4), f ((n) + 5), f ((n) + 6), f ((n) + 7)

const float qs_fp6_e2m3_midpoints[31] = {
  MID_ROW8 (E2M3_MID, 0), MID_ROW8 (E2M3_MID, 8), MID_ROW8 (E2M3_MID, 16),
  E2M3_MID (24), E2M3_MID (25), E2M3_MID (26), E2M3_MID (27), E2M3_MID (28), E2M3_MID (29), E2M3_MID (30),
};
const float qs_fp6_e3m2_midpoints[31] = {
  MID_ROW8 (E3M2_MID, 0), MID_ROW8 (E3M2_MID, 8), MID_ROW8 (E3M2_MID, 16),
  E3M2_MID (24), E3M2_MID (25), E3M2_MID (26), E3M2_MID (27), E3M2_MID (28), E3M2_MID (29), E3M2_MID (30),
};
const float qs_fp4_e2m1_midpoints[7] = {
  E2M1_MID (0), E2M1_MID (1), E2M1_MID (2), E2M1_MID (3), E2M1_MID (4), E2M1_MID (5), E2M1_MID (6),
};
