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
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v wasm-opt >/dev/null 2>&1 || need_apt+=(binaryen)
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

if [ "$(cargo leptos --version 2>/dev/null || true)" != "cargo-leptos $CARGO_LEPTOS_VERSION" ]; then
    say "building cargo-leptos $CARGO_LEPTOS_VERSION from crates.io source"
    # cargo-leptos's own lockfile pins crates that need a newer rustc than ours,
    # so we build it with tools/cargo-leptos-$CARGO_LEPTOS_VERSION.Cargo.lock.
    # The `no_downloads` feature makes it use wasm-bindgen/wasm-opt from PATH
    # and fail loudly instead of fetching binaries from outside the registries.
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    mkdir -p "$work/fetch/src"
    printf '[package]\nname = "fetch-cargo-leptos"\nversion = "0.0.0"\nedition = "2021"\n[dependencies]\ncargo-leptos = "=%s"\n' \
        "$CARGO_LEPTOS_VERSION" > "$work/fetch/Cargo.toml"
    echo 'fn main() {}' > "$work/fetch/src/main.rs"
    (cd "$work/fetch" && cargo fetch --quiet)
    src="$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/cargo-leptos-"$CARGO_LEPTOS_VERSION" | head -n1)"
    cp -r "$src" "$work/cargo-leptos"
    rm -f "$work/cargo-leptos/rust-toolchain.toml" "$work/cargo-leptos/rust-toolchain"
    cp "$ROOT/tools/cargo-leptos-$CARGO_LEPTOS_VERSION.Cargo.lock" "$work/cargo-leptos/Cargo.lock"
    CARGO_TARGET_DIR="$work/target" cargo install --path "$work/cargo-leptos" --locked --force \
        --features no_downloads \
        --config profile.release.lto=false \
        --config profile.release.codegen-units=16 \
        --config profile.release.debug=false
fi

if [ "$(wasm-bindgen --version 2>/dev/null || true)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
    say "cargo install wasm-bindgen-cli $WASM_BINDGEN_VERSION"
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --locked --force
fi

say "tools: $(cargo leptos --version), $(wasm-bindgen --version), $(wasm-opt --version), $(chromium --version 2>/dev/null | head -n1), node $(node --version)"
