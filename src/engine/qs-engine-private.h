/* qs-engine-private.h: the engine's structures, shared by its source files and tests.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "engine/qs-engine.h"
#include "engine/kernels/qs-kernels.h"
#include "engine/kernels/qs-graph-kernels.h"
#include "quant/qs-params.h"

/* Images per task of the parallel runner: small enough that a raised
 * cancel flag is seen within a few milliseconds, large enough that the
 * weights are reused across images. */
#define QS_ENGINE_TASK_IMAGES 16
/* GEMM rows per im2col/requantization tile. */
#define QS_ENGINE_TILE_ROWS 96
/* Multiply-adds from which a float32 GEMM layer's tiles, or a depthwise
 * layer's rows, are split between a task's threads
 * (qs_engine_task_threads): a thread costs tens of microseconds to
 * start, and the depthwise kernel does about a tenth of the GEMM's
 * multiply-adds a second. */
#define QS_ENGINE_SPLIT_MACS (4u << 20)
#define QS_ENGINE_SPLIT_DEPTHWISE_MACS (QS_ENGINE_SPLIT_MACS / 8)

typedef struct {
  char        *name;
  QsLayerKind  kind;
  int          in_h, in_w, in_c;
  int          out_h, out_w, out_c;
  int          kernel_h, kernel_w, stride_h, stride_w;
  int          pad_top, pad_left;
  int          multiplier;    /* depthwise */
  QsActivation activation;
  float        activation_max;
  float        lo, hi;        /* the float32 clamp the activation amounts to */
  size_t       k;             /* GEMM depth (conv, dense) or taps (depthwise) */
  float       *weights;       /* depthwise: the kernel, [taps][out_c]; NULL otherwise */
  float       *bias;          /* [out_c], zeros when the layer has none */
  float       *packed_f32;    /* Conv2D, Dense: the kernel ([k][out_c] in Keras) packed for the
                               * model's float32 GEMM (per group, one after the other, for a
                               * grouped convolution), its only float copy */
  int          weight_index;
  int          inputs[QS_ENGINE_MAX_INPUTS];  /* the values read; inputs[0] gives in_h/w/c */
  size_t       n_inputs;
  char        *weight_tensor;
  int          dilation_h, dilation_w;        /* Conv2D, >= 1 */
  int          groups;                        /* Conv2D, >= 1: k is the taps of one group */
  QsActivationSpec spec;      /* ACTIVATION: the function (RELU: the lo/hi clamp) */
  float       *affine_scale;  /* AFFINE [out_c]; the shift is in bias */
  int          factor_h, factor_w;            /* UPSAMPLE */
  bool         bilinear;
  /* ACTIVATION: a plain ReLU folded into the weighted layer it reads (the
   * layer just before it, whose value nothing else reads): a view of that
   * layer's clamped output. Undone when another reader of that value comes. */
  bool         fused_relu;
  float        epsilon;       /* LAYER_NORM (its gamma in affine_scale, its beta in bias) */
  /* PAD: zero padding folded into the convolution that alone reads it
   * (qs-engine-plan.c), a view of its input. The convolution then reads
   * that input itself: its in_h / in_w are the unpadded input's and its
   * pad_top / pad_left include the fold_top / fold_left rows and columns
   * (bottom and right padding is implicit: taps past the input read zero);
   * fold_rows / fold_cols are the padding's total, for the shapes it reports. */
  bool         folded_pad;
  int          fold_top, fold_left, fold_rows, fold_cols;
  /* weights, bias and packed_f32 are an earlier layer's, read and kept
   * once (a later call of a shared Keras layer: qs_engine_model_share_weights) */
  bool         shared_weights;
} QsEngineLayer;

/* Scratch buffers of the values, by liveness (qs-engine-plan.c): value v
 * lives in slot slot[v] (or shares its root's storage: Flatten and
 * Reshape are views of their input), slots are reused once every value
 * placed in them is dead, and a slot is as large as its largest value. */
