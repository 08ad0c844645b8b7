/* test-engine.c: the layer chain in float32 and integers, quantization, evaluation, threads.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Models are built here from fixed-seed random weights; the float32 path is
 * checked against naive NHWC loops written in double, the integer path
 * against the float32 path (closeness) and against itself on every ISA
 * (bit for bit, through QS_FORCE_ISA).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "engine/qs-engine.h"
#include "engine/kernels/qs-kernels.h"
#include "quant/qs-block.h"
#include "qs-test-reference.h"

static GRand *rng;

static void
fill_uniform (float  *v,
              size_t  n,
              double  lo,
              double  hi)
{
  for (size_t i = 0; i < n; i++)
    v[i] = (float) g_rand_double_range (rng, lo, hi);
}

static QsConvParams
conv_params (int          k,
             int          stride,
             QsPadding    padding,
             int          filters,
             QsActivation activation)
{
  QsConvParams p = { k, k, stride, stride, padding, filters, activation, INFINITY };

  return p;
}

/* ---- naive references, in double ------------------------------------------------------ */

static void
same_geometry (int  in,
               int  k,
               int  stride,
               bool same,
               int *out,
               int *pad)
{
  if (same)
    {
      *out = (in + stride - 1) / stride;
      *pad = MAX ((*out - 1) * stride + k - in, 0) / 2;
    }
  else
    {
      *out = (in - k) / stride + 1;
      *pad = 0;
    }
}

/* Conv2D with a Keras (kh, kw, in, out) kernel, or depthwise (kh, kw, in, mult). */
static void
naive_conv (const float *in,
            int          h,
            int          w,
            int          c,
            const float *kernel,
            const float *bias,
            int          k,
            int          stride,
            bool         same,
            int          filters,
            bool         depthwise,
            bool         relu,
            float       *out,
            int         *oh_out,
            int         *ow_out)
{
  int oh, ow, pt, pl;
  int oc = depthwise ? c * filters : filters;

  same_geometry (h, k, stride, same, &oh, &pt);
  same_geometry (w, k, stride, same, &ow, &pl);
  for (int oy = 0; oy < oh; oy++)
    for (int ox = 0; ox < ow; ox++)
      for (int o = 0; o < oc; o++)
        {
          double s = bias != NULL ? bias[o] : 0.0;

          for (int ky = 0; ky < k; ky++)
            for (int kx = 0; kx < k; kx++)
              {
                int iy = oy * stride - pt + ky, ix = ox * stride - pl + kx;

                if (iy < 0 || iy >= h || ix < 0 || ix >= w)
                  continue;
                if (depthwise)
                  {
                    int ci = o / filters, m = o % filters;
                    s += (double) in[(iy * w + ix) * c + ci] * kernel[((ky * k + kx) * c + ci) * filters + m];
                  }
                else
                  for (int ci = 0; ci < c; ci++)
                    s += (double) in[(iy * w + ix) * c + ci] * kernel[((ky * k + kx) * c + ci) * filters + o];
              }
          if (relu && s < 0.0)
            s = 0.0;
          out[(oy * ow + ox) * oc + o] = (float) s;
        }
  *oh_out = oh;
  *ow_out = ow;
}

static float *
forward_fp32 (QsEngineModel *model,
              const float   *images,
              size_t         batch)
{
  size_t size = qs_engine_get_buffer_size (model, NULL, batch);
  g_autofree void *scratch = g_malloc (size);
  float *out = g_new (float, batch * qs_engine_model_get_n_outputs (model));

  g_assert_cmpint (qs_engine_forward (model, NULL, images, batch, scratch, size, out), ==, QS_ENGINE_OK);
  return out;
}

static float *
forward_quant (QsEngineModel    *model,
               QsQuantizedModel *q,
               const float      *images,
               size_t            batch)
{
  size_t size = qs_engine_get_buffer_size (model, q, batch);
  g_autofree void *scratch = g_malloc (size);
  float *out = g_new (float, batch * qs_engine_model_get_n_outputs (model));

  g_assert_cmpint (qs_engine_forward (model, q, images, batch, scratch, size, out), ==, QS_ENGINE_OK);
  return out;
}

/* ---- float32 path -------------------------------------------------------------------------- */

static void
test_geometry (void)
{
  QsEngineModel *model = qs_engine_model_new (7, 6, 3);
  float kernel[3 * 3 * 3 * 4] = { 0 };
  QsConvParams p = conv_params (3, 2, QS_PADDING_SAME, 4, QS_ACTIVATION_NONE);
  QsLayerInfo info;

  g_assert_cmpint (qs_engine_model_add_conv2d (model, "c", &p, kernel, NULL), ==, QS_ENGINE_OK);
  g_assert_true (qs_engine_model_get_layer (model, 0, &info));
  /* TF 'same': out = ceil (in / stride). */
  g_assert_cmpint (info.out_h, ==, 4);
  g_assert_cmpint (info.out_w, ==, 3);
  g_assert_cmpint (info.out_c, ==, 4);
  g_assert_cmpuint (info.macs, ==, 4 * 3 * 4 * 27);
  g_assert_cmpstr (info.name, ==, "c");
  g_assert_cmpint (info.weight_index, ==, 0);

  p = conv_params (3, 1, QS_PADDING_VALID, 2, QS_ACTIVATION_NONE);
  g_assert_cmpint (qs_engine_model_add_conv2d (model, "v", &p, kernel, NULL), ==, QS_ENGINE_OK);
  g_assert_true (qs_engine_model_get_layer (model, 1, &info));
  g_assert_cmpint (info.out_h, ==, 2);
  g_assert_cmpint (info.out_w, ==, 1);
  /* A valid window larger than the image does not fit. */
  g_assert_cmpint (qs_engine_model_add_conv2d (model, "x", &p, kernel, NULL), ==, QS_ENGINE_SHAPE_MISMATCH);
  g_assert_cmpuint (qs_engine_model_get_n_layers (model), ==, 2);
  g_assert_cmpuint (qs_engine_model_get_n_weighted (model), ==, 2);
  /* Batch normalization needs a layer without activation to fold into. */
  {
    QsEngineModel *m2 = qs_engine_model_new (2, 2, 1);
    float mean = 0.0f, var = 1.0f;

    g_assert_cmpint (qs_engine_model_fold_batch_norm (m2, NULL, NULL, &mean, &var, 1e-3f), ==, QS_ENGINE_UNSUPPORTED);
    qs_engine_model_free (m2);
  }
  qs_engine_model_free (model);
}

/* Conv2D (same, stride 1 and 2, asymmetric padding), depthwise with a
 * depth multiplier, 1x1, against the naive loops. */
