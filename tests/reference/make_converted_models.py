#!/usr/bin/python3
# make_converted_models.py: small models in the h5 layouts converters from PyTorch / ONNX write, other HDF5 weight files, and PyTorch's logits.
# SPDX-License-Identifier: GPL-3.0-or-later
"""What files converted from other ecosystems look like, for test-keras-converted.

How to run (from the source root, after make_shared_layers.py, whose
12x12 images it scores; needs /usr/bin/python3 with torch, numpy, h5py):

    /usr/bin/python3 tests/reference/make_converted_models.py

(--nchw-images writes only the image sets of images-12-labelled.h5 in
PyTorch's N x C x H x W order, from that file.)

THE KERAS FILES (tf.keras 2.x Model.save h5 layout, make_shared_layers.write_k2),
each built from a PyTorch module whose float64 logits are the reference:

  onnx2keras-resnet.h5   gmalivenko/onnx2keras (and pytorch2keras, which calls
      it) with its default change_ordering=False: it sets Keras'
      image_data_format to channels_first, so the input is [null, 3, 12, 12]
      and every Conv2D / pooling / padding layer is channels_first;
      BatchNormalization(axis=1); an ONNX pad becomes ZeroPadding2D
      (channels_first) before a "valid" Conv2D named "<name>_pad"; layer
      names are the ONNX node outputs ("input.1", "123"); GlobalAveragePool
      is GlobalAveragePooling2D then two Lambdas "<name>_EXPAND1/2"
      (keras.backend.expand_dims, from onnx2keras.pooling_layers); an ONNX
      Flatten is Reshape([-1]); Concat on axis 1 is Concatenate(axis=1);
      nn.PReLU(C) is PReLU(shared_axes [2, 3]) with alpha (C, 1, 1); a
      squeeze-and-excitation block's .view(b, c, 1, 1) is Reshape([C, 1, 1])
      before a Multiply with the (C, H, W) map.
  onnx2keras-vgg.h5      the same converter on a VGG-style head: a (C, H, W)
      map flattened by Reshape([-1]) in PyTorch's (C, H, W) order into
      Dense layers whose kernel rows follow that order, and ONNX's Softmax
      as its Lambda (tf.nn.softmax, axis 1, from onnx2keras.activation_layers).
  onnx2keras-nhwc.h5     onnx2keras with change_ordering=True: the model is
      rewritten channels_last (BatchNormalization axis 3), and its flatten
      is a Lambda "<name>_CHW" (tf.transpose(x, [0, 3, 1, 2])) then Flatten,
      so the Dense reads PyTorch's order again.
  keras-channels-first.h5  Keras' own channels_first model (as written with
      image_data_format "channels_first"): Flatten(data_format
      channels_first), which moves the channels last before flattening, and
      Permute((2, 3, 1)) then Reshape([-1]), both in (H, W, C) order.
  nobuco-resnet.h5       AlexanderLutsenko/nobuco (channels_last, Keras'
      automatic names): a padded Conv2d is ZeroPadding2D then a "valid"
      Conv2D; MaxPool2d(3, 2, padding=1) is tf.pad(x, paddings,
      constant_values=-inf) (a TFOpLambda "tf.compat.v1.pad", whose -inf
      Python's json writes as a bare -Infinity) then MaxPool2D; a residual
      "+" is TFOpLambda "tf.__operators__.add" with its second operand in
      kwargs "y"; x.mean((2, 3)) is tf.math.reduce_mean(axis [1, 2]).
  nobuco-flatten.h5      nobuco's torch.flatten(x, 1) after AdaptiveAvgPool2d
      (GlobalAvgPool2D(keepdims=True), tf.transpose to PyTorch's order, then
      tf.reshape(x, (tf.shape(x)[:1][0], -1)), the shape's tensors left
      unbuilt), and x.view(x.size(0), -1) of a 3x3 map traced with batch
      1 (tf.reshape(x, (1, -1)) of the transposed map, whose Dense reads
      PyTorch's (C, H, W) order).
  classification-models-seresnet.h5  qubvel/classification_models' SE-ResNet
      (ported from PyTorch / MXNet): BatchNormalization(scale=False) on the
      input, ZeroPadding2D before "valid" convolutions, and its ChannelSE
      block: GlobalAveragePooling2D, Lambda(expand_dims, arguments
      {"channels_axis": 3}) from classification_models.models._common_blocks,
      two 1x1 Conv2D, Multiply.
  classification-models-resnext.h5  its ResNeXt GroupConv2D: Lambda(
      slice_tensor, arguments {"start", "stop", "axis": 3}) before each
      group's Conv2D: refused (the engine has no channel slice).
  keras1-th-theano.h5    Keras 1.2 (keras_version "1.2.2", backend "theano"),
      the layout of 2016-2017 ports of Caffe models: a functional "Model"
      of Convolution2D (nb_filter, nb_row, nb_col, border_mode, subsample,
      bias, dim_ordering "th"), BatchNormalization(axis=1, mode 0),
      Merge(mode "sum") and Merge(mode "concat", concat_axis 1),
      MaxPooling2D, Flatten (in the tensor's own (C, H, W) order) and
      Dense(output_dim); weights "<layer>_W", "<layer>_b",
      "<layer>_running_std" (the variance); kernels (out, in, kh, kw) and,
      under Theano, turned 180 degrees (Theano convolves).
  keras1-tf.h5           Keras 1.2 Sequential (config a list of layers, the
      first with batch_input_shape), dim_ordering "tf", backend
      "tensorflow": kernels (kh, kw, in, out), weights "<layer>_W:0".
  mmdnn-caffe-resnet.h5  microsoft/MMdnn's Keras 2 emitter on a Caffe ResNet:
      ZeroPadding2D before "valid" Conv2D without bias, Caffe's
      BatchNorm as BatchNormalization(center=False, scale=False) and its
      Scale as MMdnn's custom "Scale" layer (gamma, beta), Add, a final
      Activation("softmax").
  vggface-resnet.h5      rcmalli/keras-vggface's names with "/" in them
      ("conv1/7x7_s2", "conv1/7x7_s2/bn"), so h5py nests the weight groups
      (model_weights/conv1/7x7_s2/bn/conv1/7x7_s2/bn/gamma:0, a group
      inside another layer's); vggface-weights.h5 holds the same weights as
      save_weights writes them (layer_names at the root), as its published
      files are: listed, no model to run.
  nobuco-mobilenet.h5    nobuco on a MobileNetV2 block and a hard-swish
      head: nn.ReLU6 (PyTorch's Hardtanh(0, 6)) is tf.clip_by_value(x, 0, 6),
      a depthwise Conv2d a DepthwiseConv2D, hardswish x * clip(x / 6 + 1/2,
      0, 1) in TFOpLambdas (math.truediv, __operators__.add, clip_by_value,
      math.multiply).
  onnx2keras-unflatten.h5  a vector viewed as a (C, H, W) map (x.view(-1, 4,
      2, 2), a DCGAN generator's first step): Reshape([4, 2, 2]) of a
      Dense's output would need a transpose to the engine's H x W x C,
      and is refused by name.
  onnx2keras-lambda.h5   onnx2keras's Slice, a Lambda from
      onnx2keras.reshape_layers: its Python code cannot run outside Python,
      so the engine refuses it (naming the layer); its weights still list.

  keras-channels-first-normalize.h5  a channels_first tf.keras model with
      PyTorch's input normalisation as TFOpLambdas (math.subtract and
      math.truediv, constants (C, 1, 1)), a per-channel scale and shift
      mid-network ((C, 1, 1) and (1, C, 1, 1)), and after Reshape([-1]) of the
      (C, H, W) map a per-element (N,) scale in PyTorch's element order.
  nobuco-normalize.h5    the same in channels_last, as nobuco writes it:
      constants (C,), (1, 1, C), (1, 1, 1, C).
  normalize-no-format.h5  no layer has a data_format (TFOpLambdas, Reshape,
      Dense): the (1, C, 1, 1) and (C, 1, 1) constants say the input
      [null, 3, 12, 12] is channels_first.
  mixed-formats.h5       a channels_first Conv2D, Permute((2, 3, 1)), then
      channels_last Conv2D and pooling: the input is channels_first.
  constant-per-width.h5, constant-no-broadcast.h5  a channels_first
      (12, 12, 12) map times a constant of shape (12,) (NumPy broadcasts it
      along the width) or (5, 1, 1) (no broadcast): refused in one line.

  nobuco-bounds.h5       torch.clamp (x, min=0), torch.clamp (x, 0, 0.5),
      torch.minimum / torch.maximum by a number or a (1, 1, C) constant of
      one value, F.hardtanh (x, -0.5, 0.5) and torch.maximum of two
      tensors as TFOpLambdas (math.maximum, math.minimum with "y" a number,
      a nested list or a tensor, clip_by_value), channels_last, and rank-3
      constants of add and multiply ((1, 1, C), (1, 1, 1)).
  keras-channels-first-bounds.h5  the same on a channels_first map: a
      (C, 1, 1) maximum of zeros (a ReLU), (C, 1, 1) and (1, 1, 1) multiply
      and add constants, minimum then maximum by (C, 1, 1) and (1, 1, 1)
      constants of one value, math.minimum of two tensors.
  tf23-bounds.h5         TF 2.0-2.3's TensorFlowOpLayer "Maximum" and
      "Minimum" (tf_op_layer_Maximum, constants {"1": 0.0}): ReLU(0.5)
      written as tf.minimum (tf.maximum (x, 0), 0.5), and a floor of -0.25.
  keras3-bounds.keras    Keras 3 operations (keras.src.ops.numpy Maximum,
      Minimum) with a number, a NumPy constant ({"class_name": "__numpy__"})
      and two tensors.
  nobuco-inception.h5    an Inception block as nobuco writes torch.cat of
      channels: tf.concat ([a, b, c], axis=3) (a TFOpLambda "concat" whose
      list argument repeats its kwargs on every entry), -x as
      tf.math.negative, F.silu as tf.nn.silu (x, beta=1.0), x.mean ((2, 3),
      keepdim=True) as tf.math.reduce_mean (axis [-3, -2], keepdims True).
  nobuco-relu-pool.h5    F.relu as tf.nn.relu and torch.clamp (x, 0, 0.5) as
      tf.math.maximum then tf.math.minimum, each before a max pooling with
      padding (tf.pad with -inf, which zeros equal after a ReLU).
  onnx2keras-hardtanh.h5  onnx2keras's Clip with a floor other than 0
      (F.hardtanh (x, -0.5, 0.5)): a Lambda from onnx2keras.operation_layers
      calling tf.clip_by_value, its bounds the function's default arguments.
  tf-nn-pool.h5          hand-written tf.keras calling tf.nn.max_pool2d (ksize 3,
      strides 2, "SAME": TensorFlow's padding, one row and column after)
      and tf.nn.avg_pool2d (ksize [1, 3, 3, 1], "SAME", which averages the
      valid pixels only; ksize [2, 2], "VALID") as TFOpLambdas.
  keras-channels-first-concat.h5  tf.concat (axis=1) and tf.math.negative
      on channels_first maps, and tf.math.reduce_mean over their height and
      width, axis [2, 3].

  A Lambda's "function" is Keras 2's func_dump: base64 of the marshalled
  code of a function written here as onnx2keras writes it.

OTHER HDF5 LAYOUTS (no model to run; every float tensor listed):
  caffe.caffemodel.h5    Caffe's Net::ToHDF5 snapshot: /data/<layer>/<i>
                         (0 weights (out, in, kh, kw), 1 bias; BatchNorm
                         mean, variance, scale factor), an empty /diff
  state-dict.h5          a PyTorch state_dict written with h5py, one dataset
                         per key ("layer1.0.conv1.weight"), with the int64
                         num_batches_tracked scalars
  chainer.h5             Chainer's serializers.save_hdf5: /<link path>/W
                         (out, in, kh, kw) or (out, in), b, BatchNormalization's
                         gamma, beta, avg_mean, avg_var and its int N
  matlab.mat             MATLAB v7.3 (HDF5 after a 512-byte header): double
                         and single matrices with MATLAB_class, a cell array
                         of object references into #refs#, a struct group,
                         a char array

FULL SIZE (not committed):

    /usr/bin/python3 tests/reference/make_converted_models.py --resnet18 STATE_DICT.pt OUT.h5
    /usr/bin/python3 tests/reference/make_converted_models.py --mobilenet_v2 STATE_DICT.pt OUT.h5

converts a torchvision ResNet18 (or MobileNetV2: DepthwiseConv2D for its
grouped convolutions, ONNX's Clip (0, 6) as ReLU(max_value=6)) state_dict (bench/torchvision_to_keras.py
writes one, with images labelled by torchvision's predictions) as
onnx2keras does after torch.onnx.export in eval mode: BatchNormalization
folded into each convolution's bias, channels_first, numbered layer names,
ZeroPadding2D before every padded Conv2D and MaxPooling2D, the
GlobalAveragePooling2D + _EXPAND1/2 Lambdas + Reshape([-1]) head, so
"quantscope-cli eval OUT.h5 --data resnet18-images.h5" scores its
agreement with PyTorch.

reference.json: per Keras file, its input shape, the weighted layers in the
engine's order, and fp32_logits of the 16 images of
tests/data/shared-layers/images-12.h5 (NHWC; the models read them as NCHW
where they are channels_first); images-12-labelled.h5 holds the same
images labelled with the resnet's PyTorch top-1, so "quantscope-cli eval"
scores 100 % in float32 only if it predicts what PyTorch does.
"""
import base64
import json
import marshal
import os
import sys

