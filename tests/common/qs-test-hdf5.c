/* qs-test-hdf5.c: HDF5 fixtures the test programs write at test time.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "qs-test-hdf5.h"

#include <stdio.h>
#include <string.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

hid_t
qs_test_lcpl_intermediate (void)
{
  hid_t lcpl = H5Pcreate (H5P_LINK_CREATE);

  g_assert_cmpint (lcpl, >=, 0);
  g_assert_cmpint (H5Pset_create_intermediate_group (lcpl, 1), >=, 0);
  return lcpl;
}

void
qs_test_make_group (hid_t       file,
                    const char *path)
{
  hid_t lcpl = qs_test_lcpl_intermediate ();
  hid_t group = H5Gcreate2 (file, path, lcpl, H5P_DEFAULT, H5P_DEFAULT);

  g_assert_cmpint (group, >=, 0);
  H5Gclose (group);
  H5Pclose (lcpl);
}

void
qs_test_write_dataset (hid_t          file,
                       const char    *path,
                       hid_t          file_type,
                       hid_t          mem_type,
                       int            rank,
                       const hsize_t *dims,
                       const void    *data)
{
  hid_t lcpl = qs_test_lcpl_intermediate ();
  hid_t space = rank == 0 ? H5Screate (H5S_SCALAR) : H5Screate_simple (rank, dims, NULL);
  hid_t dset;

  g_assert_cmpint (space, >=, 0);
  dset = H5Dcreate2 (file, path, file_type, space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
  g_assert_cmpint (dset, >=, 0);
  /* A zero-length dataset has nothing to write. */
  if (data != NULL)
    g_assert_cmpint (H5Dwrite (dset, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), >=, 0);
  g_assert_cmpint (H5Dclose (dset), >=, 0);
  g_assert_cmpint (H5Sclose (space), >=, 0);
  H5Pclose (lcpl);
}

/* A new chunked dataset (deflated when @deflate), nothing written. */
static hid_t
create_chunked (hid_t          file,
                const char    *path,
                hid_t          file_type,
                int            rank,
                const hsize_t *dims,
                const hsize_t *chunk,
                gboolean       deflate)
{
  hid_t lcpl = qs_test_lcpl_intermediate ();
  hid_t dcpl = H5Pcreate (H5P_DATASET_CREATE);
  hid_t space = H5Screate_simple (rank, dims, NULL);
  hid_t dset;

  g_assert_cmpint (H5Pset_chunk (dcpl, rank, chunk), >=, 0);
  if (deflate)
    g_assert_cmpint (H5Pset_deflate (dcpl, 9), >=, 0);
  dset = H5Dcreate2 (file, path, file_type, space, lcpl, dcpl, H5P_DEFAULT);
  g_assert_cmpint (dset, >=, 0);
  H5Sclose (space);
  H5Pclose (dcpl);
  H5Pclose (lcpl);
  return dset;
}

void
qs_test_write_unwritten (hid_t          file,
                         const char    *path,
                         hid_t          file_type,
                         int            rank,
                         const hsize_t *dims,
                         const hsize_t *chunk)
{
  g_assert_cmpint (H5Dclose (create_chunked (file, path, file_type, rank, dims, chunk, FALSE)), >=, 0);
}

void
qs_test_write_deflate_bomb (hid_t          file,
                            const char    *path,
                            int            rank,
                            const hsize_t *dims,
                            const hsize_t *chunk)
{
  g_autoptr(GZlibCompressor) zlib = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_ZLIB, 9);
  g_autoptr(GError) error = NULL;
  hsize_t chunk_bytes = sizeof (float), cells = 1, offset[H5S_MAX_RANK] = { 0 };
  g_autofree guint8 *zeros = NULL;
  g_autofree guint8 *packed = NULL;
  gsize read = 0, written = 0;
  hid_t dset;

  for (int d = 0; d < rank; d++)
    {
      g_assert_cmpuint (dims[d] % chunk[d], ==, 0);
      chunk_bytes *= chunk[d];
      cells *= dims[d] / chunk[d];
    }
  zeros = g_malloc0 (chunk_bytes);
  packed = g_malloc (chunk_bytes / 2 + 1024);
  g_assert_cmpint (g_converter_convert (G_CONVERTER (zlib), zeros, chunk_bytes, packed, chunk_bytes / 2 + 1024,
                                        G_CONVERTER_INPUT_AT_END, &read, &written, &error),
                   ==, G_CONVERTER_FINISHED);
  g_assert_no_error (error);
  g_assert_cmpuint (read, ==, chunk_bytes);

  dset = create_chunked (file, path, H5T_IEEE_F32LE, rank, dims, chunk, TRUE);
  for (hsize_t cell = 0; cell < cells; cell++)
    {
      hsize_t rest = cell;

      for (int d = rank - 1; d >= 0; d--)
        {
          offset[d] = rest % (dims[d] / chunk[d]) * chunk[d];
          rest /= dims[d] / chunk[d];
        }
      g_assert_cmpint (H5Dwrite_chunk (dset, H5P_DEFAULT, 0, offset, written, packed), >=, 0);
    }
  g_assert_cmpint (H5Dclose (dset), >=, 0);
}

