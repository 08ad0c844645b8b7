#!/usr/bin/python3
# make_graph_blocks.py: one small Keras functional graph per block kind, trained with PyTorch, and its references.
# SPDX-License-Identifier: GPL-3.0-or-later
"""Graph blocks for the engine's graph tests (issue 9, section 5).

How to run (from anywhere; needs Debian's python3-torch, which only
/usr/bin/python3 sees, python3-numpy, python3-h5py, dataset-fashion-mnist):

    /usr/bin/python3 tests/reference/make_graph_blocks.py [--steps 300] [--only NAME ...]

Reads   /usr/share/datasets/fashion-mnist/train-*-ubyte.gz   (training)
        data/fashion-mnist/t10k-*-ubyte.gz                   (scored: first 1,000)
        data/fashion-mnist/calibration-images-idx3-ubyte.gz  (the CLI's default
                                                              calibration slice)
Writes  tests/data/graph-blocks/<block>.h5    one Keras 2 functional model each
        tests/data/graph-blocks/reference.json

THE MODELS
  Each block is a small PyTorch network (NCHW) built through `Builder`, whose
  every step is one Keras layer: the builder translates PyTorch's settings
  into the Keras layer tf.keras 2.x would hold.  Padding is translated
  faithfully: a PyTorch `padding=p` becomes Keras 'same' only where TF's rule
  (pad_total = max((ceil(n/s) - 1) * s + k_eff - n, 0), the extra row or column
  at the bottom/right) gives exactly p on both sides, else an explicit
  ZeroPadding2D((p, p), (p, p)) and a 'valid' convolution; MobileNetV2's
  asymmetric ZeroPadding2D(((0, 1), (0, 1))) is F.pad in PyTorch.
  BatchNormalization uses Keras' epsilon 0.001.  The last layer is a linear
  Dense(10): its outputs are the logits.

  The blocks (input 28x28x1, x = pixel / 255):
    residual_projection   conv-BN-ReLU, then a stride-2 residual block whose
                          shortcut is a 1x1 stride-2 conv + BN (ResNet)
    inverted_residual     MobileNetV2 blocks: 1x1 expand, ZeroPadding2D +
                          valid stride-2 depthwise, ReLU6, linear projection,
                          and a stride-1 block with an Add
    inception             four branches (1x1; 1x1-3x3; 1x1-5x5; 3x3 'same'
                          max pool-1x1) concatenated on channels
    squeeze_excitation    GAP -> Reshape(1,1,C) -> Dense(relu) ->
                          Dense(sigmoid) -> Multiply (broadcast over H x W)
    preactivation         BN -> ReLU -> Conv (ResNetV2 / DenseNet): the BNs
                          read a value that also feeds an Add or a
                          Concatenate, so they cannot be folded
    separable             SeparableConv2D (multiplier 1, no bias, BN) and
                          (multiplier 2, stride 2, ZeroPadding2D, bias)
    dilated               Conv2D dilation 2 ('same') and 3 ('valid')
    grouped               Conv2D groups 4 (3x3) and 2 (1x1)
    hard_swish            MobileNetV3's hard-swish as tf.keras 2.x writes it:
                          TFOpLambda tf.__operators__.add (y=3) -> ReLU(6) ->
                          TFOpLambda tf.math.multiply (y=1/6) -> Multiply; and
                          the variant with tf.math.truediv (y=6)
    upsampling            UpSampling2D nearest and bilinear (TF's half-pixel
                          centres = PyTorch align_corners=False), with an Add
    dense_bn              Flatten -> Dense -> BatchNormalization(axis 1) ->
                          ReLU -> Dropout -> Dense

THE FILES
  Exactly the tree tf.keras 2.11 `model.save("x.h5")` writes for a functional
  model: root attributes keras_version, backend, model_config
  ({"class_name": "Functional", "config": {"name", "layers", "input_layers",
  "output_layers"}}, every layer with its "inbound_nodes"
  [[["name", 0, 0, {kwargs}]]], TFOpLambda's scalar in the kwargs),
  model_weights/<layer>/<layer>/<weight>:0 in Keras layouts (Conv2D
  (kh, kw, in/groups, out); DepthwiseConv2D and SeparableConv2D's
  depthwise_kernel (kh, kw, in, multiplier); pointwise_kernel (1, 1,
  in*multiplier, out); Dense (in, out); BN gamma, beta, moving_mean,
  moving_variance), layer_names including the InputLayer.

THE CHECK OF THE LAYOUT
  `numpy_logits` reads each written file back with h5py alone (model_config
  and weights, nothing from the builder) and evaluates the Keras graph in
  NHWC float64 numpy, with TF's definitions ('same' padding, depthwise
  channel order c * multiplier + m, half-pixel bilinear resizing, merge
  broadcasting).  The script stops unless its logits match PyTorch's to
  1e-4 of the largest logit on the scored images and every argmax agrees.

THE REFERENCE (reference.json), per block
  fp32_logits         PyTorch float32 logits of the first 16 test images
                      (exact float32 values)
  fp32_predictions    argmax of the first 1,000 test images (digits)
  fp32_min_margin     the smallest top-1 minus top-2 logit gap among them
  fp32_near_ties      [image, first, second] where that gap is below 1e-5 of
                      the largest |logit| (at least 1): float32 rounding in
                      another summation order may swap the two, so the test
                      accepts either class there
  schemes             for the two weight schemes below, the top-1 on those
                      1,000 images of a PyTorch fake-quantization of
                      Quantscope's integer path:
    w8-tensor-asymmetric         the seed notes' scheme (qs_scheme_init_per_tensor:
                                 8 bits, asymmetric, per tensor, [-128, 127])
    w8-channel-symmetric-narrow  TFLite's, the CLI's and the app's default
                                 (qs_scheme_init_default, issue 9 section 3)
  Fake quantization as tests/reference/engine_reference.py does it
  (weight_fake_quant is imported from there), extended to graphs:
    * BatchNormalization is folded into the Conv2D / DepthwiseConv2D / Dense /
      SeparableConv2D (pointwise half) before it when it is that layer's only
      reader and the layer is linear; a ReLU / ReLU(6) that is the only reader
      of such a layer is fused into it.  Other BNs are per-channel affine
      layers of their own.
    * weights (folded) fake-quantized per the scheme, per output channel where
      per-channel (a SeparableConv2D's two kernels each on their own); biases
      rounded to int32 at scale s_in * s_w[c], half away from zero, as the
      engine and TFLite store them (a bias-only output, e.g. over the
      background of a padded image, then lands on the engine's side of a
      rounding boundary);
    * activations quint8 [0, 255] asymmetric per tensor, MinMaxObserver on the
      float32 (folded) model over the CLI's default calibration slice (the
      first 1,000 Fashion-MNIST training images): the input image and the
      output of every layer that computes (fused conv/dense, the depthwise
      half of a SeparableConv2D, a Dense's pre-sigmoid sums and its sigmoid,
      unfolded BN, Add, Multiply, Concatenate, the logits); a Concatenate
      rounds each input once onto its own output grid (TFLite's
      ConcatenationWithScaling);
    * x + 3 -> ReLU(6) -> x * (1/6) (or x / 6) -> Multiply with x is one
      hard-swish table activation, as Quantscope's Keras reader builds it:
      one quantized value, not four;
    * layers that move, select or pool values keep their input's parameters
      (TFLite's rules, as the engine does): ZeroPadding2D, MaxPooling2D,
      GlobalAveragePooling2D, Reshape, Flatten, Dropout, UpSampling2D and a
      ReLU that is not fused (a clamp of codes); their output is rounded to
      that grid (the mean of a pooling, a bilinear sample);
    * argmax of the fake-quantized logits, ties to the lowest class.
  Rounding and requantization differ from integer inference in the last code
  now and then (see engine_reference.py), so the engine's test allows 0.5
  points (5 of 1,000 images) and asks for the same prediction as the
  simulation on 98.5 % of the images (the blocks agree on 99.1-100 % with a
  correct engine).

Deterministic: fixed seeds, one thread, deterministic algorithms.
"""

