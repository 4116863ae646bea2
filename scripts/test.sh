#!/usr/bin/env bash
# posecam: every check and every test. Fails on the first failure.
#   scripts/test.sh
# Needs scripts/setup.sh to have run (ONNX Runtime library, models, cargo-fuzz) and the shared data
# folder beside the workspace (or POSECAM_SHARED).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
step() { printf '\n[test] %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, all features, warnings denied)"
cargo clippy --workspace --all-targets --all-features -- -D warnings

step "cargo doc (warnings denied)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --all-features

step "cargo test (unit, integration, doc tests; all features)"
cargo test --workspace --all-features

for t in "$ROOT"/scripts/test.d/*.sh; do
    [ -e "$t" ] || continue
    step "extra: ${t#"$ROOT"/}"
    bash "$t"
done
step "all checks passed"
