/* test-number.c: one number in every format, against numpy's golden file and hand-derived cases.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * tests/data/number-golden.json is written by tests/reference/make_number_golden.py
 * (numpy casts for float64/32/16; an exact enumeration with ties to the even
 * code for bfloat16, E4M3, E5M2 and E2M1). Every field qs_number_encode()
 * reports is compared, doubles bit for bit. Fixed point and integer codes are
 * checked on cases worked by hand in the comments.
 */
#include <math.h>
#include <string.h>

#include <glib.h>
#include <json-glib/json-glib.h>

#include "quant/qs-number.h"

static JsonParser *golden_parser;

static double
double_from_bits (guint64 bits)
{
  double value;

  memcpy (&value, &bits, sizeof value);
  return value;
}

static guint64
double_bits (double value)
{
  guint64 bits;

  memcpy (&bits, &value, sizeof bits);
  return bits;
}

/* A golden double (null for a non-finite one) against ours, bit for bit. */
static gboolean
same_double (JsonObject *object,
             const char *member,
             double      ours)
{
  JsonNode *node = json_object_get_member (object, member);

  if (JSON_NODE_HOLDS_NULL (node))
    return !isfinite (ours);
  return double_bits (json_node_get_double (node)) == double_bits (ours);
}

static gboolean
same_hex (JsonObject *object,
          const char *member,
          const char *ours)
{
  return g_strcmp0 (json_object_get_string_member (object, member), ours) == 0;
}

/* Compares every field; on a mismatch, says which and returns FALSE. */
static gboolean
encoding_matches (JsonObject             *golden,
                  const QsNumberEncoding *e,
                  double                  value)
{
  const char *problem = NULL;

  if (JSON_NODE_HOLDS_NULL (json_object_get_member (golden, "bits")))
    {
      if (e->has_code)
        problem = "a code where there is none";
    }
  else
    {
      g_autofree char *bits = g_strdup_printf ("0x%0*" G_GINT64_MODIFIER "x",
                                               e->layout.width / 4, (guint64) e->bits);
      g_autofree char *mantissa = g_strdup_printf ("0x%" G_GINT64_MODIFIER "x", (guint64) e->mantissa);
      JsonNode *unbiased = json_object_get_member (golden, "exponent_unbiased");

      if (!e->has_code)
        problem = "no code";
      else if (!same_hex (golden, "bits", bits))
        problem = "bits";
      else if (json_object_get_int_member (golden, "sign") != e->sign)
        problem = "sign";
      else if (json_object_get_int_member (golden, "exponent_biased") != e->exponent_biased)
        problem = "exponent_biased";
      else if (!JSON_NODE_HOLDS_NULL (unbiased) && json_node_get_int (unbiased) != e->exponent_unbiased)
        problem = "exponent_unbiased";
      else if (!same_hex (golden, "mantissa", mantissa))
        problem = "mantissa";
    }
  if (problem == NULL)
    {
      if (g_strcmp0 (json_object_get_string_member (golden, "class"), qs_number_class_to_string (e->klass)) != 0)
        problem = "class";
      else if (!same_double (golden, "decoded", e->decoded))
        problem = "decoded";
      else if (!same_double (golden, "error", e->error))
        problem = "error";
      else if (!same_double (golden, "step", e->step))
        problem = "step";
      else if (json_object_get_boolean_member (golden, "saturated") != e->saturated)
        problem = "saturated";
      else if (json_object_get_boolean_member (golden, "overflowed") != e->overflowed)
        problem = "overflowed";
    }
  if (problem != NULL)
    g_test_message ("%s of %.17g (0x%016" G_GINT64_MODIFIER "x): %s differs (ours 0x%"
                    G_GINT64_MODIFIER "x, decoded %.17g)", e->layout.name, value,
                    double_bits (value), problem, (guint64) e->bits, e->decoded);
  return problem == NULL;
}

