/* qs-number.c: one real number in every format, field by field (see qs-number.h).
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Encoding reuses the fast converters of qs-float-format.c; decoding splits
 * the pattern into its fields and rebuilds the value from them with ldexp,
 * the way the panel explains it, so one routine serves every format.
 */
#include "qs-number.h"

#include <assert.h>
#include <float.h>
#include <math.h>
#include <string.h>

#include "qs-float-format.h"
#include "qs-quantizer-private.h"

/* How a format spends its all-ones exponent. */
typedef enum {
  SPECIALS_IEEE,   /* infinity (mantissa 0) and NaN */
  SPECIALS_E4M3,   /* only S.1111.111 is NaN; the rest stay normal (OCP) */
  SPECIALS_NONE,   /* E2M1: every pattern is a finite number */
} Specials;

typedef struct {
  QsNumberLayout layout;
  Specials       specials;
} FormatInfo;

static const FormatInfo formats[QS_NUMBER_N_FORMATS] = {
  { { QS_NUMBER_FLOAT64, "float64", 64, 11, 52, 1023, DBL_MAX }, SPECIALS_IEEE },
  { { QS_NUMBER_FLOAT32, "float32", 32, 8, 23, 127, FLT_MAX }, SPECIALS_IEEE },
  { { QS_NUMBER_FLOAT16, "float16", 16, 5, 10, 15, 65504.0 }, SPECIALS_IEEE },
  { { QS_NUMBER_BFLOAT16, "bfloat16", 16, 8, 7, 127, 0x1.fep127 }, SPECIALS_IEEE },
  { { QS_NUMBER_FP8_E4M3, "fp8-e4m3", 8, 4, 3, 7, 448.0 }, SPECIALS_E4M3 },
  { { QS_NUMBER_FP8_E5M2, "fp8-e5m2", 8, 5, 2, 15, 57344.0 }, SPECIALS_IEEE },
  { { QS_NUMBER_FP4_E2M1, "fp4-e2m1", 4, 2, 1, 1, 6.0 }, SPECIALS_NONE },
};

const QsNumberLayout *
qs_number_layout (QsNumberFormat format)
{
  assert (format >= 0 && format < QS_NUMBER_N_FORMATS);
  return &formats[format].layout;
}

const char *
qs_number_class_to_string (QsNumberClass klass)
{
  switch (klass)
    {
    case QS_NUMBER_ZERO:
      return "zero";
    case QS_NUMBER_SUBNORMAL:
      return "subnormal";
    case QS_NUMBER_NORMAL:
      return "normal";
    case QS_NUMBER_INFINITE:
      return "inf";
    case QS_NUMBER_NAN:
    default:
      return "nan";
    }
}

static inline uint64_t
low_mask (int bits)
{
  return bits >= 64 ? UINT64_MAX : (UINT64_C (1) << bits) - 1;
}

/* Splits @bits into fields and rebuilds the value from them. */
static void
decode_fields (const FormatInfo *info,
               uint64_t          bits,
               QsNumberEncoding *out)
{
  const QsNumberLayout *l = &info->layout;
  uint64_t exponent_all_ones = low_mask (l->exponent_bits);
  double magnitude;

  out->has_code = true;
  out->bits = bits & low_mask (l->width);
  out->sign = (int) ((out->bits >> (l->width - 1)) & 1);
  out->exponent_biased = (uint32_t) ((out->bits >> l->mantissa_bits) & exponent_all_ones);
  out->mantissa = out->bits & low_mask (l->mantissa_bits);

  if (out->exponent_biased == 0)
    {
      out->klass = out->mantissa == 0 ? QS_NUMBER_ZERO : QS_NUMBER_SUBNORMAL;
      out->exponent_unbiased = 1 - l->bias;
      magnitude = ldexp ((double) out->mantissa, out->exponent_unbiased - l->mantissa_bits);
    }
  else
    {
      out->klass = QS_NUMBER_NORMAL;
      out->exponent_unbiased = (int) out->exponent_biased - l->bias;
      magnitude = ldexp ((double) (out->mantissa | (UINT64_C (1) << l->mantissa_bits)),
                         out->exponent_unbiased - l->mantissa_bits);
      if (out->exponent_biased == exponent_all_ones)
        {
          if (info->specials == SPECIALS_IEEE)
            {
              out->klass = out->mantissa == 0 ? QS_NUMBER_INFINITE : QS_NUMBER_NAN;
              magnitude = out->mantissa == 0 ? INFINITY : NAN;
            }
          else if (info->specials == SPECIALS_E4M3 && out->mantissa == low_mask (l->mantissa_bits))
            {
              out->klass = QS_NUMBER_NAN;
              magnitude = NAN;
            }
        }
    }

  out->decoded = out->sign ? -magnitude : magnitude;
  if (out->klass == QS_NUMBER_INFINITE || out->klass == QS_NUMBER_NAN)
    out->step = NAN;
  else
    out->step = ldexp (1.0, out->exponent_unbiased - l->mantissa_bits);
}

