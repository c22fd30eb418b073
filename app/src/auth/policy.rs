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

/// The server functions whose arguments are JSON (`input = Json`); every other one reads its body
/// as a form, whatever its content type. The gate checks a body for NUL characters as its route
/// reads it.
pub const JSON_SERVER_FNS: &[&str] = &[
    "/api/workflows/save",
    "/api/connectors/save",
    "/api/connectors/test",
    "/api/runs/list",
    "/api/runs/test_step",
];

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
    ("/api/connectors/list", Access::Signed(Permission::Read)),
    (
        "/api/connectors/name_taken",
        Access::Signed(Permission::ManageAutomation),
    ),
    (
        "/api/connectors/save",
        Access::Signed(Permission::ManageAutomation),
    ),
    (
        "/api/connectors/set_enabled",
        Access::Signed(Permission::ManageAutomation),
    ),
    (
        "/api/connectors/delete",
        Access::Signed(Permission::ManageAutomation),
    ),
    (
        "/api/connectors/test",
        Access::Signed(Permission::ManageAutomation),
    ),
    ("/api/workflows/list", Access::Signed(Permission::Read)),
    ("/api/workflows/get", Access::Signed(Permission::Read)),
    (
        "/api/workflows/create",
        Access::Signed(Permission::ManageAutomation),
    ),
    (
        "/api/workflows/save",
        Access::Signed(Permission::ManageAutomation),
    ),
    (
        "/api/workflows/set_enabled",
        Access::Signed(Permission::ManageAutomation),
    ),
    (
        "/api/workflows/duplicate",
        Access::Signed(Permission::ManageAutomation),
    ),
    (
        "/api/workflows/delete",
        Access::Signed(Permission::ManageAutomation),
    ),
    ("/api/workflows/versions", Access::Signed(Permission::Read)),
    (
        "/api/workflows/schedule_preview",
        Access::Signed(Permission::Read),
    ),
    ("/api/runs/start", Access::Signed(Permission::RunWorkflows)),
    ("/api/runs/list", Access::Signed(Permission::Read)),
    ("/api/runs/get", Access::Signed(Permission::Read)),
    (
        "/api/runs/test_step",
        Access::Signed(Permission::RunWorkflows),
    ),
    (
        "/api/workflows/restore",
        Access::Signed(Permission::ManageAutomation),
    ),
    ("/api/connectors/usage", Access::Signed(Permission::Read)),
    (
        "/api/webhooks/get",
        Access::Signed(Permission::ManageAutomation),
    ),
    (
        "/api/webhooks/regenerate",
        Access::Signed(Permission::ManageAutomation),
    ),
    (
        "/api/webhooks/set_secret",
        Access::Signed(Permission::ManageAutomation),
    ),
];

/// REST routes: (method, path) → access. `{id}` matches one path segment.
pub const REST_ACCESS: &[(&str, &str, Access)] = &[
    ("GET", "/api/v1/me", Access::Signed(Permission::Read)),
    (
        "GET",
        "/api/v1/audit-log.csv",
        Access::Signed(Permission::Read),
    ),
    (
        "GET",
        "/api/v2/connectors",
        Access::Signed(Permission::Read),
    ),
    (
        "POST",
        "/api/v2/connectors",
        Access::Signed(Permission::ManageAutomation),
    ),
    (
        "GET",
        "/api/v2/connectors/{id}",
        Access::Signed(Permission::Read),
    ),
    (
        "PUT",
        "/api/v2/connectors/{id}",
        Access::Signed(Permission::ManageAutomation),
    ),
    (
        "DELETE",
        "/api/v2/connectors/{id}",
        Access::Signed(Permission::ManageAutomation),
    ),
    ("GET", "/api/v2/workflows", Access::Signed(Permission::Read)),
    // Before `/api/v2/workflows/{id}`: the first match wins.
    (
        "GET",
        "/api/v2/workflows/runs",
        Access::Signed(Permission::Read),
    ),
    (
        "GET",
        "/api/v2/workflows/runs/{id}",
        Access::Signed(Permission::Read),
    ),
    (
        "POST",
        "/api/v2/workflows/{id}/runs",
        Access::Signed(Permission::RunWorkflows),
    ),
    (
        "POST",
        "/api/v2/workflows",
        Access::Signed(Permission::ManageAutomation),
    ),
    (
        "GET",
        "/api/v2/workflows/{id}",
        Access::Signed(Permission::Read),
    ),
    (
        "PUT",
        "/api/v2/workflows/{id}",
        Access::Signed(Permission::ManageAutomation),
    ),
    (
        "DELETE",
        "/api/v2/workflows/{id}",
        Access::Signed(Permission::ManageAutomation),
    ),
    // Directory events start runs: the same permission as running a workflow by hand.
    (
        "POST",
        "/api/v2/events",
        Access::Signed(Permission::RunWorkflows),
    ),
];

