/* qs-weight-file.c: a lazily read HDF5 file of layer weights (Keras or any layout).
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "model/qs-weight-file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <hdf5.h>
#include <json-glib/json-glib.h>

#include "model/qs-error.h"
#include "model/qs-input-file.h"
#include "model/qs-json.h"
#include "model/qs-keras3.h"
#include "model/qs-zip-archive.h"
#include "model/qs-hdf5-private.h"

/* Debian builds HDF5 with the 1.8 API as the default mapping, and newer
 * releases renamed the link and object info calls; naming the versions
 * explicitly keeps one meaning whatever the build defaults are. */
#if H5_VERSION_GE (1, 12, 0)
typedef H5L_info2_t QsLinkInfo;
# define qs_h5_literate H5Literate2
#else
typedef H5L_info_t QsLinkInfo;
# define qs_h5_literate H5Literate
#endif

/* Reading a tensor allocates count * 4 bytes; past this the request is
 * certainly a damaged or hostile header, not a real tensor. */
#define QS_MAX_READ_BYTES (G_GUINT64_CONSTANT (1) << 62)

/* model_config is parsed only to learn layer classes; a config nested
 * deeper than this is not a Keras model and not worth the stack. */
#define QS_MAX_CONFIG_DEPTH 64

/* The most text one attribute may store: a model_config bigger than the
 * JSON bound would be refused after reading anyway. */
#define QS_MAX_STRING_ATTRIBUTE_BYTES ((guint64) QS_JSON_MAX_CONFIG_BYTES)

struct _QsWeightFile
{
  GObject       parent_instance;

  char         *filename;
  hid_t         file;          /* guarded by qs_hdf5_mutex */
  QsFileLayout  layout;
  char         *model_config;
  char         *backend;        /* Keras's "backend" attribute at the root, or NULL */
  GPtrArray    *tensors;       /* QsTensorInfo, in display order */
  GHashTable   *by_path;       /* absolute path -> QsTensorInfo owned by tensors */
  GPtrArray    *warnings;      /* one-line texts: links that lead nowhere */
  QsWeightFileFlags flags;
  gboolean      in_memory;     /* opened from an image: no file to map */
};

G_DEFINE_FINAL_TYPE (QsWeightFile, qs_weight_file, G_TYPE_OBJECT)

G_DEFINE_BOXED_TYPE (QsTensorInfo, qs_tensor_info,
                     qs_tensor_info_copy, qs_tensor_info_free)

/* ---- the HDF5 lock ------------------------------------------------------ */

/* libhdf5 is not guaranteed thread-safe (and even the thread-safe build
 * serialises internally), while the GUI reads tensors from worker threads:
 * one process-wide lock around every HDF5 call is the simple correct answer. */
static GMutex qs_hdf5_mutex;
static GPrivate qs_hdf5_quiet = G_PRIVATE_INIT (NULL);

/* ---- variable-length data within bounds ---------------------------------- */

/* libhdf5 converts variable-length strings and sequences from the file by
 * allocating what each element states (a string's length in bytes, a
 * sequence's in elements of its base type), and nothing stops many
 * elements naming one heap object or one element stating 2^32 - 1: a 4 MB
 * file whose 4,000 layer_names all named a 4 MB string made `layers`
 * allocate 16 GB, and one sequence of float64 stating 2^31 elements asks
 * for 16 GiB (libhdf5 also zeroes it). libhdf5's own conversion
 * (H5T__conv_vlen, found with H5Tfind) is wrapped in a soft conversion
 * that first adds up what the file states (the first four bytes of each
 * element in its file form) and fails a conversion past the bound.
 *
 * Compound members, array elements and the inner sequences of a nested
 * sequence are converted one element or one sequence per call, so within
 * a scope (_qs_hdf5_vlen_bound_begin(): an attribute read, an attribute
 * or object an export copies) the sum runs over every call until the
 * scope ends; outside one (what libhdf5 converts on its own) each call
 * is bounded alone. Lock held throughout, so the globals need no more. */
#define QS_MAX_VLEN_BATCH_BYTES (G_GUINT64_CONSTANT (256) << 20)

/* What libhdf5 calls an image in memory: its number, then its size. */
#define QS_IMAGE_NAME_FORMAT "/dev/null/quantscope-image-%d-%" G_GUINT64_FORMAT "-bytes"
static H5T_conv_t vlen_convert;
static guint64 vlen_bound = QS_MAX_VLEN_BATCH_BYTES;
static guint64 vlen_used;
static gboolean vlen_scoped;
static gboolean vlen_refused;
static gboolean vlen_damaged;

/* libhdf5 1.10 copies a whole heap object into a buffer sized by the
 * length its element states (H5T_vlen_disk_read() -> H5HG_read()), and
 * indexes the heap collection by the element's index unchecked: an
 * element stating 100 bytes of a 1 MB object overflowed the heap, in
 * `layers` reading model_config. Within a scope the file is read
 * directly to find each object's size first: through the descriptor of
 * libhdf5's sec2 driver, which every file on disk is opened with, or the
 * buffer of its core driver, which holds an image in memory (the weights
 * of a .keras archive). Not checked: conversions outside a scope. */
typedef struct
{
  int           fd;          /* libhdf5's own descriptor, or -1 */
  const guint8 *image;       /* or the core driver's copy of an image, or NULL */
  guint64       eof;         /* bytes readable (an image's size, not H5Fget_filesize()) */
  guint64       base;        /* addresses are relative to the superblock */
  guint         sizeof_size;
  GHashTable   *collections; /* address -> GArray of object sizes by index (G_MAXUINT64: none) */
} HeapReader;

static HeapReader vlen_heap = { -1, NULL, 0, 0, 0, NULL };

/* Whether the heap objects can be checked: a file on disk or in memory. */
static gboolean
heap_readable (void)
{
  return vlen_heap.fd >= 0 || vlen_heap.image != NULL;
}

static gboolean
heap_read (guint64  offset,
           void    *out,
           gsize    size)
{
  if (offset > vlen_heap.eof || size > vlen_heap.eof - offset || offset > G_MAXINT64)
    return FALSE;
  if (vlen_heap.image != NULL)
    {
      memcpy (out, vlen_heap.image + offset, size);
      return TRUE;
    }
  return pread (vlen_heap.fd, out, size, (off_t) offset) == (ssize_t) size;
}

static guint64
read_le (const guint8 *p,
         guint         size)
{
  guint64 value = 0;

  for (guint b = 0; b < size && b < 8; b++)
    value |= (guint64) p[b] << (8 * b);
  return value;
}

static void
free_sizes (gpointer sizes)
{
  if (sizes != NULL)
    g_array_unref (sizes);
}

/* The sizes of the objects of the global heap collection at @address,
 * by index (G_MAXUINT64 where there is none), or NULL when it is not
 * one or libhdf5 could not walk it; parsed once per scope. Its layout:
 * "GCOL", version, 3 reserved bytes, the collection's size; then
 * objects of index (2 bytes), reference count (2), 4 reserved, size,
 * data padded to 8 bytes; index 0 is free space, its size covering its
 * header. The walk is libhdf5's own (H5HG__cache_heap_deserialize()),
 * which trusts every size: free space of size 0 never advances it, and a
 * size that wraps the pointer (2^64 - 72) sends it back to an earlier
 * object, forever; an object past the end is read past the collection.
 * Such a collection, or one larger than any bound here, is refused
 * before libhdf5 loads it: in a sound one the objects end at its end. */
static GArray *
heap_collection (guint64 address)
{
  guint sizeof_size = vlen_heap.sizeof_size;
  guint header = 8 + sizeof_size;
  guint8 head[8 + 8];
  guint64 collection_size, offset, start;
  g_autofree guint8 *chunk = NULL;
  GArray *sizes = NULL;

  if (vlen_heap.collections == NULL)
    vlen_heap.collections = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, free_sizes);
  if (g_hash_table_lookup_extended (vlen_heap.collections, &address, NULL, (gpointer *) &sizes))
    return sizes;

  if (g_uint64_checked_add (&start, vlen_heap.base, address) && heap_read (start, head, header)
      && memcmp (head, "GCOL", 4) == 0 && (collection_size = read_le (head + 8, sizeof_size)) >= header
      && collection_size <= QS_MAX_VLEN_BATCH_BYTES + (G_GUINT64_CONSTANT (1) << 20)
      && (chunk = g_try_malloc (collection_size)) != NULL && heap_read (start, chunk, collection_size))
    {
      sizes = g_array_new (FALSE, FALSE, sizeof (guint64));
      for (offset = header; offset < collection_size && collection_size - offset >= header;)
        {
          guint64 index = read_le (chunk + offset, 2);
          guint64 size = read_le (chunk + offset + 8, sizeof_size);
          guint64 need;
          const guint64 none = G_MAXUINT64;

          if (index > 0)
            {
              if (size > collection_size)
                {
                  g_clear_pointer (&sizes, g_array_unref);
                  break;
                }
              while (sizes->len <= index)
                g_array_append_val (sizes, none);
              g_array_index (sizes, guint64, index) = size;
              need = header + ((size + 7) & ~G_GUINT64_CONSTANT (7));
            }
          else
            need = size;
          if (need == 0 || need > collection_size - offset)
            {
              g_clear_pointer (&sizes, g_array_unref);
              break;
            }
          offset += need;
        }
    }
  g_hash_table_insert (vlen_heap.collections, g_memdup2 (&address, sizeof address), sizes);
  return sizes;
}

/* Whether the heap object of the file-form element @p (@element_size
 * bytes: length, address, index) fits in @room bytes. */
static gboolean
heap_object_fits (const guint8 *p,
                  gsize         element_size,
                  guint64       room)
{
  guint sizeof_addr = (guint) (element_size - 8);
  guint64 address = read_le (p + 4, sizeof_addr);
  guint64 index = read_le (p + 4 + sizeof_addr, 4);
  GArray *sizes;

  if (address == 0)
    return TRUE;  /* a nil element: nothing is read */
  sizes = heap_collection (address);
  return sizes != NULL && index < sizes->len && g_array_index (sizes, guint64, index) <= room;
}

/* Whether @seq, a variable-length sequence type, is in its memory form
 * (hvl_t, whose data our own process already holds) rather than its file
 * form. The two have the same size when file addresses are 8 bytes;
 * libhdf5 tells them apart in H5Tequal(), which compares where a
 * variable-length type lives, and a memory type made from the base type
 * lives in memory. */
static gboolean
vlen_sequence_in_memory (hid_t seq)
{
  hid_t base, memory_form = H5I_INVALID_HID;
  gboolean in_memory = FALSE;

  if (H5Tget_size (seq) != sizeof (hvl_t))
    return FALSE;
  base = H5Tget_super (seq);
  if (base >= 0)
    memory_form = H5Tvlen_create (base);
  if (memory_form >= 0)
    in_memory = H5Tequal (seq, memory_form) > 0;
  if (memory_form >= 0)
    H5Tclose (memory_form);
  if (base >= 0)
    H5Tclose (base);
  return in_memory;
}

/* The bytes libhdf5 allocates per unit of length an element of @src
 * states when converted to @dst: 1 for a string, the larger base type's
 * size for a sequence (its conversion buffer holds both forms); 0 when
 * @src is in memory, where its first bytes are no length from the file
 * (a string's pointer) or describe data already held. */
static guint64
vlen_unit_bytes (hid_t src,
                 hid_t dst)
{
  hid_t src_base, dst_base;
  guint64 unit;

  if (H5Tis_variable_str (src) > 0)
    return H5Tget_size (src) != sizeof (char *) ? 1 : 0;
  if (vlen_sequence_in_memory (src))
    return 0;
  src_base = H5Tget_super (src);
  dst_base = H5Tget_super (dst);
  unit = MAX (src_base >= 0 ? H5Tget_size (src_base) : 0, dst_base >= 0 ? H5Tget_size (dst_base) : 0);
  if (dst_base >= 0)
    H5Tclose (dst_base);
  if (src_base >= 0)
    H5Tclose (src_base);
  return MAX (unit, 1);
}

static herr_t
bounded_vlen_convert (hid_t        src,
                      hid_t        dst,
                      H5T_cdata_t *cdata,
                      size_t       nelmts,
                      size_t       buf_stride,
                      size_t       bkg_stride,
                      void        *buf,
                      void        *bkg,
                      hid_t        dxpl)
{
  guint64 unit;

  /* In the file an element is its length, then a heap ID (4 + address
   * + 4 bytes). */
  if (cdata->command == H5T_CONV_CONV && buf != NULL && nelmts > 0 && (unit = vlen_unit_bytes (src, dst)) > 0)
    {
      size_t stride = buf_stride != 0 ? buf_stride : H5Tget_size (src);
      guint64 total = vlen_scoped ? vlen_used : 0;

      for (size_t i = 0; i < nelmts; i++)
        {
          const guint8 *p = (const guint8 *) buf + i * stride;
          guint64 length = (guint64) p[0] | (guint64) p[1] << 8 | (guint64) p[2] << 16 | (guint64) p[3] << 24;
          guint64 bytes;

          if (!g_uint64_checked_mul (&bytes, length, unit) || !g_uint64_checked_add (&total, total, bytes)
              || total > vlen_bound)
            {
              vlen_refused = TRUE;
              return -1;
            }
          /* The buffer libhdf5 reads the object into is at least this. */
          if (vlen_scoped && heap_readable () && H5Tget_size (src) > 8
              && H5Tget_size (src) <= 16 && !heap_object_fits (p, H5Tget_size (src), bytes))
            {
              vlen_damaged = TRUE;
              return -1;
            }
        }
      if (vlen_scoped)
        vlen_used = total;
    }
  return vlen_convert (src, dst, cdata, nelmts, buf_stride, bkg_stride, buf, bkg, dxpl);
}

static void
bound_vlen_conversions (void)
{
  hid_t of_int = H5Tvlen_create (H5T_NATIVE_INT), of_short = H5Tvlen_create (H5T_NATIVE_SHORT);
  H5T_cdata_t *cdata = NULL;

  /* Any two variable-length types that differ: their path is libhdf5's
   * variable-length conversion (strings included), the one to wrap; the
   * soft conversion registered over it applies to every such pair. */
  H5E_BEGIN_TRY
    {
      vlen_convert = H5Tfind (of_int, of_short, &cdata);
      if (vlen_convert != NULL)
        H5Tregister (H5T_PERS_SOFT, "quantscope bounded vlen", of_int, of_short, bounded_vlen_convert);
    }
  H5E_END_TRY;
  H5Tclose (of_short);
  H5Tclose (of_int);
}

