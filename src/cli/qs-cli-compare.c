/* qs-cli-compare.c: `quantscope-cli compare MODEL --scheme-a A.json --scheme-b B.json`: two scheme sets side by side.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every number is the one `eval --scheme-file` and `stats --scheme-file`
 * print for the same set: the accuracy comes from the same evaluation
 * (qs_cli_eval_run), the tensors from the same reports and JSON
 * (qs_overview_compute, qs_tensor_report_to_json).
 */
#include "config.h"

#include <stdio.h>

#include <glib/gi18n.h>

#include "cli/qs-cli.h"
#include "cli/qs-cli-eval.h"
#include "model/qs-format-text.h"
#include "model/qs-json.h"
#include "model/qs-overview.h"
#include "model/qs-scheme-file.h"

/* One side of the comparison. */
typedef struct {
  const char   *scheme_path;
  QsSchemeSet  *schemes;
  QsCliEvalRun  run;
  QsOverview   *overview;
  GHashTable   *rows;        /* QsTensorInfo * -> QsOverviewRow * (borrowed) */
} Side;

static void
side_clear (Side *side)
{
  g_clear_pointer (&side->schemes, qs_scheme_set_unref);
  qs_cli_eval_run_clear (&side->run);
  g_clear_pointer (&side->overview, qs_overview_free);
  g_clear_pointer (&side->rows, g_hash_table_unref);
}

/* The report of @info under this side's set, or NULL when it is kept float32. */
static const QsTensorReport *
side_report (const Side         *side,
             const QsTensorInfo *info)
{
  const QsOverviewRow *row = g_hash_table_lookup (side->rows, info);

  return row != NULL ? row->report : NULL;
}

static int
side_compute (Side       *side,
              QsCliEval  *eval,
              const char *model_path)
{
  g_autoptr(GError) error = NULL;
  int status;

  if ((status = qs_cli_eval_run (eval, model_path, side->schemes, &side->run)) != 0)
    return status;
  side->overview = qs_overview_compute (eval->file, side->schemes, eval->threads, eval->budget, NULL, &error);
  if (side->overview == NULL)
    return qs_cli_fail (error);
  side->rows = g_hash_table_new (NULL, NULL);
  for (guint i = 0; i < side->overview->rows->len; i++)
    {
      QsOverviewRow *row = g_ptr_array_index (side->overview->rows, i);
      g_hash_table_insert (side->rows, (gpointer) row->info, row);
    }
  return 0;
}

static void
add_side_json (JsonBuilder *b,
               const char  *name,
               const Side  *side)
{
  json_builder_set_member_name (b, name);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "scheme_file");
  json_builder_add_string_value (b, side->scheme_path);
  qs_json_add_number_member (b, "fp32_top1", qs_cli_eval_fp32_top1 (&side->run));
  qs_json_add_number_member (b, "quant_top1", qs_cli_eval_quant_top1 (&side->run));
  json_builder_set_member_name (b, "size_bytes");
  json_builder_add_int_value (b, (gint64) side->overview->size_quant_bytes);
  json_builder_end_object (b);
}

static void
add_report_json (JsonBuilder          *b,
                 const char           *name,
                 const QsTensorReport *report)
{
  json_builder_set_member_name (b, name);
  if (report != NULL)
    json_builder_add_value (b, qs_tensor_report_to_json (report));
  else
    json_builder_add_null_value (b);
}

static void
print_json (const char *model_path,
            QsCliEval  *eval,
            const Side *a,
            const Side *b_side)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  GPtrArray *tensors = qs_weight_file_get_tensors (eval->file);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "model");
  json_builder_add_string_value (b, model_path);
  json_builder_set_member_name (b, "images");
  json_builder_add_int_value (b, (gint64) a->run.result.images);
  add_side_json (b, "a", a);
  add_side_json (b, "b", b_side);
  json_builder_set_member_name (b, "tensors");
  json_builder_begin_array (b);
  for (guint i = 0; i < tensors->len; i++)
    {
      const QsTensorInfo *info = g_ptr_array_index (tensors, i);
      const QsTensorReport *ra = side_report (a, info), *rb = side_report (b_side, info);

      /* A tensor both sets keep in float32 has nothing to compare. */
      if (ra == NULL && rb == NULL)
        continue;
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "tensor");
      json_builder_add_string_value (b, info->path);
      add_report_json (b, "a", ra);
      add_report_json (b, "b", rb);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  qs_cli_print_json_node (root);
}

/* "41.9 dB", or "float32" for a tensor the set keeps. */
static char *
sqnr_cell (const QsTensorReport *report)
{
  return report != NULL ? qs_format_sqnr (report->analysis.sqnr_db) : g_strdup (_("float32"));
}

/* The tensor's stored size; a kept tensor at 4 bytes a value. */
static char *
size_cell (const QsTensorReport *report,
           const QsTensorInfo   *info)
{
  return qs_format_size (report != NULL ? report->analysis.size_quant_bytes
                                        : info->count > G_MAXUINT64 / 4 ? G_MAXUINT64 : info->count * 4);
}

