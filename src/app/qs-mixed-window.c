/* qs-mixed-window.c: mixed precision within an accuracy budget, its explored points as a size-versus-accuracy chart.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The window's job service runs the search `quantscope-cli mixed` runs
 * (qs-mixed-precision.h), keyed by the scheme set's JSON form, the
 * candidates and the budget; applying a point sets the scheme set that
 * search scored as the document's, one undoable step; saving writes it as
 * a scheme file, exporting goes through the main window's export.
 */
#include "config.h"

#include "app/qs-mixed-window.h"

#include <math.h>
#include <stdatomic.h>

#include <glib/gi18n.h>

#include "app/qs-chart.h"
#include "app/qs-score-work.h"
#include "model/qs-format-text.h"
#include "model/qs-scheme-file.h"
#include "model/qs-mixed-precision.h"

/* The ring around the chosen point, the widest mark. */
#define SELECTED_RING_RADIUS 9
#define HIT_RADIUS 8

/* A finished search, copied out of the worker's session (which holds the
 * images and the model) so the job service may cache it cheaply. */
typedef struct {
  GPtrArray *points;      /* of QsMixedPoint, owned, in the order scored */
  GPtrArray *pareto;      /* QsMixedPoint * borrowed from @points, smallest first */
  GPtrArray *sets;        /* QsSchemeSet per point */
  GStrv      names;       /* engine layer names, per searched layer */
  GStrv      tensors;     /* their weight tensors */
  GStrv      candidates;  /* the candidates as text */
  guint      evaluations;
  int        chosen;      /* index into the points, or -1 */
} Outcome;

static void
point_free (QsMixedPoint *point)
{
  g_free (point->choice);
  g_free (point);
}

static void
outcome_free (Outcome *outcome)
{
  g_clear_pointer (&outcome->pareto, g_ptr_array_unref);
  g_clear_pointer (&outcome->points, g_ptr_array_unref);
  g_clear_pointer (&outcome->sets, g_ptr_array_unref);
  g_strfreev (outcome->names);
  g_strfreev (outcome->tensors);
  g_strfreev (outcome->candidates);
  g_free (outcome);
}

static Outcome *
outcome_new (const QsMixedSearch *search,
             const QsMixedPoint  *best)
{
  Outcome *outcome = g_new0 (Outcome, 1);
  GPtrArray *points = qs_mixed_search_get_points (search);
  g_autoptr(GPtrArray) pareto = qs_mixed_search_pareto (search);
  guint n = qs_mixed_search_get_n_layers (search);
  g_autoptr(GStrvBuilder) names = g_strv_builder_new ();
  g_autoptr(GStrvBuilder) tensors = g_strv_builder_new ();
  g_autoptr(GStrvBuilder) candidates = g_strv_builder_new ();

  outcome->chosen = -1;
  outcome->points = g_ptr_array_new_with_free_func ((GDestroyNotify) point_free);
  outcome->sets = g_ptr_array_new_with_free_func ((GDestroyNotify) qs_scheme_set_unref);
  outcome->pareto = g_ptr_array_new ();
  for (guint i = 0; i < points->len; i++)
    {
      const QsMixedPoint *p = g_ptr_array_index (points, i);
      QsMixedPoint *copy = g_memdup2 (p, sizeof *p);

      copy->choice = g_memdup2 (p->choice, sizeof (guint) * MAX (n, 1));
      g_ptr_array_add (outcome->points, copy);
      g_ptr_array_add (outcome->sets, qs_mixed_search_make_set (search, p->choice));
      if (p == best)
        outcome->chosen = (int) i;
    }
  for (guint i = 0; i < pareto->len; i++)
    {
      guint index;

      if (g_ptr_array_find (points, g_ptr_array_index (pareto, i), &index))
        g_ptr_array_add (outcome->pareto, g_ptr_array_index (outcome->points, index));
    }
  for (guint i = 0; i < n; i++)
    {
      g_strv_builder_add (names, qs_mixed_search_get_layer_name (search, i));
      g_strv_builder_add (tensors, qs_mixed_search_get_layer_tensor (search, i));
    }
  for (guint c = 0; c < qs_mixed_search_get_n_candidates (search); c++)
    {
      g_autofree char *text = qs_precision_to_string (qs_mixed_search_get_candidate (search, c));
      g_strv_builder_add (candidates, text);
    }
  outcome->names = g_strv_builder_end (names);
  outcome->tensors = g_strv_builder_end (tensors);
  outcome->candidates = g_strv_builder_end (candidates);
  outcome->evaluations = qs_mixed_search_get_evaluations (search);
  return outcome;
}

