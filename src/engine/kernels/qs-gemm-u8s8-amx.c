/* qs-gemm-u8s8-amx.c: uint8 x int8 GEMM with AMX-INT8 (tdpbusd).
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * tdpbusd does vpdpbusd's arithmetic on tiles: four u8 x s8 products
 * summed into each int32 element with no intermediate saturation, so the
 * sums, and the codes requantized from them, are those of the VNNI
 * kernel bit for bit (int32 addition wraps the same in any order, so
 * starting the sums at the bias, or adding it last, changes nothing).
 *
 * No packing of its own: a B tile is 16 rows of 64 bytes, row q holding
 * k-quad q of 16 channels, and that is exactly the VNNI kernel's layout
 * ([n/16][kp/4][16][4]), 64 k of a block 1 KB apart. So the AMX and VNNI
 * tables share the packed weights, and a model's memory is unchanged.
 *
 * Blocks of 32 rows x 32 channels: two A tiles (16 rows each) times two
 * B tiles (16 channels each) into four sum tiles, so every tile loaded
 * feeds two tdpbusd (one A and two B tiles per two, before: a third more
 * loads). Where m or n leaves 16 rows or one block, the same with one A
 * or B tile. The rows of the last tile, when m is not a multiple of 16,
 * are the last 16: some computed twice, the same values stored twice.
 * With fewer than 16 rows in all the VNNI kernel runs (bit for bit the
 * same).
 *
 * Eight tiles in all, none left for a narrower k tail. With kp up to 64
 * the A and B tiles are configured kp wide (one step); past 64, 64 wide,
 * and the last kp % 64 k come from a copy of each row's last 64 bytes
 * with the ones before the tail zeroed, times the block's last 64 k: the
 * zeroed codes cancel the weights the steps before took (a 16 KB copy
 * per 256 rows, made once for all channels).
 *
 * With codes out the sums go to a 64-byte aligned buffer and are
 * requantized while the next block's tdpbusd run; two blocks' codes of a
 * row go out as one 32-byte store (vpermt2b gathers them, so VBMI too:
 * every CPU with AMX has it). A tile instruction holds the vector ports
 * about as long as 20 vector instructions (measured: the two overlap
 * little), so the sums start at tilezero and the bias is added with the
 * requantization rather than loaded as a tile. With kp up to 64
 * (MobileNetV2's 1x1 expansions) the requantization takes most of the
 * time, and the blocks are 16 rows x 32 channels: the B tiles stay for
 * all rows of a pair of blocks, and two blocks are in flight in
 * alternate tiles, one's sums stored a block before the vector units
 * read them.
 *
 * A thread's tile configuration outlives the call (the kernel saves it
 * with the thread's state), so each thread loads one only when the step
 * width changes rather than per call (LDTILECFG took about 50 ns on a
 * Sapphire Rapids Xeon, against a call's microseconds: small either way).
 */
#include "qs-requantize-avx512.h"
#include <string.h>

#define NB 16   /* channels per packed block, columns of a sum tile */
#define MR 16   /* rows per tile */
#define KT 64   /* k per A tile (bytes of a row) at most */
#define CHUNK_TILES 16  /* row tiles per pass over the channels (256 rows) */

/* Literal numbers: GCC's tile intrinsics paste them into register names.
 * TILE_Crc sums rows of A tile r times B tile c. */
#define TILE_C00 0
#define TILE_C01 1
#define TILE_C10 2
#define TILE_C11 3
#define TILE_A0  4
#define TILE_A1  5
#define TILE_B0  6
#define TILE_B1  7

/* LDTILECFG's 64-byte operand (palette 1). */
typedef struct {
  uint8_t  palette_id;
  uint8_t  start_row;
  uint8_t  reserved[14];
  uint16_t colsb[16];
  uint8_t  rows[16];
} TileConfig;

/* The k per step this thread's tiles are configured for; 0: none yet. */
static _Thread_local size_t configured_width = 0;

