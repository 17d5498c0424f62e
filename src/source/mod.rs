//! Where log objects come from: local files and folders, standard input, or S3. A source
//! is listed into `ObjectRef`s (cheaply, CloudTrail-aware); each object is then fetched on
//! a worker. Async code for S3 stays in `s3`.

pub mod layout;
pub mod local;
pub mod order;
pub mod s3;

use std::path::PathBuf;

use chrono::NaiveDate;

use layout::{KeyKind, LogKey};

/// One log object to read.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum ObjectRef {
    Local(PathBuf),
    Stdin,
    /// An object in a bucket, with its size as listed.
    S3 {
        bucket: String,
        key: String,
        size: u64,
    },
}

impl ObjectRef {
    /// The name used in findings (`source_objects`), warnings and the summary.
    pub fn name(&self) -> String {
        match self {
            ObjectRef::Local(p) => p.display().to_string(),
            ObjectRef::Stdin => "-".to_string(),
            ObjectRef::S3 { bucket, key, .. } => format!("s3://{bucket}/{key}"),
        }
    }

    pub fn is_s3(&self) -> bool {
        matches!(self, ObjectRef::S3 { .. })
    }
}

/// Names that can hold CloudTrail logs; any other file in a folder or prefix is ignored.
pub fn looks_like_log(name: &str) -> bool {
    name.ends_with(".json.gz") || name.ends_with(".json") || name.ends_with(".gz")
}

/// What the key layout lets a listing skip before any object is read.
#[derive(Debug, Clone, Default)]
pub struct KeyFilter {
    /// First delivery date to read: records of a day are delivered that day or later.
    pub from_date: Option<NaiveDate>,
    /// Last delivery date to read: the day after `--until`, for late deliveries.
    pub to_date: Option<NaiveDate>,
    pub accounts: Vec<String>,
    pub regions: Vec<String>,
}

impl KeyFilter {
    pub fn admits(&self, key: &LogKey) -> bool {
        self.from_date.is_none_or(|d| key.date >= d)
            && self.to_date.is_none_or(|d| key.date <= d)
            && (self.accounts.is_empty() || self.accounts.contains(&key.account))
            && (self.regions.is_empty() || self.regions.contains(&key.region))
    }
}

/// Counts of what a listing passed over.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListingStats {
    pub digest_skipped: u64,
    pub insight_skipped: u64,
    /// Log files whose key the filter excluded.
    pub filtered_out: u64,
    /// Files that are not log files by name (README, images, ...).
    pub ignored: u64,
}

impl ListingStats {
    /// Everything the listing passed over.
    pub fn skipped(&self) -> u64 {
        self.digest_skipped + self.insight_skipped + self.filtered_out + self.ignored
    }

    /// Adds another listing's counts (one source of several, one folder of a walk).
    pub fn add(&mut self, o: &ListingStats) {
        self.digest_skipped += o.digest_skipped;
        self.insight_skipped += o.insight_skipped;
        self.filtered_out += o.filtered_out;
        self.ignored += o.ignored;
    }
}

/// Whether a listed key should be read, and if not, which count it goes to.
pub fn admit(key: &str, filter: &KeyFilter, stats: &mut ListingStats) -> bool {
    match layout::classify(key) {
        KeyKind::Digest => stats.digest_skipped += 1,
        KeyKind::Insight => stats.insight_skipped += 1,
        KeyKind::Log(k) if !filter.admits(&k) => stats.filtered_out += 1,
        KeyKind::Log(_) | KeyKind::Foreign | KeyKind::Loose => return true,
    }
    false
}
