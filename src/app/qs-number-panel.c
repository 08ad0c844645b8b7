/* qs-number-panel.c: one number, bit by bit, in every format: the seed notes' lesson as a panel.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every figure comes from quant/qs-number.c and every text from
 * model/qs-number-text.c, the same functions `quantscope-cli number` prints
 * with, so the panel and the CLI cannot disagree. The rows are built in code
 * (seven formats alike) into grids the template provides.
 */
#include "config.h"

#include "app/qs-number-panel.h"

#include <glib/gi18n.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "model/qs-format-text.h"
#include "model/qs-number-text.h"
#include "quant/qs-block.h"

typedef enum {
  BIT_SIGN,
  BIT_EXPONENT,
  BIT_MANTISSA,
  BIT_INTEGER,
  BIT_FRACTION,
} BitKind;

static const char *const bit_kind_classes[] = {
  "qs-bit-sign", "qs-bit-exponent", "qs-bit-mantissa", "qs-bit-integer", "qs-bit-mantissa",
};

/* One format's line: its name and hex pattern on the left, the bits drawn
 * as cells with the explanation under them on the right. */
typedef struct {
  GtkLabel *name;
  GtkLabel *hex;
  GtkBox   *cells;
  GtkLabel *details;
} BitRow;

struct _QsNumberPanel
{
  AdwBin          parent_instance;

  /* Template widgets */
  GtkEntry       *value_entry;
  GtkLabel       *entry_message;
  GtkBox         *legend_box;
  GtkGrid        *float_grid;
  GtkAdjustment  *m_adjustment;
  GtkAdjustment  *n_adjustment;
  GtkLabel       *fixed_range;
  GtkGrid        *fixed_grid;
  GtkLabel       *integer_explanation;
  GtkGrid        *integer_grid;

  /* Rows built at init, owned by the grids */
  BitRow          float_rows[QS_NUMBER_N_FORMATS];
  BitRow          fixed_row;
  BitRow          integer_row;

  /* State */
  double          value;
  gboolean        has_value;        /* FALSE while the entry holds no number */
  gboolean        setting_entry;
  gboolean        has_quantizer;
  QsScheme        scheme;
  float           scale;
  float           zero_point;
  char           *tensor_label;
};

G_DEFINE_FINAL_TYPE (QsNumberPanel, qs_number_panel, ADW_TYPE_BIN)

enum {
  PROP_0,
  PROP_VALUE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* ---- rows and cells ----------------------------------------------------- */

static BitRow
bit_row_new (GtkGrid      *grid,
             int           row,
             GtkSizeGroup *names)
{
  BitRow r;

  r.name = GTK_LABEL (gtk_label_new (NULL));
  r.hex = GTK_LABEL (gtk_label_new (NULL));
  r.cells = GTK_BOX (gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 1));
  r.details = GTK_LABEL (gtk_label_new (NULL));

  gtk_label_set_xalign (r.name, 0);
  gtk_widget_add_css_class (GTK_WIDGET (r.name), "heading");
  gtk_label_set_xalign (r.hex, 0);
  gtk_label_set_selectable (r.hex, TRUE);
  gtk_widget_add_css_class (GTK_WIDGET (r.hex), "monospace");
  gtk_widget_set_valign (GTK_WIDGET (r.hex), GTK_ALIGN_START);
  gtk_label_set_xalign (r.details, 0);
  gtk_label_set_wrap (r.details, TRUE);
  gtk_label_set_selectable (r.details, TRUE);
  gtk_widget_set_margin_bottom (GTK_WIDGET (r.details), 6);
  gtk_widget_set_hexpand (GTK_WIDGET (r.details), TRUE);

  /* One name column across the three grids, so every row's bits start
   * at the same place. */
  gtk_size_group_add_widget (names, GTK_WIDGET (r.name));
  gtk_grid_attach (grid, GTK_WIDGET (r.name), 0, 2 * row, 1, 1);
  gtk_grid_attach (grid, GTK_WIDGET (r.cells), 1, 2 * row, 1, 1);
  gtk_grid_attach (grid, GTK_WIDGET (r.hex), 0, 2 * row + 1, 1, 1);
  gtk_grid_attach (grid, GTK_WIDGET (r.details), 1, 2 * row + 1, 1, 1);
  return r;
}

