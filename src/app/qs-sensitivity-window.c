/* qs-sensitivity-window.c: which layer hurts, measured in the background and ranked as bars.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The worker scores every layer with the same session and sets the CLI's
 * `sensitivity` uses (qs-sensitivity.h), so the bars are the accuracy
 * `eval --scheme-file` measures for each layer quantized alone. The
 * window's job service runs it: an estimate and the progress come as
 * partial outcomes, the result is cached by the scheme set's JSON form.
 */
#include "config.h"

#include "app/qs-sensitivity-window.h"

#include <math.h>

#include <glib/gi18n.h>

#include "app/qs-chart.h"
#include "app/qs-score-work.h"
#include "model/qs-format-text.h"
#include "model/qs-sensitivity.h"

/* The first measured ranking should come within seconds of the request
 * on any model: the estimate takes as many images as fit in what is left
 * of this time after loading and calibrating (the core measures the
 * speed on the first few, so at least MIN_ESTIMATE_SECONDS), and only
 * orders the bars until every image is measured. */
#define ESTIMATE_SECONDS     8.0
#define MIN_ESTIMATE_SECONDS 1.0
#define ROW_HEIGHT         26
#define NAME_WIDTH         200

/* One layer's bar: the top-1 points lost when it alone is quantized, or
 * before any image ran, its weight SQNR. */
typedef struct {
  char   *name;
  char   *tensor;
  double  lost;
  double  regained;
  double  weight_sqnr_db;
} Bar;

struct _QsSensitivityWindow
{
  AdwWindow       parent_instance;

  GtkLabel       *status;
  GtkProgressBar *progress;
  GtkWidget      *stop;
  GtkDrawingArea *chart;

  QsWindow       *window;      /* weak: the main window may close first */
  GArray         *bars;        /* of Bar, most lost first */
  QsJobService   *jobs;        /* owned: the main window's, outliving it while this shows */
  char           *target;      /* this window's requests in the job service */
  guint           limit;
  QsChartPalette  palette;
  guint           shown_images; /* what the bars shown were measured on; 0: weight SQNR only */
  gboolean        finished;
  gboolean        cached;      /* the result came from the job service's cache */
};

G_DEFINE_FINAL_TYPE (QsSensitivityWindow, qs_sensitivity_window, ADW_TYPE_WINDOW)

static void
bar_clear (Bar *bar)
{
  g_free (bar->name);
  g_free (bar->tensor);
}

static int
compare_bars (gconstpointer a,
              gconstpointer b)
{
  double la = ((const Bar *) a)->lost, lb = ((const Bar *) b)->lost;

  /* Before any image ran, the lowest weight SQNR ranks first. */
  if (isnan (la) || isnan (lb))
    {
      la = -((const Bar *) a)->weight_sqnr_db;
      lb = -((const Bar *) b)->weight_sqnr_db;
    }
  return (la < lb) - (la > lb);
}

static GArray *
bars_from_sensitivity (const QsSensitivity *s)
{
  GArray *bars = g_array_sized_new (FALSE, TRUE, sizeof (Bar), s->layers->len);

  g_array_set_clear_func (bars, (GDestroyNotify) bar_clear);
  for (guint i = 0; i < s->layers->len; i++)
    {
      const QsLayerSensitivity *l = &g_array_index (s->layers, QsLayerSensitivity, i);
      Bar bar = { g_strdup (l->name), g_strdup (l->tensor), 100 * (s->fp32_top1 - l->alone_top1),
                  100 * (l->kept_float_top1 - s->all_quant_top1), l->weight_sqnr_db };

      g_array_append_val (bars, bar);
    }
  g_array_sort (bars, compare_bars);
  return bars;
}

/* ---- the main thread -------------------------------------------------------- */

static void
show_bars (QsSensitivityWindow *self,
           GArray              *bars,
           const char          *status)
{
  g_clear_pointer (&self->bars, g_array_unref);
  self->bars = g_array_ref (bars);
  gtk_drawing_area_set_content_height (self->chart, (int) MAX (bars->len, 1) * ROW_HEIGHT);
  gtk_widget_queue_draw (GTK_WIDGET (self->chart));
  gtk_label_set_text (self->status, status);
}

