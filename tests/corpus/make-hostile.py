#!/usr/bin/python3
# make-hostile.py: writes hostile model, image-set and scheme files, one odd property each, for run-hostile.py.
# SPDX-License-Identifier: GPL-3.0-or-later
"""Hostile inputs for every reader of quantscope-cli.

Usage: make-hostile.py OUTDIR [KIND,...]

Writes into OUTDIR, beside each input, nothing else; run-hostile.py puts
every file through every CLI command and checks the bad-input contract
(status 0 or 2; on 2 exactly one line on stderr and nothing on stdout; no
crash, no hang, no partial export). The files are small: "huge" ones
declare sizes they do not store.

Kinds (file name prefixes):
  k2-*       Keras 2 model.save() files: odd model_config JSON, odd weights
  k3-*       Keras 3 .keras archives
  w3-*       Keras 3 .weights.h5 with a config.json beside it
  img-*      HDF5 image sets (x, y) for --data
  imgdir-*   image folders for --data: PNG/JPEG of every layout, bombs
             declaring 100000^2 or 8192^2 pixels in a few bytes, zTXt/iCCP/
             IDAT inflating to hundreds of MiB, truncated and corrupt
             images, GIF/BMP/SVG/TIFF under a PNG's name, FIFOs, devices,
             link loops, names that are not UTF-8 or hold control
             characters, 100,000 hard-linked images
  scheme-*   scheme files for --scheme-file
  raw-*      plain HDF5 trees (no model)
KIND (default: all) picks generators: k2, k3, img, scheme, raw, imgdir,
img-bombs (oversized chunks, wide labels), zip-bombs (.keras),
scheme-special (FIFO, devices, a sparse gigabyte), and the ninth
session's k2-types, vds (virtual datasets), vlen-shared, img-more,
scheme-more, imgdir-more and k3-more; the tenth's vlen-seq.
The base model is tiny and fits the bundled Fashion-MNIST images
(28x28x1, 10 classes): Conv2D(4, 3x3, stride 2) -> Flatten -> Dense(10).
"""
import copy
import io
import json
import os
import struct
import sys
import zipfile
import zlib

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
from make_keras3_files import DTYPE, write_keras, h5_bytes  # noqa: E402

RNG = np.random.default_rng(7)


def arr(*shape, dtype=np.float32):
    return (RNG.standard_normal(shape) * 0.1).astype(dtype)


# ---- Keras 2 ---------------------------------------------------------------

def k2_input(shape=(28, 28, 1), key="batch_input_shape", name="input_1"):
    return {"class_name": "InputLayer",
            "config": {key: [None, *shape], "dtype": "float32", "sparse": False, "ragged": False,
                       "name": name}}


def k2_conv(name="conv2d", filters=4, kernel=(3, 3), strides=(2, 2), **extra):
    config = {"name": name, "trainable": True, "dtype": "float32", "filters": filters,
              "kernel_size": list(kernel), "strides": list(strides), "padding": "same",
              "data_format": "channels_last", "dilation_rate": [1, 1], "groups": 1,
              "activation": "relu", "use_bias": True}
    config.update(extra)
    return {"class_name": "Conv2D", "config": config}


def k2_flatten(name="flatten"):
    return {"class_name": "Flatten", "config": {"name": name, "trainable": True, "dtype": "float32",
                                                "data_format": "channels_last"}}


def k2_dense(name="dense", units=10, **extra):
    config = {"name": name, "trainable": True, "dtype": "float32", "units": units,
              "activation": "softmax", "use_bias": True}
    config.update(extra)
    return {"class_name": "Dense", "config": config}


def base_layers():
    return [k2_input(), k2_conv(), k2_flatten(), k2_dense()]


def base_weights():
    return {"conv2d": [("kernel:0", arr(3, 3, 1, 4)), ("bias:0", arr(4))],
            "dense": [("kernel:0", arr(14 * 14 * 4, 10)), ("bias:0", arr(10))]}


def sequential(layers):
    return {"class_name": "Sequential", "config": {"name": "sequential", "layers": layers}}


def write_k2(path, config, weights, config_attr=None, layer_names=None, tweak=None):
    """A Keras 2 model.save() file. @config is a dict, or text/bytes stored
    as is (@config_attr overrides the attribute's value entirely)."""
    with h5py.File(path, "w") as f:
        if config_attr is not None:
            f.attrs["model_config"] = config_attr
        elif isinstance(config, bytes):
            # fixed-length: vlen strings cannot hold a NUL byte
            f.attrs["model_config"] = np.bytes_(config)
        elif isinstance(config, str):
            f.attrs["model_config"] = config
        elif config is not None:
            f.attrs["model_config"] = json.dumps(config)
        f.attrs["keras_version"] = "2.11.0"
        f.attrs["backend"] = "tensorflow"
        g = f.create_group("model_weights")
        names = list(weights) if layer_names is None else layer_names
        g.attrs["layer_names"] = np.array([n.encode() for n in names])
        for layer, items in weights.items():
            lg = g.require_group(layer)
            lg.attrs["weight_names"] = np.array([f"{layer}/{w}".encode() for w, _ in items])
            for w, value in items:
                if value is not None:
                    lg.create_dataset(f"{layer}/{w}", data=value)
        if tweak is not None:
            tweak(f)


def unknown_filter(path):
    """Renumbers the LZF filter (32000) of every filter pipeline in @path to
    32123, which no HDF5 installation has: chunks stored with a filter that
    is missing when they are read."""
    with open(path, "rb") as f:
        data = bytearray(f.read())
    at = data.find(b"lzf\x00")
    while at >= 8:
        assert data[at - 8:at - 6] == b"\x00\x7d"
        data[at - 8:at - 6] = (32123).to_bytes(2, "little")
        at = data.find(b"lzf\x00", at + 1)
    with open(path, "wb") as f:
        f.write(data)


def functional(layers, inputs, outputs, name="model"):
    return {"class_name": "Functional", "config": {
        "name": name, "layers": layers,
        "input_layers": [[i, 0, 0] for i in inputs],
        "output_layers": [[o, 0, 0] for o in outputs]}}


def node(*inbound):
    """Keras 2's inbound_nodes: one call of the given [layer, node, tensor] triples."""
    return [[[l, n, t, {}] for (l, n, t) in inbound]]


def fentry(layer, inbound):
    entry = copy.deepcopy(layer)
    entry["name"] = entry["config"]["name"]
    entry["inbound_nodes"] = inbound
    return entry


def base_functional():
    return functional([fentry(k2_input(), []),
                       fentry(k2_conv(), node(("input_1", 0, 0))),
                       fentry(k2_flatten(), node(("conv2d", 0, 0))),
                       fentry(k2_dense(), node(("flatten", 0, 0)))],
                      ["input_1"], ["dense"])


