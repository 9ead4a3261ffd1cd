# Shared by the benchmark scripts (sourced).

token_of() { sed -n 's/.*"token": "\([^"]*\)".*/\1/p'; }

# bench_operator MAMORI DATA_DIR: prints the token of an operator with standing
# access to the whole tenant `bench` (approved by a security officer), trained
# and with a compliance confirmation — a person the gate lets read.
bench_operator() {
  local m=$1 d=$2 token officer
  token=$($m --data-dir "$d" --json user create bench-op --role operator | token_of)
  officer=$($m --data-dir "$d" --json user create bench-so --role security_officer | token_of)
  $m --data-dir "$d" user assign bench-op --tenant bench >/dev/null
  $m --data-dir "$d" --token "$officer" access full-access approve bench-op --tenant bench >/dev/null
  $m --data-dir "$d" --token "$officer" people training bench-op --course privacy-basics --score 90 >/dev/null
  $m --data-dir "$d" --token "$officer" people compliance bench-op >/dev/null
  echo "$token"
}
