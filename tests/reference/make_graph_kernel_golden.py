#!/usr/bin/python3
# make_graph_kernel_golden.py: writes tests/data/graph-kernel-golden.json, TFLite's integer Add, Mul and Requantize on random cases.
# SPDX-License-Identifier: GPL-3.0-or-later
"""Generate the golden file tests/engine/test-graph-kernels.c checks the
scalar merge and rescale kernels against.

How to run (from the source root; plain Python 3, no third-party modules):

    /usr/bin/python3 tests/reference/make_graph_kernel_golden.py [OUTPUT]

OUTPUT defaults to tests/data/graph-kernel-golden.json.  The output is
deterministic (fixed seed), so a diff shows a real change.

Independent of the C code: the rules are transcribed from TFLite's reference
kernels with Python's unbounded integers, so an int32 overflow or a wrong
shift in C shows up as a mismatch:

  QuantizeMultiplier       tensorflow/lite/kernels/internal/quantization_util.cc
                           (frexp, round half away from zero of q * 2^31,
                           q == 2^31 halved, exponent < -31 gives zero)
  SaturatingRoundingDoublingHighMul, RoundingDivideByPOT   gemmlowp fixedpoint.h
  MultiplyByQuantizedMultiplier   tensorflow/lite/kernels/internal/common.h
                           (left shift first; here saturated to int32, which the
                           engine documents and TFLite leaves undefined)
  Add                      kernels/add.cc Prepare (left_shift 20, twice the
                           largest input scale) and reference/add.h, for n
                           inputs; Subtract negates the second scaled input
                           (reference_ops::Sub's raw_sub)
  Mul                      kernels/mul.cc Prepare and reference/mul.h
  Requantize               kernels/quantize.cc and reference/requantize.h

Scales are float32 values (as a model stores them) written as decimal
doubles that round-trip exactly; every multiplier is computed in double
from them, in TFLite's order of operations.  Each case carries the
parameters QsAddParams / QsMulParams / QsRescaleParams must hold, the
input codes and the expected output codes.  "extreme" marks cases whose
output scale is so much finer than the inputs' that the left shift
saturates: integer and float results may then differ by more than a code.
"""

import json
import math
import os
import random
import struct
import sys

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1
ADD_LEFT_SHIFT = 20


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def quantize_multiplier(real):
    """(multiplier, right_shift, left_shift) as TFLite's QuantizeMultiplier."""
    if real <= 0.0:
        return 0, 0, 0
    q, shift = math.frexp(real)
    scaled = q * (1 << 31)          # exact: a power-of-two scaling
    q_fixed = int(math.floor(scaled + 0.5))   # TfLiteRound: half away from zero (q > 0)
    assert q_fixed <= (1 << 31)
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0, 0
    assert shift <= 30, "cases stay below TFLite's saturation at 2^30"
    return q_fixed, max(-shift, 0), max(shift, 0)


def srdhm(a, b):
    if a == INT32_MIN and b == INT32_MIN:
        return INT32_MAX
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    # C's integer division truncates toward zero.
    num = ab + nudge
    q = abs(num) // (1 << 31)
    return q if num >= 0 else -q


def rounding_divide_by_pot(x, exponent):
    mask = (1 << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> exponent) + (1 if remainder > threshold else 0)


def saturate(x):
    return max(INT32_MIN, min(INT32_MAX, x))


def mbqm(x, multiplier, right_shift, left_shift):
    assert INT32_MIN <= x <= INT32_MAX
    if multiplier == 0:
        return 0
    x = saturate(x * (1 << left_shift))
    return rounding_divide_by_pot(srdhm(x, multiplier), right_shift)


def clamp(x, lo, hi):
    return max(lo, min(hi, x))


def random_scale(rng, lo=-4.0, hi=1.0):
    return f32(10.0 ** rng.uniform(lo, hi))


def random_zero(rng):
    return rng.choice([0, 255, 128, rng.randrange(256), rng.randrange(256)])


def random_act(rng, zero):
    r = rng.random()
    if r < 0.5:
        return 0, 255
    if r < 0.75:
        return zero, 255                      # a fused ReLU
    lo = rng.randrange(0, 200)
    return lo, rng.randrange(lo, 256)


def random_codes(rng, n):
    pattern = rng.random()
    if pattern < 0.15:
        return [rng.choice([0, 255]) for _ in range(n)]
    if pattern < 0.2:
        return [255] * n
    if pattern < 0.25:
        return [0] * n
    return [rng.randrange(256) for _ in range(n)]


