/* qs-engine-model.c: building and inspecting the graph of layers, and batch-norm folding.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "qs-engine-private.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "quant/qs-checked.h"

const char *
qs_engine_status_to_string (QsEngineStatus status)
{
  switch (status)
    {
    case QS_ENGINE_OK:
      return "success";
    case QS_ENGINE_INVALID_ARGUMENT:
      return "invalid argument";
    case QS_ENGINE_NO_MEMORY:
      return "out of memory";
    case QS_ENGINE_UNSUPPORTED:
      return "not supported by the engine";
    case QS_ENGINE_SHAPE_MISMATCH:
      return "shapes do not match";
    case QS_ENGINE_CANCELLED:
      return "cancelled";
    case QS_ENGINE_TOO_LARGE:
      return "sizes too large for the engine";
    default:
      return "unknown status";
    }
}

const char *
qs_layer_kind_to_string (QsLayerKind kind)
{
  switch (kind)
    {
    case QS_LAYER_CONV2D:
      return "Conv2D";
    case QS_LAYER_DEPTHWISE_CONV2D:
      return "DepthwiseConv2D";
    case QS_LAYER_DENSE:
      return "Dense";
    case QS_LAYER_MAX_POOL:
      return "MaxPooling2D";
    case QS_LAYER_AVERAGE_POOL:
      return "AveragePooling2D";
    case QS_LAYER_GLOBAL_AVERAGE_POOL:
      return "GlobalAveragePooling2D";
    case QS_LAYER_FLATTEN:
      return "Flatten";
    case QS_LAYER_ACTIVATION:
      return "Activation";
    case QS_LAYER_ADD:
      return "Add";
    case QS_LAYER_SUBTRACT:
      return "Subtract";
    case QS_LAYER_MULTIPLY:
      return "Multiply";
    case QS_LAYER_AVERAGE:
      return "Average";
    case QS_LAYER_MAXIMUM:
      return "Maximum";
    case QS_LAYER_CONCATENATE:
      return "Concatenate";
    case QS_LAYER_PAD:
      return "ZeroPadding2D";
    case QS_LAYER_CROP:
      return "Cropping2D";
    case QS_LAYER_AFFINE:
      return "Affine";
    case QS_LAYER_GLOBAL_MAX_POOL:
      return "GlobalMaxPooling2D";
    case QS_LAYER_RESHAPE:
      return "Reshape";
    case QS_LAYER_UPSAMPLE:
      return "UpSampling2D";
    case QS_LAYER_FLOAT:
      return "Float";
    case QS_LAYER_LAYER_NORM:
      return "LayerNormalization";
    case QS_LAYER_MINIMUM:
      return "Minimum";
    case QS_LAYER_DIVIDE:
      return "Divide";
    case QS_LAYER_PRELU:
      return "PReLU";
    default:
      return "unknown";
    }
}

/* Whether an @h x @w x @c feature map is within the engine's limit. */
static bool
map_fits (int h,
          int w,
          int c)
{
  size_t elements;

  return h > 0 && w > 0 && c > 0
    && qs_checked_mul3_size ((size_t) h, (size_t) w, (size_t) c, &elements)
    && elements <= QS_ENGINE_MAX_MAP_ELEMENTS;
}

QsEngineModel *
qs_engine_model_new (int height,
                     int width,
                     int channels)
{
  QsEngineModel *model;

  if (!map_fits (height, width, channels))
    return NULL;
  model = calloc (1, sizeof *model);
  if (model == NULL)
    return NULL;
  model->in_h = height;
  model->in_w = width;
  model->in_c = channels;
  model->kernels = qs_kernels_get (qs_kernels_detect_isa ());
  model->output_value = -1;
  if (qs_engine_model_plan (model) != QS_ENGINE_OK)
    {
      qs_engine_model_free (model);
      return NULL;
    }
  return model;
}

static void
layer_clear (QsEngineLayer *layer)
{
  free (layer->name);
  if (!layer->shared_weights)
    {
      free (layer->weights);
      free (layer->bias);
      free (layer->packed_f32);
    }
  free (layer->weight_tensor);
  free (layer->affine_scale);
}

void
qs_engine_model_free (QsEngineModel *model)
{
  if (model == NULL)
    return;
  for (size_t i = 0; i < model->n_layers; i++)
    layer_clear (&model->layers[i]);
  free (model->layers);
  qs_value_plan_clear (&model->plan_f32);
  qs_value_plan_clear (&model->plan_u8);
  free (model);
}

static void
value_shape (const QsEngineModel *model,
             int                  v,
             int                 *h,
             int                 *w,
             int                 *c)
{
  if (v == QS_ENGINE_INPUT_VALUE)
    {
      *h = model->in_h;
      *w = model->in_w;
      *c = model->in_c;
    }
  else
    {
      const QsEngineLayer *l = &model->layers[v - 1];

      *h = l->out_h;
      *w = l->out_w;
      *c = l->out_c;
    }
}

/* A new layer (not yet part of the model) reading the inputs set by
 * qs_engine_model_set_next_inputs, else the last value. Those inputs are
 * used up either way: they were meant for this layer. On failure nothing
 * needs abandoning. */
static QsEngineStatus
append_layer (QsEngineModel  *model,
              const char     *name,
              QsLayerKind     kind,
              QsEngineLayer **out)
{
  QsEngineLayer *layer;
  int inputs[QS_ENGINE_MAX_INPUTS];
  size_t n_inputs = model->n_next_inputs;

  if (n_inputs > 0)
    memcpy (inputs, model->next_inputs, n_inputs * sizeof *inputs);
  else
    {
      inputs[0] = (int) model->n_layers;
      n_inputs = 1;
    }
  model->n_next_inputs = 0;
  if (qs_layer_kind_is_merge (kind) ? n_inputs < 2 : n_inputs != 1)
    return QS_ENGINE_INVALID_ARGUMENT;

  if (model->n_layers == model->capacity)
    {
      size_t capacity = model->capacity ? model->capacity * 2 : 16;
      QsEngineLayer *layers;

      if (capacity > (size_t) INT_MAX / 2)
        return QS_ENGINE_TOO_LARGE;
      layers = realloc (model->layers, capacity * sizeof *layers);
      if (layers == NULL)
        return QS_ENGINE_NO_MEMORY;
      model->layers = layers;
      model->capacity = capacity;
    }
  layer = &model->layers[model->n_layers];
  memset (layer, 0, sizeof *layer);
  layer->name = strdup (name != NULL ? name : qs_layer_kind_to_string (kind));
  if (layer->name == NULL)
    return QS_ENGINE_NO_MEMORY;
  layer->kind = kind;
  memcpy (layer->inputs, inputs, n_inputs * sizeof *inputs);
  layer->n_inputs = n_inputs;
  value_shape (model, inputs[0], &layer->in_h, &layer->in_w, &layer->in_c);
  layer->out_h = layer->in_h;
  layer->out_w = layer->in_w;
  layer->out_c = layer->in_c;
  layer->kernel_h = layer->kernel_w = layer->stride_h = layer->stride_w = 1;
  layer->multiplier = 1;
  layer->activation = QS_ACTIVATION_NONE;
  layer->activation_max = INFINITY;
  layer->lo = -INFINITY;
  layer->hi = INFINITY;
  layer->weight_index = -1;
  layer->dilation_h = layer->dilation_w = layer->groups = 1;
  layer->spec.kind = QS_ACTIVATION_NONE;
  layer->spec.max_value = INFINITY;
  *out = layer;
  return QS_ENGINE_OK;
}

