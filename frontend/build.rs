//! Link flags for the browser bundle.

fn main() {
    // Keep each constant in its own data segment, so code splitting (`cargo leptos build
    // --split`) can move the strings and tables a lazily loaded page uses into that page's chunk
    // instead of leaving them all in the main bundle.
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32") {
        println!("cargo:rustc-link-arg-cdylib=--no-merge-data-segments");
    }
}
