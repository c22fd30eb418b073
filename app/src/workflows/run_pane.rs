use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

use super::canvas::{PANE_TITLE, use_canvas};
use crate::runs::StartRun;

/// *Run*: the input JSON (prefilled with the sample input), then a run of the saved version;
/// the run page follows it live.
#[component]
pub fn RunPane(
    /// The workflow's id.
    id: String,
) -> impl IntoView {
    let cx = use_canvas();
    let sample = cx.saved.with_untracked(|s| s.trigger.sample_input());
    let input = RwSignal::new(serde_json::to_string_pretty(&sample).unwrap_or_default());
    let start = ServerAction::<StartRun>::new();
    let dirty = move || cx.draft.with(|d| cx.saved.with(|s| d != s));
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(run)) = start.value().get() {
            navigate(&format!("/runs/{}", run.id), Default::default());
        }
    });
    let error = move || {
        start
            .value()
            .get()
            .and_then(Result::err)
            .map(|e| view! { <p class="form-error" role="alert">{e.to_string()}</p> })
    };
    view! {
        <h3 id=PANE_TITLE tabindex="-1">"Run"</h3>
        <p class="hint">"Runs the saved version with this input; the run page follows it."</p>
        <Show when=dirty>
            <p class="notice" role="status">"You have unsaved changes: the run uses the saved version. Save first to run what you see."</p>
        </Show>
        <label for="run-input">"Input JSON"</label>
        <textarea id="run-input" class="mono" rows="10" spellcheck="false" bind:value=input></textarea>
        {error}
        <button type="button" class="primary" disabled=move || start.pending().get()
            on:click=move |_| { start.dispatch(StartRun { workflow_id: id.clone(), input: input.get_untracked() }); }>
            {move || if start.pending().get() { "Starting…" } else { "Start run" }}
        </button>
    }
}