/* Whether round-to-nearest-even over an unbounded exponent range takes
 * @magnitude above the format's largest finite value. The next value past
 * max would be max + one step of max's binade; at the halfway point the tie
 * goes to whichever of the two has an even mantissa. */
static bool
rounds_past_max (const QsNumberLayout *l,
                 double                magnitude)
{
  int exponent;
  double step, half, max_significand;

  (void) frexp (l->max, &exponent);
  step = ldexp (1.0, exponent - 1 - l->mantissa_bits);
  half = step / 2;
  if (isinf (l->max + half))
    /* float64: the halfway point itself is past DBL_MAX. */
    return isinf (magnitude);
  max_significand = l->max / step;
  return magnitude > l->max + half
         || (magnitude == l->max + half && fmod (max_significand, 2.0) == 1.0);
}

/* Rounds a double to float32 with round-to-odd: an inexact result keeps an
 * odd last bit as a sticky mark, so the later round-to-nearest-even to a
 * format of at most 22 significand bits is exactly the rounding of the
 * double itself. Plain (float) would round twice: 1 + 2^-11 + 2^-40 would
 * become the float16 tie 1 + 2^-11 and then 1.0 instead of 1 + 2^-10. */
static float
float_round_to_odd (double value)
{
  float f = (float) value;
  uint32_t bits;

  if (isnan (value) || isinf (value) || (double) f == value)
    return f;
  if (isinf (f))
    return copysignf (FLT_MAX, f);  /* FLT_MAX's last bit is odd */
  memcpy (&bits, &f, sizeof bits);
  if ((bits & 1) == 0)
    f = nextafterf (f, value > (double) f ? INFINITY : -INFINITY);
  return f;
}

/* Round to nearest even by trying every magnitude: only for E2M1, whose
 * eight magnitudes make a search the plainest correct encoder. Beyond the
 * largest magnitude the code saturates. */
static uint64_t
encode_by_search (const FormatInfo *info,
                  double            value)
{
  const QsNumberLayout *l = &info->layout;
  uint64_t count = UINT64_C (1) << (l->width - 1), best = 0;
  double magnitude = fabs (value), best_distance = INFINITY;

  for (uint64_t code = 0; code < count; code++)
    {
      QsNumberEncoding candidate;
      double distance;

      decode_fields (info, code, &candidate);
      distance = fabs (candidate.decoded - magnitude);
      if (distance < best_distance || (distance == best_distance && (code & 1) == 0))
        {
          best = code;
          best_distance = distance;
        }
    }
  /* Far beyond the largest, distances to neighbours round to the same
   * double and would look like ties. */
  if (magnitude >= l->max)
    best = count - 1;
  return (signbit (value) ? count : 0) | best;
}

/* An IEEE format whose converter saturates: the pattern of ±infinity
 * replaces ±max where IEEE rounding overflows. */
static uint64_t
ieee_overflow_to_inf (const QsNumberLayout *l,
                      double                value,
                      uint64_t              code,
                      bool                 *overflowed)
{
  uint64_t inf_code = low_mask (l->exponent_bits) << l->mantissa_bits;

  *overflowed = false;
  if (isnan (value) || !rounds_past_max (l, fabs (value)))
    return code;
  *overflowed = !isinf (value);
  return (signbit (value) ? UINT64_C (1) << (l->width - 1) : 0) | inf_code;
}

void
qs_number_encode (double            value,
                  QsNumberFormat    format,
                  QsNumberEncoding *out)
{
  const FormatInfo *info;
  uint64_t code = 0;
  bool overflowed = false, saturated = false;

  assert (format >= 0 && format < QS_NUMBER_N_FORMATS);
  assert (out != NULL);
  info = &formats[format];
  memset (out, 0, sizeof *out);
  out->layout = info->layout;

  switch (format)
    {
    case QS_NUMBER_FLOAT64:
      memcpy (&code, &value, sizeof code);
      break;
    case QS_NUMBER_FLOAT32:
      {
        float f = (float) value;
        uint32_t bits;

        memcpy (&bits, &f, sizeof bits);
        code = bits;
        overflowed = isinf (f) && !isinf (value);
      }
      break;
    case QS_NUMBER_FLOAT16:
      code = ieee_overflow_to_inf (&info->layout, value,
                                   qs_float_to_fp16 (float_round_to_odd (value)), &overflowed);
      break;
    case QS_NUMBER_BFLOAT16:
      code = ieee_overflow_to_inf (&info->layout, value,
                                   qs_float_to_bf16 (float_round_to_odd (value)), &overflowed);
      break;
    case QS_NUMBER_FP8_E4M3:
      code = qs_float_to_fp8_e4m3 (float_round_to_odd (value));
      saturated = !isnan (value) && rounds_past_max (&info->layout, fabs (value));
      break;
    case QS_NUMBER_FP8_E5M2:
      code = qs_float_to_fp8_e5m2 (float_round_to_odd (value));
      saturated = !isnan (value) && rounds_past_max (&info->layout, fabs (value));
      break;
    case QS_NUMBER_FP4_E2M1:
    default:
      if (isnan (value))
        {
          out->klass = QS_NUMBER_NAN;
          out->decoded = out->error = out->step = NAN;
          return;
        }
      code = encode_by_search (info, value);
      saturated = rounds_past_max (&info->layout, fabs (value));
      break;
    }

  decode_fields (info, code, out);
  out->saturated = saturated;
  out->overflowed = overflowed;
  out->error = isfinite (out->decoded) && isfinite (value) ? out->decoded - value : NAN;
}

