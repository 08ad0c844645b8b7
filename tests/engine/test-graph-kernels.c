/* test-graph-kernels.c: activations, lookup tables, merges and rescaling against independent references.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * - qs_activation_spec_apply against tests/data/activation-golden.json
 *   (Keras' definitions in float64, tests/reference/make_activation_golden.py)
 *   and against Keras quirks worked by hand;
 * - every lookup-table entry within one code of the float definition,
 *   quantized (evaluated here in double), for every kind over random
 *   scales and zero points, and exact for ReLU / ReLU6 on one quantization;
 * - the scalar Add / Subtract / Average / Multiply / rescale kernels and
 *   their parameters against tests/data/graph-kernel-golden.json (TFLite's
 *   integer rules in Python integers), and within one code of the float
 *   computation;
 * - every ISA's variant bit for bit against the scalar kernels on awkward
 *   lengths, misaligned pointers, in-place lookups and broadcasts.
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include <glib.h>
#include <json-glib/json-glib.h>

#include "engine/kernels/qs-graph-kernels.h"

static GRand *rng;
static JsonParser *activation_golden;
static JsonParser *kernel_golden;

static JsonArray *
golden_cases (JsonParser *parser)
{
  JsonObject *root = json_node_get_object (json_parser_get_root (parser));

  return json_object_get_array_member (root, "cases");
}

static int32_t
member_int (JsonObject *object,
            const char *name)
{
  return (int32_t) json_object_get_int_member (object, name);
}

/* @array as codes (g_free). */
static uint8_t *
array_codes (JsonArray *array,
             size_t    *n)
{
  size_t len = json_array_get_length (array);
  uint8_t *codes = g_malloc (MAX (len, 1));

  for (size_t i = 0; i < len; i++)
    {
      gint64 v = json_array_get_int_element (array, (guint) i);

      g_assert_cmpint (v, >=, 0);
      g_assert_cmpint (v, <=, 255);
      codes[i] = (uint8_t) v;
    }
  *n = len;
  return codes;
}

static uint8_t *
member_codes (JsonObject *object,
              const char *name,
              size_t     *n)
{
  return array_codes (json_object_get_array_member (object, name), n);
}

static void
assert_codes_equal (const uint8_t *got,
                    JsonArray     *expected,
                    size_t         n,
                    guint          case_index)
{
  g_assert_cmpuint (json_array_get_length (expected), ==, n);
  for (size_t i = 0; i < n; i++)
    if (got[i] != json_array_get_int_element (expected, (guint) i))
      g_error ("golden case %u, element %zu: got %u, expected %" G_GINT64_FORMAT,
               case_index, i, got[i], json_array_get_int_element (expected, (guint) i));
}

/* ---- float definitions ------------------------------------------------------------- */

static QsActivation
kind_from_name (const char *name)
{
  static const struct { const char *name; QsActivation kind; } kinds[] = {
    { "none", QS_ACTIVATION_NONE },
    { "relu", QS_ACTIVATION_RELU },
    { "leaky_relu", QS_ACTIVATION_LEAKY_RELU },
    { "elu", QS_ACTIVATION_ELU },
    { "sigmoid", QS_ACTIVATION_SIGMOID },
    { "hard_sigmoid", QS_ACTIVATION_HARD_SIGMOID },
    { "swish", QS_ACTIVATION_SWISH },
    { "hard_swish", QS_ACTIVATION_HARD_SWISH },
    { "tanh", QS_ACTIVATION_TANH },
    { "gelu", QS_ACTIVATION_GELU },
  };

  for (size_t i = 0; i < G_N_ELEMENTS (kinds); i++)
    if (strcmp (kinds[i].name, name) == 0)
      return kinds[i].kind;
  g_error ("unknown activation %s in the golden file", name);
}

static void
spec_from_golden (JsonObject       *golden_case,
                  QsActivationSpec *spec)
{
  JsonObject *params = json_object_get_object_member (golden_case, "params");

  qs_activation_spec_init (spec, kind_from_name (json_object_get_string_member (golden_case,
                                                                                "kind")));
  if (json_object_has_member (params, "max_value"))
    spec->max_value = (float) json_object_get_double_member (params, "max_value");
  if (json_object_has_member (params, "negative_slope"))
    spec->negative_slope = (float) json_object_get_double_member (params, "negative_slope");
  if (json_object_has_member (params, "threshold"))
    spec->threshold = (float) json_object_get_double_member (params, "threshold");
  if (json_object_has_member (params, "alpha"))
    spec->alpha = (float) json_object_get_double_member (params, "alpha");
  if (json_object_has_member (params, "slope"))
    spec->slope = (float) json_object_get_double_member (params, "slope");
  if (json_object_has_member (params, "offset"))
    spec->offset = (float) json_object_get_double_member (params, "offset");
  if (json_object_has_member (params, "approximate"))
    spec->approximate = json_object_get_boolean_member (params, "approximate");
}

static void
test_activation_golden (void)
{
  JsonArray *cases = golden_cases (activation_golden);

  g_assert_cmpuint (json_array_get_length (cases), >=, 20);
  for (guint c = 0; c < json_array_get_length (cases); c++)
    {
      JsonObject *golden_case = json_array_get_object_element (cases, c);
      JsonArray *xs = json_object_get_array_member (golden_case, "x");
      JsonArray *ys = json_object_get_array_member (golden_case, "y");
      QsActivationSpec spec;

      spec_from_golden (golden_case, &spec);
      g_test_message ("%s", json_object_get_string_member (golden_case, "name"));
      for (guint i = 0; i < json_array_get_length (xs); i++)
        {
          float x = (float) json_array_get_double_element (xs, i);
          double expected = json_array_get_double_element (ys, i);
          double got = qs_activation_spec_apply (&spec, x);

          /* float32 against float64: a few ulps, and an absolute floor for
           * the cancellation Keras' own float32 formulas have near zero
           * (1 + erf (x) for GELU below -3). */
          if (fabs (got - expected) > 1e-6 + 1e-6 * fabs (expected))
            g_error ("%s (%.9g): got %.9g, expected %.9g",
                     json_object_get_string_member (golden_case, "name"), x, got, expected);
        }
    }
}

