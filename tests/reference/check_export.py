#!/usr/bin/python3
# check_export.py: read quantscope-cli exports back with h5py and numpy, independently of our C code.
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Usage: check_export.py QUANTSCOPE_CLI WORK_DIR
#
# Writes a Keras-like weight file with h5py, exports it with the CLI in
# several schemes (quantized, packed, dequantized, mixed per-tensor schemes
# from a scheme file) and checks, for every quantized tensor, that
# (q - zero_point) * scale in float32 equals the tool's own reconstruction
# (the dequantized export) bit for bit, and that the MSE it reports is the
# MSE numpy computes. Group-wise and block formats are decoded from their
# per-block scales (docs/export-format.md). Exits 77 (skipped) without h5py or numpy.
import json
import os
import subprocess
import sys

try:
    import h5py
    import numpy as np
except ImportError as e:
    print(f"SKIP: this check needs Debian's python3-h5py and python3-numpy ({e})")
    sys.exit(77)

cli, work = sys.argv[1], sys.argv[2]
os.makedirs(work, exist_ok=True)
failures = []
checks = 0


def check(condition, message):
    global checks
    checks += 1
    if not condition:
        failures.append(message)
        print("FAIL:", message)


def make_input(path):
    rng = np.random.default_rng(1234)
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = "2.11.0"
        f.attrs["backend"] = "tensorflow"
        f.attrs["model_config"] = json.dumps({"class_name": "Sequential", "config": {"layers": []}})
        mw = f.create_group("model_weights")
        mw.attrs["layer_names"] = [b"conv", b"dense", b"bn"]
        conv = mw.create_group("conv/conv")
        k = rng.normal(0, 0.05, (3, 3, 8, 16)).astype("f4")
        k[..., 3] *= 20.0  # one channel much wider: per-channel matters
        conv.create_dataset("kernel:0", data=k, chunks=(3, 3, 8, 4), compression="gzip", shuffle=True)
        conv.create_dataset("bias:0", data=rng.normal(0, 0.01, 16).astype("f4"))
        mw["conv"].attrs["weight_names"] = [b"conv/kernel:0", b"conv/bias:0"]
        dense = mw.create_group("dense/dense")
        d = rng.laplace(0, 0.02, (64, 10)).astype(">f8")
        d[5, 5] = np.nan
        dense.create_dataset("kernel:0", data=d)
        mw["dense"].attrs["weight_names"] = [b"dense/kernel:0"]
        bn = mw.create_group("bn/bn")
        bn.create_dataset("gamma:0", data=np.ones(16, "f4"))
        mw["bn"].attrs["weight_names"] = [b"bn/gamma:0"]
        f.create_dataset("extra/half", data=rng.normal(0, 1, (7, 9)).astype("f2"))
        f.create_dataset("extra/ints", data=np.arange(12, dtype="i4"))
        # Larger than half of a 1 MiB budget: streamed in the "streamed" case.
        f.create_dataset("extra/big", data=rng.normal(0, 0.1, (400, 500)).astype("f4"), chunks=(50, 100))


def export(args, out):
    cmd = [cli, "export", src, out, "--force", "--json"] + args
    done = subprocess.run(cmd, capture_output=True, text=True)
    check(done.returncode == 0, f"{' '.join(cmd)} exited {done.returncode}: {done.stderr.strip()}")
    return json.loads(done.stdout) if done.returncode == 0 else None


def codes_of(d):
    """The integer codes of a quantized dataset, unpacking packed ones."""
    if d.attrs["packed"]:
        bits = int(d.attrs["bits"])
        n = int(d.attrs["packed_count"])
        stream = np.unpackbits(d[()], bitorder="little")[: n * bits].reshape(n, bits)
        u = (stream.astype(np.int64) << np.arange(bits)).sum(axis=1)
        return (u + int(d.attrs["qmin"])).reshape(tuple(d.attrs["source_shape"]))
    return d[()]


def e4m3_value(code):
    """OCP FP8 E4M3, from its definition (bias 7)."""
    e, m = (code >> 3) & 15, code & 7
    v = m / 8 * 2.0 ** -6 if e == 0 else (1 + m / 8) * 2.0 ** (e - 7)
    return -v if code & 0x80 else v


