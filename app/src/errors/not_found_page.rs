use leptos::prelude::*;
use leptos_meta::Title;

use crate::layout::MarkHydrated;

/// Shown for any path no route matches; the server answers it with status 404.
#[component]
pub fn NotFoundPage() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }

    view! {
        <MarkHydrated/>
        <Title text="Page not found"/>
        <section class="error-page">
            <h1>"Page not found"</h1>
            <p>"There is no page at this address. Check the link, or pick a page from the navigation."</p>
            <p><a href="/workflows">"Go to Workflows"</a></p>
        </section>
    }
}
