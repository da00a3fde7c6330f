//! Calendar arithmetic on Unix milliseconds, UTC. No clock is read here: time is
//! always an argument.

/// Milliseconds per second.
pub const MS_PER_SECOND: u64 = 1_000;
/// Milliseconds per minute.
pub const MS_PER_MINUTE: u64 = 60 * MS_PER_SECOND;
/// Milliseconds per hour.
pub const MS_PER_HOUR: u64 = 60 * MS_PER_MINUTE;
/// Milliseconds per day.
pub const MS_PER_DAY: u64 = 24 * MS_PER_HOUR;

/// A UTC calendar date and time of day, to the millisecond.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DateTime {
    /// Year, e.g. 2026.
    pub year: i64,
    /// Month, 1 to 12.
    pub month: u32,
    /// Day of the month, 1 to 31.
    pub day: u32,
    /// Hour, 0 to 23.
    pub hour: u32,
    /// Minute, 0 to 59.
    pub minute: u32,
    /// Second, 0 to 59.
    pub second: u32,
    /// Millisecond, 0 to 999.
    pub millis: u32,
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01: (year, month, day).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Days in a month of a year.
pub fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ => {
            if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 {
                29
            } else {
                28
            }
        }
    }
}

impl DateTime {
    /// The date and time of a Unix millisecond timestamp.
    pub fn from_unix_ms(ms: u64) -> DateTime {
        let days = (ms / MS_PER_DAY) as i64;
        let rem = ms % MS_PER_DAY;
        let (year, month, day) = civil_from_days(days);
        DateTime {
            year,
            month,
            day,
            hour: (rem / MS_PER_HOUR) as u32,
            minute: (rem % MS_PER_HOUR / MS_PER_MINUTE) as u32,
            second: (rem % MS_PER_MINUTE / MS_PER_SECOND) as u32,
            millis: (rem % MS_PER_SECOND) as u32,
        }
    }

    /// The Unix millisecond timestamp, or `None` before 1970 or for fields out
    /// of range.
    pub fn to_unix_ms(&self) -> Option<u64> {
        if !(1..=12).contains(&self.month)
            || self.day == 0
            || self.day > days_in_month(self.year, self.month)
            || self.hour > 23
            || self.minute > 59
            || self.second > 60
            || self.millis > 999
        {
            return None;
        }
        let days = u64::try_from(days_from_civil(self.year, self.month, self.day)).ok()?;
        days.checked_mul(MS_PER_DAY)?
            .checked_add(u64::from(self.hour) * MS_PER_HOUR)?
            .checked_add(u64::from(self.minute) * MS_PER_MINUTE)?
            .checked_add(u64::from(self.second) * MS_PER_SECOND)?
            .checked_add(u64::from(self.millis))
    }
}

/// Formats a Unix millisecond timestamp as RFC 3339 in UTC, e.g.
/// `2026-11-25T01:29:41.000Z`.
pub fn format_rfc3339(ms: u64) -> String {
    let t = DateTime::from_unix_ms(ms);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year, t.month, t.day, t.hour, t.minute, t.second, t.millis
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for days in [-800_000i64, -1, 0, 1, 59, 60, 365, 11_016, 20_782, 2_000_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }

    #[test]
    fn formats_rfc3339() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_rfc3339(1_795_570_181_123), "2026-11-25T01:29:41.123Z");
        let t = DateTime::from_unix_ms(1_795_570_181_123);
        assert_eq!(t.to_unix_ms(), Some(1_795_570_181_123));
        assert_eq!(DateTime { month: 2, day: 30, ..t }.to_unix_ms(), None);
    }
}
