#!/usr/bin/env bash
# neurite's own int8 models, run by LiteRT: trains five float digits models with the CLI,
# then `tests/tests/litert_exports.rs` (NEURITE_BLESS=1) quantises them (post-training,
# calibrated on the training rows), writes each as .tflite and the int8 inputs it feeds
# (60 digits rows, 20 random vectors), and `run_litert_on_exports.py` records what LiteRT's
# reference interpreter outputs for them. `cargo test` then checks neurite's outputs
# against LiteRT's, bit for bit, without Python.
set -euo pipefail
cd "$(dirname "$0")/../.."
data=host/data/digits.csv
neurite() { cargo run --release -q -p neurite-host --bin neurite -- "$@"; }
neurite train --data $data --layers 'dense(32),relu,dense(10)' --epochs 30 --seed 1 \
  --out tests/litert/neurite_mlp.neurite >/dev/null
neurite train --data $data --input-shape 1x8x8 --epochs 20 --seed 1 \
  --layers 'conv2d(8,3,padding=1),relu,maxpool2d(2),conv2d(16,3,padding=1),batchnorm2d,relu,avgpool2d(2),flatten,dense(10)' \
  --out tests/litert/neurite_cnn.neurite >/dev/null
neurite train --data $data --input-shape 1x8x8 --epochs 20 --seed 1 \
  --layers 'conv2d(4,3,padding=1),relu,conv2d(8,3,padding=1,groups=4),relu,maxpool2d(2),flatten,dropout(0.1),dense(10)' \
  --out tests/litert/neurite_depthwise.neurite >/dev/null
neurite train --data $data --input-shape 8x8 --epochs 20 --seed 1 \
  --layers 'conv1d(8,3,padding=1,dilation=1),relu,maxpool1d(2),flatten,dense(16),relu,dense(10)' \
  --out tests/litert/neurite_conv1d.neurite >/dev/null
neurite train --data $data --epochs 20 --seed 1 \
  --layers 'dense(32),relu,residual(dense(32),relu,dense(32)),relu,dense(10)' \
  --out tests/litert/neurite_residual.neurite >/dev/null
NEURITE_BLESS=1 cargo test -q -p neurite-tests --test litert_exports
python3 tests/litert/run_litert_on_exports.py
