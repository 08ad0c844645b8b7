/* qs-gemm-u8s8-avx512vnni.c: uint8 x int8 GEMM with AVX-512 VNNI (vpdpbusd).
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * vpdpbusd multiplies four unsigned bytes by four signed bytes and adds
 * the four products to an int32 lane with no intermediate saturation, so
 * it is exact for any uint8 activations and int8 weights. Weights are
 * packed as blocks of 16 output channels with four consecutive k of a
 * channel adjacent: [n/16][kp/4][16][4] int8, one 64-byte load per block
 * and k-quad; each row's k-quad is broadcast as one 32-bit value. The
 * micro-kernel computes 8 rows x 32 channels (16 accumulators);
 * qs_gemm_requant_u8s8_avx512vnni requantizes them in registers (from
 * accumulators that start at the bias), so no int32 sum is stored.
 * The indirect variant reads each row's k in segments through pointers
 * (a convolution's window rows, straight from the NHWC input), so most
 * rows need no im2col copy.
 */
#include "qs-requantize-avx512.h"
#include <string.h>

#define NB 16  /* channels per packed block */
#define MR 8   /* rows per micro-kernel call */

size_t
qs_gemm_u8s8_packed_size_avx512vnni (size_t n,
                                     size_t kp)
{
  return qs_gemm_blocked_size (n, kp, NB, sizeof (int8_t));
}

void
qs_gemm_u8s8_pack_avx512vnni (size_t        n,
                              size_t        k,
                              size_t        kp,
                              const int8_t *w,
                              void         *packed)
{
  /* k-quads of int8: one vpdpbusd operand. */
  qs_gemm_pack_blocked (n, k, kp, w, NB, 4, false, packed);
}

static inline __mmask16
lane_mask (size_t valid)
{
  return valid >= NB ? (__mmask16) 0xFFFF : (__mmask16) ((1u << valid) - 1);
}

static inline __m512i
broadcast_quad (const uint8_t *p)
{
  int32_t v;

  memcpy (&v, p, sizeof v);
  return _mm512_set1_epi32 (v);
}

/* Where the micro-kernel's sums go as codes, when they do: rows of @out
 * (@rowsum their sums over K, read only with weight zero points). */
typedef struct {
  const QsRequantParams *p;
  const QsRequantLanes  *lanes0, *lanes1;
  const int32_t         *rowsum;
  uint8_t               *out;
  size_t                 ldout;
} QsRequantOut;

/* The micro-kernel's rows, spelled out: with arrays of accumulators and
 * row pointers GCC zeroes them on the stack (rep stos) and shuffles
 * copies between registers in the k loop, which cost as much as the
 * products themselves when k is short (a 1x1 convolution of 32 channels). */
#define QS_EACH_ROW(X) X (0) X (1) X (2) X (3) X (4) X (5) X (6) X (7)

/* Rows of @m, MR at a time (one call for all: with k of 16 to 64 the
 * call's own cost counted). Row r's k runs through @segs segments of
 * @seg_len (a multiple of 4) codes each, the s-th at ptrs[r * segs + s]
 * (one window row per segment, for the indirect GEMM), or is row r of @a
 * (@lda apart) when @ptrs is NULL and @segs 1. Rows past @m in the last
 * group repeat the last one: computed, never stored. */