import argparse
import hashlib
import json
import math
import os
import sys
import time

import h5py
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.ao.quantization.observer import MinMaxObserver

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import engine_reference as ref  # noqa: E402  (idx reader, weight fake-quant, TF 'same' pads)

DEBIAN = "/usr/share/datasets/fashion-mnist"
DATA = "data/fashion-mnist"
OUT_DIR = "tests/data/graph-blocks"
KERAS_VERSION = "2.11.0"
BN_EPS = 0.001
BN_MOMENTUM_TORCH = 0.1          # training only; Keras' config says 1 - 0.1
SEED = 20261204
BATCH = 64
LR = 4e-3
N_LOGITS = 16
N_SCORED = 1000
NEAR_TIE = 1e-5     # top-1 minus top-2 below this times the largest |logit|: either class is right
SCHEMES = [s for s in ref.SCHEMES if s["name"] in ("w8-tensor-asymmetric", "w8-channel-symmetric-narrow")]


# ------------------------------------------------------------------ builder

def _init(name, **config):
    return {"class_name": name, "config": config}


def _regularized(config, *prefixes):
    for p in prefixes:
        config[f"{p}_regularizer"] = None
    config["activity_regularizer"] = None
    for p in prefixes:
        config[f"{p}_constraint"] = None
    return config


class Layer:
    """One Keras layer: its class, config, inputs, and the PyTorch code it runs."""

    def __init__(self, cls, name, config, inputs, fn, weights=None, kwargs=None, role="own", **extra):
        self.cls, self.name, self.inputs, self.fn = cls, name, inputs, fn
        self.config = dict(name=name, trainable=True, dtype="float32", **config) \
            if cls != "InputLayer" else config
        self.weights = weights or (lambda: [])
        self.kwargs = kwargs or {}
        self.role = role              # own / pass / weighted / input: for fake quantization
        self.__dict__.update(extra)
        self.out = None               # an example output (shape)


