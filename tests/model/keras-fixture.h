/* keras-fixture.h: Keras model files (model_config and weights of given shapes) written at test time.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>
#include <hdf5.h>

G_BEGIN_DECLS

/* One weight as Keras names it ("conv/kernel"), stored in the group of
 * top-level layer @group (NULL: the name's first part), as Keras 2's h5
 * stores a nested model's weights under the outer model's layer. */
typedef struct {
  const char *group;
  const char *name;
  int         rank;
  hsize_t     dims[4];
  double      scale;   /* values in [-scale, scale) instead of [-0.5, 0.5); 0: the default */
  const char *stored;  /* Keras 3: the dataset in NAME.weights.h5 ("/layers/conv2d/vars/0"), @name
                          then being the variable's ("moving_variance") */
} KerasFixtureWeight;

/* Writes @dir/@file_name as Keras 2's model.save() does: the model_config
 * attribute (none when @config is NULL: then a save_weights() file with
 * layer_names at the root), layer_names, weight_names, and each weight at
 * <root>/<group>/<name> with ":0" when @suffix. Values are random from
 * @rng: in [0.5, 2) for variances, else [-0.5, 0.5). @values, when not
 * NULL, receives name -> float array (owned by the table). Returns the path. */
char *keras_fixture_write (const char               *dir,
                           const char               *file_name,
                           const char               *config,
                           const KerasFixtureWeight *weights,
                           gsize                     n_weights,
                           gboolean                  suffix,
                           GRand                    *rng,
                           GHashTable               *values);

/* Writes Keras 3's save_weights() pair: @dir/@base_name.weights.h5 with
 * each weight at its @stored path, and @config beside it as
 * @base_name.config.json. Values as keras_fixture_write's. Returns the
 * path of the weights file. */
char *keras_fixture_write_keras3 (const char               *dir,
                                  const char               *base_name,
                                  const char               *config,
                                  const KerasFixtureWeight *weights,
                                  gsize                     n_weights,
                                  GRand                    *rng);

G_END_DECLS
