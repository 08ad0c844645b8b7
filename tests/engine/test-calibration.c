/* test-calibration.c: calibration's fused range pass and the model's single float copy of its kernels.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * - every value's calibrated range equals a plain sequential min/max over
 *   that value's float32 outputs, image by image (views included);
 * - every ISA's float32 GEMM packing is read back bit for bit, by blocks
 *   of rows, and every ISA has the routine that does it; packing by
 *   blocks of rows (how a model packs its kernels) gives the whole
 *   packing's bits, padding included;
 * - a model keeps Conv2D and Dense kernels only packed, and reads them
 *   back exactly as given (after a folded batch norm: as folded);
 * - quantizing a kernel a block of rows at a time (minmax) gives what
 *   quantizing under percentile:100 gives (the same ranges, chosen from a
 *   group of whole channels at a time): weight SQNR and integer outputs bit for bit, on
 *   the int8 and the 64-bit (more than 16,384 taps) paths;
 * - past 16,384 taps int8 weights keep the int8 GEMM with 64-bit totals,
 *   exactly: zero taps appended change no logit;
 * - percentile, MSE and KL ranges, integer groups, block and float formats
 *   on a kernel read back in blocks of rows or groups of channels give the
 *   weight SQNR of the whole kernel quantized at once, bit for bit.
 */
#include <math.h>
#include <string.h>

#include <glib.h>

#include "engine/qs-engine-private.h"
#include "quant/qs-block.h"

static float *
random_floats (GRand  *rng,
               size_t  n,
               double  scale)
{
  float *v = g_new (float, n);

  for (size_t i = 0; i < n; i++)
    v[i] = (float) (g_rand_double_range (rng, -1.0, 1.0) * scale);
  return v;
}

static QsConvParams
conv_params (int kernel,
             int filters)
{
  QsConvParams p = {
    .kernel_h = kernel, .kernel_w = kernel, .stride_h = 1, .stride_w = 1,
    .padding = QS_PADDING_SAME, .filters = filters, .activation = QS_ACTIVATION_NONE,
    .activation_max = INFINITY,
  };

  return p;
}

/* SxSx3 -> conv 3x3xC + ReLU (fused) -> zero padding 1 -> depthwise 3x3
 * valid -> add (residual) -> max pool -> flatten (a view) -> dense 10:
 * views, merges, padding and both weighted kinds. At 64x64x16 the
 * depthwise output of one image is observed in two bands. */
static QsEngineModel *
small_graph (GRand *rng,
             int    size,
             int    channels)
{
  QsEngineModel *model = qs_engine_model_new (size, size, 3);
  QsConvParams conv = conv_params (3, channels), dw = conv_params (3, 1), pool = conv_params (2, 0);
  g_autofree float *k1 = random_floats (rng, 3 * 3 * 3 * channels, 0.5);
  g_autofree float *b1 = random_floats (rng, channels, 0.1);
  g_autofree float *k2 = random_floats (rng, 3 * 3 * channels, 0.5);
  g_autofree float *k3 = random_floats (rng, (size_t) (size / 2) * (size / 2) * channels * 10, 0.2);
  int relu_value, dw_value, merge[2];

  pool.stride_h = pool.stride_w = 2;
  pool.padding = QS_PADDING_VALID;
  dw.padding = QS_PADDING_VALID;
  g_assert_cmpint (qs_engine_model_add_conv2d (model, "conv", &conv, k1, b1), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_add_activation (model, "relu", QS_ACTIVATION_RELU, INFINITY), ==, QS_ENGINE_OK);
  relu_value = qs_engine_model_get_last_value (model);
  g_assert_cmpint (qs_engine_model_add_pad (model, "pad", false, 1, 1, 1, 1), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_add_depthwise (model, "dw", &dw, k2, NULL), ==, QS_ENGINE_OK);
  dw_value = qs_engine_model_get_last_value (model);
  merge[0] = relu_value;
  merge[1] = dw_value;
  g_assert_cmpint (qs_engine_model_set_next_inputs (model, merge, 2), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_add_merge (model, "add", QS_LAYER_ADD), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_add_pool (model, "pool", QS_LAYER_MAX_POOL, &pool), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_add_flatten (model, "flatten"), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_add_dense (model, "dense", 10, QS_ACTIVATION_NONE, INFINITY, k3, NULL),
                   ==, QS_ENGINE_OK);
  return model;
}

