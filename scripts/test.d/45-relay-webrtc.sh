#!/usr/bin/env bash
# Camera relay WebRTC in a browser (tests/relay_webrtc_browser.rs): headless Chromium opens the
# status page, plays the WHEP stream (H.264) at >= 10 frames/s for 10 s and the decoded picture
# matches the MJPEG snapshot (PSNR floor in the test). About 30 s after the build.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
command -v chromium >/dev/null || { echo "45-relay-webrtc: chromium is missing (scripts/setup.sh installs it)" >&2; exit 1; }
cargo build -p posecam --all-features --example camera_relay --example fake_camera
POSECAM_RELAY_PREBUILT=1 cargo test -p posecam --all-features --test relay_webrtc_browser -- --nocapture
