/* bench-fma-peak.c: the CPU's peak float32 FMA and int8 VNNI multiply-adds per second per core.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Usage: bench-fma-peak [SECONDS [THREADS]]  (default 1 s, 1 thread)
 * Each thread runs chains of independent register accumulators (more
 * than the instruction's latency times its throughput, so the pipes
 * never wait) and counts its own CPU time, not the wall clock: on a
 * shared machine the figure is what a core does while it runs. A
 * bound for a workload is its multiply-adds over the rate times the
 * cores (bench/sensitivity_macs.py). Prints one line per instruction.
 */
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define ACCUMULATORS 12
#define INNER 1000

static double
thread_seconds (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Multiply-adds of one INNER round of @name's loop. */
typedef double (*RoundFunc) (size_t rounds, float *sink);

#define FMA_ROUNDS(name, isa, vec, set1, fma, add, width)              \
  __attribute__ ((target (isa))) static double                          \
  name (size_t rounds, float *sink)                                         \
  {                                                                         \
    vec acc[ACCUMULATORS], a = set1 (1.0000001f), b = set1 (0.9999999f);   \
                                                                            \
    for (int i = 0; i < ACCUMULATORS; i++)                                  \
      acc[i] = set1 ((float) i);                                            \
    for (size_t r = 0; r < rounds; r++)                                     \
      for (int j = 0; j < INNER; j++)                                       \
        {                                                                   \
          /* An empty asm keeps a, b opaque: no folding across rounds. */   \
          __asm__ ("" : "+v"(a), "+v"(b));                                  \
          _Pragma ("GCC unroll 16")                                         \
          for (int i = 0; i < ACCUMULATORS; i++)                            \
            acc[i] = fma (a, acc[i], b);                                    \
        }                                                                   \
    for (int i = 1; i < ACCUMULATORS; i++)                                  \
      acc[0] = add (acc[0], acc[i]);                                        \
    *sink += ((float *) &acc[0])[0];                                        \
    return (double) rounds * INNER * ACCUMULATORS * (width);               \
  }

FMA_ROUNDS (fma_avx2, "avx2,fma", __m256, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_add_ps, 8)
FMA_ROUNDS (fma_avx512, "avx512f", __m512, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_add_ps, 16)

/* vpdpbusd: 64 u8 x s8 products into 16 int32 sums per instruction. */
__attribute__ ((target ("avx512f,avx512vnni"))) static double
vnni_avx512 (size_t rounds,
             float *sink)
{
  __m512i acc[ACCUMULATORS], a = _mm512_set1_epi8 (3), b = _mm512_set1_epi8 (-2);

  for (int i = 0; i < ACCUMULATORS; i++)
    acc[i] = _mm512_set1_epi32 (i);
  for (size_t r = 0; r < rounds; r++)
    for (int j = 0; j < INNER; j++)
      {
        __asm__ ("" : "+v"(a), "+v"(b));
#pragma GCC unroll 16
        for (int i = 0; i < ACCUMULATORS; i++)
          acc[i] = _mm512_dpbusd_epi32 (acc[i], a, b);
      }
  for (int i = 1; i < ACCUMULATORS; i++)
    acc[0] = _mm512_add_epi32 (acc[0], acc[i]);
  *sink += (float) _mm512_reduce_add_epi32 (acc[0]);
  return (double) rounds * INNER * ACCUMULATORS * 64;
}

typedef struct {
  RoundFunc func;
  double    seconds;
  double    rate;     /* multiply-adds per CPU second */
  float     sink;
} Job;

static void *
run_job (void *data)
{
  Job *job = data;
  double t0 = thread_seconds (), t = 0, macs = 0;
  size_t rounds = 1;

  while ((t = thread_seconds () - t0) < job->seconds)
    {
      macs += job->func (rounds, &job->sink);
      rounds = rounds < 4096 ? rounds * 2 : rounds;
    }
  job->rate = macs / t;
  return NULL;
}

int
main (int    argc,
      char **argv)
{
  double seconds = argc > 1 ? atof (argv[1]) : 1.0;
  int threads = argc > 2 ? atoi (argv[2]) : 1;
  const struct {
    const char *name;
    RoundFunc   func;
  } kinds[] = {
    { "float32 FMA, 256-bit (vfmadd ymm)", fma_avx2 },
    { "float32 FMA, 512-bit (vfmadd zmm)", fma_avx512 },
    { "int8 VNNI, 512-bit (vpdpbusd zmm)", vnni_avx512 },
  };
  float sink = 0;

  __builtin_cpu_init ();
  if (threads < 1 || threads > 64 || !(seconds > 0))
    {
      fprintf (stderr, "usage: bench-fma-peak [SECONDS [THREADS]]\n");
      return 2;
    }
  for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
    {
      Job jobs[64];
      pthread_t ids[64];
      double sum = 0;

      /* __builtin_cpu_supports wants a literal: test each by name. */
      if ((k == 0 && !__builtin_cpu_supports ("avx2")) || (k == 1 && !__builtin_cpu_supports ("avx512f"))
          || (k == 2 && !__builtin_cpu_supports ("avx512vnni")))
        {
          printf ("%-36s not supported\n", kinds[k].name);
          continue;
        }
      for (int t = 0; t < threads; t++)
        {
          jobs[t] = (Job) { kinds[k].func, seconds, 0, 0 };
          pthread_create (&ids[t], NULL, run_job, &jobs[t]);
        }
      for (int t = 0; t < threads; t++)
        {
          pthread_join (ids[t], NULL);
          sum += jobs[t].rate;
          sink += jobs[t].sink;
        }
      printf ("%-36s %7.1f G multiply-adds per core-second (%d thread%s, mean)\n", kinds[k].name,
              sum / threads / 1e9, threads, threads == 1 ? "" : "s");
    }
  return sink == 12345.0f;
}
