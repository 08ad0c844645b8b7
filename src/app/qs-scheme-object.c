/* qs-scheme-object.c: a QsScheme as a GObject, so controls can bind to it.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "app/qs-scheme-object.h"


struct _QsSchemeObject
{
  GObject  parent_instance;

  QsScheme scheme;
  gboolean in_bulk_update;
};

G_DEFINE_FINAL_TYPE (QsSchemeObject, qs_scheme_object, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_FORMAT,
  PROP_BITS,
  PROP_MAPPING,
  PROP_UNSIGNED,
  PROP_NARROW,
  PROP_GRANULARITY,
  PROP_RANGE_METHOD,
  PROP_PERCENTILE,
  PROP_MANUAL_LO,
  PROP_MANUAL_HI,
  PROP_ROUNDING,
  PROP_NUDGE_ZERO,
  PROP_GROUP_SIZE,
  N_PROPS
};

enum {
  CHANGED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

/* The group size a scheme without an explicit one uses: the block format's
 * own, else the integer default. */
static int
default_group_size (const QsScheme *s)
{
  QsScheme probe = *s;

  probe.group_size = 0;
  return qs_scheme_is_blockwise (&probe) ? (int) qs_scheme_block_size (&probe) : QS_DEFAULT_GROUP_SIZE;
}

/* Keeps the scheme one the core accepts (qs_scheme_validate) after one
 * control changed: block formats and integer groups take each block's own
 * min/max range and (integer groups) a nudged zero point; groups need an
 * integer or block format; a new block format starts at its own size. */
static void
normalize (QsScheme       *s,
           const QsScheme *before)
{
  if (s->format != before->format)
    {
      s->group_size = 0;
      if (s->granularity == QS_GRANULARITY_GROUP && s->format != QS_FORMAT_INT && !qs_format_is_block (s->format))
        s->granularity = QS_GRANULARITY_TENSOR;
    }
  if (qs_scheme_is_blockwise (s))
    s->range_method = QS_RANGE_MINMAX;
  if (s->granularity == QS_GRANULARITY_GROUP && s->format == QS_FORMAT_INT)
    s->nudge_zero = TRUE;
}