static void
test_golden_format (gconstpointer data)
{
  QsNumberFormat format = GPOINTER_TO_INT (data);
  const char *name = qs_number_layout (format)->name;
  JsonArray *cases = json_object_get_array_member (json_node_get_object (json_parser_get_root (golden_parser)),
                                                   "cases");
  guint mismatches = 0;

  g_assert_cmpuint (json_array_get_length (cases), >=, 300);
  for (guint i = 0; i < json_array_get_length (cases); i++)
    {
      JsonObject *c = json_array_get_object_element (cases, i);
      guint64 bits = g_ascii_strtoull (json_object_get_string_member (c, "value_bits"), NULL, 16);
      double value = double_from_bits (bits);
      JsonObject *golden = json_object_get_object_member (json_object_get_object_member (c, "encodings"), name);
      QsNumberEncoding e;

      g_assert_nonnull (golden);
      qs_number_encode (value, format, &e);
      if (!encoding_matches (golden, &e, value))
        mismatches++;
    }
  g_assert_cmpuint (mismatches, ==, 0);
}

/* The seed notes' exercise: 8.625 = 1000.101b = 1.000101b x 2^3, so the
 * biased exponent is 3 + 127 = 130 = 10000010b and the fraction field
 * 000101 followed by zeros: 0 10000010 00010100000000000000000 = 0x410a0000. */
static void
test_seed_exercise (void)
{
  QsNumberEncoding e;

  qs_number_encode (8.625, QS_NUMBER_FLOAT32, &e);
  g_assert_cmphex (e.bits, ==, 0x410a0000);
  g_assert_cmpint (e.sign, ==, 0);
  g_assert_cmpuint (e.exponent_biased, ==, 130);
  g_assert_cmpint (e.exponent_unbiased, ==, 3);
  g_assert_cmpint (e.layout.bias, ==, 127);
  g_assert_cmphex (e.mantissa, ==, 0x0a0000);
  g_assert_cmpint (e.klass, ==, QS_NUMBER_NORMAL);
  g_assert_cmpfloat (e.decoded, ==, 8.625);
  g_assert_cmpfloat (e.error, ==, 0.0);
  /* 2^(3 - 23) */
  g_assert_cmpfloat (e.step, ==, 0x1p-20);

  /* Double precision: bias 1023, 52 fraction bits: 3 + 1023 = 1026. */
  qs_number_encode (8.625, QS_NUMBER_FLOAT64, &e);
  g_assert_cmphex (e.bits, ==, G_GUINT64_CONSTANT (0x4021400000000000));
  g_assert_cmpuint (e.exponent_biased, ==, 1026);
}

/* Hand-worked overflow conventions (the file comment of qs-number.h). */
static void
test_overflow_conventions (void)
{
  QsNumberEncoding e;

  /* float16: 65520 is the tie between 65504 (odd mantissa) and 65536. */
  qs_number_encode (65520.0, QS_NUMBER_FLOAT16, &e);
  g_assert_cmphex (e.bits, ==, 0x7c00);
  g_assert_true (e.overflowed);
  g_assert_false (e.saturated);
  /* E4M3: 464 ties 448 (mantissa 110, even) with the missing 480. */
  qs_number_encode (464.0, QS_NUMBER_FP8_E4M3, &e);
  g_assert_cmphex (e.bits, ==, 0x7e);
  g_assert_false (e.saturated);
  qs_number_encode (-480.0, QS_NUMBER_FP8_E4M3, &e);
  g_assert_cmphex (e.bits, ==, 0xfe);
  g_assert_true (e.saturated);
  /* E5M2 saturates rather than going to its infinity. */
  qs_number_encode (INFINITY, QS_NUMBER_FP8_E5M2, &e);
  g_assert_cmphex (e.bits, ==, 0x7b);
  g_assert_true (e.saturated);
  /* E2M1: 7 ties 6 (odd) with the missing 8; 5 ties 4 and 6 and goes to 4. */
  qs_number_encode (7.0, QS_NUMBER_FP4_E2M1, &e);
  g_assert_cmphex (e.bits, ==, 0x7);
  g_assert_true (e.saturated);
  qs_number_encode (5.0, QS_NUMBER_FP4_E2M1, &e);
  g_assert_cmphex (e.bits, ==, 0x6);
  g_assert_cmpfloat (e.decoded, ==, 4.0);
  g_assert_false (e.saturated);
  qs_number_encode (NAN, QS_NUMBER_FP4_E2M1, &e);
  g_assert_false (e.has_code);
  g_assert_cmpint (e.klass, ==, QS_NUMBER_NAN);
}

