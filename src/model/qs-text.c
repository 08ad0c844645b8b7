/* qs-text.c: names from a file made safe to print on a terminal.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <string.h>

#include "model/qs-text.h"

/* The length of the valid UTF-8 character at @p (at most @left bytes), or
 * 0 when the bytes there are not one. */
static gsize
valid_char_length (const char *p,
                   gsize       left)
{
  gunichar c = g_utf8_get_char_validated (p, (gssize) left);

  if (c == (gunichar) -1 || c == (gunichar) -2)
    return 0;
  return (gsize) (g_utf8_next_char (p) - p);
}

/* C0 and C1 controls, and the bidirectional formatting characters: a
 * name holding U+202E would print the rest of a message reversed. */
static gboolean
is_control (gunichar c)
{
  return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x061c || c == 0x200e || c == 0x200f
         || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

gboolean
qs_text_needs_escape (const char *text)
{
  gsize left;

  if (text == NULL)
    return FALSE;
  left = strlen (text);
  while (left > 0)
    {
      gsize n = valid_char_length (text, left);

      if (n == 0 || is_control (g_utf8_get_char (text)))
        return TRUE;
      text += n;
      left -= n;
    }
  return FALSE;
}

/* The one walk both escapes share: invalid bytes always, control
 * characters only for the terminal; @backslash is how an escape starts. */
static char *
escape (const char *text,
        gboolean    controls,
        const char *backslash)
{
  GString *out;
  gsize left;

  if (text == NULL)
    return NULL;
  left = strlen (text);
  out = g_string_sized_new (left);
  while (left > 0)
    {
      gsize n = valid_char_length (text, left);
      gunichar c;

      if (n == 0)
        {
          g_string_append_printf (out, "%sx%02x", backslash, (guint) (guchar) *text);
          text++;
          left--;
          continue;
        }
      c = g_utf8_get_char (text);
      if (controls && c < 0x80 && is_control (c))
        g_string_append_printf (out, "%sx%02x", backslash, (guint) c);
      else if (controls && is_control (c))
        g_string_append_printf (out, "%su%04x", backslash, (guint) c);
      else
        g_string_append_len (out, text, (gssize) n);
      text += n;
      left -= n;
    }
  return g_string_free (out, FALSE);
}

char *
qs_text_escape_controls (const char *text)
{
  return escape (text, TRUE, "\\");
}

char *
qs_text_escape_invalid_json (const char *json)
{
  return escape (json, FALSE, "\\\\");
}
