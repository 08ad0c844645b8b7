/* qs-engine-quantize.c: weights under a scheme per layer and every value's quantizer, from a calibration.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The arithmetic (Jacob et al. 2018, with the zero points made explicit):
 * with activation real = s_a * (q_a - z_a) and weight real = s_w * (q_w - z_w),
 * a layer's sum over K taps is
 *
 *   sum (q_a - z_a)(q_w - z_w) = sum q_a q_w - z_w sum q_a - z_a sum q_w + K z_a z_w.
 *
 * The kernels compute the raw sum of products (uint8 x int8, int32); the
 * third and fourth terms depend only on the output channel and go into the
 * int32 bias; the second (the row sum) is only needed for asymmetric
 * weights, whose nonzero zero point the requantization subtracts exactly.
 *
 * With zero-point nudging off (the scheme's nudge_zero false), the zero
 * points are fractional: z = z_int + r with z_int the code the mapping
 * gives 0.0 (what padding is filled with, so a padded pixel stands for
 * -s_a * r_a, not 0.0, as in a real deployment of such a mapping). The
 * fractional parts add -r_a * sum (q_w - z_w) (a per-channel constant,
 * rounded into the bias) and -r_w * sum (q_a - z_a_int) (per output pixel,
 * in Q16 fixed point). Depthwise layers with a fractional weight zero point
 * run on Q8-scaled weights in the 64-bit path instead.
 *
 * Biases are int32 with scale s_a * s_w[c] (rounded half away from zero,
 * as TFLite); the rescale s_a * s_w[c] / s_out is a Q0.31 multiplier and a
 * shift per channel (qs_quantize_multiplier). With float_logits the last
 * weighted layer keeps its sums and returns s_a * s_w[c] * total as float
 * logits instead of uint8 codes.
 */
#include "qs-engine-private.h"

#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quant/qs-checked.h"
#include "quant/qs-block.h"
#include "quant/qs-block-codes.h"
#include "quant/qs-range.h"

/* Beyond this many taps the int8 path's int32 totals could wrap (the
 * bias, weight zero point and row sum terms each reach 255 * 128 a tap);
 * such layers sum in 64 bits. */
#define QS_MAX_INT32_K 16384
/* Up to this many taps the int8 GEMM's raw sums stay exact in int32:
 * every uint8 x int8 product is at most 255 * 128 = 32,640 in magnitude,
 * so every partial sum a kernel forms is within 65,536 * 32,640 < 2^31.
 * 8-bit weights of a layer past QS_MAX_INT32_K taps keep the int8 GEMM
 * (a quarter of the int16 copy's memory on VNNI: VGG16's first Dense
 * layer is 103 MB instead of 205 MB) and its sums are widened to the
 * 64-bit totals: the int16 path's totals exactly. */
#define QS_MAX_INT8_WIDE_K 65536

void
qs_activation_scheme_init_default (QsActivationScheme *scheme)
{
  scheme->range_method = QS_RANGE_MINMAX;
  scheme->percentile = 99.99;
  scheme->nudge_zero = true;
  scheme->rounding = QS_ROUNDING_HALF_EVEN;
  scheme->float_logits = false;
}

void
qs_engine_set_message (char       *message,
                       size_t      size,
                       const char *format,
                       ...)
{
  va_list args;

  if (message == NULL || size == 0)
    return;
  va_start (args, format);
  vsnprintf (message, size, format, args);
  va_end (args);
}

/* A failure's message, unless a more precise one was set already. */
void
qs_engine_explain_failure (QsEngineStatus  status,
                           char           *message,
                           size_t          message_size)
{
  if (status == QS_ENGINE_CANCELLED)
    qs_engine_set_message (message, message_size, "cancelled");
  else if (message != NULL && message_size > 0 && message[0] == '\0')
    qs_engine_set_message (message, message_size, "%s", qs_engine_status_to_string (status));
}

static void
quant_layer_clear (QsQuantLayer *q)
{
  free (q->bias32);
  free (q->bias64);
  free (q->multiplier);
  free (q->right_shift);
  free (q->left_shift);
  free (q->out_dequant);
  free (q->tables);
  if (q->borrowed_weights)
    return;
  free (q->packed_alloc != NULL ? q->packed_alloc : q->packed);
  free (q->packed_c1);
  free (q->w16);
  free (q->dw32);
  free (q->weight_zp);
  free (q->frac_q16);
  free (q->fake_packed);
  free (q->fake_weights);
  free (q->round_scale);
  free (q->round_inv_scale);
  free (q->round_nf4);
  free (q->round_zero_point);
  free (q->group_codes);
  free (q->group_codes16);
  free (q->group_zero_points);
  free (q->group_code_sums);
  free (q->group_scales);
  free (q->group_dw);
}

void
qs_quantized_model_free (QsQuantizedModel *qm)
{
  if (qm == NULL)
    return;
  for (size_t i = 0; qm->layers != NULL && i < qm->model->n_layers; i++)
    quant_layer_clear (&qm->layers[i]);
  free (qm->layers);
  free (qm->values);
  qs_quant_params_clear (&qm->input_params);
  free (qm);
}

/* ---- activation quantizers ---------------------------------------------------- */

static void
activation_scheme (const QsActivationScheme *a,
                   QsScheme                 *s)
{
  qs_scheme_init_per_tensor (s);
  s->bits = 8;
  s->is_unsigned = true;
  s->mapping = QS_MAPPING_ASYMMETRIC;
  s->granularity = QS_GRANULARITY_TENSOR;
  s->nudge_zero = a->nudge_zero;
  s->rounding = a->rounding;
}

static int32_t
zero_code (const QsQuantParams *p,
           size_t               channel)
{
  const float zero = 0.0f;
  int32_t code;

  qs_quantize_channel (p, channel, &zero, 1, &code);
  return code;
}

static QsEngineStatus
act_quant_from_range (const QsScheme *scheme,
                      float           lo,
                      float           hi,
                      QsActQuant     *q,
                      QsQuantParams  *keep)
{
  QsQuantParams p;

  if (qs_quant_params_init (&p, 1) != QS_OK)
    return QS_ENGINE_NO_MEMORY;
  if (!isfinite (lo) || !isfinite (hi))
    lo = hi = 0.0f;
  qs_quant_params_set_channel (&p, scheme, 0, lo, hi);
  q->scale = p.scale[0];
  q->zero_point = p.zero_point[0];
  q->zero_code = zero_code (&p, 0);
  if (keep != NULL)
    *keep = p;
  else
    qs_quant_params_clear (&p);
  return QS_ENGINE_OK;
}

/* Output code range of a layer: ReLU floors at the code of 0.0 and caps at
 * the code of its maximum (TFLite's CalculateActivationRangeQuantized). */
static void
activation_codes (const QsEngineLayer *l,
                  const QsActQuant    *out,
                  int32_t             *act_min,
                  int32_t             *act_max)
{
  *act_min = 0;
  *act_max = 255;
  if (l->activation == QS_ACTIVATION_RELU)
    {
      *act_min = out->zero_code > 0 ? out->zero_code : 0;
      if (isfinite (l->activation_max))
        {
          double cap = out->zero_code + nearbyint (l->activation_max / out->scale);

          *act_max = cap < 255.0 ? (int32_t) (cap < *act_min ? *act_min : cap) : 255;
        }
    }
}

/* ---- weights ---------------------------------------------------------------------- */

/* Where a kernel's codes go. */
typedef enum {
  QS_CODES_KERAS = 0,  /* int32, the Keras layout [k][out_c] */
  QS_CODES_T8,         /* int8, [out_c][k]: a GEMM layer's int8 operand before packing */
  QS_CODES_T16,        /* int16, [out_c][k]: its int16 operand */
  QS_CODES_F32_ROUNDED, /* none: a float format's GEMM layer rounds the model's kernel as it runs */
} QsCodeForm;

typedef struct {
  QsQuantParams params;
  int32_t      *codes;      /* QS_CODES_KERAS: the codes, shifted into the container */
  int8_t       *codes8;     /* QS_CODES_T8 */
  int16_t      *codes16;    /* QS_CODES_T16 */
  int64_t      *colsum;     /* [out_c]: each channel's sum of (shifted) codes */
  int32_t      *zero_int;   /* [out_c], shifted */
  double       *zero_frac;  /* [out_c], the (possibly fractional) zero point, shifted */
  double       *scale;      /* [out_c] */
  double        sqnr_db;
} QsWeightQuant;

static void
weight_quant_clear (QsWeightQuant *w)
{
  qs_quant_params_clear (&w->params);
  free (w->codes);
  free (w->codes8);
  free (w->codes16);
  free (w->colsum);
  free (w->zero_int);
  free (w->zero_frac);
  free (w->scale);
}

/* Rows of a kernel quantized at a time: their floats and int32 codes are
 * all the temporary memory quantizing takes, however large the kernel
 * (a 25088 x 4096 Dense layer is 411 MB of floats). */
#define QS_WEIGHT_BLOCK_ELEMENTS ((size_t) 1 << 16)

static QsEngineStatus
engine_status (QsStatus st)
{
  return st == QS_OK ? QS_ENGINE_OK
                     : (st == QS_STATUS_NO_MEMORY ? QS_ENGINE_NO_MEMORY : QS_ENGINE_INVALID_ARGUMENT);
}

static double
sqnr_from_sums (double signal,
                double noise)
{
  return noise > 0.0 ? 10.0 * log10 (signal / noise) : (signal > 0.0 ? INFINITY : NAN);
}

/* Each channel's (or, per tensor, the kernel's) finite range, block by
 * block: min, max and counts add up exactly. */
static QsEngineStatus
kernel_stats_streamed (const QsEngineModel *model,
                       const QsEngineLayer *l,
                       bool                 per_channel,
                       size_t               block_rows,
                       float               *rows_buffer,
                       QsRangeStats        *stats)
{
  size_t n = (size_t) l->out_c, channels = per_channel ? n : 1;
  QsRangeStats *block = calloc (channels, sizeof *block);
  QsStatus st = QS_OK;

  if (block == NULL)
    return QS_ENGINE_NO_MEMORY;
  for (size_t c = 0; c < channels; c++)
    qs_range_stats_init (&stats[c]);
  for (size_t r0 = 0; r0 < l->k && st == QS_OK; r0 += block_rows)
    {
      size_t rows = l->k - r0 < block_rows ? l->k - r0 : block_rows;
      QsChannelLayout layout = per_channel ? (QsChannelLayout) { rows * n, rows, n, 1 }
                                           : qs_channel_layout_per_tensor (rows * n);

      qs_layer_kernel_rows (model, l, r0, rows, rows_buffer);
      st = qs_range_stats_compute (&layout, rows_buffer, 1, block, NULL);
      for (size_t c = 0; st == QS_OK && c < channels; c++)
        qs_range_stats_merge (&stats[c], &block[c]);
    }
  free (block);
  return engine_status (st);
}

/* Values of a kernel held for a range method that looks at all of a
 * channel's values, or for a blockwise scheme: a group of whole channels
 * at a time (VGG16's fc1 in 25 groups). */
#define QS_WEIGHT_GROUP_ELEMENTS ((size_t) 1 << 22)

/* A buffer for a group of @channels channels' 4-byte values (floats or
 * codes). It is allocated past 32 MiB whatever the group, on purpose: glibc raises
 * its mmap threshold to the size of any mapped block freed below 32 MiB,
 * after which every smaller buffer of the run comes from the heap, whose
 * free holes stay resident (16 MiB group buffers cost VGG16's eval 24 MB
 * of peak). Only the pages the group uses become resident. */
static void *
group_buffer (const QsEngineLayer *l,
              size_t               channels)
{
  size_t elements = l->k > QS_WEIGHT_GROUP_ELEMENTS ? l->k : QS_WEIGHT_GROUP_ELEMENTS;

  /* At most the kernel's channels and one more: held in memory already. */
  if (channels * l->k > elements)
    elements = channels * l->k;

  return malloc (((size_t) 32 << 20) + elements * 4);
}

/* Output channels of @l gathered at a time (at least one). */
static size_t
channel_group_size (const QsEngineLayer *l)
{
  size_t nc = QS_WEIGHT_GROUP_ELEMENTS / l->k;

  return nc < 1 ? 1 : (nc > (size_t) l->out_c ? (size_t) l->out_c : nc);
}

/* Channels [c0, c0 + nc) of @l's kernel into @out, [k][nc]: each one's
 * values in the order of the Keras layout, read back a block of rows at
 * a time through @rows_buffer (@block_rows rows). */
static void
kernel_channels (const QsEngineModel *model,
                 const QsEngineLayer *l,
                 size_t               c0,
                 size_t               nc,
                 size_t               block_rows,
                 float               *rows_buffer,
                 float               *out)
{
  size_t n = (size_t) l->out_c, panel = model->kernels->gemm_f32_panel;

  /* Only the panels of these channels, where they are a packing of their own. */
  if (l->weights == NULL && l->groups == 1 && panel > 0 && c0 % panel == 0
      && (nc % panel == 0 || c0 + nc == n))
    {
      model->kernels->gemm_f32_unpack (nc, l->k, l->packed_f32 + c0 * l->k, 0, l->k, out, nc);
      return;
    }
  for (size_t r0 = 0; r0 < l->k; r0 += block_rows)
    {
      size_t rows = l->k - r0 < block_rows ? l->k - r0 : block_rows;
      const float *x = l->weights != NULL ? l->weights + r0 * n : rows_buffer;

      if (l->weights == NULL)
        qs_layer_kernel_rows (model, l, r0, rows, rows_buffer);
      for (size_t r = 0; r < rows; r++)
        memcpy (out + (r0 + r) * nc, x + r * n + c0, nc * sizeof (float));
    }
}