import h5py
import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_keras3_files as k3  # noqa: E402  (Keras 3 layer dicts, .weights.h5 tree, .keras zip)
import make_shared_layers as sl  # noqa: E402  (weights, Keras 2 layer dicts and the h5 writer)

OUT = "tests/data/converted"
SEED = 20261207
BN_EPS = 1e-5   # PyTorch's, which onnx2keras copies

torch.set_default_dtype(torch.float64)


# ---- onnx2keras's Lambda functions, as its source writes them ----------------------------

def expand_dims(x, channels_axis):
    if channels_axis == 3:
        return x[:, None, None, :]
    elif channels_axis == 1:
        return x[:, :, None, None]
    else:
        raise ValueError("Slice axis should be in (1, 3), got {}.".format(channels_axis))


def slice_tensor(x, start, stop, axis):
    if axis == 3:
        return x[:, :, :, start:stop]
    elif axis == 1:
        return x[:, start:stop, :, :]
    else:
        raise ValueError("Slice axis should be in (1, 3), got {}.".format(axis))


def expand_target_layer(x):
    from tensorflow import keras
    return keras.backend.expand_dims(x)


def chw_target_layer(x):
    import tensorflow as tf
    x = tf.transpose(x, [0, 3, 1, 2])
    return x


def softmax_target_layer(x, axis=1):
    import tensorflow as tf
    return tf.nn.softmax(x, axis=axis)


def clip_target_layer(x, vmin=-0.5, vmax=0.5):
    import tensorflow as tf
    return tf.clip_by_value(x, vmin, vmax)


def slice_target_layer(x, axis=1, starts=0, ends=2):
    import tensorflow as tf
    x = tf.slice(x, [0, starts, 0, 0], [-1, ends - starts, -1, -1])
    return x


def lambda_config(function, module, arguments=None):
    """Keras 2's Lambda.get_config for a Python function."""
    code = base64.b64encode(marshal.dumps(function.__code__)).decode("ascii")
    return {"function": [code, list(function.__defaults__) if function.__defaults__ else None, None],
            "function_type": "lambda", "module": module, "output_shape": None, "output_shape_type": "raw",
            "output_shape_module": None, "arguments": arguments or {}}


# ---- layer configs -----------------------------------------------------------------------

def conv_cfg(filters, k, stride=1, fmt="channels_first", use_bias=True, groups=1):
    # onnx2keras: padding always "valid" (pads are a ZeroPadding2D before), no activation.
    return {"filters": filters, "kernel_size": [k, k], "strides": [stride, stride], "padding": "valid",
            "data_format": fmt, "dilation_rate": [1, 1], "groups": groups, "activation": "linear",
            "use_bias": use_bias, "kernel_initializer": {"class_name": "Zeros", "config": {}},
            "bias_initializer": {"class_name": "Zeros", "config": {}}}


def pad_cfg(p, fmt="channels_first"):
    return {"padding": [[p, p], [p, p]], "data_format": fmt}


def bn_cfg(axis):
    return {"axis": [axis], "momentum": 0.99, "epsilon": BN_EPS, "center": True, "scale": True}


def pool_cfg(k, stride, fmt="channels_first"):
    return {"pool_size": [k, k], "padding": "valid", "strides": [stride, stride], "data_format": fmt}


def act(name):
    return {"activation": name}


class Graph:
    """Keras 2 functional layers in call order, each called once."""

    def __init__(self, input_name, shape):
        self.layers = [sl.k2_input(input_name, shape)]
        self.weights = {}
        self.last = input_name

    def add(self, cls, name, config, inputs=None, weights=None):
        inputs = inputs or [self.last]
        self.layers.append(sl.k2_layer(cls, name, config, [[(i, 0) for i in inputs]]))
        if weights:
            self.weights[name] = sl.k2_weights(name, weights)
        self.last = name
        return name

    def config(self):
        return sl.k2_functional(self.layers, self.layers[0]["name"], (self.last, 0))


def bn_params(p):
    return sl.bn_keras(p)


def torch_bn(x, p):
    shape = (1, -1, 1, 1) if x.dim() == 4 else (1, -1)
    return ((x - p["mean"].view(shape)) / torch.sqrt(p["var"].view(shape) + BN_EPS) * p["gamma"].view(shape)
            + p["beta"].view(shape))


# ---- the models --------------------------------------------------------------------------

def onnx2keras_resnet():
    w = sl.Weights(SEED)
    stem, c1, c2, b1, b2 = (sl.round_params(p) for p in
                           (w.conv(3, 8, 3), w.conv(8, 8, 3), w.conv(8, 8, 3), w.conv(8, 4, 1), w.conv(8, 4, 3)))
    norm = sl.round_params(w.bn(8))
    head = sl.round_params(w.dense(8, 5))
    gen = torch.Generator().manual_seed(SEED + 1)
    alpha = sl.f32(torch.rand(8, generator=gen) * 2.0 - 0.5)
    squeeze, excite = sl.round_params(w.dense(8, 4)), sl.round_params(w.dense(4, 8))
    squeeze["b"] = squeeze["b"] + 0.5

    def forward(x):
        x = F.relu(torch_bn(sl.conv(x, stem, 1), norm))
        x = F.max_pool2d(F.pad(x, (1, 1, 1, 1)), 3, 2)          # after a ReLU, zero padding is -inf padding
        r = F.relu(sl.conv(x, c1, 1))
        x = F.relu(sl.conv(r, c2, 1) + x)
        x = torch.cat([sl.conv(x, b1, 0), sl.conv(x, b2, 1)], 1)
        x = F.prelu(x, alpha)
        # A squeeze-and-excitation block as PyTorch code writes it: .view(b, c) ... .view(b, c, 1, 1).
        s = torch.sigmoid(sl.dense(F.relu(sl.dense(x.mean((2, 3)), squeeze)), excite))
        x = x * s.view(-1, 8, 1, 1)
        return sl.dense(x.mean((2, 3)), head)

    g = Graph("input.1", [3, 12, 12])
    g.add("ZeroPadding2D", "123_pad", pad_cfg(1))
    g.add("Conv2D", "123", conv_cfg(8, 3), weights=sl.conv_keras(stem))
    g.add("BatchNormalization", "124", bn_cfg(1), weights=bn_params(norm))
    g.add("Activation", "125", act("relu"))
    g.add("ZeroPadding2D", "126_pad", pad_cfg(1))
    pooled = g.add("MaxPooling2D", "126", pool_cfg(3, 2))
    g.add("ZeroPadding2D", "127_pad", pad_cfg(1))
    g.add("Conv2D", "127", conv_cfg(8, 3), weights=sl.conv_keras(c1))
    g.add("Activation", "128", act("relu"))
    g.add("ZeroPadding2D", "129_pad", pad_cfg(1))
    g.add("Conv2D", "129", conv_cfg(8, 3), weights=sl.conv_keras(c2))
    g.add("Add", "130", {}, inputs=["129", pooled])
    trunk = g.add("Activation", "131", act("relu"))
    g.add("Conv2D", "132", conv_cfg(4, 1), inputs=[trunk], weights=sl.conv_keras(b1))
    g.add("ZeroPadding2D", "133_pad", pad_cfg(1), inputs=[trunk])
    g.add("Conv2D", "133", conv_cfg(4, 3), weights=sl.conv_keras(b2))
    g.add("Concatenate", "134", {"axis": 1}, inputs=["132", "133"])
    g.add("PReLU", "135", {"alpha_initializer": {"class_name": "Zeros", "config": {}}, "alpha_regularizer": None,
                           "alpha_constraint": None, "shared_axes": [2, 3]},
          weights=[("alpha", alpha.view(8, 1, 1))])
    prelu = g.last
    g.add("GlobalAveragePooling2D", "140", {"data_format": "channels_first", "keepdims": False})
    g.add("Lambda", "140_EXPAND1", lambda_config(expand_target_layer, "onnx2keras.pooling_layers"))
    g.add("Lambda", "140_EXPAND2", lambda_config(expand_target_layer, "onnx2keras.pooling_layers"))
    g.add("Reshape", "141", {"target_shape": [-1]})
    g.add("Dense", "142", sl.k2_dense(4), weights=sl.dense_keras(squeeze))
    g.add("Activation", "143", act("relu"))
    g.add("Dense", "144", sl.k2_dense(8), weights=sl.dense_keras(excite))
    g.add("Activation", "145", act("sigmoid"))
    g.add("Reshape", "146", {"target_shape": [8, 1, 1]})
    g.add("Multiply", "147", {}, inputs=[prelu, "146"])
    g.add("GlobalAveragePooling2D", "136", {"data_format": "channels_first", "keepdims": False})
    g.add("Lambda", "136_EXPAND1", lambda_config(expand_target_layer, "onnx2keras.pooling_layers"))
    g.add("Lambda", "136_EXPAND2", lambda_config(expand_target_layer, "onnx2keras.pooling_layers"))
    g.add("Reshape", "137", {"target_shape": [-1]})
    g.add("Dense", "138", sl.k2_dense(5), weights=sl.dense_keras(head))
    return g, forward, [3, 12, 12], ["123", "127", "129", "132", "133", "142", "144", "138"]


def onnx2keras_vgg():
    w = sl.Weights(SEED + 2)
    c1, c2 = sl.round_params(w.conv(3, 6, 3)), sl.round_params(w.conv(6, 4, 3))
    d1, d2 = sl.round_params(w.dense(4 * 3 * 3, 10)), sl.round_params(w.dense(10, 5))

    def forward(x):
        x = F.max_pool2d(F.relu(sl.conv(x, c1, 1)), 2)
        x = F.max_pool2d(F.relu(sl.conv(x, c2, 1)), 2)
        return sl.dense(F.relu(sl.dense(torch.flatten(x, 1), d1)), d2)

    g = Graph("input.1", [3, 12, 12])
    g.add("ZeroPadding2D", "21_pad", pad_cfg(1))
    g.add("Conv2D", "21", conv_cfg(6, 3), weights=sl.conv_keras(c1))
    g.add("Activation", "22", act("relu"))
    g.add("MaxPooling2D", "23", pool_cfg(2, 2))
    g.add("ZeroPadding2D", "24_pad", pad_cfg(1))
    g.add("Conv2D", "24", conv_cfg(4, 3), weights=sl.conv_keras(c2))
    g.add("Activation", "25", act("relu"))
    g.add("MaxPooling2D", "26", pool_cfg(2, 2))
    g.add("Reshape", "27", {"target_shape": [-1]})
    g.add("Dense", "28", sl.k2_dense(10), weights=sl.dense_keras(d1))
    g.add("Activation", "29", act("relu"))
    g.add("Dense", "30", sl.k2_dense(5), weights=sl.dense_keras(d2))
    # ONNX's Softmax, a Lambda of tf.nn.softmax (x, axis=1): the engine scores its input.
    g.add("Lambda", "31", lambda_config(softmax_target_layer, "onnx2keras.activation_layers"))
    return g, forward, [3, 12, 12], ["21", "24", "28", "30"]


