/* qs-block-inspector.c: per-block scales, scale rounding, the worst blocks and the block-size sweep.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "app/qs-block-inspector.h"

#include <glib/gi18n.h>
#include <math.h>

#include "app/qs-chart.h"
#include "app/qs-histogram-view.h"
#include "app/qs-scheme-object.h"
#include "app/qs-tensor-job.h"
#include "app/qs-window.h"
#include "model/qs-format-text.h"
#include "plot/qs-plot.h"

static const int sweep_sizes[QS_BLOCK_INSPECTOR_SWEEP_SIZES] = { 16, 32, 64, 128, 256 };

#define CHART_HEIGHT 260

struct _QsBlockInspector
{
  GtkBox             parent_instance;

  GtkStack          *stack;
  GtkLabel          *scheme_label;
  GtkLabel          *stored_value;
  GtkLabel          *exact_value;
  GtkLabel          *cost_value;
  GtkWidget         *scales_area;
  GtkListBox        *worst_list;
  GtkWidget         *sweep_area;
  AdwPreferencesGroup *sweep_group;
  GtkSpinner        *sweep_spinner;

  QsTensorReport    *report;
  GFile             *folder;
  QsJobService      *jobs;             /* runs the sweep; NULL: no sweep */
  guint64            sweep_key;        /* document, tensor and scheme the sweep is for */
  QsBlockSweepPoint *sweep;            /* NULL until computed */
};

#define SWEEP_TARGET "block-sweep"

G_DEFINE_FINAL_TYPE (QsBlockInspector, qs_block_inspector, GTK_TYPE_BOX)

/* ---- charts --------------------------------------------------------------- */

static void
init_style (QsPlotStyle *style,
            gboolean     on_screen)
{
  gboolean dark = on_screen && adw_style_manager_get_dark (adw_style_manager_get_default ());

  qs_plot_style_init (style, dark ? QS_PLOT_THEME_DARK : QS_PLOT_THEME_PAPER);
}

static char *
chart_title (QsBlockInspector *self,
             gboolean          sweep)
{
  g_autofree char *scheme = qs_histogram_view_describe_scheme (self->report);

  return sweep ? g_strdup_printf (_("%s · SQNR against bits per weight"), self->report->info->path)
               : g_strdup_printf (_("%s · %s · block scales"), self->report->info->path, scheme);
}

typedef struct {
  QsBlockInspector *self;
  gboolean          on_screen;
  const char       *title;       /* files only: the screen shows it in the window */
} ChartDraw;

static void
draw_scales (cairo_t  *cr,
             double    width,
             double    height,
             gpointer  user_data)
{
  ChartDraw *d = user_data;
  QsPlotLabels labels = { d->title, _("Block scale"), _("Blocks") };
  QsPlotStyle style;

  init_style (&style, d->on_screen);
  qs_plot_block_scales (cr, width, height, &style, &labels, d->self->report->analysis.blocks, NULL);
}

static void
draw_sweep (cairo_t  *cr,
            double    width,
            double    height,
            gpointer  user_data)
{
  ChartDraw *d = user_data;
  const QsScheme *s = &d->self->report->scheme;
  QsPlotLabels labels = { d->title, _("Bits per weight (codes and scales)"), _("SQNR (dB)") };
  QsPlotStyle style;

  init_style (&style, d->on_screen);
  qs_plot_block_sweep (cr, width, height, &style, &labels,
                       s->format == QS_FORMAT_INT ? qs_granularity_to_string (QS_GRANULARITY_GROUP)
                                                  : qs_format_to_string (s->format),
                       d->self->sweep, QS_BLOCK_INSPECTOR_SWEEP_SIZES, NULL);
}

static void
area_draw_cb (GtkDrawingArea *area,
              cairo_t        *cr,
              int             width,
              int             height,
              gpointer        user_data)
{
  QsBlockInspector *self = user_data;
  gboolean sweep = GTK_WIDGET (area) == self->sweep_area;
  ChartDraw d = { self, TRUE, NULL };

  if (self->report == NULL || self->report->analysis.blocks == NULL || (sweep && self->sweep == NULL))
    return;
  (sweep ? draw_sweep : draw_scales) (cr, width, height, &d);
}

