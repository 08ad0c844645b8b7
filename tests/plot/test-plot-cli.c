/* test-plot-cli.c: `quantscope-cli plot` and `report` run as a user runs them.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <math.h>
#include <string.h>

#include <cairo.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <hdf5.h>
#include <json-glib/json-glib.h>

#include "plot/qs-plot.h"
#include "qs-test-cli.h"
#include "qs-test-hdf5.h"

#define TENSOR_A "/model/a/kernel"
#define TENSOR_B "/model/b/kernel"
/* Everything CSV and Markdown must escape, in one HDF5 name. */
#define HOSTILE_NAME "odd, \"quoted\"\nline|pipe*"
#define HOSTILE "/model/" HOSTILE_NAME
/* No finite value: listed, but kept. */
#define ALL_NAN "/model/nan"

static char *tmp_dir;
static char *fixture;
static char *cli;

/* ---- fixture and running ---------------------------------------------------------- */

static void
write_fixture (const char *path)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (2024);
  hid_t file = H5Fcreate (path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  hsize_t da[2] = { 16, 4 }, db[2] = { 8, 6 }, dh[1] = { 5 }, dn[1] = { 2 };
  const float nans[2] = { NAN, INFINITY };
  float a[16 * 4], b[8 * 6];
  const float hostile[5] = { -0.5f, 0.0f, 0.25f, 0.75f, 1.0f };

  g_assert_cmpint (file, >=, 0);
  /* Column c of A spans about ±(c + 1) / 4: channel ranges differ. */
  for (int i = 0; i < 16 * 4; i++)
    a[i] = (float) (g_rand_double_range (rand, -1, 1) * ((i % 4) + 1) / 4.0);
  for (int i = 0; i < 8 * 6; i++)
    b[i] = (float) g_rand_double_range (rand, -0.2, 0.9);
  qs_test_write_floats (file, TENSOR_A, 2, da, a);
  qs_test_write_floats (file, TENSOR_B, 2, db, b);
  qs_test_write_floats (file, HOSTILE, 1, dh, hostile);
  qs_test_write_floats (file, ALL_NAN, 1, dn, nans);
  g_assert_cmpint (H5Fclose (file), >=, 0);
}

static QsTestCliRun *run (const char *first, ...) G_GNUC_NULL_TERMINATED;

static QsTestCliRun *
run (const char *first,
     ...)
{
  QsTestCliRun *result;
  va_list ap;

  va_start (ap, first);
  result = qs_test_cli_run_valist (cli, first, ap);
  va_end (ap);
  return result;
}

static JsonNode *
parse_json (const char *text)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  json_parser_load_from_data (parser, text, -1, &error);
  g_assert_no_error (error);
  return json_parser_steal_root (parser);
}

/* Bad input: exit 2, one line on stderr, nothing on stdout. */
static void
assert_bad_input (const QsTestCliRun *r)
{
  g_assert_cmpint (r->status, ==, 2);
  g_assert_cmpstr (r->out, ==, "");
  g_assert_true (g_str_has_prefix (r->err, "quantscope-cli: "));
  g_assert_true (g_str_has_suffix (r->err, "\n"));
  g_assert_cmpint (strchr (r->err, '\n') - r->err, ==, (long) strlen (r->err) - 1);
}

static guint
count_entries (const char *dir)
{
  g_autoptr(GDir) listing = g_dir_open (dir, 0, NULL);
  guint n = 0;

  g_assert_nonnull (listing);
  while (g_dir_read_name (listing) != NULL)
    n++;
  return n;
}

/* ---- report ------------------------------------------------------------------------- */

static JsonObject *
row_of (JsonNode   *report,
        const char *tensor)
{
  JsonArray *rows = json_object_get_array_member (json_node_get_object (report), "tensors");

  for (guint i = 0; i < json_array_get_length (rows); i++)
    {
      JsonObject *row = json_array_get_object_element (rows, i);

      if (g_strcmp0 (json_object_get_string_member (row, "tensor"), tensor) == 0)
        return row;
    }
  g_assert_not_reached ();
}

