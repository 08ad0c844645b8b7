/* qs-engine-ops.c: the graph's layers beside convolutions and pooling, on floats and on bytes.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Merges, padding, cropping, upsampling, affine, activations and softmax
 * as Keras computes them in float32 (merges fold their inputs left to
 * right: ((a + b) + c), and Average divides the sum by the count).
 * Padding, cropping and nearest upsampling only move elements, so one
 * byte-level version serves floats and codes alike.
 */
#include "qs-engine-private.h"

#include <math.h>
#include <string.h>

/* ---- moving elements ---------------------------------------------------------------- */

/* @bytes bytes of @dst filled with copies of the @elem_size bytes at
 * @fill: one memset for a byte, else doubling copies of what is written. */
static void
fill_elements (uint8_t    *dst,
               size_t      bytes,
               const void *fill,
               size_t      elem_size)
{
  size_t done;

  if (bytes == 0)
    return;
  if (elem_size == 1)
    {
      memset (dst, *(const uint8_t *) fill, bytes);
      return;
    }
  memcpy (dst, fill, elem_size);
  for (done = elem_size; done < bytes; done *= 2)
    memcpy (dst + done, dst, done < bytes - done ? done : bytes - done);
}

void
qs_layer_move (const QsEngineLayer *l,
               const void          *input,
               size_t               batch,
               size_t               elem_size,
               const void          *fill,
               void                *output)
{
  const uint8_t *in = input;
  uint8_t *out = output;
  size_t C = (size_t) l->in_c * elem_size;
  size_t in_size = qs_layer_in_size (l) * elem_size, out_size = qs_layer_out_size (l) * elem_size;

  for (size_t b = 0; b < batch; b++)
    {
      const uint8_t *src = in + b * in_size;
      uint8_t *dst = out + b * out_size;

      switch (l->kind)
        {
        case QS_LAYER_PAD:
          {
            /* The padding holds the code (or float) of 0.0; only the border
             * is filled, since the rows copied over the rest. */
            size_t row = (size_t) l->out_w * C, left = (size_t) l->pad_left * C;
            size_t right = row - left - (size_t) l->in_w * C;
            size_t bottom = (size_t) (l->out_h - l->pad_top - l->in_h) * row;

            fill_elements (dst, (size_t) l->pad_top * row + left, fill, elem_size);
            for (int y = 0; y < l->in_h; y++)
              {
                uint8_t *d = dst + ((size_t) y + l->pad_top) * row + left;

                memcpy (d, src + (size_t) y * l->in_w * C, (size_t) l->in_w * C);
                /* The right border of this row runs into the next row's left one. */
                fill_elements (d + (size_t) l->in_w * C,
                               right + (y + 1 < l->in_h ? left : 0), fill, elem_size);
              }
            fill_elements (dst + out_size - bottom, bottom, fill, elem_size);
          }
          break;

        case QS_LAYER_CROP:
          for (int y = 0; y < l->out_h; y++)
            memcpy (dst + (size_t) y * l->out_w * C,
                    src + (((size_t) y + l->pad_top) * l->in_w + l->pad_left) * C,
                    (size_t) l->out_w * C);
          break;

        case QS_LAYER_UPSAMPLE:
        default:
          /* Nearest: output pixel (y, x) repeats input (y / fh, x / fw). */
          for (int y = 0; y < l->out_h; y++)
            for (int x = 0; x < l->out_w; x++)
              memcpy (dst + ((size_t) y * l->out_w + x) * C,
                      src + ((size_t) (y / l->factor_h) * l->in_w + x / l->factor_w) * C, C);
          break;
        }
    }
}

/* ---- float32 -------------------------------------------------------------------------- */

/* Keras's bilinear resize (tf.image.resize, half-pixel centres, no
 * antialias, as UpSampling2D calls it; PyTorch's align_corners=False is
 * the same): source coordinate (dst + 0.5) * (in / out) - 0.5. */
