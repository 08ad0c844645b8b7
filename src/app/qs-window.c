/* qs-window.c: the main window: the tensors, the histogram, and the scheme and results panels wired together.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "app/qs-window.h"
#include "app/qs-window-private.h"

#include <math.h>

#include <glib/gi18n.h>

#include "app/qs-channel-range-view.h"
#include "app/qs-histogram-view.h"
#include "app/qs-tensor-job.h"
#include "app/qs-tensor-item.h"
#include "model/qs-format-text.h"
#include "model/qs-input-file.h"
#include "model/qs-tensor-report.h"

G_DEFINE_FINAL_TYPE (QsWindow, qs_window, ADW_TYPE_APPLICATION_WINDOW)

/* The histogram's view options, as window properties so that
 * win.log-scale and win.show-quantized are stateful property actions. */
enum {
  PROP_0,
  PROP_LOG_SCALE,
  PROP_SHOW_QUANTIZED,
  PROP_SORT_BY_SQNR,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* ---- formatting --------------------------------------------------------- */

static char *
format_bits_badge (const QsScheme *scheme)
{
  switch (scheme->format)
    {
    case QS_FORMAT_FP16:
      return g_strdup ("fp16");
    case QS_FORMAT_BF16:
      return g_strdup ("bf16");
    case QS_FORMAT_FP8_E4M3:
      return g_strdup ("e4m3");
    case QS_FORMAT_FP8_E5M2:
      return g_strdup ("e5m2");
    case QS_FORMAT_INT:
      if (qs_scheme_is_blockwise (scheme))
        /* TRANSLATORS: a short badge: an integer scheme with a scale per group, e.g. "4 bit/g128" */
        return g_strdup_printf (_("%d bit/g%zu"), scheme->bits, qs_scheme_block_size (scheme));
      /* TRANSLATORS: a short badge: bits of an integer scheme, e.g. "8 bit" */
      return g_strdup_printf (_("%d bit"), scheme->bits);
    default:
      /* The block formats' own names ("mxfp4", "nf4") are short already. */
      return g_strdup (qs_format_to_string (scheme->format));
    }
}

char *
_qs_window_badge_text (const QsTensorReport *report)
{
  g_autofree char *bits = format_bits_badge (&report->scheme);
  g_autofree char *sqnr = NULL;

  if (isnan (report->analysis.sqnr_db))
    return g_strdup (bits);
  sqnr = qs_format_sqnr (report->analysis.sqnr_db);
  /* TRANSLATORS: a short badge: bits and SQNR, e.g. "8 bit · 38.1 dB" or "fp16 · exact" */
  return qs_format_minus (g_strdup_printf (_("%s · %s"), bits, sqnr));
}

/* ---- scheme and controls ------------------------------------------------ */

static QsTensorItem *
selected_item (QsWindow *self)
{
  if (self->selection == NULL)
    return NULL;
  return gtk_single_selection_get_selected_item (self->selection);
}

const char *
qs_window_get_selected_path (QsWindow *self)
{
  QsTensorItem *item = selected_item (self);

  g_return_val_if_fail (QS_IS_WINDOW (self), NULL);
  return item ? qs_tensor_item_get_info (item)->path : NULL;
}

static void view_outcome_cb (const QsJobOutcome *outcome,
                             gpointer            user_data);

static void
request_analysis (QsWindow *self)
{
  QsTensorItem *item = selected_item (self);
  const QsTensorInfo *info;
  QsScheme scheme;

  if (self->document == NULL || item == NULL)
    return;
  info = qs_tensor_item_get_info (item);
  if (!info->quantizable)
    {
      gtk_label_set_text (self->tensor_label, info->path);
      qs_histogram_view_set_report (self->histogram_view, NULL);
      qs_job_service_cancel (self->jobs, QS_TENSOR_JOB_VIEW);
      _qs_window_clear_results (self, info->count == 0 ? _("This tensor is empty.")
                                                        : _("Only floating-point tensors can be quantized."));
      return;
    }

  /* A tensor the skip list keeps is still analysed, as a preview of
   * quantizing it; the scheme panel says it stays float32. */
  qs_document_get_scheme_for (self->document, info->path, &scheme);
  qs_results_panel_set_busy (self->results_panel, TRUE);
  /* All cores but one: the main loop keeps a core to draw on. */
  qs_tensor_job_request (self->jobs, QS_TENSOR_JOB_VIEW, QS_JOB_PRIORITY_VISIBLE, 0,
                         MAX (1, (int) g_get_num_processors () - 1),
                         self->document, info, &scheme, view_outcome_cb, self);
}

/* The core refuses KL below QS_KL_MIN_BITS (qs_scheme_validate): the
 * window says why, in the user's language. */
static gboolean
kl_refused (const QsScheme *scheme)
{
  return scheme->format == QS_FORMAT_INT && scheme->range_method == QS_RANGE_KL
         && scheme->bits < QS_KL_MIN_BITS;
}

static const char *
kl_refusal_text (void)
{
  return _("KL divergence needs at least 4 bits: with fewer it clips almost everything. "
           "Use Minimum MSE or Min/max.");
}

/* Says plainly what a change of the controls affects. */
static void
update_applies_to (QsWindow *self)
{
  const char *path = qs_window_get_selected_path (self);
  g_autofree char *text = NULL;
  QsScheme scheme;

  if (self->document == NULL)
    return;
  if (path != NULL && !qs_document_get_scheme_for (self->document, path, &scheme))
    text = g_strdup (_("This tensor stays float32 (the scheme's skip list): export writes it unchanged and "
                       "the size counts 4 bytes a value. The results preview quantizing it."));
  else if (path != NULL && qs_scheme_panel_get_only_this_tensor (self->scheme_panel))
    text = g_strdup (qs_document_has_override (self->document, path)
                     ? _("Changes apply to this tensor only: it has its own scheme")
                     : _("Changes apply to this tensor only: the first one gives it its own scheme"));
  else
    {
      GListModel *tensors = qs_document_get_tensors (self->document);
      guint n = g_list_model_get_n_items (tensors), following = 0;
      g_autofree char *count = NULL;

      for (guint i = 0; i < n; i++)
        {
          g_autoptr(QsTensorItem) item = g_list_model_get_item (tensors, i);

          if (qs_tensor_item_get_info (item)->quantizable && !qs_tensor_item_get_kept_float (item)
              && !qs_tensor_item_get_overridden (item))
            following++;
        }
      count = qs_format_count (following);
      text = g_strdup_printf (ngettext ("Changes apply to all tensors without their own scheme: %s tensor",
                                        "Changes apply to all tensors without their own scheme: %s tensors",
                                        following), count);
    }
  qs_scheme_panel_set_applies_to (self->scheme_panel, text);
}

/* With a tensor selected a change is that tensor's unless the user chose
 * "all tensors": a drag on one tensor never rewrites the others. */
static void
apply_scheme_edit (QsWindow       *self,
                   const QsScheme *scheme)
{
  const char *path = qs_window_get_selected_path (self);

  if (self->document == NULL)
    return;
  if (kl_refused (scheme))
    qs_window_show_toast (self, kl_refusal_text ());
  self->applying_controls = TRUE;
  if (path != NULL && qs_scheme_panel_get_only_this_tensor (self->scheme_panel))
    qs_document_set_override (self->document, path, scheme);
  else
    qs_document_set_default_scheme (self->document, scheme);
  self->applying_controls = FALSE;
}

static void
scheme_edited_cb (QsWindow      *self,
                  QsSchemePanel *panel)
{
  QsScheme scheme;

  qs_scheme_panel_get_scheme (panel, &scheme);
  apply_scheme_edit (self, &scheme);
}

/* Shows the scheme a change of the controls edits: @path's own (or what
 * it resolves to) when changes apply to it, else the default. */
static void
load_scheme_into_controls (QsWindow   *self,
                           const char *path)
{
  QsScheme scheme;

  if (qs_scheme_panel_get_only_this_tensor (self->scheme_panel))
    qs_document_get_scheme_for (self->document, path, &scheme);
  else
    qs_document_get_default_scheme (self->document, &scheme);
  qs_scheme_panel_set_scheme (self->scheme_panel, &scheme);
  update_applies_to (self);
}

void
_qs_window_apply_schemes (QsWindow    *self,
                          QsSchemeSet *schemes)
{
  g_return_if_fail (self->document != NULL);

  qs_document_set_schemes (self->document, schemes);
}

/* Which tensors a change affects: this one, or all that follow the default. */
static void
only_this_tensor_cb (QsWindow      *self,
                     GParamSpec    *pspec,
                     QsSchemePanel *panel)
{
  if (self->document == NULL)
    return;
  load_scheme_into_controls (self, qs_window_get_selected_path (self));
}

static void
schemes_changed_cb (QsWindow   *self,
                    QsDocument *document)
{
  /* Undo, redo, reset and loaded files change the set under the controls. */
  if (!self->applying_controls)
    load_scheme_into_controls (self, qs_window_get_selected_path (self));
  else
    update_applies_to (self);
  _qs_window_update_history_actions (self);
  _qs_window_save_schemes (self);
  request_analysis (self);
  _qs_window_update_model_size (self);
  _qs_window_schedule_sweep (self);
  _qs_window_schedule_accuracy (self);
}

/* ---- results ------------------------------------------------------------ */

void
_qs_window_clear_results (QsWindow   *self,
                          const char *message)
{
  qs_results_panel_clear (self->results_panel, message);
}

static void
show_report (QsWindow             *self,
             const QsTensorReport *report)
{
  gtk_label_set_text (self->tensor_label, report->info->path);
  qs_results_panel_set_report (self->results_panel, report, self->shown_channel);
  if (report->params.clamped_channels > 0)
    qs_window_show_toast (self, _("The scale was clamped at 2⁻²³ (as PyTorch does): values below one step are lost."));
}

static void
show_analysis (QsWindow       *self,
               QsTensorReport *report,
               gint64          requested_usec)
{
  QsTensorItem *item = qs_document_find_item (self->document, report->info->path);
  g_autofree char *badge = _qs_window_badge_text (report);
  gboolean per_channel = report->params.channels > 1;

  qs_results_panel_set_busy (self->results_panel, qs_job_service_is_pending (self->jobs, QS_TENSOR_JOB_VIEW));
  if (item != NULL)
    {
      qs_tensor_item_set_badge (item, badge);
      qs_tensor_item_set_sqnr (item, report->analysis.sqnr_db);
    }

  if (per_channel)
    {
      gtk_adjustment_set_upper (self->channel_adjustment, report->params.channels - 1);
      self->shown_channel = MIN (self->shown_channel, (int) report->params.channels - 1);
    }
  else
    self->shown_channel = 0;
  gtk_widget_set_visible (GTK_WIDGET (self->channel_box), per_channel);
  gtk_widget_set_visible (GTK_WIDGET (self->channel_view), per_channel);

  qs_histogram_view_set_report (self->histogram_view, report);
  qs_channel_range_view_set_report (self->channel_view, report);
  show_report (self, report);
  _qs_window_sync_number_panel (self);
  _qs_window_sync_block_inspector (self);
  _qs_window_record_latency (self, requested_usec);
}

static void
show_analysis_failure (QsWindow   *self,
                       const char *message)
{
  QsScheme scheme;

  qs_results_panel_set_busy (self->results_panel, qs_job_service_is_pending (self->jobs, QS_TENSOR_JOB_VIEW));
  qs_histogram_view_set_report (self->histogram_view, NULL);
  qs_scheme_panel_get_scheme (self->scheme_panel, &scheme);
  _qs_window_clear_results (self, kl_refused (&scheme) ? kl_refusal_text () : message);
  _qs_window_sync_number_panel (self);
  _qs_window_sync_block_inspector (self);
}

/* The newest analysis of the tensor on view, or why there is none. */
static void
view_outcome_cb (const QsJobOutcome *outcome,
                 gpointer            user_data)
{
  QsWindow *self = user_data;

  if (outcome->result != NULL)
    show_analysis (self, outcome->result, outcome->requested_usec);
  else
    show_analysis_failure (self, outcome->error->message);
}

static void
channel_changed_cb (QsWindow      *self,
                    GtkAdjustment *adjustment)
{
  QsTensorReport *report = qs_histogram_view_get_report (self->histogram_view);

  self->shown_channel = (int) gtk_adjustment_get_value (adjustment);
  g_object_set (self->histogram_view, "channel", self->shown_channel, NULL);
  if (report != NULL)
    show_report (self, report);
  _qs_window_sync_number_panel (self);
}

/* A click on a bar shows its centre value bit by bit. */
static void
histogram_bin_activated_cb (QsWindow        *self,
                            double           value,
                            QsHistogramView *view)
{
  qs_number_panel_set_value (_qs_window_present_number_inspector (self), value);
}

/* Dragging a clip handle turns the range into a manual one, live. */
static void
histogram_range_changed_cb (QsWindow        *self,
                            double           lo,
                            double           hi,
                            QsHistogramView *view)
{
  QsScheme scheme;

  if (!(lo < hi))
    return;
  /* A whole drag is one undo step. */
  if (!self->dragging_range && self->document != NULL)
    {
      qs_document_begin_coalescing (self->document);
      self->dragging_range = TRUE;
    }
  qs_scheme_panel_get_scheme (self->scheme_panel, &scheme);
  scheme.range_method = QS_RANGE_MANUAL;
  scheme.manual_lo = lo;
  scheme.manual_hi = hi;
  qs_scheme_panel_set_scheme (self->scheme_panel, &scheme);
  apply_scheme_edit (self, &scheme);
}

static void
histogram_range_committed_cb (QsWindow        *self,
                              double           lo,
                              double           hi,
                              QsHistogramView *view)
{
  if (self->dragging_range && self->document != NULL)
    qs_document_end_coalescing (self->document);
  self->dragging_range = FALSE;
}

/* ---- tensors ------------------------------------------------------------ */

static void
selection_changed_cb (QsWindow           *self,
                      GParamSpec         *pspec,
                      GtkSingleSelection *selection)
{
  QsTensorItem *item = selected_item (self);
  const QsTensorInfo *info;

  if (item == NULL || self->document == NULL)
    return;
  info = qs_tensor_item_get_info (item);
  adw_window_title_set_subtitle (self->window_title, info->path);
  self->shown_channel = 0;
  gtk_adjustment_set_value (self->channel_adjustment, 0);
  load_scheme_into_controls (self, info->path);
  request_analysis (self);
  _qs_window_sync_compare (self);
}

static gboolean
tensor_filter_func (gpointer item,
                    gpointer user_data)
{
  QsWindow *self = user_data;

  return qs_tensor_item_matches (QS_TENSOR_ITEM (item), gtk_editable_get_text (GTK_EDITABLE (self->search_entry)));
}

/* Natural order of the paths ("conv2d_2" before "conv2d_10"), or the
 * worst SQNR first: the tensors that need attention on top, those not yet
 * analysed last. */
static int
tensor_sort_func (gconstpointer a,
                  gconstpointer b,
                  gpointer      user_data)
{
  QsWindow *self = user_data;
  QsTensorItem *item_a = QS_TENSOR_ITEM ((gpointer) a);
  QsTensorItem *item_b = QS_TENSOR_ITEM ((gpointer) b);

  if (self->sort_by_sqnr)
    {
      double sa = qs_tensor_item_get_sqnr (item_a);
      double sb = qs_tensor_item_get_sqnr (item_b);

      if (isnan (sa) != isnan (sb))
        return isnan (sa) ? GTK_ORDERING_LARGER : GTK_ORDERING_SMALLER;
      if (sa < sb)
        return GTK_ORDERING_SMALLER;
      if (sa > sb)
        return GTK_ORDERING_LARGER;
    }
  return gtk_ordering_from_cmpfunc (qs_natural_compare (qs_tensor_item_get_info (item_a)->path,
                                                        qs_tensor_item_get_info (item_b)->path));
}

static gboolean
resort_idle_cb (gpointer user_data)
{
  QsWindow *self = user_data;

  self->resort_idle_id = 0;
  gtk_sorter_changed (GTK_SORTER (self->sorter), GTK_SORTER_CHANGE_DIFFERENT);
  return G_SOURCE_REMOVE;
}

/* Badges arrive one by one during a sweep: one re-sort for a burst. */
static void
item_sqnr_changed_cb (QsWindow     *self,
                      GParamSpec   *pspec,
                      QsTensorItem *item)
{
  if (self->sort_by_sqnr && self->resort_idle_id == 0)
    self->resort_idle_id = g_idle_add_full (G_PRIORITY_LOW, resort_idle_cb, self, NULL);
}

static void
search_changed_cb (QsWindow       *self,
                   GtkSearchEntry *entry)
{
  gtk_filter_changed (GTK_FILTER (self->filter), GTK_FILTER_CHANGE_DIFFERENT);
}

/* Centres the selected row once the list is laid out. GTK 4.8's list
 * views have no scroll_to(), and their "list.scroll-to-item" action left
 * the sidebar blank: the rows are of one height, so the adjustment's
 * estimate places the row. */
static gboolean
scroll_tick_cb (GtkWidget     *list,
                GdkFrameClock *clock,
                gpointer       user_data)
{
  QsWindow *self = user_data;
  GtkAdjustment *adjustment = gtk_scrollable_get_vadjustment (GTK_SCROLLABLE (list));
  guint n = self->selection != NULL ? g_list_model_get_n_items (G_LIST_MODEL (self->selection)) : 0;
  guint position = n > 0 ? gtk_single_selection_get_selected (self->selection) : GTK_INVALID_LIST_POSITION;
  double upper = gtk_adjustment_get_upper (adjustment);
  double page = gtk_adjustment_get_page_size (adjustment);

  if (n > 0 && page <= 0)
    return G_SOURCE_CONTINUE;
  self->scroll_tick_id = 0;
  if (position != GTK_INVALID_LIST_POSITION && upper > page)
    gtk_adjustment_set_value (adjustment, upper * (position + 0.5) / n - page / 2);
  return G_SOURCE_REMOVE;
}

/* The sidebar shows the tensor on view, wherever it is among hundreds. */
static void
scroll_to_selected (QsWindow *self)
{
  if (self->scroll_tick_id == 0)
    self->scroll_tick_id = gtk_widget_add_tick_callback (GTK_WIDGET (self->tensor_list), scroll_tick_cb, self, NULL);
}

gboolean
qs_window_select_path (QsWindow   *self,
                       const char *path)
{
  GListModel *model;
  guint n;

  g_return_val_if_fail (QS_IS_WINDOW (self), FALSE);

  if (self->selection == NULL)
    return FALSE;
  model = G_LIST_MODEL (self->selection);
  n = g_list_model_get_n_items (model);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(QsTensorItem) item = g_list_model_get_item (model, i);
      if (g_strcmp0 (qs_tensor_item_get_info (item)->path, path) == 0)
        {
          gtk_single_selection_set_selected (self->selection, i);
          scroll_to_selected (self);
          return TRUE;
        }
    }
  return FALSE;
}

