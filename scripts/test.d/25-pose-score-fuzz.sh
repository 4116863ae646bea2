#!/usr/bin/env bash
# pose-score: bounded cargo-fuzz run of the `rows` target (keypoint CSV -> both scores, window,
# alignment; default 30 s, FUZZ_SECONDS to change), from the committed seeds
# (crates/pose-score/fuzz/corpus/rows), no panic, RSS capped at 512 MB, inputs up to 16 KiB.
# Stable toolchain: RUSTC_BOOTSTRAP=1 lets it accept the -Z flags cargo-fuzz passes.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT/crates/pose-score/fuzz"
command -v cargo-fuzz >/dev/null || { echo "cargo-fuzz is not installed (scripts/setup.sh installs it)" >&2; exit 1; }
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}-fuzz"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp corpus/rows/* "$work/"
cargo fuzz run rows "$work" -- \
    -max_total_time="${FUZZ_SECONDS:-30}" -rss_limit_mb=512 -max_len=16384 -timeout=10 \
    -print_final_stats=1 2>&1 | tail -n 15
