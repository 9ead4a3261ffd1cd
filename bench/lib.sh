# Shared by the bench scripts (sourced, not run).

# timed OUTFILE CMD...: runs CMD three times with its stdout in OUTFILE and
# prints the best wall time in seconds.
timed() {
  local out=$1 best=
  shift
  for _ in 1 2 3; do
    local t0 t1
    t0=$(date +%s.%N)
    "$@" > "$out"
    t1=$(date +%s.%N)
    best=$(python3 -c "import sys; a=float(sys.argv[1]); b=sys.argv[2]; print(a if not b else min(a, float(b)))" "$(echo "$t1 - $t0" | bc)" "$best")
  done
  echo "$best"
}

# month_vault OUT PEOPLE READS_PER_DAY: builds the release binaries and the
# reconciliation bench's vault in OUT/data — PEOPLE operators and a simulated
# month (November 2026) of a secure area, every read appended through the real
# audit log — with the outside files in OUT/files and the setup's figures in
# OUT/setup.json. Sets M, B, D, F, FROM and TO for the caller.
month_vault() {
  local out=$1 people=$2 reads=$3
  rm -rf "$out" && mkdir -p "$out"
  cargo build --release -q -p mamori-cli -p mamori-bench
  M=target/release/mamori
  B=target/release/mamori-bench
  export MAMORI_LOG=warn
  D="$out/data"
  F="$out/files"
  $M --data-dir "$D" init >/dev/null
  echo "== setup: $people people, $reads reads a day, a 30-day month"
  $B reconcile-setup --data-dir "$D" --out "$F" --people "$people" --reads-per-day "$reads" > "$out/setup.json"
  FROM=$(python3 -c "import json; print(json.load(open('$out/setup.json'))['from'])")
  TO=$(python3 -c "import json; print(json.load(open('$out/setup.json'))['to'])")
}
