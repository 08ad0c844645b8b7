/* qs-engine-forward.c: one batch through the layer chain, in float32 and in integers.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Both paths walk the same layers with ping-pong buffers carved from one
 * caller-owned scratch block. Convolutions and dense layers are im2col +
 * GEMM in tiles of QS_ENGINE_TILE_ROWS output pixels (a 1x1 stride-1
 * convolution and a dense layer read their input directly), so the tile's
 * columns and sums stay in the first cache levels. Where the ISA has an
 * indirect int8 GEMM, a convolution's window rows are read in place
 * through pointers and only those across a border are copied. Calibration's
 * pass (qs_engine_forward_fp32_ranges) reads each tile, and each band of
 * depthwise output rows, back for its min/max while it is still cached.
 */
#include "qs-engine-private.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "quant/qs-checked.h"
#include "quant/qs-parallel.h"
#include "quant/qs-params.h"

/* One thread's running min/max, on a cache line of its own. */
typedef struct {
  float lo, hi;
  char  pad[64 - 2 * sizeof (float)];
} QsRangeCell;

typedef struct {
  const QsEngineModel *model;
  size_t   batch;
  uint8_t *f32_base;    /* the float32 path's value slots */
  uint8_t *u8_base;     /* the integer path's value slots */
  float   *act[2];      /* the integer path's float temporaries (over the float slots) */
  void    *cols;
  void    *acc;
  int32_t *rowsum;
  void    *expand;
  uint8_t *zero_row;
  size_t   acc_elems;   /* int32 elements of acc */
  int      split_threads; /* threads a float32 GEMM or depthwise layer may use (1: this one) */
  uint8_t *helper_cols; /* im2col rows of the other threads, cols_bytes apart */
  size_t   cols_bytes;
  uint8_t *end;         /* past the layout (the comparison's extra memory) */
  float   *rounded;     /* a float-format layer's rounded weights (qs_engine_rounding_bytes) */
  /* Calibration (qs_engine_forward_fp32_ranges): the range kernel, and a
   * min/max per thread that GEMM tiles and depthwise bands fold their
   * output into while it is still in cache; observed says the running
   * layer did. NULL range: nothing observed. */
  QsRangeFunc     range;
  QsRangeCell    *cells;
  bool            observed;
} QsScratch;

static size_t
align_up (size_t n)
{
  return (n + 63) & ~(size_t) 63;
}

/* The bytes of one slot for @batch images of @elem_size elements. */
static size_t
slot_bytes (const QsValuePlan *plan,
            size_t             slot,
            size_t             batch,
            size_t             elem_size)
{
  return align_up (batch * plan->slot_elems[slot] * elem_size + QS_KERNEL_SLACK);
}

/* All slots of @plan, or false when the sum overflows. */
static bool
plan_bytes (const QsValuePlan *plan,
            size_t             batch,
            size_t             elem_size,
            size_t            *total)
{
  *total = 0;
  for (size_t i = 0; i < plan->n_slots; i++)
    if (!qs_checked_add_size (*total, slot_bytes (plan, i, batch, elem_size), total))
      return false;
  return true;
}

void
qs_engine_scratch_layout (const QsEngineModel *model,
                          size_t               batch,
                          QsScratchLayout     *layout)
{
  size_t max_elems = (size_t) model->in_h * model->in_w * model->in_c;
  size_t max_k = 1, max_n = 1, max_dw_row = 1, max_expand = 0, max_c = model->in_c;
  size_t parts[8];

  for (size_t i = 0; i < model->n_layers; i++)
    {
      const QsEngineLayer *l = &model->layers[i];
      size_t out = qs_layer_out_size (l);

      max_elems = out > max_elems ? out : max_elems;
      max_c = (size_t) l->out_c > max_c ? (size_t) l->out_c : max_c;
      if (l->kind == QS_LAYER_CONV2D || l->kind == QS_LAYER_DENSE)
        {
          size_t kp = qs_gemm_padded_k (l->k);

          max_k = kp > max_k ? kp : max_k;
          max_n = (size_t) l->out_c > max_n ? (size_t) l->out_c : max_n;
        }
      else if (l->kind == QS_LAYER_DEPTHWISE_CONV2D || l->kind == QS_LAYER_AFFINE)
        {
          size_t row = (size_t) l->out_w * l->out_c;
          size_t expand = (size_t) l->in_h * l->in_w * l->out_c;

          max_dw_row = row > max_dw_row ? row : max_dw_row;
          if (l->multiplier > 1)
            max_expand = expand > max_expand ? expand : max_expand;
        }
    }

  memset (layout, 0, sizeof *layout);
  /* The model's maps are within QS_ENGINE_MAX_MAP_ELEMENTS, but @batch is
   * the caller's: a batch whose buffers cannot be addressed gets a size no
   * allocation satisfies. */
  {
    size_t batch_elems;

    if (!qs_checked_mul3_size (batch, max_elems, sizeof (float), &batch_elems)
        || batch_elems > SIZE_MAX / 8
        || !plan_bytes (&model->plan_f32, batch, sizeof (float), &layout->float_bytes)
        || !plan_bytes (&model->plan_u8, batch, 1, &layout->codes_bytes))
      {
        layout->total = SIZE_MAX;
        return;
      }
  }
  layout->act_bytes = align_up (batch * max_elems * sizeof (float) + QS_KERNEL_SLACK);
  layout->code_bytes = align_up (batch * max_elems + QS_KERNEL_SLACK);
  /* The integer path uses the float slots' memory for two temporaries. */
  if (layout->float_bytes < 2 * layout->act_bytes)
    layout->float_bytes = 2 * layout->act_bytes;
  layout->cols_bytes = align_up (QS_ENGINE_TILE_ROWS * max_k * sizeof (float) + QS_KERNEL_SLACK);
  {
    size_t tile = QS_ENGINE_TILE_ROWS * max_n;
    size_t acc = tile > max_dw_row ? tile : max_dw_row;
    /* The input quantization goes through this tile in chunks, so give it
     * at least one image row's worth. */
    size_t row = (size_t) model->in_w * model->in_c;

    acc = acc > row ? acc : row;
    /* The indirect GEMM's window-row pointers of a tile. */
    acc = acc > QS_ENGINE_TILE_ROWS * QS_GEMM_MAX_SEGMENTS ? acc : QS_ENGINE_TILE_ROWS * QS_GEMM_MAX_SEGMENTS;
    layout->acc_bytes = align_up (acc * sizeof (int64_t));
  }
  layout->rowsum_bytes = align_up (QS_ENGINE_TILE_ROWS * sizeof (int32_t));
  layout->expand_bytes = align_up (max_expand * sizeof (float) + QS_KERNEL_SLACK);
  layout->zero_row_bytes = align_up (max_c + QS_KERNEL_SLACK);
  parts[0] = layout->float_bytes;
  parts[1] = layout->codes_bytes;
  parts[2] = layout->cols_bytes;
  parts[3] = layout->acc_bytes;
  parts[4] = layout->rowsum_bytes;
  parts[5] = layout->expand_bytes;
  parts[6] = layout->zero_row_bytes;
  parts[7] = 64;
  layout->total = 0;
  for (size_t i = 0; i < 8; i++)
    if (!qs_checked_add_size (layout->total, parts[i], &layout->total))
      {
        layout->total = SIZE_MAX;
        return;
      }
}

static void
scratch_carve (const QsEngineModel *model,
               size_t               batch,
               void                *block,
               QsScratch           *s)
{
  QsScratchLayout layout;
  uint8_t *p = (uint8_t *) (((uintptr_t) block + 63) & ~(uintptr_t) 63);

  qs_engine_scratch_layout (model, batch, &layout);
  s->model = model;
  s->batch = batch;
  s->f32_base = p;
  s->act[0] = (float *) p;
  s->act[1] = (float *) (p + layout.act_bytes);
  p += layout.float_bytes;
  s->u8_base = p;
  p += layout.codes_bytes;
  s->cols = p;
  s->cols_bytes = layout.cols_bytes;
  s->split_threads = 1;
  s->helper_cols = NULL;
  p += layout.cols_bytes;
  s->acc = p;
  s->acc_elems = layout.acc_bytes / sizeof (int32_t);
  p += layout.acc_bytes;
  s->rowsum = (int32_t *) p;
  p += layout.rowsum_bytes;
  s->expand = p;
  p += layout.expand_bytes;
  s->zero_row = p;
  s->end = p + layout.zero_row_bytes;
  s->rounded = NULL;
  s->range = NULL;
  s->cells = NULL;
  s->observed = false;
}

static uint8_t *
slot_address (const QsValuePlan *plan,
              uint8_t           *base,
              size_t             batch,
              size_t             elem_size,
              int                slot)
{
  for (int i = 0; i < slot; i++)
    base += slot_bytes (plan, (size_t) i, batch, elem_size);
  return base;
}

/* Where value @v lives on the float32 path (the caller's images for the
 * image and its views). */
static float *
value_f32 (const QsScratch *s,
           const float     *images,
           int              v)
{
  const QsValuePlan *plan = &s->model->plan_f32;
  int r = plan->root[v];

  if (r == QS_ENGINE_INPUT_VALUE)
    return (float *) images;
  return (float *) slot_address (plan, s->f32_base, s->batch, sizeof (float), plan->slot[r]);
}

static uint8_t *
value_u8 (const QsScratch *s,
          int              v)
{
  const QsValuePlan *plan = &s->model->plan_u8;

  return slot_address (plan, s->u8_base, s->batch, 1, plan->slot[plan->root[v]]);
}

/* ---- float32 ------------------------------------------------------------------ */

/* A Conv2D with dilation or groups: per group, the general im2col of
 * its channels and a GEMM writing its columns of the output. */
