#!/usr/bin/env bash
# pose-score: the rows fuzz target for 30 s (FUZZ_SECONDS to change) from the committed seeds,
# inputs up to 16 KiB: keypoint CSV -> both scores, window, alignment; no panic, fast seed path
# equal to the plain loop.
exec "$(dirname "${BASH_SOURCE[0]}")/../fuzz.sh" pose-score rows 30 16384