typedef struct {
  const QsEngineModel *model;
  float               *lo, *hi;
} RangeRef;

/* The reference: one element after the other, no lanes, no views skipped. */
static void
reference_hook (void       *data,
                size_t      layer,
                const void *output,
                size_t      batch)
{
  RangeRef *ref = data;
  const float *v = output;
  size_t n = batch * qs_layer_out_size (&ref->model->layers[layer]);

  for (size_t i = 0; i < n; i++)
    {
      ref->lo[layer + 1] = v[i] < ref->lo[layer + 1] ? v[i] : ref->lo[layer + 1];
      ref->hi[layer + 1] = v[i] > ref->hi[layer + 1] ? v[i] : ref->hi[layer + 1];
    }
}

static void
ranges_match_sequential (int size,
                         int channels)
{
  g_autoptr(GRand) rng = g_rand_new_with_seed (9);
  QsEngineModel *model = small_graph (rng, size, channels);
  /* One task of 16 images on two threads splits its GEMM tiles and depthwise bands between them. */
  size_t count = size > 8 ? 16 : 45, image = (size_t) size * size * 3, points = qs_engine_model_get_n_layers (model) + 1;
  g_autofree float *images = random_floats (rng, count * image, 2.0);
  g_autofree float *lo = g_new (float, points);
  g_autofree float *hi = g_new (float, points);
  QsEngineDataset data = { count, size, size, 3, images, NULL };
  RangeRef ref = { model, lo, hi };
  QsEngineRunOptions options;
  QsCalibration *cal = NULL;
  void *scratch = g_malloc (qs_engine_get_buffer_size (model, NULL, 1));

  for (size_t p = 0; p < points; p++)
    {
      lo[p] = INFINITY;
      hi[p] = -INFINITY;
    }
  for (size_t i = 0; i < image * count; i++)
    {
      lo[0] = images[i] < lo[0] ? images[i] : lo[0];
      hi[0] = images[i] > hi[0] ? images[i] : hi[0];
    }
  /* The reference reads the padded copy, which the fold never makes. */
  model->keep_padding = true;
  g_assert_cmpint (qs_engine_model_plan (model), ==, QS_ENGINE_OK);
  for (size_t b = 0; b < count; b++)
    g_assert_cmpint (qs_engine_forward_fp32 (model, images + b * image, 1, scratch, reference_hook, &ref, NULL),
                     ==, QS_ENGINE_OK);
  g_free (scratch);

  /* Unfolded and folded (the padding a view of the ReLU's value), on one thread and two. */
  for (int run = 0; run < 4; run++)
    {
      int threads = 1 + run % 2;

      model->keep_padding = run < 2;
      g_assert_cmpint (qs_engine_model_plan (model), ==, QS_ENGINE_OK);
      g_assert_true (model->layers[2].kind == QS_LAYER_PAD && model->layers[2].folded_pad == !model->keep_padding);
      qs_engine_run_options_init (&options);
      options.n_threads = threads;
      g_assert_cmpint (qs_engine_calibrate (model, NULL, &data, 0, &options, &cal, NULL, 0), ==, QS_ENGINE_OK);
      for (size_t p = 0; p < points; p++)
        {
          g_assert_true (isfinite (lo[p]) && isfinite (hi[p]));
          g_assert_cmpfloat (cal->lo[p], ==, lo[p]);
          g_assert_cmpfloat (cal->hi[p], ==, hi[p]);
        }
      qs_calibration_free (cal);
    }
  /* The fused ReLU's value is the convolution's, and nothing below zero. */
  g_assert_cmpfloat (lo[2], >=, 0.0f);
  qs_engine_model_free (model);
}

static void
test_ranges_match_sequential (void)
{
  ranges_match_sequential (8, 8);
  ranges_match_sequential (64, 16);
}

