use leptos::prelude::*;

use crate::layout::{NotBuiltYet, PageHeader};

#[component]
pub fn RunsPage() -> impl IntoView {
    view! {
        <PageHeader title="Runs"/>
        <NotBuiltYet what="Runs will show every workflow run with its status, each step's request and response, and the errors to act on."/>
    }
}
