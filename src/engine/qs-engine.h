/* qs-engine.h: an NHWC layer chain run in float32 and in integers, and its evaluation.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Plain C11 (no GLib): the GUI calls it from a GTask worker thread, the CLI
 * and the tests call it directly. The life of a model:
 *
 *   QsEngineModel     built once per weight file (src/model/qs-keras-model.h
 *                     builds it from a Keras file), immutable afterwards and
 *                     safe to share between threads;
 *   QsQuantizedModel  qs_engine_prepare_quantized(): the model's weights
 *                     quantized under one scheme per weighted layer, its
 *                     activation ranges calibrated on a calibration slice,
 *                     per-layer weight and output SQNR; immutable, shareable;
 *   qs_engine_evaluate() / qs_engine_predict(): top-1 over a range of images
 *                     on worker threads, with progress and cancellation, so
 *                     the GUI can score 1,000 images first and the rest after.
 *
 * Status codes, never aborts; every buffer passed in stays the caller's.
 */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quant/qs-scheme.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  QS_ENGINE_OK = 0,
  QS_ENGINE_INVALID_ARGUMENT, /* a NULL, a zero size, a bad layer parameter */
  QS_ENGINE_NO_MEMORY,
  QS_ENGINE_UNSUPPORTED,      /* a layer or combination the engine cannot run */
  QS_ENGINE_SHAPE_MISMATCH,   /* weights or data that do not fit the layer chain */
  QS_ENGINE_CANCELLED,        /* the cancel flag was raised */
  QS_ENGINE_TOO_LARGE,        /* a size past QS_ENGINE_MAX_MAP_ELEMENTS or that overflows */
} QsEngineStatus;

/* The largest feature map (height x width x channels of one image, at any
 * layer) and the largest weight tensor the engine builds: far above any
 * model it is meant for (224 x 224 x 256 is 12.8 million), and small
 * enough that no size derived from them (im2col tiles, batches of
 * QS_ENGINE_TASK_IMAGES images, window extents in int) can overflow. */
#define QS_ENGINE_MAX_MAP_ELEMENTS ((size_t) 1 << 24)
#define QS_ENGINE_MAX_WEIGHTS      ((size_t) 1 << 30)

/* A short English description (static). */
const char *qs_engine_status_to_string (QsEngineStatus status);

typedef enum {
  QS_ACTIVATION_NONE = 0,     /* linear */
  QS_ACTIVATION_RELU,         /* max (x, 0), optionally capped (ReLU6: cap 6) */
  /* The rest run as their own layer (never fused into a convolution); in
   * the integer path as a 256-entry lookup table built from the input's
   * and output's quantization parameters. Definitions as Keras computes
   * them (tf.keras.activations, keras.ops). */
  QS_ACTIVATION_LEAKY_RELU,   /* Keras ReLU(max_value, negative_slope, threshold), LeakyReLU(alpha) */
  QS_ACTIVATION_ELU,          /* x > 0 ? x : alpha * (exp (x) - 1) */
  QS_ACTIVATION_SIGMOID,
  QS_ACTIVATION_HARD_SIGMOID, /* Keras 2: clip (0.2 x + 0.5, 0, 1); Keras 3: relu6 (x + 3) / 6 (see slope) */
  QS_ACTIVATION_SWISH,        /* x * sigmoid (x), also silu */
  QS_ACTIVATION_HARD_SWISH,   /* x * relu6 (x + 3) / 6 */
  QS_ACTIVATION_TANH,
  QS_ACTIVATION_GELU,         /* exact (erf) or, with approximate, the tanh form */
  QS_ACTIVATION_SOFTMAX,      /* over the channel axis; float between dequantize and quantize */
  QS_ACTIVATION_CLAMP,        /* min (max (x, min_value), max_value): tf.maximum / tf.minimum by a
                               * number, tf.clip_by_value (a ReLU where min_value is 0) */
} QsActivation;

/* An activation with its parameters, for qs_engine_model_add_activation_spec. */
typedef struct {
  QsActivation kind;
  float        max_value;      /* RELU / LEAKY_RELU cap, +INFINITY for none */
  float        negative_slope; /* LEAKY_RELU: slope below threshold */
  float        threshold;      /* LEAKY_RELU: values below it take the slope (Keras ReLU) */
  float        alpha;          /* ELU */
  float        slope, offset;  /* HARD_SIGMOID: clip (slope x + offset, 0, 1) */
  bool         approximate;    /* GELU: the tanh approximation */
  float        min_value;      /* CLAMP: the floor, -INFINITY for none */
} QsActivationSpec;

