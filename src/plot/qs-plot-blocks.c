/* qs-plot-blocks.c: the block inspector's charts: per-block scales and the block-size sweep.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The app and `quantscope-cli plot --kind blocks|sweep` draw these, so both
 * label the same numbers the same way.
 */
#include "config.h"

#include "plot/qs-plot.h"

#include <glib/gi18n.h>
#include <math.h>

/* "2⁻⁷" reads better than "0.0078" for MX's power-of-two scales; a bin of
 * another width is named by its lower edge, "2^-7.25". */
static char *
scale_bin_label (double log2_lo,
                 double width)
{
  static const char *const superscripts[] = { "⁰", "¹", "²", "³", "⁴", "⁵", "⁶", "⁷", "⁸", "⁹" };
  GString *label;
  long exponent;

  if (width != 1.0 || log2_lo != floor (log2_lo) || fabs (log2_lo) > 1e6)
    {
      g_autofree char *value = qs_plot_format_value (log2_lo);

      return g_strdup_printf ("2^%s", value);
    }
  exponent = (long) log2_lo;
  label = g_string_new ("2");
  if (exponent < 0)
    g_string_append (label, "⁻");
  {
    g_autofree char *digits = g_strdup_printf ("%ld", labs (exponent));

    for (const char *d = digits; *d != '\0'; d++)
      g_string_append (label, superscripts[*d - '0']);
  }
  return g_string_free (label, FALSE);
}

void
qs_plot_block_scales (cairo_t            *cr,
                      double              width,
                      double              height,
                      const QsPlotStyle  *style,
                      const QsPlotLabels *labels,
                      const QsBlockInfo  *blocks,
                      QsPlotArea         *area)
{
  gsize n = 0, n_max;
  g_autofree QsPlotBar *bars = NULL;
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);

  g_return_if_fail (blocks != NULL);

  n_max = (gsize) MAX (blocks->scale_bins, 0) + 1;
  bars = g_new0 (QsPlotBar, n_max);
  /* All-zero blocks have no log2 scale: a bar of their own, first. */
  if (blocks->zero_scale_blocks > 0)
    {
      bars[n].label = "0";
      bars[n++].value = (double) blocks->zero_scale_blocks;
    }
  for (int i = 0; i < blocks->scale_bins; i++)
    {
      char *name = scale_bin_label (blocks->scale_log2_lo + i * blocks->scale_bin_width,
                                    blocks->scale_bin_width);

      g_ptr_array_add (names, name);
      bars[n].label = name;
      bars[n++].value = (double) blocks->scale_counts[i];
    }
  qs_plot_bars (cr, width, height, style, labels, bars, n, area);
}

/* Equal up to rounding: a group no shorter than the row is the row, so
 * such group sizes quantize identically, but bits per weight come from
 * sums whose last bit may differ. */
static gboolean
sweep_values_equal (double a,
                    double b)
{
  return a == b || (isfinite (a) && isfinite (b) && fabs (a - b) <= 1e-9 * MAX (fabs (a), fabs (b)));
}

static gboolean
sweep_points_coincide (const QsBlockSweepPoint *a,
                       const QsBlockSweepPoint *b)
{
  return sweep_values_equal (a->bits_per_weight, b->bits_per_weight)
         && sweep_values_equal (a->sqnr_db, b->sqnr_db);
}

void
qs_plot_block_sweep_labels (const QsBlockSweepPoint  *points,
                            gsize                     n_points,
                            char                    **names)
{
  g_return_if_fail (points != NULL || n_points == 0);

  for (gsize i = 0; i < n_points; i++)
    {
      gboolean named_before = FALSE;
      GString *name;

      names[i] = NULL;
      for (gsize k = 0; k < i && !named_before; k++)
        named_before = sweep_points_coincide (&points[k], &points[i]);
      if (named_before)
        continue;
      name = g_string_new (NULL);
      g_string_printf (name, "G=%d", points[i].group_size);
      for (gsize k = i + 1; k < n_points; k++)
        if (sweep_points_coincide (&points[k], &points[i]))
          g_string_append_printf (name, ", %d", points[k].group_size);
      names[i] = g_string_free (name, FALSE);
    }
}

void
qs_plot_block_sweep (cairo_t                 *cr,
                     double                   width,
                     double                   height,
                     const QsPlotStyle       *style,
                     const QsPlotLabels      *labels,
                     const char              *series_label,
                     const QsBlockSweepPoint *points,
                     gsize                    n_points,
                     QsPlotArea              *area)
{
  g_autofree QsPlotPoint *plotted = g_new0 (QsPlotPoint, MAX (n_points, 1));
  /* Not a GStrv: merged points leave NULL holes in it. */
  g_autofree char **names = g_new0 (char *, MAX (n_points, 1));
  QsPlotSeries series = { series_label, plotted, n_points };

  for (gsize i = 0; i < n_points; i++)
    {
      plotted[i].x = points[i].bits_per_weight;
      plotted[i].y = points[i].sqnr_db;
    }
  qs_plot_block_sweep_labels (points, n_points, names);
  for (gsize i = 0; i < n_points; i++)
    plotted[i].label = names[i];
  qs_plot_series (cr, width, height, style, labels, &series, 1, area);
  for (gsize i = 0; i < n_points; i++)
    g_free (names[i]);
}
