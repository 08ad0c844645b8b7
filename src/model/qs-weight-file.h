/* qs-weight-file.h: a lazily read HDF5 file of layer weights (Keras or any layout).
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib-object.h>
#include "quant/qs-types.h"

G_BEGIN_DECLS

typedef enum {
  QS_FILE_LAYOUT_GENERIC,        /* any HDF5 tree */
  QS_FILE_LAYOUT_KERAS_MODEL,    /* Keras 2 model.save(): model_config + model_weights/ */
  QS_FILE_LAYOUT_KERAS_WEIGHTS,  /* Keras 2/3 legacy save_weights(): layer_names at the root */
  QS_FILE_LAYOUT_KERAS3_WEIGHTS, /* Keras 3 .weights.h5: layers/<name>/vars/<i> */
  QS_FILE_LAYOUT_KERAS3_MODEL,   /* Keras 3 .keras: a zip of config.json and model.weights.h5 */
} QsFileLayout;

typedef enum {
  QS_TENSOR_ROLE_KERNEL,
  QS_TENSOR_ROLE_DEPTHWISE_KERNEL,
  QS_TENSOR_ROLE_BIAS,
  QS_TENSOR_ROLE_BATCHNORM,      /* gamma, beta, moving mean and variance */
  QS_TENSOR_ROLE_OTHER,
} QsTensorRole;

#define QS_TYPE_TENSOR_INFO (qs_tensor_info_get_type ())

/* What the file says about one dataset; no values. */
typedef struct {
  char     *path;          /* absolute HDF5 path, "/model_weights/conv1/conv1/kernel:0" */
  char     *layer;         /* the Keras layer name, else the parent group's name */
  QsTensorRole role;
  int       rank;
  int64_t   shape[QS_MAX_RANK];
  uint64_t  count;         /* product of shape; 1 for a scalar */
  char     *dtype;         /* "float16", "float32", "float64", "int8", ..., "uint64",
                              "string", "compound", "enum", "vlen", "reference",
                              "opaque", "bitfield", "array", "unknown" */
  gboolean  big_endian;
  gboolean  quantizable;   /* a floating-point dataset with at least one element */
  int       channel_axis;  /* the output-channel axis, or -1 when there is none */
  char     *stored_path;   /* where HDF5 keeps it when that differs from path (Keras 3
                              names "/conv1/kernel" what is stored at
                              "/layers/conv2d/vars/0"), else NULL */
} QsTensorInfo;

GType         qs_tensor_info_get_type (void) G_GNUC_CONST;
QsTensorInfo *qs_tensor_info_copy     (const QsTensorInfo *info);
void          qs_tensor_info_free     (QsTensorInfo       *info);
const char   *qs_tensor_role_to_string (QsTensorRole role);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QsTensorInfo, qs_tensor_info_free)

typedef enum {
  QS_WEIGHT_FILE_DEFAULT = 0,
  /* Follow external links whose target is a readable regular file. */
  QS_WEIGHT_FILE_FOLLOW_EXTERNAL_LINKS = 1 << 0,
} QsWeightFileFlags;

#define QS_TYPE_WEIGHT_FILE (qs_weight_file_get_type ())
G_DECLARE_FINAL_TYPE (QsWeightFile, qs_weight_file, QS, WEIGHT_FILE, GObject)

/* Opens @filename and reads its metadata (the tree, shapes, types, Keras
 * attributes); no tensor values. A Keras 3 .keras archive is read too (its
 * model.weights.h5 in memory, config.json as the model_config), and a
 * Keras 3 "NAME.weights.h5" takes its config from "NAME.config.json" or
 * "config.json" beside it. Errors: QS_ERROR_NOT_FOUND, QS_ERROR_NOT_HDF5,
 * and for archives those of qs-zip-archive.h. */
QsWeightFile *qs_weight_file_open (const char  *filename,
                                   GError     **error);

/* The same with @flags (qs_weight_file_open is QS_WEIGHT_FILE_DEFAULT). */
QsWeightFile *qs_weight_file_open_full (const char         *filename,
                                        QsWeightFileFlags   flags,
                                        GError            **error);

/* The same for a whole file's bytes in memory (HDF5's core driver);
 * @name names it in messages. */
QsWeightFile *qs_weight_file_open_image (GBytes             *image,
                                         const char         *name,
                                         QsWeightFileFlags   flags,
                                         GError            **error);

const char   *qs_weight_file_get_filename     (QsWeightFile *self);
QsFileLayout  qs_weight_file_get_layout       (QsWeightFile *self);
/* The Keras model_config JSON text, or NULL (transfer none). */
const char   *qs_weight_file_get_model_config (QsWeightFile *self);
/* The root's "backend" attribute ("tensorflow", "theano"), or NULL (transfer none). */
const char   *qs_weight_file_get_backend      (QsWeightFile *self);

/* Every dataset in the file, in Keras layer order for Keras files and in
 * name order otherwise (transfer none; elements are QsTensorInfo). */
GPtrArray          *qs_weight_file_get_tensors (QsWeightFile *self);
/* The tensor at @path ("/a/b" or "a/b"; its name or where it is stored),
 * or NULL (transfer none). */
const QsTensorInfo *qs_weight_file_lookup      (QsWeightFile *self,
                                                const char   *path);

/* Reads the values of a quantizable tensor, converted to native float32
 * (transfer full, g_free). Errors: QS_ERROR_NOT_QUANTIZABLE, QS_ERROR_EMPTY,
 * QS_ERROR_TOO_LARGE, QS_ERROR_READ. Thread-safe: HDF5 calls are serialised. */
float *qs_weight_file_read_tensor (QsWeightFile        *self,
                                   const QsTensorInfo  *info,
                                   GError             **error);

/* Elements [offset, offset + count) in row-major order, converted to
 * native float32, into @out (a hyperslab read: a tensor larger than memory
 * is read block by block). Errors as read_tensor, QS_ERROR_INVALID for a
 * range past the end. Thread-safe. */
gboolean qs_weight_file_read_block (QsWeightFile        *self,
                                    const QsTensorInfo  *info,
                                    guint64              offset,
                                    gsize                count,
                                    float               *out,
                                    GError             **error);

/* A descriptor of the file holding a contiguous native-float32 tensor,
 * whose values start at *@offset, to map them; -1 when only HDF5 can read
 * them (see the function's documentation). */
int      qs_weight_file_dup_raw_fd      (QsWeightFile       *self,
                                         const QsTensorInfo *info,
                                         guint64            *offset);

/* Bytes of one chunk as float32 (what HDF5 must hold to read any part of
 * it); 0 when not chunked; G_MAXUINT64 when unknown or overflowing. */
guint64  qs_weight_file_get_chunk_bytes (QsWeightFile       *self,
                                         const QsTensorInfo *info);

/* Reads the values of every chunked tensor once (up to @max_bytes, 0 for
 * all), so that damage only a read reveals shows now: FALSE with the
 * first read error. */
gboolean qs_weight_file_check_data      (QsWeightFile       *self,
                                         guint64             max_bytes,
                                         GError            **error);

/* Links that lead nowhere, one line each (transfer none; utf8 strings). */
GPtrArray *qs_weight_file_get_warnings (QsWeightFile *self);

G_END_DECLS
