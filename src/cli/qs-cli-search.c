/* qs-cli-search.c: `sensitivity` (which layer hurts) and `mixed` (per-layer precisions within an accuracy budget).
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Both open the model and data as `eval` does (qs-cli-eval.h) and score
 * scheme sets through one calibration (qs-sensitivity.h), so every
 * accuracy they print is what `eval --scheme-file` prints for that set.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>

#include <glib/gi18n.h>

#include "cli/qs-cli.h"
#include "cli/qs-cli-eval.h"
#include "model/qs-input-file.h"
#include "model/qs-json.h"
#include "model/qs-mixed-precision.h"
#include "model/qs-scheme-file.h"
#include "model/qs-sensitivity.h"

/* A session on the images and calibration slice `eval` would use. */
static QsScoreSession *
open_session (QsCliEval         *eval,
              const QsSchemeSet *base,
              QsEngineDataset   *calib_view,
              GError           **error)
{
  QsScoreInput input = { 0 };

  *calib_view = *qs_dataset_get_view (eval->calib);
  calib_view->images += eval->calib_first * (gsize) calib_view->height * calib_view->width * calib_view->channels;
  calib_view->labels = calib_view->labels != NULL ? calib_view->labels + eval->calib_first : NULL;
  calib_view->count = eval->calib_count;

  input.file = eval->file;
  input.model = eval->model;
  input.calibration = calib_view;
  input.calibration_count = eval->calib_count;
  input.data = qs_dataset_get_view (eval->data);
  input.first = eval->first;
  input.count = eval->count;
  input.activations = eval->act_options;
  input.n_threads = eval->threads;
  return qs_score_session_new (&input, base, error);
}

/* Ends the report with the evaluations, where the time went, and prints it. */
static void
finish_json (JsonBuilder          *b,
             guint                 evaluations,
             const QsScoreSession *session,
             double                total)
{
  const QsScoreTimes *t = qs_score_session_get_times (session);
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;

  json_builder_set_member_name (b, "evaluations");
  json_builder_add_int_value (b, evaluations);
  json_builder_set_member_name (b, "seconds");
  json_builder_begin_object (b);
  qs_json_add_number_member (b, "calibrate", t->calibrate);
  qs_json_add_number_member (b, "fp32", t->fp32);
  qs_json_add_number_member (b, "quantize", t->quantize);
  qs_json_add_number_member (b, "evaluate", t->evaluate);
  qs_json_add_number_member (b, "total", total);
  json_builder_end_object (b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  text = qs_json_to_string (root, TRUE);
  qs_cli_print_json (text);
}

/* ---- sensitivity ----------------------------------------------------------- */

static void
add_rank_pair (JsonBuilder *b,
               const char  *name,
               double       spearman,
               double       kendall)
{
  json_builder_set_member_name (b, name);
  json_builder_begin_object (b);
  qs_json_add_number_member (b, "spearman", spearman);
  qs_json_add_number_member (b, "kendall", kendall);
  json_builder_end_object (b);
}

static void
add_agreement (JsonBuilder            *b,
               const char             *name,
               const QsProxyAgreement *a)
{
  json_builder_set_member_name (b, name);
  json_builder_begin_object (b);
  add_rank_pair (b, "alone", a->spearman_alone, a->kendall_alone);
  add_rank_pair (b, "kept_float", a->spearman_kept_float, a->kendall_kept_float);
  json_builder_end_object (b);
}

/* The members a result and its estimate share: images, top-1 figures, layers. */
static void
add_sensitivity_members (JsonBuilder         *b,
                         const QsSensitivity *s)
{
  json_builder_set_member_name (b, "images");
  json_builder_add_int_value (b, (gint64) s->images);
  qs_json_add_number_member (b, "fp32_top1", s->fp32_top1);
  qs_json_add_number_member (b, "all_quant_top1", s->all_quant_top1);
  qs_json_add_number_member (b, "float_weights_top1", s->float_weights_top1);
  json_builder_set_member_name (b, "layers");
  json_builder_begin_array (b);
  for (guint i = 0; i < s->layers->len; i++)
    {
      const QsLayerSensitivity *l = &g_array_index (s->layers, QsLayerSensitivity, i);

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, l->name);
      json_builder_set_member_name (b, "tensor");
      json_builder_add_string_value (b, l->tensor);
      qs_json_add_number_member (b, "alone_top1", l->alone_top1);
      qs_json_add_number_member (b, "kept_float_top1", l->kept_float_top1);
      qs_json_add_number_member (b, "weight_sqnr_db", l->weight_sqnr_db);
      qs_json_add_number_member (b, "output_sqnr_db", l->output_sqnr_db);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "proxy_rank_correlation");
  json_builder_begin_object (b);
  add_agreement (b, "weight_sqnr", &s->weight_sqnr);
  add_agreement (b, "output_sqnr", &s->output_sqnr);
  json_builder_end_object (b);
}

