/* qs-compare-view.c: two scheme sets side by side: one tensor's histograms and metrics, and the model's size and accuracy.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "app/qs-compare-view.h"

#include <math.h>

#include <glib/gi18n.h>

#include "app/qs-tensor-job.h"
#include "model/qs-format-text.h"

/* Each side has its own targets: A and B are both live. */
static const char *const report_targets[] = { "compare:a", "compare:b" };
static const char *const accuracy_targets[] = { "compare-accuracy:a", "compare-accuracy:b" };

typedef struct {
  QsSchemeSet      *schemes;     /* NULL: the document's */
  char             *name;
  QsTensorReport   *report;
  gboolean          kept;        /* the set keeps the tensor in float32 */
  QsAccuracyResult *accuracy;
  char             *accuracy_error;
  GtkLabel         *title;
} Side;

struct _QsCompareView
{
  AdwWindow      parent_instance;

  QsJobService  *jobs;
  QsAccuracyJob *accuracy_job;
  QsDocument    *document;
  GSignalGroup  *document_signals; /* schemes-changed of the document on show */
  char          *path;
  Side           sides[2];

  /* Template widgets */
  GtkLabel      *a_title;
  GtkLabel      *b_title;
  GtkLabel      *tensor_label;
  QsSeriesChart *chart;
  GtkGrid       *table;

  GtkLabel      *cells[QS_COMPARE_N_ROWS][QS_COMPARE_N_COLUMNS];
};

G_DEFINE_FINAL_TYPE (QsCompareView, qs_compare_view, ADW_TYPE_WINDOW)

/* Which way a metric is better. */
typedef enum {
  BETTER_HIGHER,
  BETTER_LOWER,
  BETTER_NONE,
} Better;

static const struct {
  const char *name;
  Better      better;
} rows[QS_COMPARE_N_ROWS] = {
  [QS_COMPARE_ROW_SQNR] = { N_("SQNR"), BETTER_HIGHER },
  [QS_COMPARE_ROW_MSE] = { N_("MSE"), BETTER_LOWER },
  [QS_COMPARE_ROW_MAX_ERROR] = { N_("Max error"), BETTER_LOWER },
  [QS_COMPARE_ROW_CLIPPED] = { N_("Clipped"), BETTER_LOWER },
  [QS_COMPARE_ROW_ZERO_EXACT] = { N_("0.0 exact"), BETTER_HIGHER },
  [QS_COMPARE_ROW_SIZE] = { N_("Tensor size"), BETTER_LOWER },
  [QS_COMPARE_ROW_BITS_PER_WEIGHT] = { N_("Bits per weight"), BETTER_LOWER },
  [QS_COMPARE_ROW_SCALE] = { N_("Scale"), BETTER_NONE },
  [QS_COMPARE_ROW_MODEL_SIZE] = { N_("Model size"), BETTER_LOWER },
  [QS_COMPARE_ROW_ACCURACY] = { N_("Top-1 accuracy"), BETTER_HIGHER },
};

static void
clear_accuracy (Side *side)
{
  if (side->accuracy != NULL)
    g_boxed_free (QS_TYPE_ACCURACY_RESULT, g_steal_pointer (&side->accuracy));
}

static QsSchemeSet *
side_schemes (QsCompareView *self,
              const Side    *side)
{
  return side->schemes != NULL ? side->schemes : qs_document_get_schemes (self->document);
}

static gboolean
is_tensor_row (QsCompareRow row)
{
  return row < QS_COMPARE_ROW_MODEL_SIZE;
}

/* The metric's value on @side, for the difference and the better mark;
 * FALSE when there is none yet. */
