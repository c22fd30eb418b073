//! Sessions and sign-in failures. Only hashes of session ids are stored.

use super::{Store, StoreError, now_ms, on_pool};
use domain::session::{SESSION_ABSOLUTE_TIMEOUT_MS, THROTTLE_WINDOW_MS, session_expires_at};

/// A live session with the account it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub account_id: String,
    pub created_at: i64,
    pub last_seen_at: i64,
}

impl Store {
    pub async fn insert_session(&self, id_hash: &str, account_id: &str) -> Result<(), StoreError> {
        let now = now_ms();
        on_pool!(self, |pool| sqlx::query(
            "INSERT INTO sessions (id_hash, account_id, created_at, last_seen_at, expires_at) \
             VALUES ($1, $2, $3, $3, $4)"
        )
        .bind(id_hash)
        .bind(account_id)
        .bind(now)
        .bind(now + SESSION_ABSOLUTE_TIMEOUT_MS)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// The session with this id hash if it is still valid at `now`: not revoked, not idle for
    /// too long, not past its absolute limit, and its account not disabled.
    pub async fn live_session(
        &self,
        id_hash: &str,
        now: i64,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let row: Option<(String, i64, i64)> = on_pool!(self, |pool| sqlx::query_as(
            "SELECT s.account_id, s.created_at, s.last_seen_at FROM sessions s \
             JOIN accounts a ON a.id = s.account_id \
             WHERE s.id_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2 \
               AND a.disabled_at IS NULL"
        )
        .bind(id_hash)
        .bind(now)
        .fetch_optional(pool)
        .await)?;
        Ok(row
            .map(|(account_id, created_at, last_seen_at)| SessionRecord {
                account_id,
                created_at,
                last_seen_at,
            })
            .filter(|s| session_expires_at(s.created_at, s.last_seen_at) > now))
    }

    pub async fn touch_session(&self, id_hash: &str, now: i64) -> Result<(), StoreError> {
        on_pool!(self, |pool| sqlx::query(
            "UPDATE sessions SET last_seen_at = $2 WHERE id_hash = $1"
        )
        .bind(id_hash)
        .bind(now)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn revoke_session(&self, id_hash: &str) -> Result<(), StoreError> {
        on_pool!(self, |pool| sqlx::query(
            "UPDATE sessions SET revoked_at = $2 WHERE id_hash = $1 AND revoked_at IS NULL"
        )
        .bind(id_hash)
        .bind(now_ms())
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Records a failed sign-in, and forgets failures older than a day.
    pub async fn record_sign_in_failure(&self, email: &str, ip: &str) -> Result<(), StoreError> {
        let now = now_ms();
        on_pool!(self, |pool| {
            sqlx::query("DELETE FROM sign_in_failures WHERE occurred_at < $1")
                .bind(now - 24 * 60 * 60 * 1000)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())?;
            sqlx::query("INSERT INTO sign_in_failures (email, ip, occurred_at) VALUES ($1, $2, $3)")
                .bind(email)
                .bind(ip)
                .bind(now)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Times of the failures in the throttle window, for this email and for this address.
    pub async fn recent_sign_in_failures(
        &self,
        email: &str,
        ip: &str,
        now: i64,
    ) -> Result<(Vec<i64>, Vec<i64>), StoreError> {
        let since = now - THROTTLE_WINDOW_MS;
        let by_email: Vec<i64> = on_pool!(self, |pool| sqlx::query_scalar(
            "SELECT occurred_at FROM sign_in_failures WHERE email = $1 AND occurred_at > $2"
        )
        .bind(email)
        .bind(since)
        .fetch_all(pool)
        .await)?;
        let by_ip: Vec<i64> = on_pool!(self, |pool| sqlx::query_scalar(
            "SELECT occurred_at FROM sign_in_failures WHERE ip = $1 AND occurred_at > $2"
        )
        .bind(ip)
        .bind(since)
        .fetch_all(pool)
        .await)?;
        Ok((by_email, by_ip))
    }
}
