/* qs-scheme-set.h: the schemes of a whole model as one immutable value, and the one resolver.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A scheme set is the default scheme, per-tensor overrides and the skip
 * list. It is never edited in place: every change makes a new set, so a
 * set can be shared between threads, kept for undo, compared and hashed
 * (the job key of a result). Its JSON form is the scheme file
 * (qs-scheme-file.h, docs/scheme-file.md).
 *
 * The resolver maps a set onto a weight file's tensors and onto an engine
 * model's weighted layers; the CLI's stats, eval, compare, export, report
 * and plot and the app all ask it, so they cannot disagree.
 */
#pragma once

#include <glib-object.h>

#include "engine/qs-engine.h"
#include "model/qs-weight-file.h"
#include "quant/qs-scheme.h"

G_BEGIN_DECLS

/* The keys an override sets; the others come from the default. */
typedef enum {
  QS_SCHEME_KEY_FORMAT      = 1 << 0,
  QS_SCHEME_KEY_BITS        = 1 << 1,
  QS_SCHEME_KEY_MAPPING     = 1 << 2,
  QS_SCHEME_KEY_SIGNED      = 1 << 3,
  QS_SCHEME_KEY_NARROW      = 1 << 4,
  QS_SCHEME_KEY_GRANULARITY = 1 << 5,
  QS_SCHEME_KEY_AXIS        = 1 << 6,
  QS_SCHEME_KEY_RANGE       = 1 << 7,
  QS_SCHEME_KEY_ROUNDING    = 1 << 8,
  QS_SCHEME_KEY_ZERO_NUDGE  = 1 << 9,
  QS_SCHEME_KEY_BINS        = 1 << 10,
  QS_SCHEME_KEY_GROUP_SIZE  = 1 << 11,
  QS_SCHEME_KEY_ALL         = (1 << 12) - 1,
} QsSchemeKeys;

typedef struct _QsSchemeSet QsSchemeSet;

#define QS_TYPE_SCHEME_SET (qs_scheme_set_get_type ())
GType        qs_scheme_set_get_type (void) G_GNUC_CONST;

/* A set with @default_scheme (NULL: qs_scheme_init_default), no overrides
 * and the default skip list ("role:bias", "role:batchnorm") (transfer full). */
QsSchemeSet *qs_scheme_set_new   (const QsScheme *default_scheme);
QsSchemeSet *qs_scheme_set_ref   (QsSchemeSet    *self);
void         qs_scheme_set_unref (QsSchemeSet    *self);

/* Whether two sets quantize every tensor alike: equal defaults
 * (qs_scheme_equal), the same overrides in the same order (patterns, keys
 * and the schemes they make) and the same skip list. GEqualFunc-shaped. */
gboolean     qs_scheme_set_equal (gconstpointer a,
                                  gconstpointer b);
/* Consistent with qs_scheme_set_equal; a GHashFunc. */
guint        qs_scheme_set_hash  (gconstpointer set);

const QsScheme     *qs_scheme_set_get_default       (const QsSchemeSet *self);
/* Overrides apply in order, later ones winning, each setting only its
 * keys. A pattern is a glob over the tensor's HDF5 path ('*' and '?' also
 * match '/'; a pattern without a leading '/' gets one) or "role:ROLE". */
guint               qs_scheme_set_get_n_overrides   (const QsSchemeSet *self);
/* Fills @scheme (nullable) with override @index applied to the default and
 * @keys (nullable) with what it sets. Returns: (transfer none): its
 * patterns, NULL-terminated. */
const char * const *qs_scheme_set_get_override      (const QsSchemeSet *self,
                                                     guint              index,
                                                     QsScheme          *scheme,
                                                     QsSchemeKeys      *keys);
/* Whether an override names exactly @path and nothing else (what a change
 * the user makes on one tensor creates). */
gboolean            qs_scheme_set_has_tensor_override (const QsSchemeSet *self,
                                                       const char        *path);
/* Tensors kept in float32: globs or "role:ROLE" (transfer none). */
const char * const *qs_scheme_set_get_skip          (const QsSchemeSet *self);

/* New sets (transfer full); @self is left as it was. */
QsSchemeSet *qs_scheme_set_with_default        (const QsSchemeSet  *self,
                                                const QsScheme     *scheme);
/* Appends an override of @patterns (NULL-terminated, at least one) setting @keys. */
QsSchemeSet *qs_scheme_set_with_override       (const QsSchemeSet  *self,
                                                const char * const *patterns,
                                                const QsScheme     *scheme,
                                                QsSchemeKeys        keys);
/* Replaces the override whose only pattern is exactly @path, or appends
 * one, with every key; @scheme NULL removes it. @self again (a new
 * reference) when nothing changes. */
QsSchemeSet *qs_scheme_set_with_tensor_scheme  (const QsSchemeSet  *self,
                                                const char         *path,
                                                const QsScheme     *scheme);
QsSchemeSet *qs_scheme_set_without_override    (const QsSchemeSet  *self,
                                                guint               index);
/* The same default and skip list without any override. */
QsSchemeSet *qs_scheme_set_without_overrides   (const QsSchemeSet  *self);
/* @patterns NULL: skip nothing. */
QsSchemeSet *qs_scheme_set_with_skip           (const QsSchemeSet  *self,
                                                const char * const *patterns);

/* ---- the resolver -------------------------------------------------------- */

/* Whether @pattern (as in overrides and skip) matches @info. */
gboolean     qs_scheme_pattern_matches         (const char         *pattern,
                                                const QsTensorInfo *info);

/* The scheme for @info: TRUE with @scheme filled, or FALSE when the tensor
 * is kept in float32 (the skip list, or not a floating-point tensor with
 * elements); @scheme is filled with what the overrides say either way. */
gboolean     qs_scheme_set_resolve_tensor      (const QsSchemeSet  *self,
                                                const QsTensorInfo *info,
                                                QsScheme           *scheme);

/* The weight tensor of an engine layer: the one its builder named
 * (QsLayerInfo.weight_tensor), else the kernel of the Keras layer of the
 * same name; NULL when the file has neither (transfer none). */
const QsTensorInfo *qs_scheme_set_layer_tensor (QsWeightFile       *file,
                                                const QsLayerInfo  *layer);

/* The schemes of @model's weighted layers, as qs_engine_prepare_quantized
 * takes them: @schemes[i] is weighted layer i's and @pointers[i] points
 * at it, or is NULL when the set keeps that layer's weights in float32.
 * A layer whose tensor is not in @file gets the default scheme. Both
 * arrays hold qs_engine_model_get_n_weighted (@model) entries. */
void         qs_scheme_set_resolve_layers      (const QsSchemeSet    *self,
                                                QsWeightFile         *file,
                                                const QsEngineModel  *model,
                                                QsScheme             *schemes,
                                                const QsScheme      **pointers);

/* The activation scheme the engine quantizes with under this set: the
 * defaults, with 0.0 exact (zero-point nudging) as the default weight
 * scheme says. The one place the app and the CLI take it from. */
void         qs_scheme_set_activations         (const QsSchemeSet  *self,
                                                QsActivationScheme *activations);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QsSchemeSet, qs_scheme_set_unref)

G_END_DECLS
