//! Times each scan stage over a decoded corpus held in memory (one thread), to see where a
//! scan spends its time: `cargo run --release --example stage_times -- DIR`.

use std::sync::Arc;
use std::time::Instant;

use trailhound::decode::Decoder;
use trailhound::scan::Scanner;
use trailhound::scan::prefilter::Prefilter;
use trailhound::scan::split::Records;

/// Every log file under `dir`, listed as a scan lists them.
fn files(dir: &str) -> Vec<std::path::PathBuf> {
    let mut objects = Vec::new();
    let mut stats = trailhound::source::ListingStats::default();
    trailhound::source::local::list(
        std::path::Path::new(dir),
        &Default::default(),
        &mut objects,
        &mut stats,
    )
    .expect("list the corpus");
    objects
        .into_iter()
        .filter_map(|o| match o {
            trailhound::source::ObjectRef::Local(p) => Some(p),
            _ => None,
        })
        .collect()
}

fn main() {
    let dir = std::env::args().nth(1).expect("DIR");
    let mut list = files(&dir);
    list.truncate(400);
    let raws: Vec<Vec<u8>> = list.iter().map(|p| std::fs::read(p).unwrap()).collect();
    let mut dec = Decoder::new(1 << 31);
    let t = Instant::now();
    let mut docs = Vec::new();
    for r in &raws {
        let mut d = Vec::new();
        dec.decode("x", r, &mut d).unwrap();
        docs.push(d);
    }
    let bytes: usize = docs.iter().map(Vec::len).sum();
    let report = |name: &str, t: Instant| {
        let s = t.elapsed().as_secs_f64();
        println!("{name:>12}: {:.3} s  {:.2} GB/s", s, bytes as f64 / s / 1e9);
    };
    report("decode", t);
    let pf = Prefilter::default();
    let mut hits = Vec::new();
    let t = Instant::now();
    let mut n = 0;
    for d in &docs {
        pf.hits(d, &mut hits);
        n += hits.len();
    }
    report("hits", t);
    let t = Instant::now();
    let mut recs = 0;
    for d in &docs {
        recs += Records::new(d).count();
    }
    report("split", t);
    let mut sc = Scanner::default();
    let name: Arc<str> = Arc::from("x");
    let t = Instant::now();
    let mut ev = 0;
    for d in &docs {
        ev += sc.scan(d, &name).unwrap().events.len();
    }
    report("scan", t);
    println!(
        "files={} bytes={bytes} hits={n} records={recs} events={ev}",
        docs.len()
    );
}
