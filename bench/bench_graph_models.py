#!/usr/bin/python3
# bench_graph_models.py: PyTorch's images/s on the graph benchmark's models, beside Quantscope's eval JSON.
# SPDX-License-Identifier: GPL-3.0-or-later
"""PyTorch fp32, fp32 channels-last and int8 (oneDNN) beside `quantscope-cli eval --json`.

Run by bench/bench_graph_models.sh, which writes the models and images with
bench/torchvision_to_keras.py and our eval JSON first:

    /usr/bin/python3 bench/bench_graph_models.py WORKDIR [--threads 2] [--min-seconds 5]
                     [--ours mobilenet_v2=FILE.json resnet18=FILE.json]

For each of mobilenet_v2 and resnet18 (the same weights as WORKDIR/NAME.h5,
from WORKDIR/NAME.pt) over WORKDIR/NAME-images.h5 (preprocessed by its mean /
scale attributes), batch 32:
  torch fp32      torchvision's model, NCHW
  torch fp32 cl   the same with channels_last input and weights
  torch int8      torchvision.models.quantization's model, fused, quint8
                  activations, per-channel qint8 weights (get_default_qconfig
                  ("onednn")), calibrated on WORKDIR/calib.h5,
                  torch.backends.quantized.engine = "onednn", channels_last input
Timing: best of 5 rounds over all images after a warm-up, wall clock,
torch.set_num_threads(--threads).  Prints one line per model with our fp32
and int8 images/s (from the JSON: fp32_images_per_second and
images_per_second) and PyTorch's, the ratios the issue's targets name, and
our agreement with PyTorch's float32 predictions (the images' labels): fp32
(1.00 when exact) and int8 (the JSON's fp32_top1 and quant_top1).
"""

import argparse
import json
import os
import sys
import warnings

import h5py
import numpy as np
import torch
import torchvision
from torch.ao.quantization import convert, get_default_qconfig, prepare

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_torch_model import bench  # noqa: E402  (best-of-N wall-clock timer)

BATCH = 32
MODELS = {
    "mobilenet_v2": (torchvision.models.mobilenet_v2, torchvision.models.quantization.mobilenet_v2),
    "resnet18": (torchvision.models.resnet18, torchvision.models.quantization.resnet18),
}


def load_images(path):
    with h5py.File(path, "r") as f:
        x = np.asarray(f["x"], np.float64)
        mean, scale = np.asarray(f["x"].attrs["mean"]), np.asarray(f["x"].attrs["scale"])
    return torch.from_numpy(((x - mean) * scale).astype(np.float32)).permute(0, 3, 1, 2).contiguous()


def images_per_second(model, x, min_seconds, channels_last=False):
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    batches = [x[i:i + BATCH] for i in range(0, x.shape[0], BATCH)]

    def run():
        with torch.no_grad():
            for b in batches:
                model(b)
    return x.shape[0] / bench(run, min_seconds)


def int8_model(quantizable, state, calib):
    torch.backends.quantized.engine = "onednn"
    model = quantizable(weights=None, quantize=False)
    model.load_state_dict(state)
    model.eval()
    model.fuse_model()
    model.qconfig = get_default_qconfig("onednn")
    prepare(model, inplace=True)
    with torch.no_grad():
        for i in range(0, calib.shape[0], BATCH):
            model(calib[i:i + BATCH])
    return convert(model)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("workdir")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--min-seconds", type=float, default=5.0)
    ap.add_argument("--ours", nargs="*", default=[], metavar="NAME=JSON")
    args = ap.parse_args()
    # The quantizable models' unused FloatFunctional observers (blocks without a residual) warn.
    warnings.filterwarnings("ignore", message="must run observer")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    ours = dict(o.split("=", 1) for o in args.ours)

    calib = load_images(os.path.join(args.workdir, "calib.h5"))
    print(f"{args.threads} threads, batch {BATCH} (PyTorch {torch.__version__}); images/s, "
          "and agreement with PyTorch fp32", flush=True)
    print(f"{'model':14s} {'ours fp32':>10s} {'ours int8':>10s} {'torch fp32':>11s} {'fp32 cl':>9s} "
          f"{'torch int8':>11s}  {'int8 ours/torch':>15s} {'fp32 ours/cl':>12s} {'calib/fp32':>10s} "
          f"{'agree fp32':>10s} {'agree int8':>10s}")
    for name, (plain, quantizable) in MODELS.items():
        x = load_images(os.path.join(args.workdir, f"{name}-images.h5"))
        state = torch.load(os.path.join(args.workdir, f"{name}.pt"))
        model = plain(weights=None)
        model.load_state_dict(state)
        model.eval()
        fp32 = images_per_second(model, x, args.min_seconds)
        cl = images_per_second(model.to(memory_format=torch.channels_last), x, args.min_seconds, True)
        int8 = images_per_second(int8_model(quantizable, state, calib), x, args.min_seconds, True)
        our_fp32 = our_int8 = calib_ratio = agree_fp32 = agree_int8 = float("nan")
        if name in ours:
            with open(ours[name]) as f:
                r = json.load(f)
            our_fp32 = r["fp32_images_per_second"] or float("nan")
            our_int8 = r["images_per_second"] or float("nan")
            # calibration against one fp32 pass over the same number of images
            calib_ratio = r["calibration_seconds"] / (r["calibration_images"] / our_fp32)
            agree_fp32, agree_int8 = r["fp32_top1"], r["quant_top1"]
        print(f"{name:14s} {our_fp32:10.1f} {our_int8:10.1f} {fp32:11.1f} {cl:9.1f} {int8:11.1f}  "
              f"{our_int8 / int8:15.2f} {our_fp32 / cl:12.2f} {calib_ratio:10.2f} "
              f"{agree_fp32:10.3f} {agree_int8:10.3f}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
