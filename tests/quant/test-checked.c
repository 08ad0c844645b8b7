/* test-checked.c: the overflow-checked size arithmetic refuses exactly what does not fit.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The edges are derived by hand: SIZE_MAX = 2^64 - 1 on the 64-bit targets
 * we build for, INT_MAX = 2^31 - 1.
 */
#include <glib.h>

#include "quant/qs-checked.h"

static void
test_mul_size (void)
{
  size_t out = 0;

  g_assert_true (qs_checked_mul_size (0, SIZE_MAX, &out));
  g_assert_cmpuint (out, ==, 0);
  g_assert_true (qs_checked_mul_size ((size_t) 1 << 32, ((size_t) 1 << 32) - 1, &out));
  g_assert_cmpuint (out, ==, ((size_t) 1 << 63) + ((size_t) 1 << 63) - ((size_t) 1 << 32));
  /* 2^32 * 2^32 = 2^64 wraps to 0 in plain arithmetic. */
  g_assert_false (qs_checked_mul_size ((size_t) 1 << 32, (size_t) 1 << 32, &out));
  g_assert_false (qs_checked_mul_size (SIZE_MAX / 3 + 1, 3, &out));
  g_assert_true (qs_checked_mul_size (SIZE_MAX / 3, 3, &out));
  g_assert_cmpuint (out, ==, SIZE_MAX);
}

static void
test_add_size (void)
{
  size_t out = 0;

  g_assert_true (qs_checked_add_size (SIZE_MAX - 5, 5, &out));
  g_assert_cmpuint (out, ==, SIZE_MAX);
  g_assert_false (qs_checked_add_size (SIZE_MAX - 5, 6, &out));
}

static void
test_mul3 (void)
{
  size_t out = 0;

  g_assert_true (qs_checked_mul3_size (28, 28, 1, &out));
  g_assert_cmpuint (out, ==, 784);
  /* 2^24 cubed is 2^72: each factor is a legal input dimension. */
  g_assert_false (qs_checked_mul3_size (1u << 24, 1u << 24, 1u << 24, &out));
  g_assert_true (qs_checked_mul3_size (1u << 24, 1u << 24, 1u << 15, &out));
  g_assert_cmpuint (out, ==, (size_t) 1 << 63);
}

static void
test_i64 (void)
{
  int64_t out = 0;

  g_assert_true (qs_checked_mul_i64 (-3, INT64_MAX / 3, &out));
  g_assert_cmpint (out, ==, -(INT64_MAX / 3) * 3);
  g_assert_false (qs_checked_mul_i64 (INT64_MAX / 2 + 1, 2, &out));
  g_assert_false (qs_checked_add_i64 (INT64_MAX, 1, &out));
  g_assert_true (qs_checked_add_i64 (INT64_MIN, INT64_MAX, &out));
  g_assert_cmpint (out, ==, -1);
}

static void
test_mul_int (void)
{
  int out = 0;

  /* 46341^2 = 2147488281 > 2^31 - 1; 46340^2 = 2147395600 fits. */
  g_assert_false (qs_checked_mul_int (46341, 46341, &out));
  g_assert_true (qs_checked_mul_int (46340, 46340, &out));
  g_assert_cmpint (out, ==, 2147395600);
  g_assert_false (qs_checked_mul_int (INT_MIN, -1, &out));
}

static void
test_product (void)
{
  const int64_t ok[] = { 3, 3, 64, 128 };
  const int64_t wraps[] = { (int64_t) 1 << 32, (int64_t) 1 << 32, 2 };
  const int64_t negative[] = { 4, -1 };
  size_t out = 0;

  g_assert_true (qs_checked_product (ok, 4, &out));
  g_assert_cmpuint (out, ==, 73728);
  g_assert_true (qs_checked_product (ok, 0, &out));
  g_assert_cmpuint (out, ==, 1);
  g_assert_false (qs_checked_product (wraps, 3, &out));
  g_assert_false (qs_checked_product (negative, 2, &out));
}

static void
test_to_int (void)
{
  int out = 0;

  g_assert_true (qs_checked_i64_to_int (INT_MAX, &out));
  g_assert_cmpint (out, ==, INT_MAX);
  g_assert_true (qs_checked_i64_to_int (INT_MIN, &out));
  /* 2^32 + 1 would truncate to 1. */
  g_assert_false (qs_checked_i64_to_int (((int64_t) 1 << 32) + 1, &out));
  g_assert_false (qs_checked_i64_to_int ((int64_t) INT_MAX + 1, &out));
  g_assert_false (qs_checked_i64_to_int ((int64_t) INT_MIN - 1, &out));
  g_assert_true (qs_checked_u64_to_int (7, &out));
  g_assert_cmpint (out, ==, 7);
  g_assert_false (qs_checked_u64_to_int (((uint64_t) 1 << 32) + 3, &out));
}

static void
test_double_to_int (void)
{
  int out = 0;

  g_assert_true (qs_checked_double_to_int (3.0, &out));
  g_assert_cmpint (out, ==, 3);
  g_assert_true (qs_checked_double_to_int (-2147483648.0, &out));
  g_assert_cmpint (out, ==, INT_MIN);
  g_assert_true (qs_checked_double_to_int (2147483647.0, &out));
  g_assert_false (qs_checked_double_to_int (2147483648.0, &out));
  g_assert_false (qs_checked_double_to_int (4294967299.0, &out));
  g_assert_false (qs_checked_double_to_int (3.5, &out));
  g_assert_false (qs_checked_double_to_int (NAN, &out));
  g_assert_false (qs_checked_double_to_int (INFINITY, &out));
  g_assert_false (qs_checked_double_to_int (-INFINITY, &out));
  g_assert_false (qs_checked_double_to_int (1e300, &out));
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/checked/mul-size", test_mul_size);
  g_test_add_func ("/checked/add-size", test_add_size);
  g_test_add_func ("/checked/mul3", test_mul3);
  g_test_add_func ("/checked/i64", test_i64);
  g_test_add_func ("/checked/mul-int", test_mul_int);
  g_test_add_func ("/checked/product", test_product);
  g_test_add_func ("/checked/to-int", test_to_int);
  g_test_add_func ("/checked/double-to-int", test_double_to_int);
  return g_test_run ();
}
