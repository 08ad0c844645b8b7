#!/usr/bin/python3
# run-hostile.py: every quantscope-cli command on every file make-hostile.py wrote, checking the bad-input contract.
# SPDX-License-Identifier: GPL-3.0-or-later
"""Usage: run-hostile.py CLI DIR [JOBS] [FILTER[,FILTER...]]

For every input in DIR (from make-hostile.py) runs the commands that take
that kind of input, each under `timeout`, and reports every run that
breaks the contract: an exit status other than 0 and 2, a signal, a hang
(or the CLI's open watchdog ending a read: $QUANTSCOPE_OPEN_TIMEOUT is 30 s here),
status 2 with anything but exactly one line "quantscope-cli: ..." on
stderr or with anything on stdout, or an export that failed and left
something behind or changed its destination. Image sets and folders
are read with --memory-budget 512M, and a run whose peak resident memory
(wait4) passes 768 MiB is a finding too. With an ASan+UBSan build of
CLI, sanitizer reports show up as a wrong status and extra stderr lines
(its memory figures are then meaningless: HOSTILE_NO_MEMORY=1 skips them).
FILTER keeps the inputs whose names contain one of its comma-separated
parts.
Prints one line per finding and a summary; exits 1 if there was one.
"""
import concurrent.futures
import os
import shutil
import subprocess
import sys
import tempfile
import time

TIMEOUT = int(os.environ.get("HOSTILE_TIMEOUT", "120"))
EVAL = ["-n", "40", "-c", "20"]
ENV = dict(os.environ, LC_ALL="C.UTF-8", QUANTSCOPE_OPEN_TIMEOUT="30",
           ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1:handle_segv=0",
           UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1", MALLOC_PERTURB_="0",
           LSAN_OPTIONS="print_suppressions=0:suppressions=" + os.path.join(
               os.path.dirname(os.path.abspath(__file__)), "..", "fuzz", "lsan-cli.supp"))


class Finished:
    """A finished run: status (negative: the signal), output, and the peak
    resident memory in bytes (from wait4, the process alone)."""

    def __init__(self, returncode, stdout, stderr, peak):
        self.returncode, self.stdout, self.stderr, self.peak = returncode, stdout, stderr, peak


def run(argv, work):
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        # no pipe to fill, and stdin is not a terminal or a stream to wait on
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=ENV, cwd=work)
        deadline = time.monotonic() + TIMEOUT
        while True:
            pid, status, usage = os.wait4(p.pid, os.WNOHANG)
            if pid != 0:
                break
            if time.monotonic() > deadline:
                p.kill()
                os.wait4(p.pid, 0)
                p.returncode = 0
                return None
            time.sleep(0.02)
        p.returncode = 0  # reaped here; keep Popen from waiting again
        out.seek(0)
        err.seek(0)
        return Finished(os.waitstatus_to_exitcode(status), out.read(), err.read(), usage.ru_maxrss * 1024)


def check(label, argv, work, export_dir=None, original=None, memory_limit=None):
    p = run(argv, work)
    problems = []
    if p is None:
        return [f"HANG {label}"]
    if memory_limit is not None and p.peak > memory_limit:
        problems.append(f"MEMORY {p.peak >> 20} MiB")
    err = p.stderr.decode("utf-8", "replace")
    if p.returncode < 0:
        problems.append(f"SIGNAL {-p.returncode}")
    elif p.returncode not in (0, 2):
        problems.append(f"STATUS {p.returncode}")
    if "took longer than" in err:
        # the open watchdog ended a read that should not take this long
        problems.append("WATCHDOG")
    if p.returncode == 2:
        if p.stdout:
            problems.append("STDOUT on failure")
        if not err.startswith("quantscope-cli: ") or not err.endswith("\n") or err.count("\n") != 1:
            problems.append(f"STDERR {err.count(chr(10))} lines")
    if p.returncode != 0 and export_dir is not None:
        left = sorted(os.listdir(export_dir))
        if left != ["out.h5"]:
            problems.append(f"LEFT {left}")
        else:
            with open(os.path.join(export_dir, "out.h5"), "rb") as f:
                if f.read() != original:
                    problems.append("DESTINATION CHANGED")
    if problems:
        first = "\\n".join(err.splitlines()[:6])[:600]
        return [f"{' '.join(problems)} {label}: {first}"]
    return []


