/* qs-requantize-scalar.c: int32/int64 accumulators to uint8 codes, the reference rules.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * We follow TFLite's MultiplyByQuantizedMultiplier ("double rounding"):
 * gemmlowp's SaturatingRoundingDoublingHighMul (round to nearest, ties
 * toward +infinity) followed by RoundingDivideByPOT (ties away from zero).
 * Single rounding or fp32 rescaling would differ by one code on a few
 * percent of outputs; any choice is fine as long as every kernel makes the
 * same one, so the vector kernels are tested against this file bit for bit.
 */
#include "qs-kernels.h"

#include <math.h>

void
qs_quantize_multiplier (double   real,
                        int32_t *multiplier,
                        int32_t *right_shift,
                        int32_t *left_shift)
{
  int exponent = 0;
  double q;
  int64_t q_fixed;

  *multiplier = 0;
  *right_shift = 0;
  *left_shift = 0;
  if (!(real > 0.0) || !isfinite (real))
    return;

  q = frexp (real, &exponent);
  q_fixed = llround (q * 2147483648.0);
  if (q_fixed == ((int64_t) 1 << 31))
    {
      q_fixed /= 2;
      exponent++;
    }
  /* Below 2^-31 every int32 accumulator rounds to zero anyway (TFLite does
   * the same). */
  if (exponent < -31)
    return;
  if (exponent > 30)
    exponent = 30;
  *multiplier = (int32_t) q_fixed;
  if (exponent < 0)
    *right_shift = -exponent;
  else
    *left_shift = exponent;
}

static inline int32_t
saturate_i64 (int64_t x)
{
  if (x > INT32_MAX)
    return INT32_MAX;
  if (x < INT32_MIN)
    return INT32_MIN;
  return (int32_t) x;
}

static inline uint8_t
finish (int32_t                x,
        size_t                 c,
        int32_t                multiplier,
        int32_t                right_shift,
        const int32_t         *left_shift,
        int32_t                output_zp,
        int32_t                act_min,
        int32_t                act_max)
{
  int64_t code;
  int32_t y;

  if (left_shift != NULL && left_shift[c] > 0)
    x = saturate_i64 ((int64_t) x * ((int64_t) 1 << left_shift[c]));
  y = multiplier == 0 ? 0 : qs_rounding_divide_by_pot (qs_srdhm (x, multiplier), right_shift);
  code = (int64_t) y + output_zp;
  if (code < act_min)
    code = act_min;
  if (code > act_max)
    code = act_max;
  return (uint8_t) code;
}

int32_t
qs_requantize_total (int32_t                acc,
                     int32_t                rowsum,
                     size_t                 c,
                     const QsRequantParams *p)
{
  /* Unsigned arithmetic: wrapping is defined, and the engine keeps K small
   * enough that it never happens. */
  uint32_t t = (uint32_t) acc + (uint32_t) p->bias[c];

  if (p->weight_zp != NULL)
    t -= (uint32_t) p->weight_zp[c] * (uint32_t) rowsum;
  if (p->frac_q16 != NULL)
    {
      int64_t d = (int64_t) rowsum - p->input_zp_sum;
      /* Round half up in Q16; >> of a negative int64 is arithmetic in GCC and Clang. */
      int64_t corr = ((int64_t) p->frac_q16[c] * d + 32768) >> 16;
      t -= (uint32_t) corr;
    }
  return (int32_t) t;
}

int64_t
qs_requantize_total64 (int64_t                  acc,
                       int32_t                  rowsum,
                       size_t                   c,
                       const QsRequantParams64 *p)
{
  int64_t x = acc + p->bias[c];

  if (p->weight_zp != NULL)
    x -= (int64_t) p->weight_zp[c] * rowsum;
  if (p->frac_q16 != NULL)
    x -= ((int64_t) p->frac_q16[c] * ((int64_t) rowsum - p->input_zp_sum) + 32768) >> 16;
  return x;
}

uint8_t
qs_requantize_one (int32_t                acc,
                   int32_t                rowsum,
                   size_t                 c,
                   const QsRequantParams *p)
{
  return finish (qs_requantize_total (acc, rowsum, c, p), c, p->multiplier[c],
                 p->right_shift[c], p->left_shift, p->output_zp, p->act_min, p->act_max);
}

void
qs_requantize_u8_scalar (size_t                 rows,
                         size_t                 n,
                         const int32_t         *acc,
                         size_t                 ldacc,
                         const int32_t         *rowsum,
                         const QsRequantParams *params,
                         uint8_t               *out,
                         size_t                 ldout)
{
  for (size_t r = 0; r < rows; r++)
    {
      int32_t rs = rowsum != NULL ? rowsum[r] : 0;

      for (size_t c = 0; c < n; c++)
        out[r * ldout + c] = qs_requantize_one (acc[r * ldacc + c], rs, c, params);
    }
}

/* SaturatingRoundingDoublingHighMul with a 64-bit operand: the same rounding
 * on 2*x*b / 2^32, in 128-bit arithmetic. */
static inline int64_t
srdhm64 (int64_t x,
         int32_t b)
{
  __int128 ab = (__int128) x * b;
  __int128 nudge = ab >= 0 ? ((__int128) 1 << 30) : (1 - ((__int128) 1 << 30));

  return (int64_t) ((ab + nudge) / ((__int128) 1 << 31));
}

static inline int64_t
rounding_divide_by_pot64 (int64_t x,
                          int     exponent)
{
  int64_t mask = ((int64_t) 1 << exponent) - 1;
  int64_t remainder = x & mask;
  int64_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);

  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

void
qs_requantize_u8_i64_scalar (size_t                   rows,
                             size_t                   n,
                             const int64_t           *acc,
                             size_t                   ldacc,
                             const int32_t           *rowsum,
                             const QsRequantParams64 *p,
                             uint8_t                 *out,
                             size_t                   ldout)
{
  for (size_t r = 0; r < rows; r++)
    {
      int64_t rs = rowsum != NULL ? rowsum[r] : 0;

      for (size_t c = 0; c < n; c++)
        {
          int64_t x = qs_requantize_total64 (acc[r * ldacc + c], (int32_t) rs, c, p);
          int64_t y, code;

          if (p->left_shift != NULL && p->left_shift[c] > 0)
            {
              /* |x| < 2^48 here (16-bit weights, K < 2^16), so the shifted
               * value cannot overflow int64 for the shifts that occur. */
              int s = p->left_shift[c];
              if (x > (INT64_MAX >> s))
                x = INT64_MAX >> s;
              if (x < (INT64_MIN >> s))
                x = INT64_MIN >> s;
              x *= (int64_t) 1 << s;
            }
          y = p->multiplier[c] == 0 ? 0
            : rounding_divide_by_pot64 (srdhm64 (x, p->multiplier[c]), p->right_shift[c]);
          code = y + p->output_zp;
          if (code < p->act_min)
            code = p->act_min;
          if (code > p->act_max)
            code = p->act_max;
          out[r * ldout + c] = (uint8_t) code;
        }
    }
}
