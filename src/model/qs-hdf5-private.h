/* qs-hdf5-private.h: the HDF5 lock and helpers the model/ files share.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every HDF5 call in the process goes through one lock (see
 * qs-weight-file.c for why). Files of model/ other than the reader (the
 * exporter) take the same lock with these functions; nothing outside
 * model/ should include this header.
 */
#pragma once

#include <glib.h>
#include <hdf5.h>

#include "model/qs-weight-file.h"

G_BEGIN_DECLS

/* Takes the process-wide HDF5 lock and silences HDF5's automatic error
 * printing for the calling thread. Not recursive. */
void     _qs_hdf5_lock            (void);
void     _qs_hdf5_unlock          (void);

/* The file access list every file read for values is opened with
 * (qs-weight-file.c says why; transfer none). Lock held. */
hid_t    _qs_hdf5_file_access_plist (void);

/* The most specific message on the calling thread's HDF5 error stack, or
 * NULL (transfer full). Call it right after the failing call, lock held. */
char    *_qs_hdf5_error_detail    (void);

/* Bounds what libhdf5 may allocate for variable-length strings and
 * sequences it converts from the file of @obj (the lengths their
 * elements state, which need not match what the file stores) to @bound
 * bytes in all, over every read, write or copy until
 * _qs_hdf5_vlen_bound_end(); a conversion past it fails, and so does one
 * of an element whose heap object is longer than it states or missing
 * (libhdf5 would copy it past its buffer). The end says which failed.
 * Not nested; lock held from begin to end. */
typedef enum
{
  QS_VLEN_OK,
  QS_VLEN_TOO_LARGE,
  QS_VLEN_DAMAGED,
} QsVlenVerdict;

void          _qs_hdf5_vlen_bound_begin (hid_t   obj,
                                         guint64 bound);
QsVlenVerdict _qs_hdf5_vlen_bound_end   (void);

/* Selects in @space (a simple dataspace) the elements whose row-major flat
 * indices are [@offset, @offset + @count), as a union of at most
 * 2 * rank hyperslabs; HDF5 visits them in row-major order, so a 1-D
 * memory space of @count elements receives them in order. Lock held. */
gboolean _qs_hdf5_select_flat_range (hid_t   space,
                                     guint64 offset,
                                     guint64 count);

/* How far a dataset's values may expand when read: at most
 * QS_MAX_EXPANSION bytes of float32 per byte the file stores for them,
 * plus QS_UNSTORED_ALLOWANCE. Deflate reaches 1032:1 on zeros and an
 * unwritten dataset stores nothing at all, so without this bound a file
 * of a few kilobytes makes a reader allocate gigabytes. Real weights and
 * images compress far less than 64:1 (float32 weights barely compress;
 * 8-bit images turned into float32 grow 4x, then gzip's usual 3-6x). */
#define QS_MAX_EXPANSION       64
#define QS_UNSTORED_ALLOWANCE  (G_GUINT64_CONSTANT (64) << 10)
/* A dataset's chunk may be larger than the dataset (its first dimension
 * may grow) by at most this much: reading inflates a whole chunk. */
#define QS_MAX_CHUNK_SLACK_BYTES (G_GUINT64_CONSTANT (64) << 20)

/* Whether reading @elements values of @dset as float32 stays within the
 * expansion bound of what the file stores for it (its storage size, at
 * most the file's size), and its chunks within QS_MAX_CHUNK_SLACK_BYTES
 * of the dataset (cheap: no value is read). FALSE with QS_ERROR_TOO_LARGE naming @what
 * (a path, for messages) otherwise; FALSE with QS_ERROR_READ when what
 * the header and chunk index say the file stores (H5Dget_storage_size(),
 * the sum of the chunks' stored sizes) does not fit in the file: libhdf5
 * 1.10 allocates a chunk's stored size as its index states it before
 * checking it against the end of file, so a damaged index costs
 * gigabytes on the first read. Lock held. */
gboolean _qs_hdf5_check_stored_size (hid_t        dset,
                                     guint64      elements,
                                     const char  *what,
                                     GError     **error);

/* The first part of _qs_hdf5_check_stored_size(): FALSE with QS_ERROR_READ
 * when @dset keeps its values in other files (external storage, a
 * virtual dataset) or claims to store more than the file holds. Lock
 * held. */
gboolean _qs_hdf5_check_stored_within_file (hid_t        dset,
                                            const char  *what,
                                            GError     **error);

/* Whether @dset is an HDF5 virtual dataset: its values are read from
 * other datasets, in this file or any other, and H5Dget_space() may
 * already open those files. Refused everywhere, like external storage.
 * Lock held. */
gboolean _qs_hdf5_is_virtual (hid_t dset);

/* Whether @dset is read with _qs_hdf5_read_chunks() rather than
 * H5Dread(): chunked, filtered by shuffle, deflate and Fletcher-32 only
 * (what h5py and Keras write). libhdf5 1.10 copies a chunk's
 * values out of whatever its filters returned, or of its stored bytes
 * when its filter mask skips them, without checking the length: a short
 * chunk is read past its end. Lock held. */
gboolean _qs_hdf5_reads_chunks (hid_t dset);

/* Reads the elements [@offset, @offset + @count) of @dset, in row-major
 * order, as @mem_type into @out: each chunk they reach read raw, decoded
 * once (as libhdf5 would) and refused unless it comes out the chunk's
 * size, converted with H5Tconvert(). With @out NULL, decodes and converts
 * without keeping anything (a check), stopping once @budget (bytes, when
 * not NULL) is spent. FALSE with QS_ERROR_READ naming @what for a
 * damaged chunk or a failed read. Lock held. */
gboolean _qs_hdf5_read_chunks  (hid_t        dset,
                                hid_t        mem_type,
                                guint64      offset,
                                guint64      count,
                                void        *out,
                                guint64     *budget,
                                const char  *what,
                                GError     **error);

/* The file handle, for the exporter (lock held while using it). */
hid_t    _qs_weight_file_get_hid  (QsWeightFile *self);

/* One link of a group, as _qs_hdf5_list_links returns it. */
typedef struct {
  char       *name;
  H5L_type_t  type;
} QsHdf5Link;

/* Appends the links of @group, in name order, to @links (QsHdf5Link, freed
 * by the array: make it with _qs_hdf5_link_array_new). Lock held. Returns
 * FALSE when HDF5 fails part-way; the links met so far are kept. */
GPtrArray *_qs_hdf5_link_array_new (void);
gboolean   _qs_hdf5_list_links     (hid_t      group,
                                    GPtrArray *links);

/* "/a" + "b" -> "/a/b", "/" + "b" -> "/b" (transfer full). */
char      *_qs_hdf5_path_join      (const char *group,
                                    const char *name);

G_END_DECLS
