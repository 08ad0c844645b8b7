#!/usr/bin/python3
# make_activation_golden.py: writes tests/data/activation-golden.json, the activations' float definitions in float64.
# SPDX-License-Identifier: GPL-3.0-or-later
"""Generate the golden file tests/engine/test-graph-kernels.c checks
qs_activation_spec_apply against.

How to run (from the source root; needs numpy):

    /usr/bin/python3 tests/reference/make_activation_golden.py [OUTPUT]

OUTPUT defaults to tests/data/activation-golden.json.  Deterministic.

Each definition is transcribed from Keras' source (tf.keras 2.x
keras/backend.py relu / elu / hard_sigmoid, keras/layers/activation/*.py,
keras/applications/mobilenet_v3.py hard_swish; Keras 3
keras/src/activations/activations.py, keras/src/backend/*/nn.py) and
evaluated in float64 with numpy and Python's math module (erf, tanh,
expm1), so the C code's float32 results are checked against a more precise
value, not against themselves: the C test allows a few float32 ulps.
PyTorch is not installed on this machine; numpy plays its part.

Inputs x are float32 values (written as decimal doubles that round-trip
exactly): a grid over [-12, 12] plus the points where a definition changes
branch (0, the threshold, the cap, -3 and 3 for the hard functions) and
their float32 neighbours.
"""

import json
import math
import os
import sys

import numpy as np


def keras_relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """keras.backend.relu (Keras 2), ReLU.static_call (Keras 3), in order."""
    if negative_slope != 0.0:
        if max_value is None and threshold == 0:
            return x if x > 0 else negative_slope * x     # tf.nn.leaky_relu
        negative_part = max(-x + threshold, 0.0)
    if threshold != 0:
        y = x * (1.0 if x > threshold else 0.0)
    else:
        y = max(x, 0.0)
    if max_value is not None:
        y = min(max(y, 0.0), max_value)
    if negative_slope != 0.0:
        y -= negative_slope * negative_part
    return y


def sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


def relu6(x):
    return min(max(x, 0.0), 6.0)


# (name, C kind, parameters, definition)
SPECS = [
    ("relu", "relu", {}, lambda x: keras_relu(x)),
    ("relu6", "relu", {"max_value": 6.0}, lambda x: keras_relu(x, max_value=6.0)),
    ("relu_cap_2.5", "relu", {"max_value": 2.5}, lambda x: keras_relu(x, max_value=2.5)),
    ("leaky_relu_0.3", "leaky_relu", {"negative_slope": 0.3},
     lambda x: keras_relu(x, negative_slope=0.3)),
    ("leaky_relu_0.01", "leaky_relu", {"negative_slope": 0.01},
     lambda x: keras_relu(x, negative_slope=0.01)),
    ("relu_threshold_1", "leaky_relu", {"negative_slope": 0.0, "threshold": 1.0},
     lambda x: keras_relu(x, threshold=1.0)),
    ("relu_threshold_-1", "leaky_relu", {"negative_slope": 0.0, "threshold": -1.0},
     lambda x: keras_relu(x, threshold=-1.0)),
    ("relu_slope_cap_threshold", "leaky_relu",
     {"negative_slope": 0.2, "max_value": 4.0, "threshold": 0.5},
     lambda x: keras_relu(x, negative_slope=0.2, max_value=4.0, threshold=0.5)),
    ("relu_slope_cap", "leaky_relu", {"negative_slope": 0.1, "max_value": 6.0},
     lambda x: keras_relu(x, negative_slope=0.1, max_value=6.0)),
    ("elu", "elu", {}, lambda x: x if x > 0 else math.expm1(x)),
    ("elu_0.5", "elu", {"alpha": 0.5}, lambda x: x if x > 0 else 0.5 * math.expm1(x)),
    ("sigmoid", "sigmoid", {}, sigmoid),
    ("hard_sigmoid_keras2", "hard_sigmoid", {}, lambda x: min(max(0.2 * x + 0.5, 0.0), 1.0)),
    ("hard_sigmoid_keras3", "hard_sigmoid", {"slope": 1.0 / 6.0, "offset": 0.5},
     lambda x: relu6(x + 3.0) / 6.0),
    ("swish", "swish", {}, lambda x: x * sigmoid(x)),
    ("hard_swish", "hard_swish", {}, lambda x: x * relu6(x + 3.0) / 6.0),
    ("tanh", "tanh", {}, math.tanh),
    ("gelu", "gelu", {}, lambda x: 0.5 * x * (1.0 + math.erf(x / math.sqrt(2.0)))),
    ("gelu_tanh", "gelu", {"approximate": True},
     lambda x: 0.5 * x * (1.0 + math.tanh(math.sqrt(2.0 / math.pi)
                                          * (x + 0.044715 * x ** 3)))),
    ("linear", "none", {}, lambda x: x),
]


def inputs(params):
    points = [float(v) for v in np.linspace(-12.0, 12.0, 241, dtype=np.float32)]
    special = [0.0, -3.0, 3.0, 6.0, 1e-6, -1e-6, 40.0, -40.0]
    special += [params.get("threshold", 0.0), params.get("max_value", 0.0)]
    for s in special:
        f = np.float32(s)
        points += [float(f), float(np.nextafter(f, np.float32(-np.inf))),
                   float(np.nextafter(f, np.float32(np.inf)))]
    return sorted(set(points))


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    output = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "tests", "data",
                                                                "activation-golden.json")
    cases = []
    for name, kind, params, definition in SPECS:
        xs = inputs(params)
        cases.append({"name": name, "kind": kind, "params": params, "x": xs,
                      "y": [definition(x) for x in xs]})
    with open(output, "w") as f:
        json.dump({"generator": "tests/reference/make_activation_golden.py", "cases": cases},
                  f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
