/* qs-activation.c: the float definitions of the activations, as Keras computes them.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * These are the reference the integer lookup tables are built from and
 * checked against (tests/data/activation-golden.json, from PyTorch), so
 * each follows the order of operations of tf.keras / keras.ops in float32
 * where that order changes a last bit.
 */
#include "engine/qs-engine.h"

#include <assert.h>
#include <math.h>

void
qs_activation_spec_init (QsActivationSpec *spec,
                         QsActivation      kind)
{
  assert (spec != NULL);

  spec->kind = kind;
  spec->max_value = INFINITY;
  spec->negative_slope = kind == QS_ACTIVATION_LEAKY_RELU ? 0.3f : 0.0f;
  spec->threshold = 0.0f;
  spec->alpha = 1.0f;
  spec->slope = 0.2f;
  spec->offset = 0.5f;
  spec->approximate = false;
  spec->min_value = -INFINITY;
}

static float
relu6 (float x)
{
  return fminf (fmaxf (x, 0.0f), 6.0f);
}

/* Keras's relu (backend.relu in Keras 2, ReLU.static_call in Keras 3),
 * quirks included: with a threshold, values above it pass unchanged even
 * when negative, unless a cap clips them to [0, max_value]; the slope
 * applies to (x - threshold) below the threshold. */
static float
keras_relu (const QsActivationSpec *spec,
            float                   x)
{
  float negative_part = 0.0f;
  float y;

  if (spec->negative_slope != 0.0f)
    {
      if (isinf (spec->max_value) && spec->threshold == 0.0f)
        return x > 0.0f ? x : spec->negative_slope * x;  /* tf.nn.leaky_relu */
      negative_part = fmaxf (-x + spec->threshold, 0.0f);
    }
  if (spec->threshold != 0.0f)
    y = x > spec->threshold ? x : 0.0f;
  else
    y = fmaxf (x, 0.0f);
  if (!isinf (spec->max_value))
    y = fminf (fmaxf (y, 0.0f), spec->max_value);
  if (spec->negative_slope != 0.0f)
    y -= spec->negative_slope * negative_part;
  return y;
}

static float
sigmoid (float x)
{
  return 1.0f / (1.0f + expf (-x));
}

float
qs_activation_spec_apply (const QsActivationSpec *spec,
                          float                   x)
{
  assert (spec != NULL);

  switch (spec->kind)
    {
    case QS_ACTIVATION_RELU:
    case QS_ACTIVATION_LEAKY_RELU:
      return keras_relu (spec, x);
    case QS_ACTIVATION_ELU:
      /* tf.nn.elu is expm1 below zero; Keras scales that by alpha. */
      return x > 0.0f ? x : spec->alpha * expm1f (x);
    case QS_ACTIVATION_SIGMOID:
      return sigmoid (x);
    case QS_ACTIVATION_HARD_SIGMOID:
      return fminf (fmaxf (spec->slope * x + spec->offset, 0.0f), 1.0f);
    case QS_ACTIVATION_SWISH:
      return x * sigmoid (x);
    case QS_ACTIVATION_HARD_SWISH:
      return x * relu6 (x + 3.0f) / 6.0f;
    case QS_ACTIVATION_TANH:
      return tanhf (x);
    case QS_ACTIVATION_GELU:
      if (spec->approximate)
        {
          const float sqrt_2_over_pi = 0.7978845608028654f;
          return 0.5f * x * (1.0f + tanhf (sqrt_2_over_pi * (x + 0.044715f * x * x * x)));
        }
      return 0.5f * x * (1.0f + erff (x * 0.7071067811865476f));
    case QS_ACTIVATION_CLAMP:
      /* The floor first, as min (max (x, a), b) is written: a floor above
       * the cap gives the cap everywhere. */
      return fminf (fmaxf (x, spec->min_value), spec->max_value);
    case QS_ACTIVATION_SOFTMAX:
      /* Softmax normalises a whole vector, so it has no per-element
       * definition: the engine runs it in float over the channel axis and
       * this is the identity. */
    case QS_ACTIVATION_NONE:
    default:
      return x;
    }
}
