#!/usr/bin/env bash
# The monthly reconciliation at the issue's scale, against a baseline, in one run.
#
#   bench/reconcile.sh [PEOPLE] [READS_PER_DAY]     defaults: 2000 people, 47 reads a day
#
# Setup (not timed as the result): a real vault with PEOPLE operators created and
# assigned through the vault, a simulated month of a secure area (two stretches a
# working day, five days of seven) whose every read is appended through the real
# audit log at its own minute, and the outside files the month produced: the door
# log (Shift_JIS CSV), the PCs' security events (JSON lines), the person and host
# maps, the pre-applications. At the defaults: ~2.0M reads, ~170k door events,
# ~86k logon sessions (430k events).
#
# Timed: `mamori reconcile run --month 2026-11` (wall time and peak RSS), against
# the baseline of listing the same month's reads from the same audit database and
# parsing each one (what any hand-written reconciliation does before it joins).
# Results: bench/out/reconcile/results.json and a table on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
P=${1:-2000}
R=${2:-47}
OUT=bench/out/reconcile
. bench/lib.sh
month_vault "$OUT" "$P" "$R"

echo "== mamori reconcile run"
/usr/bin/time -f "%e %M" -o "$OUT/run.time" env MAMORI_TOKEN="$(cat "$F/token")" \
  $M --data-dir "$D" --json reconcile run --month 2026-11 \
  --people "$F/people.csv" --rooms "$F/rooms.csv" --logons "$F/logons.json" \
  --hosts "$F/hosts.csv" --applications "$F/applications.csv" --out "$OUT/report.json" > /dev/null

echo "== baseline: list and parse the month's reads"
/usr/bin/time -f "%e %M" -o "$OUT/baseline.time" \
  $B reconcile-baseline --audit-db "$D/audit.db" --from "$FROM" --to "$TO" > "$OUT/baseline.json"

python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
setup = json.load(open(f"{out}/setup.json"))
rep = json.load(open(f"{out}/report.json"))
base = json.load(open(f"{out}/baseline.json"))
rs, rm = map(float, open(f"{out}/run.time").read().split())
bs, bm = map(float, open(f"{out}/baseline.time").read().split())
c = rep["report"]["counts"]
res = {"setup": setup, "counts": c, "by_class": rep["report"]["by_class"],
       "run_seconds": rs, "run_peak_rss_mb": rm / 1024,
       "baseline_seconds": bs, "baseline_peak_rss_mb": bm / 1024, "baseline_reads": base["reads"],
       "ratio_time": rs / max(bs, 1e-3)}
json.dump(res, open(f"{out}/results.json", "w"), indent=2)
print(f"\nmonth of {setup['people']:,} people: {c['reads']:,} reads, {c['room_events']:,} door events, "
      f"{c['sessions']:,} PC sessions; setup appended {setup['reads']:,} reads at {setup['appends_per_s']:,.0f}/s")
print(f"  mamori reconcile run   {rs:7.2f} s   peak RSS {rm / 1024:6.0f} MB   discrepancies {len(rep['report']['discrepancies'])}")
print(f"  baseline (list+parse)  {bs:7.2f} s   peak RSS {bm / 1024:6.0f} MB   reads {base['reads']:,}")
print(f"  ratio                  {rs / max(bs, 1e-3):.2f}x the baseline's time (target: <= 30 s)")
PY
