#!/usr/bin/env bash
# What the governance gate (issue 3: people gate, just-in-time grants,
# budgets and counters) costs the audited lookup path: the commit before
# governance ("before") against this tree ("after"), same data, same load
# generator, repetitions interleaved (before, after, before, after, ...) on
# one machine in one run.
#
#   bench/gate-cost.sh [RECORDS] [SECONDS] [REPS]    defaults: 200000 20 5
#   BEFORE_REV=<commit> bench/gate-cost.sh           another "before"
#   AFTER_REV=<commit> bench/gate-cost.sh            a commit as "after" (default: this tree)
#
# Two figures per run: requests/s (what the issue's target is about, but
# noisy on a shared 2-core machine) and the server's CPU time per request
# (user + system from /proc over the measured window: far steadier, and
# what throughput is bound by when the load generator shares the cores).
# Every repetition serves a fresh copy of a data directory imported once
# per binary, so no run inherits another's audit log, WAL or page cache.
# Results: bench/out/gate-cost/results.json and a table on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-200000}
SECS=${2:-20}
REPS=${3:-5}
BEFORE_REV=${BEFORE_REV:-cecec4d}
CONNS=${CONNS:-32}
OUT=bench/out/gate-cost
rm -rf "$OUT" && mkdir -p "$OUT"
export MAMORI_LOG=warn

# Commits are built from worktrees into this target directory, so
# third-party crates compile once for all; then this tree is built again
# (for the load generator, and as "after" unless AFTER_REV is set).
WTS=()
cleanup() {
  [ -n "${SERVER:-}" ] && kill "$SERVER" 2>/dev/null || true
  for wt in "${WTS[@]}"; do git worktree remove --force "$wt" 2>/dev/null || rm -rf "$wt"; done
}
trap cleanup EXIT
build_rev() { # build_rev REV OUTFILE
  local wt
  wt=$(mktemp -d)
  WTS+=("$wt")
  git worktree add -f --detach "$wt" "$1" >/dev/null 2>&1
  (cd "$wt" && CARGO_TARGET_DIR="$OLDPWD/target" cargo build --release -q -p mamori-cli)
  cp target/release/mamori "$2"
}
echo "== building $BEFORE_REV (before) and ${AFTER_REV:-this tree} (after)"
build_rev "$BEFORE_REV" "$OUT/mamori-before"
if [ -n "${AFTER_REV:-}" ]; then build_rev "$AFTER_REV" "$OUT/mamori-after"; fi
cargo build --release -q -p mamori-cli -p mamori-bench
if [ -z "${AFTER_REV:-}" ]; then cp target/release/mamori "$OUT/mamori-after"; fi
B=target/release/mamori-bench

echo "== generating $N synthetic customers"
"$OUT/mamori-after" gen --records "$N" --seed 1 --out "$OUT/people.csv" >/dev/null

. bench/lib.sh
# prepare SIDE: a data directory with the tenant, the customers and one
# operator with access to the whole tenant; prints the operator's token. The
# binary before the gate has no approvals, training or confirmations to record.
# A binary with the gate has the `people` command; the comparison then is of
# two governed binaries (BEFORE_REV=c7e106d: the cost of the issue-22 hardening).
governed() { "$OUT/mamori-$1" --help | grep -q '^  people'; }
prepare() {
  local side=$1 m="$OUT/mamori-$1" d="$OUT/$1.pristine"
  $m --data-dir "$d" init >/dev/null
  $m --data-dir "$d" tenant create bench --name ベンチ >/dev/null
  $m --data-dir "$d" import --tenant bench "$OUT/people.csv" >/dev/null
  if governed "$side"; then
    bench_operators "$m" "$d"
    return
  fi
  $m --data-dir "$d" --json user create bench-op --role operator | token_of
  $m --data-dir "$d" user assign bench-op --tenant bench >/dev/null
}
echo "== importing into one data directory per binary"
TOKEN_before=$(prepare before)
TOKEN_after=$(prepare after)

