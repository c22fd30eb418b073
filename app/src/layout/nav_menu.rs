use leptos::prelude::*;
use leptos_router::components::A;

/// The main navigation. `A` marks the current page with `aria-current="page"`.
#[component]
pub fn NavMenu() -> impl IntoView {
    view! {
        <ul class="nav-list">
            <li><A href="/workflows">"Workflows"</A></li>
            <li><A href="/runs">"Runs"</A></li>
            <li>
                <span class="nav-group" id="nav-settings">"Settings"</span>
                <ul class="nav-sublist" aria-labelledby="nav-settings">
                    <li><A href="/settings/connectors">"Connectors"</A></li>
                </ul>
            </li>
            <li><A href="/audit-log">"Audit log"</A></li>
        </ul>
    }
}