static void
print_sensitivity_json (const char           *model_path,
                        const QsSensitivity  *s,
                        JsonNode             *estimate,
                        const QsScoreSession *session,
                        double                total)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "model");
  json_builder_add_string_value (b, model_path);
  add_sensitivity_members (b, s);
  if (estimate != NULL)
    {
      json_builder_set_member_name (b, "estimate");
      json_builder_add_value (b, json_node_ref (estimate));
    }
  finish_json (b, s->evaluations, session, total);
}

static int
compare_by_loss (gconstpointer a,
                 gconstpointer b)
{
  const QsLayerSensitivity *la = *(QsLayerSensitivity * const *) a, *lb = *(QsLayerSensitivity * const *) b;

  return (la->alone_correct > lb->alone_correct) - (la->alone_correct < lb->alone_correct);
}

static void
print_sensitivity_text (const QsSensitivity *s)
{
  g_autoptr(GString) out = g_string_new (NULL);
  g_autoptr(GPtrArray) order = g_ptr_array_new ();

  for (guint i = 0; i < s->layers->len; i++)
    g_ptr_array_add (order, &g_array_index (s->layers, QsLayerSensitivity, i));
  g_ptr_array_sort (order, compare_by_loss);

  g_string_append_printf (out, s->estimate ? _("Estimate on the first %zu images\n") : _("%zu images\n"), s->images);
  g_string_append_printf (out, _("fp32 top-1 %.2f %%, all layers quantized %.2f %%\n"),
                          100 * s->fp32_top1, 100 * s->all_quant_top1);
  {
    const char *const titles[] = { _("Alone"), _("Kept float"), _("Weight SQNR"), _("Output SQNR") };
    int columns[G_N_ELEMENTS (titles)];
    gsize name_columns = qs_cli_text_columns (_("Layer (worst first)"));

    for (guint i = 0; i < order->len; i++)
      name_columns = MAX (name_columns, qs_cli_text_columns (qs_cli_safe (((QsLayerSensitivity *) order->pdata[i])->name)));
    qs_cli_append_padded (out, _("Layer (worst first)"), MAX (name_columns, 24));
    for (guint c = 0; c < G_N_ELEMENTS (titles); c++)
      {
        columns[c] = (int) MAX (12, qs_cli_text_columns (titles[c]));
        qs_cli_append_right (out, titles[c], columns[c] + 1);
      }
    g_string_append_c (out, '\n');
    for (guint i = 0; i < order->len; i++)
      {
        const QsLayerSensitivity *l = g_ptr_array_index (order, i);

        qs_cli_append_padded (out, qs_cli_safe (l->name), MAX (name_columns, 24));
        g_string_append_printf (out, " %*.2f %% %*.2f %% %*.2f dB %*.2f dB\n",
                                columns[0] - 2, 100 * l->alone_top1, columns[1] - 2, 100 * l->kept_float_top1,
                                columns[2] - 3, l->weight_sqnr_db, columns[3] - 3, l->output_sqnr_db);
      }
  }
  g_string_append_printf (out, _("Rank agreement with the measured loss (Spearman): weight SQNR %.2f, output SQNR %.2f\n"),
                          s->weight_sqnr.spearman_alone, s->output_sqnr.spearman_alone);
  fputs (out->str, stdout);
}

/* Text: the estimate printed as it comes. JSON: kept for the report's
 * "estimate" member, with the seconds it took to come. */
typedef struct {
  gboolean  json;
  JsonNode *estimate;
} EstimateSink;

static void
estimate_cb (const QsSensitivity *estimate,
             gpointer             user_data)
{
  EstimateSink *sink = user_data;
  g_autoptr(JsonBuilder) b = NULL;

  if (!sink->json)
    {
      print_sensitivity_text (estimate);
      fputs ("\n", stdout);
      fflush (stdout);
      return;
    }
  b = json_builder_new ();
  json_builder_begin_object (b);
  add_sensitivity_members (b, estimate);
  qs_json_add_number_member (b, "seconds", estimate->seconds);
  json_builder_end_object (b);
  g_clear_pointer (&sink->estimate, json_node_unref);
  sink->estimate = json_builder_get_root (b);
}