static GtkWidget *
bit_cell_new (const char *text,
              BitKind     kind)
{
  GtkWidget *cell = gtk_label_new (text);

  gtk_widget_add_css_class (cell, "qs-bit");
  gtk_widget_add_css_class (cell, bit_kind_classes[kind]);
  return cell;
}

/* Redraws @row's cells: @width bits of @bits, most significant first,
 * @kinds[i] the field of the i-th cell from the left. A gap opens where
 * one field ends and the next begins. */
static void
bit_row_set_cells (BitRow        *row,
                   int            width,
                   guint64        bits,
                   const BitKind *kinds,
                   const char    *accessible_text)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (row->cells))) != NULL)
    gtk_box_remove (row->cells, child);
  for (int i = 0; i < width; i++)
    {
      gboolean one = (bits >> (width - 1 - i)) & 1;
      GtkWidget *cell = bit_cell_new (one ? "1" : "0", kinds[i]);

      if (one)
        gtk_widget_add_css_class (cell, "qs-bit-one");
      if (i > 0 && kinds[i] != kinds[i - 1])
        gtk_widget_add_css_class (cell, "qs-bit-field-start");
      gtk_box_append (row->cells, cell);
    }
  gtk_accessible_update_property (GTK_ACCESSIBLE (row->cells), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  accessible_text ? accessible_text : "", -1);
}

static void
bit_row_clear (BitRow     *row,
               const char *details)
{
  bit_row_set_cells (row, 0, 0, NULL, NULL);
  gtk_label_set_text (row->hex, "");
  gtk_label_set_text (row->details, details);
}

/* ---- text --------------------------------------------------------------- */

/* Numbers in the app's typography: a real minus sign (the CLI prints
 * the same figures with ASCII ones). */
static void
set_number_text (GtkLabel   *label,
                 const char *text)
{
  g_autofree char *shown = qs_format_minus (g_strdup (text));

  gtk_label_set_text (label, shown);
}

static const char *
format_title (QsNumberFormat format)
{
  switch (format)
    {
    case QS_NUMBER_FLOAT64:
      return _("float64 (double)");
    case QS_NUMBER_FLOAT32:
      return _("float32 (single)");
    case QS_NUMBER_FLOAT16:
      return _("float16 (half)");
    case QS_NUMBER_BFLOAT16:
      return "bfloat16";
    case QS_NUMBER_FP8_E4M3:
      return "FP8 E4M3";
    case QS_NUMBER_FP8_E5M2:
      return "FP8 E5M2";
    case QS_NUMBER_FP4_E2M1:
    default:
      return "FP4 E2M1";
    }
}

static const char *
class_title (QsNumberClass klass)
{
  switch (klass)
    {
    case QS_NUMBER_ZERO:
      return _("zero");
    case QS_NUMBER_SUBNORMAL:
      return _("subnormal");
    case QS_NUMBER_NORMAL:
      return _("normal");
    case QS_NUMBER_INFINITE:
      return _("infinity");
    case QS_NUMBER_NAN:
    default:
      return _("not a number");
    }
}

/* What the exponent field says, in words and numbers. */
static char *
exponent_text (const QsNumberEncoding *e)
{
  switch (e->klass)
    {
    case QS_NUMBER_ZERO:
    case QS_NUMBER_SUBNORMAL:
      /* TRANSLATORS: an all-zero exponent field: the number is 0.mantissa × 2^(1 − bias) */
      return g_strdup_printf (_("exponent 0: 2^(1 − %d) = 2^%d"), e->layout.bias, e->exponent_unbiased);
    case QS_NUMBER_INFINITE:
    case QS_NUMBER_NAN:
      return g_strdup_printf (_("exponent %u (all ones)"), e->exponent_biased);
    case QS_NUMBER_NORMAL:
    default:
      return g_strdup_printf (_("exponent %u − %d = %d"), e->exponent_biased, e->layout.bias,
                              e->exponent_unbiased);
    }
}

