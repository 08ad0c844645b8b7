/* bench-large-files.c: makes the large-file benchmark's inputs and measures plain HDF5 read throughput.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 *   bench-large-files big FILE GIB    one float32 tensor /w of GIB GiB, contiguous
 *   bench-large-files many FILE N     N small datasets in an LLM-like tree
 *   bench-large-files read FILE       reads /w in 64 MiB hyperslabs, prints GB/s
 *
 * Driven by bench-large-files.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hdf5.h>

#define BLOCK_FLOATS ((hsize_t) 16 << 20)   /* 64 MiB */

static double
now (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int
make_big (const char *path,
          double      gib)
{
  hsize_t cols = 16384;
  hsize_t rows = (hsize_t) (gib * (1 << 30) / 4 / cols);
  hsize_t dims[2] = { rows, cols };
  hsize_t block_rows = BLOCK_FLOATS / cols;
  float *values = malloc (BLOCK_FLOATS * sizeof (float));
  hid_t file = H5Fcreate (path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  hid_t space = H5Screate_simple (2, dims, NULL);
  hid_t dset = H5Dcreate2 (file, "/w", H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  unsigned int state = 12345;

  if (values == NULL || dset < 0)
    return 1;
  for (hsize_t r = 0; r < rows; r += block_rows)
    {
      hsize_t n = rows - r < block_rows ? rows - r : block_rows;
      hsize_t start[2] = { r, 0 }, count[2] = { n, cols };
      hsize_t mdims[1] = { n * cols };
      hid_t mspace = H5Screate_simple (1, mdims, NULL);

      /* Weights-like values: a sum of uniforms, cheap to make. */
      for (hsize_t i = 0; i < n * cols; i++)
        {
          state = state * 1664525u + 1013904223u;
          values[i] = ((float) (state >> 8) / 16777216.0f - 0.5f) * 0.1f
                      + ((float) ((state >> 4) & 0xff) / 256.0f - 0.5f) * 0.02f;
        }
      H5Sselect_hyperslab (space, H5S_SELECT_SET, start, NULL, count, NULL);
      if (H5Dwrite (dset, H5T_NATIVE_FLOAT, mspace, space, H5P_DEFAULT, values) < 0)
        return 1;
      H5Sclose (mspace);
    }
  H5Dclose (dset);
  H5Sclose (space);
  free (values);
  return H5Fclose (file) < 0;
}

static int
make_many (const char *path,
           int         n)
{
  static const char *parts[] = {
    "attn/q_proj/weight", "attn/k_proj/weight", "attn/v_proj/weight", "attn/o_proj/weight",
    "mlp/gate/weight", "mlp/up/weight", "mlp/down/weight",
    "input_norm/weight", "post_norm/weight", "attn/q_proj/bias",
  };
  hid_t file = H5Fcreate (path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  hid_t lcpl = H5Pcreate (H5P_LINK_CREATE);
  hsize_t dims[2] = { 8, 8 };
  float values[64];

  H5Pset_create_intermediate_group (lcpl, 1);
  for (int i = 0; i < 64; i++)
    values[i] = (float) i / 64.0f - 0.5f;
  for (int i = 0; i < n; i++)
    {
      char name[256];
      int rank = strstr (parts[i % 10], "norm") != NULL || strstr (parts[i % 10], "bias") != NULL ? 1 : 2;
      hid_t space = H5Screate_simple (rank, dims, NULL);
      hid_t dset;

      snprintf (name, sizeof name, "/model/layers/%d/%s", i / 10, parts[i % 10]);
      dset = H5Dcreate2 (file, name, H5T_IEEE_F32LE, space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
      if (dset < 0)
        return 1;
      H5Dwrite (dset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values);
      H5Dclose (dset);
      H5Sclose (space);
    }
  H5Pclose (lcpl);
  return H5Fclose (file) < 0;
}

static int
read_all (const char *path)
{
  hid_t file = H5Fopen (path, H5F_ACC_RDONLY, H5P_DEFAULT);
  hid_t dset = H5Dopen2 (file, "/w", H5P_DEFAULT);
  hid_t space = H5Dget_space (dset);
  hsize_t dims[2];
  float *values = malloc (BLOCK_FLOATS * sizeof (float));
  double start, seconds, checksum = 0.0;
  hsize_t block_rows;

  if (dset < 0 || values == NULL)
    return 1;
  H5Sget_simple_extent_dims (space, dims, NULL);
  block_rows = BLOCK_FLOATS / dims[1];
  start = now ();
  for (hsize_t r = 0; r < dims[0]; r += block_rows)
    {
      hsize_t n = dims[0] - r < block_rows ? dims[0] - r : block_rows;
      hsize_t off[2] = { r, 0 }, count[2] = { n, dims[1] }, mdims[1] = { n * dims[1] };
      hid_t mspace = H5Screate_simple (1, mdims, NULL);

      H5Sselect_hyperslab (space, H5S_SELECT_SET, off, NULL, count, NULL);
      if (H5Dread (dset, H5T_NATIVE_FLOAT, mspace, space, H5P_DEFAULT, values) < 0)
        return 1;
      checksum += values[0];
      H5Sclose (mspace);
    }
  seconds = now () - start;
  printf ("%.3f\n", (double) dims[0] * dims[1] * 4 / seconds / 1e9);
  fprintf (stderr, "(checksum %g)\n", checksum);
  free (values);
  H5Sclose (space);
  H5Dclose (dset);
  H5Fclose (file);
  return 0;
}

int
main (int   argc,
      char *argv[])
{
  if (argc == 4 && strcmp (argv[1], "big") == 0)
    return make_big (argv[2], atof (argv[3]));
  if (argc == 4 && strcmp (argv[1], "many") == 0)
    return make_many (argv[2], atoi (argv[3]));
  if (argc == 3 && strcmp (argv[1], "read") == 0)
    return read_all (argv[2]);
  fprintf (stderr, "usage: bench-large-files big FILE GIB | many FILE N | read FILE\n");
  return 2;
}