int
qs_cli_sensitivity (int    argc,
                    char **argv)
{
  g_autofree char *scheme_file = NULL;
  gboolean json = FALSE;
  int estimate = 0;
  double estimate_seconds = 0;
  EstimateSink sink = { 0 };
  QsCliSchemeOptions scheme_options = { 0 };
  QsCliEvalOptions eval_options = { 0 };
  const GOptionEntry entries[] = {
    { "scheme-file", 0, 0, G_OPTION_ARG_FILENAME, &scheme_file, N_("Per-layer schemes from a scheme file"), "FILE" },
    { "estimate", 0, 0, G_OPTION_ARG_INT, &estimate, N_("Print an estimate on the first N images first"), "N" },
    { "estimate-seconds", 0, 0, G_OPTION_ARG_DOUBLE, &estimate_seconds,
      N_("Print an estimate on as many images as fit in S seconds first"), "S" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print JSON"), NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new (_("MODEL.h5 — each layer quantized alone and kept in float32, and how well SQNR predicts it"));
  g_autoptr(GError) error = NULL;
  g_autoptr(QsSchemeSet) schemes = NULL;
  g_autoptr(QsScoreSession) session = NULL;
  g_autoptr(QsSensitivity) result = NULL;
  QsEngineDataset calib_view;
  QsCliEval eval = { 0 };
  double t0 = g_get_monotonic_time () / 1e6;
  int status;

  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  g_option_context_add_group (context, qs_cli_eval_option_group (&eval_options));
  g_option_context_add_group (context, qs_cli_scheme_option_group (&scheme_options));
  if (!qs_cli_parse (context, &argc, &argv, &status))
    goto out;
  if ((schemes = qs_cli_load_schemes (scheme_file, &scheme_options, NULL, &error)) == NULL)
    {
      status = qs_cli_fail (error);
      goto out;
    }
  if (argc != 2)
    {
      status = qs_cli_fail_message (_("sensitivity takes exactly one MODEL.h5"));
      goto out;
    }
  if (estimate < 0)
    {
      status = qs_cli_fail_message (_("--estimate must not be negative"));
      goto out;
    }
  if (!(estimate_seconds >= 0 && estimate_seconds <= 1e6) || (estimate > 0 && estimate_seconds > 0))
    {
      status = qs_cli_fail_message (_("--estimate-seconds takes a number of seconds from 0 to 1000000, without --estimate"));
      goto out;
    }
  if ((status = qs_cli_eval_open (&eval, argv[1], &eval_options, scheme_options.threads)) != 0)
    goto out;
  sink.json = json;
  if ((session = open_session (&eval, schemes, &calib_view, &error)) == NULL
      || (result = qs_sensitivity_compute (session, schemes, (gsize) estimate, estimate_seconds,
                                           estimate_cb, NULL, &sink, &error)) == NULL)
    {
      status = qs_cli_fail_message ("%s: %s", qs_cli_safe (argv[1]), error->message);
      goto out;
    }
  if (json)
    print_sensitivity_json (argv[1], result, sink.estimate, session, g_get_monotonic_time () / 1e6 - t0);
  else
    print_sensitivity_text (result);

out:
  g_clear_pointer (&sink.estimate, json_node_unref);
  qs_cli_scheme_options_clear (&scheme_options);
  qs_cli_eval_options_clear (&eval_options);
  g_clear_pointer (&session, qs_score_session_free);
  qs_cli_eval_clear (&eval);
  return status;
}

/* ---- mixed precision ----------------------------------------------------------- */

static void
add_bits (JsonBuilder         *b,
          const QsMixedSearch *search,
          const QsMixedPoint  *point)
{
  json_builder_set_member_name (b, "bits");
  json_builder_begin_object (b);
  for (guint i = 0; i < qs_mixed_search_get_n_layers (search); i++)
    {
      const QsPrecision *p = qs_mixed_search_get_candidate (search, point->choice[i]);

      json_builder_set_member_name (b, qs_mixed_search_get_layer_name (search, i));
      if (p->format == QS_FORMAT_INT)
        json_builder_add_int_value (b, p->bits);
      else
        json_builder_add_string_value (b, qs_format_to_string (p->format));
    }
  json_builder_end_object (b);
}

static void
add_points (JsonBuilder         *b,
            const char          *name,
            const QsMixedSearch *search,
            GPtrArray           *points)
{
  json_builder_set_member_name (b, name);
  json_builder_begin_array (b);
  for (guint i = 0; i < points->len; i++)
    {
      const QsMixedPoint *p = g_ptr_array_index (points, i);

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "size_bytes");
      json_builder_add_int_value (b, (gint64) p->size_bytes);
      qs_json_add_number_member (b, "quant_top1", p->quant_top1);
      json_builder_set_member_name (b, "within_budget");
      json_builder_add_boolean_value (b, p->within_budget);
      add_bits (b, search, p);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
}

static void
print_mixed_json (const char           *model_path,
                  const QsMixedSearch  *search,
                  const QsMixedPoint   *chosen,
                  gboolean              within,
                  const QsScoreSession *session,
                  double                total)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(GPtrArray) pareto = qs_mixed_search_pareto (search);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "model");
  json_builder_add_string_value (b, model_path);
  json_builder_set_member_name (b, "images");
  json_builder_add_int_value (b, (gint64) qs_score_session_get_input (session)->count);
  qs_json_add_number_member (b, "fp32_top1", qs_mixed_search_get_fp32_top1 (search));
  qs_json_add_number_member (b, "quant_top1", chosen->quant_top1);
  json_builder_set_member_name (b, "size_bytes");
  json_builder_add_int_value (b, (gint64) chosen->size_bytes);
  json_builder_set_member_name (b, "within_budget");
  json_builder_add_boolean_value (b, within);
  add_bits (b, search, chosen);
  add_points (b, "pareto", search, pareto);
  add_points (b, "points", search, qs_mixed_search_get_points (search));
  json_builder_set_member_name (b, "pricing_evaluations");
  json_builder_add_int_value (b, qs_mixed_search_get_pricing_evaluations (search));
  json_builder_set_member_name (b, "pricing_images");
  json_builder_add_int_value (b, (gint64) qs_mixed_search_get_pricing_images (search));
  finish_json (b, qs_mixed_search_get_evaluations (search), session, total);
}