static void
abandon_layer (QsEngineModel *model)
{
  layer_clear (&model->layers[model->n_layers]);
}

static void
set_activation (QsEngineLayer *layer,
                QsActivation   activation,
                float          max)
{
  layer->activation = activation;
  layer->activation_max = activation == QS_ACTIVATION_RELU ? max : INFINITY;
  layer->lo = activation == QS_ACTIVATION_RELU ? 0.0f : -INFINITY;
  layer->hi = activation == QS_ACTIVATION_RELU ? max : INFINITY;
}

/* A ReLU fused into the layer producing @value stands for that layer's
 * clamped output; a new reader of @value wants it unclamped, so the ReLU
 * becomes a layer of its own again. */
static void
unfuse_relu_reading (QsEngineModel *model,
                     int            value)
{
  QsEngineLayer *relu;

  if (value <= QS_ENGINE_INPUT_VALUE || (size_t) value >= model->n_layers)
    return;
  relu = &model->layers[value];
  if (!relu->fused_relu || relu->inputs[0] != value)
    return;
  relu->fused_relu = false;
  set_activation (&model->layers[value - 1], QS_ACTIVATION_NONE, INFINITY);
}

/* The layer appended last becomes part of the model, and the value
 * buffers are planned again with it. */
static QsEngineStatus
commit_layer (QsEngineModel *model)
{
  QsEngineLayer *layer = &model->layers[model->n_layers];
  QsEngineStatus status;

  for (size_t j = 0; j < layer->n_inputs; j++)
    unfuse_relu_reading (model, layer->inputs[j]);
  model->n_layers++;
  status = qs_engine_model_plan (model);
  if (status != QS_ENGINE_OK)
    {
      model->n_layers--;
      abandon_layer (model);
      /* The plan of the model without it still stands. */
      (void) qs_engine_model_plan (model);
      return status;
    }
  if (qs_layer_has_kernel (layer))
    layer->weight_index = (int) model->n_weighted++;
  return QS_ENGINE_OK;
}

/* Output size and leading padding along one axis, in 64 bits: with a
 * stride near 2^31, (in + stride - 1) and (out - 1) * stride overflow an
 * int. The far edge of the last window, (out - 1) * stride + kernel, must
 * fit an int, since the kernels compute window positions in int. */
static QsEngineStatus
window_geometry (int        in,
                 int        kernel,
                 int        stride,
                 QsPadding  padding,
                 int       *out,
                 int       *pad_before)
{
  int64_t n, extent;

  if (in <= 0 || kernel <= 0 || stride <= 0)
    return QS_ENGINE_INVALID_ARGUMENT;
  if (padding == QS_PADDING_SAME)
    n = ((int64_t) in + stride - 1) / stride;
  else if (in < kernel)
    return QS_ENGINE_SHAPE_MISMATCH;
  else
    n = ((int64_t) in - kernel) / stride + 1;
  extent = (n - 1) * (int64_t) stride + kernel;
  if (extent > INT_MAX)
    return QS_ENGINE_TOO_LARGE;
  *out = (int) n;
  *pad_before = padding == QS_PADDING_SAME && extent > in ? (int) ((extent - in) / 2) : 0;
  return QS_ENGINE_OK;
}

/* The extent of @kernel taps @dilation apart, or 0 when it does not fit an int. */
static int
dilated_extent (int kernel,
                int dilation)
{
  int64_t extent = ((int64_t) kernel - 1) * dilation + 1;

  return kernel > 0 && extent <= INT_MAX ? (int) extent : 0;
}

static QsEngineStatus
set_window (QsEngineLayer      *layer,
            const QsConvParams *p)
{
  QsEngineStatus status;
  int extent_h, extent_w;

  if (p->padding != QS_PADDING_SAME && p->padding != QS_PADDING_VALID)
    return QS_ENGINE_INVALID_ARGUMENT;
  layer->kernel_h = p->kernel_h;
  layer->kernel_w = p->kernel_w;
  layer->stride_h = p->stride_h;
  layer->stride_w = p->stride_w;
  /* A dilated window covers (k - 1) * d + 1 pixels: Keras's output size
   * and 'same' padding are those of a kernel that large. */
  extent_h = dilated_extent (p->kernel_h, layer->dilation_h);
  extent_w = dilated_extent (p->kernel_w, layer->dilation_w);
  if (extent_h == 0 || extent_w == 0)
    return p->kernel_h <= 0 || p->kernel_w <= 0 ? QS_ENGINE_INVALID_ARGUMENT : QS_ENGINE_TOO_LARGE;
  status = window_geometry (layer->in_h, extent_h, p->stride_h, p->padding, &layer->out_h, &layer->pad_top);
  if (status == QS_ENGINE_OK)
    status = window_geometry (layer->in_w, extent_w, p->stride_w, p->padding, &layer->out_w, &layer->pad_left);
  return status;
}


static bool
valid_activation (QsActivation activation,
                  float        max)
{
  return activation == QS_ACTIVATION_NONE
    || (activation == QS_ACTIVATION_RELU && !isnan (max) && max > 0.0f);
}

static bool
all_finite (const float *v,
            size_t       count)
{
  for (size_t i = 0; i < count; i++)
    if (!isfinite (v[i]))
      return false;
  return true;
}

/* A packed float32 kernel on a cache line: gemm_f32_skip_zeros reads
 * whole weight rows at random k, and a 64-byte load that straddles two
 * lines costs two (malloc gives large blocks 16 bytes past a page). */
static float *
alloc_packed_f32 (size_t floats)
{
  size_t bytes;

  if (!qs_checked_mul_size (floats, sizeof (float), &bytes) || bytes > SIZE_MAX - 63)
    return NULL;
  return aligned_alloc (64, bytes == 0 ? 64 : (bytes + 63) & ~(size_t) 63);
}

/* Floats of a GEMM kernel read and packed at a time: a kernel given a
 * block at a time (qs_engine_model_add_dense_rows) is never whole in
 * memory beside its packed copy, however large. */
#define QS_PACK_BLOCK_ELEMENTS ((size_t) 1 << 20)

/* Rows of @layer's kernel read and packed at a time. */
static size_t
pack_block_rows (const QsEngineLayer *layer)
{
  size_t block_rows = QS_PACK_BLOCK_ELEMENTS / (size_t) layer->out_c;

  block_rows = block_rows > 0 ? block_rows : 1;
  return block_rows < layer->k ? block_rows : layer->k;
}

