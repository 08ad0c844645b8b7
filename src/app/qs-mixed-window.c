/* qs-mixed-window.c: mixed precision within an accuracy budget, its explored points as a size-versus-accuracy chart.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The worker runs the search `quantscope-cli mixed` runs (qs-mixed-precision.h);
 * applying a point sets the scheme set that search scored as the document's,
 * one undoable step.
 */
#include "config.h"

#include "app/qs-mixed-window.h"

#include <math.h>
#include <stdatomic.h>

#include <glib/gi18n.h>

#include "app/qs-chart.h"
#include "app/qs-score-work.h"
#include "model/qs-main-context.h"
#include "model/qs-mixed-precision.h"

#define MARGIN 40
#define HIT_RADIUS 8

/* A finished search, kept whole: points refer to its layers and candidates. */
typedef struct {
  QsScoreWork    score;
  QsMixedSearch *search;
  GPtrArray     *pareto;
  int            chosen;   /* index into the points, or -1 */
} Outcome;

static void
outcome_free (Outcome *outcome)
{
  g_clear_pointer (&outcome->pareto, g_ptr_array_unref);
  g_clear_pointer (&outcome->search, qs_mixed_search_free);
  qs_score_work_clear (&outcome->score);
  g_free (outcome);
}

struct _QsMixedWindow
{
  AdwWindow       parent_instance;

  GtkSpinButton  *budget;
  GtkEntry       *bits;
  GtkLabel       *status;
  GtkProgressBar *progress;
  GtkDrawingArea *chart;
  GtkLabel       *details;
  GtkWidget      *apply;

  QsWindow       *window;       /* weak */
  guint           limit;
  Outcome        *outcome;
  int             selected;     /* point index, or -1 */
  QsChartPalette  palette;
  GTask          *current;      /* the newest search, while it runs */
  guint           generation;   /* of the newest search */
  gboolean        running;
  gboolean        disposed;
};

G_DEFINE_FINAL_TYPE (QsMixedWindow, qs_mixed_window, ADW_TYPE_WINDOW)

typedef struct {
  QsMixedWindow *self;
  QsWeightFile  *file;
  QsSchemeSet   *schemes;
  GArray        *candidates;
  double         budget;
  guint          generation;
  atomic_int     cancel;        /* this search's own flag: a newer one never clears it */
} Work;

typedef struct {
  QsMixedWindow *self;
  guint          generation;
  double         fraction;
} Progress;

static void
work_free (Work *work)
{
  g_clear_object (&work->file);
  g_clear_pointer (&work->schemes, qs_scheme_set_unref);
  g_clear_pointer (&work->candidates, g_array_unref);
  g_clear_object (&work->self);
  g_free (work);
}

static void
progress_free (Progress *progress)
{
  g_object_unref (progress->self);
  g_free (progress);
}

static gboolean
deliver_progress_cb (gpointer data)
{
  Progress *progress = data;

  if (!progress->self->disposed && progress->generation == progress->self->generation)
    gtk_progress_bar_set_fraction (progress->self->progress, progress->fraction);
  return G_SOURCE_REMOVE;
}

static void
progress_cb (guint    done,
             guint    total,
             gpointer user_data)
{
  Work *work = user_data;
  Progress *progress = g_new0 (Progress, 1);

  progress->self = g_object_ref (work->self);
  progress->generation = work->generation;
  progress->fraction = total > 0 ? done / (double) total : 0;
  qs_main_context_post (NULL, G_PRIORITY_DEFAULT, deliver_progress_cb, progress, (GDestroyNotify) progress_free);
}