def onnx2keras_nhwc():
    w = sl.Weights(SEED + 3)
    c1 = sl.round_params(w.conv(3, 6, 3))
    norm = sl.round_params(w.bn(6))
    d1 = sl.round_params(w.dense(6 * 6 * 6, 5))

    def forward(x):
        x = F.relu(torch_bn(sl.conv(x, c1, 1), norm))
        x = F.avg_pool2d(x, 2)
        return sl.dense(torch.flatten(x, 1), d1)

    g = Graph("input.1", [12, 12, 3])
    g.add("ZeroPadding2D", "11_pad", pad_cfg(1, "channels_last"))
    g.add("Conv2D", "11", conv_cfg(6, 3, fmt="channels_last"), weights=sl.conv_keras(c1))
    g.add("BatchNormalization", "12", bn_cfg(3), weights=bn_params(norm))
    g.add("Activation", "13", act("relu"))
    g.add("AveragePooling2D", "14", pool_cfg(2, 2, "channels_last"))
    g.add("Lambda", "15_CHW", lambda_config(chw_target_layer, "onnx2keras.reshape_layers"))
    g.add("Flatten", "15", {"data_format": "channels_last"})
    g.add("Dense", "16", sl.k2_dense(5), weights=sl.dense_keras(d1))
    return g, forward, [12, 12, 3], ["11", "16"]


def keras_channels_first():
    w = sl.Weights(SEED + 4)
    c1 = sl.round_params(w.conv(3, 4, 3))
    da, db = sl.round_params(w.dense(4 * 6 * 6, 6)), sl.round_params(w.dense(4 * 6 * 6, 6))
    head = sl.round_params(w.dense(6, 5))

    def forward(x):
        x = F.max_pool2d(F.relu(sl.conv(x, c1, 1)), 2)
        hwc = x.permute(0, 2, 3, 1).flatten(1)                # Keras' Flatten(channels_first) and Permute((2, 3, 1))
        return sl.dense(F.relu(sl.dense(hwc, da) + sl.dense(hwc, db)), head)

    g = Graph("image", [3, 12, 12])
    g.add("Conv2D", "conv", {**conv_cfg(4, 3), "padding": "same", "activation": "relu"}, weights=sl.conv_keras(c1))
    pooled = g.add("MaxPooling2D", "pool", pool_cfg(2, 2))
    g.add("Flatten", "flatten", {"data_format": "channels_first"})
    g.add("Dense", "dense_a", sl.k2_dense(6), weights=sl.dense_keras(da))
    g.add("Permute", "to_hwc", {"dims": [2, 3, 1]}, inputs=[pooled])
    g.add("Reshape", "flat_hwc", {"target_shape": [-1]})
    g.add("Dense", "dense_b", sl.k2_dense(6), weights=sl.dense_keras(db))
    g.add("Add", "sum", {}, inputs=["dense_a", "dense_b"])
    g.add("Activation", "relu", act("relu"))
    g.add("Dense", "logits", sl.k2_dense(5), weights=sl.dense_keras(head))
    return g, forward, [3, 12, 12], ["conv", "dense_a", "dense_b", "logits"]


def tf_op(function, name, inbound, kwargs):
    """A tf.keras 2.x TFOpLambda layer: the call's other arguments are its kwargs."""
    return {"class_name": "TFOpLambda", "name": name,
            "config": {"name": name, "trainable": True, "dtype": "float32", "function": function},
            "inbound_nodes": [[inbound, 0, 0, kwargs]]}


def nobuco_resnet():
    w = sl.Weights(SEED + 6)
    stem, c1, c2 = (sl.round_params(p) for p in (w.conv(3, 8, 3), w.conv(8, 8, 3), w.conv(8, 8, 3)))
    norm = sl.round_params(w.bn(8))
    head = sl.round_params(w.dense(8, 5))

    def forward(x):
        x = F.relu(torch_bn(sl.conv(x, stem, 1), norm))
        x = F.max_pool2d(x, 3, 2, padding=1)
        y = F.relu(sl.conv(F.relu(sl.conv(x, c1, 1)), c2, 1) + x)
        return sl.dense(y.mean((2, 3)), head)

    g = Graph("input_1", [12, 12, 3])
    g.add("ZeroPadding2D", "zero_padding2d", pad_cfg(1, "channels_last"))
    g.add("Conv2D", "conv2d", conv_cfg(8, 3, fmt="channels_last"), weights=sl.conv_keras(stem))
    g.add("BatchNormalization", "batch_normalization", bn_cfg(3), weights=bn_params(norm))
    g.add("ReLU", "re_lu", {"max_value": None, "negative_slope": 0.0, "threshold": 0.0})
    g.layers.append(tf_op("compat.v1.pad", "tf.compat.v1.pad", "re_lu",
                          {"paddings": [[0, 0], [1, 1], [1, 1], [0, 0]], "constant_values": float("-inf")}))
    g.last = "tf.compat.v1.pad"
    pooled = g.add("MaxPooling2D", "max_pooling2d", {**pool_cfg(3, 2, "channels_last")})
    g.add("ZeroPadding2D", "zero_padding2d_1", pad_cfg(1, "channels_last"))
    g.add("Conv2D", "conv2d_1", conv_cfg(8, 3, fmt="channels_last"), weights=sl.conv_keras(c1))
    g.add("ReLU", "re_lu_1", {"max_value": None, "negative_slope": 0.0, "threshold": 0.0})
    g.add("ZeroPadding2D", "zero_padding2d_2", pad_cfg(1, "channels_last"))
    g.add("Conv2D", "conv2d_2", conv_cfg(8, 3, fmt="channels_last"), weights=sl.conv_keras(c2))
    g.layers.append(tf_op("__operators__.add", "tf.__operators__.add", "conv2d_2",
                          {"y": [pooled, 0, 0], "name": None}))
    g.last = "tf.__operators__.add"
    g.add("ReLU", "re_lu_2", {"max_value": None, "negative_slope": 0.0, "threshold": 0.0})
    g.layers.append(tf_op("math.reduce_mean", "tf.math.reduce_mean", "re_lu_2",
                          {"axis": [1, 2], "keepdims": False, "name": None}))
    g.last = "tf.math.reduce_mean"
    g.add("Dense", "dense", sl.k2_dense(5), weights=sl.dense_keras(head))
    return g, forward, [12, 12, 3], ["conv2d", "conv2d_1", "conv2d_2", "dense"]


def nobuco_flatten():
    w = sl.Weights(SEED + 7)
    c1 = sl.round_params(w.conv(3, 8, 3))
    da, db = sl.round_params(w.dense(8, 5)), sl.round_params(w.dense(8 * 3 * 3, 5))

    def forward(x):
        x = F.relu(sl.conv(x, c1, 1))
        a = sl.dense(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1), da)
        p = F.max_pool2d(x, 4)
        return a + sl.dense(p.reshape(p.shape[0], -1), db)

    def op(function, name, inbound, kwargs):
        g.layers.append(tf_op(function, name, inbound, kwargs))
        g.last = name
        return name

    g = Graph("input_1", [12, 12, 3])
    g.add("ZeroPadding2D", "zero_padding2d", pad_cfg(1, "channels_last"))
    g.add("Conv2D", "conv2d", conv_cfg(8, 3, fmt="channels_last"), weights=sl.conv_keras(c1))
    relu = g.add("ReLU", "re_lu", {"max_value": None, "negative_slope": 0.0, "threshold": 0.0})
    g.add("GlobalAveragePooling2D", "global_average_pooling2d", {"data_format": "channels_last", "keepdims": True})
    op("compat.v1.transpose", "tf.compat.v1.transpose", "global_average_pooling2d", {"perm": [0, 3, 1, 2]})
    op("compat.v1.shape", "tf.compat.v1.shape", "tf.compat.v1.transpose", {"out_type": "int32", "name": None})
    g.layers.append({"class_name": "SlicingOpLambda", "name": "tf.__operators__.getitem",
                     "config": {"name": "tf.__operators__.getitem", "trainable": True, "dtype": "float32",
                                "function": "__operators__.getitem"},
                     "inbound_nodes": [["tf.compat.v1.shape", 0, 0,
                                        {"slice_spec": {"start": None, "stop": 1, "step": None}}]]})
    g.layers.append({"class_name": "SlicingOpLambda", "name": "tf.__operators__.getitem_1",
                     "config": {"name": "tf.__operators__.getitem_1", "trainable": True, "dtype": "float32",
                                "function": "__operators__.getitem"},
                     "inbound_nodes": [["tf.__operators__.getitem", 0, 0, {"slice_spec": 0}]]})
    op("reshape", "tf.reshape", "tf.compat.v1.transpose",
       {"shape": [["tf.__operators__.getitem_1", 0, 0], -1], "name": None})
    g.add("Dense", "dense", sl.k2_dense(5), weights=sl.dense_keras(da))
    g.add("MaxPooling2D", "max_pooling2d", pool_cfg(4, 4, "channels_last"), inputs=[relu])
    op("compat.v1.transpose", "tf.compat.v1.transpose_1", "max_pooling2d", {"perm": [0, 3, 1, 2]})
    op("reshape", "tf.reshape_1", "tf.compat.v1.transpose_1", {"shape": [1, -1], "name": None})
    g.add("Dense", "dense_1", sl.k2_dense(5), weights=sl.dense_keras(db))
    op("__operators__.add", "tf.__operators__.add", "dense", {"y": ["dense_1", 0, 0], "name": None})
    return g, forward, [12, 12, 3], ["conv2d", "dense", "dense_1"]


def k1_layer(cls, name, config, inputs):
    return {"class_name": cls, "name": name, "config": {"name": name, "trainable": True, **config},
            "inbound_nodes": [[[i, 0, 0] for i in inputs]] if inputs else []}


def k1_conv(filters, k, ordering, border="same", activation="linear"):
    return {"nb_filter": filters, "nb_row": k, "nb_col": k, "init": "glorot_uniform", "activation": activation,
            "border_mode": border, "subsample": [1, 1], "dim_ordering": ordering, "W_regularizer": None,
            "b_regularizer": None, "activity_regularizer": None, "W_constraint": None, "b_constraint": None,
            "bias": True}


def write_k1(path, config, layer_names, weights, backend):
    """Keras 1.2's model.save: the Keras 2 tree, weight names "<layer>_W" (":0" under TensorFlow)."""
    suffix = ":0" if backend == "tensorflow" else ""
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = b"1.2.2"
        f.attrs["backend"] = backend.encode()
        f.attrs["model_config"] = json.dumps(config).encode()
        g = f.create_group("model_weights")
        g.attrs["layer_names"] = np.array([n.encode() for n in layer_names])
        for name in layer_names:
            lg = g.create_group(name)
            ws = weights.get(name, [])
            lg.attrs["weight_names"] = np.array([f"{name}_{w}{suffix}".encode() for w, _ in ws])
            for w, value in ws:
                lg.create_dataset(f"{name}_{w}{suffix}", data=value.to(torch.float32).contiguous().numpy())


