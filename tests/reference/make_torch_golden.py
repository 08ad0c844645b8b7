#!/usr/bin/python3
# make_torch_golden.py: writes tests/data/torch-golden.json, PyTorch's own quantization results.
# SPDX-License-Identifier: GPL-3.0-or-later
"""Generate the PyTorch golden file the C test tests/quant/test-torch-golden.c checks.

How to run (from the source root; needs Debian's python3-torch, which only
/usr/bin/python3 sees, and numpy):

    /usr/bin/python3 tests/reference/make_torch_golden.py [OUTPUT]

OUTPUT defaults to tests/data/torch-golden.json next to this script's parent.
The output is deterministic (fixed seeds, no timestamps): rerunning it with the
same PyTorch must give the same bytes, so a diff shows a real change.  The test
suite reads only the committed JSON and never needs PyTorch.

Encoding: every float32 (inputs, scales, dequantized values) is stored as the
unsigned integer of its IEEE 754 binary32 bit pattern, never in decimal, so it
round-trips exactly.  Codes and zero points are plain integers.

The cases ("kind" field):

  observer   torch.ao.quantization.MinMaxObserver (per tensor) or
             PerChannelMinMaxObserver (per channel, "ch_axis" given) with the
             given dtype / qscheme / quant_min / quant_max.  Recorded: the
             inputs "x" (row-major, "shape"), the observer's "scale" (float32,
             one per channel) and "zero_point", the "codes" of
             torch.quantize_per_tensor / torch.quantize_per_channel(...)
             .int_repr() clamped to [quant_min, quant_max] (what
             torch.fake_quantize_per_*_affine does for custom sub-8-bit
             ranges), and, for tensors of at most 1024 elements, "dequant":
             torch's dequantized values (the fake-quant output for custom
             ranges; the script checks fake-quant == (codes - zp) * scale).
             "bits", "is_unsigned", "narrow" and "mapping" say which Quantscope
             scheme has the same code range.  Groups, by name prefix:
               cfg/      every supported (dtype, qscheme, range) on a few tensors
               edge/     constant, all-zero, single, huge (1e30, 3e38), tiny
                         (1e-10, 1e-30: scale clamps at eps = 2^-23, all codes
                         are the zero point), mixed huge/tiny, subnormals, -0.0,
                         random normals at scales 1e-6 .. 1e6
               size/     random normals of 1 .. 5000 elements
               channel/  per-channel, along axis 0, 1 and the last axis
             Skipped by design: quint8 *symmetric* with a custom range, where
             PyTorch's zero point is (quant_min + quant_max) // 2 (7 for 0..15)
             while Quantscope's unsigned symmetric zero point is 2^(bits-1).
  direct     torch.quantize_per_tensor(x, scale, zero_point, dtype) with a
             chosen float32 scale and zero point: values on rounding ties
             (k + 0.5) * scale for many k of both signs (exact ties when the
             scale is a power of two), out-of-range values (clamping), and
             values where x / scale and x * (1 / scale) round to different
             codes ("codes_if_divided" holds the codes a division would give:
             PyTorch multiplies by the float32 reciprocal).

NaN and infinities are not put through PyTorch: its observers propagate NaN
and its float-to-integer cast of an infinity is undefined behaviour.
Quantscope's semantics (NaN/Inf excluded from the range; +Inf -> qmax,
-Inf -> qmin, NaN -> the zero point) are tested by hand in the C test (see
the "nonfinite" entry of the JSON).
"""

import json
import os
import sys

import numpy as np
import torch
from torch.ao.quantization import MinMaxObserver, PerChannelMinMaxObserver

F32 = np.float32
DTYPES = {"quint8": torch.quint8, "qint8": torch.qint8}
DTYPE_RANGE = {"quint8": (0, 255), "qint8": (-128, 127)}
QSCHEMES = {
    ("tensor", "affine"): torch.per_tensor_affine,
    ("tensor", "symmetric"): torch.per_tensor_symmetric,
    ("channel", "affine"): torch.per_channel_affine,
    ("channel", "symmetric"): torch.per_channel_symmetric,
}
DEQUANT_MAX = 1024


