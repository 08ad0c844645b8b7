/* bench-forward-int8.c: a Keras model's int8 images/s and user cycles, the integer path alone.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Usage: bench-forward-int8 MODEL.h5 IMAGES.h5 CALIB.h5 [COUNT [THREADS [REPEATS [CALIB_COUNT [FORMAT]]]]]
 *
 * Calibrates on CALIB_COUNT images (default 8) and quantizes with the
 * default scheme (or its weights in FORMAT, a --format name such as
 * mxfp6-e3m2) outside the measurement, then runs qs_engine_predict on
 * the integer path over the first COUNT images (default 64) on THREADS
 * threads (default 2), REPEATS times (default 3), and prints per round the
 * wall time, images/s and the CPU time of the whole process (all threads,
 * around the round only, so calibration does not count), and the user
 * cycles where the CPU exposes hardware counters (a virtual machine often
 * does not): on a busy machine CPU time and cycles are the figures to
 * compare between two builds. It also prints a checksum of the
 * first four images' int8 logits (qs_engine_forward, one batch), which a
 * kernel change must keep.
 */
#include <linux/perf_event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>

#include "engine/qs-engine.h"
#include "model/qs-dataset.h"
#include "model/qs-keras-model.h"

/* User-mode cycles of this process and the threads it starts from now on,
 * or -1 where perf events are not allowed. */
static int
open_cycles (void)
{
  struct perf_event_attr attr;

  memset (&attr, 0, sizeof attr);
  attr.type = PERF_TYPE_HARDWARE;
  attr.size = sizeof attr;
  attr.config = PERF_COUNT_HW_CPU_CYCLES;
  attr.disabled = 1;
  attr.inherit = 1;
  attr.exclude_kernel = 1;
  attr.exclude_hv = 1;
  return (int) syscall (SYS_perf_event_open, &attr, 0, -1, -1, 0);
}

static double
cpu_seconds (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double) ts.tv_sec + (double) ts.tv_nsec * 1e-9;
}

static uint64_t
fnv1a (const void *data,
       size_t      size,
       uint64_t    h)
{
  const uint8_t *p = data;

  for (size_t i = 0; i < size; i++)
    h = (h ^ p[i]) * 1099511628211u;
  return h;
}