/* Keras' defaults and quirks, worked by hand from its source. */
static void
test_activation_hand (void)
{
  QsActivationSpec spec;

  qs_activation_spec_init (&spec, QS_ACTIVATION_LEAKY_RELU);
  g_assert_cmpfloat (spec.negative_slope, ==, 0.3f);
  g_assert_true (isinf (spec.max_value));
  g_assert_cmpfloat (qs_activation_spec_apply (&spec, -2.0f), ==, 0.3f * -2.0f);
  g_assert_cmpfloat (qs_activation_spec_apply (&spec, 5.0f), ==, 5.0f);

  /* ReLU(threshold=-1): values above the threshold pass, even negative ones... */
  qs_activation_spec_init (&spec, QS_ACTIVATION_RELU);
  g_assert_cmpfloat (spec.negative_slope, ==, 0.0f);
  spec.threshold = -1.0f;
  g_assert_cmpfloat (qs_activation_spec_apply (&spec, -0.5f), ==, -0.5f);
  g_assert_cmpfloat (qs_activation_spec_apply (&spec, -1.5f), ==, 0.0f);
  /* ...unless a cap clips them to [0, max_value]. */
  spec.max_value = 6.0f;
  g_assert_cmpfloat (qs_activation_spec_apply (&spec, -0.5f), ==, 0.0f);
  g_assert_cmpfloat (qs_activation_spec_apply (&spec, 7.0f), ==, 6.0f);

  /* ReLU(negative_slope=0.5, threshold=2): 0.5 (x - 2) below the threshold. */
  qs_activation_spec_init (&spec, QS_ACTIVATION_LEAKY_RELU);
  spec.negative_slope = 0.5f;
  spec.threshold = 2.0f;
  g_assert_cmpfloat (qs_activation_spec_apply (&spec, 1.0f), ==, -0.5f);
  g_assert_cmpfloat (qs_activation_spec_apply (&spec, 3.0f), ==, 3.0f);

  qs_activation_spec_init (&spec, QS_ACTIVATION_HARD_SIGMOID);
  g_assert_cmpfloat (spec.slope, ==, 0.2f);
  g_assert_cmpfloat (spec.offset, ==, 0.5f);
  g_assert_cmpfloat (qs_activation_spec_apply (&spec, 2.5f), ==, 1.0f);
  g_assert_cmpfloat (qs_activation_spec_apply (&spec, -2.5f), ==, 0.0f);
  g_assert_cmpfloat (qs_activation_spec_apply (&spec, 0.0f), ==, 0.5f);

  qs_activation_spec_init (&spec, QS_ACTIVATION_HARD_SWISH);
  g_assert_cmpfloat (qs_activation_spec_apply (&spec, -3.0f), ==, 0.0f);
  g_assert_cmpfloat (qs_activation_spec_apply (&spec, 3.0f), ==, 3.0f);
  g_assert_cmpfloat_with_epsilon (qs_activation_spec_apply (&spec, 1.0f), 4.0f / 6.0f, 1e-7);

  qs_activation_spec_init (&spec, QS_ACTIVATION_ELU);
  g_assert_cmpfloat (spec.alpha, ==, 1.0f);
  qs_activation_spec_init (&spec, QS_ACTIVATION_GELU);
  g_assert_false (spec.approximate);

  /* tf.maximum (x, -1) then tf.minimum (., 1.5), and a floor above the cap: the cap everywhere, as
   * min (max (x, 2), 1) is. */
  qs_activation_spec_init (&spec, QS_ACTIVATION_CLAMP);
  g_assert_cmpfloat (spec.min_value, ==, -INFINITY);
  g_assert_cmpfloat (qs_activation_spec_apply (&spec, -1e30f), ==, -1e30f);
  spec.min_value = -1.0f;
  spec.max_value = 1.5f;
  g_assert_cmpfloat (qs_activation_spec_apply (&spec, -1.25f), ==, -1.0f);
  g_assert_cmpfloat (qs_activation_spec_apply (&spec, 0.3f), ==, 0.3f);
  g_assert_cmpfloat (qs_activation_spec_apply (&spec, 2.0f), ==, 1.5f);
  spec.min_value = 2.0f;
  spec.max_value = 1.0f;
  g_assert_cmpfloat (qs_activation_spec_apply (&spec, 3.0f), ==, 1.0f);
  g_assert_cmpfloat (qs_activation_spec_apply (&spec, -3.0f), ==, 1.0f);

  /* Softmax normalises a vector; per element it is the identity. */
  qs_activation_spec_init (&spec, QS_ACTIVATION_SOFTMAX);
  g_assert_cmpfloat (qs_activation_spec_apply (&spec, -1.25f), ==, -1.25f);
}

/* ---- lookup tables ---------------------------------------------------------------- */

/* The definitions again, in double, written from the Keras formulas
 * independently of qs-activation.c. */
static double
reference_activation (const QsActivationSpec *spec,
                      double                  x)
{
  switch (spec->kind)
    {
    case QS_ACTIVATION_RELU:
    case QS_ACTIVATION_LEAKY_RELU:
      {
        double y;

        if (x > spec->threshold)
          y = spec->threshold != 0.0 && isinf (spec->max_value) ? x : MAX (x, 0.0);
        else
          y = spec->negative_slope * (x - spec->threshold);
        return x > spec->threshold ? MIN (y, (double) spec->max_value) : y;
      }
    case QS_ACTIVATION_ELU:
      return x > 0.0 ? x : spec->alpha * expm1 (x);
    case QS_ACTIVATION_SIGMOID:
      return 1.0 / (1.0 + exp (-x));
    case QS_ACTIVATION_HARD_SIGMOID:
      return CLAMP (spec->slope * x + spec->offset, 0.0, 1.0);
    case QS_ACTIVATION_SWISH:
      return x / (1.0 + exp (-x));
    case QS_ACTIVATION_HARD_SWISH:
      return x * CLAMP (x + 3.0, 0.0, 6.0) / 6.0;
    case QS_ACTIVATION_TANH:
      return tanh (x);
    case QS_ACTIVATION_GELU:
      if (spec->approximate)
        return 0.5 * x * (1.0 + tanh (sqrt (2.0 / G_PI) * (x + 0.044715 * x * x * x)));
      return 0.5 * x * erfc (-x / G_SQRT2);
    case QS_ACTIVATION_CLAMP:
      return MIN (MAX (x, (double) spec->min_value), (double) spec->max_value);
    case QS_ACTIVATION_SOFTMAX:
    case QS_ACTIVATION_NONE:
    default:
      return x;
    }
}

static int
reference_code (const QsActivationSpec *spec,
                int                     q,
                float                   in_scale,
                int32_t                 in_zero,
                float                   out_scale,
                int32_t                 out_zero)
{
  double y = reference_activation (spec, (double) (q - in_zero) * in_scale) / out_scale;

  return (int) CLAMP (round (y) + out_zero, 0.0, 255.0);
}

typedef struct {
  QsActivation kind;
  float        max_value, negative_slope, threshold, alpha, slope, offset;
  bool         approximate;
  float        min_value;     /* CLAMP only */
} LutKind;

