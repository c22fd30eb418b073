//! Settings › Connectors: external APIs registered once.

mod connectors_page;
#[cfg(feature = "ssr")]
pub mod service;
mod types;

pub use connectors_page::ConnectorsPage;
pub use types::ConnectorView;
