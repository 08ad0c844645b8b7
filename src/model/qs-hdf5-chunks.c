/* qs-hdf5-chunks.c: chunked datasets read chunk by chunk, each decoded here and held to its size.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * libhdf5 1.10 copies a chunk's values out of whatever its filter
 * pipeline returned without checking the length (H5D__chunk_lock():
 * chunk_size bytes from a buffer of the pipeline's output), so a deflated
 * chunk that inflates to 100 of its 1920 bytes is read past its end: heap
 * bytes as weights or pixels, or a crash. A chunk index can also skip a
 * chunk's filters (its filter mask) or, in a version 1 B-tree, give an
 * unfiltered chunk a stored size shorter than the chunk: the same
 * over-read without any filter running. Fletcher-32 on fewer than 4
 * stored bytes underflows its length.
 *
 * libhdf5 does not let its predefined filters be replaced (H5Zregister()
 * refuses ids below H5Z_FILTER_RESERVED, "unable to modify predefined
 * filters"), and nothing in its public API reports what a filter returned.
 * So for the pipelines h5py and Keras write (any of shuffle, deflate and
 * Fletcher-32) the chunks are read raw (H5Dread_chunk(), which
 * gives the filter mask too), decoded here as libhdf5 would decode them,
 * refused unless they come out the chunk's size, converted with
 * H5Tconvert() (a window at a time) and placed by hand. One inflate per chunk, no lookup that
 * walks the chunk index (H5Dget_chunk_info*() do, per call), whatever the
 * number of chunks. Other filters (szip, n-bit, scale-offset, plugins)
 * stay with H5Dread().
 */
#include <string.h>
#include <zlib.h>

#include "model/qs-error.h"
#include "model/qs-hdf5-private.h"

typedef struct {
  hid_t        dset;
  hid_t        file_type;
  hid_t        mem_type;
  const char  *what;
  int          rank;
  hsize_t      dims[H5S_MAX_RANK];
  hsize_t      chunk[H5S_MAX_RANK];
  guint64      stride[H5S_MAX_RANK];  /* of the dataset, in elements */
  guint64      chunk_stride[H5S_MAX_RANK];
  gsize        file_size;             /* bytes of an element in the file */
  gsize        mem_size;              /* and in memory */
  guint64      chunk_elements;
  gsize        chunk_bytes;           /* what a decoded chunk must hold */
  int          n_filters;
  H5Z_filter_t filters[H5Z_MAX_NFILTERS];
  unsigned int shuffle_size[H5Z_MAX_NFILTERS];
  gboolean     shuffle_valid[H5Z_MAX_NFILTERS];
  gboolean     deflate_valid[H5Z_MAX_NFILTERS];
  gboolean     partial_unfiltered;    /* H5D_CHUNK_DONT_FILTER_PARTIAL_CHUNKS */
  guint8      *fill;                  /* one element as @mem_type */
  guint8      *raw;                   /* stored bytes */
  gsize        raw_size;
  guint8      *work[2];               /* filter outputs */
  gsize        work_size[2];
  gboolean     same_type;             /* @mem_type is the file's: no conversion */
  const guint8 *decoded;              /* the decoded chunk, as stored */
  gboolean     filled;                /* or none: the fill value throughout */
  guint8      *values;                /* CONVERT_ELEMENTS as @mem_type */
  guint64      window_first;          /* the chunk's elements in @values */
  guint64      window_count;
  guint8      *background;            /* for compound conversions */
} ChunkReader;

/* How many elements are converted at a time: widening uint8 pixels of a
 * 64 MiB chunk to float32 at once would hold 256 MiB more than libhdf5
 * does (it converts through a 1 MiB buffer). */
#define CONVERT_ELEMENTS ((guint64) 1 << 18)

/* Whether @dset is read here: chunked, its filters (if any) among shuffle,
 * deflate and Fletcher-32, its chunk size and shape countable. */
