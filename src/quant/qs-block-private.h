/* qs-block-private.h: the block pass's state, shared by its scalar reference and its SIMD kernels.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A block kernel does one block's whole work: the non-finite check, the
 * range, the scale (qs_block_scale), the codes, the error sums, the clip
 * and zero counts and the histogram increments, then hands the block's
 * sums to the task's and to qs_block_tally. The reference is run_block in qs-block.c; the
 * SIMD kernels (qs-block-avx512.c) compute the same operations in the same
 * order per element and per lane, and tests hold them to it bit for bit.
 */
#pragma once

#include <math.h>
#include <string.h>

#include "qs-block.h"
#include "qs-float-format.h"
#include "qs-float-format-private.h"
#include "qs-fused-private.h"

/* The sums of a block are kept in this many double lanes, element j in
 * lane j % QS_BLOCK_LANES, each lane in element order; then lanes l and
 * l + 4 are added, for l = 0..3, and those four sums in order of l. The
 * squared error folds so at the end of each block (the worst-first list
 * needs it); the sums only the task needs (x2, recon2, err2_exact)
 * keep their lanes over a kernel call's run of blocks and fold at its
 * end, which saves four folds and their totals per block. Every kernel
 * keeps this order (a SIMD kernel's step then adds to each lane twice,
 * and its lanes fold into four with one add). */
#define QS_BLOCK_LANES 8
/* Elements a SIMD kernel's slot ring holds per step, and steps in it. */
#define QS_BLOCK_STEP 16
#define QS_BLOCK_RING 4
#define QS_BLOCK_RECON_COPIES 4
/* The largest pair table with scale rows, in 32-bit entries (4 MiB):
 * only the rows in use are touched. */
#define QS_BLOCK_ROWS_MAX_ENTRIES ((size_t) 1 << 20)

typedef struct {
  double err2;
  double x2;
  double recon2;
  double err2_exact;
  double padding[4];
} QsBlockTaskSums;

typedef struct {
  size_t block;
  double mse;
  double max_abs_error;
} QsBlockWorst;

typedef struct {
  uint64_t    *codes;         /* [code_slots + 1] */
  uint64_t    *orig;          /* [bins + 3] */
  /* Reconstruction bins, in QS_BLOCK_RECON_COPIES tables of recon_stride
   * (bins + 3) entries: a SIMD kernel counts step slot l in table
   * l % QS_BLOCK_RECON_COPIES, so that runs of one bin (the bin of 0.0
   * in every block, a block's common levels) are not one chain of
   * increments of one counter; the scalar kernel counts in the first. */
  uint64_t    *recon;
  size_t       recon_stride;
  uint64_t    *scale_counts;  /* [scale slots] */
  float       *scratch;       /* [block_size] */
  uint64_t     clipped;
  uint64_t     nonfinite;
  uint64_t     zero_blocks;
  double       max_error;
  double       zero_error;
  int          worst_count;
  QsBlockWorst worst[QS_BLOCK_WORST];
  /* A SIMD kernel's histogram slots (code, original bin, reconstruction
   * bin, and with recon2_by_key the (scale key, code) slot of a step
   * without a scale row) of its last steps, counted QS_BLOCK_RING - 1
   * steps late so the loads do not wait on the vector stores;
   * qs_block_kernel_flush counts what is left. */
  int32_t      ring[QS_BLOCK_RING][4][QS_BLOCK_STEP] __attribute__ ((aligned (64)));
  int          ring_filled[QS_BLOCK_RING];
  size_t       ring_steps;
  /* Whether a step's block has a scale row, which stands for its
   * reconstruction bins (see joint); else they are in its slots [2]. */
  bool         ring_rowed[QS_BLOCK_RING];
  /* Where a SIMD kernel counts (code, original bin) pairs as one
   * increment, joint[code * joint_stride + bin] (see QsFusedCounts);
   * qs_block_fold_joint moves them into codes and orig. NULL otherwise.
   * With scale rows (QsBlockPass.joint_rows), a block whose scale has a
   * row counts at joint[(row * code_slots + code) * joint_stride + bin]:
   * its scale and code fix the reconstruction, so its bin is counted
   * once per entry at the fold instead of once per element; the table's
   * first code_slots * joint_stride entries are the plain pairs of
   * blocks without a row, whose reconstruction bins are counted directly.
   * Row r + 1 holds the scale row_scale[r]; row_of_key maps a block's
   * scale key (qs_block_scale_row_key) to its row, or 0 for none yet. */
  uint32_t    *joint;
  uint64_t     joint_pending;
  uint16_t     row_of_key[256];
  size_t       rows_used;
  float       *row_scale;     /* [joint_rows + 1] */
  uint8_t      row_key[256];  /* the scale key of row r + 1 */
  /* With recon2_by_key, code slots by block scale key: the keys in the
   * order the worker met them (key_index[key] - 1, 0 for not met),
   * [index * code_slots + slot], room for keys_room keys (grown as
   * keys are met: a tensor's blocks share a few); the counts of blocks
   * without a scale row as counted, the rows' after their fold. */
  uint64_t    *key_codes;
  uint16_t     key_index[256];
  size_t       keys_met;
  size_t       keys_room;
  bool         out_of_memory;  /* key_codes could not grow: the pass fails */
  /* A block of n elements whose error sum is below worst_floor * n
   * cannot enter the worst-first list (qs_block_worst_cannot_enter);
   * 0, which no sum is below, while the list fills. */
  double       worst_floor;
} QsBlockWorker;

