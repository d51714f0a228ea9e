//! Time: the [`Clock`] the resources age by (stream retention, shard age,
//! iterator and session expiry), which tests may move forward, and the date
//! formats of the wire (SigV4's `20240101T000000Z`, ISO 8601, epoch seconds).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The clock resources age by: the wall clock plus an offset that only grows.
///
/// Signature times are checked against the wall clock instead, as AWS checks
/// them against its own, so that moving this clock never breaks signing.
#[derive(Debug, Default)]
pub struct Clock {
    offset_millis: AtomicU64,
}

impl Clock {
    /// Milliseconds since the Unix epoch, offset included.
    pub fn now_millis(&self) -> u64 {
        wall_millis().saturating_add(self.offset_millis.load(Ordering::Relaxed))
    }

    /// Moves this clock forward.
    pub fn advance(&self, by: Duration) {
        let millis = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        self.offset_millis.fetch_add(millis, Ordering::Relaxed);
    }
}

/// Milliseconds since the Unix epoch by the wall clock.
pub fn wall_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Civil date (year, month, day) of a day number counted from 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month as u32, day as u32)
}

/// Day number counted from 1970-01-01 of a civil date.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month = i64::from(month);
    let day_of_year =
        (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The parts of a UTC instant given in milliseconds since the epoch.
struct Parts {
    year: i64,
    month: u32,
    day: u32,
    hour: u64,
    minute: u64,
    second: u64,
    millis: u64,
}

fn parts(epoch_millis: u64) -> Parts {
    let seconds = epoch_millis / 1000;
    let days = i64::try_from(seconds / 86_400).unwrap_or(i64::MAX / 2);
    let (year, month, day) = civil_from_days(days);
    let in_day = seconds % 86_400;
    Parts {
        year,
        month,
        day,
        hour: in_day / 3600,
        minute: in_day % 3600 / 60,
        second: in_day % 60,
        millis: epoch_millis % 1000,
    }
}

/// `2024-05-01T12:00:00Z`: the ISO 8601 form of the query protocols.
pub fn iso8601(epoch_millis: u64) -> String {
    let p = parts(epoch_millis);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        p.year, p.month, p.day, p.hour, p.minute, p.second
    )
}

/// `2024-05-01T12:00:00.000Z`: ISO 8601 with milliseconds, as Lambda
/// writes the times of the invocation records it sends to destinations.
pub fn iso8601_millis(epoch_millis: u64) -> String {
    let p = parts(epoch_millis);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        p.year, p.month, p.day, p.hour, p.minute, p.second, p.millis
    )
}

/// `2024-05-01T12:00:00.000`: a DynamoDB stream label.
pub fn stream_label(epoch_millis: u64) -> String {
    let p = parts(epoch_millis);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}",
        p.year, p.month, p.day, p.hour, p.minute, p.second, p.millis
    )
}

/// `20240501T120000Z`: SigV4's basic format.
pub fn amz_date(epoch_millis: u64) -> String {
    let p = parts(epoch_millis);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        p.year, p.month, p.day, p.hour, p.minute, p.second
    )
}

/// Parses SigV4's `20240501T120000Z` into milliseconds since the epoch.
pub fn parse_amz_date(text: &str) -> Option<u64> {
    let bytes = text.as_bytes();
    if bytes.len() != 16 || bytes.get(8) != Some(&b'T') || bytes.get(15) != Some(&b'Z') {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = text.get(range)?;
        if part.bytes().all(|b| b.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    let (year, month, day) = (number(0..4)?, number(4..6)?, number(6..8)?);
    let (hour, minute, second) = (number(9..11)?, number(11..13)?, number(13..15)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let days = days_from_civil(i64::from(year), month, day);
    let seconds = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
    u64::try_from(seconds).ok().map(|s| s * 1000)
}

/// Seconds since the epoch with milliseconds, as DynamoDB's JSON carries
/// timestamps.
pub fn epoch_seconds(epoch_millis: u64) -> f64 {
    // Exact for any millisecond count below 2^53, i.e. for the next 285,000 years.
    epoch_millis as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{Expect, expect};

    fn check(epoch_millis: u64, expected: Expect) {
        let text = format!(
            "{} {} {}",
            iso8601(epoch_millis),
            amz_date(epoch_millis),
            stream_label(epoch_millis)
        );
        expected.assert_eq(&text);
        assert_eq!(
            parse_amz_date(&amz_date(epoch_millis)),
            Some(epoch_millis / 1000 * 1000)
        );
    }

    #[test]
    fn formats() {
        check(
            0,
            expect!["1970-01-01T00:00:00Z 19700101T000000Z 1970-01-01T00:00:00.000"],
        );
        check(
            1_714_564_800_123,
            expect!["2024-05-01T12:00:00Z 20240501T120000Z 2024-05-01T12:00:00.123"],
        );
        check(
            951_825_599_999,
            expect!["2000-02-29T11:59:59Z 20000229T115959Z 2000-02-29T11:59:59.999"],
        );
    }

    #[test]
    fn rejects_malformed_amz_dates() {
        for text in [
            "",
            "20240501120000Z",
            "20241301T000000Z",
            "2024050xT000000Z",
            "20240501T000000",
        ] {
            assert_eq!(parse_amz_date(text), None, "{text}");
        }
    }

    #[test]
    fn advancing_moves_resource_time_only_forward() {
        let clock = Clock::default();
        let before = clock.now_millis();
        clock.advance(Duration::from_secs(3600));
        assert!(clock.now_millis() >= before + 3_600_000);
    }
}
