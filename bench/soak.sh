#!/usr/bin/env bash
# Soak: a contact centre's mixed work (searches, reads, writes, access
# requests and approvals, exports with their approvals and download, alert
# handling, refusals) at ~80 % of the capacity measured for that mix, for a long
# time, against one node on the embedded SQLite store or two nodes sharing
# PostgreSQL. Passes when: no error other than the expected refusals, every
# acknowledged read and write is in the audit log exactly once, and the log
# verifies; the servers' resident memory is reported from start to end.
#
#   bench/soak.sh [RECORDS] [SECONDS] [NODES]     defaults: 200000 600 1
#   NODES=2 needs PostgreSQL: PG_URL (or MAMORI_TEST_PG_URL) names the database.
# Results: bench/out/soak-NODES/{soak.json,check.json} and a summary on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-200000}
SECS=${2:-600}
NODES=${3:-1}
OUT=bench/out/soak-$NODES
rm -rf "$OUT" && mkdir -p "$OUT"
export MAMORI_LOG=warn
cargo build --release -q -p mamori-cli -p mamori-bench
M=target/release/mamori
B=target/release/mamori-bench
D="$OUT/data"
SCHEMA=
if [ "$NODES" -gt 1 ]; then
  export MAMORI_STORE=${PG_URL:-${MAMORI_TEST_PG_URL:?two nodes need PostgreSQL: set PG_URL}}
  SCHEMA=soak_$$
  export MAMORI_STORE_PG_SCHEMA=$SCHEMA
fi
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ -n "$SCHEMA" ]; then psql "$MAMORI_STORE" -qc "DROP SCHEMA IF EXISTS $SCHEMA CASCADE" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

token_of() { sed -n 's/.*"token": "\([^"]*\)".*/\1/p'; }
user() { $M --data-dir "$D" --json user create "$@" | token_of; }

echo "== a vault of $N customers"
$M --data-dir "$D" init >/dev/null
$M --data-dir "$D" tenant create bench --name ベンチ >/dev/null
$M gen --records "$N" --seed 1 --out "$OUT/people.csv" >/dev/null
$M --data-dir "$D" import --tenant bench "$OUT/people.csv" >/dev/null

echo "== the people: 8 operators and a back-office clerk under one supervisor, the security office, a system administrator"
SO=$(user soak-so --role security_officer)
SV=$(user soak-sv --role supervisor)
SA=$(user soak-sa --role sysadmin)
trained() { # trained LOGIN: the course and the annual confirmation
  $M --data-dir "$D" --token "$SO" people training "$1" --course privacy-basics --score 90 >/dev/null
  $M --data-dir "$D" --token "$SO" people compliance "$1" >/dev/null
}
OPS=()
for i in $(seq 8); do
  OPS+=("$(user "soak-op-$i" --role operator --manager soak-sv)")
  $M --data-dir "$D" user assign "soak-op-$i" --tenant bench --segment own >/dev/null
  trained "soak-op-$i"
done
BY=$(user soak-by --role backyard --manager soak-sv)
$M --data-dir "$D" user assign soak-by --tenant bench >/dev/null
$M --data-dir "$D" --token "$SO" access full-access approve soak-by --tenant bench >/dev/null
trained soak-by
OPERATORS=$(IFS=,; echo "${OPS[*]}")

# Budgets and the per-minute limit would refuse a load generator long
# before ten minutes are over; they are lifted so the whole path is soaked.
# Exports may hold a whole segment.
export MAMORI_LIMITS_REQUESTS_PER_MINUTE=1000000000 MAMORI_LIMITS_DAILY_RECORDS_OPERATOR=1000000000 \
  MAMORI_LIMITS_DAILY_RECORDS_BACKYARD=1000000000 MAMORI_EXPORTS_MAX_ROWS=1000000
URLS=()
for i in $(seq "$NODES"); do
  port=$((18190 + i))
  $M --data-dir "$D" serve --listen "127.0.0.1:$port" 2>"$OUT/serve-$i.log" &
  PIDS+=($!)
  URLS+=("http://127.0.0.1:$port")
