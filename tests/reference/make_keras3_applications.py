#!/usr/bin/python3
# make_keras3_applications.py: Keras Applications architectures as Keras 3 saves them (.keras), with a PyTorch reference.
# SPDX-License-Identifier: GPL-3.0-or-later
"""Keras Applications architectures as Keras 3's model.save("x.keras") writes them.

Like make_keras_applications.py (whose layer stand-ins, random weights,
images and PyTorch interpreter this reuses), there is no Keras here: the
application definitions of a Keras 3 checkout (keras/src/applications/
*.py, read with git) run against a stand-in for the parts of keras.src
they call, which gives what Keras 3.16 writes:
  - config.json: serialize_keras_object of the model (module, class_name,
    config, registered_name, build_config); layers as public classes
    ("module": "keras.layers", registered_name null), dtype policies as
    objects, initializers as objects; operators on tensors (x + 3.0,
    x * (1 / 6), inputs + y) as operations ("module": "keras.src.ops.numpy",
    "class_name": "Add"); ConvNeXt's LayerScale and StochasticDepth under
    their own module; inbound_nodes as [{"args": [...], "kwargs": {}}] with
    "__keras_tensor__" arguments; automatic names conv2d, conv2d_1, ...,
    input_layer, add, ...; a nested Sequential with its own InputLayer.
  - model.weights.h5 (saving_lib): "layers/<snake_case of the class>[_k]/
    vars/<i>" over the model's `layers` (operations are not layers and are
    left out; a Sequential's InputLayer too), trainable variables first.
The archive is zipfile's ZIP_STORED of metadata.json, config.json and
model.weights.h5, as saving_lib writes it.

The architectures are reduced (the applications' own builders or block
functions at a smaller width, depth and input, 10 classes; Xception, which
has no such argument, its own code narrowed) so that the files and their
weights can be committed; the reference (the PyTorch
interpreter of make_keras_applications.py, taught the Keras 3 forms here)
reads config.json and the weights back from the archive.

Usage:
  make_keras3_applications.py [--keras-src DIR] --ci tests/data/keras3-apps
      <name>.keras, <name>-images.h5 and reference.json (the reference's logits, and
      every variable's name, layer and place in model.weights.h5 as this script reads them);
      the full-size architectures' config.json as <name>.json.gz, with architectures.json
"""

import argparse
import gzip
import io
import json
import os
import subprocess
import sys
import types
import zipfile

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_keras_applications as k2  # noqa: E402
import make_keras3_files as k3files  # noqa: E402

KERAS_VERSION = "3.16.0"
DEFAULT_SRC = "/work/.mirror/keras-team+keras/repo"
DTYPE = k3files.DTYPE


def initializer(class_name, **config):
    return {"module": "keras.initializers", "class_name": class_name, "config": config, "registered_name": None}


GLOROT = initializer("GlorotUniform", seed=None)
ZEROS = initializer("Zeros")
ONES = initializer("Ones")


def auto_name(class_name):
    """keras.src.utils.naming.auto_name: snake case, made unique with _1, _2, ..."""
    return k2.unique_name(k3files.snake_case(class_name))


# ---------------------------------------------------------------------------
# Keras 3 layers: tf.keras's stand-ins with Keras 3's names, configs and calls
# ---------------------------------------------------------------------------

class Keras3Layer:
    """Mixed into a stand-in of make_keras_applications.py: Keras 3's config and node."""

    MODULE = "keras.layers"

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("name", None)
        if kwargs["name"] is None:
            kwargs["name"] = auto_name(self.CLASS or type(self).__name__)
        super().__init__(*args, **kwargs)
        self.class_name = self.CLASS or type(self).__name__

    def __call__(self, inputs, *extra, **kwargs):
        out = super().__call__(inputs)
        self.call_args = [inputs]
        self.input_shape = ([list(t.shape) for t in inputs] if isinstance(inputs, (list, tuple))
                            else list(inputs.shape))
        return out

    def get_config(self):
        config = {"name": self.name, "trainable": True, "dtype": DTYPE}
        config.update(self.keras3_items())
        return config

    def keras3_items(self):
        return {}

    def entry(self):
        out = {"module": self.MODULE, "class_name": self.class_name, "config": self.get_config(),
               "registered_name": None if self.MODULE == "keras.layers" else self.class_name}
        if getattr(self, "input_shape", None) is not None:
            out["build_config"] = {"input_shape": self.input_shape}
        return out


def conv_common(a):
    return {"kernel_size": k2.pair(a["kernel_size"]), "strides": k2.pair(a["strides"]),
            "padding": a["padding"].lower(), "data_format": "channels_last",
            "dilation_rate": k2.pair(a["dilation_rate"])}


class Conv2D(Keras3Layer, k2.Conv2D):
    def keras3_items(self):
        a = self.args
        c = conv_common(a)
        return {"filters": a["filters"], **c, "groups": a["groups"],
                "activation": k2.activation_name(a["activation"]), "use_bias": a["use_bias"],
                "kernel_initializer": GLOROT, "bias_initializer": ZEROS, "kernel_regularizer": None,
                "bias_regularizer": None, "activity_regularizer": None, "kernel_constraint": None,
                "bias_constraint": None}


