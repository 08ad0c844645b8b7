/* qs-eltwise-scalar.c: the reference merges (Add, Subtract, Average, Multiply) and rescaling on uint8 codes.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * TFLite's reference integer kernels (tensorflow/lite/kernels/internal/
 * reference/add.h, mul.h, requantize.h) with their Prepare steps
 * (kernels/add.cc, mul.cc): every rescaling is MultiplyByQuantizedMultiplier,
 * "double rounding" as in qs-requantize-scalar.c. The vector variants give
 * the same bits (tests/engine/test-graph-kernels.c), and
 * tests/reference/make_graph_kernel_golden.py recomputes these rules with
 * Python integers.
 */
#include "qs-graph-kernels.h"

#include <assert.h>
#include <math.h>
#include <string.h>

/* TFLite's left shift for 8-bit Add: (q - zero) << 20 keeps 11 bits of
 * headroom above the 9-bit difference, and since every input multiplier is
 * at most 1/2, even 16 scaled inputs of 255 << 19 sum within int32. */
#define ADD_LEFT_SHIFT 20

static bool
scale_ok (double scale)
{
  return scale > 0.0 && isfinite (scale);
}

static bool
code_ok (int32_t code)
{
  return code >= 0 && code <= 255;
}

static bool
clamp_ok (int32_t act_min,
          int32_t act_max)
{
  return code_ok (act_min) && code_ok (act_max) && act_min <= act_max;
}

/* MultiplyByQuantizedMultiplier, its left shift saturating as the
 * engine's requantization does (TFLite leaves the overflow undefined). */
static inline int32_t
multiply_by_quantized_multiplier (int32_t x,
                                  int32_t multiplier,
                                  int32_t left_shift,
                                  int32_t right_shift)
{
  if (multiplier == 0)
    return 0;
  if (left_shift > 0)
    {
      int64_t shifted = (int64_t) x * ((int64_t) 1 << left_shift);
      x = shifted > INT32_MAX ? INT32_MAX : shifted < INT32_MIN ? INT32_MIN : (int32_t) shifted;
    }
  return qs_rounding_divide_by_pot (qs_srdhm (x, multiplier), right_shift);
}

static inline uint8_t
clamp_code (int32_t y,
            int32_t lo,
            int32_t hi)
{
  return (uint8_t) (y < lo ? lo : y > hi ? hi : y);
}

bool
qs_add_params_init (size_t         n_inputs,
                    const double  *input_scales,
                    const int32_t *input_zeros,
                    bool           subtract,
                    double         output_scale,
                    int32_t        output_zero,
                    int32_t        act_min,
                    int32_t        act_max,
                    QsAddParams   *params)
{
  double twice_max_scale = 0.0;
  int32_t unused_left_shift;

  assert (params != NULL);
  if (n_inputs < 1 || n_inputs > QS_ENGINE_MAX_INPUTS || (subtract && n_inputs != 2))
    return false;
  if (!scale_ok (output_scale) || !code_ok (output_zero) || !clamp_ok (act_min, act_max))
    return false;
  for (size_t i = 0; i < n_inputs; i++)
    {
      if (!scale_ok (input_scales[i]) || !code_ok (input_zeros[i]))
        return false;
      twice_max_scale = fmax (twice_max_scale, 2.0 * input_scales[i]);
    }
  if (!isfinite (twice_max_scale))
    return false;

  memset (params, 0, sizeof *params);
  params->n_inputs = n_inputs;
  params->left_shift = ADD_LEFT_SHIFT;
  for (size_t i = 0; i < n_inputs; i++)
    {
      params->input_offset[i] = -input_zeros[i];
      params->input_sign[i] = subtract && i == 1 ? -1 : 1;
      /* At most 1/2, so the left shift this returns is always 0. */
      qs_quantize_multiplier (input_scales[i] / twice_max_scale, &params->input_multiplier[i],
                              &params->input_shift[i], &unused_left_shift);
    }
  qs_quantize_multiplier (twice_max_scale / ((double) (1 << ADD_LEFT_SHIFT) * output_scale),
                          &params->output_multiplier, &params->output_right_shift,
                          &params->output_left_shift);
  params->output_offset = output_zero;
  params->act_min = act_min;
  params->act_max = act_max;
  return true;
}

/* Input @j's term of the sum for its code @q, sign included. */
static inline int32_t
add_term (const QsAddParams *p,
          size_t             j,
          uint8_t            q)
{
  int32_t shifted = (q + p->input_offset[j]) * (1 << p->left_shift);

  return p->input_sign[j] * multiply_by_quantized_multiplier (shifted, p->input_multiplier[j], 0,
                                                              p->input_shift[j]);
}

void
qs_add_input_terms (const QsAddParams *p,
                    size_t             j,
                    int32_t            terms[256])
{
  assert (j < p->n_inputs);
  for (int q = 0; q < 256; q++)
    terms[q] = add_term (p, j, (uint8_t) q);
}

