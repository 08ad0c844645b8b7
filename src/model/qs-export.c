/* qs-export.c: writing quantized or dequantized weights to a new HDF5 file, all or nothing.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The input tree is walked as the reader walks it (breadth first, links
 * in name order), and mirrored: groups with their creation properties and
 * attributes, hard links as hard links, soft links as soft links, external
 * links as they were unless the reader followed them (then their target is
 * written in place). Datasets that are not quantized are copied with
 * H5Ocopy (data, filters and attributes as they are); quantized ones are
 * written block by block from the streaming analysis, so memory stays
 * within the budget whatever the tensor size.
 */
#include "config.h"

#include "model/qs-export.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "model/qs-error.h"
#include "model/qs-hdf5-private.h"
#include "model/qs-input-file.h"
#include "model/qs-main-context.h"
#include "model/qs-tensor-report-private.h"
#include "model/qs-output-file.h"
#include "model/qs-tensor-stream.h"
#include "quant/qs-float-format.h"

/* Attributes larger than this are not weights metadata but a damaged or
 * hostile header; copying them would only exhaust memory. */
#define MAX_ATTRIBUTE_BYTES (G_GUINT64_CONSTANT (256) << 20)
/* What the variable-length strings and sequences of one copied dataset
 * may state in all: weight files hold none past a few kilobytes. */
#define MAX_VLEN_COPY_BYTES (G_GUINT64_CONSTANT (256) << 20)
#define PACKED_CHUNK_BYTES (G_GUINT64_CONSTANT (1) << 20)

/* Names of the attributes a quantized dataset carries (docs/export-format.md). */
static const char * const quant_attribute_names[] = {
  "scale", "zero_point", "axis", "bits", "mapping", "narrow", "signed", "format",
  "rounding", "qmin", "qmax", "source_dtype", "source_shape", "packed",
  "packed_bit_order", "packed_count", "quantscope_mse", "quantscope_sqnr_db",
  "granularity", "group_size", "blocks_per_run", "scale_code", "tensor_scale", "code_values", NULL
};

void
qs_export_options_init (QsExportOptions *options)
{
  g_return_if_fail (options != NULL);

  memset (options, 0, sizeof *options);
  options->layout = QS_EXPORT_LAYOUT_QUANTIZED;
}

const char *
qs_export_layout_to_string (QsExportLayout layout)
{
  return layout == QS_EXPORT_LAYOUT_DEQUANTIZED ? "dequantized" : "quantized";
}

gboolean
qs_export_layout_parse (const char     *text,
                        QsExportLayout *layout)
{
  if (g_strcmp0 (text, "quantized") == 0)
    *layout = QS_EXPORT_LAYOUT_QUANTIZED;
  else if (g_strcmp0 (text, "dequantized") == 0)
    *layout = QS_EXPORT_LAYOUT_DEQUANTIZED;
  else
    return FALSE;
  return TRUE;
}

/* ---- results ------------------------------------------------------------ */

static void
export_tensor_free (gpointer data)
{
  QsExportTensor *t = data;

  g_free (t->path);
  g_free (t->reason);
  g_clear_pointer (&t->report, qs_tensor_report_unref);
  g_free (t);
}

void
qs_export_result_free (QsExportResult *result)
{
  if (result == NULL)
    return;
  g_free (result->input);
  g_free (result->output);
  g_clear_pointer (&result->tensors, g_ptr_array_unref);
  g_clear_pointer (&result->warnings, g_ptr_array_unref);
  g_free (result);
}

static void
add_number (JsonBuilder *builder,
            const char  *name,
            double       value)
{
  json_builder_set_member_name (builder, name);
  /* JSON has no NaN or Infinity. */
  if (isfinite (value))
    json_builder_add_double_value (builder, value);
  else
    json_builder_add_null_value (builder);
}

JsonNode *
qs_export_result_to_json (const QsExportResult *result)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  guint quantized = 0;

  g_return_val_if_fail (result != NULL, NULL);

  for (guint i = 0; i < result->tensors->len; i++)
    quantized += ((QsExportTensor *) g_ptr_array_index (result->tensors, i))->quantized;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "input");
  json_builder_add_string_value (builder, result->input);
  json_builder_set_member_name (builder, "output");
  json_builder_add_string_value (builder, result->output);
  json_builder_set_member_name (builder, "layout");
  json_builder_add_string_value (builder, qs_export_layout_to_string (result->layout));
  json_builder_set_member_name (builder, "packed");
  json_builder_add_boolean_value (builder, result->packed);
  json_builder_set_member_name (builder, "input_bytes");
  json_builder_add_int_value (builder, (gint64) result->input_bytes);
  json_builder_set_member_name (builder, "output_bytes");
  json_builder_add_int_value (builder, (gint64) result->output_bytes);
  json_builder_set_member_name (builder, "quantized");
  json_builder_add_int_value (builder, quantized);
  json_builder_set_member_name (builder, "copied");
  json_builder_add_int_value (builder, result->tensors->len - quantized);

  json_builder_set_member_name (builder, "tensors");
  json_builder_begin_array (builder);
  for (guint i = 0; i < result->tensors->len; i++)
    {
      const QsExportTensor *t = g_ptr_array_index (result->tensors, i);

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "path");
      json_builder_add_string_value (builder, t->path);
      json_builder_set_member_name (builder, "action");
      json_builder_add_string_value (builder, t->quantized ? "quantized" : "copied");
      if (t->reason != NULL)
        {
          json_builder_set_member_name (builder, "reason");
          json_builder_add_string_value (builder, t->reason);
        }
      if (t->report != NULL)
        {
          const QsTensorReport *r = t->report;
          QsScheme s = r->scheme;

          /* As applied; per tensor, the axis means nothing: null. */
          if (s.axis < 0)
            s.axis = QS_AXIS_DEFAULT;
          json_builder_set_member_name (builder, "streamed");
          json_builder_add_boolean_value (builder, t->streamed);
          json_builder_set_member_name (builder, "scheme");
          json_builder_add_value (builder, qs_scheme_to_json (&s));
          json_builder_set_member_name (builder, "channels");
          json_builder_add_int_value (builder, (gint64) r->params.channels);
          json_builder_set_member_name (builder, "count");
          json_builder_add_int_value (builder, (gint64) r->analysis.count);
          add_number (builder, "mse", r->analysis.mse);
          add_number (builder, "sqnr_db", r->analysis.sqnr_db);
          add_number (builder, "max_abs_error", r->analysis.max_abs_error);
          json_builder_set_member_name (builder, "clipped_count");
          json_builder_add_int_value (builder, (gint64) r->analysis.clipped_count);
          json_builder_set_member_name (builder, "scale_clamped_channels");
          json_builder_add_int_value (builder, (gint64) r->params.clamped_channels);
        }
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);

  json_builder_set_member_name (builder, "warnings");
  json_builder_begin_array (builder);
  for (guint i = 0; i < result->warnings->len; i++)
    json_builder_add_string_value (builder, g_ptr_array_index (result->warnings, i));
  json_builder_end_array (builder);
  json_builder_end_object (builder);

  return json_builder_get_root (builder);
}

/* ---- the export state --------------------------------------------------- */

typedef struct {
  QsWeightFile          *input;
  const QsSchemeSet     *schemes;
  const QsExportOptions *options;
  GPatternSpec          *tensors_glob;
  GCancellable          *cancellable;
  QsExportProgressFunc   progress;
  gpointer               progress_data;
  QsExportProgress       state;

  hid_t                  in;            /* the input file (reader's handle) */
  hid_t                  out;           /* the temporary output file */
  GHashTable            *written;       /* input object identity -> output path */
  GQueue                 groups;        /* input group paths still to copy */
  QsExportResult        *result;
} Export;

static void
report_progress (Export     *ex,
                 const char *path)
{
  if (ex->progress == NULL)
    return;
  ex->state.path = path;
  ex->progress (&ex->state, ex->progress_data);
}

/* Fails with the HDF5 detail; call with the lock held, right after the
 * failing call. */
static gboolean
fail_hdf5 (GError    **error,
           const char *format,
           const char *subject)
{
  g_autofree char *detail = _qs_hdf5_error_detail ();
  g_autofree char *what = g_strdup_printf (format, subject);
  const char *quoted;

  /* A failed write reports "... error message = 'No space left on
   * device', buf = ...": the system's message is the useful part. */
  if (detail != NULL && (quoted = strstr (detail, "error message = '")) != NULL)
    {
      const char *start = quoted + strlen ("error message = '");
      const char *end = strchr (start, '\'');
      char *message = g_strndup (start, end != NULL ? (gsize) (end - start) : strlen (start));

      g_free (detail);
      detail = message;
    }

  g_set_error (error, QS_ERROR, QS_ERROR_WRITE, "%s%s%s%s", what,
               detail != NULL ? " (" : "", detail != NULL ? detail : "", detail != NULL ? ")" : "");
  return FALSE;
}

/* The one line for variable-length data of @subject that _qs_hdf5_vlen_bound_end() refused. */
static void
vlen_refusal (GError        **error,
              const char     *subject,
              QsVlenVerdict   verdict)
{
  if (verdict == QS_VLEN_TOO_LARGE)
    g_set_error (error, QS_ERROR, QS_ERROR_TOO_LARGE,
                 "%s states more than %d MiB of variable-length data: refused rather than copied", subject,
                 (int) (MAX_VLEN_COPY_BYTES >> 20));
  else
    g_set_error (error, QS_ERROR, QS_ERROR_READ,
                 "%s is damaged: its variable-length data is missing, damaged or longer than it states", subject);
}

