//! Wires the stages: a rayon pool takes objects one at a time (fetch -> decode -> scan ->
//! extract, stateless, so it scales with cores) and sends each file's small result over a
//! bounded channel to the one thread that owns the correlator. Bounded means memory is
//! bounded: at most `threads` decoded files plus a few results exist at once.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::mpsc::sync_channel;
use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::correlate::Correlator;
use crate::correlate::settle::Settler;
use crate::decode::{Decoded, Decoder};
use crate::error::{ObjectError, RunError};
use crate::event::Event;
use crate::scan::stream::StreamError;
use crate::scan::{FileScan, Scanner};
use crate::source::s3::{Fetched, S3Client};
use crate::source::{ObjectRef, local};

/// How a scan reads and what it keeps.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    pub threads: usize,
    /// Cap on one object's size, compressed and decompressed.
    pub max_file_bytes: u64,
    /// Keep events with `eventTime` >= this (ms).
    pub since_ms: Option<i64>,
    /// Keep events with `eventTime` < this (ms).
    pub until_ms: Option<i64>,
    pub accounts: Vec<String>,
    pub regions: Vec<String>,
    /// Batch runs: how far (ms) behind the delivery watermark a finding is settled and its
    /// evidence let go (see `correlate::settle`); 0 keeps everything to the end.
    pub horizon_ms: i64,
}

/// The default settling horizon: a day, as CloudTrail's docs suggest for late deliveries.
pub const DEFAULT_HORIZON_MS: i64 = 86_400_000;

impl Default for ScanOptions {
    fn default() -> Self {
        Self {
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            max_file_bytes: 2 << 30,
            since_ms: None,
            until_ms: None,
            accounts: Vec::new(),
            regions: Vec::new(),
            horizon_ms: DEFAULT_HORIZON_MS,
        }
    }
}

impl ScanOptions {
    fn keeps(&self, e: &Event) -> bool {
        self.since_ms.is_none_or(|t| e.time_ms >= t)
            && self.until_ms.is_none_or(|t| e.time_ms < t)
            && (self.accounts.is_empty() || self.accounts.iter().any(|a| **a == *e.account_id))
            && (self.regions.is_empty() || self.regions.iter().any(|r| **r == *e.region))
    }
}

/// Counts of one scan.
#[derive(Debug, Clone, Default)]
pub struct ScanStats {
    pub objects_read: u64,
    pub objects_failed: u64,
    pub bytes_in: u64,
    pub bytes_decoded: u64,
    pub records: u64,
    pub candidates: u64,
    pub records_skipped: u64,
    /// The most events the correlator held at once (launches and KMS evidence).
    pub evidence_peak: u64,
    /// Findings a settler set aside before the end of the scan.
    pub findings_settled: u64,
    pub elapsed: Duration,
}

/// A file the scan could not use, and why.
pub type Failure = ObjectError;

/// Per-thread decode and scan state, reused across objects.
pub struct Worker {
    decoder: Decoder,
    scanner: Scanner,
    doc: Vec<u8>,
    raw: Vec<u8>,
    max_file_bytes: u64,
}

impl Worker {
    pub fn new(max_file_bytes: u64) -> Self {
        Self {
            decoder: Decoder::new(max_file_bytes),
            scanner: Scanner::default(),
            doc: Vec::new(),
            raw: Vec::new(),
            max_file_bytes,
        }
    }

    /// Decodes and scans one object's raw bytes into what the correlator thread needs.
    pub fn process(&mut self, seq: usize, name: Arc<str>, raw: &[u8]) -> ObjectDone {
        let not_a_log = |e: &dyn std::fmt::Display| ObjectError::NotCloudTrail {
            object: name.to_string(),
            detail: e.to_string(),
        };
        let scanner = &mut self.scanner;
        let mut whole = |doc: &[u8]| {
            scanner
                .scan(doc, &name)
                .map(|scan| (scan, doc.len() as u64))
                .map_err(|e| not_a_log(&e))
        };
        let result = match self.decoder.open(&name, raw, &mut self.doc) {
            Ok(Decoded::Plain(doc)) => whole(doc),
            Ok(Decoded::Inflated) => whole(&self.doc),
            Ok(Decoded::Stream(reader)) => self
                .scanner
                .scan_stream(reader, &name, self.max_file_bytes)
                .map_err(|e| match e {
                    StreamError::Read(e) => ObjectError::Gzip {
                        object: name.to_string(),
                        detail: e.to_string(),
                    },
                    StreamError::TooLarge(limit) => ObjectError::TooLarge {
                        object: name.to_string(),
                        limit,
                    },
                    StreamError::Split(e) => not_a_log(&e),
                }),
            Err(e) => Err(e),
        };
        let (result, bytes_decoded) = match result {
            Ok((scan, n)) => (Ok(scan), n),
            Err(e) => (Err(e), 0),
        };
        ObjectDone {
            seq,
            name,
            bytes_in: raw.len() as u64,
            bytes_decoded,
            result,
        }
    }
}

