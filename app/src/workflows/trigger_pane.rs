use domain::workflow::{EVENT_CATALOGUE, Trigger, TriggerKind};
use leptos::prelude::*;

use super::canvas::use_canvas;
use super::schedule_preview;

/// The trigger card's pane: what starts the workflow, and the sample input previews use.
#[component]
pub fn TriggerPane() -> impl IntoView {
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
        match serde_json::from_str::<serde_json::Value>(&typed) {
            Ok(value) => {
                sample_error.set(None);
                set(Box::new(move |t| match t {
                    Trigger::Manual { sample_input } | Trigger::Event { sample_input, .. } => {
                        *sample_input = value
                    }
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
            <textarea id="trigger-sample" class="mono" rows="10" spellcheck="false" disabled=read_only
                prop:value=move || sample_text.get() on:input=on_sample></textarea>
            {move || sample_error.get().map(|m| view! { <p class="field-error">{m}</p> })}
            <p class="hint">"Used by the previews, and as the input when the workflow is run by hand."</p>
        }
    };

    let next_times = LocalResource::new(move || {
        let schedule = trigger.with(|t| match t {
            Trigger::Schedule { cron, timezone } => Some((cron.clone(), timezone.clone())),
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

    view! {
        <h3>{move || format!("Trigger: {}", kind.get().label())}</h3>
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
                        <input id="trigger-custom-event" type="text" disabled=read_only prop:value=event_type
                            placeholder="e.g. device.enrolled"
                            on:change=move |ev| {
                                let typed = event_target_value(&ev);
                                set(Box::new(move |t| if let Trigger::Event { event_type, .. } = t { *event_type = typed; }));
                            }/>
                    </Show>
                    {problem("trigger.event_type")}
                    <label for="trigger-filter">"Filter (optional)"</label>
                    <input id="trigger-filter" type="text" disabled=read_only prop:value=filter
                        placeholder="resource.department == \"Engineering\""
                        on:change=move |ev| {
                            let typed = event_target_value(&ev);
                            set(Box::new(move |t| if let Trigger::Event { filter, .. } = t { *filter = typed; }));
                        }/>
                    <p class="hint">"Events are not received yet: the event endpoint and filters arrive with the triggers work."</p>
                    {sample_editor()}
                }.into_any()
            }
            TriggerKind::Schedule => view! {
                <label for="trigger-cron">"Cron expression"</label>
                <input id="trigger-cron" type="text" class="mono" disabled=read_only prop:value=cron
                    on:input=move |ev| {
                        let typed = event_target_value(&ev);
                        set(Box::new(move |t| if let Trigger::Schedule { cron, .. } = t { *cron = typed; }));
                    }/>
                {problem("trigger.cron")}
                <p class="hint">"minute hour day-of-month month day-of-week, e.g. 0 9 * * 1-5 for 09:00 on weekdays."</p>
                <label for="trigger-timezone">"Time zone"</label>
                <input id="trigger-timezone" type="text" disabled=read_only prop:value=timezone
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
                <p class="notice">"Not built yet: schedules do not fire until the scheduler arrives."</p>
            }.into_any(),
            TriggerKind::Webhook => view! {
                <p class="notice">"Not built yet: this workflow's webhook URL and its signing secret arrive with the triggers work."</p>
            }.into_any(),
        }}
    }
}