struct _QsMixedWindow
{
  AdwWindow       parent_instance;

  GtkSpinButton  *budget;
  GtkEntry       *bits;
  GtkLabel       *status;
  GtkProgressBar *progress;
  GtkWidget      *stop;
  GtkDrawingArea *chart;
  GtkLabel       *details;

  QsWindow       *window;       /* weak */
  QsJobService   *jobs;         /* owned: the main window's */
  char           *target;       /* this window's search in the job service */
  guint           limit;
  QsScoreUpdate  *result;       /* the finished search; its payload an Outcome */
  Outcome        *outcome;      /* borrowed from @result */
  int             selected;     /* point index, or -1 */
  QsChartPalette  palette;
  gboolean        running;
  gboolean        cached;
};

G_DEFINE_FINAL_TYPE (QsMixedWindow, qs_mixed_window, ADW_TYPE_WINDOW)

static void
score_update_free (QsScoreUpdate *update)
{
  g_boxed_free (QS_TYPE_SCORE_UPDATE, update);
}

typedef struct {
  QsWeightFile *file;
  QsSchemeSet  *schemes;
  GArray       *candidates;
  double        budget;
  guint         limit;
  char         *data_path;     /* the data chosen for the model, or NULL */
} Work;

static void
work_free (Work *work)
{
  g_clear_object (&work->file);
  g_clear_pointer (&work->schemes, qs_scheme_set_unref);
  g_free (work->data_path);
  g_clear_pointer (&work->candidates, g_array_unref);
  g_free (work);
}

static gpointer
search_job (QsJobContext *context,
            gpointer      work_data,
            GCancellable *cancellable,
            GError      **error)
{
  Work *work = work_data;
  g_autoptr(QsMixedSearch) search = NULL;
  QsScoreWork score = { 0 };
  const QsMixedPoint *best = NULL;
  GError *local = NULL;
  Outcome *outcome = NULL;
  atomic_int cancel = 0;
  gulong handler;

  /* The engine polls a plain flag between batches; the cancellable raises it. */
  handler = g_cancellable_connect (cancellable, G_CALLBACK (qs_score_work_raise_flag_cb), &cancel, NULL);
  if (qs_score_work_open (&score, work->file, work->schemes, work->data_path, work->limit, &cancel, &local)
      && (search = qs_mixed_search_new (score.session, work->schemes, (const QsPrecision *) work->candidates->data,
                                        work->candidates->len, &local)) != NULL)
    best = qs_mixed_search_run (search, work->budget, qs_score_work_post_progress, context, &local);
  if (local == NULL)
    outcome = outcome_new (search, best);
  g_clear_pointer (&search, qs_mixed_search_free);
  qs_score_work_clear (&score);
  g_cancellable_disconnect (cancellable, handler);
  if (local != NULL)
    {
      g_propagate_error (error, local);
      return NULL;
    }
  qs_job_context_set_cost (context, (sizeof (QsMixedPoint) + 256) * outcome->points->len);
  return qs_score_update_new (1, 0, outcome, (GDestroyNotify) outcome_free);
}

/* The progress bar and Stop show while a search runs. */
static void
set_running (QsMixedWindow *self,
             gboolean       running)
{
  self->running = running;
  gtk_widget_set_visible (GTK_WIDGET (self->progress), running);
  gtk_widget_set_visible (self->stop, running);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "mixed.stop", running);
}

static void
show_outcome (QsMixedWindow *self)
{
  Outcome *outcome = self->outcome;

  self->selected = -1;
  if (outcome->chosen >= 0)
    {
      g_autofree char *scored = qs_format_count (outcome->evaluations);
      g_autofree char *text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                                            "%s assignment scored; the smallest within the budget "
                                                            "is selected. Click a point to see its choices.",
                                                            "%s assignments scored; the smallest within the budget "
                                                            "is selected. Click a point to see its choices.",
                                                            outcome->evaluations),
                                               scored);
      /* The chart has no legend of its own: what its marks mean. */
      g_autofree char *with_key = g_strconcat (text, "\n",
                                               _("Across: model size; up: top-1. Filled points are the best top-1 "
                                                 "for their size; hollow ones are other assignments scored, orange "
                                                 "when past the budget."), NULL);

      gtk_label_set_text (self->status, with_key);
      qs_mixed_window_select_point (self, (guint) outcome->chosen);
    }
  else
    {
      gtk_label_set_text (self->status, _("Even the largest candidates lose more than the budget."));
      gtk_label_set_text (self->details, "");
    }
  gtk_widget_queue_draw (GTK_WIDGET (self->chart));
}