def add_case(rng, n_inputs, subtract, scales, zeros, out_scale, out_zero, act, length):
    twice_max = 2.0 * max(scales)
    params = {"left_shift": ADD_LEFT_SHIFT, "input_multiplier": [], "input_shift": []}
    for s in scales:
        m, rs, ls = quantize_multiplier(s / twice_max)
        assert ls == 0
        params["input_multiplier"].append(m)
        params["input_shift"].append(rs)
    m, rs, ls = quantize_multiplier(twice_max / (float(1 << ADD_LEFT_SHIFT) * out_scale))
    params.update(output_multiplier=m, output_right_shift=rs, output_left_shift=ls)
    inputs = [random_codes(rng, length) for _ in range(n_inputs)]
    out = []
    for i in range(length):
        total = 0
        for j in range(n_inputs):
            shifted = (inputs[j][i] - zeros[j]) * (1 << ADD_LEFT_SHIFT)
            scaled = mbqm(shifted, params["input_multiplier"][j], params["input_shift"][j], 0)
            total += -scaled if (subtract and j == 1) else scaled
            assert INT32_MIN <= total <= INT32_MAX
        y = mbqm(total, params["output_multiplier"], params["output_right_shift"],
                 params["output_left_shift"]) + out_zero
        out.append(clamp(y, act[0], act[1]))
    return {"op": "add", "subtract": subtract, "input_scales": scales, "input_zeros": zeros,
            "output_scale": out_scale, "output_zero": out_zero, "act_min": act[0],
            "act_max": act[1], "params": params, "inputs": inputs, "expected": out}


def random_add(rng):
    n_inputs = rng.choice([1, 2, 2, 2, 3, 4, 6, 16])
    subtract = n_inputs == 2 and rng.random() < 0.4
    base = random_scale(rng)
    shape = rng.random()
    if shape < 0.3:
        scales = [base] * n_inputs           # one shared scale
    else:
        scales = [f32(base * 10.0 ** rng.uniform(-3.0, 3.0)) for _ in range(n_inputs)]
    zeros = [random_zero(rng) for _ in range(n_inputs)]
    # Output scales from far below to far above the inputs' (saturating both ways).
    out_scale = f32(max(scales) * 10.0 ** rng.uniform(-3.0, 2.0))
    extreme = rng.random() < 0.1
    if extreme:
        # Output steps far below the inputs': an output left shift that saturates.
        out_scale = f32(max(scales) * 10.0 ** rng.uniform(-8.0, -6.0))
    elif rng.random() < 0.1:
        out_scale = f32(max(scales) * n_inputs)   # an Average's sum
    out_zero = random_zero(rng)
    act = random_act(rng, out_zero)
    length = rng.choice([1, 7, 64, 200])
    case = add_case(rng, n_inputs, subtract, scales, zeros, out_scale, out_zero, act, length)
    case["extreme"] = extreme
    return case


def random_mul(rng):
    sa, sb = random_scale(rng), random_scale(rng, -3.0, 0.0)
    za, zb = random_zero(rng), random_zero(rng)
    extreme = rng.random() < 0.1
    out_scale = f32(sa * sb * 255.0 * 10.0 ** (rng.uniform(-9.0, -7.0) if extreme
                                               else rng.uniform(-2.5, 1.5)))
    out_zero = random_zero(rng)
    act = random_act(rng, out_zero)
    m, rs, ls = quantize_multiplier(sa * sb / out_scale)
    length = rng.choice([1, 8, 64, 200])
    b_len = rng.choice([d for d in (1, 2, 4, 8, 64, 200) if length % d == 0] + [length])
    a = random_codes(rng, length)
    b = random_codes(rng, b_len)
    out = [clamp(mbqm((a[i] - za) * (b[i % b_len] - zb), m, rs, ls) + out_zero, act[0], act[1])
           for i in range(length)]
    return {"op": "mul", "scale_a": sa, "zero_a": za, "scale_b": sb, "zero_b": zb,
            "output_scale": out_scale, "output_zero": out_zero, "act_min": act[0],
            "act_max": act[1], "extreme": extreme,
            "params": {"output_multiplier": m, "output_right_shift": rs, "output_left_shift": ls},
            "a": a, "b": b, "b_len": b_len, "expected": out}


def random_rescale(rng):
    s_in = random_scale(rng)
    z_in = random_zero(rng)
    r = rng.random()
    if r < 0.1:
        s_out, z_out = s_in, z_in                       # identity
    elif r < 0.2:
        s_out, z_out = s_in, random_zero(rng)           # a shift of the zero point only
    elif r < 0.3:
        s_out, z_out = f32(s_in * 10.0 ** rng.uniform(-8.5, -7.0)), random_zero(rng)
    else:
        s_out, z_out = f32(s_in * 10.0 ** rng.uniform(-3.0, 3.0)), random_zero(rng)
    m, rs, ls = quantize_multiplier(s_in / s_out)
    length = rng.choice([1, 16, 100, 256])
    codes = list(range(256)) if length == 256 else random_codes(rng, length)
    out = [clamp(mbqm(q - z_in, m, rs, ls) + z_out, 0, 255) for q in codes]
    return {"op": "rescale", "extreme": s_in / s_out > 1e6, "input_scale": s_in, "input_zero": z_in, "output_scale": s_out,
            "output_zero": z_out,
            "params": {"multiplier": m, "right_shift": rs, "left_shift": ls,
                       "identity": s_in == s_out and z_in == z_out},
            "in": codes, "expected": out}


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    output = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "tests", "data",
                                                                "graph-kernel-golden.json")
    rng = random.Random(20261204)
    cases = []
    for _ in range(120):
        cases.append(random_add(rng))
    for _ in range(80):
        cases.append(random_mul(rng))
    for _ in range(80):
        cases.append(random_rescale(rng))
    with open(output, "w") as f:
        json.dump({"generator": "tests/reference/make_graph_kernel_golden.py", "cases": cases},
                  f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
