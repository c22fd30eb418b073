use std::collections::BTreeMap;

use domain::Permission;
use domain::viewport::Viewport;
use domain::workflow::{Action, ConnectorFacts, WorkflowInput};
use leptos::prelude::*;

use super::{HistoryPane, RunPane, SaveWorkflow, StepPane, TriggerPane, WorkflowView};
use crate::auth::use_auth;
use crate::components::focus_after_render;
use crate::connectors::ConnectorView;

/// What the configuration pane shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selected {
    Nothing,
    Trigger,
    Step(usize),
    History,
    Run,
}

impl Selected {
    /// Opens this pane and takes the keyboard to its heading, from where Tab goes on to its
    /// fields; Escape in the pane brings the focus back (`opener`).
    pub fn open(self, selected: RwSignal<Selected>) {
        selected.set(self);
        focus_after_render(PANE_TITLE.to_owned());
    }

    /// Closes the open pane and gives the focus back to the card or button that opened it.
    pub fn close(selected: RwSignal<Selected>) {
        if let Some(opener) = selected.get_untracked().opener() {
            focus_after_render(opener);
        }
        selected.set(Selected::Nothing);
    }

    /// The card or button that opens this pane.
    fn opener(self) -> Option<String> {
        match self {
            Selected::Nothing => None,
            Selected::Trigger => Some("trigger-card".to_owned()),
            Selected::Step(i) => Some(format!("step-{i}-open")),
            Selected::History => Some("open-history".to_owned()),
            Selected::Run => Some("open-run".to_owned()),
        }
    }
}

/// The id of the heading of whichever pane is open.
pub const PANE_TITLE: &str = "pane-title";

/// The canvas's one store: the draft the admin edits, the selection,
/// and the problems the domain validation finds in the draft. Children take it from context.
#[derive(Clone, Copy)]
pub struct CanvasCx {
    pub draft: RwSignal<WorkflowInput>,
    /// What was last saved, and its version.
    pub saved: RwSignal<WorkflowInput>,
    pub version: RwSignal<i64>,
    pub selected: RwSignal<Selected>,
    /// Field errors by form path (`steps[0].action.path`), from the same validation the server runs.
    pub problems: Memo<BTreeMap<String, String>>,
    pub connectors: StoredValue<Vec<ConnectorView>>,
    pub can_edit: Signal<bool>,
    /// *Run* and *Test this step*: the caller may start runs.
    pub can_run: Signal<bool>,
}

impl CanvasCx {
    /// The problems of step `i`: (field, message).
    pub fn step_problems(&self, i: usize) -> Vec<(String, String)> {
        let prefix = format!("steps[{i}].");
        self.problems.with(|p| {
            p.iter()
                .filter_map(|(k, v)| k.strip_prefix(&prefix).map(|f| (f.to_owned(), v.clone())))
                .collect()
        })
    }

    /// Takes a stored workflow (after a save or a restore) as the new starting point.
    pub fn accept_saved(&self, stored: &WorkflowView) {
        self.version.set(stored.version);
        let input = input_of(stored);
        self.saved.set(input.clone());
        self.draft.set(input);
    }

    pub fn connector(&self, id: &str) -> Option<ConnectorView> {
        self.connectors
            .with_value(|list| list.iter().find(|c| c.id == id).cloned())
    }
}

pub fn use_canvas() -> CanvasCx {
    expect_context::<CanvasCx>()
}

fn facts(connector: &ConnectorView) -> ConnectorFacts {
    ConnectorFacts {
        name: connector.name.clone(),
        enabled: connector.enabled,
        base_url: connector.base_url.clone(),
        auth_header: domain::plan::auth_header_name(&connector.auth).map(str::to_owned),
        secret_headers: connector.secret_header_names(),
    }
}

fn input_of(workflow: &WorkflowView) -> WorkflowInput {
    WorkflowInput {
        name: workflow.name.clone(),
        description: workflow.description.clone(),
        enabled: workflow.enabled,
        trigger: workflow.trigger.clone(),
        steps: workflow.steps.clone(),
    }
}

