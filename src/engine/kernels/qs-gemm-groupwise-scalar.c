/* qs-gemm-groupwise-scalar.c: uint8 activations times group-wise int8 or int16 weights, one int32 sum per group.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Each group has its own scale, so the sums cannot meet in one int32 as in
 * the per-channel GEMM: each group's sum is corrected for the zero points
 * and rescaled by s_in * s_w[g] in float32 before the groups add up, as
 * XNNPACK's blockwise kernels do.
 */
#include "engine/kernels/qs-kernels.h"

bool
qs_groupwise_offsets_wide (const QsGroupwiseWeights *w)
{
  for (size_t c = 0; c < w->n; c++)
    for (size_t t = 0; t < w->k; t++)
      {
        int32_t v = qs_groupwise_code (w, c, t) - w->zero_points[c * w->groups_per_channel + t / w->group_size];

        if (v < INT8_MIN || v > INT8_MAX)
          return true;
      }
  return false;
}

/* Whether every (code - zero point) of @w is one of the @count @values. */
static bool
offsets_in_values (const QsGroupwiseWeights *w,
                   const int16_t            *values,
                   size_t                    count)
{
  uint64_t known[65536 / 64] = { 0 };

  for (size_t i = 0; i < count; i++)
    known[(uint16_t) values[i] / 64] |= (uint64_t) 1 << ((uint16_t) values[i] % 64);
  for (size_t c = 0; c < w->n; c++)
    for (size_t t = 0; t < w->k; t++)
      {
        int32_t v = qs_groupwise_code (w, c, t) - w->zero_points[c * w->groups_per_channel + t / w->group_size];

        if (v < INT16_MIN || v > INT16_MAX || !(known[(uint16_t) v / 64] >> ((uint16_t) v % 64) & 1))
          return false;
      }
  return true;
}

bool
qs_groupwise_offsets_in_nibbles (const QsGroupwiseWeights *w)
{
  int16_t values[16];

  for (size_t i = 0; i < 16; i++)
    values[i] = w->nibble_values[i];
  return offsets_in_values (w, values, 16);
}

bool
qs_groupwise_offsets_in_wide_values (const QsGroupwiseWeights *w)
{
  return offsets_in_values (w, w->wide_values, 64);
}

void
qs_groupwise_code_sums (const QsGroupwiseWeights *w,
                        int32_t                  *code_sums)
{
  size_t groups = w->groups_per_channel;

  for (size_t c = 0; c < w->n; c++)
    for (size_t g = 0; g < groups; g++)
      {
        size_t t0 = g * w->group_size;
        size_t t1 = t0 + w->group_size < w->k ? t0 + w->group_size : w->k;
        int32_t sum = 0;

        for (size_t t = t0; t < t1; t++)
          sum += qs_groupwise_code (w, c, t);
        code_sums[c * groups + g] = sum - (int32_t) (t1 - t0) * w->zero_points[c * groups + g];
      }
}

void
qs_gemm_groupwise_u8_scalar (size_t                    m,
                             const uint8_t            *a,
                             size_t                    lda,
                             const QsGroupwiseWeights *w,
                             const QsGroupwiseInput   *in,
                             const float              *bias,
                             float                    *c,
                             size_t                    ldc)
{
  size_t groups = w->groups_per_channel;

  for (size_t i = 0; i < m; i++)
    {
      const uint8_t *row = a + i * lda;

      for (size_t j = 0; j < w->n; j++)
        {
          float y = bias[j];

          for (size_t g = 0; g < groups; g++)
            {
              size_t t0 = g * w->group_size;
              size_t t1 = t0 + w->group_size < w->k ? t0 + w->group_size : w->k;
              size_t b = j * groups + g;
              int32_t dot = 0, row_sum = 0, total;

              for (size_t t = t0; t < t1; t++)
                {
                  dot += (int32_t) row[t] * qs_groupwise_code (w, j, t);
                  row_sum += row[t];
                }
              /* sum (a - za) (w - zw), with za's integer part in int32
               * and its fraction (nudging off) in float32. */
              total = dot - w->zero_points[b] * row_sum - in->zero_code * w->code_sums[b];
              y += (in->scale * w->scales[b])
                   * ((float) total - in->zero_frac * (float) w->code_sums[b]);
            }
          c[i * ldc + j] = y;
        }
    }
}
