/* qs-overview.c: the model overview: every tensor of a weight file under a scheme file, worst first.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "model/qs-overview.h"

#include <glib/gi18n.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "model/qs-error.h"
#include "model/qs-json.h"
#include "model/qs-tensor-stream.h"

static void
row_free (gpointer data)
{
  QsOverviewRow *row = data;

  qs_tensor_report_unref (row->report);
  g_free (row);
}

void
qs_overview_free (QsOverview *overview)
{
  if (overview == NULL)
    return;
  g_free (overview->model);
  g_ptr_array_unref (overview->rows);
  g_free (overview);
}

/* Worst SQNR first; an exact tensor (+inf) after every finite one, an
 * undefined SQNR (an all-zero tensor) after that, kept tensors last; ties
 * keep the file's order (the sort is stable). */
static int
rank_of (const QsOverviewRow *row)
{
  if (row->report == NULL)
    return 3;
  if (isnan (row->report->analysis.sqnr_db))
    return 2;
  return isinf (row->report->analysis.sqnr_db) ? 1 : 0;
}

static int
compare_rows (gconstpointer a,
              gconstpointer b)
{
  const QsOverviewRow *x = *(QsOverviewRow * const *) a;
  const QsOverviewRow *y = *(QsOverviewRow * const *) b;
  int rx = rank_of (x), ry = rank_of (y);

  if (rx != ry)
    return rx < ry ? -1 : 1;
  if (rx == 0 && x->report->analysis.sqnr_db != y->report->analysis.sqnr_db)
    return x->report->analysis.sqnr_db < y->report->analysis.sqnr_db ? -1 : 1;
  return 0;
}

/* Kept tensors count at 4 bytes a value on both sides; saturating, so a
 * made-up shape cannot wrap a total around. */
static guint64
kept_bytes (const QsTensorInfo *info)
{
  return info->count > G_MAXUINT64 / 4 ? G_MAXUINT64 : info->count * 4;
}

static const char *
kept_reason (const QsSchemeSet  *schemes,
             const QsTensorInfo *info,
             QsScheme           *scheme)
{
  if (info->count == 0)
    return "empty";
  if (!info->quantizable)
    return "not floating point";
  if (!qs_scheme_set_resolve_tensor (schemes, info, scheme))
    return "skipped by the scheme";
  return NULL;
}

QsOverview *
qs_overview_compute (QsWeightFile   *file,
                     const QsSchemeSet *schemes,
                     int             n_threads,
                     guint64         memory_budget,
                     GCancellable   *cancellable,
                     GError        **error)
{
  g_autoptr(QsOverview) overview = g_new0 (QsOverview, 1);
  GPtrArray *tensors;

  g_return_val_if_fail (QS_IS_WEIGHT_FILE (file), NULL);
  g_return_val_if_fail (schemes != NULL, NULL);

  overview->model = g_strdup (qs_weight_file_get_filename (file));
  overview->rows = g_ptr_array_new_with_free_func (row_free);
  tensors = qs_weight_file_get_tensors (file);
  for (guint i = 0; i < tensors->len; i++)
    {
      const QsTensorInfo *info = g_ptr_array_index (tensors, i);
      QsOverviewRow *row = g_new0 (QsOverviewRow, 1);
      g_autoptr(GError) local = NULL;
      QsScheme scheme;

      row->info = info;
      g_ptr_array_add (overview->rows, row);
      row->reason = kept_reason (schemes, info, &scheme);
      overview->parameters += info->count;
      if (row->reason != NULL)
        {
          overview->size_fp32_bytes += kept_bytes (info);
          overview->size_quant_bytes += kept_bytes (info);
          continue;
        }
      row->report = qs_tensor_report_compute_budget (file, info->path, &scheme, n_threads,
                                                     memory_budget, cancellable, &local);
      if (row->report == NULL && g_error_matches (local, QS_ERROR, QS_ERROR_EMPTY))
        {
          /* NaN and infinities only: nothing to quantize, but the rest of
           * the model still has its report. */
          g_clear_error (&local);
          row->reason = "no finite values";
          overview->size_fp32_bytes += kept_bytes (info);
          overview->size_quant_bytes += kept_bytes (info);
          continue;
        }
      if (row->report == NULL)
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return NULL;
        }
      overview->quantized++;
      overview->size_fp32_bytes += row->report->analysis.size_fp32_bytes;
      overview->size_quant_bytes += row->report->analysis.size_quant_bytes;
    }
  g_ptr_array_sort (overview->rows, compare_rows);
  return g_steal_pointer (&overview);
}

