/* qs-number-panel.h: one number, bit by bit, in every format: the seed notes' lesson as a panel.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "quant/qs-number.h"

G_BEGIN_DECLS

#define QS_TYPE_NUMBER_PANEL (qs_number_panel_get_type ())
G_DECLARE_FINAL_TYPE (QsNumberPanel, qs_number_panel, QS, NUMBER_PANEL, AdwBin)

GtkWidget  *qs_number_panel_new            (void);

/* The value shown; setting it also rewrites the entry. */
void        qs_number_panel_set_value      (QsNumberPanel  *self,
                                            double          value);
double      qs_number_panel_get_value      (QsNumberPanel  *self);

/* Fixed point Qm.n (1 <= m, 0 <= n, m + n <= 64). */
void        qs_number_panel_set_q          (QsNumberPanel  *self,
                                            int             m,
                                            int             n);

/* The quantizer whose integer code the panel shows: the current tensor's
 * scheme, and the scale and zero point of the channel on view. @scheme
 * NULL shows no integer code. @tensor_label names it in the panel. Under
 * a float block format (MXFP4, NVFP4, MXFP8) the row of its elements shows
 * the value in a block whose largest magnitude it is, NVFP4's with @scale
 * as the tensor scale. */
void        qs_number_panel_set_quantizer  (QsNumberPanel  *self,
                                            const QsScheme *scheme,
                                            float           scale,
                                            float           zero_point,
                                            const char     *tensor_label);

/* The hex pattern the panel shows for @format, as the user reads it
 * (transfer none); "" while the entry holds no number. */
const char *qs_number_panel_get_shown_bits (QsNumberPanel  *self,
                                            QsNumberFormat  format);
/* The explanation under @format's bits, as shown (transfer none): under a
 * float block scheme, its element row states the block's scale. */
const char *qs_number_panel_get_shown_details (QsNumberPanel  *self,
                                               QsNumberFormat  format);
/* The integer code's hex pattern as shown, or NULL when there is none. */
const char *qs_number_panel_get_shown_code (QsNumberPanel  *self);

G_END_DECLS