static inline __attribute__ ((always_inline)) void
micro_kernel_body (size_t                m,
                   size_t                segs,
                   size_t                seg_len,
                   const uint8_t        *a,
                   size_t                lda,
                   const uint8_t *const *ptrs,
                   const int8_t         *w0,
                   const int8_t         *w1,
                   size_t                valid0,
                   size_t                valid1,
                   const QsRequantOut   *rq,
                   int32_t              *c,
                   size_t                ldc,
                   bool                  pair,
                   bool                  nonneg)
{
#define DECLARE_ROW(r)                                                      \
  __m512i acc0_##r = init0, acc1_##r = init1;                               \
  const uint8_t *a##r;
#define ROW_POINTER(r)                                                      \
  {                                                                         \
    size_t row = i + ((r) < rows ? (r) : rows - 1);                         \
                                                                            \
    a##r = ptrs != NULL ? ptrs[row * segs + s] : a + row * lda;             \
  }
#define ROW_STEP_PAIR(r)                                                    \
  {                                                                         \
    __m512i x = broadcast_quad (a##r + k);                                  \
    acc0_##r = _mm512_dpbusd_epi32 (acc0_##r, x, wa);                       \
    acc1_##r = _mm512_dpbusd_epi32 (acc1_##r, x, wb);                       \
  }
#define ROW_STEP(r) acc0_##r = _mm512_dpbusd_epi32 (acc0_##r, broadcast_quad (a##r + k), wa);
#define ROW_STORE(r)                                                        \
  if ((r) < rows)                                                           \
    {                                                                       \
      _mm512_mask_storeu_epi32 (c + (i + (r)) * ldc, mask0, acc0_##r);     \
      if (pair)                                                             \
        _mm512_mask_storeu_epi32 (c + (i + (r)) * ldc + NB, mask1, acc1_##r); \
    }
/* With codes out the accumulators start at the bias; codes from the
 * float path, and where a row has a lane it cannot vouch for, that row's
 * again from the exact one. */
#define ROW_REQUANT(r)                                                      \
  if ((r) < rows)                                                           \
    {                                                                       \
      uint8_t *o = out + (i + (r)) * ldout;                                       \
      __mmask16 near0 = 0, near1 = 0;                                       \
                                                                            \
      if (rowsum != NULL)                                                   \
        {                                                                   \
          __m512i rs = _mm512_set1_epi32 (rowsum[i + (r)]);                       \
                                                                            \
          acc0_##r = _mm512_sub_epi32 (acc0_##r, _mm512_mullo_epi32 (l0->wzp, rs)); \
          if (pair)                                                         \
            acc1_##r = _mm512_sub_epi32 (acc1_##r, _mm512_mullo_epi32 (l1->wzp, rs)); \
        }                                                                   \
      if (fast)                                                             \
        {                                                                   \
          _mm512_mask_cvtepi32_storeu_epi8 (o, mask0,                       \
                                            qs_requant_fast_avx512 (l0, acc0_##r, nonneg, &near0)); \
          if (pair)                                                         \
            _mm512_mask_cvtepi32_storeu_epi8 (o + NB, mask1,                \
                                              qs_requant_fast_avx512 (l1, acc1_##r, nonneg, &near1)); \
        }                                                                   \
      if (!fast || (near0 | near1) != 0)                                    \
        {                                                                   \
          _mm512_mask_cvtepi32_storeu_epi8 (o, mask0,                       \
                                            qs_requant_exact_avx512 (l0, acc0_##r)); \
          if (pair)                                                         \
            _mm512_mask_cvtepi32_storeu_epi8 (o + NB, mask1,                \
                                              qs_requant_exact_avx512 (l1, acc1_##r)); \
        }                                                                   \
    }

  /* In locals: through the uint8_t stores GCC would reload them from *rq. */
  const QsRequantLanes *l0 = rq != NULL ? rq->lanes0 : NULL, *l1 = rq != NULL ? rq->lanes1 : NULL;
  const int32_t *rowsum = rq != NULL && rq->p->weight_zp != NULL ? rq->rowsum : NULL;
  uint8_t *out = rq != NULL ? rq->out : NULL;
  size_t ldout = rq != NULL ? rq->ldout : 0;
  __mmask16 mask0 = lane_mask (valid0), mask1 = lane_mask (valid1);
  __m512i init0 = rq != NULL ? l0->bias : _mm512_setzero_si512 ();
  __m512i init1 = rq != NULL && pair ? l1->bias : _mm512_setzero_si512 ();
  bool fast = rq != NULL && l0->fast && (!pair || l1->fast);

  for (size_t i = 0; i < m; i += MR)
    {
      size_t rows = m - i < MR ? m - i : MR;

      QS_EACH_ROW (DECLARE_ROW)
      for (size_t s = 0; s < segs; s++)
        {
          const int8_t *v0 = w0 + s * seg_len * NB, *v1 = pair ? w1 + s * seg_len * NB : NULL;

          QS_EACH_ROW (ROW_POINTER)
          if (pair)
            /* Two k-quads per trip: on k = 32 about 3% faster (half the loop overhead). */
            _Pragma ("GCC unroll 2")
            for (size_t k = 0; k < seg_len; k += 4)
              {
                __m512i wa = _mm512_loadu_si512 ((const void *) (v0 + k * NB));
                __m512i wb = _mm512_loadu_si512 ((const void *) (v1 + k * NB));

                QS_EACH_ROW (ROW_STEP_PAIR)
              }
          else
            for (size_t k = 0; k < seg_len; k += 4)
              {
                __m512i wa = _mm512_loadu_si512 ((const void *) (v0 + k * NB));

                QS_EACH_ROW (ROW_STEP)
              }
        }
      if (rq != NULL)
        {
          QS_EACH_ROW (ROW_REQUANT)
        }
      else
        {
          QS_EACH_ROW (ROW_STORE)
        }
    }
#undef DECLARE_ROW
#undef ROW_POINTER
#undef ROW_STEP_PAIR
#undef ROW_STEP
#undef ROW_STORE
#undef ROW_REQUANT
}

/* Two blocks of channels or one: separate functions, since with both k
 * loops in one GCC copies accumulators between registers in them. Not
 * inlined: within a caller GCC allocates its 16 accumulators worse
 * (copies and spills in the k loop, 30% slower on ResNet18's layers).
 * The _nonneg ones serve layers whose lanes are nonneg (a ReLU): the
 * requantizer's sign test (two of its eight vector instructions) left
 * out at compile time. */
#define MICRO_KERNEL_PAIR(name, nonneg)                                                            \
  static __attribute__ ((noinline)) void                                                          \
  name (size_t m, size_t segs, size_t seg_len, const uint8_t *a, size_t lda,                      \
        const uint8_t *const *ptrs, const int8_t *w0, const int8_t *w1, size_t valid0,            \
        size_t valid1, const QsRequantOut *rq, int32_t *c, size_t ldc)                            \
  {                                                                                               \
    micro_kernel_body (m, segs, seg_len, a, lda, ptrs, w0, w1, valid0, valid1, rq, c, ldc, true,  \
                       nonneg);                                                                   \
  }
#define MICRO_KERNEL_SINGLE(name, nonneg)                                                          \
  static __attribute__ ((noinline)) void                                                          \
  name (size_t m, size_t segs, size_t seg_len, const uint8_t *a, size_t lda,                      \
        const uint8_t *const *ptrs, const int8_t *w0, size_t valid0, const QsRequantOut *rq,      \
        int32_t *c, size_t ldc)                                                                   \
  {                                                                                               \
    micro_kernel_body (m, segs, seg_len, a, lda, ptrs, w0, NULL, valid0, 0, rq, c, ldc, false,    \
                       nonneg);                                                                   \
  }
MICRO_KERNEL_PAIR (micro_kernel_pair, false)
MICRO_KERNEL_PAIR (micro_kernel_pair_nonneg, true)
MICRO_KERNEL_SINGLE (micro_kernel_single, false)
MICRO_KERNEL_SINGLE (micro_kernel_single_nonneg, true)
#undef MICRO_KERNEL_PAIR
#undef MICRO_KERNEL_SINGLE

/* The GEMM of one or two blocks of channels (@w1 NULL: one) over all @m rows. */
static inline void
micro_kernel (size_t                m,
              size_t                segs,
              size_t                seg_len,
              const uint8_t        *a,
              size_t                lda,
              const uint8_t *const *ptrs,
              const int8_t         *w0,
              const int8_t         *w1,
              size_t                valid0,
              size_t                valid1,
              const QsRequantOut   *rq,
              int32_t              *c,
              size_t                ldc)
{
  /* nonneg follows act_min and the zero point, the same for both blocks. */
  bool nonneg = rq != NULL && rq->lanes0->nonneg;

  if (w1 != NULL)
    (nonneg ? micro_kernel_pair_nonneg : micro_kernel_pair) (m, segs, seg_len, a, lda, ptrs, w0, w1,
                                                             valid0, valid1, rq, c, ldc);
  else
    (nonneg ? micro_kernel_single_nonneg : micro_kernel_single) (m, segs, seg_len, a, lda, ptrs, w0,
                                                                 valid0, rq, c, ldc);
}

void
qs_gemm_u8s8_avx512vnni (size_t         m,
                         size_t         n,
                         size_t         kp,
                         const uint8_t *a,
                         size_t         lda,
                         const void    *packed,
                         int32_t       *c,
                         size_t         ldc)
{
  const int8_t *w = packed;
  size_t blocks = (n + NB - 1) / NB;
  size_t block_stride = kp * NB;

  if (m == 0)
    return;
  for (size_t b = 0; b < blocks; b += 2)
    {
      const int8_t *w0 = w + b * block_stride;
      const int8_t *w1 = b + 1 < blocks ? w + (b + 1) * block_stride : NULL;
      size_t valid0 = n - b * NB < NB ? n - b * NB : NB;
      size_t valid1 = w1 != NULL ? (n - (b + 1) * NB < NB ? n - (b + 1) * NB : NB) : 0;

      micro_kernel (m, 1, kp, a, lda, NULL, w0, w1, valid0, valid1, NULL, c + b * NB, ldc);
    }
}

/* The GEMM with codes out, on rows of A (@ptrs NULL) or on segments. */
static void
gemm_requant (size_t                 m,
              size_t                 n,
              size_t                 segs,
              size_t                 seg_len,
              const uint8_t         *a,
              size_t                 lda,
              const uint8_t *const  *ptrs,
              const void            *packed,
              size_t                 kp,
              const int32_t         *rowsum,
              const QsRequantParams *p,
              uint8_t               *out,
              size_t                 ldout)
{
  const int8_t *w = packed;
  size_t blocks = (n + NB - 1) / NB;
  size_t block_stride = kp * NB;

  for (size_t b = 0; b < blocks; b += 2)
    {
      const int8_t *w0 = w + b * block_stride;
      const int8_t *w1 = b + 1 < blocks ? w + (b + 1) * block_stride : NULL;
      size_t valid0 = n - b * NB < NB ? n - b * NB : NB;
      size_t valid1 = w1 != NULL ? (n - (b + 1) * NB < NB ? n - (b + 1) * NB : NB) : 0;
      QsRequantLanes lanes0 = qs_requant_lanes_avx512 (p, b * NB, lane_mask (valid0)), lanes1 = lanes0;

      if (w1 != NULL)
        lanes1 = qs_requant_lanes_avx512 (p, (b + 1) * NB, lane_mask (valid1));
      {
        /* Requantized from the accumulators, in registers. */
        QsRequantOut rq = {
          .p = p, .lanes0 = &lanes0, .lanes1 = &lanes1, .rowsum = rowsum,
          .out = out + b * NB, .ldout = ldout,
        };

        micro_kernel (m, segs, seg_len, a, lda, ptrs, w0, w1, valid0, valid1, &rq, NULL, 0);
      }
    }
}

void
qs_gemm_requant_u8s8_avx512vnni (size_t                 m,
                                 size_t                 n,
                                 size_t                 kp,
                                 const uint8_t         *a,
                                 size_t                 lda,
                                 const void            *packed,
                                 const int32_t         *rowsum,
                                 const QsRequantParams *p,
                                 uint8_t               *out,
                                 size_t                 ldout)
{
  gemm_requant (m, n, 1, kp, a, lda, NULL, packed, kp, rowsum, p, out, ldout);
}

void
qs_gemm_requant_indirect_u8s8_avx512vnni (size_t                 m,
                                          size_t                 n,
                                          size_t                 kp,
                                          size_t                 segs,
                                          size_t                 seg_len,
                                          const uint8_t *const  *rows,
                                          const void            *packed,
                                          const QsRequantParams *p,
                                          uint8_t               *out,
                                          size_t                 ldout)
{
  gemm_requant (m, n, segs, seg_len, NULL, 0, rows, packed, kp, NULL, p, out, ldout);
}