/* Group g's kernel is columns [g n, (g + 1) n), packed on its own. */
void
qs_layer_pack_f32_rows (const QsKernels     *kernels,
                        const QsEngineLayer *l,
                        size_t               row0,
                        size_t               rows,
                        const float         *block,
                        float               *packed)
{
  size_t groups = (size_t) l->groups, N = (size_t) l->out_c, n = N / groups;
  size_t group_size = kernels->gemm_f32_packed_size (n, l->k);

  for (size_t g = 0; g < groups; g++)
    kernels->gemm_f32_pack_rows (n, l->k, block + g * n, N, row0, rows, packed + g * group_size);
}

/* Copies the bias and the kernel, whose floats must all be finite: a
 * depthwise kernel as it is (its float32 kernel reads it so), a GEMM
 * kernel only packed for the float32 GEMM, which is all the float32 path
 * reads; quantizing reads its rows back (qs_layer_kernel_rows). One float
 * copy of the weights, not two. */
static QsEngineStatus
set_weights_rows (QsEngineModel    *model,
                  QsEngineLayer    *layer,
                  size_t            k,
                  QsKernelRowsFunc  read_rows,
                  void             *data,
                  const float      *bias)
{
  const QsKernels *kr = model->kernels;
  size_t N = (size_t) layer->out_c, count, block_rows;
  float *block;

  if (!map_fits (layer->out_h, layer->out_w, layer->out_c)
      || !qs_checked_mul_size (k, N, &count) || count > QS_ENGINE_MAX_WEIGHTS)
    return QS_ENGINE_TOO_LARGE;
  if (bias != NULL && !all_finite (bias, N))
    return QS_ENGINE_INVALID_ARGUMENT;

  layer->k = k;
  layer->bias = calloc (N, sizeof (float));
  if (layer->bias == NULL)
    return QS_ENGINE_NO_MEMORY;
  if (bias != NULL)
    memcpy (layer->bias, bias, N * sizeof (float));
  if (layer->kind == QS_LAYER_DEPTHWISE_CONV2D)
    {
      layer->weights = malloc (count * sizeof (float));
      if (layer->weights == NULL)
        return QS_ENGINE_NO_MEMORY;
      if (!read_rows (data, 0, k, layer->weights))
        return QS_ENGINE_INVALID_ARGUMENT;
      return all_finite (layer->weights, count) ? QS_ENGINE_OK : QS_ENGINE_INVALID_ARGUMENT;
    }

  block_rows = pack_block_rows (layer);
  block = malloc (block_rows * N * sizeof (float));
  if (block == NULL)
    return QS_ENGINE_NO_MEMORY;
  for (size_t r0 = 0; r0 < k; r0 += block_rows)
    {
      size_t rows = k - r0 < block_rows ? k - r0 : block_rows;

      if (!read_rows (data, r0, rows, block) || !all_finite (block, rows * N))
        {
          free (block);
          return QS_ENGINE_INVALID_ARGUMENT;
        }
      /* After the first block: a file that cannot give its kernel (one
       * declaring a gigabyte it does not store) fails on the read, not
       * on taking the memory. */
      if (layer->packed_f32 == NULL
          && (layer->packed_f32 = alloc_packed_f32 (qs_layer_packed_f32_size (kr, layer))) == NULL)
        {
          free (block);
          return QS_ENGINE_NO_MEMORY;
        }
      qs_layer_pack_f32_rows (kr, layer, r0, rows, block, layer->packed_f32);
    }
  free (block);
  return QS_ENGINE_OK;
}

typedef struct {
  const float *kernel;
  size_t       row_size;
} QsKernelInMemory;

static bool
kernel_in_memory_rows (void   *data,
                       size_t  row0,
                       size_t  rows,
                       float  *out)
{
  const QsKernelInMemory *m = data;

  memcpy (out, m->kernel + row0 * m->row_size, rows * m->row_size * sizeof (float));
  return true;
}

static QsEngineStatus
set_weights (QsEngineModel *model,
             QsEngineLayer *layer,
             size_t         k,
             const float   *kernel,
             const float   *bias)
{
  QsKernelInMemory source = { kernel, (size_t) layer->out_c };

  return set_weights_rows (model, layer, k, kernel_in_memory_rows, &source, bias);
}

QsEngineStatus
qs_layer_kernel_rows (const QsEngineModel *model,
                      const QsEngineLayer *l,
                      size_t               row0,
                      size_t               rows,
                      float               *out)
{
  size_t groups, N = (size_t) l->out_c, n, group_size;

  if (!qs_layer_has_kernel (l) || row0 > l->k || rows > l->k - row0)
    return QS_ENGINE_INVALID_ARGUMENT;
  if (l->weights != NULL)
    {
      memcpy (out, l->weights + row0 * N, rows * N * sizeof (float));
      return QS_ENGINE_OK;
    }
  /* Group g's kernel is columns [g n, (g + 1) n), packed on its own. */
  groups = (size_t) l->groups;
  n = N / groups;
  group_size = model->kernels->gemm_f32_packed_size (n, l->k);
  for (size_t g = 0; g < groups; g++)
    model->kernels->gemm_f32_unpack (n, l->k, l->packed_f32 + g * group_size, row0, rows, out + g * n, N);
  return QS_ENGINE_OK;
}

float *
qs_layer_kernel_copy (const QsEngineModel *model,
                      const QsEngineLayer *l)
{
  float *kernel = malloc (l->k * (size_t) l->out_c * sizeof (float));

  if (kernel != NULL && qs_layer_kernel_rows (model, l, 0, l->k, kernel) != QS_ENGINE_OK)
    {
      free (kernel);
      return NULL;
    }
  return kernel;
}

size_t
qs_layer_packed_f32_size (const QsKernels     *kernels,
                          const QsEngineLayer *l)
{
  size_t groups = (size_t) l->groups, n = (size_t) l->out_c / groups;

  return groups * kernels->gemm_f32_packed_size (n, l->k);
}

QsEngineStatus
qs_layer_pack_f32 (const QsKernels     *kernels,
                   const QsEngineLayer *l,
                   const float         *weights,
                   float               *packed)
{
  size_t groups = (size_t) l->groups, N = (size_t) l->out_c, n = N / groups, k = l->k;
  size_t group_size = kernels->gemm_f32_packed_size (n, k);
  float *slice;

  if (groups == 1)
    {
      kernels->gemm_f32_pack (n, k, weights, packed);
      return QS_ENGINE_OK;
    }
  /* Group g's kernel is columns [g n, (g + 1) n) of the [k][N] matrix. */
  slice = malloc (k * n * sizeof (float));
  if (slice == NULL)
    return QS_ENGINE_NO_MEMORY;
  for (size_t g = 0; g < groups; g++)
    {
      for (size_t r = 0; r < k; r++)
        memcpy (slice + r * n, weights + r * N + g * n, n * sizeof (float));
      kernels->gemm_f32_pack (n, k, slice, packed + g * group_size);
    }
  free (slice);
  return QS_ENGINE_OK;
}