static const LutKind lut_kinds[] = {
  { QS_ACTIVATION_NONE, INFINITY, 0, 0, 1, 0.2f, 0.5f, false },
  { QS_ACTIVATION_RELU, INFINITY, 0, 0, 1, 0.2f, 0.5f, false },
  { QS_ACTIVATION_RELU, 6.0f, 0, 0, 1, 0.2f, 0.5f, false },
  { QS_ACTIVATION_LEAKY_RELU, INFINITY, 0.3f, 0, 1, 0.2f, 0.5f, false },
  { QS_ACTIVATION_LEAKY_RELU, 4.0f, 0.2f, 0.5f, 1, 0.2f, 0.5f, false },
  { QS_ACTIVATION_LEAKY_RELU, INFINITY, 0.0f, -1.0f, 1, 0.2f, 0.5f, false },
  { QS_ACTIVATION_ELU, INFINITY, 0, 0, 1, 0.2f, 0.5f, false },
  { QS_ACTIVATION_ELU, INFINITY, 0, 0, 0.7f, 0.2f, 0.5f, false },
  { QS_ACTIVATION_SIGMOID, INFINITY, 0, 0, 1, 0.2f, 0.5f, false },
  { QS_ACTIVATION_HARD_SIGMOID, INFINITY, 0, 0, 1, 0.2f, 0.5f, false },
  { QS_ACTIVATION_HARD_SIGMOID, INFINITY, 0, 0, 1, 1.0f / 6.0f, 0.5f, false },
  { QS_ACTIVATION_SWISH, INFINITY, 0, 0, 1, 0.2f, 0.5f, false },
  { QS_ACTIVATION_HARD_SWISH, INFINITY, 0, 0, 1, 0.2f, 0.5f, false },
  { QS_ACTIVATION_TANH, INFINITY, 0, 0, 1, 0.2f, 0.5f, false },
  { QS_ACTIVATION_GELU, INFINITY, 0, 0, 1, 0.2f, 0.5f, false },
  { QS_ACTIVATION_GELU, INFINITY, 0, 0, 1, 0.2f, 0.5f, true },
  { QS_ACTIVATION_CLAMP, 1.5f, 0, 0, 1, 0.2f, 0.5f, false, -0.5f },
  { QS_ACTIVATION_CLAMP, INFINITY, 0, 0, 1, 0.2f, 0.5f, false, -1.0f },
  { QS_ACTIVATION_CLAMP, 0.25f, 0, 0, 1, 0.2f, 0.5f, false, -INFINITY },
};

static void
lut_spec (const LutKind    *k,
          QsActivationSpec *spec)
{
  qs_activation_spec_init (spec, k->kind);
  spec->max_value = k->max_value;
  spec->negative_slope = k->negative_slope;
  spec->threshold = k->threshold;
  spec->alpha = k->alpha;
  spec->slope = k->slope;
  spec->offset = k->offset;
  spec->approximate = k->approximate;
  if (k->kind == QS_ACTIVATION_CLAMP)
    spec->min_value = k->min_value;
}

static float
random_scale (double lo_exp,
              double hi_exp)
{
  return (float) pow (10.0, g_rand_double_range (rng, lo_exp, hi_exp));
}

static int32_t
random_zero (void)
{
  switch (g_rand_int_range (rng, 0, 5))
    {
    case 0:
      return 0;
    case 1:
      return 255;
    case 2:
      return 128;
    default:
      return g_rand_int_range (rng, 0, 256);
    }
}

static void
test_lut_within_one_code (void)
{
  for (size_t k = 0; k < G_N_ELEMENTS (lut_kinds); k++)
    for (int trial = 0; trial < 400; trial++)
      {
        QsActivationSpec spec;
        float in_scale = random_scale (-3.0, -0.5);
        int32_t in_zero = random_zero ();
        /* Output ranges from a fraction of the input's to several times it. */
        float out_scale = in_scale * random_scale (-1.5, 1.0);
        int32_t out_zero = random_zero ();
        uint8_t table[256];

        lut_spec (&lut_kinds[k], &spec);
        qs_lut_build (&spec, in_scale, in_zero, out_scale, out_zero, table);
        for (int q = 0; q < 256; q++)
          {
            int expected = reference_code (&spec, q, in_scale, in_zero, out_scale, out_zero);

            if (abs (table[q] - expected) > 1)
              g_error ("kind %d (#%zu), q %d, scales %g/%g, zeros %d/%d: table %u, float %d",
                       spec.kind, k, q, in_scale, out_scale, in_zero, out_zero, table[q],
                       expected);
          }
      }
}

/* ReLU and ReLU6 keeping the input's quantization are exact in TFLite (a
 * clamp of the codes): so are the tables. */
static void
test_lut_relu_exact (void)
{
  for (int trial = 0; trial < 2000; trial++)
    {
      QsActivationSpec spec;
      float scale = random_scale (-3.0, 0.0);
      int32_t zero = random_zero ();
      bool relu6 = trial % 2 == 1;
      int32_t cap = relu6 ? (int32_t) round (6.0 / scale) : 255;
      uint8_t table[256];

      qs_activation_spec_init (&spec, QS_ACTIVATION_RELU);
      if (relu6)
        spec.max_value = 6.0f;
      qs_lut_build (&spec, scale, zero, scale, zero, table);
      for (int q = 0; q < 256; q++)
        g_assert_cmpint (table[q], ==, CLAMP (q, zero, MIN (255, zero + cap)));
    }
}

/* Worked by hand: the identity from scale 1 to scale 2 puts every odd
 * difference on a tie, and ties round away from zero (TFLite's QUANTIZE). */
static void
test_lut_rounding (void)
{
  QsActivationSpec spec;
  uint8_t table[256];

  qs_activation_spec_init (&spec, QS_ACTIVATION_NONE);
  qs_lut_build (&spec, 1.0f, 128, 2.0f, 100, table);
  g_assert_cmpuint (table[128], ==, 100);
  g_assert_cmpuint (table[129], ==, 101);   /* 0.5 -> 1 */
  g_assert_cmpuint (table[127], ==, 99);    /* -0.5 -> -1 */
  g_assert_cmpuint (table[131], ==, 102);   /* 1.5 -> 2 */
  g_assert_cmpuint (table[125], ==, 98);    /* -1.5 -> -2 */
  g_assert_cmpuint (table[0], ==, 36);      /* -64 */
  g_assert_cmpuint (table[255], ==, 164);   /* 63.5 -> 64 */
  /* Past the code range: clamped. */
  qs_lut_build (&spec, 1.0f, 128, 0.25f, 128, table);
  g_assert_cmpuint (table[0], ==, 0);
  g_assert_cmpuint (table[255], ==, 255);
  g_assert_cmpuint (table[129], ==, 132);
}

/* ---- merges and rescaling against TFLite's integer rules ----------------------------- */

/* The sums in double, rounded once: where every integer result must be
 * within one code. */
