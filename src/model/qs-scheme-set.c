/* qs-scheme-set.c: the schemes of a whole model as one immutable value, and the one resolver.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "model/qs-scheme-set.h"

#include <string.h>

#include "model/qs-scheme-set-private.h"

/* Overrides are immutable and shared between the sets made from one another. */
typedef struct {
  char        **patterns;
  QsScheme      values;   /* only the fields named by keys are meaningful */
  QsSchemeKeys  keys;
} Override;

struct _QsSchemeSet
{
  gatomicrefcount ref_count;
  QsScheme        default_scheme;
  GPtrArray      *overrides;      /* Override, each an atomic rc box */
  char          **skip;
};

G_DEFINE_BOXED_TYPE (QsSchemeSet, qs_scheme_set, qs_scheme_set_ref, qs_scheme_set_unref)

static const char * const default_skip[] = { "role:bias", "role:batchnorm", NULL };

static void
override_clear (gpointer data)
{
  Override *o = data;

  g_strfreev (o->patterns);
}

static void
override_release (gpointer data)
{
  g_atomic_rc_box_release_full (data, override_clear);
}

static Override *
override_new (const char * const *patterns,
              const QsScheme     *scheme,
              QsSchemeKeys        keys)
{
  Override *o = g_atomic_rc_box_new0 (Override);

  o->patterns = g_strdupv ((char **) patterns);
  o->values = *scheme;
  o->keys = keys & QS_SCHEME_KEY_ALL;
  return o;
}

static QsSchemeSet *
set_alloc (const QsScheme     *default_scheme,
           const char * const *skip)
{
  QsSchemeSet *self = g_new0 (QsSchemeSet, 1);

  g_atomic_ref_count_init (&self->ref_count);
  if (default_scheme != NULL)
    self->default_scheme = *default_scheme;
  else
    qs_scheme_init_default (&self->default_scheme);
  self->overrides = g_ptr_array_new_with_free_func (override_release);
  self->skip = skip != NULL ? g_strdupv ((char **) skip) : g_new0 (char *, 1);
  return self;
}

/* A new set with @self's default, overrides and skip list, to change before
 * anyone else sees it. */
static QsSchemeSet *
set_copy (const QsSchemeSet *self)
{
  QsSchemeSet *copy = set_alloc (&self->default_scheme, (const char * const *) self->skip);

  for (guint i = 0; i < self->overrides->len; i++)
    g_ptr_array_add (copy->overrides, g_atomic_rc_box_acquire (g_ptr_array_index (self->overrides, i)));
  return copy;
}

/**
 * qs_scheme_set_new:
 * @default_scheme: (nullable): the scheme of every tensor no override names
 *
 * Returns: (transfer full): a set without overrides that keeps biases and
 * batch-norm parameters in float32.
 */
QsSchemeSet *
qs_scheme_set_new (const QsScheme *default_scheme)
{
  return set_alloc (default_scheme, default_skip);
}

