#!/usr/bin/python3
# make_block_engine_golden.py: a small Keras 2 CNN and the integer inference of its block-format weights, for the engine's test.
# SPDX-License-Identifier: GPL-3.0-or-later
"""Golden data for tests/engine/test-block-engine.c (issue 12, section 2:
block formats in the engine, weights only; activations stay 8-bit codes).

How to run (needs Debian's python3-torch, python3-numpy, python3-h5py and
dataset-fashion-mnist; /usr/bin/python3 sees torch):

    /usr/bin/python3 tests/reference/make_block_engine_golden.py

Reads   /usr/share/datasets/fashion-mnist/train-*-ubyte.gz   (training)
        data/fashion-mnist/t10k-images-idx3-ubyte.gz         (the scored images)
        data/fashion-mnist/calibration-images-idx3-ubyte.gz  (activation ranges)
Writes  tests/data/block-engine/model.h5        Keras 2 Sequential model
        tests/data/block-engine/reference.json

THE MODEL (28x28x1 input, x = float32(pixel) / 255)
  conv1  Conv2D 8 filters 3x3 stride 2 'same' ReLU   k = 9
  conv2  Conv2D 12 filters 3x3 stride 2 'same' ReLU  k = 72 (32 + 32 + 8: a short last block)
  dw     DepthwiseConv2D 3x3 multiplier 2 'valid' ReLU (12 -> 24 channels; k = 9 taps)
  flat   Flatten (NHWC order)
  dense  Dense 10, linear (k = 600 = 18 x 32 + 24 = 37 x 16 + 8)
  trained a few hundred steps with PyTorch (TF's 'same' padding: the
  extra row and column at the bottom and right).

THE WEIGHTS, quantized from the definitions with the numpy code of
tests/reference/make_block_golden.py (OCP MX v1.0, NVIDIA's NVFP4, QLoRA's
NF4, PyTorch's observer formulas for integer groups; none of Quantscope's C):
blocks run along each output channel's reduction axis in the engine's order
(Conv2D: the (ky, kx, ci) taps; depthwise: the kh * kw taps of one channel,
so a block of 32 or 16 covers a whole 3x3 channel; Dense: the inputs).

THE ACTIVATIONS: uint8 asymmetric per tensor, zero point nudged (the
engine's default activation scheme), ranges = min / max of the float64
model over the first 256 calibration images, written into the reference as
float32 (the test gives the engine these ranges, so both start from the same
quantizers). scale = float32(max_pos - min_neg) / 255, zero point =
-rint(min_neg / scale) (torch.ao's observer, in float32). The input is
quantized as rint(x * float32(1 / scale)) + zero point.

THE INTEGER INFERENCE (formats whose elements are integers times a power of
two: MXINT8 (int8 / 64), MXFP4 and NVFP4 (E2M1 x 2 = 0..12), MXFP6 E2M3
(x 8 = up to 60), MXFP6 E3M2 (x 16 = up to 448: int16 weights, the
"int16-groupwise" kernel), and 4-bit integer groups):
  each block's integers q and scale s / unit; per output and block, the
  exact integer sum of (a - z_a) (q - z_q) over the block's taps (padding
  reads z_a), rescaled and accumulated in float32 in block order:
      y = bias;  y = y + (s_a * s_block) * float(sum)
  (XNNPACK's blockwise scheme: per-block scales cannot share one int32
  sum, so the requantization is the float32 one of numerics.md section 3,
  not TFLite's fixed-point multiplier); then ReLU, and the output code
  clamp(rint(y / s_out + z_out), z_out (ReLU) or 0, 255), half to even.
  These steps are exact in numpy's float32, so the engine must match the
  codes bit for bit. As a check of the integer path itself, each integer
  format's layer codes are also computed in float64 on the dequantized
  input codes and the reconstructed weights (the float-weight formats'
  reference below): the two may differ by one code where a value lies on a
  rounding boundary (float32 rescaling per block against one float64 sum),
  never by more; the script asserts it and prints how many are equal.

THE FLOAT-WEIGHT FORMATS (MXFP8 E4M3 and E5M2, NF4: element values that
are not 8- or 16-bit integers): each layer in float64 on the
dequantized input codes and the reconstructed weights, then the same
output quantization. The engine sums in float32 in its own order, so a code
on a rounding boundary may differ by one: the test checks these per layer
(the layer's reference input codes in, its codes out) within one code.

reference.json: per format, per weighted layer the input and output codes
of the first PER_LAYER images (base64 of uint8, NHWC), the expected kernel
("int8-groupwise", "int16-groupwise" or "float-weights") and weight width
(8, 16 or 32 bits), each value's scale (float32 bits)
and zero point; for the integer formats the logit codes and predictions of
the first N_SCORED test images.
"""

