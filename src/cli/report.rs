//! What the terminal shows: a compact findings table and the run summary. Long ARNs are
//! shortened to the part that tells them apart; `--format jsonl` has every column in full.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use trailhound::Outcome;
use trailhound::finding::Finding;

/// `arn:aws:sts::111122223333:assumed-role/R/S` -> `assumed-role/R/S`;
/// `arn:aws:kms:us-east-1:111122223333:key/ID` -> `key/ID`.
fn short_arn(arn: &str) -> &str {
    if !arn.starts_with("arn:") {
        return arn;
    }
    arn.splitn(6, ':').nth(5).unwrap_or(arn)
}

fn cell(v: Option<&str>) -> &str {
    v.filter(|s| !s.is_empty()).unwrap_or("-")
}

/// The findings table, one line per finding, columns padded to their widest value.
pub fn table(findings: &[Finding]) -> String {
    let header = [
        "INSTANCE",
        "ACCOUNT/REGION",
        "CAUSE",
        "DENIAL REASON",
        "KEY",
        "DENIED PRINCIPAL",
        "LAUNCHED VIA",
        "MATCH",
    ];
    let rows: Vec<[String; 8]> = findings
        .iter()
        .map(|f| {
            [
                cell(f.instance_id.as_deref()).to_string(),
                format!("{}/{}", f.account_id, f.region),
                f.cause.to_string(),
                f.denial_reason.to_string(),
                cell(f.kms_key_arn.as_deref().map(short_arn)).to_string(),
                short_arn(&f.denied_principal_arn).to_string(),
                match (&f.launch_event, &f.launched_via) {
                    (Some(_), Some(via)) => via.clone(),
                    (Some(ev), None) => format!("{ev} (direct)"),
                    _ => "-".to_string(),
                },
                f.match_kind.to_string(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[&str]| {
        let text: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        let _ = writeln!(out, "{}", text.join("  ").trim_end());
    };
    line(&header);
    for r in &rows {
        line(&r.iter().map(String::as_str).collect::<Vec<_>>());
    }
    out
}

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// The run summary: what was read, skipped and found.
pub fn summary(o: &Outcome) -> String {
    let s = &o.stats;
    let l = &o.listing;
    let secs = s.elapsed.as_secs_f64().max(1e-9);
    let mut by_cause: BTreeMap<&str, usize> = BTreeMap::new();
    for f in &o.findings {
        *by_cause.entry(f.cause.as_str()).or_default() += 1;
    }
    let causes = if by_cause.is_empty() {
        "none".to_string()
    } else {
        by_cause
            .iter()
            .map(|(c, n)| format!("{c} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "files: {} read, {} skipped (digest {}, insight {}, filtered {}, not logs {}), {} failed",
        s.objects_read,
        l.skipped(),
        l.digest_skipped,
        l.insight_skipped,
        l.filtered_out,
        l.ignored,
        s.objects_failed
    );
    let _ = writeln!(
        out,
        "records: {} read, {} candidates, {} skipped, {} duplicates",
        s.records, s.candidates, s.records_skipped, o.duplicates
    );
    let _ = writeln!(
        out,
        "bytes: {} compressed, {} decoded",
        human_bytes(s.bytes_in),
        human_bytes(s.bytes_decoded)
    );
    let _ = writeln!(out, "findings: {} ({causes})", o.findings.len());
    let _ = writeln!(
        out,
        "elapsed: {:.2} s, {}/s decoded",
        s.elapsed.as_secs_f64(),
        human_bytes((s.bytes_decoded as f64 / secs) as u64)
    );
    if let Some(r) = &o.s3_requests {
        // PUT and DELETE appear only when the run wrote findings or state.
        let extra: String = [(r.put, "PUT"), (r.delete, "DELETE")]
            .iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, what)| format!(", {n} {what}"))
            .collect();
        let _ = writeln!(out, "s3: {} LIST, {} GET{extra} requests", r.list, r.get);
    }
    if let Some(i) = &o.incremental {
        let _ = writeln!(
            out,
            "incremental: {} already processed, {} late files caught, {} findings held back (grace), {} replayed; state remembers {} objects ({})",
            i.already_processed,
            i.late_files,
            i.held_back,
            i.replayed,
            i.state_objects,
            human_bytes(i.state_bytes)
        );
    }
    for name in &o.written {
        let _ = writeln!(out, "wrote: {name}");
    }
    out
}

/// The run summary as one JSON line, for cron and log shippers.
pub fn summary_json(o: &Outcome) -> String {
    let s = &o.stats;
    let inc = o.incremental.clone().unwrap_or_default();
    let lag = inc
        .newest_delivery_ms
        .map(|t| (chrono::Utc::now().timestamp_millis() - t) / 1000);
    serde_json::json!({
        "objects_listed": o.objects_listed,
        "objects_read": s.objects_read,
        "objects_failed": s.objects_failed,
        "objects_skipped": o.listing.skipped(),
        "objects_already_processed": inc.already_processed,
        "late_files": inc.late_files,
        "bytes_compressed": s.bytes_in,
        "bytes_decoded": s.bytes_decoded,
        "records": s.records,
        "candidates": s.candidates,
        "records_skipped": s.records_skipped,
        "duplicates": o.duplicates,
        "evidence_peak_events": s.evidence_peak,
        "findings_settled_early": s.findings_settled,
        "findings_written": o.findings.len(),
        "findings_held_back": inc.held_back,
        "findings_replayed": inc.replayed,
        "newest_delivery_lag_seconds": lag,
        "state_objects": o.incremental.as_ref().map(|i| i.state_objects),
        "state_bytes": o.incremental.as_ref().map(|i| i.state_bytes),
        "s3_list_requests": o.s3_requests.as_ref().map(|r| r.list),
        "s3_get_requests": o.s3_requests.as_ref().map(|r| r.get),
        "duration_seconds": (s.elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_are_shortened() {
        assert_eq!(
            short_arn("arn:aws:kms:us-east-1:111122223333:key/abc"),
            "key/abc"
        );
        assert_eq!(
            short_arn("arn:aws:sts::111122223333:assumed-role/aws:ec2-infrastructure/i-81e2f56c"),
            "assumed-role/aws:ec2-infrastructure/i-81e2f56c"
        );
        assert_eq!(short_arn("alias/aws/ebs"), "alias/aws/ebs");
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(human_bytes(12), "12 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
    }
}
