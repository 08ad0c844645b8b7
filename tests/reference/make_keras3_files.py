#!/usr/bin/python3
# make_keras3_files.py: Keras 3 test files (.keras archives, .weights.h5 with config.json) and hostile zips.
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes Keras 3 files the way keras/src/saving/saving_lib.py does, without Keras.

saving_lib stores a model as a zip (zipfile's default, ZIP_STORED) of
metadata.json, config.json and model.weights.h5, in that order. In the HDF5
file every saveable gets a group "<inner path>/vars" (created even when it
has no variables), the model's own at the root; a Sequential's or
Functional's `layers` list is walked first, each layer at
"layers/<snake_case of its class>[_k]" (k counts earlier layers of the same
class in that list; a Sequential leaves its InputLayer out of the list, a
Functional keeps it), nested models repeat the pattern below their group,
and variables are "vars/0", "vars/1", ... in creation order (trainable,
then non-trainable). tf.keras 2.13 wrote the same tree under
"_layer_checkpoint_dependencies".

Usage:
  make_keras3_files.py tests/data/keras3           the small committed files
  make_keras3_files.py --demo MODEL.h5 OUTDIR      the demo model as .keras and
                                                   .weights.h5 + .config.json

Beside the tiny model, tiny-expected.json lists every tensor by the name
Quantscope must give it (layer, role, shape, values), from the names this
script chose the variables under, not from the reader's mapping rules.
"""
import io
import json
import os
import re
import struct
import sys
import zipfile
import zlib

import h5py
import numpy as np

DTYPE = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"},
         "registered_name": None}


def snake_case(name):
    """keras.src.utils.naming.to_snake_case."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def layer(class_name, name, **config):
    out = {"module": "keras.layers", "class_name": class_name,
           "config": {"name": name, "trainable": True, "dtype": DTYPE, **config},
           "registered_name": None}
    return out


def input_layer(name, shape):
    return {"module": "keras.layers", "class_name": "InputLayer",
            "config": {"batch_shape": [None, *shape], "dtype": "float32", "sparse": False, "name": name},
            "registered_name": None}


def functional_node(entry, inbound):
    """Keras 3's inbound_nodes form: one call with one tensor argument."""
    if inbound is None:
        entry["inbound_nodes"] = []
    else:
        entry["inbound_nodes"] = [{"args": [{"class_name": "__keras_tensor__", "config": {
            "shape": None, "dtype": "float32", "keras_history": [inbound, 0, 0]}}], "kwargs": {}}]
    entry["name"] = entry["config"]["name"]
    return entry


def write_weights(h5, model_class, layers, variables, prefix="layers"):
    """The tree saving_lib writes; @variables maps a layer name to its arrays."""
    h5.require_group("vars")
    used = {}
    for entry in layers:
        cls = entry["class_name"]
        if model_class == "Sequential" and cls == "InputLayer":
            continue
        key = snake_case(cls)
        if key in used:
            used[key] += 1
            key = f"{key}_{used[key]}"
        else:
            used[key] = 0
        group = h5.require_group(f"{prefix}/{key}")
        if cls in ("Sequential", "Functional"):
            sub = entry["config"]["layers"]
            write_weights(group, cls, sub, variables, prefix)
            continue
        vars_group = group.create_group("vars")
        for i, value in enumerate(variables.get(entry["config"]["name"], [])):
            vars_group[str(i)] = value


def h5_bytes(model_class, layers, variables, prefix="layers", optimizer=False):
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as h5:
        write_weights(h5, model_class, layers, variables, prefix)
        if optimizer:
            # A compiled model's optimizer state follows the layers.
            h5.create_group("optimizer/vars")
            h5["optimizer/vars/0"] = np.array(3, dtype=np.int64)
            h5["optimizer/vars/1"] = np.array(0.001, dtype=np.float32)
    return buffer.getvalue()


def write_keras(path, config, weights, compression=zipfile.ZIP_STORED, keras_version="3.3.3"):
    metadata = {"keras_version": keras_version, "date_saved": "2026-12-04@12:00:00"}

    def entry(name):
        # a fixed time, so that the committed files are the same every run
        info = zipfile.ZipInfo(name, date_time=(2026, 12, 4, 12, 0, 0))
        info.compress_type = compression
        return info

    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        with zf.open(entry("metadata.json"), "w") as f:
            f.write(json.dumps(metadata).encode())
        with zf.open(entry("config.json"), "w") as f:
            f.write(json.dumps(config).encode())
        zf.writestr(entry("model.weights.h5"), weights)


# ---- the tiny nested model ------------------------------------------------

def tiny_model(rng):
    def arr(*shape):
        return rng.standard_normal(shape).astype(np.float32)

    block = {"module": "keras", "class_name": "Sequential",
             "config": {"name": "block", "trainable": True, "dtype": DTYPE, "layers": [
                 input_layer("block_input", [6, 6, 4]),
                 layer("DepthwiseConv2D", "dw", kernel_size=[3, 3], strides=[1, 1], padding="same",
                       depth_multiplier=1, use_bias=False, activation="linear"),
                 layer("Conv2D", "pw", filters=6, kernel_size=[1, 1], strides=[1, 1], padding="same",
                       use_bias=True, activation="relu"),
             ]}, "registered_name": None}
    layers = [
        functional_node(input_layer("pixels", [8, 8, 3]), None),
        functional_node(layer("Conv2D", "stem", filters=4, kernel_size=[3, 3], strides=[1, 1],
                              padding="valid", use_bias=True, activation="linear"), "pixels"),
        functional_node(layer("BatchNormalization", "stem_bn", axis=-1, epsilon=0.001,
                              center=True, scale=False), "stem"),
        functional_node(block, "stem_bn"),
        functional_node(layer("SeparableConv2D", "sep", filters=5, kernel_size=[3, 3], strides=[1, 1],
                              padding="valid", depth_multiplier=1, use_bias=True, activation="relu"), "block"),
        functional_node(layer("Conv2D", "head_conv", filters=3, kernel_size=[1, 1], strides=[1, 1],
                              padding="valid", use_bias=False, activation="linear"), "sep"),
        functional_node(layer("GlobalAveragePooling2D", "gap", keepdims=False), "head_conv"),
        functional_node(layer("Dense", "logits", units=2, use_bias=True, activation="linear"), "gap"),
    ]
    config = {"module": "keras", "class_name": "Functional",
              "config": {"name": "tiny", "trainable": True, "layers": layers,
                         "input_layers": [["pixels", 0, 0]], "output_layers": [["logits", 0, 0]]},
              "registered_name": "Functional", "build_config": {"input_shape": None}}
    variables = {
        "stem": [arr(3, 3, 3, 4), arr(4)],
        "stem_bn": [arr(4), arr(4), np.abs(arr(4)) + 0.5],
        "dw": [arr(3, 3, 4, 1)],
        "pw": [arr(1, 1, 4, 6), arr(6)],
        "sep": [arr(3, 3, 6, 1), arr(1, 1, 6, 5), arr(5)],
        "head_conv": [arr(1, 1, 5, 3)],
        "logits": [arr(3, 2), arr(2)],
    }
    # What each variable is, by the layer classes' creation order.
    names = {
        "stem": [("/stem/kernel", "stem", "kernel"), ("/stem/bias", "stem", "bias")],
        "stem_bn": [("/stem_bn/beta", "stem_bn", "batchnorm"), ("/stem_bn/moving_mean", "stem_bn", "batchnorm"),
                    ("/stem_bn/moving_variance", "stem_bn", "batchnorm")],
        "dw": [("/block/dw/depthwise_kernel", "dw", "depthwise_kernel")],
        "pw": [("/block/pw/kernel", "pw", "kernel"), ("/block/pw/bias", "pw", "bias")],
        "sep": [("/sep/depthwise_kernel", "sep", "depthwise_kernel"), ("/sep/pointwise_kernel", "sep", "kernel"),
                ("/sep/bias", "sep", "bias")],
        "head_conv": [("/head_conv/kernel", "head_conv", "kernel")],
        "logits": [("/logits/kernel", "logits", "kernel"), ("/logits/bias", "logits", "bias")],
    }
    stored = {"stem": "/layers/conv2d", "stem_bn": "/layers/batch_normalization",
              "dw": "/layers/sequential/layers/depthwise_conv2d", "pw": "/layers/sequential/layers/conv2d",
              "sep": "/layers/separable_conv2d", "head_conv": "/layers/conv2d_1", "logits": "/layers/dense"}
    expected = []
    for key, entries in names.items():
        for i, (display, layer_name, role) in enumerate(entries):
            value = variables[key][i]
            expected.append({"path": display, "stored_path": f"{stored[key]}/vars/{i}", "layer": layer_name,
                             "role": role, "shape": list(value.shape),
                             "values": [float(v) for v in value.ravel()]})
    return config, variables, expected


# ---- hostile archives, written byte by byte ---------------------------------

def raw_zip(entries, claim_count=None, zip64_locator=False):
    """entries: dicts with name, data (stored bytes), method, crc, usize, flags, extra."""
    out = bytearray()
    central = bytearray()
    for e in entries:
        name = e["name"].encode()
        data = e["data"]
        usize = e.get("usize", len(data))
        csize = e.get("csize", len(data))
        crc = e.get("crc", zlib.crc32(e.get("plain", data)) & 0xffffffff)
        extra = e.get("extra", b"")
        offset = len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034b50, 20, e.get("flags", 0), e.get("method", 0), 0, 0x21,
                           crc, csize, usize, len(name), len(extra)) + name + extra + data
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014b50, 20, 20, e.get("flags", 0), e.get("method", 0),
                               0, 0x21, crc, csize, usize, len(name), len(extra), 0, 0, 0, 0,
                               e.get("offset", offset)) + name + extra
    directory = len(out)
    out += central
    if zip64_locator:
        out += struct.pack("<IIQI", 0x07064b50, 0, len(out), 1)
    count = len(entries) if claim_count is None else claim_count
    out += struct.pack("<IHHHHIIH", 0x06054b50, 0, 0, count, count, len(central), directory, 0)
    return bytes(out)