static void
search_outcome_cb (const QsJobOutcome *outcome,
                   gpointer            user_data)
{
  QsMixedWindow *self = user_data;
  QsScoreUpdate *update = outcome->result;

  if (outcome->partial)
    {
      gtk_progress_bar_set_fraction (self->progress, update->fraction);
      return;
    }
  set_running (self, FALSE);
  self->cached = outcome->cached;
  if (update == NULL)
    {
      gtk_label_set_text (self->status, outcome->error->message);
      return;
    }
  g_clear_pointer (&self->result, score_update_free);
  self->result = g_boxed_copy (QS_TYPE_SCORE_UPDATE, update);
  self->outcome = update->payload;
  show_outcome (self);
}

/* ---- the chart ------------------------------------------------------------- */

typedef struct {
  double            size_lo, size_hi, top1_lo, top1_hi;
  cairo_rectangle_t frame;  /* its left and bottom edges are the axes */
  cairo_rectangle_t data;   /* where the extremes of size and top-1 map */
  QsPlotEndLabel    ends[QS_PLOT_N_ENDS];
  PangoLayout      *texts[QS_PLOT_N_ENDS];
} Axes;

static void
axes_clear (Axes *axes)
{
  for (int i = 0; i < QS_PLOT_N_ENDS; i++)
    g_clear_object (&axes->texts[i]);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Axes, axes_clear)

/* The value ranges, and the plot inset from the end labels' measured text
 * so neither label nor axis lands on a point at an extreme. */
static void
axes_init (const QsMixedWindow *self,
           double               width,
           double               height,
           Axes                *axes)
{
  GPtrArray *points = self->outcome->points;
  g_autofree char *texts[QS_PLOT_N_ENDS] = { NULL };

  axes->size_lo = axes->top1_lo = INFINITY;
  axes->size_hi = axes->top1_hi = -INFINITY;
  for (guint i = 0; i < points->len; i++)
    {
      const QsMixedPoint *p = g_ptr_array_index (points, i);

      axes->size_lo = MIN (axes->size_lo, (double) p->size_bytes);
      axes->size_hi = MAX (axes->size_hi, (double) p->size_bytes);
      axes->top1_lo = MIN (axes->top1_lo, p->quant_top1);
      axes->top1_hi = MAX (axes->top1_hi, p->quant_top1);
    }
  /* One point, or all of one size or accuracy, still gets a span. */
  axes->size_hi = MAX (axes->size_hi, axes->size_lo + 1);
  axes->top1_hi = MAX (axes->top1_hi, axes->top1_lo + 0.001);

  /* In the units the chosen point's details use. */
  texts[QS_PLOT_END_X_LO] = qs_format_size ((guint64) axes->size_lo);
  texts[QS_PLOT_END_X_HI] = qs_format_size ((guint64) axes->size_hi);
  texts[QS_PLOT_END_Y_LO] = qs_format_minus (g_strdup_printf ("%.2f %%", 100 * axes->top1_lo));
  texts[QS_PLOT_END_Y_HI] = qs_format_minus (g_strdup_printf ("%.2f %%", 100 * axes->top1_hi));
  for (int i = 0; i < QS_PLOT_N_ENDS; i++)
    {
      int w, h;

      axes->texts[i] = qs_chart_create_layout (GTK_WIDGET (self->chart), texts[i], TRUE);
      pango_layout_get_pixel_size (axes->texts[i], &w, &h);
      axes->ends[i].width = w;
      axes->ends[i].height = h;
    }
  qs_plot_end_labels_layout (width, height, SELECTED_RING_RADIUS + 1, axes->ends, &axes->frame, &axes->data);
}

static void
point_position (const Axes         *axes,
                const QsMixedPoint *p,
                double             *x,
                double             *y)
{
  *x = axes->data.x + axes->data.width * ((double) p->size_bytes - axes->size_lo) / (axes->size_hi - axes->size_lo);
  *y = axes->data.y + axes->data.height
       - axes->data.height * (p->quant_top1 - axes->top1_lo) / (axes->top1_hi - axes->top1_lo);
}

