/* qs-keras3.h: Keras 3 files: the .keras archive and naming the variables of a .weights.h5 tree.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Keras 3 (keras/src/saving/saving_lib.py) stores variables by position,
 * not by name: layer number n of a model's `layers` list lives in the
 * group "layers/<snake_case of its class>[_k]" (k counting earlier layers
 * of the same class in that list), its variables in "vars/0", "vars/1", ...
 * in creation order (trainable, then non-trainable); nested models repeat
 * the pattern below their own group. tf.keras 2.13 wrote the same tree
 * under "_layer_checkpoint_dependencies". Only the model's config.json
 * says which layer and which variable each dataset is; these functions
 * read it. Private to model/.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* One layer's group in the weights tree. */
typedef struct {
  char      *layer;       /* the Keras layer name */
  char      *display;     /* "/conv1", or "/outer/inner" inside a nested model */
  char      *class_name;
  GPtrArray *weights;     /* "kernel", "bias", ... in vars/<i> order; NULL when the class is unknown */
  guint      order;       /* the layer's position in a depth-first walk of the config */
} QsKeras3Layer;

/* Group path ("/layers/conv2d_1", "/_layer_checkpoint_dependencies/conv2d_1")
 * -> QsKeras3Layer, from @config (config.json's text); NULL when it is not a
 * Keras model config (transfer full). */
GHashTable *_qs_keras3_layers_from_config (const char *config);

/* Keras 3's naming.to_snake_case ("Conv2D" -> "conv2d", "ReLU" -> "re_lu");
 * with @keras2, tf.keras's generic_utils.to_snake_case (transfer full). */
char       *_qs_keras3_snake_case (const char *class_name,
                                   gboolean    keras2);

/* Reads a .keras archive: its config.json text and the bytes of
 * model.weights.h5. Errors: those of qs-zip-archive.h, QS_ERROR_INVALID
 * for an archive without config.json or model.weights.h5 (npz weights
 * are named as such). */
gboolean    _qs_keras3_read_archive (const char  *path,
                                     char       **config,
                                     GBytes     **weights,
                                     GError     **error);

/* Where the config.json of a Keras 3 "NAME.weights.h5" may be:
 * "NAME.config.json" and "config.json" beside it (both transfer full);
 * FALSE, both NULL, when @weights_path does not end in ".weights.h5". */
gboolean    _qs_keras3_config_candidates (const char *weights_path,
                                          char       *candidates[2]);

/* The config.json of a Keras 3 "NAME.weights.h5": "NAME.config.json" or
 * "config.json" beside it when it is a Keras model config, or NULL
 * (transfer full). */
char       *_qs_keras3_find_config (const char *weights_path);

G_END_DECLS
