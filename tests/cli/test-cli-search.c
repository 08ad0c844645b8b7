/* test-cli-search.c: `sensitivity` and `mixed` against `eval --scheme-file` and `compare` on the demo model and a graph block.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "qs-test-cli.h"

static char *cli;
static char *tmp_dir;
static char *model;

/* Few images keep the runs short; 4-bit weights make layers differ. */
#define IMAGES "300"
#define BASE_DEFAULT "{ \"bits\": 4, \"mapping\": \"symmetric\", \"granularity\": \"channel\" }"

static JsonNode *run_json (const char *first, ...) G_GNUC_NULL_TERMINATED;

/* Runs a command that must succeed and print one JSON object. */
static JsonNode *
run_json (const char *first,
          ...)
{
  g_autoptr(QsTestCliRun) run = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  va_list ap;

  va_start (ap, first);
  run = qs_test_cli_run_valist (cli, first, ap);
  va_end (ap);
  if (run->status != 0)
    g_test_message ("stderr: %s", run->err);
  g_assert_cmpint (run->status, ==, 0);
  g_assert_cmpstr (run->err, ==, "");
  json_parser_load_from_data (parser, run->out, -1, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
  return json_parser_steal_root (parser);
}

static void assert_fails (const char *first, ...) G_GNUC_NULL_TERMINATED;

/* Bad input: status 2, nothing on stdout, one line on stderr. */
static void
assert_fails (const char *first,
              ...)
{
  g_autoptr(QsTestCliRun) run = NULL;
  va_list ap;

  va_start (ap, first);
  run = qs_test_cli_run_valist (cli, first, ap);
  va_end (ap);
  g_test_message ("stderr: %s", run->err);
  g_assert_cmpint (run->status, ==, 2);
  g_assert_cmpstr (run->out, ==, "");
  g_assert_true (g_str_has_prefix (run->err, "quantscope-cli: "));
  g_assert_cmpstr (strchr (run->err, '\n'), ==, "\n");
}

/* A scheme file with the base default and the default skip list plus @extra. */
static char *
write_scheme_file (const char  *name,
                   GPtrArray   *extra)
{
  g_autofree char *path = g_build_filename (tmp_dir, name, NULL);
  g_autoptr(GString) text = g_string_new ("{ \"version\": 1, \"default\": " BASE_DEFAULT ",\n"
                                          "  \"skip\": [\"role:bias\", \"role:batchnorm\"");
  g_autoptr(GError) error = NULL;

  for (guint i = 0; extra != NULL && i < extra->len; i++)
    g_string_append_printf (text, ", \"%s\"", (const char *) g_ptr_array_index (extra, i));
  g_string_append (text, "] }\n");
  g_file_set_contents (path, text->str, -1, &error);
  g_assert_no_error (error);
  return g_steal_pointer (&path);
}

static double
eval_top1 (const char *path,
           const char *scheme_file)
{
  g_autoptr(JsonNode) root = run_json ("eval", path, "--scheme-file", scheme_file, "--limit", IMAGES, "--json", NULL);

  return json_object_get_double_member (json_node_get_object (root), "quant_top1");
}

/* Every layer's alone_top1 and kept_float_top1 on @path equal `eval
 * --scheme-file` on the set that measures it. Progressive (@estimate_option
 * @estimate_value, then the rest): the sums must equal one pass. */
static void
check_sensitivity_equals_eval (const char *path,
                               guint       n_layers,
                               const char *estimate_option,
                               const char *estimate_value)
{
  g_autofree char *base = write_scheme_file ("base.json", NULL);
  g_autoptr(JsonNode) root = run_json ("sensitivity", path, "--scheme-file", base, "--limit", IMAGES,
                                       estimate_option, estimate_value, "--threads", "2", "--json", NULL);
  JsonObject *o = json_node_get_object (root);
  JsonArray *layers = json_object_get_array_member (o, "layers");
  g_autoptr(JsonNode) plain = run_json ("eval", path, "--scheme-file", base, "--limit", IMAGES, "--json", NULL);
  g_autoptr(GPtrArray) all = g_ptr_array_new ();
  g_autofree char *float_weights = NULL;
  JsonObject *estimate = json_object_get_object_member (o, "estimate");
  guint n = json_array_get_length (layers);
  gboolean any_differs = FALSE;

  g_assert_cmpint (json_object_get_int_member (o, "images"), ==, 300);
  g_assert_cmpfloat (json_object_get_double_member (o, "fp32_top1"), ==,
                     json_object_get_double_member (json_node_get_object (plain), "fp32_top1"));
  g_assert_cmpfloat (json_object_get_double_member (o, "all_quant_top1"), ==,
                     json_object_get_double_member (json_node_get_object (plain), "quant_top1"));
  /* Every weighted layer, each scored both ways, plus all quantized and
   * all weights in float32 (the runs they branch off). */
  g_assert_cmpuint (n, ==, n_layers);
  g_assert_cmpint (json_object_get_int_member (o, "evaluations"), ==, 2 * n + 2);
  for (guint j = 0; j < n; j++)
    g_ptr_array_add (all, (gpointer) json_object_get_string_member (json_array_get_object_element (layers, j),
                                                                    "tensor"));
  float_weights = write_scheme_file ("float-weights.json", all);
  g_assert_cmpfloat (json_object_get_double_member (o, "float_weights_top1"), ==, eval_top1 (path, float_weights));
  /* The estimate came first, on fewer images, in whole rounds of the
   * threads (two). */
  g_assert_nonnull (estimate);
  g_assert_cmpint (json_object_get_int_member (estimate, "images"), >, 0);
  g_assert_cmpint (json_object_get_int_member (estimate, "images"), <, 300);
  g_assert_cmpint (json_object_get_int_member (estimate, "images") % 2, ==, 0);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (estimate, "layers")), ==, n);
  g_assert_cmpfloat (json_object_get_double_member (estimate, "seconds"), <=,
                     json_object_get_double_member (json_object_get_object_member (o, "seconds"), "total"));

  for (guint i = 0; i < n; i++)
    {
      JsonObject *layer = json_array_get_object_element (layers, i);
      const char *tensor = json_object_get_string_member (layer, "tensor");
      g_autoptr(GPtrArray) others = g_ptr_array_new ();
      g_autoptr(GPtrArray) self = g_ptr_array_new ();
      g_autofree char *alone_name = g_strdup_printf ("alone-%u.json", i);
      g_autofree char *kept_name = g_strdup_printf ("kept-%u.json", i);
      g_autofree char *alone = NULL, *kept = NULL;
      double alone_top1, kept_top1;

      for (guint j = 0; j < n; j++)
        if (j != i)
          g_ptr_array_add (others, (gpointer) json_object_get_string_member (json_array_get_object_element (layers, j),
                                                                             "tensor"));
      g_ptr_array_add (self, (gpointer) tensor);
      alone = write_scheme_file (alone_name, others);
      kept = write_scheme_file (kept_name, self);
      alone_top1 = eval_top1 (path, alone);
      kept_top1 = eval_top1 (path, kept);
      g_test_message ("%s: alone %g, kept float %g", tensor, alone_top1, kept_top1);
      g_assert_cmpfloat (json_object_get_double_member (layer, "alone_top1"), ==, alone_top1);
      g_assert_cmpfloat (json_object_get_double_member (layer, "kept_float_top1"), ==, kept_top1);
      any_differs |= alone_top1 != kept_top1;
      g_assert_true (json_object_has_member (layer, "weight_sqnr_db"));
      g_assert_true (json_object_has_member (layer, "output_sqnr_db"));
    }
  /* A test that could not tell the two directions apart would prove little. */
  g_assert_true (any_differs);
  g_assert_true (json_object_has_member (json_object_get_object_member (o, "proxy_rank_correlation"),
                                         "weight_sqnr"));
}