static void
configure (size_t width)
{
  TileConfig cfg;

  if (configured_width == width)
    return;
  memset (&cfg, 0, sizeof cfg);
  cfg.palette_id = 1;
  for (int t = TILE_C00; t <= TILE_C11; t++)
    {
      cfg.colsb[t] = NB * sizeof (int32_t);
      cfg.rows[t] = MR;
    }
  for (int t = TILE_A0; t <= TILE_A1; t++)
    {
      cfg.colsb[t] = (uint16_t) width;
      cfg.rows[t] = MR;
    }
  for (int t = TILE_B0; t <= TILE_B1; t++)
    {
      cfg.colsb[t] = NB * 4;
      cfg.rows[t] = (uint8_t) (width / 4);
    }
  _tile_loadconfig (&cfg);
  configured_width = width;
}

/* What a call's blocks share: the k steps and where the tail's codes are. */
typedef struct {
  size_t         lda;
  size_t         kfull;  /* k taken in steps of width straight from A */
  size_t         width;
  size_t         kp;
  uint8_t       *tail;   /* rows' last 64 codes, tail zeroed before; NULL: no tail */
  size_t         tail_row0;  /* the row of tail's first */
} Steps;

/* Rows @r0 (and @r1 when @rows2) of A times block @w0 (and @w1 when
 * @cols2) into the sum tiles. Specialised by the caller on the constant
 * flags. */
static inline __attribute__ ((always_inline)) void
block_products (const Steps    *st,
                const uint8_t  *a,
                size_t          r0,
                size_t          r1,
                const int8_t   *w0,
                const int8_t   *w1,
                bool            rows2,
                bool            cols2)
{
  const uint8_t *a0 = a + r0 * st->lda, *a1 = a + r1 * st->lda;
  long lda = (long) st->lda;

  _tile_zero (TILE_C00);
  if (cols2)
    _tile_zero (TILE_C01);
  if (rows2)
    {
      _tile_zero (TILE_C10);
      if (cols2)
        _tile_zero (TILE_C11);
    }
  for (size_t k = 0; k < st->kfull; k += st->width)
    {
      _tile_loadd (TILE_A0, a0 + k, lda);
      _tile_loadd (TILE_B0, w0 + k * NB, NB * 4);
      _tile_dpbusd (TILE_C00, TILE_A0, TILE_B0);
      if (cols2)
        {
          _tile_loadd (TILE_B1, w1 + k * NB, NB * 4);
          _tile_dpbusd (TILE_C01, TILE_A0, TILE_B1);
        }
      if (rows2)
        {
          _tile_loadd (TILE_A1, a1 + k, lda);
          _tile_dpbusd (TILE_C10, TILE_A1, TILE_B0);
          if (cols2)
            _tile_dpbusd (TILE_C11, TILE_A1, TILE_B1);
        }
    }
  if (st->tail != NULL)
    {
      size_t k = st->kp - KT;

      _tile_loadd (TILE_A0, st->tail + (r0 - st->tail_row0) * KT, KT);
      _tile_loadd (TILE_B0, w0 + k * NB, NB * 4);
      _tile_dpbusd (TILE_C00, TILE_A0, TILE_B0);
      if (cols2)
        {
          _tile_loadd (TILE_B1, w1 + k * NB, NB * 4);
          _tile_dpbusd (TILE_C01, TILE_A0, TILE_B1);
        }
      if (rows2)
        {
          _tile_loadd (TILE_A1, st->tail + (r1 - st->tail_row0) * KT, KT);
          _tile_dpbusd (TILE_C10, TILE_A1, TILE_B0);
          if (cols2)
            _tile_dpbusd (TILE_C11, TILE_A1, TILE_B1);
        }
    }
}

/* The tile op @op on @first_tile, or on @second_tile where @second. */
#define ON_SET(second, op, first_tile, second_tile, ...)                    \
  do                                                                        \
    {                                                                       \
      if (second)                                                           \
        op (second_tile, __VA_ARGS__);                                      \
      else                                                                  \
        op (first_tile, __VA_ARGS__);                                       \
    }                                                                       \
  while (0)

/* With kp <= 64 (one step): rows @r0 .. @r0 + 15 of A times block @w0
 * (and @w1 when @cols2) into the first pair of sum tiles (C00, C01,
 * through A0) or the second (C10, C11, through A1, where @second). The
 * B tiles stay for all rows of a pair of blocks: loaded where @load_b. */
