/* qs-params.c: PyTorch-compatible scales and zero points, and the quantizer.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "qs-params.h"

#include <stdlib.h>
#include <string.h>

#include "qs-float-format.h"
#include "qs-params-private.h"

QsStatus
qs_quant_params_init (QsQuantParams *params,
                      size_t         channels)
{
  memset (params, 0, sizeof *params);
  if (channels == 0)
    return QS_STATUS_INVALID_ARGUMENT;

  params->channels = channels;
  params->scale = calloc (channels, sizeof (float));
  params->inv_scale = calloc (channels, sizeof (float));
  params->zero_point = calloc (channels, sizeof (float));
  params->range_lo = calloc (channels, sizeof (float));
  params->range_hi = calloc (channels, sizeof (float));
  if (!params->scale || !params->inv_scale || !params->zero_point
      || !params->range_lo || !params->range_hi)
    {
      qs_quant_params_clear (params);
      return QS_STATUS_NO_MEMORY;
    }
  return QS_OK;
}

void
qs_quant_params_clear (QsQuantParams *params)
{
  free (params->scale);
  free (params->inv_scale);
  free (params->zero_point);
  free (params->range_lo);
  free (params->range_hi);
  memset (params, 0, sizeof *params);
}

int32_t
qs_float_format_encode (QsFormat format,
                        float    value)
{
  switch (format)
    {
    case QS_FORMAT_FP16:
      return qs_float_to_fp16 (value);
    case QS_FORMAT_BF16:
      return qs_float_to_bf16 (value);
    case QS_FORMAT_FP8_E4M3:
      return qs_float_to_fp8_e4m3 (value);
    case QS_FORMAT_FP8_E5M2:
      return qs_float_to_fp8_e5m2 (value);
    case QS_FORMAT_INT:
    default:
      return 0;
    }
}

float
qs_float_format_decode (QsFormat format,
                        int32_t  code)
{
  switch (format)
    {
    case QS_FORMAT_FP16:
      return qs_fp16_to_float ((uint16_t) code);
    case QS_FORMAT_BF16:
      return qs_bf16_to_float ((uint16_t) code);
    case QS_FORMAT_FP8_E4M3:
      return qs_fp8_e4m3_to_float ((uint8_t) code);
    case QS_FORMAT_FP8_E5M2:
      return qs_fp8_e5m2_to_float ((uint8_t) code);
    case QS_FORMAT_INT:
    default:
      return 0.0f;
    }
}

float
qs_float_format_max (QsFormat format)
{
  switch (format)
    {
    case QS_FORMAT_FP16:
      return QS_FP16_MAX;
    case QS_FORMAT_BF16:
      return QS_BF16_MAX;
    case QS_FORMAT_FP8_E4M3:
      return QS_FP8_E4M3_MAX;
    case QS_FORMAT_FP8_E5M2:
      return QS_FP8_E5M2_MAX;
    case QS_FORMAT_INT:
    default:
      return 0.0f;
    }
}

size_t
qs_code_slots (QsFormat format,
               int      qmin,
               int      qmax)
{
  switch (format)
    {
    case QS_FORMAT_FP16:
    case QS_FORMAT_BF16:
      return 65536;
    case QS_FORMAT_FP8_E4M3:
    case QS_FORMAT_FP8_E5M2:
      return 256;
    case QS_FORMAT_INT:
    default:
      return (size_t) (qmax - qmin) + 1;
    }
}

/* A channel's parameters: qs_int_params_for_range for integer codes. */
static QsIntParams
compute_channel_params (const QsScheme *scheme,
                        float           lo,
                        float           hi)
{
  QsIntParams p = { 1.0f, 0.0f, false };
  int qmin, qmax;

  if (scheme->format != QS_FORMAT_INT)
    {
      /* Narrow float formats: FP8's range is small enough that weights are
       * scaled onto it; fp16 and bf16 are cast directly. */
      float min_neg = lo < 0.0f ? lo : 0.0f;
      float max_pos = hi > 0.0f ? hi : 0.0f;
      float amax = fmaxf (-min_neg, max_pos);
      if ((scheme->format == QS_FORMAT_FP8_E4M3 || scheme->format == QS_FORMAT_FP8_E5M2)
          && amax > 0.0f)
        p.scale = amax / qs_float_format_max (scheme->format);
      return p;
    }

  qs_scheme_code_range (scheme, &qmin, &qmax);
  return qs_int_params_for_range (scheme->mapping, scheme->nudge_zero, scheme->rounding, qmin, qmax, lo, hi);
}