class DepthwiseConv2D(Keras3Layer, k2.DepthwiseConv2D):
    def keras3_items(self):
        a = self.args
        return {"depth_multiplier": a["depth_multiplier"], **conv_common(a),
                "activation": k2.activation_name(a["activation"]), "use_bias": a["use_bias"],
                "depthwise_initializer": GLOROT, "bias_initializer": ZEROS, "depthwise_regularizer": None,
                "bias_regularizer": None, "activity_regularizer": None, "depthwise_constraint": None,
                "bias_constraint": None}


class SeparableConv2D(Keras3Layer, k2.SeparableConv2D):
    def keras3_items(self):
        a = self.args
        c = conv_common(a)
        return {"depth_multiplier": a["depth_multiplier"], "filters": a["filters"], "kernel_size": c["kernel_size"],
                "strides": c["strides"], "padding": c["padding"], "data_format": c["data_format"],
                "dilation_rate": c["dilation_rate"], "activation": k2.activation_name(a["activation"]),
                "use_bias": a["use_bias"], "depthwise_initializer": GLOROT, "pointwise_initializer": GLOROT,
                "bias_initializer": ZEROS, "depthwise_regularizer": None, "pointwise_regularizer": None,
                "bias_regularizer": None, "activity_regularizer": None, "depthwise_constraint": None,
                "pointwise_constraint": None, "bias_constraint": None}


class Dense(Keras3Layer, k2.Dense):
    def keras3_items(self):
        a = self.args
        return {"units": a["units"], "activation": k2.activation_name(a["activation"]), "use_bias": a["use_bias"],
                "kernel_initializer": GLOROT, "bias_initializer": ZEROS, "kernel_regularizer": None,
                "bias_regularizer": None, "kernel_constraint": None, "bias_constraint": None,
                "quantization_config": None}


class BatchNormalization(Keras3Layer, k2.BatchNormalization):
    def keras3_items(self):
        a = self.args
        return {"axis": a["axis"], "momentum": a["momentum"], "epsilon": a["epsilon"], "center": a["center"],
                "scale": a["scale"], "beta_initializer": ZEROS, "gamma_initializer": ONES,
                "moving_mean_initializer": ZEROS, "moving_variance_initializer": ONES, "beta_regularizer": None,
                "gamma_regularizer": None, "beta_constraint": None, "gamma_constraint": None,
                "synchronized": False, "renorm": False, "renorm_clipping": None, "renorm_momentum": 0.99}


class LayerNormalization(Keras3Layer, k2.LayerNormalization):
    def keras3_items(self):
        a = self.args
        return {"axis": a["axis"], "epsilon": a["epsilon"], "center": a["center"], "scale": a["scale"],
                "rms_scaling": False, "beta_initializer": ZEROS, "gamma_initializer": ONES,
                "beta_regularizer": None, "gamma_regularizer": None, "beta_constraint": None,
                "gamma_constraint": None}


class Activation(Keras3Layer, k2.Activation):
    def keras3_items(self):
        return {"activation": k2.activation_name(self.args["activation"])}


class ReLU(Keras3Layer, k2.ReLU):
    def keras3_items(self):
        a = self.args
        return {"max_value": None if a["max_value"] is None else float(a["max_value"]),
                "negative_slope": float(a["negative_slope"]), "threshold": float(a["threshold"])}


class Dropout(Keras3Layer, k2.Dropout):
    def keras3_items(self):
        return {"rate": self.args["rate"], "seed": self.args["seed"], "noise_shape": self.args["noise_shape"]}


class ZeroPadding2D(Keras3Layer, k2.ZeroPadding2D):
    def keras3_items(self):
        return {"padding": self.normalized(), "data_format": "channels_last"}


class Cropping2D(Keras3Layer, k2.Cropping2D):
    def keras3_items(self):
        return {"cropping": self.normalized(), "data_format": "channels_last"}


class Pooling(Keras3Layer):
    def keras3_items(self):
        a = self.args
        strides = a["strides"] if a["strides"] is not None else a["pool_size"]
        return {"pool_size": k2.pair(a["pool_size"]), "padding": a["padding"].lower(), "strides": k2.pair(strides),
                "data_format": "channels_last"}


class MaxPooling2D(Pooling, k2.MaxPooling2D):
    pass


class AveragePooling2D(Pooling, k2.AveragePooling2D):
    pass


class GlobalPooling(Keras3Layer):
    def keras3_items(self):
        return {"data_format": "channels_last", "keepdims": self.args["keepdims"]}


class GlobalAveragePooling2D(GlobalPooling, k2.GlobalAveragePooling2D):
    pass


class GlobalMaxPooling2D(GlobalPooling, k2.GlobalMaxPooling2D):
    pass


class Flatten(Keras3Layer, k2.Flatten):
    def keras3_items(self):
        return {"data_format": "channels_last"}


class Reshape(Keras3Layer, k2.Reshape):
    def keras3_items(self):
        return {"target_shape": tuple(self.args["target_shape"])}


class Rescaling(Keras3Layer, k2.Rescaling):
    def keras3_items(self):
        return {"scale": self.args["scale"], "offset": self.args["offset"]}


class Normalization(Keras3Layer, k2.Normalization):
    def build(self, shape):
        if self.args["mean"] is None:
            # adapt() state, the published weights fill it: Keras 3 names them mean, variance, count.
            self.add_weight("mean", (shape[-1],), "norm_mean", trainable=False)
            self.add_weight("variance", (shape[-1],), "norm_variance", trainable=False)
            self.add_weight("count", (), "count", trainable=False, dtype="int64")

    def keras3_items(self):
        axis = self.args["axis"]
        return {"axis": (axis,) if isinstance(axis, int) else tuple(axis), "invert": self.args["invert"],
                "mean": self.args["mean"], "variance": self.args["variance"]}


