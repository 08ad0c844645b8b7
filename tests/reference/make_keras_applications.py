#!/usr/bin/python3
# make_keras_applications.py: the Keras Applications in tf.keras 2.x's h5 layout, and a PyTorch interpreter of them.
# SPDX-License-Identifier: GPL-3.0-or-later
"""Keras Applications architectures as tf.keras 2.x's model.save("x.h5") writes them.

There is no TensorFlow here, so the application definitions themselves
(tf_keras/applications/*.py of a tf-keras checkout, read with git) run
against a small stand-in for the parts of tf.keras they call: layer
classes whose get_config() gives tf-keras 2.15's fields (defaults
included), its automatic layer names (conv2d, conv2d_1, ...;
tf.math.multiply for an operator on a tensor), the functional graph's
inbound_nodes, and the h5 layout of Keras 2's legacy saving
(model_config and keras_version at the root, model_weights/<layer>/
<weight name>:0 with layer_names and weight_names attributes, a nested
model's weights under the outer layer's group). The graphs are exactly
the ones the application code builds, with weights="imagenet" (the
graphs users save after loading the published weights: EfficientNet's
extra scaling of the normalised input, MobileNet's top) but random,
seeded weights in place of the published ones.

The second half is an independent reference: an interpreter of a Keras
model_config in PyTorch (float64), written from Keras' documented
semantics (TF's "same" padding, pooling that averages over the valid
window, BatchNormalization's moving statistics, erf gelu), which reads
the weights back from the h5 file and gives the logits for a batch of
images.

Usage (the tf-keras checkout defaults to the mirror this was written with):
  make_keras_applications.py [--keras-src DIR] [--out DIR] [--only NAME,...] [--reference] [--reuse]
      writes <out>/<name>.h5 (default /tmp/qs-apps) for each architecture; with
      --reference also <name>-images.h5 and reference.json (the reference's logits),
      which test-keras-apps checks with QS_KERAS_APPS_DIR=<out>
  make_keras_applications.py --ci tests/data/keras-apps
      every architecture's model_config and the weights it implies
      (architectures.json), and the reduced models with their images and
      the reference's logits (reference.json)
  make_keras_applications.py --predict FILE.h5 IMAGES.npy [--preprocess MODE]
      prints the reference's logits as JSON
  make_keras_applications.py --add-fake-quant tests/data/keras-apps
      adds int8_logits (below) to reference.json, the models left as they are

The interpreter also runs a PyTorch fake quantization of Quantscope's
default integer path (Reference.run_fake_quant, int8_logits in
reference.json), planned from the config with the rules of Quantscope's
Keras reader and engine (as tests/reference/make_graph_blocks.py
simulates them for the graph blocks): BatchNormalization folded into the
Conv2D / DepthwiseConv2D / Dense before it when it is that layer's only
reader and the layer is linear, a ReLU / ReLU(6) that is the only reader
of the result fused; folded weights fake-quantized per output channel,
symmetric, [-127, 127] (engine_reference.weight_fake_quant), biases rounded
to int32 at s_in * s_w[c]; asymmetric per-tensor 8-bit activations from
the min/max of the calibration images at every value the engine gives
parameters of its own (the input, or the output of a leading run of
Rescaling / Normalization layers, which run in float; weighted layers,
their non-ReLU activations, unfolded BatchNormalization, merges, table
activations, LayerNormalization, LayerScale, scalar operations), the
layers that move, pool or clamp values (padding, pooling, Flatten,
Reshape, an unfused ReLU) on their input's grid, x + 3 -> ReLU(6) ->
x * (1 / 6) [-> Multiply with x] one hard-sigmoid [hard-swish] value,
Dropout, StochasticDepth, linear activations and a final softmax none.
A SeparableConv2D is the engine's two layers: its depthwise half (own
weights, no bias) with an output value of its own, then the pointwise
half, which the bias, the BatchNormalization fold and the ReLU belong to.
"""

import argparse
import gzip
import json
import math
import os
import re
import subprocess
import sys
import types

import h5py
import numpy as np

KERAS_VERSION = "2.15.0"
DEFAULT_SRC = "/work/.mirror/keras-team+tf-keras/repo"

# ---------------------------------------------------------------------------
# A stand-in for the parts of tf.keras 2.x the applications use
# ---------------------------------------------------------------------------

_uids = {}


def reset_names():
    _uids.clear()


def get_uid(prefix=""):
    _uids[prefix] = _uids.get(prefix, 0) + 1
    return _uids[prefix]


def unique_name(base, zero_based=True):
    """tf.keras's backend.unique_object_name: conv2d, conv2d_1, ..."""
    n = _uids.get(base, 0)
    _uids[base] = n + 1
    if zero_based:
        return base if n == 0 else "%s_%d" % (base, n)
    return "%s_%d" % (base, n + 1)


