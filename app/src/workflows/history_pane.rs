use domain::format_utc;
use leptos::prelude::*;

use super::canvas::{PANE_TITLE, Selected, use_canvas};
use super::{RestoreWorkflow, workflow_versions};

/// *History*: every saved version (who, when), and Restore, which saves an old version's
/// content as the newest version.
#[component]
pub fn HistoryPane(
    /// The workflow's id.
    id: String,
) -> impl IntoView {
    let cx = use_canvas();
    let restore = ServerAction::<RestoreWorkflow>::new();
    let versions = {
        let id = id.clone();
        Resource::new(
            move || (cx.version.get(), restore.version().get()),
            move |_| workflow_versions(id.clone()),
        )
    };
    Effect::new(move |_| {
        if let Some(Ok(stored)) = restore.value().get() {
            cx.accept_saved(&stored);
            // The pane closes: the focus goes back to History.
            Selected::close(cx.selected);
        }
    });
    // Restoring replaces the draft: with unsaved changes, it asks first (which version).
    let confirming = RwSignal::new(None::<i64>);
    let dirty = move || cx.draft.with(|d| cx.saved.with(|s| d != s));
    let send_restore = {
        let id = id.clone();
        move |version: i64| {
            confirming.set(None);
            restore.dispatch(RestoreWorkflow {
                id: id.clone(),
                version,
                open: Some(cx.version.get_untracked()),
            });
        }
    };
    let confirm_view = {
        let send_restore = send_restore.clone();
        move || {
            confirming.get().map(|version| {
                let send_restore = send_restore.clone();
                view! {
                    <div class="form-error" role="alert">
                        <p>{format!("You have unsaved changes. Restoring version {version} replaces them.")}</p>
                        <button type="button" class="danger" on:click=move |_| send_restore(version)>
                            {format!("Discard my changes and restore version {version}")}
                        </button>
                        <button type="button" on:click=move |_| confirming.set(None)>"Keep editing"</button>
                    </div>
                }
            })
        }
    };
    let restore_error = move || {
        restore
            .value()
            .get()
            .and_then(Result::err)
            .map(|e| view! { <p class="form-error" role="alert">{e.to_string()}</p> })
    };
    view! {
        <h3 id=PANE_TITLE tabindex="-1">"History"</h3>
        <p class="hint">"Each save is kept. Restoring saves that version's content as the newest version."</p>
        {restore_error}
        {confirm_view}
        <Transition fallback=|| view! { <p>"Loading versions…"</p> }>
            {move || {
                let send_restore = send_restore.clone();
                Suspend::new(async move {
                    match versions.await {
                        Err(error) => view! { <p class="form-error" role="alert">{error.to_string()}</p> }.into_any(),
                        Ok(list) => view! {
                            <ol class="history">
                                {list.into_iter().map(|v| {
                                    let current = v.version == cx.version.get_untracked();
                                    let send_restore = send_restore.clone();
                                    let label = format!("Restore version {}", v.version);
                                    view! {
                                        <li>
                                            <strong>{format!("Version {}", v.version)}</strong>
                                            {current.then_some(" (current)")}
                                            <br/>
                                            <span class="hint">{format!("{} · {} · {} step(s){}", format_utc(v.saved_at), v.saved_by, v.steps,
                                                if v.enabled { "" } else { " · disabled" })}</span>
                                            {(!current).then(|| view! {
                                                <Show when=move || cx.can_edit.get()>
                                                    <button type="button" on:click={
                                                        let send_restore = send_restore.clone();
                                                        move |_| {
                                                            if dirty() {
                                                                confirming.set(Some(v.version));
                                                            } else {
                                                                send_restore(v.version);
                                                            }
                                                        }
                                                    }>{label.clone()}</button>
                                                </Show>
                                            })}
                                        </li>
                                    }
                                }).collect_view()}
                            </ol>
                        }.into_any(),
                    }
                })
            }}
        </Transition>
        <button type="button" on:click=move |_| Selected::close(cx.selected)>"Close"</button>
    }
}
