#!/usr/bin/env bash
# Publish readiness: `cargo package` of the four library crates, then `cargo test --no-run
# --all-features --offline` in each unpacked .crate, in a temporary folder outside this
# workspace (no .cargo/config.toml, no path dependencies, no posecam-test-support): the packaged
# tests, examples and benches compile on their own from the packaged manifests. They build into
# the workspace's target dir, so dependencies the workspace already built (same versions, features
# and profile) are reused; the packaged crates themselves are always built anew.
# `cargo publish --workspace --dry-run` (needs the crates.io index) does the same packaging and
# builds each library; it is not run here so that the test command stays offline.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CRATES=(stream-codec cam-stitch pose-core pose-score)
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
work=$(mktemp -d /tmp/posecam-package.XXXXXX)
trap 'rm -rf "$work"' EXIT
t0=$(date +%s)

cd "$ROOT"
args=()
for c in "${CRATES[@]}"; do args+=(-p "$c"); done
# --allow-dirty: this checks what is packaged, not whether the tree is committed.
cargo package -q --offline --no-verify --allow-dirty "${args[@]}"
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
for c in "${CRATES[@]}"; do
    crate="$TARGET/package/$c-$version.crate"
    [ -f "$crate" ] || { echo "62-package: $crate not made" >&2; exit 1; }
    tar xzf "$crate" -C "$work"
    [ -f "$work/$c-$version/Cargo.lock" ] || { echo "62-package: $c has no Cargo.lock" >&2; exit 1; }
    for f in LICENSE-MIT LICENSE-APACHE README.md; do
        [ -f "$work/$c-$version/$f" ] || { echo "62-package: $c lacks $f" >&2; exit 1; }
    done
done
t1=$(date +%s)
# A packaged crate that depends on another of these (pose-score's optional pose-core) would look for
# it on crates.io, where it is not yet: point it at the unpacked package instead (what
# `cargo publish --workspace` does with its local overlay). The packaged Cargo.lock names the
# registry version, so --locked cannot hold under the patch; --offline still forbids new versions.
patches=()
for d in "${CRATES[@]}"; do
    patches+=(--config "patch.crates-io.$d.path=\"$work/$d-$version\"")
done
for c in "${CRATES[@]}"; do
    if ! (cd "$work/$c-$version" &&
        CARGO_TARGET_DIR="$TARGET" cargo test --offline --all-features --no-run "${patches[@]}") \
        >"$work/$c.log" 2>&1; then
        cat "$work/$c.log" >&2
        echo "62-package: the packaged tests of $c do not compile on their own" >&2
        exit 1
    fi
done
echo "62-package: ok (${CRATES[*]}: packaged, tests compile on their own; package $((t1 - t0)) s, tests $(( $(date +%s) - t1 )) s)"
