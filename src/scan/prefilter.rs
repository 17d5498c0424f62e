//! The byte-level pre-filter: decides from raw bytes which records may be candidates, so
//! that only those (well under 1% in a typical trail) are parsed.
//!
//! It must keep every record that the typed test in `event::is_candidate` keeps. That test
//! needs one of these literals in the record: `errorCode` (a failed KMS call), the
//! `aws:ec2-infrastructure` principal, an `aws:ebs:id` encryption context, or the launch
//! event names. None holds `"`, `\` or `/`, so in raw JSON a literal can only be hidden by a
//! `\u` escape, and records with one are always kept (see `scan`). The literals are rare, so
//! most records hold none and are passed over without a second look.

use memchr::memmem::Finder;

/// A record holding any of these may be a candidate.
pub const NEEDLES: [&str; 5] = [
    "errorCode",
    "aws:ec2-infrastructure",
    "aws:ebs:id",
    "RunInstances",
    "CreateFleet",
];

/// Prebuilt searchers; one per worker, reused for every object.
pub struct Prefilter {
    finders: Vec<Finder<'static>>,
}

impl Default for Prefilter {
    fn default() -> Self {
        Self {
            finders: NEEDLES.iter().map(|n| Finder::new(n.as_bytes())).collect(),
        }
    }
}

impl Prefilter {
    /// Start offsets of every needle in `buf`, sorted. One pass per needle over the whole
    /// buffer is far cheaper than a search per record.
    pub fn hits(&self, buf: &[u8], out: &mut Vec<usize>) {
        out.clear();
        for f in &self.finders {
            out.extend(f.find_iter(buf));
        }
        out.sort_unstable();
    }

    /// Whether one record holds any needle (the stream scanner's per-record test).
    pub fn any(&self, record: &[u8]) -> bool {
        self.finders.iter().any(|f| f.find(record).is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_needle_in_order() {
        let p = Prefilter::default();
        let mut hits = Vec::new();
        p.hits(
            b"xx CreateFleet RunInstances errorCode aws:ebs:id aws:ec2-infrastructure kms",
            &mut hits,
        );
        assert_eq!(hits, [3, 15, 28, 38, 49]);
        p.hits(
            br#"{"eventSource":"kms.amazonaws.com","eventName":"Decrypt"}"#,
            &mut hits,
        );
        assert!(
            hits.is_empty(),
            "a successful KMS call with no EC2 sign is not a candidate"
        );
    }
}
