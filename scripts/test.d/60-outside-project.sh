#!/usr/bin/env bash
# pose-core from an outside project: a fresh cargo project in a temporary folder (beyond this
# workspace's .cargo/config.toml), depending on pose-core by path, whose src/main.rs is the program
# of crates/pose-core/README.md ("Using pose-core in your project"), built offline with this
# workspace's Cargo.lock (no new crate versions) into the workspace's target dir (warm deps), and run
# from that folder with no ORT_DYLIB_PATH / POSECAM_MODELS:
#   1. as set up: it prints the pose of testdata/images/dancer_f000.jpg (nose at 254, 222);
#   2. with only a per-user folder ($XDG_DATA_HOME/posecam, links to the set-up's files): found there;
#   3. with no per-user folder (empty HOME): found in this checkout's .cache.
# Measured: 11 s when the deps are built (pose-core and its deps at the default dev profile, as
# `cargo publish --dry-run` also builds them); a few minutes when cold.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
work=$(mktemp -d /tmp/posecam-outside.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "60-outside-project: $*" >&2; exit 1; }
t0=$(date +%s)

mkdir -p "$work/demo/src"
cat >"$work/demo/Cargo.toml" <<TOML
[package]
name = "posecam-outside-demo"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
pose-core = { path = "$ROOT/crates/pose-core" }
TOML
awk '/^## Using pose-core in your project/ { s = 1 } s && /^```rust/ { p = 1; next } p && /^```/ { exit } p' \
    "$ROOT/crates/pose-core/README.md" >"$work/demo/src/main.rs"
grep -q "PoseEstimator::new" "$work/demo/src/main.rs" || fail "no program found in the pose-core README"
cp "$ROOT/Cargo.lock" "$work/demo/Cargo.lock"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
cd "$work/demo"
env -u ORT_DYLIB_PATH -u POSECAM_MODELS -u POSECAM_WORKSPACE cargo build -q --offline
demo="$CARGO_TARGET_DIR/debug/posecam-outside-demo"
image="$ROOT/testdata/images/dancer_f000.jpg"
run() { env -u ORT_DYLIB_PATH -u POSECAM_MODELS -u POSECAM_WORKSPACE "$@" "$demo" "$image"; }

# 1. As set up (per-user folder if scripts/setup.sh made it, else the checkout's cache).
out=$(run) || fail "the program failed: $out"
echo "$out" | grep -q "^person 1.00: nose at (254, 222)$" || fail "unexpected output:\n$out"
lib=$(echo "$out" | sed -n 's/^ONNX Runtime: //p')
models=$(echo "$out" | sed -n 's/^models: //p')

# 2. Only a per-user folder (links to the files found in 1).
mkdir -p "$work/xdg/posecam/onnxruntime"
ln -s "$(readlink -f "$lib")" "$work/xdg/posecam/onnxruntime/libonnxruntime.so"
ln -s "$(readlink -f "$models")" "$work/xdg/posecam/models"
out2=$(run XDG_DATA_HOME="$work/xdg") || fail "per-user run failed: $out2"
echo "$out2" | grep -qx "ONNX Runtime: $work/xdg/posecam/onnxruntime/libonnxruntime.so" ||
    fail "per-user folder not used:\n$out2"
echo "$out2" | grep -qx "models: $work/xdg/posecam/models" || fail "per-user models not used:\n$out2"
echo "$out2" | grep -q "^person 1.00: nose at (254, 222)$" || fail "unexpected output:\n$out2"

# 3. No per-user folder: the checkout's set-up cache.
mkdir -p "$work/home"
out3=$(run -u XDG_DATA_HOME HOME="$work/home") || fail "checkout-cache run failed: $out3"
echo "$out3" | grep -qx "ONNX Runtime: $ROOT/.cache/onnxruntime/libonnxruntime.so" ||
    fail "checkout cache not used:\n$out3"
echo "$out3" | grep -q "^person 1.00: nose at (254, 222)$" || fail "unexpected output:\n$out3"

echo "60-outside-project: ok (README program built outside the workspace; pose found as set up, from a per-user folder, from the checkout cache; $(( $(date +%s) - t0 )) s)"