static void
draw_chart (GtkDrawingArea *area,
            cairo_t        *cr,
            int             width,
            int             height,
            gpointer        user_data)
{
  QsMixedWindow *self = user_data;
  GPtrArray *points;
  g_auto(Axes) axes = { 0 };

  if (self->outcome == NULL)
    return;
  qs_chart_palette_update (&self->palette, GTK_WIDGET (area));
  points = self->outcome->points;
  axes_init (self, width, height, &axes);

  qs_chart_set_source (cr, &self->palette.fg, 0.6);
  cairo_set_line_width (cr, 1);
  cairo_move_to (cr, axes.frame.x + 0.5, axes.frame.y);
  cairo_line_to (cr, axes.frame.x + 0.5, axes.frame.y + axes.frame.height - 0.5);
  cairo_line_to (cr, axes.frame.x + axes.frame.width, axes.frame.y + axes.frame.height - 0.5);
  cairo_stroke (cr);
  for (int i = 0; i < QS_PLOT_N_ENDS; i++)
    if (axes.ends[i].shown)
      qs_plot_show_layout (cr, axes.texts[i], axes.ends[i].left, axes.ends[i].top, 0, 0);

  /* The Pareto front as a line, then every point; the front's filled. */
  qs_chart_set_source (cr, &self->palette.accent, 0.8);
  for (guint i = 0; i < self->outcome->pareto->len; i++)
    {
      double x, y;

      point_position (&axes, g_ptr_array_index (self->outcome->pareto, i), &x, &y);
      if (i == 0)
        cairo_move_to (cr, x, y);
      else
        cairo_line_to (cr, x, y);
    }
  cairo_stroke (cr);
  for (guint i = 0; i < points->len; i++)
    {
      const QsMixedPoint *p = g_ptr_array_index (points, i);
      gboolean on_front = g_ptr_array_find (self->outcome->pareto, p, NULL);
      double x, y;

      point_position (&axes, p, &x, &y);
      cairo_new_sub_path (cr);
      cairo_arc (cr, x, y, (int) i == self->selected ? 6 : 4, 0, 2 * G_PI);
      if (on_front)
        {
          qs_chart_set_source (cr, &self->palette.accent, 1);
          cairo_fill (cr);
        }
      else
        {
          qs_chart_set_source (cr, p->within_budget ? &self->palette.fg : &self->palette.warning, 0.7);
          cairo_stroke (cr);
        }
      if ((int) i == self->selected)
        {
          qs_chart_set_source (cr, &self->palette.fg, 1);
          cairo_arc (cr, x, y, SELECTED_RING_RADIUS, 0, 2 * G_PI);
          cairo_stroke (cr);
        }
    }
}

static void
chart_pressed_cb (GtkGestureClick *gesture,
                  int              n_press,
                  double           x,
                  double           y,
                  QsMixedWindow   *self)
{
  GPtrArray *points;
  double best = HIT_RADIUS * HIT_RADIUS;
  int hit = -1;
  g_auto(Axes) axes = { 0 };

  if (self->outcome == NULL)
    return;
  points = self->outcome->points;
  axes_init (self, gtk_widget_get_width (GTK_WIDGET (self->chart)), gtk_widget_get_height (GTK_WIDGET (self->chart)),
             &axes);
  for (guint i = 0; i < points->len; i++)
    {
      double px, py;

      point_position (&axes, g_ptr_array_index (points, i), &px, &py);
      if ((px - x) * (px - x) + (py - y) * (py - y) <= best)
        {
          best = (px - x) * (px - x) + (py - y) * (py - y);
          hit = (int) i;
        }
    }
  if (hit >= 0)
    qs_mixed_window_select_point (self, (guint) hit);
}

/* ---- controls --------------------------------------------------------------- */

static void
search_clicked_cb (GtkButton     *button,
                   QsMixedWindow *self)
{
  qs_mixed_window_start (self, gtk_spin_button_get_value (self->budget), gtk_editable_get_text (GTK_EDITABLE (self->bits)));
}

static void
cancel_search (QsMixedWindow *self)
{
  if (self->jobs != NULL && self->target != NULL)
    qs_job_service_cancel (self->jobs, self->target);
  if (self->stop != NULL)
    set_running (self, FALSE);
}

/* "mixed.stop": a search only answers once it has confirmed its choice,
 * so stopping keeps the previous outcome, if any, on show. */
static void
stop_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  QsMixedWindow *self = QS_MIXED_WINDOW (widget);

  if (!self->running)
    return;
  /* The job service delivers nothing more for a cancelled request. */
  cancel_search (self);
  gtk_label_set_text (self->status, _("Stopped. Search again to choose precisions."));
}

