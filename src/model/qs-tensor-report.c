/* qs-tensor-report.c: one tensor of a weight file analysed under one scheme, and its JSON.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "model/qs-tensor-report.h"

#include <math.h>
#include <stdatomic.h>

#include "model/qs-error.h"
#include "model/qs-json.h"
#include "model/qs-tensor-report-private.h"

G_DEFINE_BOXED_TYPE (QsTensorReport, qs_tensor_report, qs_tensor_report_ref, qs_tensor_report_unref)

static QsTensorReport *
tensor_report_new (void)
{
  QsTensorReport *report = g_new0 (QsTensorReport, 1);

  g_atomic_ref_count_init (&report->ref_count);
  return report;
}

QsTensorReport *
qs_tensor_report_ref (QsTensorReport *report)
{
  g_return_val_if_fail (report != NULL, NULL);

  g_atomic_ref_count_inc (&report->ref_count);
  return report;
}

void
qs_tensor_report_unref (QsTensorReport *report)
{
  if (report == NULL || !g_atomic_ref_count_dec (&report->ref_count))
    return;
  qs_tensor_info_free (report->info);
  qs_quant_params_clear (&report->params);
  qs_analysis_clear (&report->analysis);
  g_free (report);
}

void
qs_tensor_report_free (QsTensorReport *report)
{
  qs_tensor_report_unref (report);
}

/* The axis a per-channel scheme uses on @info: the requested one, or the
 * tensor's own output-channel axis, or the last axis when it has none. */
static gboolean
resolve_axis (const QsTensorInfo  *info,
              const QsScheme      *scheme,
              int                 *axis,
              GError             **error)
{
  int requested = scheme->axis;
  gboolean blockwise = qs_scheme_is_blockwise (scheme);

  /* Blocks run along the reduction axis of each output channel; a bias
   * (rank 0 or 1) is one run. Per-channel on a 1-D tensor (a bias, a
   * batch-norm vector) would give every element its own scale and zero
   * point, more bytes than float32: unless an axis is asked for, it takes
   * one scale, as TFLite and PyTorch quantize such vectors per tensor. */
  if ((scheme->granularity != QS_GRANULARITY_CHANNEL && !blockwise) || info->rank == 0
      || (info->rank == 1 && (blockwise || requested == QS_AXIS_DEFAULT)))
    {
      *axis = -1;
      return TRUE;
    }

  if (requested == QS_AXIS_DEFAULT)
    requested = info->channel_axis >= 0 ? info->channel_axis : info->rank - 1;
  if (requested < 0)
    requested += info->rank;
  if (requested < 0 || requested >= info->rank)
    {
      g_set_error (error, QS_ERROR, QS_ERROR_INVALID,
                   "axis %d is out of range for %s, which has %d dimensions",
                   scheme->axis, info->path, info->rank);
      return FALSE;
    }
  *axis = requested;
  return TRUE;
}

QsTensorReport *
qs_tensor_report_compute_values (const QsTensorInfo  *info,
                                 const float         *values,
                                 const QsScheme      *scheme,
                                 int                  n_threads,
                                 GError             **error)
{
  return qs_tensor_report_compute_values_remembering (info, values, scheme, n_threads, NULL, NULL, error);
}

static void
raise_flag_cb (GCancellable *cancellable,
               gpointer      flag)
{
  atomic_store ((atomic_int *) flag, 1);
}

