#!/usr/bin/env bash
# Detection's speed and memory, in one run on one machine.
#
#   bench/detect.sh [OPERATORS] [DAYS] [RUNS]     defaults: 2000 operators, 30 days, 3 runs
#
# Simulated contact-centre traffic (operators taking calls through their shifts)
# as stored audit events. Per run (seed 1..RUNS):
#   read        parse each event's canonical JSON and reduce it (the baseline:
#               what detection cannot avoid);
#   rules       the default rule set alone over the reduced events (one core);
#   read+rules  both, event by event, as the server does;
# memory the engine holds per tracked person after the 30 days, the snapshot
# size per person, and the alerts raised on this ordinary traffic by severity.
# Results: bench/out/detect/results.jsonl and a table on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
OPS=${1:-2000}
DAYS=${2:-30}
RUNS=${3:-3}
OUT=bench/out/detect
rm -rf "$OUT" && mkdir -p "$OUT"
cargo build --release -q -p mamori-bench
for seed in $(seq 1 "$RUNS"); do
  target/release/mamori-bench detect --operators "$OPS" --days "$DAYS" --seed "$seed" >> "$OUT/results.jsonl"
done
python3 - "$OUT/results.jsonl" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
med = lambda k: statistics.median(r[k] for r in runs)
print(f"{runs[0]['operators']} operators, {runs[0]['days']} days, ~{med('events'):,.0f} events, {len(runs)} runs (medians)")
print(f"  read (baseline)   {med('read_per_s'):>12,.0f} events/s")
print(f"  rules alone       {med('rules_per_s'):>12,.0f} events/s   (target >= 200,000 on one core)")
print(f"  read+rules        {med('read_and_rules_per_s'):>12,.0f} events/s   ratio to read {med('ratio_read_and_rules_to_read'):.2f}")
print(f"  memory            {med('bytes_per_user'):>12,.0f} bytes per tracked person (snapshot {med('snapshot_bytes_per_user'):,.0f})")
sev = {}
for r in runs:
    for k, v in r["alerts_by_severity"].items():
        sev.setdefault(k, []).append(v)
print("  alerts on ordinary traffic: " + ", ".join(f"{k} {statistics.median(v):,.0f}" for k, v in sorted(sev.items())))
PY
