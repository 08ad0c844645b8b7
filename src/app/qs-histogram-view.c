/* qs-histogram-view.c: the histogram of one tensor, its clip range, levels and zero.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Drawing follows Sysprof's charts: the report is normalised once when it
 * arrives, the static part (bars, reconstructed series, levels, axes) is
 * recorded into a render node that is replayed until the report, the size,
 * the scale or the style changes, and only the overlays (clip handles,
 * shading, zero markers, hover) are drawn every frame. Hover, tooltip and
 * dragging share one hit-test function. One drawing function paints the
 * chart through a QsPainter, so the screen, the texture and the PNG/SVG
 * export are the same picture.
 */
#include "config.h"

#include "app/qs-histogram-view.h"
#include "app/qs-histogram-view-private.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "app/qs-chart-series.h"
#include "app/qs-chart-view.h"
#include "model/qs-error.h"

#define MAX_TICKS 40
/* How close (in logical pixels) the pointer must be to grab a handle. */
#define HANDLE_GRAB_DISTANCE 6.0
/* Levels closer than this (logical pixels) are thinned out. */
#define LEVEL_MIN_SPACING 2.0
/* Up to this many bits every level gets a line across the plot. */
#define LEVEL_LINES_MAX_BITS 6
/* Share of the data range added on both sides, so handles sitting at the
 * data's minimum and maximum stay visible and grabbable. */
#define VIEW_PADDING 0.03

typedef enum {
  HIT_NONE,
  HIT_BIN,
  HIT_LOWER,
  HIT_UPPER,
} HitKind;

typedef struct {
  HitKind kind;
  int     bin;
} Hit;

/* Geometry for one size: where the plot sits, its value and count ranges. */
typedef struct {
  int             width;
  int             height;
  graphene_rect_t plot;
  double          view_lo;
  double          view_hi;
  gboolean        log_scale;
  double          y_top;           /* the count at the top of the axis */
  double          x_ticks[MAX_TICKS];
  int             n_x_ticks;
  double          y_ticks[MAX_TICKS];
  int             n_y_ticks;
  double          row_height;      /* one line of small text */
  gboolean        show_legend;     /* room for it beside the clip text */
  gboolean        reconstructed_cut; /* a reconstructed spike rises above y_top */
} ChartLayout;

struct _QsHistogramView
{
  QsChartView     parent_instance;

  /* Owned references */
  QsTensorReport *report;
  QsChartSeries  *weights;         /* counts per bin */
  QsChartSeries  *reconstructed;   /* counts of reconstructions per bin, as the tooltip says */

  /* Properties */
  gboolean        log_scale;
  gboolean        show_quantized;
  int             channel;

  /* The report prepared once: the bins (the series hold the counts) and
   * the value range to show. */
  int             bins;
  double          hist_lo;
  double          hist_hi;
  double          base_lo;         /* histogram and every channel's clip range */
  double          base_hi;

  /* The channel drawn: its clip range (widened to contain 0) and where 0.0
   * lands after quantization. */
  gsize           grid_channel;
  double          clip_lo;
  double          clip_hi;
  double          zero_recon;

  /* Interaction */
  Hit             hover;
  HitKind         drag;            /* the handle being dragged, or HIT_NONE; the
                                    * value axis stays put meanwhile */
  gboolean        has_override;    /* handles show the dragged range until the next report */
  double          override_lo;
  double          override_hi;

  /* Caches */
  ChartLayout     layout;          /* for the size the base class laid out */
  char           *summary;
};

G_DEFINE_FINAL_TYPE (QsHistogramView, qs_histogram_view, QS_TYPE_CHART_VIEW)

#define PALETTE(self) qs_chart_view_get_palette (QS_CHART_VIEW (self))

enum {
  PROP_0,
  PROP_REPORT,
  PROP_LOG_SCALE,
  PROP_SHOW_QUANTIZED,
  PROP_CHANNEL,
  N_PROPS
};

enum {
  RANGE_CHANGED,
  RANGE_COMMITTED,
  BIN_ACTIVATED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

/* Data preparation ------------------------------------------------------- */

static gsize
effective_channel (QsHistogramView *self)
{
  gsize channels;

  if (self->report == NULL)
    return 0;
  channels = self->report->params.channels;
  if (self->channel < 0 || channels == 0)
    return 0;
  return MIN ((gsize) self->channel, channels - 1);
}

/* The range that applies to channel @channel, where the handles sit:
 * the chosen range widened to contain 0, as the quantizer widens it, and
 * under symmetric integer mapping ±max(−lo, hi), whichever side the method
 * or a drag moved. */
static void
applied_range (const QsTensorReport *report,
               gsize                 channel,
               double               *lo,
               double               *hi)
{
  const QsQuantParams *params = &report->params;

  *lo = MIN ((double) params->range_lo[channel], 0.0);
  *hi = MAX ((double) params->range_hi[channel], 0.0);
  if (report->scheme.format == QS_FORMAT_INT && report->scheme.mapping == QS_MAPPING_SYMMETRIC)
    {
      double extent = MAX (-*lo, *hi);

      *lo = -extent;
      *hi = extent;
    }
}

/* Where values start to clip when the user's range [lo, hi] is applied
 * under the report's scheme: the same computation as the quantizer's
 * (qs_quant_params_set_channel), its grid widened by half a step, as a
 * value clips once its rounded code leaves [qmin, qmax]. */
static void
clipping_bounds (const QsTensorReport *report,
                 double                lo,
                 double                hi,
                 double               *clip_lo,
                 double               *clip_hi)
{
  QsQuantParams params = { 0 };

  *clip_lo = MIN (lo, 0.0);
  *clip_hi = MAX (hi, 0.0);
  if (report->scheme.format != QS_FORMAT_INT || qs_quant_params_init (&params, 1) != QS_OK)
    return;
  qs_quant_params_set_channel (&params, &report->scheme, 0, (float) lo, (float) hi);
  *clip_lo = qs_dequantize_code (&params, 0, params.qmin) - 0.5 * params.scale[0];
  *clip_hi = qs_dequantize_code (&params, 0, params.qmax) + 0.5 * params.scale[0];
  qs_quant_params_clear (&params);
}

static void
update_channel (QsHistogramView *self)
{
  const QsQuantParams *params;

  if (self->report == NULL)
    return;
  params = &self->report->params;
  self->grid_channel = effective_channel (self);
  applied_range (self->report, self->grid_channel, &self->clip_lo, &self->clip_hi);
  self->zero_recon = qs_zero_reconstruction (params, self->grid_channel);
}

static void
displayed_range (QsHistogramView *self,
                 double          *lo,
                 double          *hi)
{
  if (self->drag != HIT_NONE || self->has_override)
    {
      *lo = self->override_lo;
      *hi = self->override_hi;
    }
  else
    {
      *lo = self->clip_lo;
      *hi = self->clip_hi;
    }
}

/* Values outside [lo, hi] in the histogram, with the bins the bounds cut
 * counted in proportion: while a handle moves, the report's exact count
 * belongs to the old range. */
static double
estimate_clipped (QsHistogramView *self,
                  double           lo,
                  double           hi)
{
  const QsHistogram *h = &self->report->analysis.histogram;
  double width = (self->hist_hi - self->hist_lo) / self->bins;
  double clipped = (double) h->underflow + (double) h->overflow;

  clipping_bounds (self->report, lo, hi, &lo, &hi);

  for (int i = 0; i < self->bins; i++)
    {
      double a = self->hist_lo + i * width;
      double b = a + width;
      double inside = MAX (0.0, MIN (b, hi) - MAX (a, lo));

      clipped += qs_chart_series_get_value (self->weights, i) * (1.0 - inside / width);
    }
  return clipped;
}

static const char *
mapping_name (QsMapping mapping)
{
  return mapping == QS_MAPPING_SYMMETRIC ? _("symmetric") : _("asymmetric");
}

char *
qs_histogram_view_describe_scheme (const QsTensorReport *report)
{
  const QsScheme *s = &report->scheme;
  const char *granularity = s->granularity == QS_GRANULARITY_CHANNEL && s->axis >= 0 ? _("per-channel") : _("per-tensor");

  if (qs_scheme_is_blockwise (s))
    {
      /* Translators: "groups of 32", how many weights share a scale. */
      g_autofree char *groups = g_strdup_printf (_("groups of %zu"), qs_scheme_block_size (s));

      if (s->format != QS_FORMAT_INT)
        return g_strdup_printf (_("%s, %s"), qs_format_to_string (s->format), groups);
      return g_strdup_printf (_("%d-bit %s %s"), s->bits, mapping_name (s->mapping), groups);
    }
  if (s->format != QS_FORMAT_INT)
    /* Translators: a number format such as "fp8-e4m3", then "per-tensor". */
    return g_strdup_printf (_("%s, %s"), qs_format_to_string (s->format), granularity);
  /* Translators: "4-bit symmetric per-tensor". */
  return g_strdup_printf (_("%d-bit %s %s"), s->bits, mapping_name (s->mapping), granularity);
}

static void
update_accessible (QsHistogramView *self)
{
  g_autofree char *description = NULL;

  g_clear_pointer (&self->summary, g_free);

  if (self->report == NULL)
    {
      self->summary = g_strdup (_("Histogram: no tensor selected"));
      description = g_strdup ("");
    }
  else
    {
      const QsAnalysis *a = &self->report->analysis;
      g_autofree char *scheme = qs_histogram_view_describe_scheme (self->report);
      g_autofree char *count = g_strdup_printf ("%" G_GUINT64_FORMAT, a->count);
      g_autofree char *clipped_count = NULL;
      g_autofree char *clipped = NULL;
      g_autofree char *data_lo = g_strdup_printf ("%.3g", a->data_min);
      g_autofree char *data_hi = g_strdup_printf ("%.3g", a->data_max);
      double lo, hi;
      g_autofree char *clip_lo = NULL;
      g_autofree char *clip_hi = NULL;
      g_autofree char *zero = NULL;
      guint64 n_clipped;

      displayed_range (self, &lo, &hi);
      clip_lo = g_strdup_printf ("%.3g", lo);
      clip_hi = g_strdup_printf ("%.3g", hi);
      n_clipped = self->has_override ? (guint64) round (estimate_clipped (self, lo, hi)) : a->clipped_count;
      clipped_count = g_strdup_printf ("%" G_GUINT64_FORMAT, n_clipped);
      clipped = g_strdup_printf (ngettext ("%s value clipped", "%s values clipped",
                                           n_clipped == 1 ? 1 : 2),
                                 clipped_count);

      /* Translators: the accessible summary of the histogram chart. */
      self->summary = g_strdup_printf (_("Histogram of %s weights from %s to %s; clip range %s to %s; %s"),
                                       count, data_lo, data_hi, clip_lo, clip_hi, clipped);

      if (self->zero_recon == 0)
        zero = g_strdup (_("0.0 stays exactly 0.0"));
      else
        zero = g_strdup_printf (_("0.0 becomes %.3g"), self->zero_recon);
      description = g_strdup_printf ("%s; %s", scheme, zero);
    }

  gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, self->summary,
                                  GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, description,
                                  -1);
}