static void
test_unpack_every_isa (void)
{
  g_autoptr(GRand) rng = g_rand_new_with_seed (4);
  const size_t ns[] = { 1, 15, 16, 17, 31, 32, 33, 70 }, ks[] = { 1, 5, 300 };

  for (QsIsa isa = QS_ISA_SCALAR; isa <= QS_ISA_AVX512VNNI; isa++)
    {
      const QsKernels *kr;

      if (!qs_kernels_isa_supported (isa))
        continue;
      kr = qs_kernels_get (isa);
      /* A model keeps its GEMM kernels packed only: every ISA must read them back. */
      g_assert_nonnull (kr->gemm_f32_unpack);
      g_assert_nonnull (kr->gemm_f32_pack_rows);
      for (size_t a = 0; a < G_N_ELEMENTS (ns); a++)
        for (size_t b = 0; b < G_N_ELEMENTS (ks); b++)
          {
            size_t n = ns[a], k = ks[b], ldw = n + 3;
            g_autofree float *w = random_floats (rng, n * k, 1.0);
            g_autofree float *packed = g_new (float, kr->gemm_f32_packed_size (n, k));
            g_autofree float *back = g_new0 (float, k * ldw);
            size_t packed_size = kr->gemm_f32_packed_size (n, k) * sizeof (float);
            g_autofree float *by_rows = g_malloc (packed_size);
            g_autofree float *wide = g_new (float, k * ldw);

            kr->gemm_f32_pack (n, k, w, packed);
            /* The same kernel with NaN between its rows, packed 7 rows at a
             * time over a buffer of 0xFF bytes (NaN too): the padding
             * channels must come out zero, the gaps never read. */
            memset (wide, 0xFF, k * ldw * sizeof (float));
            memset (by_rows, 0xFF, packed_size);
            for (size_t r = 0; r < k; r++)
              memcpy (wide + r * ldw, w + r * n, n * sizeof (float));
            for (size_t r0 = 0; r0 < k; r0 += 7)
              kr->gemm_f32_pack_rows (n, k, wide + r0 * ldw, ldw, r0, MIN (7, k - r0), by_rows);
            g_assert_cmpmem (by_rows, packed_size, packed, packed_size);
            /* Blocks of 7 rows into a wider row stride; the gaps stay untouched. */
            for (size_t r0 = 0; r0 < k; r0 += 7)
              kr->gemm_f32_unpack (n, k, packed, r0, MIN (7, k - r0), back + r0 * ldw, ldw);
            for (size_t r = 0; r < k; r++)
              {
                g_assert_cmpmem (back + r * ldw, n * sizeof (float), w + r * n, n * sizeof (float));
                for (size_t j = n; j < ldw; j++)
                  g_assert_cmpfloat (back[r * ldw + j], ==, 0.0f);
              }
          }
    }
}

static void
test_one_float_copy (void)
{
  g_autoptr(GRand) rng = g_rand_new_with_seed (5);
  QsEngineModel *model = qs_engine_model_new (6, 6, 4);
  QsConvParams conv = conv_params (3, 20), grouped = conv_params (3, 6);
  g_autofree float *k1 = random_floats (rng, 3 * 3 * 4 * 20, 1.0);
  g_autofree float *k2 = random_floats (rng, 3 * 3 * 10 * 6, 1.0);
  g_autofree float *gamma = random_floats (rng, 20, 1.0);
  g_autofree float *beta = random_floats (rng, 20, 1.0);
  g_autofree float *mean = random_floats (rng, 20, 1.0);
  g_autofree float *variance = g_new (float, 20);
  g_autofree float *folded = g_new (float, 3 * 3 * 4 * 20);
  float *back;

  for (int c = 0; c < 20; c++)
    variance[c] = 0.5f + c;
  g_assert_cmpint (qs_engine_model_add_conv2d (model, "conv", &conv, k1, NULL), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_model_fold_batch_norm (model, gamma, beta, mean, variance, 1e-3f), ==, QS_ENGINE_OK);
  grouped.groups = 2;
  g_assert_cmpint (qs_engine_model_add_conv2d (model, "grouped", &grouped, k2, NULL), ==, QS_ENGINE_OK);

  /* Keras's fold, in double, rounded once to float32. */
  for (size_t r = 0; r < 3 * 3 * 4; r++)
    for (int c = 0; c < 20; c++)
      folded[r * 20 + c] = (float) (k1[r * 20 + c] * ((double) gamma[c] / sqrt ((double) variance[c] + (double) 1e-3f)));

  for (size_t i = 0; i < 2; i++)
    {
      g_assert_null (model->layers[i].weights);
      g_assert_nonnull (model->layers[i].packed_f32);
    }
  back = qs_layer_kernel_copy (model, &model->layers[0]);
  g_assert_cmpmem (back, sizeof (float) * 3 * 3 * 4 * 20, folded, sizeof (float) * 3 * 3 * 4 * 20);
  g_free (back);
  back = qs_layer_kernel_copy (model, &model->layers[1]);
  g_assert_cmpmem (back, sizeof (float) * 3 * 3 * 10 * 6, k2, sizeof (float) * 3 * 3 * 10 * 6);
  g_free (back);
  qs_engine_model_free (model);
}

