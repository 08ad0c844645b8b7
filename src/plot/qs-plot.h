/* qs-plot.h: headless charts drawn with Cairo, and their PNG, SVG and PDF files.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every chart draws onto any cairo_t at any size, in a light "paper" style
 * (for figures) or a dark one matching the app. The CLI's `plot` command and
 * the app's "Export Plot" both come through here, so a figure from either
 * is the same picture. No GTK: text is laid out with PangoCairo.
 */
#pragma once

#include <cairo.h>
#include <glib.h>
#include <pango/pangocairo.h>

#include "model/qs-tensor-report.h"

G_BEGIN_DECLS

typedef enum {
  QS_PLOT_THEME_PAPER = 0,  /* white background, dark text: for papers */
  QS_PLOT_THEME_DARK,       /* the app's dark background */
} QsPlotTheme;

typedef struct {
  double red, green, blue, alpha;
} QsPlotColor;

#define QS_PLOT_N_SERIES_COLORS 6

typedef struct {
  QsPlotColor background;
  QsPlotColor foreground;   /* title, labels, axes */
  QsPlotColor muted;        /* tick labels, secondary text */
  QsPlotColor grid;         /* grid lines and the shade outside the clip range */
  QsPlotColor bars;         /* the weights histogram, bar charts */
  QsPlotColor accent;       /* the quantization grid and clip range */
  QsPlotColor reconstructed;
  QsPlotColor warning;      /* where 0.0 lands when it is not exact */
  QsPlotColor series[QS_PLOT_N_SERIES_COLORS];
  const char *font_family;
  double      font_size;    /* of tick labels, in device units (pixels) */
} QsPlotStyle;

void qs_plot_style_init (QsPlotStyle *style,
                         QsPlotTheme  theme);

/* What frames every chart: a title over it and axis names (each nullable). */
typedef struct {
  const char *title;
  const char *x_label;
  const char *y_label;
} QsPlotLabels;

/* Where a chart put its data, so callers (and tests) can map values to
 * device coordinates: the data area's rectangle and the value ranges its
 * edges stand for. For bar charts x is the bar index (bar i spans
 * [i, i + 1)) and y the value. */
typedef struct {
  double x, y, width, height;
  double x_lo, x_hi;
  double y_lo, y_hi;
  gboolean y_log;           /* y maps log10 (1 + count) */
} QsPlotArea;

double qs_plot_area_x (const QsPlotArea *area,
                       double            value);
double qs_plot_area_y (const QsPlotArea *area,
                       double            value);

/* The 256-bin (or the scheme's) histogram of the weights, the histogram of
 * their reconstructions over it, the quantization grid (its levels when
 * they are far enough apart to see), the clip range, and where 0.0 lands.
 * @channel picks whose grid a per-channel report shows; -1 shows the
 * envelope of every channel's clip range instead. @area (nullable) is
 * filled with the data area. */
void qs_plot_histogram (cairo_t              *cr,
                        double                width,
                        double                height,
                        const QsPlotStyle    *style,
                        const QsPlotLabels   *labels,
                        const QsTensorReport *report,
                        int                   channel,
                        gboolean              log_scale,
                        QsPlotArea           *area);

/* Each output channel's data range (@channel_min, @channel_max, @channels
 * entries; NULL: the report's own, from a per-channel scheme) as a
 * vertical line from its minimum to its maximum, the scheme's clip range
 * behind it (per channel, or one band for a per-tensor scheme), and the
 * tensor's data range as dashed lines. */
void qs_plot_channels  (cairo_t              *cr,
                        double                width,
                        double                height,
                        const QsPlotStyle    *style,
                        const QsPlotLabels   *labels,
                        const QsTensorReport *report,
                        const float          *channel_min,
                        const float          *channel_max,
                        gsize                 channels,
                        QsPlotArea           *area);

/* One point of a series; @label (nullable) is written beside it ("G=32"). */
typedef struct {
  double      x;
  double      y;
  const char *label;
} QsPlotPoint;

typedef struct {
  const char        *label;     /* the legend's entry */
  const QsPlotPoint *points;
  gsize              n_points;
} QsPlotSeries;

/* Lines through points, one colour per series, with a legend. Points with a
 * non-finite coordinate are left out and break the line. */
void qs_plot_series    (cairo_t              *cr,
                        double                width,
                        double                height,
                        const QsPlotStyle    *style,
                        const QsPlotLabels   *labels,
                        const QsPlotSeries   *series,
                        gsize                 n_series,
                        QsPlotArea           *area);

/* One point's label to place: the point and the label's size in, the
 * label's top-left corner out (device units). */
typedef struct {
  double x, y;
  double width, height;
  double left, top;
} QsPlotLabelPlace;

/* Places the labels of @n points so that no two labels intersect and no
 * label covers a point's dot: beside its point (above right, else below
 * right, above left, below left), inside @area when a free place there
 * exists, else stacked below every other label (where the clip may cut it,
 * but it never writes over another). Earlier labels get the better places.
 * A label of no size stands for a point without one: only its dot is kept
 * clear. */
void qs_plot_place_labels (const QsPlotArea *area,
                           QsPlotLabelPlace *labels,
                           gsize             n);

typedef struct {
  const char *label;
  double      value;      /* +inf draws a full bar marked "∞"; NaN no bar */
} QsPlotBar;

/* Vertical bars over labelled categories (layer names are written slanted
 * when they do not fit): the per-layer SQNR of the model overview. */
void qs_plot_bars      (cairo_t              *cr,
                        double                width,
                        double                height,
                        const QsPlotStyle    *style,
                        const QsPlotLabels   *labels,
                        const QsPlotBar      *bars,
                        gsize                 n_bars,
                        QsPlotArea           *area);

