"""Runs scim2-tester (a third-party SCIM 2.0 compliance suite) against a
running mamori: every check of discovery, Users and Groups (create, read,
query with attributes, replace, delete, PATCH add/replace/remove of every
attribute the server publishes).

Usage: check.py BASE_URL TOKEN
Prints one line per check and exits 1 if any check ended in ERROR or was
SKIPPED, 2 if the suite ran no check at all.
"""

import sys

import httpx2
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server


def main() -> int:
    base, token = sys.argv[1], sys.argv[2]
    http = httpx2.Client(base_url=base, headers={"Authorization": f"Bearer {token}"})
    results = check_server(SyncSCIMClient(http))
    errors = 0
    for r in results:
        where = f"[{r.resource_type}] " if getattr(r, "resource_type", None) else ""
        print(f"{r.status.name:8} {where}{r.title}: {r.reason or ''}")
        if r.status == Status.ERROR:
            errors += 1
    counts = {}
    for r in results:
        counts[r.status.name] = counts.get(r.status.name, 0) + 1
    print("summary", " ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    if not results:
        return 2
    # A check the suite skipped (a feature declared unsupported) counts as
    # a failure too: every check it has must run here.
    skipped = counts.get("SKIPPED", 0)
    return 1 if errors or skipped else 0


if __name__ == "__main__":
    sys.exit(main())