static void
invalidate_static (QsHistogramView *self)
{
  qs_chart_view_invalidate (QS_CHART_VIEW (self));
}

static void
prepare_report (QsHistogramView *self)
{
  const QsHistogram *h;
  const QsQuantParams *params;

  self->bins = 0;
  qs_chart_series_clear (self->weights);
  qs_chart_series_clear (self->reconstructed);
  if (self->report == NULL)
    return;

  h = &self->report->analysis.histogram;
  params = &self->report->params;
  self->bins = h->bins;
  self->hist_lo = h->lo;
  self->hist_hi = h->hi > h->lo ? h->hi : h->lo + 1;
  {
    g_autofree double *counts = g_new0 (double, MAX (h->bins, 1));
    g_autofree double *recon = g_new0 (double, MAX (h->bins, 1));

    /* Both series as counts per bin, exactly what the tooltip reports:
     * reconstructions pile up on the levels, so that series is spiky. */
    for (int i = 0; i < h->bins; i++)
      {
        counts[i] = (double) h->counts[i];
        recon[i] = h->quantized_counts != NULL ? (double) h->quantized_counts[i] : 0.0;
      }
    qs_chart_series_set_bins (self->weights, self->hist_lo, self->hist_hi, (guint) h->bins, counts);
    qs_chart_series_set_bins (self->reconstructed, self->hist_lo, self->hist_hi, (guint) h->bins, recon);
  }

  /* Every channel's range, so the axis stays put while the user flips
   * through channels. */
  self->base_lo = self->hist_lo;
  self->base_hi = self->hist_hi;
  for (gsize c = 0; c < params->channels; c++)
    {
      double lo, hi;

      applied_range (self->report, c, &lo, &hi);
      self->base_lo = MIN (self->base_lo, lo);
      self->base_hi = MAX (self->base_hi, hi);
    }

  update_channel (self);
}

/* The line above the plot: which channel's grid is drawn and how many
 * values the range clips, exact from the report or, while a dragged range
 * waits for its report, estimated from the histogram. */
static char *
clip_text_for (QsHistogramView *self,
               double           lo,
               double           hi,
               gboolean         estimating)
{
  const QsAnalysis *a = &self->report->analysis;
  char *text;

  if (estimating)
    {
      double estimate = estimate_clipped (self, lo, hi);
      g_autofree char *n = g_strdup_printf ("%.0f", estimate);
      guint64 rounded = (guint64) round (estimate);

      text = g_strdup_printf (ngettext ("≈ %s value clipped", "≈ %s values clipped",
                                        rounded == 1 ? 1 : 2), n);
    }
  else if (a->clipped_count == 0)
    text = g_strdup (_("No values clipped"));
  else
    {
      g_autofree char *n = g_strdup_printf ("%" G_GUINT64_FORMAT, a->clipped_count);
      double percent = 100.0 * a->clipped_count / MAX (a->finite_count, 1);

      text = g_strdup_printf (ngettext ("%s value clipped (%.2g %%)", "%s values clipped (%.2g %%)",
                                        a->clipped_count == 1 ? 1 : 2),
                              n, percent);
    }
  if (self->report->params.channels > 1)
    {
      char *with_channel;

      /* Translators: "Channel 3 grid · 2 values clipped": which channel's
       * levels and clip range the chart draws. */
      with_channel = g_strdup_printf (_("Channel %zu grid · %s"), self->grid_channel, text);
      g_free (text);
      text = with_channel;
    }
  return text;
}

/* The legend's entries, right to left: levels, the reconstructed series
 * when it is drawn, the weights. */
typedef enum {
  LEGEND_LEVELS,
  LEGEND_RECONSTRUCTED,
  LEGEND_WEIGHTS,
  N_LEGEND
} LegendEntry;

#define LEGEND_SWATCH 24  /* swatch and gap before an entry's text */
#define LEGEND_GAP 12     /* between entries */

static PangoLayout *
legend_layout (QsHistogramView   *self,
               const ChartLayout *l,
               LegendEntry        entry)
{
  GtkWidget *widget = GTK_WIDGET (self);
  const QsQuantParams *params = &self->report->params;

  switch (entry)
    {
    case LEGEND_LEVELS:
      if (params->format == QS_FORMAT_INT)
        {
          int n = params->qmax - params->qmin + 1;
          g_autofree char *text = g_strdup_printf (ngettext ("%d level", "%d levels", n), n);

          return qs_chart_create_layout (widget, text, TRUE);
        }
      return qs_chart_create_layout (widget, _("Levels"), TRUE);

    case LEGEND_RECONSTRUCTED:
      /* Translators: the reconstructed series' legend when its spikes rise
       * above the count axis, which follows the weights: marked ▲ there. */
      return qs_chart_create_layout (widget, l->reconstructed_cut ? _("Reconstructed (▲ cut at top)")
                                                                  : _("Reconstructed"), TRUE);

    case LEGEND_WEIGHTS:
    case N_LEGEND:
    default:
      return qs_chart_create_layout (widget, _("Weights"), TRUE);
    }
}

/* Every block of a blockwise scheme has its own grid and range: the chart
 * draws no single one, only the reconstructed histogram. */
static gboolean
has_single_grid (QsHistogramView *self)
{
  return !qs_scheme_is_blockwise (&self->report->scheme);
}

static gboolean
reconstructed_shown (QsHistogramView *self)
{
  return self->report != NULL && (self->show_quantized || !has_single_grid (self));
}

static gboolean
legend_entry_shown (QsHistogramView *self,
                    LegendEntry      entry)
{
  if (entry == LEGEND_RECONSTRUCTED)
    return reconstructed_shown (self);
  if (entry == LEGEND_LEVELS)
    return has_single_grid (self);
  return TRUE;
}

static int
legend_width (QsHistogramView   *self,
              const ChartLayout *l)
{
  int total = 0;

  for (int e = 0; e < N_LEGEND; e++)
    {
      g_autoptr(PangoLayout) layout = NULL;
      int w;

      if (!legend_entry_shown (self, e))
        continue;
      layout = legend_layout (self, l, e);
      pango_layout_get_pixel_size (layout, &w, NULL);
      total += w + LEGEND_SWATCH + (total > 0 ? LEGEND_GAP : 0);
    }
  return total;
}

