#!/usr/bin/env bash
# Breach analysis at scale: two tenants of N generated customers each; a
# leaked CSV of N rows that are all one tenant's customers (name, kana,
# birth date, postal code, address, phone, mobile, e-mail per row); `mamori
# breach analyze` on it, timed, with its peak RSS, at each N given. The target
# (issue 24): 1,000,000 rows against two tenants of 1,000,000 in <= 60 s and
# <= 500 MB on this 2-core machine; rows/s and how it scales are reported.
#
#   bench/breach.sh [N...]      default: 100000 200000
#
# Results: bench/out-breach/results.json.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=bench/out-breach
if [ $# -eq 0 ]; then SIZES=(100000 200000); else SIZES=("$@"); fi
rm -rf "$OUT" && mkdir -p "$OUT"
cargo build --release -q -p mamori-cli
M=$PWD/target/release/mamori
echo "[" > "$OUT/results.json"
first=1
for N in "${SIZES[@]}"; do
  D="$OUT/data-$N"
  $M --data-dir "$D" init >/dev/null
  for t in acme beta; do $M --data-dir "$D" tenant create "$t" --name "$t" >/dev/null; done
  $M gen --records "$N" --seed 1 --out "$OUT/acme-$N.csv" >/dev/null
  $M gen --records "$N" --seed 2 --out "$OUT/beta-$N.csv" >/dev/null
  $M --data-dir "$D" import --tenant acme "$OUT/acme-$N.csv" >/dev/null
  $M --data-dir "$D" import --tenant beta "$OUT/beta-$N.csv" >/dev/null
  SO=$($M --data-dir "$D" --json user create "so-$N" --role security_officer | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
  # The leak: acme's customers as a CSV (the generator's own file).
  /usr/bin/time -f "%e %M" -o "$OUT/time-$N" \
    $M --data-dir "$D" --token "$SO" --json breach analyze "$OUT/acme-$N.csv" > "$OUT/report-$N.json"
  read -r S KB < "$OUT/time-$N"
  python3 - "$N" "$S" "$KB" "$OUT/report-$N.json" "$first" >> "$OUT/results.json" <<'PY'
import json, sys
n, s, kb, path, first = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5] == "1"
text, dec, i, docs = open(path).read(), json.JSONDecoder(), 0, []
while i < len(text):
    if text[i].isspace():
        i += 1; continue
    d, i = dec.raw_decode(text, i); docs.append(d)
t = {x["tenant"]: x for d in docs for x in d.get("tenants", [])}
acme = t.get("acme", {})
r = {"rows": n, "seconds": s, "rows_per_s": n / s, "peak_rss_mb": kb / 1024,
     "confirmed": acme.get("people_confirmed"), "possible": acme.get("people_possible")}
print(("" if first else ",") + json.dumps(r))
print(f"  {n:,} rows: {s:.1f} s ({n/s:,.0f} rows/s), peak RSS {kb/1024:,.0f} MB; acme confirmed {r['confirmed']}, possible {r['possible']}", file=sys.stderr)
PY
  first=0
done
echo "]" >> "$OUT/results.json"