QsSchemeSet *
qs_scheme_set_ref (QsSchemeSet *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
qs_scheme_set_unref (QsSchemeSet *self)
{
  g_return_if_fail (self != NULL);

  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;
  g_ptr_array_unref (self->overrides);
  g_strfreev (self->skip);
  g_free (self);
}

/* ---- overrides ------------------------------------------------------------- */

static void
apply_keys (QsScheme       *into,
            const QsScheme *from,
            QsSchemeKeys    keys)
{
  if (keys & QS_SCHEME_KEY_FORMAT)
    into->format = from->format;
  if (keys & QS_SCHEME_KEY_BITS)
    into->bits = from->bits;
  if (keys & QS_SCHEME_KEY_MAPPING)
    into->mapping = from->mapping;
  if (keys & QS_SCHEME_KEY_SIGNED)
    into->is_unsigned = from->is_unsigned;
  if (keys & QS_SCHEME_KEY_NARROW)
    into->narrow = from->narrow;
  if (keys & QS_SCHEME_KEY_GRANULARITY)
    into->granularity = from->granularity;
  if (keys & QS_SCHEME_KEY_AXIS)
    into->axis = from->axis;
  if (keys & QS_SCHEME_KEY_RANGE)
    {
      into->range_method = from->range_method;
      into->percentile = from->percentile;
      into->manual_lo = from->manual_lo;
      into->manual_hi = from->manual_hi;
    }
  if (keys & QS_SCHEME_KEY_ROUNDING)
    into->rounding = from->rounding;
  if (keys & QS_SCHEME_KEY_ZERO_NUDGE)
    into->nudge_zero = from->nudge_zero;
  if (keys & QS_SCHEME_KEY_BINS)
    into->bins = from->bins;
  if (keys & QS_SCHEME_KEY_GROUP_SIZE)
    into->group_size = from->group_size;
}

void
_qs_scheme_set_apply_keys (QsScheme       *into,
                           const QsScheme *from,
                           QsSchemeKeys    keys)
{
  apply_keys (into, from, keys);
}

void
_qs_scheme_set_append_override (QsSchemeSet        *self,
                                const char * const *patterns,
                                const QsScheme     *scheme,
                                QsSchemeKeys        keys)
{
  g_ptr_array_add (self->overrides, override_new (patterns, scheme, keys));
}

void
_qs_scheme_set_set_default (QsSchemeSet    *self,
                            const QsScheme *scheme)
{
  g_assert (self->overrides->len == 0);
  self->default_scheme = *scheme;
}

void
_qs_scheme_set_take_skip (QsSchemeSet *self,
                          char       **patterns)
{
  g_strfreev (self->skip);
  self->skip = patterns;
}

const QsScheme *
qs_scheme_set_get_default (const QsSchemeSet *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return &self->default_scheme;
}

guint
qs_scheme_set_get_n_overrides (const QsSchemeSet *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->overrides->len;
}

const char * const *
qs_scheme_set_get_override (const QsSchemeSet *self,
                            guint              index,
                            QsScheme          *scheme,
                            QsSchemeKeys      *keys)
{
  const Override *o;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (index < self->overrides->len, NULL);

  o = g_ptr_array_index (self->overrides, index);
  if (scheme != NULL)
    {
      *scheme = self->default_scheme;
      apply_keys (scheme, &o->values, o->keys);
    }
  if (keys != NULL)
    *keys = o->keys;
  return (const char * const *) o->patterns;
}

static gboolean
names_only (const Override *o,
            const char     *path)
{
  return o->patterns[0] != NULL && o->patterns[1] == NULL && g_str_equal (o->patterns[0], path);
}

static int
find_tensor_override (const QsSchemeSet *self,
                      const char        *path)
{
  for (guint i = 0; i < self->overrides->len; i++)
    if (names_only (g_ptr_array_index (self->overrides, i), path))
      return (int) i;
  return -1;
}

gboolean
qs_scheme_set_has_tensor_override (const QsSchemeSet *self,
                                   const char        *path)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  return find_tensor_override (self, path) >= 0;
}

const char * const *
qs_scheme_set_get_skip (const QsSchemeSet *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return (const char * const *) self->skip;
}

/* ---- new sets from old ----------------------------------------------------- */

QsSchemeSet *
qs_scheme_set_with_default (const QsSchemeSet *self,
                            const QsScheme    *scheme)
{
  QsSchemeSet *copy;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (scheme != NULL, NULL);

  copy = set_copy (self);
  copy->default_scheme = *scheme;
  return copy;
}

QsSchemeSet *
qs_scheme_set_with_override (const QsSchemeSet  *self,
                             const char * const *patterns,
                             const QsScheme     *scheme,
                             QsSchemeKeys        keys)
{
  QsSchemeSet *copy;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (patterns != NULL && patterns[0] != NULL, NULL);
  g_return_val_if_fail (scheme != NULL, NULL);

  copy = set_copy (self);
  _qs_scheme_set_append_override (copy, patterns, scheme, keys);
  return copy;
}

