#!/usr/bin/env bash
# mamori benchmarks against baselines, in one run on one machine.
#
#   bench/run.sh [RECORDS] [SECONDS]     defaults: 1000000 records, 20 s per load run
#
# 1. import: `mamori import` of N generated customers vs `sqlite3 .import` of
#    the same plaintext CSV into a plain table (records/s, peak RSS);
# 2. audited search by phone over HTTP: `mamori serve` vs the baseline a team
#    would build (plain SQLite point select + one committed audit row per
#    request, WAL, synchronous=FULL), same load generator, same connections.
# Results: bench/out/results.json and a table on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
N=${1:-1000000}
SECS=${2:-20}
CONNS=${CONNS:-32}
OUT=bench/out
rm -rf "$OUT" && mkdir -p "$OUT"

cargo build --release -q -p mamori-cli -p mamori-bench
M=target/release/mamori
B=target/release/mamori-bench
export MAMORI_LOG=warn

timed() { # timed NAME CMD... -> writes NAME.time (elapsed seconds, max RSS KiB)
  local name=$1; shift
  /usr/bin/time -f "%e %M" -o "$OUT/$name.time" "$@"
}

echo "== generating $N synthetic customers"
$M gen --records "$N" --seed 1 --out "$OUT/people.csv" >/dev/null

echo "== import: mamori"
D="$OUT/data"
$M --data-dir "$D" init >/dev/null
$M --data-dir "$D" tenant create bench --name ベンチ >/dev/null
timed mamori_import $M --data-dir "$D" --json import --tenant bench "$OUT/people.csv" > "$OUT/mamori_import.json"

echo "== import: sqlite3 .import of the same plaintext CSV (baseline)"
timed sqlite_import sqlite3 "$OUT/plain.db" -cmd "PRAGMA journal_mode=WAL;" -cmd "PRAGMA synchronous=FULL;" -cmd ".mode csv" ".import $OUT/people.csv people"
rm -f "$OUT"/plain.db*

echo "== audited search over HTTP: mamori ($CONNS connections, ${SECS}s)"
TOKEN=$(bench_operators "$M" "$D")
# The load generator is one operator reading every customer as fast as it can:
# exactly what the default limits stop. Lift them so the gate's full path
# (people checks, budgets, counters) is measured, not its refusals.
MAMORI_LIMITS_REQUESTS_PER_MINUTE=1000000000 MAMORI_LIMITS_DAILY_RECORDS_OPERATOR=1000000000 \
  $M --data-dir "$D" serve --listen 127.0.0.1:18181 2>"$OUT/serve.log" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf http://127.0.0.1:18181/healthz >/dev/null && break; sleep 0.1; done
$B load --url http://127.0.0.1:18181 --target mamori --token "$TOKEN" --records "$N" --seconds "$SECS" --connections "$CONNS" > "$OUT/mamori_http.json"
kill $SERVER; wait $SERVER 2>/dev/null || true

echo "== audited search over HTTP: baseline"
$B baseline-serve --db "$OUT/baseline.db" --seed 1 --records "$N" --listen 127.0.0.1:18182 2>"$OUT/baseline.log" &
SERVER=$!
for _ in $(seq 600); do curl -s -o /dev/null http://127.0.0.1:18182/ && break; sleep 0.2; done
$B load --url http://127.0.0.1:18182 --target baseline --records "$N" --seconds "$SECS" --connections "$CONNS" > "$OUT/baseline_http.json"
kill $SERVER; wait $SERVER 2>/dev/null || true

python3 - "$OUT" "$N" <<'PY'
import json, sys
out, n = sys.argv[1], int(sys.argv[2])
def t(name):
    e, rss = open(f"{out}/{name}.time").read().split()
    return float(e), int(rss) / 1024
me, mr = t("mamori_import"); se, sr = t("sqlite_import")
mh = json.load(open(f"{out}/mamori_http.json")); bh = json.load(open(f"{out}/baseline_http.json"))
res = {
  "records": n,
  "import": {"mamori_rps": n / me, "mamori_rss_mb": mr, "sqlite3_rps": n / se, "sqlite3_rss_mb": sr, "ratio": se / me},
  "http": {"mamori": mh, "baseline": bh, "rps_ratio": mh["rps"] / max(bh["rps"], 1e-9)},
}
json.dump(res, open(f"{out}/results.json", "w"), indent=2)
print(f"\nimport of {n:,} records")
print(f"  mamori   {n/me:>12,.0f} records/s   peak RSS {mr:,.0f} MB")
print(f"  sqlite3  {n/se:>12,.0f} records/s   peak RSS {sr:,.0f} MB   (plaintext, no index, no encryption)")
print(f"  ratio    {se/me:.2f} of the plaintext rate")
print(f"\naudited search by phone over HTTP, {mh['connections']} connections")
for name, h in (("mamori", mh), ("baseline", bh)):
    print(f"  {name:<9}{h['rps']:>10,.0f} req/s  p50 {h['p50_ms']:.2f} ms  p99 {h['p99_ms']:.2f} ms  errors {h['errors']}")
print(f"  ratio    {mh['rps']/max(bh['rps'],1e-9):.2f}x the baseline's throughput")
PY
