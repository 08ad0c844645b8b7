/* qs-graph-kernels.h: integer kernels of the graph's layers beside the GEMMs: lookup-table activations, merges, rescaling.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * uint8 codes with integer zero points, as TFLite's quantized Add, Mul,
 * Concatenation and activations compute them (tensorflow/lite/kernels/
 * internal/reference/integer_ops). A layer whose zero points are
 * fractional (nudging off) does not come here: the engine runs it in
 * float between dequantize and quantize. Scalar files are the reference;
 * an ISA's variant gives the same bits (tests/engine/test-graph-kernels.c).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/qs-engine.h"
#include "engine/kernels/qs-kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- activations as 256-entry tables ---------------------------------------------- */

/* table[q] = clamp (round_half_away (f ((q - in_zero) * in_scale) / out_scale) + out_zero, 0, 255)
 * for q = 0..255, f the float definition qs_activation_spec_apply: every
 * entry within one code of the float function, quantized. */
void qs_lut_build (const QsActivationSpec *spec,
                   float                   in_scale,
                   int32_t                 in_zero,
                   float                   out_scale,
                   int32_t                 out_zero,
                   uint8_t                 table[256]);

/* out[i] = table[in[i]]; @in and @out may be the same buffer. */
typedef void (*QsLutFunc) (const uint8_t  table[256],
                           const uint8_t *in,
                           uint8_t       *out,
                           size_t         n);

void qs_lut_u8_scalar (const uint8_t table[256], const uint8_t *in, uint8_t *out, size_t n);

/* ---- elementwise sum of n inputs (Add, Subtract, Average) ------------------------- */

/* TFLite's quantized Add, for 1..QS_ENGINE_MAX_INPUTS inputs: each input
 * code becomes (q - zero_i) << left_shift, is scaled to twice the largest
 * input scale by its own multiplier, the scaled inputs are summed (the
 * second negated for Subtract), and the sum is requantized to the output
 * scale. Average is a sum whose output scale is n times the output's. */
typedef struct {
  size_t  n_inputs;
  int32_t input_offset[QS_ENGINE_MAX_INPUTS];      /* -zero point */
  int32_t input_multiplier[QS_ENGINE_MAX_INPUTS];  /* Q0.31 */
  int32_t input_shift[QS_ENGINE_MAX_INPUTS];       /* right shift, >= 0 */
  int32_t input_sign[QS_ENGINE_MAX_INPUTS];        /* +1, or -1 for Subtract's second input */
  int32_t left_shift;                              /* 20, TFLite's headroom for 8-bit inputs */
  int32_t output_multiplier;
  int32_t output_right_shift;
  int32_t output_left_shift;
  int32_t output_offset;                           /* +zero point */
  int32_t act_min, act_max;
} QsAddParams;

/* false when a scale is not positive and finite, a zero point or the
 * act_min..act_max range is outside 0..255, or @n_inputs is out of range
 * (Subtract takes exactly 2). The Mul and rescale inits check the same. */
bool qs_add_params_init (size_t         n_inputs,
                         const double  *input_scales,
                         const int32_t *input_zeros,
                         bool           subtract,
                         double         output_scale,
                         int32_t        output_zero,
                         int32_t        act_min,
                         int32_t        act_max,
                         QsAddParams   *params);

typedef void (*QsAddFunc) (const QsAddParams    *params,
                           const uint8_t *const *inputs,
                           uint8_t              *out,
                           size_t                n);

void qs_add_u8_scalar (const QsAddParams *params, const uint8_t *const *inputs, uint8_t *out, size_t n);

/* Input @j's term of the sum for each of its 256 codes, its sign (Subtract)
 * included: a code's term depends on nothing else, so a vector kernel can
 * look the terms up and requantize only the sum. */
void qs_add_input_terms (const QsAddParams *params, size_t j, int32_t terms[256]);

/* ---- product of two inputs (Multiply), with a broadcast second input -------------- */

/* out[i] = clamp (output_zero + requantize ((a[i] - zero_a) * (b[i % b_len] - zero_b),
 *                                           scale_a * scale_b / scale_out), act_min, act_max):
 * @b_len equals @n for two inputs of one shape, or is the channel count
 * when @b is one pixel broadcast over @a's H x W (squeeze-and-excitation);
 * @n is a multiple of @b_len. */
typedef struct {
  int32_t a_offset;
  int32_t b_offset;
  int32_t output_multiplier;
  int32_t output_right_shift;
  int32_t output_left_shift;
  int32_t output_offset;
  int32_t act_min, act_max;
} QsMulParams;

bool qs_mul_params_init (double       scale_a,
                         int32_t      zero_a,
                         double       scale_b,
                         int32_t      zero_b,
                         double       output_scale,
                         int32_t      output_zero,
                         int32_t      act_min,
                         int32_t      act_max,
                         QsMulParams *params);

typedef void (*QsMulFunc) (const QsMulParams *params,
                           const uint8_t     *a,
                           const uint8_t     *b,
                           size_t             b_len,
                           uint8_t           *out,
                           size_t             n);