static void
test_fp32_convolutions (void)
{
  struct { int h, w, c, k, stride, filters; bool same, depthwise, relu; } cases[] = {
    { 6, 6, 3, 3, 2, 5, true, false, false },
    { 7, 5, 2, 3, 2, 4, true, false, true },
    { 9, 9, 4, 3, 1, 7, true, false, true },
    { 8, 7, 3, 5, 1, 2, false, false, false },
    { 6, 6, 5, 1, 1, 9, true, false, false },
    { 7, 7, 3, 3, 1, 2, true, true, true },
    { 8, 6, 4, 3, 2, 1, true, true, false },
    { 5, 5, 2, 2, 1, 3, false, true, false },
  };

  for (gsize t = 0; t < G_N_ELEMENTS (cases); t++)
    {
      int h = cases[t].h, w = cases[t].w, c = cases[t].c, k = cases[t].k;
      int oc = cases[t].depthwise ? c * cases[t].filters : cases[t].filters;
      size_t kn = (size_t) k * k * c * cases[t].filters;
      g_autofree float *kernel = g_new (float, kn);
      g_autofree float *bias = g_new (float, oc);
      g_autofree float *image = g_new (float, (size_t) 2 * h * w * c);
      g_autofree float *expect = g_new (float, (size_t) h * w * oc);
      g_autofree float *got = NULL;
      QsConvParams p = conv_params (k, cases[t].stride, cases[t].same ? QS_PADDING_SAME : QS_PADDING_VALID,
                                    cases[t].filters, cases[t].relu ? QS_ACTIVATION_RELU : QS_ACTIVATION_NONE);
      QsEngineModel *model = qs_engine_model_new (h, w, c);
      int oh, ow;

      fill_uniform (kernel, kn, -1.0, 1.0);
      fill_uniform (bias, oc, -0.5, 0.5);
      fill_uniform (image, (size_t) 2 * h * w * c, -1.0, 1.0);
      if (cases[t].depthwise)
        g_assert_cmpint (qs_engine_model_add_depthwise (model, "d", &p, kernel, bias), ==, QS_ENGINE_OK);
      else
        g_assert_cmpint (qs_engine_model_add_conv2d (model, "c", &p, kernel, bias), ==, QS_ENGINE_OK);
      got = forward_fp32 (model, image, 2);
      for (int b = 0; b < 2; b++)
        {
          naive_conv (image + (size_t) b * h * w * c, h, w, c, kernel, bias, k, cases[t].stride, cases[t].same,
                      cases[t].filters, cases[t].depthwise, cases[t].relu, expect, &oh, &ow);
          g_assert_cmpuint (qs_engine_model_get_n_outputs (model), ==, (size_t) oh * ow * oc);
          for (int i = 0; i < oh * ow * oc; i++)
            g_assert_cmpfloat_with_epsilon (got[(size_t) b * oh * ow * oc + i], expect[i], 1e-4);
        }
      qs_engine_model_free (model);
    }
}

/* Pooling, flatten order and a dense layer, against hand-computed values. */
static void
test_fp32_pool_dense (void)
{
  /* 4x4x2 image: channel 0 = i, channel 1 = -i. */
  float image[32], kernel_dense[8 * 2], out_expect[2] = { 0 };
  QsConvParams pool = conv_params (2, 2, QS_PADDING_VALID, 0, QS_ACTIVATION_NONE);
  QsEngineModel *model = qs_engine_model_new (4, 4, 2);
  g_autofree float *got = NULL;
  float pooled[8];

  for (int i = 0; i < 16; i++)
    {
      image[2 * i] = (float) i;
      image[2 * i + 1] = (float) -i;
    }
  fill_uniform (kernel_dense, 16, -1.0, 1.0);
  g_assert_cmpint (qs_engine_model_add_pool (model, "max", QS_LAYER_MAX_POOL, &pool), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_add_flatten (model, "flat"), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_add_dense (model, "fc", 2, QS_ACTIVATION_NONE, INFINITY, kernel_dense, NULL),
                   ==, QS_ENGINE_OK);
  /* Max over each 2x2 window; flattened in (h, w, c) order. */
  for (int py = 0; py < 2; py++)
    for (int px = 0; px < 2; px++)
      {
        int tl = (2 * py) * 4 + 2 * px;

        pooled[(py * 2 + px) * 2] = (float) (tl + 5);
        pooled[(py * 2 + px) * 2 + 1] = (float) -tl;
      }
  for (int o = 0; o < 2; o++)
    for (int i = 0; i < 8; i++)
      out_expect[o] += pooled[i] * kernel_dense[i * 2 + o];
  got = forward_fp32 (model, image, 1);
  g_assert_cmpfloat_with_epsilon (got[0], out_expect[0], 1e-4);
  g_assert_cmpfloat_with_epsilon (got[1], out_expect[1], 1e-4);
  qs_engine_model_free (model);

  /* Average pooling with 'same' divides by the taps inside the image;
   * global average pooling by all of them. */
  model = qs_engine_model_new (3, 3, 1);
  {
    float img[9] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
    QsConvParams avg = conv_params (2, 2, QS_PADDING_SAME, 0, QS_ACTIVATION_NONE);
    g_autofree float *o = NULL;

    g_assert_cmpint (qs_engine_model_add_pool (model, "avg", QS_LAYER_AVERAGE_POOL, &avg), ==, QS_ENGINE_OK);
    o = forward_fp32 (model, img, 1);
    g_assert_cmpuint (qs_engine_model_get_n_outputs (model), ==, 4);
    g_assert_cmpfloat_with_epsilon (o[0], 3.0, 1e-6);   /* (1 + 2 + 4 + 5) / 4 */
    g_assert_cmpfloat_with_epsilon (o[1], 4.5, 1e-6);   /* (3 + 6) / 2 */
    g_assert_cmpfloat_with_epsilon (o[3], 9.0, 1e-6);
    qs_engine_model_free (model);
  }
  model = qs_engine_model_new (2, 2, 2);
  {
    float img[8] = { 1, 10, 2, 20, 3, 30, 4, 40 };
    g_autofree float *o = NULL;

    g_assert_cmpint (qs_engine_model_add_global_average_pool (model, "gap"), ==, QS_ENGINE_OK);
    o = forward_fp32 (model, img, 1);
    g_assert_cmpfloat_with_epsilon (o[0], 2.5, 1e-6);
    g_assert_cmpfloat_with_epsilon (o[1], 25.0, 1e-6);
    qs_engine_model_free (model);
  }
}

static void
test_batch_norm_fold (void)
{
  float kernel[3 * 3 * 2 * 3], bias[3], gamma[3] = { 0.5f, 2.0f, -1.0f }, beta[3] = { 0.1f, -0.2f, 0.3f };
  float mean[3] = { 0.2f, -0.1f, 0.0f }, var[3] = { 0.5f, 2.0f, 1.0f }, image[5 * 5 * 2];
  QsConvParams p = conv_params (3, 1, QS_PADDING_SAME, 3, QS_ACTIVATION_NONE);
  QsEngineModel *model = qs_engine_model_new (5, 5, 2);
  g_autofree float *got = NULL;
  float expect[5 * 5 * 3];
  int oh, ow;
  QsLayerInfo info;

  fill_uniform (kernel, G_N_ELEMENTS (kernel), -1.0, 1.0);
  fill_uniform (bias, 3, -0.5, 0.5);
  fill_uniform (image, G_N_ELEMENTS (image), -1.0, 1.0);
  g_assert_cmpint (qs_engine_model_add_conv2d (model, "c", &p, kernel, bias), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_fold_batch_norm (model, gamma, beta, mean, var, 1e-3f), ==, QS_ENGINE_OK);
  /* A ReLU after the folded layer fuses into it. */
  g_assert_cmpint (qs_engine_model_add_activation (model, "relu", QS_ACTIVATION_RELU, INFINITY), ==, QS_ENGINE_OK);
  g_assert_cmpuint (qs_engine_model_get_n_layers (model), ==, 2);
  g_assert_true (qs_engine_model_get_layer (model, 1, &info));
  g_assert_true (info.fused);
  got = forward_fp32 (model, image, 1);
  naive_conv (image, 5, 5, 2, kernel, bias, 3, 1, true, 3, false, false, expect, &oh, &ow);
  for (int i = 0; i < oh * ow * 3; i++)
    {
      int c = i % 3;
      double bn = (expect[i] - mean[c]) / sqrt (var[c] + 1e-3) * gamma[c] + beta[c];

      g_assert_cmpfloat_with_epsilon (got[i], MAX (bn, 0.0), 1e-4);
    }
  /* Now the layer has an activation: a second BN cannot fold. */
  g_assert_cmpint (qs_engine_model_fold_batch_norm (model, gamma, beta, mean, var, 1e-3f), ==, QS_ENGINE_UNSUPPORTED);
  qs_engine_model_free (model);
}

/* ---- a small CNN with every layer kind ------------------------------------------------------ */

#define NET_H 12
#define NET_W 11
#define NET_C 3

