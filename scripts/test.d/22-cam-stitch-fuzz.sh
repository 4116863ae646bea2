#!/usr/bin/env bash
# cam-stitch: bounded cargo-fuzz run of the `config` target (cameras_config.json bytes -> parse,
# validate, round-trip, plan, render with present and missing cameras; default 30 s, FUZZ_SECONDS
# to change), from the committed seeds (crates/cam-stitch/fuzz/corpus/config: the shared sets'
# configs scaled down, and a two-camera config with 90/180 degree rotations), no panic, RSS
# capped at 512 MB, inputs up to 8 KiB.
# Stable toolchain: RUSTC_BOOTSTRAP=1 lets it accept the -Z flags cargo-fuzz passes.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT/crates/cam-stitch/fuzz"
command -v cargo-fuzz >/dev/null || { echo "cargo-fuzz is not installed (scripts/setup.sh installs it)" >&2; exit 1; }
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}-fuzz"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp corpus/config/* "$work/"
cargo fuzz run config "$work" -- \
    -max_total_time="${FUZZ_SECONDS:-30}" -rss_limit_mb=512 -max_len=8192 -timeout=10 \
    -print_final_stats=1 2>&1 | tail -n 15
