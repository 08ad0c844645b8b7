#!/usr/bin/python3
# torchvision_to_keras.py: torchvision's MobileNetV2 and ResNet18 (random weights) as Keras 2 functional .h5 files.
# SPDX-License-Identifier: GPL-3.0-or-later
"""Write the models and images of the graph benchmark (issue 9, section 4).

How to run (Debian's python3-torch and python3-torchvision, only /usr/bin/python3
sees them; from anywhere):

    /usr/bin/python3 bench/torchvision_to_keras.py OUTDIR [--images 256] [--calib 64]
                     [--models mobilenet_v2,resnet18[,vgg16]] [--recipe spread|smooth]

Writes into OUTDIR (not committed: about 14 and 47 MB):
  mobilenet_v2.h5, resnet18.h5   Keras 2 functional models exactly as tf.keras
                                 2.11 saves them (tests/reference/make_graph_blocks.py's
                                 writer): 224x224x3 input, PyTorch's symmetric
                                 padding as ZeroPadding2D + 'valid' wherever TF's
                                 'same' would pad differently, Conv2D /
                                 DepthwiseConv2D without bias + BatchNormalization,
                                 ReLU(6) / ReLU, Add, GlobalAveragePooling2D,
                                 Dropout, Dense(1000)
  vgg16.h5 (with --models vgg16)  553 MB, for eval's peak memory: Conv2D + ReLU,
                                 MaxPooling2D, Flatten, Dense(4096) x 2, Dense(1000)
  mobilenet_v2.pt, resnet18.pt   the same weights as a torchvision state_dict,
                                 for bench_graph_models.py
  NAME-images.h5, calib.h5       random 224x224x3 uint8 images (below)
                                 in the HDF5 x / y layout `eval --data` reads,
                                 with torchvision's ImageNet normalisation as
                                 per-channel `mean` / `scale` attributes; the
                                 labels of NAME-images.h5 are torchvision's
                                 float32 predictions, so `eval`'s fp32 top-1
                                 is its agreement with PyTorch (1.0 when
                                 exact) and its int8 top-1 the agreement of
                                 our int8 with PyTorch's float32

Weights: torchvision's own initialisation under torch.manual_seed(SEED),
then eval-mode BatchNormalization statistics made plausible: the running
mean and variance are measured on random images (so every layer sees
unit-scale activations, as in a trained network).  Only weights change,
never the architecture.  Two recipes (--recipe):

spread (the default): labels spread over many classes, and quantization
  moves some of them.  A random network predicts one class for every image
  (the smooth recipe: one class among 256 images for MobileNetV2, a few for
  ResNet18), because its pooled features are a large vector common to all
  images plus small image-dependent parts, and the initial Dense layer
  reads the common part; so every scheme's top-1 was about 1.0 and
  `sensitivity` ranked nothing.  Three changes:
  - images whose statistics differ, not only their samples: each a colour
    gradient, smooth noise at its own scale and colours, a few flat
    ellipses, sometimes a grating, at its own contrast and brightness;
  - BatchNormalization beta drawn around BETA[name] (gamma around 1) before
    the running statistics are measured: with beta around 0 half of the
    ReLU inputs are cut, and a random BN network is chaotic: each layer
    drops the mean of its input, which carries no signal but most of the
    power, so int8's rounding error grows relative to the signal layer
    after layer (MobileNetV2's output SQNR fell from 39 dB at its first
    layer to 4 dB at its last convolution) and int8 agreed with float32 on
    5% of the images; a positive beta keeps most units on and the growth
    small (int8 activations alone agree on 73% for MobileNetV2);
  - the Dense layer standardised: its inputs rescaled to the pooled
    features' standard deviation and its bias set to cancel their mean
    (measured on separate images), so the logits follow the image-dependent
    parts.
  Of 256 images, MobileNetV2 then gives 186 distinct labels and ResNet18
  138 (1,000 images: see bench/RESULTS.md), and `eval`'s int8 top-1 is
  about 0.24 and 0.78, its int4 about 0.

smooth: the data of sessions 1 to 8 (same files byte for byte): smooth
  noise (14x14 noise, bilinearly enlarged, plus fine noise), running
  statistics measured first and then gamma / beta drawn around 1 / 0,
  torchvision's initial Dense layer; every image gets the same label or
  nearly.

The script checks that the Keras graph, run by the same
PyTorch modules layer by layer, reproduces torchvision's output.
"""

import argparse
import copy
import os
import sys