/* Layout ------------------------------------------------------------------ */

/* The x axis's range: the data, every clip range and a dragged range,
 * padded; left alone while a handle moves, so the scale does not slide
 * under the pointer. A zoomed window stays where it still fits. */
static void
update_value_range (QsHistogramView *self)
{
  double lo = self->base_lo, hi = self->base_hi, span;

  if (self->drag != HIT_NONE || self->report == NULL)
    return;
  if (self->has_override)
    {
      lo = MIN (lo, self->override_lo);
      hi = MAX (hi, self->override_hi);
    }
  span = hi - lo > 0 ? hi - lo : 1;
  qs_chart_axis_set_range (qs_chart_view_get_x_axis (QS_CHART_VIEW (self)),
                           lo - span * VIEW_PADDING, hi + span * VIEW_PADDING);
}

static int
text_width (GtkWidget  *widget,
            const char *text)
{
  g_autoptr(PangoLayout) layout = qs_chart_create_layout (widget, text, TRUE);
  int width;

  pango_layout_get_pixel_size (layout, &width, NULL);
  return width;
}

static void
compute_layout (QsHistogramView *self,
                int              width,
                int              height,
                ChartLayout     *l)
{
  GtkWidget *widget = GTK_WIDGET (self);
  g_autoptr(PangoLayout) probe = qs_chart_create_layout (widget, "0", TRUE);
  double left, right, top, bottom, step;
  double y_max;
  int label_w = 0, text_h;

  memset (l, 0, sizeof *l);
  l->width = width;
  l->height = height;
  l->log_scale = self->log_scale;
  pango_layout_get_pixel_size (probe, NULL, &text_h);
  l->row_height = text_h;

  if (self->report == NULL)
    {
      l->view_lo = 0;
      l->view_hi = 1;
      graphene_rect_init (&l->plot, 0, 0, width, height);
      return;
    }

  /* The value axis: the x axis's window (all of it unless zoomed). */
  update_value_range (self);
  qs_chart_axis_get_view (qs_chart_view_get_x_axis (QS_CHART_VIEW (self)), &l->view_lo, &l->view_hi);

  /* The count axis follows the weights alone: the reconstructions pile up
   * on the levels, and their spikes would flatten the weights' shape. A
   * spike above the top is cut there and marked. */
  y_max = MAX (1.0, qs_chart_series_get_max (self->weights));
  top = text_h + 12;
  bottom = text_h + 12;
  {
    double plot_h = MAX (1.0, height - top - bottom);

    if (l->log_scale)
      {
        int decades = (int) ceil (log10 (y_max) - 1e-9);
        int every = 1;

        decades = MAX (decades, 1);
        while ((decades / every + 1) * (text_h + 6) > plot_h && every < decades)
          every++;
        /* The top is the next 1-2-5 step, not the next power of ten, which
         * could leave the upper half of the plot empty. */
        l->y_top = pow (10, decades);
        if (l->y_top / 5 >= y_max)
          l->y_top /= 5;
        else if (l->y_top / 2 >= y_max)
          l->y_top /= 2;
        for (int d = 0; d <= decades && l->n_y_ticks < MAX_TICKS; d += every)
          if (pow (10, d) <= l->y_top)
            l->y_ticks[l->n_y_ticks++] = pow (10, d);
      }
    else
      {
        int target = MAX (2, (int) (plot_h / (text_h * 2.8)));

        l->n_y_ticks = qs_plot_nice_ticks (0, y_max, target, TRUE, l->y_ticks, MAX_TICKS - 1, &step);
        l->y_top = l->n_y_ticks > 0 ? l->y_ticks[l->n_y_ticks - 1] : y_max;
        if (l->y_top < y_max)
          {
            l->y_top += step;
            l->y_ticks[l->n_y_ticks++] = l->y_top;
          }
      }
  }
  l->reconstructed_cut = reconstructed_shown (self) && qs_chart_series_get_max (self->reconstructed) > l->y_top;
  for (int i = 0; i < l->n_y_ticks; i++)
    {
      g_autofree char *label = qs_plot_format_count (l->y_ticks[i]);

      label_w = MAX (label_w, text_width (widget, label));
    }
  left = label_w + 14;
  right = 16;

  graphene_rect_init (&l->plot, left, top,
                      MAX (1.0, width - left - right),
                      MAX (1.0, height - top - bottom));

  l->n_x_ticks = qs_plot_nice_ticks (l->view_lo, l->view_hi,
                                      MAX (3, (int) (l->plot.size.width / 80)), FALSE,
                                      l->x_ticks, MAX_TICKS, &step);

  /* The legend gives way to the clip text on narrow widgets; the text is
   * measured in its widest form, the estimate shown while dragging. */
  {
    g_autofree char *exact = clip_text_for (self, self->clip_lo, self->clip_hi, FALSE);
    g_autofree char *estimate = clip_text_for (self, self->base_hi, self->base_hi, TRUE);
    int clip_w = MAX (text_width (widget, exact), text_width (widget, estimate));

    l->show_legend = clip_w + 24 + legend_width (self, l) <= l->plot.size.width;
  }
}

/* The layout at the widget's size (the base class lays out on demand). */
static const ChartLayout *
ensure_layout (QsHistogramView *self)
{
  qs_chart_view_get_plot (QS_CHART_VIEW (self));
  return &self->layout;
}

static double
value_to_x (const ChartLayout *l,
            double             value)
{
  return l->plot.origin.x + (value - l->view_lo) / (l->view_hi - l->view_lo) * l->plot.size.width;
}

static double
x_to_value (const ChartLayout *l,
            double             x)
{
  return l->view_lo + (x - l->plot.origin.x) / l->plot.size.width * (l->view_hi - l->view_lo);
}

static double
count_to_y (const ChartLayout *l,
            double             count)
{
  double fraction;

  if (l->log_scale)
    fraction = log10 (1 + MAX (count, 0.0)) / log10 (1 + l->y_top);
  else
    fraction = count / l->y_top;
  fraction = CLAMP (fraction, 0.0, 1.0);
  return l->plot.origin.y + l->plot.size.height * (1 - fraction);
}

static double
plot_bottom (const ChartLayout *l)
{
  return l->plot.origin.y + l->plot.size.height;
}

static double
bin_edge (QsHistogramView *self,
          int              i)
{
  return self->hist_lo + (self->hist_hi - self->hist_lo) * i / self->bins;
}

/* Hit testing --------------------------------------------------------------- */

/* The one place that decides what is under the pointer: hover, tooltip,
 * cursor and dragging all ask here. */
static Hit
hit_test (QsHistogramView   *self,
          const ChartLayout *l,
          double             x,
          double             y)
{
  Hit hit = { HIT_NONE, -1 };
  double lo, hi, x_lo, x_hi, d_lo, d_hi;
  const graphene_rect_t *p = &l->plot;

  if (self->report == NULL || self->bins == 0)
    return hit;

  displayed_range (self, &lo, &hi);
  x_lo = value_to_x (l, lo);
  x_hi = value_to_x (l, hi);
  /* No single clip range to drag when every block has its own. */
  if (!has_single_grid (self))
    x_lo = x_hi = G_MAXDOUBLE;
  d_lo = fabs (x - x_lo);
  d_hi = fabs (x - x_hi);
  if (y >= p->origin.y - HANDLE_GRAB_DISTANCE - 4 && y <= plot_bottom (l) &&
      MIN (d_lo, d_hi) <= HANDLE_GRAB_DISTANCE)
    {
      /* Both handles can sit on one spot (a range ending at 0): pick the
       * one the pointer is on the outer side of, so either can be pulled out. */
      if (d_lo < d_hi || (d_lo == d_hi && x < x_lo))
        hit.kind = HIT_LOWER;
      else
        hit.kind = HIT_UPPER;
      return hit;
    }

  if (x >= p->origin.x && x <= p->origin.x + p->size.width &&
      y >= p->origin.y && y <= plot_bottom (l))
    {
      double v = x_to_value (l, x);
      int bin = (int) floor ((v - self->hist_lo) / (self->hist_hi - self->hist_lo) * self->bins);

      if (bin >= 0 && bin < self->bins)
        {
          hit.kind = HIT_BIN;
          hit.bin = bin;
        }
    }
  return hit;
}