QsStatus
qs_number_fixed_point (double        value,
                       int           m,
                       int           n,
                       QsFixedPoint *out)
{
  int width = m + n;
  double lowest, past_highest, rounded;

  assert (out != NULL);
  if (m < 1 || n < 0 || n > QS_FIXED_POINT_MAX_WIDTH || width > QS_FIXED_POINT_MAX_WIDTH)
    return QS_STATUS_INVALID_ARGUMENT;

  memset (out, 0, sizeof *out);
  out->m = m;
  out->n = n;
  lowest = -ldexp (1.0, width - 1);
  past_highest = ldexp (1.0, width - 1);
  out->resolution = ldexp (1.0, -n);
  out->min = ldexp (lowest, -n);
  /* 2^(m-1) - 2^-n: exact in double up to 53 bits of width. */
  out->max = ldexp (1.0, m - 1) - out->resolution;

  if (isnan (value))
    {
      out->decoded = out->error = NAN;
      return QS_OK;
    }

  out->defined = true;
  /* Scaling by 2^n is exact (barring overflow, which saturates anyway), so
   * nearbyint's half-to-even rounding is the only rounding. */
  rounded = nearbyint (ldexp (value, n));
  if (rounded >= past_highest)
    {
      out->code = (int64_t) (low_mask (width - 1));
      out->saturated = true;
    }
  else if (rounded < lowest)
    {
      out->code = width == 64 ? INT64_MIN : -(int64_t) (UINT64_C (1) << (width - 1));
      out->saturated = true;
    }
  else
    out->code = (int64_t) rounded;

  out->bits = (uint64_t) out->code & low_mask (width);
  out->decoded = ldexp ((double) out->code, -n);
  out->error = isfinite (value) ? out->decoded - value : NAN;
  return QS_OK;
}

QsStatus
qs_number_integer_code (double          value,
                        const QsScheme *scheme,
                        float           scale,
                        int             zero_point,
                        QsIntegerCode  *out)
{
  /* A one-channel quantizer over local storage: the same arithmetic as
   * every pass, without an allocation. */
  float scale_storage = scale, inv_storage = 1.0f / scale, zero_storage = (float) zero_point;
  QsQuantParams params = { 0 };
  QsChannelCoeffs coeffs;
  float x = (float) value;
  int qmin, qmax;

  assert (scheme != NULL && out != NULL);
  if (scheme->bits < QS_MIN_BITS || scheme->bits > QS_MAX_BITS
      || !(scale > 0.0f) || !isfinite (scale) || !isfinite (inv_storage))
    return QS_STATUS_INVALID_ARGUMENT;
  qs_scheme_code_range (scheme, &qmin, &qmax);
  if (zero_point < qmin || zero_point > qmax)
    return QS_STATUS_INVALID_ARGUMENT;

  params.format = QS_FORMAT_INT;
  params.rounding = scheme->rounding;
  params.nudge_zero = true;
  params.channels = 1;
  params.qmin = qmin;
  params.qmax = qmax;
  params.scale = &scale_storage;
  params.inv_scale = &inv_storage;
  params.zero_point = &zero_storage;

  memset (out, 0, sizeof *out);
  out->scale = scale;
  out->zero_point = zero_point;
  out->code_bits = scheme->bits;
  out->qmin = qmin;
  out->qmax = qmax;
  out->rounding = scheme->rounding;
  qs_quantize_channel (&params, 0, &x, 1, &out->code);
  out->bits = (uint32_t) out->code & (uint32_t) low_mask (scheme->bits);
  out->dequantized = qs_dequantize_code (&params, 0, out->code);
  out->error = isfinite (value) ? out->dequantized - value : NAN;

  /* The quantizer clamps before it rounds; a value beyond the clamp
   * bounds lay outside the range the codes cover. */
  qs_channel_coeffs_from_params (&params, 0, &coeffs);
  {
    float t = x * coeffs.inv + coeffs.add;
    out->clipped = !isnan (x) && (t < coeffs.lo || t > coeffs.hi);
  }
  return QS_OK;
}
