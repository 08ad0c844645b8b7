/* qs-depthwise-u8s8-avx512vnni.c: depthwise convolution on uint8 codes, two taps per vpdpwssd.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The reference sums (x - zp) * w over the window, padded taps reading a
 * row of zero-point codes. Here the input zero point comes out of the sum:
 * sum (x * w) - zp * sum (w), where both sums run over all taps, padded
 * ones included (they read zp, so their terms cancel exactly as in the
 * reference). All sums are exact in int32 (|x * w| <= 255 * 32767 and at
 * most MAX_TAPS taps), so the bits are the reference's.
 *
 * Channels are the vector dimension, 16 per block, one int32 lane each.
 * vpdpwssd adds both int16 products of a lane, so each lane carries the
 * codes of two taps, x(t) in the low and x(t + 1) in the high half (codes
 * <= 255 are positive as int16), against their two weights packed the
 * same way: one instruction per two taps. An odd window's last tap pairs
 * with a zero weight. With VBMI one vpermt2b interleaves the two taps'
 * 16 codes; without it (Cascade Lake) two zero-extensions, a shift and an
 * or do. For one block the window's weights stay in registers while the
 * kernel walks the row's interior pixels; the 3x3 and 5x5 windows are
 * compiled with their sizes fixed so the loops over taps unroll. A 3x3
 * window with stride 1 and int8-range weights takes vpdpbusd on four
 * input rows at once instead (quad_rows). The codes variant requantizes
 * each vector before it is stored.
 *
 * Packed layout: the plain int16 copy (for windows above MAX_TAPS, which
 * take the reference), then per block of 16 channels [pairs + 1][16]
 * int32: the weight pairs, then each channel's sum over the taps; channels
 * past the end are 0. Nine taps add the quad section (pack_quads).
 */
#include "qs-kernels.h"
#include "qs-requantize-avx512.h"
#include "qs-vnni-inplace.h"

#include <immintrin.h>
#include <string.h>

#define CB 16         /* channels per block */
#define MAX_TAPS 25   /* larger windows take the reference */
#define MAX_PAIRS ((MAX_TAPS + 1) / 2)

static size_t
plain_bytes (size_t taps,
             size_t channels)
{
  /* Keep the blocked part 64-byte aligned relative to the buffer. */
  return (taps * channels * sizeof (int16_t) + 63) & ~(size_t) 63;
}

static size_t
pairs_of (size_t taps)
{
  return (taps + 1) / 2;
}

/* The 3x3 quad section: a 64-byte header whose first int32 says whether
 * every weight fits in int8, then per block [6][64] int8 (below). */
static size_t
quad_bytes (size_t taps,
            size_t channels)
{
  return taps == 9 ? 64 + (channels + CB - 1) / CB * 6 * 64 : 0;
}

size_t
qs_depthwise_u8s8_packed_size_avx512vnni (size_t taps,
                                          size_t channels)
{
  size_t blocks = (channels + CB - 1) / CB;

  return plain_bytes (taps, channels) + blocks * (pairs_of (taps) + 1) * CB * sizeof (int32_t)
         + quad_bytes (taps, channels);
}

/* A 3x3 window's weights for vpdpbusd over two output rows at once: lane
 * j of input column x holds channel j's codes of four consecutive input
 * rows (bytes 4j + r), which output row oy weighs with rows 0..2 of its
 * window (top[kx]: w(0, kx), w(1, kx), w(2, kx), 0) and row oy + 1 with
 * rows 1..3 (bottom[kx]: 0, w(0, kx), w(1, kx), w(2, kx)). Usable only where
 * every weight fits in int8, as the per-channel symmetric int8 schemes'
 * do; the header says so. */
