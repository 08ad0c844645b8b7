#!/usr/bin/python3
# make_shared_layers.py: small Keras models that call one layer several times (shared layers), and their float logits.
# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared layers, as hand-written user models use them, for test-keras-shared.

How to run (from the source root; needs /usr/bin/python3 with torch, numpy, h5py):

    /usr/bin/python3 tests/reference/make_shared_layers.py

Writes  tests/data/shared-layers/<model>.h5      Keras 2 (tf.keras 2.11 Model.save h5 layout)
        tests/data/shared-layers/<model>.keras   Keras 3 (saving_lib's zip, make_keras3_files.py)
        tests/data/shared-layers/images.h5       x: 16 NHWC 8x8x3 float32 images in [0, 1), y: zeros
        tests/data/shared-layers/images-12.h5    the same, 12x12x3 (shared_conv)
        tests/data/shared-layers/reference.json

THE MODELS (random weights, seeded; no training)
  shared_relu        Keras 2: one ReLU layer called three times (after two
                     convolutions and after an Add); Keras 3: one
                     Activation("relu") likewise
  shared_dense       a stem convolution, then GlobalAveragePooling2D and
                     GlobalMaxPooling2D of it, one Dense(6, relu) applied to
                     both (a Siamese pair of towers), Concatenate, Dense(5)
  shared_conv        one 12x12 image, two views of it (Cropping2D to 8x8,
                     AveragePooling2D to 6x6), one Conv2D + one
                     BatchNormalization applied to both (each call folds
                     the same BN), ReLU, GlobalAveragePooling2D, Concatenate,
                     Dense(5)
  shared_conv_bn_one Keras 2: the shared Conv2D with a BatchNormalization
                     after its first call only (so it must not be folded)
  nested_twice       Keras 2: a nested Sequential block (InputLayer, Conv2D,
                     BatchNormalization, ReLU) called twice in a chain;
                     Keras 3: a nested Functional block (node 0 is its own
                     creation: its calls are nodes 1 and 2) and a nested
                     Sequential one (calls 0 and 1), each called twice

  Keras 2 node references [layer, node_index, tensor_index] count a
  layer's calls from 0, a nested model built on an Input from 1 (its
  creation is node 0, which the config leaves out); Keras 3's
  keras_history likewise, its Sequential counting from 0.

THE REFERENCE (reference.json), per file
  file, weighted_layers (each Keras weighted layer once, in the order the
  engine meets it), calls (how many engine layers run each of them),
  fp32_logits: PyTorch float64 logits of the 16 images, computed by the
  torch modules the weights came from (NCHW), not from the files.