def bits(a):
    """float32 values -> list of their uint32 bit patterns."""
    return np.ascontiguousarray(np.asarray(a, dtype=F32)).view(np.uint32).ravel().tolist()


def same_floats(a, b):
    """Bitwise equality, any NaN equal to any NaN."""
    a = np.asarray(a, dtype=F32).ravel()
    b = np.asarray(b, dtype=F32).ravel()
    if a.shape != b.shape:
        return False
    nan = np.isnan(a) & np.isnan(b)
    return bool(np.all(nan | (a.view(np.uint32) == b.view(np.uint32))))


def scheme_of(dtype, mapping, qmin, qmax):
    """The Quantscope scheme (bits, is_unsigned, narrow) with code range [qmin, qmax]."""
    if dtype == "quint8":
        assert qmin == 0
        b = (qmax + 1).bit_length() - 1
        assert qmax == (1 << b) - 1, (qmin, qmax)
        return b, True, False
    narrow = qmin == -qmax
    b = (qmax + 1).bit_length()
    assert qmax == (1 << (b - 1)) - 1, (qmin, qmax)
    assert qmin == (-qmax if narrow else -qmax - 1), (qmin, qmax)
    return b, False, narrow


def reference_codes(x, scale, zp, qmin, qmax, axis_view=None):
    """clamp(zp + nearbyint(x * float32(1 / scale)), qmin, qmax), in float32."""
    inv = (F32(1.0) / np.asarray(scale, dtype=F32)).astype(F32)
    q = np.rint((x.astype(F32) * inv).astype(F32)) + zp
    return np.clip(q, qmin, qmax).astype(np.int64)


# --------------------------------------------------------------------------
# observer cases

def observer_case(name, x, dtype, mapping, qmin=None, qmax=None, ch_axis=None, note=None):
    x = np.ascontiguousarray(np.asarray(x, dtype=F32))
    custom = qmin is not None
    if not custom:
        qmin, qmax = DTYPE_RANGE[dtype]
        if dtype == "qint8" and mapping == "symmetric_narrow":
            raise AssertionError("narrow needs an explicit range")
    gran = "tensor" if ch_axis is None else "channel"
    qscheme = QSCHEMES[(gran, mapping)]
    if dtype == "quint8" and mapping == "symmetric" and custom:
        raise AssertionError("quint8 symmetric with a custom range is skipped by design")
    kwargs = dict(dtype=DTYPES[dtype], qscheme=qscheme)
    if custom:
        kwargs.update(quant_min=qmin, quant_max=qmax)
    t = torch.from_numpy(x.copy())
    if ch_axis is None:
        obs = MinMaxObserver(**kwargs)
    else:
        obs = PerChannelMinMaxObserver(ch_axis=ch_axis, **kwargs)
    obs(t)
    scale, zp = obs.calculate_qparams()
    assert scale.dtype == torch.float32
    scale_np = scale.numpy().astype(F32).ravel()
    zp_np = zp.numpy().astype(np.int64).ravel()
    if ch_axis is None:
        q = torch.quantize_per_tensor(t, float(scale_np[0]), int(zp_np[0]), DTYPES[dtype])
    else:
        q = torch.quantize_per_channel(t, scale.double(), zp, ch_axis, DTYPES[dtype])
    codes = np.clip(q.int_repr().numpy().astype(np.int64), qmin, qmax)

    # Broadcast the per-channel parameters over x.
    if ch_axis is None:
        s_b, z_b = scale_np[0], zp_np[0]
    else:
        shp = [1] * x.ndim
        shp[ch_axis] = -1
        s_b, z_b = scale_np.reshape(shp), zp_np.reshape(shp)
    assert np.array_equal(codes, reference_codes(x, s_b, z_b, qmin, qmax)), name
    with np.errstate(invalid="ignore"):  # inf scale * 0 in edge/huge-3e38-mixed
        deq_formula = ((codes - z_b).astype(F32) * np.asarray(s_b, dtype=F32)).astype(F32)
    if custom:
        if ch_axis is None:
            fq = torch.fake_quantize_per_tensor_affine(t, float(scale_np[0]), int(zp_np[0]), qmin, qmax)
        else:
            fq = torch.fake_quantize_per_channel_affine(t, scale, zp.to(torch.int32), ch_axis, qmin, qmax)
        deq = fq.numpy()
    else:
        deq = q.dequantize().numpy()
    assert same_floats(deq, deq_formula), name

    b, is_unsigned, narrow = scheme_of(dtype, mapping, qmin, qmax)
    case = {
        "name": name,
        "kind": "observer",
        "observer": "MinMaxObserver" if ch_axis is None else "PerChannelMinMaxObserver",
        "dtype": dtype,
        "qscheme": str(qscheme).replace("torch.", ""),
        "quant_min": qmin,
        "quant_max": qmax,
        "custom_range": custom,
        "bits": b,
        "is_unsigned": is_unsigned,
        "narrow": narrow,
        "mapping": mapping,
        "shape": list(x.shape),
        "ch_axis": ch_axis,
    }
    if note:
        case["note"] = note
    case.update({
        "scale": bits(scale_np),
        "zero_point": zp_np.tolist(),
        "x": bits(x),
        "codes": codes.ravel().tolist(),
    })
    if x.size <= DEQUANT_MAX:
        case["dequant"] = bits(deq)
    return case