/* ---- attributes --------------------------------------------------------- */

typedef struct {
  Export      *ex;
  hid_t        dst;
  const char  *object_path;
  const char * const *skip;    /* names not to copy */
  GError     **error;
} AttrCopy;

static herr_t
copy_attribute_cb (hid_t             src,
                   const char       *name,
                   const H5A_info_t *ainfo,
                   void             *user_data)
{
  AttrCopy *ac = user_data;
  hid_t attr, ftype = H5I_INVALID_HID, ctype = H5I_INVALID_HID, mtype = H5I_INVALID_HID;
  hid_t space = H5I_INVALID_HID, dattr = H5I_INVALID_HID;
  g_autofree void *buffer = NULL;
  hssize_t n;
  guint64 bytes = 0;
  herr_t status = -1;
  QsVlenVerdict verdict = QS_VLEN_OK;

  if (ac->skip != NULL && g_strv_contains (ac->skip, name))
    return 0;

  attr = H5Aopen (src, name, H5P_DEFAULT);
  if (attr < 0)
    {
      fail_hdf5 (ac->error, "Cannot read an attribute of %s", ac->object_path);
      return -1;
    }
  ftype = H5Aget_type (attr);
  space = H5Aget_space (attr);
  if (ftype < 0 || space < 0)
    goto out;

  /* Object references hold addresses in the input file: meaningless in
   * the output, so they are left out, and said so. */
  if (H5Tdetect_class (ftype, H5T_REFERENCE) > 0)
    {
      g_ptr_array_add (ac->ex->result->warnings,
                       g_strdup_printf ("attribute “%s” of %s holds HDF5 references and was not copied",
                                        name, ac->object_path));
      status = 0;
      goto out;
    }

  ctype = H5Tcopy (ftype);        /* transient, even if the input's type is committed */
  mtype = H5Tget_native_type (ftype, H5T_DIR_ASCEND);
  n = H5Sget_select_npoints (space);
  if (ctype < 0 || mtype < 0 || n < 0
      || !g_uint64_checked_mul (&bytes, (guint64) n, H5Tget_size (mtype))
      || bytes > MAX_ATTRIBUTE_BYTES)
    goto out;

  if (H5Aexists (ac->dst, name) > 0)
    H5Adelete (ac->dst, name);
  dattr = H5Acreate2 (ac->dst, name, ctype, space, H5P_DEFAULT, H5P_DEFAULT);
  if (dattr < 0)
    goto out;

  if (n == 0)
    status = 0;
  else if ((buffer = g_try_malloc0 (bytes)) != NULL)
    {
      _qs_hdf5_vlen_bound_begin (attr, MAX_ATTRIBUTE_BYTES);
      if (H5Aread (attr, mtype, buffer) >= 0)
        {
          status = H5Awrite (dattr, mtype, buffer);
          /* Frees variable-length parts; a no-op for fixed-size types. */
          H5Dvlen_reclaim (mtype, space, H5P_DEFAULT, buffer);
        }
      verdict = _qs_hdf5_vlen_bound_end ();
    }

out:
  if (verdict != QS_VLEN_OK)
    {
      g_autofree char *subject = g_strdup_printf ("attribute “%s” of %s", name, ac->object_path);

      vlen_refusal (ac->error, subject, verdict);
    }
  else if (status < 0)
    {
      g_autofree char *subject = g_strdup_printf ("“%s” of %s", name, ac->object_path);
      fail_hdf5 (ac->error, "Cannot copy attribute %s", subject);
    }
  if (dattr >= 0)
    H5Aclose (dattr);
  if (mtype >= 0)
    H5Tclose (mtype);
  if (ctype >= 0)
    H5Tclose (ctype);
  if (ftype >= 0)
    H5Tclose (ftype);
  if (space >= 0)
    H5Sclose (space);
  H5Aclose (attr);
  return status < 0 ? -1 : 0;
}

/* Copies every attribute of @src to @dst (lock held). */
static gboolean
copy_attributes (Export             *ex,
                 hid_t               src,
                 hid_t               dst,
                 const char         *object_path,
                 const char * const *skip,
                 GError            **error)
{
  GError *local = NULL;
  AttrCopy ac = { ex, dst, object_path, skip, &local };
  hsize_t idx = 0;

  if (H5Aiterate2 (src, H5_INDEX_NAME, H5_ITER_INC, &idx, copy_attribute_cb, &ac) < 0)
    {
      if (local != NULL)
        g_propagate_error (error, local);
      else
        fail_hdf5 (error, "Cannot list the attributes of %s", object_path);
      return FALSE;
    }
  return TRUE;
}

static void
delete_attribute (hid_t       obj,
                  const char *name)
{
  if (H5Aexists (obj, name) > 0)
    H5Adelete (obj, name);
}

static gboolean
write_attribute (hid_t          obj,
                 const char    *name,
                 hid_t          file_type,
                 hid_t          mem_type,
                 gsize          n,
                 gboolean       scalar,
                 const void    *data)
{
  hsize_t dims[1] = { n };
  hid_t space = scalar ? H5Screate (H5S_SCALAR) : H5Screate_simple (1, dims, NULL);
  hid_t attr;
  herr_t status = -1;

  if (space < 0)
    return FALSE;
  delete_attribute (obj, name);
  attr = H5Acreate2 (obj, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT);
  if (attr >= 0)
    {
      status = n == 0 && !scalar ? 0 : H5Awrite (attr, mem_type, data);
      H5Aclose (attr);
    }
  H5Sclose (space);
  return status >= 0;
}

static gboolean
write_string_attribute (hid_t       obj,
                        const char *name,
                        const char *value)
{
  hid_t type = H5Tcopy (H5T_C_S1);
  gboolean ok;

  /* Variable-length UTF-8: h5py gives back a str, as Keras writes them. */
  H5Tset_size (type, H5T_VARIABLE);
  H5Tset_cset (type, H5T_CSET_UTF8);
  ok = write_attribute (obj, name, type, type, 1, TRUE, &value);
  H5Tclose (type);
  return ok;
}

static gboolean
write_int_attribute (hid_t       obj,
                     const char *name,
                     gint64      value)
{
  return write_attribute (obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, 1, TRUE, &value);
}

static gboolean
write_bool_attribute (hid_t       obj,
                      const char *name,
                      gboolean    value)
{
  gint8 v = value ? 1 : 0;

  return write_attribute (obj, name, H5T_STD_I8LE, H5T_NATIVE_INT8, 1, TRUE, &v);
}

static gboolean
write_double_attribute (hid_t       obj,
                        const char *name,
                        double      value)
{
  return write_attribute (obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1, TRUE, &value);
}

/* ---- quantized and dequantized datasets --------------------------------- */

typedef struct {
  Export         *ex;
  const char     *path;
  hid_t           src;          /* the input dataset */
  hid_t           dset;         /* the output dataset, created on the first block */
  QsExportLayout  layout;
  gboolean        packed;
  int             packed_bits;
  guint64         packed_bytes;
  /* The bit writer for packed codes: whole bytes go out with each block,
   * the rest waits in acc for the next one. */
  guint64         byte_pos;
  guint32         acc;
  int             acc_bits;
  guint64         bytes_before; /* progress at the start of this tensor */
  int32_t        *codes;
  void           *out;
  gsize           capacity;
  /* Group-wise and block formats: the whole tensor's codes and its blocks. */
  QsChannelLayout block_layout;
  QsBlockGeometry geo;
  int32_t        *block_codes;
  float          *block_scales;
  guint8         *block_scale_codes;
  int32_t        *block_zero_points;
  float           tensor_scale;
} Writer;

static hid_t
code_file_type (const QsScheme *scheme)
{
  switch (scheme->format)
    {
    case QS_FORMAT_MXINT8:
      return H5T_STD_I8LE;
    case QS_FORMAT_MXFP8_E4M3:
    case QS_FORMAT_MXFP8_E5M2:
    case QS_FORMAT_MXFP6_E2M3:
    case QS_FORMAT_MXFP6_E3M2:
    case QS_FORMAT_MXFP4:
    case QS_FORMAT_NVFP4:
    case QS_FORMAT_NF4:
      return H5T_STD_U8LE;
    case QS_FORMAT_FP16:
    case QS_FORMAT_BF16:
      return H5T_STD_U16LE;
    case QS_FORMAT_FP8_E4M3:
    case QS_FORMAT_FP8_E5M2:
      return H5T_STD_U8LE;
    case QS_FORMAT_INT:
    default:
      if (scheme->bits <= 8)
        return scheme->is_unsigned ? H5T_STD_U8LE : H5T_STD_I8LE;
      return scheme->is_unsigned ? H5T_STD_U16LE : H5T_STD_I16LE;
    }
}

/* Chunking and the portable filters of the input (deflate, shuffle,
 * fletcher32), so a compressed input gives a compressed output. */
