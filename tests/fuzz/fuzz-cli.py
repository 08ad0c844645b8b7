#!/usr/bin/python3
# fuzz-cli.py: random hostile scheme files, number arguments, output destinations and idx sets through quantscope-cli.
# SPDX-License-Identifier: GPL-3.0-or-later
"""Usage: fuzz-cli.py CLI MODEL OUTDIR N [SEED] [KIND,...]

Generates N random inputs of each KIND (default all: scheme, number,
output, idx) from SEED (default 1) into OUTDIR and runs quantscope-cli
(CLI; an ASan+UBSan build makes sanitizer reports findings) on each,
checking run-hostile.py's contract: status 0 or 2, on 2 one line on
stderr and nothing on stdout, no signal, no hang, and a failed export
leaving its destination as it was and nothing beside it. MODEL is a small
Keras 2 model of 28x28x1 images and 10 classes (make-hostile.py's
k2-base.h5, or data/models/fashion-cnn.h5).

- scheme: the documented example scheme with one to three changes:
  fields set to NaN, Infinity, 1e400, -1, 0, 2^31, 2^63, 2^64, strings,
  arrays, objects or null, in the default and in overrides; group sizes
  0, 1, 2^31 and fractions; duplicate keys; nesting 64 to 100,000 deep;
  10,000 overrides; bytes flipped. Run through stats, report and export.
- number: VALUE and every option from pools of NaN, infinities, 1e400,
  subnormals, huge Qm.n, negative and non-numeric text.
- output: plot -o, report -o and export onto a folder, a FIFO, a
  read-only folder or file, /dev/null, a missing folder, a dangling
  link, a link loop, links to a folder, a FIFO, /dev/null and the model,
  a trailing slash, the model itself.
- idx: gzip and plain idx image and label files with counts, ranks,
  dimensions and type codes that disagree, truncated, for eval --data.
Prints one line per finding and a summary; exits 1 if there was one.
"""
import gzip
import importlib.util
import json
import os
import random
import shutil
import stat
import struct
import sys
import tempfile

spec = importlib.util.spec_from_file_location(
    "run_hostile", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "corpus", "run-hostile.py"))
run_hostile = importlib.util.module_from_spec(spec)
spec.loader.exec_module(run_hostile)

TENSOR = "/model_weights/conv2d/conv2d/kernel:0"

HOSTILE_VALUES = [
    "NaN", "Infinity", "-Infinity", "1e400", "-1e400", "-1", "0", "1", "2", "3", "2147483647", "2147483648",
    "-2147483648", "4294967296", "9223372036854775807", "9223372036854775808", "18446744073709551616",
    "1e308", "5e-324", "-0", "0.5", "1.5", '""', '"x"', '"8"', '"' + "x" * 10000 + '"', "[]", "{}", "null",
    "true", "false", "[1, 2]", '{"a": 1}', "[" + ", ".join(["1"] * 1000) + "]",
]
KEYS = ["format", "bits", "mapping", "signed", "narrow", "granularity", "axis", "range", "rounding",
        "zero_nudge", "group_size", "percentile", "bins", "tensors", "roles", "unknown", ""]


def render(value, dup=None):
    """JSON text of @value; strings starting with RAW: are put in as they are."""
    if isinstance(value, str) and value.startswith("RAW:"):
        return value[4:]
    if isinstance(value, dict):
        items = [json.dumps(k) + ": " + render(v) for k, v in value.items()]
        if dup is not None and dup in value:
            items.append(json.dumps(dup) + ": " + render(value[dup]))
        return "{" + ", ".join(items) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(render(v) for v in value) + "]"
    return json.dumps(value)


def base_scheme():
    return {
        "version": 1,
        "default": {"format": "int", "bits": 8, "mapping": "symmetric", "signed": True, "narrow": True,
                    "granularity": "channel", "axis": None, "range": "minmax", "rounding": "even",
                    "zero_nudge": True},
        "overrides": [{"tensors": "/model_weights/conv2d/*", "bits": 4, "range": "mse"},
                      {"tensors": ["*dense*/kernel:0", "role:depthwise_kernel"], "granularity": "tensor"}],
        "skip": ["role:bias", "role:batchnorm"],
    }


