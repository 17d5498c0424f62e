//! The real-logs corpus (4,011 records from six public sources): every file is read without
//! a failure, and no finding comes out of it. None of these sources holds a denied KMS call
//! made for an EC2 launch: the few KMS errors in it are application calls (checked below),
//! so a finding here would be a false positive.

use std::sync::Arc;

use trailhound::decode::Decoder;
use trailhound::scan::{Scanner, scan_reference};

use crate::harness::{real_logs, run, stderr, stdout};

#[test]
fn every_record_is_read_and_nothing_is_found() {
    let dir = real_logs();
    let out = run(&["scan", dir.to_str().unwrap()]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}\n{}", stderr(&out));
    assert!(text.contains("files: 289 read"), "{text}");
    assert!(text.contains(" 0 failed"), "{text}");
    assert!(text.contains("records: 4011 read"), "{text}");
    assert!(text.contains("0 skipped"), "{text}");
    assert!(text.contains("findings: 0 (none)"), "{text}");
    assert!(out.stderr.is_empty(), "no warnings: {}", stderr(&out));
}

/// The candidates the corpus does hold, and why none is a finding.
#[test]
fn candidates_in_real_logs_are_explained() {
    let mut decoder = Decoder::new(1 << 30);
    let mut scanner = Scanner::default();
    let mut events = Vec::new();
    let mut files = 0;
    for entry in walk(&real_logs()) {
        let raw = std::fs::read(&entry).unwrap();
        let mut doc = Vec::new();
        decoder.decode("x", &raw, &mut doc).unwrap();
        let name: Arc<str> = Arc::from(entry.display().to_string());
        let fast = scanner.scan(&doc, &name).unwrap();
        let slow = scan_reference(&doc, &name).unwrap();
        assert_eq!(fast.events, slow.events, "{}", entry.display());
        assert_eq!(fast.records, slow.records);
        events.extend(fast.events);
        files += 1;
    }
    assert_eq!(files, 289);
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

pub fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().ends_with(".json.gz") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}
