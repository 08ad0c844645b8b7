/* qs-block.c: group-wise integer and block formats (MX, NVFP4, NF4): quantizer, fused pass, inspector.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * One sweep per block: its range (amax, or min and max for integer groups),
 * its scale, then per element the code, the reconstruction, the error sums,
 * the clip test and the histogram increments, as qs-analysis.c does for
 * per-tensor and per-channel schemes. A block is gathered into a
 * block-sized scratch buffer when its elements are strided; nothing
 * tensor-sized is allocated. run_block below is the reference for that
 * per-block work; qs-block-avx512.c is its twin, chosen at run time
 * (qs-block-private.h) and held to it bit for bit by
 * tests/quant/test-block-kernels.c.
 *
 * Results do not depend on the number of threads: floating-point sums are
 * kept per task (a fixed range of blocks) and added in task order; integer
 * tallies, maxima and the worst-block list (ordered by a total order) are
 * merged per worker.
 */
#include "qs-block-private.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "qs-float-format.h"
#include "qs-float-format-private.h"
#include "qs-parallel.h"

/* Elements per task, about: enough to amortize the scheduling. */
#define TASK_ELEMENTS ((size_t) 1 << 16)
#define LANES QS_BLOCK_LANES

/* The NormalFloat4 levels of QLoRA (bitsandbytes' table). */
#define NF4_L0 -1.0
#define NF4_L1 -0.6961928009986877
#define NF4_L2 -0.5250730514526367
#define NF4_L3 -0.39491748809814453
#define NF4_L4 -0.28444138169288635
#define NF4_L5 -0.18477343022823334
#define NF4_L6 -0.09105003625154495
#define NF4_L7 0.0
#define NF4_L8 0.07958029955625534
#define NF4_L9 0.16093020141124725
#define NF4_L10 0.24611230194568634
#define NF4_L11 0.33791524171829224
#define NF4_L12 0.44070982933044434
#define NF4_L13 0.5626170039176941
#define NF4_L14 0.7229568362236023
#define NF4_L15 1.0

static const float nf4_levels[16] = {
  (float) NF4_L0, (float) NF4_L1, (float) NF4_L2, (float) NF4_L3,
  (float) NF4_L4, (float) NF4_L5, (float) NF4_L6, (float) NF4_L7,
  (float) NF4_L8, (float) NF4_L9, (float) NF4_L10, (float) NF4_L11,
  (float) NF4_L12, (float) NF4_L13, (float) NF4_L14, (float) NF4_L15,
};

/* Midpoints between neighbouring levels (of their float32 values). */
#define NF4_MID(a, b) ((float) (((double) (float) (a) + (double) (float) (b)) / 2.0))
static const float nf4_mid[15] = {
  NF4_MID (NF4_L0, NF4_L1),
  NF4_MID (NF4_L1, NF4_L2),
  NF4_MID (NF4_L2, NF4_L3),
  NF4_MID (NF4_L3, NF4_L4),
  NF4_MID (NF4_L4, NF4_L5),
  NF4_MID (NF4_L5, NF4_L6),
  NF4_MID (NF4_L6, NF4_L7),
  NF4_MID (NF4_L7, NF4_L8),
  NF4_MID (NF4_L8, NF4_L9),
  NF4_MID (NF4_L9, NF4_L10),
  NF4_MID (NF4_L10, NF4_L11),
  NF4_MID (NF4_L11, NF4_L12),
  NF4_MID (NF4_L12, NF4_L13),
  NF4_MID (NF4_L13, NF4_L14),
  NF4_MID (NF4_L14, NF4_L15),
};

float
qs_nf4_level (int index)
{
  return nf4_levels[index & 15];
}

QsStatus
qs_block_geometry (const QsScheme        *scheme,
                   const QsChannelLayout *layout,
                   QsBlockGeometry       *g)
{
  memset (g, 0, sizeof *g);
  g->block_size = qs_scheme_block_size (scheme);
  if (g->block_size == 0 || layout->channels == 0)
    return QS_STATUS_INVALID_ARGUMENT;
  g->run_length = layout->outer * layout->inner;
  g->blocks_per_run = (g->run_length + g->block_size - 1) / g->block_size;
  g->block_count = layout->channels * g->blocks_per_run;
  return QS_OK;
}

uint64_t
qs_block_size_bits (const QsScheme *scheme,
                    uint64_t        count,
                    uint64_t        block_count)
{
  switch (scheme->format)
    {
    case QS_FORMAT_NVFP4:
      return 4 * count + 8 * block_count + 32;
    case QS_FORMAT_NF4:
      return 4 * count + 32 * block_count;
    case QS_FORMAT_INT:
      return (uint64_t) scheme->bits * count + 32 * block_count
             + (scheme->mapping == QS_MAPPING_ASYMMETRIC ? (uint64_t) scheme->bits * block_count : 0);
    default:
      return (uint64_t) qs_format_element_bits (scheme->format) * count + 8 * block_count;
    }
}

void
qs_block_info_free (QsBlockInfo *info)
{
  if (info == NULL)
    return;
  free (info->scale_counts);
  free (info);
}

/* ---- one block's scale ------------------------------------------------- */

typedef QsBlockScale BlockScale;

void
qs_block_scale (const QsScheme *scheme,
                float           tensor_scale,
                float           amax,
                float           lo,
                float           hi,
                BlockScale     *b)
{
  QsFormat format = scheme->format;

  memset (b, 0, sizeof *b);
  b->inv = b->scale = b->exact_scale = 1.0f;
  if (format == QS_FORMAT_INT)
    {
      qs_channel_coeffs_for_range (scheme, lo, hi, &b->coeffs);
      b->scale = b->exact_scale = b->coeffs.scale;
      b->inv = b->coeffs.inv;
      b->zero = amax == 0.0f;
    }
  else if (qs_block_format_is_mx (format))
    qs_block_scale_mx (format, amax, b);
  else if (format == QS_FORMAT_NVFP4)
    {
      b->divide = true;
      if (amax > 0.0f)
        {
          float block = amax / 6.0f;
          b->scale_code = qs_fp8_e4m3_encode (block / tensor_scale);
          b->scale = qs_fp8_e4m3_to_float (b->scale_code) * tensor_scale;
          b->exact_scale = block;
        }
      else
        b->scale = b->exact_scale = 0.0f;
      b->zero = !(b->scale > 0.0f);
      if (b->zero)
        b->exact_scale = 0.0f;
    }
  else /* NF4 */
    {
      b->scale = b->exact_scale = amax;
      b->inv = 1.0f / amax;
      b->zero = amax == 0.0f;
    }
}

void
qs_block_exact_scale (const BlockScale *b,
                      BlockScale       *exact)
{
  *exact = *b;
  exact->divide = true;
  exact->scale = b->exact_scale;
  exact->zero = !(b->exact_scale > 0.0f);
}

/* ---- elements ---------------------------------------------------------- */

static inline int32_t
nf4_index (float v)
{
  int32_t index = 0;

  /* Ties go to the lower level: bitsandbytes compares with >. */
  for (int i = 0; i < 15; i++)
    index += v > nf4_mid[i];
  return index;
}

/* Encodes one scaled element of a block format. */
static inline __attribute__ ((always_inline)) int32_t
element_code (QsFormat format,
              float    scaled)
{
  switch (format)
    {
    case QS_FORMAT_MXFP8_E4M3:
      return qs_fp8_e4m3_encode (scaled);
    case QS_FORMAT_MXFP8_E5M2:
      return qs_fp8_e5m2_encode (scaled);
    case QS_FORMAT_MXFP6_E2M3:
      return qs_fp6_e2m3_encode (scaled);
    case QS_FORMAT_MXFP6_E3M2:
      return qs_fp6_e3m2_encode (scaled);
    case QS_FORMAT_MXFP4:
    case QS_FORMAT_NVFP4:
      return qs_fp4_e2m1_encode (scaled);
    case QS_FORMAT_MXINT8:
      return (int32_t) qs_round_half_even (qs_clampf (scaled * 64.0f, -127.0f, 127.0f));
    case QS_FORMAT_NF4:
    default:
      return nf4_index (scaled);
    }
}

static inline int32_t
code_slot (QsFormat format,
           int      qmin,
           int32_t  code)
{
  if (format == QS_FORMAT_INT)
    return code - qmin;
  if (format == QS_FORMAT_MXINT8)
    return code + 128;
  return code;
}

