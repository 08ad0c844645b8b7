/* qs-float-format.c: float32 to and from float16, bfloat16 and the two OCP FP8 formats.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * These run once per weight inside the fake-quantization loops, so they work
 * on the float32 bit pattern with integer arithmetic and selects rather than
 * frexp/ldexp and branches. One generic encoder and one generic decoder are
 * written once and instantiated with compile-time constants per format; after
 * inlining, every format gets straight-line code.
 *
 * Encoding saturates: anything beyond the largest finite value, including
 * values that only round past it and including the infinities, becomes the
 * largest finite value with the input's sign. E4M3 has no infinity at all, and
 * for the other formats an infinity in a fake-quantized weight would poison
 * every error statistic downstream; the callers only pass finite weights
 * anyway. NaN stays NaN (a quiet NaN with the input's sign).
 *
 * The subnormal paths rely on float32 addition rounding to nearest even, the
 * C default; nothing in Quantscope changes the rounding mode.
 */
#include "qs-float-format.h"

#include <string.h>

#define F32_ABS_MASK UINT32_C (0x7fffffff)
#define F32_INF_BITS UINT32_C (0x7f800000)

static inline uint32_t
f32_bits (float value)
{
  uint32_t bits;

  memcpy (&bits, &value, sizeof bits);
  return bits;
}

static inline float
f32_from_bits (uint32_t bits)
{
  float value;

  memcpy (&value, &bits, sizeof value);
  return value;
}

/* Selects with a mask instead of ?: so the compiler cannot turn the choice
 * into a branch: weights straddle the subnormal boundary at random, and a
 * mispredicted branch there tripled the cost per element. */
static inline uint32_t
select_bits (uint32_t condition,
             uint32_t if_true,
             uint32_t if_false)
{
  uint32_t mask = 0u - condition;

  return (if_true & mask) | (if_false & ~mask);
}

/* Float32 whose unit in the last place equals the subnormal step of a format
 * with MAN_BITS mantissa bits and exponent bias BIAS, i.e. 2^(1-BIAS-MAN_BITS+23).
 * Adding a magnitude below the format's smallest normal to it leaves the
 * rounded subnormal count (RNE, done by the FPU) in the low mantissa bits. */
static inline uint32_t
subnormal_magic_bits (unsigned man_bits,
                      int      bias)
{
  return (uint32_t) (127 + 24 - bias - (int) man_bits) << 23;
}

/* Returns the sign-less code. Normal results round in the integer domain:
 * rebiasing the exponent and shifting the float32 pattern right is monotone,
 * so a carry out of the mantissa correctly bumps the exponent. */
static inline uint32_t
encode_magnitude (uint32_t abs_bits,
                  unsigned man_bits,
                  int      bias,
                  int      has_subnormal_path,
                  uint32_t max_code,
                  uint32_t nan_code)
{
  const unsigned shift = 23 - man_bits;
  const uint32_t rebias = (uint32_t) (bias - 127) << 23;
  const uint32_t min_normal_bits = (uint32_t) (127 + 1 - bias) << 23;
  uint32_t odd = (abs_bits >> shift) & 1;
  uint32_t code = (abs_bits + rebias + ((UINT32_C (1) << (shift - 1)) - 1) + odd) >> shift;

  if (has_subnormal_path)
    {
      uint32_t magic = subnormal_magic_bits (man_bits, bias);
      uint32_t sub = f32_bits (f32_from_bits (abs_bits) + f32_from_bits (magic)) - magic;

      code = select_bits (abs_bits < min_normal_bits, sub, code);
    }

  /* Codes above max_code are the infinities, NaNs, or (for large inputs) bit
   * patterns past the format; all of them mean "too large" here. */
  code = code < max_code ? code : max_code;
  return abs_bits > F32_INF_BITS ? nan_code : code;
}

static inline float
decode_magnitude (uint32_t n,
                  unsigned man_bits,
                  int      bias,
                  uint32_t special_min,
                  int      ieee_specials)
{
  const uint32_t magic = subnormal_magic_bits (man_bits, bias);
  uint32_t normal = (n << (23 - man_bits)) + ((uint32_t) (127 - bias) << 23);
  /* n * 2^(1-bias-man_bits), exact: the magic's ulp is the subnormal step. */
  uint32_t sub = f32_bits (f32_from_bits (magic + n) - f32_from_bits (magic));
  uint32_t bits = select_bits (n < (UINT32_C (1) << man_bits), sub, normal);

  if (ieee_specials)
    /* Keep the mantissa so NaN payloads survive and infinity stays infinity. */
    bits = n >= special_min ? ((n << (23 - man_bits)) | F32_INF_BITS) : bits;
  else
    bits = n >= special_min ? UINT32_C (0x7fc00000) : bits;

  return f32_from_bits (bits);
}

uint16_t
qs_float_to_fp16 (float value)
{
  uint32_t bits = f32_bits (value);
  uint32_t code = encode_magnitude (bits & F32_ABS_MASK, 10, 15, 1, 0x7bff, 0x7e00);

  return (uint16_t) (((bits >> 16) & 0x8000) | code);
}

float
qs_fp16_to_float (uint16_t bits)
{
  uint32_t sign = (uint32_t) (bits & 0x8000) << 16;
  float magnitude = decode_magnitude (bits & 0x7fffu, 10, 15, 0x7c00, 1);

  return f32_from_bits (f32_bits (magnitude) | sign);
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
  uint32_t bits = f32_bits (value);
  uint32_t code = encode_magnitude (bits & F32_ABS_MASK, 3, 7, 1, 0x7e, 0x7f);

  return (uint8_t) (((bits >> 24) & 0x80) | code);
}

float
qs_fp8_e4m3_to_float (uint8_t bits)
{
  uint32_t sign = (uint32_t) (bits & 0x80) << 24;
  /* OCP E4M3 spends only S.1111.111 on NaN; S.1111.xxx otherwise stays normal. */
  float magnitude = decode_magnitude (bits & 0x7fu, 3, 7, 0x7f, 0);

  return f32_from_bits (f32_bits (magnitude) | sign);
}

uint8_t
qs_float_to_fp8_e5m2 (float value)
{
  uint32_t bits = f32_bits (value);
  uint32_t code = encode_magnitude (bits & F32_ABS_MASK, 2, 15, 1, 0x7b, 0x7e);

  return (uint8_t) (((bits >> 24) & 0x80) | code);
}

float
qs_fp8_e5m2_to_float (uint8_t bits)
{
  uint32_t sign = (uint32_t) (bits & 0x80) << 24;
  float magnitude = decode_magnitude (bits & 0x7fu, 2, 15, 0x7c, 1);

  return f32_from_bits (f32_bits (magnitude) | sign);
}