def keras2_cases(out):
    def seq_with(mutate):
        layers = base_layers()
        mutate(layers)
        return sequential(layers)

    def k2(name, config, weights=None, **kw):
        write_k2(os.path.join(out, f"k2-{name}.h5"), config, base_weights() if weights is None else weights, **kw)

    k2("base", sequential(base_layers()))
    k2("functional-base", base_functional())

    # model_config that is not a model
    k2("config-not-json", '{"class_name": "Sequential", "config": {"layers": [')
    k2("config-empty", "")
    k2("config-array", "[1, 2, 3]")
    k2("config-number", "42")
    k2("config-null", "null")
    k2("config-string", '"Sequential"')
    k2("config-nul-byte", b'{"class_name": "Seq\x00uential", "config": {}}')
    k2("config-latin1", b'{"class_name": "Sequential\xff\xfe", "config": {"layers": []}}')
    k2("config-no-config", {"class_name": "Sequential"})
    k2("config-config-array", {"class_name": "Sequential", "config": [1]})
    k2("config-unknown-class", {"class_name": "Transformer", "config": {"layers": []}})
    k2("config-class-number", {"class_name": 7, "config": {"layers": base_layers()}})
    k2("layers-object", {"class_name": "Sequential", "config": {"layers": {"a": 1}}})
    k2("layers-numbers", {"class_name": "Sequential", "config": {"layers": [1, 2, 3]}})
    k2("layers-nulls", {"class_name": "Sequential", "config": {"layers": [None, None]}})
    k2("layers-empty", sequential([]))
    k2("layers-only-input", sequential([k2_input()]))
    k2("layer-config-string", seq_with(lambda l: l.__setitem__(1, {"class_name": "Conv2D", "config": "x"})))
    k2("layer-no-class", seq_with(lambda l: l[1].pop("class_name")))
    k2("layer-name-number", seq_with(lambda l: l[1]["config"].__setitem__("name", 5)))
    k2("config-attr-int", None, config_attr=np.int64(5))
    k2("config-attr-float-array", None, config_attr=np.arange(4, dtype=np.float64))
    k2("config-attr-string-array", None,
       config_attr=np.array([json.dumps(sequential(base_layers())).encode()] * 2))
    k2("config-attr-empty-array", None, config_attr=np.zeros((0,), dtype="S1"))
    k2("config-whitespace-1m", " " * (1 << 20) + json.dumps(sequential(base_layers())))
    deep = {"class_name": "Sequential", "config": {"layers": base_layers()}}
    x = deep["config"]["layers"][1]["config"]
    for _ in range(63):
        x["kernel_initializer"] = {"config": {}}
        x = x["kernel_initializer"]["config"]
    k2("deep-63", deep)
    k2("deep-200", '{"class_name": "Sequential", "config": {"layers": [' + "[" * 200 + "]" * 200 + "]}}")
    k2("deep-objects-200", '{"a":' * 200 + "1" + "}" * 200)

    base_text = json.dumps(sequential(base_layers()))
    k2("duplicate-keys", base_text.replace('"units": 10', '"units": 10, "units": 0'))
    k2("units-1e309", base_text.replace('"units": 10', '"units": 1e309'))
    k2("units-1000-digits", base_text.replace('"units": 10', '"units": ' + "9" * 1000))
    k2("units-negative-zero", base_text.replace('"units": 10', '"units": -0'))
    k2("name-nul-escape", base_text.replace('"name": "conv2d"', '"name": "conv2d\\u0000evil"'))
    k2("name-lone-surrogate", base_text.replace('"name": "conv2d"', '"name": "conv2d\\ud800"'))
    for tag, name in [("empty", ""), ("dot", "."), ("dotdot", ".."), ("slash", "/"), ("long", "n" * 70000)]:
        k2(f"name-{tag}", seq_with(lambda l, n=name: l[1]["config"].__setitem__("name", n)))
    k2("trailing-garbage", base_text + " {}")
    k2("comments", "/* c */" + base_text)
    k2("single-quotes", base_text.replace('"', "'"))

    # numbers that are not sizes
    for tag, value in [("negative", -1), ("zero", 0), ("huge", 1 << 40), ("float", 3.5), ("string", "10"),
                       ("1e300", 1e300), ("bool", True), ("null", None), ("int64-max", (1 << 63) - 1),
                       ("uint64", 1 << 64)]:
        k2(f"dense-units-{tag}", seq_with(lambda l, v=value: l[3]["config"].__setitem__("units", v)))
    for tag, key, value in [("kernel-zero", "kernel_size", [0, 0]), ("kernel-huge", "kernel_size", [1 << 31, 1]),
                            ("kernel-negative", "kernel_size", [-3, 3]), ("kernel-rank3", "kernel_size", [3, 3, 3]),
                            ("kernel-scalar", "kernel_size", 3), ("kernel-empty", "kernel_size", []),
                            ("stride-zero", "strides", [0, 0]), ("stride-negative", "strides", [-1, -1]),
                            ("stride-huge", "strides", [1 << 40, 1]), ("dilation-huge", "dilation_rate", [1 << 30, 1]),
                            ("dilation-zero", "dilation_rate", [0, 0]), ("groups-zero", "groups", 0),
                            ("groups-3", "groups", 3), ("groups-negative", "groups", -1),
                            ("filters-zero", "filters", 0), ("filters-mismatch", "filters", 8),
                            ("padding-unknown", "padding", "reflect"), ("padding-number", "padding", 1),
                            ("format-first", "data_format", "channels_first"),
                            ("activation-unknown", "activation", "swish2"),
                            ("activation-dict", "activation", {"class_name": "ReLU", "config": {}}),
                            ("activation-null", "activation", None), ("use-bias-string", "use_bias", "yes"),
                            ("use-bias-false", "use_bias", False)]:
        k2(f"conv-{tag}", seq_with(lambda l, k=key, v=value: l[1]["config"].__setitem__(k, v)))
    for tag, shape in [("negative", [-1, 28, 1]), ("zero", [0, 28, 1]), ("huge", [1 << 31, 1 << 31, 1]),
                       ("rank1", [784]), ("rank0", []), ("rank7", [1, 1, 28, 28, 1, 1, 1]),
                       ("strings", ["a", "b", "c"]), ("floats", [28.5, 28, 1]), ("null-dims", [None, None, 1]),
                       ("channels-3", [28, 28, 3])]:
        k2(f"input-{tag}", seq_with(lambda l, s=shape: l[0]["config"].__setitem__("batch_input_shape", [None, *s])))
    k2("input-batch-shape", seq_with(lambda l: l.__setitem__(0, k2_input(key="batch_shape"))))
    k2("input-both-shapes", seq_with(lambda l: l[0]["config"].__setitem__("batch_shape", [None, 14, 14, 1])))
    k2("input-no-shape", seq_with(lambda l: l[0]["config"].pop("batch_input_shape")))
    k2("input-shape-object", seq_with(lambda l: l[0]["config"].__setitem__("batch_input_shape", {"a": 1})))
    k2("no-input-layer-shape-on-conv", sequential([dict(k2_conv(), config=dict(k2_conv()["config"],
                                                       batch_input_shape=[None, 28, 28, 1])),
                                                   k2_flatten(), k2_dense()]))
    k2("no-input-at-all", sequential([k2_conv(), k2_flatten(), k2_dense()]))
    policy = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": None}
    k2("dtype-policy-dict", seq_with(lambda l: [x["config"].__setitem__("dtype", copy.deepcopy(policy)) for x in l[1:]]))
    k2("dtype-policy-mixed", seq_with(lambda l: [x["config"].__setitem__("dtype", {
        "class_name": "Policy", "config": {"name": "mixed_float16"}}) for x in l[1:]]))
    k2("dtype-float16", seq_with(lambda l: [x["config"].__setitem__("dtype", "float16") for x in l[1:]]))
    k2("dtype-garbage", seq_with(lambda l: [x["config"].__setitem__("dtype", {"class_name": [], "config": 5})
                                            for x in l[1:]]))
    k2("dtype-int", seq_with(lambda l: [x["config"].__setitem__("dtype", 32) for x in l[1:]]))
    k2("unknown-layer", seq_with(lambda l: l.insert(2, {"class_name": "Frobnicate", "config": {"name": "frob"}})))
    k2("lambda-layer", seq_with(lambda l: l.insert(2, {"class_name": "Lambda", "config": {
        "name": "lambda", "function": ["4wEAAAAAAAAA", None, None], "function_type": "lambda"}})))
    k2("flatten-twice", seq_with(lambda l: l.insert(3, k2_flatten("flatten_1"))))
    for tag, target in [("minus-one-twice", [-1, -1]), ("mismatch", [7, 7]), ("huge", [1 << 31, 1 << 31]),
                        ("zero", [0, 784]), ("negative", [-5, 4]), ("empty", []), ("string", "28,28")]:
        k2(f"reshape-{tag}", seq_with(lambda l, t=target: l.insert(2, {"class_name": "Reshape", "config": {
            "name": "reshape", "target_shape": t}})))
    for tag, pool in [("zero", [0, 0]), ("huge", [1 << 31, 1 << 31]), ("bigger-than-map", [100, 100]),
                      ("negative", [-2, 2])]:
        k2(f"pool-{tag}", seq_with(lambda l, p=pool: l.insert(2, {"class_name": "MaxPooling2D", "config": {
            "name": "max_pooling2d", "pool_size": p, "strides": p, "padding": "valid",
            "data_format": "channels_last"}})))
    for tag, pad in [("huge", [[1 << 30, 1 << 30], [1, 1]]), ("negative", [[-5, -5], [0, 0]]),
                     ("int", 1 << 40), ("ragged", [[1], [1, 2, 3]])]:
        k2(f"zeropad-{tag}", seq_with(lambda l, p=pad: l.insert(1, {"class_name": "ZeroPadding2D", "config": {
            "name": "zero_padding2d", "padding": p, "data_format": "channels_last"}})))
    for tag, crop in [("all", [[14, 14], [0, 0]]), ("more", [[20, 20], [0, 0]]), ("negative", [[-1, -1], [0, 0]])]:
        k2(f"crop-{tag}", seq_with(lambda l, c=crop: l.insert(1, {"class_name": "Cropping2D", "config": {
            "name": "cropping2d", "cropping": c, "data_format": "channels_last"}})))
    k2("bn-axis-99", seq_with(lambda l: l.insert(2, {"class_name": "BatchNormalization", "config": {
        "name": "batch_normalization", "axis": [99], "epsilon": 0.001, "center": True, "scale": True}})),
       weights=dict(base_weights(), batch_normalization=[
           ("gamma:0", np.ones(4, np.float32)), ("beta:0", np.zeros(4, np.float32)),
           ("moving_mean:0", np.zeros(4, np.float32)), ("moving_variance:0", np.ones(4, np.float32))]))
    k2("bn-missing-variance", seq_with(lambda l: l.insert(2, {"class_name": "BatchNormalization", "config": {
        "name": "batch_normalization", "axis": [3], "epsilon": 0.001, "center": True, "scale": True}})),
       weights=dict(base_weights(), batch_normalization=[
           ("gamma:0", np.ones(4, np.float32)), ("beta:0", np.zeros(4, np.float32)),
           ("moving_mean:0", np.zeros(4, np.float32))]))
    k2("bn-epsilon-negative", seq_with(lambda l: l.insert(2, {"class_name": "BatchNormalization", "config": {
        "name": "batch_normalization", "axis": [3], "epsilon": -1.0, "center": True, "scale": True}})),
       weights=dict(base_weights(), batch_normalization=[
           ("gamma:0", np.ones(4, np.float32)), ("beta:0", np.zeros(4, np.float32)),
           ("moving_mean:0", np.zeros(4, np.float32)), ("moving_variance:0", np.ones(4, np.float32))]))

    # weights that do not fit the config
    w = base_weights()
    k2("weights-nan", sequential(base_layers()), weights=dict(w, dense=[("kernel:0", np.full((784, 10), np.nan, np.float32)),
                                                                         ("bias:0", arr(10))]))
    k2("weights-inf", sequential(base_layers()), weights=dict(w, conv2d=[("kernel:0", np.full((3, 3, 1, 4), np.inf, np.float32)),
                                                                          ("bias:0", arr(4))]))
    k2("weights-some-nan", sequential(base_layers()), weights=dict(w, conv2d=[
        ("kernel:0", np.where(np.arange(36).reshape(3, 3, 1, 4) % 7 == 0, np.nan, arr(3, 3, 1, 4)).astype(np.float32)),
        ("bias:0", arr(4))]))
    k2("weights-max-float", sequential(base_layers()), weights=dict(w, dense=[
        ("kernel:0", np.full((784, 10), 3.4e38, np.float32)), ("bias:0", np.full(10, -3.4e38, np.float32))]))
    k2("weights-denormal", sequential(base_layers()), weights=dict(w, conv2d=[
        ("kernel:0", np.full((3, 3, 1, 4), 1e-45, np.float32)), ("bias:0", np.zeros(4, np.float32))]))
    k2("weights-zeros", sequential(base_layers()), weights=dict(w, conv2d=[
        ("kernel:0", np.zeros((3, 3, 1, 4), np.float32)), ("bias:0", np.zeros(4, np.float32))]))
    k2("weights-zero-size", seq_with(lambda l: l[1]["config"].__setitem__("filters", 0)),
       weights=dict(w, conv2d=[("kernel:0", np.zeros((3, 3, 1, 0), np.float32)), ("bias:0", np.zeros(0, np.float32))],
                    dense=[("kernel:0", np.zeros((0, 10), np.float32)), ("bias:0", arr(10))]))
    k2("weights-transposed", sequential(base_layers()), weights=dict(w, dense=[("kernel:0", arr(10, 784)), ("bias:0", arr(10))]))
    k2("weights-rank-wrong", sequential(base_layers()), weights=dict(w, conv2d=[("kernel:0", arr(9, 4)), ("bias:0", arr(4))]))
    k2("weights-scalar", sequential(base_layers()), weights=dict(w, conv2d=[("kernel:0", np.float32(1.0)), ("bias:0", arr(4))]))
    k2("weights-bias-long", sequential(base_layers()), weights=dict(w, conv2d=[("kernel:0", arr(3, 3, 1, 4)), ("bias:0", arr(5))]))
    k2("weights-missing-bias", sequential(base_layers()), weights=dict(w, conv2d=[("kernel:0", arr(3, 3, 1, 4))]))
    k2("weights-extra", sequential(base_layers()), weights=dict(w, conv2d=w["conv2d"] + [("extra:0", arr(4))]))
    k2("weights-none", sequential(base_layers()), weights={})
    for dtype in ["float16", "float64", ">f4", ">f8", "int64", "int8", "uint8", ">i8", "bool"]:
        k2(f"weights-{dtype.replace('>', 'be-')}", sequential(base_layers()), weights=dict(w, conv2d=[
            ("kernel:0", (arr(3, 3, 1, 4) * 10).astype(dtype)), ("bias:0", arr(4))]))
    k2("weights-compound", sequential(base_layers()), weights=dict(w, conv2d=[
        ("kernel:0", np.zeros((3, 3, 1, 4), dtype=[("a", "<f4"), ("b", "<i4")])), ("bias:0", arr(4))]))
    k2("weights-complex", sequential(base_layers()), weights=dict(w, conv2d=[
        ("kernel:0", np.zeros((3, 3, 1, 4), dtype=np.complex64)), ("bias:0", arr(4))]))

    def vlen_kernel(f):
        del f["model_weights/conv2d/conv2d/kernel:0"]
        f["model_weights/conv2d/conv2d"].create_dataset("kernel:0", shape=(3, 3, 1, 4), dtype=h5py.string_dtype())
    k2("weights-vlen-string", sequential(base_layers()), tweak=vlen_kernel)

    def drop_attr(name, where="model_weights/conv2d"):
        def tweak(f):
            del f[where].attrs[name]
        return tweak
    k2("weight-names-missing", sequential(base_layers()), tweak=drop_attr("weight_names"))
    k2("layer-names-missing", sequential(base_layers()), tweak=drop_attr("layer_names", "model_weights"))

    def set_attr(where, name, value):
        def tweak(f):
            f[where].attrs[name] = value
        return tweak
    k2("weight-names-int", sequential(base_layers()), tweak=set_attr("model_weights/conv2d", "weight_names", np.arange(3)))
    k2("weight-names-dangling", sequential(base_layers()), tweak=set_attr(
        "model_weights/conv2d", "weight_names", np.array([b"conv2d/nothing:0", b"conv2d/bias:0"])))
    k2("weight-names-dotdot", sequential(base_layers()), tweak=set_attr(
        "model_weights/conv2d", "weight_names", np.array([b"../../dense/dense/kernel:0", b"conv2d/bias:0"])))
    k2("weight-names-empty-string", sequential(base_layers()), tweak=set_attr(
        "model_weights/conv2d", "weight_names", np.array([b"", b""])))
    k2("weight-names-2d", sequential(base_layers()), tweak=set_attr(
        "model_weights/conv2d", "weight_names", np.array([[b"conv2d/kernel:0", b"conv2d/bias:0"]] * 2)))
    k2("weight-names-vlen", sequential(base_layers()), tweak=set_attr(
        "model_weights/conv2d", "weight_names", np.array(["conv2d/kernel:0", "conv2d/bias:0"], dtype=h5py.string_dtype())))
    k2("layer-names-dangling", sequential(base_layers()), layer_names=["conv2d", "dense", "ghost"])
    k2("layer-names-duplicate", sequential(base_layers()), layer_names=["conv2d", "conv2d", "dense"])

    def missing_filter(f):
        del f["model_weights/dense/dense/kernel:0"]
        # values LZF can compress: a chunk it cannot is stored unfiltered
        f["model_weights/dense/dense"].create_dataset("kernel:0", data=np.round(arr(784, 10), 1), chunks=(98, 10),
                                                      compression="lzf")
    k2("weights-lzf-filter", sequential(base_layers()), tweak=missing_filter)
    k2("weights-missing-filter", sequential(base_layers()), tweak=missing_filter)
    unknown_filter(os.path.join(out, "k2-weights-missing-filter.h5"))

    def scaleoffset(f):
        del f["model_weights/dense/dense/kernel:0"]
        f["model_weights/dense/dense"].create_dataset("kernel:0", data=arr(784, 10), chunks=(98, 10), scaleoffset=3,
                                                      shuffle=True)
    k2("weights-scaleoffset", sequential(base_layers()), tweak=scaleoffset)

    def huge_chunk(f):
        # 784 x 10 values in one deflated chunk declared for 2^24 x 10 (640 MiB)
        del f["model_weights/dense/dense/kernel:0"]
        d = f["model_weights/dense/dense"].create_dataset("kernel:0", shape=(784, 10), maxshape=(None, 10),
                                                          dtype=np.float32, chunks=(1 << 24, 10), compression="gzip")
        d.id.write_direct_chunk((0, 0), zeros_deflate((1 << 24) * 10 * 4))
    k2("weights-chunk-640m", sequential(base_layers()), tweak=huge_chunk)

    def ext_link(f):
        del f["model_weights/dense/dense/kernel:0"]
        f["model_weights/dense/dense/kernel:0"] = h5py.ExternalLink("missing-other.h5", "/kernel")
    k2("weights-external-missing", sequential(base_layers()), tweak=ext_link)

    def self_ext_link(f):
        del f["model_weights/dense/dense/kernel:0"]
        f["model_weights/dense/dense/kernel:0"] = h5py.ExternalLink("k2-weights-self-external.h5",
                                                                    "/model_weights/dense/dense/kernel:0")
    k2("weights-self-external", sequential(base_layers()), tweak=self_ext_link)

    def soft_loop(f):
        del f["model_weights/dense/dense/kernel:0"]
        f["model_weights/dense/dense/kernel:0"] = h5py.SoftLink("/model_weights/dense/dense/loop")
        f["model_weights/dense/dense/loop"] = h5py.SoftLink("/model_weights/dense/dense/kernel:0")
    k2("weights-soft-loop", sequential(base_layers()), tweak=soft_loop)

    def soft_to_bias(f):
        del f["model_weights/dense/dense/kernel:0"]
        f["model_weights/dense/dense/kernel:0"] = h5py.SoftLink("/model_weights/dense/dense/bias:0")
    k2("weights-soft-to-bias", sequential(base_layers()), tweak=soft_to_bias)

    def group_is_dataset(f):
        del f["model_weights/conv2d"]
        f["model_weights/conv2d"] = arr(4)
    k2("layer-group-is-dataset", sequential(base_layers()), tweak=group_is_dataset)

    def weights_is_dataset(f):
        del f["model_weights"]
        f["model_weights"] = arr(4)
    k2("model-weights-is-dataset", sequential(base_layers()), tweak=weights_is_dataset)

    def unwritten_dense(f):
        del f["model_weights/dense/dense/kernel:0"]
        f["model_weights/dense/dense"].create_dataset("kernel:0", shape=(784, 10), dtype=np.float32)
    k2("weights-unwritten", sequential(base_layers()), tweak=unwritten_dense)

    # unicode, slashes and control characters in names
    uni = "層/\u202eevil\u0007\x1b[31m"
    k2("unicode-names", seq_with(lambda l: l[1]["config"].__setitem__("name", "層_κ")),
       weights=dict(w2 := base_weights(), **{"層_κ": w2.pop("conv2d")}))
    k2("slash-name", seq_with(lambda l: l[1]["config"].__setitem__("name", uni)),
       weights={"dense": base_weights()["dense"]})
    k2("duplicate-names", seq_with(lambda l: l[3]["config"].__setitem__("name", "conv2d")))

    # functional graphs
    def func(name, layers, inputs=("input_1",), outputs=("dense",), **kw):
        k2(name, functional(layers, list(inputs), list(outputs)), **kw)

    inp = fentry(k2_input(), [])
    conv = fentry(k2_conv(), node(("input_1", 0, 0)))
    flat = fentry(k2_flatten(), node(("conv2d", 0, 0)))
    dense = fentry(k2_dense(), node(("flatten", 0, 0)))
    func("graph-cycle", [inp, fentry(k2_conv(), node(("dense", 0, 0))), flat, dense])
    func("graph-self-loop", [inp, fentry(k2_conv(), node(("conv2d", 0, 0))), flat, dense])
    func("graph-dangling", [inp, conv, fentry(k2_flatten(), node(("ghost", 0, 0))), dense])
    func("graph-node-index-99", [inp, conv, fentry(k2_flatten(), node(("conv2d", 99, 0))), dense])
    func("graph-tensor-index-99", [inp, conv, fentry(k2_flatten(), node(("conv2d", 0, 99))), dense])
    func("graph-node-index-negative", [inp, conv, fentry(k2_flatten(), node(("conv2d", -1, 0))), dense])
    func("graph-node-index-huge", [inp, conv, fentry(k2_flatten(), node(("conv2d", 1 << 62, 0))), dense])
    func("graph-inbound-string", [inp, conv, fentry(k2_flatten(), "conv2d"), dense])
    func("graph-inbound-nested-junk", [inp, conv, fentry(k2_flatten(), [[["conv2d"]]]), dense])
    func("graph-inbound-empty-call", [inp, conv, fentry(k2_flatten(), [[]]), dense])
    func("graph-no-inbound", [inp, conv, fentry(k2_flatten(), []), dense])
    func("graph-input-missing", [inp, conv, flat, dense], inputs=("ghost",))
    func("graph-output-missing", [inp, conv, flat, dense], outputs=("ghost",))
    func("graph-output-is-input", [inp, conv, flat, dense], outputs=("input_1",))
    func("graph-no-outputs", [inp, conv, flat, dense], outputs=())
    func("graph-no-inputs", [inp, conv, flat, dense], inputs=())
    func("graph-two-outputs", [inp, conv, flat, dense], outputs=("dense", "conv2d"))
    func("graph-two-inputs", [inp, fentry(k2_input(name="input_2"), []), conv, flat, dense],
         inputs=("input_1", "input_2"))
    func("graph-duplicate-layer", [inp, conv, conv, flat, dense])
    func("graph-unreachable-layer", [inp, conv, flat, dense, fentry(k2_dense("dense_x"), node(("ghost", 0, 0)))])
    # a layer called twice: conv 1x1 4->4 applied to its own output
    conv_a = fentry(k2_conv(), node(("input_1", 0, 0)))
    shared = fentry(k2_conv("shared", kernel=(1, 1), strides=(1, 1)), [[["conv2d", 0, 0, {}]], [["shared", 0, 0, {}]]])
    func("graph-shared-twice", [inp, conv_a, shared, fentry(k2_flatten(), node(("shared", 1, 0))), dense],
         weights=dict(base_weights(), shared=[("kernel:0", arr(1, 1, 4, 4)), ("bias:0", arr(4))]))
    shared_bad = fentry(k2_conv("shared", kernel=(1, 1), strides=(1, 1)), [[["conv2d", 0, 0, {}]], [["shared", 1, 0, {}]]])
    func("graph-shared-self-node", [inp, conv_a, shared_bad, fentry(k2_flatten(), node(("shared", 1, 0))), dense],
         weights=dict(base_weights(), shared=[("kernel:0", arr(1, 1, 4, 4)), ("bias:0", arr(4))]))
    add = {"class_name": "Add", "config": {"name": "add", "trainable": True, "dtype": "float32"}}
    func("graph-add-mismatch", [inp, conv, fentry(add, node(("conv2d", 0, 0), ("input_1", 0, 0))),
                                fentry(k2_flatten(), node(("add", 0, 0))), dense])
    func("graph-add-one-input", [inp, conv, fentry(add, node(("conv2d", 0, 0))),
                                 fentry(k2_flatten(), node(("add", 0, 0))), dense])
    cat = {"class_name": "Concatenate", "config": {"name": "concatenate", "trainable": True, "dtype": "float32",
                                                  "axis": 99}}
    func("graph-concat-axis-99", [inp, conv, fentry(cat, node(("conv2d", 0, 0), ("conv2d", 0, 0))),
                                  fentry(k2_flatten(), node(("concatenate", 0, 0))), dense])
    cat2 = copy.deepcopy(cat)
    cat2["config"]["axis"] = -1
    func("graph-concat-mismatch", [inp, conv, fentry(cat2, node(("conv2d", 0, 0), ("input_1", 0, 0))),
                                   fentry(k2_flatten(), node(("concatenate", 0, 0))), dense])
    # Keras 3 dict-form inbound_nodes inside a Keras 2 file
    def k3node(layer, n=0, t=0):
        return [{"args": [{"class_name": "__keras_tensor__", "config": {
            "shape": [None], "dtype": "float32", "keras_history": [layer, n, t]}}], "kwargs": {}}]
    func("graph-k3-nodes", [inp, fentry(k2_conv(), k3node("input_1")), fentry(k2_flatten(), k3node("conv2d")),
                            fentry(k2_dense(), k3node("flatten"))])
    func("graph-k3-history-short", [inp, fentry(k2_conv(), [{"args": [{"class_name": "__keras_tensor__", "config": {
        "keras_history": ["input_1"]}}], "kwargs": {}}]), flat, dense])
    func("graph-k3-history-junk", [inp, fentry(k2_conv(), [{"args": [{"config": {"keras_history": {"a": 1}}}]}]), flat, dense])
    func("graph-k3-args-string", [inp, fentry(k2_conv(), [{"args": "input_1"}]), flat, dense])
    func("graph-k3-args-deep", [inp, fentry(k2_conv(), [{"args": [[[[[[[[[{"config": {"keras_history": ["input_1", 0, 0]}}]]]]]]]]]}]),
                                flat, dense])
    # Functional nested in Functional, and Sequential nested in Sequential
    inner = functional([fentry(k2_input((28, 28, 1), name="inner_input"), []),
                        fentry(k2_conv(), node(("inner_input", 0, 0)))], ["inner_input"], ["conv2d"], name="inner")
    inner_entry = {"class_name": "Functional", "config": inner["config"], "name": "inner",
                   "inbound_nodes": node(("input_1", 0, 0))}
    func("graph-nested-functional", [inp, inner_entry, fentry(k2_flatten(), node(("inner", 0, 0))), dense])
    func("graph-nested-self", [inp, dict(inner_entry, config=dict(inner["config"], layers=[
        fentry(k2_input((28, 28, 1), name="inner_input"), []),
        {"class_name": "Functional", "config": {"name": "inner", "layers": [], "input_layers": [], "output_layers": []},
         "name": "inner", "inbound_nodes": node(("inner_input", 0, 0))}])),
        fentry(k2_flatten(), node(("inner", 0, 0))), dense])
    nest = sequential([k2_input(), k2_conv()])
    for _ in range(60):
        nest = {"class_name": "Sequential", "config": {"name": "s", "layers": [nest]}}
    k2("nested-sequential-60", sequential([nest, k2_flatten(), k2_dense()]))
    # a long chain
    layers = [k2_input()]
    for i in range(3000):
        layers.append({"class_name": "ReLU", "config": {"name": f"re_lu_{i}", "trainable": True, "dtype": "float32"}})
    layers += [k2_conv(), k2_flatten(), k2_dense()]
    k2("chain-3000", sequential(layers))