static void
general_conv_fp32 (const QsEngineModel *model,
                   const QsEngineLayer *l,
                   const float         *packed,
                   const float         *in,
                   size_t               batch,
                   QsScratch           *s,
                   float               *out)
{
  QsConvShape shape = qs_layer_conv_shape (l);
  size_t m = batch * l->out_h * l->out_w, N = (size_t) l->out_c, k = l->k;
  size_t groups = (size_t) l->groups, n = N / groups, cg = (size_t) l->in_c / groups;
  size_t group_size = model->kernels->gemm_f32_packed_size (n, k);

  for (size_t m0 = 0; m0 < m; m0 += QS_ENGINE_TILE_ROWS)
    {
      size_t rows = m - m0 < QS_ENGINE_TILE_ROWS ? m - m0 : QS_ENGINE_TILE_ROWS;

      for (size_t g = 0; g < groups; g++)
        {
          qs_im2col_general_f32 (&shape, l->dilation_h, l->dilation_w, (int) (g * cg), (int) cg,
                                 in, m0, rows, s->cols);
          model->kernels->gemm_f32 (rows, n, k, s->cols, k, packed + g * group_size, l->bias + g * n,
                                    l->lo, l->hi, out + m0 * N + g * n, N);
        }
    }
}

/* The tiles of a Conv2D or Dense layer's GEMM on the float32 path. */
typedef struct {
  const QsEngineModel *model;
  const QsEngineLayer *l;
  const QsConvShape   *shape;
  const float         *in;
  const float         *packed;
  float               *out;
  bool                 direct;
  const QsScratch     *s;
} QsGemmTilesF32;

/* Tile @task (QS_ENGINE_TILE_ROWS output pixels) on thread @worker, whose
 * im2col rows are its own: the tile's sums do not depend on which thread
 * runs it, so a split layer gives the same bits. */
static void
gemm_tile_fp32 (void  *data,
                size_t task,
                int    worker)
{
  const QsGemmTilesF32 *job = data;
  const QsEngineLayer *l = job->l;
  size_t m = job->s->batch * l->out_h * l->out_w, n = (size_t) l->out_c, k = l->k;
  size_t m0 = task * QS_ENGINE_TILE_ROWS;
  size_t rows = m - m0 < QS_ENGINE_TILE_ROWS ? m - m0 : QS_ENGINE_TILE_ROWS;
  const float *a = job->in + m0 * k;

  if (!job->direct)
    {
      float *cols = worker == 0 ? job->s->cols
                                : (float *) (job->s->helper_cols + (size_t) (worker - 1) * job->s->cols_bytes);

      qs_im2col_f32 (job->shape, job->in, m0, rows, cols);
      a = cols;
    }
  job->model->kernels->gemm_f32 (rows, n, k, a, k, job->packed, l->bias, l->lo, l->hi,
                                 job->out + m0 * n, n);
  if (job->s->range != NULL)
    job->s->range (job->out + m0 * n, rows * n, &job->s->cells[worker].lo, &job->s->cells[worker].hi);
}

/* Row bands of one image's float32 depthwise convolution. */
typedef struct {
  const QsEngineModel *model;
  const QsEngineLayer *l;
  const QsConvShape   *shape;
  const float         *in;
  const float         *weights;
  float               *out;
  int                  band_rows;
  const QsScratch     *s;
} QsDepthwiseBandsF32;

/* Output rows [oy0, oy0 + band_rows) of band @task: the image's shape with
 * those rows only, its padding moved up by the rows before them (so
 * negative past the first band: the window starts inside the image). The
 * kernels compute each output from its own taps alone, so a band gives
 * the same bits as the whole image. */
static void
depthwise_band_fp32 (void  *data,
                     size_t task,
                     int    worker)
{
  const QsDepthwiseBandsF32 *job = data;
  QsConvShape band = *job->shape;
  int oy0 = (int) task * job->band_rows;

  band.out_h = band.out_h - oy0 < job->band_rows ? band.out_h - oy0 : job->band_rows;
  float *out = job->out + (size_t) oy0 * band.out_w * band.in_c;

  band.pad_top -= oy0 * band.stride_h;
  job->model->kernels->depthwise_f32 (&band, job->in, job->weights, job->l->bias, job->l->lo, job->l->hi,
                                      out);
  if (job->s->range != NULL)
    job->s->range (out, (size_t) band.out_h * band.out_w * band.in_c, &job->s->cells[worker].lo,
                   &job->s->cells[worker].hi);
}

/* Output elements of a depthwise band whose range is taken on one
 * thread: small enough to be read back from the second cache level. */
#define QS_OBSERVED_BAND_ELEMS (32u << 10)

/* One image's depthwise convolution, split in bands of output rows
 * between the task's threads when it is large enough. */
static void
depthwise_fp32 (const QsEngineModel *model,
                const QsEngineLayer *l,
                const QsConvShape   *shape,
                const float         *in,
                const float         *weights,
                const QsScratch     *s,
                float               *out)
{
  uint64_t macs = (uint64_t) shape->out_h * shape->out_w * shape->in_c * shape->kernel_h * shape->kernel_w;
  /* A few bands per thread, so that a late-starting thread still gets work. */
  int bands = s->split_threads * 4 < shape->out_h ? s->split_threads * 4 : shape->out_h;
  QsDepthwiseBandsF32 job = { model, l, shape, in, weights, out, (shape->out_h + bands - 1) / bands, s };

  if (s->split_threads > 1 && bands > 1 && macs >= QS_ENGINE_SPLIT_DEPTHWISE_MACS)
    qs_parallel_for (s->split_threads, (size_t) ((shape->out_h + job.band_rows - 1) / job.band_rows),
                     depthwise_band_fp32, &job);
  else if (s->range != NULL)
    {
      /* Observed: in bands on this thread, each read back while cached. */
      size_t row = (size_t) shape->out_w * shape->in_c;

      job.band_rows = row < QS_OBSERVED_BAND_ELEMS ? (int) (QS_OBSERVED_BAND_ELEMS / row) : 1;
      for (int t = 0; t * job.band_rows < shape->out_h; t++)
        depthwise_band_fp32 (&job, (size_t) t, 0);
    }
  else
    model->kernels->depthwise_f32 (shape, in, weights, l->bias, l->lo, l->hi, out);
}

/* Runs one layer of the float32 path on its inputs @ins; @weights /
 * @packed override the layer's own (the integer path's float-format
 * layers pass rounded ones). Returns the buffer holding the output
 * (@ins[0] itself for Flatten and Reshape). */
static const float *
layer_fp32 (const QsEngineModel *model,
            const QsEngineLayer *l,
            const float         *weights,
            const float         *packed,
            const float *const  *ins,
            size_t               batch,
            QsScratch           *s,
            float               *out)
{
  QsConvShape shape = qs_layer_conv_shape (l);
  size_t in_size = qs_layer_in_size (l), out_size = qs_layer_out_size (l);
  const float *in = ins[0];

  if (qs_layer_is_view (l))
    return in;
  switch (l->kind)
    {
    case QS_LAYER_CONV2D:
    case QS_LAYER_DENSE:
      {
        size_t m = batch * l->out_h * l->out_w, n = (size_t) l->out_c, k = l->k;
        size_t n_tiles = (m + QS_ENGINE_TILE_ROWS - 1) / QS_ENGINE_TILE_ROWS;
        uint64_t macs = (uint64_t) m * n * k;
        QsGemmTilesF32 job = { model, l, &shape, in, packed, out, qs_layer_is_pointwise (l), s };

        if (qs_layer_is_general_conv (l))
          {
            general_conv_fp32 (model, l, packed, in, batch, s, out);
            return out;
          }
        if (s->split_threads > 1 && n_tiles > 1 && macs >= QS_ENGINE_SPLIT_MACS)
          qs_parallel_for (s->split_threads, n_tiles, gemm_tile_fp32, &job);
        else
          for (size_t t = 0; t < n_tiles; t++)
            gemm_tile_fp32 (&job, t, 0);
        s->observed = s->range != NULL;
        return out;
      }

    case QS_LAYER_DEPTHWISE_CONV2D:
      {
        QsConvShape dw = shape;

        dw.in_c = l->out_c;
        for (size_t b = 0; b < batch; b++)
          {
            const float *src = in + b * in_size;

            if (l->multiplier > 1)
              {
                float *e = s->expand;
                size_t pixels = (size_t) l->in_h * l->in_w;

                for (size_t p = 0; p < pixels; p++)
                  for (int c = 0; c < l->in_c; c++)
                    for (int mm = 0; mm < l->multiplier; mm++)
                      e[(p * l->in_c + c) * l->multiplier + mm] = src[p * l->in_c + c];
                src = e;
              }
            depthwise_fp32 (model, l, &dw, src, weights, s, out + b * out_size);
          }
        s->observed = s->range != NULL;
        return out;
      }

    case QS_LAYER_MAX_POOL:
    case QS_LAYER_AVERAGE_POOL:
    case QS_LAYER_GLOBAL_AVERAGE_POOL:
    case QS_LAYER_GLOBAL_MAX_POOL:
      for (size_t b = 0; b < batch && qs_layer_pools_zero_padding (l); b++)
        qs_max_pool_zero_padded_f32 (&shape, in + b * in_size, out + b * out_size);
      for (size_t b = 0; b < batch && !qs_layer_pools_zero_padding (l); b++)
        qs_pool_f32 (l->kind == QS_LAYER_MAX_POOL || l->kind == QS_LAYER_GLOBAL_MAX_POOL
                       ? QS_POOL_MAX : QS_POOL_AVERAGE,
                     &shape, in + b * in_size, out + b * out_size);
      return out;

    case QS_LAYER_FLATTEN:
    case QS_LAYER_RESHAPE:
      return in;

    default:
      qs_layer_ops_f32 (model, l, ins, batch, out);
      return out;
    }
}