typedef struct {
  const QsEngineModel *model;
  const QsEngineLayer *l;
  size_t               block_rows;
} QsKernelRowBlocks;

static const float *
kernel_row_block (void   *data,
                  size_t  index,
                  float  *buffer,
                  size_t *count)
{
  const QsKernelRowBlocks *b = data;
  size_t n = (size_t) b->l->out_c, r0 = index * b->block_rows;
  size_t rows = b->l->k - r0 < b->block_rows ? b->l->k - r0 : b->block_rows;

  *count = rows * n;
  if (b->l->weights != NULL)
    return b->l->weights + r0 * n;
  qs_layer_kernel_rows (b->model, b->l, r0, rows, buffer);
  return buffer;
}

/* The range @scheme's method chooses for each channel (or, per tensor,
 * the kernel), from @stats and the kernel read back a block of rows at a
 * time, never whole: the ranges qs_range_choose gives for the whole
 * kernel, bit for bit. A per-channel method reads a group of whole
 * channels at a time; per tensor, MSE and KL build their histogram a
 * block at a time and percentile selects its ranks over the blocks. */
static QsEngineStatus
kernel_ranges (const QsEngineModel *model,
               const QsEngineLayer *l,
               const QsScheme      *scheme,
               bool                 per_channel,
               const QsRangeStats  *stats,
               size_t               block_rows,
               float               *rows_buffer,
               float               *lo,
               float               *hi)
{
  size_t n = (size_t) l->out_c, k = l->k, group = channel_group_size (l);
  QsKernelRowBlocks source = { model, l, block_rows };
  QsValueBlocks blocks = { kernel_row_block, &source, (k + block_rows - 1) / block_rows, rows_buffer };
  QsChannelLayout layout = per_channel ? (QsChannelLayout) { k * n, k, n, 1 }
                                       : qs_channel_layout_per_tensor (k * n);
  QsCalibrationSpec spec;
  QsStatus st = QS_OK;
  float *values;
  double *hist;

  /* Minmax and manual ranges need no values; a kernel in memory is read where it is. */
  if ((scheme->range_method != QS_RANGE_PERCENTILE && scheme->range_method != QS_RANGE_MSE
       && scheme->range_method != QS_RANGE_KL) || l->weights != NULL)
    return engine_status (qs_range_choose (scheme, &layout, l->weights, stats, lo, hi));
  if (per_channel)
    {
      values = group_buffer (l, group);
      if (values == NULL)
        return QS_ENGINE_NO_MEMORY;
      for (size_t c0 = 0; c0 < n && st == QS_OK; c0 += group)
        {
          size_t nc = n - c0 < group ? n - c0 : group;

          kernel_channels (model, l, c0, nc, block_rows, rows_buffer, values);
          st = qs_range_choose (scheme, &(QsChannelLayout) { k * nc, k, nc, 1 }, values, stats + c0,
                                lo + c0, hi + c0);
        }
      free (values);
      return engine_status (st);
    }
  if (stats->finite == 0)
    {
      /* As qs_range_choose: nothing to calibrate, a valid range. */
      *lo = *hi = 0.0f;
      return QS_ENGINE_OK;
    }
  if (scheme->range_method == QS_RANGE_PERCENTILE)
    {
      *lo = (float) qs_percentile_blocks (&blocks, stats, 100.0 - scheme->percentile);
      *hi = (float) qs_percentile_blocks (&blocks, stats, scheme->percentile);
      return QS_ENGINE_OK;
    }
  /* MSE and KL: the very histogram qs_range_choose builds. */
  hist = NULL;
  if (qs_range_histogram_spec (scheme, stats, 0, &spec))
    {
      if ((hist = calloc ((size_t) spec.bins, sizeof *hist)) == NULL)
        return QS_ENGINE_NO_MEMORY;
      for (size_t j = 0; j < blocks.n_blocks; j++)
        {
          size_t count;
          const float *v = kernel_row_block (&source, j, rows_buffer, &count);

          qs_range_histogram_accumulate (&spec, v, count, hist);
        }
    }
  qs_range_choose_from_histogram (scheme, stats, &spec, hist, lo, hi);
  free (hist);
  return QS_ENGINE_OK;
}

/* Quantizes the layer's kernel (Keras layout [k][out_c]) under @scheme
 * into the @form the layer runs on, with codes shifted so their range
 * fits a signed container of @container bits (an unsigned 8-bit scheme's
 * [0, 255] becomes [-128, 127] with the zero point shifted alike: q - z
 * is unchanged). A block of rows at a time: a kernel kept packed (a GEMM
 * layer's) is read back block by block, never whole: for the range
 * statistics, for the range methods that look at every value
 * (kernel_ranges), then for the codes. */
static QsEngineStatus
quantize_weights (const QsEngineModel *model,
                  const QsEngineLayer *l,
                  const QsScheme      *scheme,
                  int                  container,
                  QsCodeForm           form,
                  QsWeightQuant       *w)
{
  size_t n = (size_t) l->out_c, k = l->k, count = k * n;
  bool per_channel = scheme->granularity == QS_GRANULARITY_CHANNEL;
  size_t block_rows = QS_WEIGHT_BLOCK_ELEMENTS / n > 0 ? QS_WEIGHT_BLOCK_ELEMENTS / n : 1;
  QsChannelLayout layout;
  QsRangeStats *stats;
  float *lo, *hi, *rows_buffer;
  const float *kernel = l->weights;
  int32_t *block_codes = NULL;
  size_t channels = per_channel ? n : 1;
  double signal = 0.0, noise = 0.0;
  int32_t shift = 0;
  QsEngineStatus status = QS_ENGINE_OK;

  memset (w, 0, sizeof *w);
  if (block_rows > k)
    block_rows = k;
  if (per_channel)
    layout = (QsChannelLayout) { count, k, n, 1 };
  else
    layout = qs_channel_layout_per_tensor (count);

  stats = calloc (channels, sizeof *stats);
  lo = calloc (channels, sizeof *lo);
  hi = calloc (channels, sizeof *hi);
  w->colsum = calloc (n, sizeof *w->colsum);
  w->zero_int = calloc (n, sizeof *w->zero_int);
  w->zero_frac = calloc (n, sizeof *w->zero_frac);
  w->scale = calloc (n, sizeof *w->scale);
  if (form == QS_CODES_KERAS)
    w->codes = malloc (count * sizeof *w->codes);
  else
    block_codes = malloc (block_rows * n * sizeof *block_codes);
  if (form == QS_CODES_T8)
    w->codes8 = malloc (count * sizeof *w->codes8);
  if (form == QS_CODES_T16)
    w->codes16 = malloc (count * sizeof *w->codes16);
  rows_buffer = malloc (block_rows * n * sizeof *rows_buffer);
  if (stats == NULL || lo == NULL || hi == NULL || w->colsum == NULL || w->zero_int == NULL
      || w->zero_frac == NULL || w->scale == NULL || (form == QS_CODES_KERAS ? w->codes == NULL : block_codes == NULL)
      || (form == QS_CODES_T8 && w->codes8 == NULL) || (form == QS_CODES_T16 && w->codes16 == NULL)
      || rows_buffer == NULL || qs_quant_params_init (&w->params, channels) != QS_OK)
    {
      status = QS_ENGINE_NO_MEMORY;
      goto out;
    }

  if (kernel == NULL)
    status = kernel_stats_streamed (model, l, per_channel, block_rows, rows_buffer, stats);
  else
    status = engine_status (qs_range_stats_compute (&layout, kernel, 1, stats, NULL));
  if (status == QS_ENGINE_OK)
    status = kernel_ranges (model, l, scheme, per_channel, stats, block_rows, rows_buffer, lo, hi);
  if (status != QS_ENGINE_OK)
    goto out;
  qs_quant_params_set_from_ranges (&w->params, scheme, lo, hi);

  if (scheme->format == QS_FORMAT_INT)
    {
      int32_t cmax = container == 8 ? 127 : 32767;

      if (w->params.qmax > cmax)
        shift = cmax - w->params.qmax;
    }

  /* In the order of the Keras layout, block after block, as one pass
   * over the whole kernel would: the SQNR sums are the same. */
  for (size_t r0 = 0; r0 < k; r0 += block_rows)
    {
      size_t rows = k - r0 < block_rows ? k - r0 : block_rows;
      QsChannelLayout block = per_channel ? (QsChannelLayout) { rows * n, rows, n, 1 }
                                          : qs_channel_layout_per_tensor (rows * n);
      const float *x = kernel != NULL ? kernel + r0 * n : rows_buffer;
      int32_t *codes = form == QS_CODES_KERAS ? w->codes + r0 * n : block_codes;

      if (kernel == NULL)
        qs_layer_kernel_rows (model, l, r0, rows, rows_buffer);
      qs_quantize (&w->params, &block, x, codes);
      for (size_t j = 0; j < rows * n; j++)
        {
          size_t c = j % n, r = r0 + j / n;
          double v = x[j];
          double y = qs_dequantize_code (&w->params, per_channel ? c : 0, codes[j]);
          int32_t code = codes[j] + (scheme->format == QS_FORMAT_INT ? shift : 0);

          signal += v * v;
          noise += (v - y) * (v - y);
          w->colsum[c] += code;
          if (form == QS_CODES_KERAS)
            codes[j] = code;
          else if (form == QS_CODES_T8)
            w->codes8[c * k + r] = (int8_t) code;
          else if (form == QS_CODES_T16)
            w->codes16[c * k + r] = (int16_t) code;
        }
    }
  w->sqnr_db = sqnr_from_sums (signal, noise);

  for (size_t c = 0; c < n; c++)
    {
      size_t ch = per_channel ? c : 0;

      w->scale[c] = w->params.scale[ch];
      if (scheme->format == QS_FORMAT_INT)
        {
          w->zero_int[c] = zero_code (&w->params, ch) + shift;
          w->zero_frac[c] = (double) w->params.zero_point[ch] + shift;
        }
    }

out:
  free (stats);
  free (lo);
  free (hi);
  free (block_codes);
  free (rows_buffer);
  return status;
}

static bool
any_nonzero (const int32_t *v,
             size_t         n)
{
  for (size_t i = 0; i < n; i++)
    if (v[i] != 0)
      return true;
  return false;
}

static int64_t
round_to_i64 (double x)
{
  /* Half away from zero, as TFLite quantizes biases. */
  double r = round (x);

  if (isnan (r))
    return 0;
  if (r > 4.0e18)
    return (int64_t) 4e18;
  if (r < -4.0e18)
    return (int64_t) -4e18;
  return (int64_t) r;
}

static int32_t
saturate32 (int64_t x)
{
  return x > INT32_MAX ? INT32_MAX : (x < INT32_MIN ? INT32_MIN : (int32_t) x);
}

/* A call's per-channel rescale and requantization arrays, and room for
 * its biases, as wide as the layer's mode sums: int32, or 64-bit totals. */
static QsEngineStatus
requant_arrays (const QsEngineLayer *l,
                QsQuantLayer        *q,
                const QsWeightQuant *w,
                double               extra_scale)
{
  size_t n = (size_t) l->out_c;

  q->multiplier = calloc (n, sizeof (int32_t));
  q->right_shift = calloc (n, sizeof (int32_t));
  q->left_shift = calloc (n, sizeof (int32_t));
  q->out_dequant = calloc (n, sizeof (double));
  if (q->mode == QS_QMODE_INT8)
    q->bias32 = calloc (n, sizeof (int32_t));
  else
    q->bias64 = calloc (n, sizeof (int64_t));
  if (q->multiplier == NULL || q->right_shift == NULL || q->left_shift == NULL || q->out_dequant == NULL
      || (q->bias32 == NULL && q->bias64 == NULL))
    return QS_ENGINE_NO_MEMORY;
  for (size_t c = 0; c < n; c++)
    {
      double acc_scale = (double) q->in.scale * w->scale[c] / extra_scale;

      q->out_dequant[c] = acc_scale;
      qs_quantize_multiplier (acc_scale / (double) q->out.scale, &q->multiplier[c],
                              &q->right_shift[c], &q->left_shift[c]);
    }
  if (!any_nonzero (q->left_shift, n))
    {
      free (q->left_shift);
      q->left_shift = NULL;
    }
  return QS_ENGINE_OK;
}

/* The sum of channel @c's weight codes over its @taps inputs ([taps][n]). */
static int64_t
code_colsum (const QsWeightQuant *w,
             size_t               c,
             size_t               taps,
             size_t               n)
{
  int64_t colsum = 0;

  for (size_t t = 0; t < taps; t++)
    colsum += w->codes[t * n + c];
  return colsum;
}

/* The real-valued part of the bias in accumulator units: the float bias,
 * the output's fractional zero point, the input's fractional zero point
 * times the channel's weight sum. */