void
qs_add_u8_scalar (const QsAddParams    *p,
                  const uint8_t *const *inputs,
                  uint8_t              *out,
                  size_t                n)
{
  for (size_t i = 0; i < n; i++)
    {
      int32_t sum = 0;

      for (size_t j = 0; j < p->n_inputs; j++)
        sum += add_term (p, j, inputs[j][i]);
      out[i] = clamp_code (multiply_by_quantized_multiplier (sum, p->output_multiplier,
                                                             p->output_left_shift,
                                                             p->output_right_shift)
                           + p->output_offset, p->act_min, p->act_max);
    }
}

bool
qs_mul_params_init (double       scale_a,
                    int32_t      zero_a,
                    double       scale_b,
                    int32_t      zero_b,
                    double       output_scale,
                    int32_t      output_zero,
                    int32_t      act_min,
                    int32_t      act_max,
                    QsMulParams *params)
{
  assert (params != NULL);
  if (!scale_ok (scale_a) || !scale_ok (scale_b) || !scale_ok (output_scale))
    return false;
  if (!code_ok (zero_a) || !code_ok (zero_b) || !code_ok (output_zero)
      || !clamp_ok (act_min, act_max))
    return false;

  memset (params, 0, sizeof *params);
  params->a_offset = -zero_a;
  params->b_offset = -zero_b;
  qs_quantize_multiplier (scale_a * scale_b / output_scale, &params->output_multiplier,
                          &params->output_right_shift, &params->output_left_shift);
  params->output_offset = output_zero;
  params->act_min = act_min;
  params->act_max = act_max;
  return true;
}

void
qs_mul_u8_scalar (const QsMulParams *p,
                  const uint8_t     *a,
                  const uint8_t     *b,
                  size_t             b_len,
                  uint8_t           *out,
                  size_t             n)
{
  assert (n == 0 || (b_len > 0 && n % b_len == 0));

  for (size_t i = 0; i < n; i += b_len)
    for (size_t j = 0; j < b_len; j++)
      {
        int32_t product = (a[i + j] + p->a_offset) * (b[j] + p->b_offset);

        out[i + j] = clamp_code (multiply_by_quantized_multiplier (product, p->output_multiplier,
                                                                   p->output_left_shift,
                                                                   p->output_right_shift)
                                 + p->output_offset, p->act_min, p->act_max);
      }
}

bool
qs_rescale_params_init (double           input_scale,
                        int32_t          input_zero,
                        double           output_scale,
                        int32_t          output_zero,
                        QsRescaleParams *params)
{
  assert (params != NULL);
  if (!scale_ok (input_scale) || !scale_ok (output_scale)
      || !code_ok (input_zero) || !code_ok (output_zero))
    return false;

  memset (params, 0, sizeof *params);
  params->input_offset = -input_zero;
  qs_quantize_multiplier (input_scale / output_scale, &params->multiplier,
                          &params->right_shift, &params->left_shift);
  /* Headroom, as TFLite's Add takes it: a code difference is at most 255,
   * so without it SRDHM would already round the product to a whole code
   * and the right shift round a second time, up to 0.75 of a code off.
   * Twenty more bits each way leave one rounding that matters; shifts stay
   * within 31 bits (a ratio that large saturates the code either way). */
  {
    int32_t headroom = 31 - params->right_shift - params->left_shift;

    headroom = headroom < 20 ? headroom : 20;
    params->left_shift += headroom;
    params->right_shift += headroom;
  }
  params->output_offset = output_zero;
  params->identity = input_scale == output_scale && input_zero == output_zero;
  return true;
}

void
qs_rescale_u8_scalar (const QsRescaleParams *p,
                      const uint8_t         *in,
                      size_t                 rows,
                      size_t                 cols,
                      size_t                 in_stride,
                      uint8_t               *out,
                      size_t                 out_stride)
{
  for (size_t r = 0; r < rows; r++)
    {
      const uint8_t *src = in + r * in_stride;
      uint8_t *dst = out + r * out_stride;

      if (p->identity)
        {
          memmove (dst, src, cols);
          continue;
        }
      for (size_t c = 0; c < cols; c++)
        dst[c] = clamp_code (multiply_by_quantized_multiplier (src[c] + p->input_offset,
                                                               p->multiplier, p->left_shift,
                                                               p->right_shift)
                             + p->output_offset, 0, 255);
    }
}

void
qs_range_f32_scalar (const float *v,
                     size_t       n,
                     float       *lo,
                     float       *hi)
{
  float a = *lo, b = *hi;

  for (size_t i = 0; i < n; i++)
    {
      a = v[i] < a ? v[i] : a;
      b = v[i] > b ? v[i] : b;
    }
  *lo = a;
  *hi = b;
}

void
qs_clamp_u8_scalar (uint8_t        lo,
                    uint8_t        hi,
                    const uint8_t *in,
                    uint8_t       *out,
                    size_t         n)
{
  for (size_t i = 0; i < n; i++)
    out[i] = in[i] < lo ? lo : (in[i] > hi ? hi : in[i]);
}