static void
qs_scheme_object_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  QsSchemeObject *self = QS_SCHEME_OBJECT (object);
  const QsScheme *s = &self->scheme;

  switch (prop_id)
    {
    case PROP_FORMAT:
      g_value_set_uint (value, s->format);
      break;
    case PROP_BITS:
      g_value_set_int (value, s->bits);
      break;
    case PROP_MAPPING:
      g_value_set_uint (value, s->mapping);
      break;
    case PROP_UNSIGNED:
      g_value_set_boolean (value, s->is_unsigned);
      break;
    case PROP_NARROW:
      g_value_set_boolean (value, s->narrow);
      break;
    case PROP_GRANULARITY:
      g_value_set_uint (value, s->granularity);
      break;
    case PROP_RANGE_METHOD:
      g_value_set_uint (value, s->range_method);
      break;
    case PROP_PERCENTILE:
      g_value_set_double (value, s->percentile);
      break;
    case PROP_MANUAL_LO:
      g_value_set_double (value, s->manual_lo);
      break;
    case PROP_MANUAL_HI:
      g_value_set_double (value, s->manual_hi);
      break;
    case PROP_ROUNDING:
      g_value_set_uint (value, s->rounding);
      break;
    case PROP_NUDGE_ZERO:
      g_value_set_boolean (value, s->nudge_zero);
      break;
    case PROP_GROUP_SIZE:
      g_value_set_int (value, s->group_size > 0 ? s->group_size : default_group_size (s));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
qs_scheme_object_set_property (GObject      *object,
                               guint         prop_id,
                               const GValue *value,
                               GParamSpec   *pspec)
{
  QsSchemeObject *self = QS_SCHEME_OBJECT (object);
  QsScheme before = self->scheme;
  QsScheme *s = &self->scheme;

  switch (prop_id)
    {
    case PROP_FORMAT:
      s->format = g_value_get_uint (value);
      break;
    case PROP_BITS:
      s->bits = g_value_get_int (value);
      break;
    case PROP_MAPPING:
      s->mapping = g_value_get_uint (value);
      break;
    case PROP_UNSIGNED:
      s->is_unsigned = g_value_get_boolean (value);
      break;
    case PROP_NARROW:
      s->narrow = g_value_get_boolean (value);
      break;
    case PROP_GRANULARITY:
      s->granularity = g_value_get_uint (value);
      break;
    case PROP_RANGE_METHOD:
      s->range_method = g_value_get_uint (value);
      break;
    case PROP_PERCENTILE:
      s->percentile = g_value_get_double (value);
      break;
    case PROP_MANUAL_LO:
      s->manual_lo = g_value_get_double (value);
      break;
    case PROP_MANUAL_HI:
      s->manual_hi = g_value_get_double (value);
      break;
    case PROP_ROUNDING:
      s->rounding = g_value_get_uint (value);
      break;
    case PROP_NUDGE_ZERO:
      s->nudge_zero = g_value_get_boolean (value);
      break;
    case PROP_GROUP_SIZE:
      /* The default size stays implicit, so a scheme reads as the CLI's. */
      s->group_size = g_value_get_int (value) == default_group_size (s) ? 0 : g_value_get_int (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      return;
    }

  {
    QsScheme as_set = *s;

    normalize (s, &before);
    if (!qs_scheme_equal (&as_set, s))
      {
        gboolean was_bulk = self->in_bulk_update;

        self->in_bulk_update = TRUE;
        for (guint i = 1; i < N_PROPS; i++)
          if (i != prop_id)
            g_object_notify_by_pspec (object, properties[i]);
        self->in_bulk_update = was_bulk;
      }
    /* The shown group size follows the format's own when none is set. */
    else if (prop_id == PROP_FORMAT || prop_id == PROP_GRANULARITY)
      g_object_notify_by_pspec (object, properties[PROP_GROUP_SIZE]);
  }

  /* Bindings set properties back and forth: only real changes count. */
  if (!qs_scheme_equal (&before, s) && !self->in_bulk_update)
    g_signal_emit (self, signals[CHANGED], 0);
}

static void
qs_scheme_object_class_init (QsSchemeObjectClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags flags = G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->get_property = qs_scheme_object_get_property;
  object_class->set_property = qs_scheme_object_set_property;

  properties[PROP_FORMAT] = g_param_spec_uint ("format", NULL, NULL, 0, QS_FORMAT_LAST, 0, flags);
  properties[PROP_BITS] = g_param_spec_int ("bits", NULL, NULL, QS_MIN_BITS, QS_MAX_BITS, 8, flags);
  properties[PROP_MAPPING] = g_param_spec_uint ("mapping", NULL, NULL, 0, QS_MAPPING_SYMMETRIC,
                                                QS_MAPPING_SYMMETRIC, flags);
  properties[PROP_UNSIGNED] = g_param_spec_boolean ("unsigned", NULL, NULL, FALSE, flags);
  properties[PROP_NARROW] = g_param_spec_boolean ("narrow", NULL, NULL, TRUE, flags);
  properties[PROP_GRANULARITY] = g_param_spec_uint ("granularity", NULL, NULL, 0, QS_GRANULARITY_GROUP,
                                                    QS_GRANULARITY_CHANNEL, flags);
  properties[PROP_RANGE_METHOD] = g_param_spec_uint ("range-method", NULL, NULL, 0, QS_RANGE_MANUAL, 0, flags);
  properties[PROP_PERCENTILE] = g_param_spec_double ("percentile", NULL, NULL, 50.0001, 100.0, 99.99, flags);
  properties[PROP_MANUAL_LO] = g_param_spec_double ("manual-lo", NULL, NULL, -G_MAXDOUBLE, G_MAXDOUBLE, -1.0, flags);
  properties[PROP_MANUAL_HI] = g_param_spec_double ("manual-hi", NULL, NULL, -G_MAXDOUBLE, G_MAXDOUBLE, 1.0, flags);
  properties[PROP_ROUNDING] = g_param_spec_uint ("rounding", NULL, NULL, 0, QS_ROUNDING_HALF_AWAY, 0, flags);
  properties[PROP_NUDGE_ZERO] = g_param_spec_boolean ("nudge-zero", NULL, NULL, TRUE, flags);
  properties[PROP_GROUP_SIZE] = g_param_spec_int ("group-size", NULL, NULL, 1, QS_MAX_GROUP_SIZE,
                                                  QS_DEFAULT_GROUP_SIZE, flags);
  /* The defaults above are qs_scheme_init_default's. */
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                   0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
qs_scheme_object_init (QsSchemeObject *self)
{
  qs_scheme_init_default (&self->scheme);
  self->scheme.manual_lo = -1.0;
  self->scheme.manual_hi = 1.0;
}

QsSchemeObject *
qs_scheme_object_new (void)
{
  return g_object_new (QS_TYPE_SCHEME_OBJECT, NULL);
}

void
qs_scheme_object_get_scheme (QsSchemeObject *self,
                             QsScheme       *scheme)
{
  g_return_if_fail (QS_IS_SCHEME_OBJECT (self));

  *scheme = self->scheme;
}

void
qs_scheme_object_set_scheme (QsSchemeObject *self,
                             const QsScheme *scheme)
{
  gboolean changed;

  g_return_if_fail (QS_IS_SCHEME_OBJECT (self));

  changed = !qs_scheme_equal (&self->scheme, scheme);
  self->scheme = *scheme;

  /* Every field reaches the controls, also those the scheme's kind does
   * not read (the clip range of a min/max scheme): they are what the
   * controls show when the user switches kinds. */
  self->in_bulk_update = TRUE;
  for (guint i = 1; i < N_PROPS; i++)
    g_object_notify_by_pspec (G_OBJECT (self), properties[i]);
  self->in_bulk_update = FALSE;
  if (changed)
    g_signal_emit (self, signals[CHANGED], 0);
}

char *
qs_scheme_to_text (const QsScheme *s)
{
  char percentile[G_ASCII_DTOSTR_BUF_SIZE], lo[G_ASCII_DTOSTR_BUF_SIZE], hi[G_ASCII_DTOSTR_BUF_SIZE];

  g_ascii_dtostr (percentile, sizeof percentile, s->percentile);
  g_ascii_dtostr (lo, sizeof lo, s->manual_lo);
  g_ascii_dtostr (hi, sizeof hi, s->manual_hi);
  return g_strdup_printf ("format=%s;bits=%d;mapping=%s;unsigned=%d;narrow=%d;granularity=%s;"
                          "range=%s;percentile=%s;manual-lo=%s;manual-hi=%s;rounding=%s;nudge-zero=%d;"
                          "group-size=%d",
                          qs_format_to_string (s->format), s->bits, qs_mapping_to_string (s->mapping),
                          s->is_unsigned, s->narrow, qs_granularity_to_string (s->granularity),
                          qs_range_method_to_string (s->range_method), percentile, lo, hi,
                          qs_rounding_to_string (s->rounding), s->nudge_zero, s->group_size);
}