static gboolean
chunk_reader_init (ChunkReader *r,
                   hid_t        dset,
                   hid_t        mem_type,
                   const char  *what)
{
  hid_t dcpl = H5Dget_create_plist (dset);
  hid_t space = H5I_INVALID_HID;
  gboolean ok = FALSE;
  unsigned int opts = 0;

  memset (r, 0, sizeof *r);
  r->dset = dset;
  r->mem_type = mem_type;
  r->what = what;
  r->file_type = H5Dget_type (dset);
  if (dcpl < 0 || r->file_type < 0 || H5Pget_layout (dcpl) != H5D_CHUNKED)
    goto out;
  /* Unfiltered chunks are left to H5Dread(): libhdf5 reports their size
   * as the chunk's (H5Dget_chunk_storage_size()) while H5Dread_chunk()
   * copies as many bytes as the chunk index says, so no buffer could be
   * sized for it without a walk of the index. */
  r->n_filters = H5Pget_nfilters (dcpl);
  if (r->n_filters < 1 || r->n_filters > H5Z_MAX_NFILTERS)
    goto out;
  for (int f = 0; f < r->n_filters; f++)
    {
      unsigned int flags = 0, values[8] = { 0 }, config = 0;
      size_t n_values = G_N_ELEMENTS (values);

      r->filters[f] = H5Pget_filter2 (dcpl, (unsigned int) f, &flags, &n_values, values, 0, NULL, &config);
      /* The parameter checks libhdf5's own filters make on every chunk. */
      if (r->filters[f] == H5Z_FILTER_SHUFFLE)
        {
          r->shuffle_valid[f] = n_values == 1 && values[0] != 0;
          r->shuffle_size[f] = values[0];
        }
      else if (r->filters[f] == H5Z_FILTER_DEFLATE)
        r->deflate_valid[f] = n_values == 1 && values[0] <= 9;
      else if (r->filters[f] != H5Z_FILTER_FLETCHER32)
        goto out;
    }
  r->partial_unfiltered = H5Pget_chunk_opts (dcpl, &opts) >= 0
                          && (opts & H5D_CHUNK_DONT_FILTER_PARTIAL_CHUNKS) != 0;

  space = H5Dget_space (dset);
  r->rank = space >= 0 ? H5Sget_simple_extent_dims (space, r->dims, NULL) : -1;
  if (r->rank < 1 || H5Pget_chunk (dcpl, r->rank, r->chunk) != r->rank)
    goto out;
  r->file_size = H5Tget_size (r->file_type);
  r->mem_size = H5Tget_size (mem_type);
  r->same_type = H5Tequal (r->file_type, mem_type) > 0;
  r->chunk_elements = 1;
  ok = r->file_size > 0 && r->mem_size > 0;
  for (int d = r->rank - 1; d >= 0 && ok; d--)
    {
      r->chunk_stride[d] = r->chunk_elements;
      ok = r->chunk[d] > 0 && g_uint64_checked_mul (&r->chunk_elements, r->chunk_elements, r->chunk[d]);
    }
  {
    guint64 bytes, converted;

    /* zlib counts its output in 32 bits; libhdf5 1.10 keeps a chunk's
     * size in 32 bits too. */
    ok = ok && g_uint64_checked_mul (&bytes, r->chunk_elements, r->file_size)
         && g_uint64_checked_mul (&converted, r->chunk_elements, MAX (r->file_size, r->mem_size))
         && converted <= G_MAXSIZE && bytes < G_MAXUINT32 - 4 * H5Z_MAX_NFILTERS;
    r->chunk_bytes = ok ? (gsize) bytes : 0;
  }
  if (ok)
    {
      guint64 n = 1;

      for (int d = r->rank - 1; d >= 0 && ok; d--)
        {
          r->stride[d] = n;
          ok = g_uint64_checked_mul (&n, n, r->dims[d]);
        }
    }
  if (ok)
    {
      H5D_fill_value_t fill_state = H5D_FILL_VALUE_UNDEFINED;

      /* Where libhdf5 would fill a chunk never written: its fill value,
       * or zeros. */
      r->fill = g_malloc0 (r->mem_size);
      if (H5Pfill_value_defined (dcpl, &fill_state) >= 0
          && (fill_state == H5D_FILL_VALUE_DEFAULT || fill_state == H5D_FILL_VALUE_USER_DEFINED)
          && H5Pget_fill_value (dcpl, mem_type, r->fill) < 0)
        memset (r->fill, 0, r->mem_size);
    }

out:
  if (space >= 0)
    H5Sclose (space);
  if (dcpl >= 0)
    H5Pclose (dcpl);
  H5Eclear2 (H5E_DEFAULT);
  return ok;
}

static void
chunk_reader_clear (ChunkReader *r)
{
  if (r->file_type >= 0)
    H5Tclose (r->file_type);
  g_free (r->fill);
  g_free (r->raw);
  g_free (r->work[0]);
  g_free (r->work[1]);
  g_free (r->values);
  g_free (r->background);
}