# run SIDE REP: serve a fresh copy, load it, stop it.
run() {
  local side=$1 rep=$2 d="$OUT/$1.run" token
  rm -rf "$d" && cp -a "$OUT/$side.pristine" "$d"
  if [ "$side" = before ]; then token=$TOKEN_before; else token=$TOKEN_after; fi
  # One operator reading every customer as fast as possible is exactly what
  # the default limits stop: lift them so the whole path is measured, not
  # its refusals (the before binary has no such limits).
  local limits=()
  if governed "$side"; then
    limits=(MAMORI_LIMITS_REQUESTS_PER_MINUTE=1000000000 MAMORI_LIMITS_DAILY_RECORDS_OPERATOR=1000000000)
  fi
  env "${limits[@]}" "$OUT/mamori-$side" --data-dir "$d" serve --listen 127.0.0.1:18183 2>"$OUT/$side-$rep.log" &
  SERVER=$!
  for _ in $(seq 100); do curl -sf http://127.0.0.1:18183/healthz >/dev/null && break; sleep 0.1; done
  $B load --url http://127.0.0.1:18183 --target mamori --token "$token" --records "$N" \
    --seconds "$SECS" --connections "$CONNS" --server-pid "$SERVER" > "$OUT/$side-$rep.json"
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
  SERVER=
  echo "   $side #$rep: $(python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(f\"{r['rps']:,.0f} req/s, {r['server_cpu_us_per_req']:.0f} µs CPU/request, p99 {r['p99_ms']:.1f} ms, errors {r['errors']}\")" "$OUT/$side-$rep.json")"
}
echo "== $REPS interleaved repetitions, $CONNS connections, ${SECS}s each"
for rep in $(seq "$REPS"); do
  run before "$rep"
  run after "$rep"
done

python3 - "$OUT" "$REPS" "$BEFORE_REV" "${AFTER_REV:-this tree}" <<'PY'
import json, statistics, sys
out, reps, rev, after_rev = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
runs = {s: [json.load(open(f"{out}/{s}-{i}.json")) for i in range(1, reps + 1)] for s in ("before", "after")}
med = lambda s, k: statistics.median(r[k] for r in runs[s])
pairs = [a["rps"] / b["rps"] for a, b in zip(runs["after"], runs["before"])]
cpu_pairs = [a["server_cpu_us_per_req"] / b["server_cpu_us_per_req"] for a, b in zip(runs["after"], runs["before"])]
res = {
  "before_rev": rev, "after_rev": after_rev, "reps": reps, "runs": runs,
  "median": {s: {k: med(s, k) for k in ("rps", "p50_ms", "p99_ms", "server_cpu_us_per_req")} for s in runs},
  "throughput_ratio_of_medians": med("after", "rps") / med("before", "rps"),
  "throughput_ratio_per_pair": pairs,
  "cpu_per_request_ratio_of_medians": med("after", "server_cpu_us_per_req") / med("before", "server_cpu_us_per_req"),
  "cpu_per_request_ratio_per_pair": cpu_pairs,
}
json.dump(res, open(f"{out}/results.json", "w"), indent=2)
print(f"\ngate cost: {rev} (before) vs {after_rev} (after), {reps} interleaved repetitions (medians)")
for s in ("before", "after"):
    m = res["median"][s]
    print(f"  {s:<7} {m['rps']:>8,.0f} req/s  p50 {m['p50_ms']:.2f} ms  p99 {m['p99_ms']:.2f} ms  {m['server_cpu_us_per_req']:.0f} µs CPU/request")
print(f"  throughput after/before  {res['throughput_ratio_of_medians']:.3f}   (pairs: {', '.join(f'{p:.2f}' for p in pairs)})")
print(f"  CPU per request after/before  {res['cpu_per_request_ratio_of_medians']:.3f}   (pairs: {', '.join(f'{p:.2f}' for p in cpu_pairs)})")
PY
