/* qs-dataset.h: labeled image sets for accuracy: idx (gzip) and HDF5 x/y files.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The formats are described in docs/dataset-format.md.
 */
#pragma once

#include <glib.h>

#include "engine/qs-engine.h"

G_BEGIN_DECLS

/* Images already preprocessed to the model's input values (float32 NHWC)
 * and their labels; immutable once loaded, shared by reference between
 * the GUI's worker threads. */
typedef struct _QsDataset QsDataset;

/* Loads @path: an HDF5 file (x, y, optional preprocess attributes) or an
 * idx images file (".gz" or plain; the labels are the file named like it
 * with "images-idx3" replaced by "labels-idx1", optional). idx pixels are
 * scaled by 1/255. Errors in QS_ERROR: NOT_FOUND, READ, INVALID (a file
 * that is neither or is malformed). */
QsDataset *qs_dataset_load (const char  *path,
                            GError     **error);

/* idx image and (optional, NULL) label files with value = (pixel - mean) * scale. */
QsDataset *qs_dataset_load_idx (const char  *images_path,
                                const char  *labels_path,
                                double       scale,
                                double       mean,
                                GError     **error);

QsDataset *qs_dataset_load_hdf5 (const char  *path,
                                 GError     **error);

/* The order of an HDF5 set's "x" axes as stored. */
typedef enum {
  QS_DATASET_LAYOUT_NHWC,   /* N x H x W (x C): the engine's order; idx files and folders too */
  QS_DATASET_LAYOUT_NCHW,   /* N x C x H x W (PyTorch's), transposed to NHWC as it is read */
} QsDatasetLayout;

/* qs_dataset_load() for a model taking @height x @width x @channels
 * images: when @channels_first (the model's file gives its input as (C, H,
 * W)) an HDF5 "x" of N x C x H x W is read transposed if it fits that order
 * and not N x H x W x C; if it fits both (C == H == W, say), the model's
 * own order, NCHW, is taken (qs_dataset_get_layout_ambiguous()). Any other
 * "x" loads as qs_dataset_load() loads it. docs/dataset-format.md states
 * the rule. */
QsDataset *qs_dataset_load_for_input (const char  *path,
                                      int          height,
                                      int          width,
                                      int          channels,
                                      gboolean     channels_first,
                                      GError     **error);
/* How the set's images were stored (NHWC for every set but an HDF5 "x"
 * read as NCHW), and whether both orders fitted the model's input. */
QsDatasetLayout qs_dataset_get_layout           (QsDataset *dataset);
gboolean        qs_dataset_get_layout_ambiguous (QsDataset *dataset);
const char     *qs_dataset_layout_to_string     (QsDatasetLayout layout);

/* The bundled Fashion-MNIST test set (10,000 images) and calibration slice
 * (the first 1,000 training images), looked up in the installed data
 * directory first, then in the source tree. */
QsDataset *qs_dataset_load_bundled_test        (GError **error);
QsDataset *qs_dataset_load_bundled_calibration (GError **error);
/* The path of a bundled data file (transfer full), or NULL. */
char      *qs_dataset_find_bundled (const char *name);

/* A set over @images (@count x @height x @width x @channels model inputs)
 * and @labels (@count class indices, or NULL), both taken (g_free).
 * @images NULL makes a streamed set: its view has no images, and a
 * decoder (qs_dataset_set_decoder()) must supply them through
 * qs_dataset_read_range(). */
QsDataset *qs_dataset_new_take (float       *images,
                                int32_t     *labels,
                                gsize        count,
                                int          height,
                                int          width,
                                int          channels,
                                const char  *source);

/* Decodes images [@first, @first + @count) into @out: image @first at
 * @out, the next after it; FALSE with @error when one cannot be. Called
 * from any thread: it must keep no state of its own per image. */
typedef gboolean (*QsDatasetDecodeFunc) (gpointer   user_data,
                                         float     *out,
                                         gsize      first,
                                         gsize      count,
                                         GError   **error);

/* Makes @dataset's images decoded on demand by @decode (user data freed
 * with @destroy with the set): until qs_dataset_decode_range() has
 * covered an image, it reads as zeros. */
void       qs_dataset_set_decoder (QsDataset           *dataset,
                                   QsDatasetDecodeFunc  decode,
                                   gpointer             user_data,
                                   GDestroyNotify       destroy);
/* Decodes the images of [@first, @first + @count) a decoder defers (TRUE
 * at once for a set loaded whole), each once. Not thread-safe: call it
 * before the set is shared. A streamed set (made without an image array)
 * has no images to decode in place: use qs_dataset_read_range(). */
gboolean   qs_dataset_decode_range (QsDataset  *dataset,
                                    gsize       first,
                                    gsize       count,
                                    GError    **error);
/* Copies images [@first, @first + @count) into @out (@count images of
 * the set's shape, owned by the caller): from the set's own array where
 * they are there, else decoded afresh and not kept, so a caller streaming
 * a large folder holds only its window. Thread-safe once the set is
 * shared (it never writes to the set). */
gboolean   qs_dataset_read_range   (QsDataset  *dataset,
                                    gsize       first,
                                    gsize       count,
                                    float      *out,
                                    GError    **error);
/* Whether the set has no image array (qs_dataset_read_range() alone reads it). */
gboolean   qs_dataset_is_streamed  (QsDataset  *dataset);
/* The set's labels (transfer none; @count entries), or NULL for a set without. */
const int32_t *qs_dataset_get_labels (QsDataset *dataset);

QsDataset *qs_dataset_ref   (QsDataset *dataset);
void       qs_dataset_unref (QsDataset *dataset);

/* The engine's view (transfer none; valid while @dataset lives). */
const QsEngineDataset *qs_dataset_get_view        (QsDataset *dataset);
gsize                  qs_dataset_get_count       (QsDataset *dataset);
gboolean               qs_dataset_has_labels      (QsDataset *dataset);
/* Whether every label is a class index in [0, @n_classes) (TRUE for a set
 * without labels); FALSE with QS_ERROR_INVALID naming the first bad one. */
gboolean               qs_dataset_check_model     (QsDataset           *dataset,
                                                   const QsEngineModel *model,
                                                   gboolean             labeled,
                                                   GError             **error);
gboolean               qs_dataset_check_labels    (QsDataset  *dataset,
                                                   gsize       n_classes,
                                                   GError    **error);
/* Where the images came from (transfer none). */
const char            *qs_dataset_get_source      (QsDataset *dataset);

/* How many images calibrate when the user names none: the first this many
 * of a calibration file, or of a user's set without one its last tenth (at
 * most this many) so no scored image calibrates. `eval`, the app's accuracy,
 * sensitivity and mixed precision all split this way, so they agree. */
#define QS_DATASET_DEFAULT_CALIBRATION_IMAGES 1000
gsize                  qs_dataset_calibration_tail (gsize total);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QsDataset, qs_dataset_unref)

G_END_DECLS
