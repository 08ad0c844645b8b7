/* qs-overview-view.c: the model at a glance: every tensor in a sortable table, worst first, and per-layer SQNR bars.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "app/qs-overview-view.h"

#include <math.h>

#include <glib/gi18n.h>

#include "app/qs-accuracy-job.h"
#include "app/qs-histogram-view.h"
#include "model/qs-format-text.h"
#include "model/qs-scheme-file.h"

/* ---- the overview as a job result ----------------------------------------- */

/* An overview shared by the cache, the table and its rows. */
typedef struct {
  gatomicrefcount ref_count;
  QsOverview     *overview;
} SharedOverview;

static SharedOverview *
shared_overview_ref (SharedOverview *shared)
{
  g_atomic_ref_count_inc (&shared->ref_count);
  return shared;
}

static void
shared_overview_unref (SharedOverview *shared)
{
  if (g_atomic_ref_count_dec (&shared->ref_count))
    {
      qs_overview_free (shared->overview);
      g_free (shared);
    }
}

GType shared_overview_get_type (void) G_GNUC_CONST;

G_DEFINE_BOXED_TYPE (SharedOverview, shared_overview, shared_overview_ref, shared_overview_unref)

typedef struct {
  QsDocument  *document;
  QsSchemeSet *schemes;
} OverviewWork;

static void
overview_work_free (OverviewWork *work)
{
  g_object_unref (work->document);
  qs_scheme_set_unref (work->schemes);
  g_free (work);
}

static gpointer
overview_job (QsJobContext *context,
              gpointer      work_data,
              GCancellable *cancellable,
              GError      **error)
{
  OverviewWork *work = work_data;
  QsOverview *overview;
  SharedOverview *shared;

  overview = qs_overview_compute (qs_document_get_file (work->document), work->schemes, 0, 0, cancellable, error);
  if (overview == NULL)
    return NULL;
  shared = g_new0 (SharedOverview, 1);
  g_atomic_ref_count_init (&shared->ref_count);
  shared->overview = overview;
  qs_job_context_set_cost (context, sizeof *overview + overview->rows->len * (sizeof (QsOverviewRow) + 4096));
  return shared;
}

/* ---- a row of the table --------------------------------------------------- */

#define QS_TYPE_OVERVIEW_ITEM (qs_overview_item_get_type ())
G_DECLARE_FINAL_TYPE (QsOverviewItem, qs_overview_item, QS, OVERVIEW_ITEM, GObject)

struct _QsOverviewItem
{
  GObject         parent_instance;
  SharedOverview *shared;
  guint           index;
};

G_DEFINE_FINAL_TYPE (QsOverviewItem, qs_overview_item, G_TYPE_OBJECT)

static void
qs_overview_item_finalize (GObject *object)
{
  g_clear_pointer (&QS_OVERVIEW_ITEM (object)->shared, shared_overview_unref);
  G_OBJECT_CLASS (qs_overview_item_parent_class)->finalize (object);
}

static void
qs_overview_item_class_init (QsOverviewItemClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = qs_overview_item_finalize;
}

static void
qs_overview_item_init (QsOverviewItem *self)
{
}

static const QsOverviewRow *
item_row (gconstpointer item)
{
  const QsOverviewItem *self = item;

  return g_ptr_array_index (self->shared->overview->rows, self->index);
}

/* ---- columns ---------------------------------------------------------------- */

typedef enum {
  COLUMN_TENSOR,
  COLUMN_PARAMETERS,
  COLUMN_RANGE,
  COLUMN_SCHEME,
  COLUMN_SQNR,
  COLUMN_MAX_ERROR,
  COLUMN_CLIPPED,
  COLUMN_ZERO_EXACT,
  COLUMN_SIZE,
  N_COLUMNS,
} Column;

static const char *const column_titles[N_COLUMNS] = {
  N_("Tensor"), N_("Parameters"), N_("Range"), N_("Scheme"), N_("SQNR"),
  N_("Max error"), N_("Clipped"), N_("0.0 exact"), N_("Size"),
};

