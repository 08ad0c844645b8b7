/* qs-test-reference.c: comparing the engine's outputs with a reference script's golden values.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "qs-test-reference.h"

#include <math.h>

double
qs_test_worst_logit_error (JsonArray   *logits,
                           const float *out,
                           guint        rows,
                           guint        classes)
{
  double worst = 0.0;

  for (guint i = 0; i < rows; i++)
    {
      JsonArray *row = json_array_get_array_element (logits, i);
      double largest = 1.0;

      g_assert_cmpuint (json_array_get_length (row), ==, classes);
      for (guint k = 0; k < classes; k++)
        largest = MAX (largest, fabs (json_array_get_double_element (row, k)));
      for (guint k = 0; k < classes; k++)
        worst = MAX (worst, fabs (out[(gsize) i * classes + k] - json_array_get_double_element (row, k)) / largest);
    }
  return worst;
}

double
qs_test_sqnr_db (const float *reference,
                 const float *test,
                 gsize        n)
{
  double signal = 0.0, noise = 0.0;

  for (gsize i = 0; i < n; i++)
    {
      signal += (double) reference[i] * reference[i];
      noise += ((double) reference[i] - test[i]) * ((double) reference[i] - test[i]);
    }
  return noise > 0.0 ? 10.0 * log10 (signal / noise) : INFINITY;
}
