//! Times as CloudTrail writes them and as users type them. `eventTime` is RFC 3339 with
//! second precision, but real data also carries fractions, a space instead of `T`, or no
//! zone at all (read as UTC); anything else is not a time.

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};

/// Milliseconds since the epoch, or None when the text is not a time we can trust.
pub fn parse_event_time(s: &str) -> Option<i64> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_millis());
    }
    let bare = s.strip_suffix('Z').unwrap_or(s);
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(bare, f).ok())
        .map(|t| t.and_utc().timestamp_millis())
}

/// A bound typed on the command line: a date (`2026-03-14`, the start of that day, UTC) or
/// an RFC 3339 time.
pub fn parse_bound(s: &str) -> Result<i64, String> {
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d
            .and_hms_opt(0, 0, 0)
            .expect("midnight")
            .and_utc()
            .timestamp_millis());
    }
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.timestamp_millis())
        .map_err(|_| format!("'{s}' is neither a date (YYYY-MM-DD) nor an RFC 3339 time"))
}

/// `YYYY-MM-DDTHH:MM:SSZ`.
pub fn rfc3339(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// `YYYY-MM-DD` of a time, UTC: the `dt` partition value.
pub fn date(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_time_forms() {
        let base = parse_event_time("2014-11-05T21:35:27Z").unwrap();
        assert_eq!(base, 1_415_223_327_000);
        assert_eq!(parse_event_time("2014-11-05 21:35:27"), Some(base));
        assert_eq!(parse_event_time("2014-11-05 21:35:27Z"), Some(base));
        assert_eq!(parse_event_time("2014-11-05T21:35:27.000Z"), Some(base));
        assert_eq!(
            parse_event_time("2014-11-05 21:35:27.000000000"),
            Some(base)
        );
        assert_eq!(parse_event_time("2014-11-05T22:35:27+01:00"), Some(base));
        assert_eq!(parse_event_time("redacted"), None);
        assert_eq!(parse_event_time("..."), None);
    }

    #[test]
    fn bounds_and_formatting() {
        assert_eq!(parse_bound("2014-11-05").unwrap(), 1_415_145_600_000);
        assert_eq!(
            parse_bound("2014-11-05T21:35:27Z").unwrap(),
            1_415_223_327_000
        );
        assert!(parse_bound("yesterday").unwrap_err().contains("yesterday"));
        assert_eq!(rfc3339(1_415_223_327_000), "2014-11-05T21:35:27Z");
        assert_eq!(date(1_415_223_327_000), "2014-11-05");
    }
}
