#!/usr/bin/env bash
# The verifiable audit log's speed against baselines, in one run on one machine.
#
#   bench/audit.sh [EVENTS] [WRITERS]     defaults: 500000 events, 32 writers
#
# 1. durable appends: WRITERS threads append EVENTS lookup-shaped events to one
#    tenant log (hash chain, Merkle nodes, signed checkpoints, group commit,
#    synchronous=FULL) — events/s and latency — against plain SQLite inserting
#    the same rows into the same table in transactions of the same mean size;
# 2. verification: `mamori audit verify` of that log (every hash, link, root
#    and checkpoint signature) against `sha256sum` over the same event bytes.
# Results: bench/out/audit/results.json and a table on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-500000}
W=${2:-32}
OUT=bench/out/audit
rm -rf "$OUT" && mkdir -p "$OUT"
cargo build --release -q -p mamori-cli -p mamori-bench
M=target/release/mamori
B=target/release/mamori-bench
export MAMORI_LOG=warn
D="$OUT/data"
$M --data-dir "$D" init >/dev/null

echo "== appends: $N events from $W writers (and the SQLite baseline)"
$B audit-append --data-dir "$D" --writers "$W" --events "$N" --bodies "$OUT/bodies.bin" > "$OUT/append.json"

echo "== verify vs sha256sum over the same bytes"
/usr/bin/time -f "%e %M" -o "$OUT/verify.time" $M --data-dir "$D" --json audit verify --log tenant/bench > "$OUT/verify.json"
/usr/bin/time -f "%e %M" -o "$OUT/sha.time" sha256sum "$OUT/bodies.bin" > /dev/null

python3 - "$OUT" <<'PY'
import json, os, sys
out = sys.argv[1]
a = json.load(open(f"{out}/append.json")); v = json.load(open(f"{out}/verify.json"))
ve, vm = open(f"{out}/verify.time").read().split(); se, _ = open(f"{out}/sha.time").read().split()
ve, se = float(ve), max(float(se), 1e-3)
n = v["events"]; size = os.path.getsize(f"{out}/bodies.bin")
res = {"append": a, "verify": {"ok": v["ok"], "events": n, "seconds": ve, "events_per_s": n / ve,
       "peak_rss_mb": int(vm) / 1024, "bytes": size, "sha256sum_seconds": se,
       "sha256sum_events_per_s": n / se, "ratio": (n / ve) / (n / se)}}
json.dump(res, open(f"{out}/results.json", "w"), indent=2)
print(f"\ndurable appends, {a['writers']} writers, one log, {a['events']:,} events")
print(f"  mamori    {a['events_per_s']:>10,.0f} events/s  p50 {a['p50_ms']:.2f} ms  p99 {a['p99_ms']:.2f} ms  (mean group commit {a['mean_batch']} events)")
print(f"  sqlite    {a['baseline_rows_per_s']:>10,.0f} rows/s    same rows, same table, {a['mean_batch']} per transaction, synchronous=FULL")
print(f"  ratio     {a['ratio']:.2f}")
r = res["verify"]
print(f"\nverify of {n:,} events ({size / 1e6:.0f} MB), ok={r['ok']}")
print(f"  mamori audit verify  {r['events_per_s']:>10,.0f} events/s  ({ve:.2f} s, peak RSS {r['peak_rss_mb']:.0f} MB)")
print(f"  sha256sum            {r['sha256sum_events_per_s']:>10,.0f} events/s  ({se:.2f} s)")
print(f"  ratio                {r['ratio']:.2f}")
PY
