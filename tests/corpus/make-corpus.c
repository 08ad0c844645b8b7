/* make-corpus.c: writes the corpus of odd and hostile HDF5 files the reader must survive.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Usage: make-corpus DIR STAMP. Run at build time (tests/corpus/meson.build)
 * with the HDF5 C API, so CI needs no Python. Every file is small; the
 * "huge" ones declare sizes they do not store. test-corpus.c runs the CLI
 * on each and says what must happen.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <hdf5.h>

static const char *dir;

static char *
path_of (const char *name)
{
  static char buffer[4096];

  snprintf (buffer, sizeof buffer, "%s/%s", dir, name);
  return buffer;
}

static void
check (int ok, const char *what)
{
  if (!ok)
    {
      fprintf (stderr, "make-corpus: %s failed\n", what);
      exit (1);
    }
}

static hid_t
create (const char *name)
{
  hid_t file = H5Fcreate (path_of (name), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);

  check (file >= 0, name);
  return file;
}

static hid_t
lcpl (void)
{
  hid_t p = H5Pcreate (H5P_LINK_CREATE);

  H5Pset_create_intermediate_group (p, 1);
  H5Pset_char_encoding (p, H5T_CSET_UTF8);
  return p;
}

static void
ramp (float *v,
      size_t n)
{
  for (size_t i = 0; i < n; i++)
    v[i] = (float) ((double) ((i * 7919) % 1000) / 1000.0 - 0.5) * 0.1f;
}

/* A float dataset written from float values (NULL: not written). */
static void
dataset (hid_t          file,
         const char    *path,
         hid_t          type,
         int            rank,
         const hsize_t *dims,
         hid_t          dcpl,
         const float   *values)
{
  hid_t l = lcpl ();
  hid_t space = rank < 0 ? H5Screate (H5S_SCALAR) : H5Screate_simple (rank, dims, NULL);
  hid_t dset = H5Dcreate2 (file, path, type, space, l, dcpl, H5P_DEFAULT);

  check (dset >= 0, path);
  if (values != NULL)
    check (H5Dwrite (dset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values) >= 0, path);
  H5Dclose (dset);
  H5Sclose (space);
  H5Pclose (l);
}

static void
simple_file (const char *name)
{
  hid_t f = create (name);
  hsize_t dims[2] = { 64, 32 };
  float v[64 * 32];

  ramp (v, 64 * 32);
  dataset (f, "/model/dense/kernel", H5T_IEEE_F32LE, 2, dims, H5P_DEFAULT, v);
  dataset (f, "/model/dense/bias", H5T_IEEE_F32LE, 1, dims + 1, H5P_DEFAULT, v);
  H5Fclose (f);
}

static long
file_size (const char *name)
{
  struct stat st;

  check (stat (path_of (name), &st) == 0, name);
  return (long) st.st_size;
}

static void
copy_file (const char *from,
           const char *to,
           long        length)
{
  char src[4096];
  FILE *in, *out;
  int c;

  snprintf (src, sizeof src, "%s", path_of (from));
  in = fopen (src, "rb");
  out = fopen (path_of (to), "wb");
  check (in != NULL && out != NULL, to);
  for (long i = 0; (length < 0 || i < length) && (c = fgetc (in)) != EOF; i++)
    fputc (c, out);
  fclose (in);
  fclose (out);
}

/* XORs @n bytes at @offset with 0xFF. */
static void
flip (const char *name,
      long        offset,
      int         n)
{
  FILE *f = fopen (path_of (name), "r+b");

  check (f != NULL, name);
  for (int i = 0; i < n; i++)
    {
      int c;
      fseek (f, offset + i, SEEK_SET);
      c = fgetc (f);
      fseek (f, offset + i, SEEK_SET);
      fputc (c ^ 0xFF, f);
    }
  fclose (f);
}

static haddr_t
object_address (const char *name,
                const char *path)
{
  hid_t f = H5Fopen (path_of (name), H5F_ACC_RDONLY, H5P_DEFAULT);
  H5O_info_t info;

  check (f >= 0 && H5Oget_info_by_name2 (f, path, &info, H5O_INFO_BASIC, H5P_DEFAULT) >= 0, path);
  H5Fclose (f);
  return info.addr;
}

static void
write_file (const char *name,
            const char *text,
            size_t      length)
{
  FILE *f = fopen (path_of (name), "wb");

  check (f != NULL, name);
  fwrite (text, 1, length, f);
  fclose (f);
}

/* ---- files that must work ---------------------------------------------- */