typedef struct {
  int    *slot;        /* [n_values]: -1 for none (a view, or the caller's images) */
  int    *root;        /* [n_values]: the value whose storage v uses (itself if not a view) */
  int    *last_use;    /* [n_values]: the last layer reading a root value (n_layers: the
                        * scored one), so a value made before layer i is alive at i when
                        * last_use[root] >= i */
  size_t *slot_elems;  /* [n_slots]: elements per image */
  size_t  n_slots;
} QsValuePlan;

struct _QsEngineModel {
  int              in_h, in_w, in_c;
  bool             input_channels_first; /* the file gives the input as (C, H, W) */
  QsEngineLayer   *layers;
  size_t           n_layers;
  size_t           capacity;
  size_t           n_weighted;
  const QsKernels *kernels;   /* float32 GEMM choice, made at creation */
  int              next_inputs[QS_ENGINE_MAX_INPUTS];
  size_t           n_next_inputs;   /* 0: the last value */
  int              output_value;    /* -1: the last layer's */
  QsValuePlan      plan_f32;        /* float32 path: the images are the caller's */
  QsValuePlan      plan_u8;         /* integer path: codes of every value, the input's too */
  size_t           n_float_prefix;  /* leading AFFINE layers on the image, run in float by
                                     * the integer path before the input is quantized */
  bool             keep_padding;    /* no ZeroPadding2D folded (tests compare both) */
  bool             refuse_streamed_packing;  /* tests: every layer's last channel group
                                              * leaves its streamed group-wise packing's
                                              * form, as no scheme's codes do, so the layer
                                              * is packed whole (blockwise_streamed) */
};

typedef enum {
  QS_QMODE_NONE = 0,   /* a layer without weights */
  QS_QMODE_INT8,       /* int8 weights, int32 sums */
  QS_QMODE_INT16,      /* int64 sums: of int16 weights (or Q8-scaled depthwise), or of
                        * int8 weights (packed) past QS_MAX_INT32_K taps */
  QS_QMODE_FLOAT,      /* weights in a float format, computed in float32 */
  QS_QMODE_GROUPWISE,  /* integer groups or integer block elements: int32 sums per
                        * group, rescaled in float32 (Conv2D and Dense through
                        * groupwise, depthwise through depthwise_groups) */
} QsQuantMode;

/* One activation tensor's quantizer. */
typedef struct {
  float   scale;
  float   zero_point;   /* fractional when nudging is off */
  int32_t zero_code;    /* the code the mapping gives 0.0: padding and ReLU floor */
} QsActQuant;