/* The layers the model scores: those up to the output value's. */
static size_t
layers_to_run (const QsEngineModel *model)
{
  return (size_t) qs_model_output_value (model);
}

/* Layer @i of the float32 path on the values in @s; returns its output. */
static const float *
step_fp32 (const QsEngineModel *model,
           size_t               i,
           const float         *images,
           QsScratch           *s)
{
  const QsEngineLayer *l = &model->layers[i];
  const float *ins[QS_ENGINE_MAX_INPUTS];

  for (size_t j = 0; j < l->n_inputs; j++)
    ins[j] = value_f32 (s, images, l->inputs[j]);
  return layer_fp32 (model, l, l->weights, l->packed_f32, ins, s->batch, s,
                     value_f32 (s, images, (int) i + 1));
}

/* Folds the output of layer @i (@out) into the ranges @lo / @hi of its
 * value: from the threads' cells where its tiles or bands were observed
 * as they were written, else in one read. */
static void
observe_value (const QsEngineModel *model,
               size_t               i,
               const float         *out,
               const QsScratch     *s,
               int                  n_cells,
               float               *lo,
               float               *hi)
{
  const QsEngineLayer *l = &model->layers[i];
  size_t v = i + 1;

  /* A view's values are its root's, observed already. */
  if (model->plan_f32.root[v] != (int) v)
    return;
  if (s->observed)
    for (int w = 0; w < n_cells; w++)
      {
        lo[v] = s->cells[w].lo < lo[v] ? s->cells[w].lo : lo[v];
        hi[v] = s->cells[w].hi > hi[v] ? s->cells[w].hi : hi[v];
      }
  else if (l->kind == QS_LAYER_PAD)
    {
      /* The input's values and, unless nothing is added, zeros. */
      int in = model->plan_f32.root[l->inputs[0]];
      bool zeros = qs_layer_adds_zeros (l);
      float in_lo = zeros && 0.0f < lo[in] ? 0.0f : lo[in];
      float in_hi = zeros && 0.0f > hi[in] ? 0.0f : hi[in];

      lo[v] = in_lo < lo[v] ? in_lo : lo[v];
      hi[v] = in_hi > hi[v] ? in_hi : hi[v];
    }
  else
    s->range (out, s->batch * qs_layer_out_size (l), &lo[v], &hi[v]);
}

/* The float32 pass; with @lo / @hi (ranges per value), each value's min
 * and max on the way. */
static QsEngineStatus
forward_fp32 (const QsEngineModel *model,
              const float         *images,
              size_t               batch,
              void                *scratch,
              QsLayerHook          hook,
              void                *hook_data,
              float               *lo,
              float               *hi,
              float               *outputs)
{
  QsScratch s;
  size_t n_run = layers_to_run (model);
  int threads = qs_engine_task_threads ();

  scratch_carve (model, batch, scratch, &s);
  /* Fewer tasks than threads: the other threads take GEMM tiles and
   * depthwise row bands of this batch, each with im2col rows of its own
   * (without them, one thread). */
  if (threads > 1)
    {
      size_t bytes;

      if (qs_checked_mul_size (s.cols_bytes, (size_t) threads - 1, &bytes)
          && (s.helper_cols = aligned_alloc (64, bytes)) != NULL)
        s.split_threads = threads;
    }
  if (lo != NULL)
    {
      s.cells = aligned_alloc (64, (size_t) s.split_threads * sizeof (QsRangeCell));
      if (s.cells == NULL)
        {
          free (s.helper_cols);
          return QS_ENGINE_NO_MEMORY;
        }
      s.range = qs_graph_kernels_get (model->kernels->isa)->range;
    }
  for (size_t i = 0; i < n_run; i++)
    {
      const float *out;

      for (int w = 0; s.range != NULL && w < s.split_threads; w++)
        {
          s.cells[w].lo = INFINITY;
          s.cells[w].hi = -INFINITY;
        }
      s.observed = false;
      out = step_fp32 (model, i, images, &s);
      if (s.range != NULL)
        observe_value (model, i, out, &s, s.split_threads, lo, hi);
      if (hook != NULL)
        hook (hook_data, i, out, batch);
    }
  free (s.helper_cols);
  free (s.cells);
  if (outputs != NULL)
    memcpy (outputs, value_f32 (&s, images, qs_model_output_value (model)),
            batch * qs_engine_model_get_n_outputs (model) * sizeof (float));
  return QS_ENGINE_OK;
}

QsEngineStatus
qs_engine_forward_fp32 (const QsEngineModel *model,
                        const float         *images,
                        size_t               batch,
                        void                *scratch,
                        QsLayerHook          hook,
                        void                *hook_data,
                        float               *outputs)
{
  return forward_fp32 (model, images, batch, scratch, hook, hook_data, NULL, NULL, outputs);
}

QsEngineStatus
qs_engine_forward_fp32_ranges (const QsEngineModel *model,
                               const float         *images,
                               size_t               batch,
                               void                *scratch,
                               float               *lo,
                               float               *hi)
{
  return forward_fp32 (model, images, batch, scratch, NULL, NULL, lo, hi, NULL);
}

/* ---- integers ------------------------------------------------------------------ */

/* Float outputs from one tile of accumulators: the int8 mode's int32 sums or
 * the wide mode's int64 ones, channels [c0, c0 + nc). The 32-bit totals
 * widen exactly to double, so one conversion serves both. */
static void
float_outputs_from_totals (const QsEngineLayer *l,
                           const QsQuantLayer  *q,
                           size_t               rows,
                           size_t               c0,
                           size_t               nc,
                           const void          *acc,
                           const int32_t       *rowsum,
                           float               *out)
{
  size_t n = (size_t) l->out_c;
  bool wide = q->mode != QS_QMODE_INT8;

  for (size_t r = 0; r < rows; r++)
    for (size_t j = 0; j < nc; j++)
      {
        size_t c = c0 + j;
        int32_t rs = rowsum != NULL ? rowsum[r] : 0;
        int64_t total = wide
          ? qs_requantize_total64 (((const int64_t *) acc)[r * nc + j], rs, c, &q->rq64)
          : qs_requantize_total (((const int32_t *) acc)[r * nc + j], rs, c, &q->rq);
        float v = (float) (q->out_dequant[c] * (double) total);

        out[r * n + c] = v < l->lo ? l->lo : (v > l->hi ? l->hi : v);
      }
}

/* The per-channel arrays of requantization parameters from channel @c0 on. */
#define QS_OFFSET_ARRAYS(p, c0)                                  \
  do {                                                           \
    (p).bias = (p).bias != NULL ? (p).bias + (c0) : NULL;        \
    (p).weight_zp = (p).weight_zp != NULL ? (p).weight_zp + (c0) : NULL; \
    (p).multiplier += (c0);                                      \
    (p).right_shift += (c0);                                     \
    (p).left_shift = (p).left_shift != NULL ? (p).left_shift + (c0) : NULL; \
    (p).frac_q16 = (p).frac_q16 != NULL ? (p).frac_q16 + (c0) : NULL; \
  } while (0)

/* Stores @rows rows of accumulators for channels [c0, c0 + nc) (row
 * stride nc) at element @o of the layer output (row stride out_c): as
 * float logits into @fout for the last layer, otherwise requantized to
 * codes into @out. @fout / @out are offset only on the branch that uses
 * them, since the other may be NULL. */
static void
store_tile (const QsEngineLayer *l,
            const QsQuantLayer  *q,
            size_t               rows,
            size_t               c0,
            size_t               nc,
            const void          *acc,
            const int32_t       *rowsum,
            size_t               o,
            uint8_t             *out,
            float               *fout)
{
  size_t n = (size_t) l->out_c;

  if (q->float_output)
    float_outputs_from_totals (l, q, rows, c0, nc, acc, rowsum, fout + o);
  else if (q->mode == QS_QMODE_INT8 && c0 == 0)
    q->requant (rows, nc, acc, nc, rowsum, &q->rq, out + o, n);
  else if (q->mode == QS_QMODE_INT8)
    {
      QsRequantParams rq = q->rq;

      QS_OFFSET_ARRAYS (rq, c0);
      q->requant (rows, nc, acc, nc, rowsum, &rq, out + o + c0, n);
    }
  else
    {
      QsRequantParams64 rq = q->rq64;

      QS_OFFSET_ARRAYS (rq, c0);
      qs_requantize_u8_i64_scalar (rows, nc, acc, nc, rowsum, &rq, out + o + c0, n);
    }
}

/* The int64 sums of a tile in the 64-bit mode: from int16 weights, or
 * from int8 weights past QS_MAX_INT32_K taps, whose int32 sums are exact
 * (qs-engine-quantize.c), widened in place from the last (each int32 is
 * read before its place is written). */
static void
gemm_wide (const QsQuantizedModel *qm,
           const QsQuantLayer     *q,
           size_t                  rows,
           size_t                  n,
           size_t                  k,
           const uint8_t          *a,
           size_t                  lda,
           size_t                  group,
           void                   *acc)
{
  int64_t *acc64 = acc;

  if (q->w16 != NULL)
    {
      qm->kernels->gemm16 (rows, n, k, a, lda, q->w16 + group * n * k, acc64, n);
      return;
    }
  qm->kernels->gemm (rows, n, q->kp, a, lda, (const uint8_t *) q->packed + group * q->packed_group_size,
                     (int32_t *) acc, n);
  for (size_t i = rows * n; i-- > 0;)
    {
      int32_t sum;

      memcpy (&sum, (const uint8_t *) acc + i * sizeof sum, sizeof sum);
      acc64[i] = sum;
    }
}

/* A Conv2D with dilation or groups: per tile and group, the general
 * im2col of the group's channels, its GEMM, its columns requantized. */
