/* qs-results-panel.c: the results rows, written from a tensor report, the model size and the accuracy.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "app/qs-results-panel.h"

#include <inttypes.h>
#include <math.h>

#include <glib/gi18n.h>

#include "model/qs-format-text.h"

struct _QsResultsPanel
{
  AdwBin parent_instance;

  /* Template widgets */
  GtkSpinner   *busy_spinner;
  GtkSpinner   *accuracy_spinner;
  GtkProgressBar *accuracy_progress;
  AdwActionRow *rows[QS_RESULT_N_ROWS];
  GtkLabel     *values[QS_RESULT_N_ROWS];

  /* The accuracy row says "not available": no figure to keep dimmed while the next runs. */
  gboolean      accuracy_unavailable;
};

G_DEFINE_FINAL_TYPE (QsResultsPanel, qs_results_panel, ADW_TYPE_BIN)

/* The template ids of each row and its value, in QsResultRow order. */
static const char * const row_ids[QS_RESULT_N_ROWS] = {
  "accuracy", "sqnr", "model_size", "size", "bits_per_weight", "zero",
  "clipped", "levels", "mse", "cosine", "scale", "clip",
};

/* Shows @text with the app's real minus signs. */
static void
set_value (QsResultsPanel *self,
           QsResultRow     row,
           const char     *text)
{
  g_autofree char *shown = qs_format_minus (g_strdup (text));

  gtk_label_set_text (self->values[row], shown);
}

/* Marks @row's value with the CSS class @name, or not. */
static void
set_marked (QsResultsPanel *self,
            QsResultRow     row,
            const char     *name,
            gboolean        marked)
{
  if (marked)
    gtk_widget_add_css_class (GTK_WIDGET (self->values[row]), name);
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->values[row]), name);
}

/* The n of g_dngettext () for a count of any size: gettext takes an
 * unsigned long, and a count past it is plural all the same. */
static gulong
plural_count (guint64 count)
{
  return (gulong) MIN (count, 1000000);
}

static char *
format_number (double value)
{
  if (isnan (value))
    return g_strdup (C_("value", "undefined"));
  if (isinf (value))
    return g_strdup (value > 0 ? "∞" : "−∞");
  return g_strdup_printf ("%.4g", value);
}

/* ---- the tensor on view ------------------------------------------------- */

void
qs_results_panel_clear (QsResultsPanel *self,
                        const char     *message)
{
  g_return_if_fail (QS_IS_RESULTS_PANEL (self));

  for (QsResultRow row = 0; row < QS_RESULT_N_ROWS; row++)
    if (row != QS_RESULT_ACCURACY && row != QS_RESULT_MODEL_SIZE)
      set_value (self, row, "—");
  if (message != NULL)
    set_value (self, QS_RESULT_SQNR, message);
  gtk_spinner_set_spinning (self->busy_spinner, FALSE);
}

static char *
scale_text (const QsTensorReport *r,
            int                   channel)
{
  const QsQuantParams *p = &r->params;

  if (r->analysis.blocks != NULL)
    {
      const QsBlockInfo *b = r->analysis.blocks;
      /* TRANSLATORS: a scale per block, e.g. "1,200 blocks of 32" */
      g_autofree char *text = g_strdup_printf (ngettext ("%'" PRIu64 " block of %zu", "%'" PRIu64 " blocks of %zu",
                                                         b->block_count),
                                               b->block_count, b->block_size);

      if (isfinite (b->tensor_scale))
        return g_strdup_printf (_("%s · tensor scale %.4g"), text, b->tensor_scale);
      return g_steal_pointer (&text);
    }
  if (r->scheme.format != QS_FORMAT_INT)
    return g_strdup_printf (_("%s, scale %.4g"), qs_format_to_string (r->scheme.format), p->scale[0]);
  if (p->channels > 1)
    return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%zu channel · channel %d: %.4g · zero point %g",
                                         "%zu channels · channel %d: %.4g · zero point %g", plural_count (p->channels)),
                            p->channels, channel, p->scale[channel], p->zero_point[channel]);
  return g_strdup_printf (_("%.4g · zero point %g"), p->scale[0], p->zero_point[0]);
}

