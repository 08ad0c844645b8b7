/* qs-fused-avx512.c: the AVX-512 twins of the fused-pass and min/max kernels (sixteen elements a step).
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The same results as qs-fused-scalar.c, bit for bit: the same float
 * operations in the same order (contraction off; the FMA of the double
 * sums is exact), except where an instruction does the reference's work
 * exactly in fewer steps (rounding, the clip test, the maximum of
 * absolute values; each says why it is exact). Elements j and j + 8 of a
 * step both belong to lane j of the reference's eight lane sums; they are
 * added to that lane one after the other, in the reference's order, so
 * the double sums agree bit for bit; at the end of each chunk they are
 * added to the block's sums as qs_fused_span_of_chunks adds a reference
 * chunk's. Maxima do not depend on order and are kept sixteen wide. The
 * last step of a chunk is masked: its missing elements add exact zeros,
 * which change no sum (a lane sum is never -0).
 */
#include "qs-fused-private.h"

#if defined(__x86_64__)

#include "qs-fused-avx512-private.h"

/* How far ahead to fetch, into L2 (see qs-fused-avx2.c for why at all):
 * on the Sapphire Rapids class Xeon, 25M weights read from memory, the
 * min/max read runs at its best 16 KiB ahead (its loop is short, so the
 * out-of-order window already covers the first few KiB) and the fused
 * pass 8 KiB ahead; both beat 2 KiB into L1 by 5-10 % (bench/RESULTS.md). */
#define FUSED_PREFETCH_BYTES 8192
#define RANGE_PREFETCH_BYTES 16384

#define STEP 16
#define LAG 3
#define RING 4

/* sum[l] += a[l] * b[l] for elements l, then sum[l] += a[l + 8] * b[l + 8]:
 * the reference's order within lane l. A fused multiply-add is no
 * contraction here: the product of two floats is exact in double, so
 * rounding it first, as the reference does, changes nothing. */
static inline AVX512 __m512d
accumulate_pd (__m512d sum, __m512d a_lo, __m512d a_hi, __m512d b_lo, __m512d b_hi)
{
  sum = _mm512_fmadd_pd (a_lo, b_lo, sum);
  return _mm512_fmadd_pd (a_hi, b_hi, sum);
}

/* A coefficient for the sixteen elements from j: one value per run
 * (stride 0), or one per element (stride 1), read only where valid. */
static inline AVX512 __m512
coeff (const float *array, size_t c0, size_t j, bool stride, __mmask16 valid)
{
  if (!stride)
    return _mm512_set1_ps (array[c0]);
  return valid == 0xffff ? _mm512_loadu_ps (array + c0 + j) : _mm512_maskz_loadu_ps (valid, array + c0 + j);
}

static inline AVX512 void
count_slots (const QsFusedCounts *counts,
             int32_t              slots[3][STEP],
             int                  n,
             bool                 joint,
             bool                 direct)
{
  for (int l = 0; l < n; l++)
    {
      if (joint)
        counts->joint[slots[0][l]]++;
      else
        {
          counts->codes[slots[0][l]]++;
          counts->orig[slots[1][l]]++;
        }
      if (direct)
        counts->recon[slots[2][l]]++;
    }
}

/* What a run of one channel keeps in registers: its coefficients, the
 * histogram's, and the chunk's sums and counts. */
typedef struct {
  __m512     inv;
  __m512     add;
  __m512     lo;
  __m512     hi;
  __m512     sub;
  __m512     scale;
  __m512     post_minus_qmin;
  HistConsts hist;
} RunConsts;

typedef struct {
  __m512d  err2;
  __m512d  x2;
  __m512d  recon2;
  __m512d  cross;
  __m512   max_error;
  __m512i  clipped;     /* per lane, within the chunk */
  uint64_t nonfinite;
} ChunkSums;

/* Sixteen increments of the pair table, from one step's slots. */
static inline AVX512 void
count_pairs (uint32_t      *joint,
             const int32_t *slots)
{
  for (int l = 0; l < STEP; l++)
    joint[slots[l]]++;
}