static double
bias_real (const QsEngineLayer *l,
           const QsQuantLayer  *q,
           const QsWeightQuant *w,
           size_t               c,
           double               colsum,
           size_t               taps)
{
  double acc_scale = (double) q->in.scale * w->scale[c];
  double ra = (double) q->in.zero_point - q->in.zero_code;
  double v = l->bias[c] / acc_scale;

  if (!q->float_output)
    v += ((double) q->out.zero_point - q->out.zero_code) * (double) q->out.scale / acc_scale;
  v -= ra * (colsum - (double) taps * w->zero_frac[c]);
  return v;
}

/* Channels of a GEMM layer's int8 codes packed at a time, in place: a
 * multiple of every ISA's block of channels (qs_gemm_blocked_size: 8 or
 * 16; the reference's is 1), each block packed on its own. */
#define QS_PACK_CHANNELS 64

/* Packs @codes ([n][k] int8, consumed) in place into the ISA's layout at
 * the same address, the buffer being @size >= the packed bytes: block of
 * channels after block from the last, whose packed place starts at or
 * after its codes' (a packed weight takes at least a byte) and after
 * every earlier block's codes, so only the block at hand needs a copy
 * (k bytes a channel), not the whole kernel (103 MB for VGG16's fc1). */
static QsEngineStatus
pack_codes_in_place (const QsKernels *kr,
                     size_t           n,
                     size_t           k,
                     size_t           kp,
                     int8_t          *codes,
                     uint8_t         *packed)
{
  size_t chunks = (n + QS_PACK_CHANNELS - 1) / QS_PACK_CHANNELS;
  int8_t *block = malloc (QS_PACK_CHANNELS * k);

  if (block == NULL)
    return QS_ENGINE_NO_MEMORY;
  for (size_t j = chunks; j-- > 0;)
    {
      size_t c0 = j * QS_PACK_CHANNELS, nc = n - c0 < QS_PACK_CHANNELS ? n - c0 : QS_PACK_CHANNELS;

      memcpy (block, codes + c0 * k, nc * k);
      kr->gemm_pack (nc, k, kp, block, packed + kr->gemm_packed_size (c0, kp));
    }
  free (block);
  return QS_ENGINE_OK;
}

/* Whether GEMM layer @l, with int8 weights summed in int32, runs the
 * ISA's direct one-channel convolution: a property of the call's shape,
 * which may differ between the calls of a shared layer. */
static bool
wants_conv_c1 (const QsKernels     *kr,
               const QsEngineLayer *l)
{
  QsConvShape shape;

  if (kr->conv_c1 == NULL || l->kind != QS_LAYER_CONV2D || qs_layer_is_general_conv (l)
      || l->out_w > QS_ENGINE_TILE_ROWS)
    return false;
  shape = qs_layer_conv_shape (l);
  return kr->conv_c1_supported (&shape);
}

/* A GEMM layer's integer weights: int8 (@container 8) with int32 sums,
 * or, @wide (8-bit weights past QS_MAX_INT32_K taps), with their int32
 * sums widened to 64-bit totals; int16 weights (@container 16) with
 * 64-bit sums. Packed, with their zero points: what every call of the
 * layer reads (integer_layer_call makes the rest). */
static QsEngineStatus
gemm_layer_weights (const QsQuantizedModel *qm,
                    const QsEngineLayer    *l,
                    QsQuantLayer           *q,
                    QsWeightQuant          *w,
                    int                     container,
                    bool                    wide)
{
  const QsKernels *kr = qm->kernels;
  size_t n = (size_t) l->out_c, k = l->k;
  QsEngineStatus status = QS_ENGINE_OK;
  bool frac = false;

  q->mode = container == 8 && !wide ? QS_QMODE_INT8 : QS_QMODE_INT16;
  q->kp = qs_gemm_padded_k (k);
  q->weight_zp = calloc (n, sizeof (int32_t));
  q->frac_q16 = calloc (n, sizeof (int32_t));
  if (q->weight_zp == NULL || q->frac_q16 == NULL)
    return QS_ENGINE_NO_MEMORY;

  if (container == 8)
    {
      int8_t *wt = w->codes8;
      /* A grouped convolution packs each group's [n / groups][k] rows
       * (consecutive in wt) on its own, cache-line apart. */
      size_t groups = (size_t) l->groups, ng = n / groups;

      q->packed_group_size = (kr->gemm_packed_size (ng, q->kp) + 63) & ~(size_t) 63;
      /* Optional: without memory for it the layer keeps the GEMM. */
      if (!wide && wants_conv_c1 (kr, l)
          && (q->packed_c1 = malloc (kr->conv_c1_packed_size (n, l->kernel_h))) != NULL)
        kr->conv_c1_pack (n, l->kernel_h, l->kernel_w, wt, q->packed_c1);
      /* The codes become the packed weights in their own buffer, grown to
       * the packed size (a large one is remapped, not copied); groups
       * from the last, as the channels within one (pack_codes_in_place).
       * The packed weights start at the buffer's first 64-byte boundary,
       * which moves each block only further past its codes: malloc's
       * 16-byte alignment split every 64-byte row of weights across two
       * cache lines, which cost AMX's tile loads about a sixth of their
       * speed (a third more with A's rows split too). */
      q->packed_bytes = groups * q->packed_group_size + QS_KERNEL_SLACK + 63;
      q->packed_alloc = realloc (wt, q->packed_bytes);
      if (q->packed_alloc == NULL)
        return QS_ENGINE_NO_MEMORY;
      w->codes8 = NULL;
      q->packed = (uint8_t *) q->packed_alloc + (-(uintptr_t) q->packed_alloc & 63);
      for (size_t g = groups; g-- > 0 && status == QS_ENGINE_OK;)
        status = pack_codes_in_place (kr, ng, k, q->kp, (int8_t *) q->packed_alloc + g * ng * k,
                                      (uint8_t *) q->packed + g * q->packed_group_size);
      if (status != QS_ENGINE_OK)
        return status;
    }
  else
    {
      /* The int16 operand is the codes as they are. */
      q->w16 = w->codes16;
      w->codes16 = NULL;
    }

  for (size_t c = 0; c < n; c++)
    {
      int64_t zw = w->zero_int[c];
      double rw = w->zero_frac[c] - (double) zw;

      q->weight_zp[c] = (int32_t) zw;
      q->frac_q16[c] = (int32_t) llround (rw * 65536.0);
      frac = frac || q->frac_q16[c] != 0;
    }
  if (!any_nonzero (q->weight_zp, n))
    {
      free (q->weight_zp);
      q->weight_zp = NULL;
    }
  if (!frac)
    {
      free (q->frac_q16);
      q->frac_q16 = NULL;
    }
  q->need_rowsum = q->weight_zp != NULL || q->frac_q16 != NULL;
  return QS_ENGINE_OK;
}

/* A depthwise layer's integer weights, packed: int8 ones with int32 sums,
 * or, with 9..16 bits or a fractional weight zero point, (code - zero
 * point) in Q8, so half-integer zero points stay exact, with 64-bit sums.
 * What every call of the layer reads (integer_layer_call makes the rest). */
static QsEngineStatus
depthwise_layer_weights (const QsQuantizedModel *qm,
                         const QsEngineLayer    *l,
                         QsQuantLayer           *q,
                         const QsWeightQuant    *w,
                         int                     container)
{
  const QsKernels *kr = qm->kernels;
  size_t C = (size_t) l->out_c, taps = l->k;
  bool frac = false;

  for (size_t c = 0; c < C; c++)
    frac = frac || w->zero_frac[c] != (double) w->zero_int[c];

  if (container == 8 && !frac)
    {
      int16_t *wt = malloc (taps * C * sizeof (int16_t));

      q->mode = QS_QMODE_INT8;
      q->packed_bytes = kr->depthwise_packed_size (taps, C) + QS_KERNEL_SLACK;
      q->packed = malloc (q->packed_bytes);
      if (wt == NULL || q->packed == NULL)
        {
          free (wt);
          return QS_ENGINE_NO_MEMORY;
        }
      for (size_t i = 0; i < taps * C; i++)
        wt[i] = (int16_t) (w->codes[i] - w->zero_int[i % C]);
      kr->depthwise_pack (taps, C, wt, q->packed);
      free (wt);
      return QS_ENGINE_OK;
    }

  q->mode = QS_QMODE_INT16;
  q->dw32 = malloc (taps * C * sizeof (int32_t));
  if (q->dw32 == NULL)
    return QS_ENGINE_NO_MEMORY;
  for (size_t i = 0; i < taps * C; i++)
    q->dw32[i] = (int32_t) llround (((double) w->codes[i] - w->zero_frac[i % C]) * 256.0);
  return QS_ENGINE_OK;
}

/* One call's part of an integer GEMM or depthwise layer, on weights made
 * by gemm_layer_weights or (@depthwise: a DepthwiseConv2D's, or an
 * affine layer's) depthwise_layer_weights, @w their quantization: the
 * rescale and the biases, from the call's input and output quantizers. A GEMM layer's int32 bias takes the input zero
 * point's terms (the kernels sum raw codes); a depthwise layer's weights
 * have their zero points taken out already, and its 64-bit path is in Q8. */
static QsEngineStatus
integer_layer_call (const QsEngineLayer *l,
                    QsQuantLayer        *q,
                    const QsWeightQuant *w,
                    bool                 depthwise)
{
  size_t n = (size_t) l->out_c, k = l->k;
  bool int8 = q->mode == QS_QMODE_INT8;
  double q8 = depthwise && !int8 ? 256.0 : 1.0;
  int64_t za = q->in.zero_code;
  QsEngineStatus status;

  if (!depthwise)
    q->direct = qs_layer_is_pointwise (l) && !qs_layer_is_general_conv (l) && (q->w16 != NULL || q->kp == k);
  if ((status = requant_arrays (l, q, w, q8)) != QS_ENGINE_OK)
    return status;
  for (size_t c = 0; c < n; c++)
    {
      int64_t bias;

      if (depthwise)
        bias = round_to_i64 (q8 * bias_real (l, q, w, c, (double) code_colsum (w, c, k, n), k));
      else
        bias = round_to_i64 (bias_real (l, q, w, c, (double) w->colsum[c], k))
          - za * w->colsum[c] + (int64_t) k * za * w->zero_int[c];
      if (int8)
        q->bias32[c] = saturate32 (bias);
      else
        q->bias64[c] = bias;
    }
  return QS_ENGINE_OK;
}

/* The float32 GEMM layout of q->fake_weights (depthwise layers use them
 * as they are; a GEMM layer reads only the packing, so its unpacked copy
 * goes once packed). */
static QsEngineStatus
pack_float_layer (const QsQuantizedModel *qm,
                  const QsEngineLayer    *l,
                  QsQuantLayer           *q)
{
  QsEngineStatus status;

  if (l->kind == QS_LAYER_DEPTHWISE_CONV2D)
    return QS_ENGINE_OK;
  q->fake_packed = malloc (qs_layer_packed_f32_size (qm->model->kernels, l) * sizeof (float));
  if (q->fake_packed == NULL)
    return QS_ENGINE_NO_MEMORY;
  status = qs_layer_pack_f32 (qm->model->kernels, l, q->fake_weights, q->fake_packed);
  free (q->fake_weights);
  q->fake_weights = NULL;
  return status;
}

/* Float formats: the layer runs in float32 on weights rounded to the
 * format (a GEMM layer's as it runs, prepare_rounded_layer; a depthwise
 * layer's here), or, with no @w (an unquantized layer), on its own
 * weights, which the model keeps: no copy. */
static QsEngineStatus
prepare_float_layer (const QsQuantizedModel *qm,
                     const QsEngineLayer    *l,
                     QsQuantLayer           *q,
                     const QsWeightQuant    *w,
                     bool                    per_channel)
{
  size_t n = (size_t) l->out_c, count = l->k * n;

  q->mode = QS_QMODE_FLOAT;
  if (w == NULL)
    return QS_ENGINE_OK;
  q->fake_weights = malloc (count * sizeof (float));
  if (q->fake_weights == NULL)
    return QS_ENGINE_NO_MEMORY;
  for (size_t i = 0; i < count; i++)
    q->fake_weights[i] = qs_dequantize_code (&w->params, per_channel ? i % n : 0, w->codes[i]);
  return pack_float_layer (qm, l, q);
}

/* A float format's GEMM layer: the model's packed kernel is its weights,
 * rounded to the format a block of channels at a time as the layer runs
 * (QsFloatRounding, the same bits a rounded copy would hold); kept here
 * are each channel's factors of that rounding, @w's parameters. */
static QsEngineStatus
prepare_rounded_layer (const QsEngineLayer *l,
                       QsQuantLayer        *q,
                       const QsWeightQuant *w,
                       bool                 per_channel)
{
  size_t n = (size_t) l->out_c;

  q->mode = QS_QMODE_FLOAT;
  q->round_scale = malloc (n * sizeof *q->round_scale);
  q->round_inv_scale = malloc (n * sizeof *q->round_inv_scale);
  if (q->round_scale == NULL || q->round_inv_scale == NULL)
    return QS_ENGINE_NO_MEMORY;
  for (size_t c = 0; c < n; c++)
    {
      q->round_scale[c] = w->params.scale[per_channel ? c : 0];
      q->round_inv_scale[c] = w->params.inv_scale[per_channel ? c : 0];
    }
  q->rounding = (QsFloatRounding) { w->params.format, q->round_scale, q->round_inv_scale };
  return QS_ENGINE_OK;
}