import base64
import json
import math
import os
import struct
import sys

import h5py
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import engine_reference as ref  # noqa: E402  (idx reader)
import make_block_golden as blk  # noqa: E402  (the formats, from their definitions)

OUT_DIR = os.path.join(ROOT, "tests", "data", "block-engine")
DEBIAN = "/usr/share/datasets/fashion-mnist"
KERAS_VERSION = "2.11.0"
N_CALIB = 256
N_SCORED = 256
PER_LAYER = 4
STEPS = 400
f32 = np.float32

# name: (format, bits, mapping, group size, integer path)
FORMATS = [
    ("mxint8", "mxint8", 8, "symmetric", 32, True),
    ("mxfp4", "mxfp4", 4, "symmetric", 32, True),
    ("nvfp4", "nvfp4", 4, "symmetric", 16, True),
    ("mxfp6-e2m3", "mxfp6-e2m3", 6, "symmetric", 32, True),
    ("mxfp6-e3m2", "mxfp6-e3m2", 6, "symmetric", 32, True),
    ("int4-group4-asymmetric", "int", 4, "asymmetric", 4, True),
    ("mxfp8-e4m3", "mxfp8-e4m3", 8, "symmetric", 32, False),
    ("mxfp8-e5m2", "mxfp8-e5m2", 8, "symmetric", 32, False),
    ("nf4", "nf4", 4, "symmetric", 64, False),
]
# Element values times UNIT are integers of at most BOUND in magnitude:
# int8 weights, but for E3M2's int16 ones.
UNIT = {"mxint8": 64, "mxfp4": 2, "nvfp4": 2, "mxfp6-e2m3": 8, "mxfp6-e3m2": 16}
BOUND = {"mxint8": 127, "mxfp4": 12, "nvfp4": 12, "mxfp6-e2m3": 60, "mxfp6-e3m2": 448}
MX_ELEMENT = {"mxfp4": "e2m1", "mxfp6-e2m3": "e2m3", "mxfp6-e3m2": "e3m2",
              "mxfp8-e4m3": "e4m3", "mxfp8-e5m2": "e5m2"}


def f32_bits(x):
    return struct.unpack("<I", struct.pack("<f", float(x)))[0]


def b64(codes):
    return base64.b64encode(np.ascontiguousarray(codes, dtype=np.uint8).tobytes()).decode("ascii")


# ------------------------------------------------------------------ the model

def tf_same(n, k, s):
    total = max((math.ceil(n / s) - 1) * s + k - n, 0)
    return total // 2, total - total // 2


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, 2)
        self.conv2 = nn.Conv2d(8, 12, 3, 2)
        self.dw = nn.Conv2d(12, 24, 3, 1, groups=12)
        self.dense = nn.Linear(600, 10)

    def forward(self, x):
        t, b = tf_same(28, 3, 2)
        x = F.relu(self.conv1(F.pad(x, (t, b, t, b))))
        t, b = tf_same(14, 3, 2)
        x = F.relu(self.conv2(F.pad(x, (t, b, t, b))))
        x = F.relu(self.dw(x))
        return self.dense(x.permute(0, 2, 3, 1).reshape(x.shape[0], -1))


