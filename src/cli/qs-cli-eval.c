/* qs-cli-eval.c: `quantscope-cli eval MODEL.h5`: float32 and integer accuracy of a Keras model.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <glib/gi18n.h>

#include "cli/qs-cli.h"
#include "engine/qs-engine.h"
#include "model/qs-agreement.h"
#include "model/qs-dataset.h"
#include "model/qs-image-folder.h"
#include "model/qs-error.h"
#include "model/qs-json.h"
#include "model/qs-keras-model.h"
#include "model/qs-scheme-file.h"
#include "model/qs-tensor-stream.h"

/* The calibration slice taken from the end of a user's data set when no
 * separate calibration file is given. */
#define QS_EVAL_DEFAULT_CALIB 1000

typedef struct {
  QsEngineModel    *model;
  QsQuantizedModel *quantized;
  QsDataset        *data;
  QsDataset        *calib;
  QsScheme         *schemes;      /* one per weighted layer */
  const QsScheme  **scheme_ptrs;  /* NULL entries: left float32 by the scheme file */
  const char       *calib_source;
  gsize             calib_first;
  gsize             calib_count;
  gsize             first;
  gsize             count;
  gboolean          overlap;      /* calibration images are also scored */
  QsEngineEvalResult result;
  double            calib_seconds;
  gboolean          labeled;      /* else agreement with float32 instead of accuracy */
  QsAgreement       agreement;    /* unlabeled sets */
  const char       *preprocess;   /* how an image folder became inputs, or NULL */
} QsEvalRun;

static void
eval_run_clear (QsEvalRun *run)
{
  qs_quantized_model_free (run->quantized);
  qs_engine_model_free (run->model);
  g_clear_pointer (&run->data, qs_dataset_unref);
  g_clear_pointer (&run->calib, qs_dataset_unref);
  g_free (run->schemes);
  g_free (run->scheme_ptrs);
}

static void
print_text (const char *model_path,
            QsEvalRun  *run,
            int         threads)
{
  const QsEngineEvalResult *r = &run->result;
  g_autoptr(GString) out = g_string_new (NULL);
  double fp32 = qs_engine_eval_result_fp32_top1 (r), quant = qs_engine_eval_result_quant_top1 (r);

  g_string_append_printf (out, _("Model        %s (%.2f million multiply-adds per image)\n"), qs_cli_safe (model_path),
                          qs_engine_model_get_macs (run->model) / 1e6);
  g_string_append_printf (out, _("Data         %s, images %zu..%zu\n"),
                          qs_cli_safe (qs_dataset_get_source (run->data)), run->first, run->first + run->count - 1);
  g_string_append_printf (out, _("Calibration  %zu images of %s%s\n"), run->calib_count,
                          qs_cli_safe (run->calib_source), run->overlap ? _(" (also scored: no separate slice)") : "");
  if (run->preprocess != NULL)
    g_string_append_printf (out, _("Preprocess   %s\n"), run->preprocess);
  if (run->labeled)
    {
      g_string_append_printf (out, _("fp32 top-1   %.2f %%\n"), fp32);
      g_string_append_printf (out, _("int top-1    %.2f %% (%+.2f points), agreement %.2f %%\n"), quant,
                              quant - fp32, qs_engine_eval_result_agreement (r));
    }
  else
    {
      const QsAgreement *a = &run->agreement;

      g_string_append (out, _("Unlabeled    no accuracy: the integer model is compared with the float32 model\n"));
      g_string_append_printf (out, _("Top-1 agreement %.2f %%, top-5 agreement %.2f %%, output SQNR %.2f dB\n"),
                              a->images > 0 ? 100.0 * a->top1_agree / a->images : 0.0,
                              a->images > 0 ? 100.0 * a->top5_agree / a->images : 0.0,
                              qs_agreement_sqnr_db (a));
    }
  if (run->labeled)
    g_string_append_printf (out, _("Speed        %.3f s for %zu images: %.0f images/s integer, "
                                   "%.0f images/s fp32 (%s kernels, %d threads)\n"),
                            r->quant_seconds, r->images,
                            r->quant_seconds > 0 ? r->images / r->quant_seconds : 0.0,
                            r->fp32_seconds > 0 ? r->images / r->fp32_seconds : 0.0,
                            qs_quantized_model_get_kernel_name (run->quantized), threads);
  else
    g_string_append_printf (out, _("Speed        %.3f s for %zu images through both paths (%s kernels, %d threads)\n"),
                            r->quant_seconds, r->images, qs_quantized_model_get_kernel_name (run->quantized), threads);
  g_string_append_printf (out, _("\n%-24s %-16s %6s %12s %12s\n"), _("Layer"), _("Class"), _("Bits"),
                          _("Weight SQNR"), _("Output SQNR"));
  for (gsize i = 0; i < qs_engine_model_get_n_weighted (run->model); i++)
    {
      QsQuantizedLayerStats stats;
      QsLayerInfo info;

      qs_engine_model_get_layer (run->model, qs_engine_model_weighted_layer_index (run->model, i), &info);
      qs_quantized_model_get_layer_stats (run->quantized, i, &stats);
      g_string_append_printf (out, "%-24s %-16s %6d %9.2f dB %9.2f dB\n", qs_cli_safe (info.name),
                              qs_layer_kind_to_string (info.kind), stats.weight_bits,
                              stats.weight_sqnr_db, stats.output_sqnr_db);
    }
  fputs (out->str, stdout);
}