def keras1_th_theano():
    w = sl.Weights(SEED + 10)
    c1, c2, c3, c4 = (sl.round_params(p) for p in (w.conv(3, 4, 3), w.conv(4, 4, 3), w.conv(4, 2, 1), w.conv(4, 2, 3)))
    norm = sl.round_params(w.bn(4))
    head = sl.round_params(w.dense(4 * 6 * 6, 5))

    def forward(x):
        x = F.relu(torch_bn(sl.conv(x, c1, 1), norm))
        x = F.relu(sl.conv(x, c2, 1) + x)
        x = F.max_pool2d(torch.cat([sl.conv(x, c3, 0), sl.conv(x, c4, 1)], 1), 2)
        return sl.dense(x.flatten(1), head)

    def th(p):
        # (out, in, kh, kw), turned 180 degrees: Theano convolves where TensorFlow and PyTorch correlate.
        return [("W", p["w"].flip(2, 3)), ("b", p["b"])]

    layers = [k1_layer("InputLayer", "input_1", {"batch_input_shape": [None, 3, 12, 12], "input_dtype": "float32",
                                                  "sparse": False}, None),
              k1_layer("Convolution2D", "convolution2d_1", k1_conv(4, 3, "th"), ["input_1"]),
              k1_layer("BatchNormalization", "batchnormalization_1",
                       {"epsilon": BN_EPS, "mode": 0, "axis": 1, "gamma_regularizer": None, "beta_regularizer": None,
                        "momentum": 0.99}, ["convolution2d_1"]),
              k1_layer("Activation", "activation_1", {"activation": "relu"}, ["batchnormalization_1"]),
              k1_layer("Convolution2D", "convolution2d_2", k1_conv(4, 3, "th"), ["activation_1"]),
              k1_layer("Merge", "merge_1", {"mode": "sum", "concat_axis": -1, "dot_axes": -1, "output_shape": None,
                                            "output_mask": None, "mode_type": "raw", "arguments": {}},
                       ["convolution2d_2", "activation_1"]),
              k1_layer("Activation", "activation_2", {"activation": "relu"}, ["merge_1"]),
              k1_layer("Convolution2D", "convolution2d_3", k1_conv(2, 1, "th"), ["activation_2"]),
              k1_layer("Convolution2D", "convolution2d_4", k1_conv(2, 3, "th"), ["activation_2"]),
              k1_layer("Merge", "merge_2", {"mode": "concat", "concat_axis": 1, "dot_axes": -1, "output_shape": None,
                                            "output_mask": None, "mode_type": "raw", "arguments": {}},
                       ["convolution2d_3", "convolution2d_4"]),
              k1_layer("MaxPooling2D", "maxpooling2d_1", {"pool_size": [2, 2], "strides": [2, 2],
                                                           "border_mode": "valid", "dim_ordering": "th"}, ["merge_2"]),
              k1_layer("Flatten", "flatten_1", {}, ["maxpooling2d_1"]),
              k1_layer("Dense", "dense_1", {"output_dim": 5, "init": "glorot_uniform", "activation": "linear",
                                            "W_regularizer": None, "b_regularizer": None, "activity_regularizer": None,
                                            "W_constraint": None, "b_constraint": None, "bias": True,
                                            "input_dim": 144}, ["flatten_1"])]
    config = {"class_name": "Model", "config": {"name": "model_1", "layers": layers,
                                                "input_layers": [["input_1", 0, 0]],
                                                "output_layers": [["dense_1", 0, 0]]}}
    weights = {"convolution2d_1": th(c1), "convolution2d_2": th(c2), "convolution2d_3": th(c3),
               "convolution2d_4": th(c4),
               "batchnormalization_1": [("gamma", norm["gamma"]), ("beta", norm["beta"]),
                                        ("running_mean", norm["mean"]), ("running_std", norm["var"])],
               "dense_1": [("W", head["w"].t()), ("b", head["b"])]}
    names = [layer["name"] for layer in layers]
    return (config, names, weights, "theano"), forward, [3, 12, 12], \
        ["convolution2d_1", "convolution2d_2", "convolution2d_3", "convolution2d_4", "dense_1"]


def keras1_tf():
    w = sl.Weights(SEED + 11)
    c1, head = sl.round_params(w.conv(3, 4, 3)), sl.round_params(w.dense(4 * 6 * 6, 5))

    def forward(x):
        x = F.max_pool2d(F.relu(sl.conv(x, c1, 1)), 2)
        return sl.dense(x.permute(0, 2, 3, 1).flatten(1), head)

    layers = [{"class_name": "Convolution2D",
               "config": {"name": "convolution2d_1", "trainable": True, "batch_input_shape": [None, 12, 12, 3],
                          "input_dtype": "float32", **k1_conv(4, 3, "tf", activation="relu")}},
              {"class_name": "MaxPooling2D", "config": {"name": "maxpooling2d_1", "trainable": True,
                                                        "pool_size": [2, 2], "strides": [2, 2],
                                                        "border_mode": "valid", "dim_ordering": "tf"}},
              {"class_name": "Flatten", "config": {"name": "flatten_1", "trainable": True}},
              {"class_name": "Dense", "config": {"name": "dense_1", "trainable": True, "output_dim": 5,
                                                 "activation": "linear", "bias": True, "input_dim": 144}}]
    config = {"class_name": "Sequential", "config": layers}
    weights = {"convolution2d_1": [("W", c1["w"].permute(2, 3, 1, 0)), ("b", c1["b"])],
               "dense_1": [("W", head["w"].t()), ("b", head["b"])]}
    names = [layer["config"]["name"] for layer in layers]
    return (config, names, weights, "tensorflow"), forward, [12, 12, 3], ["convolution2d_1", "dense_1"]


def mmdnn_caffe_resnet():
    w = sl.Weights(SEED + 12)
    c1, c2 = sl.round_params(w.conv(3, 6, 3)), sl.round_params(w.conv(6, 6, 3))
    for p in (c1, c2):
        p["b"] = torch.zeros(6)
    n1 = sl.round_params(w.bn(6))
    s1 = sl.round_params(w.bn(6))
    head = sl.round_params(w.dense(6, 5))

    def forward(x):
        x = sl.conv(x, c1, 1)
        x = (x - n1["mean"].view(1, -1, 1, 1)) / torch.sqrt(n1["var"].view(1, -1, 1, 1) + BN_EPS)
        x = F.relu(x * s1["gamma"].view(1, -1, 1, 1) + s1["beta"].view(1, -1, 1, 1))
        x = F.relu(sl.conv(x, c2, 1) + x)
        return sl.dense(x.mean((2, 3)), head)    # the engine scores the final softmax's input

    g = Graph("data", [12, 12, 3])
    g.add("ZeroPadding2D", "conv1_input", pad_cfg(1, "channels_last"))
    g.add("Conv2D", "conv1", conv_cfg(6, 3, fmt="channels_last", use_bias=False), weights=[("kernel", c1["w"].permute(2, 3, 1, 0))])
    g.add("BatchNormalization", "bn_conv1", {**bn_cfg(3), "center": False, "scale": False},
          weights=[("moving_mean", n1["mean"]), ("moving_variance", n1["var"])])
    g.add("Scale", "scale_conv1", {"axis": -1, "center": True, "scale": True},
          weights=[("gamma", s1["gamma"]), ("beta", s1["beta"])])
    trunk = g.add("Activation", "conv1_relu", act("relu"))
    g.add("ZeroPadding2D", "res2a_branch2a_input", pad_cfg(1, "channels_last"))
    g.add("Conv2D", "res2a_branch2a", conv_cfg(6, 3, fmt="channels_last", use_bias=False),
          weights=[("kernel", c2["w"].permute(2, 3, 1, 0))])
    g.add("Add", "res2a", {}, inputs=["res2a_branch2a", trunk])
    g.add("Activation", "res2a_relu", act("relu"))
    g.add("GlobalAveragePooling2D", "pool5", {"data_format": "channels_last", "keepdims": False})
    g.add("Dense", "fc1000", sl.k2_dense(5), weights=sl.dense_keras(head))
    g.add("Activation", "prob", act("softmax"))
    return g, forward, [12, 12, 3], ["conv1", "res2a_branch2a", "fc1000"]


def vggface_resnet():
    w = sl.Weights(SEED + 13)
    c1 = sl.round_params(w.conv(3, 4, 3))
    c1["b"] = torch.zeros(4)
    n1, head = sl.round_params(w.bn(4)), sl.round_params(w.dense(4, 5))

    def forward(x):
        x = F.relu(torch_bn(sl.conv(x, c1, 1), n1))
        return sl.dense(x.mean((2, 3)), head)

    g = Graph("input_1", [12, 12, 3])
    g.add("Conv2D", "conv1/7x7_s2", {**conv_cfg(4, 3, fmt="channels_last", use_bias=False), "padding": "same"},
          weights=[("kernel", c1["w"].permute(2, 3, 1, 0))])
    g.add("BatchNormalization", "conv1/7x7_s2/bn", bn_cfg(3), weights=bn_params(n1))
    g.add("Activation", "conv1/relu_7x7_s2", act("relu"))
    g.add("GlobalAveragePooling2D", "avg_pool", {"data_format": "channels_last", "keepdims": False})
    g.add("Dense", "classifier", sl.k2_dense(5), weights=sl.dense_keras(head))
    return g, forward, [12, 12, 3], ["conv1/7x7_s2", "classifier"]


def write_weights_only(path, config, weights):
    """Keras 2's save_weights h5: the model_weights tree at the root, no model_config."""
    names = [layer["name"] for layer in config["config"]["layers"]]
    with h5py.File(path, "w") as f:
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = sl.KERAS_VERSION.encode()
        f.attrs["layer_names"] = np.array([n.encode() for n in names])
        for name in names:
            lg = f.require_group(name)
            ws = weights.get(name, [])
            lg.attrs["weight_names"] = np.array([w.encode() for w, _ in ws]) if ws else np.asarray([])
            for w, value in ws:
                lg.create_dataset(w, data=value.to(torch.float32).contiguous().numpy())


CM_MODULE = "classification_models.models._common_blocks"


def classification_models_seresnet():
    w = sl.Weights(SEED + 8)
    bn_data = sl.round_params(w.bn(3))
    stem, sq, ex = sl.round_params(w.conv(3, 8, 3)), sl.round_params(w.conv(8, 2, 1)), sl.round_params(w.conv(2, 8, 1))
    head = sl.round_params(w.dense(8, 5))
    bn_data["gamma"] = torch.ones(3)
    sq["b"] = sq["b"] + 0.5        # no squeeze channel dead on every image (its output SQNR would be 0 / 0)

    def forward(x):
        x = F.relu(sl.conv(torch_bn(x, bn_data), stem, 1))
        s = torch.sigmoid(sl.conv(F.relu(sl.conv(x.mean((2, 3), keepdim=True), sq, 0)), ex, 0))
        return sl.dense((x * s).mean((2, 3)), head)

    g = Graph("data", [12, 12, 3])
    g.add("BatchNormalization", "bn_data", {**bn_cfg(3), "scale": False},
          weights=[(k, v) for k, v in bn_params(bn_data) if k != "gamma"])
    g.add("ZeroPadding2D", "zero_padding2d", pad_cfg(1, "channels_last"))
    trunk = g.add("Conv2D", "conv0", {**conv_cfg(8, 3, fmt="channels_last"), "activation": "relu"},
                  weights=sl.conv_keras(stem))
    g.add("GlobalAveragePooling2D", "global_average_pooling2d", {"data_format": "channels_last", "keepdims": False})
    g.add("Lambda", "lambda", lambda_config(expand_dims, CM_MODULE, {"channels_axis": 3}))
    g.add("Conv2D", "conv2d", conv_cfg(2, 1, fmt="channels_last"), weights=sl.conv_keras(sq))
    g.add("Activation", "activation", act("relu"))
    g.add("Conv2D", "conv2d_1", conv_cfg(8, 1, fmt="channels_last"), weights=sl.conv_keras(ex))
    g.add("Activation", "activation_1", act("sigmoid"))
    g.add("Multiply", "multiply", {}, inputs=[trunk, "activation_1"])
    g.add("GlobalAveragePooling2D", "pool1", {"data_format": "channels_last", "keepdims": False})
    g.add("Dense", "fc1", sl.k2_dense(5), weights=sl.dense_keras(head))
    return g, forward, [12, 12, 3], ["conv0", "conv2d", "conv2d_1", "fc1"]


def classification_models_resnext():
    w = sl.Weights(SEED + 9)
    ga, gb, head = sl.round_params(w.conv(2, 2, 3)), sl.round_params(w.conv(1, 2, 3)), sl.round_params(w.dense(4, 5))
    g = Graph("data", [12, 12, 3])
    g.add("Lambda", "lambda", lambda_config(slice_tensor, CM_MODULE, {"start": 0, "stop": 2, "axis": 3}))
    g.add("Conv2D", "conv2d", conv_cfg(2, 3, fmt="channels_last"), weights=sl.conv_keras(ga))
    g.add("Lambda", "lambda_1", lambda_config(slice_tensor, CM_MODULE, {"start": 2, "stop": 3, "axis": 3}),
          inputs=["data"])
    g.add("Conv2D", "conv2d_1", conv_cfg(2, 3, fmt="channels_last"), weights=sl.conv_keras(gb))
    g.add("Concatenate", "concatenate", {"axis": 3}, inputs=["conv2d", "conv2d_1"])
    g.add("GlobalAveragePooling2D", "pool1", {"data_format": "channels_last", "keepdims": False})
    g.add("Dense", "fc1", sl.k2_dense(5), weights=sl.dense_keras(head))
    return g


def onnx2keras_unflatten():
    w = sl.Weights(SEED + 14)
    c1, d1, c2, d2 = (sl.round_params(w.conv(3, 4, 3)), sl.round_params(w.dense(4, 16)),
                      sl.round_params(w.conv(4, 4, 1)), sl.round_params(w.dense(4, 5)))
    g = Graph("input.1", [3, 12, 12])
    g.add("Conv2D", "11", conv_cfg(4, 3), weights=sl.conv_keras(c1))
    g.add("GlobalAveragePooling2D", "12", {"data_format": "channels_first", "keepdims": False})
    g.add("Dense", "13", sl.k2_dense(16), weights=sl.dense_keras(d1))
    g.add("Reshape", "14", {"target_shape": [4, 2, 2]})
    g.add("Conv2D", "15", conv_cfg(4, 1), weights=sl.conv_keras(c2))
    g.add("GlobalAveragePooling2D", "16", {"data_format": "channels_first", "keepdims": False})
    g.add("Dense", "17", sl.k2_dense(5), weights=sl.dense_keras(d2))
    return g