/* Every element code's unscaled value, indexed by code slot: the decode
 * of the hot loop is a lookup. */
static void
fill_value_table (QsFormat format,
                  float    values[256])
{
  for (int slot = 0; slot < 256; slot++)
    values[slot] = qs_block_element_value (format, format == QS_FORMAT_MXINT8 ? slot - 128 : slot);
}

void
qs_block_range_finish (const float  a[8],
                       const float  l[8],
                       const float  h[8],
                       const float *x,
                       size_t       rows_end,
                       size_t       n,
                       float       *amax,
                       float       *lo,
                       float       *hi)
{
  float ra = 0.0f, rl = INFINITY, rh = -INFINITY;

  for (size_t j = rows_end; j < n; j++)
    {
      float v = x[j], m = fabsf (v);
      ra = m > ra ? m : ra;
      rl = v < rl ? v : rl;
      rh = v > rh ? v : rh;
    }
  for (int k = 0; k < 8; k++)
    {
      ra = a[k] > ra ? a[k] : ra;
      rl = l[k] < rl ? l[k] : rl;
      rh = h[k] > rh ? h[k] : rh;
    }
  if (!(rl <= rh))
    rl = rh = 0.0f;
  *amax = ra;
  *lo = rl;
  *hi = rh;
}

/* The range of a block of finite values: amax, min and max (0 for none).
 * Eight lanes, a row at a time, so the compares vectorize. */
static void
block_range (const float *x,
             size_t       n,
             float       *amax,
             float       *lo,
             float       *hi)
{
  float a[8] = { 0 }, l[8], h[8];
  size_t j = 0;

  for (int k = 0; k < 8; k++)
    {
      l[k] = INFINITY;
      h[k] = -INFINITY;
    }
  for (; j + 8 <= n; j += 8)
    {
      _Pragma ("GCC unroll 8")
      for (int k = 0; k < 8; k++)
        {
          float v = x[j + (size_t) k], m = fabsf (v);
          a[k] = m > a[k] ? m : a[k];
          l[k] = v < l[k] ? v : l[k];
          h[k] = v > h[k] ? v : h[k];
        }
    }
  qs_block_range_finish (a, l, h, x, j, n, amax, lo, hi);
}

static size_t
code_slot_count (const QsScheme *scheme,
                 int             qmin,
                 int             qmax)
{
  if (scheme->format == QS_FORMAT_INT)
    return (size_t) (qmax - qmin) + 1;
  return (size_t) 1 << qs_format_element_bits (scheme->format);
}

/* ---- the pass ---------------------------------------------------------- */

typedef QsBlockTaskSums TaskSums;
typedef QsBlockWorst Worst;
typedef QsBlockWorker Worker;
typedef QsBlockPass Pass;

void
qs_block_worst_insert (Worker *w,
                       size_t  block,
                       double  mse,
                       double  max_abs_error)
{
  int at = w->worst_count;

  while (at > 0 && qs_block_worst_before (mse, block, w->worst[at - 1].mse, w->worst[at - 1].block))
    at--;
  if (at >= QS_BLOCK_WORST)
    return;
  if (w->worst_count < QS_BLOCK_WORST)
    w->worst_count++;
  memmove (&w->worst[at + 1], &w->worst[at], (size_t) (w->worst_count - 1 - at) * sizeof (Worst));
  w->worst[at] = (Worst) { block, mse, max_abs_error };
  if (w->worst_count == QS_BLOCK_WORST && w->worst[QS_BLOCK_WORST - 1].mse >= 0x1p-900)
    w->worst_floor = w->worst[QS_BLOCK_WORST - 1].mse * (1.0 - 0x1p-40);
}

/* Elements of a block handled together: small enough for stack arrays,
 * long enough for the loops to vectorize. */
#define SUB 64

/* Codes (as slots) and reconstructions of @m finite elements under @b,
 * branch-free so it vectorizes; returns how many were clipped. */
static inline __attribute__ ((always_inline)) uint32_t
encode_run (const Pass       *p,
            QsFormat          format,
            QsRounding        rounding,
            const BlockScale *b,
            const float      *x,
            size_t            m,
            int32_t          *slot,
            float            *rec)
{
  uint32_t clipped = 0;

  if (format == QS_FORMAT_INT)
    {
      const QsChannelCoeffs *c = &b->coeffs;
      float inv = c->inv, add = c->add, lo = c->lo, hi = c->hi;
      float post = c->post - (float) p->qmin, sub = c->sub, scale = c->scale;

      for (size_t j = 0; j < m; j++)
        {
          /* Clipped means the rounded code fell outside, as in the
           * per-tensor kernels; lo and hi are integers, so clamping after
           * rounding gives the codes clamping before would. */
          float v = x[j] * inv + add;
          float t = v < lo - 1.0f ? lo - 1.0f : v;
          float r;
          t = t > hi + 1.0f ? hi + 1.0f : t;
          r = rounding == QS_ROUNDING_HALF_AWAY ? qs_round_half_away (t) : qs_round_half_even (t);
          clipped += (r < lo) | (r > hi);
          r = r < lo ? lo : r;
          r = r > hi ? hi : r;
          slot[j] = (int32_t) (r + post);
          rec[j] = (r - sub) * scale;
        }
    }
  else if (b->zero)
    for (size_t j = 0; j < m; j++)
      {
        slot[j] = format == QS_FORMAT_NF4 ? 7 : 0;
        rec[j] = 0.0f;
      }
  else
    {
      float inv = b->inv, scale = b->scale, limit = qs_block_element_max (format);
      const float *values = p->values;
      float scaled[SUB];

      /* Separate loops, each free of control flow, so both vectorize. */
      if (b->divide)
        for (size_t j = 0; j < m; j++)
          scaled[j] = x[j] / scale;
      else
        for (size_t j = 0; j < m; j++)
          scaled[j] = x[j] * inv;
      for (size_t j = 0; j < m; j++)
        {
          int32_t code = element_code (format, scaled[j]);
          clipped += fabsf (scaled[j]) > limit;
          slot[j] = format == QS_FORMAT_MXINT8 ? code + 128 : code;
        }
      for (size_t j = 0; j < m; j++)
        rec[j] = values[slot[j]] * scale;
    }
  return clipped;
}

/* Lane vectors of the error sums: element j of a block goes to lane
 * j % LANES, kept as two halves of HALF lanes (lanes 0-3 and 4-7, so
 * element j in half j / HALF % 2): GCC's vector extension in vectors the
 * AVX2 clone holds in one register each, so both target clones get the
 * lanes in registers (scalar lane arrays, and vectors wider than the
 * target, are spilled or split element by element). */
#define HALF (LANES / 2)
typedef float HalfFloats __attribute__ ((vector_size (HALF * sizeof (float))));
typedef int32_t HalfInts __attribute__ ((vector_size (HALF * sizeof (int32_t))));
typedef double HalfDoubles __attribute__ ((vector_size (HALF * sizeof (double))));

/* Elements j.. of @x, zero past @m: a missing element adds an exact +0 to
 * each sum, which changes no sum (a lane sum is never -0), and 0 to the
 * maximum. */
static inline __attribute__ ((always_inline)) HalfFloats
half_load (const float *x,
           size_t       j,
           size_t       m)
{
  HalfFloats v = { 0 };

  if (__builtin_expect (j + HALF <= m, 1))
    memcpy (&v, x + j, sizeof v);
  else
    for (size_t l = 0; j + l < m; l++)
      v[l] = x[j + l];
  return v;
}

/* The lanes of the sums that only the task needs (x2, recon2,
 * err2_exact), kept over a run of blocks: element j of each block in
 * lane j % LANES, each lane in element order, folded once at the end of
 * the run (run_lanes_fold) instead of once per block. */
typedef struct {
  HalfDoubles x2[2];
  HalfDoubles r2[2];
  HalfDoubles exact2[2];
} RunLanes;

/* A block of @n finite elements: its error sum (lanes l and l + HALF,
 * then those sums in order of l, into @err2_out) and the run's other
 * sums, tallies and histograms. */