/* A spec of @kind with Keras's defaults (no cap, slope 0.3 for LeakyReLU,
 * alpha 1, hard sigmoid 0.2 / 0.5, exact GELU, no floor). */
void  qs_activation_spec_init (QsActivationSpec *spec,
                               QsActivation      kind);
/* The float definition, the reference every integer table is checked against. */
float qs_activation_spec_apply (const QsActivationSpec *spec,
                                float                   x);

typedef enum {
  QS_PADDING_VALID = 0,
  /* TF/Keras 'same': pad_total = max ((out - 1) * stride + k - in, 0),
   * pad_top = pad_total / 2, the extra row or column at the bottom/right. */
  QS_PADDING_SAME,
} QsPadding;

typedef enum {
  QS_LAYER_CONV2D = 0,
  QS_LAYER_DEPTHWISE_CONV2D,
  QS_LAYER_DENSE,
  QS_LAYER_MAX_POOL,
  QS_LAYER_AVERAGE_POOL,
  QS_LAYER_GLOBAL_AVERAGE_POOL,
  QS_LAYER_FLATTEN,
  QS_LAYER_ACTIVATION,
  /* Merges: two or more inputs of one shape (Multiply also broadcasts an
   * input of 1 x 1 x C over H x W x C, as squeeze-and-excitation does). */
  QS_LAYER_ADD,
  QS_LAYER_SUBTRACT,
  QS_LAYER_MULTIPLY,
  QS_LAYER_AVERAGE,
  QS_LAYER_MAXIMUM,
  QS_LAYER_CONCATENATE,        /* along the channel axis */
  QS_LAYER_PAD,                /* ZeroPadding2D: zeros (the code of 0.0) around H and W */
  QS_LAYER_CROP,               /* Cropping2D */
  QS_LAYER_AFFINE,             /* y = x * scale[c] + shift[c]: unfolded batch norm, scalar ops */
  QS_LAYER_GLOBAL_MAX_POOL,
  QS_LAYER_RESHAPE,            /* a new H x W x C of the same size (NHWC order kept) */
  QS_LAYER_UPSAMPLE,           /* UpSampling2D, nearest or bilinear */
  QS_LAYER_FLOAT,              /* a layer with no integer kernel, run in float between
                                * dequantize and quantize (reports name it) */
  QS_LAYER_LAYER_NORM,         /* LayerNormalization over the channels; no integer kernel */
  QS_LAYER_MINIMUM,            /* a merge, as Maximum (after the others to keep their values) */
  QS_LAYER_DIVIDE,             /* a merge of two tensors of one shape, the first over the second;
                                * no integer kernel */
  QS_LAYER_PRELU,              /* x >= 0 ? x : alpha[c] * x (PReLU); the integer path as a
                                * 256-entry table per channel */
} QsLayerKind;

const char *qs_layer_kind_to_string (QsLayerKind kind);

/* Parameters of a convolution (Conv2D: filters = output channels;
 * DepthwiseConv2D: filters = depth multiplier) or of a pooling window. */
typedef struct {
  int          kernel_h;
  int          kernel_w;
  int          stride_h;
  int          stride_w;
  QsPadding    padding;
  int          filters;
  QsActivation activation;      /* NONE or RELU only: others are layers of their own */
  float        activation_max;  /* the ReLU cap; +INFINITY for none */
  int          dilation_h;      /* 0 or 1: none */
  int          dilation_w;
  int          groups;          /* Conv2D: 0 or 1, or a divisor of in and out channels */
} QsConvParams;

/* ---- building a model ------------------------------------------------------ */

typedef struct _QsEngineModel QsEngineModel;

/* A model whose input is one @height x @width x @channels image (transfer
 * full); NULL when a size is not positive or the image is larger than
 * QS_ENGINE_MAX_MAP_ELEMENTS. */
QsEngineModel *qs_engine_model_new  (int height,
                                     int width,
                                     int channels);
void           qs_engine_model_free (QsEngineModel *model);