static void
show_zero (QsResultsPanel       *self,
           const QsTensorReport *r)
{
  const QsAnalysis *a = &r->analysis;
  float zero = 0.0f;
  int32_t zero_code = 0;
  float zero_back;
  g_autofree char *value = NULL;
  g_autofree char *detail = NULL;
  g_autofree char *zeros = NULL;

  qs_quantize_channel (&r->params, 0, &zero, 1, &zero_code);
  zero_back = qs_dequantize_code (&r->params, 0, zero_code);
  /* Words, not arrows: "→" falls back to a font where it is a tiny "›". */
  if (a->zero_exact)
    value = g_strdup_printf (_("exact: code %d is 0.0"), zero_code);
  else
    value = g_strdup_printf (_("not exact: code %d is %.4g"), zero_code, zero_back);
  set_value (self, QS_RESULT_ZERO, value);
  zeros = qs_format_count (a->exact_zero_count);
  if (a->exact_zero_count == 0)
    detail = g_strdup (_("No weight is exactly 0.0"));
  else if (a->zero_exact)
    detail = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%s weight (%.2f %%) is exactly 0.0 and stays 0.0",
                                           "%s weights (%.2f %%) are exactly 0.0 and stay 0.0",
                                           plural_count (a->exact_zero_count)),
                              zeros, 100.0 * a->exact_zero_count / MAX (a->count, 1));
  else
    detail = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%s weight (%.2f %%) is exactly 0.0 and no longer is",
                                           "%s weights (%.2f %%) are exactly 0.0 and no longer are",
                                           plural_count (a->exact_zero_count)),
                              zeros, 100.0 * a->exact_zero_count / MAX (a->count, 1));
  adw_action_row_set_subtitle (self->rows[QS_RESULT_ZERO], detail);
  set_marked (self, QS_RESULT_ZERO, "qs-warning", !a->zero_exact);
}

static void
show_clipped (QsResultsPanel   *self,
              const QsAnalysis *a)
{
  double clipped_share = a->finite_count ? 100.0 * a->clipped_count / a->finite_count : 0.0;
  g_autofree char *share = qs_format_percent (clipped_share);
  /* TRANSLATORS: clipped values and their share, e.g. "335 (0.12 %)" */
  g_autofree char *text = g_strdup_printf (_("%'" PRIu64 " (%s)"), a->clipped_count, share);
  /* A range that clips most of a tensor is almost never what was meant. */
  gboolean most = clipped_share > 50.0;

  set_value (self, QS_RESULT_CLIPPED, text);
  set_marked (self, QS_RESULT_CLIPPED, "qs-warning", most);
  adw_action_row_set_subtitle (self->rows[QS_RESULT_CLIPPED], most ? _("This range clips most of the tensor") : NULL);
}

void
qs_results_panel_set_report (QsResultsPanel       *self,
                             const QsTensorReport *r,
                             int                   channel)
{
  const QsAnalysis *a;
  const QsQuantParams *p;
  g_autofree char *text = NULL;

  g_return_if_fail (QS_IS_RESULTS_PANEL (self));
  g_return_if_fail (r != NULL);
  g_return_if_fail (channel >= 0 && (channel == 0 || (size_t) channel < r->params.channels));

  a = &r->analysis;
  p = &r->params;
  text = scale_text (r, channel);
  set_value (self, QS_RESULT_SCALE, text);
  g_clear_pointer (&text, g_free);

  if (p->channels > 1)
    text = g_strdup_printf (_("channel %d: %.4g … %.4g"), channel,
                            fminf (p->range_lo[channel], 0.0f), fmaxf (p->range_hi[channel], 0.0f));
  else
    text = g_strdup_printf ("%.4g … %.4g", fminf (p->range_lo[0], 0.0f), fmaxf (p->range_hi[0], 0.0f));
  set_value (self, QS_RESULT_CLIP_RANGE, text);
  g_clear_pointer (&text, g_free);

  text = qs_format_sqnr (a->sqnr_db);
  set_value (self, QS_RESULT_SQNR, text);
  g_clear_pointer (&text, g_free);

  text = g_strdup_printf (_("%.3g (max %.3g)"), a->mse, a->max_abs_error);
  set_value (self, QS_RESULT_MSE, text);
  g_clear_pointer (&text, g_free);

  text = isfinite (a->cosine) ? g_strdup_printf ("%.6f", a->cosine) : format_number (a->cosine);
  set_value (self, QS_RESULT_COSINE, text);
  g_clear_pointer (&text, g_free);

  show_clipped (self, a);

  text = g_strdup_printf (_("%'" PRIu64 " of %'" PRId64),
                          a->levels_used,
                          r->scheme.format == QS_FORMAT_INT ? (gint64) p->qmax - p->qmin + 1 : (gint64) p->qmax + 1);
  set_value (self, QS_RESULT_LEVELS, text);
  g_clear_pointer (&text, g_free);

  show_zero (self, r);

  {
    g_autofree char *fp32_size = qs_format_size (a->size_fp32_bytes);
    g_autofree char *quant_size = qs_format_size (a->size_quant_bytes);

    text = g_strdup_printf (_("%s → %s (%.2f×)"), fp32_size, quant_size, a->compression_ratio);
  }
  set_value (self, QS_RESULT_TENSOR_SIZE, text);
  g_clear_pointer (&text, g_free);

  /* The CLI's precision (stats), so the two read alike. */
  text = g_strdup_printf ("%.3f", a->bits_per_weight);
  set_value (self, QS_RESULT_BITS_PER_WEIGHT, text);
}