def scheme_text(rng):
    s = base_scheme()
    dup = None
    for _ in range(rng.randint(1, 3)):
        op = rng.randrange(9)
        target = s["default"] if rng.random() < 0.5 or not s.get("overrides") else rng.choice(s["overrides"])
        if not isinstance(target, dict):
            target = s["default"] if isinstance(s.get("default"), dict) else s
        if op == 0:
            target[rng.choice(KEYS)] = "RAW:" + rng.choice(HOSTILE_VALUES)
        elif op == 1:
            target["granularity"] = "group"
            target["group_size"] = "RAW:" + rng.choice(["0", "1", "2", "3", "32", "65536", "65537", "2147483648",
                                                         "-1", "1.5", "1e400", "NaN", '"32"'])
            if rng.random() < 0.5:
                target["format"] = rng.choice(["int", "mxfp4", "nvfp4", "nf4", "fp16", "bogus"])
        elif op == 2:
            dup = rng.choice(["version", "default", "overrides", "skip"])
        elif op == 3:
            depth = rng.choice([63, 64, 65, 1000, 100000])
            where = rng.choice(["default", "overrides", "skip", "bits", "version"])
            inner = "1"
            text = "[" * depth + inner + "]" * depth if rng.random() < 0.5 else '{"a": ' * depth + inner + "}" * depth
            if where in ("default", "overrides", "skip", "version"):
                s[where] = "RAW:" + text
            else:
                target["bits"] = "RAW:" + text
        elif op == 4:
            s["overrides"] = [{"tensors": "*" * rng.choice([1, 100, 10000]), "bits": 4}] * rng.choice([1, 10000])
        elif op == 5:
            s[rng.choice(["version", "default", "overrides", "skip"])] = "RAW:" + rng.choice(HOSTILE_VALUES)
        elif op == 6:
            target["range"] = rng.choice(["percentile", "mse", "kl", "minmax", "aciq"])
            target["percentile"] = "RAW:" + rng.choice(HOSTILE_VALUES)
        elif op == 7:
            target["bits"] = "RAW:" + rng.choice(HOSTILE_VALUES)
            target["format"] = rng.choice(["int", "fp8-e4m3", "mxint8", "nvfp4", "mxfp6-e2m3"])
        else:
            s["skip"] = "RAW:" + rng.choice(HOSTILE_VALUES)
    text = render(s, dup).encode()
    if rng.random() < 0.3:
        data = bytearray(text)
        for _ in range(rng.randint(1, 8)):
            i = rng.randrange(len(data))
            data[i] = rng.choice([rng.randrange(256), ord("{"), ord("["), ord('"'), ord(","), ord("0")])
        text = bytes(data)
    return text


def scheme_jobs(rng, out, n, model):
    for i in range(n):
        path = os.path.join(out, f"scheme-{i}.json")
        with open(path, "wb") as f:
            f.write(scheme_text(rng))
        job = rng.choice([["stats", "--scheme-file", path, "--tensor", TENSOR, model],
                          ["report", "--scheme-file", path, model],
                          ["EXPORT", "--scheme-file", path, model]])
        yield job


NUMBERS = ["nan", "-nan", "NaN", "inf", "-inf", "infinity", "1e400", "-1e400", "4.9e-324", "5e-324", "1e-310",
           "-1e-310", "2.2250738585072014e-308", "-0", "0", "0x1p-1074", "0x1p+1023", "3.4028235e38",
           "3.4028236e38", "65504", "65520", "448", "464", "57344", "1e", "0x", "abc", "", " 1", "1 ", "1,5",
           "1" * 5000, "-" + "9" * 400, "0." + "0" * 400 + "1", "\u0661", "1\u00a0", "--", "-1", "1e-45"]
QS = ["8.8", "0.0", "1.0", "0.1", "32.32", "33.0", "64.64", "999.999", "-1.5", "1.-1", "2147483648.0",
      "99999999999.1", "8", ".8", "8.", "a.b", "1.1.1", "16.16", "1.62", "63.1", "0.64"]
SCALES = ["1", "0", "-1", "nan", "inf", "1e-45", "1e-310", "1e400", "3e38", "abc", "0.1"]


