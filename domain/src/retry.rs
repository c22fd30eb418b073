//! Retry arithmetic for a step's request: which outcomes are retried, how long to wait
//! (exponential backoff with jitter, or the server's `Retry-After`, capped).

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How a step retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 = no retry).
    pub attempts: u32,
    /// The first wait; each later one doubles.
    pub base_delay_ms: u64,
    /// No wait is longer than this, `Retry-After` included.
    pub max_delay_ms: u64,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            attempts: 3,
            base_delay_ms: 500,
            max_delay_ms: 30_000,
        }
    }
}

/// How an attempt ended, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// An answer with this status.
    Status(u16),
    /// No answer: refused, reset, timed out.
    ConnectionError,
    /// Refused before sending (network policy, bad URL): retrying cannot help.
    NotSent,
}

impl Outcome {
    /// 2xx succeeds the step.
    pub fn succeeded(self) -> bool {
        matches!(self, Outcome::Status(s) if (200..300).contains(&s))
    }

    /// Connection errors, 429 and 5xx are worth another try; other 4xx are not.
    pub fn retryable(self) -> bool {
        match self {
            Outcome::Status(s) => s == 429 || (500..600).contains(&s),
            Outcome::ConnectionError => true,
            Outcome::NotSent => false,
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `next` (2 for the first retry), or `None` when no attempt is
    /// left or the outcome is not retried. `jitter` is a random number in [0, 1): the wait is
    /// between half and all of the exponential delay. A `Retry-After` replaces the delay.
    pub fn wait_before(
        &self,
        next: u32,
        outcome: Outcome,
        retry_after: Option<Duration>,
        jitter: f64,
    ) -> Option<Duration> {
        if next > self.attempts || next < 2 || !outcome.retryable() {
            return None;
        }
        let max = Duration::from_millis(self.max_delay_ms);
        if let Some(after) = retry_after {
            return Some(after.min(max));
        }
        let exponent = (next - 2).min(20);
        let full = self
            .base_delay_ms
            .saturating_mul(1 << exponent)
            .min(self.max_delay_ms);
        let jitter = jitter.clamp(0.0, 1.0);
        let ms = full / 2 + ((full / 2) as f64 * jitter) as u64;
        Some(Duration::from_millis(ms).min(max))
    }
}

/// Reads a `Retry-After` value: seconds, or an HTTP date (compared with `now_unix`, seconds since
/// the epoch). A date in the past means now.
pub fn parse_retry_after(value: &str, now_unix: i64) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = parse_http_date(value)?;
    Some(Duration::from_secs(
        at.saturating_sub(now_unix).max(0) as u64
    ))
}

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the form HTTP servers send, as seconds since
/// the epoch.
pub fn parse_http_date(text: &str) -> Option<i64> {
    let rest = text.split_once(", ")?.1;
    let parts: Vec<&str> = rest.split(' ').collect();
    let [day, month, year, time, "GMT"] = parts.as_slice() else {
        return None;
    };
    let day: u32 = day.parse().ok()?;
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| m == month)? as u32
        + 1;
    let year: i64 = year.parse().ok().filter(|y| (1970..=9999).contains(y))?;
    let hms: Vec<i64> = time
        .split(':')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let [h, m, s] = hms.as_slice() else {
        return None;
    };
    if !(1..=31).contains(&day)
        || !(0..24).contains(h)
        || !(0..60).contains(m)
        || !(0..61).contains(s)
    {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + h * 3600 + m * 60 + s)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = month as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn which_outcomes_retry() {
        for (outcome, retry, ok) in [
            (Outcome::Status(200), false, true),
            (Outcome::Status(204), false, true),
            (Outcome::Status(301), false, false),
            (Outcome::Status(400), false, false),
            (Outcome::Status(404), false, false),
            (Outcome::Status(429), true, false),
            (Outcome::Status(500), true, false),
            (Outcome::Status(503), true, false),
            (Outcome::ConnectionError, true, false),
            (Outcome::NotSent, false, false),
        ] {
            assert_eq!(outcome.retryable(), retry, "{outcome:?}");
            assert_eq!(outcome.succeeded(), ok, "{outcome:?}");
        }
    }

    #[test]
    fn waits_double_with_jitter_and_stop_after_the_last_attempt() {
        let p = RetryPolicy::default();
        let s = Outcome::Status(503);
        assert_eq!(
            p.wait_before(2, s, None, 0.0),
            Some(Duration::from_millis(250))
        );
        assert_eq!(
            p.wait_before(2, s, None, 0.999_999),
            Some(Duration::from_millis(499))
        );
        assert_eq!(
            p.wait_before(3, s, None, 0.0),
            Some(Duration::from_millis(500))
        );
        assert_eq!(p.wait_before(4, s, None, 0.0), None, "3 attempts in all");
        assert_eq!(p.wait_before(2, Outcome::Status(404), None, 0.0), None);
        let long = RetryPolicy { attempts: 40, ..p };
        assert_eq!(
            long.wait_before(40, s, None, 0.999_999),
            Some(Duration::from_millis(29_999)),
            "capped"
        );
    }

    #[test]
    fn retry_after_replaces_the_delay_and_is_capped() {
        let p = RetryPolicy::default();
        let s = Outcome::Status(429);
        assert_eq!(
            p.wait_before(2, s, Some(Duration::from_secs(2)), 0.5),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            p.wait_before(2, s, Some(Duration::from_secs(3600)), 0.5),
            Some(Duration::from_secs(30))
        );
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        assert_eq!(parse_retry_after(" 7 ", 0), Some(Duration::from_secs(7)));
        // 1994-11-06 08:49:37 UTC is 784111777.
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", 784_111_777),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784_111_900),
            Some(Duration::ZERO),
            "a past date means now"
        );
        assert_eq!(
            parse_http_date("Mon, 29 Feb 2028 00:00:00 GMT"),
            Some(1_835_395_200)
        );
        for bad in [
            "soon",
            "-1",
            "Sun, 06 Nov 1994 08:49:37 PST",
            "Sun, 32 Nov 1994 08:49:37 GMT",
        ] {
            assert_eq!(parse_retry_after(bad, 0), None, "{bad}");
        }
    }
}