static hid_t
code_dcpl (hid_t          src_dcpl,
           int            rank,
           const hsize_t *dims,
           gboolean       packed,
           guint64        packed_bytes)
{
  hid_t dcpl = H5Pcreate (H5P_DATASET_CREATE);
  hsize_t chunk[H5S_MAX_RANK];
  int nfilters;

  if (dcpl < 0 || H5Pget_layout (src_dcpl) != H5D_CHUNKED)
    return dcpl;

  if (packed)
    {
      if (packed_bytes == 0)
        return dcpl;
      chunk[0] = MIN (packed_bytes, PACKED_CHUNK_BYTES);
      H5Pset_chunk (dcpl, 1, chunk);
    }
  else
    {
      if (H5Pget_chunk (src_dcpl, H5S_MAX_RANK, chunk) != rank)
        return dcpl;
      for (int d = 0; d < rank; d++)
        if (chunk[d] == 0 || (dims[d] > 0 && chunk[d] > dims[d] && dims[d] != 0))
          chunk[d] = MAX (dims[d], 1);
      H5Pset_chunk (dcpl, rank, chunk);
    }

  nfilters = H5Pget_nfilters (src_dcpl);
  for (int f = 0; f < nfilters; f++)
    {
      unsigned flags, values[8];
      size_t n_values = G_N_ELEMENTS (values);
      char name[64];
      H5Z_filter_t filter = H5Pget_filter2 (src_dcpl, (unsigned) f, &flags, &n_values, values,
                                            sizeof name, name, NULL);

      if (filter == H5Z_FILTER_DEFLATE)
        H5Pset_deflate (dcpl, n_values > 0 ? values[0] : 6);
      else if (filter == H5Z_FILTER_SHUFFLE)
        H5Pset_shuffle (dcpl);
      else if (filter == H5Z_FILTER_FLETCHER32)
        H5Pset_fletcher32 (dcpl);
    }
  return dcpl;
}

/* The input's creation properties for the dequantized copy, unless they
 * point outside the file (virtual or external storage). */
static hid_t
float_dcpl (hid_t src_dcpl)
{
  H5D_layout_t layout = H5Pget_layout (src_dcpl);

  if (layout == H5D_VIRTUAL || H5Pget_external_count (src_dcpl) > 0)
    return H5Pcreate (H5P_DATASET_CREATE);
  return H5Pcopy (src_dcpl);
}

