/* bench-calibration.c: calibration against one float32 pass over the same images.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Usage: bench-calibration [MODEL.h5 [IMAGES [COUNT [THREADS [REPEATS [ONLY]]]]]]
 *
 * Defaults: the demo model, the bundled calibration slice (1,000 images),
 * all of them, 2 threads, 3 repeats. IMAGES is what `eval --data` reads
 * (idx, or HDF5 x / y: bench/torchvision_to_keras.py's calib.h5 for the
 * graph models). Best of REPEATS, each figure on the same COUNT images:
 *
 *   fp32 pass       qs_engine_predict on the float32 path
 *   calibration     qs_engine_calibrate, minmax ranges (the default) and
 *                   percentile:99.99 (which needs a second pass)
 *   output SQNR     qs_engine_quantize_calibrated with the per-layer output
 *                   SQNR, less the same without it (int8 per channel)
 *
 * and the ratios to the fp32 pass (issue 9's target: calibration at most
 * 1.2x). ONLY, fp32 or minmax, runs that one alone, so that
 * `perf stat -e cycles:u` counts it by itself (on a busy machine). Run it on a quiet machine; on a busy one it only shows that
 * everything runs.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <glib.h>

#include "engine/qs-engine.h"
#include "model/qs-dataset.h"
#include "model/qs-keras-model.h"

typedef struct {
  const QsEngineModel   *model;
  const QsEngineDataset *data;
  QsEngineRunOptions     options;
  QsActivationScheme     act;
  const QsScheme *const *schemes;
  size_t                 n_schemes;
  int                    what;  /* 0 fp32, 1 calibration, 2 quantize without SQNR, 3 with */
} Run;

static double
once (const Run *run)
{
  double t0 = g_get_monotonic_time () / 1e6;
  QsCalibration *cal = NULL;
  QsQuantizedModel *q = NULL;
  QsEngineStatus status = QS_ENGINE_OK;
  int32_t *predictions;

  switch (run->what)
    {
    case 0:
      predictions = g_new (int32_t, run->data->count);
      status = qs_engine_predict (run->model, NULL, run->data, 0, run->data->count, &run->options, predictions);
      g_free (predictions);
      break;
    case 1:
      status = qs_engine_calibrate (run->model, &run->act, run->data, 0, &run->options, &cal, NULL, 0);
      break;
    default:
      /* Calibrated outside the clock: only quantizing is timed. */
      status = qs_engine_calibrate (run->model, &run->act, run->data, 0, &run->options, &cal, NULL, 0);
      t0 = g_get_monotonic_time () / 1e6;
      if (status == QS_ENGINE_OK)
        status = qs_engine_quantize_calibrated (cal, run->schemes, run->n_schemes, run->what == 3,
                                                &run->options, &q, NULL, 0);
      break;
    }
  t0 = g_get_monotonic_time () / 1e6 - t0;
  qs_quantized_model_free (q);
  qs_calibration_free (cal);
  if (status != QS_ENGINE_OK)
    {
      fprintf (stderr, "bench-calibration: %s\n", qs_engine_status_to_string (status));
      exit (1);
    }
  return t0;
}

static double
best_of (const Run *run,
         int        repeats)
{
  double best = INFINITY;

  for (int r = 0; r < repeats; r++)
    best = MIN (best, once (run));
  return best;
}

int
main (int    argc,
      char **argv)
{
  const char *model_path = argc > 1 ? argv[1] : SOURCE_ROOT "/data/models/fashion-cnn.h5";
  g_autoptr(GError) error = NULL;
  g_autoptr(QsWeightFile) file = NULL;
  g_autoptr(QsDataset) images = NULL;
  QsEngineModel *model = NULL;
  QsEngineDataset data;
  QsScheme scheme;
  const QsScheme **schemes;
  size_t n_weighted, count;
  int threads = argc > 4 ? atoi (argv[4]) : 2, repeats = argc > 5 ? atoi (argv[5]) : 3;
  double fp32, minmax, percentile, quantize, with_sqnr;
  Run run = { 0 };

  file = qs_weight_file_open (model_path, &error);
  if (file == NULL || (model = qs_keras_model_load (file, &error)) == NULL)
    {
      fprintf (stderr, "bench-calibration: %s\n", error->message);
      return 2;
    }
  images = argc > 2 ? qs_dataset_load (argv[2], &error) : qs_dataset_load_bundled_calibration (&error);
  if (images == NULL)
    {
      fprintf (stderr, "bench-calibration: %s\n", error->message);
      qs_engine_model_free (model);
      return 2;
    }
  data = *qs_dataset_get_view (images);
  count = argc > 3 && atoi (argv[3]) > 0 ? MIN ((size_t) atoi (argv[3]), data.count) : data.count;
  data.count = count;
  repeats = MAX (repeats, 1);

  n_weighted = qs_engine_model_get_n_weighted (model);
  qs_scheme_init_default (&scheme);
  schemes = g_new (const QsScheme *, MAX (n_weighted, 1));
  for (size_t i = 0; i < n_weighted; i++)
    schemes[i] = &scheme;

  run.model = model;
  run.data = &data;
  qs_engine_run_options_init (&run.options);
  run.options.n_threads = threads;
  qs_activation_scheme_init_default (&run.act);
  run.schemes = schemes;
  run.n_schemes = n_weighted;

  printf ("%s: %zu images, %d threads, best of %d; working memory per thread %.1f MiB "
          "(float32 pass %.1f MiB)\n", model_path, count, threads, repeats,
          qs_engine_get_working_size (model) / 1048576.0, qs_engine_get_buffer_size (model, NULL, 16) / 1048576.0);
  fflush (stdout);
  if (argc > 6)
    {
      run.what = g_strcmp0 (argv[6], "fp32") == 0 ? 0 : 1;
      printf ("%s: %.3f s\n", run.what == 0 ? "fp32 pass" : "calibration, minmax", best_of (&run, repeats));
      g_free (schemes);
      qs_engine_model_free (model);
      return 0;
    }
  run.what = 0;
  fp32 = best_of (&run, repeats);
  run.what = 1;
  minmax = best_of (&run, repeats);
  run.act.range_method = QS_RANGE_PERCENTILE;
  percentile = best_of (&run, repeats);
  run.act.range_method = QS_RANGE_MINMAX;
  run.what = 2;
  quantize = best_of (&run, repeats);
  run.what = 3;
  with_sqnr = best_of (&run, repeats);

  printf ("%-28s %10s %12s %10s\n", "", "seconds", "images/s", "x fp32");
  printf ("%-28s %10.3f %12.1f %10.2f\n", "fp32 pass", fp32, count / fp32, 1.0);
  printf ("%-28s %10.3f %12.1f %10.2f   (target <= 1.2)\n", "calibration, minmax", minmax, count / minmax,
          minmax / fp32);
  printf ("%-28s %10.3f %12.1f %10.2f\n", "calibration, percentile", percentile, count / percentile,
          percentile / fp32);
  printf ("%-28s %10.3f %12s %10.2f\n", "quantize (weights only)", quantize, "", quantize / fp32);
  printf ("%-28s %10.3f %12s %10.2f\n", "output SQNR, when asked", MAX (with_sqnr - quantize, 0.0), "",
          MAX (with_sqnr - quantize, 0.0) / fp32);

  g_free (schemes);
  qs_engine_model_free (model);
  return 0;
}
