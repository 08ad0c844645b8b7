/* qs-params.h: scales and zero points, PyTorch-compatible, and the quantizer itself.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "qs-scheme.h"

#ifdef __cplusplus
extern "C" {
#endif

/* PyTorch's observers clamp the scale at float32 epsilon (2^-23). */
#define QS_SCALE_EPS 1.1920928955078125e-07f

/* The parameters of one quantizer, per channel (one channel for per-tensor).
 *
 * Integer format: real = scale[c] * (q - zero_point[c]), q in [qmin, qmax].
 * zero_point holds an integer unless the scheme turns nudging off; then it
 * holds the fractional zero point of the naive mapping.
 * Float formats: real = decode(code) * scale[c]; zero_point is 0.
 */
typedef struct {
  QsFormat  format;
  QsRounding rounding;
  bool      nudge_zero;
  size_t    channels;
  int       qmin;
  int       qmax;
  float    *scale;        /* [channels] */
  float    *inv_scale;    /* [channels]: 1.0f / scale, the multiplier PyTorch uses */
  float    *zero_point;   /* [channels] */
  float    *range_lo;     /* [channels]: the clipping range the range method chose */
  float    *range_hi;
  size_t    clamped_channels; /* channels whose scale hit QS_SCALE_EPS */
} QsQuantParams;

/* Allocates the arrays for @channels channels. QS_STATUS_NO_MEMORY on failure. */
QsStatus qs_quant_params_init  (QsQuantParams *params,
                                size_t         channels);
void     qs_quant_params_clear (QsQuantParams *params);

/* Computes channel @channel's scale and zero point from the clipping range
 * [lo, hi] following torch.ao.quantization's observers in float32 arithmetic:
 * the range is widened to contain 0; symmetric uses max(-lo, hi) / ((qmax - qmin) / 2);
 * asymmetric uses (hi - lo) / (qmax - qmin) and Z = qmin - round_half_even(lo / scale),
 * clamped to [qmin, qmax]; the scale never goes below QS_SCALE_EPS.
 * With nudging off, Z = qmin - lo / scale, unrounded. For float formats the
 * scale maps max(|lo|, |hi|) onto the format's largest finite value (FP8) or is 1. */
void qs_quant_params_set_channel (QsQuantParams  *params,
                                  const QsScheme *scheme,
                                  size_t          channel,
                                  float           lo,
                                  float           hi);

/* Fills @params (already initialised with the right channel count) from
 * per-channel ranges. */
void qs_quant_params_set_from_ranges (QsQuantParams  *params,
                                      const QsScheme *scheme,
                                      const float    *lo,
                                      const float    *hi);

/* Quantizes @count values of channel @channel: codes are clamped integers
 * for the integer format and bit patterns for float formats. */
void qs_quantize_channel (const QsQuantParams *params,
                          size_t               channel,
                          const float         *values,
                          size_t               count,
                          int32_t             *codes);

/* Quantizes a whole tensor laid out as @layout into @codes (count elements). */
void qs_quantize (const QsQuantParams   *params,
                  const QsChannelLayout *layout,
                  const float           *values,
                  int32_t               *codes);

/* The real value code @code of channel @channel stands for. */
float qs_dequantize_code (const QsQuantParams *params,
                          size_t               channel,
                          int32_t              code);

/* Where 0.0 lands: the value it comes back as after quantization in
 * channel @channel (exactly 0 when the zero point is an integer code). */
float qs_zero_reconstruction (const QsQuantParams *params,
                              size_t               channel);

/* The largest finite value of a float format (0 for QS_FORMAT_INT). */
float qs_float_format_max (QsFormat format);

#ifdef __cplusplus
}
#endif