/* Appends a layer. Weights are copied, in Keras layouts:
 *   Conv2D (kh, kw, in, out); DepthwiseConv2D (kh, kw, in, multiplier);
 *   Dense (in, out), applied to the last axis (after Flatten: the whole
 *   vector in NHWC order, as Keras does). @bias may be NULL (no bias).
 * @name is copied; it is how results refer to the layer. A dilated
 * DepthwiseConv2D becomes a Conv2D with one group per input channel (the
 * same weights and outputs; the depthwise kernels have no dilation). */
QsEngineStatus qs_engine_model_add_conv2d    (QsEngineModel      *model,
                                              const char         *name,
                                              const QsConvParams *params,
                                              const float        *kernel,
                                              const float        *bias);
QsEngineStatus qs_engine_model_add_depthwise (QsEngineModel      *model,
                                              const char         *name,
                                              const QsConvParams *params,
                                              const float        *kernel,
                                              const float        *bias);
QsEngineStatus qs_engine_model_add_dense     (QsEngineModel      *model,
                                              const char         *name,
                                              int                 units,
                                              QsActivation        activation,
                                              float               activation_max,
                                              const float        *kernel,
                                              const float        *bias);
/* Writes rows [@row0, @row0 + @rows) of a kernel in its Keras layout
 * ([k][out]) into @out; false when it cannot (the caller keeps why). */
typedef bool (*QsKernelRowsFunc) (void   *data,
                                  size_t  row0,
                                  size_t  rows,
                                  float  *out);
/* qs_engine_model_add_dense with the kernel read a block of rows at a
 * time through @read_rows, so a large kernel (VGG16's first Dense layer
 * is 411 MB) is never whole in memory beside the model's own copy.
 * QS_ENGINE_INVALID_ARGUMENT, adding nothing, when @read_rows fails. */
QsEngineStatus qs_engine_model_add_dense_rows (QsEngineModel      *model,
                                               const char         *name,
                                               int                 units,
                                               QsActivation        activation,
                                               float               activation_max,
                                               QsKernelRowsFunc    read_rows,
                                               void               *data,
                                               const float        *bias);
/* @kind is QS_LAYER_MAX_POOL or QS_LAYER_AVERAGE_POOL; uses kernel, stride and padding of @params. */
QsEngineStatus qs_engine_model_add_pool      (QsEngineModel      *model,
                                              const char         *name,
                                              QsLayerKind         kind,
                                              const QsConvParams *params);
QsEngineStatus qs_engine_model_add_global_average_pool (QsEngineModel *model,
                                                        const char    *name);
QsEngineStatus qs_engine_model_add_flatten   (QsEngineModel      *model,
                                              const char         *name);
/* A ReLU (capped at @max, +INFINITY for none), a layer with a value of its
 * own. Fused into the previous layer when that is a convolution or dense
 * layer without an activation of its own whose value nothing else reads
 * (until something does), else a layer that clamps. */
QsEngineStatus qs_engine_model_add_activation (QsEngineModel *model,
                                               const char    *name,
                                               QsActivation   activation,
                                               float          max);
/* Folds inference-mode batch normalization into the last layer, which must
 * be a convolution or dense layer with no activation yet whose value
 * nothing reads yet. A fold, unlike a fused ReLU, cannot be undone: the
 * caller folds only a batch norm that is that value's only reader:
 *   w'[.., c] = w[.., c] * gamma[c] / sqrt (var[c] + eps)
 *   b'[c]     = (b[c] - mean[c]) * gamma[c] / sqrt (var[c] + eps) + beta[c]
 * (as Keras computes BN and as PyTorch's fuse_conv_bn_eval folds it).
 * @gamma / @beta may be NULL (scale=False / center=False). Returns
 * QS_ENGINE_UNSUPPORTED when there is nothing to fold into;
 * QS_ENGINE_INVALID_ARGUMENT, leaving the layer unchanged, when a
 * statistic is not finite, a variance plus epsilon is not positive, or
 * the folded weights or bias would not be finite. */
QsEngineStatus qs_engine_model_fold_batch_norm (QsEngineModel *model,
                                                const float   *gamma,
                                                const float   *beta,
                                                const float   *mean,
                                                const float   *variance,
                                                float          epsilon);

/* ---- graphs ------------------------------------------------------------------ */

