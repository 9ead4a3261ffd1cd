#!/usr/bin/env bash
# What provisioning costs: SCIM requests as an identity provider sends them
# during a first sync and while people come and go, against the baseline of
# an authenticated no-op on the same endpoint, in one run.
#
#   bench/scim.sh [PEOPLE]      default 2000
#
# Setup: a vault (SQLite, release build) whose [identity.scim] maps one
# group to the supervisor role, a provisioning token, the server.
#
# Timed, one request at a time over one keep-alive connection (as Entra's
# and Okta's provisioning send them), each kind PEOPLE times:
#   baseline   GET /ServiceProviderConfig (the token checked, a document sent)
#   lookup     GET /Users?filter=userName eq "…"   (Entra asks before each create)
#   create     POST /Users                         (a person made, recorded)
#   member     PATCH /Groups/{id} add one member   (the person's role changed, recorded;
#              the group grows to PEOPLE members)
#   deactivate PATCH /Users/{id} active=False      (offboarded: the deprovision transaction)
# Results: bench/out/scim/results.json (per kind: requests/s, p50, p99 ms,
# and the ratio of its mean to the baseline's) and a table on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-2000}
OUT=$PWD/bench/out/scim
rm -rf "$OUT" && mkdir -p "$OUT"
cargo build --release -q -p mamori-cli --features kms
M=$PWD/target/release/mamori
export MAMORI_LOG=warn
D="$OUT/data"
$M --data-dir "$D" init >/dev/null
python3 - "$D/mamori.toml" <<'PY'
import sys, re
p = sys.argv[1]
s = open(p).read()
s = re.sub(r"\[identity\.scim\][^\[]*", "", s)
s += '\n[identity.scim]\ndefault_role = "operator"\n\n[[identity.scim.groups]]\ndisplay_name = "mamori-supervisors"\nrole = "supervisor"\n'
open(p, "w").write(s)
PY
TOKEN=$($M --data-dir "$D" --json scim issue-token bench | python3 -c "import json,sys; print(json.load(sys.stdin)['token'])")
PORT=18473
$M --data-dir "$D" serve --listen 127.0.0.1:$PORT >"$OUT/server.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null' EXIT
for _ in $(seq 100); do curl -sf http://127.0.0.1:$PORT/healthz >/dev/null && break; sleep 0.1; done

python3 - "$PORT" "$TOKEN" "$N" "$OUT" <<'PY'
import http.client, json, sys, time, statistics
port, token, n, out = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
c = http.client.HTTPConnection("127.0.0.1", port)
H = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}

def call(method, path, body=None, expect=200):
    c.request(method, "/scim/v2" + path, body=None if body is None else json.dumps(body), headers=H)
    r = c.getresponse()
    data = r.read()
    assert r.status == expect, (method, path, r.status, data[:200])
    return json.loads(data) if data else None

def timed(name, fn):
    lat = []
    t0 = time.perf_counter()
    for i in range(n):
        s = time.perf_counter()
        fn(i)
        lat.append((time.perf_counter() - s) * 1000)
    total = time.perf_counter() - t0
    lat.sort()
    return {"requests": n, "per_s": n / total, "mean_ms": statistics.mean(lat),
            "p50_ms": lat[len(lat) // 2], "p99_ms": lat[int(len(lat) * 0.99) - 1]}

ids = []
res = {}
res["baseline"] = timed("baseline", lambda i: call("GET", "/ServiceProviderConfig"))
def create(i):
    u = call("POST", "/Users", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": f"staff{i:05d}@example.jp", "externalId": f"oid-{i}", "active": True,
        "name": {"givenName": "g", "familyName": "f"}}, 201)
    ids.append(u["id"])
res["create"] = timed("create", create)
res["lookup"] = timed("lookup", lambda i: call("GET", f"/Users?filter=userName%20eq%20%22staff{i:05d}%40example.jp%22"))
g = call("POST", "/Groups", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "mamori-supervisors"}, 201)
res["member"] = timed("member", lambda i: call("PATCH", f"/Groups/{g['id']}", {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{"op": "Add", "path": "members", "value": [{"value": ids[i]}]}]}, 204))
res["deactivate"] = timed("deactivate", lambda i: call("PATCH", f"/Users/{ids[i]}", {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{"op": "Replace", "path": "active", "value": "False"}]}))
base = res["baseline"]["mean_ms"]
for k, v in res.items():
    v["ratio_to_baseline"] = v["mean_ms"] / base
json.dump({"people": n, "results": res}, open(f"{out}/results.json", "w"), indent=2)
print(f"\n{n} people, one request at a time on one connection (SQLite, release build)")
print(f"  {'':11} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'x baseline':>11}")
for k in ("baseline", "lookup", "create", "member", "deactivate"):
    v = res[k]
    print(f"  {k:11} {v['per_s']:8.0f} {v['p50_ms']:8.2f} {v['p99_ms']:8.2f} {v['ratio_to_baseline']:11.1f}")
PY
$M --data-dir "$D" audit verify >/dev/null && echo "  audit log verifies"
