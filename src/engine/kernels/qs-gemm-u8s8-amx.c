/* qs-gemm-u8s8-amx.c: uint8 x int8 GEMM with AMX-INT8 (tdpbusd).
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * tdpbusd does vpdpbusd's arithmetic on tiles: four u8 x s8 products
 * summed into each int32 element with no intermediate saturation, so the
 * sums, and the codes requantized from them, are those of the VNNI
 * kernel bit for bit (int32 addition wraps the same in any order, so
 * adding the bias after the products rather than before changes nothing).
 *
 * No packing of its own: a B tile is 16 rows of 64 bytes, row q holding
 * k-quad q of 16 channels, and that is exactly the VNNI kernel's layout
 * ([n/16][kp/4][16][4]), 64 k of a block 1 KB apart. So the AMX and VNNI
 * tables share the packed weights, and a model's memory is unchanged.
 *
 * Tiles: 0 and 1 the sums of 16 rows x two blocks of channels, 2 the
 * rows' next 64 k, 3 and 4 the blocks' weights for them; 5, 6 and 7 the
 * same for the last kp % 64 k, configured to that width. The rows of the
 * last group, when m is not a multiple of 16, are the last 16 rows:
 * some computed twice, the same values stored twice. With fewer than 16
 * rows in all the VNNI kernel runs (bit for bit the same).
 *
 * A thread's tile configuration outlives the call (the kernel saves it
 * with the thread's state), so each thread loads one only when the tail
 * width changes rather than per call (LDTILECFG took about 50 ns on a
 * Sapphire Rapids Xeon, against a call's microseconds: small either way).
 */
#include "qs-requantize-avx512.h"
#include <string.h>

#define NB 16  /* channels per packed block, columns of a sum tile */
#define MR 16  /* rows per tile */
#define KT 64  /* k per A tile (bytes of a row) */

/* Literal numbers: GCC's tile intrinsics paste them into register names. */
#define TILE_C0      0
#define TILE_C1      1
#define TILE_A       2
#define TILE_B0      3
#define TILE_B1      4
#define TILE_A_TAIL  5
#define TILE_B0_TAIL 6
#define TILE_B1_TAIL 7

/* LDTILECFG's 64-byte operand (palette 1). */
typedef struct {
  uint8_t  palette_id;
  uint8_t  start_row;
  uint8_t  reserved[14];
  uint16_t colsb[16];
  uint8_t  rows[16];
} TileConfig;

/* The k tail this thread's tiles are configured for; -1: none yet. */
static _Thread_local int configured_tail = -1;

static void
configure (size_t tail)
{
  TileConfig cfg;

  if (configured_tail == (int) tail)
    return;
  memset (&cfg, 0, sizeof cfg);
  cfg.palette_id = 1;
  for (int t = TILE_C0; t <= TILE_B1; t++)
    {
      cfg.colsb[t] = 64;
      cfg.rows[t] = 16;
    }
  /* Zero-sized tiles are unconfigured; none is used when tail is 0. */
  if (tail > 0)
    {
      cfg.colsb[TILE_A_TAIL] = (uint16_t) tail;
      cfg.rows[TILE_A_TAIL] = MR;
      cfg.colsb[TILE_B0_TAIL] = cfg.colsb[TILE_B1_TAIL] = 64;
      cfg.rows[TILE_B0_TAIL] = cfg.rows[TILE_B1_TAIL] = (uint8_t) (tail / 4);
    }
  _tile_loadconfig (&cfg);
  configured_tail = (int) tail;
}

/* The int32 sums of rows @i..@i+15 of A times one block (@w1 NULL) or
 * two of channels into the sum tiles. */
static inline void
tile_sums (const uint8_t *a,
           size_t         lda,
           size_t         kp,
           const int8_t  *w0,
           const int8_t  *w1)
{
  size_t kfull = kp / KT * KT;

  _tile_zero (TILE_C0);
  _tile_zero (TILE_C1);
  for (size_t k = 0; k < kfull; k += KT)
    {
      _tile_loadd (TILE_A, a + k, (long) lda);
      _tile_loadd (TILE_B0, w0 + k * NB, 64);
      _tile_dpbusd (TILE_C0, TILE_A, TILE_B0);
      if (w1 != NULL)
        {
          _tile_loadd (TILE_B1, w1 + k * NB, 64);
          _tile_dpbusd (TILE_C1, TILE_A, TILE_B1);
        }
    }
  if (kfull < kp)
    {
      _tile_loadd (TILE_A_TAIL, a + kfull, (long) lda);
      _tile_loadd (TILE_B0_TAIL, w0 + kfull * NB, 64);
      _tile_dpbusd (TILE_C0, TILE_A_TAIL, TILE_B0_TAIL);
      if (w1 != NULL)
        {
          _tile_loadd (TILE_B1_TAIL, w1 + kfull * NB, 64);
          _tile_dpbusd (TILE_C1, TILE_A_TAIL, TILE_B1_TAIL);
        }
    }
}

static inline __mmask16
lane_mask (size_t valid)
{
  return valid >= NB ? (__mmask16) 0xFFFF : (__mmask16) ((1u << valid) - 1);
}

