use leptos::prelude::*;

use crate::layout::{NotBuiltYet, PageHeader};

#[component]
pub fn AuditLogPage() -> impl IntoView {
    view! {
        <PageHeader title="Audit log"/>
        <NotBuiltYet what="The audit log will list every sign-in, account change and configuration change, newest first, with filters and CSV export."/>
    }
}
