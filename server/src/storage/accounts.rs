//! Accounts: who can sign in, and with which role.

use super::{Store, StoreError, from_row, now_ms, on_pool};
use domain::{EmailAddress, Role};

/// An account as stored. It holds the password hash, so it never leaves the server: the type
/// deliberately has no `Serialize`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: String,
    pub email: EmailAddress,
    pub name: String,
    pub role: Role,
    pub password_hash: String,
    pub disabled_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// The outcome of `update_access`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessChange {
    /// Changed; `revoked_keys` are the prefixes of the API keys the account had created that it
    /// may no longer stand behind (all of them once it is disabled, those above its new role).
    Done {
        revoked_keys: Vec<String>,
    },
    NotFound,
    /// Refused: the role or status changed since the caller's page showed it; what it is now.
    ChangedMeanwhile {
        role: Role,
        disabled: bool,
    },
    /// Refused: it would leave no enabled Administrator With Billing.
    LastBillingAdministrator,
}

#[derive(Debug, Clone)]
pub struct NewAccount {
    pub email: EmailAddress,
    pub name: String,
    pub role: Role,
    pub password_hash: String,
}

struct AccountRow {
    id: String,
    email: String,
    name: String,
    role: String,
    password_hash: String,
    disabled_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
}
from_row!(AccountRow {
    id,
    email,
    name,
    role,
    password_hash,
    disabled_at,
    created_at,
    updated_at
});

impl TryFrom<AccountRow> for Account {
    type Error = StoreError;
    fn try_from(row: AccountRow) -> Result<Self, Self::Error> {
        Ok(Account {
            email: EmailAddress::parse(&row.email)
                .map_err(|e| StoreError::Corrupt(format!("account {}: {e}", row.id)))?,
            role: Role::parse(&row.role)
                .map_err(|e| StoreError::Corrupt(format!("account {}: {e}", row.id)))?,
            id: row.id,
            name: row.name,
            password_hash: row.password_hash,
            disabled_at: row.disabled_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// Ends every session of account `$1` at time `$2`.
const REVOKE_ACCOUNT_SESSIONS: &str =
    "UPDATE sessions SET revoked_at = $2 WHERE account_id = $1 AND revoked_at IS NULL";

const ACCOUNT_COLUMNS: &str =
    "id, email, name, role, password_hash, disabled_at, created_at, updated_at";

impl Store {
    /// Stores a new account. An email already in use is a `Conflict`, not a database error.
    pub async fn insert_account(&self, new: &NewAccount) -> Result<Account, StoreError> {
        let now = now_ms();
        let account = Account {
            id: uuid::Uuid::now_v7().to_string(),
            email: new.email.clone(),
            name: new.name.clone(),
            role: new.role,
            password_hash: new.password_hash.clone(),
            disabled_at: None,
            created_at: now,
            updated_at: now,
        };
        let result = on_pool!(self, |pool| {
            sqlx::query(
            "INSERT INTO accounts (id, email, name, role, password_hash, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)"
        )
        .bind(&account.id)
        .bind(account.email.as_str())
        .bind(&account.name)
        .bind(account.role.as_str())
        .bind(&account.password_hash)
        .bind(now)
        .bind(now)
        .execute(pool)
        .await
        .map(|_| ())
        });
        match result {
            Ok(_) => Ok(account),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(StoreError::Conflict {
                what: "an account with this email",
            }),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn account_by_email(
        &self,
        email: &EmailAddress,
    ) -> Result<Option<Account>, StoreError> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE email = $1");
        let row: Option<AccountRow> = on_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(email.as_str())
            .fetch_optional(pool)
            .await)?;
        row.map(Account::try_from).transpose()
    }

    pub async fn count_accounts(&self) -> Result<i64, StoreError> {
        let count = on_pool!(self, |pool| sqlx::query_scalar(
            "SELECT COUNT(*) FROM accounts"
        )
        .fetch_one(pool)
        .await)?;
        Ok(count)
    }

    pub async fn account_by_id(&self, id: &str) -> Result<Option<Account>, StoreError> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1");
        let row: Option<AccountRow> = on_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(id)
            .fetch_optional(pool)
            .await)?;
        row.map(Account::try_from).transpose()
    }

    /// Every account, by email.
    pub async fn list_accounts(&self) -> Result<Vec<Account>, StoreError> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY email");
        let rows: Vec<AccountRow> =
            on_pool!(self, |pool| sqlx::query_as(&sql).fetch_all(pool).await)?;
        rows.into_iter().map(Account::try_from).collect()
    }

    /// Creates the first account, only while there is none. The `first_run` row is inserted in
    /// the same transaction, so of two racing calls exactly one succeeds; the other gets
    /// `Conflict`.
    pub async fn create_first_account(&self, new: &NewAccount) -> Result<Account, StoreError> {
        let now = now_ms();
        let id = uuid::Uuid::now_v7().to_string();
        let result: Result<(), sqlx::Error> = on_pool!(self, |pool| {
            async {
                let mut tx = pool.begin().await?;
                sqlx::query("INSERT INTO first_run (singleton, account_id, completed_at) VALUES (1, $1, $2)")
                    .bind(&id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "INSERT INTO accounts (id, email, name, role, password_hash, created_at, updated_at) \
                     SELECT $1, $2, $3, $4, $5, $6, $6 WHERE NOT EXISTS (SELECT 1 FROM accounts)",
                )
                .bind(&id)
                .bind(new.email.as_str())
                .bind(&new.name)
                .bind(new.role.as_str())
                .bind(&new.password_hash)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                tx.commit().await
            }
            .await
        });
        match result {
            Ok(()) => {}
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(StoreError::Conflict {
                    what: "the first administrator",
                });
            }
            Err(e) => return Err(e.into()),
        }
        // An account made with the CLI before the first run leaves the guard row free but the
        // insert above empty: report that as the conflict it is.
        self.account_by_id(&id).await?.ok_or(StoreError::Conflict {
            what: "the first administrator",
        })
    }

