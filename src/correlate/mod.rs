//! The correlator: the one stateful stage. It receives candidate events from every file in
//! any order, drops duplicates (same `eventID`), keeps what the rules can use, and turns
//! that evidence into findings. Its evidence is plain serializable data, so an incremental
//! run can save it and pick up where the last run stopped.

pub mod classify;
pub mod remediation;
pub mod rules;

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::event::{Event, EventKind};
use crate::finding::Finding;

/// Everything the rules may look at.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Evidence {
    /// RunInstances and CreateFleet calls.
    pub launches: Vec<Event>,
    /// KMS calls that are denials of a launch, or that tie a volume to an instance.
    pub kms: Vec<Event>,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Correlator {
    seen: HashSet<String>,
    evidence: Evidence,
    duplicates: u64,
}

impl Correlator {
    /// Takes one event. Returns false for a duplicate `eventID`, which is counted and dropped.
    pub fn add(&mut self, event: Event) -> bool {
        let useful = match &event.kind {
            EventKind::Launch(l) => !l.instances.is_empty(),
            EventKind::Kms(k) => rules::ebs_kms_launch::is_evidence(&event, k),
        };
        if !useful {
            return true;
        }
        if !self.seen.insert(event.event_id.clone()) {
            self.duplicates += 1;
            return false;
        }
        match event.kind {
            EventKind::Launch(_) => self.evidence.launches.push(event),
            EventKind::Kms(_) => self.evidence.kms.push(event),
        }
        true
    }

    /// Duplicate records dropped so far.
    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }

    pub fn evidence(&self) -> &Evidence {
        &self.evidence
    }

    /// Every finding the evidence supports, sorted by account, region, first denial and
    /// instance.
    pub fn findings(&self) -> Vec<Finding> {
        let mut all = rules::run_all(&self.evidence);
        all.sort_by(|a, b| {
            (
                &a.account_id,
                &a.region,
                a.first_denied_at,
                &a.instance_id,
                &a.finding_id,
            )
                .cmp(&(
                    &b.account_id,
                    &b.region,
                    b.first_denied_at,
                    &b.instance_id,
                    &b.finding_id,
                ))
        });
        all
    }

    /// Forgets evidence older than `cutoff_ms` (event time). Incremental runs call this so
    /// their saved state stays bounded.
    pub fn prune(&mut self, cutoff_ms: i64) {
        let keep = |e: &Event| e.time_ms >= cutoff_ms;
        let before: Vec<String> = self
            .evidence
            .launches
            .iter()
            .chain(&self.evidence.kms)
            .filter(|e| !keep(e))
            .map(|e| e.event_id.clone())
            .collect();
        self.evidence.launches.retain(keep);
        self.evidence.kms.retain(keep);
        for id in before {
            self.seen.remove(&id);
        }
    }
}