/* A model is a graph of values and layers (XNNPACK's subgraph, TFLite's
 * interpreter): value QS_ENGINE_INPUT_VALUE is the image, and the output
 * of layer i is value i + 1. Layers are added in topological order, so a
 * graph built through this API has no cycles; a layer reads the value of
 * the layer added before it unless qs_engine_model_set_next_inputs says
 * otherwise. The model scores the last layer's output unless
 * qs_engine_model_set_output names another value. */
#define QS_ENGINE_INPUT_VALUE 0
/* Inputs of one merge (Inception and NASNet concatenate up to 6). */
#define QS_ENGINE_MAX_INPUTS  16

/* The layer added next reads @inputs (1..QS_ENGINE_MAX_INPUTS values that
 * exist already; merges need two or more, other layers exactly one).
 * QS_ENGINE_INVALID_ARGUMENT for a value that does not exist yet. */
QsEngineStatus qs_engine_model_set_next_inputs (QsEngineModel *model,
                                                const int     *inputs,
                                                size_t         n_inputs);
/* The value the layer added last produces (QS_ENGINE_INPUT_VALUE when none). */
int            qs_engine_model_get_last_value  (const QsEngineModel *model);
/* Scores @value instead of the last layer's output. */
QsEngineStatus qs_engine_model_set_output      (QsEngineModel *model,
                                                int            value);
/* Shape of one image's @value; false when it does not exist. */
bool           qs_engine_model_get_value_shape (const QsEngineModel *model,
                                                int                  value,
                                                int                 *height,
                                                int                 *width,
                                                int                 *channels);
/* Names the weight tensor the layer added last was built from (its HDF5
 * path, copied), so a scheme set resolves layers by tensor, not by layer
 * name: a SeparableConv2D's depthwise and pointwise halves are two engine
 * layers from two tensors of one Keras layer. */
QsEngineStatus qs_engine_model_set_weight_tensor (QsEngineModel *model,
                                                  const char    *tensor_path);

/* Layer @index (a Conv2D, DepthwiseConv2D or Dense) becomes a later call
 * of the weights of layer @source (< @index): a Keras layer called more
 * than once. Both must hold the same kernel and bias, bit for bit (built
 * from the same tensors, folded alike); @index then drops its copy and
 * reads @source's, and takes @source's weight index, so both run under
 * one scheme (the weighted layers after @index are renumbered down by
 * one). Each call keeps its own input, output, activation and, in the
 * integer path, its own quantizers. QS_ENGINE_INVALID_ARGUMENT when the
 * weights differ or either layer has none. */
QsEngineStatus qs_engine_model_share_weights (QsEngineModel *model,
                                              size_t         index,
                                              size_t         source);

/* A merge of the inputs set by qs_engine_model_set_next_inputs; @kind is
 * one of QS_LAYER_ADD .. QS_LAYER_CONCATENATE, QS_LAYER_MINIMUM or
 * QS_LAYER_DIVIDE (which the integer path runs in float). QS_ENGINE_SHAPE_MISMATCH
 * when the inputs' shapes do not fit the merge. */
QsEngineStatus qs_engine_model_add_merge      (QsEngineModel    *model,
                                               const char       *name,
                                               QsLayerKind       kind);
/* Zero padding (@crop false) or cropping (@crop true) of rows and columns. */
QsEngineStatus qs_engine_model_add_pad        (QsEngineModel    *model,
                                               const char       *name,
                                               bool              crop,
                                               int               top,
                                               int               bottom,
                                               int               left,
                                               int               right);
/* y[c] = x[c] * scale[c] + shift[c] over the channel (last) axis; @scale
 * or @shift NULL means 1 or 0. Copied. Batch normalization that cannot be
 * folded, Rescaling, Normalization and scalar TFOpLambda operations. */
QsEngineStatus qs_engine_model_add_affine     (QsEngineModel    *model,
                                               const char       *name,
                                               const float      *scale,
                                               const float      *shift);
/* LayerNormalization over the channel (last) axis of each pixel (ConvNeXt):
 * y = (x - mean) / sqrt (variance + @epsilon) * gamma[c] + beta[c], the
 * mean and the biased variance over the channels; @gamma or @beta NULL
 * means 1 or 0. Copied. It has no integer kernel: the integer path runs it
 * in float between a dequantize and a quantize (runs_in_float). */
QsEngineStatus qs_engine_model_add_layer_norm (QsEngineModel    *model,
                                               const char       *name,
                                               const float      *gamma,
                                               const float      *beta,
                                               float             epsilon);