def model_jobs(cli, path, base_model, base_scheme):
    name = os.path.basename(path)
    yield ["layers", path]
    yield ["layers", "--json", "--check-data", path]
    # the first listed tensor, else a made-up one
    p = run([cli, "layers", "--json", path], None)
    tensor = "/nothing"
    if p is not None and p.returncode == 0:
        import json
        try:
            doc = json.loads(p.stdout)
            tensors = doc.get("tensors", doc) if isinstance(doc, dict) else doc
            for t in tensors:
                if isinstance(t, dict) and t.get("quantizable", True) and "path" in t:
                    tensor = t["path"]
                    break
        except (ValueError, AttributeError):
            pass
    yield ["stats", "--tensor", tensor, path]
    yield ["stats", "--json", "--memory-budget", "1M", "--range", "mse", "--tensor", tensor, path]
    yield ["stats", "--json", "--range", "kl", "--granularity", "tensor", "--tensor", tensor, path]
    yield ["stats", "--sweep-group-sizes", "1,32,65536", "--tensor", tensor, path]
    yield ["plot", "--tensor", tensor, "-o", "OUT.png", path]
    yield ["plot", "--kind", "channels", "--tensor", tensor, "-o", "OUT.svg", path]
    yield ["plot", "--kind", "sweep", "--tensor", tensor, "-o", "OUT.pdf", path]
    yield ["plot", "--kind", "overview", "-o", "OUT.png", path]
    yield ["report", path]
    yield ["report", "--format", "md", "--memory-budget", "1M", path]
    yield ["EXPORT", path]
    yield ["EXPORT", "--layout", "dequantized", "--pack", "--bits", "4", path]
    if name.startswith(("k2-", "k3-", "w3-")):
        yield ["eval", *EVAL, path]
        yield ["eval", *EVAL, "--json", "--float-logits", "--act-range", "percentile:99.9", path]
        yield ["sensitivity", *EVAL, path]
        yield ["mixed", *EVAL, "--bits", "4,8", "--budget", "1", path]
        yield ["compare", *EVAL, "-a", base_scheme, "-b", base_scheme, path]


# Image sets and folders are loaded within this budget (besides the
# model, the libraries and one decoded image's pixbuf beside it).
DATA_BUDGET = ["-m", "512M"]
DATA_MEMORY_LIMIT = (512 + 256) << 20


def image_jobs(path, base_model, base_scheme):
    yield ["eval", *EVAL, *DATA_BUDGET, "--data", path, base_model]
    yield ["eval", "-n", "10", "-c", "5", *DATA_BUDGET, "--calib-data", path, base_model]
    yield ["eval", "-n", "10", "-c", "5", "--json", "--preprocess", "caffe", *DATA_BUDGET, "--data", path,
           "--calibration", path, base_model]
    yield ["sensitivity", "-n", "10", "-c", "5", *DATA_BUDGET, "--data", path, base_model]
    yield ["mixed", "-n", "10", "-c", "5", "--bits", "4,8", *DATA_BUDGET, "--data", path, base_model]
    yield ["compare", "-n", "10", "-c", "5", *DATA_BUDGET, "-a", base_scheme, "-b", base_scheme, "--data", path,
           base_model]


def scheme_jobs(path, base_model, base_scheme):
    yield ["stats", "--scheme-file", path, "--tensor", "/model_weights/conv2d/conv2d/kernel:0", base_model]
    yield ["report", "--scheme-file", path, base_model]
    yield ["EXPORT", "--scheme-file", path, base_model]
    yield ["eval", *EVAL, "--scheme-file", path, base_model]
    yield ["compare", *EVAL, "-a", path, "-b", base_scheme, base_model]
    yield ["mixed", *EVAL, "--bits", "4,8", "--scheme-file", path, base_model]
    yield ["plot", "--scheme-file", path, "--kind", "overview", "-o", "OUT.png", base_model]


