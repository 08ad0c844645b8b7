/* qs-engine-model.c: building and inspecting the layer chain, and batch-norm folding.
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
  return model;
}

static void
layer_clear (QsEngineLayer *layer)
{
  free (layer->name);
  free (layer->weights);
  free (layer->bias);
  free (layer->packed_f32);
}

void
qs_engine_model_free (QsEngineModel *model)
{
  if (model == NULL)
    return;
  for (size_t i = 0; i < model->n_layers; i++)
    layer_clear (&model->layers[i]);
  free (model->layers);
  free (model);
}

/* A new layer whose input is the previous layer's output (or the image). */
static QsEngineLayer *
append_layer (QsEngineModel *model,
              const char    *name,
              QsLayerKind    kind)
{
  QsEngineLayer *layer;

  if (model->n_layers == model->capacity)
    {
      size_t capacity = model->capacity ? model->capacity * 2 : 16;
      QsEngineLayer *layers = realloc (model->layers, capacity * sizeof *layers);

      if (layers == NULL)
        return NULL;
      model->layers = layers;
      model->capacity = capacity;
    }
  layer = &model->layers[model->n_layers];
  memset (layer, 0, sizeof *layer);
  layer->name = strdup (name != NULL ? name : qs_layer_kind_to_string (kind));
  if (layer->name == NULL)
    return NULL;
  layer->kind = kind;
  if (model->n_layers == 0)
    {
      layer->in_h = model->in_h;
      layer->in_w = model->in_w;
      layer->in_c = model->in_c;
    }
  else
    {
      const QsEngineLayer *prev = &model->layers[model->n_layers - 1];

      layer->in_h = prev->out_h;
      layer->in_w = prev->out_w;
      layer->in_c = prev->out_c;
    }
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
  return layer;
}

/* The layer appended last becomes part of the model. */
static void
commit_layer (QsEngineModel *model)
{
  QsEngineLayer *layer = &model->layers[model->n_layers];

  if (layer->weights != NULL)
    layer->weight_index = (int) model->n_weighted++;
  model->n_layers++;
}

