/* qs-document.c: an open weight file with the schemes the user chose for it.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <string.h>

#include "app/qs-document.h"
#include "app/qs-tensor-item.h"
#include "quant/qs-analysis.h"

/* Tensors kept in memory for live work; the least recently used go first.
 * A few hundred MiB keeps a large model's layers one click away without
 * holding a whole LLM checkpoint. */
#define VALUE_CACHE_BYTES ((gsize) 512 << 20)

struct _QsDocument
{
  GObject       parent_instance;

  QsWeightFile *file;
  GListStore   *tensors;
  GHashTable   *items_by_path;   /* path -> QsTensorItem (borrowed from tensors) */
  QsScheme      default_scheme;
  GHashTable   *overrides;       /* path -> QsScheme */

  GMutex        cache_lock;
  GHashTable   *cache;           /* path -> GBytes */
  GQueue        cache_order;     /* paths, most recent first (owned by cache keys) */
  gsize         cache_bytes;
};

G_DEFINE_FINAL_TYPE (QsDocument, qs_document, G_TYPE_OBJECT)

enum {
  SCHEMES_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
qs_document_finalize (GObject *object)
{
  QsDocument *self = QS_DOCUMENT (object);

  g_clear_object (&self->file);
  g_clear_object (&self->tensors);
  g_clear_pointer (&self->items_by_path, g_hash_table_unref);
  g_clear_pointer (&self->overrides, g_hash_table_unref);
  g_queue_clear (&self->cache_order);
  g_clear_pointer (&self->cache, g_hash_table_unref);
  g_mutex_clear (&self->cache_lock);
  G_OBJECT_CLASS (qs_document_parent_class)->finalize (object);
}

static void
qs_document_class_init (QsDocumentClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = qs_document_finalize;

  signals[SCHEMES_CHANGED] = g_signal_new ("schemes-changed", G_TYPE_FROM_CLASS (klass),
                                           G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                           G_TYPE_NONE, 0);
}

static void
qs_document_init (QsDocument *self)
{
  self->tensors = g_list_store_new (QS_TYPE_TENSOR_ITEM);
  self->items_by_path = g_hash_table_new (g_str_hash, g_str_equal);
  self->overrides = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->cache = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_bytes_unref);
  g_mutex_init (&self->cache_lock);
  qs_scheme_init_default (&self->default_scheme);
  self->default_scheme.manual_lo = -1.0;
  self->default_scheme.manual_hi = 1.0;
}

QsDocument *
qs_document_new (QsWeightFile *file)
{
  QsDocument *self;
  GPtrArray *tensors;

  g_return_val_if_fail (QS_IS_WEIGHT_FILE (file), NULL);

  self = g_object_new (QS_TYPE_DOCUMENT, NULL);
  self->file = g_object_ref (file);
  tensors = qs_weight_file_get_tensors (file);
  for (guint i = 0; i < tensors->len; i++)
    {
      g_autoptr(QsTensorItem) item = qs_tensor_item_new (g_ptr_array_index (tensors, i));
      g_list_store_append (self->tensors, item);
      g_hash_table_insert (self->items_by_path,
                           (gpointer) qs_tensor_item_get_info (item)->path, item);
    }
  return self;
}

QsWeightFile *
qs_document_get_file (QsDocument *self)
{
  g_return_val_if_fail (QS_IS_DOCUMENT (self), NULL);
  return self->file;
}

GListModel *
qs_document_get_tensors (QsDocument *self)
{
  g_return_val_if_fail (QS_IS_DOCUMENT (self), NULL);
  return G_LIST_MODEL (self->tensors);
}

QsTensorItem *
qs_document_find_item (QsDocument *self,
                       const char *path)
{
  g_return_val_if_fail (QS_IS_DOCUMENT (self), NULL);
  return path ? g_hash_table_lookup (self->items_by_path, path) : NULL;
}

void
qs_document_get_default_scheme (QsDocument *self,
                                QsScheme   *scheme)
{
  g_return_if_fail (QS_IS_DOCUMENT (self));
  *scheme = self->default_scheme;
}

void
qs_document_set_default_scheme (QsDocument     *self,
                                const QsScheme *scheme)
{
  g_return_if_fail (QS_IS_DOCUMENT (self));

  if (memcmp (&self->default_scheme, scheme, sizeof *scheme) == 0)
    return;
  self->default_scheme = *scheme;
  g_signal_emit (self, signals[SCHEMES_CHANGED], 0);
}

void
qs_document_get_scheme_for (QsDocument *self,
                            const char *path,
                            QsScheme   *scheme)
{
  const QsScheme *override;

  g_return_if_fail (QS_IS_DOCUMENT (self));

  override = path ? g_hash_table_lookup (self->overrides, path) : NULL;
  *scheme = override ? *override : self->default_scheme;
}

gboolean
qs_document_has_override (QsDocument *self,
                          const char *path)
{
  g_return_val_if_fail (QS_IS_DOCUMENT (self), FALSE);
  return path && g_hash_table_contains (self->overrides, path);
}

void
qs_document_set_override (QsDocument     *self,
                          const char     *path,
                          const QsScheme *scheme)
{
  QsTensorItem *item;
  const QsScheme *current;

  g_return_if_fail (QS_IS_DOCUMENT (self));
  g_return_if_fail (path != NULL);

  current = g_hash_table_lookup (self->overrides, path);
  if (scheme == NULL && current == NULL)
    return;
  if (scheme != NULL && current != NULL && memcmp (current, scheme, sizeof *scheme) == 0)
    return;

  if (scheme == NULL)
    g_hash_table_remove (self->overrides, path);
  else
    g_hash_table_insert (self->overrides, g_strdup (path), g_memdup2 (scheme, sizeof *scheme));

  item = qs_document_find_item (self, path);
  if (item != NULL)
    qs_tensor_item_set_overridden (item, scheme != NULL);
  g_signal_emit (self, signals[SCHEMES_CHANGED], 0);
}