NUMBER_JOBS = [
    ["number", "nan"], ["number", "-nan"], ["number", "inf"], ["number", "1e999"], ["number", "-0"],
    ["number", "0x1p-1074"], ["number", ""], ["number", "abc"], ["number", "1" * 5000],
    ["number", "--q=999.999", "1"], ["number", "--q=0.0", "1"], ["number", "--q=-1.5", "1"], ["number", "--q=32.32", "1e30"],
    ["number", "--scale=0", "1"], ["number", "--scale=nan", "1"], ["number", "--scale=-1", "1"],
    ["number", "--scale=1e-45", "3e38"], ["number", "--scale=inf", "1"], ["number", "--bits=99", "--scale=1", "1"],
    ["number", "--bits=1", "--scale=1", "1"], ["number", "--zero-point=1e20", "--scale=1", "1"],
    ["number", "--zero-point=nan", "--scale=1", "1"], ["number", "--json", "--scale=1e-30", "1e30"],
    ["number", "--rounding=up", "1"], ["number", "--unsigned", "--narrow", "--bits=2", "--scale=1", "-5"],
]


def main():
    cli = os.path.abspath(sys.argv[1])
    root = os.path.abspath(sys.argv[2])
    jobs_n = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    only = sys.argv[4].split(",") if len(sys.argv) > 4 else []
    base_model = os.path.join(root, "k2-base.h5")
    base_scheme = os.path.join(root, "scheme-base.json")
    inputs = []
    for dirpath, dirnames, filenames in os.walk(root):
        # an image folder is one input: its insides are not walked
        for n in [n for n in dirnames if n.startswith("imgdir-")]:
            dirnames.remove(n)
            if not only or any(o in n for o in only):
                inputs.append(("image", os.path.join(dirpath, n)))
        for n in dirnames + filenames:
            full = os.path.join(dirpath, n)
            if n.endswith(".config.json") or (n.endswith(".h5") and n.startswith("w3-") and not n.endswith(".weights.h5")):
                continue
            if only and not any(o in n for o in only):
                continue
            if n.startswith(("k2-", "k3-", "raw-")) or n.endswith(".weights.h5"):
                inputs.append(("model", full))
            elif n.startswith("img-"):
                inputs.append(("image", full))
            elif n.startswith("scheme-"):
                inputs.append(("scheme", full))
    work = []
    for kind, path in sorted(inputs):
        if kind == "model":
            gen = model_jobs(cli, path, base_model, base_scheme)
        elif kind == "image":
            gen = image_jobs(path, base_model, base_scheme)
        else:
            gen = scheme_jobs(path, base_model, base_scheme)
        for args in gen:
            work.append(args)
    if not only:
        work += NUMBER_JOBS

    def do(args):
        tmp = tempfile.mkdtemp(prefix="hostile-")
        try:
            argv, export_dir, original = job_argv(cli, args, tmp)
            label = " ".join(a if a != cli else "CLI" for a in argv).replace(root + "/", "")
            limit = DATA_MEMORY_LIMIT if DATA_BUDGET[1] in args and not os.environ.get("HOSTILE_NO_MEMORY") else None
            return check(label, argv, None, export_dir, original, limit)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    findings = []
    with concurrent.futures.ThreadPoolExecutor(jobs_n) as pool:
        for done, result in enumerate(pool.map(do, work), 1):
            for line in result:
                print(line, flush=True)
                findings.append(line)
            if done % 100 == 0:
                print(f"... {done} of {len(work)} runs", file=sys.stderr, flush=True)
    print(f"{len(work)} runs, {len(findings)} findings", flush=True)
    sys.exit(1 if findings else 0)


def job_argv(cli, args, tmp):
    """A job's command line in the scratch folder @tmp: EXPORT jobs write over an existing out.h5 there
    (the original content, to check that a refused export leaves it as it was), OUT... names go into
    @tmp. Returns (argv, export_dir or None, original or None)."""
    if args[0] == "EXPORT":
        original = b"ORIGINAL CONTENT\n"
        with open(os.path.join(tmp, "out.h5"), "wb") as f:
            f.write(original)
        return [cli, "export", "--force", *args[1:-1], args[-1], os.path.join(tmp, "out.h5")], tmp, original
    return [cli] + [a.replace("OUT", os.path.join(tmp, "out")) if a.startswith("OUT") else a for a in args], None, None


if __name__ == "__main__":
    main()
