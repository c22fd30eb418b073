use domain::format_utc;
use domain::plan::{ShownRequest, ShownResponse};
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

use super::runs_page::{StatusBadge, duration, short_id};
use super::{RunStepView, RunView, get_run};
use crate::layout::PageHeader;

/// One run: its input, then each step's request and response. Follows the run live until it
/// ends.
#[component]
pub fn RunPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    let tick = RwSignal::new(0u32);
    let run = Resource::new(move || (id(), tick.get()), |(id, _)| get_run(id));
    // While the run is queued or running, look again every second.
    Effect::new(move |_| {
        let unfinished = run
            .get()
            .and_then(Result::ok)
            .is_some_and(|r| r.status == "queued" || r.status == "running");
        if unfinished {
            set_timeout(
                move || tick.update(|n| *n += 1),
                std::time::Duration::from_secs(1),
            );
        }
    });
    // The details are drawn again at each look, so a status region inside them would be replaced,
    // not changed, and not reliably read out: this one stays, and says when the status changes
    // while the page is open (not what it was when the page opened).
    let announced = RwSignal::new(String::new());
    let seen = StoredValue::new(None::<(String, String)>);
    Effect::new(move |_| {
        let Some(Ok(now)) = run.get() else { return };
        let was = seen.get_value();
        if let Some(message) = status_change(was.as_ref(), (&now.id, &now.status)) {
            announced.set(message);
        }
        seen.set_value(Some((now.id, now.status)));
    });
    view! {
        <PageHeader title="Run"/>
        <p class="visually-hidden" role="status">{announced}</p>
        <p><A href="/runs">"All runs"</A></p>
        <Transition fallback=|| view! { <p>"Loading the run…"</p> }>
            {move || Suspend::new(async move {
                match run.await {
                    Err(error) => view! { <p class="form-error" role="alert">{error.to_string()}</p> }.into_any(),
                    Ok(run) => view! { <RunDetail run/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn RunDetail(run: RunView) -> impl IntoView {
    let input = serde_json::to_string_pretty(&run.input).unwrap_or_default();
    let steps = run.steps.clone();
    view! {
        // The tab says which run: every run page's heading is "Run".
        <leptos_meta::Title text=format!("{} · run {}", run.workflow_name, short_id(&run.id))/>
        <section aria-labelledby="run-summary">
            <h2 id="run-summary">{format!("{} · run {}", run.workflow_name, short_id(&run.id))}</h2>
            <dl class="facts">
                <dt>"Status"</dt><dd><StatusBadge status=run.status.clone()/></dd>
                <dt>"Workflow"</dt><dd><A href=format!("/workflows/{}", run.workflow_id)>{run.workflow_name.clone()}</A>{format!(" (version {})", run.workflow_version)}</dd>
                <dt>"Started by"</dt><dd>{run.started_by.clone()}</dd>
                <dt>"Queued"</dt><dd>{format_utc(run.queued_at)}</dd>
                <dt>"Duration"</dt><dd>{duration(run.started_at, run.finished_at)}</dd>
            </dl>
            {run.error.clone().map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
            {run.resumed.then(|| view! { <p class="hint">"A server stopped during this run; another resumed it. A step that was in flight then may have been sent twice."</p> })}
        </section>
        <section aria-labelledby="run-input">
            <h3 id="run-input">"Trigger input"</h3>
            <pre class="mono" aria-label="Trigger input">{input}</pre>
        </section>
        <section aria-labelledby="run-steps">
            <h3 id="run-steps">"Steps"</h3>
            {if steps.is_empty() {
                view! { <p>"No step has started yet."</p> }.into_any()
            } else {
                view! { <ol class="run-steps">{steps.into_iter().map(|step| view! { <StepDetail step/> }).collect_view()}</ol> }.into_any()
            }}
        </section>
    }
}

#[component]
fn StepDetail(step: RunStepView) -> impl IntoView {
    let title_id = format!("step-{}", step.key);
    let labelled_by = title_id.clone();
    view! {
        <li class="run-step">
            <article aria-labelledby=labelled_by>
                <h4 id=title_id>{step.name.clone()} " " <StatusBadge status=step.status.clone()/></h4>
                <p class="hint">{format!(
                    "Key {} · {} attempt{} · {}",
                    step.key,
                    step.attempts,
                    if step.attempts == 1 { "" } else { "s" },
                    step.duration_ms.map(|d| format!("{d} ms")).unwrap_or_else(|| "running".into()),
                )}</p>
                {step.error.clone().map(|e| view! { <p class="form-error">{e}</p> })}
                {step.request.clone().map(|r| view! { <RequestView request=r/> })}
                {step.response.clone().map(|r| view! { <ResponseView response=r/> })}
            </article>
        </li>
    }
}

/// A request as sent, credentials masked.
#[component]
pub fn RequestView(request: ShownRequest) -> impl IntoView {
    let headers: Vec<String> = request
        .headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    let body = request.body.as_deref().map(pretty).unwrap_or_default();
    view! {
        <details open>
            <summary>"Request"</summary>
            <pre class="mono" aria-label="Request">{format!("{} {}\n{}\n\n{body}", request.method, request.url, headers.join("\n"))}</pre>
        </details>
    }
}

/// A response as received, secrets redacted.
#[component]
pub fn ResponseView(response: ShownResponse) -> impl IntoView {
    let headers: Vec<String> = response
        .headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    let truncated = if response.truncated {
        "\n\n[the rest of the body was not kept]"
    } else {
        ""
    };
    view! {
        <details open>
            <summary>{format!("Response {}", response.status)}</summary>
            <pre class="mono" aria-label="Response">{format!("{}\n\n{}{truncated}", headers.join("\n"), pretty(&response.body))}</pre>
        </details>
    }
}

fn pretty(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| body.to_owned())
}

/// What the run page says when it sees a run's status change: nothing for the first look at a
/// run (`was` is another run's, or none), nor while the status stays the same.
fn status_change(was: Option<&(String, String)>, now: (&str, &str)) -> Option<String> {
    let (id, status) = now;
    let (was_id, was_status) = was?;
    if was_id != id || was_status == status {
        return None;
    }
    Some(match status {
        "running" => "The run is running.".to_owned(),
        "succeeded" => "The run succeeded.".to_owned(),
        "failed" => "The run failed.".to_owned(),
        other => format!("The run is {other}."),
    })
}

#[cfg(test)]
mod tests {
    use super::status_change;

    #[test]
    fn only_a_change_seen_on_the_page_is_announced() {
        let was = |status: &str| Some(("r1".to_owned(), status.to_owned()));
        assert_eq!(status_change(None, ("r1", "running")), None);
        assert_eq!(
            status_change(was("running").as_ref(), ("r1", "running")),
            None
        );
        assert_eq!(
            status_change(was("running").as_ref(), ("r1", "succeeded")).as_deref(),
            Some("The run succeeded.")
        );
        assert_eq!(
            status_change(was("queued").as_ref(), ("r1", "failed")).as_deref(),
            Some("The run failed.")
        );
        // Another run opened in the same page: its status is not news.
        assert_eq!(
            status_change(was("running").as_ref(), ("r2", "failed")),
            None
        );
    }
}
