use std::collections::BTreeMap;

use domain::connector::{
    AuthInput, AuthKind, AuthSettings, BaseUrl, ConnectorHeader, ConnectorInput,
};
use leptos::prelude::*;

use super::{
    ConnectionTest, ConnectorView, DeleteConnector, SaveConnector, TestConnector,
    connector_name_taken, connector_usage,
};
use crate::auth::AppError;
use crate::components::{Confirm, focus_after_render, problem_marks};

/// One header row; `id` keeps the row's identity while rows are added and removed.
#[derive(Debug, Clone, Copy)]
struct HeaderRow {
    id: u32,
    key: RwSignal<String>,
    value: RwSignal<String>,
    /// Sent as a secret header: stored encrypted, never shown again.
    secret: RwSignal<bool>,
    /// The name it was loaded with as a stored secret header: left empty under that name, the
    /// value keeps the stored one.
    stored_secret: StoredValue<Option<String>>,
}

/// The add/edit form. Built from signals (the authentication tabs and header rows change what is
/// shown); it sends a `ConnectorInput` the server validates with the same domain code.
#[component]
pub fn ConnectorForm(
    /// The connector being edited, or `None` to add one.
    existing: Option<ConnectorView>,
    /// Called to close the form: after a save or delete with what to tell the user, after
    /// Cancel with nothing.
    on_done: Callback<Option<&'static str>>,
) -> impl IntoView {
    let id = existing.as_ref().map(|c| c.id.clone());
    let stored_kind = existing.as_ref().map(|c| c.auth.kind());
    let has_secret = existing.as_ref().is_some_and(|c| c.has_secret);
    let title = existing.as_ref().map_or_else(
        || "Add connector".to_owned(),
        |c| format!("Edit {}", c.name),
    );
    let stored_name = existing
        .as_ref()
        .map(|c| c.name.clone())
        .unwrap_or_default();

    let enabled = RwSignal::new(existing.as_ref().is_none_or(|c| c.enabled));
    let name = RwSignal::new(stored_name.clone());
    let base_url = RwSignal::new(
        existing
            .as_ref()
            .map(|c| c.base_url.clone())
            .unwrap_or_default(),
    );
    let kind = RwSignal::new(stored_kind.unwrap_or(AuthKind::None));
    let (mut username, mut header_name, mut param_name) = Default::default();
    match existing.as_ref().map(|c| &c.auth) {
        Some(AuthSettings::Basic { username: u }) => username = u.clone(),
        Some(AuthSettings::Header { header_name: h }) => header_name = h.clone(),
        Some(AuthSettings::Query { param_name: p }) => param_name = p.clone(),
        _ => {}
    }
    let (username, header_name, param_name) = (
        RwSignal::new(username),
        RwSignal::new(header_name),
        RwSignal::new(param_name),
    );
    let secret = RwSignal::new(String::new());
    // An edit keeps the stored secret until the admin chooses Replace or another type.
    let replacing = RwSignal::new(!has_secret);
    let next_row = StoredValue::new(0_u32);
    let new_row = move |key: String, value: String, secret: bool| {
        let id = next_row.get_value();
        next_row.set_value(id + 1);
        let stored_secret = StoredValue::new(secret.then(|| key.clone()));
        HeaderRow {
            id,
            key: RwSignal::new(key),
            value: RwSignal::new(value),
            secret: RwSignal::new(secret),
            stored_secret,
        }
    };
    // What the save is made from: a change saved since by someone else is not overwritten.
    let opened_at = existing.as_ref().map(|c| c.updated_at);
    let rows = RwSignal::new(
        existing
            .as_ref()
            .map(|c| {
                c.headers
                    .iter()
                    .map(|h| new_row(h.key.clone(), h.value.clone(), h.secret))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default(),
    );
    let test_path = RwSignal::new(String::new());

    let choose_kind = move |k: AuthKind| {
        kind.set(k);
        secret.set(String::new());
        // Another type's secret is never reused; coming back to the stored type keeps it.
        replacing.set(!(has_secret && Some(k) == stored_kind));
    };

    let build = move || {
        let k = kind.get_untracked();
        let typed = |on: bool, s: RwSignal<String>| on.then(|| s.get_untracked());
        let secret_sent = replacing.get_untracked();
        ConnectorInput {
            name: name.get_untracked(),
            enabled: enabled.get_untracked(),
            base_url: base_url.get_untracked(),
            auth: AuthInput {
                kind: Some(k),
                username: typed(k == AuthKind::Basic, username),
                password: typed(k == AuthKind::Basic && secret_sent, secret),
                token: typed(k == AuthKind::Bearer && secret_sent, secret),
                header_name: typed(k == AuthKind::Header, header_name),
                param_name: typed(k == AuthKind::Query, param_name),
                api_key: typed(
                    matches!(k, AuthKind::Header | AuthKind::Query) && secret_sent,
                    secret,
                ),
            },
            headers: rows
                .get_untracked()
                .iter()
                .map(|r| ConnectorHeader {
                    key: r.key.get_untracked(),
                    value: r.value.get_untracked(),
                    secret: r.secret.get_untracked(),
                })
                .collect(),
            updated_at: opened_at,
        }
    };

    let save = ServerAction::<SaveConnector>::new();
    let test = ServerAction::<TestConnector>::new();
    let delete = ServerAction::<DeleteConnector>::new();
    let errors = RwSignal::new(BTreeMap::<String, String>::new());
    let summary = RwSignal::new(None::<String>);
    let show = move |result: Option<Result<(), AppError>>| match result {
        Some(Err(error)) => {
            let fields = error.field_map();
            // The summary names the fields, as the save button is far below most of them.
            let named: Vec<String> = fields.keys().map(|f| form_field(f).label).collect();
            summary.set(Some(if named.is_empty() {
                error.to_string()
            } else {
                format!(
                    "{}: {}.",
                    error.to_string().trim_end_matches('.'),
                    named.join(", ")
                )
            }));
            errors.set(fields);
        }
        Some(Ok(())) => {
            errors.set(BTreeMap::new());
            summary.set(None);
        }
        None => {}
    };
    Effect::new(move |_| {
        let result = save.value().get();
        let saved = matches!(result, Some(Ok(_)));
        show(result.map(|r| r.map(|_| ())));
        if saved {
            on_done.run(Some("Connector saved."));
        } else if let Some(id) = errors.with_untracked(|e| first_to_fix(e.keys())) {
            // A refused save takes the keyboard to the first field to fix.
            focus_after_render(id);
        }
    });
    Effect::new(move |_| show(test.value().get().map(|r| r.map(|_| ()))));
    Effect::new(move |_| {
        let result = delete.value().get();
        let deleted = matches!(result, Some(Ok(_)));
        show(result);
        if deleted {
            on_done.run(Some("Connector deleted."));
        }
    });
    let error_for = move |field: &'static str| {
        move || {
            errors.with(|e| e.get(field).cloned()).map(|message| {
                view! { <p class="field-error" id=format!("{field}-error")>{message}</p> }
            })
        }
    };
    // An input is marked invalid, and names its error (read with it by screen readers), while
    // it has one.
    let marks = move |field: &'static str| {
        problem_marks(
            move || errors.with(|e| e.contains_key(field)),
            move || format!("{field}-error"),
        )
    };

    // The name check as you type; the server checks again on save.
    let except = id.clone();
    let name_taken = LocalResource::new(move || {
        let typed = name.get();
        let except = except.clone();
        async move {
            if typed.trim().is_empty() {
                return None;
            }
            connector_name_taken(typed, except).await.ok().flatten()
        }
    });
    let plain_http = move || BaseUrl::parse(&base_url.get()).is_ok_and(|u| u.is_plain_http());
    let confirm = Confirm::new("connector-delete", "connector-delete-keep");
    let confirming = confirm.showing;

    let save_id = id.clone();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        save.dispatch(SaveConnector {
            id: save_id.clone(),
            input: build(),
        });
    };
    let test_id = StoredValue::new(id.clone());
    let run_test = move || {
        test.dispatch(TestConnector {
            id: test_id.get_value(),
            input: build(),
            test_path: test_path.get_untracked(),
        });
    };
    // Enter in the test path tests the connection, as its button does, instead of saving the
    // form (and closing it) as Enter in a form's field otherwise would.
    let test_on_enter = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Enter" {
            ev.prevent_default();
            run_test();
        }
    };

    let secret_label = move || match kind.get() {
        AuthKind::Basic => "Password",
        AuthKind::Bearer => "Token",
        _ => "API key",
    };
    let secret_field = move || kind.get().secret_field().unwrap_or("auth.api_key");
    let secret_input = move || {
        if kind.get() == AuthKind::None {
            return None;
        }
        let field = secret_field();
        Some(if replacing.get() {
            let keep = (has_secret && Some(kind.get()) == stored_kind).then(|| {
                view! {
                    <button type="button" on:click=move |_| { secret.set(String::new()); replacing.set(false); }>
                        "Keep the stored one"
                    </button>
                }
            });
            view! {
                <label for="connector-secret">{secret_label}</label>
                <div>
                    <input id="connector-secret" type="password" autocomplete="new-password"
                        bind:value=secret aria-invalid=marks(field).invalid()
                        aria-describedby=marks(field).described_by()/>
                    {keep}
                    {move || error_for_dyn(errors, field)}
                </div>
            }
            .into_any()
        } else {
            view! {
                <span class="label" id="connector-secret-label">{secret_label}</span>
                <div role="group" aria-labelledby="connector-secret-label">
                    <span class="secret-set">"•••••• set"</span>
                    " "
                    <button type="button" aria-label=move || format!("Replace {}", secret_label().to_lowercase())
                        on:click=move |_| replacing.set(true)>
                        "Replace"
                    </button>
                    {move || error_for_dyn(errors, field)}
                </div>
            }
            .into_any()
        })
    };

    let test_result = move || {
        test.value()
            .get()
            .and_then(Result::ok)
            .map(|result: ConnectionTest| {
                let headline = match (result.status, result.ok) {
                    (Some(status), true) => format!(
                        "Connected: {status} {} in {} ms.",
                        result.status_text.clone().unwrap_or_default(),
                        result.latency_ms
                    ),
                    (Some(status), false) => format!(
                        "Reached the API: {status} {} in {} ms.",
                        result.status_text.clone().unwrap_or_default(),
                        result.latency_ms
                    ),
                    (None, _) => "Could not connect.".to_owned(),
                };
                view! {
                    <div class=if result.ok { "notice" } else { "notice error" }>
                        <p><strong>{headline}</strong></p>
                        <p><code>{result.request}</code></p>
                        {result.reason.map(|reason| view! { <p>{reason}</p> })}
                    </div>
                }
            })
    };

    let action_delete_id = id.clone();
    let delete_id = id;
    let basics = view! {
        <div class="form-grid">
                    <span class="label" id="connector-status-label">"Status"</span>
                    <div role="radiogroup" aria-labelledby="connector-status-label" class="segmented">
                        <label>
                            <input type="radio" name="connector-status" prop:checked=move || enabled.get()
                                on:change=move |_| enabled.set(true)/>
                            " Enabled"
                        </label>
                        <label>
                            <input type="radio" name="connector-status" prop:checked=move || !enabled.get()
                                on:change=move |_| enabled.set(false)/>
                            " Disabled"
                        </label>
                    </div>

                    <label for="connector-name">"Name"</label>
                    <div>
                        <input id="connector-name" type="text" bind:value=name maxlength="100" required
                            aria-invalid=marks("name").invalid()
                            aria-describedby=marks("name").described_by()/>
                        {error_for("name")}
                        {move || {
                            let server_error = errors.with(|e| e.contains_key("name"));
                            name_taken.get().flatten().filter(|_| !server_error).map(|message| {
                                view! { <p class="field-error" role="status">{message}</p> }
                            })
                        }}
                    </div>

                    <label for="connector-base-url">"Base URL"</label>
                    <div>
                        <input id="connector-base-url" type="url" bind:value=base_url
                            placeholder="https://api.example.com/v1" required
                            aria-invalid=marks("base_url").invalid()
                            aria-describedby=marks("base_url").described_by()/>
                        {error_for("base_url")}
                        <Show when=plain_http>
                            <p class="warning" role="note">
                                "Plain http: credentials and data cross the network unencrypted. Use https unless this network is trusted."
                            </p>
                        </Show>
                    </div>

        </div>
    }
    .into_any();
    let auth = view! {
        <div class="form-grid">
                    <span class="label" id="connector-auth-label">"Authentication"</span>
                    <div role="radiogroup" aria-labelledby="connector-auth-label" class="segmented">
                        {AuthKind::ALL.into_iter().map(|k| view! {
                            <label>
                                <input type="radio" name="connector-auth" prop:checked=move || kind.get() == k
                                    on:change=move |_| choose_kind(k)/>
                                " " {k.label()}
                            </label>
                        }).collect_view()}
                    </div>

                    <Show when=move || kind.get() == AuthKind::Basic>
                        <label for="connector-username">"Username"</label>
                        <div>
                            <input id="connector-username" type="text" autocomplete="off" bind:value=username
                                aria-invalid=marks("auth.username").invalid()
                                aria-describedby=marks("auth.username").described_by()/>
                            {error_for("auth.username")}
                        </div>
                    </Show>
                    <Show when=move || kind.get() == AuthKind::Header>
                        <label for="connector-header-name">"Header name"</label>
                        <div>
                            <input id="connector-header-name" type="text" autocomplete="off" bind:value=header_name
                                placeholder="X-Api-Key"
                                aria-invalid=marks("auth.header_name").invalid()
                                aria-describedby=marks("auth.header_name").described_by()/>
                            {error_for("auth.header_name")}
                        </div>
                    </Show>
                    <Show when=move || kind.get() == AuthKind::Query>
                        <label for="connector-param-name">"Parameter name"</label>
                        <div>
                            <input id="connector-param-name" type="text" autocomplete="off" bind:value=param_name
                                placeholder="apiKey"
                                aria-invalid=marks("auth.param_name").invalid()
                                aria-describedby=marks("auth.param_name").described_by()/>
                            {error_for("auth.param_name")}
                        </div>
                    </Show>
                    {secret_input}
        </div>
    }
    .into_any();
    let headers = view! {
                <fieldset class="headers">
                    <legend>"Headers"</legend>
                    <p class="hint">"Sent with every request through this connector, e.g. Content-Type: application/json. "
                        "Mark a header Secret when its value is a credential (a second API key, a custom Authorization scheme): "
                        "it is stored encrypted and never shown again."</p>
                    {error_for("headers")}
                    <For each=move || rows.get() key=|row| row.id let:row>
                        <HeaderRowView row rows errors/>
                    </For>
                    <button type="button" on:click=move |_| rows.update(|r| r.push(new_row(String::new(), String::new(), false)))>
                        "Add Header"
                    </button>
                </fieldset>
    }
    .into_any();
    let tester = view! {
                <fieldset class="test-connection">
                    <legend>"Test connection"</legend>
                    <label for="connector-test-path">"Test path (optional)"</label>
                    " "
                    <input id="connector-test-path" type="text" bind:value=test_path placeholder="/myself" on:keydown=test_on_enter
                        aria-invalid=marks("test_path").invalid()
                        aria-describedby=marks("test_path").described_by()/>
                    {error_for("test_path")}
                    " "
                    <button type="button" on:click=move |_| run_test() disabled=move || test.pending().get()>
                        {move || if test.pending().get() { "Testing…" } else { "Test connection" }}
                    </button>
                    <div role="status" aria-live="polite">{test_result}</div>
                </fieldset>
    }
    .into_any();
    let actions = view! {
                {move || summary.get().map(|message| view! { <p class="form-error" role="alert">{message}</p> })}
                <div class="form-actions">
                    <button type="submit" class="primary" disabled=move || save.pending().get()>"Save"</button>
                    <button type="button" on:click=move |_| on_done.run(None)>"Cancel"</button>
                    {action_delete_id.map(|_| view! {
                        <button type="button" class="danger" id="connector-delete" on:click=move |_| confirm.open()>"Delete connector"</button>
                    })}
                </div>
    }
    .into_any();
    view! {
        <section class="panel connector-form" aria-labelledby="connector-form-title">
            <h2 id="connector-form-title" tabindex="-1">{title}</h2>
            <form on:submit=on_submit novalidate>
                {basics}{auth}{headers}{tester}{actions}
            </form>
            {move || (confirming.get() && delete_id.is_some()).then(|| {
                let id = delete_id.clone().unwrap_or_default();
                let users = {
                    let id = id.clone();
                    LocalResource::new(move || connector_usage(id.clone()))
                };
                let in_use = move || users.get().and_then(Result::ok).is_some_and(|u| !u.is_empty());
                let explanation = move || match users.get() {
                    None => "Checking which workflows use it…".to_owned(),
                    Some(Err(error)) => error.to_string(),
                    Some(Ok(list)) if list.is_empty() => {
                        "No workflow uses this connector. Deleting it removes its stored credentials for good."
                            .to_owned()
                    }
                    Some(Ok(list)) => format!(
                        "It is used by {} workflow{}: {}. Remove it from their steps first.",
                        list.len(),
                        if list.len() == 1 { "" } else { "s" },
                        list.iter().map(|w| w.name.as_str()).collect::<Vec<_>>().join(", ")
                    ),
                };
                view! {
                    <div role="alertdialog" aria-labelledby="confirm-delete-title" aria-describedby="confirm-delete-text" class="notice error"
                        on:keydown=move |ev| confirm.on_key(ev)>
                        <h3 id="confirm-delete-title">{format!("Delete {stored_name}?")}</h3>
                        <p id="confirm-delete-text">{explanation}</p>
                        <button type="button" class="danger" disabled=in_use
                            on:click=move |_| { delete.dispatch(DeleteConnector { id: id.clone() }); }>
                            "Delete"
                        </button>
                        " "
                        <button type="button" id="connector-delete-keep" on:click=move |_| confirm.cancel()>"Keep it"</button>
                    </div>
                }
            })}
        </section>
    }
}