/* The value in binary scientific notation, as the notes work the exercise:
 * "+1.000101b × 2^3" (trailing zeros of the mantissa dropped). */
static char *
binary_significand_text (const QsNumberEncoding *e)
{
  GString *text = g_string_new (e->sign ? "−" : "+");
  int last = 0;

  g_string_append (text, e->klass == QS_NUMBER_NORMAL ? "1." : "0.");
  for (int i = 0; i < e->layout.mantissa_bits; i++)
    if ((e->mantissa >> (e->layout.mantissa_bits - 1 - i)) & 1)
      last = i + 1;
  for (int i = 0; i < MAX (last, 1); i++)
    g_string_append_c (text, (e->mantissa >> (e->layout.mantissa_bits - 1 - i)) & 1 ? '1' : '0');
  g_string_append_printf (text, "b × 2^%d", e->exponent_unbiased);
  return g_string_free (text, FALSE);
}

/* @single: @e encodes a float32 (a block's element), whose error reads
 * best with float32's digits, not the 17 of its double difference. */
static char *
encoding_details (const QsNumberEncoding *e,
                  gboolean                single)
{
  g_autofree char *exponent = exponent_text (e);
  g_autofree char *mantissa = qs_number_mantissa_hex (e);
  g_autofree char *decoded = qs_number_format_double (e->decoded);
  g_autofree char *error = single ? qs_number_format_float ((float) e->error) : qs_number_format_double (e->error);
  g_autofree char *step = qs_number_format_double (e->step);
  g_autofree char *max = qs_number_format_double (e->layout.max);
  GString *text = g_string_new (NULL);

  g_string_append_printf (text, _("sign %d · %s · mantissa %s · %s"), e->sign, exponent, mantissa,
                          class_title (e->klass));
  g_string_append_c (text, '\n');
  if (isfinite (e->decoded))
    {
      g_autofree char *significand = binary_significand_text (e);
      /* TRANSLATORS: "+1.000101b × 2^3 = 8.625 · error 0 · step 9.5e-07" */
      g_string_append_printf (text, _("%s = %s · error %s · step %s"), significand, decoded, error, step);
    }
  else
    g_string_append_printf (text, _("decodes to %s"), decoded);
  if (e->saturated)
    g_string_append_printf (text, _(" · saturated at ±%s"), max);
  if (e->overflowed)
    g_string_append (text, _(" · overflows to infinity"));
  return g_string_free (text, FALSE);
}

/* ---- updates ------------------------------------------------------------ */

/* The row a block format's elements are encoded in, or -1 (integer and
 * NF4 elements, MXFP6, per-tensor formats). */
static int
block_element_row (QsFormat format)
{
  switch (format)
    {
    case QS_FORMAT_MXFP4:
    case QS_FORMAT_NVFP4:
      return QS_NUMBER_FP4_E2M1;
    case QS_FORMAT_MXFP8_E4M3:
      return QS_NUMBER_FP8_E4M3;
    case QS_FORMAT_MXFP8_E5M2:
      return QS_NUMBER_FP8_E5M2;
    default:
      return -1;
    }
}

/* The block's scale in words: where it comes from and its stored byte. */
static char *
block_scale_text (QsNumberPanel          *self,
                  const QsBlockValueCode *b)
{
  g_autofree char *scale = qs_number_format_float (b->scale);
  g_autofree char *element = qs_number_format_float (b->element);
  g_autofree char *value = qs_number_format_double (self->value);

  if (self->scheme.format == QS_FORMAT_NVFP4)
    {
      g_autofree char *tensor_scale = qs_number_format_float (b->tensor_scale);

      /* TRANSLATORS: value, scale, its stored E4M3 byte, the tensor's scale, tensor, value / scale */
      return g_strdup_printf (_("In an NVFP4 block whose largest magnitude is %s: scale %s "
                                "(E4M3 0x%02x × tensor scale %s of %s); %s / scale = %s"),
                              value, scale, b->scale_code, tensor_scale, self->tensor_label, value, element);
    }
  /* TRANSLATORS: value, block format, scale, its stored E8M0 byte, value / scale */
  return g_strdup_printf (_("In an %s block whose largest magnitude is %s: scale %s (E8M0 0x%02x); %s / scale = %s"),
                          qs_format_to_string (self->scheme.format), value, scale, b->scale_code, value, element);
}