/* Room for @size bytes in @buffer, kept between chunks. */
static guint8 *
grow (guint8 **buffer,
      gsize   *allocated,
      gsize    size)
{
  if (size > *allocated)
    {
      g_free (*buffer);
      *buffer = g_try_malloc (MAX (size, 1));
      *allocated = *buffer != NULL ? size : 0;
    }
  return *buffer;
}

/* libhdf5's H5_checksum_fletcher32(). */
static guint32
fletcher32 (const guint8 *data,
            gsize         length)
{
  gsize words = length / 2;
  guint32 sum1 = 0, sum2 = 0;

  while (words > 0)
    {
      gsize run = MIN (words, 360);

      words -= run;
      for (; run > 0; run--, data += 2)
        {
          sum1 += ((guint32) data[0] << 8) | data[1];
          sum2 += sum1;
        }
      sum1 = (sum1 & 0xffff) + (sum1 >> 16);
      sum2 = (sum2 & 0xffff) + (sum2 >> 16);
    }
  if (length % 2)
    {
      sum1 += (guint32) *data << 8;
      sum2 += sum1;
      sum1 = (sum1 & 0xffff) + (sum1 >> 16);
      sum2 = (sum2 & 0xffff) + (sum2 >> 16);
    }
  sum1 = (sum1 & 0xffff) + (sum1 >> 16);
  sum2 = (sum2 & 0xffff) + (sum2 >> 16);
  return (sum2 << 16) | sum1;
}

/* Inflates @length bytes at @in into exactly @expected bytes at @out;
 * what it inflated to otherwise in @got (@expected + 1 for more). */
static gboolean
inflate_exactly (const guint8 *in,
                 gsize         length,
                 guint8       *out,
                 gsize         expected,
                 guint64      *got,
                 gboolean     *damaged)
{
  z_stream z;
  guint8 extra;
  int status;

  memset (&z, 0, sizeof z);
  *damaged = FALSE;
  if (inflateInit (&z) != Z_OK)
    {
      *damaged = TRUE;
      return FALSE;
    }
  /* zlib counts in 32 bits: the input is fed in pieces; the output is
   * a chunk, under 4 GiB (chunk_reader_init()). */
  z.next_out = out;
  z.avail_out = (uInt) expected;
  for (;;)
    {
      uInt take = (uInt) MIN (length, (gsize) G_MAXUINT32);

      z.next_in = (Bytef *) in;
      z.avail_in = take;
      /* As libhdf5: Z_SYNC_FLUSH until Z_STREAM_END, anything else but
       * Z_OK is damage (a stream cut short ends in Z_BUF_ERROR). */
      status = inflate (&z, Z_SYNC_FLUSH);
      in += take - z.avail_in;
      length -= take - z.avail_in;
      if (status != Z_OK)
        break;
      if (z.avail_out == 0)
        {
          /* The chunk is full: one byte more means the stream holds more. */
          if (z.next_out == &extra + 1)
            break;
          z.next_out = &extra;
          z.avail_out = 1;
        }
      else if (length == 0)
        {
          status = Z_BUF_ERROR;
          break;
        }
    }
  *got = z.total_out;
  inflateEnd (&z);
  if (status != Z_STREAM_END && *got <= expected)
    {
      *damaged = TRUE;
      return FALSE;
    }
  return *got == expected;
}

/* Whether the chunk at @start (element offsets) is an edge chunk cut by
 * the dataset's end. */
static gboolean
is_partial (const ChunkReader *r,
            const hsize_t     *start)
{
  for (int d = 0; d < r->rank; d++)
    if (start[d] + r->chunk[d] > r->dims[d])
      return TRUE;
  return FALSE;
}

static herr_t
find_unallocated (unsigned int     n,
                  const H5E_error2_t *entry,
                  void            *data)
{
  gboolean *found = data;

  if (entry->desc != NULL && (strcmp (entry->desc, "chunk address isn't defined") == 0
                              || strcmp (entry->desc, "chunk storage is not allocated") == 0))
    *found = TRUE;
  return 0;
}

/* Whether H5Dget_chunk_storage_size() failed for a chunk never written:
 * libhdf5 1.10 fails rather than report 0 then, and the one lookup that
 * says so without failing (H5Dget_chunk_info_by_coord()) walks the whole
 * chunk index on every call. */
static gboolean
chunk_unallocated (void)
{
  gboolean found = FALSE;

  H5Ewalk2 (H5E_DEFAULT, H5E_WALK_DOWNWARD, find_unallocated, &found);
  return found;
}