fn error_for_dyn(
    errors: RwSignal<BTreeMap<String, String>>,
    field: &str,
) -> Option<impl IntoView + use<>> {
    errors
        .with(|e| e.get(field).cloned())
        .map(|message| view! { <p class="field-error" id=format!("{field}-error")>{message}</p> })
}

/// A field the server names, as the form shows it.
struct FormField {
    /// Its label (`headers[0].key` is "Header 1 name").
    label: String,
    /// The id of its input, for the keyboard to go to; `auth` has none of its own.
    input: Option<String>,
    /// Its place down the form: a refused save focuses the first field to fix.
    place: usize,
}

/// The one table of the fields the server names: label, input and place in the form.
fn form_field(field: &str) -> FormField {
    let known = |label: &str, input: Option<&str>, place: usize| FormField {
        label: label.to_owned(),
        input: input.map(str::to_owned),
        place,
    };
    match field {
        "name" => known("Name", Some("connector-name"), 0),
        "base_url" => known("Base URL", Some("connector-base-url"), 1),
        "auth" | "auth.kind" | "auth.type" => known("Authentication", None, 2),
        "auth.username" => known("Username", Some("connector-username"), 3),
        "auth.header_name" => known("Header name", Some("connector-header-name"), 4),
        "auth.param_name" => known("Parameter name", Some("connector-param-name"), 5),
        "auth.password" => known("Password", Some("connector-secret"), 6),
        "auth.token" => known("Token", Some("connector-secret"), 6),
        "auth.api_key" => known("API key", Some("connector-secret"), 6),
        "headers" => known("Headers", None, 7),
        "test_path" => known("Test path", Some("connector-test-path"), usize::MAX),
        _ => {
            let row = field
                .strip_prefix("headers[")
                .and_then(|rest| rest.split_once("]."))
                .and_then(|(n, part)| Some((n.parse::<usize>().ok()?, part)));
            match row {
                Some((n, part @ ("key" | "value"))) => FormField {
                    label: format!(
                        "Header {} {}",
                        n + 1,
                        if part == "key" { "name" } else { "value" }
                    ),
                    input: Some(header_input_id(n, part)),
                    place: 8 + 2 * n + usize::from(part == "value"),
                },
                _ => FormField {
                    label: field.to_owned(),
                    input: None,
                    place: usize::MAX,
                },
            }
        }
    }
}