class Builder(nn.Module):
    """A Keras functional graph whose layers run as PyTorch code (NCHW)."""

    def __init__(self, name, height=28, width=28, channels=1):
        super().__init__()
        self.model_name = name
        self.layers = []
        self.mods = nn.ModuleDict()
        self.counts = {}
        self.input = self._add("InputLayer", "input", {
            "batch_input_shape": [None, height, width, channels], "dtype": "float32",
            "sparse": False, "ragged": False}, [], None, role="input")
        self.input.config["name"] = self.input.name
        self.input.out = torch.zeros(2, channels, height, width)

    def _name(self, base):
        # Keras: "conv2d", "conv2d_1", ...; inputs start at "input_1".
        n = self.counts.get(base, 0)
        self.counts[base] = n + 1
        if base == "input":
            return f"input_{n + 1}"
        return base if n == 0 else f"{base}_{n}"

    def _add(self, cls, base, config, inputs, fn, modules=(), **kw):
        name = self._name(base)
        layer = Layer(cls, name, config, inputs, fn, **kw)
        for i, m in enumerate(modules):
            m.eval()
            self.mods[f"{name.replace('.', '_')}_{i}"] = m
        self.layers.append(layer)
        if inputs:
            with torch.no_grad():
                layer.out = fn(*[x.out for x in inputs])
        return layer

    def forward(self, x):
        vals = {}
        for L in self.layers:
            vals[L.name] = x if L.cls == "InputLayer" else L.fn(*[vals[i.name] for i in L.inputs])
        return vals[self.layers[-1].name]

    # ---- padding

    def _padding(self, x, k, stride, pad, dilation=1):
        """(x or its ZeroPadding2D, Keras padding, PyTorch padding) for a torch `padding=pad`."""
        if pad == 0:
            return x, "valid", 0
        h, w = x.out.shape[2], x.out.shape[3]
        keff = dilation * (k - 1) + 1
        if ref.same_pad(h, keff, stride) == (pad, pad) and ref.same_pad(w, keff, stride) == (pad, pad):
            return x, "same", pad
        return self.zeropad(x, ((pad, pad), (pad, pad))), "valid", 0

    def zeropad(self, x, pads):
        (t, b), (l, r) = pads
        return self._add("ZeroPadding2D", "zero_padding2d", {
            "padding": [[t, b], [l, r]], "data_format": "channels_last"},
            [x], lambda v: F.pad(v, (l, r, t, b)), role="pass")

    # ---- weighted layers

    @staticmethod
    def _act(name):
        return {"linear": lambda v: v, "relu": F.relu, "sigmoid": torch.sigmoid}[name]

    def conv(self, x, filters, k, stride=1, pad=0, dilation=1, groups=1, bias=True, activation="linear",
             module=None):
        """A Conv2D; @module: an existing nn.Conv2d(padding=pad) to run and write instead of a new one."""
        x, padding, tpad = self._padding(x, k, stride, pad, dilation)
        cin = x.out.shape[1]
        m = _reuse(module, tpad) or nn.Conv2d(cin, filters, k, stride, tpad, dilation, groups, bias)
        act = self._act(activation)
        apply = lambda v, w, b: F.conv2d(v, w, b, stride, tpad, dilation, groups)
        config = {"filters": filters, "kernel_size": [k, k], "strides": [stride, stride],
                  "padding": padding, "data_format": "channels_last",
                  "dilation_rate": [dilation, dilation], "groups": groups,
                  "activation": activation, "use_bias": bias,
                  "kernel_initializer": _init("GlorotUniform", seed=None),
                  "bias_initializer": _init("Zeros")}
        _regularized(config, "kernel", "bias")

        def weights():
            ws = [("kernel:0", m.weight.permute(2, 3, 1, 0))]          # (out,in/g,kh,kw) -> (kh,kw,in/g,out)
            return ws + ([("bias:0", m.bias)] if bias else [])
        return self._add("Conv2D", "conv2d", config, [x], lambda v: act(m(v)), [m],
                         weights=weights, role="weighted", parts=[(m, apply)], activation=activation)

    def depthwise(self, x, k, stride=1, pad=0, multiplier=1, bias=True, activation="linear", module=None):
        x, padding, tpad = self._padding(x, k, stride, pad)
        c = x.out.shape[1]
        m = _reuse(module, tpad) or nn.Conv2d(c, c * multiplier, k, stride, tpad, groups=c, bias=bias)
        act = self._act(activation)
        apply = lambda v, w, b: F.conv2d(v, w, b, stride, tpad, 1, c)
        config = {"kernel_size": [k, k], "strides": [stride, stride], "padding": padding,
                  "data_format": "channels_last", "dilation_rate": [1, 1], "groups": 1,
                  "activation": activation, "use_bias": bias,
                  "bias_initializer": _init("Zeros"), "bias_regularizer": None,
                  "activity_regularizer": None, "bias_constraint": None,
                  "depth_multiplier": multiplier,
                  "depthwise_initializer": _init("GlorotUniform", seed=None),
                  "depthwise_regularizer": None, "depthwise_constraint": None}

        def weights():
            ws = [("depthwise_kernel:0", _depthwise_layout(m.weight, c, multiplier))]
            return ws + ([("bias:0", m.bias)] if bias else [])
        return self._add("DepthwiseConv2D", "depthwise_conv2d", config, [x], lambda v: act(m(v)), [m],
                         weights=weights, role="weighted", parts=[(m, apply)], activation=activation)

    def separable(self, x, filters, k, stride=1, pad=0, multiplier=1, bias=True, activation="linear"):
        x, padding, tpad = self._padding(x, k, stride, pad)
        c = x.out.shape[1]
        dw = nn.Conv2d(c, c * multiplier, k, stride, tpad, groups=c, bias=False)
        pw = nn.Conv2d(c * multiplier, filters, 1, bias=bias)
        act = self._act(activation)
        config = {"filters": filters, "kernel_size": [k, k], "strides": [stride, stride],
                  "padding": padding, "data_format": "channels_last", "dilation_rate": [1, 1],
                  "groups": 1, "activation": activation, "use_bias": bias,
                  "bias_initializer": _init("Zeros"), "bias_regularizer": None,
                  "activity_regularizer": None, "bias_constraint": None,
                  "depth_multiplier": multiplier,
                  "depthwise_initializer": _init("GlorotUniform", seed=None),
                  "pointwise_initializer": _init("GlorotUniform", seed=None),
                  "depthwise_regularizer": None, "pointwise_regularizer": None,
                  "depthwise_constraint": None, "pointwise_constraint": None}

        def weights():
            ws = [("depthwise_kernel:0", _depthwise_layout(dw.weight, c, multiplier)),
                  ("pointwise_kernel:0", pw.weight.permute(2, 3, 1, 0))]
            return ws + ([("bias:0", pw.bias)] if bias else [])
        parts = [(dw, lambda v, w, b: F.conv2d(v, w, b, stride, tpad, 1, c)),
                 (pw, lambda v, w, b: F.conv2d(v, w, b))]
        return self._add("SeparableConv2D", "separable_conv2d", config, [x], lambda v: act(pw(dw(v))),
                         [dw, pw], weights=weights, role="weighted", parts=parts, activation=activation)

    def dense(self, x, units, activation="linear", bias=True, module=None):
        m = module or nn.Linear(x.out.shape[1], units, bias)
        act = self._act(activation)
        config = {"units": units, "activation": activation, "use_bias": bias,
                  "kernel_initializer": _init("GlorotUniform", seed=None),
                  "bias_initializer": _init("Zeros")}
        _regularized(config, "kernel", "bias")

        def weights():
            return [("kernel:0", m.weight.t())] + ([("bias:0", m.bias)] if bias else [])
        return self._add("Dense", "dense", config, [x], lambda v: act(_dense(v, m.weight, m.bias)), [m],
                         weights=weights, role="weighted", parts=[(m, _dense)], activation=activation)

    # ---- the rest

    def bn(self, x, module=None):
        c = x.out.shape[1]
        spatial = x.out.dim() == 4
        m = module or (nn.BatchNorm2d if spatial else nn.BatchNorm1d)(c, eps=BN_EPS, momentum=BN_MOMENTUM_TORCH)
        config = {"axis": [3 if spatial else 1], "momentum": 1.0 - (m.momentum or 0.0), "epsilon": m.eps,
                  "center": True, "scale": True,
                  "beta_initializer": _init("Zeros"), "gamma_initializer": _init("Ones"),
                  "moving_mean_initializer": _init("Zeros"),
                  "moving_variance_initializer": _init("Ones"),
                  "beta_regularizer": None, "gamma_regularizer": None,
                  "beta_constraint": None, "gamma_constraint": None}

        def weights():
            return [("gamma:0", m.weight), ("beta:0", m.bias),
                    ("moving_mean:0", m.running_mean), ("moving_variance:0", m.running_var)]
        return self._add("BatchNormalization", "batch_normalization", config, [x], m, [m],
                         weights=weights, module=m)

    def relu(self, x, max_value=None):
        fn = F.relu if max_value is None else (lambda v: torch.clamp(v, 0.0, max_value))
        # Not fused: a clamp of the input's codes, so its input's parameters.
        return self._add("ReLU", "re_lu", {"max_value": max_value, "negative_slope": 0.0, "threshold": 0.0},
                         [x], fn, cap=math.inf if max_value is None else max_value, role="pass")

    def maxpool(self, x, k, stride, padding="valid"):
        tpad = 0
        if padding == "same":
            t, b = ref.same_pad(x.out.shape[2], k, stride)
            assert t == b and (t, b) == ref.same_pad(x.out.shape[3], k, stride), "asymmetric 'same' pooling"
            tpad = t
        return self._add("MaxPooling2D", "max_pooling2d", {
            "pool_size": [k, k], "padding": padding, "strides": [stride, stride],
            "data_format": "channels_last"}, [x], lambda v: F.max_pool2d(v, k, stride, tpad), role="pass")

    def gap(self, x, keepdims=False):
        return self._add("GlobalAveragePooling2D", "global_average_pooling2d", {
            "data_format": "channels_last", "keepdims": keepdims}, [x],
            lambda v: v.mean((2, 3), keepdim=keepdims), role="pass")

    def reshape_11c(self, x):
        c = x.out.shape[1]
        return self._add("Reshape", "reshape", {"target_shape": [1, 1, c]}, [x],
                         lambda v: v.reshape(v.shape[0], c, 1, 1), role="pass")

    def flatten(self, x):
        return self._add("Flatten", "flatten", {"data_format": "channels_last"}, [x],
                         lambda v: v.permute(0, 2, 3, 1).reshape(v.shape[0], -1), role="pass")

    def dropout(self, x, rate):
        m = nn.Dropout(rate)
        return self._add("Dropout", "dropout", {"rate": rate, "noise_shape": None, "seed": None},
                         [x], m, [m], role="pass")

    def upsample(self, x, size, interpolation):
        return self._add("UpSampling2D", "up_sampling2d", {
            "size": [size, size], "data_format": "channels_last", "interpolation": interpolation}, [x],
            lambda v: F.interpolate(v, scale_factor=size, mode=interpolation,
                                    **({"align_corners": False} if interpolation == "bilinear" else {})),
            role="pass")

    def add(self, xs):
        return self._add("Add", "add", {}, xs, lambda *v: sum(v[1:], v[0]))

    def multiply(self, xs):
        def fn(*v):
            out = v[0]
            for t in v[1:]:
                out = out * t
            return out
        return self._add("Multiply", "multiply", {}, xs, fn)

    def concat(self, xs):
        return self._add("Concatenate", "concatenate", {"axis": -1}, xs, lambda *v: torch.cat(v, 1))

    def tfop(self, x, function, y):
        """A TFOpLambda as tf.keras 2.x writes `x + 3.`, `x * (1. / 6.)`, `x / 6.`."""
        fn = {"__operators__.add": lambda v: v + y, "math.multiply": lambda v: v * y,
              "math.truediv": lambda v: v / y}[function]
        return self._add("TFOpLambda", "tf." + function, {"function": function}, [x], fn,
                         kwargs={"y": y, "name": None}, function=function, y=y)

    # ---- composites

    def hard_swish(self, x, divide=False):
        """MobileNetV3: Multiply()([x, ReLU(6.)(x + 3.) * (1. / 6.)]); or `/ 6.`."""
        h = self.relu(self.tfop(x, "__operators__.add", 3.0), 6.0)
        h = self.tfop(h, "math.truediv", 6.0) if divide else self.tfop(h, "math.multiply", 1.0 / 6.0)
        return self.multiply([x, h])

    def conv_bn_relu(self, x, filters, k, stride=1, pad=0, cap=None, **kw):
        return self.relu(self.bn(self.conv(x, filters, k, stride, pad, bias=False, **kw)), cap)

    def head(self, x):
        return self.dense(self.gap(x), 10)


