/* qs-scheme.h: the one value that describes every quantization choice.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "qs-types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  QS_FORMAT_INT = 0,    /* uniform integer grid: bits, mapping, range, ... apply */
  QS_FORMAT_FP16,       /* IEEE 754 binary16, direct cast */
  QS_FORMAT_BF16,       /* bfloat16, direct cast */
  QS_FORMAT_FP8_E4M3,   /* OCP FP8 E4M3, scaled so the range maximum lands on 448 */
  QS_FORMAT_FP8_E5M2,   /* OCP FP8 E5M2, scaled so the range maximum lands on 57344 */
  /* Block formats (docs/block-formats.md): a scale per block of consecutive
   * weights along the reduction axis. */
  QS_FORMAT_MXFP8_E4M3, /* OCP Microscaling v1.0: 32 elements, E8M0 shared scale */
  QS_FORMAT_MXFP8_E5M2,
  QS_FORMAT_MXFP6_E2M3,
  QS_FORMAT_MXFP6_E3M2,
  QS_FORMAT_MXFP4,      /* E2M1 elements */
  QS_FORMAT_MXINT8,     /* 8-bit two's complement elements, implicit scale 2^-6 */
  QS_FORMAT_NVFP4,      /* 16 E2M1 elements, E4M3 block scale, float32 tensor scale */
  QS_FORMAT_NF4,        /* 64 elements, float32 absmax, the 16 NormalFloat4 levels */
} QsFormat;

#define QS_FORMAT_LAST QS_FORMAT_NF4

typedef enum {
  QS_MAPPING_ASYMMETRIC = 0,  /* affine: real = scale * (q - zero_point) */
  QS_MAPPING_SYMMETRIC,       /* zero_point fixed at the middle of the code range */
} QsMapping;

typedef enum {
  QS_GRANULARITY_TENSOR = 0,
  QS_GRANULARITY_CHANNEL,
  QS_GRANULARITY_GROUP,   /* a scale per group_size weights along the reduction axis */
} QsGranularity;

typedef enum {
  QS_RANGE_MINMAX = 0,
  QS_RANGE_PERCENTILE,
  QS_RANGE_MSE,
  QS_RANGE_KL,
  QS_RANGE_MANUAL,
} QsRangeMethod;

typedef enum {
  QS_ROUNDING_HALF_EVEN = 0,  /* nearbyint, as PyTorch */
  QS_ROUNDING_HALF_AWAY,      /* round, as TFLite's QUANTIZE op */
} QsRounding;

#define QS_MIN_BITS 2
#define QS_MAX_BITS 16
/* KL calibration (TensorRT's 8-bit algorithm) below this many integer bits
 * chooses a threshold of a few histogram bins on ordinary tensors (a
 * Gaussian of 144 values at 3 bits: 143 clipped, 0.1 dB), so it is refused
 * there; tests/quant/test-kl-bits.c checks 4 bits and up are sane. */
#define QS_KL_MIN_BITS 4
#define QS_DEFAULT_BINS 256
#define QS_MAX_BINS 65536
/* The axis that means "the tensor's own channel axis" (chosen by the reader). */
#define QS_AXIS_DEFAULT INT32_MIN
/* Integer groups without an explicit size. */
#define QS_DEFAULT_GROUP_SIZE 128
#define QS_MAX_GROUP_SIZE 65536

typedef struct {
  QsFormat       format;
  int            bits;          /* 2..16, integer format only */
  QsMapping      mapping;
  bool           is_unsigned;   /* codes in [0, 2^bits - 1] instead of [-2^(bits-1), 2^(bits-1) - 1] */
  bool           narrow;        /* drop the most negative code: [-(2^(b-1) - 1), 2^(b-1) - 1] */
  QsGranularity  granularity;
  int            axis;          /* channel axis for per-channel; negative counts from the end */
  QsRangeMethod  range_method;
  double         percentile;    /* for QS_RANGE_PERCENTILE, in (50, 100] */
  double         manual_lo;     /* for QS_RANGE_MANUAL */
  double         manual_hi;
  QsRounding     rounding;
  bool           nudge_zero;    /* integer zero point, so 0.0 is exact (Jacob et al. 2018) */
  int            bins;          /* histogram bins, 1..QS_MAX_BINS */
  bool           has_hist_range;/* histogram over [hist_lo, hist_hi] instead of the data range */
  double         hist_lo;
  double         hist_hi;
  int            group_size;    /* weights per group or block, 1..QS_MAX_GROUP_SIZE; 0: the default */
} QsScheme;