/// The canvas: the trigger card, the step cards joined by + buttons, the Action Type picker,
/// the configuration pane on the right and the floating unsaved-changes panel.
#[component]
pub fn Canvas(
    /// The workflow as stored.
    workflow: WorkflowView,
    /// The connectors a step may use.
    connectors: Vec<ConnectorView>,
) -> impl IntoView {
    let auth = use_auth();
    let id = workflow.id.clone();
    let version = RwSignal::new(workflow.version);
    let draft = RwSignal::new(input_of(&workflow));
    let saved = RwSignal::new(input_of(&workflow));
    let selected = RwSignal::new(Selected::Nothing);
    let connectors = StoredValue::new(connectors);
    let problems = Memo::new(move |_| {
        draft.with(|d| {
            let check = |id: &str| {
                connectors.with_value(|list| list.iter().find(|c| c.id == id).map(facts))
            };
            match d.validate(&check) {
                Ok(()) => BTreeMap::new(),
                Err(problems) => problems.to_field_errors(&d.steps).0,
            }
        })
    });
    let cx = CanvasCx {
        draft,
        saved,
        version,
        selected,
        problems,
        connectors,
        can_edit: Signal::derive(move || auth.can(Permission::ManageAutomation)),
        can_run: Signal::derive(move || auth.can(Permission::RunWorkflows)),
    };
    provide_context(cx);

    let dirty = Memo::new(move |_| draft.with(|d| saved.with(|s| d != s)));
    // Closing the tab with unsaved changes asks first.
    #[cfg(feature = "hydrate")]
    {
        let handle = window_event_listener(leptos::ev::beforeunload, move |ev| {
            if dirty.get_untracked() {
                ev.prevent_default();
            }
        });
        on_cleanup(move || handle.remove());
        guard_links(dirty);
    }

    let picker_at = RwSignal::new(None::<usize>);
    let save = ServerAction::<SaveWorkflow>::new();
    let save_error = RwSignal::new(None::<String>);
    let save_id = id.clone();
    let on_save = Callback::new(move |()| {
        save_error.set(None);
        save.dispatch(SaveWorkflow {
            id: save_id.clone(),
            version: version.get_untracked(),
            input: draft.get_untracked(),
        });
    });
    Effect::new(move |_| match save.value().get() {
        Some(Ok(stored)) => cx.accept_saved(&stored),
        Some(Err(error)) => save_error.set(Some(error.to_string())),
        None => {}
    });
    let step_count = move || draft.with(|d| d.steps.len());
    let history_id = id.clone();
    let run_id = id.clone();
    let trigger_id = id.clone();
    let viewport = RwSignal::new(Viewport::default());
    let viewport_ref = NodeRef::<leptos::html::Div>::new();
    let content_ref = NodeRef::<leptos::html::Div>::new();
    // The last pointer position while the background is being dragged.
    let drag = StoredValue::new(None::<(f64, f64)>);
    let on_pointer_down = move |ev: leptos::ev::PointerEvent| {
        let target = event_target::<leptos::web_sys::Element>(&ev);
        // Drag only the background: cards, buttons and fields keep their own clicks.
        if target
            .closest("button, input, select, textarea, a, .card")
            .ok()
            .flatten()
            .is_none()
        {
            drag.set_value(Some((f64::from(ev.client_x()), f64::from(ev.client_y()))));
        }
    };
    let on_pointer_move = move |ev: leptos::ev::PointerEvent| {
        if let Some((lx, ly)) = drag.get_value() {
            let (x, y) = (f64::from(ev.client_x()), f64::from(ev.client_y()));
            viewport.update(|v| *v = v.pan(x - lx, y - ly));
            drag.set_value(Some((x, y)));
        }
    };
    let end_drag = move |_: leptos::ev::PointerEvent| drag.set_value(None);
    let centre = move || {
        viewport_ref.get_untracked().map_or((0.0, 0.0), |el| {
            (
                f64::from(el.client_width()) / 2.0,
                f64::from(el.client_height()) / 2.0,
            )
        })
    };
    let on_wheel = move |ev: leptos::ev::WheelEvent| {
        ev.prevent_default();
        let (left, top) = viewport_ref.get_untracked().map_or((0.0, 0.0), |el| {
            let rect = el.get_bounding_client_rect();
            (rect.left(), rect.top())
        });
        let (px, py) = (
            f64::from(ev.client_x()) - left,
            f64::from(ev.client_y()) - top,
        );
        viewport.update(|v| *v = v.zoom_at(Viewport::wheel_factor(ev.delta_y()), px, py));
    };
    let zoom = move |factor: f64| {
        let (px, py) = centre();
        viewport.update(|v| *v = v.zoom_at(factor, px, py));
    };
    let fit = move |_| {
        if let (Some(view), Some(content)) =
            (viewport_ref.get_untracked(), content_ref.get_untracked())
        {
            viewport.set(Viewport::fit(
                f64::from(content.offset_width()),
                f64::from(content.offset_height()),
                f64::from(view.client_width()),
                f64::from(view.client_height()),
            ));
        }
    };

    view! {
        <div class="canvas-layout">
            <section class="canvas" aria-label="Workflow canvas">
                <div class="canvas-title">
                    <h2>{move || draft.with(|d| d.name.clone())}</h2>
                    <span class="hint">{move || format!("Version {}", version.get())}</span>
                    <button type="button" id="open-history" on:click=move |_| Selected::History.open(selected)>"History"</button>
                    <Show when=move || cx.can_run.get() && saved.with(|s| s.trigger.kind() == domain::workflow::TriggerKind::Manual)>
                        <button type="button" class="primary" id="open-run" on:click=move |_| Selected::Run.open(selected)>"Run"</button>
                    </Show>
                </div>
                <div class="canvas-tools" role="toolbar" aria-label="Canvas view">
                    <button type="button" on:click=move |_| zoom(1.2)>"Zoom in"</button>
                    <button type="button" on:click=move |_| zoom(1.0 / 1.2)>"Zoom out"</button>
                    <button type="button" on:click=fit>"Fit to screen"</button>
                    <span class="hint">{move || format!("{:.0}%", viewport.get().scale * 100.0)}</span>
                </div>
                <div class="canvas-viewport" node_ref=viewport_ref
                    on:pointerdown=on_pointer_down on:pointermove=on_pointer_move
                    on:pointerup=end_drag on:pointerleave=end_drag on:wheel=on_wheel>
                <div class="canvas-content" node_ref=content_ref style:transform=move || viewport.get().css()>
                <ol class="flow">
                    <li>
                        <button type="button" class="card trigger-card" id="trigger-card"
                            aria-pressed=move || (selected.get() == Selected::Trigger).to_string()
                            on:click=move |_| Selected::Trigger.open(selected)>
                            <span class="card-kind">"Trigger"</span>
                            <span class="card-name">{move || draft.with(|d| d.trigger.kind().label())}</span>
                            {move || problems.with(|p| p.iter().find(|(k, _)| k.starts_with("trigger")).map(|(_, m)| m.clone()))
                                .map(|m| view! { <span class="card-problem">{m}</span> })}
                        </button>
                    </li>
                    <Joint after=None picker_at/>
                    <For each=move || 0..step_count() key=|i| *i let:i>
                        <li><StepCard index=i/></li>
                        <Joint after=Some(i) picker_at/>
                    </For>
                </ol>
                </div>
                </div>
                {move || picker_at.get().map(|at| view! { <ActionPicker at picker_at/> })}
            </section>
            <aside class="pane" aria-label="Configuration" on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                // Escape goes back to the canvas, unless something in the pane (a confirmation)
                // took it first.
                if ev.key() == "Escape" && !ev.default_prevented()
                    && let Some(opener) = selected.get_untracked().opener()
                {
                    ev.prevent_default();
                    focus_after_render(opener);
                }
            }>
                {move || match selected.get() {
                    Selected::Nothing => view! {
                        <p class="hint">"Select the trigger or a step to configure it. Add a step with +."</p>
                    }.into_any(),
                    Selected::Trigger => view! { <TriggerPane id=trigger_id.clone()/> }.into_any(),
                    Selected::Step(i) => view! { <StepPane index=i/> }.into_any(),
                    Selected::History => view! { <HistoryPane id=history_id.clone()/> }.into_any(),
                    Selected::Run => view! { <RunPane id=run_id.clone()/> }.into_any(),
                }}
            </aside>
        </div>
        <Show when=move || dirty.get() || save_error.with(Option::is_some)>
            <div class="unsaved-panel" role="region" aria-label="Unsaved changes">
                {move || save_error.get().map(|message| view! { <p class="form-error" role="alert">{message}</p> })}
                <Show when=move || dirty.get()>
                    <span>"You have unsaved changes"</span>
                    <button type="button" on:click=move |_| {
                        draft.set(saved.get_untracked());
                        save_error.set(None);
                        selected.set(Selected::Nothing);
                    }>"Discard"</button>
                    <button type="button" class="primary" on:click=move |_| on_save.run(()) disabled=move || save.pending().get()>
                        {move || if save.pending().get() { "Saving…" } else { "Save changes" }}
                    </button>
                </Show>
            </div>
        </Show>
    }
}

