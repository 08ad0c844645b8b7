/* qs-document.c: an open weight file with the schemes the user chose for it.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"


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
  QsSchemeSet  *schemes;         /* what every tensor gets now */
  GPtrArray    *undo;            /* QsSchemeSet, oldest first */
  GPtrArray    *redo;            /* QsSchemeSet, the next redo last */
  gboolean      coalescing;      /* changes join the last undo step (a drag) */
  gboolean      coalesced_any;

  GMutex        cache_lock;
  GHashTable   *cache;           /* path -> GBytes */
  GQueue        cache_order;     /* paths, most recent first (owned by cache keys) */
  gsize         cache_bytes;
  GHashTable   *range_memos;     /* path -> QsRangeMemo, not lent out (under cache_lock) */
};

G_DEFINE_FINAL_TYPE (QsDocument, qs_document, G_TYPE_OBJECT)

enum {
  SCHEMES_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void update_items (QsDocument *self);

static void
range_memo_free (gpointer memo)
{
  qs_range_memo_clear (memo);
  g_free (memo);
}

static void
qs_document_finalize (GObject *object)
{
  QsDocument *self = QS_DOCUMENT (object);

  g_clear_object (&self->file);
  g_clear_object (&self->tensors);
  g_clear_pointer (&self->items_by_path, g_hash_table_unref);
  g_clear_pointer (&self->schemes, qs_scheme_set_unref);
  g_clear_pointer (&self->undo, g_ptr_array_unref);
  g_clear_pointer (&self->redo, g_ptr_array_unref);
  g_queue_clear (&self->cache_order);
  g_clear_pointer (&self->cache, g_hash_table_unref);
  g_clear_pointer (&self->range_memos, g_hash_table_unref);
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
  self->undo = g_ptr_array_new_with_free_func ((GDestroyNotify) qs_scheme_set_unref);
  self->redo = g_ptr_array_new_with_free_func ((GDestroyNotify) qs_scheme_set_unref);
  self->cache = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_bytes_unref);
  self->range_memos = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, range_memo_free);
  g_mutex_init (&self->cache_lock);
  self->schemes = qs_document_new_default_schemes ();
}

QsSchemeSet *
qs_document_new_default_schemes (void)
{
  QsScheme scheme;

  qs_scheme_init_default (&scheme);
  /* What the clip range controls start from when the user picks "manual". */
  scheme.manual_lo = -1.0;
  scheme.manual_hi = 1.0;
  return qs_scheme_set_new (&scheme);
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
  update_items (self);
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

QsSchemeSet *
qs_document_get_schemes (QsDocument *self)
{
  g_return_val_if_fail (QS_IS_DOCUMENT (self), NULL);
  return self->schemes;
}

/* The sidebar's marks: which tensors have their own scheme, which stay float32. */
static void
update_items (QsDocument *self)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->tensors));

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(QsTensorItem) item = g_list_model_get_item (G_LIST_MODEL (self->tensors), i);
      const QsTensorInfo *info = qs_tensor_item_get_info (item);
      QsScheme scheme;

      qs_tensor_item_set_overridden (item, qs_scheme_set_has_tensor_override (self->schemes, info->path));
      qs_tensor_item_set_kept_float (item, info->quantizable
                                           && !qs_scheme_set_resolve_tensor (self->schemes, info, &scheme));
    }
}

/* Makes @schemes current and tells the sidebar and the window. */
static void
install_schemes (QsDocument  *self,
                 QsSchemeSet *schemes)
{
  g_clear_pointer (&self->schemes, qs_scheme_set_unref);
  self->schemes = schemes;
  update_items (self);
  g_signal_emit (self, signals[SCHEMES_CHANGED], 0);
}

void
qs_document_set_schemes (QsDocument  *self,
                         QsSchemeSet *schemes)
{
  g_return_if_fail (QS_IS_DOCUMENT (self));
  g_return_if_fail (schemes != NULL);

  if (qs_scheme_set_equal (self->schemes, schemes))
    return;
  /* A drag is one step: only its first change keeps what came before. */
  if (!self->coalescing || !self->coalesced_any)
    g_ptr_array_add (self->undo, qs_scheme_set_ref (self->schemes));
  self->coalesced_any = self->coalescing;
  g_ptr_array_set_size (self->redo, 0);
  install_schemes (self, qs_scheme_set_ref (schemes));
}

void
qs_document_begin_coalescing (QsDocument *self)
{
  g_return_if_fail (QS_IS_DOCUMENT (self));
  self->coalescing = TRUE;
  self->coalesced_any = FALSE;
}

void
qs_document_end_coalescing (QsDocument *self)
{
  g_return_if_fail (QS_IS_DOCUMENT (self));
  self->coalescing = FALSE;
  self->coalesced_any = FALSE;
}

/* Moves the current set onto @to and the last of @from into its place. */
static gboolean
step (QsDocument *self,
      GPtrArray  *from,
      GPtrArray  *to)
{
  if (from->len == 0)
    return FALSE;
  qs_document_end_coalescing (self);
  g_ptr_array_add (to, qs_scheme_set_ref (self->schemes));
  install_schemes (self, g_ptr_array_steal_index (from, from->len - 1));
  return TRUE;
}

gboolean
qs_document_undo (QsDocument *self)
{
  g_return_val_if_fail (QS_IS_DOCUMENT (self), FALSE);
  return step (self, self->undo, self->redo);
}

