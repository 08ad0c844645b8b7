/* qs-cli-stats.c: `quantscope-cli stats FILE --tensor PATH [scheme options | --scheme-file F] [--json]`.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>

#include <glib/gi18n.h>

#include "cli/qs-cli.h"
#include "model/qs-format-text.h"
#include "model/qs-json.h"
#include "model/qs-tensor-report.h"
#include "model/qs-tensor-stream.h"

static void
append_range (GString     *out,
              const char  *label,
              const float *values,
              gsize        channels)
{
  float lo = values[0], hi = values[0];

  for (gsize c = 1; c < channels; c++)
    {
      lo = fminf (lo, values[c]);
      hi = fmaxf (hi, values[c]);
    }
  if (channels == 1)
    g_string_append_printf (out, "%s %.6g", label, lo);
  else
    g_string_append_printf (out, "%s %.6g … %.6g", label, lo, hi);
}

static void
print_summary (const QsTensorReport *r)
{
  const QsScheme *s = &r->scheme;
  const QsAnalysis *a = &r->analysis;
  const QsQuantParams *p = &r->params;
  g_autoptr(GString) out = g_string_new (NULL);
  /* The app's formats: one decimal of dB ("exact" for no error), IEC sizes. */
  g_autofree char *sqnr = qs_format_sqnr (a->sqnr_db);
  g_autofree char *clipped_share = qs_format_percent (a->finite_count ? 100.0 * a->clipped_count / a->finite_count : 0.0);
  g_autofree char *fp32_size = qs_format_size (a->size_fp32_bytes);
  g_autofree char *quant_size = qs_format_size (a->size_quant_bytes);

  g_string_append_printf (out, _("Tensor      %s (%s, %s, %s)\n"), qs_cli_safe (r->info->path),
                          qs_cli_safe (r->info->layer),
                          qs_tensor_role_to_string (r->info->role), r->info->dtype);
  g_string_append_printf (out, _("Values      %" PRIu64 " (%" PRIu64 " not finite), range [%.6g, %.6g]\n"),
                          a->count, a->nonfinite_count, a->data_min, a->data_max);
  if (s->format == QS_FORMAT_INT)
    {
      g_autofree char *groups = a->blocks != NULL ? g_strdup_printf (_("groups of %zu"), a->blocks->block_size)
                                                  : NULL;
      g_string_append_printf (out, _("Scheme      %d-bit %s %s, %s, %s, rounding %s, zero %s\n"),
                              s->bits, s->is_unsigned ? "unsigned" : "signed",
                              qs_mapping_to_string (s->mapping),
                              groups != NULL ? groups : p->channels > 1 ? "per-channel" : "per-tensor",
                              qs_range_method_to_string (s->range_method),
                              qs_rounding_to_string (s->rounding),
                              s->nudge_zero ? "nudged" : "not nudged");
      if (a->blocks != NULL)
        g_string_append_printf (out, _("Codes       [%d, %d], a scale and a zero point per group\n"),
                                p->qmin, p->qmax);
      else
        {
          g_string_append_printf (out, _("Codes       [%d, %d], "), p->qmin, p->qmax);
          append_range (out, _("scale"), p->scale, p->channels);
          append_range (out, _(", zero point"), p->zero_point, p->channels);
          g_string_append_c (out, '\n');
        }
    }
  else
    g_string_append_printf (out, _("Format      %s\n"), qs_format_to_string (s->format));
  if (a->blocks != NULL)
    g_string_append_printf (out, _("Blocks      %" PRIu64 " of %zu along the reduction axis; SQNR %.2f dB with exact scales\n"),
                            a->blocks->block_count, a->blocks->block_size, a->blocks->sqnr_exact_scale_db);
  if (p->clamped_channels > 0)
    g_string_append_printf (out, _("Warning     the scale was clamped at 2^-23 in %zu channel(s): values below one step are lost\n"),
                            p->clamped_channels);
  g_string_append_printf (out, _("Error       MSE %.4g, RMSE %.4g, max |error| %.4g, SQNR %s, cosine %.6f\n"),
                          a->mse, a->rmse, a->max_abs_error, sqnr, a->cosine);
  g_string_append_printf (out, _("Clipped     %" PRIu64 " values (%s); levels used %" PRIu64 "\n"),
                          a->clipped_count, clipped_share, a->levels_used);
  g_string_append_printf (out, a->zero_exact ? _("Zero        0.0 is exact\n")
                                             : _("Zero        0.0 comes back as ±%.6g\n"),
                          a->zero_error);
  g_string_append_printf (out, _("Size        %s as float32, %s quantized (%.2fx smaller, %.3f bits per weight)\n"),
                          fp32_size, quant_size, a->compression_ratio, a->bits_per_weight);
  fputs (out->str, stdout);
}

