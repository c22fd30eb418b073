//! When a cron expression fires in a time zone. The matching is `domain::cron`; this adds the
//! calendar and the zone's offsets (daylight saving included).

use chrono::offset::LocalResult;
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use domain::cron::CronSchedule;

/// An IANA time zone by name.
pub fn time_zone(name: &str) -> Result<Tz, String> {
    name.trim().parse::<Tz>().map_err(|_| {
        format!(
            "Unknown time zone {:?}: use an IANA name such as Europe/Paris or UTC.",
            name.trim()
        )
    })
}

/// How far ahead to look: a schedule such as `0 0 29 2 1` may fire only every few years.
const HORIZON_DAYS: i64 = 366 * 8;

/// The next `count` times after `after` when `schedule` fires in `tz`. A local time skipped by a
/// daylight-saving change does not fire; one repeated by it fires once (the first).
pub fn next_times(
    schedule: &CronSchedule,
    tz: Tz,
    after: DateTime<Utc>,
    count: usize,
) -> Vec<DateTime<Tz>> {
    let mut out = Vec::with_capacity(count);
    let local = after.with_timezone(&tz).naive_local();
    let Some(mut at) = local
        .with_second(0)
        .and_then(|t| t.with_nanosecond(0))
        .map(|t| t + Duration::minutes(1))
    else {
        return out;
    };
    let limit = at + Duration::days(HORIZON_DAYS);
    while out.len() < count && at < limit {
        if !schedule.month(at.month()) {
            at = start_of_next_month(at);
            continue;
        }
        if !schedule.day(at.day(), at.weekday().num_days_from_sunday()) {
            at = midnight(at.date()) + Duration::days(1);
            continue;
        }
        if !schedule.hour(at.hour()) {
            at = at.with_minute(0).unwrap_or(at) + Duration::hours(1);
            continue;
        }
        if schedule.minute(at.minute()) {
            match tz.from_local_datetime(&at) {
                LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => out.push(t),
                LocalResult::None => {}
            }
        }
        at += Duration::minutes(1);
    }
    out
}

fn midnight(day: NaiveDate) -> NaiveDateTime {
    day.and_hms_opt(0, 0, 0).unwrap_or_default()
}

fn start_of_next_month(at: NaiveDateTime) -> NaiveDateTime {
    let (year, month) = if at.month() == 12 {
        (at.year() + 1, 1)
    } else {
        (at.year(), at.month() + 1)
    };
    NaiveDate::from_ymd_opt(year, month, 1).map_or(at + Duration::days(1), midnight)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn shown(times: &[DateTime<Tz>]) -> Vec<String> {
        times
            .iter()
            .map(|t| t.format("%Y-%m-%d %H:%M %Z").to_string())
            .collect()
    }

    #[test]
    fn weekday_mornings_in_paris() {
        let schedule = CronSchedule::parse("0 9 * * 1-5").unwrap();
        let tz = time_zone("Europe/Paris").unwrap();
        // Friday 2026-11-20 10:00 UTC = 11:00 in Paris.
        let times = next_times(&schedule, tz, utc("2026-11-20T10:00:00Z"), 3);
        assert_eq!(
            shown(&times),
            [
                "2026-11-23 09:00 CET",
                "2026-11-24 09:00 CET",
                "2026-11-25 09:00 CET"
            ]
        );
        assert_eq!(times[0].with_timezone(&Utc), utc("2026-11-23T08:00:00Z"));
    }

    #[test]
    fn daylight_saving_gaps_skip_and_repeats_fire_once() {
        let tz = time_zone("Europe/Paris").unwrap();
        // 2026-03-29 02:30 does not exist in Paris (clocks go 02:00 → 03:00).
        let gap = CronSchedule::parse("30 2 * * *").unwrap();
        let times = next_times(&gap, tz, utc("2026-03-28T12:00:00Z"), 2);
        assert_eq!(
            shown(&times),
            ["2026-03-30 02:30 CEST", "2026-03-31 02:30 CEST"]
        );
        // 2026-10-25 02:30 happens twice (03:00 → 02:00): once.
        let repeat = CronSchedule::parse("30 2 25 10 *").unwrap();
        let times = next_times(&repeat, tz, utc("2026-10-24T12:00:00Z"), 1);
        assert_eq!(shown(&times), ["2026-10-25 02:30 CEST"]);
    }

    #[test]
    fn rare_schedules_and_bad_zones() {
        let leap = CronSchedule::parse("0 0 29 2 *").unwrap();
        let times = next_times(
            &leap,
            time_zone("UTC").unwrap(),
            utc("2026-11-22T00:00:00Z"),
            2,
        );
        assert_eq!(
            shown(&times),
            ["2028-02-29 00:00 UTC", "2032-02-29 00:00 UTC"]
        );
        assert!(time_zone("Mars/Olympus").unwrap_err().contains("IANA"));
    }
}