void
qs_results_panel_set_busy (QsResultsPanel *self,
                           gboolean        busy)
{
  g_return_if_fail (QS_IS_RESULTS_PANEL (self));
  gtk_spinner_set_spinning (self->busy_spinner, busy);
}

gboolean
qs_results_panel_get_busy (QsResultsPanel *self)
{
  g_return_val_if_fail (QS_IS_RESULTS_PANEL (self), FALSE);
  return gtk_spinner_get_spinning (self->busy_spinner);
}

/* ---- the model ---------------------------------------------------------- */

void
qs_results_panel_set_model_size (QsResultsPanel *self,
                                 guint64         fp32_bytes,
                                 guint64         quant_bytes)
{
  g_autofree char *fp32 = NULL, *quant = NULL, *text = NULL;

  g_return_if_fail (QS_IS_RESULTS_PANEL (self));

  fp32 = qs_format_size (fp32_bytes);
  quant = qs_format_size (quant_bytes);
  text = g_strdup_printf (_("%s → %s (%.2f×)"), fp32, quant,
                          quant_bytes ? (double) fp32_bytes / (double) quant_bytes : 1.0);
  set_value (self, QS_RESULT_MODEL_SIZE, text);
}

/* The accuracy row's spinner and bar: an evaluation runs, @fraction of
 * it done (negative: no bar). */
static void
show_accuracy_running (QsResultsPanel *self,
                       gboolean        running,
                       double          fraction)
{
  gtk_widget_set_visible (GTK_WIDGET (self->accuracy_spinner), running);
  gtk_spinner_set_spinning (self->accuracy_spinner, running);
  gtk_widget_set_visible (GTK_WIDGET (self->accuracy_progress), running && fraction >= 0);
  if (fraction >= 0)
    gtk_progress_bar_set_fraction (self->accuracy_progress, MIN (fraction, 1.0));
}

/* What an evaluation does before its first figure, in words (transfer full). */
static char *
stage_text (const QsAccuracyResult *progress)
{
  g_autofree char *done = qs_format_count (progress->stage_done);
  g_autofree char *total = qs_format_count (progress->stage_total);
  gulong n = progress->stage_total;

  switch (progress->stage)
    {
    case QS_ACCURACY_STAGE_REFERENCE:
      /* TRANSLATORS: images done of all, e.g. "Running the float32 model on 120 of 1,000 images…" */
      return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "Running the float32 model on %s of %s image…",
                                           "Running the float32 model on %s of %s images…", n), done, total);
    case QS_ACCURACY_STAGE_CALIBRATING:
      return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "Calibrating on %s of %s image…",
                                           "Calibrating on %s of %s images…", n), done, total);
    case QS_ACCURACY_STAGE_EVALUATING:
      return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "Evaluating %s of %s image…",
                                           "Evaluating %s of %s images…", n), done, total);
    case QS_ACCURACY_STAGE_LOADING:
    case QS_ACCURACY_STAGE_SCORED:
    default:
      return g_strdup (_("Loading the model and its test images…"));
    }
}