def _reuse(module, pad):
    """An existing convolution, made to pad by @pad (0 when a ZeroPadding2D does it instead)."""
    if module is not None:
        module.padding = (pad, pad)
    return module


def _depthwise_layout(w, c, multiplier):
    # (C*mult, 1, kh, kw), output channel c*mult + m -> (kh, kw, C, mult)
    return w.reshape(c, multiplier, w.shape[2], w.shape[3]).permute(2, 3, 0, 1)


def _dense(v, w, b):
    """A Dense layer on the last Keras axis: the channels of an NCHW tensor."""
    if v.dim() == 4:
        return F.linear(v.permute(0, 2, 3, 1), w, b).permute(0, 3, 1, 2)
    return F.linear(v, w, b)


# ------------------------------------------------------------------ the blocks

def residual_projection(b):
    x = b.conv_bn_relu(b.input, 16, 3, 1, 1)
    h = b.conv_bn_relu(x, 32, 3, 2, 1)                 # ZeroPadding2D + valid (TF 'same' would pad 0/1)
    h = b.bn(b.conv(h, 32, 3, 1, 1, bias=False))
    s = b.bn(b.conv(x, 32, 1, 2, 0, bias=False))      # projection shortcut
    return b.head(b.relu(b.add([h, s])))


def inverted_residual(b):
    x = b.conv_bn_relu(b.input, 16, 3, 2, 1, cap=6.0)
    # stride 2: expand, Keras' correct_pad ZeroPadding2D(((0, 1), (0, 1))), valid depthwise
    h = b.conv_bn_relu(x, 64, 1, cap=6.0)
    h = b.zeropad(h, ((0, 1), (0, 1)))
    h = b.relu(b.bn(b.depthwise(h, 3, 2, 0, bias=False)), 6.0)
    y = b.bn(b.conv(h, 24, 1, bias=False))
    # stride 1 with the residual Add
    h = b.conv_bn_relu(y, 64, 1, cap=6.0)
    h = b.relu(b.bn(b.depthwise(h, 3, 1, 1, bias=False)), 6.0)
    h = b.bn(b.conv(h, 24, 1, bias=False))
    x = b.add([y, h])
    return b.head(b.conv_bn_relu(x, 64, 1, cap=6.0))