void
qs_test_write_floats (hid_t          file,
                      const char    *path,
                      int            rank,
                      const hsize_t *dims,
                      const float   *values)
{
  qs_test_write_dataset (file, path, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, rank, dims, values);
}

void
qs_test_write_string_attr (hid_t              file,
                           const char        *obj_path,
                           const char        *name,
                           const char *const *strings,
                           int                n,
                           gboolean           variable)
{
  int count = n < 0 ? 1 : n;
  hsize_t dims[1] = { count };
  hid_t space = n < 0 ? H5Screate (H5S_SCALAR) : H5Screate_simple (1, dims, NULL);
  hid_t type = H5Tcopy (H5T_C_S1);
  g_autofree char *buffer = NULL;
  const void *data = strings;
  hid_t attr;

  if (variable)
    {
      H5Tset_size (type, H5T_VARIABLE);
      H5Tset_cset (type, H5T_CSET_UTF8);
    }
  else
    {
      size_t width = 1;

      for (int i = 0; i < count; i++)
        width = MAX (width, strlen (strings[i]));
      buffer = g_malloc0 (width * count);
      for (int i = 0; i < count; i++)
        memcpy (buffer + i * width, strings[i], strlen (strings[i]));
      H5Tset_size (type, width);
      H5Tset_strpad (type, H5T_STR_NULLPAD);
      data = buffer;
    }
  attr = H5Acreate_by_name (file, obj_path, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  g_assert_cmpint (attr, >=, 0);
  g_assert_cmpint (H5Awrite (attr, type, data), >=, 0);
  H5Aclose (attr);
  H5Tclose (type);
  H5Sclose (space);
}

/* 4,096 values in chunks of @chunk; the address and size of the chunk
 * that starts at value @at. */
static void
write_chunked (hid_t        file,
               const char  *name,
               const float *values,
               hsize_t      chunk,
               hsize_t      at,
               haddr_t     *address,
               hsize_t     *size)
{
  hsize_t dims[1] = { 4096 }, chunks[1] = { chunk }, offset[1] = { at };
  hid_t dcpl = H5Pcreate (H5P_DATASET_CREATE);
  hid_t space = H5Screate_simple (1, dims, NULL);
  hid_t dset;

  g_assert_cmpint (H5Pset_chunk (dcpl, 1, chunks), >=, 0);
  g_assert_cmpint (H5Pset_deflate (dcpl, 6), >=, 0);
  dset = H5Dcreate2 (file, name, H5T_IEEE_F32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  g_assert_cmpint (dset, >=, 0);
  g_assert_cmpint (H5Dwrite (dset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values), >=, 0);
  g_assert_cmpint (H5Dget_chunk_info_by_coord (dset, offset, NULL, address, size), >=, 0);
  H5Dclose (dset);
  H5Sclose (space);
  H5Pclose (dcpl);
}

void
qs_test_write_damaged_chunk_file (const char *path)
{
  g_autofree float *values = g_new (float, 4096);
  hid_t file = H5Fcreate (path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  char garbage[64];
  haddr_t address;
  hsize_t size;
  FILE *stream;

  g_assert_cmpint (file, >=, 0);
  for (int i = 0; i < 4096; i++)
    values[i] = (float) i;
  write_chunked (file, "/fine", values, 4096, 0, &address, &size);
  write_chunked (file, "/packed", values, 1024, 2048, &address, &size);
  g_assert_cmpint (H5Fclose (file), >=, 0);

  /* Overwrite the start of that chunk's deflate stream: it no longer inflates. */
  memset (garbage, 0xA5, sizeof garbage);
  stream = fopen (path, "r+b");
  g_assert_nonnull (stream);
  g_assert_cmpint (fseek (stream, (long) address, SEEK_SET), ==, 0);
  g_assert_cmpuint (fwrite (garbage, 1, MIN (sizeof garbage, size), stream), ==, MIN (sizeof garbage, size));
  g_assert_cmpint (fclose (stream), ==, 0);
}

static guint64
read_le64 (const guint8 *p)
{
  guint64 value = 0;

  for (int b = 7; b >= 0; b--)
    value = value << 8 | p[b];
  return value;
}

GBytes *
qs_test_write_heap_loop_file (const char *path)
{
  const char *config[] = { "{\"class_name\": \"Sequential\", \"config\": {\"layers\": []}}" };
  const float w[] = { 1.0f, 2.0f, 3.0f, 4.0f };
  hsize_t d4[1] = { 4 };
  hid_t file = H5Fcreate (path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  g_autofree guint8 *bytes = NULL;
  g_autoptr(GError) error = NULL;
  guint64 collection_size, first, offset;
  guint8 *gcol = NULL;
  gsize length = 0;

  g_assert_cmpint (file, >=, 0);
  qs_test_write_string_attr (file, "/", "model_config", config, -1, TRUE);
  qs_test_write_floats (file, "/w", 1, d4, w);
  g_assert_cmpint (H5Fclose (file), >=, 0);

  g_file_get_contents (path, (char **) &bytes, &length, &error);
  g_assert_no_error (error);
  for (gsize i = 0; i + 16 <= length && gcol == NULL; i++)
    if (memcmp (bytes + i, "GCOL", 4) == 0)
      gcol = bytes + i;
  g_assert_nonnull (gcol);
  /* "GCOL", version, 3 reserved, the size (8 bytes: the default
   * sizeof_size); then objects of index (2), references (2), 4
   * reserved, size (8), data padded to 8 bytes. */
  collection_size = read_le64 (gcol + 8);
  g_assert_cmpuint ((gsize) (gcol - bytes) + collection_size, <=, length);
  first = offset = 16;
  g_assert_cmpuint (gcol[offset] | gcol[offset + 1] << 8, ==, 1);
  offset += 16 + ((read_le64 (gcol + offset + 8) + 7) & ~G_GUINT64_CONSTANT (7));
  g_assert_cmpuint (offset + 16, <=, collection_size);
  g_assert_cmpuint (gcol[offset] | gcol[offset + 1] << 8, ==, 0);
  for (int b = 0; b < 8; b++)
    gcol[offset + 8 + b] = (guint8) ((0 - (offset - first)) >> (8 * b));

  g_file_set_contents (path, (const char *) bytes, (gssize) length, &error);
  g_assert_no_error (error);
  return g_bytes_new (bytes, length);
}

void
qs_test_write_chunked (hid_t          file,
                       const char    *path,
                       hid_t          file_type,
                       hid_t          mem_type,
                       int            rank,
                       const hsize_t *dims,
                       const hsize_t *chunk,
                       guint          filters,
                       const void    *data)
{
  hid_t lcpl = qs_test_lcpl_intermediate ();
  hid_t dcpl = H5Pcreate (H5P_DATASET_CREATE);
  hid_t space = H5Screate_simple (rank, dims, NULL);
  hid_t dset;

  g_assert_cmpint (H5Pset_chunk (dcpl, rank, chunk), >=, 0);
  if (filters & QS_TEST_SHUFFLE)
    g_assert_cmpint (H5Pset_shuffle (dcpl), >=, 0);
  if (filters & QS_TEST_DEFLATE)
    g_assert_cmpint (H5Pset_deflate (dcpl, 4), >=, 0);
  if (filters & QS_TEST_FLETCHER32)
    g_assert_cmpint (H5Pset_fletcher32 (dcpl), >=, 0);
  dset = H5Dcreate2 (file, path, file_type, space, lcpl, dcpl, H5P_DEFAULT);
  g_assert_cmpint (dset, >=, 0);
  g_assert_cmpint (H5Dwrite (dset, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), >=, 0);
  H5Dclose (dset);
  H5Sclose (space);
  H5Pclose (dcpl);
  H5Pclose (lcpl);
}

void
qs_test_replace_chunk (hid_t          file,
                       const char    *path,
                       const hsize_t *offset,
                       guint32        filter_mask,
                       const void    *data,
                       gsize          size)
{
  hid_t dset = H5Dopen2 (file, path, H5P_DEFAULT);

  g_assert_cmpint (dset, >=, 0);
  g_assert_cmpint (H5Dwrite_chunk (dset, H5P_DEFAULT, filter_mask, offset, size, data), >=, 0);
  H5Dclose (dset);
}

GBytes *
qs_test_zlib (const void *data,
              gsize       size)
{
  g_autoptr(GZlibCompressor) zlib = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_ZLIB, 6);
  g_autoptr(GError) error = NULL;
  gsize room = size + size / 100 + 64, read = 0, written = 0;
  guint8 *packed = g_malloc (room);

  g_assert_cmpint (g_converter_convert (G_CONVERTER (zlib), data, size, packed, room, G_CONVERTER_INPUT_AT_END,
                                        &read, &written, &error),
                   ==, G_CONVERTER_FINISHED);
  g_assert_no_error (error);
  g_assert_cmpuint (read, ==, size);
  return g_bytes_new_take (packed, written);
}

void
qs_test_remove_tree (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    {
      g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
      const char *name;

      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);
          qs_test_remove_tree (child);
        }
    }
  g_remove (path);
}
