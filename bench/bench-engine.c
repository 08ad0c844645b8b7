/* bench-engine.c: our float32 and integer kernels on the demo model's layers, and whole-model images/s.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Usage: bench-engine [MODEL.h5] [--quick]
 *
 * Per weighted layer, batch 256: GMAC/s of the float32 path and of the
 * integer path (int8 weights, per-channel symmetric, the deployment
 * scheme), each on one thread, and their ratio. Then whole-model images/s
 * of both paths over the bundled 10,000 test images on 1 and 2 threads,
 * and the targets of issue 4 (integer >= 3x float32 on the conv layers;
 * 10,000 images in under 1 s on 2 threads). PyTorch's figures come from
 * bench/bench_torch_model.py.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "engine/qs-engine.h"
#include "model/qs-dataset.h"
#include "model/qs-keras-model.h"

#define BATCH 256

static double
now (void)
{
  return g_get_monotonic_time () / 1e6;
}

/* Best-of-runs seconds per call of qs_engine_run_layer on BATCH inputs. */
static double
time_layer (const QsEngineModel    *model,
            const QsQuantizedModel *quantized,
            size_t                  layer,
            const void             *input,
            void                   *output,
            double                  budget)
{
  size_t size = qs_engine_get_buffer_size (model, quantized, BATCH);
  void *scratch = g_malloc (size);
  double best = INFINITY, start = now ();
  int runs = 0;

  while (runs < 3 || (now () - start < budget && runs < 1000))
    {
      double t0 = now ();

      qs_engine_run_layer (model, quantized, layer, input, BATCH, scratch, size, output);
      best = MIN (best, now () - t0);
      runs++;
    }
  g_free (scratch);
  return best;
}

static double
images_per_second (const QsEngineModel    *model,
                   const QsQuantizedModel *quantized,
                   const QsEngineDataset  *data,
                   int                     threads,
                   int                     repeats)
{
  QsEngineRunOptions options;
  int32_t *predictions = g_new (int32_t, data->count);
  double best = INFINITY;

  qs_engine_run_options_init (&options);
  options.n_threads = threads;
  for (int r = 0; r < repeats; r++)
    {
      double t0 = now ();

      qs_engine_predict (model, quantized, data, 0, data->count, &options, predictions);
      best = MIN (best, now () - t0);
    }
  g_free (predictions);
  return (double) data->count / best;
}

