//! Switchboard's UI: the app shell, its routes and (later) the server-function declarations.
//!
//! Compiled twice: with `ssr` into the server, which renders every page to HTML, and with
//! `hydrate` into the browser bundle, which makes that HTML interactive.

pub mod audit;
pub mod auth;
pub mod connectors;
pub mod errors;
pub mod layout;
pub mod runs;
pub mod workflows;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::{Redirect, Route, Router, Routes};
use leptos_router::path;

use audit::AuditLogPage;
use connectors::ConnectorsPage;
use errors::{ErrorPage, NotFoundPage};
use layout::AppLayout;
use runs::RunsPage;
use workflows::WorkflowsPage;

/// The HTML document around the app, rendered only on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
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
                        <Route path=path!("/workflows") view=WorkflowsPage/>
                        <Route path=path!("/runs") view=RunsPage/>
                        <Route path=path!("/settings/connectors") view=ConnectorsPage/>
                        <Route path=path!("/audit-log") view=AuditLogPage/>
                    </Routes>
                </ErrorBoundary>
            </AppLayout>
        </Router>
    }
}