def train(xtr, ytr):
    torch.manual_seed(20261205)
    torch.set_num_threads(1)
    net = Net()
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(7)
    for _ in range(STEPS):
        idx = torch.randint(0, xtr.shape[0], (128,), generator=g)
        loss = F.cross_entropy(net(xtr[idx]), ytr[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return net


def keras_weights(net):
    """Kernels in Keras layouts (float32) and biases."""
    sd = {k: v.detach().numpy().astype(np.float32) for k, v in net.state_dict().items()}
    dw = sd["dw.weight"].reshape(12, 2, 3, 3)                     # [ci][m][ky][kx]
    return {
        "conv1": (sd["conv1.weight"].transpose(2, 3, 1, 0).copy(), sd["conv1.bias"]),
        "conv2": (sd["conv2.weight"].transpose(2, 3, 1, 0).copy(), sd["conv2.bias"]),
        "dw": (dw.transpose(2, 3, 0, 1).copy(), sd["dw.bias"]),   # (kh, kw, in, multiplier)
        "dense": (sd["dense.weight"].T.copy(), sd["dense.bias"]),
    }


def layer_config(cls, name, **config):
    base = {"name": name, "trainable": True, "dtype": "float32"}
    base.update(config)
    return {"class_name": cls, "config": base}


def conv_config(name, filters, strides, padding):
    return layer_config("Conv2D", name, filters=filters, kernel_size=[3, 3], strides=[strides, strides],
                        padding=padding, data_format="channels_last", dilation_rate=[1, 1], groups=1,
                        activation="relu", use_bias=True)


def save_keras(weights, path):
    layers = [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 28, 28, 1], "dtype": "float32",
                                                "sparse": False, "ragged": False, "name": "input_1"}},
        conv_config("conv1", 8, 2, "same"),
        conv_config("conv2", 12, 2, "same"),
        layer_config("DepthwiseConv2D", "dw", kernel_size=[3, 3], strides=[1, 1], padding="valid",
                     data_format="channels_last", dilation_rate=[1, 1], activation="relu", use_bias=True,
                     depth_multiplier=2),
        layer_config("Flatten", "flat", data_format="channels_last"),
        layer_config("Dense", "dense", units=10, activation="linear", use_bias=True),
    ]
    config = {"class_name": "Sequential", "config": {"name": "sequential", "layers": layers}}
    names = ["conv1", "conv2", "dw", "flat", "dense"]
    tmp = path + ".tmp"
    with h5py.File(tmp, "w") as f:
        f.attrs["backend"] = "tensorflow"
        f.attrs["keras_version"] = KERAS_VERSION
        f.attrs["model_config"] = json.dumps(config)
        g = f.create_group("model_weights")
        g.attrs["layer_names"] = np.array([n.encode("utf8") for n in names])
        g.attrs["backend"] = "tensorflow"
        g.attrs["keras_version"] = KERAS_VERSION
        for n in names:
            lg = g.create_group(n)
            ws = []
            if n in weights:
                kernel = "depthwise_kernel" if n == "dw" else "kernel"
                ws = [(f"{n}/{kernel}:0", weights[n][0]), (f"{n}/bias:0", weights[n][1])]
            lg.attrs["weight_names"] = np.array([w.encode("utf8") for w, _ in ws]) if ws else np.asarray([])
            for w, arr in ws:
                lg.create_dataset(w, data=arr)
    os.replace(tmp, path)


# ------------------------------------------------------------------ the layers, on NHWC arrays

LAYERS = [  # name, kind, stride, padding
    ("conv1", "conv", 2, "same"),
    ("conv2", "conv", 2, "same"),
    ("dw", "depthwise", 1, "valid"),
    ("dense", "dense", 1, None),
]


def windows(x, k, s, padding, fill):
    """(N, OH, OW, k*k, C): each output's taps in (ky, kx) order; padding reads @fill."""
    n, h, w, c = x.shape
    if padding == "same":
        (t, b), (l, r) = tf_same(h, k, s), tf_same(w, k, s)
    else:
        t = b = l = r = 0
    xp = np.full((n, h + t + b, w + l + r, c), fill, dtype=x.dtype)
    xp[:, t:t + h, l:l + w, :] = x
    oh, ow = (h + t + b - k) // s + 1, (w + l + r - k) // s + 1
    taps = [xp[:, ky:ky + s * oh:s, kx:kx + s * ow:s, :] for ky in range(k) for kx in range(k)]
    return np.stack(taps, axis=3)


def layer_rows(name, x, fill):
    """The layer's reduction rows: (M, K) for Conv2D / Dense (im2col order ky, kx, ci),
    (N, OH, OW, taps, C * multiplier) for the depthwise layer; and the output shape."""
    _, kind, s, padding = next(L for L in LAYERS if L[0] == name)
    if kind == "dense":
        return x.reshape(x.shape[0], -1), (x.shape[0], 10)
    win = windows(x, 3, s, padding, fill)
    n, oh, ow = win.shape[:3]
    if kind == "depthwise":
        return np.repeat(win, 2, axis=4), (n, oh, ow, x.shape[3] * 2)
    return win.reshape(n * oh * ow, -1), (n, oh, ow, -1)


