/* bench-layer-int8.c: one layer of a model on the integer path, one thread, for CPU-time comparisons of two builds.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Usage: bench-layer-int8 LAYER [ROUNDS [BATCH [MODEL.h5 CALIB.h5]]]
 *
 * Quantizes MODEL (default: the demo model, calibrated on the bundled
 * calibration images; else on the first 8 images of CALIB.h5) with the
 * default scheme, then runs the layer named LAYER on BATCH random input
 * codes (default 256) ROUNDS times (default 200) through
 * qs_engine_run_layer and prints its GMAC/s and a checksum of its output
 * codes, which a kernel change must keep. On a busy machine compare the
 * user CPU time of whole runs (`/usr/bin/time -f %U`), old and new
 * alternating.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "engine/qs-engine.h"
#include "model/qs-dataset.h"
#include "model/qs-keras-model.h"

int
main (int    argc,
      char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QsWeightFile) file = NULL;
  g_autoptr(QsDataset) calib = NULL;
  g_autofree char *default_path = NULL;
  g_autofree const QsScheme **schemes = NULL;
  g_autofree uint8_t *in = NULL;
  g_autofree uint8_t *out = NULL;
  g_autofree void *scratch = NULL;
  const char *path;
  size_t batch;
  QsEngineModel *model;
  QsQuantizedModel *quantized = NULL;
  QsScheme scheme;
  QsActivationScheme act;
  QsLayerInfo info = { 0 };
  char message[256];
  size_t layer = SIZE_MAX, in_n, out_n, size, n_weighted;
  int rounds;
  double t0, seconds;
  guint32 checksum = 2166136261u;

  if (argc < 2)
    {
      fprintf (stderr, "usage: bench-layer-int8 LAYER [ROUNDS [BATCH [MODEL.h5 CALIB.h5]]]\n");
      return 2;
    }
  rounds = argc > 2 ? atoi (argv[2]) : 200;
  batch = argc > 3 && atoi (argv[3]) > 0 ? (size_t) atoi (argv[3]) : 256;
  default_path = g_build_filename (SOURCE_ROOT, "data", "models", "fashion-cnn.h5", NULL);
  path = argc > 5 ? argv[4] : default_path;
  file = qs_weight_file_open (path, &error);
  if (file == NULL || (model = qs_keras_model_load (file, &error)) == NULL
      || (calib = argc > 5 ? qs_dataset_load (argv[5], &error)
                           : qs_dataset_load_bundled_calibration (&error)) == NULL)
    {
      fprintf (stderr, "bench-layer-int8: %s\n", error->message);
      return 1;
    }
  for (size_t li = 0; li < qs_engine_model_get_n_layers (model) && layer == SIZE_MAX; li++)
    {
      qs_engine_model_get_layer (model, li, &info);
      if (strcmp (info.name, argv[1]) == 0)
        layer = li;
    }
  if (layer == SIZE_MAX || rounds < 1)
    {
      fprintf (stderr, "bench-layer-int8: no layer %s in %s\n", argv[1], path);
      return 2;
    }

  qs_scheme_init_default (&scheme);
  n_weighted = qs_engine_model_get_n_weighted (model);
  schemes = g_new (const QsScheme *, n_weighted);
  for (size_t i = 0; i < n_weighted; i++)
    schemes[i] = &scheme;
  qs_activation_scheme_init_default (&act);
  if (qs_engine_prepare_quantized (model, schemes, n_weighted, &act, qs_dataset_get_view (calib),
                                   argc > 5 ? 8 : 1000,
                                   NULL, &quantized, message, sizeof message) != QS_ENGINE_OK)
    {
      fprintf (stderr, "bench-layer-int8: %s\n", message);
      return 1;
    }

  in_n = batch * info.in_h * info.in_w * info.in_c;
  out_n = batch * info.out_h * info.out_w * info.out_c;
  in = g_new (uint8_t, in_n + 64);
  out = g_new (uint8_t, out_n + 64);
  g_random_set_seed (1);
  for (size_t i = 0; i < in_n; i++)
    in[i] = (uint8_t) g_random_int_range (0, 256);
  size = qs_engine_get_buffer_size (model, quantized, batch);
  scratch = g_malloc (size);

  t0 = g_get_monotonic_time () / 1e6;
  for (int r = 0; r < rounds; r++)
    qs_engine_run_layer (model, quantized, layer, in, batch, scratch, size, out);
  seconds = g_get_monotonic_time () / 1e6 - t0;
  for (size_t i = 0; i < out_n; i++)
    checksum = (checksum ^ out[i]) * 16777619u;
  printf ("%s (%s kernels): %d rounds of %zu images, %.1f GMAC/s wall, output checksum %08x\n",
          info.name, qs_quantized_model_get_kernel_name (quantized), rounds, batch,
          (double) info.macs * batch * rounds / 1e9 / seconds, checksum);
  qs_quantized_model_free (quantized);
  qs_engine_model_free (model);
  return 0;
}