QsTensorReport *
qs_tensor_report_compute_values_remembering (const QsTensorInfo  *info,
                                             const float         *values,
                                             const QsScheme      *scheme,
                                             int                  n_threads,
                                             GCancellable        *cancellable,
                                             QsRangeMemo         *memo,
                                             GError             **error)
{
  g_autoptr(QsTensorReport) report = tensor_report_new ();
  QsChannelLayout layout;
  const char *problem = NULL;
  QsStatus status;
  int axis;

  g_return_val_if_fail (info != NULL, NULL);
  g_return_val_if_fail (values != NULL, NULL);
  g_return_val_if_fail (scheme != NULL, NULL);

  if (qs_scheme_validate (scheme, &problem) != QS_OK)
    {
      g_set_error (error, QS_ERROR, QS_ERROR_INVALID, "%s", problem);
      return NULL;
    }
  if (!resolve_axis (info, scheme, &axis, error))
    return NULL;

  if (axis >= 0)
    status = qs_channel_layout_for_axis (info->shape, info->rank, axis, &layout);
  else
    {
      layout = qs_channel_layout_per_tensor (info->count);
      status = QS_OK;
    }
  if (status != QS_OK || layout.count != info->count)
    {
      g_set_error (error, QS_ERROR, QS_ERROR_TOO_LARGE,
                   "the shape of %s does not fit in memory indices", info->path);
      return NULL;
    }

  report->info = qs_tensor_info_copy (info);
  report->scheme = *scheme;
  report->scheme.axis = axis;
  report->kernel = scheme->format == QS_FORMAT_INT && !qs_scheme_is_blockwise (scheme)
                   ? qs_analysis_kernel_name () : "scalar";

  {
    /* The core polls a plain flag; the cancellable raises it. */
    atomic_int cancel = 0;
    gulong handler = cancellable != NULL
                     ? g_cancellable_connect (cancellable, G_CALLBACK (raise_flag_cb), &cancel, NULL) : 0;

    status = qs_analyze_remembering (&report->scheme, &layout, values, n_threads,
                                     cancellable != NULL ? &cancel : NULL, memo,
                                     &report->params, &report->analysis);
    if (cancellable != NULL)
      g_cancellable_disconnect (cancellable, handler);
  }
  if (status != QS_OK)
    {
      if (status == QS_STATUS_NO_FINITE_VALUES || status == QS_STATUS_EMPTY)
        g_set_error (error, QS_ERROR, QS_ERROR_EMPTY,
                     "%s has no finite values to quantize", info->path);
      else
        qs_set_error_from_status (error, status, info->path);
      return NULL;
    }

  return g_steal_pointer (&report);
}

QsTensorReport *
qs_tensor_report_compute (QsWeightFile    *file,
                          const char      *path,
                          const QsScheme  *scheme,
                          int              n_threads,
                          GError         **error)
{
  const QsTensorInfo *info;
  g_autofree float *values = NULL;

  g_return_val_if_fail (QS_IS_WEIGHT_FILE (file), NULL);
  g_return_val_if_fail (path != NULL, NULL);

  info = qs_weight_file_lookup (file, path);
  if (info == NULL)
    {
      g_set_error (error, QS_ERROR, QS_ERROR_NOT_FOUND, "no tensor “%s” in %s",
                   path, qs_weight_file_get_filename (file));
      return NULL;
    }

  values = qs_weight_file_read_tensor (file, info, error);
  if (values == NULL)
    return NULL;

  return qs_tensor_report_compute_values (info, values, scheme, n_threads, error);
}

static void
add_shape (JsonBuilder        *builder,
           const QsTensorInfo *info)
{
  json_builder_set_member_name (builder, "shape");
  json_builder_begin_array (builder);
  for (int d = 0; d < info->rank; d++)
    json_builder_add_int_value (builder, info->shape[d]);
  json_builder_end_array (builder);
}

/* Per-tensor values are plain numbers, per-channel ones arrays. */
static void
add_channel_values (JsonBuilder *builder,
                    const char  *name,
                    const float *values,
                    gsize        channels,
                    gboolean     per_channel)
{
  json_builder_set_member_name (builder, name);
  if (!per_channel)
    {
      qs_json_add_number (builder, values[0]);
      return;
    }
  json_builder_begin_array (builder);
  for (gsize c = 0; c < channels; c++)
    qs_json_add_number (builder, values[c]);
  json_builder_end_array (builder);
}