static guint64
row_size (const QsOverviewRow *row)
{
  if (row->report != NULL)
    return row->report->analysis.size_quant_bytes;
  return row->info->count > G_MAXUINT64 / 4 ? G_MAXUINT64 : row->info->count * 4;
}

static double
clipped_percent (const QsTensorReport *r)
{
  return r->analysis.finite_count > 0 ? 100.0 * (double) r->analysis.clipped_count / (double) r->analysis.finite_count : 0;
}

/* Why the model keeps a tensor in float32 (qs-overview.c gives them in
 * English): marked here, so the _() below finds their translations. */
static const char *const kept_reasons[] G_GNUC_UNUSED = {
  N_("empty"), N_("not floating point"), N_("skipped by the scheme"),
};

/* The cell's text (transfer full). */
static char *
cell_text (const QsOverviewRow *row,
           Column               column)
{
  const QsTensorReport *r = row->report;

  switch (column)
    {
    case COLUMN_TENSOR:
      return g_strdup (row->info->path);
    case COLUMN_PARAMETERS:
      /* Grouped as the window's results group counts ("9,216"). */
      return qs_format_count (row->info->count);
    case COLUMN_SIZE:
      return qs_format_size (row_size (row));
    default:
      break;
    }
  if (r == NULL)
    return g_strdup (column == COLUMN_SCHEME ? (row->reason != NULL ? _(row->reason) : _("float32")) : "—");
  switch (column)
    {
    case COLUMN_RANGE:
      return qs_format_minus (g_strdup_printf ("[%.4g, %.4g]", r->analysis.data_min, r->analysis.data_max));
    case COLUMN_SCHEME:
      /* In the user's language, as the histogram's heading says it. */
      return qs_histogram_view_describe_scheme (r);
    case COLUMN_SQNR:
      return qs_format_sqnr (r->analysis.sqnr_db);
    case COLUMN_MAX_ERROR:
      return g_strdup_printf ("%.4g", r->analysis.max_abs_error);
    case COLUMN_CLIPPED:
      return qs_format_percent (clipped_percent (r));
    case COLUMN_ZERO_EXACT:
      return g_strdup (r->analysis.zero_exact ? _("yes") : _("no"));
    default:
      return g_strdup ("");
    }
}

/* The number a numeric column sorts by; kept tensors sort as NaN. */
static double
cell_number (const QsOverviewRow *row,
             Column               column)
{
  const QsTensorReport *r = row->report;

  switch (column)
    {
    case COLUMN_PARAMETERS:
      return (double) row->info->count;
    case COLUMN_SIZE:
      return (double) row_size (row);
    case COLUMN_RANGE:
      return r != NULL ? r->analysis.data_max - r->analysis.data_min : NAN;
    case COLUMN_SQNR:
      return r != NULL ? r->analysis.sqnr_db : NAN;
    case COLUMN_MAX_ERROR:
      return r != NULL ? r->analysis.max_abs_error : NAN;
    case COLUMN_CLIPPED:
      return r != NULL ? clipped_percent (r) : NAN;
    case COLUMN_ZERO_EXACT:
      return r != NULL ? r->analysis.zero_exact : NAN;
    default:
      return NAN;
    }
}

static int
compare_cells (gconstpointer a,
               gconstpointer b,
               gpointer      column_pointer)
{
  Column column = GPOINTER_TO_UINT (column_pointer);
  const QsOverviewRow *ra = item_row (a), *rb = item_row (b);
  double x, y;

  if (column == COLUMN_TENSOR)
    return qs_natural_compare (ra->info->path, rb->info->path);
  if (column == COLUMN_SCHEME)
    {
      g_autofree char *sa = cell_text (ra, column), *sb = cell_text (rb, column);

      return g_strcmp0 (sa, sb);
    }
  x = cell_number (ra, column);
  y = cell_number (rb, column);
  /* Kept tensors (no number) go after every number. */
  if (isnan (x) || isnan (y))
    return isnan (x) - isnan (y);
  return (x > y) - (x < y);
}