static QsEngineStatus
finish_add (QsEngineModel  *model,
            QsEngineStatus  status)
{
  if (status == QS_ENGINE_OK)
    return commit_layer (model);
  abandon_layer (model);
  return status;
}

/* Conv2D and DepthwiseConv2D share the checks, the window and the
 * activation; they differ in the output channels and the taps per output. */
static QsEngineStatus
add_windowed (QsEngineModel      *model,
              const char         *name,
              QsLayerKind         kind,
              const QsConvParams *p,
              const float        *kernel,
              const float        *bias)
{
  QsEngineLayer *layer;
  QsEngineStatus status;
  size_t k;

  int groups = p != NULL && p->groups > 1 ? p->groups : 1;

  if (model == NULL || p == NULL || kernel == NULL || p->filters <= 0
      || !valid_activation (p->activation, p->activation_max)
      || p->dilation_h < 0 || p->dilation_w < 0 || p->groups < 0)
    return QS_ENGINE_INVALID_ARGUMENT;
  /* Keras's depthwise layers have no groups (a dilated one arrives here
   * as the grouped convolution it is). */
  if (kind == QS_LAYER_DEPTHWISE_CONV2D && (groups > 1 || p->dilation_h > 1 || p->dilation_w > 1))
    return QS_ENGINE_INVALID_ARGUMENT;
  if ((status = append_layer (model, name, kind, &layer)) != QS_ENGINE_OK)
    return status;
  layer->dilation_h = p->dilation_h > 1 ? p->dilation_h : 1;
  layer->dilation_w = p->dilation_w > 1 ? p->dilation_w : 1;
  layer->groups = groups;
  if ((status = set_window (layer, p)) != QS_ENGINE_OK)
    return finish_add (model, status);
  if (kind == QS_LAYER_DEPTHWISE_CONV2D)
    {
      /* Keras's (kh, kw, in, multiplier) is already [taps][in * multiplier]
       * with output channel c * multiplier + m. */
      layer->multiplier = p->filters;
      if (!qs_checked_mul_int (layer->in_c, p->filters, &layer->out_c))
        return finish_add (model, QS_ENGINE_TOO_LARGE);
      if (!qs_checked_mul_size ((size_t) p->kernel_h, (size_t) p->kernel_w, &k))
        return finish_add (model, QS_ENGINE_TOO_LARGE);
    }
  else
    {
      /* Keras's grouped kernel is (kh, kw, in / groups, out): group g's
       * outputs [g out / groups, ...) read its inputs [g in / groups, ...). */
      if (layer->in_c % groups != 0)
        return finish_add (model, QS_ENGINE_SHAPE_MISMATCH);
      if (p->filters % groups != 0)
        return finish_add (model, QS_ENGINE_INVALID_ARGUMENT);
      layer->out_c = p->filters;
      if (!qs_checked_mul3_size ((size_t) p->kernel_h, (size_t) p->kernel_w,
                                 (size_t) (layer->in_c / groups), &k))
        return finish_add (model, QS_ENGINE_TOO_LARGE);
    }
  set_activation (layer, p->activation, p->activation_max);
  return finish_add (model, set_weights (model, layer, k, kernel, bias));
}

QsEngineStatus
qs_engine_model_add_conv2d (QsEngineModel      *model,
                            const char         *name,
                            const QsConvParams *p,
                            const float        *kernel,
                            const float        *bias)
{
  return add_windowed (model, name, QS_LAYER_CONV2D, p, kernel, bias);
}

QsEngineStatus
qs_engine_model_add_depthwise (QsEngineModel      *model,
                               const char         *name,
                               const QsConvParams *p,
                               const float        *kernel,
                               const float        *bias)
{
  int input, h, w, c;
  QsConvParams grouped;

  if (model == NULL || p == NULL || (p->dilation_h <= 1 && p->dilation_w <= 1) || p->groups > 1
      || model->n_next_inputs > 1)
    return add_windowed (model, name, QS_LAYER_DEPTHWISE_CONV2D, p, kernel, bias);
  /* The depthwise kernels walk undilated windows: a dilated one runs as
   * the grouped convolution it is, one group per input channel. Keras's
   * (kh, kw, in, multiplier) kernel is already the grouped (kh, kw, 1,
   * in * multiplier), output channel c * multiplier + m in both. */
  input = model->n_next_inputs == 1 ? model->next_inputs[0] : (int) model->n_layers;
  value_shape (model, input, &h, &w, &c);
  grouped = *p;
  grouped.groups = c;
  if (p->filters <= 0 || !qs_checked_mul_int (c, p->filters, &grouped.filters))
    return add_windowed (model, name, QS_LAYER_DEPTHWISE_CONV2D, p, kernel, bias);
  return add_windowed (model, name, QS_LAYER_CONV2D, &grouped, kernel, bias);
}

QsEngineStatus
qs_engine_model_add_dense_rows (QsEngineModel    *model,
                                const char       *name,
                                int               units,
                                QsActivation      activation,
                                float             activation_max,
                                QsKernelRowsFunc  read_rows,
                                void             *data,
                                const float      *bias)
{
  QsEngineLayer *layer;
  QsEngineStatus status;

  if (model == NULL || read_rows == NULL || units <= 0 || !valid_activation (activation, activation_max))
    return QS_ENGINE_INVALID_ARGUMENT;
  if ((status = append_layer (model, name, QS_LAYER_DENSE, &layer)) != QS_ENGINE_OK)
    return status;
  /* On an unflattened input Dense acts on the last axis at every position:
   * a 1x1 convolution, which is how both paths run it. */
  layer->out_c = units;
  set_activation (layer, activation, activation_max);
  return finish_add (model, set_weights_rows (model, layer, (size_t) layer->in_c, read_rows, data, bias));
}

QsEngineStatus
qs_engine_model_add_dense (QsEngineModel *model,
                           const char    *name,
                           int            units,
                           QsActivation   activation,
                           float          activation_max,
                           const float   *kernel,
                           const float   *bias)
{
  QsKernelInMemory source = { kernel, units > 0 ? (size_t) units : 0 };

  if (kernel == NULL)
    return QS_ENGINE_INVALID_ARGUMENT;
  return qs_engine_model_add_dense_rows (model, name, units, activation, activation_max, kernel_in_memory_rows,
                                         &source, bias);
}

QsEngineStatus
qs_engine_model_add_pool (QsEngineModel      *model,
                          const char         *name,
                          QsLayerKind         kind,
                          const QsConvParams *p)
{
  QsEngineLayer *layer;
  QsEngineStatus status;

  if (model == NULL || p == NULL || (kind != QS_LAYER_MAX_POOL && kind != QS_LAYER_AVERAGE_POOL))
    return QS_ENGINE_INVALID_ARGUMENT;
  if ((status = append_layer (model, name, kind, &layer)) != QS_ENGINE_OK)
    return status;
  return finish_add (model, set_window (layer, p));
}

/* GlobalAveragePooling2D and GlobalMaxPooling2D: one window over the
 * whole map (keepdims or not, the memory is the same 1 x 1 x C). */