void qs_mul_u8_scalar (const QsMulParams *params, const uint8_t *a, const uint8_t *b, size_t b_len,
                       uint8_t *out, size_t n);

/* ---- rescaling between two quantizations (Concatenate, Maximum) ------------------- */

/* out = clamp (output_zero + requantize (q - input_zero, input_scale / output_scale), 0, 255);
 * an identity (equal scales and zeros) is a copy. */
typedef struct {
  int32_t input_offset;
  int32_t multiplier;
  int32_t right_shift;
  int32_t left_shift;
  int32_t output_offset;
  bool    identity;
} QsRescaleParams;

bool qs_rescale_params_init (double           input_scale,
                             int32_t          input_zero,
                             double           output_scale,
                             int32_t          output_zero,
                             QsRescaleParams *params);

/* @rows rows of @cols codes: row r is read at in + r * in_stride and
 * written at out + r * out_stride, so Concatenate writes each input's
 * channels into its slice of every output pixel. */
typedef void (*QsRescaleFunc) (const QsRescaleParams *params,
                               const uint8_t         *in,
                               size_t                 rows,
                               size_t                 cols,
                               size_t                 in_stride,
                               uint8_t               *out,
                               size_t                 out_stride);

/* The min and max of @v's @n floats, folded into *@lo and *@hi (the
 * ranges seen so far; start them at +inf and -inf): lo = x < lo ? x : lo
 * for each x, so NaN never replaces a value. The vector variants keep a
 * min and max per lane and merge them at the end: the same values, only
 * the sign of a zero extreme may differ where -0.0 and 0.0 both occur
 * (calibration adds 0.0 to its ranges, which makes that +0.0). */
typedef void (*QsRangeFunc) (const float *v,
                             size_t       n,
                             float       *lo,
                             float       *hi);

void qs_range_f32_scalar (const float *v, size_t n, float *lo, float *hi);

/* ReLU on codes: out[i] = in[i] < lo ? lo : (in[i] > hi ? hi : in[i]),
 * with @lo <= @hi (the codes of 0.0 and of the cap); @in and @out may be
 * the same buffer. */
typedef void (*QsClampFunc) (uint8_t        lo,
                             uint8_t        hi,
                             const uint8_t *in,
                             uint8_t       *out,
                             size_t         n);

void qs_clamp_u8_scalar (uint8_t lo, uint8_t hi, const uint8_t *in, uint8_t *out, size_t n);

void qs_rescale_u8_scalar (const QsRescaleParams *params, const uint8_t *in, size_t rows, size_t cols,
                           size_t in_stride, uint8_t *out, size_t out_stride);

#if defined(__x86_64__) || defined(_M_X64)
/* The vector variants, bit for bit the scalar ones (qs-dispatch.c picks). */
void qs_lut_u8_avx2       (const uint8_t table[256], const uint8_t *in, uint8_t *out, size_t n);
void qs_lut_u8_avx512vbmi (const uint8_t table[256], const uint8_t *in, uint8_t *out, size_t n);
void qs_add_u8_avx2   (const QsAddParams *params, const uint8_t *const *inputs, uint8_t *out,
                       size_t n);
void qs_add_u8_avx512 (const QsAddParams *params, const uint8_t *const *inputs, uint8_t *out,
                       size_t n);
void qs_add_u8_avx512vbmi (const QsAddParams *params, const uint8_t *const *inputs, uint8_t *out,
                           size_t n);
void qs_mul_u8_avx2   (const QsMulParams *params, const uint8_t *a, const uint8_t *b, size_t b_len,
                       uint8_t *out, size_t n);
void qs_mul_u8_avx512 (const QsMulParams *params, const uint8_t *a, const uint8_t *b, size_t b_len,
                       uint8_t *out, size_t n);
void qs_range_f32_avx2   (const float *v, size_t n, float *lo, float *hi);
void qs_range_f32_avx512 (const float *v, size_t n, float *lo, float *hi);
void qs_clamp_u8_avx2   (uint8_t lo, uint8_t hi, const uint8_t *in, uint8_t *out, size_t n);
void qs_clamp_u8_avx512 (uint8_t lo, uint8_t hi, const uint8_t *in, uint8_t *out, size_t n);
void qs_rescale_u8_avx2   (const QsRescaleParams *params, const uint8_t *in, size_t rows,
                           size_t cols, size_t in_stride, uint8_t *out, size_t out_stride);
void qs_rescale_u8_avx512 (const QsRescaleParams *params, const uint8_t *in, size_t rows,
                           size_t cols, size_t in_stride, uint8_t *out, size_t out_stride);
#endif

/* The ISA's variants (the scalar ones where an ISA has none). */
typedef struct {
  QsLutFunc     lut;
  QsAddFunc     add;
  QsMulFunc     mul;
  QsRescaleFunc rescale;
  QsRangeFunc   range;
  QsClampFunc   clamp;
} QsGraphKernels;

const QsGraphKernels *qs_graph_kernels_get (QsIsa isa);

#ifdef __cplusplus
}
#endif
