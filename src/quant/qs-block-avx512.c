/* qs-block-avx512.c: the AVX-512 twin of the block pass's kernel (sixteen elements a step).
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The same results as run_block in qs-block.c, bit for bit: the range
 * (in any lane order: no scale depends on the sign of a zero min or
 * max), the same scale (qs_block_scale, or its vector twin sixteen
 * blocks at a time), the same float operations per
 * element in the same order (contraction off), and the error sums in the
 * reference's eight double lanes, element j of a block in lane j % 8,
 * each lane in element order, folded where it folds them (per block, or
 * per run: QS_BLOCK_LANES). The encoders compute what the
 * scalar ones compute by other means where that is exact (each says
 * why): FP8, FP6 and FP4 by the same integer steps on the float's bits,
 * NF4 by counting the midpoints by bucket (qs_block_nf4_bucket), decoding
 * by permutes of the reference's value table or, for FP8, from the
 * code's bits. A block's last step is masked: missing elements add exact
 * zeros, which change no sum (a lane sum is never -0), and are not
 * counted.
 */
#include "qs-block-private.h"

#if defined(__x86_64__)

#include <float.h>
#include <math.h>

#include "qs-float-format-private.h"
#include "qs-fused-avx512-private.h"
#include "qs-params-private.h"

#define BLOCK_AVX512 __attribute__((target ("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma,popcnt")))
#define STEP QS_BLOCK_STEP
/* How far ahead of a block's range the data is prefetched. */
#ifndef PREFETCH_BYTES
#define PREFETCH_BYTES 2048
#endif
#define LAG (QS_BLOCK_RING - 1)

/* What a step's encoder needs, in registers for the block. */
typedef struct {
  __m512  inv;
  __m512  scale;
  bool    zero;
  bool    normal;     /* the exact scale: normal, so a relative error of 2^-24 at most */
  bool    nudged;     /* integer groups: add and sub are 0 (see encode_step) */
  /* integer groups: see QsChannelCoeffs */
  __m512  add;
  __m512  lo;
  __m512  hi;
  __m512  lo1;        /* lo - 1 */
  __m512  hi1;        /* hi + 1 */
  __m512  post;       /* post - qmin: the slot of r */
  __m512  sub;
} StepScale;

typedef struct {
  __m512i nf4_base[2];       /* QsBlockPass.nf4_bucket_base */
  __m512  nf4_threshold[2];  /* QsBlockPass.nf4_bucket_threshold */
  __m512  values[4];  /* QsBlockPass.values[0..63] */
  __m512  limit;      /* the largest element magnitude */
} FormatConsts;

static inline __attribute__ ((always_inline)) BLOCK_AVX512 StepScale
step_scale (const QsBlockPass *p, QsFormat format, bool nudged, const QsBlockScale *b)
{
  const QsChannelCoeffs *c = &b->coeffs;
  StepScale s = { _mm512_set1_ps (b->inv), _mm512_set1_ps (b->scale), b->zero };

  s.nudged = nudged;

  if (format == QS_FORMAT_INT)
    {
      s.add = _mm512_set1_ps (c->add);
      s.lo = _mm512_set1_ps (c->lo);
      s.hi = _mm512_set1_ps (c->hi);
      s.lo1 = _mm512_set1_ps (c->lo - 1.0f);
      s.hi1 = _mm512_set1_ps (c->hi + 1.0f);
      s.post = _mm512_set1_ps (c->post - (float) p->qmin);
      s.sub = _mm512_set1_ps (c->sub);
    }
  return s;
}

/* The code of each lane in a float format of @man_bits mantissa bits,
 * exponent bias @bias and sign bit 31 - @sign_shift: qs_fp8_*_encode's
 * integer steps (encode_magnitude), lane by lane. The FP6 and FP4 grids
 * are such formats without infinities or NaN, whose midpoint count
 * (qs_grid_encode) is this rounding to nearest, ties to the even code,
 * saturating at the largest code: their finite values take the same
 * codes by either method. */
static inline BLOCK_AVX512 __m512i
float_encode (__m512 v, unsigned man_bits, int bias, uint32_t max_code, uint32_t nan_code, unsigned sign_shift)
{
  const unsigned shift = 23 - man_bits;
  const uint32_t rebias = (uint32_t) (bias - 127) << 23;
  const uint32_t min_normal_bits = (uint32_t) (127 + 1 - bias) << 23;
  const uint32_t magic = subnormal_magic_bits (man_bits, bias);
  __m512i bits = _mm512_castps_si512 (v);
  __m512i abs = _mm512_and_si512 (bits, _mm512_set1_epi32 ((int) F32_ABS_MASK));
  __m512i odd = _mm512_and_si512 (_mm512_srli_epi32 (abs, shift), _mm512_set1_epi32 (1));
  __m512i code = _mm512_add_epi32 (_mm512_add_epi32 (abs, odd),
                                   _mm512_set1_epi32 ((int) (rebias + ((UINT32_C (1) << (shift - 1)) - 1))));
  __m512i sub = _mm512_sub_epi32 (_mm512_castps_si512 (_mm512_add_ps (_mm512_castsi512_ps (abs),
                                                                      _mm512_castsi512_ps (_mm512_set1_epi32 ((int) magic)))),
                                  _mm512_set1_epi32 ((int) magic));

  code = _mm512_srli_epi32 (code, shift);
  code = _mm512_mask_mov_epi32 (code, _mm512_cmplt_epu32_mask (abs, _mm512_set1_epi32 ((int) min_normal_bits)), sub);
  code = _mm512_min_epu32 (code, _mm512_set1_epi32 ((int) max_code));
  /* A NaN's bits lie above the infinity's, and so, rebiased and shifted
   * (without wrapping, for these biases), above every code: where its
   * code is the largest one the saturation gives it. */
  if (nan_code != max_code)
    code = _mm512_mask_mov_epi32 (code, _mm512_cmpgt_epu32_mask (abs, _mm512_set1_epi32 ((int) F32_INF_BITS)),
                                  _mm512_set1_epi32 ((int) nan_code));
  return _mm512_or_si512 (code, _mm512_and_si512 (_mm512_srli_epi32 (bits, sign_shift),
                                                  _mm512_set1_epi32 (1 << (31 - sign_shift))));
}

/* The value of each FP8 code, from its bits: the code's sign, exponent
 * and mantissa moved to a float32's places (the mantissa's top bits, the
 * exponent field's lowest), which makes it that float's value times
 * 2^(bias - 127), normal or, for a zero exponent, subnormal alike (a
 * float32 subnormal is m 2^-149 as an FP8 one is m 2^(1 - bias -
 * man_bits)); times 2^(127 - bias), exactly, it is the code's value as
 * qs-float-format.c's tables define it. A multiply with a subnormal
 * operand is slow, so a step with subnormal codes (rare: |element| under
 * 2^-6 of a block scale whose largest element is 2^8 to 2^9, for E4M3)
 * instead rebiases the bits as integers, a normal code's value, and
 * corrects the subnormal ones: that is 2^-bias (1 + m 2^-man_bits) for
 * them, and twice that less 2^(1 - bias) is m 2^(1 - bias - man_bits),
 * exactly (the difference of two floats within a factor of two of each
 * other). The NaN codes never occur: the encoder saturates finite
 * values. */
static inline BLOCK_AVX512 __m512
fp8_decode (__m512i code, unsigned man_bits, int bias)
{
  const uint32_t keep = UINT32_C (0x80000000) | (UINT32_C (0x7f) << (23 - man_bits));
  /* The sign to bit 31, then an arithmetic shift that brings the
   * magnitude down to bit 23 - man_bits and up, the sign's copies masked
   * away. */
  __m512 moved = _mm512_castsi512_ps (_mm512_and_si512 (_mm512_srai_epi32 (_mm512_slli_epi32 (code, 24), (int) man_bits + 1),
                                                        _mm512_set1_epi32 ((int) keep)));

  if (__builtin_expect (_mm512_fpclass_ps_mask (moved, 0x20) != 0, 0))  /* subnormal */
    {
      __m512i mag = _mm512_and_si512 (code, _mm512_set1_epi32 (0x7f));
      __m512 value = _mm512_castsi512_ps (_mm512_add_epi32 (_mm512_slli_epi32 (mag, 23 - man_bits),
                                                            _mm512_set1_epi32 ((int) ((uint32_t) (127 - bias) << 23))));
      value = _mm512_mask_fmsub_ps (value, _mm512_cmplt_epu32_mask (mag, _mm512_set1_epi32 (1 << man_bits)),
                                    _mm512_set1_ps (2.0f), _mm512_set1_ps (qs_block_pow2f (1 - bias)));
      /* value | (moved & the sign bit) */
      return _mm512_castsi512_ps (_mm512_ternarylogic_epi32 (_mm512_castps_si512 (value), _mm512_castps_si512 (moved),
                                                             _mm512_set1_epi32 ((int) UINT32_C (0x80000000)), 0xf8));
    }
  return _mm512_mul_ps (moved, _mm512_castsi512_ps (_mm512_set1_epi32 ((int) ((uint32_t) (127 - bias + 127) << 23))));
}

