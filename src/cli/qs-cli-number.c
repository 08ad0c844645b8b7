/* qs-cli-number.c: `quantscope-cli number VALUE`, one value in every format, bit by bit.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <glib/gi18n.h>

#include "cli/qs-cli.h"
#include "model/qs-json.h"
#include "model/qs-number-text.h"
#include "quant/qs-block.h"
#include "quant/qs-number.h"

#define DEFAULT_Q_M 8
#define DEFAULT_Q_N 8

typedef struct {
  double         value;
  QsNumberEncoding encodings[QS_NUMBER_N_FORMATS];
  QsFixedPoint   fixed;
  gboolean       has_integer;
  QsIntegerCode  integer;
  gboolean       has_block;
  QsScheme       block_scheme;
  QsBlockValueCode block;
} NumberReport;

/* The options that take a value: a negative number after one of them is
 * that option's value, not VALUE. */
static const char *const valued_options[] = { "--q", "--scale", "--zero-point", "--bits", "--rounding", "--block",
                                              "--tensor-scale", NULL };

/* GOption would take "-8.625" for an unknown short option: pulls the first
 * negative number that is no option's value out of argv. */
static char *
take_negative_value (int   *argc,
                     char **argv)
{
  for (int i = 1; i < *argc; i++)
    {
      double ignored;

      if (g_strv_contains (valued_options, argv[i]))
        {
          i++;
          continue;
        }
      if (strcmp (argv[i], "--") == 0)
        return NULL;
      if (argv[i][0] == '-' && qs_number_parse_value (argv[i], &ignored))
        {
          char *value = argv[i];

          memmove (argv + i, argv + i + 1, (size_t) (*argc - i) * sizeof *argv);
          (*argc)--;
          return value;
        }
    }
  return NULL;
}

static void
add_bool (JsonBuilder *builder,
          const char  *name,
          gboolean     value)
{
  json_builder_set_member_name (builder, name);
  json_builder_add_boolean_value (builder, value);
}

static void
add_int (JsonBuilder *builder,
         const char  *name,
         gint64       value)
{
  json_builder_set_member_name (builder, name);
  json_builder_add_int_value (builder, value);
}

/* A string member, null when @value is NULL. */
static void
add_string (JsonBuilder *builder,
            const char  *name,
            const char  *value)
{
  json_builder_set_member_name (builder, name);
  if (value != NULL)
    json_builder_add_string_value (builder, value);
  else
    json_builder_add_null_value (builder);
}

static void
add_encoding_json (JsonBuilder            *builder,
                   const QsNumberEncoding *e)
{
  const QsNumberLayout *l = &e->layout;
  g_autofree char *bits = qs_number_bits_hex (e);
  g_autofree char *mantissa = e->has_code ? qs_number_mantissa_hex (e) : NULL;
  gboolean special = e->klass == QS_NUMBER_INFINITE || e->klass == QS_NUMBER_NAN;

  json_builder_begin_object (builder);
  add_string (builder, "format", l->name);
  add_int (builder, "width", l->width);
  add_string (builder, "bits", bits);
  add_int (builder, "exponent_bits", l->exponent_bits);
  add_int (builder, "mantissa_bits", l->mantissa_bits);
  add_int (builder, "bias", l->bias);
  if (e->has_code)
    {
      add_int (builder, "sign", e->sign);
      add_int (builder, "exponent_biased", e->exponent_biased);
      json_builder_set_member_name (builder, "exponent_unbiased");
      if (special)
        json_builder_add_null_value (builder);
      else
        json_builder_add_int_value (builder, e->exponent_unbiased);
    }
  else
    {
      add_string (builder, "sign", NULL);
      add_string (builder, "exponent_biased", NULL);
      add_string (builder, "exponent_unbiased", NULL);
    }
  add_string (builder, "mantissa", mantissa);
  add_string (builder, "class", qs_number_class_to_string (e->klass));
  qs_json_add_number_member (builder, "decoded", e->decoded);
  qs_json_add_number_member (builder, "error", e->error);
  qs_json_add_number_member (builder, "step", e->step);
  qs_json_add_number_member (builder, "max", l->max);
  add_bool (builder, "saturated", e->saturated);
  add_bool (builder, "overflowed", e->overflowed);
  json_builder_end_object (builder);
}