import h5py
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "reference"))
import make_graph_blocks as blocks  # noqa: E402  (Keras layer builder and .h5 writer)

SEED = 20261204
# --recipe spread's BatchNormalization beta: ResNet18's identity shortcuts
# already keep it near the edge of chaos (at 2 it predicts fewer classes)
BETA = {"mobilenet_v2": 2.0, "resnet18": 1.0, "vgg16": 0.0}
MEAN = np.array([0.485, 0.456, 0.406])
STD = np.array([0.229, 0.224, 0.225])


def random_images(n, rng):
    """Smooth random uint8 images: 14x14 noise, bilinearly enlarged, plus fine noise."""
    coarse = torch.from_numpy(rng.uniform(0, 255, (n, 3, 14, 14)).astype(np.float32))
    x = F.interpolate(coarse, size=(224, 224), mode="bilinear", align_corners=False)
    x = x + torch.from_numpy(rng.normal(0, 12, (n, 3, 224, 224)).astype(np.float32))
    return x.clamp(0, 255).round().to(torch.uint8).permute(0, 2, 3, 1).contiguous().numpy()


def diverse_images(n, rng, size=224):
    """uint8 images that differ in their statistics: gradient, noise at a random scale, ellipses, grating."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    out = np.empty((n, size, size, 3), np.uint8)
    for i in range(n):
        c0, c1 = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
        a = rng.uniform(0, 2 * np.pi)
        t = np.clip(np.cos(a) * (xx - 0.5) + np.sin(a) * (yy - 0.5) + 0.5, 0, 1)[..., None]
        img = c0 * (1 - t) + c1 * t
        g = int(rng.choice([2, 3, 4, 7, 14, 28, 56]))
        coarse = torch.from_numpy(rng.normal(0, 1, (1, 3, g, g)).astype(np.float32))
        noise = F.interpolate(coarse, size=(size, size), mode="bicubic", align_corners=False)[0]
        img = img + noise.permute(1, 2, 0).numpy() @ (rng.normal(0, 1, (3, 3)) * rng.uniform(10, 80))
        for _ in range(rng.integers(0, 7)):
            cx, cy = rng.uniform(0, 1, 2)
            rx, ry = rng.uniform(0.03, 0.35, 2)
            th = rng.uniform(0, np.pi)
            u = np.cos(th) * (xx - cx) + np.sin(th) * (yy - cy)
            v = -np.sin(th) * (xx - cx) + np.cos(th) * (yy - cy)
            img[(u / rx) ** 2 + (v / ry) ** 2 <= 1] = rng.uniform(0, 255, 3)
        if rng.uniform() < 0.5:
            f, th = rng.uniform(2, 40), rng.uniform(0, np.pi)
            grating = np.sin(2 * np.pi * f * (np.cos(th) * xx + np.sin(th) * yy) + rng.uniform(0, 2 * np.pi))
            img = img + grating[..., None] * rng.uniform(-60, 60, 3)
        m = img.mean((0, 1))
        img = (img - m) * rng.uniform(0.4, 1.6) + m + rng.uniform(-40, 40)
        img = img + rng.normal(0, rng.uniform(0, 20), img.shape)
        out[i] = np.clip(img, 0, 255).round().astype(np.uint8)
    return out


def to_input(images_u8):
    """uint8 NHWC -> float32 NCHW, (x / 255 - mean) / std: what the HDF5 attributes say."""
    x = (images_u8.astype(np.float64) - MEAN * 255) * (1.0 / (STD * 255))
    return torch.from_numpy(x.astype(np.float32)).permute(0, 3, 1, 2).contiguous()


def write_images(path, images, labels):
    with h5py.File(path, "w") as f:
        f["x"] = images
        f["y"] = labels.astype(np.int32)
        f["x"].attrs["mean"] = MEAN * 255
        f["x"].attrs["scale"] = 1.0 / (STD * 255)


def measure_batches(model, x):
    """@x through @model in train mode, eight images at a time: each BatchNorm2d with momentum None
    keeps the cumulative average of its batches' statistics."""
    model.train()
    with torch.no_grad():
        for i in range(0, x.shape[0], 8):
            model(x[i:i + 8])


def plausible_bn(model, x):
    """Running statistics measured on @x, gamma around 1 and beta around 0."""
    gen = torch.Generator().manual_seed(SEED)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None                      # cumulative average over the batches
    measure_batches(model, x)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.momentum = 0.1
                m.weight.copy_(torch.empty_like(m.weight).uniform_(0.5, 1.5, generator=gen))
                m.bias.copy_(torch.empty_like(m.bias).normal_(0.0, 0.1, generator=gen))
    model.eval()


