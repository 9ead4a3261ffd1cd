#!/usr/bin/env bash
# Import benchmark: commit groups against committing every batch, and both
# against the plaintext baselines, in one run on one machine.
#
#   bench/import.sh [RECORDS]            default 1000000
#
# SQLite (the embedded default):
#   mamori import, default commit groups       vs  MAMORI_IMPORT_GROUP_RECORDS=1
#   (a commit per 10,000-record batch)          vs  sqlite3 .import of the same CSV
# PostgreSQL (when MAMORI_BENCH_PG_URL is set, or the machine's server answers
# on 127.0.0.1:5432): mamori import into a fresh schema vs psql \copy.
# Reports elapsed seconds, records/s, peak RSS and the bytes each import wrote
# (/proc/PID/io), to stdout and bench/out-import/results.json.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
OUT=bench/out-import
PG=${MAMORI_BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}
rm -rf "$OUT" && mkdir -p "$OUT"
cargo build --release -q -p mamori-cli
M=target/release/mamori
export MAMORI_LOG=warn

# run NAME CMD...: elapsed and max RSS (NAME.time), bytes written (NAME.written)
run() {
  local name=$1; shift
  /usr/bin/time -f "%e %M" -o "$OUT/$name.time" "$@" >"$OUT/$name.out" &
  local pid=$! written=0 w child
  while kill -0 "$pid" 2>/dev/null; do
    child=$(pgrep -P "$pid" | head -1 || true)
    if [ -n "$child" ]; then
      w=$(awk '/^write_bytes/ {print $2}' "/proc/$child/io" 2>/dev/null || true)
      [ -n "$w" ] && written=$w
    fi
    sleep 0.5
  done
  wait "$pid"
  echo "$written" >"$OUT/$name.written"
}

fresh() { # fresh DIR [ENV...]: a data directory with the tenant `bench`
  local d=$1; shift
  env "$@" $M --data-dir "$d" init >/dev/null
  env "$@" $M --data-dir "$d" tenant create bench --name ベンチ >/dev/null
}

echo "== generating $N synthetic customers"
$M gen --records "$N" --seed 1 --out "$OUT/people.csv" >/dev/null

echo "== SQLite: mamori import, commit groups (default)"
fresh "$OUT/grouped"
run sqlite_grouped $M --data-dir "$OUT/grouped" --json import --tenant bench "$OUT/people.csv"
rm -rf "$OUT/grouped"

echo "== SQLite: mamori import, a commit per batch"
fresh "$OUT/per-batch"
run sqlite_per_batch env MAMORI_IMPORT_GROUP_RECORDS=1 \
  $M --data-dir "$OUT/per-batch" --json import --tenant bench "$OUT/people.csv"
rm -rf "$OUT/per-batch"

echo "== SQLite: sqlite3 .import of the same plaintext CSV (baseline)"
run sqlite3_import sqlite3 "$OUT/plain.db" -cmd "PRAGMA journal_mode=WAL;" \
  -cmd "PRAGMA synchronous=FULL;" -cmd ".mode csv" ".import $OUT/people.csv people"
rm -f "$OUT"/plain.db*

PG_RUNS=()
if psql "$PG" -qAtc "SELECT 1" >/dev/null 2>&1; then
  psql_() { psql "$PG" -qAt -v ON_ERROR_STOP=1 "$@"; }
  psql_ -c "DROP SCHEMA IF EXISTS bench_import, bench_copy CASCADE" 2>/dev/null
  echo "== PostgreSQL: mamori import"
  fresh "$OUT/pg" MAMORI_STORE="$PG" MAMORI_STORE_PG_SCHEMA=bench_import
  run pg_grouped env MAMORI_STORE="$PG" MAMORI_STORE_PG_SCHEMA=bench_import \
    $M --data-dir "$OUT/pg" --json import --tenant bench "$OUT/people.csv"
  echo "== PostgreSQL: \\copy of the same plaintext CSV (baseline)"
  psql_ -c "CREATE SCHEMA bench_copy; CREATE TABLE bench_copy.people (customer_no TEXT PRIMARY KEY,
    name TEXT, name_kana TEXT, birth_date TEXT, gender TEXT, postal_code TEXT, address TEXT,
    phone TEXT, mobile TEXT, email TEXT, plan TEXT, segment TEXT)"
  run pg_copy psql "$PG" -qAt -v ON_ERROR_STOP=1 \
    -c "\\copy bench_copy.people FROM '$OUT/people.csv' WITH (FORMAT csv, HEADER true)"
  psql_ -c "DROP SCHEMA IF EXISTS bench_import, bench_copy CASCADE" 2>/dev/null
  rm -rf "$OUT/pg"
  PG_RUNS=(pg_grouped pg_copy)
else
  echo "== PostgreSQL at $PG does not answer: its half is skipped"
fi

python3 - "$OUT" "$N" sqlite_grouped sqlite_per_batch sqlite3_import "${PG_RUNS[@]}" <<'PY'
import json, sys
out, n, names = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
res = {}
for name in names:
    secs, rss = open(f"{out}/{name}.time").read().split()
    res[name] = {"seconds": float(secs), "records_per_s": n / float(secs),
                 "peak_rss_mb": int(rss) // 1024,
                 # PostgreSQL's writes are the server's, not the client's
                 "written_mb": None if name.startswith("pg_") else
                     int(open(f"{out}/{name}.written").read()) // 1_000_000}
def ratio(a, b): return res[b]["seconds"] / res[a]["seconds"]
res["ratios"] = {"grouped_vs_per_batch": ratio("sqlite_grouped", "sqlite_per_batch"),
                 "grouped_vs_sqlite3": ratio("sqlite_grouped", "sqlite3_import")}
if "pg_grouped" in res:
    res["ratios"]["pg_vs_copy"] = ratio("pg_grouped", "pg_copy")
json.dump(res, open(f"{out}/results.json", "w"), indent=2)
print(f"\nimport of {n:,} records")
for name in names:
    r = res[name]
    w = "" if r["written_mb"] is None else f" {r['written_mb']:>7,} MB written"
    print(f"  {name:<17} {r['seconds']:>7.2f} s {r['records_per_s']:>10,.0f} rec/s"
          f" {r['peak_rss_mb']:>5} MB RSS{w}")
for k, v in res["ratios"].items():
    print(f"  {k:<24} {v:.3f}")
PY
