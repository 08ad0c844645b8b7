/* test-scheme-set.c: scheme sets as values (immutable, equal, hashed), their JSON form, and the resolver.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib.h>

#include "engine/qs-engine.h"
#include "model/qs-keras-model.h"
#include "model/qs-scheme-file.h"
#include "model/qs-scheme-set.h"
#include "model/qs-weight-file.h"

#define CONV_KERNEL "/model_weights/conv2d/conv2d/kernel:0"
#define DENSE_KERNEL "/model_weights/dense/dense/kernel:0"

static QsScheme
int_scheme (int bits)
{
  QsScheme s;

  qs_scheme_init_per_tensor (&s);
  s.bits = bits;
  return s;
}

/* Every with_* leaves the set it started from as it was. */
static void
test_immutable (void)
{
  QsScheme four = int_scheme (4), six = int_scheme (6);
  const char *patterns[] = { "role:kernel", NULL };
  const char *skip[] = { "role:bias", NULL };
  g_autoptr(QsSchemeSet) base = qs_scheme_set_new (NULL);
  g_autoptr(QsSchemeSet) with_default = qs_scheme_set_with_default (base, &four);
  g_autoptr(QsSchemeSet) with_override = qs_scheme_set_with_override (with_default, patterns, &six,
                                                                      QS_SCHEME_KEY_BITS);
  g_autoptr(QsSchemeSet) with_skip = qs_scheme_set_with_skip (with_override, skip);
  g_autoptr(QsSchemeSet) without = qs_scheme_set_without_override (with_skip, 0);
  g_autoptr(QsSchemeSet) cleared = qs_scheme_set_without_overrides (with_skip);
  QsScheme resolved;
  QsSchemeKeys keys;

  g_assert_cmpint (qs_scheme_set_get_default (base)->bits, ==, 8);
  g_assert_cmpint (qs_scheme_set_get_default (with_default)->bits, ==, 4);
  g_assert_cmpuint (qs_scheme_set_get_n_overrides (with_default), ==, 0);
  g_assert_cmpuint (qs_scheme_set_get_n_overrides (with_override), ==, 1);
  g_assert_cmpstr (qs_scheme_set_get_override (with_override, 0, &resolved, &keys)[0], ==, "role:kernel");
  g_assert_cmpint (resolved.bits, ==, 6);
  g_assert_cmpint (keys, ==, QS_SCHEME_KEY_BITS);
  /* The default skip list, and the one set later. */
  g_assert_cmpuint (g_strv_length ((char **) qs_scheme_set_get_skip (with_override)), ==, 2);
  g_assert_cmpuint (g_strv_length ((char **) qs_scheme_set_get_skip (with_skip)), ==, 1);
  g_assert_cmpuint (qs_scheme_set_get_n_overrides (without), ==, 0);
  g_assert_cmpuint (qs_scheme_set_get_n_overrides (with_skip), ==, 1);
  g_assert_cmpuint (qs_scheme_set_get_n_overrides (cleared), ==, 0);
  g_assert_cmpuint (g_strv_length ((char **) qs_scheme_set_get_skip (cleared)), ==, 1);
  g_assert_cmpint (qs_scheme_set_get_default (cleared)->bits, ==, 4);
}

/* A tensor's own scheme replaces its override where it stands; NULL
 * removes it; the same scheme again is the same set. */
static void
test_tensor_scheme (void)
{
  QsScheme four = int_scheme (4), five = int_scheme (5);
  const char *first[] = { "role:bias", NULL };
  g_autoptr(QsSchemeSet) empty = qs_scheme_set_new (NULL);
  g_autoptr(QsSchemeSet) base = qs_scheme_set_with_override (empty, first, &five, QS_SCHEME_KEY_BITS);
  g_autoptr(QsSchemeSet) a = qs_scheme_set_with_tensor_scheme (base, DENSE_KERNEL, &four);
  g_autoptr(QsSchemeSet) b = qs_scheme_set_with_tensor_scheme (a, CONV_KERNEL, &four);
  g_autoptr(QsSchemeSet) c = qs_scheme_set_with_tensor_scheme (b, DENSE_KERNEL, &five);
  g_autoptr(QsSchemeSet) same = qs_scheme_set_with_tensor_scheme (c, DENSE_KERNEL, &five);
  g_autoptr(QsSchemeSet) removed = qs_scheme_set_with_tensor_scheme (c, DENSE_KERNEL, NULL);
  g_autoptr(QsSchemeSet) nothing = qs_scheme_set_with_tensor_scheme (removed, DENSE_KERNEL, NULL);
  QsScheme s;

  g_assert_true (qs_scheme_set_has_tensor_override (a, DENSE_KERNEL));
  g_assert_false (qs_scheme_set_has_tensor_override (base, DENSE_KERNEL));
  g_assert_cmpuint (qs_scheme_set_get_n_overrides (c), ==, 3);
  g_assert_cmpstr (qs_scheme_set_get_override (c, 1, &s, NULL)[0], ==, DENSE_KERNEL);
  g_assert_cmpint (s.bits, ==, 5);
  g_assert_cmpstr (qs_scheme_set_get_override (c, 2, NULL, NULL)[0], ==, CONV_KERNEL);
  g_assert_true (same == c);
  g_assert_false (qs_scheme_set_has_tensor_override (removed, DENSE_KERNEL));
  g_assert_true (qs_scheme_set_has_tensor_override (removed, CONV_KERNEL));
  g_assert_true (nothing == removed);
}