/* Any activation as a layer of its own (a plain RELU is fused into the
 * convolution or dense layer before it while nothing else reads that
 * layer's value, and unfused when a later layer or qs_engine_model_set_output
 * reads it; the ReLU's value exists either way). The
 * integer path runs SOFTMAX in float between dequantize and quantize, the
 * others as 256-entry tables; with fractional zero points (nudge_zero
 * false) tables and merges run in float too. */
QsEngineStatus qs_engine_model_add_activation_spec (QsEngineModel          *model,
                                                    const char             *name,
                                                    const QsActivationSpec *spec);
/* PReLU over the channel (last) axis: x where x >= 0, else @alpha[c] * x
 * (Keras PReLU with shared_axes over height and width, PyTorch's
 * nn.PReLU); @alpha holds one slope per channel, copied. The integer path
 * runs it as a lookup table per channel (as LeakyReLU's one table), in
 * float with fractional zero points. QS_ENGINE_INVALID_ARGUMENT for a
 * slope that is not finite. */
QsEngineStatus qs_engine_model_add_prelu (QsEngineModel *model,
                                          const char    *name,
                                          const float   *alpha);
QsEngineStatus qs_engine_model_add_global_max_pool (QsEngineModel *model,
                                                    const char    *name);
QsEngineStatus qs_engine_model_add_reshape    (QsEngineModel    *model,
                                               const char       *name,
                                               int               height,
                                               int               width,
                                               int               channels);
/* Nearest or bilinear (Keras: half-pixel centres, align_corners false);
 * the integer path runs bilinear in float between dequantize and
 * quantize, with the input's parameters (runs_in_float). */
QsEngineStatus qs_engine_model_add_upsample   (QsEngineModel    *model,
                                               const char       *name,
                                               int               factor_h,
                                               int               factor_w,
                                               bool              bilinear);

/* ---- inspecting a model ----------------------------------------------------- */

typedef struct {
  const char  *name;          /* transfer none */
  QsLayerKind  kind;
  int          in_h, in_w, in_c;
  int          out_h, out_w, out_c;
  int          weight_index;  /* index among weighted layers, or -1 */
  uint64_t     macs;          /* multiply-accumulates per image */
  uint64_t     weight_count;  /* kernel elements (0 without weights) */
  int          value;         /* the value this layer produces (index + 1) */
  const int   *inputs;        /* the values it reads (transfer none) */
  size_t       n_inputs;
  const char  *weight_tensor; /* set by qs_engine_model_set_weight_tensor, or NULL */
  bool         runs_in_float; /* no integer kernel: float between dequantize and quantize */
  bool         fused;         /* a ReLU fused into the weighted layer it reads: no work of its own */
} QsLayerInfo;

size_t   qs_engine_model_get_n_layers         (const QsEngineModel *model);
/* Weighted layers (Conv2D, DepthwiseConv2D, Dense): one scheme each. */
size_t   qs_engine_model_get_n_weighted       (const QsEngineModel *model);
bool     qs_engine_model_get_layer            (const QsEngineModel *model,
                                               size_t               index,
                                               QsLayerInfo         *info);
/* The layer index of weighted layer @weight_index, or -1. */
int      qs_engine_model_weighted_layer_index (const QsEngineModel *model,
                                               size_t               weight_index);
void     qs_engine_model_get_input_shape      (const QsEngineModel *model,
                                               int                 *height,
                                               int                 *width,
                                               int                 *channels);
/* The shape of what the model scores per image: 1 x 1 x classes for a
 * classifier. */
void     qs_engine_model_get_output_shape     (const QsEngineModel *model,
                                               int                 *height,
                                               int                 *width,
                                               int                 *channels);
/* Whether the model's file gives its input as (C, H, W) (a channels_first
 * model converted from PyTorch): the engine still takes H x W x C images,
 * but a loader of the user's images may find them stored in that order. */
void     qs_engine_model_set_input_channels_first (QsEngineModel *model,
                                                   bool           channels_first);
bool     qs_engine_model_get_input_channels_first (const QsEngineModel *model);
/* Outputs per image of the last layer (the classes scored by argmax). */
size_t   qs_engine_model_get_n_outputs        (const QsEngineModel *model);
uint64_t qs_engine_model_get_macs             (const QsEngineModel *model);

/* ---- data ------------------------------------------------------------------------ */

