/* test-core-headers.c: the numeric core's headers compile and link without GLib.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Built with the quant library only (no glib dependency in meson): if a
 * header of src/quant started to need GLib, this file would stop compiling.
 * Prints TAP by hand for the same reason.
 */
#include <stdio.h>

#include "quant/qs-analysis.h"
#include "quant/qs-checked.h"
#include "quant/qs-float-format.h"
#include "quant/qs-number.h"
#include "quant/qs-params.h"
#include "quant/qs-range.h"
#include "quant/qs-scheme.h"
#include "quant/qs-types.h"

#ifdef G_BEGIN_DECLS
#error "a numeric-core header pulled in GLib"
#endif

int
main (void)
{
  QsScheme scheme;
  const float values[] = { -1.0f, 0.0f, 0.5f, 1.0f };
  QsChannelLayout layout = qs_channel_layout_per_tensor (4);
  QsQuantParams params;
  QsAnalysis analysis;
  QsNumberEncoding single;
  QsStatus status;

  qs_scheme_init_per_tensor (&scheme);
  status = qs_analyze (&scheme, &layout, values, 1, &params, &analysis);
  /* 8.625 = 1.000101b x 2^3 in single precision: 0 10000010 000101... */
  qs_number_encode (8.625, QS_NUMBER_FLOAT32, &single);
  printf ("1..2\n");
  printf ("%s 1 /core-headers/analyze-without-glib\n",
          status == QS_OK && analysis.levels_used == 4 ? "ok" : "not ok");
  printf ("%s 2 /core-headers/number-without-glib\n", single.bits == 0x410a0000 ? "ok" : "not ok");
  if (status == QS_OK)
    {
      qs_quant_params_clear (&params);
      qs_analysis_clear (&analysis);
    }
  return status == QS_OK ? 0 : 1;
}
