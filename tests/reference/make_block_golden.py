#!/usr/bin/python3
# make_block_golden.py: writes tests/data/block-golden.json for the group-wise and block formats.
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Usage: /usr/bin/python3 tests/reference/make_block_golden.py [OUTPUT]
# Needs numpy (Debian python3-numpy).
#
# Written from the definitions, not from Quantscope's C:
#   - element formats (FP8 E4M3/E5M2, FP6 E2M3/E3M2, FP4 E2M1) from their
#     sign/exponent/mantissa/bias definition (OCP 8-bit FP spec, OCP
#     Microscaling Formats (MX) v1.0, section 5.3): every representable
#     magnitude is enumerated, an input takes the nearest one, a tie the one
#     with an even mantissa, anything past the largest finite value saturates;
#   - MX (OCP MX v1.0, section 6.3): blocks of 32 along the reduction axis,
#     shared scale X = 2^(floor(log2(amax)) - emax_elem) stored as E8M0
#     (exponent clamped to [-127, 127]; an all-zero block gets 2^-127),
#     elements = the element format's rounding of x / X; MXINT8 elements are
#     8-bit two's complement with an implicit 2^-6, rounded half to even and
#     saturated to [-127, 127] (the symmetric range of Microsoft's
#     microxcaling reference);
#   - NVFP4 (NVIDIA ModelOpt NVFP4QTensor): blocks of 16, E2M1 elements,
#     float32 tensor scale amax / (448 * 6), block scale (amax_block / 6) /
#     tensor scale cast to E4M3, elements = E2M1 (x / (block * tensor));
#     a block scale that is 0 (all-zero block, or underflow) gives zeros;
#   - NF4 (QLoRA, bitsandbytes): blocks of 64, float32 absmax, elements the
#     nearest of the 16 NormalFloat levels of x * (1 / absmax), ties to the
#     lower level (bitsandbytes compares against the midpoints with >);
#     an all-zero block gets the index of 0.0 (7);
#   - integer groups: torch.ao.quantization's per-channel min/max observer
#     and torch.quantize_per_channel with one channel per group, written out
#     in float32 numpy from PyTorch's formulas (the same formulas
#     tests/reference/make_torch_golden.py checks against torch itself).
# Blocks: for a tensor with output-channel axis c, each channel's elements in
# row-major order of the other axes form a run; a block is G consecutive
# elements of a run (docs/block-formats.md).
#
# Every float32 is written as its bit pattern.

import json
import math
import struct
import sys

import numpy as np

NF4_LEVELS = [
    -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
    -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
    0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
    0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
]

# name: (exponent bits, mantissa bits, bias, magnitude codes that are not finite)
ELEMENTS = {
    "e4m3": (4, 3, 7, {0x7f}),
    "e5m2": (5, 2, 15, set(range(0x7c, 0x80))),
    "e2m3": (2, 3, 1, set()),
    "e3m2": (3, 2, 3, set()),
    "e2m1": (2, 1, 1, set()),
}


def f32(x):
    return float(np.float32(x))


def bits(x):
    return struct.unpack("<I", struct.pack("<f", float(x)))[0]


class Element:
    def __init__(self, name):
        e, m, bias, special = ELEMENTS[name]
        self.mbits = m
        self.sign_bit = 1 << (e + m)
        self.mags = []  # (value, code) for finite magnitudes, increasing
        for code in range(1 << (e + m)):
            if code in special:
                continue
            E, M = code >> m, code & ((1 << m) - 1)
            if E == 0:
                v = M / (1 << m) * 2.0 ** (1 - bias)
            else:
                v = (1 + M / (1 << m)) * 2.0 ** (E - bias)
            self.mags.append((v, code))
        self.max = self.mags[-1][0]
        self.values = [v for v, _ in self.mags]

    def decode(self, code):
        mag = code & (self.sign_bit - 1)
        for v, c in self.mags:
            if c == mag:
                return -v if code & self.sign_bit else v
        return float("nan")

    def encode(self, x):
        sign = self.sign_bit if math.copysign(1.0, x) < 0 else 0
        a = abs(x)
        if a >= self.max:
            return sign | self.mags[-1][1]
        i = int(np.searchsorted(self.values, a, side="right")) - 1
        lo_v, lo_c = self.mags[i]
        hi_v, hi_c = self.mags[i + 1]
        d_lo, d_hi = a - lo_v, hi_v - a
        if d_lo < d_hi or (d_lo == d_hi and lo_c % 2 == 0):
            return sign | lo_c
        return sign | hi_c