static char *
tooltip_for_hit (QsHistogramView *self,
                 Hit              hit)
{
  const QsHistogram *h;
  double lo, hi;

  if (self->report == NULL)
    return NULL;
  h = &self->report->analysis.histogram;
  displayed_range (self, &lo, &hi);

  switch (hit.kind)
    {
    case HIT_LOWER:
    case HIT_UPPER:
      {
        g_autofree char *value = qs_plot_format_value (hit.kind == HIT_LOWER ? lo : hi);

        return g_strdup_printf (hit.kind == HIT_LOWER ? _("Lower clip bound: %s\nDrag to set a manual range")
                                                      : _("Upper clip bound: %s\nDrag to set a manual range"),
                                value);
      }

    case HIT_BIN:
      {
        g_autofree char *a = qs_plot_format_value (bin_edge (self, hit.bin));
        g_autofree char *b = qs_plot_format_value (bin_edge (self, hit.bin + 1));
        g_autofree char *weights = g_strdup_printf ("%" G_GUINT64_FORMAT, h->counts[hit.bin]);

        if (h->quantized_counts == NULL)
          /* Translators: a histogram bin's value range, then how many weights fall in it. */
          return g_strdup_printf (_("%s to %s\nWeights: %s"), a, b, weights);
        else
          {
            g_autofree char *recon = g_strdup_printf ("%" G_GUINT64_FORMAT, h->quantized_counts[hit.bin]);

            /* Translators: a histogram bin's value range, how many weights fall
             * in it, and how many of their quantized reconstructions do. */
            return g_strdup_printf (_("%s to %s\nWeights: %s\nReconstructed: %s"), a, b, weights, recon);
          }
      }

    case HIT_NONE:
    default:
      return NULL;
    }
}

/* Drawing ------------------------------------------------------------------ */

static void
draw_bars (QsHistogramView   *self,
           const ChartLayout *l,
           QsPainter         *painter)
{
  double base = plot_bottom (l);
  double run_h = 0;
  double run_x;

  /* Edges snapped to whole pixels, so neighbouring bars meet without
   * antialiasing seams; bins narrower than a pixel merge into one column
   * showing their tallest. */
  run_x = round (value_to_x (l, bin_edge (self, 0)));
  for (int i = 0; i < self->bins; i++)
    {
      double count = qs_chart_series_get_value (self->weights, i);
      double x1 = round (value_to_x (l, bin_edge (self, i + 1)));
      double top = count > 0 ? count_to_y (l, count) : base;

      run_h = MAX (run_h, base - top);
      if (x1 > run_x)
        {
          /* A bin with a single weight still shows up: at least one pixel. */
          if (count > 0 || run_h > 0)
            qs_painter_fill_rect (painter, &PALETTE (self)->fg, 0.30,
                                  run_x, base - MAX (run_h, 1.0), x1 - run_x, MAX (run_h, 1.0));
          run_x = x1;
          run_h = 0;
        }
    }
}

static void
draw_reconstructed (QsHistogramView   *self,
                    const ChartLayout *l,
                    cairo_t           *cr)
{
  double base = plot_bottom (l);

  /* A step outline: it shows where the quantized values pile up without
   * hiding the bars under it. */
  cairo_move_to (cr, value_to_x (l, bin_edge (self, 0)), base);
  for (int i = 0; i < self->bins; i++)
    {
      double count = qs_chart_series_get_value (self->reconstructed, i);
      double y = count > 0 ? count_to_y (l, count) : base;

      cairo_line_to (cr, value_to_x (l, bin_edge (self, i)), y);
      cairo_line_to (cr, value_to_x (l, bin_edge (self, i + 1)), y);
    }
  cairo_line_to (cr, value_to_x (l, bin_edge (self, self->bins)), base);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_MITER);
  cairo_set_line_width (cr, 1.5);
  qs_chart_set_source (cr, &PALETTE (self)->accent, 1.0);
  cairo_stroke (cr);

  /* A spike cut at the top of the axis gets a mark, so its height is not
   * mistaken for the axis's; the tooltip tells its count. */
  if (!l->reconstructed_cut)
    return;
  for (int i = 0; i < self->bins; i++)
    if (qs_chart_series_get_value (self->reconstructed, i) > l->y_top)
      {
        double x = (value_to_x (l, bin_edge (self, i)) + value_to_x (l, bin_edge (self, i + 1))) / 2;

        cairo_move_to (cr, x, l->plot.origin.y - 6);
        cairo_line_to (cr, x - 4, l->plot.origin.y);
        cairo_line_to (cr, x + 4, l->plot.origin.y);
        cairo_close_path (cr);
      }
  cairo_fill (cr);
}

static void
draw_level (const ChartLayout *l,
            cairo_t           *cr,
            double             x,
            gboolean           lines)
{
  /* Pixel centres keep one-pixel lines sharp. */
  x = floor (x) + 0.5;
  if (lines)
    {
      cairo_move_to (cr, x, l->plot.origin.y);
      cairo_line_to (cr, x, plot_bottom (l));
    }
  else
    {
      cairo_move_to (cr, x, plot_bottom (l) - 5);
      cairo_line_to (cr, x, plot_bottom (l));
    }
}

static void
draw_levels (QsHistogramView   *self,
             const ChartLayout *l,
             cairo_t           *cr)
{
  const QsQuantParams *params = &self->report->params;
  const QsScheme *scheme = &self->report->scheme;
  gsize c = self->grid_channel;
  double last = -G_MAXDOUBLE;
  gboolean lines;

  lines = scheme->format == QS_FORMAT_INT && scheme->bits <= LEVEL_LINES_MAX_BITS;

  if (params->format == QS_FORMAT_INT)
    {
      double scale = params->scale[c];
      double zp = params->zero_point[c];
      double px_per_code = scale / (l->view_hi - l->view_lo) * l->plot.size.width;
      int stride = px_per_code >= LEVEL_MIN_SPACING ? 1 : (int) ceil (LEVEL_MIN_SPACING / px_per_code);
      double first = MAX ((double) params->qmin, ceil (l->view_lo / scale + zp));
      double end = MIN ((double) params->qmax, floor (l->view_hi / scale + zp));
      int anchor = (int) round (zp);

      /* Only the codes on screen, every stride-th one counted from the code
       * of 0, so a 16-bit grid costs what fits in the plot. */
      for (int code = (int) first; code <= (int) end; code++)
        {
          if (stride > 1 && (code - anchor) % stride != 0)
            continue;
          draw_level (l, cr, value_to_x (l, qs_dequantize_code (params, c, code)), lines);
        }
    }
  else
    {
      int slots = params->qmax - params->qmin + 1;
      int half = slots / 2;

      /* Float codes are sign and magnitude: the upper half counts down
       * from -0 and the lower half up from +0, so this order is sorted. */
      for (int k = 0; k < slots; k++)
        {
          int code = k < half ? slots - 1 - k : k - half;
          double v = qs_dequantize_code (params, c, code + params->qmin);
          double x;

          if (!isfinite (v) || v < l->view_lo || v > l->view_hi)
            continue;
          x = value_to_x (l, v);
          if (x - last < LEVEL_MIN_SPACING)
            continue;
          last = x;
          draw_level (l, cr, x, FALSE);
        }
    }

  cairo_set_line_width (cr, 1.0);
  qs_chart_set_source (cr, &PALETTE (self)->accent, lines ? 0.35 : 0.75);
  cairo_stroke (cr);
}

static void
draw_axes (QsHistogramView   *self,
           const ChartLayout *l,
           cairo_t           *cr)
{
  GtkWidget *widget = GTK_WIDGET (self);
  const graphene_rect_t *p = &l->plot;
  double base = plot_bottom (l);
  double last_right = -G_MAXDOUBLE;

  /* Horizontal grid lines at the count ticks. */
  for (int i = 1; i < l->n_y_ticks; i++)
    {
      double y = floor (count_to_y (l, l->y_ticks[i])) + 0.5;

      cairo_move_to (cr, p->origin.x, y);
      cairo_line_to (cr, p->origin.x + p->size.width, y);
    }
  cairo_set_line_width (cr, 1.0);
  qs_chart_set_source (cr, &PALETTE (self)->fg, 0.08);
  cairo_stroke (cr);

  /* The baseline and the value ticks under it. */
  cairo_move_to (cr, p->origin.x, floor (base) + 0.5);
  cairo_line_to (cr, p->origin.x + p->size.width, floor (base) + 0.5);
  for (int i = 0; i < l->n_x_ticks; i++)
    {
      double x = floor (value_to_x (l, l->x_ticks[i])) + 0.5;

      cairo_move_to (cr, x, floor (base) + 0.5);
      cairo_line_to (cr, x, floor (base) + 4.5);
    }
  qs_chart_set_source (cr, &PALETTE (self)->fg, 0.45);
  cairo_stroke (cr);

  qs_chart_set_source (cr, &PALETTE (self)->fg, 0.7);
  for (int i = 0; i < l->n_x_ticks; i++)
    {
      g_autofree char *label = qs_plot_format_value (l->x_ticks[i]);
      g_autoptr(PangoLayout) layout = qs_chart_create_layout (widget, label, TRUE);
      double x = value_to_x (l, l->x_ticks[i]);
      int w;

      pango_layout_get_pixel_size (layout, &w, NULL);
      /* Keep labels inside the widget and apart from each other. */
      x = CLAMP (x, w / 2.0 + 1, l->width - w / 2.0 - 1);
      if (x - w / 2.0 < last_right + 6)
        continue;
      last_right = x + w / 2.0;
      qs_plot_show_layout (cr, layout, x, base + 6, 0.5, 0.0);
    }

  for (int i = 0; i < l->n_y_ticks; i++)
    {
      g_autofree char *label = qs_plot_format_count (l->y_ticks[i]);
      g_autoptr(PangoLayout) layout = qs_chart_create_layout (widget, label, TRUE);

      qs_plot_show_layout (cr, layout, p->origin.x - 8, count_to_y (l, l->y_ticks[i]), 1.0, 0.5);
    }
}