/* A dense layer of @k taps quantized under minmax (by blocks of rows) and
 * under percentile:100 (whole channels, the same ranges): the same layer. */
static void
check_streamed_dense (size_t             k,
                      size_t             n,
                      QsGranularity      granularity,
                      QsMapping          mapping)
{
  g_autoptr(GRand) rng = g_rand_new_with_seed ((guint32) (k + n));
  QsEngineModel *model = qs_engine_model_new (1, 1, (int) k);
  g_autofree float *kernel = random_floats (rng, k * n, 0.05);
  g_autofree float *bias = random_floats (rng, n, 0.1);
  size_t count = 20;
  g_autofree float *images = random_floats (rng, count * k, 1.0);
  g_autofree float *out_a = g_new (float, count * n);
  g_autofree float *out_b = g_new (float, count * n);
  QsEngineDataset data = { count, 1, 1, (int) k, images, NULL };
  QsScheme minmax, whole;
  const QsScheme *sa[1] = { &minmax }, *sb[1] = { &whole };
  QsQuantizedModel *qa = NULL, *qb = NULL;
  QsQuantizedLayerStats a, b;
  void *scratch;

  g_assert_cmpint (qs_engine_model_add_dense (model, "dense", (int) n, QS_ACTIVATION_NONE, INFINITY, kernel, bias),
                   ==, QS_ENGINE_OK);
  g_assert_null (model->layers[0].weights);
  qs_scheme_init_default (&minmax);
  minmax.granularity = granularity;
  minmax.mapping = mapping;
  whole = minmax;
  whole.range_method = QS_RANGE_PERCENTILE;
  whole.percentile = 100.0;
  g_assert_cmpint (qs_engine_prepare_quantized (model, sa, 1, NULL, &data, 0, NULL, &qa, NULL, 0), ==, QS_ENGINE_OK);
  g_assert_cmpint (qs_engine_prepare_quantized (model, sb, 1, NULL, &data, 0, NULL, &qb, NULL, 0), ==, QS_ENGINE_OK);
  g_assert_true (qs_quantized_model_get_layer_stats (qa, 0, &a));
  g_assert_true (qs_quantized_model_get_layer_stats (qb, 0, &b));
  g_assert_cmpint (a.weight_bits, ==, 8);
  g_assert_cmpint (a.weight_bits, ==, b.weight_bits);
  g_assert_cmpmem (&a.weight_sqnr_db, sizeof (double), &b.weight_sqnr_db, sizeof (double));
  g_assert_cmpmem (&a.output_sqnr_db, sizeof (double), &b.output_sqnr_db, sizeof (double));
  g_assert_true (isfinite (a.weight_sqnr_db) && a.weight_sqnr_db > 20.0);

  scratch = g_malloc (qs_engine_get_buffer_size (model, qa, count));
  g_assert_cmpint (qs_engine_forward (model, qa, images, count, scratch, qs_engine_get_buffer_size (model, qa, count),
                                      out_a), ==, QS_ENGINE_OK);
  g_free (scratch);
  scratch = g_malloc (qs_engine_get_buffer_size (model, qb, count));
  g_assert_cmpint (qs_engine_forward (model, qb, images, count, scratch, qs_engine_get_buffer_size (model, qb, count),
                                      out_b), ==, QS_ENGINE_OK);
  g_free (scratch);
  g_assert_cmpmem (out_a, count * n * sizeof (float), out_b, count * n * sizeof (float));
  qs_quantized_model_free (qa);
  qs_quantized_model_free (qb);
  qs_engine_model_free (model);
}

static void
test_streamed_quantize (void)
{
  /* 65,536 / 70 = 936 rows a block: four blocks. */
  check_streamed_dense (3000, 70, QS_GRANULARITY_CHANNEL, QS_MAPPING_SYMMETRIC);
  check_streamed_dense (3000, 70, QS_GRANULARITY_TENSOR, QS_MAPPING_ASYMMETRIC);
  /* Past 16,384 taps the 64-bit totals: 65,536 / 3 rows a block, two blocks. */
  check_streamed_dense (30000, 3, QS_GRANULARITY_CHANNEL, QS_MAPPING_ASYMMETRIC);
}

