//! Settings › Connectors: external APIs registered once.

mod api;
mod connector_form;
mod connectors_page;
#[cfg(feature = "ssr")]
pub mod service;
mod types;

pub use api::*;
pub use connector_form::ConnectorForm;
pub use connectors_page::ConnectorsPage;
pub use types::{ConnectionTest, ConnectorView};
