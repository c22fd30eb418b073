#!/usr/bin/env python3
"""The wasm + JS the browser downloads, raw and gzip -9, and the size guard `make test` runs.

`python3 bench/size.py --check` compares the gzip total with bench/size-budget.json and fails when
it is more than 5 % over the budget (lower the budget as the bundle shrinks; the target is 250 KB).
"""

import gzip
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUDGET = os.path.join(ROOT, "bench", "size-budget.json")


def measure(site):
    pkg = os.path.join(site, "pkg")
    files = sorted(f for f in os.listdir(pkg) if f.endswith((".wasm", ".js")))
    if not any(f.endswith(".wasm") for f in files):
        raise SystemExit(f"no .wasm in {pkg}: build first (make build)")
    raw = gz = 0
    for name in files:
        with open(os.path.join(pkg, name), "rb") as f:
            data = f.read()
        raw += len(data)
        gz += len(gzip.compress(data, compresslevel=9, mtime=0))
    return {"raw": raw, "gzip": gz, "files": ", ".join(files)}


def check():
    with open(BUDGET) as f:
        budget = json.load(f)
    limit = budget["gzip_bytes"] * (1 + budget["tolerance_percent"] / 100)
    got = measure(os.path.join(ROOT, "target", "site"))
    print(
        f"wasm + JS ({got['files']}): {got['raw']:,} bytes raw, {got['gzip']:,} bytes gzip; "
        f"budget {budget['gzip_bytes']:,} + {budget['tolerance_percent']} % = {limit:,.0f}; target {budget['target_gzip_bytes']:,}"
    )
    if got["gzip"] > limit:
        print(
            f"FAILED: the bundle grew past its budget by {got['gzip'] - budget['gzip_bytes']:,} bytes. "
            "Find what grew (twiggy, or a build before the change); raise bench/size-budget.json only with a reason."
        )
        print("test result: FAILED. 0 passed; 1 failed")
        return 1
    if got["gzip"] < budget["gzip_bytes"] * 0.95:
        print("The bundle is more than 5 % under its budget: lower gzip_bytes in bench/size-budget.json to keep the gain.")
    print("test result: ok. 1 passed; 0 failed")
    return 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--check"]:
        sys.exit(check())
    print(json.dumps(measure(os.path.join(ROOT, "target", "site")), indent=2))