static void
general_conv_quant (const QsQuantizedModel *qm,
                    const QsEngineLayer    *l,
                    const QsQuantLayer     *q,
                    const uint8_t          *in,
                    size_t                  batch,
                    QsScratch              *s,
                    uint8_t                *out,
                    float                  *fout)
{
  QsConvShape shape = qs_layer_conv_shape (l);
  size_t m = batch * l->out_h * l->out_w, N = (size_t) l->out_c, k = l->k, kp = q->kp;
  size_t groups = (size_t) l->groups, n = N / groups, cg = (size_t) l->in_c / groups;

  for (size_t m0 = 0; m0 < m; m0 += QS_ENGINE_TILE_ROWS)
    {
      size_t rows = m - m0 < QS_ENGINE_TILE_ROWS ? m - m0 : QS_ENGINE_TILE_ROWS;

      for (size_t g = 0; g < groups; g++)
        {
          const int32_t *rowsum = NULL;

          qs_im2col_general_u8 (&shape, l->dilation_h, l->dilation_w, (int) (g * cg), (int) cg,
                                in, m0, rows, (uint8_t) q->in.zero_code, kp, s->cols);
          if (q->need_rowsum)
            {
              qs_row_sums_u8 (rows, k, s->cols, kp, s->rowsum);
              rowsum = s->rowsum;
            }
          if (q->mode == QS_QMODE_INT8)
            qm->kernels->gemm (rows, n, kp, s->cols, kp,
                               (const uint8_t *) q->packed + g * q->packed_group_size, s->acc, n);
          else
            gemm_wide (qm, q, rows, n, k, s->cols, kp, g, s->acc);
          store_tile (l, q, rows, g * n, n, s->acc, rowsum, m0 * N, out, fout);
        }
    }
}

static void
gemm_layer_quant (const QsQuantizedModel *qm,
                  const QsEngineLayer    *l,
                  const QsQuantLayer     *q,
                  const uint8_t          *in,
                  size_t                  batch,
                  QsScratch              *s,
                  uint8_t                *out,
                  float                  *fout)
{
  QsConvShape shape = qs_layer_conv_shape (l);
  size_t m = batch * l->out_h * l->out_w, n = (size_t) l->out_c, k = l->k, kp = q->kp;
  /* Codes straight from the GEMM's registers, when the ISA can. */
  bool fused = q->mode == QS_QMODE_INT8 && !q->float_output && qm->kernels->gemm_requant != NULL
               && q->rq.left_shift == NULL && q->rq.frac_q16 == NULL;
  /* Window rows read in place, when they are whole groups of four codes
   * and no row sums are needed. */
  size_t span = (size_t) l->kernel_w * l->in_c;
  bool indirect = fused && !q->direct && l->kind == QS_LAYER_CONV2D && !q->need_rowsum
                  && qm->kernels->gemm_requant_indirect != NULL && span % 4 == 0
                  && l->kernel_h <= QS_GEMM_MAX_SEGMENTS;

  if (qs_layer_is_general_conv (l))
    {
      general_conv_quant (qm, l, q, in, batch, s, out, fout);
      return;
    }
  /* A one-channel image with the ISA's direct kernel: one output row at a
   * time, no im2col (the row sums it would need are not computed there). */
  if (q->mode == QS_QMODE_INT8 && q->packed_c1 != NULL && !q->need_rowsum)
    {
      size_t in_size = qs_layer_in_size (l), row = (size_t) l->out_w * n;

      for (size_t b = 0; b < batch; b++)
        for (int oy = 0; oy < l->out_h; oy++)
          {
            size_t o = (b * l->out_h + (size_t) oy) * row;

            qm->kernels->conv_c1 (&shape, in + b * in_size, (uint8_t) q->in.zero_code,
                                  q->packed_c1, n, oy, s->acc);
            store_tile (l, q, l->out_w, 0, n, s->acc, NULL, o, out, fout);
          }
      return;
    }

  /* Rows read in place with codes out need no scratch: chunks of about
   * 16 KB of A (which each pair of channel blocks reads again from L1/L2),
   * rather than a call and a requantizer set-up per 96 rows. */
  if (fused && q->direct && !q->need_rowsum)
    {
      size_t chunk = (16384 / kp + 7) / 8 * 8;

      chunk = chunk > QS_ENGINE_TILE_ROWS ? chunk : QS_ENGINE_TILE_ROWS;
      for (size_t m0 = 0; m0 < m; m0 += chunk)
        qm->kernels->gemm_requant (m - m0 < chunk ? m - m0 : chunk, n, kp, in + m0 * k, k, q->packed, NULL,
                                   &q->rq, out + m0 * n, n);
      return;
    }
  for (size_t m0 = 0; m0 < m; m0 += QS_ENGINE_TILE_ROWS)
    {
      size_t rows = m - m0 < QS_ENGINE_TILE_ROWS ? m - m0 : QS_ENGINE_TILE_ROWS;
      const uint8_t *a;
      size_t lda;
      const int32_t *rowsum = NULL;

      if (indirect)
        {
          const uint8_t **ptrs = s->acc;

          qs_im2col_indirect_u8 (&shape, in, m0, rows, (uint8_t) q->in.zero_code, s->cols, ptrs);
          qm->kernels->gemm_requant_indirect (rows, n, kp, (size_t) l->kernel_h, span, ptrs, q->packed,
                                              &q->rq, out + m0 * n, n);
          continue;
        }
      if (q->direct)
        {
          a = in + m0 * k;
          lda = k;
        }
      else
        {
          qs_im2col_u8 (&shape, in, m0, rows, (uint8_t) q->in.zero_code, kp, s->cols);
          a = s->cols;
          lda = kp;
        }
      if (q->need_rowsum)
        {
          qs_row_sums_u8 (rows, k, a, lda, s->rowsum);
          rowsum = s->rowsum;
        }

      if (fused)
        qm->kernels->gemm_requant (rows, n, kp, a, lda, q->packed, rowsum, &q->rq, out + m0 * n, n);
      else
        {
          if (q->mode == QS_QMODE_INT8)
            qm->kernels->gemm (rows, n, kp, a, lda, q->packed, s->acc, n);
          else
            gemm_wide (qm, q, rows, n, k, a, lda, 0, s->acc);
          store_tile (l, q, rows, 0, n, s->acc, rowsum, m0 * n, out, fout);
        }
    }
}

/* The group-wise kernels' view of a layer's input quantizer. */
static QsGroupwiseInput
groupwise_input (const QsQuantLayer *q)
{
  QsGroupwiseInput input = {
    .scale = q->in.scale,
    .zero_code = q->in.zero_code,
    .zero_frac = q->in.zero_point - (float) q->in.zero_code,
  };

  return input;
}

/* Defined below, with the float-format layers it first served. */
static void store_real_outputs (const QsQuantizedModel *qm,
                                const QsEngineLayer    *l,
                                const QsQuantLayer     *q,
                                float                  *r,
                                size_t                  count,
                                bool                    clamped,
                                uint8_t                *out);

/* Integer weights per channel (int8 or int16 mode: one requantized int32
 * or int64 sum per output), or in groups along the taps (group-wise mode:
 * real outputs from the per-group sums, then quantized as a float-format
 * layer's are). */
static void
depthwise_layer_quant (const QsQuantizedModel *qm,
                       const QsEngineLayer    *l,
                       const QsQuantLayer     *q,
                       const uint8_t          *in,
                       size_t                  batch,
                       QsScratch              *s,
                       uint8_t                *out,
                       float                  *fout)
{
  size_t in_size = qs_layer_in_size (l), C = (size_t) l->out_c;
  QsDepthwiseShape shape = {
    .in_h = l->in_h, .in_w = l->in_w, .channels = l->out_c,
    .kernel_h = l->kernel_h, .kernel_w = l->kernel_w,
    .stride_h = l->stride_h, .stride_w = l->stride_w,
    .pad_top = l->pad_top, .pad_left = l->pad_left,
    .out_h = l->out_h, .out_w = l->out_w,
    .input_zp = q->in.zero_code,
    .zero_row = s->zero_row,
  };
  QsGroupwiseInput input = groupwise_input (q);
  float *y = q->float_output ? fout : s->act[1];

  memset (s->zero_row, q->in.zero_code, C + QS_KERNEL_SLACK);
  for (size_t b = 0; b < batch; b++)
    {
      const uint8_t *src = in + b * in_size;

      if (l->multiplier > 1)
        {
          uint8_t *e = s->expand;
          size_t pixels = (size_t) l->in_h * l->in_w;

          for (size_t p = 0; p < pixels; p++)
            for (int c = 0; c < l->in_c; c++)
              memset (e + (p * l->in_c + c) * l->multiplier, src[p * l->in_c + c], l->multiplier);
          src = e;
        }
      if (q->mode == QS_QMODE_INT8 && !q->float_output)
        {
          /* The whole image, its sums requantized before they leave registers. */
          qm->kernels->depthwise_requant (&shape, src, q->packed, &q->rq, 0, l->out_h,
                                          out + b * qs_layer_out_size (l));
          continue;
        }
      for (int oy = 0; oy < l->out_h; oy++)
        {
          size_t o = ((b * l->out_h + oy) * l->out_w) * C;

          if (q->mode == QS_QMODE_GROUPWISE)
            {
              (qm->kernels->depthwise_groupwise != NULL ? qm->kernels->depthwise_groupwise
                                                        : qs_depthwise_groupwise_u8_scalar)
                (&shape, src, &q->depthwise_groups, &input, l->bias, oy, s->acc, y + o);
              continue;
            }
          if (q->mode == QS_QMODE_INT8)
            qm->kernels->depthwise (&shape, src, q->packed, oy, s->acc);
          else
            qs_depthwise_u8s16_scalar (&shape, src, q->dw32, oy, s->acc);
          store_tile (l, q, l->out_w, 0, C, s->acc, NULL, o, out, fout);
        }
    }
  if (q->mode == QS_QMODE_GROUPWISE)
    store_real_outputs (qm, l, q, y, batch * qs_layer_out_size (l), false, out);
}