/* The weight SQNR of @kernel ([k][n]) quantized whole under @scheme by
 * the quantization library, summed in the Keras order: what the engine,
 * which reads a packed kernel back a block of rows or a group of channels
 * at a time, must give bit for bit. */
static double
whole_kernel_sqnr (const QsScheme *scheme,
                   const float    *kernel,
                   size_t          k,
                   size_t          n)
{
  bool per_channel = scheme->granularity == QS_GRANULARITY_CHANNEL;
  size_t channels = per_channel ? n : 1, count = k * n;
  QsChannelLayout by_channel = { count, k, n, 1 };
  QsChannelLayout layout = per_channel ? by_channel : qs_channel_layout_per_tensor (count);
  g_autofree QsRangeStats *stats = g_new (QsRangeStats, channels);
  g_autofree float *lo = g_new (float, channels);
  g_autofree float *hi = g_new (float, channels);
  g_autofree int32_t *codes = g_new (int32_t, count);
  g_autofree double *recon = g_new (double, count);
  double signal = 0.0, noise = 0.0;

  if (qs_scheme_is_blockwise (scheme))
    {
      QsBlockGeometry geo;
      g_autofree float *scales = NULL, *values = g_new (float, count);
      g_autofree int32_t *zero_points = NULL;

      g_assert_cmpint (qs_block_geometry (scheme, &by_channel, &geo), ==, QS_OK);
      scales = g_new (float, geo.block_count);
      zero_points = g_new (int32_t, geo.block_count);
      g_assert_cmpint (qs_block_quantize (scheme, &by_channel, kernel, codes, scales, NULL, zero_points, NULL), ==,
                       QS_OK);
      g_assert_cmpint (qs_block_dequantize (scheme, &by_channel, codes, scales, zero_points, values), ==, QS_OK);
      for (size_t i = 0; i < count; i++)
        recon[i] = values[i];
    }
  else
    {
      QsQuantParams params;

      g_assert_cmpint (qs_range_stats_compute (&layout, kernel, 1, stats, NULL), ==, QS_OK);
      g_assert_cmpint (qs_range_choose (scheme, &layout, kernel, stats, lo, hi), ==, QS_OK);
      g_assert_cmpint (qs_quant_params_init (&params, channels), ==, QS_OK);
      qs_quant_params_set_from_ranges (&params, scheme, lo, hi);
      qs_quantize (&params, &layout, kernel, codes);
      for (size_t i = 0; i < count; i++)
        recon[i] = qs_dequantize_code (&params, per_channel ? i % n : 0, codes[i]);
      qs_quant_params_clear (&params);
    }
  for (size_t i = 0; i < count; i++)
    {
      double x = kernel[i], e = x - recon[i];

      signal += x * x;
      noise += e * e;
    }
  return 10.0 * log10 (signal / noise);
}

/* Range methods that look at every value (per channel: a group of whole
 * channels at a time, the same for every method, so KL's costly search
 * is left out; per tensor: MSE and KL histograms and percentile
 * selection over blocks of rows), integer groups and block formats (a
 * group of channels at a time) and float formats (packed a block of rows
 * at a time) on a Dense kernel of 4.3 million weights, past one group of
 * channels (4,194,304 values) and many blocks of rows: the weight SQNR of
 * the whole kernel quantized at once, bit for bit. */