/* The value fp8_decode (or the FP6 and FP4 value tables) gives the code
 * float_encode (@v, @man_bits, @bias, ...) returns, for finite @v,
 * without the code, as a value of that code up to the sign of a zero:
 * adding and taking away 1.5 * 2^(E + 23 - man_bits), E the exponent of
 * v's binade (at least the format's smallest normal one), rounds v to a
 * multiple of 2^(E - man_bits), the grid's spacing there, ties to the
 * even multiple, which is the even code (the sum stays in the magic's
 * binade, so the rounding is that of its ulp, and the difference is
 * exact); a carry into the next binade lands on its first value, and
 * clamping to +-@limit is the encoder's saturation (past the limit's
 * binade the magic stays at it: the rounding is monotone, so such v
 * still land beyond the limit). With @bounded, for |v| at most @limit
 * (1 + 2^-22), neither clamp is needed: v lies below the binade above
 * the limit's, and rounds to at most the limit, the grid's spacing there
 * being far coarser. Five to eight operations fewer than rounding the
 * float's bits; held to the encoders for every finite float (and every
 * bounded one) by tests/quant/test-block-kernels.c (a sample) and, once,
 * exhaustively. */
static inline __attribute__ ((always_inline)) BLOCK_AVX512 __m512
float_round (__m512 v, unsigned man_bits, int bias, __m512 limit, bool bounded)
{
  const __m512i exp_mask = _mm512_set1_epi32 ((int) F32_INF_BITS);  /* the exponent field */
  const uint32_t min_normal_bits = (uint32_t) (127 + 1 - bias) << 23;
  const uint32_t to_ulp = ((23 - man_bits) << 23) | (UINT32_C (1) << 22);  /* times 2^(23 - m), mantissa 1.5 */
  __m512i exp = _mm512_max_epu32 (_mm512_and_si512 (_mm512_castps_si512 (v), exp_mask),
                                  _mm512_set1_epi32 ((int) min_normal_bits));
  __m512 magic, r;

  if (!bounded)
    exp = _mm512_min_epu32 (exp, _mm512_and_si512 (_mm512_castps_si512 (limit), exp_mask));
  magic = _mm512_castsi512_ps (_mm512_add_epi32 (exp, _mm512_set1_epi32 ((int) to_ulp)));
  r = _mm512_sub_ps (_mm512_add_ps (v, magic), magic);
  return bounded ? r : _mm512_min_ps (_mm512_max_ps (r, _mm512_sub_ps (_mm512_setzero_ps (), limit)), limit);
}

/* How many of NF4's fifteen sorted thresholds lie below @a: the count
 * nf4_index takes, by bucket (qs_block_nf4_bucket, whose max and min
 * are the ?: for a value that is never NaN). */
static inline BLOCK_AVX512 __m512i
nf4_count (__m512 a, const FormatConsts *f)
{
  __m512 t = _mm512_mul_ps (_mm512_add_ps (a, _mm512_set1_ps (1.0f)), _mm512_set1_ps (16.0f));
  __m512i bucket, base;

  t = _mm512_min_ps (_mm512_max_ps (t, _mm512_setzero_ps ()), _mm512_set1_ps (31.0f));
  bucket = _mm512_cvttps_epi32 (t);
  base = _mm512_permutex2var_epi32 (f->nf4_base[0], bucket, f->nf4_base[1]);
  return _mm512_mask_add_epi32 (base, _mm512_cmp_ps_mask (a, _mm512_permutex2var_ps (f->nf4_threshold[0], bucket,
                                                                                     f->nf4_threshold[1]),
                                                          _CMP_GT_OQ),
                                base, _mm512_set1_epi32 (1));
}

/* Codes (as slots) and unscaled element values of a step of a block format. */
static inline __attribute__ ((always_inline)) BLOCK_AVX512 __m512i
element_slots (QsFormat format, __m512 scaled, const FormatConsts *f, __m512 *value)
{
  __m512i slot;

  switch (format)
    {
    /* MX elements are finite (|x| <= amax < 2^(floor (log2 amax) + 1),
     * times inv = 2^(emax - floor (log2 amax)) at most, as the E8M0
     * exponent is never clamped from above): the NaN code never occurs,
     * and the encoders skip its test. */
    case QS_FORMAT_MXFP8_E4M3:
      slot = float_encode (scaled, 3, 7, 0x7e, 0x7e, 24);
      *value = fp8_decode (slot, 3, 7);
      break;
    case QS_FORMAT_MXFP8_E5M2:
      slot = float_encode (scaled, 2, 15, 0x7b, 0x7b, 24);
      *value = fp8_decode (slot, 2, 15);
      break;
    case QS_FORMAT_MXFP6_E2M3:
    case QS_FORMAT_MXFP6_E3M2:
      /* Scaled values are finite: the NaN code never occurs. */
      slot = format == QS_FORMAT_MXFP6_E2M3 ? float_encode (scaled, 3, 1, 0x1f, 0x1f, 26)
                                            : float_encode (scaled, 2, 3, 0x1f, 0x1f, 26);
      *value = _mm512_mask_blend_ps (_mm512_test_epi32_mask (slot, _mm512_set1_epi32 (0x20)),
                                     _mm512_permutex2var_ps (f->values[0], slot, f->values[1]),
                                     _mm512_permutex2var_ps (f->values[2], slot, f->values[3]));
      break;
    case QS_FORMAT_MXFP4:
    case QS_FORMAT_NVFP4:
      slot = float_encode (scaled, 1, 1, 0x7, 0x7, 28);
      *value = _mm512_permutexvar_ps (slot, f->values[0]);
      break;
    case QS_FORMAT_MXINT8:
      {
        /* qs_clampf as max/min: scaled is never NaN (max/min return
         * their second operand on equality, as the ?: do). */
        __m512 t = _mm512_mul_ps (scaled, _mm512_set1_ps (64.0f));
        __m512i code;
        t = _mm512_min_ps (_mm512_set1_ps (127.0f), _mm512_max_ps (_mm512_set1_ps (-127.0f), t));
        code = _mm512_cvtps_epi32 (round_even_ps (t));  /* an integer already: exact */
        *value = _mm512_mul_ps (_mm512_cvtepi32_ps (code), _mm512_set1_ps (1.0f / 64.0f));
        slot = _mm512_add_epi32 (code, _mm512_set1_epi32 (128));
      }
      break;
    case QS_FORMAT_NF4:
    default:
      slot = nf4_count (scaled, f);
      *value = _mm512_permutexvar_ps (slot, f->values[0]);
      break;
    }
  return slot;
}

/* A step of sixteen elements @x (zero where not @valid) under @b: slots,
 * reconstructions (zero where not valid) and the clip mask. */
