/* bench-gemm-u8s8.c: GMAC/s of each int8 GEMM kernel on ResNet18 and MobileNetV2 layer shapes.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Usage: bench-gemm-u8s8 [SECONDS_PER_SHAPE [NAME]]  (default 0.3; NAME: only
 * the shapes whose name contains it)
 * As bench-gemm-f32: each shape runs as calls on tiles of
 * QS_ENGINE_TILE_ROWS (96) rows of one warm A tile, one thread, for every
 * kernel set the CPU has, raw int32 sums (gemm) and codes requantized in
 * the store (gemm_requant, where the set has one). Measured in CPU time
 * of the thread, which a busy machine disturbs less than wall time.
 * A, C and the packed weights are 64-byte aligned, as the engine's are
 * (its scratch and, since amx-s9, its int8 packed weights): with
 * malloc's 16 bytes AMX's tile loads and stores split every row across
 * two cache lines and ran at half speed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/kernels/qs-kernels.h"

static double
cpu_seconds (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint32_t
pseudo_random (uint32_t *state)
{
  *state = *state * 1664525u + 1013904223u;
  return *state >> 8;
}

int
main (int    argc,
      char **argv)
{
  static const struct { size_t m, n, k; const char *name; } shapes[] = {
    { 96, 64, 147, "resnet18 conv1 7x7x3" },
    { 96, 64, 576, "resnet18 layer1 3x3x64" },
    { 96, 128, 1152, "resnet18 layer2 3x3x128" },
    { 96, 256, 2304, "resnet18 layer3 3x3x256" },
    { 96, 512, 4608, "resnet18 layer4 3x3x512" },
    { 96, 128, 64, "resnet18 downsample 1x1" },
    { 16, 1000, 512, "resnet18 fc (16 images)" },
    { 96, 96, 16, "mobilenetv2 expand 16->96" },
    { 96, 64, 32, "fashion-cnn conv2d_2 1x1x32" },
    { 96, 24, 144, "mobilenetv2 project 144->24" },
    { 96, 192, 32, "mobilenetv2 expand 32->192" },
    { 96, 64, 384, "mobilenetv2 project 384->64" },
    { 96, 960, 160, "mobilenetv2 expand 160->960" },
    { 96, 1280, 320, "mobilenetv2 last 1x1" },
  };
  double seconds = argc > 1 ? atof (argv[1]) : 0.3;
  uint32_t state = 1, checksum = 0;

  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
    {
      if (argc > 2 && strstr (shapes[s].name, argv[2]) == NULL)
        continue;

      size_t m = shapes[s].m, n = shapes[s].n, k = shapes[s].k, kp = qs_gemm_padded_k (k);
      uint8_t *a = aligned_alloc (64, (m * kp + QS_KERNEL_SLACK + 63) / 64 * 64);
      int8_t *w = malloc (n * k);
      int32_t *bias = malloc (n * sizeof (int32_t)), *mult = malloc (n * sizeof (int32_t));
      int32_t *shift = malloc (n * sizeof (int32_t));
      int32_t *c = aligned_alloc (64, (m * n * sizeof (int32_t) + 63) / 64 * 64);
      uint8_t *out = malloc (m * n);
      QsRequantParams rq = { .bias = bias, .multiplier = mult, .right_shift = shift,
                             .output_zp = 0, .act_min = 0, .act_max = 255 };

      for (size_t i = 0; i < m * kp; i++)
        a[i] = (uint8_t) pseudo_random (&state);
      for (size_t i = 0; i < n * k; i++)
        w[i] = (int8_t) pseudo_random (&state);
      for (size_t i = 0; i < n; i++)
        {
          bias[i] = (int32_t) (pseudo_random (&state) % 20001) - 10000;
          mult[i] = (int32_t) (0x40000000u + pseudo_random (&state) % 0x40000000u);
          shift[i] = 10 + (int32_t) (pseudo_random (&state) % 4);
        }
      for (int isa = QS_ISA_SCALAR; isa <= QS_ISA_AMX_INT8; isa++)
        for (int fused = 0; fused < 2; fused++)
          {
            const QsKernels *kern;
            void *packed;
            double t0, elapsed;
            size_t calls = 0;

            if (!qs_kernels_isa_supported ((QsIsa) isa))
              continue;
            kern = qs_kernels_get ((QsIsa) isa);
            if (fused && kern->gemm_requant == NULL)
              continue;
            packed = aligned_alloc (64, (kern->gemm_packed_size (n, kp) + 63) / 64 * 64);
            kern->gemm_pack (n, k, kp, w, packed);
            t0 = cpu_seconds ();
            do
              {
                for (int r = 0; r < 8; r++)
                  if (fused)
                    kern->gemm_requant (m, n, kp, a, kp, packed, NULL, &rq, out, n);
                  else
                    kern->gemm (m, n, kp, a, kp, packed, c, n);
                calls += 8;
                elapsed = cpu_seconds () - t0;
              }
            while (elapsed < seconds);
            checksum += fused ? out[m * n / 2] : (uint32_t) c[m * n / 2];
            printf ("%-30s %-11s %-7s %7.1f GMAC/s\n", shapes[s].name, kern->name,
                    fused ? "requant" : "sums", (double) m * n * k * calls / elapsed * 1e-9);
            free (packed);
          }
      free (a);
      free (w);
      free (bias);
      free (mult);
      free (shift);
      free (c);
      free (out);
    }
  printf ("checksum %u\n", checksum);
  return 0;
}
