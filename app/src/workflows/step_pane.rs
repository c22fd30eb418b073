use domain::connector::HeaderInput;
use domain::plan::{ConnectorPlan, plan};
use domain::render::RunContext;
use domain::template::pretty_json;
use domain::workflow::{Action, HttpMethod, StepOptions, check_step_path};
use leptos::prelude::*;

use super::canvas::{PANE_TITLE, Selected, use_canvas};
use crate::components::{Confirm, problem_marks};

/// A change to an External App Connector action: connector id, method, path, body, headers.
type ActionEdit =
    Box<dyn FnOnce(&mut String, &mut HttpMethod, &mut String, &mut String, &mut Vec<HeaderInput>)>;

/// The configuration pane of one External App Connector step.
#[component]
pub fn StepPane(
    /// The step's position.
    index: usize,
) -> impl IntoView {
    let cx = use_canvas();
    let step = Memo::new(move |_| cx.draft.with(|d| d.steps.get(index).cloned()));
    let read_only = move || !cx.can_edit.get();
    let problem = move |field: &'static str| field_problem(cx, index, field);
    // While a field has a problem, its input is marked invalid and described by it.
    let has_problem =
        move |field: &'static str| cx.step_problems(index).iter().any(|(f, _)| f == field);
    let marks = move |field: &'static str| {
        problem_marks(move || has_problem(field), move || problem_id(field))
    };
    let set_name = move |name: String| {
        cx.draft.update(|d| {
            if let Some(s) = d.steps.get_mut(index) {
                s.name = name;
            }
        })
    };
    let edit = move |f: ActionEdit| {
        cx.draft.update(|d| {
            if let Some(step) = d.steps.get_mut(index) {
                let Action::ExternalAppConnector {
                    connector_id,
                    method,
                    path,
                    body,
                    headers,
                    ..
                } = &mut step.action;
                f(connector_id, method, path, body, headers);
            }
        })
    };
    let field = move |pick: fn(&Action) -> String| {
        move || step.with(|s| s.as_ref().map(|s| pick(&s.action)).unwrap_or_default())
    };
    let connector_id = field(|a| match a {
        Action::ExternalAppConnector { connector_id, .. } => connector_id.clone(),
    });
    let method = field(|a| match a {
        Action::ExternalAppConnector { method, .. } => method.as_str().to_owned(),
    });
    let path = field(|a| match a {
        Action::ExternalAppConnector { path, .. } => path.clone(),
    });
    let body = field(|a| match a {
        Action::ExternalAppConnector { body, .. } => body.clone(),
    });
    let connector = move || cx.connector(&connector_id());
    let base_url = move || connector().map(|c| c.base_url).unwrap_or_default();
    let strip_to = move || {
        check_step_path(&path(), Some(&base_url()))
            .err()
            .and_then(|p| p.strip_to)
    };
    let format_error = RwSignal::new(None::<String>);
    let headers = move || {
        step.with(|s| match s.as_ref().map(|s| &s.action) {
            Some(Action::ExternalAppConnector { headers, .. }) => headers.clone(),
            None => Vec::new(),
        })
    };
    let no_connectors = cx.connectors.with_value(Vec::is_empty);

    view! {
        <Show when=move || step.with(Option::is_some) fallback=|| view! { <p class="hint">"This step was removed."</p> }>
            <h3 id=PANE_TITLE tabindex="-1">"External App Connector"</h3>
            <div class="pane-fields">
                <label for="step-name">"Step name"</label>
                <input id="step-name" type="text" maxlength="100" readonly=read_only
                    aria-invalid=marks("name").invalid() aria-describedby=marks("name").described_by()
                    prop:value=move || step.with(|s| s.as_ref().map(|s| s.name.clone()).unwrap_or_default())
                    on:input=move |ev| set_name(event_target_value(&ev))/>
                {problem("name")}
                <p class="hint">{move || step.with(|s| s.as_ref().map(|s| format!("Key: {} (later steps refer to it)", s.key)).unwrap_or_default())}</p>

                <label for="step-connector">"Select Connector"</label>
                <select id="step-connector" disabled=read_only
                    aria-invalid=marks("action.connector_id").invalid() aria-describedby=marks("action.connector_id").described_by()
                    on:change=move |ev| {
                        let id = event_target_value(&ev);
                        edit(Box::new(move |c, _, _, _, _| *c = id));
                    }>
                    <option value="" selected=move || connector_id().is_empty()>"Choose a connector…"</option>
                    {cx.connectors.with_value(|list| list.iter().map(|c| {
                        let id = c.id.clone();
                        let label = if c.enabled { c.name.clone() } else { format!("{} (disabled)", c.name) };
                        let value = id.clone();
                        view! { <option value=value selected=move || connector_id() == id>{label}</option> }
                    }).collect_view())}
                </select>
                {no_connectors.then(|| view! {
                    <p class="hint">"No connectors yet: add one in " <a href="/settings/connectors">"Settings › Connectors"</a> "."</p>
                })}
                {move || connector().filter(|c| !c.enabled).map(|c| view! {
                    <p class="warning">{format!("{} is disabled: this step will fail when it runs until it is enabled again.", c.name)}</p>
                })}
                {problem("action.connector_id")}

                <label for="step-method">"HTTP Method"</label>
                <select id="step-method" disabled=read_only
                    on:change=move |ev| {
                        let chosen = event_target_value(&ev);
                        if let Some(m) = HttpMethod::ALL.into_iter().find(|m| m.as_str() == chosen) {
                            edit(Box::new(move |_, method, _, _, _| *method = m));
                        }
                    }>
                    {HttpMethod::ALL.into_iter().map(|m| view! {
                        <option value=m.as_str() selected=move || method() == m.as_str()>{m.as_str()}</option>
                    }).collect_view()}
                </select>

                <label for="step-path">"Endpoint Path"</label>
                <div class="path-field">
                    <span class="path-prefix" id="step-path-prefix">{base_url}</span>
                    <input id="step-path" type="text" readonly=read_only placeholder="/api/resource"
                        aria-invalid=marks("action.path").invalid()
                        aria-describedby=move || match marks("action.path").described_by()() {
                            Some(id) => format!("step-path-prefix {id}"),
                            None => "step-path-prefix".to_owned(),
                        }
                        prop:value=path
                        on:input=move |ev| {
                            let typed = event_target_value(&ev);
                            edit(Box::new(move |_, _, p, _, _| *p = typed));
                        }/>
                </div>
                {problem("action.path")}
                {move || strip_to().map(|rest| {
                    let label = format!("Use {rest} instead");
                    view! {
                        <button type="button" on:click=move |_| {
                            let rest = rest.clone();
                            edit(Box::new(move |_, _, p, _, _| *p = rest));
                        }>{label}</button>
                    }
                })}

                <label for="step-body">"Request Body JSON"</label>
                <textarea id="step-body" class="mono" rows="8" spellcheck="false" readonly=read_only
                    aria-invalid=move || (has_problem("action.body") || format_error.with(Option::is_some)).to_string()
                    aria-describedby=move || {
                        let ids: Vec<String> = format_error.with(Option::is_some).then(|| "step-body-format-error".to_owned())
                            .into_iter().chain(marks("action.body").described_by()()).collect();
                        (!ids.is_empty()).then(|| ids.join(" "))
                    }
                    placeholder="{ \"summary\": \"${input.resource.username}\" }"
                    prop:value=body
                    on:input=move |ev| {
                        let typed = event_target_value(&ev);
                        format_error.set(None);
                        edit(Box::new(move |_, _, _, b, _| *b = typed));
                    }></textarea>
                <div class="body-tools">
                    <button type="button" disabled=read_only on:click=move |_| {
                        match pretty_json(&body()) {
                            Ok(pretty) => edit(Box::new(move |_, _, _, b, _| *b = pretty)),
                            Err(e) => format_error.set(Some(e.to_string())),
                        }
                    }>"Format"</button>
                    <InsertField index/>
                </div>
                {move || format_error.get().map(|m| view! { <p class="field-error" id="step-body-format-error" role="alert">{m}</p> })}
                {problem("action.body")}
            </div>

            <fieldset class="headers">
                <legend>"Headers"</legend>
                <p class="hint">"Override a connector header of the same name; the connector's authentication header cannot be overridden."</p>
                <For each=move || 0..headers().len() key=|i| *i let:i>
                    {
                        let n = i + 1;
                        let cell = move |value: bool| {
                            move || headers().get(i).map(|r| if value { r.value.clone() } else { r.key.clone() }).unwrap_or_default()
                        };
                        view! {
                            <div class="header-row">
                                <input type="text" aria-label=format!("Header {n} name") readonly=read_only prop:value=cell(false)
                                    on:input=move |ev| {
                                        let typed = event_target_value(&ev);
                                        edit(Box::new(move |_, _, _, _, h| if let Some(r) = h.get_mut(i) { r.key = typed }));
                                    }/>
                                <input type="text" aria-label=format!("Header {n} value") readonly=read_only prop:value=cell(true)
                                    on:input=move |ev| {
                                        let typed = event_target_value(&ev);
                                        edit(Box::new(move |_, _, _, _, h| if let Some(r) = h.get_mut(i) { r.value = typed }));
                                    }/>
                                <button type="button" aria-label=format!("Remove header {n}") disabled=read_only
                                    on:click=move |_| edit(Box::new(move |_, _, _, _, h| { if i < h.len() { h.remove(i); } }))>
                                    "Remove"
                                </button>
                                {move || cx.step_problems(index).into_iter()
                                    .filter(|(f, _)| f.starts_with(&format!("action.headers[{i}]")))
                                    .map(|(_, m)| view! { <p class="field-error">{m}</p> }).collect_view()}
                            </div>
                        }
                    }
                </For>
                <button type="button" disabled=read_only
                    on:click=move |_| edit(Box::new(|_, _, _, _, h| h.push(HeaderInput::default())))>
                    "Add Header"
                </button>
            </fieldset>

            <StepOptionsFields index/>
            <Preview index/>
            <StepTester index/>
            <button type="button" on:click=move |_| Selected::close(cx.selected)>"Close"</button>
        </Show>
    }
}