typedef struct {
  float           inv;          /* encode: scaled = x * inv, or x / scale when divide */
  float           scale;        /* decode: x' = element * scale */
  bool            divide;       /* NVFP4 divides, as ModelOpt does */
  bool            zero;         /* no information: every code is the code of 0.0 */
  float           exact_scale;  /* the unrounded scale, for the inspector */
  uint8_t         scale_code;   /* E8M0 or E4M3 byte */
  int             scale_log2;   /* MX: the E8M0 exponent */
  QsChannelCoeffs coeffs;       /* integer groups */
} QsBlockScale;

typedef struct _QsBlockPass QsBlockPass;

/* Blocks @first to @first + @count - 1, their elements back to back from
 * @x (as in a contiguous run, or one gathered block). */
typedef void (*QsBlockKernel) (const QsBlockPass *p,
                               QsBlockWorker     *w,
                               QsBlockTaskSums   *sums,
                               size_t             first,
                               size_t             count,
                               const float       *x);

struct _QsBlockPass {
  const QsScheme   *scheme;
  QsChannelLayout   layout;
  QsBlockGeometry   geo;
  const float      *data;
  float             tensor_scale;
  int               qmin;
  int               qmax;
  size_t            code_slots;
  bool              histograms;   /* off for the sweep */
  bool              inspect;
  bool              bands;        /* channels-last: a task is a band of block rows */
  size_t            units_per_task;
  size_t            n_tasks;
  QsFusedArgs       hist;         /* only the histogram fields */
  size_t            scale_slots;
  float             values[256];  /* element values by code slot */
  /* NF4 by bucket (qs_block_nf4_bucket): the count of thresholds in
   * buckets below, and the bucket's threshold (+inf for none); see
   * fill_nf4_buckets. */
  int32_t           nf4_bucket_base[32];
  float             nf4_bucket_threshold[32];
  /* NVFP4: the inspector's slot of each positive E4M3 scale code (times
   * the tensor scale), so a kernel looks a block's slot up. */
  uint16_t          nvfp4_scale_slots[128];
  QsBlockKernel     kernel;
  /* The data's histogram is known (QsRangeMemo.hist): the kernels with
   * joint counts count code slots alone (joint_stride 1) and bin no
   * element of the data. */
  bool              data_hist_known;
  /* The data's sum of squares is known for this layout and group size
   * (qs_range_memo_block_squares): the change of scheme's kernel does
   * not sum it (any kernel's sum would be the same, bit for bit). */
  bool              x2_known;
  /* With it known, integer groups (whose blocks have no scale rows)
   * pair code slots with reconstruction bins instead, one increment for
   * the two counts: joint[code * joint_stride + reconstruction bin]. */
  bool              joint_recon;
  /* Sixteen code slots counted alone with scale rows (MXFP4, NVFP4):
   * elements 2i and 2i + 1 of a step as one pair, joint[row * row_entries
   * + a * 17 + b], b 16 for no second element (a step's odd end): half
   * the increments, which bound these passes. */
  bool              code_pairs;
  size_t            row_entries;   /* the joint table's entries per scale row */
  size_t            joint_stride;  /* bins + 3 where workers count pairs, 1 for code slots alone, else 0 */
  size_t            joint_rows;    /* scale rows each worker may open (MX, NVFP4), or 0 */
  /* MX and NVFP4 with histograms: a block's scale key
   * (qs_block_scale_row_key) and an element's code fix its
   * reconstruction, so the sum of squared reconstructions is taken from
   * the count of each (key, code) (recon2_by_key in qs-block.c), in one
   * order whichever kernel, worker or pass counted them, instead of
   * summed per element. */
  bool              recon2_by_key;
  QsBlockTaskSums  *sums;
  int               n_workers;
  QsBlockWorker    *workers;
};

