/* qs-params-private.h: an integer scheme's scale and zero point for a range, shared by every pass.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * qs-params.c computes a channel's parameters with it, and the block
 * pass's SIMD kernel sixteen groups at a time: inline, so that a loop of
 * calls vectorizes where the caller is built for a vector target, with
 * the same float operations in the same order either way.
 */
#pragma once

#include <stdbool.h>

#include "qs-quantizer-private.h"

typedef struct {
  float scale;
  float zero_point;
  bool  clamped;     /* the scale was raised to QS_SCALE_EPS */
} QsIntParams;

/* torch.ao.quantization.observer._calculate_qparams, in float32, for
 * codes qmin..qmax. */
static inline __attribute__ ((always_inline)) QsIntParams
qs_int_params_for_range (QsMapping  mapping,
                         bool       nudge_zero,
                         QsRounding rounding,
                         int        qmin,
                         int        qmax,
                         float      lo,
                         float      hi)
{
  QsIntParams p = { 1.0f, 0.0f, false };
  float min_neg = lo < 0.0f ? lo : 0.0f;
  float max_pos = hi > 0.0f ? hi : 0.0f;

  if (mapping == QS_MAPPING_SYMMETRIC)
    {
      /* fmaxf, as a compare that vectorizes: neither is NaN, and of two
       * zeros either gives the floor scale and the same zero point. */
      float amax = -min_neg > max_pos ? -min_neg : max_pos;
      p.scale = amax / ((float) (qmax - qmin) / 2.0f);
      if (p.scale < QS_SCALE_EPS)
        {
          p.scale = QS_SCALE_EPS;
          p.clamped = true;
        }
      if (nudge_zero)
        p.zero_point = (float) ((qmin + qmax + 1) >> 1);
      else
        /* The naive mapping puts -amax on qmin: with an even number of codes
         * that leaves zero half a step off the grid. */
        p.zero_point = (float) qmin + amax / p.scale;
    }
  else
    {
      p.scale = (max_pos - min_neg) / (float) (qmax - qmin);
      if (p.scale < QS_SCALE_EPS)
        {
          p.scale = QS_SCALE_EPS;
          p.clamped = true;
        }
      if (nudge_zero)
        {
          float z = (float) qmin - qs_round (min_neg / p.scale, rounding);
          p.zero_point = qs_clampf (z, (float) qmin, (float) qmax);
        }
      else
        p.zero_point = (float) qmin - min_neg / p.scale;
    }
  return p;
}

/* The quantizer's coefficients (see qs-quantizer-private.h) for a scale,
 * its inverse and a zero point. */
static inline void
qs_int_coeffs_from (float            scale,
                    float            inv_scale,
                    float            zero_point,
                    bool             nudge_zero,
                    int              qmin,
                    int              qmax,
                    QsChannelCoeffs *coeffs)
{
  coeffs->scale = scale;
  coeffs->inv = inv_scale;
  if (nudge_zero)
    {
      coeffs->add = 0.0f;
      coeffs->lo = (float) qmin - zero_point;
      coeffs->hi = (float) qmax - zero_point;
      coeffs->post = zero_point;
      coeffs->sub = 0.0f;
    }
  else
    {
      coeffs->add = zero_point;
      coeffs->lo = (float) qmin;
      coeffs->hi = (float) qmax;
      coeffs->post = 0.0f;
      coeffs->sub = zero_point;
    }
}