static void
setup_cell_cb (GtkSignalListItemFactory *factory,
               GtkListItem              *list_item,
               gpointer                  column_pointer)
{
  GtkWidget *label = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (label), GPOINTER_TO_UINT (column_pointer) == COLUMN_TENSOR
                                           || GPOINTER_TO_UINT (column_pointer) == COLUMN_SCHEME ? 0.0f : 1.0f);
  if (GPOINTER_TO_UINT (column_pointer) == COLUMN_TENSOR)
    gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_START);
  else
    gtk_widget_add_css_class (label, "numeric");
  gtk_list_item_set_child (list_item, label);
}

static void
bind_cell_cb (GtkSignalListItemFactory *factory,
              GtkListItem              *list_item,
              gpointer                  column_pointer)
{
  g_autofree char *text = cell_text (item_row (gtk_list_item_get_item (list_item)),
                                     GPOINTER_TO_UINT (column_pointer));

  gtk_label_set_text (GTK_LABEL (gtk_list_item_get_child (list_item)), text);
  if (GPOINTER_TO_UINT (column_pointer) == COLUMN_TENSOR)
    gtk_widget_set_tooltip_text (gtk_list_item_get_child (list_item), text);
}

/* ---- the view --------------------------------------------------------------- */

struct _QsOverviewView
{
  AdwWindow       parent_instance;

  QsJobService   *jobs;
  QsAccuracyJob  *accuracy_job;
  QsDocument     *document;
  QsAccuracyResult *layers;      /* the engine's per-layer figures, or NULL */
  GSignalGroup   *document_signals; /* schemes-changed of the document on show */
  SharedOverview *shared;

  GListStore     *rows;
  GtkSortListModel *sorted;
  GtkSingleSelection *selection;
  GtkColumnView  *table;
  QsSeriesChart  *chart;
  GtkLabel       *status;
  GtkSpinner     *spinner;
};

G_DEFINE_FINAL_TYPE (QsOverviewView, qs_overview_view, ADW_TYPE_WINDOW)

enum {
  SIGNAL_TENSOR_ACTIVATED,
  N_SIGNALS,
};

static guint signals[N_SIGNALS];

/* Per-layer weight and output SQNR over the engine's weighted layers
 * when the file has a model the engine runs (the figures `eval --json`
 * lists), else the weight SQNR of each quantized tensor in file order. */
static void
update_chart (QsOverviewView *self)
{
  g_autoptr(GArray) values = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GPtrArray) names = g_ptr_array_new ();

  qs_series_chart_clear (self->chart);
  if (self->layers != NULL && self->layers->n_layers > 0)
    {
      guint n = self->layers->n_layers;

      qs_series_chart_set_bin_names (self->chart, (const char * const *) self->layers->layer_names);
      qs_series_chart_add_series (self->chart, _("Weight SQNR (dB)"), QS_SERIES_STYLE_BARS, QS_SERIES_COLOR_ACCENT,
                                  0, n, n, self->layers->layer_weight_sqnr);
      qs_series_chart_add_series (self->chart, _("Output SQNR (dB)"), QS_SERIES_STYLE_BARS, QS_SERIES_COLOR_WARNING,
                                  0, n, n, self->layers->layer_output_sqnr);
      return;
    }
  if (self->shared == NULL)
    return;
  {
    QsOverview *overview = self->shared->overview;
    GPtrArray *tensors = qs_weight_file_get_tensors (qs_document_get_file (self->document));
    g_autoptr(GHashTable) by_info = g_hash_table_new (NULL, NULL);

    for (guint i = 0; i < overview->rows->len; i++)
      {
        QsOverviewRow *row = g_ptr_array_index (overview->rows, i);

        g_hash_table_insert (by_info, (gpointer) row->info, row);
      }
    for (guint i = 0; i < tensors->len; i++)
      {
        const QsOverviewRow *row = g_hash_table_lookup (by_info, g_ptr_array_index (tensors, i));

        if (row == NULL || row->report == NULL)
          continue;
        g_array_append_val (values, row->report->analysis.sqnr_db);
        g_ptr_array_add (names, row->info->path);
      }
  }
  g_ptr_array_add (names, NULL);
  qs_series_chart_set_bin_names (self->chart, (const char * const *) names->pdata);
  if (values->len > 0)
    qs_series_chart_add_series (self->chart, _("Weight SQNR (dB)"), QS_SERIES_STYLE_BARS, QS_SERIES_COLOR_ACCENT,
                                0, values->len, values->len, (const double *) values->data);
}