int
main (int    argc,
      char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (QsWeightFile) file = NULL;
  g_autoptr (QsDataset) images = NULL;
  g_autoptr (QsDataset) calib = NULL;
  QsEngineModel *model = NULL;
  QsCalibration *cal = NULL;
  QsQuantizedModel *q = NULL;
  QsEngineDataset data, calib_view;
  QsEngineRunOptions options;
  QsActivationScheme act;
  QsScheme scheme;
  const QsScheme **schemes;
  size_t n_weighted, count, calib_count, n_out, image_size, scratch_size, check = 4;
  int threads, repeats, fd;
  int32_t *predictions;
  float *logits;
  void *scratch;
  char message[512];

  if (argc < 4)
    {
      fprintf (stderr, "usage: bench-forward-int8 MODEL.h5 IMAGES.h5 CALIB.h5 "
                       "[COUNT [THREADS [REPEATS [CALIB_COUNT [FORMAT]]]]]\n");
      return 2;
    }
  file = qs_weight_file_open (argv[1], &error);
  if (file == NULL || (model = qs_keras_model_load (file, &error)) == NULL
      || (images = qs_dataset_load (argv[2], &error)) == NULL
      || (calib = qs_dataset_load (argv[3], &error)) == NULL)
    {
      fprintf (stderr, "bench-forward-int8: %s\n", error->message);
      qs_engine_model_free (model);
      return 2;
    }
  data = *qs_dataset_get_view (images);
  calib_view = *qs_dataset_get_view (calib);
  count = argc > 4 && atoi (argv[4]) > 0 ? MIN ((size_t) atoi (argv[4]), data.count) : MIN (64, data.count);
  threads = argc > 5 ? MAX (atoi (argv[5]), 1) : 2;
  repeats = argc > 6 ? MAX (atoi (argv[6]), 1) : 3;
  calib_count = argc > 7 && atoi (argv[7]) > 0 ? MIN ((size_t) atoi (argv[7]), calib_view.count)
                                                : MIN (8, calib_view.count);
  calib_view.count = calib_count;

  n_weighted = qs_engine_model_get_n_weighted (model);
  qs_scheme_init_default (&scheme);
  if (argc > 8 && !qs_format_parse (argv[8], &scheme.format))
    {
      fprintf (stderr, "bench-forward-int8: unknown format %s\n", argv[8]);
      return 2;
    }
  schemes = g_new (const QsScheme *, MAX (n_weighted, 1));
  for (size_t i = 0; i < n_weighted; i++)
    schemes[i] = &scheme;
  qs_engine_run_options_init (&options);
  options.n_threads = threads;
  qs_activation_scheme_init_default (&act);
  if (qs_engine_calibrate (model, &act, &calib_view, calib_count, &options, &cal, message, sizeof message)
        != QS_ENGINE_OK
      || qs_engine_quantize_calibrated (cal, schemes, n_weighted, false, &options, &q, message, sizeof message)
           != QS_ENGINE_OK)
    {
      fprintf (stderr, "bench-forward-int8: %s\n", message);
      return 1;
    }

  /* The checksum: the first images' logits in one batch on this thread. */
  check = MIN (check, data.count);
  n_out = qs_engine_model_get_n_outputs (model);
  image_size = (size_t) data.height * data.width * data.channels;
  scratch_size = qs_engine_get_buffer_size (model, q, check);
  scratch = g_malloc (scratch_size);
  logits = g_new (float, check * n_out);
  if (qs_engine_forward (model, q, data.images, check, scratch, scratch_size, logits) != QS_ENGINE_OK)
    {
      fprintf (stderr, "bench-forward-int8: forward failed\n");
      return 1;
    }
  printf ("%s: %s kernels, %zu images, %d threads, calibrated on %zu; logits checksum %016llx\n", argv[1],
          qs_quantized_model_get_kernel_name (q), count, threads, calib_count,
          (unsigned long long) fnv1a (logits, check * n_out * sizeof (float), 14695981039346656037u));
  (void) image_size;
  g_free (logits);
  g_free (scratch);

  predictions = g_new (int32_t, count);
  fd = open_cycles ();
  for (int r = 0; r < repeats; r++)
    {
      uint64_t cycles = 0;
      double t0, c0, seconds, cpu;

      if (fd >= 0)
        {
          ioctl (fd, PERF_EVENT_IOC_RESET, 0);
          ioctl (fd, PERF_EVENT_IOC_ENABLE, 0);
        }
      t0 = g_get_monotonic_time () / 1e6;
      c0 = cpu_seconds ();
      if (qs_engine_predict (model, q, &data, 0, count, &options, predictions) != QS_ENGINE_OK)
        {
          fprintf (stderr, "bench-forward-int8: predict failed\n");
          return 1;
        }
      seconds = g_get_monotonic_time () / 1e6 - t0;
      cpu = cpu_seconds () - c0;
      if (fd >= 0)
        {
          ioctl (fd, PERF_EVENT_IOC_DISABLE, 0);
          if (read (fd, &cycles, sizeof cycles) != sizeof cycles)
            cycles = 0;
        }
      printf ("round %d: %.3f s, %.1f images/s, %.2f ms CPU per image", r, seconds, count / seconds,
              cpu * 1e3 / count);
      if (cycles > 0)
        printf (", %.2f Mcycles:u per image", cycles / 1e6 / count);
      printf ("\n");
      fflush (stdout);
    }
  if (fd >= 0)
    close (fd);
  g_free (predictions);
  g_free (schemes);
  qs_quantized_model_free (q);
  qs_calibration_free (cal);
  qs_engine_model_free (model);
  return 0;
}