typedef struct {
  QsQuantMode       mode;
  bool              runs_in_float; /* dequantize, the float32 layer, quantize */
  QsActQuant        in, out;
  bool              float_output;  /* the last layer: float logits, no requantization */
  size_t            kp;            /* padded GEMM depth */
  bool              direct;        /* A is the input itself (1x1, stride 1, K == kp) */
  bool              need_rowsum;
  void             *packed;        /* int8 GEMM or depthwise weights in the kernel layout */
  void             *packed_c1;     /* int8 weights for the ISA's direct one-channel
                                    * convolution, or NULL: im2col + GEMM */
  int16_t          *w16;           /* int16 GEMM weights [n][k] */
  int32_t          *dw32;          /* int16-mode depthwise weights [taps][c] */
  int32_t          *bias32;
  int64_t          *bias64;
  int32_t          *weight_zp;
  int32_t          *multiplier;
  int32_t          *right_shift;
  int32_t          *left_shift;
  int32_t          *frac_q16;
  QsRequantParams   rq;
  QsRequantParams64 rq64;
  QsRequantFunc     requant;       /* the ISA's, or the reference when it needs extras */
  double           *out_dequant;   /* float logits: real = out_dequant[c] * total */
  float            *fake_packed;   /* QS_QMODE_FLOAT: rounded weights packed for the float32 GEMM
                                    * (a block format's; NULL: the layer's own weights, or rounding) */
  float            *fake_weights;  /* ... and in the Keras layout (depthwise) */
  /* QS_QMODE_FLOAT, a GEMM layer's weights in a float format (fp16, bf16,
   * FP8) or in MXFP8 or NF4: the model's packed kernel rounded as the
   * layer runs (qs-gemm-f32-round.c), not kept; format QS_FORMAT_INT
   * otherwise. Views of round_scale and round_inv_scale [out_c] (a block
   * format's [blocks_per_run][out_c]). */
  QsFloatRounding   rounding;
  float            *round_scale;
  float            *round_inv_scale;
  QsNf4Table       *round_nf4;     /* NF4's levels, for rounding */
  float            *round_zero_point;  /* integer groups' [blocks_per_run][out_c] */
  size_t           packed_group_size;  /* bytes of one group's packed int8 weights */
  uint8_t          table[256];     /* ACTIVATION: the lookup table */
  uint8_t          *tables;        /* PRELU: a lookup table per channel, [out_c][256] */
  QsAddParams      add;            /* ADD, SUBTRACT, AVERAGE */
  QsMulParams      mul;            /* MULTIPLY */
  int              broadcast_input;  /* MULTIPLY: the input that is one pixel, or -1 */
  QsRescaleParams  rescale[QS_ENGINE_MAX_INPUTS];  /* CONCATENATE, MAXIMUM: input to output */
  QsGroupwiseWeights groupwise;    /* QS_QMODE_GROUPWISE: views of the four arrays below */
  int8_t           *group_codes;   /* [n][k] */
  int16_t          *group_codes16; /* [n][k], instead of group_codes for elements past int8 */
  int32_t          *group_zero_points;
  int32_t          *group_code_sums;
  float            *group_scales;
  QsDepthwiseGroupWeights depthwise_groups;  /* QS_QMODE_GROUPWISE depthwise: views of the */
  int16_t          *group_dw;      /* [taps][c], and of group_code_sums and group_scales [groups][c] */
  size_t           packed_bytes;   /* allocated for packed */
  void            *packed_alloc;   /* int8 GEMM: the allocation packed is 64-byte aligned in (freed) */
  /* A later call of a shared Keras layer (QsEngineLayer.shared_weights):
   * the weights' quantized forms above (mode, packed and packed_c1, w16,
   * dw32, weight_zp, frac_q16, fake_*, round_*, group_* and the views of
   * them) are its first call's, made once for every call; the biases,
   * multipliers and shifts, which depend on the call's own input and
   * output quantizers, are its own. */
  bool             borrowed_weights;
  QsQuantizedLayerStats stats;
} QsQuantLayer;

struct _QsQuantizedModel {
  const QsEngineModel  *model;
  const QsKernels      *kernels;
  const QsGraphKernels *graph_kernels;
  QsQuantLayer         *layers;     /* one per model layer */
  QsActQuant           *values;     /* [n_layers + 1]: each value's quantizer */
  QsActQuant            input;      /* the quantized input's (value n_float_prefix) */
  QsScheme             input_scheme;  /* the model input's quantizer, for qs_quantize_channel */
  QsQuantParams        input_params;
};

/* Bytes @qm holds for its weights' quantized forms (codes, packings,
 * their scales and zero points; not the per-call biases and
 * requantization): a shared layer's once, however often it is called. */
size_t qs_quantized_model_weight_bytes (const QsQuantizedModel *qm);

