//! Criterion benches of each scan stage on one thread, over a small generated corpus held in
//! memory: decompression (libdeflate whole-buffer vs flate2 streaming), record splitting,
//! the byte pre-filter, the whole per-file scan, the full-parse reference it is checked
//! against, extraction of candidate records, and correlation.
//!
//! Byte throughputs are all in *decoded* (uncompressed) bytes, so the groups compare
//! directly with each other and with the decompress-only ceiling. `cargo bench --bench scan`.

use std::hint::black_box;
use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use criterion::{
    BatchSize, BenchmarkGroup, BenchmarkId, Criterion, Throughput, measurement::WallTime,
};
use trailhound::correlate::Correlator;
use trailhound::decode::Decoder;
use trailhound::event::{self, Event, EventKind};
use trailhound::pipeline::Worker;
use trailhound::scan::prefilter::needles;
use trailhound::scan::split::Records;
use trailhound::scan::{Scanner, scan_reference};
use trailhound::source::{ListingStats, ObjectRef, local};

#[path = "../examples/gen_corpus/corpus.rs"]
mod corpus;

/// Uncompressed size asked of the generator: about 55 files of the usual mix (one planted
/// incident), so setup takes a second and each pass over it a few tens of milliseconds.
const CORPUS_BYTES: u64 = 32 << 20;
const MAX_FILE_BYTES: u64 = 1 << 30;

/// The corpus, raw and decoded, plus the name every event carries.
struct Inputs {
    raws: Vec<Vec<u8>>,
    docs: Vec<Vec<u8>>,
    object: Arc<str>,
}

impl Inputs {
    fn generate() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("trailhound-bench-")
            .tempdir_in(std::env::temp_dir())
            .expect("temp dir");
        let w = corpus::generate(dir.path(), CORPUS_BYTES, 1).expect("generate the corpus");
        eprintln!(
            "bench corpus: {} files, {} records, {} bytes ({} gzip), {} incidents",
            w.files, w.records, w.bytes, w.compressed, w.incidents
        );
        // Listed as a scan lists them (sorted), so every run reads the same files.
        let mut objects = Vec::new();
        local::list(
            dir.path(),
            &Default::default(),
            &mut objects,
            &mut ListingStats::default(),
        )
        .expect("list the corpus");
        let raws: Vec<Vec<u8>> = objects
            .iter()
            .map(|o| match o {
                ObjectRef::Local(p) => std::fs::read(p).expect("read"),
                _ => unreachable!("a folder lists local files"),
            })
            .collect();
        let mut decoder = Decoder::new(MAX_FILE_BYTES);
        let docs = raws
            .iter()
            .map(|raw| {
                let mut doc = Vec::new();
                decoder.decode("bench", raw, &mut doc).expect("decode");
                doc
            })
            .collect();
        Self {
            raws,
            docs,
            object: Arc::from("bench"),
        }
    }

    fn decoded_bytes(&self) -> u64 {
        self.docs.iter().map(|d| d.len() as u64).sum()
    }

    /// The events a scan of the corpus produces.
    fn events(&self) -> Vec<Event> {
        let mut scanner = Scanner::default();
        self.docs
            .iter()
            .flat_map(|d| scanner.scan(d, &self.object).expect("scan").events)
            .collect()
    }

    /// The bytes of every record the typed test calls a candidate.
    fn candidate_records(&self) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for doc in &self.docs {
            for r in Records::new(doc) {
                let bytes = doc[r.expect("split").range].to_vec();
                let mut scratch = bytes.clone();
                let value = simd_json::to_borrowed_value(&mut scratch).expect("valid JSON");
                if event::is_candidate(&value) {
                    out.push(bytes);
                }
            }
        }
        out
    }
}

/// A short group: ten samples over a few seconds, so the whole bench takes minutes.
fn group<'a>(
    c: &'a mut Criterion,
    name: &str,
    throughput: Throughput,
) -> BenchmarkGroup<'a, WallTime> {
    let mut g = c.benchmark_group(name);
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .throughput(throughput);
    g
}

fn decode(c: &mut Criterion, inputs: &Inputs) {
    let mut g = group(c, "decode", Throughput::Bytes(inputs.decoded_bytes()));
    g.bench_function("libdeflate_whole_buffer", |b| {
        let mut decoder = Decoder::new(MAX_FILE_BYTES);
        let mut out = Vec::new();
        b.iter(|| {
            for raw in &inputs.raws {
                decoder.decode("bench", raw, &mut out).expect("decode");
                black_box(out.len());
            }
        })
    });
    g.bench_function("flate2_streaming", |b| {
        let mut out = Vec::new();
        b.iter(|| {
            for raw in &inputs.raws {
                out.clear();
                flate2::read::MultiGzDecoder::new(&raw[..])
                    .read_to_end(&mut out)
                    .expect("gunzip");
                black_box(out.len());
            }
        })
    });
    g.finish();
}

