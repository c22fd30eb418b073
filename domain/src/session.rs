//! Session lifetimes and sign-in throttling: the arithmetic, with the clock passed in.

/// Milliseconds since the Unix epoch, as stored.
pub type EpochMillis = i64;

const MINUTE: i64 = 60 * 1000;
const HOUR: i64 = 60 * MINUTE;

/// A session ends after this long without a request…
pub const SESSION_IDLE_TIMEOUT_MS: i64 = 12 * HOUR;
/// …and after this long in any case.
pub const SESSION_ABSOLUTE_TIMEOUT_MS: i64 = 7 * 24 * HOUR;
/// Refreshing `last_seen_at` on every request would write on every request; once a minute is
/// precise enough for a 12-hour idle limit.
pub const SESSION_TOUCH_INTERVAL_MS: i64 = MINUTE;

/// When a session created at `created_at` and last used at `last_seen_at` stops being valid.
pub fn session_expires_at(created_at: EpochMillis, last_seen_at: EpochMillis) -> EpochMillis {
    (last_seen_at + SESSION_IDLE_TIMEOUT_MS).min(created_at + SESSION_ABSOLUTE_TIMEOUT_MS)
}

/// Whether a request at `now` should move `last_seen_at` forward.
pub fn session_needs_touch(last_seen_at: EpochMillis, now: EpochMillis) -> bool {
    now - last_seen_at >= SESSION_TOUCH_INTERVAL_MS
}

/// Failed sign-ins counted per account and per client address.
pub const THROTTLE_WINDOW_MS: i64 = 15 * MINUTE;
/// Failures allowed in the window before attempts have to wait.
pub const THROTTLE_FREE_FAILURES: usize = 5;
const THROTTLE_BASE_DELAY_MS: i64 = 30 * 1000;

/// How long from `now` a new attempt must wait, given the times of recent failures (for one
/// account or one address, in any order). `None`: it may go ahead.
///
/// The first five failures in 15 minutes cost nothing; then each further failure doubles the wait,
/// from 30 seconds up to the end of the window, counted from the latest failure.
pub fn sign_in_wait_ms(failures: &[EpochMillis], now: EpochMillis) -> Option<i64> {
    let recent: Vec<EpochMillis> = failures
        .iter()
        .copied()
        .filter(|&at| at > now - THROTTLE_WINDOW_MS && at <= now)
        .collect();
    if recent.len() < THROTTLE_FREE_FAILURES {
        return None;
    }
    let latest = recent.iter().copied().max()?;
    let extra = (recent.len() - THROTTLE_FREE_FAILURES).min(10) as u32;
    let delay = (THROTTLE_BASE_DELAY_MS << extra).min(THROTTLE_WINDOW_MS);
    let wait = latest + delay - now;
    (wait > 0).then_some(wait)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_sessions_expire_after_twelve_hours() {
        let created = 1_000_000;
        assert_eq!(session_expires_at(created, created), created + 12 * HOUR);
        assert_eq!(
            session_expires_at(created, created + HOUR),
            created + 13 * HOUR
        );
    }

    #[test]
    fn no_session_outlives_seven_days() {
        let created = 0;
        let busy = 7 * 24 * HOUR - MINUTE;
        assert_eq!(session_expires_at(created, busy), 7 * 24 * HOUR);
    }

    #[test]
    fn touches_are_rate_limited() {
        assert!(!session_needs_touch(0, MINUTE - 1));
        assert!(session_needs_touch(0, MINUTE));
    }

    #[test]
    fn five_failures_are_free() {
        let now = 100 * MINUTE;
        let four: Vec<i64> = (0..4).map(|i| now - i * MINUTE).collect();
        assert_eq!(sign_in_wait_ms(&four, now), None);
        let five: Vec<i64> = (0..5).map(|i| now - i * MINUTE).collect();
        assert_eq!(sign_in_wait_ms(&five, now), Some(30_000));
    }

    #[test]
    fn waits_double_and_are_capped_by_the_window() {
        let now = 100 * MINUTE;
        let failures = |n: i64| (0..n).map(|i| now - i * 1000).collect::<Vec<_>>();
        assert_eq!(sign_in_wait_ms(&failures(6), now), Some(60_000));
        assert_eq!(sign_in_wait_ms(&failures(7), now), Some(120_000));
        assert_eq!(
            sign_in_wait_ms(&failures(40), now),
            Some(THROTTLE_WINDOW_MS)
        );
    }

    #[test]
    fn old_failures_and_served_waits_do_not_count() {
        let now = 100 * MINUTE;
        let old: Vec<i64> = (0..10).map(|i| now - 16 * MINUTE - i).collect();
        assert_eq!(sign_in_wait_ms(&old, now), None);
        let five: Vec<i64> = (0..5).map(|i| now - 60_000 - i).collect();
        // The latest failure was a minute ago; its 30-second wait is over.
        assert_eq!(sign_in_wait_ms(&five, now), None);
    }
}
