/* qs-cli-plot.c: `quantscope-cli plot MODEL [--tensor T] --kind histogram|channels|sweep|blocks|overview --out FILE`.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "cli/qs-cli.h"
#include "model/qs-error.h"
#include "model/qs-input-file.h"
#include "model/qs-overview.h"
#include "model/qs-tensor-stream.h"
#include "plot/qs-plot.h"

/* The bit widths the sweep tries. */
#define SWEEP_MIN_BITS 2
#define SWEEP_MAX_BITS 8
#define SWEEP_POINTS (SWEEP_MAX_BITS - SWEEP_MIN_BITS + 1)

/* The group sizes the sweep of a blockwise scheme tries. */
static const int sweep_group_sizes[] = { 16, 32, 64, 128, 256 };

typedef enum {
  KIND_HISTOGRAM,
  KIND_CHANNELS,
  KIND_SWEEP,
  KIND_OVERVIEW,
  KIND_BLOCKS,
} PlotKind;

typedef struct {
  PlotKind        kind;
  QsPlotStyle     style;
  QsPlotLabels    labels;
  gboolean        log_scale;
  int             channel;
  QsTensorReport *report;        /* the chosen scheme's */
  QsTensorReport *channel_ranges;/* per-channel data ranges, for a per-tensor scheme */
  QsPlotPoint     points[SWEEP_POINTS];
  char           *point_labels[SWEEP_POINTS];
  QsPlotSeries    series;
  QsOverview     *overview;
  QsPlotBar      *bars;
  gsize           n_bars;
  QsBlockSweepPoint *group_sweep; /* a blockwise scheme's sweep, sweep_group_sizes long */
} Plot;

static void
plot_clear (Plot *plot)
{
  g_clear_pointer (&plot->report, qs_tensor_report_unref);
  g_clear_pointer (&plot->channel_ranges, qs_tensor_report_unref);
  for (int i = 0; i < SWEEP_POINTS; i++)
    g_free (plot->point_labels[i]);
  g_free ((char *) plot->series.label);
  g_clear_pointer (&plot->overview, qs_overview_free);
  g_free (plot->bars);
  g_free (plot->group_sweep);
}

static void
draw_cb (cairo_t  *cr,
         double    width,
         double    height,
         gpointer  user_data)
{
  Plot *plot = user_data;
  const QsAnalysis *ranges;

  switch (plot->kind)
    {
    case KIND_HISTOGRAM:
      qs_plot_histogram (cr, width, height, &plot->style, &plot->labels, plot->report,
                         plot->channel, plot->log_scale, NULL);
      break;
    case KIND_CHANNELS:
      ranges = &(plot->channel_ranges != NULL ? plot->channel_ranges : plot->report)->analysis;
      qs_plot_channels (cr, width, height, &plot->style, &plot->labels, plot->report,
                        ranges->channel_min, ranges->channel_max, ranges->channels, NULL);
      break;
    case KIND_SWEEP:
      if (plot->group_sweep != NULL)
        qs_plot_block_sweep (cr, width, height, &plot->style, &plot->labels, plot->series.label,
                             plot->group_sweep, G_N_ELEMENTS (sweep_group_sizes), NULL);
      else
        qs_plot_series (cr, width, height, &plot->style, &plot->labels, &plot->series, 1, NULL);
      break;
    case KIND_BLOCKS:
      qs_plot_block_scales (cr, width, height, &plot->style, &plot->labels, plot->report->analysis.blocks, NULL);
      break;
    case KIND_OVERVIEW:
    default:
      qs_plot_bars (cr, width, height, &plot->style, &plot->labels, plot->bars, plot->n_bars, NULL);
      break;
    }
}

/* SQNR against bits per weight (codes and scales, honestly counted) for
 * the chosen scheme at 2 to 8 bits. */