/* Decodes the chunk at @start (r->decoded, as stored): its stored
 * bytes, through the filters its mask leaves on, held to the chunk's
 * size; r->filled for a chunk never written. */
static gboolean
decode_chunk (ChunkReader  *r,
              const hsize_t *start,
              GError      **error)
{
  hsize_t stored = 0;
  uint32_t mask = 0;
  const guint8 *data;
  gsize size;
  gboolean filtered;
  int next = 0;

  r->decoded = NULL;
  r->filled = FALSE;
  r->window_count = 0;
  if (H5Dget_chunk_storage_size (r->dset, start, &stored) < 0)
    {
      if (!chunk_unallocated ())
        goto hdf5_failed;
      H5Eclear2 (H5E_DEFAULT);
      stored = 0;
    }
  if (stored == 0)
    {
      r->filled = TRUE;
      return TRUE;
    }
  if (stored > G_MAXSIZE || grow (&r->raw, &r->raw_size, (gsize) stored) == NULL)
    goto too_large;
  if (H5Dread_chunk (r->dset, H5P_DEFAULT, start, &mask, r->raw) < 0)
    goto hdf5_failed;

  data = r->raw;
  size = (gsize) stored;
  filtered = !(r->partial_unfiltered && is_partial (r, start));
  for (int f = r->n_filters - 1; f >= 0 && filtered; f--)
    {
      if (mask & (1u << f))
        continue;
      if (r->filters[f] == H5Z_FILTER_FLETCHER32)
        {
          guint32 stored_sum, sum, swapped;

          if (size < 4)
            {
              g_set_error (error, QS_ERROR, QS_ERROR_READ,
                           "%s has a chunk of %zu bytes, too short for its Fletcher-32 checksum (damaged): "
                           "refused rather than read past its end", r->what, size);
              return FALSE;
            }
          size -= 4;
          stored_sum = (guint32) data[size] | (guint32) data[size + 1] << 8
                       | (guint32) data[size + 2] << 16 | (guint32) data[size + 3] << 24;
          sum = fletcher32 (data, size);
          /* libhdf5 before 1.6.3 stored the halves byte-swapped. */
          swapped = ((sum & 0x00ff00ff) << 8) | ((sum >> 8) & 0x00ff00ff);
          if (stored_sum != sum && stored_sum != swapped)
            {
              g_set_error (error, QS_ERROR, QS_ERROR_READ,
                           "%s has a chunk whose Fletcher-32 checksum does not match (damaged)", r->what);
              return FALSE;
            }
        }
      else if (r->filters[f] == H5Z_FILTER_DEFLATE)
        {
          /* What must come out: the chunk, and the checksums of any
           * Fletcher-32 filters that run after this one. */
          gsize expected = r->chunk_bytes;
          guint64 got = 0;
          gboolean damaged;
          guint8 *out;

          for (int g = f - 1; g >= 0; g--)
            if (r->filters[g] == H5Z_FILTER_FLETCHER32 && !(mask & (1u << g)))
              expected += 4;
          if (!r->deflate_valid[f])
            goto bad_parameters;
          if ((out = grow (&r->work[next], &r->work_size[next], expected)) == NULL)
            goto too_large;
          if (!inflate_exactly (data, size, out, expected, &got, &damaged))
            {
              if (damaged)
                g_set_error (error, QS_ERROR, QS_ERROR_READ,
                             "%s has a chunk whose deflate stream is damaged", r->what);
              else if (got > expected)
                g_set_error (error, QS_ERROR, QS_ERROR_READ,
                             "%s has a chunk that inflates to more than its %zu bytes (damaged): refused",
                             r->what, expected);
              else
                g_set_error (error, QS_ERROR, QS_ERROR_READ,
                             "%s has a chunk that inflates to %" G_GUINT64_FORMAT " of its %zu bytes (damaged): "
                             "refused rather than read past its end", r->what, got, expected);
              return FALSE;
            }
          data = out;
          size = expected;
          next = 1 - next;
        }
      else
        {
          unsigned int width = r->shuffle_size[f];
          gsize n = width > 0 ? size / width : 0;
          guint8 *out;

          if (!r->shuffle_valid[f])
            goto bad_parameters;
          /* As libhdf5: nothing to do for bytes or fewer than 2 elements;
           * bytes past the last whole element stay at the end. */
          if (width > 1 && n > 1)
            {
              if ((out = grow (&r->work[next], &r->work_size[next], size)) == NULL)
                goto too_large;
              for (unsigned int b = 0; b < width; b++)
                for (gsize e = 0; e < n; e++)
                  out[e * width + b] = data[b * n + e];
              memcpy (out + n * width, data + n * width, size - n * width);
              data = out;
              next = 1 - next;
            }
        }
    }

  /* Past the chunk is harmless (libhdf5 takes the chunk's bytes); short
   * of it is what libhdf5 would read past the end of. */
  if (size < r->chunk_bytes)
    {
      g_set_error (error, QS_ERROR, QS_ERROR_READ,
                   "%s has a chunk that decodes to %zu of its %zu bytes (damaged): refused rather than "
                   "read past its end", r->what, size, r->chunk_bytes);
      return FALSE;
    }
  r->decoded = data;
  return TRUE;

bad_parameters:
  g_set_error (error, QS_ERROR, QS_ERROR_READ, "%s has invalid filter parameters (damaged)", r->what);
  return FALSE;

too_large:
  g_set_error (error, QS_ERROR, QS_ERROR_TOO_LARGE, "%s has a chunk too large to decode", r->what);
  return FALSE;

hdf5_failed:
  {
    g_autofree char *detail = _qs_hdf5_error_detail ();

    g_set_error (error, QS_ERROR, QS_ERROR_READ, "%s cannot be read%s%s%s", r->what,
                 detail != NULL ? " (" : "", detail != NULL ? detail : "", detail != NULL ? ")" : "");
    return FALSE;
  }
}

