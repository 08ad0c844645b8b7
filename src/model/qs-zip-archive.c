/* qs-zip-archive.c: a small, bounded reader of zip archives (the Keras 3 .keras file).
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The central directory is the archive's table of contents (APPNOTE.TXT
 * 4.3.12); local headers are read only to find where an entry's data
 * starts, and their sizes are ignored (Python's zipfile may leave them 0
 * and put the sizes in a data descriptor). Every offset and size read from
 * the file is checked against the file's size before use.
 */
#include "model/qs-zip-archive.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gio.h>

#include "model/qs-error.h"
#include "model/qs-input-file.h"

#define SIG_LOCAL        0x04034b50u
#define SIG_CENTRAL      0x02014b50u
#define SIG_END          0x06054b50u
#define SIG_ZIP64_LOCATOR 0x07064b50u
#define END_BYTES        22
#define CENTRAL_BYTES    46
#define LOCAL_BYTES      30
#define ZIP64_LOCATOR_BYTES 20
#define MAX_COMMENT      0xffff
/* A central directory of QS_ZIP_MAX_ENTRIES entries with the longest
 * names, extras and comments is below this. */
#define MAX_DIRECTORY_BYTES (G_GUINT64_CONSTANT (64) << 20)

#define FLAG_ENCRYPTED        (1u << 0)
#define FLAG_STRONG_ENCRYPTION (1u << 6)
#define METHOD_STORED   0
#define METHOD_DEFLATED 8

typedef struct {
  char    *name;
  guint16  flags;
  guint16  method;
  guint32  crc;
  guint64  compressed;
  guint64  uncompressed;
  guint64  local_offset;
} Entry;

struct _QsZipArchive
{
  char      *display;      /* the file's name, for messages */
  int        fd;
  guint64    size;
  guint64    directory_offset;
  GPtrArray *entries;      /* Entry */
  GHashTable *by_name;     /* name -> Entry owned by entries */
};

static guint16
le16 (const guint8 *p)
{
  return (guint16) (p[0] | (p[1] << 8));
}

static guint32
le32 (const guint8 *p)
{
  return (guint32) p[0] | ((guint32) p[1] << 8) | ((guint32) p[2] << 16) | ((guint32) p[3] << 24);
}

static void
entry_free (gpointer data)
{
  Entry *entry = data;

  g_free (entry->name);
  g_free (entry);
}

void
qs_zip_archive_free (QsZipArchive *archive)
{
  if (archive == NULL)
    return;
  if (archive->fd >= 0)
    close (archive->fd);
  g_clear_pointer (&archive->by_name, g_hash_table_unref);
  g_clear_pointer (&archive->entries, g_ptr_array_unref);
  g_free (archive->display);
  g_free (archive);
}

static gboolean
bad (GError       **error,
     QsZipArchive  *archive,
     const char    *what)
{
  g_set_error (error, QS_ERROR, QS_ERROR_INVALID, "“%s” is not a zip archive Quantscope reads: %s",
               archive->display, what);
  return FALSE;
}

/* Exactly @length bytes at @offset, or FALSE (a truncated file). */
static gboolean
read_at (QsZipArchive  *archive,
         guint64        offset,
         void          *buffer,
         gsize          length,
         GError       **error)
{
  gsize done = 0;

  if (offset > archive->size || length > archive->size - offset)
    return bad (error, archive, "it is truncated (an entry points past its end)");
  while (done < length)
    {
      ssize_t n = pread (archive->fd, (guint8 *) buffer + done, length - done, (off_t) (offset + done));

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          int saved = errno;

          g_set_error (error, QS_ERROR, QS_ERROR_READ, "Cannot read “%s”: %s", archive->display,
                       n == 0 ? "it is shorter than it was" : g_strerror (saved));
          return FALSE;
        }
      done += (gsize) n;
    }
  return TRUE;
}

gboolean
qs_zip_archive_sniff (const char *path)
{
  int fd = qs_input_file_open (path, "The file", NULL);
  guint8 head[4];
  gboolean zip;

  if (fd < 0)
    return FALSE;
  zip = read (fd, head, sizeof head) == (ssize_t) sizeof head
        && (le32 (head) == SIG_LOCAL || le32 (head) == SIG_END);
  close (fd);
  return zip;
}

/* A name that cannot escape a folder or hide as another: relative, no
 * "..", no backslashes or control characters. */
