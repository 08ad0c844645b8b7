#!/usr/bin/python3
# bench_torch_model.py: PyTorch's fp32 and int8 throughput on the demo model (issue 4, section 5).
# SPDX-License-Identifier: GPL-3.0-or-later
"""PyTorch throughput on this machine, the peer figures for Quantscope's engine.

How to run (from the source root; Debian's python3-torch, only /usr/bin/python3
sees it):

    /usr/bin/python3 bench/bench_torch_model.py [--quick]

For each conv layer of data/models/fashion-cnn.h5 (BN folded, batch 256) it
times fp32 (torch.nn.functional.conv2d, the faster of NCHW and channels_last
input) and int8 (torch.ao.nn.quantized.Conv2d, quint8 activations, qint8
per-channel symmetric [-127, 127] weights, channels_last quantized input) with
torch.backends.quantized.engine = onednn and qnnpack, on 1 and 2 threads, and
prints GMAC/s (multiply-accumulates per second / 1e9; a MAC of a depthwise
layer counts once).  Then whole-model images/s over the 10,000 test images
(batch 256) for the fp32 model and the eager-mode int8 model
(QuantStub/DeQuantStub, conv+relu and linear+relu fused, MinMaxObserver
activations calibrated on data/fashion-mnist/calibration-images-*, i.e. the
first 1,000 training images, per-channel symmetric weights), with its top-1.

Timing: best of several repetitions after a warm-up, wall clock
(time.perf_counter).  Layer timings exclude quantizing the input; the stride-2
layer uses symmetric padding 1 (same output size and MACs as TF 'same'; the
whole-model runs pad exactly like Keras, with F.pad, on quantized tensors too,
which pad with the zero point).

Output: one `key=value` line per measurement, e.g.
  torch onednn threads=1 layer=conv2d_1 int8_gmacs=123.4 ms=1.87
  torch fp32 threads=2 model fp32_images_per_s=45678
An unsupported configuration prints `... unsupported="reason"` and goes on.
"""

import argparse
import os
from collections import OrderedDict
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.ao.nn.quantized as nnq
from torch.ao.quantization import (QConfig, QuantStub, DeQuantStub, MinMaxObserver,
                                   PerChannelMinMaxObserver, fuse_modules, prepare, convert)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "reference"))
import engine_reference as ref  # noqa: E402  (h5 reader and Keras-semantics graph)

BATCH = 256
ENGINES = ("onednn", "qnnpack")
THREADS = (1, 2)


def bench(fn, min_seconds, reps=5):
    """Best time of `reps` rounds, each at least min_seconds / reps long."""
    fn()
    t = time.perf_counter()
    fn()
    one = max(time.perf_counter() - t, 1e-6)
    inner = max(1, int(min_seconds / reps / one))
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        for _ in range(inner):
            fn()
        best = min(best, (time.perf_counter() - t) / inner)
    return best


def fmt_reason(e):
    return '"' + str(e).split("\n")[0].replace('"', "'")[:160] + '"'


# ---------------------------------------------------------------- layers

def conv_layers(ops):
    """(op, input shape C,H,W) for each conv op, from a forward pass."""
    shapes = {}
    x = torch.zeros(1, 1, 28, 28)
    for op in ops:
        if op.kind == "conv":
            shapes[op.name] = tuple(x.shape[1:])
            x = ref.run_conv(op, x, op.folded_w, op.folded_b)
        elif op.kind == "maxpool":
            x = F.max_pool2d(x, op.pool, op.stride)
        elif op.kind == "flatten":
            break
    return [(op, shapes[op.name]) for op in ops if op.kind == "conv"]


