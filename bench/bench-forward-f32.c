/* bench-forward-f32.c: a Keras model's float32 logits and images/s, batch by batch on one thread.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Usage: bench-forward-f32 MODEL.h5 IMAGES.h5 COUNT BATCH [LOGITS.f32 [THREADS]]
 * Runs the first COUNT images through qs_engine_forward in batches of
 * BATCH on the calling thread, prints images/s and the kernel set, and
 * writes the logits (COUNT x n_outputs native floats) to LOGITS.f32 ("-"
 * for none), so two kernel sets (QS_FORCE_ISA=avx2 against the default)
 * can be compared output by output. With THREADS, the same images again
 * through qs_engine_predict, BATCH images a call on THREADS threads (a
 * batch of 1 is the app's single-image case), with its images/s and
 * whether its predictions are the logits' argmax.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <glib.h>

#include "engine/qs-engine.h"
#include "model/qs-dataset.h"
#include "model/qs-keras-model.h"
#include "model/qs-weight-file.h"

static double
now_seconds (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int
main (int    argc,
      char **argv)
{
  g_autoptr (GError) error = NULL;
  QsWeightFile *file;
  QsEngineModel *model;
  QsDataset *data;
  const QsEngineDataset *view;
  size_t count, batch, n_out, image_size, scratch_size;
  float *logits;
  void *scratch;
  double t0, elapsed;

  if (argc < 5)
    {
      fprintf (stderr, "usage: bench-forward-f32 MODEL.h5 IMAGES.h5 COUNT BATCH [LOGITS.f32]\n");
      return 2;
    }
  file = qs_weight_file_open (argv[1], &error);
  model = file != NULL ? qs_keras_model_load (file, &error) : NULL;
  data = model != NULL ? qs_dataset_load (argv[2], &error) : NULL;
  if (data == NULL)
    {
      fprintf (stderr, "bench-forward-f32: %s\n", error->message);
      return 2;
    }
  view = qs_dataset_get_view (data);
  count = strtoul (argv[3], NULL, 10);
  batch = strtoul (argv[4], NULL, 10);
  if (count > view->count)
    count = view->count;
  if (batch == 0 || count == 0)
    return 2;
  n_out = qs_engine_model_get_n_outputs (model);
  image_size = (size_t) view->height * view->width * view->channels;
  scratch_size = qs_engine_get_buffer_size (model, NULL, batch);
  scratch = malloc (scratch_size);
  logits = malloc (count * n_out * sizeof (float));
  if (scratch == NULL || logits == NULL)
    return 1;

  t0 = now_seconds ();
  for (size_t first = 0; first < count; first += batch)
    {
      size_t b = count - first < batch ? count - first : batch;
      QsEngineStatus status = qs_engine_forward (model, NULL, view->images + first * image_size, b,
                                                 scratch, scratch_size, logits + first * n_out);

      if (status != QS_ENGINE_OK)
        {
          fprintf (stderr, "bench-forward-f32: %s\n", qs_engine_status_to_string (status));
          return 1;
        }
    }
  elapsed = now_seconds () - t0;
  printf ("%s: %zu images in batches of %zu, %.2f images/s\n", qs_engine_kernel_name (), count, batch,
          (double) count / elapsed);
  if (argc > 5 && strcmp (argv[5], "-") != 0)
    {
      FILE *out = fopen (argv[5], "wb");

      if (out == NULL || fwrite (logits, sizeof (float), count * n_out, out) != count * n_out)
        return 1;
      fclose (out);
    }
  if (argc > 6)
    {
      QsEngineRunOptions options;
      int32_t *predictions = malloc (count * sizeof (int32_t));
      size_t agree = 0;

      if (predictions == NULL)
        return 1;
      qs_engine_run_options_init (&options);
      options.n_threads = atoi (argv[6]);
      t0 = now_seconds ();
      for (size_t first = 0; first < count; first += batch)
        {
          size_t b = count - first < batch ? count - first : batch;

          if (qs_engine_predict (model, NULL, view, first, b, &options, predictions + first) != QS_ENGINE_OK)
            return 1;
        }
      elapsed = now_seconds () - t0;
      for (size_t i = 0; i < count; i++)
        {
          const float *row = logits + i * n_out;
          size_t best = 0;

          for (size_t j = 1; j < n_out; j++)
            best = row[j] > row[best] ? j : best;
          agree += (size_t) predictions[i] == best;
        }
      printf ("predict on %d threads, %zu images a call: %.2f images/s, %zu of %zu predictions are the argmax\n",
              options.n_threads, batch, (double) count / elapsed, agree, count);
      free (predictions);
    }
  free (scratch);
  free (logits);
  qs_dataset_unref (data);
  qs_engine_model_free (model);
  g_object_unref (file);
  return 0;
}