static void
assert_same_number (JsonObject *a,
                    const char *a_name,
                    JsonObject *b,
                    const char *b_name)
{
  JsonNode *x = json_object_get_member (a, a_name), *y = json_object_get_member (b, b_name);

  g_assert_nonnull (x);
  g_assert_nonnull (y);
  if (JSON_NODE_HOLDS_NULL (x) || JSON_NODE_HOLDS_NULL (y))
    {
      g_assert_true (JSON_NODE_HOLDS_NULL (x) && JSON_NODE_HOLDS_NULL (y));
      return;
    }
  /* Exactly the same number, as the same code computed it. */
  g_assert_cmpfloat (json_node_get_double (x), ==, json_node_get_double (y));
}

/* The row's numbers are the ones `stats --json` gives for that tensor and scheme. */
static void
assert_row_matches_stats (JsonObject         *row,
                          const char         *tensor,
                          const char * const *scheme)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  g_autoptr(QsTestCliRun) r = NULL;
  g_autoptr(JsonNode) node = NULL;
  JsonObject *stats;
  double clipped, finite;

  g_ptr_array_add (args, (gpointer) "stats");
  g_ptr_array_add (args, fixture);
  g_ptr_array_add (args, (gpointer) "--tensor");
  g_ptr_array_add (args, (gpointer) tensor);
  g_ptr_array_add (args, (gpointer) "--json");
  for (gsize i = 0; scheme[i] != NULL; i++)
    g_ptr_array_add (args, (gpointer) scheme[i]);
  r = qs_test_cli_run_args (cli, args);
  g_assert_cmpint (r->status, ==, 0);
  node = parse_json (r->out);
  stats = json_node_get_object (node);

  assert_same_number (row, "min", stats, "data_min");
  assert_same_number (row, "max", stats, "data_max");
  assert_same_number (row, "sqnr_db", stats, "sqnr_db");
  assert_same_number (row, "max_abs_error", stats, "max_abs_error");
  assert_same_number (row, "size_quant_bytes", stats, "size_quant_bytes");
  assert_same_number (row, "size_fp32_bytes", stats, "size_fp32_bytes");
  assert_same_number (row, "parameters", stats, "count");
  assert_same_number (row, "bits", stats, "bits");
  g_assert_cmpstr (json_object_get_string_member (row, "mapping"), ==,
                   json_object_get_string_member (stats, "mapping"));
  g_assert_cmpstr (json_object_get_string_member (row, "granularity"), ==,
                   json_object_get_string_member (stats, "granularity"));
  g_assert_cmpint (json_object_get_boolean_member (row, "zero_exact"), ==,
                   json_object_get_boolean_member (stats, "zero_exact"));
  clipped = (double) json_object_get_int_member (stats, "clipped_count");
  finite = (double) json_object_get_int_member (stats, "finite_count");
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (row, "clipped_percent"),
                                  100 * clipped / finite, 1e-12);
  g_assert_false (json_object_get_boolean_member (row, "kept_float"));
}

static void
test_report_json_equals_stats (void)
{
  const char *int8[] = { NULL };
  const char *int4_channel[] = { "--bits", "4", "--mapping", "symmetric", "--granularity", "channel",
                                 "--range", "mse", NULL };
  const char *const *schemes[] = { int8, int4_channel };

  for (gsize s = 0; s < G_N_ELEMENTS (schemes); s++)
    {
      g_autoptr(GPtrArray) args = g_ptr_array_new ();
      g_autoptr(QsTestCliRun) r = NULL;
      g_autoptr(JsonNode) report = NULL;
      JsonArray *rows;
      JsonObject *total;
      double previous = -INFINITY;

      g_ptr_array_add (args, (gpointer) "report");
      g_ptr_array_add (args, fixture);
      g_ptr_array_add (args, (gpointer) "--format");
      g_ptr_array_add (args, (gpointer) "json");
      for (gsize i = 0; schemes[s][i] != NULL; i++)
        g_ptr_array_add (args, (gpointer) schemes[s][i]);
      r = qs_test_cli_run_args (cli, args);
      g_assert_cmpint (r->status, ==, 0);
      g_assert_cmpstr (r->err, ==, "");
      report = parse_json (r->out);

      assert_row_matches_stats (row_of (report, TENSOR_A), TENSOR_A, schemes[s]);
      assert_row_matches_stats (row_of (report, TENSOR_B), TENSOR_B, schemes[s]);

      /* Worst first, and the totals add the rows up. */
      rows = json_object_get_array_member (json_node_get_object (report), "tensors");
      g_assert_cmpuint (json_array_get_length (rows), ==, 4);
      g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (rows, 3), "tensor"), ==, ALL_NAN);
      g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (rows, 3), "reason"), ==,
                       "no finite values");
      for (guint i = 0; i < 3; i++)
        {
          double sqnr = json_object_get_double_member (json_array_get_object_element (rows, i), "sqnr_db");

          g_assert_cmpfloat (sqnr, >=, previous);
          previous = sqnr;
        }
      total = json_object_get_object_member (json_node_get_object (report), "total");
      g_assert_cmpint (json_object_get_int_member (total, "parameters"), ==, 64 + 48 + 5 + 2);
      g_assert_cmpint (json_object_get_int_member (total, "size_fp32_bytes"), ==, 4 * (64 + 48 + 5 + 2));
      g_assert_cmpstr (json_object_get_string_member (total, "worst_tensor"), ==,
                       json_object_get_string_member (json_array_get_object_element (rows, 0), "tensor"));
    }
}