/* @format's row shows the element @self->value becomes in a block of the
 * current scheme's format whose largest magnitude is the value, as
 * `quantscope-cli number --block` does: the bare element encoding would
 * ignore the block's scale. FALSE when the scheme has no such block. */
static gboolean
update_block_row (QsNumberPanel  *self,
                  QsNumberFormat  format)
{
  BitRow *row = &self->float_rows[format];
  const QsNumberLayout *l = qs_number_layout (format);
  BitKind kinds[QS_FIXED_POINT_MAX_WIDTH];
  QsBlockValueCode b;
  QsNumberEncoding e;
  g_autofree char *scale = NULL, *element = NULL, *reconstruction = NULL, *error = NULL;
  g_autofree char *hex = NULL, *binary = NULL, *accessible = NULL, *details = NULL;

  if (!self->has_quantizer || block_element_row (self->scheme.format) != (int) format)
    return FALSE;
  /* NVFP4's tensor scale is the tensor's: the panel's scale for it. */
  if (qs_block_encode_value (&self->scheme, (float) self->value, self->scale, &b) != QS_OK)
    return FALSE;

  qs_number_encode (b.element, format, &e);
  for (int i = 0; i < l->width; i++)
    kinds[i] = i == 0 ? BIT_SIGN : i <= l->exponent_bits ? BIT_EXPONENT : BIT_MANTISSA;
  hex = qs_number_bits_hex (&e);
  binary = qs_number_bits_binary (&e);
  scale = block_scale_text (self, &b);
  element = encoding_details (&e, TRUE);
  reconstruction = qs_number_format_float (b.reconstruction);
  error = qs_number_format_float ((float) ((double) b.reconstruction - self->value));
  /* TRANSLATORS: the block's scale, the element's encoding, and what the code stands for times the scale */
  details = g_strdup_printf (_("%s\n%s\nStands for %s · error %s"), scale, element, reconstruction, error);
  /* A value far past the tensor's own: NVFP4's block scale is an E4M3
   * times the tensor's scale, so it stops at 448 of them, and "scale
   * 0.08 for a largest magnitude of 8.6" needs saying why. */
  if (self->scheme.format == QS_FORMAT_NVFP4 && e.saturated && b.scale_code == 0x7e)
    {
      char *longer = g_strconcat (details, "\n", _("More than this tensor's NVFP4 blocks hold: a block's scale "
                                                   "stops at 448 (the largest E4M3) × the tensor scale"), NULL);

      g_free (details);
      details = longer;
    }
  accessible = g_strdup_printf ("%s: %s", format_title (format), binary);
  bit_row_set_cells (row, l->width, e.bits, kinds, accessible);
  gtk_label_set_text (row->hex, hex);
  set_number_text (row->details, details);
  return TRUE;
}

static void
update_float_row (QsNumberPanel  *self,
                  QsNumberFormat  format)
{
  BitRow *row = &self->float_rows[format];
  const QsNumberLayout *l = qs_number_layout (format);
  BitKind kinds[QS_FIXED_POINT_MAX_WIDTH];
  QsNumberEncoding e;
  g_autofree char *hex = NULL, *binary = NULL, *details = NULL, *accessible = NULL;

  if (update_block_row (self, format))
    return;
  qs_number_encode (self->value, format, &e);
  if (!e.has_code)
    {
      bit_row_clear (row, _("NaN has no FP4 E2M1 code: an MX block marks NaN in its shared scale instead."));
      gtk_label_set_text (row->hex, "—");
      return;
    }

  for (int i = 0; i < l->width; i++)
    kinds[i] = i == 0 ? BIT_SIGN : i <= l->exponent_bits ? BIT_EXPONENT : BIT_MANTISSA;
  hex = qs_number_bits_hex (&e);
  binary = qs_number_bits_binary (&e);
  details = encoding_details (&e, FALSE);
  accessible = g_strdup_printf ("%s: %s", format_title (format), binary);
  bit_row_set_cells (row, l->width, e.bits, kinds, accessible);
  gtk_label_set_text (row->hex, hex);
  set_number_text (row->details, details);
}