/* Scratch layout of one forward pass of @batch images. */
typedef struct {
  size_t act_bytes;      /* the largest value's floats (each float temporary of the integer path) */
  size_t code_bytes;     /* the largest value's codes */
  size_t float_bytes;    /* the float32 path's value slots, or two temporaries of act_bytes */
  size_t codes_bytes;    /* the integer path's value slots */
  size_t cols_bytes;     /* im2col tile (float or uint8) */
  size_t acc_bytes;      /* int32/int64 tile */
  size_t rowsum_bytes;
  size_t expand_bytes;   /* depthwise multiplier > 1: repeated input channels */
  size_t zero_row_bytes;
  size_t total;
} QsScratchLayout;

void qs_engine_scratch_layout (const QsEngineModel *model,
                               size_t               batch,
                               QsScratchLayout     *layout);

/* Called after every layer with its output (float32 path: floats; integer
 * path: uint8 codes, or floats for the last layer when float_output). */
typedef void (*QsLayerHook) (void       *data,
                             size_t      layer,
                             const void *output,
                             size_t      batch);

QsEngineStatus qs_engine_forward_fp32  (const QsEngineModel *model,
                                        const float         *images,
                                        size_t               batch,
                                        void                *scratch,
                                        QsLayerHook          hook,
                                        void                *hook_data,
                                        float               *outputs);
/* The float32 pass over @batch images, folding each value's min and max
 * into @lo / @hi (indexed by value, the image's included; views are left
 * alone, the image is the caller's to observe): GEMM tiles and depthwise
 * bands are observed while still in cache, a ZeroPadding2D from its
 * input's range. */
QsEngineStatus qs_engine_forward_fp32_ranges (const QsEngineModel *model,
                                              const float         *images,
                                              size_t               batch,
                                              void                *scratch,
                                              float               *lo,
                                              float               *hi);
QsEngineStatus qs_engine_forward_quant (const QsQuantizedModel *quantized,
                                        const float            *images,
                                        size_t                  batch,
                                        void                   *scratch,
                                        QsLayerHook             hook,
                                        void                   *hook_data,
                                        float                  *outputs);

/* The integer path of @trunk on @batch images, and beside it each branch
 * of qs_engine_predict_branches: before layer branches[b].layer runs, the
 * values alive there are copied into @branch_scratch (a second block of
 * the same size) and the branch runs from there to the scored layer.
 * @outputs holds (1 + n_branches) blocks of @batch * n_outputs floats,
 * the trunk's first. */
QsEngineStatus qs_engine_forward_branches (const QsQuantizedModel *trunk,
                                           const QsEngineBranch   *branches,
                                           size_t                  n_branches,
                                           const float            *images,
                                           size_t                  batch,
                                           void                   *scratch,
                                           void                   *branch_scratch,
                                           const atomic_int       *cancel,
                                           float                  *outputs);

/* Both paths side by side, layer by layer (the output SQNR): after each
 * layer of the integer path, @hook gets the float32 output and the
 * integer one (codes, or float logits), without keeping every layer's
 * float32 output. The scratch is qs_engine_compare_buffer_size bytes,
 * plus qs_engine_rounding_bytes (@quantized). */
typedef void (*QsCompareHook) (void        *data,
                               size_t       layer,
                               const float *real,
                               const void  *quantized,
                               size_t       batch);

size_t         qs_engine_compare_buffer_size (const QsEngineModel    *model,
                                              size_t                  batch);
/* The bytes past the forward layout in which @quantized's float-format
 * GEMM layers round the model's kernel as they run (0 for none, and for
 * NULL): part of qs_engine_get_buffer_size (@quantized); a scratch for
 * qs_engine_forward_branches needs its branches' too. */
size_t         qs_engine_rounding_bytes      (const QsQuantizedModel *quantized);
QsEngineStatus qs_engine_forward_compare     (const QsQuantizedModel *quantized,
                                              const float            *images,
                                              size_t                  batch,
                                              void                   *scratch,
                                              QsCompareHook           hook,
                                              void                   *hook_data);