/* A blockwise layer's weights as integers: int8-range codes in the Keras
 * order [k][n] (int16-range where @wide: MXFP6 E3M2's elements times 16),
 * and per block (c * groups + g) a zero point and a scale, with
 * scale * (code - zero point) the core's reconstruction. */
typedef struct {
  QsBlockGeometry geo;
  int32_t        *codes;
  int32_t        *zero_points;
  float          *scales;
  bool            wide;
} QsBlockInts;

/* Room for a GEMM layer's @count integer weights (int16 where @wide) and
 * its @blocks zero points and scales. */
static bool
alloc_group_ints (QsQuantLayer *q,
                  size_t        count,
                  size_t        blocks,
                  bool          wide)
{
  if (wide)
    q->group_codes16 = malloc (count * sizeof (int16_t));
  else
    q->group_codes = malloc (count);
  q->group_zero_points = malloc (blocks * sizeof (int32_t));
  q->group_scales = malloc (blocks * sizeof (float));
  return (q->group_codes != NULL || q->group_codes16 != NULL) && q->group_zero_points != NULL
         && q->group_scales != NULL;
}

/* The stored integer weight of channel @c, tap @t (store_group_ints). */
static inline int32_t
group_code (const QsQuantLayer *q,
            size_t              k,
            size_t              c,
            size_t              t)
{
  return q->group_codes16 != NULL ? q->group_codes16[c * k + t] : q->group_codes[c * k + t];
}

/* Channels [c0, c0 + nc) of integer groups' codes, @w holding them in the
 * Keras order [k][nc], transposed to [n][k] as the group-wise kernels
 * read them: int8 into @codes, or int16 into @codes16 where @w is wide. */
static void
transpose_group_codes (int8_t            *codes,
                       int16_t           *codes16,
                       size_t             k,
                       size_t             c0,
                       size_t             nc,
                       const QsBlockInts *w)
{
  for (size_t t = 0; t < k; t++)
    for (size_t j = 0; j < nc; j++)
      if (w->wide)
        codes16[(c0 + j) * k + t] = (int16_t) w->codes[t * nc + j];
      else
        codes[(c0 + j) * k + t] = (int8_t) w->codes[t * nc + j];
}

/* Channels [c0, c0 + nc) of a GEMM layer's integer groups, @w holding
 * their codes in the Keras order [k][nc]: the codes transposed to [n][k]
 * (transpose_group_codes), and the blocks' zero points and scales in
 * their places (blocks channel-major), unless @w's are those places. */
static void
store_group_ints (QsQuantLayer      *q,
                  size_t             k,
                  size_t             c0,
                  size_t             nc,
                  const QsBlockInts *w)
{
  size_t first = c0 * w->geo.blocks_per_run;

  transpose_group_codes (q->group_codes, q->group_codes16, k, c0, nc, w);
  if (w->zero_points != q->group_zero_points + first)
    memcpy (q->group_zero_points + first, w->zero_points, w->geo.block_count * sizeof (int32_t));
  if (w->scales != q->group_scales + first)
    memcpy (q->group_scales + first, w->scales, w->geo.block_count * sizeof (float));
}

/* The group-wise form of a GEMM layer whose codes, zero points and
 * scales are stored (store_group_ints): each group's code sum, and the
 * ISA's packing of all of it, when the ISA has a group-wise GEMM, which
 * then reads nothing else, so the rest goes (MXFP4's zero points, sums
 * and scales are 52 MB on VGG16, a block of 32 weights each). */
static QsEngineStatus
prepare_groupwise_layer (const QsQuantizedModel *qm,
                         const QsEngineLayer    *l,
                         QsQuantLayer           *q,
                         const QsBlockGeometry  *geo)
{
  const QsKernels *kr = qm->kernels;
  size_t n = (size_t) l->out_c, k = l->k;

  q->mode = QS_QMODE_GROUPWISE;
  q->group_code_sums = malloc (geo->block_count * sizeof (int32_t));
  if (q->group_code_sums == NULL)
    return QS_ENGINE_NO_MEMORY;
  q->groupwise = (QsGroupwiseWeights) {
    .n = n, .k = k, .group_size = geo->block_size, .groups_per_channel = geo->blocks_per_run,
    .codes = q->group_codes, .codes16 = q->group_codes16, .zero_points = q->group_zero_points,
    .code_sums = q->group_code_sums, .scales = q->group_scales,
  };
  q->groupwise.wide_offsets = qs_groupwise_offsets_wide (&q->groupwise);
  qs_groupwise_code_sums (&q->groupwise, q->group_code_sums);
  q->kp = qs_gemm_padded_k (k);
  if (kr->groupwise_gemm != NULL)
    {
      q->packed_bytes = kr->groupwise_packed_size (&q->groupwise);
      q->packed = malloc (q->packed_bytes);
      if (q->packed == NULL)
        return QS_ENGINE_NO_MEMORY;
      kr->groupwise_pack (&q->groupwise, 0, q->packed);
      free (q->group_codes);
      free (q->group_codes16);
      free (q->group_zero_points);
      free (q->group_code_sums);
      free (q->group_scales);
      q->group_codes = NULL;
      q->group_codes16 = NULL;
      q->group_zero_points = NULL;
      q->group_code_sums = NULL;
      q->group_scales = NULL;
      q->groupwise.codes = NULL;
      q->groupwise.codes16 = NULL;
      q->groupwise.zero_points = NULL;
      q->groupwise.code_sums = NULL;
      q->groupwise.scales = NULL;
    }
  return QS_ENGINE_OK;
}

/* Integer groups of a depthwise layer: (code - zero point) as int16
 * [taps][c], which is already the kernel's layout, and the blocks' scales
 * and code sums turned to [groups][c]. */
static QsEngineStatus
prepare_depthwise_groupwise_layer (const QsEngineLayer *l,
                                   QsQuantLayer        *q,
                                   const QsBlockInts   *w)
{
  size_t C = (size_t) l->out_c, taps = l->k, groups = w->geo.blocks_per_run;

  q->mode = QS_QMODE_GROUPWISE;
  q->group_dw = malloc (taps * C * sizeof (int16_t));
  q->group_code_sums = malloc (groups * C * sizeof (int32_t));
  q->group_scales = malloc (groups * C * sizeof (float));
  if (q->group_dw == NULL || q->group_code_sums == NULL || q->group_scales == NULL)
    return QS_ENGINE_NO_MEMORY;
  for (size_t t = 0; t < taps; t++)
    for (size_t c = 0; c < C; c++)
      {
        size_t b = c * groups + t / w->geo.block_size;

        q->group_dw[t * C + c] = (int16_t) (w->codes[t * C + c] - w->zero_points[b]);
      }
  for (size_t c = 0; c < C; c++)
    for (size_t g = 0; g < groups; g++)
      q->group_scales[g * C + c] = w->scales[c * groups + g];
  qs_depthwise_group_code_sums (C, taps, w->geo.block_size, q->group_dw, q->group_code_sums);
  q->depthwise_groups = (QsDepthwiseGroupWeights) {
    .channels = C, .taps = taps, .group_size = w->geo.block_size, .groups = groups,
    .w = q->group_dw, .code_sums = q->group_code_sums, .scales = q->group_scales,
  };
  return QS_ENGINE_OK;
}

/* Whether @w reconstructs @recon (the core's qs_block_dequantize) bit for
 * bit, up to the sign of zero: the integer path then computes with the
 * very weights the scheme reports on. */
static bool
block_ints_reconstruct (const QsBlockInts *w,
                        size_t             n,
                        const float       *recon)
{
  size_t count = w->geo.run_length * n;

  for (size_t i = 0; i < count; i++)
    {
      size_t b = (i % n) * w->geo.blocks_per_run + (i / n) / w->geo.block_size;
      float v = (float) (w->codes[i] - w->zero_points[b]) * w->scales[b];

      if (v != recon[i])
        return false;
    }
  return true;
}

/* The integer form of a blockwise scheme's weights, where it has one: the
 * codes of 2..8-bit integer groups (an unsigned range shifted by -128,
 * its zero points with it), or the elements of MXINT8, MXFP4, NVFP4 and
 * MXFP6 E2M3 as int8 integers, MXFP6 E3M2's as int16 ones (wide), times
 * scale / unit (qs_block_integer_codes). */
static bool
block_ints (const QsScheme *scheme,
            size_t          k,
            size_t          n,
            QsBlockInts    *w,
            const float    *recon)
{
  size_t count = k * n;
  QsChannelLayout layout = { count, k, n, 1 };
  int bound = qs_block_integer_bound (scheme->format);

  w->wide = bound > INT8_MAX;
  if (w->wide ? !qs_groupwise_sums_fit (w->geo.block_size, (size_t) bound)
              : w->geo.block_size > QS_MAX_INT32_K)
    return false;
  if (scheme->format == QS_FORMAT_INT)
    {
      int qmin, qmax, shift;

      if (scheme->bits > 8)
        return false;
      qs_scheme_code_range (scheme, &qmin, &qmax);
      shift = qmax > INT8_MAX ? 128 : 0;
      for (size_t i = 0; i < count; i++)
        w->codes[i] -= shift;
      for (size_t b = 0; b < w->geo.block_count; b++)
        w->zero_points[b] -= shift;
      return true;
    }
  else
    {
      int16_t *ints = malloc (count * sizeof (int16_t));
      float *scales = malloc (w->geo.block_count * sizeof (float));
      bool exact = ints != NULL && scales != NULL
                   && qs_block_integer_codes (scheme, &layout, w->codes, w->scales, ints, scales);

      if (exact)
        {
          for (size_t i = 0; i < count; i++)
            w->codes[i] = ints[i];
          memcpy (w->scales, scales, w->geo.block_count * sizeof (float));
          memset (w->zero_points, 0, w->geo.block_count * sizeof (int32_t));
          exact = block_ints_reconstruct (w, n, recon);
        }
      free (ints);
      free (scales);
      return exact;
    }
}

/* The weight SQNR of a GEMM layer's stored integer groups, summed in the
 * order of the Keras layout (the kernel read back a block of rows at a
 * time), as over the whole kernel at once: the same sums, bit for bit.
 * (code - zero point) * scale is the scheme's reconstruction, as
 * block_ints checked; read back from the ISA's packing where only that
 * is kept (blockwise_streamed), the same floats. */
static double
groupwise_sqnr (const QsEngineModel   *model,
                const QsKernels       *kernels,
                const QsEngineLayer   *l,
                const QsQuantLayer    *q,
                const QsBlockGeometry *geo,
                size_t                 block_rows,
                float                 *rows_buffer)
{
  size_t n = (size_t) l->out_c, k = l->k;
  double signal = 0.0, noise = 0.0;
  QsGroupwisePackedWeightFunc packed_weight = q->group_zero_points == NULL
                                              ? kernels->groupwise_packed_weight : NULL;

  for (size_t r0 = 0; r0 < k; r0 += block_rows)
    {
      size_t rows = k - r0 < block_rows ? k - r0 : block_rows;

      qs_layer_kernel_rows (model, l, r0, rows, rows_buffer);
      for (size_t j = 0; j < rows * n; j++)
        {
          size_t c = j % n, t = r0 + j / n, b = c * geo->blocks_per_run + t / geo->block_size;
          float v = packed_weight != NULL
                    ? packed_weight (&q->groupwise, q->packed, c, t)
                    : (float) (group_code (q, k, c, t) - q->group_zero_points[b]) * q->group_scales[b];
          double x = rows_buffer[j], e = x - (double) v;

          signal += x * x;
          noise += e * e;
        }
    }
  return sqnr_from_sums (signal, noise);
}

/* Whether a blockwise scheme's integer groups of GEMM layer @l can be
 * made a group of channels at a time (blockwise_streamed): every block
 * depends on its own values only, and on the whole kernel's range for
 * NVFP4's per-tensor scale (qs_block_quantize_part). */
static bool
blockwise_streams (const QsScheme      *scheme,
                   const QsEngineLayer *l)
{
  return l->kind != QS_LAYER_DEPTHWISE_CONV2D && !qs_layer_is_general_conv (l)
         && (scheme->format != QS_FORMAT_INT || scheme->bits <= 8);
}

/* Whether no (code - zero point) of @scheme's integer groups should
 * leave int8, whatever the weights: block formats' int8 elements (their
 * zero points are 0; int16 ones have no int8 form to leave), integer
 * codes spanning at most 128 values (their zero points are codes of the
 * range too: every range holds 0), and symmetric 8-bit codes (the zero
 * point is the middle of the range, 0 for the default [-127, 127], so
 * the differences span [-128, 127] at most). The AVX-512 packing's form
 * depends on it, so a layer can be packed before all of it is
 * quantized; pack_group_ints checks every group against it all the same. */
static bool
offsets_fit_int8 (const QsScheme *scheme)
{
  int qmin, qmax;

  if (scheme->format != QS_FORMAT_INT)
    return true;
  qs_scheme_code_range (scheme, &qmin, &qmax);
  return qmax - qmin <= INT8_MAX || (scheme->mapping == QS_MAPPING_SYMMETRIC && qmax - qmin <= UINT8_MAX);
}

