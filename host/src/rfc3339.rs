//! RFC 3339 timestamps (`2026-12-06T10:00:00Z`, `2026-12-06T10:00:00.250+02:00`), read and
//! written without a date-time crate: what auth files keep a token's `expires_at` in, and how
//! usage records and management answers show times.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

const SECONDS_PER_DAY: i64 = 86_400;
/// The last second [`format`] writes: `9999-12-31T23:59:59Z`.
const LATEST_FORMATTED: i64 = 253_402_300_799;

/// Reads an RFC 3339 date-time: `T` (or `t`, or a space) between date and time, optional
/// fractional seconds, and `Z` or a `±HH:MM` offset. A leap second (`:60`) counts as `:59`.
/// `None` when the text is not one.
pub(crate) fn parse(text: &str) -> Option<SystemTime> {
    let bytes = text.trim().as_bytes();
    if bytes.len() < 20 {
        return None;
    }
    let year = digits(bytes, 0, 4)?;
    let month = digits(bytes, 5, 2)?;
    let day = digits(bytes, 8, 2)?;
    let hour = digits(bytes, 11, 2)?;
    let minute = digits(bytes, 14, 2)?;
    let second = digits(bytes, 17, 2)?;
    let separators_ok = bytes[4] == b'-'
        && bytes[7] == b'-'
        && matches!(bytes[10], b'T' | b't' | b' ')
        && bytes[13] == b':'
        && bytes[16] == b':';
    if !separators_ok
        || !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = &bytes[19..];
    let mut nanos: u32 = 0;
    if let Some(fraction) = rest.strip_prefix(b".") {
        let count = fraction.iter().take_while(|b| b.is_ascii_digit()).count();
        if count == 0 {
            return None;
        }
        // Digits past nanoseconds are read and dropped.
        for (i, digit) in fraction[..count].iter().enumerate() {
            if i < 9 {
                nanos = nanos * 10 + u32::from(digit - b'0');
            }
        }
        nanos *= 10u32.pow(9u32.saturating_sub(count as u32));
        rest = &fraction[count..];
    }
    let offset_seconds = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), ..] if rest.len() == 6 && rest[3] == b':' => {
            let hours = digits(rest, 1, 2)?;
            let minutes = digits(rest, 4, 2)?;
            if hours > 23 || minutes > 59 {
                return None;
            }
            let offset = (hours * 3600 + minutes * 60) as i64;
            if *sign == b'+' { offset } else { -offset }
        }
        _ => return None,
    };
    let days = days_since_epoch(year, month, day);
    let local = days * SECONDS_PER_DAY
        + (hour * 3600) as i64
        + (minute * 60) as i64
        + second.min(59) as i64;
    let unix = local - offset_seconds;
    if unix >= 0 {
        Some(UNIX_EPOCH + Duration::new(unix as u64, nanos))
    } else {
        UNIX_EPOCH
            .checked_sub(Duration::from_secs(unix.unsigned_abs()))?
            .checked_add(Duration::from_nanos(u64::from(nanos)))
    }
}

/// Writes `time` in UTC as `YYYY-MM-DDTHH:MM:SSZ`, whole seconds (a fraction is dropped):
/// how auth files keep `expires_at`. Times before 1970 are written as the epoch, times after
/// 9999 as its last second.
#[allow(
    dead_code,
    reason = "the token cells write refreshed token sets back to auth files with it"
)]
pub(crate) fn format(time: SystemTime) -> String {
    let (date_time, _) = utc_fields(time);
    format!("{date_time}Z")
}

/// Writes `time` in UTC with milliseconds, such as `2025-01-02T03:04:05.678Z` (usage records,
/// management answers). Clamped as [`format`] is.
pub(crate) fn format_millis(time: SystemTime) -> String {
    let (date_time, millis) = utc_fields(time);
    format!("{date_time}.{millis:03}Z")
}

/// `YYYY-MM-DDTHH:MM:SS` of `time` in UTC, and its milliseconds.
fn utc_fields(time: SystemTime) -> (String, u32) {
    let since = time
        .duration_since(UNIX_EPOCH)
        .ok()
        .filter(|d| d.as_secs() <= LATEST_FORMATTED as u64)
        .unwrap_or_else(|| {
            if time < UNIX_EPOCH {
                Duration::ZERO
            } else {
                Duration::new(LATEST_FORMATTED as u64, 999_000_000)
            }
        });
    let unix = since.as_secs() as i64;
    let days = unix.div_euclid(SECONDS_PER_DAY);
    let of_day = unix.rem_euclid(SECONDS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    let text = format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60
    );
    (text, since.subsec_millis())
}

/// The decimal number of `count` ASCII digits at `at`.
fn digits(bytes: &[u8], at: usize, count: usize) -> Option<u32> {
    let field = bytes.get(at..at + count)?;
    field.iter().try_fold(0u32, |value, byte| {
        byte.is_ascii_digit()
            .then(|| value * 10 + u32::from(byte - b'0'))
    })
}