/* The scratch one forward call of a worker may take before a task's
 * images run a few at a time: a batch of 16 images of VGG16's 224 x 224
 * x 64 maps is 0.5 GB of float32 values, an image 31 MB. Results do not
 * change (every image is computed on its own; ranges and SQNR sums run
 * over the task's images in order whatever the batch). */
#define QS_ENGINE_BATCH_BYTES ((size_t) 128 << 20)

/* Images per forward call of a worker: QS_ENGINE_TASK_IMAGES, halved
 * while the float32 (@quantized NULL) or integer path's scratch, or with
 * @compare the output SQNR pass's, would pass QS_ENGINE_BATCH_BYTES;
 * at least 1 (qs-engine-eval.c). */
size_t qs_engine_fit_batch (const QsEngineModel    *model,
                            const QsQuantizedModel *quantized,
                            bool                    compare);

/* The scratch one worker needs for a forward call of @batch images,
 * rounded up to a cache line; SIZE_MAX when it cannot be addressed. */
static inline size_t
qs_engine_batch_scratch_size (const QsEngineModel    *model,
                              const QsQuantizedModel *quantized,
                              size_t                  batch)
{
  size_t size = qs_engine_get_buffer_size (model, quantized, batch);

  return size > SIZE_MAX - 63 ? SIZE_MAX : (size + 63) & ~(size_t) 63;
}

/* Elements per image of a layer's output. */
static inline size_t
qs_layer_out_size (const QsEngineLayer *layer)
{
  return (size_t) layer->out_h * layer->out_w * layer->out_c;
}

static inline size_t
qs_layer_in_size (const QsEngineLayer *layer)
{
  return (size_t) layer->in_h * layer->in_w * layer->in_c;
}

/* The window of a Conv2D, DepthwiseConv2D or pooling layer, as the
 * im2col, pooling and direct-convolution kernels take it. */
static inline QsConvShape
qs_layer_conv_shape (const QsEngineLayer *l)
{
  QsConvShape s = {
    .in_h = l->in_h, .in_w = l->in_w, .in_c = l->in_c,
    .kernel_h = l->kernel_h, .kernel_w = l->kernel_w,
    .stride_h = l->stride_h, .stride_w = l->stride_w,
    .pad_top = l->pad_top, .pad_left = l->pad_left,
    .out_h = l->out_h, .out_w = l->out_w,
  };

  return s;
}

/* A dense layer, or a 1x1 window with stride 1 and no padding: the input
 * rows are the GEMM rows, no im2col needed. */
static inline bool
qs_layer_is_pointwise (const QsEngineLayer *l)
{
  return l->kind == QS_LAYER_DENSE
    || (l->kernel_h == 1 && l->kernel_w == 1 && l->stride_h == 1 && l->stride_w == 1
        && l->pad_top == 0 && l->pad_left == 0);
}

/* The value the model scores. */
static inline int
qs_model_output_value (const QsEngineModel *model)
{
  int v = model->output_value >= 0 ? model->output_value : (int) model->n_layers;

  /* A fused ReLU's value is its input's, clamped already: the weighted
   * layer is then the scored one (float logits come from its sums). */
  if (v > 0 && model->layers[v - 1].fused_relu)
    v = model->layers[v - 1].inputs[0];
  return v;
}

/* Whether layer @i's output is what the model scores (the last layer
 * unless qs_engine_model_set_output named another value). */
static inline bool
qs_layer_is_last (const QsEngineModel *model,
                  size_t               i)
{
  return (int) i + 1 == qs_model_output_value (model);
}

/* Elements per image of value @v (0: the image). */
static inline size_t
qs_value_size (const QsEngineModel *model,
               int                  v)
{
  if (v == QS_ENGINE_INPUT_VALUE)
    return (size_t) model->in_h * model->in_w * model->in_c;
  return qs_layer_out_size (&model->layers[v - 1]);
}

/* Whether the layer has no storage of its own: its output is its input's
 * memory seen with another shape. */