static gboolean
create_output_dataset (Writer               *w,
                       const QsTensorReport *report,
                       guint64               count,
                       GError              **error)
{
  hid_t space = H5I_INVALID_HID, type = H5I_INVALID_HID, src_dcpl = H5I_INVALID_HID;
  hid_t dcpl = H5I_INVALID_HID;
  hsize_t dims[H5S_MAX_RANK];
  int rank;
  gboolean ok = FALSE;

  _qs_hdf5_lock ();
  space = H5Dget_space (w->src);
  src_dcpl = H5Dget_create_plist (w->src);
  rank = space >= 0 ? H5Sget_simple_extent_dims (space, dims, NULL) : -1;
  if (rank < 0 || src_dcpl < 0)
    {
      fail_hdf5 (error, "Cannot read the layout of %s", w->path);
      goto out;
    }

  if (w->layout == QS_EXPORT_LAYOUT_DEQUANTIZED)
    {
      type = H5Dget_type (w->src);
      dcpl = float_dcpl (src_dcpl);
      if (type >= 0 && dcpl >= 0)
        w->dset = H5Dcreate2 (w->ex->out, w->path, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    }
  else
    {
      if (w->packed)
        {
          hsize_t bytes[1];

          w->packed_bytes = (count * (guint64) w->packed_bits + 7) / 8;
          bytes[0] = w->packed_bytes;
          H5Sclose (space);
          space = H5Screate_simple (1, bytes, NULL);
        }
      dcpl = code_dcpl (src_dcpl, rank, dims, w->packed, w->packed_bytes);
      type = H5Tcopy (w->packed ? H5T_STD_U8LE : code_file_type (&report->scheme));
      if (space >= 0 && type >= 0 && dcpl >= 0)
        w->dset = H5Dcreate2 (w->ex->out, w->path, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    }

  if (w->dset < 0)
    fail_hdf5 (error, "Cannot create dataset %s in the output", w->path);
  else
    ok = copy_attributes (w->ex, w->src, w->dset, w->path,
                          w->layout == QS_EXPORT_LAYOUT_QUANTIZED ? quant_attribute_names : NULL,
                          error);

out:
  if (dcpl >= 0)
    H5Pclose (dcpl);
  if (type >= 0)
    H5Tclose (type);
  if (src_dcpl >= 0)
    H5Pclose (src_dcpl);
  if (space >= 0)
    H5Sclose (space);
  _qs_hdf5_unlock ();
  return ok;
}

/* Codes of values[0..count), which start at row-major index @offset. */
static void
quantize_block (const QsTensorReport *report,
                guint64               offset,
                const float          *values,
                gsize                 count,
                int32_t              *codes)
{
  const QsQuantParams *p = &report->params;
  gsize channels = p->channels;
  QsChannelLayout layout;
  int axis;

  if (channels == 1)
    {
      qs_quantize_channel (p, 0, values, count, codes);
      return;
    }

  /* The scheme's axis is already resolved; the layout gives inner. */
  axis = report->scheme.axis;
  qs_channel_layout_for_axis (report->info->shape, report->info->rank, axis, &layout);
  for (gsize i = 0; i < count;)
    {
      guint64 pos = offset + i;
      gsize c = (pos / layout.inner) % channels;
      gsize n = MIN (count - i, (pos / layout.inner + 1) * layout.inner - pos);

      qs_quantize_channel (p, c, values + i, n, codes + i);
      i += n;
    }
}

static void
dequantize_block (const QsTensorReport *report,
                  guint64               offset,
                  const int32_t        *codes,
                  gsize                 count,
                  float                *out)
{
  const QsQuantParams *p = &report->params;
  QsChannelLayout layout = { 0, 1, 1, 1 };

  if (p->channels > 1)
    qs_channel_layout_for_axis (report->info->shape, report->info->rank,
                                report->scheme.axis, &layout);
  for (gsize i = 0; i < count;)
    {
      guint64 pos = offset + i;
      gsize c = p->channels > 1 ? (pos / layout.inner) % p->channels : 0;
      gsize n = p->channels > 1 ? MIN (count - i, (pos / layout.inner + 1) * layout.inner - pos)
                                : count - i;

      if (p->format == QS_FORMAT_INT)
        {
          /* qs_dequantize_code, in a loop the compiler can vectorize. */
          float zero_point = p->zero_point[c], scale = p->scale[c];
          for (gsize j = 0; j < n; j++)
            out[i + j] = ((float) codes[i + j] - zero_point) * scale;
        }
      else
        for (gsize j = 0; j < n; j++)
          out[i + j] = qs_dequantize_code (p, c, codes[i + j]);
      i += n;
    }
}

static gboolean
write_flat (Writer       *w,
            hid_t         mem_type,
            guint64       offset,
            gsize         count,
            const void   *data,
            GError      **error)
{
  hsize_t mdims[1] = { count };
  hid_t fspace, mspace;
  herr_t status = -1;

  _qs_hdf5_lock ();
  fspace = H5Dget_space (w->dset);
  mspace = H5Screate_simple (1, mdims, NULL);
  if (fspace >= 0 && mspace >= 0 && _qs_hdf5_select_flat_range (fspace, offset, count))
    status = H5Dwrite (w->dset, mem_type, mspace, fspace, H5P_DEFAULT, data);
  if (status < 0)
    fail_hdf5 (error, "Cannot write tensor %s to the output", w->path);
  if (mspace >= 0)
    H5Sclose (mspace);
  if (fspace >= 0)
    H5Sclose (fspace);
  _qs_hdf5_unlock ();
  return status >= 0;
}

/* Appends codes to the bit stream: code i takes stream bits
 * [i * bits, (i + 1) * bits), least significant first; stream bit k is bit
 * k % 8 of byte k / 8 (numpy: unpackbits (..., bitorder="little")). */
static gsize
pack_codes (Writer        *w,
            const int32_t *codes,
            gsize          count,
            int            qmin,
            guint8        *bytes)
{
  gsize k = 0;

  for (gsize i = 0; i < count; i++)
    {
      w->acc |= (guint32) (codes[i] - qmin) << w->acc_bits;
      w->acc_bits += w->packed_bits;
      while (w->acc_bits >= 8)
        {
          bytes[k++] = (guint8) (w->acc & 0xff);
          w->acc >>= 8;
          w->acc_bits -= 8;
        }
    }
  return k;
}

static gboolean
write_block_cb (const QsTensorReport  *report,
                guint64                offset,
                const float           *values,
                gsize                  count,
                gpointer               user_data,
                GError               **error)
{
  Writer *w = user_data;

  if (w->dset < 0 && !create_output_dataset (w, report, report->info->count, error))
    return FALSE;

  if (count > w->capacity)
    {
      g_free (w->codes);
      g_free (w->out);
      w->codes = g_try_new (int32_t, count);
      /* Float reconstructions, packed bytes or codes: four bytes each at most. */
      w->out = g_try_malloc (count * sizeof (float) + 8);
      w->capacity = w->codes != NULL && w->out != NULL ? count : 0;
      if (w->capacity == 0)
        {
          g_set_error (error, QS_ERROR, QS_ERROR_TOO_LARGE,
                       "out of memory writing %s", w->path);
          return FALSE;
        }
    }

  if (w->block_codes != NULL)
    memcpy (w->codes, w->block_codes + offset, count * sizeof (int32_t));
  else
    quantize_block (report, offset, values, count, w->codes);

  if (w->layout == QS_EXPORT_LAYOUT_DEQUANTIZED)
    {
      /* Blockwise tensors come in one piece (compute_blockwise). */
      if (w->block_codes != NULL)
        qs_block_dequantize (&report->scheme, &w->block_layout, w->codes, w->block_scales,
                             w->block_zero_points, w->out);
      else
        dequantize_block (report, offset, w->codes, count, w->out);
      if (!write_flat (w, H5T_NATIVE_FLOAT, offset, count, w->out, error))
        return FALSE;
    }
  else if (w->packed)
    {
      gsize n = pack_codes (w, w->codes, count, report->params.qmin, w->out);

      if (n > 0 && !write_flat (w, H5T_NATIVE_UINT8, w->byte_pos, n, w->out, error))
        return FALSE;
      w->byte_pos += n;
    }
  else
    {
      /* Narrowed here, not by HDF5, whose conversion path is several times
       * slower than this loop; codes are already clamped to the range. */
      hid_t file_type = code_file_type (&report->scheme);
      hid_t mem_type;

      if (H5Tequal (file_type, H5T_STD_I8LE) > 0)
        {
          gint8 *narrow = w->out;
          for (gsize i = 0; i < count; i++)
            narrow[i] = (gint8) w->codes[i];
          mem_type = H5T_NATIVE_INT8;
        }
      else if (H5Tequal (file_type, H5T_STD_U8LE) > 0)
        {
          guint8 *narrow = w->out;
          for (gsize i = 0; i < count; i++)
            narrow[i] = (guint8) w->codes[i];
          mem_type = H5T_NATIVE_UINT8;
        }
      else if (H5Tequal (file_type, H5T_STD_I16LE) > 0)
        {
          gint16 *narrow = w->out;
          for (gsize i = 0; i < count; i++)
            narrow[i] = (gint16) w->codes[i];
          mem_type = H5T_NATIVE_INT16;
        }
      else
        {
          guint16 *narrow = w->out;
          for (gsize i = 0; i < count; i++)
            narrow[i] = (guint16) w->codes[i];
          mem_type = H5T_NATIVE_UINT16;
        }
      if (!write_flat (w, mem_type, offset, count, w->out, error))
        return FALSE;
    }

  w->ex->state.bytes_done = w->bytes_before + (offset + count) * sizeof (float);
  report_progress (w->ex, w->path);
  return TRUE;
}

/* The per-block attributes of a group-wise or block format (docs/export-format.md). */
static gboolean
write_block_attributes (Writer               *w,
                        const QsTensorReport *report)
{
  const QsScheme *s = &report->scheme;
  gsize blocks = w->geo.block_count;
  gboolean ok = TRUE;

  ok &= write_attribute (w->dset, "scale", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, blocks, FALSE, w->block_scales);
  if (s->format == QS_FORMAT_INT)
    ok &= write_attribute (w->dset, "zero_point", H5T_STD_I32LE, H5T_NATIVE_INT32, blocks, FALSE,
                           w->block_zero_points);
  else
    {
      int n_codes = 1 << qs_format_element_bits (s->format);
      g_autofree float *values = g_new (float, n_codes);

      /* What each stored code stands for, so a reader needs no decoder. */
      for (int c = 0; c < n_codes; c++)
        values[c] = qs_block_element_value (s->format, s->format == QS_FORMAT_MXINT8 ? (gint8) c : c);
      ok &= write_attribute (w->dset, "code_values", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, (gsize) n_codes,
                             FALSE, values);
      if (s->format != QS_FORMAT_NF4)
        ok &= write_attribute (w->dset, "scale_code", H5T_STD_U8LE, H5T_NATIVE_UINT8, blocks, FALSE,
                               w->block_scale_codes);
    }
  ok &= write_attribute (w->dset, "tensor_scale", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, TRUE, &w->tensor_scale);
  ok &= write_string_attribute (w->dset, "granularity", "group");
  ok &= write_int_attribute (w->dset, "group_size", (gint64) w->geo.block_size);
  ok &= write_int_attribute (w->dset, "blocks_per_run", (gint64) w->geo.blocks_per_run);
  ok &= write_int_attribute (w->dset, "axis", s->axis);
  return ok;
}

static gboolean
finish_quantized_attributes (Writer               *w,
                             const QsTensorReport *report,
                             GError              **error)
{
  const QsScheme *s = &report->scheme;
  const QsQuantParams *p = &report->params;
  const QsTensorInfo *info = report->info;
  gboolean per_channel = p->channels > 1 || (s->granularity == QS_GRANULARITY_CHANNEL && s->axis >= 0);
  hsize_t dims[H5S_MAX_RANK];
  gint64 shape[H5S_MAX_RANK];
  hid_t space;
  int rank;
  gboolean ok = TRUE;
  g_autofree gint32 *zero_points = NULL;

  _qs_hdf5_lock ();
  space = H5Dget_space (w->src);
  rank = space >= 0 ? H5Sget_simple_extent_dims (space, dims, NULL) : -1;
  if (space >= 0)
    H5Sclose (space);
  for (int d = 0; d < rank; d++)
    shape[d] = (gint64) dims[d];

  if (w->block_codes != NULL)
    ok &= write_block_attributes (w, report);
  else
    {
      ok &= write_attribute (w->dset, "scale", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT,
                             p->channels, !per_channel, p->scale);
      if (s->format == QS_FORMAT_INT && s->nudge_zero)
        {
          /* Nudged zero points are integers: stored as such. */
          zero_points = g_new (gint32, p->channels);
          for (gsize c = 0; c < p->channels; c++)
            zero_points[c] = (gint32) p->zero_point[c];
          ok &= write_attribute (w->dset, "zero_point", H5T_STD_I32LE, H5T_NATIVE_INT32,
                                 p->channels, !per_channel, zero_points);
        }
      else
        ok &= write_attribute (w->dset, "zero_point", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT,
                               p->channels, !per_channel, p->zero_point);
      ok &= write_int_attribute (w->dset, "axis", per_channel ? s->axis : -1);
    }
  ok &= write_int_attribute (w->dset, "bits", s->format == QS_FORMAT_INT ? s->bits
                             : qs_format_element_bits (s->format));
  ok &= write_string_attribute (w->dset, "mapping", qs_mapping_to_string (s->mapping));
  ok &= write_bool_attribute (w->dset, "narrow", s->narrow);
  ok &= write_bool_attribute (w->dset, "signed", !s->is_unsigned);
  ok &= write_string_attribute (w->dset, "format", qs_format_to_string (s->format));
  ok &= write_string_attribute (w->dset, "rounding", qs_rounding_to_string (s->rounding));
  ok &= write_int_attribute (w->dset, "qmin", s->format == QS_FORMAT_MXINT8 ? -127 : p->qmin);
  ok &= write_int_attribute (w->dset, "qmax", s->format == QS_FORMAT_MXINT8 ? 127 : p->qmax);
  ok &= write_string_attribute (w->dset, "source_dtype", info->dtype);
  ok &= rank >= 0 && write_attribute (w->dset, "source_shape", H5T_STD_I64LE, H5T_NATIVE_INT64,
                                      rank, FALSE, shape);
  ok &= write_bool_attribute (w->dset, "packed", w->packed);
  if (w->packed)
    {
      ok &= write_string_attribute (w->dset, "packed_bit_order", "lsb-first");
      ok &= write_int_attribute (w->dset, "packed_count", (gint64) info->count);
    }
  ok &= write_double_attribute (w->dset, "quantscope_mse", report->analysis.mse);
  ok &= write_double_attribute (w->dset, "quantscope_sqnr_db", report->analysis.sqnr_db);
  if (!ok)
    fail_hdf5 (error, "Cannot write the attributes of %s", w->path);
  _qs_hdf5_unlock ();
  return ok;
}

/* Flushes the last partial byte of a packed stream. */
static gboolean
finish_packed (Writer  *w,
               GError **error)
{
  guint8 last;

  if (w->acc_bits == 0)
    return TRUE;
  last = (guint8) (w->acc & 0xff);
  w->acc_bits = 0;
  return write_flat (w, H5T_NATIVE_UINT8, w->byte_pos++, 1, &last, error);
}

/* ---- copying and walking ------------------------------------------------ */

/* Whether values of @type hold variable-length strings or sequences,
 * at any depth. */
static gboolean
type_holds_vlen (hid_t type)
{
  switch (H5Tget_class (type))
    {
    case H5T_VLEN:
      return TRUE;
    case H5T_STRING:
      return H5Tis_variable_str (type) > 0;
    case H5T_ARRAY:
      {
        hid_t base = H5Tget_super (type);
        gboolean holds = base >= 0 && type_holds_vlen (base);

        if (base >= 0)
          H5Tclose (base);
        return holds;
      }
    case H5T_COMPOUND:
      for (int i = 0, n = H5Tget_nmembers (type); i < n; i++)
        {
          hid_t member = H5Tget_member_type (type, (unsigned) i);
          gboolean holds = member >= 0 && type_holds_vlen (member);

          if (member >= 0)
            H5Tclose (member);
          if (holds)
            return TRUE;
        }
      return FALSE;
    default:
      return FALSE;
    }
}

/* Elements of a variable-length dataset read per call by read_vlen_values(). */
#define VLEN_CHECK_BATCH 4096

/* Reads the values of @obj (a dataset or an attribute, @is_dataset
 * saying which) as their native type, VLEN_CHECK_BATCH elements at a
 * time, each batch freed before the next. Lock held, within a
 * variable-length bound. */
static gboolean
read_vlen_values (hid_t    obj,
                  gboolean is_dataset)
{
  hid_t ftype = is_dataset ? H5Dget_type (obj) : H5Aget_type (obj);
  hid_t space = is_dataset ? H5Dget_space (obj) : H5Aget_space (obj);
  hid_t mtype = ftype >= 0 ? H5Tget_native_type (ftype, H5T_DIR_ASCEND) : H5I_INVALID_HID;
  hssize_t n = space >= 0 ? H5Sget_simple_extent_npoints (space) : -1;
  size_t size = mtype >= 0 ? H5Tget_size (mtype) : 0;
  g_autofree void *buffer = NULL;
  gboolean ok = n >= 0 && size > 0;

  if (ok && n > 0 && !is_dataset)
    {
      /* The copy bounds an attribute's elements at MAX_ATTRIBUTE_BYTES. */
      ok = (guint64) n <= MAX_ATTRIBUTE_BYTES / size && (buffer = g_try_malloc0 ((gsize) n * size)) != NULL
           && H5Aread (obj, mtype, buffer) >= 0;
      if (ok)
        H5Dvlen_reclaim (mtype, space, H5P_DEFAULT, buffer);
    }
  else if (ok && n > 0)
    {
      buffer = g_try_malloc0 (VLEN_CHECK_BATCH * size);
      ok = buffer != NULL;
      for (guint64 offset = 0; ok && offset < (guint64) n; offset += VLEN_CHECK_BATCH)
        {
          hsize_t count = MIN ((guint64) n - offset, VLEN_CHECK_BATCH);
          hid_t fspace = H5Scopy (space), mspace = H5Screate_simple (1, &count, NULL);

          ok = fspace >= 0 && mspace >= 0 && _qs_hdf5_select_flat_range (fspace, offset, count)
               && H5Dread (obj, mtype, mspace, fspace, H5P_DEFAULT, buffer) >= 0;
          if (ok)
            H5Dvlen_reclaim (mtype, mspace, H5P_DEFAULT, buffer);
          if (mspace >= 0)
            H5Sclose (mspace);
          if (fspace >= 0)
            H5Sclose (fspace);
        }
    }

  if (mtype >= 0)
    H5Tclose (mtype);
  if (space >= 0)
    H5Sclose (space);
  if (ftype >= 0)
    H5Tclose (ftype);
  return ok;
}

static herr_t
read_vlen_attribute_cb (hid_t             obj,
                        const char       *name,
                        const H5A_info_t *ainfo,
                        void             *user_data)
{
  hid_t attr = H5Aopen (obj, name, H5P_DEFAULT);
  hid_t type = attr >= 0 ? H5Aget_type (attr) : H5I_INVALID_HID;
  gboolean ok = attr >= 0 && type >= 0;

  if (ok && H5Tdetect_class (type, H5T_REFERENCE) <= 0 && type_holds_vlen (type))
    ok = read_vlen_values (attr, FALSE);
  if (type >= 0)
    H5Tclose (type);
  if (attr >= 0)
    H5Aclose (attr);
  if (!ok)
    *(const char **) user_data = name;
  return ok ? 0 : -1;
}

/* libhdf5 1.10's H5Ocopy() crashes when converting the variable-length
 * data of the object or of its attributes fails (a double close in its
 * cleanup): a damaged heap ID, or the bound on what they state, ended
 * `export` with a crash. They are read once first, within the same
 * bound, and the object is refused unless they read. Lock held. */
static gboolean
check_vlen_copyable (hid_t        obj,
                     const char  *path,
                     GError     **error)
{
  const char *attribute = NULL;
  hsize_t idx = 0;
  gboolean ok = TRUE;
  QsVlenVerdict verdict;
  hid_t type;

  _qs_hdf5_vlen_bound_begin (obj, MAX_VLEN_COPY_BYTES);
  if (H5Iget_type (obj) == H5I_DATASET && (type = H5Dget_type (obj)) >= 0)
    {
      if (type_holds_vlen (type))
        ok = read_vlen_values (obj, TRUE);
      H5Tclose (type);
    }
  if (ok && H5Aiterate2 (obj, H5_INDEX_NAME, H5_ITER_INC, &idx, read_vlen_attribute_cb, &attribute) < 0)
    ok = FALSE;
  verdict = _qs_hdf5_vlen_bound_end ();

  if (verdict != QS_VLEN_OK)
    {
      g_autofree char *subject = attribute != NULL ? g_strdup_printf ("attribute “%s” of %s", attribute, path)
                                                   : g_strdup (path);

      vlen_refusal (error, subject, verdict);
    }
  else if (!ok && attribute != NULL)
    {
      g_autofree char *subject = g_strdup_printf ("“%s” of %s", attribute, path);

      fail_hdf5 (error, "Cannot copy attribute %s", subject);
    }
  else if (!ok)
    fail_hdf5 (error, "Cannot copy %s to the output", path);
  return ok && verdict == QS_VLEN_OK;
}

static gboolean
copy_object (Export      *ex,
             const char  *path,
             GError     **error)
{
  herr_t status = -1;
  gboolean virtual, copyable = FALSE;
  hid_t obj;

  _qs_hdf5_lock ();
  /* The reader leaves virtual datasets out; copying one would read its
   * sources (other files, a FIFO that blocks forever). */
  obj = H5Oopen (ex->in, path, H5P_DEFAULT);
  virtual = obj >= 0 && H5Iget_type (obj) == H5I_DATASET && _qs_hdf5_is_virtual (obj);
  /* H5Ocopy() reads the whole storage the layout states and crashes in
   * its cleanup when that fails (a contiguous size past the file's end). */
  if (obj >= 0 && !virtual)
    copyable = (H5Iget_type (obj) != H5I_DATASET || _qs_hdf5_check_stored_within_file (obj, path, error))
               && check_vlen_copyable (obj, path, error);
  if (obj >= 0)
    H5Oclose (obj);
  H5Eclear2 (H5E_DEFAULT);
  if (virtual)
    g_set_error (error, QS_ERROR, QS_ERROR_INVALID,
                 "%s is a virtual dataset (its values live in other datasets or files): refused rather than copied",
                 path);
  else if (obj < 0)
    fail_hdf5 (error, "Cannot copy %s to the output", path);
  else if (copyable)
    {
      /* As checked above; bounded again in case libhdf5 converts more
       * than the check read. */
      QsVlenVerdict verdict;

      _qs_hdf5_vlen_bound_begin (ex->in, MAX_VLEN_COPY_BYTES);
      status = H5Ocopy (ex->in, path, ex->out, path, H5P_DEFAULT, H5P_DEFAULT);
      verdict = _qs_hdf5_vlen_bound_end ();
      if (verdict != QS_VLEN_OK)
        vlen_refusal (error, path, verdict);
      else if (status < 0)
        fail_hdf5 (error, "Cannot copy %s to the output", path);
    }
  _qs_hdf5_unlock ();
  return status >= 0;
}

static const char *
skip_reason (Export             *ex,
             const QsTensorInfo *info,
             QsScheme           *scheme)
{
  if (info == NULL)
    return "not listed by the reader";
  if (info->count == 0)
    return "empty";
  if (!info->quantizable)
    return "not floating point";
  if (!qs_scheme_set_resolve_tensor (ex->schemes, info, scheme))
    return "skipped by the scheme";
  if (ex->tensors_glob != NULL
      && !g_pattern_spec_match_string (ex->tensors_glob, info->path))
    return "not selected by --tensors";
  return NULL;
}

/* A group-wise or block format: the tensor in memory (they are not
 * streamed), its report, every block's codes and scales, then the codes
 * written in one piece through write_block_cb. */
static QsTensorReport *
compute_blockwise (Export             *ex,
                   const QsTensorInfo *info,
                   const QsScheme     *scheme,
                   Writer             *w,
                   GError            **error)
{
  guint64 budget = ex->options->memory_budget ? ex->options->memory_budget : qs_memory_budget_default ();
  g_autoptr(QsTensorReport) report = NULL;
  g_autofree float *values = NULL;
  QsStatus status;
  int axis;

  if (!qs_tensor_fits_budget (info, budget))
    {
      g_set_error (error, QS_ERROR, QS_ERROR_TOO_LARGE,
                   "%s is too large for the memory budget, and group-wise and block "
                   "formats are not streamed: raise --memory-budget", info->path);
      return NULL;
    }
  values = qs_weight_file_read_tensor (ex->input, info, error);
  if (values == NULL)
    return NULL;
  report = qs_tensor_report_compute_values (info, values, scheme, ex->options->n_threads, error);
  if (report == NULL
      || !_qs_tensor_report_layout (info, &report->scheme, &axis, &w->block_layout, error))
    return NULL;
  if (qs_block_geometry (&report->scheme, &w->block_layout, &w->geo) != QS_OK)
    {
      g_set_error (error, QS_ERROR, QS_ERROR_INVALID, "bad block size for %s", info->path);
      return NULL;
    }
  w->block_codes = g_try_new (int32_t, info->count);
  w->block_scales = g_try_new (float, w->geo.block_count);
  w->block_scale_codes = g_try_new (guint8, w->geo.block_count);
  w->block_zero_points = g_try_new (int32_t, w->geo.block_count);
  if (!w->block_codes || !w->block_scales || !w->block_scale_codes || !w->block_zero_points)
    {
      g_set_error (error, QS_ERROR, QS_ERROR_TOO_LARGE, "out of memory writing %s", info->path);
      return NULL;
    }
  status = qs_block_quantize (&report->scheme, &w->block_layout, values, w->block_codes,
                              w->block_scales, w->block_scale_codes, w->block_zero_points,
                              &w->tensor_scale);
  if (status != QS_OK)
    {
      qs_set_error_from_status (error, status, info->path);
      return NULL;
    }
  if (!write_block_cb (report, 0, values, info->count, w, error))
    return NULL;
  return g_steal_pointer (&report);
}

static gboolean
export_dataset (Export      *ex,
                const char  *path,
                GError     **error)
{
  const QsTensorInfo *info = qs_weight_file_lookup (ex->input, path);
  QsExportTensor *entry = g_new0 (QsExportTensor, 1);
  g_autoptr(GError) local = NULL;
  QsTensorReport *report = NULL;
  Writer w = { 0, };
  const char *reason;
  QsScheme scheme;
  gboolean ok = TRUE;

  entry->path = g_strdup (path);
  g_ptr_array_add (ex->result->tensors, entry);
  report_progress (ex, path);

  reason = skip_reason (ex, info, &scheme);
  if (reason != NULL)
    {
      entry->reason = g_strdup (reason);
      ok = copy_object (ex, path, error);
      goto done;
    }

  w.ex = ex;
  w.path = path;
  w.dset = H5I_INVALID_HID;
  w.layout = ex->options->layout;
  w.packed = ex->options->pack && w.layout == QS_EXPORT_LAYOUT_QUANTIZED
             && scheme.format == QS_FORMAT_INT && scheme.bits < 8 && !qs_scheme_is_blockwise (&scheme);
  w.packed_bits = scheme.bits;
  w.bytes_before = ex->state.bytes_done;

  _qs_hdf5_lock ();
  w.src = H5Dopen2 (ex->in, path, H5P_DEFAULT);
  if (w.src < 0)
    fail_hdf5 (error, "Cannot open %s", path);
  _qs_hdf5_unlock ();
  if (w.src < 0)
    {
      ok = FALSE;
      goto done;
    }

  if (qs_scheme_is_blockwise (&scheme))
    report = compute_blockwise (ex, info, &scheme, &w, &local);
  else
    report = qs_tensor_report_compute_blocks (ex->input, info, &scheme, ex->options->n_threads,
                                              ex->options->memory_budget, write_block_cb, &w,
                                              &entry->streamed, ex->cancellable, &local);
  if (report == NULL && w.dset < 0 && g_error_matches (local, QS_ERROR, QS_ERROR_EMPTY))
    {
      /* Only NaN and infinities: nothing to calibrate on; kept as it was. */
      entry->reason = g_strdup ("no finite values");
      ok = copy_object (ex, path, error);
    }
  else if (report == NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local));
      ok = FALSE;
    }
  else
    {
      entry->quantized = TRUE;
      entry->report = report;
      if (w.packed)
        ok = finish_packed (&w, error);
      if (ok && w.layout == QS_EXPORT_LAYOUT_QUANTIZED)
        ok = finish_quantized_attributes (&w, report, error);
    }

  _qs_hdf5_lock ();
  if (w.dset >= 0)
    H5Dclose (w.dset);
  if (w.src >= 0)
    H5Dclose (w.src);
  _qs_hdf5_unlock ();
  g_free (w.codes);
  g_free (w.out);
  g_free (w.block_codes);
  g_free (w.block_scales);
  g_free (w.block_scale_codes);
  g_free (w.block_zero_points);
  ex->state.bytes_done = w.bytes_before + (info != NULL ? info->count * sizeof (float) : 0);

done:
  if (info != NULL && info->quantizable && reason != NULL)
    ex->state.bytes_done += info->count * sizeof (float);
  ex->state.tensors_done++;
  report_progress (ex, path);
  return ok;
}

