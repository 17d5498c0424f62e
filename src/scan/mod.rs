//! Bytes of one decoded log file -> the events of its candidate records.
//!
//! Only records that the byte pre-filter keeps are parsed (with simd-json, from a reused
//! scratch buffer); the rest are counted and passed over. `scan_reference` is the plain
//! path that parses every record: the differential tests hold the two to the same answer.

pub mod prefilter;
pub mod split;
pub mod stream;
pub mod structural;

use std::sync::Arc;

use simd_json::prelude::*;

use crate::event::{self, Event};
use split::{Records, SplitError};

/// A record that was a candidate but could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedRecord {
    pub index: usize,
    pub reason: String,
}

/// What scanning one file found.
#[derive(Debug, Default)]
pub struct FileScan {
    pub records: u64,
    pub candidates: u64,
    pub events: Vec<Event>,
    pub skipped: Vec<SkippedRecord>,
}

/// Per-worker state: a buffer reused from record to record, so the hot path does not
/// allocate per record.
#[derive(Default)]
pub struct Scanner {
    scratch: Vec<u8>,
}

impl Scanner {
    /// Scans a whole `{"Records":[...]}` document. A document that cannot be split is a bad
    /// file (the caller reports it); a bad candidate record is skipped and listed.
    pub fn scan(&mut self, doc: &[u8], object: &Arc<str>) -> Result<FileScan, SplitError> {
        let mut out = FileScan::default();
        for (index, record) in Records::new(doc).enumerate() {
            let record = record?;
            out.records += 1;
            // The splitter found the needles in the same pass; a `\u` escape can hide one
            // from a byte search, so such records are parsed too.
            if record.has_needle || record.has_unicode_escape {
                self.take(&doc[record.range.clone()], index, object, &mut out);
            }
        }
        Ok(out)
    }

    /// Parses one record that may be a candidate and files it in `out`.
    fn take(&mut self, bytes: &[u8], index: usize, object: &Arc<str>, out: &mut FileScan) {
        self.scratch.clear();
        self.scratch.extend_from_slice(bytes);
        match simd_json::to_borrowed_value(&mut self.scratch) {
            Ok(value) => classify(&value, index, object, out),
            Err(e) => out.skipped.push(SkippedRecord {
                index,
                reason: format!("invalid JSON: {e}"),
            }),
        }
    }
}

fn classify(value: &simd_json::BorrowedValue, index: usize, object: &Arc<str>, out: &mut FileScan) {
    if !event::is_candidate(value) {
        return;
    }
    out.candidates += 1;
    match event::extract(value, object) {
        Ok(e) => out.events.push(e),
        Err(e) => out.skipped.push(SkippedRecord {
            index,
            reason: e.to_string(),
        }),
    }
}

/// The plain path: parse the whole document as one JSON value and test every record. Slow
/// and simple, kept as the reference the fast path is checked against.
pub fn scan_reference(doc: &[u8], object: &Arc<str>) -> Result<FileScan, String> {
    let mut buf = doc.to_vec();
    let value = simd_json::to_borrowed_value(&mut buf).map_err(|e| e.to_string())?;
    let records = value
        .get("Records")
        .and_then(|r| r.as_array())
        .ok_or("no Records array")?;
    let mut out = FileScan::default();
    for (index, record) in records.iter().enumerate() {
        out.records += 1;
        classify(record, index, object, &mut out);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(doc: &str) -> FileScan {
        Scanner::default()
            .scan(doc.as_bytes(), &Arc::from("t"))
            .unwrap()
    }

    const RUN: &str = r#"{"eventSource":"ec2.amazonaws.com","eventName":"RunInstances","eventID":"r1","eventTime":"2026-03-14T10:00:00Z","awsRegion":"us-east-1","recipientAccountId":"111122223333","responseElements":{"instancesSet":{"items":[{"instanceId":"i-0123456789abcdef0"}]}}}"#;

    #[test]
    fn only_candidates_become_events() {
        let doc = format!(
            r#"{{"Records":[{{"eventSource":"s3.amazonaws.com","eventName":"GetObject","p":"RunInstances"}},{RUN},{{"eventSource":"kms.amazonaws.com","eventName":"Decrypt"}}]}}"#
        );
        let s = scan(&doc);
        assert_eq!((s.records, s.candidates, s.events.len()), (3, 1, 1));
        assert_eq!(&*s.events[0].event_id, "r1");
    }

    #[test]
    fn candidate_with_missing_field_is_skipped_not_fatal() {
        let doc = r#"{"Records":[{"eventSource":"kms.amazonaws.com","eventName":"Decrypt","errorCode":"AccessDenied","eventID":"x"}]}"#;
        let s = scan(doc);
        assert_eq!(s.candidates, 1);
        assert!(s.events.is_empty());
        assert_eq!(
            s.skipped,
            [SkippedRecord {
                index: 0,
                reason: "record lacks a usable eventTime".into()
            }]
        );
    }

    #[test]
    fn agrees_with_reference_on_escapes_and_order() {
        let doc = format!(
            r#"{{"Records":[{{"eventName":"RunInstances","eventSource":"ec2\u002eamazonaws.com","x":"\"kms.amazonaws.com\"","eventID":"r0","eventTime":"2026-03-14T10:00:00Z","awsRegion":"us-east-1","recipientAccountId":"111122223333","responseElements":{{"instancesSet":{{"items":[{{"instanceId":"i-0123456789abcdef1"}}]}}}}}}, {RUN} ,{{"a":"\\"}}]}}"#
        );
        let fast = scan(&doc);
        let slow = scan_reference(doc.as_bytes(), &Arc::from("t")).unwrap();
        assert_eq!(fast.events, slow.events);
        assert_eq!(fast.records, slow.records);
        assert_eq!(
            fast.events.len(),
            2,
            "the escaped eventSource still names ec2"
        );
    }
}
