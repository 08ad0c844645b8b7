/* qs-gemm-pack.c: the blocked weight layout shared by the SIMD u8s8 GEMMs.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The AVX2 and AVX-512 VNNI kernels both pack W as blocks of @nb output
 * channels, each channel's @group consecutive k adjacent:
 * [n/nb][kp/group][nb][group]. They differ only in the block width, the
 * group (the number of k one multiply-add instruction consumes) and the
 * element width (AVX2 widens to int16 for vpmaddwd). Packing runs once per
 * model, so it is plain C here, built without ISA flags.
 */
#include "qs-kernels.h"

size_t
qs_gemm_blocked_size (size_t n,
                      size_t kp,
                      size_t nb,
                      size_t elem_size)
{
  size_t blocks = (n + nb - 1) / nb;

  return blocks * nb * kp * elem_size;
}

void
qs_gemm_pack_blocked (size_t        n,
                      size_t        k,
                      size_t        kp,
                      const int8_t *w,
                      size_t        nb,
                      size_t        group,
                      bool          widen,
                      void         *packed)
{
  int8_t *p8 = packed;
  int16_t *p16 = packed;
  size_t blocks = (n + nb - 1) / nb, i = 0;

  for (size_t b = 0; b < blocks; b++)
    for (size_t q = 0; q < kp / group; q++)
      for (size_t j = 0; j < nb; j++)
        for (size_t t = 0; t < group; t++)
          {
            size_t c = b * nb + j, kk = group * q + t;
            int8_t v = (c < n && kk < k) ? w[c * k + kk] : 0;

            if (widen)
              p16[i++] = v;
            else
              p8[i++] = v;
          }
}