gboolean
qs_block_inspector_export (QsBlockInspector *self,
                           gboolean          sweep,
                           const char       *path,
                           int               width,
                           int               height,
                           GError          **error)
{
  g_autofree char *title = NULL;
  ChartDraw d = { self, FALSE, NULL };

  g_return_val_if_fail (QS_IS_BLOCK_INSPECTOR (self), FALSE);

  if (self->report == NULL || self->report->analysis.blocks == NULL || (sweep && self->sweep == NULL))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_INITIALIZED, _("Nothing to plot yet"));
      return FALSE;
    }
  title = chart_title (self, sweep);
  d.title = title;
  return qs_plot_save (path, width, height, title, sweep ? draw_sweep : draw_scales, &d, error);
}

static void
export_response_cb (GtkNativeDialog *dialog,
                    int              response,
                    QsBlockInspector *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autofree char *path = qs_chart_export_chooser_path (GTK_FILE_CHOOSER (dialog));
      gboolean sweep = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (dialog), "qs-sweep"));
      g_autoptr(GError) error = NULL;

      /* The inspector is a tool window of the main one, whose files it must not overwrite. */
      GtkWindow *main_window = gtk_window_get_transient_for (GTK_WINDOW (gtk_widget_get_root (GTK_WIDGET (self))));

      if (path != NULL
          && ((QS_IS_WINDOW (main_window) && !qs_window_check_output (QS_WINDOW (main_window), path, &error))
              || !qs_block_inspector_export (self, sweep, path, 1200, 600, &error)))
        {
          GtkWidget *alert = adw_message_dialog_new (GTK_WINDOW (gtk_widget_get_root (GTK_WIDGET (self))),
                                                     _("Could not export the plot"), error->message);

          adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (alert), "close", _("_Close"));
          gtk_window_present (GTK_WINDOW (alert));
        }
    }
  gtk_native_dialog_destroy (dialog);
  g_object_unref (dialog);
  g_object_unref (self);
}

static void
export_clicked_cb (GtkButton        *button,
                   QsBlockInspector *self)
{
  gboolean sweep = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (button), "qs-sweep"));
  GtkFileChooserNative *dialog;

  dialog = qs_chart_export_chooser_new (GTK_WINDOW (gtk_widget_get_root (GTK_WIDGET (self))), self->folder,
                                        sweep ? "block-sweep.png" : "block-scales.png");
  g_object_set_data (G_OBJECT (dialog), "qs-sweep", GINT_TO_POINTER (sweep));
  g_signal_connect (dialog, "response", G_CALLBACK (export_response_cb), g_object_ref (self));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

/* ---- the sweep, a request to the job service ------------------------------ */

typedef struct {
  QsBlockSweepPoint points[QS_BLOCK_INSPECTOR_SWEEP_SIZES];
} SweepResult;

static SweepResult *
sweep_result_copy (const SweepResult *result)
{
  return g_memdup2 (result, sizeof *result);
}

GType qs_block_sweep_result_get_type (void);
G_DEFINE_BOXED_TYPE (SweepResult, qs_block_sweep_result, sweep_result_copy, g_free)

/* The same pass the results use, once per group size, on values read once. */
static gpointer
sweep_work (QsJobContext *context,
            gpointer      work_data,
            GCancellable *cancellable,
            GError      **error)
{
  QsTensorWork *work = work_data;
  g_autoptr(GBytes) values = NULL;
  g_autofree SweepResult *result = g_new0 (SweepResult, 1);
  QsRangeMemo *memo;

  values = qs_document_load_values (work->document, work->info, error);
  if (values == NULL)
    return NULL;
  /* One range pass and one histogram of the data for every group size
   * (they do not depend on it), as the results' changes of scheme. */
  memo = qs_document_take_range_memo (work->document, work->info);
  for (gsize i = 0; i < QS_BLOCK_INSPECTOR_SWEEP_SIZES; i++)
    {
      g_autoptr(QsTensorReport) report = NULL;
      QsScheme at = work->scheme;

      at.group_size = sweep_sizes[i];
      report = qs_tensor_report_compute_values_remembering (work->info, g_bytes_get_data (values, NULL), &at,
                                                            work->n_threads, cancellable, memo, error);
      if (report == NULL)
        {
          qs_document_give_range_memo (work->document, work->info, memo);
          return NULL;
        }
      result->points[i].group_size = sweep_sizes[i];
      result->points[i].bits_per_weight = report->analysis.bits_per_weight;
      result->points[i].sqnr_db = report->analysis.sqnr_db;
      result->points[i].mse = report->analysis.mse;
    }
  qs_document_give_range_memo (work->document, work->info, memo);
  return g_steal_pointer (&result);
}