def nobuco_mobilenet():
    w = sl.Weights(SEED + 15)
    expand, project = sl.round_params(w.conv(3, 12, 1)), sl.round_params(w.conv(12, 3, 1))
    dw = {"w": sl.f32(w.normal(12, 1, 3, 3, scale=0.5)), "b": sl.f32(w.normal(12, scale=0.1))}
    n1, n2, n3 = (sl.round_params(w.bn(c)) for c in (12, 12, 3))
    head = sl.round_params(w.dense(3, 5))

    def forward(x):
        y = F.hardtanh(torch_bn(sl.conv(x, expand, 0), n1), 0.0, 6.0)
        y = F.hardtanh(torch_bn(F.conv2d(y, dw["w"], dw["b"], padding=1, groups=12), n2), 0.0, 6.0)
        x = torch_bn(sl.conv(y, project, 0), n3) + x
        x = F.hardswish(x)
        return sl.dense(x.mean((2, 3)), head)

    def op(function, name, inbound, kwargs):
        g.layers.append(tf_op(function, name, inbound, kwargs))
        g.last = name
        return name

    g = Graph("input_1", [12, 12, 3])
    g.add("Conv2D", "conv2d", conv_cfg(12, 1, fmt="channels_last"), weights=sl.conv_keras(expand))
    g.add("BatchNormalization", "batch_normalization", bn_cfg(3), weights=bn_params(n1))
    op("clip_by_value", "tf.clip_by_value", "batch_normalization",
       {"clip_value_min": 0.0, "clip_value_max": 6.0, "name": None})
    g.add("ZeroPadding2D", "zero_padding2d", pad_cfg(1, "channels_last"))
    g.add("DepthwiseConv2D", "depthwise_conv2d", {"kernel_size": [3, 3], "strides": [1, 1], "padding": "valid",
                                                  "data_format": "channels_last", "dilation_rate": [1, 1],
                                                  "depth_multiplier": 1, "activation": "linear", "use_bias": True},
          weights=[("depthwise_kernel", dw["w"].permute(2, 3, 0, 1)), ("bias", dw["b"])])
    g.add("BatchNormalization", "batch_normalization_1", bn_cfg(3), weights=bn_params(n2))
    op("clip_by_value", "tf.clip_by_value_1", "batch_normalization_1",
       {"clip_value_min": 0.0, "clip_value_max": 6.0, "name": None})
    g.add("Conv2D", "conv2d_1", conv_cfg(3, 1, fmt="channels_last"), weights=sl.conv_keras(project))
    g.add("BatchNormalization", "batch_normalization_2", bn_cfg(3), weights=bn_params(n3))
    x = op("__operators__.add", "tf.__operators__.add", "batch_normalization_2", {"y": ["input_1", 0, 0], "name": None})
    op("math.truediv", "tf.math.truediv", x, {"y": 6.0, "name": None})
    op("__operators__.add", "tf.__operators__.add_1", "tf.math.truediv", {"y": 0.5, "name": None})
    op("clip_by_value", "tf.clip_by_value_2", "tf.__operators__.add_1",
       {"clip_value_min": 0.0, "clip_value_max": 1.0, "name": None})
    op("math.multiply", "tf.math.multiply", x, {"y": ["tf.clip_by_value_2", 0, 0], "name": None})
    op("math.reduce_mean", "tf.math.reduce_mean", "tf.math.multiply", {"axis": [1, 2], "keepdims": False, "name": None})
    g.add("Dense", "dense", sl.k2_dense(5), weights=sl.dense_keras(head))
    return g, forward, [12, 12, 3], ["conv2d", "depthwise_conv2d", "conv2d_1", "dense"]


def onnx2keras_lambda():
    w = sl.Weights(SEED + 5)
    c1, d1 = sl.round_params(w.conv(3, 4, 3)), sl.round_params(w.dense(2, 5))
    g = Graph("input.1", [3, 12, 12])
    g.add("Conv2D", "5", conv_cfg(4, 3), weights=sl.conv_keras(c1))
    g.add("Lambda", "6", lambda_config(slice_target_layer, "onnx2keras.reshape_layers"))
    g.add("GlobalAveragePooling2D", "7", {"data_format": "channels_first", "keepdims": False})
    g.add("Dense", "8", sl.k2_dense(5), weights=sl.dense_keras(d1))
    return g


# ---- constant operands broadcast as NumPy and TensorFlow do -------------------------------
#
# PyTorch's input normalisation (x - mean) / std, its mean and std (C, 1, 1)
# or (1, C, 1, 1), becomes TFOpLambdas whose "y" is the constant as nested
# lists of that shape. nobuco (node_converters/math.py) writes "input -
# other" on its channel-ordered operands, so a channels_last model carries
# (C,), (1, 1, C) or (1, 1, 1, C) constants; a tf.keras model written
# channels_first (or a hand-written one after a converter) carries (C, 1, 1).
# onnx2keras turns an ONNX constant into a Lambda (utils.ensure_tf_type),
# which the engine refuses anyway. The engine's affine layer scales
# channels: a constant that would broadcast along another axis is refused.

def constant(values, shape):
    """A constant operand as tf.keras serialises it: float32 values as nested lists of @shape."""
    return sl.f32(torch.as_tensor(values, dtype=torch.float64)).reshape(shape).tolist()


def keras_channels_first_normalize():
    w = sl.Weights(SEED + 20)
    mean, std = sl.f32(w.normal(3, scale=0.3)), sl.f32(0.5 + torch.rand(3, generator=w.gen))
    scale, shift = sl.f32(1.0 + w.normal(4, scale=0.3)), sl.f32(w.normal(4, scale=0.2))
    per_element = sl.f32(1.0 + w.normal(4 * 3 * 3, scale=0.5))
    c1, head = sl.round_params(w.conv(3, 4, 3)), sl.round_params(w.dense(4 * 3 * 3, 5))

    def forward(x):
        x = (x - mean.view(3, 1, 1)) / std.view(3, 1, 1)
        x = F.relu(sl.conv(x, c1, 1))
        x = x * scale.view(4, 1, 1) + shift.view(1, 4, 1, 1)
        x = F.max_pool2d(F.max_pool2d(x, 2), 2)
        return sl.dense(x.flatten(1) * per_element, head)   # PyTorch's (C, H, W) element order

    def op(function, name, inbound, y):
        g.layers.append(tf_op(function, name, inbound, {"y": y, "name": None}))
        g.last = name
        return name

    g = Graph("image", [3, 12, 12])
    op("math.subtract", "tf.math.subtract", "image", constant(mean, (3, 1, 1)))
    op("math.truediv", "tf.math.truediv", "tf.math.subtract", constant(std, (3, 1, 1)))
    g.add("Conv2D", "conv", {**conv_cfg(4, 3), "padding": "same", "activation": "relu"}, weights=sl.conv_keras(c1))
    op("math.multiply", "tf.math.multiply", "conv", constant(scale, (4, 1, 1)))
    op("__operators__.add", "tf.__operators__.add", "tf.math.multiply", constant(shift, (1, 4, 1, 1)))
    g.add("MaxPooling2D", "pool", pool_cfg(2, 2))
    g.add("MaxPooling2D", "pool_1", pool_cfg(2, 2))
    g.add("Reshape", "flat", {"target_shape": [-1]})
    op("math.multiply", "tf.math.multiply_1", "flat", constant(per_element, (36,)))
    g.add("Dense", "logits", sl.k2_dense(5), weights=sl.dense_keras(head))
    return g, forward, [3, 12, 12], ["conv", "logits"]


def nobuco_normalize():
    w = sl.Weights(SEED + 21)
    mean, std = sl.f32(w.normal(3, scale=0.3)), sl.f32(0.5 + torch.rand(3, generator=w.gen))
    scale, shift = sl.f32(1.0 + w.normal(4, scale=0.3)), sl.f32(w.normal(4, scale=0.2))
    c1, head = sl.round_params(w.conv(3, 4, 3)), sl.round_params(w.dense(4, 5))

    def forward(x):
        x = (x - mean.view(3, 1, 1)) / std.view(3, 1, 1)
        x = sl.conv(x, c1, 1) * scale.view(1, 4, 1, 1) + shift.view(4, 1, 1)
        return sl.dense(F.relu(x).mean((2, 3)), head)

    def op(function, name, inbound, kwargs):
        g.layers.append(tf_op(function, name, inbound, {**kwargs, "name": None}))
        g.last = name
        return name

    g = Graph("input_1", [12, 12, 3])
    op("math.subtract", "tf.math.subtract", "input_1", {"y": constant(mean, (3,))})
    op("math.truediv", "tf.math.truediv", "tf.math.subtract", {"y": constant(std, (1, 1, 3))})
    g.add("ZeroPadding2D", "zero_padding2d", pad_cfg(1, "channels_last"))
    g.add("Conv2D", "conv2d", conv_cfg(4, 3, fmt="channels_last"), weights=sl.conv_keras(c1))
    op("math.multiply", "tf.math.multiply", "conv2d", {"y": constant(scale, (1, 1, 1, 4))})
    op("__operators__.add", "tf.__operators__.add", "tf.math.multiply", {"y": constant(shift, (4,))})
    g.add("ReLU", "re_lu", {"max_value": None, "negative_slope": 0.0, "threshold": 0.0})
    op("math.reduce_mean", "tf.math.reduce_mean", "re_lu", {"axis": [1, 2], "keepdims": False})
    g.add("Dense", "dense", sl.k2_dense(5), weights=sl.dense_keras(head))
    return g, forward, [12, 12, 3], ["conv2d", "dense"]


def normalize_no_format():
    """No layer has a data_format: the (C, 1, 1) constants say the input is (C, H, W)."""
    w = sl.Weights(SEED + 22)
    mean, std = sl.f32(w.normal(3, scale=0.3)), sl.f32(0.5 + torch.rand(3, generator=w.gen))
    head = sl.round_params(w.dense(3 * 12 * 12, 5))

    def forward(x):
        x = (x - mean.view(1, 3, 1, 1)) / std.view(3, 1, 1)
        return sl.dense(x.flatten(1), head)

    g = Graph("image", [3, 12, 12])
    g.layers.append(tf_op("math.subtract", "tf.math.subtract", "image",
                          {"y": constant(mean, (1, 3, 1, 1)), "name": None}))
    g.layers.append(tf_op("math.truediv", "tf.math.truediv", "tf.math.subtract",
                          {"y": constant(std, (3, 1, 1)), "name": None}))
    g.last = "tf.math.truediv"
    g.add("Reshape", "flat", {"target_shape": [-1]})
    g.add("Dense", "logits", sl.k2_dense(5), weights=sl.dense_keras(head))
    return g, forward, [3, 12, 12], ["logits"]


def mixed_formats():
    """channels_first layers, a Permute to (H, W, C), then channels_last ones: the input is (C, H, W)."""
    w = sl.Weights(SEED + 23)
    c1, c2, head = sl.round_params(w.conv(3, 4, 3)), sl.round_params(w.conv(4, 4, 3)), sl.round_params(w.dense(4, 5))

    def forward(x):
        x = F.relu(sl.conv(x, c1, 1))
        x = F.relu(sl.conv(x, c2, 1))
        return sl.dense(x.mean((2, 3)), head)

    g = Graph("image", [3, 12, 12])
    g.add("Conv2D", "conv", {**conv_cfg(4, 3), "padding": "same", "activation": "relu"}, weights=sl.conv_keras(c1))
    g.add("Permute", "to_hwc", {"dims": [2, 3, 1]})
    g.add("Conv2D", "conv_1", {**conv_cfg(4, 3, fmt="channels_last"), "padding": "same", "activation": "relu"},
          weights=sl.conv_keras(c2))
    g.add("GlobalAveragePooling2D", "gap", {"data_format": "channels_last", "keepdims": False})
    g.add("Dense", "logits", sl.k2_dense(5), weights=sl.dense_keras(head))
    return g, forward, [3, 12, 12], ["conv", "conv_1", "logits"]


