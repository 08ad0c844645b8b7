#!/usr/bin/python3
# engine_reference.py: PyTorch reference numbers for the int8 inference engine.
# SPDX-License-Identifier: GPL-3.0-or-later
"""Compute the PyTorch reference the engine parity tests check against.

How to run (from the source root; needs Debian's python3-torch, which only
/usr/bin/python3 sees, python3-numpy, python3-h5py, dataset-fashion-mnist):

    /usr/bin/python3 tests/reference/engine_reference.py

Reads   data/models/fashion-cnn.h5           (with h5py only: the Keras
                                              model_config JSON and weights;
                                              nothing from tools/ is imported)
        data/fashion-mnist/t10k-*-ubyte.gz    (the 10,000 scored test images)
        /usr/share/datasets/fashion-mnist/train-*-ubyte.gz
Writes  data/fashion-mnist/calibration-{images-idx3,labels-idx1}-ubyte.gz
                                             (the first 1,000 TRAINING images and
                                              labels, idx format, gzip mtime 0,
                                              no file name: reproducible bytes)
        data/fashion-mnist/SHA256SUMS        (all four shipped files)
        tests/data/engine-reference.json

The output is deterministic (one thread, deterministic algorithms, no
timestamps).  The test suite reads only the committed files.

WHAT IS SIMULATED
  Model: the Keras graph of the .h5 file in channels_last semantics (TF 'same'
  padding with the extra row/column at the bottom/right, NHWC Flatten order),
  input x = float32(pixel) / 255.0f.  BatchNormalization is folded into the
  preceding conv, in float64 then rounded to float32:
      w' = w * gamma / sqrt(var + eps),  b' = (b - mean) * gamma / sqrt(var + eps) + beta
  ReLU (a ReLU layer or a layer's activation="relu") is fused into the conv /
  dense before it.  Dropout is the identity, softmax is dropped (argmax only).

  fp32: that folded graph in float32.  (The unfolded, Keras-exact graph is also
  run; "fp32_bn_unfolded_differences" counts images whose prediction differs.)

  Fake quantization ("quant"), for each weight scheme:
    * weights (folded) are quantized and dequantized with PyTorch's observers
      (float32 formulas: MinMaxObserver / PerChannelMinMaxObserver with the
      scheme's dtype, qscheme, quant_min, quant_max; round half to even,
      torch.fake_quantize_per_{tensor,channel}_affine), per output channel
      where per-channel (Conv2D out, DepthwiseConv2D in*multiplier, Dense out);
    * biases stay float32;
    * the input image and the output of every conv / dense (after the fused
      ReLU; the final dense_1 logits included) are fake-quantized to quint8
      [0, 255], per tensor, asymmetric, with MinMaxObserver qparams (range
      widened to contain 0, scale = (max - min) / 255, zero_point =
      clamp(0 - round(min / scale), 0, 255)) calibrated on the fp32 activations
      of the calibration slice: the first 1,000 Fashion-MNIST TRAINING images
      (shipped as data/fashion-mnist/calibration-*), never a scored image;
    * max pooling needs no requantization (max commutes with the monotone
      quantizer: pooling the codes = pooling the fake-quant values); Flatten is
      a reshape;
    * the prediction is the argmax of the fake-quantized logits; ties (equal
      uint8 codes) go to the lowest class index, as numpy.argmax does.
  All 10,000 test images are scored.

WHAT DIFFERS FROM TRUE INTEGER INFERENCE
  The engine computes each conv / dense as an exact int32 sum of u8 x s8 code
  products, adds an int32 bias quantized with scale s_in * s_w, and
  requantizes with a 32-bit fixed-point multiplier and shift (gemmlowp /
  TFLite rounding).  Here the same codes are multiplied in float32 (error about
  1e-7 relative), the bias is not rounded to the s_in * s_w grid, and the
  output is rounded once, half to even, from x * (1 / s_out) in float32.  So an
  output that lands within about 1e-6 of a rounding boundary can come out one
  code apart.  Such differences are rare and mostly cancel; they change the
  final prediction of a handful of images, which is why the parity test allows
  0.3 percentage points (30 of 10,000 images) between the engine's int8 top-1
  and the quant_top1 here, while fp32 must agree to 2 images.

JSON (tests/data/engine-reference.json): fp32_top1 (fraction), fp32_predictions
(10,000 digits, one per test image, in file order), activations (per quant
point: calibrated min / max as exact float32 values, the PyTorch scale and
zero point), schemes (each with quant_top1, predictions, agreement with fp32,
and per-layer weight and output SQNR in dB; output SQNR is fp32 vs fake-quant
activations of the calibration slice, each path run end to end; null if the
error is exactly 0).
"""