static void
pack_quads (size_t         channels,
            const int16_t *w,
            uint8_t       *q)
{
  size_t blocks = (channels + CB - 1) / CB;
  int32_t fits = 1;

  for (size_t i = 0; i < 9 * channels; i++)
    fits &= w[i] >= INT8_MIN && w[i] <= INT8_MAX;
  memset (q, 0, 64 + blocks * 6 * 64);
  memcpy (q, &fits, sizeof fits);
  q += 64;
  for (size_t b = 0; b < blocks; b++, q += 6 * 64)
    for (size_t j = 0; j < CB && b * CB + j < channels && fits; j++)
      for (size_t kx = 0; kx < 3; kx++)
        for (size_t r = 0; r < 3; r++)
          {
            int8_t v = (int8_t) w[(r * 3 + kx) * channels + b * CB + j];

            q[kx * 64 + 4 * j + r] = (uint8_t) v;
            q[(3 + kx) * 64 + 4 * j + r + 1] = (uint8_t) v;
          }
}

void
qs_depthwise_u8s8_pack_avx512vnni (size_t         taps,
                                   size_t         channels,
                                   const int16_t *w,
                                   void          *packed)
{
  int32_t *p = (int32_t *) ((uint8_t *) packed + plain_bytes (taps, channels));
  size_t blocks = (channels + CB - 1) / CB, pairs = pairs_of (taps);

  memcpy (packed, w, taps * channels * sizeof (int16_t));
  for (size_t b = 0; b < blocks; b++)
    {
      int32_t *sum = p + pairs * CB;

      for (size_t j = 0; j < CB; j++)
        {
          size_t c = b * CB + j;

          sum[j] = 0;
          for (size_t t = 0; t < taps; t++)
            sum[j] += c < channels ? w[t * channels + c] : 0;
          for (size_t q = 0; q < pairs; q++)
            {
              int16_t lo = c < channels ? w[2 * q * channels + c] : 0;
              int16_t hi = c < channels && 2 * q + 1 < taps ? w[(2 * q + 1) * channels + c] : 0;

              p[q * CB + j] = (int32_t) ((uint32_t) (uint16_t) lo | (uint32_t) (uint16_t) hi << 16);
            }
        }
      p += (pairs + 1) * CB;
    }
  if (taps == 9)
    pack_quads (channels, w, (uint8_t *) p);
}

/* The 16 codes at @a and at @b as int16 pairs, a[j] low and b[j] high in
 * lane j. Reads 16 bytes even for a partial block: the activation buffers
 * and the zero row carry QS_KERNEL_SLACK readable bytes, and the extra
 * lanes meet zero weights and are never stored. */
static inline __m512i
tap_pair (const uint8_t *a,
          const uint8_t *b,
          bool           vbmi)
{
  if (vbmi)
    {
      /* Bytes 4j and 4j + 2 from a[j] and b[j] (indices j and 64 + j), the
       * others zeroed by the mask, so the registers' upper bytes do not
       * matter. vpermt2b in assembly: VBMI is not implied by the
       * library's flags. */
      const __m512i index = _mm512_set_epi8 (0, 79, 0, 15, 0, 78, 0, 14, 0, 77, 0, 13,
                                             0, 76, 0, 12, 0, 75, 0, 11, 0, 74, 0, 10,
                                             0, 73, 0, 9, 0, 72, 0, 8, 0, 71, 0, 7,
                                             0, 70, 0, 6, 0, 69, 0, 5, 0, 68, 0, 4,
                                             0, 67, 0, 3, 0, 66, 0, 2, 0, 65, 0, 1,
                                             0, 64, 0, 0);
      const __mmask64 low_bytes = 0x5555555555555555ull;
      __m512i x = _mm512_castsi128_si512 (_mm_loadu_si128 ((const __m128i *) a));
      __m512i y = _mm512_castsi128_si512 (_mm_loadu_si128 ((const __m128i *) b));

      __asm__ ("vpermt2b %2, %1, %0%{%3%}%{z%}" : "+v" (x) : "v" (index), "v" (y), "Yk" (low_bytes));
      return x;
    }
  return _mm512_or_si512 (_mm512_cvtepu8_epi32 (_mm_loadu_si128 ((const __m128i *) a)),
                          _mm512_slli_epi32 (_mm512_cvtepu8_epi32 (_mm_loadu_si128 ((const __m128i *) b)), 16));
}

