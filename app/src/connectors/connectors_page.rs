use domain::{Permission, format_utc};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::{ConnectorForm, ConnectorView, SetConnectorEnabled, list_connectors};
use crate::auth::use_auth;
use crate::components::{FormError, focus_after_render};
use crate::layout::PageHeader;

/// Which form is open: none, a new connector, or an existing one.
#[derive(Debug, Clone, PartialEq)]
pub enum Editing {
    Closed,
    New,
    Existing(ConnectorView),
}

/// Settings › Connectors: the table, search, the status toggle, and the add/edit form.
#[component]
pub fn ConnectorsPage() -> impl IntoView {
    let auth = use_auth();
    let can_manage = move || auth.can(Permission::ManageAutomation);
    let query = use_query_map();
    let search = RwSignal::new(query.with_untracked(|q| q.get("q").unwrap_or_default()));
    let editing = RwSignal::new(Editing::Closed);
    // Bumped after a save or delete so the list reloads.
    let changed = RwSignal::new(0_u32);
    let toggle = ServerAction::<SetConnectorEnabled>::new();
    let connectors = Resource::new(
        move || (search.get(), changed.get(), toggle.version().get()),
        |(search, _, _)| list_connectors(Some(search).filter(|s| !s.trim().is_empty())),
    );
    let toggled = Signal::derive(move || toggle.value().get());
    // What the last save or delete did, said where screen readers announce it.
    let done = RwSignal::new("");
    // The form takes the focus when it opens; when it closes the focus goes to + Add connector
    // (the row that opened it is drawn again as the list reloads).
    let open = move |what: Editing| {
        done.set("");
        editing.set(what);
        focus_after_render("connector-form-title".to_owned());
    };
    let on_done = Callback::new(move |said: Option<&'static str>| {
        editing.set(Editing::Closed);
        done.set(said.unwrap_or(""));
        changed.update(|n| *n += 1);
        focus_after_render("connector-add".to_owned());
    });

    view! {
        <PageHeader title="Connectors" section="Settings"/>
        <p>
            "A connector is an external API registered once: its base URL, authentication and headers. "
            "Workflow actions send requests through it; its secrets never leave the server."
        </p>
        <div class="filters">
            <form method="get" role="search" on:submit=|ev| ev.prevent_default()>
                <label for="connector-search">"Search connectors"</label>
                " "
                <input id="connector-search" type="search" name="q" bind:value=search placeholder="Name"/>
            </form>
            <Show when=can_manage>
                <button type="button" class="primary" id="connector-add" on:click=move |_| open(Editing::New)>
                    "+ Add connector"
                </button>
            </Show>
        </div>
        {move || match editing.get() {
            Editing::Closed => None,
            Editing::New => Some(view! { <ConnectorForm existing=None on_done/> }.into_any()),
            Editing::Existing(view) => Some(view! { <ConnectorForm existing=Some(view) on_done/> }.into_any()),
        }}
        <p role="status" class="done">{move || done.get()}</p>
        <FormError result=toggled/>
        <Transition fallback=|| view! { <p>"Loading connectors…"</p> }>
            {move || Suspend::new(async move {
                match connectors.await {
                    Err(error) => view! { <p class="form-error" role="alert">{error.to_string()}</p> }.into_any(),
                    Ok(list) if list.is_empty() && search.with_untracked(|s| !s.trim().is_empty()) => view! {
                        <p>"No connector matches that name."</p>
                    }.into_any(),
                    Ok(list) if list.is_empty() => view! {
                        <div class="notice">
                            <h2>"No connectors yet"</h2>
                            <p>{if can_manage() {
                                "Add one with + Add connector: Jira, your SIEM, an HR tool — any HTTP API."
                            } else {
                                "An Administrator can add one: Jira, your SIEM, an HR tool — any HTTP API."
                            }}</p>
                        </div>
                    }.into_any(),
                    Ok(list) => view! {
                        <table class="data-table">
                            <caption class="visually-hidden">"Connectors"</caption>
                            <thead><tr>
                                <th scope="col">"Name"</th><th scope="col">"Base URL"</th>
                                <th scope="col">"Authentication"</th><th scope="col">"Status"</th>
                                <th scope="col">"Used by"</th><th scope="col">"Last used"</th>
                                <th scope="col">"Updated"</th>
                            </tr></thead>
                            <tbody>
                                {list.into_iter().map(|connector| view! {
                                    <ConnectorRow connector open toggle can_manage=can_manage()/>
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

/// One row: the name opens the form; Status is a switch for those who may change it.
#[component]
fn ConnectorRow(
    connector: ConnectorView,
    /// Opens the form.
    open: impl Fn(Editing) + Copy + Send + 'static,
    toggle: ServerAction<SetConnectorEnabled>,
    /// Whether the viewer may edit and toggle.
    can_manage: bool,
) -> impl IntoView {
    let name = connector.name.clone();
    let open = {
        let connector = connector.clone();
        move |_| open(Editing::Existing(connector.clone()))
    };
    let name_cell = if can_manage {
        view! {
            <button type="button" class="link" on:click=open aria-label=format!("Edit {name}")>
                {name.clone()}
            </button>
        }
        .into_any()
    } else {
        view! { <span>{name.clone()}</span> }.into_any()
    };
    let status_text = if connector.enabled {
        "Enabled"
    } else {
        "Disabled"
    };
    let status = if can_manage {
        let (id, enabled) = (connector.id.clone(), connector.enabled);
        view! {
            <button
                type="button"
                role="switch"
                class="switch"
                aria-checked=if enabled { "true" } else { "false" }
                aria-label=format!("{name} enabled")
                on:click=move |_| {
                    toggle.dispatch(SetConnectorEnabled { id: id.clone(), enabled: !enabled });
                }
            >
                {status_text}
            </button>
        }
        .into_any()
    } else {
        view! { <span>{status_text}</span> }.into_any()
    };
    // Saved before secret headers existed, or through the API then: a plain header that looks
    // like a credential is shown to every reader. Say so where an admin will see it.
    let plain_credentials: Vec<String> = connector
        .headers
        .iter()
        .filter(|h| !h.secret && domain::connector::is_credential_name(h.key.trim()))
        .map(|h| h.key.clone())
        .collect();
    let plain_warning = (!plain_credentials.is_empty()).then(|| {
        view! {
            <p class="warning">
                {format!(
                    "Plain-text credential header: {}. Edit the connector and mark it Secret.",
                    plain_credentials.join(", ")
                )}
            </p>
        }
    });
    let used_by = match connector.used_by {
        1 => "1 workflow".to_owned(),
        n => format!("{n} workflows"),
    };
    view! {
        <tr>
            <td>{name_cell}</td>
            <td><code>{connector.base_url.clone()}</code></td>
            <td>{connector.auth.kind().label()}{plain_warning}</td>
            <td>{status}</td>
            <td>{used_by}</td>
            <td>{connector.last_used_at.map_or_else(|| "Never".to_owned(), format_utc)}</td>
            <td>{format_utc(connector.updated_at)}</td>
        </tr>
    }
}
