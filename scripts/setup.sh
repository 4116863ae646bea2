#!/usr/bin/env bash
# posecam set-up for Debian 12 (bookworm). Idempotent: a second run only checks and prints.
#
#   scripts/setup.sh            install everything the build, the tests and the examples need
#
# What it installs, one line a step:
#   1. Debian packages: clang/libclang (opencv bindings), libopencv-dev 4.6, libturbojpeg, ffmpeg,
#      Python venv, Chromium + chromedriver (browser tests).
#   2. A Python venv in .cache/venv with the pinned onnxruntime wheel (whose libonnxruntime the Rust
#      crates load) and the Python baselines' packages (numpy, opencv-python-headless, scikit-learn).
#   3. .cache/onnxruntime/libonnxruntime.so, taken from that wheel (the version `ort` targets).
#   4. .cache/models: $POSECAM_MODELS if set, else ../shared/models (SHA256SUMS checked), else
#      converted from the package registries by scripts/convert_models.sh (TFLite -> ONNX, verified).
#   5. The per-user copy: $XDG_DATA_HOME/posecam/ (default ~/.local/share/posecam/) gets
#      onnxruntime/libonnxruntime.so (+ .so.1.31.1) and models/ (the four models + SHA256SUMS), so
#      pose-core finds them from any project and any directory, without this checkout.
#   6. cargo-fuzz (for the bounded fuzz run of the test command).
#   7. Optional, only with POSECAM_MEDIAPIPE=1: MediaPipe 0.10.14 in .cache/mpvenv, the baseline of
#      pose_bench --mediapipe / --extract (scripts/setup_mediapipe.sh, ~1.5 min; CI does not need it).
# .cargo/config.toml points cargo run / cargo test at 3 and 4, so no variable is needed by hand;
# outside cargo, pose-core finds 5 (or this checkout's .cache) by itself.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE="$ROOT/.cache"
ORT_VERSION=1.31.1                      # the ONNX Runtime version ort 2.0.0-rc.15 (api-31) targets
PY_PKGS=("onnxruntime==$ORT_VERSION" "numpy==2.4.6" "opencv-python-headless==5.0.0.93" "scikit-learn==1.9.1")
APT_PKGS=(build-essential pkg-config clang libclang-dev libopencv-dev libturbojpeg0-dev ffmpeg
          python3 python3-venv python3-pip chromium chromium-driver ca-certificates
          libssl-dev nasm)   # stream-codec `webrtc`: str0m's OpenSSL crypto; OpenH264's x86 assembly
SHARED="${POSECAM_SHARED:-$ROOT/../shared}"

step() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
mkdir -p "$CACHE"

# 1. Debian packages -------------------------------------------------------------------------
missing=()
for p in "${APT_PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    step "apt: installing ${missing[*]}"
    [ -z "$SUDO" ] || command -v sudo >/dev/null || die "not root and no sudo: as root, apt-get install ${missing[*]}"
    $SUDO apt-get update -qq
    # env: sudo resets the environment, so DEBIAN_FRONTEND must be set on its far side.
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
    step "apt: all ${#APT_PKGS[@]} packages present"
fi

# Rust toolchain (not from apt: Debian 12's rustc is too old for edition 2024).
command -v cargo >/dev/null || die "cargo not found: install a Rust toolchain >= 1.88 (rustup) first"
step "rust: $(cargo --version)"

# 2. Python venv ------------------------------------------------------------------------------
VENV="$CACHE/venv"
want="${PY_PKGS[*]}"
if [ -x "$VENV/bin/python" ] && [ "$(cat "$VENV/.posecam-stamp" 2>/dev/null)" = "$want" ]; then
    step "python: venv .cache/venv up to date"
else
    step "python: creating .cache/venv with $want"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check "${PY_PKGS[@]}"
    echo "$want" > "$VENV/.posecam-stamp"
fi

# 3. ONNX Runtime shared library from the wheel ------------------------------------------------
ORT_DIR="$CACHE/onnxruntime"
ort_src=$(ls "$VENV"/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so."$ORT_VERSION" 2>/dev/null | head -n1 || true)
[ -n "$ort_src" ] || die "libonnxruntime.so.$ORT_VERSION not found in the onnxruntime wheel (venv $VENV)"
mkdir -p "$ORT_DIR"
if cmp -s "$ort_src" "$ORT_DIR/libonnxruntime.so.$ORT_VERSION"; then
    step "onnxruntime: .cache/onnxruntime/libonnxruntime.so ($ORT_VERSION) up to date"
else
    step "onnxruntime: copying libonnxruntime.so.$ORT_VERSION from the PyPI wheel"
    cp "$ort_src" "$ORT_DIR/libonnxruntime.so.$ORT_VERSION"