/* An odd window's last tap, whose partner weight is 0. */
static inline __m512i
single_tap (const uint8_t *a)
{
  return _mm512_cvtepu8_epi32 (_mm_loadu_si128 ((const __m128i *) a));
}

/* -zp * sum (w) of a block, the sums' starting value. */
static inline __m512i
zero_point_term (const int32_t *wb,
                 size_t         pairs,
                 int            input_zp)
{
  return _mm512_mullo_epi32 (_mm512_loadu_si512 ((const void *) (wb + pairs * CB)),
                             _mm512_set1_epi32 (-input_zp));
}

/* Where each window row of output row @oy starts and how many bytes one
 * input column steps: a row above or below the image is the zero row with
 * a step of 0, so every tap reads a pointer and the padding costs no test. */
static inline void
window_rows (const QsDepthwiseShape *s,
             const uint8_t          *input,
             int                     oy,
             int                     kh,
             const uint8_t         **rowp,
             size_t                 *step)
{
  size_t C = (size_t) s->channels;

  for (int ky = 0; ky < kh; ky++)
    {
      int iy = oy * s->stride_h - s->pad_top + ky;

      rowp[ky] = iy >= 0 && iy < s->in_h ? input + (size_t) iy * s->in_w * C : s->zero_row;
      step[ky] = iy >= 0 && iy < s->in_h ? C : 0;
    }
}

/* The sums of block @b at a pixel whose window crosses the left or right
 * border: taps left or right of the image read the zero row. */
static inline __m512i
border_vector (const QsDepthwiseShape *s,
               const int32_t          *wb,
               const uint8_t         **rowp,
               const size_t           *step,
               int                     ox,
               size_t                  b,
               int                     kh,
               int                     kw,
               __m512i                 a,
               bool                    vbmi)
{
  size_t taps = (size_t) kh * kw, pairs = pairs_of (taps), t = 0;
  const uint8_t *tab[MAX_TAPS];
  int x0 = ox * s->stride_w - s->pad_left;

  for (int ky = 0; ky < kh; ky++)
    for (int kx = 0; kx < kw; kx++, t++)
      {
        int ix = x0 + kx;

        tab[t] = (ix >= 0 && ix < s->in_w ? rowp[ky] + (size_t) ix * step[ky] : s->zero_row) + b * CB;
      }
  for (size_t q = 0; q < pairs; q++)
    {
      __m512i x = 2 * q + 1 < taps ? tap_pair (tab[2 * q], tab[2 * q + 1], vbmi) : single_tap (tab[2 * q]);

      a = qs_dpwssd_inplace (a, x, _mm512_loadu_si512 ((const void *) (wb + q * CB)));
    }
  return a;
}

/* Block @b of output rows [@oy0, @oy1): int32 sums into @acc ([rows][out_w][C]),
 * or, with @lanes, codes into @codes (same layout); the sums start at
 * @bias. The block's weights and requantization parameters stay in
 * registers over all the rows. Pixels whose window lies inside the image
 * horizontally walk the window rows with pointer arithmetic; the few at
 * the borders take border_vector. */