static void
print_mixed_text (const QsMixedSearch *search,
                  const QsMixedPoint  *chosen,
                  gboolean             within)
{
  g_autoptr(GString) out = g_string_new (NULL);
  g_autoptr(GPtrArray) pareto = qs_mixed_search_pareto (search);
  g_autofree char *size = g_strdup_printf ("%" G_GUINT64_FORMAT, chosen->size_bytes);

  g_string_append_printf (out, within ? _("Smallest within the budget: %s bytes, top-1 %.2f %% (fp32 %.2f %%)\n")
                                      : _("Nothing fits the budget; the largest: %s bytes, top-1 %.2f %% (fp32 %.2f %%)\n"),
                          size, 100 * chosen->quant_top1, 100 * qs_mixed_search_get_fp32_top1 (search));
  for (guint i = 0; i < qs_mixed_search_get_n_layers (search); i++)
    {
      g_autofree char *p = qs_precision_to_string (qs_mixed_search_get_candidate (search, chosen->choice[i]));
      g_string_append (out, "  ");
      qs_cli_append_padded (out, qs_cli_safe (qs_mixed_search_get_layer_name (search, i)), 24);
      g_string_append_printf (out, "  %s\n", p);
    }
  g_string_append_printf (out, _("Pareto front (%u of %u evaluations):\n"), pareto->len,
                          qs_mixed_search_get_evaluations (search));
  for (guint i = 0; i < pareto->len; i++)
    {
      const QsMixedPoint *p = g_ptr_array_index (pareto, i);
      g_string_append_printf (out, "  %12" G_GUINT64_FORMAT " bytes  %6.2f %%\n", p->size_bytes, 100 * p->quant_top1);
    }
  fputs (out->str, stdout);
}

/* The largest assignment, shown when nothing fits the budget. */
static const QsMixedPoint *
largest_point (const QsMixedSearch *search)
{
  GPtrArray *points = qs_mixed_search_get_points (search);
  const QsMixedPoint *largest = NULL;

  for (guint i = 0; i < points->len; i++)
    {
      const QsMixedPoint *p = g_ptr_array_index (points, i);
      if (largest == NULL || p->size_bytes > largest->size_bytes)
        largest = p;
    }
  return largest;
}

