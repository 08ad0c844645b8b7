/* test-cli.c: quantscope-cli run as a user runs it, on HDF5 files written at test time.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <hdf5.h>
#include <json-glib/json-glib.h>

#include "qs-test-cli.h"
#include "qs-test-hdf5.h"

static char *tmp_dir;
static char *fixture;      /* the generic HDF5 file every stats case reads */
static char *text_file;    /* not HDF5 at all */
static char *empty_file;   /* zero bytes */
static char *missing_file; /* never created */
static char *sample_file;  /* data/sample-weights.h5 from the source tree */
static char *cli;

/* Every dataset the fixture holds, so `layers` can be checked for all of them. */
#define FIXTURE_TENSORS 15

/* Values float16, float32 and float64 all hold exactly, so every dtype must
 * give the very same quantizer. */
static const float exact_values[] = { -1.0f, 0.0f, 0.375f, 0.9921875f };

/* ---- fixture ------------------------------------------------------------ */

/* IEEE half precision, built the way h5py builds numpy's float16. */
static hid_t
float16_type (void)
{
  hid_t type = H5Tcopy (H5T_IEEE_F32LE);

  g_assert_cmpint (H5Tset_fields (type, 15, 10, 5, 0, 10), >=, 0);
  g_assert_cmpint (H5Tset_size (type, 2), >=, 0);
  g_assert_cmpint (H5Tset_ebias (type, 15), >=, 0);
  return type;
}

static void
write_fixture (const char *path)
{
  hid_t file = H5Fcreate (path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  const float w[] = { -1.0f, 0.0f, 0.3f, 0.9921875f };
  const float with_nonfinite[] = { NAN, 1.0f, INFINITY, -1.0f, -INFINITY, 0.5f };
  const float finite_only[] = { 1.0f, -1.0f, 0.5f };
  const float all_nan[] = { NAN, NAN };
  const float half[] = { 0.0f, 0.5f, 255.0f };
  /* Channel 0 (column 0) spans [-1, 1], channel 1 [-100, 100]: one shared
   * scale wastes almost all of channel 0's resolution. */
  const float per_channel[4][2] = { { -1.0f, -100.0f }, { 0.5f, 50.0f }, { 0.25f, 25.0f }, { 1.0f, 100.0f } };
  const gint32 ints[] = { 1, 2, 3 };
  const char strings[] = "abcdefgh";
  float ramp[256];
  float zeros[8] = { 0 };
  double exact_doubles[G_N_ELEMENTS (exact_values)];
  hsize_t d4[1] = { 4 }, d256[1] = { 256 }, d8[1] = { 8 }, d6[1] = { 6 }, d3[1] = { 3 };
  hsize_t d2[1] = { 2 }, d0[1] = { 0 }, d42[2] = { 4, 2 };
  hid_t string_type, half_type;

  g_assert_cmpint (file, >=, 0);
  for (int i = 0; i < 256; i++)
    ramp[i] = (float) i;
  for (gsize i = 0; i < G_N_ELEMENTS (exact_values); i++)
    exact_doubles[i] = exact_values[i];

  qs_test_write_floats (file, "/w", 1, d4, w);
  qs_test_write_floats (file, "/u", 1, d256, ramp);
  qs_test_write_floats (file, "/zeros", 1, d8, zeros);
  qs_test_write_floats (file, "/nan", 1, d6, with_nonfinite);
  qs_test_write_floats (file, "/nanref", 1, d3, finite_only);
  qs_test_write_floats (file, "/allnan", 1, d2, all_nan);
  qs_test_write_floats (file, "/half", 1, d3, half);
  qs_test_write_floats (file, "/pc", 2, d42, &per_channel[0][0]);
  qs_test_write_floats (file, "/empty", 1, d0, NULL);
  qs_test_write_floats (file, "/f32", 1, d4, exact_values);
  qs_test_write_dataset (file, "/be", H5T_IEEE_F32BE, H5T_NATIVE_FLOAT, 1, d4, exact_values);
  qs_test_write_dataset (file, "/f64", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1, d4, exact_doubles);
  half_type = float16_type ();
  qs_test_write_dataset (file, "/f16", half_type, H5T_NATIVE_FLOAT, 1, d4, exact_values);
  H5Tclose (half_type);
  qs_test_write_dataset (file, "/int", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, d3, ints);
  string_type = H5Tcopy (H5T_C_S1);
  g_assert_cmpint (H5Tset_size (string_type, 4), >=, 0);
  qs_test_write_dataset (file, "/str", string_type, string_type, 1, d2, strings);
  H5Tclose (string_type);

  g_assert_cmpint (H5Fclose (file), >=, 0);
}

static void
setup_files (void)
{
  g_autoptr(GError) error = NULL;
  const char *env_cli = g_getenv ("QS_CLI");

  tmp_dir = g_dir_make_tmp ("test-cli-XXXXXX", &error);
  g_assert_no_error (error);

  fixture = g_build_filename (tmp_dir, "fixture.h5", NULL);
  write_fixture (fixture);

  text_file = g_build_filename (tmp_dir, "notes.txt", NULL);
  g_file_set_contents (text_file, "these are not weights\n", -1, &error);
  g_assert_no_error (error);
  empty_file = g_build_filename (tmp_dir, "empty.h5", NULL);
  g_file_set_contents (empty_file, "", 0, &error);
  g_assert_no_error (error);
  missing_file = g_build_filename (tmp_dir, "missing.h5", NULL);

  sample_file = g_test_build_filename (G_TEST_DIST, "..", "data", "sample-weights.h5", NULL);
  /* Outside meson the CLI sits at the usual place in the build tree. */
  cli = env_cli != NULL ? g_strdup (env_cli)
                        : g_test_build_filename (G_TEST_BUILT, "..", "..", "src", "cli",
                                                 "quantscope-cli", NULL);
}

static void
teardown_files (void)
{
  g_remove (fixture);
  g_remove (text_file);
  g_remove (empty_file);
  g_rmdir (tmp_dir);
  g_clear_pointer (&fixture, g_free);
  g_clear_pointer (&text_file, g_free);
  g_clear_pointer (&empty_file, g_free);
  g_clear_pointer (&missing_file, g_free);
  g_clear_pointer (&sample_file, g_free);
  g_clear_pointer (&tmp_dir, g_free);
  g_clear_pointer (&cli, g_free);
}

/* ---- running the CLI ---------------------------------------------------- */

/* @args: the arguments after the program name (borrowed strings). */
static QsTestCliRun *
run_cli_args (GPtrArray *args)
{
  return qs_test_cli_run_args (cli, args);
}

static GPtrArray *
collect_args (const char *first,
              va_list     ap)
{
  GPtrArray *args = g_ptr_array_new ();

  for (const char *arg = first; arg != NULL; arg = va_arg (ap, const char *))
    g_ptr_array_add (args, (gpointer) arg);
  return args;
}

static QsTestCliRun *run_cli (const char *first, ...) G_GNUC_NULL_TERMINATED;

static QsTestCliRun *
run_cli (const char *first,
         ...)
{
  g_autoptr(GPtrArray) args = NULL;
  va_list ap;

  va_start (ap, first);
  args = collect_args (first, ap);
  va_end (ap);
  return run_cli_args (args);
}

/* Runs a command that must succeed and print one JSON document. */
static JsonNode *
run_json_args (GPtrArray *args)
{
  g_autoptr(QsTestCliRun) run = run_cli_args (args);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  if (run->status != 0)
    g_test_message ("stderr: %s", run->err);
  g_assert_cmpint (run->status, ==, 0);
  g_assert_cmpstr (run->err, ==, "");
  json_parser_load_from_data (parser, run->out, -1, &error);
  g_assert_no_error (error);
  g_assert_nonnull (json_parser_get_root (parser));
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
  return json_parser_steal_root (parser);
}

static JsonNode *run_json (const char *first, ...) G_GNUC_NULL_TERMINATED;

/* The same with the arguments listed, NULL-terminated. */
static JsonNode *
run_json (const char *first,
          ...)
{
  g_autoptr(GPtrArray) args = NULL;
  va_list ap;

  va_start (ap, first);
  args = collect_args (first, ap);
  va_end (ap);
  return run_json_args (args);
}

static JsonNode *stats_json_in (const char *file, const char *tensor, ...) G_GNUC_NULL_TERMINATED;

/* `stats FILE --tensor TENSOR --json` plus the NULL-terminated options. */
static JsonNode *
stats_json_in (const char *file,
               const char *tensor,
               ...)
{
  g_autoptr(GPtrArray) args = NULL;
  va_list ap;

  va_start (ap, tensor);
  args = collect_args (va_arg (ap, const char *), ap);
  va_end (ap);
  g_ptr_array_insert (args, 0, (gpointer) "stats");
  g_ptr_array_insert (args, 1, (gpointer) file);
  g_ptr_array_insert (args, 2, (gpointer) "--tensor");
  g_ptr_array_insert (args, 3, (gpointer) tensor);
  g_ptr_array_insert (args, 4, (gpointer) "--json");
  return run_json_args (args);
}

#define stats_json(tensor, ...) stats_json_in (fixture, (tensor), __VA_ARGS__)

/* The seed notes' per-tensor scheme, the default before issue 9 made it
 * per-channel symmetric: the options of tests written for it. */
#define SEED_SCHEME "--granularity", "tensor", "--mapping", "asymmetric"

static JsonNode *
layers_json (const char *file)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new ();

  g_ptr_array_add (args, (gpointer) "layers");
  g_ptr_array_add (args, (gpointer) file);
  g_ptr_array_add (args, (gpointer) "--json");
  return run_json_args (args);
}

static void assert_fails (const char *first, ...) G_GNUC_NULL_TERMINATED;

/* Bad input of any kind: status 2, nothing on stdout (never half a JSON
 * document), and exactly one line on stderr naming the program. */
static void
assert_fails (const char *first,
              ...)
{
  g_autoptr(GPtrArray) args = NULL;
  g_autoptr(QsTestCliRun) run = NULL;
  const char *newline;
  va_list ap;

  va_start (ap, first);
  args = collect_args (first, ap);
  va_end (ap);
  run = run_cli_args (args);

  g_test_message ("stderr: %s", run->err);
  g_assert_cmpint (run->status, ==, 2);
  g_assert_cmpstr (run->out, ==, "");
  g_assert_true (g_str_has_prefix (run->err, "quantscope-cli: "));
  newline = strchr (run->err, '\n');
  g_assert_nonnull (newline);
  g_assert_cmpstr (newline, ==, "\n");
  /* The message says something after the prefix. */
  g_assert_cmpint (strlen (run->err), >, strlen ("quantscope-cli: \n"));
}

/* ---- JSON accessors ----------------------------------------------------- */

static JsonNode *
member (JsonObject *object,
        const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL)
    g_test_message ("missing member “%s”", name);
  g_assert_nonnull (node);
  return node;
}

static void
assert_number_node (JsonNode *node)
{
  GType type;

  g_assert_cmpint (json_node_get_node_type (node), ==, JSON_NODE_VALUE);
  type = json_node_get_value_type (node);
  g_assert_true (type == G_TYPE_DOUBLE || type == G_TYPE_INT64);
}

static double
get_number (JsonObject *object,
            const char *name)
{
  JsonNode *node = member (object, name);

  assert_number_node (node);
  return json_node_get_double (node);
}

static gint64
get_int (JsonObject *object,
         const char *name)
{
  JsonNode *node = member (object, name);

  g_assert_cmpint (json_node_get_node_type (node), ==, JSON_NODE_VALUE);
  g_assert_cmpuint (json_node_get_value_type (node), ==, G_TYPE_INT64);
  return json_node_get_int (node);
}

static gboolean
get_bool (JsonObject *object,
          const char *name)
{
  JsonNode *node = member (object, name);

  g_assert_cmpint (json_node_get_node_type (node), ==, JSON_NODE_VALUE);
  g_assert_cmpuint (json_node_get_value_type (node), ==, G_TYPE_BOOLEAN);
  return json_node_get_boolean (node);
}

static const char *
get_string (JsonObject *object,
            const char *name)
{
  JsonNode *node = member (object, name);

  g_assert_cmpint (json_node_get_node_type (node), ==, JSON_NODE_VALUE);
  g_assert_cmpuint (json_node_get_value_type (node), ==, G_TYPE_STRING);
  return json_node_get_string (node);
}

static void
assert_null (JsonObject *object,
             const char *name)
{
  g_assert_cmpint (json_node_get_node_type (member (object, name)), ==, JSON_NODE_NULL);
}

static JsonArray *
get_array (JsonObject *object,
           const char *name)
{
  JsonNode *node = member (object, name);

  g_assert_cmpint (json_node_get_node_type (node), ==, JSON_NODE_ARRAY);
  return json_node_get_array (node);
}

static JsonObject *
get_object (JsonObject *object,
            const char *name)
{
  JsonNode *node = member (object, name);

  g_assert_cmpint (json_node_get_node_type (node), ==, JSON_NODE_OBJECT);
  return json_node_get_object (node);
}

static double
number_at (JsonArray *array,
           guint      index)
{
  JsonNode *node = json_array_get_element (array, index);

  assert_number_node (node);
  return json_node_get_double (node);
}

static gint64
int_at (JsonArray *array,
        guint      index)
{
  JsonNode *node = json_array_get_element (array, index);

  g_assert_cmpint (json_node_get_node_type (node), ==, JSON_NODE_VALUE);
  g_assert_cmpuint (json_node_get_value_type (node), ==, G_TYPE_INT64);
  return json_node_get_int (node);
}

static gint64
sum_ints (JsonArray *array)
{
  gint64 sum = 0;

  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      gint64 v = int_at (array, i);
      g_assert_cmpint (v, >=, 0);
      sum += v;
    }
  return sum;
}

static void
assert_shape (JsonObject   *object,
              guint         rank,
              const gint64 *dims)
{
  JsonArray *shape = get_array (object, "shape");

  g_assert_cmpuint (json_array_get_length (shape), ==, rank);
  for (guint d = 0; d < rank; d++)
    g_assert_cmpint (int_at (shape, d), ==, dims[d]);
}

/* Every value counted once: in a bin, below the range or above it. */
static void
assert_histogram_complete (JsonObject *report)
{
  JsonObject *h = get_object (report, "histogram");
  gint64 finite = get_int (report, "finite_count");
  gint64 bins = get_int (h, "bins");

  g_assert_cmpuint (json_array_get_length (get_array (h, "counts")), ==, bins);
  g_assert_cmpuint (json_array_get_length (get_array (h, "quantized_counts")), ==, bins);
  g_assert_cmpint (sum_ints (get_array (h, "counts")) + get_int (h, "underflow") + get_int (h, "overflow"),
                   ==, finite);
}

/* ---- stats: the report -------------------------------------------------- */

static void
test_stats_keys (void)
{
  g_autoptr(JsonNode) root = stats_json ("/w", SEED_SCHEME, NULL);
  JsonObject *r = json_node_get_object (root);
  const char *numbers[] = {
    "scale", "zero_point", "range_lo", "range_hi", "mse", "rmse", "max_abs_error",
    "sqnr_db", "cosine", "zero_error", "compression_ratio",
  };
  const char *ints[] = {
    "count", "bits", "qmin", "qmax", "clipped_count", "levels_used", "nonfinite_count",
    "size_fp32_bytes", "size_quant_bytes",
  };
  JsonObject *h;

  g_assert_cmpstr (get_string (r, "tensor"), ==, "/w");
  get_array (r, "shape");
  g_assert_cmpstr (get_string (r, "mapping"), ==, "asymmetric");
  g_assert_cmpstr (get_string (r, "granularity"), ==, "tensor");
  g_assert_cmpstr (get_string (r, "range_method"), ==, "minmax");
  /* Per-tensor has no axis, but the key is there. */
  assert_null (r, "axis");
  get_bool (r, "zero_exact");
  for (gsize i = 0; i < G_N_ELEMENTS (numbers); i++)
    get_number (r, numbers[i]);
  for (gsize i = 0; i < G_N_ELEMENTS (ints); i++)
    get_int (r, ints[i]);

  h = get_object (r, "histogram");
  get_int (h, "bins");
  get_number (h, "lo");
  get_number (h, "hi");
  get_array (h, "counts");
  get_array (h, "quantized_counts");
  get_int (h, "underflow");
  get_int (h, "overflow");
}

/* /w = [-1, 0, 0.3, 0.9921875]: (0.9921875 + 1) / 255 is exactly 2^-7, so
 * the codes are -128, 0, round (38.4) = 38 and 127, and only 0.3 is off. */
static void
test_stats_seed_scheme (void)
{
  g_autoptr(JsonNode) root = stats_json ("/w", SEED_SCHEME, NULL);
  JsonObject *r = json_node_get_object (root);
  const gint64 shape[] = { 4 };
  double x = 0.3f;
  double recon = 38.0 / 128.0;
  double err = x - recon;
  double x2 = 1.0 + x * x + 0.9921875 * 0.9921875;
  double recon2 = 1.0 + recon * recon + 0.9921875 * 0.9921875;
  double cross = 1.0 + x * recon + 0.9921875 * 0.9921875;
  double mse = err * err / 4.0;
  JsonObject *h;

  assert_shape (r, 1, shape);
  g_assert_cmpint (get_int (r, "count"), ==, 4);
  g_assert_cmpint (get_int (r, "bits"), ==, 8);
  g_assert_cmpint (get_int (r, "qmin"), ==, -128);
  g_assert_cmpint (get_int (r, "qmax"), ==, 127);
  g_assert_cmpfloat (get_number (r, "scale"), ==, 0.0078125);
  g_assert_cmpfloat (get_number (r, "zero_point"), ==, 0.0);
  g_assert_cmpfloat (get_number (r, "range_lo"), ==, -1.0);
  g_assert_cmpfloat (get_number (r, "range_hi"), ==, 0.9921875);
  g_assert_cmpfloat_with_epsilon (get_number (r, "mse"), mse, mse * 1e-9);
  g_assert_cmpfloat_with_epsilon (get_number (r, "rmse"), sqrt (mse), sqrt (mse) * 1e-9);
  g_assert_cmpfloat_with_epsilon (get_number (r, "max_abs_error"), err, err * 1e-9);
  g_assert_cmpfloat_with_epsilon (get_number (r, "sqnr_db"), 10.0 * log10 (x2 / (err * err)), 1e-6);
  g_assert_cmpfloat_with_epsilon (get_number (r, "cosine"), cross / sqrt (x2 * recon2), 1e-12);
  g_assert_cmpint (get_int (r, "levels_used"), ==, 4);
  g_assert_cmpint (get_int (r, "clipped_count"), ==, 0);
  g_assert_cmpint (get_int (r, "finite_count"), ==, 4);
  g_assert_cmpint (get_int (r, "nonfinite_count"), ==, 0);
  g_assert_true (get_bool (r, "zero_exact"));
  g_assert_cmpfloat (get_number (r, "zero_error"), ==, 0.0);
  g_assert_cmpint (get_int (r, "size_fp32_bytes"), ==, 16);
  /* 4 one-byte codes plus one float32 scale and one int32 zero point. */
  g_assert_cmpint (get_int (r, "size_quant_bytes"), ==, 12);
  g_assert_cmpfloat_with_epsilon (get_number (r, "compression_ratio"), 16.0 / 12.0, 1e-12);

  h = get_object (r, "histogram");
  g_assert_cmpint (get_int (h, "bins"), ==, 256);
  g_assert_cmpfloat (get_number (h, "lo"), ==, -1.0);
  g_assert_cmpfloat (get_number (h, "hi"), ==, 0.9921875);
  g_assert_cmpint (get_int (h, "underflow"), ==, 0);
  g_assert_cmpint (get_int (h, "overflow"), ==, 0);
  assert_histogram_complete (r);
  g_assert_cmpint (sum_ints (get_array (h, "quantized_counts")) + get_int (h, "quantized_underflow")
                   + get_int (h, "quantized_overflow"), ==, 4);
}