/* The 16 values every (code - zero point) of @scheme's integer groups is
 * one of, where there are that few: 4-bit symmetric integers (their zero
 * point is the middle of the range) and the E2M1 elements of MXFP4 and
 * NVFP4 times their unit (qs_block_integer_codes). The AVX-512 packing
 * then stores 4-bit indices, half the bytes; pack_group_ints checks every
 * group against them all the same. Only a Dense layer's, whose GEMM has
 * as many rows as images and streams its weights for a few rows at a
 * time: half the bytes take it 0.5 to 0.9x the time; a convolution's
 * rows are pixels, and widening the indices again for every 8 of them
 * costs its GEMM 20 % (VGG16's are 11 % of its weights). */
static bool
scheme_nibble_values (const QsScheme *scheme,
                      int8_t          values[16])
{
  if (scheme->format == QS_FORMAT_INT)
    {
      if (scheme->bits > 4 || scheme->mapping != QS_MAPPING_SYMMETRIC)
        return false;
      for (int i = 0; i < 16; i++)
        values[i] = (int8_t) (i < 8 ? i : i - 16);
      return true;
    }
  if (scheme->format != QS_FORMAT_MXFP4 && scheme->format != QS_FORMAT_NVFP4)
    return false;
  for (int i = 0; i < 16; i++)
    values[i] = (int8_t) (qs_block_element_value (scheme->format, i)
                          * (float) qs_block_integer_unit (scheme->format));
  return true;
}

/* The 64 values every (code - zero point) of @scheme's int16 integer
 * groups is one of: MXFP6 E3M2's elements times their unit, in the order
 * of their 6-bit codes (qs_block_integer_codes). The AVX-512 packing
 * then stores 1-byte indices into them, half the bytes of int16 (VGG16's
 * eval peaks at 1.49x its float weights so, 1.77x with int16);
 * pack_group_ints checks every group against them all the same. */
static bool
scheme_wide_values (const QsScheme *scheme,
                    int16_t         values[64])
{
  if (scheme->format != QS_FORMAT_MXFP6_E3M2)
    return false;
  for (int i = 0; i < 64; i++)
    values[i] = (int16_t) (qs_block_element_value (scheme->format, i)
                           * (float) qs_block_integer_unit (scheme->format));
  return true;
}

/* A channel group's integer groups packed into their place in @q->packed
 * (blockwise_streamed): channels [c0, c0 + nc) of the layer @layout
 * describes, @w holding their codes in the Keras order [k][nc], @codes
 * (int8 or int16 where wide) and @sums room for nc channels'. False,
 * with nothing packed, when an int8 code's (code - zero point) leaves
 * int8 or the layout's nibble values, or an int16 one its wide values,
 * against the form the packing was begun in (offsets_fit_int8,
 * scheme_nibble_values, scheme_wide_values). */
static bool
pack_group_ints (const QsKernels          *kr,
                 QsQuantLayer             *q,
                 const QsGroupwiseWeights *layout,
                 size_t                    c0,
                 size_t                    nc,
                 const QsBlockInts        *w,
                 void                     *codes,
                 int32_t                  *sums)
{
  QsGroupwiseWeights part = *layout;

  part.n = nc;
  part.codes = w->wide ? NULL : codes;
  part.codes16 = w->wide ? codes : NULL;
  part.zero_points = w->zero_points;
  part.scales = w->scales;
  part.code_sums = sums;
  transpose_group_codes (codes, codes, layout->k, 0, nc, w);
  if (w->wide ? part.wide_values != NULL && !qs_groupwise_offsets_in_wide_values (&part)
              : qs_groupwise_offsets_wide (&part)
                || (part.nibble_values != NULL && !qs_groupwise_offsets_in_nibbles (&part)))
    return false;
  qs_groupwise_code_sums (&part, sums);
  kr->groupwise_pack (&part, c0, q->packed);
  return true;
}

/* Values a group of blockwise_streamed takes at a time where its
 * channels are whole panels of the float packing (kernel_channels then
 * reads only theirs): a few MB of working buffers, where the groups of
 * channel_group_size, which read the whole kernel back each, are 16 MB. */
#define QS_BLOCK_GROUP_ELEMENTS ((size_t) 1 << 20)

static size_t
blockwise_group_size (const QsQuantizedModel *qm,
                      const QsEngineLayer    *l)
{
  size_t panel = qm->model->kernels->gemm_f32_panel, n = (size_t) l->out_c;
  size_t nc = QS_BLOCK_GROUP_ELEMENTS / l->k;

  if (l->weights != NULL || panel == 0)
    return channel_group_size (l);
  if (nc >= n)
    return n;
  return nc >= panel ? nc - nc % panel : channel_group_size (l);
}

/* The integer groups of GEMM layer @l (blockwise_streams), a group of
 * channels at a time read back from its packed kernel, never the whole
 * kernel as floats: *@integer false, with nothing kept, when a group has
 * no integer form (prepare_blockwise_layer then takes the float path).
 * Where the ISA has a group-wise GEMM whose packing's form is known
 * before the codes are (offsets_fit_int8), each group is packed as it is
 * quantized and only its codes are held (VGG16's fc1 has 103 MB of
 * them); otherwise, or without @try_pack, the layer's codes are stored,
 * then packed whole (a layer whose codes leave the form foreseen starts
 * again so). */
static QsEngineStatus
blockwise_streamed (const QsQuantizedModel *qm,
                    const QsEngineLayer    *l,
                    QsQuantLayer           *q,
                    const QsScheme         *scheme,
                    bool                    try_pack,
                    bool                   *integer)
{
  const QsKernels *kr = qm->kernels;
  size_t n = (size_t) l->out_c, k = l->k, group = blockwise_group_size (qm, l);
  size_t block_rows = QS_WEIGHT_BLOCK_ELEMENTS / n > 0 ? QS_WEIGHT_BLOCK_ELEMENTS / n : 1;
  QsChannelLayout layout = { k * n, k, n, 1 };
  QsBlockGeometry geo;
  float *values, *rows_buffer;
  int32_t *codes, *part_zero_points = NULL, *part_sums = NULL;
  float *part_scales = NULL;
  void *part_codes = NULL;
  QsStatus st = qs_block_geometry (scheme, &layout, &geo);
  bool wide = qs_block_integer_bound (scheme->format) > INT8_MAX;
  bool pack = try_pack && kr->groupwise_gemm != NULL && offsets_fit_int8 (scheme), unforeseen = false;
  bool tensor_scaled = scheme->format == QS_FORMAT_NVFP4;
  float amax = 0.0f;
  int8_t nibbles[16];
  int16_t wide_values[64];
  QsGroupwiseWeights packing = { 0 };

  *integer = true;
  if (st != QS_OK)
    return QS_ENGINE_INVALID_ARGUMENT;
  if (block_rows > k)
    block_rows = k;
  /* Groups of whole channel blocks of the packing (a channel's blocks
   * are its own, so the grouping changes no code); a group narrower than
   * one (k past 2^18) keeps the layer's codes. */
  if (pack && group < n)
    {
      pack = group >= kr->groupwise_pack_channels;
      group -= pack ? group % kr->groupwise_pack_channels : 0;
    }
  values = group_buffer (l, group);
  codes = group_buffer (l, group);
  rows_buffer = malloc (block_rows * n * sizeof *rows_buffer);
  if (values == NULL || codes == NULL || rows_buffer == NULL)
    st = QS_STATUS_NO_MEMORY;
  else if (tensor_scaled)
    {
      QsRangeStats range;

      if (kernel_stats_streamed (qm->model, l, false, block_rows, rows_buffer, &range) != QS_ENGINE_OK)
        st = QS_STATUS_NO_MEMORY;
      else if (range.finite == 0)
        st = QS_STATUS_NO_FINITE_VALUES;  /* as qs_block_quantize over the whole kernel */
      amax = fmaxf (-range.min, range.max);
    }
  if (st == QS_OK && pack)
    {
      packing = (QsGroupwiseWeights) {
        .n = n, .k = k, .group_size = geo.block_size, .groups_per_channel = geo.blocks_per_run,
        .codes16 = wide ? (const int16_t *) codes : NULL,
        .nibble_values = !wide && l->kind == QS_LAYER_DENSE && scheme_nibble_values (scheme, nibbles)
                         ? nibbles : NULL,
        .wide_values = wide && scheme_wide_values (scheme, wide_values) ? wide_values : NULL,
      };
      part_codes = malloc (group * k * (wide ? sizeof (int16_t) : 1));
      part_zero_points = malloc (group * geo.blocks_per_run * sizeof (int32_t));
      part_sums = malloc (group * geo.blocks_per_run * sizeof (int32_t));
      part_scales = malloc (group * geo.blocks_per_run * sizeof (float));
      q->packed_bytes = kr->groupwise_packed_size (&packing);
      q->packed = malloc (q->packed_bytes);
      if (part_codes == NULL || part_zero_points == NULL || part_sums == NULL || part_scales == NULL
          || q->packed == NULL)
        st = QS_STATUS_NO_MEMORY;
    }
  else if (st == QS_OK && !alloc_group_ints (q, n * k, geo.block_count, wide))
    st = QS_STATUS_NO_MEMORY;
  for (size_t c0 = 0; c0 < n && st == QS_OK && *integer && !unforeseen; c0 += group)
    {
      size_t nc = n - c0 < group ? n - c0 : group, first = c0 * geo.blocks_per_run;
      QsChannelLayout part = { k * nc, k, nc, 1 };
      QsBlockInts w = { { 0 }, codes, part_zero_points != NULL ? part_zero_points : q->group_zero_points + first,
                        part_scales != NULL ? part_scales : q->group_scales + first };

      kernel_channels (qm->model, l, c0, nc, block_rows, rows_buffer, values);
      st = qs_block_geometry (scheme, &part, &w.geo);
      /* NVFP4's tensor scale is the whole kernel's. */
      if (st == QS_OK && tensor_scaled)
        st = qs_block_quantize_part (scheme, &part, values, amax, w.codes, w.scales, NULL, w.zero_points);
      else if (st == QS_OK)
        st = qs_block_quantize (scheme, &part, values, w.codes, w.scales, NULL, w.zero_points, NULL);
      /* The values are quantized: their buffer takes the reconstruction. */
      if (st == QS_OK)
        st = qs_block_dequantize (scheme, &part, w.codes, w.scales, w.zero_points, values);
      if (st == QS_OK && (*integer = block_ints (scheme, k, nc, &w, values)))
        {
          if (pack)
            unforeseen = (qm->model->refuse_streamed_packing && c0 + nc == n)
                         || !pack_group_ints (kr, q, &packing, c0, nc, &w, part_codes, part_sums);
          else
            store_group_ints (q, k, c0, nc, &w);
        }
    }
  free (part_codes);
  free (part_zero_points);
  free (part_sums);
  free (part_scales);
  if (unforeseen)
    *integer = false;
  if (st == QS_OK && *integer && pack)
    {
      q->mode = QS_QMODE_GROUPWISE;
      /* The packing's header holds its form, nibble and wide values. */
      packing.codes16 = NULL;
      packing.nibble_values = NULL;
      packing.wide_values = NULL;
      q->groupwise = packing;
      q->kp = qs_gemm_padded_k (k);
    }
  if (st == QS_OK && *integer)
    q->stats.weight_sqnr_db = groupwise_sqnr (qm->model, kr, l, q, &geo, block_rows, rows_buffer);
  free (values);
  free (codes);
  free (rows_buffer);
  if (st != QS_OK || !*integer)
    {
      free (q->packed);
      free (q->group_codes);
      free (q->group_codes16);
      free (q->group_zero_points);
      free (q->group_scales);
      q->packed = NULL;
      q->packed_bytes = 0;
      q->group_codes = NULL;
      q->group_codes16 = NULL;
      q->group_zero_points = NULL;
      q->group_scales = NULL;
      if (unforeseen && st == QS_OK)
        return blockwise_streamed (qm, l, q, scheme, false, integer);
      return engine_status (st);
    }
  q->stats.weight_bits = wide ? 16 : 8;
  return pack ? QS_ENGINE_OK : prepare_groupwise_layer (qm, l, q, &geo);
}

/* The element format a block format's float-path GEMM layer is rounded
 * to as it runs (QsFloatRounding): FP8 for MXFP8, NF4's levels, integer
 * groups' codes (QS_FORMAT_INT); -1 for a format the layer keeps a
 * rounded copy of. */
static int
block_rounding_format (QsFormat format)
{
  switch (format)
    {
    case QS_FORMAT_MXFP8_E4M3:
      return QS_FORMAT_FP8_E4M3;
    case QS_FORMAT_MXFP8_E5M2:
      return QS_FORMAT_FP8_E5M2;
    case QS_FORMAT_NF4:
    case QS_FORMAT_INT:
      return (int) format;
    default:
      return -1;
    }
}

/* Whether GEMM layer @l runs @scheme on the float path, its kernel
 * rounded as it runs (prepare_block_rounded_layer): MXFP8 and NF4, whose
 * elements have no integer form, and integer groups past 8 bits (or on
 * a dilated or grouped convolution), whose zero points are integers. */