static gboolean
name_is_safe (const char *name,
              gsize       length)
{
  g_auto(GStrv) parts = NULL;

  if (length == 0 || name[0] == '/' || strlen (name) != length)
    return FALSE;
  for (gsize i = 0; i < length; i++)
    if (name[i] == '\\' || (guchar) name[i] < 0x20)
      return FALSE;
  parts = g_strsplit (name, "/", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    if (g_str_equal (parts[i], ".."))
      return FALSE;
  return TRUE;
}

/* The end-of-central-directory record: the last signature within the
 * comment's reach whose comment ends exactly at the file's end. */
static gboolean
find_end (QsZipArchive  *archive,
          guint8         end[END_BYTES],
          guint64       *end_offset,
          GError       **error)
{
  guint64 span = MIN (archive->size, (guint64) END_BYTES + MAX_COMMENT);
  g_autofree guint8 *tail = NULL;

  if (archive->size < END_BYTES)
    return bad (error, archive, "it is too short to hold a directory");
  tail = g_malloc (span);
  if (!read_at (archive, archive->size - span, tail, span, error))
    return FALSE;
  for (guint64 i = span - END_BYTES + 1; i-- > 0;)
    if (le32 (tail + i) == SIG_END && i + END_BYTES + le16 (tail + i + 20) == span)
      {
        memcpy (end, tail + i, END_BYTES);
        *end_offset = archive->size - span + i;
        if (i >= ZIP64_LOCATOR_BYTES && le32 (tail + i - ZIP64_LOCATOR_BYTES) == SIG_ZIP64_LOCATOR)
          return bad (error, archive, "it is a zip64 archive (more than 4 GiB or 65535 entries)");
        return TRUE;
      }
  return bad (error, archive, "it has no end-of-directory record (truncated?)");
}

static gboolean
parse_directory (QsZipArchive  *archive,
                 const guint8  *dir,
                 gsize          dir_size,
                 guint          count,
                 GError       **error)
{
  gsize pos = 0;

  for (guint i = 0; i < count; i++)
    {
      const guint8 *p = dir + pos;
      Entry *entry;
      gsize name_len, extra_len, comment_len;

      if (dir_size - pos < CENTRAL_BYTES || le32 (p) != SIG_CENTRAL)
        return bad (error, archive, "its directory is damaged");
      name_len = le16 (p + 28);
      extra_len = le16 (p + 30);
      comment_len = le16 (p + 32);
      if (dir_size - pos - CENTRAL_BYTES < name_len + extra_len + comment_len)
        return bad (error, archive, "its directory is damaged");
      if (name_len > QS_ZIP_MAX_NAME_BYTES)
        return bad (error, archive, "an entry name is longer than 1024 bytes");

      entry = g_new0 (Entry, 1);
      entry->name = g_strndup ((const char *) p + CENTRAL_BYTES, name_len);
      entry->flags = le16 (p + 8);
      entry->method = le16 (p + 10);
      entry->crc = le32 (p + 16);
      entry->compressed = le32 (p + 20);
      entry->uncompressed = le32 (p + 24);
      entry->local_offset = le32 (p + 42);
      g_ptr_array_add (archive->entries, entry);

      if (!name_is_safe (entry->name, name_len))
        return bad (error, archive, "an entry name is absolute, contains “..” or control characters");
      if (entry->compressed == G_MAXUINT32 || entry->uncompressed == G_MAXUINT32
          || entry->local_offset == G_MAXUINT32 || le16 (p + 34) == G_MAXUINT16)
        return bad (error, archive, "it uses zip64 sizes (entries past 4 GiB)");
      for (gsize e = 0; e + 4 <= extra_len; e += 4 + le16 (p + CENTRAL_BYTES + name_len + e + 2))
        if (le16 (p + CENTRAL_BYTES + name_len + e) == 0x0001)
          return bad (error, archive, "it uses zip64 sizes (entries past 4 GiB)");
      if (entry->flags & (FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION))
        return bad (error, archive, "it is encrypted");
      if (entry->local_offset >= archive->directory_offset)
        return bad (error, archive, "an entry lies outside the archive's data");
      if (!g_hash_table_insert (archive->by_name, entry->name, entry))
        return bad (error, archive, "two entries have the same name");
      pos += CENTRAL_BYTES + name_len + extra_len + comment_len;
    }
  return TRUE;
}

QsZipArchive *
qs_zip_archive_open (const char  *path,
                     GError     **error)
{
  g_autoptr(QsZipArchive) archive = g_new0 (QsZipArchive, 1);
  g_autofree guint8 *dir = NULL;
  guint8 end[END_BYTES];
  guint64 end_offset, dir_size;
  struct stat st;
  guint count;

  g_return_val_if_fail (path != NULL, NULL);

  archive->display = g_filename_display_name (path);
  archive->entries = g_ptr_array_new_with_free_func (entry_free);
  archive->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  archive->fd = qs_input_file_open (path, "The model file", error);
  if (archive->fd < 0)
    return NULL;
  if (fstat (archive->fd, &st) != 0 || st.st_size < 0)
    {
      g_set_error (error, QS_ERROR, QS_ERROR_READ, "Cannot read “%s”", archive->display);
      return NULL;
    }
  archive->size = (guint64) st.st_size;
  if (!find_end (archive, end, &end_offset, error))
    return NULL;

  count = le16 (end + 10);
  dir_size = le32 (end + 12);
  archive->directory_offset = le32 (end + 16);
  if (le16 (end + 4) != 0 || le16 (end + 6) != 0 || le16 (end + 8) != count)
    {
      bad (error, archive, "it spans several disks");
      return NULL;
    }
  if (count == G_MAXUINT16 || dir_size == G_MAXUINT32 || archive->directory_offset == G_MAXUINT32)
    {
      bad (error, archive, "it is a zip64 archive (more than 4 GiB or 65535 entries)");
      return NULL;
    }
  if (count > QS_ZIP_MAX_ENTRIES)
    {
      g_set_error (error, QS_ERROR, QS_ERROR_TOO_LARGE,
                   "“%s” has %u entries; a model archive has a few (at most %d are read)",
                   archive->display, count, QS_ZIP_MAX_ENTRIES);
      return NULL;
    }
  if (archive->directory_offset > end_offset || dir_size > end_offset - archive->directory_offset
      || dir_size > MAX_DIRECTORY_BYTES)
    {
      bad (error, archive, "its directory lies outside the file (truncated?)");
      return NULL;
    }
  dir = g_malloc (MAX (dir_size, 1));
  if (!read_at (archive, archive->directory_offset, dir, dir_size, error)
      || !parse_directory (archive, dir, dir_size, count, error))
    return NULL;
  return g_steal_pointer (&archive);
}

gboolean
qs_zip_archive_has (QsZipArchive *archive,
                    const char   *name)
{
  g_return_val_if_fail (archive != NULL && name != NULL, FALSE);
  return g_hash_table_contains (archive->by_name, name);
}

GPtrArray *
qs_zip_archive_list (QsZipArchive *archive)
{
  GPtrArray *names = g_ptr_array_new ();

  g_return_val_if_fail (archive != NULL, names);
  for (guint i = 0; i < archive->entries->len; i++)
    g_ptr_array_add (names, ((Entry *) g_ptr_array_index (archive->entries, i))->name);
  return names;
}

/* The CRC-32 of zip and gzip (reflected polynomial 0xEDB88320). */
static guint32
crc32_update (guint32       crc,
              const guint8 *data,
              gsize         length)
{
  static guint32 table[256];
  static gsize initialised;

  if (g_once_init_enter (&initialised))
    {
      for (guint32 n = 0; n < 256; n++)
        {
          guint32 c = n;

          for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
          table[n] = c;
        }
      g_once_init_leave (&initialised, 1);
    }
  crc = ~crc;
  for (gsize i = 0; i < length; i++)
    crc = table[(crc ^ data[i]) & 0xff] ^ (crc >> 8);
  return ~crc;
}

/* Inflates @entry's @compressed bytes at @offset into @out, which holds
 * exactly its declared size: more output, or a stream that ends early or
 * late, is damage (or a bomb lying about its size). */
static gboolean
inflate_entry (QsZipArchive  *archive,
               const Entry   *entry,
               guint64        offset,
               guint8        *out,
               GError       **error)
{
  g_autoptr(GZlibDecompressor) inflater = g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_RAW);
  g_autofree guint8 *chunk = g_malloc (1 << 16);
  guint8 spare;
  guint64 in_done = 0, out_done = 0;
  gsize chunk_len = 0, chunk_pos = 0;
  gboolean finished = FALSE;

  while (!finished)
    {
      g_autoptr(GError) local = NULL;
      GConverterFlags flags = G_CONVERTER_NO_FLAGS;
      gsize read_bytes = 0, written = 0;
      GConverterResult result;
      gboolean full = out_done == entry->uncompressed;

      if (chunk_pos == chunk_len && in_done < entry->compressed)
        {
          chunk_len = (gsize) MIN ((guint64) (1 << 16), entry->compressed - in_done);
          if (!read_at (archive, offset + in_done, chunk, chunk_len, error))
            return FALSE;
          in_done += chunk_len;
          chunk_pos = 0;
        }
      if (in_done == entry->compressed)
        flags |= G_CONVERTER_INPUT_AT_END;
      /* Past the declared size, one spare byte shows whether more comes. */
      result = g_converter_convert (G_CONVERTER (inflater), chunk + chunk_pos, chunk_len - chunk_pos,
                                    full ? &spare : out + out_done,
                                    full ? 1 : (gsize) (entry->uncompressed - out_done),
                                    flags, &read_bytes, &written, &local);
      if (result == G_CONVERTER_ERROR)
        {
          /* zlib wants more: only when it has taken all it was given, or
           * the same call would come round again forever. */
          if (g_error_matches (local, G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT) && in_done < entry->compressed
              && chunk_pos == chunk_len)
            continue;
          return bad (error, archive, g_error_matches (local, G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT)
                                      ? "an entry's compressed data ends too early"
                                      : "an entry's compressed data is damaged");
        }
      chunk_pos += read_bytes;
      if (full && written > 0)
        return bad (error, archive, "an entry inflates past its declared size");
      out_done += written;
      finished = result == G_CONVERTER_FINISHED;
      if (!finished && read_bytes == 0 && written == 0 && chunk_pos == chunk_len
          && in_done == entry->compressed)
        return bad (error, archive, "an entry's compressed data ends too early");
    }
  if (out_done != entry->uncompressed || chunk_pos != chunk_len || in_done != entry->compressed)
    return bad (error, archive, "an entry's size does not match its compressed data");
  return TRUE;
}