"""
import json
import os
import sys

import h5py
import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_keras3_files as k3  # noqa: E402  (Keras 3 layer dicts, .weights.h5 tree, .keras zip)

OUT = "tests/data/shared-layers"
KERAS_VERSION = "2.11.0"
SEED = 20261205
N_IMAGES = 16
BN_EPS = 0.001

torch.set_default_dtype(torch.float64)


# ---- weights ------------------------------------------------------------------

class Weights:
    def __init__(self, seed):
        self.gen = torch.Generator().manual_seed(seed)

    def normal(self, *shape, scale=1.0):
        return torch.randn(*shape, generator=self.gen) * scale

    def conv(self, cin, cout, k):
        return {"w": self.normal(cout, cin, k, k, scale=(2.0 / (cin * k * k)) ** 0.5), "b": self.normal(cout, scale=0.1)}

    def dense(self, cin, cout):
        return {"w": self.normal(cout, cin, scale=(2.0 / cin) ** 0.5), "b": self.normal(cout, scale=0.1)}

    def bn(self, c):
        return {"gamma": 1.0 + self.normal(c, scale=0.2), "beta": self.normal(c, scale=0.2),
                "mean": self.normal(c, scale=0.3), "var": 0.5 + torch.rand(c, generator=self.gen)}


def f32(t):
    """The float32 value a file stores; the reference computes with exactly these."""
    return t.to(torch.float32).to(torch.float64)


def conv_keras(p):
    return [("kernel", p["w"].permute(2, 3, 1, 0)), ("bias", p["b"])]


def dense_keras(p):
    return [("kernel", p["w"].t()), ("bias", p["b"])]


def bn_keras(p):
    return [("gamma", p["gamma"]), ("beta", p["beta"]), ("moving_mean", p["mean"]), ("moving_variance", p["var"])]


def round_params(p):
    return {k: f32(v) for k, v in p.items()}


def conv(x, p, padding):
    return F.conv2d(x, p["w"], p["b"], padding=padding)


def bn(x, p):
    shape = (1, -1, 1, 1) if x.dim() == 4 else (1, -1)
    return ((x - p["mean"].view(shape)) / torch.sqrt(p["var"].view(shape) + BN_EPS) * p["gamma"].view(shape)
            + p["beta"].view(shape))


def dense(x, p):
    return x @ p["w"].t() + p["b"]


def gap(x):
    return x.mean((2, 3))


# ---- Keras 2 configs ---------------------------------------------------------------

def k2_layer(cls, name, config, calls):
    """@calls: per call, the [layer, node_index] references it reads (one list per call)."""
    return {"class_name": cls, "name": name, "config": {"name": name, "trainable": True, "dtype": "float32", **config},
            "inbound_nodes": [[[src, node, 0, {}] for src, node in call] for call in calls]}


def k2_input(name, shape):
    return {"class_name": "InputLayer", "name": name, "inbound_nodes": [],
            "config": {"batch_input_shape": [None, *shape], "dtype": "float32", "sparse": False, "ragged": False,
                       "name": name}}


def k2_conv(filters, k, padding="same", activation="linear"):
    return {"filters": filters, "kernel_size": [k, k], "strides": [1, 1], "padding": padding,
            "data_format": "channels_last", "dilation_rate": [1, 1], "groups": 1, "activation": activation,
            "use_bias": True}


def k2_dense(units, activation="linear"):
    return {"units": units, "activation": activation, "use_bias": True}


def k2_bn():
    return {"axis": [3], "momentum": 0.99, "epsilon": BN_EPS, "center": True, "scale": True}


def k2_functional(layers, input_name, output):
    return {"class_name": "Functional", "config": {"name": "model", "layers": layers,
                                                   "input_layers": [[input_name, 0, 0]],
                                                   "output_layers": [[output[0], output[1], 0]]}}


def write_k2(path, config, weights):
    """tf.keras 2.11's h5: @weights maps each top-level layer to [(weight path in its group, array)]."""
    names = [layer["name"] for layer in config["config"]["layers"]]
    with h5py.File(path, "w") as f:
        f.attrs["backend"] = "tensorflow"
        f.attrs["keras_version"] = KERAS_VERSION
        f.attrs["model_config"] = json.dumps(config)
        g = f.create_group("model_weights")
        g.attrs["layer_names"] = np.array([n.encode() for n in names])
        g.attrs["backend"] = "tensorflow"
        g.attrs["keras_version"] = KERAS_VERSION
        for name in names:
            lg = g.create_group(name)
            ws = weights.get(name, [])
            lg.attrs["weight_names"] = np.array([w.encode() for w, _ in ws]) if ws else np.asarray([])
            for w, value in ws:
                lg.create_dataset(w, data=value.to(torch.float32).contiguous().numpy())


def k2_weights(layer, named):
    return [(f"{layer}/{w}:0", v) for w, v in named]


# ---- Keras 3 configs ---------------------------------------------------------------

def k3_tensor(src, node):
    return {"class_name": "__keras_tensor__", "config": {"shape": None, "dtype": "float32",
                                                         "keras_history": [src, node, 0]}}


def k3_calls(entry, calls):
    """@calls: per call, its references; a call with several is a merge's list argument."""
    nodes = []
    for call in calls:
        tensors = [k3_tensor(src, node) for src, node in call]
        nodes.append({"args": [tensors if len(tensors) > 1 else tensors[0]], "kwargs": {}})
    entry["inbound_nodes"] = nodes
    entry["name"] = entry["config"]["name"]
    return entry


def k3_input(name, shape):
    entry = k3.input_layer(name, shape)
    entry["inbound_nodes"] = []
    entry["name"] = name
    return entry


def k3_functional(name, layers, input_name, output, module="keras"):
    return {"module": module, "class_name": "Functional", "registered_name": "Functional",
            "config": {"name": name, "trainable": True, "layers": layers,
                       "input_layers": [[input_name, 0, 0]], "output_layers": [[output[0], output[1], 0]]}}