# (label, dtype, mapping, qmin, qmax); None range = the dtype's full range
CONFIGS = [
    ("u8-affine", "quint8", "affine", None, None),
    ("s8-affine", "qint8", "affine", None, None),
    ("u8-sym", "quint8", "symmetric", None, None),
    ("s8-sym", "qint8", "symmetric", None, None),
    ("s8-sym-narrow", "qint8", "symmetric", -127, 127),
    ("u7-affine", "quint8", "affine", 0, 127),
    ("u4-affine", "quint8", "affine", 0, 15),
    ("u2-affine", "quint8", "affine", 0, 3),
    ("s7-affine", "qint8", "affine", -64, 63),
    ("s4-affine", "qint8", "affine", -8, 7),
    ("s2-affine", "qint8", "affine", -2, 1),
    ("s7-sym", "qint8", "symmetric", -64, 63),
    ("s4-sym", "qint8", "symmetric", -8, 7),
    ("s2-sym", "qint8", "symmetric", -2, 1),
    ("s4-sym-narrow", "qint8", "symmetric", -7, 7),
    # ("u4-sym", "quint8", "symmetric", 0, 15): skipped, PyTorch's zero point
    # is (0 + 15) // 2 = 7, Quantscope's 2^(4-1) = 8 by design.
]
EDGE_CONFIGS = ["u8-affine", "s8-affine", "u8-sym", "s8-sym", "s4-affine"]
CHANNEL_CONFIGS = ["u8-affine", "s8-affine", "u8-sym", "s8-sym", "s8-sym-narrow", "s4-affine", "s4-sym"]


def config(label):
    for c in CONFIGS:
        if c[0] == label:
            return c
    raise KeyError(label)


def run_config(name, x, label, ch_axis=None, note=None):
    _, dtype, mapping, qmin, qmax = config(label)
    return observer_case(name + "/" + label, x, dtype, mapping, qmin, qmax, ch_axis, note)