static void
hdf5_lock (void)
{
  static gsize library_ready = 0;

  g_mutex_lock (&qs_hdf5_mutex);

  /* HDF5's exit handler closes files left open, and crashes on one whose
   * close already failed (a full disk during an export): we close what we
   * open ourselves, so the handler is not wanted. Only effective before
   * the library's first use. */
  if (g_once_init_enter (&library_ready))
    {
      H5dont_atexit ();
      bound_vlen_conversions ();
      g_once_init_leave (&library_ready, 1);
    }

  /* HDF5 prints a full stack dump for every failed call unless told not to;
   * we report failures as GErrors instead. A thread-safe libhdf5 (Debian's
   * is one) keeps this setting per thread, hence once per thread, not once
   * per process. */
  if (g_private_get (&qs_hdf5_quiet) == NULL)
    {
      H5Eset_auto2 (H5E_DEFAULT, NULL, NULL);
      g_private_set (&qs_hdf5_quiet, GINT_TO_POINTER (1));
    }
}

static void
hdf5_unlock (void)
{
  g_mutex_unlock (&qs_hdf5_mutex);
}

static herr_t
innermost_error_cb (unsigned             n,
                    const H5E_error2_t  *err,
                    void                *user_data)
{
  char **detail = user_data;

  if (err->desc == NULL || err->desc[0] == '\0')
    return 0;
  /* A missing filter's innermost message is the plugin search's "can't
   * open directory: .../plugins"; the one naming the filter is outer. */
  if (g_str_has_prefix (err->desc, "required filter "))
    g_free (*detail), *detail = g_strdup (err->desc);
  else if (*detail == NULL)
    *detail = g_strdup (err->desc);
  return 0;
}

/* The most specific message on HDF5's error stack ("truncated file: ...",
 * "can't open directory ..."), or NULL. Call it right after the failing
 * call: any further HDF5 call clears the stack. */
static char *
hdf5_error_detail (void)
{
  char *detail = NULL;

  H5Ewalk2 (H5E_DEFAULT, H5E_WALK_UPWARD, innermost_error_cb, &detail);
  return detail;
}

/* ---- tensor info -------------------------------------------------------- */

static QsTensorInfo *
tensor_info_new (void)
{
  QsTensorInfo *info = g_new0 (QsTensorInfo, 1);

  info->role = QS_TENSOR_ROLE_OTHER;
  info->channel_axis = -1;
  return info;
}

/**
 * qs_tensor_info_copy:
 * Returns: (transfer full): a deep copy of @info.
 */
QsTensorInfo *
qs_tensor_info_copy (const QsTensorInfo *info)
{
  QsTensorInfo *copy;

  g_return_val_if_fail (info != NULL, NULL);

  copy = g_memdup2 (info, sizeof *info);
  copy->path = g_strdup (info->path);
  copy->layer = g_strdup (info->layer);
  copy->dtype = g_strdup (info->dtype);
  copy->stored_path = g_strdup (info->stored_path);
  return copy;
}

void
qs_tensor_info_free (QsTensorInfo *info)
{
  if (info == NULL)
    return;

  g_free (info->path);
  g_free (info->layer);
  g_free (info->dtype);
  g_free (info->stored_path);
  g_free (info);
}

/**
 * qs_tensor_role_to_string:
 * Returns: (transfer none): a stable lower-case name, for JSON and logs.
 */
const char *
qs_tensor_role_to_string (QsTensorRole role)
{
  switch (role)
    {
    case QS_TENSOR_ROLE_KERNEL:
      return "kernel";
    case QS_TENSOR_ROLE_DEPTHWISE_KERNEL:
      return "depthwise_kernel";
    case QS_TENSOR_ROLE_BIAS:
      return "bias";
    case QS_TENSOR_ROLE_BATCHNORM:
      return "batchnorm";
    case QS_TENSOR_ROLE_OTHER:
      return "other";
    }

  return "other";
}

/* ---- small path and name helpers ---------------------------------------- */

char *
_qs_hdf5_path_join (const char *group,
                    const char *name)
{
  if (g_str_has_suffix (group, "/"))
    return g_strconcat (group, name, NULL);
  return g_strconcat (group, "/", name, NULL);
}

/* Where HDF5 keeps @info. */
static const char *
stored_path (const QsTensorInfo *info)
{
  return info->stored_path != NULL ? info->stored_path : info->path;
}

static const char *
path_basename (const char *path)
{
  const char *slash = strrchr (path, '/');

  return slash != NULL ? slash + 1 : path;
}

/* The name of the group holding @path; "/" for the root's children. */
static char *
path_parent_name (const char *path)
{
  const char *last = strrchr (path, '/');
  const char *start;

  if (last == NULL || last == path)
    return g_strdup ("/");

  start = last;
  while (start > path && start[-1] != '/')
    start--;
  return g_strndup (start, last - start);
}

/* Orders paths as a tree view would (a group's children before its
 * siblings that merely share a prefix) and numbers by value, so "vars/10"
 * follows "vars/9" and "conv2d_10" follows "conv2d_2". */
static int
natural_compare (const char *a,
                 const char *b)
{
  const char *pa = a;
  const char *pb = b;

  while (*pa != '\0' && *pb != '\0')
    {
      if (g_ascii_isdigit (*pa) && g_ascii_isdigit (*pb))
        {
          const char *da, *db;
          size_t la, lb;
          int cmp;

          while (*pa == '0')
            pa++;
          while (*pb == '0')
            pb++;
          for (da = pa; g_ascii_isdigit (*pa); pa++)
            ;
          for (db = pb; g_ascii_isdigit (*pb); pb++)
            ;
          la = pa - da;
          lb = pb - db;
          if (la != lb)
            return la < lb ? -1 : 1;
          cmp = strncmp (da, db, la);
          if (cmp != 0)
            return cmp;
          continue;
        }
      else
        {
          guchar ca = *pa == '/' ? 1 : (guchar) *pa;
          guchar cb = *pb == '/' ? 1 : (guchar) *pb;

          if (ca != cb)
            return ca < cb ? -1 : 1;
          pa++;
          pb++;
        }
    }

  if (*pa != '\0' || *pb != '\0')
    return *pa == '\0' ? -1 : 1;

  /* "a01" and "a1" compare equal above; keep the order total. */
  return strcmp (a, b);
}

/* Every floating-point dtype name contains "float" and no other does;
 * the dtype string is the one place the class is kept. */
static gboolean
dtype_is_float (const char *dtype)
{
  return dtype != NULL && strstr (dtype, "float") != NULL;
}

/* ---- describing one dataset --------------------------------------------- */

static char *
describe_type (hid_t     type,
               gboolean *big_endian)
{
  H5T_class_t klass = H5Tget_class (type);
  size_t size = H5Tget_size (type);

  *big_endian = H5Tget_order (type) == H5T_ORDER_BE;

  switch (klass)
    {
    case H5T_FLOAT:
      {
        size_t spos, epos, esize, mpos, msize;

        /* IEEE quad is the widest float there is: a wider one is a
         * damaged header, and HDF5 would allocate conversion buffers of
         * the claimed width (4 GiB for one fuzzed file), so it is never
         * offered for reading. */
        if (size == 0 || size > 16)
          return g_strdup ("unknown");
        if (size == 2
            && H5Tget_fields (type, &spos, &epos, &esize, &mpos, &msize) >= 0
            && esize == 8)
          return g_strdup ("bfloat16");
        /* Other widths (x87 long double, custom minifloats) are still
         * converted by HDF5, so still quantizable; the name says the width. */
        return g_strdup_printf ("float%zu", size * 8);
      }
    case H5T_INTEGER:
      return g_strdup_printf ("%sint%zu",
                              H5Tget_sign (type) == H5T_SGN_NONE ? "u" : "",
                              size * 8);
    case H5T_STRING:
      return g_strdup ("string");
    case H5T_COMPOUND:
      return g_strdup ("compound");
    case H5T_ENUM:
      return g_strdup ("enum");
    case H5T_VLEN:
      return g_strdup ("vlen");
    case H5T_REFERENCE:
      return g_strdup ("reference");
    case H5T_OPAQUE:
      return g_strdup ("opaque");
    case H5T_BITFIELD:
      return g_strdup ("bitfield");
    case H5T_ARRAY:
      return g_strdup ("array");
    case H5T_TIME:
    case H5T_NO_CLASS:
    case H5T_NCLASSES:
    default:
      return g_strdup ("unknown");
    }
}

/* Fills rank, shape and count. HDF5 allows 32 dimensions and we keep
 * QS_MAX_RANK: a deeper dataset has its leading dimensions merged, which
 * keeps the element count, the row-major order and the trailing (channel)
 * axes intact. */
static gboolean
describe_space (hid_t         space,
                QsTensorInfo *info)
{
  hsize_t dims[H5S_MAX_RANK];
  int ndims, extra, i;
  uint64_t count = 1;

  switch (H5Sget_simple_extent_type (space))
    {
    case H5S_SCALAR:
      info->rank = 0;
      info->count = 1;
      return TRUE;
    case H5S_NULL:
      info->rank = 0;
      info->count = 0;
      return TRUE;
    case H5S_SIMPLE:
      break;
    case H5S_NO_CLASS:
    default:
      return FALSE;
    }

  ndims = H5Sget_simple_extent_dims (space, dims, NULL);
  if (ndims < 0 || ndims > H5S_MAX_RANK)
    return FALSE;

  for (i = 0; i < ndims; i++)
    {
      if (!g_uint64_checked_mul (&count, count, dims[i]))
        count = G_MAXUINT64;  /* read_tensor refuses it as too large */
    }

  /* dims[0..extra] become shape[0]; the rest are kept as they are. */
  extra = ndims > QS_MAX_RANK ? ndims - QS_MAX_RANK : 0;
  info->rank = ndims - extra;
  for (i = 0; i < info->rank; i++)
    {
      uint64_t extent = dims[i + extra];

      if (i == 0)
        {
          for (int j = 0; j < extra; j++)
            if (!g_uint64_checked_mul (&extent, extent, dims[j]))
              extent = G_MAXUINT64;
        }
      info->shape[i] = (int64_t) MIN (extent, (uint64_t) G_MAXINT64);
    }
  info->count = count;
  return TRUE;
}

/* The open dataset @dset, whose absolute path is @path. */
static QsTensorInfo *
describe_open_dataset (hid_t       dset,
                       const char *path)
{
  g_autoptr(QsTensorInfo) info = tensor_info_new ();
  hid_t space, type;
  gboolean ok = FALSE;

  space = H5Dget_space (dset);
  type = H5Dget_type (dset);
  if (space >= 0 && type >= 0 && describe_space (space, info))
    {
      info->path = g_strdup (path);
      info->dtype = describe_type (type, &info->big_endian);
      info->quantizable = dtype_is_float (info->dtype) && info->count > 0;
      ok = TRUE;
    }

  if (type >= 0)
    H5Tclose (type);
  if (space >= 0)
    H5Sclose (space);

  return ok ? g_steal_pointer (&info) : NULL;
}

/* ---- walking the tree --------------------------------------------------- */

typedef struct
{
  hid_t       file;
  hid_t       lapl;        /* refuses external links */
  GHashTable *seen;        /* object identity strings */
  GPtrArray  *tensors;     /* QsTensorInfo, in discovery order */
  GQueue      groups;      /* group paths still to list */
  GPtrArray  *soft_links;  /* link paths, followed after every hard link */
  GPtrArray  *warnings;    /* one-line texts for links that lead nowhere */
  gboolean    follow_external;
} ScanContext;

static void
link_free (gpointer data)
{
  QsHdf5Link *link = data;

  g_free (link->name);
  g_free (link);
}

GPtrArray *
_qs_hdf5_link_array_new (void)
{
  return g_ptr_array_new_with_free_func (link_free);
}

static herr_t
collect_link_cb (hid_t             group,
                 const char       *name,
                 const QsLinkInfo *info,
                 void             *user_data)
{
  QsHdf5Link *link = g_new0 (QsHdf5Link, 1);

  link->name = g_strdup (name);
  link->type = info->type;
  g_ptr_array_add (user_data, link);
  return 0;
}

gboolean
_qs_hdf5_list_links (hid_t      group,
                     GPtrArray *links)
{
  hsize_t idx = 0;

  return qs_h5_literate (group, H5_INDEX_NAME, H5_ITER_INC, &idx, collect_link_cb, links) >= 0;
}

/* External links open other files. By default they are not followed, not
 * even at the end of a soft link: a weight file should be self-contained
 * (QS_WEIGHT_FILE_FOLLOW_EXTERNAL_LINKS opts in). */
static herr_t
refuse_external_link_cb (const char *parent_file_name,
                         const char *parent_group_name,
                         const char *child_file_name,
                         const char *child_object_name,
                         unsigned   *acc_flags,
                         hid_t       fapl_id,
                         void       *op_data)
{
  return -1;
}

/* When following external links, only regular files: a link naming a FIFO
 * or a device would block or read forever. Names HDF5 will look for in
 * its other search places are left to it. */
static herr_t
regular_external_link_cb (const char *parent_file_name,
                          const char *parent_group_name,
                          const char *child_file_name,
                          const char *child_object_name,
                          unsigned   *acc_flags,
                          hid_t       fapl_id,
                          void       *op_data)
{
  g_autofree char *dir = g_path_get_dirname (parent_file_name);
  g_autofree char *candidate = g_path_is_absolute (child_file_name)
                               ? g_strdup (child_file_name)
                               : g_build_filename (dir, child_file_name, NULL);
  GStatBuf st;

  /* Read-only, whatever the link asks for. */
  *acc_flags = H5F_ACC_RDONLY;
  if (g_stat (candidate, &st) == 0 && !S_ISREG (st.st_mode))
    return -1;
  return 0;
}

/* Identifies the object at @path by file and address, so an object reached
 * through several hard links (or a soft link) is listed once, and a group
 * linked into its own subtree is not walked forever. */
static hid_t
open_object (ScanContext *ctx,
             hid_t        loc,
             const char  *name,
             H5O_type_t  *type,
             char       **identity)
{
  /* One open serves both the identity and, for a dataset, its description:
   * listing a file of many datasets is dominated by these lookups. */
  hid_t obj = H5Oopen (loc, name, ctx->lapl);
#if H5_VERSION_GE (1, 12, 0)
  H5O_info2_t oinfo;
  char *token = NULL;

  if (obj < 0)
    return H5I_INVALID_HID;
  if (H5Oget_info3 (obj, &oinfo, H5O_INFO_BASIC) < 0
      || H5Otoken_to_str (ctx->file, &oinfo.token, &token) < 0)
    {
      H5Oclose (obj);
      return H5I_INVALID_HID;
    }
  *identity = g_strdup_printf ("%lu:%s", (unsigned long) oinfo.fileno, token);
  H5free_memory (token);
#else
  H5O_info_t oinfo;

  if (obj < 0)
    return H5I_INVALID_HID;
  if (H5Oget_info2 (obj, &oinfo, H5O_INFO_BASIC) < 0)
    {
      H5Oclose (obj);
      return H5I_INVALID_HID;
    }
  *identity = g_strdup_printf ("%lu:%" G_GUINT64_FORMAT,
                               (unsigned long) oinfo.fileno, (guint64) oinfo.addr);
#endif
  *type = oinfo.type;
  return obj;
}