#define SWEEP_DESCRIPTION N_("SQNR against bits per weight for groups of 16 to 256")

/* A tensor whose rows along the block axis are short (a 1×1 convolution
 * over 16 channels) gives the same blocks for every group past the row:
 * the sweep's points then sit on one another, which reads as a fault
 * unless the description says why. */
static void
describe_sweep (QsBlockInspector *self)
{
  gsize same = QS_BLOCK_INSPECTOR_SWEEP_SIZES;

  if (self->sweep != NULL)
    while (same > 1 && self->sweep[same - 1].bits_per_weight == self->sweep[same - 2].bits_per_weight
           && self->sweep[same - 1].mse == self->sweep[same - 2].mse)
      same--;
  if (same < QS_BLOCK_INSPECTOR_SWEEP_SIZES)
    {
      /* TRANSLATORS: %d is a group size (16, 32, ...) */
      g_autofree char *text = g_strdup_printf (_("SQNR against bits per weight for groups of 16 to 256. Groups of "
                                                 "%d and more coincide here: each covers a whole row of the "
                                                 "tensor already."), self->sweep[same - 1].group_size);

      adw_preferences_group_set_description (self->sweep_group, text);
    }
  else
    adw_preferences_group_set_description (self->sweep_group, _(SWEEP_DESCRIPTION));
}

static void
sweep_outcome_cb (const QsJobOutcome *outcome,
                  gpointer            user_data)
{
  QsBlockInspector *self = user_data;
  const SweepResult *result = outcome->result;

  gtk_spinner_set_spinning (self->sweep_spinner, FALSE);
  g_clear_pointer (&self->sweep, g_free);
  if (result != NULL)
    self->sweep = g_memdup2 (result->points, sizeof result->points);
  describe_sweep (self);
  gtk_widget_queue_draw (self->sweep_area);
}

static void
start_sweep (QsBlockInspector *self,
             QsDocument       *document)
{
  QsJobSpec spec = {
    .target = SWEEP_TARGET,
    .key = self->sweep_key,
    .priority = QS_JOB_PRIORITY_ACCURACY,
    .result_type = qs_block_sweep_result_get_type (),
    .work = sweep_work,
    .cacheable = TRUE,
  };
  QsTensorWork *work = qs_tensor_work_new (document, self->report->info, &self->report->scheme,
                                           MAX (1, (int) g_get_num_processors () - 1));

  gtk_spinner_set_spinning (self->sweep_spinner, TRUE);
  qs_job_service_request (self->jobs, &spec, work, (GDestroyNotify) qs_tensor_work_free, sweep_outcome_cb, self);
}

static void
cancel_sweep (QsBlockInspector *self)
{
  if (self->jobs != NULL)
    qs_job_service_cancel (self->jobs, SWEEP_TARGET);
  g_clear_pointer (&self->sweep, g_free);
  self->sweep_key = 0;
  gtk_spinner_set_spinning (self->sweep_spinner, FALSE);
}

/* ---- what is shown --------------------------------------------------------- */

