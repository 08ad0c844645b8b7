/* qs-format-text.c: numbers and names as people read them, the same in the app and the CLI.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "model/qs-format-text.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

#include <glib/gi18n.h>

char *
qs_format_size (guint64 bytes)
{
  static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
  double value = (double) bytes;
  guint unit = 0;

  if (bytes < 1024)
    /* TRANSLATORS: a size in bytes, e.g. "512 B" */
    return g_strdup_printf (_("%" PRIu64 " B"), (uint64_t) bytes);
  value /= 1024.0;
  /* Round first: 1023.96 KiB reads "1.0 MiB", not "1024.0 KiB". */
  while (round (value * 10.0) >= 1024.0 * 10.0 && unit + 1 < G_N_ELEMENTS (units))
    {
      value /= 1024.0;
      unit++;
    }
  return g_strdup_printf ("%.1f %s", value, units[unit]);
}

char *
qs_format_sqnr (double sqnr_db)
{
  if (isnan (sqnr_db))
    return g_strdup ("—");
  if (isinf (sqnr_db))
    return g_strdup (sqnr_db > 0 ? _("exact") : "−∞ dB");
  /* TRANSLATORS: an SQNR in decibels, e.g. "41.9 dB" */
  return g_strdup_printf (_("%.1f dB"), sqnr_db);
}

char *
qs_format_percent (double percent)
{
  if (isnan (percent))
    return g_strdup ("—");
  if (percent == 0.0)
    return g_strdup ("0 %");
  if (fabs (percent) < 0.01)
    return g_strdup_printf ("%.2g %%", percent);
  return g_strdup_printf ("%.2f %%", percent);
}

char *
qs_format_count (guint64 count)
{
  return g_strdup_printf ("%'" G_GUINT64_FORMAT, count);
}

char *
qs_format_minus (char *text)
{
  GString *out;
  const char *prev = NULL;

  g_return_val_if_fail (text != NULL, NULL);
  if (strchr (text, '-') == NULL)
    return text;
  out = g_string_sized_new (strlen (text) + 8);
  for (const char *p = text; *p != '\0'; prev = p, p = g_utf8_next_char (p))
    {
      gunichar before = prev != NULL ? g_utf8_get_char (prev) : ' ';
      gboolean number_follows = g_ascii_isdigit (p[1]) || p[1] == '.' || g_str_has_prefix (p + 1, "∞");

      if (*p == '-' && number_follows && (before == ' ' || before == 0x00A0 || before == 0x00D7
                                          || (before < 0x80 && before != 0 && strchr ("([^/=", (int) before) != NULL)))
        g_string_append (out, "−");
      else
        g_string_append_len (out, p, g_utf8_next_char (p) - p);
    }
  g_free (text);
  return g_string_free (out, FALSE);
}

int
qs_natural_compare (const char *a,
                    const char *b)
{
  while (*a != '\0' && *b != '\0')
    {
      if (g_ascii_isdigit (*a) && g_ascii_isdigit (*b))
        {
          const char *ea, *eb;
          size_t la, lb;
          int order;

          /* Leading zeros do not make a number bigger. */
          while (*a == '0' && g_ascii_isdigit (a[1]))
            a++;
          while (*b == '0' && g_ascii_isdigit (b[1]))
            b++;
          for (ea = a; g_ascii_isdigit (*ea); ea++)
            ;
          for (eb = b; g_ascii_isdigit (*eb); eb++)
            ;
          la = (size_t) (ea - a);
          lb = (size_t) (eb - b);
          if (la != lb)
            return la < lb ? -1 : 1;
          order = strncmp (a, b, la);
          if (order != 0)
            return order < 0 ? -1 : 1;
          a = ea;
          b = eb;
          continue;
        }
      if (*a != *b)
        return (unsigned char) *a < (unsigned char) *b ? -1 : 1;
      a++;
      b++;
    }
  if (*a == *b)
    return 0;
  return *a == '\0' ? -1 : 1;
}
