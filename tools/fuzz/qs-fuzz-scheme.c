/* qs-fuzz-scheme.c: the libFuzzer target of the scheme-file reader; every input is a scheme file's bytes.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Each input goes through qs_scheme_file_load_from_data() (the bounded
 * JSON parse, the positions kept for line numbers, the key and value
 * checks), then, when it loads, is resolved for a few tensor names and
 * written back out, as the CLI's export and the app do.
 * tests/fuzz/test-fuzz-targets.c runs the committed findings through this
 * same function.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <glib.h>

#include "model/qs-scheme-file.h"

int LLVMFuzzerInitialize    (int            *argc,
                             char         ***argv);
int LLVMFuzzerTestOneInput  (const uint8_t  *data,
                             size_t          size);

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  /* A kernel, a bias, a rank-5 tensor and an empty name: the shapes the
   * axis and pattern checks branch on. */
  static const QsTensorInfo tensors[] = {
    { "/model_weights/conv2d/conv2d/kernel:0", "conv2d", QS_TENSOR_ROLE_KERNEL, 4, { 3, 3, 1, 32 }, 288, "float32", FALSE, TRUE, 3 },
    { "/model_weights/dense/dense/bias:0", "dense", QS_TENSOR_ROLE_BIAS, 1, { 10 }, 10, "float32", FALSE, TRUE, 0 },
    { "layers/x/vars/0", "x", QS_TENSOR_ROLE_OTHER, 5, { 1, 2, 1, 2, 1 }, 4, "float16", TRUE, TRUE, -1 },
    { "", "", QS_TENSOR_ROLE_OTHER, 0, { 0 }, 1, "float64", FALSE, TRUE, -1 },
  };
  g_autoptr(QsSchemeFile) scheme_file = NULL;
  g_autoptr(GError) error = NULL;

  scheme_file = qs_scheme_file_load_from_data ((const char *) data, (gssize) size, "fuzz.json", &error);
  if (scheme_file == NULL)
    {
      g_assert (error != NULL && error->message[0] != '\0');
      return 0;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (tensors); i++)
    {
      QsScheme scheme;

      (void) qs_scheme_file_resolve (scheme_file, &tensors[i], &scheme);
    }
  g_free (qs_scheme_file_to_data (scheme_file, NULL));
  return 0;
}