/// *Insert field*: the fields of the trigger's sample input, inserted into the body as
/// `${input.…}` at the end.
#[component]
fn InsertField(index: usize) -> impl IntoView {
    let cx = use_canvas();
    let fields = move || {
        let sample = cx.draft.with(|d| d.trigger.sample_input());
        domain::template::field_paths(&sample)
    };
    // Chosen, then inserted with the button: a select that inserted on every change would add
    // each field a keyboard user arrows past (browsers fire change per arrow key on a closed
    // select), and could not insert the same field twice.
    let chosen = RwSignal::new(String::new());
    let insert = move |_| {
        let path = chosen.get_untracked();
        if path.is_empty() {
            return;
        }
        cx.draft.update(|d| {
            if let Some(step) = d.steps.get_mut(index) {
                let Action::ExternalAppConnector { body, .. } = &mut step.action;
                body.push_str(&format!("${{{path}}}"));
            }
        });
        chosen.set(String::new());
    };
    view! {
        <label for="insert-field" class="visually-hidden">"Insert field"</label>
        <select id="insert-field" disabled=move || !cx.can_edit.get()
            prop:value=move || chosen.get()
            on:change=move |ev| chosen.set(event_target_value(&ev))>
            <option value="">"Insert field…"</option>
            {move || fields().into_iter().map(|p| view! { <option value=p.clone()>{p.clone()}</option> }).collect_view()}
        </select>
        " "
        <button type="button" on:click=insert
            disabled=move || !cx.can_edit.get() || chosen.with(String::is_empty)>"Insert"</button>
    }
}

