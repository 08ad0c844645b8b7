/* keras-fixture.c: Keras model files (model_config and weights of given shapes) written at test time.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <string.h>

#include "keras-fixture.h"
#include "qs-test-hdf5.h"

static char *
group_of (const KerasFixtureWeight *weight)
{
  const char *slash = strchr (weight->name, '/');

  if (weight->group != NULL)
    return g_strdup (weight->group);
  return slash != NULL ? g_strndup (weight->name, (gsize) (slash - weight->name)) : g_strdup (weight->name);
}

/* @weight's values: in [0.5, 2) for a variance, else [-scale, scale) (transfer full). */
static float *
random_values (const KerasFixtureWeight *weight,
               GRand                    *rng,
               hsize_t                  *count_out)
{
  hsize_t count = 1;
  float *v;

  for (int d = 0; d < weight->rank; d++)
    count *= weight->dims[d];
  v = g_new (float, count);
  for (hsize_t k = 0; k < count; k++)
    v[k] = g_str_has_suffix (weight->name, "variance")
      ? (float) g_rand_double_range (rng, 0.5, 2.0)
      : weight->scale > 0.0 ? (float) g_rand_double_range (rng, -weight->scale, weight->scale)
      : (float) g_rand_double_range (rng, -0.5, 0.5);
  *count_out = count;
  return v;
}

char *
keras_fixture_write (const char               *dir,
                     const char               *file_name,
                     const char               *config,
                     const KerasFixtureWeight *weights,
                     gsize                     n_weights,
                     gboolean                  suffix,
                     GRand                    *rng,
                     GHashTable               *values)
{
  char *path = g_build_filename (dir, file_name, NULL);
  hid_t file = H5Fcreate (path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  const char *version[] = { "2.11.0" };
  const char *backend[] = { "tensorflow" };
  const char *root = config != NULL ? "/model_weights" : "";
  g_autoptr(GPtrArray) groups = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GHashTable) names_of = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                                           (GDestroyNotify) g_ptr_array_unref);

  g_assert_cmpint (file, >=, 0);
  if (config != NULL)
    {
      qs_test_write_string_attr (file, "/", "model_config", &config, -1, TRUE);
      qs_test_write_string_attr (file, "/", "keras_version", version, -1, TRUE);
      qs_test_write_string_attr (file, "/", "backend", backend, -1, TRUE);
      qs_test_make_group (file, "/model_weights");
    }
  for (gsize i = 0; i < n_weights; i++)
    {
      g_autofree char *group = group_of (&weights[i]);
      g_autofree char *dataset = g_strdup_printf ("%s/%s/%s%s", root, group, weights[i].name, suffix ? ":0" : "");
      GPtrArray *names = g_hash_table_lookup (names_of, group);
      hsize_t count;
      float *v;

      if (names == NULL)
        {
          char *owned = g_strdup (group);

          g_ptr_array_add (groups, owned);
          names = g_ptr_array_new_with_free_func (g_free);
          g_hash_table_insert (names_of, owned, names);
        }
      g_ptr_array_add (names, g_strdup_printf ("%s%s", weights[i].name, suffix ? ":0" : ""));
      v = random_values (&weights[i], rng, &count);
      qs_test_write_floats (file, dataset, weights[i].rank, weights[i].dims, v);
      if (values != NULL)
        g_hash_table_insert (values, g_strdup (weights[i].name), v);
      else
        g_free (v);
    }
  if (groups->len > 0)
    qs_test_write_string_attr (file, config != NULL ? "/model_weights" : "/", "layer_names",
                               (const char *const *) groups->pdata, (int) groups->len, TRUE);
  for (guint g = 0; g < groups->len; g++)
    {
      const char *group = g_ptr_array_index (groups, g);
      GPtrArray *names = g_hash_table_lookup (names_of, group);
      g_autofree char *group_path = g_strdup_printf ("%s/%s", root, group);

      qs_test_write_string_attr (file, group_path, "weight_names", (const char *const *) names->pdata,
                                 (int) names->len, TRUE);
    }
  g_assert_cmpint (H5Fclose (file), >=, 0);
  return path;
}

char *
keras_fixture_write_keras3 (const char               *dir,
                            const char               *base_name,
                            const char               *config,
                            const KerasFixtureWeight *weights,
                            gsize                     n_weights,
                            GRand                    *rng)
{
  g_autofree char *weights_name = g_strconcat (base_name, ".weights.h5", NULL);
  g_autofree char *config_name = g_strconcat (base_name, ".config.json", NULL);
  g_autofree char *config_path = g_build_filename (dir, config_name, NULL);
  char *path = g_build_filename (dir, weights_name, NULL);
  hid_t file = H5Fcreate (path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (file, >=, 0);
  for (gsize i = 0; i < n_weights; i++)
    {
      g_auto(GStrv) parts = g_strsplit (weights[i].stored + 1, "/", -1);
      g_autoptr(GString) group = g_string_new (NULL);
      g_autofree float *v = NULL;
      hsize_t count;

      /* the groups above the dataset, each once */
      for (guint p = 0; parts[p] != NULL && parts[p + 1] != NULL; p++)
        {
          g_string_append_printf (group, "/%s", parts[p]);
          if (H5Lexists (file, group->str, H5P_DEFAULT) <= 0)
            qs_test_make_group (file, group->str);
        }
      v = random_values (&weights[i], rng, &count);
      qs_test_write_floats (file, weights[i].stored, weights[i].rank, weights[i].dims, v);
    }
  g_assert_cmpint (H5Fclose (file), >=, 0);
  g_file_set_contents (config_path, config, -1, &error);
  g_assert_no_error (error);
  return path;
}
