use domain::format_utc;
use leptos::prelude::*;

use super::RoleSelect;
use crate::auth::use_auth;
use crate::auth::{ApiKeyView, CreateApiKey, RevokeApiKey, list_api_keys};
use crate::components::{FormError, NotAllowed, clear_on_success, focus_after_render};
use crate::layout::PageHeader;
use domain::Permission;

/// Creates API keys (shown once), lists them and revokes them.
/// The page: the manager for an Administrator With Billing, a plain notice for anyone else
/// (the server refuses them in any case).
#[component]
pub fn ApiKeysPage() -> impl IntoView {
    let auth = use_auth();
    view! {
        <PageHeader title="API Keys" section="Settings"/>
        <Show
            when=move || auth.can(Permission::ManageAccess)
            fallback=|| view! { <NotAllowed what="manage API keys"/> }
        >
            <ApiKeysManager/>
        </Show>
    }
}

#[component]
fn ApiKeysManager() -> impl IntoView {
    let create = ServerAction::<CreateApiKey>::new();
    let revoke = ServerAction::<RevokeApiKey>::new();
    let keys = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        |_| list_api_keys(),
    );
    let created = Signal::derive(move || create.value().get());
    let form = NodeRef::new();
    clear_on_success(form, move || matches!(create.value().get(), Some(Ok(_))));
    // The key is shown once: the focus goes to it, so a screen reader reads it out and Ctrl+C
    // after Ctrl+A copies it (a status region inserted with its text is often not announced).
    Effect::new(move |_| {
        if matches!(create.value().get(), Some(Ok(_))) {
            focus_after_render("new-key-value".to_owned());
        }
    });
    let revoked = Signal::derive(move || revoke.value().get());

    view! {
        <p>"Scripts send a key in the " <code>"x-api-key"</code> " header. A key acts with the role it was given, except that no key manages accounts or API keys. It is revoked when the account that created it is disabled, or lowered below the key's role."</p>
        <section class="panel" aria-labelledby="new-key">
            <h2 id="new-key">"Create a key"</h2>
            <ActionForm action=create node_ref=form>
                <div class="form-grid">
                    <label for="key-name">"Name"</label>
                    <input id="key-name" type="text" name="name" placeholder="e.g. SIEM export" required/>
                    <label for="key-role">"Role"</label>
                    <RoleSelect id="key-role".into()/>
                    <label for="key-expiry">"Expires after (days)"</label>
                    <input id="key-expiry" type="number" name="expires_in_days" min="1" max="3650" aria-describedby="key-expiry-hint"/>
                </div>
                <p id="key-expiry-hint" class="hint">"Leave empty for a key that does not expire."</p>
                <FormError result=created/>
                <button type="submit" class="primary">"Create key"</button>
            </ActionForm>
            {move || create.value().get().and_then(Result::ok).map(|new| view! {
                <div class="notice" role="status">
                    <h3>"Copy the new key now"</h3>
                    <p>"It is shown only this once; Switchboard keeps only a hash of it."</p>
                    <label for="new-key-value">"New API key"</label>
                    <input id="new-key-value" type="text" readonly value=new.key class="key-value"/>
                </div>
            })}
        </section>

        <FormError result=revoked/>
        <Transition fallback=|| view! { <p>"Loading keys…"</p> }>
            {move || Suspend::new(async move {
                match keys.await {
                    Err(error) => view! { <p class="form-error" role="alert">{error.to_string()}</p> }.into_any(),
                    Ok(list) if list.is_empty() => view! { <p>"No API keys yet."</p> }.into_any(),
                    Ok(list) => view! {
                        <table class="data-table">
                            <caption class="visually-hidden">"API keys"</caption>
                            <thead><tr>
                                <th scope="col">"Prefix"</th><th scope="col">"Name"</th><th scope="col">"Role"</th>
                                <th scope="col">"Created by"</th><th scope="col">"Last used"</th>
                                <th scope="col">"Expires"</th><th scope="col">"Status"</th>
                            </tr></thead>
                            <tbody>{list.into_iter().map(|key| view! { <KeyRow key revoke/> }).collect_view()}</tbody>
                        </table>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn KeyRow(key: ApiKeyView, revoke: ServerAction<RevokeApiKey>) -> impl IntoView {
    let when = |at: Option<i64>, none: &'static str| at.map_or_else(|| none.to_owned(), format_utc);
    let (prefix, revoke_label) = (key.prefix.clone(), format!("Revoke {}", key.prefix));
    let status = if key.revoked_at.is_some() {
        view! { <span>"Revoked"</span> }.into_any()
    } else {
        view! {
            <ActionForm action=revoke>
                <input type="hidden" name="prefix" value=prefix/>
                <button type="submit" class="danger" aria-label=revoke_label>"Revoke"</button>
            </ActionForm>
        }
        .into_any()
    };
    view! {
        <tr>
            <td><code>{key.prefix}</code></td>
            <td>{key.name}</td>
            <td>{key.role.label()}</td>
            <td>{key.created_by}</td>
            <td>{when(key.last_used_at, "Never")}</td>
            <td>{when(key.expires_at, "Never")}</td>
            <td>{status}</td>
        </tr>
    }
}