static QsEngineStatus
add_global_pool (QsEngineModel *model,
                 const char    *name,
                 QsLayerKind    kind)
{
  QsEngineLayer *layer;
  QsEngineStatus status;

  if (model == NULL)
    return QS_ENGINE_INVALID_ARGUMENT;
  if ((status = append_layer (model, name, kind, &layer)) != QS_ENGINE_OK)
    return status;
  layer->kernel_h = layer->in_h;
  layer->kernel_w = layer->in_w;
  layer->out_h = layer->out_w = 1;
  return finish_add (model, QS_ENGINE_OK);
}

QsEngineStatus
qs_engine_model_add_global_average_pool (QsEngineModel *model,
                                         const char    *name)
{
  return add_global_pool (model, name, QS_LAYER_GLOBAL_AVERAGE_POOL);
}

QsEngineStatus
qs_engine_model_add_global_max_pool (QsEngineModel *model,
                                     const char    *name)
{
  return add_global_pool (model, name, QS_LAYER_GLOBAL_MAX_POOL);
}

QsEngineStatus
qs_engine_model_add_flatten (QsEngineModel *model,
                             const char    *name)
{
  QsEngineLayer *layer;
  QsEngineStatus status;

  if (model == NULL)
    return QS_ENGINE_INVALID_ARGUMENT;
  if ((status = append_layer (model, name, QS_LAYER_FLATTEN, &layer)) != QS_ENGINE_OK)
    return status;
  /* NHWC memory is already Keras's flattening order (h, w, c). Every map
   * was checked against QS_ENGINE_MAX_MAP_ELEMENTS, so the product fits an
   * int; checked all the same, as every size from a file is. */
  layer->out_h = layer->out_w = 1;
  if (!qs_checked_mul_int (layer->in_h, layer->in_w, &layer->out_c)
      || !qs_checked_mul_int (layer->out_c, layer->in_c, &layer->out_c))
    return finish_add (model, QS_ENGINE_TOO_LARGE);
  return finish_add (model, QS_ENGINE_OK);
}

/* The last layer, when a fused activation or a folded batch norm can
 * change it: a convolution or dense layer without an activation, whose
 * value is what the next layer reads and nothing else (not the scored
 * value) reads so far. */
static QsEngineLayer *
last_weighted_unactivated (QsEngineModel *model)
{
  QsEngineLayer *last;

  if (model->n_layers == 0)
    return NULL;
  if (model->n_next_inputs > 1
      || (model->n_next_inputs == 1 && model->next_inputs[0] != (int) model->n_layers))
    return NULL;
  last = &model->layers[model->n_layers - 1];
  if (!qs_layer_has_kernel (last) || last->activation != QS_ACTIVATION_NONE
      || model->output_value == (int) model->n_layers)
    return NULL;
  return last;
}

QsEngineStatus
qs_engine_model_add_activation (QsEngineModel *model,
                                const char    *name,
                                QsActivation   activation,
                                float          max)
{
  QsEngineLayer *layer;
  int weighted;
  QsEngineStatus status;

  if (model == NULL || !valid_activation (activation, max))
    return QS_ENGINE_INVALID_ARGUMENT;
  if (activation == QS_ACTIVATION_NONE)
    {
      int h, w, c;

      if (model->n_next_inputs != 1 || model->next_inputs[0] == (int) model->n_layers)
        {
          bool several = model->n_next_inputs > 1;

          model->n_next_inputs = 0;
          return several ? QS_ENGINE_INVALID_ARGUMENT : QS_ENGINE_OK;
        }
      /* Linear on another value than the last: a view of it, so that the
       * last value is what the activation makes. */
      value_shape (model, model->next_inputs[0], &h, &w, &c);
      return qs_engine_model_add_reshape (model, name, h, w, c);
    }
  /* Fused into the convolution or dense layer before it while nothing
   * else reads that layer's value (commit_layer and set_output undo it
   * when something does); the ReLU stays a layer, a view. */
  /* An index: appending may move the layers. */
  weighted = last_weighted_unactivated (model) != NULL ? (int) model->n_layers - 1 : -1;
  if ((status = append_layer (model, name, QS_LAYER_ACTIVATION, &layer)) != QS_ENGINE_OK)
    return status;
  set_activation (layer, activation, max);
  layer->spec.kind = QS_ACTIVATION_RELU;
  layer->spec.max_value = max;
  if (weighted >= 0)
    {
      set_activation (&model->layers[weighted], activation, max);
      layer->fused_relu = true;
    }
  return finish_add (model, QS_ENGINE_OK);
}

QsEngineStatus
qs_engine_model_add_activation_spec (QsEngineModel          *model,
                                     const char             *name,
                                     const QsActivationSpec *spec)
{
  QsEngineLayer *layer;
  QsEngineStatus status;

  if (model == NULL || spec == NULL || spec->kind < QS_ACTIVATION_NONE || spec->kind > QS_ACTIVATION_CLAMP
      || isnan (spec->max_value) || !isfinite (spec->negative_slope) || !isfinite (spec->threshold)
      || !isfinite (spec->alpha) || !isfinite (spec->slope) || !isfinite (spec->offset)
      || (spec->kind == QS_ACTIVATION_CLAMP && isnan (spec->min_value)))
    return QS_ENGINE_INVALID_ARGUMENT;
  /* Plain ReLU keeps its fused form (and the integer path's clamp); with
   * a slope or threshold it is a table like the others. */
  if (spec->kind == QS_ACTIVATION_NONE
      || (spec->kind == QS_ACTIVATION_RELU && spec->negative_slope == 0.0f && spec->threshold == 0.0f))
    return qs_engine_model_add_activation (model, name, spec->kind, spec->max_value);
  if ((status = append_layer (model, name, QS_LAYER_ACTIVATION, &layer)) != QS_ENGINE_OK)
    return status;
  layer->spec = *spec;
  return finish_add (model, QS_ENGINE_OK);
}

/* *@out = @v when @v is finite and within float32's range (converting a
 * larger double is undefined behaviour). */
static bool
fits_float (double  v,
            float  *out)
{
  if (!(fabs (v) <= FLT_MAX))
    return false;
  *out = (float) v;
  return true;
}

/* Folds each channel's @factor into rows [r0, r0 + rows) of @layer's
 * kernel, read into @block: false, with @block partly folded, when a
 * folded weight overflows float32. */
static bool
fold_rows (const QsEngineModel *model,
           const QsEngineLayer *layer,
           const double        *factor,
           size_t               r0,
           size_t               rows,
           float               *block)
{
  size_t n = (size_t) layer->out_c;

  qs_layer_kernel_rows (model, layer, r0, rows, block);
  for (size_t j = 0; j < rows * n; j++)
    if (!fits_float (block[j] * factor[j % n], &block[j]))
      return false;
  return true;
}

