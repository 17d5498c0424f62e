//! Batch runs settle findings as the delivery watermark passes them and let old evidence
//! go: over weeks of logs they find exactly what keeping everything finds, while the
//! evidence they hold stays the same whether the logs span five days or twenty.

use std::path::Path;

use chrono::{DateTime, Duration as Span, TimeZone, Utc};

use crate::harness::*;
use crate::incremental::{ACCT, REGION, incident, key_at, rfc};

const OTHER_REGION: &str = "ap-south-1";

/// `days` of a trail: a file every 5 minutes with a little noise, every other one from a
/// second region (so the listing, by name, is not in delivery order), and every 3 hours an
/// incident: a launch, and its instance's denial 20 s later in the next file (every fourth
/// such file delivered 3 hours late).
fn write_trail(dir: &Path, days: i64) {
    let start: DateTime<Utc> = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
    let mut files: Vec<(DateTime<Utc>, &str, Vec<String>)> = Vec::new();
    for n in 0..days * 288 {
        let t = start + Span::minutes(5 * n);
        let region = if n % 2 == 1 { OTHER_REGION } else { REGION };
        let mut records = vec![noise(&format!("noise-{n}"), &rfc(t), ACCT, region)];
        if n % 36 == 0 {
            let i = n / 36;
            let (launch, denial) = incident(i as usize, t);
            records.push(launch);
            let delay = if i % 4 == 3 {
                Span::hours(3)
            } else {
                Span::minutes(5)
            };
            files.push((t + delay + Span::minutes(5), REGION, vec![denial]));
        }
        files.push((t + Span::minutes(5), region, records));
    }
    for (n, (delivered, region, records)) in files.iter().enumerate() {
        let key = key_at(*delivered, *delivered, n).replace(REGION, region);
        put(dir, &key, &gzip(&doc(records)));
    }
}

/// Runs a batch scan on one thread (the files in flight, which hold the watermark back,
/// depend on the workers and their timing; with one they do not); returns its JSON Lines
/// and its JSON summary.
fn scan(dir: &Path, extra: &[&str]) -> (String, serde_json::Value) {
    scan_on(dir, "1", extra)
}

fn scan_on(dir: &Path, threads: &str, extra: &[&str]) -> (String, serde_json::Value) {
    let mut args = vec![
        "scan",
        dir.to_str().unwrap(),
        "--format",
        "jsonl",
        "--summary",
        "json",
        "--threads",
        threads,
    ];
    args.extend(extra);
    let o = run(&args);
    (stdout(&o), json_summary(&o, 0))
}

fn count(summary: &serde_json::Value, field: &str) -> u64 {
    summary[field]
        .as_u64()
        .unwrap_or_else(|| panic!("{field} in {summary}"))
}

#[test]
fn batch_runs_settle_as_they_go_find_the_same_and_hold_flat_evidence() {
    let (short, long) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write_trail(short.path(), 5);
    write_trail(long.path(), 20);

    let (exact, kept) = scan(long.path(), &["--horizon", "0"]);
    assert_eq!(exact.lines().count(), 20 * 8, "a finding per incident");
    assert!(exact.contains("\"match\":\"instance_id\""));
    assert_eq!(count(&kept, "findings_settled_early"), 0);
    assert_eq!(count(&kept, "evidence_peak_events"), 20 * 8 * 2);

    let (default, settled) = scan(long.path(), &[]);
    assert_eq!(
        default, exact,
        "the default horizon (1d) changes nothing here"
    );
    // All but the last day or two are settled before the scan ends.
    let early = count(&settled, "findings_settled_early");
    assert!(
        (20 * 8 - 16..20 * 8).contains(&early),
        "{early} settled early"
    );
    let (six_hours, _) = scan(long.path(), &["--horizon", "6h"]);
    assert_eq!(
        six_hours, exact,
        "3-hour-late files are within a 6h horizon"
    );
    // Two workers, files finishing in any order: the same findings.
    let (two_threads, _) = scan_on(long.path(), "2", &[]);
    assert_eq!(two_threads, exact);

    // At most two days and a quarter of evidence (8 incidents, 16 events a day: 36), plus
    // the one batch of 16 files (80 minutes) a worker holds before sending, whether the
    // logs span 5 days or 20.
    let (_, short_summary) = scan(short.path(), &[]);
    let held_short = count(&short_summary, "evidence_peak_events");
    let held_long = count(&settled, "evidence_peak_events");
    assert!(held_long <= 38, "{held_long} events held");
    assert!(
        held_long.abs_diff(held_short) <= 2,
        "{held_short} vs {held_long}"
    );
}

#[test]
fn horizon_is_for_batch_runs_and_takes_a_duration() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let o = run(&[
        "scan",
        dir.path().to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
        "--horizon",
        "2h",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--horizon"), "{}", stderr(&o));
    let o = run(&["scan", dir.path().to_str().unwrap(), "--horizon", "soon"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("'soon' is not a duration"),
        "{}",
        stderr(&o)
    );
}