/* The arithmetic both loops share, for sixteen values @v whose
 * non-finite lanes (not in @finite) were zeroed: the clamped levels
 * (returned), the clip counts, the reconstruction (in @recon_out) and its
 * error, and the chunk's sums. @v_hi: the upper eight values in double;
 * @recon_out may be NULL. */
static inline __attribute__ ((always_inline)) AVX512 __m512
quantize_step (__m512         v,
               __m512d        v_hi,
               __mmask16      finite,
               __m512         inv,
               __m512         add,
               __m512         lo,
               __m512         hi,
               __m512         sub,
               __m512         scale,
               ChunkSums     *acc,
               __m512        *recon_out,
               bool           away,
               bool           nudged)
{
  const __m512 one = _mm512_set1_ps (1.0f);
  __m512 t = _mm512_mul_ps (v, inv), r, rc, recon, err;
  __m512d v_lo, r_lo, r_hi, e_lo, e_hi;

  if (!nudged)
    t = _mm512_add_ps (t, add);
  if (away)
    {
      /* v is finite (non-finite lanes were zeroed), so t is never NaN. */
      r = round_away_ps (clamp_ps (t, _mm512_sub_ps (lo, one), _mm512_add_ps (hi, one)));
    }
  else
    {
      /* Rounding to nearest even at any magnitude, so the reference's
       * clamp to [lo - 1, hi + 1] first (which keeps its magic-number
       * rounding exact) changes neither the clip test nor the clamped
       * value. Only a zero's sign can differ, which no output sees. */
      r = _mm512_roundscale_ps (t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    }
  rc = clamp_ps (r, lo, hi);
  /* Per-lane counts of clipped values: a masked add costs less than
   * moving the mask out and counting its bits. */
  acc->clipped = _mm512_mask_add_epi32 (acc->clipped, _mm512_cmp_ps_mask (r, rc, _CMP_NEQ_OQ) & finite,
                                        acc->clipped, _mm512_set1_epi32 (1));
  recon = _mm512_maskz_mul_ps (finite, nudged ? rc : _mm512_sub_ps (rc, sub), scale);
  err = _mm512_sub_ps (recon, v);

  v_lo = widen_lo (v);
  r_lo = widen_lo (recon);
  r_hi = widen_hi (recon);
  e_lo = widen_lo (err);
  e_hi = widen_hi (err);
  acc->err2 = accumulate_pd (acc->err2, e_lo, e_hi, e_lo, e_hi);
  acc->x2 = accumulate_pd (acc->x2, v_lo, v_hi, v_lo, v_hi);
  acc->recon2 = accumulate_pd (acc->recon2, r_lo, r_hi, r_lo, r_hi);
  acc->cross = accumulate_pd (acc->cross, v_lo, v_hi, r_lo, r_hi);
  /* max (|err|, max_error), sign cleared: both are never NaN. */
  acc->max_error = _mm512_range_ps (err, acc->max_error, 0x0b);
  if (recon_out != NULL)
    *recon_out = recon;
  return rc;
}

/* One whole step of a per-tensor run (see fused_run for why each
 * operation is exact): the sums, and the pairs' indices code + bin
 * stored to @slots. */
static inline __attribute__ ((always_inline)) AVX512 void
per_tensor_step (const RunConsts *c,
                 const float     *x,
                 ChunkSums       *acc,
                 int32_t         *slots,
                 bool             away,
                 bool             nudged,
                 bool             codes_alone)
{
  __m512 raw = _mm512_loadu_ps (x);
  __mmask16 bad = _mm512_fpclass_ps_mask (raw, 0x99), finite = (__mmask16) ~bad;
  __m512 v = raw, rc;
  __m512i codes;

  _mm_prefetch ((const char *) x + FUSED_PREFETCH_BYTES, _MM_HINT_T1);
  if (bad != 0)
    {
      /* Binned as 0.0, as fused_run does per tensor. */
      acc->nonfinite += (uint32_t) __builtin_popcount (bad);
      v = _mm512_maskz_mov_ps (finite, raw);
    }
  /* A step of finite values converts its upper half straight from
   * memory, which spares a shuffle. */
  rc = quantize_step (v, bad == 0 ? _mm512_cvtps_pd (_mm256_loadu_ps (x + 8)) : widen_hi (v), finite,
                      c->inv, c->add, c->lo, c->hi, c->sub, c->scale, acc, NULL, away, nudged);
  codes = _mm512_cvttps_epi32 (_mm512_add_ps (rc, c->post_minus_qmin));
  _mm512_store_si512 (slots, codes_alone ? codes : _mm512_add_epi32 (codes, hist_slot_in_domain_ps (&c->hist, v)));
}

/* A whole chunk of a per-tensor run whose pairs are counted by code + bin
 * and whose values all lie in the histogram's domain: nearly all of a
 * large tensor. Without partial steps there is no bookkeeping per step;
 * four steps to a round keep each ring slot a constant. Counts lag three
 * steps as in fused_run, and the last three are counted at the end. */
static inline __attribute__ ((always_inline)) AVX512 void
per_tensor_chunk (const RunConsts *c,
                  const float     *x,
                  ChunkSums       *acc,
                  uint32_t        *joint,
                  bool             away,
                  bool             nudged,
                  bool             codes_alone)
{
  int32_t ring[4][STEP] __attribute__ ((aligned (64)));

  for (int round = 0; round < QS_FUSED_CHUNK / (4 * STEP); round++, x += 4 * STEP)
    {
      per_tensor_step (c, x, acc, ring[0], away, nudged, codes_alone);
      if (round > 0)
        count_pairs (joint, ring[1]);
      per_tensor_step (c, x + STEP, acc, ring[1], away, nudged, codes_alone);
      if (round > 0)
        count_pairs (joint, ring[2]);
      per_tensor_step (c, x + 2 * STEP, acc, ring[2], away, nudged, codes_alone);
      if (round > 0)
        count_pairs (joint, ring[3]);
      per_tensor_step (c, x + 3 * STEP, acc, ring[3], away, nudged, codes_alone);
      count_pairs (joint, ring[0]);
    }
  count_pairs (joint, ring[1]);
  count_pairs (joint, ring[2]);
  count_pairs (joint, ring[3]);
}

/* The kernel for one combination of layout (stride), rounding (away),
 * reconstruction bins (direct) and mapping (nudged: add and sub are 0 in
 * the run's one channel, so x * inv + 0 and r - 0 can be skipped; they
 * change nothing but the sign of a zero, which no output sees). Inlined
 * into each specialisation, where the flags are constants. */
static inline __attribute__ ((always_inline)) AVX512 void
fused_run (const QsFusedArgs   *a,
           const float         *x,
           size_t               n,
           size_t               c0,
           size_t               head,
           QsFusedSpanSums     *s,
           const QsFusedCounts *counts,
           bool                 stride,
           bool                 away,
           bool                 direct,
           bool                 nudged)
{
  const __m512 zero = _mm512_setzero_ps ();
  const __m512i skip_code = _mm512_set1_epi32 (a->skip_code_slot);
  const __m512i skip_bin = _mm512_set1_epi32 (a->bins + 2);
  const __m512i qmin = _mm512_set1_epi32 (a->qmin);
  const __m512i joint_stride = _mm512_set1_epi32 (a->joint_stride);
  bool joint = a->joint_stride > 0;
  /* Per tensor the pair's index is code + bin (see QsFusedCounts). */
  bool chain = a->joint_stride == 1;
  bool in_domain = a->values_in_domain;
  /* Per run: r + (post - qmin) is r + post - qmin, all small integers in
   * float, so exact. */
  const __m512 post_minus_qmin = _mm512_set1_ps (stride ? 0.0f : a->post[c0] - (float) a->qmin);
  const HistConsts hist = hist_consts (a);
  __m512 inv = zero, add = zero, lo = zero, hi = zero, post = zero, sub = zero, scale = zero;
  __m512 max_error = zero;
  double block[4] = { s->err2, s->x2, s->recon2, s->cross };
  uint64_t clipped = 0, nonfinite = 0;
  /* Slots of the step LAG steps back are counted during this one: a load
   * soon after the vector store that wrote it would wait for the store to
   * retire (measured: a lag of 3 is faster than 1 or 2, 4 or 6 no better). */
  int32_t slots[RING][3][STEP] __attribute__ ((aligned (64)));
  int filled[RING];   /* valid slots in each: a chunk's last step may be short */
  size_t k = 0;
  /* Per tensor, non-finite values are counted in the slots of 0.0 (which
   * they become) and moved to the skip slots at the end, instead of a
   * blend per step. */
  bool mark_skipped = stride || direct;
  /* Whole chunks of a large tensor go through per_tensor_chunk. */
  bool whole_chunks = !stride && !direct && chain && (in_domain || a->codes_alone);
  RunConsts run;

  if (!stride)
    {
      inv = coeff (a->inv, c0, 0, false, 0xffff);
      add = coeff (a->add, c0, 0, false, 0xffff);
      lo = coeff (a->lo, c0, 0, false, 0xffff);
      hi = coeff (a->hi, c0, 0, false, 0xffff);
      post = coeff (a->post, c0, 0, false, 0xffff);
      sub = coeff (a->sub, c0, 0, false, 0xffff);
      scale = coeff (a->scale, c0, 0, false, 0xffff);
      run = (RunConsts) { inv, add, lo, hi, sub, scale, post_minus_qmin, hist };
    }

  for (size_t done = 0, len = head; done < n; done += len, len = QS_FUSED_CHUNK)
    {
      ChunkSums chunk = {
        _mm512_setzero_pd (), _mm512_setzero_pd (), _mm512_setzero_pd (), _mm512_setzero_pd (),
        max_error, _mm512_setzero_si512 (), 0,
      };
      double lanes[4][QS_FUSED_LANES];
      size_t first = done;   /* the general loop's first element */

      if (len > n - done)
        len = n - done;
      if (whole_chunks && len == QS_FUSED_CHUNK)
        {
          /* Steps of the general loop still to count, first. */
          for (size_t back = k < LAG ? k : LAG; back > 0; back--)
            count_slots (counts, slots[(k - back) % RING], filled[(k - back) % RING], joint, direct);
          k = 0;
          /* Each a copy of its own, the flag a constant in its steps. */
          if (a->codes_alone)
            per_tensor_chunk (&run, x + done, &chunk, counts->joint, away, nudged, true);
          else
            per_tensor_chunk (&run, x + done, &chunk, counts->joint, away, nudged, false);
          first = done + len;
        }
      for (size_t j = first; j < done + len; j += STEP, k++)
        {
          size_t left = done + len - j;
          int32_t (*cur)[STEP] = slots[k % RING];
          __mmask16 valid = left >= STEP ? 0xffff : (__mmask16) ((1u << left) - 1);
          __m512 raw = valid == 0xffff ? _mm512_loadu_ps (x + j) : _mm512_maskz_loadu_ps (valid, x + j);
          __mmask16 bad, finite;
          __m512 v, rc, recon;
          __m512i codes, bins;

          _mm_prefetch ((const char *) (x + j) + FUSED_PREFETCH_BYTES, _MM_HINT_T1);
          if (stride)
            {
              inv = coeff (a->inv, c0, j, stride, valid);
              add = coeff (a->add, c0, j, stride, valid);
              lo = coeff (a->lo, c0, j, stride, valid);
              hi = coeff (a->hi, c0, j, stride, valid);
              post = coeff (a->post, c0, j, stride, valid);
              sub = coeff (a->sub, c0, j, stride, valid);
              scale = coeff (a->scale, c0, j, stride, valid);
            }

          /* QNaN, +-inf, SNaN. Lanes past the end were loaded as 0. */
          bad = _mm512_fpclass_ps_mask (raw, 0x99);
          finite = valid & ~bad;
          if (bad == 0)
            v = raw;
          else
            {
              chunk.nonfinite += (uint32_t) __builtin_popcount (bad);
              v = _mm512_maskz_mov_ps (finite, raw);
            }
          rc = quantize_step (v, bad == 0 && valid == 0xffff ? _mm512_cvtps_pd (_mm256_loadu_ps (x + j + 8)) : widen_hi (v),
                              finite, inv, add, lo, hi, sub, scale, &chunk, &recon, away, nudged);

          if (stride)
            codes = _mm512_sub_epi32 (_mm512_cvttps_epi32 (_mm512_add_ps (rc, post)), qmin);
          else
            codes = _mm512_cvttps_epi32 (_mm512_add_ps (rc, post_minus_qmin));
          bins = a->codes_alone ? _mm512_setzero_si512 ()
                 : in_domain ? hist_slot_in_domain_ps (&hist, v) : hist_slot_ps (&hist, v);
          if (mark_skipped)
            {
              codes = _mm512_mask_mov_epi32 (skip_code, finite, codes);
              bins = _mm512_mask_mov_epi32 (skip_bin, finite, bins);
            }
          if (joint)
            _mm512_store_si512 (cur[0], _mm512_add_epi32 (chain ? codes : _mm512_mullo_epi32 (codes, joint_stride), bins));
          else
            {
              _mm512_store_si512 (cur[0], codes);
              _mm512_store_si512 (cur[1], bins);
            }
          if (direct)
            _mm512_store_si512 (cur[2], _mm512_mask_mov_epi32 (skip_bin, finite, hist_slot_ps (&hist, recon)));
          filled[k % RING] = left >= STEP ? STEP : (int) left;
          if (k >= LAG)
            {
              /* Full steps with a constant count, so the loop unrolls. */
              if (filled[(k - LAG) % RING] == STEP)
                count_slots (counts, slots[(k - LAG) % RING], STEP, joint, direct);
              else
                count_slots (counts, slots[(k - LAG) % RING], filled[(k - LAG) % RING], joint, direct);
            }
        }

      /* The chunk's lane sums into the block's, lane by lane, as
       * qs_fused_span_of_chunks folds them. */
      _mm512_storeu_pd (lanes[0], chunk.err2);
      _mm512_storeu_pd (lanes[1], chunk.x2);
      _mm512_storeu_pd (lanes[2], chunk.recon2);
      _mm512_storeu_pd (lanes[3], chunk.cross);
      for (int l = 0; l < QS_FUSED_LANES; l++)
        for (int q = 0; q < 4; q++)
          block[q] += lanes[q][l];
      max_error = chunk.max_error;
      clipped += (uint32_t) _mm512_reduce_add_epi32 (chunk.clipped);
      nonfinite += chunk.nonfinite;
    }
  for (size_t back = k < LAG ? k : LAG; back > 0; back--)
    count_slots (counts, slots[(k - back) % RING], filled[(k - back) % RING], joint, direct);
  if (!mark_skipped && nonfinite > 0)
    {
      bool clipped_zero;
      int32_t code = (int32_t) (qs_fused_level (a, c0, 0.0f, &clipped_zero) + a->post[c0]) - a->qmin;
      int32_t bin = a->codes_alone ? 0 : qs_fused_hist_slot (a, 0.0f);
      if (joint)
        {
          counts->joint[code * a->joint_stride + bin] -= nonfinite;
          counts->joint[a->skip_code_slot * a->joint_stride + a->bins + 2] += nonfinite;
        }
      else
        {
          counts->codes[code] -= nonfinite;
          counts->codes[a->skip_code_slot] += nonfinite;
          counts->orig[bin] -= nonfinite;
          counts->orig[a->bins + 2] += nonfinite;
        }
    }

  s->err2 = block[0];
  s->x2 = block[1];
  s->recon2 = block[2];
  s->cross = block[3];
  {
    float m = _mm512_reduce_max_ps (max_error);
    s->max_error = m > s->max_error ? m : s->max_error;
  }
  s->clipped += clipped;
  s->nonfinite += nonfinite;
}

#define FUSED_RUN(stride, away, direct, nudged) \
  static AVX512 void \
  fused_run_##stride##away##direct##nudged (const QsFusedArgs *a, const float *x, size_t n, size_t c0, \
                                            size_t head, QsFusedSpanSums *s, const QsFusedCounts *counts) \
  { \
    fused_run (a, x, n, c0, head, s, counts, stride, away, direct, nudged); \
  }