static inline __attribute__ ((always_inline)) void
row_products (const Steps    *st,
              const uint8_t  *a,
              size_t          r0,
              const int8_t   *w0,
              const int8_t   *w1,
              bool            load_b,
              bool            second,
              bool            cols2)
{
  if (load_b)
    {
      _tile_loadd (TILE_B0, w0, NB * 4);
      if (cols2)
        _tile_loadd (TILE_B1, w1, NB * 4);
    }
  if (second)
    {
      _tile_zero (TILE_C10);
      _tile_loadd (TILE_A1, a + r0 * st->lda, (long) st->lda);
      _tile_dpbusd (TILE_C10, TILE_A1, TILE_B0);
      if (cols2)
        {
          _tile_zero (TILE_C11);
          _tile_dpbusd (TILE_C11, TILE_A1, TILE_B1);
        }
    }
  else
    {
      _tile_zero (TILE_C00);
      _tile_loadd (TILE_A0, a + r0 * st->lda, (long) st->lda);
      _tile_dpbusd (TILE_C00, TILE_A0, TILE_B0);
      if (cols2)
        {
          _tile_zero (TILE_C01);
          _tile_dpbusd (TILE_C01, TILE_A0, TILE_B1);
        }
    }
}

/* row_products' sums to @c (16 rows of 32 int32). */
static void
row_store (int32_t *c,
           bool     second,
           bool     cols2)
{
  ON_SET (second, _tile_stored, TILE_C00, TILE_C10, c, 2 * NB * sizeof (int32_t));
  if (cols2)
    ON_SET (second, _tile_stored, TILE_C01, TILE_C11, c + NB, 2 * NB * sizeof (int32_t));
}

/* row_products' four variants, each with its own straight-line tile code. */
static void
row_products_any (const Steps    *st,
                  const uint8_t  *a,
                  size_t          r0,
                  const int8_t   *w0,
                  const int8_t   *w1,
                  bool            load_b,
                  bool            second,
                  bool            cols2)
{
  if (second && cols2)
    row_products (st, a, r0, w0, w1, load_b, true, true);
  else if (second)
    row_products (st, a, r0, w0, w1, load_b, true, false);
  else if (cols2)
    row_products (st, a, r0, w0, w1, load_b, false, true);
  else
    row_products (st, a, r0, w0, w1, load_b, false, false);
}

/* The sum tiles to @c (@ldc int32 apart), as block_products left them. */
static inline __attribute__ ((always_inline)) void
block_store (int32_t *c,
             size_t   ldc,
             size_t   r0,
             size_t   r1,
             bool     rows2,
             bool     cols2)
{
  long stride = (long) (ldc * sizeof (int32_t));

  _tile_stored (TILE_C00, c + r0 * ldc, stride);
  if (cols2)
    _tile_stored (TILE_C01, c + r0 * ldc + NB, stride);
  if (rows2)
    {
      _tile_stored (TILE_C10, c + r1 * ldc, stride);
      if (cols2)
        _tile_stored (TILE_C11, c + r1 * ldc + NB, stride);
    }
}

/* The four variants, each with its own straight-line tile code. */
static void
products (const Steps   *st,
          const uint8_t *a,
          size_t         r0,
          size_t         r1,
          const int8_t  *w0,
          const int8_t  *w1,
          bool           rows2,
          bool           cols2)
{
  if (rows2 && cols2)
    block_products (st, a, r0, r1, w0, w1, true, true);
  else if (rows2)
    block_products (st, a, r0, r1, w0, w1, true, false);
  else if (cols2)
    block_products (st, a, r0, r1, w0, w1, false, true);
  else
    block_products (st, a, r0, r1, w0, w1, false, false);
}

static void
store (int32_t *c,
       size_t   ldc,
       size_t   r0,
       size_t   r1,
       bool     rows2,
       bool     cols2)
{
  if (rows2 && cols2)
    block_store (c, ldc, r0, r1, true, true);
  else if (rows2)
    block_store (c, ldc, r0, r1, true, false);
  else if (cols2)
    block_store (c, ldc, r0, r1, false, true);
  else
    block_store (c, ldc, r0, r1, false, false);
}

