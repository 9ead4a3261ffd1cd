#!/usr/bin/env bash
# Signed monthly reports at the reconciliation's scale, against a baseline, in one run.
#
#   bench/report.sh [PEOPLE] [READS_PER_DAY]     defaults: 2000 people, 47 reads a day
#
# Setup (not timed as the result): the reconciliation bench's vault and month
# (~2.0M reads appended through the real audit log), the month reconciled and
# self-inspected (`mamori reconcile run`, `mamori inspect run`; their times are
# printed but are not this bench's figures).
#
# Timed: `mamori report monthly --month 2026-11` as CSV, Excel and PDF (each:
# every log signed, the month's events walked once as of the checkpoints, each
# event checked against its leaf hash, rendered, recorded), and `mamori report
# verify` of the PDF (the same walk again, the checkpoints re-checked, the PDF
# regenerated and compared), wall time and peak RSS; against the baseline of
# listing the month's reads from the same audit database and parsing each one.
# Results: bench/out/report/results.json and a table on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
P=${1:-2000}
R=${2:-47}
OUT=bench/out/report
. bench/lib.sh
month_vault "$OUT" "$P" "$R"
export MAMORI_TOKEN="$(cat "$F/token")"
/usr/bin/time -f "%e %M" -o "$OUT/reconcile.time" $M --data-dir "$D" --json reconcile run \
  --month 2026-11 --people "$F/people.csv" --rooms "$F/rooms.csv" --logons "$F/logons.json" \
  --hosts "$F/hosts.csv" --applications "$F/applications.csv" > /dev/null
/usr/bin/time -f "%e %M" -o "$OUT/inspect.time" $M --data-dir "$D" --json inspect run \
  --month 2026-11 > /dev/null

for f in csv xlsx pdf; do
  echo "== mamori report monthly --format $f"
  /usr/bin/time -f "%e %M" -o "$OUT/$f.time" $M --data-dir "$D" --json report monthly \
    --month 2026-11 --format "$f" --out "$OUT/monthly.$f" > "$OUT/$f.json"
done
echo "== mamori report verify (the PDF)"
/usr/bin/time -f "%e %M" -o "$OUT/verify.time" $M --data-dir "$D" --json report verify \
  "$OUT/monthly.pdf" > "$OUT/verify.json"

echo "== baseline: list and parse the month's reads"
/usr/bin/time -f "%e %M" -o "$OUT/baseline.time" \
  $B reconcile-baseline --audit-db "$D/audit.db" --from "$FROM" --to "$TO" > "$OUT/baseline.json"

python3 - "$OUT" <<'PY'
import json, os, sys
out = sys.argv[1]
t = lambda n: tuple(map(float, open(f"{out}/{n}.time").read().split()))
setup = json.load(open(f"{out}/setup.json"))
base = json.load(open(f"{out}/baseline.json"))
ver = json.load(open(f"{out}/verify.json"))
bs, bm = t("baseline")
res = {"setup": setup, "baseline_seconds": bs, "baseline_peak_rss_mb": bm / 1024,
       "baseline_reads": base["reads"], "verify_outcome": ver["outcome"]}
print(f"\nmonth of {setup['people']:,} people, {setup['reads']:,} reads")
for n in ["reconcile", "inspect"]:
    s, m = t(n)
    res[f"{n}_seconds"] = s
    print(f"  setup: mamori {n} run {s:7.2f} s   peak RSS {m / 1024:6.0f} MB")
for n in ["csv", "xlsx", "pdf", "verify"]:
    s, m = t(n)
    size = os.path.getsize(f"{out}/monthly.{n}") if n != "verify" else 0
    res[n] = {"seconds": s, "peak_rss_mb": m / 1024, "bytes": size, "ratio_time": s / max(bs, 1e-3)}
    what = f"report monthly --format {n}" if n != "verify" else f"report verify ({ver['outcome']})"
    print(f"  mamori {what:32} {s:7.2f} s   peak RSS {m / 1024:6.0f} MB   {s / max(bs, 1e-3):.2f}x baseline"
          + (f"   {size:,} bytes" if size else ""))
print(f"  baseline (list+parse the month's reads) {bs:7.2f} s   peak RSS {bm / 1024:6.0f} MB   reads {base['reads']:,}")
json.dump(res, open(f"{out}/results.json", "w"), indent=2)
PY