static void
add_fixed_json (JsonBuilder        *builder,
                const QsFixedPoint *f)
{
  g_autofree char *bits = f->defined ? qs_fixed_point_hex (f) : NULL;

  json_builder_set_member_name (builder, "fixed_point");
  json_builder_begin_object (builder);
  add_int (builder, "m", f->m);
  add_int (builder, "n", f->n);
  add_string (builder, "bits", bits);
  json_builder_set_member_name (builder, "code");
  if (f->defined)
    json_builder_add_int_value (builder, f->code);
  else
    json_builder_add_null_value (builder);
  qs_json_add_number_member (builder, "decoded", f->decoded);
  qs_json_add_number_member (builder, "error", f->error);
  qs_json_add_number_member (builder, "min", f->min);
  qs_json_add_number_member (builder, "max", f->max);
  qs_json_add_number_member (builder, "resolution", f->resolution);
  add_bool (builder, "saturated", f->saturated);
  json_builder_end_object (builder);
}

static void
add_integer_json (JsonBuilder         *builder,
                  const QsIntegerCode *q)
{
  g_autofree char *bits = qs_integer_code_hex (q);

  json_builder_begin_object (builder);
  qs_json_add_number_member (builder, "scale", q->scale);
  add_int (builder, "zero_point", q->zero_point);
  add_int (builder, "code_bits", q->code_bits);
  add_int (builder, "qmin", q->qmin);
  add_int (builder, "qmax", q->qmax);
  add_string (builder, "rounding", qs_rounding_to_string (q->rounding));
  add_int (builder, "code", q->code);
  add_string (builder, "bits", bits);
  qs_json_add_number_member (builder, "dequantized", q->dequantized);
  qs_json_add_number_member (builder, "error", q->error);
  add_bool (builder, "clipped", q->clipped);
  json_builder_end_object (builder);
}

static void
add_block_json (JsonBuilder            *builder,
                double                  value,
                QsFormat                format,
                const QsBlockValueCode *b)
{
  g_autofree char *code = g_strdup_printf ("0x%x", (unsigned) b->code);
  g_autofree char *scale_code = g_strdup_printf ("0x%02x", b->scale_code);

  json_builder_begin_object (builder);
  add_string (builder, "format", qs_format_to_string (format));
  qs_json_add_number_member (builder, "scale", b->scale);
  add_string (builder, "scale_code", scale_code);
  qs_json_add_number_member (builder, "tensor_scale", b->tensor_scale);
  qs_json_add_number_member (builder, "element", b->element);
  add_string (builder, "code", code);
  qs_json_add_number_member (builder, "dequantized", b->reconstruction);
  qs_json_add_number_member (builder, "error", (double) b->reconstruction - value);
  json_builder_end_object (builder);
}

static void
print_json (const NumberReport *r)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;

  json_builder_begin_object (builder);
  qs_json_add_number_member (builder, "value", r->value);
  json_builder_set_member_name (builder, "encodings");
  json_builder_begin_array (builder);
  for (int f = 0; f < QS_NUMBER_N_FORMATS; f++)
    add_encoding_json (builder, &r->encodings[f]);
  json_builder_end_array (builder);
  add_fixed_json (builder, &r->fixed);
  json_builder_set_member_name (builder, "integer");
  if (r->has_integer)
    add_integer_json (builder, &r->integer);
  else
    json_builder_add_null_value (builder);
  json_builder_set_member_name (builder, "block");
  if (r->has_block)
    add_block_json (builder, r->value, r->block_scheme.format, &r->block);
  else
    json_builder_add_null_value (builder);
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  text = qs_json_to_string (root, TRUE);
  qs_cli_print_json (text);
}