static inline __attribute__ ((always_inline)) void
block_rows (const QsDepthwiseShape *s,
            const uint8_t          *input,
            const int32_t          *blocked,
            size_t                  b,
            int                     oy0,
            int                     oy1,
            int                     kh,
            int                     kw,
            __m512i                 bias,
            const QsRequantLanes   *lanes,
            const QsRequantParams  *params,
            int32_t                *acc,
            uint8_t                *codes,
            bool                    vbmi)
{
  size_t C = (size_t) s->channels, W = (size_t) s->out_w;
  size_t taps = (size_t) kh * kw, pairs = pairs_of (taps);
  const int32_t *wb = blocked + b * (pairs + 1) * CB;
  size_t valid = C - b * CB < CB ? C - b * CB : CB;
  __mmask16 mask = (__mmask16) ((1u << valid) - 1);
  __m512i wv[MAX_PAIRS];
  __m512i base = _mm512_add_epi32 (zero_point_term (wb, pairs, s->input_zp), bias);
  int lo, hi;

  /* Interior pixels: ox * stride_w - pad_left >= 0 and + kernel_w <= in_w. */
  lo = (s->pad_left + s->stride_w - 1) / s->stride_w;
  hi = s->in_w - kw + s->pad_left >= 0 ? (s->in_w - kw + s->pad_left) / s->stride_w + 1 : 0;
  hi = hi < s->out_w ? hi : s->out_w;
  lo = lo < hi ? lo : hi;

  for (size_t q = 0; q < pairs; q++)
    wv[q] = _mm512_loadu_si512 ((const void *) (wb + q * CB));

  for (int oy = oy0; oy < oy1; oy++)
    {
      const uint8_t *rowp[MAX_TAPS], *p[MAX_TAPS];
      size_t step[MAX_TAPS], adv[MAX_TAPS];
      size_t o = (size_t) (oy - oy0) * W * C + b * CB;

      window_rows (s, input, oy, kh, rowp, step);
      for (int ox = 0; ox < s->out_w; ox++)
        {
          __m512i a;

          if (ox == lo && lo < hi)
            {
              /* The interior, then on to the right border. */
              for (int ky = 0; ky < kh; ky++)
                {
                  p[ky] = rowp[ky] + (size_t) (lo * s->stride_w - s->pad_left) * step[ky] + b * CB;
                  adv[ky] = (size_t) s->stride_w * step[ky];
                }
              for (; ox < hi; ox++)
                {
                  a = base;
                  /* Tap t is window row t / kw, column t % kw; a pair may
                   * span two window rows. */
                  for (size_t q = 0; q < pairs; q++)
                    {
                      size_t t = 2 * q, u = t + 1;
                      const uint8_t *x0 = p[t / kw] + (t % kw) * step[t / kw];
                      __m512i x = u < taps ? tap_pair (x0, p[u / kw] + (u % kw) * step[u / kw], vbmi)
                                           : single_tap (x0);

                      a = qs_dpwssd_inplace (a, x, wv[q]);
                    }
                  for (int ky = 0; ky < kh; ky++)
                    p[ky] += adv[ky];
                  if (lanes != NULL)
                    _mm512_mask_cvtepi32_storeu_epi8 (codes + o + (size_t) ox * C, mask,
                                                        qs_requant_vector_avx512 (lanes, params, a, 0));
                  else
                    _mm512_mask_storeu_epi32 (acc + o + (size_t) ox * C, mask, a);
                }
              if (ox >= s->out_w)
                break;
            }
          a = border_vector (s, wb, rowp, step, ox, b, kh, kw, base, vbmi);
          if (lanes != NULL)
            _mm512_mask_cvtepi32_storeu_epi8 (codes + o + (size_t) ox * C, mask,
                                                qs_requant_vector_avx512 (lanes, params, a, 0));
          else
            _mm512_mask_storeu_epi32 (acc + o + (size_t) ox * C, mask, a);
        }
    }
}

/* Channels [b * CB, b * CB + 16) of four input rows at one column as
 * vpdpbusd's quads: byte 4j + r is row r's code of channel j. */
