/* qs-scheme.c: defaults, validation and names of quantization schemes.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define _GNU_SOURCE
#include "qs-scheme.h"

#include <assert.h>
#include <errno.h>
#include <locale.h>
#include <pthread.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void
qs_scheme_init_per_tensor (QsScheme *scheme)
{
  memset (scheme, 0, sizeof *scheme);
  scheme->format = QS_FORMAT_INT;
  scheme->bits = 8;
  scheme->mapping = QS_MAPPING_ASYMMETRIC;
  scheme->granularity = QS_GRANULARITY_TENSOR;
  scheme->axis = QS_AXIS_DEFAULT;
  scheme->range_method = QS_RANGE_MINMAX;
  scheme->percentile = 99.99;
  scheme->rounding = QS_ROUNDING_HALF_EVEN;
  scheme->nudge_zero = true;
  scheme->bins = QS_DEFAULT_BINS;
}

void
qs_scheme_init_default (QsScheme *scheme)
{
  /* Per-tensor ranges collapse when channel ranges differ widely (a real
   * MobileNetV2 agreed with float32 on 33 % of images, 91 % per channel):
   * the seed's scheme stays one choice away, not the default. */
  qs_scheme_init_per_tensor (scheme);
  scheme->mapping = QS_MAPPING_SYMMETRIC;
  scheme->granularity = QS_GRANULARITY_CHANNEL;
  scheme->narrow = qs_scheme_default_narrow (scheme);
}

bool
qs_scheme_default_narrow (const QsScheme *scheme)
{
  /* TFLite's [-127, 127] keeps a symmetric grid symmetric; an asymmetric or
   * unsigned grid has no such reason to lose a code. */
  return scheme->format == QS_FORMAT_INT && scheme->mapping == QS_MAPPING_SYMMETRIC
         && !scheme->is_unsigned;
}

/* The fields a scheme's kind reads, the others zero: what equality and
 * hashing look at, so the two cannot disagree. */
typedef struct {
  int      format;
  int      bits;
  int      mapping;
  int      is_unsigned;
  int      narrow;
  int      granularity;
  int      axis;
  int      range_method;
  int      rounding;
  int      nudge_zero;
  int      bins;
  int      has_hist_range;
  uint64_t block_size;
  double   percentile;
  double   manual_lo;
  double   manual_hi;
  double   hist_lo;
  double   hist_hi;
} SchemeKey;

static SchemeKey
scheme_key (const QsScheme *s)
{
  SchemeKey k = { 0 };
  bool is_int = s->format == QS_FORMAT_INT;
  bool blockwise = qs_scheme_is_blockwise (s);

  k.format = s->format;
  k.bins = s->bins;
  k.has_hist_range = s->has_hist_range;
  if (s->has_hist_range)
    {
      k.hist_lo = s->hist_lo;
      k.hist_hi = s->hist_hi;
    }
  if (is_int)
    {
      k.bits = s->bits;
      k.mapping = s->mapping;
      k.is_unsigned = s->is_unsigned;
      k.narrow = s->narrow;
      k.nudge_zero = s->nudge_zero;
    }
  /* Float casts always round to nearest even; integer grids and block
   * scales follow the scheme. */
  if (is_int || blockwise)
    k.rounding = s->rounding;
  if (blockwise)
    k.block_size = qs_scheme_block_size (s);
  else
    k.granularity = s->granularity;
  if (blockwise || s->granularity == QS_GRANULARITY_CHANNEL)
    k.axis = s->axis;
  /* Blockwise schemes take each block's own range (validated). */
  if (!blockwise)
    {
      k.range_method = s->range_method;
      if (s->range_method == QS_RANGE_PERCENTILE)
        k.percentile = s->percentile;
      else if (s->range_method == QS_RANGE_MANUAL)
        {
          k.manual_lo = s->manual_lo;
          k.manual_hi = s->manual_hi;
        }
    }
  return k;
}

static bool
same_double (double a,
             double b)
{
  return a == b || (isnan (a) && isnan (b));
}