/* The selected point's set, or NULL. */
static QsSchemeSet *
selected_set (QsMixedWindow *self)
{
  if (self->outcome == NULL || self->selected < 0)
    return NULL;
  return g_ptr_array_index (self->outcome->sets, (guint) self->selected);
}

static void
update_actions (QsMixedWindow *self)
{
  gboolean any = selected_set (self) != NULL && self->window != NULL;

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "mixed.apply", any);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "mixed.save", any);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "mixed.export", any);
}

static void
apply_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  qs_mixed_window_apply (QS_MIXED_WINDOW (widget));
}

static void
save_response_cb (GtkNativeDialog *dialog,
                  int              response,
                  QsMixedWindow   *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = file != NULL ? g_file_get_path (file) : NULL;
      g_autoptr(GError) error = NULL;

      if (path != NULL && !qs_mixed_window_save (self, path, &error))
        {
          g_autofree char *message = g_strdup_printf (_("Could not save the scheme: %s"), error->message);
          gtk_label_set_text (self->status, message);
        }
      else if (path != NULL)
        gtk_label_set_text (self->status, _("Scheme saved"));
    }
  gtk_native_dialog_destroy (dialog);
  g_object_unref (dialog);
  g_object_unref (self);
}

static void
save_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  QsMixedWindow *self = QS_MIXED_WINDOW (widget);
  GtkFileChooserNative *dialog;
  g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();

  if (selected_set (self) == NULL)
    return;
  dialog = gtk_file_chooser_native_new (_("Save Scheme"), GTK_WINDOW (self),
                                        GTK_FILE_CHOOSER_ACTION_SAVE, _("_Save"), _("_Cancel"));
  gtk_file_filter_set_name (filter, _("Scheme files (JSON)"));
  gtk_file_filter_add_pattern (filter, "*.json");
  gtk_file_filter_add_mime_type (filter, "application/json");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (dialog), filter);
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (dialog), "mixed-scheme.json");
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (dialog), TRUE);
  g_signal_connect (dialog, "response", G_CALLBACK (save_response_cb), g_object_ref (self));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

static void
export_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  QsMixedWindow *self = QS_MIXED_WINDOW (widget);

  if (selected_set (self) != NULL && self->window != NULL)
    qs_window_export_schemes (self->window, selected_set (self));
}

static gboolean
close_request_cb (GtkWindow *window)
{
  cancel_search (QS_MIXED_WINDOW (window));
  return FALSE;
}

static void
schemes_changed_cb (QsMixedWindow *self,
                    QsDocument    *document)
{
  /* A search from the old set no longer answers for the document. */
  if (self->running)
    {
      cancel_search (self);
      gtk_label_set_text (self->status, _("The scheme set changed; search again."));
    }
  /* The differences shown are from the current set. */
  if (self->selected >= 0)
    qs_mixed_window_select_point (self, (guint) self->selected);
}

static void
qs_mixed_window_dispose (GObject *object)
{
  QsMixedWindow *self = QS_MIXED_WINDOW (object);

  cancel_search (self);
  g_clear_object (&self->jobs);
  g_clear_pointer (&self->target, g_free);
  g_clear_weak_pointer (&self->window);
  self->outcome = NULL;
  g_clear_pointer (&self->result, score_update_free);
  G_OBJECT_CLASS (qs_mixed_window_parent_class)->dispose (object);
}

static void
qs_mixed_window_class_init (QsMixedWindowClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = qs_mixed_window_dispose;
  GTK_WINDOW_CLASS (klass)->close_request = close_request_cb;
  gtk_widget_class_install_action (widget_class, "mixed.apply", NULL, apply_action);
  gtk_widget_class_install_action (widget_class, "mixed.save", NULL, save_action);
  gtk_widget_class_install_action (widget_class, "mixed.export", NULL, export_action);
  gtk_widget_class_install_action (widget_class, "mixed.stop", NULL, stop_action);
}

static GtkWidget *
margined (GtkWidget *widget)
{
  gtk_widget_set_margin_start (widget, 12);
  gtk_widget_set_margin_end (widget, 12);
  return widget;
}

static GtkWidget *
action_button (const char *mnemonic,
               const char *action)
{
  GtkWidget *button = gtk_button_new_with_mnemonic (mnemonic);

  gtk_actionable_set_action_name (GTK_ACTIONABLE (button), action);
  return button;
}