static gboolean
compute_sweep (Plot            *plot,
               QsWeightFile    *file,
               const char      *tensor,
               const QsScheme  *scheme,
               int              threads,
               guint64          budget,
               GError         **error)
{
  g_autofree char *described = NULL;
  g_auto(GStrv) words = NULL;

  plot->labels.x_label = _("Bits per weight (codes and scales)");
  plot->labels.y_label = _("SQNR (dB)");
  if (qs_scheme_is_blockwise (scheme))
    {
      /* Blocks trade size for accuracy through their length, not bits. */
      plot->group_sweep = qs_tensor_sweep_group_sizes (file, tensor, scheme, sweep_group_sizes,
                                                       G_N_ELEMENTS (sweep_group_sizes), threads, error);
      plot->series.label = g_strdup (scheme->format == QS_FORMAT_INT
                                     ? qs_granularity_to_string (QS_GRANULARITY_GROUP)
                                     : qs_format_to_string (scheme->format));
      return plot->group_sweep != NULL;
    }
  if (scheme->format != QS_FORMAT_INT)
    {
      g_set_error (error, QS_ERROR, QS_ERROR_INVALID,
                   _("the sweep varies the bits of integer codes: leave out --format"));
      return FALSE;
    }
  for (int bits = SWEEP_MIN_BITS; bits <= SWEEP_MAX_BITS; bits++)
    {
      g_autoptr(QsTensorReport) report = NULL;
      QsScheme at = *scheme;
      int i = bits - SWEEP_MIN_BITS;

      at.bits = bits;
      report = qs_tensor_report_compute_budget (file, tensor, &at, threads, budget, NULL, error);
      if (report == NULL)
        return FALSE;
      plot->points[i].x = 8.0 * report->analysis.size_quant_bytes / MAX (report->analysis.count, 1);
      plot->points[i].y = report->analysis.sqnr_db;
      plot->point_labels[i] = g_strdup_printf ("int%d", bits);
      plot->points[i].label = plot->point_labels[i];
      if (bits == SWEEP_MAX_BITS)
        described = qs_tensor_report_describe_scheme (report);
    }
  /* The series is the scheme without its width: "asymmetric per-channel". */
  words = g_strsplit (described, " ", 2);
  plot->series.label = g_strdup (words[1] != NULL ? words[1] : words[0]);
  plot->series.points = plot->points;
  plot->series.n_points = SWEEP_POINTS;
  return TRUE;
}

static gboolean
parse_kind (const char *text,
            PlotKind   *kind)
{
  /* In PlotKind's order. */
  static const char *names[] = { "histogram", "channels", "sweep", "overview", "blocks" };

  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    if (g_strcmp0 (text, names[i]) == 0)
      {
        *kind = (PlotKind) i;
        return TRUE;
      }
  return FALSE;
}

static gboolean G_GNUC_PRINTF (2, 3)
invalid (GError    **error,
         const char *format,
         ...)
{
  va_list args;

  va_start (args, format);
  g_propagate_error (error, g_error_new_valist (QS_ERROR, QS_ERROR_INVALID, format, args));
  va_end (args);
  return FALSE;
}

/* Everything that can be checked before reading the model, so a bad
 * option costs no time and leaves no file. */
static gboolean
check_options (Plot        *plot,
               const char  *kind,
               const char  *theme,
               const char  *out,
               int          width,
               int          height,
               GError     **error)
{
  QsPlotFormat format;

  if (!parse_kind (kind, &plot->kind))
    return invalid (error, _("unknown plot kind “%s” (use histogram, channels, sweep, blocks or overview)"),
                        kind != NULL ? kind : "");
  if (theme != NULL && strcmp (theme, "paper") != 0 && strcmp (theme, "dark") != 0)
    return invalid (error, _("unknown theme “%s” (use paper or dark)"), theme);
  if (out == NULL)
    return invalid (error, _("plot needs --out FILE.png, .svg or .pdf"));
  if (!qs_plot_format_from_path (out, &format))
    return invalid (error, _("cannot tell the format of “%s”: the name must end in .png, .svg or .pdf"), out);
  if (!qs_plot_check_size (width, height, error))
    return FALSE;
  qs_plot_style_init (&plot->style, theme != NULL && strcmp (theme, "dark") == 0
                                    ? QS_PLOT_THEME_DARK : QS_PLOT_THEME_PAPER);
  return TRUE;
}

/* Every quantized tensor's SQNR as a bar, worst first, as `report` lists them. */
static gboolean
compute_overview (Plot          *plot,
                  QsWeightFile  *file,
                  QsSchemeSet   *schemes,
                  int            threads,
                  guint64        budget,
                  GError       **error)
{
  plot->overview = qs_overview_compute (file, schemes, threads, budget, NULL, error);
  if (plot->overview == NULL)
    return FALSE;
  plot->bars = g_new0 (QsPlotBar, MAX (plot->overview->rows->len, 1));
  for (guint i = 0; i < plot->overview->rows->len; i++)
    {
      const QsOverviewRow *row = g_ptr_array_index (plot->overview->rows, i);

      if (row->report == NULL)
        continue;
      plot->bars[plot->n_bars].label = row->info->path;
      plot->bars[plot->n_bars++].value = row->report->analysis.sqnr_db;
    }
  plot->labels.y_label = _("SQNR (dB)");
  return TRUE;
}