/* The first kernel big enough for its histogram to have a shape: what a
 * user opening a model wants to see first. */
static guint
default_selection (GListModel *model)
{
  guint n = g_list_model_get_n_items (model);
  guint first_quantizable = GTK_INVALID_LIST_POSITION;

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(QsTensorItem) item = g_list_model_get_item (model, i);
      const QsTensorInfo *info = qs_tensor_item_get_info (item);
      if (!info->quantizable)
        continue;
      if (first_quantizable == GTK_INVALID_LIST_POSITION)
        first_quantizable = i;
      if (info->role == QS_TENSOR_ROLE_KERNEL && info->count >= 1024)
        return i;
    }
  return first_quantizable == GTK_INVALID_LIST_POSITION ? 0 : first_quantizable;
}

void
_qs_window_set_document (QsWindow   *self,
                         QsDocument *document)
{
  GtkFilterListModel *filtered;
  GtkSortListModel *sorted;
  GListModel *tensors;
  g_autofree char *basename = NULL;
  g_autoptr(QsSchemeSet) schemes = NULL;

  if (self->document != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->document, self);
      _qs_window_cancel_background (self);
    }
  g_set_object (&self->document, document);

  /* Settings are per file: what the user last chose for this file, else
   * the defaults; never what another file had. Not an undo step. */
  schemes = _qs_window_saved_schemes (self, document);
  qs_document_set_schemes (document, schemes);
  qs_document_clear_history (document);
  _qs_window_update_history_actions (self);
  g_signal_connect_object (document, "schemes-changed", G_CALLBACK (schemes_changed_cb), self,
                           G_CONNECT_SWAPPED);

  tensors = qs_document_get_tensors (document);
  for (guint i = 0; i < g_list_model_get_n_items (tensors); i++)
    {
      g_autoptr(QsTensorItem) item = g_list_model_get_item (tensors, i);
      g_signal_connect_object (item, "notify::sqnr", G_CALLBACK (item_sqnr_changed_cb), self, G_CONNECT_SWAPPED);
    }
  sorted = gtk_sort_list_model_new (g_object_ref (tensors), GTK_SORTER (g_object_ref (self->sorter)));
  filtered = gtk_filter_list_model_new (G_LIST_MODEL (sorted), GTK_FILTER (g_object_ref (self->filter)));
  g_clear_object (&self->selection);
  self->selection = gtk_single_selection_new (G_LIST_MODEL (filtered));
  gtk_single_selection_set_autoselect (self->selection, TRUE);
  gtk_list_view_set_model (self->tensor_list, GTK_SELECTION_MODEL (self->selection));
  g_signal_connect_object (self->selection, "notify::selected-item",
                           G_CALLBACK (selection_changed_cb), self, G_CONNECT_SWAPPED);

  basename = g_path_get_basename (qs_weight_file_get_filename (qs_document_get_file (document)));
  adw_window_title_set_title (self->window_title, basename);
  gtk_stack_set_visible_child_name (self->main_stack, "tensor");

  gtk_single_selection_set_selected (self->selection, default_selection (G_LIST_MODEL (self->selection)));
  selection_changed_cb (self, NULL, self->selection);
  scroll_to_selected (self);
  _qs_window_update_model_size (self);
  _qs_window_schedule_sweep (self);
  _qs_window_schedule_accuracy (self);
  _qs_window_follow_document (self);
}

