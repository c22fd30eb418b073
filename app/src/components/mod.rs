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

/// How an input shows a problem to assistive technology: while `has()`, the input is
/// `aria-invalid`, and its `aria-describedby` names the element that says what is wrong
/// (`shown_in()`).
#[derive(Clone, Copy)]
pub struct ProblemMarks<H, I> {
    has: H,
    shown_in: I,
}

pub fn problem_marks<H, I>(has: H, shown_in: I) -> ProblemMarks<H, I>
where
    H: Fn() -> bool + Copy + Send + 'static,
    I: Fn() -> String + Copy + Send + 'static,
{
    ProblemMarks { has, shown_in }
}

impl<H, I> ProblemMarks<H, I>
where
    H: Fn() -> bool + Copy + Send + 'static,
    I: Fn() -> String + Copy + Send + 'static,
{
    /// The input's `aria-invalid`.
    pub fn invalid(self) -> impl Fn() -> &'static str + Copy + Send + 'static {
        move || if (self.has)() { "true" } else { "false" }
    }

    /// The input's `aria-describedby`: the problem's element while there is one.
    pub fn described_by(self) -> impl Fn() -> Option<String> + Copy + Send + 'static {
        move || (self.has)().then(self.shown_in)
    }
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

/// A confirmation's keyboard focus: `open` shows it and moves the focus to its safe button
/// (`safe`, the id of "Keep it" or "Cancel"); `cancel` hides it and gives the focus back to the
/// button that opened it (`opener`). Escape in the confirmation should call `cancel`.
#[derive(Clone, Copy)]
pub struct Confirm {
    pub showing: RwSignal<bool>,
    opener: StoredValue<String>,
    safe: StoredValue<String>,
}

impl Confirm {
    pub fn new(opener: impl Into<String>, safe: impl Into<String>) -> Confirm {
        Confirm {
            showing: RwSignal::new(false),
            opener: StoredValue::new(opener.into()),
            safe: StoredValue::new(safe.into()),
        }
    }

    pub fn open(self) {
        self.showing.set(true);
        focus_after_render(self.safe.get_value());
    }

    pub fn cancel(self) {
        self.showing.set(false);
        focus_after_render(self.opener.get_value());
    }

    /// For the confirmation's `on:keydown`: Escape cancels.
    pub fn on_key(self, ev: leptos::ev::KeyboardEvent) {
        if ev.key() == "Escape" {
            ev.prevent_default();
            self.cancel();
        }
    }
}