gboolean
qs_document_redo (QsDocument *self)
{
  g_return_val_if_fail (QS_IS_DOCUMENT (self), FALSE);
  return step (self, self->redo, self->undo);
}

void
qs_document_clear_history (QsDocument *self)
{
  g_return_if_fail (QS_IS_DOCUMENT (self));
  g_ptr_array_set_size (self->undo, 0);
  g_ptr_array_set_size (self->redo, 0);
  qs_document_end_coalescing (self);
}

gboolean
qs_document_can_undo (QsDocument *self)
{
  g_return_val_if_fail (QS_IS_DOCUMENT (self), FALSE);
  return self->undo->len > 0;
}

gboolean
qs_document_can_redo (QsDocument *self)
{
  g_return_val_if_fail (QS_IS_DOCUMENT (self), FALSE);
  return self->redo->len > 0;
}

void
qs_document_get_default_scheme (QsDocument *self,
                                QsScheme   *scheme)
{
  g_return_if_fail (QS_IS_DOCUMENT (self));
  *scheme = *qs_scheme_set_get_default (self->schemes);
}

void
qs_document_set_default_scheme (QsDocument     *self,
                                const QsScheme *scheme)
{
  g_autoptr(QsSchemeSet) schemes = NULL;

  g_return_if_fail (QS_IS_DOCUMENT (self));

  schemes = qs_scheme_set_with_default (self->schemes, scheme);
  qs_document_set_schemes (self, schemes);
}

gboolean
qs_document_get_scheme_for (QsDocument *self,
                            const char *path,
                            QsScheme   *scheme)
{
  const QsTensorInfo *info;

  g_return_val_if_fail (QS_IS_DOCUMENT (self), FALSE);

  info = path != NULL ? qs_weight_file_lookup (self->file, path) : NULL;
  if (info == NULL)
    {
      *scheme = *qs_scheme_set_get_default (self->schemes);
      return TRUE;
    }
  return qs_scheme_set_resolve_tensor (self->schemes, info, scheme);
}

gboolean
qs_document_has_override (QsDocument *self,
                          const char *path)
{
  g_return_val_if_fail (QS_IS_DOCUMENT (self), FALSE);
  return path && qs_scheme_set_has_tensor_override (self->schemes, path);
}

void
qs_document_set_override (QsDocument     *self,
                          const char     *path,
                          const QsScheme *scheme)
{
  g_autoptr(QsSchemeSet) schemes = NULL;

  g_return_if_fail (QS_IS_DOCUMENT (self));
  g_return_if_fail (path != NULL);

  schemes = qs_scheme_set_with_tensor_scheme (self->schemes, path, scheme);
  qs_document_set_schemes (self, schemes);
}

void
qs_document_clear_overrides (QsDocument *self)
{
  g_autoptr(QsSchemeSet) schemes = NULL;

  g_return_if_fail (QS_IS_DOCUMENT (self));

  schemes = qs_scheme_set_without_overrides (self->schemes);
  qs_document_set_schemes (self, schemes);
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

QsRangeMemo *
qs_document_take_range_memo (QsDocument         *self,
                             const QsTensorInfo *info)
{
  g_autofree char *key = NULL;
  QsRangeMemo *memo = NULL;

  g_return_val_if_fail (QS_IS_DOCUMENT (self), NULL);
  g_return_val_if_fail (info != NULL, NULL);

  g_mutex_lock (&self->cache_lock);
  if (!g_hash_table_steal_extended (self->range_memos, info->path, (gpointer *) &key, (gpointer *) &memo))
    memo = NULL;
  g_mutex_unlock (&self->cache_lock);
  return memo != NULL ? memo : g_new0 (QsRangeMemo, 1);
}

void
qs_document_give_range_memo (QsDocument         *self,
                             const QsTensorInfo *info,
                             QsRangeMemo        *memo)
{
  g_return_if_fail (QS_IS_DOCUMENT (self));
  g_return_if_fail (info != NULL && memo != NULL);

  g_mutex_lock (&self->cache_lock);
  g_hash_table_replace (self->range_memos, g_strdup (info->path), memo);
  g_mutex_unlock (&self->cache_lock);
}

void
qs_document_model_size (QsDocument *self,
                        guint64    *fp32_bytes,
                        guint64    *quant_bytes)
{
  qs_document_model_size_for (self, self->schemes, fp32_bytes, quant_bytes);
}

void
qs_document_model_size_for (QsDocument        *self,
                            const QsSchemeSet *schemes,
                            guint64           *fp32_bytes,
                            guint64           *quant_bytes)
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
      *fp32_bytes += info->count * sizeof (float);
      /* Kept in float32 by the skip list: stored as float32, as export writes it. */
      if (!qs_scheme_set_resolve_tensor (schemes, info, &scheme))
        {
          *quant_bytes += info->count * sizeof (float);
          continue;
        }
      /* Blocks run along the reduction axis of each output channel
       * (qs_quantized_size_bytes wants those runs); a bias is one run,
       * and per-channel leaves a 1-D tensor one scale, as the report does. */
      if ((scheme.granularity == QS_GRANULARITY_CHANNEL || qs_scheme_is_blockwise (&scheme)) && info->rank > 1)
        {
          int axis = info->channel_axis >= 0 ? info->channel_axis : info->rank - 1;
          channels = (size_t) info->shape[axis];
        }
      *quant_bytes += qs_quantized_size_bytes (&scheme, info->count, channels);
    }
}