/* Images already preprocessed to the model's input values, NHWC float32. */
typedef struct {
  size_t         count;
  int            height, width, channels;
  const float   *images;   /* count * height * width * channels */
  const int32_t *labels;   /* count class indices; NULL for unlabeled (calibration) data */
} QsEngineDataset;

typedef void (*QsEngineProgressFunc) (size_t done,
                                      size_t total,
                                      void  *user_data);

typedef struct {
  int                  n_threads;     /* 0: all cores */
  /* Raised (nonzero) by another thread: the call returns QS_ENGINE_CANCELLED
   * within one small batch (a few milliseconds). NULL: not cancellable. */
  const atomic_int    *cancel;
  /* Called on the calling thread after each batch it finishes, with the
   * images done so far over all threads. NULL: no progress. */
  QsEngineProgressFunc progress;
  void                *progress_data;
} QsEngineRunOptions;

void qs_engine_run_options_init (QsEngineRunOptions *options);

/* ---- quantizing ---------------------------------------------------------------- */

/* How activations are quantized: 8-bit asymmetric uint8 per tensor, the
 * range from the calibration images. */
typedef struct {
  QsRangeMethod range_method;  /* QS_RANGE_MINMAX (default) or QS_RANGE_PERCENTILE */
  double        percentile;    /* for percentile, in (50, 100], e.g. 99.99 */
  bool          nudge_zero;    /* false: fractional zero point, padding not exactly 0.0 */
  QsRounding    rounding;      /* of the model input's quantization */
  /* Keep the last layer's sums as float logits instead of requantizing
   * them to uint8 (default false: an int8 model's output is codes, and
   * equal codes tie, the lowest class winning, as in PyTorch's reference). */
  bool          float_logits;
} QsActivationScheme;

void qs_activation_scheme_init_default (QsActivationScheme *scheme);

typedef struct _QsQuantizedModel QsQuantizedModel;

/* Quantizes @model: weighted layer i under *@layer_schemes[i] (n_schemes ==
 * qs_engine_model_get_n_weighted; a NULL entry keeps that layer's weights
 * in float32, e.g. a layer a scheme file skips), activations under @activations with
 * ranges calibrated on the first @calibration_count images of
 * @calibration (the calibration slice; 0: all of it). Also computes each
 * weighted layer's weight SQNR and output SQNR (float32 against the
 * dequantized integer path on the calibration slice).
 *
 * Integer schemes of 2..8 bits run on int8 weights with int32 sums, 9..16
 * bits on int16 weights with int64 sums; float formats (fp16, bf16, fp8),
 * group-wise integer and block formats run the layer in float32 on the
 * weights' reconstruction between uint8 activations. On failure *@quantized is NULL and, when @message is
 * not NULL, it receives an English explanation naming the layer.
 * Cancellable; progress counts calibration images twice (ranges, SQNR). */
QsEngineStatus qs_engine_prepare_quantized (const QsEngineModel        *model,
                                            const QsScheme *const      *layer_schemes,
                                            size_t                      n_schemes,
                                            const QsActivationScheme   *activations,
                                            const QsEngineDataset      *calibration,
                                            size_t                      calibration_count,
                                            const QsEngineRunOptions   *options,
                                            QsQuantizedModel          **quantized,
                                            char                       *message,
                                            size_t                      message_size);
void           qs_quantized_model_free (QsQuantizedModel *quantized);

/* Calibrate once, quantize many times. Activation ranges depend on the
 * float32 model and the calibration images alone, not on the weight
 * scheme: qs_engine_calibrate measures them once per (model, activation
 * scheme, calibration slice), and qs_engine_quantize_calibrated then
 * quantizes weights and derives requantization multipliers for any
 * number of weight schemes without running the calibration images again.
 * qs_engine_prepare_quantized is the two in one call. Calibrating is one
 * float32 pass over the slice (two for percentile ranges), its ranges
 * gathered as each layer's output is made; the output SQNR is not part of
 * it. Immutable, shareable between threads; holds @model and
 * @calibration's images by pointer (they must outlive it: the output SQNR
 * runs them again). */
typedef struct _QsCalibration QsCalibration;

QsEngineStatus qs_engine_calibrate (const QsEngineModel        *model,
                                    const QsActivationScheme   *activations,
                                    const QsEngineDataset      *calibration,
                                    size_t                      calibration_count,
                                    const QsEngineRunOptions   *options,
                                    QsCalibration             **calibrated,
                                    char                       *message,
                                    size_t                      message_size);