/// The request as it would be sent with the trigger's sample input; secrets masked.
#[component]
fn Preview(index: usize) -> impl IntoView {
    let cx = use_canvas();
    let preview = move || {
        let (step, sample, workflow_name) = cx.draft.with(|d| {
            (
                d.steps.get(index).cloned(),
                d.trigger.sample_input(),
                d.name.clone(),
            )
        });
        let step = step?;
        let Some(connector) = step.action.connector_id().and_then(|id| cx.connector(id)) else {
            return Some("Select a connector to see the request.".to_owned());
        };
        let headers = connector.plain_headers();
        let secret_headers = connector.secret_header_names();
        let planned = plan(
            &ConnectorPlan {
                name: &connector.name,
                enabled: connector.enabled,
                base_url: &connector.base_url,
                headers: &headers,
                secret_headers: &secret_headers,
                auth: &connector.auth,
            },
            &step.action,
            &RunContext::preview(sample, &workflow_name),
        );
        Some(match planned {
            Err(e) => format!("Cannot build the request: {e}"),
            Ok(planned) => {
                let shown = planned.shown();
                let lines: Vec<String> = shown
                    .headers
                    .iter()
                    .map(|(k, v)| format!("{k}: {v}"))
                    .collect();
                let body = shown
                    .body
                    .map(|b| pretty_json(&b).unwrap_or(b))
                    .unwrap_or_default();
                format!(
                    "{} {}\n{}\n\n{body}",
                    shown.method,
                    shown.url,
                    lines.join("\n")
                )
            }
        })
    };
    view! {
        <section class="preview" aria-labelledby="preview-title">
            <h4 id="preview-title">"Preview"</h4>
            <p class="hint">"With the trigger's sample input. Secrets are shown as ••••••."</p>
            <pre class="mono" aria-label="Request preview">{preview}</pre>
        </section>
    }
}

