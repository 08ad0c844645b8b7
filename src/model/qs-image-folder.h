/* qs-image-folder.h: a folder of PNG/JPEG images (one subfolder per class, or none) as a data set for a model.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The layout of Keras' image_dataset_from_directory and torchvision's
 * ImageFolder; described in docs/dataset-format.md.
 */
#pragma once

#include <glib.h>

#include "model/qs-dataset.h"

G_BEGIN_DECLS

/* How pixel values (0..255, RGB order) become model inputs: the Keras
 * Applications conventions (keras.applications.imagenet_utils). */
typedef enum {
  QS_PREPROCESS_AUTO,   /* none when the model has Rescaling/Normalization layers, else unit */
  QS_PREPROCESS_UNIT,   /* x / 255 (what idx sets get, and the demo model) */
  QS_PREPROCESS_TF,     /* x / 127.5 - 1 */
  QS_PREPROCESS_TORCH,  /* x / 255, then (x - ImageNet mean) / ImageNet std per channel */
  QS_PREPROCESS_CAFFE,  /* RGB -> BGR, then x - ImageNet mean (BGR: 103.939, 116.779, 123.68) */
  QS_PREPROCESS_NONE,   /* x as it is: the model preprocesses itself */
} QsPreprocess;

/* "auto", "unit", "tf", "torch", "caffe", "none". */
gboolean    qs_preprocess_parse     (const char   *text,
                                     QsPreprocess *preprocess);
const char *qs_preprocess_to_string (QsPreprocess  preprocess);

/* What AUTO means for a model: NONE when @model_config (nullable) has a
 * Rescaling or Normalization layer, which then does the work, else UNIT. */
QsPreprocess qs_preprocess_resolve  (QsPreprocess  preprocess,
                                     const char   *model_config);

/* The largest image decoded, in pixels: past this a PNG or JPEG header is
 * damage or a decompression bomb. */
#define QS_IMAGE_FOLDER_MAX_PIXELS (G_GUINT64_CONSTANT (1) << 26)

/* Loads @folder for a model taking @height x @width x @channels (1: gray,
 * 3: RGB) inputs. Class subfolders sorted by name give labels 0, 1, ...;
 * a folder without subfolders gives an unlabeled set. In each folder the
 * .png, .jpg and .jpeg files (case-insensitive, hidden files skipped) in
 * name order. Each image is decoded (gdk-pixbuf; alpha dropped; gray as
 * PIL's "L": (19595 R + 38470 G + 7471 B + 32768) >> 16), resized so its
 * shorter side fits the input (bilinear, half-pixel centres, no
 * antialiasing: tf.image.resize's "bilinear"), centre-cropped, and
 * preprocessed (@preprocess must be resolved, not AUTO).
 *
 * The images must fit in @memory_budget bytes as float32 (0: the default
 * budget), and so must decoding any one of them. Errors in QS_ERROR: NOT_FOUND, INVALID (no images; unreadable
 * images, named on one line), TOO_LARGE. */
QsDataset *qs_dataset_load_image_folder (const char    *folder,
                                         int            height,
                                         int            width,
                                         int            channels,
                                         QsPreprocess   preprocess,
                                         guint64        memory_budget,
                                         GError       **error);

/* The same set with no image decoded yet: qs_dataset_decode_range()
 * decodes the ones a run uses (a folder of 100,000 images scored on the
 * first 100 decodes 100). Labels, count and the memory budget's checks
 * are those of qs_dataset_load_image_folder(). */
QsDataset *qs_dataset_open_image_folder (const char    *folder,
                                         int            height,
                                         int            width,
                                         int            channels,
                                         QsPreprocess   preprocess,
                                         guint64        memory_budget,
                                         GError       **error);

/* The same set with no image array at all: qs_dataset_read_range()
 * decodes images into the caller's buffers and keeps none, so the folder
 * may hold more images than @memory_budget (which still bounds decoding
 * any one of them). For the app, which streams a large folder through
 * windows of a size it chooses. */
QsDataset *qs_dataset_open_image_folder_streamed (const char    *folder,
                                                  int            height,
                                                  int            width,
                                                  int            channels,
                                                  QsPreprocess   preprocess,
                                                  guint64        memory_budget,
                                                  GError       **error);

/* @path as data for such a model: a folder through
 * qs_dataset_load_image_folder(), anything else through qs_dataset_load(). */
QsDataset *qs_dataset_load_for_model (const char    *path,
                                      int            height,
                                      int            width,
                                      int            channels,
                                      QsPreprocess   preprocess,
                                      guint64        memory_budget,
                                      GError       **error);

/* The class names of a labeled folder, in label order (transfer full;
 * NULL for an unlabeled one or another kind of set). */
char     **qs_image_folder_list_classes (const char *folder);

/* Bilinear resize of one 8-bit image (@src_h x @src_w x @src_c, rows of
 * @stride bytes) so its shorter side fits @height x @width, then the
 * centre crop, into @out (@height x @width x @src_c floats, 0..255).
 * Exposed for tests. */
void       qs_image_resize_crop (const guint8 *src,
                                 int           src_h,
                                 int           src_w,
                                 int           src_c,
                                 gsize         stride,
                                 int           height,
                                 int           width,
                                 float        *out);

G_END_DECLS