/// One object's outcome, as sent to the correlator thread.
pub struct ObjectDone {
    /// The object's position in the listing being scanned.
    pub seq: usize,
    pub name: Arc<str>,
    pub bytes_in: u64,
    pub bytes_decoded: u64,
    pub result: Result<FileScan, ObjectError>,
}

/// Where the scan's events go: the correlator, and in a batch run the settler that lets
/// it forget what no file still to come can change.
pub struct Target<'a> {
    pub correlator: &'a mut Correlator,
    pub settler: Option<&'a mut Settler>,
}

impl<'a> From<&'a mut Correlator> for Target<'a> {
    fn from(correlator: &'a mut Correlator) -> Self {
        Self {
            correlator,
            settler: None,
        }
    }
}

/// Takes finished objects on the correlator thread: counts them, reports bad records and
/// files, and hands the events that pass the filters to the correlator.
struct Collector<'a> {
    opts: &'a ScanOptions,
    target: Target<'a>,
    stats: ScanStats,
    failures: Vec<Failure>,
}

impl Collector<'_> {
    fn take(&mut self, done: ObjectDone) {
        self.stats.bytes_in += done.bytes_in;
        match done.result {
            Ok(scan) => {
                self.stats.objects_read += 1;
                self.stats.bytes_decoded += done.bytes_decoded;
                self.stats.records += scan.records;
                self.stats.candidates += scan.candidates;
                self.stats.records_skipped += scan.skipped.len() as u64;
                for s in &scan.skipped {
                    tracing::warn!("{}: record {} skipped: {}", done.name, s.index, s.reason);
                }
                for e in scan.events {
                    if self.opts.keeps(&e) {
                        self.target.correlator.add(e);
                    }
                }
            }
            Err(e) => {
                tracing::warn!("{e}; file skipped");
                self.stats.objects_failed += 1;
                self.failures.push(e);
            }
        }
        if let Some(settler) = &mut self.target.settler {
            settler.done(done.seq);
        }
    }

    /// Lets the settler catch up with the objects taken so far.
    fn settle(&mut self) {
        let held = self.target.correlator.evidence().len() as u64;
        self.stats.evidence_peak = self.stats.evidence_peak.max(held);
        if let Some(settler) = &mut self.target.settler {
            settler.advance(self.target.correlator);
            self.stats.findings_settled = settler.settled() as u64;
        }
    }
}

/// What a worker is handed: an object to read itself (a local file, stdin), or one whose
/// bytes the S3 client has already fetched.
pub enum Input<'a> {
    /// An object and its position in the listing.
    Read(usize, &'a ObjectRef),
    Fetched(Fetched),
}

impl Worker {
    /// Reads (or takes) one input's bytes and processes them.
    fn input(&mut self, input: Input<'_>) -> ObjectDone {
        match input {
            Input::Read(seq, object) => {
                let name: Arc<str> = Arc::from(object.name());
                // The read buffer is reused from file to file, like the decode buffer.
                let mut raw = std::mem::take(&mut self.raw);
                let done = match local::read_into(object, &name, self.max_file_bytes, &mut raw) {
                    Ok(()) => self.process(seq, name, &raw),
                    Err(e) => ObjectDone::failed(seq, name, e),
                };
                // A rare huge file should not pin its buffer for the rest of the run.
                if raw.capacity() <= crate::decode::WHOLE_BUFFER_LIMIT as usize {
                    self.raw = raw;
                }
                done
            }
            Input::Fetched(mut f) => {
                let raw = std::mem::replace(&mut f.bytes, Ok(Vec::new()));
                let done = match raw {
                    Ok(raw) => self.process(f.seq, f.name.clone(), &raw),
                    Err(e) => ObjectDone::failed(f.seq, f.name.clone(), e),
                };
                // Only now is the object's share of the fetch budget given back.
                drop(f);
                done
            }
        }
    }
}

impl ObjectDone {
    fn failed(seq: usize, name: Arc<str>, e: ObjectError) -> Self {
        ObjectDone {
            seq,
            name,
            bytes_in: 0,
            bytes_decoded: 0,
            result: Err(e),
        }
    }
}