static void
test_report_scheme_file (void)
{
  g_autofree char *scheme = g_build_filename (tmp_dir, "scheme.json", NULL);
  g_autoptr(QsTestCliRun) r = NULL;
  g_autoptr(QsTestCliRun) combined = NULL;
  g_autoptr(JsonNode) report = NULL;
  const char *bits3[] = { "--bits", "3", "--granularity", "channel", NULL };
  JsonObject *kept, *total;

  /* B takes an override, the hostile tensor is skipped: the resolver
   * `export` uses decides both. */
  g_assert_true (g_file_set_contents (scheme,
                                      "{ \"version\": 1, \"default\": { \"bits\": 6 },"
                                      "  \"overrides\": [ { \"tensors\": \"/model/b/*\", \"bits\": 3,"
                                      "                     \"granularity\": \"channel\" } ],"
                                      "  \"skip\": [ \"/model/odd*\" ] }", -1, NULL));
  r = run ("report", fixture, "--scheme-file", scheme, NULL);
  g_assert_cmpint (r->status, ==, 0);
  report = parse_json (r->out);
  assert_row_matches_stats (row_of (report, TENSOR_B), TENSOR_B, bits3);
  g_assert_cmpint (json_object_get_int_member (row_of (report, TENSOR_A), "bits"), ==, 6);
  kept = row_of (report, HOSTILE);
  g_assert_true (json_object_get_boolean_member (kept, "kept_float"));
  g_assert_true (JSON_NODE_HOLDS_NULL (json_object_get_member (kept, "sqnr_db")));
  g_assert_cmpint (json_object_get_int_member (kept, "size_quant_bytes"), ==, 20);
  total = json_object_get_object_member (json_node_get_object (report), "total");
  g_assert_cmpint (json_object_get_int_member (total, "quantized"), ==, 2);
  g_assert_cmpint (json_object_get_int_member (total, "kept_float"), ==, 2);
  /* The kept tensors come last. */
  for (guint i = 0; i < 4; i++)
    {
      JsonObject *row = json_array_get_object_element (
        json_object_get_array_member (json_node_get_object (report), "tensors"), i);

      g_assert_cmpint (json_object_get_boolean_member (row, "kept_float"), ==, i >= 2);
    }

  combined = run ("report", fixture, "--scheme-file", scheme, "--bits", "4", NULL);
  assert_bad_input (combined);
  g_unlink (scheme);
}

/* An RFC 4180 reader, written from the RFC: fields of every record. */
static GPtrArray *
parse_csv (const char *text)
{
  GPtrArray *records = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);
  GPtrArray *record = g_ptr_array_new_with_free_func (g_free);
  GString *field = g_string_new (NULL);
  const char *p = text;

  while (*p != '\0')
    {
      if (*p == '"')
        {
          for (p++; !(*p == '"' && p[1] != '"'); p++)
            {
              g_assert_cmpint (*p, !=, '\0');
              if (*p == '"')
                p++;   /* a doubled quote stands for one */
              g_string_append_c (field, *p);
            }
          p++;
        }
      while (*p != ',' && *p != '\r' && *p != '\0')
        g_string_append_c (field, *p++);
      g_ptr_array_add (record, g_string_free (field, FALSE));
      field = g_string_new (NULL);
      if (*p == ',')
        p++;
      else if (*p == '\r')
        {
          g_assert_cmpint (p[1], ==, '\n');
          p += 2;
          g_ptr_array_add (records, record);
          record = g_ptr_array_new_with_free_func (g_free);
        }
    }
  g_assert_cmpuint (record->len, ==, 0);
  g_ptr_array_unref (record);
  g_string_free (field, TRUE);
  return records;
}