def write_k3(path, config, variables):
    weights = k3.h5_bytes(config["class_name"], config["config"]["layers"],
                          {k: [v.to(torch.float32).contiguous().numpy() for _, v in vs] for k, vs in variables.items()})
    k3.write_keras(path, config, weights)


def k3_conv(name, filters, k, padding="same", activation="linear"):
    return k3.layer("Conv2D", name, filters=filters, kernel_size=[k, k], strides=[1, 1], padding=padding,
                    data_format="channels_last", dilation_rate=[1, 1], groups=1, activation=activation,
                    use_bias=True)


def k3_bn(name):
    return k3.layer("BatchNormalization", name, axis=-1, momentum=0.99, epsilon=BN_EPS, center=True, scale=True)


# ---- the models ----------------------------------------------------------------------

def shared_relu(w, keras3):
    ca, cb, cc, d = (round_params(p) for p in (w.conv(3, 4, 3), w.conv(4, 4, 3), w.conv(4, 4, 1), w.dense(4, 5)))

    def forward(x):
        r0 = F.relu(conv(x, ca, 1))
        r1 = F.relu(conv(r0, cb, 1))
        r2 = F.relu(conv(r0 + r1, cc, 0) - 0.0)
        return dense(gap(r2), d)

    if not keras3:
        layers = [k2_input("image", [8, 8, 3]),
                  k2_layer("Conv2D", "conv_a", k2_conv(4, 3), [[("image", 0)]]),
                  k2_layer("ReLU", "relu", {"max_value": None, "negative_slope": 0.0, "threshold": 0.0},
                           [[("conv_a", 0)], [("conv_b", 0)], [("conv_c", 0)]]),
                  k2_layer("Conv2D", "conv_b", k2_conv(4, 3), [[("relu", 0)]]),
                  k2_layer("Add", "sum", {}, [[("relu", 0), ("relu", 1)]]),
                  k2_layer("Conv2D", "conv_c", k2_conv(4, 1, "valid"), [[("sum", 0)]]),
                  k2_layer("GlobalAveragePooling2D", "gap", {"data_format": "channels_last", "keepdims": False},
                           [[("relu", 2)]]),
                  k2_layer("Dense", "logits", k2_dense(5), [[("gap", 0)]])]
        config = k2_functional(layers, "image", ("logits", 0))
        weights = {"conv_a": k2_weights("conv_a", conv_keras(ca)), "conv_b": k2_weights("conv_b", conv_keras(cb)),
                   "conv_c": k2_weights("conv_c", conv_keras(cc)), "logits": k2_weights("logits", dense_keras(d))}
    else:
        layers = [k3_input("image", [8, 8, 3]),
                  k3_calls(k3_conv("conv_a", 4, 3), [[("image", 0)]]),
                  k3_calls(k3.layer("Activation", "relu", activation="relu"),
                           [[("conv_a", 0)], [("conv_b", 0)], [("conv_c", 0)]]),
                  k3_calls(k3_conv("conv_b", 4, 3), [[("relu", 0)]]),
                  k3_calls(k3.layer("Add", "sum"), [[("relu", 0), ("relu", 1)]]),
                  k3_calls(k3_conv("conv_c", 4, 1, "valid"), [[("sum", 0)]]),
                  k3_calls(k3.layer("GlobalAveragePooling2D", "gap", data_format="channels_last", keepdims=False),
                           [[("relu", 2)]]),
                  k3_calls(k3.layer("Dense", "logits", units=5, activation="linear", use_bias=True), [[("gap", 0)]])]
        config = k3_functional("model", layers, "image", ("logits", 0))
        weights = {"conv_a": conv_keras(ca), "conv_b": conv_keras(cb), "conv_c": conv_keras(cc),
                   "logits": dense_keras(d)}
    return config, weights, forward, [8, 8, 3], {"conv_a": 1, "conv_b": 1, "conv_c": 1, "logits": 1}


