use leptos::prelude::*;

use crate::auth::AppError;

/// The error of the last submission of a form, announced to screen readers.
#[component]
pub fn FormError<T>(
    /// The action's last result.
    result: Signal<Option<Result<T, AppError>>>,
) -> impl IntoView
where
    T: Send + Sync + 'static,
{
    move || {
        result.with(|r| match r {
            Some(Err(error)) => {
                Some(view! { <p class="form-error" role="alert">{error.to_string()}</p> })
            }
            _ => None,
        })
    }
}
