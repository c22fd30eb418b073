use leptos::prelude::*;
use leptos_router::components::Redirect;

use crate::auth::use_auth;
use crate::components::FormError;
use crate::layout::PageHeader;

/// Email and password. Redirects to the first-run setup while no account exists, and to the
/// workflows once signed in.
#[component]
pub fn SignInPage() -> impl IntoView {
    let auth = use_auth();
    let result = Signal::derive(move || auth.sign_in.value().get());
    view! {
        <PageHeader title="Sign in"/>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let info = auth.session.await;
                match info {
                    Ok(info) if info.setup_needed => view! { <Redirect path="/setup"/> }.into_any(),
                    Ok(info) if info.user.is_some() => view! { <Redirect path="/workflows"/> }.into_any(),
                    _ => view! {
                        <ActionForm action=auth.sign_in>
                            <div class="form-grid">
                                <label for="sign-in-email">"Email"</label>
                                <input id="sign-in-email" type="email" name="email" autocomplete="username" required/>
                                <label for="sign-in-password">"Password"</label>
                                <input id="sign-in-password" type="password" name="password" autocomplete="current-password" required/>
                            </div>
                            <FormError result/>
                            <button type="submit" class="primary">"Sign in"</button>
                        </ActionForm>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}
