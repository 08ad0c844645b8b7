/* test-keras-user.c: what hand-written and converted user models use: shared layers and PReLU.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * /keras-shared: tests/data/shared-layers/ is written by tests/reference/make_shared_layers.py:
 * small Keras 2 (.h5) and Keras 3 (.keras) models with a ReLU called three
 * times, a Dense on two branches, a Conv2D (and its BatchNormalization) on
 * two views of one image, the same Conv2D with a BatchNormalization after
 * one call only, and nested Sequential and Functional blocks called twice;
 * reference.json has each model's PyTorch float64 logits on 16 images
 * and its weighted layers, each with the number of times it is called.
 *  - every weighted Keras layer is one weighted engine layer (one scheme,
 *    listed once, in order) run by as many engine layers as it has calls,
 *    all of them on one copy of the weights;
 *  - the float32 logits agree with the reference to 1e-4 of the largest;
 *  - the integer path runs: finite logits close to float32's (each call
 *    calibrated on its own: the Conv2D called on a crop and on a pooled
 *    image gets two output quantizers), and every weighted layer has a
 *    weight and output SQNR; its later calls run the first call's
 *    quantized weights, not a copy;
 *  - the report (the model overview, what `report`, `compare` and the app
 *    count sizes from) lists each weighted layer's kernel once: its
 *    parameters are those of the Keras layers, not of their calls.
 * /keras-user-layers: tests/data/user-layers/ is written by
 * tests/reference/make_user_layers.py: PReLU per channel, with one slope,
 * and on a vector, Keras 2 and 3, against torch.nn.PReLU's logits, and
 * Keras 3's CustomScaleLayer (an affine layer and an Add); a PReLU whose
 * slopes differ by position is refused in one line; on codes, each
 * channel's PReLU table is within half an output step (plus the input's
 * rounding through the slope) of PReLU.
 * /keras-converted: tests/data/converted/ is written by
 * tests/reference/make_converted_models.py in the layouts converters from
 * PyTorch and ONNX write: onnx2keras's channels_first models (ZeroPadding2D
 * before valid convolutions, BatchNormalization(axis=1), Concatenate
 * (axis=1), PReLU(shared_axes [2, 3]), its expand_dims Lambdas after global
 * pooling, Reshape([-1]) of a (C, H, W) map before Dense), its
 * channels_last rewrite (a "_CHW" transpose Lambda before Flatten),
 * Keras' own channels_first Flatten and Permute, and nobuco's channels_last
 * ResNet (tf.pad with a bare -Infinity before MaxPool2D, "+" as a
 * TFOpLambda, x.mean over height and width), its MobileNetV2 block and
 * hard-swish (ReLU6 and clip (x / 6 + 1 / 2, 0, 1) as tf.clip_by_value,
 * scalar TFOpLambdas), and flattens (tf.transpose
 * to PyTorch's order, then tf.reshape with the batch as a tf.shape
 * tensor or as the traced 1), and classification_models' SE-ResNet
 * (its expand_dims Lambda in the SE block), constant operands broadcast
 * as NumPy does against each map's own axis order ((x - mean) / std with
 * (C, 1, 1) constants channels_first, (C,) and (1, 1, C) channels_last, a
 * per-element scale of a flattened (C, H, W) map in PyTorch's order; a
 * (C,) constant that would run along a channels_first map's width, or one
 * that does not broadcast, refused in one line), tf.maximum / tf.minimum
 * by a constant and clip_by_value as nobuco, tf.keras channels_first, TF
 * 2.3's TensorFlowOpLayer and Keras 3's operations write them (a ReLU for
 * max (x, 0), a floor and a cap one layer, other bounds a clamp; of two
 * tensors a merge: /keras-converted/bounds), nobuco's torch.cat as
 * tf.concat of channels, -x as tf.math.negative, tf.nn.silu (beta 1) and
 * means over a channels_first map's axes [2, 3], tf.nn.max_pool2d and
 * avg_pool2d ("SAME" and "VALID"), onnx2keras's Clip Lambda (Hardtanh,
 * its bounds the Lambda's default arguments), models whose layers say
 * no data_format (their constants' shapes decide) or mix the orders
 * (the layer nearest the input decides), and Keras 1 files (Convolution2D
 * with nb_filter, Merge, dim_ordering "th" with Theano's turned kernels
 * (out, in, kh, kw), "tf"; weights "<layer>_W"), MMdnn's Caffe ResNet
 * (its custom Scale layer) and keras-vggface's "/" in layer names: the
 * float32 logits agree
 * with PyTorch's to 1e-4 of the largest (so the Dense after a flattened
 * (C, H, W) map reads each element with its own kernel row), the integer
 * path runs; another Lambda (onnx2keras's Slice, classification_models'
 * grouped-convolution slices) is refused in one line naming it, its
 * weights still listed; Caffe's HDF5 snapshot, a state_dict written with
 * h5py, Chainer's save_hdf5 and a MATLAB v7.3 file list every tensor with
 * its layer, role and channel axis, and every float tensor reads back.
 */
#include <math.h>
#include <string.h>

#include <glib.h>
#include <json-glib/json-glib.h>

#include "engine-fixture.h"
#include "engine/qs-engine-private.h"
#include "model/qs-dataset.h"
#include "model/qs-error.h"
#include "model/qs-keras-model.h"
#include "model/qs-overview.h"
#include "model/qs-weight-file.h"
#include "qs-test-reference.h"

#define LOGIT_TOLERANCE 1e-4
/* int8 logits against float32 (the models measure 40-47 dB per layer). */
#define MIN_INT8_SQNR_DB 25.0

