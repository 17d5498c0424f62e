//! Settling: how a batch run over months of logs keeps its memory flat. The scan reads
//! files oldest delivery first and a `Watermark` says how far it has got: every file still
//! to come was delivered at or after it. CloudTrail delivers records minutes after they
//! happen, so once the watermark is a `horizon` past a finding's first denial, no file
//! still to come holds more of its incident. The finding is settled: set aside, its id and
//! its denials remembered and the denials taken out of the evidence, so nothing can derive
//! it again. Evidence a second horizon older, which no finding still open can use, is let
//! go.
//!
//! Assumption: within one incident, the time between two of its records plus the delay
//! before the later one's file was delivered stays under the horizon (a launch and its
//! denials are seconds apart; CloudTrail's delivery averages 5 minutes). Then the findings
//! equal those of keeping everything to the end. Past it, the file is still read, but: a
//! denial whose launch was let go is reported `unmatched`; a second denial of an instance
//! that was settled a horizon earlier is not added to it; and whether such a late record
//! still meets its incident's evidence can depend on how far the other workers had got.

use std::collections::HashSet;

use super::Correlator;
use crate::finding::Finding;
use crate::source::order::Watermark;

/// The settled findings of a batch run, and where its scan has got to.
#[derive(Debug)]
pub struct Settler {
    horizon_ms: i64,
    watermark: Watermark,
    /// Ids of the findings settled so far: a finding is written once.
    settled_ids: HashSet<String>,
    /// Event ids of the denials settled findings hold: a late copy of one derives nothing
    /// new. Kept to the end, like the findings, which hold the same ids.
    settled_denials: HashSet<String>,
    settled: Vec<Finding>,
    /// The last cutoff settled at.
    cutoff_ms: i64,
}

impl Settler {
    /// `delivery`: the delivery time of each object, in the ascending order the scan
    /// numbers them (`source::order::sort_by_delivery`). A horizon under 1 ms counts as 1.
    pub fn new(horizon_ms: i64, delivery: Vec<i64>) -> Self {
        Self {
            horizon_ms: horizon_ms.max(1),
            watermark: Watermark::new(delivery),
            settled_ids: HashSet::new(),
            settled_denials: HashSet::new(),
            settled: Vec::new(),
            cutoff_ms: i64::MIN,
        }
    }

    /// Object `seq` has been read and its events handed to the correlator.
    pub fn done(&mut self, seq: usize) {
        self.watermark.done(seq);
    }

    /// Whether `f` is news: neither settled already nor made only of settled denials (a
    /// late copy of one, re-derived).
    fn is_new(&self, f: &Finding) -> bool {
        !self.settled_ids.contains(&f.finding_id)
            && !f
                .kms_event_ids
                .iter()
                .all(|id| self.settled_denials.contains(id))
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
            if f.first_denied_at >= cutoff || !self.is_new(&f) {
                continue;
            }
            // Its denials are done: out of the evidence, they cannot be derived again (as an
            // unmatched row once their launch is let go, or into another row).
            for id in &f.kms_event_ids {
                correlator.forget_kms(id);
                self.settled_denials.insert(id.clone());
            }
            self.settled_ids.insert(f.finding_id.clone());
            self.settled.push(f);
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
            if self.is_new(&f) {
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

    /// A small xorshift: the same corpus for a seed on every machine.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: i64) -> i64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n as u64) as i64
        }
    }