# ---- Keras 3 archives and .weights.h5 --------------------------------------

def k3_layer(class_name, name, **config):
    return {"module": "keras.layers", "class_name": class_name,
            "config": {"name": name, "trainable": True, "dtype": copy.deepcopy(DTYPE), **config},
            "registered_name": None}


def k3_base():
    layers = [{"module": "keras.layers", "class_name": "InputLayer",
               "config": {"batch_shape": [None, 28, 28, 1], "dtype": "float32", "sparse": False, "name": "input_layer"},
               "registered_name": None},
              k3_layer("Conv2D", "conv2d", filters=4, kernel_size=[3, 3], strides=[2, 2], padding="same",
                       data_format="channels_last", dilation_rate=[1, 1], groups=1, activation="relu", use_bias=True),
              k3_layer("Flatten", "flatten", data_format="channels_last"),
              k3_layer("Dense", "dense", units=10, activation="softmax", use_bias=True)]
    config = {"module": "keras", "class_name": "Sequential",
              "config": {"name": "sequential", "trainable": True, "dtype": copy.deepcopy(DTYPE), "layers": layers},
              "registered_name": None, "build_config": {"input_shape": [None, 28, 28, 1]}}
    variables = {"conv2d": [arr(3, 3, 1, 4), arr(4)], "dense": [arr(784, 10), arr(10)]}
    return config, variables


