#!/usr/bin/python3
# make_config_variants.py: a Keras 2 model file rewritten in the config spellings other Keras versions use.
# SPDX-License-Identifier: GPL-3.0-or-later
"""Usage: make_config_variants.py MODEL.h5 OUTDIR

Writes OUTDIR/NAME-VARIANT.h5 for each VARIANT below: MODEL.h5 with the
same weights and its model_config rewritten as another Keras writes the
same model. Each must evaluate exactly as MODEL.h5 (test-config-variants):
  batch_shape   InputLayer's batch_input_shape as Keras 3's batch_shape
  policy        every "dtype": "float32" as Keras 3's DTypePolicy object
  k3nodes       Keras 2's inbound_nodes lists ([[[name, node, tensor,
                kwargs], ...]]) as Keras 3's call objects ({"args":
                [keras_tensor or [keras_tensor, ...]], "kwargs": {...}})
  all           the three together
"""
import copy
import json
import os
import shutil
import sys

import h5py


def walk_layers(model, visit):
    for layer in model.get("config", {}).get("layers", []):
        visit(layer)
        if layer.get("class_name") in ("Functional", "Model", "Sequential"):
            walk_layers(layer, visit)


def batch_shape(model):
    def visit(layer):
        config = layer["config"]
        if "batch_input_shape" in config:
            config["batch_shape"] = config.pop("batch_input_shape")
    walk_layers(model, visit)
    return model


def policy(model):
    def visit(layer):
        config = layer["config"]
        if isinstance(config.get("dtype"), str):
            config["dtype"] = {"module": "keras", "class_name": "DTypePolicy",
                               "config": {"name": config["dtype"]}, "registered_name": None}
    walk_layers(model, visit)
    return model


def keras_tensor(ref):
    return {"class_name": "__keras_tensor__",
            "config": {"shape": [None], "dtype": "float32", "keras_history": list(ref[:3])}}


def k3nodes(model):
    def visit(layer):
        calls = []
        for call in layer.get("inbound_nodes") or []:
            entries = call if call and isinstance(call[0], list) else [call]
            tensors = [keras_tensor(e) for e in entries]
            kwargs = {}
            for key, value in (entries[0][3] if len(entries[0]) > 3 else {}).items():
                is_ref = isinstance(value, list) and value and isinstance(value[0], str)
                kwargs[key] = keras_tensor(value) if is_ref else value
            calls.append({"args": [tensors] if len(tensors) > 1 else tensors, "kwargs": kwargs})
        if "inbound_nodes" in layer:
            layer["inbound_nodes"] = calls
    walk_layers(model, visit)
    return model


VARIANTS = {
    "batch_shape": batch_shape,
    "policy": policy,
    "k3nodes": k3nodes,
    "all": lambda model: k3nodes(policy(batch_shape(model))),
}


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    source, outdir = sys.argv[1], sys.argv[2]
    os.makedirs(outdir, exist_ok=True)
    name = os.path.basename(source)[:-len(".h5")]
    with h5py.File(source, "r") as f:
        config = json.loads(f.attrs["model_config"])
    for tag, rewrite in VARIANTS.items():
        target = os.path.join(outdir, f"{name}-{tag}.h5")
        shutil.copy(source, target)
        with h5py.File(target, "r+") as f:
            f.attrs["model_config"] = json.dumps(rewrite(copy.deepcopy(config)))


if __name__ == "__main__":
    main()
