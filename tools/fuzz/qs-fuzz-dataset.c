/* qs-fuzz-dataset.c: the libFuzzer target of the image-set readers; every input is an idx file (plain or gzip) or an HDF5 image set.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The readers take paths, and HDF5 needs a real one (it refuses the
 * /proc/self/fd/N of a memfd: "can't retrieve real path"), so each input
 * is written to one file per process in $TMPDIR (tmpfs at best) and read: with
 * qs_dataset_load(), what `eval --data` and `--calib-data` run (HDF5 or
 * idx by magic), and for idx input also as both the images and the
 * labels of qs_dataset_load_idx(). tests/fuzz/test-fuzz-targets.c runs the
 * committed findings through this same function.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <stdlib.h>

#include "model/qs-dataset.h"

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
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  input_path = g_strdup_printf ("%s/qs-fuzz-dataset-%d.bin", g_get_tmp_dir (), (int) getpid ());
  atexit (remove_input);
  return 0;
}

static void
check_load (QsDataset *dataset,
            GError    *error)
{
  if (dataset == NULL)
    g_assert (error != NULL && error->message[0] != '\0');
  else
    {
      (void) qs_dataset_get_view (dataset);
      qs_dataset_unref (dataset);
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  static const uint8_t hdf5_magic[8] = { 0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n' };
  const char *path = input_path;

  if (path == NULL)
    LLVMFuzzerInitialize (NULL, NULL);
  path = input_path;
  g_assert_true (g_file_set_contents (path, (const char *) data, (gssize) size, NULL));

  {
    g_autoptr(GError) error = NULL;
    QsDataset *dataset = qs_dataset_load (path, &error);

    check_load (dataset, error);
  }
  if (size < sizeof hdf5_magic || memcmp (data, hdf5_magic, sizeof hdf5_magic) != 0)
    {
      g_autoptr(GError) error = NULL;
      QsDataset *dataset = qs_dataset_load_idx (path, path, 1.0 / 255.0, 0.0, &error);

      check_load (dataset, error);
    }
  return 0;
}