/* /w = [-1, 0, 0.3, 0.9921875] under the default, TFLite's weights: one
 * scale (a 1-D tensor has no channels to split) of max|x| / 127, zero
 * point 0, codes -127, 0, round (38.1) = 38 and round (126.008) = 126. */
static void
test_stats_default_scheme (void)
{
  g_autoptr(JsonNode) root = stats_json ("/w", NULL);
  JsonObject *r = json_node_get_object (root);
  /* Codes dequantize in float32, at the float32 scale. */
  float scale = 1.0f / 127.0f;
  double x = 0.3f;
  double err_x = x - (float) (38 * scale);
  double err_top = (float) (126 * scale) - 0.9921875;
  double mse = (err_x * err_x + err_top * err_top) / 4.0;

  g_assert_cmpstr (get_string (r, "mapping"), ==, "symmetric");
  g_assert_true (get_bool (r, "narrow"));
  g_assert_cmpint (get_int (r, "qmin"), ==, -127);
  g_assert_cmpint (get_int (r, "qmax"), ==, 127);
  g_assert_cmpfloat (get_number (r, "scale"), ==, scale);
  g_assert_cmpfloat (get_number (r, "zero_point"), ==, 0.0);
  g_assert_cmpfloat_with_epsilon (get_number (r, "mse"), mse, mse * 1e-6);
  g_assert_cmpfloat_with_epsilon (get_number (r, "max_abs_error"), MAX (err_x, err_top), 1e-7);
  g_assert_cmpint (get_int (r, "levels_used"), ==, 4);
  g_assert_cmpint (get_int (r, "clipped_count"), ==, 0);
}

/* 0..255 unsigned: scale 1, every value a code of its own, no error. An
 * infinite SQNR has no JSON number, so it must be null, not "Infinity". */
static void
test_stats_unsigned_lossless (void)
{
  g_autoptr(JsonNode) root = stats_json ("/u", "--unsigned", SEED_SCHEME, NULL);
  JsonObject *r = json_node_get_object (root);

  g_assert_false (get_bool (r, "signed"));
  g_assert_cmpint (get_int (r, "qmin"), ==, 0);
  g_assert_cmpint (get_int (r, "qmax"), ==, 255);
  g_assert_cmpfloat (get_number (r, "scale"), ==, 1.0);
  g_assert_cmpfloat (get_number (r, "zero_point"), ==, 0.0);
  g_assert_cmpfloat (get_number (r, "mse"), ==, 0.0);
  g_assert_cmpfloat (get_number (r, "max_abs_error"), ==, 0.0);
  assert_null (r, "sqnr_db");
  g_assert_cmpfloat_with_epsilon (get_number (r, "cosine"), 1.0, 1e-12);
  g_assert_cmpint (get_int (r, "levels_used"), ==, 256);
  g_assert_cmpint (get_int (r, "count"), ==, 256);
  assert_histogram_complete (r);
}

/* All zeros: SQNR and cosine are 0/0, so null, and the document must still
 * parse (run_json_args checks that). */
static void
test_stats_all_zeros (void)
{
  g_autoptr(JsonNode) root = stats_json ("/zeros", NULL);
  JsonObject *r = json_node_get_object (root);

  assert_null (r, "sqnr_db");
  assert_null (r, "cosine");
  g_assert_true (get_bool (r, "zero_exact"));
  g_assert_cmpfloat (get_number (r, "zero_error"), ==, 0.0);
  g_assert_cmpfloat (get_number (r, "mse"), ==, 0.0);
  /* A zero-width range would give scale 0; it is clamped instead. */
  g_assert_cmpfloat (get_number (r, "scale"), >, 0.0);
  g_assert_cmpint (get_int (r, "scale_clamped_channels"), ==, 1);
  g_assert_cmpint (get_int (r, "finite_count"), ==, 8);
  assert_histogram_complete (r);
}

/* NaN and ±Inf are counted and otherwise ignored: the quantizer is the one
 * of the finite values alone. */
static void
test_stats_nonfinite (void)
{
  g_autoptr(JsonNode) mixed_root = stats_json ("/nan", NULL);
  g_autoptr(JsonNode) finite_root = stats_json ("/nanref", NULL);
  JsonObject *mixed = json_node_get_object (mixed_root);
  JsonObject *finite = json_node_get_object (finite_root);

  g_assert_cmpint (get_int (mixed, "count"), ==, 6);
  g_assert_cmpint (get_int (mixed, "nonfinite_count"), ==, 3);
  g_assert_cmpint (get_int (mixed, "finite_count"), ==, 3);
  g_assert_cmpfloat (get_number (mixed, "scale"), ==, get_number (finite, "scale"));
  g_assert_cmpfloat (get_number (mixed, "zero_point"), ==, get_number (finite, "zero_point"));
  g_assert_cmpfloat (get_number (mixed, "range_lo"), ==, -1.0);
  g_assert_cmpfloat (get_number (mixed, "range_hi"), ==, 1.0);
  g_assert_cmpfloat (get_number (mixed, "mse"), ==, get_number (finite, "mse"));
  assert_histogram_complete (mixed);
}

/* /pc is (4, 2): a generic rank-2 tensor not named *weight has its channels
 * on the last axis. */
static void
test_stats_per_channel (void)
{
  g_autoptr(JsonNode) tensor_root = stats_json ("/pc", SEED_SCHEME, NULL);
  g_autoptr(JsonNode) channel_root = stats_json ("/pc", "--granularity", "channel", "--mapping", "asymmetric", NULL);
  g_autoptr(JsonNode) axis0_root = stats_json ("/pc", "--granularity", "channel", "--axis", "0",
                                               "--mapping", "asymmetric", NULL);
  g_autoptr(JsonNode) implied_root = stats_json ("/pc", "--axis", "-1", "--mapping", "asymmetric", NULL);
  JsonObject *t = json_node_get_object (tensor_root);
  JsonObject *c = json_node_get_object (channel_root);
  JsonObject *a0 = json_node_get_object (axis0_root);
  JsonObject *implied = json_node_get_object (implied_root);
  const char *per_channel[] = { "scale", "zero_point", "range_lo", "range_hi" };
  const gint64 shape[] = { 4, 2 };

  assert_shape (c, 2, shape);
  g_assert_cmpstr (get_string (c, "granularity"), ==, "channel");
  g_assert_cmpint (get_int (c, "axis"), ==, 1);
  g_assert_cmpint (get_int (c, "channels"), ==, 2);
  for (gsize i = 0; i < G_N_ELEMENTS (per_channel); i++)
    {
      JsonArray *values = get_array (c, per_channel[i]);
      g_assert_cmpuint (json_array_get_length (values), ==, 2);
      g_assert_cmpuint (json_array_get_length (get_array (a0, per_channel[i])), ==, 4);
      /* Per tensor the same keys are plain numbers. */
      get_number (t, per_channel[i]);
    }
  g_assert_cmpfloat (number_at (get_array (c, "range_lo"), 0), ==, -1.0);
  g_assert_cmpfloat (number_at (get_array (c, "range_lo"), 1), ==, -100.0);
  g_assert_cmpfloat (number_at (get_array (c, "range_hi"), 0), ==, 1.0);
  g_assert_cmpfloat (number_at (get_array (c, "range_hi"), 1), ==, 100.0);
  g_assert_cmpfloat_with_epsilon (number_at (get_array (c, "scale"), 0), 2.0 / 255.0, 1e-8);
  g_assert_cmpfloat_with_epsilon (number_at (get_array (c, "scale"), 1), 200.0 / 255.0, 1e-6);
  /* Each channel pays for its own scale and zero point. */
  g_assert_cmpint (get_int (c, "size_quant_bytes"), ==, 8 + 2 * 8);

  g_assert_cmpstr (get_string (a0, "granularity"), ==, "channel");
  g_assert_cmpint (get_int (a0, "axis"), ==, 0);
  g_assert_cmpint (get_int (a0, "channels"), ==, 4);
  /* Row 0 is [-1, -100]; the range always takes in 0. */
  g_assert_cmpfloat (number_at (get_array (a0, "range_lo"), 0), ==, -100.0);
  g_assert_cmpfloat (number_at (get_array (a0, "range_hi"), 0), ==, 0.0);
  g_assert_cmpfloat (number_at (get_array (a0, "range_hi"), 3), ==, 100.0);

  /* Naming an axis alone asks for per-channel; -1 counts from the end. */
  g_assert_cmpstr (get_string (implied, "granularity"), ==, "channel");
  g_assert_cmpint (get_int (implied, "axis"), ==, 1);

  /* Channel 0 gets a scale 100 times finer than the shared one. */
  g_assert_cmpfloat (get_number (c, "mse"), <, get_number (t, "mse"));
  g_assert_cmpfloat (get_number (c, "mse"), ==, get_number (implied, "mse"));
  assert_histogram_complete (c);
  assert_histogram_complete (a0);
}

/* HDF5 converts every float dtype and byte order to native float32; with
 * exactly representable values nothing may differ. */
static void
test_stats_dtypes (void)
{
  g_autoptr(JsonNode) ref_root = stats_json ("/f32", SEED_SCHEME, NULL);
  JsonObject *ref = json_node_get_object (ref_root);
  const char *others[] = { "/be", "/f64", "/f16" };
  const char *dtypes[] = { "float32", "float64", "float16" };

  g_assert_cmpstr (get_string (ref, "dtype"), ==, "float32");
  g_assert_cmpfloat (get_number (ref, "scale"), ==, 0.0078125);
  for (gsize i = 0; i < G_N_ELEMENTS (others); i++)
    {
      g_autoptr(JsonNode) root = stats_json (others[i], SEED_SCHEME, NULL);
      JsonObject *r = json_node_get_object (root);

      g_assert_cmpstr (get_string (r, "dtype"), ==, dtypes[i]);
      g_assert_cmpfloat (get_number (r, "scale"), ==, get_number (ref, "scale"));
      g_assert_cmpfloat (get_number (r, "zero_point"), ==, get_number (ref, "zero_point"));
      g_assert_cmpfloat (get_number (r, "range_lo"), ==, get_number (ref, "range_lo"));
      g_assert_cmpfloat (get_number (r, "range_hi"), ==, get_number (ref, "range_hi"));
      g_assert_cmpfloat (get_number (r, "mse"), ==, get_number (ref, "mse"));
      g_assert_cmpint (get_int (r, "levels_used"), ==, get_int (ref, "levels_used"));
      /* Sizes compare against float32 whatever the stored width. */
      g_assert_cmpint (get_int (r, "size_fp32_bytes"), ==, 16);
    }
}

static void
test_stats_histogram_options (void)
{
  g_autoptr(JsonNode) bins_root = stats_json ("/nan", "--bins", "16", NULL);
  g_autoptr(JsonNode) range_root = stats_json ("/w", "--hist-range", "-0.5,0.5", "--bins", "4", NULL);
  JsonObject *bins = json_node_get_object (bins_root);
  JsonObject *range = json_node_get_object (range_root);
  JsonObject *h;

  h = get_object (bins, "histogram");
  g_assert_cmpint (get_int (h, "bins"), ==, 16);
  g_assert_cmpuint (json_array_get_length (get_array (h, "counts")), ==, 16);
  assert_histogram_complete (bins);

  /* -1 falls below [-0.5, 0.5] and 0.9921875 above it; 0 and 0.3 inside. */
  h = get_object (range, "histogram");
  g_assert_cmpint (get_int (h, "bins"), ==, 4);
  g_assert_cmpfloat (get_number (h, "lo"), ==, -0.5);
  g_assert_cmpfloat (get_number (h, "hi"), ==, 0.5);
  g_assert_cmpint (get_int (h, "underflow"), ==, 1);
  g_assert_cmpint (get_int (h, "overflow"), ==, 1);
  g_assert_cmpint (sum_ints (get_array (h, "counts")), ==, 2);
  assert_histogram_complete (range);
}

/* ---- stats: each scheme option ------------------------------------------ */

static void
test_option_bits (void)
{
  g_autoptr(JsonNode) root = stats_json ("/w", "--bits", "4", SEED_SCHEME, NULL);
  g_autoptr(JsonNode) short_root = stats_json ("/w", "-b", "16", SEED_SCHEME, NULL);
  JsonObject *r = json_node_get_object (root);
  JsonObject *s = json_node_get_object (short_root);

  g_assert_cmpint (get_int (r, "bits"), ==, 4);
  g_assert_cmpint (get_int (r, "qmin"), ==, -8);
  g_assert_cmpint (get_int (r, "qmax"), ==, 7);
  g_assert_cmpfloat_with_epsilon (get_number (r, "scale"), 1.9921875 / 15.0, 1e-7);
  /* 4 codes of 4 bits fill 2 bytes. */
  g_assert_cmpint (get_int (r, "size_quant_bytes"), ==, 2 + 8);
  g_assert_cmpint (get_int (r, "levels_used"), <=, 16);

  g_assert_cmpint (get_int (s, "qmin"), ==, -32768);
  g_assert_cmpint (get_int (s, "qmax"), ==, 32767);
  g_assert_cmpint (get_int (s, "size_quant_bytes"), ==, 8 + 8);
}

static void
test_option_narrow (void)
{
  g_autoptr(JsonNode) root = stats_json ("/w", "--narrow", SEED_SCHEME, NULL);
  JsonObject *r = json_node_get_object (root);

  g_assert_true (get_bool (r, "narrow"));
  g_assert_cmpint (get_int (r, "qmin"), ==, -127);
  g_assert_cmpint (get_int (r, "qmax"), ==, 127);
  g_assert_cmpfloat_with_epsilon (get_number (r, "scale"), 1.9921875 / 254.0, 1e-8);
}

static void
test_option_symmetric (void)
{
  g_autoptr(JsonNode) root = stats_json ("/w", "--mapping", "symmetric", "--full-range", "--granularity", "tensor", NULL);
  JsonObject *r = json_node_get_object (root);

  g_assert_cmpstr (get_string (r, "mapping"), ==, "symmetric");
  g_assert_cmpfloat (get_number (r, "zero_point"), ==, 0.0);
  /* amax 1 spread over 255 steps. */
  g_assert_cmpfloat_with_epsilon (get_number (r, "scale"), 1.0 / 127.5, 1e-8);
  g_assert_true (get_bool (r, "zero_exact"));
  g_assert_true (get_bool (r, "zero_nudge"));
}

/* Symmetric signed 8-bit without the nudge maps -amax to -128 and amax to
 * 127, which puts 0.0 at code -0.5: off the grid. */
static void
test_option_no_zero_nudge (void)
{
  g_autoptr(JsonNode) root = stats_json ("/w", "--mapping", "symmetric", "--full-range", "--no-zero-nudge",
                                         "--granularity", "tensor", NULL);
  JsonObject *r = json_node_get_object (root);
  double zero_point = get_number (r, "zero_point");

  g_assert_false (get_bool (r, "zero_nudge"));
  g_assert_cmpfloat (fabs (zero_point - nearbyint (zero_point)), >, 0.25);
  g_assert_cmpfloat_with_epsilon (zero_point, -0.5, 1e-4);
  g_assert_false (get_bool (r, "zero_exact"));
  g_assert_cmpfloat (get_number (r, "zero_error"), >, 0.0);
}

static void
test_option_range (void)
{
  g_autoptr(JsonNode) pct_root = stats_json ("/u", "--range", "percentile:99", NULL);
  g_autoptr(JsonNode) mse_root = stats_json ("/u", "--range", "mse", NULL);
  g_autoptr(JsonNode) kl_root = stats_json ("/u", "-r", "kl", NULL);
  g_autoptr(JsonNode) minmax_root = stats_json ("/u", "--range", "minmax", NULL);
  g_autoptr(JsonNode) manual_root = stats_json ("/w", "--range", "manual:-0.5,0.5", NULL);
  JsonObject *pct = json_node_get_object (pct_root);
  JsonObject *mse = json_node_get_object (mse_root);
  JsonObject *kl = json_node_get_object (kl_root);
  JsonObject *minmax = json_node_get_object (minmax_root);
  JsonObject *manual = json_node_get_object (manual_root);

  g_assert_cmpstr (get_string (pct, "range_method"), ==, "percentile");
  g_assert_cmpfloat (get_number (pct, "percentile"), ==, 99.0);
  /* The top 1 % of 0..255 is cut off, so some values clip. */
  g_assert_cmpfloat (get_number (pct, "range_hi"), <, 255.0);
  g_assert_cmpfloat (get_number (pct, "range_hi"), >, 240.0);
  g_assert_cmpint (get_int (pct, "clipped_count"), >, 0);

  g_assert_cmpstr (get_string (mse, "range_method"), ==, "mse");
  g_assert_cmpfloat (get_number (mse, "range_hi"), <=, 255.0);
  /* Searching for the lowest error cannot do worse than min-max. */
  g_assert_cmpfloat (get_number (mse, "mse"), <=, get_number (minmax, "mse"));
  g_assert_cmpstr (get_string (kl, "range_method"), ==, "kl");
  g_assert_cmpfloat (get_number (kl, "range_hi"), <=, 255.0);
  g_assert_cmpfloat (get_number (kl, "range_hi"), >, 0.0);
  g_assert_cmpstr (get_string (minmax, "range_method"), ==, "minmax");

  g_assert_cmpstr (get_string (manual, "range_method"), ==, "manual");
  g_assert_cmpfloat (get_number (manual, "range_lo"), ==, -0.5);
  g_assert_cmpfloat (get_number (manual, "range_hi"), ==, 0.5);
  /* -1 and 0.9921875 lie outside [-0.5, 0.5]. */
  g_assert_cmpint (get_int (manual, "clipped_count"), ==, 2);
}