static void
make_chunked (void)
{
  hid_t f = create ("chunked-gzip-shuffle.h5");
  hid_t dcpl = H5Pcreate (H5P_DATASET_CREATE);
  hsize_t dims[2] = { 100, 30 }, chunk[2] = { 16, 7 };
  float v[3000];

  ramp (v, 3000);
  H5Pset_chunk (dcpl, 2, chunk);
  H5Pset_shuffle (dcpl);
  H5Pset_deflate (dcpl, 9);
  H5Pset_fletcher32 (dcpl);
  dataset (f, "/w", H5T_IEEE_F32LE, 2, dims, dcpl, v);
  H5Pclose (dcpl);
  H5Fclose (f);
}

static hid_t
float16_type (void)
{
  hid_t type = H5Tcopy (H5T_IEEE_F32LE);

  H5Tset_fields (type, 15, 10, 5, 0, 10);
  H5Tset_size (type, 2);
  H5Tset_ebias (type, 15);
  return type;
}

static void
make_types (void)
{
  hid_t f = create ("float-types.h5");
  hid_t f16 = float16_type ();
  hid_t f16be = float16_type ();
  hsize_t dims[1] = { 500 };
  float v[500];

  ramp (v, 500);
  H5Tset_order (f16be, H5T_ORDER_BE);
  dataset (f, "/big_endian32", H5T_IEEE_F32BE, 1, dims, H5P_DEFAULT, v);
  dataset (f, "/big_endian64", H5T_IEEE_F64BE, 1, dims, H5P_DEFAULT, v);
  dataset (f, "/float16", f16, 1, dims, H5P_DEFAULT, v);
  dataset (f, "/float16_be", f16be, 1, dims, H5P_DEFAULT, v);
  dataset (f, "/float64", H5T_IEEE_F64LE, 1, dims, H5P_DEFAULT, v);
  H5Tclose (f16);
  H5Tclose (f16be);
  H5Fclose (f);
}

static void
make_small_shapes (void)
{
  hid_t f = create ("small-shapes.h5");
  hsize_t one[1] = { 1 }, empty[2] = { 0, 4 };
  float v[1] = { 0.5f };

  dataset (f, "/scalar", H5T_IEEE_F32LE, -1, NULL, H5P_DEFAULT, v);
  dataset (f, "/one", H5T_IEEE_F32LE, 1, one, H5P_DEFAULT, v);
  dataset (f, "/empty", H5T_IEEE_F32LE, 2, empty, H5P_DEFAULT, NULL);
  H5Fclose (f);
}

static void
make_deep (void)
{
  hid_t f = create ("deep-groups.h5");
  char path[8192] = "";
  size_t len = 0;
  hsize_t dims[1] = { 10 };
  float v[10];

  ramp (v, 10);
  for (int depth = 0; depth < 300; depth++)
    len += (size_t) snprintf (path + len, sizeof path - len, "/g%d", depth);
  snprintf (path + len, sizeof path - len, "/w");
  dataset (f, path, H5T_IEEE_F32LE, 1, dims, H5P_DEFAULT, v);
  H5Fclose (f);
}

static void
make_links (void)
{
  hid_t f = create ("links.h5");
  hsize_t dims[1] = { 10 };
  float v[10];

  ramp (v, 10);
  dataset (f, "/data/w", H5T_IEEE_F32LE, 1, dims, H5P_DEFAULT, v);
  check (H5Lcreate_hard (f, "/data/w", f, "/data/w_again", H5P_DEFAULT, H5P_DEFAULT) >= 0, "hard");
  check (H5Lcreate_hard (f, "/data", f, "/data/loop", H5P_DEFAULT, H5P_DEFAULT) >= 0, "hard loop");
  check (H5Lcreate_soft ("/data/w", f, "/soft_w", H5P_DEFAULT, H5P_DEFAULT) >= 0, "soft");
  check (H5Lcreate_soft ("/nowhere", f, "/dangling", H5P_DEFAULT, H5P_DEFAULT) >= 0, "dangling");
  H5Fclose (f);

  f = create ("external-target.h5");
  dataset (f, "/weights/w", H5T_IEEE_F32LE, 1, dims, H5P_DEFAULT, v);
  H5Fclose (f);
  f = create ("external-links.h5");
  check (H5Lcreate_external ("external-target.h5", "/weights", f, "/ext", H5P_DEFAULT, H5P_DEFAULT) >= 0, "ext");
  check (H5Lcreate_external ("missing.h5", "/x", f, "/ext_missing", H5P_DEFAULT, H5P_DEFAULT) >= 0, "ext missing");
  H5Fclose (f);
}

