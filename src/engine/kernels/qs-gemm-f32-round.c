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
 */
#include "qs-kernels.h"

#include <string.h>

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
    default:
      memcpy (dst, src, count * sizeof *dst);
      break;
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
          run (rounding, src + q * src_bw, c, valid, dst + q * bw);
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