/* /half = [0, 0.5, 255] unsigned has scale 1: 0.5 is a tie that half-even
 * sends to code 0 (shared with 0.0) and half-away to code 1. */
static void
test_option_rounding (void)
{
  g_autoptr(JsonNode) even_root = stats_json ("/half", "--unsigned", "--rounding", "even", SEED_SCHEME, NULL);
  g_autoptr(JsonNode) away_root = stats_json ("/half", "--unsigned", "--rounding", "away", SEED_SCHEME, NULL);
  JsonObject *even = json_node_get_object (even_root);
  JsonObject *away = json_node_get_object (away_root);

  g_assert_cmpfloat (get_number (even, "scale"), ==, 1.0);
  g_assert_cmpstr (get_string (even, "rounding"), ==, "even");
  g_assert_cmpstr (get_string (away, "rounding"), ==, "away");
  g_assert_cmpint (get_int (even, "levels_used"), ==, 2);
  g_assert_cmpint (get_int (away, "levels_used"), ==, 3);
  g_assert_cmpfloat_with_epsilon (get_number (even, "mse"), 0.25 / 3.0, 1e-15);
  g_assert_cmpfloat_with_epsilon (get_number (away, "mse"), 0.25 / 3.0, 1e-15);
}

static void
test_option_format (void)
{
  const struct {
    const char *name;
    gint64      bits;
    gint64      quant_bytes;
  } formats[] = {
    /* Half formats store 2 bytes a value; FP8 1 byte plus a float32 scale. */
    { "fp16", 16, 8 },
    { "bf16", 16, 8 },
    { "fp8-e4m3", 8, 4 + 4 },
    { "fp8-e5m2", 8, 4 + 4 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (formats); i++)
    {
      g_autoptr(JsonNode) root = stats_json ("/f32", "--format", formats[i].name, NULL);
      JsonObject *r = json_node_get_object (root);

      g_assert_cmpstr (get_string (r, "format"), ==, formats[i].name);
      g_assert_cmpint (get_int (r, "bits"), ==, formats[i].bits);
      g_assert_cmpint (get_int (r, "size_quant_bytes"), ==, formats[i].quant_bytes);
      g_assert_cmpfloat (get_number (r, "mse"), >=, 0.0);
      assert_histogram_complete (r);
      /* -1, 0, 0.375 and 0.9921875 have at most 7 significant bits: both
       * 16-bit formats hold them exactly. */
      if (formats[i].bits == 16)
        {
          g_assert_cmpfloat (get_number (r, "mse"), ==, 0.0);
          assert_null (r, "sqnr_db");
        }
    }
}

/* The worker count must not change a single number. */
static void
test_option_threads (void)
{
  g_autoptr(JsonNode) one_root = stats_json ("/u", "-j", "1", NULL);
  g_autoptr(JsonNode) four_root = stats_json ("/u", "--threads", "4", NULL);
  JsonObject *one = json_node_get_object (one_root);
  JsonObject *four = json_node_get_object (four_root);

  g_assert_cmpfloat (get_number (one, "scale"), ==, get_number (four, "scale"));
  g_assert_cmpfloat (get_number (one, "mse"), ==, get_number (four, "mse"));
  g_assert_cmpint (get_int (one, "levels_used"), ==, get_int (four, "levels_used"));
}

/* Without --json both commands print text, and only on stdout. */
static void
test_text_output (void)
{
  g_autoptr(QsTestCliRun) stats = run_cli ("stats", fixture, "--tensor", "/w", NULL);
  g_autoptr(QsTestCliRun) layers = run_cli ("layers", fixture, NULL);

  g_assert_cmpint (stats->status, ==, 0);
  g_assert_cmpstr (stats->err, ==, "");
  g_assert_nonnull (strstr (stats->out, "/w"));
  g_assert_cmpint (layers->status, ==, 0);
  g_assert_cmpstr (layers->err, ==, "");
  g_assert_nonnull (strstr (layers->out, "/pc"));
}

/* ---- errors ------------------------------------------------------------- */

static void
test_error_files (void)
{
  const char *bad[] = { missing_file, text_file, empty_file, tmp_dir };

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      assert_fails ("stats", bad[i], "--tensor", "/w", "--json", NULL);
      assert_fails ("layers", bad[i], "--json", NULL);
    }
}

static void
test_error_tensors (void)
{
  const char *bad[] = {
    "/nope",     /* no such path */
    "/int",      /* not floating point */
    "/str",      /* strings */
    "/empty",    /* no elements */
    "/allnan",   /* nothing finite to take a range from */
  };

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    assert_fails ("stats", fixture, "--tensor", bad[i], "--json", NULL);
}

static void
test_error_options (void)
{
  const char *bad[][2] = {
    { "--bits", "1" },
    { "--bits", "17" },
    { "--bits", "abc" },
    { "--range", "manual:1,0" },
    { "--range", "manual:1" },
    { "--range", "percentile:101" },
    { "--range", "bogus" },
    { "--mapping", "bogus" },
    { "--granularity", "bogus" },
    { "--rounding", "bogus" },
    { "--format", "bogus" },
    { "--bins", "0" },
    { "--hist-range", "1,0" },
    { "--threads", "65" },
    { "--axis", "x" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    assert_fails ("stats", fixture, "--tensor", "/w", "--json", bad[i][0], bad[i][1], NULL);

  /* /pc has two dimensions, so there is no axis 5. */
  assert_fails ("stats", fixture, "--tensor", "/pc", "--json", "--granularity", "channel",
                "--axis", "5", NULL);
  assert_fails ("stats", fixture, "--tensor", "/w", "--json", "--frobnicate", NULL);
}

static void
test_error_usage (void)
{
  /* No --tensor, no FILE, two FILEs. */
  assert_fails ("stats", fixture, "--json", NULL);
  assert_fails ("stats", "--tensor", "/w", "--json", NULL);
  assert_fails ("stats", fixture, fixture, "--tensor", "/w", "--json", NULL);
  assert_fails ("layers", "--json", NULL);
  assert_fails ("layers", fixture, fixture, NULL);
  assert_fails ("layers", fixture, "--frobnicate", NULL);
  assert_fails ("frobnicate", fixture, NULL);
}

/* ---- layers ------------------------------------------------------------- */

static JsonObject *
find_tensor (JsonArray  *tensors,
             const char *path)
{
  JsonObject *found = NULL;

  for (guint i = 0; i < json_array_get_length (tensors) && found == NULL; i++)
    {
      JsonObject *t = json_array_get_object_element (tensors, i);
      if (g_strcmp0 (get_string (t, "path"), path) == 0)
        found = t;
    }
  if (found == NULL)
    g_test_message ("layers does not list %s", path);
  g_assert_nonnull (found);
  return found;
}

static void
test_layers_fixture (void)
{
  g_autoptr(JsonNode) root = layers_json (fixture);
  JsonObject *r = json_node_get_object (root);
  JsonArray *tensors = get_array (r, "tensors");
  const gint64 pc_shape[] = { 4, 2 };
  const gint64 empty_shape[] = { 0 };
  JsonObject *t;

  g_assert_cmpstr (get_string (r, "file"), ==, fixture);
  g_assert_cmpstr (get_string (r, "layout"), ==, "generic");
  g_assert_cmpuint (json_array_get_length (tensors), ==, FIXTURE_TENSORS);

  for (guint i = 0; i < json_array_get_length (tensors); i++)
    {
      JsonNode *node = json_array_get_element (tensors, i);

      g_assert_cmpint (json_node_get_node_type (node), ==, JSON_NODE_OBJECT);
      t = json_node_get_object (node);
      get_string (t, "path");
      get_string (t, "layer");
      get_string (t, "role");
      get_array (t, "shape");
      get_string (t, "dtype");
      get_int (t, "count");
      get_bool (t, "quantizable");
      member (t, "channel_axis");
    }

  t = find_tensor (tensors, "/pc");
  assert_shape (t, 2, pc_shape);
  g_assert_cmpstr (get_string (t, "dtype"), ==, "float32");
  g_assert_cmpint (get_int (t, "count"), ==, 8);
  g_assert_true (get_bool (t, "quantizable"));
  g_assert_cmpint (get_int (t, "channel_axis"), ==, 1);

  /* A vector has no channel axis. */
  t = find_tensor (tensors, "/w");
  assert_null (t, "channel_axis");
  g_assert_true (get_bool (t, "quantizable"));

  t = find_tensor (tensors, "/int");
  g_assert_cmpstr (get_string (t, "dtype"), ==, "int32");
  g_assert_false (get_bool (t, "quantizable"));

  t = find_tensor (tensors, "/str");
  g_assert_cmpstr (get_string (t, "dtype"), ==, "string");
  g_assert_false (get_bool (t, "quantizable"));

  t = find_tensor (tensors, "/empty");
  assert_shape (t, 1, empty_shape);
  g_assert_cmpint (get_int (t, "count"), ==, 0);
  g_assert_false (get_bool (t, "quantizable"));

  t = find_tensor (tensors, "/be");
  g_assert_cmpstr (get_string (t, "dtype"), ==, "float32");
  g_assert_true (get_bool (t, "big_endian"));
  g_assert_false (get_bool (find_tensor (tensors, "/f32"), "big_endian"));
  g_assert_cmpstr (get_string (find_tensor (tensors, "/f64"), "dtype"), ==, "float64");
  g_assert_cmpstr (get_string (find_tensor (tensors, "/f16"), "dtype"), ==, "float16");
  /* All-NaN is still a float tensor; only stats finds nothing to do. */
  g_assert_true (get_bool (find_tensor (tensors, "/allnan"), "quantizable"));
}

/* ---- the bundled sample ------------------------------------------------- */

#define SAMPLE_CONV "/model_weights/conv2d_1/conv2d_1/kernel:0"

static void
test_sample_layers (void)
{
  g_autoptr(JsonNode) root = layers_json (sample_file);
  JsonObject *r = json_node_get_object (root);
  JsonArray *tensors = get_array (r, "tensors");
  const gint64 shape[] = { 3, 3, 16, 32 };
  JsonObject *conv;

  g_assert_cmpstr (get_string (r, "layout"), ==, "keras-model");
  g_assert_cmpuint (json_array_get_length (tensors), ==, 16);
  conv = find_tensor (tensors, SAMPLE_CONV);
  g_assert_cmpstr (get_string (conv, "layer"), ==, "conv2d_1");
  g_assert_cmpstr (get_string (conv, "role"), ==, "kernel");
  assert_shape (conv, 4, shape);
  /* Keras keeps the output channels last: (kh, kw, in, out). */
  g_assert_cmpint (get_int (conv, "channel_axis"), ==, 3);
}

static void
test_sample_stats (void)
{
  g_autoptr(JsonNode) root = stats_json_in (sample_file, SAMPLE_CONV, "--granularity", "channel", NULL);
  g_autoptr(JsonNode) tensor_root = stats_json_in (sample_file, SAMPLE_CONV, NULL);
  JsonObject *r = json_node_get_object (root);
  JsonObject *t = json_node_get_object (tensor_root);

  g_assert_cmpint (get_int (r, "count"), ==, 4608);
  g_assert_cmpint (get_int (r, "axis"), ==, 3);
  g_assert_cmpint (get_int (r, "channels"), ==, 32);
  g_assert_cmpuint (json_array_get_length (get_array (r, "scale")), ==, 32);
  g_assert_cmpuint (json_array_get_length (get_array (r, "zero_point")), ==, 32);
  g_assert_cmpfloat (get_number (r, "mse"), <=, get_number (t, "mse"));
  g_assert_cmpint (get_int (r, "nonfinite_count"), ==, 0);
  assert_histogram_complete (r);
}

/* ---- compare --------------------------------------------------------------- */

/* One side of `compare` against `eval` and `stats` run on their own with
 * that side's scheme file: the same accuracy to the last bit, each
 * tensor's stats JSON equal node for node (null exactly where stats
 * refuses a tensor the set keeps in float32), and the size the sum of
 * the tensors' stored sizes with kept tensors at 4 bytes a value. */
static void
assert_compare_side (JsonObject *compare,
                     const char *side,
                     const char *model,
                     const char *scheme_file,
                     const char *limit)
{
  g_autoptr(JsonNode) eval = run_json ("eval", model, "--scheme-file", scheme_file, "--limit", limit, "--json", NULL);
  g_autoptr(JsonNode) layers = layers_json (model);
  JsonObject *summary = get_object (compare, side);
  JsonArray *tensors = get_array (compare, "tensors");
  JsonArray *all = get_array (json_node_get_object (layers), "tensors");
  guint64 size = 0;
  guint quantized = 0, kept = 0;

  g_assert_cmpfloat (get_number (summary, "fp32_top1"), ==, get_number (json_node_get_object (eval), "fp32_top1"));
  g_assert_cmpfloat (get_number (summary, "quant_top1"), ==, get_number (json_node_get_object (eval), "quant_top1"));

  for (guint i = 0; i < json_array_get_length (all); i++)
    {
      JsonObject *info = json_array_get_object_element (all, i);
      const char *path = get_string (info, "path");
      JsonObject *row = NULL;

      for (guint k = 0; k < json_array_get_length (tensors) && row == NULL; k++)
        if (g_str_equal (get_string (json_array_get_object_element (tensors, k), "tensor"), path))
          row = json_array_get_object_element (tensors, k);

      if (row != NULL && !JSON_NODE_HOLDS_NULL (json_object_get_member (row, side)))
        {
          g_autoptr(JsonNode) stats = stats_json_in (model, path, "--scheme-file", scheme_file, NULL);

          g_assert_true (json_node_equal (stats, json_object_get_member (row, side)));
          size += (guint64) get_int (json_node_get_object (stats), "size_quant_bytes");
          quantized++;
        }
      else
        {
          assert_fails ("stats", model, "--tensor", path, "--scheme-file", scheme_file, NULL);
          size += 4 * (guint64) get_int (info, "count");
          kept++;
        }
    }
  g_assert_cmpuint (quantized, >, 0);
  g_assert_cmpuint (kept, >, 0);
  g_assert_cmpint (get_int (summary, "size_bytes"), ==, (gint64) size);
}

static void
test_compare_equals_eval_and_stats (void)
{
  g_autofree char *model = g_test_build_filename (G_TEST_DIST, "..", "data", "models", "fashion-cnn.h5", NULL);
  g_autofree char *a = g_build_filename (tmp_dir, "compare-a.json", NULL);
  g_autofree char *b = g_build_filename (tmp_dir, "compare-b.json", NULL);
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(QsTestCliRun) text = NULL;

  /* A: int8 with a 6-bit depthwise override, biases and batch norm kept.
   * B: FP8 with an MXFP4 block format on one kernel, only biases kept. */
  g_assert_true (g_file_set_contents (a, "{\"version\": 1, \"default\": {\"bits\": 8},"
                                      " \"overrides\": [{\"tensors\": \"role:depthwise_kernel\", \"bits\": 6,"
                                      " \"mapping\": \"symmetric\"}]}", -1, NULL));
  g_assert_true (g_file_set_contents (b, "{\"version\": 1, \"default\": {\"format\": \"fp8-e4m3\"},"
                                      " \"overrides\": [{\"tensors\": \"*conv2d_1/kernel*\", \"format\": \"mxfp4\"}],"
                                      " \"skip\": [\"role:bias\"]}", -1, NULL));

  root = run_json ("compare", model, "--scheme-a", a, "--scheme-b", b, "--limit", "300", "--json", NULL);
  g_assert_cmpint (get_int (json_node_get_object (root), "images"), ==, 300);
  assert_compare_side (json_node_get_object (root), "a", model, a, "300");
  assert_compare_side (json_node_get_object (root), "b", model, b, "300");

  text = run_cli ("compare", model, "--scheme-a", a, "--scheme-b", b, "--limit", "300", NULL);
  g_assert_cmpint (text->status, ==, 0);
  g_assert_nonnull (strstr (text->out, "SQNR B"));
  g_assert_nonnull (strstr (text->out, "float32"));

  assert_fails ("compare", model, "--scheme-a", a, NULL);
  assert_fails ("compare", model, "--scheme-a", a, "--scheme-b", missing_file, NULL);
  assert_fails ("compare", model, "--scheme-a", a, "--scheme-b", text_file, NULL);
  assert_fails ("compare", "--scheme-a", a, "--scheme-b", b, NULL);
  assert_fails ("compare", fixture, "--scheme-a", a, "--scheme-b", b, NULL);
  assert_fails ("compare", model, "--scheme-a", a, "--scheme-b", b, "--limit", "-1", NULL);
  g_remove (a);
  g_remove (b);
}

/* compare's tensor table lines up however long the paths are: Keras
 * paths ("/model_weights/block2_sepconv1/block2_sepconv1/depthwise_kernel:0")
 * outgrow a fixed 48-column field; every row (ASCII here) ends where the
 * header's "Size B" ends. */
static void
test_compare_table_columns (void)
{
  g_autofree char *model = g_test_build_filename (G_TEST_DIST, "data", "keras-apps", "xception_small.h5", NULL);
  g_autofree char *images = g_test_build_filename (G_TEST_DIST, "data", "keras-apps",
                                                   "xception_small-images.h5", NULL);
  g_autofree char *a = g_build_filename (tmp_dir, "columns-a.json", NULL);
  g_autofree char *b = g_build_filename (tmp_dir, "columns-b.json", NULL);
  g_autoptr(QsTestCliRun) run = NULL;
  g_auto(GStrv) lines = NULL;
  gssize width = -1;
  guint rows = 0;
  gboolean long_path = FALSE;

  g_assert_true (g_file_set_contents (a, "{\"version\": 1, \"default\": {\"bits\": 8}}", -1, NULL));
  g_assert_true (g_file_set_contents (b, "{\"version\": 1, \"default\": {\"format\": \"mxfp4\"}}", -1, NULL));
  run = run_cli ("compare", model, "--scheme-a", a, "--scheme-b", b, "--data", images, NULL);
  g_assert_cmpstr (run->err, ==, "");
  g_assert_cmpint (run->status, ==, 0);
  lines = g_strsplit (run->out, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      if (g_str_has_prefix (lines[i], "Tensor "))
        width = (gssize) strlen (lines[i]);
      else if (width >= 0 && lines[i][0] == '/')
        {
          g_assert_cmpint ((gssize) strlen (lines[i]), ==, width);
          long_path |= strchr (lines[i], ' ') - lines[i] > 48;
          rows++;
        }
    }
  g_assert_cmpuint (rows, >, 10);
  g_assert_true (long_path);
  g_remove (a);
  g_remove (b);
}

/* ---- eval ----------------------------------------------------------------- */

/* The per-layer table lines up however long the file's layer names are:
 * every row's "dB" columns end where the header's SQNR titles end.
 * Xception's separable halves ("block2_sepconv1/depthwise") outgrow a
 * fixed 24-column name field. */
static void
test_eval_table_columns (void)
{
  g_autofree char *model = g_test_build_filename (G_TEST_DIST, "data", "keras-apps", "xception_small.h5", NULL);
  g_autofree char *images = g_test_build_filename (G_TEST_DIST, "data", "keras-apps",
                                                   "xception_small-images.h5", NULL);
  g_autoptr(QsTestCliRun) run = run_cli ("eval", model, "--data", images, NULL);
  g_auto(GStrv) lines = NULL;
  gssize header_end = -1;
  guint rows = 0;
  gboolean long_name = FALSE;

  g_assert_cmpstr (run->err, ==, "");
  g_assert_cmpint (run->status, ==, 0);
  lines = g_strsplit (run->out, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *line = lines[i];
      const char *weight_db, *output_db;

      if (g_str_has_prefix (line, "Layer "))
        {
          header_end = strstr (line, "Weight SQNR") - line + strlen ("Weight SQNR");
          continue;
        }
      if (header_end < 0 || *line == '\0')
        continue;
      weight_db = strstr (line, " dB");
      g_assert_nonnull (weight_db);
      output_db = strstr (weight_db + 1, " dB");
      g_assert_nonnull (output_db);
      g_assert_cmpint (weight_db + strlen (" dB") - line, ==, header_end);
      g_assert_cmpint (output_db - weight_db, ==, strlen (" dB") + 1 + 12 - strlen (" dB"));
      long_name |= strchr (line, ' ') - line > 24;
      rows++;
    }
  g_assert_cmpint (header_end, >, 0);
  g_assert_cmpuint (rows, >, 10);
  g_assert_true (long_name);
}


/* Files converted from other ecosystems (tests/data/converted/,
 * tests/reference/make_converted_models.py): every weight of a Caffe
 * snapshot listed and histogrammed per output channel (axis 0 of
 * (out, in, kh, kw)); onnx2keras's channels_first ResNet scores
 * PyTorch's own predictions; a Lambda it cannot run, or a constant that
 * would broadcast along a map's width, is refused in one line, while its
 * weights still list. */
static void
test_converted_files (void)
{
  g_autofree char *caffe = g_test_build_filename (G_TEST_DIST, "data", "converted", "caffe.caffemodel.h5", NULL);
  g_autofree char *resnet = g_test_build_filename (G_TEST_DIST, "data", "converted", "onnx2keras-resnet.h5", NULL);
  g_autofree char *lambda = g_test_build_filename (G_TEST_DIST, "data", "converted", "onnx2keras-lambda.h5", NULL);
  g_autofree char *images = g_test_build_filename (G_TEST_DIST, "data", "converted", "images-12-labelled.h5", NULL);
  g_autofree char *per_width = g_test_build_filename (G_TEST_DIST, "data", "converted", "constant-per-width.h5",
                                                      NULL);
  g_autoptr(JsonNode) listing = layers_json (caffe);
  g_autoptr(JsonNode) stats = stats_json_in (caffe, "/data/conv1/0", NULL);
  g_autoptr(JsonNode) eval = run_json ("eval", resnet, "--data", images, "--json", NULL);
  g_autoptr(JsonNode) refused_listing = layers_json (lambda);
  JsonArray *tensors = get_array (json_node_get_object (listing), "tensors");

  g_assert_cmpuint (json_array_get_length (tensors), ==, 9);
  g_assert_cmpint (get_int (json_node_get_object (stats), "channels"), ==, 8);
  g_assert_cmpint (get_int (json_node_get_object (stats), "axis"), ==, 0);
  assert_histogram_complete (json_node_get_object (stats));
  g_assert_cmpfloat (get_number (json_node_get_object (eval), "fp32_top1"), ==, 1.0);
  g_assert_cmpuint (json_array_get_length (get_array (json_node_get_object (refused_listing), "tensors")), ==, 4);
  assert_fails ("eval", lambda, "--data", images, NULL);
  assert_fails ("eval", per_width, "--data", images, NULL);
}

/* `eval MODEL --data DATA --json` of tests/data/converted/ without the
 * timings and the members naming the files. */
static JsonNode *
eval_converted_json (const char *model_name,
                     const char *data_name)
{
  g_autofree char *model = g_test_build_filename (G_TEST_DIST, "data", "converted", model_name, NULL);
  g_autofree char *data = g_test_build_filename (G_TEST_DIST, "data", "converted", data_name, NULL);
  g_autoptr(GList) members = NULL;
  JsonNode *root = run_json ("eval", model, "--data", data, "--json", NULL);
  JsonObject *object = json_node_get_object (root);

  members = json_object_get_members (object);
  for (GList *l = members; l != NULL; l = l->next)
    if (g_str_has_suffix (l->data, "seconds") || g_str_has_suffix (l->data, "per_second"))
      json_object_remove_member (object, l->data);
  g_assert_cmpstr (get_string (object, "data"), ==, data);
  g_assert_cmpstr (get_string (object, "calibration"), ==, data);
  json_object_remove_member (object, "data");
  json_object_remove_member (object, "calibration");
  return root;
}

/* PyTorch's users' images, N x C x H x W with per-channel mean and scale
 * (make_converted_models.py write_nchw_images), scored by channels_first
 * models from onnx2keras and Keras 1 ("th"): everything but the layout
 * equals the same images stored N x H x W x C, bit for bit. An "x" that
 * fits neither order is refused in one line naming both; a channels_last
 * model reads the NCHW file as stored and refuses it too. */
static void
test_eval_nchw_images (void)
{
  const char *const models[] = { "onnx2keras-resnet.h5", "keras1-th-theano.h5" };
  g_autofree char *resnet = g_test_build_filename (G_TEST_DIST, "data", "converted", "onnx2keras-resnet.h5", NULL);
  g_autofree char *nobuco = g_test_build_filename (G_TEST_DIST, "data", "converted", "nobuco-resnet.h5", NULL);
  g_autofree char *nchw = g_test_build_filename (G_TEST_DIST, "data", "converted", "images-12-nchw.h5", NULL);
  g_autofree char *wrong = g_test_build_filename (G_TEST_DIST, "data", "converted", "images-12-nchw-wrong.h5", NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (models); i++)
    {
      g_autoptr(JsonNode) from_nchw = eval_converted_json (models[i], "images-12-nchw.h5");
      g_autoptr(JsonNode) from_nhwc = eval_converted_json (models[i], "images-12-nhwc-normalized.h5");
      JsonObject *a = json_node_get_object (from_nchw), *b = json_node_get_object (from_nhwc);

      g_assert_cmpstr (get_string (a, "layout"), ==, "NCHW");
      g_assert_cmpstr (get_string (b, "layout"), ==, "NHWC");
      g_assert_false (get_bool (a, "layout_ambiguous"));
      g_assert_false (get_bool (b, "layout_ambiguous"));
      g_assert_cmpint (get_int (a, "images"), ==, 15);
      json_object_remove_member (a, "layout");
      json_object_remove_member (b, "layout");
      g_assert_true (json_node_equal (from_nchw, from_nhwc));
    }
  assert_fails ("eval", resnet, "--data", wrong, NULL);
  {
    g_autoptr(QsTestCliRun) run = run_cli ("eval", resnet, "--data", wrong, NULL);

    g_assert_nonnull (strstr (run->err, "images are 5x12x12, the model takes 12x12x3 (H×W×C) or 3x12x12"));
  }
  assert_fails ("eval", nobuco, "--data", nchw, NULL);
}

static void
test_eval_demo_model (void)
{
  g_autofree char *model = g_test_build_filename (G_TEST_DIST, "..", "data", "models", "fashion-cnn.h5", NULL);
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  g_autoptr(JsonNode) root = NULL;
  JsonObject *o;
  JsonArray *layers;

  g_ptr_array_add (args, (gpointer) "eval");
  g_ptr_array_add (args, model);
  g_ptr_array_add (args, (gpointer) "--limit");
  g_ptr_array_add (args, (gpointer) "1000");
  g_ptr_array_add (args, (gpointer) "--json");
  root = run_json_args (args);
  o = json_node_get_object (root);

  g_assert_cmpint (json_object_get_int_member (o, "images"), ==, 1000);
  g_assert_cmpint (json_object_get_int_member (o, "calibration_images"), ==, 1000);
  /* Calibration uses its own slice of training images, not scored ones. */
  g_assert_false (json_object_get_boolean_member (o, "calibration_overlaps_scored"));
  g_assert_cmpfloat (json_object_get_double_member (o, "fp32_top1"), >, 0.85);
  g_assert_cmpfloat (fabs (json_object_get_double_member (o, "delta")), <, 0.02);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (o, "delta"),
                                  json_object_get_double_member (o, "quant_top1")
                                  - json_object_get_double_member (o, "fp32_top1"), 1e-12);
  g_assert_cmpfloat (json_object_get_double_member (o, "agreement"), >, 0.95);
  g_assert_true (json_object_has_member (o, "seconds"));
  layers = json_object_get_array_member (o, "layers");
  /* Three convolutions (one depthwise) and two dense layers. */
  g_assert_cmpuint (json_array_get_length (layers), ==, 5 + 1);
  for (guint i = 0; i < json_array_get_length (layers); i++)
    {
      JsonObject *layer = json_array_get_object_element (layers, i);
      g_assert_true (json_object_has_member (layer, "name"));
      g_assert_true (json_object_has_member (layer, "weight_sqnr_db"));
      g_assert_true (json_object_has_member (layer, "output_sqnr_db"));
      g_assert_false (json_object_get_boolean_member (layer, "runs_in_float"));
    }
  /* Every layer of the demo model has an integer kernel. */
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (o, "float_layers")), ==, 0);
}