static gboolean
compute_plot (Plot            *plot,
              QsWeightFile    *file,
              const char      *tensor,
              const QsScheme  *scheme,
              int              threads,
              guint64          budget,
              GError         **error)
{
  if (plot->kind == KIND_SWEEP)
    return compute_sweep (plot, file, tensor, scheme, threads, budget, error);

  plot->report = qs_tensor_report_compute_budget (file, tensor, scheme, threads, budget, NULL, error);
  if (plot->report == NULL)
    return FALSE;
  if (plot->kind == KIND_BLOCKS && plot->report->analysis.blocks == NULL)
    return invalid (error, _("--kind blocks draws the scales of a blockwise scheme: "
                             "use a block format or --granularity group"));
  if (plot->kind == KIND_BLOCKS)
    {
      plot->labels.x_label = _("Block scale");
      plot->labels.y_label = _("Blocks");
    }
  if (plot->kind == KIND_CHANNELS && plot->report->params.channels == 1)
    {
      /* A per-tensor scheme has one clip range; the channels' own data
       * ranges, which it must cover, come from a per-channel pass. */
      QsScheme per_channel = *scheme;

      per_channel.granularity = QS_GRANULARITY_CHANNEL;
      plot->channel_ranges = qs_tensor_report_compute_budget (file, tensor, &per_channel, threads,
                                                              budget, NULL, error);
      if (plot->channel_ranges == NULL)
        return FALSE;
    }
  return TRUE;
}

typedef struct {
  char    *tensor;
  char    *kind;
  char    *out;
  char    *title;
  char    *theme;
  char    *budget_text;
  char    *scheme_file;
  int      width;
  int      height;
  int      channel;
  gboolean log_scale;
} PlotArgs;

static void
plot_args_clear (PlotArgs *args)
{
  g_free (args->tensor);
  g_free (args->kind);
  g_free (args->out);
  g_free (args->title);
  g_free (args->theme);
  g_free (args->budget_text);
  g_free (args->scheme_file);
}

static char *
default_title (const Plot     *plot,
               const PlotArgs *args,
               const char     *model)
{
  g_autofree char *base = g_path_get_basename (model);

  switch (plot->kind)
    {
    case KIND_SWEEP:
      return g_strdup_printf (_("%s · SQNR against bits per weight"), args->tensor);
    case KIND_BLOCKS:
      {
        g_autofree char *scheme = qs_tensor_report_describe_scheme (plot->report);

        return g_strdup_printf (_("%s · %s · block scales"), args->tensor, scheme);
      }
    case KIND_OVERVIEW:
      return g_strdup_printf (_("%s · SQNR of every tensor, worst first"), base);
    case KIND_HISTOGRAM:
    case KIND_CHANNELS:
    default:
      return qs_plot_default_title (plot->report);
    }
}

/* Computes what the chart shows and writes it; the exit status. */
static int
run_plot (Plot           *plot,
          const PlotArgs *args,
          const char     *model,
          QsSchemeSet    *schemes,
          QsScheme       *scheme,
          int             threads,
          guint64         budget)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QsWeightFile) file = NULL;
  g_autofree char *title = NULL;

  file = qs_cli_open_weights (model, QS_WEIGHT_FILE_FOLLOW_EXTERNAL_LINKS, &error);
  if (file == NULL)
    return qs_cli_fail (error);
  if (plot->kind == KIND_OVERVIEW)
    {
      if (!compute_overview (plot, file, schemes, threads, budget, &error))
        return qs_cli_fail (error);
    }
  else if ((args->scheme_file != NULL && !qs_cli_tensor_scheme (file, args->tensor, schemes, scheme, &error))
           || !compute_plot (plot, file, args->tensor, scheme, threads, budget, &error))
    return qs_cli_fail (error);

  if (plot->report != NULL && args->channel >= 0 && (gsize) args->channel >= plot->report->params.channels)
    return qs_cli_fail_message (_("--channel %d is out of range: the scheme has %zu channel(s)"),
                                args->channel, plot->report->params.channels);
  title = args->title != NULL ? g_strdup (args->title) : default_title (plot, args, model);
  plot->labels.title = title;
  plot->log_scale = args->log_scale;
  plot->channel = args->channel;
  if (!qs_plot_save (args->out, args->width, args->height, title, draw_cb, plot, &error))
    return qs_cli_fail (error);
  return 0;
}