/* A layer computed in real numbers: its @count outputs @r through the
 * activation clamp (unless @clamped: a kernel has applied it, and a
 * second changes nothing), then quantized to codes (round half to even,
 * as PyTorch's quantizer), or left as the float logits of the last layer. */
static void
store_real_outputs (const QsQuantizedModel *qm,
                    const QsEngineLayer    *l,
                    const QsQuantLayer     *q,
                    float                  *r,
                    size_t                  count,
                    bool                    clamped,
                    uint8_t                *out)
{
  QsRealQuant p = {
    .lo = clamped ? -INFINITY : l->lo, .hi = clamped ? INFINITY : l->hi,
    .scale = q->out.scale, .zero_point = q->out.zero_point,
    .code_min = q->rq.act_min, .code_max = q->rq.act_max,
  };

  if (q->float_output)
    {
      for (size_t i = 0; i < count && !clamped; i++)
        r[i] = r[i] < p.lo ? p.lo : (r[i] > p.hi ? p.hi : r[i]);
      return;
    }
  qm->kernels->quantize_real (&p, r, count, out);
}

/* @count codes of a value quantized by @q back to real numbers. */
static void
dequantize_codes (const QsQuantizedModel *qm,
                  const QsActQuant       *q,
                  const uint8_t          *codes,
                  size_t                  count,
                  float                  *x)
{
  qm->kernels->dequantize (q->scale, q->zero_point, codes, count, x);
}

/* Rows of a float-weight convolution per fused tile: their codes
 * (im2col'd with stride kp) and dequantized inputs (stride k <= kp)
 * share the float tile buffer, which holds QS_ENGINE_TILE_ROWS rows of
 * kp floats: 4 kp + kp bytes a row, so four fifths of its rows, in whole
 * micro-tiles of 12. A pointwise layer reads its codes in place and takes
 * QS_ENGINE_TILE_ROWS. */
#define QS_FUSED_GEMM_ROWS (QS_ENGINE_TILE_ROWS * 4 / 5 / 12 * 12)

/* Bytes of float outputs per band of a float-weight depthwise layer: a
 * band's inputs and outputs stay in the L2 cache between the steps. */
#define QS_FUSED_BAND_BYTES ((size_t) 192 << 10)

/* A float-weight GEMM tile leaves out its zero inputs (gemm_f32_skip_zeros)
 * where that is exact and pays: on the model's own kernel (finite, as
 * reading it checked; a float format's reconstruction may not be) with
 * a bias without -0.0, and where at least a third of the tile's codes sit
 * at an integer zero point (those dequantize to exactly 0.0) across 64
 * output channels or more; on fewer the kernel's rows have too few sums
 * to hide its extra loads (bench-gemm-f32, its half-zero lines). */
#define QS_SKIP_ZEROS_MIN_CHANNELS 64

static bool
tile_skips_zeros (const QsActQuant *in_q,
                  const uint8_t    *codes,
                  size_t            rows,
                  size_t            k,
                  size_t            lda)
{
  uint8_t zero = (uint8_t) in_q->zero_code;
  size_t zeros = 0, seen = 0;

  if (in_q->zero_point != (float) in_q->zero_code)
    return false;
  /* Every fourth row tells well enough (the choice is about speed only). */
  for (size_t r = 0; r < rows; r += 4, seen += k)
    {
      const uint8_t *row = codes + r * lda;
      unsigned n = 0;

      for (size_t q = 0; q < k; q++)
        n += row[q] == zero;
      zeros += n;
    }
  return 3 * zeros >= seen;
}

/* A float-weight Conv2D or Dense layer tile by tile: each tile's codes
 * are dequantized, multiplied by the float32 GEMM and quantized while in
 * cache, instead of each step passing over the whole batch. Every output
 * is the same in-order sum of the same dequantized inputs as on the
 * whole-batch path (the GEMM's rows do not depend on each other), so the
 * codes are too. Returns false, having done nothing, where the padding of
 * a convolution is not the code of +0.0 (a fractional zero point). */
static bool
fused_float_gemm (const QsQuantizedModel *qm,
                  const QsEngineLayer    *l,
                  const QsQuantLayer     *q,
                  const float            *packed,
                  const uint8_t          *in,
                  size_t                  batch,
                  QsScratch              *s,
                  uint8_t                *out,
                  float                  *fout)
{
  const QsActQuant *in_q = &qm->values[l->inputs[0]];
  QsConvShape shape = qs_layer_conv_shape (l);
  size_t m = batch * l->out_h * l->out_w, n = (size_t) l->out_c, k = l->k;
  size_t kp = qs_gemm_padded_k (k);
  bool direct = qs_layer_is_pointwise (l);
  float *x = s->cols;
  uint8_t *codes = (uint8_t *) s->cols + QS_FUSED_GEMM_ROWS * kp * sizeof (float);
  float pad = ((float) in_q->zero_code - in_q->zero_point) * in_q->scale;
  size_t tile = direct ? QS_ENGINE_TILE_ROWS : QS_FUSED_GEMM_ROWS;

  QsGemmF32Func skip_zeros = qm->model->kernels->gemm_f32_skip_zeros;

  if (!direct && (pad != 0.0f || signbit (pad)))
    return false;
  if (packed != l->packed_f32 || n < QS_SKIP_ZEROS_MIN_CHANNELS || !qs_gemm_f32_skips_zeros_exactly (n, l->bias))
    skip_zeros = NULL;
  for (size_t m0 = 0; m0 < m; m0 += tile)
    {
      size_t rows = m - m0 < tile ? m - m0 : tile;
      const uint8_t *a = in + m0 * k;
      size_t lda = k;
      float *y = q->float_output ? fout + m0 * n : s->act[1];

      if (!direct)
        {
          qs_im2col_u8 (&shape, in, m0, rows, (uint8_t) in_q->zero_code, kp, codes);
          a = codes;
          lda = kp;
        }
      if (lda == k)
        dequantize_codes (qm, in_q, a, rows * k, x);
      else
        for (size_t r = 0; r < rows; r++)
          dequantize_codes (qm, in_q, a + r * lda, k, x + r * k);
      if (skip_zeros != NULL && tile_skips_zeros (in_q, a, rows, k, lda))
        skip_zeros (rows, n, k, x, k, packed, l->bias, l->lo, l->hi, y, n);
      else
        qm->model->kernels->gemm_f32 (rows, n, k, x, k, packed, l->bias, l->lo, l->hi, y, n);
      store_real_outputs (qm, l, q, y, rows * n, true, q->float_output ? NULL : out + m0 * n);
    }
  return true;
}

/* A float-weight depthwise layer in bands of output rows per image: the
 * input rows a band reads are dequantized into a band of their own (the
 * window's padding moved to match), convolved and quantized while in
 * cache. The float32 kernels compute each output from its own taps alone,
 * padded taps as 0.0 either way, so the bits are the whole image's. */
static void
fused_float_depthwise (const QsQuantizedModel *qm,
                       const QsEngineLayer    *l,
                       const QsQuantLayer     *q,
                       const float            *weights,
                       const uint8_t          *in,
                       size_t                  batch,
                       QsScratch              *s,
                       uint8_t                *out,
                       float                  *fout)
{
  const QsActQuant *in_q = &qm->values[l->inputs[0]];
  QsConvShape shape = qs_layer_conv_shape (l);
  size_t in_size = qs_layer_in_size (l), out_size = qs_layer_out_size (l);
  size_t in_row = (size_t) l->in_w * l->in_c, out_row = (size_t) l->out_w * l->out_c;
  int band_rows = (int) (QS_FUSED_BAND_BYTES / (out_row * sizeof (float)));

  band_rows = band_rows < 1 ? 1 : band_rows;
  shape.in_c = l->out_c;
  for (size_t b = 0; b < batch; b++)
    for (int oy0 = 0; oy0 < l->out_h; oy0 += band_rows)
      {
        QsConvShape band = shape;
        int oy1 = l->out_h - oy0 < band_rows ? l->out_h : oy0 + band_rows;
        int iy0 = oy0 * shape.stride_h - shape.pad_top;
        int iy1 = (oy1 - 1) * shape.stride_h - shape.pad_top + shape.kernel_h;
        size_t at = b * out_size + (size_t) oy0 * out_row;
        float *y = q->float_output ? fout + at : s->act[1];

        iy0 = iy0 < 0 ? 0 : iy0;
        iy1 = iy1 > l->in_h ? l->in_h : iy1;
        band.out_h = oy1 - oy0;
        band.in_h = iy1 > iy0 ? iy1 - iy0 : 0;
        band.pad_top = shape.pad_top - oy0 * shape.stride_h + iy0;
        if (band.in_h > 0)
          dequantize_codes (qm, in_q, in + b * in_size + (size_t) iy0 * in_row, (size_t) band.in_h * in_row,
                            s->act[0]);
        qm->model->kernels->depthwise_f32 (&band, s->act[0], weights, l->bias, l->lo, l->hi, y);
        store_real_outputs (qm, l, q, y, (size_t) band.out_h * out_row, true, q->float_output ? NULL : out + at);
      }
}

/* A layer run in float32 between dequantize and quantize: a weighted
 * layer whose weights are in a float format (@weights / @packed its
 * rounded weights), or a layer with no integer kernel (the layer's own).
 * A merge folds its inputs one at a time, each dequantized with its own
 * value's parameters. */
