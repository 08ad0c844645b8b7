#!/usr/bin/python3
# make-seeds.py: the seed inputs of the config, scheme and dataset fuzz targets (tests/fuzz/README.md).
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Usage: make-seeds.py SOURCE_DIR OUT_DIR
# Writes OUT_DIR/config/ (the demo model's Keras 2 Sequential model_config,
# the same model as a Keras 2 functional config and as Keras 3 Sequential and
# functional config.json, and the graph configs of tests/data/keras-configs/), OUT_DIR/scheme/ (the documented example and
# variants) and OUT_DIR/dataset/ (idx files, plain and gzip, cut to a few
# images, and HDF5 image sets). Needs numpy and h5py.
import copy
import gzip
import json
import os
import sys

import h5py
import numpy as np

src, out = sys.argv[1], sys.argv[2]


def write(sub, name, data):
    os.makedirs(os.path.join(out, sub), exist_ok=True)
    with open(os.path.join(out, sub, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


# ---- model_config ---------------------------------------------------------
with h5py.File(os.path.join(src, "data/models/fashion-cnn.h5"), "r") as f:
    text = f.attrs["model_config"]
    text = text.decode() if isinstance(text, bytes) else text
keras2 = json.loads(text)
write("config", "keras2-sequential.json", text)

layers = keras2["config"]["layers"]
functional = {"class_name": "Functional",
              "config": {"name": "model", "layers": [], "input_layers": [], "output_layers": []}}
previous = None
for layer in layers:
    layer = copy.deepcopy(layer)
    layer["name"] = layer["config"]["name"]
    layer["inbound_nodes"] = [] if previous is None else [[[previous, 0, 0, {}]]]
    previous = layer["name"]
    functional["config"]["layers"].append(layer)
functional["config"]["input_layers"] = [[layers[0]["config"]["name"], 0, 0]]
functional["config"]["output_layers"] = [[previous, 0, 0]]
write("config", "keras2-functional.json", json.dumps(functional))


def keras3_layer(layer):
    config = copy.deepcopy(layer["config"])
    config["dtype"] = {"module": "keras", "class_name": "DTypePolicy",
                       "config": {"name": "float32"}, "registered_name": None}
    return {"module": "keras.layers", "class_name": layer["class_name"], "config": config,
            "registered_name": None, "build_config": {"input_shape": [None, 28, 28, 1]}}


sequential3 = {"module": "keras", "class_name": "Sequential", "registered_name": None,
               "config": {"name": "sequential", "trainable": True,
                          "layers": [keras3_layer(l) for l in layers]},
               "build_config": {"input_shape": [None, 28, 28, 1]}}
write("config", "keras3-sequential.json", json.dumps(sequential3))

functional3 = {"module": "keras.src.models.functional", "class_name": "Functional",
               "registered_name": "Functional", "config": {"name": "model", "layers": []}}
previous = None
for layer in layers:
    k3 = keras3_layer(layer)
    k3["name"] = layer["config"]["name"]
    k3["inbound_nodes"] = [] if previous is None else [{
        "args": [{"class_name": "__keras_tensor__",
                  "config": {"shape": [None, 28, 28, 1], "dtype": "float32",
                             "keras_history": [previous, 0, 0]}}],
        "kwargs": {}}]
    previous = k3["name"]
    functional3["config"]["layers"].append(k3)
write("config", "keras3-functional.json", json.dumps(functional3))

# The graph configs tf.keras and Keras 3 wrote (tests/data/keras-configs/: a
# TensorFlow.js model.json's modelTopology.model_config, or a config.json),
# compact, each that fits the target's -max_len (64 KiB).
configs = os.path.join(src, "tests/data/keras-configs")
for name in sorted(os.listdir(configs)):
    if not name.endswith(".json"):
        continue
    with open(os.path.join(configs, name)) as f:
        document = json.load(f)
    config = document.get("modelTopology", {}).get("model_config", document)
    text = json.dumps(config, separators=(",", ":"))
    if len(text) <= 65536:
        write("config", "graph-" + name, text)

# ---- scheme files ---------------------------------------------------------
example = {
    "version": 1,
    "default": {"format": "int", "bits": 8, "mapping": "symmetric", "signed": True,
                "narrow": True, "granularity": "channel", "axis": None,
                "range": "minmax", "rounding": "even", "zero_nudge": True},
    "overrides": [{"tensors": "/model_weights/conv2d/*", "bits": 4, "range": "mse"},
                  {"tensors": ["*dense*/kernel:0", "role:depthwise_kernel"], "granularity": "tensor"}],
    "skip": ["role:bias", "role:batchnorm", "/model_weights/embedding/*"],
}
write("scheme", "example.json", json.dumps(example, indent=2))
write("scheme", "percentile.json", json.dumps(
    {"version": 1, "default": {"range": "percentile:99.9", "bits": 6, "axis": -1},
     "overrides": [{"tensors": "*", "format": "fp8-e4m3"}, {"tensors": "x", "range": "manual:-1,1"}]}))
write("scheme", "kl.json", json.dumps(
    {"version": 1, "default": {"range": "kl", "bins": 2048, "mapping": "asymmetric", "signed": False}}))

# ---- image sets -----------------------------------------------------------
for kind in ("t10k", "calibration"):
    with gzip.open(os.path.join(src, "data/fashion-mnist/%s-images-idx3-ubyte.gz" % kind)) as f:
        images = f.read()
    with gzip.open(os.path.join(src, "data/fashion-mnist/%s-labels-idx1-ubyte.gz" % kind)) as f:
        labels = f.read()
    n = 3
    cut_images = images[:4] + n.to_bytes(4, "big") + images[8:16] + images[16:16 + n * 784]
    cut_labels = labels[:4] + n.to_bytes(4, "big") + labels[8:8 + n]
    write("dataset", "%s-images-idx3.idx" % kind, cut_images)
    write("dataset", "%s-labels-idx1.idx" % kind, cut_labels)
    write("dataset", "%s-images-idx3.gz" % kind, gzip.compress(cut_images))
pixels4 = bytes([0, 0, 8, 4]) + b"".join(v.to_bytes(4, "big") for v in (2, 4, 4, 3)) + bytes(range(96))
write("dataset", "rgb-idx4.idx", pixels4)

rng = np.random.default_rng(1)
for name, x, y in (("uint8", rng.integers(0, 256, (4, 28, 28, 1), dtype=np.uint8), np.arange(4, dtype=np.uint8)),
                   ("float32", rng.random((3, 8, 8, 3), dtype=np.float32), np.array([0, 1, 2], dtype=np.int64)),
                   ("chunked", rng.integers(0, 256, (5, 6, 6), dtype=np.uint8), np.arange(5, dtype=np.int32))):
    path = os.path.join(out, "dataset", "set-%s.h5" % name)
    with h5py.File(path, "w") as f:
        if name == "chunked":
            f.create_dataset("x", data=x, chunks=(1, 6, 6), compression="gzip", shuffle=True)
        else:
            f.create_dataset("x", data=x)
        f.create_dataset("y", data=y)
        if name == "float32":
            f["x"].attrs["scale"] = np.float32(2.0)
            f["x"].attrs["mean"] = np.array([0.5, 0.5, 0.5], dtype=np.float32)