/* The progress bar and Stop show while a measurement runs. */
static void
set_measuring (QsSensitivityWindow *self,
               gboolean             measuring)
{
  self->finished = !measuring;
  gtk_widget_set_visible (GTK_WIDGET (self->progress), measuring);
  gtk_widget_set_visible (self->stop, measuring);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "sensitivity.stop", measuring);
}

/* What the bars mean once the user stopped the measurement. */
static void
show_stopped (QsSensitivityWindow *self)
{
  g_autofree char *status = NULL;

  if (self->shown_images > 0)
    {
      g_autofree char *images = qs_format_count (self->shown_images);

      status = g_strdup_printf (ngettext ("Stopped. The bars are the estimate on the first %s image; "
                                          "click a bar to show its layer.",
                                          "Stopped. The bars are the estimate on the first %s images; "
                                          "click a bar to show its layer.", self->shown_images),
                                images);
    }
  else
    status = g_strdup (_("Stopped before any image ran. The bars rank the layers by weight SQNR."));
  gtk_label_set_text (self->status, status);
}

static void
outcome_cb (const QsJobOutcome *outcome,
            gpointer            user_data)
{
  QsSensitivityWindow *self = user_data;
  const QsScoreUpdate *update = outcome->result;

  if (outcome->partial)
    {
      gtk_progress_bar_set_fraction (self->progress, update->fraction);
      if (update->payload != NULL)
        self->shown_images = update->images;
      if (update->payload != NULL && update->images == 0)
        show_bars (self, update->payload, _("Ranked by weight SQNR, before any image runs; measuring each layer…"));
      else if (update->payload != NULL)
        {
          g_autofree char *images = qs_format_count (update->images);
          g_autofree char *status = g_strdup_printf (ngettext ("Estimate on the first %s image; measuring the rest…",
                                                               "Estimate on the first %s images; measuring the rest…",
                                                               update->images),
                                                     images);
          show_bars (self, update->payload, status);
        }
      return;
    }
  set_measuring (self, FALSE);
  self->cached = outcome->cached;
  if (update == NULL)
    {
      if (!g_error_matches (outcome->error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        gtk_label_set_text (self->status, outcome->error->message);
      return;
    }
  self->shown_images = update->images;
  /* The bars read as change (−0.03 points is a loss): a header saying
   * "points lost" above negative figures read as a double negative. */
  show_bars (self, update->payload, _("The change in top-1 (points) with each layer alone quantized, the others "
                                      "in float32: the longer the bar, the more the layer loses. Click a bar to "
                                      "show its layer."));
}

/* ---- the worker ------------------------------------------------------------- */

typedef struct {
  QsWeightFile *file;
  QsSchemeSet  *schemes;
  guint         limit;
  char         *data_path;     /* the data chosen for the model, or NULL */
} Work;

static void
work_free (Work *work)
{
  g_clear_object (&work->file);
  g_clear_pointer (&work->schemes, qs_scheme_set_unref);
  g_free (work->data_path);
  g_free (work);
}

typedef struct {
  QsJobContext *context;
  guint         done;
  guint         total;
} Reporter;

static void
estimate_cb (const QsSensitivity *estimate,
             gpointer             user_data)
{
  Reporter *reporter = user_data;
  double fraction = reporter->total > 0 ? reporter->done / (double) reporter->total : 0;

  qs_job_context_post_partial (reporter->context,
                               qs_score_update_new (fraction, (guint) estimate->images,
                                                    bars_from_sensitivity (estimate),
                                                    (GDestroyNotify) g_array_unref));
}

static void
progress_cb (guint    done,
             guint    total,
             gpointer user_data)
{
  Reporter *reporter = user_data;

  reporter->done = done;
  reporter->total = total;
  qs_score_work_post_progress (done, total, reporter->context);
}

static gpointer
measure_job (QsJobContext *context,
             gpointer      work_data,
             GCancellable *cancellable,
             GError      **error)
{
  Work *work = work_data;
  g_autoptr(QsSensitivity) proxies = NULL;
  g_autoptr(QsSensitivity) result = NULL;
  QsScoreWork score = { 0 };
  Reporter reporter = { context, 0, 0 };
  atomic_int cancel = 0;
  gint64 started = g_get_monotonic_time ();
  gulong handler;
  GArray *bars;

  /* The engine polls a plain flag between batches; the cancellable raises it. */
  handler = g_cancellable_connect (cancellable, G_CALLBACK (qs_score_work_raise_flag_cb), &cancel, NULL);
  if (qs_score_work_open (&score, work->file, work->schemes, work->data_path, work->limit, &cancel, error)
      && (proxies = qs_sensitivity_proxies (score.session, work->schemes, error)) != NULL)
    {
      double left;

      /* A ranking within seconds: one weight quantization, no images. */
      qs_job_context_post_partial (context, qs_score_update_new (0, 0, bars_from_sensitivity (proxies),
                                                                 (GDestroyNotify) g_array_unref));
      left = ESTIMATE_SECONDS - (g_get_monotonic_time () - started) / (double) G_USEC_PER_SEC;
      result = qs_sensitivity_compute (score.session, work->schemes, 0, MAX (left, MIN_ESTIMATE_SECONDS),
                                       estimate_cb, progress_cb, &reporter, error);
    }
  qs_score_work_clear (&score);
  g_cancellable_disconnect (cancellable, handler);
  if (result == NULL)
    return NULL;
  bars = bars_from_sensitivity (result);
  qs_job_context_set_cost (context, sizeof (Bar) * bars->len + 64 * bars->len);
  return qs_score_update_new (1, (guint) result->images, bars, (GDestroyNotify) g_array_unref);
}

/* ---- the chart ------------------------------------------------------------- */

/* Points lost, or before any image ran, the weight's relative noise power. */
static double
bar_length (const Bar *bar)
{
  if (isnan (bar->lost))
    return isnan (bar->weight_sqnr_db) ? 0 : pow (10, -bar->weight_sqnr_db / 10);
  return MAX (bar->lost, 0);
}

static void
draw_chart (GtkDrawingArea *area,
            cairo_t        *cr,
            int             width,
            int             height,
            gpointer        user_data)
{
  QsSensitivityWindow *self = user_data;
  double most = 0;

  if (self->bars == NULL)
    return;
  qs_chart_palette_update (&self->palette, GTK_WIDGET (area));
  for (guint i = 0; i < self->bars->len; i++)
    most = MAX (most, bar_length (&g_array_index (self->bars, Bar, i)));
  for (guint i = 0; i < self->bars->len; i++)
    {
      const Bar *bar = &g_array_index (self->bars, Bar, i);
      double y = i * ROW_HEIGHT, room = MAX (width - NAME_WIDTH - 90, 10);
      double length = most > 0 ? room * bar_length (bar) / most : 0;
      /* The change in top-1, signed; one that rounds to 0.00 is no change, neither +0.00 nor -0.00. */
      g_autofree char *value = qs_format_minus (isnan (bar->lost)
                                                ? g_strdup_printf (_("%.1f dB weight SQNR"), bar->weight_sqnr_db)
                                                : fabs (bar->lost) < 0.005 ? g_strdup (_("no change"))
                                                : g_strdup_printf (_("%+.2f points"), -bar->lost));
      g_autoptr(PangoLayout) name = qs_chart_create_layout (GTK_WIDGET (area), bar->name, FALSE);
      g_autoptr(PangoLayout) label = qs_chart_create_layout (GTK_WIDGET (area), value, TRUE);

      qs_chart_set_source (cr, &self->palette.accent, 0.85);
      cairo_rectangle (cr, NAME_WIDTH, y + 4, MAX (length, 1), ROW_HEIGHT - 8);
      cairo_fill (cr);
      qs_chart_set_source (cr, &self->palette.fg, 1);
      pango_layout_set_width (name, (NAME_WIDTH - 8) * PANGO_SCALE);
      pango_layout_set_ellipsize (name, PANGO_ELLIPSIZE_MIDDLE);
      cairo_move_to (cr, 4, y + 4);
      pango_cairo_show_layout (cr, name);
      cairo_move_to (cr, NAME_WIDTH + MAX (length, 1) + 6, y + 6);
      pango_cairo_show_layout (cr, label);
    }
}

static void
chart_pressed_cb (GtkGestureClick     *gesture,
                  int                  n_press,
                  double               x,
                  double               y,
                  QsSensitivityWindow *self)
{
  if (self->bars != NULL && y >= 0 && y < (double) self->bars->len * ROW_HEIGHT)
    qs_sensitivity_window_activate_bar (self, (guint) (y / ROW_HEIGHT));
}

/* ---- the window ------------------------------------------------------------- */

/* Closing drops the measurement: the engine stops within a batch. */
static void
cancel_work (QsSensitivityWindow *self)
{
  if (self->jobs != NULL && self->target != NULL)
    qs_job_service_cancel (self->jobs, self->target);
}

/* "sensitivity.stop": the estimate so far is often all the user needs on
 * a large model, whose full measurement takes minutes; closing the window
 * would throw the estimate away. */
static void
stop_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  QsSensitivityWindow *self = QS_SENSITIVITY_WINDOW (widget);

  if (self->finished)
    return;
  /* The job service delivers nothing more for a cancelled request. */
  cancel_work (self);
  set_measuring (self, FALSE);
  show_stopped (self);
}

static gboolean
close_request_cb (GtkWindow *window)
{
  QsSensitivityWindow *self = QS_SENSITIVITY_WINDOW (window);

  cancel_work (self);
  self->finished = TRUE;
  return FALSE;
}

static void
qs_sensitivity_window_dispose (GObject *object)
{
  QsSensitivityWindow *self = QS_SENSITIVITY_WINDOW (object);

  cancel_work (self);
  g_clear_object (&self->jobs);
  g_clear_pointer (&self->target, g_free);
  g_clear_weak_pointer (&self->window);
  g_clear_pointer (&self->bars, g_array_unref);
  G_OBJECT_CLASS (qs_sensitivity_window_parent_class)->dispose (object);
}

static void
qs_sensitivity_window_class_init (QsSensitivityWindowClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = qs_sensitivity_window_dispose;
  GTK_WINDOW_CLASS (klass)->close_request = close_request_cb;
  gtk_widget_class_install_action (GTK_WIDGET_CLASS (klass), "sensitivity.stop", NULL, stop_action);
}

static void
qs_sensitivity_window_init (QsSensitivityWindow *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  GtkWidget *scroller = gtk_scrolled_window_new ();
  GtkWidget *header = adw_header_bar_new ();
  GtkGesture *click = gtk_gesture_click_new ();

  gtk_window_set_title (GTK_WINDOW (self), _("Layer Sensitivity"));
  gtk_window_set_default_size (GTK_WINDOW (self), 720, 640);
  qs_window_add_close_shortcuts (GTK_WINDOW (self));
  self->status = GTK_LABEL (gtk_label_new (_("Measuring each layer…")));
  gtk_label_set_wrap (self->status, TRUE);
  gtk_label_set_xalign (self->status, 0);
  gtk_widget_set_margin_start (GTK_WIDGET (self->status), 12);
  gtk_widget_set_margin_end (GTK_WIDGET (self->status), 12);
  self->progress = GTK_PROGRESS_BAR (gtk_progress_bar_new ());
  gtk_widget_set_margin_start (GTK_WIDGET (self->progress), 12);
  gtk_widget_set_margin_end (GTK_WIDGET (self->progress), 12);
  self->chart = GTK_DRAWING_AREA (gtk_drawing_area_new ());
  gtk_widget_set_vexpand (scroller, TRUE);
  gtk_drawing_area_set_draw_func (self->chart, draw_chart, self, NULL);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->chart), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Top-1 points lost per layer, worst first"), -1);
  g_signal_connect (click, "pressed", G_CALLBACK (chart_pressed_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self->chart), GTK_EVENT_CONTROLLER (click));
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scroller), GTK_WIDGET (self->chart));

  self->stop = gtk_button_new_with_mnemonic (_("_Stop"));
  gtk_widget_set_tooltip_text (self->stop, _("Stop measuring and keep the estimate shown"));
  gtk_actionable_set_action_name (GTK_ACTIONABLE (self->stop), "sensitivity.stop");
  adw_header_bar_pack_start (ADW_HEADER_BAR (header), self->stop);
  gtk_box_append (GTK_BOX (box), header);
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->status));
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->progress));
  gtk_box_append (GTK_BOX (box), scroller);
  adw_window_set_content (ADW_WINDOW (self), box);
  qs_chart_palette_init (&self->palette, GTK_WIDGET (self->chart));
}