static void
float_layer_quant (const QsQuantizedModel *qm,
                   const QsEngineLayer    *l,
                   const QsQuantLayer     *q,
                   const float            *weights,
                   const float            *packed,
                   const uint8_t *const   *ins,
                   size_t                  batch,
                   QsScratch              *s,
                   uint8_t                *out,
                   float                  *fout)
{
  size_t out_n = batch * qs_layer_out_size (l);
  float *x = s->act[0], *y = q->float_output ? fout : s->act[1];
  const float *r = y;

  /* One image's threads split the whole-batch steps; a lone thread fuses them. */
  if (l->n_inputs == 1 && s->split_threads == 1)
    {
      if ((l->kind == QS_LAYER_CONV2D || l->kind == QS_LAYER_DENSE) && !qs_layer_is_general_conv (l)
          && fused_float_gemm (qm, l, q, packed, ins[0], batch, s, out, fout))
        return;
      if (l->kind == QS_LAYER_DEPTHWISE_CONV2D && l->multiplier == 1)
        {
          fused_float_depthwise (qm, l, q, weights, ins[0], batch, s, out, fout);
          return;
        }
    }
  for (size_t j = 0; j < l->n_inputs; j++)
    {
      const QsActQuant *in_q = &qm->values[l->inputs[j]];
      size_t in_n = batch * qs_value_size (qm->model, l->inputs[j]);

      dequantize_codes (qm, in_q, ins[j], in_n, x);
      if (qs_layer_kind_is_merge (l->kind))
        qs_merge_step_f32 (qm->model, l, j, x, batch, y);
      else
        r = layer_fp32 (qm->model, l, weights, packed, (const float *const *) &x, batch, s, y);
    }
  /* A merge's step does not clamp, so the clamp stays here (after the
   * float32 GEMM, which has clamped already, it changes nothing). */
  store_real_outputs (qm, l, q, (float *) r, out_n, false, out);
}

/* A float-format GEMM layer rounds the model's packed kernel as it runs
 * (QsQuantLayer.rounding): a Conv2D's whole kernel once per forward call
 * when it is at most QS_ROUNDED_LAYER_BYTES (VGG16's largest is 9.4 MB;
 * every tile of the call then reads it), a larger one and every Dense
 * layer (whose weights are each read once a call anyway) a block of
 * about QS_ROUNDED_BLOCK_BYTES of channels at a time, each while the
 * GEMM reads it. Blocks start on QS_ROUNDED_BLOCK_ALIGN channels, a
 * multiple of every packing's panel. */
#define QS_ROUNDED_LAYER_BYTES ((size_t) 16 << 20)
#define QS_ROUNDED_BLOCK_BYTES ((size_t) 1 << 20)
#define QS_ROUNDED_BLOCK_ALIGN 32

static bool
rounded_whole (const QsEngineModel *model,
               const QsEngineLayer *l)
{
  return qs_layer_is_general_conv (l)
         || (l->kind == QS_LAYER_CONV2D
             && qs_layer_packed_f32_size (model->kernels, l) <= QS_ROUNDED_LAYER_BYTES / sizeof (float));
}

static size_t
rounded_block_channels (const QsEngineLayer *l)
{
  size_t nb = QS_ROUNDED_BLOCK_BYTES / ((l->k > 0 ? l->k : 1) * sizeof (float)) / QS_ROUNDED_BLOCK_ALIGN
              * QS_ROUNDED_BLOCK_ALIGN;

  nb = nb < QS_ROUNDED_BLOCK_ALIGN ? QS_ROUNDED_BLOCK_ALIGN : nb;
  return nb < (size_t) l->out_c ? nb : (size_t) l->out_c;
}

size_t
qs_engine_rounding_bytes (const QsQuantizedModel *qm)
{
  const QsKernels *kr;
  size_t floats = 0;

  if (qm == NULL)
    return 0;
  kr = qm->model->kernels;
  for (size_t i = 0; i < qm->model->n_layers; i++)
    if (qs_float_rounding_rounds (&qm->layers[i].rounding))
      {
        const QsEngineLayer *l = &qm->model->layers[i];
        size_t size = rounded_whole (qm->model, l) ? qs_layer_packed_f32_size (kr, l)
                                                   : kr->gemm_f32_packed_size (rounded_block_channels (l), l->k);

        floats = size > floats ? size : floats;
      }
  return floats > 0 ? align_up (floats * sizeof (float) + QS_KERNEL_SLACK) : 0;
}

/* The GEMM of a layer too large to round whole: block by block of
 * channels, each rounded into s->rounded and multiplied with every tile
 * of the input (dequantized whole, im2col'd per tile), as
 * float_layer_quant's unfused path does with the whole kernel: each
 * output is the same sum of the same products. */
static void
rounded_gemm_blocks (const QsQuantizedModel *qm,
                     const QsEngineLayer    *l,
                     const QsQuantLayer     *q,
                     const uint8_t          *in,
                     size_t                  batch,
                     QsScratch              *s,
                     uint8_t                *out,
                     float                  *fout)
{
  const QsKernels *kr = qm->model->kernels;
  QsConvShape shape = qs_layer_conv_shape (l);
  size_t m = batch * l->out_h * l->out_w, n = (size_t) l->out_c, k = l->k;
  size_t nb = rounded_block_channels (l);
  bool direct = qs_layer_is_pointwise (l);
  float *x = s->act[0], *y = q->float_output ? fout : s->act[1];

  dequantize_codes (qm, &qm->values[l->inputs[0]], in, batch * qs_layer_in_size (l), x);
  for (size_t c0 = 0; c0 < n; c0 += nb)
    {
      size_t cols = n - c0 < nb ? n - c0 : nb;

      kr->gemm_f32_round_columns (n, k, l->packed_f32, &q->rounding, c0, cols, s->rounded);
      for (size_t m0 = 0; m0 < m; m0 += QS_ENGINE_TILE_ROWS)
        {
          size_t rows = m - m0 < QS_ENGINE_TILE_ROWS ? m - m0 : QS_ENGINE_TILE_ROWS;
          const float *a = x + m0 * k;

          if (!direct)
            {
              qs_im2col_f32 (&shape, x, m0, rows, s->cols);
              a = s->cols;
            }
          kr->gemm_f32 (rows, cols, k, a, k, s->rounded, l->bias + c0, l->lo, l->hi, y + m0 * n + c0, n);
        }
    }
  store_real_outputs (qm, l, q, y, m * n, false, out);
}

/* A float-format GEMM layer (QsQuantLayer.rounding): as
 * float_layer_quant, on its rounded weights. */
static void
rounded_layer_quant (const QsQuantizedModel *qm,
                     const QsEngineLayer    *l,
                     const QsQuantLayer     *q,
                     const uint8_t *const   *ins,
                     size_t                  batch,
                     QsScratch              *s,
                     uint8_t                *out,
                     float                  *fout)
{
  const QsKernels *kr = qm->model->kernels;
  size_t groups = (size_t) l->groups, n = (size_t) l->out_c / groups;
  size_t group_size = kr->gemm_f32_packed_size (n, l->k);

  if (!rounded_whole (qm->model, l))
    {
      rounded_gemm_blocks (qm, l, q, ins[0], batch, s, out, fout);
      return;
    }
  /* Group g's kernel is columns [g n, (g + 1) n), packed on its own. */
  for (size_t g = 0; g < groups; g++)
    {
      QsFloatRounding rounding = q->rounding;

      rounding.scale += g * n;
      rounding.inv_scale += g * n;
      if (rounding.zero_point != NULL)
        rounding.zero_point += g * n;
      kr->gemm_f32_round_columns (n, l->k, l->packed_f32 + g * group_size, &rounding, 0, n,
                                  s->rounded + g * group_size);
    }
  float_layer_quant (qm, l, q, NULL, s->rounded, ins, batch, s, out, fout);
}

/* Integer groups (Conv2D through im2col, Dense): real outputs from the
 * per-group int32 sums, then quantized as a float-format layer's are, a
 * tile of rows at a time, so only a tile of the float temporary is ever
 * written, never a map (VGG16's first maps are 12.8 MB of floats an
 * image, for each worker). */
static void
groupwise_layer_quant (const QsQuantizedModel *qm,
                       const QsEngineLayer    *l,
                       const QsQuantLayer     *q,
                       const uint8_t          *in,
                       size_t                  batch,
                       QsScratch              *s,
                       uint8_t                *out,
                       float                  *fout)
{
  QsConvShape shape = qs_layer_conv_shape (l);
  size_t m = batch * l->out_h * l->out_w, n = (size_t) l->out_c, k = l->k;
  QsGroupwiseInput input = groupwise_input (q);

  for (size_t m0 = 0; m0 < m; m0 += QS_ENGINE_TILE_ROWS)
    {
      size_t rows = m - m0 < QS_ENGINE_TILE_ROWS ? m - m0 : QS_ENGINE_TILE_ROWS;
      const uint8_t *a = in + m0 * k;
      float *y = q->float_output ? fout + m0 * n : s->act[1];
      size_t lda = k;

      if (l->kind == QS_LAYER_CONV2D)
        {
          qs_im2col_u8 (&shape, in, m0, rows, (uint8_t) q->in.zero_code, q->kp, s->cols);
          a = s->cols;
          lda = q->kp;
        }
      if (q->packed != NULL)
        qm->kernels->groupwise_gemm (rows, a, lda, &q->groupwise, q->packed, &input, l->bias, y, n);
      else
        qs_gemm_groupwise_u8_scalar (rows, a, lda, &q->groupwise, &input, l->bias, y, n);
      store_real_outputs (qm, l, q, y, rows * n, false, out + m0 * n);
    }
}