static inline __attribute__ ((always_inline)) BLOCK_AVX512 __m512i
encode_step (QsFormat format, bool away, bool divide, const StepScale *b, const FormatConsts *f,
             __m512 x, __mmask16 valid, __m512 *rec, __mmask16 *clip)
{
  __m512i slot;

  if (format == QS_FORMAT_INT)
    {
      /* As encode_run: x * inv + add, clamped to [lo - 1, hi + 1] (max and
       * min as the reference's ?: for every value, NaN included), rounded,
       * clip-tested, clamped to [lo, hi]. With the zero point nudged onto
       * the grid (every group-wise scheme: qs_scheme_validate), add and sub
       * are +0 and the first clamp can go: x is finite and at most amax in
       * magnitude, so |x * inv| is at most qmax - qmin (< 2^16) times
       * 1 + 2^-20, where the magic-number rounding is exact and a t past
       * lo - 1 or hi + 1 rounds past lo or hi as its clamp would, to the
       * same clip and code. Adding +0 only turned a -0 t into +0: both
       * round to +0 half to even, and half away a -0 r reconstructs as -0,
       * which gives the same error, sums (a lane sum is never -0) and
       * histogram bin as +0. */
      __m512 t = _mm512_mul_ps (x, b->inv);
      __m512 r;
      if (!b->nudged)
        t = _mm512_min_ps (b->hi1, _mm512_max_ps (b->lo1, _mm512_add_ps (t, b->add)));
      r = away ? round_away_ps (t) : round_even_ps (t);
      *clip = valid & (_mm512_cmp_ps_mask (r, b->lo, _CMP_LT_OQ) | _mm512_cmp_ps_mask (r, b->hi, _CMP_GT_OQ));
      r = _mm512_min_ps (b->hi, _mm512_max_ps (b->lo, r));
      slot = _mm512_cvttps_epi32 (_mm512_add_ps (r, b->post));
      *rec = _mm512_maskz_mul_ps (valid, b->nudged ? r : _mm512_sub_ps (r, b->sub), b->scale);
    }
  else if (b->zero)
    {
      slot = _mm512_set1_epi32 (format == QS_FORMAT_NF4 ? 7 : 0);
      *rec = _mm512_setzero_ps ();
      *clip = 0;
    }
  else
    {
      /* The exact division where the reference divides. */
      __m512 scaled = divide ? _mm512_div_ps (x, b->scale) : _mm512_mul_ps (x, b->inv);
      __m512 value;
      slot = element_slots (format, scaled, f, &value);
      *clip = valid & _mm512_cmp_ps_mask (_mm512_abs_ps (scaled), f->limit, _CMP_GT_OQ);
      *rec = _mm512_maskz_mul_ps (valid, value, b->scale);
    }
  return slot;
}

/* The reconstruction bin of each NF4 code slot 0-15 of a block under
 * @b: the reconstruction encode_step gives an element of that slot (the
 * slot's value times the scale, the same operation, so the same bits),
 * then its bin. A block of zeros reconstructs as +0 (slot 7); its other
 * slots never occur. */
static inline __attribute__ ((always_inline)) BLOCK_AVX512 __m512i
recon_bins (const StepScale *b, const FormatConsts *f, const HistConsts *hist)
{
  return hist_slot_ps (hist, b->zero ? _mm512_setzero_ps () : _mm512_mul_ps (f->values[0], b->scale));
}

/* A block's code slots 0-15 counted sixteen lanes at a time, in nibbles:
 * slot s adds 1 << 4s to its lane of @lo (s < 8) or 1 << 4 (s - 8) of
 * @hi (a shift of 32 or more gives 0, so each slot lands in one of
 * them); lanes not @valid count nowhere. A nibble holds 15, so they are
 * counted out (count_slot_nibbles) every 15 steps at most. */
static inline BLOCK_AVX512 void
add_slot_nibbles (__m512i *lo, __m512i *hi, __m512i slot, __mmask16 valid)
{
  const __m512i one = _mm512_set1_epi32 (1);
  __m512i shift = _mm512_mask_slli_epi32 (_mm512_set1_epi32 (64), valid, slot, 2);

  *lo = _mm512_add_epi32 (*lo, _mm512_sllv_epi32 (one, shift));
  *hi = _mm512_add_epi32 (*hi, _mm512_sllv_epi32 (one, _mm512_sub_epi32 (shift, _mm512_set1_epi32 (32))));
}

/* The sum of @v's lanes, wrapping (_mm512_reduce_add_epi32 adds as int,
 * which byte counts in every byte overflow). */
static inline BLOCK_AVX512 uint32_t
lane_sum_u32 (__m512i v)
{
  __m256i a = _mm256_add_epi32 (_mm512_castsi512_si256 (v), _mm512_extracti64x4_epi64 (v, 1));
  __m128i b = _mm_add_epi32 (_mm256_castsi256_si128 (a), _mm256_extracti128_si256 (a, 1));

  b = _mm_add_epi32 (b, _mm_shuffle_epi32 (b, 0x4e));
  b = _mm_add_epi32 (b, _mm_shuffle_epi32 (b, 0xb1));
  return (uint32_t) _mm_cvtsi128_si32 (b);
}

/* Counts the slots add_slot_nibbles gathered in @lo and @hi into @w's
 * reconstruction bins, slot s at @bins[s], and with @codes into its code
 * counts too: the even and the odd nibbles of each as bytes, summed over
 * the lanes (15 a lane at most, 240 in all: no byte carries into the
 * next). */
static inline __attribute__ ((always_inline)) BLOCK_AVX512 void
count_slot_nibbles (QsBlockWorker *w, const int32_t bins[16], __m512i lo, __m512i hi, bool codes)
{
  const __m512i low = _mm512_set1_epi32 (0x0f0f0f0f);
  /* Slots 0, 2, 4, 6 in bytes 0-3; 1, 3, 5, 7; 8, 10, 12, 14; 9, 11, 13, 15. */
  uint32_t sums[4] = {
    lane_sum_u32 (_mm512_and_si512 (lo, low)),
    lane_sum_u32 (_mm512_and_si512 (_mm512_srli_epi32 (lo, 4), low)),
    lane_sum_u32 (_mm512_and_si512 (hi, low)),
    lane_sum_u32 (_mm512_and_si512 (_mm512_srli_epi32 (hi, 4), low)),
  };
  uint64_t *recon = w->recon, *code_counts = w->codes;

  for (int s = 0; s < 16; s++)
    {
      uint32_t count = (sums[(s >> 3) * 2 + (s & 1)] >> (8 * ((s & 7) >> 1))) & 0xff;
      recon[bins[s]] += count;
      if (codes)
        code_counts[s] += count;
    }
}

/* float_round for the float formats (into @value); false for the others. */
static inline __attribute__ ((always_inline)) BLOCK_AVX512 bool
format_round (QsFormat format, __m512 scaled, __m512 limit, bool bounded, __m512 *value)
{
  switch (format)
    {
    case QS_FORMAT_MXFP8_E4M3:
      *value = float_round (scaled, 3, 7, limit, bounded);
      return true;
    case QS_FORMAT_MXFP8_E5M2:
      *value = float_round (scaled, 2, 15, limit, bounded);
      return true;
    case QS_FORMAT_MXFP6_E2M3:
      *value = float_round (scaled, 3, 1, limit, bounded);
      return true;
    case QS_FORMAT_MXFP6_E3M2:
      *value = float_round (scaled, 2, 3, limit, bounded);
      return true;
    case QS_FORMAT_MXFP4:
    case QS_FORMAT_NVFP4:
      *value = float_round (scaled, 1, 1, limit, bounded);
      return true;
    default:
      return false;
    }
}

/* The inspector's second encode (encode_step at the exact scale @se,
 * divided by): only the reconstruction, and for the float formats by
 * float_round, which skips the code. Its one use is the square of the
 * error, which the sign of a zero reconstruction does not change (0 - x
 * is -x exactly, and a zero x gives a zero error). */
static inline __attribute__ ((always_inline)) BLOCK_AVX512 __m512
exact_step (QsFormat format, const StepScale *se, const FormatConsts *f, __m512 x, __mmask16 valid)
{
  __m512 scaled, value;

  if (se->zero)
    return _mm512_setzero_ps ();
  scaled = _mm512_div_ps (x, se->scale);
  /* |x| <= amax and the exact scale is amax / limit rounded: |scaled|
   * is at most limit (1 + 2^-23) rounded where that scale is normal, so
   * float_round is bounded. */
  if (!(se->normal ? format_round (format, scaled, f->limit, true, &value)
                   : format_round (format, scaled, f->limit, false, &value)))
    element_slots (format, scaled, f, &value);
  return _mm512_maskz_mul_ps (valid, value, se->scale);
}

/* sum[l] += a[l] * b[l], then sum[l] += a[l + 8] * b[l + 8]: lane l of
 * the reference's eight, in element order. A fused multiply-add is no
 * contraction here: the product of two floats is exact in double, so
 * rounding it first, as the reference does, changes nothing. */
