use leptos::prelude::*;
use leptos_router::components::Redirect;

use crate::auth::use_auth;
use crate::components::FormError;
use crate::layout::PageHeader;

/// *Create the first administrator*: shown only while no account exists. The account becomes
/// an Administrator With Billing and is signed in.
#[component]
pub fn SetupPage() -> impl IntoView {
    let auth = use_auth();
    let result = Signal::derive(move || auth.setup.value().get());
    view! {
        <PageHeader title="Create the first administrator"/>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match auth.session.await {
                    Ok(info) if !info.setup_needed => view! { <Redirect path="/workflows"/> }.into_any(),
                    _ => view! {
                        <p>"No account exists yet. The account you create here can manage everything, including other administrators and API keys."</p>
                        <ActionForm action=auth.setup>
                            <div class="form-grid">
                                <label for="setup-email">"Email"</label>
                                <input id="setup-email" type="email" name="email" autocomplete="username" required/>
                                <label for="setup-name">"Name"</label>
                                <input id="setup-name" type="text" name="name" autocomplete="name" required/>
                                <label for="setup-password">"Password"</label>
                                <input id="setup-password" type="password" name="password" autocomplete="new-password" minlength="12" required aria-describedby="setup-password-hint"/>
                                <label for="setup-password-again">"Password again"</label>
                                <input id="setup-password-again" type="password" name="password_again" autocomplete="new-password" minlength="12" required/>
                            </div>
                            <p id="setup-password-hint" class="hint">"At least 12 characters. A phrase of several words is easy to remember and hard to guess."</p>
                            <FormError result/>
                            <button type="submit" class="primary">"Create administrator"</button>
                        </ActionForm>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}
