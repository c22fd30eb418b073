#!/usr/bin/env python3
"""`make bench`: Switchboard (release build) against a mock upstream, on loopback only.

Writes bench/RESULTS.md (and prints it):
  1. the mock upstream's direct throughput and latency (the loopback limit), with wrk;
  2. webhook -> one External App Connector node -> upstream on SQLite and PostgreSQL:
     accepted/s and completed runs/s at saturation (wrk), and p50/p99 from trigger to completion
     at a fixed offered rate;
  3. latency each node adds over a direct call (p50/p99);
  4. server RSS idle and under load;
  5. wasm + JS bytes shipped, raw and gzip;
  6. SSR time of the connectors page with 1,000 connectors and with none.
Every process it starts listens on 127.0.0.1 and is stopped at the end; every phase is bounded.
"""

import base64
import datetime
import json
import os
import platform
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import size  # noqa: E402  (bench/size.py: the wasm + JS sizes, shared with the size guard)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# SWITCHBOARD_BENCH_BIN: another build to measure (an earlier commit, for before/after figures).
BIN = os.environ.get("SWITCHBOARD_BENCH_BIN", os.path.join(ROOT, "target", "release", "switchboard"))
UPSTREAM = os.path.join(ROOT, "target", "release", "mock-upstream")
SITE = os.path.join(ROOT, "target", "site")
PG_URL = os.environ.get("SWITCHBOARD_BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")

LOAD_SECONDS = 5  # saturation phase, per database (and the direct rate); the drain after it grows with it
PACED_SECONDS = 10  # fixed-rate phase for trigger-to-completion latency
PACED_RATE = 50  # webhook calls per second in that phase
NODE_RUNS = 100  # sequential runs of the many-node workflow
NODES = 20
CONNECTORS = 1000
WORKERS = 16
MASTER_KEY = base64.b64encode(b"benchmark-master-key-32-bytes!!!").decode()

WRK_POST = os.path.join(ROOT, "bench", "post.lua")
WRK_PACED = os.path.join(ROOT, "bench", "paced.lua")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def rss_mb(pid):
    """Resident memory in MB (10^6 bytes, as the targets are stated; /proc counts KiB)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024 / 1e6
    return 0.0


def cpu_seconds(pid):
    """User + system CPU time a process has used so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values, p):
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


# --- wrk -----------------------------------------------------------------------------------------

UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def to_ms(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    return float(m.group(1)) * UNITS[m.group(2)]


def wrk(url, seconds, connections, script=None, headers=(), threads=None):
    """Runs wrk; returns requests/s, p50/p99 latency (ms), requests and non-2xx/3xx answers."""
    threads = threads or min(2, connections)
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    if script:
        cmd += ["-s", script]
    for h in headers:
        cmd += ["-H", h]
    cmd.append(url)
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=seconds + 60).stdout
    result = {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": to_ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)),
        "p99": to_ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)),
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
        "bad": 0,
    }
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if bad:
        result["bad"] = int(bad.group(1))
    # The rate of answers that were 2xx (or 3xx): what was accepted, not just answered.
    result["ok_rps"] = result["rps"] * (result["requests"] - result["bad"]) / max(result["requests"], 1)
    errors = re.search(r"Socket errors: (.*)", out)
    if errors:
        log(f"wrk socket errors: {errors.group(1)}")
    return result


# --- processes -----------------------------------------------------------------------------------