static QsEngineModel *
make_net (void)
{
  QsEngineModel *model = qs_engine_model_new (NET_H, NET_W, NET_C);
  QsConvParams c1 = conv_params (3, 2, QS_PADDING_SAME, 13, QS_ACTIVATION_RELU);   /* 6x6x13, odd channels */
  QsConvParams dw = conv_params (3, 1, QS_PADDING_SAME, 2, QS_ACTIVATION_RELU);    /* 6x6x26, multiplier 2 */
  QsConvParams pw = conv_params (1, 1, QS_PADDING_VALID, 24, QS_ACTIVATION_NONE);  /* 6x6x24, 1x1 */
  QsConvParams c3 = conv_params (3, 1, QS_PADDING_SAME, 17, QS_ACTIVATION_RELU);   /* 6x6x17 */
  QsConvParams mp = conv_params (2, 2, QS_PADDING_VALID, 0, QS_ACTIVATION_NONE);   /* 3x3x17 */
  QsConvParams ap = conv_params (2, 1, QS_PADDING_SAME, 0, QS_ACTIVATION_NONE);    /* 3x3x17 */
  g_autofree float *w1 = g_new (float, 3 * 3 * 3 * 13);
  g_autofree float *b1 = g_new (float, 13);
  g_autofree float *w2 = g_new (float, 3 * 3 * 13 * 2);
  g_autofree float *b2 = g_new (float, 26);
  g_autofree float *w3 = g_new (float, 26 * 24);
  g_autofree float *b3 = g_new (float, 24);
  g_autofree float *w4 = g_new (float, 3 * 3 * 24 * 17);
  g_autofree float *w5 = g_new (float, 153 * 10);
  g_autofree float *b5 = g_new (float, 10);
  float gamma[24], beta[24], mean[24], var[24];

  fill_uniform (w1, 3 * 3 * 3 * 13, -0.5, 0.5);
  fill_uniform (b1, 13, -0.1, 0.1);
  fill_uniform (w2, 3 * 3 * 13 * 2, -0.5, 0.5);
  fill_uniform (b2, 26, -0.1, 0.1);
  fill_uniform (w3, 26 * 24, -0.4, 0.4);
  fill_uniform (b3, 24, -0.1, 0.1);
  fill_uniform (w4, 3 * 3 * 24 * 17, -0.2, 0.2);
  fill_uniform (w5, 153 * 10, -0.3, 0.3);
  fill_uniform (b5, 10, -0.1, 0.1);
  fill_uniform (gamma, 24, 0.5, 1.5);
  fill_uniform (beta, 24, -0.2, 0.2);
  fill_uniform (mean, 24, -0.2, 0.2);
  fill_uniform (var, 24, 0.5, 2.0);
  /* One channel 20x larger than the rest, as trained layers have. */
  for (int r = 0; r < 3 * 3 * 3; r++)
    w1[r * 13 + 4] *= 20.0f;

  g_assert_cmpint (qs_engine_model_add_conv2d (model, "conv1", &c1, w1, b1), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_add_depthwise (model, "dw", &dw, w2, b2), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_add_conv2d (model, "pw", &pw, w3, b3), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_fold_batch_norm (model, gamma, beta, mean, var, 1e-3f), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_add_activation (model, "relu6", QS_ACTIVATION_RELU, 6.0f), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_add_conv2d (model, "conv3", &c3, w4, NULL), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_add_pool (model, "max", QS_LAYER_MAX_POOL, &mp), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_add_pool (model, "avg", QS_LAYER_AVERAGE_POOL, &ap), ==, QS_ENGINE_OK);
  /* A standalone ReLU: its input is a pooling layer, so it stays a layer. */
  g_assert_cmpint (qs_engine_model_add_activation (model, "relu", QS_ACTIVATION_RELU, INFINITY), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_add_flatten (model, "flat"), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_add_dense (model, "fc", 10, QS_ACTIVATION_NONE, INFINITY, w5, b5), ==, QS_ENGINE_OK);
  g_assert_cmpuint (qs_engine_model_get_n_weighted (model), ==, 5);
  g_assert_cmpuint (qs_engine_model_get_n_layers (model), ==, 10);
  g_assert_cmpuint (qs_engine_model_get_n_outputs (model), ==, 10);
  /* relu6 is fused into pw (nothing else reads pw), relu is not. */
  {
    QsLayerInfo info;

    g_assert_true (qs_engine_model_get_layer (model, 3, &info));
    g_assert_cmpstr (info.name, ==, "relu6");
    g_assert_true (info.fused);
    g_assert_true (qs_engine_model_get_layer (model, 7, &info));
    g_assert_cmpstr (info.name, ==, "relu");
    g_assert_false (info.fused);
  }
  return model;
}

static float *
make_images (size_t n)
{
  float *images = g_new (float, n * NET_H * NET_W * NET_C);

  /* Smooth images with a dark border, as photos and Fashion-MNIST have. */
  for (size_t b = 0; b < n; b++)
    {
      double fx = g_rand_double_range (rng, 0.2, 1.2), fy = g_rand_double_range (rng, 0.2, 1.2);
      double ph = g_rand_double_range (rng, 0.0, 6.28);

      for (int y = 0; y < NET_H; y++)
        for (int x = 0; x < NET_W; x++)
          for (int c = 0; c < NET_C; c++)
            images[((b * NET_H + y) * NET_W + x) * NET_C + c] =
              (float) (sin (fx * x + ph + c) * cos (fy * y - c) + g_rand_double_range (rng, -0.1, 0.1));
    }
  return images;
}

static QsEngineDataset
dataset_of (const float   *images,
            const int32_t *labels,
            size_t         n)
{
  QsEngineDataset d = { n, NET_H, NET_W, NET_C, images, labels };

  return d;
}

static QsQuantizedModel *
quantize_net (QsEngineModel            *model,
              const QsScheme           *scheme,
              const QsActivationScheme *act,
              const QsEngineDataset    *calib)
{
  size_t n = qs_engine_model_get_n_weighted (model);
  const QsScheme *schemes[8];
  QsQuantizedModel *q = NULL;
  char message[256];
  QsEngineStatus status;

  for (size_t i = 0; i < n; i++)
    schemes[i] = scheme;
  status = qs_engine_prepare_quantized (model, schemes, n, act, calib, 0, NULL, &q, message, sizeof message);
  if (status != QS_ENGINE_OK)
    g_test_message ("prepare: %s", message);
  g_assert_cmpint (status, ==, QS_ENGINE_OK);
  g_assert_nonnull (q);
  return q;
}

typedef struct {
  const char *name;
  int         bits;
  QsMapping   mapping;
  QsGranularity granularity;
  bool        is_unsigned;
  bool        narrow;
  bool        nudge;
  QsFormat    format;
  double      min_sqnr;   /* of the logits against float32 */
  int         group_size; /* QS_GRANULARITY_GROUP */
} SchemeCase;

static const SchemeCase scheme_cases[] = {
  { "w8-channel-symmetric", 8, QS_MAPPING_SYMMETRIC, QS_GRANULARITY_CHANNEL, false, true, true, QS_FORMAT_INT, 25.0 },
  { "w8-tensor-asymmetric", 8, QS_MAPPING_ASYMMETRIC, QS_GRANULARITY_TENSOR, false, false, true, QS_FORMAT_INT, 15.0 },
  { "w8-channel-asymmetric-unsigned", 8, QS_MAPPING_ASYMMETRIC, QS_GRANULARITY_CHANNEL, true, false, true, QS_FORMAT_INT, 25.0 },
  { "w8-channel-symmetric-no-nudge", 8, QS_MAPPING_SYMMETRIC, QS_GRANULARITY_CHANNEL, false, false, false, QS_FORMAT_INT, 18.0 },
  { "w8-tensor-asymmetric-no-nudge", 8, QS_MAPPING_ASYMMETRIC, QS_GRANULARITY_TENSOR, false, false, false, QS_FORMAT_INT, 12.0 },
  { "w4-channel-symmetric", 4, QS_MAPPING_SYMMETRIC, QS_GRANULARITY_CHANNEL, false, true, true, QS_FORMAT_INT, 8.0 },
  { "w2-tensor-asymmetric", 2, QS_MAPPING_ASYMMETRIC, QS_GRANULARITY_TENSOR, false, false, true, QS_FORMAT_INT, -20.0 },
  { "w12-channel-asymmetric", 12, QS_MAPPING_ASYMMETRIC, QS_GRANULARITY_CHANNEL, false, false, true, QS_FORMAT_INT, 28.0 },
  { "w16-tensor-symmetric-no-nudge", 16, QS_MAPPING_SYMMETRIC, QS_GRANULARITY_TENSOR, false, false, false, QS_FORMAT_INT, 25.0 },
  { "fp16", 16, QS_MAPPING_SYMMETRIC, QS_GRANULARITY_TENSOR, false, false, true, QS_FORMAT_FP16, 28.0 },
  { "fp8-e4m3-channel", 8, QS_MAPPING_SYMMETRIC, QS_GRANULARITY_CHANNEL, false, false, true, QS_FORMAT_FP8_E4M3, 15.0 },
  /* k of 27, 26, 216 and 153: every layer ends in a short group. */
  { "w4-group5-asymmetric", 4, QS_MAPPING_ASYMMETRIC, QS_GRANULARITY_GROUP, false, false, true, QS_FORMAT_INT, 12.0, 5 },
  { "w4-group32-symmetric", 4, QS_MAPPING_SYMMETRIC, QS_GRANULARITY_GROUP, false, false, true, QS_FORMAT_INT, 8.0, 32 },
  { "w8-group16-asymmetric-unsigned", 8, QS_MAPPING_ASYMMETRIC, QS_GRANULARITY_GROUP, true, false, true, QS_FORMAT_INT, 25.0, 16 },
};