static void
clear_layers (QsOverviewView *self)
{
  if (self->layers != NULL)
    g_boxed_free (QS_TYPE_ACCURACY_RESULT, g_steal_pointer (&self->layers));
}

static void
layers_outcome_cb (const QsJobOutcome *outcome,
                   gpointer            user_data)
{
  QsOverviewView *self = user_data;
  const QsAccuracyResult *result = outcome->result;

  /* The layer figures come with the first estimate already. */
  if (result == NULL || result->n_layers == 0)
    return;
  clear_layers (self);
  self->layers = g_boxed_copy (QS_TYPE_ACCURACY_RESULT, result);
  update_chart (self);
}

static void
show_overview (QsOverviewView *self,
               SharedOverview *shared)
{
  QsOverview *overview = shared->overview;
  g_autofree char *size = qs_format_size (overview->size_quant_bytes);
  g_autofree char *fp32 = qs_format_size (overview->size_fp32_bytes);
  g_autofree char *status = NULL;
  g_autofree char *parameters = NULL;
  g_autofree char *quantized = NULL, *tensors = NULL;

  g_clear_pointer (&self->shared, shared_overview_unref);
  self->shared = shared_overview_ref (shared);
  g_list_store_remove_all (self->rows);
  for (guint i = 0; i < overview->rows->len; i++)
    {
      g_autoptr(QsOverviewItem) item = g_object_new (QS_TYPE_OVERVIEW_ITEM, NULL);

      item->shared = shared_overview_ref (shared);
      item->index = i;
      g_list_store_append (self->rows, item);
    }
  update_chart (self);
  /* TRANSLATORS: the overview's summary: quantized tensors of all, total parameters, size quantized and float32 */
  parameters = qs_format_count (overview->parameters);
  quantized = qs_format_count (overview->quantized);
  tensors = qs_format_count (overview->rows->len);
  status = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%s of %s tensor quantized, %s parameters, %s (float32: %s)",
                                         "%s of %s tensors quantized, %s parameters, %s (float32: %s)",
                                         overview->rows->len),
                            quantized, tensors, parameters, size, fp32);
  gtk_label_set_text (self->status, status);
}

static void
overview_outcome_cb (const QsJobOutcome *outcome,
                     gpointer            user_data)
{
  QsOverviewView *self = user_data;

  gtk_spinner_stop (self->spinner);
  if (outcome->result != NULL)
    show_overview (self, outcome->result);
  else
    gtk_label_set_text (self->status, outcome->error->message);
}