void
qs_results_panel_set_accuracy_progress (QsResultsPanel         *self,
                                        const QsAccuracyResult *progress)
{
  g_autofree char *text = NULL;

  g_return_if_fail (QS_IS_RESULTS_PANEL (self));
  g_return_if_fail (progress != NULL && qs_accuracy_result_is_progress (progress));

  text = stage_text (progress);
  adw_action_row_set_subtitle (self->rows[QS_RESULT_ACCURACY], text);
  if (self->accuracy_unavailable)
    set_value (self, QS_RESULT_ACCURACY, "");
  set_marked (self, QS_RESULT_ACCURACY, "dim-label", TRUE);
  show_accuracy_running (self, TRUE,
                         progress->stage_total > 0 ? progress->stage_done / (double) progress->stage_total : -1);
}

double
qs_results_panel_get_accuracy_progress (QsResultsPanel *self)
{
  g_return_val_if_fail (QS_IS_RESULTS_PANEL (self), -1);

  if (!gtk_widget_get_visible (GTK_WIDGET (self->accuracy_spinner)))
    return -1;
  if (!gtk_widget_get_visible (GTK_WIDGET (self->accuracy_progress)))
    return 0;
  return gtk_progress_bar_get_fraction (self->accuracy_progress);
}

void
qs_results_panel_set_accuracy_unavailable (QsResultsPanel *self,
                                           const char     *reason)
{
  g_return_if_fail (QS_IS_RESULTS_PANEL (self));

  show_accuracy_running (self, FALSE, -1);

  set_value (self, QS_RESULT_ACCURACY, _("not available"));
  self->accuracy_unavailable = TRUE;
  set_marked (self, QS_RESULT_ACCURACY, "dim-label", FALSE);
  adw_action_row_set_subtitle (self->rows[QS_RESULT_ACCURACY], reason);
}

void
qs_results_panel_set_accuracy (QsResultsPanel         *self,
                               const QsAccuracyResult *result)
{
  g_autofree char *value = NULL;
  g_autofree char *detail = NULL;
  g_autofree char *images = NULL, *total = NULL;
  gboolean estimate;

  g_return_if_fail (QS_IS_RESULTS_PANEL (self));
  g_return_if_fail (result != NULL);

  if (result->unavailable != NULL)
    {
      qs_results_panel_set_accuracy_unavailable (self, result->unavailable);
      return;
    }
  if (qs_accuracy_result_is_progress (result))
    {
      qs_results_panel_set_accuracy_progress (self, result);
      return;
    }

  if (isnan (result->fp32_top1))
    /* TRANSLATORS: images without labels: how often the quantized model picks the float32 model's class */
    value = g_strdup_printf (_("%.2f %% agreement"), result->quant_top1);
  else
    /* TRANSLATORS: float32 top-1 → quantized top-1 (difference in percentage points) */
    value = g_strdup_printf (_("%.2f %% → %.2f %% (%+.2f)"), result->fp32_top1, result->quant_top1,
                             result->quant_top1 - result->fp32_top1);
  set_value (self, QS_RESULT_ACCURACY, value);
  self->accuracy_unavailable = FALSE;
  /* An estimate on part of the test set stays dimmed until it is final. */
  estimate = result->images < result->total;
  set_marked (self, QS_RESULT_ACCURACY, "dim-label", estimate);
  images = qs_format_count (result->images);
  total = qs_format_count (result->total);
  if (estimate)
    detail = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "Estimate on %s of %s test image, agreement %.1f %%…",
                                           "Estimate on %s of %s test images, agreement %.1f %%…", result->total),
                              images, total, result->agreement);
  else
    detail = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%s test image, agreement %.2f %%, %s kernels",
                                           "%s test images, agreement %.2f %%, %s kernels", result->images),
                              images, result->agreement, result->kernel);
  adw_action_row_set_subtitle (self->rows[QS_RESULT_ACCURACY], detail);
  /* The rest of the test set is still being evaluated after an estimate. */
  show_accuracy_running (self, estimate, result->total > 0 ? result->images / (double) result->total : -1);
}