static void
scheme_from_case (const SchemeCase *c,
                  QsScheme         *s)
{
  qs_scheme_init_per_tensor (s);
  s->bits = c->bits;
  s->mapping = c->mapping;
  s->granularity = c->granularity;
  s->is_unsigned = c->is_unsigned;
  s->narrow = c->narrow;
  s->nudge_zero = c->nudge;
  s->format = c->format;
  s->group_size = c->group_size;
}

/* Every scheme runs, stays close to float32, and gives the same bits on
 * every ISA (odd channel counts, 1x1, stride 2, same padding at borders,
 * a depth multiplier, asymmetric and fractional zero points). */
/* A model whose weights every float format holds exactly: m 2^-(4 + s + c
 * mod 3) in channel c, with m in {0, +-4 .. +-7} (three significant
 * bits) and s in 0..3, and channel c's largest magnitude 7/16 2^-(c mod
 * 3), so that FP8's scales (that over the format's largest value) are
 * powers of two, not all the same. A 3x3 convolution to 40 channels (a
 * panel and a tail of every packing), a grouped one (two groups of 20,
 * each packed on its own) and a Dense layer of 10240 x 100, 4 MB:
 * rounded a block of channels at a time. */
#define EXACT_H 16
#define EXACT_W 16
#define EXACT_C 4

static void
fill_exact (float  *w,
            size_t  k,
            size_t  n)
{
  for (size_t i = 0; i < k * n; i++)
    {
      int m = g_rand_int_range (rng, 3, 8);

      w[i] = i < n ? 0.4375f * (i % 2 == 0 ? 1.0f : -1.0f)
                   : (m == 3 ? 0.0f : ldexpf ((float) m, -4 - g_rand_int_range (rng, 0, 4)))
                       * (g_rand_boolean (rng) ? 1.0f : -1.0f);
      w[i] = ldexpf (w[i], -(int) (i % n % 3));
    }
}

/* Weights NF4 holds exactly: a level times 2^-(c mod 3) in channel c,
 * every block of 64 along k led by a level +-1, so that each block's
 * absmax is that power of two and its inverse exact. */
static void
fill_nf4_exact (float  *w,
                size_t  k,
                size_t  n)
{
  for (size_t i = 0; i < k * n; i++)
    {
      float level = i / n % 64 == 0 ? (g_rand_boolean (rng) ? 1.0f : -1.0f)
                                    : qs_nf4_level (g_rand_int_range (rng, 0, 16));

      w[i] = ldexpf (level, -(int) (i % n % 3));
    }
}

static QsEngineModel *
make_exact_net (void (*fill) (float *w, size_t k, size_t n))
{
  QsEngineModel *model = qs_engine_model_new (EXACT_H, EXACT_W, EXACT_C);
  QsConvParams c1 = conv_params (3, 1, QS_PADDING_SAME, 40, QS_ACTIVATION_RELU);
  QsConvParams c2 = conv_params (3, 1, QS_PADDING_SAME, 40, QS_ACTIVATION_RELU);
  size_t k1 = 3 * 3 * EXACT_C, kg = 3 * 3 * 20, k2 = EXACT_H * EXACT_W * 40;
  g_autofree float *w1 = g_new (float, k1 * 40);
  g_autofree float *b1 = g_new (float, 40);
  g_autofree float *wg = g_new (float, kg * 40);
  g_autofree float *w2 = g_new (float, k2 * 100);
  g_autofree float *b2 = g_new (float, 100);

  c2.groups = 2;
  fill (w1, k1, 40);
  fill (wg, kg, 40);
  fill (w2, k2, 100);
  fill_uniform (b1, 40, -0.1, 0.1);
  fill_uniform (b2, 100, -0.1, 0.1);
  g_assert_cmpint (qs_engine_model_add_conv2d (model, "conv", &c1, w1, b1), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_add_conv2d (model, "grouped", &c2, wg, b1), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_add_flatten (model, "flat"), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_add_dense (model, "fc", 100, QS_ACTIVATION_NONE, INFINITY, w2, b2), ==,
                   QS_ENGINE_OK);
  return model;
}

/* Float-format layers run on the model's kernel rounded as they run
 * (whole for the convolution, by blocks of channels for the Dense
 * layer): on weights the format holds exactly, the outputs are, bit for
 * bit, those of the same layers left unquantized (the float path on the
 * model's own kernel), for each format, granularity and ISA. MXFP8 and
 * NF4 round by blocks along k, each with its own scale (fill_exact's
 * weights are FP8 values under every block's E8M0 scale too). */
static void
test_float_format_rounding (void)
{
  static const QsFormat formats[] = { QS_FORMAT_FP16, QS_FORMAT_BF16, QS_FORMAT_FP8_E4M3, QS_FORMAT_FP8_E5M2,
                                      QS_FORMAT_MXFP8_E4M3, QS_FORMAT_MXFP8_E5M2, QS_FORMAT_NF4 };
  size_t n_images = 12, image = EXACT_H * EXACT_W * EXACT_C, nout = n_images * 100;
  g_autofree float *images = g_new (float, n_images * image);
  QsEngineDataset cal = { n_images, EXACT_H, EXACT_W, EXACT_C, images, NULL };
  QsActivationScheme act;
  guint checked = 0;

  fill_uniform (images, n_images * image, -1.0, 1.0);
  qs_activation_scheme_init_default (&act);
  for (QsIsa isa = QS_ISA_SCALAR; isa <= QS_ISA_AVX512VNNI; isa++)
    for (int nf4 = 0; nf4 < 2; nf4++)
      {
        QsEngineModel *model;
        QsQuantizedModel *plain;
        g_autofree float *expect = NULL;

        if (!qs_kernels_isa_supported (isa))
          continue;
        /* The model packs its kernels for the ISA's float32 GEMM. */
        qs_kernels_force_isa (isa);
        model = make_exact_net (nf4 ? fill_nf4_exact : fill_exact);
        plain = quantize_net (model, NULL, &act, &cal);
        expect = forward_quant (model, plain, images, n_images);
        for (gsize f = 0; f < G_N_ELEMENTS (formats); f++)
          for (int per_channel = 0; per_channel < 2 && (formats[f] == QS_FORMAT_NF4) == nf4; per_channel++)
            {
              QsScheme scheme;
              QsQuantizedModel *q;
              QsQuantizedLayerStats stats;
              g_autofree float *out = NULL;

              qs_scheme_init_default (&scheme);
              scheme.format = formats[f];
              scheme.granularity = per_channel ? QS_GRANULARITY_CHANNEL : QS_GRANULARITY_TENSOR;
              q = quantize_net (model, &scheme, &act, &cal);
              for (size_t w = 0; w < 3; w++)
                {
                  g_assert_true (qs_quantized_model_get_layer_stats (q, w, &stats));
                  g_assert_cmpstr (stats.kernel, ==, "float-weights");
                  g_assert_cmpfloat (stats.weight_sqnr_db, ==, INFINITY);
                }
              out = forward_quant (model, q, images, n_images);
              g_assert_cmpmem (out, nout * sizeof (float), expect, nout * sizeof (float));
              qs_quantized_model_free (q);
              checked++;
            }
        qs_quantized_model_free (plain);
        qs_engine_model_free (model);
      }
  qs_kernels_force_isa (-1);
  g_test_message ("%u float-format models checked", checked);
}