static void
request_overview (QsOverviewView *self)
{
  OverviewWork *work = g_new0 (OverviewWork, 1);
  g_autofree char *schemes = NULL;
  QsJobSpec spec = {
    .target = QS_OVERVIEW_VIEW_TARGET,
    .priority = QS_JOB_PRIORITY_BACKGROUND,
    .result_type = shared_overview_get_type (),
    .work = overview_job,
    .settle_ms = 300,
    .cacheable = TRUE,
  };

  work->document = g_object_ref (self->document);
  work->schemes = qs_scheme_set_ref (qs_document_get_schemes (self->document));
  schemes = qs_scheme_set_to_data (work->schemes, NULL);
  spec.key = qs_job_key_add_string (qs_job_key_add_uint64 (qs_job_key_add_string (0, "overview"),
                                                           (guint64) (guintptr) self->document), schemes);
  gtk_spinner_start (self->spinner);
  qs_job_service_request (self->jobs, &spec, work, (GDestroyNotify) overview_work_free, overview_outcome_cb, self);
  clear_layers (self);
  qs_accuracy_job_request_schemes (self->accuracy_job, self->jobs, self->document,
                                   qs_document_get_schemes (self->document), QS_OVERVIEW_VIEW_LAYERS_TARGET,
                                   layers_outcome_cb, self);
}

void
qs_overview_view_set_document (QsOverviewView *self,
                               QsDocument     *document)
{
  g_return_if_fail (QS_IS_OVERVIEW_VIEW (self));
  g_return_if_fail (QS_IS_DOCUMENT (document));

  if (self->document == document)
    return;
  g_set_object (&self->document, document);
  g_signal_group_set_target (self->document_signals, document);
  /* No row of the old model stays on show while the new one is computed. */
  g_clear_pointer (&self->shared, shared_overview_unref);
  g_list_store_remove_all (self->rows);
  gtk_label_set_text (self->status, "");
  clear_layers (self);
  update_chart (self);
  request_overview (self);
}

QsDocument *
qs_overview_view_get_document (QsOverviewView *self)
{
  g_return_val_if_fail (QS_IS_OVERVIEW_VIEW (self), NULL);
  return self->document;
}

const QsOverview *
qs_overview_view_get_overview (QsOverviewView *self)
{
  g_return_val_if_fail (QS_IS_OVERVIEW_VIEW (self), NULL);

  return self->shared != NULL ? self->shared->overview : NULL;
}

GtkColumnView *
qs_overview_view_get_table (QsOverviewView *self)
{
  g_return_val_if_fail (QS_IS_OVERVIEW_VIEW (self), NULL);

  return self->table;
}

const char *
qs_overview_view_get_row_path (QsOverviewView *self,
                               guint           position)
{
  g_autoptr(GObject) item = NULL;

  g_return_val_if_fail (QS_IS_OVERVIEW_VIEW (self), NULL);

  item = g_list_model_get_item (G_LIST_MODEL (self->sorted), position);
  return item != NULL ? item_row (item)->info->path : NULL;
}

QsSeriesChart *
qs_overview_view_get_chart (QsOverviewView *self)
{
  g_return_val_if_fail (QS_IS_OVERVIEW_VIEW (self), NULL);

  return self->chart;
}

void
qs_overview_view_activate_row (QsOverviewView *self,
                               guint           position)
{
  const char *path;

  g_return_if_fail (QS_IS_OVERVIEW_VIEW (self));

  path = qs_overview_view_get_row_path (self, position);
  if (path != NULL)
    g_signal_emit (self, signals[SIGNAL_TENSOR_ACTIVATED], 0, path);
}

static void
activate_cb (GtkColumnView  *table,
             guint           position,
             QsOverviewView *self)
{
  qs_overview_view_activate_row (self, position);
}

static void
qs_overview_view_dispose (GObject *object)
{
  QsOverviewView *self = QS_OVERVIEW_VIEW (object);

  if (self->jobs != NULL)
    {
      qs_job_service_cancel (self->jobs, QS_OVERVIEW_VIEW_TARGET);
      qs_job_service_cancel (self->jobs, QS_OVERVIEW_VIEW_LAYERS_TARGET);
    }
  if (self->document_signals != NULL)
    g_signal_group_set_target (self->document_signals, NULL);
  g_clear_object (&self->document_signals);
  g_clear_object (&self->jobs);
  g_clear_object (&self->accuracy_job);
  g_clear_object (&self->document);
  g_clear_pointer (&self->shared, shared_overview_unref);
  clear_layers (self);
  G_OBJECT_CLASS (qs_overview_view_parent_class)->dispose (object);
}