/* A one-line description of why the link at @path leads nowhere; nothing
 * for hard links (a damaged object is not the link's fault). */
static void
add_link_warning (ScanContext *ctx,
                  const char  *path)
{
  H5L_info_t linfo;
  g_autofree char *value = NULL;

  if (H5Lget_info (ctx->file, path, &linfo, H5P_DEFAULT) < 0)
    return;
  if (linfo.type == H5L_TYPE_HARD)
    {
      g_ptr_array_add (ctx->warnings,
                       g_strdup_printf ("%s cannot be read (a damaged object header?) and is left out", path));
      return;
    }

  if (linfo.u.val_size > 0 && linfo.u.val_size < 65536)
    {
      value = g_malloc0 (linfo.u.val_size + 1);
      if (H5Lget_val (ctx->file, path, value, linfo.u.val_size, H5P_DEFAULT) < 0)
        g_clear_pointer (&value, g_free);
    }

  if (linfo.type == H5L_TYPE_SOFT)
    g_ptr_array_add (ctx->warnings,
                     g_strdup_printf ("soft link %s → %s leads nowhere (dangling, or a cycle)",
                                      path, value != NULL ? value : "?"));
  else if (linfo.type == H5L_TYPE_EXTERNAL)
    {
      const char *file_name = NULL, *object_name = NULL;
      unsigned flags;

      if (value == NULL
          || H5Lunpack_elink_val (value, linfo.u.val_size, &flags, &file_name, &object_name) < 0)
        file_name = object_name = "?";
      if (ctx->follow_external)
        g_ptr_array_add (ctx->warnings,
                         g_strdup_printf ("external link %s → %s:%s: the target cannot be opened",
                                          path, file_name, object_name));
      else
        g_ptr_array_add (ctx->warnings,
                         g_strdup_printf ("external link %s → %s:%s is not followed",
                                          path, file_name, object_name));
    }
  else
    g_ptr_array_add (ctx->warnings,
                     g_strdup_printf ("link %s has a type this program does not know", path));
}

/* Visits the object linked as @name in @loc (a group of the file, or the
 * file with an absolute @name), whose absolute path is @path. Lookups
 * relative to the open group spare HDF5 walking the path from the root for
 * every member: that walk dominated listing files of many datasets. */
static void
visit_object (ScanContext *ctx,
              hid_t        loc,
              const char  *name,
              const char  *path)
{
  g_autofree char *identity = NULL;
  H5O_type_t type;
  hid_t obj;

  /* Fails for dangling soft links, soft-link loops (HDF5 gives up after
   * 16 hops), refused external links and damaged headers: all skipped,
   * links with a warning. */
  obj = open_object (ctx, loc, name, &type, &identity);
  if (obj < 0)
    {
      add_link_warning (ctx, path);
      return;
    }
  if (!g_hash_table_add (ctx->seen, g_steal_pointer (&identity)))
    {
      H5Oclose (obj);
      return;
    }

  if (type == H5O_TYPE_GROUP)
    {
      g_queue_push_tail (&ctx->groups, g_strdup (path));
    }
  else if (type == H5O_TYPE_DATASET)
    {
      QsTensorInfo *info;

      /* Not even its shape is asked for: with an unlimited mapping,
       * H5Dget_space() opens the sources to size it, and a FIFO among
       * them blocks forever. */
      if (_qs_hdf5_is_virtual (obj))
        {
          g_ptr_array_add (ctx->warnings,
                           g_strdup_printf ("dataset %s is a virtual dataset (its values live in other "
                                            "datasets or files) and is left out", path));
          H5Oclose (obj);
          return;
        }
      info = describe_open_dataset (obj, path);
      if (info != NULL)
        g_ptr_array_add (ctx->tensors, info);
      else
        g_ptr_array_add (ctx->warnings,
                         g_strdup_printf ("dataset %s cannot be described (a damaged header?) and is left out", path));
    }
  H5Oclose (obj);
}

static void
list_group (ScanContext *ctx,
            const char  *group_path)
{
  g_autoptr(GPtrArray) links = _qs_hdf5_link_array_new ();
  hid_t group;
  guint i;

  group = H5Gopen2 (ctx->file, group_path, H5P_DEFAULT);
  if (group < 0)
    {
      g_ptr_array_add (ctx->warnings,
                       g_strdup_printf ("group %s cannot be opened (damaged?) and is left out", group_path));
      return;
    }
  /* A failure part-way still leaves the links met so far: list those. */
  if (!_qs_hdf5_list_links (group, links))
    g_ptr_array_add (ctx->warnings,
                     g_strdup_printf ("group %s cannot be listed in full (damaged?)", group_path));

  for (i = 0; i < links->len; i++)
    {
      QsHdf5Link *entry = g_ptr_array_index (links, i);
      g_autofree char *path = _qs_hdf5_path_join (group_path, entry->name);

      if (entry->type == H5L_TYPE_HARD)
        visit_object (ctx, group, entry->name, path);
      else if (entry->type == H5L_TYPE_SOFT || entry->type == H5L_TYPE_EXTERNAL)
        g_ptr_array_add (ctx->soft_links, g_steal_pointer (&path));
      else
        add_link_warning (ctx, path);
    }
  H5Gclose (group);
}

static void
drain_groups (ScanContext *ctx)
{
  char *group_path;

  /* A queue, not recursion: nesting depth comes from the file. */
  while ((group_path = g_queue_pop_head (&ctx->groups)) != NULL)
    {
      list_group (ctx, group_path);
      g_free (group_path);
    }
}

/* Lists every dataset reachable from the root. Hard links are walked
 * first, so a dataset is named by its hard-link path; soft links are then
 * followed, which in a well-formed file only meets objects already seen but
 * costs little and covers targets reachable solely through soft links. */
static GPtrArray *
scan_file (hid_t       file,
           gboolean    follow_external,
           GPtrArray  *warnings)
{
  ScanContext ctx = { 0, };
  guint i;

  ctx.file = file;
  ctx.follow_external = follow_external;
  ctx.warnings = warnings;
  ctx.lapl = H5Pcreate (H5P_LINK_ACCESS);
  if (ctx.lapl >= 0)
    H5Pset_elink_cb (ctx.lapl, follow_external ? regular_external_link_cb : refuse_external_link_cb, NULL);
  else
    ctx.lapl = H5P_DEFAULT;
  ctx.seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  ctx.tensors = g_ptr_array_new_with_free_func ((GDestroyNotify) qs_tensor_info_free);
  g_queue_init (&ctx.groups);
  ctx.soft_links = g_ptr_array_new_with_free_func (g_free);

  visit_object (&ctx, file, "/", "/");
  drain_groups (&ctx);

  /* The array grows while we walk it: targets may hold more soft links. */
  for (i = 0; i < ctx.soft_links->len; i++)
    {
      const char *link_path = g_ptr_array_index (ctx.soft_links, i);

      visit_object (&ctx, file, link_path, link_path);
      drain_groups (&ctx);
    }

  if (ctx.lapl != H5P_DEFAULT)
    H5Pclose (ctx.lapl);
  g_hash_table_unref (ctx.seen);
  g_ptr_array_unref (ctx.soft_links);
  return ctx.tensors;
}

/* ---- attributes --------------------------------------------------------- */

/* Reads a text attribute (a scalar or 1-D array, fixed- or variable-length
 * strings; Keras and h5py write both kinds) of the object at @obj_path.
 * Returns: (transfer full) (nullable): the strings, or NULL when the
 * attribute is missing or not text. An attribute with no elements is an
 * empty list whatever its type: Keras writes a layer without weights as
 * an empty float64 array. */
static GPtrArray *
read_string_attribute (hid_t       file,
                       const char *obj_path,
                       const char *name,
                       GError    **error)
{
  g_autoptr(GPtrArray) strings = NULL;
  hid_t attr, space = H5I_INVALID_HID, ftype = H5I_INVALID_HID, mtype = H5I_INVALID_HID;
  hssize_t n;
  gboolean ok = FALSE;
  guint64 stored_bytes;

  if (H5Aexists_by_name (file, obj_path, name, H5P_DEFAULT) <= 0)
    return NULL;
  attr = H5Aopen_by_name (file, obj_path, name, H5P_DEFAULT, H5P_DEFAULT);
  if (attr < 0)
    return NULL;

  strings = g_ptr_array_new_with_free_func (g_free);
  space = H5Aget_space (attr);
  ftype = H5Aget_type (attr);
  n = space >= 0 ? H5Sget_simple_extent_npoints (space) : -1;

  if (n == 0)
    {
      ok = TRUE;
    }
  else if (n < 0 || n > G_MAXINT || ftype < 0 || H5Tget_class (ftype) != H5T_STRING)
    {
      ok = FALSE;
    }
  else if (H5Tis_variable_str (ftype) <= 0
           && (!g_uint64_checked_mul (&stored_bytes, H5Tget_size (ftype), (guint64) n)
               || stored_bytes > QS_MAX_STRING_ATTRIBUTE_BYTES))
    {
      /* Refused before HDF5 reads it whole: the JSON bound that applies
       * afterwards would come after the allocation it is there to stop. */
      g_set_error (error, QS_ERROR, QS_ERROR_TOO_LARGE,
                   "the “%s” attribute stores %" G_GUINT64_FORMAT " × %zu bytes of text, more than "
                   "%d MiB: refused rather than read", name, (guint64) n, H5Tget_size (ftype),
                   (int) (QS_MAX_STRING_ATTRIBUTE_BYTES >> 20));
      ok = FALSE;
    }
  else if (H5Tis_variable_str (ftype) > 0)
    {
      g_autofree char **buffer = g_new0 (char *, n);
      QsVlenVerdict verdict;
      herr_t status;

      mtype = H5Tcopy (H5T_C_S1);
      H5Tset_size (mtype, H5T_VARIABLE);
      H5Tset_cset (mtype, H5Tget_cset (ftype));
      _qs_hdf5_vlen_bound_begin (attr, QS_MAX_STRING_ATTRIBUTE_BYTES);
      status = H5Aread (attr, mtype, buffer);
      verdict = _qs_hdf5_vlen_bound_end ();
      if (verdict == QS_VLEN_TOO_LARGE)
        g_set_error (error, QS_ERROR, QS_ERROR_TOO_LARGE,
                     "the “%s” attribute states more than %d MiB of text: refused rather than read", name,
                     (int) (QS_MAX_STRING_ATTRIBUTE_BYTES >> 20));
      else if (verdict == QS_VLEN_DAMAGED)
        g_set_error (error, QS_ERROR, QS_ERROR_READ,
                     "the “%s” attribute is damaged: its text is missing, damaged or longer than it states", name);
      else if (status >= 0)
        {
          for (hssize_t i = 0; i < n; i++)
            g_ptr_array_add (strings, g_strdup (buffer[i] != NULL ? buffer[i] : ""));
#if H5_VERSION_GE (1, 12, 0)
          H5Treclaim (mtype, space, H5P_DEFAULT, buffer);
#else
          H5Dvlen_reclaim (mtype, space, H5P_DEFAULT, buffer);
#endif
          ok = TRUE;
        }
    }
  else
    {
      /* One byte more than stored, null-terminated: HDF5 then copies a
       * null-padded string whole instead of dropping its last character. */
      size_t width = H5Tget_size (ftype) + 1;
      g_autofree char *buffer = NULL;

      if (width > 1 && (size_t) n <= G_MAXSIZE / width)
        buffer = g_try_malloc0 (width * n);
      if (buffer != NULL)
        {
          mtype = H5Tcopy (H5T_C_S1);
          H5Tset_size (mtype, width);
          H5Tset_strpad (mtype, H5T_STR_NULLTERM);
          H5Tset_cset (mtype, H5Tget_cset (ftype));
          if (H5Aread (attr, mtype, buffer) >= 0)
            {
              for (hssize_t i = 0; i < n; i++)
                g_ptr_array_add (strings, g_strndup (buffer + i * width, width));
              ok = TRUE;
            }
        }
    }

  if (mtype >= 0)
    H5Tclose (mtype);
  if (ftype >= 0)
    H5Tclose (ftype);
  if (space >= 0)
    H5Sclose (space);
  H5Aclose (attr);

  return ok ? g_steal_pointer (&strings) : NULL;
}

/* Keras splits attributes past 64 KiB into name0, name1, ...: this reads
 * either form as one list. */
static GPtrArray *
read_string_list (hid_t       file,
                  const char *obj_path,
                  const char *name)
{
  GPtrArray *all = read_string_attribute (file, obj_path, name, NULL);

  if (all != NULL)
    return all;

  for (guint chunk = 0; ; chunk++)
    {
      g_autofree char *chunk_name = g_strdup_printf ("%s%u", name, chunk);
      g_autoptr(GPtrArray) part = read_string_attribute (file, obj_path, chunk_name, NULL);

      if (part == NULL)
        break;
      if (all == NULL)
        all = g_ptr_array_new_with_free_func (g_free);
      for (guint i = 0; i < part->len; i++)
        g_ptr_array_add (all, g_steal_pointer (&part->pdata[i]));
    }

  return all;
}

/* ---- Keras conventions -------------------------------------------------- */

typedef enum {
  LAYER_KIND_PLAIN,
  LAYER_KIND_DEPTHWISE,
  LAYER_KIND_SEPARABLE,
  LAYER_KIND_TRANSPOSE,
  LAYER_KIND_NORMALIZATION,
} LayerKind;

/* json-glib warns when asked for a string that is not one; the config
 * comes from the file, so check instead. */
static const char *
json_string_member (JsonObject *object,
                    const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static void
collect_layer_classes (JsonNode   *node,
                       GHashTable *classes,
                       int         depth)
{
  if (node == NULL || depth > QS_MAX_CONFIG_DEPTH)
    return;

  if (JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObject *object = json_node_get_object (node);
      const char *class_name = json_string_member (object, "class_name");
      JsonNode *config = json_object_get_member (object, "config");
      g_autoptr(GList) members = json_object_get_members (object);

      if (class_name != NULL && config != NULL && JSON_NODE_HOLDS_OBJECT (config))
        {
          const char *name = json_string_member (json_node_get_object (config), "name");
          if (name != NULL)
            g_hash_table_insert (classes, g_strdup (name), g_strdup (class_name));
        }

      for (GList *l = members; l != NULL; l = l->next)
        collect_layer_classes (json_object_get_member (object, l->data), classes, depth + 1);
    }
  else if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *array = json_node_get_array (node);

      for (guint i = 0; i < json_array_get_length (array); i++)
        collect_layer_classes (json_array_get_element (array, i), classes, depth + 1);
    }
}

