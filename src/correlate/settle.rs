//! Settling: how a batch run over months of logs keeps its memory flat. The scan reads
//! files oldest delivery first and a `Watermark` says how far it has got. CloudTrail
//! delivers records minutes after they happen, so once the watermark is a `horizon` past a
//! denial, no file still to come holds more of its incident: its finding is final and is
//! set aside, and evidence a second horizon older, which no unsettled finding can still
//! need, is forgotten.
//!
//! The result equals keeping everything to the end as long as, within one incident, the
//! records' times plus their delivery delay stay within the horizon (launch failures take
//! seconds; CloudTrail's delivery averages 5 minutes). A file delivered later than that,
//! or a second denial of an instance a horizon after its first, is still read, but cannot
//! change a finding already settled; a finding is written once either way.

use std::collections::HashSet;

use super::Correlator;
use crate::finding::Finding;
use crate::source::order::Watermark;

/// The settled findings of a batch run, and where its scan has got to.
#[derive(Debug)]
pub struct Settler {
    horizon_ms: i64,
    watermark: Watermark,
    /// Ids of the findings settled so far: a row re-derived from evidence that was not yet
    /// forgotten, or from a late copy of it, is not written twice.
    settled_ids: HashSet<String>,
    settled: Vec<Finding>,
    /// The last cutoff settled at.
    cutoff_ms: i64,
}

impl Settler {
    /// `delivery`: the delivery time of each object, in the (ascending) order the scan
    /// numbers them. `horizon_ms` must be positive.
    pub fn new(horizon_ms: i64, delivery: Vec<i64>) -> Self {
        Self {
            horizon_ms: horizon_ms.max(1),
            watermark: Watermark::new(delivery),
            settled_ids: HashSet::new(),
            settled: Vec::new(),
            cutoff_ms: i64::MIN,
        }
    }

    /// Object `seq` has been read and its events handed to the correlator.
    pub fn done(&mut self, seq: usize) {
        self.watermark.done(seq);
    }

    /// Settles what the watermark allows. Settling runs the rules over all the evidence
    /// held, so it waits until the cutoff has moved a quarter of a horizon.
    pub fn advance(&mut self, correlator: &mut Correlator) {
        let watermark = self.watermark.at();
        // At the start (undated objects unread) nothing is settled yet; at the end
        // `finish` settles the rest.
        if watermark == i64::MIN || watermark == i64::MAX {
            return;
        }
        let cutoff = watermark.saturating_sub(self.horizon_ms);
        if cutoff < self.cutoff_ms.saturating_add(self.horizon_ms / 4) {
            return;
        }
        self.cutoff_ms = cutoff;
        for f in correlator.findings() {
            if f.first_denied_at < cutoff && !self.settled_ids.contains(&f.finding_id) {
                self.settled_ids.insert(f.finding_id.clone());
                self.settled.push(f);
            }
        }
        correlator.prune(cutoff.saturating_sub(self.horizon_ms));
    }

    /// Findings settled so far.
    pub fn settled(&self) -> usize {
        self.settled.len()
    }

