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
 * views of their input's storage, which they keep alive. Slots are sized
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