def shared_dense(w, keras3):
    stem, tower, head = round_params(w.conv(3, 8, 3)), round_params(w.dense(8, 6)), round_params(w.dense(12, 5))

    def forward(x):
        s = conv(x, stem, 1)
        a = F.relu(dense(gap(s), tower))
        b = F.relu(dense(s.amax((2, 3)), tower))
        return dense(torch.cat([a, b], 1), head)

    if not keras3:
        layers = [k2_input("image", [8, 8, 3]),
                  k2_layer("Conv2D", "stem", k2_conv(8, 3), [[("image", 0)]]),
                  k2_layer("GlobalAveragePooling2D", "mean", {"data_format": "channels_last", "keepdims": False},
                           [[("stem", 0)]]),
                  k2_layer("GlobalMaxPooling2D", "peak", {"data_format": "channels_last", "keepdims": False},
                           [[("stem", 0)]]),
                  k2_layer("Dense", "tower", k2_dense(6, "relu"), [[("mean", 0)], [("peak", 0)]]),
                  k2_layer("Concatenate", "pair", {"axis": -1}, [[("tower", 0), ("tower", 1)]]),
                  k2_layer("Dense", "logits", k2_dense(5), [[("pair", 0)]])]
        config = k2_functional(layers, "image", ("logits", 0))
        weights = {"stem": k2_weights("stem", conv_keras(stem)), "tower": k2_weights("tower", dense_keras(tower)),
                   "logits": k2_weights("logits", dense_keras(head))}
    else:
        layers = [k3_input("image", [8, 8, 3]),
                  k3_calls(k3_conv("stem", 8, 3), [[("image", 0)]]),
                  k3_calls(k3.layer("GlobalAveragePooling2D", "mean", data_format="channels_last", keepdims=False),
                           [[("stem", 0)]]),
                  k3_calls(k3.layer("GlobalMaxPooling2D", "peak", data_format="channels_last", keepdims=False),
                           [[("stem", 0)]]),
                  k3_calls(k3.layer("Dense", "tower", units=6, activation="relu", use_bias=True),
                           [[("mean", 0)], [("peak", 0)]]),
                  k3_calls(k3.layer("Concatenate", "pair", axis=-1), [[("tower", 0), ("tower", 1)]]),
                  k3_calls(k3.layer("Dense", "logits", units=5, activation="linear", use_bias=True),
                           [[("pair", 0)]])]
        config = k3_functional("model", layers, "image", ("logits", 0))
        weights = {"stem": conv_keras(stem), "tower": dense_keras(tower), "logits": dense_keras(head)}
    return config, weights, forward, [8, 8, 3], {"stem": 1, "tower": 2, "logits": 1}


