/* qs-agreement.h: how far the integer model's outputs follow the float32 model's, for images without labels.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

#include "engine/qs-engine.h"

G_BEGIN_DECLS

typedef struct {
  gsize  images;
  gsize  top1_agree;   /* both paths predict the same class */
  gsize  top5_agree;   /* the float32 path's class is among the integer path's five best */
  double signal;       /* sum of the squared float32 outputs */
  double noise;        /* sum of the squared differences of the two paths' outputs */
} QsAgreement;

/* Runs images [@first, @first + @count) of @data through both paths of
 * @quantized's model on @n_threads threads and compares the last layer's
 * outputs (the integer path's dequantized). Classes rank by value, the
 * first of equal values first (as argmax). Errors: QS_ERROR_FAILED with
 * the engine's status. */
gboolean qs_agreement_measure (const QsQuantizedModel *quantized,
                               const QsEngineDataset  *data,
                               gsize                   first,
                               gsize                   count,
                               int                     n_threads,
                               QsAgreement            *agreement,
                               GError                **error);

/* 10 log10 (signal / noise): +INFINITY when the outputs are equal, NaN
 * without images or signal. */
double   qs_agreement_sqnr_db (const QsAgreement *agreement);

G_END_DECLS