static void
test_report_csv (void)
{
  g_autoptr(QsTestCliRun) r = run ("report", fixture, "--format", "csv", NULL);
  g_autoptr(QsTestCliRun) j = run ("report", fixture, NULL);
  g_autoptr(GPtrArray) records = NULL;
  g_autoptr(JsonNode) report = NULL;
  gboolean found = FALSE;

  g_assert_cmpint (r->status, ==, 0);
  /* The name's quotes doubled, the whole field quoted. */
  g_assert_nonnull (strstr (r->out, "\"/model/odd, \"\"quoted\"\"\nline|pipe*\","));
  records = parse_csv (r->out);
  g_assert_cmpuint (records->len, ==, 5);
  g_assert_cmpstr (g_ptr_array_index ((GPtrArray *) g_ptr_array_index (records, 0), 0), ==, "tensor");
  report = parse_json (j->out);
  for (guint i = 1; i < records->len; i++)
    {
      GPtrArray *fields = g_ptr_array_index (records, i);
      const char *name = g_ptr_array_index (fields, 0);
      JsonObject *row = row_of (report, name);

      /* Every record has the header's 17 fields, and the same numbers as JSON. */
      g_assert_cmpuint (fields->len, ==, 17);
      found |= g_str_equal (name, HOSTILE);
      if (json_object_get_boolean_member (row, "kept_float"))
        {
          /* Undefined numbers are empty fields. */
          g_assert_cmpstr (g_ptr_array_index (fields, 10), ==, "");
          g_assert_cmpstr (g_ptr_array_index (fields, 16), ==, "true");
          continue;
        }
      g_assert_cmpfloat (g_ascii_strtod (g_ptr_array_index (fields, 10), NULL), ==,
                         json_object_get_double_member (row, "sqnr_db"));
      g_assert_cmpfloat (g_ascii_strtod (g_ptr_array_index (fields, 3), NULL), ==,
                         json_object_get_double_member (row, "min"));
    }
  g_assert_true (found);
}

static void
test_report_markdown (void)
{
  g_autoptr(QsTestCliRun) r = run ("report", fixture, "--format", "md", NULL);
  g_auto(GStrv) lines = NULL;
  guint rows = 0;

  g_assert_cmpint (r->status, ==, 0);
  g_assert_nonnull (strstr (r->out, "| /model/odd, \"quoted\"<br>line\\|pipe\\* |"));
  /* Every table line has the header's 13 unescaped pipes. */
  lines = g_strsplit (r->out, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      int pipes = 0;

      if (lines[i][0] != '|')
        continue;
      for (const char *c = lines[i]; *c != '\0'; c++)
        {
          if (*c == '\\')
            c++;
          else
            pipes += *c == '|';
        }
      g_assert_cmpint (pipes, ==, 13);
      rows++;
    }
  g_assert_cmpuint (rows, ==, 2 + 4);
}

static void
test_report_out_and_errors (void)
{
  g_autofree char *dir = g_build_filename (tmp_dir, "report-out", NULL);
  g_autofree char *out = g_build_filename (dir, "table.csv", NULL);
  g_autofree char *missing = g_build_filename (tmp_dir, "missing.h5", NULL);
  g_autofree char *text = NULL;
  g_autoptr(QsTestCliRun) to_stdout = run ("report", fixture, "--format", "csv", NULL);

  g_assert_cmpint (g_mkdir (dir, 0755), ==, 0);
  {
    g_autoptr(QsTestCliRun) r = run ("report", fixture, "--format", "csv", "--out", out, NULL);

    g_assert_cmpint (r->status, ==, 0);
    g_assert_cmpstr (r->out, ==, "");
    g_assert_true (g_file_get_contents (out, &text, NULL, NULL));
    g_assert_cmpstr (text, ==, to_stdout->out);
    g_unlink (out);
  }
  {
    g_autoptr(QsTestCliRun) bad_format = run ("report", fixture, "--format", "xml", "--out", out, NULL);
    g_autoptr(QsTestCliRun) bad_model = run ("report", missing, "--out", out, NULL);
    g_autoptr(QsTestCliRun) bad_bits = run ("report", fixture, "--bits", "1", "--out", out, NULL);

    assert_bad_input (bad_format);
    assert_bad_input (bad_model);
    assert_bad_input (bad_bits);
    g_assert_cmpuint (count_entries (dir), ==, 0);
  }
  g_rmdir (dir);
}