static inline __mmask16
lane_mask (size_t valid)
{
  return valid >= NB ? (__mmask16) 0xFFFF : (__mmask16) ((1u << valid) - 1);
}

/* The k steps of a call; the tail's copy, when there is one, made per
 * pass by tail_copy. */
static Steps
steps_of (size_t kp,
          size_t lda,
          uint8_t *tail)
{
  Steps st = { .lda = lda, .kp = kp, .width = kp < KT ? kp : KT };

  st.kfull = kp <= KT ? kp : kp / KT * KT;
  st.tail = st.kfull < kp ? tail : NULL;
  return st;
}

/* Rows @r0 .. @r1 - 1's last 64 codes into st->tail, the k before the
 * tail zeroed (a masked load reads only the tail's bytes of A). */
static void
tail_copy (Steps         *st,
           const uint8_t *a,
           size_t         r0,
           size_t         r1)
{
  size_t t = st->kp - st->kfull;
  __mmask64 keep = ~(__mmask64) 0 << (KT - t);

  st->tail_row0 = r0;
  for (size_t r = r0; r < r1; r++)
    _mm512_store_si512 ((void *) (st->tail + (r - r0) * KT),
                        _mm512_maskz_loadu_epi8 (keep, a + r * st->lda + st->kp - KT));
}

/* The first row of tile @t of @m rows (m >= 16): the last tile is the
 * last 16 rows. */
static inline size_t
tile_row (size_t t,
          size_t m)
{
  return t * MR + MR <= m ? t * MR : m - MR;
}

/* The chunk of tiles from @t0 (CHUNK_TILES, or the rest of @tiles), its
 * rows' k tail copied where the steps need one: the end of the chunk. */
static inline size_t
chunk_begin (Steps         *st,
             const uint8_t *a,
             size_t         t0,
             size_t         tiles,
             size_t         m)
{
  size_t t1 = t0 + CHUNK_TILES < tiles ? t0 + CHUNK_TILES : tiles;

  if (st->tail != NULL)
    tail_copy (st, a, tile_row (t0, m), tile_row (t1 - 1, m) + MR);
  return t1;
}

/* Blocks @b and @b + 1 of the packed weights @w (the second where there
 * is one) and how many of the n columns they hold. */
typedef struct {
  const int8_t *w0, *w1;
  bool          cols2;
  size_t        valid;
} ColumnPair;

static inline ColumnPair
column_pair (const int8_t *w,
             size_t        b,
             size_t        blocks,
             size_t        block_stride,
             size_t        n)
{
  ColumnPair cp = { w + b * block_stride, NULL, b + 1 < blocks, n - b * NB < 2 * NB ? n - b * NB : 2 * NB };

  if (cp.cols2)
    cp.w1 = cp.w0 + block_stride;
  return cp;
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
  size_t blocks = (n + NB - 1) / NB, block_stride = kp * NB, tiles = (m + MR - 1) / MR;
  _Alignas (64) int32_t sums[2 * MR][2 * NB];
  _Alignas (64) uint8_t tail[CHUNK_TILES * MR * KT];
  Steps st = steps_of (kp, lda, tail);

  if (m < MR)
    {
      qs_gemm_u8s8_avx512vnni (m, n, kp, a, lda, packed, c, ldc);
      return;
    }
  configure (st.width);
  for (size_t t0 = 0; t0 < tiles; t0 += CHUNK_TILES)
    {
      size_t t1 = chunk_begin (&st, a, t0, tiles, m);

      for (size_t b = 0; b < blocks; b += 2)
        {
          ColumnPair cp = column_pair (w, b, blocks, block_stride, n);
          const int8_t *w0 = cp.w0, *w1 = cp.w1;
          bool cols2 = cp.cols2;
          size_t valid = cp.valid;

          for (size_t t = t0; t < t1; t += 2)
            {
              bool rows2 = t + 1 < t1;
              size_t r0 = tile_row (t, m), r1 = rows2 ? tile_row (t + 1, m) : r0;

              products (&st, a, r0, r1, w0, w1, rows2, cols2);
              if (valid == 2 * NB || (!cols2 && valid == NB))
                {
                  /* Straight into C: its rows are ldc apart. */
                  store (c + b * NB, ldc, r0, r1, rows2, cols2);
                  continue;
                }
              store (&sums[0][0], 2 * NB, 0, MR, rows2, cols2);
              for (size_t r = 0; r < (rows2 ? 2 * MR : MR); r++)
                {
                  size_t row = r < MR ? r0 + r : r1 + r - MR;

                  _mm512_mask_storeu_epi32 (c + row * ldc + b * NB, lane_mask (valid),
                                            _mm512_load_si512 (sums[r]));
                  if (valid > NB)
                    _mm512_mask_storeu_epi32 (c + row * ldc + (b + 1) * NB, lane_mask (valid - NB),
                                              _mm512_load_si512 (sums[r] + NB));
                }
            }
        }
    }
}