def observer_cases(rng):
    cases = []
    cfg_inputs = {
        "normal": rng.standard_normal(100).astype(F32),
        "skewed": rng.uniform(-0.3, 2.1, 100).astype(F32),
        "negative": (-rng.uniform(0.25, 3.0, 100)).astype(F32),
    }
    for tname, x in cfg_inputs.items():
        for c in CONFIGS:
            cases.append(run_config("cfg/" + tname, x, c[0]))

    sub = np.array([1, 2, 3, 0x7fffff, 0x400000, 0x12345], dtype=np.uint32).view(F32)
    edges = [
        ("const-positive", np.full(7, 3.25, F32), None),
        ("const-negative", np.full(7, -0.7, F32), None),
        ("all-zero", np.array([0.0, -0.0, 0.0, 0.0], F32), "includes -0.0"),
        ("single-positive", np.array([0.37], F32), None),
        ("single-negative", np.array([-5.5], F32), None),
        ("single-zero", np.array([0.0], F32), None),
        ("huge-1e30", np.array([1e30, -2e30, 5e29, 0.0, 1.0, -1e30], F32), None),
        ("huge-3e38-positive", np.array([3e38, 1e38, 2.5e38, 0.0, 1.0], F32), None),
        ("huge-1.5e38-mixed", np.array([1.5e38, -1.5e38, 1e37, -3.0, 0.0], F32),
         "max - min = 3e38 is still finite"),
        ("huge-3e38-mixed", np.array([3e38, -3e38, 1.0, -1.0], F32),
         "max - min overflows float32: PyTorch's scale is +inf, every code is the zero point, "
         "dequantized values are NaN (inf * 0)"),
        ("tiny-1e-10", np.array([1e-10, -3e-10, 2e-10, 0.0], F32),
         "scale clamps at eps = 2^-23, every code is the zero point"),
        ("tiny-1e-30", np.array([1e-30, 5e-31, -2e-30], F32),
         "scale clamps at eps = 2^-23, every code is the zero point"),
        ("tiny-1e-6", np.array([1e-6, -2e-6, 5e-7, 3e-6], F32),
         "scale clamps at eps; values of a few steps survive"),
        ("mixed-huge-tiny", np.array([1e30, 1e-30, -1e-20, 5.0, -1e25, 1e-38], F32), None),
        ("subnormal", np.concatenate([sub, -sub]), "float32 subnormals only"),
        ("subnormal-with-normal", np.concatenate([sub, [0.5, -0.25]]).astype(F32), None),
        ("nonfinite-companion", np.array([-1.0, 0.5, 1.0], F32),
         "the finite part of the hand-written NaN/Inf test [-1, NaN, 0.5, +Inf, -Inf, 1]"),
    ]
    for exp in (-6, -3, 0, 3, 6):
        edges.append(("normal-1e%d" % exp, (rng.standard_normal(64) * 10.0 ** exp).astype(F32), None))
    for tname, x, note in edges:
        for label in EDGE_CONFIGS:
            cases.append(run_config("edge/" + tname, x, label, note=note))

    for n in (1, 2, 3, 7, 31, 256, 1023, 5000):
        x = rng.standard_normal(n).astype(F32)
        cases.append(run_config("size/%d" % n, x, "s8-affine" if n != 256 else "u8-affine"))
    x = (rng.standard_normal(1500) * 0.05 + 0.02).astype(F32)
    cases.append(run_config("size/1500", x, "s8-sym"))

    def channel_tensor(shape, axis):
        x = rng.standard_normal(shape).astype(F32)
        x = np.moveaxis(x, axis, 0).copy()
        c = x.shape[0]
        for i in range(c):
            x[i] *= F32(10.0 ** ((i % 7) - 3))
        x[1 % c] = np.abs(x[1 % c]) + F32(0.01)     # all positive
        x[2 % c] = -np.abs(x[2 % c]) - F32(0.02)    # all negative
        if c > 3:
            x[3] = 0.0                               # all zero
        if c > 4:
            x[4] *= F32(1e-9)                        # below eps
        return np.ascontiguousarray(np.moveaxis(x, 0, axis))

    shapes = [
        ("conv-oihw-axis0", (8, 2, 3, 3), 0),
        ("conv-axis1", (2, 6, 3, 4), 1),
        ("conv-hwio-last", (3, 3, 2, 8), 3),
        ("dense-axis0", (10, 12), 0),
        ("dense-last", (12, 10), 1),
    ]
    for tname, shape, axis in shapes:
        x = channel_tensor(shape, axis)
        for label in CHANNEL_CONFIGS:
            cases.append(run_config("channel/" + tname, x, label, ch_axis=axis))
    return cases


# --------------------------------------------------------------------------
# direct cases