static void
print_json (const char *model_path,
            QsEvalRun  *run,
            int         threads)
{
  const QsEngineEvalResult *r = &run->result;
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;
  double n = (double) r->images;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "model");
  json_builder_add_string_value (b, model_path);
  json_builder_set_member_name (b, "data");
  json_builder_add_string_value (b, qs_dataset_get_source (run->data));
  json_builder_set_member_name (b, "first_image");
  json_builder_add_int_value (b, (gint64) run->first);
  json_builder_set_member_name (b, "images");
  json_builder_add_int_value (b, (gint64) r->images);
  json_builder_set_member_name (b, "calibration");
  json_builder_add_string_value (b, run->calib_source);
  json_builder_set_member_name (b, "calibration_images");
  json_builder_add_int_value (b, (gint64) run->calib_count);
  json_builder_set_member_name (b, "calibration_overlaps_scored");
  json_builder_add_boolean_value (b, run->overlap);
  json_builder_set_member_name (b, "labeled");
  json_builder_add_boolean_value (b, run->labeled);
  json_builder_set_member_name (b, "preprocess");
  if (run->preprocess != NULL)
    json_builder_add_string_value (b, run->preprocess);
  else
    json_builder_add_null_value (b);
  /* Fractions in [0, 1], as the PyTorch reference writes them; an
   * unlabeled set has no accuracy (null), only agreement. */
  qs_json_add_number_member (b, "fp32_top1", n > 0 && run->labeled ? r->fp32_correct / n : NAN);
  qs_json_add_number_member (b, "quant_top1", n > 0 && run->labeled ? r->quant_correct / n : NAN);
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
  json_builder_set_member_name (b, "kernel");
  json_builder_add_string_value (b, qs_quantized_model_get_kernel_name (run->quantized));
  json_builder_set_member_name (b, "threads");
  json_builder_add_int_value (b, threads);
  json_builder_set_member_name (b, "layers");
  json_builder_begin_array (b);
  for (gsize i = 0; i < qs_engine_model_get_n_weighted (run->model); i++)
    {
      QsQuantizedLayerStats stats;
      QsLayerInfo info;

      qs_engine_model_get_layer (run->model, qs_engine_model_weighted_layer_index (run->model, i), &info);
      qs_quantized_model_get_layer_stats (run->quantized, i, &stats);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, info.name);
      json_builder_set_member_name (b, "class");
      json_builder_add_string_value (b, qs_layer_kind_to_string (info.kind));
      json_builder_set_member_name (b, "weight_bits");
      json_builder_add_int_value (b, stats.weight_bits);
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
  text = qs_json_to_string (root, TRUE);
  qs_cli_print_json (text);
}

