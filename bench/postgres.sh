#!/usr/bin/env bash
# mamori on PostgreSQL against what a team would build on PostgreSQL instead,
# in one run on one machine.
#
#   bench/postgres.sh [IMPORT_RECORDS] [LOOKUP_RECORDS] [SECONDS]
#       defaults: 1000000, 200000, 20 s per load run; CONNS=32 connections.
#   OPERATORS=N: N operators assigned to the segment `own`, connection i reading as
#   operator i mod N, every run looking up only `own` customers (the baseline too);
#   by default one operator with standing access to the whole tenant reads on all.
#   MAMORI_BENCH_PG_URL: the database (default postgres://postgres@127.0.0.1:5432/test);
#   the run creates and drops the schemas bench_import, bench_copy, bench_lookup, bench_baseline.
#
# 1. import: `mamori import` of N generated customers into PostgreSQL vs
#    psql `\copy` of the same plaintext CSV into a plain table with a primary key;
# 2. audited lookup by phone over HTTP with one and with two server processes:
#    mamori vs the baseline (pgcrypto: pgp_sym_decrypt of the same seven fields,
#    looked up by an HMAC of the normalised phone, plus one committed audit row
#    per request), same load generator, same connection count.
# Results: bench/out/postgres/results.json and a table on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
N=${1:-1000000}
L=${2:-200000}
SECS=${3:-20}
CONNS=${CONNS:-32}
if [ "$L" -gt "$N" ]; then
  echo "LOOKUP_RECORDS ($L) must not exceed IMPORT_RECORDS ($N): lookups would miss" >&2
  exit 2
fi
PG=${MAMORI_BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/test}
OUT=bench/out/postgres
rm -rf "$OUT" && mkdir -p "$OUT"

cargo build --release -q -p mamori-cli -p mamori-bench
M=target/release/mamori
B=target/release/mamori-bench
export MAMORI_LOG=warn
psql_() { psql "$PG" -qAt -v ON_ERROR_STOP=1 "$@"; }
cleanup() {
  kill "${PIDS[@]}" 2>/dev/null || true
  psql_ -c "DROP SCHEMA IF EXISTS bench_import, bench_copy, bench_lookup, bench_baseline CASCADE" 2>/dev/null || true
}
PIDS=()
trap cleanup EXIT
cleanup

timed() { # timed NAME CMD... -> NAME.time (elapsed seconds, max RSS KiB)
  local name=$1; shift
  /usr/bin/time -f "%e %M" -o "$OUT/$name.time" "$@"
}

echo "== generating $N synthetic customers"
$M gen --records "$N" --seed 1 --out "$OUT/people.csv" >/dev/null

echo "== import into PostgreSQL: mamori"
export MAMORI_STORE="$PG"
MAMORI_STORE_PG_SCHEMA=bench_import $M --data-dir "$OUT/import" init >/dev/null
$M --data-dir "$OUT/import" tenant create bench --name ベンチ >/dev/null
timed mamori_import $M --data-dir "$OUT/import" --json import --tenant bench "$OUT/people.csv" > "$OUT/mamori_import.json"

echo "== import into PostgreSQL: \\copy of the same plaintext CSV (baseline)"
psql_ -c "CREATE SCHEMA bench_copy; CREATE TABLE bench_copy.people (customer_no TEXT PRIMARY KEY, name TEXT,
  name_kana TEXT, birth_date TEXT, gender TEXT, postal_code TEXT, address TEXT, phone TEXT, mobile TEXT,
  email TEXT, plan TEXT, segment TEXT)"
timed copy_import psql "$PG" -qAt -v ON_ERROR_STOP=1 -c "\\copy bench_copy.people FROM '$OUT/people.csv' WITH (FORMAT csv, HEADER true)"

echo "== lookup data: $L customers in mamori and in the baseline"
head -n $((L + 1)) "$OUT/people.csv" > "$OUT/lookup.csv"
MAMORI_STORE_PG_SCHEMA=bench_lookup $M --data-dir "$OUT/lookup" init >/dev/null
D="$OUT/lookup"
$M --data-dir "$D" tenant create bench --name ベンチ >/dev/null
$M --data-dir "$D" import --tenant bench "$OUT/lookup.csv" >/dev/null
if [ -n "${OPERATORS:-}" ]; then
  TOKEN=$(bench_operators "$M" "$D" "$OPERATORS" own)
  SEGMENT=(--segment own)
else
  TOKEN=$(bench_operators "$M" "$D")
  SEGMENT=()
fi
$B pg-baseline-load --url "$PG" --schema bench_baseline --seed 1 --records "$L"