/* A file of tests/data/@dir. */
static char *
data_path (const char *dir,
           const char *name)
{
  return g_test_build_filename (G_TEST_DIST, "data", dir, name, NULL);
}

/* The model in @path, or NULL with @error set. */
static QsEngineModel *
try_load (const char  *path,
          GError     **error)
{
  g_autoptr(QsWeightFile) file = qs_weight_file_open (path, error);

  return file != NULL ? qs_keras_model_load (file, error) : NULL;
}

static QsEngineModel *
load_model (const char *dir,
            const char *name)
{
  g_autofree char *path = data_path (dir, name);
  g_autoptr(GError) error = NULL;
  QsEngineModel *model = try_load (path, &error);

  g_assert_no_error (error);
  g_assert_nonnull (model);
  return model;
}

static float *
forward (QsEngineModel          *model,
         const QsQuantizedModel *quantized,
         const QsEngineDataset  *data)
{
  size_t size = qs_engine_get_buffer_size (model, quantized, data->count);
  g_autofree void *scratch = g_malloc (MAX (size, 1));
  float *out = g_new (float, data->count * qs_engine_model_get_n_outputs (model));

  g_assert_cmpint (qs_engine_forward (model, quantized, data->images, data->count, scratch, size, out), ==,
                   QS_ENGINE_OK);
  return out;
}

static QsQuantizedModel *
quantize_with (QsEngineModel            *model,
               const QsEngineDataset    *calib,
               const QsActivationScheme *act)
{
  char message[256] = "";
  QsQuantizedModel *quantized = engine_fixture_quantize_default (model, calib, act, message, sizeof message);

  if (quantized == NULL)
    g_error ("quantizing: %s", message);
  return quantized;
}

static QsQuantizedModel *
quantize (QsEngineModel         *model,
          const QsEngineDataset *calib)
{
  QsActivationScheme act;

  qs_activation_scheme_init_default (&act);
  return quantize_with (model, calib, &act);
}

/* Each weighted Keras layer once, in order, run by its calls on one copy of its weights. */
static void
check_weighted_layers (const QsEngineModel *model,
                       JsonObject          *entry)
{
  JsonArray *names = json_object_get_array_member (entry, "weighted_layers");
  JsonArray *calls = json_object_get_array_member (entry, "calls");
  size_t n_weighted = qs_engine_model_get_n_weighted (model);

  g_assert_cmpuint (n_weighted, ==, json_array_get_length (names));
  for (size_t w = 0; w < n_weighted; w++)
    {
      int first = qs_engine_model_weighted_layer_index (model, w);
      const QsEngineLayer *owner = &model->layers[first];
      gint64 runs = 0;

      g_assert_cmpint (first, >=, 0);
      g_assert_cmpstr (owner->name, ==, json_array_get_string_element (names, (guint) w));
      g_assert_false (owner->shared_weights);
      for (size_t i = 0; i < model->n_layers; i++)
        {
          const QsEngineLayer *l = &model->layers[i];

          if (l->weight_index != (int) w)
            continue;
          runs++;
          g_assert_cmpstr (l->name, ==, owner->name);
          g_assert_cmpstr (l->weight_tensor, ==, owner->weight_tensor);
          g_assert_true (l->packed_f32 == owner->packed_f32 && l->weights == owner->weights
                         && l->bias == owner->bias);
          g_assert_true ((size_t) first == i || l->shared_weights);
        }
      g_assert_cmpint (runs, ==, json_array_get_int_element (calls, (guint) w));
    }
}

/* @model's float32 logits on @images against the reference's @logits,
 * and its integer path: finite, close to float32, every weighted layer
 * with its SQNR figures. */
static void
check_model (QsEngineModel *model,
             const char    *name,
             const char    *images_path,
             JsonArray     *logits)
{
  g_autoptr(GError) error = NULL;
  QsDataset *images = qs_dataset_load_hdf5 (images_path, &error);
  const QsEngineDataset *view;
  QsQuantizedModel *quantized;
  g_autofree float *fp32 = NULL;
  g_autofree float *int8 = NULL;
  size_t classes = qs_engine_model_get_n_outputs (model);
  double worst, sqnr;

  g_assert_no_error (error);
  view = qs_dataset_get_view (images);
  g_assert_cmpuint (view->count, ==, json_array_get_length (logits));
  fp32 = forward (model, NULL, view);
  worst = qs_test_worst_logit_error (logits, fp32, (guint) view->count, (guint) classes);
  g_test_message ("%s: float32 logits within %.2g of the largest", name, worst);
  g_assert_cmpfloat (worst, <=, LOGIT_TOLERANCE);

  /* Calibrated on the images it scores: the integer path runs the graph. */
  quantized = quantize (model, view);
  int8 = forward (model, quantized, view);
  for (size_t i = 0; i < view->count * classes; i++)
    g_assert_true (isfinite (int8[i]));
  sqnr = qs_test_sqnr_db (fp32, int8, view->count * classes);
  g_test_message ("%s: int8 logits %.1f dB from float32", name, sqnr);
  g_assert_cmpfloat (sqnr, >=, MIN_INT8_SQNR_DB);
  for (size_t w = 0; w < qs_engine_model_get_n_weighted (model); w++)
    {
      QsQuantizedLayerStats stats;

      g_assert_true (qs_quantized_model_get_layer_stats (quantized, w, &stats));
      g_assert_true (isfinite (stats.weight_sqnr_db) && isfinite (stats.output_sqnr_db));
    }
  /* A shared layer's weights are quantized and packed once. */
  for (size_t i = 0; i < model->n_layers; i++)
    {
      const QsEngineLayer *l = &model->layers[i];

      g_assert_cmpint (quantized->layers[i].borrowed_weights, ==, l->shared_weights);
      if (l->shared_weights)
        {
          int first = qs_engine_model_weighted_layer_index (model, (size_t) l->weight_index);

          g_assert_nonnull (quantized->layers[i].packed);
          g_assert_true (quantized->layers[i].packed == quantized->layers[first].packed);
        }
    }
  qs_quantized_model_free (quantized);
  qs_dataset_unref (images);
}

