/* qs-test-reference.h: comparing the engine's outputs with a reference script's golden values.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* The largest difference between @out's logits ([rows][classes]) and the
 * reference's @logits (a JSON array of @rows arrays of @classes numbers),
 * each row's difference relative to its largest reference magnitude (at
 * least 1). Asserts that every reference row has @classes entries. */
double qs_test_worst_logit_error (JsonArray   *logits,
                                  const float *out,
                                  guint        rows,
                                  guint        classes);

/* 10 log10 (sum of @reference^2 / sum of (@reference - @test)^2) over @n
 * values; +inf when they are equal. */
double qs_test_sqnr_db (const float *reference,
                        const float *test,
                        gsize        n);

G_END_DECLS