static void
update_fixed_row (QsNumberPanel *self)
{
  int m = (int) gtk_adjustment_get_value (self->m_adjustment);
  int n = (int) gtk_adjustment_get_value (self->n_adjustment);
  BitKind kinds[QS_FIXED_POINT_MAX_WIDTH];
  QsFixedPoint f;
  g_autofree char *title = NULL, *min = NULL, *max = NULL, *resolution = NULL, *range = NULL;

  if (qs_number_fixed_point (self->has_value ? self->value : 0.0, m, n, &f) != QS_OK)
    return;  /* the adjustments keep m + n within 64 */

  title = g_strdup_printf ("Q%d.%d", m, n);
  gtk_label_set_text (self->fixed_row.name, title);
  min = qs_number_format_double (f.min);
  max = qs_number_format_double (f.max);
  resolution = qs_number_format_double (f.resolution);
  range = g_strdup_printf (_("range [%s, %s] · resolution %s · %d bits"), min, max, resolution, m + n);
  set_number_text (self->fixed_range, range);

  if (!self->has_value)
    {
      bit_row_clear (&self->fixed_row, "");
      return;
    }
  if (!f.defined)
    {
      bit_row_clear (&self->fixed_row, _("NaN has no fixed-point code."));
      return;
    }

  for (int i = 0; i < m + n; i++)
    kinds[i] = i == 0 ? BIT_SIGN : i < m ? BIT_INTEGER : BIT_FRACTION;
  {
    g_autofree char *hex = qs_fixed_point_hex (&f);
    g_autofree char *binary = qs_fixed_point_binary (&f);
    g_autofree char *decoded = qs_number_format_double (f.decoded);
    g_autofree char *error = qs_number_format_double (f.error);
    g_autofree char *accessible = g_strdup_printf ("%s: %s", title, binary);
    GString *details = g_string_new (NULL);

    g_string_append_printf (details, _("code %" PRId64 " = %s · decodes to %s · error %s"),
                            f.code, binary, decoded, error);
    if (f.saturated)
      g_string_append (details, _(" · saturated: the value lies outside the range"));
    bit_row_set_cells (&self->fixed_row, m + n, f.bits, kinds, accessible);
    gtk_label_set_text (self->fixed_row.hex, hex);
    set_number_text (self->fixed_row.details, details->str);
    g_string_free (details, TRUE);
  }
}