QsSchemeSet *
qs_scheme_set_with_tensor_scheme (const QsSchemeSet *self,
                                  const char        *path,
                                  const QsScheme    *scheme)
{
  const char *patterns[] = { path, NULL };
  QsSchemeSet *copy;
  int index;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (path != NULL, NULL);

  index = find_tensor_override (self, path);
  if (index < 0 && scheme == NULL)
    return qs_scheme_set_ref ((QsSchemeSet *) self);
  if (index >= 0 && scheme != NULL)
    {
      const Override *o = g_ptr_array_index (self->overrides, index);

      if (o->keys == QS_SCHEME_KEY_ALL && qs_scheme_equal (&o->values, scheme))
        return qs_scheme_set_ref ((QsSchemeSet *) self);
    }

  copy = set_copy (self);
  if (index < 0)
    _qs_scheme_set_append_override (copy, patterns, scheme, QS_SCHEME_KEY_ALL);
  else if (scheme == NULL)
    g_ptr_array_remove_index (copy->overrides, (guint) index);
  else
    {
      /* In place, so the file keeps its order. */
      override_release (copy->overrides->pdata[index]);
      copy->overrides->pdata[index] = override_new (patterns, scheme, QS_SCHEME_KEY_ALL);
    }
  return copy;
}

QsSchemeSet *
qs_scheme_set_without_override (const QsSchemeSet *self,
                                guint              index)
{
  QsSchemeSet *copy;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (index < self->overrides->len, NULL);

  copy = set_copy (self);
  g_ptr_array_remove_index (copy->overrides, index);
  return copy;
}

QsSchemeSet *
qs_scheme_set_without_overrides (const QsSchemeSet *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return set_alloc (&self->default_scheme, (const char * const *) self->skip);
}

QsSchemeSet *
qs_scheme_set_with_skip (const QsSchemeSet  *self,
                         const char * const *patterns)
{
  QsSchemeSet *copy;

  g_return_val_if_fail (self != NULL, NULL);

  copy = set_copy (self);
  _qs_scheme_set_take_skip (copy, patterns != NULL ? g_strdupv ((char **) patterns) : g_new0 (char *, 1));
  return copy;
}

/* ---- equality ------------------------------------------------------------- */

static gboolean
strv_equal0 (char * const *a,
             char * const *b)
{
  return g_strv_equal ((const char * const *) a, (const char * const *) b);
}

gboolean
qs_scheme_set_equal (gconstpointer a,
                     gconstpointer b)
{
  const QsSchemeSet *x = a, *y = b;

  g_return_val_if_fail (x != NULL && y != NULL, FALSE);

  if (x == y)
    return TRUE;
  if (!qs_scheme_equal (&x->default_scheme, &y->default_scheme)
      || x->overrides->len != y->overrides->len
      || !strv_equal0 (x->skip, y->skip))
    return FALSE;
  for (guint i = 0; i < x->overrides->len; i++)
    {
      const Override *ox = g_ptr_array_index (x->overrides, i);
      const Override *oy = g_ptr_array_index (y->overrides, i);
      QsScheme sx = x->default_scheme, sy = y->default_scheme;

      if (ox == oy)
        continue;
      apply_keys (&sx, &ox->values, ox->keys);
      apply_keys (&sy, &oy->values, oy->keys);
      if (ox->keys != oy->keys || !strv_equal0 (ox->patterns, oy->patterns)
          || !qs_scheme_equal (&sx, &sy))
        return FALSE;
    }
  return TRUE;
}

static guint
mix (guint h,
     guint value)
{
  return h * 31u + value;
}

static guint
strv_hash (guint         h,
           char * const *strv)
{
  for (gsize i = 0; strv[i] != NULL; i++)
    h = mix (h, g_str_hash (strv[i]));
  return mix (h, 0x5eed);
}

guint
qs_scheme_set_hash (gconstpointer set)
{
  const QsSchemeSet *self = set;
  guint h;

  g_return_val_if_fail (self != NULL, 0);

  h = qs_scheme_hash (&self->default_scheme);
  for (guint i = 0; i < self->overrides->len; i++)
    {
      const Override *o = g_ptr_array_index (self->overrides, i);
      QsScheme merged = self->default_scheme;

      apply_keys (&merged, &o->values, o->keys);
      h = strv_hash (mix (h, o->keys), o->patterns);
      h = mix (h, qs_scheme_hash (&merged));
    }
  return strv_hash (h, self->skip);
}

