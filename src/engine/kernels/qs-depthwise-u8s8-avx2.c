/* qs-depthwise-u8s8-avx2.c: depthwise convolution on uint8 codes, 16 channels at a time.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Each tap's input is widened to int16 with the input zero point taken
 * off (range [-255, 255]); weights are already (code - zero point) in
 * int16. Two taps are interleaved and vpmaddwd adds their two products
 * into int32 exactly. Out-of-image taps read a row of zero-point codes, so
 * they contribute exactly 0, as in the reference. The weights of full
 * 16-channel blocks are packed in the order the in-lane unpack produces;
 * the remaining channels use the plain copy kept in front of them. The
 * codes variant requantizes each pixel's sums before they leave registers.
 */
#include "qs-kernels.h"
#include "qs-requantize-avx2.h"

#include <immintrin.h>
#include <string.h>

#define CB 16          /* channels per block */
#define MAX_TAPS 64    /* larger windows take the reference */

static size_t
tap_pairs (size_t taps)
{
  return (taps + 1) / 2;
}

size_t
qs_depthwise_u8s8_packed_size_avx2 (size_t taps,
                                    size_t channels)
{
  size_t blocks = channels / CB;

  return (taps * channels + blocks * tap_pairs (taps) * 2 * CB) * sizeof (int16_t);
}

/* Lanes of vpunpcklwd / vpunpckhwd on 16 int16 channels. */
static const int lo_order[8] = { 0, 1, 2, 3, 8, 9, 10, 11 };
static const int hi_order[8] = { 4, 5, 6, 7, 12, 13, 14, 15 };

void
qs_depthwise_u8s8_pack_avx2 (size_t         taps,
                             size_t         channels,
                             const int16_t *w,
                             void          *packed)
{
  int16_t *plain = packed;
  int16_t *p = plain + taps * channels;
  size_t blocks = channels / CB;

  memcpy (plain, w, taps * channels * sizeof (int16_t));
  for (size_t b = 0; b < blocks; b++)
    for (size_t tp = 0; tp < tap_pairs (taps); tp++)
      {
        size_t t0 = 2 * tp, t1 = 2 * tp + 1;

        for (int half = 0; half < 2; half++)
          for (int j = 0; j < 8; j++)
            {
              size_t c = b * CB + (size_t) (half == 0 ? lo_order[j] : hi_order[j]);

              *p++ = w[t0 * channels + c];
              *p++ = t1 < taps ? w[t1 * channels + c] : 0;
            }
      }
}

/* Output rows [@oy0, @oy1): int32 sums into @acc ([rows][out_w][C]), or,
 * with @params, codes into @out (the image's [out_h][out_w][C]). */
