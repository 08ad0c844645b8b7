/* qs-number-text.c: the text of a number's encodings (see qs-number-text.h).
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "model/qs-number-text.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static char *
hex_of (guint64 bits,
        int     width_bits)
{
  return g_strdup_printf ("0x%0*" G_GINT64_MODIFIER "x", (width_bits + 3) / 4, bits);
}

/* Appends bits [from, from + count) of @bits, most significant first. */
static void
append_binary (GString *out,
               guint64  bits,
               int      from,
               int      count)
{
  for (int i = from + count - 1; i >= from; i--)
    g_string_append_c (out, (bits >> i) & 1 ? '1' : '0');
}

char *
qs_number_bits_hex (const QsNumberEncoding *encoding)
{
  g_return_val_if_fail (encoding != NULL, NULL);
  return encoding->has_code ? hex_of (encoding->bits, encoding->layout.width) : NULL;
}

char *
qs_number_mantissa_hex (const QsNumberEncoding *encoding)
{
  g_return_val_if_fail (encoding != NULL, NULL);
  return hex_of (encoding->mantissa, encoding->layout.mantissa_bits);
}

char *
qs_number_bits_binary (const QsNumberEncoding *encoding)
{
  const QsNumberLayout *l;
  GString *out;

  g_return_val_if_fail (encoding != NULL, NULL);
  if (!encoding->has_code)
    return NULL;
  l = &encoding->layout;
  out = g_string_new (NULL);
  append_binary (out, encoding->bits, l->width - 1, 1);
  g_string_append_c (out, ' ');
  append_binary (out, encoding->bits, l->mantissa_bits, l->exponent_bits);
  g_string_append_c (out, ' ');
  append_binary (out, encoding->bits, 0, l->mantissa_bits);
  return g_string_free (out, FALSE);
}

char *
qs_fixed_point_hex (const QsFixedPoint *fixed)
{
  g_return_val_if_fail (fixed != NULL, NULL);
  return hex_of (fixed->bits, fixed->m + fixed->n);
}

char *
qs_fixed_point_binary (const QsFixedPoint *fixed)
{
  GString *out;

  g_return_val_if_fail (fixed != NULL, NULL);
  out = g_string_new (NULL);
  append_binary (out, fixed->bits, fixed->n, fixed->m);
  if (fixed->n > 0)
    {
      g_string_append_c (out, '.');
      append_binary (out, fixed->bits, 0, fixed->n);
    }
  return g_string_free (out, FALSE);
}

char *
qs_integer_code_hex (const QsIntegerCode *code)
{
  g_return_val_if_fail (code != NULL, NULL);
  return hex_of (code->bits, code->code_bits);
}

char *
qs_integer_code_binary (const QsIntegerCode *code)
{
  GString *out;

  g_return_val_if_fail (code != NULL, NULL);
  out = g_string_new (NULL);
  append_binary (out, code->bits, 0, code->code_bits);
  return g_string_free (out, FALSE);
}

/* The shortest of %.1g .. %.17g that reads back as @value, in float32 when
 * @as_float. */
static char *
format_shortest (double   value,
                 gboolean as_float)
{
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];

  if (isnan (value))
    return g_strdup ("nan");
  if (isinf (value))
    return g_strdup (value > 0 ? "inf" : "-inf");
  for (int digits = 1; digits <= 17; digits++)
    {
      char format[8];
      double back;

      g_snprintf (format, sizeof format, "%%.%dg", digits);
      g_ascii_formatd (buffer, sizeof buffer, format, value);
      back = g_ascii_strtod (buffer, NULL);
      if (as_float ? (float) back == (float) value : back == value)
        break;
    }
  return g_strdup (buffer);
}

char *
qs_number_format_double (double value)
{
  return format_shortest (value, FALSE);
}

char *
qs_number_format_float (float value)
{
  return format_shortest (value, TRUE);
}

gboolean
qs_number_parse_value (const char *text,
                       double     *value)
{
  g_autofree char *copy = NULL;
  char *end = NULL;
  double parsed;

  g_return_val_if_fail (value != NULL, FALSE);
  if (text == NULL)
    return FALSE;
  copy = g_strstrip (g_strdup (text));
  if (*copy == '\0')
    return FALSE;
  errno = 0;
  parsed = g_ascii_strtod (copy, &end);
  /* ERANGE on underflow still gives the right (subnormal or zero) value,
   * on overflow ±inf: both are what a learner typing 1e-400 or 1e400 means. */
  if (end == copy || *end != '\0')
    return FALSE;
  *value = parsed;
  return TRUE;
}

gboolean
qs_number_parse_q (const char *text,
                   int        *m,
                   int        *n)
{
  guint64 parsed_m, parsed_n;
  const char *dot;
  g_autofree char *integer_part = NULL;

  g_return_val_if_fail (m != NULL && n != NULL, FALSE);
  if (text == NULL || (dot = strchr (text, '.')) == NULL)
    return FALSE;
  integer_part = g_strndup (text, dot - text);
  if (!g_ascii_string_to_unsigned (integer_part, 10, 1, QS_FIXED_POINT_MAX_WIDTH, &parsed_m, NULL)
      || !g_ascii_string_to_unsigned (dot + 1, 10, 0, QS_FIXED_POINT_MAX_WIDTH, &parsed_n, NULL)
      || parsed_m + parsed_n > QS_FIXED_POINT_MAX_WIDTH)
    return FALSE;
  *m = (int) parsed_m;
  *n = (int) parsed_n;
  return TRUE;
}