static inline bool
qs_layer_is_view (const QsEngineLayer *l)
{
  return l->kind == QS_LAYER_FLATTEN || l->kind == QS_LAYER_RESHAPE || l->fused_relu || l->folded_pad;
}

/* A max pool that reads a ZeroPadding2D folded into it: its taps outside
 * the image hold 0.0 (qs_max_pool_zero_padded_*), not skipped. */
static inline bool
qs_layer_pools_zero_padding (const QsEngineLayer *l)
{
  return l->kind == QS_LAYER_MAX_POOL && (l->fold_rows > 0 || l->fold_cols > 0);
}

/* A ZeroPadding2D that adds zeros (not one of zero rows and columns). */
static inline bool
qs_layer_adds_zeros (const QsEngineLayer *l)
{
  return l->kind == QS_LAYER_PAD && (size_t) l->out_h * l->out_w > (size_t) l->in_h * l->in_w;
}

/* An activation layer that is a plain ReLU (a clamp on codes, keeping its
 * input's parameters), not a table. */
static inline bool
qs_layer_is_plain_relu (const QsEngineLayer *l)
{
  return l->kind == QS_LAYER_ACTIVATION && l->spec.kind == QS_ACTIVATION_RELU
    && l->spec.negative_slope == 0.0f && l->spec.threshold == 0.0f;
}

/* Whether @kind is a merge of two or more values. */
static inline bool
qs_layer_kind_is_merge (QsLayerKind kind)
{
  return (kind >= QS_LAYER_ADD && kind <= QS_LAYER_CONCATENATE) || kind == QS_LAYER_MINIMUM
    || kind == QS_LAYER_DIVIDE;
}

/* Conv2D with dilation or groups: the general im2col, one GEMM per group. */
static inline bool
qs_layer_is_general_conv (const QsEngineLayer *l)
{
  return l->kind == QS_LAYER_CONV2D && (l->groups > 1 || l->dilation_h > 1 || l->dilation_w > 1);
}

/* The float32 GEMM operand of a Conv2D or Dense layer's [k][out_c]
 * @weights (the layer's own, or the integer path's rounded ones): one
 * packed block per group. */
size_t         qs_layer_packed_f32_size (const QsKernels     *kernels,
                                         const QsEngineLayer *l);
QsEngineStatus qs_layer_pack_f32        (const QsKernels     *kernels,
                                         const QsEngineLayer *l,
                                         const float         *weights,
                                         float               *packed);
/* Rows [row0, row0 + rows) of such weights, given in @block ([rows][out_c]),
 * into their places in @packed: block after block, what qs_layer_pack_f32
 * gives for the whole kernel. */
void           qs_layer_pack_f32_rows   (const QsKernels     *kernels,
                                         const QsEngineLayer *l,
                                         size_t               row0,
                                         size_t               rows,
                                         const float         *block,
                                         float               *packed);
bool           qs_layer_runs_in_float   (const QsEngineModel *model,
                                         size_t               i);

/* Whether the layer has a kernel (Conv2D, DepthwiseConv2D, Dense). */
static inline bool
qs_layer_has_kernel (const QsEngineLayer *l)
{
  return l->weights != NULL || l->packed_f32 != NULL;
}

/* Rows [row0, row0 + rows) of the layer's kernel in the Keras layout
 * [k][out_c], into @out: its own copy (depthwise) or read back from the
 * packed GEMM operand, bit for bit what the model was given (after folds). */
QsEngineStatus qs_layer_kernel_rows     (const QsEngineModel *model,
                                         const QsEngineLayer *l,
                                         size_t               row0,
                                         size_t               rows,
                                         float               *out);
/* The whole kernel in a new buffer (free()), or NULL without memory. */
float         *qs_layer_kernel_copy     (const QsEngineModel *model,
                                         const QsEngineLayer *l);

/* Pad, crop or nearest-upsample @batch maps of @elem_size elements
 * (qs-engine-ops.c); @fill is one element of padding. */
