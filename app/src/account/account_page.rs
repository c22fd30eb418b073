use leptos::prelude::*;

use crate::auth::{ChangeOwnPassword, use_auth};
use crate::components::{FormError, clear_on_success};
use crate::layout::PageHeader;

/// The signed-in person's own account: who they are, and a password change.
#[component]
pub fn AccountPage() -> impl IntoView {
    let auth = use_auth();
    let change = ServerAction::<ChangeOwnPassword>::new();
    let result = Signal::derive(move || change.value().get());
    let form = NodeRef::new();
    clear_on_success(form, move || matches!(change.value().get(), Some(Ok(()))));
    view! {
        <PageHeader title="Your account"/>
        {move || auth.user().map(|user| view! {
            <dl class="facts">
                <dt>"Email"</dt><dd>{user.email}</dd>
                <dt>"Name"</dt><dd>{user.name}</dd>
                <dt>"Role"</dt><dd>{user.role.label()}</dd>
            </dl>
        })}
        <section class="panel" aria-labelledby="change-password">
            <h2 id="change-password">"Change password"</h2>
            <p class="hint">"Changing it signs you out everywhere else."</p>
            <ActionForm action=change node_ref=form>
                <div class="form-grid">
                    <label for="current-password">"Current password"</label>
                    <input id="current-password" type="password" name="current_password" autocomplete="current-password" required/>
                    <label for="new-password">"New password"</label>
                    <input id="new-password" type="password" name="new_password" autocomplete="new-password" minlength="12" required/>
                    <label for="new-password-again">"New password again"</label>
                    <input id="new-password-again" type="password" name="new_password_again" autocomplete="new-password" minlength="12" required/>
                </div>
                <FormError result/>
                {move || matches!(change.value().get(), Some(Ok(()))).then(|| view! {
                    <p role="status">"Password changed. Your other sessions have ended."</p>
                })}
                <button type="submit" class="primary">"Change password"</button>
            </ActionForm>
        </section>
    }
}