/* The decoded chunk's elements [@first, @first + @count) as @mem_type
 * (@count at most CONVERT_ELEMENTS), converting the window of them that
 * starts at @first unless the last one holds them. NULL with @error. */
static const guint8 *
window (ChunkReader  *r,
        guint64       first,
        guint64       count,
        GError      **error)
{
  gsize room = (gsize) MIN (r->chunk_elements, CONVERT_ELEMENTS) * MAX (r->file_size, r->mem_size);

  if (r->same_type && !r->filled)
    return r->decoded + first * r->file_size;
  if (r->values == NULL && (r->values = g_try_malloc (room)) == NULL)
    {
      g_set_error (error, QS_ERROR, QS_ERROR_TOO_LARGE, "%s has a chunk too large to decode", r->what);
      return NULL;
    }
  if (r->filled)
    {
      /* The fill value throughout, whatever the offset. */
      if (r->window_count != G_MAXUINT64)
        for (guint64 i = 0; i < MIN (r->chunk_elements, CONVERT_ELEMENTS); i++)
          memcpy (r->values + i * r->mem_size, r->fill, r->mem_size);
      r->window_count = G_MAXUINT64;
      return r->values;
    }
  if (r->window_count == G_MAXUINT64 || first < r->window_first
      || first + count > r->window_first + r->window_count)
    {
      r->window_first = first;
      r->window_count = MIN (r->chunk_elements - first, CONVERT_ELEMENTS);
      memcpy (r->values, r->decoded + first * r->file_size, r->window_count * r->file_size);
      /* Members of a compound type are converted over a background
       * buffer, as H5Dread() provides one. */
      if (H5Tget_class (r->file_type) == H5T_COMPOUND && r->background == NULL
          && (r->background = g_try_malloc0 (room)) == NULL)
        {
          r->window_count = 0;
          g_set_error (error, QS_ERROR, QS_ERROR_TOO_LARGE, "%s has a chunk too large to decode", r->what);
          return NULL;
        }
      if (H5Tconvert (r->file_type, r->mem_type, r->window_count, r->values, r->background, H5P_DEFAULT) < 0)
        {
          g_autofree char *detail = _qs_hdf5_error_detail ();

          r->window_count = 0;
          g_set_error (error, QS_ERROR, QS_ERROR_READ, "%s cannot be read%s%s%s", r->what,
                       detail != NULL ? " (" : "", detail != NULL ? detail : "", detail != NULL ? ")" : "");
          return NULL;
        }
    }
  return r->values + (first - r->window_first) * r->mem_size;
}

/* Converts every element of the decoded chunk (a check: nothing kept). */
static gboolean
convert_chunk (ChunkReader  *r,
               GError      **error)
{
  for (guint64 first = 0; first < r->chunk_elements; first += CONVERT_ELEMENTS)
    if (window (r, first, MIN (r->chunk_elements - first, CONVERT_ELEMENTS), error) == NULL)
      return FALSE;
  return TRUE;
}

/* Copies the part of the decoded chunk at @start that falls in the flat
 * range [@lo, @hi) to @out (which holds that range), row by row, in
 * pieces of at most CONVERT_ELEMENTS. */