static int
float_code (double value,
            double output_scale,
            int32_t output_zero,
            int32_t act_min,
            int32_t act_max)
{
  return (int) CLAMP (round (value / output_scale) + output_zero, (double) act_min,
                      (double) act_max);
}

static void
assert_within_one (int         got,
                   int         expected,
                   guint       case_index,
                   size_t      element)
{
  if (abs (got - expected) > 1)
    g_error ("golden case %u, element %zu: integer %d, float %d", case_index, element, got,
             expected);
}

static void
check_add_case (JsonObject *gc,
                guint       index)
{
  JsonArray *scales_json = json_object_get_array_member (gc, "input_scales");
  JsonArray *zeros_json = json_object_get_array_member (gc, "input_zeros");
  JsonArray *inputs_json = json_object_get_array_member (gc, "inputs");
  JsonObject *gp = json_object_get_object_member (gc, "params");
  size_t n_inputs = json_array_get_length (scales_json), n = 0;
  double scales[QS_ENGINE_MAX_INPUTS];
  double output_scale = json_object_get_double_member (gc, "output_scale");
  int32_t zeros[QS_ENGINE_MAX_INPUTS];
  uint8_t *inputs[QS_ENGINE_MAX_INPUTS];
  bool subtract = json_object_get_boolean_member (gc, "subtract");
  int32_t output_zero = member_int (gc, "output_zero");
  int32_t act_min = member_int (gc, "act_min"), act_max = member_int (gc, "act_max");
  g_autofree uint8_t *out = NULL;
  QsAddParams p;

  g_assert_cmpuint (n_inputs, >=, 1);
  g_assert_cmpuint (n_inputs, <=, QS_ENGINE_MAX_INPUTS);
  for (size_t j = 0; j < n_inputs; j++)
    {
      scales[j] = json_array_get_double_element (scales_json, (guint) j);
      zeros[j] = (int32_t) json_array_get_int_element (zeros_json, (guint) j);
      inputs[j] = array_codes (json_array_get_array_element (inputs_json, (guint) j), &n);
    }
  g_assert_true (qs_add_params_init (n_inputs, scales, zeros, subtract, output_scale, output_zero,
                                     act_min, act_max, &p));

  g_assert_cmpuint (p.n_inputs, ==, n_inputs);
  g_assert_cmpint (p.left_shift, ==, member_int (gp, "left_shift"));
  for (size_t j = 0; j < n_inputs; j++)
    {
      JsonArray *m = json_object_get_array_member (gp, "input_multiplier");
      JsonArray *s = json_object_get_array_member (gp, "input_shift");

      g_assert_cmpint (p.input_offset[j], ==, -zeros[j]);
      g_assert_cmpint (p.input_multiplier[j], ==, json_array_get_int_element (m, (guint) j));
      g_assert_cmpint (p.input_shift[j], ==, json_array_get_int_element (s, (guint) j));
      g_assert_cmpint (p.input_sign[j], ==, subtract && j == 1 ? -1 : 1);
    }
  g_assert_cmpint (p.output_multiplier, ==, member_int (gp, "output_multiplier"));
  g_assert_cmpint (p.output_right_shift, ==, member_int (gp, "output_right_shift"));
  g_assert_cmpint (p.output_left_shift, ==, member_int (gp, "output_left_shift"));
  g_assert_cmpint (p.output_offset, ==, output_zero);

  out = g_malloc (MAX (n, 1));
  qs_add_u8_scalar (&p, (const uint8_t *const *) inputs, out, n);
  assert_codes_equal (out, json_object_get_array_member (gc, "expected"), n, index);
  for (size_t i = 0; i < n && !json_object_get_boolean_member (gc, "extreme"); i++)
    {
      double sum = 0.0;

      for (size_t j = 0; j < n_inputs; j++)
        sum += (subtract && j == 1 ? -1.0 : 1.0) * scales[j] * (inputs[j][i] - zeros[j]);
      assert_within_one (out[i], float_code (sum, output_scale, output_zero, act_min, act_max),
                         index, i);
    }
  for (size_t j = 0; j < n_inputs; j++)
    g_free (inputs[j]);
}

static void
check_mul_case (JsonObject *gc,
                guint       index)
{
  JsonObject *gp = json_object_get_object_member (gc, "params");
  double scale_a = json_object_get_double_member (gc, "scale_a");
  double scale_b = json_object_get_double_member (gc, "scale_b");
  double output_scale = json_object_get_double_member (gc, "output_scale");
  int32_t zero_a = member_int (gc, "zero_a"), zero_b = member_int (gc, "zero_b");
  int32_t output_zero = member_int (gc, "output_zero");
  int32_t act_min = member_int (gc, "act_min"), act_max = member_int (gc, "act_max");
  size_t n, b_len;
  g_autofree uint8_t *a = member_codes (gc, "a", &n);
  g_autofree uint8_t *b = member_codes (gc, "b", &b_len);
  g_autofree uint8_t *out = g_malloc (MAX (n, 1));
  QsMulParams p;

  g_assert_cmpint (member_int (gc, "b_len"), ==, (int32_t) b_len);
  g_assert_true (qs_mul_params_init (scale_a, zero_a, scale_b, zero_b, output_scale, output_zero,
                                     act_min, act_max, &p));
  g_assert_cmpint (p.a_offset, ==, -zero_a);
  g_assert_cmpint (p.b_offset, ==, -zero_b);
  g_assert_cmpint (p.output_multiplier, ==, member_int (gp, "output_multiplier"));
  g_assert_cmpint (p.output_right_shift, ==, member_int (gp, "output_right_shift"));
  g_assert_cmpint (p.output_left_shift, ==, member_int (gp, "output_left_shift"));
  g_assert_cmpint (p.output_offset, ==, output_zero);

  qs_mul_u8_scalar (&p, a, b, b_len, out, n);
  assert_codes_equal (out, json_object_get_array_member (gc, "expected"), n, index);
  for (size_t i = 0; i < n && !json_object_get_boolean_member (gc, "extreme"); i++)
    {
      double product = scale_a * (a[i] - zero_a) * scale_b * (b[i % b_len] - zero_b);

      assert_within_one (out[i], float_code (product, output_scale, output_zero, act_min,
                                             act_max), index, i);
    }
}