static void
test_sensitivity_equals_eval (void)
{
  /* The demo model's six weighted layers. */
  check_sensitivity_equals_eval (model, 6, "--estimate", "96");
}

static void
test_sensitivity_graph_equals_eval (void)
{
  /* A graph: a squeeze-and-excitation block (global pooling, two dense
   * layers and a multiply beside the convolutions). */
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "..", "tests", "data", "graph-blocks",
                                                 "squeeze_excitation.h5", NULL);

  /* An estimate within a millisecond: the images that measured the speed. */
  check_sensitivity_equals_eval (path, 5, "--estimate-seconds", "0.001");
}

static void
test_mixed_reproduced_by_eval (void)
{
  g_autofree char *out = g_build_filename (tmp_dir, "mixed.json", NULL);
  g_autoptr(JsonNode) root = run_json ("mixed", model, "--budget", "1", "--bits", "2,4,8", "--limit", IMAGES,
                                       "--out", out, "--json", NULL);
  JsonObject *o = json_node_get_object (root);
  g_autoptr(JsonNode) eval = run_json ("eval", model, "--scheme-file", out, "--limit", IMAGES, "--json", NULL);
  g_autoptr(JsonNode) compare = run_json ("compare", model, "--scheme-a", out, "--scheme-b", out,
                                          "--limit", IMAGES, "--json", NULL);
  JsonObject *side = json_object_get_object_member (json_node_get_object (compare), "a");
  JsonArray *pareto = json_object_get_array_member (o, "pareto");
  JsonArray *layers = json_object_get_array_member (json_node_get_object (eval), "layers");
  JsonObject *bits = json_object_get_object_member (o, "bits");
  double fp32 = json_object_get_double_member (o, "fp32_top1");
  double quant = json_object_get_double_member (o, "quant_top1");

  g_assert_true (json_object_get_boolean_member (o, "within_budget"));
  g_assert_cmpfloat (quant, ==, json_object_get_double_member (json_node_get_object (eval), "quant_top1"));
  g_assert_cmpfloat (fp32, ==, json_object_get_double_member (json_node_get_object (eval), "fp32_top1"));
  g_assert_cmpfloat ((fp32 - quant) * 300, <=, 3 + 1e-9);
  g_assert_cmpint (json_object_get_int_member (o, "size_bytes"), ==, json_object_get_int_member (side, "size_bytes"));

  /* The file gives each layer the width the search printed. */
  g_assert_cmpuint (json_object_get_size (bits), ==, 6);
  for (guint i = 0; i < json_array_get_length (layers); i++)
    {
      JsonObject *layer = json_array_get_object_element (layers, i);
      const char *name = json_object_get_string_member (layer, "name");
      JsonObject *scheme = json_object_get_object_member (layer, "scheme");

      g_assert_cmpint (json_object_get_int_member (scheme, "bits"), ==, json_object_get_int_member (bits, name));
    }

  /* The front runs smallest first, each point more accurate than the last. */
  g_assert_cmpuint (json_array_get_length (pareto), >, 0);
  for (guint i = 1; i < json_array_get_length (pareto); i++)
    {
      JsonObject *a = json_array_get_object_element (pareto, i - 1), *b = json_array_get_object_element (pareto, i);

      g_assert_cmpint (json_object_get_int_member (a, "size_bytes"), <, json_object_get_int_member (b, "size_bytes"));
      g_assert_cmpfloat (json_object_get_double_member (a, "quant_top1"), <, json_object_get_double_member (b, "quant_top1"));
    }
  /* Every assignment scored on all images is listed once; pricing scores
   * each layer alone under each of the three candidates. */
  g_assert_cmpint (json_object_get_int_member (o, "evaluations"), ==,
                   (gint64) json_array_get_length (json_object_get_array_member (o, "points")));
  g_assert_cmpint (json_object_get_int_member (o, "pricing_evaluations"), ==, 6 * 3);
  g_assert_cmpint (json_object_get_int_member (o, "pricing_images"), ==, 300);
}