fi
[ "$(readlink "$ORT_DIR/libonnxruntime.so" 2>/dev/null)" = "libonnxruntime.so.$ORT_VERSION" ] ||
    ln -sfn "libonnxruntime.so.$ORT_VERSION" "$ORT_DIR/libonnxruntime.so"

# 4. Models -----------------------------------------------------------------------------------
MODEL_FILES=(pose_detection.onnx pose_landmark_lite.onnx pose_landmark_full.onnx pose_landmark_heavy.onnx)
check_models() { # dir -> 0 when every model is there and matches SHA256SUMS (when present)
    local d="$1" f
    for f in "${MODEL_FILES[@]}"; do [ -f "$d/$f" ] || return 1; done
    if [ -f "$d/SHA256SUMS" ]; then (cd "$d" && sha256sum --quiet -c SHA256SUMS >/dev/null 2>&1) || return 1; fi
    return 0
}
if [ -n "${POSECAM_MODELS:-}" ]; then
    check_models "$POSECAM_MODELS" || die "POSECAM_MODELS=$POSECAM_MODELS lacks a model or fails its SHA256SUMS"
    models="$(cd "$POSECAM_MODELS" && pwd)"; origin="\$POSECAM_MODELS"
elif [ -f "$SHARED/models/SHA256SUMS" ] && check_models "$SHARED/models"; then
    models="$(cd "$SHARED/models" && pwd)"; origin="shared/models (SHA256SUMS ok)"
else
    models="$CACHE/models-converted"
    if check_models "$models"; then
        origin="converted earlier"
    else
        step "models: no shared copy; converting from the package registries (TFLite -> ONNX, several minutes)"
        "$ROOT/scripts/convert_models.sh" "$models"
        origin="converted now"
    fi
fi
if [ "$(readlink "$CACHE/models" 2>/dev/null)" != "$models" ]; then
    rm -rf "$CACHE/models"
    ln -s "$models" "$CACHE/models"
fi
step "models: .cache/models -> $models ($origin)"

# 5. Per-user copy (found by pose-core from anywhere) ------------------------------------------
if [ -n "${XDG_DATA_HOME:-}" ] && [ "${XDG_DATA_HOME#/}" != "$XDG_DATA_HOME" ]; then
    USER_DIR="$XDG_DATA_HOME/posecam"
else
    USER_DIR="${HOME:?HOME is not set}/.local/share/posecam"
fi
copy_if_changed() { # src dst -> copies (atomically) when dst differs; prints 1 when it did
    if ! cmp -s "$1" "$2"; then
        mkdir -p "$(dirname "$2")"
        cp "$1" "$2.tmp.$$" && mv -f "$2.tmp.$$" "$2"
        echo 1
    fi
}
changed=$(copy_if_changed "$ORT_DIR/libonnxruntime.so.$ORT_VERSION" "$USER_DIR/onnxruntime/libonnxruntime.so.$ORT_VERSION")
[ "$(readlink "$USER_DIR/onnxruntime/libonnxruntime.so" 2>/dev/null)" = "libonnxruntime.so.$ORT_VERSION" ] ||
    { ln -sfn "libonnxruntime.so.$ORT_VERSION" "$USER_DIR/onnxruntime/libonnxruntime.so"; changed=1; }
for f in "${MODEL_FILES[@]}" SHA256SUMS; do
    [ -f "$models/$f" ] || continue
    changed+=$(copy_if_changed "$models/$f" "$USER_DIR/models/$f")
done
check_models "$USER_DIR/models" || die "the per-user models in $USER_DIR/models fail their check"
if [ -n "$changed" ]; then
    step "per-user: installed ONNX Runtime $ORT_VERSION and the models to $USER_DIR"
else
    step "per-user: $USER_DIR up to date (ONNX Runtime $ORT_VERSION, models)"
fi

# 6. cargo-fuzz (the test command runs a bounded fuzz session) --------------------------------
if cargo fuzz --version >/dev/null 2>&1; then
    step "cargo-fuzz: $(cargo fuzz --version)"
else
    step "cargo-fuzz: installing from crates.io"
    cargo install -q --locked cargo-fuzz
fi

# 6. MediaPipe baseline (optional: benches only) ------------------------------------------------
if [ "${POSECAM_MEDIAPIPE:-0}" = 1 ]; then
    "$ROOT/scripts/setup_mediapipe.sh"
else
    step "mediapipe: skipped (benches only; POSECAM_MEDIAPIPE=1 or scripts/setup_mediapipe.sh installs it)"
fi

step "done. Run the tests with scripts/test.sh"