static void
update_integer_row (QsNumberPanel *self)
{
  BitRow *row = &self->integer_row;
  BitKind kinds[QS_MAX_BITS];
  QsIntegerCode q;
  g_autofree char *scale = NULL, *explanation = NULL;

  if (!self->has_quantizer)
    {
      gtk_label_set_text (self->integer_explanation,
                          _("Select a tensor in the main window to see this number's integer code under its scheme."));
      gtk_label_set_text (row->name, "");
      bit_row_clear (row, "");
      return;
    }
  if (self->scheme.format != QS_FORMAT_INT)
    {
      explanation = g_strdup_printf (_("%s uses the float format %s, not integer codes: see its row above."),
                                     self->tensor_label, qs_format_to_string (self->scheme.format));
      gtk_label_set_text (self->integer_explanation, explanation);
      gtk_label_set_text (row->name, "");
      bit_row_clear (row, "");
      return;
    }
  if (self->zero_point != floorf (self->zero_point))
    {
      explanation = g_strdup_printf (_("%s has a fractional zero point (zero-point nudging is off), so its codes "
                                       "are not an integer mapping of this kind."), self->tensor_label);
      gtk_label_set_text (self->integer_explanation, explanation);
      gtk_label_set_text (row->name, "");
      bit_row_clear (row, "");
      return;
    }
  if (qs_number_integer_code (self->has_value ? self->value : 0.0, &self->scheme, self->scale,
                              (int) self->zero_point, &q) != QS_OK)
    {
      gtk_label_set_text (self->integer_explanation, _("The current scheme has no valid integer code."));
      bit_row_clear (row, "");
      return;
    }

  scale = qs_number_format_float (q.scale);
  /* TRANSLATORS: tensor, scale, zero point, lowest code, highest code, and how a
   * value halfway between two codes rounds ("halves to even") */
  explanation = g_strdup_printf (_("%s: scale %s, zero point %d, codes %d to %d, rounding %s. "
                                   "The code is clamp(round(x / scale) + zero point) and stands for "
                                   "scale × (code − zero point), computed in float32 as PyTorch does."),
                                 self->tensor_label, scale, q.zero_point, q.qmin, q.qmax,
                                 q.rounding == QS_ROUNDING_HALF_AWAY ? _("halves away from zero")
                                                                     : _("halves to even"));
  set_number_text (self->integer_explanation, explanation);
  {
    g_autofree char *title = g_strdup_printf (q.qmin < 0 ? _("int%d") : _("uint%d"), q.code_bits);
    gtk_label_set_text (row->name, title);
  }
  if (!self->has_value)
    {
      bit_row_clear (row, "");
      return;
    }

  for (int i = 0; i < q.code_bits; i++)
    kinds[i] = i == 0 && q.qmin < 0 ? BIT_SIGN : BIT_INTEGER;
  {
    g_autofree char *hex = qs_integer_code_hex (&q);
    g_autofree char *binary = qs_integer_code_binary (&q);
    g_autofree char *dequantized = qs_number_format_float ((float) q.dequantized);
    g_autofree char *error = qs_number_format_double (q.error);
    g_autofree char *accessible = g_strdup_printf ("%s: %s", gtk_label_get_text (row->name), binary);
    g_autofree char *details = g_strdup_printf (_("code %d · stands for %s · error %s%s"), q.code, dequantized,
                                                error, q.clipped ? _(" · clipped to the code range") : "");

    bit_row_set_cells (row, q.code_bits, q.bits, kinds, accessible);
    gtk_label_set_text (row->hex, hex);
    set_number_text (row->details, details);
  }
}

static void
update_all (QsNumberPanel *self)
{
  for (int f = 0; f < QS_NUMBER_N_FORMATS; f++)
    {
      if (self->has_value)
        update_float_row (self, f);
      else
        bit_row_clear (&self->float_rows[f], "");
    }
  update_fixed_row (self);
  update_integer_row (self);
}

static void
value_entry_changed_cb (QsNumberPanel *self,
                        GtkEditable   *editable)
{
  double value;

  if (self->setting_entry)
    return;
  self->has_value = qs_number_parse_value (gtk_editable_get_text (editable), &value);
  gtk_label_set_text (self->entry_message, self->has_value ? "" : _("Not a number"));
  if (self->has_value)
    {
      gtk_widget_remove_css_class (GTK_WIDGET (self->value_entry), "error");
      self->value = value;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_VALUE]);
    }
  else
    gtk_widget_add_css_class (GTK_WIDGET (self->value_entry), "error");
  update_all (self);
}

/* m + n may not pass 64: the other spin button gives way. */
static void
q_changed_cb (QsNumberPanel *self,
              GtkAdjustment *changed)
{
  GtkAdjustment *other = changed == self->m_adjustment ? self->n_adjustment : self->m_adjustment;
  double total = gtk_adjustment_get_value (changed) + gtk_adjustment_get_value (other);

  if (total > QS_FIXED_POINT_MAX_WIDTH)
    gtk_adjustment_set_value (other, QS_FIXED_POINT_MAX_WIDTH - gtk_adjustment_get_value (changed));
  update_fixed_row (self);
}

