use domain::workflow::{EVENT_CATALOGUE, Trigger, TriggerKind};
use leptos::prelude::*;

use super::canvas::{PANE_TITLE, use_canvas};
use super::schedule_preview;
use crate::components::Confirm;
use crate::triggers::{RegenerateWebhook, SetWebhookSecret, WebhookView, get_webhook};

/// The trigger card's pane: what starts the workflow, and the sample input previews use.
#[component]
pub fn TriggerPane(
    /// The workflow's id.
    id: String,
) -> impl IntoView {
    let cx = use_canvas();
    let trigger = Memo::new(move |_| cx.draft.with(|d| d.trigger.clone()));
    let read_only = move || !cx.can_edit.get();
    let problem = move |field: &'static str| {
        move || {
            cx.problems
                .with(|p| p.get(field).cloned())
                .map(|m| view! { <p class="field-error">{m}</p> })
        }
    };
    let set = move |f: Box<dyn FnOnce(&mut Trigger)>| cx.draft.update(|d| f(&mut d.trigger));
    // The sample input as typed; the draft changes only when it parses.
    let sample_text = RwSignal::new(
        serde_json::to_string_pretty(&cx.draft.with_untracked(|d| d.trigger.sample_input()))
            .unwrap_or_default(),
    );
    let sample_error = RwSignal::new(None::<String>);
    let on_sample = move |ev: leptos::ev::Event| {
        let typed = event_target_value(&ev);
        sample_text.set(typed.clone());
        // An integer no 64-bit number holds would be kept rounded (a float with other digits).
        if let Err(message) = domain::decode::check_exact_integers(&typed, "The sample input") {
            sample_error.set(Some(format!(
                "{message} The previews keep the last valid input."
            )));
            return;
        }
        match serde_json::from_str::<serde_json::Value>(&typed) {
            Ok(value) => {
                sample_error.set(None);
                set(Box::new(move |t| match t {
                    Trigger::Manual { sample_input }
                    | Trigger::Event { sample_input, .. }
                    | Trigger::Webhook { sample_input } => *sample_input = value,
                    _ => {}
                }));
            }
            Err(e) => {
                let (line, column) = (e.line(), e.column());
                sample_error.set(Some(format!("Line {line}, column {column}: not valid JSON ({e}). The previews keep the last valid input.")));
            }
        }
    };
    let sample_editor = move || {
        view! {
            <label for="trigger-sample">"Sample input JSON"</label>
            <textarea id="trigger-sample" class="mono" rows="10" spellcheck="false" readonly=read_only
                prop:value=move || sample_text.get() on:input=on_sample></textarea>
            {move || sample_error.get().map(|m| view! { <p class="field-error">{m}</p> })}
            <p class="hint">"Used by the previews, and as the input when the workflow is run by hand."</p>
        }
    };

    let next_times = LocalResource::new(move || {
        let schedule = trigger.with(|t| match t {
            Trigger::Schedule { cron, timezone, .. } => Some((cron.clone(), timezone.clone())),
            _ => None,
        });
        async move {
            match schedule {
                Some((cron, timezone)) => schedule_preview(cron, timezone).await,
                None => Ok(Vec::new()),
            }
        }
    });
    // The pane is rebuilt only when the kind changes, so typing keeps the focus.
    let kind = Memo::new(move |_| trigger.with(Trigger::kind));
    let event_type = move || {
        trigger.with(|t| match t {
            Trigger::Event { event_type, .. } => event_type.clone(),
            _ => String::new(),
        })
    };
    let text_of = move |pick: fn(&Trigger) -> Option<String>| {
        move || trigger.with(|t| pick(t).unwrap_or_default())
    };
    let filter = text_of(|t| match t {
        Trigger::Event { filter, .. } => Some(filter.clone()),
        _ => None,
    });
    let cron = text_of(|t| match t {
        Trigger::Schedule { cron, .. } => Some(cron.clone()),
        _ => None,
    });
    let timezone = text_of(|t| match t {
        Trigger::Schedule { timezone, .. } => Some(timezone.clone()),
        _ => None,
    });
    let catch_up = move || trigger.with(|t| matches!(t, Trigger::Schedule { catch_up: true, .. }));

    view! {
        <h3 id=PANE_TITLE tabindex="-1">{move || format!("Trigger: {}", kind.get().label())}</h3>
        {move || match kind.get() {
            TriggerKind::Manual => view! {
                <p>"Runs when someone starts it by hand."</p>
                {sample_editor()}
            }.into_any(),
            TriggerKind::Event => {
                let custom = move || !EVENT_CATALOGUE.contains(&event_type().as_str());
                view! {
                    <label for="trigger-event">"Event type"</label>
                    <select id="trigger-event" disabled=read_only on:change=move |ev| {
                        let chosen = event_target_value(&ev);
                        set(Box::new(move |t| if let Trigger::Event { event_type, .. } = t {
                            *event_type = if chosen == "custom" { String::new() } else { chosen };
                        }));
                    }>
                        {EVENT_CATALOGUE.into_iter().map(|e| {
                            view! { <option value=e selected=move || event_type() == e>{e}</option> }
                        }).collect_view()}
                        <option value="custom" selected=custom>"Custom…"</option>
                    </select>
                    <Show when=custom>
                        <label for="trigger-custom-event">"Custom event type"</label>
                        <input id="trigger-custom-event" type="text" readonly=read_only prop:value=event_type
                            placeholder="e.g. device.enrolled"
                            on:change=move |ev| {
                                let typed = event_target_value(&ev);
                                set(Box::new(move |t| if let Trigger::Event { event_type, .. } = t { *event_type = typed; }));
                            }/>
                    </Show>
                    {problem("trigger.event_type")}
                    <label for="trigger-filter">"Filter (optional)"</label>
                    <input id="trigger-filter" type="text" class="mono" readonly=read_only prop:value=filter
                        placeholder="resource.department == \"Engineering\""
                        aria-describedby="trigger-filter-hint"
                        on:input=move |ev| {
                            let typed = event_target_value(&ev);
                            set(Box::new(move |t| if let Trigger::Event { filter, .. } = t { *filter = typed; }));
                        }/>
                    {problem("trigger.filter")}
                    <p class="hint" id="trigger-filter-hint">"Conditions on the event's fields with ==, != or contains, joined by && or ||, e.g. resource.department == \"Engineering\" && resource.groups contains \"admins\". Empty: every event of this type."</p>
                    <p class="hint">"Events arrive at POST /api/v2/events (an Administrator's API key in x-api-key), or from switchboard events send. Each enabled workflow of this type whose filter matches gets a run with the event as its input."</p>
                    {sample_editor()}
                }.into_any()
            }
            TriggerKind::Schedule => view! {
                <label for="trigger-cron">"Cron expression"</label>
                <input id="trigger-cron" type="text" class="mono" readonly=read_only prop:value=cron
                    on:input=move |ev| {
                        let typed = event_target_value(&ev);
                        set(Box::new(move |t| if let Trigger::Schedule { cron, .. } = t { *cron = typed; }));
                    }/>
                {problem("trigger.cron")}
                <p class="hint">"minute hour day-of-month month day-of-week, e.g. 0 9 * * 1-5 for 09:00 on weekdays."</p>
                <label for="trigger-timezone">"Time zone"</label>
                <input id="trigger-timezone" type="text" readonly=read_only prop:value=timezone
                    on:input=move |ev| {
                        let typed = event_target_value(&ev);
                        set(Box::new(move |t| if let Trigger::Schedule { timezone, .. } = t { *timezone = typed; }));
                    }/>
                {problem("trigger.timezone")}
                <section aria-labelledby="next-times-title">
                    <h4 id="next-times-title">"Next five times"</h4>
                    {move || match next_times.get() {
                        None => view! { <p class="hint">"Working them out…"</p> }.into_any(),
                        Some(Err(error)) => view! { <p class="field-error">{error.to_string()}</p> }.into_any(),
                        Some(Ok(times)) if times.is_empty() => view! { <p class="hint">"It never fires in the next eight years."</p> }.into_any(),
                        Some(Ok(times)) => view! {
                            <ol class="next-times">{times.into_iter().map(|t| view! { <li>{t}</li> }).collect_view()}</ol>
                        }.into_any(),
                    }}
                </section>
                <label class="check">
                    <input type="checkbox" disabled=read_only prop:checked=catch_up
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            set(Box::new(move |t| if let Trigger::Schedule { catch_up, .. } = t { *catch_up = on; }));
                        }/>
                    "Catch up: after every server was down, run the last missed time once"
                </label>
                <p class="hint">"Each time fires once, however many servers run. The run's input is {\"scheduled_at\": \"…\"}."</p>
            }.into_any(),
            TriggerKind::Webhook => view! {
                <WebhookSettings id=id.clone()/>
                {sample_editor()}
            }.into_any(),
        }}
    }
}