def direct_case(name, x, scale, zp, dtype, qmin=None, qmax=None, note=None, want_div_diff=False):
    x = np.ascontiguousarray(np.asarray(x, dtype=F32))
    scale = F32(scale)
    custom = qmin is not None
    if not custom:
        qmin, qmax = DTYPE_RANGE[dtype]
    t = torch.from_numpy(x.copy())
    q = torch.quantize_per_tensor(t, float(scale), int(zp), DTYPES[dtype])
    codes = np.clip(q.int_repr().numpy().astype(np.int64), qmin, qmax)
    assert np.array_equal(codes, reference_codes(x, scale, zp, qmin, qmax)), name
    if custom:
        deq = torch.fake_quantize_per_tensor_affine(t, float(scale), int(zp), qmin, qmax).numpy()
    else:
        deq = q.dequantize().numpy()
    assert same_floats(deq, ((codes - zp).astype(F32) * scale).astype(F32)), name
    case = {
        "name": name,
        "kind": "direct",
        "dtype": dtype,
        "quant_min": qmin,
        "quant_max": qmax,
        "custom_range": custom,
    }
    if note:
        case["note"] = note
    case.update({
        "scale": bits([scale])[0],
        "zero_point": int(zp),
        "x": bits(x),
        "codes": codes.tolist(),
        "dequant": bits(deq),
    })
    if want_div_diff:
        div = np.clip(np.rint((x / scale).astype(F32)) + zp, qmin, qmax).astype(np.int64)
        assert not np.array_equal(div, codes), name
        case["codes_if_divided"] = div.tolist()
    return case


def tie_values(scale, ks):
    return np.array([(F32(k) + F32(0.5)) * F32(scale) for k in ks], dtype=F32)


def find_div_mul_differences(rng, wanted):
    """float32 (x, scale) where rint(x / scale) != rint(x * (1 / scale))."""
    found = []
    tries = 0
    while len(found) < wanted:
        tries += 1
        assert tries < 10_000_000
        scale = F32(np.exp(rng.uniform(np.log(1e-4), np.log(10.0))))
        inv = F32(1.0) / scale
        k = int(rng.integers(-120, 120))
        x0 = F32((k + 0.5) * float(scale))
        for d in range(-4, 5):
            x = np.array([x0], dtype=F32).view(np.uint32)
            x = (x.astype(np.int64) + d).astype(np.uint32).view(F32)
            if not np.isfinite(x[0]):
                continue
            q_div = np.rint((x / scale).astype(F32))[0]
            q_mul = np.rint((x * inv).astype(F32))[0]
            if q_div != q_mul:
                found.append((float(x[0]), scale))
                break
    return found


def direct_cases(rng):
    cases = []
    ks = list(range(-140, 140))
    ks_u = list(range(-135, 135))
    cases.append(direct_case("direct/ties-pow2-s8", tie_values(2.0 ** -7, ks), 2.0 ** -7, 0, "qint8",
                             note="exact ties (k + 0.5) * 2^-7: half to even; k past the range clamps"))
    cases.append(direct_case("direct/ties-pow2-u8-zp128", tie_values(2.0 ** -7, ks), 2.0 ** -7, 128, "quint8",
                             note="exact ties, zero point added after rounding"))
    cases.append(direct_case("direct/ties-pow2-u8-zp37", tie_values(0.25, ks_u), 0.25, 37, "quint8",
                             note="exact ties, odd zero point"))
    cases.append(direct_case("direct/ties-pow2-s8-zp-5", tie_values(4.0, ks), 4.0, -5, "qint8",
                             note="exact ties, negative zero point, scale > 1"))
    cases.append(direct_case("direct/ties-0.1-s8", tie_values(0.1, ks), 0.1, 0, "qint8",
                             note="near ties: (k + 0.5) * 0.1f rounded to float32"))
    cases.append(direct_case("direct/ties-0.05-u8-zp3", tie_values(0.05, ks_u), 0.05, 3, "quint8",
                             note="near ties with an asymmetric zero point"))
    cases.append(direct_case("direct/ties-1over3-s8", tie_values(1.0 / 3.0, ks), 1.0 / 3.0, -1, "qint8",
                             note="near ties, scale 1/3"))
    cases.append(direct_case("direct/ties-pow2-s4", tie_values(2.0 ** -3, range(-12, 12)), 2.0 ** -3, 0, "qint8",
                             qmin=-8, qmax=7, note="4-bit signed range, exact ties, clamped at -8 and 7"))
    cases.append(direct_case("direct/ties-pow2-u4-zp6", tie_values(0.5, range(-10, 14)), 0.5, 6, "quint8",
                             qmin=0, qmax=15, note="4-bit unsigned range, exact ties"))
    x = np.concatenate([rng.standard_normal(200) * 0.8, [0.0, -0.0, 1e6, -1e6, 1e-30, -1e-30]]).astype(F32)
    cases.append(direct_case("direct/random-s8", x, 0.0123, 4, "qint8", note="random values, clamping at both ends"))
    cases.append(direct_case("direct/random-u8", x, 0.0071, 131, "quint8", note="random values, clamping at both ends"))

    for i, (xv, scale) in enumerate(find_div_mul_differences(rng, 24)):
        xs = np.array([xv, -xv, xv * 0.5, 0.0], dtype=F32)
        zp = 0
        cases.append(direct_case("direct/div-vs-mul-%02d" % i, xs, scale, zp, "qint8",
                                 note="x / scale and x * (1 / scale) round differently for x[0]",
                                 want_div_diff=True))
    return cases