static void
qs_mixed_window_init (QsMixedWindow *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  GtkWidget *controls = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *buttons = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *search = gtk_button_new_with_mnemonic (_("_Search"));
  GtkWidget *header = adw_header_bar_new ();
  GtkWidget *details_scroller = gtk_scrolled_window_new ();
  GtkGesture *click = gtk_gesture_click_new ();
  GtkWidget *budget_label, *candidates_label;

  self->selected = -1;
  gtk_window_set_title (GTK_WINDOW (self), _("Mixed Precision"));
  gtk_window_set_default_size (GTK_WINDOW (self), 720, 640);
  qs_window_add_close_shortcuts (GTK_WINDOW (self));
  self->budget = GTK_SPIN_BUTTON (gtk_spin_button_new_with_range (0, 100, 0.1));
  gtk_spin_button_set_value (self->budget, 1);
  self->bits = GTK_ENTRY (gtk_entry_new ());
  gtk_editable_set_text (GTK_EDITABLE (self->bits), "2,4,6,8");
  /* Mnemonics, as every other control of the app has (Alt+B, Alt+C). */
  budget_label = gtk_label_new_with_mnemonic (_("_Budget (points below float32)"));
  gtk_label_set_mnemonic_widget (GTK_LABEL (budget_label), GTK_WIDGET (self->budget));
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->budget),
                               _("How many top-1 points the mixed model may lose against float32"));
  candidates_label = gtk_label_new_with_mnemonic (_("_Candidates"));
  gtk_label_set_mnemonic_widget (GTK_LABEL (candidates_label), GTK_WIDGET (self->bits));
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->bits),
                               _("The precisions each layer may take, separated by commas: bit widths 2 to 16 "
                                 "and the float formats fp16, bf16, fp8-e4m3 and fp8-e5m2 (block formats such as "
                                 "mxfp4 are not candidates)"));
  gtk_box_append (GTK_BOX (controls), budget_label);
  gtk_box_append (GTK_BOX (controls), GTK_WIDGET (self->budget));
  gtk_box_append (GTK_BOX (controls), candidates_label);
  gtk_box_append (GTK_BOX (controls), GTK_WIDGET (self->bits));
  gtk_box_append (GTK_BOX (controls), search);
  g_signal_connect (search, "clicked", G_CALLBACK (search_clicked_cb), self);

  self->status = GTK_LABEL (gtk_label_new (_("Choose a budget and candidate precisions, then search.")));
  gtk_label_set_wrap (self->status, TRUE);
  gtk_label_set_xalign (self->status, 0);
  self->progress = GTK_PROGRESS_BAR (gtk_progress_bar_new ());
  self->stop = gtk_button_new_with_mnemonic (_("S_top"));
  gtk_widget_set_tooltip_text (self->stop, _("Stop the search"));
  gtk_actionable_set_action_name (GTK_ACTIONABLE (self->stop), "mixed.stop");
  adw_header_bar_pack_start (ADW_HEADER_BAR (header), self->stop);
  set_running (self, FALSE);
  self->chart = GTK_DRAWING_AREA (gtk_drawing_area_new ());
  gtk_widget_set_vexpand (GTK_WIDGET (self->chart), TRUE);
  gtk_drawing_area_set_draw_func (self->chart, draw_chart, self, NULL);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->chart), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Model size against top-1 of every assignment scored, the Pareto front filled"), -1);
  g_signal_connect (click, "pressed", G_CALLBACK (chart_pressed_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self->chart), GTK_EVENT_CONTROLLER (click));
  self->details = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_xalign (self->details, 0);
  gtk_label_set_yalign (self->details, 0);
  gtk_label_set_wrap (self->details, TRUE);
  gtk_label_set_selectable (self->details, TRUE);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (details_scroller), GTK_WIDGET (self->details));
  gtk_scrolled_window_set_min_content_height (GTK_SCROLLED_WINDOW (details_scroller), 140);
  gtk_widget_set_halign (buttons, GTK_ALIGN_END);
  gtk_box_append (GTK_BOX (buttons), action_button (_("Save as Scheme _File…"), "mixed.save"));
  gtk_box_append (GTK_BOX (buttons), action_button (_("_Export…"), "mixed.export"));
  gtk_box_append (GTK_BOX (buttons), action_button (_("_Apply as Current Schemes"), "mixed.apply"));

  gtk_box_append (GTK_BOX (box), header);
  gtk_box_append (GTK_BOX (box), margined (controls));
  gtk_box_append (GTK_BOX (box), margined (GTK_WIDGET (self->status)));
  gtk_box_append (GTK_BOX (box), margined (GTK_WIDGET (self->progress)));
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->chart));
  gtk_box_append (GTK_BOX (box), margined (details_scroller));
  gtk_box_append (GTK_BOX (box), margined (buttons));
  gtk_widget_set_margin_bottom (buttons, 12);
  adw_window_set_content (ADW_WINDOW (self), box);
  qs_chart_palette_init (&self->palette, GTK_WIDGET (self->chart));
  update_actions (self);
}

