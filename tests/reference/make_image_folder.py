#!/usr/bin/python3
# make_image_folder.py: tiny PNG/JPEG image folders and the model inputs they must become.
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes tests/data/images/ and tests/data/images-expected.json.

PNGs are encoded here with zlib (no imaging library), so their pixels are
known exactly; the expected inputs come from numpy: the shorter side
resized to the target with tf.image.resize's bilinear (half-pixel centres,
no antialiasing), written as interpolation matrices, the centre crop
(offset floor((resized - target) / 2)), gray as PIL's "L" integer formula,
then the preprocessing. The one JPEG (torchvision's encoder, if present) is
a flat colour, whose decoded pixels are that colour within rounding.

Usage: make_image_folder.py [OUTDIR]   (default: tests/data)
"""
import json
import os
import struct
import sys
import zlib

import numpy as np


def png(path, pixels):
    """pixels: H x W (gray), H x W x 3 (RGB) or H x W x 4 (RGBA) uint8."""
    if pixels.ndim == 2:
        color, rows = 0, pixels
    else:
        color = {3: 2, 4: 6}[pixels.shape[2]]
        rows = pixels.reshape(pixels.shape[0], -1)
    raw = b"".join(b"\x00" + row.tobytes() for row in rows)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)

    header = struct.pack(">IIBBBBB", pixels.shape[1], pixels.shape[0], 8, color, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9))
                + chunk(b"IEND", b""))


def interpolation(out_size, in_size, resized, offset):
    """Rows: output pixels; columns: source pixels (tf.image.resize bilinear, half-pixel)."""
    m = np.zeros((out_size, in_size))
    scale = in_size / resized
    for o in range(out_size):
        x = (o + offset + 0.5) * scale - 0.5
        lower = int(np.clip(np.floor(x), 0, in_size - 1))
        upper = int(np.clip(np.ceil(x), 0, in_size - 1))
        frac = x - np.floor(x)
        m[o, lower] += 1 - frac
        m[o, upper] += frac
    return m


def resize_crop(img, height, width):
    h, w = img.shape[:2]
    s = max(height / h, width / w)
    rh, rw = max(height, int(np.floor(h * s + 0.5))), max(width, int(np.floor(w * s + 0.5)))
    ry = interpolation(height, h, rh, (rh - height) // 2)
    rx = interpolation(width, w, rw, (rw - width) // 2)
    return np.stack([ry @ img[:, :, c].astype(np.float64) @ rx.T for c in range(img.shape[2])], axis=2)


def as_channels(pixels, channels):
    rgb = pixels if pixels.ndim == 3 else np.repeat(pixels[:, :, None], 3, axis=2)
    rgb = rgb[:, :, :3].astype(np.int64)
    if channels == 3:
        return rgb
    gray = (19595 * rgb[:, :, 0] + 38470 * rgb[:, :, 1] + 7471 * rgb[:, :, 2] + 0x8000) >> 16
    return gray[:, :, None]


def preprocess(x, mode):
    if mode == "unit":
        return x / 255.0
    if mode == "tf":
        return x / 127.5 - 1.0
    if mode == "torch":
        return (x / 255.0 - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225])
    if mode == "caffe":
        return x[:, :, ::-1] - np.array([103.939, 116.779, 123.68])
    return x


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "data")
    root = os.path.join(outdir, "images")
    rng = np.random.default_rng(7)
    images = {
        "labeled/cat/a.png": rng.integers(0, 256, (6, 8, 3), dtype=np.uint8),
        "labeled/cat/B.png": rng.integers(0, 256, (4, 4, 3), dtype=np.uint8),
        "labeled/dog/c.png": rng.integers(0, 256, (5, 5), dtype=np.uint8),
        "labeled/dog/d.PNG": rng.integers(0, 256, (9, 6, 4), dtype=np.uint8),
        "unlabeled/x.png": rng.integers(0, 256, (7, 3, 3), dtype=np.uint8),
        "unlabeled/y.png": rng.integers(0, 256, (3, 3, 3), dtype=np.uint8),
        "broken/only/ok.png": rng.integers(0, 256, (4, 4, 3), dtype=np.uint8),
    }
    for name, pixels in images.items():
        os.makedirs(os.path.dirname(os.path.join(root, name)), exist_ok=True)
        png(os.path.join(root, name), pixels)
    # Not images, or not readable ones: skipped by name, or named in the error.
    with open(os.path.join(root, "labeled", "cat", "notes.txt"), "w") as f:
        f.write("not an image\n")
    png(os.path.join(root, "labeled", "dog", ".hidden.png"), np.zeros((2, 2), dtype=np.uint8))
    with open(os.path.join(root, "broken", "only", "bad.png"), "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + b"garbage" * 4)
    try:
        import torch
        import torchvision.io
        flat = torch.full((3, 16, 16), 0, dtype=torch.uint8)
        flat[0], flat[1], flat[2] = 200, 100, 50
        os.makedirs(os.path.join(root, "jpeg"), exist_ok=True)
        with open(os.path.join(root, "jpeg", "flat.jpg"), "wb") as f:
            f.write(torchvision.io.encode_jpeg(flat, quality=100).numpy().tobytes())
    except ImportError:
        pass

    # Order: class folders sorted, files sorted by name (bytes: "B.png" before "a.png").
    expected = {}
    for folder, names in (("labeled", ["cat/B.png", "cat/a.png", "dog/c.png", "dog/d.PNG"]),
                          ("unlabeled", ["x.png", "y.png"])):
        for height, width, channels, mode in ((4, 4, 3, "unit"), (3, 5, 1, "none"), (4, 4, 3, "caffe"),
                                              (4, 4, 3, "torch"), (2, 2, 1, "tf")):
            key = f"{folder} {height}x{width}x{channels} {mode}"
            values = []
            for name in names:
                x = resize_crop(as_channels(images[f"{folder}/{name}"], channels), height, width)
                # Quantscope keeps resized pixels as float32, then preprocesses.
                x = x.astype(np.float32).astype(np.float64)
                values.extend(float(v) for v in np.float32(preprocess(x, mode)).ravel())
            expected[key] = {"images": len(names), "values": values,
                             "labels": [0, 0, 1, 1] if folder == "labeled" else None}
    with open(os.path.join(outdir, "images-expected.json"), "w") as f:
        json.dump(expected, f, indent=0)


if __name__ == "__main__":
    main()
