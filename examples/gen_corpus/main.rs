//! Writes a synthetic CloudTrail bucket for benchmarks:
//! `cargo run --release --example gen_corpus -- OUT_DIR SIZE [SEED]` (SIZE like 1G, 256M).

mod corpus;

fn size(s: &str) -> u64 {
    let (n, shift) = match s.chars().last() {
        Some('G' | 'g') => (&s[..s.len() - 1], 30),
        Some('M' | 'm') => (&s[..s.len() - 1], 20),
        _ => (s, 0),
    };
    n.parse::<u64>().expect("SIZE like 1G or 256M") << shift
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: gen_corpus OUT_DIR SIZE [SEED]");
        std::process::exit(2);
    }
    let seed = args
        .get(3)
        .map_or(1, |s| s.parse().expect("SEED is a number"));
    let w = corpus::generate(std::path::Path::new(&args[1]), size(&args[2]), seed)
        .expect("write corpus");
    println!(
        "files={} records={} bytes={} compressed={} incidents={}",
        w.files, w.records, w.bytes, w.compressed, w.incidents
    );
}
