#!/usr/bin/env python3
"""The wasm + JS the browser downloads, raw and gzip -9, and the size guard `make test` runs.

The bundle is split (`cargo leptos build --split`): every page loads the main module
(`switchboard.js`, `switchboard.wasm` and the split loader `__wasm_split*.js`), and each page's
own code comes in chunks that `pkg/__wasm_split_manifest.json` lists per page. So this measures
  - each page: the main module plus its chunks (what a browser downloads to open that page),
  - the heaviest page, which the target (250 KB gzip) and the budget apply to,
  - everything in pkg/ (what a person who opens every page downloads once).

`python3 bench/size.py --check` compares the heaviest page and the total with
bench/size-budget.json and fails when either is more than `tolerance_percent` over its budget
(lower the budgets as the bundle shrinks).
"""

import gzip
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUDGET = os.path.join(ROOT, "bench", "size-budget.json")
MANIFEST = "__wasm_split_manifest.json"


def _brotli_copy(path):
    """The size of the `.br` copy `make build` wrote beside `path` (scripts/precompress.mjs), which
    the server sends to a browser that accepts Brotli; None without one, or when it is older than
    the file (the server deletes such a copy at start-up)."""
    copy = path + ".br"
    if not os.path.exists(copy) or os.path.getmtime(copy) + 2 < os.path.getmtime(path):
        return None
    return os.path.getsize(copy)


def _sizes(pkg, name, cache):
    if name not in cache:
        path = os.path.join(pkg, name)
        with open(path, "rb") as f:
            data = f.read()
        gz = len(gzip.compress(data, compresslevel=9, mtime=0))
        cache[name] = (len(data), gz, _brotli_copy(path))
    return cache[name]


def _total(pkg, names, cache):
    """Raw, gzip -9 and as served with Brotli (None when a file has no current copy)."""
    raw = gz = 0
    br = []
    for name in names:
        r, g, b = _sizes(pkg, name, cache)
        raw += r
        gz += g
        br.append(b)
    return {"raw": raw, "gzip": gz, "brotli": None if None in br else sum(br)}


def brotli_text(sizes, unit=1, digits=0, unit_name="bytes"):
    """`sizes["brotli"]` for printing, or why there is none."""
    if sizes["brotli"] is None:
        return "no Brotli copies (make build writes them)"
    return f"{sizes['brotli'] / unit:,.{digits}f} {unit_name}"


def page_name(key):
    """`__canvas_route_view_4544…` -> `canvas`."""
    return re.sub(r"_route_view_\d+$", "", key.lstrip("_"))


def measure(site):
    pkg = os.path.join(site, "pkg")
    files = sorted(f for f in os.listdir(pkg) if f.endswith((".wasm", ".js")))
    if not any(f.endswith(".wasm") for f in files):
        raise SystemExit(f"no .wasm in {pkg}: build first (make build)")
    cache = {}
    main = [f for f in files if f.startswith("switchboard.") or f.startswith("__wasm_split")]
    pages = {}
    manifest = os.path.join(pkg, MANIFEST)
    if os.path.exists(manifest):
        with open(manifest) as f:
            for key, stems in json.load(f).items():
                names = main + [f"{stem}.wasm" for stem in stems]
                pages[page_name(key)] = _total(pkg, names, cache)
    result = {
        "all": _total(pkg, files, cache),
        "main": _total(pkg, main, cache),
        "pages": pages,
        "files": len(files),
    }
    heaviest = max(pages, key=lambda p: pages[p]["gzip"]) if pages else None
    result["heaviest"] = heaviest
    result["page"] = pages[heaviest] if heaviest else result["all"]
    return result


def check():
    with open(BUDGET) as f:
        budget = json.load(f)
    tolerance = budget["tolerance_percent"] / 100
    got = measure(os.path.join(ROOT, "target", "site"))
    failed = []
    for label, measured, allowed in [
        (f"heaviest page ({got['heaviest']})", got["page"]["gzip"], budget["page_gzip_bytes"]),
        ("everything in pkg/", got["all"]["gzip"], budget["total_gzip_bytes"]),
    ]:
        limit = allowed * (1 + tolerance)
        print(
            f"{label}: {measured:,} bytes gzip; budget {allowed:,} + {budget['tolerance_percent']} % = {limit:,.0f}"
        )
        if measured > limit:
            failed.append(f"{label} grew past its budget by {measured - allowed:,} bytes")
        elif measured < allowed * (1 - tolerance):
            print(f"  more than {budget['tolerance_percent']} % under its budget: lower it in bench/size-budget.json to keep the gain")
    print(f"main module (every page): {got['main']['gzip']:,} bytes gzip; target per page {budget['target_gzip_bytes']:,}")
    for page, sizes in sorted(got["pages"].items()):
        print(f"  {page}: {sizes['gzip']:,} bytes gzip ({sizes['raw']:,} raw, as served with Brotli: {brotli_text(sizes)})")
    if failed:
        print("FAILED: " + "; ".join(failed) + ". Find what grew (twiggy, or a build before the change); "
              "raise bench/size-budget.json only with a reason.")
        print("test result: FAILED. 0 passed; 1 failed")
        return 1
    print("test result: ok. 1 passed; 0 failed")
    return 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--check"]:
        sys.exit(check())
    print(json.dumps(measure(os.path.join(ROOT, "target", "site")), indent=2))