def to_snake_case(name):
    intermediate = re.sub("(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    insecure = re.sub("([a-z])([A-Z])", r"\1_\2", intermediate).lower()
    return insecure if insecure[0] != "_" else "private" + insecure


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def initializer(name, **config):
    """An initializer as the h5 save's legacy serialization writes it."""
    return {"class_name": name, "config": config or {"seed": None}}


def constant_initializer(name):
    return {"class_name": name, "config": {}}


class KTensor:
    """A symbolic tensor: its shape (batch axis None) and the layer call that made it."""

    def __init__(self, shape, layer, node_index=0):
        self.shape = tuple(shape)
        self.layer = layer
        self.node_index = node_index

    def history(self):
        return [self.layer.name, self.node_index, 0]

    def _op(self, function, other, reverse=False):
        return TFOpLambda(function)(self, other, reverse=reverse)

    def __add__(self, other):
        return self._op("__operators__.add", other)

    def __radd__(self, other):
        return self._op("__operators__.add", other, True)

    def __mul__(self, other):
        return self._op("math.multiply", other)

    def __rmul__(self, other):
        return self._op("math.multiply", other, True)

    def __sub__(self, other):
        return self._op("math.subtract", other)

    def __truediv__(self, other):
        return self._op("math.truediv", other)


class Layer:
    """tf.keras's base Layer: name, trainable, dtype, one call, weights."""

    ARGS = ()       # (name, default) in the order of the class's __init__ and get_config
    IGNORED = ()    # accepted by the class (through **kwargs) but not in its config
    CLASS = None

    def __init__(self, *args, **kwargs):
        self.class_name = self.CLASS or type(self).__name__
        self.name = kwargs.pop("name", None) or unique_name(to_snake_case(self.class_name))
        self.trainable = kwargs.pop("trainable", True)
        kwargs.pop("dtype", None)
        self.args = {}
        for (key, default), value in zip(self.ARGS, args):
            self.args[key] = value
        for key, default in self.ARGS:
            if key not in self.args:
                self.args[key] = kwargs.pop(key, default)
        kwargs.pop("input_shape", None)
        for key in self.IGNORED:
            kwargs.pop(key, None)
        if kwargs:
            raise TypeError("%s: unexpected %s" % (self.class_name, sorted(kwargs)))
        self.weights = []      # (name, shape, kind, trainable)
        self.inbound = None
        self.output = None
        self.built = False

    # the weights a layer makes, in Keras' creation order
    def add_weight(self, name, shape, kind="kernel", trainable=True, dtype="float32", initializer=None):
        self.weights.append((name, tuple(int(s) for s in shape), kind, trainable, dtype))

    def build(self, input_shape):
        pass

    def output_shape(self, input_shape):
        # a layer of the application's own reading a list (CustomScaleLayer: [x, branch]) keeps x's shape
        return input_shape[0] if isinstance(input_shape, list) else input_shape

    def __call__(self, inputs, *extra, **kwargs):
        tensors = inputs if isinstance(inputs, (list, tuple)) else [inputs]
        shapes = [t.shape for t in tensors]
        if not self.built:
            self.build(shapes if isinstance(inputs, (list, tuple)) else shapes[0])
            self.built = True
        self.inbound = [[t.history() + [{}] for t in tensors]]
        self.input_tensors = tensors
        self.output = KTensor(self.output_shape(shapes if isinstance(inputs, (list, tuple)) else shapes[0]), self)
        CURRENT_GRAPH.append(self)
        return self.output

    def get_config(self):
        config = {"name": self.name, "trainable": self.trainable, "dtype": "float32"}
        config.update(self.config_items())
        return config

    def config_items(self):
        return {key: self.args[key] for key, _ in self.ARGS}

    def legacy_weights(self):
        """Keras 2's _legacy_weights: trainable weights, then the others."""
        return [w for w in self.weights if w[3]] + [w for w in self.weights if not w[3]]


CURRENT_GRAPH = []


class InputLayer(Layer):
    def __init__(self, shape, name=None):
        Layer.__init__(self, name=name or "input_%d" % get_uid("input"))
        self.batch_shape = (None,) + tuple(shape)
        self.output = KTensor(self.batch_shape, self)
        self.inbound = []
        CURRENT_GRAPH.append(self)

    def get_config(self):
        return {"batch_input_shape": list(self.batch_shape), "dtype": "float32", "sparse": False,
                "ragged": False, "name": self.name}


def Input(shape=None, tensor=None, name=None, **kwargs):
    return InputLayer(shape, name=name).output


def conv_length(size, kernel, padding, stride, dilation=1):
    effective = (kernel - 1) * dilation + 1
    if padding == "same":
        return (size + stride - 1) // stride
    return (size - effective + stride) // stride


def activation_name(activation):
    if activation is None:
        return "linear"
    return activation


class Conv2D(Layer):
    ARGS = (("filters", None), ("kernel_size", None), ("strides", (1, 1)), ("padding", "valid"),
            ("data_format", None), ("dilation_rate", (1, 1)), ("groups", 1), ("activation", None),
            ("use_bias", True), ("kernel_initializer", "glorot_uniform"), ("bias_initializer", "zeros"),
            ("kernel_regularizer", None), ("bias_regularizer", None), ("activity_regularizer", None),
            ("kernel_constraint", None), ("bias_constraint", None))

    def config_items(self):
        a = dict(self.args)
        a["kernel_size"] = pair(a["kernel_size"])
        a["strides"] = pair(a["strides"])
        a["dilation_rate"] = pair(a["dilation_rate"])
        a["data_format"] = "channels_last"
        a["activation"] = activation_name(a["activation"])
        a["padding"] = a["padding"].lower()
        a["kernel_initializer"] = (initializer("GlorotUniform") if isinstance(a["kernel_initializer"], str)
                                   else a["kernel_initializer"])
        a["bias_initializer"] = constant_initializer("Zeros")
        return self.order(a)

    def order(self, a):
        return {key: a[key] for key, _ in self.ARGS}

    def build(self, shape):
        kh, kw = pair(self.args["kernel_size"])
        self.add_weight("kernel", (kh, kw, shape[-1] // self.args["groups"], self.args["filters"]))
        if self.args["use_bias"]:
            self.add_weight("bias", (self.args["filters"],), "bias")

    def output_shape(self, shape):
        kh, kw = pair(self.args["kernel_size"])
        sh, sw = pair(self.args["strides"])
        dh, dw = pair(self.args["dilation_rate"])
        p = self.args["padding"].lower()
        return (None, conv_length(shape[1], kh, p, sh, dh), conv_length(shape[2], kw, p, sw, dw),
                self.out_channels(shape))

    def out_channels(self, shape):
        return self.args["filters"]


class DepthwiseConv2D(Conv2D):
    ARGS = (("kernel_size", None), ("strides", (1, 1)), ("padding", "valid"), ("depth_multiplier", 1),
            ("data_format", None), ("dilation_rate", (1, 1)), ("activation", None), ("use_bias", True),
            ("depthwise_initializer", "glorot_uniform"), ("bias_initializer", "zeros"),
            ("depthwise_regularizer", None), ("bias_regularizer", None), ("activity_regularizer", None),
            ("depthwise_constraint", None), ("bias_constraint", None))

    def config_items(self):
        a = dict(self.args)
        a["kernel_size"] = pair(a["kernel_size"])
        a["strides"] = pair(a["strides"])
        a["dilation_rate"] = pair(a["dilation_rate"])
        a["data_format"] = "channels_last"
        a["activation"] = activation_name(a["activation"])
        a["depthwise_initializer"] = initializer("GlorotUniform")
        a["bias_initializer"] = constant_initializer("Zeros")
        # tf-keras lists the Conv2D fields first (filters None, groups 1), then its own.
        out = {"filters": None, "kernel_size": a["kernel_size"], "strides": a["strides"], "padding": a["padding"],
               "data_format": a["data_format"], "dilation_rate": a["dilation_rate"], "groups": 1,
               "activation": a["activation"], "use_bias": a["use_bias"],
               "bias_initializer": a["bias_initializer"], "bias_regularizer": None,
               "activity_regularizer": None, "bias_constraint": None,
               "depth_multiplier": a["depth_multiplier"], "depthwise_initializer": a["depthwise_initializer"],
               "depthwise_regularizer": None, "depthwise_constraint": None}
        return out

    def build(self, shape):
        kh, kw = pair(self.args["kernel_size"])
        m = self.args["depth_multiplier"]
        self.add_weight("depthwise_kernel", (kh, kw, shape[-1], m))
        if self.args["use_bias"]:
            self.add_weight("bias", (shape[-1] * m,), "bias")

    def out_channels(self, shape):
        return shape[-1] * self.args["depth_multiplier"]


class SeparableConv2D(Conv2D):
    ARGS = (("filters", None), ("kernel_size", None), ("strides", (1, 1)), ("padding", "valid"),
            ("data_format", None), ("dilation_rate", (1, 1)), ("depth_multiplier", 1), ("activation", None),
            ("use_bias", True), ("depthwise_initializer", "glorot_uniform"),
            ("pointwise_initializer", "glorot_uniform"), ("bias_initializer", "zeros"),
            ("depthwise_regularizer", None), ("pointwise_regularizer", None), ("bias_regularizer", None),
            ("activity_regularizer", None), ("depthwise_constraint", None), ("pointwise_constraint", None),
            ("bias_constraint", None))
    IGNORED = ("kernel_initializer",)

    def config_items(self):
        a = dict(self.args)
        a["kernel_size"] = pair(a["kernel_size"])
        a["strides"] = pair(a["strides"])
        a["dilation_rate"] = pair(a["dilation_rate"])
        a["data_format"] = "channels_last"
        a["activation"] = activation_name(a["activation"])
        a["depthwise_initializer"] = initializer("GlorotUniform")
        a["pointwise_initializer"] = initializer("GlorotUniform")
        a["bias_initializer"] = constant_initializer("Zeros")
        a["groups"] = 1
        keys = ["filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate", "groups",
                "activation", "use_bias", "bias_initializer", "bias_regularizer", "activity_regularizer",
                "bias_constraint", "depth_multiplier", "depthwise_initializer", "pointwise_initializer",
                "depthwise_regularizer", "pointwise_regularizer", "depthwise_constraint", "pointwise_constraint"]
        return {k: a[k] for k in keys}

    def build(self, shape):
        kh, kw = pair(self.args["kernel_size"])
        m = self.args["depth_multiplier"]
        self.add_weight("depthwise_kernel", (kh, kw, shape[-1], m))
        self.add_weight("pointwise_kernel", (1, 1, shape[-1] * m, self.args["filters"]))
        if self.args["use_bias"]:
            self.add_weight("bias", (self.args["filters"],), "bias")


class Dense(Layer):
    ARGS = (("units", None), ("activation", None), ("use_bias", True), ("kernel_initializer", "glorot_uniform"),
            ("bias_initializer", "zeros"), ("kernel_regularizer", None), ("bias_regularizer", None),
            ("activity_regularizer", None), ("kernel_constraint", None), ("bias_constraint", None))

    def config_items(self):
        a = dict(self.args)
        a["activation"] = activation_name(a["activation"])
        a["kernel_initializer"] = initializer("GlorotUniform")
        a["bias_initializer"] = constant_initializer("Zeros")
        return a

    def build(self, shape):
        self.add_weight("kernel", (shape[-1], self.args["units"]))
        if self.args["use_bias"]:
            self.add_weight("bias", (self.args["units"],), "bias")

    def output_shape(self, shape):
        return tuple(shape[:-1]) + (self.args["units"],)


class BatchNormalization(Layer):
    ARGS = (("axis", -1), ("momentum", 0.99), ("epsilon", 0.001), ("center", True), ("scale", True),
            ("beta_initializer", "zeros"), ("gamma_initializer", "ones"), ("moving_mean_initializer", "zeros"),
            ("moving_variance_initializer", "ones"), ("beta_regularizer", None), ("gamma_regularizer", None),
            ("beta_constraint", None), ("gamma_constraint", None))

    def build(self, shape):
        axis = self.args["axis"]
        axis = [axis] if isinstance(axis, int) else list(axis)
        self.axis = [a + len(shape) if a < 0 else a for a in axis]
        c = shape[self.axis[0]]
        if self.args["scale"]:
            self.add_weight("gamma", (c,), "gamma")
        if self.args["center"]:
            self.add_weight("beta", (c,), "beta")
        self.add_weight("moving_mean", (c,), "moving_mean", trainable=False)
        self.add_weight("moving_variance", (c,), "moving_variance", trainable=False)

    def config_items(self):
        a = dict(self.args)
        a["axis"] = self.axis          # a list after build, as Keras 2 saves it
        for key, cls in (("beta_initializer", "Zeros"), ("gamma_initializer", "Ones"),
                         ("moving_mean_initializer", "Zeros"), ("moving_variance_initializer", "Ones")):
            a[key] = constant_initializer(cls)
        return a


class LayerNormalization(Layer):
    ARGS = (("axis", -1), ("epsilon", 0.001), ("center", True), ("scale", True), ("beta_initializer", "zeros"),
            ("gamma_initializer", "ones"), ("beta_regularizer", None), ("gamma_regularizer", None),
            ("beta_constraint", None), ("gamma_constraint", None))

    def build(self, shape):
        axis = self.args["axis"]
        axis = [axis] if isinstance(axis, int) else list(axis)
        self.axis = [a + len(shape) if a < 0 else a for a in axis]
        c = shape[-1]
        if self.args["scale"]:
            self.add_weight("gamma", (c,), "gamma")
        if self.args["center"]:
            self.add_weight("beta", (c,), "beta")

    def config_items(self):
        a = dict(self.args)
        a["axis"] = self.axis
        for key, cls in (("beta_initializer", "Zeros"), ("gamma_initializer", "Ones")):
            a[key] = constant_initializer(cls)
        return a


class Activation(Layer):
    ARGS = (("activation", None),)

    def config_items(self):
        return {"activation": activation_name(self.args["activation"])}


class ReLU(Layer):
    ARGS = (("max_value", None), ("negative_slope", 0.0), ("threshold", 0.0))

    def config_items(self):
        a = dict(self.args)
        if a["max_value"] is not None:
            a["max_value"] = float(a["max_value"])
        a["negative_slope"] = float(a["negative_slope"])
        a["threshold"] = float(a["threshold"])
        return a


class Dropout(Layer):
    ARGS = (("rate", None), ("noise_shape", None), ("seed", None))


class ZeroPadding2D(Layer):
    ARGS = (("padding", (1, 1)), ("data_format", None))

    def normalized(self):
        p = self.args["padding"]
        if isinstance(p, int):
            return ((p, p), (p, p))
        if isinstance(p[0], int):
            return ((p[0], p[0]), (p[1], p[1]))
        return (tuple(p[0]), tuple(p[1]))

    def config_items(self):
        return {"padding": self.normalized(), "data_format": "channels_last"}

    def output_shape(self, shape):
        (t, b), (l, r) = self.normalized()
        return (None, shape[1] + t + b, shape[2] + l + r, shape[3])


class Cropping2D(ZeroPadding2D):
    ARGS = (("cropping", ((0, 0), (0, 0))), ("data_format", None))

    def normalized(self):
        p = self.args["cropping"]
        if isinstance(p, int):
            return ((p, p), (p, p))
        if isinstance(p[0], int):
            return ((p[0], p[0]), (p[1], p[1]))
        return (tuple(p[0]), tuple(p[1]))

    def config_items(self):
        return {"cropping": self.normalized(), "data_format": "channels_last"}

    def output_shape(self, shape):
        (t, b), (l, r) = self.normalized()
        return (None, shape[1] - t - b, shape[2] - l - r, shape[3])


class Pooling2D(Layer):
    ARGS = (("pool_size", (2, 2)), ("strides", None), ("padding", "valid"), ("data_format", None))

    def config_items(self):
        strides = self.args["strides"] if self.args["strides"] is not None else self.args["pool_size"]
        return {"pool_size": pair(self.args["pool_size"]), "padding": self.args["padding"].lower(),
                "strides": pair(strides), "data_format": "channels_last"}

    def output_shape(self, shape):
        kh, kw = pair(self.args["pool_size"])
        sh, sw = pair(self.args["strides"] if self.args["strides"] is not None else self.args["pool_size"])
        p = self.args["padding"].lower()
        return (None, conv_length(shape[1], kh, p, sh), conv_length(shape[2], kw, p, sw), shape[3])


class MaxPooling2D(Pooling2D):
    pass


class AveragePooling2D(Pooling2D):
    pass


class GlobalPooling2D(Layer):
    ARGS = (("data_format", None), ("keepdims", False))

    def config_items(self):
        return {"data_format": "channels_last", "keepdims": self.args["keepdims"]}

    def output_shape(self, shape):
        return (None, 1, 1, shape[3]) if self.args["keepdims"] else (None, shape[3])


class GlobalAveragePooling2D(GlobalPooling2D):
    pass


class GlobalMaxPooling2D(GlobalPooling2D):
    pass


class Flatten(Layer):
    ARGS = (("data_format", None),)

    def config_items(self):
        return {"data_format": "channels_last"}

    def output_shape(self, shape):
        return (None, int(np.prod(shape[1:])))


class Reshape(Layer):
    ARGS = (("target_shape", None),)

    def config_items(self):
        return {"target_shape": tuple(self.args["target_shape"])}

    def output_shape(self, shape):
        return (None,) + tuple(self.args["target_shape"])


class Rescaling(Layer):
    ARGS = (("scale", 1.0), ("offset", 0.0))


class Normalization(Layer):
    ARGS = (("axis", -1), ("mean", None), ("variance", None), ("invert", False))

    def build(self, shape):
        if self.args["mean"] is None:
            # adapt() state: the published weights fill it.
            self.add_weight("mean", (shape[-1],), "norm_mean", trainable=False)
            self.add_weight("variance", (shape[-1],), "norm_variance", trainable=False)
            self.add_weight("count", (), "count", trainable=False, dtype="int64")

    def config_items(self):
        a = dict(self.args)
        axis = a["axis"]
        a["axis"] = (axis,) if isinstance(axis, int) else tuple(axis)
        return a


class Merge(Layer):
    def output_shape(self, shapes):
        # broadcasting over the batch axis and 1-sized axes (squeeze-and-excitation)
        rank = max(len(s) for s in shapes)
        out = []
        for i in range(rank):
            dims = [s[i] for s in shapes if s[i] is not None]
            out.append(max(dims) if dims else None)
        return tuple(out)


class Add(Merge):
    pass


class Multiply(Merge):
    pass


class Concatenate(Merge):
    ARGS = (("axis", -1),)

    def output_shape(self, shapes):
        axis = self.args["axis"] % len(shapes[0])
        out = list(shapes[0])
        out[axis] = sum(s[axis] for s in shapes)
        return tuple(out)


def add(inputs, name=None):
    return Add(name=name)(inputs)


def multiply(inputs, name=None):
    return Multiply(name=name)(inputs)


def concatenate(inputs, axis=-1, name=None):
    return Concatenate(axis=axis, name=name)(inputs)


class TFOpLambda(Layer):
    """An operator on a Keras tensor: tf.__operators__.add, tf.math.multiply."""

    def __init__(self, function):
        self.function = function
        Layer.__init__(self, name=unique_name("tf." + function))

    def __call__(self, x, other, reverse=False):
        if isinstance(other, KTensor):
            y = other.history()
            shape = Merge.output_shape(self, [x.shape, other.shape])
            tensors = [x, other]
        else:
            y = np.asarray(other, dtype=np.float64).tolist() if not isinstance(other, (int, float)) else float(other)
            shape = x.shape
            tensors = [x]
        if reverse and isinstance(other, KTensor):
            x, other = other, x
        self.inbound = [[x.history() + [{"y": y, "name": None}]]]
        self.input_tensors = tensors
        self.constant = None if isinstance(other, KTensor) else other
        self.output = KTensor(shape, self)
        CURRENT_GRAPH.append(self)
        return self.output

    def get_config(self):
        return {"name": self.name, "trainable": True, "dtype": "float32", "function": self.function}


class LambdaLayer(Layer):
    """tf.keras's Lambda as its get_config writes a Python lambda: the function as
    generic_utils.func_dump's (base64 marshal of the bytecode, defaults, closure),
    the module it was defined in, the output shape raw and the extra arguments."""
    CLASS = "Lambda"
    ARGS = (("function", None), ("output_shape", None), ("mask", None), ("arguments", None))
    def output_shape(self, input_shape):
        return (None,) + tuple(self.args["output_shape"])

    def config_items(self):
        import base64
        import marshal
        code = base64.encodebytes(marshal.dumps(self.args["function"].__code__)).decode("ascii")
        # defined in tf.keras 2.6-2.11's keras.applications package
        module = self.args["function"].__module__.replace("tf_keras.", "keras.", 1)
        return {"function": [code, None, None], "function_type": "lambda", "module": module,
                "output_shape": list(self.args["output_shape"]), "output_shape_type": "raw",
                "output_shape_module": None, "arguments": self.args["arguments"] or {}}


def register_keras_serializable(package="Custom", name=None):
    """tf-keras' object_registration: the class is saved as "package>name"."""
    def register(cls):
        cls.REGISTERED_NAME = "%s>%s" % (package, name or cls.__name__)
        return cls
    return register


class Model:
    """A functional model (or, with layers=..., a Sequential one)."""

    def __init__(self, inputs=None, outputs=None, name=None, **kwargs):
        self.name = name or unique_name("model")
        self.inputs = inputs
        self.outputs = outputs
        self.layers = []
        seen = set()
        for layer in CURRENT_GRAPH:
            if id(layer) not in seen and (layer.output is not None):
                seen.add(id(layer))
                self.layers.append(layer)
        self.layers = self.reachable(outputs)

    def reachable(self, output):
        """The layers the output depends on, in the order they were called."""
        needed = set()
        stack = [output.layer]
        while stack:
            layer = stack.pop()
            if id(layer) in needed:
                continue
            needed.add(id(layer))
            for t in getattr(layer, "input_tensors", []):
                stack.append(t.layer)
        return [layer for layer in self.layers if id(layer) in needed]

    def load_weights(self, path, **kwargs):
        pass   # the published weights are not used: random ones are written instead

    @staticmethod
    def plain_entry(layer):
        registered = getattr(layer, "REGISTERED_NAME", None)
        if registered is not None:
            # serialization_lib's form for a class of no public module (tf-keras 2.13+)
            module = type(layer).__module__.replace("tf_keras.", "keras.src.", 1)
            return {"module": module, "class_name": layer.class_name, "config": layer.get_config(),
                    "registered_name": registered, "name": layer.name, "inbound_nodes": layer.inbound}
        return {"class_name": layer.class_name, "config": layer.get_config(), "name": layer.name,
                "inbound_nodes": layer.inbound}

    def get_config(self):
        layers = []
        for layer in self.layers:
            entry = layer.layer_entry(layer) if isinstance(layer, Model) else Model.plain_entry(layer)
            layers.append(entry)
        return {"name": self.name, "trainable": True, "layers": layers,
                "input_layers": [[self.inputs.layer.name, 0, 0]], "output_layers": [[self.outputs.layer.name, 0, 0]]}

    def to_config(self):
        return {"class_name": "Functional", "config": self.get_config(), "keras_version": KERAS_VERSION,
                "backend": "tensorflow"}

    @property
    def seq_layers(self):
        return [l for l in self.layers if not isinstance(l, InputLayer)]

    def legacy_weights(self):
        """A nested model's weights as its outer model saves them: every inner
        layer's trainable weights, then the others, named <layer>/<weight>."""
        inner = [(l, w) for l in self.seq_layers for w in l.weights]
        return ([(l.name + "/" + w[0],) + w[1:] for l, w in inner if w[3]]
                + [(l.name + "/" + w[0],) + w[1:] for l, w in inner if not w[3]])

    def __call__(self, x, training=None):
        """The model as a layer of another (transfer learning: base (inputs, training=False))."""
        self.class_name = "Functional"
        self.inbound = [[x.history() + [{"training": training} if training is not None else {}]]]
        self.input_tensors = [x]
        self.output = KTensor(self.outputs.shape, self, 1)
        CURRENT_GRAPH.append(self)
        return self.output

    def layer_entry(self, _):
        return {"class_name": "Functional", "config": self.get_config(), "name": self.name,
                "inbound_nodes": self.inbound}


class Sequential(Model, Layer):
    """A Sequential of layers, called on a tensor inside a functional model
    (ConvNeXt's stem and downsampling blocks): tf.keras gives it an
    InputLayer named after its first layer."""

    def __init__(self, layers, name=None):
        self.name = name or unique_name("sequential")
        self.layers = layers
        self.class_name = "Sequential"
        self.trainable = True
        self.weights = []

    def __call__(self, x):
        saved = list(CURRENT_GRAPH)
        del CURRENT_GRAPH[:]
        inner_input = InputLayer(x.shape[1:], name=self.seq_layers[0].name + "_input")
        t = inner_input.output
        for layer in self.seq_layers:
            t = layer(t)
        self.inner = [inner_input] + list(self.layers)
        CURRENT_GRAPH[:] = saved
        self.inbound = [[x.history() + [{}]]]
        self.input_tensors = [x]
        self.output = KTensor(t.shape, self, 1)   # node 0 is the model's own creation
        CURRENT_GRAPH.append(self)
        return self.output

    def layer_entry(self, _):
        layers = [{"class_name": l.class_name, "config": l.get_config()} for l in self.inner]
        return {"class_name": "Sequential", "config": {"name": self.name, "layers": layers},
                "name": self.name, "inbound_nodes": self.inbound}



class VersionAwareLayers:
    def __getattr__(self, name):
        return getattr(LAYERS, name)


def build_layers_module():
    m = types.ModuleType("tf_keras.layers")
    for cls in (Conv2D, DepthwiseConv2D, SeparableConv2D, Dense, BatchNormalization, LayerNormalization,
                Activation, ReLU, Dropout, ZeroPadding2D, Cropping2D, MaxPooling2D, AveragePooling2D,
                GlobalAveragePooling2D, GlobalMaxPooling2D, Flatten, Reshape, Rescaling, Normalization, Add,
                Multiply, Concatenate, Layer):
        setattr(m, cls.__name__, cls)
    m.Lambda = LambdaLayer
    m.Input = Input
    m.add = add
    m.multiply = multiply
    m.concatenate = concatenate
    m.VersionAwareLayers = VersionAwareLayers
    return m


LAYERS = build_layers_module()


def correct_pad(inputs, kernel_size):
    input_size = inputs.shape[1:3]
    kernel_size = pair(kernel_size)
    adjust = (1, 1) if input_size[0] is None else (1 - input_size[0] % 2, 1 - input_size[1] % 2)
    correct = (kernel_size[0] // 2, kernel_size[1] // 2)
    return ((correct[0] - adjust[0], correct[0]), (correct[1] - adjust[1], correct[1]))


class _NameScope:
    def __init__(self, *a):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


class _TF:
    """tf as the applications use it while building a graph."""

    class math:
        @staticmethod
        def multiply(x, y, name=None):
            return x * y

    @staticmethod
    def reshape(values, shape):
        return np.reshape(np.asarray(values, dtype=np.float64), shape)

    class io:
        class gfile:
            @staticmethod
            def exists(path):
                return False


def install_stand_in():
    """sys.modules entries for the imports of tf_keras/applications/*.py."""
    def module(name, **attrs):
        m = types.ModuleType(name)
        m.__dict__.update(attrs)
        sys.modules[name] = m
        return m

    identity = lambda *a, **k: (lambda f: f)
    constant_initializer = lambda value=0: None
    tf = module("tensorflow", math=_TF.math, reshape=_TF.reshape, io=_TF.io, constant_initializer=constant_initializer)
    module("tensorflow.compat")
    v2 = module("tensorflow.compat.v2", math=_TF.math, reshape=_TF.reshape, io=_TF.io,
                constant_initializer=constant_initializer)
    tf.compat = sys.modules["tensorflow.compat"]
    tf.compat.v2 = v2
    module("tensorflow.python")
    module("tensorflow.python.util")
    module("tensorflow.python.util.tf_export", keras_export=identity)
    module("tensorflow.python.platform")
    module("tensorflow.python.platform.tf_logging", warning=lambda *a, **k: None, info=lambda *a, **k: None)
    backend = module("tf_keras.backend", image_data_format=lambda: "channels_last",
                     int_shape=lambda t: t.shape, is_keras_tensor=lambda t: isinstance(t, KTensor),
                     get_uid=get_uid, name_scope=_NameScope)
    layer_utils = module("tf_keras.utils.layer_utils", get_source_inputs=lambda t: [t])
    data_utils = module("tf_keras.utils.data_utils", get_file=lambda *a, **k: "/nonexistent.h5")
    utils = module("tf_keras.utils", layer_utils=layer_utils, data_utils=data_utils,
                   register_keras_serializable=register_keras_serializable)
    imagenet_utils = module(
        "tf_keras.applications.imagenet_utils",
        obtain_input_shape=lambda input_shape, default_size, **k: (input_shape if input_shape is not None
                                                                  else (default_size, default_size, 3)),
        correct_pad=correct_pad, validate_activation=lambda *a: None,
        preprocess_input=lambda *a, **k: None, decode_predictions=lambda *a, **k: None,
        PREPROCESS_INPUT_DOC="{mode}{ret}{error}", PREPROCESS_INPUT_RET_DOC_TF="",
        PREPROCESS_INPUT_RET_DOC_TORCH="", PREPROCESS_INPUT_RET_DOC_CAFFE="", PREPROCESS_INPUT_ERROR_DOC="")
    training = module("tf_keras.engine.training", Model=Model)
    sequential = module("tf_keras.engine.sequential", Sequential=Sequential)
    module("tf_keras.engine", training=training, sequential=sequential)
    initializers = module("tf_keras.initializers", Constant=lambda v: None)
    apps = module("tf_keras.applications", imagenet_utils=imagenet_utils)
    models = module("tf_keras.models", Model=Model)
    module("tf_keras", backend=backend, layers=LAYERS, utils=utils, initializers=initializers,
           applications=apps, models=models)
    sys.modules["tf_keras.layers"] = LAYERS


def load_application(src, name, rewrite=None):
    """Runs tf_keras/applications/<name>.py from @src's git HEAD against the stand-in
    (its text through @rewrite first, for a reduced version)."""
    text = subprocess.run(["git", "-C", src, "show", "HEAD:tf_keras/applications/%s.py" % name],
                          check=True, capture_output=True, text=True).stdout
    if rewrite is not None:
        text = rewrite(text)
    m = types.ModuleType("tf_keras.applications." + name)
    m.__file__ = name + ".py"
    sys.modules[m.__name__] = m
    setattr(sys.modules["tf_keras.applications"], name, m)
    exec(compile(text, m.__file__, "exec"), m.__dict__)
    return m


# name -> (module, function, input size, extra keyword arguments)
ARCHITECTURES = {
    "inception_v3": ("inception_v3", "InceptionV3", 299, {}),
    "resnet50": ("resnet", "ResNet50", 224, {}),
    "resnet50v2": ("resnet_v2", "ResNet50V2", 224, {}),
    "densenet121": ("densenet", "DenseNet121", 224, {}),
    "xception": ("xception", "Xception", 299, {}),
    "efficientnetb0": ("efficientnet", "EfficientNetB0", 224, {}),
    "mobilenet": ("mobilenet", "MobileNet", 224, {}),
    "mobilenet_v3_small": ("mobilenet_v3", "MobileNetV3Small", 224, {}),
    "nasnet_mobile": ("nasnet", "NASNetMobile", 224, {}),
    "convnext_tiny": ("convnext", "ConvNeXtTiny", 224, {}),
    "vgg16": ("vgg16", "VGG16", 224, {}),
    "mobilenet_transfer": (None, None, 224, {}),   # transfer_model()
    "inception_resnet_v2": ("inception_resnet_v2", "InceptionResNetV2", 299, {}),
    "inception_resnet_v2_lambda": ("inception_resnet_v2", "InceptionResNetV2", 299, {}),   # SMALL_REWRITE
    "efficientnetv2b0": ("efficientnet_v2", "EfficientNetV2B0", 224, {}),
    "efficientnetv2s": ("efficientnet_v2", "EfficientNetV2S", 384, {}),
    "regnetx002": ("regnet", "RegNetX002", 224, {}),
    "regnety002": ("regnet", "RegNetY002", 224, {}),
    "resnetrs50": ("resnet_rs", "ResNetRS50", 224, {}),
    "resnet101": ("resnet", "ResNet101", 224, {}),
    "resnet152v2": ("resnet_v2", "ResNet152V2", 224, {}),
    "densenet169": ("densenet", "DenseNet169", 224, {}),
    "mobilenet_v3_large": ("mobilenet_v3", "MobileNetV3Large", 224, {}),
    "nasnet_large": ("nasnet", "NASNetLarge", 331, {}),
    "efficientnetb3": ("efficientnet", "EfficientNetB3", 300, {}),
}


# Reduced versions small enough to commit with their weights (tests/data/keras-apps/):
# the applications' own generic builders at a smaller width, depth and input, 10 classes.
SMALL = {
    "mobilenet_small": ("mobilenet", "MobileNet", 64, dict(alpha=0.25, classes=10, weights=None)),
    "efficientnet_small": ("efficientnet", "EfficientNet", 64, dict(
        width_coefficient=0.25, depth_coefficient=0.3, default_size=64, model_name="efficientnet_small",
        classes=10, weights=None)),
    "convnext_small": ("convnext", "ConvNeXt", 64, dict(
        depths=[1, 1, 2, 1], projection_dims=[16, 24, 32, 48], drop_path_rate=0.1, model_name="convnext_small",
        classes=10, weights=None)),
    "nasnet_small": ("nasnet", "NASNet", 64, dict(
        penultimate_filters=96, num_blocks=1, stem_block_filters=8, skip_reduction=False, classes=10,
        weights=None, default_size=64)),
    "xception_small": ("xception", "Xception", 71, dict(classes=10, weights=None)),   # SMALL_REWRITE
    "inception_resnet_v2_small": ("inception_resnet_v2", "InceptionResNetV2", 75,
                                  dict(classes=10, weights=None)),   # SMALL_REWRITE: tf.keras 2.11's Lambda
    "efficientnetv2_small": ("efficientnet_v2", "EfficientNetV2", 64, dict(
        width_coefficient=0.125, depth_coefficient=0.2, default_size=64, model_name="efficientnetv2-b0",
        classes=10, weights=None)),
    "mobilenet_v3_large_small": ("mobilenet_v3", "MobileNetV3", 64, dict(
        stack_fn=lambda m: mobilenet_v3_large_stack(m), last_point_ch=64, model_type="large", classes=10,
        weights=None)),
    "regnety_small": ("regnet", "RegNet", 64, dict(
        depths=[1, 1, 2, 1], widths=[8, 16, 24, 32], group_width=8, block_type="Y", default_size=64,
        model_name="regnety_small", classes=10, weights=None)),
}
SMALL_PREPROCESS = {"mobilenet_small": "tf", "efficientnet_small": "none", "convnext_small": "none",
                    "nasnet_small": "tf", "xception_small": "tf", "inception_resnet_v2_small": "tf",
                    "efficientnetv2_small": "none", "regnety_small": "none",
                    "mobilenet_v3_large_small": "none"}

# Xception's filter counts in the reduced version: its builder has no width or depth argument.
XCEPTION_WIDTHS = {32: 8, 64: 8, 128: 16, 256: 16, 728: 24, 1024: 32, 1536: 32, 2048: 48}


def shrink_xception(text):
    """Xception's own code (tf-keras' or Keras 3's) with its 19 convolutions narrowed by
    XCEPTION_WIDTHS and one middle-flow block instead of eight; the graph is otherwise
    the application's, at its smallest input (71 x 71)."""
    text, convs = re.subn(r"\b(%s)(,\s*\(\d, \d\))" % "|".join(str(w) for w in XCEPTION_WIDTHS),
                          lambda m: str(XCEPTION_WIDTHS[int(m.group(1))]) + m.group(2), text)
    text, loops = re.subn(r"\brange\(8\)", "range(1)", text)
    if convs != 19 or loops != 1:
        raise ValueError("xception.py is not the one shrink_xception knows (%d filter counts, %d loops)"
                         % (convs, loops))
    return text


def mobilenet_v3_large_stack(m):
    """The stack_fn of a reduced MobileNetV3Large: its block kinds (ReLU and hard-swish,
    with and without the hard-sigmoid squeeze-and-excitation, residual Adds) at 8-24 filters."""
    def stack_fn(x, kernel, activation, se_ratio):
        x = m._inverted_res_block(x, 1, 8, 3, 1, None, m.relu, 0)
        x = m._inverted_res_block(x, 4, 12, 3, 2, None, m.relu, 1)
        x = m._inverted_res_block(x, 3, 16, kernel, 2, se_ratio, m.relu, 2)
        x = m._inverted_res_block(x, 6, 16, 3, 1, None, activation, 3)
        return m._inverted_res_block(x, 6, 24, kernel, 1, se_ratio, activation, 4)
    return stack_fn


def shrink_inception_resnet_v2(text):
    """InceptionResNetV2's own code (tf-keras' or Keras 3's) with every conv2d_bn's filters
    divided by 16 and one block of each kind (block35, block17, and block8's final unactivated
    one), at its smallest input (75 x 75)."""
    text, convs = re.subn(r"conv2d_bn\(\s*(\w+),\s*(\d+),",
                          lambda m: "conv2d_bn(%s, %d," % (m.group(1), max(2, int(m.group(2)) // 16)), text)
    text, loops = re.subn(r"range\(1, (11|21)\)", "range(1, 2)", text)
    text, last = re.subn(r"range\(1, 10\)", "range(1, 1)", text)
    if convs != 38 or loops != 2 or last != 1:
        raise ValueError("inception_resnet_v2.py is not the one shrink_inception_resnet_v2 knows")
    return text


def scale_lambda(text):
    """InceptionResNetV2 as tf.keras 2.0-2.11 wrote its scaled residual: a Lambda
    (keras/applications/inception_resnet_v2.py before CustomScaleLayer replaced it)."""
    old = "x = CustomScaleLayer(scale)([x, up])"
    if text.count(old) != 1:
        raise ValueError("inception_resnet_v2.py is not the one scale_lambda knows")
    return text.replace(old, "x = layers.Lambda(lambda inputs, scale: inputs[0] + inputs[1] * scale, "
                        "output_shape=backend.int_shape(x)[1:], arguments={'scale': scale}, name=block_name)([x, up])")


SMALL_REWRITE = {"xception_small": shrink_xception,
                 "inception_resnet_v2_small": lambda text: scale_lambda(shrink_inception_resnet_v2(text)),
                 "inception_resnet_v2_lambda": scale_lambda}
# Images per reduced model: fewer where they are large (71 x 71 floats do not compress).
SMALL_IMAGES = {"xception_small": 4, "inception_resnet_v2_small": 4}


def transfer_model(src):
    """What fine-tuning writes: a headless MobileNet called inside a new model, a new head."""
    m = load_application(src, "mobilenet")
    base = m.MobileNet(weights="imagenet", include_top=False, input_shape=(224, 224, 3))
    inputs = Input(shape=(224, 224, 3))
    x = base(inputs, training=False)
    x = GlobalAveragePooling2D()(x)
    x = Dropout(0.2)(x)
    outputs = Dense(5, activation="softmax")(x)
    return Model(inputs, outputs)


def build_model(src, name, size=None, weights="imagenet", **extra):
    if name == "mobilenet_transfer":
        reset_names()
        del CURRENT_GRAPH[:]
        return transfer_model(src)
    module_name, function, default_size, kwargs = ARCHITECTURES[name] if name in ARCHITECTURES else SMALL[name]
    if "weights" in kwargs:
        weights = kwargs["weights"]
        kwargs = {k: v for k, v in kwargs.items() if k != "weights"}
    reset_names()
    del CURRENT_GRAPH[:]
    if module_name == "resnet_v2":
        load_application(src, "resnet")
    m = load_application(src, module_name, SMALL_REWRITE.get(name))
    kwargs = dict(kwargs)
    if "stack_fn" in kwargs:
        kwargs["stack_fn"] = kwargs["stack_fn"](m)
    kwargs.update(extra)
    size = size or default_size
    return getattr(m, function)(weights=weights, input_shape=(size, size, 3), **kwargs)


# ---------------------------------------------------------------------------
# weights and the h5 file
# ---------------------------------------------------------------------------

def random_weight(rng, layer, name, shape, kind, dtype):
    """Seeded values that keep activations of a deep random network in range."""
    if dtype == "int64":
        return np.asarray(1000, dtype=np.int64).reshape(shape)
    if kind in ("gamma",):
        return rng.uniform(0.6, 1.2, shape).astype(np.float32)
    if kind in ("beta", "bias", "moving_mean"):
        return rng.normal(0.0, 0.1, shape).astype(np.float32)
    if kind == "moving_variance":
        return rng.uniform(0.5, 1.5, shape).astype(np.float32)
    if kind == "norm_mean":
        return np.asarray([0.485, 0.456, 0.406][:shape[0]] * (shape[0] // 3 or 1), np.float32)[:shape[0]]
    if kind == "norm_variance":
        return np.asarray([0.229 ** 2, 0.224 ** 2, 0.225 ** 2] * (shape[0] // 3 or 1), np.float32)[:shape[0]]
    if len(shape) == 1:     # LayerScale's gamma: ConvNeXt's 1e-6 would hide the blocks
        return rng.uniform(0.1, 0.3, shape).astype(np.float32)
    if len(shape) == 4:
        fan_in = shape[0] * shape[1] * shape[2]
    else:
        fan_in = shape[0]
    return (rng.normal(0.0, 1.0, shape) * math.sqrt(1.5 / fan_in)).astype(np.float32)


def save_h5(model, path, seed=0):
    """Keras 2's legacy h5 save (tf_keras/saving/legacy/hdf5_format.py):
    model_config as UTF-8 bytes, layer groups created in name order (so a
    name that is a prefix of another's path, "expanded_conv/depthwise" and
    "expanded_conv/depthwise/pad", comes first), weight_names on every
    layer group (an empty float array for a layer without weights), and
    top_level_model_weights."""
    rng = np.random.default_rng(seed)
    config = model.to_config()
    metadata = {"keras_version": KERAS_VERSION, "backend": "tensorflow",
                "model_config": {"class_name": config["class_name"], "config": config["config"]}}
    values = {}
    for layer in model.layers:
        for w in layer.legacy_weights():
            values[(layer.name, w[0])] = None
    with h5py.File(path, "w") as f:
        for key, value in metadata.items():
            f.attrs[key] = json.dumps(value, default=_json_default).encode("utf8") if isinstance(value, dict) else value
        g = f.create_group("model_weights")
        save_attributes(g, "layer_names", [l.name.encode("utf8") for l in model.layers])
        g.attrs["backend"] = b"tensorflow"
        g.attrs["keras_version"] = KERAS_VERSION.encode("utf8")
        # values drawn in model order, whatever order the groups are written in
        for layer in model.layers:
            for w in layer.legacy_weights():
                wname, shape, kind, trainable, dtype = w
                owner = layer
                if isinstance(layer, Model):
                    owner = next(l for l in layer.seq_layers if wname.startswith(l.name + "/"))
                values[(layer.name, wname)] = random_weight(rng, owner, wname.split("/")[-1], shape, kind, dtype)
        for layer in sorted(model.layers, key=lambda l: l.name):
            lg = g.create_group(layer.name)
            names = []
            for w in layer.legacy_weights():
                wname = w[0]
                full = (wname if isinstance(layer, Model) else layer.name + "/" + wname) + ":0"
                names.append(full.encode("utf8"))
            save_attributes(lg, "weight_names", names)
            for w, full in zip(layer.legacy_weights(), names):
                lg.create_dataset(full.decode(), data=values[(layer.name, w[0])])
        top = g.create_group("top_level_model_weights")
        save_attributes(top, "weight_names", [])
    return metadata["model_config"]


HDF5_OBJECT_HEADER_LIMIT = 64512


def save_attributes(group, name, data):
    """save_attributes_to_hdf5_group: split into name0, name1, ... past 64 KB."""
    data_npy = np.asarray(data)
    chunks = 1
    chunked = np.array_split(data_npy, chunks)
    while any(x.nbytes > HDF5_OBJECT_HEADER_LIMIT for x in chunked):
        chunks += 1
        chunked = np.array_split(data_npy, chunks)
    if chunks > 1:
        for i, chunk in enumerate(chunked):
            group.attrs["%s%d" % (name, i)] = chunk
    else:
        group.attrs[name] = data_npy


def _json_default(value):
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    raise TypeError(repr(value))


# ---------------------------------------------------------------------------
# The reference: a Keras model_config interpreted in PyTorch
# ---------------------------------------------------------------------------

class Reference:
    """Runs a tf.keras 2.x model_config on NHWC float64 tensors, weights read from the h5 file."""

    def __init__(self, path, calibrate=False):
        import torch
        self.torch = torch
        self.calibrate = calibrate
        self.f = h5py.File(path, "r+" if calibrate else "r")
        self.config = json.loads(self.f.attrs["model_config"])
        self.weights = self.f["model_weights"]

    def weight(self, group, layer, name):
        g = self.weights[group]
        names = [n.decode() if isinstance(n, bytes) else n for n in g.attrs["weight_names"]]
        for n in names:
            parts = n.split("/")
            if parts[-1].split(":")[0] == name and "/".join(parts[:-1]) == layer:
                return self.torch.from_numpy(np.asarray(g[n], dtype=np.float64))
        return None

    def set_weight(self, group, layer, name, values):
        g = self.weights[group]
        for n in g.attrs["weight_names"]:
            n = n.decode() if isinstance(n, bytes) else n
            if n == layer + "/" + name + ":0":
                g[n][...] = values.numpy().astype(np.float32)
                return
        raise KeyError(layer + "/" + name)

    def run(self, images):
        torch = self.torch
        x = torch.from_numpy(np.asarray(images, dtype=np.float64))
        values = {}
        out = self.model(self.config, x, values, None)
        return out.numpy()

    def is_output(self, layer):
        return layer["config"]["name"] == self.config["config"]["output_layers"][0][0]

    def model(self, model, x, values, group):
        config = model["config"]
        layers = config["layers"]
        local = {}
        if model["class_name"] == "Sequential":
            t = x
            for layer in layers:
                if layer["class_name"] == "InputLayer":
                    continue
                t = self.step(layer, [t], {}, group or config["name"])
            return t
        for layer in layers:
            name = layer["config"]["name"]
            if layer["class_name"] == "InputLayer":
                local[name] = self.input_value(name, x)
                continue
            node = layer["inbound_nodes"][0]
            inputs = [local[entry[0]] for entry in node]
            kwargs = node[0][3] if len(node[0]) > 3 else {}
            if layer["class_name"] in ("Functional", "Sequential", "Model"):
                local[name] = self.model(layer, inputs[0], values, name)
            else:
                local[name] = self.step(layer, inputs, kwargs, group, local)
        return local[config["output_layers"][0][0]]

    # ---- fake quantization of the engine's integer path ------------------------------------

    def input_names(self, layer):
        """The layers a Keras 2 layer reads (a TFOpLambda's tensor y included)."""
        node = layer["inbound_nodes"][0]
        names = [entry[0] for entry in node]
        y = node[0][3].get("y") if len(node[0]) > 3 else None
        if isinstance(y, list) and y and isinstance(y[0], str):
            names.append(y[0])
        return names

    def scalar_op(self, layer):
        """("add" | "multiply" | "divide", constant) of an operator on a tensor and a number, else None."""
        if layer["class_name"] != "TFOpLambda":
            return None
        node = layer["inbound_nodes"][0]
        y = node[0][3].get("y") if len(node[0]) > 3 else None
        kind = {"__operators__.add": "add", "math.multiply": "multiply",
                "math.truediv": "divide"}.get(layer["config"]["function"])
        return (kind, float(y)) if kind is not None and isinstance(y, (int, float)) else None

    def plan(self):
        """How Quantscope's Keras reader and engine run each layer in integers, from the config:
        name -> (kind, ...), and the quantization point each layer's value is on."""
        entries, inputs_of, alias = {}, {}, {}

        def walk(model, outer_inputs):
            last = None
            for layer in model["config"]["layers"]:
                cls, name = layer["class_name"], layer["config"]["name"]
                if cls == "InputLayer":
                    if outer_inputs is None:
                        entries[name], inputs_of[name] = layer, []
                    continue
                ins = (outer_inputs if last is None else [last]) if model["class_name"] == "Sequential" \
                    else self.input_names(layer)
                if cls in ("Sequential", "Functional", "Model"):
                    if cls != "Sequential":
                        raise ValueError("fake quantization: nested functional model " + name)
                    alias[name] = walk(layer, ins)
                elif cls in ("Conv1D", "Conv3D", "Conv2DTranspose"):
                    raise ValueError("fake quantization: no rule for %s layer %s" % (cls, name))
                else:
                    entries[name], inputs_of[name] = layer, ins
                last = alias.get(name, name)
            return last
        walk(self.config, None)
        resolve = lambda n: alias.get(n, n)
        inputs_of = {n: [resolve(i) for i in ins] for n, ins in inputs_of.items()}
        readers = {}
        for n, ins in inputs_of.items():
            for i in ins:
                readers.setdefault(i, []).append(n)
        out = resolve(self.output_name())
        only = lambda n: entries[readers[n][0]] if n != out and len(readers.get(n, [])) == 1 else None
        plan, point = {}, {}

        def plain_relu(layer):
            c = layer["config"]
            if layer["class_name"] == "ReLU" and not c["negative_slope"] and not c["threshold"]:
                return math.inf if c["max_value"] is None else c["max_value"]
            if layer["class_name"] == "Activation" and c["activation"] in ("relu", "relu6"):
                return 6.0 if c["activation"] == "relu6" else math.inf
            return None

        for name, layer in entries.items():
            cls, c = layer["class_name"], layer["config"]
            ins = inputs_of[name]
            if name in plan:
                continue
            if not ins:
                first = only(name)
                plan[name] = ("prefix",) if first is not None and first["class_name"] in ("Rescaling", "Normalization") \
                    else ("own",)
                point[name] = name
                continue
            if plan[ins[0]][0] == "prefix" and cls in ("Rescaling", "Normalization"):
                nxt = only(name)
                plan[name] = ("prefix",) if nxt is not None and nxt["class_name"] in ("Rescaling", "Normalization") \
                    else ("own",)
                point[name] = name
                continue
            if cls in ("Conv2D", "DepthwiseConv2D", "SeparableConv2D", "Dense"):
                act = c["activation"]
                tail, bn, cap = name, None, None
                if act == "linear":
                    nxt = only(tail)
                    if nxt is not None and nxt["class_name"] == "BatchNormalization":
                        bn = nxt
                        tail = nxt["config"]["name"]
                    nxt = only(tail)
                    if nxt is not None and plain_relu(nxt) is not None:
                        cap = plain_relu(nxt)
                        tail = nxt["config"]["name"]
                elif act in ("relu", "relu6"):
                    cap = 6.0 if act == "relu6" else math.inf
                if act == "softmax" and name == out:
                    act = "linear"
                plan[name] = ("weighted", tail, bn, cap, None if act in ("linear", "relu", "relu6") else act)
                for n in (name, tail) + ((bn["config"]["name"],) if bn is not None else ()):
                    point[n] = tail
                    if n != name:
                        plan[n] = ("absorbed", tail)
                continue
            op = self.scalar_op(layer)
            if op == ("add", 3.0):
                relu = only(name)
                sixth = only(relu["config"]["name"]) if relu is not None and plain_relu(relu) == 6.0 else None
                sop = self.scalar_op(sixth) if sixth is not None else None
                if sop is not None and (sop[0] == "multiply" and abs(sop[1] - 1 / 6) < 1e-6 or sop == ("divide", 6.0)):
                    chain = [relu["config"]["name"], sixth["config"]["name"]]
                    product = only(chain[-1])
                    if (product is not None and product["class_name"] == "Multiply"
                            and sorted(inputs_of[product["config"]["name"]]) == sorted([ins[0], chain[-1]])):
                        chain.append(product["config"]["name"])
                    plan[name] = ("hard", chain[-1], len(chain) == 3)
                    for n in [name] + chain:
                        point[n] = chain[-1]
                        if n != name:
                            plan[n] = ("absorbed", chain[-1])
                    continue
            if self.scaled_residual(layer) is not None:
                # Quantscope's reader: an affine layer "<name>/scale" on r (its own value), then the Add
                plan[name], point[name] = ("scaled", self.scaled_residual(layer)), name
            elif cls in ("Dropout", "StochasticDepth") or (cls == "Activation" and c["activation"] == "linear"):
                plan[name], point[name] = ("identity",), point[ins[0]]
            elif cls == "Activation" and c["activation"] == "softmax" and name == out:
                plan[name], point[name] = ("identity",), point[ins[0]]
            elif cls in ("ZeroPadding2D", "Cropping2D", "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D",
                         "GlobalMaxPooling2D", "Flatten", "Reshape") or plain_relu(layer) is not None:
                plan[name], point[name] = ("shares",), point[ins[0]]
            else:
                plan[name], point[name] = ("own",), name
        self.qplan, self.qpoint, self.qinputs = plan, point, inputs_of

    def output_name(self):
        return self.config["config"]["output_layers"][0][0]

    @staticmethod
    def scaled_residual(layer):
        """InceptionResNetV2's x + r * scale: CustomScaleLayer's scale, or that of tf.keras 2.0-2.11's
        Lambda (its Python function is the application's; this script wrote it), else None."""
        c = layer["config"]
        if layer["class_name"] == "CustomScaleLayer":
            return c["scale"]
        if layer["class_name"] == "Lambda" and c["module"].endswith("applications.inception_resnet_v2"):
            return c["arguments"]["scale"]
        return None

    def observe(self, point, v):
        lo, hi = float(v.min()), float(v.max())
        old = self.ranges.get(point, (lo, hi))
        self.ranges[point] = (min(old[0], lo), max(old[1], hi))

    def quant(self, point, v):
        """@v fake-quantized at @point (calibrating: its range observed)."""
        torch = self.torch
        if self.qmode == "calibrate":
            self.observe(point, v)
            return v
        s, z = self.qparams[point]
        return torch.fake_quantize_per_tensor_affine(v.float(), s, z, 0, 255).double()

    def input_value(self, name, x):
        if self.qmode is None or self.qplan[name][0] == "prefix":
            return x
        return self.quant(name, x)

    def step(self, layer, inputs, kwargs, group, local=None):
        """One layer of the interpreter, or of its fake quantization (qmode)."""
        if self.qmode is None:
            return self.layer(layer, inputs, kwargs, group, local)
        name = layer["config"]["name"]
        plan = self.qplan[name]
        if plan[0] == "absorbed":
            return self.qvalues[plan[1]]
        if plan[0] == "weighted":
            return self.weighted_step(layer, inputs[0], group, *plan[1:])
        if plan[0] == "hard":
            x = inputs[0]
            y = torch_hard = self.torch.clamp(x + 3.0, 0.0, 6.0) / 6.0
            if plan[2]:
                y = x * torch_hard
            self.qvalues[plan[1]] = self.quant(plan[1], y)
            return self.qvalues[plan[1]]
        if plan[0] == "scaled":
            r = inputs[1] if plan[1] == 1.0 else self.quant(name + "/scale", inputs[1] * plan[1])
            return self.quant(name, inputs[0] + r)
        y = self.layer(layer, inputs, kwargs, group, local)
        if plan[0] in ("prefix", "identity"):
            return y
        return self.quant(self.qpoint[name], y)

    def fake_quant_weight(self, weight):
        """@weight (output channels first) and its scales under the default weight scheme."""
        import engine_reference
        scheme = next(sc for sc in engine_reference.SCHEMES if sc["name"] == "w8-channel-symmetric-narrow")
        return engine_reference.weight_fake_quant(weight.contiguous(), scheme, with_scale=True)

    def weighted_step(self, layer, x, group, tail, bn, cap, activation):
        torch = self.torch
        cls, c, name = layer["class_name"], layer["config"], layer["config"]["name"]
        w = lambda n: self.weight(group or name, name, n)
        source = self.qpoint[self.qinputs[name][0]]
        window = None if cls == "Dense" else (c["strides"], c["padding"], c["dilation_rate"])
        groups = x.shape[-1] if cls == "DepthwiseConv2D" else c.get("groups", 1)
        if cls == "SeparableConv2D":
            # Quantscope's reader makes it two engine layers: "<name>/depthwise" (its own weights,
            # no bias, an output value with parameters of its own), then the pointwise Conv2D
            # that the bias, the folded BatchNormalization and the fused ReLU belong to.
            depthwise = self.depthwise_weight(w("depthwise_kernel")).float()
            if self.qmode == "quantize":
                depthwise = self.fake_quant_weight(depthwise)[0]
            source = name + "/depthwise"
            x = self.quant(source, self.conv(x, depthwise.double(), None, *window, x.shape[-1]))
            weight = w("pointwise_kernel").permute(3, 2, 0, 1)
            window, groups = ((1, 1), "valid", (1, 1)), 1
        elif cls == "DepthwiseConv2D":
            weight = self.depthwise_weight(w("depthwise_kernel"))
        elif cls == "Conv2D":
            weight = w("kernel").permute(3, 2, 0, 1)
        else:
            weight = w("kernel").t()
        bias = w("bias") if c["use_bias"] else torch.zeros(weight.shape[0], dtype=torch.float64)
        if bn is not None:
            bw = lambda n: self.weight(group or bn["config"]["name"], bn["config"]["name"], n)
            f = (bw("gamma") if bn["config"]["scale"] else 1.0) / torch.sqrt(bw("moving_variance")
                                                                             + bn["config"]["epsilon"])
            weight = weight * f.reshape(-1, *([1] * (weight.dim() - 1)))
            bias = (bias - bw("moving_mean")) * f + (bw("beta") if bn["config"]["center"] else 0.0)
        weight, bias = weight.float(), bias.float().double()
        if self.qmode == "quantize":
            weight, w_scale = self.fake_quant_weight(weight)
            step = self.qparams[source][0] * w_scale.double()
            q = bias / step
            bias = torch.sign(q) * torch.floor(q.abs() + 0.5) * step
        weight = weight.double()
        if cls == "Dense":
            y = x @ weight.t() + bias
        else:
            y = self.conv(x, weight, bias, *window, groups)
        if cap is not None:
            y = torch.clamp(y, 0.0, cap)
        if activation is not None:
            y = self.activation(self.quant(name + "/linear", y), activation)
        self.qvalues[tail] = self.quant(tail, y)
        return self.qvalues[tail]

    def run_fake_quant(self, calibration, images):
        """The logits of the engine's default integer path as PyTorch fake quantization:
        per-channel symmetric int8 weights [-127, 127] (BatchNormalization folded first),
        int32 biases, asymmetric per-tensor 8-bit activations from the min/max of
        @calibration, one quantization point per value the engine gives parameters of its own."""
        from torch.ao.quantization.observer import MinMaxObserver
        self.plan()
        self.ranges, self.qvalues = {}, {}
        self.qmode = "calibrate"
        self.run(calibration)
        self.qparams = {}
        for point, (lo, hi) in self.ranges.items():
            obs = MinMaxObserver(dtype=self.torch.quint8, qscheme=self.torch.per_tensor_affine, quant_min=0,
                                 quant_max=255)
            obs(self.torch.tensor([lo, hi], dtype=self.torch.float32))
            s, z = obs.calculate_qparams()
            self.qparams[point] = (float(s), int(z))
        self.qmode = "quantize"
        try:
            return self.run(images)
        finally:
            self.qmode = None

    qmode = None

    def depthwise_weight(self, kernel):
        """A Keras depthwise kernel [kh][kw][cin][m] as PyTorch's grouped weight [cin * m][1][kh][kw]."""
        kh, kw, cin, m = kernel.shape
        return kernel.permute(2, 3, 0, 1).reshape(cin * m, 1, kh, kw)

    def layer(self, layer, inputs, kwargs, group, local=None):
        torch = self.torch
        F = torch.nn.functional
        cls = layer["class_name"]
        c = layer["config"]
        name = c["name"]
        g = group or name
        x = inputs[0]
        w = lambda n: self.weight(g, name, n)
        if cls in ("Conv2D", "DepthwiseConv2D"):
            kernel = w("depthwise_kernel") if cls == "DepthwiseConv2D" else w("kernel")
            cin = x.shape[-1]
            if cls == "DepthwiseConv2D":
                weight = self.depthwise_weight(kernel)
                groups = cin
            else:
                weight = kernel.permute(3, 2, 0, 1)
                groups = c.get("groups", 1)
            y = self.conv(x, weight, w("bias") if c["use_bias"] else None, c["strides"], c["padding"],
                          c["dilation_rate"], groups)
            return self.activation(y, c["activation"])
        if cls == "SeparableConv2D":
            y = self.conv(x, self.depthwise_weight(w("depthwise_kernel")), None, c["strides"], c["padding"],
                          c["dilation_rate"], x.shape[-1])
            y = self.conv(y, w("pointwise_kernel").permute(3, 2, 0, 1), w("bias") if c["use_bias"] else None,
                          (1, 1), "valid", (1, 1), 1)
            return self.activation(y, c["activation"])
        if cls == "Dense":
            y = x @ w("kernel")
            if c["use_bias"]:
                y = y + w("bias")
            if c["activation"] == "softmax" and self.is_output(layer):
                return y
            return self.activation(y, c["activation"])
        if cls == "BatchNormalization":
            if self.calibrate:
                # a trained network's statistics: those of the data
                dims = tuple(range(x.dim() - 1))
                self.set_weight(g, name, "moving_mean", x.mean(dim=dims))
                self.set_weight(g, name, "moving_variance", x.var(dim=dims, unbiased=False))
            gamma = w("gamma") if c["scale"] else 1.0
            beta = w("beta") if c["center"] else 0.0
            return (x - w("moving_mean")) / torch.sqrt(w("moving_variance") + c["epsilon"]) * gamma + beta
        if cls == "LayerNormalization":
            mean = x.mean(dim=-1, keepdim=True)
            var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)
            y = (x - mean) / torch.sqrt(var + c["epsilon"])
            if c["scale"]:
                y = y * w("gamma")
            if c["center"]:
                y = y + w("beta")
            return y
        if cls == "LayerScale":
            return x * w("gamma")
        if self.scaled_residual(layer) is not None:
            return inputs[0] + inputs[1] * self.scaled_residual(layer)
        if cls in ("StochasticDepth", "Dropout"):
            return x
        if cls == "Activation":
            if c["activation"] == "softmax" and self.is_output(layer):
                return x   # the logits: the engine scores the argmax, which softmax keeps
            return self.activation(x, c["activation"])
        if cls == "ReLU":
            y = torch.where(x >= c["threshold"], x, c["negative_slope"] * (x - c["threshold"]))
            if c["max_value"] is not None:
                y = torch.clamp(y, max=c["max_value"])
            return y
        if cls == "Rescaling":
            return x * torch.tensor(c["scale"], dtype=x.dtype) + torch.tensor(c["offset"], dtype=x.dtype)
        if cls == "Normalization":
            mean = w("mean")
            var = w("variance")
            if mean is None:
                mean = torch.tensor(c["mean"], dtype=x.dtype)
                var = torch.tensor(c["variance"], dtype=x.dtype)
            return (x - mean) / torch.clamp(torch.sqrt(var), min=1e-7)
        if cls == "ZeroPadding2D":
            (t, b), (l, r) = c["padding"]
            return F.pad(x, (0, 0, l, r, t, b))
        if cls == "Cropping2D":
            (t, b), (l, r) = c["cropping"]
            return x[:, t:x.shape[1] - b, l:x.shape[2] - r, :]
        if cls in ("MaxPooling2D", "AveragePooling2D"):
            return self.pool(x, cls == "MaxPooling2D", c["pool_size"], c["strides"], c["padding"])
        if cls in ("GlobalAveragePooling2D", "GlobalMaxPooling2D"):
            y = x.mean(dim=(1, 2), keepdim=True) if cls == "GlobalAveragePooling2D" else x.amax(dim=(1, 2), keepdim=True)
            return y if c.get("keepdims") else y.reshape(y.shape[0], -1)
        if cls == "Flatten":
            return x.reshape(x.shape[0], -1)
        if cls == "Reshape":
            return x.reshape((x.shape[0],) + tuple(c["target_shape"]))
        if cls == "Add":
            return sum(inputs[1:], inputs[0])
        if cls == "Multiply":
            y = inputs[0]
            for other in inputs[1:]:
                y = y * other
            return y
        if cls == "Concatenate":
            return torch.cat(inputs, dim=c["axis"] if c["axis"] < 0 else c["axis"])
        if cls == "TFOpLambda":
            y = kwargs["y"]
            if isinstance(y, list) and y and isinstance(y[0], str):
                y = local[y[0]]
            else:
                y = torch.tensor(y, dtype=x.dtype)
            return {"__operators__.add": torch.add, "math.multiply": torch.mul, "math.subtract": torch.sub,
                    "math.truediv": torch.div}[c["function"]](x, y)
        raise ValueError("reference: no rule for %s layer %s" % (cls, name))

    def same_pads(self, size, kernel, stride, dilation):
        effective = (kernel - 1) * dilation + 1
        out = (size + stride - 1) // stride
        total = max((out - 1) * stride + effective - size, 0)
        return total // 2, total - total // 2

    def conv(self, x, weight, bias, strides, padding, dilation, groups):
        F = self.torch.nn.functional
        t = x.permute(0, 3, 1, 2)
        if padding == "same":
            pt, pb = self.same_pads(t.shape[2], weight.shape[2], strides[0], dilation[0])
            pl, pr = self.same_pads(t.shape[3], weight.shape[3], strides[1], dilation[1])
            t = F.pad(t, (pl, pr, pt, pb))
        y = F.conv2d(t, weight, bias, stride=tuple(strides), dilation=tuple(dilation), groups=groups)
        return y.permute(0, 2, 3, 1)

    def pool(self, x, is_max, size, strides, padding):
        torch = self.torch
        F = torch.nn.functional
        t = x.permute(0, 3, 1, 2)
        if padding == "same":
            pt, pb = self.same_pads(t.shape[2], size[0], strides[0], 1)
            pl, pr = self.same_pads(t.shape[3], size[1], strides[1], 1)
        else:
            pt = pb = pl = pr = 0
        if is_max:
            t = F.pad(t, (pl, pr, pt, pb), value=-math.inf)
            y = F.max_pool2d(t, tuple(size), tuple(strides))
        else:
            # TF's "same" average divides by the window's valid elements only.
            ones = torch.ones_like(t[:, :1])
            total = F.avg_pool2d(F.pad(t, (pl, pr, pt, pb)), tuple(size), tuple(strides)) * size[0] * size[1]
            count = F.avg_pool2d(F.pad(ones, (pl, pr, pt, pb)), tuple(size), tuple(strides)) * size[0] * size[1]
            y = total / count
        return y.permute(0, 2, 3, 1)

    def activation(self, x, name):
        torch = self.torch
        if name == "linear":
            return x
        if name == "relu":
            return torch.relu(x)
        if name == "relu6":
            return torch.clamp(x, 0.0, 6.0)
        if name == "sigmoid":
            return torch.sigmoid(x)
        if name in ("swish", "silu"):
            return x * torch.sigmoid(x)
        if name == "gelu":
            return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))
        if name == "tanh":
            return torch.tanh(x)
        if name == "softmax":
            return torch.softmax(x, dim=-1)
        if name == "hard_sigmoid":
            return torch.clamp(0.2 * x + 0.5, 0.0, 1.0)
        raise ValueError("reference: no activation " + name)


# ---------------------------------------------------------------------------
# images
# ---------------------------------------------------------------------------

def make_images(count, size, seed):
    """Smooth random colour fields in [0, 255]: image-like, not noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / float(size)
    images = np.zeros((count, size, size, 3), dtype=np.float64)
    for n in range(count):
        for ch in range(3):
            field = np.zeros((size, size))
            for _ in range(4):
                fx, fy, phase = rng.uniform(0.5, 4.0), rng.uniform(0.5, 4.0), rng.uniform(0, 2 * math.pi)
                field += rng.uniform(0.3, 1.0) * np.sin(2 * math.pi * (fx * xx + fy * yy) + phase)
            images[n, :, :, ch] = field
    lo = images.min(axis=(1, 2, 3), keepdims=True)
    hi = images.max(axis=(1, 2, 3), keepdims=True)
    return np.round((images - lo) / (hi - lo) * 255.0)


# The Keras Applications' preprocess_input conventions: what the engine's
# --preprocess applies before a model without its own preprocessing layers.
PREPROCESS = {
    "inception_v3": "tf", "resnet50": "caffe", "resnet50v2": "tf", "densenet121": "torch", "xception": "tf",
    "efficientnetb0": "none", "mobilenet": "tf", "mobilenet_v3_small": "none", "nasnet_mobile": "tf",
    "convnext_tiny": "none", "vgg16": "caffe", "mobilenet_transfer": "tf",
    "inception_resnet_v2": "tf", "inception_resnet_v2_lambda": "tf", "efficientnetv2b0": "none",
    "efficientnetv2s": "none", "regnetx002": "none", "regnety002": "none", "resnetrs50": "none",
    "resnet101": "caffe", "resnet152v2": "tf", "densenet169": "torch", "mobilenet_v3_large": "none",
    "nasnet_large": "tf", "efficientnetb3": "none",
}


def preprocess(images, mode):
    x = np.asarray(images, dtype=np.float64)
    if mode == "tf":
        return x / 127.5 - 1.0
    if mode == "torch":
        return (x / 255.0 - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225])
    if mode == "caffe":
        return x[..., ::-1] - np.array([103.939, 116.779, 123.68])
    return x


def input_size(path):
    config = json.loads(h5py.File(path, "r").attrs["model_config"])
    for layer in config["config"]["layers"]:
        if layer["class_name"] == "InputLayer":
            return layer["config"]["batch_input_shape"][1]
    raise ValueError(path + ": no InputLayer")


def reference_entry(out_dir, name, path, count, seed, mode):
    """Images for @path's model (x preprocessed as float32, y the reference's
    classes) in <name>-images.h5, and the reference's float32 logits."""
    size = input_size(path)
    images = preprocess(make_images(count, size, seed), mode).astype(np.float32)
    logits = Reference(path).run(images)
    classes = logits.argmax(axis=1)
    images_file = name + "-images.h5"
    with h5py.File(os.path.join(out_dir, images_file), "w") as f:
        f.create_dataset("x", data=images, compression="gzip")
        f.create_dataset("y", data=classes.astype(np.int32))
    ties = []
    for i, row in enumerate(logits):
        order = np.argsort(row)[::-1]
        largest = max(1.0, float(np.abs(row).max()))
        if row[order[0]] - row[order[1]] < 1e-4 * largest:
            ties.append([i, int(order[0]), int(order[1])])
    out = {"name": name, "file": os.path.basename(path), "images": images_file, "preprocess": mode,
           "fp32_logits": [[float("%.7g" % v) for v in row] for row in logits],
           "fp32_predictions": [int(c) for c in classes], "fp32_near_ties": ties}
    add_fake_quant(out, Reference(path), images)
    return out


def add_fake_quant(entry, reference, images):
    """The fake-quantized logits of the engine's default integer path, calibrated on the images it
    scores as test-keras-apps calibrates the engine; left out where the plan has no rule."""
    try:
        logits = reference.run_fake_quant(images, images)
    except ValueError as e:
        print("%s: no fake quantization: %s" % (entry["name"], e), file=sys.stderr)
        return
    entry["int8_logits"] = [[float("%.7g" % v) for v in row] for row in logits]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keras-src", default=DEFAULT_SRC)
    parser.add_argument("--out", default="/tmp/qs-apps")
    parser.add_argument("--only", default="")
    parser.add_argument("--configs", default="", help="also write each model_config JSON into this directory")
    parser.add_argument("--predict", nargs=2, metavar=("FILE", "IMAGES"))
    parser.add_argument("--preprocess", default="none")
    parser.add_argument("--reference", action="store_true",
                        help="also write images and the reference's logits (reference.json) into --out")
    parser.add_argument("--images", type=int, default=4)
    parser.add_argument("--reuse", action="store_true", help="keep model files already in --out")
    parser.add_argument("--ci", metavar="DIR", help="write tests/data/keras-apps/ into DIR")
    parser.add_argument("--add-fake-quant", metavar="DIR",
                        help="add the fake-quantized logits to DIR/reference.json, its models unchanged")
    args = parser.parse_args()

    if args.add_fake_quant:
        path = os.path.join(args.add_fake_quant, "reference.json")
        with open(path) as f:
            reference = json.load(f)
        for entry in reference["models"]:
            with h5py.File(os.path.join(args.add_fake_quant, entry["images"]), "r") as f:
                images = f["x"][...]
            add_fake_quant(entry, Reference(os.path.join(args.add_fake_quant, entry["file"])), images)
        with open(path, "w") as out:
            json.dump(reference, out, indent=1)
            out.write("\n")
        return

    if args.predict:
        images = np.load(args.predict[1]) if args.predict[1].endswith(".npy") else None
        logits = Reference(args.predict[0]).run(preprocess(images, args.preprocess))
        json.dump(logits.tolist(), sys.stdout)
        return

    if args.ci:
        write_ci(args.keras_src, args.ci)
        return
    install_stand_in()
    os.makedirs(args.out, exist_ok=True)
    names = [n for n in args.only.split(",") if n] or list(ARCHITECTURES)
    for name in names:
        path = os.path.join(args.out, name + ".h5")
        if args.reuse and os.path.exists(path):
            continue
        model = build_model(args.keras_src, name)
        config = save_h5(model, path)
        # BatchNormalization statistics measured on images, as training leaves them
        size = model.inputs.shape[1]
        Reference(path, calibrate=True).run(preprocess(make_images(8, size, 1), PREPROCESS[name]))
        if args.configs:
            os.makedirs(args.configs, exist_ok=True)
            with open(os.path.join(args.configs, name + ".json"), "w") as out:
                json.dump(config, out, default=_json_default, indent=None, separators=(", ", ": "))
                out.write("\n")
        print("%s: %d layers -> %s" % (name, len(model.layers), path), file=sys.stderr)
    if args.reference:
        write_reference(args.out, [(name, os.path.join(args.out, name + ".h5"), PREPROCESS[name]) for name in names],
                        args.images)


def weight_manifest(path):
    """[group, weight name without ":0", shape] of every float weight of the file, in file order."""
    out = []
    with h5py.File(path, "r") as f:
        g = f["model_weights"]
        for layer in g.attrs["layer_names"]:
            layer = layer.decode()
            for n in g[layer].attrs["weight_names"]:
                n = n.decode()
                if g[layer][n].dtype.kind == "f":
                    out.append([layer, n[:-2] if n.endswith(":0") else n, list(g[layer][n].shape)])
    return out


def config_facts(config):
    """What the engine must build from a model_config, counted from the config alone."""
    weighted = 0
    layers = 0

    def walk(model):
        nonlocal weighted, layers
        for layer in model["config"]["layers"]:
            cls = layer["class_name"]
            if cls in ("Sequential", "Functional"):
                walk(layer)
                continue
            layers += 1
            if cls in ("Conv2D", "DepthwiseConv2D", "Dense"):
                weighted += 1
            elif cls == "SeparableConv2D":
                weighted += 2
    walk(config)
    return layers, weighted


# Configs larger than this are committed gzip'd (NASNetMobile's and the larger ones).
LARGE_CONFIG = 300 * 1024


def write_ci(src, out_dir):
    """tests/data/keras-apps/: every architecture's model_config with what it implies
    (architectures.json), and the reduced models with images and the reference's logits."""
    install_stand_in()
    os.makedirs(out_dir, exist_ok=True)
    index = []
    tmp = os.path.join(out_dir, ".tmp.h5")
    for name in ARCHITECTURES:
        model = build_model(src, name)
        config = save_h5(model, tmp)
        text = (json.dumps(config, default=_json_default) + "\n").encode("utf8")
        config_file = name + ".json"
        if len(text) > LARGE_CONFIG:
            # mtime 0 and no file name in the header: the same bytes on every run
            config_file += ".gz"
            with open(os.path.join(out_dir, config_file), "wb") as raw, \
                    gzip.GzipFile(filename="", mode="wb", compresslevel=9, fileobj=raw, mtime=0) as out:
                out.write(text)
        else:
            with open(os.path.join(out_dir, config_file), "wb") as out:
                out.write(text)
        layers, weighted = config_facts(json.loads(text))
        index.append({"name": name, "config": config_file, "input": list(model.inputs.shape[1:]),
                      "classes": model.outputs.shape[-1], "keras_layers": layers, "weighted_layers": weighted,
                      "weights": weight_manifest(tmp)})
    os.remove(tmp)
    with open(os.path.join(out_dir, "architectures.json"), "w") as out:
        json.dump({"generator": "tests/reference/make_keras_applications.py --ci", "architectures": index}, out)
        out.write("\n")
    models = []
    for name in SMALL:
        model = build_model(src, name)
        path = os.path.join(out_dir, name + ".h5")
        save_h5(model, path)
        Reference(path, calibrate=True).run(preprocess(make_images(8, model.inputs.shape[1], 1),
                                                       SMALL_PREPROCESS[name]))
        models.append((name, path, SMALL_PREPROCESS[name]))
    write_reference(out_dir, models, 8)


def write_reference(out_dir, models, count):
    entries = []
    for i, (name, path, mode) in enumerate(models):
        entries.append(reference_entry(out_dir, name, path, SMALL_IMAGES.get(name, count), 100 + i, mode))
        print("%s: reference %s" % (name, entries[-1]["fp32_predictions"]), file=sys.stderr)
    with open(os.path.join(out_dir, "reference.json"), "w") as out:
        json.dump({"generator": "tests/reference/make_keras_applications.py", "keras_version": KERAS_VERSION,
                   "models": entries}, out, indent=1)
        out.write("\n")


if __name__ == "__main__":
    main()