static void
draw_legend (QsHistogramView   *self,
             const ChartLayout *l,
             cairo_t           *cr)
{
  gboolean lines = self->report->scheme.format == QS_FORMAT_INT &&
                   self->report->scheme.bits <= LEVEL_LINES_MAX_BITS;
  double y = round (l->row_height / 2 + 3);
  double x = l->plot.origin.x + l->plot.size.width;

  if (!l->show_legend)
    return;

  for (int e = 0; e < N_LEGEND; e++)
    {
      g_autoptr(PangoLayout) layout = NULL;
      int w;

      if (!legend_entry_shown (self, e))
        continue;
      layout = legend_layout (self, l, e);
      pango_layout_get_pixel_size (layout, &w, NULL);
      x -= w;
      qs_chart_set_source (cr, &PALETTE (self)->fg, 0.7);
      qs_plot_show_layout (cr, layout, x, y, 0.0, 0.5);

      switch ((LegendEntry) e)
        {
        case LEGEND_LEVELS:
          /* Three level marks, long as lines or short as ticks, as drawn. */
          for (int i = 0; i < 3; i++)
            {
              double lx = x - 16 + i * 4 + 0.5;

              cairo_move_to (cr, lx, y - (lines ? 5 : 2));
              cairo_line_to (cr, lx, y + 5);
            }
          cairo_set_line_width (cr, 1.0);
          qs_chart_set_source (cr, &PALETTE (self)->accent, lines ? 0.6 : 0.75);
          cairo_stroke (cr);
          break;

        case LEGEND_RECONSTRUCTED:
          cairo_move_to (cr, x - 18, y + 0.5);
          cairo_line_to (cr, x - 6, y + 0.5);
          cairo_set_line_width (cr, 1.5);
          qs_chart_set_source (cr, &PALETTE (self)->accent, 1.0);
          cairo_stroke (cr);
          break;

        case LEGEND_WEIGHTS:
        case N_LEGEND:
        default:
          cairo_rectangle (cr, x - 16, y - 4, 10, 8);
          qs_chart_set_source (cr, &PALETTE (self)->fg, 0.30);
          cairo_fill (cr);
          break;
        }
      x -= LEGEND_SWATCH + LEGEND_GAP;
    }
}

static void
draw_static (QsHistogramView   *self,
             const ChartLayout *l,
             QsPainter         *painter)
{
  cairo_t *cr;

  /* Zoomed in, the series stop at the plot's sides; the cut marks of
   * reconstructed spikes sit just above it. */
  qs_painter_push_clip (painter, &GRAPHENE_RECT_INIT (l->plot.origin.x, l->plot.origin.y - 7,
                                                      l->plot.size.width, l->plot.size.height + 7));
  /* Rectangles go in as colour nodes; everything else needs Cairo. */
  draw_bars (self, l, painter);
  cr = qs_painter_begin_cairo (painter);
  if (reconstructed_shown (self))
    draw_reconstructed (self, l, cr);
  if (has_single_grid (self))
    draw_levels (self, l, cr);
  qs_painter_end_cairo (painter, cr);
  qs_painter_pop_clip (painter);

  cr = qs_painter_begin_cairo (painter);
  draw_axes (self, l, cr);
  draw_legend (self, l, cr);
  qs_painter_end_cairo (painter, cr);
}

static void
draw_handle (QsHistogramView   *self,
             const ChartLayout *l,
             cairo_t           *cr,
             double             value,
             gboolean           active)
{
  double x = round (value_to_x (l, value));
  double top = l->plot.origin.y;
  double radius = active ? 6.5 : 5.0;

  cairo_move_to (cr, x, top);
  cairo_line_to (cr, x, plot_bottom (l));
  cairo_set_line_width (cr, 2.0);
  qs_chart_set_source (cr, &PALETTE (self)->accent, 1.0);
  cairo_stroke (cr);

  /* The knob says "grab me"; a ring in the background colour lifts it off
   * the bars. */
  cairo_arc (cr, x, top, radius + 1.5, 0, 2 * G_PI);
  qs_chart_set_source (cr, &PALETTE (self)->bg, 1.0);
  cairo_fill (cr);
  cairo_arc (cr, x, top, radius, 0, 2 * G_PI);
  qs_chart_set_source (cr, &PALETTE (self)->accent, 1.0);
  cairo_fill (cr);
}

static void
draw_overlay (QsHistogramView   *self,
              const ChartLayout *l,
              QsPainter         *painter)
{
  GtkWidget *widget = GTK_WIDGET (self);
  const graphene_rect_t *p = &l->plot;
  double lo, hi, x_lo, x_hi, x_zero;
  g_autofree char *clip_text = NULL;
  g_autoptr(PangoLayout) clip_layout = NULL;
  cairo_t *cr;

  displayed_range (self, &lo, &hi);
  x_lo = round (value_to_x (l, lo));
  x_hi = round (value_to_x (l, hi));

  /* What a zoom moves off the plot stays off it (the knobs of the handles
   * rise a little above it); the clip text above is drawn after. */
  qs_painter_push_clip (painter, &GRAPHENE_RECT_INIT (p->origin.x - 8, 0, p->size.width + 16, l->height));

  /* Hovered bin. */
  if (self->hover.kind == HIT_BIN && self->drag == HIT_NONE)
    {
      double a_x = round (value_to_x (l, bin_edge (self, self->hover.bin)));
      double b_x = round (value_to_x (l, bin_edge (self, self->hover.bin + 1)));

      qs_painter_fill_rect (painter, &PALETTE (self)->fg, 0.10,
                            a_x, p->origin.y, MAX (1.0, b_x - a_x), p->size.height);
    }

  if (!has_single_grid (self))
    {
      qs_painter_pop_clip (painter);
      return;
    }

  /* Values outside the clip range are shaded: they all land on the end levels. */
  x_lo = CLAMP (x_lo, p->origin.x, p->origin.x + p->size.width);
  x_hi = CLAMP (x_hi, p->origin.x, p->origin.x + p->size.width);
  qs_painter_fill_rect (painter, &PALETTE (self)->fg, 0.09,
                        p->origin.x, p->origin.y, x_lo - p->origin.x, p->size.height);
  qs_painter_fill_rect (painter, &PALETTE (self)->fg, 0.09,
                        x_hi, p->origin.y, p->origin.x + p->size.width - x_hi, p->size.height);

  cr = qs_painter_begin_cairo (painter);

  /* 0.0, dashed, and where it lands after quantization when that differs. */
  x_zero = floor (value_to_x (l, 0.0)) + 0.5;
  cairo_move_to (cr, x_zero, p->origin.y);
  cairo_line_to (cr, x_zero, plot_bottom (l));
  cairo_set_dash (cr, (double[]) { 3, 3 }, 2, 0);
  cairo_set_line_width (cr, 1.0);
  qs_chart_set_source (cr, &PALETTE (self)->fg, 0.55);
  cairo_stroke (cr);
  cairo_set_dash (cr, NULL, 0, 0);

  if (self->zero_recon != 0 && isfinite (self->zero_recon))
    {
      g_autofree char *value = qs_plot_format_value (self->zero_recon);
      g_autofree char *text = g_strdup_printf (_("0 → %s"), value);
      g_autoptr(PangoLayout) layout = qs_chart_create_layout (widget, text, TRUE);
      double x_q = round (value_to_x (l, self->zero_recon));
      double y = p->origin.y + 10;
      double ax = x_q >= x_zero ? 0.0 : 1.0;
      int w;

      cairo_move_to (cr, x_q, p->origin.y + 4);
      cairo_line_to (cr, x_q, plot_bottom (l));
      cairo_set_line_width (cr, 2.0);
      qs_chart_set_source (cr, &PALETTE (self)->warning, 1.0);
      cairo_stroke (cr);

      /* A small arrow from 0.0 to where it lands. */
      cairo_move_to (cr, x_q, plot_bottom (l) + 1);
      cairo_line_to (cr, x_q - 4, plot_bottom (l) + 7);
      cairo_line_to (cr, x_q + 4, plot_bottom (l) + 7);
      cairo_close_path (cr);
      cairo_fill (cr);

      pango_layout_get_pixel_size (layout, &w, NULL);
      /* The label goes on the side away from 0.0, flipped if it would
       * leave the plot. */
      if (ax == 0.0 && x_q + 6 + w > p->origin.x + p->size.width)
        ax = 1.0;
      else if (ax == 1.0 && x_q - 6 - w < p->origin.x)
        ax = 0.0;
      qs_plot_show_layout (cr, layout, ax == 0.0 ? x_q + 6 : x_q - 6, y, ax, 0.0);
    }

  /* The clip handles. */
  draw_handle (self, l, cr, lo, self->drag == HIT_LOWER || self->hover.kind == HIT_LOWER);
  draw_handle (self, l, cr, hi, self->drag == HIT_UPPER || self->hover.kind == HIT_UPPER);
  qs_painter_end_cairo (painter, cr);
  qs_painter_pop_clip (painter);

  cr = qs_painter_begin_cairo (painter);
  clip_text = clip_text_for (self, lo, hi, self->drag != HIT_NONE || self->has_override);
  clip_layout = qs_chart_create_layout (widget, clip_text, TRUE);
  qs_chart_set_source (cr, &PALETTE (self)->fg, 0.7);
  qs_plot_show_layout (cr, clip_layout, p->origin.x, l->row_height / 2 + 3, 0.0, 0.5);

  qs_painter_end_cairo (painter, cr);
}