/* Layer name -> Keras class name, from model_config; empty when there is
 * no config or it does not parse (the config is informative, not needed). */
static GHashTable *
layer_classes_from_config (const char *model_config)
{
  GHashTable *classes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(JsonParser) parser = NULL;

  if (model_config == NULL)
    return classes;

  parser = json_parser_new_immutable ();
  if (qs_json_parser_load_python (parser, model_config, -1, QS_JSON_MAX_CONFIG_BYTES, "model_config", NULL))
    collect_layer_classes (json_parser_get_root (parser), classes, 0);
  return classes;
}

/* The class from model_config when known, else Keras's default layer names
 * (snake_case of the class, "_n" appended), which weights-only files keep. */
static LayerKind
layer_kind (GHashTable *classes,
            const char *layer)
{
  const char *class_name = classes != NULL ? g_hash_table_lookup (classes, layer) : NULL;

  if (class_name != NULL)
    {
      if (g_str_has_prefix (class_name, "DepthwiseConv"))
        return LAYER_KIND_DEPTHWISE;
      if (g_str_has_prefix (class_name, "SeparableConv"))
        return LAYER_KIND_SEPARABLE;
      if (strstr (class_name, "Transpose") != NULL)
        return LAYER_KIND_TRANSPOSE;
      if (strstr (class_name, "Normalization") != NULL)
        return LAYER_KIND_NORMALIZATION;
      return LAYER_KIND_PLAIN;
    }

  if (layer == NULL)
    return LAYER_KIND_PLAIN;
  if (g_str_has_prefix (layer, "depthwise_conv"))
    return LAYER_KIND_DEPTHWISE;
  if (g_str_has_prefix (layer, "separable_conv"))
    return LAYER_KIND_SEPARABLE;
  if (strstr (layer, "conv") != NULL && strstr (layer, "transpose") != NULL)
    return LAYER_KIND_TRANSPOSE;
  if (strstr (layer, "normalization") != NULL)
    return LAYER_KIND_NORMALIZATION;
  return LAYER_KIND_PLAIN;
}

/* The role from a Keras weight name ("conv2d/kernel:0", "kernel") or the
 * last part of a generic one ("conv1.weight"). */
static QsTensorRole
role_from_weight_name (const char *weight_name,
                       int         rank)
{
  const char *base = path_basename (weight_name);
  const char *dot = strrchr (base, '.');
  g_autofree char *name = NULL;
  char *colon;

  if (dot != NULL)
    base = dot + 1;
  name = g_strdup (base);
  colon = strrchr (name, ':');
  if (colon != NULL)
    *colon = '\0';

  if (g_str_equal (name, "depthwise_kernel"))
    return QS_TENSOR_ROLE_DEPTHWISE_KERNEL;
  /* pointwise_kernel, recurrent_kernel: matrices quantized like kernels. */
  if (g_str_equal (name, "kernel") || g_str_has_suffix (name, "_kernel"))
    return QS_TENSOR_ROLE_KERNEL;
  /* PyTorch's "weight" is a kernel only as a matrix or more: a 1-D weight
   * is a normalization layer's scale. */
  if (g_str_equal (name, "weight"))
    return rank >= 2 ? QS_TENSOR_ROLE_KERNEL : QS_TENSOR_ROLE_OTHER;
  if (g_str_equal (name, "bias"))
    return QS_TENSOR_ROLE_BIAS;
  if (g_str_equal (name, "gamma") || g_str_equal (name, "beta")
      || g_str_equal (name, "moving_mean") || g_str_equal (name, "moving_variance")
      || g_str_equal (name, "running_mean") || g_str_equal (name, "running_var"))
    return QS_TENSOR_ROLE_BATCHNORM;
  /* Keras 1 prefixes the layer's name: "convolution2d_1_W", "dense_1_b",
   * "batchnormalization_1_running_std". */
  if (g_str_has_suffix (name, "_W"))
    return rank >= 2 ? QS_TENSOR_ROLE_KERNEL : QS_TENSOR_ROLE_OTHER;
  if (g_str_has_suffix (name, "_b"))
    return QS_TENSOR_ROLE_BIAS;
  if (g_str_has_suffix (name, "_gamma") || g_str_has_suffix (name, "_beta")
      || g_str_has_suffix (name, "_running_mean") || g_str_has_suffix (name, "_running_std"))
    return QS_TENSOR_ROLE_BATCHNORM;
  return QS_TENSOR_ROLE_OTHER;
}

/* Keras 1's convolution kernel "<layer>_W" is (out, in, kh, kw) under
 * dim_ordering "th" (Theano's), (kh, kw, in, out) under "tf": the
 * config's word when it gives one (@th_config: some layer is "th", none
 * "tf"), else the shape's (a square window first or last). */
static gboolean
keras1_th_kernel (const QsTensorInfo *info,
                  const char         *weight_name,
                  int                 th_config)
{
  g_autofree char *name = g_strdup (path_basename (weight_name));
  char *colon = strrchr (name, ':');

  if (colon != NULL)
    *colon = '\0';
  if (info->rank != 4 || !g_str_has_suffix (name, "_W"))
    return FALSE;
  if (th_config >= 0)
    return th_config == 1;
  return info->shape[2] == info->shape[3] && info->shape[0] != info->shape[1];
}

/* 1 when @model_config orders some layer "th" and none "tf", 0 the
 * reverse, -1 when it says neither (Keras 2 and 3, or no config). */
static int
keras1_th_config (const char *model_config)
{
  gboolean th, tf;

  if (model_config == NULL)
    return -1;
  th = strstr (model_config, "\"dim_ordering\": \"th\"") != NULL;
  tf = strstr (model_config, "\"dim_ordering\": \"tf\"") != NULL;
  return th == tf ? -1 : th;
}

/* Keras kernels keep the output channel last: Conv (kh, kw, in, out) and
 * Dense (in, out). Two exceptions:
 * - a depthwise kernel (kh, kw, in, mult) has in * mult output channels;
 *   we use axis 2 (rank - 2), exact for the usual mult == 1, and with
 *   mult > 1 it groups the mult outputs of one input channel together,
 *   which the single-axis channel layout cannot split further;
 * - a transposed conv kernel (kh, kw, out, in) has them at rank - 2.
 * Vectors (bias, batch-norm) and scalars have no channel axis. */
static int
keras_channel_axis (int          rank,
                    QsTensorRole role,
                    LayerKind    kind)
{
  if (rank < 2)
    return -1;
  if (role == QS_TENSOR_ROLE_DEPTHWISE_KERNEL && rank >= 3)
    return rank - 2;
  if (role == QS_TENSOR_ROLE_KERNEL && kind == LAYER_KIND_TRANSPOSE && rank >= 3)
    return rank - 2;
  return rank - 1;
}

/* Without a framework's word on the layout, two conventions compete: Keras
 * and TensorFlow put the output channel last, PyTorch and Caffe first
 * (out, in, kh, kw). A dataset whose name ends in "weight" ("weight",
 * "conv1.weight") follows PyTorch's naming, so it gets axis 0; anything
 * else gets the last axis. */
static int
generic_channel_axis (const QsTensorInfo *info)
{
  if (info->rank < 2)
    return -1;
  if (g_str_has_suffix (path_basename (info->path), "weight"))
    return 0;
  return info->rank - 1;
}

/* Caffe's HDF5 snapshot (Net::ToHDF5): "/data/<layer>/<i>", blob 0 a
 * layer's weights (out, in, kh, kw) and blob 1 its bias. Returns the
 * layer name and the blob index, or NULL. */
static char *
caffe_blob (const char *path,
            guint64    *index)
{
  g_auto(GStrv) parts = g_strsplit (path, "/", -1);

  if (g_strv_length (parts) != 4 || parts[0][0] != '\0' || !g_str_equal (parts[1], "data")
      || parts[2][0] == '\0' || !g_ascii_string_to_unsigned (parts[3], 10, 0, G_MAXUINT32, index, NULL))
    return NULL;
  return g_strdup (parts[2]);
}

/* A generic tensor's layer, role and channel axis from its path; @by_path
 * holds every tensor of the file. */
static void
name_generic (QsTensorInfo *info,
              GHashTable   *by_path)
{
  const char *base = path_basename (info->path);
  const char *dot = strrchr (base, '.');
  g_autofree char *caffe_layer = NULL;
  guint64 index = 0;

  if ((caffe_layer = caffe_blob (info->path, &index)) != NULL)
    {
      g_autofree char *third = g_strdup_printf ("/data/%s/2", caffe_layer);
      const QsTensorInfo *factor = g_hash_table_lookup (by_path, third);

      info->layer = g_steal_pointer (&caffe_layer);
      /* Caffe's BatchNorm: mean, variance and a one-element scale factor. */
      if (factor != NULL && factor->count == 1 && index <= 2)
        info->role = QS_TENSOR_ROLE_BATCHNORM;
      else
        info->role = index == 0 && info->rank >= 2 ? QS_TENSOR_ROLE_KERNEL
                     : index == 1 && info->rank == 1 ? QS_TENSOR_ROLE_BIAS : QS_TENSOR_ROLE_OTHER;
      info->channel_axis = info->role == QS_TENSOR_ROLE_KERNEL ? 0 : -1;
      return;
    }
  info->layer = path_parent_name (info->path);
  /* A state_dict written key by key: "layer1.0.conv1.weight" is layer "layer1.0.conv1". */
  if (g_str_equal (info->layer, "/") && dot != NULL && dot != base && dot[1] != '\0')
    {
      g_free (info->layer);
      info->layer = g_strndup (base, dot - base);
    }
  info->role = role_from_weight_name (info->path, info->rank);
  info->channel_axis = generic_channel_axis (info);
  /* Chainer's save_hdf5: "<link>/W" (out, in, kh, kw) or (out, in), "b",
   * and BatchNormalization's avg_mean and avg_var. */
  if (g_str_equal (base, "W") && info->rank >= 2)
    info->role = QS_TENSOR_ROLE_KERNEL, info->channel_axis = 0;
  else if (g_str_equal (base, "b") && info->rank == 1)
    info->role = QS_TENSOR_ROLE_BIAS;
  else if (g_str_equal (base, "avg_mean") || g_str_equal (base, "avg_var"))
    info->role = QS_TENSOR_ROLE_BATCHNORM;
}

/* Keras 3 .weights.h5 names variables by position: ".../<layer>/vars/<i>".
 * Returns the layer name and index, or NULL. */
static char *
keras3_variable (const char *path,
                 guint      *index)
{
  g_auto(GStrv) parts = g_strsplit (path, "/", -1);
  guint n = g_strv_length (parts);
  guint64 value;

  if (n < 3 || !g_str_equal (parts[n - 2], "vars") || parts[n - 3][0] == '\0')
    return NULL;
  if (!g_ascii_string_to_unsigned (parts[n - 1], 10, 0, G_MAXUINT, &value, NULL))
    return NULL;

  *index = (guint) value;
  return g_strdup (parts[n - 3]);
}

static QsTensorRole
keras3_role (LayerKind kind,
             guint     index)
{
  switch (kind)
    {
    case LAYER_KIND_NORMALIZATION:
      return QS_TENSOR_ROLE_BATCHNORM;
    case LAYER_KIND_DEPTHWISE:
      return index == 0 ? QS_TENSOR_ROLE_DEPTHWISE_KERNEL
           : index == 1 ? QS_TENSOR_ROLE_BIAS : QS_TENSOR_ROLE_OTHER;
    case LAYER_KIND_SEPARABLE:
      return index == 0 ? QS_TENSOR_ROLE_DEPTHWISE_KERNEL
           : index == 1 ? QS_TENSOR_ROLE_KERNEL
           : index == 2 ? QS_TENSOR_ROLE_BIAS : QS_TENSOR_ROLE_OTHER;
    case LAYER_KIND_PLAIN:
    case LAYER_KIND_TRANSPOSE:
    default:
      return index == 0 ? QS_TENSOR_ROLE_KERNEL
           : index == 1 ? QS_TENSOR_ROLE_BIAS : QS_TENSOR_ROLE_OTHER;
    }
}

/* Keras 3 keeps layers under "/layers"; tf.keras 2.13's .keras files
 * under "/_layer_checkpoint_dependencies". */
static gboolean
is_keras3_group (const char *path)
{
  return g_str_has_prefix (path, "/layers/") || g_str_has_prefix (path, "/_layer_checkpoint_dependencies/");
}

static gboolean
is_keras3_layout (hid_t      file,
                  GPtrArray *found)
{
  if (H5Lexists (file, "/layers", H5P_DEFAULT) <= 0
      && H5Lexists (file, "/_layer_checkpoint_dependencies", H5P_DEFAULT) <= 0)
    return FALSE;

  for (guint i = 0; i < found->len; i++)
    {
      QsTensorInfo *info = g_ptr_array_index (found, i);
      g_autofree char *layer = NULL;
      guint index;

      if (is_keras3_group (info->path)
          && (layer = keras3_variable (info->path, &index)) != NULL)
        return TRUE;
    }
  return FALSE;
}

/* Sort keys of Keras 3 variables the config names: by the layer's place
 * in the model, then the variable's number; the others after them. */
#define KERAS3_UNNAMED G_MAXUINT64

/* Names a Keras 3 variable after its layer and weight ("/conv1/kernel",
 * stored at "/layers/conv2d/vars/0") when @keras3 (from config.json)
 * knows its group and the name is not @taken; returns its sort key. */
static guint64
name_keras3_variable (QsTensorInfo *info,
                      GHashTable   *keras3,
                      GHashTable   *classes,
                      GHashTable   *taken)
{
  const char *vars = g_strrstr (info->path, "/vars/");
  g_autofree char *group = NULL;
  g_autofree char *display = NULL;
  const QsKeras3Layer *layer;
  const char *weight;
  guint64 index;

  if (keras3 == NULL || vars == NULL
      || !g_ascii_string_to_unsigned (vars + strlen ("/vars/"), 10, 0, G_MAXUINT16, &index, NULL))
    return KERAS3_UNNAMED;
  group = g_strndup (info->path, vars - info->path);
  layer = g_hash_table_lookup (keras3, group);
  if (layer == NULL)
    return KERAS3_UNNAMED;

  weight = layer->weights != NULL && index < layer->weights->len ? g_ptr_array_index (layer->weights, index) : NULL;
  display = weight != NULL ? g_strdup_printf ("%s/%s", layer->display, weight)
                           : g_strdup_printf ("%s/vars/%" G_GUINT64_FORMAT, layer->display, index);
  info->layer = g_strdup (layer->layer);
  info->role = weight != NULL ? role_from_weight_name (weight, info->rank)
                              : keras3_role (layer_kind (classes, layer->layer), (guint) index);
  info->channel_axis = keras_channel_axis (info->rank, info->role, layer_kind (classes, layer->layer));
  if (!g_hash_table_contains (taken, display))
    {
      info->stored_path = g_steal_pointer (&info->path);
      info->path = g_steal_pointer (&display);
      g_hash_table_add (taken, info->path);
    }
  return ((guint64) layer->order << 16) | index;
}