static void
test_streamed_ranges_match_whole (void)
{
  const size_t k = 16000, n = 270, count = 2;
  g_autoptr(GRand) rng = g_rand_new_with_seed (11);
  g_autofree float *kernel = random_floats (rng, k * n, 0.05);
  g_autofree float *images = random_floats (rng, count * k, 1.0);
  QsEngineModel *model = qs_engine_model_new (1, 1, (int) k);
  QsEngineDataset data = { count, 1, 1, (int) k, images, NULL };
  struct {
    QsRangeMethod method;
    double        percentile;
    QsGranularity granularity;
    QsMapping     mapping;
    QsFormat      format;
    int           bits, group_size;
    const char   *kernel;
  } cases[] = {
    { QS_RANGE_PERCENTILE, 99.9, QS_GRANULARITY_CHANNEL, QS_MAPPING_SYMMETRIC, QS_FORMAT_INT, 8, 0, "int8" },
    { QS_RANGE_PERCENTILE, 99.99, QS_GRANULARITY_TENSOR, QS_MAPPING_ASYMMETRIC, QS_FORMAT_INT, 8, 0, "int8" },
    { QS_RANGE_MSE, 0, QS_GRANULARITY_CHANNEL, QS_MAPPING_ASYMMETRIC, QS_FORMAT_INT, 8, 0, "int8" },
    { QS_RANGE_MSE, 0, QS_GRANULARITY_TENSOR, QS_MAPPING_SYMMETRIC, QS_FORMAT_INT, 4, 0, "int8" },
    { QS_RANGE_KL, 0, QS_GRANULARITY_TENSOR, QS_MAPPING_ASYMMETRIC, QS_FORMAT_INT, 8, 0, "int8" },
    { QS_RANGE_MINMAX, 0, QS_GRANULARITY_GROUP, QS_MAPPING_SYMMETRIC, QS_FORMAT_INT, 4, 128, "int8-groupwise" },
    { QS_RANGE_MINMAX, 0, QS_GRANULARITY_GROUP, QS_MAPPING_ASYMMETRIC, QS_FORMAT_INT, 4, 32, "int8-groupwise" },
    { QS_RANGE_MINMAX, 0, QS_GRANULARITY_CHANNEL, QS_MAPPING_SYMMETRIC, QS_FORMAT_MXFP4, 8, 0, "int8-groupwise" },
    { QS_RANGE_MINMAX, 0, QS_GRANULARITY_CHANNEL, QS_MAPPING_SYMMETRIC, QS_FORMAT_NF4, 8, 0, "float-weights" },
    { QS_RANGE_MSE, 0, QS_GRANULARITY_CHANNEL, QS_MAPPING_SYMMETRIC, QS_FORMAT_FP8_E4M3, 8, 0, "float-weights" },
    { QS_RANGE_MINMAX, 0, QS_GRANULARITY_TENSOR, QS_MAPPING_SYMMETRIC, QS_FORMAT_BF16, 8, 0, "float-weights" },
  };

  g_assert_cmpint (qs_engine_model_add_dense (model, "dense", (int) n, QS_ACTIVATION_NONE, INFINITY, kernel, NULL),
                   ==, QS_ENGINE_OK);
  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      QsScheme scheme;
      const QsScheme *schemes[1] = { &scheme };
      QsQuantizedModel *qm = NULL;
      QsQuantizedLayerStats stats;
      double expected;

      qs_scheme_init_default (&scheme);
      scheme.range_method = cases[i].method;
      if (cases[i].method == QS_RANGE_PERCENTILE)
        scheme.percentile = cases[i].percentile;
      scheme.granularity = cases[i].granularity;
      scheme.mapping = cases[i].mapping;
      scheme.format = cases[i].format;
      scheme.bits = cases[i].bits;
      scheme.group_size = cases[i].group_size;
      if (cases[i].mapping == QS_MAPPING_ASYMMETRIC)
        scheme.narrow = false;
      g_assert_cmpint (qs_scheme_validate (&scheme, NULL), ==, QS_OK);
      expected = whole_kernel_sqnr (&scheme, kernel, k, n);
      g_assert_cmpint (qs_engine_prepare_quantized (model, schemes, 1, NULL, &data, 0, NULL, &qm, NULL, 0), ==,
                       QS_ENGINE_OK);
      g_assert_true (qs_quantized_model_get_layer_stats (qm, 0, &stats));
      g_assert_cmpstr (stats.kernel, ==, cases[i].kernel);
      g_assert_true (isfinite (expected));
      g_assert_cmpmem (&stats.weight_sqnr_db, sizeof (double), &expected, sizeof (double));
      qs_quantized_model_free (qm);
    }
  qs_engine_model_free (model);
}

/* Logits (float, so the totals themselves) of a dense layer of @n outputs
 * with kernel rows @kernel, @k of them, on @count images of @k values. */