/* log2 of block scales, the inspector's histogram: E8M0 spans
 * 2^-127..2^127; float32 scales 2^-149..2^128. */
#define QS_BLOCK_SCALE_LOG2_MIN (-160)
#define QS_BLOCK_SCALE_LOG2_MAX 136
#define QS_BLOCK_SCALE_SUBBINS 4

/* NF4's bucket of a scaled element @v: a cut of [-1, 1] into 32
 * buckets narrower than the gaps between NF4's thresholds (0.0625
 * against 0.08 at least), so each holds at most one. Monotone in @v (each
 * operation rounds monotonically), so a threshold in a lower bucket lies
 * below @v and one in a higher bucket above: an element's code is the
 * count of thresholds in lower buckets plus whether it exceeds its own
 * bucket's. The SIMD kernel computes it with the same operations. */
static inline int32_t
qs_block_nf4_bucket (float v)
{
  float t = (v + 1.0f) * 16.0f;

  t = t > 0.0f ? t : 0.0f;
  t = t < 31.0f ? t : 31.0f;
  return (int32_t) t;
}

/* The length of block @g of a run. */
static inline size_t
qs_block_length (const QsBlockGeometry *geo,
                 size_t                 g)
{
  size_t start = g * geo->block_size;

  return geo->run_length - start < geo->block_size ? geo->run_length - start : geo->block_size;
}

/* The format's largest element magnitude. Inline: a block's scale
 * divides by it, and as a call it cost every MX block one. */
static inline float
qs_block_element_max (QsFormat format)
{
  switch (format)
    {
    case QS_FORMAT_MXFP8_E4M3:
      return QS_FP8_E4M3_MAX;
    case QS_FORMAT_MXFP8_E5M2:
      return QS_FP8_E5M2_MAX;
    case QS_FORMAT_MXFP6_E2M3:
      return QS_FP6_E2M3_MAX;
    case QS_FORMAT_MXFP6_E3M2:
      return QS_FP6_E3M2_MAX;
    case QS_FORMAT_MXFP4:
    case QS_FORMAT_NVFP4:
      return QS_FP4_E2M1_MAX;
    case QS_FORMAT_MXINT8:
      return 127.0f / 64.0f;
    case QS_FORMAT_NF4:
    default:
      return 1.0f;
    }
}

static inline bool
qs_block_format_is_mx (QsFormat format)
{
  return format >= QS_FORMAT_MXFP8_E4M3 && format <= QS_FORMAT_MXINT8;
}

/* The exponent of the largest power of two an MX element holds, for
 * the E8M0 scale. */
static inline int
qs_block_element_emax (QsFormat format)
{
  switch (format)
    {
    case QS_FORMAT_MXFP8_E4M3:
      return 8;
    case QS_FORMAT_MXFP8_E5M2:
      return 15;
    case QS_FORMAT_MXFP6_E2M3:
    case QS_FORMAT_MXFP4:
      return 2;
    case QS_FORMAT_MXFP6_E3M2:
      return 4;
    case QS_FORMAT_MXINT8:
    default:
      return 0;
    }
}