/* Measures @document's current set; a request still running for an
 * older set is cancelled (the newest request of the target wins). */
static void
request_measurement (QsSensitivityWindow *self,
                     QsDocument          *document)
{
  Work *work = g_new0 (Work, 1);
  QsJobSpec spec = {
    .target = self->target,
    .priority = QS_JOB_PRIORITY_SEARCH,
    .result_type = QS_TYPE_SCORE_UPDATE,
    .work = measure_job,
    .cacheable = TRUE,
  };

  work->file = g_object_ref (qs_document_get_file (document));
  work->schemes = qs_scheme_set_ref (qs_document_get_schemes (document));
  work->limit = self->limit;
  work->data_path = self->window != NULL ? qs_window_dup_data_path (self->window) : NULL;
  spec.key = qs_score_work_key ("sensitivity", work->file, work->schemes, work->data_path, self->limit);
  self->shown_images = 0;
  self->cached = FALSE;
  gtk_label_set_text (self->status, _("Measuring each layer…"));
  gtk_progress_bar_set_fraction (self->progress, 0);
  set_measuring (self, TRUE);
  qs_job_service_request (self->jobs, &spec, work, (GDestroyNotify) work_free, outcome_cb, self);
}

static void
schemes_changed_cb (QsSensitivityWindow *self,
                    QsDocument          *document)
{
  request_measurement (self, document);
}