static void
check_rescale_case (JsonObject *gc,
                    guint       index)
{
  JsonObject *gp = json_object_get_object_member (gc, "params");
  double input_scale = json_object_get_double_member (gc, "input_scale");
  double output_scale = json_object_get_double_member (gc, "output_scale");
  int32_t input_zero = member_int (gc, "input_zero");
  int32_t output_zero = member_int (gc, "output_zero");
  size_t n;
  g_autofree uint8_t *in = member_codes (gc, "in", &n);
  g_autofree uint8_t *out = g_malloc (MAX (n, 1));
  QsRescaleParams p;

  g_assert_true (qs_rescale_params_init (input_scale, input_zero, output_scale, output_zero, &p));
  g_assert_cmpint (p.input_offset, ==, -input_zero);
  g_assert_cmpint (p.multiplier, ==, member_int (gp, "multiplier"));
  g_assert_cmpint (p.right_shift, ==, member_int (gp, "right_shift"));
  g_assert_cmpint (p.left_shift, ==, member_int (gp, "left_shift"));
  g_assert_cmpint (p.output_offset, ==, output_zero);
  g_assert_cmpint (p.identity, ==, json_object_get_boolean_member (gp, "identity"));

  /* One row, and the same codes as single-code rows read and written with strides. */
  qs_rescale_u8_scalar (&p, in, 1, n, n, out, n);
  assert_codes_equal (out, json_object_get_array_member (gc, "expected"), n, index);
  memset (out, 0, n);
  qs_rescale_u8_scalar (&p, in, n, 1, 1, out, 1);
  assert_codes_equal (out, json_object_get_array_member (gc, "expected"), n, index);
  /* One rounding: the code is the exact rescaled value rounded, never a
   * code further than half a step (plus the multiplier's 2^-31 error). */
  for (size_t i = 0; i < n && !json_object_get_boolean_member (gc, "extreme"); i++)
    {
      double exact = input_scale / output_scale * (in[i] - input_zero) + output_zero;

      exact = CLAMP (exact, 0.0, 255.0);
      if (fabs (out[i] - exact) > 0.5 + 1e-6 * (1.0 + fabs (exact)))
        g_error ("rescale case %u, code %zu: %u is more than half a step from %.6f", index, i, out[i], exact);
    }
}

static void
test_kernel_golden (void)
{
  JsonArray *cases = golden_cases (kernel_golden);
  guint counts[3] = { 0 };

  for (guint c = 0; c < json_array_get_length (cases); c++)
    {
      JsonObject *gc = json_array_get_object_element (cases, c);
      const char *op = json_object_get_string_member (gc, "op");

      if (strcmp (op, "add") == 0)
        check_add_case (gc, c), counts[0]++;
      else if (strcmp (op, "mul") == 0)
        check_mul_case (gc, c), counts[1]++;
      else if (strcmp (op, "rescale") == 0)
        check_rescale_case (gc, c), counts[2]++;
      else
        g_error ("unknown op %s in the golden file", op);
    }
  for (size_t i = 0; i < G_N_ELEMENTS (counts); i++)
    g_assert_cmpuint (counts[i], >=, 50);
}

static void
test_params_invalid (void)
{
  double scales[QS_ENGINE_MAX_INPUTS + 1];
  int32_t zeros[QS_ENGINE_MAX_INPUTS + 1];
  QsAddParams add;
  QsMulParams mul;
  QsRescaleParams rescale;

  for (size_t i = 0; i < G_N_ELEMENTS (scales); i++)
    scales[i] = 0.1, zeros[i] = 3;
  g_assert_true (qs_add_params_init (2, scales, zeros, true, 0.2, 0, 0, 255, &add));
  g_assert_true (qs_add_params_init (QS_ENGINE_MAX_INPUTS, scales, zeros, false, 0.2, 0, 0, 255,
                                     &add));
  g_assert_false (qs_add_params_init (0, scales, zeros, false, 0.2, 0, 0, 255, &add));
  g_assert_false (qs_add_params_init (QS_ENGINE_MAX_INPUTS + 1, scales, zeros, false, 0.2, 0, 0,
                                      255, &add));
  g_assert_false (qs_add_params_init (3, scales, zeros, true, 0.2, 0, 0, 255, &add));
  g_assert_false (qs_add_params_init (2, scales, zeros, false, 0.0, 0, 0, 255, &add));
  g_assert_false (qs_add_params_init (2, scales, zeros, false, 0.2, 256, 0, 255, &add));
  g_assert_false (qs_add_params_init (2, scales, zeros, false, 0.2, 0, 10, 9, &add));
  scales[1] = NAN;
  g_assert_false (qs_add_params_init (2, scales, zeros, false, 0.2, 0, 0, 255, &add));
  scales[1] = -0.1;
  g_assert_false (qs_add_params_init (2, scales, zeros, false, 0.2, 0, 0, 255, &add));
  scales[1] = 0.1;
  zeros[1] = -1;
  g_assert_false (qs_add_params_init (2, scales, zeros, false, 0.2, 0, 0, 255, &add));

  g_assert_true (qs_mul_params_init (0.1, 0, 0.1, 0, 0.1, 0, 0, 255, &mul));
  g_assert_false (qs_mul_params_init (INFINITY, 0, 0.1, 0, 0.1, 0, 0, 255, &mul));
  g_assert_false (qs_mul_params_init (0.1, 0, 0.1, 300, 0.1, 0, 0, 255, &mul));
  g_assert_false (qs_mul_params_init (0.1, 0, 0.1, 0, -1.0, 0, 0, 255, &mul));

  g_assert_true (qs_rescale_params_init (0.1, 5, 0.1, 5, &rescale));
  g_assert_true (rescale.identity);
  g_assert_false (qs_rescale_params_init (0.1, 5, 0.0, 5, &rescale));
  g_assert_false (qs_rescale_params_init (0.1, -5, 0.1, 5, &rescale));
}

/* Worked by hand: scales 0.5 and 0.25, zeros 10 and 20, output 0.5 / 0:
 * (30 - 10) * 0.5 + (60 - 20) * 0.25 = 20 -> code 40; minus: 0 -> code 0. */
static void
test_add_example (void)
{
  const double scales[2] = { 0.5, 0.25 };
  const int32_t zeros[2] = { 10, 20 };
  const uint8_t a[3] = { 30, 10, 255 }, b[3] = { 60, 20, 0 };
  const uint8_t *inputs[2] = { a, b };
  uint8_t out[3];
  QsAddParams p;

  g_assert_true (qs_add_params_init (2, scales, zeros, false, 0.5, 0, 0, 255, &p));
  qs_add_u8_scalar (&p, inputs, out, 3);
  g_assert_cmpuint (out[0], ==, 40);
  g_assert_cmpuint (out[1], ==, 0);
  g_assert_cmpuint (out[2], ==, 235);       /* 122.5 - 5 = 117.5 -> 235 */
  g_assert_true (qs_add_params_init (2, scales, zeros, true, 0.5, 0, 0, 255, &p));
  qs_add_u8_scalar (&p, inputs, out, 3);
  g_assert_cmpuint (out[0], ==, 0);
  g_assert_cmpuint (out[1], ==, 0);
  g_assert_cmpuint (out[2], ==, 255);       /* 122.5 + 5 = 127.5 -> 255 */
}

/* ---- every ISA bit for bit against the scalar kernels ------------------------------------- */