def inception(b):
    x = b.conv_bn_relu(b.input, 16, 3, 2, 1)
    b1 = b.conv(x, 8, 1, activation="relu")
    b2 = b.conv(b.conv(x, 8, 1, activation="relu"), 12, 3, 1, 1, activation="relu")
    b3 = b.conv(b.conv(x, 4, 1, activation="relu"), 8, 5, 1, 2, activation="relu")
    b4 = b.conv(b.maxpool(x, 3, 1, "same"), 8, 1, activation="relu")
    x = b.concat([b1, b2, b3, b4])
    return b.head(b.conv(x, 32, 1, activation="relu"))


def squeeze_excitation(b):
    x = b.conv_bn_relu(b.input, 16, 3, 2, 1)
    x = b.conv_bn_relu(x, 32, 3, 1, 1)
    s = b.reshape_11c(b.gap(x))
    s = b.dense(s, 8, "relu")
    s = b.dense(s, 32, "sigmoid")
    return b.head(b.multiply([x, s]))


def preactivation(b):
    x = b.conv(b.input, 16, 3, 2, 1)                   # read by a BN and by the Add: nothing folds into it
    h = b.conv(b.relu(b.bn(x)), 16, 3, 1, 1, bias=False)   # its only reader, a BN -> ReLU, folds
    h = b.conv(b.relu(b.bn(h)), 16, 3, 1, 1)
    x = b.add([x, h])
    d = b.conv(b.relu(b.bn(x)), 8, 1, bias=False)      # DenseNet: concatenate the new features
    x = b.concat([x, d])
    return b.head(b.relu(b.bn(x)))


def separable(b):
    x = b.conv_bn_relu(b.input, 16, 3, 2, 1)
    x = b.relu(b.bn(b.separable(x, 32, 3, 1, 1, bias=False)))
    x = b.separable(x, 32, 3, 2, 1, multiplier=2, activation="relu")
    return b.head(x)


def dilated(b):
    x = b.conv_bn_relu(b.input, 16, 3, 2, 1)
    x = b.relu(b.bn(b.conv(x, 32, 3, 1, 2, dilation=2, bias=False)))   # 'same': 2 on each side
    x = b.conv(x, 32, 3, 1, 0, dilation=3, activation="relu")            # valid: 14 -> 8
    return b.head(x)


def grouped(b):
    x = b.conv_bn_relu(b.input, 16, 3, 2, 1)
    x = b.relu(b.bn(b.conv(x, 32, 3, 1, 1, groups=4, bias=False)))
    x = b.conv(x, 32, 1, groups=2, activation="relu")
    return b.head(x)


def hard_swish(b):
    x = b.hard_swish(b.bn(b.conv(b.input, 16, 3, 2, 1, bias=False)))
    x = b.hard_swish(b.bn(b.conv(x, 32, 3, 1, 1, bias=False)), divide=True)
    return b.head(x)


def upsampling(b):
    s = b.conv_bn_relu(b.input, 16, 3, 2, 1)                     # 14x14
    x = b.conv(s, 16, 3, 2, 1, activation="relu")                # 7x7
    x = b.add([b.upsample(x, 2, "nearest"), s])                  # 14x14
    x = b.conv(x, 16, 3, 1, 1, activation="relu")
    x = b.upsample(x, 2, "bilinear")                             # 28x28
    x = b.conv(x, 24, 3, 2, 1, activation="relu")                # 14x14
    return b.head(x)


def dense_bn(b):
    x = b.flatten(b.input)
    x = b.dropout(b.relu(b.bn(b.dense(x, 32))), 0.2)
    return b.dense(x, 10)


BLOCKS = [residual_projection, inverted_residual, inception, squeeze_excitation, preactivation,
          separable, dilated, grouped, hard_swish, upsampling, dense_bn]


# ------------------------------------------------------------------ the Keras file

def model_config(b):
    layers = []
    for L in b.layers:
        nodes = [] if not L.inputs else [[[i.name, 0, 0, dict(L.kwargs)] for i in L.inputs]]
        layers.append({"class_name": L.cls, "config": L.config, "name": L.name, "inbound_nodes": nodes})
    return {"class_name": "Functional", "config": {
        "name": "model", "layers": layers,
        "input_layers": [[b.input.name, 0, 0]],
        "output_layers": [[b.layers[-1].name, 0, 0]]}}


def save_keras_h5(b, path):
    """What tf.keras 2.11 Model.save(path) writes for a functional model (h5 format)."""
    tmp = path + ".tmp"
    with h5py.File(tmp, "w") as f:
        f.attrs["backend"] = "tensorflow"
        f.attrs["keras_version"] = KERAS_VERSION
        f.attrs["model_config"] = json.dumps(model_config(b))
        g = f.create_group("model_weights")
        g.attrs["layer_names"] = np.array([L.name.encode("utf8") for L in b.layers])
        g.attrs["backend"] = "tensorflow"
        g.attrs["keras_version"] = KERAS_VERSION
        for L in b.layers:
            lg = g.create_group(L.name)
            ws = [(f"{L.name}/{w}", t.detach().float().contiguous().numpy()) for w, t in L.weights()]
            lg.attrs["weight_names"] = np.array([n.encode("utf8") for n, _ in ws]) if ws else np.asarray([])
            for full, arr in ws:
                lg.create_dataset(full, data=arr)
    os.replace(tmp, path)


# ------------------------------------------------------------------ independent numpy evaluation

