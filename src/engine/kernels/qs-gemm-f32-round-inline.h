/* qs-gemm-f32-round-inline.h: a float format's rounding of packed GEMM weights, inline, for the vector builds.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The rounding qs-gemm-f32-round.c does with the quantizer's encoders and
 * decoders, one call each per weight, with the same encoders inlined
 * (quant/qs-float-format-private.h) and the decoding as bit arithmetic,
 * branch-free, so that the compiler vectorizes each format's loop: a
 * float-format Dense layer rounds every weight once a forward call, so
 * the rounding runs about as often as the GEMM reads a weight. The
 * decoding follows the tables of qs-float-format.c: a code whose
 * exponent field is not zero is 2^(e - bias) (1 + m 2^-M), one whose
 * field is zero m 2^(1 - bias - M) (an integer times a power of two, so
 * the float32 product is exact), NaN codes the quiet NaN 0x7fc00000 with
 * the sign; the encoders saturate, so no other special code occurs.
 * Included by the AVX2 and AVX-512 files; test-kernels holds them to the
 * calls bit for bit.
 */
#pragma once

#include "qs-kernels.h"

#include <string.h>

#include "quant/qs-float-format-private.h"
#include "quant/qs-quantizer-private.h"

#define QS_ROUND_SIGN UINT32_C (0x80000000)
#define QS_ROUND_NAN UINT32_C (0x7fc00000)

/* The float32 bits of the magnitude code @code of a format with @man_bits
 * mantissa bits and exponent bias @bias (not bfloat16: its subnormal step
 * is no float32 normal). */
static inline uint32_t
qs_round_decode_bits (uint32_t code,
                      unsigned man_bits,
                      int      bias)
{
  uint32_t e = code >> man_bits, m = code & ((UINT32_C (1) << man_bits) - 1);
  uint32_t normal = ((e + (uint32_t) (127 - bias)) << 23) | (m << (23 - man_bits));
  float sub = (float) (int32_t) m * f32_from_bits ((uint32_t) (127 + 1 - bias - (int) man_bits) << 23);

  return select_bits (e != 0, normal, f32_bits (sub));
}

/* @v rounded to a format of @man_bits mantissa bits, exponent bias
 * @bias, largest finite code @max_code and NaN code @nan_code (the
 * constants of qs-float-format.c's encoders), before the channel's scale. */
static inline float
qs_round_minifloat (float    v,
                    unsigned man_bits,
                    int      bias,
                    uint32_t max_code,
                    uint32_t nan_code)
{
  uint32_t bits = f32_bits (v), abs = bits & F32_ABS_MASK;
  uint32_t code = encode_magnitude (abs, man_bits, bias, 1, max_code, nan_code);

  return f32_from_bits ((bits & QS_ROUND_SIGN)
                        | select_bits (abs > F32_INF_BITS, QS_ROUND_NAN, qs_round_decode_bits (code, man_bits, bias)));
}

/* bfloat16 is float32's top half: its code is the rounded float's bits. */
static inline float
qs_round_bf16 (float v)
{
  uint32_t bits = f32_bits (v);
  uint32_t code = encode_magnitude (bits & F32_ABS_MASK, 7, 127, 0, 0x7f7f, 0x7fc0);

  return f32_from_bits ((bits & QS_ROUND_SIGN) | (code << 16));
}

/* NF4's level of a scaled element @v (QsNf4Table). */
static inline float
qs_round_nf4 (const QsNf4Table *nf4,
              float             v)
{
  int32_t index = 0;

  for (int i = 0; i < 15; i++)
    index += v > nf4->thresholds[i];
  return nf4->levels[index];
}

/* Integer groups (QsFloatRounding.zero_point), or the weights as they
 * are: the quantizer's steps for a group (qs-block.c's encode_run, its
 * zero point an integer, so code - zero point is the rounded integer),
 * then qs_block_dequantize's (code - zero point) * scale. */
static inline void
qs_round_int_groups (const QsFloatRounding *rounding,
                     const float           *src,
                     size_t                 c,
                     size_t                 count,
                     float                 *dst)
{
  const float *inv, *scale, *zero;
  /* Locals, which no store to @dst can change: the loop vectorizes. */
  QsRounding mode = rounding->int_rounding;
  float code_min = rounding->code_min, code_max = rounding->code_max;

  if (rounding->zero_point == NULL)
    {
      memcpy (dst, src, count * sizeof *dst);
      return;
    }
  inv = rounding->inv_scale + c;
  scale = rounding->scale + c;
  zero = rounding->zero_point + c;
  for (size_t j = 0; j < count; j++)
    {
      float lo = code_min - zero[j], hi = code_max - zero[j];
      float v = src[j] * inv[j];
      float t = v < lo - 1.0f ? lo - 1.0f : v;
      float r;

      t = t > hi + 1.0f ? hi + 1.0f : t;
      r = qs_round (t, mode);
      r = r < lo ? lo : r;
      r = r > hi ? hi : r;
      /* The code's integer is never -0 (r may be, rounded from a tiny
       * negative weight): + 0.0f, which -fno-trapping-math does not fold
       * away as it does a conversion to int32 and back. */
      dst[j] = (r + 0.0f) * scale[j];
    }
}

/* A QsFloatRoundRunFunc: @count weights of channels [c, c + count). */
static inline void
qs_round_run_inline (const QsFloatRounding *rounding,
                     const float           *src,
                     size_t                 c,
                     size_t                 count,
                     float                 *dst)
{
  const float *inv = rounding->inv_scale + c, *scale = rounding->scale + c;

  switch (rounding->format)
    {
    case QS_FORMAT_FP16:
      for (size_t j = 0; j < count; j++)
        dst[j] = qs_round_minifloat (src[j] * inv[j], 10, 15, 0x7bff, 0x7e00) * scale[j];
      break;
    case QS_FORMAT_BF16:
      for (size_t j = 0; j < count; j++)
        dst[j] = qs_round_bf16 (src[j] * inv[j]) * scale[j];
      break;
    case QS_FORMAT_FP8_E4M3:
      for (size_t j = 0; j < count; j++)
        dst[j] = qs_round_minifloat (src[j] * inv[j], 3, 7, 0x7e, 0x7f) * scale[j];
      break;
    case QS_FORMAT_FP8_E5M2:
      for (size_t j = 0; j < count; j++)
        dst[j] = qs_round_minifloat (src[j] * inv[j], 2, 15, 0x7b, 0x7e) * scale[j];
      break;
    case QS_FORMAT_NF4:
      {
        QsNf4Table nf4 = *rounding->nf4;

        for (size_t j = 0; j < count; j++)
          dst[j] = qs_round_nf4 (&nf4, src[j] * inv[j]) * scale[j];
      }
      break;
    default:
      qs_round_int_groups (rounding, src, c, count, dst);
      break;
    }
}