/* Merges on codes with integer zero points (qs-graph-kernels.h). */
static void
merge_quant (const QsQuantizedModel *qm,
             const QsEngineLayer    *l,
             const QsQuantLayer     *q,
             const uint8_t *const   *ins,
             size_t                  batch,
             QsScratch              *s,
             uint8_t                *out)
{
  const QsGraphKernels *gk = qm->graph_kernels;
  size_t size = qs_layer_out_size (l), C = (size_t) l->out_c;
  size_t pixels = batch * l->out_h * l->out_w;

  switch (l->kind)
    {
    case QS_LAYER_MULTIPLY:
      {
        /* The whole map is a, the broadcast pixel (if any) b. */
        int ia = q->broadcast_input == 0 ? 1 : 0, ib = 1 - ia;

        if (q->broadcast_input < 0)
          gk->mul (&q->mul, ins[ia], ins[ib], batch * size, out, batch * size);
        else
          for (size_t b = 0; b < batch; b++)
            gk->mul (&q->mul, ins[ia] + b * size, ins[ib] + b * C, C, out + b * size, size);
        return;
      }

    case QS_LAYER_MAXIMUM:
    case QS_LAYER_MINIMUM:
      {
        /* Rescaling is monotonic: the largest (smallest) rescaled code is
         * the rescaled largest (smallest) value. */
        uint8_t *tmp = (uint8_t *) s->act[0];
        bool largest = l->kind == QS_LAYER_MAXIMUM;

        gk->rescale (&q->rescale[0], ins[0], pixels, C, C, out, C);
        for (size_t j = 1; j < l->n_inputs; j++)
          {
            gk->rescale (&q->rescale[j], ins[j], pixels, C, C, tmp, C);
            for (size_t i = 0; i < pixels * C; i++)
              out[i] = largest ? (tmp[i] > out[i] ? tmp[i] : out[i]) : (tmp[i] < out[i] ? tmp[i] : out[i]);
          }
        return;
      }

    case QS_LAYER_CONCATENATE:
      {
        size_t offset = 0;

        for (size_t j = 0; j < l->n_inputs; j++)
          {
            size_t cj = qs_value_size (qm->model, l->inputs[j]) / ((size_t) l->out_h * l->out_w);

            gk->rescale (&q->rescale[j], ins[j], pixels, cj, cj, out + offset, C);
            offset += cj;
          }
        return;
      }

    case QS_LAYER_ADD:
    case QS_LAYER_SUBTRACT:
    case QS_LAYER_AVERAGE:
    default:
      gk->add (&q->add, ins, out, batch * size);
      return;
    }
}

static const uint8_t *
layer_quant (const QsQuantizedModel *qm,
             size_t                  i,
             const uint8_t *const   *ins,
             size_t                  batch,
             QsScratch              *s,
             uint8_t                *out,
             float                  *fout)
{
  const QsEngineLayer *l = &qm->model->layers[i];
  const QsQuantLayer *q = &qm->layers[i];
  QsConvShape shape = qs_layer_conv_shape (l);
  size_t in_size = qs_layer_in_size (l), out_size = qs_layer_out_size (l);
  const uint8_t *in = ins[0];

  if (qs_layer_is_view (l))
    return in;
  if (q->mode == QS_QMODE_FLOAT && qs_float_rounding_rounds (&q->rounding))
    {
      rounded_layer_quant (qm, l, q, ins, batch, s, out, fout);
      return out;
    }
  if (q->mode == QS_QMODE_FLOAT)
    {
      /* No rounded copy: an unquantized layer's weights are the model's. */
      float_layer_quant (qm, l, q, q->fake_weights != NULL ? q->fake_weights : l->weights,
                         q->fake_packed != NULL ? q->fake_packed : l->packed_f32, ins, batch, s, out, fout);
      return out;
    }
  if (q->mode == QS_QMODE_GROUPWISE && l->kind != QS_LAYER_DEPTHWISE_CONV2D)
    {
      groupwise_layer_quant (qm, l, q, in, batch, s, out, fout);
      return out;
    }
  if (q->runs_in_float)
    {
      float_layer_quant (qm, l, q, l->weights, l->packed_f32, ins, batch, s, out, fout);
      return out;
    }
  if (qs_layer_kind_is_merge (l->kind))
    {
      merge_quant (qm, l, q, ins, batch, s, out);
      return out;
    }

  switch (l->kind)
    {
    case QS_LAYER_CONV2D:
    case QS_LAYER_DENSE:
      gemm_layer_quant (qm, l, q, in, batch, s, out, fout);
      return out;

    case QS_LAYER_DEPTHWISE_CONV2D:
    case QS_LAYER_AFFINE:
      depthwise_layer_quant (qm, l, q, in, batch, s, out, fout);
      return out;

    case QS_LAYER_MAX_POOL:
    case QS_LAYER_AVERAGE_POOL:
    case QS_LAYER_GLOBAL_AVERAGE_POOL:
    case QS_LAYER_GLOBAL_MAX_POOL:
      for (size_t b = 0; b < batch && qs_layer_pools_zero_padding (l); b++)
        qs_max_pool_zero_padded_u8 (&shape, (uint8_t) q->in.zero_code, in + b * in_size,
                                    out + b * out_size);
      for (size_t b = 0; b < batch && !qs_layer_pools_zero_padding (l); b++)
        qs_pool_u8 (l->kind == QS_LAYER_MAX_POOL || l->kind == QS_LAYER_GLOBAL_MAX_POOL
                      ? QS_POOL_MAX : QS_POOL_AVERAGE,
                    &shape, in + b * in_size, out + b * out_size);
      return out;

    case QS_LAYER_FLATTEN:
    case QS_LAYER_RESHAPE:
      return in;

    case QS_LAYER_PAD:
    case QS_LAYER_CROP:
    case QS_LAYER_UPSAMPLE:
      {
        /* Same parameters in and out: padding is the code of 0.0. */
        uint8_t zero = (uint8_t) q->in.zero_code;

        qs_layer_move (l, in, batch, 1, &zero, out);
        return out;
      }

    case QS_LAYER_PRELU:
      for (size_t e = 0; e < batch * out_size; e++)
        out[e] = q->tables[(e % (size_t) l->out_c) * 256 + in[e]];
      return out;

    case QS_LAYER_ACTIVATION:
    default:
      if (!qs_layer_is_plain_relu (l))
        {
          qm->graph_kernels->lut (q->table, in, out, batch * out_size);
          return out;
        }
      /* ReLU on codes: the floor is the code of 0.0, the cap the code of
       * max (activation_codes keeps 0 <= act_min <= act_max <= 255). */
      qm->graph_kernels->clamp ((uint8_t) q->rq.act_min, (uint8_t) q->rq.act_max, in, out,
                                batch * out_size);
      return out;
    }
}

/* The model input through the input quantizer (qs_quantize_channel, so the
 * codes are exactly those of the quantization core), in tile-sized chunks. */
static void
quantize_input (const QsQuantizedModel *qm,
                const float            *images,
                size_t                  count,
                QsScratch              *s,
                uint8_t                *codes)
{
  int32_t *tmp = s->acc;
  size_t chunk = s->acc_elems;

  for (size_t i0 = 0; i0 < count; i0 += chunk)
    {
      size_t n = count - i0 < chunk ? count - i0 : chunk;

      qs_quantize_channel (&qm->input_params, 0, images + i0, n, tmp);
      for (size_t j = 0; j < n; j++)
        codes[i0 + j] = (uint8_t) (tmp[j] < 0 ? 0 : (tmp[j] > 255 ? 255 : tmp[j]));
    }
}

/* The integer path's input: the image quantized, after the layers that
 * preprocess it ran in float. */
static void
enter_quant (const QsQuantizedModel *qm,
             const float            *images,
             QsScratch              *s)
{
  const QsEngineModel *model = qm->model;
  size_t prefix = model->n_float_prefix;
  const float *real = images;

  for (size_t i = 0; i < prefix; i++)
    real = layer_fp32 (model, &model->layers[i], NULL, NULL, &real, s->batch, s, s->act[i & 1]);
  quantize_input (qm, real, s->batch * qs_value_size (model, (int) prefix), s,
                  value_u8 (s, (int) prefix));
}

/* Layer @i of the integer path: its codes, or, for a layer that keeps
 * float logits, the floats it writes to @logits. */
static const void *
step_quant (const QsQuantizedModel *qm,
            size_t                  i,
            QsScratch              *s,
            float                  *logits)
{
  const QsEngineLayer *l = &qm->model->layers[i];
  const uint8_t *ins[QS_ENGINE_MAX_INPUTS];

  for (size_t j = 0; j < l->n_inputs; j++)
    ins[j] = value_u8 (s, l->inputs[j]);
  if (qm->layers[i].float_output)
    {
      layer_quant (qm, i, ins, s->batch, s, NULL, logits);
      return logits;
    }
  return layer_quant (qm, i, ins, s->batch, s, value_u8 (s, (int) i + 1), NULL);
}

/* The scored value's codes, dequantized: a model whose scored value is
 * not a weighted layer keeping float logits. */
static void
dequantize_scored (const QsQuantizedModel *qm,
                   const QsScratch        *s,
                   float                  *outputs)
{
  int output = qs_model_output_value (qm->model);

  dequantize_codes (qm, &qm->values[output], value_u8 (s, output),
                    s->batch * qs_engine_model_get_n_outputs (qm->model), outputs);
}

/* Layers [@from, scored] of the integer path on the values in @s, layer
 * @from as @at quantized it and the later ones as @rest did (one model
 * for a plain run), into @outputs (NULL: none wanted). The later calls
 * of a shared layer are @at's too: its weights have one scheme, so a
 * branch that quantizes the layer quantizes every call of it. */
static void
run_quant_from (const QsQuantizedModel *at,
                const QsQuantizedModel *rest,
                size_t                  from,
                QsScratch              *s,
                QsLayerHook             hook,
                void                   *hook_data,
                float                  *outputs)
{
  size_t n_run = layers_to_run (rest->model);
  int weight_index = at != rest ? rest->model->layers[from].weight_index : -1;

  for (size_t i = from; i < n_run; i++)
    {
      const QsQuantizedModel *qm
        = i == from || (weight_index >= 0 && rest->model->layers[i].weight_index == weight_index) ? at : rest;
      /* The scored layer writes float logits straight to the caller. */
      const void *out = step_quant (qm, i, s, outputs);

      if (hook != NULL)
        hook (hook_data, i, out, s->batch);
      if (qm->layers[i].float_output)
        return;
    }
  if (outputs != NULL)
    dequantize_scored (rest, s, outputs);
}