fn split_and_prefilter(c: &mut Criterion, inputs: &Inputs) {
    let bytes = Throughput::Bytes(inputs.decoded_bytes());
    // The splitter finds record boundaries and pre-filter needles in one pass.
    let mut g = group(c, "split", bytes.clone());
    g.bench_function("records_and_needles", |b| {
        b.iter(|| {
            inputs
                .docs
                .iter()
                .map(|d| Records::new(d).count())
                .sum::<usize>()
        })
    });
    g.finish();

    // For comparison: the needle search as a second pass of its own (memmem per needle),
    // which the single pass above replaces.
    let mut g = group(c, "prefilter", bytes);
    g.bench_function("separate_memmem_pass", |b| {
        b.iter(|| {
            let mut hits = 0;
            for d in &inputs.docs {
                for n in needles() {
                    hits += memchr::memmem::find_iter(d, n).count();
                }
            }
            hits
        })
    });
    g.finish();
}

fn scan(c: &mut Criterion, inputs: &Inputs) {
    let bytes = Throughput::Bytes(inputs.decoded_bytes());
    let mut g = group(c, "scan", bytes.clone());
    g.bench_function("scanner", |b| {
        let mut scanner = Scanner::default();
        b.iter(|| {
            inputs
                .docs
                .iter()
                .map(|d| scanner.scan(d, &inputs.object).expect("scan").events.len())
                .sum::<usize>()
        })
    });
    // What one worker does per file in a real run: decode, then scan.
    g.bench_function("decode_and_scan", |b| {
        let mut worker = Worker::new(MAX_FILE_BYTES);
        b.iter(|| {
            for raw in &inputs.raws {
                let done = worker.process(0, Arc::clone(&inputs.object), raw);
                black_box(done.result.expect("scan").events.len());
            }
        })
    });
    g.finish();

    let mut g = group(c, "reference", bytes);
    g.bench_function("full_parse", |b| {
        b.iter(|| {
            inputs
                .docs
                .iter()
                .map(|d| {
                    scan_reference(d, &inputs.object)
                        .expect("parse")
                        .events
                        .len()
                })
                .sum::<usize>()
        })
    });
    g.finish();
}

/// simd-json parse, typed candidate test and extraction of the records that reach it.
fn extract(c: &mut Criterion, inputs: &Inputs) {
    let records = inputs.candidate_records();
    let mut g = group(c, "extract", Throughput::Elements(records.len() as u64));
    g.bench_function("candidate_records", |b| {
        let mut scratch = Vec::new();
        b.iter(|| {
            let mut n = 0;
            for r in &records {
                scratch.clear();
                scratch.extend_from_slice(r);
                let value = simd_json::to_borrowed_value(&mut scratch).expect("valid JSON");
                n += usize::from(event::extract(&value, &inputs.object).is_ok());
            }
            n
        })
    });
    g.finish();
}

/// `n` events cycled from the corpus's own, each copy given fresh event, instance and
/// volume ids so that nothing deduplicates away and copies do not join each other.
fn replicate(template: &[Event], n: usize) -> Vec<Event> {
    (0..n)
        .map(|i| {
            let mut e = template[i % template.len()].clone();
            let copy = i / template.len();
            let fresh = |id: &mut String| id.push_str(&format!("-{copy}"));
            e.event_id = format!("{}-{copy}", e.event_id).into();
            match &mut e.kind {
                EventKind::Launch(l) => l
                    .instances
                    .iter_mut()
                    .for_each(|i| fresh(&mut i.instance_id)),
                EventKind::Kms(k) => {
                    if let Some(id) = &mut k.instance_id {
                        fresh(id);
                    }
                    k.volume_ids.iter_mut().for_each(fresh);
                }
            }
            e
        })
        .collect()
}

fn correlate(c: &mut Criterion, inputs: &Inputs) {
    let template = inputs.events();
    assert!(
        !template.is_empty(),
        "the bench corpus has candidate events"
    );
    let mut g = group(c, "correlate", Throughput::Elements(0));
    for n in [1_000, 10_000, 100_000] {
        let events = replicate(&template, n);
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(BenchmarkId::new("add_and_findings", n), |b| {
            b.iter_batched(
                || events.clone(),
                |events| {
                    let mut correlator = Correlator::default();
                    for e in events {
                        correlator.add(e);
                    }
                    correlator.findings().len()
                },
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

fn main() {
    let inputs = Inputs::generate();
    let mut c = Criterion::default().configure_from_args();
    decode(&mut c, &inputs);
    split_and_prefilter(&mut c, &inputs);
    scan(&mut c, &inputs);
    extract(&mut c, &inputs);
    correlate(&mut c, &inputs);
    c.final_summary();
}
