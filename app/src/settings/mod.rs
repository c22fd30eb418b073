//! *Settings › Administrators* and *Settings › API Keys* (Administrator With Billing only).

mod administrators_page;
mod api_keys_page;
mod role_select;

pub use administrators_page::AdministratorsPage;
pub use api_keys_page::ApiKeysPage;
pub use role_select::RoleSelect;