E = {name: Element(name) for name in ELEMENTS}

MX = {  # format: (element, emax)
    "mxfp8-e4m3": ("e4m3", 8),
    "mxfp8-e5m2": ("e5m2", 15),
    "mxfp6-e2m3": ("e2m3", 2),
    "mxfp6-e3m2": ("e3m2", 4),
    "mxfp4": ("e2m1", 2),
    "mxint8": (None, 0),
}
ELEMENT_BITS = {"mxfp8-e4m3": 8, "mxfp8-e5m2": 8, "mxfp6-e2m3": 6, "mxfp6-e3m2": 6,
                "mxfp4": 4, "mxint8": 8, "nvfp4": 4, "nf4": 4}
DEFAULT_BLOCK = {"nvfp4": 16, "nf4": 64}


def block_indices(shape, axis, G):
    """The element indices (row-major) of every block, channel-major."""
    n = int(np.prod(shape)) if shape else 1
    idx = np.arange(n).reshape(shape) if shape else np.arange(1)
    if len(shape) <= 1:
        runs = [idx.reshape(-1)]
    else:
        moved = np.moveaxis(idx, axis, 0)
        runs = [moved[c].reshape(-1) for c in range(moved.shape[0])]
    blocks = []
    for run in runs:
        for start in range(0, len(run), G):
            blocks.append((len(blocks), run[start:start + G]))
    return [b for _, b in blocks]


def mx_block(fmt, x):
    elem_name, emax = MX[fmt]
    amax = float(np.max(np.abs(x)))
    if amax == 0.0:
        e = -127
    else:
        m, ex = math.frexp(amax)
        e = max(-127, min(127, ex - 1 - emax))
    X = 2.0 ** e
    codes, recon, clipped = [], [], 0
    for v in x.astype(np.float64):
        s = v / X
        if fmt == "mxint8":
            q = int(np.clip(np.rint(s * 64.0), -127, 127))
            codes.append(q)
            recon.append(f32(q / 64.0 * X))
            clipped += abs(s) > 127.0 / 64.0
        else:
            el = E[elem_name]
            c = el.encode(s)
            codes.append(c)
            recon.append(f32(el.decode(c) * X))
            clipped += abs(s) > el.max
    return codes, f32(X), e + 127, recon, clipped


def nvfp4_block(x, tensor_scale):
    el, e4m3 = E["e2m1"], E["e4m3"]
    amax = np.float32(np.max(np.abs(x)))
    codes, recon, clipped = [], [], 0
    if amax == 0:
        return [0] * len(x), 0.0, 0, [0.0] * len(x), 0
    block = np.float32(amax / np.float32(6.0))
    scode = e4m3.encode(float(np.float32(block / np.float32(tensor_scale))))
    scale = np.float32(np.float32(e4m3.decode(scode)) * np.float32(tensor_scale))
    if scale == 0:
        return [0] * len(x), 0.0, scode, [0.0] * len(x), 0
    for v in x:
        s = float(np.float32(np.float32(v) / scale))
        c = el.encode(s)
        codes.append(c)
        recon.append(f32(np.float32(el.decode(c)) * scale))
        clipped += abs(s) > el.max
    return codes, float(scale), scode, recon, clipped


def nf4_block(x):
    absmax = np.float32(np.max(np.abs(x)))
    if absmax == 0:
        return [7] * len(x), 0.0, [0.0] * len(x)
    inv = np.float32(np.float32(1.0) / absmax)
    mids = [np.float32((NF4_LEVELS[i] + NF4_LEVELS[i + 1]) / 2.0) for i in range(15)]
    codes, recon = [], []
    for v in x:
        s = np.float32(np.float32(v) * inv)
        c = sum(1 for m in mids if s > m)
        codes.append(c)
        recon.append(f32(np.float32(NF4_LEVELS[c]) * absmax))
    return codes, float(absmax), recon


