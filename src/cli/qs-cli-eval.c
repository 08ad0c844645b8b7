/* qs-cli-eval.c: `quantscope-cli eval MODEL.h5`: float32 and integer accuracy of a Keras model.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "cli/qs-cli-eval.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <glib/gi18n.h>

#include "cli/qs-cli.h"
#include "model/qs-error.h"
#include "model/qs-image-folder.h"
#include "model/qs-json.h"
#include "model/qs-keras-model.h"
#include "model/qs-scheme-file.h"
#include "model/qs-tensor-stream.h"

/* The calibration slice taken from the end of a user's data set when no
 * separate calibration file is given. */

GOptionGroup *
qs_cli_eval_option_group (QsCliEvalOptions *o)
{
  const GOptionEntry entries[] = {
    { "data", 'd', 0, G_OPTION_ARG_FILENAME, &o->data_path,
      N_("Labeled images: idx images file (labels beside it) or HDF5 x/y (default: the bundled Fashion-MNIST test set)"), "PATH" },
    { "preprocess", 0, 0, G_OPTION_ARG_STRING, &o->preprocess_text,
      N_("How an image folder's pixels become inputs: auto (default), unit, tf, torch, caffe or none"), "MODE" },
    { "limit", 'n', 0, G_OPTION_ARG_INT, &o->limit, N_("Score only the first N images"), "N" },
    { "calib", 'c', 0, G_OPTION_ARG_INT, &o->calib, N_("Calibration images (default 1000)"), "N" },
    { "calib-data", 0, 0, G_OPTION_ARG_FILENAME, &o->calib_path,
      N_("Calibration images (default: the bundled training slice, or the last images of --data)"), "PATH" },
    { "calibration", 0, 0, G_OPTION_ARG_FILENAME, &o->calib_path, N_("The same as --calib-data"), "PATH" },
    { "act-range", 0, 0, G_OPTION_ARG_STRING, &o->act_range, N_("Activation ranges: minmax (default) or percentile:P"), "METHOD" },
    { "float-logits", 0, 0, G_OPTION_ARG_NONE, &o->float_logits, N_("Score the last layer's sums as floats instead of uint8 codes"), NULL },
    { "memory-budget", 'm', 0, G_OPTION_ARG_STRING, &o->budget_text,
      N_("Working memory of the engine's threads (default: a quarter of RAM, at most 4G)"), "SIZE" },
    { NULL }
  };
  GOptionGroup *group = g_option_group_new ("eval", _("Evaluation options:"),
                                            _("Show the images and activations options"), NULL, NULL);

  g_option_group_add_entries (group, entries);
  g_option_group_set_translation_domain (group, GETTEXT_PACKAGE);
  return group;
}

void
qs_cli_eval_options_clear (QsCliEvalOptions *o)
{
  g_clear_pointer (&o->data_path, g_free);
  g_clear_pointer (&o->calib_path, g_free);
  g_clear_pointer (&o->act_range, g_free);
  g_clear_pointer (&o->budget_text, g_free);
  g_clear_pointer (&o->preprocess_text, g_free);
}

void
qs_cli_eval_clear (QsCliEval *eval)
{
  g_clear_pointer (&eval->model, qs_engine_model_free);
  g_clear_object (&eval->file);
  g_clear_pointer (&eval->data, qs_dataset_unref);
  g_clear_pointer (&eval->calib, qs_dataset_unref);
}

void
qs_cli_eval_run_clear (QsCliEvalRun *run)
{
  g_clear_pointer (&run->quantized, qs_quantized_model_free);
  g_clear_pointer (&run->schemes, g_free);
  g_clear_pointer (&run->scheme_ptrs, g_free);
}

double
qs_cli_eval_fp32_top1 (const QsCliEvalRun *run)
{
  return run->result.images > 0 && run->labeled ? run->result.fp32_correct / (double) run->result.images : NAN;
}

double
qs_cli_eval_quant_top1 (const QsCliEvalRun *run)
{
  return run->result.images > 0 && run->labeled ? run->result.quant_correct / (double) run->result.images : NAN;
}

/* The names of the layers the integer path ran in float (between a
 * dequantize and a quantize), in the model's order, a shared layer's
 * calls once (transfer container: the names belong to the model). */