/* The overview of @path lists each weighted layer's kernel once (the
 * engine's first call's weight tensor), so its size counts the kernel
 * parameters of the Keras layers, which are fewer than their calls'
 * where a layer is called more than once. */
static void
check_report_counts_layers_once (const QsEngineModel *model,
                                 const char          *path,
                                 JsonObject          *entry)
{
  JsonArray *calls = json_object_get_array_member (entry, "calls");
  g_autoptr(GError) error = NULL;
  g_autoptr(QsWeightFile) file = qs_weight_file_open (path, &error);
  g_autoptr(QsSchemeSet) schemes = NULL;
  g_autoptr(QsOverview) overview = NULL;
  guint64 layers = 0, per_call = 0, listed = 0, total = 0;
  gboolean called_again = FALSE;
  QsScheme scheme;

  g_assert_no_error (error);
  qs_scheme_init_default (&scheme);
  schemes = qs_scheme_set_new (&scheme);
  overview = qs_overview_compute (file, schemes, 1, 0, NULL, &error);
  g_assert_no_error (error);
  for (size_t w = 0; w < qs_engine_model_get_n_weighted (model); w++)
    {
      const QsEngineLayer *l = &model->layers[qs_engine_model_weighted_layer_index (model, w)];
      guint rows = 0;

      layers += l->k * (guint64) l->out_c;
      per_call += l->k * (guint64) l->out_c * (guint64) json_array_get_int_element (calls, (guint) w);
      called_again = called_again || json_array_get_int_element (calls, (guint) w) > 1;
      for (guint r = 0; r < overview->rows->len; r++)
        {
          const QsOverviewRow *row = g_ptr_array_index (overview->rows, r);

          if (g_str_equal (row->info->path, l->weight_tensor))
            {
              rows++;
              listed += row->info->count;
            }
        }
      g_assert_cmpuint (rows, ==, 1);
    }
  g_assert_cmpuint (listed, ==, layers);
  /* Where a layer is called again, counting calls would count more. */
  if (called_again)
    g_assert_cmpuint (per_call, >, layers);
  for (guint r = 0; r < overview->rows->len; r++)
    total += ((const QsOverviewRow *) g_ptr_array_index (overview->rows, r))->info->count;
  g_assert_cmpuint (overview->parameters, ==, total);
  g_assert_cmpuint (overview->size_fp32_bytes, ==, 4 * total);
}

static void
test_shared (gconstpointer data)
{
  JsonObject *entry = (JsonObject *) data;
  JsonArray *shape = json_object_get_array_member (entry, "input");
  g_autofree char *images_path = data_path ("shared-layers", json_array_get_int_element (shape, 0) == 8
                                                             ? "images.h5" : "images-12.h5");
  g_autofree char *path = data_path ("shared-layers", json_object_get_string_member (entry, "file"));
  QsEngineModel *model = load_model ("shared-layers", json_object_get_string_member (entry, "file"));

  check_weighted_layers (model, entry);
  check_report_counts_layers_once (model, path, entry);
  check_model (model, json_object_get_string_member (entry, "name"), images_path,
               json_object_get_array_member (entry, "fp32_logits"));
  qs_engine_model_free (model);
}

/* The Conv2D called on a crop (8x8) and on a 2x2 average (6x6) of one
 * image: two engine layers of one kernel, each with its output shape
 * and its own calibrated output quantizer. */
static void
test_calls_calibrated_apart (void)
{
  g_autofree char *images_path = data_path ("shared-layers", "images-12.h5");
  g_autoptr(GError) error = NULL;
  QsEngineModel *model = load_model ("shared-layers", "shared_conv.h5");
  QsDataset *images = qs_dataset_load_hdf5 (images_path, &error);
  QsQuantizedModel *quantized;
  int calls[2], n = 0;

  g_assert_no_error (error);
  quantized = quantize (model, qs_dataset_get_view (images));
  for (size_t i = 0; i < model->n_layers; i++)
    if (model->layers[i].weight_index == 0)
      {
        g_assert_cmpint (n, <, 2);
        calls[n++] = (int) i;
      }
  g_assert_cmpint (n, ==, 2);
  g_assert_cmpint (model->layers[calls[0]].out_h, ==, 8);
  g_assert_cmpint (model->layers[calls[1]].out_h, ==, 6);
  g_assert_cmpfloat (quantized->layers[calls[0]].out.scale, !=, quantized->layers[calls[1]].out.scale);
  qs_quantized_model_free (quantized);
  qs_dataset_unref (images);
  qs_engine_model_free (model);
}

/* ---- PReLU and CustomScaleLayer ------------------------------------------------------ */

/* PReLU per channel (1, 1, 6), one slope (1, 1, 1) over 4 channels, a vector (8,). */
static void
check_prelu_layers (const QsEngineModel *model)
{
  const int channels[] = { 6, 4, 8 };
  guint n = 0;

  for (size_t i = 0; i < model->n_layers; i++)
    if (model->layers[i].kind == QS_LAYER_PRELU)
      {
        g_assert_cmpuint (n, <, G_N_ELEMENTS (channels));
        g_assert_cmpint (model->layers[i].out_c, ==, channels[n++]);
      }
  g_assert_cmpuint (n, ==, G_N_ELEMENTS (channels));
}