static void
search_thread (GTask        *task,
               gpointer      source,
               gpointer      task_data,
               GCancellable *cancellable)
{
  Work *work = task_data;
  Outcome *outcome = g_new0 (Outcome, 1);
  g_autoptr(GError) error = NULL;
  const QsMixedPoint *best = NULL;

  outcome->chosen = -1;
  if (qs_score_work_open (&outcome->score, work->file, work->schemes, work->self->limit, &work->cancel, &error)
      && (outcome->search = qs_mixed_search_new (outcome->score.session, work->schemes,
                                                 (const QsPrecision *) work->candidates->data,
                                                 work->candidates->len, &error)) != NULL)
    best = qs_mixed_search_run (outcome->search, work->budget, progress_cb, work, &error);
  if (error != NULL)
    {
      outcome_free (outcome);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (best != NULL)
    {
      GPtrArray *points = qs_mixed_search_get_points (outcome->search);
      guint index;

      if (g_ptr_array_find (points, best, &index))
        outcome->chosen = (int) index;
    }
  outcome->pareto = qs_mixed_search_pareto (outcome->search);
  g_task_return_pointer (task, outcome, (GDestroyNotify) outcome_free);
}

static void
search_done_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  QsMixedWindow *self = QS_MIXED_WINDOW (source);
  Work *work = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  Outcome *outcome = g_task_propagate_pointer (G_TASK (result), &error);

  if (self->current == G_TASK (result))
    g_clear_object (&self->current);
  if (self->disposed || work->generation != self->generation)
    {
      g_clear_pointer (&outcome, outcome_free);
      return;
    }
  self->running = FALSE;
  gtk_widget_set_visible (GTK_WIDGET (self->progress), FALSE);
  if (outcome == NULL)
    {
      gtk_label_set_text (self->status, error->message);
      return;
    }
  g_clear_pointer (&self->outcome, outcome_free);
  self->outcome = outcome;
  if (outcome->chosen >= 0)
    {
      g_autofree char *text = g_strdup_printf (_("%u assignments scored; the smallest within the budget is selected. "
                                                 "Click a point to see its choices."),
                                               qs_mixed_search_get_evaluations (outcome->search));
      gtk_label_set_text (self->status, text);
      qs_mixed_window_select_point (self, (guint) outcome->chosen);
    }
  else
    gtk_label_set_text (self->status, _("Even the largest candidates lose more than the budget."));
  gtk_widget_queue_draw (GTK_WIDGET (self->chart));
}

/* ---- the chart ------------------------------------------------------------- */

typedef struct {
  double size_lo, size_hi, top1_lo, top1_hi;
  double width, height;
} Axes;

static void
axes_init (const QsMixedWindow *self,
           double               width,
           double               height,
           Axes                *axes)
{
  GPtrArray *points = qs_mixed_search_get_points (self->outcome->search);

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
  axes->width = width;
  axes->height = height;
}

static void
point_position (const Axes         *axes,
                const QsMixedPoint *p,
                double             *x,
                double             *y)
{
  *x = MARGIN + (axes->width - 2 * MARGIN) * ((double) p->size_bytes - axes->size_lo) / (axes->size_hi - axes->size_lo);
  *y = axes->height - MARGIN
       - (axes->height - 2 * MARGIN) * (p->quant_top1 - axes->top1_lo) / (axes->top1_hi - axes->top1_lo);
}

