#!/usr/bin/env bash
# Produce the four BlazePose ONNX models from the package registries alone (no shared copy needed).
#
#   scripts/convert_models.sh OUT_DIR
#
# Sources (Apache-2.0, The MediaPipe Authors):
#   npm  @mediapipe/pose@0.5.1675469404          pose_landmark_{lite,full,heavy}.tflite
#   PyPI mediapipe==0.10.14 (manylinux wheel)    mediapipe/modules/pose_detection/pose_detection.tflite
# Converted with tf2onnx (opset 17) by scripts/convert_mediapipe_pose.py in a throwaway venv
# (.cache/convert-venv, pinned tensorflow-cpu/tf2onnx/onnxruntime/numpy, reused when present); the
# detector's sparse DENSIFY weights are made dense first. Every model is compared with its TFLite
# original on several random inputs and the bundled test frames before it is written; the run
# fails loudly beyond tolerance. Ends with OUT_DIR/SHA256SUMS.
#
# Idempotent: when OUT_DIR already holds the four models matching its SHA256SUMS, nothing is done.
# Environment: PYTHON (default python3) creates the venv; CONVERT_CHECKS (default 5) random inputs.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE="$ROOT/.cache"
VENV="$CACHE/convert-venv"
SRC="$CACHE/convert-src"
PYTHON="${PYTHON:-python3}"
CHECKS="${CONVERT_CHECKS:-5}"

NPM_PKG="@mediapipe/pose@0.5.1675469404"
MP_WHEEL="mediapipe==0.10.14"
PY_PKGS=("tensorflow-cpu==2.21.0" "tf2onnx==1.17.0" "onnxruntime==1.31.1" "numpy==2.4.6"
         "onnx==1.23.2" "protobuf==7.36.2" "flatbuffers==25.12.19")
MODELS=(pose_detection pose_landmark_lite pose_landmark_full pose_landmark_heavy)
# SHA-256 of the TFLite originals (checked after extraction, so a changed upstream file is caught).
declare -A TFLITE_SHA=(
    [pose_detection]=9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c
    [pose_landmark_lite]=f17bfbecadb61c3be1baa8b8d851cc6619c870a87167b32848ad20db306b9d61
    [pose_landmark_full]=e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f
    [pose_landmark_heavy]=59e42d71bcd44cbdbabc419f0ff76686595fd265419566bd4009ef703ea8e1fe
)

step() { printf '[convert] %s\n' "$*"; }
die() { printf '[convert] error: %s\n' "$*" >&2; DIED=1; exit 1; }
DIED=0
on_exit() { # an unexpected failure (not a die) still ends with a clear line
    local rc=$? cmd=$BASH_COMMAND
    [ "$rc" -eq 0 ] || [ "$DIED" = 1 ] || printf '[convert] error: failed (exit %s) at: %s\n' "$rc" "$cmd" >&2
}
trap on_exit EXIT