/* a + b * 0.17: the scale on b, then the Add reading a and it. */
static void
check_custom_scale_layers (const QsEngineModel *model)
{
  for (size_t i = 0; i < model->n_layers; i++)
    if (g_str_equal (model->layers[i].name, "block35_1/scale"))
      {
        const QsEngineLayer *scale = &model->layers[i], *add = &model->layers[i + 1];

        g_assert_cmpint (scale->kind, ==, QS_LAYER_AFFINE);
        for (int c = 0; c < scale->out_c; c++)
          g_assert_cmpfloat (scale->affine_scale[c], ==, 0.17f);
        g_assert_cmpstr (add->name, ==, "block35_1");
        g_assert_cmpint (add->kind, ==, QS_LAYER_ADD);
        g_assert_cmpuint (add->n_inputs, ==, 2);
        g_assert_cmpint (add->inputs[1], ==, (int) i + 1);
        g_assert_cmpstr (model->layers[add->inputs[0] - 1].name, ==, "conv_a");
        g_assert_cmpstr (model->layers[scale->inputs[0] - 1].name, ==, "conv_b");
        return;
      }
  g_assert_not_reached ();
}

static void
test_user_layer (gconstpointer data)
{
  JsonObject *entry = (JsonObject *) data;
  const char *file = json_object_get_string_member (entry, "file");
  g_autofree char *images_path = data_path ("shared-layers", "images.h5");
  QsEngineModel *model = load_model ("user-layers", file);

  if (g_str_has_prefix (file, "prelu"))
    check_prelu_layers (model);
  else
    check_custom_scale_layers (model);
  check_model (model, file, images_path, json_object_get_array_member (entry, "fp32_logits"));
  qs_engine_model_free (model);
}

static void
test_prelu_per_position_refused (void)
{
  g_autofree char *path = data_path ("user-layers", "prelu-per-position.h5");
  g_autoptr(GError) error = NULL;

  g_assert_null (try_load (path, &error));
  g_assert_error (error, QS_KERAS_MODEL_ERROR, QS_KERAS_MODEL_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "“prelu” has a slope per position"));
  g_assert_null (strchr (error->message, '\n'));
}

/* On codes (and, with fractional zero points, in float between a
 * dequantize and a quantize): within half an output step of PReLU of the
 * input, plus the input's half step through the steeper side. */
static void
test_prelu_tables (void)
{
  const float alpha[3] = { -0.5f, 0.25f, 1.5f };
  enum { COUNT = 8, H = 4, W = 4, C = 3 };
  g_autofree float *pixels = g_new (float, COUNT * H * W * C);
  QsEngineModel *model = qs_engine_model_new (H, W, C);
  QsEngineDataset data = { COUNT, H, W, C, NULL, NULL };

  for (size_t i = 0; i < COUNT * H * W * C; i++)
    pixels[i] = -2.0f + 5.0f * (float) ((i * 37) % 101) / 101.0f;
  data.images = pixels;
  g_assert_cmpint (qs_engine_model_add_prelu (model, "prelu", alpha), ==, QS_ENGINE_OK);
  for (int nudge = 0; nudge < 2; nudge++)
    {
      QsActivationScheme act;
      QsQuantizedModel *quantized;
      g_autofree float *out = NULL;
      double in_step, out_step;

      qs_activation_scheme_init_default (&act);
      act.nudge_zero = nudge;
      quantized = quantize_with (model, &data, &act);
      g_assert_cmpint (qs_quantized_model_layer_runs_in_float (quantized, 0), ==, !nudge);
      in_step = quantized->input.scale;
      out_step = quantized->layers[0].out.scale;
      out = forward (model, quantized, &data);
      for (size_t i = 0; i < COUNT * H * W * C; i++)
        {
          float a = alpha[i % C], x = pixels[i];
          double want = x >= 0.0f ? x : (double) a * x;

          g_assert_cmpfloat (fabs (out[i] - want), <=, 0.5 * out_step + 0.5 * in_step * MAX (1.0, fabs (a)) + 1e-6);
        }
      qs_quantized_model_free (quantized);
    }
  qs_engine_model_free (model);
}

/* ---- converted models --------------------------------------------------------------- */

static void
test_converted (gconstpointer data)
{
  JsonObject *entry = (JsonObject *) data;
  const char *file = json_object_get_string_member (entry, "file");
  JsonArray *names = json_object_get_array_member (entry, "weighted_layers");
  g_autofree char *images_path = data_path ("shared-layers", "images-12.h5");
  QsEngineModel *model = load_model ("converted", file);
  int h, w, c;

  /* The engine's input is H x W x C whichever order the file's is. */
  qs_engine_model_get_input_shape (model, &h, &w, &c);
  g_assert_cmpint (h, ==, 12);
  g_assert_cmpint (w, ==, 12);
  g_assert_cmpint (c, ==, 3);
  /* The file's own order, which decides how the user's images may be stored. */
  g_assert_cmpint (qs_engine_model_get_input_channels_first (model), ==,
                   json_array_get_int_element (json_object_get_array_member (entry, "input"), 0) == 3);
  g_assert_cmpuint (qs_engine_model_get_n_weighted (model), ==, json_array_get_length (names));
  for (size_t i = 0; i < qs_engine_model_get_n_weighted (model); i++)
    g_assert_cmpstr (model->layers[qs_engine_model_weighted_layer_index (model, i)].name, ==,
                     json_array_get_string_element (names, (guint) i));
  check_model (model, file, images_path, json_object_get_array_member (entry, "fp32_logits"));
  qs_engine_model_free (model);
}