/// The input of the first field down the form among those the server refused.
fn first_to_fix<'a>(fields: impl IntoIterator<Item = &'a String>) -> Option<String> {
    fields
        .into_iter()
        .map(|f| form_field(f))
        .filter(|f| f.input.is_some())
        .min_by_key(|f| f.place)
        .and_then(|f| f.input)
}

/// The id of header row `n`'s (from 0) `key` or `value` input.
fn header_input_id(n: usize, part: &str) -> String {
    format!("connector-header-{}-{part}", n + 1)
}

/// One header row: name, value, whether it is secret, and a remove button, labelled by position.
/// A secret value is typed in a password field; a stored one is never sent here, and leaving
/// the field empty keeps it.
#[component]
fn HeaderRowView(
    row: HeaderRow,
    rows: RwSignal<Vec<HeaderRow>>,
    errors: RwSignal<BTreeMap<String, String>>,
) -> impl IntoView {
    let position = move || rows.with(|r| r.iter().position(|x| x.id == row.id).unwrap_or(0));
    let field = move |part: &str| format!("headers[{}].{part}", position());
    let marks = move |part: &'static str| {
        problem_marks(
            move || errors.with(|e| e.contains_key(&field(part))),
            move || format!("{}-error", field(part)),
        )
    };
    let placeholder = move || {
        let kept = row.stored_secret.with_value(|stored| {
            stored
                .as_deref()
                .is_some_and(|name| row.key.with(|key| key.trim().eq_ignore_ascii_case(name)))
        });
        match (row.secret.get(), kept) {
            (true, true) => "Stored; leave empty to keep",
            (true, false) => "Secret value",
            (false, _) => "42",
        }
    };
    view! {
        <div class="header-row">
            <input type="text" bind:value=row.key placeholder="X-Organization-ID"
                id=move || header_input_id(position(), "key")
                aria-label=move || format!("Header {} name", position() + 1)
                aria-invalid=marks("key").invalid() aria-describedby=marks("key").described_by()/>
            <input type=move || if row.secret.get() { "password" } else { "text" }
                autocomplete=move || if row.secret.get() { "new-password" } else { "off" }
                bind:value=row.value placeholder=placeholder
                id=move || header_input_id(position(), "value")
                aria-label=move || format!("Header {} value", position() + 1)
                aria-invalid=marks("value").invalid() aria-describedby=marks("value").described_by()/>
            <label class="secret-toggle">
                <input type="checkbox" bind:checked=row.secret
                    aria-label=move || format!("Header {} is secret", position() + 1)/>
                " Secret"
            </label>
            <button type="button" aria-label=move || format!("Remove header {}", position() + 1)
                on:click=move |_| rows.update(|r| r.retain(|x| x.id != row.id))>
                "Remove"
            </button>
            {move || {
                let plain_credential = !row.secret.get()
                    && row.key.with(|k| !k.trim().is_empty() && domain::connector::is_credential_name(k.trim()));
                plain_credential.then(|| view! {
                    <p class="warning">"This name looks like a credential: tick Secret before saving."</p>
                })
            }}
            {move || error_for_dyn(errors, &format!("headers[{}].key", position()))}
            {move || error_for_dyn(errors, &format!("headers[{}].value", position()))}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::{first_to_fix, form_field};

    #[test]
    fn fields_the_server_names_are_labelled_as_the_form_labels_them() {
        for (field, label, input) in [
            ("name", "Name", Some("connector-name")),
            ("auth.token", "Token", Some("connector-secret")),
            ("auth", "Authentication", None),
            (
                "headers[0].key",
                "Header 1 name",
                Some("connector-header-1-key"),
            ),
            (
                "headers[2].value",
                "Header 3 value",
                Some("connector-header-3-value"),
            ),
            ("headers[x].key", "headers[x].key", None),
            ("something.new", "something.new", None),
        ] {
            let shown = form_field(field);
            assert_eq!(shown.label, label, "{field}");
            assert_eq!(shown.input.as_deref(), input, "{field}");
        }
    }

    #[test]
    fn a_refused_save_focuses_the_first_field_down_the_form() {
        let refused = |fields: &[&str]| {
            let fields: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
            first_to_fix(&fields)
        };
        // Sorted by name, "base_url" and "auth.api_key" come before "name"; on the page they don't.
        assert_eq!(
            refused(&["auth.api_key", "base_url", "name", "test_path"]).as_deref(),
            Some("connector-name")
        );
        assert_eq!(
            refused(&["headers[10].key", "headers[2].value", "test_path"]).as_deref(),
            Some("connector-header-3-value")
        );
        assert_eq!(
            refused(&["test_path", "headers[0].value", "auth.header_name"]).as_deref(),
            Some("connector-header-name")
        );
        // Only fields without an input of their own: nothing to focus.
        assert_eq!(refused(&["auth", "headers"]), None);
    }
}
