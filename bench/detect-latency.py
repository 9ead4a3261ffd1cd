#!/usr/bin/env python3
"""Event-to-notification latency of detection under the lookup benchmark's load.

    bench/detect-latency.py            (after: cargo build --release -p mamori-cli -p mamori-bench)
    DETECT=false bench/detect-latency.py   the same load with detection off (its cost on lookups)

A vault of 50,000 synthetic customers and 12 decoys; `mamori serve` with a webhook channel to a
receiver in this script; `mamori-bench load` (one operator, 32 connections, 30 s, limits lifted as
in bench/run.sh); meanwhile 12 other operators each read one decoy, 1.5 s apart. Latency = the
webhook's arrival minus the moment the read was sent. Prints one JSON line.
"""
import json, os, subprocess, sys, threading, time, http.server, urllib.request
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
M = f"{ROOT}/target/release/mamori"; B = f"{ROOT}/target/release/mamori-bench"
OUT = f"{ROOT}/bench/out/detect-latency"
D = f"{OUT}/data"; subprocess.run(["rm", "-rf", OUT]); os.makedirs(OUT)
env = dict(os.environ, MAMORI_LOG="warn")
def mm(*a, token=None):
    e = dict(env); 
    if token: e["MAMORI_TOKEN"] = token
    r = subprocess.run([M, "--data-dir", D, "--json", *a], capture_output=True, text=True, env=e)
    if r.returncode: sys.exit(f"{a}: {r.stderr}")
    return json.loads(r.stdout) if r.stdout.strip() else None
N = 50000
mm("init"); mm("tenant", "create", "bench", "--name", "Bench")
subprocess.run([M, "gen", "--records", str(N), "--seed", "1", "--out", f"{OUT}/p.csv"], check=True, env=env, capture_output=True)
mm("import", "--tenant", "bench", f"{OUT}/p.csv")
so = mm("user", "create", "so", "--role", "security_officer")["token"]
def operator(login):
    t = mm("user", "create", login, "--role", "operator")["token"]
    mm("user", "assign", login, "--tenant", "bench")
    mm("access", "full-access", "approve", login, "--tenant", "bench", token=so)
    mm("people", "training", login, "--course", "privacy-basics", "--score", "90", token=so)
    mm("people", "compliance", login, token=so)
    return t
mm("tenant", "set-full-access-cap", "bench", "--cap", "20", token=so)
load_tok = operator("bench-op")
probes = [(f"probe{i}", operator(f"probe{i}")) for i in range(12)]
mm("honey", "plant", "--tenant", "bench", "--n", "12")
honey = [h["record"] for h in mm("honey", "list")]
cfg = open(f"{D}/mamori.toml").read().replace("channels = []", 'channels = [{ name = "soc", target = "http://127.0.0.1:18190/hook", audience = "all", min_severity = "low" }]', 1)
open(f"{D}/mamori.toml", "w").write(cfg)
arrivals = {}
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        b = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        a = b["alert"]
        if a["rule"] == "honey": arrivals.setdefault(a["login"], time.time())
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a): pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 18190), H)
threading.Thread(target=srv.serve_forever, daemon=True).start()
senv = dict(env, MAMORI_DETECT_ENABLED=os.environ.get("DETECT", "true"), MAMORI_LIMITS_REQUESTS_PER_MINUTE="1000000000", MAMORI_LIMITS_DAILY_RECORDS_OPERATOR="1000000000")
server = subprocess.Popen([M, "--data-dir", D, "serve", "--listen", "127.0.0.1:18191"], env=senv, stderr=open(f"{OUT}/serve.log", "w"))
time.sleep(2)
SECS = 30
load = subprocess.Popen([B, "load", "--url", "http://127.0.0.1:18191", "--target", "mamori", "--token", load_tok, "--records", str(N), "--seconds", str(SECS), "--connections", "32"], stdout=open(f"{OUT}/load.json", "w"))
time.sleep(6)
sent = {}
for (login, tok), h in zip(probes, honey):
    req = urllib.request.Request(f"http://127.0.0.1:18191/v1/tenants/bench/records/{h}?purpose=inquiry&case_id=CALL-1", headers={"Authorization": f"Bearer {tok}"})
    sent[login] = time.time()
    urllib.request.urlopen(req).read()
    time.sleep(1.5)
load.wait(); time.sleep(3)
server.terminate(); server.wait(); srv.shutdown()
lat = sorted((arrivals[l] - sent[l]) * 1000 for l in sent if l in arrivals)
print(json.dumps({"probes": len(sent), "notified": len(lat), "latency_ms": [round(x, 1) for x in lat],
  "p50_ms": round(lat[len(lat)//2], 1) if lat else None, "max_ms": round(lat[-1], 1) if lat else None,
  "load": json.load(open(f"{OUT}/load.json"))}))