/* The options' own checks, before the model is read: a bad option costs
 * no time and leaves no file. */
static int
check_args (Plot           *plot,
            const PlotArgs *args,
            int             argc,
            char          **argv,
            guint64        *budget)
{
  g_autoptr(GError) error = NULL;

  if (!check_options (plot, args->kind != NULL ? args->kind : "histogram", args->theme, args->out,
                      args->width, args->height, &error))
    return qs_cli_fail (error);
  if (args->budget_text != NULL && !qs_memory_budget_parse (args->budget_text, budget, &error))
    return qs_cli_fail (error);
  if (args->channel < -1)
    return qs_cli_fail_message (_("--channel must not be negative"));
  if (argc != 2)
    return qs_cli_fail_message (_("plot takes exactly one MODEL"));
  if (!qs_output_check_not_input (args->out, (const char *[]) { argv[1], args->scheme_file }, 2, &error))
    return qs_cli_fail (error);
  if (plot->kind == KIND_OVERVIEW && args->tensor != NULL)
    return qs_cli_fail_message (_("--kind overview draws every tensor: leave out --tensor"));
  if (plot->kind != KIND_OVERVIEW && args->tensor == NULL)
    return qs_cli_fail_message (_("plot needs --tensor PATH (list them with “quantscope-cli layers %s”)"), argv[1]);
  return 0;
}

int
qs_cli_plot (int    argc,
             char **argv)
{
  PlotArgs args = { .width = 1000, .height = 600, .channel = -1 };
  QsCliSchemeOptions scheme_options = { 0 };
  const GOptionEntry entries[] = {
    { "tensor", 't', 0, G_OPTION_ARG_STRING, &args.tensor, N_("The tensor's HDF5 path (see “layers”)"), "PATH" },
    { "kind", 'k', 0, G_OPTION_ARG_STRING, &args.kind, N_("histogram (default), channels, sweep (SQNR against bits, or group sizes for blockwise schemes), blocks (per-block scales) or overview (every tensor's SQNR)"), "KIND" },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &args.out, N_("The file to write: .png, .svg or .pdf"), "FILE" },
    { "width", 0, 0, G_OPTION_ARG_INT, &args.width, N_("Width in pixels (points for PDF), default 1000"), "PX" },
    { "height", 0, 0, G_OPTION_ARG_INT, &args.height, N_("Height in pixels (points for PDF), default 600"), "PX" },
    { "title", 0, 0, G_OPTION_ARG_STRING, &args.title, N_("The title (default: the tensor and the scheme)"), "TEXT" },
    { "log", 0, 0, G_OPTION_ARG_NONE, &args.log_scale, N_("Histogram counts on a log scale"), NULL },
    { "channel", 'c', 0, G_OPTION_ARG_INT, &args.channel, N_("Per-channel histogram: the channel whose grid is drawn (default: all channels' clip ranges)"), "C" },
    { "theme", 0, 0, G_OPTION_ARG_STRING, &args.theme, N_("paper (default) or dark"), "THEME" },
    { "scheme-file", 's', 0, G_OPTION_ARG_FILENAME, &args.scheme_file, N_("Schemes per tensor from a scheme file (docs/scheme-file.md)"), "FILE" },
    { "memory-budget", 'm', 0, G_OPTION_ARG_STRING, &args.budget_text, N_("Stream tensors larger than half of SIZE (default: a quarter of RAM, at most 4G)"), "SIZE" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new (_("MODEL — draw a tensor's chart"));
  g_autoptr(GError) error = NULL;
  g_autoptr(QsSchemeSet) schemes = NULL;
  Plot plot = { 0 };
  QsScheme scheme;
  guint64 budget = 0;
  int status, threads;

  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  g_option_context_add_group (context, qs_cli_scheme_option_group (&scheme_options));
  if (qs_cli_parse (context, &argc, &argv, &status))
    {
      threads = scheme_options.threads;
      schemes = qs_cli_load_schemes (args.scheme_file, &scheme_options, &scheme, &error);
      if (schemes == NULL)
        status = qs_cli_fail (error);
      else if ((status = check_args (&plot, &args, argc, argv, &budget)) == 0)
        status = run_plot (&plot, &args, argv[1], schemes, &scheme, threads, budget);
    }
  qs_cli_scheme_options_clear (&scheme_options);
  plot_clear (&plot);
  plot_args_clear (&args);
  return status;
}