static bool
block_rounds (const QsScheme      *scheme,
              const QsEngineLayer *l)
{
  if (l->kind == QS_LAYER_DEPTHWISE_CONV2D || block_rounding_format (scheme->format) < 0)
    return false;
  return scheme->format != QS_FORMAT_INT
         || (scheme->nudge_zero && (scheme->bits > 8 || qs_layer_is_general_conv (l)));
}

/* The weight SQNR of a rounded layer: its kernel read back a block of
 * rows at a time, each row rounded as the layer rounds it, the sums in
 * the order of the Keras layout, as prepare_blockwise_layer sums over
 * the whole reconstruction: the same sums, bit for bit. */
static double
rounded_sqnr (const QsEngineModel *model,
              const QsEngineLayer *l,
              const QsQuantLayer  *q,
              size_t               block_rows,
              float               *rows_buffer,
              float               *rounded)
{
  size_t n = (size_t) l->out_c, k = l->k;
  double signal = 0.0, noise = 0.0;

  for (size_t r0 = 0; r0 < k; r0 += block_rows)
    {
      size_t rows = k - r0 < block_rows ? k - r0 : block_rows;

      qs_layer_kernel_rows (model, l, r0, rows, rows_buffer);
      for (size_t r = 0; r < rows; r++)
        {
          qs_float_round_row (&q->rounding, r0 + r, rows_buffer + r * n, n, rounded);
          for (size_t c = 0; c < n; c++)
            {
              double x = rows_buffer[r * n + c], e = x - (double) rounded[c];

              signal += x * x;
              noise += e * e;
            }
        }
    }
  return sqnr_from_sums (signal, noise);
}

/* MXFP8, NF4 and wide integer groups on a GEMM layer (block_rounds):
 * the layer runs in float32 on the model's packed kernel rounded block by
 * block as it runs (QsFloatRounding), with the scales (and zero points)
 * qs_block_quantize gives each block, found here a group of channels at
 * a time; only those are kept (a float, its inverse and a zero point per
 * block), no copy of the weights. */
static QsEngineStatus
prepare_block_rounded_layer (const QsQuantizedModel *qm,
                             const QsEngineLayer    *l,
                             QsQuantLayer           *q,
                             const QsScheme         *scheme)
{
  size_t n = (size_t) l->out_c, k = l->k, group = blockwise_group_size (qm, l);
  size_t block_rows = QS_WEIGHT_BLOCK_ELEMENTS / n > 0 ? QS_WEIGHT_BLOCK_ELEMENTS / n : 1;
  QsChannelLayout layout = { k * n, k, n, 1 };
  QsBlockGeometry geo;
  QsStatus st = qs_block_geometry (scheme, &layout, &geo);
  float *values, *rows_buffer, *part_scales;
  int32_t *codes, *part_zero_points = NULL;
  bool integer = scheme->format == QS_FORMAT_INT;
  int qmin, qmax;

  if (st != QS_OK)
    return QS_ENGINE_INVALID_ARGUMENT;
  if (block_rows > k)
    block_rows = k;
  qs_scheme_code_range (scheme, &qmin, &qmax);
  q->mode = QS_QMODE_FLOAT;
  q->stats.weight_bits = 32;
  q->round_scale = malloc (geo.block_count * sizeof *q->round_scale);
  q->round_inv_scale = malloc (geo.block_count * sizeof *q->round_inv_scale);
  if (scheme->format == QS_FORMAT_NF4 && (q->round_nf4 = malloc (sizeof *q->round_nf4)) != NULL)
    qs_nf4_table_init (q->round_nf4);
  values = group_buffer (l, group);
  codes = group_buffer (l, group);
  part_scales = malloc (group * geo.blocks_per_run * sizeof *part_scales);
  rows_buffer = malloc ((block_rows + 1) * n * sizeof *rows_buffer);
  if (integer)
    {
      q->round_zero_point = malloc (geo.block_count * sizeof *q->round_zero_point);
      part_zero_points = malloc (group * geo.blocks_per_run * sizeof *part_zero_points);
    }
  if (q->round_scale == NULL || q->round_inv_scale == NULL
      || (scheme->format == QS_FORMAT_NF4 && q->round_nf4 == NULL) || values == NULL
      || codes == NULL || part_scales == NULL || rows_buffer == NULL
      || (integer && (q->round_zero_point == NULL || part_zero_points == NULL)))
    st = QS_STATUS_NO_MEMORY;
  for (size_t c0 = 0; c0 < n && st == QS_OK; c0 += group)
    {
      size_t nc = n - c0 < group ? n - c0 : group;
      QsChannelLayout part = { k * nc, k, nc, 1 };

      kernel_channels (qm->model, l, c0, nc, block_rows, rows_buffer, values);
      st = qs_block_quantize (scheme, &part, values, codes, part_scales, NULL, part_zero_points, NULL);
      if (st == QS_OK)
        qs_float_rounding_block_factors (part_scales, part_zero_points, c0, nc, n, geo.blocks_per_run,
                                         q->round_scale, q->round_inv_scale, q->round_zero_point);
    }
  free (values);
  free (codes);
  free (part_scales);
  free (part_zero_points);
  if (st == QS_OK)
    {
      q->rounding = (QsFloatRounding) {
        .format = (QsFormat) block_rounding_format (scheme->format), .scale = q->round_scale,
        .inv_scale = q->round_inv_scale, .block_rows = geo.block_size, .block_stride = n,
        .nf4 = q->round_nf4, .zero_point = q->round_zero_point, .code_min = (float) qmin,
        .code_max = (float) qmax, .int_rounding = scheme->rounding,
      };
      /* The row after the rows read back takes each one rounded. */
      q->stats.weight_sqnr_db = rounded_sqnr (qm->model, l, q, block_rows, rows_buffer,
                                              rows_buffer + block_rows * n);
    }
  free (rows_buffer);
  return engine_status (st);
}

/* Group-wise and block formats, blocks along each output channel's k taps
 * (the layer's reduction axis; a depthwise channel's kernel_h * kernel_w).
 * Where the weights have an integer form (block_ints) Conv2D, Dense and
 * depthwise layers sum in int32 per block (int16 weights for MXFP6 E3M2);
 * the other formats (FP8, NF4, 9..16-bit groups), and dilated or grouped
 * convolutions, run
 * in float32 on the scheme's reconstruction of the weights. Either way
 * the activations are uint8 codes. A GEMM layer's integer groups are made
 * a group of channels at a time (blockwise_streamed); the float path, a
 * depthwise layer and NVFP4 quantize the whole kernel at once. */
static QsEngineStatus
prepare_blockwise_layer (const QsQuantizedModel *qm,
                         const QsEngineLayer    *l,
                         QsQuantLayer           *q,
                         const QsScheme         *scheme)
{
  size_t n = (size_t) l->out_c, count = l->k * n;
  QsChannelLayout layout = { count, l->k, n, 1 };
  QsBlockInts w = { 0 };
  float *kernel = NULL;
  double signal = 0.0, noise = 0.0;
  QsStatus st = qs_block_geometry (scheme, &layout, &w.geo);
  QsEngineStatus status;
  bool depthwise = l->kind == QS_LAYER_DEPTHWISE_CONV2D, integer = false;

  if (st != QS_OK)
    return QS_ENGINE_INVALID_ARGUMENT;
  if (block_rounds (scheme, l))
    return prepare_block_rounded_layer (qm, l, q, scheme);
  if (blockwise_streams (scheme, l)
      && ((status = blockwise_streamed (qm, l, q, scheme, true, &integer)) != QS_ENGINE_OK || integer))
    return status;
  kernel = l->weights != NULL ? l->weights : qs_layer_kernel_copy (qm->model, l);
  q->fake_weights = malloc (count * sizeof (float));
  w.codes = malloc (count * sizeof (int32_t));
  w.scales = malloc (w.geo.block_count * sizeof (float));
  w.zero_points = malloc (w.geo.block_count * sizeof (int32_t));
  if (kernel == NULL || q->fake_weights == NULL || w.codes == NULL || w.scales == NULL
      || w.zero_points == NULL)
    st = QS_STATUS_NO_MEMORY;
  else
    st = qs_block_quantize (scheme, &layout, kernel, w.codes, w.scales, NULL, w.zero_points, NULL);
  if (st == QS_OK)
    st = qs_block_dequantize (scheme, &layout, w.codes, w.scales, w.zero_points, q->fake_weights);
  for (size_t i = 0; st == QS_OK && i < count; i++)
    {
      double x = kernel[i], e = x - (double) q->fake_weights[i];
      signal += x * x;
      noise += e * e;
    }
  if (kernel != l->weights)
    free (kernel);
  if (st != QS_OK)
    {
      free (w.codes);
      free (w.scales);
      free (w.zero_points);
      return engine_status (st);
    }

  q->stats.weight_sqnr_db = sqnr_from_sums (signal, noise);

  if (!qs_layer_is_general_conv (l) && block_ints (scheme, l->k, n, &w, q->fake_weights))
    {
      if (depthwise)
        status = prepare_depthwise_groupwise_layer (l, q, &w);
      else
        {
          status = QS_ENGINE_NO_MEMORY;
          if (alloc_group_ints (q, count, w.geo.block_count, w.wide))
            {
              store_group_ints (q, l->k, 0, n, &w);
              status = prepare_groupwise_layer (qm, l, q, &w.geo);
            }
        }
      q->stats.weight_bits = w.wide ? 16 : 8;
      free (q->fake_weights);
      q->fake_weights = NULL;
    }
  else
    {
      q->mode = QS_QMODE_FLOAT;
      q->stats.weight_bits = 32;
      /* Only the reconstruction is packed: the codes go first. */
      free (w.codes);
      w.codes = NULL;
      status = pack_float_layer (qm, l, q);
    }
  free (w.codes);
  free (w.scales);
  free (w.zero_points);
  return status;
}

/* The requantization parameters every weighted layer gets. */
static QsEngineStatus
finish_weighted_layer (const QsQuantizedModel *qm,
                       const QsEngineLayer    *l,
                       QsQuantLayer           *q)
{
  activation_codes (l, &q->out, &q->rq.act_min, &q->rq.act_max);
  q->rq.bias = q->bias32;
  q->rq.weight_zp = q->weight_zp;
  q->rq.multiplier = q->multiplier;
  q->rq.right_shift = q->right_shift;
  q->rq.left_shift = q->left_shift;
  q->rq.frac_q16 = q->frac_q16;
  q->rq.input_zp_sum = (int32_t) ((int64_t) l->k * q->in.zero_code);
  q->rq.output_zp = q->out.zero_code;
  q->rq64.bias = q->bias64;
  q->rq64.weight_zp = q->weight_zp;
  q->rq64.multiplier = q->multiplier;
  q->rq64.right_shift = q->right_shift;
  q->rq64.left_shift = q->left_shift;
  q->rq64.frac_q16 = q->frac_q16;
  q->rq64.input_zp_sum = (int64_t) l->k * q->in.zero_code;
  q->rq64.output_zp = q->out.zero_code;
  q->rq64.act_min = q->rq.act_min;
  q->rq64.act_max = q->rq.act_max;
  /* The vector requantization covers bias, weight zero point, multiplier
   * and right shift; the rarer extras take the reference. */
  q->requant = (q->left_shift != NULL || q->frac_q16 != NULL) ? qs_requantize_u8_scalar
                                                              : qm->kernels->requant;
  return QS_ENGINE_OK;
}

/* The weights of weighted layer @index under @scheme, and its call's
 * requantization. @keep, where the layer is called again (a shared
 * layer), takes the weights' quantization an integer layer's later calls
 * make their biases and multipliers from (prepare_later_call). */