/* The identity of the object at @path, "fileno:address", or NULL when the
 * link leads nowhere (lock held). */
static char *
object_identity (hid_t        file,
                 const char  *path,
                 H5O_type_t  *type)
{
#if H5_VERSION_GE (1, 12, 0)
  H5O_info2_t oinfo;
  char *token = NULL;
  char *identity;

  if (H5Oget_info_by_name3 (file, path, &oinfo, H5O_INFO_BASIC, H5P_DEFAULT) < 0
      || H5Otoken_to_str (file, &oinfo.token, &token) < 0)
    return NULL;
  identity = g_strdup_printf ("%lu:%s", (unsigned long) oinfo.fileno, token);
  H5free_memory (token);
#else
  H5O_info_t oinfo;
  char *identity;

  if (H5Oget_info_by_name2 (file, path, &oinfo, H5O_INFO_BASIC, H5P_DEFAULT) < 0)
    return NULL;
  identity = g_strdup_printf ("%lu:%" G_GUINT64_FORMAT,
                              (unsigned long) oinfo.fileno, (guint64) oinfo.addr);
#endif
  *type = oinfo.type;
  return identity;
}

/* Whether the reader followed the external link at @path: it lists a
 * tensor there or below. */
static gboolean
reader_followed (Export     *ex,
                 const char *path)
{
  GPtrArray *tensors = qs_weight_file_get_tensors (ex->input);
  g_autofree char *prefix = g_strconcat (path, "/", NULL);

  for (guint i = 0; i < tensors->len; i++)
    {
      const QsTensorInfo *info = g_ptr_array_index (tensors, i);

      if (g_str_equal (info->path, path) || g_str_has_prefix (info->path, prefix))
        return TRUE;
    }
  return FALSE;
}


