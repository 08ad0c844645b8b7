#!/usr/bin/python3
# make_float_golden.py: writes tests/data/float-golden.txt from references independent of the C code.
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Usage: /usr/bin/python3 tests/reference/make_float_golden.py [OUTPUT]
# Needs numpy and torch (Debian python3-numpy, python3-torch 1.13).
#
# One line per float32 input:  f32 fp16 bf16 e4m3 e5m2  (lower-case hex bits)
#   fp16  numpy's astype(float16)
#   bf16  torch's .to(torch.bfloat16), which rounds to nearest even
#   e4m3, e5m2  the exact-fraction reference below (OCP FP8: E4M3 bias 7,
#         max 448, NaN only S.1111.111; E5M2 bias 15, max 57344)
# Quantscope saturates on overflow, numpy and torch do not: where either
# library returns an infinity for a finite or infinite input, the file records
# the largest finite value with the input's sign instead. NaN inputs are
# recorded as the quiet NaN with the input's sign (the libraries' NaN patterns
# differ, so NaN lines are written from the reference once both agree it is NaN).
#
# The fraction reference also recomputes fp16 and bf16, and the script stops if
# it disagrees with numpy or torch on any finite, non-overflowing case, so the
# FP8 columns come from code checked against two libraries.

import bisect
import math
import struct
import sys
from fractions import Fraction

import numpy as np
import torch


class Format:
    """A binary float format described by its field widths, enumerated exactly."""

    def __init__(self, name, exp_bits, man_bits, bias, max_code, nan_code):
        self.name = name
        self.man_bits = man_bits
        self.bias = bias
        self.sign_bit = 1 << (exp_bits + man_bits)
        self.max_code = max_code
        self.nan_code = nan_code
        self.values = [self.value(code) for code in range(max_code + 1)]
        # Codes and magnitudes rise together, so index == code below.
        assert all(a < b for a, b in zip(self.values, self.values[1:]))

    def value(self, code):
        exponent = code >> self.man_bits
        mantissa = code & ((1 << self.man_bits) - 1)
        scale = Fraction(mantissa, 1 << self.man_bits)
        if exponent == 0:
            return scale * Fraction(2) ** (1 - self.bias)
        return (1 + scale) * Fraction(2) ** (exponent - self.bias)

    @property
    def max_value(self):
        return self.values[-1]

    def encode(self, x):
        """Round float x to nearest, ties to even, saturating."""
        sign = self.sign_bit if math.copysign(1.0, x) < 0 else 0
        if math.isnan(x):
            return sign | self.nan_code
        if math.isinf(x):
            return sign | self.max_code
        mag = abs(Fraction(x))
        if mag >= self.max_value:
            return sign | self.max_code
        hi = bisect.bisect_left(self.values, mag)
        if self.values[hi] == mag:
            return sign | hi
        lo = hi - 1
        below = mag - self.values[lo]
        above = self.values[hi] - mag
        if below < above:
            code = lo
        elif above < below:
            code = hi
        else:
            code = lo if lo % 2 == 0 else hi
        return sign | code


FP16 = Format("fp16", 5, 10, 15, 0x7BFF, 0x7E00)
BF16 = Format("bf16", 8, 7, 127, 0x7F7F, 0x7FC0)
E4M3 = Format("e4m3", 4, 3, 7, 0x7E, 0x7F)
E5M2 = Format("e5m2", 5, 2, 15, 0x7B, 0x7E)


def f32(x):
    return float(np.float32(x))


def f32_bits(x):
    return struct.unpack("<I", struct.pack("<f", x))[0]


def f32_from_bits(bits):
    return struct.unpack("<f", struct.pack("<I", bits))[0]


def next_up(x):
    return float(np.nextafter(np.float32(x), np.float32(np.inf)))


def next_down(x):
    return float(np.nextafter(np.float32(x), np.float32(-np.inf)))


def neighbourhood(fmt, codes):
    """Each value, the midpoint to its upper neighbour and both float32 neighbours
    of that midpoint. Above max the "neighbour" is the next value the format
    would have had without saturation."""
    out = []
    for code in codes:
        v = fmt.values[code]
        if code < fmt.max_code:
            nxt = fmt.values[code + 1]
        else:
            nxt = v + (v - fmt.values[code - 1])
        mid = (v + nxt) / 2
        for x in (float(v), float(mid)):
            assert Fraction(f32(x)) == Fraction(x), (fmt.name, code)
        m = float(mid)
        out += [float(v), m, next_down(m), next_up(m)]
    return out


