//! Benchmark of the extractor (filled in below).
fn main() {}
