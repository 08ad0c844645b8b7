/* qs-gemm-groupwise-pack.c: the k-pair weight layout shared by the int16 group-wise GEMMs.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The AVX2 kernel (vpmaddwd, blocks of 8 channels) and the AVX-512 VNNI
 * kernel of int16 codes (vpdpwssd, blocks of 16) both consume two taps of
 * a channel per int32 lane, so they pack the same way and differ only in
 * the block width. Packing runs once per model, so it is plain C here,
 * built without ISA flags.
 */
#include "qs-kernels.h"

#include <string.h>

size_t
qs_groupwise_pairs_group_bytes (const QsGroupwiseWeights *w,
                                size_t                    g,
                                size_t                    nb)
{
  return nb * (sizeof (int32_t) + sizeof (float))
         + (qs_groupwise_group_length (w, g) + 1) / 2 * nb * 2 * sizeof (int16_t);
}

size_t
qs_groupwise_pairs_block_bytes (const QsGroupwiseWeights *w,
                                size_t                    nb)
{
  /* Every group but the last is group_size taps long. */
  size_t last = w->groups_per_channel - 1;

  return last * qs_groupwise_pairs_group_bytes (w, 0, nb) + qs_groupwise_pairs_group_bytes (w, last, nb);
}

/* Where group @g of channel block @block starts in a packing. */
static size_t
pairs_group_offset (const QsGroupwiseWeights *w,
                    size_t                    nb,
                    size_t                    block,
                    size_t                    g)
{
  /* Every group but the last is group_size taps long. */
  return block * qs_groupwise_pairs_block_bytes (w, nb) + g * qs_groupwise_pairs_group_bytes (w, 0, nb);
}

void
qs_groupwise_pack_pairs (const QsGroupwiseWeights *w,
                         size_t                    c0,
                         size_t                    nb,
                         void                     *packed)
{
  uint8_t *p = (uint8_t *) packed + pairs_group_offset (w, nb, c0 / nb, 0);
  size_t groups = w->groups_per_channel;

  for (size_t j0 = 0; j0 < w->n; j0 += nb)
    for (size_t g = 0; g < groups; g++)
      {
        int32_t *sums = (int32_t *) p;
        float *scales = (float *) (p + nb * sizeof (int32_t));
        int16_t *pairs = (int16_t *) (p + nb * (sizeof (int32_t) + sizeof (float)));
        size_t t0 = g * w->group_size, len = qs_groupwise_group_length (w, g);

        for (size_t l = 0; l < nb; l++)
          {
            size_t j = j0 + l, b = j * groups + g;
            bool real = j < w->n;

            sums[l] = real ? w->code_sums[b] : 0;
            scales[l] = real ? w->scales[b] : 0.0f;
            for (size_t t = 0; t < (len + 1) / 2 * 2; t++)
              pairs[(t / 2 * nb + l) * 2 + t % 2] = real && t < len
                ? (int16_t) (qs_groupwise_code (w, j, t0 + t) - w->zero_points[b]) : 0;
          }
        p += qs_groupwise_pairs_group_bytes (w, g, nb);
      }
}

float
qs_groupwise_pairs_weight (const QsGroupwiseWeights *w,
                           size_t                    nb,
                           const void               *packed,
                           size_t                    c,
                           size_t                    t)
{
  size_t g = t / w->group_size, l = c % nb, u = t - g * w->group_size;
  const uint8_t *p = (const uint8_t *) packed + pairs_group_offset (w, nb, c / nb, g);
  float scale;
  int16_t offset;

  memcpy (&scale, p + nb * sizeof (int32_t) + l * sizeof (float), sizeof scale);
  memcpy (&offset, p + nb * (sizeof (int32_t) + sizeof (float))
                   + ((u / 2 * nb + l) * 2 + u % 2) * sizeof (int16_t), sizeof offset);
  return (float) offset * scale;
}