/* The images PyTorch's users keep, N x C x H x W with per-channel mean and
 * scale attributes (make_converted_models.py write_nchw_images), read for
 * a channels_first model: the same float32 inputs, bit for bit, as the
 * same images stored N x H x W x C, so the same logits float and int8;
 * for a channels_last model the file is read as stored (and its 3
 * attribute values do not fit its 12 "channels"). */
static void
test_converted_nchw_images (void)
{
  g_autofree char *nchw_path = data_path ("converted", "images-12-nchw.h5");
  g_autofree char *nhwc_path = data_path ("converted", "images-12-nhwc-normalized.h5");
  QsEngineModel *model = load_model ("converted", "onnx2keras-resnet.h5");
  g_autoptr(QsDataset) nchw = NULL;
  g_autoptr(QsDataset) nhwc = NULL;
  g_autoptr(QsDataset) as_stored = NULL;
  g_autoptr(GError) error = NULL;
  const QsEngineDataset *a, *b;
  g_autofree float *fp32_a = NULL, *fp32_b = NULL, *int8_a = NULL, *int8_b = NULL;
  QsQuantizedModel *qa, *qb;
  gsize values, outputs;

  g_assert_true (qs_engine_model_get_input_channels_first (model));
  nchw = qs_dataset_load_for_input (nchw_path, 12, 12, 3, TRUE, &error);
  g_assert_no_error (error);
  nhwc = qs_dataset_load_for_input (nhwc_path, 12, 12, 3, TRUE, &error);
  g_assert_no_error (error);
  g_assert_cmpint (qs_dataset_get_layout (nchw), ==, QS_DATASET_LAYOUT_NCHW);
  g_assert_cmpint (qs_dataset_get_layout (nhwc), ==, QS_DATASET_LAYOUT_NHWC);
  g_assert_false (qs_dataset_get_layout_ambiguous (nchw));
  a = qs_dataset_get_view (nchw);
  b = qs_dataset_get_view (nhwc);
  g_assert_cmpuint (a->count, ==, 16);
  g_assert_cmpuint (b->count, ==, 16);
  g_assert_cmpint (a->height, ==, 12);
  g_assert_cmpint (a->width, ==, 12);
  g_assert_cmpint (a->channels, ==, 3);
  values = a->count * 12 * 12 * 3;
  g_assert_cmpint (memcmp (a->images, b->images, values * sizeof (float)), ==, 0);
  g_assert_cmpint (memcmp (a->labels, b->labels, a->count * sizeof (int32_t)), ==, 0);
  /* The attributes applied: the first value is (x - 0.125) * 2 of an image
   * whose stored values are not all that. */
  g_assert_cmpfloat (fabs (a->images[0]), >, 0.0);

  outputs = a->count * qs_engine_model_get_n_outputs (model);
  fp32_a = forward (model, NULL, a);
  fp32_b = forward (model, NULL, b);
  g_assert_cmpint (memcmp (fp32_a, fp32_b, outputs * sizeof (float)), ==, 0);
  qa = quantize (model, a);
  qb = quantize (model, b);
  int8_a = forward (model, qa, a);
  int8_b = forward (model, qb, b);
  g_assert_cmpint (memcmp (int8_a, int8_b, outputs * sizeof (float)), ==, 0);
  qs_quantized_model_free (qa);
  qs_quantized_model_free (qb);

  as_stored = qs_dataset_load_for_input (nchw_path, 12, 12, 3, FALSE, &error);
  g_assert_error (error, QS_ERROR, QS_ERROR_INVALID);
  g_assert_null (as_stored);
  g_assert_nonnull (strstr (error->message, "one per channel"));
  qs_engine_model_free (model);
}

/* onnx2keras's Slice and classification_models' GroupConv2D slices are
 * Lambdas of Python code, and a vector viewed as a (C, H, W) map takes a
 * transpose: refused, named, in one line; the files' weights are still
 * there to look at. */
static void
test_converted_lambda_refused (void)
{
  static const struct {
    const char *file, *message;
    guint       tensors;
    int         code;
  } cases[] = {
    { "onnx2keras-lambda.h5", "layer “6” is a Lambda", 4, QS_KERAS_MODEL_ERROR_UNSUPPORTED_LAYER },
    { "onnx2keras-unflatten.h5", "Reshape layer “14” moves values between the channels_first and channels_last", 8,
      QS_KERAS_MODEL_ERROR_UNSUPPORTED },
    { "classification-models-resnext.h5", "layer “lambda” is a Lambda", 6, QS_KERAS_MODEL_ERROR_UNSUPPORTED_LAYER },
    /* NumPy's broadcast of (12,) against (12, 12, 12) runs along the width, which has as many values as the
     * channels: not read as one per channel. */
    { "constant-per-width.h5", "TFOpLambda layer “tf.math.multiply” combines its channels_first (12, 12, 12) input "
      "with a constant of shape (12,): the constant varies along an axis other than the channels", 4,
      QS_KERAS_MODEL_ERROR_UNSUPPORTED },
    { "constant-no-broadcast.h5", "combines its channels_first (12, 12, 12) input with a constant of shape (5, 1, 1): "
      "the shapes do not broadcast", 4, QS_KERAS_MODEL_ERROR_UNSUPPORTED },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = data_path ("converted", cases[i].file);
      g_autoptr(GError) error = NULL;
      g_autoptr(QsWeightFile) file = qs_weight_file_open (path, &error);

      g_assert_no_error (error);
      g_assert_cmpuint (qs_weight_file_get_tensors (file)->len, ==, cases[i].tensors);
      g_assert_null (qs_keras_model_load (file, &error));
      g_assert_error (error, QS_KERAS_MODEL_ERROR, cases[i].code);
      g_assert_nonnull (strstr (error->message, cases[i].message));
      g_assert_null (strchr (error->message, '\n'));
    }
}

