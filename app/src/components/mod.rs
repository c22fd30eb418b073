//! Small pieces shared by pages.

mod form_error;
mod not_allowed;

pub use form_error::FormError;
pub use not_allowed::NotAllowed;

use leptos::prelude::*;

/// Empties `form` each time `succeeded()` turns true: a form that went through keeps no password
/// typed into it, and does not invite the same submission twice (a second key, a second account).
/// An effect, so only in the browser.
pub fn clear_on_success(
    form: NodeRef<leptos::html::Form>,
    succeeded: impl Fn() -> bool + 'static,
) {
    Effect::new(move |_| {
        if succeeded()
            && let Some(form) = form.get_untracked()
        {
            form.reset();
        }
    });
}
