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
pub mod runs;
pub mod settings;
pub mod triggers;
pub mod workflows;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::{ProtectedRoute, Redirect, Route, Router, Routes};
use leptos_router::{SsrMode, path};

use account::{AccountPage, SetupPage, SignInPage};
use audit::AuditLogPage;
use auth::AuthState;
use connectors::ConnectorsPage;
use errors::{ErrorPage, NotFoundPage};
use layout::AppLayout;
use runs::{RunPage, RunsPage};
use settings::{AdministratorsPage, ApiKeysPage};
use workflows::{WorkflowCanvasPage, WorkflowsPage};

/// The HTML document around the app, rendered only on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
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
    let auth = AuthState::provide();
    // Pages behind sign-in render only once the session is known (`SsrMode::Async`), so the
    // server can answer with a redirect instead of streaming a page that then has to move.
    let signed_in = move || auth.signed_in();
    let to_sign_in = || "/sign-in";

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
                        <Route path=path!("/sign-in") view=SignInPage ssr=SsrMode::Async/>
                        <Route path=path!("/setup") view=SetupPage ssr=SsrMode::Async/>
                        <ProtectedRoute path=path!("/workflows") view=WorkflowsPage condition=signed_in redirect_path=to_sign_in ssr=SsrMode::Async/>
                        <ProtectedRoute path=path!("/workflows/:id") view=WorkflowCanvasPage condition=signed_in redirect_path=to_sign_in ssr=SsrMode::Async/>
                        <ProtectedRoute path=path!("/runs") view=RunsPage condition=signed_in redirect_path=to_sign_in ssr=SsrMode::Async/>
                        <ProtectedRoute path=path!("/runs/:id") view=RunPage condition=signed_in redirect_path=to_sign_in ssr=SsrMode::Async/>
                        <ProtectedRoute path=path!("/settings/connectors") view=ConnectorsPage condition=signed_in redirect_path=to_sign_in ssr=SsrMode::Async/>
                        <ProtectedRoute path=path!("/settings/administrators") view=AdministratorsPage condition=signed_in redirect_path=to_sign_in ssr=SsrMode::Async/>
                        <ProtectedRoute path=path!("/settings/api-keys") view=ApiKeysPage condition=signed_in redirect_path=to_sign_in ssr=SsrMode::Async/>
                        <ProtectedRoute path=path!("/account") view=AccountPage condition=signed_in redirect_path=to_sign_in ssr=SsrMode::Async/>
                        <ProtectedRoute path=path!("/audit-log") view=AuditLogPage condition=signed_in redirect_path=to_sign_in ssr=SsrMode::Async/>
                    </Routes>
                </ErrorBoundary>
            </AppLayout>
        </Router>
    }
}