/* ---- the resolver --------------------------------------------------------- */

gboolean
qs_scheme_pattern_matches (const char         *pattern,
                           const QsTensorInfo *info)
{
  g_return_val_if_fail (pattern != NULL, FALSE);
  g_return_val_if_fail (info != NULL && info->path != NULL, FALSE);

  if (g_str_has_prefix (pattern, "role:"))
    return g_str_equal (pattern + 5, qs_tensor_role_to_string (info->role));
  if (pattern[0] != '/')
    {
      g_autofree char *absolute = g_strconcat ("/", pattern, NULL);
      return g_pattern_match_simple (absolute, info->path);
    }
  return g_pattern_match_simple (pattern, info->path);
}

static gboolean
any_matches (char * const       *patterns,
             const QsTensorInfo *info)
{
  for (gsize i = 0; patterns != NULL && patterns[i] != NULL; i++)
    if (qs_scheme_pattern_matches (patterns[i], info))
      return TRUE;
  return FALSE;
}

gboolean
qs_scheme_set_resolve_tensor (const QsSchemeSet  *self,
                              const QsTensorInfo *info,
                              QsScheme           *scheme)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (info != NULL, FALSE);
  g_return_val_if_fail (scheme != NULL, FALSE);

  *scheme = self->default_scheme;
  for (guint i = 0; i < self->overrides->len; i++)
    {
      const Override *o = g_ptr_array_index (self->overrides, i);

      if (any_matches (o->patterns, info))
        apply_keys (scheme, &o->values, o->keys);
    }

  if (!info->quantizable)
    return FALSE;
  return !any_matches (self->skip, info);
}

const QsTensorInfo *
qs_scheme_set_layer_tensor (QsWeightFile      *file,
                            const QsLayerInfo *layer)
{
  GPtrArray *tensors;

  g_return_val_if_fail (QS_IS_WEIGHT_FILE (file), NULL);
  g_return_val_if_fail (layer != NULL, NULL);

  if (layer->weight_tensor != NULL)
    return qs_weight_file_lookup (file, layer->weight_tensor);

  /* Builders that name no tensor: the kernel of the Keras layer. */
  tensors = qs_weight_file_get_tensors (file);
  for (guint i = 0; i < tensors->len; i++)
    {
      const QsTensorInfo *info = g_ptr_array_index (tensors, i);

      if (g_strcmp0 (info->layer, layer->name) == 0
          && (info->role == QS_TENSOR_ROLE_KERNEL || info->role == QS_TENSOR_ROLE_DEPTHWISE_KERNEL))
        return info;
    }
  return NULL;
}

void
qs_scheme_set_resolve_layers (const QsSchemeSet    *self,
                              QsWeightFile         *file,
                              const QsEngineModel  *model,
                              QsScheme             *schemes,
                              const QsScheme      **pointers)
{
  size_t n;

  g_return_if_fail (self != NULL);
  g_return_if_fail (QS_IS_WEIGHT_FILE (file));
  g_return_if_fail (model != NULL);

  n = qs_engine_model_get_n_weighted (model);
  for (size_t i = 0; i < n; i++)
    {
      int index = qs_engine_model_weighted_layer_index (model, i);
      const QsTensorInfo *tensor = NULL;
      /* Zeroed: an engine that does not name tensors leaves weight_tensor unset. */
      QsLayerInfo layer = { 0 };

      if (index >= 0 && qs_engine_model_get_layer (model, (size_t) index, &layer))
        tensor = qs_scheme_set_layer_tensor (file, &layer);
      schemes[i] = self->default_scheme;
      pointers[i] = &schemes[i];
      if (tensor != NULL && !qs_scheme_set_resolve_tensor (self, tensor, &schemes[i]))
        pointers[i] = NULL;
    }
}

void
qs_scheme_set_activations (const QsSchemeSet  *self,
                           QsActivationScheme *activations)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (activations != NULL);

  qs_activation_scheme_init_default (activations);
  /* The engine pads with the code of 0.0: whether that is exact follows
   * the scheme the user chose for the weights. */
  activations->nudge_zero = self->default_scheme.nudge_zero;
}
