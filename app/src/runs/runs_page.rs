use domain::format_utc;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

use super::{RunQuery, RunSummary, list_runs};
use crate::layout::PageHeader;
use crate::workflows::list_workflows;

/// How many runs a page of the list shows.
const PAGE: usize = 100;

/// Runs: every workflow run, newest first, filtered by workflow and status, a page at a time
/// (the address's `before` and `before_id` name the last run of the page before).
#[component]
pub fn RunsPage() -> impl IntoView {
    let query = use_query_map();
    let workflow = RwSignal::new(query.with_untracked(|q| q.get("workflow").unwrap_or_default()));
    let status = RwSignal::new(query.with_untracked(|q| q.get("status").unwrap_or_default()));
    let within = RwSignal::new(query.with_untracked(|q| q.get("within").unwrap_or_default()));
    let refreshed = RwSignal::new(0u32);
    let workflows = Resource::new(|| (), |()| list_workflows(None));
    // Followed as the address changes: the page links below only change the query.
    let cursor = move || {
        query.with(|q| {
            let before = q.get("before").and_then(|b| b.parse::<i64>().ok())?;
            Some((before, q.get("before_id").unwrap_or_default()))
        })
    };
    let runs = Resource::new(
        move || {
            (
                workflow.get(),
                status.get(),
                within.get(),
                refreshed.get(),
                cursor(),
            )
        },
        |(workflow, status, within, _, cursor)| {
            let (before, before_id) = cursor.unzip();
            list_runs(RunQuery {
                workflow_id: Some(workflow).filter(|w| !w.is_empty()),
                status: Some(status).filter(|s| !s.is_empty()),
                within_hours: within.parse().ok(),
                before,
                before_id: before_id.filter(|id| !id.is_empty()),
                limit: Some(PAGE as i64),
                ..RunQuery::default()
            })
        },
    );
    // The filters as the address carries them, for the page links.
    let filters = move || {
        let mut query = String::new();
        for (name, value) in [
            ("workflow", workflow.get()),
            ("status", status.get()),
            ("within", within.get()),
        ] {
            if !query.is_empty() {
                query.push('&');
            }
            query.push_str(name);
            query.push('=');
            domain::render::percent_encode(&value, &mut query);
        }
        query
    };
    view! {
        <PageHeader title="Runs"/>
        <p>"Every run of every workflow, newest first: open one to see each step's request and response."</p>
        <div class="filters" role="search">
            <label for="run-workflow">"Workflow"</label>
            <select id="run-workflow" on:change=move |ev| workflow.set(event_target_value(&ev)) prop:value=move || workflow.get()>
                <option value="">"All workflows"</option>
                <Suspense>
                    {move || Suspend::new(async move {
                        workflows.await.unwrap_or_default().into_iter().map(|w| view! {
                            <option value=w.id.clone() selected=workflow.get_untracked() == w.id>{w.name}</option>
                        }).collect_view()
                    })}
                </Suspense>
            </select>
            <label for="run-status">"Status"</label>
            <select id="run-status" on:change=move |ev| status.set(event_target_value(&ev)) prop:value=move || status.get()>
                <option value="">"Any status"</option>
                <option value="queued">"Queued"</option>
                <option value="running">"Running"</option>
                <option value="succeeded">"Succeeded"</option>
                <option value="failed">"Failed"</option>
            </select>
            <label for="run-within">"Time"</label>
            <select id="run-within" on:change=move |ev| within.set(event_target_value(&ev)) prop:value=move || within.get()>
                <option value="">"Any time"</option>
                <option value="1">"Last hour"</option>
                <option value="24">"Last 24 hours"</option>
                <option value="168">"Last 7 days"</option>
            </select>
            <button type="button" on:click=move |_| refreshed.update(|n| *n += 1)>"Refresh"</button>
        </div>
        <Transition fallback=|| view! { <p>"Loading runs…"</p> }>
            {move || Suspend::new(async move {
                match runs.await {
                    Err(error) => view! { <p class="form-error" role="alert">{error.to_string()}</p> }.into_any(),
                    Ok(list) if list.is_empty() && cursor().is_some() => view! {
                        <div class="notice">
                            <h2>"No older runs"</h2>
                            <p><A href=move || format!("/runs?{}", filters())>"Newest runs"</A></p>
                        </div>
                    }.into_any(),
                    Ok(list) if list.is_empty() => view! {
                        <div class="notice">
                            <h2>"No runs"</h2>
                            <p>"Runs appear here when a workflow is run: open a manual workflow and choose Run."</p>
                        </div>
                    }.into_any(),
                    Ok(list) => {
                        // A full page may have older runs after it.
                        let older = (list.len() == PAGE).then(|| list.last().map(|last| {
                            let mut href = format!("/runs?{}&before={}&before_id=", filters(), last.queued_at);
                            domain::render::percent_encode(&last.id, &mut href);
                            href
                        })).flatten();
                        let paged = cursor().is_some();
                        view! {
                            <table class="data-table">
                                <caption class="visually-hidden">"Runs"</caption>
                                <thead><tr>
                                    <th scope="col">"Run"</th><th scope="col">"Workflow"</th>
                                    <th scope="col">"Status"</th><th scope="col">"Started by"</th>
                                    <th scope="col">"Queued"</th><th scope="col">"Duration"</th>
                                </tr></thead>
                                <tbody>{list.into_iter().map(|run| view! { <RunRow run/> }).collect_view()}</tbody>
                            </table>
                            <nav class="pager" aria-label="Pages of runs">
                                {paged.then(|| view! { <A href=move || format!("/runs?{}", filters())>"Newest runs"</A> })}
                                {older.map(|href| view! { <A href=href>"Older runs"</A> })}
                            </nav>
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

#[component]
fn RunRow(run: RunSummary) -> impl IntoView {
    let duration = duration(run.started_at, run.finished_at);
    view! {
        <tr>
            <td><A href=format!("/runs/{}", run.id)>{short_id(&run.id)}</A></td>
            <td>{run.workflow_name}</td>
            <td><StatusBadge status=run.status/></td>
            <td>{run.started_by}</td>
            <td>{format_utc(run.queued_at)}</td>
            <td>{duration}</td>
        </tr>
    }
}

/// A run's or step's status, in words and colour.
#[component]
pub fn StatusBadge(status: String) -> impl IntoView {
    let label = match status.as_str() {
        "queued" => "Queued",
        "running" => "Running",
        "succeeded" => "Succeeded",
        "failed" => "Failed",
        _ => "Unknown",
    };
    view! { <span class=format!("badge status-{status}")>{label}</span> }
}

/// The last 8 characters of an id: enough to tell runs apart in a list.
pub fn short_id(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    chars[chars.len().saturating_sub(8)..].iter().collect()
}

pub fn duration(started: Option<i64>, finished: Option<i64>) -> String {
    match (started, finished) {
        (Some(s), Some(f)) if f - s < 1000 => format!("{} ms", f - s),
        (Some(s), Some(f)) => format!("{:.1} s", (f - s) as f64 / 1000.0),
        _ => "—".to_owned(),
    }
}
