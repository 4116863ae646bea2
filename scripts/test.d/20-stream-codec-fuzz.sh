#!/usr/bin/env bash
# stream-codec: bounded cargo-fuzz run of the decoder target (default 60 s, FUZZ_SECONDS to change),
# from the committed seeds (crates/stream-codec/fuzz/corpus/decoder), no panic, RSS capped at 512 MB,
# inputs up to 8 KiB. The machine has a stable toolchain only: RUSTC_BOOTSTRAP=1 lets it accept the
# -Z flags cargo-fuzz passes (address sanitizer, sanitizer coverage).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT/crates/stream-codec/fuzz"
command -v cargo-fuzz >/dev/null || { echo "cargo-fuzz is not installed (scripts/setup.sh installs it)" >&2; exit 1; }
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}-fuzz"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp corpus/decoder/* "$work/"
cargo fuzz run decoder "$work" -- \
    -max_total_time="${FUZZ_SECONDS:-60}" -rss_limit_mb=512 -max_len=8192 -timeout=10 \
    -print_final_stats=1 2>&1 | tail -n 15