JsonNode *
qs_tensor_info_to_json (const QsTensorInfo *info)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "path");
  json_builder_add_string_value (builder, info->path);
  /* Keras 3 names a variable after its layer; where it is stored, too. */
  if (info->stored_path != NULL)
    {
      json_builder_set_member_name (builder, "stored_path");
      json_builder_add_string_value (builder, info->stored_path);
    }
  json_builder_set_member_name (builder, "layer");
  json_builder_add_string_value (builder, info->layer);
  json_builder_set_member_name (builder, "role");
  json_builder_add_string_value (builder, qs_tensor_role_to_string (info->role));
  add_shape (builder, info);
  json_builder_set_member_name (builder, "dtype");
  json_builder_add_string_value (builder, info->dtype);
  json_builder_set_member_name (builder, "big_endian");
  json_builder_add_boolean_value (builder, info->big_endian);
  json_builder_set_member_name (builder, "count");
  json_builder_add_int_value (builder, (gint64) info->count);
  json_builder_set_member_name (builder, "quantizable");
  json_builder_add_boolean_value (builder, info->quantizable);
  json_builder_set_member_name (builder, "channel_axis");
  if (info->channel_axis >= 0)
    json_builder_add_int_value (builder, info->channel_axis);
  else
    json_builder_add_null_value (builder);
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

static void
add_histogram (JsonBuilder       *builder,
               const QsHistogram *h)
{
  json_builder_set_member_name (builder, "histogram");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "bins");
  json_builder_add_int_value (builder, h->bins);
  qs_json_add_number_member (builder, "lo", h->lo);
  qs_json_add_number_member (builder, "hi", h->hi);
  qs_json_add_uint_array (builder, "counts", h->counts, h->bins);
  qs_json_add_uint_array (builder, "quantized_counts", h->quantized_counts, h->bins);
  json_builder_set_member_name (builder, "underflow");
  json_builder_add_int_value (builder, (gint64) h->underflow);
  json_builder_set_member_name (builder, "overflow");
  json_builder_add_int_value (builder, (gint64) h->overflow);
  json_builder_set_member_name (builder, "quantized_underflow");
  json_builder_add_int_value (builder, (gint64) h->quantized_underflow);
  json_builder_set_member_name (builder, "quantized_overflow");
  json_builder_add_int_value (builder, (gint64) h->quantized_overflow);
  json_builder_end_object (builder);
}

void
qs_tensor_report_grid_range (const QsTensorReport *report,
                             gsize                 channel,
                             float                *lo,
                             float                *hi)
{
  const QsQuantParams *p = &report->params;

  g_return_if_fail (channel < p->channels);

  if (qs_scheme_is_blockwise (&report->scheme))
    {
      /* Every block has its own grid. */
      *lo = *hi = NAN;
    }
  else if (report->scheme.format == QS_FORMAT_INT)
    {
      *lo = qs_dequantize_code (p, channel, p->qmin);
      *hi = qs_dequantize_code (p, channel, p->qmax);
    }
  else
    {
      float fmax = qs_float_format_max (report->scheme.format);

      *lo = -fmax * p->scale[channel];
      *hi = fmax * p->scale[channel];
    }
}

static gboolean
report_is_per_channel (const QsTensorReport *report)
{
  return report->scheme.granularity == QS_GRANULARITY_CHANNEL && report->scheme.axis >= 0
         && !qs_scheme_is_blockwise (&report->scheme);
}

char *
qs_tensor_report_describe_scheme (const QsTensorReport *report)
{
  const QsScheme *s = &report->scheme;
  const char *granularity = report_is_per_channel (report) ? "per-channel" : "per-tensor";

  g_return_val_if_fail (report != NULL, NULL);

  if (qs_scheme_is_blockwise (s))
    {
      g_autofree char *groups = g_strdup_printf ("groups of %zu", qs_scheme_block_size (s));

      if (s->format != QS_FORMAT_INT)
        return g_strdup_printf ("%s %s", qs_format_to_string (s->format), groups);
      return g_strdup_printf ("%sint%d %s %s", s->is_unsigned ? "u" : "", s->bits,
                              qs_mapping_to_string (s->mapping), groups);
    }
  if (s->format != QS_FORMAT_INT)
    return g_strdup_printf ("%s %s", qs_format_to_string (s->format), granularity);
  return g_strdup_printf ("%sint%d %s %s", s->is_unsigned ? "u" : "", s->bits,
                          qs_mapping_to_string (s->mapping), granularity);
}

