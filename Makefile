# Switchboard — the two commands people need are `make run` and `make test`.
.PHONY: run test tools build check clean fuzz bench

# cargo-leptos finds wasm-opt on PATH: use the pinned Binaryen from npm (see scripts/install-tools.sh).
export PATH := $(CURDIR)/tools/wasm-opt/bin:$(PATH)

# Install the pinned tools, build the release, serve on http://127.0.0.1:3000
# with the SQLite database ./data/switchboard.db.
run: tools build
	./target/release/switchboard serve

# Everything CI checks; see scripts/test.sh. Ends with one pass/fail summary.
test:
	bash scripts/test.sh

# The benchmark (not part of `make test`): Switchboard's release build against a mock upstream on
# loopback, with wrk; writes bench/RESULTS.md. PostgreSQL at SWITCHBOARD_BENCH_POSTGRES_URL
# (default postgres://postgres@127.0.0.1:5432/test).
# The mock upstream is built by the same cargo call as the server (`--bin-cargo-args`): it shares the
# server's dependencies, compiles while the server's last crates do, and `make build`'s output is
# unchanged (same features, nothing rebuilt either way).
bench: tools
	cargo leptos build --release --split --bin-cargo-args=--package=bench --bin-cargo-args=--bin=mock-upstream
	node scripts/precompress.mjs target/site/pkg
	python3 bench/run.py

tools:
	bash scripts/install-tools.sh

# The built files get Brotli and gzip copies (scripts/precompress.mjs): the server sends those to
# browsers as they are instead of compressing each download again, less well.
build:
	cargo leptos build --release --split
	node scripts/precompress.mjs target/site/pkg

# Fast feedback while editing: type-check server and browser code.
check:
	cargo check -p switchboard --all-targets
	cargo check -p frontend --target wasm32-unknown-unknown

# Fuzzes the template parser and renderers for FUZZ_SECONDS (default 60). cargo-fuzz needs
# nightly flags; RUSTC_BOOTSTRAP lets the stable toolchain accept them (no other toolchain can be
# fetched here).
FUZZ_SECONDS ?= 60
fuzz:
	@cargo fuzz --version >/dev/null 2>&1 || cargo install cargo-fuzz --version 0.13.2 --locked
	cd domain && RUSTC_BOOTSTRAP=1 cargo fuzz run templates --sanitizer none -- -max_total_time=$(FUZZ_SECONDS)

clean:
	cargo clean
	rm -rf end2end/node_modules end2end/test-results tools/wasm-opt/node_modules