void           qs_calibration_free (QsCalibration *calibrated);

/* As qs_engine_prepare_quantized, on a calibration made before. With
 * @with_output_sqnr false the per-layer output SQNR (which needs a pass
 * over the calibration images) is not computed and reads NaN: the
 * sensitivity and mixed-precision searches quantize hundreds of schemes. */
QsEngineStatus qs_engine_quantize_calibrated (const QsCalibration        *calibrated,
                                              const QsScheme *const      *layer_schemes,
                                              size_t                      n_schemes,
                                              bool                        with_output_sqnr,
                                              const QsEngineRunOptions   *options,
                                              QsQuantizedModel          **quantized,
                                              char                       *message,
                                              size_t                      message_size);


typedef struct {
  double weight_sqnr_db;   /* +INFINITY when exact */
  double output_sqnr_db;   /* NaN when the output was all zero */
  int    weight_bits;      /* the container: 8, 16, or 32 for float formats */
  float  output_scale;     /* the output activation's scale and zero point */
  float  output_zero_point;
  /* The arithmetic the layer runs on, a static string: "int8" or "int16"
   * (integer weights, one requantized sum per output), "int8-groupwise"
   * (int8 codes, an int32 sum per group or block rescaled in float32),
   * "int16-groupwise" (the same with int16 codes: MXFP6 E3M2's elements
   * times 16),
   * "float-weights" (float32 on the weights' reconstruction; activations
   * are still uint8 codes, dequantized in and quantized out). */
  const char *kernel;
} QsQuantizedLayerStats;

/* Stats of weighted layer @weight_index; false when out of range. */
bool        qs_quantized_model_get_layer_stats (const QsQuantizedModel *quantized,
                                                size_t                  weight_index,
                                                QsQuantizedLayerStats  *stats);
/* The kernels the quantized model runs on: "avx512vnni", "avx2" or "scalar". */
const char *qs_quantized_model_get_kernel_name (const QsQuantizedModel *quantized);
const QsEngineModel *qs_quantized_model_get_model (const QsQuantizedModel *quantized);
/* Whether layer @index (of all layers, not only weighted ones) runs on the
 * integer path in float32 between a dequantize and a quantize: no integer
 * kernel for it (softmax, bilinear upsampling, preprocessing before the
 * image is quantized, ...) or fractional zero points for a merge or a
 * table. Reports list these layers: nothing is silently approximated.
 * False when out of range. */
bool        qs_quantized_model_layer_runs_in_float (const QsQuantizedModel *quantized,
                                                    size_t                  index);

/* ---- running ----------------------------------------------------------------------- */

/* Top-1 class of images [first, first + count) of @data into @predictions
 * (count entries): the float32 path when @quantized is NULL, else the
 * integer path. */
QsEngineStatus qs_engine_predict (const QsEngineModel      *model,
                                  const QsQuantizedModel   *quantized,
                                  const QsEngineDataset    *data,
                                  size_t                    first,
                                  size_t                    count,
                                  const QsEngineRunOptions *options,
                                  int32_t                  *predictions);

typedef struct {
  size_t images;
  size_t fp32_correct;
  size_t quant_correct;
  size_t agree;            /* images where both paths predict the same class */
  double fp32_seconds;     /* 0 when float32 predictions were given */
  double quant_seconds;
} QsEngineEvalResult;

/* Scores images [first, first + count) of a labeled @data set on both
 * paths. @fp32_predictions, when not NULL, holds float32 predictions for
 * those images already (they do not depend on the scheme: the GUI computes
 * them once per data set) and the float32 path is skipped. @quant_predictions,
 * when not NULL, receives the integer path's predictions (count entries). */
QsEngineStatus qs_engine_evaluate (const QsEngineModel      *model,
                                   const QsQuantizedModel   *quantized,
                                   const QsEngineDataset    *data,
                                   size_t                    first,
                                   size_t                    count,
                                   const QsEngineRunOptions *options,
                                   const int32_t            *fp32_predictions,
                                   int32_t                  *quant_predictions,
                                   QsEngineEvalResult       *result);

/* ---- branches off a shared run (sensitivity) -------------------------------------- */