static inline BLOCK_AVX512 __m512d
lane_sums (__m512d sum, __m512 a, __m512 b)
{
  sum = _mm512_fmadd_pd (widen_lo (a), widen_lo (b), sum);
  return _mm512_fmadd_pd (widen_hi (a), widen_hi (b), sum);
}

/* Lanes l + 4 added to lanes l: the reference's four sums of lane pairs. */
static inline BLOCK_AVX512 __m256d
lane_fold (__m512d sum)
{
  return _mm256_add_pd (_mm512_castpd512_pd256 (sum), _mm512_extractf64x4_pd (sum, 1));
}

/* An integer group's range: min and max over sixteen lanes, reduced in
 * any order. The order decides only the sign of a zero min or max, which
 * no integer scale depends on (qs_int_params_for_range takes lo < 0 ? lo
 * : 0 and hi > 0 ? hi : 0, +0 for either zero), unlike block_range's
 * lane order, which the reference keeps for the values it reports.
 * Returns whether the block holds a non-finite value (the range then is
 * to be redone on the finite values). */
static inline BLOCK_AVX512 bool
int_range (const float *x, size_t n, float *lo, float *hi)
{
  __m512 vl = _mm512_set1_ps (INFINITY), vh = _mm512_set1_ps (-INFINITY);
  __mmask16 bad = 0;
  float l, h;

  for (size_t j = 0; j < n; j += STEP)
    {
      __mmask16 valid = n - j >= STEP ? 0xffff : (__mmask16) ((1u << (n - j)) - 1);
      __m512 v = _mm512_maskz_loadu_ps (valid, x + j);
      /* The block's first touch of its data; see qs-fused-avx512.c. */
      _mm_prefetch ((const char *) (x + j) + PREFETCH_BYTES, _MM_HINT_T0);
      bad |= _mm512_fpclass_ps_mask (v, 0x99);
      vl = _mm512_mask_min_ps (vl, valid, v, vl);
      vh = _mm512_mask_max_ps (vh, valid, v, vh);
    }
  *lo = *hi = 0.0f;
  if (bad)
    return true;
  l = _mm512_reduce_min_ps (vl);
  h = _mm512_reduce_max_ps (vh);
  /* No values: 0, as qs_block_range_finish gives. */
  *lo = l <= h ? l : 0.0f;
  *hi = l <= h ? h : 0.0f;
  return false;
}

/* Each of four sums' folded lanes added in order, ((l0 + l1) + l2) + l3
 * (the reference's 0 + l0 is l0: a lane sum is never -0), as one vector
 * of the four totals. */
static inline BLOCK_AVX512 __m256d
lane_totals (__m256d a, __m256d b, __m256d c, __m256d d)
{
  __m256d ab_even = _mm256_unpacklo_pd (a, b), ab_odd = _mm256_unpackhi_pd (a, b);
  __m256d cd_even = _mm256_unpacklo_pd (c, d), cd_odd = _mm256_unpackhi_pd (c, d);
  __m256d l0 = _mm256_permute2f128_pd (ab_even, cd_even, 0x20);
  __m256d l1 = _mm256_permute2f128_pd (ab_odd, cd_odd, 0x20);
  __m256d l2 = _mm256_permute2f128_pd (ab_even, cd_even, 0x31);
  __m256d l3 = _mm256_permute2f128_pd (ab_odd, cd_odd, 0x31);

  return _mm256_add_pd (_mm256_add_pd (_mm256_add_pd (l0, l1), l2), l3);
}

static inline BLOCK_AVX512 double
lane_total (__m256d sum)
{
  double lanes[4];

  _mm256_storeu_pd (lanes, sum);
  return ((lanes[0] + lanes[1]) + lanes[2]) + lanes[3];
}

/* amax of a block's finite values, and whether it holds others. The
 * maximum of magnitudes does not depend on order (no NaN, every zero +0),
 * so sixteen lanes reduce in any order. */
static inline BLOCK_AVX512 bool
block_amax (const float *x, size_t n, float *amax)
{
  __m512 a = _mm512_setzero_ps ();
  __mmask16 bad = 0;

  for (size_t j = 0; j < n; j += STEP)
    {
      __mmask16 valid = n - j >= STEP ? 0xffff : (__mmask16) ((1u << (n - j)) - 1);
      __m512 v = _mm512_maskz_loadu_ps (valid, x + j);
      /* The block's first touch of its data; see qs-fused-avx512.c. */
      _mm_prefetch ((const char *) (x + j) + PREFETCH_BYTES, _MM_HINT_T0);
      bad |= _mm512_fpclass_ps_mask (v, 0x99);
      a = _mm512_max_ps (_mm512_abs_ps (v), a);
    }
  *amax = _mm512_reduce_max_ps (a);
  return bad != 0;
}

/* amax of sixteen blocks of sixteen elements at @x, as a vector (lane
 * i block i), and whether any holds a non-finite value: each halving
 * step takes the maximum of two shuffles that put half of one block's
 * lanes beside the other half (the maximum of magnitudes does not
 * depend on the order). Fifteen maxima and thirty-one shuffles for the
 * sixteen blocks, where block_amax reduces each alone (and nvfp4_scales
 * then loaded the sixteen scalar stores as one vector, which no store
 * forwards). */
static inline BLOCK_AVX512 bool
batch_amax16 (const float *x, __m512 *amax)
{
  __m512 v[16];
  __mmask16 bad = 0;

  for (int i = 0; i < 16; i++)
    {
      v[i] = _mm512_loadu_ps (x + STEP * i);
      _mm_prefetch ((const char *) (x + STEP * i) + PREFETCH_BYTES, _MM_HINT_T0);
      bad |= _mm512_fpclass_ps_mask (v[i], 0x99);
      v[i] = _mm512_abs_ps (v[i]);
    }
  /* Blocks 2i and 2i + 1, eight lanes each. */
  for (int i = 0; i < 8; i++)
    v[i] = _mm512_max_ps (_mm512_shuffle_f32x4 (v[2 * i], v[2 * i + 1], 0x44),
                          _mm512_shuffle_f32x4 (v[2 * i], v[2 * i + 1], 0xee));
  /* Blocks 4i to 4i + 3, four lanes each, in 128-bit lanes 0-3. */
  for (int i = 0; i < 4; i++)
    v[i] = _mm512_max_ps (_mm512_shuffle_f32x4 (v[2 * i], v[2 * i + 1], 0x88),
                          _mm512_shuffle_f32x4 (v[2 * i], v[2 * i + 1], 0xdd));
  /* 128-bit lane c: blocks 8i + c and 8i + 4 + c, two lanes each. */
  for (int i = 0; i < 2; i++)
    v[i] = _mm512_max_ps (_mm512_shuffle_ps (v[2 * i], v[2 * i + 1], 0x44),
                          _mm512_shuffle_ps (v[2 * i], v[2 * i + 1], 0xee));
  /* Lane 4c + j: block c + 4j. */
  v[0] = _mm512_max_ps (_mm512_shuffle_ps (v[0], v[1], 0x88), _mm512_shuffle_ps (v[0], v[1], 0xdd));
  *amax = _mm512_permutexvar_ps (_mm512_setr_epi32 (0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15), v[0]);
  return bad != 0;
}

/* The range of a block: block_range's min and max for integer groups, up
 * to the sign of a zero (int_range); amax alone for the others. Returns
 * whether the block holds non-finite values: then the range is to be
 * taken again on its finite ones. */
static inline __attribute__ ((always_inline)) BLOCK_AVX512 bool
block_range_avx512 (QsFormat format, const float *x, size_t n, float *amax, float *lo, float *hi)
{
  if (format == QS_FORMAT_INT)
    {
      if (int_range (x, n, lo, hi))
        return true;
      /* The largest magnitude of finite values is the larger of -min
       * and max, the same value whichever way it is taken; adding +0
       * makes a zero +0, as the reference's maximum of magnitudes is.
       * With no values, min and max are 0 and so is amax. */
      *amax = (-*lo > *hi ? -*lo : *hi) + 0.0f;
      return false;
    }
  *lo = *hi = 0.0f;
  return block_amax (x, n, amax);
}

/* Blocks whose ranges and scales are taken before any is encoded: the
 * chain from a block's elements to its scale then overlaps the encoding
 * of the blocks before it. */