QsSensitivityWindow *
qs_sensitivity_window_new (QsWindow *window,
                           guint     limit)
{
  QsSensitivityWindow *self;
  QsDocument *document;

  g_return_val_if_fail (QS_IS_WINDOW (window), NULL);

  self = g_object_new (QS_TYPE_SENSITIVITY_WINDOW, "transient-for", window, NULL);
  g_set_weak_pointer (&self->window, window);
  document = qs_window_get_document (window);
  if (document == NULL || qs_document_get_file (document) == NULL)
    {
      set_measuring (self, FALSE);
      gtk_label_set_text (self->status, _("Open a model first."));
      return self;
    }
  /* One target per window, so two windows never supersede each other;
   * the key is the measurement's, so a window reopened on the same set is
   * answered from the cache. */
  self->jobs = g_object_ref (qs_window_get_jobs (window));
  self->target = g_strdup_printf ("sensitivity:%p", (void *) self);
  self->limit = limit;
  g_signal_connect_object (document, "schemes-changed", G_CALLBACK (schemes_changed_cb), self, G_CONNECT_SWAPPED);
  request_measurement (self, document);
  return self;
}

gboolean
qs_sensitivity_window_is_cached (QsSensitivityWindow *self)
{
  g_return_val_if_fail (QS_IS_SENSITIVITY_WINDOW (self), FALSE);
  return self->cached;
}