/* ---- the row's fields, shared by the three formats ----------------------- */

static double
clipped_percent (const QsTensorReport *report)
{
  const QsAnalysis *a = &report->analysis;

  return a->finite_count > 0 ? 100.0 * (double) a->clipped_count / (double) a->finite_count : 0.0;
}

static char *
shape_text (const QsTensorInfo *info)
{
  GString *text = g_string_new (NULL);

  for (int d = 0; d < info->rank; d++)
    g_string_append_printf (text, "%s%" G_GINT64_FORMAT, d > 0 ? "x" : "", info->shape[d]);
  return g_string_free (text, FALSE);
}

static const char *
granularity_of (const QsTensorReport *report)
{
  /* As `stats --json` says it: the axis is -1 once resolved per tensor. */
  return qs_granularity_to_string (report->scheme.granularity == QS_GRANULARITY_CHANNEL
                                   && report->scheme.axis >= 0
                                   ? QS_GRANULARITY_CHANNEL : QS_GRANULARITY_TENSOR);
}

static int
bits_of (const QsTensorReport *report)
{
  const QsScheme *s = &report->scheme;

  if (s->format == QS_FORMAT_INT)
    return s->bits;
  return s->format == QS_FORMAT_FP16 || s->format == QS_FORMAT_BF16 ? 16 : 8;
}

/* ---- JSON ------------------------------------------------------------------ */

static void
add_int_member (JsonBuilder *b,
                const char  *name,
                gint64       value)
{
  json_builder_set_member_name (b, name);
  json_builder_add_int_value (b, value);
}

static void
add_string_member (JsonBuilder *b,
                   const char  *name,
                   const char  *value)
{
  json_builder_set_member_name (b, name);
  if (value != NULL)
    json_builder_add_string_value (b, value);
  else
    json_builder_add_null_value (b);
}

static void
add_row_json (JsonBuilder         *b,
              const QsOverviewRow *row)
{
  const QsTensorReport *r = row->report;
  g_autofree char *scheme = r != NULL ? qs_tensor_report_describe_scheme (r) : NULL;

  json_builder_begin_object (b);
  add_string_member (b, "tensor", row->info->path);
  add_int_member (b, "parameters", (gint64) row->info->count);
  json_builder_set_member_name (b, "shape");
  json_builder_begin_array (b);
  for (int d = 0; d < row->info->rank; d++)
    json_builder_add_int_value (b, row->info->shape[d]);
  json_builder_end_array (b);
  qs_json_add_number_member (b, "min", r != NULL ? r->analysis.data_min : NAN);
  qs_json_add_number_member (b, "max", r != NULL ? r->analysis.data_max : NAN);
  add_string_member (b, "scheme", scheme);
  add_string_member (b, "format", r != NULL ? qs_format_to_string (r->scheme.format) : NULL);
  json_builder_set_member_name (b, "bits");
  if (r != NULL)
    json_builder_add_int_value (b, bits_of (r));
  else
    json_builder_add_null_value (b);
  add_string_member (b, "mapping", r != NULL ? qs_mapping_to_string (r->scheme.mapping) : NULL);
  add_string_member (b, "granularity", r != NULL ? granularity_of (r) : NULL);
  qs_json_add_number_member (b, "sqnr_db", r != NULL ? r->analysis.sqnr_db : NAN);
  qs_json_add_number_member (b, "max_abs_error", r != NULL ? r->analysis.max_abs_error : NAN);
  qs_json_add_number_member (b, "clipped_percent", r != NULL ? clipped_percent (r) : NAN);
  json_builder_set_member_name (b, "zero_exact");
  if (r != NULL)
    json_builder_add_boolean_value (b, r->analysis.zero_exact);
  else
    json_builder_add_null_value (b);
  add_int_member (b, "size_quant_bytes", (gint64) (r != NULL ? r->analysis.size_quant_bytes : kept_bytes (row->info)));
  add_int_member (b, "size_fp32_bytes", (gint64) (r != NULL ? r->analysis.size_fp32_bytes : kept_bytes (row->info)));
  json_builder_set_member_name (b, "kept_float");
  json_builder_add_boolean_value (b, r == NULL);
  add_string_member (b, "reason", row->reason);
  json_builder_end_object (b);
}