static inline __m512i
column_quad (const uint8_t *r0,
             const uint8_t *r1,
             const uint8_t *r2,
             const uint8_t *r3,
             __m512i        index)
{
  __m256i a = _mm256_inserti128_si256 (_mm256_castsi128_si256 (_mm_loadu_si128 ((const __m128i *) r0)),
                                       _mm_loadu_si128 ((const __m128i *) r1), 1);
  __m256i c = _mm256_inserti128_si256 (_mm256_castsi128_si256 (_mm_loadu_si128 ((const __m128i *) r2)),
                                       _mm_loadu_si128 ((const __m128i *) r3), 1);
  __m512i x = _mm512_castsi256_si512 (a);

  __asm__ ("vpermt2b %2, %1, %0" : "+v" (x) : "v" (index), "v" (_mm512_castsi256_si512 (c)));
  return x;
}

/* Output pixel (oy, ox) and (oy + 1, ox) of one block as codes, at @o and
 * @o + @below (with @second), from the quads of its three columns. */
static inline __attribute__ ((always_inline)) void
quad_pixel (__m512i                q0,
            __m512i                q1,
            __m512i                q2,
            const __m512i         *top,
            const __m512i         *bottom,
            __m512i                base,
            const QsRequantLanes  *lanes,
            const QsRequantParams *params,
            __mmask16              mask,
            uint8_t               *o,
            size_t                 below,
            bool                   second)
{
  __m512i a = base, c = base;

  a = qs_dpbusd_inplace (a, q0, top[0]);
  c = qs_dpbusd_inplace (c, q0, bottom[0]);
  a = qs_dpbusd_inplace (a, q1, top[1]);
  c = qs_dpbusd_inplace (c, q1, bottom[1]);
  a = qs_dpbusd_inplace (a, q2, top[2]);
  c = qs_dpbusd_inplace (c, q2, bottom[2]);
  _mm512_mask_cvtepi32_storeu_epi8 (o, mask, qs_requant_vector_avx512 (lanes, params, a, 0));
  if (second)
    _mm512_mask_cvtepi32_storeu_epi8 (o + below, mask, qs_requant_vector_avx512 (lanes, params, c, 0));
}

/* One pair of output rows of one block (the second only with @second):
 * the columns left and right of the image are the zero-point quad @zq, so
 * only the middle stretch loads; with @inside (all four input rows in the
 * image) a column is at the same offset in each row, else the rows in the
 * padding (step 0) stay on the zero row. */
static inline __attribute__ ((always_inline)) void
quad_pair (const QsDepthwiseShape *s,
           const uint8_t         **rowp,
           const size_t           *step,
           size_t                  b,
           const __m512i          *top,
           const __m512i          *bottom,
           __m512i                 base,
           __m512i                 zq,
           __m512i                 index,
           const QsRequantLanes   *lanes,
           const QsRequantParams  *params,
           __mmask16               mask,
           uint8_t                *o,
           bool                    second,
           bool                    inside)
{
  size_t C = (size_t) s->channels, below = (size_t) s->out_w * C;
  int in_w = s->in_w, pad = s->pad_left, out_w = s->out_w;
  /* Output columns whose last tap falls left of, in, and right of the image. */
  int l1 = pad - 2 < 0 ? 0 : (pad - 2 < out_w ? pad - 2 : out_w);
  int l2 = in_w + pad - 2 < l1 ? l1 : (in_w + pad - 2 < out_w ? in_w + pad - 2 : out_w);
  const uint8_t *r0 = rowp[0] + b * CB, *r1 = rowp[1] + b * CB, *r2 = rowp[2] + b * CB, *r3 = rowp[3] + b * CB;
  size_t m0 = step[0] != 0 ? SIZE_MAX : 0, m1 = step[1] != 0 ? SIZE_MAX : 0;
  size_t m2 = step[2] != 0 ? SIZE_MAX : 0, m3 = step[3] != 0 ? SIZE_MAX : 0;
  __m512i q[2];
  int ox;

  /* The columns under output column 0's first two taps. */
  for (int t = 0; t < 2; t++)
    {
      int x = t - pad;
      size_t xo = (size_t) x * C;

      q[t] = x < 0 || x >= in_w ? zq
        : inside ? column_quad (r0 + xo, r1 + xo, r2 + xo, r3 + xo, index)
        : column_quad (r0 + (xo & m0), r1 + (xo & m1), r2 + (xo & m2), r3 + (xo & m3), index);
    }
  for (ox = 0; ox < l1; ox++, o += C)
    {
      quad_pixel (q[0], q[1], zq, top, bottom, base, lanes, params, mask, o, below, second);
      q[0] = q[1];
      q[1] = zq;
    }
  for (size_t xo = (size_t) (ox - pad + 2) * C; ox < l2; ox++, o += C, xo += C)
    {
      __m512i q2 = inside ? column_quad (r0 + xo, r1 + xo, r2 + xo, r3 + xo, index)
        : column_quad (r0 + (xo & m0), r1 + (xo & m1), r2 + (xo & m2), r3 + (xo & m3), index);

      quad_pixel (q[0], q[1], q2, top, bottom, base, lanes, params, mask, o, below, second);
      q[0] = q[1];
      q[1] = q2;
    }
  for (; ox < out_w; ox++, o += C)
    {
      quad_pixel (q[0], q[1], zq, top, bottom, base, lanes, params, mask, o, below, second);
      q[0] = q[1];
      q[1] = zq;
    }
}

