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

/// A UTC date and time as signed Unix milliseconds, or `None` for fields out of
/// range. Unlike [`DateTime::to_unix_ms`] this allows times before 1970, so that
/// an offset can still be applied to them.
fn civil_to_signed_ms(t: &DateTime) -> Option<i64> {
    if !(1..=12).contains(&t.month)
        || t.day == 0
        || t.day > days_in_month(t.year, t.month)
        || t.hour > 23
        || t.minute > 59
        || t.second > 60
        || t.millis > 999
    {
        return None;
    }
    let day_ms = i64::try_from(MS_PER_DAY).ok()?;
    days_from_civil(t.year, t.month, t.day)
        .checked_mul(day_ms)?
        .checked_add(i64::from(t.hour) * 3_600_000)?
        .checked_add(i64::from(t.minute) * 60_000)?
        .checked_add(i64::from(t.second) * 1_000)?
        .checked_add(i64::from(t.millis))
}

/// Exactly `n` ASCII digits at the start of `s` as a number, and the rest.
fn take_digits(s: &str, n: usize) -> Option<(u32, &str)> {
    let digits = s.get(..n)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((digits.parse().ok()?, s.get(n..)?))
}

/// `s` without the leading byte `c`.
fn take_byte(s: &str, c: u8) -> Option<&str> {
    if s.as_bytes().first() == Some(&c) {
        s.get(1..)
    } else {
        None
    }
}

/// Parses an RFC 3339 timestamp into Unix milliseconds, or `None` when it is
/// not one or lies before 1970.
///
/// The form is `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)`. `T` may also be
/// `t` or a space and `Z` may be `z` (RFC 3339 section 5.6). Any number of
/// fraction digits is accepted; digits beyond milliseconds are dropped (the
/// time is truncated, never rounded up). A leap second (`:60`) is read as the
/// following second. The offset is applied: `2026-01-01T02:00:00+02:00` is
/// midnight UTC.
pub fn parse_rfc3339(s: &str) -> Option<u64> {
    let (year, rest) = take_digits(s, 4)?;
    let (month, rest) = take_digits(take_byte(rest, b'-')?, 2)?;
    let (day, rest) = take_digits(take_byte(rest, b'-')?, 2)?;
    let rest = match rest.as_bytes().first() {
        Some(b'T' | b't' | b' ') => rest.get(1..)?,
        _ => return None,
    };
    let (hour, rest) = take_digits(rest, 2)?;
    let (minute, rest) = take_digits(take_byte(rest, b':')?, 2)?;
    let (second, mut rest) = take_digits(take_byte(rest, b':')?, 2)?;
    let mut millis = 0u32;
    if let Some(frac) = take_byte(rest, b'.') {
        let len = frac.bytes().take_while(u8::is_ascii_digit).count();
        if len == 0 {
            return None;
        }
        let kept = len.min(3);
        let (digits, _) = take_digits(frac, kept)?;
        millis = digits * 10u32.pow(3 - kept as u32);
        rest = frac.get(len..)?;
    }
    let offset_minutes: i64 = match rest.as_bytes().first() {
        Some(b'Z' | b'z') if rest.len() == 1 => 0,
        Some(&sign @ (b'+' | b'-')) => {
            let (oh, r) = take_digits(rest.get(1..)?, 2)?;
            let (om, r) = take_digits(take_byte(r, b':')?, 2)?;
            if !r.is_empty() || oh > 23 || om > 59 {
                return None;
            }
            let m = i64::from(oh) * 60 + i64::from(om);
            if sign == b'+' {
                m
            } else {
                -m
            }
        }
        _ => return None,
    };
    let local = civil_to_signed_ms(&DateTime { year: i64::from(year), month, day, hour, minute, second, millis })?;
    let utc = local.checked_sub(offset_minutes.checked_mul(60_000)?)?;
    u64::try_from(utc).ok()
}

