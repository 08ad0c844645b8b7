#!/usr/bin/python3
# make_user_layers.py: small Keras models with PReLU (as converters write nn.PReLU) and CustomScaleLayer, and their PyTorch logits.
# SPDX-License-Identifier: GPL-3.0-or-later
"""PReLU and Keras 3's CustomScaleLayer for test-keras-user's /keras-user-layers tests.

How to run (from the source root, after make_shared_layers.py, whose images
it scores; needs /usr/bin/python3 with torch, numpy, h5py):

    /usr/bin/python3 tests/reference/make_user_layers.py

Writes  tests/data/user-layers/prelu.h5              Keras 2 (tf.keras 2.11 Model.save h5 layout)
        tests/data/user-layers/prelu.keras           Keras 3 (saving_lib's zip)
        tests/data/user-layers/prelu-per-position.h5 a PReLU without shared_axes whose slopes
                                                     differ by position (the engine refuses it)
        tests/data/user-layers/custom-scale.keras    Keras 3: CustomScaleLayer(0.17)([a, b]),
                                                     InceptionResNetV2's a + b * scale
        tests/data/user-layers/reference.json        fp32_logits of the 16 images of
                                                     tests/data/shared-layers/images.h5

THE MODEL (random weights and slopes, seeded; no training), input 8x8x3:
  Conv2D(6, 3x3 same) -> PReLU(shared_axes [1, 2], alpha (1, 1, 6): nn.PReLU(6))
  -> Conv2D(4, 3x3 same) -> PReLU(shared_axes [1, 2, 3], alpha (1, 1, 1): nn.PReLU())
  -> GlobalAveragePooling2D -> Dense(8) -> PReLU(alpha (8,): nn.PReLU(8) on a vector)
  -> Dense(5)
  The slopes are drawn from [-0.5, 1.5): negative, inside (0, 1) and above 1.
  PyTorch computes the logits in float64 with torch.nn.PReLU's own forward
  (max(0, x) + weight * min(0, x)), not the engine's definition.

THE CUSTOM SCALE MODEL, input 8x8x3:
  Conv2D(4, 3x3 same) as a and Conv2D(4, 1x1) as b, both on the image;
  CustomScaleLayer(scale 0.17)([a, b]) = a + b * 0.17 (keras.applications.
  inception_resnet_v2); ReLU; GlobalAveragePooling2D; Dense(5).
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
import make_keras3_files as k3  # noqa: E402
import make_shared_layers as sl  # noqa: E402  (weights, layer dicts and writers)

OUT = "tests/data/user-layers"
SEED = 20261206


def prelu_module(channels, gen):
    m = torch.nn.PReLU(channels)
    with torch.no_grad():
        m.weight.copy_(sl.f32(torch.rand(channels, generator=gen) * 2.0 - 0.5))
    return m


def build(keras3):
    w = sl.Weights(SEED)
    gen = torch.Generator().manual_seed(SEED + 1)
    c1, c2, d1, d2 = (sl.round_params(p) for p in (w.conv(3, 6, 3), w.conv(6, 4, 3), w.dense(4, 8), w.dense(8, 5)))
    p1, p2, p3 = prelu_module(6, gen), prelu_module(1, gen), prelu_module(8, gen)

    def forward(x):
        x = p1(sl.conv(x, c1, 1))
        x = p2(sl.conv(x, c2, 1))
        return sl.dense(p3(sl.dense(sl.gap(x), d1)), d2)

    alphas = {"prelu_a": p1.weight.detach().view(1, 1, 6), "prelu_b": p2.weight.detach().view(1, 1, 1),
              "prelu_c": p3.weight.detach().view(8)}
    shared = {"prelu_a": [1, 2], "prelu_b": [1, 2, 3], "prelu_c": None}
    chain = [("Conv2D", "conv_a"), ("PReLU", "prelu_a"), ("Conv2D", "conv_b"), ("PReLU", "prelu_b"),
             ("GlobalAveragePooling2D", "gap"), ("Dense", "dense_a"), ("PReLU", "prelu_c"), ("Dense", "logits")]
    params = {"conv_a": sl.conv_keras(c1), "conv_b": sl.conv_keras(c2), "dense_a": sl.dense_keras(d1),
              "logits": sl.dense_keras(d2)}
    params.update({name: [("alpha", alpha)] for name, alpha in alphas.items()})
    configs = {"conv_a": sl.k2_conv(6, 3), "conv_b": sl.k2_conv(4, 3), "dense_a": sl.k2_dense(8),
               "logits": sl.k2_dense(5), "gap": {"data_format": "channels_last", "keepdims": False}}
    configs.update({name: {"alpha_initializer": {"class_name": "Zeros", "config": {}}, "alpha_regularizer": None,
                           "alpha_constraint": None, "shared_axes": axes} for name, axes in shared.items()})
    previous = "image"
    if not keras3:
        layers = [sl.k2_input("image", [8, 8, 3])]
        for cls, name in chain:
            layers.append(sl.k2_layer(cls, name, configs[name], [[(previous, 0)]]))
            previous = name
        config = sl.k2_functional(layers, "image", ("logits", 0))
        weights = {name: sl.k2_weights(name, named) for name, named in params.items()}
    else:
        layers = [sl.k3_input("image", [8, 8, 3])]
        for cls, name in chain:
            layers.append(sl.k3_calls(k3.layer(cls, name, **configs[name]), [[(previous, 0)]]))
            previous = name
        config = sl.k3_functional("model", layers, "image", ("logits", 0))
        weights = params
    return config, weights, forward


def per_position():
    """Conv2D(2) -> PReLU(shared_axes None, alpha (8, 8, 2) differing by position) -> GAP -> Dense(3)."""
    w = sl.Weights(SEED + 2)
    c, d = sl.round_params(w.conv(3, 2, 3)), sl.round_params(w.dense(2, 3))
    alpha = torch.linspace(0.0, 1.0, 8 * 8 * 2).view(8, 8, 2)
    layers = [sl.k2_input("image", [8, 8, 3]),
              sl.k2_layer("Conv2D", "conv", sl.k2_conv(2, 3), [[("image", 0)]]),
              sl.k2_layer("PReLU", "prelu", {"shared_axes": None}, [[("conv", 0)]]),
              sl.k2_layer("GlobalAveragePooling2D", "gap", {"data_format": "channels_last", "keepdims": False},
                          [[("prelu", 0)]]),
              sl.k2_layer("Dense", "logits", sl.k2_dense(3), [[("gap", 0)]])]
    weights = {"conv": sl.k2_weights("conv", sl.conv_keras(c)), "prelu": sl.k2_weights("prelu", [("alpha", alpha)]),
               "logits": sl.k2_weights("logits", sl.dense_keras(d))}
    return sl.k2_functional(layers, "image", ("logits", 0)), weights


def custom_scale():
    w = sl.Weights(SEED + 3)
    ca, cb, d = sl.round_params(w.conv(3, 4, 3)), sl.round_params(w.conv(3, 4, 1)), sl.round_params(w.dense(4, 5))
    scale = 0.17

    def forward(x):
        return sl.dense(sl.gap(F.relu(sl.conv(x, ca, 1) + sl.conv(x, cb, 0) * scale)), d)

    layers = [sl.k3_input("image", [8, 8, 3]),
              sl.k3_calls(sl.k3_conv("conv_a", 4, 3), [[("image", 0)]]),
              sl.k3_calls(sl.k3_conv("conv_b", 4, 1, "valid"), [[("image", 0)]]),
              sl.k3_calls({"module": None, "class_name": "CustomScaleLayer", "registered_name": "CustomScaleLayer",
                           "config": {"name": "block35_1", "trainable": True, "dtype": k3.DTYPE, "scale": scale}},
                          [[("conv_a", 0), ("conv_b", 0)]]),
              sl.k3_calls(k3.layer("ReLU", "relu"), [[("block35_1", 0)]]),
              sl.k3_calls(k3.layer("GlobalAveragePooling2D", "gap", data_format="channels_last", keepdims=False),
                          [[("relu", 0)]]),
              sl.k3_calls(k3.layer("Dense", "logits", units=5, activation="linear", use_bias=True), [[("gap", 0)]])]
    weights = {"conv_a": sl.conv_keras(ca), "conv_b": sl.conv_keras(cb), "logits": sl.dense_keras(d)}
    return sl.k3_functional("model", layers, "image", ("logits", 0)), weights, forward


def main():
    os.makedirs(OUT, exist_ok=True)
    with h5py.File(os.path.join(sl.OUT, "images.h5"), "r") as f:
        x = torch.from_numpy(np.asarray(f["x"], dtype=np.float64))
    reference = {"images": "../shared-layers/images.h5", "models": []}
    for keras3 in (False, True):
        config, weights, forward = build(keras3)
        name = "prelu" + (".keras" if keras3 else ".h5")
        (sl.write_k3 if keras3 else sl.write_k2)(os.path.join(OUT, name), config, weights)
        with torch.no_grad():
            logits = forward(x.permute(0, 3, 1, 2))
        reference["models"].append({"file": name, "fp32_logits": [[float(v) for v in row] for row in logits]})
    config, weights = per_position()
    sl.write_k2(os.path.join(OUT, "prelu-per-position.h5"), config, weights)
    config, weights, forward = custom_scale()
    sl.write_k3(os.path.join(OUT, "custom-scale.keras"), config, weights)
    with torch.no_grad():
        logits = forward(x.permute(0, 3, 1, 2))
    reference["models"].append({"file": "custom-scale.keras",
                                "fp32_logits": [[float(v) for v in row] for row in logits]})
    with open(os.path.join(OUT, "reference.json"), "w") as f:
        json.dump(reference, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
