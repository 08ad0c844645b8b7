#!/usr/bin/python3
# Multiply-adds a sensitivity run must do on a Keras model, float and int8.
# SPDX-License-Identifier: GPL-3.0-or-later
"""Counts, per image, the multiply-adds of `quantscope-cli sensitivity`:
two whole runs (all quantized: int8; every searched layer in float
weights: float32) and a branch per weighted layer off each, which runs
that layer and every later one (kept float: the layer in float32, the
rest in int8; alone: the layer in int8, the rest in float32).
Usage: sensitivity_macs.py MODEL.h5 [IMAGES [FLOAT_MAC_PER_S INT8_MAC_PER_S]]
(the rates of every core together: bench-fma-peak's per core-second times cores)
"""
import json
import sys

import h5py


def layer_macs(path):
    """[(name, kind, macs per image)] of the weighted layers in order."""
    with h5py.File(path, "r") as f:
        config = json.loads(f.attrs["model_config"])
    shapes, out = {}, []
    for layer in config["config"]["layers"]:
        kind, c, name = layer["class_name"], layer["config"], layer["config"]["name"]
        ins = [shapes[n[0]] for node in layer.get("inbound_nodes", []) for n in node]
        if kind == "InputLayer":
            shapes[name] = tuple(c["batch_input_shape"][1:])
            continue
        h, w, ch = ins[0] if len(ins[0]) == 3 else (1, 1, ins[0][-1])
        if kind == "ZeroPadding2D":
            (t, b), (l, r) = c["padding"]
            shape = (h + t + b, w + l + r, ch)
        elif kind in ("Conv2D", "DepthwiseConv2D"):
            kh, kw = c["kernel_size"]
            sh, sw = c["strides"]
            if c["padding"] == "same":
                oh, ow = -(-h // sh), -(-w // sw)
            else:
                oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
            oc = c["filters"] if kind == "Conv2D" else ch * c["depth_multiplier"]
            k = kh * kw * (ch if kind == "Conv2D" else 1)
            shape = (oh, ow, oc)
            out.append((name, kind, oh * ow * oc * k, (oh * ow, k, oc)))
        elif kind == "Dense":
            shape = (c["units"],)
            out.append((name, kind, ch * c["units"], (1, ch, c["units"])))
        elif kind == "GlobalAveragePooling2D":
            shape = (ch,)
        else:
            shape = ins[0]
        shapes[name] = shape
    return out


def main():
    layers = layer_macs(sys.argv[1])
    images = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    total = sum(m for _, _, m, _ in layers)
    # Layer j runs in float32 in the float-weights run, in its own kept-float
    # branch and in the alone branch of each of the j layers before it; in
    # int8 as often (the all-quantized run, its own alone branch, the kept-
    # float branches before it). The fp32 predictions run the model once more.
    runs = [2 + j for j in range(len(layers))]
    per_image = sum(m * r for (_, _, m, _), r in zip(layers, runs))
    depthwise = sum(m * r for (_, k, m, _), r in zip(layers, runs) if k == "DepthwiseConv2D")
    print("%-22s %-16s %10s %5s  %s" % ("layer", "kind", "MAC/image", "runs", "(rows per image, K, N)"))
    for (name, kind, m, shape), r in zip(layers, runs):
        print("%-22s %-16s %10d %5d  %s" % (name, kind, m, r, shape))
    print("%d weighted layers, %.1f M MAC an image (depthwise %.1f M)"
          % (len(layers), total / 1e6, sum(m for _, k, m, _ in layers if k == "DepthwiseConv2D") / 1e6))
    print("a sensitivity run, per image: float32 %.1f M MAC (+ %.1f M for the fp32 predictions), "
          "int8 %.1f M MAC; depthwise %.1f M of each" % (per_image / 1e6, total / 1e6, per_image / 1e6,
                                                         depthwise / 1e6))
    f_all, i_all = (per_image + total) * images, per_image * images
    print("%d images: float32 %.3f T MAC, int8 %.3f T MAC" % (images, f_all / 1e12, i_all / 1e12))
    if len(sys.argv) > 4:
        fr, ir = float(sys.argv[3]), float(sys.argv[4])
        print("bound at %.1f G float32 and %.1f G int8 MAC/s (all cores together): %.1f s + %.1f s = %.1f s"
              % (fr / 1e9, ir / 1e9, f_all / fr, i_all / ir, f_all / fr + i_all / ir))


if __name__ == "__main__":
    main()