GBytes *
qs_zip_archive_read (QsZipArchive *archive,
                     const char   *name,
                     guint64       max_bytes,
                     GError      **error)
{
  const Entry *entry;
  guint8 local[LOCAL_BYTES];
  g_autofree guint8 *out = NULL;
  guint64 data_offset;

  g_return_val_if_fail (archive != NULL && name != NULL, NULL);

  entry = g_hash_table_lookup (archive->by_name, name);
  if (entry == NULL)
    {
      g_set_error (error, QS_ERROR, QS_ERROR_NOT_FOUND, "“%s” has no entry “%s”", archive->display, name);
      return NULL;
    }
  if (entry->method != METHOD_STORED && entry->method != METHOD_DEFLATED)
    {
      g_set_error (error, QS_ERROR, QS_ERROR_INVALID,
                   "“%s”: entry “%s” uses compression method %u (only stored and deflate are read)",
                   archive->display, name, entry->method);
      return NULL;
    }
  if (entry->method == METHOD_STORED && entry->uncompressed != entry->compressed)
    {
      bad (error, archive, "a stored entry's two sizes differ");
      return NULL;
    }
  if (entry->uncompressed > entry->compressed * QS_ZIP_MAX_RATIO + QS_ZIP_RATIO_ALLOWANCE)
    {
      g_set_error (error, QS_ERROR, QS_ERROR_TOO_LARGE,
                   "“%s”: entry “%s” would inflate from %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT
                   " bytes, more than %d:1 (a zip bomb, not a model)",
                   archive->display, name, entry->compressed, entry->uncompressed, QS_ZIP_MAX_RATIO);
      return NULL;
    }
  if (entry->uncompressed > max_bytes)
    {
      g_set_error (error, QS_ERROR, QS_ERROR_TOO_LARGE,
                   "“%s”: entry “%s” holds %" G_GUINT64_FORMAT " MiB, more than the %" G_GUINT64_FORMAT
                   " MiB it may take in memory", archive->display, name, entry->uncompressed >> 20, max_bytes >> 20);
      return NULL;
    }
  if (!read_at (archive, entry->local_offset, local, sizeof local, error))
    return NULL;
  if (le32 (local) != SIG_LOCAL)
    {
      bad (error, archive, "an entry's header is missing");
      return NULL;
    }
  data_offset = entry->local_offset + LOCAL_BYTES + le16 (local + 26) + le16 (local + 28);
  if (data_offset > archive->directory_offset
      || entry->compressed > archive->directory_offset - data_offset)
    {
      bad (error, archive, "an entry's data runs past the archive's data (truncated?)");
      return NULL;
    }

  out = g_try_malloc (MAX (entry->uncompressed, 1));
  if (out == NULL)
    {
      g_set_error (error, QS_ERROR, QS_ERROR_TOO_LARGE, "“%s”: no memory for the %" G_GUINT64_FORMAT
                   " bytes of “%s”", archive->display, entry->uncompressed, name);
      return NULL;
    }
  if (entry->method == METHOD_STORED
      ? !read_at (archive, data_offset, out, entry->uncompressed, error)
      : !inflate_entry (archive, entry, data_offset, out, error))
    return NULL;
  if (crc32_update (0, out, entry->uncompressed) != entry->crc)
    {
      g_set_error (error, QS_ERROR, QS_ERROR_INVALID, "“%s”: entry “%s” is damaged (its CRC does not match)",
                   archive->display, name);
      return NULL;
    }
  return g_bytes_new_take (g_steal_pointer (&out), entry->uncompressed);
}
