/* qs-block.h: group-wise integer and block formats (MX, NVFP4, NF4): quantizer, fused pass, inspector.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Blocks run along the reduction axis (docs/block-formats.md): with the
 * tensor split as @layout (outer, channels, inner) around its output-channel
 * axis, channel c's elements taken in row-major order of the other axes form
 * its run of outer * inner elements, and a block is block_size consecutive
 * elements of a run; the last block of a run may be short. A per-tensor
 * layout (biases, scalars) is one run. Blocks are numbered channel-major:
 * block = c * blocks_per_run + g.
 */
#pragma once

#include "qs-analysis.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The geometry of the blocks of a layout. */
typedef struct {
  size_t block_size;
  size_t run_length;      /* outer * inner */
  size_t blocks_per_run;  /* ceil (run_length / block_size) */
  size_t block_count;     /* channels * blocks_per_run */
} QsBlockGeometry;

QsStatus qs_block_geometry (const QsScheme        *scheme,
                            const QsChannelLayout *layout,
                            QsBlockGeometry       *geometry);

/* The honest size: every element at its bit width plus every scale (and
 * zero point) the format stores, in bits. */
uint64_t qs_block_size_bits (const QsScheme *scheme,
                             uint64_t        count,
                             uint64_t        block_count);

#define QS_BLOCK_WORST 10

typedef struct {
  size_t channel;
  size_t offset;          /* of the block's first element within its run */
  size_t length;
  double mse;
  double max_abs_error;
} QsBlockError;

/* What the block inspector shows; allocated by the pass, owned by QsAnalysis. */
struct _QsBlockInfo {
  size_t        block_size;
  uint64_t      block_count;
  double        tensor_scale;       /* NVFP4's float32 per-tensor scale; NaN for other formats */
  /* Histogram of log2 (block scale): bin i covers [scale_log2_lo + i * w, + w)
   * with w = scale_bin_width (1 for the powers of two of E8M0, 0.25 otherwise).
   * Blocks whose scale is 0 (all-zero blocks, NVFP4 underflow) are counted apart. */
  double        scale_log2_lo;
  double        scale_bin_width;
  int           scale_bins;
  uint64_t     *scale_counts;       /* [scale_bins] */
  uint64_t      zero_scale_blocks;
  double        sqnr_db;            /* with the stored (rounded) scales */
  double        sqnr_exact_scale_db;/* the same elements with each block's exact float scale */
  int           worst_count;
  QsBlockError  worst[QS_BLOCK_WORST]; /* largest mse first */
};
typedef struct _QsBlockInfo QsBlockInfo;

void qs_block_info_free (QsBlockInfo *info);

/* qs_analyze() for a blockwise scheme (qs_scheme_is_blockwise()): @layout is
 * the tensor's channel layout (the run structure above). @params gets one
 * channel: scale 1 (NVFP4: the tensor scale), the element code range.
 * @analysis->blocks is filled. */
QsStatus qs_block_analyze (const QsScheme        *scheme,
                           const QsChannelLayout *layout,
                           const float           *data,
                           int                    n_threads,
                           QsQuantParams         *params,
                           QsAnalysis            *analysis);

/* The codes and scales a blockwise scheme stores, for export. @codes gets
 * layout->count codes in tensor order: integer codes for int groups and
 * MXINT8 (signed), the element bit pattern for the float formats (sign bit
 * on top), the level index 0..15 for NF4. @scales gets block_count float32
 * scales (the decoded scale: a power of two for MX, the E4M3 value times
 * the tensor scale for NVFP4, the absmax for NF4); @scale_codes, when not
 * NULL, the stored scale byte (E8M0 for MX, E4M3 for NVFP4; 0 otherwise);
 * @zero_points, when not NULL, the integer zero point per block (int groups).
 * @tensor_scale gets NVFP4's per-tensor scale (1 otherwise).
 * Reconstruction: int groups scale * (code - zero_point); MX and NVFP4
 * decode (code) * scale; MXINT8 code / 64 * scale; NF4 level[code] * scale. */