static int
keras3_order_compare (gconstpointer a,
                      gconstpointer b,
                      gpointer      keys)
{
  const QsTensorInfo *ta = *(const QsTensorInfo * const *) a;
  const QsTensorInfo *tb = *(const QsTensorInfo * const *) b;
  guint64 ka = *(guint64 *) g_hash_table_lookup (keys, ta);
  guint64 kb = *(guint64 *) g_hash_table_lookup (keys, tb);

  if (ka != kb)
    return ka < kb ? -1 : 1;
  return natural_compare (stored_path (ta), stored_path (tb));
}

/* The dataset a weight_names entry names: "<group>/<name>" as Keras
 * writes it, else a dataset of the layer's group with the same last part
 * (some converters shorten the stored names). */
static QsTensorInfo *
find_keras_weight (GHashTable *by_path,
                   GPtrArray  *found,
                   const char *group_path,
                   const char *weight_name)
{
  g_autofree char *path = _qs_hdf5_path_join (group_path, weight_name);
  g_autofree char *prefix = NULL;
  QsTensorInfo *info = g_hash_table_lookup (by_path, path);

  if (info != NULL)
    return info;

  prefix = g_strconcat (group_path, "/", NULL);
  for (guint i = 0; i < found->len; i++)
    {
      QsTensorInfo *candidate = g_ptr_array_index (found, i);

      if (g_str_has_prefix (candidate->path, prefix)
          && g_str_equal (path_basename (candidate->path), path_basename (weight_name)))
        return candidate;
    }
  return NULL;
}

/* Fills layer, role and channel axis of every tensor and puts them in
 * display order: Keras files by layer_names then weight_names, then
 * whatever the attributes do not mention, in natural path order. */
static void
organise_tensors (QsWeightFile *self,
                  GPtrArray    *found)
{
  g_autoptr(GHashTable) found_by_path = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GHashTable) placed = g_hash_table_new (NULL, NULL);
  g_autoptr(GHashTable) classes = layer_classes_from_config (self->model_config);
  g_autoptr(GPtrArray) layer_names = NULL;
  const char *weight_root = NULL;
  gboolean keras;
  int th_config = keras1_th_config (self->model_config);

  for (guint i = 0; i < found->len; i++)
    {
      QsTensorInfo *info = g_ptr_array_index (found, i);

      g_hash_table_insert (found_by_path, info->path, info);
    }

  if (self->model_config != NULL
      && (layer_names = read_string_list (self->file, "/model_weights", "layer_names")) != NULL)
    {
      self->layout = QS_FILE_LAYOUT_KERAS_MODEL;
      weight_root = "/model_weights";
    }
  else if ((layer_names = read_string_list (self->file, "/", "layer_names")) != NULL)
    {
      self->layout = QS_FILE_LAYOUT_KERAS_WEIGHTS;
      weight_root = "/";
    }
  else if (is_keras3_layout (self->file, found))
    {
      self->layout = QS_FILE_LAYOUT_KERAS3_WEIGHTS;
    }
  else
    {
      self->layout = QS_FILE_LAYOUT_GENERIC;
    }
  keras = self->layout != QS_FILE_LAYOUT_GENERIC;

  for (guint l = 0; layer_names != NULL && l < layer_names->len; l++)
    {
      const char *layer = g_ptr_array_index (layer_names, l);
      g_autofree char *group_path = _qs_hdf5_path_join (weight_root, layer);
      g_autoptr(GPtrArray) weight_names = read_string_list (self->file, group_path, "weight_names");
      LayerKind kind = layer_kind (classes, layer);

      for (guint w = 0; weight_names != NULL && w < weight_names->len; w++)
        {
          const char *weight_name = g_ptr_array_index (weight_names, w);
          QsTensorInfo *info = find_keras_weight (found_by_path, found, group_path, weight_name);

          if (info == NULL || !g_hash_table_add (placed, info))
            continue;
          g_free (info->layer);
          info->layer = g_strdup (layer);
          info->role = role_from_weight_name (weight_name, info->rank);
          info->channel_axis = keras_channel_axis (info->rank, info->role, kind);
          if (keras1_th_kernel (info, weight_name, th_config))
            info->channel_axis = 0;
          g_ptr_array_add (self->tensors, info);
        }
    }

  {
    g_autoptr(GPtrArray) rest = g_ptr_array_new ();
    g_autoptr(GHashTable) keras3 = self->layout == QS_FILE_LAYOUT_KERAS3_WEIGHTS
                                   ? _qs_keras3_layers_from_config (self->model_config) : NULL;
    g_autoptr(GHashTable) taken = g_hash_table_new (g_str_hash, g_str_equal);
    g_autoptr(GHashTable) keys = g_hash_table_new_full (NULL, NULL, NULL, g_free);

    for (guint i = 0; i < found->len; i++)
      {
        QsTensorInfo *info = g_ptr_array_index (found, i);

        if (!g_hash_table_contains (placed, info))
          g_ptr_array_add (rest, info);
        g_hash_table_add (taken, info->path);
      }
    for (guint i = 0; i < rest->len; i++)
      {
        QsTensorInfo *info = g_ptr_array_index (rest, i);
        guint64 *key = g_new (guint64, 1);

        *key = name_keras3_variable (info, keras3, classes, taken);
        g_hash_table_insert (keys, info, key);
      }
    g_ptr_array_sort_with_data (rest, keras3_order_compare, keys);

    for (guint i = 0; i < rest->len; i++)
      {
        QsTensorInfo *info = g_ptr_array_index (rest, i);
        g_autofree char *layer3 = NULL;
        guint index = 0;

        if (info->stored_path != NULL || info->layer != NULL)
          ;  /* named from config.json above */
        else if (self->layout == QS_FILE_LAYOUT_KERAS3_WEIGHTS
            && is_keras3_group (info->path)
            && (layer3 = keras3_variable (info->path, &index)) != NULL)
          {
            LayerKind kind = layer_kind (NULL, layer3);

            info->role = keras3_role (kind, index);
            info->channel_axis = keras_channel_axis (info->rank, info->role, kind);
            info->layer = g_steal_pointer (&layer3);
          }
        else if (!keras)
          name_generic (info, found_by_path);
        else
          {
            info->layer = path_parent_name (info->path);
            info->role = role_from_weight_name (info->path, info->rank);
            info->channel_axis = keras_channel_axis (info->rank, info->role, layer_kind (classes, info->layer));
          }
        g_ptr_array_add (self->tensors, info);
      }
  }

  /* self->tensors now owns every element of found. */
  g_ptr_array_set_free_func (found, NULL);

  for (guint i = 0; i < self->tensors->len; i++)
    {
      QsTensorInfo *info = g_ptr_array_index (self->tensors, i);

      g_hash_table_insert (self->by_path, info->path, info);
      if (info->stored_path != NULL)
        g_hash_table_insert (self->by_path, info->stored_path, info);
    }
}

/* ---- the object --------------------------------------------------------- */

static void
qs_weight_file_finalize (GObject *object)
{
  QsWeightFile *self = QS_WEIGHT_FILE (object);

  if (self->file >= 0)
    {
      hdf5_lock ();
      H5Fclose (self->file);
      hdf5_unlock ();
    }

  g_clear_pointer (&self->by_path, g_hash_table_unref);
  g_clear_pointer (&self->tensors, g_ptr_array_unref);
  g_clear_pointer (&self->warnings, g_ptr_array_unref);
  g_clear_pointer (&self->model_config, g_free);
  g_clear_pointer (&self->backend, g_free);
  g_clear_pointer (&self->filename, g_free);

  G_OBJECT_CLASS (qs_weight_file_parent_class)->finalize (object);
}

static void
qs_weight_file_class_init (QsWeightFileClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = qs_weight_file_finalize;
}

static void
qs_weight_file_init (QsWeightFile *self)
{
  self->file = H5I_INVALID_HID;
  self->layout = QS_FILE_LAYOUT_GENERIC;
  self->tensors = g_ptr_array_new_with_free_func ((GDestroyNotify) qs_tensor_info_free);
  self->by_path = g_hash_table_new (g_str_hash, g_str_equal);
  self->warnings = g_ptr_array_new_with_free_func (g_free);
}

/* A metadata cache that starts large: listing a file of many datasets
 * touches every object header once, and the default 2 MiB cache evicts
 * them before their groups are done, so HDF5 reads them again.
 *
 * And no raw data chunk cache: libhdf5 1.10 loads a cached chunk into a
 * buffer of the size the chunk index states (for an unfiltered chunk in
 * a version 1 B-tree, whatever a damaged file says) and copies the
 * chunk's full size out of it, a read past the end of the buffer; an
 * uncached unfiltered chunk is read straight from the file instead. The
 * filtered chunks h5py and Keras write never reach libhdf5's cache
 * (qs-hdf5-chunks.c decodes them); other filters lose only the reuse of
 * a chunk between two reads. Shared by every file (lock held). */
static hid_t
file_access_plist (void)
{
  static hid_t fapl = H5I_INVALID_HID;

  if (fapl < 0)
    {
      H5AC_cache_config_t config;

      fapl = H5Pcreate (H5P_FILE_ACCESS);
      config.version = H5AC__CURR_CACHE_CONFIG_VERSION;
      if (fapl >= 0 && H5Pget_mdc_config (fapl, &config) >= 0)
        {
          config.set_initial_size = TRUE;
          config.initial_size = 16 << 20;
          config.max_size = MAX (config.max_size, 64 << 20);
          config.min_size = MIN (config.min_size, config.initial_size);
          H5Pset_mdc_config (fapl, &config);
        }
      if (fapl >= 0)
        H5Pset_cache (fapl, 0, 0, 0, 1.0);
      if (fapl < 0)
        return H5P_DEFAULT;
    }
  return fapl;
}

/* The HDF5 signature sits at byte 0, 512, 1024, 2048, ... (a user block
 * may come first): what H5Fis_hdf5() looks for, for images in memory. */