def numpy_logits(path, x):
    """Logits of the Keras graph in @path (read back with h5py) on NHWC float images @x, in float64."""
    with h5py.File(path, "r") as f:
        cfg = json.loads(ref.attr_str(f.attrs["model_config"]))
        g = f["model_weights"]
        weights = {}
        for lname in ref.attr_list(g.attrs["layer_names"]):
            names = ref.attr_list(g[lname].attrs["weight_names"])
            weights[lname] = {n.split("/")[-1].split(":")[0]: np.asarray(g[lname][n], np.float64) for n in names}
    assert cfg["class_name"] == "Functional"
    c = cfg["config"]
    vals = {}
    for L in c["layers"]:
        cls, lc, name = L["class_name"], L["config"], L["name"]
        nodes = L["inbound_nodes"][0] if L["inbound_nodes"] else []
        ins = [vals[n[0]] for n in nodes]
        w = weights.get(name, {})
        if cls == "InputLayer":
            y = x.astype(np.float64)
        elif cls in ("Conv2D", "DepthwiseConv2D", "SeparableConv2D"):
            v = ins[0]
            s, d = lc["strides"][0], lc["dilation_rate"][0]
            k = w["kernel"] if cls == "Conv2D" else w["depthwise_kernel"]
            if lc["padding"] == "same":
                v = np_pad(v, k.shape[0], k.shape[1], s, d)
            if cls == "Conv2D":
                y = np_conv(v, k, s, d, lc["groups"])
            else:
                y = np_depthwise(v, k, s, d)
                if cls == "SeparableConv2D":
                    y = np_conv(y, w["pointwise_kernel"], 1, 1, 1)
            if lc["use_bias"]:
                y = y + w["bias"]
            y = np_activation(y, lc["activation"])
        elif cls == "Dense":
            y = ins[0] @ w["kernel"] + (w["bias"] if lc["use_bias"] else 0.0)
            y = np_activation(y, lc["activation"])
        elif cls == "BatchNormalization":
            axis = lc["axis"][0]
            assert axis == ins[0].ndim - 1, "BN over the last axis"
            y = (ins[0] - w["moving_mean"]) / np.sqrt(w["moving_variance"] + lc["epsilon"]) * w["gamma"] + w["beta"]
        elif cls == "ReLU":
            y = np.maximum(ins[0], 0.0)
            if lc["max_value"] is not None:
                y = np.minimum(y, lc["max_value"])
        elif cls == "Activation":
            y = np_activation(ins[0], lc["activation"])
        elif cls == "ZeroPadding2D":
            (t, bt), (l, r) = lc["padding"]
            y = np.pad(ins[0], ((0, 0), (t, bt), (l, r), (0, 0)))
        elif cls == "MaxPooling2D":
            v, k, s = ins[0], lc["pool_size"][0], lc["strides"][0]
            if lc["padding"] == "same":
                v = np_pad(v, k, k, s, 1, -np.inf)
            n, h, wd, ch = v.shape
            oh, ow = (h - k) // s + 1, (wd - k) // s + 1
            y = np.full((n, oh, ow, ch), -np.inf)
            for i in range(k):
                for j in range(k):
                    y = np.maximum(y, v[:, i:i + s * (oh - 1) + 1:s, j:j + s * (ow - 1) + 1:s, :])
        elif cls == "GlobalAveragePooling2D":
            y = ins[0].mean(axis=(1, 2), keepdims=lc["keepdims"])
        elif cls == "Reshape":
            y = ins[0].reshape(ins[0].shape[0], *lc["target_shape"])
        elif cls == "Flatten":
            y = ins[0].reshape(ins[0].shape[0], -1)
        elif cls == "Dropout":
            y = ins[0]
        elif cls == "UpSampling2D":
            y = np_upsample(ins[0], lc["size"][0], lc["interpolation"])
        elif cls == "Add":
            y = sum(ins[1:], ins[0])
        elif cls == "Multiply":
            y = ins[0]
            for t in ins[1:]:
                y = y * t                       # numpy broadcasting = TF's for (N,1,1,C) x (N,H,W,C)
        elif cls == "Concatenate":
            y = np.concatenate(ins, axis=lc["axis"])
        elif cls == "TFOpLambda":
            yv = nodes[0][3]["y"]
            y = {"__operators__.add": lambda a: a + yv, "math.multiply": lambda a: a * yv,
                 "math.truediv": lambda a: a / yv}[lc["function"]](ins[0])
        else:
            raise ValueError(f"numpy_logits: no {cls}")
        vals[name] = y
    return vals[c["output_layers"][0][0]]


def np_pad(v, kh, kw, s, d, value=0.0):
    """TF 'same' padding of an NHWC array (the extra row / column at the bottom / right)."""
    t, b = ref.same_pad(v.shape[1], d * (kh - 1) + 1, s)
    l, r = ref.same_pad(v.shape[2], d * (kw - 1) + 1, s)
    return np.pad(v, ((0, 0), (t, b), (l, r), (0, 0)), constant_values=value)


def _taps(v, kh, kw, s, d):
    n, h, w, _ = v.shape
    oh, ow = (h - d * (kh - 1) - 1) // s + 1, (w - d * (kw - 1) - 1) // s + 1
    for i in range(kh):
        for j in range(kw):
            yield i, j, v[:, i * d:i * d + s * (oh - 1) + 1:s, j * d:j * d + s * (ow - 1) + 1:s, :]


def np_conv(v, k, s, d, groups):
    kh, kw, cig, co = k.shape
    cog = co // groups
    out = 0.0
    for i, j, p in _taps(v, kh, kw, s, d):
        out = out + np.concatenate([p[..., g * cig:(g + 1) * cig] @ k[i, j, :, g * cog:(g + 1) * cog]
                                    for g in range(groups)], axis=-1)
    return out


def np_depthwise(v, k, s, d):
    kh, kw, c, mult = k.shape
    out = 0.0
    for i, j, p in _taps(v, kh, kw, s, d):
        out = out + (p[..., :, None] * k[i, j]).reshape(*p.shape[:3], c * mult)   # channel c * mult + m
    return out


def np_activation(v, name):
    if name == "linear":
        return v
    if name == "relu":
        return np.maximum(v, 0.0)
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-v))
    raise ValueError(name)


def np_upsample(v, f, interpolation):
    if interpolation == "nearest":
        return v.repeat(f, axis=1).repeat(f, axis=2)
    # tf.image.resize bilinear, half_pixel_centers: in = (out + 0.5) / f - 0.5
    def axis_weights(n):
        src = (np.arange(n * f) + 0.5) / f - 0.5
        lo = np.floor(src)
        frac = src - lo
        return np.clip(lo, 0, n - 1).astype(int), np.clip(lo + 1, 0, n - 1).astype(int), frac
    y0, y1, fy = axis_weights(v.shape[1])
    x0, x1, fx = axis_weights(v.shape[2])
    top = v[:, y0][:, :, x0] * (1 - fx)[None, None, :, None] + v[:, y0][:, :, x1] * fx[None, None, :, None]
    bot = v[:, y1][:, :, x0] * (1 - fx)[None, None, :, None] + v[:, y1][:, :, x1] * fx[None, None, :, None]
    return top * (1 - fy)[None, :, None, None] + bot * fy[None, :, None, None]


# ------------------------------------------------------------------ fake quantization of the graph

class Op:
    def __init__(self, kind, out, inputs, **kw):
        self.kind, self.out, self.inputs = kind, out, inputs
        self.__dict__.update(kw)