static void
abandon_layer (QsEngineModel *model)
{
  layer_clear (&model->layers[model->n_layers]);
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

static QsEngineStatus
set_window (QsEngineLayer      *layer,
            const QsConvParams *p)
{
  QsEngineStatus status;

  if (p->padding != QS_PADDING_SAME && p->padding != QS_PADDING_VALID)
    return QS_ENGINE_INVALID_ARGUMENT;
  layer->kernel_h = p->kernel_h;
  layer->kernel_w = p->kernel_w;
  layer->stride_h = p->stride_h;
  layer->stride_w = p->stride_w;
  status = window_geometry (layer->in_h, p->kernel_h, p->stride_h, p->padding, &layer->out_h, &layer->pad_top);
  if (status == QS_ENGINE_OK)
    status = window_geometry (layer->in_w, p->kernel_w, p->stride_w, p->padding, &layer->out_w, &layer->pad_left);
  return status;
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

static bool
valid_activation (QsActivation activation,
                  float        max)
{
  return activation == QS_ACTIVATION_NONE
    || (activation == QS_ACTIVATION_RELU && !isnan (max) && max > 0.0f);
}

/* Copies weights and bias and packs the float32 GEMM operand. */
static QsEngineStatus
set_weights (QsEngineModel *model,
             QsEngineLayer *layer,
             size_t         k,
             const float   *kernel,
             const float   *bias)
{
  size_t n = (size_t) layer->out_c, count;

  if (!map_fits (layer->out_h, layer->out_w, layer->out_c)
      || !qs_checked_mul_size (k, n, &count) || count > QS_ENGINE_MAX_WEIGHTS)
    return QS_ENGINE_TOO_LARGE;
  for (size_t i = 0; i < count; i++)
    if (!isfinite (kernel[i]))
      return QS_ENGINE_INVALID_ARGUMENT;
  for (size_t i = 0; bias != NULL && i < n; i++)
    if (!isfinite (bias[i]))
      return QS_ENGINE_INVALID_ARGUMENT;

  layer->k = k;
  layer->weights = malloc (count * sizeof (float));
  layer->bias = calloc (n, sizeof (float));
  if (layer->weights == NULL || layer->bias == NULL)
    return QS_ENGINE_NO_MEMORY;
  memcpy (layer->weights, kernel, count * sizeof (float));
  if (bias != NULL)
    memcpy (layer->bias, bias, n * sizeof (float));
  if (layer->kind != QS_LAYER_DEPTHWISE_CONV2D)
    {
      layer->packed_f32 = malloc (model->kernels->gemm_f32_packed_size (n, k) * sizeof (float));
      if (layer->packed_f32 == NULL)
        return QS_ENGINE_NO_MEMORY;
      model->kernels->gemm_f32_pack (n, k, layer->weights, layer->packed_f32);
    }
  return QS_ENGINE_OK;
}

static QsEngineStatus
finish_add (QsEngineModel  *model,
            QsEngineStatus  status)
{
  if (status == QS_ENGINE_OK)
    commit_layer (model);
  else
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

  if (model == NULL || p == NULL || kernel == NULL || p->filters <= 0
      || !valid_activation (p->activation, p->activation_max))
    return QS_ENGINE_INVALID_ARGUMENT;
  if ((layer = append_layer (model, name, kind)) == NULL)
    return QS_ENGINE_NO_MEMORY;
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
      layer->out_c = p->filters;
      if (!qs_checked_mul3_size ((size_t) p->kernel_h, (size_t) p->kernel_w, (size_t) layer->in_c, &k))
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
  return add_windowed (model, name, QS_LAYER_DEPTHWISE_CONV2D, p, kernel, bias);
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
  QsEngineLayer *layer;

  if (model == NULL || kernel == NULL || units <= 0 || !valid_activation (activation, activation_max))
    return QS_ENGINE_INVALID_ARGUMENT;
  if ((layer = append_layer (model, name, QS_LAYER_DENSE)) == NULL)
    return QS_ENGINE_NO_MEMORY;
  /* On an unflattened input Dense acts on the last axis at every position:
   * a 1x1 convolution, which is how both paths run it. */
  layer->out_c = units;
  set_activation (layer, activation, activation_max);
  return finish_add (model, set_weights (model, layer, (size_t) layer->in_c, kernel, bias));
}

QsEngineStatus
qs_engine_model_add_pool (QsEngineModel      *model,
                          const char         *name,
                          QsLayerKind         kind,
                          const QsConvParams *p)
{
  QsEngineLayer *layer;

  if (model == NULL || p == NULL || (kind != QS_LAYER_MAX_POOL && kind != QS_LAYER_AVERAGE_POOL))
    return QS_ENGINE_INVALID_ARGUMENT;
  if ((layer = append_layer (model, name, kind)) == NULL)
    return QS_ENGINE_NO_MEMORY;
  return finish_add (model, set_window (layer, p));
}

QsEngineStatus
qs_engine_model_add_global_average_pool (QsEngineModel *model,
                                         const char    *name)
{
  QsEngineLayer *layer;

  if (model == NULL)
    return QS_ENGINE_INVALID_ARGUMENT;
  if ((layer = append_layer (model, name, QS_LAYER_GLOBAL_AVERAGE_POOL)) == NULL)
    return QS_ENGINE_NO_MEMORY;
  layer->kernel_h = layer->in_h;
  layer->kernel_w = layer->in_w;
  layer->out_h = layer->out_w = 1;
  return finish_add (model, QS_ENGINE_OK);
}

QsEngineStatus
qs_engine_model_add_flatten (QsEngineModel *model,
                             const char    *name)
{
  QsEngineLayer *layer;

  if (model == NULL)
    return QS_ENGINE_INVALID_ARGUMENT;
  if ((layer = append_layer (model, name, QS_LAYER_FLATTEN)) == NULL)
    return QS_ENGINE_NO_MEMORY;
  /* NHWC memory is already Keras's flattening order (h, w, c). Every map
   * was checked against QS_ENGINE_MAX_MAP_ELEMENTS, so the product fits an
   * int; checked all the same, as every size from a file is. */
  layer->out_h = layer->out_w = 1;
  if (!qs_checked_mul_int (layer->in_h, layer->in_w, &layer->out_c)
      || !qs_checked_mul_int (layer->out_c, layer->in_c, &layer->out_c))
    return finish_add (model, QS_ENGINE_TOO_LARGE);
  return finish_add (model, QS_ENGINE_OK);
}

static QsEngineLayer *
last_weighted_unactivated (QsEngineModel *model)
{
  QsEngineLayer *last;

  if (model->n_layers == 0)
    return NULL;
  last = &model->layers[model->n_layers - 1];
  if (last->weights == NULL || last->activation != QS_ACTIVATION_NONE)
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

  if (model == NULL || !valid_activation (activation, max))
    return QS_ENGINE_INVALID_ARGUMENT;
  if (activation == QS_ACTIVATION_NONE)
    return QS_ENGINE_OK;
  if ((layer = last_weighted_unactivated (model)) != NULL)
    {
      set_activation (layer, activation, max);
      return QS_ENGINE_OK;
    }
  if ((layer = append_layer (model, name, QS_LAYER_ACTIVATION)) == NULL)
    return QS_ENGINE_NO_MEMORY;
  set_activation (layer, activation, max);
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

QsEngineStatus
qs_engine_model_fold_batch_norm (QsEngineModel *model,
                                 const float   *gamma,
                                 const float   *beta,
                                 const float   *mean,
                                 const float   *variance,
                                 float          epsilon)
{
  QsEngineLayer *layer;
  size_t n, rows;
  float *weights, *bias;

  if (model == NULL || mean == NULL || variance == NULL || !isfinite (epsilon))
    return QS_ENGINE_INVALID_ARGUMENT;
  if ((layer = last_weighted_unactivated (model)) == NULL)
    return QS_ENGINE_UNSUPPORTED;
  n = (size_t) layer->out_c;
  rows = layer->k;
  /* Folded into copies, checked, then swapped in: a statistic that is not
   * finite, or a fold that overflows float32, leaves the layer as it was
   * (a NaN weight would later reach a float-to-int conversion). */
  weights = malloc (rows * n * sizeof (float));
  bias = malloc (n * sizeof (float));
  if (weights == NULL || bias == NULL)
    {
      free (weights);
      free (bias);
      return QS_ENGINE_NO_MEMORY;
    }
  for (size_t c = 0; c < n; c++)
    {
      /* In double: the fold should not add error of its own. */
      double g = gamma != NULL ? gamma[c] : 1.0;
      double factor = g / sqrt ((double) variance[c] + (double) epsilon);
      double b = beta != NULL ? beta[c] : 0.0;
      bool finite = isfinite (factor) && isfinite (b) && isfinite (mean[c]);

      for (size_t r = 0; r < rows && finite; r++)
        finite = fits_float (layer->weights[r * n + c] * factor, &weights[r * n + c]);
      if (finite)
        finite = fits_float (((double) layer->bias[c] - mean[c]) * factor + b, &bias[c]);
      if (!finite)
        {
          free (weights);
          free (bias);
          return QS_ENGINE_INVALID_ARGUMENT;
        }
    }
  free (layer->weights);
  free (layer->bias);
  layer->weights = weights;
  layer->bias = bias;
  if (layer->packed_f32 != NULL)
    model->kernels->gemm_f32_pack (n, rows, layer->weights, layer->packed_f32);
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
  info->in_h = l->in_h;
  info->in_w = l->in_w;
  info->in_c = l->in_c;
  info->out_h = l->out_h;
  info->out_w = l->out_w;
  info->out_c = l->out_c;
  info->weight_index = l->weight_index;
  info->macs = layer_macs (l);
  info->weight_count = l->weights != NULL ? (uint64_t) l->k * l->out_c : 0;
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

size_t
qs_engine_model_get_n_outputs (const QsEngineModel *model)
{
  if (model == NULL || model->n_layers == 0)
    return model != NULL ? (size_t) model->in_h * model->in_w * model->in_c : 0;
  return qs_layer_out_size (&model->layers[model->n_layers - 1]);
}

uint64_t
qs_engine_model_get_macs (const QsEngineModel *model)
{
  uint64_t macs = 0;

  for (size_t i = 0; model != NULL && i < model->n_layers; i++)
    macs += layer_macs (&model->layers[i]);
  return macs;
}