static GPtrArray *
float_layers (const QsCliEvalRun *run)
{
  const QsEngineModel *model = qs_quantized_model_get_model (run->quantized);
  GPtrArray *names = g_ptr_array_new ();

  for (gsize i = 0; i < qs_engine_model_get_n_layers (model); i++)
    {
      QsLayerInfo info;

      if (qs_quantized_model_layer_runs_in_float (run->quantized, i) && qs_engine_model_get_layer (model, i, &info)
          && !g_ptr_array_find_with_equal_func (names, info.name, g_str_equal, NULL))
        g_ptr_array_add (names, (gpointer) info.name);
    }
  return names;
}

static void
print_text (const char   *model_path,
            QsCliEval    *eval,
            QsCliEvalRun *run)
{
  int threads = eval->threads;
  const QsEngineEvalResult *r = &run->result;
  g_autoptr(GString) out = g_string_new (NULL);
  double fp32 = qs_engine_eval_result_fp32_top1 (r), quant = qs_engine_eval_result_quant_top1 (r);

  g_string_append_printf (out, _("Model        %s (%.2f million multiply-adds per image)\n"), qs_cli_safe (model_path),
                          qs_engine_model_get_macs (eval->model) / 1e6);
  g_string_append_printf (out, _("Data         %s, images %zu..%zu\n"),
                          qs_cli_safe (qs_dataset_get_source (eval->data)), eval->first, eval->first + eval->count - 1);
  g_string_append_printf (out, _("Calibration  %zu images of %s%s\n"), eval->calib_count,
                          qs_cli_safe (eval->calib_source), eval->overlap ? _(" (also scored: no separate slice)") : "");
  if (eval->preprocess != NULL)
    g_string_append_printf (out, _("Preprocess   %s\n"), eval->preprocess);
  if (run->labeled)
    {
      g_string_append_printf (out, _("fp32 top-1   %.2f %%\n"), fp32);
      g_string_append_printf (out, _("int top-1    %.2f %% (%+.2f points), agreement %.2f %%\n"), quant,
                              quant - fp32, qs_engine_eval_result_agreement (r));
      g_string_append_printf (out, _("Speed        %.3f s for %zu images: %.0f images/s integer, "
                                     "%.0f images/s fp32 (%s kernels, %d threads)\n"),
                              r->quant_seconds, r->images,
                              r->quant_seconds > 0 ? r->images / r->quant_seconds : 0.0,
                              r->fp32_seconds > 0 ? r->images / r->fp32_seconds : 0.0,
                              qs_quantized_model_get_kernel_name (run->quantized), threads);
    }
  else
    {
      const QsAgreement *a = &run->agreement;

      g_string_append (out, _("Unlabeled    no accuracy: the integer model is compared with the float32 model\n"));
      g_string_append_printf (out, _("Top-1 agreement %.2f %%, top-5 agreement %.2f %%, output SQNR %.2f dB\n"),
                              a->images > 0 ? 100.0 * a->top1_agree / a->images : 0.0,
                              a->images > 0 ? 100.0 * a->top5_agree / a->images : 0.0,
                              qs_agreement_sqnr_db (a));
      g_string_append_printf (out, _("Speed        %.3f s for %zu images through both paths (%s kernels, %d threads)\n"),
                              r->quant_seconds, r->images, qs_quantized_model_get_kernel_name (run->quantized),
                              threads);
    }
  {
    g_autoptr(GPtrArray) names = float_layers (run);
    g_autoptr(GString) list = g_string_new (NULL);

    for (guint i = 0; i < names->len; i++)
      g_string_append_printf (list, "%s%s", i > 0 ? ", " : "", qs_cli_safe (g_ptr_array_index (names, i)));
    g_string_append_printf (out, _("In float     %s\n"),
                            names->len > 0 ? list->str : _("none (every layer has an integer kernel)"));
  }
  {
    gsize n_weighted = qs_engine_model_get_n_weighted (eval->model);
    gsize name_columns = MAX (24, qs_cli_text_columns (_("Layer")));
    gsize class_columns = MAX (16, qs_cli_text_columns (_("Class")));
    gsize bits_columns = MAX (6, qs_cli_text_columns (_("Bits")));
    gsize weight_columns = MAX (12, qs_cli_text_columns (_("Weight SQNR")));
    gsize output_columns = MAX (12, qs_cli_text_columns (_("Output SQNR")));

    /* Names from the file set the column: SeparableConv2D's halves
     * ("…_left5_3/pointwise") are longer than any fixed width. */
    for (gsize i = 0; i < n_weighted; i++)
      {
        QsLayerInfo info;

        qs_engine_model_get_layer (eval->model, qs_engine_model_weighted_layer_index (eval->model, i), &info);
        name_columns = MAX (name_columns, qs_cli_text_columns (qs_cli_safe (info.name)));
      }
    g_string_append_c (out, '\n');
    qs_cli_append_padded (out, _("Layer"), name_columns + 1);
    qs_cli_append_padded (out, _("Class"), class_columns + 1);
    qs_cli_append_right (out, _("Bits"), bits_columns);
    qs_cli_append_right (out, _("Weight SQNR"), weight_columns + 1);
    qs_cli_append_right (out, _("Output SQNR"), output_columns + 1);
    g_string_append_printf (out, "  %s\n", _("Kernel"));
    for (gsize i = 0; i < n_weighted; i++)
      {
        QsQuantizedLayerStats stats;
        QsLayerInfo info;

        qs_engine_model_get_layer (eval->model, qs_engine_model_weighted_layer_index (eval->model, i), &info);
        qs_quantized_model_get_layer_stats (run->quantized, i, &stats);
        qs_cli_append_padded (out, qs_cli_safe (info.name), name_columns + 1);
        qs_cli_append_padded (out, qs_layer_kind_to_string (info.kind), class_columns + 1);
        g_string_append_printf (out, "%*d %*.2f dB %*.2f dB  %s\n", (int) bits_columns, stats.weight_bits,
                                (int) weight_columns - 3, stats.weight_sqnr_db,
                                (int) output_columns - 3, stats.output_sqnr_db, stats.kernel);
      }
  }
  fputs (out->str, stdout);
}

