#!/usr/bin/env bash
# The PC agent's incremental scan: `mamori agent run --once` over a folder
# of generated files (CSV lists with customers of the vault among nobodies,
# and plain text notes), matched through a vault server on this machine. The
# baseline is the same agent's full scan of the same folder (every file read
# and matched), in the same run; the figure is the incremental contact's time
# as a share of it, and after one file of the folder changes. What an agent
# costs a lent PC each day is the incremental figure.
#
#   bench/agent.sh [FILES]     default 400 files (half lists of 500 rows)
#
# Results: bench/out-agent/results.json.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
F=${1:-400}
OUT=bench/out-agent
rm -rf "$OUT" && mkdir -p "$OUT/folder"
cargo build --release -q -p mamori-cli
M=$PWD/target/release/mamori
D="$OUT/data"
PORT=18941

$M --data-dir "$D" init >/dev/null
$M --data-dir "$D" tenant create acme --name acme >/dev/null
$M gen --records 50000 --seed 1 --out "$OUT/acme.csv" >/dev/null
$M --data-dir "$D" import --tenant acme "$OUT/acme.csv" >/dev/null
$M gen --records 50000 --seed 9 --out "$OUT/nobody.csv" >/dev/null
PC=$($M --data-dir "$D" --json user create pc-bench --role scanner | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
python3 - "$OUT" "$F" <<'PY'
import sys
out, files = sys.argv[1], int(sys.argv[2])
acme = open(f"{out}/acme.csv", encoding="utf-8").read().splitlines()
nobody = open(f"{out}/nobody.csv", encoding="utf-8").read().splitlines()
header = acme[0]
for i in range(files):
    if i % 2 == 0:
        # A list: 250 customers and 250 nobodies.
        a = acme[1 + (i * 125) % 40000: 1 + (i * 125) % 40000 + 250]
        n = nobody[1 + (i * 125) % 40000: 1 + (i * 125) % 40000 + 250]
        open(f"{out}/folder/list-{i:04}.csv", "w", encoding="utf-8").write("\n".join([header] + a + n) + "\n")
    else:
        open(f"{out}/folder/note-{i:04}.txt", "w", encoding="utf-8").write("打ち合わせメモ。次回は来週火曜日。\n" * 400)
PY
BYTES=$(du -sb "$OUT/folder" | cut -f1)
# The work measured is the agent's and the matching's, not the waits: the
# scanner's daily budget and the per-minute request limit (one match call per
# file with findings; 120 a minute by default, which the agent waits out) are
# lifted for the run.
MAMORI_SCAN_CUSTOMERS_PER_DAY_SCANNER=10000000 MAMORI_LIMITS_REQUESTS_PER_MINUTE=1000000 \
  $M --data-dir "$D" serve --listen 127.0.0.1:$PORT 2>"$OUT/server.log" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done

agent() { MAMORI_TOKEN=$PC $M --json agent run --once --server "http://127.0.0.1:$PORT" --state "$1" --full-every 365d "$OUT/folder"; }
full() { rm -rf "$OUT/state-full"; agent "$OUT/state-full"; }
echo "== $F files, $((BYTES / 1024 / 1024)) MB"
T_FULL=$(timed "$OUT/full.json" full)
agent "$OUT/state-inc" > /dev/null
T_INC=$(timed "$OUT/inc.json" agent "$OUT/state-inc")
touch_one() { echo "追記" >> "$OUT/folder/list-0000.csv"; agent "$OUT/state-inc"; }
T_ONE=$(timed "$OUT/one.json" touch_one)
python3 - "$F" "$BYTES" "$T_FULL" "$T_INC" "$T_ONE" "$OUT" <<'PY' | tee "$OUT/results.json"
import json, sys
f, b, full, inc, one, out = int(sys.argv[1]), int(sys.argv[2]), *map(float, sys.argv[3:6]), sys.argv[6]
def summary(path):
    docs, text, dec, i = [], open(path).read(), json.JSONDecoder(), 0
    while i < len(text):
        if text[i].isspace():
            i += 1; continue
        d, i = dec.raw_decode(text, i); docs.append(d)
    return docs[-1]
r = {"files": f, "bytes": b, "full_s": full, "incremental_s": inc, "one_changed_s": one,
     "incremental_over_full": inc / full, "one_changed_over_full": one / full,
     "full_read": summary(f"{out}/full.json")["files_read"],
     "incremental_read": summary(f"{out}/inc.json")["files_read"],
     "one_changed_read": summary(f"{out}/one.json")["files_read"]}
print(json.dumps(r, indent=1))
PY