/* The engine layer named @name, or NULL. */
static const QsEngineLayer *
engine_layer (const QsEngineModel *model,
              const char          *name)
{
  for (size_t i = 0; i < model->n_layers; i++)
    if (g_str_equal (model->layers[i].name, name))
      return &model->layers[i];
  return NULL;
}

/* tf.maximum / tf.minimum by a constant, in each form converters and
 * Keras write them: max (x, 0) a ReLU fused into the convolution before
 * it, a floor and a cap one layer named after the second (a ReLU when
 * the floor is 0), any other bound a clamp activation; of two tensors a
 * merge. The logits are checked against PyTorch by /keras-converted/<file>. */
static void
test_converted_bounds (void)
{
#define GONE(file, layer) { file, layer, FALSE, 0, 0, 0, 0, FALSE }
#define MERGE(file, layer, kind) { file, layer, TRUE, kind, 0, 0, 0, FALSE }
#define BOUND(file, layer, activation, lo, hi, fused) \
  { file, layer, TRUE, QS_LAYER_ACTIVATION, activation, lo, hi, fused }
  static const struct {
    const char   *file, *layer;
    gboolean      present;    /* FALSE: merged into the layer after it */
    QsLayerKind   kind;
    QsActivation  activation;
    float         lo, hi;
    gboolean      fused;
  } cases[] = {
    BOUND ("nobuco-bounds.h5", "tf.math.maximum", QS_ACTIVATION_RELU, 0.0f, INFINITY, TRUE),
    GONE ("nobuco-bounds.h5", "tf.math.maximum_1"),
    BOUND ("nobuco-bounds.h5", "tf.math.minimum", QS_ACTIVATION_RELU, 0.0f, 0.5f, TRUE),
    GONE ("nobuco-bounds.h5", "tf.math.minimum_1"),
    BOUND ("nobuco-bounds.h5", "tf.math.maximum_2", QS_ACTIVATION_CLAMP, -0.25f, 0.375f, FALSE),
    BOUND ("nobuco-bounds.h5", "tf.math.minimum_2", QS_ACTIVATION_CLAMP, -INFINITY, 0.25f, FALSE),
    BOUND ("nobuco-bounds.h5", "tf.clip_by_value", QS_ACTIVATION_CLAMP, -0.5f, 0.5f, FALSE),
    MERGE ("nobuco-bounds.h5", "tf.math.maximum_3", QS_LAYER_MAXIMUM),
    BOUND ("keras-channels-first-bounds.h5", "tf.math.maximum", QS_ACTIVATION_RELU, 0.0f, INFINITY, TRUE),
    GONE ("keras-channels-first-bounds.h5", "tf.math.minimum"),
    BOUND ("keras-channels-first-bounds.h5", "tf.math.maximum_1", QS_ACTIVATION_CLAMP, -0.25f, 0.375f, FALSE),
    MERGE ("keras-channels-first-bounds.h5", "tf.math.minimum_1", QS_LAYER_MINIMUM),
    GONE ("tf23-bounds.h5", "tf_op_layer_Maximum"),
    BOUND ("tf23-bounds.h5", "tf_op_layer_Minimum", QS_ACTIVATION_RELU, 0.0f, 0.5f, TRUE),
    BOUND ("tf23-bounds.h5", "tf_op_layer_Maximum_1", QS_ACTIVATION_CLAMP, -0.25f, INFINITY, FALSE),
    BOUND ("keras3-bounds.keras", "maximum", QS_ACTIVATION_RELU, 0.0f, INFINITY, TRUE),
    GONE ("keras3-bounds.keras", "maximum_1"),
    BOUND ("keras3-bounds.keras", "minimum", QS_ACTIVATION_CLAMP, -0.25f, 0.375f, FALSE),
    MERGE ("keras3-bounds.keras", "maximum_2", QS_LAYER_MAXIMUM),
    BOUND ("onnx2keras-hardtanh.h5", "6", QS_ACTIVATION_CLAMP, -0.5f, 0.5f, FALSE),
    /* Each a ReLU's output, so padded with -inf (as zeros) before a max pooling. */
    BOUND ("nobuco-relu-pool.h5", "tf.nn.relu", QS_ACTIVATION_RELU, 0.0f, INFINITY, TRUE),
    GONE ("nobuco-relu-pool.h5", "tf.math.maximum"),
    BOUND ("nobuco-relu-pool.h5", "tf.math.minimum", QS_ACTIVATION_RELU, 0.0f, 0.5f, TRUE),
  };
#undef GONE
#undef MERGE
#undef BOUND

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      QsEngineModel *model = load_model ("converted", cases[i].file);
      const QsEngineLayer *l = engine_layer (model, cases[i].layer);

      g_test_message ("%s: %s", cases[i].file, cases[i].layer);
      if (!cases[i].present)
        g_assert_null (l);
      else
        {
          g_assert_nonnull (l);
          g_assert_cmpint (l->kind, ==, cases[i].kind);
          if (l->kind != QS_LAYER_ACTIVATION)
            g_assert_cmpuint (l->n_inputs, ==, 2);
        }
      if (cases[i].present && l->kind == QS_LAYER_ACTIVATION)
        {
          g_assert_cmpint (l->spec.kind, ==, cases[i].activation);
          g_assert_cmpfloat (l->spec.max_value, ==, cases[i].hi);
          if (l->spec.kind == QS_ACTIVATION_CLAMP)
            g_assert_cmpfloat (l->spec.min_value, ==, cases[i].lo);
          g_assert_cmpint (l->fused_relu, ==, cases[i].fused);
        }
      qs_engine_model_free (model);
    }
}

