/* qs-block-codes.c: block-format elements as int8 or int16 integers times a per-block scale, for integer kernels.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Why it is exact: an element's value v = i / u with u a power of two, so
 * v * s and i * (s / u) are both the one rounding of the real i * s / u,
 * provided s / u itself is exact, which the map checks block by block.
 */
#include "qs-block-codes.h"
#include "qs-block-private.h"

#include <math.h>

int
qs_block_integer_unit (QsFormat format)
{
  switch (format)
    {
    case QS_FORMAT_MXINT8:
      return 64;
    case QS_FORMAT_MXFP4:
    case QS_FORMAT_NVFP4:
      return 2;
    case QS_FORMAT_MXFP6_E2M3:
      return 8;
    case QS_FORMAT_MXFP6_E3M2:
      return 16;
    default:
      return 0;
    }
}

int
qs_block_integer_bound (QsFormat format)
{
  return (int) (qs_block_element_max (format) * (float) qs_block_integer_unit (format));
}

/* Slot @slot's element value times @unit (the slot is the bit pattern,
 * or MXINT8's signed code plus 128), and whether it is an integer of at
 * most @bound in magnitude (MXINT8's -128, which its quantizer never
 * gives, is not). */
static bool
slot_integer (QsFormat format,
              int      unit,
              int      bound,
              int      slot,
              int16_t *integer)
{
  int32_t code = format == QS_FORMAT_MXINT8 ? slot - 128 : slot;
  float v = qs_block_element_value (format, code) * (float) unit;
  bool valid = v - v == 0.0f && v == nearbyintf (v) && fabsf (v) <= (float) bound;

  *integer = valid ? (int16_t) v : 0;
  return valid;
}

bool
qs_block_integer_codes (const QsScheme        *scheme,
                        const QsChannelLayout *layout,
                        const int32_t         *codes,
                        const float           *scales,
                        int16_t               *int_codes,
                        float                 *int_scales)
{
  int unit = qs_block_integer_unit (scheme->format), bound = qs_block_integer_bound (scheme->format);
  QsBlockGeometry geo;
  int16_t table[256];
  bool valid[256];

  if (unit == 0 || qs_block_geometry (scheme, layout, &geo) != QS_OK)
    return false;
  for (int slot = 0; slot < 256; slot++)
    valid[slot] = slot_integer (scheme->format, unit, bound, slot, &table[slot]);
  for (size_t b = 0; b < geo.block_count; b++)
    {
      int_scales[b] = scales[b] / (float) unit;
      if (int_scales[b] * (float) unit != scales[b])
        return false;
    }
  for (size_t i = 0; i < layout->count; i++)
    {
      int32_t slot = scheme->format == QS_FORMAT_MXINT8 ? codes[i] + 128 : codes[i];

      if (slot < 0 || slot > 255 || !valid[slot])
        return false;
      int_codes[i] = table[slot];
    }
  return true;
}