def float_layer(name, x, kernel, bias):
    """Float64 layer (ReLU where the model has it) on real inputs."""
    rows, shape = layer_rows(name, x, 0.0)
    if name == "dw":
        y = np.einsum("nhwtc,tc->nhwc", rows, kernel.reshape(9, -1)) + bias
    else:
        y = rows @ kernel.reshape(rows.shape[1], -1) + bias
    y = y.reshape(shape) if name != "dense" else y
    return np.maximum(y, 0.0) if name != "dense" else y


def float_model(weights, x):
    """Every weighted layer's float64 output on images x (N, 28, 28, 1)."""
    outs = {}
    for name, _, _, _ in LAYERS:
        x = float_layer(name, x, weights[name][0].astype(np.float64), weights[name][1].astype(np.float64))
        outs[name] = x
    return outs


# ------------------------------------------------------------------ activation quantizers

def act_params(lo, hi):
    """torch.ao's affine quint8 observer in float32, zero point nudged (numerics.md section 2)."""
    min_neg, max_pos = min(f32(lo), f32(0.0)), max(f32(hi), f32(0.0))
    scale = f32(f32(max_pos - min_neg) / f32(255.0))
    scale = max(scale, f32(2.0 ** -23))
    zp = int(np.clip(0 - np.rint(f32(min_neg / scale)), 0, 255))
    return scale, zp


def quantize_input(x, scale, zp):
    inv = f32(f32(1.0) / scale)
    v = np.clip((x.astype(np.float32) * inv).astype(np.float32), f32(0 - zp), f32(255 - zp))
    return (np.rint(v) + zp).astype(np.int64)


def quantize_output(y, scale, zp, relu):
    """The engine's store: clamp (ReLU), then rint(y / scale + zp) in float32, clamped to the codes."""
    y = y.astype(np.float32)
    if relu:
        y = np.where(y < f32(0.0), f32(0.0), y)
    v = np.rint((y / f32(scale)).astype(np.float32) + f32(zp))
    return np.clip(v, zp if relu else 0, 255).astype(np.int64)


# ------------------------------------------------------------------ weights per format

def quantize_blocks(fmt, bits_, mapping, G, kernel2d):
    """kernel2d (K, N): per column (output channel) blocks of G consecutive rows.
    Returns the reconstruction (K, N) float32, and for the integer formats
    integers (K, N), block scales (N, groups) float32 and zero points (N, groups)."""
    K, N = kernel2d.shape
    groups = (K + G - 1) // G
    recon = np.zeros((K, N), dtype=np.float32)
    ints = np.zeros((K, N), dtype=np.int64)
    scales = np.zeros((N, groups), dtype=np.float32)
    zps = np.zeros((N, groups), dtype=np.int64)
    amax_t = f32(np.max(np.abs(kernel2d)))
    tensor_scale = f32(amax_t / f32(448.0 * 6.0))
    blocks = [(c, g, kernel2d[g * G:(g + 1) * G, c]) for c in range(N) for g in range(groups)]
    if fmt == "int":
        results, _, _ = blk.int_groups([x for _, _, x in blocks], bits_, mapping)
    for i, (c, g, x) in enumerate(blocks):
        rows = slice(g * G, g * G + len(x))
        if fmt == "int":
            codes, s, zp, r, _ = results[i]
            ints[rows, c], scales[c, g], zps[c, g] = codes, s, zp
        elif fmt == "nf4":
            _, s, r = blk.nf4_block(x)
        else:
            if fmt == "nvfp4":
                codes, s, _, r, _ = blk.nvfp4_block(x, tensor_scale)
                el = blk.E["e2m1"]
            else:
                codes, s, _, r, _ = blk.mx_block(fmt, x)
                el = blk.E.get(MX_ELEMENT.get(fmt))
            if fmt in UNIT:
                values = [c_ / 64.0 for c_ in codes] if fmt == "mxint8" else [el.decode(c_) for c_ in codes]
                q = np.array([v * UNIT[fmt] for v in values])
                assert np.all(q == np.rint(q)) and np.all(np.abs(q) <= BOUND[fmt]), fmt
                ints[rows, c] = q.astype(np.int64)
                scales[c, g] = f32(f32(s) / f32(UNIT[fmt]))
                assert f32(scales[c, g] * f32(UNIT[fmt])) == f32(s)
        recon[rows, c] = np.asarray(r, dtype=np.float32)
    if fmt == "int" or fmt in UNIT:
        # The integer form is the reconstruction itself (up to the sign of zero).
        again = ((ints - np.repeat(zps.T, G, axis=0)[:K]).astype(np.float32)
                 * np.repeat(scales.T, G, axis=0)[:K]).astype(np.float32)
        assert np.array_equal(again, recon), fmt
    return recon, ints, scales, zps, G