static inline __attribute__ ((always_inline)) void
run_finite (const Pass       *p,
            QsFormat          format,
            QsRounding        rounding,
            const BlockScale *b,
            const BlockScale *exact,
            Worker           *w,
            uint64_t         *key_codes,
            const float      *x,
            size_t            n,
            RunLanes         *lanes,
            double           *err2_out,
            float            *max_error,
            uint64_t         *clipped)
{
  HalfDoubles err2[2] = { { 0 } };
  HalfDoubles *x2 = lanes->x2, *r2 = lanes->r2, *exact2 = lanes->exact2;
  HalfFloats mx = { 0 };
  const HalfInts abs_mask = { 0x7fffffff, 0x7fffffff, 0x7fffffff, 0x7fffffff };
  uint64_t *codes = w->codes, *orig = w->orig, *recon_hist = w->recon;
  int32_t slot[SUB], orig_slot[SUB], recon_slot[SUB];
  float rec[SUB];

  for (size_t j0 = 0; j0 < n; j0 += SUB)
    {
      size_t m = n - j0 < SUB ? n - j0 : SUB;
      const float *xs = x + j0;

      *clipped += encode_run (p, format, rounding, b, xs, m, slot, rec);
      /* Two sweeps of the chunk, each with fewer sums, so that the AVX2
       * clone keeps its lanes in registers; each lane sum still takes its
       * elements in order. SUB is a multiple of LANES: a chunk's element j
       * is in the block's lane j % LANES. */
      for (size_t j = 0; j < m; j += HALF)
        {
          HalfFloats xv = half_load (xs, j, m), rv = half_load (rec, j, m);
          HalfFloats err = rv - xv, e = (HalfFloats) ((HalfInts) err & abs_mask);
          HalfInts above = e > mx;
          HalfDoubles xd = __builtin_convertvector (xv, HalfDoubles);
          HalfDoubles ed = __builtin_convertvector (err, HalfDoubles);
          size_t h = j / HALF % 2;
          err2[h] += ed * ed;
          x2[h] += xd * xd;
          mx = (HalfFloats) ((above & (HalfInts) e) | (~above & (HalfInts) mx));
        }
      /* MX and NVFP4 count (scale key, code) instead (QsBlockPass.recon2_by_key). */
      for (size_t j = 0; key_codes == NULL && j < m; j += HALF)
        {
          HalfDoubles rd = __builtin_convertvector (half_load (rec, j, m), HalfDoubles);
          r2[j / HALF % 2] += rd * rd;
        }
      if (p->histograms)
        {
          for (size_t j = 0; j < m; j++)
            {
              orig_slot[j] = qs_fused_hist_slot (&p->hist, xs[j]);
              recon_slot[j] = qs_fused_hist_slot (&p->hist, rec[j]);
            }
          for (size_t j = 0; j < m; j++)
            {
              codes[slot[j]]++;
              orig[orig_slot[j]]++;
              recon_hist[recon_slot[j]]++;
            }
          for (size_t j = 0; key_codes != NULL && j < m; j++)
            key_codes[slot[j]]++;
        }
      if (exact != NULL)
        {
          encode_run (p, format, rounding, exact, xs, m, slot, rec);
          for (size_t j = 0; j < m; j += HALF)
            {
              HalfDoubles ed = __builtin_convertvector (half_load (rec, j, m) - half_load (xs, j, m), HalfDoubles);
              exact2[j / HALF % 2] += ed * ed;
            }
        }
    }

  for (int l = 0; l < HALF; l++)
    {
      *err2_out += err2[0][l] + err2[1][l];
      *max_error = mx[l] > *max_error ? mx[l] : *max_error;
    }
}

/* A run's lanes (lanes l and l + HALF, then those sums in order of l)
 * into the task's sums. */
static inline __attribute__ ((always_inline)) void
run_lanes_fold (const RunLanes *lanes,
                TaskSums       *sums)
{
  double out[3] = { 0 };

  for (int l = 0; l < HALF; l++)
    {
      out[0] += lanes->x2[0][l] + lanes->x2[1][l];
      out[1] += lanes->r2[0][l] + lanes->r2[1][l];
      out[2] += lanes->exact2[0][l] + lanes->exact2[1][l];
    }
  sums->x2 += out[0];
  sums->recon2 += out[1];
  sums->err2_exact += out[2];
}

const float *
qs_block_drop_nonfinite (const Pass  *p,
                         Worker      *w,
                         const float *x,
                         size_t      *n)
{
  size_t k = 0, bad;

  /* Non-finite values stay out of everything but their tallies. */
  for (size_t j = 0; j < *n; j++)
    if (x[j] - x[j] == 0.0f)
      w->scratch[k++] = x[j];
  bad = *n - k;
  if (p->histograms)
    {
      w->codes[p->code_slots] += bad;
      w->orig[p->hist.bins + 2] += bad;
      w->recon[p->hist.bins + 2] += bad;
    }
  w->nonfinite += bad;
  *n = k;
  return w->scratch;
}

void
qs_block_tally (const Pass       *p,
                Worker           *w,
                size_t            block,
                const BlockScale *b,
                float             amax,
                size_t            n,
                double            err2,
                float             max_err,
                uint64_t          clipped)
{
  QsFormat format = p->scheme->format;

  if (p->inspect)
    {
      if (n > 0)
        qs_block_worst_insert (w, block, err2 / (double) n, max_err);
      if (amax == 0.0f || !(b->scale > 0.0f) || b->zero)
        w->zero_blocks++;
      else
        w->scale_counts[qs_block_scale_slot (format, b, p->scale_slots)]++;
    }

  w->clipped += clipped;
  /* fmax without the call: neither is NaN. */
  w->max_error = max_err > w->max_error ? max_err : w->max_error;
  if (format == QS_FORMAT_INT)
    {
      float zero = 0.0f, back;
      int32_t zero_slot;
      encode_run (p, format, p->scheme->rounding, b, &zero, 1, &zero_slot, &back);
      w->zero_error = fmax (w->zero_error, fabsf (back));
    }
}

static inline __attribute__ ((always_inline)) void
run_block (const Pass  *p,
           QsFormat     format,
           QsRounding   rounding,
           Worker      *w,
           TaskSums    *sums,
           RunLanes    *lanes,
           size_t       block,
           const float *x,
           size_t       n)
{
  double err2 = 0.0;
  float amax, lo, hi, max_err = 0.0f;
  uint64_t clipped = 0;
  size_t finite = 0;
  BlockScale b, exact;
  uint64_t *key_codes = NULL;

  for (size_t j = 0; j < n; j++)
    finite += x[j] - x[j] == 0.0f ? 1 : 0;
  if (finite < n)
    x = qs_block_drop_nonfinite (p, w, x, &n);

  block_range (x, n, &amax, &lo, &hi);
  qs_block_scale (p->scheme, p->tensor_scale, amax, lo, hi, &b);
  qs_block_exact_scale (&b, &exact);
  if (p->recon2_by_key)
    {
      /* Opening the key's counts may move the table: first the offset. */
      size_t offset = qs_block_key_codes (w, qs_block_scale_row_key (&b), p->code_slots);
      key_codes = w->key_codes + offset;
    }
  run_finite (p, format, rounding, &b, p->inspect && qs_block_scale_is_rounded (format) ? &exact : NULL, w,
              key_codes, x, n, lanes, &err2, &max_err, &clipped);
  sums->err2 += err2;
  if (!qs_block_scale_is_rounded (format))
    sums->err2_exact += err2;  /* float32 scales: nothing is rounded */
  qs_block_tally (p, w, block, &b, amax, n, err2, max_err, clipped);
}

/* Specialised per format and rounding; the AVX2 clone vectorizes the
 * element loops, the default clone is the baseline build. Both compute the
 * same operations in the same order (no contraction), so the same bits. */
static inline __attribute__ ((always_inline)) void
run_blocks (const Pass  *p,
            QsFormat     format,
            QsRounding   rounding,
            Worker      *w,
            TaskSums    *sums,
            size_t       first,
            size_t       count,
            const float *x)
{
  size_t g = first % p->geo.blocks_per_run;
  RunLanes lanes = { { { 0 } } };

  for (size_t b = first; b < first + count; b++)
    {
      size_t n = qs_block_length (&p->geo, g);
      run_block (p, format, rounding, w, sums, &lanes, b, x, n);
      x += n;
      g = g + 1 == p->geo.blocks_per_run ? 0 : g + 1;
    }
  run_lanes_fold (&lanes, sums);
}

