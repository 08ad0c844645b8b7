/* test-json.c: JSON from files is bounded before json-glib parses it, and read by type without a Json-CRITICAL.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <math.h>
#include <string.h>

#include <glib.h>

#include "engine/qs-engine.h"
#include "model/qs-error.h"
#include "model/qs-json.h"
#include "model/qs-keras-model.h"
#include "model/qs-scheme-file.h"
#include "model/qs-weight-file.h"

/* @depth arrays, one inside the other, around @core. */
static char *
nested (guint       depth,
        const char *core)
{
  GString *text = g_string_new (NULL);

  for (guint i = 0; i < depth; i++)
    g_string_append_c (text, '[');
  g_string_append (text, core);
  for (guint i = 0; i < depth; i++)
    g_string_append_c (text, ']');
  return g_string_free (text, FALSE);
}

static gboolean
load (const char  *text,
      gsize        max_bytes,
      GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();

  return qs_json_parser_load (parser, text, -1, max_bytes, "the test input", error);
}

static void
assert_too_large (const char *text,
                  gsize       max_bytes,
                  const char *expected)
{
  g_autoptr(GError) error = NULL;

  g_assert_false (load (text, max_bytes, &error));
  g_assert_error (error, QS_ERROR, QS_ERROR_TOO_LARGE);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, expected));
  g_assert_null (strchr (error->message, '\n'));
}

static void
test_depth_limit (void)
{
  g_autofree char *deepest = nested (QS_JSON_MAX_DEPTH, "1");
  g_autofree char *too_deep = nested (QS_JSON_MAX_DEPTH + 1, "1");
  g_autofree char *bomb = nested (100000, "");
  g_autoptr(GError) error = NULL;

  g_assert_true (load (deepest, QS_JSON_MAX_CONFIG_BYTES, &error));
  g_assert_no_error (error);
  assert_too_large (too_deep, QS_JSON_MAX_CONFIG_BYTES, "more than 64 levels deep");
  assert_too_large (bomb, QS_JSON_MAX_CONFIG_BYTES, "more than 64 levels deep");
}

/* What json-glib reads as text does not count as nesting, and what it
 * reads as nesting always does: "double" strings with escapes, 'single'
 * strings (no escapes) and C comments, which json-glib 1.6 all accepts. */
static void
test_depth_follows_the_scanner (void)
{
  static const char *const in_text[] = {
    "\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"",
    "\"\\\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"",
    "'[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\'",
    "/* [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[ */ 1",
  };
  /* A quote inside the other kind of string opens nothing. */
  static const char *const hidden[] = { "'\"', ", "\"'\", ", "/* \" */ " };

  for (gsize i = 0; i < G_N_ELEMENTS (in_text); i++)
    {
      g_autofree char *text = nested (QS_JSON_MAX_DEPTH, in_text[i]);
      g_autoptr(GError) error = NULL;

      g_test_message ("%s", in_text[i]);
      g_assert_true (load (text, QS_JSON_MAX_CONFIG_BYTES, &error));
      g_assert_no_error (error);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (hidden); i++)
    {
      g_autofree char *inner = nested (QS_JSON_MAX_DEPTH, "1");
      g_autofree char *core = g_strconcat (hidden[i], inner, NULL);
      g_autofree char *text = nested (1, core);

      assert_too_large (text, QS_JSON_MAX_CONFIG_BYTES, "levels deep");
    }
}

static void
test_size_and_value_limits (void)
{
  g_autofree char *spaces = g_strnfill (1025, ' ');
  g_autoptr(GString) values = g_string_new ("[0");
  g_autoptr(GError) error = NULL;

  assert_too_large (spaces, 1024, "larger than");
  /* 4096 bytes allow 256 values: 256 pass, 257 do not. */
  for (int i = 1; i < 256; i++)
    g_string_append (values, ",0");
  g_string_append_c (values, ']');
  g_assert_true (load (values->str, 4096, &error));
  g_assert_no_error (error);
  g_string_insert (values, 1, "0,");
  assert_too_large (values->str, 4096, "more than 256 values");
}

static JsonObject *
parse_object (JsonParser *parser,
              const char *text)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (qs_json_parser_load (parser, text, -1, 4096, "test", &error));
  g_assert_no_error (error);
  return json_node_get_object (json_parser_get_root (parser));
}