/// Whether `path` matches `pattern`, where a `{…}` segment matches any one non-empty segment.
fn path_matches(pattern: &str, path: &str) -> bool {
    let (mut p, mut q) = (pattern.split('/'), path.split('/'));
    loop {
        match (p.next(), q.next()) {
            (None, None) => return true,
            (Some(want), Some(got)) if want.starts_with('{') && want.ends_with('}') => {
                if got.is_empty() {
                    return false;
                }
            }
            (Some(want), Some(got)) if want == got => {}
            _ => return false,
        }
    }
}

/// The access rule for a request, or `None` when nothing is registered there.
pub fn access_for(method: &str, path: &str) -> Option<Access> {
    if is_rest(path) {
        return REST_ACCESS
            .iter()
            .find(|(m, p, _)| *m == method && path_matches(p, path))
            .map(|(_, _, access)| *access);
    }
    SERVER_FN_ACCESS
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, access)| *access)
}

/// REST routes live under `/api/v<N>/`; everything else under `/api/` is a server function.
pub fn is_rest(path: &str) -> bool {
    path.strip_prefix("/api/v")
        .and_then(|rest| rest.split_once('/'))
        .is_some_and(|(version, _)| {
            !version.is_empty() && version.bytes().all(|b| b.is_ascii_digit())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The list the gate reads a body's encoding from matches the server functions' own
    /// `input = Json`: one added without an entry would have its `%00` text refused, or a form
    /// one listed would let a `%00` through.
    #[test]
    fn json_server_functions_are_the_ones_declared_so() {
        let sources = [
            include_str!("api.rs"),
            include_str!("../connectors/api.rs"),
            include_str!("../runs/api.rs"),
            include_str!("../triggers/api.rs"),
            include_str!("../workflows/api.rs"),
        ];
        let mut declared: Vec<String> = Vec::new();
        let mut all = 0;
        for source in sources {
            // A function's attribute, not an argument's (`#[server(default)]`).
            let functions = source
                .lines()
                .filter(|l| l.trim_start().starts_with("#[server(") && l.contains("endpoint"));
            for line in functions {
                all += 1;
                let endpoint = line
                    .split("endpoint = \"")
                    .nth(1)
                    .and_then(|rest| rest.split('"').next())
                    .expect("each server function names its endpoint");
                if line.contains("input = Json") {
                    declared.push(format!("/api/{endpoint}"));
                }
            }
        }
        assert_eq!(
            all,
            SERVER_FN_ACCESS.len(),
            "every server function's file is read here"
        );
        declared.sort();
        let mut listed: Vec<String> = JSON_SERVER_FNS.iter().map(|p| p.to_string()).collect();
        listed.sort();
        assert_eq!(declared, listed);
    }

    #[test]
    fn rest_paths_match_their_patterns() {
        assert_eq!(
            access_for("GET", "/api/v2/connectors/abc"),
            Some(Access::Signed(Permission::Read))
        );
        assert_eq!(
            access_for("DELETE", "/api/v2/connectors/abc"),
            Some(Access::Signed(Permission::ManageAutomation))
        );
        assert_eq!(access_for("GET", "/api/v2/connectors/"), None);
        assert_eq!(access_for("GET", "/api/v2/connectors/a/b"), None);
        assert_eq!(access_for("PATCH", "/api/v2/connectors/abc"), None);
        assert_eq!(access_for("POST", "/api/sign_in"), Some(Access::Public));
        assert_eq!(access_for("POST", "/api/nothing"), None);
        assert!(is_rest("/api/v1/me") && !is_rest("/api/verify") && !is_rest("/api/sign_in"));
    }

    #[test]
    fn whatever_starts_a_run_needs_run_workflows() {
        for (method, path) in [
            ("POST", "/api/runs/start"),
            ("POST", "/api/runs/test_step"),
            ("POST", "/api/v2/workflows/abc/runs"),
            ("POST", "/api/v2/events"),
        ] {
            assert_eq!(
                access_for(method, path),
                Some(Access::Signed(Permission::RunWorkflows)),
                "{method} {path}"
            );
        }
        assert_eq!(
            access_for("POST", "/api/workflows/save"),
            Some(Access::Signed(Permission::ManageAutomation))
        );
    }
}
