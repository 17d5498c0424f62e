//! Incremental runs (`--state`), for cron: each run re-lists a look-back window of delivery
//! folders, scans only the objects no earlier run processed, correlates them with the
//! evidence earlier runs kept, and writes each finding exactly once.
//!
//! A finding is held back until its first denial is `grace` older than the newest delivery
//! (or event) seen, so that its launch and its other denials, delivered minutes apart and
//! perhaps in a later run, are in it; then it is written once and remembered by id.
//!
//! Order of a run: lock; load; finish an outbox a crashed run left; list; scan the new
//! objects; decide what is ready; commit the state with those findings in the outbox; write
//! their files; commit again with the outbox empty. See `state` for why this loses nothing
//! and duplicates nothing whatever point a crash hits.

use std::collections::{BTreeMap, HashSet};

use chrono::{Days, Utc};

use crate::error::RunError;
use crate::finding::Finding;
use crate::pipeline::{ScanStats, scan};
use crate::sink::output::write_partition;
use crate::source::layout::{self, KeyKind};
use crate::source::s3::S3Client;
use crate::state::State;
use crate::state::store::{StateLocation, Store};
use crate::{Job, Outcome};

/// `--state` and its companions.
#[derive(Debug, Clone)]
pub struct Incremental {
    pub state: StateLocation,
    /// Delivery days re-listed each run (today and the days before it).
    pub lookback_days: u32,
    /// How long (event time) a denial waits for its launch before it is written.
    pub grace_ms: i64,
    /// Start over: ignore what the state file says (it is replaced on commit).
    pub reset: bool,
}

/// What an incremental run adds to the outcome.
#[derive(Debug, Clone, Default)]
pub struct IncrementalReport {
    /// Listed objects skipped because an earlier run processed them.
    pub already_processed: u64,
    /// New objects found in folders an earlier run had already scanned.
    pub late_files: u64,
    /// Findings whose grace period has not passed yet.
    pub held_back: u64,
    /// Findings a crashed run had committed and this run wrote.
    pub replayed: u64,
    /// The newest delivery time among the listed objects (ms), if any had one.
    pub newest_delivery_ms: Option<i64>,
    /// Objects the state remembers after this run.
    pub state_objects: u64,
    /// Size of the committed state (bytes).
    pub state_bytes: u64,
}

/// Writes the outbox's files, then commits the state with the outbox empty. Returns the
/// findings it held.
fn deliver(
    job: &Job,
    state: &mut State,
    store: &mut Store,
    s3: Option<&S3Client>,
) -> Result<Vec<Finding>, RunError> {
    if state.outbox.is_empty() {
        return Ok(Vec::new());
    }
    if let Some(target) = &job.out {
        for (name, group) in &state.outbox {
            write_partition(target, name, group, s3)?;
        }
    }
    let delivered: Vec<Finding> = std::mem::take(&mut state.outbox)
        .into_values()
        .flatten()
        .collect();
    store.commit(state)?;
    Ok(delivered)
}

fn date_of(name: &str) -> Option<chrono::NaiveDate> {
    match layout::classify(name) {
        KeyKind::Log(k) => Some(k.date),
        _ => None,
    }
}

pub fn run(
    job: &Job,
    inc: &Incremental,
    s3: Option<&S3Client>,
    progress: &mut dyn FnMut(&ScanStats, u64),
) -> Result<Outcome, RunError> {
    let mut store = Store::open(inc.state.clone(), s3)?;
    let mut state = store.load(inc.reset)?;
    let replayed = deliver(job, &mut state, &mut store, s3)?;

    let today = Utc::now().date_naive();
    let window_start = today
        .checked_sub_days(Days::new(u64::from(inc.lookback_days)))
        .unwrap_or(today);
    let mut filter = job.key_filter();
    filter.from_date = Some(
        filter
            .from_date
            .map_or(window_start, |d| d.max(window_start)),
    );
    let (objects, listing) = job.list_filtered(&filter, s3)?;
    let names: Vec<String> = objects.iter().map(|o| o.name()).collect();
    let listed_folders: HashSet<String> = names
        .iter()
        .map(|n| crate::state::folder_of(n).to_string())
        .collect();
    let newest_delivery_ms = names.iter().filter_map(|n| layout::delivery_time(n)).max();

    let mut report = IncrementalReport {
        replayed: replayed.len() as u64,
        newest_delivery_ms,
        ..IncrementalReport::default()
    };
    let (mut new, mut new_names) = (Vec::new(), Vec::new());
    for (object, name) in objects.into_iter().zip(names.iter()) {
        if state.is_processed(name) {
            report.already_processed += 1;
        } else {
            report.late_files += u64::from(state.knows_folder(name));
            new.push(object);
            new_names.push(name.as_str());
        }
    }

    let mut correlator = std::mem::take(&mut state.correlator);
    let listed = new.len() as u64;
    let mut progress = |s: &ScanStats| progress(s, listed);
    let (stats, failures) = scan(&new, s3, &job.opts, &mut correlator, &mut progress)?;

    // Objects that failed are not remembered: the next run tries them again.
    let failed: HashSet<&str> = failures.iter().map(|f| f.object()).collect();
    for name in new_names.iter().filter(|n| !failed.contains(**n)) {
        state.mark_processed(name, date_of(name));
    }

    let newest_event = correlator.evidence().events().map(|e| e.time_ms).max();
    state.watermark_ms = [Some(state.watermark_ms), newest_delivery_ms, newest_event]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(0);
    let mut ready = Vec::new();
    for f in correlator.findings() {
        if state.emitted.contains_key(&f.finding_id) {
            continue;
        }
        if f.first_denied_at + inc.grace_ms <= state.watermark_ms {
            ready.push(f);
        } else {
            report.held_back += 1;
        }
    }

    let lookback_ms = i64::from(inc.lookback_days.max(1)) * 86_400_000;
    state.correlator = correlator;
    state.prune(
        window_start,
        &listed_folders,
        state.watermark_ms - lookback_ms,
        lookback_ms,
    );
    for f in &ready {
        state
            .emitted
            .insert(f.finding_id.clone(), f.first_denied_at);
    }
    state.outbox = crate::sink::parquet::partition(&ready)
        .into_iter()
        .collect::<BTreeMap<_, _>>();
    state.generation += 1;
    store.commit(&state)?;
    let written: Vec<String> = match &job.out {
        Some(_) => state.outbox.keys().cloned().collect(),
        None => Vec::new(),
    };
    let mut findings = replayed;
    findings.extend(deliver(job, &mut state, &mut store, s3)?);
    Finding::sort(&mut findings);
    report.state_objects = state.objects_remembered() as u64;
    report.state_bytes = store.committed_bytes();
    let duplicates = state.correlator.duplicates();
    Ok(Outcome {
        findings,
        stats,
        listing,
        objects_listed: names.len() as u64,
        failures,
        duplicates,
        written,
        s3_requests: s3.map(S3Client::requests),
        incremental: Some(report),
    })
}