def raw_entries_zip(path, entries):
    """A zip from (name, bytes) pairs, stored, duplicates allowed."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(2026, 12, 4, 12, 0, 0))
            zf.writestr(info, data)
    with open(path, "wb") as f:
        f.write(buffer.getvalue())


def keras3_cases(out):
    def k3(name, config, variables, layout=None, **kw):
        layout = config if layout is None else layout
        weights = h5_bytes(layout["class_name"], layout["config"]["layers"], variables)
        write_keras(os.path.join(out, f"k3-{name}.keras"), config, weights, **kw)
        return weights

    config, variables = k3_base()
    good_weights = k3("base", config, variables)
    k3("deflated", config, variables, compression=zipfile.ZIP_DEFLATED)

    def variant(name, mutate, var_mutate=None):
        c, v = k3_base()
        layout = copy.deepcopy(c)
        mutate(c)
        if var_mutate is not None:
            var_mutate(v)
        # the weights are laid out for the unmutated model
        k3(name, c, v, layout=layout)

    variant("dtype-string", lambda c: [l["config"].__setitem__("dtype", "float32") for l in c["config"]["layers"]])
    variant("dtype-policy-mixed", lambda c: [l["config"].__setitem__("dtype", {
        "module": "keras", "class_name": "DTypePolicy", "config": {"name": "mixed_bfloat16"}}) for l in c["config"]["layers"][1:]])
    variant("dtype-policy-junk", lambda c: [l["config"].__setitem__("dtype", {"class_name": "DTypePolicy", "config": [1]})
                                            for l in c["config"]["layers"][1:]])
    variant("batch-input-shape", lambda c: c["config"]["layers"][0]["config"].__setitem__(
        "batch_input_shape", c["config"]["layers"][0]["config"].pop("batch_shape")))
    variant("vars-missing", lambda c: None, lambda v: v.__setitem__("dense", [v["dense"][0]]))
    variant("vars-extra", lambda c: None, lambda v: v["dense"].append(arr(10)))
    variant("vars-swapped", lambda c: None, lambda v: v.__setitem__("dense", [v["dense"][1], v["dense"][0]]))
    variant("vars-nan", lambda c: None, lambda v: v.__setitem__("dense", [np.full((784, 10), np.nan, np.float32), v["dense"][1]]))
    variant("vars-float16", lambda c: None, lambda v: v.__setitem__("conv2d", [x.astype(np.float16) for x in v["conv2d"]]))
    variant("vars-int64", lambda c: None, lambda v: v.__setitem__("conv2d", [(x * 100).astype(np.int64) for x in v["conv2d"]]))
    variant("vars-zero-size", lambda c: c["config"]["layers"][1]["config"].__setitem__("filters", 0),
            lambda v: v.__setitem__("conv2d", [np.zeros((3, 3, 1, 0), np.float32), np.zeros(0, np.float32)]))
    variant("units-huge", lambda c: c["config"]["layers"][3]["config"].__setitem__("units", 1 << 33))
    variant("layers-missing", lambda c: c["config"].pop("layers"))
    variant("config-is-list", lambda c: c.__setitem__("config", []))
    variant("layer-not-object", lambda c: c["config"]["layers"].__setitem__(2, "flatten"))

    # Functional with Keras 3 dict-form nodes; a shared layer; nested Functional
    def k3f(layer, inbound):
        layer = copy.deepcopy(layer)
        layer["name"] = layer["config"]["name"]
        layer["inbound_nodes"] = [] if inbound is None else [{"args": [{"class_name": "__keras_tensor__", "config": {
            "shape": None, "dtype": "float32", "keras_history": list(inbound)}}], "kwargs": {}}]
        return layer

    def k3functional(layers, inputs, outputs, name="functional"):
        return {"module": "keras.src.models.functional", "class_name": "Functional",
                "config": {"name": name, "trainable": True, "layers": layers,
                           "input_layers": [[i, 0, 0] for i in inputs],
                           "output_layers": [[o, 0, 0] for o in outputs]},
                "registered_name": "Functional", "build_config": {"input_shape": None}}

    c0, v0 = k3_base()
    inp, conv, flat, dense = c0["config"]["layers"]
    fconfig = k3functional([k3f(inp, None), k3f(conv, ("input_layer", 0, 0)), k3f(flat, ("conv2d", 0, 0)),
                            k3f(dense, ("flatten", 0, 0))], ["input_layer"], ["dense"])
    k3("functional", fconfig, v0)
    cyc = copy.deepcopy(fconfig)
    cyc["config"]["layers"][1] = k3f(conv, ("dense", 0, 0))
    k3("functional-cycle", cyc, v0)
    dang = copy.deepcopy(fconfig)
    dang["config"]["layers"][2] = k3f(flat, ("ghost", 0, 0))
    k3("functional-dangling", dang, v0)
    idx = copy.deepcopy(fconfig)
    idx["config"]["layers"][2] = k3f(flat, ("conv2d", 5, 7))
    k3("functional-node-index", idx, v0)
    shared_conv = k3_layer("Conv2D", "shared", filters=4, kernel_size=[1, 1], strides=[1, 1], padding="same",
                           data_format="channels_last", dilation_rate=[1, 1], groups=1, activation="relu", use_bias=True)
    shared_entry = k3f(shared_conv, ("conv2d", 0, 0))
    shared_entry["inbound_nodes"].append(k3f(shared_conv, ("shared", 0, 0))["inbound_nodes"][0])
    sconfig = k3functional([k3f(inp, None), k3f(conv, ("input_layer", 0, 0)), shared_entry,
                            k3f(flat, ("shared", 1, 0)), k3f(dense, ("flatten", 0, 0))], ["input_layer"], ["dense"])
    k3("functional-shared-twice", sconfig, dict(v0, shared=[arr(1, 1, 4, 4), arr(4)]))
    inner = k3functional([k3f(dict(copy.deepcopy(inp), config=dict(inp["config"], name="inner_input")), None),
                          k3f(conv, ("inner_input", 0, 0))], ["inner_input"], ["conv2d"], name="inner")
    inner["name"] = "inner"
    inner["inbound_nodes"] = k3f(conv, ("input_layer", 0, 0))["inbound_nodes"]
    nconfig = k3functional([k3f(inp, None), inner, k3f(flat, ("inner", 0, 0)), k3f(dense, ("flatten", 0, 0))],
                           ["input_layer"], ["dense"])
    k3("functional-nested", nconfig, v0)

    # a variable declared at 2^40 values and never written, inside the archive
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as h5:
        h5.create_group("vars")
        h5.create_group("layers/conv2d/vars")
        h5["layers/conv2d/vars/0"] = arr(3, 3, 1, 4)
        h5["layers/conv2d/vars/1"] = arr(4)
        h5.create_group("layers/flatten/vars")
        h5.create_group("layers/dense/vars").create_dataset("0", shape=(1 << 20, 1 << 20), dtype=np.float32,
                                                             chunks=(1, 1024))
        h5["layers/dense/vars/1"] = arr(10)
    write_keras(os.path.join(out, "k3-vars-unwritten-huge.keras"), config, buffer.getvalue())

    # broken archives
    def raw(name, entries):
        raw_entries_zip(os.path.join(out, f"k3-{name}.keras"), entries)

    cfg = json.dumps(config).encode()
    meta = b'{"keras_version": "3.3.3"}'
    raw("weights-not-hdf5", [("metadata.json", meta), ("config.json", cfg), ("model.weights.h5", b"\x89HDF\r\n\x1a\n" + b"\0" * 100)])
    raw("weights-empty", [("metadata.json", meta), ("config.json", cfg), ("model.weights.h5", b"")])
    raw("weights-truncated", [("metadata.json", meta), ("config.json", cfg), ("model.weights.h5", good_weights[:len(good_weights) // 2])])
    raw("config-empty", [("metadata.json", meta), ("config.json", b""), ("model.weights.h5", good_weights)])
    raw("config-not-json", [("metadata.json", meta), ("config.json", b"{{{"), ("model.weights.h5", good_weights)])
    raw("config-array", [("metadata.json", meta), ("config.json", b"[]"), ("model.weights.h5", good_weights)])
    raw("config-deep", [("metadata.json", meta), ("config.json", b"[" * 100000 + b"]" * 100000), ("model.weights.h5", good_weights)])
    raw("config-utf16", [("metadata.json", meta), ("config.json", cfg.decode().encode("utf-16")), ("model.weights.h5", good_weights)])
    raw("duplicate-config", [("metadata.json", meta), ("config.json", b"[]"), ("config.json", cfg), ("model.weights.h5", good_weights)])
    raw("duplicate-weights", [("metadata.json", meta), ("config.json", cfg), ("model.weights.h5", b"junk"),
                              ("model.weights.h5", good_weights)])
    raw("dir-entries", [("metadata.json", meta), ("config.json/", b""), ("model.weights.h5/", b"")])
    raw("absolute-names", [("/metadata.json", meta), ("/config.json", cfg), ("/model.weights.h5", good_weights)])
    raw("nested-names", [("a/metadata.json", meta), ("a/config.json", cfg), ("a/model.weights.h5", good_weights)])
    raw("only-metadata", [("metadata.json", meta)])
    raw("empty-zip", [])
    with open(os.path.join(out, "k3-zero-bytes.keras"), "wb"):
        pass
    with open(os.path.join(out, "k3-eocd-only.keras"), "wb") as f:
        f.write(b"PK\x05\x06" + b"\0" * 18)
    with open(os.path.join(out, "k3-eocd-bad-offset.keras"), "wb") as f:
        f.write(b"PK\x05\x06\0\0\0\0\x03\0\x03\0\xff\xff\xff\x7f\xff\xff\xff\x7f\0\0")
    with open(os.path.join(out, "k3-base.keras"), "rb") as f:
        data = f.read()
    with open(os.path.join(out, "k3-truncated-tail.keras"), "wb") as f:
        f.write(data[:-30])
    with open(os.path.join(out, "k3-truncated-head.keras"), "wb") as f:
        f.write(data[:len(data) // 3])
    os.makedirs(os.path.join(out, "k3-directory.keras"), exist_ok=True)

    # .weights.h5 with a config.json beside it
    wdir = os.path.join(out, "w3")
    os.makedirs(wdir, exist_ok=True)

    def w3(name, config_bytes, weights=good_weights):
        with open(os.path.join(wdir, f"w3-{name}.weights.h5"), "wb") as f:
            f.write(weights)
        if config_bytes is not None:
            with open(os.path.join(wdir, f"w3-{name}.config.json"), "wb") as f:
                f.write(config_bytes)

    w3("base", cfg)
    w3("config-garbage", b"\xff\xfe\x00garbage")
    w3("config-not-model", b'{"optimizer": "adam"}')
    w3("config-deep", b'{"a":' * 5000 + b"1" + b"}" * 5000)
    w3("no-config", None)
    w3("weights-empty", cfg, b"")
    w3("weights-garbage", cfg, b"not hdf5 at all" * 10)
    w3("config-is-dir", None)
    os.makedirs(os.path.join(wdir, "w3-config-is-dir.config.json"), exist_ok=True)
    w3("config-dev-null", None)
    link = os.path.join(wdir, "w3-config-dev-null.config.json")
    if not os.path.lexists(link):
        os.symlink("/dev/zero", link)
    w3("config-loop", None)
    link = os.path.join(wdir, "w3-config-loop.config.json")
    if not os.path.lexists(link):
        os.symlink("w3-config-loop.config.json", link)


# ---- image sets --------------------------------------------------------------

def image_cases(out):
    def img(name, x, y, tweak=None, **xkw):
        with h5py.File(os.path.join(out, f"img-{name}.h5"), "w") as f:
            if x is not None:
                f.create_dataset("x", data=x, **xkw)
            if y is not None:
                f.create_dataset("y", data=y)
            if tweak is not None:
                tweak(f)

    n = 20
    x = RNG.random((n, 28, 28, 1)).astype(np.float32)
    y = (np.arange(n) % 10).astype(np.int32)
    img("base", x, y)
    img("uint8", (x * 255).astype(np.uint8), y)
    for dtype in ["float16", "float64", ">f4", "int64", ">i2", "int8", "bool"]:
        img(f"x-{dtype.replace('>', 'be-')}", (x * 100).astype(dtype), y)
    for dtype in ["float32", "int64", ">i8", "uint64", "int8"]:
        img(f"y-{dtype.replace('>', 'be-')}", x, y.astype(dtype))
    img("y-negative", x, -y - 1)
    img("y-huge", x, np.full(n, 1 << 40, np.int64))
    img("y-nan", x, np.full(n, np.nan, np.float32))
    img("y-one-hot", x, np.eye(10, dtype=np.float32)[y])
    img("y-short", x, y[:5])
    img("y-long", x, np.concatenate([y, y]))
    img("y-missing", x, None)
    img("x-missing", None, y)
    img("x-rank2", x.reshape(n, 784), y)
    img("x-rank3", x.reshape(n, 28, 28), y)
    img("x-rank5", x.reshape(n, 1, 28, 28, 1), y)
    img("x-rank1", x.reshape(-1), y)
    img("x-scalar", np.float32(1.0), y)
    img("x-zero-images", x[:0], y[:0])
    img("x-zero-width", np.zeros((n, 28, 0, 1), np.float32), y)
    img("x-wrong-size", RNG.random((n, 14, 14, 1)).astype(np.float32), y)
    img("x-channels-3", RNG.random((n, 28, 28, 3)).astype(np.float32), y)
    img("x-nan", np.full((n, 28, 28, 1), np.nan, np.float32), y)
    img("x-inf", np.full((n, 28, 28, 1), -np.inf, np.float32), y)
    img("x-huge-values", np.full((n, 28, 28, 1), 3e38, np.float32), y)
    img("x-compound", np.zeros((n, 28, 28, 1), dtype=[("a", "<f4")]), y)
    img("x-lzf", x, y, chunks=(5, 28, 28, 1), compression="lzf")
    img("x-missing-filter", np.round(x, 1), y, chunks=(5, 28, 28, 1), compression="lzf")
    unknown_filter(os.path.join(out, "img-x-missing-filter.h5"))
    img("x-chunked-gzip", x, y, chunks=(1, 7, 7, 1), compression="gzip", shuffle=True, fletcher32=True)
    img("y-vlen-string", x, np.array([str(i) for i in y], dtype=h5py.string_dtype()))

    def x_vlen(f):
        f.create_dataset("x", shape=(n, 28, 28, 1), dtype=h5py.vlen_dtype(np.float32))
    img("x-vlen", None, y, tweak=x_vlen)

    def x_group(f):
        f.create_group("x")
    img("x-is-group", None, y, tweak=x_group)

    def x_soft_loop(f):
        f["x"] = h5py.SoftLink("/z")
        f["z"] = h5py.SoftLink("/x")
    img("x-soft-loop", None, y, tweak=x_soft_loop)

    def x_external(f):
        f["x"] = h5py.ExternalLink("no-such-file.h5", "/x")
    img("x-external", None, y, tweak=x_external)

    def attrs_bad(f):
        f["x"].attrs["scale"] = np.float32(np.nan)
        f["x"].attrs["mean"] = np.array([1.0, 2.0, 3.0, 4.0], np.float32)
    img("attrs-bad", x, y, tweak=attrs_bad)

    def attrs_strings(f):
        f["x"].attrs["scale"] = "big"
        f["x"].attrs["mean"] = "zero"
    img("attrs-strings", x, y, tweak=attrs_strings)

    def unwritten(f):
        f.create_dataset("x", shape=(1 << 20, 28, 28, 1), dtype=np.float32, chunks=(1, 28, 28, 1))
        f.create_dataset("y", data=np.zeros(1 << 20, np.int32))
    img("x-unwritten-huge", None, None, tweak=unwritten)

    def huge_dims(f):
        f.create_dataset("x", shape=(1 << 40, 1 << 20, 28, 1), dtype=np.uint8, chunks=(1, 1, 28, 1))
        f.create_dataset("y", shape=(1 << 40,), dtype=np.int32, chunks=(1024,))
    img("x-huge-dims", None, None, tweak=huge_dims)
    with open(os.path.join(out, "img-zero-bytes.h5"), "wb"):
        pass


# ---- scheme files ------------------------------------------------------------

def scheme_cases(out):
    def scheme(name, text):
        with open(os.path.join(out, f"scheme-{name}.json"), "wb" if isinstance(text, bytes) else "w") as f:
            f.write(text if isinstance(text, (str, bytes)) else json.dumps(text))

    scheme("base", {"version": 1, "default": {"bits": 8}})
    scheme("empty", "")
    scheme("not-object", "[1]")
    scheme("deep", "[" * 100000 + "]" * 100000)
    for tag, value in [("bits-huge", 1e300), ("bits-negative", -5), ("bits-string", "8"), ("bits-null", None),
                       ("bits-float", 7.5), ("bits-1", 1), ("bits-64", 64), ("bits-int64", (1 << 63) - 1)]:
        scheme(tag, {"version": 1, "default": {"bits": value}})
    for tag, value in [("axis-99", {"granularity": "channel", "axis": 99}),
                       ("axis-negative", {"granularity": "channel", "axis": -99}),
                       ("axis-huge", {"granularity": "channel", "axis": 1 << 62}),
                       ("range-percentile-nan", {"range": "percentile:nan"}),
                       ("range-percentile-inf", {"range": "percentile:1e999"}),
                       ("range-percentile-200", {"range": "percentile:200"}),
                       ("range-manual-reversed", {"range": "manual:5,1"}),
                       ("range-manual-nan", {"range": "manual:nan,1"}),
                       ("range-manual-inf", {"range": "manual:-inf,inf"}),
                       ("range-manual-huge", {"range": "manual:-1e38,3.4e38"}),
                       ("range-garbage", {"range": "manual:"}),
                       ("group-zero", {"format": "int", "group_size": 0}),
                       ("group-huge", {"format": "int", "group_size": 1 << 40}),
                       ("format-unknown", {"format": "fp3"}),
                       ("mapping-number", {"mapping": 1})]:
        scheme(tag, {"version": 1, "default": value})
    scheme("glob-pathological", {"version": 1, "default": {"bits": 8}, "overrides": [
        {"tensors": "*a" * 2000 + "b", "bits": 4}]})
    scheme("glob-brackets", {"version": 1, "overrides": [{"tensors": "[[[[**??\\", "bits": 4}]})
    scheme("overrides-not-list", {"version": 1, "overrides": {"a": 1}})
    scheme("overrides-10k", {"version": 1, "overrides": [{"tensors": f"/t{i}*", "bits": 4} for i in range(10000)]})
    scheme("override-no-tensors", {"version": 1, "overrides": [{"bits": 4}]})
    scheme("override-axis-99", {"version": 1, "overrides": [{"tensors": "*", "granularity": "channel", "axis": 99}]})
    scheme("override-group-odd", {"version": 1, "overrides": [{"tensors": "*", "granularity": "group", "group_size": 7}]})
    scheme("override-mxfp4-axis", {"version": 1, "overrides": [{"tensors": "*", "format": "mxfp4", "axis": 3}]})
    scheme("skip-everything", {"version": 1, "skip": ["*"]})
    scheme("skip-not-strings", {"version": 1, "skip": [1, None, {}]})
    scheme("bins-huge", {"version": 1, "default": {"bins": 1 << 40}})
    scheme("bins-max", {"version": 1, "default": {"bins": 65536, "range": "kl"}})
    scheme("version-99", {"version": 99})
    scheme("nul-byte", b'{"version": 1, "default": {"bits\x00": 8}}')
    scheme("bom", "\ufeff" + json.dumps({"version": 1}))
    os.makedirs(os.path.join(out, "scheme-directory.json"), exist_ok=True)


# ---- plain HDF5 trees ----------------------------------------------------------

def raw_cases(out):
    def raw(name, build):
        with h5py.File(os.path.join(out, f"raw-{name}.h5"), "w") as f:
            build(f)

    raw("empty-file", lambda f: None)
    raw("only-attrs", lambda f: f.attrs.__setitem__("model_config", "junk"))
    raw("scalar-float", lambda f: f.create_dataset("w", data=np.float32(1.5)))
    raw("scalar-nan", lambda f: f.create_dataset("w", data=np.float32(np.nan)))
    raw("all-nan", lambda f: f.create_dataset("w", data=np.full((64, 64), np.nan, np.float32)))
    raw("all-inf", lambda f: f.create_dataset("w", data=np.full((64, 64), np.inf, np.float32)))
    raw("mixed-inf", lambda f: f.create_dataset("w", data=np.array([[-np.inf, 1.0], [np.inf, 2.0]], np.float32)))
    raw("all-equal", lambda f: f.create_dataset("w", data=np.full((8, 8), 0.25, np.float32)))
    raw("max-range", lambda f: f.create_dataset("w", data=np.array([[-3.4e38, 3.4e38], [0, 1]], np.float32)))
    raw("float64-huge", lambda f: f.create_dataset("w", data=np.array([[-1e300, 1e300], [0, 1]], np.float64)))
    raw("denormals", lambda f: f.create_dataset("w", data=np.full((4, 4), 1e-45, np.float32)))
    raw("float16-inf", lambda f: f.create_dataset("w", data=np.array([[65504, -np.inf], [1, 0]], np.float16)))
    raw("int64", lambda f: f.create_dataset("w", data=np.arange(64, dtype=np.int64).reshape(8, 8)))
    raw("int64-be", lambda f: f.create_dataset("w", data=np.arange(64, dtype=">i8").reshape(8, 8)))
    raw("uint64-max", lambda f: f.create_dataset("w", data=np.full((4, 4), (1 << 64) - 1, np.uint64)))
    raw("zero-dims", lambda f: [f.create_dataset("w", shape=(0, 0, 0), dtype=np.float32),
                                f.create_dataset("v", shape=(3, 0), dtype=np.float16)])
    raw("one-by-huge", lambda f: f.create_dataset("w", shape=(1, 1 << 62), dtype=np.float32, chunks=(1, 1024)))
    raw("rank-32", lambda f: f.create_dataset("w", shape=(1,) * 32, dtype=np.float32))
    raw("lzf", lambda f: f.create_dataset("w", data=arr(64, 64), chunks=(8, 8), compression="lzf"))
    raw("missing-filter", lambda f: f.create_dataset("w", data=np.round(arr(64, 64), 1), chunks=(8, 8), compression="lzf"))
    unknown_filter(os.path.join(out, "raw-missing-filter.h5"))
    raw("nbit-like", lambda f: f.create_dataset("w", data=arr(64, 64), chunks=(8, 8), scaleoffset=2))
    raw("vlen-attr-names", lambda f: f.create_dataset("w\n\x1b[2J", data=arr(4, 4)))
    raw("long-name", lambda f: f.create_dataset("n" * 60000, data=arr(4, 4)))

    def many(f):
        for i in range(5000):
            f.create_dataset(f"t{i}", data=np.float32([i, 1.0]))
    raw("many-tensors", many)

    def hard_cycle(f):
        g = f.create_group("a")
        g["back"] = f
        g["w"] = arr(4, 4)
    raw("hard-cycle", hard_cycle)

    def soft_chain(f):
        f["w"] = arr(4, 4)
        prev = "/w"
        for i in range(200):
            f[f"s{i}"] = h5py.SoftLink(prev)
            prev = f"/s{i}"
    raw("soft-chain-200", soft_chain)

    def ext_self(f):
        f["w"] = arr(4, 4)
        f["e"] = h5py.ExternalLink("raw-ext-self.h5", "/e")
    raw("ext-self", ext_self)

    def ext_abs(f):
        f["e"] = h5py.ExternalLink("/etc/passwd", "/x")
        f["e2"] = h5py.ExternalLink("/dev/zero", "/x")
    raw("ext-abs", ext_abs)


# ---- image folders (--data FOLDER) ---------------------------------------------

def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)


def png_bytes(width, height, color_type=0, depth=8, rows=None, extra=(), interlace=0, idat=None):
    """A PNG of the given IHDR; @rows (filtered scanlines, bytes) default
    to a gradient; @idat replaces the compressed data; @extra chunks go
    before IDAT."""
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[color_type]
    if idat is None:
        if rows is None:
            row_bytes = (width * channels * depth + 7) // 8
            rows = b"".join(b"\0" + bytes((x * 7 + y * 13) & 0xff for x in range(row_bytes)) for y in range(height))
        idat = zlib.compress(rows, 9)
    head = struct.pack(">IIBBBBB", width, height, depth, color_type, 0, 0, interlace)
    chunks = [png_chunk(b"IHDR", head)]
    if color_type == 3:
        chunks.append(png_chunk(b"PLTE", bytes(range(0, 256, 16)) * 3))
    chunks += list(extra)
    chunks += [png_chunk(b"IDAT", idat), png_chunk(b"IEND", b"")]
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunks)


def zeros_deflate(size):
    """zlib data of @size zero bytes, made without compressing them: one
    raw deflate segment for a MiB of zeros, flushed to a byte boundary and
    repeated (a full flush forgets the history, so every copy decodes the
    same)."""
    mib = 1 << 20
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    segment = c.compress(bytes(mib)) + c.flush(zlib.Z_FULL_FLUSH)
    whole, rest = divmod(size, mib)
    tail = zlib.compressobj(9, zlib.DEFLATED, -15)
    end = tail.compress(bytes(rest)) + tail.flush(zlib.Z_FINISH)
    adler = 1
    block = bytes(mib)
    for _ in range(whole):
        adler = zlib.adler32(block, adler)
    adler = zlib.adler32(bytes(rest), adler)
    return b"\x78\xda" + segment * whole + end + struct.pack(">I", adler & 0xffffffff)


def jpeg_bytes(mode="L", size=(28, 28), **save):
    """A JPEG from PIL, or None without PIL."""
    try:
        from PIL import Image
    except ImportError:
        return None
    img = Image.new(mode, size)
    pixels = [((x * 9 + y * 5) % 256) for y in range(size[1]) for x in range(size[0])]
    if mode == "L":
        img.putdata(pixels)
    else:
        bands = len(mode)
        img.putdata([tuple((p + 40 * b) % 256 for b in range(bands)) for p in pixels])
    buffer = io.BytesIO()
    img.save(buffer, "JPEG", **save)
    return buffer.getvalue()


def jpeg_with_size(data, width, height):
    """@data with its frame header (SOF0/SOF1/SOF2) declaring @width x @height."""
    data = bytearray(data)
    at = 2
    while at + 4 <= len(data):
        marker, length = data[at + 1], struct.unpack(">H", data[at + 2:at + 4])[0]
        if marker in (0xc0, 0xc1, 0xc2):
            data[at + 5:at + 9] = struct.pack(">HH", height, width)
            break
        at += 2 + length
    return bytes(data)


def gif_bytes(width, height, frames=1):
    """A GIF89a of @frames 1x1 frames on a @width x @height screen."""
    head = b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80, 0, 0) + b"\0\0\0\xff\xff\xff"
    if frames > 1:
        head += b"\x21\xff\x0bNETSCAPE2.0\x03\x01\0\0\0"
    frame = (b"\x21\xf9\x04\x00\x01\x00\x00\x00" + b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0)
             + b"\x02\x02\x44\x01\x00")
    return head + frame * frames + b"\x3b"


def bmp_bytes(width, height):
    """A BMP header declaring @width x @height at 24 bits, with 4 bytes of pixels."""
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 14 + len(info) + 4, 0, 0, 14 + len(info)) + info + b"\0" * 4


def folder_cases(out):
    gray = png_bytes(28, 28)

    def folder(name, files, classes=("a", "b")):
        """imgdir-NAME/CLASS/FILE for each class (none: a flat folder);
        @files maps names (str or bytes) to contents, None for a
        special file made by the caller."""
        root = os.path.join(out, f"imgdir-{name}")
        os.makedirs(root, exist_ok=True)
        subs = [os.path.join(os.fsencode(root), os.fsencode(c)) for c in classes] if classes else [os.fsencode(root)]
        for sub in subs:
            os.makedirs(sub, exist_ok=True)
            for fname, data in files.items():
                path = os.path.join(sub, os.fsencode(fname))
                if data is not None and not os.path.lexists(path):
                    with open(path, "wb") as f:
                        f.write(data)
        return root

    folder("base", {"1.png": gray, "2.png": png_bytes(28, 28, 2), "3.PNG": png_bytes(40, 30, 6)})
    folder("unlabeled", {"1.png": gray, "2.png": png_bytes(28, 28, 4)}, classes=None)
    # every PNG layout gdk-pixbuf turns into 8-bit RGB(A)
    folder("png-layouts", {f"{t}-{d}.png": png_bytes(28, 28, t, d)
                           for t, depths in [(0, (1, 2, 4, 8, 16)), (2, (8, 16)), (3, (1, 2, 4, 8)),
                                             (4, (8, 16)), (6, (8, 16))] for d in depths})
    folder("png-interlaced", {"1.png": png_bytes(28, 28, 2, 8, interlace=1)})
    folder("png-extreme-aspect", {"wide.png": png_bytes(65535, 1, 0, 1, rows=b"\0" + bytes(8192)),
                                  "tall.png": png_bytes(1, 65535, 0, 1, rows=b"\0\0" * 65535),
                                  "dot.png": png_bytes(1, 1)})
    jpegs = {"gray.jpg": jpeg_bytes("L"), "rgb.jpeg": jpeg_bytes("RGB"),
             "cmyk.jpg": jpeg_bytes("CMYK"), "progressive.jpg": jpeg_bytes("RGB", progressive=True),
             "subsampled.JPG": jpeg_bytes("RGB", (33, 17), subsampling=2)}
    if None not in jpegs.values():
        folder("jpeg-layouts", jpegs)
        folder("jpeg-bomb-65535", {"1.jpg": jpeg_with_size(jpegs["gray.jpg"], 65535, 65535)})
        folder("jpeg-bomb-8192-truncated", {"1.jpg": jpeg_with_size(jpegs["gray.jpg"], 8192, 8192)})
        folder("jpeg-truncated", {"1.jpg": jpegs["rgb.jpeg"][:len(jpegs["rgb.jpeg"]) // 2]})
        folder("jpeg-header-only", {"1.jpg": jpegs["rgb.jpeg"][:200]})
        folder("jpeg-corrupt", {"1.jpg": jpegs["rgb.jpeg"][:300] + bytes(reversed(jpegs["rgb.jpeg"][300:]))})
        folder("jpeg-progressive-truncated", {"1.jpg": jpegs["progressive.jpg"][:len(jpegs["progressive.jpg"]) * 2 // 3]})
    # decompression bombs: huge declared sizes in a few bytes
    folder("png-bomb-100000", {"1.png": png_bytes(100000, 100000, 0, 1, idat=zlib.compress(b"\0" * 64))})
    folder("png-bomb-65535", {"1.png": png_bytes(65535, 65535, 6, 16, idat=zlib.compress(b"\0" * 64))})
    folder("png-bomb-8192", {"1.png": png_bytes(8192, 8192, 0, 8, idat=zeros_deflate(8192 * 8193))})
    folder("png-bomb-8192-truncated", {"1.png": png_bytes(8192, 8192, 2, 8, idat=zlib.compress(b"\0" * 64))})
    folder("png-ztxt-bomb", {"1.png": png_bytes(28, 28, extra=[
        png_chunk(b"zTXt", b"Comment\0\0" + zeros_deflate(200 << 20))])})
    folder("png-itxt-many", {"1.png": png_bytes(28, 28, extra=[
        png_chunk(b"tEXt", b"k%d\0v" % i) for i in range(5000)])})
    folder("png-iccp-bomb", {"1.png": png_bytes(28, 28, 2, extra=[
        png_chunk(b"iCCP", b"icc\0\0" + zeros_deflate(200 << 20))])})
    folder("png-idat-bomb", {"1.png": png_bytes(28, 28, idat=zeros_deflate(100 << 20))})
    folder("png-truncated", {"1.png": gray[:len(gray) // 2]})
    folder("png-no-iend", {"1.png": gray[:-12]})
    folder("png-bad-crc", {"1.png": gray[:40] + bytes([gray[40] ^ 1]) + gray[41:]})
    folder("png-bad-idat", {"1.png": png_bytes(28, 28, idat=b"\x78\x9c" + bytes(range(200)))})
    folder("png-zero-size-ihdr", {"1.png": png_bytes(0, 0, idat=zlib.compress(b""))})
    folder("zero-bytes", {"1.png": b"", "2.jpg": b"", "3.jpeg": b""})
    # other formats under an image's name, and beside images
    folder("gif-as-png", {"1.png": gif_bytes(65535, 65535)})
    folder("gif-frames-as-png", {"1.png": gif_bytes(28, 28, 100000)})
    folder("bmp-as-jpg", {"1.jpg": bmp_bytes(100000, 100000)})
    folder("svg-as-png", {"1.png": b'<?xml version="1.0"?><!DOCTYPE s [<!ENTITY a "aaaaaaaaaa">'
                                   + b"".join(b'<!ENTITY %c "%s">' % (ord("b") + i, (b"&%c;" % (ord("a") + i)) * 10)
                                              for i in range(8))
                                   + b']><svg xmlns="http://www.w3.org/2000/svg" width="100000" height="100000">'
                                   + b"<text>&i;</text></svg>"})
    folder("tiff-as-png", {"1.png": b"II*\0\x08\0\0\0\x03\0\x00\x01\x04\0\x01\0\0\0\xff\xff\xff\x7f"
                                    b"\x01\x01\x04\0\x01\0\0\0\xff\xff\xff\x7f\x02\x01\x03\0\x01\0\0\0\x08\0\0\0\0\0"})
    folder("other-formats-beside", {"1.png": gray, "2.gif": gif_bytes(65535, 65535, 1000), "3.bmp": bmp_bytes(9, 9),
                                    "4.txt": b"hello", ".hidden.png": b"garbage"})
    # special files among the images: none may block or be read forever
    root = folder("fifo", {"1.png": gray})
    for c in ("a", "b"):
        path = os.path.join(root, c, "0-fifo.png")
        if not os.path.lexists(path):
            os.mkfifo(path)
    for name, target in [("dev-zero", "/dev/zero"), ("dev-null", "/dev/null"), ("dev-tty", "/dev/tty"),
                         ("dev-stdin", "/proc/self/fd/0"), ("dev-urandom", "/dev/urandom"),
                         ("link-loop", "0-loop.png"), ("link-dangling", "nowhere.png"),
                         ("link-to-folder", "..")]:
        root = folder(name, {"1.png": gray})
        for c in ("a", "b"):
            path = os.path.join(root, c, "0-loop.png" if name == "link-loop" else "0-link.png")
            if not os.path.lexists(path):
                os.symlink(target, path)
    root = folder("class-symlink-loop", {"1.png": gray})
    for link, target in [("c-self", "c-self"), ("d-parent", "."), ("e-grandparent", "..")]:
        if not os.path.lexists(os.path.join(root, link)):
            os.symlink(target, os.path.join(root, link))
    root = folder("fifo-class", {"1.png": gray})
    if not os.path.lexists(os.path.join(root, "c-fifo")):
        os.mkfifo(os.path.join(root, "c-fifo"))
    root = folder("unreadable", {"1.png": gray, "2.png": gray})
    os.chmod(os.path.join(root, "a", "2.png"), 0)
    os.chmod(os.path.join(root, "b"), 0)
    # names and folders
    folder("names-not-utf8", {b"\xff\xfe.png": gray, b"\x80\x81-ok.jpg" if jpegs["gray.jpg"] else b"\x80.png":
                              jpegs["gray.jpg"] or gray}, classes=(b"\xc3\x28", b"\xe2\x82"))
    folder("names-control", {"bad\n\x1b[2J\x07.png": gray[:50], "\u202egnp.png": gray[:60]},
           classes=("\n", "-", "--help"))
    folder("classes-11", {"1.png": gray}, classes=[f"{i:02d}" for i in range(11)])
    folder("classes-empty", {}, classes=("a", "b"))
    folder("class-one-empty", {"1.png": gray}, classes=("a",))
    os.makedirs(os.path.join(out, "imgdir-class-one-empty", "b"), exist_ok=True)
    root = folder("deep", {}, classes=None)
    path = root
    for i in range(200):
        path = os.path.join(path, "d")
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "1.png"), "wb") as f:
        f.write(gray)
    # 100,000 images that are two files (hard links: no disk space each;
    # ext4 allows 65,000 links to a file)
    root = folder("many-100000", {"0.png": png_bytes(1, 1), "1.png": png_bytes(2, 1)}, classes=None)
    for i in range(2, 100000):
        path = os.path.join(root, f"{i}.png")
        if not os.path.lexists(path):
            os.link(os.path.join(root, f"{i % 2}.png"), path)
    root = folder("many-empty-20000", {}, classes=None)
    for i in range(20000):
        open(os.path.join(root, f"{i}.png"), "wb").close()


# ---- more HDF5 image sets, zip bombs, special scheme files -------------------

def image_set_bombs(out):
    def img(name, build):
        with h5py.File(os.path.join(out, f"img-{name}.h5"), "w") as f:
            build(f)

    n = 20
    x = RNG.random((n, 28, 28, 1)).astype(np.float32)
    y = (np.arange(n) % 10).astype(np.int32)

    def with_y(values, dtype):
        return lambda f: (f.create_dataset("x", data=x), f.create_dataset("y", data=np.array(values, dtype)))
    img("y-10", with_y([10] * n, np.int32))
    img("y-int32-max", with_y([(1 << 31) - 1] * n, np.int32))
    img("y-int64-min", with_y([-(1 << 63)] * n, np.int64))
    img("y-uint64-max", with_y([(1 << 64) - 1] * n, np.uint64))
    img("y-uint32-wrap", with_y([(1 << 32) + 3] * n, np.uint64))

    def one_nan(f):
        bad = x.copy()
        bad[7, 3, 4, 0] = np.nan
        f.create_dataset("x", data=bad)
        f.create_dataset("y", data=y)
    img("x-one-nan", one_nan)

    def huge_chunk(dtype, chunk_images, what):
        """A set of @n images whose one chunk is declared (and stored,
        deflated) for @chunk_images images: reading 20 images inflates
        the whole chunk."""
        def build(f):
            item = np.dtype(dtype).itemsize
            shape = {"x": (n, 28, 28, 1), "y": (n,)}
            chunks = {"x": (chunk_images, 28, 28, 1), "y": (chunk_images * 784,)}
            for key in ("x", "y"):
                d = f.create_dataset(key, shape=shape[key], maxshape=(None,) + shape[key][1:],
                                     dtype=dtype if key == what else (np.float32 if key == "x" else np.int32),
                                     chunks=chunks[key] if key == what else None,
                                     compression="gzip" if key == what else None)
                if key != what:
                    d[...] = x if key == "x" else y
                else:
                    size = int(np.prod(chunks[key])) * item
                    d.id.write_direct_chunk((0,) * len(shape[key]), zeros_deflate(size))
        return build
    img("x-chunk-800m", huge_chunk(np.uint8, 1 << 20, "x"))
    img("x-chunk-float-1600m", huge_chunk(np.float32, 1 << 19, "x"))
    img("y-chunk-800m", huge_chunk(np.int32, 1 << 18, "y"))

    def chunk_short(f):
        # the chunk's data inflates to less than the chunk
        d = f.create_dataset("x", shape=(n, 28, 28, 1), maxshape=(None, 28, 28, 1), dtype=np.uint8,
                             chunks=(1 << 16, 28, 28, 1), compression="gzip")
        d.id.write_direct_chunk((0, 0, 0, 0), zlib.compress(bytes(100)))
        f.create_dataset("y", data=y)
    img("x-chunk-short", chunk_short)

    def chunk_short_many(f):
        # 9,000 one-image chunks, more than the 8,192 an earlier check
        # looked at, the last inflating to 2 of its 784 bytes
        pixels = RNG.integers(0, 256, (9000, 28, 28, 1), dtype=np.uint8)
        d = f.create_dataset("x", data=pixels, chunks=(1, 28, 28, 1), compression="gzip")
        d.id.write_direct_chunk((8999, 0, 0, 0), zlib.compress(bytes(2)))
        f.create_dataset("y", data=np.zeros(9000, np.int32))
    img("x-chunk-short-many", chunk_short_many)

    def chunk_masked_short(f):
        # the chunk's filter mask skips deflate and it stores 10 bytes
        d = f.create_dataset("x", data=x, chunks=(1, 28, 28, 1), compression="gzip")
        d.id.write_direct_chunk((n - 1, 0, 0, 0), bytes(10), filter_mask=1)
        f.create_dataset("y", data=y)
    img("x-chunk-masked-short", chunk_masked_short)

    def expands(f):
        # 1 GiB of float32 from a few hundred kilobytes
        f.create_dataset("x", shape=(4096, 256, 256, 1), dtype=np.uint8, chunks=(64, 256, 256, 1),
                         compression="gzip", compression_opts=9, fillvalue=0)
        d = f["x"]
        block = np.zeros((64, 256, 256, 1), np.uint8)
        block[:, 0, 0, 0] = 1
        for i in range(0, 4096, 64):
            d.id.write_direct_chunk((i, 0, 0, 0), zlib.compress(block.tobytes(), 9))
        f.create_dataset("y", data=np.zeros(4096, np.int32))
    img("x-expands-1g", expands)

    def declared_2_40(f):
        f.create_dataset("x", shape=(1 << 20, 1 << 10, 1 << 10, 1), dtype=np.float32, chunks=(1, 64, 64, 1),
                         compression="gzip")
        f.create_dataset("y", shape=(1 << 20,), dtype=np.int32, chunks=(1 << 20,), compression="gzip")
    img("x-2-40-chunked", declared_2_40)

    def y_rank2_wide(f):
        f.create_dataset("x", data=x)
        f.create_dataset("y", data=np.zeros((n, 1 << 16), np.int8), compression="gzip")
    img("y-rank2-wide", y_rank2_wide)

    def attr_huge(f):
        f.create_dataset("x", data=x)
        f.create_dataset("y", data=y)
        f["x"].attrs["scale"] = np.ones(4097, np.float64)
        f.attrs["mean"] = np.zeros((2, 2), np.float64)
    img("attrs-huge", attr_huge)

    def attr_vlen(f):
        f.create_dataset("x", data=x)
        f.create_dataset("y", data=y)
        value = np.empty(1, dtype=object)
        value[0] = np.array([1.0, 2.0])
        f["x"].attrs.create("scale", data=value, dtype=h5py.vlen_dtype(np.float64))
    img("attrs-vlen", attr_vlen)


def zip_entries_raw(path, entries):
    """A zip from (name, stored bytes, method, crc, uncompressed size,
    extra) tuples written as given, lies and all."""
    local, central, offset = [], [], 0
    for name, data, method, crc, size, extra in entries:
        name = name.encode() if isinstance(name, str) else name
        head = struct.pack("<IHHHHHIIIHH", 0x04034b50, 20, 0, method, 0, 0x21, crc, len(data) & 0xffffffff,
                           size & 0xffffffff, len(name), len(extra)) + name + extra
        central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014b50, 20, 20, 0, method, 0, 0x21, crc,
                                   len(data) & 0xffffffff, size & 0xffffffff, len(name), len(extra), 0, 0, 0, 0,
                                   offset) + name + extra)
        local.append(head + data)
        offset += len(head) + len(data)
    directory = b"".join(central)
    end = struct.pack("<IHHHHIIH", 0x06054b50, 0, 0, len(entries), len(entries), len(directory), offset, 0)
    with open(path, "wb") as f:
        f.write(b"".join(local) + directory + end)


def zip_bomb_cases(out):
    cfg = b'{"class_name": "Sequential", "config": {"layers": []}}'
    meta = b'{"keras_version": "3.3.3"}'

    def deflate(data):
        c = zlib.compressobj(9, zlib.DEFLATED, -15)
        return c.compress(data) + c.flush()

    def raw_deflate_zeros(size):
        z = zeros_deflate(size)
        return z[2:-4]

    def entry(name, data, method=0, crc=None, size=None, extra=b""):
        return (name, data, method, zlib.crc32(data) if crc is None else crc, len(data) if size is None else size,
                extra)

    def k3(name, entries):
        zip_entries_raw(os.path.join(out, f"k3-{name}.keras"), entries)

    bomb = raw_deflate_zeros(1 << 30)
    crc_1g = 0
    block = bytes(1 << 20)
    for _ in range(1024):
        crc_1g = zlib.crc32(block, crc_1g)
    # 1 GiB of zeros in a megabyte, declared honestly, or as 100 bytes
    k3("bomb-config-honest", [entry("metadata.json", meta), ("config.json", bomb, 8, crc_1g, 1 << 30, b""),
                              entry("model.weights.h5", b"x")])
    k3("bomb-config-lying", [entry("metadata.json", meta), ("config.json", bomb, 8, crc_1g, 100, b""),
                             entry("model.weights.h5", b"x")])
    k3("bomb-weights-lying", [entry("metadata.json", meta), entry("config.json", cfg),
                              ("model.weights.h5", bomb, 8, crc_1g, 1 << 20, b"")])
    k3("bomb-weights-4g", [entry("metadata.json", meta), entry("config.json", cfg),
                           ("model.weights.h5", bomb, 8, crc_1g, 0xfffffffe, b"")])
    k3("dotdot-names", [entry("../metadata.json", meta), entry("../../config.json", cfg),
                        entry("..\\model.weights.h5", b"x")])
    k3("dotdot-and-real", [entry("metadata.json", meta), entry("config.json", cfg), entry("../config.json", b"[]"),
                           entry("./config.json", b"{}"), entry("model.weights.h5", b"x")])
    k3("duplicate-config-3", [entry("metadata.json", meta)] + [entry("config.json", b"[%d]" % i) for i in range(3)]
       + [entry("model.weights.h5", b"x")])
    zip64 = struct.pack("<HHQQ", 1, 16, 1 << 33, 1 << 33)
    k3("zip64-extra", [entry("metadata.json", meta), entry("config.json", cfg, extra=zip64),
                       entry("model.weights.h5", b"x")])
    k3("zip64-extra-odd", [entry("metadata.json", meta), entry("config.json", cfg, extra=struct.pack("<HH", 1, 200)),
                           entry("model.weights.h5", b"x")])
    k3("extra-truncated", [entry("metadata.json", meta), entry("config.json", cfg, extra=b"\x01"),
                           entry("model.weights.h5", b"x")])
    k3("method-bzip2", [entry("metadata.json", meta), entry("config.json", cfg, method=12),
                        entry("model.weights.h5", b"x")])
    k3("deflate-garbage", [entry("metadata.json", meta), ("config.json", b"\xff" * 64, 8, 0, 200, b""),
                           entry("model.weights.h5", b"x")])
    k3("crc-wrong", [entry("metadata.json", meta), entry("config.json", cfg, crc=1), entry("model.weights.h5", b"x")])
    # a 1 GiB config.json stored: a sparse file, nothing on disk
    path = os.path.join(out, "k3-config-1g-stored.keras")
    weights = b"x"
    size = 1 << 30
    first = struct.pack("<IHHHHHIIIHH", 0x04034b50, 20, 0, 0, 0, 0x21, zlib.crc32(weights), 1, 1, 16, 0)
    first += b"model.weights.h5" + weights
    head = struct.pack("<IHHHHHIIIHH", 0x04034b50, 20, 0, 0, 0, 0x21, crc_1g, size, size, 11, 0) + b"config.json"
    central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014b50, 20, 20, 0, 0, 0, 0x21, zlib.crc32(weights), 1, 1, 16,
                          0, 0, 0, 0, 0, 0) + b"model.weights.h5"
    central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014b50, 20, 20, 0, 0, 0, 0x21, crc_1g, size, size, 11,
                           0, 0, 0, 0, 0, len(first)) + b"config.json"
    with open(path, "wb") as f:
        f.write(first + head)
        f.seek(len(first) + len(head) + size)
        f.write(central + struct.pack("<IHHHHIIH", 0x06054b50, 0, 0, 2, 2, len(central),
                                      len(first) + len(head) + size, 0))


def special_scheme_cases(out):
    for name, target in [("dev-zero", "/dev/zero"), ("dev-urandom", "/dev/urandom"), ("loop", "scheme-loop.json"),
                         ("proc-self", "/proc/self/mem")]:
        path = os.path.join(out, f"scheme-{name}.json")
        if not os.path.lexists(path):
            os.symlink(target, path)
    path = os.path.join(out, "scheme-fifo.json")
    if not os.path.lexists(path):
        os.mkfifo(path)
    # a gigabyte of spaces before the object: a sparse gigabyte of NULs
    with open(os.path.join(out, "scheme-1g-sparse.json"), "wb") as f:
        f.truncate(1 << 30)
    with open(os.path.join(out, "scheme-long-10m.json"), "wb") as f:
        f.write(b'{"version": 1, "overrides": [' + b'{"tensors": "*", "bits": 8},' * 350000
                + b'{"tensors": "*", "bits": 8}]}')


# ---- ninth session: HDF5 types, virtual datasets, shared strings, layers ----

def k2_types_cases(out):
    """Keras 2 files: weights of enum, opaque, array, reference, vlen and
    fixed-string types, of no dataspace, of rank 1, 5 and 0, dims whose
    product passes 2^63 or 2^64; model_config as a compound, enum, opaque,
    1-element vlen array, NUL-padded or NUL-holding fixed string, invalid
    UTF-8, 10^5 levels deep, unclosed, a 4 MiB name; odd layer_names and
    weight_names (no dataspace, scalar, float, 3000, through a hard cycle,
    a 2000-hop path); layer configs the engine must refuse or bound
    (UpSampling2D, Permute, Softmax, Rescaling, ReLU/LeakyReLU/ELU,
    LayerNormalization, Normalization, PReLU, DepthwiseConv2D,
    SeparableConv2D, windows bigger than the map, Dense on a 4-D map,
    input 2^40, 5000-input Add/Concatenate, 40 diamonds)."""
    W = base_weights
    def k2(name, config, weights=None, **kw):
        write_k2(os.path.join(out, f"k2-{name}.h5"), config, W() if weights is None else weights, **kw)

    def seq_with(mutate):
        layers = base_layers(); mutate(layers); return sequential(layers)
    base = sequential(base_layers())

    def replace_kernel(make, layer="conv2d"):
        def tweak(f):
            del f[f"model_weights/{layer}/{layer}/kernel:0"]
            make(f[f"model_weights/{layer}/{layer}"], "kernel:0", f)
        return tweak

    # --- HDF5 types not covered
    k2("weights-enum", base, tweak=replace_kernel(lambda g, n, f: g.create_dataset(n, data=np.zeros((3,3,1,4), np.int8), dtype=h5py.enum_dtype({"a": 0, "b": 1}, basetype="i1"))))
    k2("weights-opaque", base, tweak=replace_kernel(lambda g, n, f: g.create_dataset(n, data=np.zeros((3,3,1,4), "V4"))))
    k2("weights-array-type", base, tweak=replace_kernel(lambda g, n, f: g.create_dataset(n, shape=(3,3,1), dtype=np.dtype(("<f4", (4,))))))
    k2("weights-reference", base, tweak=replace_kernel(lambda g, n, f: g.create_dataset(n, shape=(3,3,1,4), dtype=h5py.ref_dtype)))
    k2("weights-vlen-float", base, tweak=replace_kernel(lambda g, n, f: g.create_dataset(n, shape=(3,3,1,4), dtype=h5py.vlen_dtype(np.float32))))
    k2("weights-empty-space", base, tweak=replace_kernel(lambda g, n, f: g.create_dataset(n, data=h5py.Empty("f4"))))
    k2("weights-fixed-string", base, tweak=replace_kernel(lambda g, n, f: g.create_dataset(n, data=np.full((3,3,1,4), b"1.5", "S4"))))
    # dims
    k2("weights-kernel-1d", base, weights=dict(W(), conv2d=[("kernel:0", arr(36)), ("bias:0", arr(4))]))
    k2("weights-kernel-5d", base, weights=dict(W(), conv2d=[("kernel:0", arr(3,3,1,4,1)), ("bias:0", arr(4))]))
    k2("weights-dense-scalar", base, weights=dict(W(), dense=[("kernel:0", np.float32(1)), ("bias:0", arr(10))]))
    k2("weights-kernel-in-channels", base, weights=dict(W(), conv2d=[("kernel:0", arr(3,3,2,4)), ("bias:0", arr(4))]))
    k2("weights-bias-2d", base, weights=dict(W(), conv2d=[("kernel:0", arr(3,3,1,4)), ("bias:0", arr(2,2))]))
    def overflow_dims(shape, chunks):
        return replace_kernel(lambda g, n, f: g.create_dataset(n, shape=shape, dtype=np.float32, chunks=chunks))
    for tag, shape in [("2-64", (1 << 32, 1 << 32, 1, 4)), ("2-63", (3, 3, 1 << 31, 1 << 31)), ("2-64-plus", (1 << 33, 1 << 31, 1, 1)),
                       ("max-dims", ((1 << 64) - 2, 1, 1, 1))]:
        try:
            k2(f"weights-dims-{tag}", base, tweak=overflow_dims(shape, (1, 1, 1, 1)))
        except (RuntimeError, ValueError):
            pass  # libhdf5 refuses some of these shapes when writing

    # virtual datasets
    def vds(source_file, source_path="/k", shape=(3,3,1,4)):
        def make(g, n, f):
            layout = h5py.VirtualLayout(shape=shape, dtype=np.float32)
            layout[...] = h5py.VirtualSource(source_file, source_path, shape=shape)
            g.create_virtual_dataset(n, layout, fillvalue=0.5)
        return make
    fifo = os.path.join(out, "vds-fifo.h5")
    if not os.path.lexists(fifo):
        os.mkfifo(fifo)
    with h5py.File(os.path.join(out, "vds-source.h5"), "w") as f:
        f["k"] = arr(3,3,1,4)
    k2("weights-vds-missing", base, tweak=replace_kernel(vds("no-such-source.h5")))
    k2("weights-vds-fifo", base, tweak=replace_kernel(vds(fifo)))
    k2("weights-vds-relative-fifo", base, tweak=replace_kernel(vds("vds-fifo.h5")))
    k2("weights-vds-source", base, tweak=replace_kernel(vds("vds-source.h5")))
    k2("weights-vds-dev-zero", base, tweak=replace_kernel(vds("/dev/zero")))
    k2("weights-vds-self", base, tweak=replace_kernel(vds(".", "/model_weights/conv2d/conv2d/kernel:0")))
    k2("weights-vds-huge", base, tweak=replace_kernel(vds("vds-source.h5", "/k", shape=(1 << 20, 1 << 20, 1, 4))))
    # external storage into a FIFO / device
    def ext_storage(target):
        def make(g, n, f):
            g.create_dataset(n, shape=(3,3,1,4), dtype=np.float32, external=[(target, 0, 144)])
        return make
    k2("weights-extstore-fifo", base, tweak=replace_kernel(ext_storage(fifo)))
    # model_config attribute types
    cfg = json.dumps(base)
    def attr(value, dtype=None):
        def t(f):
            f.attrs.create("model_config", data=value, dtype=dtype)
        return t
    k2("config-attr-vlen-array1", None, tweak=attr(np.array([cfg], dtype=object), h5py.string_dtype()))
    k2("config-attr-empty", None, tweak=attr(h5py.Empty("S10")))
    k2("config-attr-compound", None, tweak=attr(np.zeros(1, dtype=[("a", "S10"), ("b", "<i4")])))
    k2("config-attr-enum", None, tweak=attr(np.int8(1), h5py.enum_dtype({"a": 0, "b": 1}, basetype="i1")))
    k2("config-attr-nul-padded", None, tweak=attr(np.bytes_(cfg.encode() + b"\0" * 30000)))
    k2("config-attr-nul-inside", None, tweak=attr(np.bytes_(cfg.encode()[:50] + b"\0" + cfg.encode()[51:])))
    k2("config-attr-vlen-bytes-invalid-utf8", None, tweak=attr(cfg.encode()[:-2] + b"\xff\xfe}}", h5py.string_dtype("utf-8")))
    k2("config-attr-opaque", None, tweak=attr(np.void(cfg.encode()[:200])))
    k2("config-deep-arrays-100000", '{"class_name": "Sequential", "config": {"layers": [' + "[" * 100000 + "]" * 100000 + "]}}")
    k2("config-deep-objects-100000", '{"a":' * 100000 + "1" + "}" * 100000)
    k2("config-deep-unclosed", "[" * 100000)
    k2("config-long-string", json.dumps(base).replace('"sequential"', '"' + "s" * (1 << 22) + '"'))
    # layer_names/weight_names oddities
    def set_attr(where, name, value, dtype=None):
        def t(f):
            f[where].attrs.create(name, data=value, dtype=dtype)
        return t
    k2("layer-names-empty-space", base, tweak=set_attr("model_weights", "layer_names", h5py.Empty("S10")))
    k2("weight-names-empty-space", base, tweak=set_attr("model_weights/conv2d", "weight_names", h5py.Empty("S10")))
    k2("weight-names-scalar", base, tweak=set_attr("model_weights/conv2d", "weight_names", np.bytes_("conv2d/kernel:0")))
    k2("weight-names-float", base, tweak=set_attr("model_weights/conv2d", "weight_names", np.float32(1.0)))
    k2("layer-names-3000", base, tweak=set_attr("model_weights", "layer_names", np.array([b"conv2d", b"dense"] + [b"x%d" % i for i in range(3000)])))
    k2("weight-names-self", base, tweak=set_attr("model_weights/conv2d", "weight_names", np.array([b"conv2d/kernel:0", b"conv2d/kernel:0"])))
    def layer_group_cycle(f):
        f["model_weights/conv2d/loop"] = f["model_weights"]
        f["model_weights/conv2d"].attrs["weight_names"] = np.array([b"loop/conv2d/conv2d/kernel:0", b"conv2d/bias:0"])
    k2("weight-names-through-cycle", base, tweak=layer_group_cycle)
    def mw_soft_root(f):
        del f["model_weights"]
        f["model_weights"] = h5py.SoftLink("/")
    k2("model-weights-soft-root", base, tweak=mw_soft_root)
    def long_soft_path(f):
        f["model_weights/conv2d"].attrs["weight_names"] = np.array([("/".join(["loop"] * 2000) + "/kernel:0").encode(), b"conv2d/bias:0"])
        f["model_weights/conv2d/loop"] = h5py.SoftLink("/model_weights/conv2d")
    k2("weight-names-deep-path", base, tweak=long_soft_path)

    # --- layer configs not covered
    def ins(i, layer, weights=None):
        return lambda l: l.insert(i, layer)
    def L(cls, name, **config):
        return {"class_name": cls, "config": {"name": name, "trainable": True, "dtype": "float32", **config}}
    for tag, size in [("huge", [1 << 16, 1 << 16]), ("zero", [0, 0]), ("negative", [-2, 2]), ("int", 1 << 20), ("overflow", [1 << 31, 1])]:
        k2(f"upsample-{tag}", seq_with(ins(2, L("UpSampling2D", "up_sampling2d", size=size, interpolation="nearest", data_format="channels_last"))))
    k2("upsample-bicubic", seq_with(ins(2, L("UpSampling2D", "up_sampling2d", size=[2, 2], interpolation="bicubic"))))
    for tag, perm in [("repeat", [1, 1, 1]), ("zero", [0, 1, 2]), ("short", [1]), ("big", [5, 6, 7]), ("negative", [-1, 1, 2])]:
        k2(f"permute-{tag}", seq_with(ins(2, L("Permute", "permute", dims=perm))))
    for tag, cfg_ in [("axis-99", {"axis": 99}), ("axis-list", {"axis": [1, 2, 99]}), ("axis-str", {"axis": "x"})]:
        k2(f"softmax-{tag}", seq_with(ins(2, L("Softmax", "softmax", **cfg_))))
    for tag, cfg_ in [("nan", {"scale": float("nan"), "offset": 0.0}), ("inf", {"scale": 1e999, "offset": -1e999}),
                      ("list-wrong", {"scale": [1.0, 2.0, 3.0], "offset": 0.0}), ("string", {"scale": "x", "offset": 0})]:
        k2(f"rescaling-{tag}", seq_with(ins(1, L("Rescaling", "rescaling", **cfg_))))
    for tag, cls, cfg_ in [("leaky-nan", "LeakyReLU", {"alpha": float("nan")}), ("elu-inf", "ELU", {"alpha": 1e999}),
                           ("relu-max-negative", "ReLU", {"max_value": -1.0, "negative_slope": 0.0, "threshold": 0.0}),
                           ("relu-threshold-nan", "ReLU", {"max_value": None, "negative_slope": float("nan"), "threshold": float("nan")}),
                           ("activation-softmax-axis", "Activation", {"activation": "softmax", "axis": 99}),
                           ("activation-number", "Activation", {"activation": 5}),
                           ("dropout-rate-nan", "Dropout", {"rate": float("nan")}),
                           ("gap-keepdims", "GlobalAveragePooling2D", {"keepdims": True, "data_format": "channels_last"}),
                           ("gap-first", "GlobalAveragePooling2D", {"data_format": "channels_first"})]:
        k2(f"layer-{tag}", seq_with(ins(2, L(cls, "odd", **cfg_))))
    k2("layernorm-axis-99", seq_with(ins(2, L("LayerNormalization", "layer_normalization", axis=[99], epsilon=0.001, center=True, scale=True))),
       weights=dict(W(), layer_normalization=[("gamma:0", np.ones(4, np.float32)), ("beta:0", np.zeros(4, np.float32))]))
    k2("layernorm-epsilon-nan", seq_with(ins(2, L("LayerNormalization", "layer_normalization", axis=[3], epsilon=float("nan"), center=True, scale=True))),
       weights=dict(W(), layer_normalization=[("gamma:0", np.ones(4, np.float32)), ("beta:0", np.zeros(4, np.float32))]))
    k2("layernorm-gamma-short", seq_with(ins(2, L("LayerNormalization", "layer_normalization", axis=[3], epsilon=0.001, center=True, scale=True))),
       weights=dict(W(), layer_normalization=[("gamma:0", np.ones(2, np.float32)), ("beta:0", np.zeros(4, np.float32))]))
    k2("normalization-variance-negative", seq_with(ins(1, L("Normalization", "normalization", axis=[-1], mean=None, variance=None))),
       weights=dict(W(), normalization=[("mean:0", np.zeros(1, np.float32)), ("variance:0", -np.ones(1, np.float32)), ("count:0", np.int64(5))]))
    k2("normalization-shapes", seq_with(ins(1, L("Normalization", "normalization", axis=[-1], mean=None, variance=None))),
       weights=dict(W(), normalization=[("mean:0", np.zeros(7, np.float32)), ("variance:0", np.ones(3, np.float32)), ("count:0", np.int64(5))]))
    k2("prelu-alpha-wrong", seq_with(ins(2, L("PReLU", "p_re_lu", shared_axes=None))),
       weights=dict(W(), p_re_lu=[("alpha:0", np.ones((3, 3, 3), np.float32))]))
    k2("prelu-shared-axes-99", seq_with(ins(2, L("PReLU", "p_re_lu", shared_axes=[99, -5]))),
       weights=dict(W(), p_re_lu=[("alpha:0", np.ones((1, 1, 4), np.float32))]))
    for tag, dm, kshape in [("dm-zero", 0, (3, 3, 4, 0)), ("dm-huge", 1 << 31, (3, 3, 4, 1)), ("dm-negative", -1, (3, 3, 4, 1)),
                            ("kernel-wrong", 1, (3, 3, 2, 1)), ("kernel-1d", 1, (36,))]:
        k2(f"depthwise-{tag}", seq_with(ins(2, L("DepthwiseConv2D", "depthwise_conv2d", kernel_size=[3, 3], strides=[1, 1], padding="same",
                                                depth_multiplier=dm, data_format="channels_last", dilation_rate=[1, 1], activation="linear", use_bias=False))),
           weights=dict(W(), depthwise_conv2d=[("depthwise_kernel:0", arr(*kshape) if 0 not in kshape else np.zeros(kshape, np.float32))]))
    k2("separable-pointwise-wrong", seq_with(ins(2, L("SeparableConv2D", "separable_conv2d", filters=4, kernel_size=[3, 3], strides=[1, 1], padding="same",
                                                   depth_multiplier=1, data_format="channels_last", dilation_rate=[1, 1], activation="linear", use_bias=True))),
       weights=dict(W(), separable_conv2d=[("depthwise_kernel:0", arr(3, 3, 4, 1)), ("pointwise_kernel:0", arr(1, 1, 9, 4)), ("bias:0", arr(4))]))
    k2("conv-valid-kernel-bigger", seq_with(lambda l: l[1]["config"].update(kernel_size=[29, 29], padding="valid")),
       weights=dict(W(), conv2d=[("kernel:0", arr(29, 29, 1, 4)), ("bias:0", arr(4))]))
    k2("conv-dilated-bigger", seq_with(lambda l: l[1]["config"].update(dilation_rate=[20, 20], padding="valid", strides=[1, 1])))
    k2("pool-valid-bigger", seq_with(ins(2, L("AveragePooling2D", "average_pooling2d", pool_size=[20, 20], strides=[1, 1], padding="valid"))))
    k2("pool-strides-zero", seq_with(ins(2, L("MaxPooling2D", "max_pooling2d", pool_size=[2, 2], strides=[0, 0], padding="same"))))
    k2("pool-strides-huge", seq_with(ins(2, L("MaxPooling2D", "max_pooling2d", pool_size=[2, 2], strides=[1 << 40, 1], padding="same"))))
    k2("crop-to-zero-then-pool", seq_with(lambda l: (l.insert(1, L("Cropping2D", "cropping2d", cropping=[[14, 14], [0, 0]])),
                                                     l.insert(2, L("GlobalAveragePooling2D", "gap")))))
    k2("dense-on-4d", seq_with(lambda l: l.pop(2)), weights=dict(W(), dense=[("kernel:0", arr(4, 10)), ("bias:0", arr(10))]))
    k2("dense-on-4d-wrong", seq_with(lambda l: l.pop(2)))
    k2("input-2-40", seq_with(lambda l: l[0]["config"].__setitem__("batch_input_shape", [None, 1 << 20, 1 << 20, 1])))
    k2("input-batch-huge", seq_with(lambda l: l[0]["config"].__setitem__("batch_input_shape", [1 << 40, 28, 28, 1])))
    k2("input-batch-negative", seq_with(lambda l: l[0]["config"].__setitem__("batch_input_shape", [-3, 28, 28, 1])))
    k2("input-channels-huge", seq_with(lambda l: l[0]["config"].__setitem__("batch_input_shape", [None, 28, 28, 1 << 31])))
    k2("zeropad-int-overflow", seq_with(ins(1, L("ZeroPadding2D", "zero_padding2d", padding=[[(1 << 31) - 1, (1 << 31) - 1], [0, 0]]))))
    k2("reshape-overflow", seq_with(ins(2, L("Reshape", "reshape", target_shape=[1 << 32, 1 << 32, -1]))))
    k2("reshape-minus-one-zero", seq_with(ins(2, L("Reshape", "reshape", target_shape=[0, -1]))))
    # functional: fan-in and odd nodes
    inp = fentry(k2_input(), [])
    conv = fentry(k2_conv(), node(("input_1", 0, 0)))
    flat = fentry(k2_flatten(), node(("conv2d", 0, 0)))
    dense = fentry(k2_dense(), node(("flatten", 0, 0)))
    add = {"class_name": "Add", "config": {"name": "add", "trainable": True, "dtype": "float32"}}
    def func(name, layers, inputs=("input_1",), outputs=("dense",), **kw):
        k2(name, functional(layers, list(inputs), list(outputs)), **kw)
    func("graph-add-fanin-5000", [inp, conv, fentry(add, node(*[("conv2d", 0, 0)] * 5000)), fentry(k2_flatten(), node(("add", 0, 0))), dense])
    cat = {"class_name": "Concatenate", "config": {"name": "concatenate", "trainable": True, "dtype": "float32", "axis": -1}}
    func("graph-concat-fanin-5000", [inp, conv, fentry(cat, node(*[("conv2d", 0, 0)] * 5000)), fentry(k2_flatten(), node(("concatenate", 0, 0))), dense])
    mul = {"class_name": "Multiply", "config": {"name": "multiply", "trainable": True, "dtype": "float32"}}
    func("graph-multiply-broadcast", [inp, conv, fentry(mul, node(("conv2d", 0, 0), ("input_1", 0, 0))), fentry(k2_flatten(), node(("multiply", 0, 0))), dense])
    func("graph-tensor-index-negative", [inp, conv, fentry(k2_flatten(), node(("conv2d", 0, -1))), dense])
    func("graph-kwargs-junk", [inp, conv, fentry(k2_flatten(), [[["conv2d", 0, 0, [1, 2]]]]), dense])
    func("graph-node-floats", [inp, conv, fentry(k2_flatten(), [[["conv2d", 0.5, 1e300, {}]]]), dense])
    func("graph-input-layers-junk", [inp, conv, flat, dense], inputs=())
    k2("graph-input-layers-not-list", {"class_name": "Functional", "config": {"name": "m", "layers": base_functional()["config"]["layers"], "input_layers": "input_1", "output_layers": [["dense", 0, 0]]}})
    k2("graph-output-layers-deep", {"class_name": "Functional", "config": {"name": "m", "layers": base_functional()["config"]["layers"], "input_layers": [["input_1", 0, 0]], "output_layers": [[[[["dense", 0, 0]]]]]}})
    k2("graph-output-index-99", {"class_name": "Functional", "config": {"name": "m", "layers": base_functional()["config"]["layers"], "input_layers": [["input_1", 0, 0]], "output_layers": [["dense", 99, 99]]}})
    # a diamond 25 levels deep: every node reached 2^25 ways
    layers = [inp, fentry(k2_conv(), node(("input_1", 0, 0)))]
    prev = "conv2d"
    for i in range(40):
        layers.append(fentry({"class_name": "ReLU", "config": {"name": f"a{i}", "dtype": "float32"}}, node((prev, 0, 0))))
        layers.append(fentry({"class_name": "ReLU", "config": {"name": f"b{i}", "dtype": "float32"}}, node((prev, 0, 0))))
        layers.append(fentry({"class_name": "Add", "config": {"name": f"s{i}", "dtype": "float32"}}, node((f"a{i}", 0, 0), (f"b{i}", 0, 0))))
        prev = f"s{i}"
    layers += [fentry(k2_flatten(), node((prev, 0, 0))), dense]
    func("graph-diamonds-40", layers)
    # nested functional 60 deep


def vds_cases(out):
    """Virtual datasets (kernels, biases, optimizer state, image sets)
    mapping a FIFO, a missing file, /dev/zero, another file or the file
    itself, some with an unlimited dimension (then H5Dget_space() opens
    the source); external storage in a FIFO."""
    fifo = os.path.join(out, "vds-fifo.h5")
    base = sequential(base_layers())
    def vds_make(g, n, source, path="/k", shape=(4,), maxshape=None, dtype=np.float32):
        layout = h5py.VirtualLayout(shape=shape, dtype=dtype, maxshape=maxshape)
        if maxshape is not None and None in maxshape:
            src = h5py.VirtualSource(source, path, shape=shape, maxshape=maxshape)
            layout[:h5py.h5s.UNLIMITED] = src[:h5py.h5s.UNLIMITED]
        else:
            layout[...] = h5py.VirtualSource(source, path, shape=shape)
        g.create_virtual_dataset(n, layout, fillvalue=0)
    def k2(name, tweak):
        write_k2(os.path.join(out, f"k2-{name}.h5"), base, base_weights(), tweak=tweak)
    def bias_vds(f):
        del f["model_weights/conv2d/conv2d/bias:0"]
        vds_make(f["model_weights/conv2d/conv2d"], "bias:0", fifo)
    k2("weights-vds-bias-fifo", bias_vds)
    def other_vds(f):
        vds_make(f.create_group("optimizer_weights"), "iterations:0", fifo, dtype=np.int64)
    k2("weights-vds-optimizer-fifo", other_vds)
    def unlimited(f):
        del f["model_weights/conv2d/conv2d/bias:0"]
        vds_make(f["model_weights/conv2d/conv2d"], "bias:0", fifo, shape=(4,), maxshape=(None,))
    k2("weights-vds-unlimited-fifo", unlimited)
    with h5py.File(os.path.join(out, "raw-vds-fifo.h5"), "w") as f:
        vds_make(f, "w", fifo, shape=(8,))
        f["v"] = np.ones(8, np.float32)
    n = 20
    x = RNG.random((n, 28, 28, 1)).astype(np.float32)
    y = (np.arange(n) % 10).astype(np.int32)
    with h5py.File(os.path.join(out, "img-x-vds-fifo.h5"), "w") as f:
        vds_make(f, "x", fifo, shape=(n, 28, 28, 1))
        f["y"] = y
    with h5py.File(os.path.join(out, "img-y-vds-fifo.h5"), "w") as f:
        f["x"] = x
        vds_make(f, "y", fifo, shape=(n,), dtype=np.int32)
    with h5py.File(os.path.join(out, "img-x-vds-unlimited.h5"), "w") as f:
        vds_make(f, "x", fifo, shape=(n, 28, 28, 1), maxshape=(None, 28, 28, 1))
        f["y"] = y


def vlen_shared_cases(out):
    """4,000 variable-length strings (layer_names, weight_names,
    model_config) all naming one 4 MiB heap object: 16 GB of text from a
    4 MB file."""
    BIG = 4 << 20
    N = 4000


    def big(first):
        return first * (BIG // len(first))


    def shared_vlen(where, name, first):
        def tweak(f):
            values = [big(first)] + ["x%d" % i for i in range(N - 1)]
            f[where].attrs.create(name, data=np.array(values, dtype=object), dtype=h5py.string_dtype())
        return tweak


    def point_all_at_first(path, first):
        # each element in the file: its length (4 bytes), then a heap ID
        data = bytearray(open(path, "rb").read())
        head = struct.pack("<I", len(big(first)))
        at = data.find(head)
        while at >= 0 and data[at + 16: at + 20] != struct.pack("<I", 2):
            at = data.find(head, at + 1)
        assert at >= 0
        for i in range(1, N):
            data[at + 16 * i: at + 16 * (i + 1)] = data[at:at + 16]
        open(path, "wb").write(data)


    for tag, where, attr, first in [("layer-names", "model_weights", "layer_names", "conv2d"),
                                    ("weight-names", "model_weights/conv2d", "weight_names", "conv2d/kernel:0"),
                                    ("model-config", "/", "model_config", "{}")]:
        path = os.path.join(out, f"k2-{tag}-shared-vlen-16g.h5")
        write_k2(path, sequential(base_layers()), base_weights(), tweak=shared_vlen(where, attr, first))
        point_all_at_first(path, first)


def vlen_seq_cases(out):
    """Variable-length sequences of float64 (not strings) stating far more
    than the file stores, as attributes and datasets export copies:
    4,000 elements naming one 4 MiB heap object (16 GiB), one outer
    sequence of 4,000 inner ones doing the same, one element stating
    2^31 - 1 values, a copied int dataset holding such an attribute; and
    one element stating fewer values than its heap object holds (libhdf5
    1.10 copies the whole object into a buffer sized by the stated length:
    a heap overflow inside libhdf5, caught as a crash). Compound members
    are left to test-hostile-engine (h5py converts them one by one,
    minutes for these sizes)."""
    BIG = 1 << 19
    N = 4000
    seq = h5py.vlen_dtype(np.float64)

    def sequences(n, first):
        a = np.empty(n, dtype=object)
        a[0] = np.zeros(first)
        for i in range(1, n):
            a[i] = np.ones(2)
        return a

    def is_element(data, at, length):
        # the file form: length (4 bytes), heap address (8), index (4)
        if at < 0 or at + 16 > len(data):
            return False
        stated, address, index = struct.unpack("<IQI", data[at:at + 16])
        return stated == length and 0 < address < len(data) and index < 100000

    def find_element(data, length, next_length=None):
        at = data.find(struct.pack("<I", length))
        while at >= 0 and not (is_element(data, at, length)
                               and (next_length is None or is_element(data, at + 16, next_length))):
            at = data.find(struct.pack("<I", length), at + 1)
        assert at >= 0
        return at

    def share(path, n):
        data = bytearray(open(path, "rb").read())
        at = find_element(data, BIG, 2)
        for i in range(1, n):
            data[at + 16 * i: at + 16 * (i + 1)] = data[at:at + 16]
        open(path, "wb").write(data)

    def state(path, length, stated):
        data = bytearray(open(path, "rb").read())
        at = find_element(data, length)
        data[at:at + 4] = struct.pack("<I", stated)
        open(path, "wb").write(data)

    def write(name, tweak):
        path = os.path.join(out, name)
        write_k2(path, sequential(base_layers()), base_weights(), tweak=tweak)
        return path

    for where in ("attr", "dataset"):
        def put(f, value, dtype, where=where):
            if where == "attr":
                f["model_weights"].attrs.create("extra", value, dtype=dtype)
            else:
                f["model_weights"].create_dataset("extra", data=value, dtype=dtype)

        share(write(f"k2-vlen-seq-{where}-shared-16g.h5", lambda f, put=put: put(f, sequences(N, BIG), seq)), N)
        state(write(f"k2-vlen-seq-{where}-stated-2g.h5", lambda f, put=put: put(f, sequences(1, 12345), seq)),
              12345, (1 << 31) - 1)
        state(write(f"k2-vlen-seq-{where}-understated.h5", lambda f, put=put: put(f, sequences(1, 77777), seq)),
              77777, 1)

        def nested(f, put=put):
            outer = np.empty(1, dtype=object)
            outer[0] = sequences(N, BIG)
            put(f, outer, h5py.vlen_dtype(seq))
        share(write(f"k2-vlen-seq-{where}-nested-16g.h5", nested), N)

    def on_copied(f):
        d = f["model_weights"].create_dataset("counts", data=np.arange(10, dtype=np.int64))
        d.attrs.create("extra", sequences(N, BIG), dtype=seq)
    share(write("k2-vlen-seq-copied-attr-16g.h5", on_copied), N)


def img_more_cases(out):
    """HDF5 image sets: scale/mean of 1e300, 0, no dataspace, array,
    compound and enum types; labels of enum, bool, float16, N x 1, one-hot
    N x 10, rank 3, scalar; pixels of no dataspace, opaque, enum, array
    types, NCHW shapes, 1x1, 2^62 pixels, dims past 2^64, x a link to y or
    the same dataset, a named type, a damaged Fletcher-32 checksum,
    scale-offset, one-pixel chunks."""
    RNG = np.random.default_rng(9)
    n = 20
    x = RNG.random((n, 28, 28, 1)).astype(np.float32)
    y = (np.arange(n) % 10).astype(np.int32)
    def img(name, build):
        with h5py.File(os.path.join(out, f"img-{name}.h5"), "w") as f:
            build(f)
    def xy(xv, yv, **kw):
        def b(f):
            if xv is not None: f.create_dataset("x", data=xv, **kw)
            if yv is not None: f.create_dataset("y", data=yv)
        return b
    def with_attrs(**attrs):
        def b(f):
            f["x"] = x; f["y"] = y
            for k, v in attrs.items():
                f["x"].attrs[k] = v
        return b
    img("attr-scale-1e300", with_attrs(scale=np.float64(1e300)))
    img("attr-mean-neg-1e300", with_attrs(mean=np.float64(-1e300)))
    img("attr-scale-zero", with_attrs(scale=np.float64(0.0)))
    img("attr-scale-empty-space", with_attrs(scale=h5py.Empty("f8")))
    img("attr-scale-array-type", lambda f: (xy(x, y)(f), f["x"].attrs.create("scale", data=np.ones((1,), dtype=np.dtype(("f8", (8,)))))))
    img("attr-scale-compound", with_attrs(scale=np.zeros(1, dtype=[("a", "f8")])))
    img("attr-scale-enum", lambda f: (xy(x, y)(f), f["x"].attrs.create("scale", data=np.int8(1), dtype=h5py.enum_dtype({"a": 1}, basetype="i1"))))
    img("attr-scale-int", with_attrs(scale=np.int64(1 << 62)))
    img("y-enum", lambda f: (f.create_dataset("x", data=x), f.create_dataset("y", data=y.astype(np.int8), dtype=h5py.enum_dtype({str(i): i for i in range(10)}, basetype="i1"))))
    img("y-bool", xy(x, (y % 2).astype(bool)))
    img("y-float16", xy(x, y.astype(np.float16)))
    img("y-rank2-n1", xy(x, y.reshape(n, 1)))
    img("y-rank2-n10", xy(x, np.eye(10, dtype=np.int32)[y]))
    img("y-rank3", xy(x, y.reshape(n, 1, 1)))
    img("y-scalar", xy(x, np.int32(1)))
    img("y-empty-space", lambda f: (f.create_dataset("x", data=x), f.create_dataset("y", data=h5py.Empty("i4"))))
    img("x-empty-space", lambda f: (f.create_dataset("x", data=h5py.Empty("f4")), f.create_dataset("y", data=y)))
    img("x-opaque", xy(np.zeros((n, 28, 28, 1), "V4"), y))
    img("x-enum", lambda f: (f.create_dataset("x", data=np.zeros((n, 28, 28, 1), np.int8), dtype=h5py.enum_dtype({"a": 0}, basetype="i1")), f.create_dataset("y", data=y)))
    img("x-array-type", lambda f: (f.create_dataset("x", shape=(n, 28, 28), dtype=np.dtype(("f4", (1,)))), f.create_dataset("y", data=y)))
    img("x-nchw-1x28x28", xy(x.reshape(n, 1, 28, 28), y))
    img("x-nchw-28-28-28", xy(RNG.random((n, 28, 28, 28)).astype(np.float32), y))
    img("x-one-image", xy(x[:1], y[:1]))
    img("x-1x1", xy(np.zeros((n, 1, 1, 1), np.float32), y))
    img("x-huge-hw", lambda f: (f.create_dataset("x", shape=(1, 1 << 31, 1 << 31, 1), dtype=np.uint8, chunks=(1, 1, 1024, 1)), f.create_dataset("y", data=np.zeros(1, np.int32))))
    img("x-dims-overflow", lambda f: (f.create_dataset("x", shape=(1 << 32, 1 << 32, 1, 1), dtype=np.uint8, chunks=(1, 1, 1, 1)), f.create_dataset("y", shape=(1 << 32,), dtype=np.int32, chunks=(1024,))))
    img("x-dims-overflow-c", lambda f: (f.create_dataset("x", shape=(16, 28, 28, 1 << 60), dtype=np.uint8, chunks=(1, 1, 1, 1024)), f.create_dataset("y", data=np.zeros(16, np.int32))))
    img("x-soft-to-y", lambda f: (f.create_dataset("y", data=y), f.__setitem__("x", h5py.SoftLink("/y"))))
    img("x-hard-is-y", lambda f: (f.create_dataset("y", data=np.zeros((n,), np.int32)), f.__setitem__("x", f["y"])))
    img("x-named-type", lambda f: (f.__setitem__("t", np.dtype("f4")), f.create_dataset("x", data=x, dtype=f["t"]), f.create_dataset("y", data=y)))
    def x_fletcher_bad(f):
        f.create_dataset("x", data=x, chunks=(1, 28, 28, 1), fletcher32=True)
        f["y"] = y
    img("x-fletcher", x_fletcher_bad)
    # damage the fletcher checksum of the first chunk
    p = os.path.join(out, "img-x-fletcher.h5")
    with h5py.File(p, "r") as f:
        off = f["x"].id.get_chunk_info(0).byte_offset
    with open(p, "r+b") as fh:
        fh.seek(off + 100); fh.write(b"\xff\xff\xff\xff")
    img("x-nbit", lambda f: (f.create_dataset("x", data=(x * 100).astype(np.int32), chunks=(1, 28, 28, 1), scaleoffset=0), f.create_dataset("y", data=y)))
    img("x-szip-like-filter-id", xy(x, y, chunks=(5, 28, 28, 1), compression="gzip", compression_opts=9, shuffle=True))
    img("x-chunk-1-pixel", xy(x, y, chunks=(1, 1, 1, 1), compression="gzip"))


def scheme_more_cases(out):
    """Scheme files with every field of the wrong type (all at once and one
    by one, in the default and in an override), versions 1.0 and 1e300,
    odd tensors patterns (100,000 stars, 10,000 question marks), 10,000
    skip globs, extreme group sizes and ranges, two documents in one file,
    UTF-16, a NUL, 64 and 65 levels, 4 MiB."""
    # scheme files
    def scheme(name, obj):
        with open(os.path.join(out, f"scheme-{name}.json"), "wb" if isinstance(obj, bytes) else "w") as f:
            f.write(obj if isinstance(obj, (bytes, str)) else json.dumps(obj))
    scheme("base", {"version": 1, "default": {"bits": 8}})
    wrong = {"format": 5, "bits": "x", "mapping": [], "signed": "yes", "narrow": 1, "granularity": None, "axis": "0",
             "range": {}, "rounding": 7, "zero_nudge": "no", "bins": -1, "group_size": 1.5}
    scheme("every-field-wrong", {"version": "1", "default": wrong, "overrides": [dict(wrong, tensors=5)], "skip": "role:bias"})
    for k, v in wrong.items():
        scheme(f"default-{k}-wrong", {"version": 1, "default": {k: v}})
        scheme(f"override-{k}-wrong", {"version": 1, "overrides": [{"tensors": "*", k: v}]})
    scheme("version-float", {"version": 1.0})
    scheme("version-1e300", {"version": 1e300})
    scheme("version-missing", {"default": {"bits": 8}})
    scheme("default-array", {"version": 1, "default": [1]})
    scheme("default-null", {"version": 1, "default": None})
    scheme("unknown-keys", {"version": 1, "default": {"bits": 8, "frobnicate": 1}, "zzz": [1] * 1000})
    scheme("tensors-empty-array", {"version": 1, "overrides": [{"tensors": [], "bits": 4}]})
    scheme("tensors-empty-string", {"version": 1, "overrides": [{"tensors": "", "bits": 4}]})
    scheme("tensors-array-junk", {"version": 1, "overrides": [{"tensors": ["*", 5, None, ["x"]], "bits": 4}]})
    scheme("tensors-role-unknown", {"version": 1, "overrides": [{"tensors": "role:frob", "bits": 4}], "skip": ["role:"]})
    scheme("tensors-100k-stars", {"version": 1, "overrides": [{"tensors": "*" * 100000, "bits": 4}]})
    scheme("tensors-question-10k", {"version": 1, "overrides": [{"tensors": "?" * 10000 + "*" * 100 + "x", "bits": 4}]})
    scheme("skip-10k", {"version": 1, "skip": [f"/nope{i}/*" + "*?" * 20 for i in range(10000)]})
    scheme("group-65536-bits2", {"version": 1, "default": {"granularity": "group", "group_size": 65536, "bits": 2}})
    scheme("group-1-kl", {"version": 1, "default": {"granularity": "group", "group_size": 1, "range": "kl", "bins": 65536}})
    scheme("block-group-huge", {"version": 1, "default": {"format": "mxfp4", "group_size": 65536}})
    scheme("nf4-group-1", {"version": 1, "default": {"format": "nf4", "group_size": 1}})
    scheme("percentile-50", {"version": 1, "default": {"range": "percentile:50"}})
    scheme("percentile-50.0000001", {"version": 1, "default": {"range": "percentile:50.0000001"}})
    scheme("percentile-hex", {"version": 1, "default": {"range": "percentile:0x1p6"}})
    scheme("manual-equal", {"version": 1, "default": {"range": "manual:1,1", "mapping": "asymmetric"}})
    scheme("manual-tiny", {"version": 1, "default": {"range": "manual:-1e-45,1e-45"}})
    scheme("manual-spaces", {"version": 1, "default": {"range": "manual: 1 , 2 "}})
    scheme("manual-three", {"version": 1, "default": {"range": "manual:1,2,3"}})
    scheme("bits-16-kl-asym", {"version": 1, "default": {"bits": 16, "range": "kl", "mapping": "asymmetric", "signed": False}})
    scheme("bits-2-narrow-unsigned", {"version": 1, "default": {"bits": 2, "narrow": True, "signed": False, "mapping": "symmetric"}})
    scheme("axis-int64-min", {"version": 1, "default": {"granularity": "channel", "axis": -(1 << 63)}})
    scheme("axis-float", {"version": 1, "default": {"granularity": "channel", "axis": 1.0}})
    scheme("axis-minus-1-group", {"version": 1, "default": {"granularity": "group", "axis": -1, "group_size": 3}})
    scheme("overrides-nested-null", {"version": 1, "overrides": [None, [], 5, "x"]})
    scheme("skip-null", {"version": 1, "skip": None})
    scheme("skip-object", {"version": 1, "skip": {"a": "b"}})
    scheme("utf16", json.dumps({"version": 1}).encode("utf-16"))
    scheme("nul-after", json.dumps({"version": 1}).encode() + b"\0garbage")
    scheme("two-objects", '{"version": 1}{"version": 1}')
    scheme("deep-64", '{"version": 1, "zz": ' + "[" * 62 + "]" * 62 + "}")
    scheme("deep-65", '{"version": 1, "zz": ' + "[" * 64 + "]" * 64 + "}")
    scheme("big-number", '{"version": 1, "default": {"bits": 8' + "0" * 5000 + "}}")
    scheme("exp-number", '{"version": 1, "default": {"bits": 8e0}}')
    scheme("neg-zero-bits", '{"version": 1, "default": {"bits": -0}}')
    scheme("ws-4m", " " * (4 << 20) + "{}")
    scheme("just-under-4m", '{"version": 1, "pad": "' + "a" * ((4 << 20) - 40) + '"}')


def imgdir_more_cases(out):
    """Image folders: PNGs 0 wide or high, 2^31 - 1 wide or high, 65536
    square, palette without PLTE, bad depth or colour type, APNG of 2^31
    frames, IDAT a byte a chunk, no IDAT, a chunk length of 2 GiB, 16-bit
    with tRNS, too many rows, junk sBIT/gAMA/iCCP; JPEGs 0 wide or high,
    SOI only, a 64 KiB EXIF, 12-bit, arithmetic, lossless, 100,000
    comment markers, a huge restart interval; 1000 classes, 255-byte
    class names, a sparse 4 GiB image, a folder linked to /proc/self."""
    png, chunk = png_bytes, png_chunk
    def folder(name, files, classes=("a", "b")):
        root = os.path.join(out, f"imgdir-{name}")
        for c in classes:
            os.makedirs(os.path.join(root, c), exist_ok=True)
            for fn, data in files.items():
                with open(os.path.join(root, c, fn), "wb") as f:
                    f.write(data)
    gray = png(28, 28)
    def ihdr_png(w, h, ct=0, depth=8, body=b""):
        return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, ct, 0, 0, 0)) + body + chunk(b"IEND", b"")
    folder("png-width-zero", {"1.png": ihdr_png(0, 28, body=chunk(b"IDAT", zlib.compress(b"\0" * 28))), "2.png": gray})
    folder("png-height-zero", {"1.png": ihdr_png(28, 0, body=chunk(b"IDAT", zlib.compress(b""))), "2.png": gray})
    folder("png-2-31", {"1.png": ihdr_png((1 << 31) - 1, 1, body=chunk(b"IDAT", zlib.compress(b"\0" * 100))), "2.png": gray})
    folder("png-65536-square", {"1.png": ihdr_png(65536, 65536, body=chunk(b"IDAT", zlib.compress(b"\0" * 100)))})
    folder("png-2-31-tall", {"1.png": ihdr_png(1, (1 << 31) - 1, depth=1, body=chunk(b"IDAT", zlib.compress(b"\0\0" * 1000)))})
    folder("png-palette-no-plte", {"1.png": png(28, 28, 3, 8).replace(b"PLTE", b"pLTE")})
    folder("png-plte-empty", {"1.png": ihdr_png(28, 28, ct=3, body=chunk(b"PLTE", b"") + chunk(b"IDAT", zlib.compress((b"\0" + b"\5" * 28) * 28)))})
    folder("png-bad-depth", {"1.png": ihdr_png(28, 28, ct=2, depth=3, body=chunk(b"IDAT", zlib.compress(b"\0" * 2000)))})
    folder("png-bad-colortype", {"1.png": ihdr_png(28, 28, ct=7, body=chunk(b"IDAT", zlib.compress(b"\0" * 2000)))})
    folder("png-apng-many-frames", {"1.png": ihdr_png(28, 28, body=chunk(b"acTL", struct.pack(">II", (1 << 31) - 1, 0)) + chunk(b"IDAT", zlib.compress((b"\0" * 29) * 28)))})
    folder("png-idat-split-1byte", {"1.png": ihdr_png(28, 28, body=b"".join(chunk(b"IDAT", bytes([c])) for c in zlib.compress((b"\0" * 29) * 28)))})
    folder("png-no-idat", {"1.png": ihdr_png(28, 28)})
    folder("png-chunk-len-huge", {"1.png": b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 28, 28, 8, 0, 0, 0, 0)) + struct.pack(">I", 0x7fffffff) + b"tEXt" + b"a" * 100})
    folder("png-signature-only", {"1.png": b"\x89PNG\r\n\x1a\n"})
    folder("png-16bit-trns", {"1.png": ihdr_png(28, 28, ct=2, depth=16, body=chunk(b"tRNS", b"\0\0\0\0\0\0") + chunk(b"IDAT", zlib.compress((b"\0" + b"\0" * 28 * 6) * 28)))})
    folder("png-extra-rows", {"1.png": ihdr_png(28, 28, body=chunk(b"IDAT", zlib.compress((b"\0" * 29) * 5000)))})
    folder("png-sbit-junk", {"1.png": ihdr_png(28, 28, body=chunk(b"sBIT", b"\xff" * 5) + chunk(b"gAMA", b"\0\0\0\0") + chunk(b"IDAT", zlib.compress((b"\0" * 29) * 28)))})
    folder("png-iccp-bad", {"1.png": ihdr_png(28, 28, body=chunk(b"iCCP", b"x\0\0" + zlib.compress(b"junk" * 100)) + chunk(b"IDAT", zlib.compress((b"\0" * 29) * 28)))})
    try:
        jpg = jpeg_bytes("L")
        if jpg:
            folder("jpeg-zero-width", {"1.jpg": jpeg_with_size(jpg, 0, 28), "2.png": gray})
            folder("jpeg-zero-height", {"1.jpg": jpeg_with_size(jpg, 28, 0), "2.png": gray})
            folder("jpeg-1x1-declared", {"1.jpg": jpeg_with_size(jpg, 1, 1)})
            folder("jpeg-soi-only", {"1.jpg": b"\xff\xd8\xff\xd9"})
            folder("jpeg-exif-bomb", {"1.jpg": jpg[:2] + b"\xff\xe1" + struct.pack(">H", 65535) + b"Exif\0\0MM\0*\0\0\0\x08" + b"\xff\xff" + b"\0" * (65535 - 18) + jpg[2:]})
            folder("jpeg-12bit-sof", {"1.jpg": jpg.replace(b"\xff\xc0\x00\x0b\x08", b"\xff\xc0\x00\x0b\x0c", 1)})
            folder("jpeg-arith", {"1.jpg": jpg.replace(b"\xff\xc0", b"\xff\xc9", 1)})
            folder("jpeg-lossless", {"1.jpg": jpg.replace(b"\xff\xc0", b"\xff\xc3", 1)})
            folder("jpeg-many-markers", {"1.jpg": jpg[:2] + (b"\xff\xfe\x00\x04ab") * 100000 + jpg[2:]})
            folder("jpeg-restart-interval-huge", {"1.jpg": jpg[:2] + b"\xff\xdd\x00\x04\xff\xff" + jpg[2:]})
    except (ImportError, OSError):
        pass  # no PIL: no JPEGs

    # class names
    folder("class-names-10k-long", {"1.png": gray}, classes=("a" * 255, "b" * 255))
    root = os.path.join(out, "imgdir-classes-1000")
    for i in range(1000):
        os.makedirs(os.path.join(root, f"c{i:04d}"), exist_ok=True)
        if i < 3:
            with open(os.path.join(root, f"c{i:04d}", "1.png"), "wb") as f: f.write(gray)
    # a file that is a sparse 4 GiB PNG-named file
    root = os.path.join(out, "imgdir-sparse-4g")
    os.makedirs(os.path.join(root, "a"), exist_ok=True)
    with open(os.path.join(root, "a", "1.png"), "wb") as f:
        f.write(gray); f.truncate(4 << 30)
    # hard to see: image folder that is a symlink to /
    if not os.path.lexists(os.path.join(out, "imgdir-link-to-proc")):
        os.symlink("/proc/self", os.path.join(out, "imgdir-link-to-proc"))


def k3_more_cases(out):
    """.keras archives: entry names holding a NUL, invalid UTF-8, 1024 and
    1025 bytes; model.weights.h5 an empty zip; a stored entry whose sizes
    differ, deflate data with trailing bytes or inflating to nothing;
    model.weights.h5 with an unlimited virtual dataset and an external
    link to a FIFO."""
    # .keras oddities
    cfg, var = k3_base()
    k3w = h5_bytes(cfg["class_name"], cfg["config"]["layers"], var)
    meta = b'{"keras_version": "3.3.3"}'
    c = json.dumps(cfg).encode()
    def zraw(name, entries):
        zip_entries_raw(os.path.join(out, f"k3-{name}.keras"), entries)
    def e(name, data, method=0, crc=None, size=None, extra=b""):
        return (name, data, method, zlib.crc32(data) if crc is None else crc, len(data) if size is None else size, extra)
    zraw("name-nul", [e("metadata.json", meta), e("config.json\0evil", c), e("config.json", c), e("model.weights.h5", k3w)])
    zraw("name-invalid-utf8", [e("metadata.json", meta), e(b"\xff\xfe.json", c), e("config.json", c), e("model.weights.h5", k3w)])
    zraw("name-1024", [e("metadata.json", meta), e("a" * 1024, b"x"), e("config.json", c), e("model.weights.h5", k3w)])
    zraw("name-1025", [e("metadata.json", meta), e("a" * 1025, b"x"), e("config.json", c), e("model.weights.h5", k3w)])
    zraw("weights-is-keras", [e("metadata.json", meta), e("config.json", c), e("model.weights.h5", b"PK\x05\x06" + b"\0" * 18)])
    zraw("stored-size-mismatch", [e("metadata.json", meta), ("config.json", c, 0, zlib.crc32(c), len(c) + 10, b""), e("model.weights.h5", k3w)])
    zraw("deflate-trailing", [e("metadata.json", meta), ("config.json", zlib.compress(c)[2:-4] + b"\0" * 50, 8, zlib.crc32(c), len(c), b""), e("model.weights.h5", k3w)])
    zraw("deflate-zero-size", [e("metadata.json", meta), ("config.json", zlib.compress(b"")[2:-4], 8, 0, 0, b""), e("model.weights.h5", k3w)])
    # weights h5 with a VDS to a fifo and an external link inside the archive
    import h5py
    fifo = os.path.join(out, "k3-fifo")
    if not os.path.lexists(fifo):
        os.mkfifo(fifo)
    buf = io.BytesIO()
    with h5py.File(buf, "w") as h5:
        h5.create_group("vars")
        h5["layers/conv2d/vars/1"] = var["conv2d"][1]
        lay = h5py.VirtualLayout(shape=(3, 3, 1, 4), dtype=np.float32, maxshape=(None, 3, 1, 4))
        src = h5py.VirtualSource(fifo, "/k", shape=(3, 3, 1, 4), maxshape=(None, 3, 1, 4))
        lay[:h5py.h5s.UNLIMITED] = src[:h5py.h5s.UNLIMITED]
        h5["layers/conv2d/vars"].create_virtual_dataset("0", lay)
        h5.create_group("layers/flatten/vars")
        h5["layers/dense/vars/0"] = var["dense"][0]
        h5["layers/dense/vars/1"] = h5py.ExternalLink(fifo, "/b")
    zraw("weights-in-memory-vds", [e("metadata.json", meta), e("config.json", c), e("model.weights.h5", buf.getvalue())])


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    out = sys.argv[1]
    kinds = sys.argv[2].split(",") if len(sys.argv) == 3 else None
    os.makedirs(out, exist_ok=True)
    for kind, cases in [("k2", keras2_cases), ("k3", keras3_cases), ("img", image_cases), ("scheme", scheme_cases),
                        ("raw", raw_cases), ("imgdir", folder_cases), ("img-bombs", image_set_bombs),
                        ("zip-bombs", zip_bomb_cases), ("scheme-special", special_scheme_cases),
                        ("k2-types", k2_types_cases), ("vds", vds_cases), ("vlen-shared", vlen_shared_cases),
                        ("vlen-seq", vlen_seq_cases),
                        ("img-more", img_more_cases), ("scheme-more", scheme_more_cases),
                        ("imgdir-more", imgdir_more_cases), ("k3-more", k3_more_cases)]:
        if kinds is None or kind in kinds:
            cases(out)


if __name__ == "__main__":
    main()