/// *Test this step*: sends the step's real request once with the trigger's sample input and
/// shows what was sent (secrets masked) and what came back. Anything but GET asks first.
#[component]
fn StepTester(index: usize) -> impl IntoView {
    let cx = use_canvas();
    let confirm = Confirm::new("step-test", "step-test-cancel");
    let confirming = confirm.showing;
    let test = ServerAction::<crate::runs::TestStep>::new();
    let method = move || {
        cx.draft.with(|d| {
            d.steps.get(index).map_or(HttpMethod::Get, |s| {
                let Action::ExternalAppConnector { method, .. } = &s.action;
                *method
            })
        })
    };
    let send = move || {
        if confirming.get_untracked() {
            // The button that opened the confirmation is back in its place: the focus too.
            confirm.cancel();
        }
        let (trigger, step, workflow_name) = cx.draft.with_untracked(|d| {
            (
                d.trigger.clone(),
                d.steps.get(index).cloned(),
                d.name.clone(),
            )
        });
        if let Some(step) = step {
            test.dispatch(crate::runs::TestStep {
                test: crate::runs::StepTest {
                    workflow_id: None,
                    workflow_name,
                    trigger,
                    step,
                },
            });
        }
    };
    let result = move || {
        test.value().get().map(|result| match result {
            Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
            Ok(r) => view! {
                <div role="status" aria-label="Test result">
                    {match &r.error {
                        Some(e) => view! { <p class="form-error">{format!("Failed: {e}")}</p> }.into_any(),
                        None => view! { <p class="ok">{format!("Succeeded in {} ms.", r.duration_ms)}</p> }.into_any(),
                    }}
                    {r.request.clone().map(|request| view! { <crate::runs::RequestView request/> })}
                    {r.response.clone().map(|response| view! { <crate::runs::ResponseView response/> })}
                </div>
            }.into_any(),
        })
    };
    view! {
        <Show when=move || cx.can_run.get()>
            <section class="step-test" aria-labelledby="step-test-title">
                <h4 id="step-test-title">"Test this step"</h4>
                <p class="hint">"Sends the real request once, with the trigger's sample input."</p>
                <Show when=move || confirming.get() fallback=move || view! {
                    <button type="button" id="step-test" disabled=move || test.pending().get()
                        on:click=move |_| if method() == HttpMethod::Get { send() } else { confirm.open() }>
                        {move || if test.pending().get() { "Sending…" } else { "Test this step" }}
                    </button>
                }>
                    <div role="alertdialog" aria-labelledby="step-test-confirm" on:keydown=move |ev| confirm.on_key(ev)>
                        <p id="step-test-confirm">{move || format!("This sends a real {} request: the API may change data. Send it?", method().as_str())}</p>
                        <button type="button" class="primary" on:click=move |_| send()>{move || format!("Send {}", method().as_str())}</button>
                        <button type="button" id="step-test-cancel" on:click=move |_| confirm.cancel()>"Cancel"</button>
                    </div>
                </Show>
                {result}
            </section>
        </Show>
    }
}