static void
test_schemes_and_isas (void)
{
  QsEngineModel *model = make_net ();
  g_autofree float *calib = make_images (64);
  g_autofree float *images = make_images (40);
  QsEngineDataset cal = dataset_of (calib, NULL, 64);
  g_autofree float *ref = forward_fp32 (model, images, 40);
  size_t nout = 40 * 10;

  for (gsize s = 0; s < G_N_ELEMENTS (scheme_cases); s++)
    {
      QsScheme scheme;
      QsActivationScheme act;
      g_autofree float *first = NULL;
      double sqnr;

      scheme_from_case (&scheme_cases[s], &scheme);
      qs_activation_scheme_init_default (&act);
      act.nudge_zero = scheme.nudge_zero;
      /* AMX-INT8 where the CPU and OS allow it: its GEMMs' codes too. */
      for (QsIsa isa = QS_ISA_SCALAR; isa <= QS_ISA_AMX_INT8; isa++)
        {
          static const char *const names[] = { "scalar", "avx2", "avx512vnni", "amx-int8" };
          QsQuantizedModel *q;
          g_autofree float *out = NULL;

          if (!qs_kernels_isa_supported (isa))
            continue;
          qs_kernels_force_isa (isa);
          q = quantize_net (model, &scheme, &act, &cal);
          g_assert_cmpstr (qs_quantized_model_get_kernel_name (q), ==, names[isa]);
          out = forward_quant (model, q, images, 40);
          if (first == NULL)
            first = g_steal_pointer (&out);
          else
            g_assert_cmpmem (out, nout * sizeof (float), first, nout * sizeof (float));
          qs_quantized_model_free (q);
        }
      qs_kernels_force_isa (-1);
      sqnr = qs_test_sqnr_db (ref, first, nout);
      g_test_message ("%s: logits SQNR %.1f dB", scheme_cases[s].name, sqnr);
      g_assert_cmpfloat (sqnr, >=, scheme_cases[s].min_sqnr);
    }
  qs_engine_model_free (model);
}

/* ---- integer groups ---------------------------------------------------------------- */

/* Input values that quantize exactly: calibration spans [-0.25, 254.75], a
 * range of 255, so the input scale is 1; nudged, the zero point is 0 and
 * code j stands for j; not nudged, it is 0.25 and code j stands for
 * j - 0.25. Every image is j - 0.25 for integers j, the first two 0 and 255. */
static float *
exact_images (size_t n,
              size_t size)
{
  float *images = g_new (float, n * size);

  for (size_t i = 0; i < n * size; i++)
    images[i] = (float) g_rand_int_range (rng, 0, 256) - 0.25f;
  images[0] = -0.25f;
  images[1] = 254.75f;
  return images;
}

/* The scheme's reconstruction of a Keras kernel [k][n], through the
 * quantization core (qs_block_quantize + qs_block_dequantize). */
static float *
block_reconstruction (const QsScheme *scheme,
                      const float    *kernel,
                      size_t          k,
                      size_t          n)
{
  QsChannelLayout layout = { k * n, k, n, 1 };
  QsBlockGeometry geo;
  float *out = g_new (float, k * n);
  g_autofree int32_t *codes = g_new (int32_t, k * n);
  g_autofree float *scales = NULL;
  g_autofree int32_t *zero_points = NULL;

  g_assert_cmpint (qs_block_geometry (scheme, &layout, &geo), ==, QS_OK);
  scales = g_new (float, geo.block_count);
  zero_points = g_new (int32_t, geo.block_count);
  g_assert_cmpint (qs_block_quantize (scheme, &layout, kernel, codes, scales, NULL, zero_points, NULL), ==, QS_OK);
  g_assert_cmpint (qs_block_dequantize (scheme, &layout, codes, scales, zero_points, out), ==, QS_OK);
  return out;
}

/* A Dense, a Conv2D and a DepthwiseConv2D (multiplier 2) layer under
 * integer groups (short last groups, signed and unsigned codes) and the
 * block formats with an integer form (MXFP4, NVFP4, MXINT8, MXFP6 E2M3),
 * with nudged and fractional input zero points, as float logits: equal, to
 * float32 rounding, to the layer computed in double on the exact input
 * values and the core's reconstruction of the weights. A dropped zero-point
 * term or a misplaced group would be off by far more. */