/* 2^e for -149 <= e <= 127, exactly (ldexpf without the call). */
static inline float
qs_block_pow2f (int e)
{
  return f32_from_bits (e >= -126 ? (uint32_t) (e + 127) << 23 : UINT32_C (1) << (e + 149));
}

/* floor (log2 (v)) of a finite v > 0, from its bits (frexpf without the
 * call: frexpf's exponent minus one). */
static inline int
qs_block_floor_log2f (float v)
{
  uint32_t bits = f32_bits (v);
  int biased = (int) (bits >> 23);
  if (biased > 0)
    return biased - 127;
  return 31 - __builtin_clz (bits) - 149;
}

/* Whether the inspector prices the block's scale rounding with a second
 * encode at the exact scale. */
static inline bool
qs_block_scale_is_rounded (QsFormat format)
{
  return format != QS_FORMAT_INT && format != QS_FORMAT_NF4;
}

void qs_block_scale (const QsScheme *scheme,
                     float           tensor_scale,
                     float           amax,
                     float           lo,
                     float           hi,
                     QsBlockScale   *b);

/* The MX part of qs_block_scale (every field but coeffs), which the SIMD
 * kernel inlines. */
static inline void
qs_block_scale_mx (QsFormat      format,
                   float         amax,
                   QsBlockScale *b)
{
  int e = -127;

  b->divide = false;
  if (amax > 0.0f)
    {
      e = qs_block_floor_log2f (amax) - qs_block_element_emax (format);
      e = e < -127 ? -127 : e > 127 ? 127 : e;
    }
  b->scale = qs_block_pow2f (e);
  b->inv = qs_block_pow2f (-e);
  b->scale_code = (uint8_t) (e + 127);
  b->scale_log2 = e;
  /* An all-zero block's exact scale is its stored one; the scale 2^-127
   * encodes zeros (and -0.0) like any other. */
  b->exact_scale = amax > 0.0f ? amax / qs_block_element_max (format) : b->scale;
  b->zero = false;
}

/* 2^(1/4), 2^(1/2) and 2^(3/4), the edges of a binade's quarters in the
 * inspector's scale histogram, as doubles. */
static const double qs_block_scale_quarters[3] = { 1.1892071150027210667, 1.4142135623730950488,
                                                   1.6817928305074290861 };

/* The inspector's histogram slot of a block's scale, out of @slots. */
static inline size_t
qs_block_scale_slot (QsFormat            format,
                     const QsBlockScale *b,
                     size_t              slots)
{
  long bin;

  if (qs_block_format_is_mx (format))
    bin = (long) b->scale_log2 - QS_BLOCK_SCALE_LOG2_MIN;  /* log2 of 2^e is e */
  else
    {
      /* floor ((log2 (scale) - QS_BLOCK_SCALE_LOG2_MIN) * 4) without the
       * log: with scale = m * 2^e, m in [1, 2), it is 4 (e -
       * QS_BLOCK_SCALE_LOG2_MIN) plus how many of 2^(1/4), 2^(1/2),
       * 2^(3/4) m exceeds. Those are irrational, so no float m equals them
       * nor lies between them and their doubles below, and log2 (a float)
       * lands on the same side of each quarter
       * (tests/quant/test-block-kernels.c checks the floats next to every
       * edge). */
      const double *quarter = qs_block_scale_quarters;
      double v = (double) b->scale, m;  /* normal as a double, and positive */
      uint64_t bits;
      long e;

      memcpy (&bits, &v, sizeof bits);
      e = (long) (bits >> 52) - 1023;
      bits = (bits & ~(UINT64_C (0x7ff) << 52)) | (UINT64_C (1023) << 52);
      memcpy (&m, &bits, sizeof m);
      bin = (e - QS_BLOCK_SCALE_LOG2_MIN) * QS_BLOCK_SCALE_SUBBINS + (m > quarter[0]) + (m > quarter[1])
            + (m > quarter[2]);
    }
  if (bin < 0)
    bin = 0;
  if ((size_t) bin >= slots)
    bin = (long) slots - 1;
  return (size_t) bin;
}

/* Whether block @a (error @ea) comes before block @b in the worst-first
 * list: a NaN error (a block with non-finite weights) first, then the
 * largest error, ties by block number. A total order, so merging the
 * workers' lists gives the same list whatever the scheduling (with a
 * plain "<", a NaN entry stopped later ones from moving past it). */