QsStatus qs_block_quantize (const QsScheme        *scheme,
                            const QsChannelLayout *layout,
                            const float           *data,
                            int32_t               *codes,
                            float                 *scales,
                            uint8_t               *scale_codes,
                            int32_t               *zero_points,
                            float                 *tensor_scale);

/* qs_block_quantize of a part of a tensor (a group of its channels, say)
 * whose NVFP4 per-tensor scale comes from @tensor_amax, the whole
 * tensor's largest finite magnitude, not from the part's own range: the
 * part's codes and scales are then the whole tensor's, bit for bit. Only
 * NVFP4 has a tensor scale (QS_STATUS_INVALID_ARGUMENT for other formats,
 * whose parts need no such thing: qs_block_quantize them, and for a
 * @tensor_amax that is negative or not finite); a part with no finite
 * value is quantized too (its codes are 0.0's). */
QsStatus qs_block_quantize_part (const QsScheme        *scheme,
                                 const QsChannelLayout *layout,
                                 const float           *data,
                                 float                  tensor_amax,
                                 int32_t               *codes,
                                 float                 *scales,
                                 uint8_t               *scale_codes,
                                 int32_t               *zero_points);

/* The reconstruction of @codes (tensor order) from the blocks' @scales and
 * @zero_points (NULL for block formats), by the rule above, into @out. */
QsStatus qs_block_dequantize (const QsScheme        *scheme,
                              const QsChannelLayout *layout,
                              const int32_t         *codes,
                              const float           *scales,
                              const int32_t         *zero_points,
                              float                 *out);

/* The unscaled value element code @code of a block format stands for
 * (QS_FORMAT_MXINT8: code / 64; NF4: the level); 0 for QS_FORMAT_INT. */
float qs_block_element_value (QsFormat format,
                              int32_t  code);

/* One value in a block of a float block format (MX float, NVFP4) whose
 * largest magnitude is the value's, as qs_block_quantize encodes such a
 * block: what the number inspector and `quantscope-cli number --block`
 * show beside the value's plain element encoding. */
typedef struct {
  float   scale;          /* the block's decoded scale (NVFP4: E4M3 times the tensor scale) */
  uint8_t scale_code;     /* the stored byte: E8M0 for MX, E4M3 for NVFP4 */
  float   tensor_scale;   /* NVFP4's per-tensor scale; 1 otherwise */
  float   element;        /* the value over the scale, as the quantizer computes it */
  int32_t code;           /* the element's bit pattern, sign bit on top */
  float   reconstruction; /* what the code stands for: its value times the scale */
} QsBlockValueCode;

/* Encodes @value under @scheme's block float format. NVFP4 uses
 * @tensor_scale when it is positive and finite, otherwise the one of a
 * tensor whose largest magnitude is the value's. QS_STATUS_INVALID_ARGUMENT
 * for other formats, QS_STATUS_NO_FINITE_VALUES for a NaN or infinity. */
QsStatus qs_block_encode_value (const QsScheme   *scheme,
                                float             value,
                                float             tensor_scale,
                                QsBlockValueCode *out);

/* The value NF4 code @index (0..15) stands for, before scaling. */
float qs_nf4_level (int index);

typedef struct {
  int    group_size;
  double bits_per_weight;
  double sqnr_db;         /* +inf when exact */
  double mse;
} QsBlockSweepPoint;

/* The block-size sweep: @scheme with each of @sizes as its group size, on
 * the same data; fills @points[n_sizes]. */
QsStatus qs_block_sweep (const QsScheme        *scheme,
                         const QsChannelLayout *layout,
                         const float           *data,
                         int                    n_threads,
                         const int             *sizes,
                         size_t                 n_sizes,
                         QsBlockSweepPoint     *points);

#ifdef __cplusplus
}
#endif
