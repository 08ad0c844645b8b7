/* qs-engine-plan.c: where each value of the graph lives in the scratch, by liveness.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * TFLite's arena planner in miniature. Layers run in the order they were
 * added; a value is alive from the layer that produces it to the last
 * layer that reads it (the scored value to the end). Values go into
 * slots: a dead value's slot is free for the next value produced, the
 * best-fitting free slot is taken (else the largest free one grows, else
 * a new slot opens), so a chain needs two slots however deep it is and a
 * residual block three, and the peak is the largest set of values alive
 * at once rather than the sum of the layers. Flatten and Reshape are
 * views of their input's storage, which they keep alive, and so is a
 * ZeroPadding2D folded into the convolution or max pool reading it. Slots are sized
 * in elements per image: the scratch layout scales them by the batch and
 * by the element size of each path.
 */
#include "qs-engine-private.h"

#include <stdlib.h>
#include <string.h>

void
qs_value_plan_clear (QsValuePlan *plan)
{
  free (plan->slot);
  free (plan->root);
  free (plan->last_use);
  free (plan->slot_elems);
  memset (plan, 0, sizeof *plan);
}

/* A slot for @elems elements per image among the free ones (@owner[s] < 0). */
static int
take_slot (QsValuePlan *plan,
           int         *owner_count,
           size_t       elems)
{
  int best = -1, largest = -1;

  for (size_t s = 0; s < plan->n_slots; s++)
    {
      if (owner_count[s] != 0)
        continue;
      if (plan->slot_elems[s] >= elems
          && (best < 0 || plan->slot_elems[s] < plan->slot_elems[best]))
        best = (int) s;
      if (largest < 0 || plan->slot_elems[s] > plan->slot_elems[largest])
        largest = (int) s;
    }
  if (best < 0 && largest >= 0)
    {
      best = largest;
      plan->slot_elems[best] = elems;
    }
  if (best < 0)
    {
      best = (int) plan->n_slots++;
      plan->slot_elems[best] = elems;
    }
  owner_count[best] = 1;
  return best;
}

/* Plans one path: @with_input says whether the image value needs a slot
 * (the integer path's codes) or is the caller's memory (float32). */
static QsEngineStatus
plan_values (const QsEngineModel *model,
             const int           *last_use,
             const int           *root,
             bool                 with_input,
             QsValuePlan         *plan)
{
  size_t n_values = model->n_layers + 1;
  int *owner_count = calloc (n_values, sizeof (int));

  qs_value_plan_clear (plan);
  plan->slot = malloc (n_values * sizeof (int));
  plan->root = malloc (n_values * sizeof (int));
  plan->last_use = malloc (n_values * sizeof (int));
  plan->slot_elems = calloc (n_values, sizeof (size_t));
  if (owner_count == NULL || plan->slot == NULL || plan->root == NULL || plan->last_use == NULL
      || plan->slot_elems == NULL)
    {
      free (owner_count);
      qs_value_plan_clear (plan);
      return QS_ENGINE_NO_MEMORY;
    }
  memcpy (plan->root, root, n_values * sizeof (int));
  memcpy (plan->last_use, last_use, n_values * sizeof (int));
  for (size_t v = 0; v < n_values; v++)
    plan->slot[v] = -1;
  if (with_input)
    plan->slot[0] = take_slot (plan, owner_count, qs_value_size (model, 0));

  for (size_t i = 0; i < model->n_layers; i++)
    {
      int v = (int) i + 1;

      if (root[v] == v)
        plan->slot[v] = take_slot (plan, owner_count, qs_value_size (model, v));
      /* After layer i ran, the values whose last reader it was are dead:
       * only its inputs' storage, or its own value if nobody reads it. */
      for (size_t j = 0; j <= model->layers[i].n_inputs; j++)
        {
          int u = j < model->layers[i].n_inputs ? root[model->layers[i].inputs[j]] : root[v];

          if (last_use[u] == (int) i && plan->slot[u] >= 0)
            owner_count[plan->slot[u]] = 0;
        }
    }
  free (owner_count);
  return QS_ENGINE_OK;
}

/* Undoes the folds of the last plan: each convolution reads its padded input again. */
static void
unfold_padding (QsEngineModel *model)
{
  for (size_t i = 0; i < model->n_layers; i++)
    {
      QsEngineLayer *l = &model->layers[i];

      l->folded_pad = false;
      l->pad_top -= l->fold_top;
      l->pad_left -= l->fold_left;
      l->in_h += l->fold_rows;
      l->in_w += l->fold_cols;
      l->fold_top = l->fold_left = l->fold_rows = l->fold_cols = 0;
    }
}

/* Whether the ZeroPadding2D @pad can be taken into the convolution @conv
 * reading it: a plain Conv2D (the one-channel direct kernel and the
 * grouped or dilated im2col are left out) or a depthwise convolution,
 * whose padding on every side stays below the window, as SAME padding's
 * does, so that every output has a tap inside the input. Or into a max
 * pool with no padding of its own, whose windows then all lie within the
 * padded input (Keras' ResNets pad before a valid pool): it takes the
 * padding's taps as 0.0 (qs_max_pool_zero_padded_*), any number of them. */