/// The webhook's URL (*Copy*, *Regenerate*) and signing secret. Administrators only: the URL
/// starts runs, so Read Only callers do not get it.
#[component]
fn WebhookSettings(id: String) -> impl IntoView {
    let cx = use_canvas();
    let regenerate = ServerAction::<RegenerateWebhook>::new();
    let set_secret = ServerAction::<SetWebhookSecret>::new();
    let id = StoredValue::new(id);
    let loaded = LocalResource::new(move || get_webhook(id.get_value()));
    // The newest answer: a regeneration or a secret change replaces what was loaded.
    let hook = RwSignal::new(None::<WebhookView>);
    Effect::new(move |_| {
        if let Some(Ok(view)) = loaded.get() {
            hook.set(Some(view));
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(view)) = regenerate.value().get() {
            hook.set(Some(view));
        }
    });
    let secret = RwSignal::new(String::new());
    Effect::new(move |_| {
        if let Some(Ok(view)) = set_secret.value().get() {
            secret.set(String::new());
            hook.set(Some(view));
        }
    });
    let url = move || {
        hook.get().map(|h| {
            let origin = h.public_url.clone().unwrap_or_else(page_origin);
            format!("{origin}{}", h.path)
        })
    };
    let copied = RwSignal::new(None::<&'static str>);
    let copy = move |_| {
        if let Some(url) = url() {
            copied.set(None);
            leptos::task::spawn_local(async move { copied.set(Some(copy_text(url).await)) });
        }
    };
    let confirm = Confirm::new("webhook-regenerate", "webhook-regenerate-cancel");
    let confirming = confirm.showing;
    let failure = move || {
        let error = loaded
            .get()
            .and_then(Result::err)
            .or_else(|| regenerate.value().get().and_then(Result::err))
            .or_else(|| set_secret.value().get().and_then(Result::err));
        error.map(|e| view! { <p class="form-error" role="alert">{e.to_string()}</p> })
    };
    view! {
        <Show when=move || cx.can_edit.get() fallback=|| view! {
            <p class="notice">"Only Administrators see this workflow's webhook URL: anyone holding it can start runs."</p>
        }>
            <label for="webhook-url">"Webhook URL"</label>
            <div class="row">
                <input id="webhook-url" type="text" class="mono" readonly
                    prop:value=move || url().unwrap_or_else(|| "Loading…".into())/>
                <button type="button" on:click=copy disabled=move || hook.with(Option::is_none)>"Copy"</button>
            </div>
            <p class="hint" role="status">{move || copied.get().unwrap_or("")}</p>
            <p class="hint">"POST JSON to it: the body becomes input.body, the headers input.headers (without Authorization, Cookie or the signature), the query input.query. It answers 202 with the run id; an Idempotency-Key header makes a retry return the same run."</p>
            <Show when=move || confirming.get() fallback=move || view! {
                <button type="button" id="webhook-regenerate" on:click=move |_| confirm.open()>"Regenerate"</button>
            }>
                <div role="alertdialog" aria-labelledby="webhook-regenerate-confirm" on:keydown=move |ev| confirm.on_key(ev)>
                    <p id="webhook-regenerate-confirm">"The current URL stops working at once: callers using it get 404 until they have the new one. Regenerate?"</p>
                    <button type="button" class="primary" on:click=move |_| {
                        confirm.cancel();
                        copied.set(None);
                        regenerate.dispatch(RegenerateWebhook { workflow_id: id.get_value() });
                    }>"Regenerate URL"</button>
                    <button type="button" id="webhook-regenerate-cancel" on:click=move |_| confirm.cancel()>"Cancel"</button>
                </div>
            </Show>
            <h4>"Signing secret"</h4>
            <p class="hint" role="status">{move || match hook.get() {
                Some(h) if h.has_secret => "Set: calls must carry X-Switchboard-Signature: sha256=<hex HMAC-SHA256 of the body>, and X-Switchboard-Timestamp (Unix seconds, within 5 minutes; then the HMAC covers v1:<timestamp>:<body>) if they send one. Others get 401.",
                Some(_) => "Not set: calls need no signature.",
                None => "",
            }}</p>
            <label for="webhook-secret">{move || if hook.get().is_some_and(|h| h.has_secret) { "New signing secret" } else { "Signing secret" }}</label>
            <input id="webhook-secret" type="password" autocomplete="off" bind:value=secret
                placeholder="16 characters or more, e.g. from openssl rand -hex 32"/>
            <div class="row">
                <button type="button" disabled=move || secret.with(String::is_empty) || set_secret.pending().get()
                    on:click=move |_| { set_secret.dispatch(SetWebhookSecret { workflow_id: id.get_value(), secret: secret.get_untracked() }); }>
                    "Set secret"
                </button>
                <Show when=move || hook.get().is_some_and(|h| h.has_secret)>
                    <button type="button" on:click=move |_| {
                        set_secret.dispatch(SetWebhookSecret { workflow_id: id.get_value(), secret: String::new() });
                    }>"Remove secret"</button>
                </Show>
            </div>
            {failure}
        </Show>
    }
}

/// The page's own origin, e.g. `http://127.0.0.1:3000` (empty on the server).
fn page_origin() -> String {
    #[cfg(not(feature = "ssr"))]
    {
        web_sys::window()
            .and_then(|w| w.location().origin().ok())
            .unwrap_or_default()
    }
    #[cfg(feature = "ssr")]
    {
        String::new()
    }
}

/// Puts `text` on the clipboard, and says whether it got there. Browsers give a page the
/// clipboard only over HTTPS (or on localhost), and may refuse it: the URL is then to be copied
/// by hand, which the message says.
async fn copy_text(text: String) -> &'static str {
    const BY_HAND: &str = "Select the URL and copy it.";
    #[cfg(not(feature = "ssr"))]
    {
        let Some(window) = web_sys::window() else {
            return BY_HAND;
        };
        let clipboard = window.navigator().clipboard();
        if clipboard.is_undefined() {
            return "This browser lets only pages served over HTTPS copy: select the URL and copy it.";
        }
        match wasm_bindgen_futures::JsFuture::from(clipboard.write_text(&text)).await {
            Ok(_) => "Copied.",
            Err(_) => "The browser did not allow copying: select the URL and copy it.",
        }
    }
    #[cfg(feature = "ssr")]
    {
        let _ = text;
        BY_HAND
    }
}
