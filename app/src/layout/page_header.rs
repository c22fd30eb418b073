use leptos::prelude::*;
use leptos_meta::Title;

/// A page's heading, which also sets the document title.
#[component]
pub fn PageHeader(
    /// The page name, shown as the heading and in the browser tab.
    title: &'static str,
    /// Where the page sits, e.g. "Settings" for Settings › Connectors.
    #[prop(optional)]
    section: Option<&'static str>,
) -> impl IntoView {
    view! {
        <Title text=title/>
        <header class="page-header">
            {section.map(|s| view! { <p class="breadcrumb">{s} " › " {title}</p> })}
            <h1>{title}</h1>
        </header>
    }
}
