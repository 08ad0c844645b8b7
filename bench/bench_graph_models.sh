#!/bin/sh
# bench_graph_models.sh: MobileNetV2 and ResNet18 at 224x224 through our engine and PyTorch, side by side.
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Usage (from the source root, after `ninja -C build`; on a quiet machine):
#   bench/bench_graph_models.sh [BUILDDIR [WORKDIR [IMAGES [THREADS]]]]
# defaults: build, /tmp/quantscope-graph-bench, 256 images, 2 threads.
#
# 1. bench/torchvision_to_keras.py writes WORKDIR/{mobilenet_v2,resnet18}.h5
#    (torchvision's models, random weights, Keras 2 functional layout, about
#    14 and 47 MB), their .pt state dicts, NAME-images.h5 (labelled with
#    PyTorch's float32 predictions) and calib.h5 (64 images), unless WORKDIR
#    already holds them for IMAGES images.
# 2. One after the other: `quantscope-cli eval MODEL --data NAME-images.h5
#    --calib-data calib.h5 --threads THREADS --json` per model (fp32 and int8
#    images/s, calibration seconds), then bench/bench_graph_models.py
#    (PyTorch fp32, fp32 channels-last, int8 oneDNN, THREADS threads), which
#    prints both side by side.
# Set MIN_SECONDS (default 5) lower for a quick check that everything runs.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
work=${2:-/tmp/quantscope-graph-bench}
images=${3:-256}
threads=${4:-2}
python=/usr/bin/python3
cli=$build/src/cli/quantscope-cli

if [ ! -x "$cli" ]; then
  echo "bench_graph_models.sh: no $cli (build first)" >&2
  exit 2
fi
mkdir -p "$work"
stamp="$work/images-$images"
if [ ! -f "$stamp" ] || [ ! -f "$work/resnet18-images.h5" ] || [ ! -f "$work/mobilenet_v2-images.h5" ]; then
  "$python" "$root/bench/torchvision_to_keras.py" "$work" --images "$images" --calib 64
  touch "$stamp"
fi

ours=""
for model in mobilenet_v2 resnet18; do
  "$cli" eval "$work/$model.h5" --data "$work/$model-images.h5" --calib-data "$work/calib.h5" --calib 64 \
    --threads "$threads" --json > "$work/$model-ours.json"
  ours="$ours $model=$work/$model-ours.json"
done
# shellcheck disable=SC2086  # $ours is a list of NAME=FILE words
"$python" "$root/bench/bench_graph_models.py" "$work" --threads "$threads" \
  --min-seconds "${MIN_SECONDS:-5}" --ours $ours