/* Block @b of output rows [@oy0, @oy1) of a 3x3 window with stride 1 as
 * codes, two output rows at a time from the four input rows they span:
 * each input column becomes one vector of quads (column_quad), which
 * three vpdpbusd per output row consume, so a pixel costs three products
 * and one and a half shuffles instead of five and five. A column left or
 * right of the image is the zero-point quad, so the borders take the same
 * loop. Needs VBMI and weights that fit in int8. */
static inline __attribute__ ((always_inline)) void
quad_rows (const QsDepthwiseShape *s,
           const uint8_t          *input,
           const int32_t          *blocked,
           const uint8_t          *quads,
           size_t                  b,
           int                     oy0,
           int                     oy1,
           __m512i                 bias,
           const QsRequantLanes   *lanes,
           const QsRequantParams  *params,
           uint8_t                *codes)
{
  /* Byte 4j + r from row r's byte j: rows 0 and 1 are the first table's
   * 16-byte quarters 0 and 1, rows 2 and 3 the second table's (64 on). */
  const __m512i index = _mm512_set_epi8 (95, 79, 31, 15, 94, 78, 30, 14, 93, 77, 29, 13,
                                         92, 76, 28, 12, 91, 75, 27, 11, 90, 74, 26, 10,
                                         89, 73, 25, 9, 88, 72, 24, 8, 87, 71, 23, 7,
                                         86, 70, 22, 6, 85, 69, 21, 5, 84, 68, 20, 4,
                                         83, 67, 19, 3, 82, 66, 18, 2, 81, 65, 17, 1,
                                         80, 64, 16, 0);
  size_t C = (size_t) s->channels, W = (size_t) s->out_w, pairs = pairs_of (9);
  const uint8_t *wq = quads + 64 + b * 6 * 64;
  size_t valid = C - b * CB < CB ? C - b * CB : CB;
  __mmask16 mask = (__mmask16) ((1u << valid) - 1);
  const uint8_t *z = s->zero_row + b * CB;
  __m512i top[3], bottom[3];
  __m512i base = _mm512_add_epi32 (zero_point_term (blocked + b * (pairs + 1) * CB, pairs, s->input_zp),
                                   bias);
  __m512i zq = column_quad (z, z, z, z, index);

  for (int kx = 0; kx < 3; kx++)
    {
      top[kx] = _mm512_loadu_si512 ((const void *) (wq + kx * 64));
      bottom[kx] = _mm512_loadu_si512 ((const void *) (wq + (3 + kx) * 64));
    }
  for (int oy = oy0; oy < oy1; oy += 2)
    {
      const uint8_t *rowp[4];
      size_t step[4];
      uint8_t *o = codes + (size_t) (oy - oy0) * W * C + b * CB;

      window_rows (s, input, oy, 4, rowp, step);
      /* The four rows are consecutive: inside the image when the first and
       * the last are. */
      if (step[0] != 0 && step[3] != 0)
        quad_pair (s, rowp, step, b, top, bottom, base, zq, index, lanes, params, mask, o,
                   oy + 1 < oy1, true);
      else
        quad_pair (s, rowp, step, b, top, bottom, base, zq, index, lanes, params, mask, o,
                   oy + 1 < oy1, false);
    }
}

