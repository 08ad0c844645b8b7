/* qs-types.h: status codes and tensor views shared by the numeric core.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The numeric core (src/quant, src/engine) is plain C11: no GLib, no GTK,
 * no HDF5. Failures are reported as QsStatus values; buffers belong to the
 * caller unless a function says otherwise.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  QS_OK = 0,
  QS_STATUS_INVALID_ARGUMENT,  /* a scheme or view field is out of range */
  QS_STATUS_EMPTY,             /* the tensor has no elements */
  QS_STATUS_NO_FINITE_VALUES,  /* every element is NaN or infinite */
  QS_STATUS_NO_MEMORY,
  QS_STATUS_BAD_RANGE,         /* a manual range with lo >= hi, or non-finite bounds */
  QS_STATUS_CANCELLED,         /* the caller's cancel flag was raised */
} QsStatus;

/* A short English description of @status, for log lines and tests. */
const char *qs_status_to_string (QsStatus status);

#define QS_MAX_RANK 16

/* How the elements of a dense row-major tensor group into channels.
 *
 * count == outer * channels * inner, and element i belongs to channel
 * (i / inner) % channels. Per-tensor quantization is channels == 1,
 * outer == 1, inner == count. Keras kernels quantized along their last
 * axis have inner == 1.
 */
typedef struct {
  size_t count;
  size_t outer;
  size_t channels;
  size_t inner;
} QsChannelLayout;

/* Fills @layout for a tensor of @rank dimensions @shape split along @axis;
 * @axis < 0 counts from the end (-1 is the last axis). Returns
 * QS_STATUS_INVALID_ARGUMENT when @axis is out of range or the element count
 * overflows size_t. A rank-0 tensor (scalar) has one element and, with any
 * axis, one channel. */
QsStatus qs_channel_layout_for_axis (const int64_t   *shape,
                                     int              rank,
                                     int              axis,
                                     QsChannelLayout *layout);

/* The per-tensor layout of @count elements. */
QsChannelLayout qs_channel_layout_per_tensor (size_t count);

#ifdef __cplusplus
}
#endif