static void
test_groupwise_layers (void)
{
  enum { K = 75, UNITS = 6, H = 5, W = 6, C = 3, F = 4, N = 7 };
  static const struct { QsFormat format; int bits; QsMapping mapping; bool is_unsigned; int group_size; } cases[] = {
    { QS_FORMAT_INT, 4, QS_MAPPING_ASYMMETRIC, false, 16 },
    { QS_FORMAT_INT, 3, QS_MAPPING_SYMMETRIC, false, 8 },
    { QS_FORMAT_INT, 8, QS_MAPPING_ASYMMETRIC, true, 32 },
    { QS_FORMAT_INT, 2, QS_MAPPING_ASYMMETRIC, false, 100 },
    { QS_FORMAT_INT, 4, QS_MAPPING_ASYMMETRIC, true, 2 },
    { QS_FORMAT_MXFP4, 4, QS_MAPPING_SYMMETRIC, false, 0 },
    { QS_FORMAT_NVFP4, 4, QS_MAPPING_SYMMETRIC, false, 0 },
    { QS_FORMAT_MXINT8, 8, QS_MAPPING_SYMMETRIC, false, 0 },
    { QS_FORMAT_MXFP6_E2M3, 6, QS_MAPPING_SYMMETRIC, false, 4 },
  };
  float dense_w[K * UNITS], dense_b[UNITS], conv_w[3 * 3 * C * F], conv_b[F];
  float dw_w[3 * 3 * C * 2], dw_b[C * 2];

  fill_uniform (dense_w, K * UNITS, -0.01, 0.01);
  fill_uniform (dense_b, UNITS, -1.0, 1.0);
  fill_uniform (conv_w, 3 * 3 * C * F, -0.02, 0.03);
  fill_uniform (conv_b, F, -1.0, 1.0);
  fill_uniform (dw_w, 3 * 3 * C * 2, -0.5, 0.4);
  fill_uniform (dw_b, C * 2, -1.0, 1.0);
  for (gsize ci = 0; ci < G_N_ELEMENTS (cases); ci++)
    for (int nudge = 0; nudge < 2; nudge++)
      for (int conv = 0; conv < 3; conv++)
        {
          /* conv: 0 Dense, 1 Conv2D, 2 DepthwiseConv2D with multiplier 2. */
          bool dw = conv == 2;
          QsConvParams p = conv_params (3, 1, QS_PADDING_SAME, dw ? 2 : F, QS_ACTIVATION_NONE);
          size_t oc = dw ? C * 2 : F;
          size_t size = conv ? H * W * C : K, n_out = conv ? H * W * oc : UNITS, k = dw ? 9 : conv ? 9 * C : K;
          QsEngineModel *model = conv ? qs_engine_model_new (H, W, C) : qs_engine_model_new (1, 1, K);
          g_autofree float *calib = exact_images (4, size);
          g_autofree float *images = exact_images (N, size);
          g_autofree float *real = g_new (float, N * size);
          g_autofree float *recon = NULL;
          g_autofree float *ref = g_new (float, N * n_out);
          g_autofree float *out = NULL;
          QsEngineDataset cal = { 4, conv ? H : 1, conv ? W : 1, conv ? C : K, calib, NULL };
          QsScheme scheme;
          QsActivationScheme act;
          QsQuantizedModel *q;
          QsQuantizedLayerStats stats;
          const QsScheme *schemes[1] = { &scheme };
          char message[256];

          qs_scheme_init_per_tensor (&scheme);
          scheme.format = cases[ci].format;
          scheme.granularity = QS_GRANULARITY_GROUP;
          scheme.bits = cases[ci].bits;
          scheme.mapping = cases[ci].mapping;
          scheme.is_unsigned = cases[ci].is_unsigned;
          scheme.group_size = cases[ci].group_size;
          qs_activation_scheme_init_default (&act);
          act.nudge_zero = nudge;
          act.float_logits = true;
          if (dw)
            g_assert_cmpint (qs_engine_model_add_depthwise (model, "dw", &p, dw_w, dw_b), ==, QS_ENGINE_OK);
          else if (conv)
            g_assert_cmpint (qs_engine_model_add_conv2d (model, "conv", &p, conv_w, conv_b), ==, QS_ENGINE_OK);
          else
            g_assert_cmpint (qs_engine_model_add_dense (model, "fc", UNITS, QS_ACTIVATION_NONE, INFINITY,
                                                        dense_w, dense_b), ==, QS_ENGINE_OK);
          g_assert_cmpint (qs_engine_prepare_quantized (model, schemes, 1, &act, &cal, 0, NULL, &q,
                                                        message, sizeof message), ==, QS_ENGINE_OK);
          g_assert_true (qs_quantized_model_get_layer_stats (q, 0, &stats));
          g_assert_cmpint (stats.weight_bits, ==, 8);
          g_assert_cmpstr (stats.kernel, ==, "int8-groupwise");
          out = forward_quant (model, q, images, N);

          for (size_t i = 0; i < N * size; i++)
            real[i] = nudge ? images[i] + 0.25f : images[i];
          recon = block_reconstruction (&scheme, dw ? dw_w : conv ? conv_w : dense_w, k, conv ? oc : UNITS);
          if (conv)
            for (size_t b = 0; b < N; b++)
              {
                int oh, ow;

                /* Padding is the code of 0.0: with a fractional zero point
                 * it stands for -0.25, which the naive loop's zero padding
                 * does not model, so only interior pixels are compared then. */
                naive_conv (real + b * size, H, W, C, recon, dw ? dw_b : conv_b, 3, 1, true, dw ? 2 : F, dw,
                            false, ref + b * n_out, &oh, &ow);
              }
          else
            for (size_t b = 0; b < N; b++)
              for (size_t j = 0; j < UNITS; j++)
                {
                  double y = dense_b[j];

                  for (size_t t = 0; t < K; t++)
                    y += (double) real[b * K + t] * recon[t * UNITS + j];
                  ref[b * n_out + j] = (float) y;
                }
          for (size_t b = 0; b < N; b++)
            for (size_t i = 0; i < n_out; i++)
              {
                size_t pixel = i / oc, y = pixel / W, x = pixel % W;

                if (conv && !nudge && (y == 0 || y == H - 1 || x == 0 || x == W - 1))
                  continue;
                g_assert_cmpfloat_with_epsilon (out[b * n_out + i], ref[b * n_out + i],
                                                1e-5 * (1.0 + fabs (ref[b * n_out + i])) * k);
              }
          qs_quantized_model_free (q);
          qs_engine_model_free (model);
        }
}

/* Integer groups and the block formats whose elements are small integers
 * times a power of two (MXINT8, MXFP4, NVFP4, MXFP6 E2M3) take the int8
 * integer path on every layer of the net, depthwise included, MXFP6 E3M2
 * (up to 448 sixteenths) the int16 one; the others (FP8, NF4, 9..16-bit
 * groups) run in float32 on their weights. */
static void
test_groupwise_paths (void)
{
  static const struct { QsFormat format; int bits; int weight_bits; const char *kernel; } cases[] = {
    { QS_FORMAT_INT, 4, 8, "int8-groupwise" },
    { QS_FORMAT_INT, 8, 8, "int8-groupwise" },
    { QS_FORMAT_INT, 12, 32, "float-weights" },
    { QS_FORMAT_MXINT8, 8, 8, "int8-groupwise" },
    { QS_FORMAT_MXFP4, 8, 8, "int8-groupwise" },
    { QS_FORMAT_NVFP4, 8, 8, "int8-groupwise" },
    { QS_FORMAT_MXFP6_E2M3, 8, 8, "int8-groupwise" },
    { QS_FORMAT_MXFP6_E3M2, 8, 16, "int16-groupwise" },
    { QS_FORMAT_MXFP8_E4M3, 8, 32, "float-weights" },
    { QS_FORMAT_MXFP8_E5M2, 8, 32, "float-weights" },
    { QS_FORMAT_NF4, 8, 32, "float-weights" },
  };
  QsEngineModel *model = make_net ();
  g_autofree float *calib = make_images (16);
  QsEngineDataset cal = dataset_of (calib, NULL, 16);

  for (gsize ci = 0; ci < G_N_ELEMENTS (cases); ci++)
    {
      QsScheme scheme;
      QsQuantizedModel *q;

      qs_scheme_init_per_tensor (&scheme);
      scheme.format = cases[ci].format;
      scheme.bits = cases[ci].bits;
      scheme.granularity = QS_GRANULARITY_GROUP;
      scheme.group_size = cases[ci].format == QS_FORMAT_INT ? 16 : 0;
      q = quantize_net (model, &scheme, NULL, &cal);
      for (size_t i = 0; i < 5; i++)
        {
          QsQuantizedLayerStats stats;

          g_assert_true (qs_quantized_model_get_layer_stats (q, i, &stats));
          g_assert_cmpint (stats.weight_bits, ==, cases[ci].weight_bits);
          g_assert_cmpstr (stats.kernel, ==, cases[ci].kernel);
        }
      qs_quantized_model_free (q);
    }
  qs_engine_model_free (model);
}

/* More bits, less error: the 64-bit path (9..16 bits) is not a dead end. */
static void
test_bits_order (void)
{
  QsEngineModel *model = make_net ();
  g_autofree float *calib = make_images (32);
  QsEngineDataset cal = dataset_of (calib, NULL, 32);
  double last = -INFINITY;
  static const int bits[] = { 3, 5, 8, 12, 16 };

  for (gsize i = 0; i < G_N_ELEMENTS (bits); i++)
    {
      QsScheme scheme;
      QsQuantizedModel *q;
      QsQuantizedLayerStats stats;

      qs_scheme_init_per_tensor (&scheme);
      scheme.bits = bits[i];
      scheme.granularity = QS_GRANULARITY_CHANNEL;
      q = quantize_net (model, &scheme, NULL, &cal);
      g_assert_true (qs_quantized_model_get_layer_stats (q, 2, &stats));
      g_assert_cmpint (stats.weight_bits, ==, bits[i] <= 8 ? 8 : 16);
      g_test_message ("%d bits: pw weight SQNR %.1f dB, output SQNR %.1f dB", bits[i],
                      stats.weight_sqnr_db, stats.output_sqnr_db);
      g_assert_cmpfloat (stats.weight_sqnr_db, >, last);
      last = stats.weight_sqnr_db;
      g_assert_false (qs_quantized_model_get_layer_stats (q, 5, &stats));
      qs_quantized_model_free (q);
    }
  qs_engine_model_free (model);
}

/* With nudging on, a zero input is exactly zero codes and padding adds
 * nothing: an all-zero image gives the bias at every pixel, borders
 * included. With nudging off the padded code stands for a small nonzero
 * value, and the output shows it. */
