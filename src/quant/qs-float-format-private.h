/* qs-float-format-private.h: the float encoders, inline, for the loops that call them per element.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * qs-float-format.c explains the method; the block-format pass
 * (qs-block.c) includes this so the encoders inline into its loop.
 */
#pragma once

#include <stdint.h>
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

/* A mask instead of ?: keeps the compiler from turning the choice into a
 * branch: scaled weights straddle the subnormal boundary at random, and the
 * mispredictions cost about three times the conversion itself. */
static inline uint32_t
select_bits (uint32_t condition,
             uint32_t if_true,
             uint32_t if_false)
{
  uint32_t mask = 0u - condition;

  return (if_true & mask) | (if_false & ~mask);
}

/* Float32 whose unit in the last place is the subnormal step of the target
 * format, 2^(1-BIAS-MAN_BITS). Adding a magnitude below the format's smallest
 * normal to it leaves the rounded count of subnormal steps in the low
 * mantissa bits; a count of 2^MAN_BITS is the smallest normal's code. */
static inline uint32_t
subnormal_magic_bits (unsigned man_bits,
                      int      bias)
{
  return (uint32_t) (127 + 24 - bias - (int) man_bits) << 23;
}

/* Returns the code without its sign bit. Normal results round in the integer
 * domain: rebiasing the exponent and shifting the float32 pattern right is
 * monotone, so a carry out of the mantissa correctly bumps the exponent. */
static inline uint32_t
encode_magnitude (uint32_t abs_bits,
                  unsigned man_bits,
                  int      bias,
                  int      needs_subnormal_path,
                  uint32_t max_code,
                  uint32_t nan_code)
{
  const unsigned shift = 23 - man_bits;
  /* Wraps for bias < 127; the sum below is only used where it does not. */
  const uint32_t rebias = (uint32_t) (bias - 127) << 23;
  const uint32_t min_normal_bits = (uint32_t) (127 + 1 - bias) << 23;
  uint32_t odd = (abs_bits >> shift) & 1;
  uint32_t code = (abs_bits + rebias + ((UINT32_C (1) << (shift - 1)) - 1) + odd) >> shift;

  if (needs_subnormal_path)
    {
      uint32_t magic = subnormal_magic_bits (man_bits, bias);
      uint32_t sub = f32_bits (f32_from_bits (abs_bits) + f32_from_bits (magic)) - magic;

      code = select_bits (abs_bits < min_normal_bits, sub, code);
    }

  /* Codes above max_code are the infinity, the NaNs or patterns past the
   * format: all mean "rounded beyond the largest finite value" here. */
  code = code < max_code ? code : max_code;
  return abs_bits > F32_INF_BITS ? nan_code : code;
}

static inline uint8_t
qs_fp8_e4m3_encode (float value)
{
  uint32_t bits = f32_bits (value);
  uint32_t code = encode_magnitude (bits & F32_ABS_MASK, 3, 7, 1, 0x7e, 0x7f);

  return (uint8_t) (((bits >> 24) & 0x80) | code);
}

static inline uint8_t
qs_fp8_e5m2_encode (float value)
{
  uint32_t bits = f32_bits (value);
  uint32_t code = encode_magnitude (bits & F32_ABS_MASK, 2, 15, 1, 0x7b, 0x7e);

  return (uint8_t) (((bits >> 24) & 0x80) | code);
}

/* The narrow MX element formats round by counting the midpoints of their
 * grid below |value| (a tie, value on midpoint i, goes up when i is odd,
 * to the even code): no branches and no bit tricks, so loops over
 * elements vectorize. Past the largest value every midpoint counts, so
 * overflow saturates; NaN counts none and encodes as +-0 (these formats
 * have no NaN). Midpoints: qs-float-format.c. */
extern const float qs_fp6_e2m3_midpoints[31];
extern const float qs_fp6_e3m2_midpoints[31];
extern const float qs_fp4_e2m1_midpoints[7];

/* The code of @value on a grid of 2^k magnitudes with @n midpoints, sign
 * bit at @sign_bit. */
static inline __attribute__ ((always_inline)) uint8_t
qs_grid_encode (float        value,
                const float *midpoints,
                int          n,
                uint32_t     sign_bit)
{
  uint32_t bits = f32_bits (value), index = 0;
  float a = f32_from_bits (bits & F32_ABS_MASK);

  _Pragma ("GCC unroll 32")
  for (int i = 0; i < n; i++)
    index += (a > midpoints[i]) | ((a == midpoints[i]) & (i & 1));
  return (uint8_t) (((bits >> 31) * sign_bit) | index);
}

static inline uint8_t
qs_fp6_e2m3_encode (float value)
{
  return qs_grid_encode (value, qs_fp6_e2m3_midpoints, 31, 0x20);
}

static inline uint8_t
qs_fp6_e3m2_encode (float value)
{
  return qs_grid_encode (value, qs_fp6_e3m2_midpoints, 31, 0x20);
}

static inline uint8_t
qs_fp4_e2m1_encode (float value)
{
  return qs_grid_encode (value, qs_fp4_e2m1_midpoints, 7, 0x8);
}