/* Specialised per format and rounding; the AVX2 clone vectorizes the
 * element loops, the default clone is the baseline build. Both compute the
 * same operations in the same order (no contraction), so the same bits. */
__attribute__ ((target_clones ("avx2", "default")))
void
qs_block_kernel_scalar (const Pass  *p,
                        Worker      *w,
                        TaskSums    *sums,
                        size_t       first,
                        size_t       count,
                        const float *x)
{
  switch (p->scheme->format)
    {
#define CASE(f) case f: run_blocks (p, f, QS_ROUNDING_HALF_EVEN, w, sums, first, count, x); break
      CASE (QS_FORMAT_MXFP8_E4M3);
      CASE (QS_FORMAT_MXFP8_E5M2);
      CASE (QS_FORMAT_MXFP6_E2M3);
      CASE (QS_FORMAT_MXFP6_E3M2);
      CASE (QS_FORMAT_MXFP4);
      CASE (QS_FORMAT_MXINT8);
      CASE (QS_FORMAT_NVFP4);
      CASE (QS_FORMAT_NF4);
#undef CASE
    case QS_FORMAT_INT:
    default:
      if (p->scheme->rounding == QS_ROUNDING_HALF_AWAY)
        run_blocks (p, QS_FORMAT_INT, QS_ROUNDING_HALF_AWAY, w, sums, first, count, x);
      else
        run_blocks (p, QS_FORMAT_INT, QS_ROUNDING_HALF_EVEN, w, sums, first, count, x);
      break;
    }
}

/* NF4's code is the number of midpoints below the value (ties to the
 * lower level); by bucket (qs_block_nf4_bucket), each bucket's base and
 * threshold. */
static void
fill_nf4_buckets (Pass *p)
{
  for (int b = 0; b < 32; b++)
    {
      p->nf4_bucket_base[b] = 0;
      p->nf4_bucket_threshold[b] = INFINITY;
    }
  for (int i = 0; i < 15; i++)
    {
      int32_t bucket = qs_block_nf4_bucket (nf4_mid[i]);
      p->nf4_bucket_threshold[bucket] = nf4_mid[i];
      for (int b = bucket + 1; b < 32; b++)
        p->nf4_bucket_base[b]++;
    }
}

QsBlockKernel
qs_block_kernel_select (void)
{
#if defined(__x86_64__)
  /* qs_analysis_kernel_name applies the QS_FORCE_* variables. */
  __builtin_cpu_init ();
  if (strcmp (qs_analysis_kernel_name (), "avx512") == 0 && __builtin_cpu_supports ("avx512bw")
      && __builtin_cpu_supports ("avx512vl"))
    return qs_block_kernel_avx512;
#endif
  return qs_block_kernel_scalar;
}

size_t
qs_block_key_codes_open (Worker   *w,
                         unsigned  key,
                         size_t    code_slots)
{
  if (w->keys_met == w->keys_room)
    {
      /* Twice as many: 256 at most, one per key. */
      size_t room = 2 * w->keys_room;
      uint64_t *grown = realloc (w->key_codes, room * code_slots * sizeof (uint64_t));

      if (grown == NULL)
        {
          /* Counted into the first key's table, then thrown away: the
           * pass fails (pass_run). */
          w->out_of_memory = true;
          return 0;
        }
      memset (grown + w->keys_room * code_slots, 0, (room - w->keys_room) * code_slots * sizeof (uint64_t));
      w->key_codes = grown;
      w->keys_room = room;
    }
  w->key_index[key] = (uint16_t) ++w->keys_met;
  return (w->keys_met - 1) * code_slots;
}

void
qs_block_kernel_flush (const Pass *p,
                       Worker     *w)
{
  size_t k = w->ring_steps, back = k < QS_BLOCK_RING - 1 ? k : QS_BLOCK_RING - 1;

  for (; back > 0; back--)
    {
      bool direct = !w->ring_rowed[(k - back) % QS_BLOCK_RING];
      qs_block_count_step (w, w->ring[(k - back) % QS_BLOCK_RING], w->ring_filled[(k - back) % QS_BLOCK_RING],
                           w->joint != NULL, direct, p->code_pairs, p->recon2_by_key && direct);
    }
  w->ring_steps = 0;
}

/* The elements of block (@channel, @g): a pointer into the data when they
 * are contiguous, else gathered into @scratch. */
static const float *
block_elements (const QsChannelLayout *l,
                const QsBlockGeometry *geo,
                const float           *data,
                size_t                 channel,
                size_t                 g,
                float                 *scratch,
                size_t                *n)
{
  size_t start = g * geo->block_size;
  size_t end = start + geo->block_size;

  if (end > geo->run_length)
    end = geo->run_length;
  *n = end - start;
  if (l->outer == 1 || l->channels == 1)
    return data + channel * l->inner + start;
  if (l->inner == 1)
    {
      for (size_t p = start; p < end; p++)
        scratch[p - start] = data[p * l->channels + channel];
    }
  else
    {
      size_t o = start / l->inner, k = start % l->inner;
      for (size_t p = start; p < end; p++)
        {
          scratch[p - start] = data[(o * l->channels + channel) * l->inner + k];
          if (++k == l->inner)
            {
              k = 0;
              o++;
            }
        }
    }
  return scratch;
}

static void
task_func (void   *user_data,
           size_t  task,
           int     worker)
{
  Pass *p = user_data;
  Worker *w = &p->workers[worker];
  TaskSums *sums = &p->sums[task];
  size_t first = task * p->units_per_task;
  size_t last = first + p->units_per_task;
  size_t channels = p->layout.channels, bpr = p->geo.blocks_per_run;

  if (p->bands)
    {
      if (last > bpr)
        last = bpr;
      for (size_t g = first; g < last; g++)
        for (size_t c = 0; c < channels; c++)
          {
            size_t n;
            const float *x = block_elements (&p->layout, &p->geo, p->data, c, g, w->scratch, &n);
            p->kernel (p, w, sums, c * bpr + g, 1, x);
          }
    }
  else
    {
      if (last > p->geo.block_count)
        last = p->geo.block_count;
      /* Blocks that follow each other in memory go to the kernel as one
       * run, so it sets up once. */
      bool contiguous = p->layout.outer == 1 || channels == 1;
      for (size_t b = first; b < last; b++)
        {
          size_t n;
          const float *x = block_elements (&p->layout, &p->geo, p->data, b / bpr, b % bpr, w->scratch, &n);
          p->kernel (p, w, sums, b, contiguous ? last - b : 1, x);
          if (contiguous)
            break;
        }
    }
  qs_block_kernel_flush (p, w);
  if (w->joint != NULL)
    {
      /* Fold long before a 32-bit pair count could wrap. */
      w->joint_pending += (last - first) * p->geo.block_size * (p->bands ? channels : 1);
      if (w->joint_pending > UINT32_MAX / 2)
        qs_block_fold_joint (p, w);
    }
}

void
qs_block_fold_joint (const Pass *p,
                     Worker     *w)
{
  size_t entries = p->row_entries;

  for (size_t row = 0; row <= w->rows_used; row++)
    {
      uint32_t *pairs = w->joint + row * entries;
      /* The row's (scale key, code) counts, which stand for its
       * reconstructions' squares (recon2_by_key). */
      size_t key_offset = row > 0 && p->recon2_by_key ? qs_block_key_codes (w, w->row_key[row - 1], p->code_slots) : 0;
      uint64_t *keyed = row > 0 && p->recon2_by_key ? w->key_codes + key_offset : NULL;
      for (size_t i = 0; p->code_pairs && i < entries; i++)
        if (pairs[i] > 0)
          {
            size_t slots[2] = { i / 17, i % 17 };
            for (int e = 0; e < 2; e++)
              if (slots[e] < 16)
                {
                  w->codes[slots[e]] += pairs[i];
                  if (row > 0)
                    w->recon[qs_fused_hist_slot (&p->hist, p->values[slots[e]] * w->row_scale[row - 1])] += pairs[i];
                  if (keyed != NULL)
                    keyed[slots[e]] += pairs[i];
                }
            pairs[i] = 0;
          }
      for (size_t i = 0; !p->code_pairs && i < entries; i++)
        if (pairs[i] > 0)
          {
            size_t slot = i / p->joint_stride;
            w->codes[slot] += pairs[i];
            if (p->joint_recon)
              w->recon[i % p->joint_stride] += pairs[i];
            else
              w->orig[i % p->joint_stride] += pairs[i];
            /* The reconstruction as the kernels compute it: the code's
             * value times the block scale (0 for a block of zeros). */
            if (row > 0)
              w->recon[qs_fused_hist_slot (&p->hist, p->values[slot] * w->row_scale[row - 1])] += pairs[i];
            if (keyed != NULL)
              keyed[slot] += pairs[i];
            pairs[i] = 0;
          }
    }
  w->joint_pending = 0;
}

