/* qs-number-text.h: the text of a number's encodings, shared by the number panel and `quantscope-cli number`.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

#include "quant/qs-number.h"

G_BEGIN_DECLS

/* The full pattern as lower-case hex zero-padded to width / 4 digits
 * ("0x410a0000"), or NULL when the format has no code for the value. */
char *qs_number_bits_hex      (const QsNumberEncoding *encoding);
/* The mantissa field zero-padded to its width in hex digits ("0x0a0000"). */
char *qs_number_mantissa_hex  (const QsNumberEncoding *encoding);
/* The pattern in binary, fields apart: "0 10000010 00010100000000000000000";
 * NULL when there is no code. */
char *qs_number_bits_binary   (const QsNumberEncoding *encoding);

/* The fixed-point code in m + n bits as hex ("0x08a0") and in binary with
 * the binary point ("00001000.10100000"). */
char *qs_fixed_point_hex      (const QsFixedPoint *fixed);
char *qs_fixed_point_binary   (const QsFixedPoint *fixed);

/* The integer code's bits as hex zero-padded to its width ("0xfa") and in binary. */
char *qs_integer_code_hex     (const QsIntegerCode *code);
char *qs_integer_code_binary  (const QsIntegerCode *code);

/* The shortest decimal text that reads back as @value ("0.1", "8.625",
 * "-0", "inf", "nan"). */
char *qs_number_format_double (double value);
/* The same for a float32: the shortest text that reads back as @value in float32. */
char *qs_number_format_float  (float  value);

/* Parses a whole string (surrounding spaces allowed) as a number: decimal,
 * hex float, "inf", "nan", with an optional sign. FALSE, leaving @value
 * alone, otherwise; the caller words the message. */
gboolean qs_number_parse_value (const char *text,
                                double     *value);
/* Parses "M.N" for fixed point Qm.n (1 <= M, 0 <= N, M + N <= 64). */
gboolean qs_number_parse_q     (const char *text,
                                int        *m,
                                int        *n);

G_END_DECLS
