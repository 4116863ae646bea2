#!/usr/bin/env bash
# pose-core: the `extract` CLI end to end on the bundled dancer clip (3.333 s at 30 fps), debug
# build (already compiled by `cargo test --all-features`): 34 rows of 36 integers at --fps 10,
# a JSON track with 34 samples (each with world landmarks, scoring itself 34/34 in pose-score's
# view mode), exit status 2 on a bad --fps and 1 on a missing video. ~10 s.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
run() { cargo run -q -p pose-core --features video --example extract -- "$@"; }
run testdata/dancer.mp4 --fps 10 --out "$work/dancer.csv" --json "$work/dancer.json" --model lite --quiet
rows=$(wc -l <"$work/dancer.csv")
[ "$rows" -eq 34 ] || { echo "30-pose-extract: $rows rows, expected 34" >&2; exit 1; }
bad=$(awk -F, 'NF != 36 { n++ } { for (i = 1; i <= NF; i++) if ($i !~ /^-?[0-9]+$/) n++ } END { print n + 0 }' "$work/dancer.csv")
[ "$bad" -eq 0 ] || { echo "30-pose-extract: $bad rows/fields are not 36 integers" >&2; exit 1; }
samples=$(grep -o '"index":' "$work/dancer.json" | wc -l)
[ "$samples" -eq 34 ] || { echo "30-pose-extract: JSON has $samples samples" >&2; exit 1; }
worlds=$(grep -o '"world":\[\[' "$work/dancer.json" | wc -l)
[ "$worlds" -eq 34 ] || { echo "30-pose-extract: JSON has world landmarks in $worlds of 34 samples" >&2; exit 1; }
# The track scores itself in pose-score's view mode (3D): every row CORRECT.
view=$(cargo run -q -p pose-score --example score -- --dancer "$work/dancer.json" --user "$work/dancer.json" --mode view | tail -1)
[ "$view" = "rows=34 correct=34" ] || { echo "30-pose-extract: score --mode view on the track itself: $view" >&2; exit 1; }
set +e
run testdata/dancer.mp4 --fps 0 --out "$work/x.csv" 2>/dev/null; rc_args=$?
run "$work/missing.mp4" --fps 10 --out "$work/x.csv" --quiet 2>/dev/null; rc_missing=$?
set -e
[ "$rc_args" -eq 2 ] && [ "$rc_missing" -eq 1 ] || {
    echo "30-pose-extract: exit codes $rc_args (bad --fps, want 2), $rc_missing (missing video, want 1)" >&2
    exit 1
}
echo "30-pose-extract: ok (34 rows x 36 integers, JSON track with world landmarks, view score 34/34, exit codes 2 and 1)"