/* `eval` of the demo model on 300 images, plus the NULL-terminated
 * options after @first_option (NULL: none), without its timings (the
 * members two runs may differ in). */
static JsonNode *
eval_demo_json (const char *first_option,
                ...)
{
  g_autoptr(GList) members = NULL;
  JsonObject *object;
  g_autofree char *model = g_test_build_filename (G_TEST_DIST, "..", "data", "models", "fashion-cnn.h5", NULL);
  g_autoptr(GPtrArray) args = NULL;
  JsonNode *root;
  va_list ap;

  va_start (ap, first_option);
  args = collect_args (first_option, ap);
  va_end (ap);
  g_ptr_array_insert (args, 0, (gpointer) "eval");
  g_ptr_array_insert (args, 1, model);
  g_ptr_array_insert (args, 2, (gpointer) "--limit");
  g_ptr_array_insert (args, 3, (gpointer) "300");
  g_ptr_array_insert (args, 4, (gpointer) "--json");
  root = run_json_args (args);
  object = json_node_get_object (root);
  members = json_object_get_members (object);
  for (GList *l = members; l != NULL; l = l->next)
    if (g_str_has_suffix (l->data, "seconds") || g_str_has_suffix (l->data, "per_second"))
      json_object_remove_member (object, l->data);
  return root;
}

/* Issue 9: without scheme options, eval quantizes weights as TFLite does,
 * and as the same options spelled out; the seed's per-tensor scheme is a
 * different result, so the comparison can tell them apart. */
static void
test_eval_default_scheme (void)
{
  g_autoptr(JsonNode) implicit = eval_demo_json (NULL);
  g_autoptr(JsonNode) spelled = eval_demo_json ("--granularity", "channel", "--mapping", "symmetric", "--narrow",
                                                "--bits", "8", "--range", "minmax", "--rounding", "even", NULL);
  g_autoptr(JsonNode) per_tensor = eval_demo_json ("--granularity", "tensor", NULL);

  g_assert_true (json_node_equal (implicit, spelled));
  g_assert_false (json_node_equal (implicit, per_tensor));
}

static void
test_eval_errors (void)
{
  g_autofree char *model = g_test_build_filename (G_TEST_DIST, "..", "data", "models", "fashion-cnn.h5", NULL);

  assert_fails ("eval", missing_file, NULL);
  assert_fails ("eval", text_file, NULL);
  /* Weights without an architecture the engine can run: analysis works,
   * accuracy is unavailable, and says why. */
  assert_fails ("eval", fixture, NULL);
  assert_fails ("eval", model, "--bits", "1", NULL);
  assert_fails ("eval", model, "--limit", "-3", NULL);
  assert_fails ("eval", model, "--data", missing_file, NULL);
  assert_fails ("eval", model, "--data", text_file, NULL);
  assert_fails ("eval", NULL);

  /* Percentiles outside (50, 100] parse as numbers; they used to reach
   * the engine and fail as "cannot quantize the model: " with no reason. */
  for (gsize i = 0; i < 3; i++)
    {
      const char *bad[] = { "percentile:0", "percentile:50", "percentile:100.5" };
      g_autoptr(QsTestCliRun) run = run_cli ("eval", model, "-n", "10", "-c", "5", "--act-range", bad[i], NULL);

      g_assert_cmpint (run->status, ==, 2);
      g_assert_nonnull (strstr (run->err, "greater than 50 and at most 100"));
    }
}

/* /w = [-1, 0, 0.3, 0.9921875] as MXINT8, one block: amax 1 gives the E8M0
 * scale 2^(0 - 0) = 1, so the codes are x * 64 rounded half to even:
 * -64, 0, 19 (19.2) and 64 (63.5, a tie, to even); 0.3f and 0.9921875
 * come back as 19/64 and 1. Size: 4 bytes of codes and 1 of scale. */
static void
test_stats_block_format (void)
{
  g_autoptr(JsonNode) root = stats_json ("/w", "--format", "mxint8", NULL);
  JsonObject *r = json_node_get_object (root), *b, *h;
  double e1 = (double) 0.3f - 19.0 / 64.0, e2 = 1.0 - 0.9921875;
  JsonArray *counts;

  g_assert_cmpstr (get_string (r, "format"), ==, "mxint8");
  g_assert_cmpstr (get_string (r, "granularity"), ==, "group");
  g_assert_cmpint (get_int (r, "group_size"), ==, 32);
  g_assert_cmpint (get_int (r, "bits"), ==, 8);
  g_assert_cmpfloat_with_epsilon (get_number (r, "mse"), (e1 * e1 + e2 * e2) / 4.0, 1e-15);
  g_assert_cmpint (get_int (r, "levels_used"), ==, 4);
  g_assert_cmpint (get_int (r, "clipped_count"), ==, 0);
  g_assert_cmpint (get_int (r, "size_quant_bytes"), ==, 5);
  g_assert_cmpfloat (get_number (r, "bits_per_weight"), ==, 10.0);
  g_assert_true (get_bool (r, "zero_exact"));
  assert_null (r, "grid_lo");

  b = get_object (r, "blocks");
  g_assert_cmpint (get_int (b, "block_size"), ==, 32);
  g_assert_cmpint (get_int (b, "block_count"), ==, 1);
  assert_null (b, "tensor_scale");
  h = get_object (b, "scale_histogram");
  g_assert_cmpfloat (get_number (h, "log2_lo"), ==, 0.0);
  g_assert_cmpfloat (get_number (h, "bin_width"), ==, 1.0);
  counts = get_array (h, "counts");
  g_assert_cmpuint (json_array_get_length (counts), ==, 1);
  g_assert_cmpint (json_array_get_int_element (counts, 0), ==, 1);
  g_assert_cmpint (get_int (h, "zero_scale_blocks"), ==, 0);
  g_assert_cmpfloat_with_epsilon (get_number (b, "sqnr_db"), get_number (r, "sqnr_db"), 1e-12);
  get_number (b, "sqnr_exact_scale_db");
  {
    JsonArray *worst = get_array (b, "worst");
    JsonObject *w0;
    g_assert_cmpuint (json_array_get_length (worst), ==, 1);
    w0 = json_array_get_object_element (worst, 0);
    g_assert_cmpint (get_int (w0, "channel"), ==, 0);
    g_assert_cmpint (get_int (w0, "offset"), ==, 0);
    g_assert_cmpint (get_int (w0, "length"), ==, 4);
    g_assert_cmpfloat_with_epsilon (get_number (w0, "mse"), get_number (r, "mse"), 1e-15);
    g_assert_cmpfloat_with_epsilon (get_number (w0, "max_abs_error"), e2, 1e-15);
  }
}

/* /pc is 4 x 2, channels along the last axis: runs of 4, so groups of 2
 * make 4 groups. Asymmetric 8-bit groups store 8 bits per weight, plus a
 * float32 scale and an 8-bit zero point per group: 8 + 40 * 4 / 8 = 28. */