static void
draw_text (cairo_t    *cr,
           GtkWidget  *widget,
           const char *text,
           double      x,
           double      y)
{
  g_autoptr(PangoLayout) layout = qs_chart_create_layout (widget, text, TRUE);

  cairo_move_to (cr, x, y);
  pango_cairo_show_layout (cr, layout);
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
  Axes axes;
  g_autofree char *size_lo = NULL, *size_hi = NULL, *top1_lo = NULL, *top1_hi = NULL;

  if (self->outcome == NULL)
    return;
  qs_chart_palette_update (&self->palette, GTK_WIDGET (area));
  points = qs_mixed_search_get_points (self->outcome->search);
  axes_init (self, width, height, &axes);

  qs_chart_set_source (cr, &self->palette.fg, 0.6);
  cairo_set_line_width (cr, 1);
  cairo_move_to (cr, MARGIN, MARGIN / 2);
  cairo_line_to (cr, MARGIN, height - MARGIN);
  cairo_line_to (cr, width - MARGIN / 2, height - MARGIN);
  cairo_stroke (cr);
  size_lo = g_strdup_printf (_("%.0f bytes"), axes.size_lo);
  size_hi = g_strdup_printf (_("%.0f bytes"), axes.size_hi);
  top1_lo = g_strdup_printf ("%.2f %%", 100 * axes.top1_lo);
  top1_hi = g_strdup_printf ("%.2f %%", 100 * axes.top1_hi);
  draw_text (cr, GTK_WIDGET (area), size_lo, MARGIN, height - MARGIN + 4);
  draw_text (cr, GTK_WIDGET (area), size_hi, width - MARGIN - 60, height - MARGIN + 4);
  draw_text (cr, GTK_WIDGET (area), top1_hi, 2, MARGIN - 18);
  draw_text (cr, GTK_WIDGET (area), top1_lo, 2, height - MARGIN - 18);

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
          cairo_arc (cr, x, y, 9, 0, 2 * G_PI);
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
  Axes axes;

  if (self->outcome == NULL)
    return;
  points = qs_mixed_search_get_points (self->outcome->search);
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
apply_clicked_cb (GtkButton     *button,
                  QsMixedWindow *self)
{
  qs_mixed_window_apply (self);
}

static void
cancel_current (QsMixedWindow *self)
{
  if (self->current != NULL)
    atomic_store (&((Work *) g_task_get_task_data (self->current))->cancel, 1);
}

static gboolean
close_request_cb (GtkWindow *window)
{
  cancel_current (QS_MIXED_WINDOW (window));
  return FALSE;
}

static void
qs_mixed_window_dispose (GObject *object)
{
  QsMixedWindow *self = QS_MIXED_WINDOW (object);

  cancel_current (self);
  g_clear_object (&self->current);
  self->disposed = TRUE;
  g_clear_weak_pointer (&self->window);
  g_clear_pointer (&self->outcome, outcome_free);
  G_OBJECT_CLASS (qs_mixed_window_parent_class)->dispose (object);
}

static void
qs_mixed_window_class_init (QsMixedWindowClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = qs_mixed_window_dispose;
  GTK_WINDOW_CLASS (klass)->close_request = close_request_cb;
}

static GtkWidget *
margined (GtkWidget *widget)
{
  gtk_widget_set_margin_start (widget, 12);
  gtk_widget_set_margin_end (widget, 12);
  return widget;
}

static void
qs_mixed_window_init (QsMixedWindow *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  GtkWidget *controls = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *search = gtk_button_new_with_mnemonic (_("_Search"));
  GtkGesture *click = gtk_gesture_click_new ();

  self->selected = -1;
  gtk_window_set_title (GTK_WINDOW (self), _("Mixed Precision"));
  gtk_window_set_default_size (GTK_WINDOW (self), 720, 560);
  self->budget = GTK_SPIN_BUTTON (gtk_spin_button_new_with_range (0, 100, 0.1));
  gtk_spin_button_set_value (self->budget, 1);
  self->bits = GTK_ENTRY (gtk_entry_new ());
  gtk_editable_set_text (GTK_EDITABLE (self->bits), "2,4,6,8");
  gtk_box_append (GTK_BOX (controls), gtk_label_new (_("Budget (points below float32)")));
  gtk_box_append (GTK_BOX (controls), GTK_WIDGET (self->budget));
  gtk_box_append (GTK_BOX (controls), gtk_label_new (_("Candidates")));
  gtk_box_append (GTK_BOX (controls), GTK_WIDGET (self->bits));
  gtk_box_append (GTK_BOX (controls), search);
  g_signal_connect (search, "clicked", G_CALLBACK (search_clicked_cb), self);

  self->status = GTK_LABEL (gtk_label_new (_("Choose a budget and candidate precisions, then search.")));
  gtk_label_set_wrap (self->status, TRUE);
  gtk_label_set_xalign (self->status, 0);
  self->progress = GTK_PROGRESS_BAR (gtk_progress_bar_new ());
  gtk_widget_set_visible (GTK_WIDGET (self->progress), FALSE);
  self->chart = GTK_DRAWING_AREA (gtk_drawing_area_new ());
  gtk_widget_set_vexpand (GTK_WIDGET (self->chart), TRUE);
  gtk_drawing_area_set_draw_func (self->chart, draw_chart, self, NULL);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->chart), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Model size against top-1 of every assignment scored, the Pareto front filled"), -1);
  g_signal_connect (click, "pressed", G_CALLBACK (chart_pressed_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self->chart), GTK_EVENT_CONTROLLER (click));
  self->details = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_xalign (self->details, 0);
  gtk_label_set_wrap (self->details, TRUE);
  gtk_label_set_selectable (self->details, TRUE);
  self->apply = gtk_button_new_with_mnemonic (_("_Apply as Current Schemes"));
  gtk_widget_set_sensitive (self->apply, FALSE);
  gtk_widget_set_halign (self->apply, GTK_ALIGN_END);
  g_signal_connect (self->apply, "clicked", G_CALLBACK (apply_clicked_cb), self);

  gtk_box_append (GTK_BOX (box), adw_header_bar_new ());
  gtk_box_append (GTK_BOX (box), margined (controls));
  gtk_box_append (GTK_BOX (box), margined (GTK_WIDGET (self->status)));
  gtk_box_append (GTK_BOX (box), margined (GTK_WIDGET (self->progress)));
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->chart));
  gtk_box_append (GTK_BOX (box), margined (GTK_WIDGET (self->details)));
  gtk_box_append (GTK_BOX (box), margined (self->apply));
  gtk_widget_set_margin_bottom (self->apply, 12);
  adw_window_set_content (ADW_WINDOW (self), box);
  qs_chart_palette_init (&self->palette, GTK_WIDGET (self->chart));
}