QsEngineStatus
qs_engine_model_fold_batch_norm (QsEngineModel *model,
                                 const float   *gamma,
                                 const float   *beta,
                                 const float   *mean,
                                 const float   *variance,
                                 float          epsilon)
{
  QsEngineLayer *layer;
  size_t n, block_rows;
  double *factor;
  float *block, *bias;
  bool finite = true;

  if (model == NULL || mean == NULL || variance == NULL || !isfinite (epsilon))
    return QS_ENGINE_INVALID_ARGUMENT;
  if ((layer = last_weighted_unactivated (model)) == NULL)
    return QS_ENGINE_UNSUPPORTED;
  n = (size_t) layer->out_c;
  block_rows = pack_block_rows (layer);
  factor = malloc (n * sizeof *factor);
  bias = malloc (n * sizeof *bias);
  block = malloc (block_rows * n * sizeof *block);
  if (factor == NULL || bias == NULL || block == NULL)
    {
      free (factor);
      free (bias);
      free (block);
      return QS_ENGINE_NO_MEMORY;
    }
  for (size_t c = 0; c < n && finite; c++)
    {
      /* In double: the fold should not add error of its own. */
      double g = gamma != NULL ? gamma[c] : 1.0;
      double b = beta != NULL ? beta[c] : 0.0;

      factor[c] = g / sqrt ((double) variance[c] + (double) epsilon);
      finite = isfinite (factor[c]) && isfinite (b) && isfinite (mean[c])
               && fits_float (((double) layer->bias[c] - mean[c]) * factor[c] + b, &bias[c]);
    }
  /* A block of rows at a time, twice: a statistic that is not finite, or
   * a fold that overflows float32, leaves the layer as it was (a NaN
   * weight would later reach a float-to-int conversion), so every folded
   * weight is checked before the first is stored. A GEMM layer's kernel
   * is read back from its packed form and packed again in place: no copy
   * of the whole kernel (VGG16's first Dense layer is 411 MB). */
  for (size_t r0 = 0; r0 < layer->k && finite; r0 += block_rows)
    finite = fold_rows (model, layer, factor, r0, layer->k - r0 < block_rows ? layer->k - r0 : block_rows,
                        block);
  for (size_t r0 = 0; r0 < layer->k && finite; r0 += block_rows)
    {
      size_t rows = layer->k - r0 < block_rows ? layer->k - r0 : block_rows;

      fold_rows (model, layer, factor, r0, rows, block);
      if (layer->packed_f32 != NULL)
        qs_layer_pack_f32_rows (model->kernels, layer, r0, rows, block, layer->packed_f32);
      else
        memcpy (layer->weights + r0 * n, block, rows * n * sizeof *block);
    }
  free (factor);
  free (block);
  if (!finite)
    {
      free (bias);
      return QS_ENGINE_INVALID_ARGUMENT;
    }
  free (layer->bias);
  layer->bias = bias;
  model->n_next_inputs = 0;
  return QS_ENGINE_OK;
}

size_t
qs_engine_model_get_n_layers (const QsEngineModel *model)
{
  return model != NULL ? model->n_layers : 0;
}

size_t
qs_engine_model_get_n_weighted (const QsEngineModel *model)
{
  return model != NULL ? model->n_weighted : 0;
}

static uint64_t
layer_macs (const QsEngineLayer *l)
{
  uint64_t pixels = (uint64_t) l->out_h * l->out_w;

  switch (l->kind)
    {
    case QS_LAYER_CONV2D:
    case QS_LAYER_DENSE:
      return pixels * l->out_c * l->k;
    case QS_LAYER_DEPTHWISE_CONV2D:
      return pixels * l->out_c * l->k;
    case QS_LAYER_AFFINE:
      return pixels * l->out_c;
    default:
      return 0;
    }
}

bool
qs_engine_model_get_layer (const QsEngineModel *model,
                           size_t               index,
                           QsLayerInfo         *info)
{
  const QsEngineLayer *l;

  if (model == NULL || info == NULL || index >= model->n_layers)
    return false;
  l = &model->layers[index];
  info->name = l->name;
  info->kind = l->kind;
  /* The shape it reads, padded (as the model defines it) if the padding was folded in. */
  info->in_h = l->in_h + l->fold_rows;
  info->in_w = l->in_w + l->fold_cols;
  info->in_c = l->in_c;
  info->out_h = l->out_h;
  info->out_w = l->out_w;
  info->out_c = l->out_c;
  info->weight_index = l->weight_index;
  info->macs = layer_macs (l);
  info->weight_count = qs_layer_has_kernel (l) ? (uint64_t) l->k * l->out_c : 0;
  info->value = (int) index + 1;
  info->inputs = l->inputs;
  info->n_inputs = l->n_inputs;
  info->weight_tensor = l->weight_tensor;
  info->runs_in_float = qs_layer_runs_in_float (model, index);
  info->fused = l->fused_relu;
  return true;
}

int
qs_engine_model_weighted_layer_index (const QsEngineModel *model,
                                      size_t               weight_index)
{
  for (size_t i = 0; model != NULL && i < model->n_layers; i++)
    if (model->layers[i].weight_index == (int) weight_index)
      return (int) i;
  return -1;
}

void
qs_engine_model_get_input_shape (const QsEngineModel *model,
                                 int                 *height,
                                 int                 *width,
                                 int                 *channels)
{
  *height = model->in_h;
  *width = model->in_w;
  *channels = model->in_c;
}

void
qs_engine_model_get_output_shape (const QsEngineModel *model,
                                  int                 *height,
                                  int                 *width,
                                  int                 *channels)
{
  int v = qs_model_output_value (model);

  if (v == QS_ENGINE_INPUT_VALUE)
    {
      qs_engine_model_get_input_shape (model, height, width, channels);
      return;
    }
  *height = model->layers[v - 1].out_h;
  *width = model->layers[v - 1].out_w;
  *channels = model->layers[v - 1].out_c;
}

void
qs_engine_model_set_input_channels_first (QsEngineModel *model,
                                          bool           channels_first)
{
  model->input_channels_first = channels_first;
}

bool
qs_engine_model_get_input_channels_first (const QsEngineModel *model)
{
  return model->input_channels_first;
}

size_t
qs_engine_model_get_n_outputs (const QsEngineModel *model)
{
  return model != NULL ? qs_value_size (model, qs_model_output_value (model)) : 0;
}

uint64_t
qs_engine_model_get_macs (const QsEngineModel *model)
{
  uint64_t macs = 0;

  for (size_t i = 0; model != NULL && i < model->n_layers; i++)
    macs += layer_macs (&model->layers[i]);
  return macs;
}

/* ---- graphs ---------------------------------------------------------------------- */

QsEngineStatus
qs_engine_model_set_next_inputs (QsEngineModel *model,
                                 const int     *inputs,
                                 size_t         n_inputs)
{
  if (model == NULL || inputs == NULL || n_inputs == 0 || n_inputs > QS_ENGINE_MAX_INPUTS)
    return QS_ENGINE_INVALID_ARGUMENT;
  for (size_t i = 0; i < n_inputs; i++)
    if (inputs[i] < QS_ENGINE_INPUT_VALUE || inputs[i] > (int) model->n_layers)
      return QS_ENGINE_INVALID_ARGUMENT;
  memcpy (model->next_inputs, inputs, n_inputs * sizeof *inputs);
  model->n_next_inputs = n_inputs;
  return QS_ENGINE_OK;
}

