/* qs-fuzz-reader.c: the libFuzzer target of the HDF5 weight reader; every input is a whole HDF5 file image.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Built with -Dfuzzing=true (clang, see tests/fuzz/README.md). The
 * regression test tests/fuzz/test-fuzz-regressions.c links this same file
 * and calls LLVMFuzzerTestOneInput() on the committed inputs of bugs fixed
 * in our code, so what the fuzzer ran is what the test runs.
 */
#include <stddef.h>
#include <stdint.h>

#include <glib.h>

#include "engine/qs-engine.h"
#include "model/qs-keras-model.h"
#include "model/qs-tensor-report.h"
#include "model/qs-tensor-stream.h"
#include "model/qs-weight-file.h"
#include "quant/qs-scheme.h"

/* Per-input work stays bounded whatever the header claims: a tensor
 * larger than this is listed but not read, and an input stops reading once
 * its tensors added up to the total. The element counts themselves come
 * from the file; refusing the absurd ones is the reader's job, so they are
 * passed on unchecked. */
#define MAX_READ_ELEMENTS  (G_GUINT64_CONSTANT (2) << 20)   /* 8 MiB of float32 */
#define MAX_TOTAL_ELEMENTS (G_GUINT64_CONSTANT (8) << 20)
#define BLOCK_ELEMENTS     1024

int LLVMFuzzerInitialize    (int            *argc,
                             char         ***argv);
int LLVMFuzzerTestOneInput  (const uint8_t  *data,
                             size_t          size);

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  /* Nothing in the reader warns on bad input (it returns a GError), so a
   * warning or a failed g_return_if_fail() means our code was handed, or
   * passed on, something it should not have: make it a crash libFuzzer
   * records. */
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  return 0;
}

/* Everything a reader of weights does with one tensor, in the order the
 * app and the CLI do it. Returns the elements read. */
static guint64
exercise_tensor (QsWeightFile       *file,
                 const QsTensorInfo *info,
                 const QsScheme     *scheme)
{
  g_autofree float *values = NULL;
  g_autoptr(GError) error = NULL;
  JsonNode *node;

  node = qs_tensor_info_to_json (info);
  json_node_unref (node);
  (void) qs_weight_file_lookup (file, info->path);
  (void) qs_weight_file_get_chunk_bytes (file, info);

  if (!info->quantizable || info->count == 0 || info->count > MAX_READ_ELEMENTS)
    return 0;

  /* The tail through a hyperslab: the streaming reader's entry point. */
  {
    gsize n = (gsize) MIN (info->count, BLOCK_ELEMENTS);
    float block[BLOCK_ELEMENTS];
    g_autoptr(GError) block_error = NULL;

    (void) qs_weight_file_read_block (file, info, info->count - n, n, block, &block_error);
  }

  values = qs_weight_file_read_tensor (file, info, &error);
  if (values != NULL)
    {
      g_autoptr(GError) report_error = NULL;
      QsTensorReport *report = qs_tensor_report_compute_values (info, values, scheme, 1, &report_error);

      if (report != NULL)
        {
          node = qs_tensor_report_to_json (report);
          json_node_unref (node);
          qs_tensor_report_free (report);
        }
    }

  /* The streamed path (qs-tensor-stream.c), under the smallest budget the
   * CLI accepts, for tensors that do not fit in it. */
  if (!qs_tensor_fits_budget (info, QS_MEMORY_BUDGET_MIN))
    {
      g_autoptr(GError) stream_error = NULL;
      gboolean streamed = FALSE;
      QsTensorReport *report =
        qs_tensor_report_compute_blocks (file, info, scheme, 1, QS_MEMORY_BUDGET_MIN,
                                         NULL, NULL, &streamed, NULL, &stream_error);

      if (report != NULL)
        qs_tensor_report_free (report);
    }

  return info->count;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GBytes) image = g_bytes_new_static (data, size);
  g_autoptr(QsWeightFile) file = NULL;
  g_autoptr(GError) error = NULL;
  GPtrArray *tensors;
  QsScheme scheme;
  guint64 total = 0;

  /* Never QS_WEIGHT_FILE_FOLLOW_EXTERNAL_LINKS: an image has no folder,
   * and an input must not make the fuzzer open whatever file it names. */
  file = qs_weight_file_open_image (image, "fuzz-input.h5", QS_WEIGHT_FILE_DEFAULT, &error);
  if (file == NULL)
    return 0;

  qs_scheme_init_default (&scheme);
  (void) qs_weight_file_get_filename (file);
  (void) qs_weight_file_get_layout (file);
  (void) qs_weight_file_get_model_config (file);
  (void) qs_weight_file_get_warnings (file);

  tensors = qs_weight_file_get_tensors (file);
  for (guint i = 0; i < tensors->len && total < MAX_TOTAL_ELEMENTS; i++)
    total += exercise_tensor (file, g_ptr_array_index (tensors, i), &scheme);

  /* What the app's scan adds to the listing: one decode of every chunk. */
  {
    g_autoptr(GError) check_error = NULL;

    (void) qs_weight_file_check_data (file, MAX_READ_ELEMENTS * sizeof (float), &check_error);
  }

  {
    g_autoptr(GError) model_error = NULL;
    QsEngineModel *model = qs_keras_model_load (file, &model_error);

    if (model != NULL)
      qs_engine_model_free (model);
  }

  return 0;
}