QsEngineStatus
qs_engine_forward_quant (const QsQuantizedModel *qm,
                         const float            *images,
                         size_t                  batch,
                         void                   *scratch,
                         QsLayerHook             hook,
                         void                   *hook_data,
                         float                  *outputs)
{
  QsScratch s;

  scratch_carve (qm->model, batch, scratch, &s);
  s.rounded = (float *) s.end;
  enter_quant (qm, images, &s);
  run_quant_from (qm, qm, qm->model->n_float_prefix, &s, hook, hook_data, outputs);
  return QS_ENGINE_OK;
}

/* ---- branches ------------------------------------------------------------------- */

typedef struct {
  const QsEngineBranch *branches;
  size_t                n_branches;
  QsScratch            *trunk;
  QsScratch            *branch;
  const atomic_int     *cancel;
  float                *outputs;    /* the branches' blocks of batch * n_outputs */
  size_t                n_outputs;
  bool                  cancelled;
} QsBranchRun;

/* Copies the codes of the values alive before layer @layer (made before
 * it, read by it or later, or scored) between two scratch blocks of one
 * layout: all a run from @layer on reads of what came before. */
static void
copy_live_values (const QsEngineModel *model,
                  size_t               layer,
                  const QsScratch     *from,
                  QsScratch           *to)
{
  const QsValuePlan *plan = &model->plan_u8;

  for (int v = 0; v <= (int) layer; v++)
    if (plan->root[v] == v && plan->last_use[v] >= (int) layer)
      memcpy (value_u8 (to, v), value_u8 (from, v), from->batch * qs_value_size (model, v));
}

/* Runs every branch leaving the trunk before layer @layer. */
static void
run_branches_at (QsBranchRun *run,
                 size_t       layer)
{
  const QsEngineModel *model = run->trunk->model;

  for (size_t b = 0; b < run->n_branches && !run->cancelled; b++)
    {
      const QsEngineBranch *branch = &run->branches[b];

      if (branch->layer != layer)
        continue;
      if (run->cancel != NULL && atomic_load_explicit (run->cancel, memory_order_relaxed) != 0)
        {
          run->cancelled = true;
          return;
        }
      copy_live_values (model, layer, run->trunk, run->branch);
      run_quant_from (branch->at, branch->rest, layer, run->branch, NULL, NULL,
                      run->outputs + b * run->trunk->batch * run->n_outputs);
    }
}

/* After trunk layer @layer: the branches that leave before the next one. */
static void
branch_hook (void       *data,
             size_t      layer,
             const void *output,
             size_t      batch)
{
  run_branches_at (data, layer + 1);
}

QsEngineStatus
qs_engine_forward_branches (const QsQuantizedModel *trunk,
                            const QsEngineBranch   *branches,
                            size_t                  n_branches,
                            const float            *images,
                            size_t                  batch,
                            void                   *scratch,
                            void                   *branch_scratch,
                            const atomic_int       *cancel,
                            float                  *outputs)
{
  const QsEngineModel *model = trunk->model;
  size_t n_outputs = qs_engine_model_get_n_outputs (model);
  QsScratch s, bs;
  QsBranchRun run = {
    .branches = branches,
    .n_branches = n_branches,
    .trunk = &s,
    .branch = &bs,
    .cancel = cancel,
    .outputs = outputs + batch * n_outputs,
    .n_outputs = n_outputs,
  };

  scratch_carve (model, batch, scratch, &s);
  scratch_carve (model, batch, branch_scratch, &bs);
  s.rounded = (float *) s.end;
  bs.rounded = (float *) bs.end;
  enter_quant (trunk, images, &s);
  run_branches_at (&run, model->n_float_prefix);
  run_quant_from (trunk, trunk, model->n_float_prefix, &s, branch_hook, &run, outputs);
  return run.cancelled ? QS_ENGINE_CANCELLED : QS_ENGINE_OK;
}

size_t
qs_engine_compare_buffer_size (const QsEngineModel *model,
                               size_t               batch)
{
  QsScratchLayout layout;
  size_t logits, total;

  qs_engine_scratch_layout (model, batch, &layout);
  if (layout.total == SIZE_MAX
      || !qs_checked_mul3_size (batch, qs_engine_model_get_n_outputs (model), sizeof (float), &logits)
      || !qs_checked_add_size (layout.total, align_up (logits), &total)
      || !qs_checked_add_size (total, 2 * layout.act_bytes, &total))
    return SIZE_MAX;
  return total;
}

QsEngineStatus
qs_engine_forward_compare (const QsQuantizedModel *qm,
                           const float            *images,
                           size_t                  batch,
                           void                   *scratch,
                           QsCompareHook           hook,
                           void                   *hook_data)
{
  const QsEngineModel *model = qm->model;
  size_t n_run = layers_to_run (model);
  QsScratchLayout layout;
  float *logits;
  QsScratch s;

  /* The integer path's float temporaries move past the layout, off the
   * float32 path's values, which stay alive beside the codes. */
  scratch_carve (model, batch, scratch, &s);
  qs_engine_scratch_layout (model, batch, &layout);
  s.act[0] = (float *) s.end;
  s.act[1] = (float *) (s.end + layout.act_bytes);
  logits = (float *) (s.end + 2 * layout.act_bytes);
  s.rounded = (float *) (s.end + 2 * layout.act_bytes
                         + align_up (batch * qs_engine_model_get_n_outputs (model) * sizeof (float)));
  enter_quant (qm, images, &s);
  for (size_t i = 0; i < n_run; i++)
    {
      const float *real = step_fp32 (model, i, images, &s);

      if (i < model->n_float_prefix)
        continue;
      hook (hook_data, i, real, step_quant (qm, i, &s, logits), batch);
      if (qm->layers[i].float_output)
        break;
    }
  return QS_ENGINE_OK;
}

/* ---- public one-batch entry points ------------------------------------------ */

size_t
qs_engine_get_buffer_size (const QsEngineModel    *model,
                           const QsQuantizedModel *quantized,
                           size_t                  batch)
{
  QsScratchLayout layout;

  if (model == NULL || batch == 0)
    return 0;
  qs_engine_scratch_layout (model, batch, &layout);
  if (layout.total == SIZE_MAX || layout.total > SIZE_MAX - qs_engine_rounding_bytes (quantized))
    return SIZE_MAX;
  return layout.total + qs_engine_rounding_bytes (quantized);
}

/* The arguments both entry points take: a model (and optionally its
 * quantized form), input, output and a large enough scratch block. */
static QsEngineStatus
check_call (const QsEngineModel    *model,
            const QsQuantizedModel *quantized,
            const void             *input,
            size_t                  batch,
            const void             *scratch,
            size_t                  scratch_size,
            const void             *output)
{
  if (model == NULL || model->n_layers == 0)
    return QS_ENGINE_INVALID_ARGUMENT;
  if (quantized != NULL && quantized->model != model)
    return QS_ENGINE_INVALID_ARGUMENT;
  if (input == NULL || output == NULL || scratch == NULL || batch == 0
      || scratch_size < qs_engine_get_buffer_size (model, quantized, batch))
    return QS_ENGINE_INVALID_ARGUMENT;
  return QS_ENGINE_OK;
}

QsEngineStatus
qs_engine_forward (const QsEngineModel    *model,
                   const QsQuantizedModel *quantized,
                   const float            *images,
                   size_t                  batch,
                   void                   *scratch,
                   size_t                  scratch_size,
                   float                  *outputs)
{
  QsEngineStatus status = check_call (model, quantized, images, batch,
                                      scratch, scratch_size, outputs);

  if (status != QS_ENGINE_OK)
    return status;
  if (quantized != NULL)
    return qs_engine_forward_quant (quantized, images, batch, scratch, NULL, NULL, outputs);
  return qs_engine_forward_fp32 (model, images, batch, scratch, NULL, NULL, outputs);
}

QsEngineStatus
qs_engine_run_layer (const QsEngineModel    *model,
                     const QsQuantizedModel *quantized,
                     size_t                  index,
                     const void             *input,
                     size_t                  batch,
                     void                   *scratch,
                     size_t                  scratch_size,
                     void                   *output)
{
  QsEngineStatus status = check_call (model, quantized, input, batch,
                                      scratch, scratch_size, output);
  const QsEngineLayer *l;
  QsScratch s;
  size_t out_n;

  if (status != QS_ENGINE_OK)
    return status;
  if (index >= model->n_layers)
    return QS_ENGINE_INVALID_ARGUMENT;
  l = &model->layers[index];
  if (l->n_inputs != 1)
    return QS_ENGINE_UNSUPPORTED;
  out_n = batch * qs_layer_out_size (l);
  scratch_carve (model, batch, scratch, &s);
  s.rounded = (float *) s.end;

  if (quantized == NULL)
    {
      const float *in = input;
      const float *r = layer_fp32 (model, l, l->weights, l->packed_f32, &in, batch, &s, output);

      if (r != output)
        memcpy (output, r, out_n * sizeof (float));
    }
  else
    {
      const QsQuantLayer *q = &quantized->layers[index];
      const uint8_t *in = input;

      if (q->float_output)
        layer_quant (quantized, index, &in, batch, &s, NULL, output);
      else
        {
          const uint8_t *r = layer_quant (quantized, index, &in, batch, &s, output, NULL);

          if (r != output)
            memcpy (output, r, out_n);
        }
    }
  return QS_ENGINE_OK;
}