/* ---- codes out ------------------------------------------------------------------------- */

/* One block of sums waiting for its codes: rows r0 + (r1 when rows2) of
 * sums[], channels from c0 (valid of them, up to 32), requantized by
 * lanes[0] (and [1] for the second 16). */
typedef struct {
  const QsRequantLanes *lanes;
  size_t                r0, r1, c0, valid;
  bool                  rows2, cols2;
} Pending;

/* A row's codes from the 64-bit path: where the float path cannot vouch
 * for a lane (about 1 vector in 250) or does not apply. Out of line, so
 * that its parameters take no registers from the float path's. */
static __attribute__ ((noinline)) void
requant_row_exact (const QsRequantLanes *l,
                   __m512i               x0,
                   __m512i               x1,
                   __mmask32             mask,
                   bool                  cols2,
                   uint8_t              *o)
{
  _mm512_mask_cvtepi32_storeu_epi8 (o, (__mmask16) mask, qs_requant_exact_avx512 (&l[0], x0));
  if (cols2)
    _mm512_mask_cvtepi32_storeu_epi8 (o + NB, (__mmask16) (mask >> 16), qs_requant_exact_avx512 (&l[1], x1));
}

/* The rows of a pending block to codes: the VNNI kernel's
 * requantization, step for step, of the sums plus the bias (its
 * accumulators start at the bias: the same int32 totals); the two
 * blocks' codes of a row, from the float path, gathered into one 32-byte
 * store. */