/* ---- plot --------------------------------------------------------------------------- */

static void
test_plot_kinds (void)
{
  const char *kinds[] = { "histogram", "channels", "sweep", "overview" };
  const char *suffixes[] = { "png", "svg", "pdf" };
  const char *titles[] = {
    "<title>" TENSOR_A " · int4 asymmetric per-tensor</title>",
    "<title>" TENSOR_A " · int4 asymmetric per-tensor</title>",
    "<title>" TENSOR_A " · SQNR against bits per weight</title>",
    "<title>fixture.h5 · SQNR of every tensor, worst first</title>",
  };

  for (gsize k = 0; k < G_N_ELEMENTS (kinds); k++)
    for (gsize f = 0; f < G_N_ELEMENTS (suffixes); f++)
      {
        g_autofree char *name = g_strdup_printf ("%s.%s", kinds[k], suffixes[f]);
        g_autofree char *path = g_build_filename (tmp_dir, name, NULL);
        /* The overview draws every tensor: it takes no --tensor. */
        g_autoptr(QsTestCliRun) r = run ("plot", fixture, "--kind", kinds[k], "--out", path,
                                         "--width", "640", "--height", "360", "--bits", "4",
                                         "--granularity", "tensor", "--mapping", "asymmetric",
                                         k == 3 ? NULL : "--tensor", TENSOR_A, NULL);
        g_autofree char *text = NULL;
        gsize length;

        g_assert_cmpint (r->status, ==, 0);
        g_assert_cmpstr (r->out, ==, "");
        g_assert_cmpstr (r->err, ==, "");
        g_assert_true (g_file_get_contents (path, &text, &length, NULL));
        if (f == 0)
          {
            cairo_surface_t *png = cairo_image_surface_create_from_png (path);

            g_assert_cmpint (cairo_surface_status (png), ==, CAIRO_STATUS_SUCCESS);
            g_assert_cmpint (cairo_image_surface_get_width (png), ==, 640);
            g_assert_cmpint (cairo_image_surface_get_height (png), ==, 360);
            cairo_surface_destroy (png);
          }
        else if (f == 1)
          g_assert_nonnull (strstr (text, titles[k]));
        else
          g_assert_cmpmem (text, 5, "%PDF-", 5);
        g_unlink (path);
      }
}

