#!/usr/bin/env bash
# Optional set-up of the MediaPipe baseline (issue 16): MediaPipe 0.10.14 itself (TFLite + XNNPACK)
# in a venv of its own, for pose_bench's second baseline and its `--extract` comparison.
# Idempotent (a second run only checks); not needed by the build or by `cargo test`.
#
#   scripts/setup_mediapipe.sh      # or: POSECAM_MEDIAPIPE=1 scripts/setup.sh
#
#   .cache/mpvenv                   mediapipe==0.10.14, opencv-python-headless==4.10.0.84, numpy<2
#                                   (PyPI; MediaPipe 0.10.14 wants numpy < 2)
#   .cache/mediapipe-tflite         pose_landmark_{lite,heavy}.tflite from the npm package
#                                   @mediapipe/pose@0.5.1675469404 (the wheel ships only the full
#                                   model; without them MediaPipe would try to download them), also
#                                   copied into the installed mediapipe package.
# Measured: 1 min 23 s from nothing on the 2-core machine under load (pip download + npm), 4 s when
# already done.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE="$ROOT/.cache"
VENV="$CACHE/mpvenv"
TFLITE="$CACHE/mediapipe-tflite"
PY_PKGS=("mediapipe==0.10.14" "opencv-python-headless==4.10.0.84" "numpy<2")
NPM_PKG="@mediapipe/pose@0.5.1675469404"
step() { printf '[setup-mediapipe] %s\n' "$*"; }
die() { printf '[setup-mediapipe] error: %s\n' "$*" >&2; exit 1; }
mkdir -p "$CACHE"

want="${PY_PKGS[*]}"
if [ -x "$VENV/bin/python" ] && [ "$(cat "$VENV/.posecam-stamp" 2>/dev/null)" = "$want" ]; then
    step "venv .cache/mpvenv up to date"
else
    step "creating .cache/mpvenv with $want"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check "${PY_PKGS[@]}"
    echo "$want" > "$VENV/.posecam-stamp"
fi

models=(pose_landmark_lite.tflite pose_landmark_heavy.tflite)
have_all() { for m in "${models[@]}"; do [ -s "$TFLITE/$m" ] || return 1; done; }
if have_all; then
    step "tflite models in .cache/mediapipe-tflite"
else
    command -v npm >/dev/null || die "npm not found (apt-get install npm)"
    step "fetching $NPM_PKG from npm"
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    (cd "$tmp" && npm pack --silent "$NPM_PKG" >/dev/null && tar xzf mediapipe-pose-*.tgz)
    mkdir -p "$TFLITE"
    for m in "${models[@]}"; do
        [ -s "$tmp/package/$m" ] || die "$m missing from $NPM_PKG"
        cp "$tmp/package/$m" "$TFLITE/$m"
    done
fi

dst=$("$VENV/bin/python" -c 'import os, mediapipe; print(os.path.join(os.path.dirname(mediapipe.__file__), "modules", "pose_landmark"))')
for m in "${models[@]}"; do
    cmp -s "$TFLITE/$m" "$dst/$m" || cp "$TFLITE/$m" "$dst/$m"
done
step "done: $("$VENV/bin/python" -c 'import mediapipe; print("mediapipe", mediapipe.__version__)')"