def shared_conv(w, keras3, bn_on_both=True):
    c, norm, head = round_params(w.conv(3, 6, 3)), round_params(w.bn(6)), round_params(w.dense(12, 5))

    def forward(x):
        crop = x[:, :, :8, :8]
        pool = F.avg_pool2d(x, 2)
        a = F.relu(bn(conv(crop, c, 1), norm))
        b = F.relu(bn(conv(pool, c, 1), norm) if bn_on_both else conv(pool, c, 1))
        return dense(torch.cat([gap(a), gap(b)], 1), head)

    relu_b = ("norm", 1) if bn_on_both else ("conv", 1)
    if not keras3:
        layers = [k2_input("image", [12, 12, 3]),
                  k2_layer("Cropping2D", "crop", {"cropping": [[0, 4], [0, 4]], "data_format": "channels_last"},
                           [[("image", 0)]]),
                  k2_layer("AveragePooling2D", "pool", {"pool_size": [2, 2], "padding": "valid", "strides": [2, 2],
                                                        "data_format": "channels_last"}, [[("image", 0)]]),
                  k2_layer("Conv2D", "conv", k2_conv(6, 3), [[("crop", 0)], [("pool", 0)]]),
                  k2_layer("BatchNormalization", "norm", k2_bn(),
                           [[("conv", 0)], [("conv", 1)]] if bn_on_both else [[("conv", 0)]]),
                  k2_layer("ReLU", "relu_a", {"max_value": None}, [[("norm", 0)]]),
                  k2_layer("ReLU", "relu_b", {"max_value": None}, [[relu_b]]),
                  k2_layer("GlobalAveragePooling2D", "gap", {"data_format": "channels_last", "keepdims": False},
                           [[("relu_a", 0)], [("relu_b", 0)]]),
                  k2_layer("Concatenate", "pair", {"axis": -1}, [[("gap", 0), ("gap", 1)]]),
                  k2_layer("Dense", "logits", k2_dense(5), [[("pair", 0)]])]
        config = k2_functional(layers, "image", ("logits", 0))
        weights = {"conv": k2_weights("conv", conv_keras(c)), "norm": k2_weights("norm", bn_keras(norm)),
                   "logits": k2_weights("logits", dense_keras(head))}
    else:
        layers = [k3_input("image", [12, 12, 3]),
                  k3_calls(k3.layer("Cropping2D", "crop", cropping=[[0, 4], [0, 4]], data_format="channels_last"),
                           [[("image", 0)]]),
                  k3_calls(k3.layer("AveragePooling2D", "pool", pool_size=[2, 2], padding="valid", strides=[2, 2],
                                    data_format="channels_last"), [[("image", 0)]]),
                  k3_calls(k3_conv("conv", 6, 3), [[("crop", 0)], [("pool", 0)]]),
                  k3_calls(k3_bn("norm"), [[("conv", 0)], [("conv", 1)]]),
                  k3_calls(k3.layer("ReLU", "relu_a"), [[("norm", 0)]]),
                  k3_calls(k3.layer("ReLU", "relu_b"), [[("norm", 1)]]),
                  k3_calls(k3.layer("GlobalAveragePooling2D", "gap", data_format="channels_last", keepdims=False),
                           [[("relu_a", 0)], [("relu_b", 0)]]),
                  k3_calls(k3.layer("Concatenate", "pair", axis=-1), [[("gap", 0), ("gap", 1)]]),
                  k3_calls(k3.layer("Dense", "logits", units=5, activation="linear", use_bias=True),
                           [[("pair", 0)]])]
        config = k3_functional("model", layers, "image", ("logits", 0))
        weights = {"conv": conv_keras(c), "norm": bn_keras(norm), "logits": dense_keras(head)}
    return config, weights, forward, [12, 12, 3], {"conv": 2, "logits": 1}


def shared_conv_bn_one(w, keras3):
    return shared_conv(w, keras3, bn_on_both=False)


