/* bench-gemm-f32.c: GFLOP/s of each float32 GEMM kernel on ResNet18 and MobileNetV2 layer shapes.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Usage: bench-gemm-f32 [SECONDS_PER_SHAPE]  (default 0.3; CPU seconds, so
 * that a shared machine measures what the core does while it runs)
 * The engine calls the GEMM on tiles of QS_ENGINE_TILE_ROWS output pixels
 * (96) whose rows im2col has just written, so each shape runs as a 96-row
 * call on one warm A tile, one thread, for every kernel set the CPU has.
 * Prints one line per shape and kernel set; a checksum keeps the work.
 * Kernel sets with gemm_f32_skip_zeros then run it and gemm_f32 on the
 * same A with half its entries 0.0 (MobileNetV2's project layers read
 * about half zeros between 8-bit activations): GFLOP/s as if dense.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "engine/kernels/qs-kernels.h"

static double
now_seconds (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static float
pseudo_random (unsigned *state)
{
  *state = *state * 1664525u + 1013904223u;
  return (float) (*state >> 8) / 16777216.0f - 0.5f;
}

/* GFLOP/s (counting every product, skipped or not) of @gemm for about @seconds. */
static double
gemm_rate (QsGemmF32Func gemm,
           size_t        m,
           size_t        n,
           size_t        k,
           const float  *a,
           const float  *packed,
           const float  *bias,
           float        *c,
           double        seconds)
{
  double t0 = now_seconds (), elapsed;
  size_t calls = 0;

  do
    {
      for (int r = 0; r < 8; r++)
        gemm (m, n, k, a, k, packed, bias, 0.0f, INFINITY, c, n);
      calls += 8;
      elapsed = now_seconds () - t0;
    }
  while (elapsed < seconds);
  return 2.0 * (double) m * n * k * calls / elapsed * 1e-9;
}

int
main (int    argc,
      char **argv)
{
  /* m, n, k, name */
  static const struct { size_t m, n, k; const char *name; } shapes[] = {
    { 96, 64, 147, "resnet18 conv1 7x7x3" },
    { 96, 64, 576, "resnet18 layer1 3x3x64" },
    { 96, 128, 1152, "resnet18 layer2 3x3x128" },
    { 96, 256, 2304, "resnet18 layer3 3x3x256" },
    { 96, 512, 4608, "resnet18 layer4 3x3x512" },
    { 96, 128, 64, "resnet18 downsample 1x1" },
    { 16, 1000, 512, "resnet18 fc (16 images)" },
    { 96, 32, 27, "mobilenetv2 conv 3x3x3" },
    { 96, 96, 16, "mobilenetv2 expand 16->96" },
    { 96, 24, 144, "mobilenetv2 project 144->24" },
    { 96, 192, 32, "mobilenetv2 expand 32->192" },
    { 96, 64, 384, "mobilenetv2 project 384->64" },
    { 96, 960, 160, "mobilenetv2 expand 160->960" },
    { 96, 1280, 320, "mobilenetv2 last 1x1" },
    { 96, 96, 576, "mobilenetv2 project 576->96" },
    { 96, 160, 960, "mobilenetv2 project 960->160" },
    { 96, 320, 960, "mobilenetv2 project 960->320" },
  };
  double seconds = argc > 1 ? atof (argv[1]) : 0.3;
  double checksum = 0.0;
  unsigned state = 1;

  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
    {
      size_t m = shapes[s].m, n = shapes[s].n, k = shapes[s].k;
      float *a = malloc (m * k * sizeof (float));
      float *w = malloc (n * k * sizeof (float));
      float *bias = malloc (n * sizeof (float));
      float *c = malloc (m * n * sizeof (float));

      for (size_t i = 0; i < m * k; i++)
        a[i] = pseudo_random (&state);
      for (size_t i = 0; i < n * k; i++)
        w[i] = pseudo_random (&state);
      for (size_t i = 0; i < n; i++)
        bias[i] = pseudo_random (&state);
      for (int isa = QS_ISA_SCALAR; isa <= QS_ISA_AVX512VNNI; isa++)
        {
          const QsKernels *kern;
          float *packed;
          double t0, elapsed;
          size_t calls = 0;

          if (!qs_kernels_isa_supported ((QsIsa) isa))
            continue;
          kern = qs_kernels_get ((QsIsa) isa);
          /* On a cache line, as the engine keeps a model's kernels. */
          packed = aligned_alloc (64, (kern->gemm_f32_packed_size (n, k) * sizeof (float) + 63) / 64 * 64);
          kern->gemm_f32_pack (n, k, w, packed);
          t0 = now_seconds ();
          do
            {
              for (int r = 0; r < 8; r++)
                kern->gemm_f32 (m, n, k, a, k, packed, bias, 0.0f, INFINITY, c, n);
              calls += 8;
              elapsed = now_seconds () - t0;
            }
          while (elapsed < seconds);
          checksum += c[m * n / 2];
          printf ("%-30s %-11s %7.1f GFLOP/s\n", shapes[s].name, kern->name,
                  2.0 * (double) m * n * k * calls / elapsed * 1e-9);
          if (kern->gemm_f32_skip_zeros != NULL && isa != QS_ISA_SCALAR)
            {
              float *half = malloc (m * k * sizeof (float));

              for (size_t i = 0; i < m * k; i++)
                half[i] = pseudo_random (&state) < 0.0f ? 0.0f : a[i];
              printf ("%-30s %-11s half zeros: dense %7.1f, skip-zeros %7.1f GFLOP/s\n", shapes[s].name,
                      kern->name, gemm_rate (kern->gemm_f32, m, n, k, half, packed, bias, c, seconds),
                      gemm_rate (kern->gemm_f32_skip_zeros, m, n, k, half, packed, bias, c, seconds));
              checksum += c[m * n / 2];
              free (half);
            }
          free (packed);
        }
      free (a);
      free (w);
      free (bias);
      free (c);
    }
  printf ("checksum %g\n", checksum);
  return 0;
}