typedef struct {
  const char   *path;
  const char   *layer;
  QsTensorRole  role;
  int           channel_axis;
} ExpectedTensor;

/* Every tensor of @name, in order, then each float tensor read back whole. */
static void
check_generic_file (const char           *name,
                    const ExpectedTensor *expected,
                    guint                 n_expected)
{
  g_autofree char *path = data_path ("converted", name);
  g_autoptr(GError) error = NULL;
  g_autoptr(QsWeightFile) file = qs_weight_file_open (path, &error);
  GPtrArray *tensors;

  g_assert_no_error (error);
  g_assert_cmpint (qs_weight_file_get_layout (file), ==, QS_FILE_LAYOUT_GENERIC);
  tensors = qs_weight_file_get_tensors (file);
  g_assert_cmpuint (tensors->len, ==, n_expected);
  for (guint i = 0; i < n_expected; i++)
    {
      const QsTensorInfo *info = g_ptr_array_index (tensors, i);
      g_autofree float *values = NULL;

      g_assert_cmpstr (info->path, ==, expected[i].path);
      g_assert_cmpstr (info->layer, ==, expected[i].layer);
      g_assert_cmpint (info->role, ==, expected[i].role);
      g_assert_cmpint (info->channel_axis, ==, expected[i].channel_axis);
      if (!info->quantizable)
        continue;
      values = qs_weight_file_read_tensor (file, info, &error);
      g_assert_no_error (error);
      for (guint64 k = 0; k < info->count; k++)
        g_assert_true (isfinite (values[k]));
    }
}

/* Keras 1's weight names are the layer's name and a suffix; a "th"
 * kernel is (out, in, kh, kw), its output channel first. */
