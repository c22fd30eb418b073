//! The pages as lazily loaded routes: each page's code is its own wasm chunks, fetched when the
//! page is first opened (the server names the chunks a page needs in `<link rel="preload">`, so
//! a page opened directly loads them with the main bundle). The app shell — layout, navigation,
//! the session — stays in the main bundle.

use leptos::prelude::*;
use leptos_router::components::Redirect;
use leptos_router::{LazyRoute, lazy_route};

use crate::auth::use_auth;
use crate::layout::MarkHydrated;

/// Shows `children` to a signed-in person, sends anyone else to the sign-in page, and nothing
/// while the session loads (what `ProtectedRoute` does, for a lazily loaded page).
#[component]
pub fn SignedIn(
    /// The page.
    children: ChildrenFn,
) -> impl IntoView {
    let auth = use_auth();
    // A memo: the page is rebuilt only when the answer changes, not on every session refetch.
    let signed_in = Memo::new(move |_| auth.signed_in());
    view! {
        <Transition>
            {move || {
                let children = children.clone();
                let signed_in = signed_in.get();
                Unsuspend::new(move || match signed_in {
                    Some(true) => children().into_any(),
                    Some(false) => view! { <Redirect path="/sign-in"/> }.into_any(),
                    None => ().into_any(),
                })
            }}
        </Transition>
    }
}

/// On the server: `<link rel="preload">` in the page's head for each wasm chunk of `route` (the
/// route type's name), from the manifest `cargo leptos build --split` writes, so the browser
/// fetches them alongside the main module instead of after it. Leptos 0.8 means to add these
/// itself, but looks the manifest up outside the page's reactive owner and so rarely finds it.
/// Nothing is added when there is no manifest (a build without `--split`).
#[cfg(feature = "ssr")]
fn preload_chunks(route: &str) {
    use leptos::tachys::view::RenderHtml;
    use leptos_meta::Link;
    use std::collections::HashMap;
    use std::sync::OnceLock;

    static MANIFEST: OnceLock<HashMap<String, Vec<String>>> = OnceLock::new();
    let Some(options) = use_context::<LeptosOptions>() else {
        return;
    };
    let pkg = options.site_pkg_dir.to_string();
    let manifest = MANIFEST.get_or_init(|| {
        let path = std::path::Path::new(options.site_root.as_ref())
            .join(&pkg)
            .join("__wasm_split_manifest.json");
        std::fs::read_to_string(path)
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default()
    });
    // The split a `#[lazy_route]` makes for type `FooRoute` is named `__foo_route_view_<hash>`.
    let prefix = format!("__{}_view_", snake_case(route));
    let Some(chunks) = manifest
        .iter()
        .find_map(|(key, chunks)| key.starts_with(&prefix).then_some(chunks))
    else {
        return;
    };
    for chunk in chunks {
        // Rendering a `Link` registers it with the head; nothing goes into the page's body.
        let _ = view! {
            <Link rel="preload" href=format!("/{pkg}/{chunk}.wasm") as_="fetch" type_="application/wasm" crossorigin="anonymous"/>
        }
        .to_html();
    }
}

/// `CanvasRoute` -> `canvas_route`.
#[cfg(feature = "ssr")]
fn snake_case(name: &str) -> String {
    let mut snake = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            snake.push('_');
        }
        snake.push(c.to_ascii_lowercase());
    }
    snake
}

/// Declares a lazily loaded route that shows `$page`, behind sign-in when marked `signed_in`.
macro_rules! page {
    ($(#[$doc:meta])* signed_in $route:ident => $page:path) => {
        $(#[$doc])*
        pub struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            fn view(_this: Self) -> AnyView {
                #[cfg(feature = "ssr")]
                preload_chunks(stringify!($route));
                view! { <MarkHydrated/><SignedIn>{$page()}</SignedIn> }.into_any()
            }
        }
    };
    ($(#[$doc:meta])* $route:ident => $page:path) => {
        $(#[$doc])*
        pub struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            fn view(_this: Self) -> AnyView {
                #[cfg(feature = "ssr")]
                preload_chunks(stringify!($route));
                view! { <MarkHydrated/>{$page()} }.into_any()
            }
        }
    };
}

page!(
    /// `/sign-in`
    SignInRoute => crate::account::SignInPage
);
page!(
    /// `/setup`: the first administrator.
    SetupRoute => crate::account::SetupPage
);
page!(
    /// `/workflows`
    signed_in WorkflowsRoute => crate::workflows::WorkflowsPage
);
page!(
    /// `/workflows/:id`: the canvas.
    signed_in CanvasRoute => crate::workflows::WorkflowCanvasPage
);
page!(
    /// `/runs`
    signed_in RunsRoute => crate::runs::RunsPage
);
page!(
    /// `/runs/:id`
    signed_in RunRoute => crate::runs::RunPage
);
page!(
    /// `/settings/connectors`
    signed_in ConnectorsRoute => crate::connectors::ConnectorsPage
);
page!(
    /// `/settings/administrators`
    signed_in AdministratorsRoute => crate::settings::AdministratorsPage
);
page!(
    /// `/settings/api-keys`
    signed_in ApiKeysRoute => crate::settings::ApiKeysPage
);
page!(
    /// `/account`
    signed_in AccountRoute => crate::account::AccountPage
);
page!(
    /// `/audit-log`
    signed_in AuditLogRoute => crate::audit::AuditLogPage
);

#[cfg(all(test, feature = "ssr"))]
mod tests {
    #[test]
    fn route_types_name_their_splits() {
        assert_eq!(super::snake_case("CanvasRoute"), "canvas_route");
        assert_eq!(super::snake_case("ApiKeysRoute"), "api_keys_route");
    }
}