done
for u in "${URLS[@]}"; do
  for _ in $(seq 200); do curl -sf "$u/healthz" >/dev/null && break; sleep 0.1; done
done
URL=$(IFS=,; echo "${URLS[*]}")
SERVER_PIDS=$(IFS=,; echo "${PIDS[*]}")

soak() { # soak LABEL RATE SECONDS: the mixed work at RATE requests/s, case ids LABEL-…
  $B soak --url "$URL" --records "$N" --operators "$OPERATORS" --backyard "$BY" --supervisor "$SV" \
    --officer "$SO" --sysadmin "$SA" --label "$1" --rate "$2" --seconds "$3" --server-pid "$SERVER_PIDS" \
    --acked "$OUT/$1-acked.txt"
}
echo "== capacity: the same mix as fast as it is served, 20 s"
soak CAP 1000000 20 > "$OUT/capacity.json"
RATE=$(python3 -c "import json,sys; print(round(0.8 * json.load(open(sys.argv[1]))['rps']))" "$OUT/capacity.json")
echo "   $(python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(f\"{r['rps']:,.0f} req/s, errors {r['errors']}\")" "$OUT/capacity.json"); soaking at $RATE req/s"

echo "== soak: ${SECS}s of mixed work on $NODES node(s)"
soak SOAK "$RATE" "$SECS" > "$OUT/soak.json"
for p in "${PIDS[@]}"; do kill "$p"; wait "$p" 2>/dev/null || true; done
PIDS=()

echo "== the audit log: verified, and every acknowledged read and write in it once"
$M --data-dir "$D" audit verify > "$OUT/verify.txt" 2>&1 && VERIFIED=true || VERIFIED=false
$M --data-dir "$D" audit ship --to "$OUT/audit.jsonl" --format jsonl > /dev/null
python3 - "$OUT" "$VERIFIED" <<'PY'
import collections, json, sys
out, verified = sys.argv[1], sys.argv[2] == "true"
soak = json.load(open(f"{out}/soak.json"))
seen = collections.Counter()
for line in open(f"{out}/audit.jsonl"):
    e = json.loads(line)
    if e.get("decision") == "allow" and e.get("action") in ("record.search", "record.read", "record.write"):
        if (e.get("case_id") or "").startswith(("SOAK-", "CAP-")):
            seen[e["case_id"]] += 1
acked = [l.strip() for f in ("CAP-acked.txt", "SOAK-acked.txt") for l in open(f"{out}/{f}") if l.strip()]
missing = [c for c in acked if seen[c] == 0]
twice = [c for c in acked if seen[c] > 1]
rss = soak["rss"]
first = next((s for s in rss if s["t_s"] >= 30), rss[0])
check = {
    "verified": verified, "acked": len(acked), "missing_from_log": len(missing), "logged_twice": len(twice),
    "examples": (missing + twice)[:5], "rss_kib_at_30s": first["rss_kib"], "rss_kib_at_end": rss[-1]["rss_kib"],
    "rss_kib_max": [max(s["rss_kib"][i] or 0 for s in rss) for i in range(len(rss[-1]["rss_kib"]))],
}
json.dump(check, open(f"{out}/check.json", "w"), indent=2)
print(f"  {soak['requests']:,} requests in {soak['seconds']:.0f} s ({soak['rps']:,.0f}/s, target {soak['target_rate']}/s, p99 {soak['p99_ms']:.1f} ms, most late {soak['most_late_ms']} ms)")
print(f"  done {soak['done']:,}, refused as expected {soak['refused_as_expected']:,}, errors {soak['errors']:,} {soak['first_errors'][:5]}")
for k, v in soak["by_kind"].items():
    print(f"    {k:<14} {v}")
print(f"  audit log verifies: {verified}; acknowledged {len(acked):,}: missing {len(missing)}, twice {len(twice)}")
print(f"  RSS KiB at 30 s {check['rss_kib_at_30s']}, at the end {check['rss_kib_at_end']}, max {check['rss_kib_max']}")
ok = verified and soak["errors"] == 0 and not missing and not twice
print("  PASS" if ok else "  FAIL")
sys.exit(0 if ok else 1)
PY