static inline __attribute__ ((always_inline)) void
depthwise_rows (const QsDepthwiseShape *s,
                const uint8_t          *input,
                const void             *packed,
                const QsRequantParams  *params,
                int                     oy0,
                int                     oy1,
                int32_t                *acc,
                uint8_t                *out)
{
  size_t C = (size_t) s->channels;
  size_t taps = (size_t) s->kernel_h * s->kernel_w;
  size_t blocks = C / CB, pairs = tap_pairs (taps);
  const int16_t *plain = packed;
  const int16_t *blocked = plain + taps * C;
  const uint8_t *src[MAX_TAPS + 1];
  __m256i zp = _mm256_set1_epi16 ((int16_t) s->input_zp);

  for (int oy = oy0; oy < oy1; oy++)
    for (int ox = 0; ox < s->out_w; ox++)
      {
        size_t px = ((size_t) (oy - oy0) * s->out_w + ox) * C;
        size_t t = 0;

        for (int ky = 0; ky < s->kernel_h; ky++)
          {
            int iy = oy * s->stride_h - s->pad_top + ky;

            for (int kx = 0; kx < s->kernel_w; kx++, t++)
              {
                int ix = ox * s->stride_w - s->pad_left + kx;

                src[t] = (iy < 0 || iy >= s->in_h || ix < 0 || ix >= s->in_w)
                  ? s->zero_row
                  : input + ((size_t) iy * s->in_w + ix) * C;
              }
          }
        src[taps] = s->zero_row;   /* the partner of an odd last tap */

        for (size_t b = 0; b < blocks; b++)
          {
            const int16_t *wb = blocked + b * pairs * 2 * CB;
            __m256i acc_lo = _mm256_setzero_si256 (), acc_hi = _mm256_setzero_si256 ();
            __m256i first, second;

            for (size_t tp = 0; tp < pairs; tp++)
              {
                __m256i x0 = _mm256_sub_epi16 (_mm256_cvtepu8_epi16 (_mm_loadu_si128 ((const __m128i *) (src[2 * tp] + b * CB))), zp);
                __m256i x1 = _mm256_sub_epi16 (_mm256_cvtepu8_epi16 (_mm_loadu_si128 ((const __m128i *) (src[2 * tp + 1] + b * CB))), zp);
                __m256i w_lo = _mm256_loadu_si256 ((const __m256i *) (wb + tp * 2 * CB));
                __m256i w_hi = _mm256_loadu_si256 ((const __m256i *) (wb + tp * 2 * CB + CB));

                acc_lo = _mm256_add_epi32 (acc_lo, _mm256_madd_epi16 (_mm256_unpacklo_epi16 (x0, x1), w_lo));
                acc_hi = _mm256_add_epi32 (acc_hi, _mm256_madd_epi16 (_mm256_unpackhi_epi16 (x0, x1), w_hi));
              }
            first = _mm256_permute2x128_si256 (acc_lo, acc_hi, 0x20);
            second = _mm256_permute2x128_si256 (acc_lo, acc_hi, 0x31);
            if (params != NULL)
              {
                QsRequantLanes8 l0 = qs_requant_lanes_avx2 (params, b * CB);
                QsRequantLanes8 l1 = qs_requant_lanes_avx2 (params, b * CB + 8);

                _mm_storeu_si128 ((__m128i *) (out + (size_t) oy0 * s->out_w * C + px + b * CB),
                                  qs_codes_pack_avx2 (qs_requant_vector_avx2 (&l0, params, first, 0),
                                                      qs_requant_vector_avx2 (&l1, params, second, 0)));
              }
            else
              {
                _mm256_storeu_si256 ((__m256i *) (acc + px + b * CB), first);
                _mm256_storeu_si256 ((__m256i *) (acc + px + b * CB + 8), second);
              }
          }

        for (size_t c = blocks * CB; c < C; c++)
          {
            int32_t sum = 0;

            for (size_t tt = 0; tt < taps; tt++)
              sum += ((int32_t) src[tt][c] - s->input_zp) * (int32_t) plain[tt * C + c];
            if (params != NULL)
              out[(size_t) oy0 * s->out_w * C + px + c] = qs_requantize_one (sum, 0, c, params);
            else
              acc[px + c] = sum;
          }
      }
}

void
qs_depthwise_u8s8_avx2 (const QsDepthwiseShape *s,
                        const uint8_t          *input,
                        const void             *packed,
                        int                     oy,
                        int32_t                *acc)
{
  if ((size_t) s->kernel_h * s->kernel_w > MAX_TAPS)
    qs_depthwise_u8s8_scalar (s, input, packed, oy, acc);
  else
    depthwise_rows (s, input, packed, NULL, oy, oy + 1, acc, NULL);
}

void
qs_depthwise_requant_u8s8_avx2 (const QsDepthwiseShape *s,
                                const uint8_t          *input,
                                const void             *packed,
                                const QsRequantParams  *params,
                                int                     oy0,
                                int                     oy1,
                                uint8_t                *out)
{
  if ((size_t) s->kernel_h * s->kernel_w > MAX_TAPS || params->left_shift != NULL
      || params->frac_q16 != NULL)
    qs_depthwise_requant_u8s8_scalar (s, input, packed, params, oy0, oy1, out);
  else
    depthwise_rows (s, input, packed, params, oy0, oy1, NULL, out);
}