static bool
pad_folds_into (const QsEngineLayer *pad,
                const QsEngineLayer *conv)
{
  int top = conv->pad_top + pad->pad_top, left = conv->pad_left + pad->pad_left;
  int64_t bottom = (int64_t) (conv->out_h - 1) * conv->stride_h + conv->kernel_h - top - pad->in_h;
  int64_t right = (int64_t) (conv->out_w - 1) * conv->stride_w + conv->kernel_w - left - pad->in_w;

  if (conv->kind == QS_LAYER_MAX_POOL)
    return conv->n_inputs == 1 && conv->pad_top == 0 && conv->pad_left == 0
      && (int64_t) (conv->out_h - 1) * conv->stride_h + conv->kernel_h <= pad->out_h
      && (int64_t) (conv->out_w - 1) * conv->stride_w + conv->kernel_w <= pad->out_w;
  if (conv->kind != QS_LAYER_DEPTHWISE_CONV2D
      && (conv->kind != QS_LAYER_CONV2D || qs_layer_is_general_conv (conv) || conv->in_c == 1))
    return false;
  return conv->n_inputs == 1 && top < conv->kernel_h && left < conv->kernel_w
    && bottom < conv->kernel_h && right < conv->kernel_w;
}

/* Folds each ZeroPadding2D whose only reader is a convolution or a max
 * pool into it (the torchvision and Keras MobileNets pad before every
 * stride-2 depthwise convolution, ResNets before their first max pool):
 * the padded copy is never made, on either path.
 * A padding read by anything else, or scored, stays a layer. */
static void
fold_padding (QsEngineModel *model,
              int            output)
{
  size_t n_values = model->n_layers + 1;
  int *readers = calloc (n_values, sizeof (int));
  int *reader = calloc (n_values, sizeof (int));

  if (readers == NULL || reader == NULL || model->keep_padding)
    {
      free (readers);
      free (reader);
      return;
    }
  for (size_t i = 0; i < model->n_layers; i++)
    for (size_t j = 0; j < model->layers[i].n_inputs; j++)
      {
        readers[model->layers[i].inputs[j]]++;
        reader[model->layers[i].inputs[j]] = (int) i;
      }
  for (size_t i = 0; i < model->n_layers; i++)
    {
      QsEngineLayer *pad = &model->layers[i], *conv;
      int v = (int) i + 1;

      if (pad->kind != QS_LAYER_PAD || readers[v] != 1 || v == output)
        continue;
      conv = &model->layers[reader[v]];
      if (!pad_folds_into (pad, conv))
        continue;
      pad->folded_pad = true;
      conv->fold_top = pad->pad_top;
      conv->fold_left = pad->pad_left;
      conv->fold_rows = pad->out_h - pad->in_h;
      conv->fold_cols = pad->out_w - pad->in_w;
      conv->pad_top += conv->fold_top;
      conv->pad_left += conv->fold_left;
      conv->in_h = pad->in_h;
      conv->in_w = pad->in_w;
    }
  free (readers);
  free (reader);
}

QsEngineStatus
qs_engine_model_plan (QsEngineModel *model)
{
  size_t n_values = model->n_layers + 1;
  int *last_use = malloc (n_values * sizeof (int));
  int *root = malloc (n_values * sizeof (int));
  int output = qs_model_output_value (model);
  QsEngineStatus status;

  if (last_use == NULL || root == NULL)
    {
      free (last_use);
      free (root);
      return QS_ENGINE_NO_MEMORY;
    }
  unfold_padding (model);
  fold_padding (model, output);
  /* A value nobody reads dies where it is made. */
  root[0] = 0;
  last_use[0] = -1;
  for (size_t i = 0; i < model->n_layers; i++)
    {
      const QsEngineLayer *l = &model->layers[i];
      int v = (int) i + 1;

      root[v] = qs_layer_is_view (l) ? root[l->inputs[0]] : v;
      last_use[v] = (int) i;
      for (size_t j = 0; j < l->n_inputs; j++)
        {
          int r = root[l->inputs[j]];

          last_use[r] = (int) i > last_use[r] ? (int) i : last_use[r];
        }
    }
  last_use[root[output]] = (int) model->n_layers;

  status = plan_values (model, last_use, root, false, &model->plan_f32);
  if (status == QS_ENGINE_OK)
    status = plan_values (model, last_use, root, true, &model->plan_u8);

  /* Leading affine layers that only preprocess the image (Rescaling,
   * Normalization): a chain from it whose values nothing else reads. */
  model->n_float_prefix = 0;
  for (size_t i = 0; i < model->n_layers; i++)
    {
      const QsEngineLayer *l = &model->layers[i];

      if (l->kind != QS_LAYER_AFFINE || l->inputs[0] != (int) i || last_use[i] != (int) i
          || (int) i == output)
        break;
      model->n_float_prefix = i + 1;
    }
  free (last_use);
  free (root);
  return status;
}