/// Runs `inputs` through the workers into the target. `progress` is called on the
/// correlator thread after each batch of objects with the stats so far.
pub fn scan_with<'a>(
    inputs: impl ParallelIterator<Item = Input<'a>>,
    opts: &ScanOptions,
    target: Target<'_>,
    progress: &mut dyn FnMut(&ScanStats),
) -> Result<(ScanStats, Vec<Failure>), RunError> {
    let started = Instant::now();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads.max(1))
        .build()
        .map_err(|e| RunError::Config(format!("cannot start {} threads: {e}", opts.threads)))?;
    let threads = opts.threads.max(1);
    let (tx, rx) = sync_channel::<Vec<ObjectDone>>(threads * 4);
    let mut collector = Collector {
        opts,
        target,
        stats: ScanStats::default(),
        failures: Vec::new(),
    };
    // One worker (buffers, decompressor, searchers) and one outgoing batch per pool thread,
    // kept for the whole scan: rayon's per-job init would build new ones each time work is
    // split, which at many cores means fresh buffers (and page faults) for most files.
    let slots: Vec<Mutex<(Worker, Vec<ObjectDone>)>> = (0..threads)
        .map(|_| Mutex::new((Worker::new(opts.max_file_bytes), Vec::new())))
        .collect();
    std::thread::scope(|scope| {
        let slots = &slots;
        scope.spawn(move || {
            pool.install(|| {
                inputs.for_each(|input| {
                    let slot = rayon::current_thread_index().unwrap_or(0) % slots.len();
                    let mut slot = slots[slot].lock().expect("a worker panicked");
                    let (worker, batch) = &mut *slot;
                    batch.push(worker.input(input));
                    // Results go to the correlator thread in batches: one wake-up per
                    // BATCH files instead of one per file.
                    if batch.len() >= BATCH {
                        // The receiver lives until every sender is gone.
                        let _ = tx.send(std::mem::take(batch));
                    }
                });
            });
            for slot in slots {
                let batch = std::mem::take(&mut slot.lock().expect("a worker panicked").1);
                if !batch.is_empty() {
                    let _ = tx.send(batch);
                }
            }
        });
        for batch in rx {
            for done in batch {
                collector.take(done);
            }
            collector.settle();
            progress(&collector.stats);
        }
    });
    collector.stats.elapsed = started.elapsed();
    Ok((collector.stats, collector.failures))
}

/// Finished files sent to the correlator thread at once.
const BATCH: usize = 16;

/// Scans `objects` into the target: through the S3 client when any is on S3, else from
/// local files only. Objects are started in listing order: a settler's watermark is right
/// in any order, but only moves, and lets evidence go, as a prefix of the listing is done.
pub fn scan<'a>(
    objects: &[ObjectRef],
    s3: Option<&S3Client>,
    opts: &ScanOptions,
    target: impl Into<Target<'a>>,
    progress: &mut dyn FnMut(&ScanStats),
) -> Result<(ScanStats, Vec<Failure>), RunError> {
    let target = target.into();
    match s3 {
        Some(s3) if objects.iter().any(ObjectRef::is_s3) => {
            scan_mixed(objects, s3, opts, target, progress)
        }
        _ => scan_local(objects, opts, target, progress),
    }
}

/// Scans local objects (files, stdin) into the target.
pub fn scan_local(
    objects: &[ObjectRef],
    opts: &ScanOptions,
    target: Target<'_>,
    progress: &mut dyn FnMut(&ScanStats),
) -> Result<(ScanStats, Vec<Failure>), RunError> {
    // Bridged, not split: workers take objects from the front in turn, so the objects done
    // form a prefix of the listing, give or take those in flight and in the workers'
    // unsent batches (up to BATCH each), and the watermark moves. A split slice would have
    // each thread start at a different point of the run.
    let inputs = objects
        .iter()
        .enumerate()
        .par_bridge()
        .map(|(seq, o)| Input::Read(seq, o));
    scan_with(inputs, opts, target, progress)
}

/// Scans local and S3 objects together. The S3 client fetches on a thread of its own into a
/// bounded channel (a few objects per worker), and the workers drain it alongside the local
/// files, so network, decompression and parsing overlap. The local files usually run ahead
/// of the S3 ones, so a settler's watermark waits for the S3 side and the local side's
/// evidence is held meanwhile: a mixed run is correct but not flat in memory.
pub fn scan_mixed(
    objects: &[ObjectRef],
    s3: &S3Client,
    opts: &ScanOptions,
    target: Target<'_>,
    progress: &mut dyn FnMut(&ScanStats),
) -> Result<(ScanStats, Vec<Failure>), RunError> {
    type Numbered<'a> = Vec<(usize, &'a ObjectRef)>;
    let (remote, local): (Numbered, Numbered) =
        objects.iter().enumerate().partition(|(_, o)| o.is_s3());
    let (tx, rx) = sync_channel::<Fetched>(opts.threads.max(1) * 2);
    std::thread::scope(|scope| {
        scope.spawn(move || s3.fetch(&remote, opts.max_file_bytes, tx));
        let inputs = local
            .into_iter()
            .par_bridge()
            .map(|(seq, o)| Input::Read(seq, o))
            .chain(rx.into_iter().par_bridge().map(Input::Fetched));
        scan_with(inputs, opts, target, progress)
    })
}
