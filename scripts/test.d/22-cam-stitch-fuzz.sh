#!/usr/bin/env bash
# cam-stitch: the config fuzz target for 30 s (FUZZ_SECONDS to change) from the committed seeds
# (the shared sets' configs scaled down, a two-camera config with 90/180 degree rotations),
# inputs up to 8 KiB: parse, validate, round-trip, plan and render with present and missing
# cameras, no panic.
exec "$(dirname "${BASH_SOURCE[0]}")/../fuzz.sh" cam-stitch config 30 8192
