//! Who may do what. The server checks these on every call; the UI only mirrors them.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An account's role, named as admins know them from their directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, and the only role that manages admin accounts and API keys.
    AdministratorWithBilling,
    /// Manage connectors and workflows, run workflows, read runs and the audit log.
    Administrator,
    /// Read workflows, connectors (never their secrets), runs and the audit log.
    ReadOnly,
}

/// One thing a caller may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Read workflows, connectors (without secrets), runs and the audit log.
    Read,
    /// Create, change and delete connectors and workflows.
    ManageAutomation,
    /// Start workflow runs by hand.
    RunWorkflows,
    /// Manage administrator accounts and API keys.
    ManageAccess,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?}: expected one of administrator_with_billing, administrator, read_only")]
pub struct RoleParseError(String);

impl Role {
    pub const ALL: [Role; 3] = [
        Role::AdministratorWithBilling,
        Role::Administrator,
        Role::ReadOnly,
    ];

    /// Whether this role ranks above `other` (`ALL` runs from the highest): what an account
    /// may no longer stand behind once lowered to `other`.
    pub fn outranks(self, other: Role) -> bool {
        let place = |role: Role| Role::ALL.iter().position(|r| *r == role);
        place(self) < place(other)
    }

    /// The stable key stored in the database and accepted on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::AdministratorWithBilling => "administrator_with_billing",
            Role::Administrator => "administrator",
            Role::ReadOnly => "read_only",
        }
    }

    /// The name shown to people.
    pub fn label(self) -> &'static str {
        match self {
            Role::AdministratorWithBilling => "Administrator With Billing",
            Role::Administrator => "Administrator",
            Role::ReadOnly => "Read Only",
        }
    }

    /// Accepts the stored key or the label, ignoring case, spaces, dashes and underscores,
    /// so `read-only`, `Read Only` and `read_only` all work on the command line.
    pub fn parse(input: &str) -> Result<Role, RoleParseError> {
        let folded: String = input
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '_'))
            .flat_map(char::to_lowercase)
            .collect();
        match folded.as_str() {
            "administratorwithbilling" => Ok(Role::AdministratorWithBilling),
            "administrator" => Ok(Role::Administrator),
            "readonly" => Ok(Role::ReadOnly),
            _ => Err(RoleParseError(input.to_owned())),
        }
    }

    pub fn allows(self, permission: Permission) -> bool {
        match permission {
            Permission::Read => true,
            Permission::ManageAutomation | Permission::RunWorkflows => {
                matches!(self, Role::AdministratorWithBilling | Role::Administrator)
            }
            Permission::ManageAccess => self == Role::AdministratorWithBilling,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_keys_and_labels_round_trip() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Ok(role));
            assert_eq!(Role::parse(role.label()), Ok(role));
        }
        assert_eq!(Role::parse("read-only"), Ok(Role::ReadOnly));
        assert_eq!(Role::parse("ADMINISTRATOR"), Ok(Role::Administrator));
    }

    #[test]
    fn unknown_roles_are_refused_with_the_choices() {
        let err = Role::parse("superuser").unwrap_err();
        assert!(err.to_string().contains("read_only"), "{err}");
        assert!(Role::parse("").is_err());
        assert!(Role::parse("admin").is_err());
    }

    #[test]
    fn permissions_follow_the_role_table() {
        use Permission::*;
        let table = [
            (Role::AdministratorWithBilling, [true, true, true, true]),
            (Role::Administrator, [true, true, true, false]),
            (Role::ReadOnly, [true, false, false, false]),
        ];
        for (role, expected) in table {
            let actual =
                [Read, ManageAutomation, RunWorkflows, ManageAccess].map(|p| role.allows(p));
            assert_eq!(actual, expected, "{role}");
        }
    }

    #[test]
    fn roles_rank_from_billing_down_to_read_only() {
        use Role::*;
        assert!(AdministratorWithBilling.outranks(Administrator));
        assert!(Administrator.outranks(ReadOnly));
        assert!(AdministratorWithBilling.outranks(ReadOnly));
        for role in Role::ALL {
            assert!(!role.outranks(role), "{role}");
        }
        assert!(!ReadOnly.outranks(Administrator));
    }

    #[test]
    fn serde_uses_the_stored_key() {
        let json = serde_json::to_string(&Role::ReadOnly).unwrap();
        assert_eq!(json, "\"read_only\"");
        for role in Role::ALL {
            assert_eq!(json_key(role), role.as_str());
        }
    }

    fn json_key(role: Role) -> String {
        serde_json::to_value(role)
            .unwrap()
            .as_str()
            .unwrap()
            .to_owned()
    }
}