import gzip
import hashlib
import json
import math
import os
import sys

import h5py
import numpy as np
import torch
import torch.nn.functional as F
from torch.ao.quantization.observer import MinMaxObserver, PerChannelMinMaxObserver

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL = "data/models/fashion-cnn.h5"
DATA = "data/fashion-mnist"
DEBIAN = "/usr/share/datasets/fashion-mnist"
CALIB_N = 1000
OUT = "tests/data/engine-reference.json"

SCHEMES = [
    {"name": "w8-channel-symmetric-narrow",
     "cli": "--bits 8 --mapping symmetric --narrow --granularity channel",
     "granularity": "channel", "qscheme": torch.per_channel_symmetric,
     "quant_min": -127, "quant_max": 127},
    {"name": "w8-tensor-asymmetric",
     "cli": "--bits 8 --mapping asymmetric --granularity tensor",
     "granularity": "tensor", "qscheme": torch.per_tensor_affine,
     "quant_min": -128, "quant_max": 127},
    {"name": "w4-channel-symmetric-narrow",
     "cli": "--bits 4 --mapping symmetric --narrow --granularity channel",
     "granularity": "channel", "qscheme": torch.per_channel_symmetric,
     "quant_min": -7, "quant_max": 7},
]


# ------------------------------------------------------------------ data