static void
pass_free (Pass *p)
{
  /* Also after a failed set-up, which may leave no worker array. */
  for (int i = 0; p->workers != NULL && i < p->n_workers; i++)
    {
      free (p->workers[i].codes);
      free (p->workers[i].orig);
      free (p->workers[i].recon);
      free (p->workers[i].scale_counts);
      free (p->workers[i].scratch);
      free (p->workers[i].joint);
      free (p->workers[i].row_scale);
      free (p->workers[i].key_codes);
    }
  free (p->workers);
  free (p->sums);
}

static float
nvfp4_tensor_scale (float amax)
{
  return amax / (448.0f * 6.0f);
}

/* Runs the pass over the whole tensor; @p has its scheme, layout, data,
 * histogram and flag fields set. */
static QsStatus
pass_run (Pass *p,
          int   n_threads)
{
  size_t unit_elements;
  size_t units;

  if (qs_block_geometry (p->scheme, &p->layout, &p->geo) != QS_OK)
    return QS_STATUS_INVALID_ARGUMENT;
  p->bands = p->layout.inner == 1 && p->layout.channels > 1 && p->layout.outer > 1;
  unit_elements = p->bands ? p->geo.block_size * p->layout.channels : p->geo.block_size;
  units = p->bands ? p->geo.blocks_per_run : p->geo.block_count;
  p->units_per_task = TASK_ELEMENTS / unit_elements;
  if (p->units_per_task == 0)
    p->units_per_task = 1;
  p->n_tasks = (units + p->units_per_task - 1) / p->units_per_task;
  p->scale_slots = (size_t) (QS_BLOCK_SCALE_LOG2_MAX - QS_BLOCK_SCALE_LOG2_MIN) * QS_BLOCK_SCALE_SUBBINS;
  p->code_slots = code_slot_count (p->scheme, p->qmin, p->qmax);
  p->recon2_by_key = p->histograms && (qs_block_format_is_mx (p->scheme->format) || p->scheme->format == QS_FORMAT_NVFP4);
  fill_value_table (p->scheme->format, p->values);
  fill_nf4_buckets (p);
  for (int code = 0; code < 128; code++)
    {
      QsBlockScale b = { .scale = qs_fp8_e4m3_to_float ((uint8_t) code) * p->tensor_scale };
      if (b.scale > 0.0f)
        p->nvfp4_scale_slots[code] = (uint16_t) qs_block_scale_slot (QS_FORMAT_NVFP4, &b, p->scale_slots);
    }
  p->kernel = qs_block_kernel_select ();
  /* The SIMD kernel counts (code, bin) pairs where the table stays in
   * cache and the tensor repays clearing and folding it, as the
   * per-tensor pass does (qs-analysis.c). */
  {
    size_t stride = p->data_hist_known && p->scheme->format != QS_FORMAT_INT ? 1 : (size_t) p->hist.bins + 3;
    if (p->kernel != qs_block_kernel_scalar && p->histograms
        && p->code_slots <= QS_JOINT_MAX_ENTRIES / stride
        && p->layout.count / QS_JOINT_MIN_ELEMENTS_PER_ENTRY >= p->code_slots * stride)
      p->joint_stride = stride;
    p->joint_recon = p->joint_stride > 1 && p->data_hist_known;
    p->row_entries = p->code_slots * p->joint_stride;
  }
  /* Scale rows where blocks share few scales (MX's powers of two,
   * NVFP4's E4M3 bytes): a row for each scale met, up to a table of
   * QS_BLOCK_ROWS_MAX_ENTRIES, and the fold (which reads the rows in use)
   * at most twice what the plain pairs allow. */
  if (p->joint_stride > 0 && (qs_block_format_is_mx (p->scheme->format) || p->scheme->format == QS_FORMAT_NVFP4))
    {
      size_t by_memory, by_count, tables;

      p->code_pairs = p->joint_stride == 1 && p->code_slots == 16;
      if (p->code_pairs)
        p->row_entries = 16 * 17;
      by_memory = QS_BLOCK_ROWS_MAX_ENTRIES / p->row_entries;
      by_count = p->layout.count / QS_JOINT_MIN_ELEMENTS_PER_ENTRY / p->row_entries + 1;
      tables = by_memory < by_count ? by_memory : by_count;
      p->joint_rows = tables - 1 < 256 ? tables - 1 : 256;
    }

  p->sums = calloc (p->n_tasks ? p->n_tasks : 1, sizeof (TaskSums));
  p->n_workers = qs_parallel_worker_count (n_threads, p->n_tasks);
  /* Aligned as the worker's ring, so a step's vector store of its slots
   * is one cache line (a split store slows the loads that count them). */
  p->workers = aligned_alloc (_Alignof (Worker), (size_t) p->n_workers * sizeof (Worker));
  if (p->workers != NULL)
    memset (p->workers, 0, (size_t) p->n_workers * sizeof (Worker));
  if (p->sums == NULL || p->workers == NULL)
    return QS_STATUS_NO_MEMORY;
  for (int i = 0; i < p->n_workers; i++)
    {
      Worker *w = &p->workers[i];
      w->codes = calloc (p->code_slots + 1, sizeof (uint64_t));
      w->orig = calloc ((size_t) p->hist.bins + 3, sizeof (uint64_t));
      w->recon_stride = (size_t) p->hist.bins + 3;
      w->recon = calloc (QS_BLOCK_RECON_COPIES * w->recon_stride, sizeof (uint64_t));
      w->scale_counts = calloc (p->scale_slots, sizeof (uint64_t));
      w->scratch = malloc (p->geo.block_size * sizeof (float));
      if (p->joint_stride > 0)
        w->joint = calloc ((p->joint_rows + 1) * p->row_entries, sizeof (uint32_t));
      w->row_scale = malloc ((p->joint_rows + 1) * sizeof (float));
      /* Room for four keys to begin with (qs_block_key_codes_open). */
      if (p->recon2_by_key)
        {
          w->key_codes = calloc (4 * p->code_slots, sizeof (uint64_t));
          w->keys_room = 4;
        }
      if (!w->codes || !w->orig || !w->recon || !w->scale_counts || !w->scratch || !w->row_scale
          || (p->joint_stride > 0 && !w->joint) || (p->recon2_by_key && !w->key_codes))
        return QS_STATUS_NO_MEMORY;
    }
  qs_parallel_for (p->n_workers, p->n_tasks, task_func, p);
  for (int i = 0; i < p->n_workers; i++)
    if (p->workers[i].out_of_memory)
      return QS_STATUS_NO_MEMORY;
  return QS_OK;
}

static double
sqnr_db (double x2,
         double err2)
{
  if (err2 > 0.0)
    return 10.0 * log10 (x2 / err2);
  return x2 > 0.0 ? INFINITY : NAN;
}

/* The sum of the squared reconstructions from the workers' (scale key,
 * code) counts (QsBlockPass.recon2_by_key): each reconstruction as the
 * kernels compute it, the code's value times the block scale (a block of
 * zeros, NVFP4's key 255, reconstructs as 0), in order of key and code. */
static double
recon2_by_key (const Pass *p)
{
  double recon2 = 0.0;

  for (unsigned key = 0; key < 256; key++)
    {
      bool met = false;
      float scale;

      for (int i = 0; i < p->n_workers; i++)
        met |= p->workers[i].key_index[key] != 0;
      if (!met)
        continue;
      if (qs_block_format_is_mx (p->scheme->format))
        scale = qs_block_pow2f ((int) key - 127);
      else
        scale = key == 255 ? 0.0f : qs_fp8_e4m3_to_float ((uint8_t) key) * p->tensor_scale;
      for (size_t slot = 0; slot < p->code_slots; slot++)
        {
          uint64_t count = 0;
          /* Rounded to float first, as the kernels' product is. */
          float rec = p->values[slot] * scale;
          double r = rec;

          for (int i = 0; i < p->n_workers; i++)
            {
              const Worker *w = &p->workers[i];
              if (w->key_index[key] != 0)
                count += w->key_codes[(size_t) (w->key_index[key] - 1) * p->code_slots + slot];
            }
          if (count > 0)
            recon2 += (double) count * (r * r);
        }
    }
  return recon2;
}

