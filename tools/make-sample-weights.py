#!/usr/bin/python3
# make-sample-weights.py: writes data/sample-weights.h5, a small Keras 2 model file to explore.
# SPDX-License-Identifier: GPL-3.0-or-later
"""Write data/sample-weights.h5 in the Keras 2 model.save() layout.

The file is what Keras 2.11 (TensorFlow backend) writes for a small
Sequential CNN on 28x28x1 inputs, without needing TensorFlow: root
attributes keras_version, backend and model_config; the weights under
model_weights/<layer>/<layer>/<name>:0 with layer_names and weight_names.
The weights are untrained but shaped like trained ones (He-normal kernels,
small biases) and carry two features worth seeing in Quantscope:

- conv2d_1 has three output channels 20x larger than the rest, so one
  per-tensor range wastes most int8 codes on them and per-channel
  quantization visibly helps;
- dense (the 512x64 kernel) is 50% magnitude-pruned: its exact zeros must
  stay exact after quantization.

Run with Debian's interpreter (numpy and h5py from apt):
    /usr/bin/python3 tools/make-sample-weights.py [output.h5]
The output is deterministic: same numbers, same bytes.
"""

import json
import os
import sys

import h5py
import numpy as np

SEED = 20240611
INPUT_SHAPE = (28, 28, 1)
OUTLIER_CHANNELS = (3, 17, 29)
OUTLIER_GAIN = 20.0
PRUNED_FRACTION = 0.5


def conv_config(name, filters, kernel, strides=1, activation="relu", first=False):
    config = {"name": name, "trainable": True, "dtype": "float32"}
    if first:
        config["batch_input_shape"] = [None, *INPUT_SHAPE]
    config.update({
        "filters": filters,
        "kernel_size": [kernel, kernel],
        "strides": [strides, strides],
        "padding": "valid",
        "data_format": "channels_last",
        "dilation_rate": [1, 1],
        "groups": 1,
        "activation": activation,
        "use_bias": True,
        "kernel_initializer": {"class_name": "HeNormal", "config": {"seed": None}},
        "bias_initializer": {"class_name": "Zeros", "config": {}},
        "kernel_regularizer": None,
        "bias_regularizer": None,
        "activity_regularizer": None,
        "kernel_constraint": None,
        "bias_constraint": None,
    })
    return {"class_name": "Conv2D", "config": config}


def dense_config(name, units, activation):
    return {"class_name": "Dense", "config": {
        "name": name, "trainable": True, "dtype": "float32", "units": units,
        "activation": activation, "use_bias": True,
        "kernel_initializer": {"class_name": "HeNormal", "config": {"seed": None}},
        "bias_initializer": {"class_name": "Zeros", "config": {}},
        "kernel_regularizer": None, "bias_regularizer": None,
        "activity_regularizer": None, "kernel_constraint": None, "bias_constraint": None}}


def model_config():
    layers = [
        {"class_name": "InputLayer", "config": {
            "batch_input_shape": [None, *INPUT_SHAPE], "dtype": "float32",
            "sparse": False, "ragged": False, "name": "conv2d_input"}},
        conv_config("conv2d", 16, 3, strides=2, first=True),
        {"class_name": "BatchNormalization", "config": {
            "name": "batch_normalization", "trainable": True, "dtype": "float32",
            "axis": [3], "momentum": 0.99, "epsilon": 0.001, "center": True, "scale": True,
            "beta_initializer": {"class_name": "Zeros", "config": {}},
            "gamma_initializer": {"class_name": "Ones", "config": {}},
            "moving_mean_initializer": {"class_name": "Zeros", "config": {}},
            "moving_variance_initializer": {"class_name": "Ones", "config": {}},
            "beta_regularizer": None, "gamma_regularizer": None,
            "beta_constraint": None, "gamma_constraint": None}},
        conv_config("conv2d_1", 32, 3, strides=2),
        {"class_name": "DepthwiseConv2D", "config": {
            "name": "depthwise_conv2d", "trainable": True, "dtype": "float32",
            "kernel_size": [3, 3], "strides": [1, 1], "padding": "valid",
            "data_format": "channels_last", "dilation_rate": [1, 1], "groups": 1,
            "activation": "relu", "use_bias": True,
            "bias_initializer": {"class_name": "Zeros", "config": {}},
            "bias_regularizer": None, "activity_regularizer": None, "bias_constraint": None,
            "depth_multiplier": 1,
            "depthwise_initializer": {"class_name": "HeNormal", "config": {"seed": None}},
            "depthwise_regularizer": None, "depthwise_constraint": None}},
        conv_config("conv2d_2", 32, 1),
        {"class_name": "Flatten", "config": {
            "name": "flatten", "trainable": True, "dtype": "float32",
            "data_format": "channels_last"}},
        dense_config("dense", 64, "relu"),
        dense_config("dense_1", 10, "softmax"),
    ]
    return {"class_name": "Sequential", "config": {"name": "sequential", "layers": layers}}



