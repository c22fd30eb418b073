mod audit_log_page;

pub use audit_log_page::AuditLogPage;