def nested_twice(w, keras3):
    stem, inner, norm, head = (round_params(w.conv(3, 4, 3)), round_params(w.conv(4, 4, 3)),
                               round_params(w.bn(4)), round_params(w.dense(4, 5)))
    inner2, norm2 = round_params(w.conv(4, 4, 1)), round_params(w.bn(4))

    def block(x):
        return F.relu(bn(conv(x, inner, 1), norm))

    def block2(x):
        return F.relu(bn(conv(x, inner2, 0), norm2))

    if not keras3:
        def forward(x):
            return dense(gap(block(block(conv(x, stem, 0)))), head)

        seq = {"class_name": "Sequential", "name": "block", "config": {"name": "block", "layers": [
            {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 6, 6, 4], "dtype": "float32",
                                                    "sparse": False, "ragged": False, "name": "block_input"}},
            {"class_name": "Conv2D", "config": {"name": "block_conv", "trainable": True, **k2_conv(4, 3)}},
            {"class_name": "BatchNormalization", "config": {"name": "block_bn", "trainable": True, **k2_bn()}},
            {"class_name": "ReLU", "config": {"name": "block_relu", "trainable": True, "max_value": None}}]},
            # Node 0 is the block's own creation on its Input: its calls here are nodes 1 and 2.
            "inbound_nodes": [[["stem", 0, 0, {}]], [["block", 1, 0, {}]]]}
        layers = [k2_input("image", [8, 8, 3]),
                  k2_layer("Conv2D", "stem", k2_conv(4, 3, "valid"), [[("image", 0)]]),
                  seq,
                  k2_layer("GlobalAveragePooling2D", "gap", {"data_format": "channels_last", "keepdims": False},
                           [[("block", 2)]]),
                  k2_layer("Dense", "logits", k2_dense(5), [[("gap", 0)]])]
        config = k2_functional(layers, "image", ("logits", 0))
        weights = {"stem": k2_weights("stem", conv_keras(stem)),
                   "block": k2_weights("block_conv", conv_keras(inner)) + k2_weights("block_bn", bn_keras(norm)),
                   "logits": k2_weights("logits", dense_keras(head))}
        return config, weights, forward, [8, 8, 3], {"stem": 1, "block_conv": 2, "logits": 1}

    def forward(x):
        return dense(gap(block2(block2(block(block(conv(x, stem, 0)))))), head)

    functional = k3_functional("block", [
        k3_input("block_input", [6, 6, 4]),
        k3_calls(k3_conv("block_conv", 4, 3), [[("block_input", 0)]]),
        k3_calls(k3_bn("block_bn"), [[("block_conv", 0)]]),
        k3_calls(k3.layer("ReLU", "block_relu"), [[("block_bn", 0)]])], "block_input", ("block_relu", 0))
    # Node 0 is the Functional's creation: its calls here are nodes 1 and 2.
    k3_calls(functional, [[("stem", 0)], [("block", 1)]])
    sequential = {"module": "keras", "class_name": "Sequential", "registered_name": None,
                  "config": {"name": "block2", "trainable": True, "dtype": k3.DTYPE, "layers": [
                      k3.input_layer("block2_input", [6, 6, 4]),
                      k3_conv("block2_conv", 4, 1, "valid"),
                      k3_bn("block2_bn"),
                      k3.layer("ReLU", "block2_relu")]}}
    # A Keras 3 Sequential is no Functional: its calls are nodes 0 and 1.
    k3_calls(sequential, [[("block", 2)], [("block2", 0)]])
    layers = [k3_input("image", [8, 8, 3]),
              k3_calls(k3_conv("stem", 4, 3, "valid"), [[("image", 0)]]),
              functional, sequential,
              k3_calls(k3.layer("GlobalAveragePooling2D", "gap", data_format="channels_last", keepdims=False),
                       [[("block2", 1)]]),
              k3_calls(k3.layer("Dense", "logits", units=5, activation="linear", use_bias=True), [[("gap", 0)]])]
    config = k3_functional("model", layers, "image", ("logits", 0))
    weights = {"stem": conv_keras(stem), "block_conv": conv_keras(inner), "block_bn": bn_keras(norm),
               "block2_conv": conv_keras(inner2), "block2_bn": bn_keras(norm2), "logits": dense_keras(head)}
    return config, weights, forward, [8, 8, 3], {"stem": 1, "block_conv": 2, "block2_conv": 2, "logits": 1}


MODELS = [(shared_relu, (False, True)), (shared_dense, (False, True)), (shared_conv, (False, True)),
          (shared_conv_bn_one, (False,)), (nested_twice, (False, True))]


def main():
    os.makedirs(OUT, exist_ok=True)
    gen = torch.Generator().manual_seed(SEED)
    images = {}
    reference = {"images": "images.h5", "models": []}
    for shape in ([8, 8, 3], [12, 12, 3]):
        images[tuple(shape)] = f32(torch.rand(N_IMAGES, *shape, generator=gen))
    for index, (make, forms) in enumerate(MODELS):
        for keras3 in forms:
            config, weights, forward, shape, calls = make(Weights(SEED + index), keras3)
            name = make.__name__ + ("_keras3" if keras3 else "")
            path = os.path.join(OUT, name + (".keras" if keras3 else ".h5"))
            (write_k3 if keras3 else write_k2)(path, config, weights)
            x = images[tuple(shape)]
            with torch.no_grad():
                logits = forward(x.permute(0, 3, 1, 2))
            reference["models"].append({
                "name": name, "file": os.path.basename(path), "input": shape,
                "weighted_layers": list(calls), "calls": [calls[k] for k in calls],
                "fp32_logits": [[float(v) for v in row] for row in logits]})
    # One image set per input size; the labels are zeros: the tests compare logits, not accuracy.
    with h5py.File(os.path.join(OUT, "images.h5"), "w") as f:
        f["x"] = images[(8, 8, 3)].to(torch.float32).numpy()
        f["y"] = np.zeros(N_IMAGES, dtype=np.int32)
    with h5py.File(os.path.join(OUT, "images-12.h5"), "w") as f:
        f["x"] = images[(12, 12, 3)].to(torch.float32).numpy()
        f["y"] = np.zeros(N_IMAGES, dtype=np.int32)
    with open(os.path.join(OUT, "reference.json"), "w") as f:
        json.dump(reference, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
