#!/usr/bin/env bash
# stream-codec: the WWW-Authenticate (Digest challenge) parser fuzz target for 30 s (FUZZ_SECONDS to
# change) from the committed seeds, inputs up to 4 KiB: no panic, no CR/LF in the answer.
exec "$(dirname "${BASH_SOURCE[0]}")/../fuzz.sh" stream-codec www_authenticate 30 4096