static const size_t awkward_lengths[] = {
  0, 1, 2, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 255, 1000, 1025, 4099,
};

static void
fill_codes (uint8_t *codes,
            size_t   n)
{
  int pattern = g_rand_int_range (rng, 0, 8);

  for (size_t i = 0; i < n; i++)
    switch (pattern)
      {
      case 0:
        codes[i] = 0;
        break;
      case 1:
        codes[i] = 255;
        break;
      case 2:
        codes[i] = g_rand_boolean (rng) ? 255 : 0;
        break;
      default:
        codes[i] = (uint8_t) g_rand_int_range (rng, 0, 256);
      }
}

/* A buffer of @n codes starting @offset bytes into its allocation, so
 * vector kernels meet every alignment; exactly as long as asked, so the
 * sanitizer build catches a read past the end. */
static uint8_t *
misaligned (uint8_t **block,
            size_t    n)
{
  size_t offset = (size_t) g_rand_int_range (rng, 0, 64);

  *block = g_malloc (offset + n + (offset + n == 0));
  return *block + offset;
}

static void
assert_same_codes (const uint8_t *expected,
                   const uint8_t *got,
                   size_t         n,
                   const char    *what,
                   QsIsa          isa)
{
  for (size_t i = 0; i < n; i++)
    if (expected[i] != got[i])
      g_error ("%s, isa %d, n %zu, element %zu: scalar %u, vector %u", what, isa, n, i,
               expected[i], got[i]);
}

/* One random trial of a kernel of @k against the scalar @ref on @n codes. */
typedef void (*IsaTrial) (const QsGraphKernels *ref,
                          const QsGraphKernels *k,
                          QsIsa                 isa,
                          size_t                n,
                          int                   trial);

static void
on_every_isa (IsaTrial run,
              int      trials)
{
  const QsGraphKernels *ref = qs_graph_kernels_get (QS_ISA_SCALAR);

  for (QsIsa isa = QS_ISA_AVX2; isa <= QS_ISA_AVX512VNNI; isa++)
    {
      if (!qs_kernels_isa_supported (isa))
        {
          g_test_message ("isa %d: not on this CPU", isa);
          continue;
        }
      for (size_t l = 0; l < G_N_ELEMENTS (awkward_lengths); l++)
        for (int trial = 0; trial < trials; trial++)
          run (ref, qs_graph_kernels_get (isa), isa, awkward_lengths[l], trial);
    }
}

static void
lut_trial (const QsGraphKernels *ref,
           const QsGraphKernels *k,
           QsIsa                 isa,
           size_t                n,
           int                   trial)
{
  uint8_t table[256], *in_block, *out_block, *ref_block;
  uint8_t *in = misaligned (&in_block, n);
  uint8_t *out = misaligned (&out_block, n);
  uint8_t *expected = misaligned (&ref_block, n);

  for (int q = 0; q < 256; q++)
    table[q] = (uint8_t) g_rand_int_range (rng, 0, 256);
  fill_codes (in, n);
  if (trial == 0)
    for (size_t i = 0; i < n; i++)
      in[i] = (uint8_t) i;        /* every table entry, in order */
  ref->lut (table, in, expected, n);
  k->lut (table, in, out, n);
  assert_same_codes (expected, out, n, "lut", isa);
  k->lut (table, in, in, n);      /* in place */
  assert_same_codes (expected, in, n, "lut in place", isa);
  g_free (in_block);
  g_free (out_block);
  g_free (ref_block);
}

/* Random Add parameters as the engine would make them, including output
 * scales far below the inputs' (a left shift that saturates) and above. */
static void
random_add_params (QsAddParams *p)
{
  size_t n_inputs = (size_t) g_rand_int_range (rng, 1, QS_ENGINE_MAX_INPUTS + 1);
  bool subtract = n_inputs == 2 && g_rand_boolean (rng);
  double scales[QS_ENGINE_MAX_INPUTS], max_scale = 0.0;
  int32_t zeros[QS_ENGINE_MAX_INPUTS];
  float base = random_scale (-4.0, 1.0);
  int32_t output_zero = random_zero ();
  int32_t act_min = g_rand_boolean (rng) ? 0 : output_zero;

  for (size_t j = 0; j < n_inputs; j++)
    {
      scales[j] = g_rand_int_range (rng, 0, 3) == 0 ? base : base * random_scale (-3.0, 3.0);
      zeros[j] = random_zero ();
      max_scale = MAX (max_scale, scales[j]);
    }
  g_assert_true (qs_add_params_init (n_inputs, scales, zeros, subtract,
                                     max_scale * random_scale (-8.0, 2.0), output_zero, act_min,
                                     255, p));
}

static void
add_trial (const QsGraphKernels *ref,
           const QsGraphKernels *k,
           QsIsa                 isa,
           size_t                n,
           int                   trial)
{
  uint8_t *blocks[QS_ENGINE_MAX_INPUTS], *inputs[QS_ENGINE_MAX_INPUTS];
  uint8_t *out_block, *ref_block;
  uint8_t *out = misaligned (&out_block, n);
  uint8_t *expected = misaligned (&ref_block, n);
  QsAddParams p;

  (void) trial;
  random_add_params (&p);
  for (size_t j = 0; j < p.n_inputs; j++)
    {
      inputs[j] = misaligned (&blocks[j], n);
      fill_codes (inputs[j], n);
    }
  ref->add (&p, (const uint8_t *const *) inputs, expected, n);
  k->add (&p, (const uint8_t *const *) inputs, out, n);
  assert_same_codes (expected, out, n, "add", isa);
  for (size_t j = 0; j < p.n_inputs; j++)
    g_free (blocks[j]);
  g_free (out_block);
  g_free (ref_block);
}

/* @channels codes of b; trial 0 multiplies two inputs of one shape, the
 * others broadcast b over a few pixels (squeeze-and-excitation). */
static void
mul_trial (const QsGraphKernels *ref,
           const QsGraphKernels *k,
           QsIsa                 isa,
           size_t                channels,
           int                   trial)
{
  static const size_t pixel_counts[] = { 1, 2, 7, 49 };
  size_t n = channels * pixel_counts[g_rand_int_range (rng, 0, G_N_ELEMENTS (pixel_counts))];
  size_t b_len = trial == 0 ? n : channels;
  uint8_t *a_block, *b_block, *out_block, *ref_block;
  uint8_t *a = misaligned (&a_block, n), *b = misaligned (&b_block, b_len);
  uint8_t *out = misaligned (&out_block, n);
  uint8_t *expected = misaligned (&ref_block, n);
  double sa = random_scale (-4.0, 1.0), sb = random_scale (-3.0, 0.0);
  int32_t output_zero = random_zero ();
  QsMulParams p;

  g_assert_true (qs_mul_params_init (sa, random_zero (), sb, random_zero (),
                                     sa * sb * 255.0 * random_scale (-9.0, 2.0), output_zero,
                                     g_rand_boolean (rng) ? 0 : output_zero, 255, &p));
  fill_codes (a, n);
  fill_codes (b, b_len);
  ref->mul (&p, a, b, b_len, expected, n);
  k->mul (&p, a, b, b_len, out, n);
  assert_same_codes (expected, out, n, "mul", isa);
  g_free (a_block);
  g_free (b_block);
  g_free (out_block);
  g_free (ref_block);
}