static void
test_bad_input (void)
{
  g_autofree char *missing = g_build_filename (tmp_dir, "missing.h5", NULL);

  assert_fails ("sensitivity", missing, NULL);
  assert_fails ("sensitivity", NULL);
  assert_fails ("sensitivity", model, "--estimate", "-1", NULL);
  assert_fails ("sensitivity", model, "--estimate-seconds", "-1", NULL);
  assert_fails ("sensitivity", model, "--estimate-seconds", "nan", NULL);
  assert_fails ("sensitivity", model, "--estimate-seconds", "2", "--estimate", "100", NULL);
  assert_fails ("sensitivity", model, "--bits", "1", NULL);
  assert_fails ("mixed", model, "--bits", "4,8", NULL);
  assert_fails ("mixed", model, "--budget", "-1", "--bits", "4,8", NULL);
  assert_fails ("mixed", model, "--budget", "nan", "--bits", "4,8", NULL);
  assert_fails ("mixed", model, "--budget", "1", NULL);
  assert_fails ("mixed", model, "--budget", "1", "--bits", "4,x", NULL);
  assert_fails ("mixed", model, "--budget", "1", "--bits", "4,4", NULL);
  assert_fails ("mixed", model, "--budget", "1", "--bits", "", NULL);
  assert_fails ("mixed", model, "--budget", "1", "--bits", "1,8", NULL);
  assert_fails ("mixed", missing, "--budget", "1", "--bits", "4,8", NULL);
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GError) error = NULL;
  const char *env_cli = g_getenv ("QS_CLI");
  int status;

  g_test_init (&argc, &argv, NULL);
  tmp_dir = g_dir_make_tmp ("test-cli-search-XXXXXX", &error);
  g_assert_no_error (error);
  model = g_test_build_filename (G_TEST_DIST, "..", "data", "models", "fashion-cnn.h5", NULL);
  cli = env_cli != NULL ? g_strdup (env_cli)
                        : g_test_build_filename (G_TEST_BUILT, "..", "..", "src", "cli", "quantscope-cli", NULL);

  g_test_add_func ("/cli/sensitivity/equals-eval", test_sensitivity_equals_eval);
  g_test_add_func ("/cli/sensitivity/graph-equals-eval", test_sensitivity_graph_equals_eval);
  g_test_add_func ("/cli/mixed/reproduced-by-eval", test_mixed_reproduced_by_eval);
  g_test_add_func ("/cli/search/bad-input", test_bad_input);
  status = g_test_run ();

  {
    g_autoptr(GDir) dir = g_dir_open (tmp_dir, 0, NULL);
    const char *name;

    while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
      {
        g_autofree char *path = g_build_filename (tmp_dir, name, NULL);
        g_remove (path);
      }
    g_rmdir (tmp_dir);
  }
  g_free (tmp_dir);
  g_free (model);
  g_free (cli);
  return status;
}