/* The kernel tensor of an engine layer, for scheme-file patterns. */
static const QsTensorInfo *
kernel_tensor (QsWeightFile *file,
               const char   *layer)
{
  GPtrArray *tensors = qs_weight_file_get_tensors (file);

  for (guint i = 0; i < tensors->len; i++)
    {
      const QsTensorInfo *info = g_ptr_array_index (tensors, i);

      if (g_strcmp0 (info->layer, layer) == 0
          && (info->role == QS_TENSOR_ROLE_KERNEL || info->role == QS_TENSOR_ROLE_DEPTHWISE_KERNEL))
        return info;
    }
  return NULL;
}

static gboolean
resolve_schemes (QsEvalRun      *run,
                 QsWeightFile   *file,
                 const QsScheme *scheme,
                 const char     *scheme_file,
                 GError        **error)
{
  gsize n = qs_engine_model_get_n_weighted (run->model);
  g_autoptr(QsSchemeFile) sf = NULL;

  if (scheme_file != NULL && (sf = qs_scheme_file_load (scheme_file, error)) == NULL)
    return FALSE;
  run->schemes = g_new0 (QsScheme, MAX (n, 1));
  run->scheme_ptrs = g_new0 (const QsScheme *, MAX (n, 1));
  for (gsize i = 0; i < n; i++)
    {
      QsLayerInfo info;

      qs_engine_model_get_layer (run->model, qs_engine_model_weighted_layer_index (run->model, i), &info);
      run->schemes[i] = *scheme;
      run->scheme_ptrs[i] = &run->schemes[i];
      if (sf != NULL)
        {
          const QsTensorInfo *tensor = kernel_tensor (file, info.name);

          if (tensor == NULL)
            run->schemes[i] = *qs_scheme_file_get_default (sf);
          else if (!qs_scheme_file_resolve (sf, tensor, &run->schemes[i]))
            run->scheme_ptrs[i] = NULL;
        }
    }
  return TRUE;
}

/* The scored range and the calibration slice. */
static gboolean
choose_data (QsEvalRun          *run,
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
                                   : MIN (QS_EVAL_DEFAULT_CALIB, qs_dataset_get_count (run->calib));
      run->calib_source = qs_dataset_get_source (run->calib);
    }
  else
    {
      /* A user's set without a calibration file: calibrate on its last
       * images and score the others, so no scored image calibrates. */
      gsize want = calib > 0 ? (gsize) calib : MIN (QS_EVAL_DEFAULT_CALIB, total / 10);

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
  return TRUE;
}

