#!/usr/bin/env bash
# Build ColorStudio as a one-folder application (dist/ColorStudio) that runs without Python,
# then run the frozen app's --self-test (offscreen window, default model, checked result).
#
#   packaging/build.sh           the app profile, in build/venv-app: the networks run on ONNX
#                                Runtime, no PyTorch inside (about a tenth of the size)
#   packaging/build.sh --train   with the current environment (.venv, else python3) and its
#                                PyTorch: also training and the torch path; with a CUDA build
#                                of torch the folder carries the CUDA libraries
#
# The result is dist/ColorStudio/ (and dist/ColorStudio-<version>-linux-x86_64.tar.gz).
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ "${1:-}" == "--train" ]]; then
    python="${PYTHON:-$( [[ -x .venv/bin/python ]] && echo .venv/bin/python || echo python3 )}"
    "$python" -m PyInstaller --version >/dev/null 2>&1 || "$python" -m pip install -q "pyinstaller>=6.5"
else
    venv=build/venv-app
    [[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
    "$venv/bin/pip" install -q . "pyinstaller>=6.5"
    python="$venv/bin/python"
fi

"$python" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath dist --workpath build/pyinstaller packaging/colorstudio.spec

echo "self-test of the frozen app:"
QT_QPA_PLATFORM=offscreen dist/ColorStudio/colorstudio --self-test

version=$("$python" -c "import colorstudio; print(colorstudio.__version__)")
archive="dist/ColorStudio-${version}-linux-x86_64.tar.gz"
tar -C dist -czf "$archive" ColorStudio
echo "folder:  $(du -sh dist/ColorStudio | cut -f1)  dist/ColorStudio"
echo "archive: $(du -sh "$archive" | cut -f1)  $archive"