void
qs_results_panel_set_accuracy_pending (QsResultsPanel *self)
{
  g_return_if_fail (QS_IS_RESULTS_PANEL (self));

  adw_action_row_set_subtitle (self->rows[QS_RESULT_ACCURACY], _("Evaluating…"));
  /* A dimmed "not available" beside the spinner would read as the answer. */
  if (self->accuracy_unavailable)
    set_value (self, QS_RESULT_ACCURACY, "");
  set_marked (self, QS_RESULT_ACCURACY, "dim-label", TRUE);
  show_accuracy_running (self, TRUE, -1);
}

gboolean
qs_results_panel_get_accuracy_dimmed (QsResultsPanel *self)
{
  g_return_val_if_fail (QS_IS_RESULTS_PANEL (self), FALSE);
  return gtk_widget_has_css_class (GTK_WIDGET (self->values[QS_RESULT_ACCURACY]), "dim-label");
}

/* ---- reading back ------------------------------------------------------- */

const char *
qs_results_panel_get_value (QsResultsPanel *self,
                            QsResultRow     row)
{
  g_return_val_if_fail (QS_IS_RESULTS_PANEL (self), NULL);
  g_return_val_if_fail (row < QS_RESULT_N_ROWS, NULL);
  return gtk_label_get_text (self->values[row]);
}

AdwActionRow *
qs_results_panel_get_row (QsResultsPanel *self,
                          QsResultRow     row)
{
  g_return_val_if_fail (QS_IS_RESULTS_PANEL (self), NULL);
  g_return_val_if_fail (row < QS_RESULT_N_ROWS, NULL);
  return self->rows[row];
}

gboolean
qs_results_panel_get_warning (QsResultsPanel *self,
                              QsResultRow     row)
{
  g_return_val_if_fail (QS_IS_RESULTS_PANEL (self), FALSE);
  g_return_val_if_fail (row < QS_RESULT_N_ROWS, FALSE);
  return gtk_widget_has_css_class (GTK_WIDGET (self->values[row]), "qs-warning");
}

/* ---- GObject -------------------------------------------------------------- */

static void
qs_results_panel_dispose (GObject *object)
{
  gtk_widget_dispose_template (GTK_WIDGET (object), QS_TYPE_RESULTS_PANEL);
  G_OBJECT_CLASS (qs_results_panel_parent_class)->dispose (object);
}

static void
qs_results_panel_class_init (QsResultsPanelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = qs_results_panel_dispose;

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/quantscope/Quantscope/qs-results-panel.ui");
  gtk_widget_class_bind_template_child (widget_class, QsResultsPanel, busy_spinner);
  gtk_widget_class_bind_template_child (widget_class, QsResultsPanel, accuracy_spinner);
  gtk_widget_class_bind_template_child (widget_class, QsResultsPanel, accuracy_progress);
  for (QsResultRow row = 0; row < QS_RESULT_N_ROWS; row++)
    {
      g_autofree char *row_id = g_strconcat (row_ids[row], "_row", NULL);
      g_autofree char *value_id = g_strconcat (row_ids[row], "_value", NULL);

      gtk_widget_class_bind_template_child_full (widget_class, row_id, FALSE,
                                                 G_STRUCT_OFFSET (QsResultsPanel, rows)
                                                 + row * sizeof (gpointer));
      gtk_widget_class_bind_template_child_full (widget_class, value_id, FALSE,
                                                 G_STRUCT_OFFSET (QsResultsPanel, values)
                                                 + row * sizeof (gpointer));
    }
}

static void
qs_results_panel_init (QsResultsPanel *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  /* One Tab stop per row: the row; its value stays selectable with the
   * mouse. can-focus, not focusable: a selectable GtkLabel that may not
   * take focus still claims Tab and traps it in the row. */
  for (QsResultRow row = 0; row < QS_RESULT_N_ROWS; row++)
    gtk_widget_set_can_focus (GTK_WIDGET (self->values[row]), FALSE);
  set_value (self, QS_RESULT_ACCURACY, "—");
  qs_results_panel_clear (self, NULL);
}

GtkWidget *
qs_results_panel_new (void)
{
  return g_object_new (QS_TYPE_RESULTS_PANEL, NULL);
}
