/* qs-types.c: status strings and channel layouts.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "qs-types.h"

const char *
qs_status_to_string (QsStatus status)
{
  switch (status)
    {
    case QS_OK:
      return "success";
    case QS_STATUS_INVALID_ARGUMENT:
      return "invalid argument";
    case QS_STATUS_EMPTY:
      return "the tensor is empty";
    case QS_STATUS_NO_FINITE_VALUES:
      return "the tensor has no finite values";
    case QS_STATUS_NO_MEMORY:
      return "out of memory";
    case QS_STATUS_BAD_RANGE:
      return "the range is empty or not finite";
    case QS_STATUS_CANCELLED:
      return "cancelled";
    default:
      return "unknown status";
    }
}

QsChannelLayout
qs_channel_layout_per_tensor (size_t count)
{
  QsChannelLayout layout = { count, 1, 1, count };
  return layout;
}

static bool
mul_overflows (size_t a, size_t b, size_t *product)
{
  return __builtin_mul_overflow (a, b, product);
}

QsStatus
qs_channel_layout_for_axis (const int64_t   *shape,
                            int              rank,
                            int              axis,
                            QsChannelLayout *layout)
{
  size_t outer = 1, inner = 1, channels = 1;

  if (rank < 0 || rank > QS_MAX_RANK || layout == NULL || (rank > 0 && shape == NULL))
    return QS_STATUS_INVALID_ARGUMENT;

  if (rank == 0)
    {
      *layout = qs_channel_layout_per_tensor (1);
      return QS_OK;
    }

  if (axis < 0)
    axis += rank;
  if (axis < 0 || axis >= rank)
    return QS_STATUS_INVALID_ARGUMENT;

  for (int d = 0; d < rank; d++)
    {
      size_t *factor = d < axis ? &outer : d > axis ? &inner : &channels;
      if (shape[d] < 0 || mul_overflows (*factor, (size_t) shape[d], factor))
        return QS_STATUS_INVALID_ARGUMENT;
    }

  layout->outer = outer;
  layout->channels = channels;
  layout->inner = inner;
  if (mul_overflows (outer, channels, &layout->count)
      || mul_overflows (layout->count, inner, &layout->count))
    return QS_STATUS_INVALID_ARGUMENT;

  return QS_OK;
}
