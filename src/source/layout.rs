//! The CloudTrail key layout:
//! `[prefix/]AWSLogs/[o-id/]<account>/CloudTrail/<region>/YYYY/MM/DD/<file>`.
//! Reads account, region, delivery date and organization id from a key or path, after
//! validating each, and tells log files from digest and Insights objects.

use chrono::NaiveDate;

use crate::ids;

/// What a key holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyKind {
    /// A log file in the standard layout.
    Log(LogKey),
    /// Under `CloudTrail-Digest/`: integrity digests, not records.
    Digest,
    /// Under `CloudTrail-Insight/`: Insights events, not API calls.
    Insight,
    /// Under `AWSLogs/` but not CloudTrail (another service's logs, a malformed layout).
    Foreign,
    /// Not in the `AWSLogs/` layout at all (a file copied somewhere by hand).
    Loose,
}

/// The parts of a log file's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogKey {
    pub org_id: Option<String>,
    pub account: String,
    pub region: String,
    /// Delivery date (UTC), from the folders; records in the file may be older.
    pub date: NaiveDate,
}

/// Classifies a key or path (`/`-separated).
pub fn classify(key: &str) -> KeyKind {
    let Some(at) = find_awslogs(key) else {
        return KeyKind::Loose;
    };
    let mut parts = key[at + "AWSLogs/".len()..].split('/');
    let mut first = parts.next().unwrap_or("");
    let org_id = if ids::is_org_id(first) {
        let org = first.to_string();
        first = parts.next().unwrap_or("");
        Some(org)
    } else {
        None
    };
    if !ids::is_account_id(first) {
        return KeyKind::Foreign;
    }
    match parts.next() {
        Some("CloudTrail") => {}
        Some("CloudTrail-Digest") => return KeyKind::Digest,
        Some("CloudTrail-Insight") => return KeyKind::Insight,
        _ => return KeyKind::Foreign,
    }
    let region = parts.next().unwrap_or("");
    let (y, m, d) = (parts.next(), parts.next(), parts.next());
    let date = match (y, m, d) {
        (Some(y), Some(m), Some(d))
            if [y, m, d]
                .iter()
                .all(|p| p.bytes().all(|b| b.is_ascii_digit())) =>
        {
            NaiveDate::from_ymd_opt(
                y.parse().unwrap_or(0),
                m.parse().unwrap_or(0),
                d.parse().unwrap_or(0),
            )
        }
        _ => None,
    };
    match date {
        Some(date) if ids::is_region(region) && parts.next().is_some() => KeyKind::Log(LogKey {
            org_id,
            account: first.to_string(),
            region: region.to_string(),
            date,
        }),
        _ => KeyKind::Foreign,
    }
}

/// The delivery time in a log file's name (`..._YYYYMMDDTHHMMZ_<unique>.json.gz`), in ms.
pub fn delivery_time(key: &str) -> Option<i64> {
    let name = key.rsplit('/').next()?;
    name.split('_').find_map(|part| {
        let stamp = part.strip_suffix('Z')?;
        (stamp.len() == 13 && stamp.as_bytes()[8] == b'T')
            .then(|| chrono::NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%M").ok())
            .flatten()
            .map(|t| t.and_utc().timestamp_millis())
    })
}

/// Start of the `AWSLogs/` segment (at the start or after a `/`).
fn find_awslogs(key: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(at) = key[from..].find("AWSLogs/") {
        let at = from + at;
        if at == 0 || key.as_bytes()[at - 1] == b'/' {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(key: &str) -> LogKey {
        match classify(key) {
            KeyKind::Log(k) => k,
            other => panic!("{key}: {other:?}"),
        }
    }

    #[test]
    fn plain_and_organization_layouts_with_any_prefix() {
        let k = log(
            "AWSLogs/111122223333/CloudTrail/us-east-2/2015/08/01/111122223333_CloudTrail_us-east-2_20150801T0210Z_Mu0KsOhtH1ar15ZZ.json.gz",
        );
        assert_eq!(
            (k.account.as_str(), k.region.as_str(), k.org_id),
            ("111122223333", "us-east-2", None)
        );
        assert_eq!(k.date, NaiveDate::from_ymd_opt(2015, 8, 1).unwrap());
        let k = log(
            "logs/prod/AWSLogs/o-a1b2c3d4e5/444455556666/CloudTrail/us-west-2/2026/03/14/f.json.gz",
        );
        assert_eq!(k.org_id.as_deref(), Some("o-a1b2c3d4e5"));
        assert_eq!(k.account, "444455556666");
    }

    #[test]
    fn delivery_time_from_the_file_name() {
        let t = delivery_time(
            "AWSLogs/111122223333/CloudTrail/us-east-2/2015/08/01/111122223333_CloudTrail_us-east-2_20150801T0210Z_Mu0KsOhtH1ar15ZZ.json.gz",
        );
        assert_eq!(t, crate::timefmt::parse_event_time("2015-08-01T02:10:00Z"));
        assert_eq!(delivery_time("x/records.json.gz"), None);
        assert_eq!(delivery_time("x/a_20151301T0210Z_b.json.gz"), None);
    }

    #[test]
    fn digests_insights_and_others() {
        assert_eq!(
            classify("AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/03/14/d.json.gz"),
            KeyKind::Digest
        );
        assert_eq!(
            classify(
                "x/AWSLogs/o-a1b2c3d4e5/111122223333/CloudTrail-Insight/us-east-1/2026/03/14/i.json.gz"
            ),
            KeyKind::Insight
        );
        assert_eq!(
            classify("AWSLogs/111122223333/elasticloadbalancing/us-east-1/2026/03/14/x.log.gz"),
            KeyKind::Foreign
        );
        assert_eq!(
            classify("AWSLogs/111122223333/CloudTrail/us-east-1/2026/13/14/x.json.gz"),
            KeyKind::Foreign
        );
        assert_eq!(
            classify("AWSLogs/111122223333/CloudTrail/../2026/03/14/x.json.gz"),
            KeyKind::Foreign
        );
        assert_eq!(
            classify("AWSLogs/unknown/x_unknown.json.gz"),
            KeyKind::Foreign
        );
        assert_eq!(
            classify("MyAWSLogs/111122223333/CloudTrail/us-east-1/2026/03/14/x"),
            KeyKind::Loose
        );
        assert_eq!(classify("dump/records.json.gz"), KeyKind::Loose);
    }
}
