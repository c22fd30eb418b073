//! Five-field cron expressions (minute hour day-of-month month day-of-week), parsed once and
//! matched against local calendar fields. Time zones are the server's business; this is arithmetic.

/// A parsed cron expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronSchedule {
    minutes: Vec<bool>,
    hours: Vec<bool>,
    days: Vec<bool>,
    months: Vec<bool>,
    weekdays: Vec<bool>,
    /// `*` in day-of-month / day-of-week: with both restricted, either may match (as Vixie cron).
    any_day: bool,
    any_weekday: bool,
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// One field: its name, bounds, and names (months, weekdays).
struct Field {
    what: &'static str,
    lo: u32,
    hi: u32,
    names: &'static [&'static str],
    first_name: u32,
}

const FIELDS: [Field; 5] = [
    Field {
        what: "minute",
        lo: 0,
        hi: 59,
        names: &[],
        first_name: 0,
    },
    Field {
        what: "hour",
        lo: 0,
        hi: 23,
        names: &[],
        first_name: 0,
    },
    Field {
        what: "day of month",
        lo: 1,
        hi: 31,
        names: &[],
        first_name: 0,
    },
    Field {
        what: "month",
        lo: 1,
        hi: 12,
        names: &MONTHS,
        first_name: 1,
    },
    Field {
        what: "day of week",
        lo: 0,
        hi: 7,
        names: &DAYS,
        first_name: 0,
    },
];

impl Field {
    fn value(&self, text: &str) -> Result<u32, String> {
        let lower = text.to_ascii_lowercase();
        let named = self
            .names
            .iter()
            .position(|n| *n == lower)
            .map(|p| p as u32 + self.first_name);
        let n = named
            .or_else(|| text.parse().ok())
            .ok_or_else(|| format!("{text:?} is not a valid {}.", self.what))?;
        if n < self.lo || n > self.hi {
            return Err(format!(
                "The {} must be between {} and {}; found {n}.",
                self.what, self.lo, self.hi
            ));
        }
        Ok(n)
    }

    /// The values a field's text allows, as a table indexed by value.
    fn parse(&self, text: &str) -> Result<Vec<bool>, String> {
        let mut allowed = vec![false; self.hi as usize + 1];
        for part in text.split(',') {
            let (range, step) = match part.split_once('/') {
                Some((range, step)) => (range, Some(step)),
                None => (part, None),
            };
            let step = match step {
                None => 1,
                Some(step) => step
                    .parse::<u32>()
                    .ok()
                    .filter(|s| *s > 0 && *s <= self.hi)
                    .ok_or_else(|| {
                        format!("{step:?} is not a valid step for the {}.", self.what)
                    })?,
            };
            let (from, to) = if range == "*" {
                (self.lo, self.hi)
            } else if let Some((a, b)) = range.split_once('-') {
                let (a, b) = (self.value(a)?, self.value(b)?);
                if a > b {
                    return Err(format!("The {} range {range} runs backwards.", self.what));
                }
                (a, b)
            } else {
                let a = self.value(range)?;
                // `5/15` means from 5 to the end, every 15.
                (a, if step > 1 { self.hi } else { a })
            };
            let mut v = from;
            while v <= to {
                allowed[v as usize] = true;
                v += step;
            }
        }
        Ok(allowed)
    }
}

impl CronSchedule {
    pub fn parse(cron: &str) -> Result<CronSchedule, String> {
        let fields: Vec<&str> = cron.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(format!(
                "Write five fields — minute hour day-of-month month day-of-week — e.g. 0 9 * * 1-5; found {}.",
                fields.len()
            ));
        }
        let mut tables = Vec::with_capacity(5);
        for (text, field) in fields.iter().zip(FIELDS.iter()) {
            tables.push(field.parse(text)?);
        }
        let mut weekdays = tables.pop().unwrap_or_default();
        // 7 is Sunday too.
        if weekdays.get(7).copied().unwrap_or(false) {
            weekdays[0] = true;
        }
        let months = tables.pop().unwrap_or_default();
        let days = tables.pop().unwrap_or_default();
        let hours = tables.pop().unwrap_or_default();
        let minutes = tables.pop().unwrap_or_default();
        Ok(CronSchedule {
            minutes,
            hours,
            days,
            months,
            weekdays,
            any_day: fields[2].starts_with('*'),
            any_weekday: fields[4].starts_with('*'),
        })
    }

    pub fn minute(&self, minute: u32) -> bool {
        self.minutes.get(minute as usize).copied().unwrap_or(false)
    }

    pub fn hour(&self, hour: u32) -> bool {
        self.hours.get(hour as usize).copied().unwrap_or(false)
    }

    pub fn month(&self, month: u32) -> bool {
        self.months.get(month as usize).copied().unwrap_or(false)
    }

    /// Whether a calendar day matches: `weekday` 0 = Sunday.
    pub fn day(&self, day: u32, weekday: u32) -> bool {
        let by_day = self.days.get(day as usize).copied().unwrap_or(false);
        let by_weekday = self
            .weekdays
            .get(weekday as usize)
            .copied()
            .unwrap_or(false);
        match (self.any_day, self.any_weekday) {
            (true, true) => true,
            (true, false) => by_weekday,
            (false, true) => by_day,
            (false, false) => by_day || by_weekday,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_expand_to_the_values_they_allow() {
        let c = CronSchedule::parse("*/15 9-17 1,15 jan-mar mon-fri").unwrap();
        assert!(c.minute(0) && c.minute(45) && !c.minute(10));
        assert!(c.hour(9) && c.hour(17) && !c.hour(18));
        assert!(c.month(3) && !c.month(4));
        // Both day fields restricted: either matches.
        assert!(c.day(1, 0), "the 1st, a Sunday");
        assert!(c.day(2, 1), "a Monday");
        assert!(!c.day(2, 0), "neither");
        let weekdays = CronSchedule::parse("0 9 * * 1-5").unwrap();
        assert!(weekdays.day(6, 1) && !weekdays.day(7, 0));
        let sunday = CronSchedule::parse("0 0 * * 7").unwrap();
        assert!(sunday.day(3, 0));
        let from = CronSchedule::parse("5/20 * * * *").unwrap();
        assert!(from.minute(5) && from.minute(25) && from.minute(45) && !from.minute(0));
    }

    #[test]
    fn bad_fields_say_which_and_why() {
        for (bad, says) in [
            ("* * * *", "five fields"),
            ("60 * * * *", "between 0 and 59"),
            ("* 24 * * *", "between 0 and 23"),
            ("* * 0 * *", "between 1 and 31"),
            ("* * * 13 *", "between 1 and 12"),
            ("* * * * 8", "between 0 and 7"),
            ("*/0 * * * *", "step"),
            ("5-1 * * * *", "backwards"),
            ("x * * * *", "not a valid minute"),
        ] {
            let e = CronSchedule::parse(bad).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }
}