typedef struct {
  double  value;
  int     m, n;
  gint64  code;
  guint64 bits;
  double  decoded;
  gboolean saturated;
} FixedCase;

static void
test_fixed_point (void)
{
  static const FixedCase cases[] = {
    /* 8.625 * 256 = 2208 = 0x8a0 */
    { 8.625, 8, 8, 2208, 0x08a0, 8.625, FALSE },
    /* -2208 in 16 bits: 65536 - 2208 = 63328 = 0xf760 */
    { -8.625, 8, 8, -2208, 0xf760, -8.625, FALSE },
    /* 0.1 * 2^15 = 3276.8 -> 3277 */
    { 0.1, 1, 15, 3277, 0x0ccd, 3277.0 / 32768.0, FALSE },
    /* ties to even: 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, -2.5 -> -2 (0xe in 4 bits) */
    { 0.5, 4, 0, 0, 0x0, 0.0, FALSE },
    { 1.5, 4, 0, 2, 0x2, 2.0, FALSE },
    { 2.5, 4, 0, 2, 0x2, 2.0, FALSE },
    { -2.5, 4, 0, -2, 0xe, -2.0, FALSE },
    /* Q8.8's range is [-128, 127.99609375]: 127.998 * 256 = 32767.49 stays,
     * 127.999 * 256 = 32767.74 rounds to 32768 and saturates. */
    { 127.998, 8, 8, 32767, 0x7fff, 32767.0 / 256.0, FALSE },
    { 127.999, 8, 8, 32767, 0x7fff, 32767.0 / 256.0, TRUE },
    { 200.0, 8, 8, 32767, 0x7fff, 32767.0 / 256.0, TRUE },
    { -200.0, 8, 8, -32768, 0x8000, -128.0, TRUE },
    { -128.0, 8, 8, -32768, 0x8000, -128.0, FALSE },
    { INFINITY, 8, 8, 32767, 0x7fff, 32767.0 / 256.0, TRUE },
    /* Q1.0 holds only -1 and 0. */
    { -1.0, 1, 0, -1, 0x1, -1.0, FALSE },
    { 5.0, 1, 0, 0, 0x0, 0.0, TRUE },
    /* 8.625 * 2^32 = 37044092928 = 0x8a0000000 */
    { 8.625, 32, 32, G_GINT64_CONSTANT (37044092928), G_GUINT64_CONSTANT (0x8a0000000), 8.625, FALSE },
    { -1.0, 64, 0, -1, G_MAXUINT64, -1.0, FALSE },
    { 1e30, 64, 0, G_MAXINT64, G_GUINT64_CONSTANT (0x7fffffffffffffff), 0x1p63, TRUE },
    { -1e30, 64, 0, G_MININT64, G_GUINT64_CONSTANT (0x8000000000000000), -0x1p63, TRUE },
    { -1.0, 1, 63, G_MININT64, G_GUINT64_CONSTANT (0x8000000000000000), -1.0, FALSE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const FixedCase *c = &cases[i];
      QsFixedPoint f;

      g_test_message ("Q%d.%d of %g", c->m, c->n, c->value);
      g_assert_cmpint (qs_number_fixed_point (c->value, c->m, c->n, &f), ==, QS_OK);
      g_assert_true (f.defined);
      g_assert_cmpint (f.code, ==, c->code);
      g_assert_cmphex (f.bits, ==, c->bits);
      g_assert_cmpfloat (f.decoded, ==, c->decoded);
      g_assert_cmpint (f.saturated, ==, c->saturated);
      g_assert_cmpfloat (f.resolution, ==, ldexp (1.0, -c->n));
      if (isfinite (c->value))
        g_assert_cmpfloat (f.error, ==, c->decoded - c->value);
    }
}

static void
test_fixed_point_range (void)
{
  QsFixedPoint f;

  /* Q8.8: [-2^7, 2^7 - 2^-8] in steps of 2^-8; Q16.0 buys range, Q1.15
   * resolution, from the same 16 bits. */
  g_assert_cmpint (qs_number_fixed_point (0.0, 8, 8, &f), ==, QS_OK);
  g_assert_cmpfloat (f.min, ==, -128.0);
  g_assert_cmpfloat (f.max, ==, 127.99609375);
  g_assert_cmpfloat (f.resolution, ==, 0.00390625);
  g_assert_cmpint (qs_number_fixed_point (0.0, 16, 0, &f), ==, QS_OK);
  g_assert_cmpfloat (f.min, ==, -32768.0);
  g_assert_cmpfloat (f.max, ==, 32767.0);
  g_assert_cmpint (qs_number_fixed_point (0.0, 1, 15, &f), ==, QS_OK);
  g_assert_cmpfloat (f.min, ==, -1.0);
  g_assert_cmpfloat (f.max, ==, 1.0 - 0x1p-15);

  g_assert_cmpint (qs_number_fixed_point (NAN, 8, 8, &f), ==, QS_OK);
  g_assert_false (f.defined);

  g_assert_cmpint (qs_number_fixed_point (1.0, 0, 8, &f), ==, QS_STATUS_INVALID_ARGUMENT);
  g_assert_cmpint (qs_number_fixed_point (1.0, 8, -1, &f), ==, QS_STATUS_INVALID_ARGUMENT);
  g_assert_cmpint (qs_number_fixed_point (1.0, 40, 25, &f), ==, QS_STATUS_INVALID_ARGUMENT);
}

typedef struct {
  double     value;
  int        bits;
  gboolean   is_unsigned, narrow;
  QsRounding rounding;
  float      scale;
  int        zero_point;
  gint32     code;
  guint32    pattern;
  double     dequantized;
  gboolean   clipped;
} IntegerCase;

static void
test_integer_code (void)
{
  static const IntegerCase cases[] = {
    /* 1.25 / 0.5 = 2.5: half to even 2, half away 3 */
    { 1.25, 8, FALSE, FALSE, QS_ROUNDING_HALF_EVEN, 0.5f, 0, 2, 0x02, 1.0, FALSE },
    { 1.25, 8, FALSE, FALSE, QS_ROUNDING_HALF_AWAY, 0.5f, 0, 3, 0x03, 1.5, FALSE },
    /* -2.5 -> -2, plus Z = 10 -> 8 */
    { -1.25, 8, FALSE, FALSE, QS_ROUNDING_HALF_EVEN, 0.5f, 10, 8, 0x08, -1.0, FALSE },
    /* -6 in 8 bits: 0xfa */
    { -3.0, 8, FALSE, FALSE, QS_ROUNDING_HALF_EVEN, 0.5f, 0, -6, 0xfa, -3.0, FALSE },
    /* 200 > 127: clipped to 127 = 63.5 */
    { 100.0, 8, FALSE, FALSE, QS_ROUNDING_HALF_EVEN, 0.5f, 0, 127, 0x7f, 63.5, TRUE },
    /* unsigned, Z = 128: -64 / 0.5 + 128 = 0, exactly the lowest code */
    { -64.0, 8, TRUE, FALSE, QS_ROUNDING_HALF_EVEN, 0.5f, 128, 0, 0x00, -64.0, FALSE },
    { -64.5, 8, TRUE, FALSE, QS_ROUNDING_HALF_EVEN, 0.5f, 128, 0, 0x00, -64.0, TRUE },
    /* 4-bit narrow: [-7, 7]; -4 / 0.5 = -8 clips to -7 = 0x9 */
    { -4.0, 4, FALSE, TRUE, QS_ROUNDING_HALF_EVEN, 0.5f, 0, -7, 0x9, -3.5, TRUE },
    /* NaN takes the zero point's code */
    { NAN, 8, FALSE, FALSE, QS_ROUNDING_HALF_EVEN, 0.5f, 3, 3, 0x03, 0.0, FALSE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const IntegerCase *c = &cases[i];
      QsScheme scheme;
      QsIntegerCode q;

      qs_scheme_init_per_tensor (&scheme);
      scheme.bits = c->bits;
      scheme.is_unsigned = c->is_unsigned;
      scheme.narrow = c->narrow;
      scheme.rounding = c->rounding;
      g_test_message ("case %" G_GSIZE_FORMAT, i);
      g_assert_cmpint (qs_number_integer_code (c->value, &scheme, c->scale, c->zero_point, &q), ==, QS_OK);
      g_assert_cmpint (q.code, ==, c->code);
      g_assert_cmphex (q.bits, ==, c->pattern);
      g_assert_cmpfloat (q.dequantized, ==, c->dequantized);
      g_assert_cmpint (q.clipped, ==, c->clipped);
      if (isfinite (c->value))
        g_assert_cmpfloat (q.error, ==, c->dequantized - c->value);
      else
        g_assert_true (isnan (q.error));
    }
}

static void
test_integer_code_invalid (void)
{
  QsScheme scheme;
  QsIntegerCode q;

  qs_scheme_init_per_tensor (&scheme);
  g_assert_cmpint (qs_number_integer_code (1.0, &scheme, 0.0f, 0, &q), ==, QS_STATUS_INVALID_ARGUMENT);
  g_assert_cmpint (qs_number_integer_code (1.0, &scheme, -1.0f, 0, &q), ==, QS_STATUS_INVALID_ARGUMENT);
  g_assert_cmpint (qs_number_integer_code (1.0, &scheme, NAN, 0, &q), ==, QS_STATUS_INVALID_ARGUMENT);
  g_assert_cmpint (qs_number_integer_code (1.0, &scheme, INFINITY, 0, &q), ==, QS_STATUS_INVALID_ARGUMENT);
  g_assert_cmpint (qs_number_integer_code (1.0, &scheme, 1.0f, 128, &q), ==, QS_STATUS_INVALID_ARGUMENT);
  scheme.bits = 1;
  g_assert_cmpint (qs_number_integer_code (1.0, &scheme, 1.0f, 0, &q), ==, QS_STATUS_INVALID_ARGUMENT);
}

int
main (int    argc,
      char **argv)
{
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;

  g_test_init (&argc, &argv, NULL);

  golden_parser = json_parser_new ();
  path = g_test_build_filename (G_TEST_DIST, "data", "number-golden.json", NULL);
  if (!json_parser_load_from_file (golden_parser, path, &error))
    g_error ("cannot read %s: %s", path, error->message);

  for (int f = 0; f < QS_NUMBER_N_FORMATS; f++)
    {
      g_autofree char *name = g_strdup_printf ("/number/golden/%s", qs_number_layout (f)->name);
      g_test_add_data_func (name, GINT_TO_POINTER (f), test_golden_format);
    }
  g_test_add_func ("/number/seed-exercise", test_seed_exercise);
  g_test_add_func ("/number/overflow-conventions", test_overflow_conventions);
  g_test_add_func ("/number/fixed-point/cases", test_fixed_point);
  g_test_add_func ("/number/fixed-point/range", test_fixed_point_range);
  g_test_add_func ("/number/integer-code/cases", test_integer_code);
  g_test_add_func ("/number/integer-code/invalid", test_integer_code_invalid);

  {
    int status = g_test_run ();
    g_object_unref (golden_parser);
    return status;
  }
}