def _fold(module, bn):
    """(w, b) of a conv / linear module with @bn folded in (float64, then float32), torch layout."""
    w = module.weight.detach().double()
    b = module.bias.detach().double() if module.bias is not None else torch.zeros(w.shape[0], dtype=torch.float64)
    if bn is not None:
        f = bn.weight.detach().double() / torch.sqrt(bn.running_var.double() + bn.eps)
        w = w * f.reshape(-1, *([1] * (w.dim() - 1)))
        b = (b - bn.running_mean.double()) * f + bn.bias.detach().double()
    return w.float().contiguous(), b.float()


def engine_ops(b):
    """The graph as Quantscope's engine runs it: BN folded, ReLU fused, one quantized value per op."""
    readers = {}
    for L in b.layers:
        for i in L.inputs:
            readers.setdefault(i.name, []).append(L)
    only = lambda L: readers[L.name][0] if len(readers.get(L.name, [])) == 1 else None
    value = {}      # Keras layer name -> value name
    absorbed = set()
    ops = []
    for L in b.layers:
        if L.name in absorbed:
            continue
        ins = [value[i.name] for i in L.inputs]
        if L.role == "input":
            ops.append(Op("input", L.name, [], quant="own"))
            value[L.name] = L.name
            continue
        hard = _hard_pattern(L, only)
        if hard is not None:
            fn, chain = hard
            absorbed.update(n.name for n in chain)
            ops.append(Op("layer", chain[-1].name, ins, fn=fn, quant="own"))
            for n in chain:
                value[n.name] = chain[-1].name
            continue
        if L.role != "weighted":
            ops.append(Op("layer", L.name, ins, fn=L.fn, quant=L.role))
            value[L.name] = L.name
            continue
        tail, bn, cap = L, None, None
        if L.activation == "linear":
            r = only(tail)
            if r is not None and r.cls == "BatchNormalization":
                bn, tail = r.module, r
                absorbed.add(r.name)
            r = only(tail)
            if r is not None and r.cls == "ReLU":
                cap, tail = r.cap, r
                absorbed.add(r.name)
        elif L.activation == "relu":
            cap = math.inf
        src = ins[0]
        for k, (m, apply) in enumerate(L.parts):
            last = k == len(L.parts) - 1
            w, bias = _fold(m, bn if last else None)
            out = tail.name if last else f"{L.name}/depthwise"
            if last and L.activation not in ("linear", "relu"):
                out = f"{L.name}/linear"
            ops.append(Op("weighted", out, [src], w=w, b=bias, apply=apply,
                          cap=cap if last else None, quant="own"))
            src = out
        if L.activation not in ("linear", "relu"):
            ops.append(Op("layer", L.name, [src], fn=Builder._act(L.activation), quant="own"))
            src = L.name
        value[L.name] = value[tail.name] = src
    return ops


def _hard_pattern(add, only):
    """(fn, layers) when @add starts x + 3 -> ReLU(6) -> * (1/6) or / 6 [-> Multiply with x].

    Quantscope's Keras reader runs that as one hard-sigmoid, or with the
    Multiply one hard-swish, table activation: one quantized value."""
    if getattr(add, "function", None) != "__operators__.add" or add.y != 3.0:
        return None
    relu = only(add)
    if relu is None or relu.cls != "ReLU" or relu.cap != 6.0:
        return None
    sixth = only(relu)
    if sixth is None or not ((getattr(sixth, "function", None) == "math.multiply" and abs(sixth.y - 1 / 6) < 1e-6)
                             or (getattr(sixth, "function", None) == "math.truediv" and sixth.y == 6.0)):
        return None
    x = add.inputs[0]
    product = only(sixth)
    if product is not None and product.cls == "Multiply" and {i.name for i in product.inputs} == {x.name, sixth.name}:
        return (lambda v: v * torch.clamp(v + 3.0, 0.0, 6.0) / 6.0), [add, relu, sixth, product]
    return (lambda v: torch.clamp(v + 3.0, 0.0, 6.0) / 6.0), [add, relu, sixth]


def _int32_bias(b, in_scale, w_scale):
    """@b as the engine stores it: int32 at scale s_in * s_w[c], rounded half away from zero (TFLite)."""
    step = in_scale * w_scale.double()
    q = b.double() / step
    return (torch.sign(q) * torch.floor(q.abs() + 0.5) * step).float()


def run_ops(ops, x, wq=None, aq=None, observers=None):
    """Run the engine ops on NCHW @x: float (folded), fake-quantized (@wq, @aq), or observed."""
    vals, qparam = {}, {}
    for op in ops:
        if op.kind == "input":
            v = x
        elif op.kind == "weighted":
            w, b = op.w, op.b
            if wq is not None:
                w, w_scale = wq[op.out]
                b = _int32_bias(b, aq[qparam[op.inputs[0]]][0], w_scale)
            v = op.apply(vals[op.inputs[0]], w, b)
            if op.cap is not None:
                v = torch.clamp(v, 0.0, op.cap)
        else:
            v = op.fn(*[vals[i] for i in op.inputs])
        if op.quant == "own":
            qparam[op.out] = op.out
            if observers is not None:
                observers.setdefault(op.out, MinMaxObserver(
                    dtype=torch.quint8, qscheme=torch.per_tensor_affine, quant_min=0, quant_max=255))(v)
        else:
            qparam[op.out] = qparam[op.inputs[0]]
        if aq is not None:
            s, z = aq[qparam[op.out]]
            v = torch.fake_quantize_per_tensor_affine(v, s, z, 0, 255)
        vals[op.out] = v
    return vals[ops[-1].out]


def batched(fn, x, n=250):
    with torch.no_grad():
        return torch.cat([fn(x[i:i + n]) for i in range(0, x.shape[0], n)])


# ------------------------------------------------------------------ main

def train(model, xtr, ytr, steps, seed):
    torch.manual_seed(seed)
    rng = np.random.Generator(np.random.PCG64(seed))
    opt = torch.optim.Adam(model.parameters(), lr=LR, eps=1e-7)
    model.train()
    for step in range(steps):
        idx = torch.from_numpy(rng.integers(0, xtr.shape[0], BATCH))
        opt.zero_grad()
        loss = F.cross_entropy(model(xtr[idx]), ytr[idx])
        loss.backward()
        opt.step()
    model.eval()
    return float(loss)