static gboolean
image_has_hdf5_signature (GBytes *image)
{
  static const guint8 signature[8] = { 0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n' };
  gsize size;
  const guint8 *data = g_bytes_get_data (image, &size);

  for (gsize offset = 0; offset + sizeof signature <= size; offset = offset == 0 ? 512 : offset * 2)
    if (memcmp (data + offset, signature, sizeof signature) == 0)
      return TRUE;
  return FALSE;
}

/* A file access list for an image in memory: the core driver, with
 * HDF5 working on its own copy of the bytes (read-only, so never written). */
static hid_t
image_access_plist (GBytes *image)
{
  hid_t fapl = H5Pcopy (file_access_plist ());
  gsize size;
  gconstpointer data = g_bytes_get_data (image, &size);

  if (fapl < 0)
    return H5I_INVALID_HID;
  if (H5Pset_fapl_core (fapl, 1 << 20, FALSE) < 0
      || H5Pset_file_image (fapl, (void *) data, size) < 0)
    {
      H5Pclose (fapl);
      return H5I_INVALID_HID;
    }
  return fapl;
}

/* Opens self->filename, or @image under that name, and reads the tree. */
static gboolean
open_locked (QsWeightFile  *self,
             GBytes        *image,
             const char    *config,
             GError       **error)
{
  g_autofree char *display = g_filename_display_name (self->filename);
  g_autoptr(GPtrArray) found = NULL;
  gboolean is_hdf5;
  hid_t fapl;

  if (image != NULL)
    is_hdf5 = image_has_hdf5_signature (image);
  else
#if H5_VERSION_GE (1, 12, 0)
    is_hdf5 = H5Fis_accessible (self->filename, H5P_DEFAULT) > 0;
#else
    is_hdf5 = H5Fis_hdf5 (self->filename) > 0;
#endif
  if (!is_hdf5)
    {
      g_set_error (error, QS_ERROR, QS_ERROR_NOT_HDF5,
                   "“%s” is not an HDF5 file", display);
      return FALSE;
    }

  if (image != NULL)
    {
      /* The core driver refuses a name that exists on disk (it would be
       * the backing store); nothing can exist under /dev/null. The name
       * carries the image's size for heap_image(). */
      static gint images_opened;
      g_autofree char *image_name = g_strdup_printf (QS_IMAGE_NAME_FORMAT,
                                                     g_atomic_int_add (&images_opened, 1),
                                                     (guint64) g_bytes_get_size (image));

      fapl = image_access_plist (image);
      self->file = fapl >= 0 ? H5Fopen (image_name, H5F_ACC_RDONLY, fapl) : H5I_INVALID_HID;
      if (fapl >= 0)
        H5Pclose (fapl);
    }
  else
    self->file = H5Fopen (self->filename, H5F_ACC_RDONLY, file_access_plist ());
  if (self->file < 0)
    {
      g_autofree char *detail = hdf5_error_detail ();

      g_set_error (error, QS_ERROR, QS_ERROR_NOT_HDF5,
                   "“%s” is damaged or truncated and cannot be opened%s%s%s",
                   display,
                   detail != NULL ? " (" : "",
                   detail != NULL ? detail : "",
                   detail != NULL ? ")" : "");
      return FALSE;
    }

  {
    g_autoptr(GError) config_error = NULL;
    g_autoptr(GPtrArray) attribute = read_string_attribute (self->file, "/", "model_config", &config_error);

    if (config_error != NULL)
      {
        g_set_error (error, config_error->domain, config_error->code, "“%s”: %s", display,
                     config_error->message);
        return FALSE;
      }
    if (attribute != NULL && attribute->len > 0)
      self->model_config = g_strdup (g_ptr_array_index (attribute, 0));
  }
  {
    g_autoptr(GPtrArray) backend = read_string_attribute (self->file, "/", "backend", NULL);

    if (backend != NULL && backend->len > 0)
      self->backend = g_strdup (g_ptr_array_index (backend, 0));
  }
  /* Keras 3 keeps the architecture outside the weights file. */
  if (self->model_config == NULL)
    self->model_config = g_strdup (config);

  found = scan_file (self->file, (self->flags & QS_WEIGHT_FILE_FOLLOW_EXTERNAL_LINKS) != 0,
                     self->warnings);
  organise_tensors (self, found);
  return TRUE;
}

static QsWeightFile *
open_common (const char         *filename,
             GBytes             *image,
             const char         *config,
             QsWeightFileFlags   flags,
             GError            **error)
{
  g_autoptr(QsWeightFile) self = g_object_new (QS_TYPE_WEIGHT_FILE, NULL);
  gboolean ok;

  self->filename = g_strdup (filename);
  self->flags = flags;
  self->in_memory = image != NULL;

  hdf5_lock ();
  ok = open_locked (self, image, config, error);
  hdf5_unlock ();

  if (!ok)
    return NULL;
  return g_steal_pointer (&self);
}

/* A Keras 3 .keras archive: model.weights.h5 from memory, config.json as
 * its model_config. */
static QsWeightFile *
open_keras_archive (const char         *filename,
                    QsWeightFileFlags   flags,
                    GError            **error)
{
  g_autofree char *config = NULL;
  g_autoptr(GBytes) weights = NULL;
  QsWeightFile *self;

  if (!_qs_keras3_read_archive (filename, &config, &weights, error))
    return NULL;
  self = open_common (filename, weights, config, flags, error);
  if (self != NULL && self->layout == QS_FILE_LAYOUT_KERAS3_WEIGHTS)
    self->layout = QS_FILE_LAYOUT_KERAS3_MODEL;
  return self;
}

/**
 * qs_weight_file_open:
 * @filename: a path in the GLib filename encoding
 *
 * Opens @filename and reads its metadata (the tree, shapes, types, Keras
 * attributes); no tensor values.
 *
 * Returns: (transfer full): the file, or NULL with @error set to
 * QS_ERROR_NOT_FOUND, QS_ERROR_NOT_HDF5 or QS_ERROR_READ (unreadable).
 */
QsWeightFile *
qs_weight_file_open (const char  *filename,
                     GError     **error)
{
  return qs_weight_file_open_full (filename, QS_WEIGHT_FILE_DEFAULT, error);
}

/**
 * qs_weight_file_open_full:
 * @filename: a path in the GLib filename encoding
 * @flags: how to read the tree
 *
 * As qs_weight_file_open(); with %QS_WEIGHT_FILE_FOLLOW_EXTERNAL_LINKS,
 * external links whose target opens (a regular file, read-only) are
 * followed and their datasets listed under the link's path; the others are
 * reported by qs_weight_file_get_warnings().
 *
 * Returns: (transfer full): the file, or NULL with @error set.
 */
QsWeightFile *
qs_weight_file_open_full (const char         *filename,
                          QsWeightFileFlags   flags,
                          GError            **error)
{
  g_autofree char *display = NULL;

  g_return_val_if_fail (filename != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  display = g_filename_display_name (filename);

  /* HDF5's own messages for these cases are cryptic ("unable to open
   * file"); checking first lets each get its own error code. */
  if (!g_file_test (filename, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, QS_ERROR, QS_ERROR_NOT_FOUND,
                   "No such file: “%s”", display);
      return NULL;
    }
  if (g_file_test (filename, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, QS_ERROR, QS_ERROR_NOT_HDF5,
                   "“%s” is a folder, not an HDF5 file", display);
      return NULL;
    }
  if (g_access (filename, R_OK) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, QS_ERROR, QS_ERROR_READ,
                   "Cannot read “%s”: %s", display, g_strerror (saved_errno));
      return NULL;
    }
  /* A FIFO would block HDF5's open(2) forever, a device feed it without end. */
  if (!qs_input_file_check (filename, "The weight file", error))
    return NULL;

  if (qs_zip_archive_sniff (filename))
    return open_keras_archive (filename, flags, error);
  {
    g_autofree char *config = _qs_keras3_find_config (filename);

    return open_common (filename, NULL, config, flags, error);
  }
}

/**
 * qs_weight_file_open_image:
 * @image: the bytes of a whole HDF5 file
 * @name: what messages and qs_weight_file_get_filename() call it
 * @flags: how to read the tree
 *
 * As qs_weight_file_open_full() for a file image in memory (HDF5's core
 * driver): a file from a GResource or a remote location, or a fuzzer's
 * input. HDF5 works on its own copy; @image may be freed afterwards.
 * External links with a relative target do not resolve: the image has no
 * folder.
 *
 * Returns: (transfer full): the file, or NULL with @error set.
 */
QsWeightFile *
qs_weight_file_open_image (GBytes             *image,
                           const char         *name,
                           QsWeightFileFlags   flags,
                           GError            **error)
{
  g_return_val_if_fail (image != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (g_bytes_get_size (image) == 0)
    {
      g_autofree char *display = g_filename_display_name (name);

      g_set_error (error, QS_ERROR, QS_ERROR_NOT_HDF5, "“%s” is empty, not an HDF5 file", display);
      return NULL;
    }
  return open_common (name, image, NULL, flags, error);
}

/**
 * qs_weight_file_get_filename:
 * Returns: (transfer none): the name the file was opened with.
 */
const char *
qs_weight_file_get_filename (QsWeightFile *self)
{
  g_return_val_if_fail (QS_IS_WEIGHT_FILE (self), NULL);

  return self->filename;
}

QsFileLayout
qs_weight_file_get_layout (QsWeightFile *self)
{
  g_return_val_if_fail (QS_IS_WEIGHT_FILE (self), QS_FILE_LAYOUT_GENERIC);

  return self->layout;
}

/**
 * qs_weight_file_get_model_config:
 * Returns: (transfer none) (nullable): the Keras model_config JSON text.
 */
const char *
qs_weight_file_get_model_config (QsWeightFile *self)
{
  g_return_val_if_fail (QS_IS_WEIGHT_FILE (self), NULL);

  return self->model_config;
}

/**
 * qs_weight_file_get_backend:
 *
 * Keras's "backend" attribute ("tensorflow", "theano"), which says how a
 * Keras 1 file's convolution kernels are stored; NULL when there is none.
 *
 * Returns: (transfer none) (nullable): the backend's name
 */
const char *
qs_weight_file_get_backend (QsWeightFile *self)
{
  g_return_val_if_fail (QS_IS_WEIGHT_FILE (self), NULL);

  return self->backend;
}

/**
 * qs_weight_file_get_tensors:
 * Returns: (transfer none) (element-type QsTensorInfo): every dataset.
 */
GPtrArray *
qs_weight_file_get_tensors (QsWeightFile *self)
{
  g_return_val_if_fail (QS_IS_WEIGHT_FILE (self), NULL);

  return self->tensors;
}

/**
 * qs_weight_file_lookup:
 * @path: "/a/b" or "a/b"
 * Returns: (transfer none) (nullable): the tensor at @path.
 */
const QsTensorInfo *
qs_weight_file_lookup (QsWeightFile *self,
                       const char   *path)
{
  g_autofree char *absolute = NULL;

  g_return_val_if_fail (QS_IS_WEIGHT_FILE (self), NULL);
  g_return_val_if_fail (path != NULL, NULL);

  if (path[0] == '/')
    return g_hash_table_lookup (self->by_path, path);

  absolute = g_strconcat ("/", path, NULL);
  return g_hash_table_lookup (self->by_path, absolute);
}

/* Our own record of @info, checked to be a float tensor with elements. */
/* "Cannot read tensor “/a/b” from “file.h5” (HDF5's innermost reason)". */
static void
set_read_error (QsWeightFile        *self,
                const QsTensorInfo  *tensor,
                const char          *detail,
                GError             **error)
{
  g_autofree char *display = g_filename_display_basename (self->filename);

  g_set_error (error, QS_ERROR, QS_ERROR_READ,
               "Cannot read tensor “%s” from “%s”%s%s%s",
               tensor->path, display,
               detail != NULL ? " (" : "",
               detail != NULL ? detail : "",
               detail != NULL ? ")" : "");
}

/* Whether reading @tensor stays within what the file stores for it
 * (_qs_hdf5_check_stored_size()), checked before anything is allocated
 * or decoded. */
static gboolean
check_stored (QsWeightFile        *self,
              const QsTensorInfo  *tensor,
              GError             **error)
{
  g_autofree char *display = g_filename_display_basename (self->filename);
  g_autofree char *what = g_strdup_printf ("Tensor “%s” in “%s”", tensor->path, display);
  g_autofree char *detail = NULL;
  gboolean ok = FALSE;
  hid_t dset;

  hdf5_lock ();
  dset = H5Dopen2 (self->file, stored_path (tensor), H5P_DEFAULT);
  if (dset >= 0)
    {
      ok = _qs_hdf5_check_stored_size (dset, tensor->count, what, error);
      H5Dclose (dset);
    }
  else
    detail = hdf5_error_detail ();
  hdf5_unlock ();
  if (dset < 0)
    set_read_error (self, tensor, detail, error);
  return ok;
}

static const QsTensorInfo *
readable_tensor (QsWeightFile        *self,
                 const QsTensorInfo  *info,
                 GError             **error)
{
  g_autofree char *display = g_filename_display_basename (self->filename);
  const QsTensorInfo *tensor = qs_weight_file_lookup (self, info->path);

  if (tensor == NULL)
    {
      g_set_error (error, QS_ERROR, QS_ERROR_NOT_FOUND,
                   "No tensor “%s” in “%s”", info->path, display);
      return NULL;
    }
  if (!dtype_is_float (tensor->dtype))
    {
      g_set_error (error, QS_ERROR, QS_ERROR_NOT_QUANTIZABLE,
                   "Tensor “%s” in “%s” holds %s values, not floating-point ones",
                   tensor->path, display, tensor->dtype);
      return NULL;
    }
  if (tensor->count == 0)
    {
      g_set_error (error, QS_ERROR, QS_ERROR_EMPTY,
                   "Tensor “%s” in “%s” has no elements", tensor->path, display);
      return NULL;
    }
  return tensor;
}

/**
 * qs_weight_file_read_tensor:
 * @info: a tensor of this file (only its path is used)
 *
 * Reads the values converted to native float32: HDF5 converts float16,
 * float64 and big-endian data on the way. Thread-safe.
 *
 * Returns: (transfer full): count floats to g_free(), or NULL with @error.
 */
float *
qs_weight_file_read_tensor (QsWeightFile        *self,
                            const QsTensorInfo  *info,
                            GError             **error)
{
  g_autofree char *display = NULL;
  g_autofree char *detail = NULL;
  g_autofree float *values = NULL;
  g_autoptr(GError) chunk_error = NULL;
  const QsTensorInfo *tensor;
  hid_t dset;
  herr_t status = -1;

  g_return_val_if_fail (QS_IS_WEIGHT_FILE (self), NULL);
  g_return_val_if_fail (info != NULL && info->path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  display = g_filename_display_basename (self->filename);

  /* Our own record, not the caller's copy, decides what may be read. */
  tensor = readable_tensor (self, info, error);
  if (tensor == NULL || !check_stored (self, tensor, error))
    return NULL;
  if (tensor->count > QS_MAX_READ_BYTES / sizeof (float)
      || tensor->count > G_MAXSIZE / sizeof (float)
      || (values = g_try_malloc (tensor->count * sizeof (float))) == NULL)
    {
      g_set_error (error, QS_ERROR, QS_ERROR_TOO_LARGE,
                   "Tensor “%s” in “%s” is too large to load (%" G_GUINT64_FORMAT " elements)",
                   tensor->path, display, (guint64) tensor->count);
      return NULL;
    }

  hdf5_lock ();
  dset = H5Dopen2 (self->file, stored_path (tensor), H5P_DEFAULT);
  if (dset >= 0 && _qs_hdf5_reads_chunks (dset))
    {
      g_autofree char *what = g_strdup_printf ("Tensor “%s” in “%s”", tensor->path, display);

      status = _qs_hdf5_read_chunks (dset, H5T_NATIVE_FLOAT, 0, tensor->count, values, NULL, what,
                                     &chunk_error) ? 0 : -1;
    }
  else if (dset >= 0)
    {
      status = H5Dread (dset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values);
      if (status < 0)
        detail = hdf5_error_detail ();
    }
  else
    {
      detail = hdf5_error_detail ();
    }
  if (dset >= 0)
    H5Dclose (dset);
  hdf5_unlock ();

  if (chunk_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&chunk_error));
      return NULL;
    }
  if (status < 0)
    {
      set_read_error (self, tensor, detail, error);
      return NULL;
    }

  return g_steal_pointer (&values);
}

/* ---- for the rest of model/ -------------------------------------------- */

/* Whether the stored size @dset claims fits in the file, giving it: the
 * sum over a chunk index costs a walk of it, done once per check. */
static gboolean
stored_within_file (hid_t        dset,
                    const char  *what,
                    guint64     *stored,
                    GError     **error)
{
  hid_t file;
  hid_t dcpl = H5Dget_create_plist (dset);
  int external = dcpl >= 0 ? H5Pget_external_count (dcpl) : 0;
  hsize_t file_size = 0;
  gboolean sized;

  if (dcpl >= 0)
    H5Pclose (dcpl);
  /* External storage makes libhdf5 open and read whatever files the
   * dataset names (any path, a FIFO, a device): a weight file is read as
   * itself only. */
  if (external != 0)
    {
      H5Eclear2 (H5E_DEFAULT);
      g_set_error (error, QS_ERROR, QS_ERROR_READ,
                   "%s keeps its values in other files (HDF5 external storage): refused rather than read", what);
      return FALSE;
    }
  /* A virtual dataset is the same hazard and more: its sources are other
   * files (a FIFO blocks the read forever), missing ones read as fill
   * values, and one naming itself recurses until libhdf5 crashes. */
  if (_qs_hdf5_is_virtual (dset))
    {
      H5Eclear2 (H5E_DEFAULT);
      g_set_error (error, QS_ERROR, QS_ERROR_READ,
                   "%s is a virtual dataset (its values live in other datasets or files): refused rather than read",
                   what);
      return FALSE;
    }
  file = H5Iget_file_id (dset);
  sized = file >= 0 && H5Fget_filesize (file, &file_size) >= 0;
  *stored = H5Dget_storage_size (dset);
  if (file >= 0)
    H5Fclose (file);
  if (!sized || *stored <= (guint64) file_size)
    return TRUE;
  H5Eclear2 (H5E_DEFAULT);
  g_set_error (error, QS_ERROR, QS_ERROR_READ,
               "%s claims %" G_GUINT64_FORMAT " stored bytes in a file of %" G_GUINT64_FORMAT
               " (a damaged chunk index or header): refused rather than read", what, *stored,
               (guint64) file_size);
  return FALSE;
}

/* Whether @dset's chunks (if it has any) hold at most what its @elements
 * values take in the file, or QS_MAX_CHUNK_SLACK_BYTES: libhdf5 inflates
 * a filtered chunk whole to read any part of it, so a 20-image set in one
 * deflated chunk declared for a million images costs the million. */
static gboolean
chunk_within_dataset (hid_t        dset,
                      guint64      elements,
                      const char  *what,
                      GError     **error)
{
  hid_t dcpl = H5Dget_create_plist (dset);
  hid_t type = H5Dget_type (dset);
  hsize_t chunk[H5S_MAX_RANK];
  int rank = -1;
  guint64 chunk_bytes = 1, allowed = 0;
  gboolean ok = TRUE;

  if (dcpl >= 0 && type >= 0 && H5Pget_layout (dcpl) == H5D_CHUNKED)
    rank = H5Pget_chunk (dcpl, H5S_MAX_RANK, chunk);
  if (rank > 0)
    {
      gsize element_bytes = H5Tget_size (type);

      ok = g_uint64_checked_mul (&chunk_bytes, chunk_bytes, element_bytes);
      for (int d = 0; d < rank && ok; d++)
        ok = g_uint64_checked_mul (&chunk_bytes, chunk_bytes, chunk[d]);
      if (!g_uint64_checked_mul (&allowed, elements, element_bytes))
        allowed = G_MAXUINT64;
      ok = ok && chunk_bytes <= MAX (allowed, QS_MAX_CHUNK_SLACK_BYTES);
    }
  if (type >= 0)
    H5Tclose (type);
  if (dcpl >= 0)
    H5Pclose (dcpl);
  if (ok)
    return TRUE;
  H5Eclear2 (H5E_DEFAULT);
  g_set_error (error, QS_ERROR, QS_ERROR_TOO_LARGE,
               "%s is stored in chunks of %" G_GUINT64_FORMAT " MiB for %" G_GUINT64_FORMAT
               " values (a chunk is inflated whole to read any of it): refused rather than expanded in memory",
               what, chunk_bytes >> 20, elements);
  return FALSE;
}

gboolean
_qs_hdf5_check_stored_size (hid_t        dset,
                            guint64      elements,
                            const char  *what,
                            GError     **error)
{
  guint64 stored, allowed, wanted;

  if (!stored_within_file (dset, what, &stored, error) || !chunk_within_dataset (dset, elements, what, error))
    return FALSE;
  if (!g_uint64_checked_mul (&allowed, stored, QS_MAX_EXPANSION)
      || !g_uint64_checked_add (&allowed, allowed, QS_UNSTORED_ALLOWANCE))
    allowed = G_MAXUINT64;
  if (g_uint64_checked_mul (&wanted, elements, sizeof (float)) && wanted <= allowed)
    return TRUE;
  H5Eclear2 (H5E_DEFAULT);
  g_set_error (error, QS_ERROR, QS_ERROR_TOO_LARGE,
               "%s declares %" G_GUINT64_FORMAT " values but the file stores only %" G_GUINT64_FORMAT
               " bytes for them (unwritten, or compressed more than %d:1): refused rather than "
               "expanded in memory", what, elements, stored, QS_MAX_EXPANSION);
  return FALSE;
}

gboolean
_qs_hdf5_check_stored_within_file (hid_t        dset,
                                   const char  *what,
                                   GError     **error)
{
  guint64 stored;

  return stored_within_file (dset, what, &stored, error);
}

gboolean
_qs_hdf5_is_virtual (hid_t dset)
{
  hid_t dcpl = H5Dget_create_plist (dset);
  gboolean virtual = dcpl >= 0 && H5Pget_layout (dcpl) == H5D_VIRTUAL;

  if (dcpl >= 0)
    H5Pclose (dcpl);
  return virtual;
}

hid_t
_qs_hdf5_file_access_plist (void)
{
  return file_access_plist ();
}

void
_qs_hdf5_lock (void)
{
  hdf5_lock ();
}

void
_qs_hdf5_unlock (void)
{
  hdf5_unlock ();
}

char *
_qs_hdf5_error_detail (void)
{
  return hdf5_error_detail ();
}

/* The bytes of the image in memory that @file (libhdf5's core driver,
 * @fapl its access list) was opened from, and their number in @size; NULL
 * for any other file. libhdf5 knows the buffer's size but tells only
 * H5Fget_filesize(), the larger of it and the end the superblock states,
 * which a damaged image may put past the buffer: the size comes from the
 * name open_locked() gave the image, and the buffer from the driver's
 * handle (the address of its pointer to its copy), trusted only when the
 * HDF5 signature is where the user block ends. */
static const guint8 *
heap_image (hid_t    file,
            hid_t    fapl,
            guint64  userblock,
            guint64 *size)
{
  static const guint8 signature[8] = { 0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n' };
  char name[128];
  ssize_t length = H5Fget_name (file, name, sizeof name);
  int index;
  guint64 stated;
  int consumed = 0;
  void *handle = NULL;
  const guint8 *image;

  if (length <= 0 || (size_t) length >= sizeof name
      || sscanf (name, QS_IMAGE_NAME_FORMAT "%n", &index, &stated, &consumed) != 2
      || consumed != length || userblock > stated || stated - userblock < sizeof signature
      || H5Fget_vfd_handle (file, fapl, &handle) < 0 || handle == NULL)
    return NULL;
  image = *(const guint8 **) handle;
  if (image == NULL || memcmp (image + userblock, signature, sizeof signature) != 0)
    return NULL;
  *size = stated;
  return image;
}

void
_qs_hdf5_vlen_bound_begin (hid_t   obj,
                           guint64 bound)
{
  hid_t file = H5Iget_file_id (obj);
  hid_t fapl = file >= 0 ? H5Fget_access_plist (file) : H5I_INVALID_HID;
  hid_t fcpl = file >= 0 ? H5Fget_create_plist (file) : H5I_INVALID_HID;
  hid_t driver = fapl >= 0 ? H5Pget_driver (fapl) : H5I_INVALID_HID;
  size_t sizeof_addr = 0, sizeof_size = 0;
  hsize_t userblock = 0, eof = 0;
  void *handle = NULL;

  g_assert (!vlen_scoped);
  vlen_scoped = TRUE;
  vlen_bound = bound;
  vlen_used = 0;
  vlen_refused = FALSE;
  vlen_damaged = FALSE;

  vlen_heap.fd = -1;
  vlen_heap.image = NULL;
  if (fcpl >= 0 && H5Pget_sizes (fcpl, &sizeof_addr, &sizeof_size) >= 0 && H5Pget_userblock (fcpl, &userblock) >= 0
      && sizeof_size >= 2 && sizeof_size <= 8)
    {
      vlen_heap.base = userblock;
      vlen_heap.sizeof_size = (guint) sizeof_size;
      if (driver == H5FD_SEC2 && H5Fget_filesize (file, &eof) >= 0
          && H5Fget_vfd_handle (file, fapl, &handle) >= 0 && handle != NULL)
        {
          vlen_heap.eof = eof;
          vlen_heap.fd = *(int *) handle;
        }
      else if (driver == H5FD_CORE)
        vlen_heap.image = heap_image (file, fapl, userblock, &vlen_heap.eof);
    }
  H5Eclear2 (H5E_DEFAULT);
  if (fcpl >= 0)
    H5Pclose (fcpl);
  if (fapl >= 0)
    H5Pclose (fapl);
  if (file >= 0)
    H5Fclose (file);
}

QsVlenVerdict
_qs_hdf5_vlen_bound_end (void)
{
  QsVlenVerdict verdict = vlen_refused ? QS_VLEN_TOO_LARGE : vlen_damaged ? QS_VLEN_DAMAGED : QS_VLEN_OK;

  g_assert (vlen_scoped);
  vlen_scoped = FALSE;
  vlen_bound = QS_MAX_VLEN_BATCH_BYTES;
  vlen_refused = FALSE;
  vlen_damaged = FALSE;
  vlen_heap.fd = -1;
  vlen_heap.image = NULL;
  g_clear_pointer (&vlen_heap.collections, g_hash_table_unref);
  return verdict;
}

hid_t
_qs_weight_file_get_hid (QsWeightFile *self)
{
  g_return_val_if_fail (QS_IS_WEIGHT_FILE (self), H5I_INVALID_HID);

  return self->file;
}

gboolean
_qs_hdf5_select_flat_range (hid_t   space,
                            guint64 offset,
                            guint64 count)
{
  hsize_t dims[H5S_MAX_RANK], stride[H5S_MAX_RANK];
  hsize_t start[H5S_MAX_RANK], block[H5S_MAX_RANK];
  guint64 pos = offset, end = offset + count;
  gboolean first = TRUE;
  int rank = H5Sget_simple_extent_ndims (space);

  if (rank < 0 || rank > H5S_MAX_RANK)
    return FALSE;
  if (rank == 0)
    return offset == 0 && count <= 1 && H5Sselect_all (space) >= 0;
  if (H5Sget_simple_extent_dims (space, dims, NULL) < 0)
    return FALSE;

  /* The caller checked that the element count fits in 64 bits, so no
   * partial product overflows. */
  stride[rank - 1] = 1;
  for (int k = rank - 2; k >= 0; k--)
    stride[k] = stride[k + 1] * dims[k + 1];
  if (count == 0)
    return H5Sselect_none (space) >= 0;

  /* Walk up to the coarsest aligned box that fits, take as many as the
   * range and the enclosing dimension allow, repeat: at most one box per
   * level on the way up and one on the way down. */
  while (pos < end)
    {
      hsize_t m;
      int k;

      for (k = 0; k < rank - 1; k++)
        if (pos % stride[k] == 0 && end - pos >= stride[k])
          break;
      for (int j = 0; j < rank; j++)
        {
          start[j] = (pos / stride[j]) % dims[j];
          block[j] = j < k ? 1 : dims[j];
        }
      m = MIN ((end - pos) / stride[k], dims[k] - start[k]);
      block[k] = m;
      if (H5Sselect_hyperslab (space, first ? H5S_SELECT_SET : H5S_SELECT_OR,
                               start, NULL, block, NULL) < 0)
        return FALSE;
      first = FALSE;
      pos += m * stride[k];
    }
  return TRUE;
}

/**
 * qs_weight_file_get_warnings:
 * Returns: (transfer none) (element-type utf8): one line for each link that
 * leads nowhere (dangling or cyclic soft links, external links not
 * followed or whose target is missing); empty for a clean file.
 */
GPtrArray *
qs_weight_file_get_warnings (QsWeightFile *self)
{
  g_return_val_if_fail (QS_IS_WEIGHT_FILE (self), NULL);

  return self->warnings;
}

/**
 * qs_weight_file_read_block:
 * @info: a tensor of this file (only its path is used)
 * @offset: the row-major index of the first element
 * @count: how many elements
 * @out: (out caller-allocates): @count floats
 *
 * Reads elements [@offset, @offset + @count) of a quantizable tensor in
 * row-major order, converted to native float32, through an HDF5 hyperslab
 * selection: only the chunks that hold them are read. Thread-safe.
 *
 * Returns: TRUE, or FALSE with @error (the errors of
 * qs_weight_file_read_tensor(), QS_ERROR_INVALID for a range past the end).
 */
gboolean
qs_weight_file_read_block (QsWeightFile        *self,
                           const QsTensorInfo  *info,
                           guint64              offset,
                           gsize                count,
                           float               *out,
                           GError             **error)
{
  g_autofree char *detail = NULL;
  g_autoptr(GError) chunk_error = NULL;
  const QsTensorInfo *tensor;
  hid_t dset, fspace = H5I_INVALID_HID, mspace = H5I_INVALID_HID;
  hsize_t mdims[1] = { count };
  herr_t status = -1;

  g_return_val_if_fail (QS_IS_WEIGHT_FILE (self), FALSE);
  g_return_val_if_fail (info != NULL && info->path != NULL, FALSE);
  g_return_val_if_fail (out != NULL || count == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  tensor = readable_tensor (self, info, error);
  if (tensor == NULL)
    return FALSE;
  if (tensor->count == G_MAXUINT64 || offset > tensor->count || count > tensor->count - offset)
    {
      g_set_error (error, QS_ERROR, QS_ERROR_INVALID,
                   "Elements %" G_GUINT64_FORMAT "..%" G_GUINT64_FORMAT " are outside tensor “%s”",
                   (guint64) offset, (guint64) (offset + count), tensor->path);
      return FALSE;
    }
  /* The whole tensor is held to the bound, not the block: streaming an
   * unwritten terabyte block by block costs no memory but hours. */
  if (count == 0)
    return TRUE;
  if (!check_stored (self, tensor, error))
    return FALSE;

  hdf5_lock ();
  dset = H5Dopen2 (self->file, stored_path (tensor), H5P_DEFAULT);
  if (dset >= 0 && _qs_hdf5_reads_chunks (dset))
    {
      g_autofree char *display = g_filename_display_basename (self->filename);
      g_autofree char *what = g_strdup_printf ("Tensor “%s” in “%s”", tensor->path, display);

      status = _qs_hdf5_read_chunks (dset, H5T_NATIVE_FLOAT, offset, count, out, NULL, what,
                                     &chunk_error) ? 0 : -1;
      H5Dclose (dset);
    }
  else if (dset >= 0)
    {
      fspace = H5Dget_space (dset);
      mspace = H5Screate_simple (1, mdims, NULL);
      if (fspace >= 0 && mspace >= 0
          && _qs_hdf5_select_flat_range (fspace, offset, count))
        status = H5Dread (dset, H5T_NATIVE_FLOAT, mspace, fspace, H5P_DEFAULT, out);
      if (status < 0)
        detail = hdf5_error_detail ();
      if (mspace >= 0)
        H5Sclose (mspace);
      if (fspace >= 0)
        H5Sclose (fspace);
      H5Dclose (dset);
    }
  else
    {
      detail = hdf5_error_detail ();
    }
  hdf5_unlock ();

  if (chunk_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&chunk_error));
      return FALSE;
    }
  if (status < 0)
    {
      set_read_error (self, tensor, detail, error);
      return FALSE;
    }
  return TRUE;
}

/* Whether @dset's values lie as one run of native float32 in its file:
 * contiguous (so unfiltered), stored in this file, written in full,
 * starting at a multiple of four bytes. */
static gboolean
dataset_is_raw_float32 (hid_t               dset,
                        const QsTensorInfo *tensor,
                        guint64            *offset)
{
  hid_t dcpl = H5Dget_create_plist (dset);
  hid_t type = H5Dget_type (dset);
  gboolean raw = FALSE;

  if (dcpl >= 0 && type >= 0
      && H5Pget_layout (dcpl) == H5D_CONTIGUOUS
      && H5Pget_external_count (dcpl) == 0
      && H5Tequal (type, H5T_NATIVE_FLOAT) > 0
      && tensor->count <= G_MAXUINT64 / sizeof (float)
      && H5Dget_storage_size (dset) == tensor->count * sizeof (float))
    {
      haddr_t address = H5Dget_offset (dset);

      /* HDF5 does not align data (unless asked to): a float at an odd
       * address cannot be read in place. */
      raw = address != HADDR_UNDEF && address % sizeof (float) == 0;
      *offset = address;
    }
  if (type >= 0)
    H5Tclose (type);
  if (dcpl >= 0)
    H5Pclose (dcpl);
  return raw;
}

/* The POSIX descriptor libhdf5 reads @dset's file through, duplicated, or
 * -1 when that file is not a plain one (another driver, or in memory). */
static int
dup_dataset_fd (hid_t dset)
{
  hid_t file = H5Iget_file_id (dset);
  hid_t fapl = file >= 0 ? H5Fget_access_plist (file) : H5I_INVALID_HID;
  int *handle = NULL;
  int fd = -1;

  if (fapl >= 0 && H5Pget_driver (fapl) == H5FD_SEC2
      && H5Fget_vfd_handle (file, fapl, (void **) &handle) >= 0 && handle != NULL)
    fd = fcntl (*handle, F_DUPFD_CLOEXEC, 0);
  if (fapl >= 0)
    H5Pclose (fapl);
  if (file >= 0)
    H5Fclose (file);
  return fd;
}

/**
 * qs_weight_file_dup_raw_fd:
 * @info: a quantizable tensor of this file
 * @offset: (out): where its first value is in the file
 *
 * For a tensor stored as one contiguous run of native float32 in a file on
 * disk (what h5py and Keras write by default), starting at a multiple of
 * four bytes: a descriptor of that file,
 * so the values can be mapped rather than copied through HDF5. The values
 * are the @info->count floats at @offset; the caller checks the file is
 * that long (a damaged header may say otherwise).
 *
 * Returns: a new descriptor (close it), or -1 when HDF5 must do the
 * reading (chunked, filtered, another type or byte order, external
 * storage, never written, unaligned, a file image).
 */
int
qs_weight_file_dup_raw_fd (QsWeightFile       *self,
                           const QsTensorInfo *info,
                           guint64            *offset)
{
  const QsTensorInfo *tensor;
  int fd = -1;
  hid_t dset;

  g_return_val_if_fail (QS_IS_WEIGHT_FILE (self), -1);
  g_return_val_if_fail (info != NULL && info->path != NULL, -1);
  g_return_val_if_fail (offset != NULL, -1);

  tensor = qs_weight_file_lookup (self, info->path);
  if (self->in_memory || tensor == NULL || !tensor->quantizable)
    return -1;

  hdf5_lock ();
  dset = H5Dopen2 (self->file, stored_path (tensor), H5P_DEFAULT);
  if (dset >= 0)
    {
      if (dataset_is_raw_float32 (dset, tensor, offset))
        fd = dup_dataset_fd (dset);
      H5Dclose (dset);
    }
  H5Eclear2 (H5E_DEFAULT);
  hdf5_unlock ();
  return fd;
}

/**
 * qs_weight_file_get_chunk_bytes:
 * @info: a tensor of this file
 *
 * Returns: the bytes one chunk of the tensor takes once decompressed and
 * converted to float32 (HDF5 holds a whole chunk to deliver any part of
 * it), 0 for a contiguous or compact dataset, G_MAXUINT64 when the dataset
 * cannot be opened or its chunk size overflows.
 */
guint64
qs_weight_file_get_chunk_bytes (QsWeightFile       *self,
                                const QsTensorInfo *info)
{
  const QsTensorInfo *tensor;
  guint64 bytes = G_MAXUINT64;
  hid_t dset, dcpl, type;

  g_return_val_if_fail (QS_IS_WEIGHT_FILE (self), G_MAXUINT64);
  g_return_val_if_fail (info != NULL && info->path != NULL, G_MAXUINT64);

  tensor = qs_weight_file_lookup (self, info->path);
  if (tensor == NULL)
    return G_MAXUINT64;

  hdf5_lock ();
  dset = H5Dopen2 (self->file, stored_path (tensor), H5P_DEFAULT);
  if (dset >= 0)
    {
      dcpl = H5Dget_create_plist (dset);
      type = H5Dget_type (dset);
      if (dcpl >= 0 && type >= 0)
        {
          if (H5Pget_layout (dcpl) != H5D_CHUNKED)
            bytes = 0;
          else
            {
              hsize_t chunk[H5S_MAX_RANK];
              int rank = H5Pget_chunk (dcpl, H5S_MAX_RANK, chunk);
              guint64 elements = 1;
              gboolean ok = rank >= 0;

              for (int d = 0; d < rank && ok; d++)
                ok = g_uint64_checked_mul (&elements, elements, chunk[d]);
              if (ok && g_uint64_checked_mul (&elements, elements,
                                              MAX (H5Tget_size (type), sizeof (float))))
                bytes = elements;
            }
        }
      if (type >= 0)
        H5Tclose (type);
      if (dcpl >= 0)
        H5Pclose (dcpl);
      H5Dclose (dset);
    }
  hdf5_unlock ();
  return bytes;
}

/* The largest chunk qs_weight_file_check_data() decodes: a header
 * claiming more is left to the read that needs it, which refuses it. */
#define CHECK_MAX_CHUNK_BYTES (G_GUINT64_CONSTANT (64) << 20)

/* How much of a contiguous or compact dataset qs_weight_file_check_data()
 * reads at a time. */
#define CHECK_BLOCK_BYTES (G_GUINT64_CONSTANT (16) << 20)

/* Reads @dset as @memory_type (elements of @element_size bytes) one cell
 * of the grid of @block at a time: for a chunked dataset its chunks, so
 * every chunk is decoded exactly once whatever its shape and whatever
 * HDF5's chunk cache holds. Stops once @budget (bytes) is spent. FALSE
 * with @detail set when a read fails. */
static gboolean
read_every_block (hid_t          dset,
                  hid_t          memory_type,
                  gsize          element_size,
                  int            rank,
                  const hsize_t *dims,
                  const hsize_t *block,
                  void          *buffer,
                  guint64       *budget,
                  char         **detail)
{
  hsize_t cell[H5S_MAX_RANK] = { 0 }, start[H5S_MAX_RANK], count[H5S_MAX_RANK];
  hid_t space = H5I_INVALID_HID, memory = H5I_INVALID_HID;
  gboolean ok = TRUE;

  for (int d = 0; d < rank; d++)
    if (dims[d] == 0)
      return TRUE;

  if (rank == 0)
    {
      /* A scalar: no hyperslab to select. */
      hdf5_lock ();
      ok = H5Dread (dset, memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer) >= 0;
      if (!ok)
        *detail = hdf5_error_detail ();
      hdf5_unlock ();
      *budget -= MIN (*budget, element_size);
      return ok;
    }

  while (ok && *budget > 0)
    {
      hsize_t elements = 1;
      herr_t status;

      for (int d = 0; d < rank; d++)
        {
          start[d] = cell[d] * block[d];
          count[d] = MIN (block[d], dims[d] - start[d]);
          elements *= count[d];
        }

      hdf5_lock ();
      space = H5Dget_space (dset);
      memory = H5Screate_simple (1, &elements, NULL);
      status = space >= 0 && memory >= 0
               && H5Sselect_hyperslab (space, H5S_SELECT_SET, start, NULL, count, NULL) >= 0
               ? H5Dread (dset, memory_type, memory, space, H5P_DEFAULT, buffer) : -1;
      if (status < 0)
        {
          *detail = hdf5_error_detail ();
          ok = FALSE;
        }
      if (memory >= 0)
        H5Sclose (memory);
      if (space >= 0)
        H5Sclose (space);
      hdf5_unlock ();

      *budget -= MIN (*budget, elements * element_size);

      /* The next cell, row-major. */
      for (int d = rank - 1; d >= 0; d--)
        {
          if (++cell[d] * block[d] < dims[d])
            break;
          cell[d] = 0;
          if (d == 0)
            return ok;
        }
    }
  return ok;
}

/* Blocks of at most CHECK_BLOCK_BYTES over a contiguous or compact
 * dataset: whole trailing dimensions while they fit, then part of one. */
static void
contiguous_blocks (int            rank,
                   const hsize_t *dims,
                   gsize          element_size,
                   hsize_t       *block)
{
  guint64 room = MAX (CHECK_BLOCK_BYTES / element_size, 1);

  for (int d = rank - 1; d >= 0; d--)
    {
      block[d] = MAX (MIN (dims[d], room), 1);
      room = MAX (room / block[d], 1);
    }
}

/* The type to read a dataset of file type @type as: float32 for the
 * quantizable ones (as every reader of values does), else the native
 * equivalent of a fixed-size type; H5I_INVALID_HID for variable-length
 * data and references, which hold no values of their own (transfer full). */
static hid_t
check_memory_type (const QsTensorInfo *info,
                   hid_t               type)
{
  H5T_class_t type_class = H5Tget_class (type);

  if (info->quantizable)
    return H5Tcopy (H5T_NATIVE_FLOAT);
  if (type_class == H5T_VLEN || type_class == H5T_REFERENCE || type_class == H5T_NO_CLASS
      || H5Tis_variable_str (type) != 0 || H5Tdetect_class (type, H5T_VLEN) != 0)
    return H5I_INVALID_HID;
  return H5Tget_native_type (type, H5T_DIR_ASCEND);
}

/**
 * qs_weight_file_check_data:
 * @max_bytes: stop once this many bytes of values were read; 0 for no
 *   limit
 *
 * Reads once the values of every dataset, as the readers of values read
 * them (float32 for quantizable tensors, the native type for the others):
 * chunked ones one chunk at a time, through their chunk index and filter
 * pipeline, contiguous and compact ones in blocks of 16 MiB, so that
 * wherever damage in a file shows only when values are read, it shows
 * here. Variable-length data and references are not read, nor chunks
 * larger than 64 MiB, nor datasets declaring far more values than the
 * file stores for them (the readers refuse those before reading). Meant for
 * a process that may crash (the app's file scan), before values are read
 * where a crash would cost work.
 *
 * Returns: TRUE, or FALSE with the first unreadable dataset's error.
 */
gboolean
qs_weight_file_check_data (QsWeightFile  *self,
                           guint64        max_bytes,
                           GError       **error)
{
  guint64 budget = max_bytes > 0 ? max_bytes : G_MAXUINT64;
  g_autofree char *display = NULL;

  g_return_val_if_fail (QS_IS_WEIGHT_FILE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  display = g_filename_display_basename (self->filename);
  for (guint i = 0; i < self->tensors->len && budget > 0; i++)
    {
      const QsTensorInfo *info = g_ptr_array_index (self->tensors, i);
      hsize_t dims[H5S_MAX_RANK], block[H5S_MAX_RANK];
      g_autofree char *detail = NULL;
      g_autofree void *buffer = NULL;
      guint64 block_bytes = 0;
      gsize element_size = 0;
      hid_t dset, dcpl = H5I_INVALID_HID, space = H5I_INVALID_HID;
      hid_t type = H5I_INVALID_HID, memory_type = H5I_INVALID_HID;
      int rank = -1;
      gboolean ok, skip = FALSE, chunks_here = FALSE;
      g_autoptr(GError) stored_error = NULL;
      g_autofree char *what = NULL;

      if (info->count == 0 || info->count == G_MAXUINT64)
        continue;
      what = g_strdup_printf ("Tensor “%s” in “%s”", info->path, display);

      hdf5_lock ();
      dset = H5Dopen2 (self->file, stored_path (info), H5P_DEFAULT);
      if (dset >= 0)
        {
          dcpl = H5Dget_create_plist (dset);
          space = H5Dget_space (dset);
          type = H5Dget_type (dset);
          memory_type = type >= 0 ? check_memory_type (info, type) : H5I_INVALID_HID;
          element_size = memory_type >= 0 ? H5Tget_size (memory_type) : 0;
          rank = space >= 0 ? H5Sget_simple_extent_dims (space, dims, NULL) : -1;
          /* No type has elements this large but a damaged or hostile one;
           * libhdf5 would allocate conversion buffers of the file type's
           * element size (4 GiB for fixed-float-width.h5's). */
          skip = (type >= 0 && memory_type < 0) || element_size > CHECK_BLOCK_BYTES
                 || (type >= 0 && H5Tget_size (type) > CHECK_BLOCK_BYTES);
          if (dcpl < 0 || rank < 0 || (element_size == 0 && !skip))
            rank = -1;
          else if (rank == 0)
            ;
          else if (H5Pget_layout (dcpl) == H5D_CHUNKED)
            {
              guint64 chunk_elements = 1;

              if (H5Pget_chunk (dcpl, rank, block) != rank)
                rank = -1;
              for (int d = 0; d < rank; d++)
                if (block[d] == 0 || !g_uint64_checked_mul (&chunk_elements, chunk_elements, block[d]))
                  chunk_elements = G_MAXUINT64;
              /* Left to the read that needs it, which refuses it. */
              if (rank > 0 && (chunk_elements > CHECK_MAX_CHUNK_BYTES
                               || chunk_elements * MAX (element_size, 1) > CHECK_MAX_CHUNK_BYTES))
                skip = TRUE;
            }
          else if (!skip)
            contiguous_blocks (rank, dims, element_size, block);
          /* A dataset declaring far more values than the file stores
           * (never written: reading it would walk every chunk position,
           * 2^30 of them for 2^40 values) is, like a huge chunk, left to
           * the read that needs it, which refuses it the same way. */
          if (!skip && rank >= 0 && !_qs_hdf5_check_stored_size (dset, info->count, what, &stored_error))
            {
              if (g_error_matches (stored_error, QS_ERROR, QS_ERROR_TOO_LARGE))
                {
                  g_clear_error (&stored_error);
                  skip = TRUE;
                }
              else
                rank = -1;
            }
          chunks_here = !skip && rank > 0 && _qs_hdf5_reads_chunks (dset);
          if (space >= 0)
            H5Sclose (space);
          if (dcpl >= 0)
            H5Pclose (dcpl);
          if (type >= 0)
            H5Tclose (type);
        }
      if (rank < 0 && stored_error == NULL)
        detail = hdf5_error_detail ();
      hdf5_unlock ();

      if (skip)
        ok = TRUE;
      else if (rank > 0 && chunks_here)
        {
          /* Each chunk decoded once, here as the readers decode it. */
          hdf5_lock ();
          ok = _qs_hdf5_read_chunks (dset, memory_type, 0, info->count, NULL, &budget, what, &stored_error);
          hdf5_unlock ();
        }
      else if (rank >= 0)
        {
          block_bytes = element_size;
          for (int d = 0; d < rank; d++)
            block_bytes *= block[d];
          buffer = g_try_malloc (block_bytes);
          ok = buffer != NULL && read_every_block (dset, memory_type, element_size, rank, dims, block,
                                                   buffer, &budget, &detail);
        }
      else
        ok = FALSE;

      if (dset >= 0 || memory_type >= 0)
        {
          hdf5_lock ();
          if (memory_type >= 0)
            H5Tclose (memory_type);
          if (dset >= 0)
            H5Dclose (dset);
          hdf5_unlock ();
        }
      if (stored_error != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&stored_error));
          return FALSE;
        }
      if (!ok)
        {
          set_read_error (self, info, detail, error);
          return FALSE;
        }
    }
  return TRUE;
}
