use leptos::prelude::*;

use super::{NavMenu, PageHydrated};
use crate::account::SignOutButton;
use crate::auth::use_auth;
#[cfg(feature = "hydrate")]
use crate::components::focus_after_render;

/// The product frame: a top bar with the product name, the main navigation on the left and the
/// page on the right.
///
/// The navigation toggle only works in the browser, so it is rendered disabled and switched on
/// once the page has hydrated (each page says so with `MarkHydrated`); without JavaScript the
/// navigation simply stays open.
#[component]
pub fn AppLayout(
    /// The page content.
    children: Children,
) -> impl IntoView {
    let auth = use_auth();
    let signed_in = move || auth.user().is_some();
    let nav_open = RwSignal::new(true);
    let hydrated = RwSignal::new(false);
    provide_context(PageHydrated(hydrated));
    // A link or a redirect that changes the page in place leaves the focus on an element that is
    // gone: it goes to the page's content instead, where a full load would start, and a screen
    // reader hears of the new page. Not on the first load, nor when only the query changes.
    // Only in the browser: the server renders each page once, and creates nothing for it.
    #[cfg(feature = "hydrate")]
    {
        let path = leptos_router::hooks::use_location().pathname;
        Effect::new(move |previous: Option<String>| {
            let now = path.get();
            if previous.is_some_and(|previous| previous != now) {
                focus_after_render("content".to_owned());
            }
            now
        });
    }

    view! {
        <div class="app" class:nav-collapsed=move || !nav_open.get()>
            <a class="skip-link" href="#content">"Skip to content"</a>
            <header class="topbar">
                <button
                    type="button"
                    class="nav-toggle"
                    aria-controls="main-nav"
                    aria-expanded=move || nav_open.get().to_string()
                    disabled=move || !hydrated.get()
                    on:click=move |_| nav_open.update(|open| *open = !*open)
                >
                    {move || if nav_open.get() { "Hide navigation" } else { "Show navigation" }}
                </button>
                <a class="brand" href="/">"Switchboard"</a>
                <Transition>
                    <SignOutButton/>
                </Transition>
            </header>
            <nav id="main-nav" class="sidebar" aria-label="Main" hidden=move || !nav_open.get()>
                <Transition>
                    <Show when=signed_in>
                        <NavMenu/>
                    </Show>
                </Transition>
            </nav>
            <main id="content" class="content" tabindex="-1">
                {children()}
            </main>
        </div>
    }
}
