/* qs-tensor-item.c: one tensor of the open document, as the sidebar lists it.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "app/qs-tensor-item.h"

#include <math.h>
#include <string.h>

#include <glib/gi18n.h>

#include "model/qs-format-text.h"

struct _QsTensorItem
{
  GObject       parent_instance;

  QsTensorInfo *info;
  char         *title;
  char         *subtitle;
  char         *badge;
  double        sqnr_db;
  gboolean      overridden;
  gboolean      kept_float;
};

G_DEFINE_FINAL_TYPE (QsTensorItem, qs_tensor_item, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_INFO,
  PROP_TITLE,
  PROP_SUBTITLE,
  PROP_BADGE,
  PROP_SQNR,
  PROP_OVERRIDDEN,
  PROP_KEPT_FLOAT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static char *
shape_text (const QsTensorInfo *info)
{
  GString *text = g_string_new (NULL);

  if (info->rank == 0)
    g_string_append (text, _("scalar"));
  for (int d = 0; d < info->rank; d++)
    g_string_append_printf (text, d ? "×%" G_GINT64_FORMAT : "%" G_GINT64_FORMAT, info->shape[d]);
  return g_string_free (text, FALSE);
}

static void
qs_tensor_item_finalize (GObject *object)
{
  QsTensorItem *self = QS_TENSOR_ITEM (object);

  g_clear_pointer (&self->info, qs_tensor_info_free);
  g_clear_pointer (&self->title, g_free);
  g_clear_pointer (&self->subtitle, g_free);
  g_clear_pointer (&self->badge, g_free);
  G_OBJECT_CLASS (qs_tensor_item_parent_class)->finalize (object);
}

static void
qs_tensor_item_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  QsTensorItem *self = QS_TENSOR_ITEM (object);

  switch (prop_id)
    {
    case PROP_INFO:
      g_value_set_boxed (value, self->info);
      break;
    case PROP_TITLE:
      g_value_set_string (value, self->title);
      break;
    case PROP_SUBTITLE:
      g_value_set_string (value, self->subtitle);
      break;
    case PROP_BADGE:
      g_value_set_string (value, qs_tensor_item_get_badge (self));
      break;
    case PROP_SQNR:
      g_value_set_double (value, qs_tensor_item_get_sqnr (self));
      break;
    case PROP_OVERRIDDEN:
      g_value_set_boolean (value, self->overridden);
      break;
    case PROP_KEPT_FLOAT:
      g_value_set_boolean (value, self->kept_float);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
qs_tensor_item_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  QsTensorItem *self = QS_TENSOR_ITEM (object);

  switch (prop_id)
    {
    case PROP_INFO:
      self->info = g_value_dup_boxed (value);
      break;
    case PROP_BADGE:
      qs_tensor_item_set_badge (self, g_value_get_string (value));
      break;
    case PROP_OVERRIDDEN:
      qs_tensor_item_set_overridden (self, g_value_get_boolean (value));
      break;
    case PROP_KEPT_FLOAT:
      qs_tensor_item_set_kept_float (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
qs_tensor_item_constructed (GObject *object)
{
  QsTensorItem *self = QS_TENSOR_ITEM (object);
  g_autofree char *shape = NULL;
  const char *name;

  G_OBJECT_CLASS (qs_tensor_item_parent_class)->constructed (object);

  g_assert (self->info != NULL);
  name = strrchr (self->info->path, '/');
  name = name ? name + 1 : self->info->path;
  /* "conv2d · kernel:0": the layer first, as users think in layers. */
  if (self->info->layer && *self->info->layer && !g_str_equal (self->info->layer, name))
    self->title = g_strdup_printf ("%s · %s", self->info->layer, name);
  else
    self->title = g_strdup (name);
  shape = shape_text (self->info);
  /* The parameter count only where the shape does not already say it. */
  if (self->info->rank >= 2)
    {
      g_autofree char *count = qs_format_count (self->info->count);

      self->subtitle = g_strdup_printf ("%s (%s) · %s", shape, count, self->info->dtype);
    }
  else
    self->subtitle = g_strdup_printf ("%s · %s", shape, self->info->dtype);
  if (!self->info->quantizable)
    self->badge = g_strdup (self->info->count == 0 ? _("empty") : _("not a float tensor"));
}