static void
print_json (const char   *model_path,
            QsCliEval    *eval,
            QsCliEvalRun *run)
{
  int threads = eval->threads;
  const QsEngineEvalResult *r = &run->result;
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  double n = (double) r->images;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "model");
  json_builder_add_string_value (b, model_path);
  json_builder_set_member_name (b, "data");
  json_builder_add_string_value (b, qs_dataset_get_source (eval->data));
  json_builder_set_member_name (b, "first_image");
  json_builder_add_int_value (b, (gint64) eval->first);
  json_builder_set_member_name (b, "images");
  json_builder_add_int_value (b, (gint64) r->images);
  json_builder_set_member_name (b, "calibration");
  json_builder_add_string_value (b, eval->calib_source);
  json_builder_set_member_name (b, "calibration_images");
  json_builder_add_int_value (b, (gint64) eval->calib_count);
  json_builder_set_member_name (b, "calibration_overlaps_scored");
  json_builder_add_boolean_value (b, eval->overlap);
  json_builder_set_member_name (b, "labeled");
  json_builder_add_boolean_value (b, run->labeled);
  json_builder_set_member_name (b, "preprocess");
  if (eval->preprocess != NULL)
    json_builder_add_string_value (b, eval->preprocess);
  else
    json_builder_add_null_value (b);
  /* How the scored set's "x" was stored; "layout_ambiguous" when both
   * orders fitted and the model's own was taken (docs/dataset-format.md). */
  json_builder_set_member_name (b, "layout");
  json_builder_add_string_value (b, qs_dataset_layout_to_string (qs_dataset_get_layout (eval->data)));
  json_builder_set_member_name (b, "layout_ambiguous");
  json_builder_add_boolean_value (b, qs_dataset_get_layout_ambiguous (eval->data));
  /* Fractions in [0, 1], as the PyTorch reference writes them; an
   * unlabeled set has no accuracy (null), only agreement. */
  qs_json_add_number_member (b, "fp32_top1", qs_cli_eval_fp32_top1 (run));
  qs_json_add_number_member (b, "quant_top1", qs_cli_eval_quant_top1 (run));
  qs_json_add_number_member (b, "delta", n > 0 && run->labeled
                                         ? ((double) r->quant_correct - (double) r->fp32_correct) / n : NAN);
  qs_json_add_number_member (b, "agreement", n > 0 ? r->agree / n : NAN);
  if (!run->labeled)
    {
      qs_json_add_number_member (b, "top1_agreement", n > 0 ? run->agreement.top1_agree / n : NAN);
      qs_json_add_number_member (b, "top5_agreement", n > 0 ? run->agreement.top5_agree / n : NAN);
      qs_json_add_number_member (b, "output_sqnr_db", qs_agreement_sqnr_db (&run->agreement));
    }
  json_builder_set_member_name (b, "fp32_correct");
  json_builder_add_int_value (b, (gint64) r->fp32_correct);
  json_builder_set_member_name (b, "quant_correct");
  json_builder_add_int_value (b, (gint64) r->quant_correct);
  qs_json_add_number_member (b, "seconds", r->quant_seconds);
  qs_json_add_number_member (b, "images_per_second", r->quant_seconds > 0 ? n / r->quant_seconds : NAN);
  qs_json_add_number_member (b, "fp32_seconds", r->fp32_seconds);
  qs_json_add_number_member (b, "fp32_images_per_second", r->fp32_seconds > 0 ? n / r->fp32_seconds : NAN);
  qs_json_add_number_member (b, "calibration_seconds", run->calib_seconds);
  qs_json_add_number_member (b, "quantize_seconds", run->quantize_seconds);
  json_builder_set_member_name (b, "kernel");
  json_builder_add_string_value (b, qs_quantized_model_get_kernel_name (run->quantized));
  json_builder_set_member_name (b, "threads");
  json_builder_add_int_value (b, threads);
  /* Every layer the integer path ran in float, weighted or not. */
  json_builder_set_member_name (b, "float_layers");
  json_builder_begin_array (b);
  {
    g_autoptr(GPtrArray) names = float_layers (run);

    for (guint i = 0; i < names->len; i++)
      json_builder_add_string_value (b, g_ptr_array_index (names, i));
  }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "layers");
  json_builder_begin_array (b);
  for (gsize i = 0; i < qs_engine_model_get_n_weighted (eval->model); i++)
    {
      QsQuantizedLayerStats stats;
      QsLayerInfo info;

      qs_engine_model_get_layer (eval->model, qs_engine_model_weighted_layer_index (eval->model, i), &info);
      qs_quantized_model_get_layer_stats (run->quantized, i, &stats);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, info.name);
      json_builder_set_member_name (b, "class");
      json_builder_add_string_value (b, qs_layer_kind_to_string (info.kind));
      json_builder_set_member_name (b, "weight_bits");
      json_builder_add_int_value (b, stats.weight_bits);
      /* Which arithmetic ran: "int8", "int16", "int8-groupwise",
       * "int16-groupwise" or "float-weights" (activations stay uint8
       * codes in every case). */
      json_builder_set_member_name (b, "kernel");
      json_builder_add_string_value (b, stats.kernel);
      json_builder_set_member_name (b, "runs_in_float");
      json_builder_add_boolean_value (b, qs_quantized_model_layer_runs_in_float (
                                           run->quantized, (size_t) qs_engine_model_weighted_layer_index (eval->model, i)));
      if (run->scheme_ptrs[i] != NULL)
        {
          json_builder_set_member_name (b, "scheme");
          json_builder_add_value (b, qs_scheme_to_json (run->scheme_ptrs[i]));
        }
      /* An exact layer has an infinite SQNR: JSON says null. */
      qs_json_add_number_member (b, "weight_sqnr_db", stats.weight_sqnr_db);
      qs_json_add_number_member (b, "output_sqnr_db", stats.output_sqnr_db);
      qs_json_add_number_member (b, "output_scale", stats.output_scale);
      qs_json_add_number_member (b, "output_zero_point", stats.output_zero_point);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  qs_cli_print_json_node (root);
}