class Add(Keras3Layer, k2.Add):
    pass


class Multiply(Keras3Layer, k2.Multiply):
    pass


class Concatenate(Keras3Layer, k2.Concatenate):
    def keras3_items(self):
        return {"axis": self.args["axis"]}


class InputLayer(k2.InputLayer):
    def __init__(self, shape, name=None):
        super().__init__(shape, name=name or auto_name("InputLayer"))
        self.class_name = "InputLayer"
        self.call_args = None

    def entry(self):
        return {"module": "keras.layers", "class_name": "InputLayer",
                "config": {"batch_shape": list(self.batch_shape), "dtype": "float32", "sparse": False,
                           "ragged": False, "name": self.name, "optional": False},
                "registered_name": None}


def Input(shape=None, tensor=None, name=None, **kwargs):
    return InputLayer(shape, name=name).output


class Operation(k2.Layer):
    """A keras.ops function applied to Keras tensors (keras.src.ops.numpy.Add, ...)."""

    def __init__(self, class_name):
        k2.Layer.__init__(self, name=auto_name(class_name))
        self.class_name = class_name

    def __call__(self, x1, x2):
        tensors = [t for t in (x1, x2) if isinstance(t, k2.KTensor)]
        self.call_args = [x1, x2]
        self.input_tensors = tensors
        self.input_shape = None
        self.output = k2.KTensor(k2.Merge.output_shape(self, [t.shape for t in tensors]), self)
        k2.CURRENT_GRAPH.append(self)
        return self.output

    def entry(self):
        return {"module": "keras.src.ops.numpy", "class_name": self.class_name, "config": {"name": self.name},
                "registered_name": self.class_name}


def tensor_op(class_name, reverse=False):
    def apply(self, other):
        return Operation(class_name)(other, self) if reverse else Operation(class_name)(self, other)
    return apply


# KerasTensor's operators are keras.ops calls in Keras 3.
k2.KTensor.__add__ = tensor_op("Add")
k2.KTensor.__radd__ = tensor_op("Add", True)
k2.KTensor.__mul__ = tensor_op("Multiply")
k2.KTensor.__rmul__ = tensor_op("Multiply", True)
k2.KTensor.__sub__ = tensor_op("Subtract")
k2.KTensor.__truediv__ = tensor_op("Divide")


class Layer(Keras3Layer, k2.Layer):
    """keras.src.layers.layer.Layer, for the applications' own layers (ConvNeXt's LayerScale, StochasticDepth,
    InceptionResNetV2's CustomScaleLayer)."""

    def __init__(self, **kwargs):
        Keras3Layer.__init__(self, name=kwargs.pop("name", None))
        self.MODULE = type(self).__module__

    def add_weight(self, shape=None, initializer=None, trainable=True, name=None, dtype="float32"):
        k2.Layer.add_weight(self, name or "gamma", shape, "layer_scale", trainable, dtype)

    def keras3_items(self):
        return {key: getattr(self, key) for key in ("drop_path_rate", "init_values", "projection_dim", "scale")
                if hasattr(self, key)}


def serialize_value(value):
    """A call argument as Keras 3 writes it: Keras tensors as __keras_tensor__."""
    if isinstance(value, k2.KTensor):
        return {"class_name": "__keras_tensor__",
                "config": {"shape": list(value.shape), "dtype": "float32", "keras_history": value.history()}}
    if isinstance(value, (list, tuple)):
        return [serialize_value(v) for v in value]
    return float(value) if isinstance(value, (int, float)) else value


def layer_entry(layer):
    out = layer.entry()
    if isinstance(layer, Functional) or isinstance(layer, Sequential):
        return out
    out["name"] = layer.name
    out["inbound_nodes"] = ([] if layer.call_args is None
                            else [{"args": serialize_value(layer.call_args), "kwargs": {}}])
    return out


class Functional(k2.Model):
    def __init__(self, inputs=None, outputs=None, name=None, **kwargs):
        k2.Model.__init__(self, inputs, outputs, name=name or auto_name("Functional"))

    def entry(self):
        return {"module": "keras.src.models.functional", "class_name": "Functional",
                "config": {"name": self.name, "trainable": True,
                           "layers": [layer_entry(layer) for layer in self.layers],
                           "input_layers": self.inputs.history(), "output_layers": self.outputs.history()},
                "registered_name": "Functional", "build_config": {"input_shape": None}, "compile_config": None}

    @property
    def saved_layers(self):
        """Model.layers: the operations are not layers."""
        return [layer for layer in self.layers if not isinstance(layer, Operation)]