int
qs_engine_model_get_last_value (const QsEngineModel *model)
{
  return model != NULL ? (int) model->n_layers : QS_ENGINE_INPUT_VALUE;
}

QsEngineStatus
qs_engine_model_set_output (QsEngineModel *model,
                            int            value)
{
  int before;

  if (model == NULL || value < QS_ENGINE_INPUT_VALUE || value > (int) model->n_layers)
    return QS_ENGINE_INVALID_ARGUMENT;
  unfuse_relu_reading (model, value);
  before = model->output_value;
  model->output_value = value;
  if (qs_engine_model_plan (model) != QS_ENGINE_OK)
    {
      model->output_value = before;
      (void) qs_engine_model_plan (model);
      return QS_ENGINE_NO_MEMORY;
    }
  return QS_ENGINE_OK;
}

bool
qs_engine_model_get_value_shape (const QsEngineModel *model,
                                 int                  value,
                                 int                 *height,
                                 int                 *width,
                                 int                 *channels)
{
  int h, w, c;

  if (model == NULL || value < QS_ENGINE_INPUT_VALUE || value > (int) model->n_layers)
    return false;
  value_shape (model, value, &h, &w, &c);
  if (height != NULL)
    *height = h;
  if (width != NULL)
    *width = w;
  if (channels != NULL)
    *channels = c;
  return true;
}

QsEngineStatus
qs_engine_model_set_weight_tensor (QsEngineModel *model,
                                   const char    *tensor_path)
{
  QsEngineLayer *last;
  char *copy;

  if (model == NULL || tensor_path == NULL || model->n_layers == 0)
    return QS_ENGINE_INVALID_ARGUMENT;
  last = &model->layers[model->n_layers - 1];
  if ((copy = strdup (tensor_path)) == NULL)
    return QS_ENGINE_NO_MEMORY;
  free (last->weight_tensor);
  last->weight_tensor = copy;
  return QS_ENGINE_OK;
}

/* Whether @a and @b hold the same weights, bit for bit, in one layout. */
static bool
same_weights (const QsEngineModel *model,
              const QsEngineLayer *a,
              const QsEngineLayer *b)
{
  size_t n = (size_t) a->out_c;

  if (a->kind != b->kind || a->k != b->k || a->out_c != b->out_c || a->kernel_h != b->kernel_h
      || a->kernel_w != b->kernel_w || a->groups != b->groups || a->multiplier != b->multiplier
      || a->dilation_h != b->dilation_h || a->dilation_w != b->dilation_w
      || (a->weights == NULL) != (b->weights == NULL) || (a->packed_f32 == NULL) != (b->packed_f32 == NULL))
    return false;
  if (a->weights != NULL && memcmp (a->weights, b->weights, a->k * n * sizeof (float)) != 0)
    return false;
  if (a->packed_f32 != NULL
      && memcmp (a->packed_f32, b->packed_f32, qs_layer_packed_f32_size (model->kernels, a) * sizeof (float)) != 0)
    return false;
  return memcmp (a->bias, b->bias, n * sizeof (float)) == 0;
}

QsEngineStatus
qs_engine_model_share_weights (QsEngineModel *model,
                               size_t         index,
                               size_t         source)
{
  QsEngineLayer *l, *s;
  int dropped;

  if (model == NULL || source >= index || index >= model->n_layers)
    return QS_ENGINE_INVALID_ARGUMENT;
  l = &model->layers[index];
  s = &model->layers[source];
  if (!qs_layer_has_kernel (l) || !qs_layer_has_kernel (s) || l->shared_weights || !same_weights (model, l, s))
    return QS_ENGINE_INVALID_ARGUMENT;
  free (l->weights);
  free (l->bias);
  free (l->packed_f32);
  l->weights = s->weights;
  l->bias = s->bias;
  l->packed_f32 = s->packed_f32;
  l->shared_weights = true;
  /* One scheme for both: the weighted layers after it move down by one. */
  dropped = l->weight_index;
  l->weight_index = s->weight_index;
  for (size_t i = 0; i < model->n_layers; i++)
    if (i != index && model->layers[i].weight_index > dropped)
      model->layers[i].weight_index--;
  model->n_weighted--;
  return QS_ENGINE_OK;
}

/* The output shape of a merge of @l's inputs, or the status saying why
 * they do not merge: elementwise merges take one shape (Multiply also a
 * 1 x 1 x C input broadcast over H x W x C), Concatenate one H x W. */
static QsEngineStatus
merge_shape (const QsEngineModel *model,
             QsEngineLayer       *l)
{
  if ((l->kind == QS_LAYER_SUBTRACT || l->kind == QS_LAYER_DIVIDE) && l->n_inputs != 2)
    return QS_ENGINE_INVALID_ARGUMENT;
  for (size_t i = 0; i < l->n_inputs; i++)
    {
      int h, w, c;

      value_shape (model, l->inputs[i], &h, &w, &c);
      if (i == 0)
        {
          l->out_h = h;
          l->out_w = w;
          l->out_c = c;
        }
      else if (l->kind == QS_LAYER_CONCATENATE)
        {
          if (h != l->out_h || w != l->out_w)
            return QS_ENGINE_SHAPE_MISMATCH;
          if (__builtin_add_overflow (l->out_c, c, &l->out_c))
            return QS_ENGINE_TOO_LARGE;
        }
      else if (l->kind == QS_LAYER_MULTIPLY && c == l->out_c && (h == 1 && w == 1))
        continue;
      else if (l->kind == QS_LAYER_MULTIPLY && c == l->out_c && l->out_h == 1 && l->out_w == 1)
        {
          l->out_h = h;
          l->out_w = w;
        }
      else if (h != l->out_h || w != l->out_w || c != l->out_c)
        return QS_ENGINE_SHAPE_MISMATCH;
    }
  if (l->kind == QS_LAYER_MULTIPLY)
    for (size_t i = 0; i < l->n_inputs; i++)
      {
        int h, w, c;

        /* Every input is the whole map or one pixel of it. */
        value_shape (model, l->inputs[i], &h, &w, &c);
        if (!((h == l->out_h && w == l->out_w) || (h == 1 && w == 1)))
          return QS_ENGINE_SHAPE_MISMATCH;
      }
  return map_fits (l->out_h, l->out_w, l->out_c) ? QS_ENGINE_OK : QS_ENGINE_TOO_LARGE;
}

QsEngineStatus
qs_engine_model_add_merge (QsEngineModel *model,
                           const char    *name,
                           QsLayerKind    kind)
{
  QsEngineLayer *layer;
  QsEngineStatus status;

  if (model == NULL || !qs_layer_kind_is_merge (kind))
    return QS_ENGINE_INVALID_ARGUMENT;
  if ((status = append_layer (model, name, kind, &layer)) != QS_ENGINE_OK)
    return status;
  return finish_add (model, merge_shape (model, layer));
}