static void
fill_worst (QsBlockInspector  *self,
            const QsBlockInfo *b)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->worst_list))) != NULL)
    gtk_list_box_remove (self->worst_list, child);
  for (int i = 0; i < b->worst_count; i++)
    {
      const QsBlockError *e = &b->worst[i];
      GtkWidget *row = adw_action_row_new ();
      /* TRANSLATORS: one block: its output channel, where it starts along the row and how many weights it has */
      g_autofree char *title = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "Channel %zu · offset %zu · %zu weight",
                                                             "Channel %zu · offset %zu · %zu weights", e->length),
                                                e->channel, e->offset, e->length);
      /* TRANSLATORS: a block's mean squared error and largest |error| */
      g_autofree char *subtitle = g_strdup_printf (_("MSE %.4g · max error %.4g"), e->mse, e->max_abs_error);

      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
      gtk_list_box_append (self->worst_list, row);
    }
}

static void
show_blocks (QsBlockInspector *self)
{
  const QsBlockInfo *b = self->report->analysis.blocks;
  g_autofree char *scheme = qs_histogram_view_describe_scheme (self->report);
  g_autofree char *stored = qs_format_sqnr (b->sqnr_db);
  g_autofree char *exact = qs_format_sqnr (b->sqnr_exact_scale_db);
  g_autofree char *heading = g_strdup_printf ("%s · %s", self->report->info->path, scheme);
  g_autofree char *cost = NULL;
  double lost = b->sqnr_exact_scale_db - b->sqnr_db;

  gtk_label_set_text (self->scheme_label, heading);
  gtk_label_set_text (self->stored_value, stored);
  gtk_label_set_text (self->exact_value, exact);
  if (!isfinite (lost))
    cost = g_strdup ("—");
  else if (lost >= 0)
    /* TRANSLATORS: how much SQNR storing the scales rounded loses, e.g. "Scale rounding costs 0.32 dB" */
    cost = g_strdup_printf (_("Scale rounding costs %.2f dB"), lost);
  else
    cost = g_strdup_printf (_("Scale rounding gains %.2f dB"), -lost);
  gtk_label_set_text (self->cost_value, cost);
  fill_worst (self, b);
  gtk_widget_queue_draw (self->scales_area);
  gtk_widget_queue_draw (self->sweep_area);
}

void
qs_block_inspector_set_report (QsBlockInspector *self,
                               QsTensorReport   *report,
                               QsDocument       *document,
                               GFile            *folder)
{
  guint64 key;

  g_return_if_fail (QS_IS_BLOCK_INSPECTOR (self));

  g_set_object (&self->folder, folder);
  if (report != NULL)
    qs_tensor_report_ref (report);
  g_clear_pointer (&self->report, qs_tensor_report_unref);
  self->report = report;

  if (report == NULL || report->analysis.blocks == NULL)
    {
      cancel_sweep (self);
      gtk_stack_set_visible_child_name (self->stack, "empty");
      return;
    }
  gtk_stack_set_visible_child_name (self->stack, "blocks");
  show_blocks (self);

  /* The sweep depends on the document, the tensor and every field of the
   * scheme: a new request supersedes an older one, the same one keeps its
   * result. */
  key = qs_job_key_add_string (qs_tensor_job_key (document, report->info, &report->scheme), SWEEP_TARGET);
  if (key == self->sweep_key)
    return;
  cancel_sweep (self);
  describe_sweep (self);
  self->sweep_key = key;
  if (document != NULL && self->jobs != NULL)
    start_sweep (self, document);
}

void
qs_block_inspector_set_job_service (QsBlockInspector *self,
                                    QsJobService     *jobs)
{
  g_return_if_fail (QS_IS_BLOCK_INSPECTOR (self));
  g_return_if_fail (jobs == NULL || QS_IS_JOB_SERVICE (jobs));

  cancel_sweep (self);
  g_set_object (&self->jobs, jobs);
}

GtkListBox *
qs_block_inspector_get_worst_list (QsBlockInspector *self)
{
  g_return_val_if_fail (QS_IS_BLOCK_INSPECTOR (self), NULL);
  return self->worst_list;
}

const QsBlockSweepPoint *
qs_block_inspector_get_sweep (QsBlockInspector *self,
                              gsize            *n_points)
{
  g_return_val_if_fail (QS_IS_BLOCK_INSPECTOR (self), NULL);
  *n_points = self->sweep != NULL ? QS_BLOCK_INSPECTOR_SWEEP_SIZES : 0;
  return self->sweep;
}

/* ---- construction ---------------------------------------------------------- */

