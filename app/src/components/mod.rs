//! Small pieces shared by pages.

mod form_error;
mod not_allowed;

pub use form_error::FormError;
pub use not_allowed::NotAllowed;

use leptos::prelude::*;

/// Empties `form` each time `succeeded()` turns true: a form that went through keeps no password
/// typed into it, and does not invite the same submission twice (a second key, a second account).
/// An effect, so only in the browser.
pub fn clear_on_success(form: NodeRef<leptos::html::Form>, succeeded: impl Fn() -> bool + 'static) {
    Effect::new(move |_| {
        if succeeded()
            && let Some(form) = form.get_untracked()
        {
            form.reset();
        }
    });
}

/// Moves the keyboard focus to the element `id` once the page has drawn the change just made (the
/// next frame). Only called from event handlers, so only in the browser.
pub fn focus_after_render(id: String) {
    use leptos::wasm_bindgen::JsCast as _;
    request_animation_frame(move || {
        if let Some(element) = document()
            .get_element_by_id(&id)
            .and_then(|e| e.dyn_into::<leptos::web_sys::HtmlElement>().ok())
        {
            let _ = element.focus();
        }
    });
}