def bench_layers(ops, min_seconds):
    torch.manual_seed(0)
    for threads in THREADS:
        torch.set_num_threads(threads)
        for op, (cin, h, w) in conv_layers(ops):
            wt, b = op.folded_w, op.folded_b
            cout, _, kh, kw = wt.shape
            pad = (kh // 2, kw // 2) if op.padding == "same" else (0, 0)
            oh = (h + 2 * pad[0] - kh) // op.stride[0] + 1
            ow = (w + 2 * pad[1] - kw) // op.stride[1] + 1
            macs = BATCH * oh * ow * cout * kh * kw * (cin // op.groups)
            desc = (f"layer={op.name} in={cin}x{h}x{w} out={cout}x{oh}x{ow} k={kh}x{kw} "
                    f"stride={op.stride[0]} groups={op.groups} batch={BATCH} "
                    f"macs_per_image={macs // BATCH}")
            # Post-ReLU-like input in [0, 1).
            x = torch.rand(BATCH, cin, h, w)
            best = None
            for layout in ("nchw", "channels_last"):
                xx = x if layout == "nchw" else x.contiguous(memory_format=torch.channels_last)
                ww = wt if layout == "nchw" else wt.contiguous(memory_format=torch.channels_last)
                with torch.no_grad():
                    t = bench(lambda: F.conv2d(xx, ww, b, op.stride, pad, 1, op.groups), min_seconds)
                if best is None or t < best[0]:
                    best = (t, layout)
            print(f"torch fp32 threads={threads} {desc} fp32_gmacs={macs / best[0] / 1e9:.2f} "
                  f"ms={best[0] * 1e3:.3f} layout={best[1]}", flush=True)
            for engine in ENGINES:
                try:
                    torch.backends.quantized.engine = engine
                    m = nnq.Conv2d(cin, cout, (kh, kw), stride=op.stride, padding=pad, groups=op.groups)
                    sc = (wt.abs().amax(dim=(1, 2, 3)) / 127).clamp(min=2 ** -23)
                    qw = torch.quantize_per_channel(wt, sc.double(), torch.zeros(cout, dtype=torch.long),
                                                    0, torch.qint8)
                    m.set_weight_bias(qw, b)
                    with torch.no_grad():
                        yf = F.conv2d(x, wt, b, op.stride, pad, 1, op.groups)
                    m.scale = float(yf.max() - min(float(yf.min()), 0.0)) / 255
                    m.zero_point = int(round(-min(float(yf.min()), 0.0) / m.scale))
                    qx = torch.quantize_per_tensor(x, 1 / 255, 0, torch.quint8) \
                        .contiguous(memory_format=torch.channels_last)
                    with torch.no_grad():
                        t = bench(lambda: m(qx), min_seconds)
                    print(f"torch {engine} threads={threads} {desc} int8_gmacs={macs / t / 1e9:.2f} "
                          f"ms={t * 1e3:.3f}", flush=True)
                except Exception as e:  # unsupported configuration in this torch build
                    print(f"torch {engine} threads={threads} {desc} unsupported={fmt_reason(e)}",
                          flush=True)


# ---------------------------------------------------------------- whole model

class TFPad(nn.Module):
    def __init__(self, k, s):
        super().__init__()
        self.k, self.s = k, s

    def forward(self, x):
        t, b = ref.same_pad(x.shape[2], self.k, self.s)
        l, r = ref.same_pad(x.shape[3], self.k, self.s)
        return F.pad(x, (l, r, t, b)) if t or b or l or r else x


class NHWCFlatten(nn.Module):
    def forward(self, x):
        return x.permute(0, 2, 3, 1).contiguous().reshape(x.shape[0], -1)


def eager_model(ops):
    """nn.Module of the folded graph with QuantStub/DeQuantStub; returns (model, fuse list)."""
    mods, fuse = [("quant", QuantStub())], []
    for op in ops:
        if op.kind == "conv":
            cout, cin_g, kh, kw = op.folded_w.shape
            if op.padding == "same":
                mods.append((op.name + "_pad", TFPad(kh, op.stride[0])))
            c = nn.Conv2d(cin_g * op.groups, cout, (kh, kw), stride=op.stride, groups=op.groups)
            c.weight.data.copy_(op.folded_w)
            c.bias.data.copy_(op.folded_b)
            mods.append((op.name, c))
        elif op.kind == "dense":
            d = nn.Linear(op.folded_w.shape[1], op.folded_w.shape[0])
            d.weight.data.copy_(op.folded_w)
            d.bias.data.copy_(op.folded_b)
            mods.append((op.name, d))
        elif op.kind == "maxpool":
            mods.append((op.name, nn.MaxPool2d(op.pool, op.stride)))
        elif op.kind == "flatten":
            mods.append((op.name, NHWCFlatten()))
        if op.kind in ("conv", "dense") and op.act == "relu":
            mods.append((op.name + "_relu", nn.ReLU()))
            fuse.append([op.name, op.name + "_relu"])
    mods.append(("dequant", DeQuantStub()))
    return nn.Sequential(OrderedDict(mods)), fuse


def run_model(model, x):
    out = []
    with torch.no_grad():
        for i in range(0, x.shape[0], BATCH):
            out.append(model(x[i:i + BATCH]))
    return torch.cat(out)


def bench_models(ops, xte, yte, xcal, reps):
    float_model, fuse = eager_model(ops)
    float_model.eval()
    for threads in THREADS:
        torch.set_num_threads(threads)
        t = bench(lambda: run_model(float_model, xte), 0, reps)
        top1 = float((run_model(float_model, xte).argmax(1).numpy() == yte).mean())
        print(f"torch fp32 threads={threads} model images={xte.shape[0]} batch={BATCH} "
              f"fp32_images_per_s={xte.shape[0] / t:.0f} seconds={t:.3f} fp32_top1={top1:.4f}",
              flush=True)
    for engine in ENGINES:
        try:
            torch.backends.quantized.engine = engine
            m, fuse = eager_model(ops)
            m.eval()
            m = fuse_modules(m, fuse)
            m.qconfig = QConfig(
                activation=MinMaxObserver.with_args(dtype=torch.quint8,
                                                    qscheme=torch.per_tensor_affine),
                weight=PerChannelMinMaxObserver.with_args(dtype=torch.qint8,
                                                          qscheme=torch.per_channel_symmetric,
                                                          quant_min=-127, quant_max=127))
            prepare(m, inplace=True)
            run_model(m, xcal)
            convert(m, inplace=True)
            top1 = float((run_model(m, xte).argmax(1).numpy() == yte).mean())
        except Exception as e:
            for threads in THREADS:
                print(f"torch {engine} threads={threads} model unsupported={fmt_reason(e)}", flush=True)
            continue
        for threads in THREADS:
            torch.set_num_threads(threads)
            t = bench(lambda: run_model(m, xte), 0, reps)
            print(f"torch {engine} threads={threads} model images={xte.shape[0]} batch={BATCH} "
                  f"int8_images_per_s={xte.shape[0] / t:.0f} seconds={t:.3f} int8_top1={top1:.4f}",
                  flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="shorter timing runs")
    args = ap.parse_args()
    os.chdir(ROOT)
    import warnings
    warnings.filterwarnings("ignore")
    layers, weights = ref.load_keras(ref.MODEL)
    ops = ref.build_ops(layers, weights)
    xte = ref.to_input(ref.read_idx(f"{ref.DATA}/t10k-images-idx3-ubyte.gz"))
    yte = ref.read_idx(f"{ref.DATA}/t10k-labels-idx1-ubyte.gz").astype(np.int64)
    xcal = ref.to_input(ref.read_idx(f"{ref.DATA}/calibration-images-idx3-ubyte.gz"))
    print(f"torch version={torch.__version__} engines={','.join(torch.backends.quantized.supported_engines)} "
          f"cpus={os.cpu_count()} loadavg_before={os.getloadavg()[0]:.2f}", flush=True)
    bench_layers(ops, 0.3 if args.quick else 1.0)
    bench_models(ops, xte, yte, xcal, 2 if args.quick else 3)
    print(f"torch loadavg_after={os.getloadavg()[0]:.2f} (other work on the machine skews the figures)",
          flush=True)


if __name__ == "__main__":
    sys.exit(main())
