#!/usr/bin/env bash
# Runs every fuzz target (or those named) for SECONDS each, one after the
# other, on the nightly toolchain, and reports executions and findings.
#
#   fuzz/run.sh SECONDS [TARGET...]      e.g. fuzz/run.sh 600
#
# Seeds are in fuzz/corpus/<target> (kept in the repository); what a run
# adds to the corpus goes to fuzz/out/corpus/<target> (not kept), crashes
# to fuzz/artifacts/<target>. A crash becomes a regression test in the
# crate that owns the parser. Needs cargo-fuzz (installed here if missing,
# pinned) and the nightly toolchain.
set -euo pipefail
cd "$(dirname "$0")"
SECS=${1:?usage: fuzz/run.sh SECONDS [TARGET...]}
shift
CARGO_FUZZ_VERSION=0.13.2
if ! cargo fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
  cargo install --locked cargo-fuzz --version "$CARGO_FUZZ_VERSION"
fi
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
  mapfile -t TARGETS < <(cargo +nightly fuzz list)
fi
mkdir -p out
cargo +nightly fuzz build -O
printf '%-16s %12s %10s %8s %s\n' target executions exec/s corpus findings
status=0
for t in "${TARGETS[@]}"; do
  mkdir -p "out/corpus/$t" "artifacts/$t"
  log="out/$t.log"
  # The seeds are read, new inputs written to out/ only: the kept corpus
  # stays the seeds a person chose.
  if cargo +nightly fuzz run -O "$t" "out/corpus/$t" "corpus/$t" -- \
      -max_total_time="$SECS" -print_final_stats=1 -rss_limit_mb=4096 -max_len=262144 \
      >"$log" 2>&1; then
    found=none
  else
    found=$(ls "artifacts/$t" | head -3 | tr '\n' ' ')
    status=1
  fi
  runs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log" | tail -1)
  speed=$(awk '/stat::average_exec_per_sec/ {print $2}' "$log" | tail -1)
  size=$(ls "out/corpus/$t" | wc -l)
  printf '%-16s %12s %10s %8s %s\n' "$t" "${runs:-?}" "${speed:-?}" "$size" "$found"
done
exit $status
