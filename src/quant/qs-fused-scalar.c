/* qs-fused-scalar.c: the scalar reference of the fused-pass kernels, and kernel dispatch.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "qs-fused-private.h"
#include "qs-analysis.h"

#include <stdlib.h>
#include <string.h>

static inline bool
is_finite (float x)
{
  return x - x == 0.0f;
}

void
qs_fused_int_scalar (const QsFusedArgs   *a,
                     const float         *x,
                     size_t               n,
                     size_t               c0,
                     size_t               stride,
                     QsLaneSums          *s,
                     const QsFusedCounts *counts)
{
  for (size_t j = 0; j < n; j++)
    {
      size_t c = c0 + j * stride;
      int l = (int) (j % QS_FUSED_LANES);
      bool finite = is_finite (x[j]), clipped;
      float v = finite ? x[j] : 0.0f;
      float r = qs_fused_level (a, c, v, &clipped);
      float recon, err;

      recon = finite ? (r - a->sub[c]) * a->scale[c] : 0.0f;
      err = recon - v;

      s->err2[l] += (double) err * (double) err;
      s->x2[l] += (double) v * (double) v;
      s->recon2[l] += (double) recon * (double) recon;
      s->cross[l] += (double) v * (double) recon;
      s->max_error[l] = fabsf (err) > s->max_error[l] ? fabsf (err) : s->max_error[l];
      s->clipped += finite && clipped;
      s->nonfinite += !finite;

      {
        int32_t code = finite ? (int32_t) (r + a->post[c]) - a->qmin : a->skip_code_slot;
        int32_t bin = !finite ? a->bins + 2 : a->codes_alone ? 0 : qs_fused_hist_slot (a, v);
        if (a->joint_stride > 0)
          counts->joint[code * a->joint_stride + bin]++;
        else
          {
            counts->codes[code]++;
            counts->orig[bin]++;
          }
      }
      if (a->direct_recon)
        counts->recon[finite ? qs_fused_hist_slot (a, recon) : a->bins + 2]++;
    }
}

/* Adds one chunk's lane sums to @sums. */
static void
fold_lanes (const QsLaneSums *lanes,
            QsFusedSpanSums  *sums)
{
  for (int l = 0; l < QS_FUSED_LANES; l++)
    {
      sums->err2 += lanes->err2[l];
      sums->x2 += lanes->x2[l];
      sums->recon2 += lanes->recon2[l];
      sums->cross += lanes->cross[l];
      /* Never NaN: a plain comparison, not a call to fmaxf. */
      sums->max_error = lanes->max_error[l] > sums->max_error ? lanes->max_error[l] : sums->max_error;
    }
  sums->clipped += lanes->clipped;
  sums->nonfinite += lanes->nonfinite;
}

void
qs_fused_span_of_chunks (QsFusedIntKernel     chunk_kernel,
                const QsFusedArgs   *args,
                const float         *x,
                size_t               n,
                size_t               c0,
                size_t               stride,
                size_t               head,
                QsFusedSpanSums     *sums,
                const QsFusedCounts *counts)
{
  for (size_t done = 0, len = head; done < n; done += len, len = QS_FUSED_CHUNK)
    {
      QsLaneSums lanes;

      if (len > n - done)
        len = n - done;
      memset (&lanes, 0, sizeof lanes);
      chunk_kernel (args, x + done, len, c0 + done * stride, stride, &lanes, counts);
      fold_lanes (&lanes, sums);
    }
}

void
qs_minmax_scalar (const float *v,
                  size_t       n,
                  float       *min,
                  float       *max,
                  uint64_t    *nonfinite,
                  uint64_t    *zeros)
{
  float mn = *min, mx = *max;
  uint64_t bad = 0, zero = 0;

  for (size_t i = 0; i < n; i++)
    {
      float x = v[i];
      if (!is_finite (x))
        {
          bad++;
          continue;
        }
      zero += x == 0.0f;
      mn = x < mn ? x : mn;
      mx = x > mx ? x : mx;
    }
  *min = mn;
  *max = mx;
  *nonfinite += bad;
  *zeros += zero;
}

static bool
env_is_set (const char *name)
{
  const char *value = getenv (name);
  return value != NULL && strcmp (value, "1") == 0;
}

static bool
have_avx2 (void)
{
#if defined(__x86_64__)
  __builtin_cpu_init ();
  return __builtin_cpu_supports ("avx2") && __builtin_cpu_supports ("fma")
         && !env_is_set ("QS_FORCE_SCALAR");
#else
  return false;
#endif
}

static bool
have_avx512 (void)
{
#if defined(__x86_64__)
  return have_avx2 () && __builtin_cpu_supports ("avx512f") && __builtin_cpu_supports ("avx512dq")
         && !env_is_set ("QS_FORCE_AVX2");
#else
  return false;
#endif
}

QsFusedSpanKernel
qs_fused_span_kernel (void)
{
#if defined(__x86_64__)
  if (have_avx512 ())
    return qs_fused_span_avx512;
#endif
  return NULL;
}

QsFusedIntKernel
qs_fused_int_kernel (void)
{
#if defined(__x86_64__)
  if (have_avx2 ())
    return qs_fused_int_avx2;
#endif
  return qs_fused_int_scalar;
}

const char *
qs_analysis_kernel_name (void)
{
  return have_avx512 () ? "avx512" : have_avx2 () ? "avx2" : "scalar";
}

QsMinMaxKernel
qs_minmax_kernel (void)
{
#if defined(__x86_64__)
  if (have_avx512 ())
    return qs_minmax_avx512;
  if (have_avx2 ())
    return qs_minmax_avx2;
#endif
  return qs_minmax_scalar;
}