/* The cosine of the data and its reconstruction from their sums of
 * squares and the squared error's: x . r = (x . x + r . r - (r - x) . (r - x)) / 2,
 * which needs no sum of products x r (a quarter of a pass's sums). Each
 * error r - x the passes square is that difference exactly where r and x
 * lie within a factor of two of each other (Sterbenz), as a rounding to
 * the nearest of a format's values puts them but for the smallest, and
 * exactly -x where r is 0; the cosine keeps the sums' precision. Rounding
 * may take it a hair past 1 (r = x: x2 and r2 summed in other orders). */
static double
cosine_of_sums (double x2,
                double recon2,
                double err2)
{
  double cosine;

  if (!(x2 > 0.0 && recon2 > 0.0))
    return NAN;
  cosine = 0.5 * (x2 + recon2 - err2) / sqrt (x2 * recon2);
  return cosine > 1.0 ? 1.0 : cosine < -1.0 ? -1.0 : cosine;  /* NaN stays NaN */
}

/* Fills @info from the merged worker tallies. */
static QsStatus
finish_info (const Pass   *p,
             double        x2,
             double        err2,
             double        err2_exact,
             QsBlockInfo **out)
{
  QsBlockInfo *info = calloc (1, sizeof *info);
  size_t lo = p->scale_slots, hi = 0;
  Worker all = { 0 };

  if (info == NULL)
    return QS_STATUS_NO_MEMORY;
  info->block_size = p->geo.block_size;
  info->block_count = p->geo.block_count;
  info->tensor_scale = p->scheme->format == QS_FORMAT_NVFP4 ? p->tensor_scale : NAN;
  info->sqnr_db = sqnr_db (x2, err2);
  info->sqnr_exact_scale_db = sqnr_db (x2, err2_exact);

  for (int i = 0; i < p->n_workers; i++)
    {
      const Worker *w = &p->workers[i];
      info->zero_scale_blocks += w->zero_blocks;
      for (size_t s = 0; s < p->scale_slots; s++)
        if (w->scale_counts[s] > 0)
          {
            lo = s < lo ? s : lo;
            hi = s > hi ? s : hi;
          }
      for (int k = 0; k < w->worst_count; k++)
        qs_block_worst_insert (&all, w->worst[k].block, w->worst[k].mse, w->worst[k].max_abs_error);
    }

  if (qs_block_format_is_mx (p->scheme->format))
    {
      info->scale_bin_width = 1.0;
      info->scale_log2_lo = (double) lo + QS_BLOCK_SCALE_LOG2_MIN;
    }
  else
    {
      info->scale_bin_width = 1.0 / QS_BLOCK_SCALE_SUBBINS;
      info->scale_log2_lo = (double) lo / QS_BLOCK_SCALE_SUBBINS + QS_BLOCK_SCALE_LOG2_MIN;
    }
  if (lo <= hi)
    {
      info->scale_bins = (int) (hi - lo + 1);
      info->scale_counts = calloc ((size_t) info->scale_bins, sizeof (uint64_t));
      if (info->scale_counts == NULL)
        {
          free (info);
          return QS_STATUS_NO_MEMORY;
        }
      for (int i = 0; i < p->n_workers; i++)
        for (int b = 0; b < info->scale_bins; b++)
          info->scale_counts[b] += p->workers[i].scale_counts[lo + (size_t) b];
    }
  else
    info->scale_log2_lo = 0.0;

  info->worst_count = all.worst_count;
  for (int k = 0; k < all.worst_count; k++)
    {
      size_t block = all.worst[k].block, g = block % p->geo.blocks_per_run;
      size_t start = g * p->geo.block_size;
      size_t end = start + p->geo.block_size < p->geo.run_length ? start + p->geo.block_size
                                                                   : p->geo.run_length;
      info->worst[k] = (QsBlockError) { block / p->geo.blocks_per_run, start, end - start,
                                        all.worst[k].mse, all.worst[k].max_abs_error };
    }
  *out = info;
  return QS_OK;
}

static void
init_hist_args (QsFusedArgs *hist,
                int          bins,
                double       lo,
                double       hi)
{
  memset (hist, 0, sizeof *hist);
  hist->bins = bins;
  hist->hist_lo = (float) lo;
  hist->hist_hi = (float) hi;
  hist->hist_inv_width = (float) (bins / (hi - lo));
}

static void
element_code_range (const QsScheme *scheme,
                    int            *qmin,
                    int            *qmax)
{
  if (scheme->format == QS_FORMAT_INT)
    qs_scheme_code_range (scheme, qmin, qmax);
  else if (scheme->format == QS_FORMAT_MXINT8)
    {
      *qmin = -127;
      *qmax = 127;
    }
  else
    {
      *qmin = 0;
      *qmax = (1 << qs_format_element_bits (scheme->format)) - 1;
    }
}

QsStatus
qs_block_analyze (const QsScheme        *scheme,
                  const QsChannelLayout *layout,
                  const float           *data,
                  int                    n_threads,
                  QsQuantParams         *params,
                  QsAnalysis            *analysis)
{
  return qs_block_analyze_codes (scheme, layout, data, n_threads, NULL, params, analysis, NULL);
}