def quantize_model(weights, fmt, bits_, mapping, G):
    out = {}
    for name, _, _, _ in LAYERS:
        kernel = weights[name][0]
        k2d = kernel.reshape(9, -1) if name == "dw" else kernel.reshape(-1, kernel.shape[-1])
        out[name] = quantize_blocks(fmt, bits_, mapping, G, k2d)
    return out


# ------------------------------------------------------------------ integer inference

def integer_layer(name, codes_in, s_in, z_in, q, bias, s_out, z_out):
    """Per-block int32 sums rescaled in float32, as the group-wise kernels."""
    _, ints, scales, zps, G = q
    K, N = ints.shape
    groups = scales.shape[1]
    rows, shape = layer_rows(name, codes_in, z_in)
    a = rows - z_in
    s_in = f32(s_in)
    if name == "dw":
        y = np.broadcast_to(bias.astype(np.float32), shape).copy()
    else:
        y = np.broadcast_to(bias.astype(np.float32), (rows.shape[0], N)).copy()
    for g in range(groups):
        t = slice(g * G, min((g + 1) * G, K))
        w = ints[t, :] - zps[:, g]
        if name == "dw":
            total = np.einsum("nhwtc,tc->nhwc", a[:, :, :, t, :], w)
        else:
            total = a[:, t] @ w
        code_sum = w.sum(axis=0)
        assert np.max(np.abs(total)) < 2 ** 31
        part = (s_in * scales[:, g]).astype(np.float32) * (
            total.astype(np.float32) - (f32(0.0) * code_sum.astype(np.float32)))
        y = (y + part.astype(np.float32)).astype(np.float32)
    if name != "dw":
        y = y.reshape(shape) if name != "dense" else y
    return quantize_output(y, s_out, z_out, relu=name != "dense")


def float_weight_layer(name, codes_in, s_in, z_in, q, bias, s_out, z_out):
    real = ((codes_in.astype(np.float32) - f32(z_in)) * f32(s_in)).astype(np.float32)
    recon = q[0].astype(np.float64)
    kernel = recon.reshape(3, 3, -1, 2) if name == "dw" else recon
    y = float_layer(name, real.astype(np.float64), kernel, bias.astype(np.float64))
    return quantize_output(y, s_out, z_out, relu=name != "dense")


def run_integer(qw, params, codes, integer, biases):
    """Every weighted layer's (input codes, output codes)."""
    io = {}
    prev = "input"
    for name, _, _, _ in LAYERS:
        s_in, z_in = params[prev]
        s_out, z_out = params[name]
        fn = integer_layer if integer else float_weight_layer
        out = fn(name, codes, s_in, z_in, qw[name], biases[name], s_out, z_out)
        io[name] = (codes, out)
        codes, prev = out, name
    return io


def float64_agreement(qw, params, io, biases):
    """Each layer's integer-path codes against the float64 layer on the same
    input codes: within one code everywhere; how many are equal, of how many."""
    equal = total = 0
    prev = "input"
    for name, _, _, _ in LAYERS:
        codes_in, want = io[name]
        got = float_weight_layer(name, codes_in, *params[prev], qw[name], biases[name], *params[name])
        assert np.max(np.abs(got - want)) <= 1, name
        equal += int(np.sum(got == want))
        total += want.size
        prev = name
    return equal, total


def kernel_of(fmt, integer):
    """The engine kernel a layer runs on, and its weights' width in bits."""
    if not integer:
        return "float-weights", 32
    return ("int16-groupwise", 16) if BOUND.get(fmt, 0) > 127 else ("int8-groupwise", 8)


# ------------------------------------------------------------------ main

