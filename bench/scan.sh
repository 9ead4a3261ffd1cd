#!/usr/bin/env bash
# Scanning files for personal data: `mamori scan --no-match` (one thread,
# find and count only) against ripgrep searching the same files with an
# equivalent pattern set (phones in their usual forms, e-mail, postal codes,
# dates, kana names), in one run on one machine. The target (issue 24):
# at least 0.5× ripgrep's throughput on text and CSV.
#
#   bench/scan.sh [RECORDS]     default 500000 generated customers (~80 MB of CSV)
#
# ripgrep comes from crates.io, pinned, built into target/bench-tools when it
# is not on the PATH. Results: bench/out-scan/results.json and a line on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-500000}
OUT=bench/out-scan
RG_VERSION=14.1.1
rm -rf "$OUT" && mkdir -p "$OUT/corpus"
cargo build --release -q -p mamori-cli
M=target/release/mamori
RG=$(command -v rg || true)
if [ -z "$RG" ]; then
  RG=target/bench-tools/bin/rg
  [ -x "$RG" ] || cargo install -q ripgrep --version "$RG_VERSION" --locked --root target/bench-tools
fi

echo "== a corpus: $N customers as CSV, and the same rows as lines of text"
$M gen --records "$N" --seed 1 --out "$OUT/corpus/customers.csv" >/dev/null
sed 's/,/ /g' "$OUT/corpus/customers.csv" > "$OUT/corpus/notes.txt"
BYTES=$(cat "$OUT"/corpus/* | wc -c)

# The same kinds as the scanner's detectors, as ripgrep patterns.
PATTERNS=(
  -e '[+(]?[0-9０-９][0-9０-９()\s.\-‐‑‒–—―−ー－ｰ]{5,24}[0-9０-９]'
  -e '[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)+'
  -e '(明治|大正|昭和|平成|令和|[MTSHR])\s?([0-9]{1,2}|元)[年./\-][0-9]{1,2}[月./\-][0-9]{1,2}日?'
  -e '(19|20)[0-9]{2}[年/.\-][0-9]{1,2}[月/.\-][0-9]{1,2}日?'
  -e '[ァ-ヺｦ-ﾟ][ァ-ヺーｦ-ﾟ]{0,9}[ 　・][ァ-ヺｦ-ﾟ][ァ-ヺーｦ-ﾟ]{0,9}'
)
source bench/lib.sh
echo "== ripgrep $($RG --version | head -1 | cut -d' ' -f2), one thread, every match counted"
RG_S=$(timed "$OUT/rg.out" "$RG" -j1 --no-config --count-matches "${PATTERNS[@]}" "$OUT/corpus")
echo "== mamori scan --no-match (one thread)"
SCAN_S=$(timed "$OUT/scan.out" "$M" --json scan --no-match "$OUT/corpus")
python3 - "$OUT" "$BYTES" "$RG_S" "$SCAN_S" <<'PY'
import json, sys
out, size, rg, scan = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
r = {"bytes": size, "ripgrep_s": rg, "scan_s": scan,
     "ripgrep_mb_s": size / rg / 1e6, "scan_mb_s": size / scan / 1e6, "ratio": rg / scan}
json.dump(r, open(f"{out}/results.json", "w"), indent=2)
print(f"  {size/1e6:,.0f} MB: ripgrep {r['ripgrep_mb_s']:,.0f} MB/s, mamori scan {r['scan_mb_s']:,.0f} MB/s "
      f"= {r['ratio']:.2f}x ripgrep (target >= 0.5x)")
PY