static gboolean
side_value (QsCompareView *self,
            const Side    *side,
            QsCompareRow   row,
            double        *value)
{
  const QsTensorReport *report = side->report;
  const QsAnalysis *a = report != NULL ? &report->analysis : NULL;

  if (row == QS_COMPARE_ROW_MODEL_SIZE)
    {
      guint64 fp32, quant;

      qs_document_model_size_for (self->document, side_schemes (self, side), &fp32, &quant);
      *value = (double) quant;
      return TRUE;
    }
  if (row == QS_COMPARE_ROW_ACCURACY)
    {
      if (side->accuracy == NULL || side->accuracy->unavailable != NULL)
        return FALSE;
      *value = side->accuracy->quant_top1;
      return TRUE;
    }
  if (a == NULL)
    return FALSE;
  switch (row)
    {
    case QS_COMPARE_ROW_SQNR:
      *value = a->sqnr_db;
      break;
    case QS_COMPARE_ROW_MSE:
      *value = a->mse;
      break;
    case QS_COMPARE_ROW_MAX_ERROR:
      *value = a->max_abs_error;
      break;
    case QS_COMPARE_ROW_CLIPPED:
      *value = a->finite_count > 0 ? 100.0 * (double) a->clipped_count / (double) a->finite_count : 0;
      break;
    case QS_COMPARE_ROW_ZERO_EXACT:
      *value = a->zero_exact ? 1 : 0;
      break;
    case QS_COMPARE_ROW_SIZE:
      *value = (double) a->size_quant_bytes;
      break;
    case QS_COMPARE_ROW_BITS_PER_WEIGHT:
      *value = a->bits_per_weight;
      break;
    case QS_COMPARE_ROW_SCALE:
      /* A float format has no scale, a group or block format one per
       * group: its params hold a placeholder 1 (see scale_in_words). */
      if (report->scheme.format != QS_FORMAT_INT || qs_scheme_is_blockwise (&report->scheme))
        return FALSE;
      *value = report->params.channels > 0 ? report->params.scale[0] : NAN;
      break;
    default:
      return FALSE;
    }
  return TRUE;
}

/* @value as the row shows it (transfer full). */
static char *
format_value (QsCompareView *self,
              const Side    *side,
              QsCompareRow   row,
              double         value)
{
  switch (row)
    {
    case QS_COMPARE_ROW_SQNR:
      return qs_format_sqnr (value);
    case QS_COMPARE_ROW_CLIPPED:
      return qs_format_percent (value);
    case QS_COMPARE_ROW_ZERO_EXACT:
      return g_strdup (value != 0 ? _("yes") : _("no"));
    case QS_COMPARE_ROW_SIZE:
    case QS_COMPARE_ROW_MODEL_SIZE:
      return qs_format_size ((guint64) value);
    case QS_COMPARE_ROW_BITS_PER_WEIGHT:
      return g_strdup_printf ("%.3f", value);
    case QS_COMPARE_ROW_ACCURACY:
      if (isnan (side->accuracy->fp32_top1))
        return g_strdup_printf (_("%.2f %% agreement"), value);
      return g_strdup_printf ("%.2f %%", value);
    case QS_COMPARE_ROW_SCALE:
      if (side->report->params.channels > 1)
        /* TRANSLATORS: the scale of a per-channel scheme: its first channel's, and how many there are */
        return g_strdup_printf (_("%.6g (channel 0 of %zu)"), value, side->report->params.channels);
      return g_strdup_printf ("%.6g", value);
    default:
      return g_strdup_printf ("%.6g", value);
    }
}

/* B − A in the row's unit, signed as printf signs it; set_cell gives
 * it a real minus sign (transfer full). */
static char *
format_difference (QsCompareRow row,
                   double       a,
                   double       b)
{
  double d = b - a;

  switch (row)
    {
    case QS_COMPARE_ROW_SQNR:
      return isfinite (d) ? g_strdup_printf (_("%+.2f dB"), d) : g_strdup ("—");
    case QS_COMPARE_ROW_CLIPPED:
    case QS_COMPARE_ROW_ACCURACY:
      /* TRANSLATORS: a difference in percentage points */
      return g_strdup_printf (_("%+.2f pp"), d);
    case QS_COMPARE_ROW_SIZE:
    case QS_COMPARE_ROW_MODEL_SIZE:
      {
        g_autofree char *size = qs_format_size ((guint64) fabs (d));

        return g_strdup_printf ("%s%s", d < 0 ? "−" : "+", size);
      }
    case QS_COMPARE_ROW_ZERO_EXACT:
      return g_strdup (a == b ? "=" : "≠");
    case QS_COMPARE_ROW_BITS_PER_WEIGHT:
      return g_strdup_printf ("%+.3f", d);
    default:
      return g_strdup_printf ("%+.3g", d);
    }
}