/* The scored range and the calibration slice. */
static gboolean
choose_data (QsCliEval          *run,
             const char         *data_path,
             const char         *calib_path,
             const QsCliDataFor *data_for,
             int                 limit,
             int                 calib,
             GError            **error)
{
  gsize total;

  if (data_path != NULL)
    run->data = qs_cli_load_data_for (data_path, data_for, error);
  else
    run->data = qs_dataset_load_bundled_test (error);
  if (run->data == NULL)
    return FALSE;
  if (data_path != NULL && g_file_test (data_path, G_FILE_TEST_IS_DIR))
    run->preprocess = qs_preprocess_to_string (data_for->preprocess);
  /* A folder of images without class folders is unlabeled: agreement with
   * float32 stands in for accuracy. Other sets need their labels. */
  run->labeled = qs_dataset_has_labels (run->data);
  if (!run->labeled && run->preprocess == NULL)
    {
      g_set_error (error, QS_ERROR, QS_ERROR_INVALID,
                   "%s has no labels (an idx images file needs its labels-idx1 file beside it)",
                   qs_dataset_get_source (run->data));
      return FALSE;
    }
  total = qs_dataset_get_count (run->data);
  run->first = 0;
  run->count = total;

  if (calib_path != NULL || data_path == NULL)
    {
      run->calib = calib_path != NULL ? qs_cli_load_data_for (calib_path, data_for, error)
                                      : qs_dataset_load_bundled_calibration (error);
      if (run->calib == NULL)
        return FALSE;
      run->calib_first = 0;
      run->calib_count = calib > 0 ? MIN ((gsize) calib, qs_dataset_get_count (run->calib))
                                   : MIN (QS_DATASET_DEFAULT_CALIBRATION_IMAGES, qs_dataset_get_count (run->calib));
      run->calib_source = qs_dataset_get_source (run->calib);
    }
  else
    {
      /* A user's set without a calibration file: calibrate on its last
       * images and score the others, so no scored image calibrates. */
      gsize want = calib > 0 ? (gsize) calib : qs_dataset_calibration_tail (total);

      run->calib = qs_dataset_ref (run->data);
      run->calib_source = qs_dataset_get_source (run->data);
      if (want == 0 || want >= total)
        {
          run->calib_first = 0;
          run->calib_count = want == 0 ? total : MIN (want, total);
          run->overlap = TRUE;
        }
      else
        {
          run->calib_first = total - want;
          run->calib_count = want;
          run->count = total - want;
        }
    }
  if (limit > 0 && (gsize) limit < run->count)
    run->count = (gsize) limit;
  /* An image folder decodes only the images scored and calibrating. */
  return qs_dataset_decode_range (run->data, run->first, run->count, error)
         && qs_dataset_decode_range (run->calib, run->calib_first, run->calib_count, error);
}

