#!/usr/bin/python3
# make_number_golden.py: writes tests/data/number-golden.json, every float encoding of a few hundred values.
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Usage: /usr/bin/python3 tests/reference/make_number_golden.py [OUTPUT]
# Needs numpy (Debian python3-numpy). Independent of the C code:
#   float64, float32, float16  numpy casts of the float64 value and their bit views
#                              (numpy rounds double -> half directly, to nearest even)
#   bfloat16, FP8 E4M3, FP8 E5M2, FP4 E2M1
#       an exact enumeration (fractions) of every finite magnitude of the
#       format, plus the value one step past the largest; the nearest wins,
#       a tie goes to the even code. Landing on the step past the largest means
#       infinity for bfloat16 (IEEE) and saturation to the largest for the
#       others (E4M3, E2M1 have no infinity; Quantscope saturates E5M2 too).
#       bfloat16 is cross-checked against float32 bit truncation with
#       round-to-nearest-even wherever the value is exactly a float32.
#
# Per value: "value_bits" (the float64 pattern, so -0 and NaN survive), and per
# format the fields qs_number_encode() reports. "step" is the distance to the
# next representable magnitude above |decoded| (at the largest finite value, the
# distance to the one below), found in the enumeration or with numpy.spacing.

import bisect
import json
import math
import struct
import sys
from fractions import Fraction

import numpy as np


def bits_of_double(x):
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def double_of_bits(b):
    return struct.unpack("<d", struct.pack("<Q", b))[0]


def round_half_even_pick(candidates, mag):
    """candidates: sorted (value, code) list; the nearest, ties to the even code."""
    values = [v for v, _ in candidates]
    hi = bisect.bisect_left(values, mag)
    if hi == len(values):
        return candidates[-1]
    if values[hi] == mag or hi == 0:
        return candidates[hi]
    lo = hi - 1
    below, above = mag - values[lo], values[hi] - mag
    if below != above:
        return candidates[lo] if below < above else candidates[hi]
    return candidates[lo] if candidates[lo][1] % 2 == 0 else candidates[hi]


class Enumerated:
    def __init__(self, name, width, exp_bits, man_bits, bias, max_code, nan_code, ieee):
        self.name, self.width, self.exp_bits, self.man_bits, self.bias = name, width, exp_bits, man_bits, bias
        self.max_code, self.nan_code, self.ieee = max_code, nan_code, ieee
        self.values = [(self.exact(c), c) for c in range(max_code + 2)]  # + the step past max
        assert all(a[0] < b[0] for a, b in zip(self.values, self.values[1:]))

    def exact(self, code):
        e, m = code >> self.man_bits, code & ((1 << self.man_bits) - 1)
        if e == 0:
            return Fraction(m, 1 << self.man_bits) * Fraction(2) ** (1 - self.bias)
        return (1 + Fraction(m, 1 << self.man_bits)) * Fraction(2) ** (e - self.bias)

    def encode(self, x):
        """(code, saturated, overflowed); code None when there is none (NaN in E2M1)."""
        sign = 1 << (self.width - 1) if math.copysign(1.0, x) < 0 else 0
        if math.isnan(x):
            return (None if self.nan_code is None else sign | self.nan_code), False, False
        inf_code = (1 << self.exp_bits) - 1 << self.man_bits
        if math.isinf(x):
            return (sign | inf_code if self.ieee else sign | self.max_code), not self.ieee, False
        _, code = round_half_even_pick(self.values, abs(Fraction(x)))
        if code > self.max_code:
            return (sign | inf_code, False, True) if self.ieee else (sign | self.max_code, True, False)
        return sign | code, False, False

    def step(self, code):
        mag = code & ((1 << (self.width - 1)) - 1)
        if mag == self.max_code:
            return float(self.values[mag][0] - self.values[mag - 1][0])
        return float(self.values[mag + 1][0] - self.values[mag][0])

    def decode(self, code):
        mag = float(self.exact(code & ((1 << (self.width - 1)) - 1)))
        return -mag if code >> (self.width - 1) else mag