def number_jobs(rng, out, n, model):
    for _ in range(n):
        args = ["number"]
        for opt, pool in [("--q=", QS), ("--scale=", SCALES), ("--zero-point=", ["0", "-1", "1e20", "nan", "65535",
                                                                                 "-2147483649", "2147483648", "x"]),
                          ("--bits=", ["2", "1", "0", "16", "17", "-1", "99", "x"]),
                          ("--rounding=", ["half-even", "half-away", "up", ""]),
                          ("--block=", ["mxfp4", "nvfp4", "mxfp8-e4m3", "mxint8", "nf4", "bogus", ""]),
                          ("--tensor-scale=", SCALES)]:
            if rng.random() < 0.3:
                args.append(opt + rng.choice(pool))
        for flag in ["--json", "--unsigned", "--narrow"]:
            if rng.random() < 0.3:
                args.append(flag)
        args += ["--", rng.choice(NUMBERS)] if rng.random() < 0.5 else [rng.choice(NUMBERS)]
        yield args


def destinations(work, model):
    """(name, path) of hostile places to write to, made in @work."""
    d = os.path.join(work, "dir")
    os.mkdir(d)
    fifo = os.path.join(work, "fifo.png")
    os.mkfifo(fifo)
    ro_dir = os.path.join(work, "ro")
    os.mkdir(ro_dir)
    os.chmod(ro_dir, 0o555)
    ro_file = os.path.join(work, "ro-file.png")
    with open(ro_file, "w") as f:
        f.write("ORIGINAL\n")
    os.chmod(ro_file, 0o444)
    os.symlink(os.path.join(work, "missing", "x"), os.path.join(work, "dangling.png"))
    os.symlink(d, os.path.join(work, "link-to-dir"))
    os.symlink("loop-b.png", os.path.join(work, "loop-a.png"))
    os.symlink("loop-a.png", os.path.join(work, "loop-b.png"))
    os.symlink(fifo, os.path.join(work, "link-to-fifo.png"))
    os.symlink("/dev/null", os.path.join(work, "link-to-dev-null.png"))
    os.symlink(os.path.basename(model), os.path.join(work, "link-to-model.png"))
    return [("dir", d), ("fifo", fifo), ("ro-dir", os.path.join(ro_dir, "out.png")), ("ro-file", ro_file),
            ("dev-null", "/dev/null"), ("missing-dir", os.path.join(work, "missing", "out.png")),
            ("dangling", os.path.join(work, "dangling.png")), ("link-dir", os.path.join(work, "link-to-dir")),
            ("link-loop", os.path.join(work, "loop-a.png")), ("link-fifo", os.path.join(work, "link-to-fifo.png")),
            ("link-dev-null", os.path.join(work, "link-to-dev-null.png")),
            ("link-model", os.path.join(work, "link-to-model.png")),
            ("slash", os.path.join(work, "out.png/")), ("model", model), ("empty", "")]