    /// Every finding of the run: those settled, then the rest of the evidence's, in report
    /// order.
    pub fn finish(mut self, correlator: &Correlator) -> Vec<Finding> {
        for f in correlator.findings() {
            if !self.settled_ids.contains(&f.finding_id) {
                self.settled.push(f);
            }
        }
        Finding::sort(&mut self.settled);
        self.settled
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::correlate::rules::ebs_kms_launch::tests::{ALICE, T0, call, launcher_denial, run};
    use crate::event::Event;
    use crate::finding::MatchKind;

    const MIN: i64 = 60_000;
    const HOUR: i64 = 60 * MIN;

    fn infra_denial(id: &str, t: i64, iid: &str) -> Event {
        let arn = format!("arn:aws:sts::111122223333:assumed-role/aws:ec2-infrastructure/{iid}");
        call(
            id,
            t,
            &arn,
            None,
            "Decrypt",
            Some("AccessDenied"),
            Some(iid),
            &["vol-0aaaaaaaaaaaaaaaa"],
        )
    }

    /// One object: its delivery time and its events.
    type Object = (i64, Vec<Event>);

    /// `days` of incidents, one every 3 hours, alternating: a launch and its launcher's
    /// denial 2 minutes later (tied by principal and time); a launch, its instance's denial
    /// 20 s later and a launcher denial an hour later that no launch explains. Denials are
    /// delivered in a file an hour after the launch's.
    fn incidents(days: i64) -> Vec<Object> {
        let mut objects = Vec::new();
        for n in 0..days * 8 {
            let t = T0 + n * 3 * HOUR;
            let iid = format!("i-{n:017x}");
            objects.push((
                t + 5 * MIN,
                vec![run(&format!("run-{n}"), t, ALICE, None, &[&iid])],
            ));
            let later = if n % 2 == 0 {
                vec![launcher_denial(&format!("deny-{n}"), t + 2 * MIN, ALICE)]
            } else {
                vec![
                    infra_denial(&format!("deny-{n}"), t + 20_000, &iid),
                    launcher_denial(&format!("lone-{n}"), t + HOUR, ALICE),
                ]
            };
            objects.push((t + 10 * MIN + HOUR, later));
        }
        objects.sort_by_key(|o| o.0);
        objects
    }

    /// Scans `objects` in order, settling with `horizon` (none when 0); returns the findings
    /// and the most events held at once.
    fn scan(objects: &[Object], horizon: i64) -> (Vec<Finding>, usize) {
        let mut correlator = Correlator::default();
        let mut settler =
            (horizon > 0).then(|| Settler::new(horizon, objects.iter().map(|o| o.0).collect()));
        let mut peak = 0;
        for (seq, (_, events)) in objects.iter().enumerate() {
            for e in events {
                correlator.add(e.clone());
            }
            peak = peak.max(correlator.evidence().len());
            if let Some(s) = &mut settler {
                s.done(seq);
                s.advance(&mut correlator);
            }
        }
        let findings = match settler {
            Some(s) => s.finish(&correlator),
            None => correlator.findings(),
        };
        (findings, peak)
    }

    #[test]
    fn settling_finds_what_keeping_everything_finds_in_flat_memory() {
        let month = incidents(30);
        let (all, held_all) = scan(&month, 0);
        assert_eq!(all.len(), 30 * 12, "a row per launch and per lone denial");
        for kind in [
            MatchKind::InstanceId,
            MatchKind::PrincipalTimeWindow,
            MatchKind::Unmatched,
        ] {
            let n = all.iter().filter(|f| f.match_kind == kind).count();
            assert_eq!(n, 30 * 4, "{kind:?}");
        }
        for horizon in [2 * HOUR, 6 * HOUR, 24 * HOUR] {
            let (settled, held) = scan(&month, horizon);
            assert_eq!(settled, all, "horizon {horizon} ms");
            // Held: about two horizons and a quarter of evidence (5 events per 6 hours).
            let bound = ((2 * horizon + horizon / 4 + 4 * HOUR) / (6 * HOUR) + 1) * 5;
            assert!(held as i64 <= bound, "horizon {horizon}: {held} > {bound}");
            assert!(held < held_all / 4, "{held} vs {held_all}");
        }
        // Four times the logs, the same evidence held.
        let (_, held_week) = scan(&incidents(7), 6 * HOUR);
        let (_, held_month) = scan(&month, 6 * HOUR);
        assert_eq!(held_week, held_month);
    }

    #[test]
    fn a_finding_is_written_once_even_when_a_copy_of_its_denial_comes_late() {
        let mut objects = incidents(3);
        let copy = infra_denial("deny-1", T0 + 3 * HOUR + 20_000, "i-00000000000000001");
        let last = objects.last().unwrap().0;
        objects.push((last + HOUR, vec![copy]));
        let (exact, _) = scan(&objects, 0);
        let (settled, _) = scan(&objects, 2 * HOUR);
        assert_eq!(settled, exact);
        let ids: HashSet<&str> = settled.iter().map(|f| f.finding_id.as_str()).collect();
        assert_eq!(ids.len(), settled.len(), "no finding twice");
    }

    #[test]
    fn a_denial_delivered_later_than_the_horizon_loses_its_launch() {
        const BOB: &str = "arn:aws:iam::111122223333:user/bob";
        // The trade-off the horizon makes, shown: the launch is let go before its denial's
        // file, delivered a day late, is read.
        let iid = "i-0fffffffffffffff0";
        let mut objects = incidents(3);
        objects.insert(0, (T0 + MIN, vec![run("late-run", T0, BOB, None, &[iid])]));
        objects.push((
            T0 + 24 * HOUR,
            vec![infra_denial("late-deny", T0 + 20_000, iid)],
        ));
        objects.sort_by_key(|o| o.0);
        let row = |fs: &[Finding]| {
            fs.iter()
                .find(|f| f.instance_id.as_deref() == Some(iid))
                .map(|f| f.match_kind)
        };
        assert_eq!(row(&scan(&objects, 0).0), Some(MatchKind::InstanceId));
        assert_eq!(
            row(&scan(&objects, 24 * HOUR).0),
            Some(MatchKind::InstanceId)
        );
        assert_eq!(row(&scan(&objects, 2 * HOUR).0), Some(MatchKind::Unmatched));
    }
}
