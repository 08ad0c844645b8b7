/* qs-checked.h: overflow-checked arithmetic for every size computed from a file.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A file chooses its dimensions, strides and counts: a product that wraps
 * or a value truncated to int sizes a buffer smaller than what is then
 * written into it. Every such computation goes through these helpers,
 * which say false instead of wrapping; the caller turns that into an error
 * naming the layer or data set. Plain C11 with the GCC/Clang overflow
 * builtins, so src/quant, src/engine and src/model can all use it.
 */
#pragma once

#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* *@out = @a * @b; false (and *@out unspecified) on overflow. */
static inline bool
qs_checked_mul_size (size_t  a,
                     size_t  b,
                     size_t *out)
{
  return !__builtin_mul_overflow (a, b, out);
}

static inline bool
qs_checked_add_size (size_t  a,
                     size_t  b,
                     size_t *out)
{
  return !__builtin_add_overflow (a, b, out);
}

static inline bool
qs_checked_mul_i64 (int64_t  a,
                    int64_t  b,
                    int64_t *out)
{
  return !__builtin_mul_overflow (a, b, out);
}

static inline bool
qs_checked_add_i64 (int64_t  a,
                    int64_t  b,
                    int64_t *out)
{
  return !__builtin_add_overflow (a, b, out);
}

static inline bool
qs_checked_mul_int (int  a,
                    int  b,
                    int *out)
{
  return !__builtin_mul_overflow (a, b, out);
}

/* *@out = @a * @b * @c (for example a feature map's h * w * c). */
static inline bool
qs_checked_mul3_size (size_t  a,
                      size_t  b,
                      size_t  c,
                      size_t *out)
{
  size_t ab;

  return qs_checked_mul_size (a, b, &ab) && qs_checked_mul_size (ab, c, out);
}

/* The product of @n dimensions (1 for none); false when one is negative
 * or the product does not fit a size_t. */
static inline bool
qs_checked_product (const int64_t *dims,
                    size_t         n,
                    size_t        *out)
{
  size_t product = 1;

  for (size_t i = 0; i < n; i++)
    if (dims[i] < 0 || (uint64_t) dims[i] > SIZE_MAX
        || !qs_checked_mul_size (product, (size_t) dims[i], &product))
      return false;
  *out = product;
  return true;
}

/* Whether @v fits an int: a dimension of 2^32 + 1 must not become 1. */
static inline bool
qs_checked_i64_to_int (int64_t  v,
                       int     *out)
{
  if (v < INT_MIN || v > INT_MAX)
    return false;
  *out = (int) v;
  return true;
}

static inline bool
qs_checked_u64_to_int (uint64_t  v,
                       int      *out)
{
  if (v > INT_MAX)
    return false;
  *out = (int) v;
  return true;
}

/* A double that is an integer fitting an int (3.0 yes; 3.5, 2^32 + 3,
 * NaN and infinities no). Converting any of those with a cast is
 * undefined or silently wrong. */
static inline bool
qs_checked_double_to_int (double  v,
                          int    *out)
{
  if (!(v >= (double) INT_MIN && v <= (double) INT_MAX) || v != floor (v))
    return false;
  *out = (int) v;
  return true;
}

#ifdef __cplusplus
}
#endif
