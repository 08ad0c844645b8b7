/* qs-cli-layers.c: `quantscope-cli layers FILE [--json] [--check-data]`.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <stdio.h>

#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "cli/qs-cli.h"
#include "model/qs-json.h"
#include "model/qs-tensor-report.h"
#include "model/qs-weight-file.h"

static const char *
layout_name (QsFileLayout layout)
{
  switch (layout)
    {
    case QS_FILE_LAYOUT_KERAS_MODEL:
      return "keras-model";
    case QS_FILE_LAYOUT_KERAS_WEIGHTS:
      return "keras-weights";
    case QS_FILE_LAYOUT_KERAS3_WEIGHTS:
      return "keras3-weights";
    case QS_FILE_LAYOUT_KERAS3_MODEL:
      return "keras3-model";
    case QS_FILE_LAYOUT_GENERIC:
    default:
      return "generic";
    }
}

static char *
shape_text (const QsTensorInfo *info)
{
  GString *text = g_string_new ("(");

  for (int d = 0; d < info->rank; d++)
    g_string_append_printf (text, d ? ", %" G_GINT64_FORMAT : "%" G_GINT64_FORMAT, info->shape[d]);
  if (info->rank == 1)
    g_string_append_c (text, ',');
  g_string_append_c (text, ')');
  return g_string_free (text, FALSE);
}

static void
print_json (QsWeightFile *file)
{
  GPtrArray *tensors = qs_weight_file_get_tensors (file);
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "file");
  json_builder_add_string_value (builder, qs_weight_file_get_filename (file));
  json_builder_set_member_name (builder, "layout");
  json_builder_add_string_value (builder, layout_name (qs_weight_file_get_layout (file)));
  json_builder_set_member_name (builder, "has_model_config");
  json_builder_add_boolean_value (builder, qs_weight_file_get_model_config (file) != NULL);
  json_builder_set_member_name (builder, "tensors");
  json_builder_begin_array (builder);
  for (guint i = 0; i < tensors->len; i++)
    json_builder_add_value (builder, qs_tensor_info_to_json (g_ptr_array_index (tensors, i)));
  json_builder_end_array (builder);
  /* Links that lead nowhere (dangling, cyclic, missing external files). */
  if (qs_weight_file_get_warnings (file)->len > 0)
    {
      GPtrArray *warnings = qs_weight_file_get_warnings (file);

      json_builder_set_member_name (builder, "warnings");
      json_builder_begin_array (builder);
      for (guint i = 0; i < warnings->len; i++)
        json_builder_add_string_value (builder, g_ptr_array_index (warnings, i));
      json_builder_end_array (builder);
    }
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  text = qs_json_to_string (root, TRUE);
  qs_cli_print_json (text);
}

static void
print_table (QsWeightFile *file)
{
  GPtrArray *tensors = qs_weight_file_get_tensors (file);
  g_autoptr(GString) out = g_string_new (NULL);

  g_string_append_printf (out, _("%s (%s), %u tensors\n"), qs_cli_safe (qs_weight_file_get_filename (file)),
                          layout_name (qs_weight_file_get_layout (file)), tensors->len);
  gsize path_columns = 48, layer_columns = 16;

  /* Columns as wide as the longest name, so a long path never runs into
   * the layer name beside it. */
  for (guint i = 0; i < tensors->len; i++)
    {
      const QsTensorInfo *info = g_ptr_array_index (tensors, i);

      path_columns = MAX (path_columns, qs_cli_text_columns (qs_cli_safe (info->path)));
      layer_columns = MAX (layer_columns, qs_cli_text_columns (qs_cli_safe (info->layer)));
    }
  for (guint i = 0; i < tensors->len; i++)
    {
      const QsTensorInfo *info = g_ptr_array_index (tensors, i);
      g_autofree char *shape = shape_text (info);
      g_string_append (out, "  ");
      qs_cli_append_padded (out, qs_cli_safe (info->path), path_columns + 1);
      qs_cli_append_padded (out, qs_cli_safe (info->layer), layer_columns + 1);
      g_string_append_printf (out, "%-8s %-18s %10" G_GUINT64_FORMAT "  %s\n", info->dtype, shape, info->count,
                              info->quantizable ? qs_tensor_role_to_string (info->role)
                                                : _("not quantizable"));
    }
  for (guint i = 0; i < qs_weight_file_get_warnings (file)->len; i++)
    g_string_append_printf (out, _("Warning: %s\n"),
                            qs_cli_safe (g_ptr_array_index (qs_weight_file_get_warnings (file), i)));
  fputs (out->str, stdout);
}

int
qs_cli_layers (int    argc,
               char **argv)
{
  gboolean json = FALSE, check_data = FALSE;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print JSON"), NULL },
    { "check-data", 0, 0, G_OPTION_ARG_NONE, &check_data,
      N_("Also read the values of every dataset once, and fail if one cannot be read"), NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new (_("FILE — list every tensor"));
  g_autoptr(GError) error = NULL;
  g_autoptr(QsWeightFile) file = NULL;
  int status;

  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!qs_cli_parse (context, &argc, &argv, &status))
    return status;
  if (argc != 2)
    return qs_cli_fail_message (_("layers takes exactly one FILE"));

  file = qs_cli_open_weights (argv[1], QS_WEIGHT_FILE_FOLLOW_EXTERNAL_LINKS, &error);
  if (file == NULL)
    return qs_cli_fail (error);
  if (check_data)
    {
      gboolean ok;

      GStatBuf st;

      /* Decoding chunks can loop in libhdf5 as reading metadata can; every
       * value is read, however many (the app's scan needs them all). */
      qs_cli_watchdog_start_reading (argv[1], g_stat (argv[1], &st) == 0 ? (guint64) st.st_size : 0);
      ok = qs_weight_file_check_data (file, 0, &error);
      qs_cli_watchdog_stop ();
      if (!ok)
        return qs_cli_fail (error);
    }

  if (json)
    print_json (file);
  else
    print_table (file);
  return 0;
}
