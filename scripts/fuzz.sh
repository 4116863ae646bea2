#!/usr/bin/env bash
# Bounded cargo-fuzz run of one target from its committed seeds, for the test stages:
#   scripts/fuzz.sh CRATE TARGET SECONDS MAX_LEN
# runs crates/CRATE/fuzz's TARGET for SECONDS (FUZZ_SECONDS overrides) on a copy of
# corpus/TARGET, inputs up to MAX_LEN bytes, RSS capped at 512 MB; fails on any crash.
# The machine has a stable toolchain only: RUSTC_BOOTSTRAP=1 lets it accept the -Z flags
# cargo-fuzz passes (address sanitizer, sanitizer coverage).
set -euo pipefail
[ $# -eq 4 ] || { echo "usage: $0 CRATE TARGET SECONDS MAX_LEN" >&2; exit 2; }
crate=$1 target=$2 seconds=${FUZZ_SECONDS:-$3} max_len=$4
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT/crates/$crate/fuzz"
command -v cargo-fuzz >/dev/null || { echo "cargo-fuzz is not installed (scripts/setup.sh installs it)" >&2; exit 1; }
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}-fuzz"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "corpus/$target"/* "$work/"
cargo fuzz run "$target" "$work" -- \
    -max_total_time="$seconds" -rss_limit_mb=512 -max_len="$max_len" -timeout=10 \
    -print_final_stats=1 2>&1 | tail -n 15
