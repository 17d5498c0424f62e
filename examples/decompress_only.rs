//! The ceiling pass for benchmarks: read and decode every log file under a folder exactly as
//! a scan's workers do (`local::read_into` into a reused buffer, then `Decoder::decode`:
//! libdeflate whole-buffer sized from the trailer, the streaming path for multi-member or
//! huge files), one read and one decode buffer per pool thread, on the same pool size as a
//! scan, and do nothing else.
//! `cargo run --release --example decompress_only -- DIR [THREADS]`

use std::sync::Mutex;

use rayon::prelude::*;
use trailhound::decode::Decoder;
use trailhound::source::{ListingStats, ObjectRef, local};

/// A generous cap: the ceiling should refuse nothing a scan reads.
const MAX_FILE_BYTES: u64 = 2 << 30;

/// A pool thread's decoder, read buffer and decode buffer.
type Slot = Mutex<(Decoder, Vec<u8>, Vec<u8>)>;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let threads: usize = args.get(2).map_or(0, |t| t.parse().expect("THREADS"));
    let mut list: Vec<ObjectRef> = Vec::new();
    local::list(
        std::path::Path::new(&args[1]),
        &Default::default(),
        &mut list,
        &mut ListingStats::default(),
    )
    .expect("list the corpus");
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    // One slot per pool thread, kept for the whole pass, as the scan's workers are.
    let slots: Vec<Slot> = (0..pool.current_num_threads())
        .map(|_| Mutex::new((Decoder::new(MAX_FILE_BYTES), Vec::new(), Vec::new())))
        .collect();
    let total: u64 = pool.install(|| {
        list.par_iter()
            .map(|object| {
                let slot = rayon::current_thread_index().unwrap_or(0) % slots.len();
                let mut slot = slots[slot].lock().unwrap();
                let (decoder, raw, doc) = &mut *slot;
                let name = object.name();
                local::read_into(object, &name, MAX_FILE_BYTES, raw).expect("read");
                decoder.decode(&name, raw, doc).expect("decode");
                doc.len() as u64
            })
            .sum()
    });
    println!("files={} bytes={total}", list.len());
}