class Upstream:
    def __init__(self):
        self.proc = subprocess.Popen([UPSTREAM, "0"], stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        self.addr = line.strip().split("listening on ")[1]
        self.base = f"http://{self.addr}"

    def arrivals(self):
        """(µs, body) of each request under /record/ since the last call."""
        with urllib.request.urlopen(f"{self.base}/__arrivals", timeout=30) as r:
            lines = r.read().decode().splitlines()
        return [(int(line.split(" ", 1)[0]), line.split(" ", 1)[1]) for line in lines if line]

    def wait(self, count):
        """Returns once `count` requests under /record/ have arrived since the last `arrivals`."""
        try:
            urllib.request.urlopen(f"{self.base}/__wait?count={count}", timeout=60).read()
        except urllib.error.HTTPError as e:
            raise SystemExit(f"the upstream: {e.read().decode().strip()} within 30 s") from e

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


class Server:
    """`switchboard serve` on a free loopback port, with its own data folder."""

    def __init__(self, database_url=None):
        self.dir = tempfile.mkdtemp(prefix="sb-bench-")
        self.port = free_port()
        self.origin = f"http://127.0.0.1:{self.port}"
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("SWITCHBOARD_") and k not in ("DATABASE_URL", "RUST_LOG")
        }
        env.update(
            {
                "SWITCHBOARD_DATA_DIR": self.dir,
                "SWITCHBOARD_ADDR": f"127.0.0.1:{self.port}",
                "SWITCHBOARD_SITE_ROOT": SITE,
                "SWITCHBOARD_ALLOW_NETWORKS": "127.0.0.1",
                "SWITCHBOARD_WORKERS": str(WORKERS),
                "SWITCHBOARD_CONNECTOR_CONCURRENCY": "64",
                "SWITCHBOARD_MASTER_KEY": MASTER_KEY,
                "RUST_LOG": os.environ.get("BENCH_RUST_LOG", "warn"),
            }
        )
        if database_url:
            env["DATABASE_URL"] = database_url
        self.log = open(os.path.join(self.dir, "server.log"), "w")
        self.proc = subprocess.Popen([BIN, "serve"], env=env, stdout=self.log, stderr=self.log)
        deadline = time.time() + 30
        while True:
            try:
                urllib.request.urlopen(f"{self.origin}/healthz", timeout=1).read()
                break
            except (urllib.error.URLError, ConnectionError):
                if time.time() > deadline or self.proc.poll() is not None:
                    raise SystemExit(f"switchboard did not start; see {self.log.name}")
                time.sleep(0.05)
        self.cookie = None
        self.key = None

    def rss(self):
        return rss_mb(self.proc.pid)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()

    # HTTP helpers
    def request(self, method, path, body=None, form=None, status=None):
        headers = {"origin": self.origin}
        data = None
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["content-type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            data = json.dumps(body).encode()
            headers["content-type"] = "application/json"
        if self.cookie:
            headers["cookie"] = f"sb_session={self.cookie}"
        if self.key:
            headers["x-api-key"] = self.key
        req = urllib.request.Request(self.origin + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                got, text, head = r.status, r.read().decode(), r.headers
        except urllib.error.HTTPError as e:
            got, text, head = e.code, e.read().decode(), e.headers
        if status is not None and got != status:
            raise SystemExit(f"{method} {path}: expected {status}, got {got}: {text}")
        return json.loads(text) if text.strip().startswith(("{", "[")) else text, head

    def sign_in(self):
        _, head = self.request(
            "POST",
            "/api/setup",
            form={
                "email": "bench@example.com",
                "name": "Bench",
                "password": "benchmark password",
                "password_again": "benchmark password",
            },
            status=200,
        )
        for value in head.get_all("set-cookie") or []:
            if value.startswith("sb_session="):
                self.cookie = value.split(";")[0].split("=", 1)[1]
        key, _ = self.request("POST", "/api/api_keys/create", form={"name": "bench", "role": "administrator"}, status=200)
        self.key = key["key"]

    def connector(self, name, base_url):
        made, _ = self.request(
            "POST", "/api/v2/connectors", body={"name": name, "base_url": base_url, "auth": {"type": "none"}}, status=201
        )
        return made["id"]

    def workflow(self, name, trigger, connector_id, nodes, path="/sink", body=None):
        if body is None:
            body = '{"n": "${input.body.n}"}' if trigger == "webhook" else '{"n": 1}'
        steps = [
            {
                "key": f"node{i}",
                "name": f"Node {i}",
                "action": {
                    "type": "external_app_connector",
                    "connector_id": connector_id,
                    "method": "POST",
                    "path": path,
                    "body": body,
                    "headers": [],
                },
            }
            for i in range(nodes)
        ]
        made, _ = self.request(
            "POST", "/api/v2/workflows", body={"name": name, "trigger": {"type": trigger}, "steps": steps}, status=201
        )
        return made["id"]

    def webhook_path(self, workflow_id):
        hook, _ = self.request("POST", "/api/webhooks/get", form={"workflow_id": workflow_id}, status=200)
        return hook["path"]


# --- the database, read directly ------------------------------------------------------------------


class Db:
    def __init__(self, server, pg_url=None):
        self.pg_url = pg_url
        self.path = os.path.join(server.dir, "switchboard.db")

    def rows(self, sql, *args):
        if self.pg_url:
            text = sql
            for a in args:
                text = text.replace("?", "'" + str(a).replace("'", "''") + "'", 1)
            out = subprocess.run(
                ["psql", "-At", "-F", "\t", "-d", self.pg_url, "-c", text],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            return [tuple(int(v) if v.lstrip("-").isdigit() else v for v in line.split("\t")) for line in out.splitlines() if line]
        conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30)
        try:
            return conn.execute(sql, args).fetchall()
        finally:
            conn.close()

    def pending(self, workflow_id):
        return self.rows(
            "SELECT COUNT(*) FROM runs WHERE workflow_id = ? AND status IN ('queued', 'running')", workflow_id
        )[0][0]

    def times(self, workflow_id):
        return self.rows(
            "SELECT queued_at, started_at, finished_at FROM runs WHERE workflow_id = ? AND status = 'succeeded'",
            workflow_id,
        )

    def failed(self, workflow_id):
        return self.rows("SELECT COUNT(*) FROM runs WHERE workflow_id = ? AND status = 'failed'", workflow_id)[0][0]


def wait_settled(db, workflow_id, server, peak, limit=300):
    deadline = time.time() + limit
    while db.pending(workflow_id):
        peak[0] = max(peak[0], server.rss())
        if time.time() > deadline:
            raise SystemExit(f"runs did not finish within {limit} s")
        time.sleep(0.2)


def sample_rss(server, peak, stop):
    while not stop.is_set():
        peak[0] = max(peak[0], server.rss())
        time.sleep(0.1)


# --- phases -------------------------------------------------------------------------------------


def webhook_phase(label, upstream, pg_url=None):
    """Saturation and paced load through one webhook -> one node -> upstream."""
    server = Server(pg_url)
    try:
        server.sign_in()
        db = Db(server, pg_url)
        connector = server.connector("Upstream", upstream.base)
        saturate = server.workflow("Saturate", "webhook", connector, 1)
        paced = server.workflow("Paced", "webhook", connector, 1)
        time.sleep(2)
        idle = server.rss()
        peak = [idle]
        stop = threading.Event()
        sampler = threading.Thread(target=sample_rss, args=(server, peak, stop), daemon=True)
        sampler.start()

        log(f"{label}: saturating the webhook for {LOAD_SECONDS} s")
        cpu_before = cpu_seconds(server.proc.pid)
        window_start = time.time() * 1000
        load = wrk(server.origin + server.webhook_path(saturate), LOAD_SECONDS, 32, WRK_POST)
        window_end = time.time() * 1000
        if load["bad"]:
            log(f"{label}: {load['bad']} webhook calls were not accepted; see {server.log.name}")
        wait_settled(db, saturate, server, peak)
        cpu_used = cpu_seconds(server.proc.pid) - cpu_before
        times = db.times(saturate)
        failed = db.failed(saturate)
        first_queued = min(q for q, _, _ in times)
        last_finished = max(f for _, _, f in times)
        completed = len(times) / ((last_finished - first_queued) / 1000)
        # While the calls came in: runs finished inside wrk's window, per second of it.
        in_window = sum(1 for _, _, f in times if window_start <= f <= window_end)
        completed_under_load = in_window / ((window_end - window_start) / 1000)

        log(f"{label}: one caller at up to {PACED_RATE} calls/s for {PACED_SECONDS} s")
        # Once the first phase has drained: one caller pacing itself (bench/paced.lua).
        env_rate = str(int(1000 / PACED_RATE))
        os.environ["BENCH_DELAY_MS"] = env_rate
        wrk(server.origin + server.webhook_path(paced), PACED_SECONDS, 1, WRK_PACED, threads=1)
        wait_settled(db, paced, server, peak)
        latencies = [f - q for q, _, f in db.times(paced)]
        stop.set()
        sampler.join()
        return {
            "accepted": load["ok_rps"],
            "accepted_bad": load["bad"],
            "accepted_p99": load["p99"],
            "runs": len(times),
            "completed": completed,
            "completed_under_load": completed_under_load,
            "cpu_ms_per_run": cpu_used * 1000 / (len(times) + failed),
            "failed": failed,
            "paced_runs": len(latencies),
            "paced_rate": len(latencies) / PACED_SECONDS,
            "e2e_p50": percentile(latencies, 50),
            "e2e_p99": percentile(latencies, 99),
            "rss_idle": idle,
            "rss_peak": peak[0],
        }
    finally:
        server.stop()


def node_phase(upstream, direct):
    """Sequential runs of a NODES-node workflow. Each node's request names its run; the upstream
    keeps each arrival's time (µs), so the gap between two nodes' arrivals in a run is one sample
    of what a node costs: Switchboard's work between them (recording the step, planning the next,
    sending it) plus one request's round trip. What a node adds over a direct call is each gap
    less the direct one-connection call's p50 (`direct`, measured by wrk in the same run): every
    bit of the gaps' tail, the machine's jitter included, is counted against Switchboard."""
    server = Server()
    try:
        server.sign_in()
        db = Db(server)
        connector = server.connector("Upstream", upstream.base)
        many = server.workflow(
            "Many nodes", "manual", connector, NODES, path="/record/node", body='{"run": "${run.id}"}'
        )
        upstream.arrivals()  # start from none
        log(f"{NODE_RUNS} sequential runs of a {NODES}-node workflow")
        for done in range(1, NODE_RUNS + 1):
            server.request("POST", f"/api/v2/workflows/{many}/runs", body={"input": {}}, status=202)
            # Blocks until the run's last node has arrived: polling the database meanwhile would
            # take the cores the gaps are timed on.
            upstream.wait(done * NODES)
            deadline = time.time() + 30
            while db.pending(many):
                if time.time() > deadline:
                    raise SystemExit("a many-node run did not finish within 30 s")
                time.sleep(0.005)
        by_run = {}
        for micros, body in upstream.arrivals():
            by_run.setdefault(json.loads(body)["run"], []).append(micros)
        gaps = []
        for arrivals in by_run.values():
            arrivals.sort()
            gaps += [(b - a) / 1000 for a, b in zip(arrivals, arrivals[1:])]
        runs = len(db.times(many))
        if runs != NODE_RUNS or len(gaps) != NODE_RUNS * (NODES - 1):
            raise SystemExit(f"expected {NODE_RUNS} runs of {NODES} requests, got {runs} runs, {len(gaps)} gaps")
        gap50, gap99 = percentile(gaps, 50), percentile(gaps, 99)
        return {
            "p50": gap50 - direct["p50"],
            "p99": gap99 - direct["p50"],
            "gap_p50": gap50,
            "gap_p99": gap99,
            "runs": runs,
            "samples": len(gaps),
        }
    finally:
        server.stop()


def ssr_phase(upstream):
    """The connectors page rendered on the server, empty and with CONNECTORS connectors."""
    server = Server()
    try:
        server.sign_in()
        page = server.origin + "/settings/connectors"
        cookie = [f"Cookie: sb_session={server.cookie}"]
        log("SSR: the empty connectors page")
        empty = wrk(page, 5, 1, headers=cookie, threads=1)
        log(f"SSR: creating {CONNECTORS} connectors")
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda i: server.connector(f"Connector {i:04}", upstream.base), range(CONNECTORS)))
        log(f"SSR: the connectors page with {CONNECTORS}")
        full = wrk(page, 5, 1, headers=cookie, threads=1)
        if empty["bad"] or full["bad"]:
            raise SystemExit("the connectors page did not answer 200 (is the session cookie accepted?)")
        with urllib.request.urlopen(
            urllib.request.Request(page, headers={"cookie": f"sb_session={server.cookie}"}), timeout=30
        ) as r:
            html = r.read().decode()
        shown = len(set(re.findall(r"Connector \d{4}", html)))
        return {"empty": empty, "full": full, "shown": shown, "bytes": len(html)}
    finally:
        server.stop()