bool
qs_scheme_equal (const QsScheme *a,
                 const QsScheme *b)
{
  SchemeKey x, y;

  assert (a != NULL && b != NULL);
  if (a == b)
    return true;
  x = scheme_key (a);
  y = scheme_key (b);
  return x.format == y.format && x.bits == y.bits && x.mapping == y.mapping
         && x.is_unsigned == y.is_unsigned && x.narrow == y.narrow
         && x.granularity == y.granularity && x.axis == y.axis
         && x.range_method == y.range_method && x.rounding == y.rounding
         && x.nudge_zero == y.nudge_zero && x.bins == y.bins
         && x.has_hist_range == y.has_hist_range && x.block_size == y.block_size
         && same_double (x.percentile, y.percentile)
         && same_double (x.manual_lo, y.manual_lo) && same_double (x.manual_hi, y.manual_hi)
         && same_double (x.hist_lo, y.hist_lo) && same_double (x.hist_hi, y.hist_hi);
}

/* FNV-1a over 64-bit words. */
static uint64_t
hash_word (uint64_t h,
           uint64_t word)
{
  for (int i = 0; i < 8; i++)
    {
      h ^= (word >> (8 * i)) & 0xff;
      h *= UINT64_C (0x100000001b3);
    }
  return h;
}

static uint64_t
hash_double (uint64_t h,
             double   value)
{
  uint64_t bits;

  /* Equal values hash alike: one NaN, and 0.0 for -0.0. */
  if (isnan (value))
    value = NAN;
  else if (value == 0.0)
    value = 0.0;
  memcpy (&bits, &value, sizeof bits);
  return hash_word (h, bits);
}

uint32_t
qs_scheme_hash (const QsScheme *scheme)
{
  SchemeKey k;
  uint64_t h = UINT64_C (0xcbf29ce484222325);
  assert (scheme != NULL);
  k = scheme_key (scheme);
  {
    const int ints[] = { k.format, k.bits, k.mapping, k.is_unsigned, k.narrow, k.granularity, k.axis,
                         k.range_method, k.rounding, k.nudge_zero, k.bins, k.has_hist_range };
    const double doubles[] = { k.percentile, k.manual_lo, k.manual_hi, k.hist_lo, k.hist_hi };

    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
      h = hash_word (h, (uint64_t) (uint32_t) ints[i]);
    h = hash_word (h, k.block_size);
    for (size_t i = 0; i < sizeof doubles / sizeof doubles[0]; i++)
      h = hash_double (h, doubles[i]);
  }
  return (uint32_t) (h ^ (h >> 32));
}

QsStatus
qs_scheme_validate (const QsScheme *scheme,
                    const char    **message)
{
  const char *problem = NULL;
  QsStatus status = QS_STATUS_INVALID_ARGUMENT;

  if (scheme->format < QS_FORMAT_INT || scheme->format > QS_FORMAT_LAST)
    problem = "unknown number format";
  else if (scheme->granularity < QS_GRANULARITY_TENSOR || scheme->granularity > QS_GRANULARITY_GROUP)
    problem = "unknown granularity";
  else if (scheme->group_size < 0 || scheme->group_size > QS_MAX_GROUP_SIZE)
    problem = "the group size must be between 1 and 65536";
  else if (scheme->granularity == QS_GRANULARITY_GROUP && scheme->format != QS_FORMAT_INT
           && !qs_format_is_block (scheme->format))
    problem = "group granularity needs the int format or a block format";
  else if (qs_scheme_is_blockwise (scheme) && scheme->range_method != QS_RANGE_MINMAX)
    problem = "group-wise and block formats take each block's own range (use --range minmax)";
  else if (scheme->granularity == QS_GRANULARITY_GROUP && scheme->format == QS_FORMAT_INT
           && !scheme->nudge_zero)
    problem = "group-wise integer schemes store an integer zero point per group (drop --no-zero-nudge)";
  else if (scheme->bits < QS_MIN_BITS || scheme->bits > QS_MAX_BITS)
    problem = "bits must be between 2 and 16";
  else if (scheme->bins < 1 || scheme->bins > QS_MAX_BINS)
    problem = "bins must be between 1 and 65536";
  else if (scheme->range_method == QS_RANGE_KL && scheme->format == QS_FORMAT_INT
           && scheme->bits < QS_KL_MIN_BITS)
    problem = "the KL range method needs at least 4 bits (with fewer levels it clips almost everything); use mse or minmax";
  else if (scheme->range_method == QS_RANGE_PERCENTILE
           && !(scheme->percentile > 50.0 && scheme->percentile <= 100.0))
    problem = "the percentile must be greater than 50 and at most 100";
  else if (scheme->range_method == QS_RANGE_MANUAL
           && !(isfinite (scheme->manual_lo) && isfinite (scheme->manual_hi)
                && scheme->manual_lo < scheme->manual_hi))
    {
      problem = "the manual range needs finite LO < HI";
      status = QS_STATUS_BAD_RANGE;
    }
  else if (scheme->has_hist_range
           && !(isfinite (scheme->hist_lo) && isfinite (scheme->hist_hi)
                && scheme->hist_lo < scheme->hist_hi))
    {
      problem = "the histogram range needs finite LO < HI";
      status = QS_STATUS_BAD_RANGE;
    }

  if (message != NULL)
    *message = problem;
  return problem == NULL ? QS_OK : status;
}