/* The block inspector: "blocks" in the stats JSON (docs/block-formats.md). */
static void
add_blocks (JsonBuilder       *builder,
            const QsBlockInfo *b)
{
  json_builder_set_member_name (builder, "blocks");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "block_size");
  json_builder_add_int_value (builder, (gint64) b->block_size);
  json_builder_set_member_name (builder, "block_count");
  json_builder_add_int_value (builder, (gint64) b->block_count);
  qs_json_add_number_member (builder, "tensor_scale", b->tensor_scale);
  json_builder_set_member_name (builder, "scale_histogram");
  json_builder_begin_object (builder);
  qs_json_add_number_member (builder, "log2_lo", b->scale_log2_lo);
  qs_json_add_number_member (builder, "bin_width", b->scale_bin_width);
  qs_json_add_uint_array (builder, "counts", b->scale_counts, (gsize) b->scale_bins);
  json_builder_set_member_name (builder, "zero_scale_blocks");
  json_builder_add_int_value (builder, (gint64) b->zero_scale_blocks);
  json_builder_end_object (builder);
  qs_json_add_number_member (builder, "sqnr_db", b->sqnr_db);
  qs_json_add_number_member (builder, "sqnr_exact_scale_db", b->sqnr_exact_scale_db);
  json_builder_set_member_name (builder, "worst");
  json_builder_begin_array (builder);
  for (int k = 0; k < b->worst_count; k++)
    {
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "channel");
      json_builder_add_int_value (builder, (gint64) b->worst[k].channel);
      json_builder_set_member_name (builder, "offset");
      json_builder_add_int_value (builder, (gint64) b->worst[k].offset);
      json_builder_set_member_name (builder, "length");
      json_builder_add_int_value (builder, (gint64) b->worst[k].length);
      qs_json_add_number_member (builder, "mse", b->worst[k].mse);
      qs_json_add_number_member (builder, "max_abs_error", b->worst[k].max_abs_error);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  json_builder_end_object (builder);
}

void
qs_tensor_report_add_sweep_json (JsonNode                *report_json,
                                 const QsBlockSweepPoint *points,
                                 gsize                    n_points)
{
  JsonObject *object = json_node_get_object (report_json);
  JsonArray *array = json_array_sized_new ((guint) n_points);

  for (gsize i = 0; i < n_points; i++)
    {
      JsonObject *point = json_object_new ();
      const double values[3] = { points[i].bits_per_weight, points[i].sqnr_db, points[i].mse };
      const char *names[3] = { "bits_per_weight", "sqnr_db", "mse" };

      json_object_set_int_member (point, "group_size", points[i].group_size);
      for (int k = 0; k < 3; k++)
        if (isfinite (values[k]))
          json_object_set_double_member (point, names[k], values[k]);
        else
          json_object_set_null_member (point, names[k]);
      json_array_add_object_element (array, point);
    }
  json_object_set_array_member (object, "sweep", array);
}

QsBlockSweepPoint *
qs_tensor_sweep_group_sizes (QsWeightFile    *file,
                             const char      *path,
                             const QsScheme  *scheme,
                             const int       *sizes,
                             gsize            n_sizes,
                             int              n_threads,
                             GError         **error)
{
  const QsTensorInfo *info = qs_weight_file_lookup (file, path);
  g_autofree float *values = NULL;
  g_autofree QsBlockSweepPoint *points = NULL;
  QsChannelLayout layout;
  QsStatus status;
  int axis;

  if (!qs_scheme_is_blockwise (scheme))
    {
      g_set_error (error, QS_ERROR, QS_ERROR_INVALID,
                   "a group-size sweep needs --granularity group or a block format");
      return NULL;
    }
  if (info == NULL)
    {
      g_set_error (error, QS_ERROR, QS_ERROR_NOT_FOUND, "no tensor “%s” in %s",
                   path, qs_weight_file_get_filename (file));
      return NULL;
    }
  if (!_qs_tensor_report_layout (info, scheme, &axis, &layout, error))
    return NULL;
  values = qs_weight_file_read_tensor (file, info, error);
  if (values == NULL)
    return NULL;
  points = g_new0 (QsBlockSweepPoint, n_sizes ? n_sizes : 1);
  status = qs_block_sweep (scheme, &layout, values, n_threads, sizes, n_sizes, points);
  if (status != QS_OK)
    {
      if (status == QS_STATUS_NO_FINITE_VALUES || status == QS_STATUS_EMPTY)
        g_set_error (error, QS_ERROR, QS_ERROR_EMPTY, "%s has no finite values to quantize", path);
      else
        qs_set_error_from_status (error, status, path);
      return NULL;
    }
  return g_steal_pointer (&points);
}