static void
axis_weights (int    out_i,
              int    in_size,
              float  scale,
              int   *lower,
              int   *upper,
              float *lerp)
{
  float in = ((float) out_i + 0.5f) * scale - 0.5f;
  float in_f = floorf (in);

  *lower = in_f > 0.0f ? (int) in_f : 0;
  *upper = (int) ceilf (in) < in_size - 1 ? (int) ceilf (in) : in_size - 1;
  *upper = *upper < 0 ? 0 : *upper;
  *lerp = in - in_f;
}

static void
upsample_bilinear_f32 (const QsEngineLayer *l,
                       const float         *in,
                       float               *out)
{
  size_t C = (size_t) l->in_c;
  float sy = (float) l->in_h / (float) l->out_h, sx = (float) l->in_w / (float) l->out_w;

  for (int y = 0; y < l->out_h; y++)
    {
      int y0, y1;
      float fy;

      axis_weights (y, l->in_h, sy, &y0, &y1, &fy);
      for (int x = 0; x < l->out_w; x++)
        {
          const float *tl, *tr, *bl, *br;
          float *o = out + ((size_t) y * l->out_w + x) * C;
          int x0, x1;
          float fx;

          axis_weights (x, l->in_w, sx, &x0, &x1, &fx);
          tl = in + ((size_t) y0 * l->in_w + x0) * C;
          tr = in + ((size_t) y0 * l->in_w + x1) * C;
          bl = in + ((size_t) y1 * l->in_w + x0) * C;
          br = in + ((size_t) y1 * l->in_w + x1) * C;
          for (size_t c = 0; c < C; c++)
            {
              float top = tl[c] + (tr[c] - tl[c]) * fx;
              float bottom = bl[c] + (br[c] - bl[c]) * fx;

              o[c] = top + (bottom - top) * fy;
            }
        }
    }
}

/* Softmax over the channels of each pixel: exp (x - max) / sum. */
static void
softmax_f32 (const float *in,
             size_t       pixels,
             size_t       C,
             float       *out)
{
  for (size_t p = 0; p < pixels; p++)
    {
      const float *x = in + p * C;
      float *y = out + p * C;
      float m = x[0], sum = 0.0f;

      for (size_t c = 1; c < C; c++)
        m = x[c] > m ? x[c] : m;
      for (size_t c = 0; c < C; c++)
        {
          y[c] = expf (x[c] - m);
          sum += y[c];
        }
      for (size_t c = 0; c < C; c++)
        y[c] /= sum;
    }
}

static float
merge_step (QsLayerKind kind,
            float       acc,
            float       x)
{
  switch (kind)
    {
    case QS_LAYER_SUBTRACT:
      return acc - x;
    case QS_LAYER_MULTIPLY:
      return acc * x;
    case QS_LAYER_MAXIMUM:
      return x > acc ? x : acc;
    case QS_LAYER_MINIMUM:
      return x < acc ? x : acc;
    case QS_LAYER_DIVIDE:
      return acc / x;
    case QS_LAYER_ADD:
    case QS_LAYER_AVERAGE:
    default:
      return acc + x;
    }
}

/* Input @j of a merge folded into @acc (@j == 0 starts it): one image of
 * @size elements, the input broadcast when it is a single pixel. */
void
qs_merge_step_f32 (const QsEngineModel *model,
                   const QsEngineLayer *l,
                   size_t               j,
                   const float         *in,
                   size_t               batch,
                   float               *acc)
{
  size_t size = qs_layer_out_size (l), C = (size_t) l->out_c;
  size_t in_size = qs_value_size (model, l->inputs[j]);

  if (l->kind == QS_LAYER_CONCATENATE)
    {
      size_t offset = 0, cj = in_size / ((size_t) l->out_h * l->out_w);

      for (size_t i = 0; i < j; i++)
        offset += qs_value_size (model, l->inputs[i]) / ((size_t) l->out_h * l->out_w);
      for (size_t p = 0; p < batch * l->out_h * l->out_w; p++)
        memcpy (acc + p * C + offset, in + p * cj, cj * sizeof (float));
      return;
    }
  for (size_t b = 0; b < batch; b++)
    {
      const float *x = in + b * in_size;
      float *y = acc + b * size;

      if (j == 0)
        for (size_t i = 0; i < size; i++)
          y[i] = x[in_size == size ? i : i % C];
      else if (in_size == size)
        for (size_t i = 0; i < size; i++)
          y[i] = merge_step (l->kind, y[i], x[i]);
      else
        for (size_t i = 0; i < size; i++)
          y[i] = merge_step (l->kind, y[i], x[i % C]);
      if (l->kind == QS_LAYER_AVERAGE && j + 1 == l->n_inputs)
        for (size_t i = 0; i < size; i++)
          y[i] /= (float) l->n_inputs;
    }
}

