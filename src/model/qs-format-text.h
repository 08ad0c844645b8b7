/* qs-format-text.h: numbers and names as people read them, the same in the app and the CLI.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* "512 B", "1.5 KiB", "3.2 MiB", "1.1 GiB": IEC units, one decimal. */
char *qs_format_size    (guint64 bytes);
/* "41.9 dB"; an exact quantization (infinite SQNR) is "exact"; NaN "—". */
char *qs_format_sqnr    (double  sqnr_db);
/* A share in percent: "0 %", "12.34 %", and below 0.01 % with two
 * significant digits ("0.00025 %"), so a few clipped values never read 0. */
char *qs_format_percent (double  percent);
/* A count with the locale's digit grouping: "10,000" (in the C locale,
 * "10000"); for the %s of a g_dngettext () message chosen by the count. */
char *qs_format_count   (guint64 count);
/* @text with the hyphen-minus of each negative number as U+2212 MINUS
 * SIGN, the rule for every number the app shows (GNOME's HIG): a '-'
 * before a digit, '.' or '∞' at the start or after a space, '(', '[',
 * '^', '/', '=' or '×' (so "e-07" and names keep theirs). Takes @text. */
char *qs_format_minus   (char   *text);
/* strcmp with runs of digits compared as numbers: "conv2d_2" < "conv2d_10". */
int   qs_natural_compare (const char *a,
                          const char *b);

G_END_DECLS