void
qs_document_clear_overrides (QsDocument *self)
{
  GHashTableIter iter;
  gpointer key;

  g_return_if_fail (QS_IS_DOCUMENT (self));

  if (g_hash_table_size (self->overrides) == 0)
    return;
  g_hash_table_iter_init (&iter, self->overrides);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      QsTensorItem *item = qs_document_find_item (self, key);
      if (item != NULL)
        qs_tensor_item_set_overridden (item, FALSE);
    }
  g_hash_table_remove_all (self->overrides);
  g_signal_emit (self, signals[SCHEMES_CHANGED], 0);
}

static void
cache_touch_locked (QsDocument *self,
                    const char *key)
{
  GList *link = g_queue_find (&self->cache_order, key);

  if (link != NULL)
    g_queue_unlink (&self->cache_order, link);
  else
    link = g_list_alloc ();
  link->data = (gpointer) key;
  g_queue_push_head_link (&self->cache_order, link);
}

static void
cache_evict_locked (QsDocument *self,
                    gsize       needed)
{
  while (self->cache_bytes + needed > VALUE_CACHE_BYTES && !g_queue_is_empty (&self->cache_order))
    {
      const char *oldest = g_queue_pop_tail (&self->cache_order);
      GBytes *bytes = g_hash_table_lookup (self->cache, oldest);
      self->cache_bytes -= g_bytes_get_size (bytes);
      g_hash_table_remove (self->cache, oldest);
    }
}

GBytes *
qs_document_load_values (QsDocument          *self,
                         const QsTensorInfo  *info,
                         GError             **error)
{
  g_autofree float *values = NULL;
  GBytes *bytes;
  gsize size;
  char *key;

  g_return_val_if_fail (QS_IS_DOCUMENT (self), NULL);
  g_return_val_if_fail (info != NULL, NULL);

  g_mutex_lock (&self->cache_lock);
  if (g_hash_table_lookup_extended (self->cache, info->path, (gpointer *) &key, (gpointer *) &bytes))
    {
      cache_touch_locked (self, key);
      bytes = g_bytes_ref (bytes);
      g_mutex_unlock (&self->cache_lock);
      return bytes;
    }
  g_mutex_unlock (&self->cache_lock);

  /* Read outside the lock: a large tensor must not stall other readers
   * of cached ones. Two threads may read the same tensor; the second
   * insert simply replaces the first. */
  values = qs_weight_file_read_tensor (self->file, info, error);
  if (values == NULL)
    return NULL;
  size = info->count * sizeof (float);
  bytes = g_bytes_new_take (g_steal_pointer (&values), size);

  g_mutex_lock (&self->cache_lock);
  {
    GBytes *cached;
    if (g_hash_table_lookup_extended (self->cache, info->path, (gpointer *) &key, (gpointer *) &cached))
      {
        /* Another thread read it meanwhile: share one copy. */
        cache_touch_locked (self, key);
        g_bytes_unref (bytes);
        bytes = g_bytes_ref (cached);
      }
    else if (size <= VALUE_CACHE_BYTES)
      {
        cache_evict_locked (self, size);
        key = g_strdup (info->path);
        g_hash_table_insert (self->cache, key, g_bytes_ref (bytes));
        self->cache_bytes += size;
        cache_touch_locked (self, key);
      }
  }
  g_mutex_unlock (&self->cache_lock);
  return bytes;
}

void
qs_document_model_size (QsDocument *self,
                        guint64    *fp32_bytes,
                        guint64    *quant_bytes)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->tensors));

  *fp32_bytes = 0;
  *quant_bytes = 0;
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(QsTensorItem) item = g_list_model_get_item (G_LIST_MODEL (self->tensors), i);
      const QsTensorInfo *info = qs_tensor_item_get_info (item);
      QsScheme scheme;
      size_t channels = 1;

      if (!info->quantizable)
        continue;
      qs_document_get_scheme_for (self, info->path, &scheme);
      /* Blocks run along the reduction axis of each output channel
       * (qs_quantized_size_bytes wants those runs); a bias is one run,
       * and per-channel leaves a 1-D tensor one scale, as the report does. */
      if ((scheme.granularity == QS_GRANULARITY_CHANNEL || qs_scheme_is_blockwise (&scheme)) && info->rank > 1)
        {
          int axis = info->channel_axis >= 0 ? info->channel_axis : info->rank - 1;
          channels = (size_t) info->shape[axis];
        }
      *fp32_bytes += info->count * sizeof (float);
      *quant_bytes += qs_quantized_size_bytes (&scheme, info->count, channels);
    }
}

QsSchemeFile *
qs_document_to_scheme_file (QsDocument *self)
{
  QsSchemeFile *file;
  GListModel *tensors;

  g_return_val_if_fail (QS_IS_DOCUMENT (self), NULL);

  file = qs_scheme_file_new (&self->default_scheme);
  /* In file order, so the saved file reads like the sidebar. */
  tensors = G_LIST_MODEL (self->tensors);
  for (guint i = 0; i < g_list_model_get_n_items (tensors); i++)
    {
      g_autoptr(QsTensorItem) item = g_list_model_get_item (tensors, i);
      const char *path = qs_tensor_item_get_info (item)->path;
      const QsScheme *override = g_hash_table_lookup (self->overrides, path);
      if (override != NULL)
        qs_scheme_file_set_tensor_scheme (file, path, override);
    }
  return file;
}