def spread_bn(model, x, beta):
    """gamma around 1 and beta around @beta first, then the running statistics measured on @x."""
    if not any(isinstance(m, nn.BatchNorm2d) for m in model.modules()):
        return                                     # VGG16: nothing to measure
    gen = torch.Generator().manual_seed(SEED)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5, generator=gen)
                m.bias.normal_(beta, 0.1, generator=gen)
                m.reset_running_stats()
                m.momentum = None
    # train mode normalises each layer by its batch, so every layer's statistics are measured
    # on inputs produced by the final gamma / beta of the layers before it
    measure_batches(model, x)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.momentum = 0.1
    model.eval()


def spread_head(model, x):
    """The last Dense layer on standardised inputs: W' = W / sd, b' = -W' mean (pooled features on @x)."""
    head = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    feats = []
    hook = head.register_forward_hook(lambda mod, inputs, out: feats.append(inputs[0].double()))
    with torch.no_grad():
        for i in range(0, x.shape[0], 16):
            model(x[i:i + 16])
    hook.remove()
    f = torch.cat(feats)
    sd = f.std(0)
    # a feature constant over the images (a unit never on) keeps its weights; its mean still cancels
    sd = torch.where(sd > 1e-6 * sd.max(), sd, torch.ones_like(sd))
    with torch.no_grad():
        w = head.weight.double() / sd
        head.weight.copy_(w.float())
        head.bias.copy_((-(w @ f.mean(0))).float())


def conv_bn_act(b, x, seq, cap):
    """torchvision's Conv2dNormActivation (conv, BN, ReLU / ReLU6) as Keras layers."""
    conv, bn = seq[0], seq[1]
    k, s, p = conv.kernel_size[0], conv.stride[0], conv.padding[0]
    if conv.groups > 1:
        x = b.depthwise(x, k, s, p, bias=False, module=conv)
    else:
        x = b.conv(x, conv.out_channels, k, s, p, bias=False, module=conv)
    return b.relu(b.bn(x, module=bn), cap)


def mobilenet_v2_keras(model):
    b = blocks.Builder("mobilenet_v2", 224, 224, 3)
    x = conv_bn_act(b, b.input, model.features[0], 6.0)
    for block in model.features[1:-1]:
        layers = list(block.conv)
        h = x
        for seq in layers[:-2]:
            h = conv_bn_act(b, h, seq, 6.0)
        proj, bn = layers[-2], layers[-1]
        h = b.bn(b.conv(h, proj.out_channels, 1, bias=False, module=proj), module=bn)
        x = b.add([x, h]) if block.use_res_connect else h
    x = conv_bn_act(b, x, model.features[-1], 6.0)
    x = b.dropout(b.gap(x), model.classifier[0].p)
    b.dense(x, 1000, module=model.classifier[1])
    return b


def resnet18_keras(model):
    b = blocks.Builder("resnet18", 224, 224, 3)
    x = b.relu(b.bn(b.conv(b.input, 64, 7, 2, 3, bias=False, module=model.conv1), module=model.bn1))
    # Keras' ResNet: ZeroPadding2D then a valid MaxPooling2D (after ReLU, zeros pad like -inf)
    x = b.maxpool(b.zeropad(x, ((1, 1), (1, 1))), 3, 2)
    for layer in (model.layer1, model.layer2, model.layer3, model.layer4):
        for block in layer:
            c1, c2 = block.conv1, block.conv2
            h = b.relu(b.bn(b.conv(x, c1.out_channels, 3, c1.stride[0], 1, bias=False, module=c1), module=block.bn1))
            h = b.bn(b.conv(h, c2.out_channels, 3, 1, 1, bias=False, module=c2), module=block.bn2)
            if block.downsample is not None:
                d, dbn = block.downsample
                x = b.bn(b.conv(x, d.out_channels, 1, d.stride[0], 0, bias=False, module=d), module=dbn)
            x = b.relu(b.add([h, x]))
    b.dense(b.gap(x), 1000, module=model.fc)
    return b