static void
test_stats_group_sweep (void)
{
  g_autoptr(JsonNode) root = stats_json ("/pc", "--granularity", "group", "--group-size", "2", "--mapping", "asymmetric",
                                         "--sweep-group-sizes", "1,2,4", NULL);
  g_autoptr(JsonNode) symmetric = stats_json ("/pc", "--group-size", "4", "--mapping", "symmetric", NULL);
  JsonObject *r = json_node_get_object (root);
  JsonArray *sweep;
  const double expected_bits[] = { 48.0, 28.0, 18.0 };

  g_assert_cmpstr (get_string (r, "granularity"), ==, "group");
  g_assert_cmpint (get_int (r, "axis"), ==, 1);
  g_assert_cmpfloat (get_number (r, "bits_per_weight"), ==, 28.0);
  g_assert_cmpint (get_int (r, "size_quant_bytes"), ==, 28);
  g_assert_cmpint (get_int (get_object (r, "blocks"), "block_count"), ==, 4);
  sweep = get_array (r, "sweep");
  g_assert_cmpuint (json_array_get_length (sweep), ==, 3);
  for (guint i = 0; i < 3; i++)
    {
      JsonObject *point = json_array_get_object_element (sweep, i);
      g_assert_cmpint (get_int (point, "group_size"), ==, 1 << i);
      g_assert_cmpfloat (get_number (point, "bits_per_weight"), ==, expected_bits[i]);
      g_assert_nonnull (json_object_get_member (point, "sqnr_db"));
      g_assert_cmpfloat (get_number (point, "mse"), >=, 0.0);
    }
  /* The sweep's own group size matches the main analysis. */
  g_assert_cmpfloat_with_epsilon (get_number (json_array_get_object_element (sweep, 1), "mse"),
                                  get_number (r, "mse"), 1e-18);

  /* --group-size alone means integer groups; symmetric stores no zero point. */
  r = json_node_get_object (symmetric);
  g_assert_cmpstr (get_string (r, "granularity"), ==, "group");
  g_assert_cmpfloat (get_number (r, "bits_per_weight"), ==, 8.0 + 32.0 / 4.0);
  /* Per-tensor schemes report bits per weight too: 4 codes and a scale
   * (the default mapping is symmetric: no zero point is stored)... */
  g_clear_pointer (&symmetric, json_node_unref);
  symmetric = stats_json ("/w", NULL);
  g_assert_cmpfloat (get_number (json_node_get_object (symmetric), "bits_per_weight"), ==, 8.0 * 8.0 / 4.0);
  /* ...and an asymmetric one adds its int32 zero point. */
  g_clear_pointer (&symmetric, json_node_unref);
  symmetric = stats_json ("/w", "--mapping", "asymmetric", NULL);
  g_assert_cmpfloat (get_number (json_node_get_object (symmetric), "bits_per_weight"), ==, 8.0 * 12.0 / 4.0);
}

/* Blockwise schemes are not streamed: a tensor larger than half the
 * budget is refused with one line, and the same tensor in memory works. */
static void
test_block_too_large (void)
{
  g_autofree char *path = g_build_filename (tmp_dir, "large.h5", NULL);
  g_autofree float *values = g_new (float, 200000);
  g_autoptr(JsonNode) in_memory = NULL;
  hsize_t dims[1] = { 200000 };
  hid_t file = H5Fcreate (path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);

  for (gsize i = 0; i < 200000; i++)
    values[i] = (float) ((double) (i % 1000) / 1000.0 - 0.5);
  qs_test_write_floats (file, "/big", 1, dims, values);
  g_assert_cmpint (H5Fclose (file), >=, 0);

  assert_fails ("stats", path, "--tensor", "/big", "--format", "mxfp4", "--memory-budget", "1M", NULL);
  in_memory = stats_json_in (path, "/big", "--format", "mxfp4", NULL);
  g_assert_cmpint (get_int (get_object (json_node_get_object (in_memory), "blocks"), "block_count"), ==, 6250);
  g_remove (path);
}

static void
test_block_errors (void)
{
  g_autofree char *model = g_test_build_filename (G_TEST_DIST, "..", "data", "models", "fashion-cnn.h5", NULL);
  g_autofree char *scheme_file = g_build_filename (tmp_dir, "nf4.json", NULL);
  g_autoptr(QsTestCliRun) text = run_cli ("stats", fixture, "--tensor", "/u", "--format", "nvfp4", NULL);

  g_assert_cmpint (text->status, ==, 0);
  g_assert_nonnull (strstr (text->out, "bits per weight"));
  g_assert_nonnull (strstr (text->out, "16 along the reduction axis"));

  assert_fails ("stats", fixture, "--tensor", "/u", "--format", "mxfp3", NULL);
  assert_fails ("stats", fixture, "--tensor", "/u", "--group-size", "-1", NULL);
  assert_fails ("stats", fixture, "--tensor", "/u", "--group-size", "65537", NULL);
  assert_fails ("stats", fixture, "--tensor", "/u", "--granularity", "group", "--format", "fp16", NULL);
  assert_fails ("stats", fixture, "--tensor", "/u", "--format", "nf4", "--range", "mse", NULL);
  assert_fails ("stats", fixture, "--tensor", "/u", "--group-size", "16", "--no-zero-nudge", NULL);
  assert_fails ("stats", fixture, "--tensor", "/u", "--sweep-group-sizes", "8", NULL);
  assert_fails ("stats", fixture, "--tensor", "/u", "--format", "mxfp4", "--sweep-group-sizes", "8,,16", NULL);
  assert_fails ("stats", fixture, "--tensor", "/u", "--format", "mxfp4", "--sweep-group-sizes", "0", NULL);
  assert_fails ("stats", fixture, "--tensor", "/allnan", "--format", "mxfp4", NULL);
  g_assert_true (g_file_set_contents (scheme_file, "{\"version\": 1, \"default\": {\"format\": \"nf4\", \"range\": \"kl\"}}",
                                      -1, NULL));
  assert_fails ("eval", model, "--scheme-file", scheme_file, "--limit", "10", NULL);
  g_remove (scheme_file);
}

/* eval runs blockwise weights on their reconstruction (NF4) or its
 * integer form (integer groups in int8, MXFP6 E3M2's elements times 16 in
 * int16), and says which per layer: every layer's
 * weight SQNR is the one `stats` measures on the kernel with the same
 * scheme (the engine keeps Keras' [taps][out] order, so the blocks are
 * the same; depthwise included). */
static void
test_eval_blockwise (void)
{
  g_autofree char *model = g_test_build_filename (G_TEST_DIST, "..", "data", "models", "fashion-cnn.h5", NULL);
  const char *schemes[][6] = {
    { "--format", "nf4", NULL },
    { "--bits", "4", "--group-size", "32", "--mapping", "symmetric" },
    { "--format", "mxfp6-e3m2", NULL },
  };
  static const struct { const char *kernel; int bits; } expected[] = {
    { "float-weights", 32 }, { "int8-groupwise", 8 }, { "int16-groupwise", 16 },
  };

  for (gsize k = 0; k < G_N_ELEMENTS (schemes); k++)
    {
      g_autoptr(GPtrArray) args = g_ptr_array_new ();
      g_autoptr(JsonNode) eval = NULL;
      JsonArray *layers;

      g_ptr_array_add (args, (gpointer) "eval");
      g_ptr_array_add (args, model);
      g_ptr_array_add (args, (gpointer) "--limit");
      g_ptr_array_add (args, (gpointer) "200");
      g_ptr_array_add (args, (gpointer) "--json");
      for (gsize i = 0; i < 6 && schemes[k][i] != NULL; i++)
        g_ptr_array_add (args, (gpointer) schemes[k][i]);
      eval = run_json_args (args);
      g_assert_cmpfloat (get_number (json_node_get_object (eval), "quant_top1"), >, 0.5);
      layers = get_array (json_node_get_object (eval), "layers");
      g_assert_cmpuint (json_array_get_length (layers), ==, 6);
      for (guint i = 0; i < json_array_get_length (layers); i++)
        {
          JsonObject *layer = json_array_get_object_element (layers, i);
          const char *name = get_string (layer, "name");
          g_autofree char *tensor = g_strdup_printf ("/model_weights/%s/%s/%s:0", name, name,
                                                     g_str_has_prefix (name, "depthwise") ? "depthwise_kernel" : "kernel");
          g_autoptr(GPtrArray) stats_args = g_ptr_array_new ();
          g_autoptr(JsonNode) stats = NULL;

          /* NF4 has no integer form; 4-bit integer groups and E3M2 run
           * integer, depthwise layers too. */
          g_assert_cmpstr (get_string (layer, "kernel"), ==, expected[k].kernel);
          g_assert_cmpint (get_int (layer, "weight_bits"), ==, expected[k].bits);

          /* The engine folds the batch normalization that follows conv2d
           * into its weights: they are not the file's kernel. */
          if (g_str_equal (name, "conv2d"))
            continue;
          g_ptr_array_add (stats_args, (gpointer) "stats");
          g_ptr_array_add (stats_args, model);
          g_ptr_array_add (stats_args, (gpointer) "--tensor");
          g_ptr_array_add (stats_args, tensor);
          g_ptr_array_add (stats_args, (gpointer) "--json");
          for (gsize j = 0; j < 6 && schemes[k][j] != NULL; j++)
            g_ptr_array_add (stats_args, (gpointer) schemes[k][j]);
          stats = run_json_args (stats_args);
          g_assert_cmpfloat_with_epsilon (get_number (layer, "weight_sqnr_db"),
                                          get_number (json_node_get_object (stats), "sqnr_db"), 1e-9);
        }
    }
}

/* A chunk that no longer decodes lists fine, and fails `--check-data`
 * (what the app's file scan runs) with one line naming the tensor. */
static void
test_layers_check_data (void)
{
  g_autofree char *damaged = g_build_filename (tmp_dir, "damaged.h5", NULL);
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  g_autoptr(JsonNode) listing = NULL;
  g_autoptr(JsonNode) sound = NULL;

  qs_test_write_damaged_chunk_file (damaged);
  listing = layers_json (damaged);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (json_node_get_object (listing), "tensors")), ==, 2);
  assert_fails ("layers", damaged, "--json", "--check-data", NULL);

  g_ptr_array_add (args, (gpointer) "layers");
  g_ptr_array_add (args, (gpointer) fixture);
  g_ptr_array_add (args, (gpointer) "--json");
  g_ptr_array_add (args, (gpointer) "--check-data");
  sound = run_json_args (args);
  g_assert_nonnull (sound);
  g_remove (damaged);
}

/* A file on which libhdf5 looped forever (found by the fuzzer: a global
 * heap collection holding free space of size 0; then one whose free
 * space jumps back) ended the CLI after the open timeout; the collection
 * is now walked before libhdf5 loads it,
 * from the file or, inside a .keras archive, from the image in memory,
 * and the file refused at once: the usual one line and status 2, for
 * every command that opens it, naming the damaged attribute. The timeout
 * is 1 s here and the watchdog's line is refused: no timing involved. */
static void
test_open_heap_loop (void)
{
  g_autofree char *looping = g_test_build_filename (G_TEST_DIST, "fuzz", "inputs",
                                                    "libhdf5-h5hg-read-loop-536794d4.h5", NULL);
  g_autofree char *archived = g_test_build_filename (G_TEST_DIST, "data", "keras3", "libhdf5-loop.keras", NULL);
  /* Free space whose size wraps libhdf5's pointer back to the object
   * before it: the walk never ends either. */
  g_autofree char *backward = g_build_filename (tmp_dir, "heap-backward.h5", NULL);
  g_autoptr(GBytes) written = qs_test_write_heap_loop_file (backward);
  const char *files[] = { looping, archived, backward };

  g_setenv ("QUANTSCOPE_OPEN_TIMEOUT", "1", TRUE);
  for (gsize i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autoptr(QsTestCliRun) run = NULL;

      assert_fails ("layers", files[i], "--json", NULL);
      assert_fails ("stats", files[i], "--tensor", "/w", NULL);
      assert_fails ("layers", files[i], NULL);
      run = run_cli ("layers", files[i], NULL);
      g_assert_cmpint (run->status, ==, 2);
      g_assert_nonnull (strstr (run->err, "the “model_config” attribute is damaged"));
      g_assert_null (strstr (run->err, "took longer than"));
    }
  g_unsetenv ("QUANTSCOPE_OPEN_TIMEOUT");
  g_remove (backward);
}

/* ---- number ------------------------------------------------------------- */

static JsonNode *number_json (const char *first, ...) G_GNUC_NULL_TERMINATED;

/* `number ... --json`, the arguments NULL-terminated. */
static JsonNode *
number_json (const char *first,
             ...)
{
  g_autoptr(GPtrArray) args = NULL;
  va_list ap;

  va_start (ap, first);
  args = collect_args (first, ap);
  va_end (ap);
  g_ptr_array_insert (args, 0, (gpointer) "number");
  g_ptr_array_add (args, (gpointer) "--json");
  return run_json_args (args);
}

static JsonObject *
find_encoding (JsonObject *report,
               const char *format)
{
  JsonArray *encodings = get_array (report, "encodings");

  g_assert_cmpuint (json_array_get_length (encodings), ==, 7);
  for (guint i = 0; i < json_array_get_length (encodings); i++)
    {
      JsonObject *e = json_array_get_object_element (encodings, i);
      if (g_strcmp0 (get_string (e, "format"), format) == 0)
        return e;
    }
  g_test_message ("no encoding %s", format);
  g_assert_not_reached ();
  return NULL;
}

/* The seed notes' exercise: 8.625 = 1.000101b x 2^3 in single precision is
 * 0 10000010 00010100000000000000000 (130 = 3 + 127), 0x410a0000. In the
 * default Q8.8, 8.625 * 256 = 2208 = 0x08a0. */
static void
test_number_seed_exercise (void)
{
  g_autoptr(JsonNode) root = number_json ("8.625", NULL);
  JsonObject *report = json_node_get_object (root);
  JsonObject *f32 = find_encoding (report, "float32");
  JsonObject *fixed = get_object (report, "fixed_point");

  g_assert_cmpfloat (get_number (report, "value"), ==, 8.625);
  g_assert_cmpstr (get_string (f32, "bits"), ==, "0x410a0000");
  g_assert_cmpint (get_int (f32, "width"), ==, 32);
  g_assert_cmpint (get_int (f32, "sign"), ==, 0);
  g_assert_cmpint (get_int (f32, "exponent_biased"), ==, 130);
  g_assert_cmpint (get_int (f32, "exponent_unbiased"), ==, 3);
  g_assert_cmpint (get_int (f32, "bias"), ==, 127);
  g_assert_cmpint (get_int (f32, "exponent_bits"), ==, 8);
  g_assert_cmpint (get_int (f32, "mantissa_bits"), ==, 23);
  g_assert_cmpstr (get_string (f32, "mantissa"), ==, "0x0a0000");
  g_assert_cmpstr (get_string (f32, "class"), ==, "normal");
  g_assert_cmpfloat (get_number (f32, "decoded"), ==, 8.625);
  g_assert_cmpfloat (get_number (f32, "error"), ==, 0.0);
  g_assert_cmpfloat (get_number (f32, "step"), ==, 0x1p-20);
  g_assert_false (get_bool (f32, "saturated"));
  /* Double precision: 3 + 1023 = 1026, 16 hex digits. */
  g_assert_cmpstr (get_string (find_encoding (report, "float64"), "bits"), ==, "0x4021400000000000");
  /* E4M3 has 3 mantissa bits: 1.000101b rounds to 1.001b x 2^3 = 9. */
  g_assert_cmpfloat (get_number (find_encoding (report, "fp8-e4m3"), "decoded"), ==, 9.0);

  g_assert_cmpint (get_int (fixed, "m"), ==, 8);
  g_assert_cmpint (get_int (fixed, "n"), ==, 8);
  g_assert_cmpint (get_int (fixed, "code"), ==, 2208);
  g_assert_cmpstr (get_string (fixed, "bits"), ==, "0x08a0");
  g_assert_cmpfloat (get_number (fixed, "resolution"), ==, 1.0 / 256.0);
  g_assert_cmpfloat (get_number (fixed, "min"), ==, -128.0);
  g_assert_cmpfloat (get_number (fixed, "max"), ==, 127.99609375);
  assert_null (report, "integer");
}

static void
test_number_options (void)
{
  /* -8.625 in Q4.4 saturates at -8 (code -128 = 0x80); as an integer code
   * with scale 0.5 and zero point 3: -17.25 -> -17, + 3 = -14 = 0xf2,
   * dequantized 0.5 * (-14 - 3) = -8.5. */
  g_autoptr(JsonNode) root = number_json ("-8.625", "--q", "4.4", "--scale", "0.5", "--zero-point", "3", NULL);
  JsonObject *report = json_node_get_object (root);
  JsonObject *fixed = get_object (report, "fixed_point");
  JsonObject *integer = get_object (report, "integer");
  g_autoptr(JsonNode) away = number_json ("1.25", "--scale", "0.5", "--bits", "4", "--narrow",
                                          "--rounding", "half-away", NULL);
  JsonObject *away_integer = get_object (json_node_get_object (away), "integer");

  g_assert_cmpstr (get_string (find_encoding (report, "float32"), "bits"), ==, "0xc10a0000");
  g_assert_cmpint (get_int (fixed, "code"), ==, -128);
  g_assert_cmpstr (get_string (fixed, "bits"), ==, "0x80");
  g_assert_true (get_bool (fixed, "saturated"));
  g_assert_cmpint (get_int (integer, "code"), ==, -14);
  g_assert_cmpstr (get_string (integer, "bits"), ==, "0xf2");
  g_assert_cmpfloat (get_number (integer, "dequantized"), ==, -8.5);
  g_assert_false (get_bool (integer, "clipped"));
  /* 2.5 rounds away to 3 in [-7, 7]. */
  g_assert_cmpint (get_int (away_integer, "code"), ==, 3);
  g_assert_cmpint (get_int (away_integer, "qmin"), ==, -7);
  g_assert_cmpstr (get_string (away_integer, "bits"), ==, "0x3");
  /* After "--", a negative VALUE is the value, as every Unix tool reads it:
   * -1.5 in float32 is 0xbfc00000. */
  {
    const char *const argv[] = { "number", "--json", "--", "-1.5" };
    g_autoptr(GPtrArray) args = g_ptr_array_new ();
    g_autoptr(JsonNode) after_dashes = NULL;

    for (guint i = 0; i < G_N_ELEMENTS (argv); i++)
      g_ptr_array_add (args, (gpointer) argv[i]);
    after_dashes = run_json_args (args);

    g_assert_cmpstr (get_string (find_encoding (json_node_get_object (after_dashes), "float32"), "bits"),
                     ==, "0xbfc00000");
  }
}

static void
test_number_nonfinite (void)
{
  g_autoptr(JsonNode) nan_root = number_json ("nan", NULL);
  g_autoptr(JsonNode) inf_root = number_json ("inf", NULL);
  JsonObject *nan_report = json_node_get_object (nan_root);
  JsonObject *inf_report = json_node_get_object (inf_root);
  JsonObject *e2m1 = find_encoding (nan_report, "fp4-e2m1");
  JsonObject *e4m3 = find_encoding (inf_report, "fp8-e4m3");

  assert_null (nan_report, "value");
  assert_null (e2m1, "bits");
  g_assert_cmpstr (get_string (e2m1, "class"), ==, "nan");
  assert_null (find_encoding (nan_report, "float32"), "decoded");
  assert_null (get_object (nan_report, "fixed_point"), "code");
  g_assert_cmpstr (get_string (find_encoding (inf_report, "float16"), "class"), ==, "inf");
  g_assert_cmpstr (get_string (find_encoding (inf_report, "float16"), "bits"), ==, "0x7c00");
  g_assert_cmpfloat (get_number (e4m3, "decoded"), ==, 448.0);
  g_assert_true (get_bool (e4m3, "saturated"));
  assert_null (e4m3, "error");
}