/// A step's options: timeout, attempts, continue on failure, follow redirects.
#[component]
fn StepOptionsFields(index: usize) -> impl IntoView {
    let cx = use_canvas();
    let read_only = move || !cx.can_edit.get();
    let options = Memo::new(move |_| {
        cx.draft.with(|d| {
            d.steps.get(index).map(|s| {
                let Action::ExternalAppConnector { options, .. } = &s.action;
                *options
            })
        })
    });
    let set = move |f: Box<dyn FnOnce(&mut StepOptions)>| {
        cx.draft.update(|d| {
            if let Some(step) = d.steps.get_mut(index) {
                let Action::ExternalAppConnector { options, .. } = &mut step.action;
                f(options);
            }
        })
    };
    let get =
        move |f: fn(&StepOptions) -> u32| move || options.get().map(|o| f(&o)).unwrap_or_default();
    let problem = move |field: &'static str| field_problem(cx, index, field);
    view! {
        <details class="step-options">
            <summary>"Options"</summary>
            <label for="step-timeout">"Timeout (seconds)"</label>
            <input id="step-timeout" type="number" min="1" max=StepOptions::MAX_TIMEOUT_SECONDS readonly=read_only
                prop:value=get(|o| o.timeout_seconds)
                on:input=move |ev| {
                    let typed = event_target_value(&ev).trim().parse().unwrap_or(0);
                    set(Box::new(move |o| o.timeout_seconds = typed));
                }/>
            {problem("action.options.timeout_seconds")}
            <label for="step-attempts">"Attempts"</label>
            <input id="step-attempts" type="number" min="1" max=StepOptions::MAX_ATTEMPTS readonly=read_only
                prop:value=get(|o| o.attempts)
                on:input=move |ev| {
                    let typed = event_target_value(&ev).trim().parse().unwrap_or(0);
                    set(Box::new(move |o| o.attempts = typed));
                }/>
            <p class="hint">"Connection errors, 429 and 5xx answers are tried again, waiting longer each time (or as Retry-After says)."</p>
            {problem("action.options.attempts")}
            <label class="checkbox">
                <input type="checkbox" disabled=read_only
                    prop:checked=move || options.get().is_some_and(|o| o.continue_on_failure)
                    on:change=move |ev| {
                        let on = event_target_checked(&ev);
                        set(Box::new(move |o| o.continue_on_failure = on));
                    }/>
                "Continue on failure"
            </label>
            <label class="checkbox">
                <input type="checkbox" disabled=read_only
                    prop:checked=move || options.get().is_some_and(|o| o.follow_redirects)
                    on:change=move |ev| {
                        let on = event_target_checked(&ev);
                        set(Box::new(move |o| o.follow_redirects = on));
                    }/>
                "Follow redirects (up to 5; credentials only to the connector's own origin)"
            </label>
        </details>
    }
}

/// The error of one field of step `index`, shown under the field while the draft has it.
fn field_problem(
    cx: super::canvas::CanvasCx,
    index: usize,
    field: &'static str,
) -> impl Fn() -> Option<AnyView> + Copy {
    move || {
        cx.step_problems(index)
            .into_iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| view! { <p class="field-error" id=problem_id(field)>{m}</p> }.into_any())
    }
}

/// The id of a step field's problem, which its input names in `aria-describedby`.
fn problem_id(field: &str) -> String {
    format!("step-{}-problem", field.replace('.', "-"))
}