/// Parses an HTTP date in IMF-fixdate form (RFC 9110 section 5.6.7), e.g.
/// `Sun, 06 Nov 1994 08:49:37 GMT`, into Unix milliseconds; `None` when it is
/// not one or lies before 1970.
///
/// The day name must be one of the seven English abbreviations but is not
/// checked against the date; month names are matched exactly (`Nov`). The
/// obsolete RFC 850 and asctime forms are not accepted.
pub fn parse_http_date(s: &str) -> Option<u64> {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let s = s.trim();
    if !DAYS.contains(&s.get(..3)?) {
        return None;
    }
    let rest = take_byte(take_byte(s.get(3..)?, b',')?, b' ')?;
    let (day, rest) = take_digits(rest, 2)?;
    let rest = take_byte(rest, b' ')?;
    let month_name = rest.get(..3)?;
    let month = MONTHS.iter().position(|m| *m == month_name)?;
    let rest = take_byte(rest.get(3..)?, b' ')?;
    let (year, rest) = take_digits(rest, 4)?;
    let (hour, rest) = take_digits(take_byte(rest, b' ')?, 2)?;
    let (minute, rest) = take_digits(take_byte(rest, b':')?, 2)?;
    let (second, rest) = take_digits(take_byte(rest, b':')?, 2)?;
    if rest != " GMT" {
        return None;
    }
    let month = u32::try_from(month).ok()? + 1;
    DateTime { year: i64::from(year), month, day, hour, minute, second, millis: 0 }.to_unix_ms()
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

#[cfg(test)]
mod parse_tests {
    use super::*;

    #[test]
    fn parses_rfc3339() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("2026-11-25T01:29:41.123Z"), Some(1_795_570_181_123));
        assert_eq!(parse_rfc3339("2026-11-25T01:29:41Z"), Some(1_795_570_181_000));
        assert_eq!(parse_rfc3339("2026-11-25t01:29:41.1z"), Some(1_795_570_181_100));
        assert_eq!(parse_rfc3339("2026-11-25 01:29:41.123456789Z"), Some(1_795_570_181_123));
        assert_eq!(parse_rfc3339("2026-11-25T03:29:41.123+02:00"), Some(1_795_570_181_123));
        assert_eq!(parse_rfc3339("2026-11-24T20:59:41.123-04:30"), Some(1_795_570_181_123));
        assert_eq!(parse_rfc3339("1969-12-31T23:00:00-02:00"), Some(MS_PER_HOUR));
        assert_eq!(parse_rfc3339("1970-01-01T01:00:00+02:00"), None);
        assert_eq!(parse_rfc3339("2016-12-31T23:59:60Z"), parse_rfc3339("2017-01-01T00:00:00Z"));
        for bad in [
            "", "2026", "2026-11-25", "2026-11-25T01:29:41", "2026-11-25T01:29:41.Z", "2026-02-30T00:00:00Z",
            "2026-13-01T00:00:00Z", "2026-11-25T24:00:00Z", "2026-11-25T01:29:41+0200", "2026-11-25T01:29:41+24:00",
            "2026-11-25T01:29:41Zjunk", "+2026-11-25T01:29:41Z", "2026-1-25T01:29:41Z", "２０２６-11-25T01:29:41Z",
            "2026-11-25T01:29:41.12é",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn parses_http_date() {
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), Some(784_111_777_000));
        assert_eq!(parse_http_date("Wed, 25 Nov 2026 01:29:41 GMT"), Some(1_795_570_181_000));
        assert_eq!(parse_http_date(" Wed, 25 Nov 2026 01:29:41 GMT "), Some(1_795_570_181_000));
        for bad in [
            "", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994", "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 06 nov 1994 08:49:37 GMT", "Xyz, 06 Nov 1994 08:49:37 GMT", "Sun, 31 Feb 1994 08:49:37 GMT",
            "Sun, 6 Nov 1994 08:49:37 GMT", "Thu, 01 Jan 1920 00:00:00 GMT", "Sun, 06 Nov 1994 08:49:37 GMTX", "120",
        ] {
            assert_eq!(parse_http_date(bad), None, "{bad}");
        }
    }
}