/* Recreates the soft or external link at @path as it is (lock held). */
static gboolean
copy_link (Export      *ex,
           const char  *path,
           H5L_type_t   type,
           GError     **error)
{
  H5L_info_t linfo;
  g_autofree char *value = NULL;
  herr_t status = -1;

  if (H5Lget_info (ex->in, path, &linfo, H5P_DEFAULT) >= 0
      && linfo.u.val_size > 0 && linfo.u.val_size < (1 << 20))
    {
      value = g_malloc0 (linfo.u.val_size + 1);
      if (H5Lget_val (ex->in, path, value, linfo.u.val_size, H5P_DEFAULT) >= 0)
        {
          if (type == H5L_TYPE_SOFT)
            status = H5Lcreate_soft (value, ex->out, path, H5P_DEFAULT, H5P_DEFAULT);
          else
            {
              const char *file_name, *object_name;
              unsigned flags;

              if (H5Lunpack_elink_val (value, linfo.u.val_size, &flags, &file_name, &object_name) >= 0)
                status = H5Lcreate_external (file_name, object_name, ex->out, path,
                                             H5P_DEFAULT, H5P_DEFAULT);
            }
        }
    }
  if (status < 0)
    return fail_hdf5 (error, "Cannot copy the link %s", path);
  return TRUE;
}

/* Creates the group at @path like the input's (lock held). */
static gboolean
create_group (Export      *ex,
              const char  *path,
              GError     **error)
{
  hid_t src, gcpl = H5I_INVALID_HID, dst = H5I_INVALID_HID;
  gboolean ok = FALSE;

  src = H5Gopen2 (ex->in, path, H5P_DEFAULT);
  if (src < 0)
    return fail_hdf5 (error, "Cannot open group %s", path);
  if (g_str_equal (path, "/"))
    dst = H5Gopen2 (ex->out, "/", H5P_DEFAULT);
  else
    {
      gcpl = H5Gget_create_plist (src);
      dst = H5Gcreate2 (ex->out, path, H5P_DEFAULT, gcpl >= 0 ? gcpl : H5P_DEFAULT, H5P_DEFAULT);
    }
  if (dst < 0)
    fail_hdf5 (error, "Cannot create group %s in the output", path);
  else
    ok = copy_attributes (ex, src, dst, path, NULL, error);

  if (dst >= 0)
    H5Gclose (dst);
  if (gcpl >= 0)
    H5Pclose (gcpl);
  H5Gclose (src);
  return ok;
}

/* Writes the object at @path (reached by a hard link, or an external link
 * the reader followed) unless an earlier path wrote it: then a hard link. */
static gboolean
export_object (Export      *ex,
               const char  *path,
               GError     **error)
{
  g_autofree char *identity = NULL;
  const char *first;
  H5O_type_t type = H5O_TYPE_UNKNOWN;
  gboolean ok = TRUE;

  _qs_hdf5_lock ();
  identity = object_identity (ex->in, path, &type);
  if (identity == NULL)
    {
      _qs_hdf5_unlock ();
      g_ptr_array_add (ex->result->warnings,
                       g_strdup_printf ("%s cannot be read and was left out", path));
      return TRUE;
    }
  first = g_hash_table_lookup (ex->written, identity);
  if (first != NULL)
    {
      if (H5Lcreate_hard (ex->out, first, ex->out, path, H5P_DEFAULT, H5P_DEFAULT) < 0)
        ok = fail_hdf5 (error, "Cannot link %s in the output", path);
      _qs_hdf5_unlock ();
      return ok;
    }
  g_hash_table_insert (ex->written, g_steal_pointer (&identity), g_strdup (path));

  if (type == H5O_TYPE_GROUP)
    {
      ok = create_group (ex, path, error);
      _qs_hdf5_unlock ();
      if (ok)
        g_queue_push_tail (&ex->groups, g_strdup (path));
      return ok;
    }
  _qs_hdf5_unlock ();

  if (type == H5O_TYPE_DATASET)
    return export_dataset (ex, path, error);
  /* Named datatypes, and whatever else a file may hold, as they are. */
  return copy_object (ex, path, error);
}