JsonNode *
qs_overview_to_json (const QsOverview *overview)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  const QsOverviewRow *worst = overview->rows->len > 0 ? g_ptr_array_index (overview->rows, 0) : NULL;

  json_builder_begin_object (b);
  add_string_member (b, "model", overview->model);
  json_builder_set_member_name (b, "tensors");
  json_builder_begin_array (b);
  for (guint i = 0; i < overview->rows->len; i++)
    add_row_json (b, g_ptr_array_index (overview->rows, i));
  json_builder_end_array (b);

  json_builder_set_member_name (b, "total");
  json_builder_begin_object (b);
  add_int_member (b, "tensors", overview->rows->len);
  add_int_member (b, "quantized", overview->quantized);
  add_int_member (b, "kept_float", overview->rows->len - overview->quantized);
  add_int_member (b, "parameters", (gint64) overview->parameters);
  add_int_member (b, "size_quant_bytes", (gint64) overview->size_quant_bytes);
  add_int_member (b, "size_fp32_bytes", (gint64) overview->size_fp32_bytes);
  qs_json_add_number_member (b, "compression_ratio", overview->size_quant_bytes > 0
                             ? (double) overview->size_fp32_bytes / overview->size_quant_bytes : NAN);
  worst = worst != NULL && worst->report != NULL ? worst : NULL;
  add_string_member (b, "worst_tensor", worst != NULL ? worst->info->path : NULL);
  qs_json_add_number_member (b, "worst_sqnr_db", worst != NULL ? worst->report->analysis.sqnr_db : NAN);
  json_builder_end_object (b);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

/* ---- CSV and Markdown -------------------------------------------------------- */

/* Shortest text that reads back as the same double; empty when undefined,
 * "inf" for an exact quantization's SQNR. */
static void
append_csv_number (GString *out,
                   double   value)
{
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];

  g_string_append_c (out, ',');
  if (isnan (value))
    return;
  if (isinf (value))
    g_string_append (out, value > 0 ? "inf" : "-inf");
  else
    g_string_append (out, g_ascii_dtostr (buffer, sizeof buffer, value));
}

static void
append_csv_field (GString    *out,
                  const char *text,
                  gboolean    first)
{
  if (!first)
    g_string_append_c (out, ',');
  if (text == NULL)
    return;
  if (strpbrk (text, ",\"\r\n") == NULL)
    {
      g_string_append (out, text);
      return;
    }
  g_string_append_c (out, '"');
  for (const char *c = text; *c != '\0'; c++)
    {
      if (*c == '"')
        g_string_append_c (out, '"');
      g_string_append_c (out, *c);
    }
  g_string_append_c (out, '"');
}

char *
qs_overview_to_csv (const QsOverview *overview)
{
  static const char *header[] = {
    "tensor", "parameters", "shape", "min", "max", "scheme", "format", "bits", "mapping",
    "granularity", "sqnr_db", "max_abs_error", "clipped_percent", "zero_exact",
    "size_quant_bytes", "size_fp32_bytes", "kept_float",
  };
  GString *out = g_string_new (NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (header); i++)
    append_csv_field (out, header[i], i == 0);
  g_string_append (out, "\r\n");
  for (guint i = 0; i < overview->rows->len; i++)
    {
      const QsOverviewRow *row = g_ptr_array_index (overview->rows, i);
      const QsTensorReport *r = row->report;
      g_autofree char *shape = shape_text (row->info);
      g_autofree char *scheme = r != NULL ? qs_tensor_report_describe_scheme (r) : NULL;
      g_autofree char *bits = r != NULL ? g_strdup_printf ("%d", bits_of (r)) : NULL;

      append_csv_field (out, row->info->path, TRUE);
      g_string_append_printf (out, ",%" G_GUINT64_FORMAT, row->info->count);
      append_csv_field (out, shape, FALSE);
      append_csv_number (out, r != NULL ? r->analysis.data_min : NAN);
      append_csv_number (out, r != NULL ? r->analysis.data_max : NAN);
      append_csv_field (out, scheme, FALSE);
      append_csv_field (out, r != NULL ? qs_format_to_string (r->scheme.format) : NULL, FALSE);
      append_csv_field (out, bits, FALSE);
      append_csv_field (out, r != NULL ? qs_mapping_to_string (r->scheme.mapping) : NULL, FALSE);
      append_csv_field (out, r != NULL ? granularity_of (r) : NULL, FALSE);
      append_csv_number (out, r != NULL ? r->analysis.sqnr_db : NAN);
      append_csv_number (out, r != NULL ? r->analysis.max_abs_error : NAN);
      append_csv_number (out, r != NULL ? clipped_percent (r) : NAN);
      append_csv_field (out, r == NULL ? NULL : r->analysis.zero_exact ? "true" : "false", FALSE);
      g_string_append_printf (out, ",%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT ",%s\r\n",
                              r != NULL ? r->analysis.size_quant_bytes : kept_bytes (row->info),
                              r != NULL ? r->analysis.size_fp32_bytes : kept_bytes (row->info),
                              r == NULL ? "true" : "false");
    }
  return g_string_free (out, FALSE);
}