#define BATCH 16

/* qs_block_scale, with MX's inlined (a call and a clear of the whole
 * struct cost about as much as encoding a block of sixteen). */
static inline __attribute__ ((always_inline)) BLOCK_AVX512 void
block_scale (const QsBlockPass *p, QsFormat format, float amax, float lo, float hi, QsBlockScale *b)
{
  if (qs_block_format_is_mx (format))
    qs_block_scale_mx (format, amax, b);
  else
    qs_block_scale (p->scheme, p->tensor_scale, amax, lo, hi, b);
}

/* What qs_block_tally keeps over a run of blocks: its maxima and counts
 * stay vectors (maxima do not depend on order: no NaN, every zero +0),
 * and go to the worker at the end of the run. */
typedef struct {
  __m512   max_error;
  __m512   zero_error;   /* integer groups: |reconstruction of 0.0| */
  __m512i  clipped;      /* per lane: a run holds at most a task or a block */
  uint64_t zero_blocks;
} RunTally;

/* qs_block_scale_slot of sixteen normal float scales (as every integer
 * scale is, at least QS_SCALE_EPS) or +inf (the scale of a range wider
 * than FLT_MAX), by integer steps on their bits: with scale = (1 + k
 * 2^-23) 2^e, its slot is 4 (e - QS_BLOCK_SCALE_LOG2_MIN) plus how many
 * quarter edges q (as doubles) 1 + k 2^-23 exceeds, and that is k > (q -
 * 1) 2^23, a double without rounding (q - 1 and the power of two are
 * exact), so k > its floor; +inf takes the last slot. */
static inline BLOCK_AVX512 __m512i
int_scale_slots (__m512 scale, size_t slots)
{
  const int bias = 127 + QS_BLOCK_SCALE_LOG2_MIN;
  __m512i bits = _mm512_castps_si512 (scale);
  __m512i k = _mm512_and_si512 (bits, _mm512_set1_epi32 (0x7fffff));
  __m512i bin = _mm512_slli_epi32 (_mm512_sub_epi32 (_mm512_srli_epi32 (bits, 23), _mm512_set1_epi32 (bias)), 2);
  const __m512i one = _mm512_set1_epi32 (1);

  for (int q = 0; q < 3; q++)
    {
      __m512i edge = _mm512_set1_epi32 ((int32_t) ((qs_block_scale_quarters[q] - 1.0) * 8388608.0));
      bin = _mm512_mask_add_epi32 (bin, _mm512_cmpgt_epi32_mask (k, edge), bin, one);
    }
  bin = _mm512_max_epi32 (bin, _mm512_setzero_si512 ());
  bin = _mm512_min_epi32 (bin, _mm512_set1_epi32 ((int32_t) slots - 1));
  return _mm512_mask_mov_epi32 (bin, _mm512_cmpge_epu32_mask (bits, _mm512_set1_epi32 ((int) F32_INF_BITS)),
                                _mm512_set1_epi32 ((int32_t) slots - 1));
}

/* qs_block_tally for a block of @n finite elements whose error lanes are
 * @max_error, folded into @t; @slot is its scale's slot where the batch
 * computed it (integer groups), else negative. */
static inline __attribute__ ((always_inline)) BLOCK_AVX512 void
block_tally (const QsBlockPass *p, QsFormat format, bool away, QsBlockWorker *w, RunTally *t,
             size_t block, const QsBlockScale *b, const StepScale *sb, float amax, size_t n,
             double err2, __m512 max_error, int32_t slot)
{
  if (p->inspect)
    {
      if (n > 0 && !qs_block_worst_cannot_enter (w, n, err2))
        {
          double mse = err2 / (double) n;
          if (qs_block_worst_admits (w, block, mse))
            qs_block_worst_insert (w, block, mse, _mm512_reduce_max_ps (max_error));
        }
      if (amax == 0.0f || !(b->scale > 0.0f) || b->zero)
        t->zero_blocks++;
      else if (slot >= 0)
        w->scale_counts[slot]++;
      else
        w->scale_counts[format == QS_FORMAT_NVFP4 ? p->nvfp4_scale_slots[b->scale_code]
                                                  : qs_block_scale_slot (format, b, p->scale_slots)]++;
    }
  t->max_error = _mm512_max_ps (max_error, t->max_error);
  /* With the zero point nudged onto the grid (as group-wise schemes
   * always are, qs_scheme_validate) 0.0 comes back exactly: 0 * inv + 0
   * rounds to 0, which lies in [lo, hi] = [qmin - Z, qmax - Z], and
   * (0 - 0) * scale is a zero; the maximum stays 0. */
  if (format == QS_FORMAT_INT && !sb->nudged)
    {
      /* The reconstruction of 0.0, by the step encoder (held to
       * encode_run for every element, zeros included). */
      __m512 rec;
      __mmask16 unused;
      encode_step (format, away, false, sb, NULL, _mm512_setzero_ps (), 1, &rec, &unused);
      t->zero_error = _mm512_max_ps (_mm512_abs_ps (rec), t->zero_error);
    }
}

/* qs_block_scale for NVFP4 blocks @amax[0..@n), sixteen at a time: the
 * same divisions, and the E4M3 code and value by the element encoder's
 * steps, which equal qs_fp8_e4m3_encode and qs_fp8_e4m3_to_float. */
static inline BLOCK_AVX512 void
nvfp4_scales (const QsBlockPass *p, const float *amax, size_t n, QsBlockScale *b)
{
  __mmask16 some = (__mmask16) ((1u << n) - 1);
  __m512 a = _mm512_maskz_loadu_ps (some, amax);
  __m512 tensor = _mm512_set1_ps (p->tensor_scale);
  __m512 block = _mm512_div_ps (a, _mm512_set1_ps (6.0f));
  __m512i code = float_encode (_mm512_div_ps (block, tensor), 3, 7, 0x7e, 0x7f, 24);
  __m512 scale = _mm512_mul_ps (fp8_decode (code, 3, 7), tensor);
  __mmask16 positive = _mm512_cmp_ps_mask (a, _mm512_setzero_ps (), _CMP_GT_OQ);
  __mmask16 stored = _mm512_cmp_ps_mask (scale, _mm512_setzero_ps (), _CMP_GT_OQ) & positive;
  float scales[STEP], exact[STEP];
  uint32_t codes[STEP];

  _mm512_storeu_ps (scales, _mm512_maskz_mov_ps (positive, scale));
  _mm512_storeu_ps (exact, _mm512_maskz_mov_ps (stored, block));
  _mm512_storeu_si512 (codes, _mm512_maskz_mov_epi32 (positive, code));
  for (size_t i = 0; i < n; i++)
    {
      b[i].inv = 1.0f;
      b[i].scale = scales[i];
      b[i].divide = true;
      b[i].zero = !((stored >> i) & 1);
      b[i].exact_scale = exact[i];
      b[i].scale_code = (uint8_t) codes[i];
      b[i].scale_log2 = 0;
    }
}

/* qs_block_scale for integer-group blocks with ranges @lo[0..@n) and
 * @hi[0..@n) and absolute maxima @amax: qs_channel_coeffs_for_range's
 * functions, in loops the compiler vectorizes (one mapping each).
 * Group-wise schemes always nudge the zero point onto the grid
 * (qs_scheme_validate). */
static inline __attribute__ ((always_inline)) BLOCK_AVX512 void
int_scales (const QsBlockPass *p, QsRounding rounding, const float *lo, const float *hi, const float *amax,
            size_t n, QsBlockScale *b, int32_t *slot)
{
  float scales[BATCH], invs[BATCH], points[BATCH];
  __mmask16 some = (__mmask16) ((1u << n) - 1);

#define INT_SCALES(mapping) \
  for (size_t i = 0; i < n; i++) \
    { \
      QsIntParams q = qs_int_params_for_range (mapping, true, rounding, p->qmin, p->qmax, lo[i], hi[i]); \
      scales[i] = q.scale; \
      invs[i] = 1.0f / q.scale; \
      points[i] = q.zero_point; \
    }
  if (p->scheme->mapping == QS_MAPPING_SYMMETRIC)
    INT_SCALES (QS_MAPPING_SYMMETRIC)
  else
    INT_SCALES (QS_MAPPING_ASYMMETRIC)
#undef INT_SCALES
  for (size_t i = 0; i < n; i++)
    {
      qs_int_coeffs_from (scales[i], invs[i], points[i], true, p->qmin, p->qmax, &b[i].coeffs);
      b[i].scale = b[i].exact_scale = scales[i];
      b[i].inv = invs[i];
      b[i].divide = false;
      b[i].zero = amax[i] == 0.0f;
      b[i].scale_code = 0;
      b[i].scale_log2 = 0;
    }
  if (p->inspect)
    _mm512_mask_storeu_epi32 (slot, some, int_scale_slots (_mm512_maskz_loadu_ps (some, scales), p->scale_slots));
}