def int_groups(blocks_x, bits_, mapping):
    """torch.ao.quantization's per-channel observer and quantize_per_channel,
    one channel per group, in float32 as PyTorch computes them
    (docs: shared/design/numerics.md section 2)."""
    qmin, qmax = -(1 << (bits_ - 1)), (1 << (bits_ - 1)) - 1
    f = np.float32
    eps = f(2.0 ** -23)
    out = []
    for b in blocks_x:
        b = np.asarray(b, dtype=np.float32)
        min_neg = min(f(np.min(b)), f(0.0))
        max_pos = max(f(np.max(b)), f(0.0))
        if mapping == "symmetric":
            scale = f(max(-min_neg, max_pos) / f((qmax - qmin) / 2))
            scale = max(scale, eps)
            zp = 0
        else:
            scale = f(f(max_pos - min_neg) / f(qmax - qmin))
            scale = max(scale, eps)
            zp = int(np.clip(qmin - int(np.rint(f(min_neg / scale))), qmin, qmax))
        inv = f(f(1.0) / scale)
        v = (b * inv).astype(np.float32)
        codes = np.clip(zp + np.rint(v), qmin, qmax).astype(np.int64)
        recon = (f(1.0) * (codes - zp).astype(np.float32) * scale).astype(np.float32)
        # Clipped: the rounded code falls outside the range (as Quantscope's
        # per-tensor statistics count it).
        r = np.rint(v)
        clipped = int(np.sum((r < qmin - zp) | (r > qmax - zp)))
        out.append((list(codes), float(scale), zp, [float(r) for r in recon], clipped))
    return out, qmin, qmax


def run_case(tensor, fmt, bits_, mapping, G):
    x = tensor["values"]
    shape, axis = tensor["shape"], tensor["axis"]
    blocks = block_indices(shape, axis, G)
    flat = x.reshape(-1)
    n = flat.size
    codes = np.zeros(n, dtype=np.int64)
    recon = np.zeros(n, dtype=np.float64)
    scales, scale_codes, zero_points, clipped = [], [], [], 0
    amax_t = np.float32(np.max(np.abs(flat)))
    tensor_scale = np.float32(amax_t / np.float32(448.0 * 6.0))
    if fmt == "int":
        results, qmin, qmax = int_groups([flat[b] for b in blocks], bits_, mapping)
        levels_total = qmax - qmin + 1
    for i, b in enumerate(blocks):
        xb = flat[b]
        if fmt in MX:
            c, s, sc, r, cl = mx_block(fmt, xb)
        elif fmt == "nvfp4":
            c, s, sc, r, cl = nvfp4_block(xb, tensor_scale)
        elif fmt == "nf4":
            c, s, r = nf4_block(xb)
            sc, cl = 0, 0
        else:
            c, s, zp, r, cl = results[i]
            sc = 0
            zero_points.append(zp)
        codes[b] = c
        recon[b] = r
        scales.append(s)
        scale_codes.append(sc)
        clipped += cl
    x64 = flat.astype(np.float64)
    err2 = float(np.sum((recon - x64) ** 2))
    x2 = float(np.sum(x64 * x64))
    r2 = float(np.sum(recon * recon))
    nb = len(blocks)
    if fmt == "int":
        total_bits = bits_ * n + 32 * nb + (bits_ * nb if mapping == "asymmetric" else 0)
    elif fmt == "nvfp4":
        total_bits = 4 * n + 8 * nb + 32
    elif fmt == "nf4":
        total_bits = 4 * n + 32 * nb
    else:
        total_bits = ELEMENT_BITS[fmt] * n + 8 * nb
    return {
        "tensor": tensor["name"],
        "format": fmt,
        "bits": bits_,
        "mapping": mapping,
        "group_size": G,
        "block_count": nb,
        "codes": [int(c) for c in codes],
        "scales": [bits(s) for s in scales],
        "scale_codes": [int(c) for c in scale_codes],
        "zero_points": zero_points if fmt == "int" else None,
        "tensor_scale": bits(tensor_scale) if fmt == "nvfp4" else bits(1.0),
        "recon": [bits(r) for r in recon],
        "mse": err2 / n,
        "sqnr_db": 10 * math.log10(x2 / err2) if err2 > 0 else None,
        "cosine": float(np.sum(x64 * recon)) / math.sqrt(x2 * r2) if x2 > 0 and r2 > 0 else None,
        "clipped": int(clipped),
        "levels_used": len(set(int(c) for c in codes)),
        "bits_per_weight": total_bits / n,
    }