static gboolean
export_group_members (Export      *ex,
                      const char  *group_path,
                      GError     **error)
{
  g_autoptr(GPtrArray) links = _qs_hdf5_link_array_new ();
  gboolean listed;
  hid_t group;

  _qs_hdf5_lock ();
  group = H5Gopen2 (ex->in, group_path, H5P_DEFAULT);
  listed = group >= 0 && _qs_hdf5_list_links (group, links);
  if (!listed)
    fail_hdf5 (error, "Cannot list group %s", group_path);
  if (group >= 0)
    H5Gclose (group);
  _qs_hdf5_unlock ();
  if (!listed)
    return FALSE;

  for (guint i = 0; i < links->len; i++)
    {
      QsHdf5Link *entry = g_ptr_array_index (links, i);
      g_autofree char *path = _qs_hdf5_path_join (group_path, entry->name);
      gboolean ok;

      if (g_cancellable_set_error_if_cancelled (ex->cancellable, error))
        return FALSE;

      if (entry->type == H5L_TYPE_HARD
          || (entry->type == H5L_TYPE_EXTERNAL && reader_followed (ex, path)))
        ok = export_object (ex, path, error);
      else if (entry->type == H5L_TYPE_SOFT || entry->type == H5L_TYPE_EXTERNAL)
        {
          _qs_hdf5_lock ();
          ok = copy_link (ex, path, entry->type, error);
          _qs_hdf5_unlock ();
        }
      else
        {
          g_ptr_array_add (ex->result->warnings,
                           g_strdup_printf ("link %s has a user-defined type and was left out", path));
          ok = TRUE;
        }
      if (!ok)
        return FALSE;
    }
  return TRUE;
}

/* A Keras 3 model keeps its architecture in config.json, outside the
 * weights: the export carries it as the root's model_config, so it reopens
 * with its layer names and runs (docs/export-format.md). Lock held. */
static gboolean
write_keras3_config (Export *ex,
                     hid_t   root)
{
  QsFileLayout layout = qs_weight_file_get_layout (ex->input);
  const char *config = qs_weight_file_get_model_config (ex->input);

  if ((layout != QS_FILE_LAYOUT_KERAS3_WEIGHTS && layout != QS_FILE_LAYOUT_KERAS3_MODEL)
      || config == NULL || H5Aexists (root, "model_config") > 0)
    return TRUE;
  return write_string_attribute (root, "model_config", config);
}

static gboolean
write_root_attributes (Export  *ex,
                       GError **error)
{
  g_autoptr(JsonNode) scheme = qs_scheme_set_to_json (ex->schemes);
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autofree char *text = NULL;
  gboolean ok;
  hid_t root;

  json_generator_set_root (generator, scheme);
  text = json_generator_to_data (generator, NULL);

  _qs_hdf5_lock ();
  root = H5Gopen2 (ex->out, "/", H5P_DEFAULT);
  ok = root >= 0
       && write_string_attribute (root, "quantscope_scheme", text)
       && write_string_attribute (root, "quantscope_version", PACKAGE_VERSION)
       && write_string_attribute (root, "quantscope_layout",
                                  qs_export_layout_to_string (ex->options->layout))
       && write_string_attribute (root, "quantscope_tensors",
                                  ex->options->tensors != NULL ? ex->options->tensors : "*")
       && write_keras3_config (ex, root);
  if (!ok)
    fail_hdf5 (error, "Cannot write the attributes of %s", "/");
  if (root >= 0)
    H5Gclose (root);
  _qs_hdf5_unlock ();
  return ok;
}

/* ---- the temporary file ------------------------------------------------- */

static gboolean
check_output (QsWeightFile           *input,
              const char             *output,
              const QsExportOptions  *options,
              GError                **error)
{
  g_autofree char *display = g_filename_display_name (output);

  if (qs_file_is_same (qs_weight_file_get_filename (input), output))
    {
      g_set_error (error, QS_ERROR, QS_ERROR_INVALID,
                   "Refusing to export onto the input file “%s”", display);
      return FALSE;
    }
  if (options->tensors != NULL && options->tensors[0] == '\0')
    {
      g_set_error (error, QS_ERROR, QS_ERROR_INVALID, "--tensors needs a glob");
      return FALSE;
    }
  return TRUE;
}

/* Whether the output is built in memory (HDF5's core driver) and written
 * to an unnamed temporary, so that a killed export leaves nothing: when
 * the image and its one copy (H5Fget_file_image) fit in half the memory
 * budget, the other half staying the streaming analysis's. @estimate is
 * an upper bound of the output's size: the input's plus four bytes per
 * quantizable value (a dequantized float32 copy of a float16 input). */
static gboolean
output_fits_in_memory (guint64 estimate,
                       guint64 budget)
{
  return estimate <= (budget != 0 ? budget : qs_memory_budget_default ()) / 4;
}

/* The in-memory output's bytes, held by HDF5's core driver through these
 * callbacks (H5Pset_file_image_callbacks) so that the buffer outlives
 * H5Fclose: what is written out is then the image of a properly closed
 * file, with no copy. (H5Fget_file_image on the open file gives a copy
 * whose superblock checksum libhdf5 1.10.8 then refuses.) */
typedef struct {
  void     *data;
  gsize     allocated;
  gboolean  closed;
} CoreImage;

static void *
core_image_malloc (size_t                size,
                   H5FD_file_image_op_t  op,
                   void                 *udata)
{
  CoreImage *image = udata;

  g_free (image->data);
  image->data = g_try_malloc (size);
  image->allocated = image->data != NULL ? size : 0;
  return image->data;
}

static void *
core_image_memcpy (void                 *dest,
                   const void           *src,
                   size_t                size,
                   H5FD_file_image_op_t  op,
                   void                 *udata)
{
  return memcpy (dest, src, size);
}

static void *
core_image_realloc (void                 *ptr,
                    size_t                size,
                    H5FD_file_image_op_t  op,
                    void                 *udata)
{
  CoreImage *image = udata;
  void *grown = g_try_realloc (ptr, size);

  if (grown != NULL || size == 0)
    {
      image->data = grown;
      image->allocated = size;
    }
  return grown;
}

static herr_t
core_image_free (void                 *ptr,
                 H5FD_file_image_op_t  op,
                 void                 *udata)
{
  CoreImage *image = udata;

  /* Closing the file: keep its bytes for write_image(). */
  if (op == H5FD_FILE_IMAGE_OP_FILE_CLOSE && ptr == image->data)
    image->closed = TRUE;
  else
    {
      if (ptr == image->data)
        {
          image->data = NULL;
          image->allocated = 0;
        }
      g_free (ptr);
    }
  return 0;
}

static void *
core_image_udata_copy (void *udata)
{
  return udata;
}

static herr_t
core_image_udata_free (void *udata)
{
  return 0;
}

/* A file access list for the output: in memory (no backing store, the
 * bytes kept in @image), or written to a path by the sec2 driver. */
static hid_t
output_fapl (CoreImage *image)
{
  hid_t fapl = H5Pcreate (H5P_FILE_ACCESS);

  if (fapl < 0)
    return fapl;
  /* STRONG: closing the file closes everything in it, so a failure to
   * flush shows up in H5Fclose's status instead of being deferred. */
  H5Pset_fclose_degree (fapl, H5F_CLOSE_STRONG);
  /* The 1.8 format: dense attribute storage, so per-channel scales of
   * more than 16,000 channels fit in an attribute (the original format
   * caps an object's attributes at 64 KiB), and readers from 2008 on,
   * h5py and Keras included, read it. */
  H5Pset_libver_bounds (fapl, H5F_LIBVER_V18, H5F_LIBVER_V18);
  if (image != NULL)
    {
      H5FD_file_image_callbacks_t callbacks = {
        core_image_malloc, core_image_memcpy, core_image_realloc, core_image_free,
        core_image_udata_copy, core_image_udata_free, image,
      };

      if (H5Pset_fapl_core (fapl, (size_t) 1 << 20, FALSE) < 0
          || H5Pset_file_image_callbacks (fapl, &callbacks) < 0)
        {
          H5Pclose (fapl);
          return H5I_INVALID_HID;
        }
    }
  return fapl;
}

/* The end of file a closed image's superblock (version 2 or 3, the 1.8
 * format's) states, or 0 when it is not one. */