def deflate(data):
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def hostile(outdir, config_bytes):
    def write(name, data):
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(data)

    h5 = b"\x89HDF\r\n\x1a\n" + bytes(64)
    good = [{"name": "config.json", "data": config_bytes}, {"name": "model.weights.h5", "data": h5}]
    zeros = bytes(8 << 20)
    write("bomb.keras", raw_zip([good[0], {"name": "model.weights.h5", "data": deflate(zeros), "method": 8,
                                           "plain": zeros, "usize": len(zeros)}]))
    small = bytes(4096)
    # Declares 100 bytes, inflates to 4096: a bomb lying about its size.
    write("lying-size.keras", raw_zip([good[0], {"name": "model.weights.h5", "data": deflate(small), "method": 8,
                                                 "plain": small[:100], "usize": 100}]))
    write("bad-crc.keras", raw_zip([good[0], {"name": "model.weights.h5", "data": h5, "crc": 1234}]))
    write("dotdot.keras", raw_zip(good + [{"name": "../../etc/evil", "data": b"x"}]))
    write("encrypted.keras", raw_zip([good[0], {"name": "model.weights.h5", "data": h5, "flags": 1}]))
    write("zip64.keras", raw_zip([good[0], {"name": "model.weights.h5", "data": h5,
                                            "extra": struct.pack("<HHQQ", 1, 16, len(h5), len(h5))}],
                                 zip64_locator=True))
    write("huge-count.keras", raw_zip(good, claim_count=60000))
    write("long-name.keras", raw_zip(good + [{"name": "a" * 2000, "data": b"x"}]))
    write("npz.keras", raw_zip([good[0], {"name": "model.weights.npz", "data": b"PK"}]))
    write("no-config.keras", raw_zip([good[1]]))
    whole = raw_zip(good)
    write("truncated.keras", whole[: len(whole) // 2])
    loop_keras(outdir, json.loads(config_bytes))


def loop_keras(outdir, config):
    """Weights on which libhdf5's global-heap decoder loops (tests/fuzz/README.md), as an archive:
    opened as an image in memory, whose damaged heap must be refused as the same file's is."""
    looping = os.path.join(os.path.dirname(__file__), "..", "fuzz", "inputs", "libhdf5-h5hg-read-loop-536794d4.h5")
    with open(looping, "rb") as f:
        write_keras(os.path.join(outdir, "libhdf5-loop.keras"), config, f.read())


# ---- the demo model, converted ---------------------------------------------

def keras3_layer_config(entry):
    cls = entry["class_name"]
    config = dict(entry["config"])
    if cls == "InputLayer":
        return input_layer(config["name"], config["batch_input_shape"][1:])
    config["dtype"] = DTYPE
    config.pop("batch_input_shape", None)
    if cls == "BatchNormalization" and isinstance(config.get("axis"), list):
        config["axis"] = config["axis"][0] if len(config["axis"]) == 1 else config["axis"]
    return {"module": "keras.layers", "class_name": cls, "config": config, "registered_name": None}


def demo(model_path, outdir):
    with h5py.File(model_path, "r") as f:
        old = json.loads(f.attrs["model_config"])
        assert old["class_name"] == "Sequential"
        layers = [keras3_layer_config(e) for e in old["config"]["layers"]]
        variables = {}
        for entry in old["config"]["layers"]:
            name = entry["config"]["name"]
            if name not in f["model_weights"]:
                continue
            group = f["model_weights"][name]
            names = [n.decode() if isinstance(n, bytes) else n for n in group.attrs["weight_names"]]
            # Keras 2 lists weights in creation order too (kernel, bias;
            # gamma, beta, moving mean, moving variance), as Keras 3 numbers them.
            values = [np.array(group[n]) for n in names]
            variables[name] = values
    config = {"module": "keras", "class_name": "Sequential",
              "config": {"name": "sequential", "trainable": True, "dtype": DTYPE, "layers": layers},
              "registered_name": None, "build_config": {"input_shape": [None, 28, 28, 1]},
              "compile_config": None}
    weights = h5_bytes("Sequential", layers, variables, optimizer=True)
    write_keras(os.path.join(outdir, "fashion-cnn.keras"), config, weights)
    with open(os.path.join(outdir, "fashion-cnn.weights.h5"), "wb") as f:
        f.write(weights)
    with open(os.path.join(outdir, "fashion-cnn.config.json"), "w") as f:
        json.dump(config, f)


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--demo":
        os.makedirs(sys.argv[3], exist_ok=True)
        demo(sys.argv[2], sys.argv[3])
        return
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "data", "keras3")
    os.makedirs(outdir, exist_ok=True)
    rng = np.random.default_rng(20261204)
    config, variables, expected = tiny_model(rng)
    layers = config["config"]["layers"]
    weights = h5_bytes("Functional", layers, variables)
    write_keras(os.path.join(outdir, "tiny.keras"), config, weights)
    write_keras(os.path.join(outdir, "tiny-deflated.keras"), config, weights, zipfile.ZIP_DEFLATED)
    write_keras(os.path.join(outdir, "tiny-tf213.keras"), config,
                h5_bytes("Functional", layers, variables, prefix="_layer_checkpoint_dependencies"))
    with open(os.path.join(outdir, "tiny.weights.h5"), "wb") as f:
        f.write(weights)
    with open(os.path.join(outdir, "tiny.config.json"), "w") as f:
        json.dump(config, f)
    with open(os.path.join(outdir, "tiny-expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
    hostile(outdir, json.dumps(config).encode())


if __name__ == "__main__":
    main()