QsStatus
qs_block_analyze_codes (const QsScheme        *scheme,
                        const QsChannelLayout *layout,
                        const float           *data,
                        int                    n_threads,
                        QsRangeMemo           *memo,
                        QsQuantParams         *params,
                        QsAnalysis            *analysis,
                        uint64_t              *code_counts)
{
  QsRangeStats *stats = NULL, total;
  Pass p = { 0 };
  TaskSums sum = { 0 };
  uint64_t *codes = NULL, *orig = NULL, *recon = NULL;
  const uint64_t *known_hist;
  double hist_lo, hist_hi, known_x2 = 0.0;
  uint64_t bits, finite;
  QsStatus status;

  memset (params, 0, sizeof *params);
  memset (analysis, 0, sizeof *analysis);
  status = qs_scheme_validate (scheme, NULL);
  if (status != QS_OK)
    return status;
  if (!qs_scheme_is_blockwise (scheme))
    return QS_STATUS_INVALID_ARGUMENT;
  if (layout->count == 0)
    return QS_STATUS_EMPTY;

  stats = malloc (layout->channels * sizeof (QsRangeStats));
  if (stats == NULL)
    return QS_STATUS_NO_MEMORY;
  status = qs_range_stats_remembered (layout, data, n_threads, memo, stats, &total);
  if (status == QS_OK && total.finite == 0)
    status = QS_STATUS_NO_FINITE_VALUES;
  if (status != QS_OK)
    goto out;

  qs_histogram_range (scheme, total.min, total.max, &hist_lo, &hist_hi);

  p.scheme = scheme;
  p.layout = *layout;
  p.data = data;
  p.tensor_scale = nvfp4_tensor_scale (fmaxf (-total.min, total.max));
  element_code_range (scheme, &p.qmin, &p.qmax);
  p.histograms = true;
  p.inspect = true;
  init_hist_args (&p.hist, scheme->bins, hist_lo, hist_hi);
  /* Non-finite values keep their own slots here, so the short histogram
   * slot (see QsFusedArgs.values_in_domain) takes finite data only. */
  p.hist.values_in_domain = total.nonfinite == 0 && p.hist.hist_lo <= total.min && total.max <= p.hist.hist_hi;
  known_hist = qs_range_memo_histogram (memo, scheme->bins, hist_lo, hist_hi);
  p.data_hist_known = known_hist != NULL;
  if (qs_block_geometry (scheme, layout, &p.geo) == QS_OK)
    p.x2_known = qs_range_memo_block_squares (memo, layout, p.geo.block_size, &known_x2);
  status = pass_run (&p, n_threads);
  if (status != QS_OK)
    goto out;

  codes = calloc (p.code_slots + 1, sizeof (uint64_t));
  orig = calloc ((size_t) scheme->bins + 3, sizeof (uint64_t));
  recon = calloc ((size_t) scheme->bins + 3, sizeof (uint64_t));
  status = qs_quant_params_init (params, 1);
  if (!codes || !orig || !recon || status != QS_OK)
    {
      status = QS_STATUS_NO_MEMORY;
      goto out;
    }

  for (size_t t = 0; t < p.n_tasks; t++)
    {
      sum.err2 += p.sums[t].err2;
      sum.x2 += p.sums[t].x2;
      sum.recon2 += p.sums[t].recon2;
      sum.err2_exact += p.sums[t].err2_exact;
    }
  if (p.x2_known)
    sum.x2 = known_x2;
  else
    qs_range_memo_keep_block_squares (memo, layout, p.geo.block_size, sum.x2);
  analysis->zero_exact = true;
  for (int i = 0; i < p.n_workers; i++)
    {
      Worker *w = &p.workers[i];
      if (w->joint != NULL)
        qs_block_fold_joint (&p, w);
      for (size_t s = 0; s <= p.code_slots; s++)
        codes[s] += w->codes[s];
      for (int b = 0; b < scheme->bins + 3; b++)
        {
          orig[b] += w->orig[b];
          for (int copy = 0; copy < QS_BLOCK_RECON_COPIES; copy++)
            recon[b] += w->recon[(size_t) copy * w->recon_stride + (size_t) b];
        }
      analysis->clipped_count += w->clipped;
      analysis->nonfinite_count += w->nonfinite;
      analysis->max_abs_error = fmax (analysis->max_abs_error, w->max_error);
      analysis->zero_error = fmax (analysis->zero_error, w->zero_error);
    }
  analysis->zero_exact = analysis->zero_error == 0.0;
  /* After the folds, which count the scale rows' keys (and may have had
   * to make room for them). */
  for (int i = 0; i < p.n_workers; i++)
    if (p.workers[i].out_of_memory)
      {
        status = QS_STATUS_NO_MEMORY;
        goto out;
      }
  if (p.recon2_by_key)
    sum.recon2 = recon2_by_key (&p);
  if (code_counts != NULL)
    memcpy (code_counts, codes, (p.code_slots + 1) * sizeof (uint64_t));
  if (known_hist != NULL)
    memcpy (orig, known_hist, ((size_t) scheme->bins + 2) * sizeof (uint64_t));
  else
    qs_range_memo_keep_histogram (memo, scheme->bins, hist_lo, hist_hi, orig[0], orig + 1, orig[scheme->bins + 1]);

  finite = layout->count - analysis->nonfinite_count;
  analysis->count = layout->count;
  analysis->finite_count = finite;
  analysis->data_min = total.min;
  analysis->exact_zero_count = total.zeros;
  analysis->data_max = total.max;
  analysis->mse = finite > 0 ? sum.err2 / (double) finite : NAN;
  analysis->rmse = sqrt (analysis->mse);
  analysis->sqnr_db = sqnr_db (sum.x2, sum.err2);
  analysis->cosine = cosine_of_sums (sum.x2, sum.recon2, sum.err2);
  for (size_t s = 0; s < p.code_slots; s++)
    analysis->levels_used += codes[s] > 0;

  {
    QsHistogram *h = &analysis->histogram;
    h->bins = scheme->bins;
    h->lo = p.hist.hist_lo;
    h->hi = p.hist.hist_hi;
    h->counts = calloc ((size_t) h->bins, sizeof (uint64_t));
    h->quantized_counts = calloc ((size_t) h->bins, sizeof (uint64_t));
    if (h->counts == NULL || h->quantized_counts == NULL)
      {
        status = QS_STATUS_NO_MEMORY;
        goto out;
      }
    memcpy (h->counts, orig + 1, (size_t) h->bins * sizeof (uint64_t));
    memcpy (h->quantized_counts, recon + 1, (size_t) h->bins * sizeof (uint64_t));
    h->underflow = orig[0];
    h->overflow = orig[h->bins + 1];
    h->quantized_underflow = recon[0];
    h->quantized_overflow = recon[h->bins + 1];
  }

  bits = qs_block_size_bits (scheme, layout->count, p.geo.block_count);
  analysis->size_fp32_bytes = (uint64_t) layout->count * sizeof (float);
  analysis->size_quant_bytes = (bits + 7) / 8;
  analysis->bits_per_weight = (double) bits / (double) layout->count;
  analysis->compression_ratio = (double) analysis->size_fp32_bytes / (double) analysis->size_quant_bytes;

  analysis->channels = layout->channels;
  analysis->channel_min = malloc (layout->channels * sizeof (float));
  analysis->channel_max = malloc (layout->channels * sizeof (float));
  if (analysis->channel_min == NULL || analysis->channel_max == NULL)
    {
      status = QS_STATUS_NO_MEMORY;
      goto out;
    }
  for (size_t c = 0; c < layout->channels; c++)
    {
      analysis->channel_min[c] = stats[c].min;
      analysis->channel_max[c] = stats[c].max;
    }

  status = finish_info (&p, sum.x2, sum.err2, sum.err2_exact, &analysis->blocks);
  if (status != QS_OK)
    goto out;

  /* One channel of parameters: the element code range, and NVFP4's
   * tensor scale (1 otherwise); the block scales are in the export. */
  params->format = scheme->format;
  params->rounding = scheme->rounding;
  params->nudge_zero = scheme->nudge_zero;
  params->qmin = scheme->format == QS_FORMAT_INT ? p.qmin : 0;
  params->qmax = scheme->format == QS_FORMAT_INT ? p.qmax : (int) p.code_slots - 1;
  params->scale[0] = scheme->format == QS_FORMAT_NVFP4 ? p.tensor_scale : 1.0f;
  params->inv_scale[0] = 1.0f / params->scale[0];
  params->range_lo[0] = total.min;
  params->range_hi[0] = total.max;

out:
  pass_free (&p);
  free (stats);
  free (codes);
  free (orig);
  free (recon);
  if (status != QS_OK)
    {
      qs_quant_params_clear (params);
      qs_analysis_clear (analysis);
    }
  return status;
}

/* The whole tensor's finite range; QS_STATUS_NO_FINITE_VALUES without any. */
static QsStatus
tensor_range (const QsChannelLayout *layout,
              const float           *data,
              int                    n_threads,
              QsRangeStats          *total)
{
  QsChannelLayout flat = qs_channel_layout_per_tensor (layout->count);
  QsRangeStats one;
  QsStatus status = qs_range_stats_compute (&flat, data, n_threads, &one, total);

  if (status == QS_OK && total->finite == 0)
    status = QS_STATUS_NO_FINITE_VALUES;
  return status;
}

QsStatus
qs_block_sweep (const QsScheme        *scheme,
                const QsChannelLayout *layout,
                const float           *data,
                int                    n_threads,
                const int             *sizes,
                size_t                 n_sizes,
                QsBlockSweepPoint     *points)
{
  QsRangeStats total;
  QsStatus status;

  if (!qs_scheme_is_blockwise (scheme) || layout->count == 0)
    return layout->count == 0 ? QS_STATUS_EMPTY : QS_STATUS_INVALID_ARGUMENT;
  status = tensor_range (layout, data, n_threads, &total);
  if (status != QS_OK)
    return status;

  for (size_t i = 0; i < n_sizes; i++)
    {
      QsScheme s = *scheme;
      Pass p = { 0 };
      double err2 = 0.0, x2 = 0.0;

      s.group_size = sizes[i];
      status = qs_scheme_validate (&s, NULL);
      if (status != QS_OK || sizes[i] < 1)
        return QS_STATUS_INVALID_ARGUMENT;
      p.scheme = &s;
      p.layout = *layout;
      p.data = data;
      p.tensor_scale = nvfp4_tensor_scale (fmaxf (-total.min, total.max));
      element_code_range (&s, &p.qmin, &p.qmax);
      init_hist_args (&p.hist, 1, 0.0, 1.0);
      status = pass_run (&p, n_threads);
      if (status == QS_OK)
        {
          for (size_t t = 0; t < p.n_tasks; t++)
            {
              err2 += p.sums[t].err2;
              x2 += p.sums[t].x2;
            }
          points[i].group_size = sizes[i];
          points[i].bits_per_weight = (double) qs_block_size_bits (&s, layout->count, p.geo.block_count)
                                      / (double) layout->count;
          points[i].sqnr_db = sqnr_db (x2, err2);
          points[i].mse = err2 / (double) total.finite;
        }
      pass_free (&p);
      if (status != QS_OK)
        return status;
    }
  return QS_OK;
}