def refused_constant(shape):
    """A (12, 12, 12) channels_first map times a constant of @shape (refused: not per channel)."""
    w = sl.Weights(SEED + 24)
    c1, head = sl.round_params(w.conv(3, 12, 1)), sl.round_params(w.dense(12, 5))
    n = int(np.prod(shape))
    g = Graph("image", [3, 12, 12])
    g.add("Conv2D", "conv", conv_cfg(12, 1), weights=sl.conv_keras(c1))
    g.layers.append(tf_op("math.multiply", "tf.math.multiply", "conv",
                          {"y": constant(1.0 + w.normal(n, scale=0.1), shape), "name": None}))
    g.last = "tf.math.multiply"
    g.add("GlobalAveragePooling2D", "gap", {"data_format": "channels_first", "keepdims": False})
    g.add("Dense", "logits", sl.k2_dense(5), weights=sl.dense_keras(head))
    return g


# ---- tf.maximum and tf.minimum by a constant -------------------------------------------------
#
# nobuco writes torch.clamp (x, min=a) as tf.math.maximum (x, a), (x, max=b)
# as tf.math.minimum and both as tf.clip_by_value; torch.maximum (x, t) of a
# tensor keeps the tensor. The bounds below (0.5, 0.375, -0.25, 0.25) are
# float32 numbers and cut through the values of the 16 test images, so a
# bound read wrong or dropped changes the logits.

def nobuco_bounds():
    w = sl.Weights(SEED + 25)
    c1, c2, c3, c4 = (sl.round_params(p) for p in (w.conv(3, 8, 3), w.conv(8, 8, 3), w.conv(8, 8, 3), w.conv(8, 8, 1)))
    scale = sl.f32(1.0 + w.normal(8, scale=0.3))
    head = sl.round_params(w.dense(8, 5))

    def forward(x):
        a = torch.clamp(sl.conv(x, c1, 1), min=0.0)
        b = torch.clamp(sl.conv(a, c2, 1), 0.0, 0.5)
        c = sl.conv(b, c3, 1) * scale.view(1, 8, 1, 1) + 0.125
        c = torch.clamp(torch.clamp(c, max=0.375), min=-0.25)
        d = torch.clamp(sl.conv(c, c4, 0), max=0.25)
        e = F.hardtanh(c * 2.0, -0.5, 0.5)
        return sl.dense(torch.maximum(d, e).mean((2, 3)), head)

    def op(function, name, inbound, kwargs):
        g.layers.append(tf_op(function, name, inbound, {**kwargs, "name": None}))
        g.last = name
        return name

    g = Graph("input_1", [12, 12, 3])
    g.add("Conv2D", "conv2d", {**conv_cfg(8, 3, fmt="channels_last"), "padding": "same"}, weights=sl.conv_keras(c1))
    op("math.maximum", "tf.math.maximum", "conv2d", {"y": 0.0})
    g.add("Conv2D", "conv2d_1", {**conv_cfg(8, 3, fmt="channels_last"), "padding": "same"}, weights=sl.conv_keras(c2))
    op("math.maximum", "tf.math.maximum_1", "conv2d_1", {"y": 0.0})
    op("math.minimum", "tf.math.minimum", "tf.math.maximum_1", {"y": 0.5})
    g.add("Conv2D", "conv2d_2", {**conv_cfg(8, 3, fmt="channels_last"), "padding": "same"}, weights=sl.conv_keras(c3))
    op("math.multiply", "tf.math.multiply", "conv2d_2", {"y": constant(scale, (1, 1, 8))})
    op("__operators__.add", "tf.__operators__.add", "tf.math.multiply", {"y": constant([0.125], (1, 1, 1))})
    op("math.minimum", "tf.math.minimum_1", "tf.__operators__.add", {"y": 0.375})
    c = op("math.maximum", "tf.math.maximum_2", "tf.math.minimum_1", {"y": -0.25})
    g.add("Conv2D", "conv2d_3", conv_cfg(8, 1, fmt="channels_last"), weights=sl.conv_keras(c4))
    d = op("math.minimum", "tf.math.minimum_2", "conv2d_3", {"y": constant([0.25] * 8, (1, 1, 8))})
    op("math.multiply", "tf.math.multiply_1", c, {"y": 2.0})
    e = op("clip_by_value", "tf.clip_by_value", "tf.math.multiply_1", {"clip_value_min": -0.5, "clip_value_max": 0.5})
    op("math.maximum", "tf.math.maximum_3", d, {"y": [e, 0, 0]})
    op("math.reduce_mean", "tf.math.reduce_mean", "tf.math.maximum_3", {"axis": [1, 2], "keepdims": False})
    g.add("Dense", "dense", sl.k2_dense(5), weights=sl.dense_keras(head))
    return g, forward, [12, 12, 3], ["conv2d", "conv2d_1", "conv2d_2", "conv2d_3", "dense"]


def keras_channels_first_bounds():
    w = sl.Weights(SEED + 26)
    c1, c2, c3 = (sl.round_params(p) for p in (w.conv(3, 6, 3), w.conv(6, 6, 3), w.conv(6, 6, 1)))
    scale = sl.f32(1.0 + w.normal(6, scale=0.3))
    head = sl.round_params(w.dense(6, 5))

    def forward(x):
        x = torch.maximum(sl.conv(x, c1, 1), torch.zeros(6, 1, 1))
        x = x * scale.view(6, 1, 1) + torch.full((1, 1, 1), -0.375)
        x = torch.maximum(torch.minimum(x, torch.full((6, 1, 1), 0.375)), torch.full((1, 1, 1), -0.25))
        x = torch.minimum(sl.conv(x, c2, 1), sl.conv(x, c3, 0))
        return sl.dense(x.mean((2, 3)), head)

    def op(function, name, inbound, y):
        g.layers.append(tf_op(function, name, inbound, {"y": y, "name": None}))
        g.last = name
        return name

    g = Graph("image", [3, 12, 12])
    g.add("Conv2D", "conv", {**conv_cfg(6, 3), "padding": "same"}, weights=sl.conv_keras(c1))
    op("math.maximum", "tf.math.maximum", "conv", constant([0.0] * 6, (6, 1, 1)))
    op("math.multiply", "tf.math.multiply", "tf.math.maximum", constant(scale, (6, 1, 1)))
    op("__operators__.add", "tf.__operators__.add", "tf.math.multiply", constant([-0.375], (1, 1, 1)))
    op("math.minimum", "tf.math.minimum", "tf.__operators__.add", constant([0.375] * 6, (6, 1, 1)))
    x = op("math.maximum", "tf.math.maximum_1", "tf.math.minimum", constant([-0.25], (1, 1, 1)))
    a = g.add("Conv2D", "conv_1", {**conv_cfg(6, 3), "padding": "same"}, weights=sl.conv_keras(c2), inputs=[x])
    b = g.add("Conv2D", "conv_2", conv_cfg(6, 1), weights=sl.conv_keras(c3), inputs=[x])
    op("math.minimum", "tf.math.minimum_1", a, [b, 0, 0])
    g.add("GlobalAveragePooling2D", "gap", {"data_format": "channels_first", "keepdims": False})
    g.add("Dense", "logits", sl.k2_dense(5), weights=sl.dense_keras(head))
    return g, forward, [3, 12, 12], ["conv", "conv_1", "conv_2", "logits"]


def tf_op_layer(op, name, inbound, constants):
    """TF 2.0-2.3's TensorFlowOpLayer: "tf_op_layer_<name>" to its readers, the graph operation in node_def."""
    return {"class_name": "TensorFlowOpLayer", "name": "tf_op_layer_" + name,
            "config": {"name": name, "trainable": True, "dtype": "float32",
                       "node_def": {"name": name, "op": op, "input": [inbound + "/BiasAdd", name + "/y"],
                                    "attr": {"T": {"type": "DT_FLOAT"}}},
                       "constants": constants},
            "inbound_nodes": [[[inbound, 0, 0, {}]]]}


def tf23_bounds():
    w = sl.Weights(SEED + 27)
    c1, c2 = sl.round_params(w.conv(3, 8, 3)), sl.round_params(w.conv(8, 8, 3))
    head = sl.round_params(w.dense(8, 5))

    def forward(x):
        x = torch.clamp(sl.conv(x, c1, 1), 0.0, 0.5)
        x = torch.clamp(sl.conv(x, c2, 1), min=-0.25)
        return sl.dense(x.mean((2, 3)), head)

    g = Graph("input_1", [12, 12, 3])
    g.add("Conv2D", "conv2d", {**conv_cfg(8, 3, fmt="channels_last"), "padding": "same"}, weights=sl.conv_keras(c1))
    g.layers.append(tf_op_layer("Maximum", "Maximum", "conv2d", {"1": 0.0}))
    g.layers.append(tf_op_layer("Minimum", "Minimum", "tf_op_layer_Maximum", {"1": 0.5}))
    g.add("Conv2D", "conv2d_1", {**conv_cfg(8, 3, fmt="channels_last"), "padding": "same"}, weights=sl.conv_keras(c2),
          inputs=["tf_op_layer_Minimum"])
    g.layers.append(tf_op_layer("Maximum", "Maximum_1", "conv2d_1", {"1": -0.25}))
    g.last = "tf_op_layer_Maximum_1"
    g.add("GlobalAveragePooling2D", "global_average_pooling2d", {"data_format": "channels_last", "keepdims": False})
    g.add("Dense", "dense", sl.k2_dense(5), weights=sl.dense_keras(head))
    return g, forward, [12, 12, 3], ["conv2d", "conv2d_1", "dense"]


def keras3_bounds():
    """Keras 3: keras.ops.maximum / minimum are operations (module keras.src.ops.numpy) in the functional config,
    their number or NumPy array arguments serialised in "args"; operations have no weights group."""
    w = sl.Weights(SEED + 28)
    c1, c2, c3 = (sl.round_params(p) for p in (w.conv(3, 8, 3), w.conv(8, 8, 3), w.conv(8, 8, 1)))
    head = sl.round_params(w.dense(8, 5))

    def forward(x):
        a = torch.maximum(sl.conv(x, c1, 1), torch.tensor(0.0))
        b = torch.minimum(torch.maximum(sl.conv(a, c2, 1), torch.tensor(-0.25)), torch.full((1, 8, 1, 1), 0.375))  # NHWC (1, 1, 1, 8)
        return sl.dense(torch.maximum(b, sl.conv(a, c3, 0)).mean((2, 3)), head)

    def operation(cls, name, args):
        return {"module": "keras.src.ops.numpy", "class_name": cls, "config": {"name": name},
                "registered_name": cls, "name": name, "inbound_nodes": [{"args": args, "kwargs": {}}]}

    def tensor(name):
        return sl.k3_tensor(name, 0)

    def layer(entry, inbound):
        return sl.k3_calls(entry, [[(inbound, 0)]])

    numpy_constant = {"class_name": "__numpy__", "config": {"value": constant([0.375] * 8, (1, 1, 1, 8)),
                                                            "dtype": "float32"}}
    layers = [sl.k3_input("input_layer", [12, 12, 3]),
              layer(sl.k3_conv("conv2d", 8, 3), "input_layer"),
              operation("Maximum", "maximum", [tensor("conv2d"), 0.0]),
              layer(sl.k3_conv("conv2d_1", 8, 3), "maximum"),
              operation("Maximum", "maximum_1", [tensor("conv2d_1"), -0.25]),
              operation("Minimum", "minimum", [tensor("maximum_1"), numpy_constant]),
              layer(sl.k3_conv("conv2d_2", 8, 1, padding="valid"), "maximum"),
              operation("Maximum", "maximum_2", [tensor("minimum"), tensor("conv2d_2")]),
              layer(k3.layer("GlobalAveragePooling2D", "global_average_pooling2d", data_format="channels_last",
                             keepdims=False), "maximum_2"),
              layer(k3.layer("Dense", "dense", units=5, activation="linear", use_bias=True), "global_average_pooling2d")]
    config = sl.k3_functional("functional", layers, "input_layer", ("dense", 0))
    variables = {"conv2d": sl.conv_keras(c1), "conv2d_1": sl.conv_keras(c2), "conv2d_2": sl.conv_keras(c3),
                 "dense": sl.dense_keras(head)}
    return config, variables, forward, [12, 12, 3], ["conv2d", "conv2d_1", "conv2d_2", "dense"]


# ---- nobuco's torch.cat, unary minus and mean -------------------------------------------------

def tf_op_list(function, name, inbound, kwargs):
    """A TFOpLambda whose first argument is a list of tensors: tf.keras repeats the call's kwargs on every entry."""
    return {"class_name": "TFOpLambda", "name": name,
            "config": {"name": name, "trainable": True, "dtype": "float32", "function": function},
            "inbound_nodes": [[[i, 0, 0, kwargs] for i in inbound]]}