static inline __attribute__ ((always_inline)) BLOCK_AVX512 void
blocks_run (const QsBlockPass *p,
            QsFormat           format,
            bool               away,
            bool               nudged,
            QsBlockWorker     *w,
            QsBlockTaskSums   *sums,
            size_t             first,
            size_t             count,
            const float       *next,
            bool               per_change,
            bool               first_pass)
{
  FormatConsts f;
  /* A change of scheme's pass (per_change_pass): its settings are
   * constants here, so they leave the steps. */
  bool histograms = per_change || p->histograms;
  bool with_exact = (per_change || p->inspect) && qs_block_scale_is_rounded (format);
  bool divide = format == QS_FORMAT_NVFP4;  /* as qs_block_scale sets it */
  bool joint = per_change || w->joint != NULL;
  /* With the data's histogram known, joint counts of code slots alone
   * (or, for integer groups, of codes and reconstruction bins); a
   * tensor's first pass (@first_pass: not known yet) counts (code, bin)
   * pairs, as constants too. */
  bool codes_alone = joint && (per_change ? format != QS_FORMAT_INT : !first_pass && p->data_hist_known && !p->joint_recon);
  bool joint_recon = joint && (per_change ? format == QS_FORMAT_INT : !first_pass && p->joint_recon);
  /* Formats whose blocks share few scales (see QsBlockPass.joint_rows). */
  bool rows = (qs_block_format_is_mx (format) || format == QS_FORMAT_NVFP4) && joint && (per_change || p->joint_rows > 0);
  const __m512i joint_stride = _mm512_set1_epi32 ((int) p->joint_stride);
  const size_t row_entries = p->row_entries;
  bool code_pairs = per_change ? format == QS_FORMAT_MXFP4 || format == QS_FORMAT_NVFP4 : !first_pass && p->code_pairs;
  /* QsBlockPass.recon2_by_key: the squares of the reconstructions from
   * (scale key, code) counts, which scale rows give and the ring's [3]
   * keeps for blocks without one. */
  bool r2_by_key = (qs_block_format_is_mx (format) || format == QS_FORMAT_NVFP4) && histograms;
  /* Any pass of a tensor whose sum of squares the memo holds, not only
   * a change of scheme's (a tensor too small for joint counts), leaves
   * it to the memo. */
  bool x2_known = p->x2_known;
  const __m512i no_code = _mm512_set1_epi32 (16);
  HistConsts hist = hist_consts (&p->hist);
  bool in_domain = p->hist.values_in_domain;
  size_t k = w->ring_steps, g = first % p->geo.blocks_per_run;
  double task_err2 = sums->err2, task_exact = sums->err2_exact;
  /* Lanes of the sums only the task needs, kept over the run's blocks
   * (see QS_BLOCK_LANES). */
  __m512d x2 = _mm512_setzero_pd (), r2 = _mm512_setzero_pd ();
  __m512d exact2 = _mm512_setzero_pd ();
  RunTally tally = { _mm512_setzero_ps (), _mm512_setzero_ps (), _mm512_setzero_si512 (), 0 };
  const __m512i one = _mm512_set1_epi32 (1);
  /* NF4, whose blocks count their reconstruction bins one by one: a
   * block's reconstruction is a function of its code slot, so its bin is
   * looked up in a table of the block's sixteen slots (recon_bins)
   * instead of binned per element, where blocks have four steps or more,
   * which repay the table. (Integer groups of up to sixteen codes could
   * do the same, r being the slot minus post exactly; measured no faster
   * at groups of 128, and the choice slowed 8-bit groups of 32 by 4 %.) */
  bool bins_by_slot = format == QS_FORMAT_NF4 && p->geo.block_size >= 4 * STEP;
  /* And then counts its slots per block (add_slot_nibbles), and each
   * slot's count into its bin at the block's end, not each element's: a
   * block's elements share few bins, whose counters then took the
   * increments back to back. */
  bool slot_counts = bins_by_slot && histograms;
  /* Where codes are counted alone (the data's histogram known), those
   * counts are the slot counts' too: the steps then leave the ring. */
  bool codes_by_nibbles = slot_counts && codes_alone;

  for (int h = 0; h < 2; h++)
    {
      f.nf4_base[h] = _mm512_loadu_si512 (p->nf4_bucket_base + 16 * h);
      f.nf4_threshold[h] = _mm512_loadu_ps (p->nf4_bucket_threshold + 16 * h);
    }
  for (int q = 0; q < 4; q++)
    f.values[q] = _mm512_loadu_ps (p->values + 16 * q);
  f.limit = _mm512_set1_ps (qs_block_element_max (format));

  for (size_t done = 0; done < count;)
    {
      size_t batch = count - done < BATCH ? count - done : BATCH;
      const float *batch_x[BATCH];
      size_t batch_n[BATCH];
      float batch_amax[BATCH], batch_lo[BATCH], batch_hi[BATCH];
      bool batch_bad[BATCH];
      QsBlockScale batch_scale[BATCH];
      int32_t batch_slot[BATCH];

      /* NVFP4's batches of full blocks of sixteen (as a tensor's are,
       * but for its last): their ranges at once, unless a block holds
       * non-finite values. Its blocks' lengths are taken first; the
       * other formats' alongside their ranges. */
      bool full = false;

      _Static_assert (BATCH == 16, "batch_amax16 takes sixteen blocks");
      if (format == QS_FORMAT_NVFP4)
        {
          __m512 amax16;

          full = batch == BATCH;
          for (size_t i = 0; i < batch; i++)
            {
              batch_n[i] = qs_block_length (&p->geo, g);
              batch_x[i] = next;
              next += batch_n[i];
              g = g + 1 == p->geo.blocks_per_run ? 0 : g + 1;
              full = full && batch_n[i] == STEP;
            }
          full = full && !batch_amax16 (batch_x[0], &amax16);
          if (full)
            {
              _mm512_storeu_ps (batch_amax, amax16);
              for (size_t i = 0; i < batch; i++)
                {
                  batch_bad[i] = false;
                  batch_lo[i] = batch_hi[i] = 0.0f;
                }
            }
        }
      for (size_t i = 0; i < batch && !full; i++)
        {
          if (format != QS_FORMAT_NVFP4)
            {
              batch_n[i] = qs_block_length (&p->geo, g);
              batch_x[i] = next;
              next += batch_n[i];
              g = g + 1 == p->geo.blocks_per_run ? 0 : g + 1;
            }
          batch_bad[i] = block_range_avx512 (format, batch_x[i], batch_n[i], &batch_amax[i], &batch_lo[i],
                                             &batch_hi[i]);
          if (batch_bad[i])
            batch_amax[i] = batch_lo[i] = batch_hi[i] = 0.0f;  /* scaled again below, on its finite values */
          if (!batch_bad[i] && qs_block_format_is_mx (format))
            block_scale (p, format, batch_amax[i], batch_lo[i], batch_hi[i], &batch_scale[i]);
        }
      /* Blocks with non-finite values are redone below. */
      for (size_t i = 0; i < batch; i++)
        batch_slot[i] = -1;
      if (format == QS_FORMAT_NVFP4)
        nvfp4_scales (p, batch_amax, batch, batch_scale);
      else if (format == QS_FORMAT_INT && nudged)
        int_scales (p, away ? QS_ROUNDING_HALF_AWAY : QS_ROUNDING_HALF_EVEN, batch_lo, batch_hi, batch_amax, batch,
                    batch_scale, batch_slot);
      else if (format == QS_FORMAT_NF4 || format == QS_FORMAT_INT)
        for (size_t i = 0; i < batch; i++)
          if (!batch_bad[i])
            block_scale (p, format, batch_amax[i], batch_lo[i], batch_hi[i], &batch_scale[i]);

  for (size_t i = 0; i < batch; i++, done++)
    {
      size_t block = first + done, n = batch_n[i];
      const float *x = batch_x[i];
      float amax = batch_amax[i];
      QsBlockScale *bp = &batch_scale[i];
      StepScale sb, se;
      bool direct = !slot_counts && !joint_recon;
      __m512i recon_table = _mm512_setzero_si512 ();
      __m512i nibbles_lo = _mm512_setzero_si512 (), nibbles_hi = _mm512_setzero_si512 ();
      int nibble_steps = 0;
      int32_t slot_bins[16];
      __m512i row_base = _mm512_setzero_si512 (), key_base = _mm512_setzero_si512 ();
      __m512d err2 = _mm512_setzero_pd ();
      __m512 max_error = _mm512_setzero_ps ();
      double err2_total;

      if (batch_bad[i])
        {
          float lo, hi;
          x = qs_block_drop_nonfinite (p, w, x, &n);
          block_range_avx512 (format, x, n, &amax, &lo, &hi);
          block_scale (p, format, amax, lo, hi, bp);
        }
      sb = step_scale (p, format, nudged, bp);
      if (bins_by_slot && histograms)
        recon_table = recon_bins (&sb, &f, &hist);
      if (slot_counts)
        _mm512_storeu_si512 (slot_bins, recon_table);
      if (rows)
        {
          unsigned key = qs_block_scale_row_key (bp);
          size_t row = w->row_of_key[key];
          if (row == 0 && w->rows_used < p->joint_rows)
            {
              row = w->row_of_key[key] = (uint16_t) ++w->rows_used;
              /* What encode_step multiplies a code's value by: a block
               * of zeros reconstructs as +0 (its code's value is 0). */
              w->row_scale[row - 1] = bp->zero ? 0.0f : bp->scale;
              w->row_key[row - 1] = (uint8_t) key;
            }
          direct = row == 0;
          row_base = _mm512_set1_epi32 ((int) (row * row_entries));
        }
      /* Where a block without a scale row counts its (scale key, code)
       * pairs; a row's are counted at its fold. */
      if (r2_by_key && direct)
        key_base = _mm512_set1_epi32 ((int) qs_block_key_codes (w, qs_block_scale_row_key (bp), p->code_slots));
      /* qs_block_exact_scale: the exact scale, divided by. */
      se.scale = _mm512_set1_ps (bp->exact_scale);
      se.zero = !(bp->exact_scale > 0.0f);
      se.normal = bp->exact_scale >= FLT_MIN;

      /* A block of sixteen, NVFP4's, is one step: its own copy of the
       * steps, with that count known, keeps the loop's invariants out of
       * the block (they otherwise took registers, spilled and reloaded
       * around every block of one step). The other formats' blocks take
       * the steps as they were. */
#define BLOCK_STEPS(count) \
      for (size_t j = 0; j < (count); j += STEP) \
        { \
          size_t left = (count) - j; \
          __mmask16 valid = left >= STEP ? 0xffff : (__mmask16) ((1u << left) - 1); \
          __m512 xv = _mm512_maskz_loadu_ps (valid, x + j); \
          __m512 rec, err; \
          __mmask16 clip; \
          __m512i slot = encode_step (format, away, divide, &sb, &f, xv, valid, &rec, &clip); \
 \
          err = _mm512_sub_ps (rec, xv); \
          /* e > max ? e : max, as the reference keeps it; never NaN. */ \
          max_error = _mm512_max_ps (_mm512_abs_ps (err), max_error); \
          err2 = lane_sums (err2, err, err); \
          if (!per_change && !x2_known) /* known: the memo's (per_change_pass) */ \
            x2 = lane_sums (x2, xv, xv); \
          if (!r2_by_key) \
            r2 = lane_sums (r2, rec, rec); \
          tally.clipped = _mm512_mask_add_epi32 (tally.clipped, clip, tally.clipped, one); \
 \
          if (slot_counts) \
            { \
              add_slot_nibbles (&nibbles_lo, &nibbles_hi, slot, valid); \
              if (++nibble_steps == 15) \
                { \
                  count_slot_nibbles (w, slot_bins, nibbles_lo, nibbles_hi, codes_by_nibbles); \
                  nibbles_lo = nibbles_hi = _mm512_setzero_si512 (); \
                  nibble_steps = 0; \
                } \
            } \
          if (histograms && !codes_by_nibbles) \
            { \
              int32_t (*cur)[STEP] = w->ring[k % QS_BLOCK_RING]; \
              if (codes_alone) \
                { \
                  /* Lane 2i of a pair: 17 a + b (a, b < 17: no carry between the halves). */ \
                  __m512i s = code_pairs ? _mm512_mask_mov_epi32 (no_code, valid, slot) : slot; \
                  __m512i index = code_pairs ? _mm512_add_epi32 (_mm512_add_epi32 (_mm512_slli_epi64 (s, 4), s), \
                                                                 _mm512_srli_epi64 (s, 32)) : s; \
                  _mm512_storeu_si512 (cur[0], rows ? _mm512_add_epi32 (index, row_base) : index); \
                } \
              else if (joint_recon) \
                _mm512_storeu_si512 (cur[0], _mm512_add_epi32 (_mm512_mullo_epi32 (slot, joint_stride), \
                                                               hist_slot_ps (&hist, rec))); \
              else \
                { \
                  __m512i bin = in_domain ? hist_slot_in_domain_ps (&hist, xv) : hist_slot_ps (&hist, xv); \
                  if (joint) \
                    { \
                      __m512i pair = _mm512_add_epi32 (_mm512_mullo_epi32 (slot, joint_stride), bin); \
                      _mm512_storeu_si512 (cur[0], rows ? _mm512_add_epi32 (pair, row_base) : pair); \
                    } \
                  else \
                    { \
                      _mm512_storeu_si512 (cur[0], slot); \
                      _mm512_storeu_si512 (cur[1], bin); \
                    } \
                } \
              if (direct) \
                _mm512_storeu_si512 (cur[2], bins_by_slot ? _mm512_permutexvar_epi32 (slot, recon_table) \
                                                          : hist_slot_ps (&hist, rec)); \
              if (r2_by_key && direct) \
                _mm512_storeu_si512 (cur[3], _mm512_add_epi32 (slot, key_base)); \
              w->ring_filled[k % QS_BLOCK_RING] = left >= STEP ? STEP : (int) left; \
              if (rows || slot_counts || joint_recon) \
                w->ring_rowed[k % QS_BLOCK_RING] = !direct; \
              if (k >= LAG) \
                { \
                  int32_t (*old)[STEP] = w->ring[(k - LAG) % QS_BLOCK_RING]; \
                  int filled = w->ring_filled[(k - LAG) % QS_BLOCK_RING]; \
                  bool old_direct = (!rows && !slot_counts && !joint_recon) || !w->ring_rowed[(k - LAG) % QS_BLOCK_RING]; \
                  /* Full steps with constant counts, so the loops unroll. */ \
                  if (filled == STEP && !old_direct) \
                    qs_block_count_step (w, old, STEP, joint, false, code_pairs, false); \
                  else if (filled == STEP) \
                    qs_block_count_step (w, old, STEP, joint, true, code_pairs, r2_by_key); \
                  else \
                    qs_block_count_step (w, old, filled, joint, old_direct, code_pairs, r2_by_key && old_direct); \
                } \
              k++; \
            } \
 \
          if (with_exact) \
            { \
              err = _mm512_sub_ps (exact_step (format, &se, &f, xv, valid), xv); \
              exact2 = lane_sums (exact2, err, err); \
            } \
        }
      if (format == QS_FORMAT_NVFP4 && n == STEP)
        BLOCK_STEPS (STEP)
      else
        BLOCK_STEPS (n)
#undef BLOCK_STEPS

      if (slot_counts && nibble_steps > 0)
        count_slot_nibbles (w, slot_bins, nibbles_lo, nibbles_hi, codes_by_nibbles);
      /* The block's error sum into the task's, in the reference's order;
       * where the scale is a float32 one, it is the exact scale's too. */
      err2_total = lane_total (lane_fold (err2));
      task_err2 += err2_total;
      if (!qs_block_scale_is_rounded (format))
        task_exact += err2_total;
      block_tally (p, format, away, w, &tally, block, bp, &sb, amax, n, err2_total, max_error,
                   batch_bad[i] ? -1 : batch_slot[i]);
    }
    }
  w->ring_steps = k;
  {
    float m = _mm512_reduce_max_ps (tally.max_error);
    __m256d total = lane_totals (lane_fold (x2), lane_fold (r2), lane_fold (exact2), _mm256_setzero_pd ());
    double t[4];
    _mm256_storeu_pd (t, total);
    sums->err2 = task_err2;
    sums->x2 += t[0];
    sums->recon2 += t[1];
    sums->err2_exact = task_exact + (with_exact ? t[2] : 0.0);
    w->clipped += (uint64_t) (uint32_t) _mm512_reduce_add_epi32 (tally.clipped);
    w->zero_blocks += tally.zero_blocks;
    w->max_error = m > w->max_error ? m : w->max_error;
    if (format == QS_FORMAT_INT && count > 0)
      w->zero_error = fmax (w->zero_error, _mm512_reduce_max_ps (tally.zero_error));
  }
}

