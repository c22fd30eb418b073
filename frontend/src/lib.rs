//! The browser entry point. It only hydrates the server-rendered page; all UI lives in `app`.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Lazily loaded routes (`app::routes`) need the asynchronous hydration.
    leptos::mount::hydrate_lazy(app::App);
}