    /// `n` incidents of every kind a rule knows, 1 to 120 minutes apart, each record in a
    /// file of its own delivered 1 to 15 minutes after it: within the assumption for a
    /// horizon of 30 minutes or more (records of one incident are at most 8 minutes apart).
    fn random_incidents(seed: u64, n: usize) -> Vec<Object> {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let principals = [ALICE, "arn:aws:iam::111122223333:user/bob"];
        let carol = "arn:aws:iam::111122223333:user/carol";
        let mut records: Vec<Event> = Vec::new();
        let mut t = T0;
        for i in 0..n {
            t += MIN + rng.below(120 * MIN);
            let iid = format!("i-{i:017x}");
            let who = principals[rng.below(2) as usize];
            let after = |rng: &mut Rng, most: i64| t + 1_000 + rng.below(most);
            match rng.below(4) {
                // Tied by the instance: one or two denials of its infrastructure session.
                0 => {
                    records.push(run(&format!("run-{i}"), t, who, None, &[&iid]));
                    for k in 0..=rng.below(2) {
                        let at = after(&mut rng, 2 * MIN);
                        records.push(infra_denial(&format!("deny-{i}-{k}"), at, &iid));
                    }
                }
                // Tied by principal and time: the launcher's own denial.
                1 => {
                    records.push(run(&format!("run-{i}"), t, who, None, &[&iid]));
                    let at = after(&mut rng, 8 * MIN);
                    records.push(launcher_denial(&format!("deny-{i}"), at, who));
                }
                // Tied by the volume: a grant names instance and volume, a denial only
                // the volume.
                2 => {
                    let vol = format!("vol-{i:017x}");
                    let infra = format!(
                        "arn:aws:sts::111122223333:assumed-role/aws:ec2-infrastructure/{iid}"
                    );
                    records.push(run(&format!("run-{i}"), t, who, None, &[&iid]));
                    let (id, at) = (format!("grant-{i}"), after(&mut rng, MIN));
                    let grant = call(
                        &id,
                        at,
                        &infra,
                        None,
                        "CreateGrant",
                        None,
                        Some(&iid),
                        &[&vol],
                    );
                    records.push(grant);
                    let (id, at) = (format!("deny-{i}"), after(&mut rng, 5 * MIN));
                    let via = Some("ec2.amazonaws.com");
                    let code = Some("AccessDenied");
                    records.push(call(&id, at, carol, via, "Decrypt", code, None, &[&vol]));
                }
                // Tied to nothing.
                _ => {
                    let at = after(&mut rng, MIN);
                    records.push(launcher_denial(&format!("deny-{i}"), at, carol));
                }
            }
        }
        let mut objects: Vec<Object> = records
            .into_iter()
            .map(|e| (e.time_ms + MIN + rng.below(14 * MIN), vec![e]))
            .collect();
        objects.sort_by_key(|o| o.0);
        objects
    }

    #[test]
    fn settling_equals_keeping_everything_on_random_incidents_of_every_kind() {
        for seed in 1..=8 {
            let objects = random_incidents(seed, 400);
            let (exact, held_all) = scan(&objects, 0);
            for kind in [
                MatchKind::InstanceId,
                MatchKind::PrincipalTimeWindow,
                MatchKind::VolumeGrant,
                MatchKind::Unmatched,
            ] {
                assert!(exact.iter().any(|f| f.match_kind == kind), "{kind:?}");
            }
            for horizon in [30 * MIN, 2 * HOUR, 24 * HOUR] {
                let (settled, held) = scan(&objects, horizon);
                assert_eq!(settled, exact, "seed {seed}, horizon {horizon} ms");
                assert!(held < held_all, "seed {seed}: {held} of {held_all} held");
            }
        }
    }

    #[test]
    fn letting_a_launch_go_after_its_denial_settled_does_not_report_the_denial_again() {
        // The launch (or the grant that ties a volume to the instance) and its denial are
        // minutes apart; the watermark then jumps so that the evidence cutoff falls
        // between them, after the finding settled.
        let h = 2 * HOUR;
        let iid = "i-00000000000000abc";
        let infra = format!("arn:aws:sts::111122223333:assumed-role/aws:ec2-infrastructure/{iid}");
        let vol = "vol-0aaaaaaaaaaaaaaaa";
        let carol = "arn:aws:iam::111122223333:user/carol";
        let grant = call(
            "g",
            T0 + 10_000,
            &infra,
            None,
            "CreateGrant",
            None,
            Some(iid),
            &[vol],
        );
        let by_volume = call(
            "d",
            T0 + 3 * MIN,
            carol,
            Some("ec2.amazonaws.com"),
            "Decrypt",
            Some("AccessDenied"),
            None,
            &[vol],
        );
        let quiet = |at: i64| (at, Vec::new());
        for (tie, denial) in [
            (
                vec![run("r", T0, ALICE, None, &[iid])],
                launcher_denial("d", T0 + 2 * MIN, ALICE),
            ),
            (vec![run("r", T0, ALICE, None, &[iid]), grant], by_volume),
        ] {
            let objects = vec![
                (T0 + 5 * MIN, tie),
                (T0 + 6 * MIN, vec![denial]),
                quiet(T0 + 2 * h + MIN),
                quiet(T0 + 5 * HOUR),
                quiet(T0 + 6 * HOUR),
            ];
            let (exact, _) = scan(&objects, 0);
            assert_eq!(exact.len(), 1);
            assert_ne!(exact[0].match_kind, MatchKind::Unmatched);
            assert_eq!(scan(&objects, h).0, exact);
        }
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
        // Copies of an instance's denial and of a denial tied by principal and time, a day
        // after the originals.
        let last = objects.last().unwrap().0;
        let copies = vec![
            infra_denial("deny-1", T0 + 3 * HOUR + 20_000, "i-00000000000000001"),
            launcher_denial("deny-0", T0 + 2 * MIN, ALICE),
        ];
        objects.push((last + HOUR, copies));
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
