use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use super::{Canvas, get_workflow};
use crate::connectors::list_connectors;
use crate::layout::PageHeader;

/// One workflow on its canvas: loads the workflow and the connectors, then hands them over.
#[component]
pub fn WorkflowCanvasPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    let loaded = Resource::new(id, |id| async move {
        let workflow = get_workflow(id).await?;
        let connectors = list_connectors(None).await?;
        Ok::<_, crate::auth::AppError>((workflow, connectors))
    });
    view! {
        <PageHeader title="Workflow" section="Workflows"/>
        <Suspense fallback=|| view! { <p>"Loading the workflow…"</p> }>
            {move || Suspend::new(async move {
                match loaded.await {
                    Err(error) => view! { <p class="form-error" role="alert">{error.to_string()}</p> }.into_any(),
                    // The tab says which workflow: every canvas's heading is "Workflow".
                    Ok((workflow, connectors)) => view! {
                        <leptos_meta::Title text=format!("{} · Workflow", workflow.name)/>
                        <Canvas workflow connectors/>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}
