/* qs-error.h: the GError domain of Quantscope's model, app and CLI layers.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>
#include "quant/qs-types.h"

G_BEGIN_DECLS

#define QS_ERROR (qs_error_quark ())

typedef enum {
  QS_ERROR_NOT_FOUND,        /* no such file, or no such tensor in it */
  QS_ERROR_NOT_HDF5,         /* not an HDF5 file, or damaged beyond reading */
  QS_ERROR_READ,             /* HDF5 refused to read a dataset or attribute */
  QS_ERROR_NOT_QUANTIZABLE,  /* integer, string, compound, ... datasets */
  QS_ERROR_EMPTY,            /* a tensor with no elements, or no finite ones */
  QS_ERROR_INVALID,          /* a bad option or scheme */
  QS_ERROR_TOO_LARGE,        /* does not fit in memory or in the index types */
  QS_ERROR_WRITE,
  QS_ERROR_FAILED,
} QsError;

GQuark qs_error_quark (void);

/* Turns a numeric-core status into a GError in the QS_ERROR domain. */
void qs_set_error_from_status (GError   **error,
                               QsStatus   status,
                               const char *context);

G_END_DECLS
