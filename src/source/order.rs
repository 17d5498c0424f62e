//! Delivery order. A batch run reads its listing oldest delivery first, so that the
//! correlator can settle and forget old evidence as it goes (`correlate::settle`) instead
//! of holding every launch of the run until the end. `Watermark` says how far the scan has
//! got: every object before it has been read, so every object still to come was delivered
//! at or after its delivery time.

use super::ObjectRef;
use super::layout::delivery_time;

/// The delivery time (ms) a CloudTrail file name carries; `None` for stdin and for files
/// named otherwise.
pub fn delivery_ms(object: &ObjectRef) -> Option<i64> {
    match object {
        ObjectRef::Local(p) => p.file_name()?.to_str().and_then(delivery_time),
        ObjectRef::S3 { key, .. } => delivery_time(key),
        ObjectRef::Stdin => None,
    }
}

/// Sorts `objects` by delivery time, stably (listing order among equals), and returns their
/// delivery times in the new order. Objects without one come first, as if delivered at the
/// dawn of time: the watermark stays put until they are all read, since their records may
/// be of any age.
pub fn sort_by_delivery(objects: &mut Vec<ObjectRef>) -> Vec<i64> {
    let mut keyed: Vec<(i64, ObjectRef)> = std::mem::take(objects)
        .into_iter()
        .map(|o| (delivery_ms(&o).unwrap_or(i64::MIN), o))
        .collect();
    keyed.sort_by_key(|(t, _)| *t);
    let (times, sorted) = keyed.into_iter().unzip();
    *objects = sorted;
    times
}

/// Which objects of a delivery-sorted listing have been read, in any completion order.
#[derive(Debug, Clone)]
pub struct Watermark {
    /// Delivery time of each object, ascending.
    delivery: Vec<i64>,
    done: Vec<bool>,
    /// The first object not read yet.
    next: usize,
}

impl Watermark {
    /// `delivery` must be ascending, as `sort_by_delivery` returns it.
    pub fn new(delivery: Vec<i64>) -> Self {
        assert!(delivery.is_sorted(), "delivery times must be ascending");
        let done = vec![false; delivery.len()];
        Self {
            delivery,
            done,
            next: 0,
        }
    }

    /// Marks object `seq` (its position in the sorted listing) as read.
    pub fn done(&mut self, seq: usize) {
        if let Some(d) = self.done.get_mut(seq) {
            *d = true;
        }
        while self.done.get(self.next) == Some(&true) {
            self.next += 1;
        }
    }

    /// Every object still to be read was delivered at or after this time (ms);
    /// `i64::MAX` once all are read.
    pub fn at(&self) -> i64 {
        self.delivery.get(self.next).copied().unwrap_or(i64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn local(name: &str) -> ObjectRef {
        ObjectRef::Local(PathBuf::from(format!("logs/{name}")))
    }

    #[test]
    fn undated_first_then_oldest_delivery_stably() {
        let mut objects = vec![
            local("111122223333_CloudTrail_us-east-1_20260314T1010Z_b.json.gz"),
            local("notes.json"),
            local("111122223333_CloudTrail_eu-west-1_20260314T0900Z_a.json.gz"),
            ObjectRef::Stdin,
            local("111122223333_CloudTrail_eu-west-1_20260314T1010Z_a.json.gz"),
        ];
        let times = sort_by_delivery(&mut objects);
        let names: Vec<String> = objects.iter().map(ObjectRef::name).collect();
        assert_eq!(
            names,
            [
                "logs/notes.json",
                "-",
                "logs/111122223333_CloudTrail_eu-west-1_20260314T0900Z_a.json.gz",
                "logs/111122223333_CloudTrail_us-east-1_20260314T1010Z_b.json.gz",
                "logs/111122223333_CloudTrail_eu-west-1_20260314T1010Z_a.json.gz",
            ]
        );
        assert_eq!(times[..2], [i64::MIN, i64::MIN]);
        assert!(times.is_sorted());
        assert_eq!(
            Some(times[2]),
            crate::timefmt::parse_event_time("2026-03-14T09:00:00Z")
        );
    }

    #[test]
    fn the_watermark_waits_for_the_oldest_unread_object() {
        let mut w = Watermark::new(vec![i64::MIN, 10, 20, 20, 30]);
        assert_eq!(w.at(), i64::MIN);
        w.done(2);
        w.done(1);
        assert_eq!(w.at(), i64::MIN, "object 0 is still unread");
        w.done(0);
        assert_eq!(w.at(), 20, "objects 0-2 read; 3 is next");
        w.done(4);
        assert_eq!(w.at(), 20);
        w.done(3);
        assert_eq!(w.at(), i64::MAX);
        w.done(99);
        assert_eq!(w.at(), i64::MAX);
    }
}