def nobuco_inception():
    w = sl.Weights(SEED + 29)
    stem, b1, b2, b3 = (sl.round_params(p) for p in (w.conv(3, 8, 3), w.conv(8, 4, 1), w.conv(8, 4, 3), w.conv(8, 3, 1)))
    head = sl.round_params(w.dense(11, 5))

    def forward(x):
        x = F.silu(sl.conv(x, stem, 1))
        y = torch.cat([F.relu(sl.conv(x, b1, 0)), F.relu(sl.conv(x, b2, 1)), -sl.conv(x, b3, 0)], 1)
        return sl.dense(y.mean((2, 3), keepdim=True).flatten(1), head)

    g = Graph("input_1", [12, 12, 3])
    g.add("Conv2D", "conv2d", {**conv_cfg(8, 3, fmt="channels_last"), "padding": "same"}, weights=sl.conv_keras(stem))
    g.layers.append(tf_op("nn.silu", "tf.nn.silu", "conv2d", {"beta": 1.0, "name": None}))
    g.add("Conv2D", "conv2d_1", conv_cfg(4, 1, fmt="channels_last"), weights=sl.conv_keras(b1), inputs=["tf.nn.silu"])
    a = g.add("ReLU", "re_lu", {"max_value": None, "negative_slope": 0.0, "threshold": 0.0})
    g.add("Conv2D", "conv2d_2", {**conv_cfg(4, 3, fmt="channels_last"), "padding": "same"}, weights=sl.conv_keras(b2),
          inputs=["tf.nn.silu"])
    b = g.add("ReLU", "re_lu_1", {"max_value": None, "negative_slope": 0.0, "threshold": 0.0})
    g.add("Conv2D", "conv2d_3", conv_cfg(3, 1, fmt="channels_last"), weights=sl.conv_keras(b3), inputs=["tf.nn.silu"])
    g.layers.append(tf_op("math.negative", "tf.math.negative", "conv2d_3", {"name": None}))
    g.layers.append(tf_op_list("concat", "tf.concat", [a, b, "tf.math.negative"], {"axis": 3, "name": "concat"}))
    g.layers.append(tf_op("math.reduce_mean", "tf.math.reduce_mean", "tf.concat",
                          {"axis": [-3, -2], "keepdims": True, "name": None}))
    g.last = "tf.math.reduce_mean"
    g.add("Flatten", "flatten", {"data_format": "channels_last"})
    g.add("Dense", "dense", sl.k2_dense(5), weights=sl.dense_keras(head))
    return g, forward, [12, 12, 3], ["conv2d", "conv2d_1", "conv2d_2", "conv2d_3", "dense"]


def nobuco_relu_pool():
    w = sl.Weights(SEED + 31)
    c1, c2 = sl.round_params(w.conv(3, 8, 3)), sl.round_params(w.conv(8, 8, 3))
    head = sl.round_params(w.dense(8, 5))

    def forward(x):
        x = F.max_pool2d(F.relu(sl.conv(x, c1, 1)), 3, 2, padding=1)
        x = F.max_pool2d(torch.clamp(sl.conv(x, c2, 1), 0.0, 0.5), 3, 1, padding=1)
        return sl.dense(x.mean((2, 3)), head)

    def op(function, name, inbound, kwargs):
        g.layers.append(tf_op(function, name, inbound, {**kwargs, "name": None}))
        g.last = name
        return name

    pad = {"paddings": [[0, 0], [1, 1], [1, 1], [0, 0]], "constant_values": float("-inf")}
    g = Graph("input_1", [12, 12, 3])
    g.add("Conv2D", "conv2d", {**conv_cfg(8, 3, fmt="channels_last"), "padding": "same"}, weights=sl.conv_keras(c1))
    op("nn.relu", "tf.nn.relu", "conv2d", {})
    op("compat.v1.pad", "tf.compat.v1.pad", "tf.nn.relu", pad)
    g.add("MaxPooling2D", "max_pooling2d", pool_cfg(3, 2, "channels_last"))
    g.add("Conv2D", "conv2d_1", {**conv_cfg(8, 3, fmt="channels_last"), "padding": "same"}, weights=sl.conv_keras(c2))
    op("math.maximum", "tf.math.maximum", "conv2d_1", {"y": 0.0})
    op("math.minimum", "tf.math.minimum", "tf.math.maximum", {"y": 0.5})
    op("compat.v1.pad", "tf.compat.v1.pad_1", "tf.math.minimum", pad)
    g.add("MaxPooling2D", "max_pooling2d_1", pool_cfg(3, 1, "channels_last"))
    op("math.reduce_mean", "tf.math.reduce_mean", "max_pooling2d_1", {"axis": [1, 2], "keepdims": False})
    g.add("Dense", "dense", sl.k2_dense(5), weights=sl.dense_keras(head))
    return g, forward, [12, 12, 3], ["conv2d", "conv2d_1", "dense"]


def tf_nn_pool():
    w = sl.Weights(SEED + 32)
    c1, c2 = sl.round_params(w.conv(3, 8, 3)), sl.round_params(w.conv(8, 8, 3))
    head = sl.round_params(w.dense(8 * 3 * 3, 5))

    def forward(x):
        x = sl.conv(x, c1, 1)                                           # no ReLU: -inf and zero padding differ
        x = F.max_pool2d(F.pad(x, (0, 1, 0, 1), value=float("-inf")), 3, 2)
        x = F.avg_pool2d(sl.conv(x, c2, 1), 3, 1, padding=1, count_include_pad=False)
        x = F.avg_pool2d(x, 2, 2)
        return sl.dense(x.permute(0, 2, 3, 1).flatten(1), head)        # Keras flattens (H, W, C)

    def op(function, name, inbound, kwargs):
        g.layers.append(tf_op(function, name, inbound, {**kwargs, "name": None}))
        g.last = name
        return name

    g = Graph("input_1", [12, 12, 3])
    g.add("Conv2D", "conv2d", {**conv_cfg(8, 3, fmt="channels_last"), "padding": "same"}, weights=sl.conv_keras(c1))
    op("nn.max_pool2d", "tf.nn.max_pool2d", "conv2d", {"ksize": 3, "strides": 2, "padding": "SAME"})
    g.add("Conv2D", "conv2d_1", {**conv_cfg(8, 3, fmt="channels_last"), "padding": "same"}, weights=sl.conv_keras(c2))
    op("nn.avg_pool2d", "tf.nn.avg_pool2d", "conv2d_1",
       {"ksize": [1, 3, 3, 1], "strides": [1, 1, 1, 1], "padding": "SAME", "data_format": "NHWC"})
    op("nn.avg_pool2d", "tf.nn.avg_pool2d_1", "tf.nn.avg_pool2d", {"ksize": [2, 2], "strides": [2], "padding": "VALID"})
    g.add("Flatten", "flatten", {"data_format": "channels_last"})
    g.add("Dense", "dense", sl.k2_dense(5), weights=sl.dense_keras(head))
    return g, forward, [12, 12, 3], ["conv2d", "conv2d_1", "dense"]


def onnx2keras_hardtanh():
    w = sl.Weights(SEED + 33)
    c1 = sl.round_params(w.conv(3, 6, 3))
    head = sl.round_params(w.dense(6, 5))

    def forward(x):
        return sl.dense(F.hardtanh(sl.conv(x, c1, 1), -0.5, 0.5).mean((2, 3)), head)

    g = Graph("input.1", [3, 12, 12])
    g.add("ZeroPadding2D", "5_pad", pad_cfg(1))
    g.add("Conv2D", "5", conv_cfg(6, 3), weights=sl.conv_keras(c1))
    g.add("Lambda", "6", lambda_config(clip_target_layer, "onnx2keras.operation_layers"))
    g.add("GlobalAveragePooling2D", "7", {"data_format": "channels_first", "keepdims": False})
    g.add("Dense", "8", sl.k2_dense(5), weights=sl.dense_keras(head))
    return g, forward, [3, 12, 12], ["5", "8"]


def keras_channels_first_concat():
    w = sl.Weights(SEED + 30)
    c1, c2 = sl.round_params(w.conv(3, 6, 3)), sl.round_params(w.conv(3, 4, 1))
    head = sl.round_params(w.dense(10, 5))

    def forward(x):
        y = torch.cat([F.relu(sl.conv(x, c1, 1)), sl.conv(x, c2, 0)], 1)
        return sl.dense((-y).mean((2, 3)), head)

    g = Graph("image", [3, 12, 12])
    a = g.add("Conv2D", "conv", {**conv_cfg(6, 3), "padding": "same", "activation": "relu"}, weights=sl.conv_keras(c1))
    b = g.add("Conv2D", "conv_1", conv_cfg(4, 1), weights=sl.conv_keras(c2), inputs=["image"])
    g.layers.append(tf_op_list("concat", "tf.concat", [a, b], {"axis": 1, "name": None}))
    g.layers.append(tf_op("math.negative", "tf.math.negative", "tf.concat", {"name": None}))
    g.layers.append(tf_op("math.reduce_mean", "tf.math.reduce_mean", "tf.math.negative",
                          {"axis": [2, 3], "keepdims": False, "name": None}))
    g.last = "tf.math.reduce_mean"
    g.add("Dense", "logits", sl.k2_dense(5), weights=sl.dense_keras(head))
    return g, forward, [3, 12, 12], ["conv", "conv_1", "logits"]


def write_keras3_without_operations(path, config, variables):
    """saving_lib saves the layers' variables; operations are not layers and have no group."""
    layers = [entry for entry in config["config"]["layers"] if not entry.get("module", "").startswith("keras.src.ops")]
    weights = k3.h5_bytes(config["class_name"], layers,
                          {k: [v.to(torch.float32).contiguous().numpy() for _, v in vs] for k, vs in variables.items()})
    k3.write_keras(path, config, weights)


KERAS_MODELS = [("onnx2keras-resnet", onnx2keras_resnet), ("onnx2keras-vgg", onnx2keras_vgg),
                ("onnx2keras-nhwc", onnx2keras_nhwc), ("keras-channels-first", keras_channels_first),
                ("nobuco-resnet", nobuco_resnet), ("nobuco-flatten", nobuco_flatten),
                ("nobuco-mobilenet", nobuco_mobilenet),
                ("classification-models-seresnet", classification_models_seresnet),
                ("keras1-th-theano", keras1_th_theano), ("keras1-tf", keras1_tf),
                ("mmdnn-caffe-resnet", mmdnn_caffe_resnet), ("vggface-resnet", vggface_resnet),
                ("keras-channels-first-normalize", keras_channels_first_normalize),
                ("nobuco-normalize", nobuco_normalize), ("normalize-no-format", normalize_no_format),
                ("mixed-formats", mixed_formats), ("nobuco-bounds", nobuco_bounds),
                ("keras-channels-first-bounds", keras_channels_first_bounds), ("tf23-bounds", tf23_bounds),
                ("nobuco-inception", nobuco_inception), ("keras-channels-first-concat", keras_channels_first_concat),
                ("nobuco-relu-pool", nobuco_relu_pool), ("tf-nn-pool", tf_nn_pool),
                ("onnx2keras-hardtanh", onnx2keras_hardtanh)]


# ---- other HDF5 layouts ---------------------------------------------------------------------

def write_caffe(path):
    """Caffe's Net::ToHDF5 (src/caffe/net.cpp): data/<layer>/<blob index>, and diff/ (empty without write_diff)."""
    gen = np.random.default_rng(SEED)
    blobs = [("conv1", [(8, 3, 3, 3), (8,)]), ("bn1", [(8,), (8,), (1,)]), ("scale1", [(8,), (8,)]),
             ("relu1", []), ("fc1", [(5, 32), (5,)])]
    with h5py.File(path, "w") as f:
        data = f.create_group("data")
        for name, shapes in blobs:
            group = data.create_group(name)
            for i, shape in enumerate(shapes):
                group.create_dataset(str(i), data=gen.standard_normal(shape).astype(np.float32))
        f.create_group("diff")


def write_state_dict(path):
    """A torch state_dict saved key by key with h5py (the keys are dataset names with dots)."""
    torch.manual_seed(SEED)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.BatchNorm2d(8), torch.nn.ReLU(),
                              torch.nn.Flatten(), torch.nn.Linear(8 * 6 * 6, 5)).float()
    with h5py.File(path, "w") as f:
        for key, value in net.state_dict().items():
            f.create_dataset(key, data=value.numpy())