[ $# -eq 1 ] || die "usage: scripts/convert_models.sh OUT_DIR"
mkdir -p "$1"
OUT=$(cd "$1" && pwd)

# 0. Already done? ----------------------------------------------------------------------------
all_present() { local m; for m in "${MODELS[@]}"; do [ -f "$OUT/$m.onnx" ] || return 1; done; }
if [ -f "$OUT/SHA256SUMS" ]; then
    if all_present && (cd "$OUT" && sha256sum --quiet -c SHA256SUMS >/dev/null 2>&1); then
        step "models: all ${#MODELS[@]} in $OUT match SHA256SUMS, nothing to do"
        exit 0
    fi
    # A file that no longer matches its recorded checksum is converted again.
    for m in "${MODELS[@]}"; do
        if [ -f "$OUT/$m.onnx" ] && ! (cd "$OUT" && grep " $m.onnx\$" SHA256SUMS | sha256sum --quiet -c - >/dev/null 2>&1); then
            step "models: $m.onnx does not match SHA256SUMS, converting it again"
            rm -f "$OUT/$m.onnx"
        fi
    done
    rm -f "$OUT/SHA256SUMS"
fi

# 1. Throwaway venv with the converter ---------------------------------------------------------
want="${PY_PKGS[*]}"
if [ -x "$VENV/bin/python" ] && [ "$(cat "$VENV/.posecam-stamp" 2>/dev/null)" = "$want" ]; then
    step "venv: .cache/convert-venv up to date"
else
    step "venv: creating .cache/convert-venv with $want (about 400 MB download, 1.7 GB on disk)"
    "$PYTHON" -m venv --clear "$VENV" ||
        die "cannot create a venv with $PYTHON (on Debian: apt-get install python3-venv)"
    "$VENV/bin/pip" install -q --disable-pip-version-check "${PY_PKGS[@]}" ||
        die "pip install of ${PY_PKGS[*]} failed"
    echo "$want" > "$VENV/.posecam-stamp"
fi

# 2. npm (Debian 12 has none by default) -------------------------------------------------------
mkdir -p "$SRC"
tgz=$(ls "$SRC"/mediapipe-pose-*.tgz 2>/dev/null | head -n1 || true)
if [ -z "$tgz" ] && ! command -v npm >/dev/null; then
    step "npm: installing Debian's npm package"
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    [ -z "$SUDO" ] || command -v sudo >/dev/null || die "npm missing, not root and no sudo: apt-get install npm as root"
    $SUDO apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >/dev/null ||
        die "apt-get install npm failed"
    command -v npm >/dev/null || die "npm still not found after apt-get install npm"
fi

# 3. Sources from the registries ---------------------------------------------------------------
if [ -n "$tgz" ]; then
    step "sources: $(basename "$tgz") present"
else
    step "sources: npm pack $NPM_PKG"
    (cd "$SRC" && npm pack --silent "$NPM_PKG" >/dev/null) || die "npm pack $NPM_PKG failed"
    tgz=$(ls "$SRC"/mediapipe-pose-*.tgz 2>/dev/null | head -n1 || true)
    [ -n "$tgz" ] || die "npm pack $NPM_PKG left no mediapipe-pose-*.tgz in $SRC"
fi
whl=$(ls "$SRC"/mediapipe-0.10.14-*.whl 2>/dev/null | head -n1 || true)
if [ -n "$whl" ]; then
    step "sources: $(basename "$whl") present"
else
    step "sources: pip download $MP_WHEEL (manylinux wheel, no dependencies)"
    "$VENV/bin/pip" download -q --disable-pip-version-check --no-deps --only-binary=:all: \
        --python-version 3.11 --platform manylinux_2_17_x86_64 -d "$SRC" "$MP_WHEEL" ||
        die "pip download $MP_WHEEL failed"
    whl=$(ls "$SRC"/mediapipe-0.10.14-*.whl 2>/dev/null | head -n1 || true)
    [ -n "$whl" ] || die "pip download $MP_WHEEL left no wheel in $SRC"
fi
TFL="$SRC/tflite"
mkdir -p "$TFL"
for v in lite full heavy; do
    [ -f "$TFL/pose_landmark_$v.tflite" ] ||
        tar -xzf "$tgz" -O "package/pose_landmark_$v.tflite" > "$TFL/pose_landmark_$v.tflite"
done
[ -f "$TFL/pose_detection.tflite" ] ||
    "$VENV/bin/python" -c 'import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))' \
        "$whl" mediapipe/modules/pose_detection/pose_detection.tflite > "$TFL/pose_detection.tflite"
for m in "${MODELS[@]}"; do
    got=$(sha256sum "$TFL/$m.tflite" | cut -d' ' -f1)
    if [ "$got" != "${TFLITE_SHA[$m]}" ]; then
        rm -f "$TFL/$m.tflite"
        die "$m.tflite has SHA-256 $got, expected ${TFLITE_SHA[$m]} (upstream package changed?)"
    fi
done
step "sources: 4 TFLite models extracted and their SHA-256 checked"

# 4. Convert and verify, one model at a time ---------------------------------------------------
images=()
for f in "$ROOT"/testdata/images/*.jpg; do [ -f "$f" ] && images+=(--image "$f"); done
for m in "${MODELS[@]}"; do
    if [ -f "$OUT/$m.onnx" ]; then
        step "$m: $m.onnx already converted and verified"
        continue
    fi
    step "$m: converting to ONNX and comparing with TFLite"
    log="$OUT/.$m.log"
    if ! "$VENV/bin/python" "$ROOT/scripts/convert_mediapipe_pose.py" "$TFL/$m.tflite" "$OUT/$m.onnx" \
            --checks "$CHECKS" "${images[@]}" > "$log" 2>&1; then
        tail -n 20 "$log" >&2
        die "$m: conversion or verification failed (full log: $log)"
    fi
    grep '^\[convert\]' "$log" | tail -n 1
    rm -f "$log"
done

# 5. Checksums ---------------------------------------------------------------------------------
(cd "$OUT" && sha256sum "${MODELS[@]/%/.onnx}" > SHA256SUMS.tmp && mv SHA256SUMS.tmp SHA256SUMS)
step "done: ${#MODELS[@]} models and SHA256SUMS in $OUT"
