use domain::Role;
use leptos::prelude::*;

/// A `<select name="role">` of the three roles.
#[component]
pub fn RoleSelect(
    /// The element id, for its label.
    id: String,
    /// The role selected at first.
    #[prop(optional)]
    selected: Option<Role>,
) -> impl IntoView {
    let selected = selected.unwrap_or(Role::ReadOnly);
    view! {
        <select id=id name="role">
            {Role::ALL
                .into_iter()
                .map(|role| view! { <option value=role.as_str() selected=role == selected>{role.label()}</option> })
                .collect_view()}
        </select>
    }
}
