/* qs-gemm-f32-round.c: columns of a packed float32 GEMM kernel rounded to a float format, packed on their own.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A layer whose weights are in a float format (fp16, bf16, FP8) runs the
 * float32 GEMM on its rounded weights. Keeping those as a second packed
 * float32 kernel beside the model's own doubled the weights' memory
 * (VGG16: 1.1 GB for 553 MB of weights); instead the engine rounds the
 * model's packed kernel as the layer runs, a block of output channels at
 * a time, into a buffer the GEMM reads. Rounding is per element what
 * quantizing then dequantizing does (qs_quantize_channel, then
 * qs_dequantize_code), so the bits are those of the copy it replaces.
 * The block formats on the float path (MXFP8, NF4) round the same way
 * with a scale per block of k rows, the one qs_block_quantize gave the
 * block (MX: 2^e, whose inverse is exact; NF4: the absmax, and the
 * quantizer's own 1 / absmax): their reconstruction, bit for bit.
 */
#include "qs-gemm-f32-round-inline.h"

#include <string.h>

#include "quant/qs-block.h"
#include "quant/qs-float-format.h"

/* @count weights of channels [c, c + count), contiguous in @src: the
 * reference, one call of the quantizer's encoder and decoder each. */
static void
round_run (const QsFloatRounding *rounding,
           const float           *src,
           size_t                 c,
           size_t                 count,
           float                 *dst)
{
  const float *inv = rounding->inv_scale + c, *scale = rounding->scale + c;

  switch (rounding->format)
    {
    case QS_FORMAT_FP16:
      for (size_t j = 0; j < count; j++)
        dst[j] = qs_fp16_to_float (qs_float_to_fp16 (src[j] * inv[j])) * scale[j];
      break;
    case QS_FORMAT_BF16:
      for (size_t j = 0; j < count; j++)
        dst[j] = qs_bf16_to_float (qs_float_to_bf16 (src[j] * inv[j])) * scale[j];
      break;
    case QS_FORMAT_FP8_E4M3:
      for (size_t j = 0; j < count; j++)
        dst[j] = qs_fp8_e4m3_to_float (qs_float_to_fp8_e4m3 (src[j] * inv[j])) * scale[j];
      break;
    case QS_FORMAT_FP8_E5M2:
      for (size_t j = 0; j < count; j++)
        dst[j] = qs_fp8_e5m2_to_float (qs_float_to_fp8_e5m2 (src[j] * inv[j])) * scale[j];
      break;
    case QS_FORMAT_NF4:
      for (size_t j = 0; j < count; j++)
        dst[j] = qs_round_nf4 (rounding->nf4, src[j] * inv[j]) * scale[j];
      break;
    default:
      qs_round_int_groups (rounding, src, c, count, dst);
      break;
    }
}

/* @rounding's factors for kernel row @row (QsFloatRounding.block_rows). */
static QsFloatRounding
rounding_row (const QsFloatRounding *rounding,
              size_t                 row)
{
  QsFloatRounding r = *rounding;

  if (r.block_rows > 0)
    {
      size_t offset = row / r.block_rows * r.block_stride;

      r.scale += offset;
      r.inv_scale += offset;
      if (r.zero_point != NULL)
        r.zero_point += offset;
    }
  return r;
}

void
qs_float_round_row (const QsFloatRounding *rounding,
                    size_t                 row,
                    const float           *src,
                    size_t                 count,
                    float                 *dst)
{
  QsFloatRounding r = rounding_row (rounding, row);

  round_run (&r, src, 0, count, dst);
}

/* NF4's code of @v (in [-1, 1]) as the quantizer gives it: the first
 * element of a block whose absmax is 1, so the element is scaled by 1. */
static int32_t
nf4_code (const QsScheme *scheme,
          float           v)
{
  QsChannelLayout layout = { 2, 2, 1, 1 };
  float block[2] = { v, 1.0f }, scale;
  int32_t codes[2] = { 0 };

  qs_block_quantize (scheme, &layout, block, codes, &scale, NULL, NULL, NULL);
  return codes[0];
}

/* Floats of [-1, 1] as integers of the same order, and back. */
static int64_t
order_key (float v)
{
  uint32_t bits = f32_bits (v);

  return bits & QS_ROUND_SIGN ? -(int64_t) (bits & F32_ABS_MASK) : (int64_t) bits;
}

static float
from_order_key (int64_t key)
{
  return f32_from_bits (key < 0 ? QS_ROUND_SIGN | (uint32_t) -key : (uint32_t) key);
}

