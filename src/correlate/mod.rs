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
    #[serde(skip)]
    strings: Interner,
}

/// One copy of each text that repeats across the events held (accounts, regions,
/// principals, image ids...): the evidence holds days of launches, and these repeat across
/// thousands of them.
#[derive(Debug, Default, Clone)]
struct Interner(HashSet<Arc<str>>);

impl Interner {
    fn share(&mut self, s: &mut Arc<str>) {
        match self.0.get(s) {
            Some(shared) => *s = Arc::clone(shared),
            None => {
                self.0.insert(Arc::clone(s));
            }
        }
    }

    /// Makes the repeated texts of `e` shared copies.
    fn event(&mut self, e: &mut Event) {
        for s in [&mut e.account_id, &mut e.region, &mut e.principal_arn] {
            self.share(s);
        }
        if let Some(s) = &mut e.invoked_by {
            self.share(s);
        }
        if let EventKind::Launch(l) = &mut e.kind {
            self.share(&mut l.event_name);
            let texts = l
                .instances
                .iter_mut()
                .flat_map(|i| [&mut i.image_id, &mut i.instance_type]);
            for s in texts.flatten() {
                self.share(s);
            }
        }
    }

    /// Lets go of the texts no held event uses any more (an instance's own principal, say),
    /// so that the interner is as bounded as the evidence.
    fn prune(&mut self) {
        self.0.retain(|s| Arc::strong_count(s) > 1);
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
                self.strings.event(&mut event);
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
        self.strings.prune();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::correlate::rules::ebs_kms_launch::tests::{T0, call};

    #[test]
    fn pruning_lets_go_of_the_texts_only_pruned_events_used() {
        let mut c = Correlator::default();
        for n in 0..100 {
            let iid = format!("i-{n:017x}");
            let arn =
                format!("arn:aws:sts::111122223333:assumed-role/aws:ec2-infrastructure/{iid}");
            let denial = call(
                &format!("d{n}"),
                T0 + n,
                &arn,
                None,
                "Decrypt",
                Some("AccessDenied"),
                Some(&iid),
                &[],
            );
            assert!(c.add(denial));
        }
        // Account, region and 100 principals, each held once however many events use it.
        assert_eq!(c.strings.0.len(), 102);
        c.prune(T0 + 90);
        assert_eq!(c.evidence.len(), 10);
        assert_eq!(c.strings.0.len(), 12);
        c.prune(T0 + 100);
        assert!(c.strings.0.is_empty());
    }
}