/* QsChartView's drawing: for the layout it made last (the screen's, or a
 * rendered picture's). */
static void
qs_histogram_view_draw_static (QsChartView *chart,
                               QsPainter   *painter)
{
  QsHistogramView *self = QS_HISTOGRAM_VIEW (chart);

  draw_static (self, &self->layout, painter);
}

static void
qs_histogram_view_draw_overlay (QsChartView *chart,
                                QsPainter   *painter)
{
  QsHistogramView *self = QS_HISTOGRAM_VIEW (chart);

  draw_overlay (self, &self->layout, painter);
}

static gboolean
qs_histogram_view_has_data (QsChartView *chart)
{
  QsHistogramView *self = QS_HISTOGRAM_VIEW (chart);

  return self->report != NULL && self->bins > 0;
}

static void
qs_histogram_view_layout (QsChartView     *chart,
                          int              width,
                          int              height,
                          graphene_rect_t *plot)
{
  QsHistogramView *self = QS_HISTOGRAM_VIEW (chart);

  QsChartAxis *counts = qs_chart_view_get_y_axis (chart);

  compute_layout (self, width, height, &self->layout);
  if (self->report != NULL)
    {
      qs_chart_axis_set_log (counts, self->layout.log_scale);
      qs_chart_axis_set_range (counts, 0, MAX (1.0, self->layout.y_top));
    }
  *plot = self->layout.plot;
}

/* Interaction -------------------------------------------------------------- */