QsMixedWindow *
qs_mixed_window_new (QsWindow *window,
                     guint     limit)
{
  QsMixedWindow *self;
  QsDocument *document;

  g_return_val_if_fail (QS_IS_WINDOW (window), NULL);

  self = g_object_new (QS_TYPE_MIXED_WINDOW, "transient-for", window, NULL);
  g_set_weak_pointer (&self->window, window);
  self->jobs = g_object_ref (qs_window_get_jobs (window));
  self->target = g_strdup_printf ("mixed:%p", (void *) self);
  self->limit = limit;
  document = qs_window_get_document (window);
  if (document != NULL)
    g_signal_connect_object (document, "schemes-changed", G_CALLBACK (schemes_changed_cb), self, G_CONNECT_SWAPPED);
  return self;
}

gboolean
qs_mixed_window_start (QsMixedWindow *self,
                       double         budget_points,
                       const char    *bits)
{
  QsDocument *document;
  g_autoptr(GError) error = NULL;
  g_autofree char *key_text = NULL;
  GArray *candidates;
  Work *work;
  QsJobSpec spec = {
    .priority = QS_JOB_PRIORITY_SEARCH,
    .result_type = QS_TYPE_SCORE_UPDATE,
    .work = search_job,
    .cacheable = TRUE,
  };

  g_return_val_if_fail (QS_IS_MIXED_WINDOW (self), FALSE);

  document = self->window != NULL ? qs_window_get_document (self->window) : NULL;
  if (document == NULL || qs_document_get_file (document) == NULL)
    {
      gtk_label_set_text (self->status, _("Open a model first."));
      return FALSE;
    }
  if ((candidates = qs_precision_list_parse (bits, &error)) == NULL)
    {
      gtk_label_set_text (self->status, error->message);
      return FALSE;
    }
  work = g_new0 (Work, 1);
  work->file = g_object_ref (qs_document_get_file (document));
  work->schemes = qs_scheme_set_ref (qs_document_get_schemes (document));
  work->candidates = candidates;
  work->budget = budget_points;
  work->limit = self->limit;
  work->data_path = self->window != NULL ? qs_window_dup_data_path (self->window) : NULL;
  set_running (self, TRUE);
  self->cached = FALSE;
  /* The controls show what is searched, when a caller other than them starts it. */
  gtk_spin_button_set_value (self->budget, budget_points);
  /* Search passes the entry's own text: setting it would free it first
   * and empty the entry. */
  if (g_strcmp0 (gtk_editable_get_text (GTK_EDITABLE (self->bits)), bits) != 0)
    gtk_editable_set_text (GTK_EDITABLE (self->bits), bits);
  gtk_label_set_text (self->status, _("Pricing each layer, then confirming each step…"));
  gtk_progress_bar_set_fraction (self->progress, 0);

  /* The candidates as parsed, so "4,8" and "4, 8" share a result; the
   * budget to the bit, as the search compares it. */
  for (guint c = 0; c < candidates->len; c++)
    {
      g_autofree char *text = qs_precision_to_string (&g_array_index (candidates, QsPrecision, c));
      g_autofree char *joined = g_strconcat (key_text != NULL ? key_text : "", text, ",", NULL);

      g_free (key_text);
      key_text = g_steal_pointer (&joined);
    }
  spec.target = self->target;
  spec.key = qs_score_work_key ("mixed", work->file, work->schemes, work->data_path, self->limit);
  spec.key = qs_job_key_add_string (spec.key, key_text);
  {
    union { double d; guint64 u; } budget = { .d = budget_points };
    spec.key = qs_job_key_add_uint64 (spec.key, budget.u);
  }
  /* The newest search wins: one in flight stops within a batch. */
  qs_job_service_request (self->jobs, &spec, work, (GDestroyNotify) work_free, search_outcome_cb, self);
  return TRUE;
}

const char *
qs_mixed_window_get_status (QsMixedWindow *self)
{
  g_return_val_if_fail (QS_IS_MIXED_WINDOW (self), NULL);
  return gtk_label_get_text (self->status);
}