static GtkLabel *
add_value_row (AdwPreferencesGroup *group,
               const char          *title,
               const char          *tooltip)
{
  GtkWidget *row = adw_action_row_new ();
  GtkWidget *value = gtk_label_new ("—");

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  gtk_widget_set_tooltip_text (row, tooltip);
  gtk_label_set_selectable (GTK_LABEL (value), TRUE);
  gtk_widget_add_css_class (value, "numeric");
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), value);
  adw_preferences_group_add (group, row);
  return GTK_LABEL (value);
}

/* A titled chart with its export button. */
static GtkWidget *
add_chart (QsBlockInspector *self,
           GtkBox           *column,
           const char       *title,
           const char       *description,
           gboolean          sweep)
{
  GtkWidget *group = adw_preferences_group_new ();
  GtkWidget *button = gtk_button_new_from_icon_name ("document-save-symbolic");
  GtkWidget *suffix = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *frame = gtk_frame_new (NULL);
  GtkWidget *area = gtk_drawing_area_new ();

  adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (group), title);
  adw_preferences_group_set_description (ADW_PREFERENCES_GROUP (group), description);
  gtk_widget_set_tooltip_text (button, _("Export the chart as PNG, SVG or PDF"));
  gtk_widget_add_css_class (button, "flat");
  g_object_set_data (G_OBJECT (button), "qs-sweep", GINT_TO_POINTER (sweep));
  g_signal_connect (button, "clicked", G_CALLBACK (export_clicked_cb), self);
  if (sweep)
    {
      self->sweep_spinner = GTK_SPINNER (gtk_spinner_new ());
      gtk_box_append (GTK_BOX (suffix), GTK_WIDGET (self->sweep_spinner));
    }
  gtk_box_append (GTK_BOX (suffix), button);
  adw_preferences_group_set_header_suffix (ADW_PREFERENCES_GROUP (group), suffix);

  gtk_drawing_area_set_content_height (GTK_DRAWING_AREA (area), CHART_HEIGHT);
  gtk_drawing_area_set_draw_func (GTK_DRAWING_AREA (area), area_draw_cb, self, NULL);
  gtk_widget_set_hexpand (area, TRUE);
  gtk_frame_set_child (GTK_FRAME (frame), area);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), frame);
  gtk_box_append (column, group);
  return area;
}

static void
dark_changed_cb (QsBlockInspector *self)
{
  gtk_widget_queue_draw (self->scales_area);
  gtk_widget_queue_draw (self->sweep_area);
}

static void
qs_block_inspector_dispose (GObject *object)
{
  QsBlockInspector *self = QS_BLOCK_INSPECTOR (object);

  cancel_sweep (self);
  g_clear_object (&self->jobs);
  g_clear_pointer (&self->report, qs_tensor_report_unref);
  g_clear_object (&self->folder);
  G_OBJECT_CLASS (qs_block_inspector_parent_class)->dispose (object);
}

static void
qs_block_inspector_class_init (QsBlockInspectorClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = qs_block_inspector_dispose;
}