def write_chainer(path):
    """Chainer's HDF5Serializer: one dataset per parameter and persistent value, by link path."""
    gen = np.random.default_rng(SEED + 2)
    with h5py.File(path, "w") as f:
        f["predictor/conv1/W"] = gen.standard_normal((8, 3, 3, 3)).astype(np.float32)
        f["predictor/conv1/b"] = gen.standard_normal(8).astype(np.float32)
        f["predictor/bn1/gamma"] = gen.standard_normal(8).astype(np.float32)
        f["predictor/bn1/beta"] = gen.standard_normal(8).astype(np.float32)
        f["predictor/bn1/avg_mean"] = gen.standard_normal(8).astype(np.float32)
        f["predictor/bn1/avg_var"] = gen.random(8).astype(np.float32)
        f["predictor/bn1/N"] = np.int64(0)
        f["predictor/fc/W"] = gen.standard_normal((5, 32)).astype(np.float32)
        f["predictor/fc/b"] = gen.standard_normal(5).astype(np.float32)


def write_matlab(path):
    """MATLAB v7.3: HDF5 after a 512-byte MAT header; matrices stored transposed, cells as object references."""
    gen = np.random.default_rng(SEED + 1)
    with h5py.File(path, "w", userblock_size=512) as f:
        w1 = f.create_dataset("W1", data=gen.standard_normal((3, 4)).T)
        w1.attrs["MATLAB_class"] = np.bytes_("double")
        refs = f.create_group("#refs#")
        a = refs.create_dataset("a", data=gen.standard_normal((6, 5)).astype(np.float32))
        a.attrs["MATLAB_class"] = np.bytes_("single")
        b = refs.create_dataset("b", data=gen.standard_normal((7, 2)))
        b.attrs["MATLAB_class"] = np.bytes_("double")
        cell = f.create_dataset("layers", (2, 1), dtype=h5py.ref_dtype)
        cell[0, 0] = a.ref
        cell[1, 0] = b.ref
        cell.attrs["MATLAB_class"] = np.bytes_("cell")
        net = f.create_group("net")
        net.attrs["MATLAB_class"] = np.bytes_("struct")
        bias = net.create_dataset("bias", data=np.arange(4, dtype=np.float64).reshape(4, 1))
        bias.attrs["MATLAB_class"] = np.bytes_("double")
        name = net.create_dataset("name", data=np.array([[ord(ch)] for ch in "conv"], dtype=np.uint16))
        name.attrs["MATLAB_class"] = np.bytes_("char")
        name.attrs["MATLAB_int_decode"] = np.int32(2)
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Dec  7 00:00:00 2026 HDF5 schema 1.00 ."
    with open(path, "r+b") as f:
        f.write(header.ljust(116, b" ") + b"\0" * 8 + b"\x00\x02" + b"IM")


def onnx2keras_torchvision_resnet18(state_path, out_path):
    import torchvision
    net = torchvision.models.resnet18()
    net.load_state_dict(torch.load(state_path))
    net = net.double().eval()
    g = Graph("input.1", [3, 224, 224])
    counter = [100]

    def name():
        counter[0] += 1
        return str(counter[0])

    def conv_bn(x, conv, bn):
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        fused = {"w": conv.weight * scale.view(-1, 1, 1, 1), "b": bn.bias - bn.running_mean * scale}
        n = name()
        if conv.padding[0]:
            x = g.add("ZeroPadding2D", n + "_pad", pad_cfg(conv.padding[0]), inputs=[x])
        return g.add("Conv2D", n, conv_cfg(conv.out_channels, conv.kernel_size[0], conv.stride[0]), inputs=[x],
                     weights=sl.conv_keras({k: sl.f32(v.detach()) for k, v in fused.items()}))

    with torch.no_grad():
        x = g.add("Activation", name(), act("relu"), inputs=[conv_bn("input.1", net.conv1, net.bn1)])
        x = g.add("ZeroPadding2D", name() + "_pad", pad_cfg(1), inputs=[x])
        x = g.add("MaxPooling2D", name(), pool_cfg(3, 2), inputs=[x])
        for stage in (net.layer1, net.layer2, net.layer3, net.layer4):
            for block in stage:
                y = g.add("Activation", name(), act("relu"), inputs=[conv_bn(x, block.conv1, block.bn1)])
                y = conv_bn(y, block.conv2, block.bn2)
                shortcut = conv_bn(x, block.downsample[0], block.downsample[1]) if block.downsample else x
                x = g.add("Activation", name(), act("relu"), inputs=[g.add("Add", name(), {}, inputs=[y, shortcut])])
        pool = name()
        g.add("GlobalAveragePooling2D", pool, {"data_format": "channels_first", "keepdims": False}, inputs=[x])
        g.add("Lambda", pool + "_EXPAND1", lambda_config(expand_target_layer, "onnx2keras.pooling_layers"))
        g.add("Lambda", pool + "_EXPAND2", lambda_config(expand_target_layer, "onnx2keras.pooling_layers"))
        g.add("Reshape", name(), {"target_shape": [-1]})
        g.add("Dense", name(), sl.k2_dense(1000), weights=sl.dense_keras({"w": net.fc.weight.detach(),
                                                                          "b": net.fc.bias.detach()}))
    sl.write_k2(out_path, g.config(), g.weights)


def onnx2keras_torchvision_mobilenet_v2(state_path, out_path):
    import torchvision
    net = torchvision.models.mobilenet_v2()
    net.load_state_dict(torch.load(state_path))
    net = net.double().eval()
    g = Graph("input.1", [3, 224, 224])
    counter = [300]

    def name():
        counter[0] += 1
        return str(counter[0])

    def conv_bn_act(x, block):
        conv, bn = block[0], block[1]
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        w = sl.f32((conv.weight * scale.view(-1, 1, 1, 1)).detach())
        b = sl.f32((bn.bias - bn.running_mean * scale).detach())
        n = name()
        if conv.padding[0]:
            x = g.add("ZeroPadding2D", n + "_pad", pad_cfg(conv.padding[0]), inputs=[x])
        if conv.groups > 1:
            # onnx2keras: W.transpose(2, 3, 1, 0) then (0, 1, 3, 2): (kh, kw, in, 1).
            x = g.add("DepthwiseConv2D", n, {"kernel_size": list(conv.kernel_size), "strides": list(conv.stride),
                                             "padding": "valid", "data_format": "channels_first",
                                             "dilation_rate": [1, 1], "depth_multiplier": 1,
                                             "activation": "linear", "use_bias": True},
                      inputs=[x], weights=[("depthwise_kernel", w.permute(2, 3, 0, 1)), ("bias", b)])
        else:
            x = g.add("Conv2D", n, conv_cfg(conv.out_channels, conv.kernel_size[0], conv.stride[0]), inputs=[x],
                      weights=sl.conv_keras({"w": w, "b": b}))
        if len(block) > 2:
            x = g.add("ReLU", name(), {"max_value": 6.0, "negative_slope": 0.0, "threshold": 0.0}, inputs=[x])
        return x

    with torch.no_grad():
        x = "input.1"
        for feature in net.features:
            if isinstance(feature, torchvision.ops.misc.ConvNormActivation) or not hasattr(feature, "conv"):
                x = conv_bn_act(x, feature)
                continue
            y = x
            for part in feature.conv:
                if isinstance(part, torch.nn.Conv2d):
                    project = part
                elif isinstance(part, torch.nn.BatchNorm2d):
                    y = conv_bn_act(y, [project, part])
                else:
                    y = conv_bn_act(y, part)
            x = g.add("Add", name(), {}, inputs=[y, x]) if feature.use_res_connect else y
        pool = name()
        g.add("GlobalAveragePooling2D", pool, {"data_format": "channels_first", "keepdims": False}, inputs=[x])
        g.add("Lambda", pool + "_EXPAND1", lambda_config(expand_target_layer, "onnx2keras.pooling_layers"))
        g.add("Lambda", pool + "_EXPAND2", lambda_config(expand_target_layer, "onnx2keras.pooling_layers"))
        g.add("Reshape", name(), {"target_shape": [-1]})
        fc = net.classifier[1]
        g.add("Dense", name(), sl.k2_dense(1000), weights=sl.dense_keras({"w": fc.weight.detach(), "b": fc.bias.detach()}))
    sl.write_k2(out_path, g.config(), g.weights)


def write_nchw_images():
    """images-12-labelled.h5's images as PyTorch stores them, (N, C, H, W), and as the engine does, (N, H, W, C),
    both with the same per-channel mean and scale attributes: eval must score the two bit for bit alike on a
    channels_first model. images-12-nchw-wrong.h5 fits neither order of a (3, 12, 12) input."""
    with h5py.File(os.path.join(OUT, "images-12-labelled.h5"), "r") as f:
        x, y = np.asarray(f["x"]), np.asarray(f["y"])
    mean, scale = np.array([0.125, -0.25, 0.5]), np.array([2.0, 0.5, 1.5])
    for name, data in (("images-12-nchw.h5", x.transpose(0, 3, 1, 2)), ("images-12-nhwc-normalized.h5", x)):
        with h5py.File(os.path.join(OUT, name), "w") as f:
            f["x"] = np.ascontiguousarray(data)
            f["y"] = y
            f["x"].attrs["mean"] = mean
            f["x"].attrs["scale"] = scale
    with h5py.File(os.path.join(OUT, "images-12-nchw-wrong.h5"), "w") as f:
        f["x"] = np.zeros((4, 5, 12, 12), dtype=np.uint8)
        f["y"] = np.zeros(4, dtype=np.int32)


def main():
    if len(sys.argv) == 2 and sys.argv[1] == "--nchw-images":
        write_nchw_images()
        return
    if len(sys.argv) == 4 and sys.argv[1] == "--resnet18":
        onnx2keras_torchvision_resnet18(sys.argv[2], sys.argv[3])
        return
    if len(sys.argv) == 4 and sys.argv[1] == "--mobilenet_v2":
        onnx2keras_torchvision_mobilenet_v2(sys.argv[2], sys.argv[3])
        return
    os.makedirs(OUT, exist_ok=True)
    with h5py.File(os.path.join(sl.OUT, "images-12.h5"), "r") as f:
        x = torch.from_numpy(np.asarray(f["x"], dtype=np.float64))
    reference = {"images": "../shared-layers/images-12.h5", "models": []}
    labels = None
    for name, make in KERAS_MODELS:
        g, forward, shape, weighted = make()
        if isinstance(g, tuple):
            write_k1(os.path.join(OUT, name + ".h5"), *g)
        else:
            sl.write_k2(os.path.join(OUT, name + ".h5"), g.config(), g.weights)
        with torch.no_grad():
            logits = forward(x.permute(0, 3, 1, 2))
        if labels is None:
            labels = logits.argmax(1)
        reference["models"].append({"file": name + ".h5", "input": shape, "weighted_layers": weighted,
                                    "fp32_logits": [[float(v) for v in row] for row in logits]})
    config, variables, forward, shape, weighted = keras3_bounds()
    write_keras3_without_operations(os.path.join(OUT, "keras3-bounds.keras"), config, variables)
    with torch.no_grad():
        logits = forward(x.permute(0, 3, 1, 2))
    reference["models"].append({"file": "keras3-bounds.keras", "input": shape, "weighted_layers": weighted,
                                "fp32_logits": [[float(v) for v in row] for row in logits]})
    for name, make in (("onnx2keras-lambda", onnx2keras_lambda), ("onnx2keras-unflatten", onnx2keras_unflatten),
                       ("classification-models-resnext", classification_models_resnext),
                       ("constant-per-width", lambda: refused_constant((12,))),
                       ("constant-no-broadcast", lambda: refused_constant((5, 1, 1)))):
        refused = make()
        sl.write_k2(os.path.join(OUT, name + ".h5"), refused.config(), refused.weights)
    with h5py.File(os.path.join(OUT, "images-12-labelled.h5"), "w") as f:
        f["x"] = x.to(torch.float32).numpy()
        f["y"] = labels.to(torch.int32).numpy()
    write_nchw_images()
    vggface = vggface_resnet()[0]
    write_weights_only(os.path.join(OUT, "vggface-weights.h5"), vggface.config(), vggface.weights)
    write_caffe(os.path.join(OUT, "caffe.caffemodel.h5"))
    write_state_dict(os.path.join(OUT, "state-dict.h5"))
    write_chainer(os.path.join(OUT, "chainer.h5"))
    write_matlab(os.path.join(OUT, "matlab.mat"))
    with open(os.path.join(OUT, "reference.json"), "w") as f:
        json.dump(reference, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