def inputs():
    rng = np.random.default_rng(20240611)
    xs = [0.0, -0.0, 1.0, -1.0, math.inf, -math.inf, math.nan]

    # Every finite FP8 value and every tie between neighbours, both signs.
    for fmt in (E4M3, E5M2):
        for x in neighbourhood(fmt, range(0, fmt.max_code + 1)):
            xs += [x, -x]

    # fp16 has too many codes to take all with their midpoints and stay small:
    # the subnormal start, the subnormal/normal boundary, the top binade's end,
    # and a random sample.
    fp16_codes = set(range(0, 48)) | set(range(0x3E0, 0x420)) | set(range(0x7BC0, 0x7C00))
    fp16_codes |= set(int(c) for c in rng.integers(0, 0x7C00, 500))
    for x in neighbourhood(FP16, sorted(fp16_codes)):
        xs.append(-x if rng.random() < 0.5 else x)

    bf16_codes = set(range(0, 16)) | set(range(0x7F, 0x82)) | set(range(0x7F70, 0x7F80))
    bf16_codes |= set(int(c) for c in rng.integers(0, 0x7F80, 200))
    for x in neighbourhood(BF16, sorted(bf16_codes)):
        xs.append(-x if rng.random() < 0.5 else x)

    # Just past each maximum, by shrinking relative steps.
    for fmt in (FP16, BF16, E4M3, E5M2):
        mx = float(fmt.max_value)
        for k in range(1, 25):
            x = mx * (1 + 2.0 ** -k)
            if not math.isinf(f32(x)):
                xs += [f32(x), -f32(x)]
        xs += [mx * 2, mx * 1000, -mx * 4]
    xs += [3.4028234663852886e38, -3.4028234663852886e38]

    # Float32 subnormals, both tiny and the largest ones.
    for bits in list(range(1, 9)) + [0x400, 0x12345, 0x3FFFFF, 0x400000, 0x7FFFFE, 0x7FFFFF]:
        xs += [f32_from_bits(bits), -f32_from_bits(bits)]
    xs += [f32_from_bits(int(b)) for b in rng.integers(1, 0x800000, 30)]

    # Weight-like values at every scale the app meets.
    for exponent in range(-8, 6):
        xs += list(rng.standard_normal(140) * 10.0 ** exponent)

    seen = set()
    out = []
    for x in xs:
        bits = f32_bits(f32(x)) if not math.isnan(x) else 0x7FC00000
        if bits not in seen:
            seen.add(bits)
            out.append(bits)
    return out


def saturate(fmt, got, x):
    """The libraries overflow to infinity; Quantscope saturates."""
    inf_code = fmt.max_code + 1
    if got & ~fmt.sign_bit == inf_code:
        return (got & fmt.sign_bit) | fmt.max_code
    return got


def main():
    np.seterr(over="ignore")
    out_path = sys.argv[1] if len(sys.argv) > 1 else "tests/data/float-golden.txt"
    bits = inputs()
    arr = np.array(bits, dtype=np.uint32).view(np.float32)
    fp16 = arr.astype(np.float16).view(np.uint16)
    bf16 = torch.from_numpy(arr.copy()).to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)

    lines = []
    for i, b in enumerate(bits):
        x = f32_from_bits(b)
        h = int(fp16[i])
        bf = int(bf16[i])
        if math.isnan(x):
            # Both libraries give some NaN (torch 1.13 even 0xffff); record ours.
            assert h & 0x7C00 == 0x7C00 and h & 0x3FF != 0
            assert bf & 0x7F80 == 0x7F80 and bf & 0x7F != 0
            h = FP16.encode(x)
            bf = BF16.encode(x)
        else:
            h = saturate(FP16, h, x)
            bf = saturate(BF16, bf, x)
            assert h == FP16.encode(x), (hex(b), hex(h), hex(FP16.encode(x)))
            assert bf == BF16.encode(x), (hex(b), hex(bf), hex(BF16.encode(x)))
        lines.append("%08x %04x %04x %02x %02x" % (b, h, bf, E4M3.encode(x), E5M2.encode(x)))

    with open(out_path, "w") as f:
        f.write("# float32 fp16 bf16 e4m3 e5m2, hex bits; RNE, saturating.\n")
        f.write("# Generated by tests/reference/make_float_golden.py; do not edit.\n")
        f.write("\n".join(lines) + "\n")
    print("%d cases written to %s" % (len(lines), out_path))


if __name__ == "__main__":
    main()