def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], "big")
    assert magic >> 8 == 0x08, path
    ndim = magic & 0xFF
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def write_idx(path, arr):
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    header = (0x0800 | arr.ndim).to_bytes(4, "big")
    header += b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    with open(path, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as f:
            f.write(header + arr.tobytes())


def file_digest(path, algo):
    h = hashlib.new(algo)
    with open(path, "rb") as f:
        h.update(f.read())
    return h.hexdigest()


def ship_data():
    """Write the calibration slice and SHA256SUMS; check the test set against Debian."""
    d = os.path.join(ROOT, DATA)
    xtr = read_idx(f"{DEBIAN}/train-images-idx3-ubyte.gz")[:CALIB_N]
    ytr = read_idx(f"{DEBIAN}/train-labels-idx1-ubyte.gz")[:CALIB_N]
    write_idx(os.path.join(d, "calibration-images-idx3-ubyte.gz"), xtr)
    write_idx(os.path.join(d, "calibration-labels-idx1-ubyte.gz"), ytr)
    assert np.array_equal(read_idx(os.path.join(d, "calibration-images-idx3-ubyte.gz")), xtr)
    # The shipped test set must be Debian's bytes: compare with the package's md5sums.
    md5file = "/var/lib/dpkg/info/dataset-fashion-mnist.md5sums"
    if os.path.exists(md5file):
        debian = {}
        for line in open(md5file):
            md5, p = line.split()
            debian[os.path.basename(p)] = md5
        for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
            got = file_digest(os.path.join(d, name), "md5")
            if got != debian[name]:
                sys.exit(f"{DATA}/{name}: md5 {got} differs from Debian's {debian[name]}")
    names = ["calibration-images-idx3-ubyte.gz", "calibration-labels-idx1-ubyte.gz",
             "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    with open(os.path.join(d, "SHA256SUMS"), "w") as f:
        for name in names:
            f.write(f"{file_digest(os.path.join(d, name), 'sha256')}  {name}\n")
    return xtr, ytr


def to_input(images_u8):
    """uint8 N x 28 x 28 -> float32 N x 1 x 28 x 28; x = float32(pixel) / 255.0f."""
    return (torch.from_numpy(images_u8.astype(np.float32)) / 255.0).unsqueeze(1)


# ------------------------------------------------------------------ model from the .h5

def attr_str(v):
    return v.decode("utf8") if isinstance(v, bytes) else str(v)


def attr_list(v):
    return [x.decode("utf8") if isinstance(x, bytes) else str(x) for x in np.asarray(v).ravel()] \
        if np.asarray(v).size else []


def load_keras(path):
    """Return (layer configs, {layer name: {short weight name: float32 array}})."""
    with h5py.File(path, "r") as f:
        cfg = json.loads(attr_str(f.attrs["model_config"]))
        g = f["model_weights"]
        weights = {}
        for lname in attr_list(g.attrs["layer_names"]):
            lg = g[lname]
            ws = {}
            for wname in attr_list(lg.attrs["weight_names"]):
                short = wname.split("/")[-1].split(":")[0]
                ws[short] = np.asarray(lg[wname], dtype=np.float32)
            weights[lname] = ws
    if cfg["class_name"] != "Sequential":
        sys.exit("only Sequential models are handled here")
    return cfg["config"]["layers"], weights


def same_pad(n, k, s):
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    return total // 2, total - total // 2


class Op:
    """One step of the chain: kind in conv / dense / maxpool / flatten."""
    def __init__(self, kind, name, **kw):
        self.kind, self.name = kind, name
        self.fused = []
        self.act = "linear"
        self.__dict__.update(kw)


def build_ops(layers, weights):
    """Turn the Keras layer list into ops; keep the raw BN for the unfolded path."""
    ops = []
    for L in layers:
        cls, c = L["class_name"], L["config"]
        name = c.get("name")
        if cls == "InputLayer":
            assert c["batch_input_shape"][1:] == [28, 28, 1], c
            continue
        if cls in ("Conv2D", "DepthwiseConv2D"):
            assert c.get("data_format", "channels_last") == "channels_last"
            assert c.get("dilation_rate", [1, 1]) == [1, 1]
            w = weights[name]
            if cls == "Conv2D":
                assert c.get("groups", 1) == 1
                k = torch.from_numpy(w["kernel"]).permute(3, 2, 0, 1).contiguous()   # (out,in,kh,kw)
                groups = 1
            else:
                dk = w["depthwise_kernel"]                                         # (kh,kw,in,mult)
                kh, kw, cin, mult = dk.shape
                k = torch.from_numpy(dk).permute(2, 3, 0, 1).reshape(cin * mult, 1, kh, kw).contiguous()
                groups = cin
            b = torch.from_numpy(w["bias"]) if c.get("use_bias", True) else torch.zeros(k.shape[0])
            op = Op("conv", name, weight=k, bias=b, stride=tuple(c["strides"]),
                    padding=c["padding"], groups=groups, keras_class=cls, bn=None)
            op.act = c.get("activation", "linear")
            ops.append(op)
        elif cls == "Dense":
            w = weights[name]
            k = torch.from_numpy(w["kernel"]).t().contiguous()                       # (out,in)
            b = torch.from_numpy(w["bias"]) if c.get("use_bias", True) else torch.zeros(k.shape[0])
            op = Op("dense", name, weight=k, bias=b, keras_class=cls, bn=None)
            op.act = c.get("activation", "linear")
            ops.append(op)
        elif cls == "BatchNormalization":
            prev = ops[-1]
            assert prev.kind in ("conv", "dense") and prev.act == "linear" and prev.bn is None, \
                "BatchNormalization must follow a linear conv/dense"
            assert c["axis"] in ([3], 3, -1, [-1])
            w = weights[name]
            n = prev.weight.shape[0]
            prev.bn = {"gamma": w.get("gamma", np.ones(n, np.float32)),
                       "beta": w.get("beta", np.zeros(n, np.float32)),
                       "mean": w["moving_mean"], "var": w["moving_variance"],
                       "eps": float(c["epsilon"])}
            prev.fused.append(name)
        elif cls in ("ReLU", "Activation"):
            act = "relu" if cls == "ReLU" else c["activation"]
            if cls == "ReLU":
                assert c.get("max_value") is None and not c.get("negative_slope") \
                    and not c.get("threshold"), "only plain ReLU"
            prev = ops[-1]
            assert prev.kind in ("conv", "dense") and prev.act == "linear"
            prev.act = act
            prev.fused.append(name)
        elif cls == "MaxPooling2D":
            assert c["padding"] == "valid"
            ops.append(Op("maxpool", name, pool=tuple(c["pool_size"]), stride=tuple(c["strides"])))
        elif cls == "Flatten":
            ops.append(Op("flatten", name))
        elif cls == "Dropout":
            continue
        else:
            sys.exit(f"unsupported layer class {cls}")
    for op in ops:
        if op.kind in ("conv", "dense"):
            assert op.act in ("linear", "relu", "softmax"), op.act
            op.folded_w, op.folded_b = fold_bn(op)
    return ops


def fold_bn(op):
    if op.bn is None:
        return op.weight, op.bias
    bn = op.bn
    f = bn["gamma"].astype(np.float64) / np.sqrt(bn["var"].astype(np.float64) + bn["eps"])
    w = op.weight.double() * torch.from_numpy(f).reshape(-1, *([1] * (op.weight.dim() - 1)))
    b = (op.bias.double().numpy() - bn["mean"]) * f + bn["beta"]
    return w.float().contiguous(), torch.from_numpy(b).float()


def run_conv(op, x, w, b):
    kh, kw = w.shape[2], w.shape[3]
    if op.padding == "same":
        t, bt = same_pad(x.shape[2], kh, op.stride[0])
        l, r = same_pad(x.shape[3], kw, op.stride[1])
        x = F.pad(x, (l, r, t, bt))
    return F.conv2d(x, w, b, stride=op.stride, groups=op.groups)


def forward(ops, x, *, unfolded=False, wq=None, aq=None, record=None):
    """Run the chain on NCHW x.

    unfolded: Keras-exact BN as a separate op; wq: {op name: fake-quant weight};
    aq: {point name: (scale, zero_point)} fake-quantizes the input and each
    conv/dense output (a point mapped to None stays float); record: {point name: list} receives the activations."""
    def point(name, t):
        if aq is not None and aq.get(name) is not None:
            s, z = aq[name]
            t = torch.fake_quantize_per_tensor_affine(t, s, z, 0, 255)
        if record is not None:
            record.setdefault(name, []).append(t)
        return t
    x = point("input", x)
    for op in ops:
        if op.kind in ("conv", "dense"):
            if unfolded:
                w, b = op.weight, op.bias
            else:
                w = wq[op.name] if wq is not None else op.folded_w
                b = op.folded_b
            x = run_conv(op, x, w, b) if op.kind == "conv" else F.linear(x, w, b)
            if unfolded and op.bn is not None:
                bn = op.bn
                x = F.batch_norm(x, torch.from_numpy(bn["mean"]), torch.from_numpy(bn["var"]),
                                 torch.from_numpy(bn["gamma"]), torch.from_numpy(bn["beta"]),
                                 False, 0.0, bn["eps"])
            if op.act == "relu":
                x = F.relu(x)
            x = point(op.name, x)
        elif op.kind == "maxpool":
            x = F.max_pool2d(x, op.pool, op.stride)
        elif op.kind == "flatten":
            x = x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)   # Keras: NHWC order
    return x


BATCH = 100   # small batches: much faster than 1,000 with oneDNN on one thread


def outputs(ops, x, **kw):
    """The final outputs (logits) for all of x, as numpy."""
    out = []
    with torch.no_grad():
        for i in range(0, x.shape[0], BATCH):
            out.append(forward(ops, x[i:i + BATCH], **kw).numpy())
    return np.concatenate(out)


def activations(ops, x, **kw):
    """{point name: tensor of all of x's activations at that point}."""
    rec = {}
    with torch.no_grad():
        for i in range(0, x.shape[0], BATCH):
            forward(ops, x[i:i + BATCH], record=rec, **kw)
    return {k: torch.cat(v) for k, v in rec.items()}


def predict(ops, x, **kw):
    return np.argmax(outputs(ops, x, **kw), axis=1)   # first maximum on ties


# ------------------------------------------------------------------ quantization

def weight_fake_quant(w, scheme, with_scale=False):
    """Fake-quantized @w; with @with_scale, also the scale of each output channel (axis 0)."""
    if scheme["granularity"] == "channel":
        obs = PerChannelMinMaxObserver(ch_axis=0, dtype=torch.qint8, qscheme=scheme["qscheme"],
                                       quant_min=scheme["quant_min"], quant_max=scheme["quant_max"])
        obs(w)
        s, z = obs.calculate_qparams()
        fq = torch.fake_quantize_per_channel_affine(
            w, s.float(), z.to(torch.int32), 0, scheme["quant_min"], scheme["quant_max"])
        s = s.float()
    else:
        obs = MinMaxObserver(dtype=torch.qint8, qscheme=scheme["qscheme"],
                             quant_min=scheme["quant_min"], quant_max=scheme["quant_max"])
        obs(w)
        s, z = obs.calculate_qparams()
        fq = torch.fake_quantize_per_tensor_affine(
            w, float(s), int(z), scheme["quant_min"], scheme["quant_max"])
        s = torch.full((w.shape[0],), float(s))
    return (fq, s) if with_scale else fq


def sqnr_db(ref, test):
    ref = ref.double()
    err = float(((ref - test.double()) ** 2).sum())
    sig = float((ref ** 2).sum())
    if err == 0.0 or sig == 0.0:
        return None
    return round(10.0 * math.log10(sig / err), 3)


def f32(v):
    """A float32 value as the exactly equal Python float (repr round-trips it)."""
    return float(np.float32(v))


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    os.chdir(ROOT)

    xcal_u8, _ = ship_data()
    xte_u8 = read_idx(f"{DATA}/t10k-images-idx3-ubyte.gz")
    yte = read_idx(f"{DATA}/t10k-labels-idx1-ubyte.gz").astype(np.int64)
    xte, xcal = to_input(xte_u8), to_input(xcal_u8)

    layers, weights = load_keras(MODEL)
    ops = build_ops(layers, weights)
    qops = [op for op in ops if op.kind in ("conv", "dense")]

    # fp32
    fp32_pred = predict(ops, xte)
    fp32_top1 = float((fp32_pred == yte).mean())
    unf_pred = predict(ops, xte, unfolded=True)
    print(f"fp32 top-1 {fp32_top1:.4f}; BN unfolded top-1 {(unf_pred == yte).mean():.4f}, "
          f"{int((unf_pred != fp32_pred).sum())} predictions differ")

    # Calibration: fp32 activations of the calibration slice, min/max per tensor.
    fp32_acts = activations(ops, xcal)
    points = ["input"] + [op.name for op in qops]
    aq, act_json = {}, []
    for p in points:
        obs = MinMaxObserver(dtype=torch.quint8, qscheme=torch.per_tensor_affine,
                             quant_min=0, quant_max=255)
        obs(fp32_acts[p])
        s, z = obs.calculate_qparams()
        aq[p] = (float(s), int(z))
        op = next((o for o in qops if o.name == p), None)
        act_json.append({
            "name": "input_1" if p == "input" else p,
            "fused": [] if op is None else op.fused,
            "activation": "none" if op is None else op.act,
            "min": f32(obs.min_val), "max": f32(obs.max_val),
            "scale": f32(s), "zero_point": int(z)})

    schemes_json = []
    for sc in SCHEMES:
        wq = {op.name: weight_fake_quant(op.folded_w, sc) for op in qops}
        logits = outputs(ops, xte, wq=wq, aq=aq)
        pred = np.argmax(logits, axis=1)
        top1 = float((pred == yte).mean())
        # ties among the fake-quantized logits, and the prediction from unquantized logits
        top2 = np.sort(logits, axis=1)[:, -2:]
        ties = int((top2[:, 0] == top2[:, 1]).sum())
        aq_float_logits = dict(aq)
        aq_float_logits[qops[-1].name] = None
        float_logit_pred = predict(ops, xte, wq=wq, aq=aq_float_logits)
        acts = activations(ops, xcal, wq=wq, aq=aq)
        layer_json = []
        for op in qops:
            layer_json.append({
                "name": op.name,
                "weight_sqnr_db": sqnr_db(op.folded_w, wq[op.name]),
                "output_sqnr_db": sqnr_db(fp32_acts[op.name], acts[op.name])})
        print(f"{sc['name']}: quant top-1 {top1:.4f} (delta {100 * (top1 - fp32_top1):+.2f} points), "
              f"agreement {(pred == fp32_pred).mean():.4f}, logit ties {ties}, "
              f"top-1 with float logits {(float_logit_pred == yte).mean():.4f}")
        for lj in layer_json:
            print(f"    {lj['name']:18s} weight SQNR {lj['weight_sqnr_db']} dB, "
                  f"output SQNR {lj['output_sqnr_db']} dB")
        schemes_json.append({
            "name": sc["name"],
            "cli_options": sc["cli"],
            "weights": {"bits": 4 if sc["quant_max"] == 7 else 8,
                        "granularity": sc["granularity"],
                        "mapping": "symmetric" if sc["qscheme"] in (
                            torch.per_channel_symmetric, torch.per_tensor_symmetric) else "asymmetric",
                        "quant_min": sc["quant_min"], "quant_max": sc["quant_max"],
                        "observer": ("PerChannelMinMaxObserver(ch_axis=0)" if sc["granularity"] == "channel"
                                     else "MinMaxObserver") + f", dtype qint8, qscheme {sc['qscheme']}"},
            "quant_top1": top1,
            "quant_correct": int((pred == yte).sum()),
            "delta": (int((pred == yte).sum()) - int((fp32_pred == yte).sum())) / len(yte),
            "agreement": float((pred == fp32_pred).mean()),
            "logit_ties": ties,
            "quant_top1_float_logits": float((float_logit_pred == yte).mean()),
            "layers": layer_json,
            "predictions": "".join(map(str, pred.tolist())),
        })

    with open(MODEL, "rb") as f:
        model_sha = hashlib.sha256(f.read()).hexdigest()
    out = {
        "generator": "tests/reference/engine_reference.py",
        "torch_version": torch.__version__,
        "model": MODEL,
        "model_sha256": model_sha,
        "test_images": f"{DATA}/t10k-images-idx3-ubyte.gz",
        "test_count": int(xte.shape[0]),
        "calibration_images": f"{DATA}/calibration-images-idx3-ubyte.gz",
        "calibration_note": "first 1000 Fashion-MNIST training images; never scored",
        "calibration_count": int(xcal.shape[0]),
        "preprocess": "x = float32(pixel) / 255.0f, NHWC 28x28x1",
        "bn_folding": "w' = w*gamma/sqrt(var+eps), b' = (b-mean)*gamma/sqrt(var+eps)+beta, float64 then float32",
        "argmax_ties": "lowest class index",
        "fp32_top1": fp32_top1,
        "fp32_correct": int((fp32_pred == yte).sum()),
        "fp32_bn_unfolded_top1": float((unf_pred == yte).mean()),
        "fp32_bn_unfolded_differences": int((unf_pred != fp32_pred).sum()),
        "fp32_predictions": "".join(map(str, fp32_pred.tolist())),
        "activation_quant": {
            "dtype": "quint8", "quant_min": 0, "quant_max": 255,
            "observer": "MinMaxObserver, qscheme per_tensor_affine (range widened to contain 0)",
            "points": "input image and every conv/dense output after its fused ReLU; for dense_1 "
                      "the pre-softmax logits (softmax is not applied)"},
        "activations": act_json,
        "schemes": schemes_json,
    }
    path = os.path.join(ROOT, OUT)
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print(f"wrote {OUT} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    sys.exit(main())