/* Characters that would end a cell or start Markdown formatting are
 * backslash-escaped; a line break would end the row, so it becomes <br>. */
static void
append_md_text (GString    *out,
                const char *text)
{
  for (const char *c = text; *c != '\0'; c++)
    {
      if (*c == '\r')
        continue;
      if (*c == '\n')
        g_string_append (out, "<br>");
      else if (strchr ("\\|`*_[]<>#~", *c) != NULL)
        {
          g_string_append_c (out, '\\');
          g_string_append_c (out, *c);
        }
      else
        g_string_append_c (out, *c);
    }
}

static void
append_md_row (GString             *out,
               const QsOverviewRow *row)
{
  const QsTensorReport *r = row->report;
  g_autofree char *shape = shape_text (row->info);

  g_string_append (out, "| ");
  append_md_text (out, row->info->path);
  g_string_append_printf (out, " | %" G_GUINT64_FORMAT " | %s | ", row->info->count, shape);
  if (r == NULL)
    {
      /* Translators: a Markdown table row for a tensor left unquantized. */
      g_string_append_printf (out, _("| | kept float (%s) | | | | | %" PRIu64 " | %" PRIu64 " |\n"),
                              row->reason, kept_bytes (row->info), kept_bytes (row->info));
      return;
    }
  {
    g_autofree char *scheme = qs_tensor_report_describe_scheme (r);
    g_autofree char *lo = g_strdup_printf ("%.6g", r->analysis.data_min);
    g_autofree char *hi = g_strdup_printf ("%.6g", r->analysis.data_max);
    g_autofree char *sqnr = isinf (r->analysis.sqnr_db) ? g_strdup ("∞")
                            : isnan (r->analysis.sqnr_db) ? g_strdup ("—")
                            : g_strdup_printf ("%.2f", r->analysis.sqnr_db);

    g_string_append_printf (out, "%s | %s | %s | %s | %.4g | %.3f %% | %s | %" G_GUINT64_FORMAT
                            " | %" G_GUINT64_FORMAT " |\n",
                            lo, hi, scheme, sqnr, r->analysis.max_abs_error, clipped_percent (r),
                            r->analysis.zero_exact ? _("yes") : _("no"),
                            r->analysis.size_quant_bytes, r->analysis.size_fp32_bytes);
  }
}

char *
qs_overview_to_markdown (const QsOverview *overview)
{
  GString *out = g_string_new (NULL);

  g_string_append (out, "# ");
  append_md_text (out, overview->model);
  g_string_append_printf (out, "\n\n| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
                          _("Tensor"), _("Parameters"), _("Shape"), _("Min"), _("Max"), _("Scheme"),
                          _("SQNR (dB)"), _("Max error"), _("Clipped"), _("Zero exact"),
                          _("Quantized bytes"), _("Float32 bytes"));
  g_string_append (out, "|---|--:|---|--:|--:|---|--:|--:|--:|---|--:|--:|\n");
  for (guint i = 0; i < overview->rows->len; i++)
    append_md_row (out, g_ptr_array_index (overview->rows, i));
  g_string_append_printf (out, _("\n%u tensors, %u quantized; %" PRIu64 " bytes quantized, "
                                 "%" PRIu64 " bytes as float32 (%.2fx smaller)\n"),
                          overview->rows->len, overview->quantized, overview->size_quant_bytes,
                          overview->size_fp32_bytes,
                          overview->size_quant_bytes > 0
                          ? (double) overview->size_fp32_bytes / overview->size_quant_bytes : 0.0);
  return g_string_free (out, FALSE);
}
