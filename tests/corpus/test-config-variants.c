/* test-config-variants.c: the Keras Applications models with their model_config spelled as other Keras versions write it evaluate exactly as the originals.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * tests/reference/make_config_variants.py rewrites each reduced model of
 * tests/data/keras-apps/ (the same weights) with Keras 3's batch_shape,
 * DTypePolicy objects for dtype, Keras 3's call objects for Keras 2's
 * inbound_nodes lists, and all three. `eval --json` on a variant must
 * print what it prints for the original, timings and the file name
 * aside: the same layers, schemes, SQNRs, scales and accuracies.
 */
#include <string.h>

#include <glib.h>
#include <json-glib/json-glib.h>

#include "qs-test-cli.h"

static const char * const models[] = { "mobilenet_small", "efficientnet_small", "nasnet_small", "convnext_small",
                                        "inception_resnet_v2_small", "regnety_small" };
static const char * const variants[] = { "batch_shape", "policy", "k3nodes", "all" };

/* @node without what differs between runs of one model: timings and the
 * model's file name. */
static void
drop_run_members (JsonNode *node)
{
  if (JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObject *object = json_node_get_object (node);
      g_autoptr(GList) names = json_object_get_members (object);

      for (GList *l = names; l != NULL; l = l->next)
        {
          const char *name = l->data;

          if (g_str_equal (name, "model") || g_str_has_suffix (name, "seconds") || g_str_has_suffix (name, "_second"))
            json_object_remove_member (object, name);
          else
            drop_run_members (json_object_get_member (object, name));
        }
    }
  else if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *array = json_node_get_array (node);

      for (guint i = 0; i < json_array_get_length (array); i++)
        drop_run_members (json_array_get_element (array, i));
    }
}

static JsonNode *
eval_json (const char *model,
           const char *images)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  g_autoptr(QsTestCliRun) run = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonNode *root;

  g_ptr_array_add (args, (gpointer) "eval");
  g_ptr_array_add (args, (gpointer) "--json");
  g_ptr_array_add (args, (gpointer) "--threads");
  g_ptr_array_add (args, (gpointer) "1");
  g_ptr_array_add (args, (gpointer) "--calib");
  g_ptr_array_add (args, (gpointer) "8");
  g_ptr_array_add (args, (gpointer) "--data");
  g_ptr_array_add (args, (gpointer) images);
  g_ptr_array_add (args, (gpointer) model);
  run = qs_test_cli_run_args (g_getenv ("QS_CLI"), args);
  if (run->status != 0)
    g_test_message ("%s: %s", model, run->err);
  g_assert_cmpint (run->status, ==, 0);
  json_parser_load_from_data (parser, run->out, -1, &error);
  g_assert_no_error (error);
  root = json_parser_steal_root (parser);
  drop_run_members (root);
  return root;
}

static void
test_variants (gconstpointer data)
{
  const char *model = data;
  const char *apps = g_getenv ("QS_KERAS_APPS");
  g_autofree char *original = g_strdup_printf ("%s/%s.h5", apps, model);
  g_autofree char *images = g_strdup_printf ("%s/%s-images.h5", apps, model);
  g_autoptr(JsonNode) expected = eval_json (original, images);

  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (json_node_get_object (expected), "layers")), >, 0);
  for (gsize i = 0; i < G_N_ELEMENTS (variants); i++)
    {
      g_autofree char *variant = g_strdup_printf ("%s/%s-%s.h5", g_getenv ("QS_VARIANTS_DIR"), model, variants[i]);
      g_autoptr(JsonNode) got = eval_json (variant, images);

      g_test_message ("%s", variant);
      g_assert_true (json_node_equal (expected, got));
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  if (g_getenv ("QS_VARIANTS_DIR") == NULL)
    {
      g_test_skip ("no h5py to write the variants");
      return g_test_run ();
    }
  for (gsize i = 0; i < G_N_ELEMENTS (models); i++)
    {
      g_autofree char *path = g_strdup_printf ("/config-variants/%s", models[i]);

      g_test_add_data_func (path, models[i], test_variants);
    }
  return g_test_run ();
}
