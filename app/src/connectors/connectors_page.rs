use leptos::prelude::*;

use crate::layout::{NotBuiltYet, PageHeader};

#[component]
pub fn ConnectorsPage() -> impl IntoView {
    view! {
        <PageHeader title="Connectors" section="Settings"/>
        <NotBuiltYet what="Connectors will register each external API once — base URL, authentication and headers — with secrets that never leave the server."/>
    }
}