static void
append_encoding_row (GString                *out,
                     const QsNumberEncoding *e)
{
  g_autofree char *hex = qs_number_bits_hex (e);
  g_autofree char *binary = qs_number_bits_binary (e);
  g_autofree char *decoded = qs_number_format_double (e->decoded);
  g_autofree char *error = qs_number_format_double (e->error);
  g_autofree char *step = qs_number_format_double (e->step);
  g_autofree char *exponent = NULL;
  const char *flag = e->saturated ? _("saturated") : e->overflowed ? _("overflow") : "";

  g_autofree char *row = NULL;

  if (!e->has_code)
    exponent = g_strdup ("—");
  else if (e->klass == QS_NUMBER_INFINITE || e->klass == QS_NUMBER_NAN)
    exponent = g_strdup_printf ("%u", e->exponent_biased);
  else if (e->klass == QS_NUMBER_NORMAL)
    exponent = g_strdup_printf ("%u-%d=%d", e->exponent_biased, e->layout.bias, e->exponent_unbiased);
  else
    /* An all-zero field stands for 2^(1 - bias), not 2^(0 - bias). */
    exponent = g_strdup_printf ("0:1-%d=%d", e->layout.bias, e->exponent_unbiased);

  row = g_strdup_printf ("%-9s %-19s %-15s %-10s %-23s %-23s %-23s %s", e->layout.name, hex ? hex : _("(none)"),
                         exponent, qs_number_class_to_string (e->klass), decoded, error, step, flag);
  g_string_append_printf (out, "%s\n", g_strchomp (row));
  g_string_append_printf (out, "%-9s %s\n", "", binary ? binary : "");
}

static void
print_table (const NumberReport *r)
{
  g_autoptr(GString) out = g_string_new (NULL);
  g_autofree char *value = qs_number_format_double (r->value);
  const QsFixedPoint *f = &r->fixed;

  g_string_append_printf (out, _("Value %s\n\n"), value);
  /* The headings are the JSON field names, untranslated: padding counts
   * bytes, and a translation in a wide script would break the columns. */
  g_string_append_printf (out, "%-9s %-19s %-15s %-10s %-23s %-23s %s\n", "format", "bits",
                          "exp-bias=e", "class", "decoded", "error", "step");
  g_string_append_printf (out, "%-9s %s\n", "", "sign exponent mantissa");
  for (int i = 0; i < QS_NUMBER_N_FORMATS; i++)
    append_encoding_row (out, &r->encodings[i]);

  {
    g_autofree char *min = qs_number_format_double (f->min);
    g_autofree char *max = qs_number_format_double (f->max);
    g_autofree char *resolution = qs_number_format_double (f->resolution);

    g_string_append_printf (out, _("\nFixed point Q%d.%d: range [%s, %s], resolution %s\n"),
                            f->m, f->n, min, max, resolution);
    if (f->defined)
      {
        g_autofree char *hex = qs_fixed_point_hex (f);
        g_autofree char *binary = qs_fixed_point_binary (f);
        g_autofree char *decoded = qs_number_format_double (f->decoded);
        g_autofree char *error = qs_number_format_double (f->error);

        g_string_append_printf (out, _("  code %" PRId64 " = %s = %s, decoded %s, error %s%s\n"),
                                f->code, hex, binary, decoded, error,
                                f->saturated ? _(", saturated") : "");
      }
    else
      g_string_append (out, _("  NaN has no fixed-point code\n"));
  }

  if (r->has_integer)
    {
      const QsIntegerCode *q = &r->integer;
      g_autofree char *hex = qs_integer_code_hex (q);
      g_autofree char *binary = qs_integer_code_binary (q);
      g_autofree char *scale = qs_number_format_float (q->scale);
      g_autofree char *dequantized = qs_number_format_float ((float) q->dequantized);
      g_autofree char *error = qs_number_format_double (q->error);

      g_string_append_printf (out, _("\nInteger code (%d bits [%d, %d], scale %s, zero point %d, %s):\n"),
                              q->code_bits, q->qmin, q->qmax, scale, q->zero_point,
                              qs_rounding_to_string (q->rounding));
      g_string_append_printf (out, _("  code %d = %s = %s, dequantized %s, error %s%s\n"),
                              q->code, hex, binary, dequantized, error, q->clipped ? _(", clipped") : "");
    }
  if (r->has_block)
    {
      const QsBlockValueCode *b = &r->block;
      g_autofree char *scale = qs_number_format_float (b->scale);
      g_autofree char *element = qs_number_format_float (b->element);
      g_autofree char *dequantized = qs_number_format_float (b->reconstruction);
      g_autofree char *error = qs_number_format_double ((double) b->reconstruction - r->value);

      g_string_append_printf (out, _("\n%s, in a block whose largest magnitude is the value:\n"),
                              qs_format_to_string (r->block_scheme.format));
      if (r->block_scheme.format == QS_FORMAT_NVFP4)
        {
          g_autofree char *tensor_scale = qs_number_format_float (b->tensor_scale);

          g_string_append_printf (out, _("  scale %s (E4M3 0x%02x × tensor scale %s), element %s, "
                                         "code 0x%x, dequantized %s, error %s\n"),
                                  scale, b->scale_code, tensor_scale, element, (unsigned) b->code, dequantized, error);
        }
      else
        g_string_append_printf (out, _("  scale %s (E8M0 0x%02x), element %s, code 0x%x, dequantized %s, error %s\n"),
                                scale, b->scale_code, element, (unsigned) b->code, dequantized, error);
    }
  fputs (out->str, stdout);
}

