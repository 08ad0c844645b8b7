/* qs-chart-axis.c: one axis of a chart: its data range, the window on view, and value <-> 0..1.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "app/qs-chart-axis.h"

#include <math.h>

/* The narrowest window, as a share of the range: deeper than any
 * histogram's bins are worth, short of rounding trouble. */
#define MIN_WINDOW_SHARE 1e-4

struct _QsChartAxis
{
  GObject  parent_instance;

  double   lo;
  double   hi;
  double   view_lo;
  double   view_hi;
  gboolean log_scale;
  guint    serial;
};

G_DEFINE_FINAL_TYPE (QsChartAxis, qs_chart_axis, G_TYPE_OBJECT)

enum {
  CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
qs_chart_axis_class_init (QsChartAxisClass *klass)
{
  signals[CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                   0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
qs_chart_axis_init (QsChartAxis *self)
{
  self->hi = self->view_hi = 1.0;
}

QsChartAxis *
qs_chart_axis_new (void)
{
  return g_object_new (QS_TYPE_CHART_AXIS, NULL);
}

static void
emit_changed (QsChartAxis *self)
{
  self->serial++;
  g_signal_emit (self, signals[CHANGED], 0);
}

/* Moves [lo, hi] inside the range keeping its width (at most the range's). */
static void
set_window (QsChartAxis *self,
            double       lo,
            double       hi)
{
  double width = MIN (hi - lo, self->hi - self->lo);

  width = MAX (width, (self->hi - self->lo) * MIN_WINDOW_SHARE);
  if (width >= (self->hi - self->lo) * (1 - 1e-12))
    {
      /* The whole range, exactly: not "zoomed" by a rounding error. */
      self->view_lo = self->lo;
      self->view_hi = self->hi;
      return;
    }
  lo = CLAMP (lo, self->lo, self->hi - width);
  self->view_lo = lo;
  self->view_hi = lo + width;
  if (self->view_hi > self->hi)
    self->view_hi = self->hi;
}

void
qs_chart_axis_set_range (QsChartAxis *self,
                         double       lo,
                         double       hi)
{
  gboolean zoomed;

  g_return_if_fail (QS_IS_CHART_AXIS (self));
  g_return_if_fail (hi > lo);

  if (lo == self->lo && hi == self->hi)
    return;
  zoomed = qs_chart_axis_is_zoomed (self);
  self->lo = lo;
  self->hi = hi;
  if (zoomed && self->view_lo >= lo && self->view_hi <= hi)
    set_window (self, self->view_lo, self->view_hi);
  else
    {
      self->view_lo = lo;
      self->view_hi = hi;
    }
  emit_changed (self);
}

void
qs_chart_axis_get_range (QsChartAxis *self,
                         double      *lo,
                         double      *hi)
{
  g_return_if_fail (QS_IS_CHART_AXIS (self));
  if (lo != NULL)
    *lo = self->lo;
  if (hi != NULL)
    *hi = self->hi;
}

void
qs_chart_axis_set_log (QsChartAxis *self,
                       gboolean     log_scale)
{
  g_return_if_fail (QS_IS_CHART_AXIS (self));

  log_scale = !!log_scale;
  if (log_scale == self->log_scale)
    return;
  self->log_scale = log_scale;
  emit_changed (self);
}

gboolean
qs_chart_axis_get_log (QsChartAxis *self)
{
  g_return_val_if_fail (QS_IS_CHART_AXIS (self), FALSE);
  return self->log_scale;
}

void
qs_chart_axis_get_view (QsChartAxis *self,
                        double      *lo,
                        double      *hi)
{
  g_return_if_fail (QS_IS_CHART_AXIS (self));
  if (lo != NULL)
    *lo = self->view_lo;
  if (hi != NULL)
    *hi = self->view_hi;
}

static double
scaled (const QsChartAxis *self,
        double             value)
{
  return self->log_scale ? log1p (MAX (value, 0.0)) : value;
}

double
qs_chart_axis_normalize (QsChartAxis *self,
                         double       value)
{
  double lo, hi;

  g_return_val_if_fail (QS_IS_CHART_AXIS (self), 0.0);

  lo = scaled (self, self->view_lo);
  hi = scaled (self, self->view_hi);
  return hi > lo ? (scaled (self, value) - lo) / (hi - lo) : 0.0;
}

double
qs_chart_axis_denormalize (QsChartAxis *self,
                           double       fraction)
{
  double lo, hi, v;

  g_return_val_if_fail (QS_IS_CHART_AXIS (self), 0.0);

  lo = scaled (self, self->view_lo);
  hi = scaled (self, self->view_hi);
  v = lo + fraction * (hi - lo);
  return self->log_scale ? expm1 (v) : v;
}

guint
qs_chart_axis_get_serial (QsChartAxis *self)
{
  g_return_val_if_fail (QS_IS_CHART_AXIS (self), 0);
  return self->serial;
}

void
qs_chart_axis_zoom (QsChartAxis *self,
                    double       anchor,
                    double       factor)
{
  double at, width, lo, hi;

  g_return_if_fail (QS_IS_CHART_AXIS (self));
  g_return_if_fail (factor > 0);
  g_return_if_fail (!self->log_scale);

  at = self->view_lo + CLAMP (anchor, 0.0, 1.0) * (self->view_hi - self->view_lo);
  width = (self->view_hi - self->view_lo) / factor;
  width = CLAMP (width, (self->hi - self->lo) * MIN_WINDOW_SHARE, self->hi - self->lo);
  lo = at - CLAMP (anchor, 0.0, 1.0) * width;
  hi = lo + width;
  set_window (self, lo, hi);
  emit_changed (self);
}

void
qs_chart_axis_pan (QsChartAxis *self,
                   double       fraction)
{
  double shift;

  g_return_if_fail (QS_IS_CHART_AXIS (self));

  shift = fraction * (self->view_hi - self->view_lo);
  set_window (self, self->view_lo + shift, self->view_hi + shift);
  emit_changed (self);
}

void
qs_chart_axis_reset_view (QsChartAxis *self)
{
  g_return_if_fail (QS_IS_CHART_AXIS (self));

  if (!qs_chart_axis_is_zoomed (self))
    return;
  self->view_lo = self->lo;
  self->view_hi = self->hi;
  emit_changed (self);
}

gboolean
qs_chart_axis_is_zoomed (QsChartAxis *self)
{
  g_return_val_if_fail (QS_IS_CHART_AXIS (self), FALSE);
  return self->view_lo > self->lo || self->view_hi < self->hi;
}