static void
test_plot_errors (void)
{
  g_autofree char *dir = g_build_filename (tmp_dir, "plot-errors", NULL);
  g_autofree char *png = g_build_filename (dir, "chart.png", NULL);
  g_autofree char *bmp = g_build_filename (dir, "chart.bmp", NULL);
  g_autofree char *nested = g_build_filename (dir, "no-such-folder", "chart.png", NULL);
  g_autofree char *missing = g_build_filename (tmp_dir, "missing.h5", NULL);
  g_autofree char *scheme = g_build_filename (tmp_dir, "skip-hostile.json", NULL);
  const char *cases[][12] = {
    { "plot", fixture, "--tensor", TENSOR_A, "--out", bmp, NULL },
    { "plot", fixture, "--tensor", "/no/such/tensor", "--out", png, NULL },
    { "plot", fixture, "--tensor", TENSOR_A, "--kind", "pie", "--out", png, NULL },
    { "plot", fixture, "--tensor", TENSOR_A, "--kind", "sweep", "--format", "fp16", "--out", png, NULL },
    { "plot", fixture, "--tensor", TENSOR_A, "--width", "0", "--out", png, NULL },
    { "plot", fixture, "--tensor", TENSOR_A, "--height", "100000", "--out", png, NULL },
    { "plot", fixture, "--tensor", TENSOR_A, "--channel", "9", "--granularity", "channel", "--out", png, NULL },
    { "plot", fixture, "--tensor", TENSOR_A, NULL },
    { "plot", fixture, "--out", png, NULL },
    { "plot", missing, "--tensor", TENSOR_A, "--out", png, NULL },
    { "plot", fixture, "--tensor", TENSOR_A, "--bits", "1", "--out", png, NULL },
    { "plot", fixture, "--tensor", TENSOR_A, "--out", nested, NULL },
    { "plot", fixture, "--tensor", TENSOR_A, "--kind", "overview", "--out", png, NULL },
    { "plot", fixture, "--tensor", HOSTILE, "--scheme-file", scheme, "--out", png, NULL },
    { "plot", fixture, "--tensor", TENSOR_A, "--scheme-file", scheme, "--bits", "4", "--out", png, NULL },
  };

  g_assert_true (g_file_set_contents (scheme, "{ \"version\": 1, \"skip\": [ \"/model/odd*\" ] }", -1, NULL));
  g_assert_cmpint (g_mkdir (dir, 0755), ==, 0);
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GPtrArray) args = g_ptr_array_new ();
      g_autoptr(QsTestCliRun) r = NULL;

      for (gsize j = 0; cases[i][j] != NULL; j++)
        g_ptr_array_add (args, (gpointer) cases[i][j]);
      r = qs_test_cli_run_args (cli, args);
      assert_bad_input (r);
      /* Nothing written, no temporary file left. */
      g_assert_cmpuint (count_entries (dir), ==, 0);
    }
  g_rmdir (dir);
  g_unlink (scheme);
}

/* With a scheme file, the tensor is drawn under the scheme it resolves to. */
static void
test_plot_scheme_file (void)
{
  g_autofree char *scheme = g_build_filename (tmp_dir, "override.json", NULL);
  g_autofree char *svg = g_build_filename (tmp_dir, "override.svg", NULL);
  g_autofree char *text = NULL;
  g_autoptr(QsTestCliRun) r = NULL;

  g_assert_true (g_file_set_contents (scheme,
                                      "{ \"version\": 1, \"overrides\": [ { \"tensors\": \"/model/b/*\","
                                      " \"bits\": 3, \"mapping\": \"symmetric\", \"granularity\": \"channel\" } ] }",
                                      -1, NULL));
  r = run ("plot", fixture, "--tensor", TENSOR_B, "--scheme-file", scheme, "--out", svg, NULL);
  g_assert_cmpint (r->status, ==, 0);
  g_assert_true (g_file_get_contents (svg, &text, NULL, NULL));
  g_assert_nonnull (strstr (text, "<title>" TENSOR_B " · int3 symmetric per-channel</title>"));
  g_unlink (svg);
  g_unlink (scheme);
}

/* ---- blockwise charts ---------------------------------------------------------------- */

/* A tensor long enough along its reduction axis (200 rows, not a multiple
 * of any block size) that the group sizes differ. */
#define BLOCKY "/model/c/kernel"

static char *
write_blocky_fixture (void)
{
  char *path = g_build_filename (tmp_dir, "blocky.h5", NULL);
  g_autoptr(GRand) rand = g_rand_new_with_seed (12);
  hsize_t dims[2] = { 200, 6 };
  g_autofree float *w = g_new (float, 200 * 6);
  hid_t file = H5Fcreate (path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);

  g_assert_cmpint (file, >=, 0);
  /* Column c spans about ±(c + 1) / 3: block scales spread over octaves. */
  for (int i = 0; i < 200 * 6; i++)
    w[i] = (float) (g_rand_double_range (rand, -1, 1) * ((i % 6) + 1) / 3.0);
  qs_test_write_floats (file, BLOCKY, 2, dims, w);
  g_assert_cmpint (H5Fclose (file), >=, 0);
  return path;
}

static JsonObject *
stats_json (JsonNode  **root,
            const char *model,
            const char *format,
            const char *sweep_sizes)
{
  g_autoptr(QsTestCliRun) r = run ("stats", model, "--tensor", BLOCKY, "--format", format, "--json",
                                   sweep_sizes != NULL ? "--sweep-group-sizes" : NULL, sweep_sizes, NULL);

  g_assert_cmpint (r->status, ==, 0);
  *root = parse_json (r->out);
  return json_node_get_object (*root);
}