static void
build_legend (QsNumberPanel *self)
{
  static const struct { BitKind kind; const char *label; } items[] = {
    { BIT_SIGN, N_("sign") },
    { BIT_EXPONENT, N_("exponent") },
    { BIT_MANTISSA, N_("mantissa / fraction") },
    { BIT_INTEGER, N_("integer") },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (items); i++)
    {
      GtkWidget *chip = bit_cell_new (_(items[i].label), items[i].kind);

      gtk_widget_add_css_class (chip, "qs-bit-legend");
      gtk_box_append (self->legend_box, chip);
    }
}

/* ---- GObject ------------------------------------------------------------ */

static void
qs_number_panel_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  QsNumberPanel *self = QS_NUMBER_PANEL (object);

  switch (prop_id)
    {
    case PROP_VALUE:
      g_value_set_double (value, self->value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
qs_number_panel_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  QsNumberPanel *self = QS_NUMBER_PANEL (object);

  switch (prop_id)
    {
    case PROP_VALUE:
      qs_number_panel_set_value (self, g_value_get_double (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
qs_number_panel_dispose (GObject *object)
{
  gtk_widget_dispose_template (GTK_WIDGET (object), QS_TYPE_NUMBER_PANEL);
  G_OBJECT_CLASS (qs_number_panel_parent_class)->dispose (object);
}

static void
qs_number_panel_finalize (GObject *object)
{
  QsNumberPanel *self = QS_NUMBER_PANEL (object);

  g_free (self->tensor_label);
  G_OBJECT_CLASS (qs_number_panel_parent_class)->finalize (object);
}

static void
qs_number_panel_class_init (QsNumberPanelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->get_property = qs_number_panel_get_property;
  object_class->set_property = qs_number_panel_set_property;
  object_class->dispose = qs_number_panel_dispose;
  object_class->finalize = qs_number_panel_finalize;

  properties[PROP_VALUE] =
    g_param_spec_double ("value", NULL, NULL,
                         -G_MAXDOUBLE, G_MAXDOUBLE, 8.625,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/quantscope/Quantscope/qs-number-panel.ui");
  gtk_widget_class_bind_template_child (widget_class, QsNumberPanel, value_entry);
  gtk_widget_class_bind_template_child (widget_class, QsNumberPanel, entry_message);
  gtk_widget_class_bind_template_child (widget_class, QsNumberPanel, legend_box);
  gtk_widget_class_bind_template_child (widget_class, QsNumberPanel, float_grid);
  gtk_widget_class_bind_template_child (widget_class, QsNumberPanel, m_adjustment);
  gtk_widget_class_bind_template_child (widget_class, QsNumberPanel, n_adjustment);
  gtk_widget_class_bind_template_child (widget_class, QsNumberPanel, fixed_range);
  gtk_widget_class_bind_template_child (widget_class, QsNumberPanel, fixed_grid);
  gtk_widget_class_bind_template_child (widget_class, QsNumberPanel, integer_explanation);
  gtk_widget_class_bind_template_child (widget_class, QsNumberPanel, integer_grid);
  gtk_widget_class_bind_template_callback (widget_class, value_entry_changed_cb);

  gtk_widget_class_set_css_name (widget_class, "numberpanel");
}

static void
qs_number_panel_init (QsNumberPanel *self)
{
  g_autoptr(GtkSizeGroup) names = gtk_size_group_new (GTK_SIZE_GROUP_HORIZONTAL);

  gtk_widget_init_template (GTK_WIDGET (self));

  for (int f = 0; f < QS_NUMBER_N_FORMATS; f++)
    {
      const QsNumberLayout *l = qs_number_layout (f);
      g_autofree char *tooltip = g_strdup_printf (_("%d bits: 1 sign, %d exponent (bias %d), %d mantissa"),
                                                  l->width, l->exponent_bits, l->bias, l->mantissa_bits);

      self->float_rows[f] = bit_row_new (self->float_grid, f, names);
      gtk_label_set_text (self->float_rows[f].name, format_title (f));
      gtk_widget_set_tooltip_text (GTK_WIDGET (self->float_rows[f].name), tooltip);
    }
  self->fixed_row = bit_row_new (self->fixed_grid, 0, names);
  self->integer_row = bit_row_new (self->integer_grid, 0, names);
  build_legend (self);

  g_signal_connect_object (self->m_adjustment, "value-changed", G_CALLBACK (q_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->n_adjustment, "value-changed", G_CALLBACK (q_changed_cb), self, G_CONNECT_SWAPPED);

  /* The template's entry text is the seed notes' exercise. */
  value_entry_changed_cb (self, GTK_EDITABLE (self->value_entry));
}

GtkWidget *
qs_number_panel_new (void)
{
  return g_object_new (QS_TYPE_NUMBER_PANEL, NULL);
}

void
qs_number_panel_set_value (QsNumberPanel *self,
                           double         value)
{
  g_autofree char *text = NULL;
  gboolean changed;

  g_return_if_fail (QS_IS_NUMBER_PANEL (self));

  text = qs_number_format_double (value);
  self->setting_entry = TRUE;
  gtk_editable_set_text (GTK_EDITABLE (self->value_entry), text);
  self->setting_entry = FALSE;
  gtk_label_set_text (self->entry_message, "");
  gtk_widget_remove_css_class (GTK_WIDGET (self->value_entry), "error");
  self->has_value = TRUE;
  /* Bitwise, so -0 after 0 and NaN after NaN count as they should. */
  changed = memcmp (&self->value, &value, sizeof value) != 0;
  self->value = value;
  update_all (self);
  if (changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_VALUE]);
}

double
qs_number_panel_get_value (QsNumberPanel *self)
{
  g_return_val_if_fail (QS_IS_NUMBER_PANEL (self), NAN);
  return self->value;
}

void
qs_number_panel_set_q (QsNumberPanel *self,
                       int            m,
                       int            n)
{
  g_return_if_fail (QS_IS_NUMBER_PANEL (self));
  g_return_if_fail (m >= 1 && n >= 0 && m + n <= QS_FIXED_POINT_MAX_WIDTH);

  /* n first may briefly exceed 64 - old m; q_changed_cb then lowers m, and
   * setting m restores it. */
  gtk_adjustment_set_value (self->n_adjustment, n);
  gtk_adjustment_set_value (self->m_adjustment, m);
}

void
qs_number_panel_set_quantizer (QsNumberPanel  *self,
                               const QsScheme *scheme,
                               float           scale,
                               float           zero_point,
                               const char     *tensor_label)
{
  g_return_if_fail (QS_IS_NUMBER_PANEL (self));

  self->has_quantizer = scheme != NULL;
  if (scheme != NULL)
    self->scheme = *scheme;
  self->scale = scale;
  self->zero_point = zero_point;
  g_free (self->tensor_label);
  self->tensor_label = g_strdup (tensor_label ? tensor_label : "");
  update_all (self);
}

const char *
qs_number_panel_get_shown_bits (QsNumberPanel  *self,
                                QsNumberFormat  format)
{
  g_return_val_if_fail (QS_IS_NUMBER_PANEL (self), NULL);
  g_return_val_if_fail (format >= 0 && format < QS_NUMBER_N_FORMATS, NULL);
  return gtk_label_get_text (self->float_rows[format].hex);
}

const char *
qs_number_panel_get_shown_details (QsNumberPanel  *self,
                                   QsNumberFormat  format)
{
  g_return_val_if_fail (QS_IS_NUMBER_PANEL (self), NULL);
  g_return_val_if_fail (format >= 0 && format < QS_NUMBER_N_FORMATS, NULL);
  return gtk_label_get_text (self->float_rows[format].details);
}

const char *
qs_number_panel_get_shown_code (QsNumberPanel *self)
{
  const char *text;

  g_return_val_if_fail (QS_IS_NUMBER_PANEL (self), NULL);
  text = gtk_label_get_text (self->integer_row.hex);
  return text[0] != '\0' ? text : NULL;
}
