/* qs-fuzz-keras.c: the libFuzzer target of the Keras 3 archive reader; every input is a whole .keras file.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Built with -Dfuzzing=true (clang, see tests/fuzz/README.md); the
 * committed findings in tests/fuzz/inputs-keras/ run through this same
 * file in test-fuzz-keras. The input goes to a file (the zip reader reads
 * by offset from a descriptor), then opens as a weight file: the zip
 * directory, the entries' inflation, config.json's walk and the
 * in-memory HDF5 image, and every small tensor is read once.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "model/qs-weight-file.h"

/* Tensors past this are listed, not read: the reader's bounds are tested
 * by opening, and reading gigabytes would only slow the fuzzer. */
#define MAX_READ_ELEMENTS (G_GUINT64_CONSTANT (1) << 20)

int LLVMFuzzerInitialize    (int            *argc,
                             char         ***argv);
int LLVMFuzzerTestOneInput  (const uint8_t  *data,
                             size_t          size);

static char *input_path;

static void
remove_input (void)
{
  g_unlink (input_path);
}

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  /* The reader answers bad input with a GError: a warning or a critical
   * means our code was handed, or did, something it should not. */
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  input_path = g_strdup_printf ("%s/qs-fuzz-keras-%d.keras", g_get_tmp_dir (), (int) getpid ());
  atexit (remove_input);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QsWeightFile) file = NULL;
  GPtrArray *tensors;

  if (input_path == NULL)
    LLVMFuzzerInitialize (NULL, NULL);
  g_assert_true (g_file_set_contents (input_path, (const char *) data, (gssize) size, NULL));

  file = qs_weight_file_open (input_path, &error);
  if (file == NULL)
    {
      g_assert (error != NULL && error->message[0] != '\0');
      return 0;
    }
  tensors = qs_weight_file_get_tensors (file);
  for (guint i = 0; i < tensors->len; i++)
    {
      const QsTensorInfo *info = g_ptr_array_index (tensors, i);
      g_autoptr(GError) read_error = NULL;
      g_autofree float *values = NULL;

      g_assert (qs_weight_file_lookup (file, info->path) == info);
      if (!info->quantizable || info->count > MAX_READ_ELEMENTS)
        continue;
      values = qs_weight_file_read_tensor (file, info, &read_error);
      g_assert (values != NULL || read_error != NULL);
    }
  return 0;
}