int
qs_cli_number (int    argc,
               char **argv)
{
  gboolean json = FALSE, is_unsigned = FALSE, narrow = FALSE;
  g_autofree char *q = NULL, *scale_text = NULL, *rounding = NULL, *block = NULL, *tensor_scale_text = NULL;
  /* Sentinels: given without --scale, they are a mistake worth saying. */
  int zero_point = G_MININT, bits = 0;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print JSON"), NULL },
    { "q", 0, 0, G_OPTION_ARG_STRING, &q,
      N_("Fixed point Qm.n: m integer bits including the sign, n fraction bits (default 8.8)"), "M.N" },
    { "scale", 0, 0, G_OPTION_ARG_STRING, &scale_text,
      N_("Also show the integer code under this scale (no integer code without it)"), "S" },
    { "zero-point", 0, 0, G_OPTION_ARG_INT, &zero_point, N_("Zero point of the integer code (default 0)"), "Z" },
    { "bits", 0, 0, G_OPTION_ARG_INT, &bits, N_("Bits of the integer code, 2 to 16 (default 8)"), "B" },
    { "unsigned", 0, 0, G_OPTION_ARG_NONE, &is_unsigned, N_("Unsigned integer codes"), NULL },
    { "narrow", 0, 0, G_OPTION_ARG_NONE, &narrow, N_("Drop the most negative integer code"), NULL },
    { "rounding", 0, 0, G_OPTION_ARG_STRING, &rounding,
      N_("Rounding of the integer code: half-even (default, PyTorch) or half-away (TFLite)"), "MODE" },
    { "block", 0, 0, G_OPTION_ARG_STRING, &block,
      N_("Also show the value in a block of this float block format (mxfp4, nvfp4, mxfp8-e4m3, …) "
         "whose largest magnitude is the value"), "FORMAT" },
    { "tensor-scale", 0, 0, G_OPTION_ARG_STRING, &tensor_scale_text,
      N_("NVFP4's per-tensor scale (default: that of a tensor whose largest magnitude is the value)"), "S" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new (_("VALUE — one number in every format, bit by bit"));
  NumberReport report = { 0 };
  const char *value_text;
  int m = DEFAULT_Q_M, n = DEFAULT_Q_N;
  int status;

  g_option_context_set_summary (context,
                                _("Shows VALUE in float64, float32, float16, bfloat16, FP8 E4M3 and E5M2 (OCP), "
                                  "FP4 E2M1, fixed point Qm.n and, with --scale, as an integer code.\n"
                                  "Rounding is to nearest even. float32, float16 and bfloat16 overflow to "
                                  "infinity; E4M3, E5M2 and E2M1 saturate at their largest value."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  value_text = take_negative_value (&argc, argv);
  if (!qs_cli_parse (context, &argc, &argv, &status))
    return status;
  /* GOption keeps the "--" that ends the options; the value follows it. */
  if (argc >= 2 && strcmp (argv[1], "--") == 0)
    {
      argv++;
      argc--;
    }
  if (value_text == NULL && argc == 2)
    value_text = argv[1];
  else if (!(value_text != NULL && argc == 1))
    return qs_cli_fail_message (_("number takes exactly one VALUE"));

  if (!qs_number_parse_value (value_text, &report.value))
    return qs_cli_fail_message (_("“%s” is not a number"), value_text);
  if (q != NULL && !qs_number_parse_q (q, &m, &n))
    return qs_cli_fail_message (_("bad --q “%s”: expected M.N with M ≥ 1 and M + N ≤ 64"), q);

  for (int f = 0; f < QS_NUMBER_N_FORMATS; f++)
    qs_number_encode (report.value, f, &report.encodings[f]);
  if (qs_number_fixed_point (report.value, m, n, &report.fixed) != QS_OK)
    g_assert_not_reached ();  /* qs_number_parse_q checked m and n */

  if (scale_text != NULL)
    {
      QsScheme scheme;
      double scale;

      /* A given scale and zero point: the seed's per-tensor quantizer. */
      qs_scheme_init_per_tensor (&scheme);
      scheme.bits = bits != 0 ? bits : 8;
      scheme.is_unsigned = is_unsigned;
      scheme.narrow = narrow;
      /* "half-even" and "half-away" too, beside stats' "even" and "away". */
      if (rounding != NULL
          && !qs_rounding_parse (g_str_has_prefix (rounding, "half-") ? rounding + 5 : rounding, &scheme.rounding))
        return qs_cli_fail_message (_("bad --rounding “%s”: expected half-even or half-away"), rounding);
      if (!qs_number_parse_value (scale_text, &scale))
        return qs_cli_fail_message (_("bad --scale “%s”: not a number"), scale_text);
      if (qs_number_integer_code (report.value, &scheme, (float) scale, zero_point != G_MININT ? zero_point : 0,
                                  &report.integer) != QS_OK)
        return qs_cli_fail_message (_("bad integer code options: the scale must be positive and finite, "
                                      "--bits 2 to 16, and the zero point within the code range"));
      report.has_integer = TRUE;
    }
  else if (rounding != NULL || is_unsigned || narrow || bits != 0 || zero_point != G_MININT)
    return qs_cli_fail_message (_("--bits, --zero-point, --unsigned, --narrow and --rounding need --scale"));

  if (block != NULL)
    {
      double tensor_scale = NAN;

      qs_scheme_init_default (&report.block_scheme);
      if (!qs_format_parse (block, &report.block_scheme.format)
          || qs_block_encode_value (&report.block_scheme, 0.0f, NAN, &report.block) == QS_STATUS_INVALID_ARGUMENT)
        return qs_cli_fail_message (_("bad --block “%s”: expected a float block format such as mxfp4 or nvfp4"), block);
      if (tensor_scale_text != NULL
          && (report.block_scheme.format != QS_FORMAT_NVFP4 || !qs_number_parse_value (tensor_scale_text, &tensor_scale)
              || !(tensor_scale > 0 && tensor_scale <= G_MAXFLOAT)))
        return qs_cli_fail_message (_("bad --tensor-scale “%s”: a positive float32 scale, with --block nvfp4"),
                                    tensor_scale_text);
      report.has_block = qs_block_encode_value (&report.block_scheme, (float) report.value, (float) tensor_scale,
                                                &report.block) == QS_OK;
    }
  else if (tensor_scale_text != NULL)
    return qs_cli_fail_message (_("--tensor-scale needs --block nvfp4"));

  if (json)
    print_json (&report);
  else
    print_table (&report);
  return 0;
}