def f32list(a):
    return [ref.f32(v) for v in np.asarray(a, np.float32).ravel()]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--only", nargs="*", help="blocks to build (default: all; the JSON then keeps the others)")
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    os.chdir(ROOT)
    os.makedirs(OUT_DIR, exist_ok=True)

    xtr = ref.to_input(ref.read_idx(f"{DEBIAN}/train-images-idx3-ubyte.gz"))
    ytr = torch.from_numpy(ref.read_idx(f"{DEBIAN}/train-labels-idx1-ubyte.gz").astype(np.int64))
    xte = ref.to_input(ref.read_idx(f"{DATA}/t10k-images-idx3-ubyte.gz")[:N_SCORED])
    yte = ref.read_idx(f"{DATA}/t10k-labels-idx1-ubyte.gz")[:N_SCORED].astype(np.int64)
    xcal = ref.to_input(ref.read_idx(f"{DATA}/calibration-images-idx3-ubyte.gz"))

    json_path = os.path.join(OUT_DIR, "reference.json")
    blocks = {}
    if args.only and os.path.exists(json_path):
        blocks = {b["name"]: b for b in json.load(open(json_path))["blocks"]}

    for index, make in enumerate(BLOCKS):
        name = make.__name__
        if args.only and name not in args.only:
            continue
        t0 = time.process_time()
        torch.manual_seed(SEED + index)
        model = Builder(name)
        make(model)
        loss = train(model, xtr, ytr, args.steps, SEED + index)
        path = os.path.join(OUT_DIR, f"{name}.h5")
        save_keras_h5(model, path)

        logits = batched(model, xte).numpy()
        pred = logits.argmax(1)
        order = np.argsort(-logits, 1, kind="stable")
        gap = logits[np.arange(len(pred)), order[:, 0]] - logits[np.arange(len(pred)), order[:, 1]]
        margin = float(gap.min())
        near_ties = [[i, int(order[i, 0]), int(order[i, 1])]
                     for i in np.nonzero(gap < NEAR_TIE * np.maximum(np.abs(logits).max(1), 1.0))[0].tolist()]

        # The layout check: an independent numpy reading of the file.
        np_logits = numpy_logits(path, xte.permute(0, 2, 3, 1).numpy())
        scale = np.maximum(np.abs(logits).max(1, keepdims=True), 1.0)
        numpy_err = float((np.abs(np_logits - logits) / scale).max())
        if numpy_err > 1e-4 or not np.array_equal(np_logits.argmax(1), pred):
            sys.exit(f"{name}: numpy reading of {path} differs from PyTorch (relative {numpy_err:.3g})")

        # Folded float model: what the engine calibrates on.
        ops = engine_ops(model)
        folded = batched(lambda t: run_ops(ops, t), xte).numpy()
        folded_err = float((np.abs(folded - logits) / scale).max())
        observers = {}
        with torch.no_grad():
            for i in range(0, xcal.shape[0], 250):
                run_ops(ops, xcal[i:i + 250], observers=observers)
        aq, points = {}, []
        for v, obs in observers.items():
            s, z = obs.calculate_qparams()
            aq[v] = (float(s), int(z))
            points.append({"value": v, "min": ref.f32(obs.min_val), "max": ref.f32(obs.max_val),
                           "scale": ref.f32(s), "zero_point": int(z)})
        schemes = []
        for sc in SCHEMES:
            wq = {op.out: ref.weight_fake_quant(op.w, sc, with_scale=True) for op in ops if op.kind == "weighted"}
            qlogits = batched(lambda t: run_ops(ops, t, wq=wq, aq=aq), xte).numpy()
            qpred = qlogits.argmax(1)
            schemes.append({
                "name": sc["name"], "cli_options": sc["cli"],
                "weights": {"bits": 8, "granularity": sc["granularity"],
                            "mapping": "symmetric" if sc["quant_min"] == -127 else "asymmetric",
                            "quant_min": sc["quant_min"], "quant_max": sc["quant_max"]},
                "quant_top1": float((qpred == yte).mean()),
                "quant_correct": int((qpred == yte).sum()),
                "agreement": float((qpred == pred).mean()),
                "predictions": "".join(map(str, qpred.tolist()))})
        with open(path, "rb") as f:
            sha = hashlib.sha256(f.read()).hexdigest()
        fp32_top1 = float((pred == yte).mean())
        blocks[name] = {
            "name": name, "file": f"{name}.h5", "sha256": sha,
            "layers": len(model.layers), "weighted_engine_layers": sum(op.kind == "weighted" for op in ops),
            "fp32_top1": fp32_top1, "fp32_correct": int((pred == yte).sum()),
            "fp32_min_margin": margin,
            "fp32_near_ties": near_ties,
            "numpy_max_relative_error": numpy_err, "folded_max_relative_error": folded_err,
            "fp32_logits": [f32list(r) for r in logits[:N_LOGITS]],
            "fp32_predictions": "".join(map(str, pred.tolist())),
            "activations": points,
            "schemes": schemes}
        print(f"{name:20s} {os.path.getsize(path):7d} B  loss {loss:.3f}  fp32 {fp32_top1:.3f}  "
              + "  ".join(f"{s['name']} {s['quant_top1']:.3f}" for s in schemes)
              + f"  margin {margin:.2e}  numpy {numpy_err:.1e}  folded {folded_err:.1e}  "
              f"{time.process_time() - t0:.0f} s CPU", flush=True)

    out = {
        "generator": "tests/reference/make_graph_blocks.py",
        "torch_version": torch.__version__,
        "test_images": f"{DATA}/t10k-images-idx3-ubyte.gz",
        "test_count": N_SCORED,
        "logit_images": N_LOGITS,
        "calibration_images": f"{DATA}/calibration-images-idx3-ubyte.gz",
        "calibration_count": int(xcal.shape[0]),
        "preprocess": "x = float32(pixel) / 255.0f, NHWC 28x28x1",
        "activation_quant": "quint8 [0, 255] per tensor, MinMaxObserver (range widened to contain 0)",
        "argmax_ties": "lowest class index",
        "blocks": [blocks[m.__name__] for m in BLOCKS if m.__name__ in blocks],
    }
    with open(json_path, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print(f"wrote {json_path} ({os.path.getsize(json_path)} bytes)")


if __name__ == "__main__":
    sys.exit(main())
