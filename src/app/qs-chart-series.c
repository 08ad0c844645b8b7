/* qs-chart-series.c: values over equal-width bins, with their positions normalised against two axes.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "app/qs-chart-series.h"

#include <math.h>

struct _QsChartSeries
{
  GObject      parent_instance;

  QsChartAxis *x;
  QsChartAxis *y;
  double       lo;
  double       hi;
  guint        n;
  double      *values;
  double       max;

  /* Normalised, for the axes' serials below. */
  double      *x_edges;
  double      *y_values;
  guint        x_serial;
  guint        y_serial;
  gboolean     normalised;
};

G_DEFINE_FINAL_TYPE (QsChartSeries, qs_chart_series, G_TYPE_OBJECT)

static void
qs_chart_series_finalize (GObject *object)
{
  QsChartSeries *self = QS_CHART_SERIES (object);

  g_clear_object (&self->x);
  g_clear_object (&self->y);
  g_free (self->values);
  g_free (self->x_edges);
  g_free (self->y_values);
  G_OBJECT_CLASS (qs_chart_series_parent_class)->finalize (object);
}

static void
qs_chart_series_class_init (QsChartSeriesClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = qs_chart_series_finalize;
}

static void
qs_chart_series_init (QsChartSeries *self)
{
}

QsChartSeries *
qs_chart_series_new (QsChartAxis *x,
                     QsChartAxis *y)
{
  QsChartSeries *self;

  g_return_val_if_fail (QS_IS_CHART_AXIS (x), NULL);
  g_return_val_if_fail (QS_IS_CHART_AXIS (y), NULL);

  self = g_object_new (QS_TYPE_CHART_SERIES, NULL);
  self->x = g_object_ref (x);
  self->y = g_object_ref (y);
  return self;
}

void
qs_chart_series_set_bins (QsChartSeries *self,
                          double         lo,
                          double         hi,
                          guint          n,
                          const double  *values)
{
  g_return_if_fail (QS_IS_CHART_SERIES (self));
  g_return_if_fail (n == 0 || values != NULL);

  g_free (self->values);
  self->values = n > 0 ? g_memdup2 (values, n * sizeof (double)) : NULL;
  self->n = n;
  self->lo = lo;
  self->hi = hi > lo ? hi : lo + 1;
  self->max = 0;
  for (guint i = 0; i < n; i++)
    self->max = MAX (self->max, values[i]);
  self->normalised = FALSE;
}

void
qs_chart_series_clear (QsChartSeries *self)
{
  qs_chart_series_set_bins (self, 0, 1, 0, NULL);
}

guint
qs_chart_series_get_n_bins (QsChartSeries *self)
{
  g_return_val_if_fail (QS_IS_CHART_SERIES (self), 0);
  return self->n;
}

double
qs_chart_series_get_value (QsChartSeries *self,
                           guint          bin)
{
  g_return_val_if_fail (QS_IS_CHART_SERIES (self), 0);
  g_return_val_if_fail (bin < self->n, 0);
  return self->values[bin];
}

double
qs_chart_series_get_max (QsChartSeries *self)
{
  g_return_val_if_fail (QS_IS_CHART_SERIES (self), 0);
  return self->max;
}

double
qs_chart_series_bin_edge (QsChartSeries *self,
                          guint          edge)
{
  g_return_val_if_fail (QS_IS_CHART_SERIES (self), 0);
  return self->n > 0 ? self->lo + (self->hi - self->lo) * edge / self->n : self->lo;
}

int
qs_chart_series_bin_at (QsChartSeries *self,
                        double         x_value)
{
  double bin;

  g_return_val_if_fail (QS_IS_CHART_SERIES (self), -1);

  if (self->n == 0)
    return -1;
  bin = floor ((x_value - self->lo) / (self->hi - self->lo) * self->n);
  return bin >= 0 && bin < self->n ? (int) bin : -1;
}

static void
ensure_normalised (QsChartSeries *self)
{
  guint xs = qs_chart_axis_get_serial (self->x), ys = qs_chart_axis_get_serial (self->y);

  if (self->normalised && xs == self->x_serial && ys == self->y_serial)
    return;
  self->x_edges = g_renew (double, self->x_edges, self->n + 1);
  self->y_values = g_renew (double, self->y_values, MAX (self->n, 1));
  for (guint i = 0; i <= self->n; i++)
    self->x_edges[i] = qs_chart_axis_normalize (self->x, qs_chart_series_bin_edge (self, i));
  for (guint i = 0; i < self->n; i++)
    self->y_values[i] = qs_chart_axis_normalize (self->y, self->values[i]);
  self->x_serial = xs;
  self->y_serial = ys;
  self->normalised = TRUE;
}

const double *
qs_chart_series_get_x_edges (QsChartSeries *self)
{
  g_return_val_if_fail (QS_IS_CHART_SERIES (self), NULL);
  ensure_normalised (self);
  return self->x_edges;
}

const double *
qs_chart_series_get_y_values (QsChartSeries *self)
{
  g_return_val_if_fail (QS_IS_CHART_SERIES (self), NULL);
  ensure_normalised (self);
  return self->y_values;
}
