"""Smoke test of a deployed environment: `python deploy/ci/smoke.py https://HOST`.

Standard library only, so it runs on a bare runner: liveness and readiness, the public
catalogue and auctions, and a login when SMOKE_EMAIL/SMOKE_PASSWORD are given. Exits 1 with
the first failure.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.request
from typing import Any


def call(base: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    method = "POST" if data else "GET"
    request = urllib.request.Request(base.rstrip("/") + path, data=data, method=method)
    request.add_header("Accept", "application/json")
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, None


def main(base: str) -> int:
    checks = [("/health", 200), ("/ready", 200), ("/auctions/active", 200), ("/vehicles", 200)]
    for path, expected in checks:
        status, _ = call(base, path)
        if status != expected:
            print(f"smoke: GET {path} answered {status}, expected {expected}", file=sys.stderr)
            return 1
        print(f"smoke: GET {path} {status}")
    email, password = os.environ.get("SMOKE_EMAIL"), os.environ.get("SMOKE_PASSWORD")
    if email and password:
        status, body = call(base, "/auth/login", {"email": email, "password": password})
        if status != 200 or not body or "accessToken" not in body:
            print(f"smoke: login answered {status}", file=sys.stderr)
            return 1
        print("smoke: login 200")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