fn is_leap_year(year: u32) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to the given date of the proleptic Gregorian calendar.
///
/// Counts in years that start on March 1st, so the leap day is the last day of its year:
/// a year is 365 days plus the leap days before it, a month's first day follows from the
/// 153-days-per-five-months rhythm of March to July and August to December.
fn days_since_epoch(year: u32, month: u32, day: u32) -> i64 {
    let march_year = i64::from(year) - i64::from(month <= 2);
    let month_from_march = i64::from((month + 9) % 12);
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(day) - 1;
    let leap_days =
        march_year.div_euclid(4) - march_year.div_euclid(100) + march_year.div_euclid(400);
    // 719 468: days from 0000-03-01 to 1970-01-01 in this count.
    march_year * 365 + leap_days + day_of_year - 719_468
}

/// The date `days` after 1970-01-01 (0 ≤ year ≤ 9999): the inverse of [`days_since_epoch`].
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let from_march_zero = days + 719_468;
    // Estimate the March-based year, then correct it by at most one.
    let mut march_year = from_march_zero * 400 / 146_097;
    let start = |y: i64| y * 365 + y / 4 - y / 100 + y / 400;
    while start(march_year) > from_march_zero {
        march_year -= 1;
    }
    while start(march_year + 1) <= from_march_zero {
        march_year += 1;
    }
    let day_of_year = from_march_zero - start(march_year);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = if month <= 2 {
        march_year + 1
    } else {
        march_year
    };
    (year, month as u32, day as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unix(text: &str) -> Option<i64> {
        parse(text).map(|t| match t.duration_since(UNIX_EPOCH) {
            Ok(d) => d.as_secs() as i64,
            Err(e) => -(e.duration().as_secs() as i64),
        })
    }

    #[test]
    fn utc_times_read_as_unix_seconds() {
        assert_eq!(unix("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(unix("2000-03-01T00:00:00Z"), Some(951_868_800));
        assert_eq!(unix("2024-02-29T12:34:56Z"), Some(1_709_210_096));
        assert_eq!(unix("2026-12-06T10:00:00Z"), Some(1_796_551_200));
        assert_eq!(unix("2026-12-06t10:00:00z"), Some(1_796_551_200));
        assert_eq!(unix("2026-12-06 10:00:00Z"), Some(1_796_551_200));
        assert_eq!(unix("  2026-12-06T10:00:00Z\n"), Some(1_796_551_200));
        assert_eq!(unix("1969-12-31T23:59:59Z"), Some(-1));
    }

    #[test]
    fn offsets_and_fractions_are_honoured() {
        assert_eq!(unix("2026-12-06T12:00:00+02:00"), Some(1_796_551_200));
        assert_eq!(unix("2026-12-06T05:30:00-04:30"), Some(1_796_551_200));
        let fractional = parse("2026-12-06T10:00:00.25Z").unwrap();
        assert_eq!(
            fractional.duration_since(UNIX_EPOCH).unwrap(),
            Duration::new(1_796_551_200, 250_000_000)
        );
        let long = parse("2026-12-06T10:00:00.1234567891Z").unwrap();
        assert_eq!(
            long.duration_since(UNIX_EPOCH).unwrap().subsec_nanos(),
            123_456_789
        );
        assert_eq!(unix("2016-12-31T23:59:60Z"), unix("2016-12-31T23:59:59Z"));
    }

    #[test]
    fn malformed_times_are_refused() {
        for text in [
            "",
            "2026-12-06",
            "2026-12-06T10:00:00",
            "2026-12-06T10:00Z",
            "2026-13-06T10:00:00Z",
            "2026-02-29T10:00:00Z",
            "2026-04-31T10:00:00Z",
            "2026-12-00T10:00:00Z",
            "2026-12-06T24:00:00Z",
            "2026-12-06T10:60:00Z",
            "2026-12-06T10:00:61Z",
            "2026-12-06T10:00:00.Z",
            "2026-12-06T10:00:00+0200",
            "2026-12-06T10:00:00+24:00",
            "2026-12-06T10:00:00Zjunk",
            "2026/12/06T10:00:00Z",
            "2026-12-06X10:00:00Z",
            "20a6-12-06T10:00:00Z",
            "1796551200",
        ] {
            assert_eq!(parse(text), None, "{text:?}");
        }
    }

    #[test]
    fn format_writes_utc_whole_seconds() {
        assert_eq!(format(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(
            format(UNIX_EPOCH + Duration::new(1_796_551_200, 999_000_000)),
            "2026-12-06T10:00:00Z"
        );
        assert_eq!(
            format(UNIX_EPOCH + Duration::from_secs(1_709_210_096)),
            "2024-02-29T12:34:56Z"
        );
        assert_eq!(
            format(UNIX_EPOCH - Duration::from_secs(5)),
            "1970-01-01T00:00:00Z"
        );
        assert_eq!(
            format(UNIX_EPOCH + Duration::from_secs(400_000_000_000)),
            "9999-12-31T23:59:59Z"
        );
    }

    #[test]
    fn format_millis_keeps_milliseconds() {
        assert_eq!(
            format_millis(UNIX_EPOCH + Duration::new(1_796_551_200, 250_999_999)),
            "2026-12-06T10:00:00.250Z"
        );
        assert_eq!(format_millis(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn format_and_parse_round_trip_every_day_boundary() {
        // One point per day over four centuries (leap years, century rules), plus odd seconds.
        let mut unix_seconds = 0i64;
        while unix_seconds < 13_000_000_000 {
            let time = UNIX_EPOCH + Duration::from_secs(unix_seconds as u64);
            let text = format(time);
            assert_eq!(parse(&text), Some(time), "{text}");
            unix_seconds += SECONDS_PER_DAY + 7;
        }
    }
}