static void
test_typed_members (void)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *object = parse_object (parser, "{\"units\": \"4\", \"n\": 7, \"x\": 2.5, \"flag\": true, "
                                             "\"name\": \"d\", \"none\": null, \"list\": [1], \"sub\": {}}");
  g_autoptr(GError) error = NULL;
  const char *text = "unchanged";
  gint64 number = -1;
  double real = -1;
  gboolean flag = FALSE;
  JsonObject *sub = NULL;
  JsonArray *list = NULL;

  g_assert_false (qs_json_member_int (object, "units", &number, &error));
  g_assert_error (error, QS_ERROR, QS_ERROR_INVALID);
  g_assert_cmpstr (error->message, ==, "“units” is a string, expected an integer");
  g_assert_cmpint (number, ==, -1);
  g_clear_error (&error);
  g_assert_false (qs_json_member_int (object, "x", &number, &error));
  g_assert_cmpstr (error->message, ==, "“x” is a number, expected an integer");
  g_clear_error (&error);
  g_assert_false (qs_json_member_string (object, "list", &text, &error));
  g_assert_cmpstr (error->message, ==, "“list” is an array, expected a string");
  g_clear_error (&error);
  g_assert_false (qs_json_member_object (object, "flag", &sub, &error));
  g_assert_cmpstr (error->message, ==, "“flag” is true or false, expected an object");
  g_clear_error (&error);
  g_assert_false (qs_json_member_bool (object, "n", &flag, &error));
  g_assert_cmpstr (error->message, ==, "“n” is an integer, expected true or false");
  g_clear_error (&error);
  g_assert_false (qs_json_member_array (object, "sub", &list, &error));
  g_assert_cmpstr (error->message, ==, "“sub” is an object, expected an array");
  g_clear_error (&error);

  /* Absent or null: the caller's default stays. */
  g_assert_true (qs_json_member_int (object, "absent", &number, &error));
  g_assert_true (qs_json_member_string (object, "none", &text, &error));
  g_assert_true (qs_json_member_int (NULL, "n", &number, &error));
  g_assert_no_error (error);
  g_assert_cmpint (number, ==, -1);
  g_assert_cmpstr (text, ==, "unchanged");

  g_assert_true (qs_json_member_int (object, "n", &number, &error));
  g_assert_true (qs_json_member_number (object, "n", &real, &error));
  g_assert_cmpfloat (real, ==, 7.0);
  g_assert_true (qs_json_member_number (object, "x", &real, &error));
  g_assert_true (qs_json_member_bool (object, "flag", &flag, &error));
  g_assert_true (qs_json_member_string (object, "name", &text, &error));
  g_assert_true (qs_json_member_object (object, "sub", &sub, &error));
  g_assert_true (qs_json_member_array (object, "list", &list, &error));
  g_assert_no_error (error);
  g_assert_cmpint (number, ==, 7);
  g_assert_cmpfloat (real, ==, 2.5);
  g_assert_true (flag);
  g_assert_cmpstr (text, ==, "d");
  g_assert_nonnull (sub);
  g_assert_cmpuint (json_array_get_length (list), ==, 1);
  g_assert_null (qs_json_array_element (list, 1));
  g_assert_null (qs_json_array_element (NULL, 0));
}

/* Configs and scheme files whose members have the wrong JSON types: an
 * error (or, where a type is only a hint, a model), never a Json-CRITICAL
 * (fatal here, as under G_DEBUG=fatal-criticals). */