void qs_layer_move     (const QsEngineLayer *l,
                        const void          *input,
                        size_t               batch,
                        size_t               elem_size,
                        const void          *fill,
                        void                *output);
/* Folds merge input @j of @batch images into @acc (j == 0 starts it). */
void qs_merge_step_f32 (const QsEngineModel *model,
                        const QsEngineLayer *l,
                        size_t               j,
                        const float         *in,
                        size_t               batch,
                        float               *acc);
/* The float32 layers without weights beside pooling: merges, pad, crop,
 * upsample, affine, activations. */
void qs_layer_ops_f32  (const QsEngineModel *model,
                        const QsEngineLayer *l,
                        const float *const  *ins,
                        size_t               batch,
                        float               *out);

/* (Re)plans the value buffers after the graph changed (qs-engine-plan.c). */
QsEngineStatus qs_engine_model_plan (QsEngineModel *model);
void           qs_value_plan_clear  (QsValuePlan *plan);

/* The parallel runner: @func runs on images [first, first + count) of a
 * task with that worker's scratch; returns non-OK to stop. */
typedef QsEngineStatus (*QsBatchFunc) (void  *data,
                                       size_t task,
                                       size_t first,
                                       size_t count,
                                       void  *scratch);

/* The threads the task running on this thread may use inside its batch:
 * qs_engine_run_batches gives each task threads / tasks of them when it
 * has fewer tasks than threads (one task of a few images), 1 otherwise and
 * outside a task. The float32 path splits large GEMM and depthwise layers
 * between them. */
int            qs_engine_task_threads (void);

QsEngineStatus qs_engine_run_batches (size_t                    n_images,
                                      size_t                    scratch_size,
                                      const QsEngineRunOptions *options,
                                      size_t                    progress_base,
                                      size_t                    progress_total,
                                      QsBatchFunc               func,
                                      void                     *data);
/* The same in tasks of @task_images (1..QS_ENGINE_TASK_IMAGES) images. */
QsEngineStatus qs_engine_run_tasks   (size_t                    n_images,
                                      size_t                    task_images,
                                      size_t                    scratch_size,
                                      const QsEngineRunOptions *options,
                                      size_t                    progress_base,
                                      size_t                    progress_total,
                                      QsBatchFunc               func,
                                      void                     *data);

/* Every value's calibrated range (qs-engine-calibrate.c). */
struct _QsCalibration {
  const QsEngineModel *model;
  QsActivationScheme   activations;
  QsEngineDataset      data;     /* the caller's images, for the output SQNR */
  size_t               count;
  float               *lo, *hi;  /* [n_layers + 1]: each value's calibrated range */
};

/* qs_engine_calibrate with progress reported over @progress_total images. */
QsEngineStatus qs_engine_calibrate_values    (const QsEngineModel        *model,
                                              const QsActivationScheme   *activations,
                                              const QsEngineDataset      *calibration,
                                              size_t                      calibration_count,
                                              const QsEngineRunOptions   *options,
                                              size_t                      progress_total,
                                              QsCalibration             **calibrated,
                                              char                       *message,
                                              size_t                      message_size);
/* Each weighted layer's output SQNR of @qm on @cal's slice. */
QsEngineStatus qs_engine_measure_output_sqnr (const QsCalibration        *cal,
                                              QsQuantizedModel           *qm,
                                              const QsEngineRunOptions   *options,
                                              size_t                      progress_base,
                                              size_t                      progress_total);
/* printf into @message (when not NULL); a failure's message, unless a
 * more precise one was set already. */
void qs_engine_set_message     (char           *message,
                                size_t          size,
                                const char     *format,
                                ...) __attribute__ ((format (printf, 3, 4)));
void qs_engine_explain_failure (QsEngineStatus  status,
                                char           *message,
                                size_t          message_size);

/* Monotonic seconds. */
double qs_engine_now (void);