void
qs_quant_params_set_channel (QsQuantParams  *params,
                             const QsScheme *scheme,
                             size_t          channel,
                             float           lo,
                             float           hi)
{
  QsIntParams p = compute_channel_params (scheme, lo, hi);

  params->format = scheme->format;
  params->rounding = scheme->rounding;
  params->nudge_zero = scheme->nudge_zero;
  if (scheme->format == QS_FORMAT_INT)
    qs_scheme_code_range (scheme, &params->qmin, &params->qmax);
  else
    {
      params->qmin = 0;
      params->qmax = (int) qs_code_slots (scheme->format, 0, 0) - 1;
    }

  params->scale[channel] = p.scale;
  params->inv_scale[channel] = 1.0f / p.scale;
  params->zero_point[channel] = p.zero_point;
  params->range_lo[channel] = lo;
  params->range_hi[channel] = hi;
  if (p.clamped)
    params->clamped_channels++;
}

void
qs_quant_params_set_from_ranges (QsQuantParams  *params,
                                 const QsScheme *scheme,
                                 const float    *lo,
                                 const float    *hi)
{
  params->clamped_channels = 0;
  for (size_t c = 0; c < params->channels; c++)
    qs_quant_params_set_channel (params, scheme, c, lo[c], hi[c]);
}

void
qs_channel_coeffs_from_params (const QsQuantParams *params,
                               size_t               channel,
                               QsChannelCoeffs     *coeffs)
{
  qs_int_coeffs_from (params->scale[channel], params->inv_scale[channel],
                      params->zero_point[channel], params->nudge_zero,
                      params->qmin, params->qmax, coeffs);
}

void
qs_channel_coeffs_for_range (const QsScheme  *scheme,
                             float            lo,
                             float            hi,
                             QsChannelCoeffs *coeffs)
{
  QsIntParams p = compute_channel_params (scheme, lo, hi);
  int qmin, qmax;

  qs_scheme_code_range (scheme, &qmin, &qmax);
  qs_int_coeffs_from (p.scale, 1.0f / p.scale, p.zero_point, scheme->nudge_zero, qmin, qmax, coeffs);
}

static inline int32_t
quantize_int (const QsChannelCoeffs *c,
              QsRounding             rounding,
              float                  x)
{
  /* NaN has no code; it takes the code of 0.0 so exports stay in range. */
  if (isnan (x))
    x = 0.0f;
  return (int32_t) (qs_round (qs_clampf (x * c->inv + c->add, c->lo, c->hi), rounding) + c->post);
}

void
qs_quantize_channel (const QsQuantParams *params,
                     size_t               channel,
                     const float         *values,
                     size_t               count,
                     int32_t             *codes)
{
  if (params->format == QS_FORMAT_INT)
    {
      QsChannelCoeffs c;
      qs_channel_coeffs_from_params (params, channel, &c);
      if (params->rounding == QS_ROUNDING_HALF_AWAY)
        for (size_t i = 0; i < count; i++)
          codes[i] = quantize_int (&c, QS_ROUNDING_HALF_AWAY, values[i]);
      else
        for (size_t i = 0; i < count; i++)
          codes[i] = quantize_int (&c, QS_ROUNDING_HALF_EVEN, values[i]);
    }
  else
    {
      float inv = params->inv_scale[channel];
      for (size_t i = 0; i < count; i++)
        codes[i] = qs_float_format_encode (params->format, values[i] * inv);
    }
}

void
qs_quantize (const QsQuantParams   *params,
             const QsChannelLayout *layout,
             const float           *values,
             int32_t               *codes)
{
  if (layout->channels == 1)
    {
      qs_quantize_channel (params, 0, values, layout->count, codes);
      return;
    }

  for (size_t o = 0; o < layout->outer; o++)
    for (size_t c = 0; c < layout->channels; c++)
      {
        size_t offset = (o * layout->channels + c) * layout->inner;
        qs_quantize_channel (params, c, values + offset, layout->inner, codes + offset);
      }
}

float
qs_dequantize_code (const QsQuantParams *params,
                    size_t               channel,
                    int32_t              code)
{
  if (params->format != QS_FORMAT_INT)
    return qs_float_format_decode (params->format, code) * params->scale[channel];
  return ((float) code - params->zero_point[channel]) * params->scale[channel];
}

float
qs_zero_reconstruction (const QsQuantParams *params,
                        size_t               channel)
{
  const float zero = 0.0f;
  int32_t code = 0;

  qs_quantize_channel (params, channel, &zero, 1, &code);
  return qs_dequantize_code (params, channel, code);
}