/* Scheme sets that differ from one quantized model in one layer share
 * everything before it: a branch leaves the trunk's integer run just
 * before layer @layer (of all layers, not only weighted ones), runs that
 * layer as @at quantized it and the layers after it as @rest did. */
typedef struct {
  size_t                  layer;
  const QsQuantizedModel *at;
  const QsQuantizedModel *rest;
} QsEngineBranch;

/* Top-1 classes of images [first, first + count) of @data on @trunk's
 * integer path into @predictions[0 .. count), and, for each branch b,
 * those of the model whose layers before branches[b].layer are
 * @trunk's, that layer (and the later calls of a shared layer) @at's
 * and the rest @rest's into @predictions[(1 + b) * count ..]: the classes qs_engine_predict gives for a model
 * quantized that way, bit for bit, for the cost of one run of the trunk
 * and each branch's layers from its own on. Every model must be a
 * quantization of one QsEngineModel on one calibration
 * (qs_engine_quantize_calibrated: each layer's integer form depends on
 * its own scheme alone), else QS_ENGINE_INVALID_ARGUMENT, as for a
 * branch at a layer before the quantized input or past the scored one.
 * Each worker holds two scratch blocks whatever the number of branches,
 * together at most 256 MiB where one image fits (a task then takes fewer
 * images); a raised cancel flag is seen between branches. Progress counts
 * images. */
QsEngineStatus qs_engine_predict_branches (const QsQuantizedModel   *trunk,
                                           const QsEngineBranch     *branches,
                                           size_t                    n_branches,
                                           const QsEngineDataset    *data,
                                           size_t                    first,
                                           size_t                    count,
                                           const QsEngineRunOptions *options,
                                           int32_t                  *predictions);

/* Adds @part's counts and times to @total (a progressive evaluation:
 * images 0..999, then 1000..9999). */
void   qs_engine_eval_result_add (QsEngineEvalResult       *total,
                                  const QsEngineEvalResult *part);
/* Percentages, 0 when there are no images. */
double qs_engine_eval_result_fp32_top1  (const QsEngineEvalResult *result);
double qs_engine_eval_result_quant_top1 (const QsEngineEvalResult *result);
double qs_engine_eval_result_agreement  (const QsEngineEvalResult *result);

/* ---- one batch, for benchmarks and tests ------------------------------------------ */

/* The working memory one worker thread of qs_engine_prepare_quantized,
 * qs_engine_evaluate or qs_engine_predict holds at most: its batch of
 * up to QS_ENGINE_TASK_IMAGES images (fewer where that many would take
 * more than 128 MiB), its values placed by liveness (the largest set
 * alive at once), plus, for the output SQNR, the integer path's values
 * beside the float32 path's (layer by layer, so it does not grow with
 * depth). A run holds this once per thread; it depends on the
 * architecture alone (a tiny file can declare huge feature maps), so
 * callers compare it with their memory budget before running. SIZE_MAX
 * when it overflows. */
size_t qs_engine_get_working_size (const QsEngineModel *model);

/* Scratch bytes one call of qs_engine_forward needs for @batch images. */
size_t qs_engine_get_buffer_size (const QsEngineModel    *model,
                                  const QsQuantizedModel *quantized,
                                  size_t                  batch);
/* Runs @batch images (NHWC floats) through the float32 (@quantized NULL) or
 * integer path on the calling thread and writes the last layer's outputs
 * as floats (@batch * n_outputs; the integer path dequantizes them). */
QsEngineStatus qs_engine_forward (const QsEngineModel    *model,
                                  const QsQuantizedModel *quantized,
                                  const float            *images,
                                  size_t                  batch,
                                  void                   *scratch,
                                  size_t                  scratch_size,
                                  float                  *outputs);

/* Runs layer @layer alone on @batch inputs, for per-layer benchmarks: the
 * input is the layer's input shape per image (floats for the float32 path,
 * uint8 codes for the integer path), @output likewise. */
QsEngineStatus qs_engine_run_layer (const QsEngineModel    *model,
                                    const QsQuantizedModel *quantized,
                                    size_t                  layer,
                                    const void             *input,
                                    size_t                  batch,
                                    void                   *scratch,
                                    size_t                  scratch_size,
                                    void                   *output);

/* The name of the kernels this CPU runs (same rules as the quantized model's). */
const char *qs_engine_kernel_name (void);

#ifdef __cplusplus
}
#endif
