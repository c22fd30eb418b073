#!/usr/bin/env bash
# Installs every tool the build and the tests need, from the package
# registries only (Debian apt, crates.io, npm). Idempotent: each step checks
# for the pinned version first, so a second run costs a few seconds.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CARGO_LEPTOS_VERSION="0.3.11"
# wasm-bindgen-cli must match the wasm-bindgen library in Cargo.lock exactly.
WASM_BINDGEN_VERSION="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock")"

say() { printf '==> %s\n' "$*"; }

need_apt=()
# The container build (Dockerfile) needs no browser and no wrk: SWITCHBOARD_NO_BROWSER=1 skips them.
if [ "${SWITCHBOARD_NO_BROWSER:-}" != "1" ]; then
    command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
    # wrk: the load generator of `make bench`.
    command -v wrk >/dev/null 2>&1 || need_apt+=(wrk)
fi
if [ "${#need_apt[@]}" -gt 0 ]; then
    say "apt-get install ${need_apt[*]}"
    if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "rustup target add wasm32-unknown-unknown"
    rustup target add wasm32-unknown-unknown
fi

# Builds a crates.io tool from its published source with a lockfile we keep in tools/: the
# lockfiles published with these versions pin crates that need a newer rustc, or a version the
# registry no longer serves. At opt-level 1, not release's 3: both tools together took 1,498 s of
# CPU and 796 s on 2 cores instead of 1,628 s and 863 s, and wasm-bindgen still handles the
# release bundle in 0.25-0.32 s (measured alone, on one machine).
install_from_source() {
    local crate="$1" version="$2"
    shift 2
    local work src
    work="$(mktemp -d)"
    mkdir -p "$work/fetch/src"
    printf '[package]\nname = "fetch-tool"\nversion = "0.0.0"\nedition = "2021"\n[dependencies]\n%s = "=%s"\n' \
        "$crate" "$version" > "$work/fetch/Cargo.toml"
    echo 'fn main() {}' > "$work/fetch/src/main.rs"
    (cd "$work/fetch" && cargo fetch --quiet)
    src="$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/"$crate-$version" | head -n1)"
    cp -r "$src" "$work/src"
    rm -f "$work/src/rust-toolchain.toml" "$work/src/rust-toolchain"
    cp "$ROOT/tools/$crate-$version.Cargo.lock" "$work/src/Cargo.lock"
    CARGO_TARGET_DIR="$work/target" cargo install --path "$work/src" --locked --force \
        --config profile.release.lto=false \
        --config profile.release.codegen-units=16 \
        --config profile.release.opt-level=1 \
        --config profile.release.debug=false \
        "$@"
    rm -rf "$work"
}

if [ "$(cargo leptos --version 2>/dev/null || true)" != "cargo-leptos $CARGO_LEPTOS_VERSION" ]; then
    say "building cargo-leptos $CARGO_LEPTOS_VERSION from crates.io source (takes ~12 minutes on 2 cores)"
    # `no_downloads`: use wasm-bindgen/wasm-opt from PATH and fail loudly instead of fetching
    # binaries from outside the registries.
    install_from_source cargo-leptos "$CARGO_LEPTOS_VERSION" --features no_downloads
fi

if [ "$(wasm-bindgen --version 2>/dev/null || true)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
    say "building wasm-bindgen-cli $WASM_BINDGEN_VERSION from crates.io source"
    if [ ! -f "$ROOT/tools/wasm-bindgen-cli-$WASM_BINDGEN_VERSION.Cargo.lock" ]; then
        echo "tools/wasm-bindgen-cli-$WASM_BINDGEN_VERSION.Cargo.lock is missing: wasm-bindgen changed in Cargo.lock; see README › Development" >&2
        exit 1
    fi
    install_from_source wasm-bindgen-cli "$WASM_BINDGEN_VERSION"
fi

# wasm-opt: Binaryen from npm (pinned in tools/wasm-opt/package-lock.json). Debian's Binaryen 108
# predates the wasm features Rust now emits and breaks the bundle at run time. The build runs it
# through tools/wasm-opt/bin/wasm-opt (node with V8's baseline compiler only: see there).
WASM_OPT="$ROOT/tools/wasm-opt/bin/wasm-opt"
if [ ! -x "$ROOT/tools/wasm-opt/node_modules/binaryen/bin/wasm-opt" ] || ! (cd "$ROOT/tools/wasm-opt" && npm ls --silent >/dev/null 2>&1); then
    say "npm ci (tools/wasm-opt: Binaryen)"
    (cd "$ROOT/tools/wasm-opt" && npm ci --no-audit --no-fund --silent)
fi

# PyYAML reads compose.yaml in scripts/check_container.py (not needed inside the container build).
if [ "${SWITCHBOARD_NO_BROWSER:-}" != "1" ] && ! python3 -c 'import yaml' 2>/dev/null; then
    say "pip install pyyaml"
    python3 -m pip install --quiet pyyaml
fi

say "tools: $(cargo leptos --version), $(wasm-bindgen --version), $("$WASM_OPT" --version), $(chromium --version 2>/dev/null | head -n1), node $(node --version)"