QsEngineStatus
qs_engine_model_add_pad (QsEngineModel *model,
                         const char    *name,
                         bool           crop,
                         int            top,
                         int            bottom,
                         int            left,
                         int            right)
{
  QsEngineLayer *layer;
  QsEngineStatus status;
  int64_t h, w;

  if (model == NULL || top < 0 || bottom < 0 || left < 0 || right < 0)
    return QS_ENGINE_INVALID_ARGUMENT;
  if ((status = append_layer (model, name, crop ? QS_LAYER_CROP : QS_LAYER_PAD, &layer)) != QS_ENGINE_OK)
    return status;
  /* pad_top / pad_left: where the input starts in the output (padding),
   * or where the output starts in the input (cropping). */
  layer->pad_top = top;
  layer->pad_left = left;
  if (crop)
    {
      h = (int64_t) layer->in_h - top - bottom;
      w = (int64_t) layer->in_w - left - right;
      if (h <= 0 || w <= 0)
        return finish_add (model, QS_ENGINE_SHAPE_MISMATCH);
    }
  else
    {
      h = (int64_t) layer->in_h + top + bottom;
      w = (int64_t) layer->in_w + left + right;
      if (h > INT_MAX || w > INT_MAX)
        return finish_add (model, QS_ENGINE_TOO_LARGE);
    }
  layer->out_h = (int) h;
  layer->out_w = (int) w;
  return finish_add (model, map_fits (layer->out_h, layer->out_w, layer->out_c)
                              ? QS_ENGINE_OK : QS_ENGINE_TOO_LARGE);
}

/* A layer of @kind with a scale and a shift per channel (copied; NULL:
 * 1 and 0). */
static QsEngineStatus
add_per_channel (QsEngineModel *model,
                 const char    *name,
                 QsLayerKind    kind,
                 const float   *scale,
                 const float   *shift,
                 float          epsilon)
{
  QsEngineLayer *layer;
  QsEngineStatus status;
  size_t n;

  if (model == NULL)
    return QS_ENGINE_INVALID_ARGUMENT;
  if ((status = append_layer (model, name, kind, &layer)) != QS_ENGINE_OK)
    return status;
  layer->epsilon = epsilon;
  n = (size_t) layer->out_c;
  /* One tap per channel: the integer path runs it as a 1 x 1 depthwise
   * convolution whose weights are the scales and whose bias is the shift. */
  layer->k = 1;
  layer->affine_scale = malloc (n * sizeof (float));
  layer->bias = calloc (n, sizeof (float));
  if (layer->affine_scale == NULL || layer->bias == NULL)
    return finish_add (model, QS_ENGINE_NO_MEMORY);
  for (size_t c = 0; c < n; c++)
    {
      layer->affine_scale[c] = scale != NULL ? scale[c] : 1.0f;
      if (shift != NULL)
        layer->bias[c] = shift[c];
      if (!isfinite (layer->affine_scale[c]) || !isfinite (layer->bias[c]))
        return finish_add (model, QS_ENGINE_INVALID_ARGUMENT);
    }
  return finish_add (model, QS_ENGINE_OK);
}

QsEngineStatus
qs_engine_model_add_affine (QsEngineModel *model,
                            const char    *name,
                            const float   *scale,
                            const float   *shift)
{
  return add_per_channel (model, name, QS_LAYER_AFFINE, scale, shift, 0.0f);
}

QsEngineStatus
qs_engine_model_add_prelu (QsEngineModel *model,
                           const char    *name,
                           const float   *alpha)
{
  if (alpha == NULL)
    return QS_ENGINE_INVALID_ARGUMENT;
  /* The slopes in affine_scale; the bias stays zero. */
  return add_per_channel (model, name, QS_LAYER_PRELU, alpha, NULL, 0.0f);
}

QsEngineStatus
qs_engine_model_add_layer_norm (QsEngineModel *model,
                                const char    *name,
                                const float   *gamma,
                                const float   *beta,
                                float          epsilon)
{
  if (!(epsilon >= 0.0f) || !isfinite (epsilon))
    return QS_ENGINE_INVALID_ARGUMENT;
  return add_per_channel (model, name, QS_LAYER_LAYER_NORM, gamma, beta, epsilon);
}

QsEngineStatus
qs_engine_model_add_reshape (QsEngineModel *model,
                             const char    *name,
                             int            height,
                             int            width,
                             int            channels)
{
  QsEngineLayer *layer;
  QsEngineStatus status;

  if (model == NULL || height <= 0 || width <= 0 || channels <= 0)
    return QS_ENGINE_INVALID_ARGUMENT;
  if ((status = append_layer (model, name, QS_LAYER_RESHAPE, &layer)) != QS_ENGINE_OK)
    return status;
  if (!map_fits (height, width, channels)
      || (size_t) height * width * channels != qs_layer_in_size (layer))
    return finish_add (model, QS_ENGINE_SHAPE_MISMATCH);
  layer->out_h = height;
  layer->out_w = width;
  layer->out_c = channels;
  return finish_add (model, QS_ENGINE_OK);
}

QsEngineStatus
qs_engine_model_add_upsample (QsEngineModel *model,
                              const char    *name,
                              int            factor_h,
                              int            factor_w,
                              bool           bilinear)
{
  QsEngineLayer *layer;
  QsEngineStatus status;

  if (model == NULL || factor_h <= 0 || factor_w <= 0)
    return QS_ENGINE_INVALID_ARGUMENT;
  if ((status = append_layer (model, name, QS_LAYER_UPSAMPLE, &layer)) != QS_ENGINE_OK)
    return status;
  layer->factor_h = factor_h;
  layer->factor_w = factor_w;
  layer->bilinear = bilinear;
  if (!qs_checked_mul_int (layer->in_h, factor_h, &layer->out_h)
      || !qs_checked_mul_int (layer->in_w, factor_w, &layer->out_w)
      || !map_fits (layer->out_h, layer->out_w, layer->out_c))
    return finish_add (model, QS_ENGINE_TOO_LARGE);
  return finish_add (model, QS_ENGINE_OK);
}

/* Layers the integer path runs in float whatever the scheme: no integer
 * kernel (softmax, bilinear upsampling, a product of more than two
 * inputs, layer normalization, a division of tensors), or preprocessing
 * of the image before it is quantized. Merges
 * also run in float when activations are not nudged (the quantized
 * model decides that). */
bool
qs_layer_runs_in_float (const QsEngineModel *model,
                        size_t               i)
{
  const QsEngineLayer *l = &model->layers[i];

  return i < model->n_float_prefix
    || (l->kind == QS_LAYER_ACTIVATION && l->spec.kind == QS_ACTIVATION_SOFTMAX)
    || (l->kind == QS_LAYER_UPSAMPLE && l->bilinear)
    || (l->kind == QS_LAYER_MULTIPLY && l->n_inputs > 2)
    || l->kind == QS_LAYER_FLOAT || l->kind == QS_LAYER_LAYER_NORM || l->kind == QS_LAYER_DIVIDE;
}