# --------------------------------------------------------------------------

def dump(doc, fp):
    """Metadata indented, one case per line: readable diffs, small file."""
    fp.write("{\n")
    keys = list(doc.keys())
    for i, key in enumerate(keys):
        comma = "," if i + 1 < len(keys) else ""
        value = doc[key]
        if key == "cases":
            fp.write('  "cases": [\n')
            for j, case in enumerate(value):
                sep = "," if j + 1 < len(value) else ""
                fp.write("    " + json.dumps(case, separators=(",", ":")) + sep + "\n")
            fp.write("  ]" + comma + "\n")
        else:
            text = json.dumps(value, indent=2).replace("\n", "\n  ")
            fp.write("  %s: %s%s\n" % (json.dumps(key), text, comma))
    fp.write("}\n")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.normpath(
        os.path.join(here, "..", "data", "torch-golden.json"))
    torch.manual_seed(0)
    torch.set_num_threads(1)
    rng = np.random.default_rng(20240611)
    cases = observer_cases(rng) + direct_cases(rng)
    names = [c["name"] for c in cases]
    assert len(names) == len(set(names)), "duplicate case names"
    doc = {
        "format": "quantscope-torch-golden",
        "version": 1,
        "generator": "tests/reference/make_torch_golden.py (run with /usr/bin/python3)",
        "torch_version": torch.__version__,
        "float_encoding": "every float32 (x, scale, dequant) is the unsigned integer of its IEEE 754 binary32 bit pattern",
        "code_rule": "codes = clamp(zero_point + nearbyint(x * float32(1 / scale)), quant_min, quant_max); "
                     "dequant = float32(scale * (code - zero_point))",
        "skipped": "quint8 symmetric with a custom quant_min/quant_max: PyTorch's zero point is "
                   "(quant_min + quant_max) // 2, Quantscope's unsigned symmetric zero point is 2^(bits-1) by design",
        "nonfinite": {
            "in_torch": False,
            "reason": "PyTorch's observers propagate NaN and its float-to-integer cast of an infinity is undefined behaviour",
            "semantics": "NaN and +-Inf are excluded from the range; +Inf quantizes to qmax, -Inf to qmin, NaN to the zero point",
            "tested_by": "tests/quant/test-torch-golden.c (hand-written cases, e.g. [-1, NaN, 0.5, +Inf, -Inf, 1] "
                         "has the scale and zero point of [-1, 0.5, 1], see edge/nonfinite-companion)",
        },
        "cases": cases,
    }
    with open(out, "w", encoding="utf-8") as fp:
        dump(doc, fp)
    kinds = {}
    for c in cases:
        kinds[c["kind"]] = kinds.get(c["kind"], 0) + 1
    print("%s: %d cases %s, %d bytes" % (out, len(cases), kinds, os.path.getsize(out)))


if __name__ == "__main__":
    main()