/* A few rows of @cols codes with strides, as Concatenate writes its slices. */
static void
rescale_trial (const QsGraphKernels *ref,
               const QsGraphKernels *k,
               QsIsa                 isa,
               size_t                cols,
               int                   trial)
{
  size_t rows = (size_t) g_rand_int_range (rng, 1, 5);
  /* Every third trial packs the rows (Maximum's case), the others leave gaps. */
  bool packed = trial % 3 == 1;
  size_t in_stride = cols + (packed ? 0 : (size_t) g_rand_int_range (rng, 0, 40));
  size_t out_stride = cols + (packed ? 0 : (size_t) g_rand_int_range (rng, 0, 40));
  size_t in_len = (rows - 1) * in_stride + cols, out_len = (rows - 1) * out_stride + cols;
  uint8_t *in_block, *out_block, *ref_block;
  uint8_t *in = misaligned (&in_block, in_len);
  uint8_t *out = misaligned (&out_block, out_len);
  uint8_t *expected = misaligned (&ref_block, out_len);
  double input_scale = random_scale (-4.0, 1.0);
  int32_t input_zero = random_zero ();
  QsRescaleParams p;

  if (trial == 0)
    g_assert_true (qs_rescale_params_init (input_scale, input_zero, input_scale, input_zero, &p));
  else
    g_assert_true (qs_rescale_params_init (input_scale, input_zero,
                                           input_scale * random_scale (-8.5, 3.0), random_zero (),
                                           &p));
  fill_codes (in, in_len);
  /* Bytes between rows are not the kernel's: they must stay as they were. */
  memset (out, 0x5a, out_len);
  memset (expected, 0x5a, out_len);
  ref->rescale (&p, in, rows, cols, in_stride, expected, out_stride);
  k->rescale (&p, in, rows, cols, in_stride, out, out_stride);
  assert_same_codes (expected, out, out_len, "rescale", isa);
  g_free (in_block);
  g_free (out_block);
  g_free (ref_block);
}

static void
test_lut_isa (void)
{
  on_every_isa (lut_trial, 8);
}

static void
test_add_isa (void)
{
  on_every_isa (add_trial, 12);
}

/* The AVX-512 Add that rescales every input, which CPUs without VBMI run:
 * where VBMI is present the ISA's table holds the lookup kernel instead. */
static void
test_add_avx512_without_vbmi (void)
{
#if defined(__x86_64__) || defined(_M_X64)
  QsGraphKernels plain;

  if (!qs_kernels_isa_supported (QS_ISA_AVX512VNNI))
    {
      g_test_skip ("no AVX-512 VNNI on this CPU");
      return;
    }
  plain = *qs_graph_kernels_get (QS_ISA_AVX512VNNI);
  plain.add = qs_add_u8_avx512;
  for (size_t l = 0; l < G_N_ELEMENTS (awkward_lengths); l++)
    for (int trial = 0; trial < 12; trial++)
      add_trial (qs_graph_kernels_get (QS_ISA_SCALAR), &plain, QS_ISA_AVX512VNNI, awkward_lengths[l],
                 trial);
#else
  g_test_skip ("no x86-64 kernels");
#endif
}

/* Every pair of codes of the first two inputs (the others random), for
 * random parameters: the lookup kernel's tables are checked at all 256
 * entries against the per-element rules, and the sum's requantization
 * over the whole range of sums two inputs make. */
static void
test_add_every_pair (void)
{
  const size_t n = 65536;
  const QsGraphKernels *ref = qs_graph_kernels_get (QS_ISA_SCALAR);
  uint8_t *inputs[QS_ENGINE_MAX_INPUTS];
  uint8_t *expected = g_malloc (n), *out = g_malloc (n);

  for (size_t j = 0; j < QS_ENGINE_MAX_INPUTS; j++)
    {
      inputs[j] = g_malloc (n);
      fill_codes (inputs[j], n);
    }
  for (size_t i = 0; i < n; i++)
    {
      inputs[0][i] = (uint8_t) (i & 255);
      inputs[1][i] = (uint8_t) (i >> 8);
    }
  for (QsIsa isa = QS_ISA_AVX2; isa <= QS_ISA_AVX512VNNI; isa++)
    {
      if (!qs_kernels_isa_supported (isa))
        continue;
      for (int trial = 0; trial < 24; trial++)
        {
          QsAddParams p;

          do
            random_add_params (&p);
          while (p.n_inputs < 2);
          ref->add (&p, (const uint8_t *const *) inputs, expected, n);
          qs_graph_kernels_get (isa)->add (&p, (const uint8_t *const *) inputs, out, n);
          assert_same_codes (expected, out, n, "add, every pair", isa);
        }
    }
  for (size_t j = 0; j < QS_ENGINE_MAX_INPUTS; j++)
    g_free (inputs[j]);
  g_free (expected);
  g_free (out);
}

static void
test_mul_isa (void)
{
  on_every_isa (mul_trial, 6);
}

static void
test_rescale_isa (void)
{
  on_every_isa (rescale_trial, 12);
}

/* Range: the vector min/max against the scalar scan, on random floats
 * with NaN, infinities and zeros of both signs mixed in, at every length
 * and float offset, from empty and from earlier ranges. Equal after the
 * + 0.0f calibration applies (the one freedom the kernels have: which
 * zero an extreme of zero keeps). */
static void
range_trial (const QsGraphKernels *ref,
             const QsGraphKernels *k,
             QsIsa                 isa,
             size_t                n,
             int                   trial)
{
  static const float specials[] = { NAN, INFINITY, -INFINITY, 0.0f, -0.0f, 1e-40f, -1e-40f, FLT_MAX };
  float *block = g_new (float, n + 16);
  float *v = block + g_rand_int_range (rng, 0, 16);
  float lo = INFINITY, hi = -INFINITY, ref_lo, ref_hi;

  for (size_t i = 0; i < n; i++)
    {
      v[i] = (float) g_rand_double_range (rng, -100.0, 100.0) * (trial % 3 == 2 ? 1e-3f : 1.0f);
      if (trial % 3 == 1 && g_rand_int_range (rng, 0, 3) == 0)
        v[i] = specials[g_rand_int_range (rng, 0, G_N_ELEMENTS (specials))];
      if (trial % 4 == 3)
        v[i] = g_rand_boolean (rng) ? 0.0f : -0.0f;
    }
  if (trial % 2 == 1)
    {
      lo = (float) g_rand_double_range (rng, -50.0, 0.0);
      hi = (float) g_rand_double_range (rng, 0.0, 50.0);
    }
  ref_lo = lo;
  ref_hi = hi;
  ref->range (v, n, &ref_lo, &ref_hi);
  k->range (v, n, &lo, &hi);
  ref_lo += 0.0f;
  ref_hi += 0.0f;
  lo += 0.0f;
  hi += 0.0f;
  if (memcmp (&lo, &ref_lo, sizeof lo) != 0 || memcmp (&hi, &ref_hi, sizeof hi) != 0)
    g_error ("range, isa %d, n %zu, trial %d: scalar [%g, %g], vector [%g, %g]", isa, n, trial,
             ref_lo, ref_hi, lo, hi);
  g_free (block);
}

