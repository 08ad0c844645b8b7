#!/usr/bin/python3
# train_fashion_cnn.py: trains Quantscope's demo model and writes it as a Keras 2 .h5 file.
# SPDX-License-Identifier: GPL-3.0-or-later
"""Train the Fashion-MNIST demo CNN and save it in Keras 2 full-model layout.

How to run (from the source root; needs Debian's python3-torch, python3-numpy,
python3-h5py and dataset-fashion-mnist; only /usr/bin/python3 sees torch):

    /usr/bin/python3 tools/train_fashion_cnn.py [--epochs 5] [--out data/models/fashion-cnn.h5]
                                                [--doc docs/demo-model.md]

Outputs:
  data/models/fashion-cnn.h5  exactly the tree Keras 2.11 `model.save("x.h5")`
                              writes for a Sequential model (model_config,
                              model_weights/<layer>/<layer>/<weight>:0, the
                              layer_names / weight_names attributes, Keras axis
                              orders), written with h5py; plus Quantscope's own
                              root attributes describing the preprocessing.
  docs/demo-model.md          the training record (architecture, parameter
                              count, seed, epochs, optimizer, time, accuracy).

Determinism: torch.manual_seed(SEED), torch.use_deterministic_algorithms(True),
torch.set_num_threads(1) (leaves the second core free), a numpy Generator with a
fixed seed for the per-epoch shuffle.  Rerunning with the same PyTorch build on
the same CPU gives the same weights.

Semantics follow Keras / TensorFlow (channels_last), although the PyTorch model
computes in NCHW internally:
  * 'same' padding is TF's: total = max((ceil(H/s) - 1) * s + k - H, 0),
    pad_top = total // 2, the extra row/column at the bottom/right.  For the
    stride-2 3x3 conv on 28x28 that is 0 rows on top, 1 at the bottom (0 left,
    1 right), which torch's symmetric `padding=` cannot express: we F.pad.
  * Flatten runs in NHWC order (h, w, c): the tensor is permuted to NHWC before
    flattening, so the first Dense kernel is a valid Keras (in, out) kernel.
  * BatchNormalization uses Keras' epsilon 0.001 (torch default is 1e-5) and
    momentum 0.99 (torch momentum 0.01).
Preprocessing: x = float32(pixel) / 255.0f, shape 28x28x1, no mean subtraction.
"""

import argparse
import gzip
import json
import os
import sys
import time

import h5py
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

SEED = 20240604
DATA_DIR = "/usr/share/datasets/fashion-mnist"
CLASS_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
BN_EPS = 0.001
BN_MOMENTUM_KERAS = 0.99
DROPOUT = 0.3
BATCH = 128
LR = 1e-3
KERAS_VERSION = "2.11.0"