BF16 = Enumerated("bfloat16", 16, 8, 7, 127, 0x7F7F, 0x7FC0, True)
E4M3 = Enumerated("fp8-e4m3", 8, 4, 3, 7, 0x7E, 0x7F, False)
E5M2 = Enumerated("fp8-e5m2", 8, 5, 2, 15, 0x7B, 0x7E, False)
E2M1 = Enumerated("fp4-e2m1", 4, 2, 1, 1, 0x7, None, False)
ENUMERATED = {f.name: f for f in (BF16, E4M3, E5M2, E2M1)}

NUMPY = {"float64": (np.float64, np.uint64, 64, 11, 52, 1023),
         "float32": (np.float32, np.uint32, 32, 8, 23, 127),
         "float16": (np.float16, np.uint16, 16, 5, 10, 15)}

ORDER = ["float64", "float32", "float16", "bfloat16", "fp8-e4m3", "fp8-e5m2", "fp4-e2m1"]
LAYOUT = {"bfloat16": (16, 8, 7, 127), "fp8-e4m3": (8, 4, 3, 7), "fp8-e5m2": (8, 5, 2, 15), "fp4-e2m1": (4, 2, 1, 1)}


def fields(name, code, width, exp_bits, man_bits, bias):
    sign = code >> (width - 1)
    e = (code >> man_bits) & ((1 << exp_bits) - 1)
    m = code & ((1 << man_bits) - 1)
    all_ones = (1 << exp_bits) - 1
    if e == 0:
        klass = "zero" if m == 0 else "subnormal"
    elif e == all_ones and name == "fp8-e4m3":
        klass = "nan" if m == (1 << man_bits) - 1 else "normal"
    elif e == all_ones and name != "fp4-e2m1":
        klass = "inf" if m == 0 else "nan"
    else:
        klass = "normal"
    unbiased = None if klass in ("inf", "nan") else (1 - bias if e == 0 else e - bias)
    return {"bits": "0x%0*x" % (width // 4, code), "sign": sign, "exponent_biased": e,
            "exponent_unbiased": unbiased, "mantissa": "0x%x" % m, "class": klass}


def finite_or_none(x):
    return x if math.isfinite(x) else None


def encode_numpy(name, x):
    ftype, utype, width, exp_bits, man_bits, bias = NUMPY[name]
    with np.errstate(over="ignore", invalid="ignore"):
        f = np.array([x], dtype=np.float64).astype(ftype)
    code = int(f.view(utype)[0])
    out = fields(name, code, width, exp_bits, man_bits, bias)
    decoded = float(f[0])
    out["decoded"] = finite_or_none(decoded)
    out["error"] = finite_or_none(decoded - x) if math.isfinite(decoded) and math.isfinite(x) else None
    if math.isfinite(decoded):
        a = ftype(abs(decoded))
        with np.errstate(over="ignore"):
            up = np.nextafter(a, ftype(np.inf))
        step = float(up) - float(a) if np.isfinite(up) else float(a) - float(np.nextafter(a, ftype(0)))
        out["step"] = step
    else:
        out["step"] = None
    out["saturated"] = False
    out["overflowed"] = bool(math.isfinite(x) and math.isinf(decoded))
    return out


def encode_enumerated(name, x):
    fmt = ENUMERATED[name]
    code, saturated, overflowed = fmt.encode(x)
    if code is None:
        return {"bits": None, "class": "nan", "decoded": None, "error": None, "step": None,
                "saturated": False, "overflowed": False}
    out = fields(name, code, *LAYOUT[name])
    if out["class"] in ("inf", "nan"):
        out.update(decoded=None, error=None, step=None)
    else:
        decoded = fmt.decode(code)
        out["decoded"] = decoded
        out["error"] = finite_or_none(decoded - x) if math.isfinite(x) else None
        out["step"] = fmt.step(code)
    out["saturated"], out["overflowed"] = saturated, overflowed
    if name == "bfloat16" and math.isfinite(x) and abs(x) <= np.finfo(np.float32).max and float(np.float32(x)) == x:
        check_bf16_by_truncation(x, code)
    return out


def check_bf16_by_truncation(x, code):
    b = int(np.array([x], dtype=np.float32).view(np.uint32)[0])
    rounded = (b + 0x7FFF + ((b >> 16) & 1)) >> 16
    assert rounded == code, (x, hex(rounded), hex(code))


def values():
    vs = [8.625, -8.625, 0.1, -0.1, 0.0, -0.0, 1.0, -1.0, 0.5, 2.0, 3.0, 1e-40, -1e-40, 1e-300, 5e-324,
          1e-45, 1.5e-45, 448.0, 449.0, 464.0, 465.0, 480.0, -480.0, 500.0, 57344.0, 61439.0, 61440.0,
          65504.0, 65519.0, 65520.0, 65536.0, 1e5, 1e39, -1e39, 3.4028234663852886e38, 3.4e38, 1e308,
          math.inf, -math.inf, math.nan, 6.0, 7.0, 6.5, 8.0, 5.5, 5.0, 4.5, 2.5, 1.25, 1.75, 0.75, 0.25,
          -0.25, 0.2, 0.3, 3.14159, -2.71828, 100.0, 1000.0, 12345.678, 1 / 3, 2 / 3, 0.9, 0.99, 0.999,
          # double-rounding traps: just above a tie of the target, below float32 precision
          1 + 2 ** -11 + 2 ** -40, 1 + 2 ** -8 + 2 ** -40, 1 + 2 ** -4 + 2 ** -40, 1 + 2 ** -3 + 2 ** -40,
          1 + 2 ** -11 - 2 ** -40, 1 + 2 ** -8 - 2 ** -40, 1 + 2 ** -4 - 2 ** -40]
    # Each format's smallest subnormal, largest subnormal, smallest normal, and
    # the ties at half the smallest subnormal and between the first two.
    for _, exp_bits, man_bits, bias in [(0, 5, 10, 15), (0, 8, 7, 127), (0, 8, 23, 127), (0, 4, 3, 7),
                                        (0, 5, 2, 15), (0, 2, 1, 1), (0, 11, 52, 1023)]:
        tiny = 2.0 ** (1 - bias - man_bits)
        for v in (tiny, tiny / 2, tiny * 1.5, tiny * 0.75, tiny * 2.5, 2.0 ** (1 - bias) - tiny,
                  2.0 ** (1 - bias), 2.0 ** (1 - bias) - tiny / 2):
            if v > 0:
                vs += [v, -v]
    # Ties between neighbouring magnitudes (all of E2M1's, a third of E4M3's,
    # a fifth of E5M2's), each with the double just above it.
    for fmt, stride in ((E4M3, 3), (E5M2, 5), (E2M1, 1)):
        mags = [float(v) for v, _ in fmt.values]
        for a, b in list(zip(mags, mags[1:]))[::stride]:
            mid = (a + b) / 2
            vs += [mid, np.nextafter(mid, math.inf)]
    # fp16 ties near 1, 1000 and in the subnormals.
    for base in (1.0, 1000.0, 2.0 ** -20):
        spacing = float(np.spacing(np.float16(base)))
        vs += [base + spacing / 2, base + 1.5 * spacing, -(base + spacing / 2)]
    rng = np.random.default_rng(20261204)
    vs += list(rng.choice([-1, 1], 40) * 10.0 ** rng.uniform(-12, 12, 40))
    return [float(v) for v in vs] + [double_of_bits(0xFFF8000000000000)]  # -NaN


def main():
    out_path = sys.argv[1] if len(sys.argv) > 1 else "tests/data/number-golden.json"
    cases = []
    for x in values():
        encodings = {}
        for name in ORDER:
            encodings[name] = encode_numpy(name, x) if name in NUMPY else encode_enumerated(name, x)
        cases.append({"value_bits": "0x%016x" % bits_of_double(x), "encodings": encodings})
    with open(out_path, "w") as f:
        f.write("{\"generator\": \"tests/reference/make_number_golden.py\",\n \"cases\": [\n")
        f.write(",\n".join(json.dumps(c, separators=(",", ":")) for c in cases))
        f.write("\n]}\n")
    print(f"{len(cases)} values written to {out_path}")


if __name__ == "__main__":
    main()