static void
test_wrong_types_no_critical (void)
{
  static const char *const configs[] = {
    "[]",
    "{\"class_name\": 1}",
    "{\"class_name\": \"Sequential\", \"config\": \"x\"}",
    "{\"class_name\": \"Sequential\", \"config\": [1, \"x\", null, []]}",
    "{\"class_name\": \"Sequential\", \"config\": {\"layers\": [{\"class_name\": [1], \"config\": []}]}}",
    "{\"class_name\": \"Sequential\", \"config\": {\"layers\": ["
    "{\"class_name\": \"InputLayer\", \"config\": {\"batch_input_shape\": [null, \"28\", [28], {}], \"name\": 1}}]}}",
#define INPUT "{\"class_name\": \"InputLayer\", \"config\": {\"batch_input_shape\": [null, 28, 28, 1], \"name\": \"in\"}},"
    "{\"class_name\": \"Sequential\", \"config\": {\"layers\": [" INPUT
    "{\"class_name\": \"Conv2D\", \"config\": {\"name\": {}, \"filters\": \"32\", \"kernel_size\": [\"3\", [3]],"
    " \"strides\": {\"a\": 1}, \"padding\": 0, \"activation\": [], \"use_bias\": \"yes\"}}]}}",
    "{\"class_name\": \"Sequential\", \"config\": {\"layers\": [" INPUT
    "{\"class_name\": \"Conv2D\", \"config\": {\"name\": \"conv2d\", \"filters\": 32, \"kernel_size\": [3, 3],"
    " \"strides\": [[1], {}], \"padding\": [\"valid\"], \"activation\": {\"relu\": 1}, \"data_format\": 7}}]}}",
    "{\"class_name\": \"Sequential\", \"config\": {\"layers\": [" INPUT
    "{\"class_name\": \"BatchNormalization\", \"config\": {\"name\": \"bn\", \"axis\": [[3]], \"epsilon\": \"1\"}}]}}",
    "{\"class_name\": \"Sequential\", \"config\": {\"layers\": [" INPUT
    "{\"class_name\": \"BatchNormalization\", \"config\": {\"name\": \"bn2\", \"axis\": [\"3\"], \"center\": \"no\"}}]}}",
    "{\"class_name\": \"Sequential\", \"config\": {\"layers\": [" INPUT
    "{\"class_name\": \"Flatten\", \"config\": {\"name\": \"f\"}},"
    "{\"class_name\": \"Dense\", \"config\": {\"name\": \"d\", \"units\": [10], \"use_bias\": null}}]}}",
    "{\"class_name\": \"Sequential\", \"config\": {\"layers\": [" INPUT
    "{\"class_name\": \"MaxPooling2D\", \"config\": {\"name\": \"p\", \"pool_size\": \"2\", \"strides\": [true, false]}}]}}",
    "{\"class_name\": \"Sequential\", \"config\": {\"layers\": [" INPUT
    "{\"class_name\": \"Activation\", \"config\": {\"name\": \"a\", \"activation\": 1}},"
    "{\"class_name\": \"ReLU\", \"config\": {\"name\": \"r\", \"max_value\": \"6\"}}]}}",
#undef INPUT
    "{\"class_name\": \"Functional\", \"config\": {\"layers\": [1]}}",
    "{\"class_name\": \"Functional\", \"config\": {\"layers\": [{\"name\": \"a\", \"inbound_nodes\": [[[{}, 0, 0]]]},"
    " {\"name\": \"b\", \"inbound_nodes\": [[[[\"a\"], 0, 0]]]}, {\"name\": \"c\", \"inbound_nodes\": [[\"x\"]]},"
    " {\"name\": \"d\", \"inbound_nodes\": [{\"args\": [{\"config\": {\"keras_history\": [{}, 0]}}]}]},"
    " {\"name\": \"e\", \"inbound_nodes\": [{\"args\": [1]}]}, {\"name\": \"f\", \"inbound_nodes\": [{\"args\": \"x\"}]},"
    " {\"name\": \"g\", \"inbound_nodes\": [{\"args\": [{\"config\": {\"keras_history\": []}}]}]}]}}",
    "{\"class_name\": \"Model\", \"config\": {\"layers\": [{\"name\": [], \"config\": {\"name\": 5}}]}}",
  };
  static const char *const schemes[] = {
    "{\"version\": \"1\"}",
    "{\"version\": 1, \"default\": [], \"overrides\": {}, \"skip\": \"x\"}",
    "{\"version\": 1, \"default\": {\"bits\": \"8\", \"signed\": 1, \"axis\": [0], \"range\": 5}}",
    "{\"version\": 1, \"overrides\": [1, {\"tensors\": [1, {}], \"bits\": 4}, {\"tensors\": {}}]}",
    "{\"version\": 1, \"skip\": [null, [], 3]}",
  };
  g_autofree char *model = g_test_build_filename (G_TEST_DIST, "..", "data", "models", "fashion-cnn.h5", NULL);
  g_autoptr(QsWeightFile) weights = NULL;
  g_autoptr(GError) error = NULL;

  weights = qs_weight_file_open (model, &error);
  g_assert_no_error (error);
  for (gsize i = 0; i < G_N_ELEMENTS (configs); i++)
    {
      g_autoptr(GError) load_error = NULL;
      QsEngineModel *loaded = qs_keras_model_load_config (weights, configs[i], &load_error);

      /* Which wrong values are refused is the layer checks' business
       * (/json/size-settings-strict): here, only that nothing
       * logs and a refusal comes with a message. */
      g_test_message ("config %" G_GSIZE_FORMAT ": %s", i, loaded != NULL ? "loaded" : load_error->message);
      if (loaded != NULL)
        qs_engine_model_free (loaded);
      else
        g_assert_nonnull (load_error);
    }
  /* A member of the wrong type is named, with the type it should have. */
  {
    g_autoptr(GError) load_error = NULL;

    g_assert_null (qs_keras_model_load_config (weights, configs[1], &load_error));
    g_assert_cmpstr (load_error->message, ==, "model_config: “class_name” is an integer, expected a string");
  }
  for (gsize i = 0; i < G_N_ELEMENTS (schemes); i++)
    {
      g_autoptr(GError) load_error = NULL;
      g_autoptr(QsSchemeFile) scheme = qs_scheme_file_load_from_data (schemes[i], -1, "test.json", &load_error);

      g_test_message ("scheme %" G_GSIZE_FORMAT ": %s", i, load_error != NULL ? load_error->message : "loaded");
      g_assert_null (scheme);
      g_assert_error (load_error, QS_ERROR, QS_ERROR_INVALID);
    }
}