static inline bool
qs_block_worst_before (double ea,
                       size_t a,
                       double eb,
                       size_t b)
{
  if (isnan (ea) != isnan (eb))
    return isnan (ea);
  if (!isnan (ea) && ea != eb)
    return ea > eb;
  return a < b;
}

/* Whether a block of error @mse would enter @w's worst-first list: most
 * blocks do not, and are settled by this one comparison. */
static inline bool
qs_block_worst_admits (const QsBlockWorker *w,
                       size_t               block,
                       double               mse)
{
  return w->worst_count < QS_BLOCK_WORST
         || qs_block_worst_before (mse, block, w->worst[QS_BLOCK_WORST - 1].mse, w->worst[QS_BLOCK_WORST - 1].block);
}

/* Whether a block of @n elements and error sum @err2 is sure not to
 * enter @w's worst-first list, without the division of its mse: with m
 * the list's last mse and F = m (1 - 2^-40) rounded, err2 < F n rounded
 * means err2 / n < m (1 - 2^-41), which rounds below m (so the block
 * comes after it), as long as m is far from the subnormals where one
 * rounding can be that coarse. */
static inline bool
qs_block_worst_cannot_enter (const QsBlockWorker *w,
                             size_t               n,
                             double               err2)
{
  return err2 < w->worst_floor * (double) n;
}

void qs_block_worst_insert (QsBlockWorker *w,
                            size_t         block,
                            double         mse,
                            double         max_abs_error);

/* The scale at which the inspector encodes a second time. */
void qs_block_exact_scale (const QsBlockScale *b,
                           QsBlockScale       *exact);

/* The range of x[0..n) (finite): eight lanes, element j in lane j % 8
 * for the full rows of eight, the rest in order, then the lanes in order. */
void qs_block_range_finish (const float  a[8],
                            const float  l[8],
                            const float  h[8],
                            const float *x,
                            size_t       rows_end,
                            size_t       n,
                            float       *amax,
                            float       *lo,
                            float       *hi);

/* A block with @bad non-finite values among x[0..*n): tallies them and
 * returns its finite values, gathered into the worker's scratch. */
const float *qs_block_drop_nonfinite (const QsBlockPass *p,
                                      QsBlockWorker     *w,
                                      const float       *x,
                                      size_t            *n);

/* The end of a block, after its sums went into the task's: the
 * inspector's and the worker's tallies; @err2 is the block's error sum. */
void qs_block_tally (const QsBlockPass  *p,
                     QsBlockWorker      *w,
                     size_t              block,
                     const QsBlockScale *b,
                     float               amax,
                     size_t              n,
                     double              err2,
                     float               max_error,
                     uint64_t            clipped);

void qs_block_kernel_scalar (const QsBlockPass *p, QsBlockWorker *w, QsBlockTaskSums *sums,
                             size_t first, size_t count, const float *x);
#if defined(__x86_64__)
void qs_block_kernel_avx512 (const QsBlockPass *p, QsBlockWorker *w, QsBlockTaskSums *sums,
                             size_t first, size_t count, const float *x);
/* The AVX-512 kernel's rounding of scaled elements @v[0..@n) to a float
 * format's grid at the exact scale (the inspector's second encode), for
 * tests: the value of the element encoder's code, up to the sign of a
 * zero; @bounded for |v| at most the largest element times 1 + 2^-22.
 * Zeros for the other formats. */
void qs_block_float_round_avx512 (QsFormat format, bool bounded, const float *v, float *out, size_t n);
/* The AVX-512 kernel's qs_block_scale_slot of integer-group scales
 * @scale[0..@n) (normal floats), for tests. */
void qs_block_int_scale_slots_avx512 (const float *scale, size_t n, size_t slots, uint32_t *out);
/* The AVX-512 kernel's value of FP8 codes @code[0..@n) (E4M3 for
 * QS_FORMAT_MXFP8_E4M3, else E5M2), for tests. */
void qs_block_fp8_decode_avx512 (QsFormat format, const uint32_t *code, float *out, size_t n);
#endif

