/* test-format-text.c: the number formats the app and the CLI share, and natural name order.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "model/qs-format-text.h"
#include "model/qs-text.h"

static void
assert_formats (char       *text,
                const char *expected)
{
  g_assert_cmpstr (text, ==, expected);
  g_free (text);
}

static void
test_size (void)
{
  assert_formats (qs_format_size (0), "0 B");
  assert_formats (qs_format_size (1023), "1023 B");
  assert_formats (qs_format_size (1024), "1.0 KiB");
  assert_formats (qs_format_size (1536), "1.5 KiB");
  /* 1048575 B is 1023.999 KiB: rounded to one decimal it is 1.0 MiB. */
  assert_formats (qs_format_size (1048575), "1.0 MiB");
  /* The demo model: 1,199,960 parameters of float32. */
  assert_formats (qs_format_size (4799840), "4.6 MiB");
  assert_formats (qs_format_size ((guint64) 3 << 30), "3.0 GiB");
}

static void
test_sqnr (void)
{
  assert_formats (qs_format_sqnr (41.8749), "41.9 dB");
  assert_formats (qs_format_sqnr (0.4716), "0.5 dB");
  assert_formats (qs_format_sqnr (-3.04), "-3.0 dB");
  assert_formats (qs_format_sqnr (INFINITY), "exact");
  assert_formats (qs_format_sqnr (NAN), "—");
}

static void
test_percent (void)
{
  assert_formats (qs_format_percent (0.0), "0 %");
  assert_formats (qs_format_percent (12.3449), "12.34 %");
  assert_formats (qs_format_percent (100.0), "100.00 %");
  /* 1 of 400,000 values: not "0.00 %". */
  assert_formats (qs_format_percent (100.0 / 400000.0), "0.00025 %");
}

static void
test_natural_compare (void)
{
  const char *sorted[] = {
    "", "conv2d", "conv2d_1", "conv2d_2", "conv2d_002x", "conv2d_10", "conv2d_10/bias", "conv2d_10/kernel",
    "conv2d_100", "dense", "dense_1",
  };

  for (guint i = 0; i < G_N_ELEMENTS (sorted); i++)
    for (guint j = 0; j < G_N_ELEMENTS (sorted); j++)
      {
        int expected = i < j ? -1 : i > j ? 1 : 0;
        int got = qs_natural_compare (sorted[i], sorted[j]);
        if ((got > 0) - (got < 0) != expected)
          g_error ("“%s” vs “%s”: %d, expected %d", sorted[i], sorted[j], got, expected);
      }
  /* Leading zeros: equal numbers, and equal strings are equal. */
  g_assert_cmpint (qs_natural_compare ("a07", "a7"), ==, 0);
  g_assert_cmpint (qs_natural_compare ("x9y", "x10y"), <, 0);
}

/* Negative numbers take U+2212; hyphens in words and exponents stay. */
static void
test_minus (void)
{
  assert_formats (qs_format_minus (g_strdup ("-0.32")), "−0.32");
  assert_formats (qs_format_minus (g_strdup ("98.1 % → 97.8 % (-0.32)")), "98.1 % → 97.8 % (−0.32)");
  assert_formats (qs_format_minus (g_strdup ("range [-1.5, 2] · 2^-3 · x=-.5")), "range [−1.5, 2] · 2^−3 · x=−.5");
  assert_formats (qs_format_minus (g_strdup ("-∞ dB")), "−∞ dB");
  assert_formats (qs_format_minus (g_strdup ("9.5e-07 float-32 conv2d-1 a - b")), "9.5e-07 float-32 conv2d-1 a - b");
  assert_formats (qs_format_minus (g_strdup ("점수 -1.5")), "점수 −1.5");
  assert_formats (qs_format_minus (g_strdup ("")), "");
}

/* Counts read with the locale's grouping: none in C, commas in ko_KR. */
static void
test_count (void)
{
  assert_formats (qs_format_count (10000), "10000");
  if (setlocale (LC_NUMERIC, "ko_KR.UTF-8") == NULL)
    {
      g_test_skip ("no ko_KR.UTF-8 locale");
      return;
    }
  assert_formats (qs_format_count (10000), "10,000");
  assert_formats (qs_format_count (999), "999");
  setlocale (LC_NUMERIC, "C.UTF-8");
}

/* Names from a file print on a terminal with their controls escaped:
 * C0, C1 and the bidirectional overrides, isolates and marks; other
 * characters, Hangul included, as they are. */
static void
test_escape_controls (void)
{
  static const struct { const char *in, *out; } cases[] = {
    { "conv2d", "conv2d" },
    { "층\u00a0a", "층\u00a0a" },
    { "a\x1b[2Jb", "a\\x1b[2Jb" },
    { "a\xc2\x85" "b", "a\\u0085b" },
    { "evil\u202egnp.exe", "evil\\u202egnp.exe" },
    { "\u2066x\u2069\u200e\u200f\u061c\u202a", "\\u2066x\\u2069\\u200e\\u200f\\u061c\\u202a" },
    { "\u2065\u202f\u200d", "\u2065\u202f\u200d" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *escaped = qs_text_escape_controls (cases[i].in);

      g_assert_cmpstr (escaped, ==, cases[i].out);
      g_assert_true (qs_text_needs_escape (cases[i].in) == (strcmp (cases[i].in, cases[i].out) != 0));
    }
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "C.UTF-8");
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/format-text/size", test_size);
  g_test_add_func ("/format-text/sqnr", test_sqnr);
  g_test_add_func ("/format-text/percent", test_percent);
  g_test_add_func ("/format-text/natural-compare", test_natural_compare);
  g_test_add_func ("/format-text/minus", test_minus);
  g_test_add_func ("/format-text/count", test_count);
  g_test_add_func ("/text/escape-controls", test_escape_controls);
  return g_test_run ();
}