/* Whether @p is a change of scheme's pass, as a tensor's every pass
 * after its first is: histograms, the inspector, the data's sum of
 * squares known, joint counts with the data's histogram known (code
 * slots alone, with scale rows where the format has them, in pairs for
 * sixteen codes; integer groups pair codes with reconstruction bins). */
static inline __attribute__ ((always_inline)) bool
per_change_pass (const QsBlockPass *p, const QsBlockWorker *w, QsFormat format)
{
  bool scale_rows = qs_block_format_is_mx (format) || format == QS_FORMAT_NVFP4;

  return p->histograms && p->inspect && w->joint != NULL && p->data_hist_known && p->x2_known
         && p->joint_recon == (format == QS_FORMAT_INT)
         && p->code_pairs == (format == QS_FORMAT_MXFP4 || format == QS_FORMAT_NVFP4)
         && (!scale_rows || p->joint_rows > 0);
}

/* Each pass's kernel in three functions, a tensor's first pass, the
 * change of scheme's pass and any other, each with one copy of the steps
 * whose settings are constants where they can be (both in one function,
 * the compiler's choices for the larger function cost NVFP4 a tenth). */
#define BLOCK_RUN(name, format, away, nudged) \
  static BLOCK_AVX512 void \
  name##_any (const QsBlockPass *p, QsBlockWorker *w, QsBlockTaskSums *sums, size_t first, size_t count, \
              const float *x) \
  { \
    blocks_run (p, format, away, nudged, w, sums, first, count, x, false, false); \
  } \
  static BLOCK_AVX512 void \
  name##_first (const QsBlockPass *p, QsBlockWorker *w, QsBlockTaskSums *sums, size_t first, size_t count, \
                const float *x) \
  { \
    blocks_run (p, format, away, nudged, w, sums, first, count, x, false, true); \
  } \
  static BLOCK_AVX512 void \
  name##_change (const QsBlockPass *p, QsBlockWorker *w, QsBlockTaskSums *sums, size_t first, size_t count, \
                 const float *x) \
  { \
    blocks_run (p, format, away, nudged, w, sums, first, count, x, true, false); \
  } \
  static BLOCK_AVX512 void \
  name (const QsBlockPass *p, QsBlockWorker *w, QsBlockTaskSums *sums, size_t first, size_t count, \
        const float *x) \
  { \
    if (per_change_pass (p, w, format)) \
      name##_change (p, w, sums, first, count, x); \
    else if (!p->data_hist_known) \
      name##_first (p, w, sums, first, count, x); \
    else \
      name##_any (p, w, sums, first, count, x); \
  }