def vgg16_keras(model):
    """VGG16 for the memory measurement (553 MB of float32 weights): 3x3
    convolutions with ReLU, max pooling, Flatten, three Dense layers. The
    adaptive 7x7 average pooling is the identity at 224x224, and the first
    Dense layer's inputs are reordered from PyTorch's CHW flatten to Keras's HWC."""
    b = blocks.Builder("vgg16", 224, 224, 3)
    x = b.input
    for m in model.features:
        if isinstance(m, nn.Conv2d):
            x = b.relu(b.conv(x, m.out_channels, 3, 1, 1, bias=True, module=m))
        elif isinstance(m, nn.MaxPool2d):
            x = b.maxpool(x, 2, 2)
    fc1 = model.classifier[0]
    with torch.no_grad():
        fc1.weight.copy_(fc1.weight.reshape(-1, 512, 7, 7).permute(0, 2, 3, 1).reshape(fc1.weight.shape))
    x = b.relu(b.dense(b.flatten(x), 4096, module=fc1))
    x = b.relu(b.dense(x, 4096, module=model.classifier[3]))
    b.dense(x, 1000, module=model.classifier[6])
    return b


MODELS = {
    "mobilenet_v2": (torchvision.models.mobilenet_v2, mobilenet_v2_keras),
    "resnet18": (torchvision.models.resnet18, resnet18_keras),
    "vgg16": (torchvision.models.vgg16, vgg16_keras),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--images", type=int, default=256, help="scored images (default 256)")
    ap.add_argument("--calib", type=int, default=64, help="calibration images (default 64)")
    ap.add_argument("--models", default="mobilenet_v2,resnet18",
                    help="comma-separated, of " + ", ".join(MODELS) + " (default mobilenet_v2,resnet18; "
                         "vgg16, 553 MB, for the peak-memory measurement)")
    ap.add_argument("--recipe", choices=("spread", "smooth"), default="spread",
                    help="spread (default): varied images, BatchNormalization beta around 1 or 2 and a "
                         "standardised Dense layer, so the labels (float32 predictions) spread over many "
                         "classes and int8 / int4 change some; smooth: the smooth-noise data of sessions "
                         "1 to 8, where the random models give every image the same label")
    args = ap.parse_args()
    os.makedirs(args.outdir, exist_ok=True)
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))

    spread = args.recipe == "spread"
    make_images = diverse_images if spread else random_images
    rng = np.random.Generator(np.random.PCG64(SEED))
    images = make_images(args.images, rng)
    # spread: the models and calib.h5 do not depend on --images (their own generator), so the
    # 256-image set is the first quarter of the 1,000-image one, labels included
    other = np.random.Generator(np.random.PCG64(SEED + 1)) if spread else rng
    calib = make_images(args.calib, other)
    write_images(os.path.join(args.outdir, "calib.h5"), calib, other.integers(0, 1000, args.calib))
    if spread:
        other = np.random.Generator(np.random.PCG64(SEED + 2))
    stats_images = to_input(make_images(128 if spread else 32, other))
    head_images = to_input(make_images(256, other)) if spread else None
    check = to_input(images[:2])

    for name in args.models.split(","):
        make, convert = MODELS[name]
        torch.manual_seed(SEED)
        model = make(weights=None)
        if spread:
            spread_bn(model, stats_images, BETA[name])
            spread_head(model, head_images)
        else:
            plausible_bn(model, stats_images)
        torch.save(model.state_dict(), os.path.join(args.outdir, f"{name}.pt"))
        with torch.no_grad():
            want = model(check)
        keras = convert(copy.deepcopy(model))
        keras.eval()
        with torch.no_grad():
            got = keras(check)
        err = float((got - want).abs().max() / want.abs().max())
        if err > 1e-4:
            sys.exit(f"{name}: the Keras graph differs from torchvision's model (relative {err:.3g})")
        path = os.path.join(args.outdir, f"{name}.h5")
        blocks.save_keras_h5(keras, path)
        print(f"wrote {path} ({os.path.getsize(path) / 1e6:.1f} MB, {len(keras.layers)} layers; "
              f"matches torchvision to {err:.1e})", flush=True)
        with torch.no_grad():
            labels = torch.cat([model(to_input(images[i:i + 16])).argmax(1) for i in range(0, len(images), 16)])
        write_images(os.path.join(args.outdir, f"{name}-images.h5"), images, labels.numpy())
        print(f"{name}: {len(labels.unique())} distinct float32 predictions (labels) among {len(labels)} images",
              flush=True)
    print(f"wrote {args.outdir}/NAME-images.h5 ({args.images} images), calib.h5 ({args.calib})")


if __name__ == "__main__":
    sys.exit(main())