static int
check_images (QsCliEval *eval)
{
  const QsEngineDataset *v = qs_dataset_get_view (eval->data);
  g_autoptr(GError) error = NULL;
  int h, w, c;

  qs_engine_model_get_input_shape (eval->model, &h, &w, &c);
  if ((v->height != h || v->width != w || v->channels != c) && qs_engine_model_get_input_channels_first (eval->model))
    return qs_cli_fail_message (_("%s: images are %dx%dx%d, the model takes %dx%dx%d (H×W×C) or %dx%dx%d (C×H×W, "
                                  "channels first)"),
                                qs_dataset_get_source (eval->data), v->height, v->width,
                                v->channels, h, w, c, c, h, w);
  if (v->height != h || v->width != w || v->channels != c)
    return qs_cli_fail_message (_("%s: images are %dx%dx%d, the model takes %dx%dx%d"),
                                qs_dataset_get_source (eval->data), v->height, v->width,
                                v->channels, h, w, c);
  if (!qs_dataset_check_model (eval->data, eval->model, eval->labeled, &error))
    return qs_cli_fail (error);
  return 0;
}

int
qs_cli_eval_open (QsCliEval              *eval,
                  const char             *model_path,
                  const QsCliEvalOptions *o,
                  int                     threads)
{
  g_autoptr(GError) error = NULL;
  QsCliDataFor data_for = { 0 };
  guint64 budget = 0;
  gsize working;

  if (o->limit < 0 || o->calib < 0)
    return qs_cli_fail_message (_("--limit and --calib must not be negative"));
  if (o->budget_text != NULL && !qs_memory_budget_parse (o->budget_text, &budget, &error))
    return qs_cli_fail (error);
  if (budget == 0)
    budget = qs_memory_budget_default ();
  if (o->preprocess_text != NULL && !qs_preprocess_parse (o->preprocess_text, &data_for.preprocess))
    return qs_cli_fail_message (_("unknown preprocessing “%s” (use auto, unit, tf, torch, caffe or none)"),
                                o->preprocess_text);

  qs_activation_scheme_init_default (&eval->act_options);
  eval->act_options.float_logits = o->float_logits;
  if (o->act_range != NULL)
    {
      QsScheme parsed;
      const char *problem = NULL;

      qs_scheme_init_default (&parsed);
      if (!qs_range_method_parse (o->act_range, &parsed)
          || (parsed.range_method != QS_RANGE_MINMAX && parsed.range_method != QS_RANGE_PERCENTILE))
        return qs_cli_fail_message (_("bad activation range “%s” (use minmax or percentile:P)"), o->act_range);
      /* percentile:0 parses; the engine would refuse it later with no reason. */
      if (qs_scheme_validate (&parsed, &problem) != QS_OK)
        return qs_cli_fail_message (_("bad activation range “%s”: %s"), o->act_range, problem);
      eval->act_options.range_method = parsed.range_method;
      eval->act_options.percentile = parsed.percentile;
    }

  eval->file = qs_cli_open_weights (model_path, QS_WEIGHT_FILE_DEFAULT, &error);
  if (eval->file == NULL)
    return qs_cli_fail (error);
  eval->model = qs_keras_model_load (eval->file, &error);
  if (eval->model == NULL)
    return qs_cli_fail_message (_("%s: accuracy unavailable: %s"), model_path, error->message);

  /* The architecture alone decides the engine's working memory: a tiny
   * file may declare feature maps of gigabytes. Fewer threads when the
   * budget holds fewer workers; none when it holds not even one. */
  if (threads <= 0)
    threads = (int) g_get_num_processors ();
  working = qs_engine_get_working_size (eval->model);
  if (working > budget)
    return qs_cli_fail_message (_("%s: the model needs %" PRIu64 " MiB of working memory "
                                  "per thread, more than the memory budget of %" PRIu64
                                  " MiB (--memory-budget)"), model_path,
                                working == G_MAXSIZE ? G_MAXUINT64 >> 20
                                                     : ((guint64) working + (1 << 20) - 1) >> 20,
                                budget >> 20);
  eval->threads = (int) MIN ((guint64) threads, budget / working);
  eval->budget = budget;

  qs_engine_model_get_input_shape (eval->model, &data_for.height, &data_for.width, &data_for.channels);
  data_for.preprocess = qs_preprocess_resolve (data_for.preprocess, qs_weight_file_get_model_config (eval->file));
  data_for.memory_budget = budget;
  data_for.channels_first = qs_engine_model_get_input_channels_first (eval->model);
  if (!choose_data (eval, o->data_path, o->calib_path, &data_for, o->limit, o->calib, &error))
    return qs_cli_fail (error);
  return check_images (eval);
}