static void
test_zero_padding (void)
{
  QsEngineModel *model = qs_engine_model_new (6, 6, 1);
  float kernel[9], bias[2] = { 0.25f, -0.125f }, k2[9 * 2];
  QsConvParams p = conv_params (3, 1, QS_PADDING_SAME, 2, QS_ACTIVATION_NONE);
  float calib[2 * 36], zero_image[36] = { 0 };
  QsEngineDataset cal = { 2, 6, 6, 1, calib, NULL };
  QsScheme scheme;
  QsActivationScheme act;

  for (int i = 0; i < 9; i++)
    {
      kernel[i] = 1.0f;
      k2[2 * i] = 1.0f;
      k2[2 * i + 1] = -0.5f;
    }
  (void) kernel;
  for (int i = 0; i < 72; i++)
    calib[i] = i % 2 ? -0.9f : 1.0f;
  g_assert_cmpint (qs_engine_model_add_conv2d (model, "c", &p, k2, bias), ==, QS_ENGINE_OK);
  qs_scheme_init_per_tensor (&scheme);
  scheme.mapping = QS_MAPPING_SYMMETRIC;
  scheme.granularity = QS_GRANULARITY_CHANNEL;

  for (int nudge = 1; nudge >= 0; nudge--)
    {
      const QsScheme *schemes[1] = { &scheme };
      QsQuantizedModel *q = NULL;
      g_autofree float *out = NULL;
      QsQuantizedLayerStats stats;
      double max_err = 0.0, border = 0.0, inner = 0.0;

      scheme.nudge_zero = nudge;
      qs_activation_scheme_init_default (&act);
      act.nudge_zero = nudge;
      g_assert_cmpint (qs_engine_prepare_quantized (model, schemes, 1, &act, &cal, 0, NULL, &q, NULL, 0), ==, QS_ENGINE_OK);
      g_assert_true (qs_quantized_model_get_layer_stats (q, 0, &stats));
      out = forward_quant (model, q, zero_image, 1);
      for (int y = 0; y < 6; y++)
        for (int x = 0; x < 6; x++)
          for (int c = 0; c < 2; c++)
            {
              double e = fabs (out[(y * 6 + x) * 2 + c] - bias[c]);
              bool edge = y == 0 || x == 0 || y == 5 || x == 5;

              max_err = MAX (max_err, e);
              if (edge)
                border = MAX (border, e);
              else
                inner = MAX (inner, e);
            }
      g_test_message ("nudge %d: output step %g, max error %g (border %g, inside %g)",
                      nudge, stats.output_scale, max_err, border, inner);
      if (nudge)
        {
          /* Exact zeros: only the output rounding remains, the same everywhere. */
          g_assert_cmpfloat (max_err, <=, 0.5 * stats.output_scale + 1e-6);
          g_assert_cmpfloat_with_epsilon (border, inner, 1e-7);
        }
      else
        g_assert_cmpfloat (max_err, >, 0.5 * stats.output_scale);
      qs_quantized_model_free (q);
    }
  qs_engine_model_free (model);
}

/* ---- evaluation ---------------------------------------------------------------------------------- */

typedef struct {
  size_t   calls;
  size_t   last;
  size_t   total;
  gboolean monotonic;
  GThread *thread;
  gboolean other_thread;
} Progress;

static void
progress_cb (size_t done,
             size_t total,
             void  *data)
{
  Progress *p = data;

  p->monotonic = p->monotonic && done >= p->last && done <= total;
  p->other_thread = p->other_thread || g_thread_self () != p->thread;
  p->last = done;
  p->total = total;
  p->calls++;
}

static void
test_evaluate (void)
{
  const size_t n = 700;
  QsEngineModel *model = make_net ();
  g_autofree float *images = make_images (n);
  g_autofree float *calib = make_images (100);
  g_autofree int32_t *labels = g_new (int32_t, n);
  g_autofree int32_t *fp32 = g_new (int32_t, n);
  g_autofree int32_t *fp32_one = g_new (int32_t, n);
  g_autofree int32_t *quant = g_new (int32_t, n);
  g_autofree int32_t *quant_one = g_new (int32_t, n);
  QsEngineDataset data = dataset_of (images, NULL, n), cal = dataset_of (calib, NULL, 100);
  QsEngineRunOptions options;
  QsEngineEvalResult all, part1, part2, sum = { 0 };
  QsQuantizedModel *q;
  QsScheme scheme;
  Progress progress = { 0, 0, 0, TRUE, g_thread_self (), FALSE };
  size_t expect_fp32 = 0;

  qs_scheme_init_per_tensor (&scheme);
  scheme.granularity = QS_GRANULARITY_CHANNEL;
  q = quantize_net (model, &scheme, NULL, &cal);

  qs_engine_run_options_init (&options);
  options.n_threads = 2;
  g_assert_cmpint (qs_engine_predict (model, NULL, &data, 0, n, &options, fp32), ==, QS_ENGINE_OK);
  options.n_threads = 1;
  g_assert_cmpint (qs_engine_predict (model, NULL, &data, 0, n, &options, fp32_one), ==, QS_ENGINE_OK);
  g_assert_cmpmem (fp32, n * sizeof (int32_t), fp32_one, n * sizeof (int32_t));

  /* Labels: the float32 prediction for two thirds of the images. */
  for (size_t i = 0; i < n; i++)
    {
      labels[i] = i % 3 ? fp32[i] : (fp32[i] + 1) % 10;
      expect_fp32 += i % 3 != 0;
    }
  data.labels = labels;

  options.n_threads = 2;
  options.progress = progress_cb;
  options.progress_data = &progress;
  g_assert_cmpint (qs_engine_evaluate (model, q, &data, 0, n, &options, NULL, quant, &all), ==, QS_ENGINE_OK);
  g_assert_cmpuint (all.images, ==, n);
  g_assert_cmpuint (all.fp32_correct, ==, expect_fp32);
  g_assert_cmpuint (all.agree, >=, n * 9 / 10);
  g_assert_cmpfloat (all.quant_seconds, >, 0.0);
  g_assert_cmpfloat_with_epsilon (qs_engine_eval_result_fp32_top1 (&all), 100.0 * expect_fp32 / n, 1e-9);
  g_test_message ("fp32 %.2f %%, int %.2f %%, agreement %.2f %%", qs_engine_eval_result_fp32_top1 (&all),
                  qs_engine_eval_result_quant_top1 (&all), qs_engine_eval_result_agreement (&all));
  /* Progress: on the calling thread only, monotonic, ending at the total
   * (both paths: 2n). */
  g_assert_cmpuint (progress.calls, >, 1);
  g_assert_true (progress.monotonic);
  g_assert_false (progress.other_thread);
  g_assert_cmpuint (progress.last, ==, 2 * n);
  g_assert_cmpuint (progress.total, ==, 2 * n);

  /* One thread gives the same integer predictions. */
  options.n_threads = 1;
  options.progress = NULL;
  g_assert_cmpint (qs_engine_predict (model, q, &data, 0, n, &options, quant_one), ==, QS_ENGINE_OK);
  g_assert_cmpmem (quant, n * sizeof (int32_t), quant_one, n * sizeof (int32_t));

  /* Progressive: the first 100 images, then the rest, with the float32
   * predictions given (the GUI computes them once per data set). */
  options.n_threads = 2;
  g_assert_cmpint (qs_engine_evaluate (model, q, &data, 0, 100, &options, fp32, NULL, &part1), ==, QS_ENGINE_OK);
  g_assert_cmpfloat (part1.fp32_seconds, ==, 0.0);
  g_assert_cmpint (qs_engine_evaluate (model, q, &data, 100, n - 100, &options, fp32 + 100, NULL, &part2), ==, QS_ENGINE_OK);
  qs_engine_eval_result_add (&sum, &part1);
  qs_engine_eval_result_add (&sum, &part2);
  g_assert_cmpuint (sum.images, ==, all.images);
  g_assert_cmpuint (sum.fp32_correct, ==, all.fp32_correct);
  g_assert_cmpuint (sum.quant_correct, ==, all.quant_correct);
  g_assert_cmpuint (sum.agree, ==, all.agree);

  /* Bad ranges and shapes. */
  g_assert_cmpint (qs_engine_evaluate (model, q, &data, n - 5, 10, &options, NULL, NULL, &part1), ==, QS_ENGINE_INVALID_ARGUMENT);
  data.channels = 1;
  g_assert_cmpint (qs_engine_predict (model, q, &data, 0, 1, &options, quant), ==, QS_ENGINE_SHAPE_MISMATCH);
  data.channels = NET_C;
  data.labels = NULL;
  g_assert_cmpint (qs_engine_evaluate (model, q, &data, 0, 10, &options, NULL, NULL, &part1), ==, QS_ENGINE_INVALID_ARGUMENT);

  qs_quantized_model_free (q);
  qs_engine_model_free (model);
}