def read_idx(path):
    """Read an idx file (gzip) into a numpy uint8 array."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], "big")
    if magic >> 8 != 0x08:  # 0x08 = unsigned byte
        raise ValueError(f"{path}: not an unsigned-byte idx file (magic {magic:#x})")
    ndim = magic & 0xFF
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    return arr.reshape(dims)


def preprocess(images_u8):
    """uint8 N x 28 x 28 -> float32 N x 1 x 28 x 28 (NCHW for torch), x / 255."""
    x = torch.from_numpy(images_u8.astype(np.float32)) / 255.0
    return x.unsqueeze(1)


def tf_same_pad(x, k, s):
    """Pad an NCHW tensor the way TF 'same' padding does (extra at bottom/right)."""
    h, w = x.shape[2], x.shape[3]
    def amounts(n):
        out = -(-n // s)
        total = max((out - 1) * s + k - n, 0)
        return total // 2, total - total // 2
    top, bottom = amounts(h)
    left, right = amounts(w)
    return F.pad(x, (left, right, top, bottom))


class FashionCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv2d = nn.Conv2d(1, 16, 3)                            # 'same', stride 1
        self.batch_normalization = nn.BatchNorm2d(16, eps=BN_EPS, momentum=1.0 - BN_MOMENTUM_KERAS)
        self.conv2d_1 = nn.Conv2d(16, 32, 3, stride=2)               # 'same', stride 2
        self.depthwise_conv2d = nn.Conv2d(32, 32, 3, groups=32)      # 'same', multiplier 1
        self.conv2d_2 = nn.Conv2d(32, 64, 1)
        self.dense = nn.Linear(7 * 7 * 64, 128)
        self.dropout = nn.Dropout(DROPOUT)
        self.dense_1 = nn.Linear(128, 10)
        # Keras' defaults: glorot_uniform kernels, zero biases.
        for m in (self.conv2d, self.conv2d_1, self.depthwise_conv2d, self.conv2d_2,
                  self.dense, self.dense_1):
            if isinstance(m, nn.Conv2d) and m.groups > 1:
                self._glorot_depthwise(m.weight)
            else:
                nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)

    @staticmethod
    def _glorot_depthwise(w):
        # Keras computes the fans of a (kh, kw, in, mult) depthwise kernel as
        # fan_in = kh*kw*in, fan_out = kh*kw*mult.
        kh, kw = w.shape[2], w.shape[3]
        cin, mult = w.shape[0], w.shape[1]
        limit = (6.0 / (kh * kw * cin + kh * kw * mult)) ** 0.5
        with torch.no_grad():
            w.uniform_(-limit, limit)

    def forward(self, x):
        x = F.relu(self.batch_normalization(self.conv2d(tf_same_pad(x, 3, 1))))
        x = F.relu(self.conv2d_1(tf_same_pad(x, 3, 2)))
        x = F.relu(self.depthwise_conv2d(tf_same_pad(x, 3, 1)))
        x = F.relu(self.conv2d_2(x))
        x = F.max_pool2d(x, 2, 2)
        x = x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)            # Keras Flatten: NHWC order
        x = self.dropout(F.relu(self.dense(x)))
        return self.dense_1(x)


def evaluate(model, x, y, batch=1000):
    model.eval()
    preds = []
    with torch.no_grad():
        for i in range(0, x.shape[0], batch):
            preds.append(model(x[i:i + batch]).argmax(1))
    preds = torch.cat(preds).numpy()
    return float((preds == y).mean()), preds


# ---------------------------------------------------------------- Keras file

def _glorot():
    return {"class_name": "GlorotUniform", "config": {"seed": None}}


def _init(name):
    return {"class_name": name, "config": {}}


def _conv_config(name, filters, k, s, activation):
    return {"class_name": "Conv2D", "config": {
        "name": name, "trainable": True, "dtype": "float32", "filters": filters,
        "kernel_size": [k, k], "strides": [s, s], "padding": "same",
        "data_format": "channels_last", "dilation_rate": [1, 1], "groups": 1,
        "activation": activation, "use_bias": True,
        "kernel_initializer": _glorot(), "bias_initializer": _init("Zeros"),
        "kernel_regularizer": None, "bias_regularizer": None,
        "activity_regularizer": None, "kernel_constraint": None, "bias_constraint": None}}


def _dense_config(name, units, activation):
    return {"class_name": "Dense", "config": {
        "name": name, "trainable": True, "dtype": "float32", "units": units,
        "activation": activation, "use_bias": True,
        "kernel_initializer": _glorot(), "bias_initializer": _init("Zeros"),
        "kernel_regularizer": None, "bias_regularizer": None,
        "activity_regularizer": None, "kernel_constraint": None, "bias_constraint": None}}


def model_config():
    layers = [
        {"class_name": "InputLayer", "config": {
            "batch_input_shape": [None, 28, 28, 1], "dtype": "float32",
            "sparse": False, "ragged": False, "name": "input_1"}},
        _conv_config("conv2d", 16, 3, 1, "linear"),
        {"class_name": "BatchNormalization", "config": {
            "name": "batch_normalization", "trainable": True, "dtype": "float32",
            "axis": [3], "momentum": BN_MOMENTUM_KERAS, "epsilon": BN_EPS,
            "center": True, "scale": True,
            "beta_initializer": _init("Zeros"), "gamma_initializer": _init("Ones"),
            "moving_mean_initializer": _init("Zeros"),
            "moving_variance_initializer": _init("Ones"),
            "beta_regularizer": None, "gamma_regularizer": None,
            "beta_constraint": None, "gamma_constraint": None}},
        {"class_name": "ReLU", "config": {
            "name": "re_lu", "trainable": True, "dtype": "float32",
            "max_value": None, "negative_slope": 0.0, "threshold": 0.0}},
        _conv_config("conv2d_1", 32, 3, 2, "relu"),
        {"class_name": "DepthwiseConv2D", "config": {
            "name": "depthwise_conv2d", "trainable": True, "dtype": "float32",
            "kernel_size": [3, 3], "strides": [1, 1], "padding": "same",
            "data_format": "channels_last", "dilation_rate": [1, 1], "groups": 1,
            "activation": "relu", "use_bias": True,
            "bias_initializer": _init("Zeros"), "bias_regularizer": None,
            "activity_regularizer": None, "bias_constraint": None,
            "depth_multiplier": 1, "depthwise_initializer": _glorot(),
            "depthwise_regularizer": None, "depthwise_constraint": None}},
        _conv_config("conv2d_2", 64, 1, 1, "relu"),
        {"class_name": "MaxPooling2D", "config": {
            "name": "max_pooling2d", "trainable": True, "dtype": "float32",
            "pool_size": [2, 2], "padding": "valid", "strides": [2, 2],
            "data_format": "channels_last"}},
        {"class_name": "Flatten", "config": {
            "name": "flatten", "trainable": True, "dtype": "float32",
            "data_format": "channels_last"}},
        _dense_config("dense", 128, "relu"),
        {"class_name": "Dropout", "config": {
            "name": "dropout", "trainable": True, "dtype": "float32",
            "rate": DROPOUT, "noise_shape": None, "seed": None}},
        _dense_config("dense_1", 10, "softmax"),
    ]
    return {"class_name": "Sequential", "config": {"name": "sequential", "layers": layers}}


def training_config(epochs):
    return {
        "loss": "sparse_categorical_crossentropy",
        "metrics": [[{"class_name": "MeanMetricWrapper", "config": {
            "name": "accuracy", "dtype": "float32", "fn": "sparse_categorical_accuracy"}}]],
        "weighted_metrics": None, "loss_weights": None,
        "optimizer_config": {"class_name": "Adam", "config": {
            "name": "Adam", "learning_rate": LR, "decay": 0.0, "beta_1": 0.9,
            "beta_2": 0.999, "epsilon": 1e-07, "amsgrad": False}},
    }


def keras_weights(model):
    """[(layer name, [(weight name, float32 array in Keras layout)])] in model.layers order."""
    m = model
    def t(p):
        return p.detach().cpu().numpy().astype(np.float32)
    conv = lambda w: np.ascontiguousarray(t(w).transpose(2, 3, 1, 0))      # (out,in,kh,kw) -> (kh,kw,in,out)
    dw = lambda w: np.ascontiguousarray(t(w).transpose(2, 3, 0, 1))        # (C,1,kh,kw) -> (kh,kw,C,1)
    dense = lambda w: np.ascontiguousarray(t(w).T)                         # (out,in) -> (in,out)
    bn = m.batch_normalization
    return [
        ("conv2d", [("kernel:0", conv(m.conv2d.weight)), ("bias:0", t(m.conv2d.bias))]),
        ("batch_normalization", [("gamma:0", t(bn.weight)), ("beta:0", t(bn.bias)),
                                 ("moving_mean:0", t(bn.running_mean)),
                                 ("moving_variance:0", t(bn.running_var))]),
        ("re_lu", []),
        ("conv2d_1", [("kernel:0", conv(m.conv2d_1.weight)), ("bias:0", t(m.conv2d_1.bias))]),
        ("depthwise_conv2d", [("depthwise_kernel:0", dw(m.depthwise_conv2d.weight)),
                              ("bias:0", t(m.depthwise_conv2d.bias))]),
        ("conv2d_2", [("kernel:0", conv(m.conv2d_2.weight)), ("bias:0", t(m.conv2d_2.bias))]),
        ("max_pooling2d", []),
        ("flatten", []),
        ("dense", [("kernel:0", dense(m.dense.weight)), ("bias:0", t(m.dense.bias))]),
        ("dropout", []),
        ("dense_1", [("kernel:0", dense(m.dense_1.weight)), ("bias:0", t(m.dense_1.bias))]),
    ]


def save_keras_h5(model, path, epochs, test_top1):
    """Write what Keras 2.11 model.save(path) (h5 format) writes, plus preprocessing attrs.

    Like Keras: string attributes are variable-length UTF-8 (h5py str), the
    layer_names / weight_names lists are fixed-length byte-string arrays
    (numpy 'S', padded to the longest name), and a layer without weights gets weight_names = an empty
    float64 array (Keras' np.asarray([])).  Sequential models list no
    InputLayer in layer_names (it is not in model.layers)."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = path + ".tmp"
    with h5py.File(tmp, "w", track_order=False) as f:
        f.attrs["backend"] = "tensorflow"
        f.attrs["keras_version"] = KERAS_VERSION
        f.attrs["model_config"] = json.dumps(model_config())
        f.attrs["training_config"] = json.dumps(training_config(epochs))
        # Quantscope's additions (Keras ignores unknown root attributes).
        f.attrs["preprocess"] = json.dumps({
            "input": "uint8 grayscale image 28x28, one channel, HWC (28, 28, 1)",
            "formula": "x = float32(pixel) / 255.0f",
            "scale": 1.0 / 255.0, "mean": 0.0,
            "range": [0.0, 1.0]})
        f.attrs["class_names"] = json.dumps(CLASS_NAMES)
        f.attrs["description"] = (
            "Quantscope demo model: Fashion-MNIST CNN trained by "
            "tools/train_fashion_cnn.py with PyTorch; fp32 test top-1 %.4f" % test_top1)
        g = f.create_group("model_weights")
        weights = keras_weights(model)
        # np.array(..., dtype "S"): fixed-length byte strings, as Keras 2 wrote
        # them with h5py 2 (with h5py 3 the same Keras code writes
        # variable-length strings; readers must accept both).
        g.attrs["layer_names"] = np.array([name.encode("utf8") for name, _ in weights])
        g.attrs["backend"] = "tensorflow"
        g.attrs["keras_version"] = KERAS_VERSION
        for lname, ws in weights:
            lg = g.create_group(lname)
            names = [f"{lname}/{w}".encode("utf8") for w, _ in ws]
            lg.attrs["weight_names"] = np.array(names) if names else np.asarray([])
            for (wname, arr), full in zip(ws, names):
                d = lg.create_dataset(full.decode(), arr.shape, dtype=arr.dtype)
                d[...] = arr
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--out", default=os.path.join(root, "data/models/fashion-cnn.h5"))
    ap.add_argument("--doc", default=os.path.join(root, "docs/demo-model.md"))
    args = ap.parse_args()

    torch.manual_seed(SEED)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    rng = np.random.Generator(np.random.PCG64(SEED))

    xtr_u8 = read_idx(f"{DATA_DIR}/train-images-idx3-ubyte.gz")
    ytr = read_idx(f"{DATA_DIR}/train-labels-idx1-ubyte.gz").astype(np.int64)
    xte_u8 = read_idx(f"{DATA_DIR}/t10k-images-idx3-ubyte.gz")
    yte = read_idx(f"{DATA_DIR}/t10k-labels-idx1-ubyte.gz").astype(np.int64)
    xtr, xte = preprocess(xtr_u8), preprocess(xte_u8)
    ytr_t = torch.from_numpy(ytr)

    model = FashionCNN()
    nparams = sum(p.numel() for p in model.parameters()) + 2 * 16  # + BN moving stats
    opt = torch.optim.Adam(model.parameters(), lr=LR, betas=(0.9, 0.999), eps=1e-7)
    # Constant LR for all but the last epoch, which runs at LR / 10.
    log = []
    t0, c0 = time.time(), time.process_time()
    steps = 0
    for epoch in range(args.epochs):
        lr = LR if epoch < args.epochs - 1 else LR / 10
        for grp in opt.param_groups:
            grp["lr"] = lr
        model.train()
        order = torch.from_numpy(rng.permutation(xtr.shape[0]))
        total_loss, n = 0.0, 0
        for i in range(0, xtr.shape[0], BATCH):
            idx = order[i:i + BATCH]
            xb, yb = xtr[idx], ytr_t[idx]
            opt.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            total_loss += loss.item() * idx.numel()
            n += idx.numel()
            steps += 1
        acc, _ = evaluate(model, xte, yte)
        line = (f"epoch {epoch + 1}/{args.epochs} lr={lr:g} train_loss={total_loss / n:.4f} "
                f"test_top1={acc:.4f} elapsed={time.time() - t0:.0f}s")
        print(line, flush=True)
        log.append(line)
    train_seconds = time.time() - t0
    train_cpu_seconds = time.process_time() - c0
    acc, preds = evaluate(model, xte, yte)
    print(f"fp32 test top-1 {acc:.4f} ({int(round(acc * 10000))}/10000), "
          f"trained in {train_seconds:.0f} s wall, {train_cpu_seconds:.0f} s CPU, {nparams} parameters",
          flush=True)
    save_keras_h5(model, args.out, args.epochs, acc)
    print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes)")
    write_doc(args.doc, args, acc, train_seconds, train_cpu_seconds, nparams, log, steps)
    print(f"wrote {args.doc}")


