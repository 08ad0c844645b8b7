#!/usr/bin/python3
# mutate.py: a quick black-box mutation loop over quantscope-cli, checking the bad-input contract on every mutant.
# SPDX-License-Identifier: GPL-3.0-or-later
"""Usage: mutate.py CLI SEED ITERATIONS OUTDIR [RANDOM-SEED]

Each iteration flips, overwrites, inserts or deletes a few bytes of SEED, or
truncates it, writes the mutant beside a copy of its own name (so a
.keras stays a .keras), and runs one CLI command on it in turn (layers
--check-data, stats, eval on 20 images, export, report) under a 10 s
timeout. A mutant that ends with a signal, a status other than 0 and 2,
a hang, status 2 with other than one line on stderr or with output on
stdout, or an export that failed and left a file behind, is kept in
OUTDIR with a .txt note. No coverage feedback: libFuzzer's targets
(tools/fuzz/) do that for the readers; this loop covers the whole CLI.
"""
import os
import random
import shutil
import subprocess
import sys
import tempfile

ENV = dict(os.environ, LC_ALL="C.UTF-8", QUANTSCOPE_OPEN_TIMEOUT="8", MALLOC_PERTURB_="0",
           ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1:handle_segv=0",
           UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1",
           LSAN_OPTIONS="print_suppressions=0:suppressions=" + os.path.join(
               os.path.dirname(os.path.abspath(__file__)), "lsan-cli.supp"))

COMMANDS = [
    ["layers", "--json", "--check-data", "IN"],
    ["stats", "--tensor", "TENSOR", "IN"],
    ["eval", "-n", "20", "-c", "10", "IN"],
    ["export", "IN", "OUT"],
    ["report", "--memory-budget", "1M", "IN"],
]


def mutate(data, rng):
    data = bytearray(data)
    kind = rng.randrange(6)
    if kind == 0 or len(data) < 16:
        for _ in range(rng.randint(1, 8)):
            i = rng.randrange(len(data))
            data[i] ^= 1 << rng.randrange(8)
    elif kind == 1:
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(len(data))
            data[i] = rng.choice([0, 0xff, 0x7f, 0x80, 0x01, rng.randrange(256)])
    elif kind == 2:
        i = rng.randrange(len(data) - 8)
        width = rng.choice([2, 4, 8])
        value = rng.choice([0, (1 << (8 * width)) - 1, 1 << (8 * width - 1), rng.randrange(1 << (8 * width))])
        data[i:i + width] = value.to_bytes(width, "little")
    elif kind == 3:
        del data[rng.randrange(len(data)):]
    elif kind == 4:
        i = rng.randrange(len(data))
        del data[i:i + rng.randint(1, 64)]
    else:
        i = rng.randrange(len(data))
        data[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
    return bytes(data)


def main():
    cli, seed_path, iterations, outdir = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    rng = random.Random(int(sys.argv[5]) if len(sys.argv) > 5 else 1)
    os.makedirs(outdir, exist_ok=True)
    with open(seed_path, "rb") as f:
        seed = f.read()
    suffix = ".keras" if seed_path.endswith(".keras") else ".h5"
    p = subprocess.run([cli, "layers", "--json", seed_path], capture_output=True, env=ENV)
    import json
    tensor = next(t["path"] for t in json.loads(p.stdout)["tensors"] if t["quantizable"])
    findings = 0
    for it in range(iterations):
        tmp = tempfile.mkdtemp(prefix="mutate-")
        try:
            path = os.path.join(tmp, "in" + suffix)
            data = mutate(seed, rng)
            with open(path, "wb") as f:
                f.write(data)
            out = os.path.join(tmp, "out", "out.h5")
            os.mkdir(os.path.dirname(out))
            command = COMMANDS[it % len(COMMANDS)]
            argv = [cli] + [path if a == "IN" else out if a == "OUT" else tensor if a == "TENSOR" else a
                            for a in command]
            problem = None
            try:
                r = subprocess.run(argv, capture_output=True, timeout=10, env=ENV)
                err = r.stderr.decode("utf-8", "replace")
                if r.returncode < 0:
                    problem = f"signal {-r.returncode}"
                elif r.returncode not in (0, 2):
                    problem = f"status {r.returncode}"
                elif r.returncode == 2 and (r.stdout or err.count("\n") != 1
                                            or not err.startswith("quantscope-cli: ")):
                    problem = "not one line"
                elif r.returncode != 0 and os.listdir(os.path.dirname(out)):
                    problem = "export left a file"
                elif "took longer than" in err:
                    # the open watchdog: libhdf5 looping on damage, or our own slow path
                    problem = "watchdog"
            except subprocess.TimeoutExpired:
                problem = "timeout"
                err = ""
            if problem is not None:
                findings += 1
                name = os.path.join(outdir, f"{problem.replace(' ', '-')}-{it:05d}{suffix}")
                with open(name, "wb") as f:
                    f.write(data)
                with open(name + ".txt", "w") as f:
                    f.write(f"{problem}\n{' '.join(command)}\n{err[:4000]}\n")
                print(f"{it}: {problem}: {' '.join(command)}: {err.splitlines()[:3]}", flush=True)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"{iterations} iterations, {findings} findings", flush=True)


if __name__ == "__main__":
    main()
