use domain::workflow::TriggerKind;
use domain::{Permission, format_utc};
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};

use super::{
    CreateWorkflow, DeleteWorkflow, DuplicateWorkflow, SetWorkflowEnabled, WorkflowView,
    list_workflows,
};
use crate::auth::use_auth;
use crate::components::{Confirm, FormError, focus_after_render};
use crate::layout::PageHeader;

/// Workflows: the list, search, *New workflow*, and per-row toggle, duplicate and delete.
#[component]
pub fn WorkflowsPage() -> impl IntoView {
    let auth = use_auth();
    let can_manage = move || auth.can(Permission::ManageAutomation);
    let query = use_query_map();
    let search = RwSignal::new(query.with_untracked(|q| q.get("q").unwrap_or_default()));
    let creating = RwSignal::new(false);
    let toggle = ServerAction::<SetWorkflowEnabled>::new();
    let duplicate = ServerAction::<DuplicateWorkflow>::new();
    let delete = ServerAction::<DeleteWorkflow>::new();
    let workflows = Resource::new(
        move || {
            (
                search.get(),
                toggle.version().get(),
                duplicate.version().get(),
                delete.version().get(),
            )
        },
        |(search, ..)| list_workflows(Some(search).filter(|s| !s.trim().is_empty())),
    );
    let toggled = Signal::derive(move || toggle.value().get().map(|r| r.map(|_| ())));
    let duplicated = Signal::derive(move || duplicate.value().get().map(|r| r.map(|_| ())));
    let deleted = Signal::derive(move || delete.value().get());

    view! {
        <PageHeader title="Workflows"/>
        <p>"A workflow starts from a trigger — by hand, a directory event, a schedule or a webhook — and sends requests through your connectors."</p>
        <div class="filters">
            <form method="get" role="search" on:submit=|ev| ev.prevent_default()>
                <label for="workflow-search">"Search workflows"</label>
                " "
                <input id="workflow-search" type="search" name="q" bind:value=search placeholder="Name"/>
            </form>
            <Show when=can_manage>
                // The form takes the focus at its first field; Cancel gives it back here.
                <button type="button" class="primary" id="new-workflow"
                    on:click=move |_| {
                        creating.set(true);
                        focus_after_render("workflow-name".to_owned());
                    }>"New workflow"</button>
            </Show>
        </div>
        <Show when=move || creating.get()>
            <NewWorkflowForm on_cancel=Callback::new(move |()| {
                creating.set(false);
                focus_after_render("new-workflow".to_owned());
            })/>
        </Show>
        <FormError result=toggled/>
        <FormError result=duplicated/>
        <FormError result=deleted/>
        <Transition fallback=|| view! { <p>"Loading workflows…"</p> }>
            {move || Suspend::new(async move {
                match workflows.await {
                    Err(error) => view! { <p class="form-error" role="alert">{error.to_string()}</p> }.into_any(),
                    Ok(list) if list.is_empty() && search.with_untracked(|s| !s.trim().is_empty()) => {
                        view! { <p>"No workflow matches that name."</p> }.into_any()
                    }
                    Ok(list) if list.is_empty() => view! {
                        <div class="notice">
                            <h2>"No workflows yet"</h2>
                            <p>{if can_manage() {
                                "Create one with New workflow: pick how it starts, then add External App Connector steps on the canvas."
                            } else {
                                "An Administrator can create one."
                            }}</p>
                        </div>
                    }.into_any(),
                    Ok(list) => view! {
                        <table class="data-table">
                            <caption class="visually-hidden">"Workflows"</caption>
                            <thead><tr>
                                <th scope="col">"Name"</th><th scope="col">"Trigger"</th>
                                <th scope="col">"Status"</th><th scope="col">"Steps"</th>
                                <th scope="col">"Runs"</th><th scope="col">"Updated"</th>
                                <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                            </tr></thead>
                            <tbody>
                                {list.into_iter().map(|workflow| view! {
                                    <WorkflowRow workflow toggle duplicate delete can_manage=can_manage()/>
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn WorkflowRow(
    workflow: WorkflowView,
    toggle: ServerAction<SetWorkflowEnabled>,
    duplicate: ServerAction<DuplicateWorkflow>,
    delete: ServerAction<DeleteWorkflow>,
    /// Whether the viewer may change workflows.
    can_manage: bool,
) -> impl IntoView {
    let confirm = Confirm::new(
        format!("delete-{}", workflow.id),
        format!("delete-{}-keep", workflow.id),
    );
    let confirming = confirm.showing;
    let (id, name, enabled) = (workflow.id.clone(), workflow.name.clone(), workflow.enabled);
    let status_text = if enabled { "Enabled" } else { "Disabled" };
    let status = if can_manage {
        let id = id.clone();
        view! {
            <button type="button" role="switch" class="switch"
                aria-checked=if enabled { "true" } else { "false" }
                aria-label=format!("{name} enabled")
                on:click=move |_| { toggle.dispatch(SetWorkflowEnabled { id: id.clone(), enabled: !enabled }); }>
                {status_text}
            </button>
        }
        .into_any()
    } else {
        view! { <span>{status_text}</span> }.into_any()
    };
    let actions = can_manage.then(|| {
        let (dup_id, del_id, name) = (id.clone(), id.clone(), name.clone());
        let confirm_name = name.clone();
        view! {
            <div class="row-actions">
                <button type="button" aria-label=format!("Duplicate {name}")
                    on:click=move |_| { duplicate.dispatch(DuplicateWorkflow { id: dup_id.clone() }); }>
                    "Duplicate"
                </button>
                <button type="button" class="danger" aria-label=format!("Delete {name}") id=format!("delete-{del_id}")
                    on:click=move |_| confirm.open()>
                    "Delete"
                </button>
                <Show when=move || confirming.get()>
                    <div role="alertdialog" aria-label=format!("Delete {confirm_name}?") class="notice error"
                        on:keydown=move |ev| confirm.on_key(ev)>
                        <p>{format!("Delete {confirm_name}? Its history goes too.")}</p>
                        <button type="button" class="danger" on:click={
                            let id = del_id.clone();
                            move |_| { delete.dispatch(DeleteWorkflow { id: id.clone() }); }
                        }>"Delete"</button>
                        " "
                        <button type="button" id=format!("delete-{del_id}-keep") on:click=move |_| confirm.cancel()>"Keep it"</button>
                    </div>
                </Show>
            </div>
        }
    });
    let steps = match workflow.steps.len() {
        1 => "1 step".to_owned(),
        n => format!("{n} steps"),
    };
    view! {
        <tr>
            <td><a href=format!("/workflows/{id}")>{name.clone()}</a></td>
            <td>{workflow.trigger_kind().label()}</td>
            <td>{status}</td>
            <td>{steps}</td>
            <td><a href=format!("/runs?workflow={id}") aria-label=format!("Runs of {name}")>"Runs"</a></td>
            <td>{format_utc(workflow.updated_at)} " by " {workflow.updated_by}</td>
            <td>{actions}</td>
        </tr>
    }
}

/// *New workflow*: name, optional description, and how it starts; the canvas opens after.
#[component]
fn NewWorkflowForm(
    /// Closes the form.
    on_cancel: Callback<()>,
) -> impl IntoView {
    let create = ServerAction::<CreateWorkflow>::new();
    let created = Signal::derive(move || create.value().get().map(|r| r.map(|_| ())));
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(workflow)) = create.value().get() {
            navigate(&format!("/workflows/{}", workflow.id), Default::default());
        }
    });
    view! {
        <section class="panel" aria-labelledby="new-workflow-title">
            <h2 id="new-workflow-title">"New workflow"</h2>
            <ActionForm action=create>
                <div class="form-grid">
                    <label for="workflow-name">"Name"</label>
                    <input id="workflow-name" type="text" name="name" required maxlength="100" placeholder="Provisioning ticket"/>
                    <label for="workflow-description">"Description (optional)"</label>
                    <input id="workflow-description" type="text" name="description" maxlength="2000"/>
                    <span class="label" id="workflow-kind-label">"Workflow type"</span>
                    <div role="radiogroup" aria-labelledby="workflow-kind-label" class="segmented">
                        {TriggerKind::ALL.into_iter().map(|kind| {
                            let value = match kind {
                                TriggerKind::Manual => "manual",
                                TriggerKind::Event => "event",
                                TriggerKind::Schedule => "schedule",
                                TriggerKind::Webhook => "webhook",
                            };
                            view! {
                                <label>
                                    <input type="radio" name="kind" value=value checked=kind == TriggerKind::Manual/>
                                    " " {kind.label()}
                                </label>
                            }
                        }).collect_view()}
                    </div>
                </div>
                <FormError result=created/>
                <div class="form-actions">
                    <button type="submit" class="primary">"Create and open"</button>
                    <button type="button" on:click=move |_| on_cancel.run(())>"Cancel"</button>
                </div>
            </ActionForm>
        </section>
    }
}