/* Every size setting of every layer kind the engine runs is a JSON
 * integer that fits an int and is positive (a pair, for the window
 * settings): each wrong value is refused naming the setting, and a sound
 * value of the same setting is not (the control that the layer was
 * reached). Pool strides of [true, false] and "2" once loaded. */
typedef struct {
  const char *class_name;
  const char *setting;
  const char *sound;     /* a value the setting accepts */
  const char *others;    /* the layer's other members */
} SizeSetting;

static void
test_size_settings_strict (void)
{
  static const SizeSetting settings[] = {
    { "Conv2D", "kernel_size", "[3, 3]", "\"filters\": 2" },
    { "Conv2D", "strides", "[2, 2]", "\"filters\": 2, \"kernel_size\": [3, 3]" },
    { "Conv2D", "dilation_rate", "[1, 1]", "\"filters\": 2, \"kernel_size\": [3, 3]" },
    { "Conv2D", "filters", "2", "\"kernel_size\": [3, 3]" },
    { "Conv2D", "groups", "1", "\"filters\": 2, \"kernel_size\": [3, 3]" },
    { "DepthwiseConv2D", "kernel_size", "[3, 3]", "\"depth_multiplier\": 1" },
    { "DepthwiseConv2D", "strides", "[2, 2]", "\"kernel_size\": [3, 3]" },
    { "DepthwiseConv2D", "dilation_rate", "[1, 1]", "\"kernel_size\": [3, 3]" },
    { "DepthwiseConv2D", "depth_multiplier", "1", "\"kernel_size\": [3, 3]" },
    { "MaxPooling2D", "pool_size", "[2, 2]", "\"strides\": [2, 2]" },
    { "MaxPooling2D", "strides", "[2, 2]", "\"pool_size\": [2, 2]" },
    { "AveragePooling2D", "pool_size", "[2, 2]", "\"strides\": [2, 2]" },
    { "AveragePooling2D", "strides", "[2, 2]", "\"pool_size\": [2, 2]" },
    { "Dense", "units", "10", "\"activation\": \"softmax\"" },
  };
  static const char *const bad_values[] = {
    "0", "-1", "\"3\"", "true", "3.0", "4294967299", "[1]", "[1, 2, 3]", "[true, false]", "[\"2\", \"2\"]",
    "[2, 0]", "[2, 4294967298]", "[2, 2.5]", "{}",
  };
  g_autofree char *model = g_test_build_filename (G_TEST_DIST, "..", "data", "models", "fashion-cnn.h5", NULL);
  g_autoptr(QsWeightFile) weights = NULL;
  g_autoptr(GError) error = NULL;

  weights = qs_weight_file_open (model, &error);
  g_assert_no_error (error);
  for (gsize i = 0; i < G_N_ELEMENTS (settings); i++)
    for (gsize v = 0; v <= G_N_ELEMENTS (bad_values); v++)
      {
        const SizeSetting *s = &settings[i];
        gboolean sound = v == G_N_ELEMENTS (bad_values);
        const char *value = sound ? s->sound : bad_values[v];
        g_autofree char *expect = g_strdup_printf ("has an invalid %s", s->setting);
        g_autofree char *config = NULL;
        g_autoptr(GError) load_error = NULL;
        QsEngineModel *loaded;

        /* Scalar settings (filters, units, ...) take no pair either. */
        if (!sound && g_str_has_prefix (value, "[2, 2") && s->sound[0] != '[')
          continue;
        config = g_strdup_printf ("{\"class_name\": \"Sequential\", \"config\": {\"layers\": ["
                                  "{\"class_name\": \"InputLayer\", \"config\": {\"batch_input_shape\": "
                                  "[null, 28, 28, 1], \"name\": \"in\"}}, {\"class_name\": \"%s\", \"config\": "
                                  "{\"name\": \"layer\", %s, \"%s\": %s}}]}}",
                                  s->class_name, s->others, s->setting, value);
        loaded = qs_keras_model_load_config (weights, config, &load_error);
        g_test_message ("%s %s = %s: %s", s->class_name, s->setting, value,
                        loaded != NULL ? "loaded" : load_error->message);
        if (sound)
          {
            /* Refused later (no weights for "layer"), never for the setting. */
            g_assert_true (loaded == NULL || load_error == NULL);
            g_assert_true (load_error == NULL || strstr (load_error->message, expect) == NULL);
          }
        else
          {
            g_assert_null (loaded);
            g_assert_error (load_error, QS_KERAS_MODEL_ERROR, QS_KERAS_MODEL_ERROR_BAD_CONFIG);
            g_assert_nonnull (strstr (load_error->message, expect));
          }
        if (loaded != NULL)
          qs_engine_model_free (loaded);
      }
}