def write_doc(path, args, acc, seconds, cpu_seconds, nparams, log, steps):
    per_layer = [
        ("input_1", "InputLayer", "28x28x1", "0"),
        ("conv2d", "Conv2D 3x3, 16, stride 1, same, linear", "28x28x16", "160"),
        ("batch_normalization", "BatchNormalization, epsilon 0.001", "28x28x16", "64 (32 trainable)"),
        ("re_lu", "ReLU", "28x28x16", "0"),
        ("conv2d_1", "Conv2D 3x3, 32, stride 2, same, relu", "14x14x32", "4,640"),
        ("depthwise_conv2d", "DepthwiseConv2D 3x3, multiplier 1, stride 1, same, relu", "14x14x32", "320"),
        ("conv2d_2", "Conv2D 1x1, 64, relu", "14x14x64", "2,112"),
        ("max_pooling2d", "MaxPooling2D 2x2, stride 2, valid", "7x7x64", "0"),
        ("flatten", "Flatten (h, w, c order)", "3136", "0"),
        ("dense", "Dense 128, relu", "128", "401,536"),
        ("dropout", f"Dropout {DROPOUT}", "128", "0"),
        ("dense_1", "Dense 10, softmax (argmax only)", "10", "1,290"),
    ]
    rows = "\n".join(f"| `{n}` | {d} | {s} | {p} |" for n, d, s, p in per_layer)
    text = f"""# The demo model: `data/models/fashion-cnn.h5`

<!-- Written by tools/train_fashion_cnn.py; rerun it rather than editing this file. -->

A small CNN for Fashion-MNIST (10 classes of 28x28 grayscale clothing images),
shipped so that accuracy evaluation works out of the box. It is trained with
Debian's PyTorch and saved with h5py in the Keras 2 full-model layout, exactly
as Keras 2.11 `model.save("fashion-cnn.h5")` would write it.

## Architecture (Keras Sequential, channels_last)

| Layer | Type | Output | Parameters |
|---|---|---|---|
{rows}

Total: {nparams:,} parameters ({nparams - 32:,} trainable; the 32 others are the
batch-norm moving mean and variance). Multiply-accumulates per image: about
1.88 million (conv2d 0.11 M, conv2d_1 0.90 M, depthwise_conv2d 0.06 M,
conv2d_2 0.40 M, dense 0.40 M, dense_1 0.001 M).

## Semantics an inference engine must follow

- **Preprocessing**: `x = float32(pixel) / 255.0f`, input shape (28, 28, 1),
  no mean subtraction. Also stored in the file's root attribute `preprocess`
  (JSON: scale 1/255, mean 0).
- **`same` padding** is TensorFlow's: total = max((ceil(H/s) - 1) * s + k - H, 0),
  top/left get total // 2, bottom/right the rest. For `conv2d_1` (3x3, stride 2,
  28x28 input) that is 0 rows/columns on top/left and 1 at the bottom/right.
  The stride-1 3x3 layers pad 1 on every side.
- **Flatten** is in NHWC order: index = (h * 7 + w) * 64 + c.
- **BatchNormalization**: `gamma * (x - moving_mean) / sqrt(moving_variance + 0.001) + beta`
  (epsilon 0.001, Keras' default, also used in training).
- **Kernels** in Keras axis order: Conv2D (kh, kw, in, out), DepthwiseConv2D
  (kh, kw, in, 1) as `depthwise_kernel:0`, Dense (in, out).
- Layers without weights (`re_lu`, `max_pooling2d`, `flatten`, `dropout`) are
  listed in `layer_names` with an empty `weight_names` (an empty float64
  array, as Keras writes it); the InputLayer appears only in `model_config`.
- `dense_1` has `"activation": "softmax"`; the prediction is the argmax of its
  pre-softmax output.

## How it was trained

- Data: Debian's `dataset-fashion-mnist` (`/usr/share/datasets/fashion-mnist/`),
  all 60,000 training images; the 10,000 test images are used only to measure.
- PyTorch {torch.__version__}, `torch.manual_seed({SEED})`,
  `torch.use_deterministic_algorithms(True)`, `torch.set_num_threads(1)`;
  the per-epoch shuffle comes from `numpy.random.Generator(PCG64({SEED}))`.
- Keras-style initialization (Glorot-uniform kernels, zero biases).
- Adam (beta 0.9/0.999, epsilon 1e-7, Keras' default), batch {BATCH}, cross-entropy,
  {args.epochs} epochs ({steps} steps): learning rate {LR:g}, the last epoch {LR / 10:g};
  dropout {DROPOUT}; no data augmentation, no weight decay.
- Training time: {cpu_seconds:.0f} s of CPU time on one thread ({seconds:.0f} s wall clock;
  this machine has {os.cpu_count()} cores, the other may have been busy). The
  log's "elapsed" is wall clock.

Log:

```
""" + "\n".join(log) + f"""
```

## Result

**fp32 top-1 on the 10,000-image Fashion-MNIST test set: {acc * 100:.2f}%**
({int(round(acc * 10000))} / 10,000 correct).

`tests/reference/engine_reference.py` recomputes this from the `.h5` file
alone (independently of the training code) and records it, with fake-quant
int8/int4 references, in `tests/data/engine-reference.json`.

## Data shipped in `data/fashion-mnist/`

- `t10k-images-idx3-ubyte.gz`, `t10k-labels-idx1-ubyte.gz`: the test set,
  byte-for-byte copies of Debian's `dataset-fashion-mnist` files. Their SHA-256
  are in `data/fashion-mnist/SHA256SUMS` (`cd data/fashion-mnist && sha256sum -c SHA256SUMS`);
  they were checked against the MD5 sums Debian's package records
  (`/var/lib/dpkg/info/dataset-fashion-mnist.md5sums`, or `dpkg --verify dataset-fashion-mnist`):
  `f78720b4224f21cce2f2ccf2d7a94c9a` (images) and `0d30e22e447f3c33dab9ed536400ac01` (labels).
- `calibration-images-idx3-ubyte.gz`, `calibration-labels-idx1-ubyte.gz`: the
  first 1,000 images and labels of the Fashion-MNIST *training* set, for
  calibrating activation ranges on images that are never scored. Written by
  `tests/reference/engine_reference.py` (idx format, gzip with mtime 0 and no
  file name, so the bytes are reproducible); also in `SHA256SUMS`.
"""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


if __name__ == "__main__":
    sys.exit(main())
