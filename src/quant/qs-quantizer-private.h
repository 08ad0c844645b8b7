/* qs-quantizer-private.h: the per-element quantizer shared by every pass.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Both mappings reduce to one form, so the hot loops have no branches on
 * the scheme:
 *
 *   r    = round (clamp (x * inv + add, lo, hi))
 *   code = r + post
 *   x'   = (r - sub) * scale
 *
 * Nudged (integer zero point Z): add = 0, [lo, hi] = [qmin - Z, qmax - Z],
 * post = Z, sub = 0. Then code = Z + round (x * (1.0f / scale)) clamped, and
 * x' = scale * (code - Z), exactly PyTorch's quantize_per_tensor and
 * dequantize in float32.
 * Not nudged (fractional Zf): add = Zf, [lo, hi] = [qmin, qmax], post = 0,
 * sub = Zf, so 0.0 maps to round (Zf) and comes back as (round (Zf) - Zf) * scale.
 */
#pragma once

#include <math.h>
#include "qs-params.h"

typedef struct {
  float inv;
  float add;
  float lo;
  float hi;
  float post;
  float sub;
  float scale;
} QsChannelCoeffs;

/* Adding and subtracting 1.5 * 2^23 rounds a float with |v| < 2^22 to an
 * integer in the current rounding mode (nearest, ties to even) without a
 * libm call, so the loops stay vectorizable on baseline x86-64. Callers
 * clamp first: codes never exceed 2^16 in magnitude. */
static inline float
qs_round_half_even (float v)
{
  const float magic = 12582912.0f;
  return (v + magic) - magic;
}

static inline float
qs_round_half_away (float v)
{
  float a = fabsf (v);
  float r = qs_round_half_even (a);
  r += (r - a == -0.5f) ? 1.0f : 0.0f;
  return copysignf (r, v);
}

static inline float
qs_round (float v, QsRounding rounding)
{
  return rounding == QS_ROUNDING_HALF_AWAY ? qs_round_half_away (v) : qs_round_half_even (v);
}

/* Clamps with NaN going to the lower bound, so a stray NaN can never
 * produce an out-of-range code. */
static inline float
qs_clampf (float v, float lo, float hi)
{
  v = !(v >= lo) ? lo : v;
  return v > hi ? hi : v;
}

void qs_channel_coeffs_from_params (const QsQuantParams *params,
                                    size_t               channel,
                                    QsChannelCoeffs     *coeffs);

/* The quantizer for one channel range, without allocating a QsQuantParams:
 * what the MSE search evaluates for each candidate. */
void qs_channel_coeffs_for_range (const QsScheme  *scheme,
                                  float            lo,
                                  float            hi,
                                  QsChannelCoeffs *coeffs);

/* Encode and decode of the float formats, by format. */
int32_t qs_float_format_encode (QsFormat format, float value);
float   qs_float_format_decode (QsFormat format, int32_t code);
/* Code slots a histogram of codes needs: 2^bits, 65536 or 256. */
size_t  qs_code_slots          (QsFormat format, int qmin, int qmax);
