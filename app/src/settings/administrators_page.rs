use leptos::prelude::*;

use super::RoleSelect;
use crate::auth::use_auth;
use crate::auth::{AccountView, CreateAccount, ResetPassword, UpdateAccount, list_accounts};
use crate::components::{FormError, NotAllowed, clear_on_success};
use crate::layout::PageHeader;
use domain::Permission;

/// Lists accounts; creates them, changes roles, disables and resets passwords.
/// The page: the manager for an Administrator With Billing, a plain notice for anyone else
/// (the server refuses them in any case).
#[component]
pub fn AdministratorsPage() -> impl IntoView {
    let auth = use_auth();
    view! {
        <PageHeader title="Administrators" section="Settings"/>
        <Show
            when=move || auth.can(Permission::ManageAccess)
            fallback=|| view! { <NotAllowed what="manage accounts"/> }
        >
            <AccountsManager/>
        </Show>
    }
}

#[component]
fn AccountsManager() -> impl IntoView {
    let create = ServerAction::<CreateAccount>::new();
    let update = ServerAction::<UpdateAccount>::new();
    let reset = ServerAction::<ResetPassword>::new();
    let accounts = Resource::new(
        move || (create.version().get(), update.version().get()),
        |_| list_accounts(),
    );
    let created = Signal::derive(move || create.value().get());
    let form = NodeRef::new();
    clear_on_success(form, move || matches!(create.value().get(), Some(Ok(_))));
    let updated = Signal::derive(move || update.value().get());
    let was_reset = Signal::derive(move || reset.value().get());

    view! {
        <p class="hint">"An API key is only as good as the account that created it: disabling an account revokes every key it created, and lowering its role revokes those above the new role. The audit log names them."</p>
        <Transition fallback=|| view! { <p>"Loading accounts…"</p> }>
            {move || Suspend::new(async move {
                match accounts.await {
                    Err(error) => view! { <p class="form-error" role="alert">{error.to_string()}</p> }.into_any(),
                    Ok(list) => view! {
                        <table class="data-table">
                            <caption class="visually-hidden">"Accounts"</caption>
                            <thead><tr>
                                <th scope="col">"Email"</th><th scope="col">"Name"</th>
                                <th scope="col">"Role and status"</th><th scope="col">"Password"</th>
                            </tr></thead>
                            <tbody>
                                {list.into_iter().map(|account| view! { <AccountRow account update reset/> }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                }
            })}
        </Transition>
        <FormError result=updated/>
        <FormError result=was_reset/>
        {move || matches!(reset.value().get(), Some(Ok(()))).then(|| view! {
            <p role="status">"Password reset. The account's sessions have ended; tell its owner the new password."</p>
        })}

        <section class="panel" aria-labelledby="new-account">
            <h2 id="new-account">"Add an administrator"</h2>
            <ActionForm action=create node_ref=form>
                <div class="form-grid">
                    <label for="new-email">"Email"</label>
                    <input id="new-email" type="email" name="email" required/>
                    <label for="new-name">"Name"</label>
                    <input id="new-name" type="text" name="name" required/>
                    <label for="new-role">"Role"</label>
                    <RoleSelect id="new-role".into()/>
                    <label for="new-password">"Initial password"</label>
                    <input id="new-password" type="password" name="password" autocomplete="new-password" minlength="12" required/>
                </div>
                <FormError result=created/>
                <button type="submit" class="primary">"Add administrator"</button>
            </ActionForm>
        </section>
    }
}

/// One account: a form to change its role and status, and one to reset its password.
#[component]
fn AccountRow(
    account: AccountView,
    update: ServerAction<UpdateAccount>,
    reset: ServerAction<ResetPassword>,
) -> impl IntoView {
    let role_id = format!("role-{}", account.id);
    let status_id = format!("status-{}", account.id);
    let password_id = format!("password-{}", account.id);
    let (id, id_again) = (account.id.clone(), account.id.clone());
    let email = account.email.clone();
    let (role_label, status_label, password_label) = (
        format!("Role of {email}"),
        format!("Status of {email}"),
        format!("New password for {email}"),
    );
    let (save_label, reset_label) = (
        format!("Save role and status of {email}"),
        format!("Reset password of {email}"),
    );
    let reset_form = NodeRef::new();
    clear_on_success(reset_form, move || {
        matches!(reset.value().get(), Some(Ok(())))
    });
    view! {
        <tr>
            <td>{email}</td>
            <td>{account.name}</td>
            <td>
                <ActionForm action=update>
                    <input type="hidden" name="id" value=id/>
                    // As shown: a change someone made since is refused, not undone.
                    <input type="hidden" name="shown_role" value=account.role.as_str()/>
                    <input type="hidden" name="shown_disabled" value=account.disabled.to_string()/>
                    <label for=role_id.clone() class="visually-hidden">{role_label}</label>
                    <RoleSelect id=role_id selected=account.role/>
                    <label for=status_id.clone() class="visually-hidden">{status_label}</label>
                    <select id=status_id name="disabled">
                        <option value="false" selected=!account.disabled>"Enabled"</option>
                        <option value="true" selected=account.disabled>"Disabled"</option>
                    </select>
                    <button type="submit" aria-label=save_label>"Save"</button>
                </ActionForm>
            </td>
            <td>
                <ActionForm action=reset node_ref=reset_form>
                    <input type="hidden" name="id" value=id_again/>
                    <label for=password_id.clone() class="visually-hidden">{password_label}</label>
                    <input id=password_id type="password" name="password" autocomplete="new-password" minlength="12" required/>
                    <button type="submit" aria-label=reset_label>"Reset password"</button>
                </ActionForm>
            </td>
        </tr>
    }
}