static void
set_cell (QsCompareView   *self,
          QsCompareRow     row,
          QsCompareColumn  column,
          const char      *text)
{
  g_autofree char *shown = qs_format_minus (g_strdup (text));

  gtk_label_set_text (self->cells[row][column], shown);
}

static void
update_row (QsCompareView *self,
            QsCompareRow   row)
{
  double values[2];
  gboolean have[2];

  for (int s = 0; s < 2; s++)
    {
      const Side *side = &self->sides[s];
      g_autofree char *text = NULL;

      have[s] = side_value (self, side, row, &values[s]);
      if (have[s])
        text = format_value (self, side, row, values[s]);
      else if (is_tensor_row (row) && side->kept)
        text = g_strdup (_("float32"));
      else if (row == QS_COMPARE_ROW_SCALE && side->report != NULL)
        text = g_strdup (qs_scheme_is_blockwise (&side->report->scheme) ? _("one per block") : _("none (a float format)"));
      else if (row == QS_COMPARE_ROW_ACCURACY && (side->accuracy != NULL || side->accuracy_error != NULL))
        text = g_strdup (_("not available"));
      else
        text = g_strdup ("…");
      set_cell (self, row, (QsCompareColumn) s, text);
    }
  /* An estimate on part of the test set is dimmed until final. */
  if (row == QS_COMPARE_ROW_ACCURACY)
    for (int s = 0; s < 2; s++)
      {
        const QsAccuracyResult *r = self->sides[s].accuracy;
        GtkWidget *cell = GTK_WIDGET (self->cells[row][s]);

        if (r != NULL && r->images < r->total)
          gtk_widget_add_css_class (cell, "dim-label");
        else
          gtk_widget_remove_css_class (cell, "dim-label");
        /* Why there is no figure, in words. */
        gtk_widget_set_tooltip_text (cell, r != NULL ? r->unavailable : self->sides[s].accuracy_error);
      }

  if (have[0] && have[1])
    {
      g_autofree char *difference = format_difference (row, values[0], values[1]);
      const char *better = "";

      if (rows[row].better != BETTER_NONE && values[0] != values[1])
        better = (values[1] > values[0]) == (rows[row].better == BETTER_HIGHER) ? "B" : "A";
      else if (rows[row].better != BETTER_NONE)
        better = "=";
      set_cell (self, row, QS_COMPARE_COLUMN_DIFFERENCE, difference);
      set_cell (self, row, QS_COMPARE_COLUMN_BETTER, better);
    }
  else
    {
      set_cell (self, row, QS_COMPARE_COLUMN_DIFFERENCE, "");
      set_cell (self, row, QS_COMPARE_COLUMN_BETTER, "");
    }
}

static void
update_table (QsCompareView *self)
{
  for (int row = 0; row < QS_COMPARE_N_ROWS; row++)
    update_row (self, (QsCompareRow) row);
}

static double *
counts_to_doubles (const uint64_t *counts,
                   int             n)
{
  double *values = g_new (double, n);

  for (int i = 0; i < n; i++)
    values[i] = (double) counts[i];
  return values;
}

/* The weights once, then each side's reconstruction over its bins. */
static void
update_chart (QsCompareView *self)
{
  static const char *const names[] = { N_("Reconstructed A"), N_("Reconstructed B") };
  static const QsSeriesColor colors[] = { QS_SERIES_COLOR_ACCENT, QS_SERIES_COLOR_WARNING };
  gboolean weights_drawn = FALSE;
  double limit = NAN;

  qs_series_chart_clear (self->chart);
  for (int s = 0; s < 2; s++)
    {
      const QsTensorReport *report = self->sides[s].report;
      const QsHistogram *h;
      g_autofree double *values = NULL;

      if (report == NULL || report->analysis.histogram.bins <= 0)
        continue;
      h = &report->analysis.histogram;
      if (!weights_drawn)
        {
          g_autofree double *weights = counts_to_doubles (h->counts, h->bins);

          QsChartSeries *series = qs_series_chart_add_series (self->chart, _("Weights"), QS_SERIES_STYLE_BARS,
                                                              QS_SERIES_COLOR_FOREGROUND, h->lo, h->hi,
                                                              (guint) h->bins, weights);

          /* A few codes take whole bins' counts: scaled to their spikes,
           * the weights would be a flat line. */
          limit = 1.25 * qs_chart_series_get_max (series);
          weights_drawn = TRUE;
        }
      values = counts_to_doubles (h->quantized_counts, h->bins);
      {
        gboolean cut = FALSE;
        g_autofree char *label = NULL;

        for (int i = 0; i < h->bins; i++)
          cut |= values[i] > limit;
        /* TRANSLATORS: a chart legend entry whose spikes go past the top, e.g. "Reconstructed A (▲ cut at top)" */
        label = cut ? g_strdup_printf (_("%s (▲ cut at top)"), _(names[s])) : g_strdup (_(names[s]));
        qs_series_chart_add_series (self->chart, label, QS_SERIES_STYLE_STEPS, colors[s],
                                    h->lo, h->hi, (guint) h->bins, values);
      }
    }
  qs_series_chart_set_y_limit (self->chart, limit > 0 ? limit : NAN);
}