static void
qs_tensor_item_class_init (QsTensorItemClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = qs_tensor_item_finalize;
  object_class->constructed = qs_tensor_item_constructed;
  object_class->get_property = qs_tensor_item_get_property;
  object_class->set_property = qs_tensor_item_set_property;

  properties[PROP_INFO] = g_param_spec_boxed ("info", NULL, NULL, QS_TYPE_TENSOR_INFO,
                                              G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_TITLE] = g_param_spec_string ("title", NULL, NULL, NULL,
                                                G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_SUBTITLE] = g_param_spec_string ("subtitle", NULL, NULL, NULL,
                                                   G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_BADGE] = g_param_spec_string ("badge", NULL, NULL, NULL,
                                                G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SQNR] = g_param_spec_double ("sqnr", NULL, NULL, -G_MAXDOUBLE, G_MAXDOUBLE, 0.0,
                                               G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_OVERRIDDEN] = g_param_spec_boolean ("overridden", NULL, NULL, FALSE,
                                                      G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_KEPT_FLOAT] = g_param_spec_boolean ("kept-float", NULL, NULL, FALSE,
                                                      G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
qs_tensor_item_init (QsTensorItem *self)
{
  self->sqnr_db = NAN;
}

QsTensorItem *
qs_tensor_item_new (const QsTensorInfo *info)
{
  return g_object_new (QS_TYPE_TENSOR_ITEM, "info", info, NULL);
}

const QsTensorInfo *
qs_tensor_item_get_info (QsTensorItem *self)
{
  g_return_val_if_fail (QS_IS_TENSOR_ITEM (self), NULL);
  return self->info;
}

const char *
qs_tensor_item_get_title (QsTensorItem *self)
{
  g_return_val_if_fail (QS_IS_TENSOR_ITEM (self), NULL);
  return self->title;
}

const char *
qs_tensor_item_get_subtitle (QsTensorItem *self)
{
  g_return_val_if_fail (QS_IS_TENSOR_ITEM (self), NULL);
  return self->subtitle;
}

const char *
qs_tensor_item_get_badge (QsTensorItem *self)
{
  g_return_val_if_fail (QS_IS_TENSOR_ITEM (self), NULL);
  /* No bits for what the scheme set does not quantize; a badge on its
   * way shows as pending, not as an empty pill. */
  if (self->kept_float)
    return _("float32");
  return self->badge != NULL ? self->badge : "…";
}

void
qs_tensor_item_set_badge (QsTensorItem *self,
                          const char   *badge)
{
  g_return_if_fail (QS_IS_TENSOR_ITEM (self));

  if (g_strcmp0 (self->badge, badge) == 0)
    return;
  g_free (self->badge);
  self->badge = g_strdup (badge);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BADGE]);
}

double
qs_tensor_item_get_sqnr (QsTensorItem *self)
{
  g_return_val_if_fail (QS_IS_TENSOR_ITEM (self), NAN);
  /* Kept in float32: no error at all, so the worst-first order lists it last. */
  return self->kept_float ? INFINITY : self->sqnr_db;
}

void
qs_tensor_item_set_sqnr (QsTensorItem *self,
                         double        sqnr_db)
{
  g_return_if_fail (QS_IS_TENSOR_ITEM (self));

  if (self->sqnr_db == sqnr_db || (isnan (self->sqnr_db) && isnan (sqnr_db)))
    return;
  self->sqnr_db = sqnr_db;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SQNR]);
}

gboolean
qs_tensor_item_get_overridden (QsTensorItem *self)
{
  g_return_val_if_fail (QS_IS_TENSOR_ITEM (self), FALSE);
  return self->overridden;
}

void
qs_tensor_item_set_overridden (QsTensorItem *self,
                               gboolean      overridden)
{
  g_return_if_fail (QS_IS_TENSOR_ITEM (self));

  overridden = !!overridden;
  if (self->overridden == overridden)
    return;
  self->overridden = overridden;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_OVERRIDDEN]);
}

gboolean
qs_tensor_item_matches (QsTensorItem *self,
                        const char   *needle)
{
  g_autofree char *folded_needle = NULL;
  g_autofree char *haystack = NULL;

  if (needle == NULL || *needle == '\0')
    return TRUE;
  folded_needle = g_utf8_casefold (needle, -1);
  haystack = g_utf8_casefold (self->info->path, -1);
  return strstr (haystack, folded_needle) != NULL;
}

gboolean
qs_tensor_item_get_kept_float (QsTensorItem *self)
{
  g_return_val_if_fail (QS_IS_TENSOR_ITEM (self), FALSE);
  return self->kept_float;
}

void
qs_tensor_item_set_kept_float (QsTensorItem *self,
                               gboolean      kept_float)
{
  g_return_if_fail (QS_IS_TENSOR_ITEM (self));

  kept_float = !!kept_float;
  if (self->kept_float == kept_float)
    return;
  self->kept_float = kept_float;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_KEPT_FLOAT]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BADGE]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SQNR]);
}
