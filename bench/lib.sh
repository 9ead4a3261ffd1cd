# Shared by the benchmark scripts (sourced).

token_of() { sed -n 's/.*"token": "\([^"]*\)".*/\1/p'; }

# bench_operators MAMORI DATA_DIR [N SEGMENT]: prints the tokens (comma-separated)
# of operators of the tenant `bench`, trained and with a compliance confirmation —
# people the gate lets read. Without N: one operator with standing access to the
# whole tenant (approved by a security officer; a tenant allows three such people).
# With N and SEGMENT: N operators (bench-op-1 … bench-op-N), each assigned to that
# segment only, as a call centre's agents would be.
bench_operators() {
  local m=$1 d=$2 n=${3:-} segment=${4:-} officer login token tokens=()
  officer=$($m --data-dir "$d" --json user create bench-so --role security_officer | token_of)
  for i in $(seq "${n:-1}"); do
    login=bench-op${n:+-$i}
    token=$($m --data-dir "$d" --json user create "$login" --role operator | token_of)
    if [ -n "$n" ]; then
      $m --data-dir "$d" user assign "$login" --tenant bench --segment "$segment" >/dev/null
    else
      $m --data-dir "$d" user assign "$login" --tenant bench >/dev/null
      $m --data-dir "$d" --token "$officer" access full-access approve "$login" --tenant bench >/dev/null
    fi
    $m --data-dir "$d" --token "$officer" people training "$login" --course privacy-basics --score 90 >/dev/null
    $m --data-dir "$d" --token "$officer" people compliance "$login" >/dev/null
    tokens+=("$token")
  done
  (IFS=,; echo "${tokens[*]}")
}
