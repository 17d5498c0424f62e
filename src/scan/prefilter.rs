//! The byte-level pre-filter: decides from raw bytes which records may be candidates, so
//! that only those (well under 1% in a typical trail) are parsed.
//!
//! It must keep every record that the typed test in `event::is_candidate` keeps. That test
//! needs one of these literals in the record: `errorCode` (a failed KMS call), the
//! `aws:ec2-infrastructure` principal, an `aws:ebs:id` encryption context, or the launch
//! event names. None holds `"`, `\` or `/`, so in raw JSON a literal can only be hidden by a
//! `\u` escape, and records with one are always kept (see `scan`). The literals are rare, so
//! most records hold none and are passed over without a second look.

/// The needles: a record holding any may be a candidate. Each comes with the offset of a
/// pair of adjacent bytes in it that is rare in CloudTrail JSON (`rC`, `nf`, `bs`, `nI`,
/// `eF`): the record splitter looks for these pairs in the same pass that finds record
/// boundaries (see `structural`).
pub const ANCHORS: [(&[u8], usize); 5] = [
    (b"errorCode", 4),
    (b"aws:ec2-infrastructure", 9),
    (b"aws:ebs:id", 5),
    (b"RunInstances", 2),
    (b"CreateFleet", 5),
];

/// The needles alone.
pub fn needles() -> impl Iterator<Item = &'static [u8]> {
    ANCHORS.iter().map(|(needle, _)| *needle)
}

/// Whether `record` holds a needle, by plain substring search: the reference that the
/// splitter's single-pass detection is tested against, and a baseline for the benches.
pub fn contains_needle(record: &[u8]) -> bool {
    needles().any(|n| memchr::memmem::find(record, n).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_anchor_pair_lies_inside_its_needle() {
        for (needle, off) in ANCHORS {
            assert!(
                off + 1 < needle.len(),
                "{}",
                String::from_utf8_lossy(needle)
            );
        }
    }

    #[test]
    fn needles_by_substring() {
        assert!(contains_needle(br#"{"x":"CreateFleet"}"#));
        assert!(contains_needle(br#"{"errorCode":"AccessDenied"}"#));
        assert!(!contains_needle(
            br#"{"eventSource":"kms.amazonaws.com","eventName":"Decrypt"}"#
        ));
    }
}