gboolean
qs_sensitivity_window_is_finished (QsSensitivityWindow *self)
{
  g_return_val_if_fail (QS_IS_SENSITIVITY_WINDOW (self), FALSE);
  return self->finished;
}

const char *
qs_sensitivity_window_get_status (QsSensitivityWindow *self)
{
  g_return_val_if_fail (QS_IS_SENSITIVITY_WINDOW (self), NULL);
  return gtk_label_get_text (self->status);
}

guint
qs_sensitivity_window_get_n_bars (QsSensitivityWindow *self)
{
  g_return_val_if_fail (QS_IS_SENSITIVITY_WINDOW (self), 0);
  return self->bars != NULL ? self->bars->len : 0;
}

const char *
qs_sensitivity_window_get_bar_tensor (QsSensitivityWindow *self,
                                      guint                index)
{
  g_return_val_if_fail (QS_IS_SENSITIVITY_WINDOW (self), NULL);
  g_return_val_if_fail (index < qs_sensitivity_window_get_n_bars (self), NULL);
  return g_array_index (self->bars, Bar, index).tensor;
}

void
qs_sensitivity_window_activate_bar (QsSensitivityWindow *self,
                                    guint                index)
{
  g_return_if_fail (QS_IS_SENSITIVITY_WINDOW (self));
  g_return_if_fail (index < qs_sensitivity_window_get_n_bars (self));

  if (self->window != NULL)
    qs_window_select_path (self->window, g_array_index (self->bars, Bar, index).tensor);
}