static guint64
image_end_of_file (const CoreImage *image)
{
  static const guint8 signature[8] = { 0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n' };
  const guint8 *p = image->data;
  guint64 eof = 0;

  /* Signature, version, offset size 8, length size 8, flags; base
   * address, extension address, then the end-of-file address. */
  if (image->allocated < 36 || memcmp (p, signature, 8) != 0 || (p[8] != 2 && p[8] != 3) || p[9] != 8)
    return 0;
  for (int i = 7; i >= 0; i--)
    eof = (eof << 8) | p[28 + i];
  return eof <= image->allocated ? eof : 0;
}

/* Writes the closed in-memory output to the temporary file. */
static gboolean
write_image (CoreImage     *image,
             QsOutputFile  *target,
             const char    *output,
             GError       **error)
{
  guint64 eof = image->closed ? image_end_of_file (image) : 0;

  if (eof == 0)
    {
      g_set_error (error, QS_ERROR, QS_ERROR_WRITE, "Cannot finish writing “%s”", output);
      return FALSE;
    }
  return qs_output_file_write (target, image->data, (gsize) eof, error);
}

static guint64
file_size (const char *path)
{
  GStatBuf st;

  return g_stat (path, &st) == 0 ? (guint64) st.st_size : 0;
}

QsExportResult *
qs_export (QsWeightFile           *input,
           const char             *output,
           const QsSchemeSet      *schemes,
           const QsExportOptions  *options,
           QsExportProgressFunc    progress,
           gpointer                progress_data,
           GCancellable           *cancellable,
           GError                **error)
{
  g_autoptr(QsExportResult) result = NULL;
  g_autoptr(QsOutputFile) target = NULL;
  g_autofree char *image_name = NULL;
  CoreImage image = { NULL, 0, FALSE };
  QsExportOptions defaults;
  GPtrArray *tensors;
  Export ex = { 0, };
  gboolean ok = TRUE;
  gboolean in_memory;
  hid_t fapl;

  g_return_val_if_fail (QS_IS_WEIGHT_FILE (input), NULL);
  g_return_val_if_fail (output != NULL, NULL);
  g_return_val_if_fail (schemes != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (options == NULL)
    {
      qs_export_options_init (&defaults);
      options = &defaults;
    }
  if (!check_output (input, output, options, error))
    return NULL;

  result = g_new0 (QsExportResult, 1);
  result->input = g_strdup (qs_weight_file_get_filename (input));
  result->output = g_strdup (output);
  result->layout = options->layout;
  result->packed = options->pack && options->layout == QS_EXPORT_LAYOUT_QUANTIZED;
  result->tensors = g_ptr_array_new_with_free_func (export_tensor_free);
  result->warnings = g_ptr_array_new_with_free_func (g_free);

  ex.input = input;
  ex.schemes = schemes;
  ex.options = options;
  ex.cancellable = cancellable;
  ex.progress = progress;
  ex.progress_data = progress_data;
  ex.result = result;
  ex.written = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_queue_init (&ex.groups);
  if (options->tensors != NULL)
    {
      g_autofree char *glob = options->tensors[0] == '/' ? g_strdup (options->tensors)
                                                          : g_strconcat ("/", options->tensors, NULL);
      ex.tensors_glob = g_pattern_spec_new (glob);
    }

  tensors = qs_weight_file_get_tensors (input);
  ex.state.tensors_total = tensors->len;
  for (guint i = 0; i < tensors->len; i++)
    {
      const QsTensorInfo *info = g_ptr_array_index (tensors, i);
      if (info->quantizable && info->count != G_MAXUINT64)
        ex.state.bytes_total += info->count * sizeof (float);
    }

  in_memory = output_fits_in_memory (file_size (result->input) + ex.state.bytes_total,
                                     options->memory_budget);
  target = qs_output_file_begin (output, options->force, in_memory, error);
  if (target == NULL)
    {
      g_hash_table_unref (ex.written);
      g_clear_pointer (&ex.tensors_glob, g_pattern_spec_free);
      return NULL;
    }
  /* The core driver never touches a file by this name (no backing store). */
  image_name = g_strdup_printf ("%s (in memory)", output);

  _qs_hdf5_lock ();
  ex.in = _qs_weight_file_get_hid (input);
  fapl = output_fapl (in_memory ? &image : NULL);
  /* Never H5P_DEFAULT when the list could not be made: the output would
   * then go to a file named as the image. */
  ex.out = fapl >= 0 ? H5Fcreate (in_memory ? image_name : qs_output_file_get_path (target), H5F_ACC_TRUNC,
                                  H5P_DEFAULT, fapl)
                     : H5I_INVALID_HID;
  if (ex.out < 0)
    ok = fail_hdf5 (error, "Cannot create the output file next to “%s”", output);
  if (fapl >= 0)
    H5Pclose (fapl);
  if (ok)
    ok = create_group (&ex, "/", error);
  _qs_hdf5_unlock ();

  if (ok)
    {
      g_autofree char *root_identity = NULL;
      H5O_type_t type;

      _qs_hdf5_lock ();
      root_identity = object_identity (ex.in, "/", &type);
      _qs_hdf5_unlock ();
      if (root_identity != NULL)
        g_hash_table_insert (ex.written, g_steal_pointer (&root_identity), g_strdup ("/"));
      g_queue_push_tail (&ex.groups, g_strdup ("/"));
    }

  while (ok && !g_queue_is_empty (&ex.groups))
    {
      g_autofree char *group = g_queue_pop_head (&ex.groups);

      ok = export_group_members (&ex, group, error);
    }

  if (ok)
    ok = write_root_attributes (&ex, error);

  if (ex.out >= 0)
    {
      herr_t status;

      _qs_hdf5_lock ();
      status = H5Fclose (ex.out);
      if (status < 0 && ok)
        ok = fail_hdf5 (error, "Cannot finish writing “%s”", output);
      _qs_hdf5_unlock ();
    }
  if (ok && g_cancellable_set_error_if_cancelled (cancellable, error))
    ok = FALSE;
  if (ok && in_memory)
    ok = write_image (&image, target, output, error);
  g_free (image.data);
  if (ok)
    ok = qs_output_file_commit (g_steal_pointer (&target), error);

  g_queue_clear_full (&ex.groups, g_free);
  g_hash_table_unref (ex.written);
  g_clear_pointer (&ex.tensors_glob, g_pattern_spec_free);
  if (!ok)
    return NULL;

  result->input_bytes = file_size (result->input);
  result->output_bytes = file_size (output);
  ex.state.bytes_done = ex.state.bytes_total;
  report_progress (&ex, NULL);
  return g_steal_pointer (&result);
}

/* ---- async -------------------------------------------------------------- */

typedef struct {
  QsWeightFile         *input;
  char                 *output;
  QsSchemeSet          *schemes;
  QsExportOptions       options;
  char                 *tensors;
  QsExportProgressFunc  progress;
  gpointer              progress_data;
  GDestroyNotify        progress_destroy;
  GMainContext         *context;
  /* The latest progress, handed to the caller's context. */
  GMutex                lock;
  QsExportProgress      latest;
  char                 *latest_path;
  gboolean              pending;
} AsyncExport;

static void
async_export_free (gpointer data)
{
  AsyncExport *job = data;

  g_clear_object (&job->input);
  g_clear_pointer (&job->schemes, qs_scheme_set_unref);
  g_free (job->output);
  g_free (job->tensors);
  g_free (job->latest_path);
  if (job->progress_destroy != NULL)
    job->progress_destroy (job->progress_data);
  g_main_context_unref (job->context);
  g_mutex_clear (&job->lock);
  g_free (job);
}

static gboolean
deliver_progress_cb (gpointer data)
{
  GTask *task = data;
  AsyncExport *job = g_task_get_task_data (task);
  QsExportProgress copy;
  g_autofree char *path = NULL;

  g_mutex_lock (&job->lock);
  copy = job->latest;
  path = g_strdup (job->latest_path);
  job->pending = FALSE;
  g_mutex_unlock (&job->lock);

  copy.path = path;
  job->progress (&copy, job->progress_data);
  return G_SOURCE_REMOVE;
}

static void
async_progress_cb (const QsExportProgress *progress,
                   gpointer                user_data)
{
  GTask *task = user_data;
  AsyncExport *job = g_task_get_task_data (task);
  gboolean schedule;

  g_mutex_lock (&job->lock);
  job->latest = *progress;
  g_free (job->latest_path);
  job->latest_path = g_strdup (progress->path);
  schedule = !job->pending;
  job->pending = TRUE;
  g_mutex_unlock (&job->lock);

  /* Coalesced: one callback in flight at a time, with the latest value. */
  if (schedule)
    qs_main_context_post (job->context, G_PRIORITY_DEFAULT_IDLE, deliver_progress_cb,
                          g_object_ref (task), g_object_unref);
}

static void
export_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  AsyncExport *job = task_data;
  GError *error = NULL;
  QsExportResult *result;

  result = qs_export (job->input, job->output, job->schemes, &job->options,
                      job->progress != NULL ? async_progress_cb : NULL, task,
                      cancellable, &error);
  if (result == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, result, (GDestroyNotify) qs_export_result_free);
}

void
qs_export_async (QsWeightFile          *input,
                 const char            *output,
                 QsSchemeSet           *schemes,
                 const QsExportOptions *options,
                 QsExportProgressFunc   progress,
                 gpointer               progress_data,
                 GDestroyNotify         progress_destroy,
                 GCancellable          *cancellable,
                 GAsyncReadyCallback    callback,
                 gpointer               user_data)
{
  g_autoptr(GTask) task = NULL;
  AsyncExport *job;

  g_return_if_fail (QS_IS_WEIGHT_FILE (input));
  g_return_if_fail (output != NULL);
  g_return_if_fail (schemes != NULL);

  job = g_new0 (AsyncExport, 1);
  job->input = g_object_ref (input);
  job->output = g_strdup (output);
  job->schemes = qs_scheme_set_ref (schemes);
  if (options != NULL)
    job->options = *options;
  else
    qs_export_options_init (&job->options);
  job->tensors = g_strdup (job->options.tensors);
  job->options.tensors = job->tensors;
  job->progress = progress;
  job->progress_data = progress_data;
  job->progress_destroy = progress_destroy;
  job->context = g_main_context_ref_thread_default ();
  g_mutex_init (&job->lock);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, qs_export_async);
  /* The result says what happened: a cancellation that comes after the
   * file was renamed into place does not unmake it. */
  g_task_set_check_cancellable (task, FALSE);
  g_task_set_task_data (task, job, async_export_free);
  g_task_run_in_thread (task, export_thread);
}

QsExportResult *
qs_export_finish (GAsyncResult  *result,
                  GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