int
qs_cli_eval_run (QsCliEval         *eval,
                 const char        *model_path,
                 const QsSchemeSet *schemes,
                 QsCliEvalRun      *run)
{
  gsize n = qs_engine_model_get_n_weighted (eval->model);
  QsActivationScheme act;
  QsEngineRunOptions options;
  QsEngineDataset calib_view;
  QsCalibration *calibration = NULL;
  char message[512] = "";
  QsEngineStatus status;
  double t0;

  run->schemes = g_new0 (QsScheme, MAX (n, 1));
  run->scheme_ptrs = g_new0 (const QsScheme *, MAX (n, 1));
  qs_scheme_set_resolve_layers (schemes, eval->file, eval->model, run->schemes, run->scheme_ptrs);
  qs_scheme_set_activations (schemes, &act);
  act.range_method = eval->act_options.range_method;
  act.percentile = eval->act_options.percentile;
  act.float_logits = eval->act_options.float_logits;

  qs_engine_run_options_init (&options);
  options.n_threads = eval->threads;

  calib_view = *qs_dataset_get_view (eval->calib);
  calib_view.images += eval->calib_first * (gsize) calib_view.height * calib_view.width * calib_view.channels;
  calib_view.labels = calib_view.labels != NULL ? calib_view.labels + eval->calib_first : NULL;
  calib_view.count = eval->calib_count;

  /* Calibration (one float32 pass) and quantization are timed apart:
   * the output SQNR, which runs both paths over the calibration slice,
   * belongs to the report, not to calibration. */
  t0 = g_get_monotonic_time () / 1e6;
  status = qs_engine_calibrate (eval->model, &act, &calib_view, eval->calib_count, &options, &calibration,
                                message, sizeof message);
  run->calib_seconds = g_get_monotonic_time () / 1e6 - t0;
  if (status == QS_ENGINE_OK)
    {
      t0 = g_get_monotonic_time () / 1e6;
      status = qs_engine_quantize_calibrated (calibration, run->scheme_ptrs, n, TRUE, &options, &run->quantized,
                                              message, sizeof message);
      run->quantize_seconds = g_get_monotonic_time () / 1e6 - t0;
    }
  g_clear_pointer (&calibration, qs_calibration_free);
  if (status != QS_ENGINE_OK)
    return qs_cli_fail_message (_("%s: cannot quantize the model: %s"), model_path,
                                message[0] != '\0' ? message : qs_engine_status_to_string (status));
  run->labeled = eval->labeled;
  if (!run->labeled)
    {
      g_autoptr(GError) error = NULL;

      t0 = g_get_monotonic_time () / 1e6;
      if (!qs_agreement_measure (run->quantized, qs_dataset_get_view (eval->data), eval->first, eval->count,
                                 eval->threads, &run->agreement, &error))
        return qs_cli_fail_message (_("%s: evaluation failed: %s"), model_path, error->message);
      /* Both paths ran in that time. */
      run->result.quant_seconds = g_get_monotonic_time () / 1e6 - t0;
      run->result.images = run->agreement.images;
      run->result.agree = run->agreement.top1_agree;
      return 0;
    }
  status = qs_engine_evaluate (eval->model, run->quantized, qs_dataset_get_view (eval->data), eval->first,
                               eval->count, &options, NULL, NULL, &run->result);
  if (status != QS_ENGINE_OK)
    return qs_cli_fail_message (_("%s: evaluation failed: %s"), model_path, qs_engine_status_to_string (status));
  return 0;
}