QsMixedWindow *
qs_mixed_window_new (QsWindow *window,
                     guint     limit)
{
  QsMixedWindow *self;

  g_return_val_if_fail (QS_IS_WINDOW (window), NULL);

  self = g_object_new (QS_TYPE_MIXED_WINDOW, "transient-for", window, NULL);
  g_set_weak_pointer (&self->window, window);
  self->limit = limit;
  return self;
}

gboolean
qs_mixed_window_start (QsMixedWindow *self,
                       double         budget_points,
                       const char    *bits)
{
  QsDocument *document;
  g_autoptr(GError) error = NULL;
  g_autoptr(GTask) task = NULL;
  GArray *candidates;
  Work *work;

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
  /* A search in flight stops within a batch; its result is dropped. */
  cancel_current (self);
  work = g_new0 (Work, 1);
  work->self = g_object_ref (self);
  work->file = g_object_ref (qs_document_get_file (document));
  work->schemes = qs_scheme_set_ref (qs_document_get_schemes (document));
  work->candidates = candidates;
  work->budget = budget_points;
  work->generation = ++self->generation;
  self->running = TRUE;
  /* The controls show what is searched, when a caller other than them starts it. */
  gtk_spin_button_set_value (self->budget, budget_points);
  gtk_editable_set_text (GTK_EDITABLE (self->bits), bits);
  gtk_label_set_text (self->status, _("Pricing each layer, then confirming each step…"));
  gtk_progress_bar_set_fraction (self->progress, 0);
  gtk_widget_set_visible (GTK_WIDGET (self->progress), TRUE);

  task = g_task_new (self, NULL, search_done_cb, NULL);
  g_task_set_task_data (task, work, (GDestroyNotify) work_free);
  g_set_object (&self->current, task);
  g_task_run_in_thread (task, search_thread);
  return TRUE;
}

gboolean
qs_mixed_window_is_finished (QsMixedWindow *self)
{
  g_return_val_if_fail (QS_IS_MIXED_WINDOW (self), FALSE);
  return !self->running;
}

guint
qs_mixed_window_get_n_points (QsMixedWindow *self)
{
  g_return_val_if_fail (QS_IS_MIXED_WINDOW (self), 0);
  return self->outcome != NULL ? qs_mixed_search_get_points (self->outcome->search)->len : 0;
}

int
qs_mixed_window_get_chosen (QsMixedWindow *self)
{
  g_return_val_if_fail (QS_IS_MIXED_WINDOW (self), -1);
  return self->outcome != NULL ? self->outcome->chosen : -1;
}

void
qs_mixed_window_select_point (QsMixedWindow *self,
                              guint          index)
{
  const QsMixedPoint *p;
  g_autoptr(GString) text = g_string_new (NULL);

  g_return_if_fail (QS_IS_MIXED_WINDOW (self));
  g_return_if_fail (index < qs_mixed_window_get_n_points (self));

  p = g_ptr_array_index (qs_mixed_search_get_points (self->outcome->search), index);
  self->selected = (int) index;
  g_string_append_printf (text, _("%.2f %% top-1, %.1f KiB"), 100 * p->quant_top1, p->size_bytes / 1024.0);
  for (guint i = 0; i < qs_mixed_search_get_n_layers (self->outcome->search); i++)
    {
      g_autofree char *choice = qs_precision_to_string (qs_mixed_search_get_candidate (self->outcome->search,
                                                                                        p->choice[i]));
      g_string_append_printf (text, "  ·  %s %s", qs_mixed_search_get_layer_name (self->outcome->search, i), choice);
    }
  gtk_label_set_text (self->details, text->str);
  gtk_widget_set_sensitive (self->apply, TRUE);
  gtk_widget_queue_draw (GTK_WIDGET (self->chart));
}

void
qs_mixed_window_apply (QsMixedWindow *self)
{
  g_autoptr(QsSchemeSet) set = NULL;
  const QsMixedPoint *p;

  g_return_if_fail (QS_IS_MIXED_WINDOW (self));
  if (self->selected < 0 || self->window == NULL || qs_window_get_document (self->window) == NULL)
    return;
  p = g_ptr_array_index (qs_mixed_search_get_points (self->outcome->search), (guint) self->selected);
  set = qs_mixed_search_make_set (self->outcome->search, p->choice);
  qs_document_set_schemes (qs_window_get_document (self->window), set);
}