static void
update_titles (QsCompareView *self)
{
  for (int s = 0; s < 2; s++)
    {
      g_autofree char *text = g_strdup_printf (s == 0 ? _("A: %s") : _("B: %s"), self->sides[s].name);

      gtk_label_set_text (self->sides[s].title, text);
    }
  gtk_label_set_text (self->tensor_label, self->path != NULL ? self->path : _("No tensor selected"));
}

static void
report_outcome_cb (const QsJobOutcome *outcome,
                   gpointer            user_data)
{
  QsCompareView *self = user_data;
  Side *side = &self->sides[g_str_equal (outcome->target, report_targets[0]) ? 0 : 1];

  if (outcome->result == NULL || outcome->partial)
    return;
  g_clear_pointer (&side->report, qs_tensor_report_unref);
  side->report = qs_tensor_report_ref (outcome->result);
  update_chart (self);
  update_table (self);
}

static void
accuracy_outcome_cb (const QsJobOutcome *outcome,
                     gpointer            user_data)
{
  QsCompareView *self = user_data;
  Side *side = &self->sides[g_str_equal (outcome->target, accuracy_targets[0]) ? 0 : 1];

  /* The cell shows "…" until a figure comes. */
  if (outcome->result != NULL && qs_accuracy_result_is_progress (outcome->result))
    return;
  clear_accuracy (side);
  g_clear_pointer (&side->accuracy_error, g_free);
  if (outcome->result != NULL)
    side->accuracy = g_boxed_copy (QS_TYPE_ACCURACY_RESULT, outcome->result);
  else
    side->accuracy_error = g_strdup (outcome->error->message);
  update_row (self, QS_COMPARE_ROW_ACCURACY);
}

static void
request_report (QsCompareView *self,
                int            s)
{
  Side *side = &self->sides[s];
  QsTensorItem *item = self->path != NULL ? qs_document_find_item (self->document, self->path) : NULL;
  const QsTensorInfo *info = item != NULL ? qs_tensor_item_get_info (item) : NULL;
  QsScheme scheme;

  g_clear_pointer (&side->report, qs_tensor_report_unref);
  side->kept = FALSE;
  if (info == NULL || !info->quantizable)
    {
      qs_job_service_cancel (self->jobs, report_targets[s]);
      return;
    }
  if (!qs_scheme_set_resolve_tensor (side_schemes (self, side), info, &scheme))
    {
      side->kept = TRUE;
      qs_job_service_cancel (self->jobs, report_targets[s]);
      return;
    }
  qs_tensor_job_request (self->jobs, report_targets[s], QS_JOB_PRIORITY_VISIBLE, 0,
                         (int) g_get_num_processors (), self->document, info, &scheme,
                         report_outcome_cb, self);
}

static void
request_side (QsCompareView *self,
              int            s)
{
  Side *side = &self->sides[s];

  request_report (self, s);
  clear_accuracy (side);
  g_clear_pointer (&side->accuracy_error, g_free);
  qs_accuracy_job_request_schemes (self->accuracy_job, self->jobs, self->document, side_schemes (self, side),
                                   accuracy_targets[s], accuracy_outcome_cb, self);
  update_chart (self);
  update_table (self);
}