JsonNode *
qs_tensor_report_to_json (const QsTensorReport *report)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  const QsScheme *s = &report->scheme;
  const QsQuantParams *p = &report->params;
  const QsAnalysis *a = &report->analysis;
  gboolean blockwise = qs_scheme_is_blockwise (s);
  gboolean per_channel = report_is_per_channel (report);
  gboolean is_int = s->format == QS_FORMAT_INT;
  gsize channels = p->channels;
  g_autofree float *widened_lo = g_new (float, channels);
  g_autofree float *widened_hi = g_new (float, channels);
  g_autofree float *grid_lo = g_new (float, channels);
  g_autofree float *grid_hi = g_new (float, channels);

  for (gsize c = 0; c < channels; c++)
    {
      widened_lo[c] = fminf (p->range_lo[c], 0.0f);
      widened_hi[c] = fmaxf (p->range_hi[c], 0.0f);
      qs_tensor_report_grid_range (report, c, &grid_lo[c], &grid_hi[c]);
    }

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "tensor");
  json_builder_add_string_value (builder, report->info->path);
  json_builder_set_member_name (builder, "layer");
  json_builder_add_string_value (builder, report->info->layer);
  json_builder_set_member_name (builder, "role");
  json_builder_add_string_value (builder, qs_tensor_role_to_string (report->info->role));
  json_builder_set_member_name (builder, "dtype");
  json_builder_add_string_value (builder, report->info->dtype);
  add_shape (builder, report->info);
  json_builder_set_member_name (builder, "count");
  json_builder_add_int_value (builder, (gint64) a->count);

  /* The scheme as applied. */
  json_builder_set_member_name (builder, "format");
  json_builder_add_string_value (builder, qs_format_to_string (s->format));
  json_builder_set_member_name (builder, "bits");
  json_builder_add_int_value (builder, is_int ? s->bits : qs_format_element_bits (s->format));
  json_builder_set_member_name (builder, "mapping");
  json_builder_add_string_value (builder, qs_mapping_to_string (s->mapping));
  json_builder_set_member_name (builder, "signed");
  json_builder_add_boolean_value (builder, !s->is_unsigned);
  json_builder_set_member_name (builder, "narrow");
  json_builder_add_boolean_value (builder, s->narrow);
  json_builder_set_member_name (builder, "granularity");
  json_builder_add_string_value (builder, qs_granularity_to_string (blockwise ? QS_GRANULARITY_GROUP
                                                                    : per_channel ? QS_GRANULARITY_CHANNEL
                                                                    : QS_GRANULARITY_TENSOR));
  json_builder_set_member_name (builder, "group_size");
  if (blockwise)
    json_builder_add_int_value (builder, (gint64) qs_scheme_block_size (s));
  else
    json_builder_add_null_value (builder);
  json_builder_set_member_name (builder, "axis");
  if (per_channel || (blockwise && s->axis >= 0))
    json_builder_add_int_value (builder, s->axis);
  else
    json_builder_add_null_value (builder);
  json_builder_set_member_name (builder, "channels");
  json_builder_add_int_value (builder, (gint64) channels);
  json_builder_set_member_name (builder, "range_method");
  json_builder_add_string_value (builder, qs_range_method_to_string (s->range_method));
  if (s->range_method == QS_RANGE_PERCENTILE)
    qs_json_add_number_member (builder, "percentile", s->percentile);
  json_builder_set_member_name (builder, "rounding");
  json_builder_add_string_value (builder, qs_rounding_to_string (s->rounding));
  json_builder_set_member_name (builder, "zero_nudge");
  json_builder_add_boolean_value (builder, s->nudge_zero);

  /* The quantizer. */
  json_builder_set_member_name (builder, "qmin");
  json_builder_add_int_value (builder, p->qmin);
  json_builder_set_member_name (builder, "qmax");
  json_builder_add_int_value (builder, p->qmax);
  add_channel_values (builder, "scale", p->scale, channels, per_channel);
  add_channel_values (builder, "zero_point", p->zero_point, channels, per_channel);
  add_channel_values (builder, "range_lo", widened_lo, channels, per_channel);
  add_channel_values (builder, "range_hi", widened_hi, channels, per_channel);
  add_channel_values (builder, "method_lo", p->range_lo, channels, per_channel);
  add_channel_values (builder, "method_hi", p->range_hi, channels, per_channel);
  add_channel_values (builder, "grid_lo", grid_lo, channels, per_channel);
  add_channel_values (builder, "grid_hi", grid_hi, channels, per_channel);
  json_builder_set_member_name (builder, "scale_clamped_channels");
  json_builder_add_int_value (builder, (gint64) p->clamped_channels);

  /* What it does to the values. */
  qs_json_add_number_member (builder, "data_min", a->data_min);
  qs_json_add_number_member (builder, "data_max", a->data_max);
  qs_json_add_number_member (builder, "mse", a->mse);
  qs_json_add_number_member (builder, "rmse", a->rmse);
  qs_json_add_number_member (builder, "max_abs_error", a->max_abs_error);
  qs_json_add_number_member (builder, "sqnr_db", a->sqnr_db);
  qs_json_add_number_member (builder, "cosine", a->cosine);
  json_builder_set_member_name (builder, "clipped_count");
  json_builder_add_int_value (builder, (gint64) a->clipped_count);
  json_builder_set_member_name (builder, "levels_used");
  json_builder_add_int_value (builder, (gint64) a->levels_used);
  json_builder_set_member_name (builder, "levels_total");
  json_builder_add_int_value (builder, is_int ? (gint64) p->qmax - p->qmin + 1 : (gint64) p->qmax + 1);
  json_builder_set_member_name (builder, "finite_count");
  json_builder_add_int_value (builder, (gint64) a->finite_count);
  json_builder_set_member_name (builder, "nonfinite_count");
  json_builder_add_int_value (builder, (gint64) a->nonfinite_count);
  json_builder_set_member_name (builder, "zero_exact");
  json_builder_add_boolean_value (builder, a->zero_exact);
  json_builder_set_member_name (builder, "exact_zero_count");
  json_builder_add_int_value (builder, (gint64) a->exact_zero_count);
  qs_json_add_number_member (builder, "zero_error", a->zero_error);
  json_builder_set_member_name (builder, "size_fp32_bytes");
  json_builder_add_int_value (builder, (gint64) a->size_fp32_bytes);
  json_builder_set_member_name (builder, "size_quant_bytes");
  json_builder_add_int_value (builder, (gint64) a->size_quant_bytes);
  qs_json_add_number_member (builder, "compression_ratio", a->compression_ratio);
  qs_json_add_number_member (builder, "bits_per_weight", a->bits_per_weight);
  add_histogram (builder, &a->histogram);
  if (a->blocks != NULL)
    add_blocks (builder, a->blocks);
  json_builder_set_member_name (builder, "kernel");
  json_builder_add_string_value (builder, report->kernel);
  json_builder_end_object (builder);

  return json_builder_get_root (builder);
}

/* ---- for the streaming path (qs-tensor-stream.c) ------------------------ */

QsTensorReport *
_qs_tensor_report_new (void)
{
  return tensor_report_new ();
}

gboolean
_qs_tensor_report_layout (const QsTensorInfo  *info,
                          const QsScheme      *scheme,
                          int                 *axis,
                          QsChannelLayout     *layout,
                          GError             **error)
{
  QsStatus status = QS_OK;

  if (!resolve_axis (info, scheme, axis, error))
    return FALSE;
  if (*axis >= 0)
    status = qs_channel_layout_for_axis (info->shape, info->rank, *axis, layout);
  else
    *layout = qs_channel_layout_per_tensor (info->count);
  if (status != QS_OK || layout->count != info->count)
    {
      g_set_error (error, QS_ERROR, QS_ERROR_TOO_LARGE,
                   "the shape of %s does not fit in memory indices", info->path);
      return FALSE;
    }
  return TRUE;
}