static QsEngineStatus
prepare_weighted_layer (QsQuantizedModel *qm,
                        size_t            index,
                        const QsScheme   *scheme,
                        QsWeightQuant    *keep,
                        char             *message,
                        size_t            message_size)
{
  const QsEngineLayer *l = &qm->model->layers[index];
  QsQuantLayer *q = &qm->layers[index];
  QsWeightQuant w;
  QsCodeForm form;
  int container;
  bool wide;
  QsEngineStatus status;

  if (scheme == NULL)
    {
      /* Unquantized weights: the float path on the layer's own weights. */
      q->stats.weight_sqnr_db = INFINITY;
      q->stats.weight_bits = 32;
      return prepare_float_layer (qm, l, q, NULL, false);
    }
  if (qs_scheme_is_blockwise (scheme))
    {
      status = prepare_blockwise_layer (qm, l, q, scheme);
      if (status != QS_ENGINE_OK)
        {
          qs_engine_set_message (message, message_size, "cannot quantize the weights of layer “%s”: %s",
                                 l->name, qs_engine_status_to_string (status));
          return status;
        }
      return finish_weighted_layer (qm, l, q);
    }
  container = scheme->format != QS_FORMAT_INT ? 32 : (scheme->bits <= 8 ? 8 : 16);

  /* Past QS_MAX_INT32_K taps int32 totals could wrap: 64-bit totals, on
   * the int8 GEMM's sums, exact up to the QS_MAX_INT8_WIDE_K taps the
   * integer engine takes at most. */
  wide = container == 8 && l->kind != QS_LAYER_DEPTHWISE_CONV2D && l->k > QS_MAX_INT32_K;
  if (l->k > QS_MAX_INT8_WIDE_K && container != 32)
    {
      qs_engine_set_message (message, message_size, "layer “%s” has %zu taps per output, more than the integer engine sums",
                             l->name, l->k);
      return QS_ENGINE_UNSUPPORTED;
    }

  if (l->kind == QS_LAYER_DEPTHWISE_CONV2D)
    form = QS_CODES_KERAS;
  else
    form = container == 32 ? QS_CODES_F32_ROUNDED : (container == 8 ? QS_CODES_T8 : QS_CODES_T16);
  status = quantize_weights (qm->model, l, scheme, container == 32 ? 8 : container, form, &w);
  if (status != QS_ENGINE_OK)
    {
      weight_quant_clear (&w);
      qs_engine_set_message (message, message_size, "cannot quantize the weights of layer “%s”: %s",
                             l->name, qs_engine_status_to_string (status));
      return status;
    }
  q->stats.weight_sqnr_db = w.sqnr_db;
  q->stats.weight_bits = container;

  if (form == QS_CODES_F32_ROUNDED)
    status = prepare_rounded_layer (l, q, &w, scheme->granularity == QS_GRANULARITY_CHANNEL);
  else if (container == 32)
    status = prepare_float_layer (qm, l, q, &w, scheme->granularity == QS_GRANULARITY_CHANNEL);
  else
    {
      status = l->kind == QS_LAYER_DEPTHWISE_CONV2D ? depthwise_layer_weights (qm, l, q, &w, container)
                                                    : gemm_layer_weights (qm, l, q, &w, container, wide);
      if (status == QS_ENGINE_OK)
        status = integer_layer_call (l, q, &w, l->kind == QS_LAYER_DEPTHWISE_CONV2D);
    }
  if (status == QS_ENGINE_OK && keep != NULL && (q->mode == QS_QMODE_INT8 || q->mode == QS_QMODE_INT16))
    *keep = w;
  else
    weight_quant_clear (&w);
  if (status != QS_ENGINE_OK)
    return status;

  return finish_weighted_layer (qm, l, q);
}

/* What a later call of a shared layer reads of its first call @first:
 * the weights' quantized forms, which depend on the weights and their
 * scheme alone (one scheme per Keras layer), never its biases or
 * requantization. */
static void
borrow_weights (const QsKernels     *kr,
                const QsEngineLayer *l,
                QsQuantLayer        *q,
                const QsQuantLayer  *first)
{
  q->borrowed_weights = true;
  q->mode = first->mode;
  q->kp = first->kp;
  q->need_rowsum = first->need_rowsum;
  q->packed = first->packed;
  /* The direct convolution is a choice of the call's shape. */
  q->packed_c1 = first->packed_c1 != NULL && wants_conv_c1 (kr, l) ? first->packed_c1 : NULL;
  q->w16 = first->w16;
  q->dw32 = first->dw32;
  q->weight_zp = first->weight_zp;
  q->frac_q16 = first->frac_q16;
  q->fake_packed = first->fake_packed;
  q->fake_weights = first->fake_weights;
  q->rounding = first->rounding;
  q->round_scale = first->round_scale;
  q->round_inv_scale = first->round_inv_scale;
  q->round_nf4 = first->round_nf4;
  q->round_zero_point = first->round_zero_point;
  q->packed_group_size = first->packed_group_size;
  q->groupwise = first->groupwise;
  q->group_codes = first->group_codes;
  q->group_codes16 = first->group_codes16;
  q->group_zero_points = first->group_zero_points;
  q->group_code_sums = first->group_code_sums;
  q->group_scales = first->group_scales;
  q->depthwise_groups = first->depthwise_groups;
  q->group_dw = first->group_dw;
  q->stats.weight_sqnr_db = first->stats.weight_sqnr_db;
  q->stats.weight_bits = first->stats.weight_bits;
}

/* A later call @index of a shared layer whose first call is @first: its
 * weights are @first's (borrow_weights); an integer layer's biases and
 * multipliers are made for this call's quantizers from @w, the weights'
 * quantization kept from @first (prepare_weighted_layer), as @first's
 * were: what quantizing the weights again would give, bit for bit. */
static QsEngineStatus
prepare_later_call (QsQuantizedModel    *qm,
                    size_t               index,
                    size_t               first,
                    const QsWeightQuant *w)
{
  const QsEngineLayer *l = &qm->model->layers[index];
  QsQuantLayer *q = &qm->layers[index];
  QsEngineStatus status = QS_ENGINE_OK;

  assert (l->shared_weights && l->packed_f32 == qm->model->layers[first].packed_f32
          && l->weights == qm->model->layers[first].weights);
  borrow_weights (qm->kernels, l, q, &qm->layers[first]);
  if (q->mode == QS_QMODE_INT8 || q->mode == QS_QMODE_INT16)
    {
      assert (w->colsum != NULL);
      status = integer_layer_call (l, q, w, l->kind == QS_LAYER_DEPTHWISE_CONV2D);
    }
  return status == QS_ENGINE_OK ? finish_weighted_layer (qm, l, q) : status;
}

/* ---- the whole preparation --------------------------------------------------------- */

/* Whether layer @l's output value takes its input's quantization
 * parameters instead of its own calibrated range. TFLite's rules: layers
 * that only move, select or pool values (MaxPool, AveragePool, Reshape,
 * Pad, Crop, nearest and bilinear resizing) and ReLU on codes keep the
 * input's scale and zero point, so they need no rescaling and padding is
 * the input's code of 0.0. Layers that compute new values (convolutions,
 * dense, affine, table activations, softmax) and every merge have their
 * own: a merge's inputs are each requantized to the output's parameters
 * (Add, Subtract, Average and Multiply in their integer kernels,
 * Concatenate and Maximum by rescaling each input into the output). */
static bool
shares_input_params (const QsEngineLayer *l)
{
  switch (l->kind)
    {
    case QS_LAYER_MAX_POOL:
    case QS_LAYER_AVERAGE_POOL:
    case QS_LAYER_GLOBAL_AVERAGE_POOL:
    case QS_LAYER_GLOBAL_MAX_POOL:
    case QS_LAYER_FLATTEN:
    case QS_LAYER_RESHAPE:
    case QS_LAYER_PAD:
    case QS_LAYER_CROP:
    case QS_LAYER_UPSAMPLE:
      return true;
    case QS_LAYER_ACTIVATION:
      return qs_layer_is_plain_relu (l);
    default:
      return false;
    }
}

/* AFFINE on codes: a 1 x 1 depthwise convolution with one int8 weight per
 * channel, +-127 with scale |a| / 127 (or 0), so every weight is exact and
 * only the requantization rounds. */
static QsEngineStatus
prepare_affine_layer (QsQuantizedModel    *qm,
                      const QsEngineLayer *l,
                      QsQuantLayer        *q)
{
  size_t n = (size_t) l->out_c;
  QsWeightQuant w;
  QsEngineStatus status;

  memset (&w, 0, sizeof w);
  w.codes = calloc (n, sizeof *w.codes);
  w.zero_int = calloc (n, sizeof *w.zero_int);
  w.zero_frac = calloc (n, sizeof *w.zero_frac);
  w.scale = calloc (n, sizeof *w.scale);
  if (w.codes == NULL || w.zero_int == NULL || w.zero_frac == NULL || w.scale == NULL)
    status = QS_ENGINE_NO_MEMORY;
  else
    {
      for (size_t c = 0; c < n; c++)
        {
          float a = l->affine_scale[c];

          w.codes[c] = a > 0.0f ? 127 : (a < 0.0f ? -127 : 0);
          w.scale[c] = a != 0.0f ? fabs ((double) a) / 127.0 : 1.0;
        }
      status = depthwise_layer_weights (qm, l, q, &w, 8);
      if (status == QS_ENGINE_OK)
        status = integer_layer_call (l, q, &w, true);
    }
  free (w.codes);
  free (w.zero_int);
  free (w.zero_frac);
  free (w.scale);
  if (status != QS_ENGINE_OK)
    return status;
  return finish_weighted_layer (qm, l, q);
}

/* The integer parameters of a merge or table activation; false when the
 * kernels' rules do not cover them (the layer then runs in float). */
static bool
prepare_graph_layer (const QsQuantizedModel *qm,
                     const QsEngineLayer    *l,
                     QsQuantLayer           *q)
{
  const QsEngineModel *model = qm->model;
  double scales[QS_ENGINE_MAX_INPUTS];
  int32_t zeros[QS_ENGINE_MAX_INPUTS];
  bool ok = true;

  for (size_t j = 0; j < l->n_inputs; j++)
    {
      scales[j] = qm->values[l->inputs[j]].scale;
      zeros[j] = qm->values[l->inputs[j]].zero_code;
    }
  q->broadcast_input = -1;
  switch (l->kind)
    {
    case QS_LAYER_ADD:
    case QS_LAYER_SUBTRACT:
    case QS_LAYER_AVERAGE:
      /* Average is the sum on an n times coarser output scale. */
      return qs_add_params_init (l->n_inputs, scales, zeros, l->kind == QS_LAYER_SUBTRACT,
                                 (double) q->out.scale * (l->kind == QS_LAYER_AVERAGE ? (double) l->n_inputs : 1.0),
                                 q->out.zero_code, 0, 255, &q->add);

    case QS_LAYER_MULTIPLY:
      for (size_t j = 0; j < l->n_inputs; j++)
        if (qs_value_size (model, l->inputs[j]) != qs_layer_out_size (l))
          q->broadcast_input = (int) j;
      {
        int a = q->broadcast_input == 0 ? 1 : 0, b = 1 - a;

        return qs_mul_params_init (scales[a], zeros[a], scales[b], zeros[b], q->out.scale,
                                   q->out.zero_code, 0, 255, &q->mul);
      }

    case QS_LAYER_MAXIMUM:
    case QS_LAYER_MINIMUM:
    case QS_LAYER_CONCATENATE:
      for (size_t j = 0; j < l->n_inputs && ok; j++)
        ok = qs_rescale_params_init (scales[j], zeros[j], q->out.scale, q->out.zero_code,
                                     &q->rescale[j]);
      return ok;

    case QS_LAYER_ACTIVATION:
    default:
      qs_lut_build (&l->spec, q->in.scale, q->in.zero_code, q->out.scale, q->out.zero_code, q->table);
      return true;
    }
}

/* PReLU on codes: channel c's table is LeakyReLU's with slope alpha[c]. */
static QsEngineStatus
prepare_prelu_layer (const QsEngineLayer *l,
                     QsQuantLayer        *q)
{
  QsActivationSpec spec;

  q->tables = malloc ((size_t) l->out_c * 256);
  if (q->tables == NULL)
    return QS_ENGINE_NO_MEMORY;
  qs_activation_spec_init (&spec, QS_ACTIVATION_LEAKY_RELU);
  for (size_t c = 0; c < (size_t) l->out_c; c++)
    {
      spec.negative_slope = l->affine_scale[c];
      qs_lut_build (&spec, q->in.scale, q->in.zero_code, q->out.scale, q->out.zero_code, q->tables + c * 256);
    }
  return QS_ENGINE_OK;
}

/* The calls of each weight index (a shared layer's several): the layer
 * of its first call, and what its later calls keep of the first. */
typedef struct {
  int           *first;   /* [n_weighted]: -1 until the first call is prepared */
  bool          *again;   /* [n_weighted]: called more than once */
  QsWeightQuant *kept;    /* [n_weighted]: prepare_weighted_layer's @keep */
} QsWeightCalls;

static void
weight_calls_clear (QsWeightCalls *calls,
                    size_t         n_weighted)
{
  for (size_t i = 0; calls->kept != NULL && i < n_weighted; i++)
    weight_quant_clear (&calls->kept[i]);
  free (calls->first);
  free (calls->again);
  free (calls->kept);
}

static QsEngineStatus
weight_calls_init (QsWeightCalls       *calls,
                   const QsEngineModel *model)
{
  size_t n = model->n_weighted > 0 ? model->n_weighted : 1;

  calls->first = malloc (n * sizeof *calls->first);
  calls->again = calloc (n, sizeof *calls->again);
  calls->kept = calloc (n, sizeof *calls->kept);
  if (calls->first == NULL || calls->again == NULL || calls->kept == NULL)
    return QS_ENGINE_NO_MEMORY;
  for (size_t w = 0; w < model->n_weighted; w++)
    calls->first[w] = -1;
  for (size_t i = 0; i < model->n_layers; i++)
    if (model->layers[i].shared_weights)
      calls->again[model->layers[i].weight_index] = true;
  return QS_ENGINE_OK;
}

/* A weighted layer: its first call quantizes the weights, a later call
 * of a shared layer runs on those (prepare_later_call). */
static QsEngineStatus
prepare_weighted_call (QsQuantizedModel *qm,
                       size_t            index,
                       const QsScheme   *scheme,
                       QsWeightCalls    *calls,
                       char             *message,
                       size_t            message_size)
{
  int w = qm->model->layers[index].weight_index;

  if (calls->first[w] >= 0 && qm->model->layers[index].shared_weights)
    return prepare_later_call (qm, index, (size_t) calls->first[w], &calls->kept[w]);
  calls->first[w] = (int) index;
  return prepare_weighted_layer (qm, index, scheme, calls->again[w] ? &calls->kept[w] : NULL, message,
                                 message_size);
}

/* Quantizers of every value and the integer form of every layer, from
 * the calibrated ranges and one weight scheme per weighted layer. */
