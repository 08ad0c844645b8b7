/* qs-number.h: one real number in every format Quantscope knows, field by field.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * What the number inspector (app) and `quantscope-cli number` show: the bit
 * pattern of a value in each float format with its sign, exponent and
 * mantissa fields, the value the pattern decodes to and the error; the same
 * value in signed fixed point Qm.n; and its integer code under an affine
 * quantization scheme.
 *
 * Float conversions round to nearest, ties to even. Overflow follows each
 * format's own convention:
 *   float32, float16, bfloat16: to infinity, as IEEE 754 does;
 *   FP8 E4M3, FP4 E2M1: saturate to the largest finite value (they have no
 *     infinity; OCP's E4M3 NaN pattern is not an overflow result);
 *   FP8 E5M2: saturates too, as the app's fake quantization does
 *     (qs-float-format.c): 57344 keeps every error finite. An infinite input
 *     also becomes ±57344 there.
 * A value "saturated" when round-to-nearest-even over an unbounded exponent
 * range would have produced a magnitude above the largest finite value; it
 * "overflowed" when that made it infinite.
 */
#pragma once

#include "qs-scheme.h"
#include "qs-types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  QS_NUMBER_FLOAT64 = 0,
  QS_NUMBER_FLOAT32,
  QS_NUMBER_FLOAT16,
  QS_NUMBER_BFLOAT16,
  QS_NUMBER_FP8_E4M3,
  QS_NUMBER_FP8_E5M2,
  QS_NUMBER_FP4_E2M1,
  QS_NUMBER_N_FORMATS
} QsNumberFormat;

typedef enum {
  QS_NUMBER_ZERO = 0,
  QS_NUMBER_SUBNORMAL,
  QS_NUMBER_NORMAL,
  QS_NUMBER_INFINITE,
  QS_NUMBER_NAN,
} QsNumberClass;

/* The layout of a float format: width = 1 + exponent_bits + mantissa_bits. */
typedef struct {
  QsNumberFormat format;
  const char    *name;          /* "float32", "fp8-e4m3", ... (not translated) */
  int            width;
  int            exponent_bits;
  int            mantissa_bits;
  int            bias;
  double         max;           /* the largest finite value */
} QsNumberLayout;

typedef struct {
  QsNumberLayout layout;
  /* false when no pattern stands for the value: NaN in E2M1, which has none.
   * The fields below are then zero, and decoded is NaN. */
  bool           has_code;
  uint64_t       bits;               /* the full pattern, in the low width bits */
  int            sign;               /* 0 or 1 */
  uint32_t       exponent_biased;    /* the exponent field as stored */
  /* The power of two the field stands for: field - bias for normals,
   * 1 - bias for subnormals and zero; meaningless for infinity and NaN. */
  int            exponent_unbiased;
  uint64_t       mantissa;           /* the mantissa (fraction) field */
  QsNumberClass  klass;
  double         decoded;            /* the value the pattern stands for */
  double         error;              /* decoded - value; NaN when either is not finite */
  /* The ULP: the distance to the next representable value of larger
   * magnitude, 2^(exponent_unbiased - mantissa_bits). At the largest finite
   * value, where no larger one exists, the same binade spacing (the distance
   * to the value below). NaN for infinity and NaN. */
  double         step;
  bool           saturated;          /* clamped to ±max (see the file comment) */
  bool           overflowed;         /* became ±infinity */
} QsNumberEncoding;

/* The layout of @format. */
const QsNumberLayout *qs_number_layout (QsNumberFormat format);

/* Encodes @value in @format into @out. */
void qs_number_encode (double            value,
                       QsNumberFormat    format,
                       QsNumberEncoding *out);

/* A short English name of @klass: "zero", "subnormal", "normal", "inf", "nan". */
const char *qs_number_class_to_string (QsNumberClass klass);

/* Signed two's-complement fixed point Qm.n: m integer bits including the
 * sign, n fraction bits, 1 <= m, 0 <= n, m + n <= 64. */
#define QS_FIXED_POINT_MAX_WIDTH 64

typedef struct {
  int      m;
  int      n;
  /* false for NaN, which has no fixed-point code; the fields below that
   * depend on the value are then zero or NaN. */
  bool     defined;
  int64_t  code;        /* round_half_even (value * 2^n), clamped */
  uint64_t bits;        /* code in m + n bits, two's complement */
  double   decoded;     /* code * 2^-n (in double: inexact beyond 2^53 codes) */
  double   error;       /* decoded - value */
  double   min;         /* -2^(m-1) */
  double   max;         /* 2^(m-1) - 2^-n */
  double   resolution;  /* 2^-n: the step everywhere in the range */
  bool     saturated;   /* the rounded code fell outside the range and was clamped */
} QsFixedPoint;

/* QS_STATUS_INVALID_ARGUMENT when m, n are out of range. */
QsStatus qs_number_fixed_point (double        value,
                                int           m,
                                int           n,
                                QsFixedPoint *out);

/* The integer code of a value under an affine scheme, computed by the
 * quantizer every pass uses (qs-params.h), in float32 as PyTorch does:
 * the value is first rounded to float32. */
typedef struct {
  float      scale;
  int        zero_point;
  int        code_bits;    /* B: the code's width */
  int        qmin;
  int        qmax;
  QsRounding rounding;
  int32_t    code;
  uint32_t   bits;         /* code in code_bits bits (two's complement when signed) */
  double     dequantized;  /* scale * (code - zero_point), in float32 */
  double     error;        /* dequantized - value */
  bool       clipped;      /* the value lay outside the representable range */
} QsIntegerCode;

/* @scheme gives bits, signedness, narrow range and rounding (its other
 * fields are ignored). QS_STATUS_INVALID_ARGUMENT when the scale is not
 * positive and finite, the zero point lies outside the code range, or
 * @scheme's bits are out of range. */
QsStatus qs_number_integer_code (double          value,
                                 const QsScheme *scheme,
                                 float           scale,
                                 int             zero_point,
                                 QsIntegerCode  *out);

#ifdef __cplusplus
}
#endif