static void
test_number_text (void)
{
  g_autoptr(QsTestCliRun) run = run_cli ("number", "8.625", "--scale", "0.1", NULL);

  g_assert_cmpint (run->status, ==, 0);
  g_assert_cmpstr (run->err, ==, "");
  g_assert_nonnull (strstr (run->out, "0x410a0000"));
  g_assert_nonnull (strstr (run->out, "0 10000010 00010100000000000000000"));
  g_assert_nonnull (strstr (run->out, "Q8.8"));
  /* 8.625 / 0.1 = 86.25 -> 86 = 0x56 */
  g_assert_nonnull (strstr (run->out, "0x56"));
}

/* --block: 8.625 as an MXFP4 block's largest magnitude: E8M0 exponent
 * floor (log2 8.625) - 2 = 1 (byte 0x80), 8.625 / 2 = 4.3125 rounds to
 * E2M1's 4 (0 11 0 = 0x6), which stands for 8. Negative, under NVFP4
 * with its own tensor scale 8.625 / 2688: block scale E4M3 448 (0x7e)
 * times it, element -6 (1 11 1 = 0xf), exactly -8.625 back. */
static void
test_number_block (void)
{
  g_autoptr(QsTestCliRun) mx = run_cli ("number", "8.625", "--block", "mxfp4", NULL);
  g_autoptr(QsTestCliRun) nv = run_cli ("number", "--block", "nvfp4", "--", "-8.625", NULL);

  g_assert_cmpint (mx->status, ==, 0);
  g_assert_nonnull (strstr (mx->out, "scale 2 (E8M0 0x80), element 4.3125, code 0x6, dequantized 8, error -0.625"));
  g_assert_cmpint (nv->status, ==, 0);
  g_assert_nonnull (strstr (nv->out, "(E4M3 0x7e × tensor scale "));
  g_assert_nonnull (strstr (nv->out, "element -6, code 0xf, dequantized -8.625"));
}

static void
test_number_errors (void)
{
  assert_fails ("number", NULL);
  assert_fails ("number", "abc", NULL);
  assert_fails ("number", "1.5x", NULL);
  assert_fails ("number", "1", "2", NULL);
  assert_fails ("number", "1", "--q", "0.8", NULL);
  assert_fails ("number", "1", "--q", "8", NULL);
  assert_fails ("number", "1", "--q", "40.30", NULL);
  assert_fails ("number", "1", "--q", "8.-1", NULL);
  assert_fails ("number", "1", "--scale", "0", NULL);
  assert_fails ("number", "1", "--scale", "-1", NULL);
  assert_fails ("number", "1", "--scale", "abc", NULL);
  assert_fails ("number", "1", "--scale", "1", "--zero-point", "200", NULL);
  assert_fails ("number", "1", "--scale", "1", "--bits", "17", NULL);
  assert_fails ("number", "1", "--scale", "1", "--rounding", "bogus", NULL);
  assert_fails ("number", "1", "--bits", "4", NULL);
  assert_fails ("number", "1", "--frobnicate", NULL);
  assert_fails ("number", "1", "--block", "int8", NULL);
  assert_fails ("number", "1", "--block", "nf4", NULL);
  assert_fails ("number", "1", "--block", "mxfp4", "--tensor-scale", "2", NULL);
  assert_fails ("number", "1", "--block", "nvfp4", "--tensor-scale", "0", NULL);
  assert_fails ("number", "1", "--block", "nvfp4", "--tensor-scale", "1e39", NULL);
  assert_fails ("number", "1", "--tensor-scale", "2", NULL);
}

/* ---- hostile paths, nesting bombs, crashes inside libhdf5 ---------------- */

#if defined(__SANITIZE_ADDRESS__)
# define UNDER_ASAN 1
#elif defined(__has_feature)
# if __has_feature(address_sanitizer)
#  define UNDER_ASAN 1
# endif
#endif

