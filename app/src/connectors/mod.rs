mod connectors_page;

pub use connectors_page::ConnectorsPage;
