#!/usr/bin/env bash
# `make test`: every check CI runs, in order, with one summary at the end.
# A failing step does not stop the later ones (so one run shows everything
# that is wrong), but the exit status is non-zero if any step failed.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$ROOT/tools/wasm-opt/bin:$PATH"
LOGS="$ROOT/target/test-logs"
rm -rf "$LOGS" && mkdir -p "$LOGS"

# PostgreSQL storage tests are mandatory in CI and whenever a URL is given.
if [ "${CI:-}" = "true" ]; then
    export SWITCHBOARD_TEST_POSTGRES_URL="${SWITCHBOARD_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
fi

steps=()
results=()
timings=()
failed=0

run_step() {
    local name="$1"
    shift
    local log="$LOGS/$(echo "$name" | tr ' /' '__').log"
    local start=$SECONDS
    printf '\n==> %s\n' "$name"
    if "$@" 2>&1 | tee "$log"; then
        results+=("ok")
    else
        results+=("FAILED (log: ${log#"$ROOT"/})")
        failed=1
    fi
    steps+=("$name")
    timings+=("$((SECONDS - start))s")
}

e2e() {
    local port data status
    # A free port below Linux's ephemeral range (32768 and up), which the system hands out for
    # outgoing connections and port-0 binds: nothing else is given it between this check and the
    # server binding it.
    port="$(python3 -c '
import random, socket
for port in random.sample(range(20000, 32000), 50):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
    print(port)
    break
else:
    raise SystemExit("no free port in 20000-32000 for the end-to-end server")
')" || return 1
    data="$(mktemp -d)"
    (cd end2end && E2E_PORT="$port" E2E_DATA_DIR="$data" npx --no-install playwright test) 2>&1 | tee "$data/playwright.out"
    status=${PIPESTATUS[0]}
    if [ $status -ne 0 ]; then
        if [ -f "$data/server.log" ]; then
            echo "--- the server log's last warnings and errors ---"
            grep -E '"level":"(WARN|ERROR)"' "$data/server.log" | tail -n 20
        fi
        # Again, last: CI shows the end of the output, and it should name the failing test.
        echo "--- playwright's failures, again ---"
        sed -n '/^ *[0-9]*) /,$p' "$data/playwright.out" | tail -n 80
    fi
    rm -rf "$data"
    return $status
}

run_step "install tools" bash scripts/install-tools.sh
run_step "npm ci (end2end)" bash -c 'cd end2end && npm ci --no-audit --no-fund'
run_step "cargo fmt --check" cargo fmt --all --check
run_step "clippy (server, bench)" cargo clippy --locked -p domain -p app -p switchboard -p bench --features app/ssr --all-targets -- -D warnings
run_step "clippy (browser/wasm)" cargo clippy --locked -p frontend --target wasm32-unknown-unknown -- -D warnings
run_step "cargo test (unit, HTTP, CLI, storage on SQLite + PostgreSQL)" cargo test --locked -p domain -p app -p switchboard --features app/ssr
run_step "release build (make build: cargo leptos build --release --split, precompress)" make --no-print-directory build
run_step "container files (Dockerfile, compose.yaml)" python3 scripts/check_container.py
run_step "bundle size guard (wasm + JS gzip vs bench/size-budget.json)" python3 bench/size.py --check
# The same packages and features as the cargo test step, so the test binary is not rebuilt.
# One at a time: each measures throughput on the 2 cores.
run_step "load tests (SQLite 10,000 webhooks; 3 replicas on PostgreSQL 5,000; kill -9)" env SWITCHBOARD_TEST_BIN="$ROOT/target/release/switchboard" \
    cargo test --locked -p domain -p app -p switchboard --features app/ssr --test load -- --ignored --nocapture --test-threads=1
run_step "playwright (end2end, chromium)" e2e

# Count the tests the runners reported.
passed=0
fails=0
skipped_pg=0
for log in "$LOGS"/*.log; do
    while read -r p f; do
        passed=$((passed + p)); fails=$((fails + f))
    done < <(sed -n 's/^test result: [A-Za-z]*\. \([0-9]*\) passed; \([0-9]*\) failed.*/\1 \2/p' "$log")
done
pw_log="$LOGS/playwright_(end2end,_chromium).log"
if [ -f "$pw_log" ]; then
    p=$(sed -n 's/^ *\([0-9]*\) passed.*/\1/p' "$pw_log" | tail -n1)
    f=$(sed -n 's/^ *\([0-9]*\) failed.*/\1/p' "$pw_log" | tail -n1)
    passed=$((passed + ${p:-0})); fails=$((fails + ${f:-0}))
fi
skipped_pg=$(cat "$LOGS"/*.log | grep -c '^SKIPPED: PostgreSQL' || true)

printf '\n==================== summary ====================\n'
for i in "${!steps[@]}"; do
    printf '%-62s %6s  %s\n' "${steps[$i]}" "${timings[$i]}" "${results[$i]}"
done
if [ "$skipped_pg" -gt 0 ]; then
    printf '\nNOTE: %s PostgreSQL storage tests were skipped (no server reachable; CI=true makes them mandatory).\n' "$skipped_pg"
fi
if [ "$failed" -ne 0 ]; then
    printf '\nmake test: FAILED\n'
fi
printf 'tests: %d passed, %d failed\n' "$passed" "$fails"
exit "$failed"
