#!/usr/bin/env bash
# Dance server end to end (tests/dance_e2e.rs): headless Chromium (Debian's, no download) with a
# fake webcam fed from ../shared/media/pose2sim/single/cam02.mp4 (MJPEG made by ffmpeg at test
# time) loads the page from the built dance_server example (a real process, built by the test),
# presses Start, gets live scores, checks the skeleton and the score are drawn, takes
# screenshots, gets the summary with its DTW grade, and reconnects after the server is stopped
# with Ctrl-C and started again. Screenshots: $DANCE_E2E_OUT (default target/dance-e2e).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
for tool in chromium ffmpeg; do
    command -v "$tool" >/dev/null || { echo "50-dance-e2e: $tool not found (scripts/setup.sh installs it)" >&2; exit 1; }
done
export DANCE_E2E_OUT="${DANCE_E2E_OUT:-${CARGO_TARGET_DIR:-$ROOT/target}/dance-e2e}"
mkdir -p "$DANCE_E2E_OUT"
# Same features as scripts/test.sh's `cargo test`, so nothing is rebuilt but this test.
cargo test --all-features --test dance_e2e -- --nocapture