static void
make_names (void)
{
  hid_t f = create ("non-ascii-names.h5");
  hsize_t dims[1] = { 10 };
  float v[10];

  ramp (v, 10);
  dataset (f, "/ünïcödé/重み/カーネル", H5T_IEEE_F32LE, 1, dims, H5P_DEFAULT, v);
  dataset (f, "/with space/and:colon/kernel:0", H5T_IEEE_F32LE, 1, dims, H5P_DEFAULT, v);
  H5Fclose (f);
}

static void
attribute (hid_t       obj,
           const char *name,
           hid_t       type,
           hid_t       space,
           const void *data)
{
  hid_t a = H5Acreate2 (obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);

  check (a >= 0, name);
  if (data != NULL)
    check (H5Awrite (a, type, data) >= 0, name);
  H5Aclose (a);
}

/* Attributes of every type on the root, a group and the dataset. */
static void
make_attributes (void)
{
  hid_t f = create ("attributes.h5");
  hsize_t dims[1] = { 10 }, three[1] = { 3 };
  hid_t scalar = H5Screate (H5S_SCALAR), vec = H5Screate_simple (1, three, NULL), null = H5Screate (H5S_NULL);
  hid_t vstr = H5Tcopy (H5T_C_S1), fstr = H5Tcopy (H5T_C_S1);
  hid_t compound = H5Tcreate (H5T_COMPOUND, 12), enumt = H5Tenum_create (H5T_NATIVE_INT);
  hid_t vlen = H5Tvlen_create (H5T_NATIVE_INT), opaque = H5Tcreate (H5T_OPAQUE, 4);
  hid_t array = H5Tarray_create2 (H5T_NATIVE_SHORT, 1, three);
  const char *text = "texte accentué";
  const int ints[3] = { 1, -2, 3 }, zero = 0, one = 1;
  struct { int a; double b; } record = { 7, 2.5 };
  hvl_t seq = { 3, (void *) ints };
  const short shorts[3] = { 4, 5, 6 };
  hobj_ref_t ref;
  float v[10];
  const char *objects[] = { "/", "/group", "/group/w" };

  ramp (v, 10);
  dataset (f, "/group/w", H5T_IEEE_F32LE, 1, dims, H5P_DEFAULT, v);
  H5Tset_size (vstr, H5T_VARIABLE);
  H5Tset_cset (vstr, H5T_CSET_UTF8);
  H5Tset_size (fstr, 5);
  H5Tinsert (compound, "a", 0, H5T_NATIVE_INT);
  H5Tinsert (compound, "b", 4, H5T_NATIVE_DOUBLE);
  H5Tenum_insert (enumt, "OFF", &zero);
  H5Tenum_insert (enumt, "ON", &one);
  H5Tset_tag (opaque, "bytes");
  check (H5Rcreate (&ref, f, "/group/w", H5R_OBJECT, -1) >= 0, "reference");

  for (int i = 0; i < 3; i++)
    {
      hid_t obj = H5Oopen (f, objects[i], H5P_DEFAULT);

      attribute (obj, "int", H5T_STD_I32BE, vec, ints);
      attribute (obj, "vstring", vstr, scalar, &text);
      attribute (obj, "fstring", fstr, scalar, "abcde");
      attribute (obj, "compound", compound, scalar, &record);
      attribute (obj, "enum", enumt, scalar, &one);
      attribute (obj, "vlen", vlen, scalar, &seq);
      attribute (obj, "opaque", opaque, scalar, "\1\2\3\4");
      attribute (obj, "array", array, scalar, shorts);
      attribute (obj, "reference", H5T_STD_REF_OBJ, scalar, &ref);
      attribute (obj, "null", H5T_NATIVE_FLOAT, null, NULL);
      H5Oclose (obj);
    }

  H5Tclose (array);
  H5Tclose (opaque);
  H5Tclose (vlen);
  H5Tclose (enumt);
  H5Tclose (compound);
  H5Tclose (fstr);
  H5Tclose (vstr);
  H5Sclose (null);
  H5Sclose (vec);
  H5Sclose (scalar);
  H5Fclose (f);
}

/* ---- files that must fail cleanly -------------------------------------- */

