use leptos::prelude::*;

/// Whether the page in the frame has hydrated: its controls work from then on. Provided by
/// [`AppLayout`](super::AppLayout), set by [`MarkHydrated`].
#[derive(Clone, Copy)]
pub struct PageHydrated(pub RwSignal<bool>);

/// Placed in each page: once the page itself has hydrated, says so to the frame. A page's code
/// is loaded after the frame's (`crate::routes`), so the frame cannot tell by itself.
#[component]
pub fn MarkHydrated() -> impl IntoView {
    if let Some(PageHydrated(hydrated)) = use_context::<PageHydrated>() {
        // Effects run only in the browser, after hydration.
        Effect::new(move |_| hydrated.set(true));
    }
}