static inline __attribute__ ((always_inline)) void
requant_block_body (const Pending          *pb,
                    const int32_t           sums[2 * MR][2 * NB],
                    const int32_t          *rowsum,
                    uint8_t                *out,
                    size_t                  ldout,
                    bool                    cols2,
                    bool                    nonneg)
{
  const QsRequantLanes *l = pb->lanes;
  /* Only the float path's parameters, in locals: read through @l, GCC
   * would reload them for every vector (the codes' uint8_t stores may
   * alias them) or keep the 64-bit path's in registers instead. */
  QsRequantLanes f[2];
  __m512i bias0, bias1;
  /* Byte 0 of each int32 lane of two vectors, in order. */
  const __m512i gather = _mm512_set_epi8 (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                          0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                          124, 120, 116, 112, 108, 104, 100, 96,
                                          92, 88, 84, 80, 76, 72, 68, 64,
                                          60, 56, 52, 48, 44, 40, 36, 32,
                                          28, 24, 20, 16, 12, 8, 4, 0);
  __mmask16 mask0 = lane_mask (pb->valid);
  __mmask32 mask = cols2 ? (__mmask32) mask0 | (__mmask32) lane_mask (pb->valid - NB) << 16 : mask0;
  bool fast = l[0].fast && (!cols2 || l[1].fast);
  size_t rows = pb->rows2 ? 2 * MR : MR;

  for (int b = 0; b < (cols2 ? 2 : 1); b++)
    {
      f[b].scale = l[b].scale;
      f[b].add_pos = l[b].add_pos;
      f[b].add_neg = l[b].add_neg;
      f[b].lo_f = l[b].lo_f;
      f[b].hi_f = l[b].hi_f;
      f[b].near_test = l[b].near_test;
      f[b].wzp = l[b].wzp;
      f[b].bias = l[b].bias;
    }
  bias0 = f[0].bias;
  bias1 = cols2 ? f[1].bias : bias0;
  out += pb->c0;
  for (size_t r = 0; r < rows; r++)
    {
      size_t row = r < MR ? pb->r0 + r : pb->r1 + r - MR;
      uint8_t *o = out + row * ldout;
      __m512i x0 = _mm512_load_si512 (sums[r]), x1 = _mm512_setzero_si512 ();
      __mmask16 near0 = 0, near1 = 0;

      if (cols2)
        x1 = _mm512_load_si512 (sums[r] + NB);
      x0 = _mm512_add_epi32 (x0, bias0);
      if (cols2)
        x1 = _mm512_add_epi32 (x1, bias1);
      if (rowsum != NULL)
        {
          __m512i rs = _mm512_set1_epi32 (rowsum[row]);

          x0 = _mm512_sub_epi32 (x0, _mm512_mullo_epi32 (f[0].wzp, rs));
          if (cols2)
            x1 = _mm512_sub_epi32 (x1, _mm512_mullo_epi32 (f[1].wzp, rs));
        }
      if (!fast)
        {
          requant_row_exact (l, x0, x1, mask, cols2, o);
          continue;
        }
      if (cols2)
        {
          __m512i c0 = qs_requant_fast_avx512 (&f[0], x0, nonneg, &near0);
          __m512i c1 = qs_requant_fast_avx512 (&f[1], x1, nonneg, &near1);

          _mm256_mask_storeu_epi8 (o, mask,
                                   _mm512_castsi512_si256 (_mm512_permutex2var_epi8 (c0, gather, c1)));
        }
      else
        _mm512_mask_cvtepi32_storeu_epi8 (o, mask0, qs_requant_fast_avx512 (&f[0], x0, nonneg, &near0));
      if (!_kortestz_mask16_u8 (near0, near1))
        requant_row_exact (l, x0, x1, mask, cols2, o);
    }
}

/* Specialised on one or two blocks and on nonneg (a ReLU: the
 * requantizer's sign test left out), as the VNNI kernel is. */
#define REQUANT_BLOCK(name, cols2, nonneg)                                                       \
  static __attribute__ ((noinline)) void                                                        \
  name (const Pending *pb, const int32_t sums[2 * MR][2 * NB], const int32_t *rowsum,           \
        uint8_t *out, size_t ldout)                                                             \
  {                                                                                             \
    requant_block_body (pb, sums, rowsum, out, ldout, cols2, nonneg);                           \
  }
REQUANT_BLOCK (requant_block_pair, true, false)
REQUANT_BLOCK (requant_block_pair_nonneg, true, true)
REQUANT_BLOCK (requant_block_single, false, false)
REQUANT_BLOCK (requant_block_single_nonneg, false, true)
#undef REQUANT_BLOCK

static void
requant_block (const Pending *pb,
               const int32_t  sums[2 * MR][2 * NB],
               const int32_t *rowsum,
               uint8_t       *out,
               size_t         ldout)
{
  /* nonneg follows act_min and the zero point, the same for both blocks. */
  if (pb->cols2)
    (pb->lanes[0].nonneg ? requant_block_pair_nonneg : requant_block_pair) (pb, sums, rowsum, out, ldout);
  else
    (pb->lanes[0].nonneg ? requant_block_single_nonneg : requant_block_single) (pb, sums, rowsum, out,
                                                                                 ldout);
}

/* What a call with codes out keeps: the tail's copy, three sets of
 * lanes (a pair of blocks' each: up to two pending, one current) and the
 * sums of the blocks waiting for their codes. */
typedef struct {
  _Alignas (64) int32_t sums[2][2 * MR][2 * NB];
  _Alignas (64) uint8_t tail[CHUNK_TILES * MR * KT];
  QsRequantLanes        lanes[3][2];
  Pending               pending[2];
  unsigned int          set;
} Requant;