void
qs_scheme_code_range (const QsScheme *scheme,
                      int            *qmin,
                      int            *qmax)
{
  int levels = 1 << scheme->bits;

  if (scheme->is_unsigned)
    {
      *qmin = 0;
      *qmax = levels - 1;
      /* Narrow unsigned keeps the code range symmetric around 2^(b-1). */
      if (scheme->narrow)
        *qmin = 1;
    }
  else
    {
      *qmin = -levels / 2;
      *qmax = levels / 2 - 1;
      if (scheme->narrow)
        *qmin = -(levels / 2 - 1);
    }
}

bool
qs_format_is_block (QsFormat format)
{
  return format >= QS_FORMAT_MXFP8_E4M3 && format <= QS_FORMAT_NF4;
}

int
qs_format_element_bits (QsFormat format)
{
  switch (format)
    {
    case QS_FORMAT_FP16:
    case QS_FORMAT_BF16:
      return 16;
    case QS_FORMAT_FP8_E4M3:
    case QS_FORMAT_FP8_E5M2:
    case QS_FORMAT_MXFP8_E4M3:
    case QS_FORMAT_MXFP8_E5M2:
    case QS_FORMAT_MXINT8:
      return 8;
    case QS_FORMAT_MXFP6_E2M3:
    case QS_FORMAT_MXFP6_E3M2:
      return 6;
    case QS_FORMAT_MXFP4:
    case QS_FORMAT_NVFP4:
    case QS_FORMAT_NF4:
      return 4;
    case QS_FORMAT_INT:
    default:
      return 0;
    }
}

bool
qs_scheme_is_blockwise (const QsScheme *scheme)
{
  return scheme->granularity == QS_GRANULARITY_GROUP || qs_format_is_block (scheme->format);
}

size_t
qs_scheme_block_size (const QsScheme *scheme)
{
  if (!qs_scheme_is_blockwise (scheme))
    return 0;
  if (scheme->group_size > 0)
    return (size_t) scheme->group_size;
  switch (scheme->format)
    {
    case QS_FORMAT_NVFP4:
      return 16;
    case QS_FORMAT_NF4:
      return 64;
    case QS_FORMAT_INT:
      return QS_DEFAULT_GROUP_SIZE;
    default:
      return 32;
    }
}

typedef struct {
  const char *name;
  int value;
} QsName;

static const QsName format_names[] = {
  { "int", QS_FORMAT_INT },
  { "fp16", QS_FORMAT_FP16 },
  { "bf16", QS_FORMAT_BF16 },
  { "fp8-e4m3", QS_FORMAT_FP8_E4M3 },
  { "fp8-e5m2", QS_FORMAT_FP8_E5M2 },
  { "mxfp8-e4m3", QS_FORMAT_MXFP8_E4M3 },
  { "mxfp8-e5m2", QS_FORMAT_MXFP8_E5M2 },
  { "mxfp6-e2m3", QS_FORMAT_MXFP6_E2M3 },
  { "mxfp6-e3m2", QS_FORMAT_MXFP6_E3M2 },
  { "mxfp4", QS_FORMAT_MXFP4 },
  { "mxint8", QS_FORMAT_MXINT8 },
  { "nvfp4", QS_FORMAT_NVFP4 },
  { "nf4", QS_FORMAT_NF4 },
  { NULL, 0 }
};

static const QsName mapping_names[] = {
  { "asymmetric", QS_MAPPING_ASYMMETRIC },
  { "symmetric", QS_MAPPING_SYMMETRIC },
  { NULL, 0 }
};

