use domain::Permission;
use leptos::prelude::*;
use leptos_router::components::A;

use crate::auth::use_auth;

/// The main navigation. `A` marks the current page with `aria-current="page"`. Pages the role
/// cannot use are not listed (the server refuses them anyway).
#[component]
pub fn NavMenu() -> impl IntoView {
    let auth = use_auth();
    let manages_access = move || auth.can(Permission::ManageAccess);
    view! {
        <ul class="nav-list">
            <li><A href="/workflows">"Workflows"</A></li>
            <li><A href="/runs">"Runs"</A></li>
            <li>
                <span class="nav-group" id="nav-settings">"Settings"</span>
                <ul class="nav-sublist" aria-labelledby="nav-settings">
                    <li><A href="/settings/connectors">"Connectors"</A></li>
                    <Show when=manages_access>
                        <li><A href="/settings/administrators">"Administrators"</A></li>
                        <li><A href="/settings/api-keys">"API Keys"</A></li>
                    </Show>
                </ul>
            </li>
            <li><A href="/audit-log">"Audit log"</A></li>
        </ul>
    }
}
