/* qs-text.h: names from a file made safe to print on a terminal.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* @text with every byte a terminal could act on written out as an escape:
 * C0 controls (ESC, BEL, newline, ...) and DEL as \x1b, C1 controls
 * (U+0080..U+009F) as \u009b, and each byte of invalid UTF-8 as \xff.
 * Everything else, other scripts included, is kept as it is. Layer,
 * tensor and file names come from the file and may hold OSC title
 * sequences or cursor movements. Returns NULL for NULL (transfer full). */
char     *qs_text_escape_controls (const char *text);

/* JSON text (as json-glib writes it: ASCII outside strings) made valid
 * UTF-8: json-glib copies invalid bytes of a name into the output as they
 * are, which makes the whole document unreadable. Each such byte becomes
 * the six characters \\xff, which a JSON reader decodes to the same
 * \xff the text output shows; valid text is unchanged (control
 * characters are already escaped by json-glib). Transfer full. */
char     *qs_text_escape_invalid_json (const char *json);

/* Whether qs_text_escape_controls() would change @text. */
gboolean  qs_text_needs_escape    (const char *text);

G_END_DECLS
