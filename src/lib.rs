//! trailhound: finds the EC2 launches that a KMS failure killed, from CloudTrail logs.
//!
//! The pipeline, stage by stage (each a module):
//! 1. `source`: list log objects (local folders, files, stdin), CloudTrail-layout aware;
//! 2. `decode`: gzip or plain JSON -> bytes, size-capped;
//! 3. `scan`: split records and keep candidates with a byte pre-filter;
//! 4. `event`: parse a candidate into a small typed `Event`;
//! 5. `correlate`: dedup, tie KMS denials to launches, classify -> `Finding`s;
//! 6. `sink`: Parquet (Athena-ready `dt=` partitions) and JSON Lines.
//!
//! `pipeline` runs 2-4 on a rayon pool and 5 on one thread; `run` is the whole job.

pub mod correlate;
pub mod decode;
pub mod error;
pub mod event;
pub mod finding;
pub mod ids;
pub mod incremental;
pub mod inflate;
pub mod pipeline;
pub mod scan;
pub mod sink;
pub mod source;
pub mod state;
pub mod timefmt;

use std::path::PathBuf;

use correlate::Correlator;
use correlate::settle::Settler;
use error::RunError;
use finding::Finding;
use pipeline::{Failure, ScanOptions, ScanStats};
use sink::output::OutputTarget;
use source::s3::{RequestCounts, S3Client, S3Options, S3Uri};
use source::{KeyFilter, ListingStats, ObjectRef};

/// One source named on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSpec {
    Path(PathBuf),
    Stdin,
    S3(S3Uri),
}

/// A whole scan job.
#[derive(Debug, Clone, Default)]
pub struct Job {
    pub sources: Vec<SourceSpec>,
    pub opts: ScanOptions,
    pub out: Option<OutputTarget>,
    /// How to reach S3, for S3 sources and outputs.
    pub s3: S3Options,
    /// `--state`: scan only what earlier runs did not, and write each finding once.
    pub incremental: Option<incremental::Incremental>,
}

/// What a job found and did.
#[derive(Debug)]
pub struct Outcome {
    pub findings: Vec<Finding>,
    pub stats: ScanStats,
    pub listing: ListingStats,
    pub objects_listed: u64,
    pub failures: Vec<Failure>,
    pub duplicates: u64,
    /// Output objects written (relative names under the output target).
    pub written: Vec<String>,
    /// Requests sent to S3, when a source or the output was there.
    pub s3_requests: Option<RequestCounts>,
    /// What an incremental run skipped, caught and held back.
    pub incremental: Option<incremental::IncrementalReport>,
}

impl Job {
    /// The key filter the options imply: delivery dates from the `--since` day to the day
    /// after `--until` (files are delivered after their events, sometimes late).
    pub fn key_filter(&self) -> KeyFilter {
        let day = |ms: i64| chrono::DateTime::from_timestamp_millis(ms).map(|t| t.date_naive());
        KeyFilter {
            from_date: self.opts.since_ms.and_then(day),
            to_date: self.opts.until_ms.and_then(day).and_then(|d| d.succ_opt()),
            accounts: self.opts.accounts.clone(),
            regions: self.opts.regions.clone(),
        }
    }

    /// A client when a source or the output is on S3.
    fn s3_client(&self) -> Result<Option<S3Client>, RunError> {
        let needed = self.sources.iter().any(|s| matches!(s, SourceSpec::S3(_)))
            || matches!(self.out, Some(OutputTarget::S3(_)))
            || matches!(
                self.incremental.as_ref().map(|i| &i.state),
                Some(state::store::StateLocation::S3 { .. })
            );
        needed.then(|| S3Client::connect(&self.s3)).transpose()
    }

    /// Lists every source under `filter`. An unreadable source is fatal: nothing would be
    /// scanned.
    pub fn list_filtered(
        &self,
        filter: &KeyFilter,
        s3: Option<&S3Client>,
    ) -> Result<(Vec<ObjectRef>, ListingStats), RunError> {
        let mut objects = Vec::new();
        let mut stats = ListingStats::default();
        for spec in &self.sources {
            match spec {
                SourceSpec::Path(p) => source::local::list(p, filter, &mut objects, &mut stats)?,
                SourceSpec::Stdin => objects.push(ObjectRef::Stdin),
                SourceSpec::S3(uri) => {
                    let s3 = s3.ok_or_else(|| RunError::Config("no S3 client".into()))?;
                    s3.list(uri, filter, &mut objects, &mut stats)?;
                }
            }
        }
        objects.shrink_to_fit();
        Ok((objects, stats))
    }

    /// Lists, scans, correlates and writes the findings. `progress` sees the running stats
    /// and the number of objects listed.
    pub fn run(&self, progress: &mut dyn FnMut(&ScanStats, u64)) -> Result<Outcome, RunError> {
        let s3 = self.s3_client()?;
        if let Some(inc) = &self.incremental {
            return incremental::run(self, inc, s3.as_ref(), progress);
        }
        let (mut objects, listing) = self.list_filtered(&self.key_filter(), s3.as_ref())?;
        let listed = objects.len() as u64;
        // Oldest delivery first, so that evidence can be settled and let go on the way.
        let delivery = source::order::sort_by_delivery(&mut objects);
        let mut settler =
            (self.opts.horizon_ms > 0).then(|| Settler::new(self.opts.horizon_ms, delivery));
        let mut correlator = Correlator::default();
        let mut progress = |s: &ScanStats| progress(s, listed);
        let target = pipeline::Target {
            correlator: &mut correlator,
            settler: settler.as_mut(),
        };
        let (stats, failures) =
            pipeline::scan(&objects, s3.as_ref(), &self.opts, target, &mut progress)?;
        let findings = match settler {
            Some(settler) => settler.finish(&correlator),
            None => correlator.findings(),
        };
        let written = match &self.out {
            Some(target) => sink::output::write_findings(target, &findings, s3.as_ref())?,
            None => Vec::new(),
        };
        Ok(Outcome {
            findings,
            stats,
            listing,
            objects_listed: listed,
            failures,
            duplicates: correlator.duplicates(),
            written,
            s3_requests: s3.as_ref().map(S3Client::requests),
            incremental: None,
        })
    }
}
