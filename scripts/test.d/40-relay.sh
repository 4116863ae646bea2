#!/usr/bin/env bash
# Camera relay end to end (tests/relay_external.rs): the built camera_relay and fake_camera
# examples read by the old Python client, ffmpeg, curl and headless Chromium; an RTSP camera
# (ffmpeg RTP/JPEG behind a tiny RTSP server) read through OpenCV; RSS over 1000 viewer
# connect/disconnect cycles; bad configs. About 30 s after the build.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
for tool in ffmpeg curl chromium; do
    command -v "$tool" >/dev/null || { echo "40-relay: $tool is missing (scripts/setup.sh installs it)" >&2; exit 1; }
done
cargo build -p posecam --all-features --example camera_relay --example fake_camera
export POSECAM_RELAY_PREBUILT=1
cargo test -p posecam --all-features --test relay_external -- --test-threads=2