static void
schemes_changed_cb (QsCompareView *self)
{
  for (int s = 0; s < 2; s++)
    if (self->sides[s].schemes == NULL)
      request_side (self, s);
}

void
qs_compare_view_set_side (QsCompareView *self,
                          QsCompareSide  side,
                          QsSchemeSet   *schemes,
                          const char    *name)
{
  Side *s;

  g_return_if_fail (QS_IS_COMPARE_VIEW (self));
  g_return_if_fail (side <= QS_COMPARE_SIDE_B);

  s = &self->sides[side];
  g_clear_pointer (&s->schemes, qs_scheme_set_unref);
  s->schemes = schemes != NULL ? qs_scheme_set_ref (schemes) : NULL;
  g_free (s->name);
  s->name = g_strdup (name);
  update_titles (self);
  request_side (self, side);
}

void
qs_compare_view_set_tensor (QsCompareView *self,
                            const char    *path)
{
  g_return_if_fail (QS_IS_COMPARE_VIEW (self));

  if (g_strcmp0 (self->path, path) == 0)
    return;
  g_free (self->path);
  self->path = g_strdup (path);
  update_titles (self);
  for (int s = 0; s < 2; s++)
    request_report (self, s);
  update_chart (self);
  update_table (self);
}

void
qs_compare_view_set_document (QsCompareView *self,
                              QsDocument    *document)
{
  g_return_if_fail (QS_IS_COMPARE_VIEW (self));
  g_return_if_fail (QS_IS_DOCUMENT (document));

  if (self->document == document)
    return;
  g_set_object (&self->document, document);
  g_signal_group_set_target (self->document_signals, document);
  /* The old document's tensor means nothing here: the caller names one. */
  g_clear_pointer (&self->path, g_free);
  update_titles (self);
  for (int s = 0; s < 2; s++)
    request_side (self, s);
}

QsDocument *
qs_compare_view_get_document (QsCompareView *self)
{
  g_return_val_if_fail (QS_IS_COMPARE_VIEW (self), NULL);
  return self->document;
}

QsTensorReport *
qs_compare_view_get_report (QsCompareView *self,
                            QsCompareSide  side)
{
  g_return_val_if_fail (QS_IS_COMPARE_VIEW (self), NULL);

  return self->sides[side].report;
}

const QsAccuracyResult *
qs_compare_view_get_accuracy (QsCompareView *self,
                              QsCompareSide  side)
{
  g_return_val_if_fail (QS_IS_COMPARE_VIEW (self), NULL);

  return self->sides[side].accuracy;
}

QsSchemeSet *
qs_compare_view_get_schemes (QsCompareView *self,
                             QsCompareSide  side)
{
  g_return_val_if_fail (QS_IS_COMPARE_VIEW (self), NULL);

  return side_schemes (self, &self->sides[side]);
}

gboolean
qs_compare_view_is_complete (QsCompareView *self)
{
  g_return_val_if_fail (QS_IS_COMPARE_VIEW (self), FALSE);

  for (int s = 0; s < 2; s++)
    {
      const Side *side = &self->sides[s];

      if ((side->report == NULL && !side->kept) || side->accuracy == NULL
          || side->accuracy->images < side->accuracy->total)
        return FALSE;
    }
  return TRUE;
}

const char *
qs_compare_view_get_cell (QsCompareView  *self,
                          QsCompareRow    row,
                          QsCompareColumn column)
{
  g_return_val_if_fail (QS_IS_COMPARE_VIEW (self), NULL);
  g_return_val_if_fail (row < QS_COMPARE_N_ROWS && column < QS_COMPARE_N_COLUMNS, NULL);

  return gtk_label_get_text (self->cells[row][column]);
}

QsSeriesChart *
qs_compare_view_get_chart (QsCompareView *self)
{
  g_return_val_if_fail (QS_IS_COMPARE_VIEW (self), NULL);

  return self->chart;
}

