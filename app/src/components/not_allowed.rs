use leptos::prelude::*;

/// Said instead of a page's controls when the signed-in role may not use them.
#[component]
pub fn NotAllowed(
    /// What the role may not do, e.g. "manage accounts".
    what: &'static str,
) -> impl IntoView {
    view! {
        <section class="notice" role="status">
            <p>"Only an Administrator With Billing can " {what} ". Your role can read the rest of Switchboard."</p>
        </section>
    }
}
