#!/usr/bin/python3
# make_graph_golden.py: writes tests/data/graph-golden.json, float32 outputs of small layer graphs computed by PyTorch.
# SPDX-License-Identifier: GPL-3.0-or-later
"""Float32 reference outputs of the graph engine's test graphs.

Each graph is a list of layers in the engine's terms (value 0 is the
image, layer i makes value i + 1, weights in Keras layouts); this script
runs it with PyTorch's own operators (NCHW, torch.nn.functional), an
implementation independent of the engine's, and writes the weights, two
input images and the outputs to JSON. tests/engine/test-graph.c builds the
same graphs through the engine's API and compares.

Usage: /usr/bin/python3 tests/reference/make_graph_golden.py [OUTPUT]
OUTPUT defaults to tests/data/graph-golden.json.
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

RNG = np.random.default_rng(20261204)


def rand(*shape, scale=1.0):
    return (RNG.standard_normal(shape) * scale).astype(np.float32)


def same_pads(size, kernel, stride, dilation):
    """TF/Keras 'same': the extra row or column goes at the end."""
    extent = (kernel - 1) * dilation + 1
    out = -(-size // stride)
    total = max((out - 1) * stride + extent - size, 0)
    return total // 2, total - total // 2


def conv(x, layer):
    """Conv2D / DepthwiseConv2D from Keras kernels, 'same' padded explicitly."""
    k = torch.from_numpy(np.array(layer["kernel"], np.float32).reshape(layer["kernel_shape"]))
    kh, kw = k.shape[0], k.shape[1]
    s, d = layer.get("stride", 1), layer.get("dilation", 1)
    groups = layer.get("groups", 1)
    if layer["op"] == "depthwise":
        cin, mult = k.shape[2], k.shape[3]
        weight = k.reshape(kh, kw, cin * mult).permute(2, 0, 1).unsqueeze(1)
        groups = cin
    else:
        weight = k.permute(3, 2, 0, 1)
    if layer.get("padding", "valid") == "same":
        top, bottom = same_pads(x.shape[2], kh, s, d)
        left, right = same_pads(x.shape[3], kw, s, d)
        x = F.pad(x, (left, right, top, bottom))
    bias = torch.from_numpy(np.array(layer["bias"], np.float32)) if "bias" in layer else None
    y = F.conv2d(x, weight.contiguous(), bias, stride=s, dilation=d, groups=groups)
    if layer.get("relu"):
        y = torch.clamp(y, min=0.0, max=layer.get("relu_max", math.inf))
    return y


def activation(x, layer):
    kind = layer["kind"]
    if kind == "relu6":
        return torch.clamp(x, 0.0, 6.0)
    if kind == "leaky_relu":
        return F.leaky_relu(x, layer["negative_slope"])
    if kind == "relu_threshold":  # Keras ReLU(negative_slope, threshold)
        t, slope = layer["threshold"], layer["negative_slope"]
        return torch.where(x > t, x, slope * (x - t))
    if kind == "elu":
        return F.elu(x, layer.get("alpha", 1.0))
    if kind == "sigmoid":
        return torch.sigmoid(x)
    if kind == "hard_sigmoid":  # Keras 2
        return torch.clamp(0.2 * x + 0.5, 0.0, 1.0)
    if kind == "swish":
        return F.silu(x)
    if kind == "hard_swish":
        return x * torch.clamp(x + 3.0, 0.0, 6.0) / 6.0
    if kind == "tanh":
        return torch.tanh(x)
    if kind == "gelu":
        return F.gelu(x)
    if kind == "softmax":
        return torch.softmax(x, dim=1)
    raise ValueError(kind)


def run(graph, images):
    """The graph on NHWC @images with PyTorch; returns the output as NHWC floats."""
    values = [torch.from_numpy(images).permute(0, 3, 1, 2)]
    for layer in graph["layers"]:
        ins = [values[v] for v in layer["inputs"]]
        x, op = ins[0], layer["op"]
        if op in ("conv2d", "depthwise"):
            y = conv(x, layer)
        elif op == "dense":
            flat = x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)
            k = torch.from_numpy(np.array(layer["kernel"], np.float32).reshape(layer["kernel_shape"]))
            y = (flat @ k + torch.tensor(layer["bias"], dtype=torch.float32)).reshape(x.shape[0], -1, 1, 1)
        elif op == "add":
            y = ins[0]
            for t in ins[1:]:
                y = y + t
        elif op == "subtract":
            y = ins[0] - ins[1]
        elif op == "multiply":
            y = ins[0]
            for t in ins[1:]:
                y = y * t
        elif op == "average":
            y = ins[0]
            for t in ins[1:]:
                y = y + t
            y = y / len(ins)
        elif op == "maximum":
            y = ins[0]
            for t in ins[1:]:
                y = torch.maximum(y, t)
        elif op == "concatenate":
            y = torch.cat(ins, dim=1)
        elif op == "pad":
            t, b, l, r = layer["pads"]
            y = F.pad(x, (l, r, t, b))
        elif op == "crop":
            t, b, l, r = layer["pads"]
            y = x[:, :, t:x.shape[2] - b, l:x.shape[3] - r]
        elif op == "affine":
            scale = torch.tensor(layer["scale"]).reshape(1, -1, 1, 1)
            shift = torch.tensor(layer["shift"]).reshape(1, -1, 1, 1)
            y = x * scale + shift
        elif op == "gap":
            y = x.mean(dim=(2, 3), keepdim=True)
        elif op == "gmp":
            y = x.amax(dim=(2, 3), keepdim=True)
        elif op == "maxpool":
            pool, stride = layer["pool"], layer.get("stride", layer["pool"])
            if layer.get("padding") == "same":  # stride 1: -inf around, as Keras skips it
                y = F.max_pool2d(x, pool, stride, padding=pool // 2)
            else:
                y = F.max_pool2d(x, pool, stride)
        elif op == "reshape":
            h, w, c = layer["shape"]
            y = x.permute(0, 2, 3, 1).reshape(x.shape[0], h, w, c).permute(0, 3, 1, 2)
        elif op == "upsample":
            fh, fw = layer["factors"]
            mode = "bilinear" if layer["bilinear"] else "nearest"
            kwargs = {"align_corners": False} if layer["bilinear"] else {}
            y = F.interpolate(x, scale_factor=(fh, fw), mode=mode, **kwargs)
        elif op == "activation":
            y = activation(x, layer)
        else:
            raise ValueError(op)
        values.append(y)
    out = values[graph.get("output", len(values) - 1)]
    return out.permute(0, 2, 3, 1).reshape(-1).numpy()


def conv_layer(inputs, cin, filters, k=3, padding="same", stride=1, dilation=1, groups=1,
               relu=False, relu_max=None, bias=True):
    fan_in = k * k * cin // groups
    layer = {"op": "conv2d", "inputs": inputs, "kernel_shape": [k, k, cin // groups, filters],
             "kernel": rand(k, k, cin // groups, filters, scale=1.0 / math.sqrt(fan_in)).ravel().tolist(),
             "padding": padding, "stride": stride, "dilation": dilation, "groups": groups,
             "filters": filters}
    if bias:
        layer["bias"] = rand(filters, scale=0.1).tolist()
    if relu:
        layer["relu"] = True
        if relu_max is not None:
            layer["relu_max"] = relu_max
    return layer


def graphs():
    g = []
    # ResNet's block with a projection shortcut: two convs on one branch,
    # a strided 1x1 on the other, added, then ReLU.
    g.append({"name": "residual-projection", "input": [8, 8, 4], "layers": [
        conv_layer([0], 4, 8, stride=2, relu=True),
        conv_layer([1], 8, 8),
        conv_layer([0], 4, 8, k=1, stride=2, padding="valid"),
        {"op": "add", "inputs": [2, 3]},
        {"op": "activation", "inputs": [4], "kind": "relu6"},
        {"op": "gap", "inputs": [5]},
    ]})
    # Inception-style branches concatenated on channels.
    g.append({"name": "concat-branches", "input": [6, 6, 3], "layers": [
        conv_layer([0], 3, 4, k=1, relu=True),
        conv_layer([0], 3, 5, k=3, relu=True),
        {"op": "maxpool", "inputs": [0], "pool": 3, "stride": 1, "padding": "same"},
        conv_layer([3], 3, 2, k=1),
        {"op": "concatenate", "inputs": [1, 2, 4]},
        conv_layer([5], 11, 6, k=3, relu=True),
    ]})
    # Squeeze-and-excitation: a 1x1xC gate multiplied over the map.
    g.append({"name": "squeeze-excite", "input": [5, 5, 6], "layers": [
        conv_layer([0], 6, 8, relu=True),
        {"op": "gap", "inputs": [1]},
        conv_layer([2], 8, 4, k=1, padding="valid", relu=True),
        conv_layer([3], 4, 8, k=1, padding="valid"),
        {"op": "activation", "inputs": [4], "kind": "sigmoid"},
        {"op": "multiply", "inputs": [1, 5]},
        {"op": "multiply", "inputs": [5, 1]},
        {"op": "average", "inputs": [6, 7]},
    ]})
    # MobileNetV2's strided depthwise: explicit zero padding, then valid.
    g.append({"name": "pad-valid-conv", "input": [7, 7, 4], "layers": [
        {"op": "pad", "inputs": [0], "pads": [0, 1, 0, 1]},
        conv_layer([1], 4, 6, k=3, stride=2, padding="valid", relu=True, relu_max=6.0),
        {"op": "pad", "inputs": [2], "pads": [1, 2, 2, 1]},
        {"op": "crop", "inputs": [3], "pads": [1, 0, 0, 2]},
        conv_layer([4], 6, 5, k=2, padding="valid"),
    ]})
    # Affine layers: preprocessing on the image, then an unfolded batch norm.
    g.append({"name": "affine", "input": [6, 6, 3], "layers": [
        {"op": "affine", "inputs": [0], "scale": [1 / 127.5] * 3, "shift": [-1.0] * 3},
        conv_layer([1], 3, 6, relu=True),
        {"op": "affine", "inputs": [2], "scale": rand(6).tolist(), "shift": rand(6, scale=0.3).tolist()},
        conv_layer([3], 6, 4, k=1, padding="valid"),
        {"op": "gap", "inputs": [4]},
    ], "image_scale": 255.0})
    # Dilated and grouped convolutions.
    g.append({"name": "dilated-grouped", "input": [9, 9, 4], "layers": [
        conv_layer([0], 4, 8, k=3, dilation=2, padding="same", relu=True),
        conv_layer([1], 8, 8, k=3, groups=4, padding="same"),
        conv_layer([2], 8, 6, k=3, dilation=2, groups=2, padding="valid", relu=True),
        conv_layer([3], 6, 6, k=1, groups=3, padding="valid"),
        {"op": "maximum", "inputs": [3, 4]},
    ]})
    # Upsampling, nearest and bilinear, merged back.
    g.append({"name": "upsample", "input": [4, 5, 3], "layers": [
        conv_layer([0], 3, 4, relu=True),
        {"op": "upsample", "inputs": [1], "factors": [2, 2], "bilinear": False},
        {"op": "upsample", "inputs": [1], "factors": [2, 2], "bilinear": True},
        {"op": "subtract", "inputs": [2, 3]},
        {"op": "upsample", "inputs": [4], "factors": [1, 3], "bilinear": True},
        conv_layer([5], 4, 3, k=3, stride=2),
    ]})
    # Global max pooling and reshape into a dense head.
    g.append({"name": "gmp-reshape", "input": [6, 6, 4], "layers": [
        conv_layer([0], 4, 12, relu=True),
        {"op": "gmp", "inputs": [1]},
        {"op": "reshape", "inputs": [2], "shape": [2, 2, 3]},
        conv_layer([3], 3, 5, k=2, padding="valid"),
        {"op": "reshape", "inputs": [1], "shape": [36, 4, 3]},
        {"op": "gap", "inputs": [5]},
        {"op": "concatenate", "inputs": [4, 6]},
        {"op": "dense", "inputs": [7], "kernel_shape": [8, 3],
         "kernel": rand(8, 3, scale=0.4).ravel().tolist(), "bias": rand(3, scale=0.1).tolist()},
    ]})
    # Activation layers (the integer path's tables) and softmax.
    acts = ["leaky_relu", "relu_threshold", "elu", "hard_sigmoid", "swish", "hard_swish", "tanh", "gelu"]
    layers = [conv_layer([0], 3, 8, k=3)]
    for i, kind in enumerate(acts):
        act = {"op": "activation", "inputs": [len(layers)], "kind": kind}
        if kind == "leaky_relu":
            act["negative_slope"] = 0.3
        if kind == "relu_threshold":
            act["negative_slope"] = 0.1
            act["threshold"] = 0.5
        layers.append(act)
        layers.append(conv_layer([len(layers)], 8, 8, k=1, padding="valid"))
    # The tables alone (a softmax after them would hide their errors), then softmax.
    g.append({"name": "activation-tables", "input": [4, 4, 3], "layers": list(layers)})
    layers.append({"op": "activation", "inputs": [len(layers)], "kind": "softmax"})
    g.append({"name": "activations", "input": [4, 4, 3], "layers": layers})
    return g


def main():
    out_path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(__file__), "..", "data", "graph-golden.json")
    torch.set_num_threads(1)
    cases = []
    for graph in graphs():
        h, w, c = graph["input"]
        images = rand(2, h, w, c) * np.float32(graph.get("image_scale", 1.0))
        if "image_scale" in graph:
            images = np.abs(images).astype(np.float32)
        with torch.no_grad():
            output = run(graph, images)
        graph["images"] = images.ravel().tolist()
        graph["output_values"] = output.astype(np.float32).tolist()
        cases.append(graph)
    with open(out_path, "w") as f:
        json.dump({"generator": "tests/reference/make_graph_golden.py", "graphs": cases}, f)
        f.write("\n")


if __name__ == "__main__":
    main()
