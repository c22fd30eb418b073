use leptos::prelude::*;
use leptos_meta::Title;

use crate::layout::MarkHydrated;

/// The error boundary's fallback: says that something failed and what to do, without internals.
/// Details of server errors are logged on the server, never shown here.
#[component]
pub fn ErrorPage(
    /// The errors the boundary caught.
    errors: ArcRwSignal<Errors>,
) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::INTERNAL_SERVER_ERROR);
    }

    let messages = move || {
        errors
            .get()
            .into_iter()
            .map(|(_, error)| view! { <li>{error.to_string()}</li> })
            .collect_view()
    };
    view! {
        <MarkHydrated/>
        <Title text="Something went wrong"/>
        <section class="error-page" role="alert">
            <h1>"Something went wrong"</h1>
            <p>"This page could not be shown. Reload to try again; if it keeps failing, the server log has the details."</p>
            <ul>{messages}</ul>
        </section>
    }
}
