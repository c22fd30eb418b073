mod runs_page;

pub use runs_page::RunsPage;