class Sequential(k2.Layer):
    """A Sequential called on a tensor (ConvNeXt's stem and downsampling): built with an InputLayer of its own."""

    def __init__(self, layers, name=None):
        self.name = name or auto_name("Sequential")
        self.seq_layers = layers
        self.class_name = "Sequential"
        self.weights = []

    def __call__(self, x):
        saved = list(k2.CURRENT_GRAPH)
        del k2.CURRENT_GRAPH[:]
        self.input_layer = InputLayer(x.shape[1:])
        t = self.input_layer.output
        for layer in self.seq_layers:
            t = layer(t)
        k2.CURRENT_GRAPH[:] = saved
        self.call_args = [x]
        self.input_shape = list(x.shape)
        self.input_tensors = [x]
        self.output = k2.KTensor(t.shape, self)
        k2.CURRENT_GRAPH.append(self)
        return self.output

    def entry(self):
        layers = [self.input_layer.entry()] + [layer.entry() for layer in self.seq_layers]
        return {"module": "keras", "class_name": "Sequential",
                "config": {"name": self.name, "trainable": True, "dtype": DTYPE, "layers": layers,
                           "build_input_shape": list(self.input_layer.batch_shape)},
                "registered_name": None, "build_config": {"input_shape": self.input_shape},
                "name": self.name,
                "inbound_nodes": [{"args": serialize_value(self.call_args), "kwargs": {}}]}

    @property
    def saved_layers(self):
        return self.seq_layers


def install_stand_in():
    """sys.modules entries for the imports of keras/src/applications/*.py."""
    def module(name, **attrs):
        m = types.ModuleType(name)
        m.__dict__.update(attrs)
        sys.modules[name] = m
        return m

    layers = module("keras.src.layers", Input=Input, InputLayer=InputLayer, Layer=Layer)
    for cls in (Conv2D, DepthwiseConv2D, SeparableConv2D, Dense, BatchNormalization, LayerNormalization, Activation,
                ReLU, Dropout, ZeroPadding2D, Cropping2D, MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D,
                GlobalMaxPooling2D, Flatten, Reshape, Rescaling, Normalization, Add, Multiply, Concatenate):
        setattr(layers, cls.__name__, cls)
    layers.add = lambda inputs, name=None: Add(name=name)(inputs)
    layers.multiply = lambda inputs, name=None: Multiply(name=name)(inputs)
    layers.concatenate = lambda inputs, axis=-1, name=None: Concatenate(axis=axis, name=name)(inputs)
    module("keras.src.layers.layer", Layer=Layer)
    backend = module("keras.src.backend", image_data_format=lambda: "channels_last",
                     is_keras_tensor=lambda t: isinstance(t, k2.KTensor), get_uid=k2.get_uid,
                     name_scope=k2._NameScope)
    identity = lambda *a, **k: (lambda f: f)
    imagenet_utils = module(
        "keras.src.applications.imagenet_utils",
        obtain_input_shape=lambda input_shape, default_size, **k: (input_shape if input_shape is not None
                                                                  else (default_size, default_size, 3)),
        correct_pad=k2.correct_pad, validate_activation=lambda *a: None,
        preprocess_input=lambda *a, **k: None, decode_predictions=lambda *a, **k: None,
        PREPROCESS_INPUT_DOC="{mode}{ret}{error}", PREPROCESS_INPUT_RET_DOC_TF="",
        PREPROCESS_INPUT_RET_DOC_TORCH="", PREPROCESS_INPUT_RET_DOC_CAFFE="", PREPROCESS_INPUT_ERROR_DOC="")
    operation_utils = module("keras.src.ops.operation_utils", get_source_inputs=lambda t: [t])
    ops = module("keras.src.ops", operation_utils=operation_utils)
    file_utils = module("keras.src.utils.file_utils", exists=lambda p: False, get_file=lambda *a, **k: None)
    utils = module("keras.src.utils", file_utils=file_utils)
    models = module("keras.src.models", Functional=Functional, Sequential=Sequential)
    apps = module("keras.src.applications", imagenet_utils=imagenet_utils)
    initializers = module("keras.src.initializers", Constant=lambda v: None)
    random = module("keras.src.random")
    module("keras.src.api_export", keras_export=identity)
    src = module("keras.src", backend=backend, layers=layers, ops=ops, utils=utils, models=models,
                 applications=apps, initializers=initializers, random=random)
    module("keras", src=src)


def load_application(src, name, rewrite=None):
    """Runs keras/src/applications/<name>.py from @src's git HEAD against the stand-in
    (its text through @rewrite first, for a reduced version)."""
    text = subprocess.run(["git", "-C", src, "show", "HEAD:keras/src/applications/%s.py" % name],
                          check=True, capture_output=True, text=True).stdout
    if rewrite is not None:
        text = rewrite(text)
    m = types.ModuleType("keras.src.applications." + name)
    m.__file__ = name + ".py"
    sys.modules[m.__name__] = m
    setattr(sys.modules["keras.src.applications"], name, m)
    exec(compile(text, m.__file__, "exec"), m.__dict__)
    return m


# ---------------------------------------------------------------------------
# The reduced architectures: the applications' builders and blocks, smaller
# ---------------------------------------------------------------------------

def resnet50_small(src):
    m = load_application(src, "resnet")

    def stack_fn(x):
        x = m.stack_residual_blocks_v1(x, 8, 2, stride1=1, name="conv2")
        x = m.stack_residual_blocks_v1(x, 12, 1, name="conv3")
        return m.stack_residual_blocks_v1(x, 16, 1, name="conv4")

    return m.ResNet(stack_fn, False, True, weights=None, input_shape=(48, 48, 3), classes=10,
                    name="resnet50_small")