gboolean
qs_mixed_window_is_finished (QsMixedWindow *self)
{
  g_return_val_if_fail (QS_IS_MIXED_WINDOW (self), FALSE);
  return !self->running;
}

gboolean
qs_mixed_window_is_cached (QsMixedWindow *self)
{
  g_return_val_if_fail (QS_IS_MIXED_WINDOW (self), FALSE);
  return self->cached;
}

guint
qs_mixed_window_get_n_points (QsMixedWindow *self)
{
  g_return_val_if_fail (QS_IS_MIXED_WINDOW (self), 0);
  return self->outcome != NULL ? self->outcome->points->len : 0;
}

int
qs_mixed_window_get_chosen (QsMixedWindow *self)
{
  g_return_val_if_fail (QS_IS_MIXED_WINDOW (self), -1);
  return self->outcome != NULL ? self->outcome->chosen : -1;
}

/* How the document's current set stores @tensor: "4", "fp16", or "float32" when kept. */
static char *
current_precision (QsMixedWindow *self,
                   const char    *tensor)
{
  QsDocument *document = self->window != NULL ? qs_window_get_document (self->window) : NULL;
  const QsTensorInfo *info;
  QsPrecision precision;
  QsScheme scheme;

  if (document == NULL || (info = qs_weight_file_lookup (qs_document_get_file (document), tensor)) == NULL)
    return NULL;
  if (!qs_scheme_set_resolve_tensor (qs_document_get_schemes (document), info, &scheme))
    return g_strdup ("float32");
  precision.format = scheme.format;
  precision.bits = scheme.bits;
  return qs_precision_to_string (&precision);
}

char *
qs_mixed_window_describe_point (QsMixedWindow *self,
                                guint          index)
{
  const QsMixedPoint *p;
  GString *text = g_string_new (NULL);
  guint changed = 0;

  g_return_val_if_fail (QS_IS_MIXED_WINDOW (self), NULL);
  g_return_val_if_fail (index < qs_mixed_window_get_n_points (self), NULL);

  p = g_ptr_array_index (self->outcome->points, index);
  for (guint i = 0; self->outcome->names[i] != NULL; i++)
    {
      const char *choice = self->outcome->candidates[p->choice[i]];
      g_autofree char *now = current_precision (self, self->outcome->tensors[i]);

      if (now != NULL && !g_str_equal (now, choice))
        {
          /* TRANSLATORS: a layer, the precision this point gives it, and the current set's */
          g_string_append_printf (text, _("%s: %s (now %s)\n"), self->outcome->names[i], choice, now);
          changed++;
        }
      else
        g_string_append_printf (text, _("%s: %s\n"), self->outcome->names[i], choice);
    }
  {
    /* The size in the chart's units. */
    g_autofree char *size = qs_format_size (p->size_bytes);
    g_autofree char *head = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                                          "%.2f %% top-1, %s; %u layer differs from the current schemes\n",
                                                          "%.2f %% top-1, %s; %u layers differ from the current schemes\n",
                                                          changed),
                                             100 * p->quant_top1, size, changed);
    g_string_prepend (text, head);
  }
  if (text->len > 0 && text->str[text->len - 1] == '\n')
    g_string_truncate (text, text->len - 1);
  return g_string_free (text, FALSE);
}

void
qs_mixed_window_select_point (QsMixedWindow *self,
                              guint          index)
{
  g_autofree char *text = NULL;

  g_return_if_fail (QS_IS_MIXED_WINDOW (self));
  g_return_if_fail (index < qs_mixed_window_get_n_points (self));

  self->selected = (int) index;
  text = qs_mixed_window_describe_point (self, index);
  gtk_label_set_text (self->details, text);
  update_actions (self);
  gtk_widget_queue_draw (GTK_WIDGET (self->chart));
}

void
qs_mixed_window_apply (QsMixedWindow *self)
{
  g_return_if_fail (QS_IS_MIXED_WINDOW (self));
  if (selected_set (self) == NULL || self->window == NULL || qs_window_get_document (self->window) == NULL)
    return;
  qs_document_set_schemes (qs_window_get_document (self->window), selected_set (self));
}

gboolean
qs_mixed_window_save (QsMixedWindow *self,
                      const char    *path,
                      GError       **error)
{
  g_return_val_if_fail (QS_IS_MIXED_WINDOW (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (selected_set (self) != NULL, FALSE);

  if (self->window != NULL && !qs_window_check_output (self->window, path, error))
    return FALSE;
  /* Atomically, as the main window saves its scheme. */
  return qs_scheme_set_save (selected_set (self), path, error);
}
