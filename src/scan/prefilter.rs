//! The byte-level pre-filter: decides from raw bytes which records may be candidates, so
//! that only those (well under 1% in a typical trail) are parsed.
//!
//! It must keep every record that the typed test in `event::is_candidate` would keep. That
//! test compares field values with literals; each literal below is a substring of what the
//! test looks for, and none holds `"`, `\` or `/`, so in the raw JSON it can only be hidden
//! by a `\u` escape. Records with a `\u` escape therefore always pass.

use memchr::memmem::Finder;

/// Needles that make a record worth a look on their own.
const PRIMARY: [&str; 3] = ["kms.amazonaws.com", "RunInstances", "CreateFleet"];
/// For a KMS record, at least one of these must be present too (see `event::is_candidate`).
const KMS_SECONDARY: [&str; 4] = ["errorCode", "ec2", "autoscaling", "aws:ebs:id"];

/// Prebuilt searchers; one per worker, reused for every object.
pub struct Prefilter {
    primary: Vec<Finder<'static>>,
    kms: Finder<'static>,
    secondary: Vec<Finder<'static>>,
}

impl Default for Prefilter {
    fn default() -> Self {
        Self {
            primary: PRIMARY.iter().map(|n| Finder::new(n.as_bytes())).collect(),
            kms: Finder::new(PRIMARY[0].as_bytes()),
            secondary: KMS_SECONDARY
                .iter()
                .map(|n| Finder::new(n.as_bytes()))
                .collect(),
        }
    }
}

impl Prefilter {
    /// Start offsets of every primary needle in `buf`, sorted. One pass per needle over the
    /// whole buffer is far cheaper than a search per record.
    pub fn hits(&self, buf: &[u8], out: &mut Vec<usize>) {
        out.clear();
        for f in &self.primary {
            out.extend(f.find_iter(buf));
        }
        out.sort_unstable();
    }

    /// Whether `record` (which holds at least one primary hit) may be a candidate.
    pub fn keep(&self, record: &[u8], has_unicode_escape: bool) -> bool {
        if has_unicode_escape {
            return true;
        }
        let is_kms = self.kms.find(record).is_some();
        let is_launch = !is_kms || self.primary[1..].iter().any(|f| f.find(record).is_some());
        is_launch || self.secondary.iter().any(|f| f.find(record).is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_hits_in_order() {
        let p = Prefilter::default();
        let mut hits = Vec::new();
        p.hits(b"xx CreateFleet RunInstances kms.amazonaws.com", &mut hits);
        assert_eq!(hits, [3, 15, 28]);
    }

    #[test]
    fn kms_records_need_a_second_sign() {
        let p = Prefilter::default();
        assert!(!p.keep(
            br#"{"eventSource":"kms.amazonaws.com","eventName":"Decrypt"}"#,
            false
        ));
        assert!(p.keep(
            br#"{"eventSource":"kms.amazonaws.com","errorCode":"AccessDenied"}"#,
            false
        ));
        assert!(p.keep(
            br#"{"eventSource":"kms.amazonaws.com","x":"aws:ec2-infrastructure"}"#,
            false
        ));
        assert!(p.keep(
            br#"{"eventSource":"kms.amazonaws.com","x":{"aws:ebs:id":"vol-1"}}"#,
            false
        ));
        assert!(p.keep(br#"{"eventSource":"kms.amazonaws.com"}"#, true));
    }

    #[test]
    fn launch_records_pass() {
        let p = Prefilter::default();
        assert!(p.keep(br#"{"eventName":"RunInstances"}"#, false));
        assert!(p.keep(
            br#"{"eventName":"CreateFleet","k":"kms.amazonaws.com"}"#,
            false
        ));
    }
}