class PgDatabase:
    """A fresh PostgreSQL database for one run of the benchmark, dropped at the end."""

    def __enter__(self):
        self.name = f"sb_bench_{os.getpid()}"
        subprocess.run(["psql", "-q", "-d", PG_URL, "-c", f"CREATE DATABASE {self.name}"], check=True)
        return PG_URL.rsplit("/", 1)[0] + "/" + self.name

    def __exit__(self, *exc):
        subprocess.run(["psql", "-q", "-d", PG_URL, "-c", f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)"])


def only(phase):
    """`bench/run.py --only sqlite|postgres|nodes|ssr`: one phase, printed, RESULTS.md untouched
    (for profiling: attach `perf record -p <pid>` to the server while it runs)."""
    upstream = Upstream()
    try:
        if phase == "sqlite":
            print(webhook_phase("SQLite", upstream))
        elif phase == "postgres":
            with PgDatabase() as pg_url:
                print(webhook_phase("PostgreSQL", upstream, pg_url))
        elif phase == "nodes":
            print(node_phase(upstream, wrk(upstream.base + "/sink", 5, 1, WRK_POST, threads=1)))
        elif phase == "ssr":
            print(ssr_phase(upstream))
        else:
            raise SystemExit(f"unknown phase {phase}: sqlite, postgres, nodes or ssr")
    finally:
        upstream.stop()


def main():
    if sys.argv[1:2] == ["--only"] and len(sys.argv) == 3:
        return only(sys.argv[2])
    for path, hint in [(BIN, "make build"), (UPSTREAM, "cargo build --release -p bench")]:
        if not os.path.exists(path):
            raise SystemExit(f"{path} is missing: run {hint} (make bench does)")
    started = time.time()
    upstream = Upstream()
    try:
        log("direct: the upstream alone, 32 connections")
        direct = wrk(upstream.base + "/sink", LOAD_SECONDS, 32, WRK_POST)
        log("direct: one connection (the latency baseline)")
        direct_one = wrk(upstream.base + "/sink", 5, 1, WRK_POST, threads=1)
        sqlite_run = webhook_phase("SQLite", upstream)
        with PgDatabase() as pg_url:
            pg_run = webhook_phase("PostgreSQL", upstream, pg_url)
        nodes = node_phase(upstream, direct_one)
        ssr = ssr_phase(upstream)
    finally:
        upstream.stop()
    shipped = size.measure(SITE)
    elapsed = time.time() - started
    write_results(direct, direct_one, sqlite_run, pg_run, nodes, ssr, shipped, elapsed)


def commit():
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (subprocess.CalledProcessError, FileNotFoundError):
        return "unknown"


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def verdict(ok):
    return "met" if ok else "**missed**"


def write_results(direct, direct_one, sq, pg, nodes, ssr, shipped, elapsed):
    share = sq["completed"] / direct["rps"] * 100
    kb = 1000
    page, heaviest = shipped["page"], shipped["heaviest"]
    rows = [
        ("1. Direct upstream throughput (wrk, 32 connections)", f"{direct['rps']:,.0f} req/s", "", "the loopback limit", ""),
        ("1. Direct call latency, one connection (p50 / p99)", f"{direct_one['p50']:.3f} / {direct_one['p99']:.3f} ms", "", "", ""),
        ("2. Webhooks accepted/s (wrk, 32 connections)", f"{sq['accepted']:,.0f}/s", f"{pg['accepted']:,.0f}/s", "", ""),
        ("2. Runs completed/s while the calls came in", f"{sq['completed_under_load']:,.0f}/s", f"{pg['completed_under_load']:,.0f}/s", "", ""),
        ("2. Runs completed/s, first queued → last finished (durable, 1 node)", f"{sq['completed']:,.0f}/s ({sq['runs']:,} runs)", f"{pg['completed']:,.0f}/s ({pg['runs']:,} runs)", "≥ 25 % of direct on SQLite", f"{verdict(share >= 25)} ({share:.2f} %)"),
        ("2. Server CPU per run (accept + execute)", f"{sq['cpu_ms_per_run']:.2f} ms", f"{pg['cpu_ms_per_run']:.2f} ms", "", ""),
        (f"2. Trigger → completion, one caller at {sq['paced_rate']:.0f} / {pg['paced_rate']:.0f} calls/s (p50 / p99)", f"{sq['e2e_p50']:.0f} / {sq['e2e_p99']:.0f} ms", f"{pg['e2e_p50']:.0f} / {pg['e2e_p99']:.0f} ms", "", ""),
        (f"3. Latency added per node ({nodes['samples']:,} node-to-node gaps, p50 / p99)", f"{nodes['p50']:.2f} / {nodes['p99']:.2f} ms", "", "≤ 1 ms p99", verdict(nodes["p99"] <= 1.0)),
        ("4. Server RSS idle", f"{sq['rss_idle']:.1f} MB", f"{pg['rss_idle']:.1f} MB", "≤ 30 MB", verdict(max(sq["rss_idle"], pg["rss_idle"]) <= 30)),
        ("4. Server RSS under load (peak)", f"{sq['rss_peak']:.1f} MB", f"{pg['rss_peak']:.1f} MB", "≤ 120 MB", verdict(max(sq["rss_peak"], pg["rss_peak"]) <= 120)),
        (f"5. wasm + JS a page loads, heaviest page ({heaviest}), raw / gzip -9", f"{page['raw'] / kb:,.1f} / {page['gzip'] / kb:,.1f} KB", "", "≤ 250 KB gzip", verdict(page["gzip"] <= 250 * kb)),
        ("5. The same page as served to a browser that accepts Brotli (the build's quality-11 copies)", size.brotli_text(page, kb, 1, "KB"), "", "", ""),
        ("5. wasm + JS every page loads (main module), raw / gzip -9", f"{shipped['main']['raw'] / kb:,.1f} / {shipped['main']['gzip'] / kb:,.1f} KB", "", "", ""),
        (f"5. wasm + JS of all pages ({shipped['files']} files), raw / gzip -9", f"{shipped['all']['raw'] / kb:,.1f} / {shipped['all']['gzip'] / kb:,.1f} KB", "", "", ""),
        ("6. SSR, connectors page, empty (p50 / p99)", f"{ssr['empty']['p50']:.2f} / {ssr['empty']['p99']:.2f} ms", "", "", ""),
        (f"6. SSR, connectors page, {CONNECTORS:,} connectors (p50 / p99)", f"{ssr['full']['p50']:.2f} / {ssr['full']['p99']:.2f} ms", "", "", ""),
    ]
    per_page = ", ".join(f"{name} {sizes['gzip'] / kb:,.0f}" for name, sizes in sorted(shipped["pages"].items(), key=lambda p: -p[1]["gzip"]))
    lines = [
        "# Benchmark results",
        "",
        f"`make bench` on {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, commit `{commit()}`, "
        f"{os.cpu_count()} cores ({cpu_model()}), loopback only; the run took {elapsed:.0f} s.",
        "Switchboard release build with "
        f"{WORKERS} workers; the mock upstream (`bench/src/main.rs`) and `wrk` share the same cores.",
        "",
        "| Measure | SQLite | PostgreSQL | Target | Verdict |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {a} | {b} | {c} | {d} | {e} |" for a, b, c, d, e in rows]
    lines += [
        "",
        "How each figure is taken:",
        f"- Throughput: `wrk` for {LOAD_SECONDS} s with 32 connections posting a small JSON body. Accepted/s is "
        "the rate of 2xx answers (202; wrk counts 3xx with them, and Switchboard sends none here; other answers: "
        f"SQLite {sq['accepted_bad']}, PostgreSQL {pg['accepted_bad']}). Calls come in faster than runs finish, "
        "so runs queue: *while the calls came in* counts the runs finished inside wrk's window; *first queued → "
        "last finished* divides every run accepted in the window by the time from the first one queued to the "
        "last one finished, read from the database (failed runs: "
        f"SQLite {sq['failed']}, PostgreSQL {pg['failed']}). The target is measured on the second.",
        "- Server CPU per run: user + system time of the server process over the load and its drain, divided "
        "by the runs (succeeded and failed).",
        f"- Trigger → completion: one caller sending a call every {1000 // PACED_RATE} ms after the previous "
        f"answer, for {PACED_SECONDS} s ({sq['paced_runs']} and {pg['paced_runs']} runs); "
        "`finished_at − queued_at` of each run (ms resolution).",
        f"- Added per node: {nodes['runs']} sequential runs of a {NODES}-node workflow on SQLite. The mock "
        "upstream keeps the arrival time (µs) of each node's request, which names its run; each gap between "
        "two consecutive nodes of a run is one sample of a node's cost (recording the finished step, "
        f"planning the next and sending it, and one round trip): p50 / p99 {nodes['gap_p50']:.2f} / "
        f"{nodes['gap_p99']:.2f} ms. What a node adds is that less the direct one-connection call's p50 "
        f"({direct_one['p50']:.3f} ms; its p99 is {direct_one['p99']:.3f} ms): the tail, the machine's own "
        "jitter included, counts against Switchboard. (Earlier results divided each run's time by its "
        "nodes, which spread the run's fixed costs over them and averaged the tail away: not comparable.)",
        "- RSS: `VmRSS` of the server (MB = 10^6 bytes) two seconds after start-up and set-up (idle), and its "
        "peak sampled every 100 ms through both load phases and their drain.",
        "- Bytes: `target/site/pkg` as built by `make build` (split per page, `cargo leptos build --split`), "
        "gzip level 9 (`bench/size.py`). A page loads the main module and the chunks "
        "`__wasm_split_manifest.json` lists for it; per page, gzip KB: " + per_page + ". "
        "*As served*: the `.br` copies `make build` writes beside each file (`scripts/precompress.mjs`, "
        "Brotli quality 11), which the server sends to a browser that accepts Brotli (browsers ask for it "
        "over HTTPS); the target is measured on gzip -9.",
        f"- SSR: `wrk`, one connection for 5 s, signed in, `GET /settings/connectors`; the page with "
        f"{CONNECTORS:,} connectors is {ssr['bytes']:,} bytes of HTML and names {ssr['shown']:,} of them.",
    ]
    text = "\n".join(lines) + "\n"
    with open(os.path.join(ROOT, "bench", "RESULTS.md"), "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
