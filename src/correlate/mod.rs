//! The correlator: the one stateful stage. It receives candidate events from every file in
//! any order, drops duplicates (same `eventID`), keeps what the rules can use, and turns
//! that evidence into findings. Its evidence is plain serializable data, so an incremental
//! run can save it and pick up where the last run stopped.

pub mod classify;
pub mod remediation;
pub mod rules;
pub mod settle;

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::event::{Event, EventKind};
use crate::finding::Finding;

/// Everything the rules may look at, by `eventID` (which also drops duplicates).
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Evidence {
    /// RunInstances and CreateFleet calls.
    pub launches: BTreeMap<Arc<str>, Event>,
    /// KMS calls that are denials of a launch, or that tie a volume to an instance.
    pub kms: BTreeMap<Arc<str>, Event>,
}

impl Evidence {
    /// Every event held, launches first.
    pub fn events(&self) -> impl Iterator<Item = &Event> {
        self.launches.values().chain(self.kms.values())
    }

    /// How many events are held.
    pub fn len(&self) -> usize {
        self.launches.len() + self.kms.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Correlator {
    evidence: Evidence,
    duplicates: u64,
    /// One copy of each repeated text (accounts, regions, principals, image ids...): a batch
    /// run keeps every launch until the end, and these repeat across thousands of them.
    #[serde(skip)]
    strings: HashSet<Arc<str>>,
}

fn intern(strings: &mut HashSet<Arc<str>>, s: &mut Arc<str>) {
    match strings.get(s) {
        Some(shared) => *s = Arc::clone(shared),
        None => {
            strings.insert(Arc::clone(s));
        }
    }
}

impl Correlator {
    /// Takes one event. Returns false for a duplicate `eventID`, which is counted and
    /// dropped; of the copies, the one in the first log object by name is kept, so that
    /// `source_objects` does not depend on the order files were read in.
    pub fn add(&mut self, mut event: Event) -> bool {
        let map = match &event.kind {
            EventKind::Launch(l) if !l.instances.is_empty() => &mut self.evidence.launches,
            EventKind::Kms(k) if rules::ebs_kms_launch::is_evidence(&event, k) => {
                &mut self.evidence.kms
            }
            _ => return true,
        };
        match map.entry(event.event_id.clone()) {
            Entry::Vacant(v) => {
                let strings = &mut self.strings;
                for s in [
                    &mut event.account_id,
                    &mut event.region,
                    &mut event.principal_arn,
                ] {
                    intern(strings, s);
                }
                if let Some(s) = &mut event.invoked_by {
                    intern(strings, s);
                }
                if let EventKind::Launch(l) = &mut event.kind {
                    intern(strings, &mut l.event_name);
                    for i in &mut l.instances {
                        for s in [&mut i.image_id, &mut i.instance_type]
                            .into_iter()
                            .flatten()
                        {
                            intern(strings, s);
                        }
                    }
                }
                v.insert(event);
                true
            }
            Entry::Occupied(mut o) => {
                self.duplicates += 1;
                if event.object < o.get().object {
                    o.get_mut().object = event.object;
                }
                false
            }
        }
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
        Finding::sort(&mut all);
        all
    }

    /// Forgets one KMS event (a denial whose finding is settled).
    pub fn forget_kms(&mut self, event_id: &str) {
        self.evidence.kms.remove(event_id);
    }

    /// Forgets evidence older than `cutoff_ms` (event time). Incremental runs call this so
    /// their saved state stays bounded.
    pub fn prune(&mut self, cutoff_ms: i64) {
        self.evidence.launches.retain(|_, e| e.time_ms >= cutoff_ms);
        self.evidence.kms.retain(|_, e| e.time_ms >= cutoff_ms);
    }
}