/// The + between two cards (or after the last): opens the Action Type picker there.
#[component]
fn Joint(
    /// The step this + follows; `None` for the trigger.
    after: Option<usize>,
    picker_at: RwSignal<Option<usize>>,
) -> impl IntoView {
    let cx = use_canvas();
    let at = after.map_or(0, |i| i + 1);
    let label = move || match after {
        None => "Add a step after the trigger".to_owned(),
        Some(i) => format!(
            "Add a step after {}",
            cx.draft
                .with(|d| d.steps.get(i).map(|s| s.name.clone()).unwrap_or_default())
        ),
    };
    view! {
        <li class="joint">
            <Show when=move || cx.can_edit.get()>
                <button type="button" class="add-step" id=format!("add-step-{at}") aria-label=label on:click=move |_| picker_at.set(Some(at))>"+"</button>
            </Show>
        </li>
    }
}

/// A step's card: name, connector and `METHOD /path`, a red marker with the first problem,
/// and its menu (move, duplicate, delete).
#[component]
fn StepCard(
    /// The step's position.
    index: usize,
) -> impl IntoView {
    let cx = use_canvas();
    let step = Memo::new(move |_| cx.draft.with(|d| d.steps.get(index).cloned()));
    let name = move || step.with(|s| s.as_ref().map(|s| s.name.clone()).unwrap_or_default());
    let target = move || {
        step.with(|s| match s.as_ref().map(|s| &s.action) {
            Some(Action::ExternalAppConnector {
                connector_id,
                method,
                path,
                ..
            }) => {
                let connector = cx
                    .connector(connector_id)
                    .map(|c| c.name)
                    .unwrap_or_else(|| "No connector".into());
                let path = if path.is_empty() {
                    "(no path)".to_owned()
                } else {
                    path.clone()
                };
                format!("{connector} · {} {path}", method.as_str())
            }
            None => String::new(),
        })
    };
    let problem = move || cx.step_problems(index).into_iter().next().map(|(_, m)| m);
    // Cards are drawn by position: after a change the focus goes where the step went (`then`
    // names the button there), not left on a button that now belongs to another step.
    let edit = move |f: &dyn Fn(&mut WorkflowInput) -> Option<usize>, then: &'static str| {
        let mut moved = None;
        cx.draft.update(|d| moved = f(d));
        if let Some(to) = moved {
            cx.selected.set(Selected::Step(to));
            focus_after_render(format!("step-{to}-{then}"));
        }
    };
    view! {
        <div class="card step-card" class:invalid=move || problem().is_some()
            class:selected=move || cx.selected.get() == Selected::Step(index)>
            <button type="button" class="card-open" id=format!("step-{index}-open") on:click=move |_| Selected::Step(index).open(cx.selected)
                aria-pressed=move || (cx.selected.get() == Selected::Step(index)).to_string()
                aria-label=move || format!("Step {}: {}", index + 1, name())>
                <span class="card-kind">"External App Connector"</span>
                <span class="card-name">{name}</span>
                <span class="card-target">{target}</span>
            </button>
            {move || problem().map(|m| view! { <span class="card-problem" role="note">{m}</span> })}
            <Show when=move || cx.can_edit.get()>
                <div class="card-menu">
                    <button type="button" id=format!("step-{index}-up") aria-label=move || format!("Move {} up", name())
                        on:click=move |_| edit(&|d| d.move_step(index, true), "up")>"↑"</button>
                    <button type="button" id=format!("step-{index}-down") aria-label=move || format!("Move {} down", name())
                        on:click=move |_| edit(&|d| d.move_step(index, false), "down")>"↓"</button>
                    <button type="button" aria-label=move || format!("Duplicate {}", name())
                        on:click=move |_| edit(&|d| d.duplicate_step(index), "open")>"Duplicate"</button>
                    <button type="button" class="danger" aria-label=move || format!("Delete {}", name())
                        on:click=move |_| {
                            let mut left = 0;
                            cx.draft.update(|d| {
                                if index < d.steps.len() {
                                    d.steps.remove(index);
                                }
                                left = d.steps.len();
                            });
                            cx.selected.set(Selected::Nothing);
                            // The step that took its place, else the one before, else the trigger.
                            focus_after_render(match index {
                                i if i < left => format!("step-{i}-open"),
                                0 => "trigger-card".to_owned(),
                                i => format!("step-{}-open", i - 1),
                            });
                        }>"Delete"</button>
                </div>
            </Show>
        </div>
    }
}

