#!/usr/bin/env bash
# The estimator on the real recordings (bench/leak/recordings): every leak
# found, no healthy trace flagged. A change to the estimator that breaks
# either on real processes fails here, not only in the benchmark.
#   recordings.sh LEAKWATCH_BINARY REPO_ROOT
set -euo pipefail
LEAKWATCH="$1"
root="$2"
out="$(python3 "$root/bench/leak/score.py" "$LEAKWATCH" "$root/bench/leak/recordings" --verbose 2>&1)"
summary="$(grep '^{' <<<"$out")"
echo "$summary"
python3 - "$summary" <<'PY'
import json, sys
s = json.loads(sys.argv[1])
problems = []
if s["traces"] != 8:
    problems.append("expected 8 recordings, scored %d" % s["traces"])
if s["false_alarms"]:
    problems.append("%d false alarm(s)" % s["false_alarms"])
if s["recall"] < 1.0:
    problems.append("recall %.3f: a recorded leak was missed" % s["recall"])
if problems:
    print("FAIL: " + "; ".join(problems))
    sys.exit(1)
PY
