/* bench-fused-pass.c: ns/element of the range pass plus the fused quantize/metrics/histogram pass.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Usage: bench-fused-pass [COUNT] [REPEATS] [FORMAT [GROUP_SIZE [BITS [CHANNELS]]]]
 * FORMAT (default int) is any --format name; a GROUP_SIZE above 0 makes an
 * int scheme group-wise and overrides a block format's block size; BITS
 * (default 8) for int; CHANNELS above 0 lays the data out channels-last
 * (a Keras Dense kernel of COUNT / CHANNELS rows), so blocks are strided.
 * Draws COUNT (default 25,000,000) float32 weights from N(0, 0.05) with a
 * fixed seed and times qs_analyze (range pass, min/max range, params, fused
 * pass) on 1 and 2 threads, best of REPEATS. Prints one line per thread
 * count, and the codes' checksum so the work cannot be optimised away.
 * With a FORMAT, it then times that scheme and the default int8
 * per-tensor scheme alternately on one thread and prints the ratio of
 * their best times, in CPU time of the thread and in wall time: on a busy
 * machine the ratio holds where the times do not. It also times the pass
 * a change of scheme costs in the app, which keeps the tensor's range
 * statistics in a QsRangeMemo (one thread, best of REPEATS), and with a
 * FORMAT that ratio for changes too.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "quant/qs-analysis.h"

/* Seconds on @clock: CLOCK_MONOTONIC, or the thread's CPU time. */
static double
clock_seconds (clockid_t clock)
{
  struct timespec ts;
  clock_gettime (clock, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* One qs_analyze on one thread: its wall and CPU seconds. */
static QsStatus
time_one_thread (const QsScheme        *scheme,
                 const QsChannelLayout *layout,
                 const float           *data,
                 double                *wall,
                 double                *cpu)
{
  QsQuantParams params;
  QsAnalysis analysis;
  double t0 = clock_seconds (CLOCK_MONOTONIC), c0 = clock_seconds (CLOCK_THREAD_CPUTIME_ID);
  QsStatus status = qs_analyze (scheme, layout, data, 1, &params, &analysis);

  *cpu = clock_seconds (CLOCK_THREAD_CPUTIME_ID) - c0;
  *wall = clock_seconds (CLOCK_MONOTONIC) - t0;
  if (status == QS_OK)
    {
      qs_quant_params_clear (&params);
      qs_analysis_clear (&analysis);
    }
  return status;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static double
uniform01 (void)
{
  /* xorshift64*: fast and plenty for benchmark data. */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return ((rng_state * 2685821657736338717ull) >> 11) * (1.0 / 9007199254740992.0);
}

static void
fill_normal (float *v, size_t n, double sigma)
{
  for (size_t i = 0; i + 1 < n; i += 2)
    {
      double u1 = uniform01 () + 1e-300, u2 = uniform01 ();
      double r = sqrt (-2.0 * log (u1)) * sigma;
      v[i] = (float) (r * cos (2.0 * M_PI * u2));
      v[i + 1] = (float) (r * sin (2.0 * M_PI * u2));
    }
  if (n % 2)
    v[n - 1] = 0.0f;
}

int
main (int argc, char **argv)
{
  size_t count = argc > 1 ? strtoull (argv[1], NULL, 10) : 25000000;
  int repeats = argc > 2 ? atoi (argv[2]) : 5;
  float *data = malloc (count * sizeof (float));
  QsScheme scheme;
  QsChannelLayout layout = qs_channel_layout_per_tensor (count);
  double best[3] = { 0 };

  if (data == NULL || count == 0 || repeats < 1)
    {
      fprintf (stderr, "bench-fused-pass: bad arguments or out of memory\n");
      return 2;
    }
  fill_normal (data, count, 0.05);
  /* Per tensor, as the figures in RESULTS.md were measured. */
  qs_scheme_init_per_tensor (&scheme);
  if (argc > 3 && !qs_format_parse (argv[3], &scheme.format))
    {
      fprintf (stderr, "bench-fused-pass: unknown format %s\n", argv[3]);
      return 2;
    }
  if (argc > 4 && (scheme.group_size = atoi (argv[4])) > 0 && scheme.format == QS_FORMAT_INT)
    scheme.granularity = QS_GRANULARITY_GROUP;
  if (argc > 5)
    scheme.bits = atoi (argv[5]);
  if (argc > 6 && atoi (argv[6]) > 0 && count % (size_t) atoi (argv[6]) == 0)
    {
      layout.channels = (size_t) atoi (argv[6]);
      layout.outer = count / layout.channels;
      layout.inner = 1;
    }
  printf ("# scheme: format=%s granularity=%s group_size=%zu bits=%d channels=%zu\n",
          qs_format_to_string (scheme.format), qs_granularity_to_string (scheme.granularity),
          qs_scheme_block_size (&scheme), scheme.bits, layout.channels);

  for (int threads = 1; threads <= 2; threads++)
    {
      best[threads] = INFINITY;
      for (int r = 0; r < repeats; r++)
        {
          QsQuantParams params;
          QsAnalysis analysis;
          double t0 = clock_seconds (CLOCK_MONOTONIC), elapsed;
          QsStatus status = qs_analyze (&scheme, &layout, data, threads, &params, &analysis);
          elapsed = clock_seconds (CLOCK_MONOTONIC) - t0;
          if (status != QS_OK)
            {
              fprintf (stderr, "bench-fused-pass: %s\n", qs_status_to_string (status));
              return 1;
            }
          if (elapsed < best[threads])
            best[threads] = elapsed;
          if (r == 0 && threads == 1)
            printf ("# scale=%.9g zero_point=%g sqnr_db=%.4f levels_used=%llu bits_per_weight=%.4f\n",
                    params.scale[0], params.zero_point[0], analysis.sqnr_db,
                    (unsigned long long) analysis.levels_used, analysis.bits_per_weight);
          qs_quant_params_clear (&params);
          qs_analysis_clear (&analysis);
        }
      printf ("quantscope threads=%d elements=%zu best_seconds=%.4f ns_per_element=%.3f\n",
              threads, count, best[threads], best[threads] * 1e9 / count);
    }
  printf ("quantscope scaling_2_threads=%.2fx\n", best[1] / best[2]);

    {
      QsRangeMemo memo = { 0 };
      double change = INFINITY;

      for (int r = 0; r <= repeats; r++)
        {
          QsQuantParams params;
          QsAnalysis analysis;
          double t0 = clock_seconds (CLOCK_MONOTONIC), elapsed;
          QsStatus status = qs_analyze_remembering (&scheme, &layout, data, 1, NULL, &memo, &params, &analysis);
          elapsed = clock_seconds (CLOCK_MONOTONIC) - t0;
          if (status != QS_OK)
            {
              fprintf (stderr, "bench-fused-pass: %s\n", qs_status_to_string (status));
              return 1;
            }
          /* The first run fills the memo, as the first view of a tensor does. */
          if (r > 0 && elapsed < change)
            change = elapsed;
          qs_quant_params_clear (&params);
          qs_analysis_clear (&analysis);
        }
      qs_range_memo_clear (&memo);
      printf ("quantscope per_change threads=1 elements=%zu best_seconds=%.4f ns_per_element=%.3f "
              "(range statistics kept between schemes, as the app keeps them)\n",
              count, change, change * 1e9 / count);
    }

  if (argc > 3)
    {
      QsScheme reference;
      QsChannelLayout flat = qs_channel_layout_per_tensor (count);
      double wall[2] = { INFINITY, INFINITY }, cpu[2] = { INFINITY, INFINITY };

      qs_scheme_init_per_tensor (&reference);
      for (int r = 0; r < repeats; r++)
        for (int which = 0; which < 2; which++)
          {
            double w, c;
            QsStatus status = which == 0 ? time_one_thread (&scheme, &layout, data, &w, &c)
                                         : time_one_thread (&reference, &flat, data, &w, &c);
            if (status != QS_OK)
              {
                fprintf (stderr, "bench-fused-pass: %s\n", qs_status_to_string (status));
                return 1;
              }
            wall[which] = w < wall[which] ? w : wall[which];
            cpu[which] = c < cpu[which] ? c : cpu[which];
          }
      printf ("against int8 per-tensor, one thread, alternating: cpu_ns %.3f / %.3f = %.2fx, "
              "wall_ns %.3f / %.3f = %.2fx\n",
              cpu[0] * 1e9 / count, cpu[1] * 1e9 / count, cpu[0] / cpu[1],
              wall[0] * 1e9 / count, wall[1] * 1e9 / count, wall[0] / wall[1]);

      {
        QsRangeMemo memos[2];
        double change[2] = { INFINITY, INFINITY };

        memset (memos, 0, sizeof memos);

        for (int r = 0; r <= repeats; r++)
          for (int which = 0; which < 2; which++)
            {
              QsQuantParams params;
              QsAnalysis analysis;
              double c0 = clock_seconds (CLOCK_THREAD_CPUTIME_ID), c;
              QsStatus status = qs_analyze_remembering (which == 0 ? &scheme : &reference, which == 0 ? &layout : &flat,
                                                        data, 1, NULL, &memos[which], &params, &analysis);
              c = clock_seconds (CLOCK_THREAD_CPUTIME_ID) - c0;
              if (status != QS_OK)
                {
                  fprintf (stderr, "bench-fused-pass: %s\n", qs_status_to_string (status));
                  return 1;
                }
              if (r > 0 && c < change[which])
                change[which] = c;
              qs_quant_params_clear (&params);
              qs_analysis_clear (&analysis);
            }
        qs_range_memo_clear (&memos[0]);
        qs_range_memo_clear (&memos[1]);
        printf ("per change (range statistics kept), alternating: cpu_ns %.3f / %.3f = %.2fx\n",
                change[0] * 1e9 / count, change[1] * 1e9 / count, change[0] / change[1]);
      }
    }
  free (data);
  return 0;
}