def reconstruct_blocks(d):
    """Group-wise and block formats (docs/export-format.md): each channel's
    run along the reduction axis, blocks of group_size, one scale each."""
    a = d.attrs
    q = d[()]
    G, axis, fmt = int(a["group_size"]), int(a["axis"]), a["format"]
    if axis >= 0:
        moved = np.moveaxis(q, axis, 0)
        runs = moved.reshape(moved.shape[0], -1)
    else:
        runs = q.reshape(1, -1)
    C, L = runs.shape
    bpr = -(-L // G)
    check(bpr == int(a["blocks_per_run"]), f"{d.name}: blocks_per_run")
    block = np.arange(L) // G
    scales = np.asarray(a["scale"], np.float32).reshape(C, bpr)
    if fmt.startswith("mx"):
        check(np.array_equal(scales, (2.0 ** (np.asarray(a["scale_code"]).astype(np.float64) - 127))
                             .astype(np.float32).reshape(C, bpr)), f"{d.name}: E8M0 scale codes")
    if fmt == "nvfp4":
        ts = np.float32(a["tensor_scale"])
        decoded = np.array([np.float32(e4m3_value(int(c))) * ts for c in a["scale_code"]], np.float32)
        check(np.array_equal(decoded.reshape(C, bpr), scales), f"{d.name}: E4M3 scale codes")
    scale = scales[:, block]
    if fmt == "int":
        zero = np.asarray(a["zero_point"]).reshape(C, bpr)[:, block].astype(np.float32)
        r = (runs.astype(np.float32) - zero) * scale
    else:
        table = np.asarray(a["code_values"], np.float32)
        r = table[runs.astype(np.int64) & (len(table) - 1)] * scale
    return np.moveaxis(r.reshape(moved.shape), 0, axis) if axis >= 0 else r.reshape(q.shape)


def reconstruct(d):
    """(q - zero_point) * scale in float32, along the stored axis."""
    if d.attrs.get("granularity") == "group":
        return reconstruct_blocks(d)
    q = codes_of(d).astype(np.float32)
    scale = np.asarray(d.attrs["scale"], np.float32)
    zero = np.asarray(d.attrs["zero_point"]).astype(np.float32)
    axis = int(d.attrs["axis"])
    if axis >= 0:
        shape = [1] * q.ndim
        shape[axis] = -1
        scale, zero = scale.reshape(shape), zero.reshape(shape)
    return (q - zero) * scale


def check_pair(summary, quantized_path, dequantized_path):
    with h5py.File(src) as fin, h5py.File(quantized_path) as fq, h5py.File(dequantized_path) as fd:
        check(fq.attrs["keras_version"] == "2.11.0", "root attributes are kept")
        check("quantscope_scheme" in fq.attrs and "quantscope_version" in fq.attrs,
              "the scheme and version are recorded")
        check(list(fd["model_weights"].attrs["layer_names"]) == list(fin["model_weights"].attrs["layer_names"]),
              "group attributes are kept")
        for t in summary["tensors"]:
            path = t["path"]
            if t["action"] != "quantized":
                check(np.array_equal(fq[path][()], fin[path][()], equal_nan=fin[path].dtype.kind == "f"),
                      f"{path} is copied unchanged")
                continue
            dq, dd, w = fq[path], fd[path], fin[path]
            r = reconstruct(dq)
            check(r.shape == w.shape, f"{path}: shape {r.shape} != {w.shape}")
            check(dd.dtype == w.dtype, f"{path}: the dequantized layout keeps dtype {w.dtype}")
            check(dq.attrs["source_dtype"] == str(w.dtype.newbyteorder("=")), f"{path}: source_dtype")
            tool = dd[()]
            # The dequantized layout stores the reconstruction in the input's type.
            expected = r.astype(w.dtype).astype(np.float32)
            check(np.array_equal(tool.astype(np.float32), expected),
                  f"{path}: (q - zero_point) * scale differs from the tool's reconstruction")
            x = w[()].astype(np.float32)
            finite = np.isfinite(x)
            err = (r - x)[finite].astype(np.float64)
            mse = float(np.mean(err * err))
            check(abs(mse - t["mse"]) <= 1e-9 * max(mse, 1e-30),
                  f"{path}: MSE {mse!r} != reported {t['mse']!r}")
            check(abs(mse - float(dq.attrs["quantscope_mse"])) <= 1e-9 * max(mse, 1e-30),
                  f"{path}: MSE attribute")
            q = codes_of(dq)
            check(q.min() >= dq.attrs["qmin"] and q.max() <= dq.attrs["qmax"], f"{path}: codes in range")


src = os.path.join(work, "input.h5")
make_input(src)

scheme_file = os.path.join(work, "mixed.json")
with open(scheme_file, "w") as f:
    json.dump({"version": 1,
               "default": {"bits": 8, "granularity": "channel"},
               "overrides": [{"tensors": "*/conv/kernel:0", "bits": 4, "mapping": "symmetric", "narrow": True},
                             {"tensors": "/extra/*", "bits": 12, "signed": False, "granularity": "tensor"},
                             {"tensors": "*/dense/*", "zero_nudge": False, "range": "mse"}],
               "skip": ["role:bias"]}, f)

cases = {
    "per-tensor": [],
    "per-channel": ["--granularity", "channel", "--bits", "6", "--mapping", "symmetric"],
    "packed": ["--bits", "3", "--granularity", "channel", "--pack"],
    "unsigned-packed": ["--bits", "5", "--unsigned", "--pack", "--range", "percentile:99.9"],
    "mixed": ["--scheme-file", scheme_file],
    "streamed": ["--granularity", "channel", "--bits", "7", "--memory-budget", "1M"],
    "group-int4": ["--bits", "4", "--granularity", "group", "--group-size", "24", "--mapping", "symmetric"],
    "group-int8": ["--granularity", "group", "--group-size", "32"],
}
for fmt in ["mxfp8-e4m3", "mxfp8-e5m2", "mxfp6-e2m3", "mxfp6-e3m2", "mxfp4", "mxint8", "nvfp4", "nf4"]:
    cases[fmt] = ["--format", fmt]
for name, args in cases.items():
    q = os.path.join(work, f"{name}-q.h5")
    d = os.path.join(work, f"{name}-d.h5")
    summary = export(args, q)
    export([a for a in args if a != "--pack"] + ["--layout", "dequantized"], d)
    if summary is not None:
        check(summary["quantized"] >= 3, f"{name}: {summary['quantized']} tensors quantized")
        if name == "streamed":
            big = [t for t in summary["tensors"] if t["path"] == "/extra/big"][0]
            check(big["streamed"], "/extra/big is streamed under a 1 MiB budget")
        check_pair(summary, q, d)

print(f"{checks - len(failures)} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