/// *Action Type*: a searchable list of the kinds of step.
#[component]
fn ActionPicker(
    /// Where the new step goes.
    at: usize,
    picker_at: RwSignal<Option<usize>>,
) -> impl IntoView {
    let cx = use_canvas();
    let search = RwSignal::new(String::new());
    let kinds = [(
        Action::new_external_app_connector(),
        "Send a request through a connector: open a ticket, raise an alert, create a record.",
    )];
    let matches = move || {
        let q = search.get().to_lowercase();
        kinds
            .iter()
            .filter(|(action, about)| {
                q.trim().is_empty()
                    || action.label().to_lowercase().contains(q.trim())
                    || about.to_lowercase().contains(q.trim())
            })
            .cloned()
            .collect::<Vec<_>>()
    };
    // Opened by a +: the focus moves to the search (the `autofocus` attribute does nothing on an
    // element added after the page loaded), and goes back to that + when the picker closes
    // (Close or Escape), or to the new step's card when an action is chosen.
    Effect::new(move |_| focus_after_render("picker-search".to_owned()));
    let close = move || {
        picker_at.set(None);
        focus_after_render(format!("add-step-{at}"));
    };
    view! {
        <div class="picker" role="dialog" aria-labelledby="picker-title"
            on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                if ev.key() == "Escape" {
                    ev.prevent_default();
                    close();
                }
            }>
            <h3 id="picker-title">"Action Type"</h3>
            <label for="picker-search">"Search actions"</label>
            <input id="picker-search" type="search" bind:value=search placeholder="e.g. External"/>
            <h4 id="picker-actions">"Actions"</h4>
            <ul aria-labelledby="picker-actions" class="picker-list">
                {move || {
                    let found = matches();
                    if found.is_empty() {
                        return view! { <li class="hint">"No action matches."</li> }.into_any();
                    }
                    found.into_iter().map(|(action, about)| {
                        let label = action.label();
                        view! {
                            <li>
                                <button type="button" on:click=move |_| {
                                    let mut placed = 0;
                                    cx.draft.update(|d| placed = d.insert_step(at, action.clone()));
                                    cx.selected.set(Selected::Step(placed));
                                    picker_at.set(None);
                                    focus_after_render(format!("step-{placed}-open"));
                                }>
                                    <strong>{label}</strong>
                                    <span class="hint">{about}</span>
                                </button>
                            </li>
                        }
                    }).collect_view().into_any()
                }}
            </ul>
            <button type="button" on:click=move |_| close()>"Close"</button>
        </div>
    }
}