static const QsName granularity_names[] = {
  { "tensor", QS_GRANULARITY_TENSOR },
  { "channel", QS_GRANULARITY_CHANNEL },
  { "group", QS_GRANULARITY_GROUP },
  { NULL, 0 }
};

static const QsName rounding_names[] = {
  { "even", QS_ROUNDING_HALF_EVEN },
  { "away", QS_ROUNDING_HALF_AWAY },
  { NULL, 0 }
};

static const QsName range_names[] = {
  { "minmax", QS_RANGE_MINMAX },
  { "percentile", QS_RANGE_PERCENTILE },
  { "mse", QS_RANGE_MSE },
  { "kl", QS_RANGE_KL },
  { "manual", QS_RANGE_MANUAL },
  { NULL, 0 }
};

static bool
lookup_name (const QsName *names,
             const char   *text,
             size_t        length,
             int          *value)
{
  for (const QsName *n = names; n->name != NULL; n++)
    if (strlen (n->name) == length && strncmp (n->name, text, length) == 0)
      {
        *value = n->value;
        return true;
      }
  return false;
}

static const char *
name_of (const QsName *names,
         int           value)
{
  for (const QsName *n = names; n->name != NULL; n++)
    if (n->value == value)
      return n->name;
  return "unknown";
}

#define DEFINE_ENUM_NAMES(Type, prefix, table)                          \
  bool                                                                  \
  prefix##_parse (const char *text, Type *out)                          \
  {                                                                     \
    int value;                                                          \
    if (text == NULL || !lookup_name (table, text, strlen (text), &value)) \
      return false;                                                     \
    *out = (Type) value;                                                \
    return true;                                                        \
  }                                                                     \
  const char *                                                          \
  prefix##_to_string (Type value)                                       \
  {                                                                     \
    return name_of (table, (int) value);                                \
  }

DEFINE_ENUM_NAMES (QsFormat, qs_format, format_names)
DEFINE_ENUM_NAMES (QsMapping, qs_mapping, mapping_names)
DEFINE_ENUM_NAMES (QsGranularity, qs_granularity, granularity_names)
DEFINE_ENUM_NAMES (QsRounding, qs_rounding, rounding_names)

const char *
qs_range_method_to_string (QsRangeMethod method)
{
  return name_of (range_names, (int) method);
}

static locale_t c_numeric_locale;

static void
init_c_numeric_locale (void)
{
  c_numeric_locale = newlocale (LC_NUMERIC_MASK, "C", (locale_t) 0);
}

/* Scheme text is always written with a '.' decimal point, whatever the
 * user's locale (the GUI runs under setlocale (LC_ALL, "")). */
static bool
parse_double (const char  *text,
              const char **end,
              double      *value)
{
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  char *stop = NULL;

  pthread_once (&once, init_c_numeric_locale);
  errno = 0;
  *value = c_numeric_locale ? strtod_l (text, &stop, c_numeric_locale) : strtod (text, &stop);
  if (stop == text || errno == ERANGE || !isfinite (*value))
    return false;
  *end = stop;
  return true;
}

bool
qs_range_method_parse (const char *text,
                       QsScheme   *scheme)
{
  const char *colon, *end;
  int method;
  double a, b;

  if (text == NULL)
    return false;

  colon = strchr (text, ':');
  if (!lookup_name (range_names, text, colon ? (size_t) (colon - text) : strlen (text), &method))
    return false;

  switch ((QsRangeMethod) method)
    {
    case QS_RANGE_PERCENTILE:
      if (colon == NULL)
        return false;
      if (!parse_double (colon + 1, &end, &a) || *end != '\0')
        return false;
      scheme->percentile = a;
      break;
    case QS_RANGE_MANUAL:
      if (colon == NULL)
        return false;
      if (!parse_double (colon + 1, &end, &a) || *end != ',')
        return false;
      if (!parse_double (end + 1, &end, &b) || *end != '\0')
        return false;
      scheme->manual_lo = a;
      scheme->manual_hi = b;
      break;
    case QS_RANGE_MINMAX:
    case QS_RANGE_MSE:
    case QS_RANGE_KL:
    default:
      if (colon != NULL)
        return false;
      break;
    }

  scheme->range_method = (QsRangeMethod) method;
  return true;
}