static void
qs_block_inspector_init (QsBlockInspector *self)
{
  GtkWidget *empty = adw_status_page_new ();
  GtkWidget *scroll = gtk_scrolled_window_new ();
  GtkWidget *clamp = adw_clamp_new ();
  GtkWidget *column = gtk_box_new (GTK_ORIENTATION_VERTICAL, 24);
  GtkWidget *rounding = adw_preferences_group_new ();
  GtkWidget *worst = adw_preferences_group_new ();
  /* Two columns, the numbers and the charts, so a laptop screen shows
   * all of it. */
  GtkWidget *columns = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 24);
  GtkWidget *left = gtk_box_new (GTK_ORIENTATION_VERTICAL, 24);
  GtkWidget *right = gtk_box_new (GTK_ORIENTATION_VERTICAL, 24);

  gtk_orientable_set_orientation (GTK_ORIENTABLE (self), GTK_ORIENTATION_VERTICAL);
  self->stack = GTK_STACK (gtk_stack_new ());
  gtk_widget_set_vexpand (GTK_WIDGET (self->stack), TRUE);
  gtk_box_append (GTK_BOX (self), GTK_WIDGET (self->stack));

  adw_status_page_set_icon_name (ADW_STATUS_PAGE (empty), "view-grid-symbolic");
  adw_status_page_set_title (ADW_STATUS_PAGE (empty), _("No Blocks to Inspect"));
  adw_status_page_set_description (ADW_STATUS_PAGE (empty),
                                   _("Choose a block format (MXFP4, NVFP4, NF4, …) or per-group granularity."));
  gtk_stack_add_named (self->stack, empty, "empty");

  adw_clamp_set_maximum_size (ADW_CLAMP (clamp), 1600);
  gtk_box_set_homogeneous (GTK_BOX (columns), TRUE);
  gtk_widget_set_margin_top (column, 18);
  gtk_widget_set_margin_bottom (column, 18);
  gtk_widget_set_margin_start (column, 12);
  gtk_widget_set_margin_end (column, 12);

  self->scheme_label = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_wrap (self->scheme_label, TRUE);
  gtk_label_set_xalign (self->scheme_label, 0.0f);
  gtk_widget_add_css_class (GTK_WIDGET (self->scheme_label), "title-4");
  gtk_box_append (GTK_BOX (column), GTK_WIDGET (self->scheme_label));

  adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (rounding), _("Scale rounding"));
  adw_preferences_group_set_description (ADW_PREFERENCES_GROUP (rounding),
                                         _("Block scales are stored rounded: MX as powers of two (E8M0), "
                                           "NVFP4 as FP8 E4M3. The same elements with each block's exact "
                                           "float scale show what the rounding costs."));
  self->stored_value = add_value_row (ADW_PREFERENCES_GROUP (rounding), _("SQNR, stored scales"),
                                      _("The SQNR of the format as stored"));
  self->exact_value = add_value_row (ADW_PREFERENCES_GROUP (rounding), _("SQNR, exact scales"),
                                     _("The SQNR if every block kept its exact float32 scale"));
  self->cost_value = add_value_row (ADW_PREFERENCES_GROUP (rounding), _("Difference"),
                                    _("SQNR with exact scales minus SQNR with stored scales"));
  gtk_box_append (GTK_BOX (left), rounding);

  self->scales_area = add_chart (self, GTK_BOX (right), _("Block scales"),
                                 _("How many blocks have each scale (log₂ bins)"), FALSE);

  self->sweep_area = add_chart (self, GTK_BOX (right), _("Block-size sweep"), _(SWEEP_DESCRIPTION), TRUE);
  self->sweep_group = ADW_PREFERENCES_GROUP (gtk_widget_get_ancestor (self->sweep_area, ADW_TYPE_PREFERENCES_GROUP));

  adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (worst), _("Worst blocks"));
  adw_preferences_group_set_description (ADW_PREFERENCES_GROUP (worst),
                                         _("The blocks with the largest mean squared error"));
  self->worst_list = GTK_LIST_BOX (gtk_list_box_new ());
  gtk_list_box_set_selection_mode (self->worst_list, GTK_SELECTION_NONE);
  gtk_widget_add_css_class (GTK_WIDGET (self->worst_list), "boxed-list");
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (worst), GTK_WIDGET (self->worst_list));
  gtk_box_append (GTK_BOX (left), worst);

  gtk_box_append (GTK_BOX (columns), left);
  gtk_box_append (GTK_BOX (columns), right);
  gtk_box_append (GTK_BOX (column), columns);

  adw_clamp_set_child (ADW_CLAMP (clamp), column);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scroll), clamp);
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scroll), GTK_POLICY_NEVER, GTK_POLICY_AUTOMATIC);
  gtk_stack_add_named (self->stack, scroll, "blocks");
  gtk_stack_set_visible_child_name (self->stack, "empty");

  g_signal_connect_object (adw_style_manager_get_default (), "notify::dark",
                           G_CALLBACK (dark_changed_cb), self, G_CONNECT_SWAPPED);
}

GtkWidget *
qs_block_inspector_new (void)
{
  return g_object_new (QS_TYPE_BLOCK_INSPECTOR, NULL);
}