QsDocument *
qs_window_get_document (QsWindow *self)
{
  g_return_val_if_fail (QS_IS_WINDOW (self), NULL);
  return self->document;
}

QsJobService *
qs_window_get_jobs (QsWindow *self)
{
  g_return_val_if_fail (QS_IS_WINDOW (self), NULL);
  return self->jobs;
}

char *
qs_window_dup_data_path (QsWindow *self)
{
  g_return_val_if_fail (QS_IS_WINDOW (self), NULL);
  return _qs_window_remembered_data (self);
}

gboolean
qs_window_check_output (QsWindow    *self,
                        const char  *path,
                        GError     **error)
{
  g_autofree char *data = NULL;
  const char *inputs[2] = { NULL, NULL };

  g_return_val_if_fail (QS_IS_WINDOW (self), FALSE);

  /* The file chooser asks before replacing a file, but not whether that
   * file is the model the window reads. */
  if (self->document != NULL)
    inputs[0] = qs_weight_file_get_filename (qs_document_get_file (self->document));
  data = _qs_window_remembered_data (self);
  inputs[1] = data;
  return qs_output_check_not_input (path, inputs, G_N_ELEMENTS (inputs), error);
}

void
qs_window_show_toast (QsWindow   *self,
                      const char *message)
{
  AdwToast *toast;

  g_return_if_fail (QS_IS_WINDOW (self));

  toast = adw_toast_new (message);
  adw_toast_set_timeout (toast, 6);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

/* ---- GObject -------------------------------------------------------------- */

/* Scheme and results side by side while both fit at their minimum width,
 * stacked below that (GtkFlowBox would do it, but Tab cannot leave its
 * first child for the second). */
#define PANEL_MIN_WIDTH 300
#define SIDEBAR_WIDTH 300

static void
update_panel_orientation (QsWindow *self)
{
  int width = gtk_widget_get_width (GTK_WIDGET (self));
  int height;
  gboolean wide;

  if (width <= 0)
    gtk_window_get_default_size (GTK_WINDOW (self), &width, &height);
  if (adw_flap_get_reveal_flap (self->flap) && !adw_flap_get_folded (self->flap))
    width -= SIDEBAR_WIDTH;
  /* Two panels, the space between them and the margins. */
  wide = width >= 2 * PANEL_MIN_WIDTH + 18 + 24;
  gtk_orientable_set_orientation (GTK_ORIENTABLE (self->panels_box),
                                  wide ? GTK_ORIENTATION_HORIZONTAL : GTK_ORIENTATION_VERTICAL);
}

static void
window_width_changed_cb (QsWindow   *self,
                         GParamSpec *pspec,
                         gpointer    user_data)
{
  update_panel_orientation (self);
}

static void
qs_window_dispose (GObject *object)
{
  QsWindow *self = QS_WINDOW (object);

  _qs_window_cancel_background (self);
  g_clear_pointer (&self->number_window, gtk_window_destroy);
  if (self->document != NULL)
    g_signal_handlers_disconnect_by_data (self->document, self);
  if (self->scroll_tick_id != 0)
    gtk_widget_remove_tick_callback (GTK_WIDGET (self->tensor_list), self->scroll_tick_id);
  self->scroll_tick_id = 0;
  gtk_widget_dispose_template (GTK_WIDGET (self), QS_TYPE_WINDOW);
  g_clear_object (&self->selection);
  g_clear_object (&self->filter);
  g_clear_object (&self->sorter);
  g_clear_handle_id (&self->resort_idle_id, g_source_remove);
  g_clear_object (&self->document);
  g_clear_object (&self->jobs);
  g_clear_object (&self->accuracy);
  g_clear_object (&self->settings);
  g_clear_pointer (&self->latencies, g_array_unref);
  g_clear_pointer (&self->last_error_details, g_free);
  G_OBJECT_CLASS (qs_window_parent_class)->dispose (object);
}

static void
qs_window_get_property (GObject    *object,
                        guint       prop_id,
                        GValue     *value,
                        GParamSpec *pspec)
{
  QsWindow *self = QS_WINDOW (object);

  switch (prop_id)
    {
    case PROP_LOG_SCALE:
    case PROP_SHOW_QUANTIZED:
      /* Property actions ask before the template is built and after it is gone. */
      if (self->histogram_view != NULL)
        g_object_get_property (G_OBJECT (self->histogram_view), pspec->name, value);
      else
        g_value_set_boolean (value, prop_id == PROP_SHOW_QUANTIZED);
      break;
    case PROP_SORT_BY_SQNR:
      g_value_set_boolean (value, self->sort_by_sqnr);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
qs_window_set_property (GObject      *object,
                        guint         prop_id,
                        const GValue *value,
                        GParamSpec   *pspec)
{
  QsWindow *self = QS_WINDOW (object);

  switch (prop_id)
    {
    case PROP_LOG_SCALE:
    case PROP_SHOW_QUANTIZED:
      if (self->histogram_view == NULL)
        break;
      g_object_set_property (G_OBJECT (self->histogram_view), pspec->name, value);
      if (self->settings != NULL)
        g_settings_set_boolean (self->settings, pspec->name, g_value_get_boolean (value));
      g_object_notify_by_pspec (object, pspec);
      break;
    case PROP_SORT_BY_SQNR:
      if (self->sort_by_sqnr == g_value_get_boolean (value))
        break;
      self->sort_by_sqnr = g_value_get_boolean (value);
      if (self->sorter != NULL)
        gtk_sorter_changed (GTK_SORTER (self->sorter), GTK_SORTER_CHANGE_DIFFERENT);
      g_object_notify_by_pspec (object, pspec);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
qs_window_class_init (QsWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = qs_window_dispose;
  object_class->get_property = qs_window_get_property;
  object_class->set_property = qs_window_set_property;

  properties[PROP_LOG_SCALE] = g_param_spec_boolean ("log-scale", NULL, NULL, FALSE,
                                                     G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SHOW_QUANTIZED] = g_param_spec_boolean ("show-quantized", NULL, NULL, TRUE,
                                                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SORT_BY_SQNR] = g_param_spec_boolean ("sort-by-sqnr", NULL, NULL, FALSE,
                                                        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (QS_TYPE_HISTOGRAM_VIEW);
  g_type_ensure (QS_TYPE_CHANNEL_RANGE_VIEW);
  g_type_ensure (QS_TYPE_SCHEME_PANEL);
  g_type_ensure (QS_TYPE_RESULTS_PANEL);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/quantscope/Quantscope/qs-window.ui");
  gtk_widget_class_bind_template_child (widget_class, QsWindow, window_title);
  gtk_widget_class_bind_template_child (widget_class, QsWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, QsWindow, flap);
  gtk_widget_class_bind_template_child (widget_class, QsWindow, search_entry);
  gtk_widget_class_bind_template_child (widget_class, QsWindow, tensor_list);
  gtk_widget_class_bind_template_child (widget_class, QsWindow, main_stack);
  gtk_widget_class_bind_template_child (widget_class, QsWindow, tensor_label);
  gtk_widget_class_bind_template_child (widget_class, QsWindow, channel_box);
  gtk_widget_class_bind_template_child (widget_class, QsWindow, channel_adjustment);
  gtk_widget_class_bind_template_child (widget_class, QsWindow, histogram_view);
  gtk_widget_class_bind_template_child (widget_class, QsWindow, channel_view);
  gtk_widget_class_bind_template_child (widget_class, QsWindow, scheme_panel);
  gtk_widget_class_bind_template_child (widget_class, QsWindow, results_panel);
  gtk_widget_class_bind_template_child (widget_class, QsWindow, panels_box);
  gtk_widget_class_bind_template_child (widget_class, QsWindow, recent_section);
  gtk_widget_class_bind_template_callback (widget_class, search_changed_cb);

  _qs_window_class_install_actions (widget_class);
}

static void
qs_window_init (QsWindow *self)
{
  g_autoptr(GtkListItemFactory) factory = NULL;

  gtk_widget_init_template (GTK_WIDGET (self));

  self->jobs = qs_job_service_new (0, 0);
  self->latencies = g_array_new (FALSE, FALSE, sizeof (gint64));
  self->filter = gtk_custom_filter_new (tensor_filter_func, self, NULL);
  self->sorter = gtk_custom_sorter_new (tensor_sort_func, self, NULL);

  factory = gtk_builder_list_item_factory_new_from_resource (NULL, "/io/github/quantscope/Quantscope/qs-tensor-row.ui");
  gtk_list_view_set_factory (self->tensor_list, factory);

  g_signal_connect (self, "notify::default-width", G_CALLBACK (window_width_changed_cb), NULL);
  g_signal_connect_object (self->flap, "notify::folded", G_CALLBACK (window_width_changed_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->flap, "notify::reveal-flap", G_CALLBACK (window_width_changed_cb), self,
                           G_CONNECT_SWAPPED);
  update_panel_orientation (self);
  _qs_window_clear_results (self, NULL);

  g_signal_connect_object (self->scheme_panel, "scheme-changed", G_CALLBACK (scheme_edited_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->scheme_panel, "notify::only-this-tensor", G_CALLBACK (only_this_tensor_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->channel_adjustment, "value-changed", G_CALLBACK (channel_changed_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->histogram_view, "range-committed", G_CALLBACK (histogram_range_committed_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->histogram_view, "range-changed", G_CALLBACK (histogram_range_changed_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->histogram_view, "bin-activated", G_CALLBACK (histogram_bin_activated_cb), self,
                           G_CONNECT_SWAPPED);
  g_object_bind_property (self->channel_view, "channel", self->channel_adjustment, "value",
                          G_BINDING_BIDIRECTIONAL);

  _qs_window_init_shortcuts (self);
  _qs_window_init_settings (self);
  _qs_window_init_file_drop (self);
  _qs_window_init_recent (self);
  _qs_window_init_accuracy (self);
}

QsWindow *
qs_window_new (GtkApplication *application)
{
  return g_object_new (QS_TYPE_WINDOW, "application", application, NULL);
}