static void
qs_overview_view_class_init (QsOverviewViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = qs_overview_view_dispose;

  g_type_ensure (QS_TYPE_SERIES_CHART);
  gtk_widget_class_set_template_from_resource (GTK_WIDGET_CLASS (klass),
                                               "/io/github/quantscope/Quantscope/qs-overview-view.ui");
  gtk_widget_class_bind_template_child (GTK_WIDGET_CLASS (klass), QsOverviewView, table);
  gtk_widget_class_bind_template_child (GTK_WIDGET_CLASS (klass), QsOverviewView, chart);
  gtk_widget_class_bind_template_child (GTK_WIDGET_CLASS (klass), QsOverviewView, status);
  gtk_widget_class_bind_template_child (GTK_WIDGET_CLASS (klass), QsOverviewView, spinner);

  /* A row was chosen: open that tensor. */
  signals[SIGNAL_TENSOR_ACTIVATED] =
    g_signal_new ("tensor-activated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
setup_table (QsOverviewView *self)
{
  self->rows = g_list_store_new (QS_TYPE_OVERVIEW_ITEM);
  for (guint c = 0; c < N_COLUMNS; c++)
    {
      GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();
      GtkColumnViewColumn *column;
      GtkCustomSorter *sorter = gtk_custom_sorter_new (compare_cells, GUINT_TO_POINTER (c), NULL);

      g_signal_connect (factory, "setup", G_CALLBACK (setup_cell_cb), GUINT_TO_POINTER (c));
      g_signal_connect (factory, "bind", G_CALLBACK (bind_cell_cb), GUINT_TO_POINTER (c));
      column = gtk_column_view_column_new (_(column_titles[c]), factory);
      gtk_column_view_column_set_sorter (column, GTK_SORTER (sorter));
      gtk_column_view_column_set_resizable (column, TRUE);
      if (c == COLUMN_TENSOR)
        {
          gtk_column_view_column_set_expand (column, TRUE);
          /* Room for every column in the default width; the
           * name ellipsizes at its start and its tooltip is whole. */
          gtk_column_view_column_set_fixed_width (column, 240);
        }
      gtk_column_view_append_column (self->table, column);
      g_object_unref (sorter);
      g_object_unref (column);
    }
  /* Unsorted, the rows keep qs-overview's order: worst SQNR first. */
  self->sorted = gtk_sort_list_model_new (G_LIST_MODEL (g_object_ref (self->rows)),
                                          g_object_ref (gtk_column_view_get_sorter (self->table)));
  self->selection = gtk_single_selection_new (G_LIST_MODEL (self->sorted));
  gtk_column_view_set_model (self->table, GTK_SELECTION_MODEL (self->selection));
  g_object_unref (self->selection);
  g_signal_connect (self->table, "activate", G_CALLBACK (activate_cb), self);
  g_object_unref (self->rows);
}

static void
qs_overview_view_init (QsOverviewView *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->document_signals = g_signal_group_new (QS_TYPE_DOCUMENT);
  g_signal_group_connect_swapped (self->document_signals, "schemes-changed", G_CALLBACK (request_overview), self);
  qs_series_chart_set_title (self->chart, _("Weight SQNR per layer"));
  qs_series_chart_set_y_unit (self->chart, "dB");
  setup_table (self);
}

QsOverviewView *
qs_overview_view_new (GtkWindow     *parent,
                      QsJobService  *jobs,
                      QsAccuracyJob *accuracy,
                      QsDocument    *document)
{
  QsOverviewView *self = g_object_new (QS_TYPE_OVERVIEW_VIEW, "transient-for", parent, NULL);

  self->jobs = g_object_ref (jobs);
  self->accuracy_job = g_object_ref (accuracy);
  self->document = g_object_ref (document);
  g_signal_group_set_target (self->document_signals, document);
  request_overview (self);
  return self;
}