/* Threshold i is the largest float of [-1, 1] the quantizer codes i or
 * lower (its codes rise with the value), found by bisection: then v
 * codes to the count of thresholds below it, for every v. */
void
qs_nf4_table_init (QsNf4Table *nf4)
{
  QsScheme scheme;

  qs_scheme_init_default (&scheme);
  scheme.format = QS_FORMAT_NF4;
  for (int i = 0; i < 16; i++)
    nf4->levels[i] = qs_nf4_level (i);
  for (int i = 0; i < 15; i++)
    {
      int64_t lo = order_key (-1.0f), hi = order_key (1.0f);

      while (hi - lo > 1)
        {
          int64_t mid = lo + (hi - lo) / 2;

          if (nf4_code (&scheme, from_order_key (mid)) <= i)
            lo = mid;
          else
            hi = mid;
        }
      nf4->thresholds[i] = from_order_key (lo);
    }
}

void
qs_float_rounding_block_factors (const float   *scales,
                                 const int32_t *zero_points,
                                 size_t         c0,
                                 size_t         nc,
                                 size_t         n,
                                 size_t         blocks_per_run,
                                 float         *scale,
                                 float         *inv_scale,
                                 float         *zero_point)
{
  for (size_t c = 0; c < nc; c++)
    for (size_t g = 0; g < blocks_per_run; g++)
      {
        size_t b = c * blocks_per_run + g, i = g * n + c0 + c;
        float s = scales[b];

        scale[i] = s;
        inv_scale[i] = s != 0.0f || zero_points != NULL ? 1.0f / s : 0.0f;
        if (zero_points != NULL)
          zero_point[i] = (float) zero_points[b];
      }
}

void
qs_gemm_f32_round_panels (size_t                 n,
                          size_t                 k,
                          const float           *packed,
                          size_t                 panel,
                          size_t                 align,
                          const QsFloatRounding *rounding,
                          QsFloatRoundRunFunc    run,
                          size_t                 c0,
                          size_t                 nb,
                          float                 *out)
{
  size_t width = (n + align - 1) / align * align, sub_width = (nb + align - 1) / align * align;
  size_t src_panel = panel > 0 ? panel : width, dst_panel = panel > 0 ? panel : sub_width;

  /* c0 starts a panel, so each panel of the block lies within one panel
   * of the kernel, as wide (the last ones both narrowed alike). */
  for (size_t d0 = 0; d0 < sub_width; d0 += dst_panel)
    {
      size_t bw = sub_width - d0 < dst_panel ? sub_width - d0 : dst_panel;
      size_t c = c0 + d0, p0 = c / src_panel * src_panel;
      size_t src_bw = width - p0 < src_panel ? width - p0 : src_panel;
      size_t valid = c < n ? (n - c < bw ? n - c : bw) : 0;
      const float *src = packed + p0 * k + (c - p0);
      float *dst = out + d0 * k;

      for (size_t q = 0; q < k; q++)
        {
          QsFloatRounding row = rounding_row (rounding, q);

          run (&row, src + q * src_bw, c, valid, dst + q * bw);
          memset (dst + q * bw + valid, 0, (bw - valid) * sizeof *dst);
        }
    }
}

/* The scalar kernel's W is [k][n]: one panel as wide as the kernel. The
 * vector builds' panels (qs_gemm_f32_pack_avx2, _avx512) round with the
 * inline rounding compiled for their ISA. */
void
qs_gemm_f32_round_columns_scalar (size_t                 n,
                                  size_t                 k,
                                  const float           *packed,
                                  const QsFloatRounding *rounding,
                                  size_t                 c0,
                                  size_t                 nb,
                                  float                 *out)
{
  qs_gemm_f32_round_panels (n, k, packed, 0, 1, rounding, round_run, c0, nb, out);
}

#ifdef QS_ENGINE_X86_KERNELS
void
qs_gemm_f32_round_columns_avx2 (size_t                 n,
                                size_t                 k,
                                const float           *packed,
                                const QsFloatRounding *rounding,
                                size_t                 c0,
                                size_t                 nb,
                                float                 *out)
{
  qs_gemm_f32_round_panels (n, k, packed, 16, 16, rounding, qs_float_round_run_avx2, c0, nb, out);
}

void
qs_gemm_f32_round_columns_avx512 (size_t                 n,
                                  size_t                 k,
                                  const float           *packed,
                                  const QsFloatRounding *rounding,
                                  size_t                 c0,
                                  size_t                 nb,
                                  float                 *out)
{
  qs_gemm_f32_round_panels (n, k, packed, 32, 16, rounding, qs_float_round_run_avx512, c0, nb, out);
}
#endif
