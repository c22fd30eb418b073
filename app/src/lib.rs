//! Switchboard's UI: the app shell, its routes and (later) the server-function declarations.
//!
//! Compiled twice: with `ssr` into the server, which renders every page to HTML, and with
//! `hydrate` into the browser bundle, which makes that HTML interactive.

// Large pages (the canvas, the connector form) nest deep view types.
#![recursion_limit = "256"]

pub mod account;
pub mod audit;
pub mod auth;
pub mod components;
pub mod connectors;
pub mod errors;
pub mod layout;
pub mod routes;
pub mod runs;
pub mod settings;
pub mod triggers;
pub mod workflows;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::{Redirect, Route, Router, Routes};
use leptos_router::{Lazy, SsrMode, path};

use auth::AuthState;
use errors::{ErrorPage, NotFoundPage};
use layout::AppLayout;
use routes::*;

/// The HTML document around the app, rendered only on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    // For the pages' chunk preloads (`routes`): where the built assets are.
    provide_context(options.clone());
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                // No icon yet; this stops browsers asking for /favicon.ico.
                <link rel="icon" href="data:,"/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    AuthState::provide();
    // Each page is loaded when it is opened (`routes`). Pages render only once the session is
    // known (`SsrMode::Async`), so the server can answer with a redirect instead of streaming
    // a page that then has to move.

    view! {
        <Stylesheet id="switchboard" href="/pkg/switchboard.css"/>
        <Title formatter=|page: String| {
            if page.is_empty() { "Switchboard".to_owned() } else { format!("{page} · Switchboard") }
        }/>
        <Router>
            <AppLayout>
                <ErrorBoundary fallback=|errors| view! { <ErrorPage errors/> }>
                    <Routes fallback=NotFoundPage>
                        <Route path=path!("/") view=|| view! { <Redirect path="/workflows"/> }/>
                        <Route path=path!("/sign-in") view={Lazy::<SignInRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=path!("/setup") view={Lazy::<SetupRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=path!("/workflows") view={Lazy::<WorkflowsRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=path!("/workflows/:id") view={Lazy::<CanvasRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=path!("/runs") view={Lazy::<RunsRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=path!("/runs/:id") view={Lazy::<RunRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=path!("/settings/connectors") view={Lazy::<ConnectorsRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=path!("/settings/administrators") view={Lazy::<AdministratorsRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=path!("/settings/api-keys") view={Lazy::<ApiKeysRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=path!("/account") view={Lazy::<AccountRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=path!("/audit-log") view={Lazy::<AuditLogRoute>::new()} ssr=SsrMode::Async/>
                    </Routes>
                </ErrorBoundary>
            </AppLayout>
        </Router>
    }
}