static void
make_unquantizable (void)
{
  hid_t f = create ("not-quantizable.h5");
  hsize_t dims[1] = { 3 };
  hid_t space = H5Screate_simple (1, dims, NULL);
  hid_t compound = H5Tcreate (H5T_COMPOUND, 8), vstr = H5Tcopy (H5T_C_S1);
  hid_t vlen = H5Tvlen_create (H5T_NATIVE_FLOAT), opaque = H5Tcreate (H5T_OPAQUE, 4);
  hid_t enumt = H5Tenum_create (H5T_NATIVE_INT);
  int zero = 0;
  hid_t types[6];
  const char *names[] = { "/compound", "/string", "/vlen", "/reference", "/opaque", "/enum" };

  H5Tinsert (compound, "x", 0, H5T_NATIVE_FLOAT);
  H5Tinsert (compound, "y", 4, H5T_NATIVE_FLOAT);
  H5Tset_size (vstr, H5T_VARIABLE);
  H5Tenum_insert (enumt, "A", &zero);
  types[0] = compound;
  types[1] = vstr;
  types[2] = vlen;
  types[3] = H5T_STD_REF_OBJ;
  types[4] = opaque;
  types[5] = enumt;
  for (int i = 0; i < 6; i++)
    {
      hid_t d = H5Dcreate2 (f, names[i], types[i], space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
      check (d >= 0, names[i]);
      H5Dclose (d);
    }
  H5Tclose (enumt);
  H5Tclose (opaque);
  H5Tclose (vlen);
  H5Tclose (vstr);
  H5Tclose (compound);
  H5Sclose (space);
  H5Fclose (f);
}

static void
make_huge (void)
{
  hid_t f, dcpl = H5Pcreate (H5P_DATASET_CREATE);
  hsize_t dims[3] = { (hsize_t) 1 << 32, (hsize_t) 1 << 32, 4 }, chunk[3] = { 1, 1, 4 };
  hsize_t big[2] = { (hsize_t) 1 << 20, 1024 }, big_chunk[2] = { (hsize_t) 1 << 19, 1024 };
  hsize_t many[2] = { (hsize_t) 1 << 20, (hsize_t) 1 << 20 }, many_chunks[2] = { 1, 1024 };
  hsize_t small[2] = { 4, 4 };
  float small_values[16];

  /* 2^66 elements: the product does not fit in 64 bits. */
  f = create ("huge-dims.h5");
  H5Pset_chunk (dcpl, 3, chunk);
  dataset (f, "/w", H5T_IEEE_F32LE, 3, dims, dcpl, NULL);
  H5Fclose (f);
  H5Pclose (dcpl);

  /* 4 GiB declared, in 2 GiB chunks: HDF5 would hold a whole chunk to read
   * any part of it, so this cannot be streamed under a small budget. */
  dcpl = H5Pcreate (H5P_DATASET_CREATE);
  f = create ("huge-chunk.h5");
  H5Pset_chunk (dcpl, 2, big_chunk);
  dataset (f, "/w", H5T_IEEE_F32LE, 2, big, dcpl, NULL);
  H5Fclose (f);
  H5Pclose (dcpl);

  /* 2^40 values in 2^30 chunks of 4 KiB, none written, beside a small
   * written tensor: reading every chunk position never ends. */
  dcpl = H5Pcreate (H5P_DATASET_CREATE);
  f = create ("unwritten-huge.h5");
  H5Pset_chunk (dcpl, 2, many_chunks);
  dataset (f, "/w", H5T_IEEE_F32LE, 2, many, dcpl, NULL);
  ramp (small_values, 16);
  dataset (f, "/small", H5T_IEEE_F32LE, 2, small, H5P_DEFAULT, small_values);
  H5Fclose (f);
  H5Pclose (dcpl);
}

static void
make_soft_cycle (void)
{
  hid_t f = create ("soft-cycle.h5");
  hsize_t dims[1] = { 4 };
  float v[4] = { 1, 2, 3, 4 };

  dataset (f, "/ok", H5T_IEEE_F32LE, 1, dims, H5P_DEFAULT, v);
  check (H5Lcreate_soft ("/b", f, "/a", H5P_DEFAULT, H5P_DEFAULT) >= 0, "a");
  check (H5Lcreate_soft ("/a", f, "/b", H5P_DEFAULT, H5P_DEFAULT) >= 0, "b");
  check (H5Lcreate_soft ("/self", f, "/self", H5P_DEFAULT, H5P_DEFAULT) >= 0, "self");
  H5Fclose (f);
}

/* Large enough (64 MiB) that an export under a 1 MiB budget runs for a
 * while: the interruption test stops it midway. */
static void
make_interruptible (void)
{
  hid_t f = create ("interrupt.h5");
  hsize_t dims[2] = { 4096, 4096 };
  float *v = malloc (4096 * 4096 * sizeof (float));

  check (v != NULL, "interrupt.h5");
  ramp (v, 4096 * 4096);
  dataset (f, "/w", H5T_IEEE_F32LE, 2, dims, H5P_DEFAULT, v);
  free (v);
  H5Fclose (f);
}

/* A filter only this program has: the reader's libhdf5 does not, as it
 * lacks a plugin a real file was compressed with (Blosc, Zstandard...). */
#define CORPUS_FILTER_ID 32123

static size_t
pass_through_filter (unsigned int        flags,
                     size_t              cd_nelmts,
                     const unsigned int  cd_values[],
                     size_t              nbytes,
                     size_t             *buf_size,
                     void              **buf)
{
  (void) flags, (void) cd_nelmts, (void) cd_values, (void) buf_size, (void) buf;
  return nbytes;
}

/* Chunks stored with a mandatory filter the reader lacks: the listing
 * works, every read names the missing filter. */
static void
make_missing_filter (void)
{
  const H5Z_class2_t filter = {
    H5Z_CLASS_T_VERS, (H5Z_filter_t) CORPUS_FILTER_ID, 1, 1, "corpus-only", NULL, NULL, pass_through_filter,
  };
  hid_t f, dcpl = H5Pcreate (H5P_DATASET_CREATE);
  hsize_t dims[2] = { 64, 32 }, chunk[2] = { 16, 32 };
  float v[64 * 32];

  check (H5Zregister (&filter) >= 0, "H5Zregister");
  H5Pset_chunk (dcpl, 2, chunk);
  check (H5Pset_filter (dcpl, CORPUS_FILTER_ID, H5Z_FLAG_MANDATORY, 0, NULL) >= 0, "H5Pset_filter");
  ramp (v, 64 * 32);
  f = create ("missing-filter.h5");
  dataset (f, "/w", H5T_IEEE_F32LE, 2, dims, dcpl, v);
  H5Fclose (f);
  H5Pclose (dcpl);
  H5Zunregister ((H5Z_filter_t) CORPUS_FILTER_ID);
}

static void
make_damaged (void)
{
  long size;
  haddr_t header;

  simple_file ("intact.h5");
  size = file_size ("intact.h5");

  copy_file ("intact.h5", "truncated.h5", size / 2);
  copy_file ("intact.h5", "truncated-header.h5", 300);

  /* The superblock: version, sizes and the root group's address. */
  copy_file ("intact.h5", "flipped-superblock.h5", -1);
  flip ("flipped-superblock.h5", 8, 16);
  copy_file ("intact.h5", "flipped-root-address.h5", -1);
  flip ("flipped-root-address.h5", 40, 8);

  /* The dataset's object header: its messages (dataspace, type, layout). */
  header = object_address ("intact.h5", "/model/dense/kernel");
  copy_file ("intact.h5", "flipped-object-header.h5", -1);
  flip ("flipped-object-header.h5", (long) header + 16, 24);
  copy_file ("intact.h5", "flipped-object-header-2.h5", -1);
  flip ("flipped-object-header-2.h5", (long) header + 40, 48);
  header = object_address ("intact.h5", "/model");
  copy_file ("intact.h5", "flipped-group-header.h5", -1);
  flip ("flipped-group-header.h5", (long) header + 8, 32);

  write_file ("not-hdf5.h5", "layer_names = dense\n", 20);
  write_file ("empty.h5", "", 0);
  write_file ("signature-only.h5", "\211HDF\r\n\032\n", 8);
  check (mkdir (path_of ("directory.h5"), 0755) == 0 || errno == EEXIST, "directory.h5");
}

int
main (int   argc,
      char *argv[])
{
  FILE *stamp;

  if (argc != 3)
    {
      fprintf (stderr, "usage: make-corpus DIR STAMP\n");
      return 2;
    }
  dir = argv[1];
  check (mkdir (dir, 0755) == 0 || errno == EEXIST, dir);
  H5Eset_auto2 (H5E_DEFAULT, NULL, NULL);

  make_chunked ();
  make_types ();
  make_small_shapes ();
  make_deep ();
  make_links ();
  make_names ();
  make_attributes ();
  make_unquantizable ();
  make_huge ();
  make_soft_cycle ();
  make_damaged ();
  make_missing_filter ();
  make_interruptible ();

  stamp = fopen (argv[2], "w");
  check (stamp != NULL, argv[2]);
  fprintf (stamp, "%s\n", dir);
  fclose (stamp);
  return 0;
}
