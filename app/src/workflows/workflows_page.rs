use leptos::prelude::*;

use crate::layout::{NotBuiltYet, PageHeader};

#[component]
pub fn WorkflowsPage() -> impl IntoView {
    view! {
        <PageHeader title="Workflows"/>
        <NotBuiltYet what="Workflows will list your automations and open each one on a canvas, where a trigger starts a chain of External App Connector actions."/>
    }
}