BLOCK_RUN (run_int_even, QS_FORMAT_INT, false, false)
BLOCK_RUN (run_int_away, QS_FORMAT_INT, true, false)
BLOCK_RUN (run_int_even_nudged, QS_FORMAT_INT, false, true)
BLOCK_RUN (run_int_away_nudged, QS_FORMAT_INT, true, true)
BLOCK_RUN (run_mxfp8_e4m3, QS_FORMAT_MXFP8_E4M3, false, false)
BLOCK_RUN (run_mxfp8_e5m2, QS_FORMAT_MXFP8_E5M2, false, false)
BLOCK_RUN (run_mxfp6_e2m3, QS_FORMAT_MXFP6_E2M3, false, false)
BLOCK_RUN (run_mxfp6_e3m2, QS_FORMAT_MXFP6_E3M2, false, false)
BLOCK_RUN (run_mxfp4, QS_FORMAT_MXFP4, false, false)
BLOCK_RUN (run_mxint8, QS_FORMAT_MXINT8, false, false)
BLOCK_RUN (run_nvfp4, QS_FORMAT_NVFP4, false, false)
BLOCK_RUN (run_nf4, QS_FORMAT_NF4, false, false)

void BLOCK_AVX512
qs_block_kernel_avx512 (const QsBlockPass *p,
                        QsBlockWorker     *w,
                        QsBlockTaskSums   *sums,
                        size_t             first,
                        size_t             count,
                        const float       *x)
{
  static const QsBlockKernel runs[QS_FORMAT_LAST + 1] = {
    [QS_FORMAT_MXFP8_E4M3] = run_mxfp8_e4m3, [QS_FORMAT_MXFP8_E5M2] = run_mxfp8_e5m2,
    [QS_FORMAT_MXFP6_E2M3] = run_mxfp6_e2m3, [QS_FORMAT_MXFP6_E3M2] = run_mxfp6_e3m2,
    [QS_FORMAT_MXFP4] = run_mxfp4, [QS_FORMAT_MXINT8] = run_mxint8,
    [QS_FORMAT_NVFP4] = run_nvfp4, [QS_FORMAT_NF4] = run_nf4,
  };
  QsFormat format = p->scheme->format;

  if (format == QS_FORMAT_INT && p->scheme->nudge_zero)
    (p->scheme->rounding == QS_ROUNDING_HALF_AWAY ? run_int_away_nudged : run_int_even_nudged) (p, w, sums, first,
                                                                                                count, x);
  else if (format == QS_FORMAT_INT)
    (p->scheme->rounding == QS_ROUNDING_HALF_AWAY ? run_int_away : run_int_even) (p, w, sums, first, count, x);
  else
    runs[format] (p, w, sums, first, count, x);
}

void BLOCK_AVX512
qs_block_float_round_avx512 (QsFormat     format,
                             bool         bounded,
                             const float *v,
                             float       *out,
                             size_t       n)
{
  const __m512 limit = _mm512_set1_ps (qs_block_element_max (format));

  for (size_t j = 0; j < n; j += STEP)
    {
      __mmask16 valid = n - j >= STEP ? 0xffff : (__mmask16) ((1u << (n - j)) - 1);
      __m512 value = _mm512_setzero_ps ();

      format_round (format, _mm512_maskz_loadu_ps (valid, v + j), limit, bounded, &value);
      _mm512_mask_storeu_ps (out + j, valid, value);
    }
}

void BLOCK_AVX512
qs_block_fp8_decode_avx512 (QsFormat        format,
                            const uint32_t *code,
                            float          *out,
                            size_t          n)
{
  for (size_t j = 0; j < n; j += STEP)
    {
      __mmask16 valid = n - j >= STEP ? 0xffff : (__mmask16) ((1u << (n - j)) - 1);
      __m512i c = _mm512_maskz_loadu_epi32 (valid, code + j);

      _mm512_mask_storeu_ps (out + j, valid, format == QS_FORMAT_MXFP8_E4M3 ? fp8_decode (c, 3, 7) : fp8_decode (c, 2, 15));
    }
}

void BLOCK_AVX512
qs_block_int_scale_slots_avx512 (const float *scale,
                                 size_t       n,
                                 size_t       slots,
                                 uint32_t    *out)
{
  for (size_t j = 0; j < n; j += STEP)
    {
      __mmask16 valid = n - j >= STEP ? 0xffff : (__mmask16) ((1u << (n - j)) - 1);

      _mm512_mask_storeu_epi32 (out + j, valid, int_scale_slots (_mm512_maskz_loadu_ps (valid, scale + j), slots));
    }
}

#endif
