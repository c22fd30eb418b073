use leptos::prelude::*;

/// A plain notice on a page whose feature does not exist yet, so nobody mistakes an empty page
/// for an empty list.
#[component]
pub fn NotBuiltYet(
    /// What the page will offer once it is built, in one sentence.
    what: &'static str,
) -> impl IntoView {
    view! {
        <section class="notice" aria-labelledby="not-built-yet">
            <h2 id="not-built-yet">"Not built yet"</h2>
            <p>{what}</p>
            <p>"This page is a placeholder: nothing here works yet."</p>
        </section>
    }
}
