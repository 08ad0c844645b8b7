/* test-kl-bits.c: the KL range method where it is allowed gives sane SQNR; below 4 bits it is refused.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib.h>
#include <math.h>
#include <string.h>

#include "quant/qs-analysis.h"

static float *
gaussian (gsize   n,
          guint32 seed)
{
  float *v = g_new (float, n);
  GRand *rand = g_rand_new_with_seed (seed);

  for (gsize i = 0; i < n; i++)
    {
      /* Box-Muller. */
      double u1 = g_rand_double (rand) + 1e-12, u2 = g_rand_double (rand);
      v[i] = (float) (sqrt (-2.0 * log (u1)) * cos (2.0 * G_PI * u2));
    }
  g_rand_free (rand);
  return v;
}

static void
analyze (const QsScheme *scheme,
         const float    *v,
         gsize           n,
         QsAnalysis     *analysis)
{
  QsChannelLayout layout = qs_channel_layout_per_tensor (n);
  QsQuantParams params;

  memset (analysis, 0, sizeof *analysis);
  g_assert_cmpint (qs_analyze (scheme, &layout, v, 1, &params, analysis), ==, QS_OK);
  qs_quant_params_clear (&params);
}

static void
test_kl_sane_from_4_bits (void)
{
  const gsize sizes[] = { 144, 1024, 32768 };

  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    for (int bits = QS_KL_MIN_BITS; bits <= 8; bits++)
      {
        g_autofree float *v = gaussian (sizes[i], 100 + i);
        QsAnalysis minmax, kl;
        QsScheme s;

        qs_scheme_init_per_tensor (&s);
        s.bits = bits;
        analyze (&s, v, sizes[i], &minmax);
        s.range_method = QS_RANGE_KL;
        analyze (&s, v, sizes[i], &kl);
        /* KL trades clipping for resolution, and on a few hundred values
         * its histogram is sparse: it may lose several dB against min/max,
         * but it must keep the bulk (under 5 % clipped, at least half of
         * min/max's SQNR in dB; the collapse clipped 99 %, 0.1 dB). */
        g_test_message ("%zu values, %d bits: KL %.2f dB, min/max %.2f dB", sizes[i], bits, kl.sqnr_db,
                        minmax.sqnr_db);
        if (kl.sqnr_db < 0.5 * minmax.sqnr_db || kl.clipped_count * 20 > kl.finite_count)
          g_error ("%zu values, %d bits: KL %.2f dB, %" G_GUINT64_FORMAT " clipped; min/max %.2f dB",
                   sizes[i], bits, kl.sqnr_db, (guint64) kl.clipped_count, minmax.sqnr_db);
        qs_analysis_clear (&minmax);
        qs_analysis_clear (&kl);
      }
}

static void
test_kl_refused_below_4_bits (void)
{
  g_autofree float *v = gaussian (144, 7);
  QsChannelLayout layout = qs_channel_layout_per_tensor (144);
  QsQuantParams params;
  QsAnalysis analysis;
  const char *problem = NULL;
  QsScheme s;

  qs_scheme_init_per_tensor (&s);
  s.range_method = QS_RANGE_KL;
  for (int bits = QS_MIN_BITS; bits < QS_KL_MIN_BITS; bits++)
    {
      s.bits = bits;
      g_assert_cmpint (qs_scheme_validate (&s, &problem), ==, QS_STATUS_INVALID_ARGUMENT);
      g_assert_nonnull (strstr (problem, "at least 4 bits"));
      memset (&analysis, 0, sizeof analysis);
      g_assert_cmpint (qs_analyze (&s, &layout, v, 1, &params, &analysis), !=, QS_OK);
    }
  /* Float formats have no bits to speak of: KL stays allowed. */
  s.format = QS_FORMAT_FP8_E4M3;
  s.bits = 2;
  g_assert_cmpint (qs_scheme_validate (&s, NULL), ==, QS_OK);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/kl-bits/sane-from-4-bits", test_kl_sane_from_4_bits);
  g_test_add_func ("/kl-bits/refused-below-4-bits", test_kl_refused_below_4_bits);
  return g_test_run ();
}
