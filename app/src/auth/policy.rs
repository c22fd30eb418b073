//! Who may call what. The server's gate looks every `/api` request up here before the handler
//! runs: a path missing from the table is refused, so a route added without an entry fails
//! closed (and fails the route-enumeration test).

use domain::Permission;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not (sign-in itself, first-run setup, the session probe).
    Public,
    /// A signed-in caller whose role has this permission.
    Signed(Permission),
}

impl Access {
    /// Whether the call changes something; Read Only callers are refused every change.
    pub fn is_change(self) -> bool {
        matches!(self, Access::Signed(p) if p != Permission::Read)
    }
}

/// Server functions: path → access.
pub const SERVER_FN_ACCESS: &[(&str, Access)] = &[
    ("/api/session", Access::Public),
    ("/api/setup", Access::Public),
    ("/api/sign_in", Access::Public),
    ("/api/sign_out", Access::Signed(Permission::Read)),
    // Every role may change its own password; the body checks the current one.
    (
        "/api/account/change_password",
        Access::Signed(Permission::Read),
    ),
    (
        "/api/accounts/list",
        Access::Signed(Permission::ManageAccess),
    ),
    (
        "/api/accounts/create",
        Access::Signed(Permission::ManageAccess),
    ),
    (
        "/api/accounts/update",
        Access::Signed(Permission::ManageAccess),
    ),
    (
        "/api/accounts/reset_password",
        Access::Signed(Permission::ManageAccess),
    ),
    (
        "/api/api_keys/list",
        Access::Signed(Permission::ManageAccess),
    ),
    (
        "/api/api_keys/create",
        Access::Signed(Permission::ManageAccess),
    ),
    (
        "/api/api_keys/revoke",
        Access::Signed(Permission::ManageAccess),
    ),
    ("/api/audit/list", Access::Signed(Permission::Read)),
];

/// REST routes under `/api/v1`: (method, path) → access.
pub const REST_ACCESS: &[(&str, &str, Access)] = &[
    ("GET", "/api/v1/me", Access::Signed(Permission::Read)),
    (
        "GET",
        "/api/v1/audit-log.csv",
        Access::Signed(Permission::Read),
    ),
];

/// The access rule for a request, or `None` when nothing is registered there.
pub fn access_for(method: &str, path: &str) -> Option<Access> {
    if path.starts_with("/api/v1/") {
        return REST_ACCESS
            .iter()
            .find(|(m, p, _)| *m == method && *p == path)
            .map(|(_, _, access)| *access);
    }
    SERVER_FN_ACCESS
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, access)| *access)
}