wait_up() { for _ in $(seq 200); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; echo "no server at $1"; exit 1; }
PIDS=()
serve_mamori() { # PORT; the process id goes to LAST
  MAMORI_LIMITS_REQUESTS_PER_MINUTE=1000000000 MAMORI_LIMITS_DAILY_RECORDS_OPERATOR=1000000000 \
    $M --data-dir "$D" serve --listen "127.0.0.1:$1" >/dev/null 2>>"$OUT/serve.log" &
  LAST=$!; PIDS+=("$LAST")
}
serve_baseline() { # PORT; the process id goes to LAST
  $B pg-baseline-serve --url "$PG" --schema bench_baseline --listen "127.0.0.1:$1" >/dev/null 2>>"$OUT/baseline.log" &
  LAST=$!; PIDS+=("$LAST")
}
prime() { # TARGET URL PID: a node that joins does its one-off work (a person's budget is
  # seeded from the audit log the first time a process meets it) before it is measured
  $B load --url "$2" --target "$1" --token "$TOKEN" "${SEGMENT[@]}" --records "$L" --seconds 1 \
    --warmup 0 --connections "$CONNS" --server-pid "$3" > /dev/null
}
load() { # NAME TARGET URLS PIDS
  $B load --url "$3" --target "$2" --token "$TOKEN" "${SEGMENT[@]}" --records "$L" \
    --seconds "$SECS" --connections "$CONNS" --server-pid "$4" > "$OUT/$1.json"
}

echo "== audited lookup over HTTP: mamori, one process"
serve_mamori 18281; P1=$LAST; wait_up http://127.0.0.1:18281/healthz
load mamori_1 mamori http://127.0.0.1:18281 "$P1"
echo "== audited lookup over HTTP: mamori, two processes"
serve_mamori 18282; P2=$LAST; wait_up http://127.0.0.1:18282/healthz
prime mamori http://127.0.0.1:18282 "$P2"
load mamori_2 mamori http://127.0.0.1:18281,http://127.0.0.1:18282 "$P1,$P2"
kill "$P1" "$P2"; wait "$P1" "$P2" 2>/dev/null || true

echo "== audited lookup over HTTP: pgcrypto baseline, one process"
serve_baseline 18283; Q1=$LAST; wait_up http://127.0.0.1:18283/
load baseline_1 baseline http://127.0.0.1:18283 "$Q1"
echo "== audited lookup over HTTP: pgcrypto baseline, two processes"
serve_baseline 18284; Q2=$LAST; wait_up http://127.0.0.1:18284/
prime baseline http://127.0.0.1:18284 "$Q2"
load baseline_2 baseline http://127.0.0.1:18283,http://127.0.0.1:18284 "$Q1,$Q2"
kill "$Q1" "$Q2"; wait "$Q1" "$Q2" 2>/dev/null || true

python3 - "$OUT" "$N" "$L" <<'PY'
import json, sys
out, n, l = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def t(name):
    e, rss = open(f"{out}/{name}.time").read().split()
    return float(e), int(rss) / 1024
me, mr = t("mamori_import"); ce, _ = t("copy_import")
h = {k: json.load(open(f"{out}/{k}.json")) for k in ("mamori_1", "mamori_2", "baseline_1", "baseline_2")}
res = {
  "import_records": n, "lookup_records": l,
  "import": {"mamori_rps": n / me, "mamori_rss_mb": mr, "copy_rps": n / ce, "ratio": ce / me},
  "http": h,
  "rps_ratio_1": h["mamori_1"]["rps"] / max(h["baseline_1"]["rps"], 1e-9),
  "rps_ratio_2": h["mamori_2"]["rps"] / max(h["baseline_2"]["rps"], 1e-9),
}
json.dump(res, open(f"{out}/results.json", "w"), indent=2)
print(f"\nimport of {n:,} records into PostgreSQL")
print(f"  mamori   {n/me:>12,.0f} records/s   peak RSS {mr:,.0f} MB")
print(f"  \\copy    {n/ce:>12,.0f} records/s   (plaintext, primary key only, no encryption)")
print(f"  ratio    {ce/me:.2f} of the plaintext COPY rate")
print(f"\naudited lookup by phone over HTTP ({l:,} customers), {h['mamori_1']['connections']} connections")
for k, v in h.items():
    cpu = v.get("server_cpu_us_per_req")
    cpu = f"  server CPU {cpu:,.0f} µs/req" if cpu else ""
    print(f"  {k:<11}{v['rps']:>9,.0f} req/s  p50 {v['p50_ms']:.2f} ms  p99 {v['p99_ms']:.2f} ms  errors {v['errors']}{cpu}")
print(f"  ratio    one process {res['rps_ratio_1']:.2f}x, two processes {res['rps_ratio_2']:.2f}x the baseline's throughput")
PY