/* The next set of lanes, for blocks @b and @b + 1 (@cols2). */
static const QsRequantLanes *
next_lanes (Requant               *rq,
            const QsRequantParams *p,
            size_t                 b,
            size_t                 valid,
            bool                   cols2)
{
  QsRequantLanes *l;

  rq->set = (rq->set + 1) % 3;
  l = rq->lanes[rq->set];
  l[0] = qs_requant_lanes_avx512 (p, b * NB, lane_mask (valid));
  if (cols2)
    l[1] = qs_requant_lanes_avx512 (p, (b + 1) * NB, lane_mask (valid - NB));
  return l;
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
  size_t blocks = (n + NB - 1) / NB, block_stride = kp * NB, tiles = (m + MR - 1) / MR;
  const int32_t *rs = p->weight_zp != NULL ? rowsum : NULL;
  Requant rq;
  Steps st = steps_of (kp, lda, rq.tail);
  /* One step of k: 16-row blocks, two in flight (see the top). */
  bool by_rows = kp <= KT;
  /* Blocks begun; the last one or two wait for their codes. */
  size_t begun = 0;

  if (m < MR)
    {
      qs_gemm_requant_u8s8_avx512vnni (m, n, kp, a, lda, packed, rowsum, p, out, ldout);
      return;
    }
  rq.set = 0;
  rq.pending[0] = rq.pending[1] = (Pending) { 0 };
  configure (st.width);
  for (size_t t0 = 0; t0 < tiles; t0 += CHUNK_TILES)
    {
      size_t t1 = chunk_begin (&st, a, t0, tiles, m);

      for (size_t b = 0; b < blocks; b += 2)
        {
          ColumnPair cp = column_pair (w, b, blocks, block_stride, n);
          const int8_t *w0 = cp.w0, *w1 = cp.w1;
          bool cols2 = cp.cols2;
          size_t valid = cp.valid;
          const QsRequantLanes *lanes = next_lanes (&rq, p, b, valid, cols2);

          for (size_t t = t0; t < t1; t += by_rows ? 1 : 2)
            {
              bool rows2 = !by_rows && t + 1 < t1;
              size_t r0 = tile_row (t, m), r1 = rows2 ? tile_row (t + 1, m) : r0;
              size_t now = begun & 1, last = now ^ 1;

              if (by_rows)
                {
                  /* The last block's sums out (its tdpbusd long done),
                   * this one's products in the other tiles, and the
                   * codes of the one before, stored a block ago. */
                  if (begun >= 1)
                    row_store (&rq.sums[last][0][0], last == 1, rq.pending[last].cols2);
                  row_products_any (&st, a, r0, w0, w1, t == t0, now == 1, cols2);
                  if (begun >= 2)
                    requant_block (&rq.pending[now], (const int32_t (*)[2 * NB]) rq.sums[now], rs, out,
                                   ldout);
                }
              else
                {
                  /* This block's tdpbusd first, the last block's codes
                   * meanwhile, then this block's sums out. */
                  products (&st, a, r0, r1, w0, w1, rows2, cols2);
                  if (begun >= 1)
                    requant_block (&rq.pending[last], (const int32_t (*)[2 * NB]) rq.sums[last], rs, out,
                                   ldout);
                  store (&rq.sums[now][0][0], 2 * NB, 0, MR, rows2, cols2);
                }
              rq.pending[now] = (Pending) {
                .lanes = lanes, .r0 = r0, .r1 = r1, .c0 = b * NB, .valid = valid,
                .rows2 = rows2, .cols2 = cols2,
              };
              begun++;
            }
        }
    }
  /* The blocks still pending (m >= 16 and n >= 1: one at least). */
  {
    size_t last = (begun - 1) & 1;

    if (by_rows)
      {
        row_store (&rq.sums[last][0][0], last == 1, rq.pending[last].cols2);
        if (begun >= 2)
          requant_block (&rq.pending[last ^ 1], (const int32_t (*)[2 * NB]) rq.sums[last ^ 1], rs, out,
                         ldout);
      }
    requant_block (&rq.pending[last], (const int32_t (*)[2 * NB]) rq.sums[last], rs, out, ldout);
  }
}