/* Per tensor and per channel along an outer axis (stride 0), then
 * channels last (stride 1, never nudged as a run). */
FUSED_RUN (0, 0, 0, 0)
FUSED_RUN (0, 0, 0, 1)
FUSED_RUN (0, 1, 0, 0)
FUSED_RUN (0, 1, 0, 1)
FUSED_RUN (0, 0, 1, 0)
FUSED_RUN (0, 0, 1, 1)
FUSED_RUN (0, 1, 1, 0)
FUSED_RUN (0, 1, 1, 1)
FUSED_RUN (1, 0, 1, 0)
FUSED_RUN (1, 1, 1, 0)

void AVX512
qs_fused_span_avx512 (const QsFusedArgs   *a,
                      const float         *x,
                      size_t               n,
                      size_t               c0,
                      size_t               stride,
                      size_t               head,
                      QsFusedSpanSums     *s,
                      const QsFusedCounts *counts)
{
  static void (*const runs[2][2][2][2]) (const QsFusedArgs *, const float *, size_t, size_t, size_t,
                                         QsFusedSpanSums *, const QsFusedCounts *) = {
    { { { fused_run_0000, fused_run_0001 }, { fused_run_0010, fused_run_0011 } },
      { { fused_run_0100, fused_run_0101 }, { fused_run_0110, fused_run_0111 } } },
    { { { fused_run_1010, fused_run_1010 }, { fused_run_1010, fused_run_1010 } },
      { { fused_run_1110, fused_run_1110 }, { fused_run_1110, fused_run_1110 } } },
  };
  bool away = a->rounding == QS_ROUNDING_HALF_AWAY;
  bool nudged = !stride && a->add[c0] == 0.0f && a->sub[c0] == 0.0f;

  if (n == 0)
    return;
  runs[stride != 0][away][a->direct_recon][nudged] (a, x, n, c0, head, s, counts);
}


