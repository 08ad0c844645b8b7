/* qs-error.c: the GError domain of Quantscope's model, app and CLI layers.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "model/qs-error.h"

#include <gio/gio.h>

G_DEFINE_QUARK (qs-error-quark, qs_error)

void
qs_set_error_from_status (GError     **error,
                          QsStatus     status,
                          const char  *context)
{
  /* Values the enum does not name (a newer core, a cast integer) land here. */
  QsError code = QS_ERROR_FAILED;
  const char *message = "unknown failure";

  /* The numeric core is GLib-free, so its statuses are mapped here; a local
   * switch keeps the messages ours instead of depending on the core's
   * wording, and -Wswitch flags any status added later. */
  switch (status)
    {
    case QS_OK:
      return;
    case QS_STATUS_INVALID_ARGUMENT:
      code = QS_ERROR_INVALID;
      message = "invalid argument (a scheme or tensor field is out of range)";
      break;
    case QS_STATUS_EMPTY:
      code = QS_ERROR_EMPTY;
      message = "the tensor has no elements";
      break;
    case QS_STATUS_NO_FINITE_VALUES:
      code = QS_ERROR_EMPTY;
      message = "every element is NaN or infinite";
      break;
    case QS_STATUS_NO_MEMORY:
      code = QS_ERROR_TOO_LARGE;
      message = "out of memory";
      break;
    case QS_STATUS_BAD_RANGE:
      code = QS_ERROR_INVALID;
      message = "invalid range (the lower bound is not below the upper one, or a bound is not finite)";
      break;
    case QS_STATUS_CANCELLED:
      /* GIO's code, so callers test for it as for any cancelled operation. */
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "cancelled");
      return;
    }

  if (context != NULL && context[0] != '\0')
    g_set_error (error, QS_ERROR, code, "%s: %s", context, message);
  else
    g_set_error_literal (error, QS_ERROR, code, message);
}