void
qs_gemm_u8s8_amx (size_t         m,
                  size_t         n,
                  size_t         kp,
                  const uint8_t *a,
                  size_t         lda,
                  const void    *packed,
                  int32_t       *c,
                  size_t         ldc)
{
  const int8_t *w = packed;
  size_t blocks = (n + NB - 1) / NB, block_stride = kp * NB;
  int32_t sums[2][MR * NB];

  if (m < MR)
    {
      qs_gemm_u8s8_avx512vnni (m, n, kp, a, lda, packed, c, ldc);
      return;
    }
  configure (kp % KT);
  for (size_t b = 0; b < blocks; b += 2)
    {
      const int8_t *w0 = w + b * block_stride;
      const int8_t *w1 = b + 1 < blocks ? w + (b + 1) * block_stride : NULL;
      size_t valid0 = n - b * NB < NB ? n - b * NB : NB;
      size_t valid1 = w1 != NULL ? (n - (b + 1) * NB < NB ? n - (b + 1) * NB : NB) : 0;
      bool whole = valid0 == NB && (w1 == NULL || valid1 == NB);

      for (size_t i0 = 0; i0 < m; i0 += MR)
        {
          size_t i = i0 + MR <= m ? i0 : m - MR;

          tile_sums (a + i * lda, lda, kp, w0, w1);
          if (whole)
            {
              /* Straight into C: its rows are ldc apart. */
              _tile_stored (TILE_C0, c + i * ldc + b * NB, (long) (ldc * sizeof (int32_t)));
              if (w1 != NULL)
                _tile_stored (TILE_C1, c + i * ldc + (b + 1) * NB, (long) (ldc * sizeof (int32_t)));
              continue;
            }
          _tile_stored (TILE_C0, sums[0], NB * sizeof (int32_t));
          if (w1 != NULL)
            _tile_stored (TILE_C1, sums[1], NB * sizeof (int32_t));
          for (size_t r = 0; r < MR; r++)
            {
              _mm512_mask_storeu_epi32 (c + (i + r) * ldc + b * NB, lane_mask (valid0),
                                        _mm512_loadu_si512 (sums[0] + r * NB));
              if (w1 != NULL)
                _mm512_mask_storeu_epi32 (c + (i + r) * ldc + (b + 1) * NB, lane_mask (valid1),
                                          _mm512_loadu_si512 (sums[1] + r * NB));
            }
        }
    }
}

/* One row's sums of one block (@sums) to codes at @o: the VNNI kernel's
 * requantization of its accumulators, step for step. */
static inline void
requant_row (const QsRequantLanes *l,
             const int32_t        *sums,
             const int32_t        *rowsum,
             size_t                row,
             __mmask16             mask,
             bool                  fast,
             bool                  nonneg,
             uint8_t              *o)
{
  __m512i acc = _mm512_add_epi32 (_mm512_loadu_si512 (sums), l->bias);
  __mmask16 near = 0;

  if (rowsum != NULL)
    acc = _mm512_sub_epi32 (acc, _mm512_mullo_epi32 (l->wzp, _mm512_set1_epi32 (rowsum[row])));
  if (fast)
    _mm512_mask_cvtepi32_storeu_epi8 (o, mask, qs_requant_fast_avx512 (l, acc, nonneg, &near));
  if (!fast || near != 0)
    _mm512_mask_cvtepi32_storeu_epi8 (o, mask, qs_requant_exact_avx512 (l, acc));
}

void
qs_gemm_requant_u8s8_amx (size_t                 m,
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
  const int8_t *w = packed;
  size_t blocks = (n + NB - 1) / NB, block_stride = kp * NB;
  const int32_t *rs = p->weight_zp != NULL ? rowsum : NULL;
  int32_t sums[2][MR * NB];

  if (m < MR)
    {
      qs_gemm_requant_u8s8_avx512vnni (m, n, kp, a, lda, packed, rowsum, p, out, ldout);
      return;
    }
  configure (kp % KT);
  for (size_t b = 0; b < blocks; b += 2)
    {
      const int8_t *w0 = w + b * block_stride;
      const int8_t *w1 = b + 1 < blocks ? w + (b + 1) * block_stride : NULL;
      size_t valid0 = n - b * NB < NB ? n - b * NB : NB;
      size_t valid1 = w1 != NULL ? (n - (b + 1) * NB < NB ? n - (b + 1) * NB : NB) : 0;
      QsRequantLanes lanes0 = qs_requant_lanes_avx512 (p, b * NB, lane_mask (valid0)), lanes1 = lanes0;
      /* As the VNNI kernel: fast only where both blocks are. */
      bool fast, nonneg = lanes0.nonneg;

      if (w1 != NULL)
        lanes1 = qs_requant_lanes_avx512 (p, (b + 1) * NB, lane_mask (valid1));
      fast = lanes0.fast && (w1 == NULL || lanes1.fast);
      for (size_t i0 = 0; i0 < m; i0 += MR)
        {
          size_t i = i0 + MR <= m ? i0 : m - MR;

          tile_sums (a + i * lda, lda, kp, w0, w1);
          _tile_stored (TILE_C0, sums[0], NB * sizeof (int32_t));
          if (w1 != NULL)
            _tile_stored (TILE_C1, sums[1], NB * sizeof (int32_t));
          for (size_t r = 0; r < MR; r++)
            {
              uint8_t *o = out + (i + r) * ldout + b * NB;

              requant_row (&lanes0, sums[0] + r * NB, rs, i + r, lane_mask (valid0), fast, nonneg, o);
              if (w1 != NULL)
                requant_row (&lanes1, sums[1] + r * NB, rs, i + r, lane_mask (valid1), fast, nonneg,
                             o + NB);
            }
        }
    }
}