typedef struct {
  QsPlotStyle        style;
  QsPlotLabels       labels;
  const char        *series_label;
  QsBlockInfo       *blocks;       /* a blocks chart, or */
  QsBlockSweepPoint *points;       /* a sweep */
  gsize              n_points;
} ExpectedChart;

static void
draw_expected (cairo_t  *cr,
               double    width,
               double    height,
               gpointer  user_data)
{
  ExpectedChart *e = user_data;

  if (e->blocks != NULL)
    qs_plot_block_scales (cr, width, height, &e->style, &e->labels, e->blocks, NULL);
  else
    qs_plot_block_sweep (cr, width, height, &e->style, &e->labels, e->series_label,
                         e->points, e->n_points, NULL);
}

/* The CLI's PNG holds exactly the pixels of the chart the plot library
 * draws from the numbers `stats --json` prints. */
static void
assert_same_pixels (const char    *cli_png,
                    ExpectedChart *expected,
                    const char    *name)
{
  g_autofree char *path = g_build_filename (tmp_dir, name, NULL);
  g_autoptr(GError) error = NULL;
  cairo_surface_t *a, *b;
  int stride, height;

  g_assert_true (qs_plot_save (path, 640, 360, expected->labels.title, draw_expected, expected, &error));
  g_assert_no_error (error);
  a = cairo_image_surface_create_from_png (cli_png);
  b = cairo_image_surface_create_from_png (path);
  g_assert_cmpint (cairo_surface_status (a), ==, CAIRO_STATUS_SUCCESS);
  g_assert_cmpint (cairo_surface_status (b), ==, CAIRO_STATUS_SUCCESS);
  stride = cairo_image_surface_get_stride (a);
  height = cairo_image_surface_get_height (a);
  g_assert_cmpint (stride, ==, cairo_image_surface_get_stride (b));
  g_assert_cmpint (height, ==, cairo_image_surface_get_height (b));
  g_assert_cmpmem (cairo_image_surface_get_data (a), stride * height,
                   cairo_image_surface_get_data (b), stride * height);
  cairo_surface_destroy (a);
  cairo_surface_destroy (b);
  g_unlink (path);
}

static void
test_plot_blockwise_sweep (void)
{
  g_autofree char *model = write_blocky_fixture ();
  g_autofree char *png = g_build_filename (tmp_dir, "group-sweep.png", NULL);
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(QsTestCliRun) r = NULL;
  JsonArray *sweep;
  ExpectedChart e = { 0 };
  QsBlockSweepPoint points[5];

  /* The sizes the CLI's sweep tries. */
  sweep = json_object_get_array_member (stats_json (&root, model, "mxfp4", "16,32,64,128,256"), "sweep");
  g_assert_cmpuint (json_array_get_length (sweep), ==, 5);
  for (guint i = 0; i < 5; i++)
    {
      JsonObject *p = json_array_get_object_element (sweep, i);

      points[i].group_size = (int) json_object_get_int_member (p, "group_size");
      points[i].bits_per_weight = json_object_get_double_member (p, "bits_per_weight");
      points[i].sqnr_db = json_object_get_double_member (p, "sqnr_db");
      points[i].mse = json_object_get_double_member (p, "mse");
    }
  /* Bigger blocks, fewer scale bits: the points are apart. */
  g_assert_cmpfloat (points[0].bits_per_weight, >, points[4].bits_per_weight);

  r = run ("plot", model, "--tensor", BLOCKY, "--format", "mxfp4", "--kind", "sweep",
           "--width", "640", "--height", "360", "--out", png, NULL);
  g_assert_cmpint (r->status, ==, 0);
  g_assert_cmpstr (r->err, ==, "");

  qs_plot_style_init (&e.style, QS_PLOT_THEME_PAPER);
  e.labels.title = BLOCKY " · SQNR against bits per weight";
  e.labels.x_label = "Bits per weight (codes and scales)";
  e.labels.y_label = "SQNR (dB)";
  e.series_label = "mxfp4";
  e.points = points;
  e.n_points = 5;
  assert_same_pixels (png, &e, "expected-sweep.png");
  g_unlink (png);
  g_unlink (model);
}