static void
set_hover (QsHistogramView *self,
           Hit              hit)
{
  gboolean on_handle = hit.kind == HIT_LOWER || hit.kind == HIT_UPPER;

  if (hit.kind == self->hover.kind && hit.bin == self->hover.bin)
    return;
  self->hover = hit;
  if (self->drag == HIT_NONE)
    gtk_widget_set_cursor_from_name (GTK_WIDGET (self), on_handle ? "ew-resize" : NULL);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
qs_histogram_view_pointer_moved (QsChartView *chart,
                                 double       x,
                                 double       y,
                                 gboolean     inside)
{
  QsHistogramView *self = QS_HISTOGRAM_VIEW (chart);

  set_hover (self, inside ? hit_test (self, &self->layout, x, y) : (Hit) { HIT_NONE, -1 });
}

static char *
qs_histogram_view_tooltip_at (QsChartView *chart,
                              double       x,
                              double       y,
                              gboolean     keyboard)
{
  QsHistogramView *self = QS_HISTOGRAM_VIEW (chart);

  return tooltip_for_hit (self, hit_test (self, &self->layout, x, y));
}

static gboolean
drag_begin (QsHistogramView *self,
            double           x,
            double           y)
{
  const ChartLayout *l = ensure_layout (self);
  Hit hit = hit_test (self, l, x, y);
  double lo, hi;

  if (hit.kind != HIT_LOWER && hit.kind != HIT_UPPER)
    return FALSE;

  displayed_range (self, &lo, &hi);
  self->override_lo = lo;
  self->override_hi = hi;
  self->drag = hit.kind;
  self->hover = hit;
  gtk_widget_set_cursor_from_name (GTK_WIDGET (self), "ew-resize");
  gtk_widget_queue_draw (GTK_WIDGET (self));
  return TRUE;
}

static void
drag_update (QsHistogramView *self,
             double           x)
{
  const ChartLayout *l = ensure_layout (self);
  double value = CLAMP (x_to_value (l, x), l->view_lo, l->view_hi);
  double min_width = (l->view_hi - l->view_lo) * 1e-3;
  double lo = self->override_lo, hi = self->override_hi;

  /* The quantizer widens any range to contain 0, so the handles stop there
   * rather than pretend otherwise; and they never cross. */
  if (self->drag == HIT_LOWER)
    lo = MIN (value, MIN (0.0, hi - min_width));
  else if (self->drag == HIT_UPPER)
    hi = MAX (value, MAX (0.0, lo + min_width));
  else
    return;

  if (lo == self->override_lo && hi == self->override_hi)
    return;
  self->override_lo = lo;
  self->override_hi = hi;
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_signal_emit (self, signals[RANGE_CHANGED], 0, lo, hi);
}

static void
drag_end (QsHistogramView *self,
          double           x)
{
  if (self->drag == HIT_NONE)
    return;
  drag_update (self, x);
  self->drag = HIT_NONE;
  self->has_override = TRUE;
  /* The axis may grow now to show a handle pulled to its edge. */
  invalidate_static (self);
  update_accessible (self);
  g_signal_emit (self, signals[RANGE_COMMITTED], 0, self->override_lo, self->override_hi);
}

static void
drag_begin_cb (GtkGestureDrag  *gesture,
               double           x,
               double           y,
               QsHistogramView *self)
{
  GdkModifierType state = gtk_event_controller_get_current_event_state (GTK_EVENT_CONTROLLER (gesture));

  /* Shift and drag pans the chart (QsChartView), even over a handle. */
  if ((state & GDK_SHIFT_MASK) == 0 && drag_begin (self, x, y))
    gtk_gesture_set_state (GTK_GESTURE (gesture), GTK_EVENT_SEQUENCE_CLAIMED);
  else
    gtk_gesture_set_state (GTK_GESTURE (gesture), GTK_EVENT_SEQUENCE_DENIED);
}

static void
drag_update_cb (GtkGestureDrag  *gesture,
                double           offset_x,
                double           offset_y,
                QsHistogramView *self)
{
  double start_x, start_y;

  if (gtk_gesture_drag_get_start_point (gesture, &start_x, &start_y))
    drag_update (self, start_x + offset_x);
}

static void
drag_end_cb (GtkGestureDrag  *gesture,
             double           offset_x,
             double           offset_y,
             QsHistogramView *self)
{
  double start_x, start_y;

  if (gtk_gesture_drag_get_start_point (gesture, &start_x, &start_y))
    drag_end (self, start_x + offset_x);
}

static void
drag_cancel_cb (GtkGesture       *gesture,
                GdkEventSequence *sequence,
                QsHistogramView  *self)
{
  /* A grab broken by the system: commit what the user last saw. */
  if (self->drag != HIT_NONE)
    drag_end (self, value_to_x (ensure_layout (self),
                                self->drag == HIT_LOWER ? self->override_lo : self->override_hi));
}

/* A click (no drag: the click gesture gives up once the pointer moves) on
 * a bar hands its centre value to whoever wants to inspect it. */
static gboolean
activate_bin_at (QsHistogramView *self,
                 double           x,
                 double           y)
{
  Hit hit = hit_test (self, ensure_layout (self), x, y);

  if (hit.kind != HIT_BIN)
    return FALSE;
  g_signal_emit (self, signals[BIN_ACTIVATED], 0, (bin_edge (self, hit.bin) + bin_edge (self, hit.bin + 1)) / 2);
  return TRUE;
}

static void
click_released_cb (GtkGestureClick *gesture,
                   int              n_press,
                   double           x,
                   double           y,
                   QsHistogramView *self)
{
  if (n_press == 1)
    activate_bin_at (self, x, y);
}

/* A file is for a page, not the screen: src/plot's paper style, whatever
 * the app's colours, with the tensor and scheme as its title, the shown
 * channel and the log scale as on screen. */
static char *
qs_histogram_view_export_title (QsChartView *chart)
{
  const QsTensorReport *report = QS_HISTOGRAM_VIEW (chart)->report;
  /* The scheme in the user's language, as the window shows it: the
   * legend and axes of the file are translated too. */
  g_autofree char *scheme = qs_histogram_view_describe_scheme (report);

  return g_strdup_printf ("%s · %s", report->info->path, scheme);
}

static void
qs_histogram_view_draw_export (QsChartView *chart,
                               cairo_t     *cr,
                               double       width,
                               double       height,
                               const char  *title)
{
  QsHistogramView *self = QS_HISTOGRAM_VIEW (chart);
  const QsPlotLabels labels = { title, NULL, NULL };
  QsPlotStyle style;

  qs_plot_style_init (&style, QS_PLOT_THEME_PAPER);
  qs_plot_histogram (cr, width, height, &style, &labels, self->report, (int) effective_channel (self),
                     self->log_scale, NULL);
}

/* GObject ------------------------------------------------------------------- */

static void
qs_histogram_view_measure (GtkWidget      *widget,
                           GtkOrientation  orientation,
                           int             for_size,
                           int            *minimum,
                           int            *natural,
                           int            *minimum_baseline,
                           int            *natural_baseline)
{
  if (orientation == GTK_ORIENTATION_HORIZONTAL)
    {
      *minimum = 240;
      *natural = 560;
    }
  else
    {
      *minimum = 160;
      *natural = 280;
    }
}

static void
qs_histogram_view_dispose (GObject *object)
{
  QsHistogramView *self = QS_HISTOGRAM_VIEW (object);

  g_clear_pointer (&self->report, qs_tensor_report_unref);
  g_clear_object (&self->weights);
  g_clear_object (&self->reconstructed);

  G_OBJECT_CLASS (qs_histogram_view_parent_class)->dispose (object);
}

static void
qs_histogram_view_finalize (GObject *object)
{
  QsHistogramView *self = QS_HISTOGRAM_VIEW (object);

  g_free (self->summary);

  G_OBJECT_CLASS (qs_histogram_view_parent_class)->finalize (object);
}

static void
qs_histogram_view_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  QsHistogramView *self = QS_HISTOGRAM_VIEW (object);

  switch (prop_id)
    {
    case PROP_REPORT:
      g_value_set_boxed (value, self->report);
      break;

    case PROP_LOG_SCALE:
      g_value_set_boolean (value, self->log_scale);
      break;

    case PROP_SHOW_QUANTIZED:
      g_value_set_boolean (value, self->show_quantized);
      break;

    case PROP_CHANNEL:
      g_value_set_int (value, self->channel);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
qs_histogram_view_set_property (GObject      *object,
                                guint         prop_id,
                                const GValue *value,
                                GParamSpec   *pspec)
{
  QsHistogramView *self = QS_HISTOGRAM_VIEW (object);

  switch (prop_id)
    {
    case PROP_REPORT:
      qs_histogram_view_set_report (self, g_value_get_boxed (value));
      break;

    case PROP_LOG_SCALE:
      qs_histogram_view_set_log_scale (self, g_value_get_boolean (value));
      break;

    case PROP_SHOW_QUANTIZED:
      qs_histogram_view_set_show_quantized (self, g_value_get_boolean (value));
      break;

    case PROP_CHANNEL:
      qs_histogram_view_set_channel (self, g_value_get_int (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
qs_histogram_view_class_init (QsHistogramViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  QsChartViewClass *chart_class = QS_CHART_VIEW_CLASS (klass);

  object_class->dispose = qs_histogram_view_dispose;
  object_class->finalize = qs_histogram_view_finalize;
  object_class->get_property = qs_histogram_view_get_property;
  object_class->set_property = qs_histogram_view_set_property;

  widget_class->measure = qs_histogram_view_measure;

  chart_class->has_data = qs_histogram_view_has_data;
  chart_class->layout = qs_histogram_view_layout;
  chart_class->draw_static = qs_histogram_view_draw_static;
  chart_class->draw_overlay = qs_histogram_view_draw_overlay;
  chart_class->pointer_moved = qs_histogram_view_pointer_moved;
  chart_class->tooltip_at = qs_histogram_view_tooltip_at;
  chart_class->export_title = qs_histogram_view_export_title;
  chart_class->draw_export = qs_histogram_view_draw_export;

  properties[PROP_REPORT] =
    g_param_spec_boxed ("report", NULL, NULL,
                        QS_TYPE_TENSOR_REPORT,
                        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  properties[PROP_LOG_SCALE] =
    g_param_spec_boolean ("log-scale", NULL, NULL,
                          FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  properties[PROP_SHOW_QUANTIZED] =
    g_param_spec_boolean ("show-quantized", NULL, NULL,
                          TRUE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  properties[PROP_CHANNEL] =
    g_param_spec_int ("channel", NULL, NULL,
                      -1, G_MAXINT, -1,
                      G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * QsHistogramView::range-changed:
   * @lo: the lower clip bound being dragged to
   * @hi: the upper clip bound
   *
   * Emitted on every pointer motion while a clip handle is dragged.
   */
  signals[RANGE_CHANGED] =
    g_signal_new ("range-changed",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_DOUBLE, G_TYPE_DOUBLE);

  /**
   * QsHistogramView::range-committed:
   * @lo: the lower clip bound
   * @hi: the upper clip bound
   *
   * Emitted once when the user releases a clip handle.
   */
  signals[RANGE_COMMITTED] =
    g_signal_new ("range-committed",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_DOUBLE, G_TYPE_DOUBLE);

  /**
   * QsHistogramView::bin-activated:
   * @value: the centre of the bin clicked
   *
   * Emitted when the user clicks a histogram bin (not a clip handle).
   */
  signals[BIN_ACTIVATED] =
    g_signal_new ("bin-activated",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_DOUBLE);

  gtk_widget_class_set_css_name (widget_class, "histogramview");
}

/* The keyboard moves the handles as a drag would: Left and Right the
 * upper one, with Shift the lower one, a hundredth of the axis per press. */
static gboolean
move_handle_by_key (QsHistogramView *self,
                    guint            keyval,
                    GdkModifierType  state)
{
  const ChartLayout *l;
  gboolean upper = (state & GDK_SHIFT_MASK) == 0;
  double lo, hi, step;
  int direction;

  if (keyval == GDK_KEY_Left || keyval == GDK_KEY_KP_Left)
    direction = -1;
  else if (keyval == GDK_KEY_Right || keyval == GDK_KEY_KP_Right)
    direction = +1;
  else
    return FALSE;
  if (self->report == NULL || self->drag != HIT_NONE)
    return FALSE;

  l = ensure_layout (self);
  step = (l->view_hi - l->view_lo) / 100.0;
  displayed_range (self, &lo, &hi);
  self->override_lo = lo;
  self->override_hi = hi;
  self->drag = upper ? HIT_UPPER : HIT_LOWER;
  drag_end (self, value_to_x (l, (upper ? hi : lo) + direction * step));
  return TRUE;
}

static gboolean
key_pressed_cb (GtkEventControllerKey *key,
                guint                  keyval,
                guint                  keycode,
                GdkModifierType        state,
                QsHistogramView       *self)
{
  return move_handle_by_key (self, keyval, state);
}

static void
qs_histogram_view_init (QsHistogramView *self)
{
  QsChartView *chart = QS_CHART_VIEW (self);
  GtkEventController *key;
  GtkGesture *drag;
  GtkGesture *click;

  self->show_quantized = TRUE;
  self->channel = -1;
  self->hover = (Hit) { HIT_NONE, -1 };
  self->drag = HIT_NONE;
  self->weights = qs_chart_series_new (qs_chart_view_get_x_axis (chart), qs_chart_view_get_y_axis (chart));
  self->reconstructed = qs_chart_series_new (qs_chart_view_get_x_axis (chart), qs_chart_view_get_y_axis (chart));
  qs_chart_view_set_zoomable (chart, TRUE);

  drag = gtk_gesture_drag_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (drag), GDK_BUTTON_PRIMARY);
  g_signal_connect (drag, "drag-begin", G_CALLBACK (drag_begin_cb), self);
  g_signal_connect (drag, "drag-update", G_CALLBACK (drag_update_cb), self);
  g_signal_connect (drag, "drag-end", G_CALLBACK (drag_end_cb), self);
  g_signal_connect (drag, "cancel", G_CALLBACK (drag_cancel_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drag));

  click = gtk_gesture_click_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (click), GDK_BUTTON_PRIMARY);
  g_signal_connect (click, "released", G_CALLBACK (click_released_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (click));

  key = gtk_event_controller_key_new ();
  g_signal_connect (key, "key-pressed", G_CALLBACK (key_pressed_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), key);
  gtk_widget_set_focusable (GTK_WIDGET (self), TRUE);
  gtk_widget_set_focus_on_click (GTK_WIDGET (self), TRUE);

  update_accessible (self);
}

/* Public API ---------------------------------------------------------------- */

/**
 * qs_histogram_view_new:
 *
 * Returns: (transfer floating): a histogram view showing no tensor
 */
GtkWidget *
qs_histogram_view_new (void)
{
  return g_object_new (QS_TYPE_HISTOGRAM_VIEW, NULL);
}

void
qs_histogram_view_set_report (QsHistogramView *self,
                              QsTensorReport  *report)
{
  g_return_if_fail (QS_IS_HISTOGRAM_VIEW (self));

  if (report == self->report)
    return;

  if (report != NULL)
    qs_tensor_report_ref (report);
  g_clear_pointer (&self->report, qs_tensor_report_unref);
  self->report = report;

  /* A new report answers the dragged range (or replaces it); while a
   * handle is still held, the user's range stays on screen. */
  if (self->drag == HIT_NONE)
    self->has_override = FALSE;
  self->hover = (Hit) { HIT_NONE, -1 };

  prepare_report (self);
  invalidate_static (self);
  update_accessible (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_REPORT]);
}

QsTensorReport *
qs_histogram_view_get_report (QsHistogramView *self)
{
  g_return_val_if_fail (QS_IS_HISTOGRAM_VIEW (self), NULL);

  return self->report;
}

void
qs_histogram_view_set_log_scale (QsHistogramView *self,
                                 gboolean         log_scale)
{
  g_return_if_fail (QS_IS_HISTOGRAM_VIEW (self));

  log_scale = !!log_scale;
  if (log_scale == self->log_scale)
    return;
  self->log_scale = log_scale;
  invalidate_static (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOG_SCALE]);
}

gboolean
qs_histogram_view_get_log_scale (QsHistogramView *self)
{
  g_return_val_if_fail (QS_IS_HISTOGRAM_VIEW (self), FALSE);

  return self->log_scale;
}

void
qs_histogram_view_set_show_quantized (QsHistogramView *self,
                                      gboolean         show_quantized)
{
  g_return_if_fail (QS_IS_HISTOGRAM_VIEW (self));

  show_quantized = !!show_quantized;
  if (show_quantized == self->show_quantized)
    return;
  self->show_quantized = show_quantized;
  invalidate_static (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SHOW_QUANTIZED]);
}

gboolean
qs_histogram_view_get_show_quantized (QsHistogramView *self)
{
  g_return_val_if_fail (QS_IS_HISTOGRAM_VIEW (self), FALSE);

  return self->show_quantized;
}

void
qs_histogram_view_set_channel (QsHistogramView *self,
                               int              channel)
{
  g_return_if_fail (QS_IS_HISTOGRAM_VIEW (self));
  g_return_if_fail (channel >= -1);

  if (channel == self->channel)
    return;
  self->channel = channel;
  update_channel (self);
  invalidate_static (self);
  update_accessible (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CHANNEL]);
}

int
qs_histogram_view_get_channel (QsHistogramView *self)
{
  g_return_val_if_fail (QS_IS_HISTOGRAM_VIEW (self), -1);

  return self->channel;
}

gboolean
qs_histogram_view_get_clip_range (QsHistogramView *self,
                                  double          *lo,
                                  double          *hi)
{
  double a = 0, b = 0;

  g_return_val_if_fail (QS_IS_HISTOGRAM_VIEW (self), FALSE);

  if (self->report != NULL)
    displayed_range (self, &a, &b);
  if (lo != NULL)
    *lo = a;
  if (hi != NULL)
    *hi = b;
  return self->report != NULL;
}

/**
 * qs_histogram_view_render:
 * @self: a histogram view
 * @width: width in pixels
 * @height: height in pixels
 *
 * Draws the chart through the same snapshot code as the screen, on the
 * window background, and rasterises it with Cairo.
 *
 * Returns: (transfer full): the picture
 */
GdkTexture *
qs_histogram_view_render (QsHistogramView *self,
                          int              width,
                          int              height)
{
  g_return_val_if_fail (QS_IS_HISTOGRAM_VIEW (self), NULL);
  return qs_chart_view_render (QS_CHART_VIEW (self), width, height);
}

gboolean
qs_histogram_view_export (QsHistogramView  *self,
                          const char       *path,
                          int               width,
                          int               height,
                          GError          **error)
{
  g_return_val_if_fail (QS_IS_HISTOGRAM_VIEW (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (self->report == NULL)
    {
      g_set_error (error, QS_ERROR, QS_ERROR_INVALID, _("No tensor to plot"));
      return FALSE;
    }
  return qs_chart_view_export (QS_CHART_VIEW (self), path, width, height, error);
}

/* Test hooks ------------------------------------------------------------- */

double
_qs_histogram_view_x_to_value (QsHistogramView *self,
                               double           x)
{
  return x_to_value (ensure_layout (self), x);
}

double
_qs_histogram_view_value_to_x (QsHistogramView *self,
                               double           value)
{
  return value_to_x (ensure_layout (self), value);
}

gboolean
_qs_histogram_view_drag (QsHistogramView *self,
                         gboolean         upper,
                         double           from_x,
                         double           to_x)
{
  const ChartLayout *l = ensure_layout (self);
  double y = l->plot.origin.y + l->plot.size.height / 2;
  Hit hit = hit_test (self, l, from_x, y);

  if (hit.kind != (upper ? HIT_UPPER : HIT_LOWER))
    return FALSE;
  if (!drag_begin (self, from_x, y))
    return FALSE;
  drag_update (self, to_x);
  drag_end (self, to_x);
  return TRUE;
}

gboolean
_qs_histogram_view_click (QsHistogramView *self,
                          double           x)
{
  const ChartLayout *l = ensure_layout (self);

  return activate_bin_at (self, x, l->plot.origin.y + l->plot.size.height / 2);
}

void
_qs_histogram_view_get_plot (QsHistogramView *self,
                             int              width,
                             int              height,
                             graphene_rect_t *plot,
                             double          *view_lo,
                             double          *view_hi)
{
  ChartLayout layout;

  /* Lays out the axes for that size too: the screen lays out again after. */
  compute_layout (self, width, height, &layout);
  qs_chart_view_invalidate (QS_CHART_VIEW (self));
  *plot = layout.plot;
  *view_lo = layout.view_lo;
  *view_hi = layout.view_hi;
}

char *
_qs_histogram_view_tooltip_at (QsHistogramView *self,
                               double           x,
                               double           y)
{
  return tooltip_for_hit (self, hit_test (self, ensure_layout (self), x, y));
}

double
_qs_histogram_view_series_value (QsHistogramView *self,
                                 gboolean         reconstructed,
                                 int              bin)
{
  return qs_chart_series_get_value (reconstructed ? self->reconstructed : self->weights, (guint) bin);
}

gboolean
_qs_histogram_view_reconstructed_cut (QsHistogramView *self)
{
  return ensure_layout (self)->reconstructed_cut;
}

const char *
_qs_histogram_view_get_summary (QsHistogramView *self)
{
  return self->summary;
}

double
_qs_histogram_view_estimate_clipped (QsHistogramView *self,
                                     double           lo,
                                     double           hi)
{
  g_return_val_if_fail (self->report != NULL, 0.0);
  return estimate_clipped (self, lo, hi);
}

void
_qs_histogram_view_get_handles (QsHistogramView *self,
                                double          *lo,
                                double          *hi)
{
  displayed_range (self, lo, hi);
}

gboolean
_qs_histogram_view_key (QsHistogramView *self,
                        guint            keyval,
                        GdkModifierType  state)
{
  return move_handle_by_key (self, keyval, state);
}