static GtkLabel *
grid_label (GtkGrid    *grid,
            const char *text,
            int         column,
            int         row,
            gboolean    header)
{
  GtkWidget *label = gtk_label_new (text);

  gtk_label_set_xalign (GTK_LABEL (label), column == 0 ? 0.0f : 1.0f);
  /* Values can be copied with the mouse; as focus stops they would take
   * the window's first focus with their text selected, and a Tab each. */
  gtk_label_set_selectable (GTK_LABEL (label), !header && column > 0);
  gtk_widget_set_can_focus (label, FALSE);
  if (header)
    gtk_widget_add_css_class (label, "heading");
  else if (column > 0)
    gtk_widget_add_css_class (label, "numeric");
  gtk_grid_attach (grid, label, column, row, 1, 1);
  return GTK_LABEL (label);
}

static void
fill_table (QsCompareView *self)
{
  static const char *const headers[] = { N_("Metric"), "A", "B", N_("B − A"), N_("Better") };

  for (int c = 0; c < (int) G_N_ELEMENTS (headers); c++)
    grid_label (self->table, _(headers[c]), c, 0, TRUE);
  for (int row = 0; row < QS_COMPARE_N_ROWS; row++)
    {
      grid_label (self->table, _(rows[row].name), 0, row + 1, FALSE);
      for (int c = 0; c < QS_COMPARE_N_COLUMNS; c++)
        self->cells[row][c] = grid_label (self->table, "", c + 1, row + 1, FALSE);
    }
}

static void
qs_compare_view_dispose (GObject *object)
{
  QsCompareView *self = QS_COMPARE_VIEW (object);

  if (self->jobs != NULL)
    for (int s = 0; s < 2; s++)
      {
        qs_job_service_cancel (self->jobs, report_targets[s]);
        qs_job_service_cancel (self->jobs, accuracy_targets[s]);
      }
  if (self->document_signals != NULL)
    g_signal_group_set_target (self->document_signals, NULL);
  g_clear_object (&self->document_signals);
  g_clear_object (&self->jobs);
  g_clear_object (&self->accuracy_job);
  g_clear_object (&self->document);
  for (int s = 0; s < 2; s++)
    {
      Side *side = &self->sides[s];

      g_clear_pointer (&side->schemes, qs_scheme_set_unref);
      g_clear_pointer (&side->name, g_free);
      g_clear_pointer (&side->report, qs_tensor_report_unref);
      clear_accuracy (side);
      g_clear_pointer (&side->accuracy_error, g_free);
    }
  g_clear_pointer (&self->path, g_free);
  G_OBJECT_CLASS (qs_compare_view_parent_class)->dispose (object);
}

static void
qs_compare_view_class_init (QsCompareViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = qs_compare_view_dispose;

  g_type_ensure (QS_TYPE_SERIES_CHART);
  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/quantscope/Quantscope/qs-compare-view.ui");
  gtk_widget_class_bind_template_child (widget_class, QsCompareView, a_title);
  gtk_widget_class_bind_template_child (widget_class, QsCompareView, b_title);
  gtk_widget_class_bind_template_child (widget_class, QsCompareView, tensor_label);
  gtk_widget_class_bind_template_child (widget_class, QsCompareView, chart);
  gtk_widget_class_bind_template_child (widget_class, QsCompareView, table);
}

static void
qs_compare_view_init (QsCompareView *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->document_signals = g_signal_group_new (QS_TYPE_DOCUMENT);
  g_signal_group_connect_swapped (self->document_signals, "schemes-changed", G_CALLBACK (schemes_changed_cb), self);
  self->sides[QS_COMPARE_SIDE_A].title = self->a_title;
  self->sides[QS_COMPARE_SIDE_B].title = self->b_title;
  qs_series_chart_set_title (self->chart, _("Weights and their reconstructions under A and B"));
  fill_table (self);
}

QsCompareView *
qs_compare_view_new (GtkWindow     *parent,
                     QsJobService  *jobs,
                     QsAccuracyJob *accuracy,
                     QsDocument    *document)
{
  QsCompareView *self = g_object_new (QS_TYPE_COMPARE_VIEW, "transient-for", parent, NULL);

  self->jobs = g_object_ref (jobs);
  self->accuracy_job = g_object_ref (accuracy);
  self->document = g_object_ref (document);
  g_signal_group_set_target (self->document_signals, document);
  for (int s = 0; s < 2; s++)
    self->sides[s].name = g_strdup (s == 0 ? _("pinned") : _("current"));
  update_titles (self);
  update_table (self);
  return self;
}