static void
test_range_isa (void)
{
  on_every_isa (range_trial, 16);
}

/* ReLU on codes: the vector clamp against the scalar one at every
 * length and offset, with random bounds (equal ones included), out of
 * place and in place. */
static void
clamp_trial (const QsGraphKernels *ref,
             const QsGraphKernels *k,
             QsIsa                 isa,
             size_t                n,
             int                   trial)
{
  uint8_t *in_block, *out_block, *ref_block;
  uint8_t *in = misaligned (&in_block, n);
  uint8_t *out = misaligned (&out_block, n);
  uint8_t *expected = misaligned (&ref_block, n);
  uint8_t lo = (uint8_t) g_rand_int_range (rng, 0, 256);
  uint8_t hi = trial % 4 == 3 ? lo : (uint8_t) g_rand_int_range (rng, lo, 256);

  fill_codes (in, n);
  ref->clamp (lo, hi, in, expected, n);
  k->clamp (lo, hi, in, out, n);
  assert_same_codes (expected, out, n, "clamp", isa);
  k->clamp (lo, hi, in, in, n);   /* in place */
  assert_same_codes (expected, in, n, "clamp in place", isa);
  g_free (in_block);
  g_free (out_block);
  g_free (ref_block);
}

static void
test_clamp_isa (void)
{
  on_every_isa (clamp_trial, 12);
}

/* The scalar clamp on every code: below the floor the floor, above the
 * cap the cap, the rest unchanged. */
static void
test_clamp_hand (void)
{
  const QsClampFunc clamp = qs_graph_kernels_get (QS_ISA_SCALAR)->clamp;
  uint8_t in[256], out[256];

  for (int q = 0; q < 256; q++)
    in[q] = (uint8_t) q;
  clamp (37, 201, in, out, 256);
  for (int q = 0; q < 256; q++)
    g_assert_cmpint (out[q], ==, q < 37 ? 37 : (q > 201 ? 201 : q));
  clamp (0, 255, in, out, 256);
  g_assert_cmpmem (out, 256, in, 256);
}

/* The scalar scan on hand-made cases: NaN skipped, the first range kept
 * when nothing beats it, an empty array leaving the range alone. */
static void
test_range_hand (void)
{
  const QsRangeFunc range = qs_graph_kernels_get (QS_ISA_SCALAR)->range;
  const float v[] = { 3.0f, NAN, -2.5f, 7.0f, NAN, 0.0f };
  float lo = INFINITY, hi = -INFINITY;

  range (v, G_N_ELEMENTS (v), &lo, &hi);
  g_assert_cmpfloat (lo, ==, -2.5f);
  g_assert_cmpfloat (hi, ==, 7.0f);
  range (v, 1, &lo, &hi);
  g_assert_cmpfloat (lo, ==, -2.5f);
  g_assert_cmpfloat (hi, ==, 7.0f);
  range (v + 1, 1, &lo, &hi);
  g_assert_cmpfloat (lo, ==, -2.5f);
  lo = INFINITY;
  hi = -INFINITY;
  range (v + 1, 1, &lo, &hi);
  g_assert_cmpfloat (lo, ==, INFINITY);
  g_assert_cmpfloat (hi, ==, -INFINITY);
  range (v, 0, &lo, &hi);
  g_assert_cmpfloat (lo, ==, INFINITY);
}

int
main (int    argc,
      char **argv)
{
  g_autofree char *activation_path = NULL;
  g_autofree char *kernel_path = NULL;
  g_autoptr(GError) error = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  rng = g_rand_new_with_seed (20261204);
  activation_path = g_test_build_filename (G_TEST_DIST, "data", "activation-golden.json", NULL);
  kernel_path = g_test_build_filename (G_TEST_DIST, "data", "graph-kernel-golden.json", NULL);
  activation_golden = json_parser_new ();
  if (!json_parser_load_from_file (activation_golden, activation_path, &error))
    g_error ("%s: %s", activation_path, error->message);
  kernel_golden = json_parser_new ();
  if (!json_parser_load_from_file (kernel_golden, kernel_path, &error))
    g_error ("%s: %s", kernel_path, error->message);

  g_test_add_func ("/graph-kernels/activation/golden", test_activation_golden);
  g_test_add_func ("/graph-kernels/activation/keras-quirks", test_activation_hand);
  g_test_add_func ("/graph-kernels/lut/within-one-code", test_lut_within_one_code);
  g_test_add_func ("/graph-kernels/lut/relu-exact", test_lut_relu_exact);
  g_test_add_func ("/graph-kernels/lut/rounding", test_lut_rounding);
  g_test_add_func ("/graph-kernels/eltwise/golden", test_kernel_golden);
  g_test_add_func ("/graph-kernels/eltwise/add-example", test_add_example);
  g_test_add_func ("/graph-kernels/eltwise/invalid-params", test_params_invalid);
  g_test_add_func ("/graph-kernels/isa/lut", test_lut_isa);
  g_test_add_func ("/graph-kernels/isa/add", test_add_isa);
  g_test_add_func ("/graph-kernels/isa/add-avx512-without-vbmi", test_add_avx512_without_vbmi);
  g_test_add_func ("/graph-kernels/isa/add-every-pair", test_add_every_pair);
  g_test_add_func ("/graph-kernels/isa/mul", test_mul_isa);
  g_test_add_func ("/graph-kernels/isa/rescale", test_rescale_isa);
  g_test_add_func ("/graph-kernels/isa/range", test_range_isa);
  g_test_add_func ("/graph-kernels/isa/clamp", test_clamp_isa);
  g_test_add_func ("/graph-kernels/clamp/hand", test_clamp_hand);
  g_test_add_func ("/graph-kernels/range/hand", test_range_hand);
  status = g_test_run ();
  g_object_unref (activation_golden);
  g_object_unref (kernel_golden);
  g_rand_free (rng);
  return status;
}