def output_findings(cli, model, n, rng):
    """Runs plot, report and export onto each hostile destination; as
    root a read-only place is writable, so only what must never happen is
    checked there: a folder, FIFO or device replaced, a file changed by a
    failed run, anything left beside it."""
    findings = []
    runs = 0
    for round_ in range(max(1, n // 30)):
        for name, _ in destinations(tempfile.mkdtemp(prefix="fuzz-out-probe-"), model):
            for command in ("plot", "report", "export", "export-force"):
                work = tempfile.mkdtemp(prefix="fuzz-out-")
                copy = os.path.join(work, "model.h5")
                shutil.copy(model, copy)
                places = dict(destinations(work, copy))
                dest = places[name]
                before = sorted(os.listdir(work))
                kind_before = os.lstat(dest).st_mode if dest and os.path.lexists(dest) else None
                content = open(dest, "rb").read() if kind_before is not None and stat.S_ISREG(kind_before) else None
                # Outputs are written through links: what the link leads to
                # must stay as it was when it is not a regular file.
                linked = os.path.realpath(dest) if kind_before is not None and stat.S_ISLNK(kind_before) else None
                linked_kind = os.lstat(linked).st_mode if linked and os.path.lexists(linked) else None
                model_before = open(copy, "rb").read()
                if command == "plot":
                    argv = [cli, "plot", "-t", TENSOR, "-o", dest, copy]
                elif command == "report":
                    argv = [cli, "report", "-o", dest, copy]
                else:
                    argv = [cli, "export"] + (["--force"] if command == "export-force" else []) + [copy, dest]
                label = f"{command} onto {name}"
                found = run_hostile.check(label, argv, None)
                runs += 1
                after_kind = os.lstat(dest).st_mode if dest and os.path.lexists(dest) else None
                if kind_before is not None and not stat.S_ISREG(kind_before) and after_kind != kind_before:
                    found.append(f"REPLACED {label}: a {oct(stat.S_IFMT(kind_before))} became {after_kind}")
                if linked_kind is not None and not stat.S_ISREG(linked_kind) \
                        and os.lstat(linked).st_mode != linked_kind:
                    found.append(f"REPLACED THROUGH LINK {label}: a {oct(stat.S_IFMT(linked_kind))} was replaced")
                if content is not None and os.path.lexists(dest) and stat.S_ISREG(os.lstat(dest).st_mode):
                    now = open(dest, "rb").read()
                    if name == "model" and now != content:
                        found.append(f"MODEL CHANGED {label}")
                if open(copy, "rb").read() != model_before:
                    found.append(f"MODEL CHANGED {label}")
                left = sorted(os.listdir(work))
                extra = [x for x in left if x not in before and x != os.path.basename(dest.rstrip("/"))]
                if extra:
                    found.append(f"LEFT {label}: {extra}")
                findings += found
                os.chmod(os.path.join(work, "ro"), 0o755)
                shutil.rmtree(work, ignore_errors=True)
    return runs, findings


def idx_bytes(type_code, dims, payload, declared_rank=None):
    rank = len(dims) if declared_rank is None else declared_rank
    return struct.pack(">BBBB", 0, 0, type_code, rank) + b"".join(struct.pack(">I", d) for d in dims) + payload


def idx_jobs(rng, out, n, model):
    for i in range(n):
        count = rng.choice([0, 1, 10, 40, 100])
        h, w = rng.choice([(28, 28), (28, 28), (28, 27), (0, 28), (1, 1), (65535, 65535), (28, 1 << 31)])
        label_count = rng.choice([count, count, count + 1, max(count - 1, 0), 0, 1 << 31, 0xFFFFFFFF])
        image_count = rng.choice([count, count, 1 << 30, 0xFFFFFFFF])
        pixels = bytes(rng.randrange(256) for _ in range(min(count * 28 * 28, 40 * 28 * 28)))
        type_code = rng.choice([0x08, 0x08, 0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x00, 0xFF])
        rank = rng.choice([None, None, 0, 1, 2, 4, 255])
        images = idx_bytes(type_code, [image_count, h, w], pixels, rank)
        labels = idx_bytes(rng.choice([0x08, 0x08, 0x0C]), [label_count],
                           bytes(rng.choice([rng.randrange(10), 10, 255]) for _ in range(count)))
        if rng.random() < 0.2:
            images = images[:rng.randrange(len(images) + 1)]
        if rng.random() < 0.2:
            labels = labels[:rng.randrange(len(labels) + 1)]
        d = os.path.join(out, f"idx-{i}")
        os.makedirs(d, exist_ok=True)
        gz = rng.random() < 0.5
        suffix = ".gz" if gz else ""
        for name, data in [("t10k-images-idx3-ubyte", images), ("t10k-labels-idx1-ubyte", labels)]:
            with open(os.path.join(d, name + suffix), "wb") as f:
                f.write(gzip.compress(data) if gz else data)
        yield ["eval", "-n", "40", "-c", "20", "--memory-budget", "512M", model,
               "--data", os.path.join(d, "t10k-images-idx3-ubyte" + suffix)]


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    cli, model, out, n = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    seed = int(sys.argv[5]) if len(sys.argv) > 5 else 1
    kinds = sys.argv[6].split(",") if len(sys.argv) > 6 else ["scheme", "number", "output", "idx"]
    rng = random.Random(seed)
    os.makedirs(out, exist_ok=True)
    findings, runs = [], 0
    generators = {"scheme": scheme_jobs, "number": number_jobs, "idx": idx_jobs}
    for kind in kinds:
        if kind == "output":
            r, f = output_findings(cli, model, n, rng)
            runs += r
            findings += f
            for line in f:
                print(line, flush=True)
            continue
        for args in generators[kind](rng, out, n, model):
            tmp = tempfile.mkdtemp(prefix="fuzz-")
            argv, export_dir, original = run_hostile.job_argv(cli, args, tmp)
            label = " ".join(a[:200] for a in argv[1:])
            found = run_hostile.check(label, argv, None, export_dir, original)
            runs += 1
            for line in found:
                print(line, flush=True)
            findings += found
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"{runs} runs, {len(findings)} findings", flush=True)
    sys.exit(1 if findings else 0)


if __name__ == "__main__":
    main()
