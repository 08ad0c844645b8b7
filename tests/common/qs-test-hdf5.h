/* qs-test-hdf5.h: HDF5 fixtures the test programs write at test time.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every helper asserts its HDF5 calls succeed: a fixture that could not be
 * written would make a test pass or fail for the wrong reason.
 */
#pragma once

#include <glib.h>
#include <hdf5.h>

G_BEGIN_DECLS

/* A link creation list that creates missing parent groups (close it). */
hid_t qs_test_lcpl_intermediate (void);

/* Creates the group @path, and its missing parents. */
void  qs_test_make_group        (hid_t          file,
                                 const char    *path);

/* Creates a dataset of @file_type at @path (parents created), of @rank
 * dimensions @dims, or a scalar when @rank is 0; writes @data (in
 * @mem_type) when it is not NULL. */
void  qs_test_write_dataset     (hid_t          file,
                                 const char    *path,
                                 hid_t          file_type,
                                 hid_t          mem_type,
                                 int            rank,
                                 const hsize_t *dims,
                                 const void    *data);

/* The same for little-endian float32 values. */
void  qs_test_write_floats      (hid_t          file,
                                 const char    *path,
                                 int            rank,
                                 const hsize_t *dims,
                                 const float   *values);

/* Writes @n strings as a 1-D attribute of the object at @obj_path, or
 * strings[0] as a scalar when @n < 0: variable-length UTF-8, or
 * fixed-length null-padded (as h5py writes numpy bytes). */
void  qs_test_write_string_attr (hid_t              file,
                                 const char        *obj_path,
                                 const char        *name,
                                 const char *const *strings,
                                 int                n,
                                 gboolean           variable);

/* Writes @path with two chunked, deflated float32 tensors of 4,096 values
 * 0, 1, 2, ...: "/fine" (one chunk), and "/packed" (four chunks) whose
 * third chunk no longer inflates (its deflate stream overwritten). The
 * metadata is sound: the damage shows only when /packed's values are
 * read. */
void  qs_test_write_damaged_chunk_file (const char *path);

/* Writes @path with a variable-length model_config string attribute (one
 * global heap object) and a float32 "/w" of 4 values, then sets the size
 * of the heap collection's free space (index 0, after the string) to
 * 2^64 minus the distance back to the string: libhdf5 1.10's heap walk
 * (H5HG__cache_heap_deserialize()) wraps the pointer back to the string
 * and loops forever. Returns the file's bytes. */
GBytes *qs_test_write_heap_loop_file (const char *path);

/* Creates a chunked dataset of @file_type at @path (parents created) of
 * @rank dimensions @dims in chunks of @chunk, and writes nothing: it
 * declares any size while the file stores no value of it. */
void  qs_test_write_unwritten   (hid_t          file,
                                 const char    *path,
                                 hid_t          file_type,
                                 int            rank,
                                 const hsize_t *dims,
                                 const hsize_t *chunk);

/* A deflate bomb: a chunked, deflated float32 dataset at @path of @rank
 * dimensions @dims in chunks of @chunk (which must tile @dims), every
 * chunk the same zlib stream of zeros, written directly
 * (H5Dwrite_chunk), so a gigabyte of zeros costs a megabyte of file and
 * no gigabyte of memory to write. */
void  qs_test_write_deflate_bomb (hid_t          file,
                                  const char    *path,
                                  int            rank,
                                  const hsize_t *dims,
                                  const hsize_t *chunk);

/* Filters qs_test_write_chunked() sets, in h5py's order. */
typedef enum {
  QS_TEST_SHUFFLE    = 1 << 0,
  QS_TEST_DEFLATE    = 1 << 1,
  QS_TEST_FLETCHER32 = 1 << 2,
} QsTestFilters;

/* A chunked dataset of @file_type at @path (parents created) of @rank
 * dimensions @dims in chunks of @chunk, with @filters (QsTestFilters),
 * @data (in @mem_type) written through libhdf5's own filters. */
void  qs_test_write_chunked     (hid_t          file,
                                 const char    *path,
                                 hid_t          file_type,
                                 hid_t          mem_type,
                                 int            rank,
                                 const hsize_t *dims,
                                 const hsize_t *chunk,
                                 guint          filters,
                                 const void    *data);

/* Replaces the chunk at @offset of the dataset at @path with @size raw
 * bytes stored under @filter_mask (H5Dwrite_chunk()). */
void  qs_test_replace_chunk     (hid_t          file,
                                 const char    *path,
                                 const hsize_t *offset,
                                 guint32        filter_mask,
                                 const void    *data,
                                 gsize          size);

/* @size bytes at @data as one zlib stream, as the deflate filter stores
 * them. */
GBytes *qs_test_zlib            (const void    *data,
                                 gsize          size);

/* Removes @path and, for a folder, everything in it (symbolic links are
 * removed, not followed). */
void  qs_test_remove_tree       (const char    *path);

G_END_DECLS