/* Sets built apart are equal and hash alike when they say the same; any
 * difference that changes what a tensor gets makes them unequal. */
static void
test_equal_and_hash (void)
{
  QsScheme four = int_scheme (4), other_percentile = int_scheme (4);
  const char *kernels[] = { "role:kernel", NULL };
  const char *biases[] = { "role:bias", NULL };
  g_autoptr(QsSchemeSet) base = qs_scheme_set_new (NULL);
  g_autoptr(QsSchemeSet) x1 = qs_scheme_set_with_override (base, kernels, &four, QS_SCHEME_KEY_BITS);
  g_autoptr(QsSchemeSet) x = qs_scheme_set_with_override (x1, biases, &four, QS_SCHEME_KEY_BITS);
  g_autoptr(QsSchemeSet) y0 = qs_scheme_set_new (NULL);
  g_autoptr(QsSchemeSet) y1 = qs_scheme_set_with_override (y0, kernels, &four, QS_SCHEME_KEY_BITS);
  g_autoptr(QsSchemeSet) y = qs_scheme_set_with_override (y1, biases, &four, QS_SCHEME_KEY_BITS);
  g_autoptr(QsSchemeSet) swapped1 = qs_scheme_set_with_override (base, biases, &four, QS_SCHEME_KEY_BITS);
  g_autoptr(QsSchemeSet) swapped = qs_scheme_set_with_override (swapped1, kernels, &four, QS_SCHEME_KEY_BITS);
  g_autoptr(QsSchemeSet) all_keys = qs_scheme_set_with_override (x1, biases, &four, QS_SCHEME_KEY_ALL);
  g_autoptr(QsSchemeSet) no_skip = qs_scheme_set_with_skip (x, NULL);
  g_autoptr(QsSchemeSet) unread = NULL;
  g_autoptr(GHashTable) table = g_hash_table_new (qs_scheme_set_hash, qs_scheme_set_equal);

  g_assert_true (qs_scheme_set_equal (x, y));
  g_assert_cmpuint (qs_scheme_set_hash (x), ==, qs_scheme_set_hash (y));
  g_assert_false (qs_scheme_set_equal (x, x1));
  g_assert_false (qs_scheme_set_equal (x, swapped));   /* later overrides win: order counts */
  g_assert_false (qs_scheme_set_equal (x, all_keys));
  g_assert_false (qs_scheme_set_equal (x, no_skip));

  /* A field the override's scheme does not read (the percentile of a
   * min/max scheme) does not make another set. */
  other_percentile.percentile = 99.0;
  unread = qs_scheme_set_with_override (x1, biases, &other_percentile, QS_SCHEME_KEY_BITS);
  g_assert_true (qs_scheme_set_equal (x, unread));
  g_assert_cmpuint (qs_scheme_set_hash (x), ==, qs_scheme_set_hash (unread));

  /* As job keys. */
  g_hash_table_add (table, x);
  g_assert_true (g_hash_table_contains (table, y));
  g_assert_false (g_hash_table_contains (table, swapped));
}

/* The scheme file is the set's JSON form: written and read back it is the
 * same set; a boxed copy is a reference. */
static void
test_json_round_trip (void)
{
  QsScheme fp8, manual = int_scheme (6);
  const char *patterns[] = { "dense*", "role:depthwise_kernel", NULL };
  const char *skip[] = { "role:batchnorm", NULL };
  g_autoptr(QsSchemeSet) s0 = NULL, s1 = NULL, s2 = NULL, set = NULL, back = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  gpointer copy;

  qs_scheme_init_per_tensor (&fp8);
  fp8.format = QS_FORMAT_FP8_E4M3;
  manual.range_method = QS_RANGE_MANUAL;
  manual.manual_lo = -0.1;
  manual.manual_hi = 0.30000000000000004;
  s0 = qs_scheme_set_new (&fp8);
  s1 = qs_scheme_set_with_override (s0, patterns, &manual, QS_SCHEME_KEY_BITS | QS_SCHEME_KEY_RANGE);
  s2 = qs_scheme_set_with_tensor_scheme (s1, CONV_KERNEL, &manual);
  set = qs_scheme_set_with_skip (s2, skip);

  text = qs_scheme_set_to_data (set, NULL);
  back = qs_scheme_set_load_from_data (text, -1, "round-trip.json", &error);
  g_assert_no_error (error);
  g_assert_true (qs_scheme_set_equal (set, back));

  copy = g_boxed_copy (QS_TYPE_SCHEME_SET, set);
  g_assert_true (copy == set);
  g_boxed_free (QS_TYPE_SCHEME_SET, copy);
}