/* One output row of int32 sums, block by block. */
static inline __attribute__ ((always_inline)) void
depthwise_row (const QsDepthwiseShape *s,
               const uint8_t          *input,
               const int32_t          *blocked,
               int                     oy,
               int32_t                *acc,
               int                     kh,
               int                     kw,
               bool                    vbmi)
{
  size_t blocks = ((size_t) s->channels + CB - 1) / CB;

  for (size_t b = 0; b < blocks; b++)
    block_rows (s, input, blocked, b, oy, oy + 1, kh, kw, _mm512_setzero_si512 (), NULL, NULL, acc, NULL,
                vbmi);
}

/* Input bytes a band of output rows may span so that, block after block,
 * it stays in the L1 data cache. */
#define BAND_INPUT_BYTES 24576

/* Output rows [@oy0, @oy1) as codes, in bands of rows; within a band, block
 * after block with its requantization parameters set up once. */
static inline __attribute__ ((always_inline)) void
depthwise_requant_rows (const QsDepthwiseShape *s,
                        const uint8_t          *input,
                        const int32_t          *blocked,
                        const QsRequantParams  *params,
                        int                     oy0,
                        int                     oy1,
                        uint8_t                *out,
                        int                     kh,
                        int                     kw,
                        bool                    vbmi)
{
  size_t C = (size_t) s->channels, blocks = (C + CB - 1) / CB;
  size_t row_bytes = (size_t) s->in_w * C;
  size_t pairs = pairs_of ((size_t) kh * kw);
  const uint8_t *quads = (const uint8_t *) (blocked + blocks * (pairs + 1) * CB);
  int32_t fits = 0;
  /* The most output rows whose (band - 1) * stride + kh input rows fit. */
  size_t fit = BAND_INPUT_BYTES / row_bytes;
  int band = fit <= (size_t) kh ? 1 : (int) ((fit - (size_t) kh) / (size_t) s->stride_h + 1);

  /* The quads take two output rows at a time: bands of an even count. */
  if (kh == 3 && kw == 3)
    memcpy (&fits, quads, sizeof fits);
  if (kh == 3 && kw == 3 && s->stride_h == 1 && s->stride_w == 1 && vbmi && fits)
    band = band > 1 ? band & ~1 : 2;
  else
    quads = NULL;

  for (int y0 = oy0; y0 < oy1; y0 += band)
    {
      int y1 = oy1 - y0 > band ? y0 + band : oy1;
      uint8_t *codes = out + (size_t) y0 * s->out_w * C;

      for (size_t b = 0; b < blocks; b++)
        {
          __mmask16 k = C - b * CB >= CB ? (__mmask16) 0xFFFF : (__mmask16) ((1u << (C - b * CB)) - 1);
          QsRequantLanes lanes = qs_requant_lanes_avx512 (params, b * CB, k);
          /* The bias joins the sums' starting value, once per block. */
          __m512i bias = lanes.bias;

          lanes.bias = _mm512_setzero_si512 ();
          if (quads != NULL)
            quad_rows (s, input, blocked, quads, b, y0, y1, bias, &lanes, params, codes);
          else
            block_rows (s, input, blocked, b, y0, y1, kh, kw, bias, &lanes, params, NULL, codes, vbmi);
        }
    }
}

