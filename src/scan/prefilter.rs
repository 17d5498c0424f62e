//! The byte-level pre-filter: decides from raw bytes which records may be candidates, so
//! that only those (well under 1% in a typical trail) are parsed.
//!
//! It must keep every record that the typed test in `event::is_candidate` keeps. That test
//! needs one of these literals in the record: `errorCode` (a failed KMS call), the
//! `aws:ec2-infrastructure` principal, an `aws:ebs:id` encryption context, or the launch
//! event names. None holds `"`, `\` or `/`, so in raw JSON a literal can only be hidden by a
//! `\u` escape, and records with one are always kept (see `scan`). The literals are rare, so
//! most records hold none and are passed over without a second look.

use aho_corasick::AhoCorasick;
use aho_corasick::packed;

/// A record holding any of these may be a candidate.
pub const NEEDLES: [&str; 5] = [
    "errorCode",
    "aws:ec2-infrastructure",
    "aws:ebs:id",
    "RunInstances",
    "CreateFleet",
];

/// A prebuilt multi-needle searcher (aho-corasick picks a packed SIMD "Teddy" search for
/// a handful of short needles), so the whole file is read once rather than once per needle.
pub struct Prefilter {
    searcher: Searcher,
}

/// Teddy where the CPU has it (SSSE3/AVX2 on x86_64, NEON on aarch64), the automaton
/// elsewhere.
enum Searcher {
    Packed(packed::Searcher),
    Automaton(AhoCorasick),
}

impl Default for Prefilter {
    fn default() -> Self {
        let searcher = match packed::Searcher::new(NEEDLES) {
            Some(p) => Searcher::Packed(p),
            None => Searcher::Automaton(
                AhoCorasick::new(NEEDLES).expect("the needles are valid patterns"),
            ),
        };
        Self { searcher }
    }
}

impl Prefilter {
    /// Start offsets of the needles in `buf`, in order: one pass over the whole buffer, far
    /// cheaper than a search per record. Matches do not overlap, which loses nothing: no
    /// needle is part of another, so a skipped one would start inside a match already in
    /// the same record.
    pub fn hits(&self, buf: &[u8], out: &mut Vec<usize>) {
        out.clear();
        match &self.searcher {
            Searcher::Packed(p) => out.extend(p.find_iter(buf).map(|m| m.start())),
            Searcher::Automaton(a) => out.extend(a.find_iter(buf).map(|m| m.start())),
        }
    }

    /// Whether one record holds any needle (the stream scanner's per-record test).
    pub fn any(&self, record: &[u8]) -> bool {
        match &self.searcher {
            Searcher::Packed(p) => p.find(record).is_some(),
            Searcher::Automaton(a) => a.is_match(record),
        }
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
