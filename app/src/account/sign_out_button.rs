use leptos::prelude::*;

use crate::auth::use_auth;

/// The signed-in person's name and a *Sign out* button (a form, so it works without JavaScript).
#[component]
pub fn SignOutButton() -> impl IntoView {
    let auth = use_auth();
    move || {
        auth.user().map(|user| {
            view! {
                <div class="user-menu">
                    <a class="user-name" href="/account" title="Your account">{user.name} " · " {user.role.label()}</a>
                    <ActionForm action=auth.sign_out>
                        <button type="submit" class="nav-toggle">"Sign out"</button>
                    </ActionForm>
                </div>
            }
        })
    }
}
