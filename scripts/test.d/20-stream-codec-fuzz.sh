#!/usr/bin/env bash
# stream-codec: the decoder fuzz target for 60 s (FUZZ_SECONDS to change) from the committed seeds,
# inputs up to 8 KiB: no panic, bounded buffering, same frames under two chunkings.
exec "$(dirname "${BASH_SOURCE[0]}")/../fuzz.sh" stream-codec decoder 60 8192
