//! The real-logs corpus (4,011 records from six public sources): every file is read without
//! a failure, and no finding comes out of it. None of these sources holds a denied KMS call
//! made for an EC2 launch: the few KMS errors in it are application calls (checked below),
//! so a finding here would be a false positive.

use std::sync::Arc;

use trailhound::decode::Decoder;
use trailhound::scan::Scanner;

use crate::harness::{files_under, real_logs, run, stderr, stdout};

#[test]
fn every_record_is_read_and_nothing_is_found() {
    let dir = real_logs();
    let out = run(&["scan", dir.to_str().unwrap()]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}\n{}", stderr(&out));
    let lines: Vec<&str> = text.lines().collect();
    for want in [
        // The one file that is not a log by its name is the corpus's README.
        "files: 289 read, 1 skipped (digest 0, insight 0, filtered 0, not logs 1), 0 failed",
        "records: 4011 read, 11 candidates, 0 skipped, 2 duplicates",
        "findings: 0 (none)",
    ] {
        assert!(lines.contains(&want), "{want}\n{text}");
    }
    assert!(out.stderr.is_empty(), "no warnings: {}", stderr(&out));
}

/// The candidates the corpus does hold, and why none is a finding. (That the fast path
/// finds exactly these is `differential`'s business.)
#[test]
fn candidates_in_real_logs_are_explained() {
    let mut decoder = Decoder::new(1 << 30);
    let mut scanner = Scanner::default();
    let mut events = Vec::new();
    let mut files = 0;
    let mut doc = Vec::new();
    for entry in files_under(&real_logs(), ".json.gz") {
        let raw = std::fs::read(&entry).unwrap();
        decoder.decode("x", &raw, &mut doc).unwrap();
        let name: Arc<str> = Arc::from(entry.display().to_string());
        events.extend(scanner.scan(&doc, &name).unwrap().events);
        files += 1;
    }
    assert_eq!(files, 289);
    // The summary's 11 candidates, as events.
    assert_eq!(events.len(), 11);
    // Every candidate is either a launch (RunInstances from the attack simulations) or a
    // KMS call that fails the EC2 tests (no EC2 caller, no aws:ebs:id, or an error that
    // does not stop a launch).
    let mut c = trailhound::correlate::Correlator::default();
    for e in &events {
        match &e.kind {
            trailhound::event::EventKind::Launch(_) => {}
            trailhound::event::EventKind::Kms(k) => {
                assert!(
                    !trailhound::correlate::rules::ebs_kms_launch::is_launch_denial(e, k),
                    "unexpected launch denial in real logs: {e:?}"
                );
            }
        }
        c.add(e.clone());
    }
    assert!(c.findings().is_empty());
}