static void
test_plot_block_scales (void)
{
  g_autofree char *model = write_blocky_fixture ();
  g_autofree char *png = g_build_filename (tmp_dir, "scales.png", NULL);
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(QsTestCliRun) r = NULL;
  g_autoptr(QsTestCliRun) refused = NULL;
  JsonObject *histogram;
  JsonArray *counts;
  ExpectedChart e = { 0 };
  QsBlockInfo blocks = { 0 };
  g_autofree uint64_t *bin_counts = NULL;

  histogram = json_object_get_object_member (json_object_get_object_member (stats_json (&root, model, "nvfp4", NULL),
                                                                            "blocks"),
                                             "scale_histogram");
  counts = json_object_get_array_member (histogram, "counts");
  blocks.scale_log2_lo = json_object_get_double_member (histogram, "log2_lo");
  blocks.scale_bin_width = json_object_get_double_member (histogram, "bin_width");
  blocks.scale_bins = (int) json_array_get_length (counts);
  blocks.zero_scale_blocks = (uint64_t) json_object_get_int_member (histogram, "zero_scale_blocks");
  bin_counts = g_new (uint64_t, blocks.scale_bins);
  for (int i = 0; i < blocks.scale_bins; i++)
    bin_counts[i] = (uint64_t) json_array_get_int_element (counts, i);
  blocks.scale_counts = bin_counts;
  g_assert_cmpint (blocks.scale_bins, >, 1);

  r = run ("plot", model, "--tensor", BLOCKY, "--format", "nvfp4", "--kind", "blocks",
           "--width", "640", "--height", "360", "--out", png, NULL);
  g_assert_cmpint (r->status, ==, 0);
  g_assert_cmpstr (r->err, ==, "");

  qs_plot_style_init (&e.style, QS_PLOT_THEME_PAPER);
  e.labels.title = BLOCKY " · nvfp4 groups of 16 · block scales";
  e.labels.x_label = "Block scale";
  e.labels.y_label = "Blocks";
  e.blocks = &blocks;
  assert_same_pixels (png, &e, "expected-scales.png");
  g_unlink (png);

  /* A scheme with one scale has no block scales to draw. */
  refused = run ("plot", model, "--tensor", BLOCKY, "--kind", "blocks", "--out", png, NULL);
  assert_bad_input (refused);
  g_assert_false (g_file_test (png, G_FILE_TEST_EXISTS));
  g_unlink (model);
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GError) error = NULL;
  const char *env_cli = g_getenv ("QS_CLI");
  int status;

  g_test_init (&argc, &argv, NULL);
  tmp_dir = g_dir_make_tmp ("test-plot-cli-XXXXXX", &error);
  g_assert_no_error (error);
  fixture = g_build_filename (tmp_dir, "fixture.h5", NULL);
  write_fixture (fixture);
  cli = env_cli != NULL ? g_strdup (env_cli)
                        : g_test_build_filename (G_TEST_BUILT, "..", "..", "src", "cli", "quantscope-cli", NULL);

  g_test_add_func ("/plot-cli/report/json-equals-stats", test_report_json_equals_stats);
  g_test_add_func ("/plot-cli/report/scheme-file", test_report_scheme_file);
  g_test_add_func ("/plot-cli/report/csv", test_report_csv);
  g_test_add_func ("/plot-cli/report/markdown", test_report_markdown);
  g_test_add_func ("/plot-cli/report/out-and-errors", test_report_out_and_errors);
  g_test_add_func ("/plot-cli/plot/kinds", test_plot_kinds);
  g_test_add_func ("/plot-cli/plot/errors", test_plot_errors);
  g_test_add_func ("/plot-cli/plot/scheme-file", test_plot_scheme_file);
  g_test_add_func ("/plot-cli/plot/blockwise-sweep", test_plot_blockwise_sweep);
  g_test_add_func ("/plot-cli/plot/block-scales", test_plot_block_scales);
  status = g_test_run ();

  g_unlink (fixture);
  g_rmdir (tmp_dir);
  g_free (fixture);
  g_free (tmp_dir);
  g_free (cli);
  return status;
}
