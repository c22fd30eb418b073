use domain::format_utc;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::auth::list_audit;
use crate::layout::PageHeader;

/// Events newest first, filtered by actor and action through the address (so filters work
/// without JavaScript and can be bookmarked), with paging and CSV export of the same filter.
#[component]
pub fn AuditLogPage() -> impl IntoView {
    let query = use_query_map();
    let param = move |name: &str| query.with(|q| q.get(name)).filter(|v| !v.trim().is_empty());
    let entries = Resource::new(
        move || {
            (
                param("actor"),
                param("action"),
                param("before").and_then(|b| b.parse::<i64>().ok()),
            )
        },
        |(actor, action, before)| list_audit(actor, action, before),
    );
    let filter_query = move || {
        let mut parts = Vec::new();
        for name in ["actor", "action"] {
            if let Some(value) = param(name) {
                parts.push(format!("{name}={}", encode(&value)));
            }
        }
        parts.join("&")
    };

    view! {
        <PageHeader title="Audit log"/>
        <form method="get" action="/audit-log" class="filters" role="search" aria-label="Filter the audit log">
            <label for="audit-actor">"Actor"</label>
            <input id="audit-actor" type="text" name="actor" value=move || param("actor").unwrap_or_default() placeholder="e.g. admin@example.com"/>
            <label for="audit-action">"Action"</label>
            <input id="audit-action" type="text" name="action" value=move || param("action").unwrap_or_default() placeholder="e.g. account.sign_in"/>
            <button type="submit">"Filter"</button>
            <a href="/audit-log">"Clear filters"</a>
            <a href=move || format!("/api/v1/audit-log.csv?{}", filter_query()) download="switchboard-audit-log.csv">"Export CSV"</a>
        </form>
        <Transition fallback=|| view! { <p>"Loading events…"</p> }>
            {move || Suspend::new(async move {
                match entries.await {
                    Err(error) => view! { <p class="form-error" role="alert">{error.to_string()}</p> }.into_any(),
                    Ok(page) if page.entries.is_empty() => view! { <p>"No events match."</p> }.into_any(),
                    Ok(page) => {
                        let older = page.next_before_id.map(|id| {
                            let q = filter_query();
                            let sep = if q.is_empty() { "" } else { "&" };
                            view! { <a href=format!("/audit-log?{q}{sep}before={id}")>"Older events"</a> }
                        });
                        view! {
                            <table class="data-table">
                                <caption class="visually-hidden">"Audit events, newest first"</caption>
                                <thead><tr>
                                    <th scope="col">"When (UTC)"</th><th scope="col">"Actor"</th><th scope="col">"Action"</th>
                                    <th scope="col">"Target"</th><th scope="col">"Detail"</th><th scope="col">"Address"</th>
                                </tr></thead>
                                <tbody>
                                    {page.entries.into_iter().map(|e| view! {
                                        <tr>
                                            <td>{format_utc(e.occurred_at)}</td>
                                            <td>{e.actor}</td>
                                            <td><code>{e.action}</code></td>
                                            <td>{e.target.unwrap_or_default()}</td>
                                            <td><code>{e.detail}</code></td>
                                            <td>{e.ip.unwrap_or_default()}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                            {older}
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

/// Percent-encodes a query value.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