int
main (int    argc,
      char **argv)
{
  const char *path = NULL;
  gboolean quick = FALSE;
  g_autoptr(GError) error = NULL;
  g_autoptr(QsWeightFile) file = NULL;
  g_autoptr(QsDataset) test = NULL;
  g_autoptr(QsDataset) calib = NULL;
  g_autofree char *default_path = NULL;
  QsEngineModel *model;
  QsQuantizedModel *quantized = NULL;
  QsScheme scheme;
  const QsScheme **schemes;
  QsActivationScheme act;
  char message[256];
  double conv_fp32_time = 0.0, conv_int_time = 0.0;
  double fp32_1, fp32_2, int_1, int_2, full_2;
  size_t n_weighted;

  for (int i = 1; i < argc; i++)
    if (strcmp (argv[i], "--quick") == 0)
      quick = TRUE;
    else
      path = argv[i];
  if (path == NULL)
    {
      default_path = g_build_filename (SOURCE_ROOT, "data", "models", "fashion-cnn.h5", NULL);
      path = default_path;
    }

  file = qs_weight_file_open (path, &error);
  if (file == NULL || (model = qs_keras_model_load (file, &error)) == NULL)
    {
      fprintf (stderr, "bench-engine: %s\n", error->message);
      return 1;
    }
  test = qs_dataset_load_bundled_test (&error);
  calib = test != NULL ? qs_dataset_load_bundled_calibration (&error) : NULL;
  if (calib == NULL)
    {
      fprintf (stderr, "bench-engine: %s\n", error->message);
      return 1;
    }

  /* The deployment scheme, the default: int8 per-channel symmetric weights [-127, 127]. */
  qs_scheme_init_default (&scheme);
  n_weighted = qs_engine_model_get_n_weighted (model);
  schemes = g_new (const QsScheme *, n_weighted);
  for (size_t i = 0; i < n_weighted; i++)
    schemes[i] = &scheme;
  qs_activation_scheme_init_default (&act);
  if (qs_engine_prepare_quantized (model, schemes, n_weighted, &act, qs_dataset_get_view (calib), 1000,
                                   NULL, &quantized, message, sizeof message) != QS_ENGINE_OK)
    {
      fprintf (stderr, "bench-engine: %s\n", message);
      return 1;
    }

  printf ("Quantscope engine benchmark: %s, kernels %s, batch %d, one thread per layer\n\n",
          path, qs_quantized_model_get_kernel_name (quantized), BATCH);
  printf ("%-18s %-16s %-22s %10s %10s %10s %7s\n", "layer", "class", "shape (in -> out)", "MMAC/img",
          "fp32", "int8", "ratio");
  printf ("%-18s %-16s %-22s %10s %10s %10s %7s\n", "", "", "", "", "GMAC/s", "GMAC/s", "");
  for (size_t li = 0; li < qs_engine_model_get_n_layers (model); li++)
    {
      QsLayerInfo info;
      size_t in_n, out_n;
      float *fin, *fout;
      uint8_t *qin, *qout;
      double tf, tq, gmac;
      char shape[64];

      qs_engine_model_get_layer (model, li, &info);
      if (info.weight_index < 0)
        continue;
      in_n = (size_t) BATCH * info.in_h * info.in_w * info.in_c;
      out_n = (size_t) BATCH * info.out_h * info.out_w * info.out_c;
      fin = g_new (float, in_n);
      fout = g_new (float, out_n);
      qin = g_new (uint8_t, in_n + 64);
      qout = g_new (uint8_t, out_n + 64);
      for (size_t i = 0; i < in_n; i++)
        {
          qin[i] = (uint8_t) g_random_int_range (0, 256);
          fin[i] = qin[i] / 255.0f;
        }
      tf = time_layer (model, NULL, li, fin, fout, quick ? 0.05 : 0.3);
      tq = time_layer (model, quantized, li, qin, qout, quick ? 0.05 : 0.3);
      gmac = (double) info.macs * BATCH / 1e9;
      g_snprintf (shape, sizeof shape, "%dx%dx%d->%dx%dx%d", info.in_h, info.in_w, info.in_c,
                  info.out_h, info.out_w, info.out_c);
      printf ("%-18s %-16s %-22s %10.3f %10.1f %10.1f %6.2fx\n", info.name, qs_layer_kind_to_string (info.kind),
              shape, info.macs / 1e6, gmac / tf, gmac / tq, tf / tq);
      if (info.kind == QS_LAYER_CONV2D || info.kind == QS_LAYER_DEPTHWISE_CONV2D)
        {
          conv_fp32_time += tf;
          conv_int_time += tq;
        }
      g_free (fin);
      g_free (fout);
      g_free (qin);
      g_free (qout);
    }

  {
    const QsEngineDataset *data = qs_dataset_get_view (test);
    int repeats = quick ? 1 : 3;

    fp32_1 = images_per_second (model, NULL, data, 1, repeats);
    fp32_2 = images_per_second (model, NULL, data, 2, repeats);
    int_1 = images_per_second (model, quantized, data, 1, repeats);
    int_2 = images_per_second (model, quantized, data, 2, repeats);
    full_2 = data->count / int_2;
    printf ("\nWhole model, %zu images (%.2f MMAC each), images/s:\n", data->count,
            qs_engine_model_get_macs (model) / 1e6);
    printf ("  fp32  1 thread %8.0f   2 threads %8.0f\n", fp32_1, fp32_2);
    printf ("  int8  1 thread %8.0f   2 threads %8.0f\n", int_1, int_2);
  }

  printf ("\nTargets:\n");
  printf ("  int8 >= 3x fp32 on the convolutions: %.2fx  %s\n", conv_fp32_time / conv_int_time,
          conv_fp32_time / conv_int_time >= 3.0 ? "met" : "MISSED");
  printf ("  int8 >= 3x fp32, whole model, 2 threads: %.2fx  %s\n", int_2 / fp32_2,
          int_2 / fp32_2 >= 3.0 ? "met" : "MISSED");
  printf ("  10,000 images int8 on 2 threads < 1 s: %.3f s  %s\n", full_2,
          full_2 < 1.0 ? "met" : "MISSED");

  g_free (schemes);
  qs_quantized_model_free (quantized);
  qs_engine_model_free (model);
  return 0;
}