def mobilenet_v2_small(src):
    """MobileNetV2's stem, its _inverted_res_block (expansion, ZeroPadding2D before a strided
    depthwise convolution, ReLU6, residual Add) and head, at 16 channels instead of 32-1280."""
    m = load_application(src, "mobilenet_v2")
    layers = sys.modules["keras.src.layers"]
    inputs = layers.Input(shape=(48, 48, 3))
    x = layers.Conv2D(8, kernel_size=3, strides=(2, 2), padding="same", use_bias=False, name="Conv1")(inputs)
    x = layers.BatchNormalization(axis=-1, epsilon=1e-3, momentum=0.999, name="bn_Conv1")(x)
    x = layers.ReLU(6.0, name="Conv1_relu")(x)
    x = m._inverted_res_block(x, filters=8, alpha=1.0, stride=1, expansion=1, block_id=0)
    x = m._inverted_res_block(x, filters=16, alpha=1.0, stride=2, expansion=6, block_id=1)
    x = m._inverted_res_block(x, filters=16, alpha=1.0, stride=1, expansion=6, block_id=2)
    x = m._inverted_res_block(x, filters=24, alpha=1.0, stride=2, expansion=6, block_id=3)
    x = m._inverted_res_block(x, filters=24, alpha=1.0, stride=1, expansion=6, block_id=4)
    x = layers.Conv2D(64, kernel_size=1, use_bias=False, name="Conv_1")(x)
    x = layers.BatchNormalization(axis=-1, epsilon=1e-3, momentum=0.999, name="Conv_1_bn")(x)
    x = layers.ReLU(6.0, name="out_relu")(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(10, activation="softmax", name="predictions")(x)
    return Functional(inputs, x, name="mobilenetv2_small")


def mobilenet_v3_small(src):
    """MobileNetV3's own builder (Rescaling, hard-swish activations, hard-sigmoid
    squeeze-and-excitation as ReLU(6)(x + 3) * (1 / 6)) with fewer, narrower blocks."""
    m = load_application(src, "mobilenet_v3")

    def stack_fn(x, kernel, activation, se_ratio):
        x = m._inverted_res_block(x, 1, 8, 3, 2, se_ratio, m.relu, 0)
        x = m._inverted_res_block(x, 72.0 / 16, 16, 3, 2, None, m.relu, 1)
        x = m._inverted_res_block(x, 4, 16, kernel, 2, se_ratio, activation, 2)
        return m._inverted_res_block(x, 3, 16, kernel, 1, se_ratio, activation, 3)

    return m.MobileNetV3(stack_fn, 64, input_shape=(48, 48, 3), alpha=1.0, model_type="small", weights=None,
                         classes=10, name="MobileNetV3Small_small")


def efficientnet_small(src):
    m = load_application(src, "efficientnet")
    return m.EfficientNet(0.1, 0.3, 48, name="efficientnet_small", weights=None, classes=10,
                          input_shape=(48, 48, 3))


def densenet_small(src):
    """DenseNet's stem (unnamed ZeroPadding2D layers), dense_block, transition_block and
    head, at two dense blocks of one conv_block each instead of four of 6-16."""
    m = load_application(src, "densenet")
    layers = sys.modules["keras.src.layers"]
    inputs = layers.Input(shape=(48, 48, 3))
    x = layers.ZeroPadding2D(padding=((3, 3), (3, 3)))(inputs)
    x = layers.Conv2D(64, 7, strides=2, use_bias=False, name="conv1_conv")(x)
    x = layers.BatchNormalization(axis=3, epsilon=1.001e-5, name="conv1_bn")(x)
    x = layers.Activation("relu", name="conv1_relu")(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)))(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1")(x)
    x = m.dense_block(x, 1, name="conv2")
    x = m.transition_block(x, 0.5, name="pool2")
    x = m.dense_block(x, 1, name="conv3")
    x = layers.BatchNormalization(axis=3, epsilon=1.001e-5, name="bn")(x)
    x = layers.Activation("relu", name="relu")(x)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    x = layers.Dense(10, activation="softmax", name="predictions")(x)
    return Functional(inputs, x, name="densenet_small")


def convnext_small(src):
    m = load_application(src, "convnext")
    return m.ConvNeXt(depths=[1, 1, 2, 1], projection_dims=[16, 24, 32, 48], drop_path_rate=0.1,
                      name="convnext_small", weights=None, classes=10, input_shape=(64, 64, 3))


def xception_small(src):
    """Xception's own code, narrowed and with one middle-flow block (make_keras_applications.py's
    shrink_xception), at its smallest input."""
    m = load_application(src, "xception", k2.shrink_xception)
    return m.Xception(weights=None, input_shape=(71, 71, 3), classes=10, name="xception_small")


def nasnet_small(src):
    """NASNet's generic builder (reduction and normal cells of separable convolutions, the
    adjust blocks' ZeroPadding2D + Cropping2D), as make_keras_applications.py reduces it."""
    m = load_application(src, "nasnet")
    return m.NASNet(input_shape=(64, 64, 3), penultimate_filters=96, num_blocks=1, stem_block_filters=8,
                    skip_reduction=False, weights=None, classes=10, default_size=64, name="nasnet_small")


def inception_resnet_v2_small(src):
    """InceptionResNetV2's own code (its CustomScaleLayer residuals), narrowed and with one block
    of each kind (make_keras_applications.py's shrink_inception_resnet_v2), at its smallest input."""
    m = load_application(src, "inception_resnet_v2", k2.shrink_inception_resnet_v2)
    return m.InceptionResNetV2(weights=None, input_shape=(75, 75, 3), classes=10, name="inception_resnet_v2_small")


def efficientnetv2_small(src):
    """EfficientNetV2's generic builder (Rescaling and Normalization of a B variant, fused and
    squeeze-and-excitation MBConv blocks) at an eighth of B0's width."""
    m = load_application(src, "efficientnet_v2")
    return m.EfficientNetV2(0.125, 0.2, 64, name="efficientnetv2-b0", weights=None, classes=10,
                            input_shape=(64, 64, 3))


# name -> (builder, the preprocess_input convention the images get)
SMALL = {
    "resnet50_small": (resnet50_small, "caffe"),
    "mobilenet_v2_small": (mobilenet_v2_small, "tf"),
    "mobilenet_v3_small": (mobilenet_v3_small, "none"),
    "efficientnet_small": (efficientnet_small, "none"),
    "densenet_small": (densenet_small, "torch"),
    "convnext_small": (convnext_small, "none"),
    "xception_small": (xception_small, "tf"),
    "nasnet_small": (nasnet_small, "tf"),
    "inception_resnet_v2_small": (inception_resnet_v2_small, "tf"),
    "efficientnetv2_small": (efficientnetv2_small, "none"),
}
# Fewer images where a model's file is large already (NASNet's 363 layers) or its images are (71 x 71).
IMAGE_COUNT = {"xception_small": 4, "nasnet_small": 4, "inception_resnet_v2_small": 4}


# The full-size architectures as users save them after loading the published weights
# (weights="imagenet": EfficientNet's extra Rescaling of the normalised input):
# name -> (module, function, input size).
ARCHITECTURES = {
    "resnet50": ("resnet", "ResNet50", 224),
    "resnet50v2": ("resnet_v2", "ResNet50V2", 224),
    "mobilenet_v2": ("mobilenet_v2", "MobileNetV2", 224),
    "mobilenet_v3_small": ("mobilenet_v3", "MobileNetV3Small", 224),
    "efficientnetb0": ("efficientnet", "EfficientNetB0", 224),
    "densenet121": ("densenet", "DenseNet121", 224),
    "convnext_tiny": ("convnext", "ConvNeXtTiny", 224),
    "xception": ("xception", "Xception", 299),
    "nasnet_mobile": ("nasnet", "NASNetMobile", 224),
    "inception_resnet_v2": ("inception_resnet_v2", "InceptionResNetV2", 299),
    "efficientnetv2b0": ("efficientnet_v2", "EfficientNetV2B0", 224),
    "efficientnetv2s": ("efficientnet_v2", "EfficientNetV2S", 384),
    "resnet101": ("resnet", "ResNet101", 224),
    "resnet152v2": ("resnet_v2", "ResNet152V2", 224),
    "densenet169": ("densenet", "DenseNet169", 224),
    "mobilenet_v3_large": ("mobilenet_v3", "MobileNetV3Large", 224),
    "nasnet_large": ("nasnet", "NASNetLarge", 331),
    "efficientnetb3": ("efficientnet", "EfficientNetB3", 300),
}


def build(src, name):
    k2.reset_names()
    del k2.CURRENT_GRAPH[:]
    if name in SMALL:
        return SMALL[name][0](src)
    module_name, function, size = ARCHITECTURES[name]
    if module_name == "resnet_v2":
        load_application(src, "resnet")
    m = load_application(src, module_name)
    return getattr(m, function)(weights="imagenet", input_shape=(size, size, 3))


# ---------------------------------------------------------------------------
# weights, and the .keras archive
# ---------------------------------------------------------------------------

def random_variables(model, seed):
    """{layer name: [arrays in vars order]}: trainable variables first, as Layer.save_own_variables."""
    rng = np.random.default_rng(seed)
    out = {}

    def walk(layers):
        for layer in layers:
            if isinstance(layer, (Functional, Sequential)):
                walk(layer.saved_layers)
                continue
            weights = [w for w in layer.weights if w[3]] + [w for w in layer.weights if not w[3]]
            out[layer.name] = [k2.random_weight(rng, layer, *w[:3], w[4]) for w in weights]
    walk(model.layers)
    return out


def weights_h5(config, variables):
    """saving_lib's tree, written with make_keras3_files.py's writer from config.json's layers."""
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as h5:
        k3files.write_weights(h5, "Functional", saved_entries(config["config"]["layers"]), variables)
    return buffer.getvalue()


def is_operation(entry):
    """A keras.ops call in a Functional's config: not a layer, not saved with the layers."""
    return entry.get("module", "").startswith("keras.src.ops")


def saved_entries(entries):
    """The `layers` list of a Functional's config: its operations are not layers."""
    out = []
    for entry in entries:
        if is_operation(entry):
            continue
        if entry["class_name"] == "Functional":
            entry = dict(entry, config=dict(entry["config"], layers=saved_entries(entry["config"]["layers"])))
        out.append(entry)
    return out


def write_archive(path, config, variables):
    k3files.write_keras(path, config, weights_h5(config, variables), keras_version=KERAS_VERSION)


# ---------------------------------------------------------------------------
# The reference, reading the Keras 3 archive
# ---------------------------------------------------------------------------

# Each class's variables in vars/<i> order (its build(): trainable first).
def variable_names(cls, config):
    if cls in ("Conv2D", "Dense"):
        return ["kernel", "bias"]
    if cls == "DepthwiseConv2D":
        return ["depthwise_kernel", "bias"]
    if cls == "SeparableConv2D":
        return ["depthwise_kernel", "pointwise_kernel", "bias"]
    if cls == "BatchNormalization":
        return ([n for n, on in (("gamma", config["scale"]), ("beta", config["center"])) if on]
                + ["moving_mean", "moving_variance"])
    if cls == "LayerNormalization":
        return [n for n, on in (("gamma", config["scale"]), ("beta", config["center"])) if on]
    if cls == "LayerScale":
        return ["gamma"]
    if cls == "Normalization":
        return ["mean", "variance", "count"]
    return []


def read_variables(config, h5):
    """(layer name, variable name, stored path, shown path) of every variable, walking
    saving_lib's tree from config.json alone; shown paths are "/<nested model>/<layer>/<variable>"."""
    out = []

    def walk(model_class, entries, group, shown):
        used = {}
        for entry in entries:
            cls = entry["class_name"]
            if is_operation(entry):
                continue
            if model_class == "Sequential" and cls == "InputLayer":
                continue
            key = k3files.snake_case(cls)
            used[key] = used.get(key, -1) + 1
            path = "%s/layers/%s" % (group, key if used[key] == 0 else "%s_%d" % (key, used[key]))
            name = entry["config"]["name"]
            if cls in ("Sequential", "Functional"):
                walk(cls, entry["config"]["layers"], path, shown + "/" + name)
                continue
            names = variable_names(cls, entry["config"])
            count = len(h5[path + "/vars"]) if path + "/vars" in h5 else 0
            for i in range(count):
                out.append((name, names[i], "%s/vars/%d" % (path, i), "%s/%s/%s" % (shown, name, names[i])))
    walk(config["class_name"], config["config"]["layers"], "", "")
    return out


class Reference(k2.Reference):
    """make_keras_applications.py's interpreter, on a .keras archive (or a config
    and variables in memory, for measuring BatchNormalization statistics)."""

    def __init__(self, path=None, config=None, variables=None):
        import torch
        self.torch = torch
        self.calibrate = variables is not None
        if path is not None:
            with zipfile.ZipFile(path) as zf:
                config = json.loads(zf.read("config.json"))
                self.h5 = h5py.File(io.BytesIO(zf.read("model.weights.h5")), "r")
            self.values = {}
            for layer, name, stored, _ in read_variables(config, self.h5):
                self.values.setdefault(layer, {})[name] = np.asarray(self.h5[stored])
        else:
            self.values = {}
            self.variables = variables
            self.refresh(config)
        self.config = config

    def refresh(self, config):
        def walk(entries):
            for entry in entries:
                if entry["class_name"] in ("Sequential", "Functional"):
                    walk(entry["config"]["layers"])
                elif entry["config"]["name"] in self.variables:
                    names = variable_names(entry["class_name"], entry["config"])
                    self.values[entry["config"]["name"]] = dict(zip(names, self.variables[entry["config"]["name"]]))
        walk(config["config"]["layers"])

    def weight(self, group, layer, name):
        value = self.values.get(layer, {}).get(name)
        return None if value is None else self.torch.from_numpy(np.asarray(value, dtype=np.float64))

    def set_weight(self, group, layer, name, values):
        index = list(self.values[layer]).index(name)
        self.variables[layer][index][...] = values.numpy().astype(np.float32)
        self.values[layer][name] = self.variables[layer][index]

    def is_output(self, layer):
        return layer["config"]["name"] == self.config["config"]["output_layers"][0]

    def model(self, model, x, values, group):
        if model["class_name"] == "Sequential":
            return k2.Reference.model(self, model, x, values, group)
        local = {}
        for layer in model["config"]["layers"]:
            name = layer["config"]["name"]
            if layer["class_name"] == "InputLayer":
                local[name] = self.input_value(name, x)
                continue
            args = layer["inbound_nodes"][0]["args"]
            if is_operation(layer):
                local[name] = self.step(layer, [self.argument(a, local) for a in args], {}, group, local)
                continue
            first = args[0]
            inputs = [self.argument(a, local) for a in (first if isinstance(first, list) else [first])]
            if layer["class_name"] in ("Functional", "Sequential"):
                local[name] = self.model(layer, inputs[0], values, name)
            else:
                local[name] = self.step(layer, inputs, {}, group, local)
        return local[model["config"]["output_layers"][0]]

    def output_name(self):
        return self.config["config"]["output_layers"][0]

    def input_names(self, layer):
        names = []

        def walk(arg):
            if isinstance(arg, dict) and arg.get("class_name") == "__keras_tensor__":
                names.append(arg["config"]["keras_history"][0])
            elif isinstance(arg, list):
                for a in arg:
                    walk(a)
        walk(layer["inbound_nodes"][0]["args"])
        return names

    def scalar_op(self, layer):
        if not is_operation(layer):
            return None
        args = layer["inbound_nodes"][0]["args"]
        kind = {"Add": "add", "Multiply": "multiply", "Divide": "divide"}.get(layer["class_name"])
        numbers = [a for a in args if isinstance(a, (int, float))]
        return (kind, float(numbers[0])) if kind is not None and len(numbers) == 1 else None

    def argument(self, arg, local):
        if isinstance(arg, dict) and arg.get("class_name") == "__keras_tensor__":
            return local[arg["config"]["keras_history"][0]]
        return self.torch.tensor(arg, dtype=self.torch.float64)

    def operation(self, class_name, args):
        torch = self.torch
        return {"Add": torch.add, "Multiply": torch.mul, "Subtract": torch.sub,
                "Divide": torch.div}[class_name](args[0], args[1])

    def activation(self, x, name):
        torch = self.torch
        # Keras 3's hard_sigmoid is relu6 (x + 3) / 6 (Keras 2's: clip (0.2 x + 0.5, 0, 1)).
        if name == "hard_sigmoid":
            return torch.clamp(x + 3.0, 0.0, 6.0) / 6.0
        if name in ("hard_swish", "hard_silu"):
            return x * torch.clamp(x + 3.0, 0.0, 6.0) / 6.0
        return k2.Reference.activation(self, x, name)

    def layer(self, layer, inputs, kwargs, group, local=None):
        c = layer["config"]
        if is_operation(layer):
            return self.operation(layer["class_name"], inputs)
        if layer["class_name"] == "Rescaling":
            return inputs[0] * self.torch.tensor(c["scale"], dtype=inputs[0].dtype) + c["offset"]
        return k2.Reference.layer(self, layer, inputs, kwargs, group, local)


# ---------------------------------------------------------------------------

def input_size(config):
    for layer in config["config"]["layers"]:
        if layer["class_name"] == "InputLayer":
            return layer["config"]["batch_shape"][1]
    raise ValueError("no InputLayer")


def write_ci(src, out_dir):
    install_stand_in()
    os.makedirs(out_dir, exist_ok=True)
    entries = []
    for i, (name, (builder, mode)) in enumerate(SMALL.items()):
        model = build(src, name)
        config = model.entry()
        config = json.loads(json.dumps(config, default=k2._json_default))
        variables = random_variables(model, seed=i)
        size = input_size(config)
        # BatchNormalization statistics measured on images, as training leaves them
        Reference(config=config, variables=variables).run(k2.preprocess(k2.make_images(8, size, 1), mode))
        path = os.path.join(out_dir, name + ".keras")
        write_archive(path, config, variables)
        images = k2.preprocess(k2.make_images(IMAGE_COUNT.get(name, 8), size, 200 + i), mode).astype(np.float32)
        reference = Reference(path)
        logits = reference.run(images)
        # calibrated on the images it scores, as test-keras-apps calibrates the engine
        int8_logits = reference.run_fake_quant(images, images)
        tensors = [[shown, layer, stored] for layer, _, stored, shown in read_variables(reference.config, reference.h5)]
        classes = logits.argmax(axis=1)
        images_file = name + "-images.h5"
        with h5py.File(os.path.join(out_dir, images_file), "w") as f:
            f.create_dataset("x", data=images, compression="gzip")
            f.create_dataset("y", data=classes.astype(np.int32))
        ties = []
        for n, row in enumerate(logits):
            order = np.argsort(row)[::-1]
            if row[order[0]] - row[order[1]] < 1e-4 * max(1.0, float(np.abs(row).max())):
                ties.append([n, int(order[0]), int(order[1])])
        entries.append({"name": name, "file": os.path.basename(path), "images": images_file, "preprocess": mode,
                        "fp32_logits": [[float("%.7g" % v) for v in row] for row in logits],
                        "fp32_predictions": [int(c) for c in classes], "fp32_near_ties": ties,
                        "int8_logits": [[float("%.7g" % v) for v in row] for row in int8_logits],
                        "tensors": tensors})
        print("%s: %d layers, reference %s" % (name, len(model.layers), entries[-1]["fp32_predictions"]),
              file=sys.stderr)
    write_architectures(src, out_dir)
    with open(os.path.join(out_dir, "reference.json"), "w") as out:
        json.dump({"generator": "tests/reference/make_keras3_applications.py", "keras_version": KERAS_VERSION,
                   "models": entries}, out, indent=1)
        out.write("\n")


def write_architectures(src, out_dir):
    """<name>.json.gz (config.json of each full-size architecture, gzip'd: Keras 3's configs are
    twice the size of Keras 2's, 0.1-0.8 MB each) and architectures.json: what the engine must
    build from it, and the place and shape of every variable."""
    index = []
    for name in ARCHITECTURES:
        model = build(src, name)
        config = json.loads(json.dumps(model.entry(), default=k2._json_default))
        variables = random_variables(model, seed=0)
        with h5py.File(io.BytesIO(weights_h5(config, variables)), "r") as h5:
            weights = [[stored, variable, list(h5[stored].shape)]
                       for _, variable, stored, _ in read_variables(config, h5) if h5[stored].dtype.kind == "f"]
        # mtime 0 and no file name in the header: the same bytes on every run
        with open(os.path.join(out_dir, name + ".json.gz"), "wb") as raw, \
                gzip.GzipFile(filename="", mode="wb", compresslevel=9, fileobj=raw, mtime=0) as out:
            out.write((json.dumps(config) + "\n").encode("utf8"))
        layers, weighted = k2.config_facts(config)
        index.append({"name": name, "config": name + ".json.gz", "input": list(model.inputs.shape[1:]),
                      "classes": model.outputs.shape[-1], "keras_layers": layers, "weighted_layers": weighted,
                      "weights": weights})
        print("%s: %d layers, %d variables" % (name, layers, len(weights)), file=sys.stderr)
    with open(os.path.join(out_dir, "architectures.json"), "w") as out:
        json.dump({"generator": "tests/reference/make_keras3_applications.py --ci", "keras_version": KERAS_VERSION,
                   "architectures": index}, out)
        out.write("\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keras-src", default=DEFAULT_SRC)
    parser.add_argument("--ci", metavar="DIR", required=True, help="write tests/data/keras3-apps/ into DIR")
    args = parser.parse_args()
    write_ci(args.keras_src, args.ci)


if __name__ == "__main__":
    main()