def make_tensors():
    rng = np.random.default_rng(20261204)
    dense = rng.normal(0, 0.05, (70, 5)).astype(np.float32)
    dense[32:64, 1] *= 300.0        # a huge block
    dense[0:32, 3] *= 1e-4          # a tiny block
    dense[32:64, 4] = 0.0           # an all-zero block
    dense[[3, 17, 40], 0] = 0.0
    dense[5, 2] = -0.0
    conv = rng.normal(0, 0.2, (3, 3, 7, 4)).astype(np.float32)
    conv[0, 0, :, 2] = 0.0
    bias = rng.normal(0, 0.1, (37,)).astype(np.float32)
    bias[0] = 0.0
    bias[33] = -3e29                # extreme magnitudes in one short block
    bias[34] = 1e-30
    torch_conv = rng.normal(0, 0.1, (4, 7, 3, 3)).astype(np.float32)
    transposed = rng.normal(0, 0.1, (3, 3, 4, 5)).astype(np.float32)
    return [
        {"name": "dense", "values": dense, "shape": [70, 5], "axis": 1},
        {"name": "conv", "values": conv, "shape": [3, 3, 7, 4], "axis": 3},
        {"name": "bias", "values": bias, "shape": [37], "axis": 0},
        {"name": "torch_conv", "values": torch_conv, "shape": [4, 7, 3, 3], "axis": 0},
        {"name": "transposed", "values": transposed, "shape": [3, 3, 4, 5], "axis": 2},
    ]


def converter_tables():
    """Every code's value, and encodings of every grid value, every midpoint
    and their float32 neighbours, for the element formats."""
    out = {}
    for name in ["e2m3", "e3m2", "e2m1"]:
        el = E[name]
        codes = 1 << (1 + ELEMENTS[name][0] + ELEMENTS[name][1])
        decode = [bits(el.decode(c)) for c in range(codes)]
        points = set()
        vals = el.values + [el.max * 2, el.max + 0.25, 1e-30, 1e30]
        mids = [(a + b) / 2 for a, b in zip(el.values, el.values[1:])]
        mids.append(el.max + (el.values[-1] - el.values[-2]) / 2)
        for v in vals + mids:
            f = np.float32(v)
            for g in (np.nextafter(f, np.float32(-np.inf)), f, np.nextafter(f, np.float32(np.inf))):
                if g >= 0:
                    points.add(float(g))
        inputs = sorted(points)
        inputs = inputs + [-v for v in inputs] + [float("inf"), float("-inf")]
        out[name] = {
            "decode": decode,
            "inputs": [bits(v) for v in inputs],
            "codes": [el.encode(v) for v in inputs],
        }
    return out


def main():
    output = sys.argv[1] if len(sys.argv) > 1 else "tests/data/block-golden.json"
    tensors = make_tensors()
    cases = []
    plans = [(f, 8, "symmetric", DEFAULT_BLOCK.get(f, 32)) for f in MX] + [
        ("nvfp4", 4, "symmetric", 16),
        ("nf4", 4, "symmetric", 64),
        ("mxfp4", 4, "symmetric", 16),   # a block size other than the format's own
        ("nf4", 4, "symmetric", 32),
        ("int", 4, "symmetric", 32),
        ("int", 4, "asymmetric", 32),
        ("int", 8, "symmetric", 16),
        ("int", 8, "asymmetric", 64),
    ]
    for t in tensors:
        for fmt, b, mapping, G in plans:
            cases.append(run_case(t, fmt, b, mapping, G))
    doc = {
        "tensors": [{"name": t["name"], "shape": t["shape"], "axis": t["axis"],
                     "values": [bits(v) for v in t["values"].reshape(-1)]} for t in tensors],
        "cases": cases,
        "converters": converter_tables(),
    }
    with open(output, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