/* LayerNormalization of @pixels rows of out_c channels; the moments in
 * double, so that a large mean does not cost the variance its digits. */
static void
layer_norm_f32 (const QsEngineLayer *l,
                const float         *x,
                size_t               pixels,
                float               *y)
{
  size_t C = (size_t) l->out_c;

  for (size_t p = 0; p < pixels; p++)
    {
      const float *row = x + p * C;
      double mean = 0.0, variance = 0.0, inv;

      for (size_t c = 0; c < C; c++)
        mean += row[c];
      mean /= (double) C;
      for (size_t c = 0; c < C; c++)
        variance += (row[c] - mean) * (row[c] - mean);
      variance /= (double) C;
      inv = 1.0 / sqrt (variance + l->epsilon);
      for (size_t c = 0; c < C; c++)
        y[p * C + c] = (float) ((row[c] - mean) * inv * l->affine_scale[c] + l->bias[c]);
    }
}

void
qs_layer_ops_f32 (const QsEngineModel *model,
                  const QsEngineLayer *l,
                  const float *const  *ins,
                  size_t               batch,
                  float               *out)
{
  size_t in_size = qs_layer_in_size (l), out_size = qs_layer_out_size (l);
  const float zero = 0.0f;

  if (qs_layer_kind_is_merge (l->kind))
    {
      for (size_t j = 0; j < l->n_inputs; j++)
        qs_merge_step_f32 (model, l, j, ins[j], batch, out);
      return;
    }
  switch (l->kind)
    {
    case QS_LAYER_PAD:
    case QS_LAYER_CROP:
      qs_layer_move (l, ins[0], batch, sizeof (float), &zero, out);
      return;

    case QS_LAYER_UPSAMPLE:
      if (!l->bilinear)
        qs_layer_move (l, ins[0], batch, sizeof (float), &zero, out);
      else
        for (size_t b = 0; b < batch; b++)
          upsample_bilinear_f32 (l, ins[0] + b * in_size, out + b * out_size);
      return;

    case QS_LAYER_AFFINE:
      for (size_t i = 0; i < batch * out_size; i++)
        {
          size_t c = i % (size_t) l->out_c;

          out[i] = ins[0][i] * l->affine_scale[c] + l->bias[c];
        }
      return;

    case QS_LAYER_LAYER_NORM:
      layer_norm_f32 (l, ins[0], batch * l->out_h * l->out_w, out);
      return;

    case QS_LAYER_PRELU:
      for (size_t i = 0; i < batch * out_size; i++)
        out[i] = ins[0][i] >= 0.0f ? ins[0][i] : ins[0][i] * l->affine_scale[i % (size_t) l->out_c];
      return;

    case QS_LAYER_ACTIVATION:
    default:
      if (l->spec.kind == QS_ACTIVATION_SOFTMAX)
        softmax_f32 (ins[0], batch * l->out_h * l->out_w, (size_t) l->out_c, out);
      else if (qs_layer_is_plain_relu (l))
        for (size_t i = 0; i < batch * out_size; i++)
          out[i] = ins[0][i] < l->lo ? l->lo : (ins[0][i] > l->hi ? l->hi : ins[0][i]);
      else
        for (size_t i = 0; i < batch * out_size; i++)
          out[i] = qs_activation_spec_apply (&l->spec, ins[0][i]);
      return;
    }
}
