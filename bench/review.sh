#!/usr/bin/env bash
# Opening an access review campaign at the issue's scale, against a baseline, in one run.
#
#   bench/review.sh [PEOPLE] [TENANTS] [READS_PER_DAY] [DAYS]
#                   defaults: 2000 people, 5 tenants, 47 reads a day, 90 days
#
# Setup (not timed as the result): the reconciliation bench's vault — PEOPLE
# operators and the DAYS simulated days of a secure area up to today, whose
# reads are appended through the real audit log, ~6.0M at the defaults — then TENANTS-1 more tenants with every
# operator assigned to a segment of each through the vault, and a supervisor as
# the fallback reviewer: PEOPLE x TENANTS segment entitlements (10,000).
#
# Timed: `mamori review tick` run for the first time (every closed day of the
# window summarised from the audit log: paid once, then a day at a time), then
# `mamori review open` over the whole vault (every entitlement an item, its
# reviewer chosen, its evidence from the window's daily summaries and today's
# events, all kept in one transaction), wall time and peak RSS, against the
# baseline of listing and parsing the same 90 days' reads from the same audit
# database (what any evidence of use costs before it is joined to anything).
# Results: bench/out/review/results.json and a table on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
P=${1:-2000}
T=${2:-5}
R=${3:-47}
DAYS=${4:-90}
OUT=bench/out/review
rm -rf "$OUT" && mkdir -p "$OUT"
cargo build --release -q -p mamori-cli -p mamori-bench
M=target/release/mamori
B=target/release/mamori-bench
export MAMORI_LOG=warn
D="$OUT/data"
F="$OUT/files"
$M --data-dir "$D" init >/dev/null

echo "== setup: $P people, $DAYS days of $R reads a day, $T tenants each"
START=$(date -d "-$DAYS days" +%Y-%m-%d)
$B reconcile-setup --data-dir "$D" --out "$F" --people "$P" --reads-per-day "$R" --days "$DAYS" \
  --start "$START" > "$OUT/setup.json"
$B review-setup --data-dir "$D" --tenants "$T" > "$OUT/review-setup.json"

NOW=$(date +%s)
DEADLINE=$(date -d "+14 days" +%Y-%m-%d)
# The schedule's daily pass summarises each closed day's use once; run here
# for the first time, it summarises the whole window (the cost a vault pays
# once, then one day at a time).
echo "== mamori review tick (first: every day of the window summarised)"
/usr/bin/time -f "%e %M" -o "$OUT/tick.time" $M --data-dir "$D" --json review tick > /dev/null
echo "== mamori review open"
/usr/bin/time -f "%e %M" -o "$OUT/open.time" env MAMORI_TOKEN="$(cat "$F/token")" \
  $M --data-dir "$D" --json review open --title "bench" --deadline "$DEADLINE" \
  --fallback sv-bench > "$OUT/campaign.json"

echo "== baseline: list and parse the last 90 days' reads"
/usr/bin/time -f "%e %M" -o "$OUT/baseline.time" \
  $B reconcile-baseline --audit-db "$D/audit.db" --from $((NOW - 90 * 86400)) --to "$NOW" > "$OUT/baseline.json"

python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
setup = json.load(open(f"{out}/setup.json"))
rsetup = json.load(open(f"{out}/review-setup.json"))
camp = json.load(open(f"{out}/campaign.json"))
base = json.load(open(f"{out}/baseline.json"))
os_, om = map(float, open(f"{out}/open.time").read().split())
ts, tm = map(float, open(f"{out}/tick.time").read().split())
bs, bm = map(float, open(f"{out}/baseline.time").read().split())
res = {"setup": setup, "review_setup": rsetup, "items": camp["items"],
       "first_tick_seconds": ts, "first_tick_peak_rss_mb": tm / 1024,
       "open_seconds": os_, "open_peak_rss_mb": om / 1024,
       "baseline_seconds": bs, "baseline_peak_rss_mb": bm / 1024, "baseline_reads": base["reads"],
       "ratio_time": os_ / max(bs, 1e-3)}
json.dump(res, open(f"{out}/results.json", "w"), indent=2)
print(f"\n{camp['items']:,} items ({rsetup['operators']:,} operators x {rsetup['tenants']} tenants); "
      f"{base['reads']:,} reads in the 90-day window")
print(f"  first review tick      {ts:7.2f} s   peak RSS {tm / 1024:6.0f} MB   (summaries of every day, once)")
print(f"  mamori review open     {os_:7.2f} s   peak RSS {om / 1024:6.0f} MB")
print(f"  baseline (list+parse)  {bs:7.2f} s   peak RSS {bm / 1024:6.0f} MB")
print(f"  ratio                  {os_ / max(bs, 1e-3):.2f}x the baseline's time (target: <= 10 s)")
PY