/* The one default weight scheme of the CLI, the app and scheme files:
 * TFLite's int8 weights (symmetric, signed, narrow [-127, 127], so zero
 * point 0 and scale amax / 127, one scale per output channel on the
 * tensor's channel axis; 1-D tensors keep one scale), min/max, round half
 * to even, 256 bins. */
void qs_scheme_init_default    (QsScheme *scheme);
/* The seed notes' scheme, one choice away in the app and the lesson of the
 * Number Inspector: int8 asymmetric signed [-128, 127] per tensor,
 * min/max, zero nudged, round half to even, 256 bins. */
void qs_scheme_init_per_tensor (QsScheme *scheme);
/* The code range a scheme takes when nobody chose one (the CLI without
 * --narrow or --full-range, a scheme file's default without "narrow"):
 * narrow for a signed symmetric integer grid, as TFLite's weights, full
 * otherwise, so --mapping asymmetric gives the seed's [-128, 127]. */
bool qs_scheme_default_narrow  (const QsScheme *scheme);

/* QS_OK when every field is in range; otherwise a status and, when
 * @message is not NULL, a static English description of the first problem. */
QsStatus qs_scheme_validate (const QsScheme *scheme,
                             const char    **message);

/* The integer code range the scheme maps onto. */
void qs_scheme_code_range (const QsScheme *scheme,
                           int            *qmin,
                           int            *qmax);

/* Whether @a and @b quantize alike: compares, field by field, only what
 * the scheme's kind reads (the bits and mapping of an integer scheme, not
 * of a float format; the percentile only for the percentile method; a
 * block size by its effective value). Doubles compare as values: 0.0
 * equals -0.0 and NaN equals NaN. Histogram bins and range count, since
 * they change what an analysis reports. */
bool     qs_scheme_equal (const QsScheme *a,
                          const QsScheme *b);
/* A hash consistent with qs_scheme_equal: equal schemes hash alike. */
uint32_t qs_scheme_hash  (const QsScheme *scheme);

/* Whether @format is a block format (MX, NVFP4, NF4). */
bool qs_format_is_block (QsFormat format);

/* The bits of one element (code) of @format; for QS_FORMAT_INT, 0 (the
 * scheme's own bits apply). */
int  qs_format_element_bits (QsFormat format);

/* Whether @scheme has a scale per group or block: integer groups or a block format. */
bool qs_scheme_is_blockwise (const QsScheme *scheme);

/* The group or block size @scheme uses: group_size when set, else the
 * block format's own (32, 16 or 64) or QS_DEFAULT_GROUP_SIZE; 0 when the
 * scheme is not blockwise. */
size_t qs_scheme_block_size (const QsScheme *scheme);

/* Parsing and printing of the names the CLI, scheme files and the GUI use.
 * The parsers return false for an unknown name and leave the scheme as it was. */
bool qs_format_parse       (const char *text, QsFormat *format);
bool qs_mapping_parse      (const char *text, QsMapping *mapping);
bool qs_granularity_parse  (const char *text, QsGranularity *granularity);
bool qs_rounding_parse     (const char *text, QsRounding *rounding);
/* "minmax", "percentile:P", "mse", "kl", "manual:LO,HI". */
bool qs_range_method_parse (const char *text, QsScheme *scheme);

const char *qs_format_to_string       (QsFormat format);
const char *qs_mapping_to_string      (QsMapping mapping);
const char *qs_granularity_to_string  (QsGranularity granularity);
const char *qs_rounding_to_string     (QsRounding rounding);
const char *qs_range_method_to_string (QsRangeMethod method);

#ifdef __cplusplus
}
#endif