int
qs_cli_eval (int    argc,
             char **argv)
{
  g_autofree char *data_path = NULL;
  g_autofree char *calib_path = NULL;
  g_autofree char *scheme_file = NULL;
  g_autofree char *act_range = NULL;
  g_autofree char *budget_text = NULL;
  g_autofree char *preprocess_text = NULL;
  QsCliDataFor data_for = { 0 };
  guint64 budget = 0;
  int limit = 0, calib = 0;
  gboolean json = FALSE, float_logits = FALSE;
  QsCliSchemeOptions scheme_options = { 0 };
  const GOptionEntry entries[] = {
    { "data", 'd', 0, G_OPTION_ARG_FILENAME, &data_path,
      N_("Labeled images: idx images file (labels beside it) or HDF5 x/y (default: the bundled Fashion-MNIST test set)"), "PATH" },
    { "preprocess", 0, 0, G_OPTION_ARG_STRING, &preprocess_text,
      N_("How an image folder's pixels become inputs: auto (default), unit, tf, torch, caffe or none"), "MODE" },
    { "limit", 'n', 0, G_OPTION_ARG_INT, &limit, N_("Score only the first N images"), "N" },
    { "calib", 'c', 0, G_OPTION_ARG_INT, &calib, N_("Calibration images (default 1000)"), "N" },
    { "calib-data", 0, 0, G_OPTION_ARG_FILENAME, &calib_path,
      N_("Calibration images (default: the bundled training slice, or the last images of --data)"), "PATH" },
    { "calibration", 0, 0, G_OPTION_ARG_FILENAME, &calib_path, N_("The same as --calib-data"), "PATH" },
    { "scheme-file", 0, 0, G_OPTION_ARG_FILENAME, &scheme_file, N_("Per-layer schemes from a scheme file"), "FILE" },
    { "act-range", 0, 0, G_OPTION_ARG_STRING, &act_range, N_("Activation ranges: minmax (default) or percentile:P"), "METHOD" },
    { "float-logits", 0, 0, G_OPTION_ARG_NONE, &float_logits, N_("Score the last layer's sums as floats instead of uint8 codes"), NULL },
    { "memory-budget", 'm', 0, G_OPTION_ARG_STRING, &budget_text,
      N_("Working memory of the engine's threads (default: a quarter of RAM, at most 4G)"), "SIZE" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print JSON"), NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new (_("MODEL.h5 — float32 and integer top-1 of a Keras model"));
  g_autoptr(GError) error = NULL;
  g_autoptr(QsWeightFile) file = NULL;
  QsEvalRun run = { 0 };
  QsActivationScheme act;
  QsEngineRunOptions options;
  QsEngineDataset calib_view;
  QsScheme scheme;
  char message[512];
  QsEngineStatus status;
  int exit_status, threads;
  double t0;

  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  g_option_context_add_group (context, qs_cli_scheme_option_group (&scheme_options));
  if (!qs_cli_parse (context, &argc, &argv, &exit_status))
    {
      qs_cli_scheme_options_clear (&scheme_options);
      return exit_status;
    }
  if (!qs_cli_scheme_from_options (&scheme_options, &scheme, &error))
    {
      qs_cli_scheme_options_clear (&scheme_options);
      return qs_cli_fail (error);
    }
  threads = scheme_options.threads;
  qs_cli_scheme_options_clear (&scheme_options);

  if (argc != 2)
    return qs_cli_fail_message (_("eval takes exactly one MODEL.h5"));
  if (limit < 0 || calib < 0)
    return qs_cli_fail_message (_("--limit and --calib must not be negative"));
  if (budget_text != NULL && !qs_memory_budget_parse (budget_text, &budget, &error))
    return qs_cli_fail (error);
  if (budget == 0)
    budget = qs_memory_budget_default ();
  if (preprocess_text != NULL && !qs_preprocess_parse (preprocess_text, &data_for.preprocess))
    return qs_cli_fail_message (_("unknown preprocessing “%s” (use auto, unit, tf, torch, caffe or none)"),
                                preprocess_text);

  qs_activation_scheme_init_default (&act);
  act.nudge_zero = scheme.nudge_zero;
  act.float_logits = float_logits;
  if (act_range != NULL)
    {
      QsScheme parsed;

      qs_scheme_init_default (&parsed);
      if (!qs_range_method_parse (act_range, &parsed)
          || (parsed.range_method != QS_RANGE_MINMAX && parsed.range_method != QS_RANGE_PERCENTILE))
        return qs_cli_fail_message (_("bad activation range “%s” (use minmax or percentile:P)"), act_range);
      act.range_method = parsed.range_method;
      act.percentile = parsed.percentile;
    }

  file = qs_cli_open_weights (argv[1], QS_WEIGHT_FILE_DEFAULT, &error);
  if (file == NULL)
    return qs_cli_fail (error);
  run.model = qs_keras_model_load (file, &error);
  if (run.model == NULL)
    {
      exit_status = qs_cli_fail_message (_("%s: accuracy unavailable: %s"), argv[1], error->message);
      goto out;
    }
  if (threads <= 0)
    threads = (int) g_get_num_processors ();
  {
    /* The architecture alone decides the engine's working memory: a tiny
     * file may declare feature maps of gigabytes. Fewer threads when the
     * budget holds fewer workers; none when it holds not even one. */
    gsize working = qs_engine_get_working_size (run.model);

    if (working > budget)
      {
        exit_status = qs_cli_fail_message (_("%s: the model needs %" PRIu64 " MiB of working memory "
                                             "per thread, more than the memory budget of %" PRIu64
                                             " MiB (--memory-budget)"), argv[1],
                                           working == G_MAXSIZE ? G_MAXUINT64 >> 20
                                                                : ((guint64) working + (1 << 20) - 1) >> 20,
                                           budget >> 20);
        goto out;
      }
    threads = (int) MIN ((guint64) threads, budget / working);
  }
  qs_engine_model_get_input_shape (run.model, &data_for.height, &data_for.width, &data_for.channels);
  data_for.preprocess = qs_preprocess_resolve (data_for.preprocess, qs_weight_file_get_model_config (file));
  data_for.memory_budget = budget;
  if (!resolve_schemes (&run, file, &scheme, scheme_file, &error)
      || !choose_data (&run, data_path, calib_path, &data_for, limit, calib, &error))
    {
      exit_status = qs_cli_fail (error);
      goto out;
    }

  {
    const QsEngineDataset *v = qs_dataset_get_view (run.data);
    int h, w, c;

    qs_engine_model_get_input_shape (run.model, &h, &w, &c);
    if (v->height != h || v->width != w || v->channels != c)
      {
        exit_status = qs_cli_fail_message (_("%s: images are %dx%dx%d, the model takes %dx%dx%d"),
                                           qs_dataset_get_source (run.data), v->height, v->width,
                                           v->channels, h, w, c);
        goto out;
      }
    if (run.labeled && !qs_dataset_check_labels (run.data, qs_engine_model_get_n_outputs (run.model), &error))
      {
        exit_status = qs_cli_fail (error);
        goto out;
      }
  }

  qs_engine_run_options_init (&options);
  options.n_threads = threads;

  calib_view = *qs_dataset_get_view (run.calib);
  calib_view.images += run.calib_first * (gsize) calib_view.height * calib_view.width * calib_view.channels;
  calib_view.labels = calib_view.labels != NULL ? calib_view.labels + run.calib_first : NULL;
  calib_view.count = run.calib_count;

  t0 = g_get_monotonic_time () / 1e6;
  status = qs_engine_prepare_quantized (run.model, run.scheme_ptrs, qs_engine_model_get_n_weighted (run.model),
                                        &act, &calib_view, run.calib_count, &options, &run.quantized,
                                        message, sizeof message);
  run.calib_seconds = g_get_monotonic_time () / 1e6 - t0;
  if (status != QS_ENGINE_OK)
    {
      exit_status = qs_cli_fail_message (_("%s: cannot quantize the model: %s"), argv[1], message);
      goto out;
    }
  if (!run.labeled)
    {
      t0 = g_get_monotonic_time () / 1e6;
      if (!qs_agreement_measure (run.quantized, qs_dataset_get_view (run.data), run.first, run.count, threads,
                                 &run.agreement, &error))
        {
          exit_status = qs_cli_fail_message (_("%s: evaluation failed: %s"), argv[1], error->message);
          goto out;
        }
      /* Both paths ran in that time. */
      run.result.quant_seconds = g_get_monotonic_time () / 1e6 - t0;
      run.result.images = run.agreement.images;
      run.result.agree = run.agreement.top1_agree;
      status = QS_ENGINE_OK;
    }
  else
    status = qs_engine_evaluate (run.model, run.quantized, qs_dataset_get_view (run.data), run.first, run.count,
                                 &options, NULL, NULL, &run.result);
  if (status != QS_ENGINE_OK)
    {
      exit_status = qs_cli_fail_message (_("%s: evaluation failed: %s"), argv[1], qs_engine_status_to_string (status));
      goto out;
    }

  if (json)
    print_json (argv[1], &run, threads);
  else
    print_text (argv[1], &run, threads);
  exit_status = 0;

out:
  eval_run_clear (&run);
  return exit_status;
}
