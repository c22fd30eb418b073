//! Who is making a request, as the server resolved it from a session cookie or an API key.

use crate::{Permission, Role};

/// The authenticated caller of one request. Built only by the server; never serialised, so the
/// session hash it may carry cannot reach a browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// What the audit log shows: the account's email, or `api key <prefix>`.
    pub actor: String,
    pub role: Role,
    pub via: CallerVia,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallerVia {
    /// A browser session of this account; `session_hash` identifies the session to end on sign-out.
    Session {
        account_id: String,
        session_hash: String,
    },
    /// An API key, identified by its prefix.
    ApiKey { prefix: String },
}

impl Caller {
    /// What the role allows, except that accounts and API keys are managed only by a person
    /// signed in: a key, however high its role, cannot make new keys or accounts, so revoking a
    /// leaked key ends what it could do.
    pub fn allows(&self, permission: Permission) -> bool {
        self.role.allows(permission) && !self.key_refused(permission)
    }

    /// The role allows `permission`, but not through an API key.
    pub fn key_refused(&self, permission: Permission) -> bool {
        permission == Permission::ManageAccess && matches!(self.via, CallerVia::ApiKey { .. })
    }

    pub fn account_id(&self) -> Option<&str> {
        match &self.via {
            CallerVia::Session { account_id, .. } => Some(account_id),
            CallerVia::ApiKey { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Caller, CallerVia};
    use crate::{Permission, Role};

    #[test]
    fn a_key_does_everything_its_role_does_but_manage_access() {
        let by = |via: CallerVia| Caller {
            actor: "x".into(),
            role: Role::AdministratorWithBilling,
            via,
        };
        let key = by(CallerVia::ApiKey {
            prefix: "sb_1".into(),
        });
        let person = by(CallerVia::Session {
            account_id: "a".into(),
            session_hash: "h".into(),
        });
        for permission in [
            Permission::Read,
            Permission::ManageAutomation,
            Permission::RunWorkflows,
        ] {
            assert!(key.allows(permission), "{permission:?}");
        }
        assert!(!key.allows(Permission::ManageAccess));
        assert!(key.key_refused(Permission::ManageAccess));
        assert!(person.allows(Permission::ManageAccess));
        assert!(!person.key_refused(Permission::ManageAccess));
    }
}
