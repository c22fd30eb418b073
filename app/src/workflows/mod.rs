mod workflows_page;

pub use workflows_page::WorkflowsPage;
