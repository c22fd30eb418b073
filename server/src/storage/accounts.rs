//! Accounts: who can sign in, and with which role.

use super::{Store, StoreError, now_ms, on_pool};
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

#[derive(Debug, Clone)]
pub struct NewAccount {
    pub email: EmailAddress,
    pub name: String,
    pub role: Role,
    pub password_hash: String,
}

#[derive(sqlx::FromRow)]
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
}