static QsEngineStatus
quantize_layers (const QsCalibration  *cal,
                 const QsScheme *const *layer_schemes,
                 QsQuantizedModel     *qm,
                 QsWeightCalls        *calls,
                 char                 *message,
                 size_t                message_size)
{
  const QsEngineModel *model = cal->model;
  const QsActivationScheme *act = &cal->activations;
  size_t prefix = model->n_float_prefix;
  QsScheme act_scheme;
  QsEngineStatus status;

  activation_scheme (act, &act_scheme);
  qm->input_scheme = act_scheme;
  /* The quantized input is the image, or what its preprocessing makes. */
  for (size_t v = 0; v <= prefix; v++)
    {
      status = act_quant_from_range (&act_scheme, cal->lo[v], cal->hi[v], &qm->values[v],
                                     v == prefix ? &qm->input_params : NULL);
      if (status != QS_ENGINE_OK)
        return status;
    }
  qm->input = qm->values[prefix];
  for (size_t i = 0; i < model->n_layers; i++)
    {
      const QsEngineLayer *l = &model->layers[i];
      QsQuantLayer *q = &qm->layers[i];
      bool merge = qs_layer_kind_is_merge (l->kind);

      q->in = qm->values[l->inputs[0]];
      q->runs_in_float = qs_layer_runs_in_float (model, i);
      if (i < prefix)
        {
          q->out = qm->values[i + 1];
          continue;
        }
      if (shares_input_params (l))
        qm->values[i + 1] = q->in;
      else if ((status = act_quant_from_range (&act_scheme, cal->lo[i + 1], cal->hi[i + 1],
                                               &qm->values[i + 1], NULL)) != QS_ENGINE_OK)
        return status;
      q->out = qm->values[i + 1];
      q->float_output = act->float_logits && qs_layer_has_kernel (l) && qs_layer_is_last (model, i);
      /* The integer merges and tables take integer zero points. */
      if (!act->nudge_zero && (merge || l->kind == QS_LAYER_PRELU
                               || (l->kind == QS_LAYER_ACTIVATION && !shares_input_params (l))))
        q->runs_in_float = true;

      if (qs_layer_has_kernel (l))
        {
          status = prepare_weighted_call (qm, i, layer_schemes[l->weight_index], calls, message, message_size);
          if (status != QS_ENGINE_OK)
            return status;
          if (q->mode == QS_QMODE_FLOAT)
            activation_codes (l, &q->out, &q->rq.act_min, &q->rq.act_max);
          continue;
        }
      q->mode = QS_QMODE_NONE;
      activation_codes (l, &q->out, &q->rq.act_min, &q->rq.act_max);
      if (q->runs_in_float)
        continue;
      if (l->kind == QS_LAYER_AFFINE || l->kind == QS_LAYER_PRELU)
        {
          status = l->kind == QS_LAYER_AFFINE ? prepare_affine_layer (qm, l, q) : prepare_prelu_layer (l, q);
          if (status != QS_ENGINE_OK)
            return status;
        }
      else if ((merge || (l->kind == QS_LAYER_ACTIVATION && !shares_input_params (l)))
               && !prepare_graph_layer (qm, l, q))
        q->runs_in_float = true;
    }
  return QS_ENGINE_OK;
}

/* One valid scheme (or NULL) per weighted layer. */
static QsEngineStatus
check_schemes (const QsEngineModel   *model,
               const QsScheme *const *layer_schemes,
               size_t                 n_schemes,
               char                  *message,
               size_t                 message_size)
{
  if (n_schemes != model->n_weighted || (n_schemes > 0 && layer_schemes == NULL))
    {
      qs_engine_set_message (message, message_size, "%zu schemes given for %zu weighted layers",
                             n_schemes, model->n_weighted);
      return QS_ENGINE_INVALID_ARGUMENT;
    }
  for (size_t i = 0; i < n_schemes; i++)
    {
      const char *problem = NULL;

      if (layer_schemes[i] != NULL && qs_scheme_validate (layer_schemes[i], &problem) != QS_OK)
        {
          int li = qs_engine_model_weighted_layer_index (model, i);
          qs_engine_set_message (message, message_size, "scheme of layer “%s”: %s",
                                 model->layers[li].name, problem != NULL ? problem : "invalid");
          return QS_ENGINE_INVALID_ARGUMENT;
        }
    }
  return QS_ENGINE_OK;
}

/* What QsQuantizedLayerStats.kernel says of a weighted layer's mode: the
 * weights' integer type, 64-bit totals or not. */
static const char *
mode_kernel_name (const QsQuantLayer *q)
{
  switch (q->mode)
    {
    case QS_QMODE_INT8:
      return "int8";
    case QS_QMODE_INT16:
      return q->w16 == NULL && q->dw32 == NULL ? "int8" : "int16";
    case QS_QMODE_GROUPWISE:
      return q->stats.weight_bits > 8 ? "int16-groupwise" : "int8-groupwise";
    case QS_QMODE_FLOAT:
      return "float-weights";
    case QS_QMODE_NONE:
    default:
      return "none";
    }
}

static QsEngineStatus
quantize_calibrated (const QsCalibration        *cal,
                     const QsScheme *const      *layer_schemes,
                     size_t                      n_schemes,
                     bool                        with_output_sqnr,
                     const QsEngineRunOptions   *options,
                     size_t                      progress_base,
                     size_t                      progress_total,
                     QsQuantizedModel          **quantized,
                     char                       *message,
                     size_t                      message_size)
{
  const QsEngineModel *model;
  QsQuantizedModel *qm;
  QsWeightCalls calls = { 0 };
  QsEngineStatus status;

  if (quantized != NULL)
    *quantized = NULL;
  if (cal == NULL || quantized == NULL)
    return QS_ENGINE_INVALID_ARGUMENT;
  model = cal->model;
  if ((status = check_schemes (model, layer_schemes, n_schemes, message, message_size)) != QS_ENGINE_OK)
    return status;

  qm = calloc (1, sizeof *qm);
  if (qm == NULL)
    return QS_ENGINE_NO_MEMORY;
  qm->model = model;
  qm->kernels = qs_kernels_get (qs_kernels_detect_isa ());
  qm->graph_kernels = qs_graph_kernels_get (qm->kernels->isa);
  qm->layers = calloc (model->n_layers, sizeof *qm->layers);
  qm->values = calloc (model->n_layers + 1, sizeof *qm->values);
  if (qm->layers == NULL || qm->values == NULL)
    status = QS_ENGINE_NO_MEMORY;
  else if ((status = weight_calls_init (&calls, model)) == QS_ENGINE_OK)
    status = quantize_layers (cal, layer_schemes, qm, &calls, message, message_size);
  weight_calls_clear (&calls, model->n_weighted);
  for (size_t i = 0; status == QS_ENGINE_OK && i < model->n_layers; i++)
    {
      QsQuantLayer *q = &qm->layers[i];

      q->stats.output_sqnr_db = NAN;
      q->stats.kernel = mode_kernel_name (q);
      q->stats.output_scale = q->out.scale;
      q->stats.output_zero_point = q->out.zero_point;
    }
  if (status == QS_ENGINE_OK && with_output_sqnr)
    status = qs_engine_measure_output_sqnr (cal, qm, options, progress_base, progress_total);

  if (status != QS_ENGINE_OK)
    {
      qs_engine_explain_failure (status, message, message_size);
      qs_quantized_model_free (qm);
      return status;
    }
  *quantized = qm;
  return QS_ENGINE_OK;
}

QsEngineStatus
qs_engine_quantize_calibrated (const QsCalibration        *calibrated,
                               const QsScheme *const      *layer_schemes,
                               size_t                      n_schemes,
                               bool                        with_output_sqnr,
                               const QsEngineRunOptions   *options,
                               QsQuantizedModel          **quantized,
                               char                       *message,
                               size_t                      message_size)
{
  qs_engine_set_message (message, message_size, "%s", "");
  return quantize_calibrated (calibrated, layer_schemes, n_schemes, with_output_sqnr, options, 0,
                              calibrated != NULL ? calibrated->count : 0,
                              quantized, message, message_size);
}

QsEngineStatus
qs_engine_prepare_quantized (const QsEngineModel        *model,
                             const QsScheme *const      *layer_schemes,
                             size_t                      n_schemes,
                             const QsActivationScheme   *activations,
                             const QsEngineDataset      *calibration,
                             size_t                      calibration_count,
                             const QsEngineRunOptions   *options,
                             QsQuantizedModel          **quantized,
                             char                       *message,
                             size_t                      message_size)
{
  QsCalibration *cal = NULL;
  QsEngineStatus status;
  size_t count;

  if (quantized != NULL)
    *quantized = NULL;
  qs_engine_set_message (message, message_size, "%s", "");
  if (model == NULL || quantized == NULL || calibration == NULL)
    return QS_ENGINE_INVALID_ARGUMENT;
  /* Schemes are checked before the images run. */
  if ((status = check_schemes (model, layer_schemes, n_schemes, message, message_size)) != QS_ENGINE_OK)
    return status;
  count = calibration_count == 0 || calibration_count > calibration->count ? calibration->count
                                                                           : calibration_count;
  /* Progress counts the calibration images twice: ranges, then SQNR. */
  status = qs_engine_calibrate_values (model, activations, calibration, calibration_count, options, 2 * count,
                                       &cal, message, message_size);
  if (status == QS_ENGINE_OK)
    status = quantize_calibrated (cal, layer_schemes, n_schemes, true, options, count, 2 * count,
                                  quantized, message, message_size);
  qs_calibration_free (cal);
  return status;
}

bool
qs_quantized_model_get_layer_stats (const QsQuantizedModel *qm,
                                    size_t                  weight_index,
                                    QsQuantizedLayerStats  *stats)
{
  int i;

  if (qm == NULL || stats == NULL)
    return false;
  i = qs_engine_model_weighted_layer_index (qm->model, weight_index);
  if (i < 0)
    return false;
  *stats = qm->layers[i].stats;
  return true;
}

/* The bytes of the weight arrays layer @i holds itself, from the sizes
 * they were made with. */
static size_t
layer_weight_bytes (const QsQuantizedModel *qm,
                    size_t                  i)
{
  const QsEngineLayer *l = &qm->model->layers[i];
  const QsQuantLayer *q = &qm->layers[i];
  size_t n = (size_t) l->out_c, count = l->k * n, bytes = q->packed_bytes;
  size_t blocks = q->depthwise_groups.w != NULL ? q->depthwise_groups.groups * n
                                                : q->groupwise.groups_per_channel * n;
  size_t round_blocks = q->rounding.block_rows > 0 ? (l->k + q->rounding.block_rows - 1) / q->rounding.block_rows * n
                                                   : n;

  if (q->borrowed_weights)
    return 0;
  bytes += q->packed_c1 != NULL ? qm->kernels->conv_c1_packed_size (n, l->kernel_h) : 0;
  bytes += q->w16 != NULL ? count * sizeof (int16_t) : 0;
  bytes += q->dw32 != NULL ? count * sizeof (int32_t) : 0;
  bytes += q->weight_zp != NULL ? n * sizeof (int32_t) : 0;
  bytes += q->frac_q16 != NULL ? n * sizeof (int32_t) : 0;
  bytes += q->fake_packed != NULL ? qs_layer_packed_f32_size (qm->model->kernels, l) * sizeof (float) : 0;
  bytes += q->fake_weights != NULL ? count * sizeof (float) : 0;
  bytes += q->round_scale != NULL ? round_blocks * sizeof (float) : 0;
  bytes += q->round_inv_scale != NULL ? round_blocks * sizeof (float) : 0;
  bytes += q->round_zero_point != NULL ? round_blocks * sizeof (float) : 0;
  bytes += q->round_nf4 != NULL ? sizeof *q->round_nf4 : 0;
  bytes += q->group_codes != NULL ? count : 0;
  bytes += q->group_codes16 != NULL ? count * sizeof (int16_t) : 0;
  bytes += q->group_dw != NULL ? count * sizeof (int16_t) : 0;
  bytes += q->group_zero_points != NULL ? blocks * sizeof (int32_t) : 0;
  bytes += q->group_code_sums != NULL ? blocks * sizeof (int32_t) : 0;
  bytes += q->group_scales != NULL ? blocks * sizeof (float) : 0;
  return bytes;
}

size_t
qs_quantized_model_weight_bytes (const QsQuantizedModel *qm)
{
  size_t bytes = 0;

  for (size_t i = 0; qm != NULL && i < qm->model->n_layers; i++)
    bytes += layer_weight_bytes (qm, i);
  return bytes;
}

const char *
qs_quantized_model_get_kernel_name (const QsQuantizedModel *qm)
{
  return qm != NULL ? qm->kernels->name : "none";
}

bool
qs_quantized_model_layer_runs_in_float (const QsQuantizedModel *qm,
                                        size_t                  index)
{
  return qm != NULL && index < qm->model->n_layers && qm->layers[index].runs_in_float;
}

const QsEngineModel *
qs_quantized_model_get_model (const QsQuantizedModel *qm)
{
  return qm != NULL ? qm->model : NULL;
}

const char *
qs_engine_kernel_name (void)
{
  return qs_kernels_get (qs_kernels_detect_isa ())->name;
}