int
qs_cli_eval (int    argc,
             char **argv)
{
  g_autofree char *scheme_file = NULL;
  gboolean json = FALSE;
  QsCliSchemeOptions scheme_options = { 0 };
  QsCliEvalOptions eval_options = { 0 };
  const GOptionEntry entries[] = {
    { "scheme-file", 0, 0, G_OPTION_ARG_FILENAME, &scheme_file, N_("Per-layer schemes from a scheme file"), "FILE" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print JSON"), NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new (_("MODEL.h5 — float32 and integer top-1 of a Keras model"));
  g_autoptr(GError) error = NULL;
  g_autoptr(QsSchemeSet) schemes = NULL;
  QsCliEval eval = { 0 };
  QsCliEvalRun run = { 0 };
  int exit_status, threads;

  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  g_option_context_add_group (context, qs_cli_eval_option_group (&eval_options));
  g_option_context_add_group (context, qs_cli_scheme_option_group (&scheme_options));
  if (!qs_cli_parse (context, &argc, &argv, &exit_status))
    goto out;
  threads = scheme_options.threads;
  schemes = qs_cli_load_schemes (scheme_file, &scheme_options, NULL, &error);
  if (schemes == NULL)
    {
      exit_status = qs_cli_fail (error);
      goto out;
    }
  if (argc != 2)
    {
      exit_status = qs_cli_fail_message (_("eval takes exactly one MODEL.h5"));
      goto out;
    }

  if ((exit_status = qs_cli_eval_open (&eval, argv[1], &eval_options, threads)) != 0
      || (exit_status = qs_cli_eval_run (&eval, argv[1], schemes, &run)) != 0)
    goto out;

  if (json)
    print_json (argv[1], &eval, &run);
  else
    print_text (argv[1], &eval, &run);

out:
  qs_cli_scheme_options_clear (&scheme_options);
  qs_cli_eval_options_clear (&eval_options);
  qs_cli_eval_run_clear (&run);
  qs_cli_eval_clear (&eval);
  return exit_status;
}
