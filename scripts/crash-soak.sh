#!/usr/bin/env bash
# A longer crash-safety run than CI's 50 kills: the server is killed with
# SIGKILL at random moments under concurrent reads and writes, N times
# (default 500), then every acknowledged request must be audited exactly
# once, every acknowledged write present, both databases intact and the
# audit log verified. Replay a failure with MAMORI_CRASH_SEED=<printed seed>.
set -euo pipefail
cd "$(dirname "$0")/.."
export MAMORI_CRASH_ITERATIONS="${1:-500}"
exec cargo test --release -p mamori-cli --test e2e crash:: -- --nocapture