    /// Whether the first-run setup is still open: no account exists.
    pub async fn needs_first_run(&self) -> Result<bool, StoreError> {
        Ok(self.count_accounts().await? == 0)
    }

    /// Changes an account's role and/or disabled state, refusing to leave no enabled
    /// Administrator With Billing. Returns `Ok(false)` when that rule refused the change.
    ///
    /// The first statement locks every enabled Administrator With Billing row (PostgreSQL row
    /// locks; SQLite's write lock), so two admins demoting each other at once cannot both win.
    pub async fn update_access(
        &self,
        id: &str,
        role: Role,
        disabled: bool,
        shown: Option<(Role, bool)>,
    ) -> Result<AccessChange, StoreError> {
        let now = now_ms();
        let result: Result<AccessChange, sqlx::Error> = on_pool!(self, |pool| {
            async {
                let mut tx = pool.begin().await?;
                sqlx::query(
                    "UPDATE accounts SET updated_at = updated_at \
                     WHERE role = 'administrator_with_billing' AND disabled_at IS NULL",
                )
                .execute(&mut *tx)
                .await?;
                // Locks the account's row too, and reads what it is now.
                let now_is: Option<(String, bool)> = sqlx::query_as(
                    "UPDATE accounts SET updated_at = updated_at WHERE id = $1 \
                     RETURNING role, disabled_at IS NOT NULL",
                )
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
                let Some((now_role, now_disabled)) = now_is else {
                    return Ok(AccessChange::NotFound);
                };
                // Changed by someone else since the page showed it: saving the page's other
                // field would undo their change (re-enable an account they disabled).
                if let Some((shown_role, shown_disabled)) = shown
                    && (shown_role.as_str() != now_role || shown_disabled != now_disabled)
                {
                    return Ok(AccessChange::ChangedMeanwhile {
                        role: Role::parse(&now_role).unwrap_or(shown_role),
                        disabled: now_disabled,
                    });
                }
                let changed = sqlx::query(
                    "UPDATE accounts SET role = $2, \
                       disabled_at = CASE WHEN $3 THEN COALESCE(disabled_at, $4) ELSE NULL END, \
                       updated_at = $4 \
                     WHERE id = $1 AND ( \
                       ($2 = 'administrator_with_billing' AND NOT $3) \
                       OR (SELECT COUNT(*) FROM accounts \
                           WHERE role = 'administrator_with_billing' AND disabled_at IS NULL AND id <> $1) > 0)",
                )
                .bind(id)
                .bind(role.as_str())
                .bind(disabled)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if changed == 0 {
                    return Ok(AccessChange::LastBillingAdministrator);
                }
                if disabled {
                    sqlx::query(REVOKE_ACCOUNT_SESSIONS)
                        .bind(id)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                }
                // A key is only as good as the person who made it: keys record their maker by
                // email (which does not change). Which of them go is the domain's rule.
                let keys: Vec<(String, String)> = sqlx::query_as(
                    "SELECT prefix, role FROM api_keys WHERE revoked_at IS NULL \
                     AND created_by = (SELECT email FROM accounts WHERE id = $1)",
                )
                .bind(id)
                .fetch_all(&mut *tx)
                .await?;
                let revoked_keys: Vec<String> = keys
                    .into_iter()
                    .filter(|(_, key_role)| {
                        disabled || Role::parse(key_role).is_ok_and(|k| k.outranks(role))
                    })
                    .map(|(prefix, _)| prefix)
                    .collect();
                for prefix in &revoked_keys {
                    sqlx::query("UPDATE api_keys SET revoked_at = $2 WHERE prefix = $1")
                        .bind(prefix)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(AccessChange::Done { revoked_keys })
            }
            .await
        });
        Ok(result?)
    }

    /// Replaces the password hash and ends every session of the account.
    pub async fn set_password_hash(
        &self,
        id: &str,
        password_hash: &str,
    ) -> Result<bool, StoreError> {
        let now = now_ms();
        let result: Result<bool, sqlx::Error> = on_pool!(self, |pool| {
            async {
                let mut tx = pool.begin().await?;
                let changed = sqlx::query(
                    "UPDATE accounts SET password_hash = $2, updated_at = $3 WHERE id = $1",
                )
                .bind(id)
                .bind(password_hash)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                sqlx::query(REVOKE_ACCOUNT_SESSIONS)
                    .bind(id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(changed > 0)
            }
            .await
        });
        Ok(result?)
    }
}