static void
test_keras1_roles (void)
{
  static const struct {
    const char  *file, *path;
    QsTensorRole role;
    int          channel_axis;
  } cases[] = {
    { "keras1-th-theano.h5", "/model_weights/convolution2d_1/convolution2d_1_W", QS_TENSOR_ROLE_KERNEL, 0 },
    { "keras1-th-theano.h5", "/model_weights/convolution2d_1/convolution2d_1_b", QS_TENSOR_ROLE_BIAS, -1 },
    { "keras1-th-theano.h5", "/model_weights/batchnormalization_1/batchnormalization_1_running_std",
      QS_TENSOR_ROLE_BATCHNORM, -1 },
    { "keras1-th-theano.h5", "/model_weights/dense_1/dense_1_W", QS_TENSOR_ROLE_KERNEL, 1 },
    { "keras1-tf.h5", "/model_weights/convolution2d_1/convolution2d_1_W:0", QS_TENSOR_ROLE_KERNEL, 3 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = data_path ("converted", cases[i].file);
      g_autoptr(GError) error = NULL;
      g_autoptr(QsWeightFile) file = qs_weight_file_open (path, &error);
      const QsTensorInfo *info;

      g_assert_no_error (error);
      info = qs_weight_file_lookup (file, cases[i].path);
      g_assert_nonnull (info);
      g_assert_cmpint (info->role, ==, cases[i].role);
      g_assert_cmpint (info->channel_axis, ==, cases[i].channel_axis);
    }
}

/* keras-vggface's published weights: save_weights' tree with "/" in the
 * layer names, one layer's group nested in another's; each weight
 * belongs to its own layer. */
static void
test_nested_names_weights_only (void)
{
  static const char *const layers[] = {
    "conv1/7x7_s2", "conv1/7x7_s2/bn", "conv1/7x7_s2/bn", "conv1/7x7_s2/bn", "conv1/7x7_s2/bn", "classifier",
    "classifier",
  };
  g_autofree char *path = data_path ("converted", "vggface-weights.h5");
  g_autoptr(GError) error = NULL;
  g_autoptr(QsWeightFile) file = qs_weight_file_open (path, &error);
  GPtrArray *tensors;

  g_assert_no_error (error);
  g_assert_cmpint (qs_weight_file_get_layout (file), ==, QS_FILE_LAYOUT_KERAS_WEIGHTS);
  tensors = qs_weight_file_get_tensors (file);
  g_assert_cmpuint (tensors->len, ==, G_N_ELEMENTS (layers));
  for (guint i = 0; i < tensors->len; i++)
    {
      const QsTensorInfo *info = g_ptr_array_index (tensors, i);

      g_assert_cmpstr (info->layer, ==, layers[i]);
      g_assert_true (info->quantizable);
    }
  g_assert_cmpstr (((const QsTensorInfo *) g_ptr_array_index (tensors, 1))->path, ==,
                   "/conv1/7x7_s2/bn/conv1/7x7_s2/bn/gamma:0");
  g_assert_cmpint (((const QsTensorInfo *) g_ptr_array_index (tensors, 0))->channel_axis, ==, 3);
}

static void
test_generic_layouts (void)
{
  static const ExpectedTensor caffe[] = {
    { "/data/bn1/0", "bn1", QS_TENSOR_ROLE_BATCHNORM, -1 },
    { "/data/bn1/1", "bn1", QS_TENSOR_ROLE_BATCHNORM, -1 },
    { "/data/bn1/2", "bn1", QS_TENSOR_ROLE_BATCHNORM, -1 },
    { "/data/conv1/0", "conv1", QS_TENSOR_ROLE_KERNEL, 0 },   /* (out, in, kh, kw) */
    { "/data/conv1/1", "conv1", QS_TENSOR_ROLE_BIAS, -1 },
    { "/data/fc1/0", "fc1", QS_TENSOR_ROLE_KERNEL, 0 },       /* (out, in) */
    { "/data/fc1/1", "fc1", QS_TENSOR_ROLE_BIAS, -1 },
    { "/data/scale1/0", "scale1", QS_TENSOR_ROLE_OTHER, -1 },
    { "/data/scale1/1", "scale1", QS_TENSOR_ROLE_BIAS, -1 },
  };
  static const ExpectedTensor state_dict[] = {
    { "/0.bias", "0", QS_TENSOR_ROLE_BIAS, -1 },
    { "/0.weight", "0", QS_TENSOR_ROLE_KERNEL, 0 },
    { "/1.bias", "1", QS_TENSOR_ROLE_BIAS, -1 },
    { "/1.num_batches_tracked", "1", QS_TENSOR_ROLE_OTHER, -1 },
    { "/1.running_mean", "1", QS_TENSOR_ROLE_BATCHNORM, -1 },
    { "/1.running_var", "1", QS_TENSOR_ROLE_BATCHNORM, -1 },
    { "/1.weight", "1", QS_TENSOR_ROLE_OTHER, -1 },
    { "/4.bias", "4", QS_TENSOR_ROLE_BIAS, -1 },
    { "/4.weight", "4", QS_TENSOR_ROLE_KERNEL, 0 },
  };
  static const ExpectedTensor chainer[] = {
    { "/predictor/bn1/N", "bn1", QS_TENSOR_ROLE_OTHER, -1 },
    { "/predictor/bn1/avg_mean", "bn1", QS_TENSOR_ROLE_BATCHNORM, -1 },
    { "/predictor/bn1/avg_var", "bn1", QS_TENSOR_ROLE_BATCHNORM, -1 },
    { "/predictor/bn1/beta", "bn1", QS_TENSOR_ROLE_BATCHNORM, -1 },
    { "/predictor/bn1/gamma", "bn1", QS_TENSOR_ROLE_BATCHNORM, -1 },
    { "/predictor/conv1/W", "conv1", QS_TENSOR_ROLE_KERNEL, 0 },   /* (out, in, kh, kw) */
    { "/predictor/conv1/b", "conv1", QS_TENSOR_ROLE_BIAS, -1 },
    { "/predictor/fc/W", "fc", QS_TENSOR_ROLE_KERNEL, 0 },
    { "/predictor/fc/b", "fc", QS_TENSOR_ROLE_BIAS, -1 },
  };
  static const ExpectedTensor matlab[] = {
    { "/#refs#/a", "#refs#", QS_TENSOR_ROLE_OTHER, 1 },
    { "/#refs#/b", "#refs#", QS_TENSOR_ROLE_OTHER, 1 },
    { "/W1", "/", QS_TENSOR_ROLE_OTHER, 1 },
    { "/layers", "/", QS_TENSOR_ROLE_OTHER, 1 },               /* object references: listed, not read */
    { "/net/bias", "net", QS_TENSOR_ROLE_BIAS, 1 },
    { "/net/name", "net", QS_TENSOR_ROLE_OTHER, 1 },
  };

  check_generic_file ("caffe.caffemodel.h5", caffe, G_N_ELEMENTS (caffe));
  check_generic_file ("state-dict.h5", state_dict, G_N_ELEMENTS (state_dict));
  check_generic_file ("chainer.h5", chainer, G_N_ELEMENTS (chainer));
  check_generic_file ("matlab.mat", matlab, G_N_ELEMENTS (matlab));
}

/* A test per model of tests/data/@dir/reference.json, named /@suite/<@key of the entry>. */
static void
add_reference_tests (JsonParser    *parser,
                     const char    *dir,
                     const char    *suite,
                     const char    *key,
                     GTestDataFunc  test)
{
  g_autofree char *path = data_path (dir, "reference.json");
  g_autoptr(GError) error = NULL;
  JsonArray *models;

  json_parser_load_from_file (parser, path, &error);
  g_assert_no_error (error);
  models = json_object_get_array_member (json_node_get_object (json_parser_get_root (parser)), "models");
  for (guint i = 0; i < json_array_get_length (models); i++)
    {
      JsonObject *entry = json_array_get_object_element (models, i);
      g_autofree char *name = g_strdup_printf ("/%s/%s", suite, json_object_get_string_member (entry, key));

      g_test_add_data_func (name, entry, test);
    }
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(JsonParser) shared = json_parser_new ();
  g_autoptr(JsonParser) user_layers = json_parser_new ();
  g_autoptr(JsonParser) converted = json_parser_new ();

  g_test_init (&argc, &argv, NULL);
  add_reference_tests (shared, "shared-layers", "keras-shared", "name", test_shared);
  g_test_add_func ("/keras-shared/calls-calibrated-apart", test_calls_calibrated_apart);
  add_reference_tests (user_layers, "user-layers", "keras-user-layers", "file", test_user_layer);
  g_test_add_func ("/keras-user-layers/prelu-per-position-refused", test_prelu_per_position_refused);
  g_test_add_func ("/keras-user-layers/prelu-tables", test_prelu_tables);
  add_reference_tests (converted, "converted", "keras-converted", "file", test_converted);
  g_test_add_func ("/keras-converted/lambda-refused", test_converted_lambda_refused);
  g_test_add_func ("/keras-converted/bounds", test_converted_bounds);
  g_test_add_func ("/keras-converted/nchw-images", test_converted_nchw_images);
  g_test_add_func ("/keras-converted/keras1-roles", test_keras1_roles);
  g_test_add_func ("/keras-converted/nested-names-weights-only", test_nested_names_weights_only);
  g_test_add_func ("/keras-converted/generic-layouts", test_generic_layouts);
  return g_test_run ();
}