int
qs_cli_mixed (int    argc,
              char **argv)
{
  g_autofree char *scheme_file = NULL;
  g_autofree char *bits_text = NULL;
  g_autofree char *out_path = NULL;
  double budget = NAN;
  gboolean json = FALSE;
  int threads = 0;
  QsCliEvalOptions eval_options = { 0 };
  const GOptionEntry entries[] = {
    { "budget", 0, 0, G_OPTION_ARG_DOUBLE, &budget, N_("Accuracy allowed below float32, in percentage points"), "P" },
    { "bits", 0, 0, G_OPTION_ARG_STRING, &bits_text, N_("Candidate weight precisions, e.g. 2,4,6,8 or 4,8,fp16"), "LIST" },
    { "scheme-file", 0, 0, G_OPTION_ARG_FILENAME, &scheme_file, N_("The schemes to start from (default: the default scheme)"), "FILE" },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out_path, N_("Write the chosen schemes as a scheme file"), "FILE" },
    { "threads", 'j', 0, G_OPTION_ARG_INT, &threads, N_("Worker threads (default: all cores)"), "N" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print JSON"), NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new (_("MODEL.h5 — the smallest per-layer weight precisions within an accuracy budget"));
  g_autoptr(GError) error = NULL;
  g_autoptr(QsSchemeSet) base = NULL;
  g_autoptr(GArray) candidates = NULL;
  g_autoptr(QsScoreSession) session = NULL;
  g_autoptr(QsMixedSearch) search = NULL;
  const QsMixedPoint *chosen = NULL;
  QsEngineDataset calib_view;
  QsCliEval eval = { 0 };
  double t0 = g_get_monotonic_time () / 1e6;
  int status;

  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  g_option_context_add_group (context, qs_cli_eval_option_group (&eval_options));
  if (!qs_cli_parse (context, &argc, &argv, &status))
    goto out;
  if (argc != 2)
    {
      status = qs_cli_fail_message (_("mixed takes exactly one MODEL.h5"));
      goto out;
    }
  if (!isfinite (budget) || budget < 0 || budget > 100)
    {
      status = qs_cli_fail_message (_("mixed needs --budget P, between 0 and 100 percentage points"));
      goto out;
    }
  if (bits_text == NULL)
    {
      status = qs_cli_fail_message (_("mixed needs --bits LIST, e.g. 2,4,6,8"));
      goto out;
    }
  if (threads < 0 || threads > 64)
    {
      status = qs_cli_fail_message (_("--threads must be between 0 and 64"));
      goto out;
    }
  if ((candidates = qs_precision_list_parse (bits_text, &error)) == NULL
      || (base = scheme_file != NULL ? qs_scheme_set_load (scheme_file, &error) : qs_scheme_set_new (NULL)) == NULL)
    {
      status = qs_cli_fail (error);
      goto out;
    }
  if (out_path != NULL
      && !qs_output_check_not_input (out_path, (const char *[]) { argv[1], scheme_file, eval_options.data_path,
                                                                  eval_options.calib_path }, 4, &error))
    {
      status = qs_cli_fail (error);
      goto out;
    }
  if ((status = qs_cli_eval_open (&eval, argv[1], &eval_options, threads)) != 0)
    goto out;
  if ((session = open_session (&eval, base, &calib_view, &error)) == NULL
      || (search = qs_mixed_search_new (session, base, (const QsPrecision *) candidates->data,
                                        candidates->len, &error)) == NULL)
    {
      status = qs_cli_fail_message ("%s: %s", qs_cli_safe (argv[1]), error->message);
      goto out;
    }
  chosen = qs_mixed_search_run (search, budget, NULL, NULL, &error);
  if (chosen == NULL && error != NULL)
    {
      status = qs_cli_fail_message ("%s: %s", qs_cli_safe (argv[1]), error->message);
      goto out;
    }
  if (out_path != NULL)
    {
      g_autoptr(QsSchemeSet) set = qs_mixed_search_make_set (search, (chosen != NULL ? chosen : largest_point (search))->choice);

      if (!qs_scheme_set_save (set, out_path, &error))
        {
          status = qs_cli_fail (error);
          goto out;
        }
    }
  if (json)
    print_mixed_json (argv[1], search, chosen != NULL ? chosen : largest_point (search), chosen != NULL,
                      session, g_get_monotonic_time () / 1e6 - t0);
  else
    print_mixed_text (search, chosen != NULL ? chosen : largest_point (search), chosen != NULL);

out:
  qs_cli_eval_options_clear (&eval_options);
  g_clear_pointer (&search, qs_mixed_search_free);
  g_clear_pointer (&session, qs_score_session_free);
  qs_cli_eval_clear (&eval);
  return status;
}