static void
test_prepare_errors (void)
{
  QsEngineModel *model = make_net ();
  g_autofree float *calib = make_images (8);
  QsEngineDataset cal = dataset_of (calib, NULL, 8);
  QsScheme good, bad;
  const QsScheme *schemes[5] = { &good, &good, &good, &good, &good };
  QsQuantizedModel *q = (QsQuantizedModel *) 0x1;
  char message[256];

  qs_scheme_init_per_tensor (&good);
  bad = good;
  bad.bits = 1;
  g_assert_cmpint (qs_engine_prepare_quantized (model, schemes, 4, NULL, &cal, 0, NULL, &q, message, sizeof message),
                   ==, QS_ENGINE_INVALID_ARGUMENT);
  g_assert_null (q);
  g_assert_nonnull (strstr (message, "5 weighted layers"));
  schemes[3] = &bad;
  g_assert_cmpint (qs_engine_prepare_quantized (model, schemes, 5, NULL, &cal, 0, NULL, &q, message, sizeof message),
                   ==, QS_ENGINE_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (message, "conv3"));
  /* A NULL scheme keeps that layer in float32. */
  schemes[3] = NULL;
  g_assert_cmpint (qs_engine_prepare_quantized (model, schemes, 5, NULL, &cal, 0, NULL, &q, message, sizeof message),
                   ==, QS_ENGINE_OK);
  {
    QsQuantizedLayerStats stats;

    g_assert_true (qs_quantized_model_get_layer_stats (q, 3, &stats));
    g_assert_cmpint (stats.weight_bits, ==, 32);
    g_assert_true (isinf (stats.weight_sqnr_db));
  }
  qs_quantized_model_free (q);
  cal.width = 3;
  schemes[3] = &good;
  g_assert_cmpint (qs_engine_prepare_quantized (model, schemes, 5, NULL, &cal, 0, NULL, &q, message, sizeof message),
                   ==, QS_ENGINE_SHAPE_MISMATCH);
  qs_engine_model_free (model);
}

/* Percentile activation ranges clip outliers: never wider than min/max. */
static void
test_percentile (void)
{
  QsEngineModel *model = make_net ();
  g_autofree float *calib = make_images (48);
  QsEngineDataset cal = dataset_of (calib, NULL, 48);
  QsScheme scheme;
  QsActivationScheme act;
  QsQuantizedModel *qm, *qp;

  qs_scheme_init_per_tensor (&scheme);
  qs_activation_scheme_init_default (&act);
  qm = quantize_net (model, &scheme, &act, &cal);
  act.range_method = QS_RANGE_PERCENTILE;
  act.percentile = 99.0;
  qp = quantize_net (model, &scheme, &act, &cal);
  for (size_t i = 0; i < 5; i++)
    {
      QsQuantizedLayerStats a, b;

      g_assert_true (qs_quantized_model_get_layer_stats (qm, i, &a));
      g_assert_true (qs_quantized_model_get_layer_stats (qp, i, &b));
      g_assert_cmpfloat (b.output_scale, <=, a.output_scale * 1.0001);
    }
  qs_quantized_model_free (qm);
  qs_quantized_model_free (qp);
  qs_engine_model_free (model);
}

/* ---- cancellation ----------------------------------------------------------------------------------- */

typedef struct {
  QsEngineModel         *model;
  QsQuantizedModel      *q;
  const QsEngineDataset *data;
  atomic_int             cancel;
  QsEngineStatus         status;
  gint64                 returned;
  gboolean               prepare;
} CancelJob;

static gpointer
cancel_worker (gpointer data)
{
  CancelJob *job = data;
  QsEngineRunOptions options;
  QsEngineEvalResult result;

  qs_engine_run_options_init (&options);
  options.n_threads = 2;
  options.cancel = &job->cancel;
  if (job->prepare)
    {
      QsScheme scheme;
      const QsScheme *schemes[5] = { &scheme, &scheme, &scheme, &scheme, &scheme };
      QsQuantizedModel *q = NULL;

      qs_scheme_init_per_tensor (&scheme);
      job->status = qs_engine_prepare_quantized (job->model, schemes, 5, NULL, job->data, 0, &options, &q, NULL, 0);
      qs_quantized_model_free (q);
    }
  else
    job->status = qs_engine_evaluate (job->model, job->q, job->data, 0, job->data->count, &options, NULL, NULL, &result);
  job->returned = g_get_monotonic_time ();
  return NULL;
}

static void
test_cancel (void)
{
  const size_t n = 30000;
  QsEngineModel *model = make_net ();
  g_autofree float *images = make_images (n);
  g_autofree int32_t *labels = g_new0 (int32_t, n);
  QsEngineDataset data = dataset_of (images, labels, n);
  QsScheme scheme;
  QsQuantizedModel *q;
  QsEngineRunOptions options;
  QsEngineEvalResult result;
  atomic_int raised = 1;

  qs_scheme_init_per_tensor (&scheme);
  q = quantize_net (model, &scheme, NULL, &data);

  /* Raised before the call: nothing runs. */
  qs_engine_run_options_init (&options);
  options.cancel = &raised;
  g_assert_cmpint (qs_engine_evaluate (model, q, &data, 0, n, &options, NULL, NULL, &result), ==, QS_ENGINE_CANCELLED);
  g_assert_cmpuint (result.images, ==, 0);

  for (int prepare = 0; prepare <= 1; prepare++)
    for (int delay_ms = 5; delay_ms <= 60; delay_ms += 55)
      {
        CancelJob job = { model, q, &data, 0, QS_ENGINE_OK, 0, prepare };
        GThread *thread;
        gint64 raised_at;

        atomic_init (&job.cancel, 0);
        thread = g_thread_new ("cancel", cancel_worker, &job);
        g_usleep (delay_ms * 1000);
        raised_at = g_get_monotonic_time ();
        atomic_store (&job.cancel, 1);
        g_thread_join (thread);
        g_test_message ("%s cancelled after %d ms: returned in %.1f ms", prepare ? "prepare" : "evaluate",
                        delay_ms, (job.returned - raised_at) / 1000.0);
        /* Only that it stops: how fast is a figure for bench/RESULTS.md,
         * never a timed assertion that a loaded machine could fail. */
        g_assert_cmpint (job.status, ==, QS_ENGINE_CANCELLED);
      }
  qs_quantized_model_free (q);
  qs_engine_model_free (model);
}

int
main (int    argc,
      char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  rng = g_rand_new_with_seed (4242);
  g_test_add_func ("/engine/geometry", test_geometry);
  g_test_add_func ("/engine/fp32/convolutions", test_fp32_convolutions);
  g_test_add_func ("/engine/fp32/pool-flatten-dense", test_fp32_pool_dense);
  g_test_add_func ("/engine/fp32/batch-norm-fold", test_batch_norm_fold);
  g_test_add_func ("/engine/quant/schemes-and-isas", test_schemes_and_isas);
  g_test_add_func ("/engine/quant/float-format-rounding", test_float_format_rounding);
  g_test_add_func ("/engine/quant/bits-order", test_bits_order);
  g_test_add_func ("/engine/quant/groupwise-layers", test_groupwise_layers);
  g_test_add_func ("/engine/quant/groupwise-paths", test_groupwise_paths);
  g_test_add_func ("/engine/quant/zero-padding", test_zero_padding);
  g_test_add_func ("/engine/quant/percentile", test_percentile);
  g_test_add_func ("/engine/quant/errors", test_prepare_errors);
  g_test_add_func ("/engine/evaluate", test_evaluate);
  g_test_add_func ("/engine/cancel", test_cancel);
  status = g_test_run ();
  g_rand_free (rng);
  return status;
}