/* The sums or codes with or without VBMI's byte interleave (the latter
 * exported for the kernel tests to check on machines that have VBMI);
 * @params set: codes of rows [@oy0, @oy1) into @out, else the sums of row
 * @oy0 into @acc. The 3x3 and 5x5 windows have their sizes fixed so the
 * loops over taps unroll. */
static inline __attribute__ ((always_inline)) void
depthwise_dispatch (const QsDepthwiseShape *s,
                    const uint8_t          *input,
                    const void             *packed,
                    const QsRequantParams  *params,
                    int                     oy0,
                    int                     oy1,
                    int32_t                *acc,
                    uint8_t                *out,
                    bool                    vbmi)
{
  size_t taps = (size_t) s->kernel_h * s->kernel_w;
  const int32_t *blocked = (const int32_t *) ((const uint8_t *) packed
                                              + plain_bytes (taps, (size_t) s->channels));
  int kh = s->kernel_h, kw = s->kernel_w;

  if (params != NULL && (taps > MAX_TAPS || params->left_shift != NULL || params->frac_q16 != NULL))
    qs_depthwise_requant_u8s8_scalar (s, input, packed, params, oy0, oy1, out);
  else if (taps > MAX_TAPS)
    qs_depthwise_u8s8_scalar (s, input, packed, oy0, acc);
  else if (params != NULL && kh == 3 && kw == 3)
    depthwise_requant_rows (s, input, blocked, params, oy0, oy1, out, 3, 3, vbmi);
  else if (params != NULL && kh == 5 && kw == 5)
    depthwise_requant_rows (s, input, blocked, params, oy0, oy1, out, 5, 5, vbmi);
  else if (params != NULL)
    depthwise_requant_rows (s, input, blocked, params, oy0, oy1, out, kh, kw, vbmi);
  else if (kh == 3 && kw == 3)
    depthwise_row (s, input, blocked, oy0, acc, 3, 3, vbmi);
  else if (kh == 5 && kw == 5)
    depthwise_row (s, input, blocked, oy0, acc, 5, 5, vbmi);
  else
    depthwise_row (s, input, blocked, oy0, acc, kh, kw, vbmi);
}

void
qs_depthwise_u8s8_avx512vnni_no_vbmi (const QsDepthwiseShape *s,
                                      const uint8_t          *input,
                                      const void             *packed,
                                      int                     oy,
                                      int32_t                *acc)
{
  depthwise_dispatch (s, input, packed, NULL, oy, oy + 1, acc, NULL, false);
}

void
qs_depthwise_u8s8_avx512vnni (const QsDepthwiseShape *s,
                              const uint8_t          *input,
                              const void             *packed,
                              int                     oy,
                              int32_t                *acc)
{
  if (__builtin_cpu_supports ("avx512vbmi"))
    depthwise_dispatch (s, input, packed, NULL, oy, oy + 1, acc, NULL, true);
  else
    qs_depthwise_u8s8_avx512vnni_no_vbmi (s, input, packed, oy, acc);
}

void
qs_depthwise_requant_u8s8_avx512vnni_no_vbmi (const QsDepthwiseShape *s,
                                              const uint8_t          *input,
                                              const void             *packed,
                                              const QsRequantParams  *params,
                                              int                     oy0,
                                              int                     oy1,
                                              uint8_t                *out)
{
  depthwise_dispatch (s, input, packed, params, oy0, oy1, NULL, out, false);
}

void
qs_depthwise_requant_u8s8_avx512vnni (const QsDepthwiseShape *s,
                                      const uint8_t          *input,
                                      const void             *packed,
                                      const QsRequantParams  *params,
                                      int                     oy0,
                                      int                     oy1,
                                      uint8_t                *out)
{
  if (__builtin_cpu_supports ("avx512vbmi"))
    depthwise_dispatch (s, input, packed, params, oy0, oy1, NULL, out, true);
  else
    qs_depthwise_requant_u8s8_avx512vnni_no_vbmi (s, input, packed, params, oy0, oy1, out);
}
