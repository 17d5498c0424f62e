//! The ceiling pass for benchmarks: read and gunzip every `.gz` file under a folder with
//! libdeflate (whole buffer, size from the trailer, one reused output buffer per thread), on
//! the same rayon pool size as a scan, and do nothing else. `cargo run --release --example decompress_only -- DIR [THREADS]`

use rayon::prelude::*;

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
    let args: Vec<String> = std::env::args().collect();
    let threads = args.get(2).map_or(0, |t| t.parse().expect("THREADS"));
    let list = files(&args[1]);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    let total: u64 = pool.install(|| {
        list.par_iter()
            .map_init(
                || (trailhound::inflate::Inflater::default(), Vec::new()),
                |(inf, out), p| {
                    let raw = std::fs::read(p).expect("read");
                    let size =
                        u32::from_le_bytes(raw[raw.len() - 4..].try_into().unwrap()) as usize;
                    let m = inf
                        .gzip_member(&raw, out, size)
                        .expect("single-member gzip");
                    m.output_len as u64
                },
            )
            .sum()
    });
    println!("files={} bytes={total}", list.len());
}