static char *
read_text (const char *path)
{
  g_autoptr(GError) error = NULL;
  char *contents = NULL;

  g_file_get_contents (path, &contents, NULL, &error);
  g_assert_no_error (error);
  return contents;
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

/* The names in @dir, sorted, joined by spaces. */
static char *
list_dir (const char *dir)
{
  g_autoptr(GDir) listing = g_dir_open (dir, 0, NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  g_assert_nonnull (listing);
  while ((name = g_dir_read_name (listing)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);
  g_ptr_array_add (names, NULL);
  return g_strjoinv (" ", (char **) names->pdata);
}

/* Bytes of @path (transfer full). */
static GBytes *
read_bytes (const char *path)
{
  g_autoptr(GError) error = NULL;
  char *contents = NULL;
  gsize length = 0;

  g_file_get_contents (path, &contents, &length, &error);
  g_assert_no_error (error);
  return g_bytes_new_take (contents, length);
}

static void
copy_file (const char *from,
           const char *to)
{
  g_autoptr(GBytes) bytes = read_bytes (from);
  g_autoptr(GError) error = NULL;

  g_file_set_contents (to, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), &error);
  g_assert_no_error (error);
}

/* No command writes its output over a file it reads: the model (named
 * directly or through a link, or the config.json a Keras 3 .weights.h5
 * is read with) or the scheme file. `report -o MODEL MODEL` used to
 * replace the model with the report. */
static void
test_output_onto_input (void)
{
  g_autofree char *dir = g_build_filename (tmp_dir, "onto-input", NULL);
  g_autofree char *demo_src = g_test_build_filename (G_TEST_DIST, "..", "data", "models", "fashion-cnn.h5", NULL);
  g_autofree char *weights_src = g_test_build_filename (G_TEST_DIST, "data", "keras3", "tiny.weights.h5", NULL);
  g_autofree char *config_src = g_test_build_filename (G_TEST_DIST, "data", "keras3", "tiny.config.json", NULL);
  g_autofree char *model = g_build_filename (dir, "model.h5", NULL);
  g_autofree char *link = g_build_filename (dir, "link.h5", NULL);
  g_autofree char *as_png = g_build_filename (dir, "model.png", NULL);
  g_autofree char *demo = g_build_filename (dir, "demo.h5", NULL);
  g_autofree char *scheme = g_build_filename (dir, "scheme.json", NULL);
  g_autofree char *weights = g_build_filename (dir, "tiny.weights.h5", NULL);
  g_autofree char *config = g_build_filename (dir, "tiny.config.json", NULL);
  const char *kept[] = { model, as_png, demo, scheme, weights, config };
  GBytes *before[G_N_ELEMENTS (kept)];

  g_assert_cmpint (g_mkdir (dir, 0755), ==, 0);
  copy_file (fixture, model);
  copy_file (fixture, as_png);
  copy_file (demo_src, demo);
  copy_file (weights_src, weights);
  copy_file (config_src, config);
  g_assert_true (g_file_set_contents (scheme, "{\"version\": 1, \"default\": {\"bits\": 4}}", -1, NULL));
  g_assert_cmpint (symlink (model, link), ==, 0);
  for (gsize i = 0; i < G_N_ELEMENTS (kept); i++)
    before[i] = read_bytes (kept[i]);

  assert_fails ("report", "-o", model, model, NULL);
  assert_fails ("report", "-o", link, model, NULL);
  assert_fails ("report", "--scheme-file", scheme, "-o", scheme, model, NULL);
  assert_fails ("report", "-o", config, weights, NULL);
  assert_fails ("plot", "--kind", "overview", "-o", as_png, as_png, NULL);
  assert_fails ("export", "--scheme-file", scheme, model, scheme, "--force", NULL);
  assert_fails ("mixed", "--budget", "1", "--bits", "4,8", "-n", "20", "-c", "10", "-o", demo, demo, NULL);
  assert_fails ("mixed", "--budget", "1", "--bits", "4,8", "-n", "20", "-c", "10", "--scheme-file", scheme,
                "-o", scheme, demo, NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (kept); i++)
    {
      g_autoptr(GBytes) after = read_bytes (kept[i]);

      g_assert_true (g_bytes_equal (before[i], after));
      g_bytes_unref (before[i]);
    }
}

/* report, plot and mixed write beside their output and rename over it:
 * over a FIFO, a socket, a folder or a device node they would replace
 * it (as root, `report -o /dev/null` replaced /dev/null itself), and so
 * they would through a symbolic link to one. Each is refused with one
 * line and left as it was; so is a link into a folder that does not
 * exist. */
static void
test_outputs_refuse_special_files (void)
{
  g_autofree char *dir = g_build_filename (tmp_dir, "special-outputs", NULL);
  g_autofree char *fifo = g_build_filename (dir, "fifo.png", NULL);
  g_autofree char *folder = g_build_filename (dir, "folder.json", NULL);
  g_autofree char *sock_path = g_build_filename (dir, "socket.json", NULL);
  g_autofree char *device = g_build_filename (dir, "null.json", NULL);
  g_autofree char *dangling = g_build_filename (dir, "dangling.json", NULL);
  g_autofree char *linked = g_build_filename (dir, "linked.json", NULL);
  g_autofree char *link = g_build_filename (dir, "link.json", NULL);
  g_autofree char *demo = g_test_build_filename (G_TEST_DIST, "..", "data", "models", "fashion-cnn.h5", NULL);
  struct sockaddr_un address = { .sun_family = AF_UNIX };
  struct stat st;
  int sock;

  g_assert_cmpint (g_mkdir (dir, 0755), ==, 0);
  g_assert_cmpint (mkfifo (fifo, 0644), ==, 0);
  g_assert_cmpint (g_mkdir (folder, 0755), ==, 0);
  sock = socket (AF_UNIX, SOCK_STREAM, 0);
  g_assert_cmpint (sock, >=, 0);
  g_strlcpy (address.sun_path, sock_path, sizeof address.sun_path);
  g_assert_cmpint (bind (sock, (struct sockaddr *) &address, sizeof address), ==, 0);

  assert_fails ("report", "-o", fifo, fixture, NULL);
  assert_fails ("report", "-o", sock_path, fixture, NULL);
  assert_fails ("report", "-o", folder, fixture, NULL);
  assert_fails ("plot", "--kind", "overview", "-o", fifo, fixture, NULL);
  assert_fails ("mixed", "--budget", "1", "--bits", "4,8", "-n", "20", "-c", "10", "-o", sock_path, demo, NULL);
  /* Links are followed: to a FIFO or a folder, refused as those are. */
  g_assert_cmpint (symlink ("missing/report.json", dangling), ==, 0);
  g_assert_cmpint (symlink ("fifo.png", linked), ==, 0);
  g_assert_cmpint (symlink (folder, link), ==, 0);
  assert_fails ("report", "-o", dangling, fixture, NULL);
  assert_fails ("plot", "--kind", "overview", "-o", dangling, fixture, NULL);
  assert_fails ("report", "-o", linked, fixture, NULL);
  assert_fails ("report", "-o", link, fixture, NULL);
  g_assert_cmpint (lstat (dangling, &st), ==, 0);
  g_assert_true (S_ISLNK (st.st_mode));
  g_assert_cmpint (lstat (link, &st), ==, 0);
  g_assert_true (S_ISLNK (st.st_mode));
  g_assert_cmpint (lstat (linked, &st), ==, 0);
  g_assert_true (S_ISLNK (st.st_mode));
  g_assert_cmpint (lstat (fifo, &st), ==, 0);
  g_assert_true (S_ISFIFO (st.st_mode));
  g_assert_cmpint (lstat (sock_path, &st), ==, 0);
  g_assert_true (S_ISSOCK (st.st_mode));
  g_assert_cmpint (lstat (folder, &st), ==, 0);
  g_assert_true (S_ISDIR (st.st_mode));
  if (geteuid () == 0)
    {
      g_assert_cmpint (mknod (device, S_IFCHR | 0666, makedev (1, 3)), ==, 0);
      assert_fails ("report", "-o", device, fixture, NULL);
      g_assert_cmpint (lstat (device, &st), ==, 0);
      g_assert_true (S_ISCHR (st.st_mode));
      g_remove (device);
    }
  close (sock);
}

/* Whether @link is a symbolic link whose target reads @target. */
static void
assert_link (const char *link,
             const char *target)
{
  g_autofree char *read = g_file_read_link (link, NULL);

  g_assert_cmpstr (read, ==, target);
}

/* The output of `report FIXTURE` (the same whatever it is written to). */
static char *
report_text (void)
{
  g_autoptr(QsTestCliRun) run = run_cli ("report", fixture, NULL);

  g_assert_cmpint (run->status, ==, 0);
  return g_strdup (run->out);
}

/* An output that is a symbolic link is written through: the file at the
 * end of its chain is replaced (a temporary beside it, renamed over it),
 * the links stay and lead to the new contents; a dangling link is written
 * at its target when the target's folder exists. A loop, or a chain into
 * a folder that does not exist, is refused with one line, and a failed
 * write leaves the old contents and no temporary behind. */
static void
test_outputs_through_links (void)
{
  g_autofree char *dir = g_build_filename (tmp_dir, "through-links", NULL);
  g_autofree char *sub = g_build_filename (dir, "sub", NULL);
  g_autofree char *locked = g_build_filename (dir, "locked", NULL);
  g_autofree char *target = g_build_filename (dir, "target.json", NULL);
  g_autofree char *link = g_build_filename (dir, "link.json", NULL);
  g_autofree char *chain = g_build_filename (dir, "chain.json", NULL);
  g_autofree char *plot_link = g_build_filename (dir, "plot.png", NULL);
  g_autofree char *plot_target = g_build_filename (sub, "real.png", NULL);
  g_autofree char *schemes_link = g_build_filename (dir, "schemes.json", NULL);
  g_autofree char *schemes_target = g_build_filename (dir, "schemes-target.json", NULL);
  g_autofree char *h5_link = g_build_filename (dir, "export.h5", NULL);
  g_autofree char *h5_target = g_build_filename (sub, "export-target.h5", NULL);
  g_autofree char *new_link = g_build_filename (dir, "new.h5", NULL);
  g_autofree char *new_target = g_build_filename (dir, "new-target.h5", NULL);
  g_autofree char *loop_a = g_build_filename (dir, "loop-a.json", NULL);
  g_autofree char *loop_b = g_build_filename (dir, "loop-b.json", NULL);
  g_autofree char *self = g_build_filename (dir, "self.png", NULL);
  g_autofree char *nowhere = g_build_filename (dir, "nowhere.json", NULL);
  g_autofree char *locked_link = g_build_filename (dir, "locked.json", NULL);
  g_autofree char *locked_target = g_build_filename (locked, "kept.json", NULL);
  g_autofree char *locked_plot = g_build_filename (dir, "locked.png", NULL);
  g_autofree char *deep = g_build_filename (dir, "deep", NULL);
  g_autofree char *deep_0 = g_build_filename (deep, "0", NULL);
  g_autofree char *deep_40 = g_build_filename (deep, "40", NULL);
  g_autofree char *deep_41 = g_build_filename (deep, "41", NULL);
  g_autofree char *demo = g_test_build_filename (G_TEST_DIST, "..", "data", "models", "fashion-cnn.h5", NULL);
  g_autofree char *expected = report_text ();
  g_autofree char *text = NULL;
  g_autofree char *names = NULL;
  g_autoptr(GBytes) png = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(QsTestCliRun) run = NULL;

  g_assert_cmpint (g_mkdir (dir, 0755), ==, 0);
  g_assert_cmpint (g_mkdir (sub, 0755), ==, 0);
  g_assert_cmpint (g_mkdir (locked, 0755), ==, 0);
  g_assert_true (g_file_set_contents (target, "OLD\n", -1, NULL));
  g_assert_cmpint (symlink ("target.json", link), ==, 0);
  g_assert_cmpint (symlink ("link.json", chain), ==, 0);
  g_assert_cmpint (symlink ("sub/real.png", plot_link), ==, 0);
  g_assert_cmpint (symlink ("schemes-target.json", schemes_link), ==, 0);
  g_assert_cmpint (symlink (h5_target, h5_link), ==, 0);
  g_assert_true (g_file_set_contents (h5_target, "keep", -1, NULL));
  g_assert_cmpint (symlink ("new-target.h5", new_link), ==, 0);
  g_assert_cmpint (symlink ("loop-b.json", loop_a), ==, 0);
  g_assert_cmpint (symlink ("loop-a.json", loop_b), ==, 0);
  g_assert_cmpint (symlink ("self.png", self), ==, 0);
  g_assert_cmpint (symlink ("missing/report.json", nowhere), ==, 0);
  g_assert_true (g_file_set_contents (locked_target, "KEPT\n", -1, NULL));
  g_assert_cmpint (symlink ("locked/kept.json", locked_link), ==, 0);
  g_assert_cmpint (symlink ("locked/new.png", locked_plot), ==, 0);

  /* Through one link, then through a chain of two. */
  run = run_cli ("report", "-o", link, fixture, NULL);
  g_assert_cmpint (run->status, ==, 0);
  g_clear_pointer (&run, qs_test_cli_run_free);
  assert_link (link, "target.json");
  text = read_text (target);
  g_assert_cmpstr (text, ==, expected);
  g_clear_pointer (&text, g_free);
  g_assert_true (g_file_set_contents (target, "OLD\n", -1, NULL));
  run = run_cli ("report", "-o", chain, fixture, NULL);
  g_assert_cmpint (run->status, ==, 0);
  g_clear_pointer (&run, qs_test_cli_run_free);
  assert_link (chain, "link.json");
  assert_link (link, "target.json");
  text = read_text (target);
  g_assert_cmpstr (text, ==, expected);
  g_clear_pointer (&text, g_free);

  /* Dangling links, written at their targets: a plot in a subfolder, a
   * scheme file, an export. */
  run = run_cli ("plot", "--kind", "overview", "-o", plot_link, fixture, NULL);
  g_assert_cmpint (run->status, ==, 0);
  g_clear_pointer (&run, qs_test_cli_run_free);
  assert_link (plot_link, "sub/real.png");
  png = read_bytes (plot_target);
  g_assert_cmpuint (g_bytes_get_size (png), >, 8);
  g_assert_cmpmem (g_bytes_get_data (png, NULL), 8, "\x89PNG\r\n\x1a\n", 8);
  run = run_cli ("mixed", "--budget", "1", "--bits", "4,8", "-n", "20", "-c", "10", "-o", schemes_link, demo, NULL);
  g_assert_cmpint (run->status, ==, 0);
  g_clear_pointer (&run, qs_test_cli_run_free);
  assert_link (schemes_link, "schemes-target.json");
  json_parser_load_from_file (parser, schemes_target, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
  run = run_cli ("export", fixture, new_link, NULL);
  g_assert_cmpint (run->status, ==, 0);
  g_clear_pointer (&run, qs_test_cli_run_free);
  assert_link (new_link, "new-target.h5");
  g_assert_true (H5Fis_hdf5 (new_target) > 0);

  /* An export through a link to an existing file needs --force, as the
   * file itself would, and then replaces it in its own folder. */
  assert_fails ("export", fixture, h5_link, NULL);
  text = read_text (h5_target);
  g_assert_cmpstr (text, ==, "keep");
  g_clear_pointer (&text, g_free);
  run = run_cli ("export", fixture, h5_link, "--force", NULL);
  g_assert_cmpint (run->status, ==, 0);
  g_clear_pointer (&run, qs_test_cli_run_free);
  assert_link (h5_link, h5_target);
  g_assert_true (H5Fis_hdf5 (h5_target) > 0);

  /* Loops and a folder that does not exist: one line each. */
  assert_fails ("report", "-o", loop_a, fixture, NULL);
  assert_fails ("plot", "--kind", "overview", "-o", self, fixture, NULL);
  assert_fails ("export", fixture, loop_b, "--force", NULL);
  assert_fails ("mixed", "--budget", "1", "--bits", "4,8", "-n", "20", "-c", "10", "-o", loop_a, demo, NULL);
  assert_fails ("report", "-o", nowhere, fixture, NULL);
  run = run_cli ("report", "-o", loop_a, fixture, NULL);
  g_assert_nonnull (strstr (run->err, "loop"));
  g_clear_pointer (&run, qs_test_cli_run_free);
  run = run_cli ("report", "-o", nowhere, fixture, NULL);
  g_assert_nonnull (strstr (run->err, "does not exist"));
  g_clear_pointer (&run, qs_test_cli_run_free);
  assert_link (loop_a, "loop-b.json");
  assert_link (loop_b, "loop-a.json");
  assert_link (self, "self.png");
  assert_link (nowhere, "missing/report.json");

  /* A chain of QS_OUTPUT_MAX_LINKS (40, as the kernel's) links is
   * followed, one more is refused. deep/0 is the file, deep/N links to
   * deep/N-1. */
  g_assert_cmpint (g_mkdir (deep, 0755), ==, 0);
  for (int n = 1; n <= 41; n++)
    {
      g_autofree char *name = g_strdup_printf ("%d", n);
      g_autofree char *to = g_strdup_printf ("%d", n - 1);
      g_autofree char *path = g_build_filename (deep, name, NULL);

      g_assert_cmpint (symlink (to, path), ==, 0);
    }
  run = run_cli ("report", "-o", deep_40, fixture, NULL);
  g_assert_cmpint (run->status, ==, 0);
  g_clear_pointer (&run, qs_test_cli_run_free);
  text = read_text (deep_0);
  g_assert_cmpstr (text, ==, expected);
  g_clear_pointer (&text, g_free);
  assert_fails ("report", "-o", deep_41, fixture, NULL);
  run = run_cli ("report", "-o", deep_41, fixture, NULL);
  g_assert_nonnull (strstr (run->err, "more than 40 symbolic links"));
  g_clear_pointer (&run, qs_test_cli_run_free);

  /* A target in a folder no temporary can be made in (not for root,
   * whom the mode does not stop): refused, the old contents kept. */
  if (geteuid () != 0)
    {
      g_assert_cmpint (g_chmod (locked, 0555), ==, 0);
      assert_fails ("report", "-o", locked_link, fixture, NULL);
      assert_fails ("plot", "--kind", "overview", "-o", locked_plot, fixture, NULL);
      g_assert_cmpint (g_chmod (locked, 0755), ==, 0);
      text = read_text (locked_target);
      g_assert_cmpstr (text, ==, "KEPT\n");
      g_clear_pointer (&text, g_free);
    }

  /* Nothing else was made: no temporary, no folder "missing", and every
   * link is still a link. */
  names = list_dir (dir);
  g_assert_cmpstr (names, ==, "chain.json deep export.h5 link.json locked locked.json locked.png loop-a.json loop-b.json "
                              "new-target.h5 new.h5 nowhere.json plot.png schemes-target.json schemes.json "
                              "self.png sub target.json");
  g_clear_pointer (&names, g_free);
  names = list_dir (sub);
  g_assert_cmpstr (names, ==, "export-target.h5 real.png");
  g_clear_pointer (&names, g_free);
  names = list_dir (locked);
  g_assert_cmpstr (names, ==, "kept.json");
  qs_test_remove_tree (dir);
}

/* `export --force` onto anything but the user's own writable regular file
 * is refused with one line, and the thing is left as it was. */
static void
test_export_refuses_targets (void)
{
  g_autofree char *dir = g_build_filename (tmp_dir, "targets", NULL);
  g_autofree char *fifo = g_build_filename (dir, "fifo.h5", NULL);
  g_autofree char *target = g_build_filename (dir, "target.h5", NULL);
  g_autofree char *link = g_build_filename (dir, "link.h5", NULL);
  g_autofree char *folder = g_build_filename (dir, "folder.h5", NULL);
  g_autofree char *sock_path = g_build_filename (dir, "socket.h5", NULL);
  g_autofree char *read_only = g_build_filename (dir, "read-only.h5", NULL);
  g_autofree char *device = g_build_filename (dir, "null.h5", NULL);
  g_autofree char *foreign = g_build_filename (dir, "foreign.h5", NULL);
  g_autofree char *text = NULL;
  struct sockaddr_un address = { .sun_family = AF_UNIX };
  struct stat st;
  int sock;

  g_assert_cmpint (g_mkdir (dir, 0755), ==, 0);
  g_assert_cmpint (mkfifo (fifo, 0644), ==, 0);
  g_assert_true (g_file_set_contents (target, "keep", -1, NULL));
  g_assert_cmpint (symlink (folder, link), ==, 0);
  g_assert_cmpint (g_mkdir (folder, 0755), ==, 0);
  g_assert_true (g_file_set_contents (read_only, "keep", -1, NULL));
  g_assert_cmpint (g_chmod (read_only, 0444), ==, 0);
  sock = socket (AF_UNIX, SOCK_STREAM, 0);
  g_assert_cmpint (sock, >=, 0);
  g_strlcpy (address.sun_path, sock_path, sizeof address.sun_path);
  g_assert_cmpint (bind (sock, (struct sockaddr *) &address, sizeof address), ==, 0);

  assert_fails ("export", fixture, fifo, NULL);
  assert_fails ("export", fixture, fifo, "--force", NULL);
  assert_fails ("export", fixture, link, "--force", NULL);
  assert_fails ("export", fixture, folder, "--force", NULL);
  assert_fails ("export", fixture, sock_path, "--force", NULL);
  assert_fails ("export", fixture, read_only, "--force", NULL);

  g_assert_cmpint (lstat (fifo, &st), ==, 0);
  g_assert_true (S_ISFIFO (st.st_mode));
  g_assert_cmpint (lstat (link, &st), ==, 0);
  g_assert_true (S_ISLNK (st.st_mode));
  /* Through a link, the file it leads to is what is checked: existing,
   * it needs --force. */
  g_assert_cmpint (g_unlink (link), ==, 0);
  g_assert_cmpint (symlink (target, link), ==, 0);
  assert_fails ("export", fixture, link, NULL);
  text = read_text (target);
  g_assert_cmpstr (text, ==, "keep");
  g_clear_pointer (&text, g_free);
  g_assert_cmpint (lstat (folder, &st), ==, 0);
  g_assert_true (S_ISDIR (st.st_mode));
  g_assert_cmpint (lstat (sock_path, &st), ==, 0);
  g_assert_true (S_ISSOCK (st.st_mode));
  text = read_text (read_only);
  g_assert_cmpstr (text, ==, "keep");
  g_clear_pointer (&text, g_free);

  /* A device node (a copy of /dev/null's) and another user's file need
   * root to make; the checks on them are the same lstat's. */
  if (geteuid () == 0)
    {
      g_assert_cmpint (mknod (device, S_IFCHR | 0666, makedev (1, 3)), ==, 0);
      assert_fails ("export", fixture, device, "--force", NULL);
      g_assert_cmpint (lstat (device, &st), ==, 0);
      g_assert_true (S_ISCHR (st.st_mode));

      g_assert_true (g_file_set_contents (foreign, "keep", -1, NULL));
      g_assert_cmpint (chown (foreign, 65534, 65534), ==, 0);
      assert_fails ("export", fixture, foreign, "--force", NULL);
      text = read_text (foreign);
      g_assert_cmpstr (text, ==, "keep");
      g_remove (device);
      g_remove (foreign);
    }
  else
    g_test_message ("not root: no device node or foreign file to refuse");

  close (sock);
  qs_test_remove_tree (dir);
}

/* FIFOs, devices and folders given as input files are refused at once
 * (no hang waiting for a writer, no endless read of /dev/zero), as is a
 * scheme file over its size limit. */
static void
test_input_not_regular (void)
{
  g_autofree char *dir = g_build_filename (tmp_dir, "inputs", NULL);
  g_autofree char *fifo = g_build_filename (dir, "fifo", NULL);
  g_autofree char *out = g_build_filename (dir, "out.h5", NULL);
  g_autofree char *big = g_build_filename (dir, "big.json", NULL);
  g_autofree char *model = g_test_build_filename (G_TEST_DIST, "..", "data", "models", "fashion-cnn.h5", NULL);
  g_autofree char *spaces = NULL;
  g_autofree char *listing = NULL;

  g_assert_cmpint (g_mkdir (dir, 0755), ==, 0);
  g_assert_cmpint (mkfifo (fifo, 0644), ==, 0);
  spaces = g_strnfill ((4 << 20) + 1, ' ');
  g_assert_true (g_file_set_contents (big, spaces, -1, NULL));

  assert_fails ("layers", fifo, NULL);
  assert_fails ("layers", "/dev/zero", NULL);
  assert_fails ("stats", dir, "--tensor", "/w", NULL);
  assert_fails ("export", fixture, out, "--scheme-file", fifo, NULL);
  assert_fails ("export", fixture, out, "--scheme-file", "/dev/zero", NULL);
  assert_fails ("export", fixture, out, "--scheme-file", dir, NULL);
  assert_fails ("export", fixture, out, "--scheme-file", big, NULL);
  assert_fails ("eval", model, "--data", fifo, NULL);
  assert_fails ("eval", model, "--data", "/dev/zero", NULL);
  assert_fails ("eval", model, "--data", dir, NULL);
  assert_fails ("eval", model, "--calib-data", fifo, NULL);
  assert_fails ("eval", model, "--calib-data", "/dev/zero", NULL);
  assert_fails ("eval", model, "--scheme-file", fifo, NULL);

  /* Nothing was written. */
  listing = list_dir (dir);
  g_assert_cmpstr (listing, ==, "big.json fifo");
  qs_test_remove_tree (dir);
}

/* A model_config or scheme file nested 100,000 levels deep is refused
 * before json-glib recurses into it, in one line; so is a config whose
 * members have the wrong JSON types, without a Json-CRITICAL line. */
static void
test_json_bombs (void)
{
  g_autofree char *dir = g_build_filename (tmp_dir, "bombs", NULL);
  g_autofree char *scheme = g_build_filename (dir, "deep.json", NULL);
  g_autofree char *deep_model = g_build_filename (dir, "deep-model.h5", NULL);
  g_autofree char *typed_model = g_build_filename (dir, "typed-model.h5", NULL);
  g_autofree char *out = g_build_filename (dir, "out.h5", NULL);
  g_autoptr(GString) deep = g_string_new ("{\"version\": 1, \"skip\": ");
  const char *wrong_types =
    "{\"class_name\": \"Sequential\", \"config\": {\"layers\": ["
    "{\"class_name\": \"InputLayer\", \"config\": {\"batch_input_shape\": {\"x\": 1}, \"name\": [\"in\"]}},"
    "{\"class_name\": \"Dense\", \"config\": {\"name\": {\"a\": 1}, \"units\": \"4\", \"use_bias\": 1}},"
    "{\"class_name\": [1], \"config\": [], \"inbound_nodes\": [[[{}, 0, 0]]]},"
    "{\"class_name\": \"BatchNormalization\", \"config\": {\"name\": \"bn\", \"axis\": [[3]]}}]}}";
  const char *strings[1];

  g_assert_cmpint (g_mkdir (dir, 0755), ==, 0);
  for (int i = 0; i < 100000; i++)
    g_string_append_c (deep, '[');
  g_assert_true (g_file_set_contents (scheme, deep->str, -1, NULL));
  assert_fails ("export", fixture, out, "--scheme-file", scheme, NULL);

  for (const char *const *path = (const char *const[]) { deep_model, typed_model, NULL }; *path != NULL; path++)
    {
      hid_t file = H5Fcreate (*path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
      hsize_t d4[1] = { 4 };
      const float w[] = { 1, 2, 3, 4 };

      g_assert_cmpint (file, >=, 0);
      qs_test_write_floats (file, "/w", 1, d4, w);
      strings[0] = *path == deep_model ? deep->str + strlen ("{\"version\": 1, \"skip\": ") : wrong_types;
      qs_test_write_string_attr (file, "/", "model_config", strings, -1, TRUE);
      g_assert_cmpint (H5Fclose (file), >=, 0);
      assert_fails ("eval", *path, NULL);
    }
  qs_test_remove_tree (dir);
}

/* With libhdf5 crashing while it reads a contiguous dataset's values
 * (qs-crash-on-read.c, preloaded), commands that read values end with one
 * line and status 2, not a signal; the listing still works, and
 * `layers --check-data` (the app's scan) meets the crash. */
static void
test_crash_in_libhdf5 (void)
{
#ifdef UNDER_ASAN
  g_test_skip ("AddressSanitizer handles crashes itself (the CLI's guard is off), and "
               "refuses a preloaded library that is not its own runtime");
#else
  g_autofree char *crashing = g_build_filename (tmp_dir, "crash-on-read.h5", NULL);
  g_autofree char *out = g_build_filename (tmp_dir, "crash-out.h5", NULL);
  g_autoptr(JsonNode) listing = NULL;
  g_autoptr(QsTestCliRun) run = NULL;

  write_fixture (crashing);
  g_setenv ("LD_PRELOAD", g_getenv ("QS_CRASH_ON_READ"), TRUE);
  listing = layers_json (crashing);
  g_assert_nonnull (listing);
  assert_fails ("layers", crashing, "--check-data", NULL);
  assert_fails ("stats", crashing, "--tensor", "/w", NULL);
  assert_fails ("export", crashing, out, NULL);
  run = run_cli ("stats", crashing, "--tensor", "/w", NULL);
  g_unsetenv ("LD_PRELOAD");

  g_assert_nonnull (strstr (run->err, "crashed while reading"));
  g_assert_nonnull (strstr (run->err, "crash-on-read.h5"));
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
  g_remove (crashing);
#endif
}

/* The open watchdog, for the libhdf5 loops not found yet: with
 * tests/common/qs-loop-in-libhdf5.c preloaded, reading an attribute of a
 * file named "*loops-in-libhdf5*" never returns (no known input makes
 * libhdf5 loop any more, see test_open_heap_loop(): the one that did,
 * and another crafted since, are refused first); the CLI ends after
 * the timeout with the watchdog's one line and status 2. */
static void
test_open_timeout (void)
{
#ifdef UNDER_ASAN
  g_test_skip ("AddressSanitizer refuses a preloaded library that is not its own runtime");
#else
  g_autofree char *looping = g_build_filename (tmp_dir, "loops-in-libhdf5.h5", NULL);
  g_autofree char *contents = NULL;
  gsize length = 0;
  g_autoptr(GError) error = NULL;
  g_autoptr(QsTestCliRun) run = NULL;
  g_autoptr(QsTestCliRun) sound = NULL;

  /* Any file with a model_config attribute: the sample's. */
  g_file_get_contents (sample_file, &contents, &length, &error);
  g_assert_no_error (error);
  g_file_set_contents (looping, contents, (gssize) length, &error);
  g_assert_no_error (error);

  g_setenv ("QUANTSCOPE_OPEN_TIMEOUT", "1", TRUE);
  g_setenv ("LD_PRELOAD", g_getenv ("QS_LOOP_IN_LIBHDF5"), TRUE);
  assert_fails ("layers", looping, "--json", NULL);
  assert_fails ("stats", looping, "--tensor", "/w", NULL);
  run = run_cli ("layers", looping, NULL);
  /* The same module leaves every other file alone. */
  sound = run_cli ("layers", sample_file, NULL);
  g_unsetenv ("LD_PRELOAD");
  g_unsetenv ("QUANTSCOPE_OPEN_TIMEOUT");

  g_assert_cmpint (run->status, ==, 2);
  g_assert_nonnull (strstr (run->err, "loops-in-libhdf5.h5"));
  g_assert_nonnull (strstr (run->err, "took longer than 1 s"));
  g_assert_cmpint (sound->status, ==, 0);
  g_remove (looping);
#endif
}

/* Starts `export INPUT OUTPUT --force EXTRA` without waiting for it. */
static GPid
spawn_export (const char *input,
              const char *output,
              const char *extra)
{
  const char *argv[] = { cli, "export", input, output, "--force", extra, NULL };
  g_autoptr(GError) error = NULL;
  GPid pid = 0;

  g_spawn_async (NULL, (char **) argv, NULL,
                 G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                 NULL, NULL, &pid, &error);
  g_assert_no_error (error);
  return pid;
}

static int
wait_export (GPid pid)
{
  int status = 0;

  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_spawn_close_pid (pid);
  return status;
}

/* SIGKILL at any moment of an export leaves the destination as it was and
 * no temporary behind: the in-memory output goes to an unnamed file
 * (O_TMPFILE) linked into place at the end; an export too large for the
 * memory budget writes a named temporary, which the next export to that
 * name removes. The model: one tensor of 200 MB (50 MB under ASan). */
static void
test_export_killed (void)
{
#ifdef UNDER_ASAN
  const hsize_t count = (hsize_t) 50 << 18;
#else
  const hsize_t count = (hsize_t) 50 << 20;
#endif
  g_autofree char *dir = g_build_filename (tmp_dir, "killed", NULL);
  g_autofree char *input = g_build_filename (tmp_dir, "big-input.h5", NULL);
  g_autofree char *output = g_build_filename (dir, "out.h5", NULL);
  g_autofree float *values = g_new (float, count);
  static const double fractions[] = { 0.2, 0.5, 0.8, 0.95 };
  struct rusage usage;
  struct stat whole, now;
  hid_t file;
  gint64 start;
  double seconds;
  int status;

  for (hsize_t i = 0; i < count; i++)
    values[i] = (float) ((i * 2654435761u) % 20001) / 10000.0f - 1.0f;
  file = H5Fcreate (input, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  g_assert_cmpint (file, >=, 0);
  qs_test_write_floats (file, "/dense/kernel", 1, &count, values);
  g_assert_cmpint (H5Fclose (file), >=, 0);
  g_clear_pointer (&values, g_free);
  g_assert_cmpint (g_mkdir (dir, 0755), ==, 0);

  /* The whole export once: it works, and how long it takes. */
  start = g_get_monotonic_time ();
  status = wait_export (spawn_export (input, output, "--json"));
  seconds = (g_get_monotonic_time () - start) / 1e6;
  g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
  g_assert_cmpint (stat (output, &whole), ==, 0);
  getrusage (RUSAGE_CHILDREN, &usage);
  g_test_message ("export of %" G_GUINT64_FORMAT " MB: %.2f s, children's peak RSS %ld MB",
                  (guint64) count * 4 / 1000000, seconds, usage.ru_maxrss / 1024);

  for (gsize i = 0; i < G_N_ELEMENTS (fractions); i++)
    {
      g_autofree char *listing = NULL;
      g_autofree char *text = NULL;
      GPid pid;

      g_assert_true (g_file_set_contents (output, "the previous output", -1, NULL));
      pid = spawn_export (input, output, "--json");
      g_usleep ((gulong) (seconds * fractions[i] * G_USEC_PER_SEC));
      kill (pid, SIGKILL);
      status = wait_export (pid);
      listing = list_dir (dir);
      g_test_message ("killed at %.0f%%: %s", fractions[i] * 100,
                      WIFSIGNALED (status) ? "in the middle" : "after it finished");
      g_assert_cmpstr (listing, ==, "out.h5");
      /* Either the old file or the whole new one, never a part: a kill
       * can land after the new file is linked into place but before the
       * process exits. */
      text = read_text (output);
      if (g_strcmp0 (text, "the previous output") != 0)
        {
          g_assert_cmpint (stat (output, &now), ==, 0);
          g_assert_cmpint (now.st_size, ==, whole.st_size);
          g_assert_cmpint (H5Fis_hdf5 (output), >, 0);
        }
    }

  /* Over the memory budget: a named temporary, cleaned up next time. */
  {
    g_autofree char *listing = NULL;
    GPid pid;

    start = g_get_monotonic_time ();
    status = wait_export (spawn_export (input, output, "--memory-budget=256M"));
    seconds = (g_get_monotonic_time () - start) / 1e6;
    g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
    pid = spawn_export (input, output, "--memory-budget=256M");
    g_usleep ((gulong) (seconds * 0.5 * G_USEC_PER_SEC));
    kill (pid, SIGKILL);
    wait_export (pid);
    listing = list_dir (dir);
    g_test_message ("killed over the budget: %s", listing);
    /* Only temporaries older than the next process's start are removed. */
    g_usleep (100 * 1000);
    status = wait_export (spawn_export (input, output, "--memory-budget=256M"));
    g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
    g_clear_pointer (&listing, g_free);
    listing = list_dir (dir);
    g_assert_cmpstr (listing, ==, "out.h5");
  }

  qs_test_remove_tree (dir);
  g_remove (input);
}

/* KL below 4 bits is refused with its reason, in stats and in eval alike
 * (the scheme check is the core's). */
static void
test_kl_low_bits_refused (void)
{
  assert_fails ("stats", sample_file, "--tensor", SAMPLE_CONV, "--bits", "3", "--range", "kl", NULL);
  assert_fails ("stats", sample_file, "--tensor", SAMPLE_CONV, "--bits", "2", "--range", "kl", "--json", NULL);
}

/* The demo model as Keras 3 writes it (.keras, and .weights.h5 with its
 * config beside it) lists, quantizes and evaluates exactly as the Keras 2
 * file: the same tensors under "/<layer>/<weight>", the same statistics,
 * the same accuracy. */
static void
test_keras3_demo (void)
{
  const char *keras = g_getenv ("QS_KERAS3_DEMO");
  g_autofree char *model = g_test_build_filename (G_TEST_DIST, "..", "data", "models", "fashion-cnn.h5", NULL);
  g_autofree char *weights = NULL;
  g_autoptr(JsonNode) k2_layers = NULL;
  g_autoptr(JsonNode) k2_stats = NULL;
  g_autoptr(JsonNode) k2_eval = NULL;
  g_autoptr(GPtrArray) eval_args = g_ptr_array_new ();
  JsonArray *k2_tensors;

  if (keras == NULL)
    {
      g_test_skip ("no h5py to write the Keras 3 demo files");
      return;
    }
  weights = g_strdup_printf ("%.*s.weights.h5", (int) (strlen (keras) - strlen (".keras")), keras);

  k2_layers = layers_json (model);
  k2_tensors = get_array (json_node_get_object (k2_layers), "tensors");
  k2_stats = stats_json_in (model, "/model_weights/conv2d_1/conv2d_1/kernel:0", "--granularity", "channel", NULL);
  g_ptr_array_add (eval_args, (gpointer) "eval");
  g_ptr_array_add (eval_args, model);
  g_ptr_array_add (eval_args, (gpointer) "--limit");
  g_ptr_array_add (eval_args, (gpointer) "1000");
  g_ptr_array_add (eval_args, (gpointer) "--json");
  k2_eval = run_json_args (eval_args);

  for (int which = 0; which < 2; which++)
    {
      const char *file = which == 0 ? keras : weights;
      g_autoptr(JsonNode) layers = layers_json (file);
      g_autoptr(JsonNode) stats = stats_json_in (file, "/conv2d_1/kernel", "--granularity", "channel", NULL);
      g_autoptr(JsonNode) eval = NULL;
      JsonArray *tensors = get_array (json_node_get_object (layers), "tensors");
      JsonObject *k2s = json_node_get_object (k2_stats), *k3s = json_node_get_object (stats);
      JsonObject *k2e = json_node_get_object (k2_eval), *k3e;
      JsonArray *k2l, *k3l;
      const char *keys[] = { "fp32_top1", "quant_top1", "agreement", NULL };

      g_assert_cmpstr (get_string (json_node_get_object (layers), "layout"), ==,
                       which == 0 ? "keras3-model" : "keras3-weights");
      /* Keras 2's 16 weights, then the optimizer's two variables. */
      g_assert_cmpuint (json_array_get_length (tensors), ==, json_array_get_length (k2_tensors) + 2);
      for (guint i = 0; i < json_array_get_length (k2_tensors); i++)
        {
          JsonObject *a = json_array_get_object_element (k2_tensors, i);
          JsonObject *b = json_array_get_object_element (tensors, i);
          g_autofree char *weight = g_path_get_basename (get_string (a, "path"));
          g_autofree char *expected = NULL;

          *strchr (weight, ':') = '\0';
          expected = g_strdup_printf ("/%s/%s", get_string (a, "layer"), weight);
          g_assert_cmpstr (get_string (b, "path"), ==, expected);
          g_assert_cmpstr (get_string (b, "layer"), ==, get_string (a, "layer"));
          g_assert_cmpstr (get_string (b, "role"), ==, get_string (a, "role"));
          g_assert_cmpint (get_int (b, "count"), ==, get_int (a, "count"));
          g_assert_true (json_node_equal (json_object_get_member (b, "channel_axis"),
                                          json_object_get_member (a, "channel_axis")));
        }

      g_assert_cmpfloat (get_number (k3s, "mse"), ==, get_number (k2s, "mse"));
      g_assert_cmpfloat (get_number (k3s, "sqnr_db"), ==, get_number (k2s, "sqnr_db"));
      g_assert_cmpfloat (get_number (k3s, "max_abs_error"), ==, get_number (k2s, "max_abs_error"));

      g_ptr_array_index (eval_args, 1) = (gpointer) file;
      eval = run_json_args (eval_args);
      k3e = json_node_get_object (eval);
      for (int k = 0; keys[k] != NULL; k++)
        g_assert_cmpfloat (get_number (k3e, keys[k]), ==, get_number (k2e, keys[k]));
      k2l = get_array (k2e, "layers");
      k3l = get_array (k3e, "layers");
      g_assert_cmpuint (json_array_get_length (k3l), ==, json_array_get_length (k2l));
      for (guint i = 0; i < json_array_get_length (k2l); i++)
        g_assert_cmpfloat (get_number (json_array_get_object_element (k3l, i), "weight_sqnr_db"), ==,
                           get_number (json_array_get_object_element (k2l, i), "weight_sqnr_db"));
    }
}

/* A hostile archive is bad input like any other: one line, status 2. */
static void
test_keras3_hostile (void)
{
  const char *names[] = { "bomb.keras", "truncated.keras", "dotdot.keras", "zip64.keras", "encrypted.keras" };

  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *path = g_test_build_filename (G_TEST_DIST, "data", "keras3", names[i], NULL);

      assert_fails ("layers", path, NULL);
      assert_fails ("eval", path, "--limit", "10", NULL);
    }
}

/* An image folder is data for eval: with class folders, accuracy; without,
 * agreement with float32 (fp32 and int top-1 null). */
static void
test_eval_image_folders (void)
{
  g_autofree char *model = g_test_build_filename (G_TEST_DIST, "..", "data", "models", "fashion-cnn.h5", NULL);
  g_autofree char *labeled = g_test_build_filename (G_TEST_DIST, "data", "images", "labeled", NULL);
  g_autofree char *unlabeled = g_test_build_filename (G_TEST_DIST, "data", "images", "unlabeled", NULL);
  g_autofree char *broken = g_test_build_filename (G_TEST_DIST, "data", "images", "broken", NULL);
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  g_autoptr(JsonNode) with_labels = NULL;
  g_autoptr(JsonNode) without = NULL;
  JsonObject *o;

  g_ptr_array_add (args, (gpointer) "eval");
  g_ptr_array_add (args, model);
  g_ptr_array_add (args, (gpointer) "--data");
  g_ptr_array_add (args, labeled);
  g_ptr_array_add (args, (gpointer) "--json");
  with_labels = run_json_args (args);
  o = json_node_get_object (with_labels);
  g_assert_true (get_bool (o, "labeled"));
  g_assert_cmpstr (get_string (o, "preprocess"), ==, "unit");
  g_assert_cmpint (get_int (o, "images"), ==, 4);
  g_assert_cmpfloat (get_number (o, "fp32_top1"), ==, get_int (o, "fp32_correct") / 4.0);
  g_assert_false (json_object_has_member (o, "top5_agreement"));

  g_ptr_array_index (args, 3) = unlabeled;
  g_ptr_array_add (args, (gpointer) "--preprocess");
  g_ptr_array_add (args, (gpointer) "tf");
  without = run_json_args (args);
  o = json_node_get_object (without);
  g_assert_false (get_bool (o, "labeled"));
  g_assert_cmpstr (get_string (o, "preprocess"), ==, "tf");
  g_assert_cmpint (get_int (o, "images"), ==, 2);
  assert_null (o, "fp32_top1");
  assert_null (o, "quant_top1");
  g_assert_cmpfloat (get_number (o, "top1_agreement"), ==, get_number (o, "agreement"));
  g_assert_cmpfloat (get_number (o, "top5_agreement"), >=, get_number (o, "top1_agreement"));
  g_assert_cmpfloat (get_number (o, "top5_agreement"), <=, 1.0);
  g_assert_cmpfloat (get_number (o, "output_sqnr_db"), >, 0.0);

  assert_fails ("eval", model, "--data", broken, NULL);
  assert_fails ("eval", model, "--data", labeled, "--preprocess", "imagenet", NULL);
}

/* A Keras 3 archive exports to HDF5 with the tree of its
 * model.weights.h5 and its config.json as model_config, so the export
 * reopens with the same names; a glob on the names picks tensors. */
static void
test_keras3_export (void)
{
  g_autofree char *keras = g_test_build_filename (G_TEST_DIST, "data", "keras3", "tiny.keras", NULL);
  g_autofree char *out = g_build_filename (tmp_dir, "tiny-int8.h5", NULL);
  g_autoptr(QsTestCliRun) run = run_cli ("export", keras, out, "--tensors", "/stem/*", NULL);
  g_autoptr(JsonNode) layers = NULL;
  JsonArray *tensors;
  guint int8 = 0;

  g_assert_cmpint (run->status, ==, 0);
  layers = layers_json (out);
  g_assert_cmpstr (get_string (json_node_get_object (layers), "layout"), ==, "keras3-weights");
  g_assert_true (get_bool (json_node_get_object (layers), "has_model_config"));
  tensors = get_array (json_node_get_object (layers), "tensors");
  g_assert_cmpuint (json_array_get_length (tensors), ==, 14);
  for (guint i = 0; i < json_array_get_length (tensors); i++)
    {
      JsonObject *t = json_array_get_object_element (tensors, i);

      if (g_str_equal (get_string (t, "dtype"), "int8"))
        {
          int8++;
          /* The kernel only: biases are skipped by default. */
          g_assert_cmpstr (get_string (t, "path"), ==, "/stem/kernel");
          g_assert_cmpstr (get_string (t, "stored_path"), ==, "/layers/conv2d/vars/0");
        }
    }
  g_assert_cmpuint (int8, ==, 1);
}

int
main (int    argc,
      char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  setup_files ();

  g_test_add_func ("/cli/stats/keys", test_stats_keys);
  g_test_add_func ("/cli/stats/default-scheme", test_stats_default_scheme);
  g_test_add_func ("/cli/stats/seed-scheme", test_stats_seed_scheme);
  g_test_add_func ("/cli/stats/unsigned-lossless", test_stats_unsigned_lossless);
  g_test_add_func ("/cli/stats/all-zeros", test_stats_all_zeros);
  g_test_add_func ("/cli/stats/nonfinite", test_stats_nonfinite);
  g_test_add_func ("/cli/stats/per-channel", test_stats_per_channel);
  g_test_add_func ("/cli/stats/dtypes", test_stats_dtypes);
  g_test_add_func ("/cli/stats/histogram-options", test_stats_histogram_options);
  g_test_add_func ("/cli/option/bits", test_option_bits);
  g_test_add_func ("/cli/option/narrow", test_option_narrow);
  g_test_add_func ("/cli/option/symmetric", test_option_symmetric);
  g_test_add_func ("/cli/option/no-zero-nudge", test_option_no_zero_nudge);
  g_test_add_func ("/cli/option/range", test_option_range);
  g_test_add_func ("/cli/option/rounding", test_option_rounding);
  g_test_add_func ("/cli/option/format", test_option_format);
  g_test_add_func ("/cli/option/threads", test_option_threads);
  g_test_add_func ("/cli/text-output", test_text_output);
  g_test_add_func ("/cli/error/files", test_error_files);
  g_test_add_func ("/cli/error/tensors", test_error_tensors);
  g_test_add_func ("/cli/error/options", test_error_options);
  g_test_add_func ("/cli/error/usage", test_error_usage);
  g_test_add_func ("/cli/layers/fixture", test_layers_fixture);
  g_test_add_func ("/cli/sample/layers", test_sample_layers);
  g_test_add_func ("/cli/sample/stats", test_sample_stats);
  g_test_add_func ("/cli/eval/demo-model", test_eval_demo_model);
  g_test_add_func ("/cli/eval/converted-files", test_converted_files);
  g_test_add_func ("/cli/eval/nchw-images", test_eval_nchw_images);
  g_test_add_func ("/cli/eval/default-scheme", test_eval_default_scheme);
  g_test_add_func ("/cli/eval/errors", test_eval_errors);
  g_test_add_func ("/cli/compare/equals-eval-and-stats", test_compare_equals_eval_and_stats);
  g_test_add_func ("/cli/compare-table-columns", test_compare_table_columns);
  g_test_add_func ("/cli/keras3/demo", test_keras3_demo);
  g_test_add_func ("/cli/eval/image-folders", test_eval_image_folders);
  g_test_add_func ("/cli/keras3/hostile", test_keras3_hostile);
  g_test_add_func ("/cli/keras3/export", test_keras3_export);
  g_test_add_func ("/cli/open-heap-loop", test_open_heap_loop);
  g_test_add_func ("/cli/open-timeout", test_open_timeout);
  g_test_add_func ("/cli/layers/check-data", test_layers_check_data);
  g_test_add_func ("/cli/eval/table-columns", test_eval_table_columns);
  g_test_add_func ("/cli/number/seed-exercise", test_number_seed_exercise);
  g_test_add_func ("/cli/number/options", test_number_options);
  g_test_add_func ("/cli/number/nonfinite", test_number_nonfinite);
  g_test_add_func ("/cli/number/text", test_number_text);
  g_test_add_func ("/cli/number/errors", test_number_errors);
  g_test_add_func ("/cli/number/block", test_number_block);
  g_test_add_func ("/cli/stats/block-format", test_stats_block_format);
  g_test_add_func ("/cli/stats/group-sweep", test_stats_group_sweep);
  g_test_add_func ("/cli/block-errors", test_block_errors);
  g_test_add_func ("/cli/stats/block-too-large", test_block_too_large);
  g_test_add_func ("/cli/eval/blockwise", test_eval_blockwise);
  g_test_add_func ("/cli/hostile/export-targets", test_export_refuses_targets);
  g_test_add_func ("/cli/outputs-through-links", test_outputs_through_links);
  g_test_add_func ("/cli/hostile/output-onto-input", test_output_onto_input);
  g_test_add_func ("/cli/hostile/outputs-refuse-special-files", test_outputs_refuse_special_files);
  g_test_add_func ("/cli/hostile/input-not-regular", test_input_not_regular);
  g_test_add_func ("/cli/hostile/json-bombs", test_json_bombs);
  g_test_add_func ("/cli/hostile/crash-in-libhdf5", test_crash_in_libhdf5);
  g_test_add_func ("/cli/hostile/export-killed", test_export_killed);
  g_test_add_func ("/cli/stats/kl-low-bits-refused", test_kl_low_bits_refused);

  status = g_test_run ();
  teardown_files ();
  return status;
}