static float *
dense_logits (size_t              k,
              size_t              n,
              const float        *kernel,
              const float        *bias,
              const float        *images,
              size_t              count,
              QsGranularity       granularity,
              QsMapping           mapping,
              QsQuantizedLayerStats *stats)
{
  QsEngineModel *model = qs_engine_model_new (1, 1, (int) k);
  QsEngineDataset data = { count, 1, 1, (int) k, (float *) images, NULL };
  QsActivationScheme act;
  QsScheme scheme;
  const QsScheme *schemes[1] = { &scheme };
  QsQuantizedModel *qm = NULL;
  float *out = g_new (float, count * n);
  void *scratch;

  g_assert_cmpint (qs_engine_model_add_dense (model, "dense", (int) n, QS_ACTIVATION_NONE, INFINITY, kernel, bias),
                   ==, QS_ENGINE_OK);
  qs_activation_scheme_init_default (&act);
  act.float_logits = true;
  qs_scheme_init_default (&scheme);
  scheme.granularity = granularity;
  scheme.mapping = mapping;
  g_assert_cmpint (qs_engine_prepare_quantized (model, schemes, 1, &act, &data, 0, NULL, &qm, NULL, 0), ==, QS_ENGINE_OK);
  g_assert_true (qs_quantized_model_get_layer_stats (qm, 0, stats));
  scratch = g_malloc (qs_engine_get_buffer_size (model, qm, count));
  g_assert_cmpint (qs_engine_forward (model, qm, images, count, scratch, qs_engine_get_buffer_size (model, qm, count),
                                      out), ==, QS_ENGINE_OK);
  g_free (scratch);
  qs_quantized_model_free (qm);
  qs_engine_model_free (model);
  return out;
}

/* A layer past 16,384 taps keeps int8 weights and the int8 GEMM, its sums
 * widened to 64-bit totals: exact. Zero taps appended to a layer of 16,000
 * (zero weights, zero inputs, neither moving a range) leave every code and
 * every total as it was, so the wide layer's logits and SQNRs must be the
 * int32 path's bit for bit; 25,003 taps take the padded im2col rows,
 * 24,576 the direct ones. */
static void
test_wide_int8_sums (void)
{
  g_autoptr(GRand) rng = g_rand_new_with_seed (9);
  const size_t k0 = 16000, n = 5, count = 6, wides[] = { 25003, 24576 };
  const QsMapping mappings[] = { QS_MAPPING_SYMMETRIC, QS_MAPPING_ASYMMETRIC };
  g_autofree float *kernel = random_floats (rng, k0 * n, 0.05);
  g_autofree float *bias = random_floats (rng, n, 0.1);
  g_autofree float *images = random_floats (rng, count * k0, 1.0);

  for (size_t wi = 0; wi < G_N_ELEMENTS (wides); wi++)
    for (size_t mi = 0; mi < G_N_ELEMENTS (mappings); mi++)
      {
        size_t k = wides[wi];
        QsGranularity granularity = mi == 0 ? QS_GRANULARITY_CHANNEL : QS_GRANULARITY_TENSOR;
        g_autofree float *wide_kernel = g_new0 (float, k * n);
        g_autofree float *wide_images = g_new0 (float, count * k);
        g_autofree float *narrow_out = NULL, *wide_out = NULL;
        QsQuantizedLayerStats narrow, wide;

        memcpy (wide_kernel, kernel, k0 * n * sizeof (float));
        for (size_t i = 0; i < count; i++)
          memcpy (wide_images + i * k, images + i * k0, k0 * sizeof (float));
        narrow_out = dense_logits (k0, n, kernel, bias, images, count, granularity, mappings[mi], &narrow);
        wide_out = dense_logits (k, n, wide_kernel, bias, wide_images, count, granularity, mappings[mi], &wide);
        g_assert_cmpstr (narrow.kernel, ==, "int8");
        g_assert_cmpstr (wide.kernel, ==, "int8");
        g_assert_cmpint (wide.weight_bits, ==, 8);
        g_assert_cmpmem (&wide.weight_sqnr_db, sizeof (double), &narrow.weight_sqnr_db, sizeof (double));
        g_assert_cmpmem (&wide.output_sqnr_db, sizeof (double), &narrow.output_sqnr_db, sizeof (double));
        g_assert_cmpmem (wide_out, count * n * sizeof (float), narrow_out, count * n * sizeof (float));
      }
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/calibration/ranges-match-sequential", test_ranges_match_sequential);
  g_test_add_func ("/calibration/unpack-every-isa", test_unpack_every_isa);
  g_test_add_func ("/calibration/one-float-copy", test_one_float_copy);
  g_test_add_func ("/calibration/streamed-quantize", test_streamed_quantize);
  g_test_add_func ("/calibration/wide-int8-sums", test_wide_int8_sums);
  g_test_add_func ("/calibration/streamed-ranges-match-whole", test_streamed_ranges_match_whole);
  return g_test_run ();
}