static gboolean
place_chunk (ChunkReader   *r,
             const hsize_t *start,
             guint64        lo,
             guint64        hi,
             guint8        *out,
             GError       **error)
{
  hsize_t extent[H5S_MAX_RANK], index[H5S_MAX_RANK] = { 0 };
  int last = r->rank - 1;

  for (int d = 0; d < r->rank; d++)
    extent[d] = MIN (r->chunk[d], r->dims[d] - start[d]);
  for (;;)
    {
      guint64 row = start[last], in_chunk = 0, a, b;
      int d;

      for (d = 0; d < last; d++)
        {
          row += (start[d] + index[d]) * r->stride[d];
          in_chunk += index[d] * r->chunk_stride[d];
        }
      a = MAX (row, lo);
      b = MIN (row + extent[last], hi);
      for (guint64 p = a; p < b; p += MIN (b - p, CONVERT_ELEMENTS))
        {
          guint64 piece = MIN (b - p, CONVERT_ELEMENTS);
          const guint8 *values = window (r, in_chunk + p - row, piece, error);

          if (values == NULL)
            return FALSE;
          memcpy (out + (p - lo) * r->mem_size, values, piece * r->mem_size);
        }
      for (d = last - 1; d >= 0; d--)
        {
          if (++index[d] < extent[d])
            break;
          index[d] = 0;
        }
      if (d < 0)
        return TRUE;
    }
}

/* The flat index of the element at @at. */
static guint64
flat_index (const ChunkReader *r,
            const hsize_t     *at)
{
  guint64 flat = 0;

  for (int d = 0; d < r->rank; d++)
    flat += at[d] * r->stride[d];
  return flat;
}

gboolean
_qs_hdf5_reads_chunks (hid_t dset)
{
  ChunkReader r;
  gboolean ours = chunk_reader_init (&r, dset, H5T_NATIVE_UCHAR, "");

  chunk_reader_clear (&r);
  return ours;
}

gboolean
_qs_hdf5_read_chunks (hid_t         dset,
                      hid_t         mem_type,
                      guint64       offset,
                      guint64       count,
                      void         *out,
                      guint64      *budget,
                      const char   *what,
                      GError      **error)
{
  ChunkReader r;
  hsize_t cell[H5S_MAX_RANK] = { 0 }, start[H5S_MAX_RANK], corner[H5S_MAX_RANK];
  guint64 total = 1, end;
  gboolean ok = TRUE;

  if (!chunk_reader_init (&r, dset, mem_type, what))
    {
      chunk_reader_clear (&r);
      g_set_error (error, QS_ERROR, QS_ERROR_READ, "%s cannot be read (not a chunked dataset read here)", what);
      return FALSE;
    }
  for (int d = 0; d < r.rank; d++)
    total *= r.dims[d];
  if (offset > total || count > total - offset)
    {
      chunk_reader_clear (&r);
      g_set_error (error, QS_ERROR, QS_ERROR_INVALID, "%s cannot be read (range past its end)", what);
      return FALSE;
    }
  end = offset + count;
  if (count == 0)
    {
      chunk_reader_clear (&r);
      return TRUE;
    }
  /* Only the chunks the range reaches: from the row of its first
   * element's chunk to that of its last. */
  cell[0] = offset / r.stride[0] / r.chunk[0];
  for (;;)
    {
      guint64 first, lastf;
      int d;

      for (d = 0; d < r.rank; d++)
        {
          start[d] = cell[d] * r.chunk[d];
          corner[d] = MIN (start[d] + r.chunk[d], r.dims[d]) - 1;
        }
      first = flat_index (&r, start);
      lastf = flat_index (&r, corner);
      if (first >= end)
        break;
      if (lastf >= offset)
        {
          if (budget != NULL && *budget == 0)
            break;
          if (!decode_chunk (&r, start, error)
              || !(out != NULL ? place_chunk (&r, start, offset, end, out, error) : convert_chunk (&r, error)))
            {
              ok = FALSE;
              break;
            }
          if (budget != NULL)
            *budget -= MIN (*budget, r.chunk_elements * r.mem_size);
        }
      for (d = r.rank - 1; d >= 0; d--)
        {
          if (++cell[d] * r.chunk[d] < r.dims[d])
            break;
          cell[d] = 0;
        }
      if (d < 0)
        break;
    }
  chunk_reader_clear (&r);
  H5Eclear2 (H5E_DEFAULT);
  return ok;
}