/* Python's json module writes NaN, Infinity and -Infinity bare (Keras
 * configs hold them: nobuco's tf.pad with constant_values -inf); they load
 * as null and the infinities, inside strings they stay text, and plain
 * qs_json_parser_load still refuses them. */
static void
test_python_tokens (void)
{
  static const char text[] = "{\"a\": -Infinity, \"b\": [Infinity, NaN, 2.5],"
                              " \"s\": \"NaN \\\" -Infinity\"}";
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(JsonParser) strict = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonObject *root;
  JsonArray *b;

  g_assert_true (qs_json_parser_load_python (parser, text, -1, 1 << 20, "config", &error));
  g_assert_no_error (error);
  root = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpfloat (json_object_get_double_member (root, "a"), ==, -INFINITY);
  b = json_object_get_array_member (root, "b");
  g_assert_cmpfloat (json_array_get_double_element (b, 0), ==, INFINITY);
  g_assert_true (JSON_NODE_HOLDS_NULL (json_array_get_element (b, 1)));
  g_assert_cmpfloat (json_array_get_double_element (b, 2), ==, 2.5);
  g_assert_cmpstr (json_object_get_string_member (root, "s"), ==, "NaN \" -Infinity");
  g_assert_false (qs_json_parser_load (strict, text, -1, 1 << 20, "config", &error));
  g_assert_nonnull (error);
}

/* json-glib 1.6 reads "{...}{...}" as its first object and drops the
 * second silently: a scheme file or model_config holding two documents is
 * refused instead. Brackets in strings and comments, and whitespace after
 * the one document, are no second value. */
static void
test_second_root_refused (void)
{
  static const char *const refused[] = {
    "{\"version\": 1}{\"version\": 2}", "[1][2]", "{} []", "[[]] /* c */ {}", "{\"a\": {}}\n{}",
  };
  static const char *const accepted[] = {
    "{\"a\": \"}{\"}", "{\"a\": [[], {}]}  \n", "[1, [2], {\"b\": []}]", "{} /* {} */", "{\"a\": '}{'}",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_false (load (refused[i], 4096, &error));
      g_assert_error (error, QS_ERROR, QS_ERROR_INVALID);
      g_assert_nonnull (strstr (error->message, "a second object or array"));
    }
  for (gsize i = 0; i < G_N_ELEMENTS (accepted); i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_true (load (accepted[i], 4096, &error));
      g_assert_no_error (error);
    }
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);

  g_test_add_func ("/json/depth-limit", test_depth_limit);
  g_test_add_func ("/json/depth-follows-the-scanner", test_depth_follows_the_scanner);
  g_test_add_func ("/json/size-and-value-limits", test_size_and_value_limits);
  g_test_add_func ("/json/typed-members", test_typed_members);
  g_test_add_func ("/json/wrong-types-no-critical", test_wrong_types_no_critical);
  g_test_add_func ("/json/size-settings-strict", test_size_settings_strict);
  g_test_add_func ("/json/python-tokens", test_python_tokens);
  g_test_add_func ("/json/second-root-refused", test_second_root_refused);
  return g_test_run ();
}