def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    xtr = ref.read_idx(f"{DEBIAN}/train-images-idx3-ubyte.gz")
    ytr = ref.read_idx(f"{DEBIAN}/train-labels-idx1-ubyte.gz")
    xte = ref.read_idx(os.path.join(ROOT, "data/fashion-mnist/t10k-images-idx3-ubyte.gz"))[:N_SCORED]
    yte = ref.read_idx(os.path.join(ROOT, "data/fashion-mnist/t10k-labels-idx1-ubyte.gz"))[:N_SCORED]
    xcal = ref.read_idx(os.path.join(ROOT, "data/fashion-mnist/calibration-images-idx3-ubyte.gz"))[:N_CALIB]

    net = train(ref.to_input(xtr), torch.from_numpy(ytr.astype(np.int64)))
    weights = keras_weights(net)
    path = os.path.join(OUT_DIR, "model.h5")
    save_keras(weights, path)

    def nhwc(images):
        return (images.astype(np.float32) / f32(255.0)).astype(np.float32)[..., None]

    # The file, read back with h5py alone, against PyTorch.
    with h5py.File(path, "r") as f:
        back = {n: (f[f"model_weights/{n}/{n}/{'depthwise_kernel' if n == 'dw' else 'kernel'}:0"][()],
                    f[f"model_weights/{n}/{n}/bias:0"][()]) for n in weights}
    x64 = nhwc(xte).astype(np.float64)
    logits = float_model({n: (k.astype(np.float64), b.astype(np.float64)) for n, (k, b) in back.items()},
                         x64)["dense"]
    with torch.no_grad():
        torch_logits = net(ref.to_input(xte)).double().numpy()
    assert np.max(np.abs(logits - torch_logits)) < 1e-4 * max(1.0, np.max(np.abs(torch_logits)))
    fp32_top1 = float(np.mean(np.argmax(logits, axis=1) == yte))

    # Activation quantizers from the float model's ranges on the calibration images.
    cal = float_model({n: (k.astype(np.float64), b.astype(np.float64)) for n, (k, b) in weights.items()},
                      nhwc(xcal).astype(np.float64))
    ranges = {"input": (f32(0.0), f32(np.max(nhwc(xcal))))}
    ranges.update({n: (f32(np.min(v)), f32(np.max(v))) for n, v in cal.items()})
    params = {n: act_params(lo, hi) for n, (lo, hi) in ranges.items()}
    codes_in = quantize_input(nhwc(xte), *params["input"])
    biases = {n: b for n, (_, b) in weights.items()}

    formats = []
    for name, fmt, bits_, mapping, G, integer in FORMATS:
        qw = quantize_model(weights, fmt, bits_, mapping, G)
        io = run_integer(qw, params, codes_in, integer, biases)
        kernel, weight_bits = kernel_of(fmt, integer)
        entry = {
            "name": name, "format": fmt, "bits": bits_, "mapping": mapping, "group_size": G,
            "integer": integer,
            "layers": [{
                "name": n,
                "kernel": kernel,
                "weight_bits": weight_bits,
                "input_codes": b64(io[n][0][:PER_LAYER]),
                "output_codes": b64(io[n][1][:PER_LAYER]),
            } for n, _, _, _ in LAYERS],
        }
        if integer:
            logit_codes = io["dense"][1]
            entry["logit_codes"] = b64(logit_codes)
            entry["predictions"] = "".join(str(int(p)) for p in np.argmax(logit_codes, axis=1))
            entry["quant_top1"] = float(np.mean(np.argmax(logit_codes, axis=1) == yte))
            equal, total = float64_agreement(qw, params, io, biases)
        formats.append(entry)
        print(f"{name:24s} {kernel:16s}"
              + (f" top-1 {entry['quant_top1']:.3f}, {equal} of {total} layer codes equal to float64's"
                 if integer else ""), file=sys.stderr)

    doc = {
        "model": "model.h5",
        "images": N_SCORED,
        "per_layer_images": PER_LAYER,
        "fp32_top1": fp32_top1,
        "values": [{"name": n, "lo": f32_bits(lo), "hi": f32_bits(hi),
                    "scale": f32_bits(params[n][0]), "zero_point": params[n][1]}
                   for n, (lo, hi) in ranges.items()],
        "formats": formats,
    }
    with open(os.path.join(OUT_DIR, "reference.json"), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print(f"fp32 top-1 {fp32_top1:.3f} on {N_SCORED} images", file=sys.stderr)


if __name__ == "__main__":
    main()