/* The resolver on the demo model: tensors by pattern and skip list, engine
 * layers by their kernel tensor, the activations by the default. */
static void
test_resolver (void)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "..", "data", "models", "fashion-cnn.h5", NULL);
  g_autoptr(QsWeightFile) file = NULL;
  g_autoptr(GError) error = NULL;
  QsEngineModel *model;
  QsScheme four = int_scheme (4), no_nudge = int_scheme (8), s;
  const char *depthwise[] = { "role:depthwise_kernel", NULL };
  const char *skip[] = { "role:bias", "*dense_1*", NULL };
  g_autoptr(QsSchemeSet) s0 = NULL, s1 = NULL, set = NULL;
  g_autofree QsScheme *schemes = NULL;
  g_autofree const QsScheme **pointers = NULL;
  QsActivationScheme act;
  QsLayerInfo named = { 0 };
  gsize n;

  file = qs_weight_file_open (path, &error);
  g_assert_no_error (error);
  model = qs_keras_model_load (file, &error);
  g_assert_no_error (error);

  no_nudge.nudge_zero = FALSE;
  s0 = qs_scheme_set_new (&no_nudge);
  s1 = qs_scheme_set_with_override (s0, depthwise, &four, QS_SCHEME_KEY_BITS);
  set = qs_scheme_set_with_skip (s1, skip);

  /* Tensors. */
  g_assert_true (qs_scheme_set_resolve_tensor (set, qs_weight_file_lookup (file, CONV_KERNEL), &s));
  g_assert_cmpint (s.bits, ==, 8);
  g_assert_false (s.nudge_zero);
  g_assert_false (qs_scheme_set_resolve_tensor (set, qs_weight_file_lookup (file, "/model_weights/conv2d/conv2d/bias:0"), &s));
  g_assert_true (qs_scheme_set_resolve_tensor (set, qs_weight_file_lookup (file,
                 "/model_weights/batch_normalization/batch_normalization/gamma:0"), &s));
  g_assert_false (qs_scheme_set_resolve_tensor (set, qs_weight_file_lookup (file, "/model_weights/dense_1/dense_1/kernel:0"), &s));

  /* Layers: conv2d, conv2d_1, depthwise_conv2d, conv2d_2, dense, dense_1. */
  n = qs_engine_model_get_n_weighted (model);
  g_assert_cmpuint (n, ==, 6);
  schemes = g_new0 (QsScheme, n);
  pointers = g_new0 (const QsScheme *, n);
  qs_scheme_set_resolve_layers (set, file, model, schemes, pointers);
  for (gsize i = 0; i < n; i++)
    {
      QsLayerInfo layer;

      g_assert_true (qs_engine_model_get_layer (model, (size_t) qs_engine_model_weighted_layer_index (model, i), &layer));
      if (g_str_equal (layer.name, "dense_1"))
        g_assert_null (pointers[i]);
      else
        {
          g_assert_true (pointers[i] == &schemes[i]);
          g_assert_cmpint (schemes[i].bits, ==, g_str_equal (layer.name, "depthwise_conv2d") ? 4 : 8);
        }
    }

  /* A layer that names its tensor is resolved by it, not by its name. */
  named.name = "conv2d";
  named.weight_tensor = DENSE_KERNEL;
  g_assert_true (qs_scheme_set_layer_tensor (file, &named) == qs_weight_file_lookup (file, DENSE_KERNEL));
  named.weight_tensor = NULL;
  g_assert_true (qs_scheme_set_layer_tensor (file, &named) == qs_weight_file_lookup (file, CONV_KERNEL));
  named.name = "no_such_layer";
  g_assert_null (qs_scheme_set_layer_tensor (file, &named));

  /* 0.0's exactness in activations follows the default weight scheme. */
  qs_scheme_set_activations (set, &act);
  g_assert_false (act.nudge_zero);
  g_assert_cmpint (act.range_method, ==, QS_RANGE_MINMAX);
  qs_engine_model_free (model);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/scheme-set/immutable", test_immutable);
  g_test_add_func ("/scheme-set/tensor-scheme", test_tensor_scheme);
  g_test_add_func ("/scheme-set/equal-and-hash", test_equal_and_hash);
  g_test_add_func ("/scheme-set/json-round-trip", test_json_round_trip);
  g_test_add_func ("/scheme-set/resolver", test_resolver);
  return g_test_run ();
}