/* qs_block_quantize with the tensor's largest finite magnitude
 * @tensor_amax, or, where it is NULL, the range of @data (which must hold
 * a finite value). */
static QsStatus
block_quantize (const QsScheme        *scheme,
                const QsChannelLayout *layout,
                const float           *data,
                const float           *tensor_amax,
                int32_t               *codes,
                float                 *scales,
                uint8_t               *scale_codes,
                int32_t               *zero_points,
                float                 *tensor_scale)
{
  QsBlockGeometry geo;
  QsRangeStats total;
  float *scratch, *finite;
  float ts;
  Pass p = { 0 };
  QsStatus status;

  status = qs_block_geometry (scheme, layout, &geo);
  if (status != QS_OK)
    return status;
  /* encode_run reads only these of the pass. */
  p.scheme = scheme;
  element_code_range (scheme, &p.qmin, &p.qmax);
  fill_value_table (scheme->format, p.values);

  scratch = malloc (geo.block_size * sizeof (float));
  finite = malloc (geo.block_size * sizeof (float));
  status = scratch && finite ? QS_OK : QS_STATUS_NO_MEMORY;
  if (status == QS_OK && tensor_amax == NULL)
    status = tensor_range (layout, data, 1, &total);
  if (status != QS_OK)
    {
      free (scratch);
      free (finite);
      return status;
    }
  ts = nvfp4_tensor_scale (tensor_amax != NULL ? *tensor_amax : fmaxf (-total.min, total.max));
  if (tensor_scale != NULL)
    *tensor_scale = scheme->format == QS_FORMAT_NVFP4 ? ts : 1.0f;

  for (size_t b = 0; b < geo.block_count; b++)
    {
      size_t c = b / geo.blocks_per_run, g = b % geo.blocks_per_run, n;
      const float *x = block_elements (layout, &geo, data, c, g, scratch, &n);
      size_t start = g * geo.block_size;
      float amax, lo, hi, rec[SUB];
      int32_t slot[SUB];
      BlockScale bs;

      /* Non-finite values take the code of 0.0, as in the integer quantizer;
       * a 0.0 changes no block's scale (the integer range contains 0 anyway). */
      for (size_t j = 0; j < n; j++)
        finite[j] = x[j] - x[j] == 0.0f ? x[j] : 0.0f;
      block_range (finite, n, &amax, &lo, &hi);
      qs_block_scale (scheme, ts, amax, lo, hi, &bs);
      scales[b] = bs.scale;
      if (scale_codes != NULL)
        scale_codes[b] = bs.scale_code;
      if (zero_points != NULL)
        zero_points[b] = scheme->format == QS_FORMAT_INT ? (int32_t) lrintf (bs.coeffs.post) : 0;

      for (size_t j0 = 0; j0 < n; j0 += SUB)
        {
          size_t m = n - j0 < SUB ? n - j0 : SUB;
          encode_run (&p, scheme->format, scheme->rounding, &bs, finite + j0, m, slot, rec);
          for (size_t j = 0; j < m; j++)
            {
              size_t pos = start + j0 + j;
              size_t index = ((pos / layout->inner) * layout->channels + c) * layout->inner
                             + pos % layout->inner;
              codes[index] = scheme->format == QS_FORMAT_INT ? slot[j] + p.qmin
                             : scheme->format == QS_FORMAT_MXINT8 ? slot[j] - 128 : slot[j];
            }
        }
    }
  free (scratch);
  free (finite);
  return QS_OK;
}

QsStatus
qs_block_encode_value (const QsScheme   *scheme,
                       float             value,
                       float             tensor_scale,
                       QsBlockValueCode *out)
{
  QsFormat format = scheme->format;
  Pass p = { 0 };
  BlockScale bs;
  int32_t slot;
  float magnitude = fabsf (value);

  if (format == QS_FORMAT_INT || format == QS_FORMAT_NF4 || format == QS_FORMAT_MXINT8
      || !qs_format_is_block (format))
    return QS_STATUS_INVALID_ARGUMENT;
  if (!isfinite (value))
    return QS_STATUS_NO_FINITE_VALUES;
  if (!(tensor_scale > 0.0f && isfinite (tensor_scale)))
    tensor_scale = nvfp4_tensor_scale (magnitude);
  /* encode_run reads only these of the pass, as in qs_block_quantize. */
  p.scheme = scheme;
  element_code_range (scheme, &p.qmin, &p.qmax);
  fill_value_table (format, p.values);
  qs_block_scale (scheme, tensor_scale, magnitude, value, value, &bs);
  encode_run (&p, format, scheme->rounding, &bs, &value, 1, &slot, &out->reconstruction);
  out->scale = bs.scale;
  out->scale_code = bs.scale_code;
  out->tensor_scale = format == QS_FORMAT_NVFP4 ? tensor_scale : 1.0f;
  out->element = bs.zero ? 0.0f : bs.divide ? value / bs.scale : value * bs.inv;
  out->code = slot;
  return QS_OK;
}

QsStatus
qs_block_quantize (const QsScheme        *scheme,
                   const QsChannelLayout *layout,
                   const float           *data,
                   int32_t               *codes,
                   float                 *scales,
                   uint8_t               *scale_codes,
                   int32_t               *zero_points,
                   float                 *tensor_scale)
{
  return block_quantize (scheme, layout, data, NULL, codes, scales, scale_codes, zero_points, tensor_scale);
}

QsStatus
qs_block_quantize_part (const QsScheme        *scheme,
                        const QsChannelLayout *layout,
                        const float           *data,
                        float                  tensor_amax,
                        int32_t               *codes,
                        float                 *scales,
                        uint8_t               *scale_codes,
                        int32_t               *zero_points)
{
  if (scheme->format != QS_FORMAT_NVFP4 || !(tensor_amax >= 0.0f) || isinf (tensor_amax))
    return QS_STATUS_INVALID_ARGUMENT;
  return block_quantize (scheme, layout, data, &tensor_amax, codes, scales, scale_codes, zero_points, NULL);
}

float
qs_block_element_value (QsFormat format,
                        int32_t  code)
{
  switch (format)
    {
    case QS_FORMAT_MXFP8_E4M3:
      return qs_fp8_e4m3_to_float ((uint8_t) code);
    case QS_FORMAT_MXFP8_E5M2:
      return qs_fp8_e5m2_to_float ((uint8_t) code);
    case QS_FORMAT_MXFP6_E2M3:
      return qs_fp6_e2m3_to_float ((uint8_t) code);
    case QS_FORMAT_MXFP6_E3M2:
      return qs_fp6_e3m2_to_float ((uint8_t) code);
    case QS_FORMAT_MXFP4:
    case QS_FORMAT_NVFP4:
      return qs_fp4_e2m1_to_float ((uint8_t) code);
    case QS_FORMAT_MXINT8:
      return (float) code * (1.0f / 64.0f);
    case QS_FORMAT_NF4:
      return nf4_levels[code & 15];
    case QS_FORMAT_INT:
    default:
      return 0.0f;
    }
}

QsStatus
qs_block_dequantize (const QsScheme        *scheme,
                     const QsChannelLayout *layout,
                     const int32_t         *codes,
                     const float           *scales,
                     const int32_t         *zero_points,
                     float                 *out)
{
  QsBlockGeometry geo;
  QsStatus status = qs_block_geometry (scheme, layout, &geo);

  if (status != QS_OK)
    return status;
  for (size_t c = 0; c < layout->channels; c++)
    for (size_t p = 0; p < geo.run_length; p++)
      {
        size_t i = ((p / layout->inner) * layout->channels + c) * layout->inner + p % layout->inner;
        size_t b = c * geo.blocks_per_run + p / geo.block_size;
        if (scheme->format == QS_FORMAT_INT)
          out[i] = (float) (codes[i] - (zero_points != NULL ? zero_points[b] : 0)) * scales[b];
        else
          out[i] = qs_block_element_value (scheme->format, codes[i]) * scales[b];
      }
  return QS_OK;
}