def he_normal(rng, shape, fan_in):
    return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)


def small_bias(rng, n):
    return (rng.standard_normal(n) * 0.02).astype(np.float32)


def make_weights():
    """(layer name, [(weight name, array)]) in model order."""
    rng = np.random.default_rng(SEED)

    conv = he_normal(rng, (3, 3, 1, 16), 3 * 3 * 1)
    conv_b = small_bias(rng, 16)

    gamma = (1.0 + 0.1 * rng.standard_normal(16)).astype(np.float32)
    beta = (0.05 * rng.standard_normal(16)).astype(np.float32)
    mean = (0.2 * rng.standard_normal(16)).astype(np.float32)
    variance = rng.uniform(0.5, 2.0, 16).astype(np.float32)

    conv1 = he_normal(rng, (3, 3, 16, 32), 3 * 3 * 16)
    conv1[..., list(OUTLIER_CHANNELS)] *= OUTLIER_GAIN
    conv1_b = small_bias(rng, 32)

    # Depthwise fan-in is one input channel's window: kh * kw.
    depthwise = he_normal(rng, (3, 3, 32, 1), 3 * 3)
    depthwise_b = small_bias(rng, 32)

    pointwise = he_normal(rng, (1, 1, 32, 32), 32)
    pointwise_b = small_bias(rng, 32)

    # 28 -> 13 (3x3 stride 2) -> 6 (3x3 stride 2) -> 4 (depthwise 3x3) -> 4 (1x1).
    flat = 4 * 4 * 32
    dense = he_normal(rng, (flat, 64), flat)
    threshold = np.quantile(np.abs(dense), PRUNED_FRACTION)
    dense[np.abs(dense) < threshold] = 0.0
    dense_b = small_bias(rng, 64)

    dense1 = he_normal(rng, (64, 10), 64)
    dense1_b = small_bias(rng, 10)

    return [
        ("conv2d", [("kernel", conv), ("bias", conv_b)]),
        ("batch_normalization", [("gamma", gamma), ("beta", beta),
                                 ("moving_mean", mean), ("moving_variance", variance)]),
        ("conv2d_1", [("kernel", conv1), ("bias", conv1_b)]),
        ("depthwise_conv2d", [("depthwise_kernel", depthwise), ("bias", depthwise_b)]),
        ("conv2d_2", [("kernel", pointwise), ("bias", pointwise_b)]),
        ("flatten", []),
        ("dense", [("kernel", dense), ("bias", dense_b)]),
        ("dense_1", [("kernel", dense1), ("bias", dense1_b)]),
    ]


def fixed_strings(values):
    # Keras 2 writes name lists through np.asarray of bytes: fixed-length,
    # null-padded strings (h5py 3 would otherwise store a list of bytes as
    # variable-length ones).
    return np.array([v.encode("utf8") for v in values], dtype=np.bytes_)


def write(path):
    layers = make_weights()
    config = json.dumps(model_config())

    with h5py.File(path, "w", libver="earliest", track_order=False) as f:
        # model.save() stores its metadata: strings as str, the config as bytes.
        f.attrs["keras_version"] = "2.11.0"
        f.attrs["backend"] = "tensorflow"
        f.attrs["model_config"] = np.bytes_(config.encode("utf8"))

        weights = f.create_group("model_weights")
        weights.attrs["layer_names"] = fixed_strings([name for name, _ in layers])
        weights.attrs["backend"] = np.bytes_(b"tensorflow")
        weights.attrs["keras_version"] = np.bytes_(b"2.11.0")

        # Keras creates the layer groups in name order.
        for name, tensors in sorted(layers, key=lambda item: item[0]):
            group = weights.create_group(name)
            names = [f"{name}/{weight}:0" for weight, _ in tensors]
            if names:
                group.attrs["weight_names"] = fixed_strings(names)
            else:
                group.attrs["weight_names"] = np.array([], dtype=np.float64)
            for full_name, (_, value) in zip(names, tensors):
                group.create_dataset(full_name, data=value, dtype="<f4", track_times=False)


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "data", "sample-weights.h5")
    write(path)
    print(f"{path}: {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