/* The histogram of a blockwise report's per-block scales
 * (analysis.blocks): one bar per log2 bin, labelled "2⁻⁷" (E8M0's powers
 * of two) or "2^-7.25", and a bar "0" for all-zero blocks when there are. */
void qs_plot_block_scales (cairo_t            *cr,
                           double              width,
                           double              height,
                           const QsPlotStyle  *style,
                           const QsPlotLabels *labels,
                           const QsBlockInfo  *blocks,
                           QsPlotArea         *area);

/* The block-size sweep: SQNR against bits per weight, one point per group
 * size labelled "G=32", as one series named @series_label. */
void qs_plot_block_sweep  (cairo_t                 *cr,
                           double                   width,
                           double                   height,
                           const QsPlotStyle       *style,
                           const QsPlotLabels      *labels,
                           const char              *series_label,
                           const QsBlockSweepPoint *points,
                           gsize                    n_points,
                           QsPlotArea              *area);

/* The sweep's point labels into @names (@n_points entries, each transfer
 * full or NULL): "G=32", or for points that coincide (group sizes no
 * shorter than the row all quantize the row as one group) one label on
 * the first, "G=32, 64, 128", and NULL on the others. */
void qs_plot_block_sweep_labels (const QsBlockSweepPoint  *points,
                                 gsize                     n_points,
                                 char                    **names);

/* How many leading bytes of every one of @names (@n of them) are the same
 * whole path components ending in '/' ("/model_weights/" for a Keras
 * file): what a bar chart leaves out of its names, so the room goes to
 * what tells them apart. 0 for fewer than two names. */
gsize qs_plot_common_prefix (const char *const *names,
                             gsize              n);

/* "conv2d/kernel:0 · int8 asymmetric per-channel": the default title
 * (transfer full). */
char *qs_plot_default_title (const QsTensorReport *report);

/* ---- axes --------------------------------------------------------------- */

/* Round tick values covering [lo, hi], about @target of them, at most
 * @max_ticks; returns how many were written and the step in @step. */
int   qs_plot_nice_ticks   (double    lo,
                            double    hi,
                            int       target,
                            gboolean  integers,
                            double   *ticks,
                            int       max_ticks,
                            double   *step);

/* Short labels with a real minus sign: "−0.25", "1e-05"; counts "12k"
 * (transfer full). */
char *qs_plot_format_value (double value);
char *qs_plot_format_count (double count);

/* Draws @layout with its top-left corner moved so that the point (x, y)
 * sits at the fractions (@ax, @ay) of its logical extents, on whole
 * pixels, which keep small text crisp. */
void  qs_plot_show_layout  (cairo_t     *cr,
                            PangoLayout *layout,
                            double       x,
                            double       y,
                            double       ax,
                            double       ay);

/* ---- a chart labelled at its axes' ends ---------------------------------- */

/* Which end of which axis a label names. */
typedef enum {
  QS_PLOT_END_X_LO,
  QS_PLOT_END_X_HI,
  QS_PLOT_END_Y_LO,
  QS_PLOT_END_Y_HI,
  QS_PLOT_N_ENDS
} QsPlotEnd;

typedef struct {
  double   width, height;  /* in: the label's size */
  double   left, top;      /* out: its top-left corner */
  gboolean shown;          /* out: FALSE when it would meet the other end's */
} QsPlotEndLabel;

/* Lays out a @width x @height chart whose axes are labelled only at their
 * ends (the mixed-precision window's size against accuracy): @axes is the
 * box whose left and bottom edges are the axes, right of the widest y label
 * and above the x labels; @data, where the data's extremes map, is @axes
 * inset by @mark_radius so that marks there keep off the axes and clear of
 * every label. Y labels sit right-aligned left of the axis, centred on
 * their end's height; x labels under it, the low one starting at its end,
 * the high one ending at its. No label meets @axes or a shown label. */
void qs_plot_end_labels_layout (double             width,
                                double             height,
                                double             mark_radius,
                                QsPlotEndLabel     labels[QS_PLOT_N_ENDS],
                                cairo_rectangle_t *axes,
                                cairo_rectangle_t *data);

/* ---- files -------------------------------------------------------------- */

typedef enum {
  QS_PLOT_FORMAT_PNG,
  QS_PLOT_FORMAT_SVG,
  QS_PLOT_FORMAT_PDF,
} QsPlotFormat;

/* The format @path's extension names (.png, .svg, .pdf, any case); FALSE
 * for another. */
gboolean qs_plot_format_from_path (const char   *path,
                                   QsPlotFormat *format);

typedef void (*QsPlotDrawFunc) (cairo_t  *cr,
                                double    width,
                                double    height,
                                gpointer  user_data);

/* Draws with @draw on a @width x @height surface of the format @path's
 * extension names (pixels for PNG and SVG, points for PDF) and writes it
 * to @path atomically: a temporary file in the same folder renamed over
 * @path, mode 0666 less the umask; on failure nothing is left behind.
 * @title (nullable) goes into the file's metadata (PDF) or <title> (SVG).
 * Errors: QS_ERROR_INVALID for another extension or size, QS_ERROR_WRITE. */
gboolean qs_plot_save (const char      *path,
                       int              width,
                       int              height,
                       const char      *title,
                       QsPlotDrawFunc   draw,
                       gpointer         user_data,
                       GError         **error);

/* The largest width or height qs_plot_save() accepts, and the most pixels
 * (a 64-megapixel PNG already takes 256 MiB to draw). */
#define QS_PLOT_MAX_SIZE 16384
#define QS_PLOT_MAX_PIXELS (1 << 26)

/* Whether qs_plot_save() accepts @width x @height; FALSE with
 * QS_ERROR_INVALID saying why. */
gboolean qs_plot_check_size (int      width,
                             int      height,
                             GError **error);

G_END_DECLS