/// Following a link away from the canvas with unsaved changes asks first. The listener runs in
/// the capture phase, before the router's own link handling.
#[cfg(feature = "hydrate")]
fn guard_links(dirty: Memo<bool>) {
    use leptos::wasm_bindgen::JsCast;
    use leptos::wasm_bindgen::closure::Closure;

    let listener = Closure::<dyn Fn(leptos::web_sys::MouseEvent)>::new(
        move |ev: leptos::web_sys::MouseEvent| {
            if !dirty.get_untracked() || ev.default_prevented() {
                return;
            }
            let Some(target) = ev
                .target()
                .and_then(|t| t.dyn_into::<leptos::web_sys::Element>().ok())
            else {
                return;
            };
            if target.closest("a[href]").ok().flatten().is_none() {
                return;
            }
            let leave = leptos::web_sys::window()
                .and_then(|w| {
                    w.confirm_with_message("You have unsaved changes. Leave without saving them?")
                        .ok()
                })
                .unwrap_or(true);
            if !leave {
                ev.prevent_default();
                ev.stop_immediate_propagation();
            }
        },
    );
    let window = leptos::prelude::window();
    let function: leptos::web_sys::js_sys::Function = listener
        .as_ref()
        .unchecked_ref::<leptos::web_sys::js_sys::Function>()
        .clone();
    let _ = window.add_event_listener_with_callback_and_bool("click", &function, true);
    // Kept alive (and removed) with the canvas.
    let held = StoredValue::new_local((listener, function));
    on_cleanup(move || {
        held.with_value(|(_, function)| {
            let _ = leptos::prelude::window()
                .remove_event_listener_with_callback_and_bool("click", function, true);
        });
    });
}
