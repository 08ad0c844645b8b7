/* qs-block-codes.c: block-format elements as int8 integers times a per-block scale, for integer kernels.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Why it is exact: an element's value v = i / u with u a power of two, so
 * v * s and i * (s / u) are both the one rounding of the real i * s / u,
 * provided s / u itself is exact, which the map checks block by block.
 */
#include "qs-block-codes.h"

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
    default:
      return 0;
    }
}

bool
qs_block_integer_codes (const QsScheme        *scheme,
                        const QsChannelLayout *layout,
                        const int32_t         *codes,
                        const float           *scales,
                        int8_t                *int_codes,
                        float                 *int_scales)
{
  int unit = qs_block_integer_unit (scheme->format);
  QsBlockGeometry geo;
  int8_t table[256];
  bool valid[256];

  if (unit == 0 || qs_block_geometry (scheme, layout, &geo) != QS_OK)
    return false;
  /* Element codes are slots 0..255 (the bit pattern; MXINT8's signed
   * code plus 128): each slot's integer, where it is one. */
  for (int slot = 0; slot < 256; slot++)
    {
      int32_t code = scheme->format == QS_FORMAT_MXINT8 ? slot - 128 : slot;
      float v = qs_block_element_value (scheme->format, code) * (float) unit;

      valid[slot] = v - v == 0.0f && v == nearbyintf (v) && fabsf (v) <= 127.0f;
      table[slot] = valid[slot] ? (int8_t) v : 0;
    }
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