/* The key of a block's scale row: blocks of one key share their scale,
 * so a code's reconstruction. MX: the E8M0 byte; NVFP4: the E4M3 byte
 * of a stored scale, 255 for a block encoded as zeros (scale 0). */
static inline unsigned
qs_block_scale_row_key (const QsBlockScale *b)
{
  return b->zero ? 255u : b->scale_code;
}

size_t qs_block_key_codes_open (QsBlockWorker *w,
                                unsigned       key,
                                size_t         code_slots);

/* Where @w's key_codes for the blocks of scale key @key begin, which the
 * first of them opens (qs_block_key_codes_open). */
static inline size_t
qs_block_key_codes (QsBlockWorker *w,
                    unsigned       key,
                    size_t         code_slots)
{
  if (__builtin_expect (w->key_index[key] == 0, 0))
    return qs_block_key_codes_open (w, key, code_slots);
  return (size_t) (w->key_index[key] - 1) * code_slots;
}

/* Counts the first @n slots of a step of @w's ring: [0] are (code,
 * original bin) pairs where @joint, else codes and [1] original bins;
 * [2] reconstruction bins where @direct; [3] (scale key, code) slots
 * where @keyed. With @code_pairs, [0] holds a pair of codes in each even
 * lane (QsBlockPass.code_pairs). */
/* Always inlined: the AVX-512 kernel's functions are large enough that
 * the compiler otherwise made it a call in the steps (measured: NVFP4's
 * pass a tenth longer). */
static inline __attribute__ ((always_inline)) void
qs_block_count_step (QsBlockWorker *w,
                     int32_t        slots[4][QS_BLOCK_STEP],
                     int            n,
                     bool           joint,
                     bool           direct,
                     bool           code_pairs,
                     bool           keyed)
{
  /* The tables in locals: a count's store could otherwise change
   * recon_stride (both are unsigned long), which then is reloaded and
   * multiplied for every count. */
  uint32_t *pairs = w->joint;
  uint64_t *codes = w->codes, *orig = w->orig, *key_codes = w->key_codes;
  uint64_t *recon[QS_BLOCK_RECON_COPIES];

  for (int copy = 0; copy < QS_BLOCK_RECON_COPIES; copy++)
    recon[copy] = w->recon + (size_t) copy * w->recon_stride;
  if (keyed)
    for (int l = 0; l < n; l++)
      key_codes[slots[3][l]]++;
  if (code_pairs)
    {
      for (int l = 0; l < n; l += 2)
        pairs[slots[0][l]]++;
      if (direct)
        for (int l = 0; l < n; l++)
          recon[l % QS_BLOCK_RECON_COPIES][slots[2][l]]++;
      return;
    }
  for (int l = 0; l < n; l++)
    {
      if (joint)
        pairs[slots[0][l]]++;
      else
        {
          codes[slots[0][l]]++;
          orig[slots[1][l]]++;
        }
      if (direct)
        recon[l % QS_BLOCK_RECON_COPIES][slots[2][l]]++;
    }
}

/* Counts the slots still in @w's ring. */
void qs_block_kernel_flush (const QsBlockPass *p,
                            QsBlockWorker     *w);

/* qs_block_analyze, and the count of each code slot (then
 * the non-finite values; 65,537 entries) in @code_counts, for tests that hold the kernels
 * to each other. */
QsStatus qs_block_analyze_codes (const QsScheme        *scheme,
                                 const QsChannelLayout *layout,
                                 const float           *data,
                                 int                    n_threads,
                                 QsRangeMemo           *memo,
                                 QsQuantParams         *params,
                                 QsAnalysis            *analysis,
                                 uint64_t              *code_counts);

/* Moves @w's pair counts into its code and original-bin tallies, and
 * those of its scale rows into its reconstruction bins and (scale key,
 * code) counts too. */
void qs_block_fold_joint (const QsBlockPass *p,
                          QsBlockWorker     *w);

/* The kernel this CPU runs, by the rules of qs_fused_span_kernel
 * (QS_FORCE_SCALAR=1, QS_FORCE_AVX2=1). */
QsBlockKernel qs_block_kernel_select (void);