int
qs_cli_stats (int    argc,
              char **argv)
{
  g_autofree char *tensor = NULL;
  g_autofree char *budget_text = NULL;
  g_autofree char *scheme_file = NULL;
  guint64 budget = 0;
  gboolean json = FALSE;
  g_autofree char *sweep_text = NULL;
  g_autofree int *sweep_sizes = NULL;
  g_autofree QsBlockSweepPoint *sweep = NULL;
  gsize n_sweep = 0;
  QsCliSchemeOptions scheme_options = { 0 };
  const GOptionEntry entries[] = {
    { "tensor", 't', 0, G_OPTION_ARG_STRING, &tensor, N_("The tensor's HDF5 path (see “layers”)"), "PATH" },
    { "memory-budget", 'm', 0, G_OPTION_ARG_STRING, &budget_text, N_("Stream tensors larger than half of SIZE (default: a quarter of RAM, at most 4G)"), "SIZE" },
    { "scheme-file", 's', 0, G_OPTION_ARG_FILENAME, &scheme_file, N_("The tensor's scheme from a scheme file (docs/scheme-file.md)"), "FILE" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print JSON"), NULL },
    { "sweep-group-sizes", 0, 0, G_OPTION_ARG_STRING, &sweep_text, N_("Also quantize with each of these group sizes (error against bits per weight)"), "G1,G2,…" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new (_("FILE — quantize one tensor and report"));
  g_autoptr(GError) error = NULL;
  g_autoptr(QsWeightFile) file = NULL;
  g_autoptr(QsTensorReport) report = NULL;
  g_autoptr(QsSchemeSet) schemes = NULL;
  QsScheme scheme;
  int status;

  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  g_option_context_add_group (context, qs_cli_scheme_option_group (&scheme_options));
  if (!qs_cli_parse (context, &argc, &argv, &status))
    {
      qs_cli_scheme_options_clear (&scheme_options);
      return status;
    }
  schemes = qs_cli_load_schemes (scheme_file, &scheme_options, &scheme, &error);
  qs_cli_scheme_options_clear (&scheme_options);
  if (schemes == NULL)
    return qs_cli_fail (error);

  if (budget_text != NULL && !qs_memory_budget_parse (budget_text, &budget, &error))
    return qs_cli_fail (error);
  if (sweep_text != NULL)
    {
      g_auto(GStrv) parts = g_strsplit (sweep_text, ",", -1);
      n_sweep = g_strv_length (parts);
      sweep_sizes = g_new0 (int, n_sweep ? n_sweep : 1);
      for (gsize i = 0; i < n_sweep; i++)
        {
          guint64 size;
          if (!g_ascii_string_to_unsigned (parts[i], 10, 1, QS_MAX_GROUP_SIZE, &size, NULL))
            return qs_cli_fail_message (_("bad --sweep-group-sizes “%s” (use sizes from 1 to 65536, separated by commas)"),
                                        sweep_text);
          sweep_sizes[i] = (int) size;
        }
      if (n_sweep == 0)
        return qs_cli_fail_message (_("bad --sweep-group-sizes “%s” (use sizes from 1 to 65536, separated by commas)"),
                                    sweep_text);
      if (scheme_file == NULL && !qs_scheme_is_blockwise (&scheme))
        return qs_cli_fail_message (_("--sweep-group-sizes needs --granularity group or a block format"));
    }
  if (argc != 2)
    return qs_cli_fail_message (_("stats takes exactly one FILE"));
  if (tensor == NULL)
    return qs_cli_fail_message (_("stats needs --tensor PATH (list them with “quantscope-cli layers %s”)"), argv[1]);

  file = qs_cli_open_weights (argv[1], QS_WEIGHT_FILE_FOLLOW_EXTERNAL_LINKS, &error);
  if (file == NULL)
    return qs_cli_fail (error);
  /* A scheme file says which scheme this tensor gets; options name it
   * outright, for any float tensor (a bias too). */
  if (scheme_file != NULL && !qs_cli_tensor_scheme (file, tensor, schemes, &scheme, &error))
    return qs_cli_fail (error);

  report = qs_tensor_report_compute_budget (file, tensor, &scheme, scheme_options.threads,
                                            budget, NULL, &error);
  if (report == NULL)
    return qs_cli_fail (error);
  if (sweep_sizes != NULL)
    {
      if (!qs_scheme_is_blockwise (&report->scheme))
        return qs_cli_fail_message (_("--sweep-group-sizes needs --granularity group or a block format"));
      sweep = qs_tensor_sweep_group_sizes (file, tensor, &report->scheme, sweep_sizes, n_sweep,
                                           scheme_options.threads, &error);
      if (sweep == NULL)
        return qs_cli_fail (error);
    }

  if (json)
    {
      g_autoptr(JsonNode) node = qs_tensor_report_to_json (report);
      g_autofree char *text = NULL;
      if (sweep != NULL)
        qs_tensor_report_add_sweep_json (node, sweep, n_sweep);
      text = qs_json_to_string (node, TRUE);
      qs_cli_print_json (text);
    }
  else
    {
      print_summary (report);
      for (gsize i = 0; i < n_sweep; i++)
        printf (_("Sweep       G=%d: %.3f bits per weight, SQNR %.2f dB, MSE %.4g\n"), sweep[i].group_size,
                sweep[i].bits_per_weight, sweep[i].sqnr_db, sweep[i].mse);
    }
  return 0;
}