static void
print_text (const char *model_path,
            QsCliEval  *eval,
            const Side *a,
            const Side *b)
{
  g_autoptr(GString) out = g_string_new (NULL);
  GPtrArray *tensors = qs_weight_file_get_tensors (eval->file);
  const Side *sides[] = { a, b };
  const char *names[] = { "A", "B" };
  /* As wide as the longest path shown (Keras paths run to a hundred
   * columns), so the figures stay in their columns. */
  gsize path_columns = MAX (48, qs_cli_text_columns (_("Tensor")));

  g_string_append_printf (out, _("Model        %s, %zu images\n"), qs_cli_safe (model_path), a->run.result.images);
  for (int s = 0; s < 2; s++)
    {
      g_autofree char *size = qs_format_size (sides[s]->overview->size_quant_bytes);

      g_string_append_printf (out, _("%s            %s: fp32 top-1 %.2f %%, int top-1 %.2f %%, size %s\n"),
                              names[s], qs_cli_safe (sides[s]->scheme_path),
                              100.0 * qs_cli_eval_fp32_top1 (&sides[s]->run),
                              100.0 * qs_cli_eval_quant_top1 (&sides[s]->run), size);
    }
  g_string_append_c (out, '\n');
  for (guint i = 0; i < tensors->len; i++)
    {
      const QsTensorInfo *info = g_ptr_array_index (tensors, i);
      if (side_report (a, info) != NULL || side_report (b, info) != NULL)
        path_columns = MAX (path_columns, qs_cli_text_columns (qs_cli_safe (info->path)));
    }
  qs_cli_append_padded (out, _("Tensor"), path_columns);
  qs_cli_append_right (out, _("SQNR A"), 14);
  qs_cli_append_right (out, _("SQNR B"), 13);
  qs_cli_append_right (out, _("Size A"), 13);
  qs_cli_append_right (out, _("Size B"), 13);
  g_string_append_c (out, '\n');
  for (guint i = 0; i < tensors->len; i++)
    {
      const QsTensorInfo *info = g_ptr_array_index (tensors, i);
      const QsTensorReport *ra = side_report (a, info), *rb = side_report (b, info);
      g_autofree char *sqnr_a = NULL, *sqnr_b = NULL, *size_a = NULL, *size_b = NULL;

      if (ra == NULL && rb == NULL)
        continue;
      sqnr_a = sqnr_cell (ra);
      sqnr_b = sqnr_cell (rb);
      size_a = size_cell (ra, info);
      size_b = size_cell (rb, info);
      qs_cli_append_padded (out, qs_cli_safe (info->path), path_columns);
      g_string_append_printf (out, "  %12s %12s %12s %12s\n", sqnr_a, sqnr_b, size_a, size_b);
    }
  fputs (out->str, stdout);
}

int
qs_cli_compare (int    argc,
                char **argv)
{
  g_autofree char *scheme_a = NULL;
  g_autofree char *scheme_b = NULL;
  gboolean json = FALSE;
  int threads = 0;
  QsCliEvalOptions eval_options = { 0 };
  const GOptionEntry entries[] = {
    { "scheme-a", 'a', 0, G_OPTION_ARG_FILENAME, &scheme_a, N_("The first scheme file"), "FILE" },
    { "scheme-b", 'b', 0, G_OPTION_ARG_FILENAME, &scheme_b, N_("The second scheme file"), "FILE" },
    { "threads", 'j', 0, G_OPTION_ARG_INT, &threads, N_("Worker threads (default: all cores)"), "N" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print JSON"), NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new (_("MODEL.h5 — two scheme files side by side: accuracy, size and every tensor's error"));
  g_autoptr(GError) error = NULL;
  QsCliEval eval = { 0 };
  Side a = { 0 }, b = { 0 };
  int status;

  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  g_option_context_add_group (context, qs_cli_eval_option_group (&eval_options));
  if (!qs_cli_parse (context, &argc, &argv, &status))
    goto out;
  if (scheme_a == NULL || scheme_b == NULL)
    {
      status = qs_cli_fail_message (_("compare needs --scheme-a FILE and --scheme-b FILE"));
      goto out;
    }
  if (argc != 2)
    {
      status = qs_cli_fail_message (_("compare takes exactly one MODEL.h5"));
      goto out;
    }
  if (threads < 0 || threads > 64)
    {
      status = qs_cli_fail_message (_("--threads must be between 0 and 64"));
      goto out;
    }
  a.scheme_path = scheme_a;
  b.scheme_path = scheme_b;
  if ((a.schemes = qs_scheme_set_load (scheme_a, &error)) == NULL
      || (b.schemes = qs_scheme_set_load (scheme_b, &error)) == NULL)
    {
      status = qs_cli_fail (error);
      goto out;
    }

  if ((status = qs_cli_eval_open (&eval, argv[1], &eval_options, threads)) != 0
      || (status = side_compute (&a, &eval, argv[1])) != 0
      || (status = side_compute (&b, &eval, argv[1])) != 0)
    goto out;

  if (json)
    print_json (argv[1], &eval, &a, &b);
  else
    print_text (argv[1], &eval, &a, &b);

out:
  qs_cli_eval_options_clear (&eval_options);
  side_clear (&a);
  side_clear (&b);
  qs_cli_eval_clear (&eval);
  return status;
}
