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