/* Min, max, non-finite count and zeros as qs_minmax_avx2, sixteen at a
 * time: two classifications and three masked operations per step. */
void AVX512
qs_minmax_avx512 (const float *v,
                  size_t       n,
                  float       *min,
                  float       *max,
                  uint64_t    *nonfinite,
                  uint64_t    *zeros)
{
  const __m512i one = _mm512_set1_epi32 (1);
  __m512 mn = _mm512_set1_ps (*min), mx = _mm512_set1_ps (*max);
  __m512i zero_count = _mm512_setzero_si512 ();
  float lanes_min[STEP], lanes_max[STEP];
  uint64_t bad = 0;
  size_t i = 0, flush = 0;

  for (; i + STEP <= n; i += STEP)
    {
      __m512 x = _mm512_loadu_ps (v + i);
      __mmask16 b = _mm512_fpclass_ps_mask (x, 0x99);

      _mm_prefetch ((const char *) (v + i) + RANGE_PREFETCH_BYTES, _MM_HINT_T1);
      /* x < mn ? x : mn, as the reference compares. */
      mn = _mm512_mask_min_ps (mn, (__mmask16) ~b, x, mn);
      mx = _mm512_mask_max_ps (mx, (__mmask16) ~b, x, mx);
      bad += (uint64_t) __builtin_popcount (b);
      /* +0 and -0; flushed while the sixteen lanes still add up in 32 bits. */
      zero_count = _mm512_mask_add_epi32 (zero_count, _mm512_fpclass_ps_mask (x, 0x06), zero_count, one);
      if (++flush == (1u << 26))
        {
          *zeros += (uint64_t) (uint32_t) _mm512_reduce_add_epi32 (zero_count);
          zero_count = _mm512_setzero_si512 ();
          flush = 0;
        }
    }

  _mm512_storeu_ps (lanes_min, mn);
  _mm512_storeu_ps (lanes_max, mx);
  for (int l = 0; l < STEP; l++)
    {
      *min = lanes_min[l] < *min ? lanes_min[l] : *min;
      *max = lanes_max[l] > *max ? lanes_max[l] : *max;
    }
  *nonfinite += bad;
  *zeros += (uint64_t) (uint32_t) _mm512_reduce_add_epi32 (zero_count);
  qs_minmax_scalar (v + i, n - i, min, max, nonfinite, zeros);
}

#endif
